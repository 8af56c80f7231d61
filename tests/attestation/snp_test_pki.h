// A synthetic AMD-shaped key hierarchy for SEV-SNP tests: ARK -> ASK/ASVK -> VCEK/VLEK with
// the KDS names and extensions, RSA-PSS SHA-384 signatures, and report signing. It lets tests
// exercise paths no public vector covers (VLEK, Turin, report v3/v5) against anchors that
// pin the synthetic ARK. It never stands in for AMD's own certificates.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "attestation/snp/snp_internal.h"
#include "confide/crypto.h"
#include "confide/x509.h"

namespace confide::attestation::snp::testing {

struct LeafSpec {
  std::string subject_cn = "SEV-VCEK";
  std::optional<std::string> product_name = "Milan-B0";
  uint8_t bootloader = 3, tee = 0, snp = 8, microcode = 115;
  std::optional<uint8_t> fmc;
  std::optional<Bytes> hwid;  // raw extension value
  std::optional<std::string> csp_id;
};

struct Pki {
  crypto::PKey ark_key, ask_key, asvk_key;
  x509::Certificate ark, ask, asvk;
  internal::TrustAnchors anchors;  // pins `ark`
};

// ARK-<product>, SEV-<product>, SEV-VLEK-<product>; valid 2020..2045.
Pki MakePki(Product product);

// A leaf issued by `issuer` (ASK for a VCEK, ASVK for a VLEK) for `key`, valid 2024..2031.
x509::Certificate MakeLeaf(const LeafSpec& spec, const x509::Certificate& issuer, const crypto::PKey& issuer_key,
                           const crypto::PKey& key);

// Any certificate with AMD's subject layout and the given names, RSA-PSS signed by issuer_key.
x509::Certificate MakeCert(const std::string& subject_cn, const std::string& issuer_cn, const crypto::PKey& subject_key,
                           const crypto::PKey& issuer_key, bool ca,
                           const std::vector<std::pair<std::string, Bytes>>& extensions, long not_before_unix,
                           long not_after_unix);

struct ReportSpec {
  uint32_t version = 2;
  uint64_t policy = 0x30000;  // SMT allowed + reserved bit 17
  SigningKey signing_key = SigningKey::kVcek;
  uint64_t tcb = 0;           // written to current, reported, committed and launch TCB
  Bytes chip_id = Bytes(64, 0);
  std::optional<std::array<uint8_t, 3>> cpuid;  // family, model, stepping (v3+)
  uint64_t launch_mit = 0, current_mit = 0;     // v5
  Bytes report_data = Bytes(64, 0xAB);
};

// An unsigned 1184-byte report laid out as the ABI says.
Bytes BuildReport(const ReportSpec& spec);
// Signs bytes 0..0x29F with `key` and writes r and s (72-byte little-endian) at 0x2A0/0x2E8.
void SignReport(Bytes& report, const crypto::PKey& key);

}  // namespace confide::attestation::snp::testing
