#include "platform/daemon.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "backends/soft/launch.h"
#include "common/sealed_memfd.h"
#include "confide/image.h"
#include "confide/platform_services.h"
#include "confide/time.h"
#include "platform/attestation_identity.h"
#include "platform/launcher.h"
#include "platform/protocol.h"

namespace confide::platform {
namespace {

constexpr size_t kMaxImageBytes = size_t{1} << 30;
constexpr const char* kVersion = "0.1.0";

// Closes the descriptors that clients and enclaves hand the daemon, and the client
// connections themselves, on threads of their own: one per user the descriptors came from.
// Closing someone else's file can block for as long as they like: a TCP socket set to linger
// whose peer never reads, a FUSE file whose server never answers the flush, or a Unix socket
// whose queue holds such descriptors. Only that user's closer waits then; the main loop, the
// verifiers and other users' closers (which close their hosts' lifeline copies, so that
// hosts learn when their enclaves end) go on.
class Closer {
 public:
  void Close(int fd, uid_t uid) {
    if (fd < 0) return;
    std::shared_ptr<Queue>& q = queues_[uid];
    if (!q) Start(q = std::make_shared<Queue>());
    {
      std::lock_guard<std::mutex> lock(q->mutex);
      q->fds.push_back(fd);
    }
    q->wake.notify_one();
  }
  void Close(std::vector<int>& fds, uid_t uid) {
    for (int fd : fds) Close(fd, uid);
    fds.clear();
  }
  // Descriptors of `uid` not closed yet: many means its closer is stuck on one of them.
  size_t Pending(uid_t uid) const {
    auto it = queues_.find(uid);
    if (it == queues_.end()) return 0;
    std::lock_guard<std::mutex> lock(it->second->mutex);
    return it->second->fds.size();
  }

 private:
  struct Queue {
    mutable std::mutex mutex;
    std::condition_variable wake;
    std::deque<int> fds;
  };
  // Detached: a close that never returns must not keep the daemon from exiting either.
  static void Start(std::shared_ptr<Queue> q) {
    std::thread([q] {
      for (;;) {
        int fd;
        {
          std::unique_lock<std::mutex> lock(q->mutex);
          q->wake.wait(lock, [&] { return !q->fds.empty(); });
          fd = q->fds.front();
          q->fds.pop_front();
        }
        close(fd);
      }
    }).detach();
  }
  std::map<uid_t, std::shared_ptr<Queue>> queues_;  // used by the main thread only
};

// Whether the other end of a connected socket closed (or the socket failed).
bool PeerHungUp(int fd) {
  pollfd p{fd, POLLRDHUP, 0};
  int ready = poll(&p, 1, 0);
  return ready < 0 || (ready == 1 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) != 0);
}

// Whether `fd` is a Unix socket, and with `connected_type` a stream or seqpacket one.
bool UnixSocket(int fd, bool connected_type) {
  int domain = 0, type = 0;
  socklen_t domain_len = sizeof domain, type_len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &domain_len) != 0 || domain != AF_UNIX) return false;
  if (!connected_type) return true;
  return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) == 0 && (type == SOCK_STREAM || type == SOCK_SEQPACKET);
}

// A launch while its image is read and verified, off the main loop.
struct LaunchJob {
  int client = -1;       // who asked: not served again until answered
  std::vector<int> fds;  // image, channel, lifeline, host watch (owned)
  ucred peer{};
  bool refuse_debug = false;
  confide::Status status;  // the verifier's verdict
  std::optional<image::SignedImage> image;
};

// Verifies the image where it lies. BeginLaunch accepted only a memfd sealed against writes,
// shrinking and growing: seals cannot be removed, so the bytes verified are the bytes that
// run, and reading them through a mapping costs no copy.
void VerifyImage(LaunchJob& job) {
  struct stat st;
  if (fstat(job.fds[0], &st) != 0 || st.st_size <= 0 || static_cast<uint64_t>(st.st_size) > kMaxImageBytes) {
    job.status = OutOfRange("the enclave image must be 1 byte to " + std::to_string(kMaxImageBytes) + " bytes long");
    return;
  }
  const size_t size = static_cast<size_t>(st.st_size);
  void* map = mmap(nullptr, size, PROT_READ, MAP_SHARED, job.fds[0], 0);
  if (map == MAP_FAILED) {
    job.status = IoError(std::string("mapping the enclave image failed: ") + strerror(errno));
    return;
  }
  try {
    auto img = image::LoadAndVerify(ByteSpan(static_cast<const uint8_t*>(map), size));
    if (!img.ok()) {
      job.status = img.status().WithContext("refusing enclave image");
    } else {
      job.image = std::move(*img);
      job.image->elf = {};  // a view into the mapping, which goes now
    }
  } catch (const std::bad_alloc&) {
    job.status = OutOfRange("the platform daemon ran out of memory verifying this image");
  }
  munmap(map, size);
}

// Verifies launch images on worker threads. An image of up to 1 GiB takes seconds to
// measure; on the main loop it would stall every user's requests and
// every running enclave's key and quote requests for that long, as often as anyone launched
// one. Launches wait for one another; nothing else does.
class ImageVerifier {
 public:
  ImageVerifier(int threads, Closer& closer) : closer_(closer), ready_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
  }
  ~ImageVerifier() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    for (auto* queue : {&todo_, &done_})
      for (auto& job : *queue) {
        closer_.Close(job.fds, job.peer.uid);
        closer_.Close(job.client, job.peer.uid);
      }
    close(ready_fd_);
  }
  bool ok() const { return ready_fd_ >= 0; }
  // Readable while finished jobs wait to be taken.
  int ready_fd() const { return ready_fd_; }
  void Submit(LaunchJob job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      todo_.push_back(std::move(job));
    }
    wake_.notify_one();
  }
  std::deque<LaunchJob> TakeFinished() {
    uint64_t count;
    (void)!read(ready_fd_, &count, sizeof count);
    std::lock_guard<std::mutex> lock(mutex_);
    return std::exchange(done_, {});
  }

 private:
  void Work() {
    for (;;) {
      LaunchJob job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !todo_.empty(); });
        if (stopping_) return;
        job = std::move(todo_.front());
        todo_.pop_front();
      }
      VerifyImage(job);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.push_back(std::move(job));
      }
      const uint64_t one = 1;
      (void)!write(ready_fd_, &one, sizeof one);
    }
  }

  Closer& closer_;
  int ready_fd_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::deque<LaunchJob> todo_, done_;
  std::vector<std::thread> workers_;
};

struct Daemon {
  DaemonOptions opt;
  std::string runtime;
  Launcher launcher;  // starts the enclave processes
  // Live enclave processes, by the pidfd the launcher made for each (readable once it ends).
  struct Running {
    int link;        // its platform connection, until that goes (-1 then)
    int host_watch;  // a socket whose peer its host holds, until that hangs up (-1 then)
    uid_t uid;       // the host's user
    // When its host went: the enclave then ends on its own (its lifeline closed too) unless
    // it is stopped, and is killed if it still runs at this time.
    std::optional<std::chrono::steady_clock::time_point> kill_at;
  };
  // A running enclave notices its host's end within its watchdog period (5 ms) and then wipes
  // its memory; this leaves it ample time for that on a loaded machine.
  static constexpr std::chrono::seconds kHostGoneGrace{2};
  std::map<int, Running> enclaves;
  uint64_t orphans_killed = 0;  // enclaves that had not ended kHostGoneGrace after their hosts
  // Keys and reports for the enclaves launched here (root: <state>/root.key). Other platform
  // features (a quoter for remote attestation) attach to it.
  std::unique_ptr<platform_services::KeyService> keys;
  std::unique_ptr<AttestationIdentity> attestation;  // quotes: attestation key + platform chain
  // Each enclave's platform connection, and who is at the other end (from the verified image,
  // never from the enclave's own words).
  struct Link {
    platform_services::Identity identity;
    uid_t uid;  // the host's user
  };
  std::map<int, Link> links;  // daemon's end of the socketpair -> its enclave
  UnixTime started = Now();
  bool memfd_secret = false;
  Closer* closer = nullptr;  // every descriptor others sent us is closed there

  nlohmann::json Status() const {
    return {{"ok", true},
            {"version", kVersion},
            {"pid", getpid()},
            {"socket", opt.socket_path},
            {"state_dir", opt.state_dir},
            {"development", opt.development},
            {"attestation", attestation->development() || opt.development ? "development" : "production"},
            {"allow_debug", opt.allow_debug},
            {"memfd_secret", memfd_secret},
            {"runtime", runtime},
            {"enclaves", enclaves.size()},
            {"orphans_killed", orphans_killed},
            {"launcher_pid", launcher.pid()},
            {"started", FormatRfc3339(started)}};
  }

  // The checks of a launch request that need no reading: a job for the verifier, or the
  // error reply. Takes the descriptors ([image, channel, lifeline, host watch]) either way; job.peer
  // holds the client's credentials already.
  std::optional<nlohmann::json> BeginLaunch(const nlohmann::json& req, std::vector<int>& fds, LaunchJob& job) {
    auto fail = [&](const confide::Status& s) {
      closer->Close(fds, job.peer.uid);
      return ErrorReply(s);
    };
    if (fds.size() != 4)
      return fail(InvalidArgument("launch needs 4 descriptors: image, channel, lifeline, host watch; got " +
                                  std::to_string(fds.size())));
    // What is checked is what runs: only a memfd sealed against writes, shrinking and
    // growing is taken (seals cannot be removed), and it is verified where it lies. That also
    // keeps files whose reads could block (FUSE) out of the verifiers. The checks here read
    // nothing and cannot block.
    constexpr int kImmutable = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;
    int seals = fcntl(fds[0], F_GET_SEALS);
    if (seals < 0 || (seals & kImmutable) != kImmutable)
      return fail(InvalidArgument("the enclave image must be handed over as a memfd sealed against writes, "
                                  "shrinking and growing (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW), as the host "
                                  "library does; not as a file on disk, an unsealed memfd or another kind of descriptor"));
    if (!UnixSocket(fds[2], false))
      return fail(InvalidArgument("the lifeline descriptor must be a Unix socket (one end of a socketpair)"));
    // Connection-oriented: only then does the host's close show here as a hang-up.
    if (!UnixSocket(fds[3], true))
      return fail(InvalidArgument("the host watch descriptor must be a stream or seqpacket Unix socket (one end of a "
                                  "socketpair whose other end the host keeps for as long as it uses the enclave)"));
    auto asked = req.find("refuse_debug");
    if (asked != req.end() && !asked->is_boolean())
      return fail(InvalidArgument("the launch request's 'refuse_debug' must be true or false"));
    // Seals first: only a memfd has them, and fstat of anything else could wait on FUSE.
    if (!SizeSealed(fds[1]))
      return fail(InvalidArgument(
          "the call channel memfd is not sealed against shrinking and growing; create it with "
          "MFD_ALLOW_SEALING and add F_SEAL_SHRINK | F_SEAL_GROW once it has its size"));
    struct stat st;
    if (fstat(fds[1], &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
      return fail(InvalidArgument("the call channel descriptor is not a memfd of a usable size"));
    job.refuse_debug = (asked != req.end() && asked->get<bool>()) || !opt.allow_debug;
    job.fds = std::move(fds);
    fds.clear();
    return std::nullopt;
  }

  // A verified launch: the policy, then the enclave process. Takes the job's descriptors.
  nlohmann::json FinishLaunch(LaunchJob& job) {
    std::vector<int>& fds = job.fds;
    const ucred& peer = job.peer;
    auto fail = [&](const confide::Status& s) {
      closer->Close(fds, peer.uid);
      return ErrorReply(s);
    };
    if (!job.status.ok()) return fail(job.status);
    const image::SignedImage* img = &*job.image;
    if (img->config.debug && job.refuse_debug)
      return fail(PolicyViolation("the launch policy refuses debug enclaves and this image is signed with Debug=1"));
    if (!img->config.debug && !memfd_secret)
      return fail(PermissionDenied(
          "production (Debug=0) enclaves need memfd_secret(2): Linux >= 5.14 with secretmem enabled "
          "(secretmem.enable=1 on older kernels); this kernel does not provide it"));

    int platform_pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, platform_pair) != 0)
      return fail(IoError(std::string("socketpair failed: ") + strerror(errno)));
    // memfd_secret mappings count against RLIMIT_MEMLOCK in full when mapped: the heap, the
    // 8 MiB start-up arena, per slot a stack plus 128 KiB (TLS, guard, signal stack), and
    // room for the image's writable segments.
    uint64_t secret_bytes = img->config.num_heap_pages * image::kPageSize + (8ull << 20) +
                            img->config.num_tcs * (img->config.num_stack_pages * image::kPageSize + (128ull << 10)) +
                            (64ull << 20);
    const int launch_fds[4] = {fds[0], fds[1], fds[2], platform_pair[1]};
    auto started = launcher.Launch(launch_fds, peer, secret_bytes);
    close(platform_pair[1]);
    if (!started.ok()) {
      close(platform_pair[0]);
      return fail(started.status());
    }
    // Non-blocking: an enclave that stops reading its replies must not stall the daemon.
    fcntl(platform_pair[0], F_SETFL, O_NONBLOCK);
    links[platform_pair[0]] = Link{platform_services::IdentityOf(*img), peer.uid};
    const int host_watch = fds[3];
    fds.pop_back();
    closer->Close(fds, peer.uid);
    enclaves[started->pidfd] = Running{platform_pair[0], host_watch, peer.uid, std::nullopt};
    return {{"ok", true},
            {"pid", started->pid},
            {"mrenclave", HexEncode(img->mrenclave)},
            {"mrsigner", HexEncode(img->mrsigner)},
            {"debug", img->config.debug},
            {"development", opt.development}};
  }

  // Enclave processes are the launcher's children; only the launcher is ours.
  void Reap() {
    for (;;) {
      pid_t pid = waitpid(-1, nullptr, WNOHANG);
      if (pid <= 0) break;
      launcher.Ended(pid);
    }
  }

  // The enclave's platform connection ended (it closed its end), or the enclave did.
  void DropLink(int fd) {
    auto link = links.find(fd);
    if (link == links.end()) return;
    closer->Close(fd, link->second.uid);  // its queue may hold descriptors the enclave sent
    links.erase(link);
    // Its number may serve a new link once the closer got to it.
    for (auto& [pidfd, e] : enclaves)
      if (e.link == fd) e.link = -1;
  }

  // The host of the enclave behind `pidfd` ended, or let go of it: a stopped enclave process
  // would not notice, so it is killed unless it has ended by kill_at.
  void HostGone(int pidfd) {
    auto e = enclaves.find(pidfd);
    if (e == enclaves.end() || e->second.host_watch < 0) return;
    closer->Close(e->second.host_watch, e->second.uid);
    e->second.host_watch = -1;
    e->second.kill_at = std::chrono::steady_clock::now() + kHostGoneGrace;
  }

  // Kills the enclaves whose hosts went more than kHostGoneGrace ago; returns how long poll may
  // wait for the next one (-1: no limit).
  int KillOrphans() {
    const auto now = std::chrono::steady_clock::now();
    int wait_ms = -1;
    for (auto& [pidfd, e] : enclaves) {
      if (!e.kill_at) continue;
      if (*e.kill_at <= now) {
        // SIGKILL ends a stopped process too; its pidfd turns readable and Ended follows. One
        // that has ended already (readable, not yet handled) is not counted.
        pollfd ended{pidfd, POLLIN, 0};
        if (poll(&ended, 1, 0) == 0 && syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0) == 0)
          ++orphans_killed;
        e.kill_at.reset();
        continue;
      }
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*e.kill_at - now).count();
      if (wait_ms < 0 || left < wait_ms) wait_ms = static_cast<int>(left);
    }
    return wait_ms;
  }

  // Before the daemon goes, the enclaves whose hosts are gone (all of them when `hosts_gone`:
  // a private daemon ends because its host did) get the same grace and the same end.
  void EndOrphans(bool hosts_gone) {
    for (auto& [pidfd, e] : enclaves)
      if (e.host_watch >= 0 && (hosts_gone || PeerHungUp(e.host_watch))) HostGone(pidfd);
    for (int wait_ms; (wait_ms = KillOrphans()) >= 0;) {
      std::vector<pollfd> waiting;
      for (const auto& [pidfd, e] : enclaves)
        if (e.kill_at) waiting.push_back({pidfd, POLLIN, 0});
      if (poll(waiting.data(), waiting.size(), wait_ms) < 0 && errno != EINTR) return;
      for (const pollfd& p : waiting)
        if (p.revents != 0) Ended(p.fd);
    }
  }

  // The enclave process behind `pidfd` ended. Its link goes with it, even where a copy of the
  // enclave's end lives on elsewhere (its code may have handed it on): nobody speaks for a
  // dead enclave.
  void Ended(int pidfd) {
    auto e = enclaves.find(pidfd);
    if (e == enclaves.end()) return;
    if (e->second.link >= 0) DropLink(e->second.link);
    closer->Close(e->second.host_watch, e->second.uid);
    close(pidfd);
    enclaves.erase(e);
  }

  // One platform-services request from the enclave at `fd`; every request gets a reply, a
  // malformed one an error reply. EOF or a socket error drops the link.
  void ServePlatform(int fd) {
    auto it = links.find(fd);
    if (it == links.end()) return;
    Bytes buf(platform_services::kMaxMessageBytes + 1);
    // recvmsg rather than read: descriptors the enclave attached are taken and handed to the
    // closer; read would drop them here, and their last close could block this loop.
    std::vector<int> attached;
    bool truncated = false;  // then n is kMaxMessageBytes + 1, and Serve refuses the size
    ssize_t n = ReceiveWithDescriptors(fd, buf.data(), buf.size(), &attached, &truncated);
    const int error = errno;
    closer->Close(attached, it->second.uid);
    if (n < 0 && (error == EAGAIN || error == EINTR)) return;
    // recvmsg returns 0 for a zero-length message too (SOCK_SEQPACKET keeps it): only a hung-up
    // peer ends the link; an empty request gets Serve's error reply like any malformed one.
    if (n < 0 || (n == 0 && PeerHungUp(fd))) {
      DropLink(fd);
      return;
    }
    // An oversized request arrives truncated to kMaxMessageBytes + 1; Serve refuses its size.
    Bytes reply = keys->Serve(it->second.identity, ByteSpan(buf.data(), static_cast<size_t>(n)));
    SecureZero(buf);
    ssize_t w = write(fd, reply.data(), reply.size());
    SecureZero(reply);  // may hold a derived key
    if (w != static_cast<ssize_t>(reply.size())) DropLink(fd);
  }
};

Status Listen(const std::string& path, int* out) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) return InvalidArgument("bad socket path '" + path + "'");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  // A live daemon already answering here must not be displaced, nor may anyone else's
  // process listening here be taken for one (ConnectTo refuses it); a stale socket of our own
  // may be replaced, and nothing else is removed.
  auto existing = ConnectTo(path, 5);
  if (existing.ok()) {
    close(*existing);
    return Status(Code::kAlreadyExists, "a platform daemon is already running at " + path);
  }
  if (existing.status().code() != Code::kUnavailable) return existing.status();
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return InvalidArgument(path + " exists and is not a socket; it was left alone: choose another --socket path");
    if (st.st_uid != geteuid())
      return PermissionDenied(path + " is a socket of uid " + std::to_string(st.st_uid) +
                              ", not yours: it was left alone; choose another --socket path");
    unlink(path.c_str());
  }
  int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0) return IoError(std::string("socket() failed: ") + strerror(errno));
  // Created with its final mode (never chmod'ed by path afterwards, which someone who could
  // swap the path for a link would redirect). World-connectable only when each enclave can
  // run as its host's user (we are root). A daemon running as some user would run every
  // enclave as that user, whose files (the state directory's root key among them) other
  // users' enclave code could then read: it serves that user alone.
  mode_t old = umask(geteuid() == 0 ? 0111 : 0177);
  int rc = bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  umask(old);
  if (rc != 0 || listen(s, 64) != 0) {
    int e = errno;
    close(s);
    return IoError("cannot listen on " + path + ": " + strerror(e));
  }
  *out = s;
  return Status::Ok();
}

}  // namespace

std::string ProgramDir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.rfind('/'));
}

namespace {

// The checks of MakeTrustedDirectories for each directory of `path` (which exists), from
// the root; `create` makes missing ones with `mode` first.
Status CheckDirectories(const std::string& path, bool create, mode_t mode) {
  const uid_t me = geteuid();
  auto owner_ok = [&](uid_t uid) { return uid == 0 || uid == me; };
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i != path.size() && path[i] != '/') continue;
    const std::string partial = path.substr(0, i);
    if (create && mkdir(partial.c_str(), mode) == 0) chmod(partial.c_str(), mode);  // new, in a checked parent
    else if (create && errno != EEXIST) return IoError("cannot create " + partial + ": " + strerror(errno));
    struct stat link, st;
    if (lstat(partial.c_str(), &link) != 0 || stat(partial.c_str(), &st) != 0)
      return IoError("cannot look at " + partial + ": " + strerror(errno));
    if (!S_ISDIR(st.st_mode)) return InvalidArgument(partial + " is not a directory");
    const bool last = i == path.size() || path.find_first_not_of('/', i) == std::string::npos;
    // Whoever may change a directory on the way may swap what we keep below it.
    const uid_t owner = !owner_ok(link.st_uid) ? link.st_uid : st.st_uid;
    if (!owner_ok(link.st_uid) || !owner_ok(st.st_uid) || (last && st.st_uid != me))
      return PermissionDenied(partial + " belongs to uid " + std::to_string(owner) +
                              (last ? ", not to you" : ", neither root nor you") + " (uid " + std::to_string(me) +
                              "): its owner could replace what the platform daemon keeps there; use a directory of your own");
    // Others may write to a directory on the way only if it is sticky, as /tmp is (they
    // cannot rename or remove what is ours); never to the last one.
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (last || (st.st_mode & S_ISVTX) == 0)) {
      char octal[8];
      snprintf(octal, sizeof octal, "%04o", st.st_mode & 07777);
      return PermissionDenied(partial + " (mode " + octal + ") may be written by others than its owner, who could "
                              "replace what the platform daemon keeps there; use a directory only you can write");
    }
    if (last) break;
  }
  return Status::Ok();
}

}  // namespace

Status MakeTrustedDirectories(const std::string& dir, mode_t mode) {
  if (dir.empty()) return InvalidArgument("no directory given");
  std::string path = dir;
  if (path[0] != '/') {  // the working directory's own directories count too
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd) == nullptr) return IoError(std::string("getcwd failed: ") + strerror(errno));
    path = std::string(cwd) + "/" + path;
  }
  CONFIDE_RETURN_IF_ERROR(CheckDirectories(path, true, mode));
  // Through symlinks, the directories on the way to their targets count as well.
  char* real = realpath(path.c_str(), nullptr);
  if (real == nullptr) return IoError("cannot resolve " + path + ": " + strerror(errno));
  std::string resolved(real);
  free(real);
  return CheckDirectories(resolved, false, mode);
}

Status PrepareDirectories(const DaemonOptions& options) {
  const std::string& sock = options.socket_path;
  const size_t slash = sock.rfind('/');
  CONFIDE_RETURN_IF_ERROR(
      MakeTrustedDirectories(slash == std::string::npos ? "." : slash == 0 ? "/" : sock.substr(0, slash), 0755));
  return MakeTrustedDirectories(options.state_dir, 0700);
}

bool MemfdSecretAvailable() {
  long fd = syscall(447, 0);
  if (fd < 0) return false;
  close(static_cast<int>(fd));
  return true;
}

Status RunDaemon(const DaemonOptions& options) {
  Daemon d;
  d.opt = options;
  // Run by a user other than root, the daemon runs every enclave as that user, who can read
  // its state (root key, attestation key): nothing isolates the enclaves from that user, so
  // what it launches, reports and quotes is development-grade.
  d.opt.development = options.development || geteuid() != 0;
  d.memfd_secret = MemfdSecretAvailable();
  d.runtime = options.runtime_path.empty() ? ProgramDir() + "/" + soft::kRuntimeProgram : options.runtime_path;
  if (access(d.runtime.c_str(), X_OK) != 0)
    return NotFound("enclave runtime program not found at " + d.runtime +
                    " (it is installed next to the confide tool as confide-enclave-runtime)");
  CONFIDE_RETURN_IF_ERROR(PrepareDirectories(options));
  {
    // Resolved once: status reports it so (whatever the working directory of whoever asks),
    // and an ephemeral daemon removes what it resolved to at start.
    char* real = realpath(options.state_dir.c_str(), nullptr);
    if (real == nullptr) return IoError("cannot resolve " + options.state_dir + ": " + strerror(errno));
    d.opt.state_dir = real;
    free(real);
  }
  {
    int state = open(options.state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);  // the path was checked
    if (state < 0 || fchmod(state, 0700) != 0) {
      int e = errno;
      if (state >= 0) close(state);
      return IoError("cannot make " + options.state_dir + " private (mode 0700): " + strerror(e));
    }
    close(state);
  }
  // Now, while this process has one thread and no one else's descriptors.
  CONFIDE_RETURN_IF_ERROR(d.launcher.Start(d.runtime));
  {
    // Created at first start, kept across restarts: sealed data outlives the daemon.
    auto root = platform_services::LoadOrCreateRootSecret(options.state_dir + "/root.key");
    if (!root.ok()) return root.status().WithContext("loading the platform root secret");
    d.keys = std::make_unique<platform_services::KeyService>(*root, d.opt.development);
    SecureZero(root->data(), root->size());
  }
  auto attestation = AttestationIdentity::Load(options.state_dir);
  if (!attestation.ok()) return attestation.status().WithContext("loading the platform's attestation identity");
  d.attestation = std::move(*attestation);
  d.keys->SetQuoter(d.attestation->Quoter());
  int listener = -1;
  CONFIDE_RETURN_IF_ERROR(Listen(options.socket_path, &listener));
  // An ephemeral daemon's state (root key, attestation key, development CA) ends with it,
  // and so does what was sealed under it. Only once it serves: a start that failed (another
  // daemon already answers there) must not touch the state.
  struct RemoveState {
    const DaemonOptions& o;  // the resolved state directory
    ~RemoveState() {
      if (!o.ephemeral) return;
      std::error_code ignored;
      std::filesystem::remove_all(o.state_dir, ignored);
      // And the socket's directory, if nothing else is left in it (a private daemon's).
      std::filesystem::remove(std::filesystem::path(o.socket_path).parent_path(), ignored);
    }
  } remove_state{d.opt};

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  signal(SIGPIPE, SIG_IGN);
  // Started once signals are blocked: their threads inherit the mask, and signalfd sees all.
  Closer closer;
  d.closer = &closer;
  ImageVerifier verifier(2, closer);
  if (!verifier.ok()) return IoError(std::string("eventfd failed: ") + strerror(errno));
  {
    // Room for many clients, and for descriptors waiting on the closer.
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
      files.rlim_cur = files.rlim_max;
      setrlimit(RLIMIT_NOFILE, &files);
    }
  }
  if (options.on_ready) options.on_ready();

  // Launches waiting for a verifier, per user and in all: one user cannot queue work (and
  // hold descriptors) without end.
  constexpr int kMaxLaunchesPerUser = 4, kMaxLaunches = 32;
  constexpr size_t kMaxPendingCloses = 256;
  std::map<uid_t, int> launching;  // users with launches in flight -> how many
  std::vector<int> clients;
  bool running = true;
  bool host_ended = false;  // a private daemon's host
  // Out of descriptors, the listener rests until then (accepting would fail at once again).
  std::optional<std::chrono::steady_clock::time_point> listen_again;
  while (running) {
    int timeout_ms = d.KillOrphans();
    if (listen_again) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(*listen_again - std::chrono::steady_clock::now());
      if (left.count() <= 0) listen_again.reset();
      else if (timeout_ms < 0 || left.count() < timeout_ms) timeout_ms = static_cast<int>(left.count());
    }
    std::vector<pollfd> pfds{{listen_again ? -1 : listener, POLLIN, 0}, {sigfd, POLLIN, 0},
                             {options.watch_fd, POLLIN, 0}, {verifier.ready_fd(), POLLIN, 0}};
    for (int c : clients) pfds.push_back({c, POLLIN, 0});
    const size_t first_link = pfds.size();
    for (const auto& [fd, link] : d.links) pfds.push_back({fd, POLLIN, 0});
    const size_t first_enclave = pfds.size();
    for (const auto& [pidfd, e] : d.enclaves) pfds.push_back({pidfd, POLLIN, 0});
    // Only the hang-up counts (poll reports it unasked): nothing is read from a host watch, so
    // what a host sends there cannot keep this loop busy.
    const size_t first_watch = pfds.size();
    std::vector<int> watched;  // pidfds, by host watch
    for (const auto& [pidfd, e] : d.enclaves)
      if (e.host_watch >= 0) {
        pfds.push_back({e.host_watch, 0, 0});
        watched.push_back(pidfd);
      }
    if (poll(pfds.data(), pfds.size(), timeout_ms) < 0 && errno != EINTR) break;
    if (options.watch_fd >= 0 && (pfds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
      host_ended = true;
      break;
    }
    if (pfds[1].revents & POLLIN) {
      signalfd_siginfo si;
      while (read(sigfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGCHLD) d.Reap();
        else running = false;
      }
    }
    std::vector<int> keep;
    if (pfds[0].revents & POLLIN) {
      int c = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (c >= 0) keep.push_back(c);
      else if (errno == EMFILE || errno == ENFILE) listen_again = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    }
    for (size_t i = first_link; i < first_enclave; ++i)
      if (pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) d.ServePlatform(pfds[i].fd);
    for (size_t i = first_watch; i < pfds.size(); ++i)
      if (pfds[i].revents != 0) d.HostGone(watched[i - first_watch]);
    for (size_t i = first_enclave; i < first_watch; ++i)
      if (pfds[i].revents != 0) d.Ended(pfds[i].fd);
    // Client sockets do not block (accept4 above): one that does not read its replies is
    // dropped rather than stalling every other client and enclave this daemon serves.
    auto answer = [&](int c, const nlohmann::json& reply) {
      if (SendMessage(c, reply).ok()) keep.push_back(c);
      else closer.Close(c, PeerCredentials(c).uid);
    };
    if (pfds[3].revents & POLLIN)
      for (LaunchJob& job : verifier.TakeFinished()) {
        if (--launching[job.peer.uid] == 0) launching.erase(job.peer.uid);
        answer(job.client, d.FinishLaunch(job));
      }
    for (size_t i = 4; i < first_link; ++i) {
      int c = pfds[i].fd;
      if (!(pfds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        keep.push_back(c);
        continue;
      }
      const ucred peer = PeerCredentials(c);
      // A user whose closer is stuck is not read from any more: each message could bring
      // up to 253 more descriptors for it to hold. Its connections go, unread.
      if (closer.Pending(peer.uid) > kMaxPendingCloses) {
        closer.Close(c, peer.uid);
        continue;
      }
      std::vector<int> refused;
      auto msg = ReceiveMessage(c, &refused);
      closer.Close(refused, peer.uid);
      if (!msg.ok()) {
        if (msg.status().code() != Code::kUnavailable) (void)SendMessage(c, ErrorReply(msg.status()));
        closer.Close(c, peer.uid);
        continue;
      }
      std::string op = StringField(msg->body, "op", "");
      nlohmann::json reply;
      if (op.empty()) {
        reply = ErrorReply(InvalidArgument("a platform request needs a string 'op' (status, launch, attestation, stop)"));
      } else if (op == "status") {
        reply = d.Status();
      } else if (op == "launch") {
        int launches = 0;
        for (const auto& [uid, count] : launching) launches += count;
        auto queued = launching.find(peer.uid);
        if (launches >= kMaxLaunches || (queued != launching.end() && queued->second >= kMaxLaunchesPerUser)) {
          reply = ErrorReply(Status(Code::kUnavailable,
              "too many launches in progress (at most " + std::to_string(kMaxLaunchesPerUser) + " per user, " +
              std::to_string(kMaxLaunches) + " in all); try again when one has been answered"));
        } else {
          LaunchJob job;
          job.peer = peer;
          auto refused_launch = d.BeginLaunch(msg->body, msg->fds, job);
          if (!refused_launch) {
            job.client = c;
            ++launching[peer.uid];
            verifier.Submit(std::move(job));
            continue;  // answered, and served again, once the image is verified
          }
          reply = *refused_launch;
        }
      } else if (op == "attestation") {
        auto info = d.attestation->Info();
        if (info.ok()) (*info)["ok"] = true;
        reply = info.ok() ? *info : ErrorReply(info.status());
      } else if (op == "stop") {
        // A root daemon's socket is open to every user; stopping it is not.
        const uid_t uid = peer.uid;
        if (uid == 0 || uid == geteuid()) {
          reply = {{"ok", true}, {"stopping", true}};
          running = false;
        } else {
          reply = ErrorReply(Status(Code::kPermissionDenied,
              "only root or the daemon's own user (uid " + std::to_string(geteuid()) +
              ") may stop the platform daemon; you are uid " + std::to_string(uid)));
        }
      } else {
        reply = ErrorReply(InvalidArgument("unknown platform request '" + op + "'"));
      }
      closer.Close(msg->fds, peer.uid);
      answer(c, reply);
    }
    clients = std::move(keep);
  }
  for (int c : clients) closer.Close(c, PeerCredentials(c).uid);
  for (const auto& [fd, link] : d.links) closer.Close(fd, link.uid);
  close(listener);
  close(sigfd);
  unlink(options.socket_path.c_str());
  // No longer reachable, so nobody waits on it meanwhile (up to kHostGoneGrace).
  d.EndOrphans(host_ended);
  return Status::Ok();
}

Result<nlohmann::json> Request(const std::string& socket_path, const nlohmann::json& request,
                               const std::vector<int>& fds, int timeout_s) {
  CONFIDE_ASSIGN_OR_RETURN(int s, ConnectTo(socket_path, timeout_s));
  Status sent = SendMessage(s, request, fds);
  if (!sent.ok()) {
    close(s);
    return sent;
  }
  auto reply = ReceiveMessage(s);
  close(s);
  if (!reply.ok()) return reply.status();
  CloseFds(reply->fds);
  if (Status refused = ReplyStatus(reply->body); !refused.ok())
    return Status(refused.code(), "platform daemon: " + refused.message());
  return reply->body;
}

}  // namespace confide::platform
