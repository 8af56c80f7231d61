// SEV-SNP report verification throughput: cached (VCEK chain verified once, then only the
// report), uncached (VCEK and chain parsed and verified for every report), against one raw
// ECDSA P-384 verify of the same report measured in the same run.
//
// Counters: verifs_per_s, and throughput_vs_raw_ecdsa = raw verify CPU time / this benchmark's
// CPU time per report (1.0 would mean no overhead beyond the one unavoidable P-384 verify).
#include <benchmark/benchmark.h>

#include <ctime>
#include <cstdlib>
#include <iostream>
#include <string>

#include "confide/attestation/snp.h"
#include "confide/crypto.h"
#include "confide/x509.h"

namespace snp = confide::attestation::snp;

namespace {

const std::string kDir = std::string(CONFIDE_TEST_VECTORS) + "/google-go-sev-guest/";

confide::Bytes Load(const std::string& name) {
  auto b = confide::ReadFile(kDir + name);
  if (!b.ok()) {
    std::cerr << b.status().ToString() << "\n";
    std::exit(1);
  }
  return *b;
}

struct Fixture {
  confide::Bytes report = Load("attestation.bin");
  confide::Bytes vcek = Load("vcek.der");
  confide::Bytes chain = Load("ask_ark_milan.pem");
  confide::crypto::PKey key = confide::x509::Certificate::FromDer(vcek).value().PublicKey();
  confide::Bytes raw_sig;
  snp::Inputs inputs;
  Fixture() {
    raw_sig.assign(report.begin() + snp::kSignatureOffset, report.begin() + snp::kSignatureOffset + 144);
    inputs.endorsement_cert = vcek;
    inputs.at = confide::ParseRfc3339("2024-01-01T00:00:00Z").value();
  }
};

const Fixture& F() {
  static const Fixture f;
  return f;
}

void RawVerify() {
  const Fixture& f = F();
  auto s = confide::crypto::EcdsaVerifyRaw(f.key, confide::crypto::HashAlg::kSha384,
                                           confide::ByteSpan(f.report).first(snp::kSignedSize), f.raw_sig,
                                           confide::crypto::Endian::kLittle);
  if (!s.ok()) std::abort();
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Runs `op` once per iteration, and between iterations (timer paused) one raw verify whose CPU
// time is summed, so the baseline is measured interleaved with the code under test, under the
// same machine load.
template <typename Op>
void Measure(benchmark::State& state, Op op) {
  double raw = 0;
  for (auto _ : state) {
    state.PauseTiming();
    double t0 = ThreadCpuSeconds();
    RawVerify();
    raw += ThreadCpuSeconds() - t0;
    state.ResumeTiming();
    op();
  }
  double n = static_cast<double>(state.iterations());
  state.counters["verifs_per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  state.counters["throughput_vs_raw_ecdsa"] = benchmark::Counter(raw, benchmark::Counter::kIsRate);
}

void BM_RawEcdsaP384Verify(benchmark::State& state) { Measure(state, RawVerify); }

void BM_SnpVerifyCached(benchmark::State& state) {
  auto verifier = snp::ReportVerifier::Create(F().inputs);
  if (!verifier.ok()) {
    state.SkipWithError(verifier.status().ToString().c_str());
    return;
  }
  Measure(state, [&] {
    auto r = verifier->Verify(F().report);
    if (!r.ok()) std::abort();
    benchmark::DoNotOptimize(r);
  });
}

void BM_SnpVerifyUncached(benchmark::State& state) {
  Measure(state, [] {
    auto r = snp::VerifyReport(F().report, F().inputs);
    if (!r.ok()) std::abort();
    benchmark::DoNotOptimize(r);
  });
}

// Uncached, with the ASK/ARK chain also parsed from PEM every time (as the CLI with --chain).
void BM_SnpVerifyUncachedSuppliedChain(benchmark::State& state) {
  snp::Inputs in = F().inputs;
  in.chain = F().chain;
  Measure(state, [&] {
    auto r = snp::VerifyReport(F().report, in);
    if (!r.ok()) std::abort();
    benchmark::DoNotOptimize(r);
  });
}

BENCHMARK(BM_RawEcdsaP384Verify)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SnpVerifyCached)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SnpVerifyUncached)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SnpVerifyUncachedSuppliedChain)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
