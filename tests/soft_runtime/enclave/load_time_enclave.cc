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
//                  poll fail: the runtime's lifeline checks then never see the host go;
//   EXEC_ON_READ   a constructor sets the READ_IMPLIES_EXEC personality, with which mprotect
//                  makes readable pages executable too (new_code, ecall 4, runs code it wrote).
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/personality.h>
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
#elif defined(EXEC_ON_READ)
__attribute__((constructor)) void ReadImpliesExec() { personality(READ_IMPLIES_EXEC); }  // PER_LINUX is 0
#else
#error "define KEEP_FILE, REPLACE_STDIN, KEEP_THREAD, CATCH_SIGSYS, MAKE_DUMPABLE, ADD_FILTER or EXEC_ON_READ"
#endif

// 3 (public): opens a file, which the seccomp filter forbids; returns the result and errno.
confide::Status OpenFile(const confide::abi::FrameView&, confide::abi::FrameWriter& out) {
  int fd = open("/etc/hostname", O_RDONLY);
  out.Value<int32_t>(fd);
  out.Value<int32_t>(fd < 0 ? errno : 0);
  return confide::Status::Ok();
}

// 4 (public): writes `mov eax, 42; ret` into the guard page below this thread's stack, makes it
// readable and writable (the seccomp filter allows mprotect without PROT_EXEC) and calls it;
// returns what it returned. Without an executable page it crashes.
confide::Status NewCode(const confide::abi::FrameView&, confide::abi::FrameWriter& out) {
  pthread_attr_t a;
  void* stack = nullptr;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &a) != 0) return confide::Internal("pthread_getattr_np failed");
  pthread_attr_getstack(&a, &stack, &size);
  pthread_attr_destroy(&a);
  auto* page = static_cast<unsigned char*>(stack) - 4096;
  if (mprotect(page, 4096, PROT_READ | PROT_WRITE) != 0) return confide::Internal("mprotect failed");
  const unsigned char code[] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3};
  for (size_t i = 0; i < sizeof code; ++i) page[i] = code[i];
  out.Value<int32_t>(reinterpret_cast<int (*)()>(page)());
  return confide::Status::Ok();
}

const confide::abi::EcallInfo kEcalls[] = {
    {"echo", confide_test_enclave::Echo, true, false},
    {"secret", confide_test_enclave::Secret, false, false},
    {"call_host", confide_test_enclave::CallHost, true, false},
    {"open_file", OpenFile, true, false},
    {"new_code", NewCode, true, false},
};
const uint32_t kAllowSecret[] = {1};
const confide::abi::OcallInfo kOcalls[] = {{"host_reenter", kAllowSecret, 1, false}};

}  // namespace

extern "C" const confide::abi::TrustedTables confide_trusted_tables = {kEcalls, 5, kOcalls, 1};
