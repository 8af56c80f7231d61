#include "platform/launcher.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

#include "backends/soft/launch.h"
#include "common/sealed_memfd.h"
#include "confide/bytes.h"
#include "platform/protocol.h"

namespace confide::platform {
namespace {

// Descriptors of a launch message: image, channel, lifeline, platform connection.
constexpr size_t kLaunchFds = 4;

// In the enclave's child of the launcher, which has a single thread: why it could not exec
// the runtime goes to the launcher through `report` (close-on-exec: a successful exec
// closes it with nothing written), and the child ends.
[[noreturn]] void Refuse(int report, const char* why) {
  (void)!write(report, why, strlen(why));
  _exit(120);
}

// The enclave's child of the launcher. A root host's enclave runs as `nobody`: as uid 0,
// even without capabilities, it would own root's files (the platform's root key among them)
// while its constructors run under the start-up filter.
[[noreturn]] void ExecRuntime(const std::vector<int>& fds, int runtime_fd, int report, uid_t uid, gid_t gid,
                              uint64_t secret_bytes) {
  // Everything moves above the target range (3-8) first, so dup2 never clobbers a source.
  constexpr int kProgramFd = soft::kPlatformFd + 1, kReportFd = kProgramFd + 1;
  int moved[4];
  for (int i = 0; i < 4; ++i) moved[i] = fcntl(fds[i], F_DUPFD, kReportFd + 1);
  int program = fcntl(runtime_fd, F_DUPFD_CLOEXEC, kReportFd + 1);
  if (dup3(report, kReportFd, O_CLOEXEC) < 0) _exit(120);
  report = kReportFd;
  for (int i = 0; i < 4; ++i)
    if (moved[i] < 0 || dup2(moved[i], soft::kImageFd + i) < 0) Refuse(report, "cannot place the launch descriptors");
  // The program's descriptor goes right after them, close-on-exec: the runtime does not
  // inherit it.
  if (program < 0 || dup3(program, kProgramFd, O_CLOEXEC) < 0) Refuse(report, "cannot place the runtime program");
  if (syscall(SYS_close_range, kReportFd + 1, ~0u, 0) != 0) Refuse(report, "close_range failed");  // nothing else may reach the enclave
  rlimit core{0, 0};
  setrlimit(RLIMIT_CORE, &core);
  if (geteuid() == 0) {
    rlimit lock{secret_bytes, secret_bytes};
    setrlimit(RLIMIT_MEMLOCK, &lock);
    // Run the enclave as the host's user with CAP_IPC_LOCK alone, kept across the uid
    // switch and the exec (ambient): the secret heap and stacks can then be mapped whatever
    // RLIMIT_MEMLOCK is (raising it needs CAP_SYS_RESOURCE, which containers often drop). A
    // non-dumpable process of that user is out of the user's reach (no ptrace, no
    // /proc/PID/mem) and never holds root's powers. The bounding set goes first, while we
    // hold CAP_SETPCAP. Where this daemon has no CAP_IPC_LOCK itself (a container that drops
    // it), the enclave gets none, and its secret memory must fit RLIMIT_MEMLOCK.
    const bool ipc_lock = prctl(PR_CAPBSET_READ, CAP_IPC_LOCK, 0, 0, 0) == 1;
    for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; ++cap)
      if (cap != CAP_IPC_LOCK && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
        Refuse(report, "cannot drop capabilities from the bounding set");
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
      Refuse(report, "cannot switch to the host's user");
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (ipc_lock) data[0].effective = data[0].permitted = data[0].inheritable = 1u << CAP_IPC_LOCK;
    if (syscall(SYS_capset, &hdr, data) != 0 ||
        (ipc_lock && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_IPC_LOCK, 0, 0) != 0))
      Refuse(report, "cannot keep CAP_IPC_LOCK alone");
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Refuse(report, "cannot set no_new_privs");
  signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  char* const argv[] = {const_cast<char*>(soft::kRuntimeProgram), nullptr};
  char* const envp[] = {nullptr};
  syscall(SYS_execveat, kProgramFd, "", argv, envp, AT_EMPTY_PATH);
  Refuse(report, "cannot exec the enclave runtime from its memfd");
}

// Starts the enclave's process and waits until it has exec'd the runtime or failed to.
// clone3 with CLONE_PIDFD hands back a pidfd for it at once: with SA_NOCLDWAIT it is reaped
// the moment it ends, and a pid alone could then name another process.
Result<Launcher::Started> StartEnclave(const std::vector<int>& fds, int runtime_fd, uid_t uid, gid_t gid,
                                       uint64_t secret_bytes) {
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) return IoError(std::string("pipe failed: ") + strerror(errno));
  int pidfd = -1;
  clone_args args{};
  args.flags = CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  // Like fork, in this single-threaded process: the child only makes system calls until it
  // execs.
  const long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) {
    close(report[0]);
    ExecRuntime(fds, runtime_fd, report[1], uid, gid, secret_bytes);
  }
  int e = errno;
  close(report[1]);
  if (pid < 0) {
    close(report[0]);
    return IoError(std::string("clone3 failed: ") + strerror(e));
  }
  fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  char why[160];
  ssize_t n;
  do n = read(report[0], why, sizeof why);
  while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n > 0) {
    close(pidfd);
    return Internal("the launcher's child could not start the enclave runtime: " +
                    std::string(why, static_cast<size_t>(n)));
  }
  return Launcher::Started{static_cast<pid_t>(pid), pidfd};
}

// The runtime program in a sealed memfd nobody may read (mode 0111), made on the first
// launch. An enclave process exec'd from a file it cannot read is non-dumpable from its
// first instruction: no process of its user can ptrace it, open its /proc/PID/mem or take
// its descriptors (pidfd_getfd) in the moments before the runtime hardens itself.
Status MakeRuntimeCopy(const std::string& runtime, int* out) {
  auto program = ReadFile(runtime);
  if (!program.ok()) return program.status().WithContext("reading the enclave runtime");
  auto sealed = CreateSealedMemfd(*program, soft::kRuntimeProgram);
  if (!sealed.ok()) return sealed.status().WithContext("copying the enclave runtime");
  if (fchmod(*sealed, 0111) != 0) {
    int e = errno;
    close(*sealed);
    return IoError(std::string("making the runtime copy unreadable failed: ") + strerror(e));
  }
  *out = *sealed;
  return Status::Ok();
}

// The launcher process: one launch request at a time, until the daemon's end closes.
[[noreturn]] void Serve(int sock, const std::string& runtime) {
  prctl(PR_SET_NAME, "confide-launch", 0, 0, 0);
  // Enclave processes are reaped as they end (the daemon learns of it from their pidfds);
  // SA_NOCLDWAIT does not survive their exec.
  struct sigaction children {};
  children.sa_handler = SIG_DFL;
  children.sa_flags = SA_NOCLDWAIT;
  sigaction(SIGCHLD, &children, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Enclaves start in / rather than wherever the daemon was started, which may be a
  // directory only root can reach.
  if (chdir("/") != 0) _exit(120);
  const passwd* pw = getpwnam("nobody");
  const std::pair<uid_t, gid_t> nobody = pw != nullptr ? std::pair{pw->pw_uid, pw->pw_gid} : std::pair{65534u, 65534u};
  int runtime_fd = -1;
  for (;;) {
    auto msg = ReceiveMessage(sock);
    if (!msg.ok()) {
      if (msg.status().code() == Code::kUnavailable) _exit(0);  // the daemon ended
      (void)SendMessage(sock, ErrorReply(msg.status()));
      continue;
    }
    std::vector<int>& fds = msg->fds;
    auto number = [&](const char* key) -> int64_t {
      auto it = msg->body.find(key);
      return it != msg->body.end() && it->is_number_unsigned() ? it->get<int64_t>() : -1;
    };
    const int64_t uid = number("uid"), gid = number("gid"), secret_bytes = number("secret_bytes");
    Status s;
    if (fds.size() != kLaunchFds || uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX || secret_bytes < 0)
      s = Internal("malformed request to the platform daemon's launcher");
    else if (runtime_fd < 0)
      s = MakeRuntimeCopy(runtime, &runtime_fd);
    Launcher::Started started{-1, -1};
    if (s.ok()) {
      const bool root_host = uid == 0;
      auto r = StartEnclave(fds, runtime_fd, root_host ? nobody.first : static_cast<uid_t>(uid),
                            root_host ? nobody.second : static_cast<gid_t>(gid), static_cast<uint64_t>(secret_bytes));
      if (r.ok()) started = *r;
      else s = r.status();
    }
    CloseFds(fds);  // the daemon still holds each of them: never the last close
    if (s.ok()) (void)SendMessage(sock, {{"ok", true}, {"pid", started.pid}}, {started.pidfd});
    else (void)SendMessage(sock, ErrorReply(s));
    if (started.pidfd >= 0) close(started.pidfd);
  }
}

}  // namespace

Launcher::~Launcher() {
  if (sock_ >= 0) close(sock_);
}

Status Launcher::Start(const std::string& runtime_path) {
  runtime_ = runtime_path;
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
    return IoError(std::string("socketpair failed: ") + strerror(errno));
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(pair[0]);
    close(pair[1]);
    return IoError(std::string("forking the launcher failed: ") + strerror(e));
  }
  if (pid == 0) {
    // Nothing but its socket (at 3), and /dev/null as standard input, output and error,
    // which enclave processes inherit: enclave code, run for any user, must not reach the
    // daemon's terminal or log (on a terminal, TIOCSTI would type into it), and a pipe
    // someone waits on must not be held open here. What an enclave reports goes to its
    // host through the channel header.
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 || dup2(pair[1], 3) < 0) _exit(120);
    if (syscall(SYS_close_range, 4, ~0u, 0) != 0) _exit(120);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    Serve(3, runtime_);
  }
  close(pair[1]);
  // A launch takes a fork; a launcher that does not answer within this is stuck.
  timeval wait{30, 0};
  setsockopt(pair[0], SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  sock_ = pair[0];
  pid_ = pid;
  return Status::Ok();
}

void Launcher::Ended(pid_t pid) {
  if (pid == pid_) Stop();
}

void Launcher::Stop() {
  if (pid_ > 0) kill(pid_, SIGKILL);  // the daemon's SIGCHLD handling reaps it
  if (sock_ >= 0) close(sock_);
  sock_ = -1;
  pid_ = -1;
}

Result<Launcher::Started> Launcher::Launch(const int fds[4], const ucred& peer, uint64_t secret_bytes) {
  const nlohmann::json request = {{"uid", peer.uid}, {"gid", peer.gid}, {"secret_bytes", secret_bytes}};
  const std::vector<int> sent = {fds[0], fds[1], fds[2], fds[3]};
  if (stuck_)
    return Status(Code::kUnavailable, "the platform daemon's launcher stopped answering (a client's descriptor it "
                                      "inherited when it was restarted may block it); restart the platform daemon");
  Status s = sock_ >= 0 ? SendMessage(sock_, request, sent) : Status(Code::kUnavailable, "no launcher");
  if (!s.ok()) {
    // It ended (killed, say) before it took this launch. Another one, started from this
    // process now, holds whatever descriptors this process holds at the moment and may stall
    // on one of them (a FUSE file's flush): then the timeout below ends the wait, once, and
    // launches are refused from then on rather than stall this process again and again.
    Stop();
    CONFIDE_RETURN_IF_ERROR(Start(runtime_).WithContext("restarting the platform daemon's launcher"));
    s = SendMessage(sock_, request, sent);
  }
  auto reply = s.ok() ? ReceiveMessage(sock_) : Result<Message>(s);
  if (!reply.ok()) {
    stuck_ = reply.status().code() == Code::kTimeout;
    Stop();  // a late answer must not be taken for the next launch's
    return reply.status().WithContext("the platform daemon's launcher did not take the launch");
  }
  const Status refused = ReplyStatus(reply->body);
  auto pid = reply->body.find("pid");
  if (refused.ok() && pid != reply->body.end() && pid->is_number_integer() && pid->get<int64_t>() > 0 &&
      pid->get<int64_t>() <= INT_MAX && reply->fds.size() == 1)
    return Started{static_cast<pid_t>(pid->get<int64_t>()), reply->fds[0]};
  CloseFds(reply->fds);
  return refused.ok() ? Internal("the launcher's reply has no pid and pidfd") : refused;
}

}  // namespace confide::platform
