// Soft quote throughput, against raw ECDSA P-256 measured in the same run:
//   verify          - collateral parsed once (SoftCollateral): per quote decode, collateral
//                     windows, cached platform chain (validity re-checked), one quote
//                     signature verify, grading, claims
//   verify_uncached - collateral JSON parsed and TCB info, CRLs and the platform chain fully
//                     verified for every quote
//   sign            - QuoteSigner::Sign (encode + one ECDSA P-256 signature + chain copy)
// Baselines: one raw P-256 verify (raw r||s) of the quote signature, one raw P-256 signature
// of the same bytes.
//
//   soft_quote_bench --benchmark_counters_tabular=true
// Counters: per_s, and vs_raw = (CPU time of the raw operation) / (CPU time per quote);
// 1.0 would mean no overhead beyond the one signature operation.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <vector>

#include "attestation/soft_fixture.h"
#include "confide/crypto.h"

namespace soft = confide::attestation::soft;
using namespace confide::attestation::soft::testing;

namespace {

struct Setup {
  Pki pki;
  confide::Bytes quote;
  confide::Bytes collateral_json;
  std::optional<soft::SoftCollateral> collateral;
  confide::UnixTime at = At(kNow);
  soft::Quote decoded;
  confide::crypto::PKey attestation_public;

  Setup() {
    quote = pki.Quote();
    collateral_json = pki.CollateralJson(SampleTcbInfo(At(kStart)));
    collateral.emplace(soft::SoftCollateral::Parse(collateral_json).value());
    decoded = soft::DecodeQuote(quote).value();
    attestation_public =
        confide::crypto::EcPublicKeyFromRaw(confide::crypto::Curve::kP256, decoded.attestation_key).value();
    if (!soft::VerifySoftEvidence(quote, *collateral, pki.ca.root, at).ok()) {
      std::cerr << "the benchmark quote does not verify\n";
      std::exit(1);
    }
  }
};

const Setup& S() {
  static const Setup s;
  return s;
}

void RawVerify() {
  const Setup& s = S();
  if (!confide::crypto::EcdsaVerifyRaw(s.attestation_public, confide::crypto::HashAlg::kSha256, s.decoded.signed_bytes,
                                       s.decoded.signature)
           .ok())
    std::abort();
}

void RawSign() {
  const Setup& s = S();
  auto sig = confide::crypto::EcdsaSignRaw(s.pki.attestation_key, confide::crypto::HashAlg::kSha256,
                                           s.decoded.signed_bytes);
  if (!sig.ok()) std::abort();
  benchmark::DoNotOptimize(sig);
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// CPU seconds of one raw operation: the median of 7 batches, once per process, on the clock
// Google Benchmark's rate counters use (thread CPU time).
double Median(void (*op)()) {
  std::vector<double> runs;
  for (int r = 0; r < 7; ++r) {
    double t0 = ThreadCpuSeconds();
    for (int i = 0; i < 300; ++i) op();
    runs.push_back((ThreadCpuSeconds() - t0) / 300);
  }
  std::sort(runs.begin(), runs.end());
  return runs[runs.size() / 2];
}
double RawVerifySeconds() {
  static const double s = Median(RawVerify);
  return s;
}
double RawSignSeconds() {
  static const double s = Median(RawSign);
  return s;
}

void Report(benchmark::State& state, double raw_seconds) {
  double n = static_cast<double>(state.iterations());
  state.counters["per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  state.counters["vs_raw"] = benchmark::Counter(n * raw_seconds, benchmark::Counter::kIsRate);
}

void BM_RawP256Verify(benchmark::State& state) {
  double raw = RawVerifySeconds();
  for (auto _ : state) RawVerify();
  Report(state, raw);
}

void BM_SoftVerify(benchmark::State& state) {
  double raw = RawVerifySeconds();
  const Setup& s = S();
  for (auto _ : state) {
    auto r = soft::VerifySoftEvidence(s.quote, *s.collateral, s.pki.ca.root, s.at);
    if (!r.ok()) std::abort();
    benchmark::DoNotOptimize(r);
  }
  Report(state, raw);
}

void BM_SoftVerifyUncached(benchmark::State& state) {
  double raw = RawVerifySeconds();
  const Setup& s = S();
  for (auto _ : state) {
    auto c = soft::SoftCollateral::Parse(s.collateral_json);
    auto r = soft::VerifySoftEvidence(s.quote, *c, s.pki.ca.root, s.at);
    if (!r.ok()) std::abort();
    benchmark::DoNotOptimize(r);
  }
  Report(state, raw);
}

void BM_RawP256Sign(benchmark::State& state) {
  double raw = RawSignSeconds();
  for (auto _ : state) RawSign();
  Report(state, raw);
}

void BM_SoftSign(benchmark::State& state) {
  double raw = RawSignSeconds();
  const Setup& s = S();
  auto body = SampleBody();
  for (auto _ : state) {
    auto q = s.pki.signer->Sign(body);
    if (!q.ok()) std::abort();
    benchmark::DoNotOptimize(q);
  }
  Report(state, raw);
}

BENCHMARK(BM_RawP256Verify);
BENCHMARK(BM_SoftVerify);
BENCHMARK(BM_SoftVerifyUncached);
BENCHMARK(BM_RawP256Sign);
BENCHMARK(BM_SoftSign);

}  // namespace

BENCHMARK_MAIN();
