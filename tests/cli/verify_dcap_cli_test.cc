// `confide verify --format sgx-ecdsa|tdx` run as a real process on the phala-dcap-qvl vectors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "cli_runner.h"
#include "confide/bytes.h"

namespace confide::testing {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

const std::string kDir = std::string(CONFIDE_TEST_VECTORS) + "/phala-dcap-qvl/";
constexpr const char* kSgxAt = "2025-07-01T12:00:00Z";
constexpr const char* kTdxAt = "2025-07-01T12:00:00Z";

Json ParseOut(const CliRun& r) {
  Json j = Json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "stdout is not JSON: " << r.out << "\nstderr: " << r.err;
  return j;
}

std::set<std::string> Keys(const Json& obj) {
  std::set<std::string> out;
  for (const auto& [k, v] : obj.items()) out.insert(k);
  return out;
}

TEST(VerifyDcapCli, SgxQuote) {
  auto r = RunCli({"verify", "--format", "sgx-ecdsa", "--evidence", kDir + "sgx_quote", "--collateral",
                   kDir + "sgx_quote_collateral.json", "--at", kSgxAt, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  Json j = ParseOut(r);
  EXPECT_EQ(j["valid"], true);
  EXPECT_EQ(j["format"], "sgx-ecdsa");
  EXPECT_EQ(j["tcb_status"], "ConfigurationAndSWHardeningNeeded");
  EXPECT_EQ(j["advisory_ids"], Json::array({"INTEL-SA-00289", "INTEL-SA-00615"}));
  EXPECT_EQ(j["collateral_expired"], false);
  const Json& c = j["claims"];
  EXPECT_EQ(Keys(c), (std::set<std::string>{"mrenclave", "mrsigner", "isv_prod_id", "isv_svn", "debug", "report_data",
                                            "fmspc"}));
  EXPECT_EQ(c["fmspc"], "00a067110000");
  EXPECT_EQ(c["debug"], false);
  EXPECT_EQ(c["report_data"].get<std::string>(), HexEncode(AsBytes("Hello, world!")) + std::string(102, '0'));
  for (const char* k : {"mrenclave", "mrsigner"}) {
    std::string v = c[k].get<std::string>();
    EXPECT_EQ(v.size(), 64u);
    EXPECT_EQ(v.find_first_not_of("0123456789abcdef"), std::string::npos) << k << " is not lowercase hex";
  }
}

TEST(VerifyDcapCli, TdxQuoteDetectedWithoutFormat) {
  auto r = RunCli({"verify", "--evidence", kDir + "tdx_quote", "--collateral", kDir + "tdx_quote_collateral.json",
                   "--at", kTdxAt, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  Json j = ParseOut(r);
  EXPECT_EQ(j["valid"], true);
  EXPECT_EQ(j["format"], "tdx");
  EXPECT_EQ(j["tcb_status"], "UpToDate");
  EXPECT_EQ(j["advisory_ids"], Json::array());
  const Json& c = j["claims"];
  EXPECT_EQ(Keys(c), (std::set<std::string>{"mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "mrseam", "td_attributes",
                                            "tee_tcb_svn", "debug", "report_data", "fmspc"}));
  EXPECT_EQ(c["fmspc"], "b0c06f000000");
  EXPECT_EQ(c["tee_tcb_svn"], "06010300000000000000000000000000");
  EXPECT_EQ(c["td_attributes"], "0000001000000000");
}

TEST(VerifyDcapCli, TextOutput) {
  auto r = RunCli({"verify", "--format", "tdx", "--evidence", kDir + "tdx_quote", "--collateral",
                   kDir + "tdx_quote_collateral.json", "--at", kTdxAt});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("VALID tdx evidence, TCB status UpToDate"));
  EXPECT_THAT(r.out, HasSubstr("mrtd: "));
}

TEST(VerifyDcapCli, OutdatedTdxQuoteHasNoTcbLevel) {
  auto r = RunCli({"verify", "--format", "tdx", "--evidence", kDir + "tdx_quote_outdated", "--collateral",
                   kDir + "tdx_quote_outdated_collateral.json", "--at", "2026-03-01T00:00:00Z", "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  Json j = ParseOut(r);
  EXPECT_EQ(j["valid"], false);
  EXPECT_EQ(j["error_code"], "verification_failed");
  EXPECT_THAT(j["error"].get<std::string>(), HasSubstr("no TCB level"));
}

TEST(VerifyDcapCli, FormatMismatchIsRefused) {
  auto r = RunCli({"verify", "--format", "tdx", "--evidence", kDir + "sgx_quote", "--collateral",
                   kDir + "sgx_quote_collateral.json", "--at", kSgxAt, "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  Json j = ParseOut(r);
  EXPECT_EQ(j["valid"], false);
  EXPECT_THAT(j["error"].get<std::string>(), HasSubstr("SGX quote (sgx-ecdsa), not tdx"));
  r = RunCli({"verify", "--format", "sgx-ecdsa", "--evidence", kDir + "tdx_quote", "--collateral",
              kDir + "tdx_quote_collateral.json", "--at", kTdxAt});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("TDX quote (tdx), not sgx-ecdsa"));
}

TEST(VerifyDcapCli, OutsideTheWindowIsExpired) {
  for (const char* at : {"2025-06-19T10:56:10Z", "2025-07-19T10:01:19Z", "2030-01-01T00:00:00Z"}) {
    auto r = RunCli({"verify", "--format", "sgx-ecdsa", "--evidence", kDir + "sgx_quote", "--collateral",
                     kDir + "sgx_quote_collateral.json", "--at", at, "--json"});
    EXPECT_EQ(r.exit_code, 1) << at;
    Json j = ParseOut(r);
    EXPECT_EQ(j["error_code"], "expired") << at << ": " << j.dump();
    EXPECT_EQ(j["collateral_expired"], true);
  }
}

TEST(VerifyDcapCli, UsageErrors) {
  auto r = RunCli({"verify", "--format", "sgx-ecdsa", "--evidence", kDir + "sgx_quote", "--at", kSgxAt});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--collateral"));
  r = RunCli({"verify", "--format", "sgx-ecdsa", "--evidence", kDir + "sgx_quote", "--collateral",
              kDir + "sgx_quote_collateral.json", "--at", "yesterday"});
  EXPECT_EQ(r.exit_code, 2);
  r = RunCli({"verify", "--format", "sgx-ecdsa", "--evidence", kDir + "sgx_quote", "--collateral",
              kDir + "no_such_file.json", "--at", kSgxAt, "--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(ParseOut(r)["error"].get<std::string>(), HasSubstr("--collateral"));
  // The wrong collateral file type: a quote where JSON is expected.
  r = RunCli({"verify", "--format", "sgx-ecdsa", "--evidence", kDir + "sgx_quote", "--collateral", kDir + "sgx_quote",
              "--at", kSgxAt, "--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(ParseOut(r)["error"].get<std::string>(), HasSubstr("not valid JSON"));
}

TEST(VerifyDcapCli, TamperedQuoteIsRefused) {
  TempDir dir;
  Bytes q = *ReadFile(kDir + "sgx_quote");
  q[48 + 64] ^= 1;  // MRENCLAVE
  ASSERT_TRUE(WriteFile(dir / "q", q).ok());
  auto r = RunCli({"verify", "--format", "sgx-ecdsa", "--evidence", dir / "q", "--collateral",
                   kDir + "sgx_quote_collateral.json", "--at", kSgxAt, "--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(ParseOut(r)["error"].get<std::string>(), HasSubstr("quote signature does not verify"));
}

TEST(VerifyDcapCli, TruncatedQuotesAreRefusedWithExit1) {
  TempDir dir;
  for (const char* name : {"sgx_quote", "tdx_quote"}) {
    Bytes q = *ReadFile(kDir + name);
    std::string collateral = kDir + name + "_collateral.json";
    // Edges of every structure plus a stride through the certificate chain.
    std::set<size_t> lengths = {0, 1, 2, 47, 48, 49, 431, 432, 435, 436, 499, 500, 631, 632, 636, 700};
    for (size_t n = 0; n < 4300; n += 331) lengths.insert(n);
    for (size_t n : lengths) {
      if (n >= q.size()) continue;
      ASSERT_TRUE(WriteFile(dir / "q", ByteSpan(q.data(), n)).ok());
      auto r = RunCli({"verify", "--format", std::string(name) == "sgx_quote" ? "sgx-ecdsa" : "tdx", "--evidence",
                       dir / "q", "--collateral", collateral, "--at", kSgxAt, "--json"});
      EXPECT_EQ(r.exit_code, 1) << name << " truncated to " << n << ": " << r.out << r.err;
      EXPECT_EQ(ParseOut(r)["valid"], false);
    }
  }
}

}  // namespace
}  // namespace confide::testing
