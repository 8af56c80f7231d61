// Enclave side of ecall_bench.edl: as little work as possible, so the benchmark measures
// the call path (marshalling, checks, copies), not the function.
#include "ecall_bench_t.h"

void bench_empty() {}

uint64_t bench_in(const uint8_t* buf, size_t len) { return len != 0 ? buf[len - 1] : 0; }
