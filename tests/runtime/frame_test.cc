#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "confide/abi.h"

using namespace confide;
using namespace confide::abi;

namespace {

void PutU64(Bytes& b, size_t at, uint64_t v) { std::memcpy(&b[at], &v, 8); }
void PutU32(Bytes& b, size_t at, uint32_t v) { std::memcpy(&b[at], &v, 4); }

Bytes OneBufferFrame(std::string_view text) {
  FrameWriter w;
  w.Buffer(text.data(), text.size());
  return w.Finish();
}

TEST(Frame, RoundTripsEveryItemKind) {
  FrameWriter w;
  w.Value<uint32_t>(0xdeadbeef);
  w.Buffer("abc", 3);
  w.Buffer(nullptr, 10);
  int out_target = 0;
  w.OutRequest(&out_target, 12);
  Bytes f = w.Finish();
  EXPECT_EQ(f.size() % 8, 0u);
  auto v = FrameView::Parse(f, "test");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_TRUE(v->ExpectItems(4).ok());
  uint32_t x = 0;
  ASSERT_TRUE(v->GetValue(0, "x", &x).ok());
  EXPECT_EQ(x, 0xdeadbeefu);
  ByteSpan b;
  ASSERT_TRUE(v->GetBuffer(1, "b", 3, false, &b).ok());
  EXPECT_EQ(std::string(b.begin(), b.end()), "abc");
  ASSERT_TRUE(v->GetBuffer(2, "n", 10, true, &b).ok());
  EXPECT_EQ(b.data(), nullptr);
  bool is_null = true;
  ASSERT_TRUE(v->GetOutRequest(3, "o", 12, &is_null).ok());
  EXPECT_FALSE(is_null);
}

TEST(Frame, PaddingIsZero) {
  FrameWriter w;
  w.Buffer("x", 1);
  Bytes f = w.Finish();
  ASSERT_EQ(f.size(), kFrameHeaderSize + kItemHeaderSize + 8);
  for (size_t i = kFrameHeaderSize + kItemHeaderSize + 1; i < f.size(); ++i) EXPECT_EQ(f[i], 0) << i;
}

// A long double whose 6 padding bytes are dirty (0xAA) crosses with them zeroed: as a frame
// item, stored by StoreValue, and copied as an array; other types keep every byte.
TEST(Frame, LongDoubleValuesCarryNoStaleBytes) {
  static_assert(std::numeric_limits<long double>::digits == 64 && sizeof(long double) == 16,
                "these checks assume x86-64's 80-bit long double");
  static_assert(kValueBytes<long double> == 10 && kValueBytes<uint64_t> == 8 && kValueBytes<double> == 8);
  uint8_t raw[16];
  std::memset(raw, 0xAA, sizeof raw);
  const long double x = -2.25L;
  std::memcpy(raw, &x, 10);
  long double dirty;
  std::memcpy(&dirty, raw, sizeof dirty);

  FrameWriter w;
  w.Value(dirty);
  Bytes f = w.Finish();
  auto v = FrameView::Parse(f, "test");
  ASSERT_TRUE(v.ok());
  long double back;
  ASSERT_TRUE(v->GetValue(0, "x", &back).ok());
  const auto* b = reinterpret_cast<const uint8_t*>(&back);
  EXPECT_EQ(std::memcmp(b, raw, 10), 0);
  for (size_t i = 10; i < 16; ++i) EXPECT_EQ(b[i], 0) << "frame item byte " << i;

  uint8_t out[16];
  std::memset(out, 0x55, sizeof out);
  StoreValue(out, dirty);
  EXPECT_EQ(std::memcmp(out, raw, 10), 0);
  for (size_t i = 10; i < 16; ++i) EXPECT_EQ(out[i], 0) << "stored byte " << i;

  uint8_t two[32], copied[32];
  std::memcpy(two, raw, 16);
  std::memcpy(two + 16, raw, 16);
  std::memset(copied, 0x55, sizeof copied);
  CopyValue<long double[2]>(copied, two);
  for (size_t i = 0; i < 32; ++i) EXPECT_EQ(copied[i], i % 16 < 10 ? raw[i % 16] : 0) << "array byte " << i;

  const uint64_t u = 0xAAAAAAAAAAAAAAAAull;
  uint8_t ub[8] = {};
  StoreValue(ub, u);
  EXPECT_EQ(std::memcmp(ub, &u, 8), 0);
}

TEST(Frame, RefusesShortHeaderAndBadMagic) {
  Bytes tiny(8, 0);
  EXPECT_NE(FrameView::Parse(tiny, "t").status().message().find("shorter than its 16-byte header"), std::string::npos);
  Bytes f = OneBufferFrame("hi");
  f[0] ^= 1;
  EXPECT_NE(FrameView::Parse(f, "t").status().message().find("bad magic"), std::string::npos);
}

TEST(Frame, RefusesSizeMismatchAndTrailingBytes) {
  Bytes f = OneBufferFrame("hi");
  f.push_back(0);
  EXPECT_NE(FrameView::Parse(f, "t").status().message().find("header says"), std::string::npos);
  Bytes g = OneBufferFrame("hi");
  PutU32(g, 4, 0);  // claims no items, but one follows
  EXPECT_NE(FrameView::Parse(g, "t").status().message().find("after the last item"), std::string::npos);
}

TEST(Frame, RefusesItemLengthPastTheEndIncludingWraparound) {
  Bytes f = OneBufferFrame("hi");
  PutU64(f, kFrameHeaderSize + 8, 1000);
  auto s = FrameView::Parse(f, "ecall 'x'").status();
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("claims 1000 bytes"), std::string::npos);
  // A length that would wrap when rounded up to 8 must not slip through.
  PutU64(f, kFrameHeaderSize + 8, UINT64_MAX - 3);
  EXPECT_NE(FrameView::Parse(f, "t").status().message().find("claims"), std::string::npos);
}

TEST(Frame, RefusesUnknownKindReservedBitsAndBadNullOrOut) {
  Bytes f = OneBufferFrame("hi");
  PutU32(f, kFrameHeaderSize, 9);
  EXPECT_NE(FrameView::Parse(f, "t").status().message().find("unknown kind 9"), std::string::npos);
  f = OneBufferFrame("hi");
  PutU32(f, kFrameHeaderSize + 4, 1);
  EXPECT_NE(FrameView::Parse(f, "t").status().message().find("reserved"), std::string::npos);
  f = OneBufferFrame("hi");
  PutU32(f, kFrameHeaderSize, static_cast<uint32_t>(ItemKind::kNull));
  EXPECT_NE(FrameView::Parse(f, "t").status().message().find("carries data"), std::string::npos);
  f = OneBufferFrame("hi");
  PutU32(f, kFrameHeaderSize, static_cast<uint32_t>(ItemKind::kOutRequest));
  EXPECT_NE(FrameView::Parse(f, "t").status().message().find("not 8 bytes"), std::string::npos);
}

TEST(Frame, RefusesTooManyItems) {
  Bytes f = OneBufferFrame("hi");
  PutU32(f, 4, kMaxItems + 1);
  EXPECT_NE(FrameView::Parse(f, "t").status().message().find("too many items"), std::string::npos);
}

TEST(Frame, AccessorsNameTheParameterAndTheProblem) {
  FrameWriter w;
  w.Value<uint16_t>(1);
  w.Buffer("abcd", 4);
  w.Buffer("no-nul", 6);
  w.Buffer(nullptr, 0);
  Bytes f = w.Finish();
  auto v = FrameView::Parse(f, "ecall 'f'");
  ASSERT_TRUE(v.ok());
  uint32_t wide = 0;
  Status s = v->GetValue(0, "count", &wide);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("'count' must be a 4-byte value, got a 2-byte value"), std::string::npos);
  ByteSpan b;
  s = v->GetBuffer(1, "data", 8, false, &b);
  EXPECT_NE(s.message().find("'data' carries 4 bytes but its size attribute says 8"), std::string::npos);
  s = v->GetString(2, "name", 1, false, &b);
  EXPECT_NE(s.message().find("'name' is not terminated"), std::string::npos);
  s = v->GetBuffer(3, "p", 0, false, &b);
  EXPECT_NE(s.message().find("'p' must not be a null pointer"), std::string::npos);
  s = v->GetBuffer(4, "missing", 0, true, &b);
  EXPECT_NE(s.message().find("'missing' is missing"), std::string::npos);
  bool is_null;
  s = v->GetOutRequest(1, "out", 4, &is_null);
  EXPECT_NE(s.message().find("must be an output request"), std::string::npos);
}

TEST(Frame, WideStringsNeedWholeCharactersAndTerminator) {
  FrameWriter w;
  const wchar_t ok[] = L"hi";
  w.Buffer(ok, sizeof ok);
  w.Buffer(ok, sizeof ok - 1);  // not a whole number of wchar_t
  Bytes f = w.Finish();
  auto v = FrameView::Parse(f, "t");
  ASSERT_TRUE(v.ok());
  ByteSpan b;
  EXPECT_TRUE(v->GetString(0, "w", sizeof(wchar_t), false, &b).ok());
  EXPECT_NE(v->GetString(1, "w", sizeof(wchar_t), false, &b).message().find("whole number of characters"),
            std::string::npos);
}

TEST(Frame, CheckedArithmeticRefusesOverflow) {
  size_t out = 0;
  Status s = CheckedSize(UINT64_MAX / 2, 4, "items", &out);
  EXPECT_EQ(s.code(), Code::kOutOfRange);
  EXPECT_NE(s.message().find("'items' overflows"), std::string::npos);
  EXPECT_TRUE(CheckedSize(10, 4, "items", &out).ok());
  EXPECT_EQ(out, 40u);
  EXPECT_EQ(CheckedAdd(SIZE_MAX, 1, "total", &out).code(), Code::kOutOfRange);
}

TEST(Frame, ItemsBeyondTheInlineOnesParseAndAViewCanBeReused) {
  FrameWriter w;
  const size_t n = FrameView::kInlineItems * 2 + 3;
  for (uint32_t i = 0; i < n; ++i) w.Value(i * 7);
  Bytes f = w.Finish();
  FrameView v;
  ASSERT_TRUE(FrameView::Parse(f, "t", &v).ok());
  ASSERT_EQ(v.size(), n);
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t x = 0;
    ASSERT_TRUE(v.GetValue(i, "x", &x).ok()) << i;
    EXPECT_EQ(x, i * 7) << i;
  }
  // Parsed again with a short frame, the view forgets the items it held.
  FrameWriter small;
  small.Value<uint32_t>(5);
  Bytes g = small.Finish();
  ASSERT_TRUE(FrameView::Parse(g, "t", &v).ok());
  EXPECT_EQ(v.size(), 1u);
  uint32_t x = 0;
  Status s = v.GetValue(FrameView::kInlineItems + 1, "late", &x);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("'late' is missing"), std::string::npos);
}

TEST(Frame, WriterOnReusedStorageWritesTheSameFrameAndClearWipesIt) {
  FrameWriter own;
  own.Buffer("top-secret", 11);
  own.Value<uint64_t>(42);
  Bytes expected = own.Finish();
  Buffer storage;
  const uint8_t* block = nullptr;
  for (int round = 0; round < 3; ++round) {
    FrameWriter w(storage);
    w.Buffer("top-secret", 11);
    w.Value<uint64_t>(42);
    std::span<uint8_t> f = w.Frame();
    ASSERT_EQ(Bytes(f.begin(), f.end()), expected);
    if (round == 0) block = storage.data();
    EXPECT_EQ(storage.data(), block) << "a warm buffer is reused, not reallocated";
  }
  size_t used = storage.size();
  ASSERT_EQ(used, expected.size());
  storage.Clear();
  EXPECT_EQ(storage.size(), 0u);
  EXPECT_EQ(std::count(block, block + used, 0), static_cast<long>(used)) << "Clear wipes the bytes that were in use";
}

TEST(Frame, WriterOnBorrowedMemoryWritesThereAndMovesOutWhenItOutgrowsIt) {
  FrameWriter own;
  own.Buffer("top-secret", 11);
  Bytes expected = own.Finish();
  uint8_t region[256];
  std::memset(region, 0x77, sizeof region);
  Buffer storage;
  storage.Borrow(region, sizeof region);
  { FrameWriter unused(storage); }
  EXPECT_EQ(std::count(region, region + sizeof region, 0x77), static_cast<long>(sizeof region))
      << "a writer that is made and dropped writes nothing";
  {
    FrameWriter w(storage);
    w.Buffer("top-secret", 11);
    std::span<uint8_t> f = w.Frame();
    EXPECT_EQ(f.data(), region) << "the frame is written where it was borrowed";
    ASSERT_EQ(Bytes(f.begin(), f.end()), expected);
  }
  storage.Unborrow();
  EXPECT_FALSE(storage.borrowed());
  EXPECT_EQ(storage.size(), 0u);
  EXPECT_EQ(Bytes(region, region + expected.size()), expected) << "Unborrow leaves the region to its owner";

  // Past the region's end the frame continues in the buffer's own memory, complete, and what
  // had been written into the region is wiped.
  std::memset(region, 0x77, sizeof region);
  storage.Borrow(region, 64);
  FrameWriter w(storage);
  w.Buffer("top-secret", 11);
  std::string big(100, 'b');
  w.Buffer(big.data(), big.size());
  std::span<uint8_t> f = w.Frame();
  EXPECT_FALSE(storage.borrowed());
  EXPECT_NE(f.data(), region);
  auto v = FrameView::Parse(ByteSpan(f.data(), f.size()), "moved frame");
  ASSERT_TRUE(v.ok()) << v.status().message();
  ByteSpan b;
  ASSERT_TRUE(v->GetBuffer(1, "big", big.size(), false, &b).ok());
  EXPECT_EQ(std::string(b.begin(), b.end()), big);
  EXPECT_EQ(std::count(region, region + 48, 0), 48) << "the part written into the region is wiped";
  EXPECT_EQ(region[48], 0x77) << "bytes never written there are left alone";
}

}  // namespace
