// SEV-SNP verification against the real go-sev-guest vector (Milan-B0, report v2) and a
// synthetic AMD-shaped hierarchy for the paths no public vector covers (VLEK, Turin, v3, v5).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "attestation/snp/snp_internal.h"
#include "attestation/snp_test_pki.h"
#include "confide/attestation/snp.h"

namespace confide::attestation::snp {
namespace {

using ::testing::HasSubstr;
namespace t = ::confide::attestation::snp::testing;

const std::string kDir = std::string(CONFIDE_TEST_VECTORS) + "/google-go-sev-guest/";

Bytes Load(const std::string& name) {
  auto b = ReadFile(kDir + name);
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  return b.ok() ? *b : Bytes{};
}

UnixTime At(const char* text) {
  auto t = ParseRfc3339(text);
  EXPECT_TRUE(t.ok());
  return *t;
}

Inputs RealInputs(const char* at = "2022-09-24T01:00:00Z") {
  Inputs in;
  in.endorsement_cert = Load("vcek.der");
  in.at = At(at);
  return in;
}

// Second PEM block first: the chain order must not matter.
Bytes Reversed(const Bytes& pem) {
  std::string text = ToString(pem);
  size_t second = text.find("-----BEGIN CERTIFICATE-----", 1);
  EXPECT_NE(second, std::string::npos);
  std::string out = text.substr(second) + "\n" + text.substr(0, second);
  return Bytes(out.begin(), out.end());
}

#define EXPECT_REFUSED(expr, code_, text)                                  \
  do {                                                                     \
    auto r_ = (expr);                                                      \
    ASSERT_FALSE(r_.ok()) << "expected a refusal containing: " << (text); \
    EXPECT_EQ(r_.status().code(), (code_)) << r_.status().ToString();      \
    EXPECT_THAT(r_.status().message(), HasSubstr(text));                   \
  } while (0)

// ---------------------------------------------------------------- the real Milan vector

void ExpectRealClaims(const VerificationResult& v) {
  const auto& x = v.claims.extra;
  EXPECT_EQ(v.tcb_status, TcbStatus::kUpToDate);
  EXPECT_EQ(v.claims.format, "snp");
  EXPECT_EQ(x["version"], 2);
  EXPECT_EQ(x["product"], "Milan");
  EXPECT_EQ(x["signing_key"], "vcek");
  EXPECT_EQ(x["vmpl"], 0);
  EXPECT_EQ(x["policy"]["value"], "0x00000000000b0000");
  EXPECT_EQ(x["policy"]["debug"], true);
  EXPECT_EQ(x["policy"]["smt"], true);
  EXPECT_EQ(x["policy"]["migration_agent"], false);
  EXPECT_EQ(x["policy"]["single_socket"], false);
  EXPECT_EQ(x["policy"]["abi_major"], 0);
  EXPECT_EQ(x["policy"]["abi_minor"], 0);
  EXPECT_EQ(x["debug"], true);
  EXPECT_TRUE(v.claims.debug);
  EXPECT_EQ(x["reported_tcb"]["value"], "0x4405000000000002");
  EXPECT_EQ(x["reported_tcb"]["bootloader"], 2);
  EXPECT_EQ(x["reported_tcb"]["tee"], 0);
  EXPECT_EQ(x["reported_tcb"]["snp"], 5);
  EXPECT_EQ(x["reported_tcb"]["microcode"], 68);
  EXPECT_FALSE(x["reported_tcb"].contains("fmc"));
  EXPECT_EQ(x["current_tcb"]["value"], "0x4405000000000002");
  EXPECT_EQ(x["committed_tcb"]["value"], "0x4405000000000002");
  Bytes report_data(64, 0);
  for (int i = 0; i < 5; ++i) report_data[i] = static_cast<uint8_t>(i + 1);
  EXPECT_EQ(x["report_data"], HexEncode(report_data));
  EXPECT_EQ(v.claims.report_data, report_data);
  EXPECT_EQ(x["measurement"],
            "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01");
  EXPECT_EQ(HexEncode(v.claims.identity), x["measurement"]);
  EXPECT_EQ(x["host_data"], std::string(64, '0'));
  EXPECT_EQ(x["id_key_digest"], std::string(96, '0'));
  EXPECT_EQ(x["author_key_digest"], std::string(96, '0'));
  // CHIP_ID equals the VCEK's hwID extension.
  auto vcek = x509::Certificate::FromDer(Load("vcek.der"));
  ASSERT_TRUE(vcek.ok());
  auto ext = internal::ReadEndorsementExtensions(*vcek);
  ASSERT_TRUE(ext.ok()) << ext.status().ToString();
  ASSERT_TRUE(ext->hwid.has_value());
  EXPECT_EQ(x["chip_id"], HexEncode(*ext->hwid));
  EXPECT_EQ(v.claims.platform_id, x["chip_id"]);
  EXPECT_EQ(ext->product_name, "Milan-B0");
  EXPECT_EQ(ext->bootloader, 2);
  EXPECT_EQ(ext->tee, 0);
  EXPECT_EQ(ext->snp, 5);
  EXPECT_EQ(ext->microcode, 68);
}

TEST(SnpVectorTest, RealReportVerifiesAtVcekIssue) {
  auto v = VerifyReport(Load("attestation.bin"), RealInputs());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ExpectRealClaims(*v);
}

TEST(SnpVectorTest, RealReportVerifiesIn2026) {
  auto v = VerifyReport(Load("attestation.bin"), RealInputs("2026-03-01T12:00:00Z"));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ExpectRealClaims(*v);
}

TEST(SnpVectorTest, SuppliedChainInEitherOrderAndExpectedProduct) {
  Inputs in = RealInputs();
  in.expected_product = Product::kMilan;
  in.chain = Load("ask_ark_milan.pem");
  ASSERT_TRUE(VerifyReport(Load("attestation.bin"), in).ok());
  in.chain = Reversed(in.chain);
  auto v = VerifyReport(Load("attestation.bin"), in);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  // The VCEK as PEM works as well as DER.
  in.endorsement_cert = Bytes();
  std::string pem = "-----BEGIN CERTIFICATE-----\n" + Base64Encode(Load("vcek.der")) + "\n-----END CERTIFICATE-----\n";
  in.endorsement_cert.assign(pem.begin(), pem.end());
  EXPECT_TRUE(VerifyReport(Load("attestation.bin"), in).ok());
}

TEST(SnpVectorTest, CachedVerifierMatchesOneShot) {
  auto verifier = ReportVerifier::Create(RealInputs());
  ASSERT_TRUE(verifier.ok()) << verifier.status().ToString();
  EXPECT_EQ(verifier->product(), Product::kMilan);
  EXPECT_EQ(verifier->key_kind(), SigningKey::kVcek);
  for (int i = 0; i < 3; ++i) {
    auto v = verifier->Verify(Load("attestation.bin"));
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    ExpectRealClaims(*v);
  }
}

TEST(SnpVectorTest, EvaluationTimeOutsideVcekValidityIsExpired) {
  EXPECT_REFUSED(VerifyReport(Load("attestation.bin"), RealInputs("2022-09-24T00:55:27Z")), Code::kExpired,
                 "is not valid at 2022-09-24T00:55:27Z");
  EXPECT_REFUSED(VerifyReport(Load("attestation.bin"), RealInputs("2029-09-24T00:55:29Z")), Code::kExpired,
                 "valid 2022-09-24T00:55:28Z to 2029-09-24T00:55:28Z");
  // Just inside the window at both ends.
  EXPECT_TRUE(VerifyReport(Load("attestation.bin"), RealInputs("2022-09-24T00:55:28Z")).ok());
  EXPECT_TRUE(VerifyReport(Load("attestation.bin"), RealInputs("2029-09-24T00:55:27Z")).ok());
}

TEST(SnpVectorTest, FlippedByteInEachRegionIsRefused) {
  const Bytes good = Load("attestation.bin");
  struct Case {
    size_t offset;
    const char* region;
  } cases[] = {
      {0x04, "guest svn"},       {0x50, "report data"},    {0x90, "measurement"},  {0x180, "reported tcb"},
      {0x1A0, "chip id"},        {0x1F0, "launch tcb"},    {0x2A0, "signature r"}, {0x2C0, "signature r upper half"},
      {0x2E8, "signature s"},    {0x317, "signature s top"},
  };
  for (const auto& c : cases) {
    Bytes bad = good;
    bad[c.offset] ^= 0x01;
    EXPECT_REFUSED(VerifyReport(bad, RealInputs()), Code::kVerificationFailed, "signature does not verify");
  }
}

TEST(SnpVectorTest, ReportFromAnotherChipFailsTheSignature) {
  Bytes other = Load("attestation.bin");
  for (size_t i = 0x1A0; i < 0x1E0; ++i) other[i] = static_cast<uint8_t>(i);
  EXPECT_REFUSED(VerifyReport(other, RealInputs()), Code::kVerificationFailed, "belongs to another chip");
}

TEST(SnpVectorTest, WrongProductChainIsRefused) {
  for (const char* file : {"ask_ark_genoa.pem", "ask_ark_turin_vcek.pem"}) {
    Inputs in = RealInputs();
    in.chain = Load(file);
    EXPECT_REFUSED(VerifyReport(Load("attestation.bin"), in), Code::kVerificationFailed,
                   "wrong AMD product chain");
  }
  Inputs in = RealInputs();
  in.expected_product = Product::kGenoa;
  EXPECT_REFUSED(VerifyReport(Load("attestation.bin"), in), Code::kVerificationFailed,
                 "expected AMD product Genoa, but the endorsement certificate was issued for Milan");
  // The Milan ASVK chain belongs to the VLEK path, not to a VCEK.
  in = RealInputs();
  in.chain = Load("ask_ark_milan_vlek.pem");
  EXPECT_REFUSED(VerifyReport(Load("attestation.bin"), in), Code::kVerificationFailed,
                 "a VCEK needs the ASK chain and a VLEK the ASVK chain");
}

TEST(SnpVectorTest, TruncatedOrExtendedReportIsRefused) {
  const Bytes good = Load("attestation.bin");
  for (size_t n = 0; n < good.size(); n += (n < 16 ? 1 : 37)) {
    Bytes cut(good.begin(), good.begin() + static_cast<long>(n));
    EXPECT_REFUSED(VerifyReport(cut, RealInputs()), Code::kInvalidArgument, "expected exactly 1184 bytes");
  }
  for (size_t n : {size_t{0x2A0}, size_t{0x2A0 + 144}, size_t{1183}}) {
    Bytes cut(good.begin(), good.begin() + static_cast<long>(n));
    EXPECT_REFUSED(ParseReport(cut), Code::kInvalidArgument, "got " + std::to_string(n) + " (truncated");
  }
  Bytes longer = good;
  longer.push_back(0);
  EXPECT_REFUSED(ParseReport(longer), Code::kInvalidArgument, "got 1185 (");
}

TEST(SnpVectorTest, BrokenCertificatesAreRefused) {
  Inputs in = RealInputs();
  in.endorsement_cert = Bytes(in.endorsement_cert.begin(), in.endorsement_cert.begin() + 100);
  EXPECT_REFUSED(VerifyReport(Load("attestation.bin"), in), Code::kInvalidArgument, "VCEK/VLEK certificate");
  in = RealInputs();
  in.endorsement_cert = Load("ask_ark_milan.pem");  // an ASK is not an endorsement key
  EXPECT_REFUSED(VerifyReport(Load("attestation.bin"), in), Code::kInvalidArgument, "is not an AMD VCEK or VLEK");
  in = RealInputs();
  in.chain = Bytes{'n', 'o', 'p', 'e'};
  EXPECT_REFUSED(VerifyReport(Load("attestation.bin"), in), Code::kInvalidArgument, "AMD certificate chain");
  in = RealInputs();
  in.endorsement_cert.clear();
  EXPECT_REFUSED(VerifyReport(Load("attestation.bin"), in), Code::kInvalidArgument, "no VCEK/VLEK certificate");
}

TEST(SnpVectorTest, BuiltInArksAreTheVectorArksAndPinned) {
  auto anchors = internal::AmdTrustAnchors();
  ASSERT_TRUE(anchors.ok()) << anchors.status().ToString();
  // 3 ARKs + 3 ASKs + 3 ASVKs, the ARKs deduplicated across the VCEK and VLEK chains.
  EXPECT_EQ((*anchors)->certificates.size(), 9u);
  for (const char* file : {"ask_ark_milan.pem", "ask_ark_genoa.pem", "ask_ark_turin_vcek.pem"}) {
    auto certs = x509::Certificate::ParseAll(Load(file));
    ASSERT_TRUE(certs.ok());
    ASSERT_EQ(certs->size(), 2u);
    Bytes fp = (*certs)[1].Sha256Fingerprint();
    bool pinned = false;
    for (const auto& p : (*anchors)->pinned_ark_sha256) pinned |= p == fp;
    EXPECT_TRUE(pinned) << file;
  }
  // The ASK/ASVK of every product really chains to its pinned ARK.
  for (const auto& c : (*anchors)->certificates) {
    auto name = internal::ClassifyAmdCommonName(internal::CommonName(c.SubjectName()));
    ASSERT_TRUE(name && name->product) << c.SubjectName();
    for (const auto& root : (*anchors)->certificates) {
      if (internal::CommonName(root.SubjectName()) == "ARK-" + std::string(ProductName(*name->product))) {
        EXPECT_TRUE(c.VerifySignedBy(root).ok()) << c.SubjectName();
      }
    }
  }
}

// ---------------------------------------------------------------- parsing and decoding

TEST(SnpParseTest, RealReportFields) {
  auto r = ParseReport(Load("attestation.bin"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->version, 2u);
  EXPECT_EQ(r->policy.raw, 0xB0000u);
  EXPECT_EQ(r->signing_key, SigningKey::kVcek);
  EXPECT_FALSE(r->mask_chip_key);
  EXPECT_EQ(r->reported_tcb, 0x4405000000000002u);
  EXPECT_EQ(r->platform_info, 1u);
  EXPECT_EQ(r->current_version.major, 1);
  EXPECT_EQ(r->current_version.minor, 49);
  EXPECT_EQ(r->current_version.build, 3);
  EXPECT_FALSE(r->cpuid_family.has_value());
  EXPECT_FALSE(r->launch_mit_vector.has_value());
  EXPECT_EQ(r->signature_r.size(), 72u);
  EXPECT_EQ(r->signature_s.size(), 72u);
  EXPECT_EQ(ProductFromCpuid(*r), std::nullopt);
}

TEST(SnpParseTest, MalformedFieldsAreRefused) {
  const Bytes good = Load("attestation.bin");
  auto with = [&good](size_t off, uint8_t v) {
    Bytes b = good;
    b[off] = v;
    return b;
  };
  EXPECT_REFUSED(ParseReport(with(0x00, 4)), Code::kUnsupported, "version 4 is not supported");
  EXPECT_REFUSED(ParseReport(with(0x00, 1)), Code::kUnsupported, "version 1 is not supported");
  EXPECT_REFUSED(ParseReport(with(0x03, 1)), Code::kUnsupported, "is not supported");
  EXPECT_REFUSED(ParseReport(with(0x34, 2)), Code::kUnsupported, "signature algorithm 2");
  EXPECT_REFUSED(ParseReport(with(0x0A, 0x09)), Code::kInvalidArgument, "reserved bit 17");  // 0x90000
  EXPECT_REFUSED(ParseReport(with(0x0B, 0x04)), Code::kInvalidArgument, "bits 63:26");
  EXPECT_REFUSED(ParseReport(with(0x30, 4)), Code::kInvalidArgument, "VMPL 4");
  EXPECT_REFUSED(ParseReport(with(0x48, 2 << 2)), Code::kInvalidArgument, "SIGNING_KEY 2 is reserved");
  EXPECT_REFUSED(ParseReport(with(0x48, 0x20)), Code::kInvalidArgument, "SIGNER_INFO");
  EXPECT_REFUSED(ParseReport(with(0x4C, 1)), Code::kInvalidArgument, "offset 0x4c");
  EXPECT_REFUSED(ParseReport(with(0x188, 0x19)), Code::kInvalidArgument, "before CHIP_ID");  // v2: no CPUID
  EXPECT_REFUSED(ParseReport(with(0x1EB, 1)), Code::kInvalidArgument, "0x1EB");
  EXPECT_REFUSED(ParseReport(with(0x1EF, 1)), Code::kInvalidArgument, "0x1EF");
  EXPECT_REFUSED(ParseReport(with(0x1F8, 1)), Code::kInvalidArgument, "before SIGNATURE");  // v2: no mit vector
  EXPECT_REFUSED(ParseReport(with(0x29F, 1)), Code::kInvalidArgument, "before SIGNATURE");
  EXPECT_REFUSED(ParseReport(with(0x2A0 + 48, 1)), Code::kInvalidArgument, "SIGNATURE.R high bytes");
  EXPECT_REFUSED(ParseReport(with(0x2E8 + 71, 1)), Code::kInvalidArgument, "SIGNATURE.S high bytes");
  EXPECT_REFUSED(ParseReport(with(0x49F, 1)), Code::kInvalidArgument, "after SIGNATURE");
  // Unsigned reports parse (SIGNING_KEY 7) but never verify.
  auto none = ParseReport(with(0x48, 7 << 2));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->signing_key, SigningKey::kNone);
}

TEST(SnpParseTest, Version3And5Layouts) {
  t::ReportSpec spec;
  spec.version = 3;
  spec.cpuid = std::array<uint8_t, 3>{0x19, 0x11, 0x01};
  auto v3 = ParseReport(t::BuildReport(spec));
  ASSERT_TRUE(v3.ok()) << v3.status().ToString();
  EXPECT_EQ(v3->cpuid_family, 0x19);
  EXPECT_EQ(v3->cpuid_model, 0x11);
  EXPECT_EQ(v3->cpuid_stepping, 0x01);
  EXPECT_EQ(ProductFromCpuid(*v3), Product::kGenoa);
  EXPECT_FALSE(v3->launch_mit_vector.has_value());
  Bytes v3_bad = t::BuildReport(spec);
  v3_bad[0x18B] = 1;
  EXPECT_REFUSED(ParseReport(v3_bad), Code::kInvalidArgument, "offset 0x18b");
  v3_bad = t::BuildReport(spec);
  v3_bad[0x1F8] = 1;  // mitigation vectors only exist from version 5
  EXPECT_REFUSED(ParseReport(v3_bad), Code::kInvalidArgument, "offset 0x1f8");

  spec.version = 5;
  spec.cpuid = std::array<uint8_t, 3>{0x1A, 0x02, 0x00};
  spec.launch_mit = 0x5;
  spec.current_mit = 0x7;
  auto v5 = ParseReport(t::BuildReport(spec));
  ASSERT_TRUE(v5.ok()) << v5.status().ToString();
  EXPECT_EQ(ProductFromCpuid(*v5), Product::kTurin);
  EXPECT_EQ(v5->launch_mit_vector, 0x5u);
  EXPECT_EQ(v5->current_mit_vector, 0x7u);
  Bytes v5_bad = t::BuildReport(spec);
  v5_bad[0x208] = 1;
  EXPECT_REFUSED(ParseReport(v5_bad), Code::kInvalidArgument, "offset 0x208");
}

TEST(SnpParseTest, PolicyAndTcbDecoding) {
  auto p = DecodePolicy(0x3F0102);  // abi 1.2, SMT, reserved, MA, debug, single socket, CXL
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->abi_major, 1);
  EXPECT_EQ(p->abi_minor, 2);
  EXPECT_TRUE(p->smt);
  EXPECT_TRUE(p->migration_agent);
  EXPECT_TRUE(p->debug);
  EXPECT_TRUE(p->single_socket);
  EXPECT_TRUE(p->cxl_allowed);
  EXPECT_FALSE(p->mem_aes_256_xts);
  EXPECT_REFUSED(DecodePolicy(0x10000), Code::kInvalidArgument, "reserved bit 17");
  EXPECT_REFUSED(DecodePolicy(0x30000 | (1ull << 40)), Code::kInvalidArgument, "bits 63:26");

  TcbVersion milan = DecodeTcb(0x4405000000000002, Product::kMilan);
  EXPECT_EQ(milan.bootloader, 2);
  EXPECT_EQ(milan.tee, 0);
  EXPECT_EQ(milan.snp, 5);
  EXPECT_EQ(milan.microcode, 0x44);
  EXPECT_FALSE(milan.fmc.has_value());
  TcbVersion turin = DecodeTcb(0x4800000018040301, Product::kTurin);
  EXPECT_EQ(turin.fmc, 1);
  EXPECT_EQ(turin.bootloader, 3);
  EXPECT_EQ(turin.tee, 4);
  EXPECT_EQ(turin.snp, 0x18);
  EXPECT_EQ(turin.microcode, 0x48);
  EXPECT_EQ(ParseProduct("GENOA").value(), Product::kGenoa);
  EXPECT_REFUSED(ParseProduct("Naples"), Code::kInvalidArgument, "expected Milan, Genoa or Turin");
}

// ---------------------------------------------------------------- TCB and hwID comparison

TEST(SnpCheckTest, ReportedTcbMustEqualCertificateTcb) {
  auto vcek = x509::Certificate::FromDer(Load("vcek.der"));
  ASSERT_TRUE(vcek.ok());
  auto ext = internal::ReadEndorsementExtensions(*vcek);
  ASSERT_TRUE(ext.ok()) << ext.status().ToString();
  EXPECT_EQ(internal::CertificateTcb(*ext, Product::kMilan), 0x4405000000000002u);
  EXPECT_TRUE(internal::CheckReportedTcb(0x4405000000000002, *ext, Product::kMilan).ok());
  Status snp = internal::CheckReportedTcb(0x4406000000000002, *ext, Product::kMilan);
  EXPECT_EQ(snp.code(), Code::kVerificationFailed);
  EXPECT_THAT(snp.message(), HasSubstr("[snp 6 vs 5]"));
  Status many = internal::CheckReportedTcb(0x4505000000000103, *ext, Product::kMilan);
  EXPECT_THAT(many.message(), HasSubstr("[bootloader 3 vs 2, tee 1 vs 0, microcode 69 vs 68]"));
  Status reserved = internal::CheckReportedTcb(0x4405000000010002, *ext, Product::kMilan);
  EXPECT_THAT(reserved.message(), HasSubstr("reserved bytes differ"));
  // A Turin reading of a certificate without fmcSPL is refused outright.
  EXPECT_THAT(internal::CheckReportedTcb(0x4405000000000002, *ext, Product::kTurin).message(),
              HasSubstr("no fmcSPL"));
}

TEST(SnpCheckTest, ChipIdMustEqualHwid) {
  internal::EndorsementExtensions ext;
  Bytes chip(64, 0x5A);
  EXPECT_THAT(internal::CheckChipId(chip, ext, Product::kMilan).message(), HasSubstr("no hwID"));
  ext.hwid = chip;
  EXPECT_TRUE(internal::CheckChipId(chip, ext, Product::kMilan).ok());
  Bytes other = chip;
  other[63] ^= 1;
  Status s = internal::CheckChipId(other, ext, Product::kMilan);
  EXPECT_EQ(s.code(), Code::kVerificationFailed);
  EXPECT_THAT(s.message(), HasSubstr("belongs to another chip"));
  // Turin: an 8-byte hwID matches a CHIP_ID that is those 8 bytes followed by zeros.
  ext.hwid = Bytes(8, 0x77);
  Bytes turin(64, 0);
  std::fill(turin.begin(), turin.begin() + 8, 0x77);
  EXPECT_TRUE(internal::CheckChipId(turin, ext, Product::kTurin).ok());
  EXPECT_FALSE(internal::CheckChipId(turin, ext, Product::kMilan).ok());
  turin[40] = 1;
  EXPECT_FALSE(internal::CheckChipId(turin, ext, Product::kTurin).ok());
}

TEST(SnpCheckTest, CommonNamesClassify) {
  EXPECT_EQ(internal::CommonName("CN=SEV-Milan,O=Advanced Micro Devices,ST=CA"), "SEV-Milan");
  EXPECT_EQ(internal::CommonName("OU=Engineering,CN=ARK-Turin"), "ARK-Turin");
  EXPECT_EQ(internal::CommonName("O=Example\\, Inc,C=US"), "");
  auto asvk = internal::ClassifyAmdCommonName("SEV-VLEK-Genoa");
  ASSERT_TRUE(asvk.has_value());
  EXPECT_EQ(asvk->role, internal::AmdName::Role::kAsvk);
  EXPECT_EQ(asvk->product, Product::kGenoa);
  EXPECT_FALSE(internal::ClassifyAmdCommonName("SEV-Naples").has_value());
  EXPECT_FALSE(internal::ClassifyAmdCommonName("Intel SGX Root CA").has_value());
}

// ---------------------------------------------------------------- synthetic hierarchy

class SnpSyntheticTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    milan_ = new t::Pki(t::MakePki(Product::kMilan));
    turin_ = new t::Pki(t::MakePki(Product::kTurin));
  }
  static void TearDownTestSuite() {
    delete milan_;
    delete turin_;
  }
  static Result<VerificationResult> Verify(const Bytes& report, const x509::Certificate& leaf, const t::Pki& pki,
                                           Bytes chain = {}) {
    Inputs in;
    in.endorsement_cert = leaf.der();
    in.chain = std::move(chain);
    in.at = At("2026-01-01T00:00:00Z");
    CONFIDE_ASSIGN_OR_RETURN(ReportVerifier v, ReportVerifierFactory::Create(in, pki.anchors));
    return v.Verify(report);
  }
  static crypto::PKey NewKey() { return crypto::EcGenerate(crypto::Curve::kP384).value(); }
  static t::Pki* milan_;
  static t::Pki* turin_;
};
t::Pki* SnpSyntheticTest::milan_ = nullptr;
t::Pki* SnpSyntheticTest::turin_ = nullptr;

TEST_F(SnpSyntheticTest, VlekPathVerifiesWithoutHwid) {
  crypto::PKey key = NewKey();
  t::LeafSpec spec;
  spec.subject_cn = "SEV-VLEK";
  spec.csp_id = "example-cloud";
  x509::Certificate vlek = t::MakeLeaf(spec, milan_->asvk, milan_->asvk_key, key);
  t::ReportSpec rs;
  rs.version = 3;
  rs.signing_key = SigningKey::kVlek;
  rs.cpuid = std::array<uint8_t, 3>{0x19, 0x01, 0x01};
  rs.tcb = 0x7308000000000003;  // bl 3, tee 0, snp 8, ucode 115
  Bytes report = t::BuildReport(rs);  // CHIP_ID all zero: VLEKs are not chip-bound
  t::SignReport(report, key);
  auto v = Verify(report, vlek, *milan_);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->claims.extra["signing_key"], "vlek");
  EXPECT_EQ(v->claims.extra["cpuid"]["model"], 1);
  EXPECT_EQ(v->claims.extra["reported_tcb"]["snp"], 8);

  // A report that claims the VCEK signed it is refused with a VLEK certificate.
  rs.signing_key = SigningKey::kVcek;
  Bytes vcek_claim = t::BuildReport(rs);
  t::SignReport(vcek_claim, key);
  EXPECT_REFUSED(Verify(vcek_claim, vlek, *milan_), Code::kVerificationFailed,
                 "signed by the VCEK, but a VLEK certificate was supplied");
  // So is an unsigned one.
  rs.signing_key = SigningKey::kNone;
  Bytes unsigned_report = t::BuildReport(rs);
  t::SignReport(unsigned_report, key);
  EXPECT_REFUSED(Verify(unsigned_report, vlek, *milan_), Code::kVerificationFailed, "unsigned");
}

TEST_F(SnpSyntheticTest, VlekChainSelectionUsesTheAsvk) {
  crypto::PKey key = NewKey();
  t::LeafSpec spec;
  spec.subject_cn = "SEV-VLEK";
  x509::Certificate vlek = t::MakeLeaf(spec, milan_->asvk, milan_->asvk_key, key);
  // Against AMD's real anchors: the built-in SEV-VLEK-Milan and ARK-Milan are chosen...
  auto amd = internal::AmdTrustAnchors();
  ASSERT_TRUE(amd.ok());
  auto chain = internal::SelectChain(vlek, {}, **amd);
  ASSERT_TRUE(chain.ok()) << chain.status().ToString();
  EXPECT_EQ(chain->product, Product::kMilan);
  EXPECT_EQ(chain->kind, SigningKey::kVlek);
  EXPECT_EQ(internal::CommonName(chain->intermediate.SubjectName()), "SEV-VLEK-Milan");
  EXPECT_EQ(internal::CommonName(chain->root.SubjectName()), "ARK-Milan");
  // ...and the synthetic VLEK, not signed by AMD's ASVK, is refused.
  Inputs in;
  in.endorsement_cert = vlek.der();
  in.at = At("2026-01-01T00:00:00Z");
  EXPECT_REFUSED(ReportVerifier::Create(in), Code::kVerificationFailed, "AMD Milan VLEK chain");
  // A VLEK with an ASK chain (or the reverse) is refused before any signature is checked.
  t::LeafSpec wrong = spec;
  x509::Certificate vlek_by_ask = t::MakeLeaf(wrong, milan_->ask, milan_->ask_key, key);
  EXPECT_REFUSED(Verify(Bytes(kReportSize), vlek_by_ask, *milan_), Code::kVerificationFailed,
                 "VLEKs by an ASVK");
}

TEST_F(SnpSyntheticTest, TurinV5VcekWithFmcAndShortHwid) {
  crypto::PKey key = NewKey();
  Bytes chip(64, 0);
  for (int i = 0; i < 8; ++i) chip[i] = static_cast<uint8_t>(0xC0 + i);
  t::LeafSpec spec;
  spec.product_name = "Turin-B0";
  spec.fmc = 1;
  spec.hwid = Bytes(chip.begin(), chip.begin() + 8);
  spec.bootloader = 3, spec.tee = 4, spec.snp = 0x18, spec.microcode = 0x48;
  x509::Certificate vcek = t::MakeLeaf(spec, turin_->ask, turin_->ask_key, key);
  t::ReportSpec rs;
  rs.version = 5;
  rs.cpuid = std::array<uint8_t, 3>{0x1A, 0x02, 0x01};
  rs.tcb = 0x4800000018040301;
  rs.chip_id = chip;
  rs.launch_mit = 3;
  rs.current_mit = 3;
  Bytes report = t::BuildReport(rs);
  t::SignReport(report, key);
  auto v = Verify(report, vcek, *turin_);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const auto& x = v->claims.extra;
  EXPECT_EQ(x["product"], "Turin");
  EXPECT_EQ(x["reported_tcb"]["fmc"], 1);
  EXPECT_EQ(x["reported_tcb"]["bootloader"], 3);
  EXPECT_EQ(x["reported_tcb"]["snp"], 0x18);
  EXPECT_EQ(x["launch_mit_vector"], "0x0000000000000003");
  EXPECT_EQ(x["version"], 5);

  // Supplying the synthetic Turin chain explicitly works; a Milan chain does not.
  std::string pem;
  for (const auto* c : {&turin_->ark, &turin_->ask})
    pem += "-----BEGIN CERTIFICATE-----\n" + Base64Encode(c->der()) + "\n-----END CERTIFICATE-----\n";
  EXPECT_TRUE(Verify(report, vcek, *turin_, Bytes(pem.begin(), pem.end())).ok());
  std::string milan_pem = "-----BEGIN CERTIFICATE-----\n" + Base64Encode(milan_->ask.der()) +
                          "\n-----END CERTIFICATE-----\n";
  EXPECT_REFUSED(Verify(report, vcek, *turin_, Bytes(milan_pem.begin(), milan_pem.end())),
                 Code::kVerificationFailed, "wrong AMD product chain");

  // The CPUID must agree with the chain's product.
  rs.cpuid = std::array<uint8_t, 3>{0x19, 0x01, 0x01};
  Bytes milan_cpu = t::BuildReport(rs);
  t::SignReport(milan_cpu, key);
  EXPECT_REFUSED(Verify(milan_cpu, vcek, *turin_), Code::kVerificationFailed,
                 "CPUID says Milan, but the VCEK is for Turin");
}

TEST_F(SnpSyntheticTest, SignedReportWithWrongTcbOrChipIsRefused) {
  crypto::PKey key = NewKey();
  Bytes chip(64, 0x11);
  t::LeafSpec spec;
  spec.hwid = chip;
  x509::Certificate vcek = t::MakeLeaf(spec, milan_->ask, milan_->ask_key, key);
  t::ReportSpec rs;
  rs.chip_id = chip;
  rs.tcb = 0x7308000000000003;
  Bytes good = t::BuildReport(rs);
  t::SignReport(good, key);
  ASSERT_TRUE(Verify(good, vcek, *milan_).ok());

  rs.tcb = 0x7309000000000003;  // correctly signed, but for SNP SPL 9
  Bytes newer = t::BuildReport(rs);
  t::SignReport(newer, key);
  EXPECT_REFUSED(Verify(newer, vcek, *milan_), Code::kVerificationFailed, "[snp 9 vs 8]");

  rs.tcb = 0x7308000000000003;
  rs.chip_id = Bytes(64, 0x22);  // correctly signed by this key, but naming another chip
  Bytes other_chip = t::BuildReport(rs);
  t::SignReport(other_chip, key);
  EXPECT_REFUSED(Verify(other_chip, vcek, *milan_), Code::kVerificationFailed, "is not the VCEK's hwID");

  // MASK_CHIP_KEY zeroes CHIP_ID; the hwID comparison is then skipped (the chip-unique key
  // signature still binds the report to the chip).
  Bytes masked = t::BuildReport(rs);
  std::fill(masked.begin() + 0x1A0, masked.begin() + 0x1E0, 0);
  masked[0x48] = 0x02;
  t::SignReport(masked, key);
  auto v = Verify(masked, vcek, *milan_);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->claims.extra["mask_chip_key"], true);
}

TEST_F(SnpSyntheticTest, UnpinnedOrForeignRootsAreRefused) {
  crypto::PKey key = NewKey();
  t::LeafSpec spec;
  spec.hwid = Bytes(64, 0);
  x509::Certificate vcek = t::MakeLeaf(spec, milan_->ask, milan_->ask_key, key);
  // The synthetic ARK-Milan is not AMD's: supplying it against the real anchors is refused.
  auto amd = internal::AmdTrustAnchors();
  ASSERT_TRUE(amd.ok());
  auto chain = internal::SelectChain(vcek, {milan_->ark, milan_->ask}, **amd);
  EXPECT_REFUSED(chain, Code::kVerificationFailed, "is not AMD's pinned root key for Milan");
  // Without a supplied chain the built-in AMD ASK is selected, which did not sign this VCEK.
  Inputs in;
  in.endorsement_cert = vcek.der();
  in.at = At("2026-01-01T00:00:00Z");
  EXPECT_REFUSED(ReportVerifier::Create(in), Code::kVerificationFailed, "AMD Milan VCEK chain");
  // A non-AMD certificate in the chain is refused by name.
  crypto::PKey other = crypto::RsaGenerate(2048, 65537).value();
  x509::Certificate stranger = t::MakeCert("Example Root", "Example Root", other, other, true, {}, 1577836800, 2366841600);
  EXPECT_REFUSED(internal::SelectChain(vcek, {stranger}, milan_->anchors), Code::kVerificationFailed,
                 "is not an AMD ARK, ASK or ASVK");
  // A leaf that is not issued by an AMD ASK/ASVK is refused.
  x509::Certificate odd = t::MakeCert("SEV-VCEK", "Example Root", key, other, false, {}, 1577836800, 2366841600);
  EXPECT_REFUSED(internal::SelectChain(odd, {}, milan_->anchors), Code::kVerificationFailed,
                 "is not an AMD ASK");
}

}  // namespace
}  // namespace confide::attestation::snp
