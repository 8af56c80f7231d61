// Enclave side of the vault: holds one secret in enclave memory and answers with its hash.
#include <cstring>
#include <memory>
#include <mutex>

#include "confide/bytes.h"
#include "confide/crypto.h"
#include "vault_t.h"

namespace {

std::mutex g_mu;
// Heap memory: on the soft backend every allocation of the enclave process comes from its
// memfd_secret heap. SecureBytes zeroes the bytes when replaced or destroyed, including when
// the enclave is unloaded.
std::unique_ptr<confide::SecureBytes> g_secret;

}  // namespace

int vault_store(const char* secret) {
  // `secret` points into the enclave's own copy of the request frame, which the trusted
  // runtime wipes when this call returns (and it already wiped the channel's copy).
  size_t n = std::strlen(secret);
  auto fresh = std::make_unique<confide::SecureBytes>(confide::ByteSpan(reinterpret_cast<const uint8_t*>(secret), n));
  std::lock_guard<std::mutex> lock(g_mu);
  g_secret = std::move(fresh);
  return static_cast<int>(n);
}

int vault_digest(uint8_t* digest, size_t digest_size) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_secret == nullptr || digest_size != 32) return -1;
  confide::Bytes d = confide::crypto::Sha256(g_secret->span());
  std::memcpy(digest, d.data(), d.size());
  return 0;
}
