#include <gtest/gtest.h>

#include <random>

#include "confide/crypto.h"
#include "crypto/vector_file.h"

namespace confide::crypto {
namespace {

using testing::LoadVectorFile;

struct ShaFile {
  const char* file;
  HashAlg alg;
  size_t size;
};
constexpr ShaFile kShaFiles[] = {
    {"crypto/sha256_shortmsg.rsp", HashAlg::kSha256, 32},
    {"crypto/sha384_shortmsg.rsp", HashAlg::kSha384, 48},
    {"crypto/sha512_shortmsg.rsp", HashAlg::kSha512, 64},
};

// NIST SHAVS gives Len in bits; "Msg = 00" with Len = 0 stands for the empty message.
Bytes Message(const testing::VectorRecord& r) {
  Bytes msg = r.Hex("Msg");
  msg.resize(static_cast<size_t>(std::stoul(r.Get("Len"))) / 8);
  return msg;
}

TEST(HashTest, SizesAndConvenienceWrappers) {
  EXPECT_EQ(HashSize(HashAlg::kSha256), 32u);
  EXPECT_EQ(HashSize(HashAlg::kSha384), 48u);
  EXPECT_EQ(HashSize(HashAlg::kSha512), 64u);
  Bytes m = {1, 2, 3};
  EXPECT_EQ(Sha256(m), Hash(HashAlg::kSha256, m));
  EXPECT_EQ(Sha384(m), Hash(HashAlg::kSha384, m));
  EXPECT_EQ(Sha512(m), Hash(HashAlg::kSha512, m));
  EXPECT_NE(Sha256(m), Sha256(Bytes{1, 2, 4}));
}

TEST(HashTest, NistShortMessageVectors) {
  for (const auto& f : kShaFiles) {
    auto recs = LoadVectorFile(f.file);
    ASSERT_TRUE(recs.ok()) << recs.status().ToString();
    ASSERT_GE(recs->size(), 4u) << f.file;
    for (const auto& r : *recs) {
      SCOPED_TRACE(r.Where());
      Bytes md = Hash(f.alg, Message(r));
      ASSERT_EQ(md.size(), f.size);
      EXPECT_EQ(HexEncode(md), r.Get("MD"));
    }
  }
}

TEST(HasherTest, IncrementalEqualsOneShotAtEverySplit) {
  for (const auto& f : kShaFiles) {
    auto recs = LoadVectorFile(f.file);
    ASSERT_TRUE(recs.ok());
    for (const auto& r : *recs) {
      SCOPED_TRACE(r.Where());
      Bytes msg = Message(r);
      for (size_t split = 0; split <= msg.size(); ++split) {
        Hasher h(f.alg);
        h.Update(ByteSpan(msg).first(split));
        h.Update(ByteSpan(msg).subspan(split));
        ASSERT_EQ(HexEncode(h.Finish()), r.Get("MD")) << "split at " << split;
      }
      Hasher bytewise(f.alg);
      for (uint8_t b : msg) bytewise.Update(ByteSpan(&b, 1));
      EXPECT_EQ(HexEncode(bytewise.Finish()), r.Get("MD"));
    }
  }
}

TEST(HasherTest, FinishResetsForTheNextMessage) {
  Hasher h(HashAlg::kSha384);
  h.Update(AsBytes("first message"));
  EXPECT_EQ(h.Finish(), Sha384(AsBytes("first message")));
  // Nothing of the first message may leak into the second.
  h.Update(AsBytes("second"));
  EXPECT_EQ(h.Finish(), Sha384(AsBytes("second")));
  EXPECT_EQ(h.Finish(), Sha384(Bytes{}));
}

TEST(HasherTest, LargeInputInOddChunks) {
  std::mt19937 rng(99);
  Bytes data(1 << 20);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (HashAlg alg : {HashAlg::kSha256, HashAlg::kSha512}) {
    Hasher h(alg);
    size_t off = 0, step = 1;
    while (off < data.size()) {
      size_t n = std::min(step, data.size() - off);
      h.Update(ByteSpan(data).subspan(off, n));
      off += n;
      step = step * 3 + 1;
    }
    EXPECT_EQ(h.Finish(), Hash(alg, data));
  }
}

}  // namespace
}  // namespace confide::crypto
