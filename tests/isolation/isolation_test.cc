// Isolation of the soft backend, with real processes: samples/vault holds a random marker in a
// soft enclave while this test attacks it from the host side, as root and as the unprivileged
// user 'nobody', through every interface Linux offers for reading another process: ptrace
// peeks, /proc/PID/mem, process_vm_readv, core dumps (kernel and gcore), and a scan of every
// page of the enclave process, the host process (which wiped its copy) and the daemon,
// including the shared call channel. None may reveal the marker; each attack's specific
// outcome is asserted. Positive controls run the same attacks on a process that keeps the
// marker in ordinary memory and must find it there.
//
// Needs root (it switches to 'nobody' in forked children, raises no limits of its own, and
// runs a platform daemon as root as production would); it fails, never skips, without.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "confide/bytes.h"
#include "confide/crypto.h"
#include "isolation/attack.h"
#include "support/proc_stat.h"

namespace isolation {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kHoldSeconds = 600;  // ended early with SIGUSR1 once the attacks are done
constexpr size_t kPage = 4096;
constexpr long kWordsPerPage = kPage / sizeof(long);

// Strings that must be readable in each target: they show that a scan which found no marker
// did read that process's ordinary memory.
const char* const kEnclaveControl = "tamper response: a tracer (pid ";    // runtime .rodata
const char* const kHostControl = "the enclave holds no secret (vault_digest";  // vault_host .rodata

std::string Slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string RandomHex(size_t bytes) {
  confide::Bytes b(bytes);
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = getrandom(b.data() + got, bytes - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  return confide::HexEncode(b);
}

bool ProcessExists(pid_t pid) { return kill(pid, 0) == 0 || errno == EPERM; }

// Waits for a child to exit; returns its exit status, 128+signal, or -1 on timeout.
int WaitChild(pid_t pid, std::chrono::seconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0 || Clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool WaitGone(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    std::string state = confide::testing::StatField(pid, 3);
    if (state.empty() || state == "Z") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

struct Nobody {
  uid_t uid = 65534;
  gid_t gid = 65534;
};

Nobody FindNobody() {
  Nobody n;
  if (passwd* pw = getpwnam("nobody")) {
    n.uid = pw->pw_uid;
    n.gid = pw->pw_gid;
  }
  return n;
}

// Runs a program in `dir` with stdout and stderr going to files there; returns its pid.
pid_t Spawn(const fs::path& dir, const std::string& name, const std::vector<std::string>& argv, int stdin_fd = -1,
            const Nobody* as = nullptr, const std::string& socket = "") {
  int out = open((dir / (name + ".out")).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  int err = open((dir / (name + ".err")).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  pid_t pid = fork();
  if (pid == 0) {
    if (stdin_fd >= 0) dup2(stdin_fd, 0);
    dup2(out, 1);
    dup2(err, 2);
    if (chdir(dir.c_str()) != 0) _exit(126);
    if (socket.empty()) unsetenv("CONFIDE_PLATFORM_SOCKET");
    else setenv("CONFIDE_PLATFORM_SOCKET", socket.c_str(), 1);
    if (as != nullptr && (setgroups(0, nullptr) != 0 || setgid(as->gid) != 0 || setuid(as->uid) != 0)) {
      dprintf(2, "cannot switch to uid %d: %s\n", static_cast<int>(as->uid), strerror(errno));
      _exit(126);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    dprintf(2, "cannot run %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  close(out);
  close(err);
  return pid;
}

// A process that keeps `marker` at the start of a page of ordinary heap memory: the positive
// control for every attack.
class MarkerHolder {
 public:
  MarkerHolder(const std::string& marker, const fs::path& cwd, const Nobody* as, bool allow_core) {
    int p[2];
    EXPECT_EQ(pipe(p), 0);
    pid_ = fork();
    if (pid_ == 0) {
      close(p[0]);
      if (chdir(cwd.c_str()) != 0) _exit(126);
      if (as != nullptr && (setgroups(0, nullptr) != 0 || setgid(as->gid) != 0 || setuid(as->uid) != 0)) _exit(126);
      // Changing uid made us non-dumpable; an ordinary program of that user is dumpable.
      prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
      if (allow_core) {
        rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
        setrlimit(RLIMIT_CORE, &unlimited);
      }
      void* page = nullptr;
      if (posix_memalign(&page, kPage, kPage) != 0) _exit(125);
      std::memset(page, 0, kPage);
      std::memcpy(page, marker.data(), marker.size());
      uintptr_t addr = reinterpret_cast<uintptr_t>(page);
      if (write(p[1], &addr, sizeof addr) != sizeof addr) _exit(124);
      for (;;) pause();
    }
    close(p[1]);
    EXPECT_EQ(read(p[0], &addr_, sizeof addr_), static_cast<ssize_t>(sizeof addr_));
    close(p[0]);
  }
  ~MarkerHolder() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  Mapping page() const { return Mapping{addr_, addr_ + kPage, "rw-p", "[heap]"}; }
  // Sends `sig` and reaps the holder; returns its wait status.
  int KillWith(int sig) {
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  uintptr_t addr_ = 0;
};

class IsolationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "the isolation tests must run as root: they attack the enclave as root and, "
                                "switching to 'nobody' in forked children, as an unprivileged user, and they "
                                "run a platform daemon as root the way production does. Run 'ctest -L isolation' "
                                "as root (CI does).";
    char tmpl[] = "/tmp/confide-isolation-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr) << strerror(errno);
    dir_ = tmpl;
    // 'nobody' must reach the daemon's socket and its own output files here.
    chmod(dir_.c_str(), 0755);
    nobody_ = FindNobody();
    marker_hex_ = RandomHex(16);
    marker_ = "confide-isolation-marker-" + marker_hex_;
    // The random part, and each half of it (8 random bytes) on its own: a partial copy counts.
    needles_ = {marker_hex_, marker_hex_.substr(0, 16), marker_hex_.substr(16)};
    StartDaemon();
  }

  void TearDown() override {
    if (vault_ > 0) {
      kill(vault_, SIGKILL);
      waitpid(vault_, nullptr, 0);
    }
    if (daemon_ > 0) {
      kill(daemon_, SIGTERM);
      if (WaitChild(daemon_, std::chrono::seconds(5)) < 0) {
        kill(daemon_, SIGKILL);
        waitpid(daemon_, nullptr, 0);
      }
    }
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  // A platform daemon run by root, as in production: it launches each enclave process as the
  // user of the host that asked for it.
  void StartDaemon() {
    socket_ = (dir_ / "platform.sock").string();
    daemon_ = Spawn(dir_, "daemon",
                    {CONFIDE_CLI_PATH, "platform", "start", "--foreground", "--development", "--socket", socket_,
                     "--state", (dir_ / "state").string()});
    auto deadline = Clock::now() + std::chrono::seconds(20);
    while (Clock::now() < deadline) {
      int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);  // the daemon's socket type
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      std::snprintf(a.sun_path, sizeof a.sun_path, "%s", socket_.c_str());
      bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      close(s);
      if (ok) return;
      ASSERT_LT(WaitChild(daemon_, std::chrono::seconds(0)), 0)
          << "the platform daemon exited: " << Slurp(dir_ / "daemon.err");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "the platform daemon did not answer on " << socket_ << " within 20 s: " << Slurp(dir_ / "daemon.err");
  }

  // Starts vault_host on soft with the marker on stdin and waits for "ready".
  void StartVault(bool as_nobody) {
    enclave_ = -1;
    enclave_maps_.clear();
    secret_.clear();
    int in[2];
    ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
    vault_ = Spawn(dir_, "vault", {VAULT_HOST, "--backend", "soft", "--hold", std::to_string(kHoldSeconds)}, in[0],
                   as_nobody ? &nobody_ : nullptr, socket_);
    close(in[0]);
    std::string line = marker_ + "\n";
    ASSERT_EQ(write(in[1], line.data(), line.size()), static_cast<ssize_t>(line.size()));
    close(in[1]);
    auto deadline = Clock::now() + std::chrono::seconds(60);
    for (;;) {
      std::string out = Slurp(dir_ / "vault.out");
      if (out.find("ready\n") != std::string::npos) {
        size_t at = out.find("enclave-pid: ");
        ASSERT_NE(at, std::string::npos) << "vault_host printed no enclave-pid on soft:\n" << out;
        enclave_ = static_cast<pid_t>(std::atol(out.c_str() + at + 13));
        ASSERT_GT(enclave_, 0) << out;
        ASSERT_TRUE(ProcessExists(enclave_)) << "enclave-pid " << enclave_ << " is not a process";
        std::string comm = Slurp("/proc/" + std::to_string(enclave_) + "/comm");
        ASSERT_EQ(comm.rfind("confide-enclave", 0), 0u) << "enclave-pid " << enclave_ << " is '" << comm << "'";
        ASSERT_EQ(ReadMaps(enclave_, &enclave_maps_), 0);
        for (const Mapping& m : enclave_maps_)
          if (m.secret()) secret_.push_back(m);
        // Heap, start-up arena, the image's data, two slot stacks and their signal stacks.
        ASSERT_GE(secret_.size(), 6u) << "the enclave process has too few memfd_secret mappings";
        return;
      }
      int rc = WaitChild(vault_, std::chrono::seconds(0));
      if (rc >= 0) {
        vault_ = -1;
        FAIL() << "vault_host exited with " << rc << " before 'ready':\n"
               << out << Slurp(dir_ / "vault.err") << "daemon: " << Slurp(dir_ / "daemon.err");
      }
      ASSERT_LT(Clock::now(), deadline) << "vault_host did not print 'ready' within 60 s:\n"
                                         << out << Slurp(dir_ / "vault.err");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // Ends the hold and checks the rest of the contract: the enclave still held the marker
  // (so every attack above ran against a live secret) and answers with its SHA-256.
  void ExpectDigestAndExit0() {
    ASSERT_GT(vault_, 0);
    kill(vault_, SIGUSR1);
    int rc = WaitChild(vault_, std::chrono::seconds(60));
    vault_ = -1;
    std::string out = Slurp(dir_ / "vault.out");
    std::string want = confide::HexEncode(confide::crypto::Sha256(
        confide::ByteSpan(reinterpret_cast<const uint8_t*>(marker_.data()), marker_.size())));
    EXPECT_EQ(rc, 0) << out << Slurp(dir_ / "vault.err");
    EXPECT_NE(out.find("digest: " + want + "\n"), std::string::npos) << out;
  }

  // Ends the hold and expects vault_host to report the enclave gone: exit 3, the code name and
  // a distinctive part of the reason on stderr, and no digest.
  void ExpectGone(const std::string& code, const std::string& reason) {
    ASSERT_GT(vault_, 0);
    kill(vault_, SIGUSR1);
    int rc = WaitChild(vault_, std::chrono::seconds(60));
    vault_ = -1;
    std::string out = Slurp(dir_ / "vault.out"), err = Slurp(dir_ / "vault.err");
    EXPECT_EQ(rc, 3) << out << err;
    EXPECT_NE(err.find("vault_host: asking for the digest: " + code + ": "), std::string::npos) << err;
    EXPECT_NE(err.find(reason), std::string::npos) << err;
    EXPECT_EQ(out.find("digest:"), std::string::npos) << out;
  }

  std::vector<std::string> Needles(const char* control) const {
    auto n = needles_;
    n.push_back(control);
    return n;
  }
  void ExpectNoMarker(const Report& r, const std::string& what) const {
    for (size_t i = 0; i < needles_.size(); ++i)
      EXPECT_EQ(Get(r, "found:" + std::to_string(i)), 0) << what << " revealed the marker: " << Describe(r);
  }
  // A readable, non-secret address of the enclave process (its runtime's code).
  uintptr_t EnclaveControlAddress() const {
    for (const Mapping& m : enclave_maps_)
      if (m.perms[0] == 'r' && !m.secret() && m.path.find("confide-enclave-runtime") != std::string::npos)
        return m.start;
    return 0;
  }
  size_t ThreadCount(pid_t pid) const {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) n += e.path().empty() ? 0 : 1;
    return n;
  }

  fs::path dir_;
  Nobody nobody_;
  std::string marker_, marker_hex_;
  std::vector<std::string> needles_;
  std::string socket_;
  pid_t daemon_ = -1;
  pid_t vault_ = -1;
  pid_t enclave_ = -1;
  std::vector<Mapping> enclave_maps_;
  std::vector<Mapping> secret_;
};

// ---------------------------------------------------------------- positive controls
// The attacks must be able to find a marker kept in ordinary memory; otherwise the tests
// below would prove nothing.
TEST_F(IsolationTest, EveryAttackFindsAMarkerInOrdinaryMemory) {
  for (bool unprivileged : {false, true}) {
    SCOPED_TRACE(unprivileged ? "attacker and holder: nobody" : "attacker and holder: root");
    MarkerHolder holder(marker_, dir_, unprivileged ? &nobody_ : nullptr, false);
    pid_t pid = holder.pid();
    std::vector<Mapping> page = {holder.page()};
    auto needles = needles_;
    auto attack = [&](const std::function<Report()>& fn) {
      return unprivileged ? RunAs(nobody_.uid, nobody_.gid, fn) : fn();
    };
    Report scan = attack([&] { return ScanProcessMemory(pid, needles); });
    EXPECT_EQ(Get(scan, "mem_errno"), 0) << Describe(scan);
    EXPECT_GE(Get(scan, "found:0"), 1) << Describe(scan);
    Report vm = attack([&] { return VmReadv(pid, page, needles); });
    EXPECT_EQ(Get(vm, "read_ok"), 1) << Describe(vm);
    EXPECT_EQ(Get(vm, "found:0"), 1) << Describe(vm);
    Report mem = attack([&] { return ProcMemRead(pid, page, needles); });
    EXPECT_EQ(Get(mem, "found:0"), 1) << Describe(mem);
    Report peek = attack([&] { return PtracePeek(pid, page, page[0].start, needles, false); });
    EXPECT_EQ(Get(peek, "attach_errno"), 0) << Describe(peek);
    EXPECT_EQ(Get(peek, "peek_ok"), kWordsPerPage) << Describe(peek);
    EXPECT_EQ(Get(peek, "found:0"), 1) << Describe(peek);
  }
}

TEST_F(IsolationTest, GcoreOfOrdinaryMemoryContainsTheMarker) {
  MarkerHolder holder(marker_, dir_, nullptr, false);
  std::string prefix = (dir_ / "control-core").string();
  pid_t g = Spawn(dir_, "gcore-control", {GCORE_PATH, "-o", prefix, std::to_string(holder.pid())});
  ASSERT_EQ(WaitChild(g, std::chrono::seconds(300)), 0) << Slurp(dir_ / "gcore-control.err");
  Report core = ScanFile(prefix + "." + std::to_string(holder.pid()), needles_);
  EXPECT_EQ(Get(core, "open_errno"), 0) << Describe(core);
  EXPECT_GE(Get(core, "found:0"), 1) << Describe(core);
}

TEST_F(IsolationTest, KernelCoreDumpOfOrdinaryMemoryContainsTheMarker) {
  std::string pattern = Slurp("/proc/sys/kernel/core_pattern");
  if (!pattern.empty() && (pattern[0] == '|' || pattern[0] == '/'))
    GTEST_SKIP() << "core_pattern is '" << pattern
                 << "': cores do not land in the process's directory here, so this control cannot see one; "
                    "the enclave-side check (no core with the marker, core limit 0) still runs";
  fs::path cwd = dir_ / "control-cwd";
  fs::create_directories(cwd);
  MarkerHolder holder(marker_, cwd, nullptr, true);
  int status = holder.KillWith(SIGQUIT);
  ASSERT_TRUE(WIFSIGNALED(status) && WCOREDUMP(status)) << "the control process did not dump core";
  bool found = false;
  for (const auto& e : fs::directory_iterator(cwd))
    if (Get(ScanFile(e.path().string(), needles_), "found:0") > 0) found = true;
  EXPECT_TRUE(found) << "no file in " << cwd << " holds the marker after a kernel core dump";
}

// ---------------------------------------------------------------- root
TEST_F(IsolationTest, RootScanOfEveryReadablePageFindsNoMarker) {
  ASSERT_NO_FATAL_FAILURE(StartVault(false));
  Report enclave = ScanProcessMemory(enclave_, Needles(kEnclaveControl));
  RecordProperty("enclave_scan", Describe(enclave));
  EXPECT_EQ(Get(enclave, "maps_errno"), 0) << Describe(enclave);
  EXPECT_EQ(Get(enclave, "mem_errno"), 0) << Describe(enclave);
  EXPECT_GT(Get(enclave, "pages_read"), 100) << Describe(enclave);
  EXPECT_EQ(Get(enclave, "channel_mappings"), 1) << Describe(enclave);
  EXPECT_GE(Get(enclave, "found:3"), 1) << "the scan did not read the runtime's own strings: " << Describe(enclave);
  // memfd_secret: not one secret page reads, every one fails with EIO, even for root.
  EXPECT_GE(Get(enclave, "secret_mappings"), 6) << Describe(enclave);
  EXPECT_GT(Get(enclave, "secret_pages"), 0) << Describe(enclave);
  EXPECT_EQ(Get(enclave, "secret_pages_read"), 0) << Describe(enclave);
  EXPECT_EQ(Get(enclave, "secret_pages_eio"), Get(enclave, "secret_pages")) << Describe(enclave);
  ExpectNoMarker(enclave, "the enclave process's readable pages");

  // The host wiped its copy; its view of the call channel holds none either.
  Report host = ScanProcessMemory(vault_, Needles(kHostControl));
  EXPECT_EQ(Get(host, "mem_errno"), 0) << Describe(host);
  EXPECT_EQ(Get(host, "channel_mappings"), 1) << Describe(host);
  EXPECT_GE(Get(host, "found:3"), 1) << "the scan did not read vault_host's own strings: " << Describe(host);
  ExpectNoMarker(host, "the host process (vault_host)");

  Report daemon = ScanProcessMemory(daemon_, needles_);
  EXPECT_GT(Get(daemon, "pages_read"), 0) << Describe(daemon);
  ExpectNoMarker(daemon, "the platform daemon");

  ExpectDigestAndExit0();
}

TEST_F(IsolationTest, RootProcMemAndProcessVmReadvOfSecretMemoryFail) {
  ASSERT_NO_FATAL_FAILURE(StartVault(false));
  long n = static_cast<long>(secret_.size());
  Report mem = ProcMemRead(enclave_, secret_, needles_);
  EXPECT_EQ(Get(mem, "open_errno"), 0) << Describe(mem);
  EXPECT_EQ(Get(mem, "errno:" + std::to_string(EIO)), n) << Describe(mem);
  EXPECT_EQ(Get(mem, "read_ok"), 0) << Describe(mem);
  Report vm = VmReadv(enclave_, secret_, needles_);
  EXPECT_EQ(Get(vm, "errno:" + std::to_string(EFAULT)), n) << Describe(vm);
  EXPECT_EQ(Get(vm, "read_ok"), 0) << Describe(vm);
  ExpectNoMarker(mem, "/proc/PID/mem");
  ExpectNoMarker(vm, "process_vm_readv");
  ExpectDigestAndExit0();
}

// Root stops the whole enclave process first, so no enclave thread runs while traced and the
// watchdog never sees the tracer: the attach succeeds, peeks of ordinary memory work, and
// every peek of secret memory still fails with EIO.
TEST_F(IsolationTest, RootPtraceAttachAndPeekOfSecretMemoryFailWithEio) {
  ASSERT_NO_FATAL_FAILURE(StartVault(false));
  size_t threads = ThreadCount(enclave_);
  uintptr_t control = EnclaveControlAddress();
  ASSERT_NE(control, 0u);
  Report peek = PtracePeek(enclave_, secret_, control, needles_, true);
  EXPECT_EQ(Get(peek, "stop_errno"), 0) << Describe(peek);
  EXPECT_EQ(Get(peek, "attach_errno"), 0) << Describe(peek);
  EXPECT_EQ(Get(peek, "threads_attached"), static_cast<long>(threads)) << Describe(peek);
  EXPECT_EQ(Get(peek, "control_ok"), 1) << Describe(peek);
  EXPECT_EQ(Get(peek, "peek_ok"), 0) << Describe(peek);
  EXPECT_EQ(Get(peek, "peek_errno:" + std::to_string(EIO)), kWordsPerPage * static_cast<long>(secret_.size()))
      << Describe(peek);
  ExpectNoMarker(peek, "PTRACE_PEEKDATA");
  ExpectDigestAndExit0();
}

// ---------------------------------------------------------------- tamper response
TEST_F(IsolationTest, ATracerOnTheWatchdogMakesTheEnclaveLost) {
  ASSERT_NO_FATAL_FAILURE(StartVault(false));
  auto t0 = Clock::now();
  ASSERT_EQ(ptrace(PTRACE_SEIZE, enclave_, nullptr, nullptr), 0) << strerror(errno);
  // As its tracer we must collect the traced thread's exit for the process to go away.
  bool gone = false;
  for (auto deadline = t0 + std::chrono::seconds(10); !gone && Clock::now() < deadline;) {
    int status = 0;
    pid_t r = waitpid(enclave_, &status, __WALL | WNOHANG);
    if (r == enclave_ && (WIFEXITED(status) || WIFSIGNALED(status))) gone = true;
    else if (r == enclave_ && WIFSTOPPED(status)) ptrace(PTRACE_CONT, enclave_, nullptr, nullptr);
    else std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  RecordProperty("lost_after_ms", static_cast<int>(ms));
  ASSERT_TRUE(gone) << "the enclave process did not end within 10 s of PTRACE_SEIZE";
  ExpectGone("enclave_lost", "the enclave was lost and its secrets wiped: tamper response: a tracer (pid " +
                                 std::to_string(getpid()) + ") was attached to enclave thread " +
                                 std::to_string(enclave_));
}

TEST_F(IsolationTest, ATracerOnASlotThreadMakesTheEnclaveLost) {
  ASSERT_NO_FATAL_FAILURE(StartVault(false));
  pid_t slot = -1;
  for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(enclave_) + "/task")) {
    pid_t tid = static_cast<pid_t>(std::atol(e.path().filename().c_str()));
    if (tid != enclave_) slot = tid;
  }
  ASSERT_GT(slot, 0);
  ASSERT_EQ(ptrace(PTRACE_SEIZE, slot, nullptr, nullptr), 0) << strerror(errno);
  bool gone = false;
  for (auto deadline = Clock::now() + std::chrono::seconds(10); !gone && Clock::now() < deadline;) {
    int status = 0;
    pid_t r = waitpid(slot, &status, __WALL | WNOHANG);
    if (r == slot && (WIFEXITED(status) || WIFSIGNALED(status))) gone = true;
    else if (r == slot && WIFSTOPPED(status)) ptrace(PTRACE_CONT, slot, nullptr, nullptr);
    else std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(gone) << "the enclave's slot thread did not end within 10 s of PTRACE_SEIZE";
  ExpectGone("enclave_lost", "tamper response: a tracer (pid " + std::to_string(getpid()) +
                                 ") was attached to enclave thread ");
}

// ---------------------------------------------------------------- core dumps
TEST_F(IsolationTest, GcoreByRootWritesNoMarker) {
  ASSERT_NO_FATAL_FAILURE(StartVault(false));
  // Stopped first, as in the ptrace test: gdb attaches to every thread and reads all it can.
  ASSERT_EQ(kill(enclave_, SIGSTOP), 0);
  std::string prefix = (dir_ / "enclave-core").string();
  pid_t g = Spawn(dir_, "gcore", {GCORE_PATH, "-o", prefix, std::to_string(enclave_)});
  int rc = WaitChild(g, std::chrono::seconds(300));
  kill(enclave_, SIGCONT);
  ASSERT_EQ(rc, 0) << Slurp(dir_ / "gcore.out") << Slurp(dir_ / "gcore.err");
  Report core = ScanFile(prefix + "." + std::to_string(enclave_), Needles(kEnclaveControl));
  RecordProperty("core_bytes", static_cast<int>(Get(core, "bytes")));
  EXPECT_EQ(Get(core, "open_errno"), 0) << Describe(core);
  EXPECT_GT(Get(core, "bytes"), 1 << 20) << Describe(core);
  ExpectNoMarker(core, "gcore's core file of the enclave");
  ExpectDigestAndExit0();
}

std::vector<std::string> CoreFiles(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("core", 0) == 0) out.push_back(e.path().string());
  return out;
}

// SIGQUIT's default action is a core dump, and the runtime does not catch it: only the
// kernel's rules decide. Core limit 0 and PR_SET_DUMPABLE 0 mean no core, anywhere.
TEST_F(IsolationTest, KernelCoreDumpOfTheEnclaveWritesNothing) {
  ASSERT_NO_FATAL_FAILURE(StartVault(false));
  std::string limits = Slurp("/proc/" + std::to_string(enclave_) + "/limits");
  EXPECT_NE(limits.find("Max core file size        0                    0"), std::string::npos) << limits;
  fs::path cwd = fs::read_symlink("/proc/" + std::to_string(enclave_) + "/cwd");
  EXPECT_EQ(cwd, "/") << "the enclave runs in /, not in the daemon's directory";
  auto before = CoreFiles(cwd), before_here = CoreFiles(dir_);
  ASSERT_EQ(kill(enclave_, SIGQUIT), 0);
  ASSERT_TRUE(WaitGone(enclave_, std::chrono::seconds(10)));
  ExpectGone("enclave_crashed", "the enclave process (pid " + std::to_string(enclave_) + ") ended unexpectedly");
  EXPECT_EQ(CoreFiles(cwd), before) << "a core file appeared in " << cwd;
  EXPECT_EQ(CoreFiles(dir_), before_here) << "a core file appeared in " << dir_;
  for (const auto& e : fs::recursive_directory_iterator(dir_))
    if (e.is_regular_file()) ExpectNoMarker(ScanFile(e.path().string(), needles_), e.path().string());
}

// SIGSEGV and SIGABRT are caught by the runtime, which reports the crash and exits without a
// core.
TEST_F(IsolationTest, CrashSignalsAreReportedAndWriteNoCore) {
  for (int sig : {SIGSEGV, SIGABRT}) {
    SCOPED_TRACE(strsignal(sig));
    ASSERT_NO_FATAL_FAILURE(StartVault(false));
    auto before = CoreFiles(dir_);
    ASSERT_EQ(kill(enclave_, sig), 0);
    ASSERT_TRUE(WaitGone(enclave_, std::chrono::seconds(10)));
    ExpectGone("enclave_crashed", std::string("the enclave process crashed: the enclave crashed with ") +
                                      (sig == SIGSEGV ? "SIGSEGV" : "SIGABRT"));
    EXPECT_EQ(CoreFiles(dir_), before);
  }
  for (const auto& e : fs::recursive_directory_iterator(dir_))
    if (e.is_regular_file()) ExpectNoMarker(ScanFile(e.path().string(), needles_), e.path().string());
}


// The host runs as 'nobody' (so the root daemon runs its enclave as 'nobody' too), and the
// attacker is 'nobody' as well: the same user as the enclave process, its natural neighbour.
TEST_F(IsolationTest, TheEnclavesOwnUserCannotReadItAndTheHostHoldsNoCopy) {
  ASSERT_NO_FATAL_FAILURE(StartVault(true));
  std::string status = Slurp("/proc/" + std::to_string(enclave_) + "/status");
  EXPECT_NE(status.find("Uid:\t" + std::to_string(nobody_.uid) + "\t"), std::string::npos) << status;
  // Non-dumpable: the kernel gives its /proc files to root, not to the process's user.
  struct stat st {};
  ASSERT_EQ(stat(("/proc/" + std::to_string(enclave_) + "/mem").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);

  pid_t enclave = enclave_, host = vault_;
  auto secret = secret_;
  auto needles = needles_;
  uintptr_t control = EnclaveControlAddress();
  Report scan = RunAs(nobody_.uid, nobody_.gid, [&] { return ScanProcessMemory(enclave, needles); });
  EXPECT_EQ(Get(scan, "maps_errno"), EACCES) << Describe(scan);
  EXPECT_EQ(Get(scan, "mem_errno"), EACCES) << Describe(scan);
  Report mem = RunAs(nobody_.uid, nobody_.gid, [&] { return ProcMemRead(enclave, secret, needles); });
  EXPECT_EQ(Get(mem, "open_errno"), EACCES) << Describe(mem);
  Report vm = RunAs(nobody_.uid, nobody_.gid, [&] { return VmReadv(enclave, secret, needles); });
  EXPECT_EQ(Get(vm, "errno:" + std::to_string(EPERM)), static_cast<long>(secret.size())) << Describe(vm);
  EXPECT_EQ(Get(vm, "read_ok"), 0) << Describe(vm);
  Report peek = RunAs(nobody_.uid, nobody_.gid, [&] { return PtracePeek(enclave, secret, control, needles, false); });
  EXPECT_EQ(Get(peek, "attach_errno"), EPERM) << Describe(peek);
  EXPECT_EQ(Get(peek, "threads_attached"), 0) << Describe(peek);

  // The host process is the attacker's own: everything in it is readable, and none of it,
  // channel included, holds the marker.
  auto host_needles = Needles(kHostControl);
  Report h = RunAs(nobody_.uid, nobody_.gid, [&] { return ScanProcessMemory(host, host_needles); });
  EXPECT_EQ(Get(h, "mem_errno"), 0) << Describe(h);
  EXPECT_EQ(Get(h, "channel_mappings"), 1) << Describe(h);
  EXPECT_GT(Get(h, "pages_read"), 100) << Describe(h);
  EXPECT_GE(Get(h, "found:3"), 1) << Describe(h);
  ExpectNoMarker(h, "the host process, read by its own user");
  for (const Report* r : {&scan, &mem, &vm, &peek}) ExpectNoMarker(*r, "an unprivileged attack");
  ExpectDigestAndExit0();
}

// uid 0 with every capability dropped (root's user without root's powers, as in a container
// that drops them) against root's enclave: nothing opens.
TEST_F(IsolationTest, RootWithoutCapabilitiesCannotReachTheEnclave) {
  ASSERT_NO_FATAL_FAILURE(StartVault(false));
  pid_t enclave = enclave_;
  auto secret = secret_;
  auto needles = needles_;
  uintptr_t control = EnclaveControlAddress();
  auto capless = [&](const std::function<Report()>& fn) { return RunAs(0, 0, fn, true); };
  Report scan = capless([&] { return ScanProcessMemory(enclave, needles); });
  EXPECT_EQ(Get(scan, "maps_errno"), EACCES) << Describe(scan);
  EXPECT_EQ(Get(scan, "mem_errno"), EACCES) << Describe(scan);
  Report vm = capless([&] { return VmReadv(enclave, secret, needles); });
  EXPECT_EQ(Get(vm, "errno:" + std::to_string(EPERM)), static_cast<long>(secret.size())) << Describe(vm);
  Report peek = capless([&] { return PtracePeek(enclave, secret, control, needles, false); });
  EXPECT_EQ(Get(peek, "attach_errno"), EPERM) << Describe(peek);
  EXPECT_EQ(Get(peek, "threads_attached"), 0) << Describe(peek);
  for (const Report* r : {&scan, &vm, &peek}) ExpectNoMarker(*r, "a capability-less attack");
  ExpectDigestAndExit0();
}

// A different unprivileged user against root's enclave: nothing opens.
TEST_F(IsolationTest, AnotherUserCannotReachARootEnclaveOrItsHost) {
  ASSERT_NO_FATAL_FAILURE(StartVault(false));
  pid_t enclave = enclave_, host = vault_;
  auto secret = secret_;
  auto needles = needles_;
  for (pid_t target : {enclave, host}) {
    SCOPED_TRACE(target == enclave ? "enclave process" : "host process");
    Report scan = RunAs(nobody_.uid, nobody_.gid, [&] { return ScanProcessMemory(target, needles); });
    EXPECT_EQ(Get(scan, "maps_errno"), EACCES) << Describe(scan);
    EXPECT_EQ(Get(scan, "mem_errno"), EACCES) << Describe(scan);
    Report vm = RunAs(nobody_.uid, nobody_.gid, [&] { return VmReadv(target, secret, needles); });
    EXPECT_EQ(Get(vm, "errno:" + std::to_string(EPERM)), static_cast<long>(secret.size())) << Describe(vm);
    Report peek = RunAs(nobody_.uid, nobody_.gid, [&] { return PtracePeek(target, secret, 0, needles, false); });
    EXPECT_EQ(Get(peek, "attach_errno"), EPERM) << Describe(peek);
  }
  ExpectDigestAndExit0();
}

}  // namespace
}  // namespace isolation
