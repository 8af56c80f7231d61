// `confide provision init|certify|tcb-info|revoke` and `confide verify --format soft` run as
// real processes. The quote is signed in the test with the key whose CSR the CLI certified
// (no daemon needed; the daemon's own `confide platform attest` is tested with the daemon).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "confide/attestation/soft.h"

namespace confide::testing {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;
namespace soft = attestation::soft;

Json ParseOut(const CliRun& r) {
  Json j = Json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "stdout is not JSON: " << r.out << "\nstderr: " << r.err;
  return j;
}

platform_services::ReportBody Body(bool debug = false) {
  platform_services::ReportBody b;
  b.identity.mrenclave.fill(0xab);
  b.identity.mrsigner.fill(0xcd);
  b.identity.product_id = 2;
  b.identity.security_version = 4;
  b.identity.debug = debug;
  b.report_data.fill(0x11);
  return b;
}

// A CA made by the CLI, a platform certified by it, collateral published by it.
struct Provisioned {
  TempDir dir;
  crypto::PKey key = crypto::EcGenerate(crypto::Curve::kP256).value();
  std::string ca = dir / "ca", csr = dir / "platform.csr", cert = dir / "platform.pem",
              collateral = dir / "collateral.json", root = dir / "ca/root.pem";

  explicit Provisioned(bool development = false) {
    std::vector<std::string> init = {"provision", "init", "--out", ca, "--json"};
    if (development) init.push_back("--development");
    auto r = RunCli(init);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(ParseOut(r)["root"], root);
    EXPECT_TRUE(WriteFile(csr, AsBytes(soft::MakeCsr(key, "host-1").value())).ok());
    r = RunCli({"provision", "certify", "--ca", ca, "--csr", csr, "--out", cert, "--platform-svn", "3", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(ParseOut(r)["subject"], "CN=host-1");
    Publish();
  }
  void Publish() {
    auto r = RunCli({"provision", "tcb-info", "--ca", ca, "--out", collateral, "--level", "3:UpToDate", "--level",
                     "2:OutOfDate:CONFIDE-SA-0007", "--days", "10"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  std::string Evidence(const platform_services::ReportBody& body = Body()) {
    auto chain = x509::Certificate::ParseAll(ReadFile(cert).value()).value();
    EXPECT_EQ(chain.size(), 2u);  // platform certificate, platform CA
    auto quote = soft::QuoteSigner::Create(key, chain).value().Sign(body).value();
    std::string path = dir / "evidence.bin";
    EXPECT_TRUE(WriteFile(path, quote).ok());
    return path;
  }
  std::vector<std::string> Verify(const std::string& evidence, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"verify", "--format", "soft", "--evidence", evidence, "--collateral", collateral,
                                     "--root", root, "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
};

TEST(ProvisionCli, InitWritesPrivateKeysAndRefusesToOverwrite) {
  Provisioned p;
  for (const char* key : {"root.key", "platform-ca.key", "tcb-signing.key"}) {
    struct stat st {};
    ASSERT_EQ(::stat((p.ca + "/" + key).c_str(), &st), 0) << key;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << key;
  }
  auto r = RunCli({"provision", "init", "--out", p.ca, "--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(ParseOut(r)["error"].get<std::string>(), HasSubstr("refusing to overwrite a CA"));
}

TEST(ProvisionCli, VerifySoftEvidenceEndToEnd) {
  Provisioned p;
  auto r = RunCli(p.Verify(p.Evidence()));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  Json j = ParseOut(r);
  EXPECT_EQ(j["valid"], true);
  EXPECT_EQ(j["format"], "soft");
  EXPECT_EQ(j["tcb_status"], "UpToDate");
  EXPECT_EQ(j["advisory_ids"], Json::array());
  const Json& c = j["claims"];
  EXPECT_EQ(c["mrenclave"], HexEncode(Bytes(32, 0xab)));
  EXPECT_EQ(c["mrsigner"], HexEncode(Bytes(32, 0xcd)));
  EXPECT_EQ(c["product_id"], 2);
  EXPECT_EQ(c["security_version"], 4);
  EXPECT_EQ(c["debug"], false);
  EXPECT_EQ(c["development"], false);
  EXPECT_EQ(c["platform_svn"], 3);
  EXPECT_EQ(c["report_data"], HexEncode(Bytes(64, 0x11)));
  // Detected without --format; text output.
  auto text = RunCli({"verify", "--evidence", p.Evidence(), "--collateral", p.collateral, "--root", p.root});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("VALID soft evidence, TCB status UpToDate"));
}

TEST(ProvisionCli, PolicyAndReportDataThroughVerify) {
  Provisioned p;
  std::string ev = p.Evidence();
  std::string good = p.dir / "good.json", bad = p.dir / "bad.json", broken = p.dir / "broken.json";
  ASSERT_TRUE(WriteFile(good, AsBytes(R"({"claims":{"mrsigner":{"equals":")" + HexEncode(Bytes(32, 0xcd)) +
                                      R"("},"security_version":{"min":4}}})"))
                  .ok());
  ASSERT_TRUE(WriteFile(bad, AsBytes(R"({"claims":{"security_version":{"min":5}}})")).ok());
  ASSERT_TRUE(WriteFile(broken, AsBytes(R"({"claims":{"security_version":{"atleast":5}}})")).ok());
  EXPECT_EQ(RunCli(p.Verify(ev, {"--policy", good})).exit_code, 0);
  auto r = RunCli(p.Verify(ev, {"--policy", bad}));
  EXPECT_EQ(r.exit_code, 1);
  Json j = ParseOut(r);
  EXPECT_EQ(j["valid"], false);
  EXPECT_EQ(j["error_code"], "policy_violation");
  EXPECT_THAT(j["error"].get<std::string>(), HasSubstr("claim 'security_version': expected >= 5, got 4"));
  EXPECT_EQ(j["claims"]["security_version"], 4);  // what the policy saw
  r = RunCli(p.Verify(ev, {"--policy", broken}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(ParseOut(r)["error"].get<std::string>(), HasSubstr("unknown condition 'atleast'"));
  // Replay: the quote carries 0x11.., the relying party expects its own nonce.
  EXPECT_EQ(RunCli(p.Verify(ev, {"--report-data", HexEncode(Bytes(64, 0x11))})).exit_code, 0);
  r = RunCli(p.Verify(ev, {"--report-data", HexEncode(Bytes(64, 0x22))}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(ParseOut(r)["error"].get<std::string>(), HasSubstr("policy refused claim 'report_data'"));
  EXPECT_EQ(RunCli(p.Verify(ev, {"--report-data", "abcd"})).exit_code, 2);
}

TEST(ProvisionCli, DebugAndDevelopmentAgainstDefaultPolicy) {
  Provisioned dev(/*development=*/true);
  std::string policy = dev.dir / "policy.json";
  ASSERT_TRUE(WriteFile(policy, AsBytes("{}")).ok());
  auto r = RunCli(dev.Verify(dev.Evidence(), {"--policy", policy}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(ParseOut(r)["error"].get<std::string>(), HasSubstr("policy refused claim 'development'"));
  EXPECT_EQ(RunCli(dev.Verify(dev.Evidence())).exit_code, 0);  // without a policy the claim is only reported
  Provisioned prod;
  r = RunCli(prod.Verify(prod.Evidence(Body(/*debug=*/true)), {"--policy", policy}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(ParseOut(r)["error"].get<std::string>(), HasSubstr("policy refused claim 'debug'"));
}

TEST(ProvisionCli, RevokedStaleAndWrongRootAreRefused) {
  Provisioned p, other;
  std::string ev = p.Evidence();
  auto r = RunCli({"verify", "--format", "soft", "--evidence", ev, "--collateral", p.collateral, "--root", other.root,
                   "--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(ParseOut(r)["error"].get<std::string>(), HasSubstr("is not issued by the given root"));
  // Published for 10 days: 20 days from now it is stale.
  std::string later = FormatRfc3339(Now() + std::chrono::hours(24 * 20));
  r = RunCli(p.Verify(ev, {"--at", later}));
  EXPECT_EQ(r.exit_code, 1);
  Json j = ParseOut(r);
  EXPECT_EQ(j["error_code"], "expired");
  EXPECT_THAT(j["error"].get<std::string>(), HasSubstr("next update"));
  // Revoke and republish: refused as revoked.
  r = RunCli({"provision", "revoke", "--ca", p.ca, "--cert", p.cert, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunCli({"provision", "tcb-info", "--ca", p.ca, "--out", p.collateral});  // reuses the levels
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunCli(p.Verify(ev));
  EXPECT_EQ(r.exit_code, 1);
  j = ParseOut(r);
  EXPECT_EQ(j["error_code"], "revoked");
  EXPECT_THAT(j["error"].get<std::string>(), HasSubstr("'CN=host-1' is revoked"));
}

TEST(ProvisionCli, UsageAndInputErrors) {
  Provisioned p;
  std::string ev = p.Evidence();
  auto r = RunCli({"verify", "--format", "soft", "--evidence", ev, "--collateral", p.collateral});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--root ROOT.pem"));
  r = RunCli({"provision", "tcb-info", "--ca", p.ca, "--out", p.dir / "x.json", "--level", "3-UpToDate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("expected SVN:STATUS"));
  r = RunCli({"provision", "tcb-info", "--ca", p.ca, "--out", p.dir / "x.json", "--level", "3:Fine"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown TCB status 'Fine'"));
  TempDir d;
  r = RunCli({"provision", "init", "--out", d / "ca2"});
  ASSERT_EQ(r.exit_code, 0);
  r = RunCli({"provision", "tcb-info", "--ca", d / "ca2", "--out", d / "x.json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("give at least one --level"));
  // A CSR that is not one, and one whose signature was altered.
  ASSERT_TRUE(WriteFile(d / "junk.csr", AsBytes("junk")).ok());
  r = RunCli({"provision", "certify", "--ca", p.ca, "--csr", d / "junk.csr", "--out", d / "x.pem", "--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(ParseOut(r)["error"].get<std::string>(), HasSubstr("not a PKCS#10 certificate request"));
  r = RunCli({"provision", "certify", "--ca", d / "nope", "--csr", p.csr, "--out", d / "x.pem", "--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(ParseOut(r)["error"].get<std::string>(), HasSubstr("confide provision init"));
  // Revoking a certificate of another CA.
  r = RunCli({"provision", "revoke", "--ca", d / "ca2", "--cert", p.cert, "--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(ParseOut(r)["error"].get<std::string>(), HasSubstr("was not issued by this CA"));
}

// --policy applies to the hardware formats too (through the same registry).
TEST(VerifyPolicyCli, SgxQuoteWithPolicy) {
  const std::string dir = std::string(CONFIDE_TEST_VECTORS) + "/phala-dcap-qvl/";
  TempDir d;
  auto run = [&](const std::string& policy) {
    EXPECT_TRUE(WriteFile(d / "p.json", AsBytes(policy)).ok());
    return RunCli({"verify", "--format", "sgx-ecdsa", "--evidence", dir + "sgx_quote", "--collateral",
                   dir + "sgx_quote_collateral.json", "--at", "2025-07-01T12:00:00Z", "--policy", d / "p.json",
                   "--json"});
  };
  // The vector is ConfigurationAndSWHardeningNeeded: the default allow-list refuses it.
  auto r = run("{}");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(ParseOut(r)["error"].get<std::string>(),
              HasSubstr("claim 'tcb_status': expected one of [UpToDate], got ConfigurationAndSWHardeningNeeded"));
  r = run(R"({"tcb_status":["ConfigurationAndSWHardeningNeeded"],"claims":{"isv_svn":{"min":0},"fmspc":{"equals":"00A067110000"}}})");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = run(R"({"tcb_status":["ConfigurationAndSWHardeningNeeded"],"claims":{"fmspc":{"equals":"00906ed50000"}}})");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(ParseOut(r)["error"].get<std::string>(), HasSubstr("claim 'fmspc': expected 00906ed50000, got 00a067110000"));
}

}  // namespace
}  // namespace confide::testing
