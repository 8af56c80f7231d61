// Local attestation: reports MAC'd by the platform with the target enclave's report key
// (docs/attestation.md, "Local attestation").
#include <cstring>

#include "confide/crypto.h"
#include "confide/sealing.h"
#include "trusted/platform_calls.h"

namespace confide::trusted {

namespace ps = platform_services;

Result<ps::TargetInfo> SelfTargetInfo() {
  CONFIDE_ASSIGN_OR_RETURN(ps::ReportBody self, internal::CachedIdentity());
  return ps::TargetInfo{self.identity.mrenclave, self.identity.debug};
}

Result<ps::Report> GetReport(const ps::TargetInfo& target, const ReportData& report_data) {
  CONFIDE_ASSIGN_OR_RETURN(Bytes reply, internal::AskPlatform(ps::EncodeGetReport(target, report_data)));
  auto rep = ps::DecodeReport(reply);
  if (!rep.ok()) return rep.status().WithContext("the platform's report");
  return rep;
}

Result<ps::ReportBody> VerifyReport(ByteSpan report) {
  CONFIDE_ASSIGN_OR_RETURN(ps::Report rep, ps::DecodeReport(report));
  ps::KeyRequest r{ps::KeyName::kReport, KeyPolicy::kUnique, 0, rep.key_id};
  CONFIDE_ASSIGN_OR_RETURN(Bytes key, internal::AskPlatform(ps::EncodeGetKey(r)));
  // The MAC covers the body exactly as received (the strict decode makes it canonical too).
  Bytes mac = crypto::Hmac(crypto::HashAlg::kSha256, key, report.first(ps::kReportBodySize));
  SecureZero(key);
  bool match = ConstantTimeEqual(mac, rep.mac);
  if (!match)
    return VerificationFailed(
        "the report's MAC does not verify with this enclave's report key: it was made for another enclave "
        "(another target info), on another platform, or changed on its way here");
  return rep.body;
}

}  // namespace confide::trusted
