// Soft quotes: format, signer, collateral, provisioning CA and every refusal of the verifier.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "attestation/soft_fixture.h"

namespace confide::attestation::soft {
namespace {

using ::testing::HasSubstr;
using namespace ::confide::attestation::soft::testing;

#define EXPECT_REFUSED(expr, code_, text)                                  \
  do {                                                                     \
    auto r_ = (expr);                                                      \
    ASSERT_FALSE(r_.ok()) << "expected a refusal containing: " << (text); \
    EXPECT_EQ(r_.status().code(), (code_)) << r_.status().ToString();      \
    EXPECT_THAT(r_.status().message(), HasSubstr(text));                   \
  } while (0)

TEST(SoftQuote, VerifiesAndNormalisesClaims) {
  Pki pki;
  Bytes quote = pki.Quote();
  auto r = VerifySoftEvidence(quote, pki.Collateral(), pki.ca.root, At(kNow));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Claims& c = r->claims;
  auto body = SampleBody();
  EXPECT_EQ(c.format, "soft");
  EXPECT_EQ(c.identity, Bytes(body.identity.mrenclave.begin(), body.identity.mrenclave.end()));
  EXPECT_EQ(c.signer, Bytes(body.identity.mrsigner.begin(), body.identity.mrsigner.end()));
  EXPECT_EQ(c.product_id, 7u);
  EXPECT_EQ(c.security_version, 3u);
  EXPECT_FALSE(c.debug);
  EXPECT_EQ(c.report_data, Bytes(body.report_data.begin(), body.report_data.end()));
  EXPECT_EQ(c.platform_id, HexEncode(body.platform_id));
  EXPECT_EQ(c.extra["mrenclave"], HexEncode(body.identity.mrenclave));
  EXPECT_EQ(c.extra["development"], false);
  EXPECT_EQ(c.extra["platform_svn"], 5);
  EXPECT_EQ(c.extra["platform_cert_serial"], HexEncode(pki.platform.SerialNumber()));
  EXPECT_EQ(r->tcb_status, TcbStatus::kUpToDate);
  EXPECT_TRUE(r->advisory_ids.empty());
}

TEST(SoftQuote, EncodeDecodeRoundTripAndLayout) {
  Pki pki;
  Bytes quote = pki.Quote();
  auto q = DecodeQuote(quote);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(EncodeQuote(*q), quote);
  // Documented offsets (docs/attestation.md): header 16, body 240, key 64, signature 64.
  EXPECT_EQ(quote[0], 1);
  EXPECT_EQ(quote[2], 2);
  EXPECT_EQ(std::string(quote.begin() + 4, quote.begin() + 8), "soft");
  EXPECT_EQ(q->signed_bytes.size(), kHeaderSize + platform_services::kReportBodySize + kKeySize);
  EXPECT_EQ(q->certificates.size(), 2u);
  EXPECT_EQ(q->certificates[0], pki.platform.der());
  EXPECT_EQ(q->body.identity.mrenclave, SampleBody().identity.mrenclave);
}

TEST(SoftQuote, DebugAndDevelopmentFlagsBecomeClaims) {
  Pki pki(5, /*development=*/true);
  auto body = SampleBody();
  body.identity.debug = true;
  auto r = VerifySoftEvidence(pki.Quote(body), pki.Collateral(), pki.ca.root, At(kNow));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->claims.debug);
  EXPECT_EQ(r->claims.extra["development"], true);

  // A production CA certificate but a development daemon's body flag: still development.
  Pki prod;
  body = SampleBody();
  body.flags = platform_services::kReportFlagDevelopment;
  r = VerifySoftEvidence(prod.Quote(body), prod.Collateral(), prod.ca.root, At(kNow));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->claims.extra["development"], true);
}

// Every single-byte change of a quote is refused, whichever byte and whichever change.
TEST(SoftQuote, EverySingleByteChangeIsRefused) {
  Pki pki;
  Bytes quote = pki.Quote();
  SoftCollateral collateral = pki.Collateral();
  const std::set<Code> expected = {Code::kInvalidArgument, Code::kUnsupported, Code::kVerificationFailed};
  size_t refused = 0;
  for (size_t i = 0; i < quote.size(); ++i) {
    for (uint8_t delta : {uint8_t{0x01}, uint8_t{0x80}}) {
      Bytes bad = quote;
      bad[i] ^= delta;
      auto r = VerifySoftEvidence(bad, collateral, pki.ca.root, At(kNow));
      ASSERT_FALSE(r.ok()) << "byte " << i << " ^ " << int(delta) << " was accepted";
      EXPECT_TRUE(expected.count(r.status().code())) << "byte " << i << ": " << r.status().ToString();
      ++refused;
    }
  }
  EXPECT_EQ(refused, quote.size() * 2);
  // Truncation anywhere and one trailing byte are refused too.
  for (size_t n : {size_t{0}, size_t{15}, kHeaderSize + 10, quote.size() - 1}) {
    Bytes cut(quote.begin(), quote.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_REFUSED(VerifySoftEvidence(cut, collateral, pki.ca.root, At(kNow)), Code::kInvalidArgument, "soft quote");
  }
  Bytes longer = quote;
  longer.push_back(0);
  EXPECT_REFUSED(VerifySoftEvidence(longer, collateral, pki.ca.root, At(kNow)), Code::kInvalidArgument,
                 "trailing data");
}

TEST(SoftQuote, SignatureAndKeyRefusalsAreSpecific) {
  Pki pki;
  Bytes quote = pki.Quote();
  // Flip a report_data byte (inside the body): the signature check names it.
  Bytes bad = quote;
  bad[kHeaderSize + 112 + 5] ^= 1;  // report_data starts at body offset 112
  EXPECT_REFUSED(VerifySoftEvidence(bad, pki.Collateral(), pki.ca.root, At(kNow)), Code::kVerificationFailed,
                 "soft quote signature does not verify");
  // Swap in another (valid) key: no longer the certified key.
  auto q = DecodeQuote(quote).value();
  auto other = crypto::EcPublicKeyRaw(crypto::EcGenerate(crypto::Curve::kP256).value()).value();
  std::copy(other.begin(), other.end(), q.attestation_key.begin());
  EXPECT_REFUSED(VerifySoftEvidence(EncodeQuote(q), pki.Collateral(), pki.ca.root, At(kNow)),
                 Code::kVerificationFailed, "is not the key of platform certificate");
}

TEST(SoftQuote, WrongRootIsRefused) {
  Pki pki, other;
  EXPECT_REFUSED(VerifySoftEvidence(pki.Quote(), pki.Collateral(), other.ca.root, At(kNow)),
                 Code::kVerificationFailed, "is not issued by the given root");
  // Collateral from the right CA for the other root, but the quote's chain from another CA.
  EXPECT_REFUSED(VerifySoftEvidence(pki.Quote(), other.Collateral(), other.ca.root, At(kNow)),
                 Code::kVerificationFailed, "platform certificate chain");
}

TEST(SoftQuote, ExpiredPlatformCertificateIsRefused) {
  Pki pki(5, false, /*cert_days=*/5);
  EXPECT_REFUSED(VerifySoftEvidence(pki.Quote(), pki.Collateral(), pki.ca.root, At(kNow)), Code::kExpired,
                 "'CN=platform-1' is not valid at 2026-01-10T00:00:00Z");
  // Before everything was issued: the collateral is not valid yet either, and says so first.
  EXPECT_REFUSED(VerifySoftEvidence(pki.Quote(), pki.Collateral(), pki.ca.root, At("2025-12-31T00:00:00Z")),
                 Code::kExpired, "is not valid at 2025-12-31T00:00:00Z");
}

// One parsed collateral, many quotes and times: the cached chain still re-checks the windows.
TEST(SoftQuote, CachedChainStillChecksValidityAtEachTime) {
  Pki pki(5, false, /*cert_days=*/5);
  SoftCollateral collateral = pki.Collateral();
  Bytes quote = pki.Quote();
  auto first = VerifySoftEvidence(quote, collateral, pki.ca.root, At("2026-01-02T00:00:00Z"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(VerifySoftEvidence(quote, collateral, pki.ca.root, At("2026-01-03T00:00:00Z")).ok());
  EXPECT_REFUSED(VerifySoftEvidence(quote, collateral, pki.ca.root, At(kNow)), Code::kExpired,
                 "certificate 'CN=platform-1' is not valid at 2026-01-10T00:00:00Z (valid 2026-01-01T00:00:00Z to "
                 "2026-01-06T00:00:00Z)");
  // A different chain for the same root is not taken from the cache.
  Pki other;
  EXPECT_REFUSED(VerifySoftEvidence(other.Quote(), collateral, pki.ca.root, At("2026-01-02T00:00:00Z")),
                 Code::kVerificationFailed, "platform certificate chain");
}

TEST(SoftQuote, RevokedPlatformCertificateIsRefused) {
  Pki pki;
  ASSERT_TRUE(Revoke(pki.ca, pki.platform, At(kStart)).ok());
  EXPECT_REFUSED(VerifySoftEvidence(pki.Quote(), pki.Collateral(), pki.ca.root, At(kNow)), Code::kRevoked,
                 "'CN=platform-1' is revoked");
  // Revoking a certificate of another CA is refused, naming it.
  Pki other;
  auto s = Revoke(pki.ca, other.platform, At(kStart));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("was not issued by this CA"));
}

TEST(SoftQuote, StaleCollateralIsRefusedNamingNextUpdate) {
  Pki pki;
  // TCB info valid 5 days, CRLs 30: evaluated on day 9, only the TCB info is stale.
  EXPECT_REFUSED(VerifySoftEvidence(pki.Quote(), pki.Collateral(SampleTcbInfo(At(kStart), 5)), pki.ca.root, At(kNow)),
                 Code::kExpired, "TCB info is stale at 2026-01-10T00:00:00Z: its next update was due 2026-01-06T00:00:00Z");
  EXPECT_REFUSED(VerifySoftEvidence(pki.Quote(), pki.Collateral(SampleTcbInfo(At(kNow))), pki.ca.root,
                                    At("2026-01-09T00:00:00Z")),
                 Code::kExpired, "TCB info is not yet valid");
  // CRLs past their nextUpdate (30 days): refused even with a fresh TCB info.
  EXPECT_REFUSED(VerifySoftEvidence(pki.Quote(), pki.Collateral(SampleTcbInfo(At("2026-02-05T00:00:00Z"))),
                                    pki.ca.root, At("2026-02-06T00:00:00Z")),
                 Code::kExpired,
                 "is stale at 2026-02-06T00:00:00Z: issued 2026-01-01T00:00:00Z, next update 2026-01-31T00:00:00Z");
}

TEST(SoftQuote, TamperedTcbInfoSignatureIsRefused) {
  Pki pki;
  auto json = nlohmann::json::parse(ToString(pki.CollateralJson(SampleTcbInfo(At(kStart)))));
  std::string text = json["tcb_info"];
  // Lift the Revoked level to UpToDate: valid JSON, but not what the CA signed.
  auto pos = text.find("Revoked");
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, 7, "UpToDate");
  json["tcb_info"] = text;
  auto c = SoftCollateral::Parse(AsBytes(json.dump()));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_REFUSED(VerifySoftEvidence(pki.Quote(), *c, pki.ca.root, At(kNow)), Code::kVerificationFailed,
                 "TCB info signature does not verify");
  // Signed by a key that is not the root's TCB signing key (the platform CA's).
  auto forged = MakeCollateral(SampleTcbInfo(At(kStart)), pki.ca.platform_ca_key, {pki.ca.tcb_signing},
                               {pki.ca.root_crl, pki.ca.platform_crl});
  ASSERT_TRUE(forged.ok());
  EXPECT_REFUSED(VerifySoftEvidence(pki.Quote(), SoftCollateral::Parse(*forged).value(), pki.ca.root, At(kNow)),
                 Code::kVerificationFailed, "TCB info signature does not verify");
  // A TCB statement signed by the platform CA and presenting its certificate.
  forged = MakeCollateral(SampleTcbInfo(At(kStart)), pki.ca.platform_ca_key, {pki.ca.platform_ca},
                          {pki.ca.root_crl, pki.ca.platform_crl});
  ASSERT_TRUE(forged.ok());
  EXPECT_REFUSED(VerifySoftEvidence(pki.Quote(), SoftCollateral::Parse(*forged).value(), pki.ca.root, At(kNow)),
                 Code::kVerificationFailed, "is a CA certificate");
}

TEST(SoftQuote, TcbGradingByPlatformSvn) {
  // svn 4: the level of svn 3 applies (OutOfDate with its advisory).
  Pki four(4);
  auto r = VerifySoftEvidence(four.Quote(), four.Collateral(), four.ca.root, At(kNow));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tcb_status, TcbStatus::kOutOfDate);
  EXPECT_EQ(r->advisory_ids, std::vector<std::string>{"CONFIDE-SA-0002"});
  // svn 2: Revoked.
  Pki two(2);
  EXPECT_REFUSED(VerifySoftEvidence(two.Quote(), two.Collateral(), two.ca.root, At(kNow)), Code::kRevoked,
                 "platform svn 2 is Revoked by the TCB info (advisories: CONFIDE-SA-0001)");
  // svn 1: below every level.
  Pki one(1);
  EXPECT_REFUSED(VerifySoftEvidence(one.Quote(), one.Collateral(), one.ca.root, At(kNow)), Code::kUnsupported,
                 "TCB not supported: platform svn 1");
}

TEST(SoftQuote, CollateralWithoutThePlatformCaCrlIsRefused) {
  Pki pki;
  auto c = MakeCollateral(SampleTcbInfo(At(kStart)), pki.ca.tcb_signing_key, {pki.ca.tcb_signing}, {pki.ca.root_crl});
  ASSERT_TRUE(c.ok());
  EXPECT_REFUSED(VerifySoftEvidence(pki.Quote(), SoftCollateral::Parse(*c).value(), pki.ca.root, At(kNow)),
                 Code::kVerificationFailed, "platform certificate chain");
  c = MakeCollateral(SampleTcbInfo(At(kStart)), pki.ca.tcb_signing_key, {pki.ca.tcb_signing}, {pki.ca.platform_crl});
  ASSERT_TRUE(c.ok());
  EXPECT_REFUSED(VerifySoftEvidence(pki.Quote(), SoftCollateral::Parse(*c).value(), pki.ca.root, At(kNow)),
                 Code::kVerificationFailed, "no CRL issued by the root");
}

TEST(SoftCollateral, BadDocumentsAreRefusedClearly) {
  EXPECT_REFUSED(SoftCollateral::Parse(AsBytes("[1]")), Code::kInvalidArgument, "not a JSON object");
  Pki pki;
  auto good = nlohmann::json::parse(ToString(pki.CollateralJson(SampleTcbInfo(At(kStart)))));
  auto without = [&](const char* key) {
    auto j = good;
    j.erase(key);
    return SoftCollateral::Parse(AsBytes(j.dump()));
  };
  EXPECT_REFUSED(without("tcb_info"), Code::kInvalidArgument, "field 'tcb_info' is missing");
  EXPECT_REFUSED(without("crls"), Code::kInvalidArgument, "field 'crls' is missing");
  EXPECT_REFUSED(without("tcb_signing_chain"), Code::kInvalidArgument, "field 'tcb_signing_chain' is missing");
  auto j = good;
  j["tcb_info_signature"] = "abcd";
  EXPECT_REFUSED(SoftCollateral::Parse(AsBytes(j.dump())), Code::kInvalidArgument, "64 bytes of hex");
  j = good;
  j["version"] = 2;
  EXPECT_REFUSED(SoftCollateral::Parse(AsBytes(j.dump())), Code::kUnsupported, "version 2");
  EXPECT_REFUSED(ParseTcbInfo(R"({"id":"SGX"})"), Code::kInvalidArgument, "expected 'confide-soft'");
  EXPECT_REFUSED(ParseTcbInfo(R"({"id":"confide-soft","version":1,"issueDate":"2026-01-01T00:00:00Z",)"
                              R"("nextUpdate":"2026-02-01T00:00:00Z","tcbEvaluationDataNumber":1,)"
                              R"("tcbLevels":[{"platformSvn":1,"tcbStatus":"Fine"}]})"),
                 Code::kInvalidArgument, "unknown TCB status 'Fine'");
  EXPECT_REFUSED(ParseTcbInfo(R"({"id":"confide-soft","version":1,"issueDate":"2026-01-01T00:00:00Z",)"
                              R"("nextUpdate":"2026-02-01T00:00:00Z","tcbEvaluationDataNumber":1,)"
                              R"("tcbLevels":[{"platformSvn":1,"tcbStatus":"UpToDate"},)"
                              R"({"platformSvn":2,"tcbStatus":"OutOfDate"}]})"),
                 Code::kInvalidArgument, "strictly decreasing platformSvn");
}

TEST(SoftTcbInfo, EncodesSortedAndRoundTrips) {
  TcbInfo t = SampleTcbInfo(At(kStart));
  std::swap(t.levels[0], t.levels[2]);
  auto parsed = ParseTcbInfo(EncodeTcbInfo(t));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->levels.size(), 3u);
  EXPECT_EQ(parsed->levels[0].platform_svn, 5u);
  EXPECT_EQ(parsed->levels[2].status, TcbStatus::kRevoked);
  EXPECT_EQ(parsed->levels[1].advisory_ids, std::vector<std::string>{"CONFIDE-SA-0002"});
  EXPECT_EQ(parsed->next_update, At("2026-01-31T00:00:00Z"));
}

TEST(SoftSigner, RefusesAKeyTheCertificateDoesNotCertify) {
  Pki pki;
  auto other = crypto::EcGenerate(crypto::Curve::kP256).value();
  EXPECT_REFUSED(QuoteSigner::Create(other, {pki.platform, pki.ca.platform_ca}), Code::kInvalidArgument,
                 "does not certify this attestation key");
  EXPECT_REFUSED(QuoteSigner::Create(pki.ca.tcb_signing_key, {pki.ca.tcb_signing}), Code::kInvalidArgument,
                 "not a confide platform certificate");
  EXPECT_REFUSED(QuoteSigner::Create(crypto::EcGenerate(crypto::Curve::kP384).value(), {pki.platform}),
                 Code::kInvalidArgument, "P-256");
  EXPECT_EQ(pki.signer->platform_info().platform_svn, 5u);
}

TEST(SoftProvisioning, CsrRoundTripAndForgery) {
  auto key = crypto::EcGenerate(crypto::Curve::kP256).value();
  auto pem = MakeCsr(key, "host-17");
  ASSERT_TRUE(pem.ok()) << pem.status().ToString();
  auto csr = ParseCsr(AsBytes(*pem));
  ASSERT_TRUE(csr.ok()) << csr.status().ToString();
  EXPECT_EQ(csr->common_name, "host-17");
  EXPECT_EQ(crypto::EcPublicKeyRaw(csr->public_key).value(), crypto::EcPublicKeyRaw(key).value());
  EXPECT_REFUSED(ParseCsr(AsBytes("hello")), Code::kInvalidArgument, "not a PKCS#10 certificate request");
  // Change one base64 character inside the signed part: the self-signature fails (or it no
  // longer parses); never accepted.
  std::string bad = *pem;
  size_t body = bad.find('\n') + 40;
  bad[body] = bad[body] == 'A' ? 'B' : 'A';
  auto r = ParseCsr(AsBytes(bad));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().code() == Code::kVerificationFailed || r.status().code() == Code::kInvalidArgument)
      << r.status().ToString();
}

TEST(SoftProvisioning, CaSavesWithPrivateKeysAndLoads) {
  std::string dir = std::filesystem::temp_directory_path() / ("confide-soft-ca-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  Pki pki;
  ASSERT_TRUE(SaveCa(pki.ca, dir).ok());
  for (const char* key : {"root.key", "platform-ca.key", "tcb-signing.key"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir + "/" + key).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << key;
  }
  auto loaded = LoadCa(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->root.der(), pki.ca.root.der());
  // Certify with the loaded CA; the earlier collateral verifies the new platform.
  auto cert = Certify(*loaded, pki.attestation_key, "platform-2", 5, At(kStart), 30);
  ASSERT_TRUE(cert.ok());
  auto signer = QuoteSigner::Create(pki.attestation_key, {*cert, loaded->platform_ca});
  ASSERT_TRUE(signer.ok());
  auto r = VerifySoftEvidence(signer->Sign(SampleBody()).value(), pki.Collateral(), pki.ca.root, At(kNow));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  // A revocation survives a save/load.
  ASSERT_TRUE(Revoke(*loaded, *cert, At(kStart)).ok());
  ASSERT_TRUE(SaveCa(*loaded, dir).ok());
  auto again = LoadCa(dir);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->revoked.size(), 1u);
  EXPECT_TRUE(again->platform_crl.IsRevoked(*cert));
  // A private key others can read is refused.
  ASSERT_EQ(::chmod((dir + "/root.key").c_str(), 0644), 0);
  EXPECT_REFUSED(LoadCa(dir), Code::kPermissionDenied, "chmod 600");
  EXPECT_REFUSED(LoadCa(dir + "-missing"), Code::kNotFound, "confide provision init");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace confide::attestation::soft
