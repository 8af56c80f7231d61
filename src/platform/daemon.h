// The platform daemon: verifies signed images and launches soft-backend enclave processes.
// It is part of the trusted base of the soft backend (docs/threat-model.md).
#pragma once

#include <sys/types.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "confide/status.h"
#include "platform/protocol.h"

namespace confide::platform {

struct DaemonOptions {
  std::string socket_path;
  std::string state_dir;
  // Started privately by a host library (no daemon was running): everything it launches is
  // development-grade and says so.
  bool development = false;
  // Launch policy: whether images signed with Debug=1 may run.
  bool allow_debug = true;
  // End when this descriptor reports EOF: a pipe whose other end the starting host holds,
  // so a private development daemon never outlives its host. -1: no such pipe.
  int watch_fd = -1;
  // Remove the state directory when the daemon ends, and the socket's directory if it is
  // empty then (the private daemon a host starts).
  bool ephemeral = false;
  // confide-enclave-runtime; empty: next to this program's own executable.
  std::string runtime_path;
  // Called once the socket accepts connections.
  std::function<void()> on_ready;
};

// Serves until a `stop` request or SIGTERM/SIGINT; removes its socket on the way out.
Status RunDaemon(const DaemonOptions& options);

// One request/response exchange with the daemon at `socket_path` (ConnectTo: a daemon of
// root's or ours, answering within `timeout_s`).
Result<nlohmann::json> Request(const std::string& socket_path, const nlohmann::json& request,
                               const std::vector<int>& fds = {}, int timeout_s = kDefaultTimeoutSeconds);

// The directory of the running program (confide-enclave-runtime and the attest enclave are
// installed next to the confide tool).
std::string ProgramDir();
// Creates `dir` and its missing parents with `mode`, and refuses a path someone other than
// root and us could change: every directory on it must be root's or ours (a symlink too), and
// writable only by its owner or sticky (as /tmp is); the last one must be ours and writable
// by us alone. Otherwise its owner could swap the socket or the keys the daemon keeps there.
Status MakeTrustedDirectories(const std::string& dir, mode_t mode);
// The socket's directory (0755), then the state directory (0700), checked that way.
Status PrepareDirectories(const DaemonOptions& options);

// Whether memfd_secret(2) works on this kernel, for status and launch policy.
bool MemfdSecretAvailable();

}  // namespace confide::platform
