#include "backends/soft/runtime/secret_memory.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace confide::soft {
namespace {
constexpr size_t kPage = 4096;
size_t RoundUp(size_t n) { return (n + kPage - 1) & ~(kPage - 1); }
}  // namespace

void* MapSecret(size_t size, void* fixed, int* err) {
  size = RoundUp(size);
  int fd = static_cast<int>(syscall(kSysMemfdSecret, O_CLOEXEC));
  if (fd < 0) {
    *err = errno;
    return nullptr;
  }
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    *err = errno;
    close(fd);
    return nullptr;
  }
  int flags = MAP_SHARED | (fixed != nullptr ? MAP_FIXED : 0);
  void* p = mmap(fixed, size, PROT_READ | PROT_WRITE, flags, fd, 0);
  int e = errno;
  close(fd);  // the mapping keeps the memory alive
  if (p == MAP_FAILED) {
    *err = e;
    return nullptr;
  }
  return p;
}

void* MapOrdinary(size_t size, int* err) {
  void* p = mmap(nullptr, RoundUp(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    *err = errno;
    return nullptr;
  }
  return p;
}

}  // namespace confide::soft
