// Offline verification of Intel DCAP ECDSA quotes (SGX and TDX) against recorded collateral,
// at an explicit evaluation time, graded the way Intel's Quote Verification Library (QVL)
// grades them. Nothing here talks to a network: the caller brings the collateral (Intel PCS
// or a PCCS, recorded as `QuoteCollateralV3` JSON).
//
// Trust anchor: the Intel SGX Root CA, built in and pinned by its SHA-256 fingerprint.
// docs/attestation-hardware.md describes every check, its order and what is not checked.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "confide/attestation/evidence.h"
#include "confide/bytes.h"
#include "confide/status.h"
#include "confide/time.h"
#include "confide/x509.h"

namespace confide::attestation::dcap {

// ---------------------------------------------------------------- quote layout
inline constexpr uint32_t kTeeTypeSgx = 0x00000000;
inline constexpr uint32_t kTeeTypeTdx = 0x00000081;
inline constexpr uint16_t kAttestationKeyEcdsaP256 = 2;
// Intel's Quoting Enclave vendor id, 939a7233f79c4ca9940a0db3957f0607 (raw bytes).
inline constexpr std::array<uint8_t, 16> kIntelQeVendorId = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                                             0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
// SHA-256 of the DER of the Intel SGX Root CA (CN=Intel SGX Root CA, valid 2018-05-21..2049-12-31).
inline constexpr std::array<uint8_t, 32> kIntelSgxRootCaSha256 = {
    0x44, 0xa0, 0x19, 0x6b, 0x2b, 0x99, 0xf8, 0x89, 0xb8, 0xe1, 0x49, 0xe9, 0x5b, 0x80, 0x7a, 0x35,
    0x0e, 0x74, 0x24, 0x96, 0x43, 0x99, 0xe8, 0x85, 0xa7, 0xcb, 0xb8, 0xcc, 0xfa, 0xb6, 0x74, 0xd3};

enum class BodyType : uint16_t { kSgxReport = 1, kTdReport10 = 2, kTdReport15 = 3 };

struct QuoteHeader {
  uint16_t version = 0;               // 3, 4 or 5
  uint16_t attestation_key_type = 0;  // 2 = ECDSA P-256
  uint32_t tee_type = 0;              // kTeeTypeSgx / kTeeTypeTdx
  uint16_t qe_svn = 0;
  uint16_t pce_svn = 0;
  std::array<uint8_t, 16> qe_vendor_id{};
  std::array<uint8_t, 20> user_data{};
};

// An SGX REPORT body: the enclave's report in an SGX quote, and the QE report in every quote.
struct EnclaveReport {
  std::array<uint8_t, 16> cpu_svn{};
  uint32_t misc_select = 0;
  std::array<uint8_t, 16> attributes{};
  std::array<uint8_t, 32> mr_enclave{};
  std::array<uint8_t, 32> mr_signer{};
  uint16_t isv_prod_id = 0;
  uint16_t isv_svn = 0;
  std::array<uint8_t, 64> report_data{};
  bool debug() const { return (attributes[0] & 0x02) != 0; }  // ATTRIBUTES.DEBUG (bit 1)
};

// A TD report body (TDX 1.0: 584 bytes; TDX 1.5: 648 bytes with the last two fields).
struct TdReport {
  std::array<uint8_t, 16> tee_tcb_svn{};
  std::array<uint8_t, 48> mr_seam{};
  std::array<uint8_t, 48> mr_signer_seam{};
  std::array<uint8_t, 8> seam_attributes{};
  std::array<uint8_t, 8> td_attributes{};
  std::array<uint8_t, 8> xfam{};
  std::array<uint8_t, 48> mr_td{};
  std::array<uint8_t, 48> mr_config_id{};
  std::array<uint8_t, 48> mr_owner{};
  std::array<uint8_t, 48> mr_owner_config{};
  std::array<std::array<uint8_t, 48>, 4> rtmr{};
  std::array<uint8_t, 64> report_data{};
  bool is_v15 = false;                      // the two fields below are zero unless true
  std::array<uint8_t, 16> tee_tcb_svn2{};
  std::array<uint8_t, 48> mr_service_td{};
  bool debug() const { return (td_attributes[0] & 0x01) != 0; }  // TDATTRIBUTES.DEBUG (bit 0)
};

// A parsed quote. Every field is a copy, so it does not refer to the input buffer.
struct Quote {
  QuoteHeader header;
  BodyType body_type = BodyType::kSgxReport;
  EnclaveReport sgx;  // meaningful when body_type == kSgxReport
  TdReport td;        // meaningful for the TD body types
  Bytes signed_data;  // header (+ v5 body type and size) + body: what the attestation key signed
  std::array<uint8_t, 64> signature{};        // ECDSA P-256 r || s, big-endian
  std::array<uint8_t, 64> attestation_key{};  // P-256 public key x || y, big-endian
  std::array<uint8_t, 384> qe_report_raw{};   // exactly what the PCK key signed
  EnclaveReport qe_report;
  std::array<uint8_t, 64> qe_report_signature{};
  Bytes qe_auth_data;
  uint16_t outer_certification_type = 0;  // 5 (v3) or 6 (v4/v5, wrapping type 5)
  Bytes pck_chain_pem;                    // certification data type 5: PCK, CA, root (PEM)
  size_t trailing_bytes = 0;              // after the authentication data; tolerated, ignored

  bool is_tdx() const { return body_type != BodyType::kSgxReport; }
};

// Parses a DCAP quote v3 (SGX), v4 (SGX or TDX 1.0) or v5 (any body type). Every length is
// checked; malformed input yields kInvalidArgument, unsupported versions/types kUnsupported.
Result<Quote> ParseQuote(ByteSpan data);

// ---------------------------------------------------------------- PCK certificate
// Intel's SGX extension (OID 1.2.840.113741.1.13.1) of a PCK certificate.
struct PckExtension {
  Bytes ppid;                                  // 16 bytes
  std::array<uint32_t, 16> sgx_tcb_components{};  // sgxtcbcomp01svn..16
  uint32_t pce_svn = 0;
  Bytes cpu_svn;                               // 16 bytes
  Bytes pce_id;                                // 2 bytes
  Bytes fmspc;                                 // 6 bytes
  int sgx_type = 0;                            // 0 standard, 1 scalable, 2 scalable with integrity
};
inline constexpr std::string_view kSgxExtensionOid = "1.2.840.113741.1.13.1";
// `extension_der`: the extnValue contents (x509::Certificate::Extension(kSgxExtensionOid)).
Result<PckExtension> ParsePckExtension(ByteSpan extension_der);

// ---------------------------------------------------------------- collateral
// The `QuoteCollateralV3` JSON layout (dcap-qvl, PCCS). The signed documents are kept as the
// exact text that was signed; they are never re-serialised.
struct Collateral {
  std::string pck_crl_issuer_chain;  // PEM
  Bytes root_ca_crl;                 // DER (or PEM) of the Intel SGX Root CA CRL
  Bytes pck_crl;                     // DER (or PEM) of the PCK Processor/Platform CA CRL
  std::string tcb_info_issuer_chain;  // PEM: TCB Signing cert, root
  std::string tcb_info;               // exact signed text of the `tcbInfo` object
  Bytes tcb_info_signature;           // r || s, 64 bytes
  std::string qe_identity_issuer_chain;
  std::string qe_identity;            // exact signed text of the `enclaveIdentity` object
  Bytes qe_identity_signature;
};
// Keys: pck_crl_issuer_chain, root_ca_crl (hex), pck_crl (hex), tcb_info_issuer_chain,
// tcb_info, tcb_info_signature (hex), qe_identity_issuer_chain, qe_identity,
// qe_identity_signature (hex). Unknown keys are ignored; missing ones are an error.
Result<Collateral> ParseCollateral(ByteSpan json);

// One TCB level of a TCB Info (SGX components and PCESVN; TDX components for TDX).
struct TcbLevel {
  std::array<uint32_t, 16> sgx_components{};
  uint32_t pce_svn = 0;
  std::optional<std::array<uint32_t, 16>> tdx_components;
  std::string tcb_date;
  TcbStatus status = TcbStatus::kUpToDate;
  std::vector<std::string> advisory_ids;
};

// A level of an enclave identity (QE, TD_QE) or TDX module identity: graded by ISVSVN.
struct IsvLevel {
  uint32_t isv_svn = 0;
  std::string tcb_date;
  TcbStatus status = TcbStatus::kUpToDate;
  std::vector<std::string> advisory_ids;
};

struct TdxModuleIdentity {
  std::string id;  // "TDX_01", "TDX_03", ...
  Bytes mr_signer;           // 48 bytes
  Bytes attributes;          // 8 bytes
  Bytes attributes_mask;     // 8 bytes
  std::vector<IsvLevel> levels;
};

struct TcbInfo {
  std::string id;  // "SGX" or "TDX" (v3); v2 has none and means SGX
  int version = 0;  // 2 or 3
  UnixTime issue_date;
  UnixTime next_update;
  Bytes fmspc;   // 6 bytes
  Bytes pce_id;  // 2 bytes
  int tcb_type = 0;
  int tcb_evaluation_data_number = 0;
  std::optional<TdxModuleIdentity> tdx_module;  // TDX: the base module identity (no levels)
  std::vector<TdxModuleIdentity> tdx_module_identities;
  std::vector<TcbLevel> levels;  // in document order (Intel serves them highest first)
};
Result<TcbInfo> ParseTcbInfo(std::string_view json);

struct EnclaveIdentity {
  std::string id;  // "QE", "QVE", "TD_QE"
  int version = 0;  // 2
  UnixTime issue_date;
  UnixTime next_update;
  int tcb_evaluation_data_number = 0;
  Bytes misc_select;       // 4 bytes, in report byte order
  Bytes misc_select_mask;
  Bytes attributes;        // 16 bytes
  Bytes attributes_mask;
  Bytes mr_signer;         // 32 bytes
  uint32_t isv_prod_id = 0;
  std::vector<IsvLevel> levels;
};
Result<EnclaveIdentity> ParseEnclaveIdentity(std::string_view json);

// ---------------------------------------------------------------- verification
struct Options {
  // QVL semantics for late collateral: when true, a TCB Info, QE Identity or CRL past its
  // nextUpdate no longer refuses the quote; the result says collateral_expired = true
  // instead. Certificates outside their validity and documents not yet issued at the
  // evaluation time are refused either way.
  bool allow_expired_collateral = false;

  // "sgx-ecdsa" or "tdx" refuses a quote of the other TEE type; empty accepts both.
  std::string expected_format;

  // TEST ONLY. Replaces the built-in, fingerprint-pinned Intel SGX Root CA with this
  // certificate, so tests can build their own chains (e.g. to exercise PCK revocation, which
  // needs a CRL signed by the root). Never set this in production: it removes the pin.
  std::optional<x509::Certificate> test_root_override;
};

// Verifies quotes and keeps what can be reused between them: parsed and signature-checked
// collateral (keyed by its exact bytes) and parsed, chain-checked PCK chains (keyed by the
// PEM bytes in the quote). Time windows, revocation against the given CRLs and everything
// quote-specific (QE report and quote signatures, identities, TCB grading) are checked on
// every call. Thread-safe.
class Verifier {
 public:
  explicit Verifier(Options options = {});
  ~Verifier();
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  Result<VerificationResult> Verify(ByteSpan quote, const Collateral& collateral, UnixTime at);

  size_t cached_collateral() const;
  size_t cached_pck_chains() const;
  void ClearCache();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One-shot verification with nothing cached. On success the result's claims have format
// "sgx-ecdsa" or "tdx" and `extra` holds the CLI claim names (see docs/attestation-hardware.md).
Result<VerificationResult> VerifyQuote(ByteSpan quote, const Collateral& collateral, UnixTime at,
                                       const Options& options = {});

// The built-in Intel SGX Root CA (its fingerprint is kIntelSgxRootCaSha256).
const x509::Certificate& IntelSgxRootCa();

}  // namespace confide::attestation::dcap
