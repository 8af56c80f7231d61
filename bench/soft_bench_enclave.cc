// Enclaves for bench/soft_bench.cc: an empty ecall, and (SOFT_BENCH_PAD) a 1 MiB image for the
// creation benchmark.
#include <cstddef>
#include <cstdint>

#include "soft_bench_t.h"

void soft_bench_empty() {}

#ifdef SOFT_BENCH_PAD
// 1 MiB of initialised read-only data: it lands in the image file, which the daemon copies,
// both sides verify and the runtime maps, like the code and data of a real 1 MiB enclave.
__attribute__((used)) const uint8_t kPad[1 << 20] = {1, 2, 3, 4};
uint32_t soft_bench_pad() {
  uint32_t sum = 0;
  for (size_t i = 0; i < sizeof kPad; i += 4096) sum += kPad[i];
  return sum;
}
#else
uint32_t soft_bench_pad() { return 0; }
#endif

uint64_t soft_bench_in(const uint8_t* buf, size_t len) { return len != 0 ? buf[len - 1] : 0; }
