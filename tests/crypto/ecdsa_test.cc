#include <gtest/gtest.h>

#include "confide/crypto.h"
#include "crypto/vector_file.h"

namespace confide::crypto {
namespace {

using testing::LoadVectorFile;

Bytes Reversed(ByteSpan b) { return Bytes(b.rbegin(), b.rend()); }
Bytes Concat(ByteSpan a, ByteSpan b) {
  Bytes out(a.begin(), a.end());
  Append(out, b);
  return out;
}
// x || y (or r || s) with each half byte-reversed: the little-endian layout SGX and SNP use.
Bytes ToLittleHalves(ByteSpan be) {
  size_t n = be.size() / 2;
  return Concat(Reversed(be.first(n)), Reversed(be.subspan(n)));
}

struct SigVerFile {
  const char* file;
  Curve curve;
  HashAlg alg;
};

class NistSigVerTest : public ::testing::TestWithParam<SigVerFile> {};

TEST_P(NistSigVerTest, VerdictsMatchBigAndLittleEndianAndDer) {
  const SigVerFile& f = GetParam();
  auto recs = LoadVectorFile(f.file);
  ASSERT_TRUE(recs.ok()) << recs.status().ToString();
  ASSERT_EQ(recs->size(), 15u);
  int passed = 0;
  for (const auto& r : *recs) {
    SCOPED_TRACE(r.Where() + " " + r.Get("Result"));
    bool want = r.Get("Result").rfind("P", 0) == 0;
    Bytes q = Concat(r.Hex("Qx"), r.Hex("Qy"));
    Bytes sig = Concat(r.Hex("R"), r.Hex("S"));
    Bytes msg = r.Hex("Msg");
    auto key = EcPublicKeyFromRaw(f.curve, q);
    auto key_le = EcPublicKeyFromRaw(f.curve, ToLittleHalves(q), Endian::kLittle);
    if (!key.ok()) {
      // Only a "Q changed" record may carry an unusable key, and then it must be refused.
      EXPECT_FALSE(want);
      EXPECT_EQ(key.status().code(), Code::kInvalidArgument);
      EXPECT_FALSE(key_le.ok());
      continue;
    }
    ASSERT_TRUE(key_le.ok());
    EXPECT_EQ(*key->PublicDer(), *key_le->PublicDer());
    EXPECT_EQ(key->EcCurve(), f.curve);

    Status be = EcdsaVerifyRaw(*key, f.alg, msg, sig);
    Status le = EcdsaVerifyRaw(*key_le, f.alg, msg, ToLittleHalves(sig), Endian::kLittle);
    auto der = EcdsaRawToDer(sig);
    ASSERT_TRUE(der.ok());
    Status d = EcdsaVerifyDer(*key, f.alg, msg, *der);
    for (const Status* s : {&be, &le, &d}) {
      if (want) {
        EXPECT_TRUE(s->ok()) << s->ToString();
      } else {
        EXPECT_EQ(s->code(), Code::kVerificationFailed) << s->ToString();
      }
    }
    passed += want;
  }
  EXPECT_EQ(passed, 3);  // both sections hold 3 P and 12 F records
}

INSTANTIATE_TEST_SUITE_P(Cavp, NistSigVerTest,
                         ::testing::Values(SigVerFile{"crypto/ecdsa_p256_sha256_sigver.rsp", Curve::kP256, HashAlg::kSha256},
                                           SigVerFile{"crypto/ecdsa_p384_sha384_sigver.rsp", Curve::kP384, HashAlg::kSha384}));

TEST(EcdsaWycheproofTest, DerStrictnessAndValidSignatures) {
  auto recs = LoadVectorFile("crypto/wycheproof_ecdsa_p256_sha256.txt");
  ASSERT_TRUE(recs.ok()) << recs.status().ToString();
  ASSERT_EQ(recs->size(), 18u);
  for (const auto& r : *recs) {
    SCOPED_TRACE(r.Where() + " tcId " + r.Get("TcId") + ": " + r.Get("Comment"));
    auto key = ParsePublicKey(r.Hex("PublicKeyDer"));
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    Status s = EcdsaVerifyDer(*key, HashAlg::kSha256, r.Hex("Msg"), r.Hex("Sig"));
    if (r.Get("Result") == "valid") {
      EXPECT_TRUE(s.ok()) << s.ToString();
      // A valid DER signature survives DER -> raw -> DER unchanged (DER is canonical).
      auto raw = EcdsaDerToRaw(r.Hex("Sig"), 32);
      ASSERT_TRUE(raw.ok());
      EXPECT_EQ(*EcdsaRawToDer(*raw), r.Hex("Sig"));
      EXPECT_TRUE(EcdsaVerifyRaw(*key, HashAlg::kSha256, r.Hex("Msg"), *raw).ok());
    } else {
      EXPECT_EQ(s.code(), Code::kVerificationFailed) << s.ToString();
    }
  }
}

class EcdsaKeyTest : public ::testing::TestWithParam<std::pair<Curve, HashAlg>> {
 protected:
  size_t N() const { return GetParam().first == Curve::kP256 ? 32 : 48; }
};

TEST_P(EcdsaKeyTest, KeyProperties) {
  auto [curve, alg] = GetParam();
  auto key = EcGenerate(curve);
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(key->IsEc());
  EXPECT_FALSE(key->IsRsa());
  EXPECT_EQ(key->EcCurve(), curve);
  EXPECT_EQ(key->Bits(), static_cast<int>(8 * N()));
  // Raw export -> import gives the same key; the 0x04-prefixed form is accepted too.
  auto raw = EcPublicKeyRaw(*key);
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw->size(), 2 * N());
  auto again = EcPublicKeyFromRaw(curve, *raw);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again->PublicDer(), *key->PublicDer());
  Bytes prefixed{0x04};
  Append(prefixed, *raw);
  EXPECT_EQ(*EcPublicKeyFromRaw(curve, prefixed)->PublicDer(), *key->PublicDer());
  auto le = EcPublicKeyFromRaw(curve, ToLittleHalves(*raw), Endian::kLittle);
  ASSERT_TRUE(le.ok());
  EXPECT_EQ(*le->PublicDer(), *key->PublicDer());
  // PEM and DER forms parse back to the same key.
  auto pem = key->PublicPem();
  ASSERT_TRUE(pem.ok());
  EXPECT_EQ(*ParsePublicKey(AsBytes(*pem))->PublicDer(), *key->PublicDer());
  EXPECT_EQ(*ParsePublicKey(*key->PublicDer())->PublicDer(), *key->PublicDer());
  (void)alg;
}

TEST_P(EcdsaKeyTest, SignVerifyAndTampering) {
  auto [curve, alg] = GetParam();
  auto key = EcGenerate(curve);
  auto other = EcGenerate(curve);
  ASSERT_TRUE(key.ok() && other.ok());
  ByteSpan text = AsBytes("attestation report body");
  Bytes msg(text.begin(), text.end());

  auto der = EcdsaSignDer(*key, alg, msg);
  ASSERT_TRUE(der.ok()) << der.status().ToString();
  EXPECT_TRUE(EcdsaVerifyDer(*key, alg, msg, *der).ok());
  // DER <-> raw round trip, exact bytes both ways.
  auto raw = EcdsaDerToRaw(*der, N());
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw->size(), 2 * N());
  EXPECT_EQ(*EcdsaRawToDer(*raw), *der);
  EXPECT_TRUE(EcdsaVerifyRaw(*key, alg, msg, *raw).ok());

  auto expect_refused = [&](const Status& s, const char* what) {
    EXPECT_EQ(s.code(), Code::kVerificationFailed) << what << ": " << s.ToString();
    EXPECT_NE(s.message().find("does not verify"), std::string::npos) << s.message();
  };
  expect_refused(EcdsaVerifyDer(*other, alg, msg, *der), "wrong key");
  expect_refused(EcdsaVerifyRaw(*other, alg, msg, *raw), "wrong key raw");
  Bytes bad_msg = msg;
  bad_msg[3] ^= 0x01;
  expect_refused(EcdsaVerifyDer(*key, alg, bad_msg, *der), "flipped message bit");
  for (size_t i : {size_t{0}, N() - 1, N(), 2 * N() - 1}) {
    Bytes bad = *raw;
    bad[i] ^= 0x01;
    expect_refused(EcdsaVerifyRaw(*key, alg, msg, bad), "flipped signature bit");
  }
  Bytes bad_der = *der;
  bad_der.back() ^= 0x01;
  expect_refused(EcdsaVerifyDer(*key, alg, msg, bad_der), "flipped DER bit");
  HashAlg wrong = alg == HashAlg::kSha256 ? HashAlg::kSha384 : HashAlg::kSha256;
  expect_refused(EcdsaVerifyDer(*key, wrong, msg, *der), "wrong hash");
  expect_refused(EcdsaVerifyDer(*key, alg, msg, Bytes{0x30, 0x00}), "empty SEQUENCE");
  expect_refused(EcdsaVerifyDer(*key, alg, msg, Bytes{}), "empty signature");
}

TEST_P(EcdsaKeyTest, LittleEndianRawSignatures) {
  auto [curve, alg] = GetParam();
  auto key = EcGenerate(curve);
  ASSERT_TRUE(key.ok());
  Bytes msg = {1, 2, 3, 4};
  auto le = EcdsaSignRaw(*key, alg, msg, Endian::kLittle);
  ASSERT_TRUE(le.ok());
  ASSERT_EQ(le->size(), 2 * N());
  EXPECT_TRUE(EcdsaVerifyRaw(*key, alg, msg, *le, Endian::kLittle).ok());
  // The same bytes read as big-endian are a different (r, s): refused.
  EXPECT_EQ(EcdsaVerifyRaw(*key, alg, msg, *le, Endian::kBig).code(), Code::kVerificationFailed);
  EXPECT_TRUE(EcdsaVerifyRaw(*key, alg, msg, ToLittleHalves(*le), Endian::kBig).ok());
  auto be = EcdsaSignRaw(*key, alg, msg);
  ASSERT_TRUE(be.ok());
  EXPECT_TRUE(EcdsaVerifyRaw(*key, alg, msg, *be).ok());
}

INSTANTIATE_TEST_SUITE_P(Curves, EcdsaKeyTest,
                         ::testing::Values(std::pair{Curve::kP256, HashAlg::kSha256},
                                           std::pair{Curve::kP384, HashAlg::kSha384},
                                           std::pair{Curve::kP256, HashAlg::kSha512}));

TEST(EcdsaTest, SevSnpStyleWideLittleEndianComponents) {
  // SEV-SNP reports carry r and s as 72-byte little-endian fields of which only the low
  // 48 bytes are significant; the zero high bytes must not break verification.
  auto key = EcGenerate(Curve::kP384);
  ASSERT_TRUE(key.ok());
  Bytes msg = {9, 9, 9};
  auto le = EcdsaSignRaw(*key, HashAlg::kSha384, msg, Endian::kLittle);
  ASSERT_TRUE(le.ok());
  Bytes wide(ByteSpan(*le).first(48).begin(), ByteSpan(*le).first(48).end());
  wide.resize(72, 0);
  Append(wide, ByteSpan(*le).subspan(48));
  wide.resize(144, 0);
  EXPECT_TRUE(EcdsaVerifyRaw(*key, HashAlg::kSha384, msg, wide, Endian::kLittle).ok());
  wide[100] ^= 1;
  EXPECT_EQ(EcdsaVerifyRaw(*key, HashAlg::kSha384, msg, wide, Endian::kLittle).code(), Code::kVerificationFailed);
}

TEST(EcdsaTest, PrivateKeyPemRoundTrip) {
  auto key = EcGenerate(Curve::kP256);
  ASSERT_TRUE(key.ok());
  auto pem = PrivateKeyPem(*key);
  ASSERT_TRUE(pem.ok());
  EXPECT_NE(ToString(pem->span()).find("PRIVATE KEY"), std::string::npos);
  auto parsed = ParsePrivateKeyPem(pem->span());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  Bytes msg = {5};
  auto sig = EcdsaSignDer(*parsed, HashAlg::kSha256, msg);
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(EcdsaVerifyDer(*key, HashAlg::kSha256, msg, *sig).ok());
}

TEST(EcdsaArgsTest, BadKeysAndEncodingsAreInvalidArgument) {
  auto p256 = EcGenerate(Curve::kP256);
  ASSERT_TRUE(p256.ok());
  auto raw = EcPublicKeyRaw(*p256);
  ASSERT_TRUE(raw.ok());

  auto short_key = EcPublicKeyFromRaw(Curve::kP256, ByteSpan(*raw).first(63));
  ASSERT_FALSE(short_key.ok());
  EXPECT_EQ(short_key.status().code(), Code::kInvalidArgument);
  EXPECT_NE(short_key.status().message().find("64 bytes"), std::string::npos) << short_key.status().message();
  // A P-256 point is the wrong size for P-384.
  EXPECT_EQ(EcPublicKeyFromRaw(Curve::kP384, *raw).status().code(), Code::kInvalidArgument);
  // A point off the curve.
  Bytes off = *raw;
  off[63] ^= 0x01;
  auto bad_point = EcPublicKeyFromRaw(Curve::kP256, off);
  ASSERT_FALSE(bad_point.ok());
  EXPECT_NE(bad_point.status().message().find("not a point on the curve"), std::string::npos);
  EXPECT_FALSE(EcPublicKeyFromRaw(Curve::kP256, Bytes(64, 0)).ok());

  EXPECT_EQ(EcdsaVerifyRaw(*p256, HashAlg::kSha256, {}, Bytes(63)).code(), Code::kInvalidArgument);
  EXPECT_EQ(EcdsaVerifyRaw(*p256, HashAlg::kSha256, {}, Bytes{}).code(), Code::kInvalidArgument);
  EXPECT_EQ(EcdsaRawToDer(Bytes(3)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(EcdsaDerToRaw(Bytes{0x30, 0x03, 0x02, 0x01}, 32).status().code(), Code::kInvalidArgument);
  // Trailing bytes after the DER signature are refused.
  auto der = EcdsaSignDer(*p256, HashAlg::kSha256, Bytes{1});
  ASSERT_TRUE(der.ok());
  Bytes trailing = *der;
  trailing.push_back(0);
  EXPECT_EQ(EcdsaDerToRaw(trailing, 32).status().code(), Code::kInvalidArgument);
  // A component that does not fit the requested size.
  auto too_small = EcdsaDerToRaw(*der, 16);
  ASSERT_FALSE(too_small.ok());
  EXPECT_EQ(too_small.status().code(), Code::kInvalidArgument);

  // Operations on the wrong kind of key, or on no key at all.
  auto rsa_pem = ParsePublicKey(AsBytes("not a key"));
  EXPECT_EQ(rsa_pem.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParsePublicKey(Bytes{}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParsePrivateKeyPem(AsBytes("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(ParsePrivateKeyPem(*p256->PublicDer()).status().code(), Code::kInvalidArgument);
  PKey none;
  EXPECT_FALSE(static_cast<bool>(none));
  EXPECT_EQ(EcdsaSignDer(none, HashAlg::kSha256, Bytes{1}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(EcdsaVerifyDer(none, HashAlg::kSha256, Bytes{1}, *der).code(), Code::kInvalidArgument);
  EXPECT_EQ(EcPublicKeyRaw(none).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(none.PublicDer().status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace confide::crypto
