// confide's AES-256-GCM and ECDSA P-256 wrappers against raw OpenSSL EVP calls measured in
// the same run, so the reported ratio shows the wrapper's overhead, not the machine's speed.
//   crypto_bench --benchmark_counters_tabular=true
// Compare bytes_per_second (GCM) or items_per_second (ECDSA) of each confide/raw pair.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

#include "confide/crypto.h"
#include "raw_aes_gcm.h"

namespace {

using namespace confide;

using bench::Check;

// ------------------------------------------------------------------ AES-256-GCM seal

void BM_AesGcmSeal_Confide(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  Bytes key(32, 0x42), iv(12, 0x24), aad(32, 0x01), pt(n, 0x5a), ct(n), tag(16);
  auto gcm = crypto::AesGcm::Create(key);
  Check(gcm.ok(), "AesGcm::Create");
  for (auto _ : state) {
    Check(gcm->Encrypt(iv, aad, pt, ct.data(), tag.data()).ok(), "Encrypt");
    benchmark::DoNotOptimize(tag.data());
    ++iv[0];
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}

// The baseline: the same work through EVP with one reused context, as a careful C caller would.
void BM_AesGcmSeal_RawEvp(benchmark::State& state) { bench::RawEvpSeal(state, 32); }

// One-shot helper (new context per call + output allocation): shows what the convenience costs.
void BM_AesGcmSeal_ConfideOneShot(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  Bytes key(32, 0x42), iv(12, 0x24), aad(32, 0x01), pt(n, 0x5a);
  for (auto _ : state) {
    auto sealed = crypto::AesGcmSeal(key, iv, aad, pt);
    benchmark::DoNotOptimize(sealed);
    ++iv[0];
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}

BENCHMARK(BM_AesGcmSeal_RawEvp)->Arg(16 << 10)->Arg(1 << 20);
BENCHMARK(BM_AesGcmSeal_Confide)->Arg(16 << 10)->Arg(1 << 20);
BENCHMARK(BM_AesGcmSeal_ConfideOneShot)->Arg(16 << 10)->Arg(1 << 20);

// ------------------------------------------------------------------ AES-256-GCM open

void BM_AesGcmOpen_Confide(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  Bytes key(32, 0x42), iv(12, 0x24), pt(n, 0x5a), ct(n), tag(16), out(n);
  auto gcm = crypto::AesGcm::Create(key);
  Check(gcm.ok() && gcm->Encrypt(iv, {}, pt, ct.data(), tag.data()).ok(), "setup");
  for (auto _ : state) {
    Check(gcm->Decrypt(iv, {}, ct, tag, out.data()).ok(), "Decrypt");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}

void BM_AesGcmOpen_RawEvp(benchmark::State& state) { bench::RawEvpOpen(state, 0); }

BENCHMARK(BM_AesGcmOpen_RawEvp)->Arg(16 << 10)->Arg(1 << 20);
BENCHMARK(BM_AesGcmOpen_Confide)->Arg(16 << 10)->Arg(1 << 20);

// ------------------------------------------------------------------ ECDSA P-256 verify

struct EcdsaFixture {
  crypto::PKey key;
  Bytes msg = Bytes(128, 0x33);
  Bytes der;
  Bytes raw;
  EcdsaFixture() {
    auto k = crypto::EcGenerate(crypto::Curve::kP256);
    Check(k.ok(), "EcGenerate");
    key = *k;
    auto d = crypto::EcdsaSignDer(key, crypto::HashAlg::kSha256, msg);
    Check(d.ok(), "sign");
    der = *d;
    auto r = crypto::EcdsaDerToRaw(der, 32);
    Check(r.ok(), "raw");
    raw = *r;
  }
};

EcdsaFixture& Ecdsa() {
  static EcdsaFixture f;
  return f;
}

void BM_EcdsaP256Verify_RawEvp(benchmark::State& state) {
  auto& f = Ecdsa();
  for (auto _ : state) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    int ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, f.key.get()) == 1 &&
             EVP_DigestVerify(ctx, f.der.data(), f.der.size(), f.msg.data(), f.msg.size()) == 1;
    EVP_MD_CTX_free(ctx);
    Check(ok, "EVP verify");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_EcdsaP256Verify_ConfideDer(benchmark::State& state) {
  auto& f = Ecdsa();
  for (auto _ : state) Check(crypto::EcdsaVerifyDer(f.key, crypto::HashAlg::kSha256, f.msg, f.der).ok(), "verify");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// Raw r||s as in SGX quotes: includes the raw -> DER conversion.
void BM_EcdsaP256Verify_ConfideRaw(benchmark::State& state) {
  auto& f = Ecdsa();
  for (auto _ : state) Check(crypto::EcdsaVerifyRaw(f.key, crypto::HashAlg::kSha256, f.msg, f.raw).ok(), "verify");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK(BM_EcdsaP256Verify_RawEvp);
BENCHMARK(BM_EcdsaP256Verify_ConfideDer);
BENCHMARK(BM_EcdsaP256Verify_ConfideRaw);

}  // namespace

BENCHMARK_MAIN();
