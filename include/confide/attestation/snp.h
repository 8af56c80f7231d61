// AMD SEV-SNP attestation reports: parsing (report versions 2, 3 and 5) and offline
// verification against AMD's key hierarchy (ARK -> ASK/ASVK -> VCEK/VLEK) at an explicit time.
//
// The ARK, ASK and ASVK certificates for Milan, Genoa and Turin are built in, and the three
// ARKs are pinned by SHA-256 fingerprint; callers only need the VCEK or VLEK certificate that
// AMD's Key Distribution Service issued for the report's chip and TCB.
#pragma once

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

namespace confide::attestation::snp {

struct ReportVerifierFactory;

inline constexpr size_t kReportSize = 0x4A0;       // 1184 bytes, every report version
inline constexpr size_t kSignedSize = 0x2A0;       // the signature covers bytes 0x000..0x29F
inline constexpr size_t kSignatureOffset = 0x2A0;  // r (72 bytes LE) then s (72 bytes LE)
inline constexpr size_t kSignatureComponentSize = 72;
inline constexpr uint32_t kSignatureAlgoEcdsaP384Sha384 = 1;

enum class Product { kMilan, kGenoa, kTurin };
// "Milan", "Genoa", "Turin" (AMD KDS spelling).
std::string_view ProductName(Product product);
// Case-insensitive; kInvalidArgument naming the accepted values otherwise.
Result<Product> ParseProduct(std::string_view name);

// SIGNER_INFO.SIGNING_KEY (report offset 0x48, bits 4:2).
enum class SigningKey : uint8_t { kVcek = 0, kVlek = 1, kNone = 7 };
std::string_view SigningKeyName(SigningKey key);  // "vcek", "vlek", "none"

// GUEST_POLICY (report offset 0x08). Bit 17 must be 1 and bits 63:26 must be 0.
struct GuestPolicy {
  uint64_t raw = 0;
  uint8_t abi_minor = 0;
  uint8_t abi_major = 0;
  bool smt = false;                     // bit 16: SMT allowed
  bool migration_agent = false;         // bit 18: a migration agent may be associated
  bool debug = false;                   // bit 19: the host may debug (decrypt) the guest
  bool single_socket = false;           // bit 20
  bool cxl_allowed = false;             // bit 21
  bool mem_aes_256_xts = false;         // bit 22
  bool rapl_disabled = false;           // bit 23
  bool ciphertext_hiding_dram = false;  // bit 24
  bool page_swap_disabled = false;      // bit 25
};
Result<GuestPolicy> DecodePolicy(uint64_t raw);

// TCB_VERSION. Milan and Genoa: byte 0 bootloader, 1 TEE, 2-5 reserved, 6 SNP, 7 microcode.
// Turin: byte 0 FMC, 1 bootloader, 2 TEE, 3 SNP, 4-6 reserved, 7 microcode.
struct TcbVersion {
  uint64_t raw = 0;
  uint8_t bootloader = 0;
  uint8_t tee = 0;
  uint8_t snp = 0;
  uint8_t microcode = 0;
  std::optional<uint8_t> fmc;  // Turin only
};
TcbVersion DecodeTcb(uint64_t raw, Product product);

struct FirmwareVersion {
  uint8_t major = 0;
  uint8_t minor = 0;
  uint8_t build = 0;
};

// ATTESTATION_REPORT as defined by AMD's SEV-SNP Firmware ABI specification (#56860).
// Fixed-size byte fields are stored with their exact sizes (noted on each field).
struct Report {
  uint32_t version = 0;  // 2, 3 or 5
  uint32_t guest_svn = 0;
  GuestPolicy policy;
  Bytes family_id;  // 16
  Bytes image_id;   // 16
  uint32_t vmpl = 0;
  uint32_t signature_algo = 0;
  uint64_t current_tcb = 0;
  uint64_t platform_info = 0;
  bool author_key_en = false;
  bool mask_chip_key = false;
  SigningKey signing_key = SigningKey::kVcek;
  Bytes report_data;        // 64
  Bytes measurement;        // 48
  Bytes host_data;          // 32
  Bytes id_key_digest;      // 48
  Bytes author_key_digest;  // 48
  Bytes report_id;          // 32
  Bytes report_id_ma;       // 32
  uint64_t reported_tcb = 0;
  // Version 3 and later: CPUID Fn0000_0001_EAX combined family, model and stepping.
  std::optional<uint8_t> cpuid_family;
  std::optional<uint8_t> cpuid_model;
  std::optional<uint8_t> cpuid_stepping;
  Bytes chip_id;  // 64; all zero when MASK_CHIP_KEY is set
  uint64_t committed_tcb = 0;
  FirmwareVersion current_version;
  FirmwareVersion committed_version;
  uint64_t launch_tcb = 0;
  // Version 5 and later.
  std::optional<uint64_t> launch_mit_vector;
  std::optional<uint64_t> current_mit_vector;
  Bytes signature_r;  // 72, little-endian
  Bytes signature_s;  // 72, little-endian
};

// Parses exactly kReportSize bytes. Refuses other sizes, versions other than 2, 3 and 5, a
// signature algorithm other than ECDSA P-384 SHA-384, reserved SIGNING_KEY values, and
// non-zero must-be-zero fields (kInvalidArgument / kUnsupported, naming the field).
Result<Report> ParseReport(ByteSpan report);

// The product the report's CPUID family announces (v3+: family 0x1A is Turin; 0x19 is Milan
// or Genoa, which the model tells apart); nullopt for v2 reports or unknown CPUs.
std::optional<Product> ProductFromCpuid(const Report& report);

// What the caller supplies. Certificates may be PEM or DER.
struct Inputs {
  Bytes endorsement_cert;  // the VCEK or VLEK certificate (AMD KDS)
  // Optional ASK/ASVK and/or ARK certificates, PEM bundle or DER, any order. When given they
  // must belong to the endorsement key's product, and the ARK must still be one of the
  // pinned AMD roots; missing pieces are taken from the built-in certificates.
  Bytes chain;
  UnixTime at;  // evaluation time: every certificate must be valid then
  std::optional<Product> expected_product;
};

// Verifies the endorsement key's chain once; then verifies any number of reports against it.
// Holds no mutable state after Create, so Verify may be called from several threads.
class ReportVerifier {
 public:
  static Result<ReportVerifier> Create(const Inputs& inputs);

  // Signature, signing-key kind, reported TCB == certificate TCB, CHIP_ID == hwID (VCEK).
  // Returns the normalised claims; tcb_status is kUpToDate when every check passed (AMD
  // publishes no graded TCB status; freshness is the caller's TCB policy).
  Result<VerificationResult> Verify(ByteSpan report) const;

  Product product() const { return product_; }
  SigningKey key_kind() const { return key_kind_; }

  struct State;  // defined in src/attestation/snp/

 private:
  friend struct ReportVerifierFactory;
  ReportVerifier() = default;
  Product product_ = Product::kMilan;
  SigningKey key_kind_ = SigningKey::kVcek;
  std::shared_ptr<const State> state_;
};

// One-shot: ReportVerifier::Create(inputs) then Verify(report).
Result<VerificationResult> VerifyReport(ByteSpan report, const Inputs& inputs);

}  // namespace confide::attestation::snp
