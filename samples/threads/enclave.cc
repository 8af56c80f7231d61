#include "confide/trusted.h"
#include "threads_t.h"

uint64_t count_primes(uint64_t from, uint64_t to, int32_t* slot) {
  *slot = confide::trusted::CurrentSlot();
  uint64_t count = 0;
  for (uint64_t n = from < 2 ? 2 : from; n < to; ++n) {
    bool prime = true;
    for (uint64_t d = 2; d * d <= n; ++d)
      if (n % d == 0) { prime = false; break; }
    count += prime;
  }
  return count;
}
