// Chooses, per channel slot, whether switchless hand-offs end with CLDEMOTE (PublishState).
//
// CLDEMOTE saves a cache-line round trip per hand-off when the host thread and the slot thread
// run on different cores, and costs two trips to the shared L3 per call when they run on SMT
// siblings, which share L1 and L2 (docs/performance.md, "The hand-off's cache line"). Which of
// the two a call meets is not visible from inside a process: a VM's topology hides it, and the
// scheduler moves threads. So the host measures: every kPeriod calls it times kTrialCalls
// calls, alternating between the two choices in blocks, and keeps the choice whose median
// block takes less time. Between trials it only counts calls.
//
// Host-private state, one per slot: a slot serves one host thread at a time (the slot pool's
// acquire and release order the accesses), so nothing here is atomic.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace confide::soft {

// The clock for trial calls: the TSC (no system call, and cheap next to a round trip).
// Elsewhere there is no CLDEMOTE to choose: every sample is 0, and the choice stays.
inline uint64_t Cycles() {
#if defined(__x86_64__)
  return __rdtsc();
#else
  return 0;
#endif
}

class HandOffTuner {
 public:
  static constexpr uint32_t kPeriod = 8192;  // calls from one trial to the next
  static constexpr uint32_t kBlock = 16;     // trial calls in a row with one choice
  static constexpr uint32_t kBlocks = 16;    // per trial, alternating
  static constexpr uint32_t kTrialCalls = kBlocks * kBlock;
  static constexpr uint32_t kFirstTrial = 512;  // calls before the first trial (start-up noise)
  // A trial switches only for a median at least this much lower (percent), so noise does not
  // flip the choice back and forth.
  static constexpr uint64_t kMarginPercent = 5;

  // Demoting is the starting choice: separate cores are the common placement. `clock` is
  // Cycles but in tests.
  explicit HandOffTuner(bool demote = true, uint64_t (*clock)() = Cycles) : demote_(demote), clock_(clock) {}

  // Whether the call about to be sent demotes (host and enclave side).
  //
  // A block is timed from the Next() of its second call (the first still meets the line where
  // the other choice left it) to the Next() of the following block's first: its calls'
  // hand-offs, wherever the line went, and the caller's own time between calls, the same
  // under either choice. Two clock reads per block, not per call: a clock read between reading
  // the reply and writing the next request is work in just the window where CLDEMOTE matters.
  bool Next() {
    if (calls_ == kPeriod) {
      Stamp(kTrialCalls);
      Decide();
      calls_ = 0;
    }
    uint32_t n = calls_++;
    if (n < kPeriod - kTrialCalls) return demote_;
    uint32_t i = n - (kPeriod - kTrialCalls);  // 0 .. kTrialCalls-1
    Stamp(i);
    trial_demote_ = ((i / kBlock) % 2 == 0) ? !demote_ : demote_;
    return trial_demote_;
  }

  // The current call is no plain switchless round trip (not switchless, a side slept, or it
  // served an ocall): its block says nothing about the cache line.
  void Disturbed() { clean_ = false; }

  bool demote() const { return demote_; }

 private:
  static constexpr uint32_t kPerChoice = kBlocks / 2;
  struct Samples {
    std::array<uint64_t, kPerChoice> v{};
    uint32_t n = 0;
    uint64_t Median() {
      auto mid = v.begin() + n / 2;
      std::nth_element(v.begin(), mid, v.begin() + n);
      return *mid;
    }
  };

  // At trial call `i` (kTrialCalls: the call after the trial).
  void Stamp(uint32_t i) {
    if (i % kBlock == 1) {
      stamp_ = clock_();
      clean_ = true;
    } else if (i % kBlock == 0 && i != 0) {
      Samples& s = trial_demote_ ? with_ : without_;  // still the block that ends here
      if (clean_ && s.n < s.v.size()) s.v[s.n++] = clock_() - stamp_;
      clean_ = false;
    }
  }

  void Decide() {
    // Blocks with a sleep or an ocall do not count; too few left tell nothing.
    if (with_.n >= kPerChoice / 2 && without_.n >= kPerChoice / 2) {
      uint64_t kept = (demote_ ? with_ : without_).Median();
      uint64_t other = (demote_ ? without_ : with_).Median();
      if (other * 100 < kept * (100 - kMarginPercent)) demote_ = !demote_;
    }
    with_.n = without_.n = 0;
  }

  bool demote_;
  uint64_t (*clock_)();
  bool trial_demote_ = false;
  bool clean_ = false;  // the block being timed had no disturbed call yet
  uint64_t stamp_ = 0;  // Cycles() at the second call of the block being timed
  uint32_t calls_ = kPeriod - kTrialCalls - kFirstTrial;
  Samples with_, without_;
};

}  // namespace confide::soft
