// The AES-256-GCM baseline several benchmarks compare against: raw OpenSSL EVP with one
// reused context and preallocated buffers, the best a careful C caller can do.
#pragma once

#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace confide::bench {

inline void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "benchmark failed: %s\n", what);
    std::abort();
  }
}

// Seals state.range(0) bytes with `aad_bytes` of additional data per iteration.
inline void RawEvpSeal(benchmark::State& state, size_t aad_bytes) {
  size_t n = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> key(32, 0x42), iv(12, 0x24), aad(aad_bytes, 0x01), pt(n, 0x5a), ct(n), tag(16);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  Check(ctx && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(), nullptr) == 1, "EVP init");
  int len = 0;
  for (auto _ : state) {
    EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv.data());
    EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size()));
    EVP_EncryptUpdate(ctx, ct.data(), &len, pt.data(), static_cast<int>(n));
    EVP_EncryptFinal_ex(ctx, ct.data() + len, &len);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag.data());
    benchmark::DoNotOptimize(tag.data());
    ++iv[0];
  }
  EVP_CIPHER_CTX_free(ctx);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}

// Opens (decrypts and checks the tag of) state.range(0) bytes with `aad_bytes` of additional data.
inline void RawEvpOpen(benchmark::State& state, size_t aad_bytes) {
  size_t n = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> key(32, 0x42), iv(12, 0x24), aad(aad_bytes, 0x01), pt(n, 0x5a), ct(n), tag(16), out(n);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  Check(ctx && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(), iv.data()) == 1 &&
            EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(ctx, ct.data(), &len, pt.data(), static_cast<int>(n)) == 1 &&
            EVP_EncryptFinal_ex(ctx, ct.data() + len, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag.data()) == 1,
        "EVP encrypt");
  EVP_CIPHER_CTX_free(ctx);
  ctx = EVP_CIPHER_CTX_new();
  Check(ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(), nullptr) == 1, "EVP init");
  for (auto _ : state) {
    EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, iv.data());
    EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size()));
    EVP_DecryptUpdate(ctx, out.data(), &len, ct.data(), static_cast<int>(n));
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag.data());
    Check(EVP_DecryptFinal_ex(ctx, out.data() + len, &len) == 1, "EVP decrypt");
    benchmark::DoNotOptimize(out.data());
  }
  EVP_CIPHER_CTX_free(ctx);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}

}  // namespace confide::bench
