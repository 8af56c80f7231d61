// The call channel's hand-off between two real processes: a side about to sleep and a side
// publishing a new state must never miss each other (the waits sleep without a timeout, so
// a missed wake-up hangs a call for good). A publisher that skips the wake-up fails this
// test; the narrowest race, a publisher's state store still in its store buffer when it reads
// the other's flag (what PublishState's fence is for), is too rare to hit here in 100,000
// round trips.
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <thread>

#include "backends/soft/channel.h"

namespace confide::soft {
namespace {

constexpr uint32_t kRoundTrips = 100000;

struct Progress {
  std::atomic<uint32_t> round_trips{0};  // completed by the host side
};

// Waits go to sleep at once, and each side publishes after a varying delay: the other side
// keeps registering its sleep just as this one publishes, which is where a lost wake-up
// would happen.
const WaitPolicy kSleep{0, 0};
void Delay(uint32_t i) {
  for (uint32_t n = (i * 2654435761u) >> 27; n != 0; --n) CpuRelax();
}

[[noreturn]] void Enclave(SlotControl& c) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  auto alive = [] { return Status::Ok(); };
  for (uint32_t i = 0; i < kRoundTrips; ++i) {
    (void)WaitForState(c, Side::kEnclave, kSleep, [](SlotState s) { return s == SlotState::kEcallRequest; }, alive);
    c.length = i;
    Delay(i);
    PublishState(c, Side::kEnclave, SlotState::kEcallReply, true);
  }
  _exit(0);
}

[[noreturn]] void Host(SlotControl& c, Progress& p) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  auto alive = [] { return Status::Ok(); };
  for (uint32_t i = 0; i < kRoundTrips; ++i) {
    c.call_id = i;
    Delay(i + 7);
    PublishState(c, Side::kHost, SlotState::kEcallRequest, true);
    (void)WaitForState(c, Side::kHost, kSleep, [](SlotState s) { return s == SlotState::kEcallReply; }, alive);
    if (c.length != i) _exit(2);  // the reply belongs to another request
    p.round_trips.store(i + 1, std::memory_order_relaxed);
  }
  _exit(0);
}

TEST(Channel, SleepingAndPublishingSidesNeverMissEachOther) {
  const size_t size = ChannelSize(1, 4096);
  void* m = mmap(nullptr, size + 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  Channel ch(m, size);
  ASSERT_TRUE(ch.Initialise(1, 4096).ok());
  auto* progress = new (static_cast<uint8_t*>(m) + size) Progress;
  SlotControl& c = ch.control(0);

  pid_t enclave = fork();
  ASSERT_GE(enclave, 0);
  if (enclave == 0) Enclave(c);
  pid_t host = fork();
  ASSERT_GE(host, 0);
  if (host == 0) Host(c, *progress);

  // Each round trip takes microseconds; a lost wake-up stops them for good.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int host_status = 0, enclave_status = 0;
  bool host_done = false, enclave_done = false;
  uint32_t seen = 0;
  while (!(host_done && enclave_done) && std::chrono::steady_clock::now() < deadline) {
    if (!host_done) host_done = waitpid(host, &host_status, WNOHANG) == host;
    if (!enclave_done) enclave_done = waitpid(enclave, &enclave_status, WNOHANG) == enclave;
    uint32_t now = progress->round_trips.load(std::memory_order_relaxed);
    if (now != seen) {
      seen = now;
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);  // stalls, not slowness
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!host_done) kill(host, SIGKILL), waitpid(host, &host_status, 0);
  if (!enclave_done) kill(enclave, SIGKILL), waitpid(enclave, &enclave_status, 0);
  EXPECT_TRUE(host_done && enclave_done) << "the round trips stopped at " << progress->round_trips.load() << " of "
                                         << kRoundTrips << " for 10 s: a wake-up was lost";
  EXPECT_TRUE(WIFEXITED(host_status) && WEXITSTATUS(host_status) == 0) << "host side status " << host_status;
  EXPECT_TRUE(WIFEXITED(enclave_status) && WEXITSTATUS(enclave_status) == 0) << "enclave side status "
                                                                             << enclave_status;
  EXPECT_EQ(progress->round_trips.load(), kRoundTrips);
  munmap(m, size + 4096);
}

// The slot thread's back-off comes from the host in the flags' high byte: a hint, so a host
// cannot make the slot thread wait longer than kMaxBackOffPauses.
TEST(Channel, TheSlotThreadsBackOffIsTheFlagsHighByteBounded) {
  EXPECT_EQ(SlotBackOff(kSwitchless | kDemote), 0u);
  EXPECT_EQ(SlotBackOff(static_cast<uint16_t>(kSwitchless | 5u << kBackOffShift)), 5u);
  EXPECT_EQ(SlotBackOff(static_cast<uint16_t>(kMaxBackOffPauses << kBackOffShift)), kMaxBackOffPauses);
  EXPECT_EQ(SlotBackOff(0xff00 | kDemote), kMaxBackOffPauses);
}

// CurrentCpu reads the CPU from the thread's rseq area: it must follow the thread wherever it
// is moved, as sched_getcpu does (the host sends it with each request, and a slot thread on
// that CPU sleeps instead of spinning).
TEST(Channel, CurrentCpuFollowsTheThreadToEachCpuItIsPinnedTo) {
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  struct Restore {  // the mask comes back however the test ends
    cpu_set_t& mask;
    ~Restore() { sched_setaffinity(0, sizeof mask, &mask); }
  } restore{allowed};
  int visited = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0) << "cpu " << cpu;
    EXPECT_EQ(CurrentCpu(), cpu);
    EXPECT_EQ(CurrentCpu(), sched_getcpu());
    ++visited;
  }
  EXPECT_GE(visited, 1);
}

}  // namespace
}  // namespace confide::soft
