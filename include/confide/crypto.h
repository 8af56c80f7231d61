// Thin RAII wrappers over OpenSSL 3. No primitive is implemented here by hand.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "confide/bytes.h"
#include "confide/status.h"

typedef struct evp_pkey_st EVP_PKEY;
typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace confide::crypto {

// ---------------------------------------------------------------- hashing, MAC, KDF
enum class HashAlg { kSha256, kSha384, kSha512 };

size_t HashSize(HashAlg alg);
Bytes Hash(HashAlg alg, ByteSpan data);
inline Bytes Sha256(ByteSpan data) { return Hash(HashAlg::kSha256, data); }
inline Bytes Sha384(ByteSpan data) { return Hash(HashAlg::kSha384, data); }
inline Bytes Sha512(ByteSpan data) { return Hash(HashAlg::kSha512, data); }

// Incremental hashing for data that arrives in pieces.
class Hasher {
 public:
  explicit Hasher(HashAlg alg);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  void Update(ByteSpan data);
  Bytes Finish();  // the hasher is reset afterwards

 private:
  HashAlg alg_;
  void* ctx_;  // EVP_MD_CTX
};

Bytes Hmac(HashAlg alg, ByteSpan key, ByteSpan data);
// RFC 5869. Fails when `length` exceeds 255 * hash size.
Result<SecureBytes> Hkdf(HashAlg alg, ByteSpan ikm, ByteSpan salt, ByteSpan info, size_t length);

// Cryptographically secure random bytes from OpenSSL's DRBG.
Bytes RandomBytes(size_t n);
Status RandomFill(uint8_t* out, size_t n);

// ---------------------------------------------------------------- AES-256-GCM
inline constexpr size_t kAesGcmKeySize = 32;
inline constexpr size_t kAesGcmIvSize = 12;
inline constexpr size_t kAesGcmTagSize = 16;

// One key, many messages. Keeps its OpenSSL context so repeated calls cost no setup.
class AesGcm {
 public:
  static Result<AesGcm> Create(ByteSpan key);  // key must be 32 bytes
  AesGcm(AesGcm&&) noexcept;
  AesGcm& operator=(AesGcm&&) noexcept;
  ~AesGcm();

  // ciphertext_out and tag_out must have room for plaintext.size() and 16 bytes.
  Status Encrypt(ByteSpan iv, ByteSpan aad, ByteSpan plaintext, uint8_t* ciphertext_out,
                 uint8_t* tag_out);
  // Fails with kVerificationFailed when the tag does not match; plaintext_out is zeroed then.
  Status Decrypt(ByteSpan iv, ByteSpan aad, ByteSpan ciphertext, ByteSpan tag, uint8_t* plaintext_out);

 private:
  AesGcm() = default;
  SecureBytes key_;
  EVP_CIPHER_CTX* enc_ = nullptr;
  EVP_CIPHER_CTX* dec_ = nullptr;
};

// Convenience: returns ciphertext || tag.
Result<Bytes> AesGcmSeal(ByteSpan key, ByteSpan iv, ByteSpan aad, ByteSpan plaintext);
// Takes ciphertext || tag.
Result<SecureBytes> AesGcmOpen(ByteSpan key, ByteSpan iv, ByteSpan aad, ByteSpan sealed);

// ---------------------------------------------------------------- public keys
enum class Curve { kP256, kP384 };
enum class Endian { kBig, kLittle };

// Shared, immutable handle to an OpenSSL key (public, or private + public).
class PKey {
 public:
  PKey() = default;
  explicit PKey(EVP_PKEY* adopt);  // takes ownership
  EVP_PKEY* get() const { return key_.get(); }
  explicit operator bool() const { return key_ != nullptr; }

  bool IsEc() const;
  bool IsRsa() const;
  std::optional<Curve> EcCurve() const;
  int Bits() const;

  // SubjectPublicKeyInfo, DER.
  Result<Bytes> PublicDer() const;
  Result<std::string> PublicPem() const;

 private:
  std::shared_ptr<EVP_PKEY> key_;
};

// Parses a PEM or DER public key (SubjectPublicKeyInfo), or a certificate's key.
Result<PKey> ParsePublicKey(ByteSpan pem_or_der);
// Parses a PEM private key (PKCS#8 or traditional).
Result<PKey> ParsePrivateKeyPem(ByteSpan pem);
Result<SecureBytes> PrivateKeyPem(const PKey& key);

// ---- ECDSA
Result<PKey> EcGenerate(Curve curve);
// x || y, each big-endian of the curve's size (64 bytes for P-256, 96 for P-384);
// an uncompressed point with a 0x04 prefix is accepted too.
Result<PKey> EcPublicKeyFromRaw(Curve curve, ByteSpan xy, Endian endian = Endian::kBig);
// Uncompressed point without the 0x04 prefix (x || y, big-endian).
Result<Bytes> EcPublicKeyRaw(const PKey& key);

// Signature over `message` (hashed with alg). DER: ASN.1 ECDSA-Sig-Value.
Result<Bytes> EcdsaSignDer(const PKey& key, HashAlg alg, ByteSpan message);
// Raw: r || s, each the curve's size, in the given byte order.
Result<Bytes> EcdsaSignRaw(const PKey& key, HashAlg alg, ByteSpan message, Endian endian = Endian::kBig);
Status EcdsaVerifyDer(const PKey& key, HashAlg alg, ByteSpan message, ByteSpan der_signature);
// Raw r || s, each component half the signature's length. SEV-SNP's 72-byte little-endian
// components (only the low 48 bytes significant) verify as they are.
Status EcdsaVerifyRaw(const PKey& key, HashAlg alg, ByteSpan message, ByteSpan raw_signature,
                      Endian endian = Endian::kBig);
Result<Bytes> EcdsaDerToRaw(ByteSpan der, size_t component_size);
Result<Bytes> EcdsaRawToDer(ByteSpan raw);

// ---- RSA
// `exponent` 3 for enclave signing keys (as SGX), 65537 otherwise.
Result<PKey> RsaGenerate(int bits, unsigned long exponent);
// Modulus as big-endian bytes, without leading zeros beyond the key size.
Result<Bytes> RsaModulus(const PKey& key);
Result<Bytes> RsaPublicExponent(const PKey& key);
Result<Bytes> RsaSignPkcs1(const PKey& key, HashAlg alg, ByteSpan message);
Status RsaVerifyPkcs1(const PKey& key, HashAlg alg, ByteSpan message, ByteSpan signature);
Status RsaVerifyPss(const PKey& key, HashAlg alg, int salt_length, ByteSpan message, ByteSpan signature);

}  // namespace confide::crypto
