#include "soft_runtime/enclave_process.h"

#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/sealed_memfd.h"

namespace confide::soft::testing {
namespace {

int SealedMemfd(const Bytes& data, bool seal) {
  int fd = memfd_create("confide-test-image", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -1;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n <= 0) return -1;
    done += static_cast<size_t>(n);
  }
  if (seal && fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) return -1;
  return fd;
}

// In the child, before exec: memfd_secret fails with ENOSYS, as on a kernel without it.
void DenyMemfdSecret() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), 447, 0);
  seccomp_load(ctx);
}

}  // namespace

Bytes ReadFileOrDie(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  return Bytes(s.begin(), s.end());
}

std::vector<Mapping> Maps(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/maps");
  std::vector<Mapping> out;
  std::string line;
  while (std::getline(f, line)) {
    Mapping m{};
    std::istringstream ls(line);
    std::string range, off, dev, inode;
    ls >> range >> m.perms >> off >> dev >> inode;
    std::getline(ls, m.path);
    size_t p = m.path.find_first_not_of(' ');
    m.path = p == std::string::npos ? "" : m.path.substr(p);
    size_t dash = range.find('-');
    m.start = std::stoull(range.substr(0, dash), nullptr, 16);
    m.end = std::stoull(range.substr(dash + 1), nullptr, 16);
    out.push_back(m);
  }
  return out;
}

const Mapping* MappingOf(const std::vector<Mapping>& maps, uintptr_t addr) {
  for (const auto& m : maps)
    if (addr >= m.start && addr < m.end) return &m;
  return nullptr;
}

std::unique_ptr<EnclaveProcess> EnclaveProcess::Launch(const std::string& path, const LaunchOptions& o) {
  auto e = std::unique_ptr<EnclaveProcess>(new EnclaveProcess());
  Bytes image = ReadFileOrDie(path);
  int image_fd = SealedMemfd(image, o.seal_image);
  e->map_size_ = ChannelSize(o.slots, o.slot_bytes);
  int chan = -1;
  if (o.seal_channel) {
    auto sealed = CreateFixedSizeMemfd(e->map_size_, "confide-test-channel");
    if (sealed.ok()) chan = *sealed;
  } else {
    chan = memfd_create("confide-test-channel", MFD_CLOEXEC);
    if (chan >= 0 && ftruncate(chan, static_cast<off_t>(e->map_size_)) != 0) return nullptr;
  }
  if (image_fd < 0 || chan < 0) return nullptr;
  e->map_ = mmap(nullptr, e->map_size_, PROT_READ | PROT_WRITE, MAP_SHARED, chan, 0);
  e->channel_ = Channel(e->map_, e->map_size_);
  if (!e->channel_.Initialise(o.slots, o.slot_bytes).ok()) return nullptr;
  e->lines_.assign(o.slots, 0);
  int life[2], plat[2], err[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, life) != 0) return nullptr;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, plat) != 0) return nullptr;
  if (pipe2(err, O_CLOEXEC) != 0) return nullptr;
  int extra = o.extra_fd ? open("/dev/null", O_RDONLY) : -1;
  pid_t pid = fork();
  if (pid == 0) {
    // Move everything above 6 first, so the dup2s below cannot clobber a source.
    int src[4] = {fcntl(image_fd, F_DUPFD, 20), fcntl(chan, F_DUPFD, 20), fcntl(life[1], F_DUPFD, 20),
                  fcntl(plat[1], F_DUPFD, 20)};
    for (int i = 0; i < 4; ++i) dup2(src[i], 3 + i);
    dup2(err[1], 2);
    if (o.extra_fd) {
      dup2(extra, 7);
      close_range(8, ~0u, 0);
    } else {
      close_range(7, ~0u, 0);
    }
    if (o.no_new_privs) prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (o.memlock_bytes != 0) {
      rlimit lock{o.memlock_bytes, o.memlock_bytes};
      // Root holds CAP_IPC_LOCK, which passes any limit; out of the bounding set, the exec
      // does not give it back.
      if (setrlimit(RLIMIT_MEMLOCK, &lock) != 0 || (geteuid() == 0 && prctl(PR_CAPBSET_DROP, CAP_IPC_LOCK, 0, 0, 0) != 0))
        _exit(126);
    }
    if (o.deny_memfd_secret) DenyMemfdSecret();
    execl(CONFIDE_ENCLAVE_RUNTIME, "confide-enclave-runtime", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(image_fd);
  close(chan);
  close(life[1]);
  close(plat[1]);
  close(err[1]);
  if (extra >= 0) close(extra);
  e->pid_ = pid;
  e->lifeline_ = life[0];
  e->platform_ = plat[0];
  e->stderr_ = err[0];
  fcntl(e->stderr_, F_SETFL, O_NONBLOCK);
  return e;
}

EnclaveProcess::~EnclaveProcess() {
  CloseLifeline();
  if (!reaped_ && pid_ > 0) {
    if (WaitExit(2000) == -1) {
      kill(pid_, SIGKILL);
      WaitExit(2000);
    }
  }
  if (platform_ >= 0) close(platform_);
  if (stderr_ >= 0) close(stderr_);
  if (map_ != nullptr) munmap(map_, map_size_);
}

void EnclaveProcess::CloseLifeline() {
  if (lifeline_ >= 0) close(lifeline_);
  lifeline_ = -1;
}

std::string EnclaveProcess::Stderr() {
  char buf[4096];
  for (;;) {
    ssize_t n = read(stderr_, buf, sizeof buf);
    if (n <= 0) break;
    err_.append(buf, static_cast<size_t>(n));
  }
  return err_;
}

int EnclaveProcess::WaitExit(int timeout_ms) {
  if (reaped_) return exit_status_;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG | __WALL);
    if (r == pid_ && (WIFEXITED(st) || WIFSIGNALED(st))) {
      reaped_ = true;
      exit_status_ = st;
      return st;
    }
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

EnclaveState EnclaveProcess::state() const {
  return static_cast<EnclaveState>(channel_.header().enclave_state.load(std::memory_order_acquire));
}

std::string EnclaveProcess::reason() const {
  const char* r = channel_.header().reason;
  return std::string(r, strnlen(r, sizeof channel_.header().reason));
}

EnclaveState EnclaveProcess::WaitStarted(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto& word = channel_.header().enclave_state;
  for (;;) {
    uint32_t v = word.load();
    if (static_cast<EnclaveState>(v) != EnclaveState::kStarting) return static_cast<EnclaveState>(v);
    if (reaped_ || WaitExit(0) != -1 || std::chrono::steady_clock::now() > deadline) return state();
    FutexWait(word, v, 10);
  }
}

bool EnclaveProcess::WaitState(EnclaveState s, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto& word = channel_.header().enclave_state;
  for (;;) {
    uint32_t v = word.load();
    if (static_cast<EnclaveState>(v) == s) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    FutexWait(word, v, 1);
  }
}

Status EnclaveProcess::Alive() {
  EnclaveState s = state();
  if (s == EnclaveState::kLost) return Status(Code::kEnclaveLost, "enclave lost: " + reason());
  if (s == EnclaveState::kCrashed) return Status(Code::kEnclaveCrashed, "enclave crashed: " + reason());
  if (reaped_ || WaitExit(0) != -1) return Status(Code::kEnclaveCrashed, "enclave process ended: " + reason());
  return Status::Ok();
}

Result<Bytes> EnclaveProcess::Call(uint32_t slot, uint32_t id, const Bytes& frame, const OcallHandler& ocall) {
  CONFIDE_RETURN_IF_ERROR(Alive());
  SlotControl& c = channel_.control(slot, lines_[slot]);
  uint8_t* data = channel_.data(slot, lines_[slot]);
  std::memcpy(data, frame.data(), frame.size());
  c.call_id = id;
  c.length = frame.size();
  c.code = 0;
  c.flags = 0;
  PublishState(c, Side::kHost, SlotState::kEcallRequest, false);
  WaitPolicy policy{2000, 10};
  for (;;) {
    CONFIDE_RETURN_IF_ERROR(WaitForState(
        c, Side::kHost, policy,
        [](SlotState s) { return s == SlotState::kEcallReply || s == SlotState::kOcallRequest; },
        [this] { return Alive(); }));
    if (static_cast<SlotState>(c.state.load()) == SlotState::kEcallReply) break;
    Bytes req(data, data + c.length);
    Bytes reply;
    int32_t code = ocall ? ocall(c.call_id, req, &reply) : static_cast<int32_t>(Code::kUnsupported);
    if (!reply.empty()) std::memcpy(data, reply.data(), reply.size());  // an empty one may have no data()
    c.length = reply.size();
    c.code = code;
    PublishState(c, Side::kHost, SlotState::kOcallReply, false);
  }
  Bytes out(data, data + c.length);
  int32_t code = c.code;
  PublishState(c, Side::kHost, SlotState::kIdle, false);
  if (code != 0) return Status(static_cast<Code>(code), ToString(out));
  return out;
}

void EnclaveProcess::Move(uint32_t slot, uint32_t line) {
  SlotControl& old = channel_.control(slot, lines_[slot]);
  if (line < kHotLines) {
    SlotControl& next = channel_.control(slot, line);
    next.enclave_sleeping.store(0);
    next.host_sleeping.store(0);
    next.state.store(static_cast<uint32_t>(SlotState::kEcallReply));
    lines_[slot] = line;
  }
  old.call_id = line;
  PublishState(old, Side::kHost, SlotState::kMove, false);
}

}  // namespace confide::soft::testing
