// HandOffTuner's choices, on a clock the test drives: each call costs what the test says the
// cache line costs under the choice it was sent with (its mode, and its hot line), so a trial
// sees exactly that.
#include "backends/soft/hand_off_tuner.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

namespace confide::soft {
namespace {

uint64_t g_now = 0;
uint64_t FakeClock() { return g_now; }

using T = HandOffTuner;

struct Costs {
  uint64_t with = 100;     // a call sent with demote
  uint64_t without = 100;  // a call sent without
  std::array<uint64_t, kHotLines> line{};  // added for a call on each hot line
  std::array<uint64_t, T::kModes> mode{};  // added for a call in each mode
};

Costs Lines(std::array<uint64_t, kHotLines> line) { return {100, 100, line, {}}; }
Costs Modes(std::array<uint64_t, T::kModes> mode) { return {100, 100, {}, mode}; }

constexpr uint32_t kDemotingModes = [] {
  uint32_t n = 0;
  for (const T::Mode& m : T::kModeTable) n += m.demote;
  return n;
}();
// Calls of a mode trial that demote.
constexpr uint32_t kDemotedInAModeTrial = T::kModeTrialCalls / T::kModes * kDemotingModes;

// A trial is a line trial and then a mode trial; each decides at the Next() after it.
constexpr uint32_t kPair = T::kLineTrialCalls + T::kModeTrialCalls;
constexpr uint32_t kUntilFirstLineDecision = T::kFirstTrial + T::kLineTrialCalls + 1;
constexpr uint32_t kUntilFirstDecision = T::kFirstTrial + kPair + 1;

// Runs `calls` calls; returns how many were sent with demote.
uint32_t Calls(HandOffTuner& t, uint32_t calls, Costs costs) {
  uint32_t demoted = 0;
  for (uint32_t i = 0; i < calls; ++i) {
    HandOffTuner::Choice c = t.Next();
    demoted += c.demote;
    g_now += (c.demote ? costs.with : costs.without) + costs.line[c.line] + costs.mode[c.mode];
  }
  return demoted;
}

TEST(HandOffTuner, KeepsDemotingWhileThatIsCheaper) {
  HandOffTuner t(true, FakeClock);
  uint32_t demoted = Calls(t, 3 * T::kPeriod, {100, 150});
  EXPECT_EQ(t.mode(), 0u);
  // Only the mode trials' modes without demote went without: three trials so far (their line
  // trials began at calls 512, 17,921 and 35,330), none sooner than kPeriod (the clock never
  // went kStaleCycles without one).
  EXPECT_EQ(demoted, 3 * T::kPeriod - 3 * (T::kModeTrialCalls - kDemotedInAModeTrial));
}

TEST(HandOffTuner, SwitchesAfterOneTrialAndBackWhenThePlacementChanges) {
  HandOffTuner t(true, FakeClock);
  Calls(t, T::kFirstTrial + T::kLineTrialCalls, {100, 60});
  EXPECT_TRUE(t.demote()) << "no mode trial yet";
  Calls(t, T::kModeTrialCalls + 1, {100, 60});
  EXPECT_FALSE(t.demote()) << "siblings sharing L1 and L2: demoting only costs";
  // Between trials every call follows the choice.
  EXPECT_EQ(Calls(t, T::kPeriod, {100, 60}), 0u);
  // The threads move to separate cores: the next mode trial switches back.
  Calls(t, kPair + 1, {60, 100});
  EXPECT_TRUE(t.demote());
}

TEST(HandOffTuner, AModeTrialVisitsEveryModeInBlocksOnTheChosenLine) {
  HandOffTuner t(true, FakeClock);
  Calls(t, T::kFirstTrial + T::kLineTrialCalls, Lines({30, 30, 0, 30, 30, 30, 30, 30}));
  std::array<uint32_t, T::kModes> visits{};
  for (uint32_t b = 0; b < T::kModeTrialCalls / T::kBlock; ++b) {
    HandOffTuner::Choice first = t.Next();  // the first one decides the line trial
    ASSERT_EQ(first.line, 2u);
    ASSERT_LT(first.mode, T::kModes);
    const T::Mode& m = T::kModeTable[first.mode];
    EXPECT_EQ(first.demote, m.demote);
    EXPECT_EQ(first.host_pauses, m.host_pauses);
    EXPECT_EQ(first.slot_pauses, m.slot_pauses);
    ++visits[first.mode];
    if (b % T::kModes == 0) {
      EXPECT_EQ(first.mode, b / T::kModes % T::kModes) << "round " << b / T::kModes;
    }
    for (uint32_t i = 1; i < T::kBlock; ++i) {
      HandOffTuner::Choice c = t.Next();
      ASSERT_EQ(c.mode, first.mode) << "block " << b << ", call " << i;
      ASSERT_EQ(c.line, 2u);
    }
  }
  for (uint32_t mode = 0; mode < T::kModes; ++mode) EXPECT_EQ(visits[mode], T::kRounds) << mode;
}

// Which back-off saves a transfer depends on the software on both sides: the trial finds it.
TEST(HandOffTuner, KeepsTheCheapestBackOffBetweenTrials) {
  HandOffTuner t(true, FakeClock);
  Costs costs = Modes({40, 40, 40, 40, 0, 40, 40, 40});
  Calls(t, kUntilFirstDecision, costs);
  EXPECT_EQ(t.mode(), 4u);
  EXPECT_FALSE(t.demote());
  for (uint32_t i = 0; i < T::kPeriod - 1; ++i) {
    HandOffTuner::Choice c = t.Next();
    ASSERT_EQ(c.host_pauses, T::kModeTable[4].host_pauses) << "call " << i;
    ASSERT_EQ(c.slot_pauses, T::kModeTable[4].slot_pauses) << "call " << i;
  }
}

TEST(HandOffTuner, ADifferenceWithinTheMarginChangesNothing) {
  HandOffTuner t(true, FakeClock);
  Calls(t, 4 * T::kPeriod, {100, 97});
  EXPECT_TRUE(t.demote());
}

TEST(HandOffTuner, OneSlowBlockDoesNotDecide) {
  // A preempted block (the VM took the CPU away) is one sample of four: the median ignores it.
  HandOffTuner t(true, FakeClock);
  Calls(t, T::kFirstTrial + T::kLineTrialCalls, {100, 150});
  bool slowed = false;
  for (uint32_t i = 0; i < T::kModeTrialCalls + 1; ++i) {
    HandOffTuner::Choice c = t.Next();
    g_now += c.demote ? 100 : 150;
    if (c.mode == 0 && !slowed && i > T::kBlock && i % T::kBlock == T::kBlock / 2) {  // mid-block, timed
      g_now += 1000000;
      slowed = true;
    }
  }
  ASSERT_TRUE(slowed);
  EXPECT_EQ(t.mode(), 0u);
}

TEST(HandOffTuner, DisturbedCallsTellNothing) {
  // Every call without demote slept or served an ocall: their blocks are not compared, so the
  // tuner keeps its choice even though their clock time looked short.
  HandOffTuner t(true, FakeClock);
  for (uint32_t i = 0; i < 2 * T::kPeriod; ++i) {
    bool d = t.Next().demote;
    g_now += d ? 100 : 10;
    if (!d) t.Disturbed();
  }
  EXPECT_TRUE(t.demote());
}

TEST(HandOffTuner, MovesToTheFastestLineAndStaysThereBetweenTrials) {
  HandOffTuner t(true, FakeClock);
  Costs costs = Lines({30, 30, 30, 30, 30, 0, 30, 30});
  Calls(t, T::kFirstTrial, costs);
  EXPECT_EQ(t.line(), 0u);
  Calls(t, T::kLineTrialCalls + 1, costs);
  EXPECT_EQ(t.line(), 5u);
  // The mode trial that follows, and the calls after it, all go on line 5.
  for (uint32_t i = 0; i < T::kModeTrialCalls + T::kPeriod - 1; ++i) ASSERT_EQ(t.Next().line, 5u) << "call " << i;
}

TEST(HandOffTuner, ALineTrialVisitsEveryLineInBlocksAndKeepsTheMode) {
  HandOffTuner t(true, FakeClock);
  Calls(t, T::kFirstTrial, {});
  std::array<uint32_t, kHotLines> visits{};
  for (uint32_t b = 0; b < T::kLineTrialCalls / T::kBlock; ++b) {
    HandOffTuner::Choice first = t.Next();
    ASSERT_EQ(first.mode, 0u);
    ASSERT_LT(first.line, kHotLines);
    ++visits[first.line];
    // Each round starts one line further on, so that no line always follows the same one.
    if (b % kHotLines == 0) {
      EXPECT_EQ(first.line, b / kHotLines % kHotLines) << "round " << b / kHotLines;
    }
    for (uint32_t i = 1; i < T::kBlock; ++i) {
      HandOffTuner::Choice c = t.Next();
      ASSERT_EQ(c.line, first.line) << "block " << b << ", call " << i;
      ASSERT_EQ(c.mode, 0u);
    }
  }
  for (uint32_t line = 0; line < kHotLines; ++line) EXPECT_EQ(visits[line], T::kRounds) << line;
}

TEST(HandOffTuner, ALineWithinTheMarginChangesNothing) {
  HandOffTuner t(true, FakeClock);
  Calls(t, kUntilFirstLineDecision, Lines({3, 3, 3, 0, 3, 3, 3, 3}));
  EXPECT_EQ(t.line(), 0u);
}

TEST(HandOffTuner, FollowsTheFastestLineWhenThePlacementChanges) {
  HandOffTuner t(true, FakeClock);
  Calls(t, kUntilFirstLineDecision, Lines({40, 40, 40, 40, 40, 40, 0, 40}));
  EXPECT_EQ(t.line(), 6u);
  // The threads move to other cores, for which line 2 is the nearest: the next line trial goes.
  Calls(t, T::kModeTrialCalls + T::kPeriod + T::kLineTrialCalls + 1, Lines({40, 40, 0, 40, 40, 40, 40, 40}));
  EXPECT_EQ(t.line(), 2u);
}

TEST(HandOffTuner, DisturbedLineBlocksTellNothing) {
  // Line 4 looks fastest, but each of its blocks had a sleep or an ocall.
  HandOffTuner t(true, FakeClock);
  for (uint32_t i = 0; i < kUntilFirstLineDecision; ++i) {
    HandOffTuner::Choice c = t.Next();
    g_now += c.line == 4 ? 10 : 100;
    if (c.line == 4) t.Disturbed();
  }
  EXPECT_EQ(t.line(), 0u);
}

// Where the calls come in bursts, a trial kPeriod calls later may be long out of date: after a
// pause of kStaleCycles the next trial comes within kCheckEvery calls, and then not again for
// kPeriod calls.
TEST(HandOffTuner, ATrialComesSoonerAfterAPause) {
  HandOffTuner t(true, FakeClock);
  Costs costs = Lines({30, 30, 30, 30, 30, 0, 30, 30});
  Calls(t, kUntilFirstDecision, costs);
  ASSERT_EQ(t.line(), 5u);
  // Calls until one leaves line 5, as a trial's first block (line 0) does.
  auto calls_until_a_trial = [&](uint32_t limit) {
    for (uint32_t i = 0; i < limit; ++i) {
      HandOffTuner::Choice c = t.Next();
      g_now += 100;
      if (c.line != 5u) return i;
    }
    return limit;
  };
  g_now += T::kStaleCycles / 2;  // a pause, but a shorter one
  EXPECT_EQ(calls_until_a_trial(T::kPeriod - 1), T::kPeriod - 1);
  g_now += T::kStaleCycles;
  EXPECT_LE(calls_until_a_trial(T::kPeriod), T::kCheckEvery);
  Calls(t, kPair, costs);  // the rest of that trial, and the call that decides
  ASSERT_EQ(t.line(), 5u);
  EXPECT_EQ(calls_until_a_trial(T::kPeriod - 1), T::kPeriod - 1) << "the trial counts as the last one";
}

// The first trial waits for kFirstTrial calls however long the slot waited for its first call.
TEST(HandOffTuner, TheFirstTrialWaitsForItsCallsAfterALongStart) {
  HandOffTuner t(true, FakeClock);
  g_now += 4 * T::kStaleCycles;
  for (uint32_t i = 0; i < T::kFirstTrial; ++i) ASSERT_EQ(t.Next().line, 0u) << "call " << i;
  EXPECT_EQ(Calls(t, T::kLineTrialCalls, {}), T::kLineTrialCalls) << "a line trial, demoting";
  EXPECT_EQ(Calls(t, T::kModeTrialCalls, {}), kDemotedInAModeTrial) << "then a mode trial";
}

TEST(HandOffTuner, TheRealClockAdvances) {
  // Cycles() is the TSC on x86-64; a tuner there must see time pass, or it never decides.
#if defined(__x86_64__)
  uint64_t a = Cycles();
  uint64_t b = a;
  for (int i = 0; i < 1000000 && b == a; ++i) b = Cycles();
  EXPECT_GT(b, a);
#else
  EXPECT_EQ(Cycles(), 0u);
#endif
}

}  // namespace
}  // namespace confide::soft
