// DCAP verification against a synthetic Intel-shaped PKI made in the test (root, PCK CA, PCK
// leaf with the SGX extension, TCB signing certificate, CRLs, signed TCB info and QE identity,
// and quotes of every version). Uses Options::test_root_override, the test-only replacement
// of the pinned Intel root, to exercise what real collateral cannot: PCK revocation, every
// TCB status and its convergence with the QE identity and TDX module, and level matching.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "confide/attestation/dcap.h"
#include "crypto/test_pki.h"

namespace confide::attestation::dcap {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testpki::T;
using Json = nlohmann::json;
using Svn16 = std::array<uint32_t, 16>;

constexpr const char* kAt = "2025-01-15T00:00:00Z";
const Svn16 kPlatformSgx = {5, 5, 2, 2, 3, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0};
constexpr uint32_t kPlatformPceSvn = 13;
const Bytes kFmspc = {0x00, 0x90, 0x6e, 0xd5, 0x00, 0x00};
const Bytes kPceId = {0x00, 0x00};
const Bytes kPckSerial = {0x4c, 0x01, 0x02};

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) {
    ADD_FAILURE() << r.status().ToString();
    std::abort();
  }
  return std::move(r).value();
}

// ---------------------------------------------------------------- the PKI
Bytes SgxExtension(const Svn16& comps, uint32_t pcesvn, const Bytes& fmspc, const Bytes& pceid) {
  using namespace testpki;
  const std::string p = std::string(kSgxExtensionOid);
  std::vector<Bytes> tcb;
  for (size_t i = 0; i < 16; ++i) tcb.push_back(DerSequence({DerOid(p + ".2." + std::to_string(i + 1)), DerInteger(comps[i])}));
  tcb.push_back(DerSequence({DerOid(p + ".2.17"), DerInteger(pcesvn)}));
  tcb.push_back(DerSequence({DerOid(p + ".2.18"), DerOctetString(Bytes(16, 0x07))}));
  return DerSequence({
      DerSequence({DerOid(p + ".1"), DerOctetString(Bytes(16, 0xab))}),
      DerSequence({DerOid(p + ".2"), DerSequence(tcb)}),
      DerSequence({DerOid(p + ".3"), DerOctetString(pceid)}),
      DerSequence({DerOid(p + ".4"), DerOctetString(fmspc)}),
      DerSequence({DerOid(p + ".5"), DerTlv(0x0a, Bytes{0x00})}),
  });
}

struct PkiSpec {
  Svn16 comps = kPlatformSgx;
  uint32_t pcesvn = kPlatformPceSvn;
  Bytes fmspc = kFmspc;
  std::string pck_cn = "Test SGX PCK Certificate";
  std::string tcb_signer_cn = "Intel SGX TCB Signing (test)";
  std::string root_cn = "Test SGX Root CA";
};

struct Pki {
  crypto::PKey root_key, ca_key, pck_key, tcb_key;
  x509::Certificate root, ca, pck, tcb_signer;
};

testpki::CertSpec Spec(const std::string& cn, Bytes serial, const char* from, const char* to, bool ca,
                       std::vector<testpki::CustomExtension> extensions = {}) {
  testpki::CertSpec spec;
  spec.common_name = cn;
  spec.serial = std::move(serial);
  spec.not_before = T(from);
  spec.not_after = T(to);
  spec.is_ca = ca;
  spec.extensions = std::move(extensions);
  return spec;
}

Pki MakePki(const PkiSpec& s = {}) {
  using testpki::IssueCertificate;
  Pki p;
  p.root_key = Must(crypto::EcGenerate(crypto::Curve::kP256));
  p.ca_key = Must(crypto::EcGenerate(crypto::Curve::kP256));
  p.pck_key = Must(crypto::EcGenerate(crypto::Curve::kP256));
  p.tcb_key = Must(crypto::EcGenerate(crypto::Curve::kP256));
  p.root = Must(IssueCertificate(Spec(s.root_cn, {0x01}, "2020-01-01T00:00:00Z", "2040-01-01T00:00:00Z", true),
                                 p.root_key, nullptr, p.root_key));
  p.ca = Must(IssueCertificate(Spec("Test SGX PCK Processor CA", {0x02}, "2021-01-01T00:00:00Z", "2035-01-01T00:00:00Z", true),
                               p.ca_key, &p.root, p.root_key));
  p.pck = Must(IssueCertificate(
      Spec(s.pck_cn, kPckSerial, "2024-01-01T00:00:00Z", "2030-01-01T00:00:00Z", false,
           {{std::string(kSgxExtensionOid), SgxExtension(s.comps, s.pcesvn, s.fmspc, kPceId), false}}),
      p.pck_key, &p.ca, p.ca_key));
  p.tcb_signer = Must(IssueCertificate(Spec(s.tcb_signer_cn, {0x03}, "2022-01-01T00:00:00Z", "2032-01-01T00:00:00Z", false),
                                       p.tcb_key, &p.root, p.root_key));
  return p;
}

// ---------------------------------------------------------------- collateral
struct Level {
  Svn16 sgx = kPlatformSgx;
  uint32_t pcesvn = kPlatformPceSvn;
  std::optional<Svn16> tdx;
  std::string status = "UpToDate";
  std::vector<std::string> advisories;
};
struct IsvSpec {
  uint32_t isvsvn;
  std::string status;
  std::vector<std::string> advisories;
};
struct ModuleSpec {
  std::string id;
  std::vector<IsvSpec> levels;
};

struct CollateralSpec {
  bool tdx = false;
  std::string tcb_id;  // default: SGX / TDX
  Bytes fmspc = kFmspc;
  std::vector<Level> levels = {Level{}};
  std::vector<ModuleSpec> modules = {{"TDX_01", {{3, "UpToDate", {}}}}};
  std::string qe_id;  // default: QE / TD_QE
  std::vector<IsvSpec> qe_levels = {{8, "UpToDate", {}}};
  std::string tcb_issue = "2025-01-02T00:00:00Z", tcb_next = "2025-02-01T00:00:00Z";
  std::string qe_issue = "2025-01-03T00:00:00Z", qe_next = "2025-02-01T00:00:00Z";
  std::string crl_this = "2025-01-01T00:00:00Z", crl_next = "2025-02-10T00:00:00Z";
  std::vector<Bytes> root_revoked, pck_revoked;
};

Json Isv(const std::vector<IsvSpec>& levels) {
  Json out = Json::array();
  for (const auto& l : levels) {
    Json j = {{"tcb", {{"isvsvn", l.isvsvn}}}, {"tcbDate", "2024-01-01T00:00:00Z"}, {"tcbStatus", l.status}};
    if (!l.advisories.empty()) j["advisoryIDs"] = l.advisories;
    out.push_back(j);
  }
  return out;
}

Json Components(const Svn16& svns) {
  Json out = Json::array();
  for (uint32_t s : svns) out.push_back({{"svn", s}});
  return out;
}

const std::string kQeMrSigner(64, 'a');
const std::string kModuleSigner(96, '0');

Collateral MakeCollateral(const Pki& p, const CollateralSpec& s = {}) {
  using namespace testpki;
  Json tcb = {{"id", s.tcb_id.empty() ? (s.tdx ? "TDX" : "SGX") : s.tcb_id},
              {"version", 3},
              {"issueDate", s.tcb_issue},
              {"nextUpdate", s.tcb_next},
              {"fmspc", HexEncode(s.fmspc)},
              {"pceId", "0000"},
              {"tcbType", 0},
              {"tcbEvaluationDataNumber", 17}};
  if (s.tdx) {
    tcb["tdxModule"] = {{"mrsigner", kModuleSigner}, {"attributes", "0000000000000000"}, {"attributesMask", "FFFFFFFFFFFFFFFF"}};
    Json ids = Json::array();
    for (const auto& m : s.modules)
      ids.push_back({{"id", m.id},
                     {"mrsigner", kModuleSigner},
                     {"attributes", "0000000000000000"},
                     {"attributesMask", "FFFFFFFFFFFFFFFF"},
                     {"tcbLevels", Isv(m.levels)}});
    tcb["tdxModuleIdentities"] = ids;
  }
  Json levels = Json::array();
  for (const auto& l : s.levels) {
    Json t = {{"sgxtcbcomponents", Components(l.sgx)}, {"pcesvn", l.pcesvn}};
    if (l.tdx) t["tdxtcbcomponents"] = Components(*l.tdx);
    Json j = {{"tcb", t}, {"tcbDate", "2024-01-01T00:00:00Z"}, {"tcbStatus", l.status}};
    if (!l.advisories.empty()) j["advisoryIDs"] = l.advisories;
    levels.push_back(j);
  }
  tcb["tcbLevels"] = levels;
  Json qe = {{"id", s.qe_id.empty() ? (s.tdx ? "TD_QE" : "QE") : s.qe_id},
             {"version", 2},
             {"issueDate", s.qe_issue},
             {"nextUpdate", s.qe_next},
             {"tcbEvaluationDataNumber", 17},
             {"miscselect", "00000000"},
             {"miscselectMask", "FFFFFFFF"},
             {"attributes", "11000000000000000000000000000000"},
             {"attributesMask", "FBFFFFFFFFFFFFFF0000000000000000"},
             {"mrsigner", kQeMrSigner},
             {"isvprodid", s.tdx ? 2 : 1},
             {"tcbLevels", Isv(s.qe_levels)}};

  Collateral c;
  c.tcb_info = tcb.dump();
  c.qe_identity = qe.dump();
  c.tcb_info_signature = Must(crypto::EcdsaSignRaw(p.tcb_key, crypto::HashAlg::kSha256, AsBytes(c.tcb_info)));
  c.qe_identity_signature = Must(crypto::EcdsaSignRaw(p.tcb_key, crypto::HashAlg::kSha256, AsBytes(c.qe_identity)));
  c.tcb_info_issuer_chain = CertificatePem(p.tcb_signer) + CertificatePem(p.root);
  c.qe_identity_issuer_chain = c.tcb_info_issuer_chain;
  c.pck_crl_issuer_chain = CertificatePem(p.ca) + CertificatePem(p.root);
  c.root_ca_crl = CrlDer(Must(IssueCrl({T(s.crl_this), T(s.crl_next), s.root_revoked}, p.root, p.root_key)));
  c.pck_crl = CrlDer(Must(IssueCrl({T(s.crl_this), T(s.crl_next), s.pck_revoked}, p.ca, p.ca_key)));
  return c;
}

// ---------------------------------------------------------------- quotes
struct QuoteSpec {
  int version = 3;
  bool tdx = false;
  bool td15 = false;
  uint16_t qe_isvsvn = 8;
  uint16_t qe_isvprodid = 0;  // 0: 1 for SGX, 2 for TDX
  uint8_t qe_attributes0 = 0x11;
  uint32_t qe_misc = 0;
  uint8_t sgx_attributes0 = 0x05;
  std::array<uint8_t, 16> tee_tcb_svn = {3, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  uint8_t seam_attributes0 = 0;
  bool bad_binding_upper_half = false;
  Bytes trailing;
};

void Put(Bytes& b, size_t at, ByteSpan v) { std::copy(v.begin(), v.end(), b.begin() + static_cast<std::ptrdiff_t>(at)); }
void PutU16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v);
  b[at + 1] = static_cast<uint8_t>(v >> 8);
}

Bytes MakeQuote(const Pki& p, const QuoteSpec& s = {}) {
  using namespace testpki;
  crypto::PKey attest = Must(crypto::EcGenerate(crypto::Curve::kP256));
  Bytes signed_data;
  AppendU16Le(signed_data, static_cast<uint16_t>(s.version));
  AppendU16Le(signed_data, 2);
  AppendU32Le(signed_data, s.tdx ? kTeeTypeTdx : kTeeTypeSgx);
  AppendU16Le(signed_data, 8);   // qe svn
  AppendU16Le(signed_data, 13);  // pce svn
  Append(signed_data, ByteSpan(kIntelQeVendorId.data(), 16));
  Append(signed_data, Bytes(20, 0));
  Bytes body;
  if (s.tdx) {
    body.assign(s.td15 ? 648 : 584, 0);
    Put(body, 0, s.tee_tcb_svn);
    body[112] = s.seam_attributes0;
    body[120 + 3] = 0x10;  // SEPT_VE_DISABLE
    Put(body, 136, Bytes(48, 0x3d));  // MRTD
    Put(body, 520, AsBytes("td report data"));
    if (s.td15) body[584] = 4;
  } else {
    body.assign(384, 0);
    body[48] = s.sgx_attributes0;
    Put(body, 64, Bytes(32, 0xe1));   // MRENCLAVE
    Put(body, 128, Bytes(32, 0x51));  // MRSIGNER
    PutU16(body, 256, 7);
    PutU16(body, 258, 9);
    Put(body, 320, AsBytes("enclave report data"));
  }
  if (s.version == 5) {
    AppendU16Le(signed_data, s.tdx ? (s.td15 ? 3 : 2) : 1);
    AppendU32Le(signed_data, static_cast<uint32_t>(body.size()));
  }
  Append(signed_data, body);

  Bytes attest_pub = Must(crypto::EcPublicKeyRaw(attest));
  Bytes qe_auth(32, 0x5a);
  Bytes qe_report(384, 0);
  qe_report[16] = static_cast<uint8_t>(s.qe_misc);
  qe_report[48] = s.qe_attributes0;
  Put(qe_report, 128, Must(HexDecode(kQeMrSigner)));
  PutU16(qe_report, 256, s.qe_isvprodid ? s.qe_isvprodid : (s.tdx ? 2 : 1));
  PutU16(qe_report, 258, s.qe_isvsvn);
  Bytes bound = attest_pub;
  Append(bound, qe_auth);
  Put(qe_report, 320, crypto::Sha256(bound));
  if (s.bad_binding_upper_half) qe_report[383] = 1;
  Bytes qe_sig = Must(crypto::EcdsaSignRaw(p.pck_key, crypto::HashAlg::kSha256, qe_report));
  std::string pem = CertificatePem(p.pck) + CertificatePem(p.ca) + CertificatePem(p.root);
  pem.push_back('\0');

  Bytes qe_block = qe_report;
  Append(qe_block, qe_sig);
  AppendU16Le(qe_block, static_cast<uint16_t>(qe_auth.size()));
  Append(qe_block, qe_auth);
  AppendU16Le(qe_block, 5);
  AppendU32Le(qe_block, static_cast<uint32_t>(pem.size()));
  Append(qe_block, AsBytes(pem));

  Bytes auth = Must(crypto::EcdsaSignRaw(attest, crypto::HashAlg::kSha256, signed_data));
  Append(auth, attest_pub);
  if (s.version == 3) {
    Append(auth, qe_block);
  } else {
    AppendU16Le(auth, 6);
    AppendU32Le(auth, static_cast<uint32_t>(qe_block.size()));
    Append(auth, qe_block);
  }
  Bytes quote = signed_data;
  AppendU32Le(quote, static_cast<uint32_t>(auth.size()));
  Append(quote, auth);
  Append(quote, s.trailing);
  return quote;
}

Options TestRoot(const Pki& p) {
  Options o;
  o.test_root_override = p.root;
  return o;
}

Result<VerificationResult> Check(const Pki& p, const Bytes& quote, const Collateral& c, const char* at = kAt) {
  return VerifyQuote(quote, c, T(at), TestRoot(p));
}

void ExpectError(const Result<VerificationResult>& r, Code code, const std::string& fragment) {
  ASSERT_FALSE(r.ok()) << "expected refusal containing '" << fragment << "'";
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr(fragment));
}

class DcapPki : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new Pki(MakePki()); }
  static void TearDownTestSuite() { delete pki_; }
  static const Pki& pki() { return *pki_; }
  static Pki* pki_;
};
Pki* DcapPki::pki_ = nullptr;

// ---------------------------------------------------------------- layouts
TEST_F(DcapPki, EveryQuoteVersionAndBodyVerifies) {
  struct Case {
    int version;
    bool tdx, td15;
  };
  for (const Case& k : {Case{3, false, false}, Case{4, false, false}, Case{5, false, false}, Case{4, true, false},
                        Case{5, true, false}, Case{5, true, true}}) {
    SCOPED_TRACE("v" + std::to_string(k.version) + (k.tdx ? (k.td15 ? " TD1.5" : " TD1.0") : " SGX"));
    CollateralSpec cs;
    cs.tdx = k.tdx;
    if (k.tdx) cs.levels[0].tdx = Svn16{0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    QuoteSpec qs;
    qs.version = k.version;
    qs.tdx = k.tdx;
    qs.td15 = k.td15;
    qs.trailing = Bytes(13, 0x20);
    Bytes quote = MakeQuote(pki(), qs);
    auto parsed = ParseQuote(quote);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(parsed->trailing_bytes, 13u);
    auto r = Check(pki(), quote, MakeCollateral(pki(), cs));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->tcb_status, TcbStatus::kUpToDate);
    EXPECT_EQ(r->claims.format, k.tdx ? "tdx" : "sgx-ecdsa");
    EXPECT_EQ(r->claims.platform_id, "00906ed50000");
    if (!k.tdx) {
      EXPECT_EQ(r->claims.product_id, 7u);
      EXPECT_EQ(r->claims.security_version, 9u);
      EXPECT_EQ(r->claims.extra["mrenclave"], HexEncode(Bytes(32, 0xe1)));
    } else {
      EXPECT_EQ(r->claims.extra["mrtd"], HexEncode(Bytes(48, 0x3d)));
      EXPECT_EQ(r->claims.extra["td_attributes"], "0000001000000000");
    }
  }
}

TEST_F(DcapPki, DebugEnclaveIsReportedNotRefused) {
  QuoteSpec qs;
  qs.sgx_attributes0 = 0x07;  // INIT | DEBUG | MODE64BIT
  auto r = Check(pki(), MakeQuote(pki(), qs), MakeCollateral(pki()));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->claims.debug);
  EXPECT_EQ(r->claims.extra["debug"], true);
}

// ---------------------------------------------------------------- revocation
TEST_F(DcapPki, RevokedPckIsRefused) {
  CollateralSpec cs;
  cs.pck_revoked = {kPckSerial};
  auto r = Check(pki(), MakeQuote(pki()), MakeCollateral(pki(), cs));
  ExpectError(r, Code::kRevoked, "revoked by the PCK CRL");
  EXPECT_THAT(r.status().message(), HasSubstr(HexEncode(kPckSerial)));
}

TEST_F(DcapPki, RevokedPckCaIsRefused) {
  CollateralSpec cs;
  cs.root_revoked = {{0x02}};
  // The PCK CRL issuer chain carries the same CA, so the refusal comes from the collateral.
  ExpectError(Check(pki(), MakeQuote(pki()), MakeCollateral(pki(), cs)), Code::kRevoked, "Test SGX PCK Processor CA");
}

TEST_F(DcapPki, RevokedTcbSigningCertificateIsRefused) {
  CollateralSpec cs;
  cs.root_revoked = {{0x03}};
  ExpectError(Check(pki(), MakeQuote(pki()), MakeCollateral(pki(), cs)), Code::kRevoked, "TCB Signing");
}

TEST_F(DcapPki, OtherSerialsInTheCrlDoNotRevoke) {
  CollateralSpec cs;
  cs.pck_revoked = {{0x4c, 0x01, 0x03}, {0x01}};
  EXPECT_TRUE(Check(pki(), MakeQuote(pki()), MakeCollateral(pki(), cs)).ok());
}

// ---------------------------------------------------------------- roots
TEST_F(DcapPki, PinnedIntelRootRefusesASelfMadeRoot) {
  // Without the test override the built-in Intel root is the only anchor.
  auto r = VerifyQuote(MakeQuote(pki()), MakeCollateral(pki()), T(kAt));
  ExpectError(r, Code::kVerificationFailed, "not the pinned Intel SGX Root CA");
}

TEST_F(DcapPki, SelfMadeRootNamedLikeIntelIsRefused) {
  PkiSpec spec;
  spec.root_cn = "Intel SGX Root CA";
  Pki fake = MakePki(spec);
  auto r = VerifyQuote(MakeQuote(fake), MakeCollateral(fake), T(kAt));
  ExpectError(r, Code::kVerificationFailed, "not the pinned Intel SGX Root CA");
  EXPECT_THAT(r.status().message(), HasSubstr(HexEncode(fake.root.Sha256Fingerprint())));
}

TEST_F(DcapPki, ForeignRootInjectedIntoRealCollateralIsRefused) {
  Collateral real = Must(ParseCollateral(Must(ReadFile(std::string(CONFIDE_TEST_VECTORS) +
                                                       "/phala-dcap-qvl/sgx_quote_collateral.json"))));
  Bytes quote = Must(ReadFile(std::string(CONFIDE_TEST_VECTORS) + "/phala-dcap-qvl/sgx_quote"));
  // Keep the real TCB signing certificate, swap the root for ours.
  std::string chain = real.tcb_info_issuer_chain;
  size_t second = chain.find("-----BEGIN CERTIFICATE-----", 10);
  ASSERT_NE(second, std::string::npos);
  real.tcb_info_issuer_chain = chain.substr(0, second) + testpki::CertificatePem(pki().root);
  auto r = VerifyQuote(quote, real, T("2025-07-01T00:00:00Z"));
  ExpectError(r, Code::kVerificationFailed, "not the pinned Intel SGX Root CA");
}

TEST_F(DcapPki, ChainsFromAnotherRootAreRefusedUnderTheOverride) {
  Pki other = MakePki();
  // Collateral signed under `other`, quote under pki(): the chains do not reach the override.
  auto r = Check(pki(), MakeQuote(pki()), MakeCollateral(other));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kVerificationFailed) << r.status().ToString();
}

// ---------------------------------------------------------------- grading
TEST_F(DcapPki, EveryTcbStatusIsReported) {
  for (const char* status : {"UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
                             "OutOfDate", "OutOfDateConfigurationNeeded"}) {
    CollateralSpec cs;
    cs.levels[0].status = status;
    cs.levels[0].advisories = {"INTEL-SA-00001"};
    auto r = Check(pki(), MakeQuote(pki()), MakeCollateral(pki(), cs));
    ASSERT_TRUE(r.ok()) << status << ": " << r.status().ToString();
    EXPECT_EQ(TcbStatusName(r->tcb_status), status);
    EXPECT_THAT(r->advisory_ids, ElementsAre("INTEL-SA-00001"));
  }
  CollateralSpec cs;
  cs.levels[0].status = "Revoked";
  ExpectError(Check(pki(), MakeQuote(pki()), MakeCollateral(pki(), cs)), Code::kRevoked, "TCB status is Revoked");
}

TEST_F(DcapPki, QeOutOfDateConvergesLikeQvl) {
  struct Case {
    const char* platform;
    const char* expected;
  };
  for (const Case& k : {Case{"UpToDate", "OutOfDate"}, Case{"SWHardeningNeeded", "OutOfDate"},
                        Case{"ConfigurationNeeded", "OutOfDateConfigurationNeeded"},
                        Case{"ConfigurationAndSWHardeningNeeded", "OutOfDateConfigurationNeeded"},
                        Case{"OutOfDate", "OutOfDate"}, Case{"OutOfDateConfigurationNeeded", "OutOfDateConfigurationNeeded"}}) {
    CollateralSpec cs;
    cs.levels[0].status = k.platform;
    cs.levels[0].advisories = {"INTEL-SA-00010", "INTEL-SA-00020"};
    cs.qe_levels = {{9, "UpToDate", {}}, {6, "OutOfDate", {"INTEL-SA-00020", "INTEL-SA-00030"}}};
    auto r = Check(pki(), MakeQuote(pki()), MakeCollateral(pki(), cs));  // QE isvsvn 8 -> level 6
    ASSERT_TRUE(r.ok()) << k.platform << ": " << r.status().ToString();
    EXPECT_EQ(TcbStatusName(r->tcb_status), k.expected) << k.platform;
    // Union of the platform level's and the QE level's advisories, platform first.
    EXPECT_THAT(r->advisory_ids, ElementsAre("INTEL-SA-00010", "INTEL-SA-00020", "INTEL-SA-00030"));
  }
}

TEST_F(DcapPki, QeRevokedOrUnsupportedIsRefused) {
  CollateralSpec cs;
  cs.qe_levels = {{9, "UpToDate", {}}, {8, "Revoked", {}}};
  ExpectError(Check(pki(), MakeQuote(pki()), MakeCollateral(pki(), cs)), Code::kRevoked, "Revoked");
  cs.qe_levels = {{9, "UpToDate", {}}};
  ExpectError(Check(pki(), MakeQuote(pki()), MakeCollateral(pki(), cs)), Code::kVerificationFailed,
              "QE ISVSVN 8 is below every level");
}

TEST_F(DcapPki, FirstMatchingLevelWins) {
  Level newer;  // needs component 3 = 4, platform has 2
  newer.sgx[2] = 4;
  newer.status = "UpToDate";
  Level pce;  // needs a newer PCE
  pce.pcesvn = 14;
  pce.status = "SWHardeningNeeded";
  Level match;
  match.sgx[0] = 4;
  match.status = "ConfigurationNeeded";
  match.advisories = {"INTEL-SA-00300"};
  Level older;
  older.sgx = {};
  older.pcesvn = 0;
  older.status = "OutOfDate";
  CollateralSpec cs;
  cs.levels = {newer, pce, match, older};
  auto r = Check(pki(), MakeQuote(pki()), MakeCollateral(pki(), cs));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tcb_status, TcbStatus::kConfigurationNeeded);
  EXPECT_THAT(r->advisory_ids, ElementsAre("INTEL-SA-00300"));
  cs.levels = {newer, pce};
  ExpectError(Check(pki(), MakeQuote(pki()), MakeCollateral(pki(), cs)), Code::kVerificationFailed,
              "no TCB level in the TCB info matches the platform");
}

// ---------------------------------------------------------------- TDX
CollateralSpec TdxSpec() {
  CollateralSpec cs;
  cs.tdx = true;
  cs.levels[0].tdx = Svn16{0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  return cs;
}
QuoteSpec TdxQuote(int version = 4) {
  QuoteSpec qs;
  qs.tdx = true;
  qs.version = version;
  return qs;
}

TEST_F(DcapPki, TdxLevelAndModuleGrading) {
  // TEE_TCB_SVN component 2 (microcode) is 2: a level wanting 3 is skipped.
  CollateralSpec cs = TdxSpec();
  Level newer = cs.levels[0];
  newer.tdx->at(2) = 3;
  Level current = cs.levels[0];
  current.status = "SWHardeningNeeded";
  current.advisories = {"INTEL-SA-00500"};
  cs.levels = {newer, current};
  cs.modules = {{"TDX_03", {{9, "UpToDate", {}}}},
                {"TDX_01", {{5, "UpToDate", {}}, {2, "OutOfDate", {"INTEL-SA-00600"}}}}};
  auto r = Check(pki(), MakeQuote(pki(), TdxQuote()), MakeCollateral(pki(), cs));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Module SVN 3 -> TDX_01 level 2 OutOfDate; SWHardeningNeeded + module OutOfDate = OutOfDate.
  EXPECT_EQ(r->tcb_status, TcbStatus::kOutOfDate);
  EXPECT_THAT(r->advisory_ids, ElementsAre("INTEL-SA-00500", "INTEL-SA-00600"));
}

TEST_F(DcapPki, TdxModuleMismatchAndUnsupported) {
  CollateralSpec cs = TdxSpec();
  cs.modules = {{"TDX_03", {{1, "UpToDate", {}}}}};
  ExpectError(Check(pki(), MakeQuote(pki(), TdxQuote()), MakeCollateral(pki(), cs)), Code::kVerificationFailed,
              "no identity TDX_01");
  cs.modules = {{"tdx_01", {{4, "UpToDate", {}}}}};  // ids match case-insensitively; SVN 3 < 4
  ExpectError(Check(pki(), MakeQuote(pki(), TdxQuote()), MakeCollateral(pki(), cs)), Code::kVerificationFailed,
              "TDX module SVN 3 is below every level");
  cs.modules = {{"TDX_01", {{3, "Revoked", {}}}}};
  ExpectError(Check(pki(), MakeQuote(pki(), TdxQuote()), MakeCollateral(pki(), cs)), Code::kRevoked, "Revoked");
}

TEST_F(DcapPki, TdxWithoutModuleVersionUsesAllComponents) {
  QuoteSpec qs = TdxQuote();
  qs.tee_tcb_svn = {3, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  CollateralSpec cs = TdxSpec();
  cs.modules = {};  // not consulted when the module version is 0 in a v4+ quote
  cs.levels[0].tdx = Svn16{3, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  auto r = Check(pki(), MakeQuote(pki(), qs), MakeCollateral(pki(), cs));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tcb_status, TcbStatus::kUpToDate);
  cs.levels[0].tdx = Svn16{4, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};  // byte 0 counts now
  ExpectError(Check(pki(), MakeQuote(pki(), qs), MakeCollateral(pki(), cs)), Code::kVerificationFailed,
              "TEE_TCB_SVN");
}

TEST_F(DcapPki, TdxSeamAttributesMustBeZero) {
  QuoteSpec qs = TdxQuote(5);
  qs.seam_attributes0 = 1;
  ExpectError(Check(pki(), MakeQuote(pki(), qs), MakeCollateral(pki(), TdxSpec())), Code::kVerificationFailed,
              "SEAMATTRIBUTES");
}

TEST_F(DcapPki, TeeTypeAndIdentityMismatches) {
  // TDX quote with SGX TCB info, and SGX quote with TDX TCB info.
  CollateralSpec sgx_for_tdx = TdxSpec();
  sgx_for_tdx.tcb_id = "SGX";
  sgx_for_tdx.levels[0].tdx.reset();
  ExpectError(Check(pki(), MakeQuote(pki(), TdxQuote()), MakeCollateral(pki(), sgx_for_tdx)), Code::kVerificationFailed,
              "TCB info is for SGX");
  ExpectError(Check(pki(), MakeQuote(pki()), MakeCollateral(pki(), TdxSpec())), Code::kVerificationFailed,
              "TCB info is for TDX");
  CollateralSpec wrong_qe = TdxSpec();
  wrong_qe.qe_id = "QE";
  ExpectError(Check(pki(), MakeQuote(pki(), TdxQuote()), MakeCollateral(pki(), wrong_qe)), Code::kVerificationFailed,
              "needs 'TD_QE'");
}

// ---------------------------------------------------------------- QE identity and binding
TEST_F(DcapPki, QeIdentityFieldsAreChecked) {
  Collateral c = MakeCollateral(pki());
  QuoteSpec qs;
  qs.qe_isvprodid = 3;
  ExpectError(Check(pki(), MakeQuote(pki(), qs), c), Code::kVerificationFailed, "ISVPRODID 3");
  qs = {};
  qs.qe_attributes0 = 0x13;  // DEBUG set on the QE: inside the mask
  ExpectError(Check(pki(), MakeQuote(pki(), qs), c), Code::kVerificationFailed, "ATTRIBUTES");
  qs = {};
  qs.qe_attributes0 = 0x15;  // bit 2 is outside the mask (FB): ignored
  EXPECT_TRUE(Check(pki(), MakeQuote(pki(), qs), c).ok());
  qs = {};
  qs.qe_misc = 1;
  ExpectError(Check(pki(), MakeQuote(pki(), qs), c), Code::kVerificationFailed, "MISCSELECT");
  qs = {};
  qs.bad_binding_upper_half = true;
  ExpectError(Check(pki(), MakeQuote(pki(), qs), c), Code::kVerificationFailed, "32 zero bytes");
}

TEST_F(DcapPki, PckCertificateChecks) {
  PkiSpec spec;
  spec.pck_cn = "Test SGX Something Else";
  Pki p = MakePki(spec);
  ExpectError(Check(p, MakeQuote(p), MakeCollateral(p)), Code::kVerificationFailed, "SGX PCK Certificate");
  spec = {};
  spec.fmspc = {0x00, 0x90, 0x6e, 0xd5, 0x00, 0x01};
  p = MakePki(spec);
  ExpectError(Check(p, MakeQuote(p), MakeCollateral(p)), Code::kVerificationFailed, "FMSPC mismatch");
  spec = {};
  spec.tcb_signer_cn = "Some Other Signer";
  p = MakePki(spec);
  ExpectError(Check(p, MakeQuote(p), MakeCollateral(p)), Code::kVerificationFailed, "not the Intel SGX TCB Signing");
}

// ---------------------------------------------------------------- time
TEST_F(DcapPki, WindowsOfEveryPiece) {
  const Bytes quote = MakeQuote(pki());
  const Collateral c = MakeCollateral(pki());
  EXPECT_TRUE(Check(pki(), quote, c, "2025-01-03T00:00:00Z").ok());  // latest start: QE identity issue
  EXPECT_TRUE(Check(pki(), quote, c, "2025-02-01T00:00:00Z").ok());  // earliest end
  ExpectError(Check(pki(), quote, c, "2025-01-02T23:59:59Z"), Code::kExpired, "QE identity is not yet valid");
  ExpectError(Check(pki(), quote, c, "2025-02-01T00:00:01Z"), Code::kExpired, "expired");
  CollateralSpec cs;
  cs.crl_next = "2025-01-20T00:00:00Z";
  ExpectError(Check(pki(), quote, MakeCollateral(pki(), cs), "2025-01-21T00:00:00Z"), Code::kExpired, "CRL expired");
  cs = {};
  cs.crl_this = "2025-01-10T00:00:00Z";
  ExpectError(Check(pki(), quote, MakeCollateral(pki(), cs), "2025-01-05T00:00:00Z"), Code::kExpired,
              "CRL is not yet valid");
  // A certificate outside its window (PCK valid from 2024-01-01), even with documents that
  // would cover the time.
  cs = {};
  cs.tcb_issue = cs.qe_issue = cs.crl_this = "2023-06-01T00:00:00Z";
  ExpectError(Check(pki(), quote, MakeCollateral(pki(), cs), "2023-07-01T00:00:00Z"), Code::kExpired,
              "Test SGX PCK Certificate' is not yet valid");
}

TEST_F(DcapPki, CachedVerifierRechecksTimeAndRevocationInputs) {
  Verifier v(TestRoot(pki()));
  const Bytes quote = MakeQuote(pki());
  const Collateral good = MakeCollateral(pki());
  ASSERT_TRUE(v.Verify(quote, good, T(kAt)).ok());
  ASSERT_TRUE(v.Verify(quote, good, T(kAt)).ok());
  ExpectError(v.Verify(quote, good, T("2025-03-01T00:00:00Z")), Code::kExpired, "expired");
  CollateralSpec cs;
  cs.pck_revoked = {kPckSerial};
  ExpectError(v.Verify(quote, MakeCollateral(pki(), cs), T(kAt)), Code::kRevoked, "revoked");
  EXPECT_EQ(v.cached_collateral(), 2u);
  EXPECT_EQ(v.cached_pck_chains(), 1u);
  // A different quote from the same platform reuses the cached PCK chain.
  ASSERT_TRUE(v.Verify(MakeQuote(pki()), good, T(kAt)).ok());
  EXPECT_EQ(v.cached_pck_chains(), 1u);
}

}  // namespace
}  // namespace confide::attestation::dcap
