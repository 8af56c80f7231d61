#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <algorithm>

#include "crypto/openssl_util.h"

namespace confide::crypto {

using internal::BnPtr;
using internal::CryptoFailure;
using internal::MdCtxPtr;
using internal::PkeyCtxPtr;
using internal::PkeyFree;

namespace {

const char* CurveName(Curve c) { return c == Curve::kP256 ? "P-256" : "P-384"; }
const char* CurveGroup(Curve c) { return c == Curve::kP256 ? "prime256v1" : "secp384r1"; }
size_t CurveSize(Curve c) { return c == Curve::kP256 ? 32 : 48; }

Bytes Reversed(ByteSpan b) { return Bytes(b.rbegin(), b.rend()); }

Status NeedEc(const PKey& key, const char* what) {
  if (!key) return InvalidArgument(std::string(what) + ": no key given");
  if (!key.IsEc()) return InvalidArgument(std::string(what) + ": the key is not an EC key");
  return Status::Ok();
}

Status NeedRsa(const PKey& key, const char* what) {
  if (!key) return InvalidArgument(std::string(what) + ": no key given");
  if (!key.IsRsa()) return InvalidArgument(std::string(what) + ": the key is not an RSA key");
  return Status::Ok();
}

Result<Bytes> BnParam(const PKey& key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key.get(), name, &bn) != 1) return CryptoFailure(std::string("reading key parameter ") + name);
  BnPtr owned(bn);
  Bytes out(static_cast<size_t>(BN_num_bytes(bn)));
  BN_bn2bin(bn, out.data());
  return out;
}

// Digest-sign / digest-verify with optional padding setup.
using CtxSetup = int (*)(EVP_PKEY_CTX*, int);

Result<Bytes> DigestSign(const PKey& key, HashAlg alg, ByteSpan message, int rsa_padding) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, internal::Md(alg), nullptr, key.get()) != 1)
    return CryptoFailure("signature setup (is this a private key?)");
  if (rsa_padding != 0 && EVP_PKEY_CTX_set_rsa_padding(pctx, rsa_padding) != 1)
    return CryptoFailure("RSA padding setup");
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()) != 1)
    return CryptoFailure("signature size");
  Bytes sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1)
    return CryptoFailure("signing");
  sig.resize(len);
  return sig;
}

Status DigestVerify(const PKey& key, HashAlg alg, ByteSpan message, ByteSpan sig, int rsa_padding, int pss_salt,
                    const char* what) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, internal::Md(alg), nullptr, key.get()) != 1)
    return CryptoFailure(std::string(what) + " setup");
  if (rsa_padding != 0 && EVP_PKEY_CTX_set_rsa_padding(pctx, rsa_padding) != 1)
    return CryptoFailure("RSA padding setup");
  if (rsa_padding == RSA_PKCS1_PSS_PADDING &&
      (EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pss_salt) != 1 || EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, internal::Md(alg)) != 1))
    return CryptoFailure("RSA-PSS parameter setup");
  int rc = EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), message.data(), message.size());
  ERR_clear_error();
  if (rc != 1) return VerificationFailed(std::string(what) + " does not verify with the given public key");
  return Status::Ok();
}

}  // namespace

PKey::PKey(EVP_PKEY* adopt) : key_(adopt, PkeyFree()) {}

bool PKey::IsEc() const { return key_ && EVP_PKEY_get_base_id(key_.get()) == EVP_PKEY_EC; }
bool PKey::IsRsa() const {
  if (!key_) return false;
  int id = EVP_PKEY_get_base_id(key_.get());
  return id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS;
}
int PKey::Bits() const { return key_ ? EVP_PKEY_get_bits(key_.get()) : 0; }

std::optional<Curve> PKey::EcCurve() const {
  if (!IsEc()) return std::nullopt;
  char name[64] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key_.get(), OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) != 1)
    return std::nullopt;
  std::string n(name);
  if (n == "prime256v1" || n == "P-256" || n == "secp256r1") return Curve::kP256;
  if (n == "secp384r1" || n == "P-384") return Curve::kP384;
  return std::nullopt;
}

Result<Bytes> PKey::PublicDer() const {
  if (!key_) return InvalidArgument("no key");
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key_.get(), &der);
  if (len <= 0) return CryptoFailure("encoding public key");
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

Result<std::string> PKey::PublicPem() const {
  if (!key_) return InvalidArgument("no key");
  internal::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) return CryptoFailure("encoding public key PEM");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<PKey> ParsePublicKey(ByteSpan in) {
  if (in.empty()) return InvalidArgument("public key: input is empty");
  auto bio = internal::MemBio(in);
  EVP_PKEY* k = nullptr;
  if (internal::LooksLikePem(in)) {
    k = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
    if (!k) {
      // A certificate's key is accepted too.
      ERR_clear_error();
      auto bio2 = internal::MemBio(in);
      X509* cert = PEM_read_bio_X509(bio2.get(), nullptr, nullptr, nullptr);
      if (cert) {
        k = X509_get_pubkey(cert);
        X509_free(cert);
      }
    }
  } else {
    const unsigned char* p = in.data();
    k = d2i_PUBKEY(nullptr, &p, static_cast<long>(in.size()));
  }
  ERR_clear_error();
  if (!k) return InvalidArgument("public key: not a PEM or DER SubjectPublicKeyInfo (or certificate)");
  return PKey(k);
}

Result<PKey> ParsePrivateKeyPem(ByteSpan pem) {
  if (!internal::LooksLikePem(pem)) return InvalidArgument("private key: not PEM text (expected -----BEGIN ... PRIVATE KEY-----)");
  auto bio = internal::MemBio(pem);
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  ERR_clear_error();
  if (!k) return InvalidArgument("private key: PEM does not hold a readable unencrypted private key");
  return PKey(k);
}

Result<SecureBytes> PrivateKeyPem(const PKey& key) {
  if (!key) return InvalidArgument("no key");
  internal::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return CryptoFailure("encoding private key PEM");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  SecureBytes out(ByteSpan(reinterpret_cast<uint8_t*>(data), static_cast<size_t>(len)));
  OPENSSL_cleanse(data, static_cast<size_t>(len));
  return out;
}

// ------------------------------------------------------------------------------ EC

Result<PKey> EcGenerate(Curve curve) {
  EVP_PKEY* k = EVP_EC_gen(CurveGroup(curve));
  if (!k) return CryptoFailure(std::string("generating ") + CurveName(curve) + " key");
  return PKey(k);
}

Result<PKey> EcPublicKeyFromRaw(Curve curve, ByteSpan xy, Endian endian) {
  size_t n = CurveSize(curve);
  Bytes point;
  if (xy.size() == 2 * n + 1 && xy[0] == 0x04 && endian == Endian::kBig) {
    point.assign(xy.begin(), xy.end());
  } else if (xy.size() == 2 * n) {
    point.push_back(0x04);
    if (endian == Endian::kBig) {
      Append(point, xy);
    } else {
      Append(point, Reversed(xy.first(n)));
      Append(point, Reversed(xy.subspan(n)));
    }
  } else {
    return InvalidArgument(std::string(CurveName(curve)) + " public key must be " + std::to_string(2 * n) +
                           " bytes (x || y), got " + std::to_string(xy.size()));
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(CurveGroup(curve)), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* k = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &k, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    ERR_clear_error();
    return InvalidArgument(std::string(CurveName(curve)) + " public key is not a point on the curve");
  }
  // fromdata does not validate the point; the quick check (on the curve, not infinity) is
  // all ECDSA verification needs and costs far less than the full check.
  PKey key(k);
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, k, nullptr));
  if (!check || EVP_PKEY_public_check_quick(check.get()) != 1) {
    ERR_clear_error();
    return InvalidArgument(std::string(CurveName(curve)) + " public key is not a point on the curve");
  }
  return key;
}

Result<Bytes> EcPublicKeyRaw(const PKey& key) {
  CONFIDE_RETURN_IF_ERROR(NeedEc(key, "EC public key export"));
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0, &len) != 1)
    return CryptoFailure("EC public key size");
  Bytes out(len);
  if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out.data(), len, &len) != 1)
    return CryptoFailure("EC public key export");
  if (out.empty() || out[0] != 0x04) {
    // Keys may be stored compressed; ask for the uncompressed form explicitly.
    return Unsupported("EC public key is not in uncompressed form");
  }
  return Bytes(out.begin() + 1, out.end());
}

Result<Bytes> EcdsaSignDer(const PKey& key, HashAlg alg, ByteSpan message) {
  CONFIDE_RETURN_IF_ERROR(NeedEc(key, "ECDSA sign"));
  return DigestSign(key, alg, message, 0);
}

Result<Bytes> EcdsaSignRaw(const PKey& key, HashAlg alg, ByteSpan message, Endian endian) {
  CONFIDE_ASSIGN_OR_RETURN(Bytes der, EcdsaSignDer(key, alg, message));
  auto curve = key.EcCurve();
  if (!curve) return Unsupported("ECDSA: only P-256 and P-384 are supported");
  CONFIDE_ASSIGN_OR_RETURN(Bytes raw, EcdsaDerToRaw(der, CurveSize(*curve)));
  if (endian == Endian::kLittle) {
    size_t n = CurveSize(*curve);
    Bytes le = Reversed(ByteSpan(raw).first(n));
    Append(le, Reversed(ByteSpan(raw).subspan(n)));
    return le;
  }
  return raw;
}

Status EcdsaVerifyDer(const PKey& key, HashAlg alg, ByteSpan message, ByteSpan der_signature) {
  CONFIDE_RETURN_IF_ERROR(NeedEc(key, "ECDSA verify"));
  return DigestVerify(key, alg, message, der_signature, 0, 0, "ECDSA signature");
}

Status EcdsaVerifyRaw(const PKey& key, HashAlg alg, ByteSpan message, ByteSpan raw, Endian endian) {
  CONFIDE_RETURN_IF_ERROR(NeedEc(key, "ECDSA verify"));
  if (raw.empty() || raw.size() % 2 != 0)
    return InvalidArgument("raw ECDSA signature must be r || s of equal sizes, got " + std::to_string(raw.size()) +
                           " bytes");
  Bytes be;
  size_t half = raw.size() / 2;
  if (endian == Endian::kLittle) {
    be = Reversed(raw.first(half));
    Append(be, Reversed(raw.subspan(half)));
  } else {
    be.assign(raw.begin(), raw.end());
  }
  CONFIDE_ASSIGN_OR_RETURN(Bytes der, EcdsaRawToDer(be));
  return DigestVerify(key, alg, message, der, 0, 0, "ECDSA signature");
}

Result<Bytes> EcdsaDerToRaw(ByteSpan der, size_t n) {
  const unsigned char* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (!sig || p != der.data() + der.size()) {
    ECDSA_SIG_free(sig);
    ERR_clear_error();
    return InvalidArgument("ECDSA signature is not valid DER (ECDSA-Sig-Value)");
  }
  const BIGNUM *r = nullptr, *s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  Bytes out(2 * n);
  bool ok = BN_bn2binpad(r, out.data(), static_cast<int>(n)) == static_cast<int>(n) &&
            BN_bn2binpad(s, out.data() + n, static_cast<int>(n)) == static_cast<int>(n);
  ECDSA_SIG_free(sig);
  if (!ok) return InvalidArgument("ECDSA signature component is larger than " + std::to_string(n) + " bytes");
  return out;
}

Result<Bytes> EcdsaRawToDer(ByteSpan raw) {
  if (raw.empty() || raw.size() % 2 != 0)
    return InvalidArgument("raw ECDSA signature must be r || s of equal sizes");
  size_t n = raw.size() / 2;
  BIGNUM* r = BN_bin2bn(raw.data(), static_cast<int>(n), nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + n, static_cast<int>(n), nullptr);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (!r || !s || !sig || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return CryptoFailure("building ECDSA signature");
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (len <= 0) return CryptoFailure("encoding ECDSA signature");
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

// ------------------------------------------------------------------------------ RSA

Result<PKey> RsaGenerate(int bits, unsigned long exponent) {
  if (bits < 2048 || bits > 8192) return InvalidArgument("RSA key size must be 2048..8192 bits");
  if (exponent < 3 || exponent % 2 == 0) return InvalidArgument("RSA public exponent must be odd and >= 3");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  BnPtr e(BN_new());
  EVP_PKEY* k = nullptr;
  if (!ctx || !e || BN_set_word(e.get(), exponent) != 1 || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) != 1 ||
      EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx.get(), e.get()) != 1 || EVP_PKEY_generate(ctx.get(), &k) != 1)
    return CryptoFailure("generating RSA key");
  return PKey(k);
}

Result<Bytes> RsaModulus(const PKey& key) {
  CONFIDE_RETURN_IF_ERROR(NeedRsa(key, "RSA modulus"));
  return BnParam(key, OSSL_PKEY_PARAM_RSA_N);
}

Result<Bytes> RsaPublicExponent(const PKey& key) {
  CONFIDE_RETURN_IF_ERROR(NeedRsa(key, "RSA exponent"));
  return BnParam(key, OSSL_PKEY_PARAM_RSA_E);
}

Result<Bytes> RsaSignPkcs1(const PKey& key, HashAlg alg, ByteSpan message) {
  CONFIDE_RETURN_IF_ERROR(NeedRsa(key, "RSA sign"));
  return DigestSign(key, alg, message, RSA_PKCS1_PADDING);
}

Status RsaVerifyPkcs1(const PKey& key, HashAlg alg, ByteSpan message, ByteSpan signature) {
  CONFIDE_RETURN_IF_ERROR(NeedRsa(key, "RSA verify"));
  return DigestVerify(key, alg, message, signature, RSA_PKCS1_PADDING, 0, "RSA PKCS#1 v1.5 signature");
}

Status RsaVerifyPss(const PKey& key, HashAlg alg, int salt_length, ByteSpan message, ByteSpan signature) {
  CONFIDE_RETURN_IF_ERROR(NeedRsa(key, "RSA-PSS verify"));
  return DigestVerify(key, alg, message, signature, RSA_PKCS1_PSS_PADDING, salt_length, "RSA-PSS signature");
}

}  // namespace confide::crypto
