#include <gtest/gtest.h>

#include <set>

#include "confide/crypto.h"
#include "crypto/vector_file.h"

namespace confide::crypto {
namespace {

using testing::LoadVectorFile;

TEST(HmacTest, Rfc4231Vectors) {
  auto recs = LoadVectorFile("crypto/hmac_rfc4231.txt");
  ASSERT_TRUE(recs.ok()) << recs.status().ToString();
  ASSERT_EQ(recs->size(), 7u);
  const std::pair<const char*, HashAlg> algs[] = {
      {"HMAC-SHA-256", HashAlg::kSha256}, {"HMAC-SHA-384", HashAlg::kSha384}, {"HMAC-SHA-512", HashAlg::kSha512}};
  for (const auto& r : *recs) {
    for (const auto& [field, alg] : algs) {
      SCOPED_TRACE(r.Where() + " " + field);
      Bytes mac = Hmac(alg, r.Hex("Key"), r.Hex("Data"));
      ASSERT_EQ(mac.size(), HashSize(alg));
      // Case 5 publishes a 128-bit truncation; the others the full MAC.
      std::string want = r.Get(field);
      EXPECT_EQ(HexEncode(mac).substr(0, want.size()), want);
      if (r.Get("Case") != "5") {
        EXPECT_EQ(want.size(), 2 * HashSize(alg));
      }
    }
  }
}

TEST(HmacTest, KeyAndDataBothMatter) {
  Bytes key(32, 0x11), data = {1, 2, 3};
  Bytes mac = Hmac(HashAlg::kSha256, key, data);
  Bytes key2 = key;
  key2[31] ^= 1;
  EXPECT_NE(Hmac(HashAlg::kSha256, key2, data), mac);
  EXPECT_NE(Hmac(HashAlg::kSha256, key, Bytes{1, 2, 4}), mac);
  EXPECT_NE(Hmac(HashAlg::kSha256, key, Bytes{}), mac);
}

TEST(HmacTest, EmptyKeyIsTheAllZeroBlockKey) {
  // HMAC pads short keys with zeros to the block size, so "" and 64 zero bytes are the same key.
  Bytes data = {'x'};
  EXPECT_EQ(Hmac(HashAlg::kSha256, Bytes{}, data), Hmac(HashAlg::kSha256, Bytes(64, 0), data));
  EXPECT_EQ(Hmac(HashAlg::kSha512, Bytes{}, data), Hmac(HashAlg::kSha512, Bytes(128, 0), data));
}

TEST(HkdfTest, Rfc5869Vectors) {
  auto recs = LoadVectorFile("crypto/hkdf_rfc5869.txt");
  ASSERT_TRUE(recs.ok()) << recs.status().ToString();
  ASSERT_EQ(recs->size(), 3u);
  for (const auto& r : *recs) {
    SCOPED_TRACE(r.Where());
    size_t len = std::stoul(r.Get("L"));
    auto okm = Hkdf(HashAlg::kSha256, r.Hex("IKM"), r.Hex("Salt"), r.Hex("Info"), len);
    ASSERT_TRUE(okm.ok()) << okm.status().ToString();
    EXPECT_EQ(HexEncode(okm->span()), r.Get("OKM"));
    // The PRK step is HMAC(salt, IKM) (RFC 5869 2.2); check the vector's PRK with our HMAC too.
    Bytes salt = r.Hex("Salt");
    if (salt.empty()) salt.assign(32, 0);
    EXPECT_EQ(HexEncode(Hmac(HashAlg::kSha256, salt, r.Hex("IKM"))), r.Get("PRK"));
  }
}

TEST(HkdfTest, ShorterOutputIsAPrefix) {
  Bytes ikm(22, 0x0b), salt = {1, 2, 3}, info = {9};
  auto l42 = Hkdf(HashAlg::kSha384, ikm, salt, info, 100);
  auto l10 = Hkdf(HashAlg::kSha384, ikm, salt, info, 10);
  ASSERT_TRUE(l42.ok() && l10.ok());
  EXPECT_EQ(Bytes(l42->span().begin(), l42->span().begin() + 10), Bytes(l10->span().begin(), l10->span().end()));
  // Different info gives an unrelated key.
  auto other = Hkdf(HashAlg::kSha384, ikm, salt, Bytes{8}, 10);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(HexEncode(other->span()), HexEncode(l10->span()));
}

TEST(HkdfTest, OutputLengthLimits) {
  Bytes ikm(16, 1);
  for (auto [alg, max] : {std::pair{HashAlg::kSha256, 255u * 32}, std::pair{HashAlg::kSha384, 255u * 48},
                          std::pair{HashAlg::kSha512, 255u * 64}}) {
    auto ok = Hkdf(alg, ikm, {}, {}, max);
    ASSERT_TRUE(ok.ok()) << ok.status().ToString();
    EXPECT_EQ(ok->size(), max);
    auto too_long = Hkdf(alg, ikm, {}, {}, max + 1);
    ASSERT_FALSE(too_long.ok());
    EXPECT_EQ(too_long.status().code(), Code::kInvalidArgument);
    EXPECT_NE(too_long.status().message().find(std::to_string(max)), std::string::npos)
        << too_long.status().message();
  }
  auto zero = Hkdf(HashAlg::kSha256, ikm, {}, {}, 0);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().code(), Code::kInvalidArgument);
}

TEST(RandomTest, FillsAndDiffers) {
  std::set<Bytes> seen;
  for (int i = 0; i < 16; ++i) {
    Bytes r = RandomBytes(32);
    ASSERT_EQ(r.size(), 32u);
    seen.insert(r);
  }
  EXPECT_EQ(seen.size(), 16u);  // 256-bit collisions would mean a broken generator
  EXPECT_TRUE(RandomBytes(0).empty());
  Bytes buf(64, 0);
  ASSERT_TRUE(RandomFill(buf.data(), buf.size()).ok());
  EXPECT_NE(buf, Bytes(64, 0));
  EXPECT_TRUE(RandomFill(nullptr, 0).ok());
}

}  // namespace
}  // namespace confide::crypto
