#include <gtest/gtest.h>

#include <random>

#include "confide/crypto.h"
#include "crypto/vector_file.h"

namespace confide::crypto {
namespace {

using testing::LoadVectorFile;

constexpr uint8_t kPoison = 0xee;

void ExpectAuthFailure(const Status& s) {
  EXPECT_EQ(s.code(), Code::kVerificationFailed) << s.ToString();
  EXPECT_NE(s.message().find("authentication failed"), std::string::npos) << s.message();
}

TEST(AesGcmTest, NistEncryptVectors) {
  auto recs = LoadVectorFile("crypto/aes256gcm_nist.rsp");
  ASSERT_TRUE(recs.ok()) << recs.status().ToString();
  int encrypt = 0;
  for (const auto& r : *recs) {
    if (!r.Has("Encrypt")) continue;
    SCOPED_TRACE(r.Where());
    ++encrypt;
    Bytes pt = r.Hex("PT"), want_ct = r.Hex("CT"), want_tag = r.Hex("Tag");
    auto sealed = AesGcmSeal(r.Hex("Key"), r.Hex("IV"), r.Hex("AAD"), pt);
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    Bytes expected = want_ct;
    Append(expected, want_tag);
    EXPECT_EQ(HexEncode(*sealed), HexEncode(expected));

    auto gcm = AesGcm::Create(r.Hex("Key"));
    ASSERT_TRUE(gcm.ok());
    Bytes ct(pt.size()), tag(kAesGcmTagSize);
    ASSERT_TRUE(gcm->Encrypt(r.Hex("IV"), r.Hex("AAD"), pt, ct.data(), tag.data()).ok());
    EXPECT_EQ(ct, want_ct);
    EXPECT_EQ(tag, want_tag);
  }
  EXPECT_EQ(encrypt, 3);
}

TEST(AesGcmTest, NistDecryptVectorsIncludingFailCases) {
  auto recs = LoadVectorFile("crypto/aes256gcm_nist.rsp");
  ASSERT_TRUE(recs.ok());
  int pass = 0, fail = 0;
  for (const auto& r : *recs) {
    if (!r.Has("Decrypt")) continue;
    SCOPED_TRACE(r.Where());
    Bytes ct = r.Hex("CT"), tag = r.Hex("Tag");
    auto gcm = AesGcm::Create(r.Hex("Key"));
    ASSERT_TRUE(gcm.ok());
    Bytes out(ct.size(), kPoison);
    Status s = gcm->Decrypt(r.Hex("IV"), r.Hex("AAD"), ct, tag, out.data());
    Bytes sealed = ct;
    Append(sealed, tag);
    auto opened = AesGcmOpen(r.Hex("Key"), r.Hex("IV"), r.Hex("AAD"), sealed);
    if (r.HasFlag("FAIL")) {
      ++fail;
      ExpectAuthFailure(s);
      EXPECT_EQ(out, Bytes(ct.size(), 0)) << "plaintext buffer must be wiped";
      ASSERT_FALSE(opened.ok());
      ExpectAuthFailure(opened.status());
    } else {
      ++pass;
      ASSERT_TRUE(s.ok()) << s.ToString();
      EXPECT_EQ(HexEncode(out), r.Get("PT"));
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      EXPECT_EQ(HexEncode(opened->span()), r.Get("PT"));
    }
  }
  EXPECT_EQ(pass, 10);
  EXPECT_EQ(fail, 6);
}

class AesGcmTamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937 rng(5);
    for (auto* b : {&key_, &iv_, &aad_, &pt_}) {
      for (auto& x : *b) x = static_cast<uint8_t>(rng());
    }
    auto sealed = AesGcmSeal(key_, iv_, aad_, pt_);
    ASSERT_TRUE(sealed.ok());
    sealed_ = *sealed;
    auto back = AesGcmOpen(key_, iv_, aad_, sealed_);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    ASSERT_EQ(Bytes(back->span().begin(), back->span().end()), pt_);
  }
  // Decrypts with the class API into a poisoned buffer and checks it is wiped on failure.
  void ExpectRefused(ByteSpan key, ByteSpan iv, ByteSpan aad, ByteSpan sealed) {
    size_t n = sealed.size() - kAesGcmTagSize;
    auto gcm = AesGcm::Create(key);
    ASSERT_TRUE(gcm.ok());
    Bytes out(n, kPoison);
    ExpectAuthFailure(gcm->Decrypt(iv, aad, sealed.first(n), sealed.subspan(n), out.data()));
    EXPECT_EQ(out, Bytes(n, 0));
    auto opened = AesGcmOpen(key, iv, aad, sealed);
    ASSERT_FALSE(opened.ok());
    ExpectAuthFailure(opened.status());
  }
  Bytes key_ = Bytes(32), iv_ = Bytes(12), aad_ = Bytes(20), pt_ = Bytes(100), sealed_;
};

TEST_F(AesGcmTamperTest, FlippedCiphertextBit) {
  for (size_t i : {size_t{0}, size_t{57}, size_t{99}}) {
    Bytes bad = sealed_;
    bad[i] ^= 0x01;
    ExpectRefused(key_, iv_, aad_, bad);
  }
}

TEST_F(AesGcmTamperTest, FlippedTagBit) {
  for (size_t i = 100; i < 116; i += 5) {
    Bytes bad = sealed_;
    bad[i] ^= 0x80;
    ExpectRefused(key_, iv_, aad_, bad);
  }
}

TEST_F(AesGcmTamperTest, FlippedAadBitOrMissingAad) {
  Bytes aad = aad_;
  aad[7] ^= 0x04;
  ExpectRefused(key_, iv_, aad, sealed_);
  ExpectRefused(key_, iv_, Bytes{}, sealed_);
}

TEST_F(AesGcmTamperTest, FlippedIvBit) {
  Bytes iv = iv_;
  iv[11] ^= 0x01;
  ExpectRefused(key_, iv, aad_, sealed_);
}

TEST_F(AesGcmTamperTest, WrongKey) {
  Bytes key = key_;
  key[0] ^= 0x01;
  ExpectRefused(key, iv_, aad_, sealed_);
}

TEST_F(AesGcmTamperTest, TruncatedOrExtendedSealedData) {
  ExpectRefused(key_, iv_, aad_, ByteSpan(sealed_).first(sealed_.size() - 1));
  Bytes longer = sealed_;
  longer.insert(longer.begin() + 100, 0x00);
  ExpectRefused(key_, iv_, aad_, longer);
}

TEST(AesGcmArgsTest, WrongKeySizeIsInvalidArgument) {
  Bytes iv(12), pt(5);
  for (size_t n : {0, 16, 24, 31, 33, 64}) {
    SCOPED_TRACE(n);
    Bytes key(n, 1);
    auto c = AesGcm::Create(key);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
    EXPECT_NE(c.status().message().find("32 bytes"), std::string::npos) << c.status().message();
    EXPECT_EQ(AesGcmSeal(key, iv, {}, pt).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(AesGcmOpen(key, iv, {}, Bytes(32)).status().code(), Code::kInvalidArgument);
  }
}

TEST(AesGcmArgsTest, WrongIvOrTagSizeIsInvalidArgument) {
  Bytes key(32, 2), pt(8), ct(8), tag(16);
  auto gcm = AesGcm::Create(key);
  ASSERT_TRUE(gcm.ok());
  for (size_t n : {0, 8, 11, 13, 16}) {
    Bytes iv(n);
    Status s = gcm->Encrypt(iv, {}, pt, ct.data(), tag.data());
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << n;
    EXPECT_NE(s.message().find("12 bytes"), std::string::npos) << s.message();
    EXPECT_EQ(gcm->Decrypt(iv, {}, ct, tag, pt.data()).code(), Code::kInvalidArgument) << n;
  }
  Bytes iv(12);
  ASSERT_TRUE(gcm->Encrypt(iv, {}, pt, ct.data(), tag.data()).ok());
  for (size_t n : {0, 4, 12, 15, 17}) {
    Bytes short_tag(tag.begin(), tag.begin() + std::min(n, tag.size()));
    short_tag.resize(n);
    Status s = gcm->Decrypt(iv, {}, ct, short_tag, pt.data());
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << n;
    EXPECT_NE(s.message().find("16 bytes"), std::string::npos) << s.message();
  }
  auto short_sealed = AesGcmOpen(key, iv, {}, Bytes(15));
  EXPECT_EQ(short_sealed.status().code(), Code::kInvalidArgument);
}

TEST(AesGcmTest, OneObjectManyMessagesAndMoves) {
  Bytes key(32, 7);
  auto gcm = AesGcm::Create(key);
  ASSERT_TRUE(gcm.ok());
  AesGcm a = std::move(*gcm);
  for (uint8_t i = 0; i < 20; ++i) {
    Bytes iv(12, i), pt(i * 13, i), ct(pt.size()), tag(16), back(pt.size());
    ASSERT_TRUE(a.Encrypt(iv, Bytes{i}, pt, ct.data(), tag.data()).ok());
    // The stateful object must agree with the one-shot helper for every message.
    auto sealed = AesGcmSeal(key, iv, Bytes{i}, pt);
    ASSERT_TRUE(sealed.ok());
    Bytes joined = ct;
    Append(joined, tag);
    EXPECT_EQ(joined, *sealed);
    ASSERT_TRUE(a.Decrypt(iv, Bytes{i}, ct, tag, back.data()).ok());
    EXPECT_EQ(back, pt);
  }
  AesGcm b = std::move(a);
  Bytes iv(12), pt(4, 1), ct(4), tag(16);
  EXPECT_TRUE(b.Encrypt(iv, {}, pt, ct.data(), tag.data()).ok());
  // A moved-from object refuses clearly instead of crashing.
  Status s = a.Encrypt(iv, {}, pt, ct.data(), tag.data());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("moved"), std::string::npos) << s.message();
  a = std::move(b);
  EXPECT_TRUE(a.Encrypt(iv, {}, pt, ct.data(), tag.data()).ok());
}

TEST(AesGcmTest, EmptyPlaintextAuthenticatesAadOnly) {
  Bytes key(32, 3), iv(12, 4);
  auto sealed = AesGcmSeal(key, iv, AsBytes("header"), {});
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), kAesGcmTagSize);
  EXPECT_TRUE(AesGcmOpen(key, iv, AsBytes("header"), *sealed).ok());
  ExpectAuthFailure(AesGcmOpen(key, iv, AsBytes("Header"), *sealed).status());
}

TEST(AesGcmTest, OneMebibyteRoundTrip) {
  Bytes key = RandomBytes(32), iv = RandomBytes(12), pt = RandomBytes(1 << 20);
  auto sealed = AesGcmSeal(key, iv, {}, pt);
  ASSERT_TRUE(sealed.ok());
  EXPECT_NE(Bytes(sealed->begin(), sealed->begin() + 64), Bytes(pt.begin(), pt.begin() + 64));
  auto back = AesGcmOpen(key, iv, {}, *sealed);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(ConstantTimeEqual(back->span(), pt));
}

}  // namespace
}  // namespace confide::crypto
