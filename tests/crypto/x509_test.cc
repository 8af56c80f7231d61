#include "confide/x509.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto/test_pki.h"

namespace confide::x509 {
namespace {

using testpki::T;

// An SGX-PCK-like extension: SEQUENCE of (OID, value) pairs, one of them a nested SEQUENCE.
constexpr const char* kExtOid = "1.2.840.113741.1.13.1";
const Bytes kPpid = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

Bytes NestedExtensionValue() {
  using namespace testpki;
  return DerSequence({
      DerSequence({DerOid("1.2.840.113741.1.13.1.1"), DerOctetString(kPpid)}),
      DerSequence({DerOid("1.2.840.113741.1.13.1.2"),
                   DerSequence({DerSequence({DerOid("1.2.840.113741.1.13.1.2.1"), DerInteger(13)}),
                                DerSequence({DerOid("1.2.840.113741.1.13.1.2.18"), DerInteger(70000)})})}),
      DerSequence({DerOid("1.2.840.113741.1.13.1.4"), DerOctetString(Bytes{0x00, 0x90, 0x6e, 0xd5, 0x00, 0x00})}),
  });
}

class X509Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto h = testpki::BuildHierarchy({{kExtOid, NestedExtensionValue(), false}});
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    pki = new testpki::Hierarchy(*h);
  }
  static void TearDownTestSuite() { delete pki; }

  static Status Verify(UnixTime at, std::vector<Crl> crls = {}, bool require_crls = false) {
    return VerifyChain(pki->leaf, {pki->intermediate}, {pki->root}, ChainOptions{at, std::move(crls), require_crls});
  }
  // A CRL of the intermediate CA that revokes `serials`.
  static Crl IntermediateCrlRevoking(std::vector<Bytes> serials, UnixTime next = T("2025-06-01T00:00:00Z")) {
    auto crl = testpki::IssueCrl({T("2024-06-01T00:00:00Z"), next, std::move(serials)}, pki->intermediate,
                                 pki->intermediate_key);
    EXPECT_TRUE(crl.ok()) << crl.status().ToString();
    return *crl;
  }
  static testpki::Hierarchy* pki;
};
testpki::Hierarchy* X509Test::pki = nullptr;

const UnixTime kInside = T("2025-01-01T00:00:00Z");

TEST_F(X509Test, ChainVerifiesInsideEveryWindow) {
  EXPECT_TRUE(Verify(kInside).ok()) << Verify(kInside).ToString();
  EXPECT_TRUE(Verify(T("2024-01-01T00:00:00Z")).ok());  // first second of the leaf
  EXPECT_TRUE(Verify(kInside, {pki->root_crl, pki->intermediate_crl}).ok());
  EXPECT_TRUE(Verify(kInside, {pki->root_crl, pki->intermediate_crl}, true).ok());
  // Intermediates may come in any order, mixed with unrelated certificates.
  EXPECT_TRUE(VerifyChain(pki->leaf, {pki->leaf, pki->root, pki->intermediate}, {pki->root}, {kInside, {}, false}).ok());
}

TEST_F(X509Test, ExpiredLeafAtALaterTime) {
  Status s = Verify(T("2027-03-01T00:00:00Z"));
  EXPECT_EQ(s.code(), Code::kExpired) << s.ToString();
  EXPECT_NE(s.message().find("confide test leaf"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("2027-03-01T00:00:00Z"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("2026-01-01T00:00:00Z"), std::string::npos) << s.message();
  // After the intermediate's window too: still expired, whichever certificate is named.
  EXPECT_EQ(Verify(T("2036-01-01T00:00:00Z")).code(), Code::kExpired);
}

TEST_F(X509Test, NotYetValidIsExpired) {
  Status s = Verify(T("2023-12-31T23:59:59Z"));
  EXPECT_EQ(s.code(), Code::kExpired) << s.ToString();
  EXPECT_NE(s.message().find("confide test leaf"), std::string::npos) << s.message();
  EXPECT_EQ(Verify(T("2019-06-01T00:00:00Z")).code(), Code::kExpired);
}

TEST_F(X509Test, RevokedLeafSerial) {
  Crl crl = IntermediateCrlRevoking({Bytes{0x77}, pki->leaf.SerialNumber()});
  EXPECT_TRUE(crl.IsRevoked(pki->leaf));
  EXPECT_FALSE(crl.IsRevoked(Bytes{0x10, 0x01}));
  Status s = Verify(kInside, {pki->root_crl, crl});
  EXPECT_EQ(s.code(), Code::kRevoked) << s.ToString();
  EXPECT_NE(s.message().find("confide test leaf"), std::string::npos) << s.message();
  // A CRL revoking other serials only does not affect the chain.
  EXPECT_TRUE(Verify(kInside, {IntermediateCrlRevoking({Bytes{0x10, 0x01}})}).ok());
}

TEST_F(X509Test, RevokedIntermediateByRootCrl) {
  auto crl = testpki::IssueCrl({T("2024-06-01T00:00:00Z"), T("2025-06-01T00:00:00Z"), {pki->intermediate.SerialNumber()}},
                               pki->root, pki->root_key);
  ASSERT_TRUE(crl.ok());
  Status s = Verify(kInside, {*crl, pki->intermediate_crl});
  EXPECT_EQ(s.code(), Code::kRevoked) << s.ToString();
  EXPECT_NE(s.message().find("confide test intermediate"), std::string::npos) << s.message();
}

TEST_F(X509Test, CrlOutsideItsWindowIsExpired) {
  // The intermediate CRL's nextUpdate (2025-06-01) has passed at 2025-09-01.
  Status s = Verify(T("2025-09-01T00:00:00Z"), {pki->intermediate_crl});
  EXPECT_EQ(s.code(), Code::kExpired) << s.ToString();
  EXPECT_NE(s.message().find("CRL"), std::string::npos) << s.message();
  // ... and its thisUpdate (2024-06-01) is after 2024-03-01.
  EXPECT_EQ(Verify(T("2024-03-01T00:00:00Z"), {pki->intermediate_crl}).code(), Code::kExpired);
}

TEST_F(X509Test, CrlSignedByTheWrongKeyIsRefused) {
  auto stranger = crypto::EcGenerate(crypto::Curve::kP256);
  ASSERT_TRUE(stranger.ok());
  // Right issuer name, wrong signing key.
  auto forged = testpki::IssueCrl({T("2024-06-01T00:00:00Z"), T("2025-06-01T00:00:00Z"), {}}, pki->intermediate, *stranger);
  ASSERT_TRUE(forged.ok());
  EXPECT_EQ(forged->VerifySignedBy(pki->intermediate).code(), Code::kVerificationFailed);
  EXPECT_FALSE(Verify(kInside, {*forged}).ok());
}

TEST_F(X509Test, MissingCrlWhenEveryIssuerNeedsOne) {
  Status s = Verify(kInside, {pki->intermediate_crl}, true);
  EXPECT_EQ(s.code(), Code::kVerificationFailed) << s.ToString();
  EXPECT_NE(s.message().find("CRL"), std::string::npos) << s.message();
  // Without the requirement, a CA without a CRL here is accepted.
  EXPECT_TRUE(Verify(kInside, {pki->intermediate_crl}).ok());
}

TEST_F(X509Test, WrongRootIsRefused) {
  // Same subject name as the real root, different key: a look-alike must not be trusted.
  auto fake = testpki::BuildHierarchy({}, "confide test");
  ASSERT_TRUE(fake.ok());
  Status s = VerifyChain(pki->leaf, {pki->intermediate}, {fake->root}, {kInside, {}, false});
  EXPECT_EQ(s.code(), Code::kVerificationFailed) << s.ToString();
  EXPECT_NE(s.message().find("confide test leaf"), std::string::npos) << s.message();
  auto other = testpki::BuildHierarchy({}, "other");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(VerifyChain(pki->leaf, {pki->intermediate}, {other->root}, {kInside, {}, false}).code(),
            Code::kVerificationFailed);
  // The real root smuggled in as an "intermediate" does not make it trusted.
  EXPECT_EQ(VerifyChain(pki->leaf, {pki->intermediate, pki->root}, {other->root}, {kInside, {}, false}).code(),
            Code::kVerificationFailed);
  EXPECT_EQ(VerifyChain(pki->leaf, {pki->intermediate}, {}, {kInside, {}, false}).code(), Code::kInvalidArgument);
}

TEST_F(X509Test, MissingIntermediateIsRefused) {
  Status s = VerifyChain(pki->leaf, {}, {pki->root}, {kInside, {}, false});
  EXPECT_EQ(s.code(), Code::kVerificationFailed) << s.ToString();
  EXPECT_NE(s.message().find("issuer"), std::string::npos) << s.message();
  // The intermediate itself verifies directly against the root.
  EXPECT_TRUE(VerifyChain(pki->intermediate, {}, {pki->root}, {kInside, {}, false}).ok());
}

TEST_F(X509Test, AccessorsMatchWhatWasIssued) {
  const Certificate& leaf = pki->leaf;
  EXPECT_EQ(leaf.SubjectName(), "CN=confide test leaf,O=confide test");
  EXPECT_EQ(leaf.IssuerName(), pki->intermediate.SubjectName());
  EXPECT_EQ(pki->root.SubjectName(), pki->root.IssuerName());
  EXPECT_EQ(leaf.SerialNumber(), (Bytes{0x10, 0x00}));
  EXPECT_EQ(leaf.NotBefore(), T("2024-01-01T00:00:00Z"));
  EXPECT_EQ(leaf.NotAfter(), T("2026-01-01T00:00:00Z"));
  EXPECT_TRUE(pki->root.IsSelfIssued());
  EXPECT_FALSE(leaf.IsSelfIssued());
  EXPECT_EQ(*leaf.PublicKey().PublicDer(), *pki->leaf_key.PublicDer());
  EXPECT_EQ(pki->root.PublicKey().EcCurve(), crypto::Curve::kP384);
  EXPECT_TRUE(leaf.VerifySignedBy(pki->intermediate).ok());
  EXPECT_TRUE(pki->intermediate.VerifySignedBy(pki->root).ok());
  Status s = leaf.VerifySignedBy(pki->root);
  EXPECT_EQ(s.code(), Code::kVerificationFailed);
  EXPECT_NE(s.message().find("not signed by"), std::string::npos) << s.message();
}

TEST_F(X509Test, FingerprintIsSha256OfDerAndMatchesOpenSsl) {
  for (const Certificate* c : {&pki->root, &pki->intermediate, &pki->leaf}) {
    Bytes fp = c->Sha256Fingerprint();
    ASSERT_EQ(fp.size(), 32u);
    EXPECT_EQ(fp, crypto::Sha256(c->der()));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    ASSERT_EQ(X509_digest(c->get(), EVP_sha256(), md, &len), 1);
    EXPECT_EQ(fp, Bytes(md, md + len));
  }
  EXPECT_NE(pki->root.Sha256Fingerprint(), pki->leaf.Sha256Fingerprint());
}

TEST_F(X509Test, ExtensionReturnsNestedDerThatDerReaderWalks) {
  auto ext = pki->leaf.Extension(kExtOid);
  ASSERT_TRUE(ext.ok()) << ext.status().ToString();
  EXPECT_EQ(*ext, NestedExtensionValue());

  DerReader top(*ext);
  auto seq = top.Expect(0x30, "extension");
  ASSERT_TRUE(seq.ok());
  EXPECT_TRUE(top.empty());
  DerReader items(seq->contents);

  auto ppid = items.Expect(0x30, "ppid entry");
  ASSERT_TRUE(ppid.ok());
  DerReader ppid_r(ppid->contents);
  auto oid = ppid_r.Expect(0x06, "oid");
  ASSERT_TRUE(oid.ok());
  EXPECT_EQ(*OidToString(oid->contents), "1.2.840.113741.1.13.1.1");
  auto value = ppid_r.Expect(0x04, "ppid");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(Bytes(value->contents.begin(), value->contents.end()), kPpid);

  auto tcb = items.Expect(0x30, "tcb entry");
  ASSERT_TRUE(tcb.ok());
  DerReader tcb_r(tcb->contents);
  EXPECT_EQ(*OidToString(tcb_r.Expect(0x06, "oid")->contents), "1.2.840.113741.1.13.1.2");
  auto comps = tcb_r.Expect(0x30, "components");
  ASSERT_TRUE(comps.ok());
  DerReader comps_r(comps->contents);
  std::vector<std::pair<std::string, uint64_t>> got;
  while (!comps_r.empty()) {
    auto c = comps_r.Expect(0x30, "component");
    ASSERT_TRUE(c.ok());
    DerReader cr(c->contents);
    auto o = cr.Expect(0x06, "oid");
    auto i = cr.Expect(0x02, "value");
    ASSERT_TRUE(o.ok() && i.ok());
    got.emplace_back(*OidToString(o->contents), *DerUnsigned(i->contents));
  }
  EXPECT_EQ(got, (std::vector<std::pair<std::string, uint64_t>>{{"1.2.840.113741.1.13.1.2.1", 13},
                                                                {"1.2.840.113741.1.13.1.2.18", 70000}}));
  auto fmspc = items.Expect(0x30, "fmspc entry");
  ASSERT_TRUE(fmspc.ok());
  EXPECT_TRUE(items.empty());
  // Expecting the wrong tag is refused and names what was expected.
  DerReader again(*ext);
  auto wrong = again.Expect(0x04, "PCK extension");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("PCK extension"), std::string::npos) << wrong.status().message();
  EXPECT_TRUE(again.Expect(0x30, "retry").ok());  // the failed Expect consumed nothing
}

TEST_F(X509Test, MissingExtensionIsNotFound) {
  auto r = pki->leaf.Extension("1.2.3.4.5");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find("1.2.3.4.5"), std::string::npos) << r.status().message();
  // Standard extensions are reachable by OID too: basicConstraints of a CA.
  auto bc = pki->intermediate.Extension("2.5.29.19");
  ASSERT_TRUE(bc.ok());
  EXPECT_EQ(*bc, (Bytes{0x30, 0x03, 0x01, 0x01, 0xff}));
}

TEST_F(X509Test, ParseAllPemBundleDerAndErrors) {
  std::string bundle = testpki::CertificatePem(pki->leaf) + testpki::CertificatePem(pki->intermediate) +
                       "some text between blocks\n" + testpki::CertificatePem(pki->root);
  auto all = Certificate::ParseAll(AsBytes(bundle));
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].der(), pki->leaf.der());
  EXPECT_EQ((*all)[1].der(), pki->intermediate.der());
  EXPECT_EQ((*all)[2].der(), pki->root.der());
  auto first = Certificate::FromPem(AsBytes(bundle));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->der(), pki->leaf.der());
  auto der = Certificate::ParseAll(pki->root.der());
  ASSERT_TRUE(der.ok());
  ASSERT_EQ(der->size(), 1u);
  EXPECT_EQ((*der)[0].SubjectName(), pki->root.SubjectName());

  EXPECT_EQ(Certificate::ParseAll(Bytes{}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Certificate::ParseAll(AsBytes("hello")).status().code(), Code::kInvalidArgument);
  auto no_block = Certificate::ParseAll(AsBytes("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"));
  EXPECT_EQ(no_block.status().code(), Code::kInvalidArgument);
  // A damaged second block is reported, not silently dropped.
  std::string damaged = testpki::CertificatePem(pki->leaf) +
                        "-----BEGIN CERTIFICATE-----\nMIIB!!!!not base64\n-----END CERTIFICATE-----\n";
  auto bad = Certificate::ParseAll(AsBytes(damaged));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("block 2"), std::string::npos) << bad.status().message();
  Bytes trailing = pki->leaf.der();
  trailing.push_back(0);
  auto t = Certificate::FromDer(trailing);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("after the DER certificate"), std::string::npos) << t.status().message();
  Bytes truncated(pki->leaf.der().begin(), pki->leaf.der().end() - 1);
  EXPECT_EQ(Certificate::FromDer(truncated).status().code(), Code::kInvalidArgument);
}

TEST_F(X509Test, CrlParsingAndAccessors) {
  Crl crl = IntermediateCrlRevoking({pki->leaf.SerialNumber(), Bytes{0x80, 0x01}});
  for (const Bytes& input : {testpki::CrlDer(crl), [&] {
         std::string pem = testpki::CrlPem(crl);
         return Bytes(pem.begin(), pem.end());
       }()}) {
    auto parsed = Crl::Parse(input);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(parsed->IssuerName(), pki->intermediate.SubjectName());
    EXPECT_EQ(parsed->ThisUpdate(), T("2024-06-01T00:00:00Z"));
    ASSERT_TRUE(parsed->NextUpdate().has_value());
    EXPECT_EQ(*parsed->NextUpdate(), T("2025-06-01T00:00:00Z"));
    EXPECT_TRUE(parsed->IsRevoked(pki->leaf));
    EXPECT_TRUE(parsed->IsRevoked(Bytes{0x80, 0x01}));  // high bit set: still a positive serial
    EXPECT_FALSE(parsed->IsRevoked(Bytes{0x01}));
    EXPECT_FALSE(parsed->IsRevoked(pki->intermediate));
    EXPECT_TRUE(parsed->VerifySignedBy(pki->intermediate).ok());
    EXPECT_EQ(parsed->VerifySignedBy(pki->root).code(), Code::kVerificationFailed);
  }
  auto no_next = testpki::IssueCrl({T("2024-06-01T00:00:00Z"), std::nullopt, {}}, pki->root, pki->root_key);
  ASSERT_TRUE(no_next.ok());
  EXPECT_FALSE(no_next->NextUpdate().has_value());
  EXPECT_EQ(Crl::Parse(Bytes{}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Crl::Parse(Bytes{0x30, 0x03, 0x02, 0x01, 0x00}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Crl::Parse(AsBytes("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n")).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Crl::Parse(pki->leaf.der()).status().code(), Code::kInvalidArgument);
}

TEST_F(X509Test, RsaSignedRootVerifies) {
  // Chains are not limited to ECDSA: an RSA (PKCS#1 v1.5, SHA-384) self-signed root works too.
  auto rsa = crypto::RsaGenerate(2048, 65537);
  ASSERT_TRUE(rsa.ok());
  testpki::CertSpec spec{"pss root", "confide test", {0x05}, T("2020-01-01T00:00:00Z"), T("2040-01-01T00:00:00Z"),
                         true, {}, crypto::HashAlg::kSha384};
  auto root = testpki::IssueCertificate(spec, *rsa, nullptr, *rsa);
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_TRUE(root->VerifySignedBy(*root).ok());
  EXPECT_TRUE(VerifyChain(*root, {}, {*root}, {kInside, {}, false}).ok());
  EXPECT_EQ(pki->leaf.VerifySignedBy(*root).code(), Code::kVerificationFailed);
}

}  // namespace
}  // namespace confide::x509
