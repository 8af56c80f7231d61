// The soft backend from the host's side: a real platform daemon (the confide CLI), real
// enclave processes, the test enclave of tests/runtime.
#include <fcntl.h>
#include <sys/resource.h>
#include <grp.h>
#include <netinet/in.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <random>
#include <thread>

#include "backends/soft/channel.h"
#include "backends/soft/hand_off_tuner.h"
#include "common/sealed_memfd.h"
#include "confide/crypto.h"
#include "confide/enclave.h"
#include "confide/image.h"
#include "platform/daemon.h"
#include "platform/protocol.h"
#include "support/proc_stat.h"

using namespace confide;
using namespace confide::abi;
using confide::testing::StatField;
namespace fs = std::filesystem;

namespace {

constexpr uint32_t kEcho = 0, kSecret = 1, kHold = 3, kThrows = 4, kCrash = 5;

Status NoOcall(const FrameView&, FrameWriter&) { return Unsupported("not used"); }
const HostOcall kOcalls[] = {{"host_reenter", NoOcall}, {"host_plain", NoOcall}, {"host_hostile", NoOcall}};
const char* const kNames[] = {"echo", "secret", "call_host", "hold", "throws", "crash"};
const UntrustedTables kTables = {kOcalls, 3, kNames, 6};

std::string RunCommand(const std::string& cmd, int* rc) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  *rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

// A platform daemon of our own on a private socket, for the duration of one test.
class Daemon {
 public:
  explicit Daemon(const std::string& extra = "") {
    dir_ = fs::temp_directory_path() / ("confide-soft-test-" + std::to_string(getpid()) + "-" + std::to_string(++count_));
    fs::create_directories(dir_);
    socket_ = (dir_ / "platform.sock").string();
    int rc;
    std::string out = RunCommand(std::string(CONFIDE_CLI_PATH) + " platform start --socket " + socket_ + " --state " +
                              (dir_ / "state").string() + " " + extra,
                          &rc);
    EXPECT_EQ(rc, 0) << out;
    setenv("CONFIDE_PLATFORM_SOCKET", socket_.c_str(), 1);
  }
  ~Daemon() {
    int rc;
    RunCommand(std::string(CONFIDE_CLI_PATH) + " platform stop --socket " + socket_, &rc);
    unsetenv("CONFIDE_PLATFORM_SOCKET");
    fs::remove_all(dir_);
  }
  nlohmann::json Status() {
    int rc;
    std::string out = RunCommand(std::string(CONFIDE_CLI_PATH) + " platform status --json --socket " + socket_, &rc);
    EXPECT_EQ(rc, 0) << out;
    return nlohmann::json::parse(out, nullptr, false);
  }
  const std::string& socket() const { return socket_; }
  fs::path dir() const { return dir_; }

 private:
  static inline int count_ = 0;
  fs::path dir_;
  std::string socket_;
};

EnclaveOptions Soft() {
  EnclaveOptions o;
  o.backend = BackendKind::kSoft;
  return o;
}

Result<Bytes> Echo(Enclave& e, const std::string& text) {
  FrameWriter w;
  w.Buffer(text.c_str(), text.size() + 1);
  return e.Call(kEcho, w.Finish(), text.size() + 256);
}

TEST(SoftBackend, LaunchesThroughTheDaemonAndCallsThroughTheChannel) {
  Daemon d;
  auto e = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ((*e)->backend(), BackendKind::kSoft);
  auto r = Echo(**e, "over shared memory");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto v = FrameView::Parse(*r, "reply");
  ASSERT_TRUE(v.ok());
  ByteSpan b;
  ASSERT_TRUE(v->GetString(0, "text", 1, false, &b).ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.data())), "over shared memory");
  EXPECT_FALSE((*e)->development());  // a daemon started on its own, not by this host
  EXPECT_GT((*e)->process_id(), 0);
  auto st = d.Status();
  EXPECT_EQ(st["enclaves"], 1);
  EXPECT_EQ(st["development"], false);
  EXPECT_EQ(st["memfd_secret"], true);
}

// The daemon execs the runtime from a sealed memfd that nobody may read (mode 0111): the
// kernel makes a process exec'd from an unreadable file non-dumpable from its first
// instruction, so no process of the enclave's user can take its descriptors (its platform
// link) or open its memory in the moments before the runtime hardens itself.
TEST(SoftBackend, TheEnclaveProcessRunsFromAnUnreadableSealedCopyOfTheRuntime) {
  Daemon d;
  auto e = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  std::string exe = "/proc/" + std::to_string((*e)->process_id()) + "/exe";
  char target[256] = {};
  ASSERT_GT(readlink(exe.c_str(), target, sizeof target - 1), 0) << "run the soft tests as root";
  EXPECT_EQ(std::string(target).rfind("/memfd:confide-enclave-runtime", 0), 0u) << target;
  struct stat st {};
  ASSERT_EQ(stat(exe.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0111u);
  int fd = open(exe.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  int seals = fcntl(fd, F_GET_SEALS);
  close(fd);
  EXPECT_EQ(seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW), F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW);
  // Named as before, for ps and the isolation tests.
  std::ifstream comm("/proc/" + std::to_string((*e)->process_id()) + "/comm");
  std::string name;
  std::getline(comm, name);
  EXPECT_EQ(name, "confide-enclave");
}

// A capability set of /proc/PID/status ("CapEff" ...), or ~0 when it cannot be read.
uint64_t Capabilities(pid_t pid, const std::string& set) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind(set + ":", 0) == 0) return std::stoull(line.substr(set.size() + 1), nullptr, 16);
  return ~uint64_t{0};
}

// The enclave runs with CAP_IPC_LOCK alone (for its secret memory), whoever its host is, and
// a root host's runs as nobody: with root's capabilities it could read the 0111 runtime copy
// (and start dumpable), and as uid 0 it would own root's files, the platform's root key among
// them, while its constructors run.
TEST(SoftBackend, AnEnclaveHoldsNoCapabilityButIpcLockAndARootHostsRunsAsNobody) {
  Daemon d;
  auto e = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  const pid_t pid = (*e)->process_id();
  constexpr uint64_t kIpcLock = uint64_t{1} << 14;  // CAP_IPC_LOCK
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapAmb"})
    EXPECT_EQ(Capabilities(pid, set) & ~kIpcLock, 0u) << set << " of the enclave process";
  if (geteuid() == 0) {  // the daemon runs as root: it dropped the rest of the bounding set too
    EXPECT_EQ(Capabilities(pid, "CapBnd"), kIpcLock);
    EXPECT_EQ(Capabilities(pid, "CapEff"), kIpcLock);
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line, uid;
    while (std::getline(status, line))
      if (line.rfind("Uid:", 0) == 0) uid = line;
    EXPECT_EQ(uid, "Uid:\t65534\t65534\t65534\t65534") << "a root host's enclave runs as nobody";
  }
}

// A daemon that lacks a capability the enclave's start needs (here CAP_SETUID, which a
// container may drop) reports why the launcher's child could not start the runtime: that
// child's stderr is /dev/null, and the host used to see only "ended unexpectedly". One that
// lacks CAP_IPC_LOCK (Docker drops it) starts enclaves without it, whose secret memory then
// has to fit the locked-memory limit the daemon sets.
TEST(PlatformDaemon, ALaunchTheLauncherCannotStartSaysWhyAndNoIpcLockIsNoObstacle) {
  ASSERT_EQ(geteuid(), 0u) << "run the soft tests as root";
  for (const std::string& dropped : {std::string("setuid"), std::string("ipc_lock")}) {
    SCOPED_TRACE(dropped);
    fs::path dir = fs::temp_directory_path() / ("confide-dropped-" + dropped + "-" + std::to_string(getpid()));
    fs::create_directories(dir);
    const std::string sock = (dir / "p.sock").string();
    int rc;
    std::string out = RunCommand("setpriv --bounding-set=-" + dropped + " " + CONFIDE_CLI_PATH +
                                     " platform start --socket " + sock + " --state " + (dir / "state").string(),
                                 &rc);
    ASSERT_EQ(rc, 0) << out;
    setenv("CONFIDE_PLATFORM_SOCKET", sock.c_str(), 1);
    auto e = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
    unsetenv("CONFIDE_PLATFORM_SOCKET");
    if (dropped == "setuid") {
      ASSERT_FALSE(e.ok());
      EXPECT_NE(e.status().message().find("could not start the enclave runtime: cannot switch to the host's user"),
                std::string::npos)
          << e.status().ToString();
    } else {
      ASSERT_TRUE(e.ok()) << e.status().ToString();
      EXPECT_EQ(Capabilities((*e)->process_id(), "CapEff"), 0u);
      EXPECT_TRUE(Echo(**e, "without CAP_IPC_LOCK").ok());
    }
    RunCommand(std::string(CONFIDE_CLI_PATH) + " platform stop --socket " + sock, &rc);
    fs::remove_all(dir);
  }
}

TEST(SoftBackend, ReplacingTheFileAfterLaunchHasNoEffectAndATamperedFileIsRefused) {
  Daemon d;
  fs::path copy = d.dir() / "enclave.signed.so";
  fs::copy_file(RAW_ENCLAVE, copy);
  auto e = Enclave::Create(copy.string(), kTables, Soft());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  auto bytes = ReadFile(copy.string());
  ASSERT_TRUE(bytes.ok());
  Bytes tampered = *bytes;
  tampered[tampered.size() / 3] ^= 0x01;
  ASSERT_TRUE(WriteFile(copy.string(), tampered).ok());
  EXPECT_TRUE(Echo(**e, "still the verified image").ok());
  auto again = Enclave::Create(copy.string(), kTables, Soft());
  EXPECT_EQ(again.status().code(), Code::kVerificationFailed);
}

// The soft host does not recompute MRENCLAVE (the daemon does, before anything runs): a
// signer whose signed MRENCLAVE is not the image's measurement is still refused.
TEST(SoftBackend, ASignerLyingAboutMrenclaveIsRefusedByTheDaemon) {
  Daemon d;
  auto original = ReadFile(RAW_ENCLAVE);
  ASSERT_TRUE(original.ok());
  Bytes elf(original->begin(), original->end() - image::kTrailerSize);
  auto parsed = image::LoadAndVerify(*original);
  ASSERT_TRUE(parsed.ok());
  auto key = crypto::RsaGenerate(3072, 3);
  ASSERT_TRUE(key.ok());
  auto lying = image::Sign(elf, parsed->config, *key);
  ASSERT_TRUE(lying.ok()) << lying.status().ToString();
  size_t body = lying->size() - image::kTrailerSize;
  (*lying)[body + 56] ^= 0x01;  // the signed MRENCLAVE (docs/enclave-image.md)
  auto sig = crypto::RsaSignPkcs1(*key, crypto::HashAlg::kSha256, ByteSpan(*lying).subspan(body, image::kSignedBodySize));
  ASSERT_TRUE(sig.ok());
  std::copy(sig->rbegin(), sig->rend(), lying->begin() + static_cast<std::ptrdiff_t>(body + image::kSignedBodySize));
  std::string path = (d.dir() / "lying.signed.so").string();
  ASSERT_TRUE(WriteFile(path, *lying).ok());

  auto e = Enclave::Create(path, kTables, Soft());
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), Code::kVerificationFailed) << e.status().ToString();
  EXPECT_NE(e.status().message().find("MRENCLAVE mismatch"), std::string::npos) << e.status().ToString();
  EXPECT_EQ(d.Status()["enclaves"], 0);
}

TEST(SoftBackend, DaemonLaunchPolicyRefusesDebugImages) {
  Daemon d("--refuse-debug");
  auto debug = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
  EXPECT_EQ(debug.status().code(), Code::kPolicyViolation);
  EXPECT_NE(debug.status().message().find("refuses debug enclaves"), std::string::npos) << debug.status().ToString();
  auto release = Enclave::Create(RAW_ENCLAVE_RELEASE, kTables, Soft());
  EXPECT_TRUE(release.ok()) << release.status().ToString();
}

TEST(SoftBackend, AnEnclaveCrashIsReportedAndEveryLaterCallFails) {
  Daemon d;
  auto e = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  auto r = (*e)->Call(kCrash, FrameWriter().Finish(), 64);
  EXPECT_EQ(r.status().code(), Code::kEnclaveCrashed) << r.status().ToString();
  auto later = Echo(**e, "anyone there?");
  EXPECT_EQ(later.status().code(), Code::kEnclaveCrashed) << later.status().ToString();
}

// Nothing in the enclave reports a SIGKILL: the host's reaper sees the lifeline hang up and
// wakes the caller, which sleeps without a timeout.
TEST(SoftBackend, ACallWaitingInAKilledEnclaveFailsPromptly) {
  Daemon d;
  auto e = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  Enclave& enclave = **e;
  std::thread killer([pid = enclave.process_id()] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    kill(pid, SIGKILL);
  });
  FrameWriter w;
  w.Value(uint32_t{20000});  // "hold": sleeps 20 s in the enclave
  auto t0 = std::chrono::steady_clock::now();
  auto r = enclave.Call(kHold, w.Finish(), 64);
  auto waited = std::chrono::steady_clock::now() - t0;
  killer.join();
  EXPECT_EQ(r.status().code(), Code::kEnclaveCrashed) << r.status().ToString();
  EXPECT_NE(r.status().message().find("ended unexpectedly"), std::string::npos) << r.status().ToString();
  EXPECT_LT(waited, std::chrono::seconds(5));
  auto later = Echo(enclave, "anyone there?");
  EXPECT_EQ(later.status().code(), Code::kEnclaveCrashed) << later.status().ToString();
}

// Slot threads sleep without a timeout and leave the periodic checks to the watchdog. A
// tracer that stops only the watchdog (PTRACE_INTERRUPT stops one thread) must not get calls
// served behind its back: the slot thread woken for the next call finds the watchdog's round
// stale, checks every thread's tracer itself and runs the tamper response.
TEST(SoftBackend, ACallAfterATracerStoppedOnlyTheWatchdogLosesTheEnclave) {
  Daemon d;
  auto e = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ASSERT_TRUE(Echo(**e, "warm").ok());
  pid_t pid = (*e)->process_id();  // its main thread is the watchdog
  ASSERT_EQ(ptrace(PTRACE_SEIZE, pid, nullptr, nullptr), 0) << strerror(errno) << " (run the soft tests as root)";
  // The watchdog may still see the tracer itself first (it looks every 5 ms); then the
  // enclave is lost all the same.
  if (ptrace(PTRACE_INTERRUPT, pid, nullptr, nullptr) == 0) {
    int status = 0;
    waitpid(pid, &status, __WALL);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(120));  // > the 50 ms staleness
  auto r = Echo(**e, "served behind the tracer's back?");
  EXPECT_EQ(r.status().code(), Code::kEnclaveLost) << r.status().ToString();
  EXPECT_NE(r.status().message().find("tracer"), std::string::npos) << r.status().ToString();
  ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
  for (int status = 0; waitpid(pid, &status, __WALL | WNOHANG) > 0;) {
  }
}

TEST(SoftBackend, FramesLargerThanAChannelSlotAreRefused) {
  Daemon d;
  EnclaveOptions o = Soft();
  o.channel_slot_bytes = 4096;
  auto e = Enclave::Create(RAW_ENCLAVE, kTables, o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  auto r = Echo(**e, std::string(8192, 'x'));
  EXPECT_EQ(r.status().code(), Code::kOutOfRange);
  EXPECT_NE(r.status().message().find("exceeds the channel's 4096-byte slot"), std::string::npos)
      << r.status().ToString();
  EXPECT_TRUE(Echo(**e, "small").ok());
}

// Whether this process's mapping of the call channel holds `marker`: -1 when there is no
// such mapping (the scan would prove nothing), else 0 or 1.
int ChannelHolds(const Bytes& marker) {
  std::ifstream maps("/proc/self/maps");
  int found = -1;
  for (std::string line; std::getline(maps, line);) {
    if (line.find("/memfd:confide-channel") == std::string::npos) continue;
    unsigned long start = 0, end = 0;
    if (sscanf(line.c_str(), "%lx-%lx", &start, &end) != 2) continue;
    found = std::max(found, 0);
    if (memmem(reinterpret_cast<void*>(start), end - start, marker.data(), marker.size()) != nullptr) found = 1;
  }
  return found;
}

Bytes RandomMarker() {
  std::random_device rd;
  Bytes m(64);
  for (auto& b : m) b = static_cast<uint8_t>('a' + rd() % 26);
  return m;
}

// A string frame (what the echo ecall takes) with `marker` behind 2000 bytes of padding, well
// past where an error message overwrites the start of the slot.
Bytes MarkedFrame(const Bytes& marker) {
  std::string text(2000, '-');
  text.append(marker.begin(), marker.end());
  FrameWriter w;
  w.Buffer(text.c_str(), text.size() + 1);
  return w.Finish();
}

TEST(SoftBackend, ARefusedCallLeavesNothingOfItsRequestInTheChannel) {
  Daemon d;
  auto e = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  // The scan sees what the channel holds: an echo's reply carries its marker back.
  Bytes echoed = RandomMarker();
  ASSERT_TRUE((*e)->Call(kEcho, MarkedFrame(echoed), 4096).ok());
  ASSERT_EQ(ChannelHolds(echoed), 1);

  Bytes to_private = RandomMarker();
  auto r = (*e)->Call(kSecret, MarkedFrame(to_private), 1024);
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied) << r.status().ToString();
  EXPECT_EQ(ChannelHolds(to_private), 0);

  Bytes to_unknown = RandomMarker();
  r = (*e)->Call(99, MarkedFrame(to_unknown), 1024);
  EXPECT_EQ(r.status().code(), Code::kOutOfRange) << r.status().ToString();
  EXPECT_NE(r.status().message().find("ecall id 99 is out of range"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(ChannelHolds(to_unknown), 0);
}

// Value calls (docs/abi.md) take the channel as frames do, with the trusted runtime's checks;
// a refused one leaves nothing of its arguments in the channel either.
TEST(SoftBackend, ValueCallsCrossTheChannelWithTheirChecks) {
  Daemon d;
  auto e = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  uint32_t ms = 0;
  uint8_t args[4], ret[8];
  std::memcpy(args, &ms, sizeof ms);
  ASSERT_TRUE((*e)->CallValues(kHold, args, 4, ret, 4).ok());
  int32_t slot = -1;
  std::memcpy(&slot, ret, sizeof slot);
  EXPECT_TRUE(slot == 0 || slot == 1) << slot;

  auto expect = [](const Status& s, Code code, const std::string& part) {
    EXPECT_EQ(s.code(), code) << s.ToString();
    EXPECT_NE(s.message().find(part), std::string::npos) << s.ToString();
  };
  std::memcpy(args, &ms, sizeof ms);
  expect((*e)->CallValues(kHold, args, 4, ret, 8), Code::kInternal,
         "ecall 'hold': the enclave's reply to a value call has 4 bytes; the return value has 8");
  expect((*e)->CallValues(kEcho, args, 0, nullptr, 0), Code::kInvalidArgument,
         "ecall 'echo' takes no value call (it has pointer or struct parameters)");
  expect((*e)->CallValues(kThrows, args, 0, nullptr, 0), Code::kInternal, "threw an exception (boom)");
  expect((*e)->CallValues(99, args, 0, nullptr, 0), Code::kOutOfRange, "ecall id 99 is out of range");
  // The channel's value-call mark is no part of an ecall id: a frame sent under it is refused,
  // not taken for a value call of ecall 3.
  auto marked = (*e)->Call(kHold | 0x80000000u, MarkedFrame(RandomMarker()), 1024);
  EXPECT_EQ(marked.status().code(), Code::kOutOfRange) << marked.status().ToString();
  EXPECT_NE(marked.status().message().find("ecall id 2147483651 is out of range"), std::string::npos)
      << marked.status().ToString();

  Bytes marker = RandomMarker();
  Bytes wrong(2000 + marker.size(), '-');
  std::memcpy(wrong.data() + 2000, marker.data(), marker.size());
  expect((*e)->CallValues(kHold, wrong.data(), wrong.size(), ret, 4), Code::kInvalidArgument,
         "a value call carries 2064 bytes of arguments, the ecall takes 4");
  EXPECT_EQ(ChannelHolds(marker), 0);
  std::memcpy(args, &ms, sizeof ms);
  EXPECT_TRUE((*e)->CallValues(kHold, args, 4, ret, 4).ok());  // the slot serves on
}

// Switchless calls cross the channel under each EnclaveOptions::channel_demote choice, past the
// tuner's first line trial (the slot moves between its hot lines every few calls) and its first
// mode trial (calls change between demoting and not, kMeasure only, and between back-offs).
// Every seventh call carries a string long enough to reach the hot line's other places.
TEST(SoftBackend, EveryChannelDemoteChoiceCarriesCalls) {
  Daemon d;
  using Demote = EnclaveOptions::ChannelDemote;
  for (Demote demote : {Demote::kMeasure, Demote::kAlways, Demote::kNever}) {
    EnclaveOptions o = Soft();
    o.switchless = true;
    o.channel_demote = demote;
    auto e = Enclave::Create(RAW_ENCLAVE, kTables, o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    for (uint32_t i = 0; i < soft::HandOffTuner::kFirstTrial + soft::HandOffTuner::kLineTrialCalls + soft::HandOffTuner::kModeTrialCalls + 8; ++i) {
      const std::string text = "call " + std::to_string(i) + std::string(i % 7 == 0 ? 1500 : 0, '.');
      auto r = Echo(**e, text);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      auto v = FrameView::Parse(*r, "reply");
      ASSERT_TRUE(v.ok()) << v.status().ToString();
      ByteSpan b;
      ASSERT_TRUE(v->GetString(0, "text", 1, false, &b).ok());
      ASSERT_EQ(std::string(reinterpret_cast<const char*>(b.data())), text) << static_cast<int>(demote);
    }
  }
}

// The CPU `tid` (a thread of any process) last ran on; -1 if unreadable.
int CpuOf(pid_t tid) {
  const std::string cpu = StatField(tid, 39);
  return cpu.empty() ? -1 : std::stoi(cpu);
}

// The kernel's wake-up placement can put a switchless slot thread on its host's CPU. There it
// must sleep after every reply (two futex wake-ups a call, ~4 us instead of ~0.25 us), and in
// a VM the two stay there: each wakes the other on its own CPU. The slot thread moves to
// another CPU instead. Forced here by allowing it only the host's CPU for a few calls.
TEST(SoftBackend, ASwitchlessSlotThreadMovesOffItsHostsCpu) {
  cpu_set_t mine;
  ASSERT_EQ(sched_getaffinity(0, sizeof mine, &mine), 0);
  if (CPU_COUNT(&mine) < 2) GTEST_SKIP() << "needs two CPUs; this process may use " << CPU_COUNT(&mine);
  int host_cpu = 0;
  while (!CPU_ISSET(host_cpu, &mine)) ++host_cpu;
  Daemon d;
  EnclaveOptions o = Soft();
  o.switchless = true;
  auto e = Enclave::Create(RAW_ENCLAVE, kTables, o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ASSERT_TRUE(Echo(**e, "warm").ok());
  // After a call the slot thread may move off this CPU (a moment without it in its mask): a pin
  // set in that moment would be undone, so pin only once the slot thread has gone to sleep.
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // Slot 0's thread: the main thread has the lowest id, then come the slot threads in order.
  std::vector<pid_t> tids;
  for (const auto& t : fs::directory_iterator("/proc/" + std::to_string((*e)->process_id()) + "/task"))
    tids.push_back(std::stoi(t.path().filename().string()));
  std::sort(tids.begin(), tids.end());
  ASSERT_GE(tids.size(), 2u);
  const pid_t slot0 = tids[1];
  cpu_set_t only;
  CPU_ZERO(&only);
  CPU_SET(host_cpu, &only);
  struct Unpin {  // this thread gets its CPUs back however the test ends
    cpu_set_t mask;
    ~Unpin() { sched_setaffinity(0, sizeof mask, &mask); }
  } unpin{mine};
  ASSERT_EQ(sched_setaffinity(0, sizeof only, &only), 0);
  ASSERT_EQ(sched_setaffinity(slot0, sizeof only, &only), 0);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Echo(**e, "together").ok());
  cpu_set_t pinned;
  ASSERT_EQ(sched_getaffinity(slot0, sizeof pinned, &pinned), 0);
  ASSERT_TRUE(CPU_EQUAL(&pinned, &only)) << "the slot thread's pin did not hold";
  EXPECT_EQ(CpuOf(slot0), host_cpu);
  ASSERT_EQ(sched_setaffinity(slot0, sizeof mine, &mine), 0);  // free to go, and still here
  // Seen elsewhere once is enough: on a busy machine a wake-up may place it here again later.
  int calls = 0, cpu = host_cpu;
  for (; calls < 5000 && (cpu = CpuOf(slot0)) == host_cpu; ++calls) ASSERT_TRUE(Echo(**e, "apart").ok());
  EXPECT_NE(cpu, host_cpu) << "still on the host's CPU after " << calls << " calls";
  std::cout << "[ the slot thread left the host's CPU after " << calls << " calls ]\n";
}

TEST(SoftBackend, ARequestLargerThanTheEnclaveHeapIsRefusedAndTheSlotServesOn) {
  Daemon d;
  EnclaveOptions o = Soft();
  o.channel_slot_bytes = 8u << 20;  // the channel takes it; the enclave's 4 MiB heap cannot
  auto e = Enclave::Create(RAW_ENCLAVE, kTables, o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  auto r = Echo(**e, std::string(6u << 20, 'x'));
  EXPECT_EQ(r.status().code(), Code::kOutOfRange) << r.status().ToString();
  EXPECT_NE(r.status().message().find("ran out of heap memory"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("NumHeapPages"), std::string::npos) << r.status().ToString();
  // Not crashed, and the slot it used was given back: both slots still answer.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Echo(**e, "small").ok());
  EXPECT_TRUE(Echo(**e, std::string(1u << 20, 'y')).ok());
}

// The private daemon's programs come from a directory only root or this user can change:
// $CONFIDE_TOOLS_DIR pointing at another user's directory is passed over (the build tree's
// programs run instead), since whatever runs there would run with this process's rights.
TEST(SoftBackend, WithoutADaemonTheHostStartsAPrivateDevelopmentOne) {
  unsetenv("CONFIDE_PLATFORM_SOCKET");
  ASSERT_NE(access("/run/confide/platform.sock", F_OK), 0)
      << "a platform daemon runs at the default socket here; this test needs a machine without one";
  const fs::path theirs = fs::temp_directory_path() / ("confide-their-tools-" + std::to_string(getpid()));
  fs::create_directories(theirs);
  const fs::path marker = theirs / "ran";
  { std::ofstream(theirs / "confide") << "#!/bin/sh\ntouch " << marker.string() << "\n"; }
  fs::copy_file(fs::path(CONFIDE_CLI_PATH).parent_path() / "confide-enclave-runtime", theirs / "confide-enclave-runtime");
  for (const char* f : {"confide", "confide-enclave-runtime"}) {
    fs::permissions(theirs / f, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    ASSERT_EQ(chown((theirs / f).c_str(), 65534, 65534), 0);
  }
  ASSERT_EQ(chown(theirs.c_str(), 65534, 65534), 0);
  setenv("CONFIDE_TOOLS_DIR", theirs.c_str(), 1);
  auto e = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
  unsetenv("CONFIDE_TOOLS_DIR");
  EXPECT_FALSE(fs::exists(marker)) << "another user's program ran";
  fs::remove_all(theirs);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_TRUE((*e)->development());
  EXPECT_TRUE(Echo(**e, "private daemon").ok());

  // Killed, it is replaced by the next creation, and what it left (its state) is removed.
  pid_t daemon = -1;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::ifstream stat(entry.path() / "stat");
    std::string pid, comm, state;
    pid_t ppid = 0;
    if (stat >> pid >> comm >> state >> ppid && ppid == getpid() && comm == "(confide)") daemon = std::stoi(pid);
  }
  ASSERT_GT(daemon, 0) << "no private daemon among this process's children";
  std::string cmdline;
  std::getline(std::ifstream("/proc/" + std::to_string(daemon) + "/cmdline"), cmdline, '\n');
  const std::string state_dir = cmdline.substr(cmdline.find("--state") + 8, cmdline.find('\0', cmdline.find("--state") + 8) -
                                                                                 cmdline.find("--state") - 8);
  ASSERT_TRUE(fs::exists(fs::path(state_dir) / "root.key")) << state_dir;
  ASSERT_EQ(kill(daemon, SIGKILL), 0);
  // Gone once its socket refuses connections (its threads may outlive the main one briefly).
  const std::string old_socket = (fs::path(state_dir).parent_path() / "platform.sock").string();
  auto gone = [&] {
    auto c = platform::ConnectTo(old_socket, 1);
    if (c.ok()) close(*c);
    return !c.ok() && c.status().code() == Code::kUnavailable;
  };
  for (int i = 0; i < 500 && !gone(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(gone());
  auto again = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(Echo(**again, "a new private daemon").ok());
  EXPECT_FALSE(fs::exists(state_dir)) << "the killed daemon's state is left behind";
  EXPECT_NE(waitpid(daemon, nullptr, WNOHANG), 0) << "the killed daemon was not reaped";  // -1: already reaped

  EnclaveOptions sim;
  sim.backend = BackendKind::kSim;
  auto s = Enclave::Create(RAW_ENCLAVE, kTables, sim);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE((*s)->development());
  EXPECT_EQ((*s)->process_id(), 0);
}

// Descriptors in this process, and in the daemon at `pid`.
size_t OpenDescriptors(pid_t pid) {
  size_t n = 0;
  for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd"); it != fs::directory_iterator(); ++it) ++n;
  return n;
}

TEST(SoftBackend, CreatingAndDestroyingEnclavesLeavesNoDescriptorsBehind) {
  Daemon d;
  const pid_t daemon = d.Status()["pid"].get<pid_t>();
  {
    auto warm = Enclave::Create(RAW_ENCLAVE, kTables, Soft());  // first-use state (runtime copy, key caches)
    ASSERT_TRUE(warm.ok()) << warm.status().ToString();
  }
  // Its link goes once its process has ended, which takes a moment.
  for (int i = 0; i < 1000 && d.Status()["enclaves"] != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(d.Status()["enclaves"], 0);
  const pid_t launcher = d.Status()["launcher_pid"].get<pid_t>();
  const size_t host_before = OpenDescriptors(getpid()), launcher_before = OpenDescriptors(launcher);
  // The daemon's closer thread may still hold the warm-up enclave's link for a moment after
  // the status says it is gone: the baseline is the count once it holds still.
  size_t daemon_before = OpenDescriptors(daemon);
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    size_t now = OpenDescriptors(daemon);
    if (now == daemon_before) break;
    daemon_before = now;
  }
  for (int i = 0; i < 5; ++i) {
    auto e = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
    ASSERT_TRUE(e.ok()) << e.status().ToString();
  }
  EXPECT_EQ(OpenDescriptors(getpid()), host_before);
  // The daemon lets go of an enclave's link when the process ends, which takes a moment.
  for (int i = 0; i < 1000 && OpenDescriptors(daemon) != daemon_before; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(OpenDescriptors(daemon), daemon_before);
  EXPECT_EQ(OpenDescriptors(launcher), launcher_before);
}

// A process answering at a daemon's socket path, run by this test (so one ConnectTo trusts):
// it answers each request with `reply`, or not at all.
class FakeDaemon {
 public:
  explicit FakeDaemon(std::optional<nlohmann::json> reply) : dir_(fs::temp_directory_path() / ("confide-fake-" + std::to_string(getpid()))) {
    fs::create_directories(dir_);
    socket_ = (dir_ / "p.sock").string();
    listener_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, socket_.c_str());
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(listener_, 4), 0);
    thread_ = std::thread([this, reply] {
      for (;;) {  // a host connects once to look, then again to launch
        int c = accept(listener_, nullptr, nullptr);
        if (c < 0) return;
        auto request = platform::ReceiveMessage(c);
        if (request.ok()) {
          platform::CloseFds(request->fds);
          if (reply) (void)platform::SendMessage(c, *reply);
          pollfd p{c, POLLIN, 0};
          poll(&p, 1, 5000);  // until the client hangs up
        }
        close(c);
      }
    });
  }
  ~FakeDaemon() {
    shutdown(listener_, SHUT_RDWR);
    thread_.join();
    close(listener_);
    fs::remove_all(dir_);
  }
  const std::string& socket() const { return socket_; }

 private:
  fs::path dir_;
  std::string socket_;
  int listener_ = -1;
  std::thread thread_;
};

// The daemon's replies come from another process: fields of the wrong type are an error of
// the launch, not an exception that ends the host.
TEST(SoftBackend, AMalformedLaunchReplyIsAnErrorNotACrash) {
  FakeDaemon fake(nlohmann::json{{"ok", true}, {"pid", "not a number"}, {"development", "no"}});
  setenv("CONFIDE_PLATFORM_SOCKET", fake.socket().c_str(), 1);
  auto e = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
  unsetenv("CONFIDE_PLATFORM_SOCKET");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), Code::kInvalidArgument);
  EXPECT_NE(e.status().message().find("launch reply has no positive integer 'pid'"), std::string::npos)
      << e.status().ToString();
}

// A daemon that takes a request and never answers does not hang its client.
TEST(SoftBackend, ADaemonThatNeverAnswersTimesOut) {
  FakeDaemon silent(std::nullopt);
  auto r = platform::Request(silent.socket(), {{"op", "status"}}, {}, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kTimeout);
  EXPECT_NE(r.status().message().find("no answer on the platform socket in time"), std::string::npos)
      << r.status().ToString();
}

// A user without root gets the private development daemon, which cannot raise the
// locked-memory limit that secret memory counts against: a debug enclave runs on ordinary
// memory and its host says so and why on stderr; a production one is refused, naming the
// limit rather than the kernel.
TEST(SoftBackend, WithoutRootDebugEnclavesRunOnOrdinaryMemoryAndSayWhy) {
  unsetenv("CONFIDE_PLATFORM_SOCKET");
  ASSERT_NE(access("/run/confide/platform.sock", F_OK), 0)
      << "a platform daemon runs at the default socket here; this test needs a machine without one";
  int out[2];
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // the host, as nobody, with the usual default limit
    rlimit lock{8 << 20, 8 << 20};
    if (dup2(out[1], 2) < 0 || setrlimit(RLIMIT_MEMLOCK, &lock) != 0 || setgroups(0, nullptr) != 0 ||
        setgid(65534) != 0 || setuid(65534) != 0)
      _exit(10);
    setenv("TMPDIR", "/tmp", 1);
    {
      auto debug = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
      if (!debug.ok()) {
        std::fprintf(stderr, "debug enclave: %s\n", debug.status().ToString().c_str());
        _exit(11);
      }
    }
    auto release = Enclave::Create(RAW_ENCLAVE_RELEASE, kTables, Soft());
    std::fprintf(stderr, "release enclave: %s\n", release.status().ToString().c_str());
    _exit(release.ok() ? 12 : 0);
  }
  close(out[1]);
  std::string said;
  char buf[4096];
  for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;) said.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << said;
  EXPECT_NE(said.find("warning: RLIMIT_MEMLOCK (8192 KiB) is too small for the secret memory"), std::string::npos)
      << said;
  EXPECT_NE(said.find("this debug enclave runs on ordinary memory"), std::string::npos) << said;
  EXPECT_NE(said.find("release enclave: enclave_crashed"), std::string::npos) << said;
  EXPECT_NE(said.find("a production (Debug=0) enclave never runs without secret memory: RLIMIT_MEMLOCK (8192 KiB)"),
            std::string::npos) << said;
}

TEST(SoftBackend, NamedSocketWithoutADaemonIsAClearError) {
  setenv("CONFIDE_PLATFORM_SOCKET", "/nonexistent/confide.sock", 1);
  auto e = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
  unsetenv("CONFIDE_PLATFORM_SOCKET");
  EXPECT_EQ(e.status().code(), Code::kUnavailable);
  EXPECT_NE(e.status().message().find("confide platform start"), std::string::npos);
}

// Kills the process behind a pidfd when it goes, so that a test that fails early leaves no
// stopped or waiting process behind.
struct KillOnExit {
  int pidfd = -1;
  explicit KillOnExit(pid_t pid) : pidfd(pid > 0 ? static_cast<int>(syscall(SYS_pidfd_open, pid, 0)) : -1) {}
  KillOnExit(const KillOnExit&) = delete;
  KillOnExit& operator=(const KillOnExit&) = delete;
  ~KillOnExit() {
    if (pidfd < 0) return;
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
    close(pidfd);
  }
};

// A host in a process of its own: it creates a soft enclave on the test's daemon, says the
// enclave process's pid (-1 if creation failed) and waits to be killed.
struct ForkedHost {
  ForkedHost() {
    int ready[2];
    if (pipe(ready) != 0) return;
    host = fork();
    if (host == 0) {
      auto e = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
      int pid = e.ok() ? (*e)->process_id() : -1;
      (void)!write(ready[1], &pid, sizeof pid);
      pause();
      _exit(0);
    }
    close(ready[1]);
    if (host < 0 || read(ready[0], &enclave, sizeof enclave) != sizeof enclave) enclave = -1;
    close(ready[0]);
    enclave_guard = std::make_unique<KillOnExit>(enclave);
  }
  ~ForkedHost() { KillHost(); }
  void KillHost() {
    if (host <= 0) return;
    kill(host, SIGKILL);
    waitpid(host, nullptr, 0);
    host = -1;
  }
  pid_t host = -1;
  int enclave = -1;
  std::unique_ptr<KillOnExit> enclave_guard;
};

// Sends SIGSTOP and waits (up to 1 s) until the process is stopped.
bool Stop(pid_t pid) {
  if (kill(pid, SIGSTOP) != 0) return false;
  for (int i = 0; i < 100; ++i) {
    if (StatField(pid, 3) == "T") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// The daemon's count of live enclave processes, once it is 0 or `ms` have passed.
int EnclavesWithin(Daemon& d, int ms) {
  int enclaves = d.Status()["enclaves"].get<int>();
  for (int waited = 0; enclaves != 0 && waited < ms; waited += 20) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    enclaves = d.Status()["enclaves"].get<int>();
  }
  return enclaves;
}

TEST(SoftBackend, WhenTheHostDiesItsEnclaveProcessEnds) {
  Daemon d;
  ForkedHost f;
  ASSERT_GT(f.enclave, 0);
  EXPECT_EQ(d.Status()["enclaves"], 1);
  f.KillHost();
  EXPECT_EQ(EnclavesWithin(d, 2000), 0) << "the enclave process outlived its host";
  EXPECT_EQ(d.Status()["orphans_killed"], 0) << "the daemon had to end it";
}

// A stopped process runs nothing, so it cannot notice its lifeline close: the daemon, told
// through the host watch, kills it after a grace of 2 s.
TEST(SoftBackend, WhenTheHostDiesItsStoppedEnclaveProcessEndsToo) {
  Daemon d;
  ForkedHost f;
  ASSERT_GT(f.enclave, 0);
  ASSERT_TRUE(Stop(f.enclave));
  f.KillHost();
  const auto died = std::chrono::steady_clock::now();
  EXPECT_EQ(EnclavesWithin(d, 10000), 0) << "the stopped enclave process outlived its host";
  EXPECT_EQ(d.Status()["orphans_killed"], 1);
  EXPECT_GE(std::chrono::steady_clock::now() - died, std::chrono::milliseconds(1900)) << "killed before its grace";
}

// The same when a living host lets go of an enclave whose process is stopped: destroying the
// Enclave does not wait for it, and the daemon ends it after the grace.
TEST(SoftBackend, DestroyingAnEnclaveWhoseProcessIsStoppedEndsIt) {
  Daemon d;
  auto e = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  KillOnExit process((*e)->process_id());
  ASSERT_GE(process.pidfd, 0);
  ASSERT_TRUE(Stop((*e)->process_id()));
  const auto start = std::chrono::steady_clock::now();
  e->reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1)) << "destroying it waited";
  pollfd p{process.pidfd, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 10000), 1) << "the stopped enclave process outlived its Enclave";
  EXPECT_EQ(d.Status()["orphans_killed"], 1);
}

// One request on a connection of its own, waiting at most 5 s for the reply: a daemon that
// hangs fails the test instead of hanging it.
Result<nlohmann::json> AskWithin5s(const std::string& socket, const nlohmann::json& request,
                                   const std::vector<int>& fds = {}) {
  CONFIDE_ASSIGN_OR_RETURN(int s, platform::ConnectTo(socket));
  Status sent = platform::SendMessage(s, request, fds);
  pollfd p{s, POLLIN, 0};
  if (!sent.ok() || poll(&p, 1, 5000) != 1) {
    close(s);
    return Status(Code::kTimeout, "the daemon did not answer within 5 s");
  }
  auto reply = platform::ReceiveMessage(s);
  close(s);
  if (!reply.ok()) return reply.status();
  return reply->body;
}

// What the daemon verifies is what runs: it takes only a memfd sealed against writes,
// shrinking and growing, verifies it where it lies and runs that very memfd. Anything whose
// bytes could still change (an unsealed memfd, one sealed against resizing only) or whose
// read could block (a file on disk, maybe on FUSE) is refused before anything is read; so is
// a lifeline that is not a Unix socket.
TEST(PlatformDaemon, LaunchRunsOnlyAnImmutableMemfdAndRunsItAsItIs) {
  Daemon d;
  auto image = ReadFile(RAW_ENCLAVE);
  ASSERT_TRUE(image.ok());
  const uint32_t slots = 2;  // the raw enclave's NumTCS
  const size_t size = soft::ChannelSize(slots, 4096);
  // Launches with a fresh channel; once launched, waits until the enclave says it is ready.
  int watch[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, watch), 0);
  auto launch = [&](int img, int lifeline, int host_watch) {
    auto chan = CreateFixedSizeMemfd(size, "test-channel");
    EXPECT_TRUE(chan.ok());
    void* map = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, *chan, 0);
    EXPECT_NE(map, MAP_FAILED);
    soft::Channel channel(map, size);
    EXPECT_TRUE(channel.Initialise(slots, 4096).ok());
    auto reply = AskWithin5s(d.socket(), {{"op", "launch"}}, {img, *chan, lifeline, host_watch});
    auto& state = channel.header().enclave_state;
    for (int i = 0; reply.ok() && reply->value("ok", false) && i < 500 &&
                    state.load() != static_cast<uint32_t>(soft::EnclaveState::kReady);
         ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    close(*chan);
    munmap(map, size);
    return reply;
  };
  auto refused = [&](int img, int lifeline, const std::string& why, int host_watch = -1) {
    auto r = launch(img, lifeline, host_watch < 0 ? watch[1] : host_watch);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ((*r)["code"], "invalid_argument") << *r;
    EXPECT_NE((*r)["error"].get<std::string>().find(why), std::string::npos) << *r;
  };
  int life[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, life), 0);
  const std::string not_immutable = "must be handed over as a memfd sealed against writes, shrinking and growing";

  int unsealed = memfd_create("caller-unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  ASSERT_EQ(write(unsealed, image->data(), image->size()), static_cast<ssize_t>(image->size()));
  refused(unsealed, life[1], not_immutable);
  ASSERT_EQ(fcntl(unsealed, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);  // still writable
  refused(unsealed, life[1], not_immutable);
  close(unsealed);
  int on_disk = open(RAW_ENCLAVE, O_RDONLY | O_CLOEXEC);
  ASSERT_GE(on_disk, 0);
  refused(on_disk, life[1], not_immutable);
  close(on_disk);
  auto sealed = CreateSealedMemfd(*image, "caller-sealed");
  ASSERT_TRUE(sealed.ok());
  int pipe_ends[2];
  ASSERT_EQ(pipe2(pipe_ends, O_CLOEXEC), 0);
  refused(*sealed, pipe_ends[1], "the lifeline descriptor must be a Unix socket");
  const std::string not_a_watch = "the host watch descriptor must be a stream or seqpacket Unix socket";
  refused(*sealed, life[1], not_a_watch, pipe_ends[1]);
  int datagrams[2];  // whose peer's close never shows as a hang-up
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, datagrams), 0);
  refused(*sealed, life[1], not_a_watch, datagrams[1]);
  close(datagrams[0]);
  close(datagrams[1]);
  close(pipe_ends[0]);
  close(pipe_ends[1]);
  EXPECT_EQ(d.Status()["enclaves"], 0);

  auto r = launch(*sealed, life[1], watch[1]);
  close(life[1]);
  close(watch[1]);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ((*r)["ok"], true) << *r;
  int pid = r->value("pid", 0);
  ASSERT_GT(pid, 0);
  std::string fd3 = "/proc/" + std::to_string(pid) + "/fd/3";
  char target[256] = {};
  ASSERT_GT(readlink(fd3.c_str(), target, sizeof target - 1), 0) << "run the soft tests as root";
  EXPECT_NE(std::string(target).find("memfd:caller-sealed"), std::string::npos) << target;
  close(life[0]);  // the enclave process ends
  close(watch[0]);
  close(*sealed);
}

// `elf` signed with a key made for the purpose, as `confide sign` does it; `config` lists
// everything but ProductID and SecurityVersion (both 1). Files go to `dir`.
Result<Bytes> SignWithNewKey(const fs::path& dir, const Bytes& elf, const std::string& config) {
  CONFIDE_RETURN_IF_ERROR(WriteFile((dir / "new.so").string(), elf));
  std::ofstream(dir / "new.conf") << config << "ProductID=1\nSecurityVersion=1\n";
  const std::string cli = CONFIDE_CLI_PATH;
  int rc;
  std::string out = RunCommand(cli + " keygen --force --out " + (dir / "new.pem").string(), &rc);
  if (rc != 0) return Internal("keygen failed: " + out);
  out = RunCommand(cli + " sign --enclave " + (dir / "new.so").string() + " --config " + (dir / "new.conf").string() +
                       " --key " + (dir / "new.pem").string() + " --out " + (dir / "new.signed.so").string(),
                   &rc);
  if (rc != 0) return Internal("sign failed: " + out);
  return ReadFile((dir / "new.signed.so").string());
}

// A channel whose size is not sealed could be cut under the enclave (SIGBUS on its next
// access); the daemon refuses it before anything starts.
TEST(PlatformDaemon, LaunchRefusesAChannelWhoseSizeIsNotSealed) {
  Daemon d;
  auto image = ReadFile(RAW_ENCLAVE);
  ASSERT_TRUE(image.ok());
  auto img = CreateSealedMemfd(*image, "caller-sealed");
  ASSERT_TRUE(img.ok());
  int chan = memfd_create("test-channel", MFD_CLOEXEC);
  ASSERT_EQ(ftruncate(chan, static_cast<off_t>(soft::ChannelSize(2, 4096))), 0);
  int life[2], watch[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, life), 0);
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, watch), 0);
  auto reply = platform::Request(d.socket(), {{"op", "launch"}}, {*img, chan, life[1], watch[1]});
  EXPECT_EQ(reply.status().code(), Code::kInvalidArgument) << reply.status().ToString();
  EXPECT_NE(reply.status().message().find("not sealed against shrinking and growing"), std::string::npos)
      << reply.status().ToString();
  EXPECT_EQ(d.Status()["enclaves"], 0);
  for (int fd : {*img, chan, life[0], life[1], watch[0], watch[1]}) close(fd);
}


// The daemon is shared by every user of the machine: no request may stop it.
TEST(PlatformDaemon, RequestsOfTheWrongShapeAreRefusedAndTheDaemonGoesOn) {
  Daemon d;
  auto r = AskWithin5s(d.socket(), {{"op", 5}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["ok"], false);
  EXPECT_EQ((*r)["code"], "invalid_argument");
  EXPECT_NE((*r)["error"].get<std::string>().find("needs a string 'op'"), std::string::npos) << *r;

  auto image = ReadFile(RAW_ENCLAVE);
  ASSERT_TRUE(image.ok());
  auto img = CreateSealedMemfd(*image, "caller-sealed");
  ASSERT_TRUE(img.ok());
  auto chan = CreateFixedSizeMemfd(soft::ChannelSize(2, 4096), "test-channel");
  ASSERT_TRUE(chan.ok());
  int life[2], watch[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, life), 0);
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, watch), 0);
  r = AskWithin5s(d.socket(), {{"op", "launch"}}, {*img, *chan, life[1]});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["code"], "invalid_argument");
  EXPECT_NE((*r)["error"].get<std::string>().find("launch needs 4 descriptors: image, channel, lifeline, host watch; got 3"),
            std::string::npos) << *r;
  r = AskWithin5s(d.socket(), {{"op", "launch"}, {"refuse_debug", "no"}}, {*img, *chan, life[1], watch[1]});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["code"], "invalid_argument");
  EXPECT_NE((*r)["error"].get<std::string>().find("'refuse_debug' must be true or false"), std::string::npos) << *r;
  for (int fd : {*img, *chan, life[0], life[1], watch[0], watch[1]}) close(fd);

  r = AskWithin5s(d.socket(), {{"op", "status"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["enclaves"], 0);
}

// An image whose last loadable segment has `extra` more bytes of .bss: cheap to send, but
// every page of it is measured (like SGX's EADD + EEXTEND of zero pages).
Bytes WithLargerBss(Bytes elf, uint64_t extra) {
  auto u16 = [&](size_t at) { uint16_t v; std::memcpy(&v, elf.data() + at, 2); return v; };
  uint64_t phoff;
  std::memcpy(&phoff, elf.data() + 0x20, 8);
  size_t last = 0;
  for (size_t i = 0; i < u16(0x38); ++i) {
    size_t ph = phoff + i * u16(0x36);
    uint32_t type;
    std::memcpy(&type, elf.data() + ph, 4);
    if (type == 1) last = ph;  // PT_LOAD, in ascending address order
  }
  uint64_t memsz;
  std::memcpy(&memsz, elf.data() + last + 40, 8);
  memsz += extra;
  std::memcpy(elf.data() + last + 40, &memsz, 8);
  return elf;
}

// What a launch request carries (image, channel, lifeline, host watch) for an image slow to verify: the
// raw enclave with 768 MiB more .bss, signed Debug=1 with a new key, in a sealed memfd. It
// takes ~0.5 s to measure here and is refused afterwards by a daemon run with --refuse-debug.
// Closes its descriptors when it goes.
struct SlowLaunch {
  int image = -1, channel = -1, life[2] = {-1, -1}, watch[2] = {-1, -1};
  ~SlowLaunch() {
    for (int fd : {image, channel, life[0], life[1], watch[0], watch[1]})
      if (fd >= 0) close(fd);
  }
  std::vector<int> fds() const { return {image, channel, life[1], watch[1]}; }
};

Status MakeSlowLaunch(const fs::path& dir, SlowLaunch* l) {
  std::string unsigned_elf = RAW_ENCLAVE;
  unsigned_elf.replace(unsigned_elf.rfind(".signed.so"), std::string::npos, ".so");
  CONFIDE_ASSIGN_OR_RETURN(Bytes elf, ReadFile(unsigned_elf));
  CONFIDE_ASSIGN_OR_RETURN(Bytes big, SignWithNewKey(dir, WithLargerBss(elf, uint64_t{768} << 20),
                                                     "Debug=1\nNumHeapPages=16\nNumStackPages=16\nNumTCS=2\n"));
  CONFIDE_ASSIGN_OR_RETURN(l->image, CreateSealedMemfd(big, "big-image"));
  CONFIDE_ASSIGN_OR_RETURN(l->channel, CreateFixedSizeMemfd(soft::ChannelSize(2, 4096), "test-channel"));
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, l->life) != 0 ||
      socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, l->watch) != 0)
    return IoError("socketpair failed");
  return Status::Ok();
}

// Verifying a launch image takes as long as measuring it: ~0.5 s for 768 MiB of .bss here,
// up to a few seconds at the 1 GiB limit. Any user can ask for that, over and over; the
// daemon does it on worker threads, so status requests (and the key and quote requests of
// running enclaves) are answered meanwhile. On the main loop, the status reply would come
// only after the launch's.
TEST(PlatformDaemon, ALaunchBeingVerifiedDelaysNoOtherRequest) {
  Daemon d("--refuse-debug");  // the debug image is refused only after it is measured
  SlowLaunch slow;
  Status made = MakeSlowLaunch(d.dir(), &slow);
  ASSERT_TRUE(made.ok()) << made.ToString();

  auto launcher = platform::ConnectTo(d.socket());
  ASSERT_TRUE(launcher.ok());
  const auto sent = std::chrono::steady_clock::now();
  ASSERT_TRUE(platform::SendMessage(*launcher, {{"op", "launch"}}, slow.fds()).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto status = AskWithin5s(d.socket(), {{"op", "status"}});
  const auto answered = std::chrono::steady_clock::now();
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ((*status)["ok"], true);
  pollfd p{*launcher, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 0) << "the launch was answered before the status request";

  ASSERT_EQ(poll(&p, 1, 30000), 1);
  const auto launched = std::chrono::steady_clock::now();
  auto reply = platform::ReceiveMessage(*launcher);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->body["code"], "policy_violation") << reply->body;
  auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  std::cout << "[ status answered after " << ms(answered - sent) << " ms; the launch after " << ms(launched - sent)
            << " ms ]\n";
  close(*launcher);
}

// A user can keep at most 4 launches waiting for the verifiers (32 for all users together):
// the fifth is answered at once, and the daemon holds no more of that user's work.
TEST(PlatformDaemon, AUserCannotQueueLaunchesWithoutEnd) {
  Daemon d("--refuse-debug");
  SlowLaunch slow;
  Status made = MakeSlowLaunch(d.dir(), &slow);
  ASSERT_TRUE(made.ok()) << made.ToString();
  std::vector<int> launchers;
  for (int i = 0; i < 4; ++i) {  // ~0.5 s each to measure, two at a time
    auto c = platform::ConnectTo(d.socket());
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(platform::SendMessage(*c, {{"op", "launch"}}, slow.fds()).ok());
    launchers.push_back(*c);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto fifth = AskWithin5s(d.socket(), {{"op", "launch"}}, slow.fds());
  ASSERT_TRUE(fifth.ok()) << fifth.status().ToString();
  EXPECT_EQ((*fifth)["code"], "unavailable") << *fifth;
  EXPECT_NE((*fifth)["error"].get<std::string>().find("too many launches in progress (at most 4 per user"),
            std::string::npos)
      << *fifth;
  for (int c : launchers) {  // the four are measured and answered in turn
    pollfd p{c, POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 30000), 1);
    auto reply = platform::ReceiveMessage(c);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->body["code"], "policy_violation") << reply->body;
    close(c);
  }
  auto again = platform::Request(d.socket(), {{"op", "launch"}}, slow.fds(), 30);
  EXPECT_EQ(again.status().code(), Code::kPolicyViolation) << again.status().ToString();  // taken again
}

// Gets the daemon's closer for this test's user stuck: a child sends the daemon a TCP socket
// set to linger for ever on unsent data, and lets go of it, so that the daemon's close is the
// last one and blocks until the peer resets the connection, which ~StuckCloser does. When the
// daemon happens to close its copy before the child does, the child's close is the one that
// blocks instead; it then never says it let go, and the setup is tried again.
class StuckCloser {
 public:
  explicit StuckCloser(const std::string& socket) {
    // Under load (the sanitizer run starts many tests at once) the child is often preempted
    // between its send and its close, and the daemon closes first: many short tries.
    for (int attempt = 0; attempt < 40 && !stuck_; ++attempt) {
      if (attempt != 0) Release();
      stuck_ = Try(socket);
    }
    EXPECT_TRUE(stuck_) << "could not get the daemon's closer stuck";
  }
  ~StuckCloser() { Release(); }

 private:
  bool Try(const std::string& socket) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int small = 4096;
    setsockopt(listener_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);  // taken over by `peer_`
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(listener_, 1), 0);
    EXPECT_EQ(getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    int said[2];
    EXPECT_EQ(pipe2(said, O_CLOEXEC), 0);
    child_ = fork();
    EXPECT_GE(child_, 0);
    if (child_ == 0) {
      // The parent may have given this attempt up before the child reports: writes to `said`
      // may fail then, which is no failure of the setup.
      signal(SIGPIPE, SIG_IGN);
      int lingering = ::socket(AF_INET, SOCK_STREAM, 0);
      setsockopt(lingering, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
      if (connect(lingering, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) _exit(2);
      std::vector<char> chunk(65536, 'x');
      while (send(lingering, chunk.data(), chunk.size(), MSG_DONTWAIT) > 0) {
      }
      linger forever{1, INT_MAX};
      setsockopt(lingering, SOL_SOCKET, SO_LINGER, &forever, sizeof forever);
      auto sender = platform::ConnectTo(socket);
      if (!sender.ok() || !platform::SendMessage(*sender, {{"op", "status"}}, {lingering}).ok()) _exit(3);
      close(lingering);  // at once, before the daemon's closer gets to it; blocks if it is the last
      if (write(said[1], "c", 1) != 1) _exit(0);
      pollfd p{*sender, POLLIN, 0};
      // The reply: the daemon has handed the socket to its closer.
      if (poll(&p, 1, 5000) != 1) _exit(5);
      if (write(said[1], "r", 1) != 1) _exit(0);
      _exit(0);
    }
    close(said[1]);
    peer_ = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    EXPECT_GE(peer_, 0);
    auto next = [&](int timeout_ms) {
      char c = 0;
      pollfd p{said[0], POLLIN, 0};
      return poll(&p, 1, timeout_ms) == 1 && read(said[0], &c, 1) == 1 ? c : '\0';
    };
    const bool child_let_go = next(250) == 'c';  // else its close is the last, and waits
    const bool answered = child_let_go && next(10000) == 'r';
    close(said[0]);
    EXPECT_TRUE(!child_let_go || answered) << "the daemon did not answer";
    return answered;
  }
  void Release() {
    close(peer_);  // unread data: a reset, which ends the linger wherever it is
    close(listener_);
    int status = 0;
    EXPECT_EQ(waitpid(child_, &status, 0), child_);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }

  int listener_ = -1, peer_ = -1;
  pid_t child_ = -1;
  bool stuck_ = false;
};

// Closing a descriptor someone sent can block for as long as they like: the last close of a
// TCP socket set to linger waits until its unsent data is taken, and here the peer takes
// none. The daemon closes what others send on a thread of its own, so its main loop serves
// on. (Closed on the main loop, this stalled every user's requests and every enclave's key
// requests until the peer went away; SIGTERM did not help.)
TEST(PlatformDaemon, ADescriptorWhoseCloseBlocksDoesNotStallTheDaemon) {
  Daemon d;
  StuckCloser stuck(d.socket());
  auto r = AskWithin5s(d.socket(), {{"op", "status"}});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  r = AskWithin5s(d.socket(), {{"op", "status"}});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
}

// Where each descriptor of `pid` leads (readlink of /proc/PID/fd/N), by number.
std::map<int, std::string> DescriptorTargets(pid_t pid) {
  std::map<int, std::string> out;
  const fs::path dir = "/proc/" + std::to_string(pid) + "/fd";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::error_code link_ec;
    out[std::stoi(e.path().filename().string())] = fs::read_symlink(e.path(), link_ec).string();
  }
  return out;
}

// Enclave processes are started by the daemon's launcher, which never holds what clients
// send: closing a descriptor whose close blocks on every close (a FUSE file whose server
// does not answer the flush) would otherwise stall each new enclave before its exec. Here
// the daemon's closer for this user is stuck and holds pipes a client sent; the launcher
// holds only its socket, /dev/null and the runtime program, and launches go on.
TEST(PlatformDaemon, EnclavesAreStartedByALauncherThatHoldsNoClientDescriptors) {
  Daemon d;
  const pid_t launcher = d.Status()["launcher_pid"].get<pid_t>();
  ASSERT_GT(launcher, 0);
  StuckCloser stuck(d.socket());
  int pipes[8][2];
  std::vector<int> sent;
  for (auto& p : pipes) {
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    sent.push_back(p[0]);
  }
  auto r = AskWithin5s(d.socket(), {{"op", "status"}}, sent);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (auto& p : pipes) close(p[0]);
  // The daemon still holds the pipes: they wait behind the stuck socket on its closer.
  auto daemon_pipes = [&] {
    int n = 0;
    for (const auto& [fd, target] : DescriptorTargets(d.Status()["pid"].get<pid_t>())) n += target.rfind("pipe:", 0) == 0;
    return n;
  };
  EXPECT_GE(daemon_pipes(), 8);

  auto e = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_NE((*e)->process_id(), launcher);
  // The enclave gets the launcher's /dev/null as standard input, output and error: never the
  // daemon's terminal or log.
  std::map<int, std::string> enclave_fds = DescriptorTargets((*e)->process_id());
  for (int fd = 0; fd <= 2; ++fd) EXPECT_EQ(enclave_fds[fd], "/dev/null") << "descriptor " << fd << " of the enclave";
  std::map<int, std::string> held = DescriptorTargets(launcher);
  ASSERT_FALSE(held.empty()) << "cannot read /proc/" << launcher << "/fd";
  for (const auto& [fd, target] : held) {
    const bool expected = (fd <= 2 && target == "/dev/null") || (fd == 3 && target.rfind("socket:", 0) == 0) ||
                          target.find("memfd:confide-enclave-runtime") != std::string::npos;
    EXPECT_TRUE(expected) << "the launcher holds descriptor " << fd << " -> " << target;
  }
  EXPECT_LE(held.size(), 5u);
  for (auto& p : pipes) close(p[1]);
}

// The daemon serves an enclave's platform connection only while that enclave's process
// lives: a copy of the enclave's end that outlives it (its code could hand it on; here root
// takes one with pidfd_getfd) finds the daemon's end closed, and no answer. It used to be
// served on, with the dead enclave's identity, keys and quotes.
TEST(PlatformDaemon, AnEnclavesPlatformLinkEndsWithItsProcessWhoeverHoldsACopy) {
  Daemon d;
  int copy = -1;
  {
    auto e = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, (*e)->process_id(), 0));
    ASSERT_GE(pidfd, 0) << strerror(errno);
    copy = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, 6, 0));  // its platform connection
    close(pidfd);
    ASSERT_GE(copy, 0) << strerror(errno);
  }
  for (int i = 0; i < 1000 && d.Status()["enclaves"] != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(d.Status()["enclaves"], 0);
  (void)send(copy, "x", 1, MSG_NOSIGNAL);  // a request, if anyone still listened
  pollfd p{copy, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  char buf[1024];
  EXPECT_EQ(recv(copy, buf, sizeof buf, MSG_DONTWAIT), 0) << "the daemon answered for an enclave that has ended";
  close(copy);
}

// A launcher that ended (killed) is replaced by the next launch, which goes through.
TEST(PlatformDaemon, AKilledLauncherIsReplacedByTheNextLaunch) {
  Daemon d;
  const pid_t first = d.Status()["launcher_pid"].get<pid_t>();
  ASSERT_GT(first, 0);
  ASSERT_EQ(kill(first, SIGKILL), 0);
  for (int i = 0; i < 500 && kill(first, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto e = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  const pid_t second = d.Status()["launcher_pid"].get<pid_t>();
  EXPECT_GT(second, 0);
  EXPECT_NE(second, first);
  EXPECT_TRUE(Echo(**e, "after a new launcher").ok());
}

// A client that sends requests and never reads the replies fills its socket; the daemon
// drops it instead of blocking on it, and keeps serving others.
TEST(PlatformDaemon, AClientThatNeverReadsIsDroppedAndOthersAreServed) {
  Daemon d;
  auto flooder = platform::ConnectTo(d.socket());
  ASSERT_TRUE(flooder.ok());
  const std::string request = nlohmann::json{{"op", "status"}}.dump();
  int sent = 0;
  for (; sent < 20000; ++sent) {
    pollfd p{*flooder, POLLOUT, 0};
    if (poll(&p, 1, 200) != 1 || (p.revents & (POLLHUP | POLLERR)) != 0) break;
    if (send(*flooder, request.data(), request.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) break;
  }
  EXPECT_GT(sent, 100);  // enough replies to fill the flooder's receive queue
  auto r = AskWithin5s(d.socket(), {{"op", "status"}});
  if (!r.ok()) close(*flooder);  // unblocks a stuck daemon, so that it can be stopped
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["ok"], true);
  // The flooder was dropped: its connection is at an end once the queued replies are read.
  bool ended = false;
  char buf[platform::kMaxMessageBytes];
  for (int i = 0; i < 100000 && !ended; ++i) {
    pollfd p{*flooder, POLLIN, 0};
    if (poll(&p, 1, 1000) != 1) break;
    ssize_t n = recv(*flooder, buf, sizeof buf, 0);
    ended = n <= 0;
  }
  EXPECT_TRUE(ended);
  close(*flooder);
}

// A command line prefix that runs what follows as `uid` (needs root, as the isolation tests do).
std::string AsUser(int uid) {
  return "setpriv --reuid=" + std::to_string(uid) + " --regid=" + std::to_string(uid) + " --clear-groups ";
}

// A root daemon's socket is open to every user, who all launch through it; stopping it is for
// root and the daemon's own user alone.
TEST(PlatformDaemon, AnotherUserCannotStopASharedDaemon) {
  Daemon d;
  struct stat st {};
  ASSERT_EQ(stat(d.socket().c_str(), &st), 0);
  ASSERT_EQ(st.st_mode & 0777, 0666u) << std::oct << (st.st_mode & 0777);
  int rc;
  std::string out = RunCommand(AsUser(65534) + CONFIDE_CLI_PATH + " platform stop --socket " + d.socket(), &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("only root or the daemon's own user (uid 0) may stop the platform daemon; you are uid 65534"),
            std::string::npos) << out;
  auto r = AskWithin5s(d.socket(), {{"op", "status"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["ok"], true);
}

// Only root can run each enclave as its host's user; a daemon run by anyone else would run
// other users' enclave code as itself, next to its own state. It serves its own user alone,
// and what it launches is development-grade: that user can read its keys. A process of
// root's (a host, the CLI) does not take it for a platform daemon: whoever can bind a socket
// answers at its path.
TEST(PlatformDaemon, RunByAnotherUserItServesThatUserAloneAndRootDoesNotTrustIt) {
  fs::path dir = fs::temp_directory_path() / ("confide-user-daemon-" + std::to_string(getpid()));
  fs::create_directories(dir);
  ASSERT_EQ(chown(dir.c_str(), 65534, 65534), 0);
  const std::string sock = (dir / "p.sock").string(), cli = CONFIDE_CLI_PATH;
  int rc;
  std::string out = RunCommand(AsUser(65534) + cli + " platform start --socket " + sock + " --state " + (dir / "state").string(), &rc);
  ASSERT_EQ(rc, 0) << out;
  struct stat st {};
  ASSERT_EQ(stat(sock.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << std::oct << (st.st_mode & 0777);
  out = RunCommand(AsUser(65533) + cli + " platform status --socket " + sock, &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("Permission denied"), std::string::npos) << out;
  out = RunCommand(AsUser(65534) + cli + " platform status --socket " + sock, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("daemon:        development"), std::string::npos) << out;

  const std::string distrust = "runs as uid 65534, neither root nor you (uid 0)";
  out = RunCommand(cli + " platform status --socket " + sock, &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find(distrust), std::string::npos) << out;
  const fs::path root_state = fs::temp_directory_path() / ("confide-root-state-" + std::to_string(getpid()));
  out = RunCommand(cli + " platform start --socket " + sock + " --state " + root_state.string(), &rc);
  fs::remove_all(root_state);
  EXPECT_EQ(rc, 1) << out;  // not "already running": the directory is not root's to use
  EXPECT_NE(out.find(dir.string() + " belongs to uid 65534, not to you"), std::string::npos) << out;
  setenv("CONFIDE_PLATFORM_SOCKET", sock.c_str(), 1);
  auto e = Enclave::Create(RAW_ENCLAVE, kTables, Soft());
  unsetenv("CONFIDE_PLATFORM_SOCKET");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), Code::kPermissionDenied);
  EXPECT_NE(e.status().message().find(distrust), std::string::npos) << e.status().ToString();

  out = RunCommand(AsUser(65534) + cli + " platform stop --socket " + sock, &rc);
  EXPECT_EQ(rc, 0) << out;
  fs::remove_all(dir);
}

// The daemon keeps its socket and its keys only where nobody but root and its own user can
// change them: a directory another user owns or may write, or a symlink another user put in
// the way, would let that user swap the socket or read and plant keys. Such paths are refused
// before anything is created in them; and a file in the socket's place is left alone.
TEST(PlatformDaemon, RefusesSocketAndStateDirectoriesOthersCouldChange) {
  fs::path dir = fs::temp_directory_path() / ("confide-dirs-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string cli = CONFIDE_CLI_PATH;
  auto start = [&](const fs::path& sock, const fs::path& state, int* rc) {
    return RunCommand(cli + " platform start --socket " + sock.string() + " --state " + state.string(), rc);
  };
  int rc;
  fs::create_directories(dir / "theirs");
  ASSERT_EQ(chown((dir / "theirs").c_str(), 65534, 65534), 0);
  std::string out = start(dir / "theirs" / "p.sock", dir / "state", &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find((dir / "theirs").string() + " belongs to uid 65534, not to you"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir / "state")) << "nothing is created before the paths are checked";

  fs::create_directories(dir / "open");
  fs::permissions(dir / "open", fs::perms::all);
  out = start(dir / "open" / "p.sock", dir / "state", &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("(mode 0777) may be written by others than its owner"), std::string::npos) << out;

  fs::create_directories(dir / "elsewhere");
  fs::create_directory_symlink(dir / "elsewhere", dir / "link");
  ASSERT_EQ(lchown((dir / "link").c_str(), 65534, 65534), 0);
  out = start(dir / "p.sock", dir / "link" / "state", &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find((dir / "link").string() + " belongs to uid 65534, neither root nor you"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir / "elsewhere" / "state"));

  { std::ofstream(dir / "notes.txt") << "keep me"; }
  out = start(dir / "notes.txt", dir / "state", &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("exists and is not a socket; it was left alone"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(dir / "notes.txt"));
  fs::remove_all(dir);
}

// --ephemeral (what the host library gives its private daemon): the state, and with it the
// root key everything was sealed under, ends with the daemon.
TEST(PlatformCli, AnEphemeralDaemonTakesItsStateWithIt) {
  fs::path dir = fs::temp_directory_path() / ("confide-ephemeral-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string sock = (dir / "p.sock").string(), cli = CONFIDE_CLI_PATH;
  int rc;
  std::string out = RunCommand(cli + " platform start --ephemeral --socket " + sock + " --state " + (dir / "state").string(), &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(fs::exists(dir / "state" / "root.key"));
  out = RunCommand(cli + " platform stop --socket " + sock, &rc);
  EXPECT_EQ(rc, 0) << out;
  for (int i = 0; i < 1000 && fs::exists(dir / "state"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(fs::exists(dir / "state"));
  for (int i = 0; i < 1000 && fs::exists(dir); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(fs::exists(dir)) << "the socket's directory, empty now, stays";
  fs::create_directories(dir);

  // Never state another daemon may keep its root key in; and a start that fails removes
  // nothing but the directory it made.
  out = RunCommand(cli + " platform start --socket " + sock + " --state " + (dir / "kept").string(), &rc);
  ASSERT_EQ(rc, 0) << out;
  // Nor one reached through a directory this start would make and "..": the path is not
  // looked at but created, and creating an existing directory fails.
  for (const std::string& kept : {(dir / "kept").string(), (dir / "new" / ".." / "kept").string()}) {
    out = RunCommand(cli + " platform start --ephemeral --socket " + sock + " --state " + kept, &rc);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("--ephemeral needs a state directory that does not exist yet"), std::string::npos) << out;
    EXPECT_TRUE(fs::exists(dir / "kept" / "root.key")) << kept;
  }
  for (int attempt = 0; attempt < 2; ++attempt) {  // the directory a failed start made goes with it: again, same error
    out = RunCommand(cli + " platform start --ephemeral --socket " + sock + " --state " + (dir / "fresh").string(), &rc);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("already running"), std::string::npos) << out;
    EXPECT_FALSE(fs::exists(dir / "fresh"));
  }
  EXPECT_TRUE(fs::exists(dir / "kept" / "root.key"));
  RunCommand(cli + " platform stop --socket " + sock, &rc);
  EXPECT_TRUE(fs::exists(dir / "kept" / "root.key"));
  fs::remove_all(dir);
}

TEST(PlatformCli, StartStatusStopAndClearErrors) {
  fs::path dir = fs::temp_directory_path() / ("confide-cli-platform-" + std::to_string(getpid()));
  std::string sock = (dir / "p.sock").string();
  std::string cli = CONFIDE_CLI_PATH;
  int rc;
  std::string out = RunCommand(cli + " platform status --socket " + sock, &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("no platform daemon at"), std::string::npos) << out;
  out = RunCommand(cli + " platform start --development --socket " + sock + " --state " + (dir / "state").string(), &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(fs::status(dir / "state").permissions() & fs::perms::all, fs::perms::owner_all);
  out = RunCommand(cli + " platform start --socket " + sock + " --state " + (dir / "state").string(), &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("already running"), std::string::npos) << out;
  out = RunCommand(cli + " platform status --socket " + sock, &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("development"), std::string::npos) << out;
  out = RunCommand(cli + " platform stop --socket " + sock, &rc);
  EXPECT_EQ(rc, 0) << out;
  out = RunCommand(cli + " platform status --socket " + sock, &rc);
  EXPECT_EQ(rc, 1);
  out = RunCommand(cli + " platform bogus", &rc);
  EXPECT_EQ(rc, 2);
  fs::remove_all(dir);
}

}  // namespace
