// FileNodeStore: protected-file nodes in a host file, committed atomically through a journal.
// Untrusted code: the enclave authenticates every node it reads back, so this file only has to
// keep commits all-or-nothing across crashes, not to defend anything.
//
// Journal (PATH.journal): "CFPFJRN1", truncate-to u64 (UINT64_MAX: none), entry count u64,
// entries (node index u64, node 4096 bytes), SHA-256 of everything before it. All integers
// little-endian. It is written as PATH.journal.tmp, fsynced and renamed: the rename is the commit.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "confide/crypto.h"
#include "confide/protected_file.h"

namespace confide::protected_file {
namespace {

constexpr char kJournalMagic[8] = {'C', 'F', 'P', 'F', 'J', 'R', 'N', '1'};
constexpr uint64_t kNoTruncate = std::numeric_limits<uint64_t>::max();

Status Errno(const std::string& what, const std::string& path) {
  int e = errno;
  return IoError(what + " '" + path + "': " + std::strerror(e));
}

Status WriteAll(int fd, const uint8_t* p, size_t n, uint64_t off, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(off));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Errno("writing", path);
    p += w, n -= size_t(w), off += uint64_t(w);
  }
  return Status::Ok();
}

// Reads exactly n bytes; false on a short read (end of file).
Result<bool> ReadAll(int fd, uint8_t* p, size_t n, uint64_t off, const std::string& path) {
  while (n > 0) {
    ssize_t r = ::pread(fd, p, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Errno("reading", path);
    if (r == 0) return false;
    p += r, n -= size_t(r), off += uint64_t(r);
  }
  return true;
}

Status SyncDirOf(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("opening directory", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Errno("syncing directory", dir);
}

class FileNodeStore : public NodeStore {
 public:
  FileNodeStore(std::string path, int fd, bool writable) : path_(std::move(path)), fd_(fd), writable_(writable) {}
  ~FileNodeStore() override { (void)Close(); }

  Status Init() {
    CONFIDE_RETURN_IF_ERROR(Recover());
    struct stat st;
    if (::fstat(fd_, &st) != 0) return Errno("reading the size of", path_);
    base_count_ = uint64_t(st.st_size) / kNodeSize;
    return Status::Ok();
  }

  Result<uint64_t> NodeCount() override {
    CONFIDE_RETURN_IF_ERROR(Open());
    uint64_t n = truncate_ == kNoTruncate ? base_count_ : std::min(base_count_, truncate_);
    if (!staged_.empty()) n = std::max(n, staged_.rbegin()->first + 1);
    return n;
  }

  Status ReadNode(uint64_t index, std::span<uint8_t> out) override {
    CONFIDE_RETURN_IF_ERROR(Open());
    if (out.size() != kNodeSize) return InvalidArgument("a node buffer must be 4096 bytes");
    if (auto it = staged_.find(index); it != staged_.end()) {
      std::memcpy(out.data(), it->second.data(), kNodeSize);
      return Status::Ok();
    }
    CONFIDE_ASSIGN_OR_RETURN(uint64_t count, NodeCount());
    if (index >= count || index >= base_count_)
      return OutOfRange("node " + std::to_string(index) + " is past the end of '" + path_ + "'");
    CONFIDE_ASSIGN_OR_RETURN(bool whole, ReadAll(fd_, out.data(), kNodeSize, index * kNodeSize, path_));
    if (!whole) return OutOfRange("node " + std::to_string(index) + " is past the end of '" + path_ + "'");
    return Status::Ok();
  }

  Status WriteNode(uint64_t index, ByteSpan node) override {
    CONFIDE_RETURN_IF_ERROR(Writable());
    if (node.size() != kNodeSize) return InvalidArgument("a node must be 4096 bytes");
    staged_[index].assign(node.begin(), node.end());
    return Status::Ok();
  }

  Status Truncate(uint64_t count) override {
    CONFIDE_RETURN_IF_ERROR(Writable());
    truncate_ = std::min(truncate_, count);
    staged_.erase(staged_.lower_bound(count), staged_.end());
    return Status::Ok();
  }

  Status Commit() override {
    CONFIDE_RETURN_IF_ERROR(Writable());
    if (staged_.empty() && truncate_ == kNoTruncate) return Status::Ok();
    Bytes j(kJournalMagic, kJournalMagic + 8);
    j.reserve(24 + staged_.size() * (8 + kNodeSize) + 32);
    AppendU64Le(j, truncate_);
    AppendU64Le(j, staged_.size());
    for (const auto& [index, node] : staged_) {
      AppendU64Le(j, index);
      Append(j, node);
    }
    Append(j, crypto::Sha256(j));
    const std::string tmp = path_ + ".journal.tmp", journal = path_ + ".journal";
    int jfd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (jfd < 0) return Errno("creating journal", tmp);
    Status s = WriteAll(jfd, j.data(), j.size(), 0, tmp);
    if (s.ok() && ::fsync(jfd) != 0) s = Errno("syncing journal", tmp);
    ::close(jfd);
    if (s.ok() && ::rename(tmp.c_str(), journal.c_str()) != 0) s = Errno("committing journal", journal);
    if (s.ok()) s = SyncDirOf(path_);  // the commit point is durable from here on
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return s;
    }
    CONFIDE_RETURN_IF_ERROR(Apply(j));
    staged_.clear();
    truncate_ = kNoTruncate;
    return Status::Ok();
  }

  Status Close() override {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    staged_.clear();  // uncommitted writes are dropped, as a crash would drop them
    return Status::Ok();
  }

 private:
  Status Open() const {
    return fd_ >= 0 ? Status::Ok() : InvalidArgument("node store '" + path_ + "' is closed");
  }
  Status Writable() const {
    CONFIDE_RETURN_IF_ERROR(Open());
    return writable_ ? Status::Ok() : PermissionDenied("node store '" + path_ + "' is open read-only");
  }

  // Applies a verified journal to the file, then removes it. Replaying twice is harmless.
  Status Apply(ByteSpan j) {
    ByteReader r(j.first(j.size() - 32), "journal of '" + path_ + "'");
    CONFIDE_RETURN_IF_ERROR(r.Skip(8, "magic"));
    CONFIDE_ASSIGN_OR_RETURN(uint64_t truncate, r.U64Le("truncate"));
    CONFIDE_ASSIGN_OR_RETURN(uint64_t n, r.U64Le("entry count"));
    int fd = fd_;
    int own = -1;
    if (!writable_) {  // recovering for a reader
      own = fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
      if (fd < 0) return Errno("opening for journal recovery", path_);
    }
    Status s;
    if (truncate != kNoTruncate && ::ftruncate(fd, static_cast<off_t>(truncate * kNodeSize)) != 0)
      s = Errno("truncating", path_);
    for (uint64_t i = 0; s.ok() && i < n; ++i) {
      auto index = r.U64Le("node index");
      auto node = index.ok() ? r.Take(kNodeSize, "node") : Result<ByteSpan>(index.status());
      if (!node.ok()) s = node.status();
      else s = WriteAll(fd, node->data(), kNodeSize, *index * kNodeSize, path_);
    }
    if (s.ok() && ::fsync(fd) != 0) s = Errno("syncing", path_);
    if (own >= 0) ::close(own);
    CONFIDE_RETURN_IF_ERROR(s);
    struct stat st;
    if (::fstat(fd_, &st) != 0) return Errno("reading the size of", path_);
    base_count_ = uint64_t(st.st_size) / kNodeSize;
    const std::string journal = path_ + ".journal";
    if (::unlink(journal.c_str()) != 0 && errno != ENOENT) return Errno("removing journal", journal);
    return Status::Ok();
  }

  // A committed journal left by a crash is replayed; a half-written one never committed.
  Status Recover() {
    ::unlink((path_ + ".journal.tmp").c_str());
    const std::string journal = path_ + ".journal";
    int jfd = ::open(journal.c_str(), O_RDONLY | O_CLOEXEC);
    if (jfd < 0) return errno == ENOENT ? Status::Ok() : Errno("opening journal", journal);
    Bytes j;
    uint8_t buf[1 << 16];
    for (;;) {
      ssize_t r = ::read(jfd, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        Status s = Errno("reading journal", journal);
        ::close(jfd);
        return s;
      }
      if (r == 0) break;
      j.insert(j.end(), buf, buf + r);
    }
    ::close(jfd);
    bool valid = j.size() >= 8 + 16 + 32 && std::memcmp(j.data(), kJournalMagic, 8) == 0 &&
                 ConstantTimeEqual(crypto::Sha256(ByteSpan(j).first(j.size() - 32)), ByteSpan(j).last(32));
    if (!valid) {  // cannot happen after an fsync + rename; drop it rather than apply garbage
      ::unlink(journal.c_str());
      return Status::Ok();
    }
    return Apply(j);
  }

  std::string path_;
  int fd_;
  bool writable_;
  uint64_t base_count_ = 0;
  std::map<uint64_t, Bytes> staged_;
  uint64_t truncate_ = kNoTruncate;
};

}  // namespace

Result<std::unique_ptr<NodeStore>> OpenFileNodeStore(const std::string& path, StoreMode mode) {
  int flags = O_CLOEXEC | (mode == StoreMode::kRead ? O_RDONLY : O_RDWR);
  if (mode == StoreMode::kCreate) flags |= O_CREAT;  // emptied by the file's first commit, atomically
  int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("protected file '" + path + "' does not exist");
    return Errno("opening protected file", path);
  }
  auto store = std::make_unique<FileNodeStore>(path, fd, mode != StoreMode::kRead);
  CONFIDE_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<NodeStore>(std::move(store));
}

}  // namespace confide::protected_file
