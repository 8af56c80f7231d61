// Intel DCAP quote verification throughput on the real phala-dcap-qvl vectors:
//   cached   - one dcap::Verifier; collateral parsed and its chains, CRLs and signatures
//              checked once, PCK chain parsed and checked once; per quote: parse, every
//              validity window, CRL lookups, QE report and quote signatures, identities, grading
//   uncached - collateral JSON parsed and everything verified from scratch for every quote
// against the unavoidable floor measured in the same run: two raw ECDSA P-256 verifies (the
// QE report under the PCK key, the quote under the attestation key) of the same quote.
//
//   dcap_verify_bench --benchmark_counters_tabular=true
// Counters: verifs_per_s, and vs_two_raw_ecdsa = (time of two raw verifies) / (time per
// quote); 1.0 would mean no overhead beyond the two signature checks.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include "confide/attestation/dcap.h"
#include "confide/crypto.h"

namespace dcap = confide::attestation::dcap;

namespace {

const std::string kDir = std::string(CONFIDE_TEST_VECTORS) + "/phala-dcap-qvl/";

confide::Bytes Load(const std::string& name) {
  auto b = confide::ReadFile(kDir + name);
  if (!b.ok()) {
    std::cerr << b.status().ToString() << "\n";
    std::exit(1);
  }
  return *b;
}

struct Vector {
  confide::Bytes quote;
  confide::Bytes collateral_json;
  dcap::Collateral collateral;
  confide::UnixTime at;
  // Baseline inputs.
  dcap::Quote parsed;
  confide::crypto::PKey pck_key;
  confide::crypto::PKey attest_key;

  Vector(const std::string& name, const char* at_text) {
    quote = Load(name);
    collateral_json = Load(name + "_collateral.json");
    collateral = dcap::ParseCollateral(collateral_json).value();
    at = confide::ParseRfc3339(at_text).value();
    parsed = dcap::ParseQuote(quote).value();
    pck_key = confide::x509::Certificate::FromPem(parsed.pck_chain_pem).value().PublicKey();
    attest_key = confide::crypto::EcPublicKeyFromRaw(confide::crypto::Curve::kP256, parsed.attestation_key).value();
    auto check = dcap::VerifyQuote(quote, collateral, at);
    if (!check.ok()) {
      std::cerr << name << " does not verify: " << check.status().ToString() << "\n";
      std::exit(1);
    }
  }
};

const Vector& Sgx() {
  static const Vector v("sgx_quote", "2025-07-01T12:00:00Z");
  return v;
}
const Vector& Tdx() {
  static const Vector v("tdx_quote", "2025-07-01T12:00:00Z");
  return v;
}

void TwoRawVerifies(const Vector& v) {
  using namespace confide::crypto;
  bool ok = EcdsaVerifyRaw(v.pck_key, HashAlg::kSha256, v.parsed.qe_report_raw, v.parsed.qe_report_signature).ok() &&
            EcdsaVerifyRaw(v.attest_key, HashAlg::kSha256, v.parsed.signed_data, v.parsed.signature).ok();
  if (!ok) std::abort();
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// CPU seconds for two raw verifies: the median of 7 batches, measured once per process, on
// the same clock Google Benchmark's rate counters use (thread CPU time), so the ratio does
// not depend on how loaded the machine is.
double RawSeconds() {
  static const double seconds = [] {
    std::vector<double> runs;
    for (int r = 0; r < 7; ++r) {
      double t0 = ThreadCpuSeconds();
      for (int i = 0; i < 200; ++i) TwoRawVerifies(Sgx());
      runs.push_back((ThreadCpuSeconds() - t0) / 200);
    }
    std::sort(runs.begin(), runs.end());
    return runs[runs.size() / 2];
  }();
  return seconds;
}

void Report(benchmark::State& state) {
  double n = static_cast<double>(state.iterations());
  state.counters["verifs_per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  state.counters["vs_two_raw_ecdsa"] = benchmark::Counter(n * RawSeconds(), benchmark::Counter::kIsRate);
}

void BM_TwoRawEcdsaP256Verifies(benchmark::State& state) {
  RawSeconds();
  for (auto _ : state) TwoRawVerifies(Sgx());
  Report(state);
}

void Cached(benchmark::State& state, const Vector& v) {
  RawSeconds();
  dcap::Verifier verifier;
  if (!verifier.Verify(v.quote, v.collateral, v.at).ok()) std::abort();  // warm the cache
  for (auto _ : state) {
    auto r = verifier.Verify(v.quote, v.collateral, v.at);
    if (!r.ok()) std::abort();
    benchmark::DoNotOptimize(r);
  }
  Report(state);
}

void Uncached(benchmark::State& state, const Vector& v) {
  RawSeconds();
  for (auto _ : state) {
    auto collateral = dcap::ParseCollateral(v.collateral_json);
    auto r = dcap::VerifyQuote(v.quote, *collateral, v.at);
    if (!r.ok()) std::abort();
    benchmark::DoNotOptimize(r);
  }
  Report(state);
}

void BM_SgxQuoteCached(benchmark::State& state) { Cached(state, Sgx()); }
void BM_SgxQuoteUncached(benchmark::State& state) { Uncached(state, Sgx()); }
void BM_TdxQuoteCached(benchmark::State& state) { Cached(state, Tdx()); }
void BM_TdxQuoteUncached(benchmark::State& state) { Uncached(state, Tdx()); }

BENCHMARK(BM_TwoRawEcdsaP256Verifies);
BENCHMARK(BM_SgxQuoteCached);
BENCHMARK(BM_SgxQuoteUncached);
BENCHMARK(BM_TdxQuoteCached);
BENCHMARK(BM_TdxQuoteUncached);

}  // namespace

BENCHMARK_MAIN();
