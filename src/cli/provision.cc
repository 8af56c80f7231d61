// `confide provision`: the operator's provisioning CA for soft quotes (init, certify,
// tcb-info, revoke). docs/operations.md walks through it.
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/cli.h"
#include "confide/attestation/soft.h"
#include "confide/bytes.h"

namespace confide::cli {
namespace {

namespace soft = attestation::soft;
constexpr std::chrono::hours kDay{24};
// The last published TCB info, so a republication (after a revocation, or to refresh the
// CRLs) can reuse its levels.
constexpr const char* kLastTcbInfo = "tcb-info.json";

struct ProvisionArgs {
  std::string out, ca, csr, cert, name, issue_date, next_update;
  std::vector<std::string> levels;
  uint32_t platform_svn = 0;
  int days = 0;
  int crl_days = 30;
  bool development = false;
  bool json = false;
};

int Usage(std::string_view cmd, const std::string& message) {
  std::cerr << "confide provision " << cmd << ": " << message << "\n";
  return kExitUsage;
}

Status WritePemFile(const std::string& path, const std::string& text) { return WriteFile(path, AsBytes(text), 0644); }

int RunInit(const ProvisionArgs& a) {
  std::error_code ec;
  if (std::filesystem::exists(a.out, ec) && !std::filesystem::is_empty(a.out, ec))
    return Refuse("provision init",
                  Status(Code::kAlreadyExists, "'" + a.out + "' exists and is not empty; refusing to overwrite a CA "
                                               "(its root is what every verifier trusts)"),
                  a.json);
  soft::CaOptions o;
  if (!a.name.empty()) o.name = a.name;
  o.development = a.development;
  o.days = a.days > 0 ? a.days : 3650;
  o.crl_days = a.crl_days;
  auto ca = soft::CreateCa(o);
  if (!ca.ok()) return Refuse("provision init", ca.status(), a.json);
  Status s = soft::SaveCa(*ca, a.out);
  if (!s.ok()) return Refuse("provision init", s, a.json);
  const std::string fp = HexEncode(ca->root.Sha256Fingerprint());
  if (a.json) {
    PrintJson({{"ca", a.out},
               {"root", a.out + "/root.pem"},
               {"root_sha256", fp},
               {"root_subject", ca->root.SubjectName()},
               {"not_after", FormatRfc3339(ca->root.NotAfter())},
               {"development", a.development}});
  } else {
    std::cout << "created provisioning CA in " << a.out << "\n"
              << "  root certificate (give this to verifiers): " << a.out << "/root.pem\n"
              << "  root SHA-256: " << fp << "\n"
              << "  private keys (mode 0600): root.key platform-ca.key tcb-signing.key\n";
  }
  return kExitOk;
}

int RunCertify(const ProvisionArgs& a) {
  auto ca = soft::LoadCa(a.ca);
  if (!ca.ok()) return Refuse("provision certify", ca.status().WithContext("--ca"), a.json);
  auto csr_bytes = ReadFile(a.csr);
  if (!csr_bytes.ok()) return Refuse("provision certify", csr_bytes.status().WithContext("--csr"), a.json);
  auto csr = soft::ParseCsr(*csr_bytes);
  if (!csr.ok()) return Refuse("provision certify", csr.status().WithContext("--csr " + a.csr), a.json);
  std::string cn = !a.name.empty() ? a.name : (!csr->common_name.empty() ? csr->common_name : "confide platform");
  auto cert = soft::Certify(*ca, csr->public_key, cn, a.platform_svn, Now(), a.days > 0 ? a.days : 365);
  if (!cert.ok()) return Refuse("provision certify", cert.status(), a.json);
  // The platform certificate then its issuer: what the daemon installs and puts in quotes.
  auto leaf = soft::CertificatePem(*cert);
  auto issuer = soft::CertificatePem(ca->platform_ca);
  if (!leaf.ok() || !issuer.ok()) return Refuse("provision certify", leaf.ok() ? issuer.status() : leaf.status(), a.json);
  Status s = WritePemFile(a.out, *leaf + *issuer);
  if (!s.ok()) return Refuse("provision certify", s, a.json);
  if (a.json) {
    PrintJson({{"certificate", a.out},
               {"subject", cert->SubjectName()},
               {"serial", HexEncode(cert->SerialNumber())},
               {"platform_svn", a.platform_svn},
               {"not_before", FormatRfc3339(cert->NotBefore())},
               {"not_after", FormatRfc3339(cert->NotAfter())}});
  } else {
    std::cout << "certified " << cert->SubjectName() << " (platform svn " << a.platform_svn << ", serial "
              << HexEncode(cert->SerialNumber()) << ", valid until " << FormatRfc3339(cert->NotAfter()) << ")\n"
              << "  chain written to " << a.out << "\n";
  }
  return kExitOk;
}

// "SVN:STATUS[:ADVISORY,ADVISORY...]", e.g. 3:OutOfDate:CONFIDE-SA-0002
Result<soft::TcbLevel> ParseLevel(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("--level '" + text + "': " + why + " (expected SVN:STATUS[:ADVISORY,...], e.g. 3:OutOfDate:CONFIDE-SA-0002)");
  };
  size_t c1 = text.find(':');
  if (c1 == std::string::npos) return bad("no status");
  soft::TcbLevel level;
  auto [p, ec] = std::from_chars(text.data(), text.data() + c1, level.platform_svn);
  if (ec != std::errc() || p != text.data() + c1) return bad("the platform svn is not a number from 0 to 4294967295");
  size_t c2 = text.find(':', c1 + 1);
  auto status = attestation::ParseTcbStatus(text.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1));
  if (!status.ok()) return bad(status.status().message());
  level.status = *status;
  if (c2 != std::string::npos) {
    std::string list = text.substr(c2 + 1);
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      std::string id = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (id.empty()) return bad("empty advisory id");
      level.advisory_ids.push_back(id);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return level;
}

int RunTcbInfo(const ProvisionArgs& a) {
  auto ca = soft::LoadCa(a.ca);
  if (!ca.ok()) return Refuse("provision tcb-info", ca.status().WithContext("--ca"), a.json);
  soft::TcbInfo info;
  info.issue_date = Now();
  if (!a.issue_date.empty()) {
    auto t = ParseRfc3339(a.issue_date);
    if (!t.ok()) return Usage("tcb-info", "--issue-date: " + t.status().message());
    info.issue_date = *t;
  }
  info.next_update = info.issue_date + (a.days > 0 ? a.days : 30) * kDay;
  if (!a.next_update.empty()) {
    auto t = ParseRfc3339(a.next_update);
    if (!t.ok()) return Usage("tcb-info", "--next-update: " + t.status().message());
    info.next_update = *t;
  }
  if (info.next_update <= info.issue_date) return Usage("tcb-info", "--next-update must be later than the issue date");
  const std::string last_path = a.ca + "/" + kLastTcbInfo;
  std::optional<soft::TcbInfo> last;
  if (auto text = ReadFile(last_path); text.ok()) {
    auto parsed = soft::ParseTcbInfo(ToString(*text));
    if (!parsed.ok()) return Refuse("provision tcb-info", parsed.status().WithContext(last_path), a.json);
    last = *parsed;
  }
  for (const auto& l : a.levels) {
    auto level = ParseLevel(l);
    if (!level.ok()) return Usage("tcb-info", level.status().message());
    for (const auto& seen : info.levels)
      if (seen.platform_svn == level->platform_svn)
        return Usage("tcb-info", "platform svn " + std::to_string(seen.platform_svn) + " is given twice");
    info.levels.push_back(*level);
  }
  if (info.levels.empty()) {
    if (!last) return Usage("tcb-info", "give at least one --level SVN:STATUS (no earlier TCB info in " + a.ca + " to reuse)");
    info.levels = last->levels;
  }
  info.evaluation_number = last ? last->evaluation_number + 1 : 1;
  // Each publication carries fresh CRLs, valid as long as the TCB info.
  const int crl_days = static_cast<int>((info.next_update - info.issue_date) / kDay) + 1;
  Status s = soft::RefreshCrls(*ca, info.issue_date, std::max(crl_days, 1));
  if (s.ok()) s = soft::SaveCa(*ca, a.ca);
  if (!s.ok()) return Refuse("provision tcb-info", s, a.json);
  auto collateral = soft::CaCollateral(*ca, info);
  if (!collateral.ok()) return Refuse("provision tcb-info", collateral.status(), a.json);
  s = WriteFile(a.out, *collateral, 0644);
  if (s.ok()) s = WriteFile(last_path, AsBytes(soft::EncodeTcbInfo(info)), 0644);
  if (!s.ok()) return Refuse("provision tcb-info", s, a.json);
  if (a.json) {
    nlohmann::json levels = nlohmann::json::array();
    auto sorted = info.levels;
    std::sort(sorted.begin(), sorted.end(), [](const auto& x, const auto& y) { return x.platform_svn > y.platform_svn; });
    for (const auto& l : sorted)
      levels.push_back({{"platform_svn", l.platform_svn},
                        {"tcb_status", std::string(attestation::TcbStatusName(l.status))},
                        {"advisory_ids", l.advisory_ids}});
    PrintJson({{"collateral", a.out},
               {"issue_date", FormatRfc3339(info.issue_date)},
               {"next_update", FormatRfc3339(info.next_update)},
               {"tcb_evaluation_number", info.evaluation_number},
               {"revoked_certificates", ca->revoked.size()},
               {"levels", levels}});
  } else {
    std::cout << "wrote collateral " << a.out << " (TCB info #" << info.evaluation_number << ", next update "
              << FormatRfc3339(info.next_update) << ", " << ca->revoked.size() << " revoked certificate(s))\n";
  }
  return kExitOk;
}

int RunRevoke(const ProvisionArgs& a) {
  auto ca = soft::LoadCa(a.ca);
  if (!ca.ok()) return Refuse("provision revoke", ca.status().WithContext("--ca"), a.json);
  auto pem = ReadFile(a.cert);
  if (!pem.ok()) return Refuse("provision revoke", pem.status().WithContext("--cert"), a.json);
  auto cert = x509::Certificate::FromPem(*pem);
  if (!cert.ok()) return Refuse("provision revoke", cert.status().WithContext("--cert " + a.cert), a.json);
  Status s = soft::Revoke(*ca, *cert, Now(), a.crl_days);
  if (s.ok()) s = soft::SaveCa(*ca, a.ca);
  if (!s.ok()) return Refuse("provision revoke", s, a.json);
  if (a.json) {
    PrintJson({{"revoked", HexEncode(cert->SerialNumber())},
               {"subject", cert->SubjectName()},
               {"crl", a.ca + "/platform-ca.crl"},
               {"revoked_certificates", ca->revoked.size()}});
  } else {
    std::cout << "revoked " << cert->SubjectName() << " (serial " << HexEncode(cert->SerialNumber()) << ")\n"
              << "  publish it: confide provision tcb-info --ca " << a.ca << " --out COLLATERAL.json\n";
  }
  return kExitOk;
}

}  // namespace

Runner AddProvision(CLI::App& root) {
  auto a = std::make_shared<ProvisionArgs>();
  CLI::App* cmd = root.add_subcommand("provision", "Run a provisioning CA for soft-quote platforms");
  cmd->require_subcommand(1);

  CLI::App* init = cmd->add_subcommand("init", "Create a CA: root, platform CA, TCB signing key, empty CRLs");
  init->add_option("--out", a->out, "new CA directory")->required();
  init->add_option("--name", a->name, "prefix of the certificates' common names (default: confide provisioning)");
  init->add_option("--days", a->days, "validity of the CA certificates in days (default 3650)")->check(CLI::PositiveNumber);
  init->add_option("--crl-days", a->crl_days, "validity of the first CRLs in days (default 30)")->check(CLI::PositiveNumber);
  init->add_flag("--development", a->development, "mark the CA and everything it certifies as development");
  init->add_flag("--json", a->json, "print the result as JSON");

  CLI::App* certify = cmd->add_subcommand("certify", "Certify a platform's attestation key from its CSR");
  certify->add_option("--ca", a->ca, "CA directory")->required();
  certify->add_option("--csr", a->csr, "the platform's PKCS#10 request (confide platform csr)")->required();
  certify->add_option("--out", a->out, "platform certificate chain to write (PEM)")->required();
  certify->add_option("--platform-svn", a->platform_svn, "platform software version graded by the TCB info (default 0)");
  certify->add_option("--days", a->days, "validity in days (default 365)")->check(CLI::PositiveNumber);
  certify->add_option("--name", a->name, "common name (default: the CSR's)");
  certify->add_flag("--json", a->json, "print the result as JSON");

  CLI::App* tcb = cmd->add_subcommand("tcb-info", "Publish collateral: signed TCB info plus fresh CRLs");
  tcb->add_option("--ca", a->ca, "CA directory")->required();
  tcb->add_option("--out", a->out, "collateral JSON to write")->required();
  tcb->add_option("--level", a->levels,
                  "SVN:STATUS[:ADVISORY,...] per platform svn, e.g. 5:UpToDate 3:OutOfDate:CONFIDE-SA-0002 "
                  "(default: the levels published last time)");
  tcb->add_option("--issue-date", a->issue_date, "RFC 3339 (default: now)");
  tcb->add_option("--next-update", a->next_update, "RFC 3339 (default: issue date + --days)");
  tcb->add_option("--days", a->days, "days until the next update (default 30)")->check(CLI::PositiveNumber);
  tcb->add_flag("--json", a->json, "print the result as JSON");

  CLI::App* revoke = cmd->add_subcommand("revoke", "Revoke a platform certificate (updates the platform CA's CRL)");
  revoke->add_option("--ca", a->ca, "CA directory")->required();
  revoke->add_option("--cert", a->cert, "the platform certificate (PEM; the first certificate is revoked)")->required();
  revoke->add_option("--crl-days", a->crl_days, "validity of the new CRL in days (default 30)")->check(CLI::PositiveNumber);
  revoke->add_flag("--json", a->json, "print the result as JSON");

  return [a, init, certify, tcb, revoke] {
    if (init->parsed()) return RunInit(*a);
    if (certify->parsed()) return RunCertify(*a);
    if (tcb->parsed()) return RunTcbInfo(*a);
    if (revoke->parsed()) return RunRevoke(*a);
    return kExitUsage;
  };
}

}  // namespace confide::cli
