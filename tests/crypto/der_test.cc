#include <gtest/gtest.h>

#include "confide/x509.h"
#include "crypto/test_pki.h"

namespace confide::x509 {
namespace {

void ExpectRefused(const Bytes& der, Code code, std::string_view why) {
  DerReader r(der);
  auto e = r.Next();
  ASSERT_FALSE(e.ok()) << HexEncode(der);
  EXPECT_EQ(e.status().code(), code) << e.status().ToString();
  EXPECT_NE(e.status().message().find(std::string(why)), std::string::npos) << e.status().message();
  // A failed read consumes nothing: the same error comes back.
  auto again = r.Next();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status(), e.status());
}

TEST(DerReaderTest, WalksShortAndLongFormLengths) {
  Bytes c127(127, 0xaa), c128(128, 0xbb), c256(256, 0xcc);
  Bytes data = testpki::DerTlv(0x04, c127);
  Append(data, testpki::DerTlv(0x04, c128));
  Append(data, testpki::DerTlv(0x30, c256));
  Append(data, Bytes{0x05, 0x00});  // NULL: empty contents
  ASSERT_EQ(data[2 + 127 + 1], 0x81);
  ASSERT_EQ(data[2 + 127 + 3 + 128 + 1], 0x82);

  DerReader r(data);
  auto a = r.Next();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->tag, 0x04);
  EXPECT_EQ(a->contents.size(), 127u);
  EXPECT_EQ(a->encoded.size(), 129u);
  auto b = r.Next();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->contents.size(), 128u);
  EXPECT_EQ(b->contents[0], 0xbb);
  EXPECT_EQ(b->encoded.size(), 131u);
  auto c = r.Expect(0x30, "big sequence");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->contents.size(), 256u);
  EXPECT_EQ(c->encoded.data(), data.data() + 260);
  auto d = r.Next();
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->tag, 0x05);
  EXPECT_TRUE(d->contents.empty());
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.Next().ok());  // reading at the end is an error, not a crash
}

TEST(DerReaderTest, RefusesTruncatedInput) {
  ExpectRefused(Bytes{0x30}, Code::kInvalidArgument, "truncated");
  ExpectRefused(Bytes{0x04, 0x05, 0x01, 0x02, 0x03}, Code::kInvalidArgument, "claims 5 bytes");
  ExpectRefused(Bytes{0x04, 0x81}, Code::kInvalidArgument, "truncated");
  ExpectRefused(Bytes{0x04, 0x82, 0x01}, Code::kInvalidArgument, "truncated");
  ExpectRefused(Bytes{0x04, 0x82, 0x01, 0x00, 0xff}, Code::kInvalidArgument, "claims 256 bytes");
  // Every proper prefix of a valid element is refused.
  Bytes whole = testpki::DerSequence({testpki::DerOid("1.2.840.113741.1.13.1"), testpki::DerInteger(1234567)});
  for (size_t n = 0; n < whole.size(); ++n) {
    DerReader r(ByteSpan(whole).first(n));
    EXPECT_FALSE(r.Next().ok()) << n;
  }
}

TEST(DerReaderTest, RefusesIndefiniteAndNonMinimalLengths) {
  ExpectRefused(Bytes{0x30, 0x80, 0x05, 0x00, 0x00, 0x00}, Code::kInvalidArgument, "indefinite");
  ExpectRefused(Bytes{0x04, 0x81, 0x05, 1, 2, 3, 4, 5}, Code::kInvalidArgument, "non-minimal");
  ExpectRefused(Bytes{0x04, 0x82, 0x00, 0x05, 1, 2, 3, 4, 5}, Code::kInvalidArgument, "non-minimal");
  Bytes padded = {0x04, 0x82, 0x00, 0x80};
  padded.resize(4 + 128, 0);
  ExpectRefused(padded, Code::kInvalidArgument, "non-minimal");
}

TEST(DerReaderTest, RefusesOverlongLengths) {
  // Lengths far beyond the input, including ones that overflow 32 and 64 bits.
  ExpectRefused(Bytes{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x00}, Code::kInvalidArgument, "claims");
  ExpectRefused(Bytes{0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00}, Code::kInvalidArgument, "claims");
  ExpectRefused(Bytes{0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00}, Code::kInvalidArgument,
                "length");
  ExpectRefused(Bytes{0x30, 0x89, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x00}, Code::kInvalidArgument, "length");
  ExpectRefused(Bytes{0x30, 0xff, 0x01}, Code::kInvalidArgument, "length");
}

TEST(DerReaderTest, RefusesMultiByteTags) {
  ExpectRefused(Bytes{0x1f, 0x81, 0x00, 0x00}, Code::kUnsupported, "multi-byte tag");
  ExpectRefused(Bytes{0xbf, 0x22, 0x00}, Code::kUnsupported, "multi-byte tag");
}

TEST(DerReaderTest, ExpectLeavesTheReaderOnATagMismatch) {
  Bytes data = testpki::DerInteger(5);
  DerReader r(data);
  auto wrong = r.Expect(0x30, "outer SEQUENCE");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), Code::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("outer SEQUENCE"), std::string::npos);
  EXPECT_NE(wrong.status().message().find("0x30"), std::string::npos);
  EXPECT_NE(wrong.status().message().find("0x02"), std::string::npos);
  auto right = r.Expect(0x02, "integer");
  ASSERT_TRUE(right.ok());
  EXPECT_EQ(*DerUnsigned(right->contents), 5u);
}

TEST(OidToStringTest, KnownOids) {
  const std::pair<const char*, const char*> cases[] = {
      {"2a864886f70d010101", "1.2.840.113549.1.1.1"},    // rsaEncryption
      {"2a8648ce3d030107", "1.2.840.10045.3.1.7"},       // prime256v1
      {"2b81040022", "1.3.132.0.34"},                    // secp384r1
      {"550403", "2.5.4.3"},                             // commonName
      {"2a864886f84d010d01", "1.2.840.113741.1.13.1"},   // Intel SGX extensions
      {"8837", "2.999"},                                 // first arc 2 with a large second arc
      {"00", "0.0"},
      {"27", "0.39"},
      {"28", "1.0"},
  };
  for (const auto& [hex, want] : cases) {
    auto r = OidToString(*HexDecode(hex));
    ASSERT_TRUE(r.ok()) << hex << ": " << r.status().ToString();
    EXPECT_EQ(*r, want) << hex;
  }
  // Round trip through OpenSSL's encoder for a few long arcs.
  for (const char* oid : {"1.2.840.113741.1.13.1.2.18", "2.23.133.5.4.9", "1.3.6.1.4.1.311.105.1",
                          "1.2.840.113741.1337.6", "2.25.329800735698586629295641978511506172918"}) {
    Bytes der = testpki::DerOid(oid);
    DerReader r(der);
    auto e = r.Expect(0x06, "oid");
    ASSERT_TRUE(e.ok());
    auto s = OidToString(e->contents);
    if (std::string(oid).size() > 30) {
      // An arc over 64 bits cannot be represented; it must be refused, not wrapped.
      ASSERT_FALSE(s.ok());
      EXPECT_EQ(s.status().code(), Code::kUnsupported);
    } else {
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      EXPECT_EQ(*s, oid);
    }
  }
}

TEST(OidToStringTest, RefusesMalformedContents) {
  EXPECT_EQ(OidToString(Bytes{}).status().code(), Code::kInvalidArgument);
  auto trunc = OidToString(Bytes{0x2a, 0x86});
  ASSERT_FALSE(trunc.ok());
  EXPECT_NE(trunc.status().message().find("truncated"), std::string::npos);
  auto nonmin = OidToString(Bytes{0x2a, 0x80, 0x01});
  ASSERT_FALSE(nonmin.ok());
  EXPECT_NE(nonmin.status().message().find("non-minimal"), std::string::npos);
  EXPECT_FALSE(OidToString(Bytes{0x80, 0x01}).ok());
}

TEST(DerUnsignedTest, ValuesAndLimits) {
  EXPECT_EQ(*DerUnsigned(Bytes{0x00}), 0u);
  EXPECT_EQ(*DerUnsigned(Bytes{0x7f}), 127u);
  EXPECT_EQ(*DerUnsigned(Bytes{0x00, 0x80}), 128u);
  EXPECT_EQ(*DerUnsigned(Bytes{0x01, 0x00}), 256u);
  EXPECT_EQ(*DerUnsigned(Bytes{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), 0x7fffffffffffffffull);
  EXPECT_EQ(*DerUnsigned(Bytes{0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), UINT64_MAX);
  for (uint64_t v : {uint64_t{1}, uint64_t{70000}, uint64_t{1} << 40, UINT64_MAX}) {
    Bytes der = testpki::DerInteger(v);  // encoded by OpenSSL
    DerReader r(der);
    EXPECT_EQ(*DerUnsigned(r.Expect(0x02, "int")->contents), v);
  }
  auto neg = DerUnsigned(Bytes{0xff});
  ASSERT_FALSE(neg.ok());
  EXPECT_EQ(neg.status().code(), Code::kOutOfRange);
  EXPECT_NE(neg.status().message().find("negative"), std::string::npos);
  auto big = DerUnsigned(Bytes{0x01, 0, 0, 0, 0, 0, 0, 0, 0});
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), Code::kOutOfRange);
  EXPECT_EQ(DerUnsigned(Bytes{}).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace confide::x509
