#include "confide/bytes.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

namespace confide {
namespace {

using namespace std::string_view_literals;

Bytes AllByteValues() {
  Bytes b(256);
  for (int i = 0; i < 256; ++i) b[i] = static_cast<uint8_t>(i);
  return b;
}

Bytes RandomBytes(std::mt19937& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// ------------------------------------------------------------------ hex

TEST(HexTest, EncodesLowercaseAndRoundTripsEveryByte) {
  EXPECT_EQ(HexEncode(Bytes{}), "");
  EXPECT_EQ(HexEncode(Bytes{0x00, 0x0f, 0xa0, 0xff}), "000fa0ff");
  Bytes all = AllByteValues();
  std::string hex = HexEncode(all);
  EXPECT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex.find_first_of("ABCDEF"), std::string::npos);
  auto back = HexDecode(hex);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, all);
}

TEST(HexTest, DecodesUpperAndMixedCase) {
  auto r = HexDecode("DEADbeefC0");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (Bytes{0xde, 0xad, 0xbe, 0xef, 0xc0}));
  auto empty = HexDecode("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(HexTest, RejectsOddLength) {
  auto r = HexDecode("abc");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("odd"), std::string::npos) << r.status().message();
}

TEST(HexTest, RejectsNonHexCharactersNamingTheOffset) {
  for (std::string_view bad : {"0g", "g0", "00 1", "0x00", "12-4", "zz"}) {
    auto r = HexDecode(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("invalid digit"), std::string::npos) << r.status().message();
  }
  auto r = HexDecode("00a1Xf");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("offset 4"), std::string::npos) << r.status().message();
  // A NUL byte is not a digit either.
  EXPECT_FALSE(HexDecode(std::string_view("0\0", 2)).ok());
}

// ------------------------------------------------------------------ base64

// RFC 4648 section 10 test vectors.
struct Rfc4648Case {
  const char* plain;
  const char* b64;
};
constexpr Rfc4648Case kRfc4648[] = {
    {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

TEST(Base64Test, Rfc4648Section10Vectors) {
  for (const auto& c : kRfc4648) {
    SCOPED_TRACE(c.plain);
    EXPECT_EQ(Base64Encode(AsBytes(c.plain)), c.b64);
    auto d = Base64Decode(c.b64);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(ToString(*d), c.plain);
  }
}

TEST(Base64UrlTest, Rfc4648Section10VectorsWithoutPadding) {
  for (const auto& c : kRfc4648) {
    SCOPED_TRACE(c.plain);
    std::string unpadded(c.b64);
    unpadded.erase(unpadded.find_last_not_of('=') + 1);
    if (std::string_view(c.b64).empty()) unpadded.clear();
    EXPECT_EQ(Base64UrlEncode(AsBytes(c.plain)), unpadded);
    // Decoding accepts both the JOSE (unpadded) and the padded form.
    for (const std::string& text : {unpadded, std::string(c.b64)}) {
      auto d = Base64UrlDecode(text);
      ASSERT_TRUE(d.ok()) << text << ": " << d.status().ToString();
      EXPECT_EQ(ToString(*d), c.plain);
    }
  }
}

TEST(Base64Test, AlphabetsDifferOnlyIn62And63) {
  const Bytes b{0xfb, 0xff};  // 111110 111111 1111.. -> indices 62, 63, 60
  EXPECT_EQ(Base64Encode(b), "+/8=");
  EXPECT_EQ(Base64UrlEncode(b), "-_8");
  EXPECT_EQ(*Base64Decode("+/8="), b);
  EXPECT_EQ(*Base64UrlDecode("-_8"), b);
  // Each decoder refuses the other alphabet's characters.
  EXPECT_EQ(Base64Decode("-_8=").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Base64UrlDecode("+/8").status().code(), Code::kInvalidArgument);
}

TEST(Base64Test, RoundTripsRandomData) {
  std::mt19937 rng(1234);
  for (size_t n = 0; n < 70; ++n) {
    Bytes data = RandomBytes(rng, n);
    auto d1 = Base64Decode(Base64Encode(data));
    ASSERT_TRUE(d1.ok()) << n;
    EXPECT_EQ(*d1, data) << n;
    std::string url = Base64UrlEncode(data);
    EXPECT_EQ(url.find('='), std::string::npos);
    auto d2 = Base64UrlDecode(url);
    ASSERT_TRUE(d2.ok()) << n;
    EXPECT_EQ(*d2, data) << n;
  }
}

TEST(Base64Test, StandardDecodingIgnoresWhitespaceButUrlDoesNot) {
  auto d = Base64Decode("Zm9v\nYmFy\r\n Zg= =\t");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(ToString(*d), "foobarf");
  EXPECT_EQ(Base64UrlDecode("Zm9v YmFy").status().code(), Code::kInvalidArgument);
}

TEST(Base64Test, RejectsInvalidCharacters) {
  for (std::string_view bad : {"Zm9v*mFy"sv, "Zm9v.mFy"sv, "Zm\x80v"sv, "Zm9v\0mFy"sv}) {
    auto r = Base64Decode(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find("invalid character"), std::string::npos) << r.status().message();
  }
  auto r = Base64Decode("Zm9v!");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("offset 4"), std::string::npos) << r.status().message();
}

TEST(Base64Test, RejectsBadPadding) {
  // Wrong amount of padding for the length, padding in the middle, padding alone.
  for (std::string_view bad : {"Zg=", "Zg===", "Zm8==", "Z===", "====", "=", "Zg==Zg==", "Zm=9v", "=Zm9"}) {
    auto r = Base64Decode(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
    auto u = Base64UrlDecode(bad);
    EXPECT_FALSE(u.ok()) << bad;
  }
  EXPECT_NE(Base64Decode("Zg==Zg==").status().message().find("after '=' padding"), std::string::npos);
}

TEST(Base64Test, RejectsTruncatedInput) {
  // One symbol carries only 6 bits: never a whole byte.
  for (std::string_view bad : {"Z", "Zm9vY", "Zm9vYmFyZ"}) {
    auto r = Base64UrlDecode(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("truncated"), std::string::npos) << r.status().message();
    EXPECT_FALSE(Base64Decode(bad).ok()) << bad;
  }
}

TEST(Base64Test, RejectsNonCanonicalTrailingBits) {
  // "Zg==" is the only encoding of "f"; "Zh==" sets bits that fall off the end.
  for (std::string_view bad : {"Zh==", "Zm9=", "Zm9vYh", "Zm9vYmF="}) {
    auto r = Base64Decode(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("non-canonical"), std::string::npos) << r.status().message();
  }
  EXPECT_FALSE(Base64UrlDecode("Zh").ok());
  EXPECT_TRUE(Base64UrlDecode("Zg").ok());
}

// ------------------------------------------------------------------ constant-time compare, zeroing

TEST(ConstantTimeEqualTest, ComparesContentsAndLengths) {
  Bytes a = AllByteValues();
  Bytes b = a;
  EXPECT_TRUE(ConstantTimeEqual(a, b));
  EXPECT_TRUE(ConstantTimeEqual(Bytes{}, Bytes{}));
  b[0] ^= 1;
  EXPECT_FALSE(ConstantTimeEqual(a, b));
  b = a;
  b[255] ^= 0x80;
  EXPECT_FALSE(ConstantTimeEqual(a, b));
  b = a;
  b.pop_back();
  EXPECT_FALSE(ConstantTimeEqual(a, b));
  EXPECT_FALSE(ConstantTimeEqual(Bytes{}, Bytes{0}));
  // Every single-bit difference anywhere is detected.
  for (size_t i = 0; i < a.size(); i += 37) {
    for (int bit = 0; bit < 8; ++bit) {
      b = a;
      b[i] ^= static_cast<uint8_t>(1 << bit);
      EXPECT_FALSE(ConstantTimeEqual(a, b)) << i << "/" << bit;
    }
  }
}

TEST(SecureZeroTest, ZeroesTheWholeRange) {
  Bytes b(100, 0xa5);
  SecureZero(b.data() + 10, 50);
  for (size_t i = 0; i < b.size(); ++i) EXPECT_EQ(b[i], (i >= 10 && i < 60) ? 0 : 0xa5) << i;
  SecureZero(b);
  EXPECT_EQ(b, Bytes(100, 0));
  SecureZero(nullptr, 0);  // a zero-length call is allowed
}

TEST(SecureBytesTest, HoldsAndExposesData) {
  SecureBytes s(AsBytes("secret"));
  EXPECT_EQ(s.size(), 6u);
  EXPECT_FALSE(s.empty());
  EXPECT_EQ(ToString(s.span()), "secret");
  ByteSpan view = s;
  EXPECT_EQ(view.size(), 6u);
  SecureBytes z(16);
  EXPECT_EQ(z.size(), 16u);
  EXPECT_EQ(Bytes(z.span().begin(), z.span().end()), Bytes(16, 0));
  SecureBytes copy = s;
  EXPECT_EQ(ToString(copy.span()), "secret");
  SecureBytes moved = std::move(copy);
  EXPECT_EQ(ToString(moved.span()), "secret");
}

TEST(SecureBytesTest, ClearWipesTheBuffer) {
  SecureBytes s(Bytes(64, 0x5a));
  const volatile uint8_t* p = s.data();
  s.Clear();
  EXPECT_TRUE(s.empty());
  // clear() keeps the allocation, so the old bytes are still observable here: they must be zero.
  for (size_t i = 0; i < 64; ++i) EXPECT_EQ(p[i], 0) << i;
}

TEST(SecureBytesTest, CopyAssignmentWipesTheOldContents) {
  SecureBytes dst(Bytes(64, 0x5a));
  const volatile uint8_t* p = dst.data();
  SecureBytes src(Bytes(8, 0x11));
  dst = src;
  EXPECT_EQ(ToString(dst.span()), std::string(8, '\x11'));
  // A shorter copy reuses the buffer; the bytes past the new end were the old secret.
  ASSERT_TRUE(static_cast<const void*>(dst.data()) == const_cast<const uint8_t*>(p));
  for (size_t i = 8; i < 64; ++i) EXPECT_EQ(p[i], 0) << i;
  SecureBytes& alias = dst;
  dst = alias;  // self-assignment keeps the data
  EXPECT_EQ(dst.size(), 8u);
}

// ------------------------------------------------------------------ ByteReader

TEST(ByteReaderTest, ReadsLittleAndBigEndianFields) {
  Bytes data{0x01, 0x34, 0x12, 0x78, 0x56, 0x34, 0x12, 0xef, 0xcd, 0xab, 0x89,
             0x67, 0x45, 0x23, 0x01, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0xff};
  ByteReader r(data, "report");
  EXPECT_EQ(*r.U8("version"), 0x01);
  EXPECT_EQ(*r.U16Le("a"), 0x1234);
  EXPECT_EQ(*r.U32Le("b"), 0x12345678u);
  EXPECT_EQ(*r.U64Le("c"), 0x0123456789abcdefull);
  EXPECT_EQ(*r.U16Be("d"), 0x1234);
  EXPECT_EQ(*r.U32Be("e"), 0xdeadbeefu);
  EXPECT_EQ(r.offset(), 21u);
  EXPECT_EQ(r.remaining(), 1u);
  EXPECT_EQ(r.rest().size(), 1u);
  EXPECT_EQ(r.rest()[0], 0xff);
  auto last = r.Take(1, "tail");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_TRUE(r.Take(0, "nothing").ok());  // an empty read at the end is fine
}

TEST(ByteReaderTest, ReadPastTheEndNamesTheFieldAndLeavesTheOffset) {
  Bytes data(10, 0xaa);
  ByteReader r(data, "quote");
  ASSERT_TRUE(r.Skip(7, "header").ok());
  struct Attempt {
    const char* field;
    Status status;
  };
  Attempt attempts[] = {
      {"signature_len", r.U32Le("signature_len").status()}, {"qe_svn", r.U64Le("qe_svn").status()},
      {"cpu_svn", r.Take(4, "cpu_svn").status()},           {"attr", r.Skip(100, "attr")},
      {"u32be", r.U32Be("u32be").status()},
  };
  for (const auto& a : attempts) {
    SCOPED_TRACE(a.field);
    EXPECT_EQ(a.status.code(), Code::kInvalidArgument);
    EXPECT_NE(a.status.message().find(a.field), std::string::npos) << a.status.message();
    EXPECT_NE(a.status.message().find("quote"), std::string::npos) << a.status.message();
    EXPECT_NE(a.status.message().find("truncated"), std::string::npos) << a.status.message();
    EXPECT_EQ(r.offset(), 7u);
  }
  // The reader still works after the failures.
  EXPECT_EQ(*r.U16Be("x"), 0xaaaa);
  EXPECT_EQ(*r.U8("y"), 0xaa);
  EXPECT_FALSE(r.U8("z").ok());
  EXPECT_EQ(r.offset(), 10u);
}

TEST(ByteReaderTest, HugeLengthsDoNotOverflow) {
  Bytes data(4);
  ByteReader r(data);
  ASSERT_TRUE(r.Skip(2, "a").ok());
  EXPECT_FALSE(r.Take(SIZE_MAX, "huge").ok());
  EXPECT_FALSE(r.Take(SIZE_MAX - 1, "huge").ok());
  EXPECT_EQ(r.offset(), 2u);
  EXPECT_NE(r.Take(SIZE_MAX, "huge").status().message().find("input"), std::string::npos);
}

TEST(ByteReaderTest, AppendHelpersMatchTheReader) {
  Bytes out;
  AppendU16Le(out, 0xbeef);
  AppendU32Le(out, 0xdeadbeef);
  AppendU64Le(out, 0x0102030405060708ull);
  Append(out, AsBytes("xy"));
  EXPECT_EQ(HexEncode(out), "efbeefbeadde0807060504030201" + HexEncode(AsBytes("xy")));
  ByteReader r(out);
  EXPECT_EQ(*r.U16Le("a"), 0xbeef);
  EXPECT_EQ(*r.U32Le("b"), 0xdeadbeefu);
  EXPECT_EQ(*r.U64Le("c"), 0x0102030405060708ull);
  EXPECT_EQ(ToString(*r.Take(2, "d")), "xy");
}

// ------------------------------------------------------------------ files

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "confide_bytes_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  size_t EntriesInDir() const {
    return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir_), std::filesystem::directory_iterator{}));
  }
  std::string dir_;
};

TEST_F(FileTest, WriteThenReadBack) {
  std::string path = dir_ + "/data.bin";
  Bytes data = AllByteValues();
  ASSERT_TRUE(WriteFile(path, data).ok());
  auto back = ReadFile(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, data);
  // Overwrite with something shorter: the old contents must be gone entirely.
  ASSERT_TRUE(WriteFile(path, AsBytes("short")).ok());
  EXPECT_EQ(ToString(*ReadFile(path)), "short");
  ASSERT_TRUE(WriteFile(path, Bytes{}).ok());
  EXPECT_TRUE(ReadFile(path)->empty());
  EXPECT_EQ(EntriesInDir(), 1u);  // no temp files left behind
}

TEST_F(FileTest, LargeFileRoundTrip) {
  std::string path = dir_ + "/big.bin";
  std::mt19937 rng(7);
  Bytes data = RandomBytes(rng, 300 * 1024 + 17);  // several read() chunks
  ASSERT_TRUE(WriteFile(path, data).ok());
  EXPECT_EQ(*ReadFile(path), data);
}

TEST_F(FileTest, WriteAppliesTheMode) {
  std::string path = dir_ + "/key.pem";
  ASSERT_TRUE(WriteFile(path, AsBytes("k"), 0600).ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(FileTest, ReadMissingFileIsNotFoundNamingThePath) {
  std::string path = dir_ + "/does-not-exist.bin";
  auto r = ReadFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
}

TEST_F(FileTest, ReadDirectoryIsRefusedNamingThePath) {
  auto r = ReadFile(dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find(dir_), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("not a regular file"), std::string::npos) << r.status().message();
}

TEST_F(FileTest, WriteIntoMissingDirectoryFailsNamingThePath) {
  std::string path = dir_ + "/no/such/dir/out.bin";
  Status s = WriteFile(path, AsBytes("x"));
  EXPECT_EQ(s.code(), Code::kIo);
  EXPECT_NE(s.message().find(dir_ + "/no/such/dir/out.bin"), std::string::npos) << s.message();
}

TEST_F(FileTest, FailedRenameLeavesNoTempFileAndKeepsTheTarget) {
  // The target is a non-empty directory, so the final rename fails after the temp file was written.
  std::string target = dir_ + "/target";
  std::filesystem::create_directory(target);
  ASSERT_TRUE(WriteFile(target + "/inner", AsBytes("x")).ok());
  Status s = WriteFile(target, AsBytes("data"));
  EXPECT_EQ(s.code(), Code::kIo);
  EXPECT_NE(s.message().find(target), std::string::npos) << s.message();
  EXPECT_TRUE(std::filesystem::is_directory(target));
  EXPECT_EQ(EntriesInDir(), 1u);  // only the directory itself
}

}  // namespace
}  // namespace confide
