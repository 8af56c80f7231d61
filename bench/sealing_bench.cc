// Seal / Unseal inside a sim enclave against raw OpenSSL EVP AES-256-GCM on the same sizes in
// the same run (DESIGN §6: >= 0.9x). Compare bytes_per_second of each Sealing/RawEvp pair:
//   sealing_bench --benchmark_counters_tabular=true
// The baseline reuses one EVP context and preallocated buffers, the best a careful caller
// can do. Seal uses the enclave's cached sealing key (derived once per instance) with a fresh
// IV, Unseal the cached key of that blob; Seal and Unseal also return new buffers (zeroed, and Unseal's wiped when freed), SealTo and
// UnsealTo write into the enclave's own.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>

#include "confide/enclave.h"
#include "raw_aes_gcm.h"
#include "sealing_bench_u.h"

namespace {

using namespace confide;

using bench::Check;

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

void BM_Seal_RawEvp(benchmark::State& state) { bench::RawEvpSeal(state, 68); }  // aad like the blob header

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

void BM_Unseal_RawEvp(benchmark::State& state) { bench::RawEvpOpen(state, 68); }

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
