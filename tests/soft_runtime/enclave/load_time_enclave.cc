// Test enclaves whose image leaves something behind while it is loaded, which
// confide-enclave-runtime must refuse before it serves any call. One behaviour per image,
// chosen at compile time:
//   KEEP_FILE      a constructor opens /etc/hostname and keeps it open;
//   REPLACE_STDIN  a constructor puts /etc/hostname on descriptor 0 (dup2), where a check of
//                  the descriptors above 2 alone would not look;
//   KEEP_THREAD    a constructor starts a thread that keeps running (it could open a file
//                  after any check made before the full seccomp filter);
//   CATCH_SIGSYS   a constructor installs its own SIGSYS handler, which makes a forbidden
//                  system call fail with EPERM instead of ending the enclave (open_file,
//                  ecall 3, tries one);
//   MAKE_DUMPABLE  a constructor makes the process dumpable again, which opens it (ptrace,
//                  /proc/PID/mem) to the processes of its user wherever it holds no capability
//                  they lack (a daemon without CAP_IPC_LOCK, as under Docker, gives it none);
//   ADD_FILTER     a constructor adds a seccomp filter of its own, on every thread, that makes
//                  poll fail: the runtime's lifeline checks then never see the host go.
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

#include "confide/trusted.h"
#include "runtime/enclave/basic_handlers.h"

namespace {

#if defined(KEEP_FILE)
__attribute__((constructor)) void KeepAFileOpen() { (void)open("/etc/hostname", O_RDONLY); }
#elif defined(REPLACE_STDIN)
__attribute__((constructor)) void ReplaceStdin() {
  int fd = open("/etc/hostname", O_RDONLY);
  if (fd > 0) {
    dup2(fd, 0);
    close(fd);
  }
}
#elif defined(KEEP_THREAD)
void* Linger(void*) {
  for (;;) sleep(60);
  return nullptr;
}
__attribute__((constructor)) void StartAThread() {
  pthread_t t;
  if (pthread_create(&t, nullptr, Linger, nullptr) == 0) pthread_detach(t);
}
#elif defined(CATCH_SIGSYS)
void SwallowSigsys(int, siginfo_t*, void* context) {
  static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RAX] = -EPERM;
}
__attribute__((constructor)) void CatchSigsys() {
  struct sigaction sa {};
  sa.sa_sigaction = SwallowSigsys;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSYS, &sa, nullptr);
}
#elif defined(MAKE_DUMPABLE)
__attribute__((constructor)) void MakeDumpable() { prctl(PR_SET_DUMPABLE, 1, 0, 0, 0); }
#elif defined(ADD_FILTER)
__attribute__((constructor)) void RefusePoll() {
  sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_poll, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ppoll, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
  };
  sock_fprog prog{sizeof f / sizeof f[0], f};
  syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
}
#else
#error "define KEEP_FILE, REPLACE_STDIN, KEEP_THREAD, CATCH_SIGSYS, MAKE_DUMPABLE or ADD_FILTER"
#endif

// 3 (public): opens a file, which the seccomp filter forbids; returns the result and errno.
confide::Status OpenFile(const confide::abi::FrameView&, confide::abi::FrameWriter& out) {
  int fd = open("/etc/hostname", O_RDONLY);
  out.Value<int32_t>(fd);
  out.Value<int32_t>(fd < 0 ? errno : 0);
  return confide::Status::Ok();
}

const confide::abi::EcallInfo kEcalls[] = {
    {"echo", confide_test_enclave::Echo, true, false},
    {"secret", confide_test_enclave::Secret, false, false},
    {"call_host", confide_test_enclave::CallHost, true, false},
    {"open_file", OpenFile, true, false},
};
const uint32_t kAllowSecret[] = {1};
const confide::abi::OcallInfo kOcalls[] = {{"host_reenter", kAllowSecret, 1, false}};

}  // namespace

extern "C" const confide::abi::TrustedTables confide_trusted_tables = {kEcalls, 4, kOcalls, 1};
