// `confide verify --format snp` end to end: the real binary against the go-sev-guest vector.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include <vector>

#include "cli/cli_runner.h"
#include "confide/bytes.h"

namespace {

using ::testing::HasSubstr;

const std::string kDir = std::string(CONFIDE_TEST_VECTORS) + "/google-go-sev-guest/";
const std::string kReport = kDir + "attestation.bin";
const std::string kVcek = kDir + "vcek.der";

using confide::testing::CliRun;
using confide::testing::RunCli;
using confide::testing::TempDir;

nlohmann::json Json(const CliRun& r) { return nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false); }

std::string Write(const TempDir& dir, const std::string& name, const confide::Bytes& data) {
  std::string path = dir / name;
  EXPECT_TRUE(confide::WriteFile(path, data).ok());
  return path;
}

confide::Bytes Read(const std::string& path) {
  auto b = confide::ReadFile(path);
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  return b.ok() ? *b : confide::Bytes{};
}

std::vector<std::string> Verify(const std::string& evidence, std::vector<std::string> extra = {"--at",
                                                                                           "2022-09-24T01:00:00Z"}) {
  std::vector<std::string> args = {"verify", "--format", "snp", "--evidence", evidence, "--vcek", kVcek, "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST(VerifySnpCliTest, RealReportIsValidWithClaims) {
  CliRun r = RunCli(Verify(kReport));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = Json(r);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["valid"], true);
  EXPECT_EQ(j["format"], "snp");
  EXPECT_EQ(j["tcb_status"], "UpToDate");
  EXPECT_EQ(j["collateral_expired"], false);
  const auto& c = j["claims"];
  EXPECT_EQ(c["measurement"],
            "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01");
  EXPECT_EQ(c["host_data"], std::string(64, '0'));
  EXPECT_EQ(c["report_data"], "0102030405" + std::string(118, '0'));
  EXPECT_EQ(c["policy"]["value"], "0x00000000000b0000");
  EXPECT_EQ(c["policy"]["debug"], true);
  EXPECT_EQ(c["policy"]["smt"], true);
  EXPECT_EQ(c["debug"], true);
  EXPECT_EQ(c["vmpl"], 0);
  EXPECT_EQ(c["reported_tcb"]["value"], "0x4405000000000002");
  EXPECT_EQ(c["reported_tcb"]["microcode"], 68);
  EXPECT_EQ(c["chip_id"].get<std::string>().substr(0, 16), "3ac3fe21e13fb099");
  EXPECT_EQ(c["chip_id"].get<std::string>().size(), 128u);
  EXPECT_EQ(c["signing_key"], "vcek");
}

TEST(VerifySnpCliTest, FormatIsDetectedAndChainAccepted) {
  CliRun r = RunCli({"verify", "--evidence", kReport, "--vcek", kVcek, "--chain", kDir + "ask_ark_milan.pem", "--at",
                     "2026-03-01T00:00:00Z", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Json(r)["format"], "snp");
  // Human-readable output too.
  CliRun text = RunCli({"verify", "--evidence", kReport, "--vcek", kVcek, "--at", "2026-03-01T00:00:00Z"});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_THAT(text.out, HasSubstr("VALID snp evidence"));
}

TEST(VerifySnpCliTest, WrongProductChainIsRefused) {
  for (const char* chain : {"ask_ark_genoa.pem", "ask_ark_turin_vcek.pem"}) {
    CliRun r = RunCli(Verify(kReport, {"--chain", kDir + chain, "--at", "2024-01-01T00:00:00Z"}));
    EXPECT_EQ(r.exit_code, 1) << r.out;
    auto j = Json(r);
    EXPECT_EQ(j["valid"], false);
    EXPECT_EQ(j["error_code"], "verification_failed");
    EXPECT_THAT(j["error"].get<std::string>(), HasSubstr("wrong AMD product chain"));
  }
}

TEST(VerifySnpCliTest, TimeOutsideVcekValidityIsRefused) {
  for (const char* at : {"2022-09-23T00:00:00Z", "2029-09-25T00:00:00Z"}) {
    CliRun r = RunCli(Verify(kReport, {"--at", at}));
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_EQ(Json(r)["error_code"], "expired");
    EXPECT_THAT(Json(r)["error"].get<std::string>(), HasSubstr("SEV-VCEK"));
  }
}

TEST(VerifySnpCliTest, FlippedBytesAreRefused) {
  TempDir dir;
  const confide::Bytes good = Read(kReport);
  for (size_t off : {size_t{0x90}, size_t{0x2A0}, size_t{0x2E8}}) {
    confide::Bytes bad = good;
    bad[off] ^= 0x80;
    CliRun r = RunCli(Verify(Write(dir, "flipped.bin", bad)));
    EXPECT_EQ(r.exit_code, 1) << "offset " << off << ": " << r.out;
    EXPECT_THAT(Json(r)["error"].get<std::string>(), HasSubstr("signature does not verify"));
  }
}

TEST(VerifySnpCliTest, TruncatedReportsAreRefusedNeverCrash) {
  TempDir dir;
  const confide::Bytes good = Read(kReport);
  for (size_t n : {size_t{0}, size_t{1}, size_t{3}, size_t{4}, size_t{8}, size_t{0x48}, size_t{0x2A0},
                   size_t{0x2A0 + 72}, size_t{0x49F}}) {
    confide::Bytes cut(good.begin(), good.begin() + static_cast<long>(n));
    CliRun r = RunCli(Verify(Write(dir, "truncated.bin", cut)));
    EXPECT_EQ(r.exit_code, 1) << n << " bytes: " << r.out;
    auto j = Json(r);
    EXPECT_EQ(j["valid"], false) << n;
    EXPECT_THAT(j["error"].get<std::string>(), HasSubstr("expected exactly 1184 bytes"));
  }
  // A truncated VCEK is refused too.
  confide::Bytes vcek = Read(kVcek);
  vcek.resize(vcek.size() / 2);
  CliRun r = RunCli({"verify", "--format", "snp", "--evidence", kReport, "--vcek", Write(dir, "half.der", vcek), "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(Json(r)["error"].get<std::string>(), HasSubstr("VCEK/VLEK certificate"));
}

TEST(VerifySnpCliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(RunCli({"verify", "--format", "snp", "--evidence", kReport, "--json"}).exit_code, 2);  // no --vcek
  EXPECT_EQ(RunCli(Verify(kReport, {"--at", "yesterday"})).exit_code, 2);
  CliRun missing =
      RunCli({"verify", "--format", "snp", "--evidence", kReport, "--vcek", "/nonexistent/vcek.der", "--json"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(Json(missing)["error"].get<std::string>(), HasSubstr("--vcek"));
}

}  // namespace
