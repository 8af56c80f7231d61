// Enclave side: ProtectedFile::Open over a NodeStore whose nodes live in a host file, reached
// through the ocalls of confide/edl/protected_files.edl. The enclave's own EDL imports that
// file, so its generated code defines the ocall proxies declared in protected_files_t.h.
#include <cerrno>
#include <cstring>

#include "confide/protected_file.h"
#include "confide/sealing.h"
#include "protected_files_t.h"

namespace confide::trusted {
namespace {

using namespace protected_file;

// Nodes per ocall: read-ahead for sequential reads, and batched staged writes.
constexpr uint64_t kReadAhead = 16;
constexpr size_t kWriteBatch = 32;

Status HostError(const std::string& what, const std::string& path, int64_t rc) {
  std::string msg = "the host failed " + what + " '" + path + "' (errno " + std::to_string(-rc) + ")";
  if (rc == -ENOENT) return NotFound(msg + ": no such file");
  if (rc == -EACCES || rc == -EPERM) return PermissionDenied(msg + ": permission denied");
  return IoError(msg);
}

class OcallNodeStore : public NodeStore {
 public:
  OcallNodeStore(std::string path, int64_t handle) : path_(std::move(path)), handle_(handle) {}
  ~OcallNodeStore() override { (void)Close(); }

  Result<uint64_t> NodeCount() override {
    CONFIDE_RETURN_IF_ERROR(SendWrites());
    CONFIDE_ASSIGN_OR_RETURN(int64_t n, confide_pf_node_count(handle_));
    if (n < 0) return HostError("counting the nodes of", path_, n);
    count_ = uint64_t(n);
    return count_;
  }

  Status ReadNode(uint64_t index, std::span<uint8_t> out) override {
    if (out.size() != kNodeSize) return InvalidArgument("a node buffer must be 4096 bytes");
    for (size_t i = 0; i < pending_index_.size(); ++i) {
      if (pending_index_[i] == index) {
        std::memcpy(out.data(), pending_nodes_.data() + i * kNodeSize, kNodeSize);
        return Status::Ok();
      }
    }
    if (index < ahead_first_ || index >= ahead_first_ + ahead_count_) {
      // The count bounds the read-ahead only; a lying host gains nothing, nodes are authenticated.
      uint64_t n = std::min<uint64_t>(kReadAhead, count_ > index ? count_ - index : 1);
      ahead_.resize(n * kNodeSize);
      CONFIDE_ASSIGN_OR_RETURN(int rc, confide_pf_read(handle_, index, ahead_.data(), ahead_.size()));
      if (rc < 0) {
        ahead_count_ = 0;
        return HostError("reading node " + std::to_string(index) + " of", path_, rc);
      }
      ahead_first_ = index;
      ahead_count_ = n;
    }
    std::memcpy(out.data(), ahead_.data() + (index - ahead_first_) * kNodeSize, kNodeSize);
    return Status::Ok();
  }

  Status WriteNode(uint64_t index, ByteSpan node) override {
    if (node.size() != kNodeSize) return InvalidArgument("a node must be 4096 bytes");
    if (index >= ahead_first_ && index < ahead_first_ + ahead_count_)
      std::memcpy(ahead_.data() + (index - ahead_first_) * kNodeSize, node.data(), kNodeSize);
    pending_index_.push_back(index);
    pending_nodes_.insert(pending_nodes_.end(), node.begin(), node.end());
    count_ = std::max(count_, index + 1);
    if (pending_index_.size() >= kWriteBatch) return SendWrites();
    return Status::Ok();
  }

  Status Truncate(uint64_t count) override {
    CONFIDE_RETURN_IF_ERROR(SendWrites());  // the host applies the two in order
    ahead_count_ = 0;
    CONFIDE_ASSIGN_OR_RETURN(int rc, confide_pf_truncate(handle_, count));
    if (rc < 0) return HostError("truncating", path_, rc);
    count_ = std::min(count_, count);
    return Status::Ok();
  }

  Status Commit() override {
    CONFIDE_RETURN_IF_ERROR(SendWrites());
    CONFIDE_ASSIGN_OR_RETURN(int rc, confide_pf_commit(handle_));
    if (rc < 0) return HostError("committing", path_, rc);
    return Status::Ok();
  }

  Status Close() override {
    if (handle_ < 0) return Status::Ok();
    int64_t h = handle_;
    handle_ = -1;
    pending_index_.clear();
    pending_nodes_.clear();
    auto rc = confide_pf_close(h);
    if (!rc.ok()) return rc.status();
    return *rc < 0 ? HostError("closing", path_, *rc) : Status::Ok();
  }

 private:
  Status SendWrites() {
    if (pending_index_.empty()) return Status::Ok();
    auto rc = confide_pf_write(handle_, pending_index_.data(), pending_index_.size(), pending_nodes_.data(),
                               pending_nodes_.size());
    pending_index_.clear();
    pending_nodes_.clear();
    if (!rc.ok()) return rc.status();
    return *rc < 0 ? HostError("writing", path_, *rc) : Status::Ok();
  }

  std::string path_;
  int64_t handle_;
  uint64_t count_ = 0;
  Bytes ahead_;
  uint64_t ahead_first_ = 0, ahead_count_ = 0;
  std::vector<uint64_t> pending_index_;
  Bytes pending_nodes_;
};

Result<std::unique_ptr<NodeStore>> OpenOcallStore(const std::string& path, FileMode mode) {
  uint32_t m = mode == FileMode::kRead ? uint32_t(StoreMode::kRead)
               : mode == FileMode::kReadWrite ? uint32_t(StoreMode::kReadWrite) : uint32_t(StoreMode::kCreate);
  CONFIDE_ASSIGN_OR_RETURN(int64_t h, confide_pf_open(path.c_str(), m));
  if (h < 0) return HostError("opening", path, h);
  auto store = std::make_unique<OcallNodeStore>(path, h);
  CONFIDE_RETURN_IF_ERROR(store->NodeCount().status());
  return std::unique_ptr<NodeStore>(std::move(store));
}

// As Intel's protected files: the name, not the directory, is bound to the contents, so a file
// may move between directories but not take another file's name.
std::string BaseName(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Result<std::unique_ptr<ProtectedFile>> ProtectedFile::Open(const std::string& path, FileMode mode, ByteSpan key) {
  if (key.size() != kKeySize)
    return InvalidArgument("protected file key must be 32 bytes (AES-256), got " + std::to_string(key.size()));
  CONFIDE_ASSIGN_OR_RETURN(auto store, OpenOcallStore(path, mode));
  return OpenStore(std::move(store), BaseName(path), mode, key);
}

Result<std::unique_ptr<ProtectedFile>> ProtectedFile::Open(const std::string& path, FileMode mode,
                                                           platform_services::KeyPolicy policy) {
  KeyRef create;
  if (mode == FileMode::kCreate) {
    create.source = KeySource::kSealKey;
    create.policy = policy;
    CONFIDE_ASSIGN_OR_RETURN(platform_services::ReportBody self, SelfIdentity());
    create.svn = self.identity.security_version;
    CONFIDE_RETURN_IF_ERROR(crypto::RandomFill(create.key_id.data(), create.key_id.size()));
  }
  KeyResolver resolver = [policy](const KeyRef& ref) -> Result<SecureBytes> {
    if (ref.source != KeySource::kSealKey)
      return InvalidArgument("the file was created with a caller key, not a sealing key: open it with "
                             "ProtectedFile::Open(path, mode, key)");
    if (ref.policy != policy)
      return PermissionDenied(std::string("the file is sealed under policy ") +
                              (ref.policy == platform_services::KeyPolicy::kUnique ? "UNIQUE" : "PRODUCT") +
                              "; open it with that policy");
    CONFIDE_ASSIGN_OR_RETURN(Key key, GetSealKey(ref.policy, ref.key_id, ref.svn));
    SecureBytes out(key);
    SecureZero(key.data(), key.size());
    return out;
  };
  CONFIDE_ASSIGN_OR_RETURN(auto store, OpenOcallStore(path, mode));
  return OpenStore(std::move(store), BaseName(path), mode, create, resolver);
}

}  // namespace confide::trusted
