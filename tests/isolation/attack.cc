#include "isolation/attack.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/proc_stat.h"

namespace isolation {
namespace {

constexpr size_t kPage = 4096;

// Counts needles in a stream of chunks; occurrences spanning two consecutive chunks count
// once. Reset() breaks the stream (an unreadable page in between).
class NeedleCounter {
 public:
  explicit NeedleCounter(const std::vector<std::string>& needles)
      : needles_(needles), counts_(needles.size()), first_(needles.size()) {
    for (const auto& n : needles) keep_ = std::max(keep_, n.size() > 0 ? n.size() - 1 : 0);
  }
  // `addr` is where `data` came from (an address in the target, or a file offset); `where`
  // names the mapping or file, for the report of the first occurrence.
  void Feed(const uint8_t* data, size_t n, uintptr_t addr = 0, const std::string& where = "") {
    std::string buf = carry_;
    buf.append(reinterpret_cast<const char*>(data), n);
    for (size_t i = 0; i < needles_.size(); ++i) {
      const std::string& needle = needles_[i];
      if (needle.empty()) continue;
      for (size_t at = buf.find(needle); at != std::string::npos; at = buf.find(needle, at + 1)) {
        if (at + needle.size() <= carry_.size()) continue;  // wholly inside the carry: counted
        if (counts_[i]++ == 0) first_[i] = "first:" + std::to_string(i) + ":" + where + "+" +
                                           std::to_string(addr - carry_.size() + at);
      }
    }
    carry_ = buf.size() > keep_ ? buf.substr(buf.size() - keep_) : buf;
  }
  void Reset() { carry_.clear(); }
  void AddTo(Report* r) const {
    for (size_t i = 0; i < counts_.size(); ++i) {
      (*r)["found:" + std::to_string(i)] += counts_[i];
      if (!first_[i].empty()) (*r)[first_[i]] = 1;
    }
  }

 private:
  const std::vector<std::string>& needles_;
  std::vector<long> counts_;
  std::vector<std::string> first_;
  size_t keep_ = 0;
  std::string carry_;
};

bool WaitStopped(pid_t tid) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t r = waitpid(tid, &status, __WALL | WNOHANG);
    if (r == tid) return WIFSTOPPED(status);
    if (r < 0) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

std::vector<pid_t> Threads(pid_t pid) {
  std::vector<pid_t> out;
  DIR* d = opendir(("/proc/" + std::to_string(pid) + "/task").c_str());
  if (d == nullptr) return {pid};
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') out.push_back(static_cast<pid_t>(std::atol(e->d_name)));
  closedir(d);
  return out;
}

// Every thread of `pid` in state T (stopped) or t (traced), within 5 s.
bool AllStopped(pid_t pid) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    for (pid_t tid : Threads(pid)) {
      std::string state =
          confide::testing::StatField("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/stat", 3);
      if (state != "T" && state != "t") all = false;
    }
    if (all) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

}  // namespace

long Get(const Report& r, const std::string& key) {
  auto it = r.find(key);
  return it == r.end() ? 0 : it->second;
}

std::string Describe(const Report& r) {
  std::string s;
  for (const auto& [k, v] : r) {
    s += k + "=" + std::to_string(v);
    size_t colon = k.rfind(':');
    if (k.find("errno") != std::string::npos) {
      int e = colon != std::string::npos ? std::atoi(k.c_str() + colon + 1) : static_cast<int>(v);
      if (e > 0) s += std::string(" (") + strerror(e) + ")";
    }
    s += "; ";
  }
  return s;
}

int ReadMaps(pid_t pid, std::vector<Mapping>* out) {
  out->clear();
  int fd = open(("/proc/" + std::to_string(pid) + "/maps").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      int e = errno;
      close(fd);
      return e;
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    Mapping m;
    char perms[8] = {};
    unsigned long start = 0, end = 0;
    int consumed = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx %7s %*s %*s %*s%n", &start, &end, perms, &consumed) < 3) continue;
    m.start = start;
    m.end = end;
    m.perms = perms;
    std::string rest = line.substr(static_cast<size_t>(consumed));
    size_t p = rest.find_first_not_of(' ');
    m.path = p == std::string::npos ? "" : rest.substr(p);
    out->push_back(m);
  }
  return 0;
}

Report ScanProcessMemory(pid_t pid, const std::vector<std::string>& needles) {
  Report r;
  std::vector<Mapping> maps;
  r["maps_errno"] = ReadMaps(pid, &maps);
  int fd = open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  r["mem_errno"] = fd < 0 ? errno : 0;
  if (fd < 0 || Get(r, "maps_errno") != 0) {
    if (fd >= 0) close(fd);
    return r;
  }
  NeedleCounter counter(needles);
  uint8_t page[kPage];
  for (const Mapping& m : maps) {
    if (m.path == "[vsyscall]") continue;
    ++r["mappings"];
    if (m.secret()) ++r["secret_mappings"];
    if (m.channel()) ++r["channel_mappings"];
    counter.Reset();
    for (uintptr_t a = m.start; a < m.end; a += kPage) {
      ssize_t n = pread(fd, page, kPage, static_cast<off_t>(a));
      int e = n < 0 ? errno : 0;
      if (m.secret()) {
        ++r["secret_pages"];
        if (n > 0) ++r["secret_pages_read"];
        if (e == EIO) ++r["secret_pages_eio"];
        else if (e != 0) ++r["secret_page_errno:" + std::to_string(e)];
      } else if (n <= 0) {
        ++r["page_errno:" + std::to_string(e)];
      }
      if (n > 0) {
        if (!m.secret()) ++r["pages_read"];
        counter.Feed(page, static_cast<size_t>(n), a, m.path.empty() ? "anonymous" : m.path);
      } else {
        counter.Reset();
      }
    }
  }
  close(fd);
  counter.AddTo(&r);
  return r;
}

Report VmReadv(pid_t pid, const std::vector<Mapping>& ranges, const std::vector<std::string>& needles) {
  Report r;
  NeedleCounter counter(needles);
  uint8_t page[kPage];
  for (const Mapping& m : ranges) {
    ++r["ranges"];
    iovec local{page, kPage};
    iovec remote{reinterpret_cast<void*>(m.start), kPage};
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n < 0) {
      ++r["errno:" + std::to_string(errno)];
      continue;
    }
    ++r["read_ok"];
    counter.Reset();
    counter.Feed(page, static_cast<size_t>(n));
  }
  counter.AddTo(&r);
  return r;
}

Report ProcMemRead(pid_t pid, const std::vector<Mapping>& ranges, const std::vector<std::string>& needles) {
  Report r;
  int fd = open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  r["open_errno"] = fd < 0 ? errno : 0;
  if (fd < 0) return r;
  NeedleCounter counter(needles);
  uint8_t page[kPage];
  for (const Mapping& m : ranges) {
    ++r["ranges"];
    ssize_t n = pread(fd, page, kPage, static_cast<off_t>(m.start));
    if (n < 0) {
      ++r["errno:" + std::to_string(errno)];
      continue;
    }
    ++r["read_ok"];
    counter.Reset();
    counter.Feed(page, static_cast<size_t>(n));
  }
  close(fd);
  counter.AddTo(&r);
  return r;
}

Report PtracePeek(pid_t pid, const std::vector<Mapping>& ranges, uintptr_t control,
                  const std::vector<std::string>& needles, bool stop_first) {
  Report r;
  if (stop_first) {
    if (kill(pid, SIGSTOP) != 0) {
      r["stop_errno"] = errno;
      return r;
    }
    if (!AllStopped(pid)) r["stop_timeout"] = 1;
  }
  std::vector<pid_t> attached;
  for (pid_t tid : stop_first ? Threads(pid) : std::vector<pid_t>{pid}) {
    if (ptrace(PTRACE_ATTACH, tid, nullptr, nullptr) != 0) {
      if (Get(r, "attach_errno") == 0) r["attach_errno"] = errno;
      continue;
    }
    attached.push_back(tid);
    if (!WaitStopped(tid)) ++r["wait_failed"];
  }
  r["threads_attached"] = static_cast<long>(attached.size());
  bool leader = !attached.empty() && attached.front() == pid;
  for (size_t i = 1; i < attached.size() && !leader; ++i) leader = attached[i] == pid;
  if (leader) {
    NeedleCounter counter(needles);
    for (const Mapping& m : ranges) {
      std::vector<uint8_t> bytes;
      counter.Reset();
      for (uintptr_t a = m.start; a < m.start + kPage; a += sizeof(long)) {
        errno = 0;
        long word = ptrace(PTRACE_PEEKDATA, pid, reinterpret_cast<void*>(a), nullptr);
        if (errno != 0) {
          ++r["peek_errno:" + std::to_string(errno)];
          continue;
        }
        ++r["peek_ok"];
        const auto* w = reinterpret_cast<const uint8_t*>(&word);
        bytes.insert(bytes.end(), w, w + sizeof word);
      }
      counter.Feed(bytes.data(), bytes.size());
    }
    counter.AddTo(&r);
    errno = 0;
    ptrace(PTRACE_PEEKDATA, pid, reinterpret_cast<void*>(control), nullptr);
    r["control_errno"] = errno;
    r["control_ok"] = errno == 0 ? 1 : 0;
  }
  for (pid_t tid : attached) ptrace(PTRACE_DETACH, tid, nullptr, nullptr);
  if (stop_first) kill(pid, SIGCONT);
  return r;
}

Report ScanFile(const std::string& path, const std::vector<std::string>& needles) {
  Report r;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  r["open_errno"] = fd < 0 ? errno : 0;
  if (fd < 0) return r;
  NeedleCounter counter(needles);
  uint8_t buf[1 << 16];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    counter.Feed(buf, static_cast<size_t>(n), static_cast<uintptr_t>(Get(r, "bytes")), "file");
    r["bytes"] += n;
  }
  close(fd);
  counter.AddTo(&r);
  return r;
}

Report RunAs(uid_t uid, gid_t gid, const std::function<Report()>& fn, bool drop_capabilities) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return {{"run_failed", 1}, {"pipe_errno", errno}};
  pid_t child = fork();
  if (child < 0) return {{"run_failed", 1}, {"fork_errno", errno}};
  if (child == 0) {
    close(p[0]);
    if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0 || getuid() != uid || geteuid() != uid)
      _exit(120);
    if (drop_capabilities) {
      __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
      __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = {};
      if (syscall(SYS_capset, &header, none) != 0) _exit(122);
    }
    Report r = fn();
    std::string text;
    for (const auto& [k, v] : r) text += k + " " + std::to_string(v) + "\n";
    const char* s = text.data();
    size_t left = text.size();
    while (left > 0) {
      ssize_t n = write(p[1], s, left);
      if (n <= 0) _exit(121);
      s += n;
      left -= static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(p[1]);
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = read(p[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(p[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return {{"run_failed", 1}, {"child_status", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)}};
  Report r;
  std::istringstream in(text);
  std::string key;
  long value;
  while (in >> key >> value) r[key] = value;
  return r;
}

}  // namespace isolation
