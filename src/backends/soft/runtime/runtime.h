// Internal state of confide-enclave-runtime shared by its parts (docs/soft-backend.md).
//
// Everything in Runtime lives in the runtime program's own .bss, which is ordinary memory:
// it holds addresses, descriptors and flags only, never enclave data. Enclave data lives in
// the regions it lists, all of them memfd_secret memory.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "backends/soft/channel.h"
#include "confide/abi.h"

namespace confide::soft::rt {

inline constexpr uint32_t kMaxSlots = 1024;
inline constexpr int kMaxRegions = 3 * kMaxSlots + 64;
inline constexpr int kMaxCodeRanges = 32;

enum class RegionKind : uint8_t { kHeap, kBootstrap, kImageData, kStack, kAltStack };

struct Region {
  uint8_t* addr;
  size_t size;
  RegionKind kind;
  int arena;      // for heaps: index in ProcessHeap(), whose high-water mark bounds the wipe
  bool readonly;  // mapped read-only now (RELRO): made writable before wiping
};

// A range of the loaded image's code/read-only data and where the same bytes sit in the
// sealed image memfd.
struct CodeRange {
  const uint8_t* mem;
  const uint8_t* file;
  size_t size;
};

struct Runtime {
  // The call channel, with its geometry taken once from the validated header (the header is
  // shared with the host and may change under us, the snapshot cannot). control and data are
  // at each slot's current hot line: only the slot's own thread reads or moves them (kMove);
  // anyone else goes through `channel`.
  Channel channel;
  ChannelHeader* header = nullptr;
  SlotControl* control[kMaxSlots] = {};
  uint8_t* data[kMaxSlots] = {};

  const uint8_t* image = nullptr;  // read-only mapping of the sealed image memfd
  size_t image_size = 0;
  bool debug = false;
  bool secret_memory = true;  // false: debug image on a kernel without memfd_secret

  confide_enclave_v1 entry{};

  Region regions[kMaxRegions] = {};
  std::atomic<int> region_count{0};
  CodeRange code[kMaxCodeRanges] = {};
  int code_count = 0;

  pid_t pid = 0;
  pid_t tids[kMaxSlots + 1] = {};       // [0] main/watchdog, [1+i] slot i
  int status_fds[kMaxSlots + 1] = {};   // /proc/self/task/<tid>/status, opened before seccomp
  std::atomic<uint32_t> dying{0};       // a response (tamper, crash, host gone) is under way
};

extern Runtime g;

void AddRegion(uint8_t* addr, size_t size, RegionKind kind, int arena = -1, bool readonly = false);

// Writes `reason` into the channel header (truncated), sets `state`, wakes every futex the
// host may sleep on. Async-signal-safe.
void Report(EnclaveState state, const char* reason);

// Ends the process. `wipe`: zero all secret memory first (tamper response, host gone).
// Only the first caller acts; later ones block until the process is gone. Never returns.
[[noreturn]] void Respond(EnclaveState state, const char* reason, bool wipe, int exit_code);

// Crash reporting: SIGSEGV/SIGBUS/SIGILL/SIGFPE/SIGABRT/SIGTRAP and SIGSYS (seccomp).
void InstallCrashHandlers();
// An alternate signal stack for the calling thread (so a stack overflow is still reported).
bool SetAltStack(void* mem, size_t size);

// The seccomp filter (all threads). On failure returns false with `err` describing why.
bool InstallSeccomp(char* err, size_t err_size);
// A first filter, installed before the image is loaded: everything the full filter forbids
// later is still allowed while the runtime starts, except starting processes and touching
// other processes, so that enclave code running before the full filter (the image's
// constructors) cannot leave the process or reach another one.
bool InstallStartFilter(char* err, size_t err_size);

// Checks run by the watchdog and by waiting slot threads. Each returns normally when all is
// well and calls Respond() otherwise.
void CheckLifeline();
// /proc/self/task/<tid>/status, opened read-only (close-on-exec); -1 on failure.
int OpenTaskStatus(pid_t tid);
// Reads the status file open at `fd` and the number after `field` (e.g. "TracerPid:"), at
// the start of a line, into *value. Returns 1 when found, 0 when the field is absent, -1 when the file cannot be read.
// Allocates nothing (the tamper checks use it).
int ReadStatusField(int fd, const char* field, long* value);
void CheckTracer(int index);  // index into status_fds
void CheckAllTracers();
// Compares the next `budget` bytes of the image's code with the sealed memfd (round robin).
void CheckCodeIntegrity(size_t budget);
bool CodeIntact(char* err, size_t err_size);  // the whole image, at start

// Async-signal-safe string building.
class Msg {
 public:
  Msg& Str(const char* s);
  Msg& Dec(uint64_t v);
  Msg& Hex(uint64_t v);
  const char* c_str() const { return buf_; }

 private:
  char buf_[256] = {};
  size_t len_ = 0;
};

}  // namespace confide::soft::rt
