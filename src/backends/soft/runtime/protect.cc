// Tamper response, crash reporting, the seccomp filter and the watchdog's checks.
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "backends/soft/launch.h"
#include "backends/soft/runtime/heap.h"
#include "backends/soft/runtime/runtime.h"

namespace confide::soft::rt {

Runtime g;

void AddRegion(uint8_t* addr, size_t size, RegionKind kind, int arena, bool readonly) {
  int i = g.region_count.load();
  if (i >= kMaxRegions) return;
  g.regions[i] = Region{addr, size, kind, arena, readonly};
  g.region_count.store(i + 1);
}

// ------------------------------------------------------------------ messages
Msg& Msg::Str(const char* s) {
  while (*s != '\0' && len_ + 1 < sizeof buf_) buf_[len_++] = *s++;
  buf_[len_] = '\0';
  return *this;
}

Msg& Msg::Dec(uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0 && len_ + 1 < sizeof buf_) buf_[len_++] = tmp[--n];
  buf_[len_] = '\0';
  return *this;
}

Msg& Msg::Hex(uint64_t v) {
  Str("0x");
  char tmp[20];
  int n = 0;
  do {
    tmp[n++] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v != 0);
  while (n > 0 && len_ + 1 < sizeof buf_) buf_[len_++] = tmp[--n];
  buf_[len_] = '\0';
  return *this;
}

namespace {

void RawWake(std::atomic<uint32_t>* w) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(w), FUTEX_WAKE, INT32_MAX, nullptr, nullptr, 0);
}

// Wakes a host waiting for the enclave to start or on any slot: at every hot line, since the
// slot threads move theirs without telling other threads.
void WakeHost() {
  RawWake(&g.header->enclave_state);
  for (uint32_t i = 0; i < g.channel.num_slots(); ++i)
    for (uint32_t line = 0; line < kHotLines; ++line) RawWake(&g.channel.control(i, line).state);
}

void WriteStderr(const char* s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t w = write(2, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

// Another thread is responding and will end the process. Should it never get there (it
// faulted itself), end the process anyway rather than hang with the host waiting.
[[noreturn]] void BlockForever() {
  std::atomic<uint32_t> never{0};
  timespec ts{2, 0};
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&never), FUTEX_WAIT_PRIVATE, 0, &ts, nullptr, 0);
  syscall(SYS_exit_group, 3);
  __builtin_unreachable();
}

// ------------------------------------------------------------------ the response
// Runs on a stack of its own so that it can wipe the stack of the thread that called it
// (a slot thread's stack is secret memory, and may hold enclave frames above us).
alignas(64) uint8_t g_response_stack[64 * 1024];

struct ResponseArgs {
  EnclaveState state;
  const char* reason;
  bool wipe;
  int exit_code;
};
ResponseArgs g_response;

void Wipe(Region& r) {
  size_t n = r.size;
  if (r.kind == RegionKind::kHeap || r.kind == RegionKind::kBootstrap) {
    // Pages above the high-water mark were never touched: zeroing them would only fault in
    // fresh secret pages.
    size_t hw = ProcessHeap().arena(r.arena).high_water();
    n = (hw + 4095) & ~size_t{4095};
    if (n > r.size) n = r.size;
  }
  if (n == 0) return;
  if (r.readonly) mprotect(r.addr, r.size, PROT_READ | PROT_WRITE);
  explicit_bzero(r.addr, n);
}

[[noreturn]] void RespondOnOwnStack() {
  const ResponseArgs a = g_response;
  // The host learns the outcome first: if another thread faults on memory we wipe below and
  // the kernel ends the process before we finish, the reason is already there.
  if (g.header != nullptr) g.header->enclave_state.store(static_cast<uint32_t>(a.state), std::memory_order_seq_cst);
  if (a.wipe) {
    int n = g.region_count.load();
    // Alternate signal stacks last: threads that fault on wiped memory park on them.
    for (int pass = 0; pass < 2; ++pass)
      for (int i = 0; i < n; ++i)
        if ((g.regions[i].kind == RegionKind::kAltStack) == (pass == 1)) Wipe(g.regions[i]);
  }
  if (g.header != nullptr) WakeHost();
  syscall(SYS_exit_group, a.exit_code);
  __builtin_unreachable();
}

void WriteReason(const char* reason) {
  if (g.header == nullptr) return;
  size_t n = strlen(reason);
  if (n >= sizeof g.header->reason) n = sizeof g.header->reason - 1;
  memcpy(g.header->reason, reason, n);
  g.header->reason[n] = '\0';
}

// ------------------------------------------------------------------ signals
Msg g_crash_msg;

const char* SignalName(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    case SIGTRAP: return "SIGTRAP";
    default: return "signal";
  }
}

char g_syscall_names[512][28];

void OnCrash(int sig, siginfo_t* info, void*) {
  if (g.dying.exchange(1) != 0) BlockForever();
  Msg& m = g_crash_msg;
  if (sig == SIGSYS) {
    int nr = info->si_syscall;
    m.Str("seccomp: the enclave made a forbidden system call ");
    m.Str(nr >= 0 && nr < 512 && g_syscall_names[nr][0] != '\0' ? g_syscall_names[nr] : "?");
    m.Str(" (").Dec(static_cast<uint64_t>(nr)).Str(")");
  } else {
    m.Str("the enclave crashed with ").Str(SignalName(sig));
    if (sig == SIGSEGV || sig == SIGBUS) m.Str(" at address ").Hex(reinterpret_cast<uintptr_t>(info->si_addr));
    if (sig == SIGABRT) m.Str(" (abort() was called: a failed assertion or heap corruption)");
  }
  WriteReason(m.c_str());
  WriteStderr("confide-enclave-runtime: ");
  WriteStderr(m.c_str());
  WriteStderr("\n");
  g_response = ResponseArgs{EnclaveState::kCrashed, m.c_str(), false, 1};
  RespondOnOwnStack();
}

void OnHeapCorruption(const char* what) {
  Msg m;
  m.Str("heap corruption detected in the enclave: ").Str(what);
  Respond(EnclaveState::kCrashed, m.c_str(), false, 1);
}

}  // namespace

void Report(EnclaveState state, const char* reason) {
  if (g.header == nullptr) return;
  WriteReason(reason);
  g.header->enclave_state.store(static_cast<uint32_t>(state), std::memory_order_seq_cst);
  WakeHost();
}

[[noreturn]] void Respond(EnclaveState state, const char* reason, bool wipe, int exit_code) {
  if (g.dying.exchange(1) != 0) BlockForever();
  // Copy the reason before any wiping: it may live in memory about to be zeroed.
  static Msg copy;
  copy.Str(reason);
  WriteReason(copy.c_str());
  if (state != EnclaveState::kExited) {
    WriteStderr("confide-enclave-runtime: ");
    WriteStderr(copy.c_str());
    WriteStderr("\n");
  }
  g_response = ResponseArgs{state, copy.c_str(), wipe, exit_code};
#if defined(__x86_64__)
  uint8_t* top = g_response_stack + sizeof g_response_stack;
  asm volatile(
      "mov %0, %%rsp\n\t"
      "call *%1\n\t"
      "ud2\n\t"
      :
      : "r"(top), "r"(&RespondOnOwnStack)
      : "memory");
  __builtin_unreachable();
#else
  RespondOnOwnStack();
#endif
}

bool SetAltStack(void* mem, size_t size) {
  stack_t ss{};
  ss.ss_sp = mem;
  ss.ss_size = size;
  return sigaltstack(&ss, nullptr) == 0;
}

void InstallCrashHandlers() {
  struct sigaction sa {};
  sa.sa_sigaction = OnCrash;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigfillset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS}) sigaction(sig, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  SetHeapCorruptionHandler(OnHeapCorruption);
}

// ------------------------------------------------------------------ seccomp
namespace {

// Loads a filter whose rules were added with result `rc` (0: all added), killing the process
// on a system call through another ABI, and releases it.
bool Load(scmp_filter_ctx ctx, int rc, const char* what, char* err, size_t err_size) {
  if (rc == 0) rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc == 0) rc = seccomp_load(ctx);
  seccomp_release(ctx);
  if (rc != 0) {
    snprintf(err, err_size, "installing %s failed: %s", what, strerror(-rc));
    return false;
  }
  return true;
}

}  // namespace

bool InstallSeccomp(char* err, size_t err_size) {
  for (int nr = 0; nr < 512; ++nr) {
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    if (name != nullptr) {
      strncpy(g_syscall_names[nr], name, sizeof g_syscall_names[nr] - 1);
      free(name);
    }
  }
  // glibc reads /etc/localtime on its first time conversion (even gmtime_r); do it now, while
  // files may still be opened, so enclave code (OpenSSL's certificate times) never needs to.
  tzset();
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
  if (ctx == nullptr) {
    snprintf(err, err_size, "seccomp_init failed");
    return false;
  }
  int rc = 0;
  auto allow = [&](int nr) {
    if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
  };
  // Enough for the runtime (channel futexes, watchdog reads and polls, exit) and for what
  // libc and libstdc++ do on their own inside enclave code (locks, clocks, sleeps, random
  // numbers, abort). Nothing that names a path, creates a descriptor, maps memory, starts a
  // process or thread, or touches another process.
  for (int nr : {SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(pread64), SCMP_SYS(readv), SCMP_SYS(writev),
                 SCMP_SYS(lseek), SCMP_SYS(close), SCMP_SYS(futex), SCMP_SYS(poll), SCMP_SYS(ppoll),
                 SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday), SCMP_SYS(time),
                 SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(sched_yield), SCMP_SYS(getcpu),
                 SCMP_SYS(sched_getaffinity), SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(rt_sigreturn),
                 SCMP_SYS(rt_sigprocmask), SCMP_SYS(restart_syscall), SCMP_SYS(madvise), SCMP_SYS(getpid),
                 SCMP_SYS(gettid), SCMP_SYS(getrandom),
                 // glibc's qsort sizes its merge buffer with sysconf(_SC_PHYS_PAGES), i.e.
                 // sysinfo(2); OpenSSL sorts while building TLS contexts. Read-only, no path.
                 SCMP_SYS(sysinfo)})
    allow(nr);
  // mprotect only without PROT_EXEC: no new code, ever.
  if (rc == 0)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1, scmp_arg_cmp{2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0});
  // recv on the lifeline, and only to peek without waiting (CheckLifeline): nothing in the
  // enclave may take a message off it, since dropping the descriptors one carries could block.
  if (rc == 0)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(recvfrom), 2, scmp_arg_cmp{0, SCMP_CMP_EQ, kLifelineFd, 0},
                          scmp_arg_cmp{3, SCMP_CMP_EQ, MSG_PEEK | MSG_DONTWAIT, 0});
  // The calling thread's own CPU mask only (pid 0): a slot thread leaves its host's CPU
  // (LeaveCpu in main.cc).
  if (rc == 0)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sched_setaffinity), 1, scmp_arg_cmp{0, SCMP_CMP_EQ, 0, 0});
  // abort()/raise() signal only this process.
  if (rc == 0)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
                          scmp_arg_cmp{0, SCMP_CMP_EQ, static_cast<scmp_datum_t>(g.pid), 0});
  if (rc == 0) rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
  return Load(ctx, rc, "the seccomp filter", err, err_size);
}

bool InstallStartFilter(char* err, size_t err_size) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) {
    snprintf(err, err_size, "seccomp_init failed");
    return false;
  }
  int rc = 0;
  for (int nr : {SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(ptrace),
                 SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev), SCMP_SYS(pidfd_getfd), SCMP_SYS(kcmp),
                 SCMP_SYS(process_madvise)})
    if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
  // clone only for threads. clone3 passes its flags in memory, where a filter cannot look:
  // refused as unknown, glibc falls back to clone.
  if (rc == 0)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                          scmp_arg_cmp{0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0});
  if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  return Load(ctx, rc, "the start-up seccomp filter", err, err_size);
}

// ------------------------------------------------------------------ checks
namespace {

const char kHostClosedLifeline[] = "the host closed the lifeline: the enclave wiped its memory and ended";

bool LifelineHungUp() {
  pollfd p{kLifelineFd, POLLRDHUP, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) != 0;
}

}  // namespace

void CheckLifeline() {
  pollfd p{kLifelineFd, POLLIN | POLLRDHUP, 0};
  if (poll(&p, 1, 0) <= 0) return;
  if ((p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) != 0)
    Respond(EnclaveState::kExited, kHostClosedLifeline, true, 0);
  if ((p.revents & POLLIN) == 0) return;
  // Something is queued. Peek at it, never read it: a message may carry descriptors
  // (SCM_RIGHTS), and reading one without taking them makes the kernel close them here, and
  // the last close of some (a TCP socket set to linger whose peer reads nothing) blocks for as
  // long as the host likes, which would stop this thread's checks for good. A peek takes
  // references of its own and drops only those; what stays queued is released when the
  // process ends, and the kernel does not linger for an exiting process.
  char byte;
  ssize_t n = recv(kLifelineFd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (n == 0 && LifelineHungUp()) Respond(EnclaveState::kExited, kHostClosedLifeline, true, 0);
  // The host never sends anything on the lifeline: data, descriptors or an empty message
  // break the protocol, and count as the host going away (the message stays queued, so
  // carrying on would leave the lifeline readable for good).
  Msg m;
  if (n < 0) {
    m.Str("reading the lifeline failed (errno ").Dec(static_cast<uint64_t>(errno)).Str(")");
  } else {
    m.Str("the host broke the lifeline protocol (it sent a message on the lifeline, which carries none)");
  }
  m.Str(": the enclave wiped its memory and ended");
  Respond(EnclaveState::kExited, m.c_str(), true, 0);
}

int OpenTaskStatus(pid_t tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/status", static_cast<int>(tid));
  return open(path, O_RDONLY | O_CLOEXEC);
}

int ReadStatusField(int fd, const char* field, long* value) {
  char buf[4096];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return -1;
  buf[n] = '\0';
  // At the start of a line only: the first line is the thread's name, which its own code
  // may set to anything, such as "TracerPid: 0".
  const size_t len = strlen(field);
  const char* t = buf;
  while (strncmp(t, field, len) != 0) {
    t = strchr(t, '\n');
    if (t == nullptr) return 0;
    ++t;
  }
  t += len;
  while (*t == ' ' || *t == '\t') ++t;
  *value = strtol(t, nullptr, 10);
  return 1;
}

void CheckTracer(int index) {
  int fd = g.status_fds[index];
  if (fd <= 0) return;
  long tracer = 0;
  int found = ReadStatusField(fd, "TracerPid:", &tracer);
  if (found < 0) {
    Msg m;
    m.Str("tamper response: the status of enclave thread ").Dec(static_cast<uint64_t>(g.tids[index]))
        .Str(" can no longer be read");
    Respond(EnclaveState::kLost, m.c_str(), true, 2);
  }
  if (found > 0 && tracer != 0) {
    Msg m;
    m.Str("tamper response: a tracer (pid ").Dec(static_cast<uint64_t>(tracer))
        .Str(") was attached to enclave thread ").Dec(static_cast<uint64_t>(g.tids[index]))
        .Str("; secret memory wiped");
    Respond(EnclaveState::kLost, m.c_str(), true, 2);
  }
}

void CheckAllTracers() {
  for (uint32_t i = 0; i <= g.channel.num_slots(); ++i) CheckTracer(static_cast<int>(i));
}

namespace {
int g_code_range = 0;
size_t g_code_offset = 0;

void CodeMismatch(const CodeRange& r, size_t off) {
  Msg m;
  m.Str("tamper response: the enclave's code at ").Hex(reinterpret_cast<uintptr_t>(r.mem + off))
      .Str(" differs from the sealed image; secret memory wiped");
  Respond(EnclaveState::kLost, m.c_str(), true, 2);
}
}  // namespace

void CheckCodeIntegrity(size_t budget) {
  while (budget > 0 && g.code_count > 0) {
    const CodeRange& r = g.code[g_code_range];
    size_t n = r.size - g_code_offset;
    if (n > budget) n = budget;
    if (memcmp(r.mem + g_code_offset, r.file + g_code_offset, n) != 0) CodeMismatch(r, g_code_offset);
    budget -= n;
    g_code_offset += n;
    if (g_code_offset >= r.size) {
      g_code_offset = 0;
      g_code_range = (g_code_range + 1) % g.code_count;
    }
  }
}

bool CodeIntact(char* err, size_t err_size) {
  for (int i = 0; i < g.code_count; ++i)
    if (memcmp(g.code[i].mem, g.code[i].file, g.code[i].size) != 0) {
      snprintf(err, err_size,
               "the loaded image's code at %p differs from the sealed image (text relocations are not "
               "supported: build the enclave with -fPIC)",
               static_cast<const void*>(g.code[i].mem));
      return false;
    }
  return true;
}

}  // namespace confide::soft::rt
