// Shared plumbing of `confide verify`: every format goes through the evidence registry
// (confide/attestation/registry.h); a policy, when given, is applied to the verified claims.
#pragma once

#include <string>
#include <string_view>

#include "confide/attestation/evidence.h"

namespace confide::cli {

struct VerifyArgs {
  std::string format;  // empty: detect from the evidence
  std::string evidence;
  std::string collateral;
  std::string root;
  std::string vcek;
  std::string chain;
  std::string at;
  std::string policy;
  std::string report_data;  // expected report data, hex (replay check)
  bool json = false;
};

// Detects the format when not given, verifies, applies the policy, prints, returns the exit code.
int RunVerify(const VerifyArgs& args);

// Prints the result (JSON: valid, format, tcb_status, advisory_ids, collateral_expired,
// claims; error + error_code on refusal, plus the claims when only the policy refused) and
// returns 0 valid / 1 refused.
int PrintVerification(std::string_view format, const Result<attestation::VerificationResult>& result,
                      bool json, const attestation::VerificationResult* refused_by_policy = nullptr);

}  // namespace confide::cli
