// Pieces of the SEV-SNP verifier that tests exercise directly: certificate extension checks,
// chain selection against a set of trust anchors (the built-in AMD ones in production, a
// synthetic hierarchy in tests), and construction with explicit anchors.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "confide/attestation/snp.h"
#include "confide/x509.h"

namespace confide::attestation::snp::internal {

std::string Hex64(uint64_t v);

// AMD KDS certificate extensions under 1.3.6.1.4.1.3704.1.
inline constexpr const char* kOidStructVersion = "1.3.6.1.4.1.3704.1.1";
inline constexpr const char* kOidProductName = "1.3.6.1.4.1.3704.1.2";
inline constexpr const char* kOidBlSpl = "1.3.6.1.4.1.3704.1.3.1";
inline constexpr const char* kOidTeeSpl = "1.3.6.1.4.1.3704.1.3.2";
inline constexpr const char* kOidSnpSpl = "1.3.6.1.4.1.3704.1.3.3";
inline constexpr const char* kOidSpl4 = "1.3.6.1.4.1.3704.1.3.4";
inline constexpr const char* kOidSpl5 = "1.3.6.1.4.1.3704.1.3.5";
inline constexpr const char* kOidSpl6 = "1.3.6.1.4.1.3704.1.3.6";
inline constexpr const char* kOidSpl7 = "1.3.6.1.4.1.3704.1.3.7";
inline constexpr const char* kOidUcodeSpl = "1.3.6.1.4.1.3704.1.3.8";
inline constexpr const char* kOidFmcSpl = "1.3.6.1.4.1.3704.1.3.9";
inline constexpr const char* kOidHwid = "1.3.6.1.4.1.3704.1.4";
inline constexpr const char* kOidCspId = "1.3.6.1.4.1.3704.1.5";

// The TCB and identity a VCEK/VLEK certificate was issued for.
struct EndorsementExtensions {
  std::optional<std::string> product_name;  // e.g. "Milan-B0"
  uint8_t bootloader = 0;
  uint8_t tee = 0;
  uint8_t snp = 0;
  uint8_t microcode = 0;
  uint8_t spl4 = 0, spl5 = 0, spl6 = 0, spl7 = 0;  // reserved SPLs, 0 when absent
  std::optional<uint8_t> fmc;                      // Turin
  std::optional<Bytes> hwid;                       // VCEK: the chip's CHIP_ID (64 B; 8 B on Turin)
  std::optional<std::string> csp_id;               // VLEK: the cloud provider it was issued to
};

Result<EndorsementExtensions> ReadEndorsementExtensions(const x509::Certificate& cert);

// The TCB_VERSION the certificate's SPL extensions encode, in `product`'s byte layout.
uint64_t CertificateTcb(const EndorsementExtensions& ext, Product product);
// reported_tcb must equal the certificate's TCB exactly; the error names each differing SPL.
Status CheckReportedTcb(uint64_t reported_tcb, const EndorsementExtensions& ext, Product product);
// VCEK only: CHIP_ID must equal the hwID extension (Turin hwIDs are the first 8 bytes of the
// CHIP_ID, whose remaining bytes are zero).
Status CheckChipId(ByteSpan chip_id, const EndorsementExtensions& ext, Product product);

// Which product and key kind a certificate name (common name) belongs to.
struct AmdName {
  enum class Role { kArk, kAsk, kAsvk, kVcek, kVlek } role;
  std::optional<Product> product;  // absent for the VCEK/VLEK leaf names
};
std::optional<AmdName> ClassifyAmdCommonName(std::string_view cn);
std::string CommonName(std::string_view rfc2253_name);

struct TrustAnchors {
  std::vector<x509::Certificate> certificates;  // ARK, ASK and ASVK of every product
  std::vector<Bytes> pinned_ark_sha256;         // an ARK is trusted only if its fingerprint is here
};
// AMD's certificates for Milan, Genoa and Turin, parsed once.
Result<const TrustAnchors*> AmdTrustAnchors();

struct SelectedChain {
  Product product;
  SigningKey kind;  // kVcek or kVlek
  x509::Certificate intermediate;  // ASK or ASVK
  x509::Certificate root;          // ARK
};
// Picks the ASK/ASVK and ARK for `leaf` from `supplied` (which must all belong to the leaf's
// product and role) and then from the anchors, and checks the root is pinned. Does not check
// signatures or times (VerifyChain does).
Result<SelectedChain> SelectChain(const x509::Certificate& leaf, const std::vector<x509::Certificate>& supplied,
                                  const TrustAnchors& anchors);

}  // namespace confide::attestation::snp::internal

namespace confide::attestation::snp {
// Builds a verifier against explicit anchors; ReportVerifier::Create uses AMD's.
struct ReportVerifierFactory {
  static Result<ReportVerifier> Create(const Inputs& inputs, const internal::TrustAnchors& anchors);
};
}  // namespace confide::attestation::snp
