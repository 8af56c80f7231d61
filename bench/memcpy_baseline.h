// The bandwidth baseline of the 1 MiB [in] ecall benchmarks (sim and soft): copying the same
// megabyte once with memcpy.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace confide::bench {

inline constexpr size_t kMiB = size_t{1} << 20;

inline void Memcpy1MiB(benchmark::State& state) {
  std::vector<uint8_t> src(kMiB, 0x5a), dst(kMiB);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), kMiB);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kMiB));
}

}  // namespace confide::bench
