#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "confide/crypto.h"

namespace confide::crypto {
namespace {

// Key generation is slow (RSA-3072): make each key once for the whole suite.
class RsaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto k = RsaGenerate(3072, 3);
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    key3 = new PKey(*k);
    auto o = RsaGenerate(3072, 3);
    ASSERT_TRUE(o.ok());
    other3 = new PKey(*o);
  }
  static void TearDownTestSuite() {
    delete key3;
    delete other3;
  }
  static PKey* key3;
  static PKey* other3;
};
PKey* RsaTest::key3 = nullptr;
PKey* RsaTest::other3 = nullptr;

// Signs with RSA-PSS through the OpenSSL API directly, independent of confide's signing code.
Bytes OpenSslPssSign(const PKey& key, const EVP_MD* md, int salt, ByteSpan msg) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  size_t len = 0;
  Bytes sig;
  if (ctx && EVP_DigestSignInit(ctx, &pctx, md, nullptr, key.get()) == 1 &&
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1 &&
      EVP_DigestSign(ctx, nullptr, &len, msg.data(), msg.size()) == 1) {
    sig.resize(len);
    if (EVP_DigestSign(ctx, sig.data(), &len, msg.data(), msg.size()) != 1) sig.clear();
  }
  EVP_MD_CTX_free(ctx);
  return sig;
}

TEST_F(RsaTest, Generate3072WithExponent3) {
  EXPECT_TRUE(key3->IsRsa());
  EXPECT_FALSE(key3->IsEc());
  EXPECT_EQ(key3->EcCurve(), std::nullopt);
  EXPECT_EQ(key3->Bits(), 3072);
  auto e = RsaPublicExponent(*key3);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, Bytes{0x03});
  auto n = RsaModulus(*key3);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(n->size(), 384u);
  EXPECT_GE((*n)[0], 0x80);  // a full 3072-bit modulus
  EXPECT_EQ(n->back() & 1, 1);
  EXPECT_NE(*n, *RsaModulus(*other3));
  // The public half survives PEM export and import.
  auto pub = ParsePublicKey(AsBytes(*key3->PublicPem()));
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(*RsaModulus(*pub), *n);
  EXPECT_EQ(*RsaPublicExponent(*pub), Bytes{0x03});
}

TEST_F(RsaTest, Pkcs1SignVerify) {
  Bytes msg = {'e', 'n', 'c', 'l', 'a', 'v', 'e'};
  for (HashAlg alg : {HashAlg::kSha256, HashAlg::kSha384}) {
    auto sig = RsaSignPkcs1(*key3, alg, msg);
    ASSERT_TRUE(sig.ok()) << sig.status().ToString();
    EXPECT_EQ(sig->size(), 384u);
    // PKCS#1 v1.5 is deterministic: the same input gives the same signature.
    EXPECT_EQ(*RsaSignPkcs1(*key3, alg, msg), *sig);
    EXPECT_TRUE(RsaVerifyPkcs1(*key3, alg, msg, *sig).ok());
    auto pub = ParsePublicKey(*key3->PublicDer());
    ASSERT_TRUE(pub.ok());
    EXPECT_TRUE(RsaVerifyPkcs1(*pub, alg, msg, *sig).ok());
  }
}

TEST_F(RsaTest, Pkcs1RefusesWrongKeyFlippedBitsAndWrongHash) {
  Bytes msg = {1, 2, 3};
  auto sig = RsaSignPkcs1(*key3, HashAlg::kSha256, msg);
  ASSERT_TRUE(sig.ok());
  auto refused = [](const Status& s, const char* what) {
    EXPECT_EQ(s.code(), Code::kVerificationFailed) << what << ": " << s.ToString();
    EXPECT_NE(s.message().find("PKCS#1"), std::string::npos) << s.message();
  };
  refused(RsaVerifyPkcs1(*other3, HashAlg::kSha256, msg, *sig), "wrong key");
  refused(RsaVerifyPkcs1(*key3, HashAlg::kSha384, msg, *sig), "wrong hash");
  refused(RsaVerifyPkcs1(*key3, HashAlg::kSha256, Bytes{1, 2, 4}, *sig), "flipped message");
  for (size_t i : {size_t{0}, size_t{200}, size_t{383}}) {
    Bytes bad = *sig;
    bad[i] ^= 0x01;
    refused(RsaVerifyPkcs1(*key3, HashAlg::kSha256, msg, bad), "flipped signature bit");
  }
  refused(RsaVerifyPkcs1(*key3, HashAlg::kSha256, msg, ByteSpan(*sig).first(383)), "truncated");
  refused(RsaVerifyPkcs1(*key3, HashAlg::kSha256, msg, Bytes{}), "empty");
  // A PSS signature is not a PKCS#1 v1.5 signature.
  Bytes pss = OpenSslPssSign(*key3, EVP_sha256(), 32, msg);
  ASSERT_FALSE(pss.empty());
  refused(RsaVerifyPkcs1(*key3, HashAlg::kSha256, msg, pss), "PSS signature");
}

TEST_F(RsaTest, PssSha384Salt48FromOpenSsl) {
  Bytes msg(1000, 0x42);
  Bytes sig = OpenSslPssSign(*key3, EVP_sha384(), 48, msg);
  ASSERT_EQ(sig.size(), 384u);
  EXPECT_TRUE(RsaVerifyPss(*key3, HashAlg::kSha384, 48, msg, sig).ok());
  // Wrong salt length, hash, key, message or a flipped bit: all refused.
  EXPECT_EQ(RsaVerifyPss(*key3, HashAlg::kSha384, 32, msg, sig).code(), Code::kVerificationFailed);
  EXPECT_EQ(RsaVerifyPss(*key3, HashAlg::kSha256, 48, msg, sig).code(), Code::kVerificationFailed);
  EXPECT_EQ(RsaVerifyPss(*other3, HashAlg::kSha384, 48, msg, sig).code(), Code::kVerificationFailed);
  Bytes bad_msg = msg;
  bad_msg[999] ^= 1;
  EXPECT_EQ(RsaVerifyPss(*key3, HashAlg::kSha384, 48, bad_msg, sig).code(), Code::kVerificationFailed);
  Bytes bad = sig;
  bad[17] ^= 0x10;
  Status s = RsaVerifyPss(*key3, HashAlg::kSha384, 48, msg, bad);
  EXPECT_EQ(s.code(), Code::kVerificationFailed);
  EXPECT_NE(s.message().find("RSA-PSS"), std::string::npos) << s.message();
  // A PKCS#1 v1.5 signature is not a PSS signature.
  auto v15 = RsaSignPkcs1(*key3, HashAlg::kSha384, msg);
  ASSERT_TRUE(v15.ok());
  EXPECT_EQ(RsaVerifyPss(*key3, HashAlg::kSha384, 48, msg, *v15).code(), Code::kVerificationFailed);
}

TEST_F(RsaTest, OpenSslCliAgreesWithPkcs1Signatures) {
  if (std::system("openssl version > /dev/null 2>&1") != 0) GTEST_SKIP() << "the openssl command is not installed";
  std::string dir = (std::filesystem::temp_directory_path() / ("confide_rsa_cli_" + std::to_string(getpid()))).string();
  std::filesystem::create_directories(dir);
  Bytes msg = {'m', 'r', 's', 'i', 'g', 'n', 'e', 'r'};
  auto sig = RsaSignPkcs1(*key3, HashAlg::kSha256, msg);
  ASSERT_TRUE(sig.ok());
  ASSERT_TRUE(WriteFile(dir + "/pub.pem", AsBytes(*key3->PublicPem())).ok());
  ASSERT_TRUE(WriteFile(dir + "/msg", msg).ok());
  ASSERT_TRUE(WriteFile(dir + "/sig", *sig).ok());
  auto priv = PrivateKeyPem(*key3);
  ASSERT_TRUE(priv.ok());
  ASSERT_TRUE(WriteFile(dir + "/key.pem", priv->span(), 0600).ok());
  std::string verify = "openssl dgst -sha256 -verify " + dir + "/pub.pem -signature " + dir + "/sig " + dir +
                       "/msg > /dev/null 2>&1";
  EXPECT_EQ(std::system(verify.c_str()), 0) << "openssl refused confide's PKCS#1 signature";
  // And the other way: a PSS signature made by the CLI verifies with confide.
  std::string sign = "openssl dgst -sha384 -sign " + dir + "/key.pem -sigopt rsa_padding_mode:pss " +
                     "-sigopt rsa_pss_saltlen:48 -sigopt rsa_mgf1_md:sha384 -out " + dir + "/pss " + dir +
                     "/msg > /dev/null 2>&1";
  ASSERT_EQ(std::system(sign.c_str()), 0);
  auto pss = ReadFile(dir + "/pss");
  ASSERT_TRUE(pss.ok());
  EXPECT_TRUE(RsaVerifyPss(*key3, HashAlg::kSha384, 48, msg, *pss).ok());
  std::filesystem::remove_all(dir);
}

TEST(RsaArgsTest, RefusesBadParametersAndWrongKeyTypes) {
  auto small = RsaGenerate(1024, 65537);
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.status().code(), Code::kInvalidArgument);
  EXPECT_NE(small.status().message().find("2048"), std::string::npos) << small.status().message();
  EXPECT_EQ(RsaGenerate(3072, 4).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(RsaGenerate(3072, 1).status().code(), Code::kInvalidArgument);

  auto ec = EcGenerate(Curve::kP256);
  ASSERT_TRUE(ec.ok());
  for (Status s : {RsaModulus(*ec).status(), RsaPublicExponent(*ec).status(),
                   RsaSignPkcs1(*ec, HashAlg::kSha256, Bytes{1}).status(),
                   RsaVerifyPkcs1(*ec, HashAlg::kSha256, Bytes{1}, Bytes(384)),
                   RsaVerifyPss(*ec, HashAlg::kSha384, 48, Bytes{1}, Bytes(384))}) {
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
    EXPECT_NE(s.message().find("not an RSA key"), std::string::npos) << s.message();
  }
  EXPECT_EQ(RsaModulus(PKey()).status().code(), Code::kInvalidArgument);
  // Signing needs the private half.
  auto k = RsaGenerate(2048, 65537);
  ASSERT_TRUE(k.ok());
  auto pub = ParsePublicKey(*k->PublicDer());
  ASSERT_TRUE(pub.ok());
  auto sig = RsaSignPkcs1(*pub, HashAlg::kSha256, Bytes{1});
  ASSERT_FALSE(sig.ok());
  EXPECT_NE(sig.status().message().find("private key"), std::string::npos) << sig.status().message();
  EXPECT_EQ(*RsaPublicExponent(*k), (Bytes{0x01, 0x00, 0x01}));
  EXPECT_EQ(k->Bits(), 2048);
}

}  // namespace
}  // namespace confide::crypto
