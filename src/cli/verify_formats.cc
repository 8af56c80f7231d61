#include "cli/verify_formats.h"

#include <iostream>

#include "cli/cli.h"
#include "confide/attestation/policy.h"
#include "confide/attestation/registry.h"

namespace confide::cli {
namespace {

int UsageError(const std::string& message) {
  std::cerr << "confide verify: " << message << "\n";
  return kExitUsage;
}

Status Load(const std::string& path, std::string_view flag, Bytes& out) {
  if (path.empty()) return Status::Ok();
  auto data = ReadFile(path);
  if (!data.ok()) return data.status().WithContext(flag);
  out = std::move(data).value();
  return Status::Ok();
}

}  // namespace

int RunVerify(const VerifyArgs& args) {
  auto& registry = attestation::Registry::Default();
  UnixTime at = Now();
  if (!args.at.empty()) {
    auto parsed = ParseRfc3339(args.at);
    if (!parsed.ok()) return UsageError("--at: " + parsed.status().message());
    at = *parsed;
  }
  Bytes expected_report_data;
  if (!args.report_data.empty()) {
    auto rd = HexDecode(args.report_data);
    if (!rd.ok() || rd->size() != 64) return UsageError("--report-data must be 64 bytes of hex (128 hex digits)");
    expected_report_data = std::move(rd).value();
  }
  std::optional<attestation::Policy> policy;
  if (!args.policy.empty()) {
    auto p = attestation::Policy::Load(args.policy);
    if (!p.ok()) return Refuse("verify", p.status().WithContext("--policy"), args.json);
    policy = std::move(p).value();
  }
  auto evidence = ReadFile(args.evidence);
  if (!evidence.ok()) return Refuse("verify", evidence.status(), args.json);
  std::string format = args.format;
  if (format.empty()) {
    auto detected = registry.Detect(*evidence);
    if (!detected.ok()) return Refuse("verify", detected.status(), args.json);
    format = *detected;
  }
  // What each format needs is a usage error when missing (exit 2), before anything is read.
  if (format == "snp" && args.vcek.empty())
    return UsageError("--format snp needs --vcek CERT (the VCEK or VLEK from AMD KDS)");
  if ((format == "sgx-ecdsa" || format == "tdx") && args.collateral.empty())
    return UsageError("--format " + format + " needs --collateral C.json (QuoteCollateralV3)");
  if (format == "soft" && (args.collateral.empty() || args.root.empty()))
    return UsageError("--format soft needs --collateral C.json and --root ROOT.pem (the provisioning CA's root)");

  attestation::VerifyInputs in;
  in.at = at;
  Status loaded = Load(args.collateral, "--collateral", in.collateral);
  if (loaded.ok()) loaded = Load(args.root, "--root", in.root);
  if (loaded.ok()) loaded = Load(args.vcek, "--vcek", in.endorsement);
  if (loaded.ok()) loaded = Load(args.chain, "--chain", in.chain);
  if (!loaded.ok()) return PrintVerification(format, loaded, args.json);

  auto result = registry.Verify(format, *evidence, in);
  if (!result.ok()) return PrintVerification(format, result, args.json);
  Status appraisal = Status::Ok();
  if (!expected_report_data.empty()) appraisal = attestation::CheckReportData(result->claims, expected_report_data);
  if (appraisal.ok() && policy) appraisal = policy->Evaluate(*result);
  if (!appraisal.ok()) return PrintVerification(format, appraisal, args.json, &*result);
  return PrintVerification(format, result, args.json);
}

int PrintVerification(std::string_view format, const Result<attestation::VerificationResult>& result, bool json,
                      const attestation::VerificationResult* refused_by_policy) {
  if (!result.ok()) {
    const Status& s = result.status();
    if (json) {
      nlohmann::json j = {{"valid", false},
                          {"format", format},
                          {"error", s.message()},
                          {"error_code", std::string(CodeName(s.code()))},
                          {"collateral_expired", s.code() == Code::kExpired}};
      // The evidence itself verified: show what the policy was shown.
      if (refused_by_policy) {
        j["tcb_status"] = std::string(attestation::TcbStatusName(refused_by_policy->tcb_status));
        j["advisory_ids"] = refused_by_policy->advisory_ids;
        j["claims"] = refused_by_policy->claims.extra;
      }
      PrintJson(j);
    } else {
      std::cout << "INVALID " << format << " evidence: " << s.message() << "\n";
    }
    return kExitRefused;
  }
  const auto& v = *result;
  if (json) {
    PrintJson({{"valid", true},
               {"format", format},
               {"tcb_status", std::string(attestation::TcbStatusName(v.tcb_status))},
               {"advisory_ids", v.advisory_ids},
               {"collateral_expired", v.collateral_expired},
               {"claims", v.claims.extra}});
  } else {
    std::cout << "VALID " << format << " evidence, TCB status " << attestation::TcbStatusName(v.tcb_status);
    if (!v.advisory_ids.empty()) {
      std::cout << " (advisories:";
      for (const auto& a : v.advisory_ids) std::cout << " " << a;
      std::cout << ")";
    }
    std::cout << "\n";
    for (const auto& [key, value] : v.claims.extra.items())
      std::cout << "  " << key << ": " << (value.is_string() ? value.get<std::string>() : value.dump()) << "\n";
  }
  return kExitOk;
}

}  // namespace confide::cli
