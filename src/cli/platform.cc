// `confide platform start|status|stop`: run and query the platform daemon that launches
// soft-backend enclaves.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "cli/cli.h"
#include "platform/attestation_identity.h"
#include "platform/daemon.h"
#include "platform/protocol.h"

namespace confide::cli {
namespace {

struct PlatformArgs {
  std::string socket;
  std::string state = "/var/lib/confide";
  bool foreground = false;
  bool development = false;
  bool ephemeral = false;
  bool refuse_debug = false;
  int watch_fd = -1;
  bool json = false;
  std::string cert, chain, collateral;  // attestation identity to install before starting
};

int Start(const PlatformArgs& a) {
  platform::DaemonOptions o;
  o.socket_path = a.socket.empty() ? platform::DefaultSocketPath() : a.socket;
  o.state_dir = a.state;
  o.development = a.development;
  o.allow_debug = !a.refuse_debug;
  o.watch_fd = a.watch_fd;
  o.ephemeral = a.ephemeral;
  const bool installing = !a.cert.empty() || !a.chain.empty() || !a.collateral.empty();
  if (installing) {
    // A daemon already running here reads its certificate only when it starts: installing
    // one now and then refusing to start would change nothing it uses, and say so only
    // after the fact. Collateral it reads on each request, so that is installed for it.
    auto running = platform::Request(o.socket_path, {{"op", "status"}}, {}, 5);
    if (!running.ok() && running.status().code() != Code::kUnavailable)
      return Refuse("platform start",
                    running.status().WithContext("asking whether a daemon runs at " + o.socket_path +
                                                 " (nothing was installed)"),
                    false);
    if (running.ok()) {
      if (!a.cert.empty() || !a.chain.empty())
        return Refuse("platform start",
                      Status(Code::kAlreadyExists, "a platform daemon is already running at " + o.socket_path +
                                                       "; nothing was installed. It reads its certificate when it "
                                                       "starts: stop it (confide platform stop), then start it with --cert"),
                      false);
      // The daemon reports its state directory resolved, so both sides compare real paths.
      auto dir = running->find("state_dir");
      char* mine = realpath(a.state.c_str(), nullptr);
      const bool same = mine != nullptr && dir != running->end() && dir->is_string() && dir->get<std::string>() == mine;
      free(mine);
      if (!same)
        return Refuse("platform start",
                      Status(Code::kAlreadyExists, "a platform daemon is already running at " + o.socket_path +
                                                       " with another state directory than " + a.state +
                                                       "; nothing was installed: pass its --state"),
                      false);
      if (Status s = platform::InstallCollateral(a.state, a.collateral); !s.ok()) return Refuse("platform start", s, false);
      std::cout << "collateral installed in " << a.state << "; the daemon running at " << o.socket_path
                << " serves it from now on\n";
      return kExitOk;
    }
  }
  // An ephemeral daemon removes its state when it ends: it must be state of its own, never a
  // directory another daemon keeps its root key in. So this start makes it, after its
  // (checked) parents: mkdir is atomic, and a path that leads to an existing directory
  // (through "..", a symlink, or another start racing this one) is refused, not taken over.
  if (a.ephemeral) {
    std::filesystem::path state(a.state);
    if (!state.has_filename()) state = state.parent_path();  // a trailing slash
    const std::string parent = state.has_parent_path() ? state.parent_path().string() : ".";
    if (Status s = platform::MakeTrustedDirectories(parent, 0700); !s.ok()) return Refuse("platform start", s, false);
    if (mkdir(a.state.c_str(), 0700) != 0)
      return Refuse("platform start",
                    errno == EEXIST ? InvalidArgument("--ephemeral needs a state directory that does not exist yet (it "
                                                      "is removed when the daemon ends); " + a.state + " exists")
                                    : IoError("cannot create " + a.state + ": " + strerror(errno)),
                    false);
  }
  // A directory this start made (an ephemeral daemon's) goes with a start that failed, so
  // that the same command can be run again.
  auto failed = [&](const Status& s) {
    std::error_code ignored;
    if (a.ephemeral) std::filesystem::remove_all(a.state, ignored);
    return Refuse("platform start", s, false);
  };
  // Before anything is written into the state directory.
  if (Status s = platform::PrepareDirectories(o); !s.ok()) return failed(s);
  if (installing) {
    Status s = a.cert.empty() ? (a.chain.empty() ? platform::InstallCollateral(a.state, a.collateral)
                                                 : InvalidArgument("--chain needs --cert"))
                              : platform::InstallPlatformCertificate(a.state, a.cert, a.chain, a.collateral);
    if (!s.ok()) return failed(s);
  }
  if (a.foreground) {
    Status s = platform::RunDaemon(o);
    if (!s.ok()) return failed(s);
    return kExitOk;
  }
  // Detach: the parent returns once the daemon answers on its socket, with its error if not.
  int ready[2];
  if (pipe(ready) != 0) return failed(IoError("pipe failed"));
  pid_t pid = fork();
  if (pid < 0) return failed(IoError("fork failed"));
  if (pid == 0) {
    close(ready[0]);
    setsid();
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
    }
    o.on_ready = [&] {
      (void)!write(ready[1], "k", 1);
      close(ready[1]);
      if (null >= 0) dup2(null, 2);
    };
    Status s = platform::RunDaemon(o);
    if (!s.ok()) {
      std::string m = s.message();
      (void)!write(ready[1], m.data(), m.size());
    }
    _exit(s.ok() ? 0 : 1);
  }
  close(ready[1]);
  std::string msg;
  char buf[512];
  ssize_t n;
  while ((n = read(ready[0], buf, sizeof buf)) > 0) {
    msg.append(buf, static_cast<size_t>(n));
    if (msg == "k") break;
  }
  close(ready[0]);
  if (msg != "k") return failed(Status(Code::kUnavailable, msg.empty() ? "daemon exited" : msg));
  std::cout << "platform daemon started (pid " << pid << ") on " << o.socket_path << "\n";
  return kExitOk;
}

int StatusCmd(const PlatformArgs& a) {
  std::string sock = a.socket.empty() ? platform::DefaultSocketPath() : a.socket;
  auto r = platform::Request(sock, {{"op", "status"}});
  if (!r.ok()) return Refuse("platform status", r.status(), a.json);
  if (a.json) {
    PrintJson(*r);
  } else {
    // The reply comes from another process: fields of the wrong type print as such.
    auto flag = [&](const char* key, const char* yes, const char* no) {
      auto it = r->find(key);
      return it == r->end() || !it->is_boolean() ? "(not reported)" : it->get<bool>() ? yes : no;
    };
    auto text = [&](const char* key) {
      auto it = r->find(key);
      return it == r->end() ? std::string("(not reported)") : it->is_string() ? it->get<std::string>() : it->dump();
    };
    const std::string attestation = text("attestation");
    std::cout << "platform daemon pid " << text("pid") << " on " << sock << "\n"
              << "  daemon:        " << flag("development", "development (its enclaves are not isolated from "
                                                            "whoever runs it)", "shared") << "\n"
              << "  attestation:   " << attestation
              << (attestation == "development" ? " (self-certified; fails production policies)" : "") << "\n"
              << "  debug images:  " << flag("allow_debug", "allowed", "refused") << "\n"
              << "  memfd_secret:  " << flag("memfd_secret", "available", "NOT available") << "\n"
              << "  enclaves:      " << text("enclaves") << " (" << text("orphans_killed")
              << " killed so far, still there 2 s after their hosts let go)\n"
              << "  runtime:       " << text("runtime") << "\n";
  }
  return kExitOk;
}

int Stop(const PlatformArgs& a) {
  std::string sock = a.socket.empty() ? platform::DefaultSocketPath() : a.socket;
  auto r = platform::Request(sock, {{"op", "stop"}});
  if (!r.ok()) return Refuse("platform stop", r.status(), false);
  // The daemon answers before it closes its socket: wait until it has, so that a `platform
  // start` right after this finds the socket free instead of a daemon still going away.
  for (int i = 0;; ++i) {
    auto still = platform::ConnectTo(sock, 1);
    if (!still.ok() && still.status().code() == Code::kUnavailable) break;
    if (!still.ok()) return Refuse("platform stop", still.status().WithContext("waiting for the daemon to go"), false);
    close(*still);
    if (i == 500)
      return Refuse("platform stop", Status(Code::kTimeout, "the daemon on " + sock + " was still answering 5 s after it "
                                                            "agreed to stop"),
                    false);
    usleep(10000);
  }
  std::cout << "platform daemon on " << sock << " stopped\n";
  return kExitOk;
}

}  // namespace

Runner AddPlatform(CLI::App& root) {
  auto a = std::make_shared<PlatformArgs>();
  CLI::App* cmd = root.add_subcommand("platform", "Run or query the platform daemon that launches soft enclaves");
  cmd->require_subcommand(1);
  CLI::App* start = cmd->add_subcommand("start", "Start the platform daemon");
  start->add_option("--socket", a->socket, "socket path (default: $CONFIDE_PLATFORM_SOCKET or /run/confide/platform.sock)");
  start->add_option("--state", a->state, "state directory, created mode 0700 (default: /var/lib/confide)");
  start->add_flag("--foreground", a->foreground, "stay in the foreground (for systemd or a terminal)");
  start->add_flag("--development", a->development, "mark everything this daemon launches as development-grade");
  start->add_flag("--refuse-debug", a->refuse_debug, "launch policy: refuse images signed with Debug=1");
  start->add_option("--watch-fd", a->watch_fd, "exit when this inherited descriptor reaches EOF")->group("");
  start->add_flag("--ephemeral", a->ephemeral,
                  "remove the state directory (root key: what was sealed) when the daemon ends, and the "
                  "socket's directory if it is empty then");
  start->add_option("--cert", a->cert, "install this platform certificate (for the key of 'platform csr') into the state");
  start->add_option("--chain", a->chain, "install the platform certificate's issuers (PEM bundle)");
  start->add_option("--collateral", a->collateral, "install collateral (TCB info, CRLs) to serve to verifiers");
  Runner attestation = AddPlatformAttestation(*cmd);
  CLI::App* status = cmd->add_subcommand("status", "Show the running daemon's state");
  status->add_option("--socket", a->socket, "socket path");
  status->add_flag("--json", a->json, "print JSON");
  CLI::App* stop = cmd->add_subcommand("stop", "Stop the running daemon");
  stop->add_option("--socket", a->socket, "socket path");
  return [a, start, status, stop, attestation] {
    if (int rc = attestation(); rc >= 0) return rc;
    if (start->parsed()) return Start(*a);
    if (status->parsed()) return StatusCmd(*a);
    if (stop->parsed()) return Stop(*a);
    return kExitUsage;
  };
}

}  // namespace confide::cli
