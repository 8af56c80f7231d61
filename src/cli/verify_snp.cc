// `confide verify --format snp`: an SEV-SNP attestation report checked against its VCEK/VLEK
// and AMD's built-in (or supplied) ASK/ASVK and ARK certificates.
#include "cli/verify_formats.h"
#include "confide/attestation/snp.h"

namespace confide::cli {

Result<attestation::VerificationResult> VerifySnp(const VerifyArgs& args, ByteSpan evidence, UnixTime at) {
  attestation::snp::Inputs inputs;
  inputs.at = at;
  auto vcek = ReadFile(args.vcek);
  if (!vcek.ok()) return vcek.status().WithContext("--vcek");
  inputs.endorsement_cert = std::move(*vcek);
  if (!args.chain.empty()) {
    auto chain = ReadFile(args.chain);
    if (!chain.ok()) return chain.status().WithContext("--chain");
    inputs.chain = std::move(*chain);
  }
  return attestation::snp::VerifyReport(evidence, inputs);
}

}  // namespace confide::cli
