// Real Intel DCAP quotes (tests/vectors/phala-dcap-qvl, see its README for provenance and
// expected results) verified against their recorded collateral, plus tampering, time-window,
// wrong-root and truncation negatives.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "confide/attestation/dcap.h"

namespace confide::attestation::dcap {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kDir = std::string(CONFIDE_TEST_VECTORS) + "/phala-dcap-qvl/";

Bytes Load(const std::string& name) {
  auto b = ReadFile(kDir + name);
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  return b.ok() ? *b : Bytes{};
}

Collateral LoadCollateral(const std::string& name) {
  auto c = ParseCollateral(Load(name));
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : Collateral{};
}

UnixTime T(const char* text) {
  auto t = ParseRfc3339(text);
  EXPECT_TRUE(t.ok()) << text;
  return t.ok() ? *t : UnixTime{};
}

// Windows from the vectors README: latest issue/thisUpdate/notBefore .. earliest nextUpdate.
constexpr const char* kSgxStart = "2025-06-19T10:56:11Z";
constexpr const char* kSgxEnd = "2025-07-19T10:01:18Z";
constexpr const char* kSgxMid = "2025-07-01T12:00:00Z";
constexpr const char* kTdxStart = "2025-06-19T10:32:27Z";
constexpr const char* kTdxEnd = "2025-07-19T10:00:35Z";
constexpr const char* kTdxMid = "2025-07-01T12:00:00Z";
constexpr const char* kOutdatedMid = "2026-03-01T00:00:00Z";

void ExpectError(const Result<VerificationResult>& r, Code code, const std::string& fragment) {
  ASSERT_FALSE(r.ok()) << "expected refusal containing '" << fragment << "'";
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr(fragment));
}

// ---------------------------------------------------------------- parsing
TEST(DcapQuoteParse, SgxV3) {
  auto q = ParseQuote(Load("sgx_quote"));
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->header.version, 3);
  EXPECT_EQ(q->header.tee_type, kTeeTypeSgx);
  EXPECT_EQ(q->body_type, BodyType::kSgxReport);
  EXPECT_EQ(q->outer_certification_type, 5);
  EXPECT_EQ(q->trailing_bytes, 0u);
  EXPECT_EQ(q->signed_data.size(), 48u + 384u);
  EXPECT_EQ(q->sgx.attributes[0], 0x05);
  EXPECT_FALSE(q->sgx.debug());
  std::string rd(q->sgx.report_data.begin(), q->sgx.report_data.begin() + 13);
  EXPECT_EQ(rd, "Hello, world!");
  EXPECT_EQ(q->qe_auth_data.size(), 32u);
  EXPECT_THAT(ToString(q->pck_chain_pem), HasSubstr("-----BEGIN CERTIFICATE-----"));
}

TEST(DcapQuoteParse, TdxV4WithTrailingPadding) {
  auto q = ParseQuote(Load("tdx_quote"));
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->header.version, 4);
  EXPECT_EQ(q->body_type, BodyType::kTdReport10);
  EXPECT_EQ(q->outer_certification_type, 6);
  EXPECT_EQ(q->trailing_bytes, 70u);
  EXPECT_EQ(q->signed_data.size(), 48u + 584u);
  EXPECT_FALSE(q->td.is_v15);
  EXPECT_EQ(q->td.tee_tcb_svn[1], 1);
}

TEST(DcapQuoteParse, TdxV5Body15) {
  auto q = ParseQuote(Load("tdx_quote_outdated"));
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->header.version, 5);
  EXPECT_EQ(q->body_type, BodyType::kTdReport15);
  EXPECT_TRUE(q->td.is_v15);
  EXPECT_EQ(q->signed_data.size(), 48u + 6u + 648u);
  EXPECT_EQ(q->trailing_bytes, 0u);
  EXPECT_EQ(q->td.tee_tcb_svn2[0], 0x0d);
}

TEST(DcapQuoteParse, EveryPrefixIsRefusedWithoutCrash) {
  for (const char* name : {"sgx_quote", "tdx_quote", "tdx_quote_outdated"}) {
    Bytes q = Load(name);
    auto full = ParseQuote(q);
    ASSERT_TRUE(full.ok());
    // The auth data ends before the padding in tdx_quote; anything shorter must fail.
    size_t needed = q.size() - full->trailing_bytes;
    for (size_t n = 0; n < needed; ++n) {
      auto r = ParseQuote(ByteSpan(q.data(), n));
      ASSERT_FALSE(r.ok()) << name << " prefix " << n << " parsed";
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << name << " prefix " << n << ": " << r.status().ToString();
    }
  }
}

TEST(DcapQuoteParse, RejectsBadHeaderFields) {
  Bytes q = Load("sgx_quote");
  Bytes v = q;
  v[0] = 2;
  EXPECT_EQ(ParseQuote(v).status().code(), Code::kUnsupported);
  v = q;
  v[2] = 3;  // ECDSA P-384 attestation key
  EXPECT_THAT(ParseQuote(v).status().message(), HasSubstr("attestation key type 3"));
  v = q;
  v[4] = 0x81;  // v3 never carries TDX
  EXPECT_EQ(ParseQuote(v).status().code(), Code::kUnsupported);
  v = q;
  v[4] = 0x42;
  EXPECT_THAT(ParseQuote(v).status().message(), HasSubstr("neither SGX"));
}

TEST(DcapQuoteParse, RejectsInconsistentLengths) {
  Bytes q = Load("sgx_quote");
  const size_t auth_size_at = 48 + 384;
  Bytes v = q;
  v[auth_size_at] += 1;  // auth data size one past the end
  EXPECT_EQ(ParseQuote(v).status().code(), Code::kInvalidArgument);
  v = q;
  v[auth_size_at] -= 1;  // auth data one byte short of its contents
  EXPECT_EQ(ParseQuote(v).status().code(), Code::kInvalidArgument);
  v = q;
  v[auth_size_at + 3] = 0xff;  // 4 GB auth data
  EXPECT_EQ(ParseQuote(v).status().code(), Code::kInvalidArgument);
  // v5 body size that disagrees with the body type.
  Bytes t = Load("tdx_quote_outdated");
  t[50] = 0x49;
  EXPECT_THAT(ParseQuote(t).status().message(), HasSubstr("body size"));
  t = Load("tdx_quote_outdated");
  t[48] = 1;  // SGX body type (with its size) in a TDX quote
  t[50] = 0x80;
  t[51] = 0x01;
  EXPECT_THAT(ParseQuote(t).status().message(), HasSubstr("contradicts"));
  t = Load("tdx_quote_outdated");
  t[48] = 9;
  EXPECT_EQ(ParseQuote(t).status().code(), Code::kUnsupported);
}

TEST(DcapQuoteParse, RejectsUnsupportedCertificationDataType) {
  Bytes t = Load("tdx_quote");
  const size_t cert_type_at = 48 + 584 + 4 + 128;
  ASSERT_EQ(t[cert_type_at], 6);
  t[cert_type_at] = 5;  // v4 with a bare PCK chain: no QE report
  auto r = ParseQuote(t);
  EXPECT_EQ(r.status().code(), Code::kUnsupported);
  EXPECT_THAT(r.status().message(), HasSubstr("type 5"));
}

// ---------------------------------------------------------------- collateral
TEST(DcapCollateral, ParsesAndKeepsExactSignedText) {
  Collateral c = LoadCollateral("sgx_quote_collateral.json");
  EXPECT_EQ(c.tcb_info.rfind("{\"id\":\"SGX\",\"version\":3,", 0), 0u);
  EXPECT_EQ(c.tcb_info_signature.size(), 64u);
  EXPECT_EQ(c.qe_identity_signature.size(), 64u);
  auto tcb = ParseTcbInfo(c.tcb_info);
  ASSERT_TRUE(tcb.ok()) << tcb.status().ToString();
  EXPECT_EQ(HexEncode(tcb->fmspc), "00a067110000");
  EXPECT_EQ(tcb->levels.front().status, TcbStatus::kSWHardeningNeeded);
  auto qe = ParseEnclaveIdentity(c.qe_identity);
  ASSERT_TRUE(qe.ok()) << qe.status().ToString();
  EXPECT_EQ(qe->id, "QE");
  EXPECT_EQ(qe->isv_prod_id, 1u);
}

TEST(DcapCollateral, TdxTcbInfoHasModuleIdentities) {
  Collateral c = LoadCollateral("tdx_quote_collateral.json");
  auto tcb = ParseTcbInfo(c.tcb_info);
  ASSERT_TRUE(tcb.ok()) << tcb.status().ToString();
  EXPECT_EQ(tcb->id, "TDX");
  ASSERT_TRUE(tcb->tdx_module.has_value());
  ASSERT_EQ(tcb->tdx_module_identities.size(), 2u);
  EXPECT_EQ(tcb->tdx_module_identities[1].id, "TDX_01");
  ASSERT_TRUE(tcb->levels[0].tdx_components.has_value());
}

TEST(DcapCollateral, RejectsMalformedJson) {
  EXPECT_EQ(ParseCollateral(AsBytes("{")).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseCollateral(AsBytes("[]")).status().code(), Code::kInvalidArgument);
  auto r = ParseCollateral(AsBytes(R"({"pck_crl_issuer_chain":"x"})"));
  EXPECT_THAT(r.status().message(), HasSubstr("root_ca_crl"));
  std::string text = ToString(Load("sgx_quote_collateral.json"));
  std::string bad = text;
  bad.replace(bad.find("\"tcb_info_signature\": \"") + 23, 2, "zz");
  EXPECT_THAT(ParseCollateral(AsBytes(bad)).status().message(), HasSubstr("tcb_info_signature"));
  EXPECT_EQ(ParseTcbInfo(R"({"version":3,"id":"SGX"})").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseTcbInfo(R"({"version":4})").status().code(), Code::kUnsupported);
  EXPECT_THAT(ParseEnclaveIdentity(R"({"version":2,"id":7})").status().message(), HasSubstr("'id' must be a string"));
}

TEST(DcapCollateral, EveryPrefixIsRefusedWithoutCrash) {
  Bytes c = Load("sgx_quote_collateral.json");
  for (size_t n = 0; n < c.size(); n += 7) {
    auto r = ParseCollateral(ByteSpan(c.data(), n));
    EXPECT_FALSE(r.ok()) << n;
  }
  Collateral full = LoadCollateral("tdx_quote_collateral.json");
  for (size_t n = 0; n < full.tcb_info.size(); n += 3) EXPECT_FALSE(ParseTcbInfo(full.tcb_info.substr(0, n)).ok()) << n;
  for (size_t n = 0; n < full.qe_identity.size(); ++n)
    EXPECT_FALSE(ParseEnclaveIdentity(full.qe_identity.substr(0, n)).ok()) << n;
}

// ---------------------------------------------------------------- PCK extension
TEST(DcapPck, ExtensionOfTheRealPckCertificate) {
  auto q = ParseQuote(Load("sgx_quote"));
  ASSERT_TRUE(q.ok());
  auto certs = x509::Certificate::ParseAll(q->pck_chain_pem);
  ASSERT_TRUE(certs.ok()) << certs.status().ToString();
  auto ext = certs->front().Extension(std::string(kSgxExtensionOid));
  ASSERT_TRUE(ext.ok()) << ext.status().ToString();
  auto pck = ParsePckExtension(*ext);
  ASSERT_TRUE(pck.ok()) << pck.status().ToString();
  EXPECT_EQ(HexEncode(pck->fmspc), "00a067110000");
  EXPECT_EQ(HexEncode(pck->pce_id), "0000");
  EXPECT_EQ(pck->ppid.size(), 16u);
  EXPECT_EQ(pck->cpu_svn.size(), 16u);
  EXPECT_GE(pck->pce_svn, 13u);
  // Every truncation of the extension is refused.
  for (size_t n = 0; n < ext->size(); ++n) EXPECT_FALSE(ParsePckExtension(ByteSpan(ext->data(), n)).ok()) << n;
}

// ---------------------------------------------------------------- the vectors
TEST(DcapVectors, SgxQuoteIsConfigurationAndSWHardeningNeeded) {
  Collateral c = LoadCollateral("sgx_quote_collateral.json");
  for (const char* at : {kSgxStart, kSgxMid, kSgxEnd}) {
    auto r = VerifyQuote(Load("sgx_quote"), c, T(at));
    ASSERT_TRUE(r.ok()) << at << ": " << r.status().ToString();
    EXPECT_EQ(r->tcb_status, TcbStatus::kConfigurationAndSWHardeningNeeded);
    EXPECT_THAT(r->advisory_ids, ElementsAre("INTEL-SA-00289", "INTEL-SA-00615"));
    EXPECT_FALSE(r->collateral_expired);
    const Claims& cl = r->claims;
    EXPECT_EQ(cl.format, "sgx-ecdsa");
    EXPECT_FALSE(cl.debug);
    EXPECT_EQ(cl.platform_id, "00a067110000");
    EXPECT_EQ(cl.extra["fmspc"], "00a067110000");
    EXPECT_EQ(cl.extra["debug"], false);
    EXPECT_EQ(cl.extra["report_data"].get<std::string>().substr(0, 26), HexEncode(AsBytes("Hello, world!")));
    EXPECT_EQ(cl.extra["mrenclave"], HexEncode(cl.identity));
    EXPECT_EQ(cl.extra["mrsigner"], HexEncode(cl.signer));
    EXPECT_EQ(cl.extra["isv_prod_id"], cl.product_id);
    EXPECT_EQ(cl.extra["isv_svn"], cl.security_version);
    EXPECT_EQ(cl.extra.size(), 7u);
  }
}

TEST(DcapVectors, TdxQuoteIsUpToDate) {
  Collateral c = LoadCollateral("tdx_quote_collateral.json");
  for (const char* at : {kTdxStart, kTdxMid, kTdxEnd}) {
    auto r = VerifyQuote(Load("tdx_quote"), c, T(at));
    ASSERT_TRUE(r.ok()) << at << ": " << r.status().ToString();
    EXPECT_EQ(r->tcb_status, TcbStatus::kUpToDate);
    EXPECT_TRUE(r->advisory_ids.empty());
    const Claims& cl = r->claims;
    EXPECT_EQ(cl.format, "tdx");
    EXPECT_EQ(cl.platform_id, "b0c06f000000");
    EXPECT_EQ(cl.extra["tee_tcb_svn"], "06010300000000000000000000000000");
    EXPECT_EQ(cl.extra["td_attributes"], "0000001000000000");
    EXPECT_EQ(cl.extra["debug"], false);
    EXPECT_EQ(cl.extra["mrtd"], HexEncode(cl.identity));
    for (const char* k : {"rtmr0", "rtmr1", "rtmr2", "rtmr3", "mrseam"})
      EXPECT_EQ(cl.extra[k].get<std::string>().size(), 96u) << k;
    EXPECT_EQ(cl.extra["report_data"].get<std::string>().size(), 128u);
    EXPECT_EQ(cl.extra.size(), 11u);
  }
}

TEST(DcapVectors, TdxQuoteOutdatedHasNoMatchingTcbLevel) {
  Collateral c = LoadCollateral("tdx_quote_outdated_collateral.json");
  auto r = VerifyQuote(Load("tdx_quote_outdated"), c, T(kOutdatedMid));
  ExpectError(r, Code::kVerificationFailed, "no TCB level");
  // The README: SGX component 08 of the PCK is 3, every level wants 5.
  EXPECT_THAT(r.status().message(), HasSubstr("components 3 3 2 2 4 1 0 3 0"));
}

TEST(DcapVectors, CachedVerifierGivesTheSameResults) {
  Verifier v;
  Collateral sgx = LoadCollateral("sgx_quote_collateral.json");
  Collateral tdx = LoadCollateral("tdx_quote_collateral.json");
  for (int i = 0; i < 3; ++i) {
    auto a = v.Verify(Load("sgx_quote"), sgx, T(kSgxMid));
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_EQ(a->tcb_status, TcbStatus::kConfigurationAndSWHardeningNeeded);
    auto b = v.Verify(Load("tdx_quote"), tdx, T(kTdxMid));
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_EQ(b->tcb_status, TcbStatus::kUpToDate);
  }
  EXPECT_EQ(v.cached_collateral(), 2u);
  EXPECT_EQ(v.cached_pck_chains(), 2u);
  // Time is re-checked on every call, cached or not.
  ExpectError(v.Verify(Load("sgx_quote"), sgx, T("2025-07-19T10:01:19Z")), Code::kExpired, "QE identity expired");
  v.ClearCache();
  EXPECT_EQ(v.cached_collateral(), 0u);
}

TEST(DcapVectors, ExpectedFormatMismatchIsRefused) {
  Options o;
  o.expected_format = "tdx";
  auto r = VerifyQuote(Load("sgx_quote"), LoadCollateral("sgx_quote_collateral.json"), T(kSgxMid), o);
  ExpectError(r, Code::kInvalidArgument, "SGX quote");
  o.expected_format = "sgx-ecdsa";
  r = VerifyQuote(Load("tdx_quote"), LoadCollateral("tdx_quote_collateral.json"), T(kTdxMid), o);
  ExpectError(r, Code::kInvalidArgument, "TDX quote");
}

TEST(DcapVectors, CollateralOfTheOtherTeeIsRefused) {
  auto r = VerifyQuote(Load("sgx_quote"), LoadCollateral("tdx_quote_collateral.json"), T(kTdxMid));
  ASSERT_FALSE(r.ok());
  // Refused at the first mismatch: the PCK CRL belongs to another CA (Platform vs Processor).
  EXPECT_EQ(r.status().code(), Code::kVerificationFailed) << r.status().ToString();
}

// ---------------------------------------------------------------- time windows
TEST(DcapTime, EveryWindowEdgeIsEnforced) {
  struct Case {
    const char* quote;
    const char* collateral;
    const char* before;
    const char* after;
  };
  for (const Case& c : {Case{"sgx_quote", "sgx_quote_collateral.json", "2025-06-19T10:56:10Z", "2025-07-19T10:01:19Z"},
                        Case{"tdx_quote", "tdx_quote_collateral.json", "2025-06-19T10:32:26Z", "2025-07-19T10:00:36Z"},
                        Case{"tdx_quote_outdated", "tdx_quote_outdated_collateral.json", "2026-02-18T10:58:50Z",
                             "2026-03-20T10:41:16Z"}}) {
    Collateral col = LoadCollateral(c.collateral);
    auto before = VerifyQuote(Load(c.quote), col, T(c.before));
    ExpectError(before, Code::kExpired, "not yet valid");
    auto after = VerifyQuote(Load(c.quote), col, T(c.after));
    ExpectError(after, Code::kExpired, "expired");
    // Far outside: certificates themselves.
    ExpectError(VerifyQuote(Load(c.quote), col, T("2017-01-01T00:00:00Z")), Code::kExpired, "not yet valid");
    ExpectError(VerifyQuote(Load(c.quote), col, T("2050-01-01T00:00:00Z")), Code::kExpired, "");
  }
}

TEST(DcapTime, EachDocumentWindowIsNamed) {
  Collateral c = LoadCollateral("sgx_quote_collateral.json");
  Bytes q = Load("sgx_quote");
  // QE identity: issued 10:01:18, nextUpdate 2025-07-19T10:01:18Z (the earliest end).
  ExpectError(VerifyQuote(q, c, T("2025-07-19T10:01:19Z")), Code::kExpired, "QE identity expired");
  // PCK CRL nextUpdate 2025-07-19T10:23:18Z, TCB info 10:56:11.
  ExpectError(VerifyQuote(q, c, T("2025-07-19T10:30:00Z")), Code::kExpired, "CRL expired");
  // TCB info issued 2025-06-19T10:56:11Z is the latest start.
  ExpectError(VerifyQuote(q, c, T("2025-06-19T10:56:10Z")), Code::kExpired, "TCB info is not yet valid");
}

TEST(DcapTime, LateCollateralCanBeAllowedButIsFlagged) {
  Options o;
  o.allow_expired_collateral = true;
  Collateral c = LoadCollateral("sgx_quote_collateral.json");
  auto r = VerifyQuote(Load("sgx_quote"), c, T("2025-08-01T00:00:00Z"), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->collateral_expired);
  EXPECT_EQ(r->tcb_status, TcbStatus::kConfigurationAndSWHardeningNeeded);
  // Not-yet-valid collateral and expired certificates stay refused.
  ExpectError(VerifyQuote(Load("sgx_quote"), c, T("2025-06-19T10:56:10Z"), o), Code::kExpired, "not yet valid");
  ExpectError(VerifyQuote(Load("sgx_quote"), c, T("2050-01-01T00:00:00Z"), o), Code::kExpired, "certificate");
}

// ---------------------------------------------------------------- tampering
TEST(DcapTamper, FlippedBytesInTheQuote) {
  Collateral c = LoadCollateral("sgx_quote_collateral.json");
  const Bytes q = Load("sgx_quote");
  auto flip = [&](size_t at) {
    Bytes v = q;
    v[at] ^= 0x01;
    return VerifyQuote(v, c, T(kSgxMid));
  };
  const size_t body = 48, auth = 48 + 384 + 4;
  ExpectError(flip(body + 64), Code::kVerificationFailed, "quote signature does not verify");   // MRENCLAVE
  ExpectError(flip(body + 320), Code::kVerificationFailed, "quote signature does not verify");  // report data
  ExpectError(flip(10), Code::kVerificationFailed, "quote signature does not verify");          // header pce_svn
  ExpectError(flip(auth + 5), Code::kVerificationFailed, "quote signature does not verify");    // signature
  ExpectError(flip(auth + 64 + 5), Code::kVerificationFailed, "QE report data does not bind");  // attestation key
  ExpectError(flip(auth + 128 + 64), Code::kVerificationFailed, "QE report signature");         // QE report MRENCLAVE
  ExpectError(flip(auth + 128 + 384 + 3), Code::kVerificationFailed, "QE report signature");    // QE report signature
  ExpectError(flip(auth + 128 + 384 + 64 + 2 + 1), Code::kVerificationFailed, "QE report data does not bind");  // auth data
}

TEST(DcapTamper, FlippedBytesInTdxQuote) {
  Collateral c = LoadCollateral("tdx_quote_collateral.json");
  const Bytes q = Load("tdx_quote");
  auto flip = [&](size_t at) {
    Bytes v = q;
    v[at] ^= 0x01;
    return VerifyQuote(v, c, T(kTdxMid));
  };
  const size_t body = 48, auth = 48 + 584 + 4;
  ExpectError(flip(body + 136), Code::kVerificationFailed, "quote signature does not verify");  // MRTD
  ExpectError(flip(body + 520), Code::kVerificationFailed, "quote signature does not verify");  // report data
  ExpectError(flip(body + 64), Code::kVerificationFailed, "MRSIGNERSEAM");                      // module signer
  ExpectError(flip(body + 112), Code::kVerificationFailed, "SEAMATTRIBUTES");
  ExpectError(flip(auth + 40), Code::kVerificationFailed, "quote signature does not verify");
  ExpectError(flip(auth + 128 + 6 + 100), Code::kVerificationFailed, "QE report signature");
  ExpectError(flip(auth + 128 + 6 + 384 + 10), Code::kVerificationFailed, "QE report signature");
  // Padding after the auth data is not signed and not interpreted.
  Bytes padded = q;
  padded.back() ^= 0xff;
  EXPECT_TRUE(VerifyQuote(padded, c, T(kTdxMid)).ok());
}

std::string Flip(std::string s, size_t at) {
  s[at] = s[at] == '1' ? '2' : '1';
  return s;
}

TEST(DcapTamper, FlippedCollateralText) {
  const Collateral good = LoadCollateral("sgx_quote_collateral.json");
  const Bytes q = Load("sgx_quote");
  {
    Collateral c = good;  // tcbEvaluationDataNumber 17 -> 27: still valid JSON
    size_t at = c.tcb_info.find("\"tcbEvaluationDataNumber\":17") + 26;
    c.tcb_info = Flip(c.tcb_info, at);
    ExpectError(VerifyQuote(q, c, T(kSgxMid)), Code::kVerificationFailed, "TCB info signature does not verify");
  }
  {
    Collateral c = good;  // a TCB level status: SWHardeningNeeded -> a neighbour still parses
    size_t at = c.tcb_info.find("\"pcesvn\":13") + 10;
    c.tcb_info = Flip(c.tcb_info, at);
    ExpectError(VerifyQuote(q, c, T(kSgxMid)), Code::kVerificationFailed, "TCB info signature does not verify");
  }
  {
    Collateral c = good;
    size_t at = c.qe_identity.find("\"isvsvn\":8") + 9;
    c.qe_identity = Flip(c.qe_identity, at);
    ExpectError(VerifyQuote(q, c, T(kSgxMid)), Code::kVerificationFailed, "QE identity signature does not verify");
  }
  {
    Collateral c = good;
    c.tcb_info_signature[10] ^= 1;
    ExpectError(VerifyQuote(q, c, T(kSgxMid)), Code::kVerificationFailed, "TCB info signature does not verify");
  }
  {
    Collateral c = good;  // the last byte of a DER CRL is inside its signature value
    c.pck_crl.back() ^= 1;
    ExpectError(VerifyQuote(q, c, T(kSgxMid)), Code::kVerificationFailed, "PCK CRL signature does not verify");
  }
  {
    Collateral c = good;
    c.root_ca_crl.back() ^= 1;
    ExpectError(VerifyQuote(q, c, T(kSgxMid)), Code::kVerificationFailed, "root CA CRL signature does not verify");
  }
  {
    Collateral c = good;  // re-serialised (pretty-printed) JSON is not what Intel signed
    c.tcb_info.insert(1, " ");
    ExpectError(VerifyQuote(q, c, T(kSgxMid)), Code::kVerificationFailed, "TCB info signature does not verify");
  }
}

TEST(DcapTamper, MismatchedCrlIssuerAndFmspc) {
  const Bytes q = Load("sgx_quote");
  Collateral c = LoadCollateral("sgx_quote_collateral.json");
  Collateral tdx = LoadCollateral("tdx_quote_collateral.json");
  Collateral mixed = c;  // the Platform CA's CRL for a Processor CA PCK
  mixed.pck_crl = tdx.pck_crl;
  mixed.pck_crl_issuer_chain = tdx.pck_crl_issuer_chain;
  ExpectError(VerifyQuote(q, mixed, T(kSgxMid)), Code::kVerificationFailed, "PCK CRL is issued by");
}

}  // namespace
}  // namespace confide::attestation::dcap
