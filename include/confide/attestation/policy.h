// Appraisal policy: JSON conditions over the normalised claims of any evidence format, so a
// relying party states once which enclave, signer, versions and platform state it accepts.
//
//   {
//     "allow_debug": false,          // default false: debug enclaves are refused
//     "allow_development": false,    // default false: sim / development-root evidence refused
//     "tcb_status": ["UpToDate"],    // accepted statuses; default ["UpToDate"]
//     "claims": {                    // conditions, checked in this order
//       "mrenclave": {"equals": "9f86..."},
//       "mrsigner": {"one_of": ["ab12...", "cd34..."]},
//       "security_version": {"min": 2},
//       "product_id": {"equals": 7}
//     }
//   }
//
// Claim names are the common ones (format, identity, signer, product_id, security_version,
// debug, report_data, platform_id, tcb_status, development) plus each format's extras
// (mrenclave, mrsigner, mrtd, rtmr0, isv_svn, platform_svn, ...). Strings compare case-
// insensitively (hex may be written in either case). docs/attestation.md has the details.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "confide/attestation/evidence.h"
#include "confide/bytes.h"
#include "confide/status.h"

namespace confide::attestation {

class Policy {
 public:
  enum class Op { kEquals, kOneOf, kMin };
  struct Condition {
    std::string claim;
    Op op = Op::kEquals;
    nlohmann::json value;  // scalar for equals/min, array for one_of
  };

  // Errors are kInvalidArgument naming the offending key and what is allowed.
  static Result<Policy> Parse(ByteSpan json);
  static Result<Policy> Load(const std::string& path);

  // OK, or kPolicyViolation: "policy refused claim 'X': expected E, got A".
  Status Evaluate(const VerificationResult& result) const;

  bool allow_debug() const { return allow_debug_; }
  bool allow_development() const { return allow_development_; }
  const std::vector<TcbStatus>& tcb_status() const { return tcb_status_; }
  const std::vector<Condition>& conditions() const { return conditions_; }

 private:
  bool allow_debug_ = false;
  bool allow_development_ = false;
  std::vector<TcbStatus> tcb_status_{TcbStatus::kUpToDate};
  std::vector<Condition> conditions_;
};

// Every claim of a result as one flat JSON object (the names policies use).
nlohmann::json ClaimsView(const VerificationResult& result);

// Replay protection: the evidence must carry exactly the report data the relying party
// expects (its nonce or key hash); kPolicyViolation naming both values otherwise.
Status CheckReportData(const Claims& claims, ByteSpan expected);

}  // namespace confide::attestation
