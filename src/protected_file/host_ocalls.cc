// Host side of confide/edl/protected_files.edl: each handle is a FileNodeStore on a real file.
// Every ocall returns a negative errno value on failure, as the EDL says.
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "confide/protected_file.h"
#include "protected_files_u.h"

namespace {

using confide::Code;
using confide::protected_file::NodeStore;
using confide::protected_file::kNodeSize;

std::mutex g_mutex;
std::map<int64_t, std::unique_ptr<NodeStore>> g_files;
int64_t g_next_handle = 1;

int Errno(const confide::Status& s) {
  switch (s.code()) {
    case Code::kNotFound: return -ENOENT;
    case Code::kPermissionDenied: return -EACCES;
    case Code::kInvalidArgument: return -EINVAL;
    case Code::kOutOfRange: return -ERANGE;
    default: return -EIO;
  }
}

// The store of `handle`, or null. Calls on one handle run under the table's lock: enclaves
// may use different files from several threads.
NodeStore* Find(int64_t handle) {
  auto it = g_files.find(handle);
  return it == g_files.end() ? nullptr : it->second.get();
}

}  // namespace

int64_t confide_pf_open(const char* path, uint32_t mode) {
  if (mode > uint32_t(confide::protected_file::StoreMode::kCreate)) return -EINVAL;
  auto store = confide::protected_file::OpenFileNodeStore(path, confide::protected_file::StoreMode(mode));
  if (!store.ok()) return Errno(store.status());
  std::lock_guard lock(g_mutex);
  int64_t h = g_next_handle++;
  g_files.emplace(h, std::move(*store));
  return h;
}

int64_t confide_pf_node_count(int64_t handle) {
  std::lock_guard lock(g_mutex);
  NodeStore* s = Find(handle);
  if (!s) return -EBADF;
  auto n = s->NodeCount();
  return n.ok() ? int64_t(*n) : Errno(n.status());
}

int confide_pf_read(int64_t handle, uint64_t first, uint8_t* nodes, size_t size) {
  std::lock_guard lock(g_mutex);
  NodeStore* s = Find(handle);
  if (!s) return -EBADF;
  if (size % kNodeSize != 0) return -EINVAL;
  for (size_t i = 0; i < size / kNodeSize; ++i) {
    confide::Status st = s->ReadNode(first + i, std::span<uint8_t>(nodes + i * kNodeSize, kNodeSize));
    if (!st.ok()) return Errno(st);
  }
  return 0;
}

int confide_pf_write(int64_t handle, const uint64_t* indices, size_t count, const uint8_t* nodes, size_t size) {
  std::lock_guard lock(g_mutex);
  NodeStore* s = Find(handle);
  if (!s) return -EBADF;
  if (count > size / kNodeSize || size != count * kNodeSize) return -EINVAL;
  for (size_t i = 0; i < count; ++i) {
    confide::Status st = s->WriteNode(indices[i], confide::ByteSpan(nodes + i * kNodeSize, kNodeSize));
    if (!st.ok()) return Errno(st);
  }
  return 0;
}

int confide_pf_truncate(int64_t handle, uint64_t count) {
  std::lock_guard lock(g_mutex);
  NodeStore* s = Find(handle);
  if (!s) return -EBADF;
  confide::Status st = s->Truncate(count);
  return st.ok() ? 0 : Errno(st);
}

int confide_pf_commit(int64_t handle) {
  std::lock_guard lock(g_mutex);
  NodeStore* s = Find(handle);
  if (!s) return -EBADF;
  confide::Status st = s->Commit();
  return st.ok() ? 0 : Errno(st);
}

int confide_pf_close(int64_t handle) {
  std::lock_guard lock(g_mutex);
  auto it = g_files.find(handle);
  if (it == g_files.end()) return -EBADF;
  confide::Status st = it->second->Close();
  g_files.erase(it);
  return st.ok() ? 0 : Errno(st);
}
