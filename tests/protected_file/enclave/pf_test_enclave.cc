// Opens protected files through ProtectedFile::Open (ocalls to the host's file store).
#include <cstdio>

#include "confide/protected_file.h"
#include "pf_test_t.h"

using confide::trusted::FileMode;
using confide::trusted::ProtectedFile;

namespace {

int64_t Report(const confide::Status& s, char* message, size_t message_size) {
  std::snprintf(message, message_size, "%s", s.ToString().c_str());
  return -static_cast<int64_t>(s.code());
}

confide::Result<std::unique_ptr<ProtectedFile>> OpenFile(const char* path, int policy, const uint8_t* key,
                                                         size_t key_size, FileMode mode) {
  if (policy == 0) return ProtectedFile::Open(path, mode, confide::ByteSpan(key, key_size));
  return ProtectedFile::Open(path, mode, static_cast<confide::platform_services::KeyPolicy>(policy));
}

}  // namespace

int64_t pf_test_write(const char* path, int policy, const uint8_t* key, size_t key_size, int create,
                      uint64_t offset, const uint8_t* data, size_t size, char* message, size_t message_size) {
  auto f = OpenFile(path, policy, key, key_size, create ? FileMode::kCreate : FileMode::kReadWrite);
  if (!f.ok()) return Report(f.status(), message, message_size);
  if (auto s = (*f)->WriteAt(offset, confide::ByteSpan(data, size)); !s.ok()) return Report(s, message, message_size);
  uint64_t file_size = (*f)->Size();
  if (auto s = (*f)->Close(); !s.ok()) return Report(s, message, message_size);
  return static_cast<int64_t>(file_size);
}

int64_t pf_test_read(const char* path, int policy, const uint8_t* key, size_t key_size, uint64_t offset,
                     uint8_t* data, size_t size, char* message, size_t message_size) {
  auto f = OpenFile(path, policy, key, key_size, FileMode::kRead);
  if (!f.ok()) return Report(f.status(), message, message_size);
  auto n = (*f)->ReadAt(offset, std::span<uint8_t>(data, size));
  if (!n.ok()) return Report(n.status(), message, message_size);
  return static_cast<int64_t>(*n);
}
