// confide-enclave-runtime end to end: this test plays the host and the platform daemon
// (enclave_process.h), starts the real runtime with a signed test enclave and checks calls,
// the seccomp filter, secret memory and the tamper response from outside the process.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "soft_runtime/enclave_process.h"

using namespace confide;
using namespace confide::abi;
using namespace confide::soft;
using namespace confide::soft::testing;

namespace {

constexpr uint32_t kEcho = 0, kSecret = 1, kCallHost = 2, kOpenFile = 3, kHoldSecret = 4, kCheckSecret = 5,
                   kAllocProbe = 6, kExhaust = 7, kCrash = 8, kForkAtLoad = 9;
constexpr uint32_t kOcallReenter = 0;
constexpr uint32_t kHeapBytes = 256 * 4096;  // HEAP_PAGES of the test enclave

std::unique_ptr<EnclaveProcess> Start(const char* image = SOFT_TEST_ENCLAVE, LaunchOptions o = {}) {
  auto t0 = std::chrono::steady_clock::now();
  auto e = EnclaveProcess::Launch(image, o);
  EXPECT_NE(e, nullptr);
  if (e == nullptr) return nullptr;
  EnclaveState s = e->WaitStarted();
  // Information for docs/performance.md, not a timed assertion.
  std::cout << "[ fork+exec to kReady: "
            << std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count()
            << " us ]\n";
  EXPECT_EQ(s, EnclaveState::kReady) << "reason: " << e->reason() << "\nstderr: " << e->Stderr();
  return e;
}

Bytes MarkerFrame(const Bytes& marker) {
  FrameWriter w;
  w.Buffer(marker.data(), marker.size());
  return w.Finish();
}

Bytes RandomMarker() {
  std::random_device rd;
  Bytes m(64);
  for (auto& b : m) b = static_cast<uint8_t>(rd());
  return m;
}

template <typename T>
T ValueAt(const FrameView& v, size_t i) {
  T x{};
  EXPECT_TRUE(v.GetValue(i, "v", &x).ok());
  return x;
}

bool IsSecretMapping(const Mapping* m) { return m != nullptr && m->path.find("secretmem") != std::string::npos; }

std::vector<pid_t> Tasks(pid_t pid) {
  std::vector<pid_t> out;
  DIR* d = opendir(("/proc/" + std::to_string(pid) + "/task").c_str());
  while (dirent* e = d ? readdir(d) : nullptr)
    if (e->d_name[0] != '.') out.push_back(atoi(e->d_name));
  if (d) closedir(d);
  return out;
}

TEST(SoftRuntime, EchoRoundTrip) {
  auto e = Start();
  ASSERT_NE(e, nullptr);
  FrameWriter w;
  const char text[] = "hello from the host";
  w.Buffer(text, sizeof text);
  auto r = e->Call(0, kEcho, w.Finish());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto v = FrameView::Parse(*r, "echo reply");
  ASSERT_TRUE(v.ok());
  ByteSpan b;
  ASSERT_TRUE(v->GetBuffer(0, "text", sizeof text, false, &b).ok());
  EXPECT_EQ(std::memcmp(b.data(), text, sizeof text), 0);
  // Both slots serve calls.
  FrameWriter w2;
  w2.Buffer(text, sizeof text);
  EXPECT_TRUE(e->Call(1, kEcho, w2.Finish()).ok());
}

// Echoes `text` through `slot`; returns what came back, or the error.
std::string Echo(EnclaveProcess& e, uint32_t slot, const std::string& text) {
  FrameWriter w;
  w.Buffer(text.c_str(), text.size() + 1);
  auto r = e.Call(slot, kEcho, w.Finish());
  if (!r.ok()) return r.status().ToString();
  auto v = FrameView::Parse(*r, "echo reply");
  ByteSpan b;
  if (!v.ok() || !v->GetBuffer(0, "text", text.size() + 1, false, &b).ok()) return "a malformed reply";
  return std::string(reinterpret_cast<const char*>(b.data()));
}

// The host moves a slot's hot line between calls (kMove, HandOffTuner); the slot thread follows
// to every place, and calls with frames longer than the line go on working there.
TEST(SoftRuntime, CallsFollowTheirSlotToEveryHotLine) {
  auto e = Start();
  ASSERT_NE(e, nullptr);
  const std::string text(700, 'h');  // reaches past the next line's place
  for (uint32_t line : {1u, 7u, 3u, 0u, 5u}) {
    const uint32_t old = e->line(1);
    e->Move(1, line);
    EXPECT_EQ(Echo(*e, 1, text), text) << "line " << line;
    // Served on the new line: the old one still holds the move (the frame, written at the new
    // place, reaches only lines above it).
    if (old < line) {
      EXPECT_EQ(e->channel().control(1, old).state.load(), static_cast<uint32_t>(SlotState::kMove)) << line;
    }
  }
  // Slot 0 never moved and still serves.
  EXPECT_EQ(Echo(*e, 0, "slot 0"), "slot 0");
}

TEST(SoftRuntime, AMoveOutOfRangeIsRefusedAndTheSlotStays) {
  auto e = Start();
  ASSERT_NE(e, nullptr);
  e->Move(1, 2);
  e->Move(1, kHotLines);  // answered on line 2, which the slot keeps
  SlotControl& c = e->channel().control(1, 2);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (c.state.load() != static_cast<uint32_t>(SlotState::kEcallReply) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(c.state.load(), static_cast<uint32_t>(SlotState::kEcallReply));
  EXPECT_EQ(c.code, static_cast<int32_t>(Code::kInvalidArgument));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(e->channel().data(1, 2)), c.length),
            "the host moved a call channel slot to a hot line out of range");
  EXPECT_EQ(e->state(), EnclaveState::kReady);
  EXPECT_EQ(Echo(*e, 1, "still here"), "still here");
}

TEST(SoftRuntime, PrivateEcallRefusedAtTopLevel) {
  auto e = Start();
  ASSERT_NE(e, nullptr);
  FrameWriter w;
  auto r = e->Call(0, kSecret, w.Finish());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_NE(r.status().message().find("private"), std::string::npos) << r.status().message();
  // The enclave still serves calls afterwards.
  EXPECT_EQ(e->state(), EnclaveState::kReady);
}

TEST(SoftRuntime, OcallWithNestedPrivateEcall) {
  auto e = Start();
  ASSERT_NE(e, nullptr);
  int32_t nested = -1;
  int32_t seen_request = -1;
  OcallHandler handler = [&](uint32_t id, const Bytes& req, Bytes* reply) -> int32_t {
    if (id != kOcallReenter) return static_cast<int32_t>(Code::kNotFound);
    auto rv = FrameView::Parse(req, "ocall request");
    if (rv.ok()) seen_request = ValueAt<int32_t>(*rv, 0);
    // The private ecall is allowed while ocall 0 runs, on the same slot.
    auto r = e->Call(1, kSecret, FrameWriter().Finish());
    if (!r.ok()) return static_cast<int32_t>(r.status().code());
    auto v = FrameView::Parse(*r, "secret reply");
    nested = v.ok() ? ValueAt<int32_t>(*v, 0) : -2;
    FrameWriter out;
    out.Value<int32_t>(nested + 1);
    *reply = out.Finish();
    return 0;
  };
  FrameWriter w;
  w.Value<uint32_t>(kOcallReenter);
  auto r = e->Call(1, kCallHost, w.Finish(), handler);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto v = FrameView::Parse(*r, "reply");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(seen_request, 7);
  EXPECT_EQ(nested, 42);
  EXPECT_EQ(ValueAt<int32_t>(*v, 0), 43);
}

TEST(SoftRuntime, SeccompViolationCrashesWithReason) {
  auto e = Start();
  ASSERT_NE(e, nullptr);
  auto r = e->Call(0, kOpenFile, FrameWriter().Finish());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kEnclaveCrashed) << r.status().ToString();
  EXPECT_EQ(e->state(), EnclaveState::kCrashed);
  EXPECT_NE(e->reason().find("seccomp: the enclave made a forbidden system call openat (257)"), std::string::npos)
      << e->reason();
  int st = e->WaitExit(5000);
  ASSERT_NE(st, -1);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1) << st;
}

// The image's constructors run before the full filter (the image must be loaded first), but
// under the start-up filter: no process may leave the enclave with its capabilities.
TEST(SoftRuntime, EnclaveCodeCannotStartAProcessEvenBeforeTheFullFilter) {
  auto e = Start();
  ASSERT_NE(e, nullptr);
  auto r = e->Call(0, kForkAtLoad, FrameWriter().Finish());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto v = FrameView::Parse(*r, "reply");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(ValueAt<int32_t>(*v, 0), EPERM);
  EXPECT_EQ(e->state(), EnclaveState::kReady);
}

TEST(SoftRuntime, CrashIsReported) {
  auto e = Start();
  ASSERT_NE(e, nullptr);
  auto r = e->Call(0, kCrash, FrameWriter().Finish());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kEnclaveCrashed);
  EXPECT_NE(e->reason().find("the enclave crashed with SIGSEGV at address 0x0"), std::string::npos) << e->reason();
}

TEST(SoftRuntime, SecretIsNotReadableFromOutside) {
  auto e = Start();
  ASSERT_NE(e, nullptr);
  Bytes marker = RandomMarker();
  auto r = e->Call(0, kHoldSecret, MarkerFrame(marker));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto v = FrameView::Parse(*r, "hold reply");
  ASSERT_TRUE(v.ok());
  uintptr_t addrs[3] = {ValueAt<uint64_t>(*v, 0), ValueAt<uint64_t>(*v, 1), ValueAt<uint64_t>(*v, 2)};
  const char* names[3] = {"heap", ".bss", ".data"};

  auto maps = Maps(e->pid());
  int mem = open(("/proc/" + std::to_string(e->pid()) + "/mem").c_str(), O_RDONLY);
  ASSERT_GE(mem, 0) << strerror(errno);
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(names[i]);
    EXPECT_TRUE(IsSecretMapping(MappingOf(maps, addrs[i]))) << std::hex << addrs[i];
    uint8_t buf[64];
    errno = 0;
    EXPECT_EQ(pread(mem, buf, sizeof buf, static_cast<off_t>(addrs[i])), -1);
    EXPECT_EQ(errno, EIO);
    iovec local{buf, sizeof buf}, remote{reinterpret_cast<void*>(addrs[i]), sizeof buf};
    errno = 0;
    EXPECT_EQ(process_vm_readv(e->pid(), &local, 1, &remote, 1, 0), -1);
    EXPECT_EQ(errno, EFAULT);
  }

  // Every page of the enclave process that can be read at all: no copy of the marker.
  size_t readable = 0, refused = 0;
  std::vector<uint8_t> page(1 << 16);
  for (const auto& m : maps) {
    if (m.perms[0] != 'r' || m.path == "[vvar]" || m.path == "[vsyscall]") continue;
    for (uintptr_t a = m.start; a < m.end; a += page.size()) {
      size_t n = std::min<size_t>(page.size(), m.end - a);
      ssize_t got = pread(mem, page.data(), n, static_cast<off_t>(a));
      if (got <= 0) {
        ++refused;
        continue;
      }
      readable += static_cast<size_t>(got);
      auto it = std::search(page.begin(), page.begin() + got, marker.begin(), marker.end());
      EXPECT_EQ(it, page.begin() + got) << "marker found at " << std::hex << (a + (it - page.begin())) << " in "
                                        << m.path;
    }
  }
  close(mem);
  EXPECT_GT(readable, 0u);  // the scan did read the process's ordinary memory
  EXPECT_GT(refused, 0u);   // and was refused on the secret ranges
  // Nor in the shared channel: the trusted runtime wiped the request after copying it in.
  auto in_channel = std::search(e->map(), e->map() + e->map_size(), marker.begin(), marker.end());
  EXPECT_EQ(in_channel, e->map() + e->map_size());

  // The enclave still has it.
  auto c = e->Call(0, kCheckSecret, MarkerFrame(marker));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto cv = FrameView::Parse(*c, "check reply");
  ASSERT_TRUE(cv.ok());
  EXPECT_EQ(ValueAt<int32_t>(*cv, 0), 1);
}

TEST(SoftRuntime, AllocationsStacksAndTlsAreSecret) {
  auto e = Start();
  ASSERT_NE(e, nullptr);
  FrameWriter w;
  w.Value<uint64_t>(10000);
  w.Value<uint64_t>(4096);
  auto r = e->Call(0, kAllocProbe, w.Finish());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto v = FrameView::Parse(*r, "probe");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(ValueAt<int32_t>(*v, 0), 0);
  uintptr_t p = ValueAt<uint64_t>(*v, 1);
  EXPECT_EQ(p % 4096, 0u);
  EXPECT_GE(ValueAt<uint64_t>(*v, 2), 10000u);
  auto maps = Maps(e->pid());
  EXPECT_TRUE(IsSecretMapping(MappingOf(maps, p))) << "heap";
  EXPECT_TRUE(IsSecretMapping(MappingOf(maps, ValueAt<uint64_t>(*v, 3)))) << "slot thread stack";
  EXPECT_TRUE(IsSecretMapping(MappingOf(maps, ValueAt<uint64_t>(*v, 4)))) << "thread_local";
  // Secret memory is never executable.
  for (const auto& m : maps)
    if (m.path.find("secretmem") != std::string::npos) {
      EXPECT_EQ(m.perms[2], '-') << std::hex << m.start;
    }
}

TEST(SoftRuntime, HeapExhaustionReturnsNullNotMoreMemory) {
  auto e = Start();
  ASSERT_NE(e, nullptr);
  uint64_t counts[2] = {};
  for (int round = 0; round < 2; ++round) {
    auto r = e->Call(0, kExhaust, FrameWriter().Finish());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    auto v = FrameView::Parse(*r, "exhaust");
    ASSERT_TRUE(v.ok());
    counts[round] = ValueAt<uint64_t>(*v, 0);
    EXPECT_EQ(ValueAt<int32_t>(*v, 1), ENOMEM);
  }
  // At most heap / 64 KiB blocks fit, and everything freed is reusable.
  EXPECT_GT(counts[0], 0u);
  EXPECT_LE(counts[0], kHeapBytes / (64 * 1024));
  EXPECT_EQ(counts[0], counts[1]);
  EXPECT_EQ(e->state(), EnclaveState::kReady);
}

TEST(SoftRuntime, TracerAttachMakesEnclaveLost) {
  auto e = Start();
  ASSERT_NE(e, nullptr);
  Bytes marker = RandomMarker();
  ASSERT_TRUE(e->Call(0, kHoldSecret, MarkerFrame(marker)).ok());
  pid_t pid = e->pid();
  // Root attaches to the main thread and lets it run (a stopped process reacts to nothing).
  ASSERT_EQ(ptrace(PTRACE_ATTACH, pid, nullptr, nullptr), 0) << strerror(errno);
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, __WALL), pid);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(ptrace(PTRACE_CONT, pid, nullptr, nullptr), 0);
  bool lost = e->WaitState(EnclaveState::kLost, 2000);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(lost) << "state " << static_cast<int>(e->state()) << " reason " << e->reason();
  EXPECT_LE(ms, 100) << "the tamper response took " << ms << " ms";
  std::cout << "[ tamper response after PTRACE_ATTACH + CONT: " << ms << " ms ]\n";
  EXPECT_NE(e->reason().find("tamper response: a tracer (pid " + std::to_string(getpid()) + ") was attached"),
            std::string::npos)
      << e->reason();
  // Every later call fails with EnclaveLost.
  auto r = e->Call(0, kCheckSecret, MarkerFrame(marker));
  EXPECT_EQ(r.status().code(), Code::kEnclaveLost);
  // As the tracer we reap it ourselves: it exits with status 2.
  int exit_status = e->WaitExit(5000);
  ASSERT_NE(exit_status, -1);
  EXPECT_TRUE(WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 2) << exit_status;
}

TEST(SoftRuntime, SeizingASlotThreadMakesEnclaveLost) {
  auto e = Start();
  ASSERT_NE(e, nullptr);
  pid_t pid = e->pid();
  std::vector<pid_t> tasks = Tasks(pid);
  ASSERT_GE(tasks.size(), 3u);  // watchdog + 2 slots
  pid_t slot_thread = 0;
  for (pid_t t : tasks)
    if (t != pid) slot_thread = t;
  // PTRACE_SEIZE does not stop the thread: the watchdog sees the tracer.
  ASSERT_EQ(ptrace(PTRACE_SEIZE, slot_thread, nullptr, nullptr), 0) << strerror(errno);
  auto t0 = std::chrono::steady_clock::now();
  bool lost = e->WaitState(EnclaveState::kLost, 2000);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(lost) << e->reason();
  EXPECT_LE(ms, 100);
  std::cout << "[ tamper response after PTRACE_SEIZE of a slot thread: " << ms << " ms ]\n";
  EXPECT_NE(e->reason().find("was attached to enclave thread " + std::to_string(slot_thread)), std::string::npos)
      << e->reason();
  // As its tracer we must reap the thread before the process can be reaped.
  for (int st = 0;;) {
    ASSERT_EQ(waitpid(slot_thread, &st, __WALL), slot_thread);
    if (!WIFSTOPPED(st)) break;
    // Signal stops: the wipe zeroed the stack under the thread, which now faults until
    // exit_group takes it. Let it go on (without the signal).
    ptrace(PTRACE_CONT, slot_thread, nullptr, nullptr);
  }
  int exit_status = e->WaitExit(5000);
  ASSERT_NE(exit_status, -1);
  EXPECT_TRUE(WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 2) << exit_status;
}

// Root can write into a process's private code pages through /proc/PID/mem without
// attaching a tracer; the watchdog's code comparison with the sealed memfd catches it.
TEST(SoftRuntime, ModifiedCodeMakesEnclaveLost) {
  auto e = Start();
  ASSERT_NE(e, nullptr);
  uintptr_t code = 0;
  for (const auto& m : Maps(e->pid()))
    if (m.perms == "r-xp" && m.path.find("confide-test-image") != std::string::npos) code = m.start;
  ASSERT_NE(code, 0u) << "no executable mapping of the image memfd";
  int mem = open(("/proc/" + std::to_string(e->pid()) + "/mem").c_str(), O_RDWR);
  ASSERT_GE(mem, 0) << strerror(errno);
  uint8_t byte = 0;
  ASSERT_EQ(pread(mem, &byte, 1, static_cast<off_t>(code)), 1);
  byte ^= 0xff;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(pwrite(mem, &byte, 1, static_cast<off_t>(code)), 1) << strerror(errno);
  close(mem);
  bool lost = e->WaitState(EnclaveState::kLost, 2000);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(lost) << "state " << static_cast<int>(e->state()) << " reason " << e->reason();
  std::cout << "[ tamper response after a code write through /proc/PID/mem: " << ms << " ms ]\n";
  EXPECT_NE(e->reason().find("differs from the sealed image"), std::string::npos) << e->reason();
  auto r = e->Call(0, kEcho, FrameWriter().Finish());
  EXPECT_EQ(r.status().code(), Code::kEnclaveLost);
}

// The enclave ends within `ms` as it does when its host goes: memory wiped, kExited, exit
// status 0, and a reason that says `why`; `if_not` explains a process that did not end.
void ExpectEndedAsWhenTheHostGoes(EnclaveProcess& e, int ms, const std::string& why, const std::string& if_not) {
  int st = e.WaitExit(ms);
  ASSERT_NE(st, -1) << if_not << "; state " << static_cast<int>(e.state()) << ", reason: " << e.reason();
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  EXPECT_EQ(e.state(), EnclaveState::kExited);
  EXPECT_NE(e.reason().find(why), std::string::npos) << e.reason();
}

TEST(SoftRuntime, ClosingTheLifelineEndsTheEnclave) {
  auto e = Start();
  ASSERT_NE(e, nullptr);
  e->CloseLifeline();
  ExpectEndedAsWhenTheHostGoes(*e, 2000, "the host closed the lifeline",
                               "the enclave process did not end after the host closed the lifeline");
}

// A loopback TCP connection whose peer never reads, its send queue full and SO_LINGER set:
// the last close of `client` blocks in the kernel for the linger time (1000 s here), until
// the peer goes away (the destructor) or the closing thread gets a signal.
struct LingeringSocket {
  int listener = -1;
  int client = -1;
  LingeringSocket() {
    listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int small = 4096;
    setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    socklen_t len = sizeof a;
    if (bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len) != 0 || listen(listener, 1) != 0)
      return;
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    if (connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(c);
      return;
    }
    client = c;
    fcntl(client, F_SETFL, O_NONBLOCK);
    char junk[4096] = {};
    while (write(client, junk, sizeof junk) > 0) {
    }
    linger l{1, 1000};
    setsockopt(client, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  ~LingeringSocket() {
    if (client >= 0) close(client);
    if (listener >= 0) close(listener);
  }
};

// Sends one byte and, when `fd` >= 0, that descriptor (SCM_RIGHTS).
bool SendOnLifeline(int lifeline, int fd) {
  char byte = 'x';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  if (fd >= 0) {
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  return sendmsg(lifeline, &m, MSG_NOSIGNAL) == 1;
}

// The watchdog used to read() the lifeline: that took the message and dropped the descriptor
// it carried, and the kernel's last close of that socket blocked the watchdog for the linger
// time, so the host's death no longer wiped and ended the enclave (it stayed kReady). Now the
// watchdog only peeks, and the message itself ends the enclave (next test).
TEST(SoftRuntime, ADescriptorSentOnTheLifelineDoesNotFreezeTheWatchdog) {
  LingeringSocket lingering;  // outlives the enclave: its peer never reads while the enclave runs
  ASSERT_GE(lingering.client, 0) << strerror(errno);
  auto e = Start();
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(SendOnLifeline(e->lifeline(), lingering.client)) << strerror(errno);
  close(lingering.client);  // the message holds the only reference now
  lingering.client = -1;
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the watchdog looks every 5 ms
  e->CloseLifeline();                                           // and the host dies
  ExpectEndedAsWhenTheHostGoes(*e, 3000, "the enclave wiped its memory and ended",
                               "the enclave neither wiped its memory nor ended after the host died");
}

// The host never sends anything on the lifeline: a message there (data, descriptors) breaks
// the protocol, and the enclave treats it as the host going away. It used to be read and
// ignored.
TEST(SoftRuntime, AnythingTheHostSendsOnTheLifelineEndsTheEnclaveAsIfTheHostHadGone) {
  auto e = Start();
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(SendOnLifeline(e->lifeline(), -1)) << strerror(errno);
  ExpectEndedAsWhenTheHostGoes(*e, 3000, "the host broke the lifeline protocol",
                               "the enclave went on after a message on the lifeline");
}

// Like SoftBackend.ACallAfterATracerStoppedOnlyTheWatchdogLosesTheEnclave, for a request that
// follows a move of its slot's hot line: the move woke the sleeping slot thread, and the
// request after it used to be served without the check that follows a sleep.
TEST(SoftRuntime, ACallAfterAMoveAfterATracerStoppedOnlyTheWatchdogLosesTheEnclave) {
  auto e = Start();
  ASSERT_NE(e, nullptr);
  pid_t pid = e->pid();  // its main thread is the watchdog
  // PTRACE_INTERRUPT stops the watchdog alone. (It may see the tracer itself between the two
  // calls; then the enclave is lost all the same, and this run shows nothing.)
  ASSERT_EQ(ptrace(PTRACE_SEIZE, pid, nullptr, nullptr), 0) << strerror(errno);
  if (ptrace(PTRACE_INTERRUPT, pid, nullptr, nullptr) == 0) {
    int st = 0;
    waitpid(pid, &st, __WALL);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(120));  // > the 50 ms staleness
  e->Move(1, 3);
  auto r = e->Call(1, kSecret, FrameWriter().Finish());
  EXPECT_EQ(r.status().code(), Code::kEnclaveLost) << r.status().ToString();
  ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
  int st = e->WaitExit(5000);
  ASSERT_NE(st, -1);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2) << st;
}

// Like SoftBackend.ACallAfterATracerStoppedOnlyTheWatchdogLosesTheEnclave, for an ecall the
// host's ocall handler makes back into the enclave: it used to be served without the check a
// top-level call makes.
TEST(SoftRuntime, ANestedCallAfterATracerStoppedOnlyTheWatchdogLosesTheEnclave) {
  auto e = Start();
  ASSERT_NE(e, nullptr);
  pid_t pid = e->pid();  // its main thread is the watchdog
  Status nested;
  OcallHandler handler = [&](uint32_t, const Bytes&, Bytes* reply) -> int32_t {
    // PTRACE_INTERRUPT stops the watchdog alone. (It may see the tracer itself between the
    // two calls; then the enclave is lost all the same.)
    if (ptrace(PTRACE_SEIZE, pid, nullptr, nullptr) != 0) {
      nested = Status(Code::kInternal, std::string("PTRACE_SEIZE: ") + strerror(errno));
      return static_cast<int32_t>(Code::kInternal);
    }
    if (ptrace(PTRACE_INTERRUPT, pid, nullptr, nullptr) == 0) {
      int st = 0;
      waitpid(pid, &st, __WALL);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(120));  // > the 50 ms staleness
    auto r = e->Call(1, kSecret, FrameWriter().Finish());
    nested = r.status();
    if (!r.ok()) return static_cast<int32_t>(r.status().code());
    *reply = *r;
    return 0;
  };
  FrameWriter w;
  w.Value<uint32_t>(kOcallReenter);
  auto r = e->Call(1, kCallHost, w.Finish(), handler);
  EXPECT_EQ(nested.code(), Code::kEnclaveLost) << nested.ToString();
  EXPECT_NE(nested.message().find("tamper response: a tracer (pid " + std::to_string(getpid()) +
                                  ") was attached to enclave thread " + std::to_string(pid)),
            std::string::npos)
      << nested.ToString();
  EXPECT_EQ(r.status().code(), Code::kEnclaveLost) << r.status().ToString();
  ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
  int st = e->WaitExit(5000);
  ASSERT_NE(st, -1);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2) << st;
}

#if defined(__x86_64__)
// Holds the tamper response halfway. Traces the watchdog (the main thread) alone and lets it
// run one system call at a time: it finds the tracer and responds, setting its "dying" flag,
// publishing kLost and zeroing the heaps and slot 0's stack; the first system call after
// kLost is the mprotect that makes the image's RELRO pages writable for the wipe, and the
// watchdog is left stopped there. Slot 1's thread and stack are untouched and it runs on.
// Returns how long the stepping took (the slot thread's own watchdog check finds the round
// stale after 50 ms).
std::chrono::microseconds HoldTheResponseHalfway(EnclaveProcess& e) {
  pid_t pid = e.pid();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(ptrace(PTRACE_SEIZE, pid, nullptr, PTRACE_O_TRACESYSGOOD), 0) << strerror(errno);
  EXPECT_EQ(ptrace(PTRACE_INTERRUPT, pid, nullptr, nullptr), 0) << strerror(errno);
  int st = 0;
  EXPECT_EQ(waitpid(pid, &st, __WALL), pid);
  long syscall_nr = -1;
  for (int stops = 0; e.state() == EnclaveState::kReady && stops < 10000; ++stops) {
    if (ptrace(PTRACE_SYSCALL, pid, nullptr, nullptr) != 0 || waitpid(pid, &st, __WALL) != pid || !WIFSTOPPED(st))
      break;
    syscall_nr = -1;
    user_regs_struct regs{};
    if (WSTOPSIG(st) == (SIGTRAP | 0x80) && ptrace(PTRACE_GETREGS, pid, nullptr, &regs) == 0)
      syscall_nr = static_cast<long>(regs.orig_rax);
  }
  EXPECT_EQ(e.state(), EnclaveState::kLost) << e.reason();
  EXPECT_EQ(syscall_nr, SYS_mprotect) << "the watchdog stopped in system call " << syscall_nr;
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
}

// Puts an ecall request into slot 1 as a host that does not look at the enclave's state would.
// Longer than the slot: answered by the runtime itself (kOutOfRange, without touching the
// wiped heap) whenever it serves the slot at all. Returns whether any reply came in 300 ms.
bool RequestIsAnswered(EnclaveProcess& e) {
  SlotControl& c = e.channel().control(1);
  c.call_id = kEcho;
  c.length = e.channel().slot_data_bytes() + 1;
  c.code = 0;
  c.flags = 0;
  PublishState(c, Side::kHost, SlotState::kEcallRequest, false);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  while (std::chrono::steady_clock::now() < deadline) {
    if (c.state.load() != static_cast<uint32_t>(SlotState::kEcallRequest)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

// Once a response has begun (state published, memory being wiped), slot threads used to go on
// serving calls, on half-wiped memory. Held halfway, the response has begun and slot 1 is
// intact: a request there must find it over. (A call that got past the check just before the
// response began is not shown; it runs on, like any call already running then.)
TEST(SoftRuntime, NoCallIsServedOnceTheTamperResponseHasBegun) {
  auto e = Start();
  ASSERT_NE(e, nullptr);
  auto took = HoldTheResponseHalfway(*e);
  std::cout << "[ response held halfway after " << took.count() << " us ]\n";
  EXPECT_FALSE(RequestIsAnswered(*e)) << "code " << e->channel().control(1).code;
  // Let the response finish: it ends the process with the tamper response's status.
  ptrace(PTRACE_DETACH, e->pid(), nullptr, nullptr);
  int st = e->WaitExit(5000);
  ASSERT_NE(st, -1);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2) << st;
}

// The same for an ecall made from an ocall handler (served inside the enclave's ocall).
TEST(SoftRuntime, NoNestedCallIsServedOnceTheTamperResponseHasBegun) {
  auto e = Start();
  ASSERT_NE(e, nullptr);
  bool answered = true;
  OcallHandler handler = [&](uint32_t, const Bytes&, Bytes*) -> int32_t {
    HoldTheResponseHalfway(*e);
    answered = RequestIsAnswered(*e);
    return static_cast<int32_t>(Code::kInternal);
  };
  FrameWriter w;
  w.Value<uint32_t>(kOcallReenter);
  auto r = e->Call(1, kCallHost, w.Finish(), handler);
  EXPECT_FALSE(answered) << "code " << e->channel().control(1).code;
  EXPECT_EQ(r.status().code(), Code::kEnclaveLost) << r.status().ToString();
  ptrace(PTRACE_DETACH, e->pid(), nullptr, nullptr);
  int st = e->WaitExit(5000);
  ASSERT_NE(st, -1);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2) << st;
}
#endif

// ---------------------------------------------------------------- start-up refusals
std::string FailedStart(const char* image, LaunchOptions o, EnclaveState* state = nullptr) {
  auto e = EnclaveProcess::Launch(image, o);
  EXPECT_NE(e, nullptr);
  if (e == nullptr) return "";
  int st = e->WaitExit(10000);
  EXPECT_NE(st, -1);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1) << st;
  if (state) *state = e->state();
  return e->Stderr();
}

TEST(SoftRuntimeStart, RefusesUnsealedImage) {
  LaunchOptions o;
  o.seal_image = false;
  EXPECT_NE(FailedStart(SOFT_TEST_ENCLAVE, o).find("is not sealed against writes"), std::string::npos);
}

TEST(SoftRuntimeStart, RefusesAChannelTheHostCouldShrink) {
  LaunchOptions o;
  o.seal_channel = false;
  EXPECT_NE(FailedStart(SOFT_TEST_ENCLAVE, o).find("call channel memfd (descriptor 4) is not sealed against shrinking"),
            std::string::npos);
}

TEST(SoftRuntimeStart, RefusesWithoutNoNewPrivs) {
  LaunchOptions o;
  o.no_new_privs = false;
  EXPECT_NE(FailedStart(SOFT_TEST_ENCLAVE, o).find("no_new_privs is not set"), std::string::npos);
}

TEST(SoftRuntimeStart, RefusesExtraDescriptors) {
  LaunchOptions o;
  o.extra_fd = true;
  EXPECT_NE(FailedStart(SOFT_TEST_ENCLAVE, o).find("unexpected open descriptors 7"), std::string::npos);
}

// The image's constructors run under the start-up filter, which still allows open and
// socket; what they leave open would outlive the full filter.
TEST(SoftRuntimeStart, RefusesAnImageThatLeavesADescriptorOpenWhileItLoads) {
  EnclaveState s{};
  std::string err = FailedStart(KEEP_FILE_AT_LOAD_ENCLAVE, {}, &s);
  EXPECT_NE(err.find("(/etc/hostname) was left open while the enclave image was loaded (by its constructors or "
                     "confide_enclave_start_v1)"),
            std::string::npos)
      << err;
  EXPECT_EQ(s, EnclaveState::kCrashed);
}

// Closing descriptor 0 and opening a file gets 0, and dup2 replaces any descriptor: not only
// the descriptors above 6 are compared with what the runtime was started with.
TEST(SoftRuntimeStart, RefusesAnImageThatPutsAFileOnAStartDescriptorWhileItLoads) {
  EnclaveState s{};
  std::string err = FailedStart(REPLACE_STDIN_AT_LOAD_ENCLAVE, {}, &s);
  EXPECT_NE(err.find("descriptor 0 (/etc/hostname) was"), std::string::npos) << err;
  EXPECT_NE(err.find("while the enclave image was loaded"), std::string::npos) << err;
  EXPECT_EQ(s, EnclaveState::kCrashed);
}

// A thread the image started could open a descriptor after the check; it is refused itself.
TEST(SoftRuntimeStart, RefusesAnImageThatLeavesAThreadRunningWhileItLoads) {
  EnclaveState s{};
  std::string err = FailedStart(KEEP_THREAD_AT_LOAD_ENCLAVE, {}, &s);
  EXPECT_NE(err.find("a thread was started while the enclave image was loaded"), std::string::npos) << err;
  EXPECT_EQ(s, EnclaveState::kCrashed);
}

// A handler the image installs for SIGSYS would take the place of the runtime's: a forbidden
// system call would then fail quietly (the handler chooses its result) instead of ending the
// enclave with the reason. The full filter forbids sigaction, so only the image's load can.
TEST(SoftRuntimeStart, RefusesAnImageThatChangesASignalHandlerWhileItLoads) {
  EnclaveState s{};
  std::string err = FailedStart(CATCH_SIGSYS_AT_LOAD_ENCLAVE, {}, &s);
  EXPECT_NE(err.find("the handling of signal 31 (SIGSYS) was changed while the enclave image was loaded"),
            std::string::npos)
      << err;
  EXPECT_EQ(s, EnclaveState::kCrashed);
}

// A library in the image that makes the process dumpable again (some servers do, for core
// dumps) opens the enclave to every process of its user: ptrace, /proc/PID/mem.
TEST(SoftRuntimeStart, RefusesAnImageThatMakesTheProcessDumpableWhileItLoads) {
  EnclaveState s{};
  std::string err = FailedStart(MAKE_DUMPABLE_AT_LOAD_ENCLAVE, {}, &s);
  EXPECT_NE(err.find("the enclave process was made dumpable while the enclave image was loaded"), std::string::npos)
      << err;
  EXPECT_EQ(s, EnclaveState::kCrashed);
}

// A filter the image adds stays on top of the runtime's and may refuse the runtime's own system
// calls: one that makes poll fail silences the lifeline checks, and the enclave outlived its
// host.
TEST(SoftRuntimeStart, RefusesAnImageThatAddsASeccompFilterWhileItLoads) {
  EnclaveState s{};
  std::string err = FailedStart(ADD_FILTER_AT_LOAD_ENCLAVE, {}, &s);
  EXPECT_NE(err.find("a seccomp filter was installed while the enclave image was loaded"), std::string::npos) << err;
  EXPECT_EQ(s, EnclaveState::kCrashed);
}

// READ_IMPLIES_EXEC makes mprotect add PROT_EXEC to readable protections, which the filter's
// mprotect rule cannot see: enclave code could write code into ordinary memory and run it.
TEST(SoftRuntimeStart, RefusesAnImageThatChangesThePersonalityWhileItLoads) {
  EnclaveState s{};
  std::string err = FailedStart(EXEC_ON_READ_AT_LOAD_ENCLAVE, {}, &s);
  EXPECT_NE(err.find("the personality of the thread that loaded the enclave image was changed"), std::string::npos)
      << err;
  EXPECT_EQ(s, EnclaveState::kCrashed);
}

TEST(SoftRuntimeStart, RefusesSlotCountDifferentFromSignedNumTcs) {
  LaunchOptions o;
  o.slots = 3;
  EnclaveState s{};
  std::string err = FailedStart(SOFT_TEST_ENCLAVE, o, &s);
  EXPECT_NE(err.find("the call channel has 3 slots but the signed image's NumTCS is 2"), std::string::npos) << err;
  EXPECT_EQ(s, EnclaveState::kCrashed);
}

TEST(SoftRuntimeStart, RefusesTamperedImage) {
  Bytes img = ReadFileOrDie(SOFT_TEST_ENCLAVE);
  img[img.size() / 3] ^= 0x01;  // inside the ELF
  std::string path = std::string(CONFIDE_BINARY_DIR) + "/tests/soft_runtime/tampered.signed.so";
  ASSERT_TRUE(WriteFile(path, img).ok());
  EnclaveState s{};
  std::string err = FailedStart(path.c_str(), {}, &s);
  EXPECT_NE(err.find("the enclave image does not verify"), std::string::npos) << err;
  EXPECT_EQ(s, EnclaveState::kCrashed);
}

TEST(SoftRuntimeStart, RefusesImageWithoutEntryPoint) {
  EnclaveState s{};
  std::string err = FailedStart(NO_ENTRY_ENCLAVE, {}, &s);
  EXPECT_NE(err.find("has no entry point confide_enclave_start_v1"), std::string::npos) << err;
  EXPECT_EQ(s, EnclaveState::kCrashed);
}

TEST(SoftRuntimeStart, ProductionImageRefusedWithoutMemfdSecret) {
  LaunchOptions o;
  o.deny_memfd_secret = true;
  EnclaveState s{};
  std::string err = FailedStart(SOFT_TEST_ENCLAVE, o, &s);
  EXPECT_NE(err.find("a production (Debug=0) enclave never runs without secret memory: no memfd_secret on this kernel"),
            std::string::npos) << err;
  EXPECT_NE(err.find("Linux >= 5.14"), std::string::npos) << err;
  EXPECT_EQ(s, EnclaveState::kCrashed);
}

// Every secret mapping counts against RLIMIT_MEMLOCK in full, and a daemon run by a user
// other than root cannot raise it: the error (or, for a debug image, the warning) says that
// is the cause, not the kernel.
TEST(SoftRuntimeStart, ProductionImageRefusedNamingATooSmallMemlockLimit) {
  LaunchOptions o;
  o.memlock_bytes = 64 << 10;
  EnclaveState s{};
  std::string err = FailedStart(SOFT_TEST_ENCLAVE, o, &s);
  EXPECT_NE(err.find("never runs without secret memory: RLIMIT_MEMLOCK (64 KiB) is too small"), std::string::npos)
      << err;
  EXPECT_NE(err.find("raise ulimit -l, or use a platform daemon run as root"), std::string::npos) << err;
  EXPECT_EQ(err.find("no memfd_secret"), std::string::npos) << err;
  EXPECT_EQ(s, EnclaveState::kCrashed);
}

TEST(SoftRuntimeStart, DebugImageRunsWithWarningUnderATooSmallMemlockLimit) {
  LaunchOptions o;
  o.memlock_bytes = 64 << 10;
  auto e = Start(SOFT_TEST_ENCLAVE_DEBUG, o);
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->reason().find("warning: RLIMIT_MEMLOCK (64 KiB) is too small"), std::string::npos) << e->reason();
  EXPECT_NE(e->reason().find("runs on ordinary memory"), std::string::npos) << e->reason();
  FrameWriter w;
  const char text[] = "still works";
  w.Buffer(text, sizeof text);
  EXPECT_TRUE(e->Call(0, kEcho, w.Finish()).ok());
}

TEST(SoftRuntimeStart, DebugImageRunsWithWarningWithoutMemfdSecret) {
  LaunchOptions o;
  o.deny_memfd_secret = true;
  auto e = Start(SOFT_TEST_ENCLAVE_DEBUG, o);
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->reason().find("warning: no memfd_secret"), std::string::npos) << e->reason();
  EXPECT_NE(e->Stderr().find("warning: no memfd_secret"), std::string::npos);
  FrameWriter w;
  const char text[] = "still works";
  w.Buffer(text, sizeof text);
  EXPECT_TRUE(e->Call(0, kEcho, w.Finish()).ok());
}

}  // namespace
