#include <dlfcn.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "confide/image.h"
#include "image/elf_builder.h"
#include "image/test_keys.h"

namespace confide::image {
namespace {

using ::confide::testing::BuildElf;
using ::confide::testing::Pattern;
using ::confide::testing::SigningKey;
using ::confide::testing::TestElfOptions;
using ::confide::testing::TestSegment;
using ::confide::testing::TwoSegments;
using ::testing::HasSubstr;

EnclaveConfig BaseConfig() {
  EnclaveConfig c;
  c.debug = false;
  c.product_id = 7;
  c.security_version = 3;
  c.num_heap_pages = 1024;
  c.num_stack_pages = 16;
  c.num_tcs = 4;
  return c;
}

const char* kGoodConfig =
    "# enclave settings\n"
    "Debug=1\n"
    "\n"
    "NumHeapPages = 0x400\n"
    "  NumStackPages=16\r\n"
    "NumTCS\t=\t4\n"
    "ProductID=7\n"
    "SecurityVersion=65534\n";

Bytes TestEnclaveBytes() {
  auto b = ReadFile(CONFIDE_TEST_ENCLAVE);
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  return b.ok() ? *b : Bytes{};
}

// ------------------------------------------------------------------ config
TEST(ConfigTest, ParsesOeSyntax) {
  auto c = ParseConfig(kGoodConfig);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->debug);
  EXPECT_EQ(c->num_heap_pages, 1024u);
  EXPECT_EQ(c->num_stack_pages, 16u);
  EXPECT_EQ(c->num_tcs, 4u);
  EXPECT_EQ(c->product_id, 7);
  EXPECT_EQ(c->security_version, 65534);
}

TEST(ConfigTest, FormatRoundTrips) {
  EnclaveConfig c = BaseConfig();
  auto back = ParseConfig(FormatConfig(c));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, c);
}

std::string WithoutKey(const std::string& key) {
  std::string out;
  for (std::string line : {"Debug=0", "NumHeapPages=10", "NumStackPages=2", "NumTCS=1", "ProductID=1",
                           "SecurityVersion=1"})
    if (line.rfind(key + "=", 0) != 0) out += line + "\n";
  return out;
}

TEST(ConfigTest, MissingKeyIsNamed) {
  for (std::string key : {"Debug", "NumHeapPages", "NumStackPages", "NumTCS", "ProductID", "SecurityVersion"}) {
    auto c = ParseConfig(WithoutKey(key), "enclave.conf");
    ASSERT_FALSE(c.ok()) << key;
    EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(c.status().message(), HasSubstr("missing '" + key + "'"));
    EXPECT_THAT(c.status().message(), HasSubstr("enclave.conf"));
  }
}

TEST(ConfigTest, NonNumericValueNamesKeyAndLine) {
  for (std::string bad : {"abc", "-1", "12k", "0x", "1.5", "0xZZ", "1 # comment"}) {
    auto c = ParseConfig(WithoutKey("NumTCS") + "NumTCS=" + bad + "\n", "my.conf");
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_THAT(c.status().message(), HasSubstr("'NumTCS' must be a non-negative integer")) << bad;
    EXPECT_THAT(c.status().message(), HasSubstr("my.conf:6:")) << bad;
  }
}

TEST(ConfigTest, OutOfRangeValuesAreNamed) {
  struct Case {
    std::string key, value;
  } cases[] = {{"Debug", "2"},         {"NumHeapPages", "0"},  {"NumHeapPages", "4194305"},
               {"NumStackPages", "0"}, {"NumStackPages", "65537"}, {"NumTCS", "0"},
               {"NumTCS", "1025"},     {"ProductID", "65535"}, {"SecurityVersion", "65535"},
               {"NumHeapPages", "99999999999999999999999"}};
  for (const Case& k : cases) {
    auto c = ParseConfig(WithoutKey(k.key) + k.key + "=" + k.value + "\n");
    ASSERT_FALSE(c.ok()) << k.key << "=" << k.value;
    EXPECT_EQ(c.status().code(), Code::kOutOfRange) << k.key << "=" << k.value;
    EXPECT_THAT(c.status().message(), HasSubstr("'" + k.key + "'")) << k.key << "=" << k.value;
  }
  // The bounds themselves are accepted.
  EXPECT_TRUE(ParseConfig(WithoutKey("NumTCS") + "NumTCS=1024\n").ok());
  EXPECT_TRUE(ParseConfig(WithoutKey("NumHeapPages") + "NumHeapPages=4194304\n").ok());
}

TEST(ConfigTest, DuplicateUnknownAndSyntaxErrors) {
  auto dup = ParseConfig(WithoutKey("") + "ProductID=2\n");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(dup.status().message(), HasSubstr("duplicate 'ProductID'"));
  EXPECT_THAT(dup.status().message(), HasSubstr("first set at line 5"));

  auto unknown = ParseConfig(WithoutKey("") + "NumHeapPagez=3\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown key 'NumHeapPagez'"));

  auto lower = ParseConfig(WithoutKey("Debug") + "debug=0\n");
  ASSERT_FALSE(lower.ok());
  EXPECT_THAT(lower.status().message(), HasSubstr("unknown key 'debug'"));

  auto oe_only = ParseConfig(WithoutKey("") + "FamilyID=47183823-2574-4bfd-b411-99ed177d3e43\n");
  ASSERT_FALSE(oe_only.ok());
  EXPECT_EQ(oe_only.status().code(), Code::kUnsupported);
  EXPECT_THAT(oe_only.status().message(), HasSubstr("'FamilyID'"));

  auto syntax = ParseConfig("Debug=0\nNumTCS 4\n", "x.conf");
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(syntax.status().message(), HasSubstr("x.conf:2: expected 'Key=Value'"));

  auto empty_value = ParseConfig(WithoutKey("NumTCS") + "NumTCS=\n");
  ASSERT_FALSE(empty_value.ok());
  EXPECT_THAT(empty_value.status().message(), HasSubstr("missing value for 'NumTCS'"));

  auto nothing = ParseConfig("");
  ASSERT_FALSE(nothing.ok());
  EXPECT_THAT(nothing.status().message(), HasSubstr("missing 'Debug'"));
}

TEST(ConfigTest, LoadConfigFileNamesPath) {
  auto missing = LoadConfigFile("/nonexistent/enclave.conf");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/enclave.conf"));
}

TEST(ConfigTest, ValidateConfigNamesKey) {
  EnclaveConfig c = BaseConfig();
  c.num_tcs = 5000;
  Status s = ValidateConfig(c);
  EXPECT_EQ(s.code(), Code::kOutOfRange);
  EXPECT_THAT(s.message(), HasSubstr("'NumTCS'"));
}

// ------------------------------------------------------------------ ELF
TEST(ElfTest, ParsesCompiledSharedObject) {
  Bytes so = TestEnclaveBytes();
  auto info = ParseElf(so);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_GE(info->segments.size(), 2u);
  bool has_exec = false;
  for (const LoadSegment& s : info->segments) has_exec |= (s.flags & 1) != 0;
  EXPECT_TRUE(has_exec);
  EXPECT_GE(info->image_pages, 3u);  // the .bss alone spans three pages
}

TEST(ElfTest, ParsesHandBuiltLayout) {
  auto info = ParseElf(BuildElf(TwoSegments()));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_EQ(info->segments.size(), 2u);
  EXPECT_EQ(info->phdrs.size(), 3u);
  EXPECT_EQ(info->image_pages, 6u);
  EXPECT_EQ(info->segments[1].vaddr, 0x3100u);
  EXPECT_EQ(info->segments[1].memsz, 300u + 2 * 4096);
}

void ExpectElfError(ByteSpan elf, std::string_view fragment) {
  auto info = ParseElf(elf);
  ASSERT_FALSE(info.ok()) << "expected: " << fragment;
  EXPECT_EQ(info.status().code(), Code::kInvalidArgument) << info.status().ToString();
  EXPECT_THAT(info.status().message(), HasSubstr(std::string(fragment)));
}

TEST(ElfTest, RefusesNonElfAndTruncated) {
  ExpectElfError({}, "not an ELF file");
  ExpectElfError(AsBytes("hello, this is not an ELF file at all, just some text......."), "not an ELF file");
  Bytes elf = BuildElf(TwoSegments());
  ExpectElfError(ByteSpan(elf).first(40), "truncated ELF file");
  ExpectElfError(ByteSpan(elf).first(100), "program header table");
  ExpectElfError(ByteSpan(elf).first(elf.size() - 1), "truncated ELF file: PT_LOAD segment");
}

TEST(ElfTest, RefusesWrongClassEncodingTypeMachine) {
  TestElfOptions o;
  o.elf_class = 1;
  ExpectElfError(BuildElf(TwoSegments(), o), "ELFCLASS64");
  o = {};
  o.data_encoding = 2;
  ExpectElfError(BuildElf(TwoSegments(), o), "little-endian");
  o = {};
  o.type = 2;
  ExpectElfError(BuildElf(TwoSegments(), o), "ET_EXEC");
  o = {};
  o.type = 1;
  ExpectElfError(BuildElf(TwoSegments(), o), "not ET_DYN");
  o = {};
  o.machine = 183;
  ExpectElfError(BuildElf(TwoSegments(), o), "EM_AARCH64");
}

TEST(ElfTest, RefusesBadSegments) {
  ExpectElfError(BuildElf({}), "no PT_LOAD segment");
  auto segs = TwoSegments();
  segs[1].vaddr = 0x1000;  // shares page 0x1000 with the code segment
  ExpectElfError(BuildElf(segs), "overlaps or shares a page");
  segs = TwoSegments();
  std::swap(segs[0], segs[1]);  // descending addresses
  ExpectElfError(BuildElf(segs), "ascending address order");
  segs = TwoSegments();
  segs[1].memsz = 10;  // smaller than the file bytes
  ExpectElfError(BuildElf(segs), "exceeds p_memsz");
  segs = TwoSegments();
  segs[1].memsz = (1ull << 30) + 1;
  ExpectElfError(BuildElf(segs), "up to 1 GiB");

  Bytes elf = BuildElf(TwoSegments());
  elf[64 + 8] += 1;  // p_offset of the first PT_LOAD no longer congruent to p_vaddr
  ExpectElfError(elf, "differ modulo the 4 KiB page size");
}

// ------------------------------------------------------------------ measurement
// docs/enclave-image.md, coded again from the text: ECREATE record, one EPHDR record per
// program header, then per page an EADD record and the page's 4096 bytes; SHA-256 of it all.
Digest ExpectedMrEnclave(const std::vector<TestSegment>& segs, const Bytes& elf, uint64_t image_pages,
                         const EnclaveConfig& c) {
  Bytes m;
  auto rec = [&](const char tag[8]) {
    size_t at = m.size();
    m.resize(at + 64, 0);
    std::memcpy(m.data() + at, tag, 8);
    return at;
  };
  size_t at = rec("ECREATE\0");
  testing::PutLe(m, at + 8, image_pages, 8);
  testing::PutLe(m, at + 16, c.num_heap_pages, 8);
  testing::PutLe(m, at + 24, c.num_stack_pages, 8);
  testing::PutLe(m, at + 32, c.num_tcs, 8);
  uint64_t phnum = elf[56] | elf[57] << 8;
  for (uint64_t i = 0; i < phnum; ++i) {
    at = rec("EPHDR\0\0\0");
    std::memcpy(m.data() + at + 8, elf.data() + 64 + i * 56, 56);
  }
  for (const TestSegment& s : segs) {
    uint64_t memsz = s.memsz ? s.memsz : s.data.size();
    // The segment as it lies in memory, from its first page to its last.
    uint64_t first = s.vaddr / 4096 * 4096;
    uint64_t last = (s.vaddr + memsz + 4095) / 4096 * 4096;
    Bytes mem(last - first, 0);
    std::memcpy(mem.data() + (s.vaddr - first), s.data.data(), s.data.size());
    for (uint64_t p = first; p < last; p += 4096) {
      at = rec("EADD\0\0\0\0");
      testing::PutLe(m, at + 8, p, 8);
      testing::PutLe(m, at + 16, s.flags, 4);
      m.insert(m.end(), mem.begin() + (p - first), mem.begin() + (p - first) + 4096);
    }
  }
  Digest d;
  SHA256(m.data(), m.size(), d.data());
  return d;
}

TEST(MeasureTest, MatchesIndependentRecomputation) {
  auto segs = TwoSegments();
  Bytes elf = BuildElf(segs);
  EnclaveConfig c = BaseConfig();
  auto mr = ComputeMrEnclave(elf, c);
  ASSERT_TRUE(mr.ok()) << mr.status().ToString();
  EXPECT_EQ(HexEncode(*mr), HexEncode(ExpectedMrEnclave(segs, elf, 6, c)));

  // A single page-aligned segment with no .bss, no extra headers.
  std::vector<TestSegment> one = {TestSegment{0x2000, 5, Pattern(4096, 3), 0}};
  TestElfOptions o;
  o.add_gnu_stack = false;
  Bytes elf1 = BuildElf(one, o);
  auto mr1 = ComputeMrEnclave(elf1, c);
  ASSERT_TRUE(mr1.ok()) << mr1.status().ToString();
  EXPECT_EQ(HexEncode(*mr1), HexEncode(ExpectedMrEnclave(one, elf1, 1, c)));
}

TEST(MeasureTest, ChangesWithLayoutAndCode) {
  Bytes elf = BuildElf(TwoSegments());
  EnclaveConfig c = BaseConfig();
  Digest base = *ComputeMrEnclave(elf, c);
  for (int field = 0; field < 3; ++field) {
    EnclaveConfig d = c;
    (field == 0 ? d.num_heap_pages : field == 1 ? d.num_stack_pages : d.num_tcs) += 1;
    auto mr = ComputeMrEnclave(elf, d);
    ASSERT_TRUE(mr.ok());
    EXPECT_NE(*mr, base) << "layout field " << field;
  }
  auto segs = TwoSegments();
  segs[0].data[100] ^= 1;
  EXPECT_NE(*ComputeMrEnclave(BuildElf(segs), c), base);
  segs = TwoSegments();
  segs[1].flags = 7;  // RWX instead of RW
  EXPECT_NE(*ComputeMrEnclave(BuildElf(segs), c), base);
  segs = TwoSegments();
  segs[1].memsz += 4096;  // one more .bss page
  EXPECT_NE(*ComputeMrEnclave(BuildElf(segs), c), base);
  TestElfOptions o;
  o.add_gnu_stack = false;  // the non-PT_LOAD header is measured too
  EXPECT_NE(*ComputeMrEnclave(BuildElf(TwoSegments(), o), c), base);
}

TEST(MeasureTest, IndependentOfSignedAttributes) {
  Bytes elf = BuildElf(TwoSegments());
  EnclaveConfig c = BaseConfig();
  Digest base = *ComputeMrEnclave(elf, c);
  EnclaveConfig d = c;
  d.debug = !c.debug;
  d.product_id = 999;
  d.security_version = 12;
  EXPECT_EQ(*ComputeMrEnclave(elf, d), base);
}

TEST(MeasureTest, RejectsInvalidConfig) {
  EnclaveConfig c = BaseConfig();
  c.num_heap_pages = 0;
  auto mr = ComputeMrEnclave(BuildElf(TwoSegments()), c);
  ASSERT_FALSE(mr.ok());
  EXPECT_EQ(mr.status().code(), Code::kOutOfRange);
  EXPECT_THAT(mr.status().message(), HasSubstr("'NumHeapPages'"));
}

// MRSIGNER recomputed straight from OpenSSL: SHA-256 of the 384-byte little-endian modulus.
Digest IndependentMrSigner(const crypto::PKey& key) {
  BIGNUM* n = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_RSA_N, &n), 1);
  unsigned char le[384];
  EXPECT_EQ(BN_bn2lebinpad(n, le, sizeof le), 384);
  BN_free(n);
  Digest d;
  SHA256(le, sizeof le, d.data());
  return d;
}

TEST(MrSignerTest, IsSha256OfLittleEndianModulus) {
  const crypto::PKey& key = SigningKey();
  auto mrsigner = MrSignerOf(key);
  ASSERT_TRUE(mrsigner.ok()) << mrsigner.status().ToString();
  EXPECT_EQ(HexEncode(*mrsigner), HexEncode(IndependentMrSigner(key)));

  auto signed_image = Sign(BuildElf(TwoSegments()), BaseConfig(), key);
  ASSERT_TRUE(signed_image.ok()) << signed_image.status().ToString();
  auto img = LoadAndVerify(*signed_image);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  EXPECT_EQ(HexEncode(img->mrsigner), HexEncode(IndependentMrSigner(key)));
}

// ------------------------------------------------------------------ signing
TEST(SignTest, SignsAndVerifiesCompiledObject) {
  Bytes so = TestEnclaveBytes();
  EnclaveConfig c = BaseConfig();
  auto signed_image = Sign(so, c, SigningKey());
  ASSERT_TRUE(signed_image.ok()) << signed_image.status().ToString();
  EXPECT_EQ(signed_image->size(), so.size() + kTrailerSize);
  EXPECT_TRUE(HasSignature(*signed_image));
  EXPECT_FALSE(HasSignature(so));

  auto img = LoadAndVerify(*signed_image);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  EXPECT_TRUE(img->signature_valid);
  EXPECT_EQ(img->config, c);
  EXPECT_EQ(img->attributes, kAttrMode64Bit);
  EXPECT_TRUE(std::equal(img->elf.begin(), img->elf.end(), so.begin(), so.end()));
  EXPECT_EQ(img->mrenclave, *ComputeMrEnclave(so, c));
  EXPECT_TRUE(VerifySignedImage(*signed_image).ok());

  c.debug = true;
  auto debug_image = Sign(so, c, SigningKey());
  ASSERT_TRUE(debug_image.ok());
  auto dimg = LoadAndVerify(*debug_image);
  ASSERT_TRUE(dimg.ok());
  EXPECT_TRUE(dimg->config.debug);
  EXPECT_EQ(dimg->attributes, kAttrMode64Bit | kAttrDebug);
  EXPECT_EQ(dimg->mrenclave, img->mrenclave);
}

TEST(SignTest, ResigningReplacesSignatureAndKeepsMrEnclave) {
  Bytes elf = BuildElf(TwoSegments());
  EnclaveConfig c = BaseConfig();
  auto first = Sign(elf, c, SigningKey(0));
  ASSERT_TRUE(first.ok());
  EnclaveConfig c2 = c;
  c2.product_id = 8;
  c2.security_version = 9;
  auto second = Sign(*first, c2, SigningKey(1));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->size(), elf.size() + kTrailerSize);  // one trailer, not two

  auto a = LoadAndVerify(*first);
  auto b = LoadAndVerify(*second);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->mrenclave, b->mrenclave);
  EXPECT_NE(a->mrsigner, b->mrsigner);
  EXPECT_EQ(b->config.product_id, 8);
  EXPECT_TRUE(std::equal(b->elf.begin(), b->elf.end(), elf.begin(), elf.end()));

  // Signing the same ELF directly with the second key and config gives the same bytes
  // (PKCS#1 v1.5 is deterministic).
  auto direct = Sign(elf, c2, SigningKey(1));
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(*direct, *second);
}

TEST(SignTest, RefusesWrongKeys) {
  struct Case {
    int bits;
    unsigned long e;
    std::string fragment;
  } cases[] = {{2048, 3, "RSA-2048"}, {3072, 65537, "public exponent 65537"}};
  Bytes elf = BuildElf(TwoSegments());
  for (const Case& k : cases) {
    auto key = crypto::RsaGenerate(k.bits, k.e);
    ASSERT_TRUE(key.ok());
    auto s = Sign(elf, BaseConfig(), *key);
    ASSERT_FALSE(s.ok()) << k.fragment;
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(s.status().message(), HasSubstr(k.fragment));
    EXPECT_THAT(s.status().message(), HasSubstr("must be RSA-3072 with public exponent 3"));
  }
  auto ec = crypto::EcGenerate(crypto::Curve::kP256);
  ASSERT_TRUE(ec.ok());
  auto s = Sign(elf, BaseConfig(), *ec);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("EC P-256"));

  Status none = CheckSigningKey(crypto::PKey());
  EXPECT_EQ(none.code(), Code::kInvalidArgument);
}

TEST(SignTest, RefusesBadInput) {
  auto not_elf = Sign(AsBytes("definitely not an ELF file........................................"),
                      BaseConfig(), SigningKey());
  ASSERT_FALSE(not_elf.ok());
  EXPECT_THAT(not_elf.status().message(), HasSubstr("not an ELF file"));

  EnclaveConfig c = BaseConfig();
  c.num_tcs = 0;
  auto bad_config = Sign(BuildElf(TwoSegments()), c, SigningKey());
  ASSERT_FALSE(bad_config.ok());
  EXPECT_EQ(bad_config.status().code(), Code::kOutOfRange);
  EXPECT_THAT(bad_config.status().message(), HasSubstr("'NumTCS'"));

  auto signed_image = Sign(BuildElf(TwoSegments()), BaseConfig(), SigningKey());
  ASSERT_TRUE(signed_image.ok());
  Bytes damaged = *signed_image;
  damaged[damaged.size() - kTrailerSize] ^= 0xff;  // body magic
  auto resign = Sign(damaged, BaseConfig(), SigningKey());
  ASSERT_FALSE(resign.ok());
  EXPECT_THAT(resign.status().message(), HasSubstr("signature footer, but"));
}

// ------------------------------------------------------------------ tampering
class TamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    elf_ = TestEnclaveBytes();
    auto s = Sign(elf_, BaseConfig(), SigningKey());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    signed_ = *s;
  }
  size_t BodyAt() const { return signed_.size() - kTrailerSize; }
  void ExpectRefused(const Bytes& image, Code code, std::string_view fragment) {
    Status s = VerifySignedImage(image);
    EXPECT_EQ(s.code(), code) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr(std::string(fragment)));
    auto loaded = LoadAndVerify(image);
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), code);
  }
  // Re-signs the (modified) body with the real key: a signer that lies about its content.
  void Resign(Bytes& image) {
    ByteSpan body = ByteSpan(image).subspan(BodyAt(), kSignedBodySize);
    auto sig = crypto::RsaSignPkcs1(SigningKey(), crypto::HashAlg::kSha256, body);
    ASSERT_TRUE(sig.ok());
    std::copy(sig->rbegin(), sig->rend(), image.begin() + BodyAt() + kSignedBodySize);
  }
  Bytes elf_, signed_;
};

TEST_F(TamperTest, FlippedCodeByte) {
  auto info = ParseElf(elf_);
  ASSERT_TRUE(info.ok());
  const LoadSegment* code = nullptr;
  for (const LoadSegment& s : info->segments)
    if (s.flags & 1) code = &s;
  ASSERT_NE(code, nullptr);
  Bytes t = signed_;
  t[code->offset + code->filesz / 2] ^= 0x01;
  ExpectRefused(t, Code::kVerificationFailed, "ELF content was altered after signing");
  auto img = ParseSignedImage(t);
  ASSERT_TRUE(img.ok());
  EXPECT_TRUE(img->signature_valid);  // the trailer itself is intact
}

TEST_F(TamperTest, FlippedByteOutsideLoadedSegments) {
  // The section header table is not loaded, so MRENCLAVE does not cover it, but the signed
  // ELF hash does.
  uint64_t shoff = 0;
  for (int i = 7; i >= 0; --i) shoff = shoff << 8 | elf_[40 + i];
  ASSERT_GT(shoff, 0u);
  ASSERT_LT(shoff, elf_.size());
  Bytes t = signed_;
  t[shoff + 5] ^= 0x10;
  ExpectRefused(t, Code::kVerificationFailed, "ELF content was altered after signing");
}

TEST_F(TamperTest, FlippedConfigField) {
  Bytes t = signed_;
  t[BodyAt() + 96] ^= 0x01;  // product_id
  ExpectRefused(t, Code::kVerificationFailed, "signature does not verify");
  auto img = ParseSignedImage(t);
  ASSERT_TRUE(img.ok());
  EXPECT_FALSE(img->signature_valid);
  EXPECT_EQ(img->config.product_id, BaseConfig().product_id ^ 1);  // shows what it claims

  t = signed_;
  t[BodyAt() + 104] ^= 0x01;  // num_heap_pages
  ExpectRefused(t, Code::kVerificationFailed, "signature does not verify");
  t = signed_;
  t[BodyAt() + 88] ^= kAttrDebug;  // turn on debugging
  ExpectRefused(t, Code::kVerificationFailed, "signature does not verify");
}

TEST_F(TamperTest, FlippedSignatureOrModulus) {
  Bytes t = signed_;
  t[BodyAt() + kSignedBodySize + 100] ^= 0x01;
  ExpectRefused(t, Code::kVerificationFailed, "signature does not verify");
  t = signed_;
  t[BodyAt() + 136 + 10] ^= 0x01;  // modulus: a different signer
  ExpectRefused(t, Code::kVerificationFailed, "signature does not verify");
  t = signed_;
  t[BodyAt() + 136 + 383] &= 0x7f;  // modulus shorter than 3072 bits
  ExpectRefused(t, Code::kVerificationFailed, "not a 3072-bit number");
  t = signed_;
  t[BodyAt() + 128] = 5;  // exponent
  ExpectRefused(t, Code::kVerificationFailed, "exponent is 5");
}

TEST_F(TamperTest, ChangedLength) {
  Bytes shorter = signed_;
  shorter.erase(shorter.begin() + static_cast<long>(BodyAt()) - 1);
  ExpectRefused(shorter, Code::kVerificationFailed, "bytes when signed");

  Bytes appended = signed_;
  appended.push_back(0);
  ExpectRefused(appended, Code::kInvalidArgument, "not signed");

  Bytes cut = signed_;
  cut.resize(cut.size() - 1);
  ExpectRefused(cut, Code::kInvalidArgument, "not signed");

  Bytes tiny(signed_.end() - kFooterSize, signed_.end());
  ExpectRefused(tiny, Code::kInvalidArgument, "truncated signed image");
}

TEST_F(TamperTest, UnknownVersions) {
  Bytes t = signed_;
  t[t.size() - kFooterSize] ^= 0x01;  // trailer_size
  ExpectRefused(t, Code::kUnsupported, "version-1 trailers");
  t = signed_;
  t[BodyAt() + 8] = 2;  // body version
  ExpectRefused(t, Code::kUnsupported, "version 2");
}

TEST_F(TamperTest, LyingSignerIsCaught) {
  Bytes t = signed_;
  t[BodyAt() + 56] ^= 0x01;  // MRENCLAVE
  Resign(t);
  ExpectRefused(t, Code::kVerificationFailed, "MRENCLAVE mismatch");

  t = signed_;
  t[BodyAt() + 88] = 0;  // attributes without MODE64BIT
  Resign(t);
  ExpectRefused(t, Code::kVerificationFailed, "MODE64BIT");

  t = signed_;
  t[BodyAt() + 120] = 0;  // num_tcs = 0
  Resign(t);
  ExpectRefused(t, Code::kVerificationFailed, "'NumTCS'");
}

// The soft runtime's check of a memfd the daemon verified in full: every byte is still
// covered (signature, signed fields, ELF hash); only the MRENCLAVE recomputation is skipped.
TEST_F(TamperTest, ExceptMeasurementChecksEverythingButTheMeasurement) {
  auto ok = LoadAndVerifyExceptMeasurement(signed_);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->config.num_tcs, BaseConfig().num_tcs);

  Bytes t = signed_;
  t[t.size() / 3] ^= 0x01;  // inside the ELF
  auto altered = LoadAndVerifyExceptMeasurement(t);
  ASSERT_FALSE(altered.ok());
  EXPECT_EQ(altered.status().code(), Code::kVerificationFailed);
  EXPECT_THAT(altered.status().message(), HasSubstr("ELF content was altered after signing"));

  t = signed_;
  t[BodyAt() + 120] ^= 0x01;  // num_tcs, not re-signed
  auto forged = LoadAndVerifyExceptMeasurement(t);
  ASSERT_FALSE(forged.ok());
  EXPECT_THAT(forged.status().message(), HasSubstr("signature does not verify"));

  // A signer that lies about MRENCLAVE is what it does not catch (LoadAndVerify does).
  t = signed_;
  t[BodyAt() + 56] ^= 0x01;
  Resign(t);
  EXPECT_TRUE(LoadAndVerifyExceptMeasurement(t).ok());
  EXPECT_THAT(LoadAndVerify(t).status().message(), HasSubstr("MRENCLAVE mismatch"));
}

TEST(UnsignedTest, MeasureNeedsSignature) {
  Bytes elf = TestEnclaveBytes();
  Status s = VerifySignedImage(elf);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("not signed"));
  Status junk = VerifySignedImage(AsBytes("#!/bin/sh\necho this is a script, not an enclave\n"));
  EXPECT_EQ(junk.code(), Code::kInvalidArgument);
  EXPECT_THAT(junk.message(), HasSubstr("not an ELF file"));
}

// ------------------------------------------------------------------ loadability
using AnswerFn = int (*)(int);

TEST(LoadTest, SignedImageLoadsWithDlopenFromFile) {
  auto signed_image = Sign(TestEnclaveBytes(), BaseConfig(), SigningKey());
  ASSERT_TRUE(signed_image.ok());
  char dir[] = "/tmp/confide-image-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/enclave.signed.so";
  ASSERT_TRUE(WriteFile(path, *signed_image, 0755).ok());
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  auto fn = reinterpret_cast<AnswerFn>(dlsym(h, "confide_test_answer"));
  ASSERT_NE(fn, nullptr);
  EXPECT_EQ(fn(2), 40 + 3 + 0);
  EXPECT_EQ(fn(0), 40 + 1 + 0);  // scratch[0] was written with 0
  dlclose(h);
  unlink(path.c_str());
  rmdir(dir);
}

TEST(LoadTest, SignedImageLoadsFromSealedMemfd) {
  auto signed_image = Sign(TestEnclaveBytes(), BaseConfig(), SigningKey(1));
  ASSERT_TRUE(signed_image.ok());
  auto img = LoadAndVerify(*signed_image);
  ASSERT_TRUE(img.ok());
  int fd = memfd_create("confide-enclave", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, signed_image->data(), signed_image->size()), static_cast<ssize_t>(signed_image->size()));
  ASSERT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL), 0);
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  auto fn = reinterpret_cast<AnswerFn>(dlsym(h, "confide_test_answer"));
  ASSERT_NE(fn, nullptr);
  EXPECT_EQ(fn(1), 42);
  dlclose(h);
  close(fd);
}

}  // namespace
}  // namespace confide::image
