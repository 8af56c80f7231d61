// Runs 4 concurrent ecalls (NumTCS = 4), then 8 with a slot wait, and checks every answer.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "threads_u.h"

namespace {

uint64_t CountPrimesHere(uint64_t from, uint64_t to) {
  uint64_t count = 0;
  for (uint64_t n = from < 2 ? 2 : from; n < to; ++n) {
    bool prime = true;
    for (uint64_t d = 2; d * d <= n; ++d)
      if (n % d == 0) { prime = false; break; }
    count += prime;
  }
  return count;
}

// Splits [0, limit) over `threads` concurrent ecalls; returns false on any error or mismatch.
bool Run(confide::Enclave& enclave, int threads, uint64_t limit) {
  std::vector<std::thread> pool;
  std::vector<uint64_t> counts(threads);
  std::vector<int32_t> slots(threads, -1);
  std::vector<std::string> errors(threads);
  for (int i = 0; i < threads; ++i)
    pool.emplace_back([&, i] {
      uint64_t from = limit * i / threads, to = limit * (i + 1) / threads;
      auto r = count_primes(enclave, from, to, &slots[i]);
      if (r.ok()) counts[i] = *r;
      else errors[i] = r.status().message();
    });
  for (auto& t : pool) t.join();
  uint64_t total = 0;
  std::set<int32_t> used;
  for (int i = 0; i < threads; ++i) {
    if (!errors[i].empty()) {
      std::fprintf(stderr, "threads_host: call %d failed: %s\n", i, errors[i].c_str());
      return false;
    }
    total += counts[i];
    used.insert(slots[i]);
  }
  uint64_t expected = CountPrimesHere(0, limit);
  std::printf("%d concurrent ecalls: %llu primes below %llu (expected %llu), thread slots used:", threads,
              static_cast<unsigned long long>(total), static_cast<unsigned long long>(limit),
              static_cast<unsigned long long>(expected));
  for (int32_t s : used) std::printf(" %d", s);
  std::printf("\n");
  return total == expected && *used.begin() >= 0 && *used.rbegin() < 4;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: threads_host ENCLAVE.signed.so [--backend auto|sim|soft]\n");
    return 2;
  }
  confide::EnclaveOptions options;
  if (argc >= 4 && std::strcmp(argv[2], "--backend") == 0) {
    auto kind = confide::ParseBackendKind(argv[3]);
    if (!kind.ok()) {
      std::fprintf(stderr, "threads_host: %s\n", kind.status().message().c_str());
      return 2;
    }
    options.backend = *kind;
  }
  // More callers than slots wait for a free one instead of failing.
  options.slot_wait = std::chrono::seconds(30);
  auto enclave = create_threads_enclave(argv[1], options);
  if (!enclave.ok()) {
    std::fprintf(stderr, "threads_host: %s\n", enclave.status().message().c_str());
    return 1;
  }
  std::printf("NumTCS = %llu\n", static_cast<unsigned long long>((*enclave)->identity().config.num_tcs));
  bool ok = Run(**enclave, 4, 200000) && Run(**enclave, 8, 200000);
  std::printf(ok ? "threads: all results correct\n" : "threads: FAILED\n");
  return ok ? 0 : 1;
}
