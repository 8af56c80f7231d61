// The platform daemon's launcher: a process of its own that starts enclave processes.
//
// The daemon holds whatever descriptors clients send it until its closers get them closed,
// and some closes can block for as long as their owner likes (a FUSE file whose server never
// answers the flush runs that flush on every close, in every process). An enclave process
// forked from the daemon would inherit them all and close them before its exec, stalling
// there. The launcher is forked before the daemon takes anything from anyone; it holds only
// its socket to the daemon, the runtime program and, for the moment of one launch, that
// launch's own descriptors, which the daemon checked are memfds and Unix sockets.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "confide/status.h"

namespace confide::platform {

class Launcher {
 public:
  Launcher() = default;
  Launcher(const Launcher&) = delete;
  Launcher& operator=(const Launcher&) = delete;
  // Closing the socket ends the launcher; enclave processes it started run on.
  ~Launcher();

  // Forks the launcher process, which runs `runtime_path` (confide-enclave-runtime) for each
  // launch. Call it while this process has a single thread and holds no one else's
  // descriptors.
  Status Start(const std::string& runtime_path);

  // Starts an enclave process with `fds` (image, channel, lifeline, platform connection) as
  // descriptors 3-6 (backends/soft/launch.h) and /dev/null as 0-2, running as `peer`'s
  // user with RLIMIT_MEMLOCK `secret_bytes` when we are root. Returns its pid and a pidfd
  // (which the caller owns; readable once the process has ended). The caller
  // keeps its descriptors and closes them afterwards: so the launcher's own closes of them
  // are never the last, and never wait on anything.
  struct Started {
    pid_t pid;
    int pidfd;
  };
  Result<Started> Launch(const int fds[4], const ucred& peer, uint64_t secret_bytes);

  pid_t pid() const { return pid_; }
  // The daemon's SIGCHLD handling saw `pid` end: if it was the launcher, the next launch
  // starts another.
  void Ended(pid_t pid);

 private:
  void Stop();  // kills the launcher, if any

  std::string runtime_;
  bool stuck_ = false;  // one did not answer in time: launches are refused
  int sock_ = -1;
  pid_t pid_ = -1;
};

}  // namespace confide::platform
