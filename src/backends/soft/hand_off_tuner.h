// Chooses, per channel slot, whether switchless hand-offs end with CLDEMOTE (PublishState), and
// which of the slot's hot lines (channel.h) they go on.
//
// CLDEMOTE saves a cache-line round trip per hand-off when the host thread and the slot thread
// run on different cores, and costs two trips to the shared L3 per call when they run on SMT
// siblings, which share L1 and L2 (docs/performance.md, "The hand-off's cache line"). Lines
// differ in how fast they pass between two cores. Neither is visible from inside a process: a
// VM's topology hides it, and the scheduler (the guest's, and the hypervisor's under it) moves
// threads, which changes both. So the host measures, in trials: a line trial visits the lines
// in turn, then a demote trial alternates between the two choices, in blocks, and each keeps
// the choice whose median block takes less time. Trials come every kPeriod calls, and sooner
// when the last one is older than kStaleCycles, so that calls in bursts (a few thousand calls
// now and then) get a choice made for where their threads run now. Between trials it only
// counts calls.
//
// Host-private state, one per slot: a slot serves one host thread at a time (the slot pool's
// acquire and release order the accesses), so nothing here is atomic.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "backends/soft/channel.h"
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
  static constexpr uint32_t kPeriod = 16384;    // calls from one trial to the next, at most
  static constexpr uint32_t kFirstTrial = 512;  // calls before the first trial (start-up noise)
  // A trial is due sooner when the last one ended this long ago (TSC cycles; ~8 ms at 2 GHz),
  // checked every kCheckEvery calls. On the VM measured, which lines are fast changed every
  // ~0.1-1 s.
  static constexpr uint64_t kStaleCycles = uint64_t{1} << 24;
  static constexpr uint32_t kCheckEvery = 64;
  // A line trial visits every hot line kLineRounds times, kLineBlock calls a visit.
  static constexpr uint32_t kLineBlock = 16;
  static constexpr uint32_t kLineRounds = 4;
  static constexpr uint32_t kLineTrialCalls = kLineRounds * kHotLines * kLineBlock;
  // A demote trial alternates the two choices in kBlocks blocks of kBlock calls.
  static constexpr uint32_t kBlock = 16;
  static constexpr uint32_t kBlocks = 16;
  static constexpr uint32_t kTrialCalls = kBlocks * kBlock;
  // A trial switches only for a median at least this much lower (percent), so noise does not
  // flip the choice back and forth.
  static constexpr uint64_t kMarginPercent = 5;

  // What the call about to be sent does: demote its hand-offs, and the hot line it goes on
  // (the caller moves the slot there first when it is not there yet).
  struct Choice {
    bool demote;
    uint32_t line;
  };

  // Demoting on line 0 is the starting choice: separate cores are the common placement. `clock`
  // is Cycles but in tests.
  explicit HandOffTuner(bool demote = true, uint64_t (*clock)() = Cycles)
      : demote_(demote), clock_(clock), last_trial_(clock()) {}

  // A block is timed from the Next() of its second call (the first still meets the line where
  // the other choice left it, and pays a move) to the Next() of the following block's first:
  // its calls' hand-offs, wherever the line went, and the caller's own time between calls, the
  // same under either choice. Two clock reads per block, not per call: a clock read between
  // reading the reply and writing the next request is work in just the window where CLDEMOTE
  // matters.
  Choice Next() {
    if (phase_ == Phase::kBetween) {
      // The clock is read every kCheckEvery calls, and not in the kFirstTrial calls after a
      // trial (or the start), which a trial just measured (or which are start-up noise).
      bool due = since_ >= due_at_ ||
                 (since_ >= kFirstTrial && since_ % kCheckEvery == 0 && clock_() - last_trial_ >= kStaleCycles);
      if (!due) {
        ++since_;
        return {demote_, line_};
      }
      Begin(Phase::kLines);
    } else if (i_ == Length()) {  // the call after a trial
      Stamp(i_);
      Decide();
      if (phase_ == Phase::kLines) {
        Begin(Phase::kDemote);
      } else {
        phase_ = Phase::kBetween;
        since_ = 0;
        due_at_ = kPeriod;
        last_trial_ = clock_();
        return {demote_, line_};
      }
    }
    uint32_t i = i_++;
    Stamp(i);
    if (i % Block() == 0) {
      uint32_t b = i / Block();
      // Line trials start each round one line further on, so no line always follows the same
      // one; demote trials start with the other choice.
      bucket_ = phase_ == Phase::kLines ? (b + b / kHotLines) % kHotLines : ((b % 2 == 0) != demote_);
    }
    if (phase_ == Phase::kLines) return {demote_, bucket_};
    return {bucket_ == 1, line_};
  }

  // The current call is no plain switchless round trip (not switchless, a side slept, or it
  // served an ocall): its block says nothing about the cache line.
  void Disturbed() { clean_ = false; }

  bool demote() const { return demote_; }
  uint32_t line() const { return line_; }

 private:
  enum class Phase { kBetween, kLines, kDemote };
  struct Samples {
    std::array<uint64_t, std::max(kBlocks / 2, kLineRounds)> v{};  // the most one bucket gets in a trial
    uint32_t n = 0;
    uint64_t Median() {
      auto mid = v.begin() + n / 2;
      std::nth_element(v.begin(), mid, v.begin() + n);
      return *mid;
    }
  };

  uint32_t Block() const { return phase_ == Phase::kLines ? kLineBlock : kBlock; }
  uint32_t Length() const { return phase_ == Phase::kLines ? kLineTrialCalls : kTrialCalls; }

  void Begin(Phase p) {
    phase_ = p;
    i_ = 0;
    for (Samples& s : buckets_) s.n = 0;
  }

  // At trial call `i` (the trial's length: the call after it).
  void Stamp(uint32_t i) {
    if (i % Block() == 1) {
      stamp_ = clock_();
      clean_ = true;
    } else if (i % Block() == 0 && i != 0) {
      Samples& s = buckets_[bucket_];  // still the block that ends here
      if (clean_ && s.n < s.v.size()) s.v[s.n++] = clock_() - stamp_;
      clean_ = false;
    }
  }

  // Keeps the current choice unless another's median is lower by the margin. Blocks with a sleep
  // or an ocall do not count; a choice left with too few blocks is not compared.
  void Decide() {
    const bool lines = phase_ == Phase::kLines;
    const uint32_t enough = lines ? kLineRounds / 2 : kBlocks / 4;
    const uint32_t kept = lines ? line_ : demote_;
    if (buckets_[kept].n < enough) return;
    const uint64_t kept_median = buckets_[kept].Median();
    uint32_t best = kept;
    uint64_t best_median = kept_median;
    for (uint32_t b = 0; b < (lines ? kHotLines : 2); ++b) {
      if (b == kept || buckets_[b].n < enough) continue;
      uint64_t m = buckets_[b].Median();
      if (m < best_median && m * 100 < kept_median * (100 - kMarginPercent)) {
        best = b;
        best_median = m;
      }
    }
    if (lines) line_ = best;
    else demote_ = best == 1;
  }

  bool demote_;
  uint32_t line_ = 0;
  uint64_t (*clock_)();
  Phase phase_ = Phase::kBetween;
  uint32_t since_ = 0;                // calls since the last trial (or the start)
  uint32_t due_at_ = kFirstTrial;     // since_ at which the next trial is due at the latest
  uint64_t last_trial_;               // clock at the end of the last trial (or the start)
  uint32_t i_ = 0;                          // calls into the trial
  uint32_t bucket_ = 0;  // the choice of the block being run: demote (1) or not (0), or its line
  bool clean_ = false;   // the block being timed had no disturbed call yet
  uint64_t stamp_ = 0;   // clock at the second call of the block being timed
  std::array<Samples, kHotLines> buckets_;
};

}  // namespace confide::soft
