// HandOffTuner's choice, on a clock the test drives: each call costs what the test says the
// cache line costs under the choice it was sent with, so a trial sees exactly that.
#include "backends/soft/hand_off_tuner.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace confide::soft {
namespace {

uint64_t g_now = 0;
uint64_t FakeClock() { return g_now; }

struct Costs {
  uint64_t with = 100;     // a call sent with demote
  uint64_t without = 100;  // a call sent without
};

constexpr uint32_t kUntilFirstDecision = HandOffTuner::kFirstTrial + HandOffTuner::kTrialCalls + 1;

// Runs `calls` calls; returns how many were sent with demote.
uint32_t Calls(HandOffTuner& t, uint32_t calls, Costs costs) {
  uint32_t demoted = 0;
  for (uint32_t i = 0; i < calls; ++i) {
    bool d = t.Next();
    demoted += d;
    g_now += d ? costs.with : costs.without;
  }
  return demoted;
}

TEST(HandOffTuner, KeepsDemotingWhileThatIsCheaper) {
  HandOffTuner t(true, FakeClock);
  uint32_t demoted = Calls(t, 3 * HandOffTuner::kPeriod, {100, 150});
  EXPECT_TRUE(t.demote());
  // Only the trials' other half went without: three trials so far.
  EXPECT_EQ(demoted, 3 * HandOffTuner::kPeriod - 3 * HandOffTuner::kTrialCalls / 2);
}

TEST(HandOffTuner, SwitchesAfterOneTrialAndBackWhenThePlacementChanges) {
  HandOffTuner t(true, FakeClock);
  Calls(t, HandOffTuner::kFirstTrial, {100, 60});
  EXPECT_TRUE(t.demote()) << "no trial yet";
  Calls(t, kUntilFirstDecision - HandOffTuner::kFirstTrial, {100, 60});
  EXPECT_FALSE(t.demote()) << "siblings sharing L1 and L2: demoting only costs";
  // Between trials every call follows the choice.
  EXPECT_EQ(Calls(t, HandOffTuner::kPeriod - HandOffTuner::kTrialCalls - 1, {100, 60}), 0u);
  // The threads move to separate cores: the next trial switches back.
  Calls(t, HandOffTuner::kPeriod, {60, 100});
  EXPECT_TRUE(t.demote());
}

TEST(HandOffTuner, TrialsAlternateBetweenTheChoicesInBlocks) {
  HandOffTuner t(true, FakeClock);
  Calls(t, HandOffTuner::kFirstTrial, {});
  for (uint32_t b = 0; b < HandOffTuner::kBlocks; ++b)
    for (uint32_t i = 0; i < HandOffTuner::kBlock; ++i)
      ASSERT_EQ(t.Next(), b % 2 == 1) << "block " << b << ", call " << i;  // the other choice first
}

TEST(HandOffTuner, ADifferenceWithinTheMarginChangesNothing) {
  HandOffTuner t(true, FakeClock);
  Calls(t, 4 * HandOffTuner::kPeriod, {100, 97});
  EXPECT_TRUE(t.demote());
}

TEST(HandOffTuner, OneSlowBlockDoesNotDecide) {
  // A preempted block (the VM took the CPU away) is one sample of eight: the median ignores it.
  HandOffTuner t(true, FakeClock);
  Calls(t, HandOffTuner::kFirstTrial, {100, 150});
  bool slowed = false;
  for (uint32_t i = 0; i < HandOffTuner::kTrialCalls + 1; ++i) {
    bool d = t.Next();
    g_now += d ? 100 : 150;
    if (d && !slowed && i > HandOffTuner::kBlock) {  // inside a demoting block
      g_now += 1000000;
      slowed = true;
    }
  }
  ASSERT_TRUE(slowed);
  EXPECT_TRUE(t.demote());
}

TEST(HandOffTuner, DisturbedCallsTellNothing) {
  // Every call without demote slept or served an ocall: their blocks are not compared, so the
  // tuner keeps its choice even though their clock time looked short.
  HandOffTuner t(true, FakeClock);
  for (uint32_t i = 0; i < 2 * HandOffTuner::kPeriod; ++i) {
    bool d = t.Next();
    g_now += d ? 100 : 10;
    if (!d) t.Disturbed();
  }
  EXPECT_TRUE(t.demote());
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
