// Appraisal policies (each operator, bad policy files) and the evidence registry, on real
// soft evidence from the in-memory provisioning CA.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "attestation/soft_fixture.h"
#include "confide/attestation/policy.h"
#include "confide/attestation/registry.h"

namespace confide::attestation {
namespace {

using ::testing::HasSubstr;
using namespace ::confide::attestation::soft::testing;

#define EXPECT_REFUSED(expr, code_, text)                                  \
  do {                                                                     \
    auto r_ = (expr);                                                      \
    ASSERT_FALSE(r_.ok()) << "expected a refusal containing: " << (text); \
    EXPECT_EQ(r_.code(), (code_)) << r_.ToString();                        \
    EXPECT_THAT(r_.message(), HasSubstr(text));                            \
  } while (0)

Policy P(const std::string& json) {
  auto p = Policy::Parse(AsBytes(json));
  EXPECT_TRUE(p.ok()) << p.status().ToString() << " for " << json;
  return p.ok() ? *p : Policy();
}

Status ParseError(const std::string& json) {
  auto p = Policy::Parse(AsBytes(json));
  return p.ok() ? Status::Ok() : p.status();
}

VerificationResult Verified(const soft::testing::Pki& pki,
                            const platform_services::ReportBody& body = SampleBody()) {
  auto r = soft::VerifySoftEvidence(pki.Quote(body), pki.Collateral(), pki.ca.root, At(kNow));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return *r;
}

const std::string kMrenclave = HexEncode(SampleBody().identity.mrenclave);
const std::string kMrsigner = HexEncode(SampleBody().identity.mrsigner);

TEST(Policy, EqualsMatchesAndRefusesNamingClaimExpectedAndActual) {
  soft::testing::Pki pki;
  auto v = Verified(pki);
  EXPECT_TRUE(P(R"({"claims":{"mrenclave":{"equals":")" + kMrenclave + R"("}}})").Evaluate(v).ok());
  // Hex in upper case matches too.
  std::string upper = kMrenclave;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  EXPECT_TRUE(P(R"({"claims":{"mrenclave":{"equals":")" + upper + R"("}}})").Evaluate(v).ok());
  EXPECT_TRUE(P(R"({"claims":{"product_id":{"equals":7},"format":{"equals":"soft"}}})").Evaluate(v).ok());
  std::string other(64, '0');
  EXPECT_REFUSED(P(R"({"claims":{"mrenclave":{"equals":")" + other + R"("}}})").Evaluate(v), Code::kPolicyViolation,
                 "policy refused claim 'mrenclave': expected " + other + ", got " + kMrenclave);
  EXPECT_REFUSED(P(R"({"claims":{"product_id":{"equals":8}}})").Evaluate(v), Code::kPolicyViolation,
                 "claim 'product_id': expected 8, got 7");
}

TEST(Policy, OneOf) {
  soft::testing::Pki pki;
  auto v = Verified(pki);
  std::string other(64, 'e');
  EXPECT_TRUE(P(R"({"claims":{"mrsigner":{"one_of":[")" + other + R"(",")" + kMrsigner + R"("]}}})").Evaluate(v).ok());
  EXPECT_REFUSED(P(R"({"claims":{"mrsigner":{"one_of":[")" + other + R"("]}}})").Evaluate(v), Code::kPolicyViolation,
                 "claim 'mrsigner': expected one of [" + other + "], got " + kMrsigner);
}

TEST(Policy, MinForVersions) {
  soft::testing::Pki pki;
  auto v = Verified(pki);  // security_version 3, platform_svn 5
  EXPECT_TRUE(P(R"({"claims":{"security_version":{"min":3},"platform_svn":{"min":5}}})").Evaluate(v).ok());
  EXPECT_REFUSED(P(R"({"claims":{"security_version":{"min":4}}})").Evaluate(v), Code::kPolicyViolation,
                 "claim 'security_version': expected >= 4, got 3");
  EXPECT_REFUSED(P(R"({"claims":{"mrenclave":{"min":4}}})").Evaluate(v), Code::kPolicyViolation,
                 "expected >= 4 (a number)");
}

TEST(Policy, MissingClaimIsRefusedNamingTheFormat) {
  soft::testing::Pki pki;
  EXPECT_REFUSED(P(R"({"claims":{"mrtd":{"equals":"00"}}})").Evaluate(Verified(pki)), Code::kPolicyViolation,
                 "claim 'mrtd': soft evidence has no such claim");
}

TEST(Policy, DebugEnclaveFailsAProductionPolicy) {
  soft::testing::Pki pki;
  auto body = SampleBody();
  body.identity.debug = true;
  auto v = Verified(pki, body);
  EXPECT_REFUSED(P("{}").Evaluate(v), Code::kPolicyViolation, "policy refused claim 'debug': expected false");
  EXPECT_TRUE(P(R"({"allow_debug":true})").Evaluate(v).ok());
  EXPECT_REFUSED(P(R"({"allow_debug":true,"claims":{"debug":{"equals":false}}})").Evaluate(v),
                 Code::kPolicyViolation, "claim 'debug': expected false, got true");
}

TEST(Policy, DevelopmentPlatformFailsAProductionPolicy) {
  soft::testing::Pki dev(5, /*development=*/true);
  auto v = Verified(dev);
  EXPECT_REFUSED(P("{}").Evaluate(v), Code::kPolicyViolation, "policy refused claim 'development': expected false");
  EXPECT_TRUE(P(R"({"allow_development":true})").Evaluate(v).ok());
  soft::testing::Pki prod;
  EXPECT_TRUE(P("{}").Evaluate(Verified(prod)).ok());
}

TEST(Policy, TcbStatusAllowList) {
  soft::testing::Pki four(4);  // OutOfDate in the sample TCB info
  auto v = Verified(four);
  EXPECT_REFUSED(P("{}").Evaluate(v), Code::kPolicyViolation,
                 "claim 'tcb_status': expected one of [UpToDate], got OutOfDate");
  EXPECT_TRUE(P(R"({"tcb_status":["UpToDate","OutOfDate"]})").Evaluate(v).ok());
}

TEST(Policy, ReportDataMismatchIsRefused) {
  soft::testing::Pki pki;
  auto v = Verified(pki);
  auto body = SampleBody();
  EXPECT_TRUE(CheckReportData(v.claims, body.report_data).ok());
  auto expected = body.report_data;
  expected[0] ^= 1;
  EXPECT_REFUSED(CheckReportData(v.claims, expected), Code::kPolicyViolation,
                 "policy refused claim 'report_data': expected " + HexEncode(expected));
  EXPECT_REFUSED(CheckReportData(v.claims, Bytes(32, 0)), Code::kPolicyViolation, "replayed or foreign quote");
}

TEST(Policy, BadPolicyFilesGetClearErrors) {
  EXPECT_REFUSED(ParseError("{"), Code::kInvalidArgument, "not valid JSON");
  EXPECT_REFUSED(ParseError("[]"), Code::kInvalidArgument, "must be a JSON object");
  EXPECT_REFUSED(ParseError(R"({"allow_debugs":true})"), Code::kInvalidArgument,
                 "unknown key 'allow_debugs' (known: version, allow_debug");
  EXPECT_REFUSED(ParseError(R"({"allow_debug":"no"})"), Code::kInvalidArgument, "'allow_debug' must be true or false");
  EXPECT_REFUSED(ParseError(R"({"tcb_status":"UpToDate"})"), Code::kInvalidArgument, "non-empty array of statuses");
  EXPECT_REFUSED(ParseError(R"({"tcb_status":["Fresh"]})"), Code::kInvalidArgument, "unknown TCB status 'Fresh'");
  EXPECT_REFUSED(ParseError(R"({"claims":[]})"), Code::kInvalidArgument, "'claims' must be an object");
  EXPECT_REFUSED(ParseError(R"({"claims":{"mrenclave":"ab"}})"), Code::kInvalidArgument,
                 "policy claim 'mrenclave' must be one condition");
  EXPECT_REFUSED(ParseError(R"({"claims":{"mrenclave":{"equals":"ab","min":1}}})"), Code::kInvalidArgument,
                 "must be one condition");
  EXPECT_REFUSED(ParseError(R"({"claims":{"mrenclave":{"matches":"ab"}}})"), Code::kInvalidArgument,
                 "unknown condition 'matches' (use equals, one_of or min)");
  EXPECT_REFUSED(ParseError(R"({"claims":{"isv_svn":{"min":-1}}})"), Code::kInvalidArgument,
                 "'min' needs a non-negative integer");
  EXPECT_REFUSED(ParseError(R"({"claims":{"isv_svn":{"min":"3"}}})"), Code::kInvalidArgument,
                 "'min' needs a non-negative integer");
  EXPECT_REFUSED(ParseError(R"({"claims":{"x":{"one_of":[]}}})"), Code::kInvalidArgument, "'one_of' needs a non-empty array");
  EXPECT_REFUSED(ParseError(R"({"claims":{"x":{"one_of":[[1]]}}})"), Code::kInvalidArgument,
                 "'one_of' values must be strings");
  EXPECT_REFUSED(ParseError(R"({"claims":{"x":{"equals":{"a":1}}}})"), Code::kInvalidArgument,
                 "'equals' needs a string, number or boolean");
  EXPECT_REFUSED(ParseError(R"({"version":2})"), Code::kUnsupported, "policy version 2");
  auto missing = Policy::Load("/nonexistent/policy.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/policy.json"));
}

TEST(Policy, ClaimsAreCheckedInDocumentOrder) {
  soft::testing::Pki pki;
  auto v = Verified(pki);
  EXPECT_REFUSED(P(R"({"claims":{"security_version":{"min":9},"product_id":{"equals":1}}})").Evaluate(v),
                 Code::kPolicyViolation, "'security_version'");
  EXPECT_REFUSED(P(R"({"claims":{"product_id":{"equals":1},"security_version":{"min":9}}})").Evaluate(v),
                 Code::kPolicyViolation, "'product_id'");
}

// ---------------------------------------------------------------- registry
TEST(Registry, BuiltInFormatsAndDetection) {
  auto& reg = Registry::Default();
  for (const char* id : {"soft", "sgx-ecdsa", "tdx", "snp"}) EXPECT_TRUE(reg.Has(id)) << id;
  soft::testing::Pki pki;
  Bytes quote = pki.Quote();
  auto id = reg.Detect(quote);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, "soft");
  auto unknown = reg.Detect(Bytes(100, 0x42));
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("pass --format (soft, sgx-ecdsa, tdx, snp)"));
}

TEST(Registry, VerifiesSoftThroughInputs) {
  auto& reg = Registry::Default();
  soft::testing::Pki pki;
  VerifyInputs in;
  in.collateral = pki.CollateralJson(SampleTcbInfo(At(kStart)));
  in.root = pki.ca.root.der();
  in.at = At(kNow);
  auto r = reg.Verify("soft", pki.Quote(), in);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->claims.format, "soft");
  VerifyInputs no_root = in;
  no_root.root.clear();
  auto refused = reg.Verify("soft", pki.Quote(), no_root);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("--root"));
  auto missing = reg.Verify("tpm", pki.Quote(), in);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("no evidence format 'tpm'"));
}

TEST(Registry, VerifyInputsFromPaths) {
  soft::testing::Pki pki;
  std::string dir = "/tmp/confide-registry-" + std::to_string(::getpid());
  ASSERT_TRUE(SaveCa(pki.ca, dir).ok());
  ASSERT_TRUE(WriteFile(dir + "/c.json", pki.CollateralJson(SampleTcbInfo(At(kStart)))).ok());
  auto in = LoadVerifyInputs({dir + "/c.json", dir + "/root.pem", "", ""}, At(kNow));
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_TRUE(in->endorsement.empty());
  auto r = Registry::Default().Verify("soft", pki.Quote(), *in);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  auto missing = LoadVerifyInputs({dir + "/none.json", "", "", ""}, At(kNow));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("collateral"));
  EXPECT_THAT(missing.status().message(), HasSubstr(dir + "/none.json"));
  std::filesystem::remove_all(dir);
}

TEST(Registry, AttesterSlot) {
  Registry reg;  // a private registry: the default one belongs to the process
  ASSERT_TRUE(reg.Register({"soft", "test", [](ByteSpan, const VerifyInputs&) -> Result<VerificationResult> {
                              return VerificationFailed("unused");
                            }, {}, {}})
                  .ok());
  auto dup = reg.Register({"soft", "again", [](ByteSpan, const VerifyInputs&) -> Result<VerificationResult> {
                             return VerificationFailed("unused");
                           }, {}, {}});
  EXPECT_EQ(dup.code(), Code::kAlreadyExists);
  platform_services::ReportData rd{};
  auto none = reg.Attest("soft", rd);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kUnavailable);
  soft::testing::Pki pki;
  ASSERT_TRUE(reg.SetAttester("soft", [&](const platform_services::ReportData& data) {
                   auto body = SampleBody();
                   body.report_data = data;
                   return pki.signer->Sign(body);
                 }).ok());
  rd[0] = 0x5a;
  auto ev = reg.Attest("soft", rd);
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  auto v = soft::VerifySoftEvidence(*ev, pki.Collateral(), pki.ca.root, At(kNow));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(CheckReportData(v->claims, rd).ok());
  EXPECT_EQ(reg.SetAttester("tpm", {}).code(), Code::kNotFound);
}

}  // namespace
}  // namespace confide::attestation
