// confide's own remote-attestation evidence ("soft" quotes), shaped like Intel DCAP: a platform
// daemon signs its enclaves' report bodies with an ECDSA P-256 attestation key, certified by a
// platform certificate from a provisioning CA that the operator controls. A relying party
// checks a quote offline, at an explicit time, against that CA's root plus collateral (a TCB
// info statement signed by the CA's TCB-signing key and the CA's CRLs).
//
// Hierarchy (docs/attestation.md, "Soft quotes"):
//   root (self-signed, CA)
//   ├── platform signing CA  ── issues ──▶ platform certificate (key = attestation key,
//   │                                      extension: platform svn, development flag)
//   └── TCB signing certificate ── signs ──▶ TCB info
//
// Nothing here needs enclave code: relying parties and the platform daemon link it alike.
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
#include "confide/crypto.h"
#include "confide/platform_services.h"
#include "confide/status.h"
#include "confide/time.h"
#include "confide/x509.h"

namespace confide::attestation::soft {

inline constexpr std::string_view kFormatId = "soft";

// ---------------------------------------------------------------- quote layout
// All integers little-endian; key and signature big-endian like DCAP.
//   0   version u16 (1)
//   2   attestation key type u16 (2 = ECDSA P-256 / SHA-256, as DCAP)
//   4   format id [8] ("soft", zero-padded)
//   12  body size u32 (= platform_services::kReportBodySize)
//   16  body: platform_services::EncodeReportBody
//   +   attestation public key [64] (x || y)
//   +   signature [64] (r || s) over everything before it (header || body || key)
//   +   certification data size u32, then that many bytes: count u16, then per certificate
//       size u32 + DER (platform certificate first, then its issuers; the root may be
//       included and is ignored: only the verifier's root is trusted)
// Nothing may follow the certification data.
inline constexpr uint16_t kQuoteVersion = 1;
inline constexpr uint16_t kKeyTypeEcdsaP256 = 2;
inline constexpr size_t kHeaderSize = 16;
inline constexpr size_t kKeySize = 64;
inline constexpr size_t kSignatureSize = 64;
inline constexpr size_t kMaxCertificates = 8;
inline constexpr size_t kMaxCertificationDataSize = 32 * 1024;

struct Quote {
  uint16_t version = kQuoteVersion;
  uint16_t key_type = kKeyTypeEcdsaP256;
  platform_services::ReportBody body;
  std::array<uint8_t, kKeySize> attestation_key{};
  std::array<uint8_t, kSignatureSize> signature{};
  std::vector<Bytes> certificates;  // DER, platform certificate first
  Bytes signed_bytes;               // header || body || key, as received (set by DecodeQuote)
};

Bytes EncodeQuote(const Quote& quote);
// Structure only (sizes, version, key type, format id, body fields); no signature or chain check.
Result<Quote> DecodeQuote(ByteSpan evidence);

// ---------------------------------------------------------------- platform certificate
// Extension in every platform certificate (OID kPlatformExtensionOid, non-critical):
//   SEQUENCE { platformSvn INTEGER (0..2^32-1), development BOOLEAN }
// The OID is under the 2.25 (UUID) arc, which needs no registration.
inline constexpr std::string_view kPlatformExtensionOid = "2.25.238468392563049417218862330950436618043";
struct PlatformInfo {
  uint32_t platform_svn = 0;
  bool development = false;
};
Result<PlatformInfo> PlatformInfoOf(const x509::Certificate& cert);

// ---------------------------------------------------------------- signing (the attester)
// Holds the attestation private key and the platform chain; used by the platform daemon.
class QuoteSigner {
 public:
  // `chain`: platform certificate (whose key must be `attestation_key`'s public half and which
  // must carry the platform extension) then its issuers.
  static Result<QuoteSigner> Create(crypto::PKey attestation_key, std::vector<x509::Certificate> chain);
  Result<Bytes> Sign(const platform_services::ReportBody& body) const;
  const x509::Certificate& platform_certificate() const { return chain_.front(); }
  const PlatformInfo& platform_info() const { return info_; }

 private:
  QuoteSigner() = default;
  crypto::PKey key_;
  std::vector<x509::Certificate> chain_;
  std::array<uint8_t, kKeySize> raw_key_{};
  PlatformInfo info_;
};

// ---------------------------------------------------------------- collateral
// TCB info: which platform software versions (platform svn) are UpToDate / OutOfDate /
// Revoked. Levels are graded like DCAP: the first level (highest svn first) whose
// platform_svn <= the certificate's applies.
struct TcbLevel {
  uint32_t platform_svn = 0;
  TcbStatus status = TcbStatus::kUpToDate;
  std::vector<std::string> advisory_ids;
};
struct TcbInfo {
  uint32_t version = 1;
  UnixTime issue_date{};
  UnixTime next_update{};
  uint32_t evaluation_number = 0;  // grows with every statement the CA publishes
  std::vector<TcbLevel> levels;    // sorted highest platform_svn first on encode
};
// Compact JSON text ({"id":"confide-soft","version":1,"issueDate":...}); this exact text is signed.
std::string EncodeTcbInfo(const TcbInfo& info);
Result<TcbInfo> ParseTcbInfo(std::string_view text);

// A platform chain that verified to a root with a collateral's CRLs.
struct VerifiedPlatform {
  std::vector<x509::Certificate> chain;  // platform certificate first; self-issued extras dropped
  PlatformInfo info;
  crypto::PKey key;                       // the platform certificate's key: the attestation key
  std::array<uint8_t, kKeySize> raw_key{};
};

// Collateral JSON: {"version":1,"tcb_info":"<exact signed text>","tcb_info_signature":"<hex r||s>",
// "tcb_signing_chain":"<PEM: TCB signing cert[, root]>","crls":["<PEM CRL>", ...]}.
// Parsed once and reused for many quotes (from several threads); time- and root-independent
// checks are cached.
class SoftCollateral {
 public:
  static Result<SoftCollateral> Parse(ByteSpan json);
  SoftCollateral(SoftCollateral&&) noexcept;
  SoftCollateral& operator=(SoftCollateral&&) noexcept;
  ~SoftCollateral();

  const TcbInfo& tcb_info() const;

  // TCB-signing chain to `root` and the TCB info signature, CRL signatures (cached per root).
  Status CheckSignatures(const x509::Certificate& root) const;
  // Every collateral window (TCB info issueDate..nextUpdate, CRL thisUpdate..nextUpdate, TCB
  // signing chain) at `at`; kExpired naming what is stale and its next update.
  Status CheckTimes(const x509::Certificate& root, UnixTime at) const;

  // The quote's certificates (DER, platform certificate first) checked to `root` at `at`. The
  // first success for a given root and chain runs the full X.509 check with this collateral's
  // CRLs (every issuer must have one) and keeps the parsed result; later calls re-check only
  // what depends on the time: each certificate's validity window (the CRL windows are
  // CheckTimes'). The CRLs are fixed per collateral, so a revocation cannot appear between
  // calls without new collateral.
  Result<std::shared_ptr<const VerifiedPlatform>> VerifyPlatformChain(const x509::Certificate& root,
                                                                      const std::vector<Bytes>& certificates,
                                                                      UnixTime at) const;

  struct State;

 private:
  SoftCollateral() = default;
  std::unique_ptr<State> state_;
};

// Builds the collateral JSON: signs `info`'s text with `tcb_signing_key`.
Result<Bytes> MakeCollateral(const TcbInfo& info, const crypto::PKey& tcb_signing_key,
                             const std::vector<x509::Certificate>& tcb_signing_chain,
                             const std::vector<x509::Crl>& crls);

// ---------------------------------------------------------------- verification
// Parse, platform chain to `root` at `at` with the collateral's CRLs, attestation key equals
// the platform certificate's key, signature, collateral signatures and windows, TCB grading
// from the certificate's platform svn (Revoked refused, no level -> kUnsupported).
// Claims: format "soft", identity = mrenclave, signer = mrsigner, product_id, security_version,
// debug, report_data, platform_id (hex of the body's platform id); extra: mrenclave, mrsigner,
// development (body flag or certificate extension), platform_svn, platform_cert_serial.
Result<VerificationResult> VerifySoftEvidence(ByteSpan evidence, const SoftCollateral& collateral,
                                              const x509::Certificate& root, UnixTime at);

// ---------------------------------------------------------------- provisioning (the CA)
// Certificate and CRL issuance for the provisioning CA and for development-mode daemons.
struct CertSpec {
  std::string common_name;
  crypto::PKey subject_key;            // public key to certify
  bool ca = false;                     // basicConstraints CA:TRUE + keyCertSign/cRLSign
  UnixTime not_before{};
  UnixTime not_after{};
  std::optional<PlatformInfo> platform;  // adds the platform extension
};
// Self-signed when `issuer` is null (then `issuer_key` must be `subject_key`'s private half).
Result<x509::Certificate> IssueCertificate(const CertSpec& spec, const x509::Certificate* issuer,
                                           const crypto::PKey& issuer_key);
Result<x509::Crl> IssueCrl(const x509::Certificate& issuer, const crypto::PKey& issuer_key,
                           const std::vector<Bytes>& revoked_serials, UnixTime this_update,
                           UnixTime next_update);
Result<std::string> CertificatePem(const x509::Certificate& cert);
Result<std::string> CrlPem(const x509::Crl& crl);

// PKCS#10 request the platform daemon makes for its attestation key.
Result<std::string> MakeCsr(const crypto::PKey& key, std::string_view common_name);
struct Csr {
  crypto::PKey public_key;  // P-256, self-signature checked
  std::string common_name;
};
Result<Csr> ParseCsr(ByteSpan pem_or_der);

// An in-memory provisioning CA. Files in a CA directory (SaveCa/LoadCa):
//   root.pem root.key, platform-ca.pem platform-ca.key, tcb-signing.pem tcb-signing.key,
//   root.crl platform-ca.crl (PEM), state.json {"next_crl_number", "revoked": [...hex serials]}
// Keys are written 0600.
struct Ca {
  x509::Certificate root;
  crypto::PKey root_key;
  x509::Certificate platform_ca;
  crypto::PKey platform_ca_key;
  x509::Certificate tcb_signing;
  crypto::PKey tcb_signing_key;
  std::vector<Bytes> revoked;  // platform certificate serials revoked by the platform CA
  x509::Crl root_crl;
  x509::Crl platform_crl;
  bool development = false;    // a development root: what it certifies says development
};
struct CaOptions {
  std::string name = "confide provisioning";  // prefix of every CN
  bool development = false;
  UnixTime not_before{};                      // default: now
  int days = 3650;
  int crl_days = 30;
};
Result<Ca> CreateCa(const CaOptions& options);
Status SaveCa(const Ca& ca, const std::string& dir);
Result<Ca> LoadCa(const std::string& dir);
// Certifies a platform's attestation key (P-256).
Result<x509::Certificate> Certify(const Ca& ca, const crypto::PKey& platform_key, std::string_view common_name,
                                  uint32_t platform_svn, UnixTime not_before, int days);
// Adds the serial and reissues the platform CA's CRL (valid `crl_days` from `at`).
Status Revoke(Ca& ca, const x509::Certificate& platform_cert, UnixTime at, int crl_days = 30);
// Reissues both CRLs (valid from `at` for `crl_days`).
Status RefreshCrls(Ca& ca, UnixTime at, int crl_days = 30);
// Collateral (TCB info signed by the CA's TCB signing key, both CRLs).
Result<Bytes> CaCollateral(const Ca& ca, const TcbInfo& info);

}  // namespace confide::attestation::soft
