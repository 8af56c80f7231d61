// Enclave side: writes and reads a protected file. The sealing key never leaves the enclave;
// the host stores only ciphertext nodes and learns nothing but their number.
#include <cstdio>
#include <string>

#include "confide/protected_file.h"
#include "protected_files_demo_t.h"

using confide::trusted::FileMode;
using confide::trusted::ProtectedFile;

namespace {

int Refuse(const confide::Status& s, char* message, size_t message_size) {
  std::snprintf(message, message_size, "%s", s.ToString().c_str());
  return -1;
}

}  // namespace

int pf_save(const char* path, const uint8_t* data, size_t size, char* message, size_t message_size) {
  auto file = ProtectedFile::Open(path, FileMode::kCreate, confide::platform_services::KeyPolicy::kProduct);
  if (!file.ok()) return Refuse(file.status(), message, message_size);
  // Written in two pieces, the second one first, to show random access.
  size_t half = size / 2;
  if (auto s = (*file)->WriteAt(half, confide::ByteSpan(data + half, size - half)); !s.ok())
    return Refuse(s, message, message_size);
  if (auto s = (*file)->WriteAt(0, confide::ByteSpan(data, half)); !s.ok()) return Refuse(s, message, message_size);
  if (auto s = (*file)->Close(); !s.ok()) return Refuse(s, message, message_size);
  std::snprintf(message, message_size, "wrote %zu bytes", size);
  return 0;
}

int64_t pf_load(const char* path, uint8_t* data, size_t size, char* message, size_t message_size) {
  auto file = ProtectedFile::Open(path, FileMode::kRead, confide::platform_services::KeyPolicy::kProduct);
  if (!file.ok()) return Refuse(file.status(), message, message_size);
  auto n = (*file)->Read(std::span<uint8_t>(data, size));
  if (!n.ok()) return Refuse(n.status(), message, message_size);
  std::snprintf(message, message_size, "read %zu bytes (generation %llu)", *n,
                static_cast<unsigned long long>((*file)->generation()));
  return static_cast<int64_t>(*n);
}
