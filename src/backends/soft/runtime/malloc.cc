// The malloc family of confide-enclave-runtime. Defined in the executable, these take
// precedence over glibc's for every object in the process (symbol interposition: glibc
// supports replacing malloc this way), so ld.so, libc, libstdc++, OpenSSL and the dlopen'ed
// enclave image all allocate from secret memory. exports.map keeps them in the dynamic
// symbol table even where no library referenced them at link time.
//
// Before the runtime knows the enclave's heap size (ld.so and libc start-up, reading the
// image), allocations come from a bootstrap arena that is itself memfd_secret memory; only
// when the kernel has no secretmem is it ordinary memory (debug images only get that far).
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>

#include "backends/soft/runtime/heap.h"
#include "backends/soft/runtime/secret_memory.h"

namespace confide::soft {
namespace {

constinit SecretHeap g_heap;
constinit HeapLock g_boot_lock;
std::atomic<int> g_boot_state{0};  // 0 not yet, 1 secret, 2 ordinary memory, 3 failed
int g_boot_secret_error = 0;       // why it is not secret memory (written before g_boot_state)

void Bootstrap() {
  if (g_boot_state.load(std::memory_order_acquire) != 0) return;
  g_boot_lock.Lock();
  if (g_boot_state.load(std::memory_order_relaxed) == 0) {
    int err = 0;
    int state = 1;
    void* p = MapSecret(kBootstrapArenaBytes, nullptr, &err);
    if (p == nullptr) {
      state = 2;
      g_boot_secret_error = err;
      p = MapOrdinary(kBootstrapArenaBytes, &err);
    }
    if (p == nullptr || !g_heap.AddArena(p, kBootstrapArenaBytes)) state = 3;
    g_boot_state.store(state, std::memory_order_release);
  }
  g_boot_lock.Unlock();
}

inline SecretHeap& H() {
  Bootstrap();
  return g_heap;
}

}  // namespace

SecretHeap& ProcessHeap() { return H(); }
int BootstrapArenaSecretError() {
  Bootstrap();
  return g_boot_state.load() == 1 ? 0 : g_boot_secret_error != 0 ? g_boot_secret_error : ENOMEM;
}

}  // namespace confide::soft

using confide::soft::H;

extern "C" {
void* malloc(size_t n) noexcept { return H().Malloc(n); }
void free(void* p) noexcept { H().Free(p); }
void* calloc(size_t count, size_t size) noexcept { return H().Calloc(count, size); }
void* realloc(void* p, size_t n) noexcept { return H().Realloc(p, n); }
void* reallocarray(void* p, size_t count, size_t size) noexcept { return H().ReallocArray(p, count, size); }
int posix_memalign(void** out, size_t align, size_t n) noexcept { return H().PosixMemalign(out, align, n); }
void* aligned_alloc(size_t align, size_t n) noexcept { return H().AlignedAlloc(align, n); }
void* memalign(size_t align, size_t n) noexcept { return H().Memalign(align, n); }
void* valloc(size_t n) noexcept { return H().Valloc(n); }
void* pvalloc(size_t n) noexcept { return H().Pvalloc(n); }
size_t malloc_usable_size(void* p) noexcept { return H().UsableSize(p); }
}
