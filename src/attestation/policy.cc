// Policy parsing and appraisal. nlohmann::json is used without exceptions: parse with
// allow_exceptions = false and check every value's type before reading it.
#include "confide/attestation/policy.h"

#include <algorithm>
#include <cctype>

namespace confide::attestation {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool Equal(const Json& claim, const Json& want) {
  if (claim.is_string() && want.is_string()) return Lower(claim.get<std::string>()) == Lower(want.get<std::string>());
  if (claim.is_number() && want.is_number()) {
    if (claim.is_number_float() || want.is_number_float()) return claim.get<double>() == want.get<double>();
    if (claim.is_number_unsigned() && want.is_number_unsigned()) return claim.get<uint64_t>() == want.get<uint64_t>();
    return claim.get<int64_t>() == want.get<int64_t>();
  }
  return claim == want;
}

std::string Show(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string ShowList(const Json& list) {
  std::string out = "[";
  for (const auto& v : list) out += (out.size() > 1 ? ", " : "") + Show(v);
  return out + "]";
}

Status Refused(const std::string& claim, const std::string& expected, const std::string& actual) {
  return PolicyViolation("policy refused claim '" + claim + "': expected " + expected + ", got " + actual);
}

bool IsScalar(const OrderedJson& v) { return v.is_string() || v.is_number() || v.is_boolean(); }

}  // namespace

Json ClaimsView(const VerificationResult& result) {
  const Claims& c = result.claims;
  Json view = c.extra.is_object() ? c.extra : Json::object();
  view["format"] = c.format;
  view["identity"] = HexEncode(c.identity);
  view["signer"] = HexEncode(c.signer);
  view["product_id"] = c.product_id;
  view["security_version"] = c.security_version;
  view["debug"] = c.debug;
  view["report_data"] = HexEncode(c.report_data);
  view["platform_id"] = c.platform_id;
  view["tcb_status"] = std::string(TcbStatusName(result.tcb_status));
  view["advisory_ids"] = result.advisory_ids;
  // Hardware formats have no development mode; only sim and development daemons set it.
  if (!view.contains("development")) view["development"] = false;
  return view;
}

Result<Policy> Policy::Parse(ByteSpan json) {
  OrderedJson j = OrderedJson::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("policy is not valid JSON");
  if (!j.is_object()) return InvalidArgument("policy must be a JSON object with allow_debug, allow_development, tcb_status, claims");
  Policy p;
  for (const auto& [key, value] : j.items()) {
    if (key == "allow_debug" || key == "allow_development") {
      if (!value.is_boolean()) return InvalidArgument("policy key '" + key + "' must be true or false");
      (key == "allow_debug" ? p.allow_debug_ : p.allow_development_) = value.get<bool>();
    } else if (key == "tcb_status") {
      if (!value.is_array() || value.empty())
        return InvalidArgument("policy key 'tcb_status' must be a non-empty array of statuses, e.g. [\"UpToDate\"]");
      p.tcb_status_.clear();
      for (const auto& s : value) {
        if (!s.is_string()) return InvalidArgument("policy key 'tcb_status' must hold strings");
        auto status = ParseTcbStatus(s.get<std::string>());
        if (!status.ok())
          return InvalidArgument("policy key 'tcb_status': " + status.status().message() +
                                 " (known: UpToDate, SWHardeningNeeded, ConfigurationNeeded, "
                                 "ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded)");
        p.tcb_status_.push_back(*status);
      }
    } else if (key == "claims") {
      if (!value.is_object()) return InvalidArgument("policy key 'claims' must be an object of claim name -> condition");
      for (const auto& [claim, cond] : value.items()) {
        const std::string where = "policy claim '" + claim + "'";
        if (!cond.is_object() || cond.size() != 1)
          return InvalidArgument(where + " must be one condition: {\"equals\": v}, {\"one_of\": [v, ...]} or {\"min\": n}");
        auto first = cond.begin();
        const std::string op = first.key();
        const OrderedJson& arg = first.value();
        Condition c;
        c.claim = claim;
        if (op == "equals") {
          if (!IsScalar(arg)) return InvalidArgument(where + ": 'equals' needs a string, number or boolean");
          c.op = Op::kEquals;
        } else if (op == "one_of") {
          if (!arg.is_array() || arg.empty()) return InvalidArgument(where + ": 'one_of' needs a non-empty array");
          for (const auto& v : arg)
            if (!IsScalar(v)) return InvalidArgument(where + ": 'one_of' values must be strings, numbers or booleans");
          c.op = Op::kOneOf;
        } else if (op == "min") {
          if (!arg.is_number_unsigned())
            return InvalidArgument(where + ": 'min' needs a non-negative integer (versions compare as numbers)");
          c.op = Op::kMin;
        } else {
          return InvalidArgument(where + ": unknown condition '" + op + "' (use equals, one_of or min)");
        }
        c.value = Json::parse(arg.dump());
        p.conditions_.push_back(std::move(c));
      }
    } else if (key == "version") {
      if (!value.is_number_unsigned() || value.get<uint64_t>() != 1)
        return Unsupported("policy version " + value.dump() + " is not supported (expected 1)");
    } else {
      return InvalidArgument("policy has unknown key '" + key +
                             "' (known: version, allow_debug, allow_development, tcb_status, claims)");
    }
  }
  return p;
}

Result<Policy> Policy::Load(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  auto p = Parse(*text);
  if (!p.ok()) return p.status().WithContext(path);
  return p;
}

Status Policy::Evaluate(const VerificationResult& result) const {
  Json view = ClaimsView(result);
  if (!allow_debug_ && view["debug"] == true)
    return Refused("debug", "false (debug enclaves expose their memory; set allow_debug to accept them)", "true");
  if (!allow_development_ && view["development"] == true)
    return Refused("development", "false (a production platform; this evidence comes from sim or a development root)",
                   "true");
  if (std::find(tcb_status_.begin(), tcb_status_.end(), result.tcb_status) == tcb_status_.end()) {
    std::string allowed;
    for (auto s : tcb_status_) allowed += (allowed.empty() ? "" : ", ") + std::string(TcbStatusName(s));
    return Refused("tcb_status", "one of [" + allowed + "]", std::string(TcbStatusName(result.tcb_status)));
  }
  for (const auto& c : conditions_) {
    auto it = view.find(c.claim);
    if (it == view.end())
      return PolicyViolation("policy refused claim '" + c.claim + "': " + result.claims.format +
                             " evidence has no such claim (expected " + Show(c.value) + ")");
    const Json& actual = *it;
    switch (c.op) {
      case Op::kEquals:
        if (!Equal(actual, c.value)) return Refused(c.claim, Show(c.value), Show(actual));
        break;
      case Op::kOneOf:
        if (std::none_of(c.value.begin(), c.value.end(), [&](const Json& v) { return Equal(actual, v); }))
          return Refused(c.claim, "one of " + ShowList(c.value), Show(actual));
        break;
      case Op::kMin:
        if (!actual.is_number_unsigned())
          return Refused(c.claim, ">= " + Show(c.value) + " (a number)", Show(actual));
        if (actual.get<uint64_t>() < c.value.get<uint64_t>()) return Refused(c.claim, ">= " + Show(c.value), Show(actual));
        break;
    }
  }
  return Status::Ok();
}

Status CheckReportData(const Claims& claims, ByteSpan expected) {
  if (!ConstantTimeEqual(claims.report_data, expected))
    return Refused("report_data", HexEncode(expected) + " (this session's nonce or key hash; a replayed or foreign quote)",
                   HexEncode(claims.report_data));
  return Status::Ok();
}

}  // namespace confide::attestation
