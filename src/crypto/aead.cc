#include "crypto/openssl_util.h"

namespace confide::crypto {
namespace {

Status CheckSizes(ByteSpan iv, size_t tag_size) {
  if (iv.size() != kAesGcmIvSize)
    return InvalidArgument("AES-GCM IV must be 12 bytes, got " + std::to_string(iv.size()));
  if (tag_size != kAesGcmTagSize)
    return InvalidArgument("AES-GCM tag must be 16 bytes, got " + std::to_string(tag_size));
  return Status::Ok();
}

// EVP update lengths are int; split larger inputs.
constexpr size_t kChunk = size_t{1} << 30;

}  // namespace

Result<AesGcm> AesGcm::Create(ByteSpan key) {
  if (key.size() != kAesGcmKeySize)
    return InvalidArgument("AES-256-GCM key must be 32 bytes, got " + std::to_string(key.size()));
  AesGcm g;
  g.key_ = SecureBytes(key);
  g.enc_ = EVP_CIPHER_CTX_new();
  g.dec_ = EVP_CIPHER_CTX_new();
  if (!g.enc_ || !g.dec_ || EVP_EncryptInit_ex(g.enc_, EVP_aes_256_gcm(), nullptr, g.key_.data(), nullptr) != 1 ||
      EVP_DecryptInit_ex(g.dec_, EVP_aes_256_gcm(), nullptr, g.key_.data(), nullptr) != 1)
    return internal::CryptoFailure("AES-256-GCM setup");
  return g;
}

AesGcm::AesGcm(AesGcm&& o) noexcept : key_(std::move(o.key_)), enc_(o.enc_), dec_(o.dec_) {
  o.enc_ = o.dec_ = nullptr;
}
AesGcm& AesGcm::operator=(AesGcm&& o) noexcept {
  if (this != &o) {
    EVP_CIPHER_CTX_free(enc_);
    EVP_CIPHER_CTX_free(dec_);
    key_ = std::move(o.key_);
    enc_ = o.enc_;
    dec_ = o.dec_;
    o.enc_ = o.dec_ = nullptr;
  }
  return *this;
}
AesGcm::~AesGcm() {
  EVP_CIPHER_CTX_free(enc_);
  EVP_CIPHER_CTX_free(dec_);
}

Status AesGcm::Encrypt(ByteSpan iv, ByteSpan aad, ByteSpan plaintext, uint8_t* ciphertext_out, uint8_t* tag_out) {
  CONFIDE_RETURN_IF_ERROR(CheckSizes(iv, kAesGcmTagSize));
  if (!enc_) return InvalidArgument("AES-GCM object was moved from");
  int len = 0;
  // Key stays scheduled in the context; only the IV is set per message.
  if (EVP_EncryptInit_ex(enc_, nullptr, nullptr, nullptr, iv.data()) != 1)
    return internal::CryptoFailure("AES-GCM IV setup");
  for (size_t off = 0; off < aad.size(); off += kChunk)
    if (EVP_EncryptUpdate(enc_, nullptr, &len, aad.data() + off, static_cast<int>(std::min(kChunk, aad.size() - off))) != 1)
      return internal::CryptoFailure("AES-GCM AAD");
  for (size_t off = 0; off < plaintext.size(); off += kChunk)
    if (EVP_EncryptUpdate(enc_, ciphertext_out + off, &len, plaintext.data() + off,
                          static_cast<int>(std::min(kChunk, plaintext.size() - off))) != 1)
      return internal::CryptoFailure("AES-GCM encrypt");
  if (EVP_EncryptFinal_ex(enc_, ciphertext_out + plaintext.size(), &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(enc_, EVP_CTRL_GCM_GET_TAG, kAesGcmTagSize, tag_out) != 1)
    return internal::CryptoFailure("AES-GCM finish");
  return Status::Ok();
}

Status AesGcm::Decrypt(ByteSpan iv, ByteSpan aad, ByteSpan ciphertext, ByteSpan tag, uint8_t* plaintext_out) {
  CONFIDE_RETURN_IF_ERROR(CheckSizes(iv, tag.size()));
  if (!dec_) return InvalidArgument("AES-GCM object was moved from");
  int len = 0;
  if (EVP_DecryptInit_ex(dec_, nullptr, nullptr, nullptr, iv.data()) != 1)
    return internal::CryptoFailure("AES-GCM IV setup");
  for (size_t off = 0; off < aad.size(); off += kChunk)
    if (EVP_DecryptUpdate(dec_, nullptr, &len, aad.data() + off, static_cast<int>(std::min(kChunk, aad.size() - off))) != 1)
      return internal::CryptoFailure("AES-GCM AAD");
  for (size_t off = 0; off < ciphertext.size(); off += kChunk)
    if (EVP_DecryptUpdate(dec_, plaintext_out + off, &len, ciphertext.data() + off,
                          static_cast<int>(std::min(kChunk, ciphertext.size() - off))) != 1)
      return internal::CryptoFailure("AES-GCM decrypt");
  if (EVP_CIPHER_CTX_ctrl(dec_, EVP_CTRL_GCM_SET_TAG, kAesGcmTagSize, const_cast<uint8_t*>(tag.data())) != 1)
    return internal::CryptoFailure("AES-GCM tag setup");
  if (EVP_DecryptFinal_ex(dec_, plaintext_out + ciphertext.size(), &len) != 1) {
    ERR_clear_error();
    // Never hand out plaintext that failed authentication.
    SecureZero(plaintext_out, ciphertext.size());
    return VerificationFailed(
        "AES-GCM authentication failed: the ciphertext, tag, IV or associated data was changed, or the key is wrong");
  }
  return Status::Ok();
}

Result<Bytes> AesGcmSeal(ByteSpan key, ByteSpan iv, ByteSpan aad, ByteSpan plaintext) {
  CONFIDE_ASSIGN_OR_RETURN(AesGcm gcm, AesGcm::Create(key));
  Bytes out(plaintext.size() + kAesGcmTagSize);
  CONFIDE_RETURN_IF_ERROR(gcm.Encrypt(iv, aad, plaintext, out.data(), out.data() + plaintext.size()));
  return out;
}

Result<SecureBytes> AesGcmOpen(ByteSpan key, ByteSpan iv, ByteSpan aad, ByteSpan sealed) {
  if (sealed.size() < kAesGcmTagSize)
    return InvalidArgument("AES-GCM sealed data is " + std::to_string(sealed.size()) +
                           " bytes, shorter than the 16-byte tag");
  CONFIDE_ASSIGN_OR_RETURN(AesGcm gcm, AesGcm::Create(key));
  size_t n = sealed.size() - kAesGcmTagSize;
  SecureBytes out(n);
  CONFIDE_RETURN_IF_ERROR(gcm.Decrypt(iv, aad, sealed.first(n), sealed.subspan(n), out.data()));
  return out;
}

}  // namespace confide::crypto
