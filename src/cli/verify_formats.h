// Shared plumbing of `confide verify`; each evidence format has its own verify_<format>.cc.
#pragma once

#include <string>
#include <string_view>

#include "confide/attestation/evidence.h"

namespace confide::cli {

struct VerifyArgs {
  std::string format;  // empty: detect from the evidence
  std::string evidence;
  std::string collateral;
  std::string vcek;
  std::string chain;
  std::string at;
  bool json = false;
};

// Detects the format when not given, dispatches, prints, returns the exit code.
int RunVerify(const VerifyArgs& args);

// Per-format entry points (verify_dcap.cc, verify_snp.cc). `evidence` is the file's bytes.
Result<attestation::VerificationResult> VerifyDcap(const VerifyArgs& args, ByteSpan evidence, UnixTime at);
Result<attestation::VerificationResult> VerifySnp(const VerifyArgs& args, ByteSpan evidence, UnixTime at);

// Returns the format id the evidence announces ("sgx-ecdsa", "tdx", "snp"), or an error
// asking for --format.
Result<std::string> DetectFormat(ByteSpan evidence);

// Prints the result (JSON: valid, format, tcb_status, advisory_ids, collateral_expired,
// claims; error + error_code on refusal) and returns 0 valid / 1 refused.
int PrintVerification(std::string_view format, const Result<attestation::VerificationResult>& result,
                      bool json);

}  // namespace confide::cli
