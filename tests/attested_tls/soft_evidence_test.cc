// Attested TLS over real soft quotes: a provisioning CA, a platform's QuoteSigner and the
// attestation registry's verifier with an appraisal policy, as a relying party runs it (the
// daemon and the enclave are replaced by the signer they use).
#include <gtest/gtest.h>

#include "confide/attestation/policy.h"
#include "confide/attestation/registry.h"
#include "confide/attestation/soft.h"
#include "confide/attested_tls.h"

namespace confide::attested_tls {
namespace {

namespace soft = attestation::soft;

struct SoftPlatform {
  soft::Ca ca;
  std::shared_ptr<soft::QuoteSigner> signer;
  Bytes collateral;
  Bytes root_pem;
  platform_services::Identity enclave;

  explicit SoftPlatform(bool development) {
    soft::CaOptions o;
    o.development = development;
    o.not_before = Now() - std::chrono::hours(1);
    ca = *soft::CreateCa(o);
    crypto::PKey key = *crypto::EcGenerate(crypto::Curve::kP256);
    x509::Certificate cert = *soft::Certify(ca, key, "test platform", 2, Now() - std::chrono::hours(1), 30);
    signer = std::make_shared<soft::QuoteSigner>(*soft::QuoteSigner::Create(key, {cert, ca.platform_ca}));
    soft::TcbInfo info;
    info.issue_date = Now() - std::chrono::hours(1);
    info.next_update = Now() + std::chrono::hours(24 * 7);
    info.levels = {{2, attestation::TcbStatus::kUpToDate, {}}};
    collateral = *soft::CaCollateral(ca, info);
    std::string pem = *soft::CertificatePem(ca.root);
    root_pem.assign(pem.begin(), pem.end());
    enclave.mrenclave.fill(0x3e);
    enclave.mrsigner.fill(0x51);
    enclave.product_id = 4;
    enclave.security_version = 2;
  }
  EvidenceSource Source(bool debug = false) const {
    return [this, debug](const ReportData& rd) {
      platform_services::ReportBody body;
      body.identity = enclave;
      body.identity.debug = debug;
      if (debug) body.flags |= platform_services::kReportFlagDebug;
      body.report_data = rd;
      return signer->Sign(body);
    };
  }
  std::shared_ptr<VerifierOptions> Options(std::string policy_json) const {
    auto o = std::make_shared<VerifierOptions>();
    attestation::VerifyInputs in;
    in.collateral = collateral;
    in.root = root_pem;
    in.at = Now();
    o->verify_evidence = [in](std::string_view f, ByteSpan e) {
      return attestation::Registry::Default().Verify(f, e, in);
    };
    auto policy = attestation::Policy::Parse(AsBytes(policy_json));
    EXPECT_TRUE(policy.ok()) << policy.status().ToString();
    o->policy = [p = *policy](const attestation::VerificationResult& r) { return p.Evaluate(r); };
    o->formats = {"soft"};
    return o;
  }
};

std::string PolicyFor(const SoftPlatform& p, bool allow_development = false) {
  return R"({"allow_development": )" + std::string(allow_development ? "true" : "false") +
         R"(, "claims": {"mrenclave": {"equals": ")" + HexEncode(p.enclave.mrenclave) +
         R"("}, "mrsigner": {"equals": ")" + HexEncode(p.enclave.mrsigner) + R"("}}})";
}

TEST(SoftAttestedTls, ProductionPlatformVerifiesAndPolicyHolds) {
  SoftPlatform p(false);
  auto cert = CreateAttestedCertificate(p.Source());
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  auto r = VerifyAttestedCertificate(cert->certificate, *p.Options(PolicyFor(p)));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->claims.format, "soft");
  EXPECT_EQ(r->claims.identity, Bytes(p.enclave.mrenclave.begin(), p.enclave.mrenclave.end()));
  EXPECT_EQ(r->claims.security_version, 2u);
  EXPECT_EQ(r->tcb_status, attestation::TcbStatus::kUpToDate);
  std::string text = DescribeClaims(*r);
  EXPECT_NE(text.find("mrenclave:        " + HexEncode(p.enclave.mrenclave)), std::string::npos) << text;
  EXPECT_NE(text.find("development:      no"), std::string::npos) << text;
}

TEST(SoftAttestedTls, DebugEnclaveFailsAProductionPolicy) {
  SoftPlatform p(false);
  auto cert = CreateAttestedCertificate(p.Source(/*debug=*/true));
  ASSERT_TRUE(cert.ok());
  auto r = VerifyAttestedCertificate(cert->certificate, *p.Options(PolicyFor(p)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPolicyViolation);
  EXPECT_NE(r.status().message().find("debug"), std::string::npos) << r.status().message();
}

TEST(SoftAttestedTls, DevelopmentPlatformNeedsExplicitConsent) {
  SoftPlatform p(true);
  auto cert = CreateAttestedCertificate(p.Source());
  ASSERT_TRUE(cert.ok());
  auto refused = VerifyAttestedCertificate(cert->certificate, *p.Options(PolicyFor(p)));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kPolicyViolation);
  EXPECT_NE(refused.status().message().find("development"), std::string::npos) << refused.status().message();
  EXPECT_TRUE(VerifyAttestedCertificate(cert->certificate, *p.Options(PolicyFor(p, true))).ok());
}

TEST(SoftAttestedTls, EvidenceFromAnotherCaIsRefused) {
  SoftPlatform p(false), other(false);
  auto cert = CreateAttestedCertificate(other.Source());
  ASSERT_TRUE(cert.ok());
  auto r = VerifyAttestedCertificate(cert->certificate, *p.Options(PolicyFor(p)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kVerificationFailed);
  EXPECT_NE(r.status().message().find("the peer's soft evidence (extension 2.23.133.5.4.9) is refused"),
            std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace confide::attested_tls
