#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "crypto/openssl_util.h"

namespace confide::crypto {
namespace internal {

std::string OpenSslErrors() {
  std::string out;
  unsigned long e;
  char buf[256];
  while ((e = ERR_get_error()) != 0) {
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no detail" : out;
}

const EVP_MD* Md(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha256: return EVP_sha256();
    case HashAlg::kSha384: return EVP_sha384();
    case HashAlg::kSha512: return EVP_sha512();
  }
  return EVP_sha256();
}

}  // namespace internal

using internal::Md;

size_t HashSize(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha256: return 32;
    case HashAlg::kSha384: return 48;
    case HashAlg::kSha512: return 64;
  }
  return 0;
}

Bytes Hash(HashAlg alg, ByteSpan data) {
  Bytes out(HashSize(alg));
  unsigned int len = 0;
  // EVP_Digest only fails on allocation failure; abort rather than return a wrong hash.
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, Md(alg), nullptr) != 1) abort();
  return out;
}

Hasher::Hasher(HashAlg alg) : alg_(alg), ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), Md(alg), nullptr) != 1) abort();
}
Hasher::~Hasher() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void Hasher::Update(ByteSpan data) {
  if (EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size()) != 1) abort();
}
Bytes Hasher::Finish() {
  Bytes out(HashSize(alg_));
  unsigned int len = 0;
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  if (EVP_DigestFinal_ex(ctx, out.data(), &len) != 1 || EVP_DigestInit_ex(ctx, Md(alg_), nullptr) != 1) abort();
  return out;
}

Bytes Hmac(HashAlg alg, ByteSpan key, ByteSpan data) {
  Bytes out(HashSize(alg));
  unsigned int len = 0;
  static const uint8_t kEmpty = 0;
  if (!HMAC(Md(alg), key.empty() ? &kEmpty : key.data(), static_cast<int>(key.size()), data.data(), data.size(),
            out.data(), &len))
    abort();
  return out;
}

Result<SecureBytes> Hkdf(HashAlg alg, ByteSpan ikm, ByteSpan salt, ByteSpan info, size_t length) {
  if (length == 0 || length > 255 * HashSize(alg))
    return InvalidArgument("HKDF output length " + std::to_string(length) + " must be 1.." +
                           std::to_string(255 * HashSize(alg)) + " for this hash");
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (!kdf) return internal::CryptoFailure("HKDF is not available");
  EVP_KDF_CTX* kctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (!kctx) return internal::CryptoFailure("HKDF context allocation");
  const char* md_name = EVP_MD_get0_name(Md(alg));
  static uint8_t kEmpty = 0;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(md_name), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                        ikm.empty() ? &kEmpty : const_cast<uint8_t*>(ikm.data()), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                        salt.empty() ? &kEmpty : const_cast<uint8_t*>(salt.data()), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                        info.empty() ? &kEmpty : const_cast<uint8_t*>(info.data()), info.size()),
      OSSL_PARAM_construct_end()};
  SecureBytes out(length);
  int rc = EVP_KDF_derive(kctx, out.data(), length, params);
  EVP_KDF_CTX_free(kctx);
  if (rc != 1) return internal::CryptoFailure("HKDF derivation");
  return out;
}

Bytes RandomBytes(size_t n) {
  Bytes out(n);
  // The DRBG failing means the process cannot produce safe keys at all; stop here.
  if (!RandomFill(out.data(), n).ok()) abort();
  return out;
}

Status RandomFill(uint8_t* out, size_t n) {
  if (n == 0) return Status::Ok();
  if (RAND_bytes(out, static_cast<int>(n)) != 1) return internal::CryptoFailure("random generator");
  return Status::Ok();
}

}  // namespace confide::crypto
