// Generated ecalls on the sim backend against baselines measured in the same run
// (DESIGN §6): an empty ecall vs a direct call through a function pointer, and a 1 MiB
// [in] buffer ecall vs memcpy of 1 MiB. After the table it prints the overhead in ns and
// the bandwidth ratio.
//   ecall_bench --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ecall_bench_u.h"
#include "memcpy_baseline.h"

namespace {

using confide::bench::kMiB;

confide::Enclave& Bench() {
  static std::unique_ptr<confide::Enclave> e = [] {
    confide::EnclaveOptions o;
    o.backend = confide::BackendKind::kSim;
    auto r = create_ecall_bench_enclave(ECALL_BENCH_ENCLAVE, o);
    if (!r.ok()) {
      std::fprintf(stderr, "cannot load %s: %s\n", ECALL_BENCH_ENCLAVE, r.status().message().c_str());
      std::abort();
    }
    return std::move(r).value();
  }();
  return *e;
}

void BM_EmptyEcall_Sim(benchmark::State& state) {
  confide::Enclave& e = Bench();
  for (auto _ : state) {
    confide::Status s = bench_empty(e);
    if (!s.ok()) state.SkipWithError(s.message().c_str());
  }
}

__attribute__((noinline)) void Empty() { benchmark::ClobberMemory(); }

// Baseline: what calling the same empty function would cost without an enclave.
void BM_DirectCall_FunctionPointer(benchmark::State& state) {
  void (*volatile fn)() = &Empty;
  for (auto _ : state) fn();
}

void BM_InEcall1MiB_Sim(benchmark::State& state) {
  confide::Enclave& e = Bench();
  std::vector<uint8_t> buf(kMiB, 0x5a);
  for (auto _ : state) {
    auto r = bench_in(e, buf.data(), buf.size());
    if (!r.ok()) state.SkipWithError(r.status().message().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kMiB));
}

// Baseline: copying the same megabyte once.
void BM_Memcpy1MiB(benchmark::State& state) { confide::bench::Memcpy1MiB(state); }

BENCHMARK(BM_EmptyEcall_Sim)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_DirectCall_FunctionPointer)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_InEcall1MiB_Sim)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_Memcpy1MiB)->Unit(benchmark::kNanosecond);

// Prints the table as usual and keeps each benchmark's time per iteration for the summary:
// the median when run with --benchmark_repetitions, else the single run. CPU time, so other
// load on the machine (preemption) does not count against either side of a ratio.
class Recorder : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name == "median") {
        ns_[r.run_name.str()] = r.GetAdjustedCPUTime();
        median_.insert(r.run_name.str());
      } else if (r.run_type == Run::RT_Iteration && median_.count(r.run_name.str()) == 0) {
        ns_[r.run_name.str()] = r.GetAdjustedCPUTime();
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  double Ns(const std::string& name) const {
    auto it = ns_.find(name);
    return it == ns_.end() ? 0 : it->second;
  }

 private:
  std::map<std::string, double> ns_;
  std::set<std::string> median_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  Recorder rec;
  benchmark::RunSpecifiedBenchmarks(&rec);
  double ecall = rec.Ns("BM_EmptyEcall_Sim"), direct = rec.Ns("BM_DirectCall_FunctionPointer");
  double in = rec.Ns("BM_InEcall1MiB_Sim"), copy = rec.Ns("BM_Memcpy1MiB");
  if (ecall > 0 && direct > 0)
    std::printf("empty ecall (sim): %.1f ns, direct call: %.1f ns, overhead %.1f ns (target <= 20 ns)\n", ecall, direct,
                ecall - direct);
  if (in > 0 && copy > 0)
    std::printf("1 MiB [in] ecall (sim): %.2f GB/s, memcpy: %.2f GB/s, bandwidth ratio %.2fx (target >= 0.8x)\n",
                kMiB / in, kMiB / copy, copy / in);
  benchmark::Shutdown();
  return 0;
}
