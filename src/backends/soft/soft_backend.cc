// soft, host side: asks the platform daemon to launch the enclave in its own process and
// talks to it through the shared-memory call channel. The enclave process holds its data in
// memfd_secret memory; this side only ever sees frames.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backends/soft/channel.h"
#include "backends/soft/hand_off_tuner.h"
#include "common/sealed_memfd.h"
#include "host/backend.h"
#include "platform/daemon.h"
#include "platform/protocol.h"

extern char** environ;

namespace confide {
namespace {

using soft::Channel;
using soft::EnclaveState;
using soft::SlotState;

// Whether `path` is root's or ours and nobody else may change it: the programs we start run
// with our rights, so someone who could replace them (or their directory) would too.
bool OnlyRootOrWeCanChange(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && (st.st_uid == 0 || st.st_uid == geteuid()) &&
         (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

// Where the confide tools live: $CONFIDE_TOOLS_DIR, the build tree, or the install prefix;
// the first that holds both programs, where the directory and the programs are root's or
// ours and writable by their owner alone.
Result<std::string> ToolsDir() {
  const char* env = secure_getenv("CONFIDE_TOOLS_DIR");  // not for set-user-ID programs
  std::string passed_over;
  for (std::string dir : {std::string(env ? env : ""), std::string(CONFIDE_BUILD_BINDIR),
                          std::string(CONFIDE_INSTALL_BINDIR)}) {
    if (dir.empty()) continue;
    const std::string tool = dir + "/confide", runtime = dir + "/confide-enclave-runtime";
    if (access(tool.c_str(), X_OK) != 0 || access(runtime.c_str(), X_OK) != 0) continue;
    if (OnlyRootOrWeCanChange(dir) && OnlyRootOrWeCanChange(tool) && OnlyRootOrWeCanChange(runtime)) return dir;
    passed_over += " " + dir;
  }
  if (!passed_over.empty())
    return PermissionDenied("the confide and confide-enclave-runtime programs were passed over in" + passed_over +
                            ": the directory or a program belongs to another user or may be written by its group "
                            "or others, and whatever runs from there would run with your rights (chmod g-w,o-w)");
  return NotFound(
      "the confide and confide-enclave-runtime programs were not found (looked in $CONFIDE_TOOLS_DIR, " +
      std::string(CONFIDE_BUILD_BINDIR) + " and " + CONFIDE_INSTALL_BINDIR + ")");
}

// A development daemon private to this process, started when no platform daemon runs. It
// ends when this process ends (it watches a pipe whose write end only we hold).
class PrivateDaemon {
 public:
  Result<std::string> SocketPath() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!socket_.empty()) {
      auto alive = platform::ConnectTo(socket_, 5);
      if (alive.ok()) {
        close(*alive);
        return socket_;
      }
      if (alive.status().code() != Code::kUnavailable) return alive.status();
      // It ended (killed, say): reap it, remove what it left (a killed daemon leaves its
      // state, root key included) and start another.
      close(watch_write_end_);  // ends it, if it somehow still runs
      for (int i = 0; i < 500 && waitpid(pid_, nullptr, WNOHANG) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      std::error_code ignored;
      std::filesystem::remove_all(socket_.substr(0, socket_.rfind('/')), ignored);
      socket_.clear();
    }
    CONFIDE_ASSIGN_OR_RETURN(std::string tools, ToolsDir());
    const char* tmp = secure_getenv("TMPDIR");
    std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/confide-platform-XXXXXX";
    if (mkdtemp(dir.data()) == nullptr) return IoError("cannot create " + dir + ": " + strerror(errno));
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) return IoError(std::string("pipe failed: ") + strerror(errno));
    std::string sock = dir + "/platform.sock";
    std::string prog = tools + "/confide";
    // --ephemeral: the state (root key, development CA) goes with the daemon, so what it
    // sealed unseals only while this process lives.
    std::vector<std::string> args = {prog, "platform", "start", "--foreground", "--development", "--ephemeral",
                                     "--socket", sock, "--state", dir + "/state", "--watch-fd", "3"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[0], 3);
    posix_spawn_file_actions_addclosefrom_np(&fa, 4);  // none of this process's other descriptors
    pid_t pid;
    int rc = posix_spawn(&pid, prog.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[0]);
    if (rc != 0) {
      close(pipefd[1]);
      return IoError("cannot start a development platform daemon (" + prog + "): " + strerror(rc));
    }
    for (int i = 0; i < 500; ++i) {  // up to 5 s for the socket to answer
      int status;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        close(pipefd[1]);
        return Status(Code::kUnavailable, "the development platform daemon (" + prog + ") exited at once, status " +
                                              std::to_string(status) + "; its reason is on this process's stderr");
      }
      auto s = platform::ConnectTo(sock);
      if (s.ok()) {
        close(*s);
        socket_ = sock;
        watch_write_end_ = pipefd[1];
        pid_ = pid;
        return socket_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    close(pipefd[1]);
    return Status(Code::kUnavailable, "the development platform daemon did not start within 5 s");
  }

 private:
  std::mutex mu_;
  std::string socket_;
  int watch_write_end_ = -1;  // kept open for the life of the daemon
  pid_t pid_ = -1;
};

PrivateDaemon& Private() {
  static PrivateDaemon* d = new PrivateDaemon();  // never destroyed: the pipe must stay open
  return *d;
}

class SoftBackend : public Backend {
 public:
  ~SoftBackend() override {
    if (reaper_.joinable()) {
      uint64_t one = 1;
      if (write(stop_reaper_, &one, sizeof one) != sizeof one) std::abort();  // an eventfd write fails only on overflow
      reaper_.join();
    }
    if (stop_reaper_ >= 0) close(stop_reaper_);
    // Closing the lifeline tells the enclave process to wipe its memory and end; closing the
    // host watch tells the daemon to make sure it does (a stopped process cannot).
    if (lifeline_ >= 0) close(lifeline_);
    if (host_watch_ >= 0) close(host_watch_);
    if (map_ != nullptr) munmap(map_, map_size_);
  }

  Status Start(ByteSpan signed_image, const image::SignedImage& img, const confide_host_v1* host,
               const SoftOptions& options) {
    host_ = host;
    options_ = options;
    std::string socket = platform::DefaultSocketPath();
    auto probe = platform::ConnectTo(socket);
    // Only "no daemon listens there" leads to a private development daemon. One we may not
    // use, or a process there that is no daemon of root's or ours, is an error: never a
    // silent switch to development mode.
    if (!probe.ok() && probe.status().code() != Code::kUnavailable) return probe.status();
    const bool shared = probe.ok();
    if (shared) close(*probe);
    if (!shared) {
      const char* named = secure_getenv(platform::kSocketEnv);
      if (named != nullptr && *named != '\0')
        return Status(Code::kUnavailable, "no platform daemon answers at $" + std::string(platform::kSocketEnv) +
                                              " = " + socket + "; start it with 'confide platform start'");
      CONFIDE_ASSIGN_OR_RETURN(socket, Private().SocketPath());
    }
    uint32_t slots = static_cast<uint32_t>(img.config.num_tcs);
    map_size_ = soft::ChannelSize(slots, options.slot_data_bytes);
    // Size-sealed: the enclave process refuses a channel the host could shrink under it.
    auto channel_fd = CreateFixedSizeMemfd(map_size_, "confide-channel");
    if (!channel_fd.ok()) return channel_fd.status().WithContext("creating the call channel");
    int chan = *channel_fd;
    map_ = mmap(nullptr, map_size_, PROT_READ | PROT_WRITE, MAP_SHARED, chan, 0);
    if (map_ == MAP_FAILED) {
      map_ = nullptr;
      close(chan);
      return IoError(std::string("mapping the call channel failed: ") + strerror(errno));
    }
    channel_ = Channel(map_, map_size_);
    CONFIDE_RETURN_IF_ERROR(channel_.Initialise(slots, options.slot_data_bytes));
    slots_ = std::make_unique<HostSlot[]>(slots);
    // The lifeline goes to the enclave process, the host watch to the daemon; we keep the
    // other end of each for as long as the enclave is ours.
    int life[2], watch[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, life) != 0) {
      close(chan);
      return IoError(std::string("socketpair failed: ") + strerror(errno));
    }
    lifeline_ = life[0];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, watch) != 0) {
      close(chan);
      close(life[1]);
      return IoError(std::string("socketpair failed: ") + strerror(errno));
    }
    host_watch_ = watch[0];
    auto image_fd = CreateSealedMemfd(signed_image, "confide-image");
    if (!image_fd.ok()) {
      close(chan);
      close(life[1]);
      close(watch[1]);
      return image_fd.status();
    }
    auto reply = platform::Request(socket, {{"op", "launch"}, {"refuse_debug", options.refuse_debug}},
                                   {*image_fd, chan, life[1], watch[1]});
    close(*image_fd);
    close(chan);
    close(life[1]);
    close(watch[1]);
    if (!reply.ok()) return reply.status();
    auto pid = reply->find("pid");
    auto development = reply->find("development");
    if (pid == reply->end() || !pid->is_number_integer() || pid->get<int64_t>() <= 0 ||
        pid->get<int64_t>() > INT32_MAX || development == reply->end() || !development->is_boolean())
      return InvalidArgument("the platform daemon's launch reply has no positive integer 'pid' or no boolean "
                             "'development': " + reply->dump().substr(0, 200));
    pid_ = static_cast<pid_t>(pid->get<int64_t>());
    development_ = development->get<bool>();
    CONFIDE_RETURN_IF_ERROR(WaitReady());
    // A ready enclave's reason is a warning (a debug image on ordinary memory): the enclave
    // process has no terminal of its own, so its host tells its user.
    const auto& h = channel_.header();
    if (h.reason[0] != '\0')
      std::fprintf(stderr, "confide: enclave (pid %d): %.*s\n", pid_, static_cast<int>(strnlen(h.reason, sizeof h.reason)), h.reason);
    stop_reaper_ = eventfd(0, EFD_CLOEXEC);
    if (stop_reaper_ < 0) return IoError(std::string("eventfd failed: ") + strerror(errno));
    reaper_ = std::thread([this] { Reap(); });
    return Status::Ok();
  }

  int process_id() const override { return pid_; }
  bool development() const override { return development_; }

  // The channel slot, for large requests: the proxy writes the frame where the enclave copies
  // it from. Small ones are written privately and copied in by Ecall in one burst of stores
  // just before the state changes: the enclave may be spinning on that cache line, and each
  // store to it would move it between the cores again.
  std::span<uint8_t> RequestRegion(uint32_t slot, size_t hint) override {
    if (hint < kWriteInPlaceBytes || slot >= channel_.num_slots()) return {};
    return {channel_.data(slot, slots_[slot].line.load(std::memory_order_relaxed)), channel_.slot_data_bytes()};
  }
  static constexpr size_t kWriteInPlaceBytes = 16 * 1024;

  int32_t Ecall(uint32_t slot, uint32_t id, uint8_t* in, size_t in_len, uint8_t* out, size_t cap,
                size_t* out_len) override {
    return Send(slot, id, false, in, in_len, out, cap, out_len);
  }
  int32_t EcallValues(uint32_t slot, uint32_t id, uint8_t* in, size_t in_len, uint8_t* out, size_t cap,
                      size_t* out_len) override {
    return Send(slot, id, true, in, in_len, out, cap, out_len);
  }

 private:
  // One ecall through the slot's channel: a frame, or a value call's argument bytes.
  int32_t Send(uint32_t slot, uint32_t id, bool values, uint8_t* in, size_t in_len, uint8_t* out, size_t cap,
               size_t* out_len) {
    *out_len = 0;
    // One load on the way in; a process that ended without reporting it (killed) is found by
    // the wait below, which polls the lifeline whenever it wakes without an answer.
    if (ended_.load(std::memory_order_relaxed) || Reported() != EnclaveState::kReady) {
      Status gone = Gone();
      if (!gone.ok()) return abi::WriteStatus(gone, out, cap, out_len);
    }
    if (slot >= channel_.num_slots()) return abi::WriteStatus(OutOfRange("thread slot out of range"), out, cap, out_len);
    // The bit that marks a value call on the channel is no ecall id (no enclave has 2^31 ecalls).
    if ((id & soft::kValueCall) != 0)
      return abi::WriteStatus(OutOfRange("ecall id " + std::to_string(id) + " is out of range"), out, cap, out_len);
    const uint64_t room = channel_.slot_data_bytes();
    if (in_len > room)
      return abi::WriteStatus(OutOfRange("request frame of " + std::to_string(in_len) + " bytes exceeds the channel's " +
                              std::to_string(room) + "-byte slot; raise EnclaveOptions::channel_slot_bytes"),
                   out, cap, out_len);
    bool spin = options_.switchless ||
                (options_.ecall_switchless != nullptr && id < options_.ecall_count && options_.ecall_switchless[id]);
    HostSlot& hs = slots_[slot];
    const soft::HandOffTuner::Choice choice = hs.tuner.Next();
    using Demote = EnclaveOptions::ChannelDemote;
    const bool demote = options_.demote == Demote::kMeasure ? choice.demote : options_.demote == Demote::kAlways;
    uint32_t line = hs.line.load(std::memory_order_relaxed);
    // Only between switchless calls (a sleeping slot thread would be woken just to move), not
    // under a call waiting for its ocall's reply, not away from a request written in place, and
    // not down to a line whose data area would reach the old line before the slot thread has
    // read the move there.
    const bool reaches_old = choice.line < line && in_len + sizeof(soft::SlotControl) >
                                                       (line - choice.line) * uint64_t{soft::kHotLineStride};
    if (choice.line != line) {
      // Either way this call's block is not the chosen line's: a move's call pays the move, and
      // a call that could not move ran on another line.
      hs.tuner.Disturbed();
      if (spin && hs.ocall_depth == 0 && in != channel_.data(slot, line) && !reaches_old) {
        Move(slot, line, choice.line, demote);
        line = choice.line;
      }
    }
    soft::SlotControl& c = channel_.control(slot, line);
    uint8_t* data = channel_.data(slot, line);
    if (in != data && in_len != 0) abi::CopyAndWipe(data, in, in_len);  // else written in place (RequestRegion)
    c.call_id = values ? id | soft::kValueCall : id;
    c.length = in_len;
    c.code = 0;
    c.flags = static_cast<uint16_t>((spin ? soft::kSwitchless : 0) | (demote ? soft::kDemote : 0) |
                                    (spin ? choice.slot_pauses << soft::kBackOffShift : 0));
    c.host_cpu = static_cast<uint16_t>(soft::CurrentCpu());
    bool woke = soft::PublishState(c, soft::Side::kHost, SlotState::kEcallRequest, demote);
    // Adaptive: a slot thread that was asleep answers no sooner than a wake-up latency (tens of
    // microseconds on these VMs), so a sleeping call then sleeps at once instead of spinning
    // on a core the enclave may need.
    // No timeout: the reaper wakes this wait if the enclave process ends.
    soft::WaitPolicy policy{spin ? 50000u : (woke ? 0u : 2000u), 0};
    if (!spin || woke) hs.tuner.Disturbed();
    else soft::BackOff(choice.host_pauses);
    for (;;) {
      // The reaper may have marked the slot gone just before our last store overwrote that;
      // it sets ended_ first, so this load sees it then (both are seq_cst).
      if (ended_.load(std::memory_order_seq_cst)) return abi::WriteStatus(Ended(), out, cap, out_len);
      bool slept = false;
      Status w = soft::WaitForState(
          c, soft::Side::kHost, policy,
          [](SlotState s) { return s == SlotState::kEcallReply || s == SlotState::kOcallRequest || s == SlotState::kGone; },
          [this] { return Gone(); }, &slept);
      if (!w.ok()) return abi::WriteStatus(w, out, cap, out_len);
      if (slept) hs.tuner.Disturbed();
      auto state = static_cast<SlotState>(c.state.load(std::memory_order_acquire));
      if (state == SlotState::kEcallReply) break;
      if (state == SlotState::kGone) return abi::WriteStatus(Ended(), out, cap, out_len);
      ServeOcall(slot, c, data, room, demote);
      hs.tuner.Disturbed();  // after: a call nested in the ocall may have started a clean block
    }
    // The enclave process is trusted, but its reply still lands only within our buffer.
    size_t len = std::min<uint64_t>(c.length, std::min<uint64_t>(cap, room));
    if (len != 0) std::memcpy(out, data, len);  // a call to memcpy even for none
    *out_len = len;
    int32_t code = c.code;
    // The enclave wipes the requests it takes. One it refused (or could not hold) may still
    // lie in the channel past the error message, so the host wipes it (docs/abi.md, rule 8);
    // one written in place is wiped by the proxy's CallBuffers.
    if (code != 0 && in != data) SecureZero(data, in_len);
    // The state stays kEcallReply until the next request: the slot thread waits for that, and
    // a store here would only pull the line it spins on away from it.
    return code;
  }

  void ServeOcall(uint32_t slot, soft::SlotControl& c, uint8_t* data, uint64_t room, bool demote) {
    size_t len = std::min<uint64_t>(c.length, room);
    uint32_t id = c.call_id;
    size_t out_len = 0;
    // Enclave::DispatchOcall copies the request out of the channel before it parses it or
    // writes the reply over it.
    ++slots_[slot].ocall_depth;  // the handler may make ecalls on this slot
    int32_t code = host_->ocall(host_->ctx, slot, id, data, len, data, room, &out_len);
    --slots_[slot].ocall_depth;
    c.length = std::min<uint64_t>(out_len, room);
    c.code = code;
    soft::PublishState(c, soft::Side::kHost, SlotState::kOcallReply, demote);
  }

  // Moves the slot's hot line between calls: the last reply is in, so the slot thread waits on
  // `from` for a request. The new line is made ready before the slot thread is told about it,
  // and the next request goes there at once: the slot thread needs no answer to follow. (The
  // request's hints, flags and host_cpu, come with that request: the slot thread keeps the last
  // ones it read in between.)
  void Move(uint32_t slot, uint32_t from, uint32_t to, bool demote) {
    soft::SlotControl& old = channel_.control(slot, from);
    soft::SlotControl& next = channel_.control(slot, to);
    next.host_sleeping.store(0, std::memory_order_relaxed);
    next.enclave_sleeping.store(0, std::memory_order_relaxed);
    next.state.store(static_cast<uint32_t>(SlotState::kEcallReply), std::memory_order_relaxed);
    slots_[slot].line.store(to, std::memory_order_seq_cst);  // before the reaper could miss it
    old.call_id = to;
    soft::PublishState(old, soft::Side::kHost, SlotState::kMove, demote);
  }

  // Runs for the life of the backend, blocked on the lifeline. When the enclave process ends
  // (killed, crashed, or after its tamper response), the lifeline hangs up: every slot is
  // marked kGone and its waiter woken, so waits for a reply need no timeout.
  void Reap() {
    pollfd p[2] = {{lifeline_, POLLIN, 0}, {stop_reaper_, POLLIN, 0}};
    for (;;) {
      if (poll(p, 2, -1) < 0) {
        if (errno != EINTR) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      if (p[1].revents != 0) return;
      if (p[0].revents != 0) break;
    }
    ended_.store(true, std::memory_order_seq_cst);
    for (uint32_t i = 0; i < channel_.num_slots(); ++i) {
      soft::SlotControl& c = channel_.control(i, slots_[i].line.load(std::memory_order_seq_cst));
      c.state.store(static_cast<uint32_t>(SlotState::kGone), std::memory_order_seq_cst);
      soft::FutexWake(c.state);
    }
  }

  EnclaveState Reported() const {
    return static_cast<EnclaveState>(channel_.header().enclave_state.load(std::memory_order_acquire));
  }

  // Non-OK once the enclave is lost, crashed or gone; sticky.
  Status Gone() {
    EnclaveState state = Reported();
    auto reason = [&] {
      return std::string(channel_.header().reason, strnlen(channel_.header().reason, sizeof channel_.header().reason));
    };
    Status s;
    pollfd p{lifeline_, POLLIN, 0};
    if (state == EnclaveState::kLost) {
      s = Status(Code::kEnclaveLost, "the enclave was lost and its secrets wiped: " + reason());
    } else if (state == EnclaveState::kCrashed) {
      s = Status(Code::kEnclaveCrashed, "the enclave process crashed: " + reason());
    } else if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLIN))) {
      std::string r = reason();
      s = Status(Code::kEnclaveCrashed, "the enclave process (pid " + std::to_string(pid_) + ") ended unexpectedly" +
                                            (r.empty() ? "" : ": " + r));
    }
    if (!s.ok()) ended_.store(true, std::memory_order_relaxed);
    return s;
  }

  // Why the enclave is gone, once the reaper found it so.
  Status Ended() {
    Status s = Gone();
    if (s.ok()) s = Status(Code::kEnclaveCrashed, "the enclave process (pid " + std::to_string(pid_) + ") ended");
    return s;
  }

  Status WaitReady() {
    auto& word = channel_.header().enclave_state;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      uint32_t v = word.load(std::memory_order_acquire);
      if (static_cast<EnclaveState>(v) == EnclaveState::kReady) return Status::Ok();
      Status g = Gone();
      if (!g.ok()) return g.WithContext("starting the enclave");
      if (std::chrono::steady_clock::now() > deadline)
        return Status(Code::kTimeout, "the enclave process did not become ready within 30 s");
      soft::FutexWait(word, v, 20);
    }
  }

  const confide_host_v1* host_ = nullptr;
  SoftOptions options_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  Channel channel_;
  // Host-private per slot, used by the thread that holds the slot (and `line` by the reaper).
  struct HostSlot {
    soft::HandOffTuner tuner;
    std::atomic<uint32_t> line{0};  // the slot's hot line now
    uint32_t ocall_depth = 0;       // ocalls being served: calls nested in them must not move
  };
  std::unique_ptr<HostSlot[]> slots_;
  int lifeline_ = -1;
  int host_watch_ = -1;  // its peer is the daemon's: see ~SoftBackend
  int stop_reaper_ = -1;  // eventfd: written when the backend goes
  std::thread reaper_;
  std::atomic<bool> ended_{false};  // Gone() or the reaper found the enclave lost, crashed or ended
  int pid_ = 0;
  bool development_ = false;
};

}  // namespace

bool SoftBackendAvailable() { return ToolsDir().ok(); }

Result<std::unique_ptr<Backend>> CreateSoftBackend(ByteSpan signed_image, const image::SignedImage& image,
                                                   const confide_host_v1* host, const SoftOptions& options) {
  auto b = std::make_unique<SoftBackend>();
  CONFIDE_RETURN_IF_ERROR(b->Start(signed_image, image, host, options));
  return std::unique_ptr<Backend>(std::move(b));
}

}  // namespace confide
