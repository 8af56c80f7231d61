// A test enclave for confide-enclave-runtime, written directly against the ABI: echo, a
// private ecall reachable only through an ocall, an ecall that makes a forbidden system call,
// one that holds a secret marker in heap, .data and .bss, allocator probes, a crash, and a
// constructor that tries to start a process.
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "confide/trusted.h"
#include "runtime/enclave/basic_handlers.h"

using confide::Bytes;
using confide::ByteSpan;
using confide::Status;
using confide::abi::FrameView;
using confide::abi::FrameWriter;

namespace {

using confide_test_enclave::CallHost;
using confide_test_enclave::Echo;
using confide_test_enclave::Secret;

constexpr size_t kMarkerMax = 64;
char g_bss_secret[kMarkerMax];                       // .bss
char g_data_secret[kMarkerMax] = "initialised data";  // .data
char* g_heap_secret = nullptr;

// 3 (public): opens a file, which the seccomp filter forbids.
Status OpenFile(const FrameView&, FrameWriter& out) {
  int fd = open("/etc/hostname", O_RDONLY);
  out.Value<int32_t>(fd);
  return Status::Ok();
}

// 4 (public): keeps the marker in heap, .data and .bss; returns the three addresses.
Status HoldSecret(const FrameView& in, FrameWriter& out) {
  ByteSpan m;
  CONFIDE_RETURN_IF_ERROR(in.GetBuffer(0, "marker", kMarkerMax, false, &m));
  if (g_heap_secret == nullptr) g_heap_secret = static_cast<char*>(malloc(kMarkerMax));
  if (g_heap_secret == nullptr) return confide::Internal("out of memory");
  std::memcpy(g_heap_secret, m.data(), kMarkerMax);
  std::memcpy(g_bss_secret, m.data(), kMarkerMax);
  std::memcpy(g_data_secret, m.data(), kMarkerMax);
  out.Value<uint64_t>(reinterpret_cast<uintptr_t>(g_heap_secret));
  out.Value<uint64_t>(reinterpret_cast<uintptr_t>(g_bss_secret));
  out.Value<uint64_t>(reinterpret_cast<uintptr_t>(g_data_secret));
  return Status::Ok();
}

// 5 (public): 1 when all three copies still equal the marker.
Status CheckSecret(const FrameView& in, FrameWriter& out) {
  ByteSpan m;
  CONFIDE_RETURN_IF_ERROR(in.GetBuffer(0, "marker", kMarkerMax, false, &m));
  bool ok = g_heap_secret != nullptr && std::memcmp(g_heap_secret, m.data(), kMarkerMax) == 0 &&
            std::memcmp(g_bss_secret, m.data(), kMarkerMax) == 0 &&
            std::memcmp(g_data_secret, m.data(), kMarkerMax) == 0;
  out.Value<int32_t>(ok ? 1 : 0);
  return Status::Ok();
}

// 6 (public): posix_memalign(align, size); returns the address, usable size and the address
// of a stack variable and of a thread_local.
thread_local uint64_t t_probe = 0;
Status AllocProbe(const FrameView& in, FrameWriter& out) {
  uint64_t size = 0, align = 0;
  CONFIDE_RETURN_IF_ERROR(in.GetValue(0, "size", &size));
  CONFIDE_RETURN_IF_ERROR(in.GetValue(1, "align", &align));
  void* p = nullptr;
  int rc = posix_memalign(&p, align, size);
  volatile uint64_t on_stack = 1;
  t_probe = 1;
  out.Value<int32_t>(rc);
  out.Value<uint64_t>(reinterpret_cast<uintptr_t>(p));
  out.Value<uint64_t>(p ? malloc_usable_size(p) : 0);
  out.Value<uint64_t>(reinterpret_cast<uintptr_t>(&on_stack));
  out.Value<uint64_t>(reinterpret_cast<uintptr_t>(&t_probe));
  free(p);
  return Status::Ok();
}

// 7 (public): allocates 64 KiB blocks until malloc fails; returns the count and errno, then
// frees everything.
Status Exhaust(const FrameView&, FrameWriter& out) {
  std::vector<void*> blocks;
  blocks.reserve(4096);
  int err = 0;
  // Clang assumes malloc leaves errno alone; a volatile access reads what it really set.
  volatile int* errno_p = &errno;
  for (;;) {
    *errno_p = 0;
    void* p = malloc(64 * 1024);
    if (p == nullptr) {
      err = *errno_p;
      break;
    }
    std::memset(p, 0x5a, 64);
    blocks.push_back(p);
    if (blocks.size() == blocks.capacity()) break;
  }
  for (void* p : blocks) free(p);
  out.Value<uint64_t>(blocks.size());
  out.Value<int32_t>(err);
  return Status::Ok();
}

// What posix_spawn gave the image's constructor, which runs before the full seccomp filter:
// 0 if it started a process, else the error.
int g_fork_at_load = -1;
__attribute__((constructor)) void TryToStartAProcessAtLoad() {
  char* const argv[] = {const_cast<char*>("true"), nullptr};
  char* const envp[] = {nullptr};
  pid_t pid;
  g_fork_at_load = posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, envp);
  if (g_fork_at_load == 0) waitpid(pid, nullptr, 0);
}

// 9 (public): reports g_fork_at_load.
Status ForkAtLoad(const FrameView&, FrameWriter& out) {
  out.Value<int32_t>(g_fork_at_load);
  return Status::Ok();
}

// 8 (public): writes through a null pointer.
Status Crash(const FrameView&, FrameWriter&) {
  volatile int* p = nullptr;
  *p = 1;
  return Status::Ok();
}

const confide::abi::EcallInfo kEcalls[] = {
    {"echo", Echo, true, false},           {"secret", Secret, false, false},
    {"call_host", CallHost, true, false},  {"open_file", OpenFile, true, false},
    {"hold_secret", HoldSecret, true, false}, {"check_secret", CheckSecret, true, false},
    {"alloc_probe", AllocProbe, true, false}, {"exhaust", Exhaust, true, false},
    {"crash", Crash, true, false},         {"fork_at_load", ForkAtLoad, true, false},
};
const uint32_t kAllowSecret[] = {1};
const confide::abi::OcallInfo kOcalls[] = {
    {"host_reenter", kAllowSecret, 1, false},
    {"host_plain", nullptr, 0, false},
};

}  // namespace

extern "C" const confide::abi::TrustedTables confide_trusted_tables = {kEcalls, 10, kOcalls, 2};
