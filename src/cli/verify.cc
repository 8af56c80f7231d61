// `confide verify`: checks evidence offline at an explicit time and prints normalised claims.
#include <iostream>

#include "cli/cli.h"
#include "cli/verify_formats.h"
#include "confide/attestation/registry.h"
#include "confide/time.h"

namespace confide::cli {

Runner AddVerify(CLI::App& root) {
  auto args = std::make_shared<VerifyArgs>();
  CLI::App* cmd = root.add_subcommand("verify", "Verify attestation evidence offline (soft, SGX, TDX, SEV-SNP)");
  cmd->add_option("--format", args->format, "soft | sgx-ecdsa | tdx | snp (default: detected from the evidence)")
      ->check(CLI::IsMember(attestation::Registry::Default().Ids()));
  cmd->add_option("--evidence", args->evidence, "quote or report file (binary)")->required();
  cmd->add_option("--collateral", args->collateral,
                  "soft: collateral JSON (confide provision tcb-info); sgx-ecdsa, tdx: QuoteCollateralV3 JSON");
  cmd->add_option("--root", args->root, "soft: the provisioning CA's root certificate (PEM or DER)");
  cmd->add_option("--vcek", args->vcek, "VCEK or VLEK certificate, DER or PEM (snp)");
  cmd->add_option("--chain", args->chain, "ASK/ASVK + ARK certificates, PEM, any order (snp; optional)");
  cmd->add_option("--at", args->at, "evaluation time, RFC 3339 (default: now)");
  cmd->add_option("--policy", args->policy, "appraisal policy JSON (docs/attestation.md); refusals exit 1");
  cmd->add_option("--report-data", args->report_data, "expected report data, 128 hex digits (replay check)");
  cmd->add_flag("--json", args->json, "print the result as JSON");
  return [args] { return RunVerify(*args); };
}

}  // namespace confide::cli
