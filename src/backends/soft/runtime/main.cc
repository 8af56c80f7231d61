// confide-enclave-runtime: the program inside every soft-backend enclave process.
//
// The platform daemon fork+execs it with the descriptors of launch.h. In order it: hardens
// the process, maps the call channel, verifies the image and creates the secret heap, loads
// the image on a slot thread (stack in secret memory), moves the image's writable segments
// into secret memory, starts the enclave, installs the seccomp filter on every thread,
// reports kReady and becomes the watchdog. docs/soft-backend.md describes the result.
#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "backends/soft/launch.h"
#include "backends/soft/runtime/heap.h"
#include "backends/soft/runtime/platform_client.h"
#include "backends/soft/runtime/runtime.h"
#include "backends/soft/runtime/secret_memory.h"
#include "common/sealed_memfd.h"
#include "confide/image.h"

namespace confide::soft::rt {
namespace {

constexpr size_t kPage = 4096;
// Room on each slot stack beyond NumStackPages: glibc puts the thread control block and the
// static TLS blocks at the top of a caller-provided stack.
constexpr size_t kThreadOverhead = 64 * 1024;
constexpr size_t kAltStackBytes = 64 * 1024;
constexpr uint32_t kSpinSwitchlessNs = 50000;
constexpr uint32_t kSpinNs = 2000;
constexpr uint32_t kWatchdogPeriodMs = 5;
// A watchdog that has not finished a round for this long is not running (a tracer stopped it).
constexpr uint64_t kWatchdogStaleNs = 50'000'000;
constexpr size_t kIntegrityBytesPerTick = 64 * 1024;

size_t PageUp(size_t n) { return (n + kPage - 1) & ~(kPage - 1); }
uintptr_t PageDown(uintptr_t a) { return a & ~uintptr_t{kPage - 1}; }

// Start-up failure: the host reads the reason from the header (once it is mapped) and sees
// kCrashed; stderr gets it too (the daemon's log).
[[noreturn]] void Fail(const std::string& reason) {
  std::string r = "enclave start-up failed: " + reason;
  fprintf(stderr, "confide-enclave-runtime: %s\n", r.c_str());
  if (g.header != nullptr) Report(EnclaveState::kCrashed, r.c_str());
  _exit(1);
}

std::string Errno(int e) { return strerror(e); }

// ------------------------------------------------------------------ step 1: hardening
void Harden() {
  // The daemon execs us from an unreadable memfd, which already makes us non-dumpable from
  // the first instruction; this keeps it so however we were started. Nothing may attach or
  // dump without CAP_SYS_PTRACE from here on.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) Fail("PR_SET_DUMPABLE failed: " + Errno(errno));
  // Exec'd through a descriptor, the kernel named us after its number.
  prctl(PR_SET_NAME, "confide-enclave", 0, 0, 0);
  rlimit core{0, 0};
  if (setrlimit(RLIMIT_CORE, &core) != 0) Fail("setting RLIMIT_CORE to 0 failed: " + Errno(errno));
  if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
    Fail("no_new_privs is not set: confide-enclave-runtime must be started by the platform daemon "
         "(confide platform start), which sets PR_SET_NO_NEW_PRIVS before exec");
}

bool IsMemfd(int fd) {
  char path[64], target[256];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, target, sizeof target - 1);
  if (n <= 0) return false;
  target[n] = '\0';
  return strncmp(target, "/memfd:", 7) == 0;
}

// What descriptors 0 to kPlatformFd were at start, so that the check after loading the image
// sees one that was closed and reopened, or replaced with dup2.
struct FdIdentity {
  bool open;
  dev_t dev;
  ino_t ino;
  bool operator==(const FdIdentity&) const = default;
};
FdIdentity g_start_fds[kPlatformFd + 1];

FdIdentity IdentityOf(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return FdIdentity{false, 0, 0};
  return FdIdentity{true, st.st_dev, st.st_ino};
}

// "descriptor 7 (/etc/hostname)", for messages.
std::string DescribeFd(int fd) {
  char path[64], target[256];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, target, sizeof target - 1);
  std::string d = "descriptor " + std::to_string(fd);
  if (n > 0) d += " (" + std::string(target, static_cast<size_t>(n)) + ")";
  return d;
}

// The numbered entries of a /proc directory (descriptors, threads). `*listing` gets the
// descriptor the listing itself used, which /proc/self/fd shows too.
std::vector<int> ProcEntries(const char* dir, int* listing = nullptr) {
  DIR* d = opendir(dir);
  if (d == nullptr) Fail(std::string("cannot list ") + dir + ": " + Errno(errno));
  if (listing != nullptr) *listing = dirfd(d);
  std::vector<int> out;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') out.push_back(atoi(e->d_name));
  closedir(d);
  return out;
}

// Every open descriptor above kPlatformFd but the listing's own.
std::vector<int> ExtraDescriptors() {
  int self = -1;
  std::vector<int> extra;
  for (int fd : ProcEntries("/proc/self/fd", &self))
    if (fd > kPlatformFd && fd != self) extra.push_back(fd);
  return extra;
}

void CheckDescriptors() {
  const char* how = " (confide-enclave-runtime is started by the platform daemon with the descriptors of launch.h)";
  struct stat st {};
  if (fstat(kImageFd, &st) != 0 || !S_ISREG(st.st_mode) || !IsMemfd(kImageFd))
    Fail(std::string("descriptor 3 is not the enclave image memfd") + how);
  int seals = fcntl(kImageFd, F_GET_SEALS);
  int need = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;
  if (seals < 0 || (seals & need) != need)
    Fail(std::string("the image memfd (descriptor 3) is not sealed against writes, shrinking and growing, so "
                     "the image could change after verification") + how);
  if (st.st_size <= 0) Fail("the image memfd (descriptor 3) is empty");
  if (fstat(kChannelFd, &st) != 0 || !S_ISREG(st.st_mode) || !IsMemfd(kChannelFd) ||
      fcntl(kChannelFd, F_GET_SEALS) < 0)
    Fail(std::string("descriptor 4 is not the call channel memfd") + how);
  // A channel the host could shrink would make the enclave's next access to it fault.
  if (!SizeSealed(kChannelFd))
    Fail(std::string("the call channel memfd (descriptor 4) is not sealed against shrinking and growing") + how);
  for (int fd : {kLifelineFd, kPlatformFd})
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
      Fail("descriptor " + std::to_string(fd) + " is not a socket" + how);
  // Nothing else may be open: a stray descriptor would be a way out the filter cannot see.
  std::string extra;
  for (int fd : ExtraDescriptors()) extra += (extra.empty() ? "" : ", ") + std::to_string(fd);
  if (!extra.empty()) Fail("unexpected open descriptors " + extra + how);
  for (int fd = 0; fd <= kPlatformFd; ++fd) g_start_fds[fd] = IdentityOf(fd);
}

// How every signal is handled once the runtime's handlers are in place, before the image is
// loaded: its constructors may change it (the start-up filter allows sigaction), enclave code
// later cannot (the full filter does not).
struct SignalAction {
  uintptr_t handler;
  int flags;
  bool operator==(const SignalAction&) const = default;
};
SignalAction g_start_actions[NSIG];

SignalAction ActionOf(int sig) {
  struct sigaction sa {};
  if (sigaction(sig, nullptr, &sa) != 0) return SignalAction{0, -1};  // glibc's own, SIGKILL, SIGSTOP
  return SignalAction{reinterpret_cast<uintptr_t>(sa.sa_handler), sa.sa_flags};
}

void RecordSignalActions() {
  for (int sig = 1; sig < NSIG; ++sig) g_start_actions[sig] = ActionOf(sig);
}

// The personality slot thread 0 starts with (main's): it runs the image's constructors.
int g_start_personality = -1;

// The seccomp filters of thread `tid`, or -1 when the kernel does not say (before Linux 5.9).
int SeccompFilters(pid_t tid) {
  int fd = OpenTaskStatus(tid);
  if (fd < 0) return -1;
  long n = -1;
  if (ReadStatusField(fd, "Seccomp_filters:", &n) <= 0) n = -1;
  close(fd);
  return static_cast<int>(n);
}
int g_start_filters = -1;  // main's, before the image is loaded

// After the image was loaded: its constructors and confide_enclave_start_v1 ran enclave code
// under the start-up filter, which still lets it open files and sockets. What it left open
// would outlive the full filter, which forbids creating descriptors but not using them: the
// start fails, naming the descriptor (closing it instead would hide the image's mistake, and
// its last close could block). Threads first: a thread the image started could open one after
// this check, and would run enclave code on a stack in ordinary memory besides.
void CheckAfterLoad() {
  const char* during = " while the enclave image was loaded (by its constructors or confide_enclave_start_v1)";
  std::string threads;
  for (int tid : ProcEntries("/proc/self/task")) {
    bool known = false;
    for (uint32_t i = 0; i <= g.channel.num_slots() && !known; ++i) known = g.tids[i] == tid;
    if (!known) threads += (threads.empty() ? "" : ", ") + std::to_string(tid);
  }
  if (!threads.empty())
    Fail("a thread was started" + std::string(during) + " and still runs (thread " + threads +
         "): enclave code runs on the slot threads only");
  // A handler of the image's would take the place of the runtime's: SIGSYS's would let a
  // forbidden system call fail quietly instead of ending the enclave with the reason, a crash
  // signal's would hide the crash, and any handler may run enclave code on the watchdog thread
  // (ordinary memory) when the signal comes from outside.
  for (int sig = 1; sig < NSIG; ++sig)
    if (!(ActionOf(sig) == g_start_actions[sig])) {
      const char* name = sigabbrev_np(sig);
      Fail("the handling of signal " + std::to_string(sig) + (name ? std::string(" (SIG") + name + ")" : "") +
           " was changed" + during + ": the runtime's handlers report crashes and forbidden system calls");
    }
  // The daemon execs us non-dumpable and Harden() keeps it so; a library in the image that
  // makes the process dumpable again (some servers do, for core dumps) would open it to every
  // process of its user that holds the capabilities it holds: ptrace, /proc/PID/mem. Where
  // the daemon has no CAP_IPC_LOCK to give (Docker), that is any process of the user.
  if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
    Fail("the enclave process was made dumpable" + std::string(during) +
         ": it would be open to ptrace and /proc/PID/mem by the processes of its user");
  // Descriptors 0 to 6 as they were at start (closing 0 and opening a file gets 0, dup2 can
  // replace any of them), before anything is opened here.
  for (int fd = 0; fd <= kPlatformFd; ++fd)
    if (!(IdentityOf(fd) == g_start_fds[fd]))
      Fail(DescribeFd(fd) + (g_start_fds[fd].open ? " was replaced" : " was opened") + during +
           ": enclave code may not keep descriptors beyond those it was started with");
  std::vector<int> extra = ExtraDescriptors();
  if (!extra.empty()) {
    std::string names;
    for (int fd : extra) names += (names.empty() ? "" : ", ") + DescribeFd(fd);
    Fail(names + (extra.size() == 1 ? " was" : " were") + " left open" + during +
         ": enclave code may not keep descriptors beyond those it was started with");
  }
  // The start-up filter allows seccomp: a filter the image adds stays on top of the runtime's
  // and may refuse the runtime's own system calls (one that made poll fail silenced the
  // lifeline checks, and the enclave outlived its host). Every thread has the filters main had
  // before the load: the start-up filter and any the runtime was started under (a container's).
  for (uint32_t i = 0; i <= g.channel.num_slots(); ++i)
    if (int n = SeccompFilters(g.tids[i]); n != g_start_filters)
      Fail("a seccomp filter was installed" + std::string(during) + " (thread " + std::to_string(g.tids[i]) +
           " has " + std::to_string(n) + ", not " + std::to_string(g_start_filters) +
           "): it could refuse the runtime's own system calls");
}

// ------------------------------------------------------------------ step 2: channel
void MapChannel() {
  struct stat st {};
  fstat(kChannelFd, &st);
  size_t size = static_cast<size_t>(st.st_size);
  if (size < sizeof(ChannelHeader)) Fail("the call channel memfd is smaller than its header");
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, kChannelFd, 0);
  if (base == MAP_FAILED) Fail("mapping the call channel failed: " + Errno(errno));
  Channel ch(base, size);
  Status v = ch.Validate();
  if (!v.ok()) Fail(v.message());
  g.channel = ch;
  for (uint32_t i = 0; i < g.channel.num_slots(); ++i) {
    g.control[i] = &ch.control(i);
    g.data[i] = ch.data(i);
  }
  g.header = &ch.header();
}

// ------------------------------------------------------------------ step 3: image + heap
image::EnclaveConfig LoadConfig() {
  struct stat st {};
  fstat(kImageFd, &st);
  g.image_size = static_cast<size_t>(st.st_size);
  void* p = mmap(nullptr, g.image_size, PROT_READ, MAP_SHARED, kImageFd, 0);
  if (p == MAP_FAILED) Fail("mapping the image memfd failed: " + Errno(errno));
  g.image = static_cast<const uint8_t*>(p);
  // The daemon verified this memfd in full before it sealed it and handed it over, and
  // CheckDescriptors saw the seals, so these bytes are the ones it measured. Checked again
  // here: the signature, the signed fields and the ELF's hash (any changed byte is refused,
  // and the heap, stack and thread counts and Debug used below are the signer's, whoever
  // started us); not recomputed: MRENCLAVE, which this process does not use (the daemon
  // reports identity) and which cost ~1 ms of every launch.
  auto img = image::LoadAndVerifyExceptMeasurement(ByteSpan(g.image, g.image_size));
  if (!img.ok()) Fail("the enclave image does not verify: " + img.status().message());
  if (img->config.num_tcs != g.channel.num_slots())
    Fail("the call channel has " + std::to_string(g.channel.num_slots()) + " slots but the signed image's NumTCS is " +
         std::to_string(img->config.num_tcs));
  return img->config;
}

// Why the enclave gets no secret memory, from the errno memfd_secret or its mapping failed
// with: the kernel lacks it, or the locked-memory limit (which every secret mapping counts
// against in full) is too small: a daemon run by a user other than root cannot raise it.
bool KernelLacksSecretMemory(int err) { return err == ENOSYS || err == EPERM || err == EINVAL; }

std::string NoSecretMemory(int err) {
  if (err == EPERM)  // secretmem disabled, or a filter (a container's seccomp profile) refuses the call
    return "no memfd_secret here (" + Errno(err) + ": not enabled, or refused by a seccomp filter)";
  if (KernelLacksSecretMemory(err)) return "no memfd_secret on this kernel (" + Errno(err) + ")";
  // With CAP_IPC_LOCK (the daemon's enclaves hold it) the limit does not apply.
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct caps[2] = {};
  const bool ipc_lock = syscall(SYS_capget, &hdr, caps) == 0 && (caps[0].effective & (1u << CAP_IPC_LOCK)) != 0;
  if ((err == EAGAIN || err == ENOMEM) && !ipc_lock) {
    rlimit lock{};
    getrlimit(RLIMIT_MEMLOCK, &lock);
    std::string limit = lock.rlim_cur == RLIM_INFINITY ? "unlimited" : std::to_string(lock.rlim_cur >> 10) + " KiB";
    return "RLIMIT_MEMLOCK (" + limit + ") is too small for the secret memory (" + Errno(err) +
           "; raise ulimit -l, or use a platform daemon run as root)";
  }
  return "secret memory could not be mapped (" + Errno(err) + ")";
}

void CreateHeap(const image::EnclaveConfig& cfg) {
  size_t bytes = static_cast<size_t>(cfg.num_heap_pages) * kPage;
  int err = 0;
  void* heap = MapSecret(bytes, nullptr, &err);
  const int boot_err = BootstrapArenaSecretError();
  if (heap == nullptr || boot_err != 0) {
    const int cause = boot_err != 0 ? boot_err : err;
    const std::string why = NoSecretMemory(cause);
    if (!cfg.debug)
      Fail("a production (Debug=0) enclave never runs without secret memory: " + why +
           (KernelLacksSecretMemory(cause) ? std::string("; ") + kSecretMemRequirement : ""));
    g.secret_memory = false;
    const std::string warn =
        "warning: " + why + ": this debug enclave runs on ordinary memory, readable by root and its user";
    fprintf(stderr, "confide-enclave-runtime: %s\n", warn.c_str());
    snprintf(g.header->reason, sizeof g.header->reason, "%s", warn.c_str());
    if (heap == nullptr) heap = MapOrdinary(bytes, &err);
    if (heap == nullptr) Fail("allocating the enclave heap failed: " + Errno(err));
  }
  SecretHeap& h = ProcessHeap();
  AddRegion(h.arena(0).base(), h.arena(0).size(), RegionKind::kBootstrap, 0);
  if (!h.AddArena(heap, bytes)) Fail("cannot add the enclave heap to the allocator");
  AddRegion(static_cast<uint8_t*>(heap), bytes, RegionKind::kHeap, h.arena_count() - 1);
}

void* Secret(size_t bytes, void* fixed, const char* what) {
  int err = 0;
  void* p = MapSecret(bytes, fixed, &err);
  if (p == nullptr && !g.secret_memory) {
    p = fixed == nullptr ? MapOrdinary(bytes, &err)
                         : mmap(fixed, PageUp(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                                -1, 0);
    if (p == MAP_FAILED) p = nullptr;
  }
  if (p == nullptr) Fail(std::string("mapping secret memory for ") + what + " failed: " + Errno(err));
  return p;
}

// ------------------------------------------------------------------ slots
struct SlotThread {
  pthread_t thread;
  uint8_t* stack;
  size_t stack_bytes;
  uint8_t* alt;
};
SlotThread g_threads[kMaxSlots];
std::atomic<uint32_t> g_registered{0};
std::atomic<uint32_t> g_go{0};
std::atomic<uint32_t> g_load_done{0};  // 1 ok, 2 failed
std::string* g_load_error = nullptr;
thread_local int t_slot = -1;

uint32_t Load32(const uint32_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
uint64_t Load64(const uint64_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

// A response (tamper, crash, host gone) is under way: the responding thread wipes the secret
// memory and ends the process. This thread does nothing more until then.
[[noreturn]] void Park() {
  timespec ts{1, 0};
  for (;;) nanosleep(&ts, nullptr);
}

// Called by a slot thread before it hands anything the host sent (an ecall request, an ocall
// reply) to enclave code or answers it. Respond() sets g.dying (seq_cst) before it publishes
// the new state and before it wipes anything, and a request reaches this thread through the
// slot's state word (acquire): a request sent after the host saw kLost/kExited/kCrashed, or
// read here after the response began, finds g.dying set. A call that passed this check just
// before the response began runs on while its memory is wiped, like any call already running
// then; none starts afterwards.
void ParkIfResponding() {
  if (g.dying.load(std::memory_order_seq_cst) != 0) Park();
}

// After a wake-up that brought no request.
Status SlotAlive() {
  ParkIfResponding();
  CheckLifeline();
  CheckTracer(t_slot + 1);  // a tracer that stopped the watchdog but let us run
  return Status::Ok();
}

// SlotControl::flags of the slot's current ecall: a hint from the host, trusted for nothing.
uint16_t Flags(uint32_t slot) { return __atomic_load_n(&g.control[slot]->flags, __ATOMIC_ACQUIRE); }

// Slot threads sleep without a timeout (no timer armed per sleep, no wake-ups while idle): the
// watchdog does the periodic checks, and the host's death ends the process through it.
WaitPolicy Policy(uint16_t flags) {
  WaitPolicy p;
  p.spin_ns = (flags & kSwitchless) != 0 ? kSpinSwitchlessNs : kSpinNs;
  p.check_ms = 0;
  return p;
}

std::atomic<uint64_t> g_watchdog_round{0};  // MonotonicNs() at the end of its last round

// For a slot thread about to serve a call: if the watchdog has stopped (only a tracer can
// stop one thread of a process), do its checks before running anything, so calls are not
// served while a tracer holds it.
void CheckWatchdog() {
  if (MonotonicNs() - g_watchdog_round.load(std::memory_order_relaxed) < kWatchdogStaleNs) return;
  CheckLifeline();
  CheckAllTracers();
}

void WriteError(uint32_t slot, Code code, const char* msg) {
  size_t n = std::min<size_t>(strlen(msg), g.channel.slot_data_bytes());
  memcpy(g.data[slot], msg, n);
  g.control[slot]->length = n;
  g.control[slot]->code = static_cast<int32_t>(code);
}

// Runs the ecall waiting in `slot` and publishes its reply; `flags` are the request's, read
// with it. Returns whether the host was asleep (had to be woken for the reply).
bool ServeEcall(uint32_t slot, uint16_t flags) {
  ParkIfResponding();
  SlotControl& c = *g.control[slot];
  uint32_t id = Load32(&c.call_id);
  uint64_t len = Load64(&c.length);
  const uint64_t room = g.channel.slot_data_bytes();
  if (len > room) {
    WriteError(slot, Code::kOutOfRange, "the request length in the call channel exceeds the slot size");
  } else {
    size_t out_len = 0;
    // The trusted runtime copies the request into enclave memory and wipes it here before it
    // runs anything, so the reply may reuse the same slot data.
    int32_t code;
    if ((id & kValueCall) == 0)
      code = g.entry.ecall(slot, id, g.data[slot], len, g.data[slot], room, &out_len);
    else
      code = g.entry.call_values(slot, id & ~kValueCall, g.data[slot], len, g.data[slot], room, &out_len);
    if (out_len > room) {
      WriteError(slot, Code::kInternal, "the enclave produced a reply larger than the call channel slot");
    } else {
      c.length = out_len;
      c.code = code;
    }
  }
  return PublishState(c, Side::kEnclave, SlotState::kEcallReply, (flags & kDemote) != 0);
}

// The host moves a slot's hot line between calls (HandOffTuner): the slot goes on at the line in
// call_id. A line out of range gets an error reply on the old line, which the slot keeps.
void MoveSlot(uint32_t slot) {
  SlotControl& c = *g.control[slot];
  uint32_t line = Load32(&c.call_id);
  if (line >= kHotLines) {
    WriteError(slot, Code::kInvalidArgument, "the host moved a call channel slot to a hot line out of range");
    PublishState(c, Side::kEnclave, SlotState::kEcallReply, false);
    return;
  }
  g.control[slot] = &g.channel.control(slot, line);
  g.data[slot] = g.channel.data(slot, line);
}

int32_t HostOcall(void*, uint32_t slot, uint32_t id, uint8_t* in, size_t in_len, uint8_t* out, size_t cap,
                  size_t* out_len) {
  *out_len = 0;
  auto fail = [&](Code code, const char* msg) {
    size_t n = strlen(msg);
    if (n > cap) n = cap;
    memcpy(out, msg, n);
    *out_len = n;
    return static_cast<int32_t>(code);
  };
  if (t_slot < 0 || static_cast<uint32_t>(t_slot) != slot)
    return fail(Code::kInternal, "ocall made from a thread that does not own the slot");
  if (in_len > g.channel.slot_data_bytes())
    return fail(Code::kOutOfRange, "the ocall frame is larger than the call channel slot");
  SlotControl& c = *g.control[slot];
  memcpy(g.data[slot], in, in_len);
  c.call_id = id;
  c.length = in_len;
  c.code = 0;
  PublishState(c, Side::kEnclave, SlotState::kOcallRequest, (Flags(slot) & kDemote) != 0);
  for (;;) {
    Status w = WaitForState(
        c, Side::kEnclave, Policy(Flags(slot)),
        [](SlotState s) { return s == SlotState::kOcallReply || s == SlotState::kEcallRequest; },
        [] { return SlotAlive(); });
    if (!w.ok()) return fail(w.code(), "waiting for the host failed");
    // Neither a nested ecall nor the ocall's reply goes to enclave code once a response has
    // begun, nor while a tracer holds the watchdog: the host's ocall handler may take as long
    // as it likes, and root may stop the watchdog meanwhile (checked on every return here, not
    // only after a sleep: a clock read, next to an ocall round trip).
    ParkIfResponding();
    CheckWatchdog();
    if (static_cast<SlotState>(c.state.load(std::memory_order_acquire)) == SlotState::kEcallRequest) {
      ServeEcall(slot, Flags(slot));  // a nested ecall from the host's ocall handler; the trusted runtime admits it or not
      continue;
    }
    break;
  }
  uint64_t len = std::min<uint64_t>(Load64(&c.length), g.channel.slot_data_bytes());
  size_t n = len < cap ? static_cast<size_t>(len) : cap;
  memcpy(out, g.data[slot], n);
  // A length beyond `cap` is reported as such: the trusted runtime refuses it with a message.
  *out_len = static_cast<size_t>(len);
  return __atomic_load_n(&c.code, __ATOMIC_ACQUIRE);
}

confide_host_v1 g_host{abi::kAbiVersion, nullptr, HostOcall, nullptr, PlatformCall, CONFIDE_HOST_DEDICATED_SLOTS};

// ------------------------------------------------------------------ step 4: loading
struct FindArgs {
  uintptr_t base;
  const char* name;
  const ElfW(Phdr) * phdr;
  int phnum;
};

int FindObject(dl_phdr_info* info, size_t, void* arg) {
  auto* a = static_cast<FindArgs*>(arg);
  if (info->dlpi_addr == a->base && info->dlpi_name != nullptr && strcmp(info->dlpi_name, a->name) == 0) {
    a->phdr = info->dlpi_phdr;
    a->phnum = info->dlpi_phnum;
    return 1;
  }
  return 0;
}

// Replaces [start, start+len) by secret memory with the same contents, atomically (mremap of
// a filled secret mapping over the range).
void MoveToSecret(uint8_t* start, size_t len, const char* what) {
  uint8_t* tmp = static_cast<uint8_t*>(Secret(len, nullptr, what));
  memcpy(tmp, start, len);
  // The old pages go back to the kernel when replaced; zero them first so the image's
  // initial data (written by its constructors) does not linger in freed memory.
  if (mprotect(start, len, PROT_READ | PROT_WRITE) != 0)
    Fail(std::string("making ") + what + " writable failed: " + Errno(errno));
  explicit_bzero(start, len);
  void* r = mremap(tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, start);
  if (r == MAP_FAILED) Fail(std::string("moving ") + what + " into secret memory failed: " + Errno(errno));
}

std::string LoadImage() {
  void* handle = dlopen("/proc/self/fd/3", RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* e = dlerror();
    return std::string("the enclave image could not be loaded: ") + (e ? e : "unknown dlopen error");
  }
  auto start = reinterpret_cast<confide_enclave_start_v1_fn>(dlsym(handle, "confide_enclave_start_v1"));
  if (start == nullptr)
    return "the enclave image has no entry point confide_enclave_start_v1: link it with confide::trusted "
           "(confide_add_enclave does this)";
  link_map* lm = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || lm == nullptr) return "dlinfo on the enclave image failed";
  FindArgs fa{lm->l_addr, lm->l_name, nullptr, 0};
  dl_iterate_phdr(FindObject, &fa);
  if (fa.phdr == nullptr) return "the loaded enclave image was not found among the process's objects";

  const ElfW(Phdr)* relro = nullptr;
  for (int i = 0; i < fa.phnum; ++i)
    if (fa.phdr[i].p_type == PT_GNU_RELRO) relro = &fa.phdr[i];
  for (int i = 0; i < fa.phnum; ++i) {
    const ElfW(Phdr)& ph = fa.phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    if ((ph.p_flags & PF_W) && (ph.p_flags & PF_X))
      return "the enclave image has a segment that is both writable and executable; secret memory cannot hold code";
    if (!(ph.p_flags & PF_W)) {
      // Code and read-only data: stays a read-only mapping of the sealed memfd, and is
      // compared with it (integrity check).
      if (!(ph.p_flags & PF_R)) continue;
      if (ph.p_offset + ph.p_filesz > g.image_size || g.code_count == kMaxCodeRanges) continue;
      g.code[g.code_count++] =
          CodeRange{reinterpret_cast<const uint8_t*>(lm->l_addr + ph.p_vaddr), g.image + ph.p_offset, ph.p_filesz};
      continue;
    }
    uintptr_t s = PageDown(lm->l_addr + ph.p_vaddr);
    uintptr_t e = PageUp(lm->l_addr + ph.p_vaddr + ph.p_memsz);
    MoveToSecret(reinterpret_cast<uint8_t*>(s), e - s, "the image's writable segment");
    bool ro = false;
    if (relro != nullptr) {
      // As ld.so protected it: whole pages from the start of RELRO to the page holding its end.
      uintptr_t rs = PageDown(lm->l_addr + relro->p_vaddr);
      uintptr_t re = PageDown(lm->l_addr + relro->p_vaddr + relro->p_memsz);
      if (rs < s) rs = s;
      if (re > e) re = e;
      if (rs < re) {
        if (mprotect(reinterpret_cast<void*>(rs), re - rs, PROT_READ) != 0)
          return "re-protecting the image's RELRO pages failed: " + Errno(errno);
        AddRegion(reinterpret_cast<uint8_t*>(rs), re - rs, RegionKind::kImageData, -1, true);
        ro = true;
        if (rs > s) AddRegion(reinterpret_cast<uint8_t*>(s), rs - s, RegionKind::kImageData);
        if (re < e) AddRegion(reinterpret_cast<uint8_t*>(re), e - re, RegionKind::kImageData);
      }
    }
    if (!ro) AddRegion(reinterpret_cast<uint8_t*>(s), e - s, RegionKind::kImageData);
  }
  char err[256];
  if (!CodeIntact(err, sizeof err)) return err;
  confide_enclave_v1 entry{};
  int32_t rc = start(&g_host, g.channel.num_slots(), &entry);
  if (rc != 0 || entry.abi_version != abi::kAbiVersion || entry.ecall == nullptr || entry.terminate == nullptr ||
      entry.call_values == nullptr)
    return "the enclave refused to start (code " + std::to_string(rc) +
           "): its ABI version or tables do not match this runtime; rebuild it against this confide";
  g.entry = entry;
  return "";
}

// ------------------------------------------------------------------ slot threads
// Moves the calling thread off `cpu` when it may run elsewhere, at most once per
// kLeaveCpuEveryNs. A switchless slot thread on its host's CPU must sleep after every reply,
// so every call pays two futex wake-ups (~4 us instead of ~0.25 us), and the kernel's wake-up
// placement keeps the pair there: each wakes the other on its own CPU, and the other CPUs
// stay idle. Forbidding the CPU for a moment migrates the thread; the old mask comes back at
// once, and the thread stays where it went until a wake-up places it again.
constexpr uint64_t kLeaveCpuEveryNs = 1'000'000;
bool LeaveCpu(int cpu, uint64_t& last_ns) {
  const uint64_t now = MonotonicNs();
  if (cpu < 0 || cpu >= CPU_SETSIZE || now - last_ns < kLeaveCpuEveryNs) return false;
  last_ns = now;
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || !CPU_ISSET(cpu, &allowed) || CPU_COUNT(&allowed) < 2)
    return false;
  cpu_set_t others = allowed;
  CPU_CLR(cpu, &others);
  if (sched_setaffinity(0, sizeof others, &others) != 0) return false;
  // The mask goes back unless someone (taskset, a test pinning the thread) set another since
  // it was read: that one stays. (A change between this check and the restore is still lost.)
  cpu_set_t current;
  if (sched_getaffinity(0, sizeof current, &current) == 0 && CPU_EQUAL(&current, &others))
    sched_setaffinity(0, sizeof allowed, &allowed);
  return sched_getcpu() != cpu;
}

void* SlotMain(void* arg) {
  auto slot = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(arg));
  t_slot = static_cast<int>(slot);
  SetAltStack(g_threads[slot].alt, kAltStackBytes);
  g.tids[slot + 1] = static_cast<pid_t>(syscall(SYS_gettid));
  if (slot == 0) {
    std::string err = LoadImage();
    // READ_IMPLIES_EXEC makes mprotect add PROT_EXEC to every readable protection of ordinary
    // memory, which the full filter (mprotect only without PROT_EXEC) cannot see: enclave code
    // could write code and run it. A personality is per thread; the full filter refuses it.
    if (err.empty() && personality(0xffffffff) != g_start_personality)
      err = "the personality of the thread that loaded the enclave image was changed (by its constructors or "
            "confide_enclave_start_v1): READ_IMPLIES_EXEC would let enclave code make memory executable";
    if (!err.empty()) g_load_error = new std::string(err);
    g_load_done.store(err.empty() ? 1 : 2);
    FutexWake(g_load_done);
  }
  g_registered.fetch_add(1);
  FutexWake(g_registered);
  while (g_go.load() == 0) FutexWait(g_go, 0, 100);

  bool woke_host = false;
  bool replied = false;            // the last thing this thread did was an ecall's reply
  bool slept_before_move = false;  // a move does not spare the request after it the checks
  uint32_t calls = 0;
  uint64_t left_cpu_ns = 0;
  // The last request's hints, read with the request: after the reply the host takes the line,
  // and a read of it here would only take it back.
  uint16_t flags = 0;
  int host_cpu = -1;
  for (;;) {
    // A host that had to be woken for the last reply sends its next request no sooner than
    // a wake-up latency later: sleep at once rather than spin (unless it asked to spin).
    // So does a host that sent it from this thread's CPU: waking this thread preempted it,
    // and it cannot go on while this thread spins. A switchless caller wants this thread on
    // another CPU, so it moves there first if it can.
    SlotControl& c = *g.control[slot];
    WaitPolicy policy = Policy(flags);
    bool on_host_cpu = OnHostCpu(host_cpu);
    if (on_host_cpu && policy.spin_ns == kSpinSwitchlessNs && LeaveCpu(sched_getcpu(), left_cpu_ns))
      on_host_cpu = false;
    if ((woke_host && policy.spin_ns == kSpinNs) || on_host_cpu) policy.spin_ns = 0;
    if (replied && policy.spin_ns != 0) BackOff(SlotBackOff(flags));
    bool slept = false;
    Status w = WaitForState(
        c, Side::kEnclave, policy, [](SlotState s) { return s == SlotState::kEcallRequest || s == SlotState::kMove; },
        [] { return SlotAlive(); }, &slept);
    if (!w.ok()) continue;
    replied = false;
    if (static_cast<SlotState>(c.state.load(std::memory_order_acquire)) == SlotState::kMove) {
      slept_before_move |= slept;
      MoveSlot(slot);
      continue;
    }
    // After every sleep, and every 1024th call of a stream that never sleeps (switchless).
    ParkIfResponding();
    if (slept || slept_before_move || (++calls & 1023) == 0) CheckWatchdog();
    slept_before_move = false;
    flags = Flags(slot);
    host_cpu = __atomic_load_n(&c.host_cpu, __ATOMIC_RELAXED);
    woke_host = ServeEcall(slot, flags);
    replied = !woke_host;
  }
  return nullptr;
}

void StartThread(uint32_t slot, size_t stack_pages) {
  SlotThread& t = g_threads[slot];
  t.stack_bytes = PageUp(stack_pages * kPage + kThreadOverhead);
  // A PROT_NONE guard page below the stack: an overflow faults instead of running into
  // other memory.
  void* reserve = mmap(nullptr, t.stack_bytes + kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserve == MAP_FAILED) Fail("reserving a thread stack failed: " + Errno(errno));
  t.stack = static_cast<uint8_t*>(Secret(t.stack_bytes, static_cast<uint8_t*>(reserve) + kPage, "a thread stack"));
  t.alt = static_cast<uint8_t*>(Secret(kAltStackBytes, nullptr, "a signal stack"));
  AddRegion(t.stack, t.stack_bytes, RegionKind::kStack);
  AddRegion(t.alt, kAltStackBytes, RegionKind::kAltStack);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstack(&attr, t.stack, t.stack_bytes);
  int rc = pthread_create(&t.thread, &attr, SlotMain, reinterpret_cast<void*>(static_cast<uintptr_t>(slot)));
  pthread_attr_destroy(&attr);
  if (rc != 0) Fail("creating thread slot " + std::to_string(slot) + " failed: " + Errno(rc));
}

int OpenStatus(pid_t tid) {
  int fd = OpenTaskStatus(tid);
  if (fd < 0)
    Fail("cannot open /proc/self/task/" + std::to_string(tid) + "/status: " + Errno(errno));
  return fd;
}

[[noreturn]] void Watchdog() {
  timespec period{0, kWatchdogPeriodMs * 1000000L};
  for (;;) {
    clock_nanosleep(CLOCK_MONOTONIC, 0, &period, nullptr);
    CheckLifeline();
    CheckAllTracers();
    CheckCodeIntegrity(kIntegrityBytesPerTick);
    g_watchdog_round.store(MonotonicNs(), std::memory_order_relaxed);
  }
}

}  // namespace
}  // namespace confide::soft::rt

int main(int argc, char** argv) {
  using namespace confide::soft;
  using namespace confide::soft::rt;
  Harden();
  char start_err[256];
  if (!InstallStartFilter(start_err, sizeof start_err)) Fail(start_err);
  if (argc > 1) {
    fprintf(stderr, "usage: %s (no arguments; started by the confide platform daemon)\n", argv[0]);
    return 2;
  }
  CheckDescriptors();
  g.pid = getpid();
  MapChannel();
  InstallCrashHandlers();
  RecordSignalActions();
  g_start_personality = personality(0xffffffff);
  g_start_filters = SeccompFilters(static_cast<pid_t>(syscall(SYS_gettid)));
  static uint8_t main_alt[kAltStackBytes];  // the watchdog holds no secrets
  SetAltStack(main_alt, sizeof main_alt);
  confide::image::EnclaveConfig cfg = LoadConfig();
  g.debug = cfg.debug;
  CreateHeap(cfg);

  // Slot 0 loads the image, so the image's constructors and the enclave's start already run
  // on a secret stack.
  StartThread(0, cfg.num_stack_pages);
  while (g_load_done.load() == 0) FutexWait(g_load_done, 0, 100);
  if (g_load_done.load() != 1) Fail(*g_load_error);
  for (uint32_t i = 1; i < g.channel.num_slots(); ++i) StartThread(i, cfg.num_stack_pages);
  for (uint32_t n; (n = g_registered.load()) < g.channel.num_slots();) FutexWait(g_registered, n, 100);

  g.tids[0] = static_cast<pid_t>(syscall(SYS_gettid));
  // From here to the full filter only the runtime runs: the slot threads wait for g_go.
  CheckAfterLoad();
  for (uint32_t i = 0; i <= g.channel.num_slots(); ++i) g.status_fds[i] = OpenStatus(g.tids[i]);
  char err[256];
  if (!InstallSeccomp(err, sizeof err)) Fail(err);

  g_watchdog_round.store(MonotonicNs(), std::memory_order_relaxed);  // as if a round had just ended
  g_go.store(1);
  FutexWake(g_go);
  g.header->enclave_state.store(static_cast<uint32_t>(EnclaveState::kReady), std::memory_order_seq_cst);
  FutexWake(g.header->enclave_state);
  Watchdog();
}
