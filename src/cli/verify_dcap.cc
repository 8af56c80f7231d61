// `confide verify --format sgx-ecdsa|tdx`: an Intel DCAP quote checked against recorded
// QuoteCollateralV3 JSON and the built-in Intel SGX Root CA, at --at (default: now).
#include "cli/verify_formats.h"
#include "confide/attestation/dcap.h"

namespace confide::cli {

Result<attestation::VerificationResult> VerifyDcap(const VerifyArgs& args, ByteSpan evidence, UnixTime at) {
  if (args.format != "sgx-ecdsa" && args.format != "tdx")
    return InvalidArgument("--format " + args.format + " is not an Intel DCAP format (sgx-ecdsa, tdx)");
  auto text = ReadFile(args.collateral);
  if (!text.ok()) return text.status().WithContext("--collateral");
  auto collateral = attestation::dcap::ParseCollateral(*text);
  if (!collateral.ok()) return collateral.status().WithContext("--collateral " + args.collateral);
  attestation::dcap::Options options;
  // --format was given or detected from the header; a quote of the other TEE is refused.
  options.expected_format = args.format;
  return attestation::dcap::VerifyQuote(evidence, *collateral, at, options);
}

}  // namespace confide::cli
