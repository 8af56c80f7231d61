// Plays the host and the platform daemon for confide-enclave-runtime in tests: builds the
// descriptors of launch.h (sealed image memfd, channel memfd, lifeline, platform socket),
// fork+execs the runtime and drives ecalls through the channel.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backends/soft/channel.h"
#include "confide/abi.h"
#include "confide/bytes.h"
#include "confide/status.h"

namespace confide::soft::testing {

struct LaunchOptions {
  uint32_t slots = 2;
  uint64_t slot_bytes = 1 << 20;
  bool seal_image = true;       // false: an unsealed memfd (must be refused)
  bool seal_channel = true;     // false: a channel memfd the host could shrink (must be refused)
  bool no_new_privs = true;     // false: exec without PR_SET_NO_NEW_PRIVS (must be refused)
  bool extra_fd = false;        // leave descriptor 7 open (must be refused)
  bool deny_memfd_secret = false;  // a seccomp filter makes memfd_secret fail with ENOSYS
  uint64_t memlock_bytes = 0;      // non-zero: this RLIMIT_MEMLOCK, and no CAP_IPC_LOCK to pass it
};

// An ocall handler: gets (ocall id, request frame), returns (code, reply bytes).
using OcallHandler = std::function<int32_t(uint32_t id, const Bytes& request, Bytes* reply)>;

class EnclaveProcess {
 public:
  ~EnclaveProcess();
  static std::unique_ptr<EnclaveProcess> Launch(const std::string& signed_image_path, const LaunchOptions& opts);

  // Waits until the enclave leaves kStarting (or its process ends); returns the state.
  EnclaveState WaitStarted(int timeout_ms = 10000);
  // Waits until the state equals `s`; false on timeout.
  bool WaitState(EnclaveState s, int timeout_ms);
  EnclaveState state() const;
  std::string reason() const;

  // One ecall, on the slot's current hot line; a non-zero code comes back as a Status with the
  // enclave's message.
  Result<Bytes> Call(uint32_t slot, uint32_t id, const Bytes& frame, const OcallHandler& ocall = nullptr);
  // Moves the slot's hot line between calls, as SoftBackend does (kMove), without waiting.
  void Move(uint32_t slot, uint32_t line);
  uint32_t line(uint32_t slot) const { return lines_[slot]; }

  // Waits for the process to end; returns the wait status, or -1 on timeout.
  int WaitExit(int timeout_ms);
  void CloseLifeline();

  pid_t pid() const { return pid_; }
  int lifeline() const { return lifeline_; }  // the host's end, for tests that misuse it
  const Channel& channel() const { return channel_; }
  uint8_t* map() const { return static_cast<uint8_t*>(map_); }
  size_t map_size() const { return map_size_; }
  std::string Stderr();  // everything the runtime wrote to stderr so far (non-blocking)

 private:
  Status Alive();
  pid_t pid_ = -1;
  int lifeline_ = -1;
  int platform_ = -1;
  int stderr_ = -1;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  Channel channel_;
  std::vector<uint32_t> lines_;  // each slot's hot line
  bool reaped_ = false;
  int exit_status_ = 0;
  std::string err_;
};

Bytes ReadFileOrDie(const std::string& path);
// Memory ranges of a process from /proc/PID/maps: start, end, permissions, path.
struct Mapping {
  uintptr_t start, end;
  std::string perms, path;
};
std::vector<Mapping> Maps(pid_t pid);
const Mapping* MappingOf(const std::vector<Mapping>& maps, uintptr_t addr);

}  // namespace confide::soft::testing
