// Chooses, per channel slot, how switchless hand-offs go: which of the slot's hot lines
// (channel.h) they go on, whether they end with CLDEMOTE (PublishState), and how long each side
// backs off after publishing before it looks for the other's answer (BackOff).
//
// CLDEMOTE saves a cache-line round trip per hand-off when the host thread and the slot thread
// run on different cores, and costs two trips to the shared L3 per call when they run on SMT
// siblings, which share L1 and L2 (docs/performance.md, "The hand-off's cache line"). Lines
// differ in how fast they pass between two cores. A back-off saves a transfer of the line when
// it lasts about as long as the other side takes to answer, and adds its overshoot to the call
// when it lasts longer. None of this is visible from inside a process: a VM's topology hides
// it, the scheduler (the guest's, and the hypervisor's under it) moves threads, and the
// software on both sides sets the answer times. So the host measures, in trials: a line trial
// visits the lines in turn, then a mode trial visits kModes pairings of CLDEMOTE and back-offs,
// in blocks, and each keeps the choice whose median block takes less time. Trials come every
// kPeriod calls, and sooner when the last one is older than kStaleCycles, so that calls in
// bursts (a few thousand calls now and then) get a choice made for where their threads run
// now. Between trials it only counts calls.
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

  // A hand-off mode: CLDEMOTE or not, and the pauses the host lets pass after its request and
  // the slot thread after its reply (BackOff; a pause is ~19 ns on the Xeon measured, ~3-40 ns
  // elsewhere). The back-offs cover answers of up to ~150 ns; a side that takes longer pays the
  // transfer the back-off would save (docs/performance.md, "Back-off").
  struct Mode {
    bool demote;
    uint8_t host_pauses;
    uint8_t slot_pauses;
  };
  static constexpr uint32_t kModes = 8;
  static constexpr std::array<Mode, kModes> kModeTable{{
      {true, 0, 0}, {false, 0, 0}, {false, 2, 3}, {false, 3, 5},
      {false, 4, 6}, {false, 6, 8}, {true, 2, 3}, {true, 3, 5},
  }};

  // A trial visits each of its choices (the hot lines, or the modes) kRounds times, kBlock calls
  // a visit.
  static constexpr uint32_t kBlock = 16;
  static constexpr uint32_t kRounds = 4;
  static constexpr uint32_t kLineTrialCalls = kRounds * kHotLines * kBlock;
  static constexpr uint32_t kModeTrialCalls = kRounds * kModes * kBlock;
  // A trial switches only for a median at least this much lower (percent), so noise does not
  // flip the choice back and forth.
  static constexpr uint64_t kMarginPercent = 5;

  // What the call about to be sent does: the hot line it goes on (the caller moves the slot there
  // first when it is not there yet), and its mode.
  struct Choice {
    bool demote;
    uint32_t line;
    uint32_t host_pauses;
    uint32_t slot_pauses;
    uint32_t mode;  // its index in kModeTable
  };

  // Line 0, demoting with no back-off, is the starting choice: separate cores are the common
  // placement. `clock` is Cycles but in tests.
  explicit HandOffTuner(bool demote = true, uint64_t (*clock)() = Cycles)
      : mode_(demote ? 0 : 1), clock_(clock), last_trial_(clock()) {}

  // A block is timed from the Next() of its second call (the first still meets the line where
  // the other choice left it, and pays a move) to the Next() of the following block's first:
  // its calls' hand-offs, wherever the line went, and the caller's own time between calls, the
  // same under every choice. Two clock reads per block, not per call: a clock read between
  // reading the reply and writing the next request is work in just the window the choices are
  // about.
  //
  // Inline, the common case alone: between trials, a call that is not one to check the clock.
  Choice Next() {
    if (phase_ == Phase::kBetween && since_ < due_at_ && (since_ < kFirstTrial || since_ % kCheckEvery != 0)) {
      ++since_;
      return Make(line_, mode_);
    }
    return NextOther();
  }

  // The current call is no plain switchless round trip (not switchless, a side slept, or it
  // served an ocall): its block says nothing about the cache line.
  void Disturbed() { clean_ = false; }

  bool demote() const { return kModeTable[mode_].demote; }
  uint32_t mode() const { return mode_; }
  uint32_t line() const { return line_; }

 private:
  enum class Phase { kBetween, kLines, kModes };

  [[gnu::noinline]] Choice NextOther() {
    if (phase_ == Phase::kBetween) {
      // The clock is read every kCheckEvery calls, and not in the kFirstTrial calls after a
      // trial (or the start), which a trial just measured (or which are start-up noise).
      bool due = since_ >= due_at_ ||
                 (since_ >= kFirstTrial && since_ % kCheckEvery == 0 && clock_() - last_trial_ >= kStaleCycles);
      if (!due) {
        ++since_;
        return Make(line_, mode_);
      }
      Begin(Phase::kLines);
    } else if (i_ == Choices() * kRounds * kBlock) {  // the call after a trial
      Stamp(i_);
      Decide();
      if (phase_ == Phase::kLines) {
        Begin(Phase::kModes);
      } else {
        phase_ = Phase::kBetween;
        since_ = 0;
        due_at_ = kPeriod;
        last_trial_ = clock_();
        return Make(line_, mode_);
      }
    }
    uint32_t i = i_++;
    Stamp(i);
    if (i % kBlock == 0) {
      // Each round starts one choice further on, so that the first choices do not always run
      // first (right after the other trial, or the calls before it).
      uint32_t b = i / kBlock;
      bucket_ = (b + b / Choices()) % Choices();
    }
    return phase_ == Phase::kLines ? Make(bucket_, mode_) : Make(line_, bucket_);
  }
  struct Samples {
    std::array<uint64_t, kRounds> v{};
    uint32_t n = 0;
    uint64_t Median() {
      auto mid = v.begin() + n / 2;
      std::nth_element(v.begin(), mid, v.begin() + n);
      return *mid;
    }
  };

  static Choice Make(uint32_t line, uint32_t mode) {
    const Mode& m = kModeTable[mode];
    return {m.demote, line, m.host_pauses, m.slot_pauses, mode};
  }
  // The choices the running trial visits.
  uint32_t Choices() const { return phase_ == Phase::kLines ? kHotLines : kModes; }

  void Begin(Phase p) {
    phase_ = p;
    i_ = 0;
    for (Samples& s : buckets_) s.n = 0;
  }

  // At trial call `i` (the trial's length: the call after it).
  void Stamp(uint32_t i) {
    if (i % kBlock == 1) {
      stamp_ = clock_();
      clean_ = true;
    } else if (i % kBlock == 0 && i != 0) {
      Samples& s = buckets_[bucket_];  // still the block that ends here
      if (clean_ && s.n < s.v.size()) s.v[s.n++] = clock_() - stamp_;
      clean_ = false;
    }
  }

  // Keeps the current choice unless another's median is lower by the margin. Blocks with a sleep
  // or an ocall do not count; a choice left with too few blocks is not compared.
  void Decide() {
    uint32_t& kept = phase_ == Phase::kLines ? line_ : mode_;
    constexpr uint32_t kEnough = kRounds / 2;
    if (buckets_[kept].n < kEnough) return;
    const uint64_t kept_median = buckets_[kept].Median();
    uint32_t best = kept;
    uint64_t best_median = kept_median;
    for (uint32_t b = 0; b < Choices(); ++b) {
      if (b == kept || buckets_[b].n < kEnough) continue;
      uint64_t m = buckets_[b].Median();
      if (m < best_median && m * 100 < kept_median * (100 - kMarginPercent)) {
        best = b;
        best_median = m;
      }
    }
    kept = best;
  }

  uint32_t mode_;  // index into kModeTable
  uint32_t line_ = 0;
  uint64_t (*clock_)();
  Phase phase_ = Phase::kBetween;
  uint32_t since_ = 0;             // calls since the last trial (or the start)
  uint32_t due_at_ = kFirstTrial;  // since_ at which the next trial is due at the latest
  uint64_t last_trial_;            // clock at the end of the last trial (or the start)
  uint32_t i_ = 0;                 // calls into the trial
  uint32_t bucket_ = 0;            // the choice of the block being run: its line, or its mode
  bool clean_ = false;             // the block being timed had no disturbed call yet
  uint64_t stamp_ = 0;             // clock at the second call of the block being timed
  std::array<Samples, std::max(kHotLines, kModes)> buckets_;
};

}  // namespace confide::soft
