// Seal / Unseal inside a sim enclave against raw OpenSSL EVP AES-256-GCM on the same sizes in
// the same run (DESIGN §6: >= 0.9x). Compare bytes_per_second of each Sealing/RawEvp pair:
//   sealing_bench --benchmark_counters_tabular=true
// The baseline reuses one EVP context and preallocated buffers, the best a careful caller
// can do. Seal uses the enclave's cached sealing key (derived once per instance) with a fresh
// IV, Unseal the cached key of that blob; Seal and Unseal also return new buffers (zeroed, and Unseal's wiped when freed), SealTo and
// UnsealTo write into the enclave's own.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

#include "confide/enclave.h"
#include "sealing_bench_u.h"

namespace {

using namespace confide;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "benchmark failed: %s\n", what);
    std::abort();
  }
}

Enclave& Bench() {
  static std::unique_ptr<Enclave> e = [] {
    EnclaveOptions o;
    o.backend = BackendKind::kSim;
    auto r = create_sealing_bench_enclave(SEALING_BENCH_ENCLAVE, o);
    Check(r.ok(), "creating the sim enclave");
    return std::move(*r);
  }();
  return *e;
}

bool Ok(const Result<int>& r) { return r.ok() && *r == 0; }

void BM_Seal_Sealing(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  Check(Ok(prepare(Bench(), n)), "prepare");
  for (auto _ : state) Check(Ok(seal_once(Bench())), "seal");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}

void BM_SealTo_Sealing(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  Check(Ok(prepare(Bench(), n)), "prepare");
  for (auto _ : state) Check(Ok(seal_to_once(Bench())), "seal_to");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}

void BM_Seal_RawEvp(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  Bytes key(32, 0x42), iv(12, 0x24), aad(68, 0x01), pt(n, 0x5a), ct(n), tag(16);
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

void BM_Unseal_Sealing(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  Check(Ok(prepare(Bench(), n)), "prepare");
  for (auto _ : state) Check(Ok(unseal_once(Bench())), "unseal");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}

void BM_UnsealTo_Sealing(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  Check(Ok(prepare(Bench(), n)), "prepare");
  for (auto _ : state) Check(Ok(unseal_to_once(Bench())), "unseal_to");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}

void BM_Unseal_RawEvp(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  Bytes key(32, 0x42), iv(12, 0x24), aad(68, 0x01), pt(n, 0x5a), ct(n), tag(16), out(n);
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

// 16 KiB .. 16 MiB in steps of 4x.
void Sizes(benchmark::internal::Benchmark* b) {
  for (int64_t n = 16 << 10; n <= 16 << 20; n *= 4) b->Arg(n);
}

BENCHMARK(BM_Seal_RawEvp)->Apply(Sizes);
BENCHMARK(BM_Seal_Sealing)->Apply(Sizes);
BENCHMARK(BM_SealTo_Sealing)->Apply(Sizes);
BENCHMARK(BM_Unseal_RawEvp)->Apply(Sizes);
BENCHMARK(BM_Unseal_Sealing)->Apply(Sizes);
BENCHMARK(BM_UnsealTo_Sealing)->Apply(Sizes);

}  // namespace

BENCHMARK_MAIN();
