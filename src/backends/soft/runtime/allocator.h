// The enclave process's memory allocator: a boundary-tag allocator over fixed regions of
// secret memory (memfd_secret). confide-enclave-runtime defines malloc/free/... on top of one
// global SecretHeap (malloc.cc), so ld.so, libc, libstdc++ and the dlopen'ed enclave image all
// allocate from memory the kernel keeps out of its direct map.
//
// It never grows: when the regions are used up, allocation fails with ENOMEM, so enclave data
// can never spill into ordinary memory. Everything here is constant-initialisable and makes no
// allocation and no library call that could allocate, because it runs before libc is set up.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace confide::soft {

// A lock that spins briefly, then sleeps on a futex (private to the process). Usable before
// libc's pthread state exists and from inside malloc.
class HeapLock {
 public:
  constexpr HeapLock() = default;
  void Lock();
  void Unlock();

 private:
  std::atomic<uint32_t> word_{0};  // 0 free, 1 held, 2 held with waiters
};

// One contiguous region. Chunks carry a 16-byte header (previous size, size | flags); free
// chunks sit in size-class bins; the untouched rest of the region ("top") is carved from
// the low end, so memory the allocator never handed out is never touched (secret-memory page
// faults are expensive, and untouched pages cost no memory).
class Arena {
 public:
  constexpr Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // Manages [base, base + size). `base` must be 16-byte aligned.
  void Init(void* base, size_t size);
  bool initialised() const { return base_ != nullptr; }

  void* Allocate(size_t n);
  // `align` must be a power of two.
  void* AllocateAligned(size_t align, size_t n);
  void Free(void* p);
  // Resizes in place when possible, else moves. nullptr (and `p` untouched) when exhausted.
  void* Reallocate(void* p, size_t n);
  size_t UsableSize(const void* p) const;
  bool Contains(const void* p) const {
    auto a = reinterpret_cast<uintptr_t>(p);
    return a >= reinterpret_cast<uintptr_t>(base_) && a < reinterpret_cast<uintptr_t>(end_);
  }

  uint8_t* base() const { return base_; }
  size_t size() const { return static_cast<size_t>(end_ - base_); }
  // Bytes from base that were ever handed out: everything above is untouched.
  size_t high_water() const { return high_water_.load(std::memory_order_relaxed); }
  // Bytes currently allocated (chunk sizes, headers included).
  size_t in_use() const { return in_use_; }
  // Walks every chunk and checks the invariants (tests).
  bool CheckConsistency();

  static constexpr size_t kAlignment = 16;

 private:
  struct Chunk;
  static constexpr int kNumBins = 288;
  static constexpr int kBitmapWords = (kNumBins + 63) / 64;

  static size_t BinIndex(size_t chunk_size);
  Chunk* AllocateChunk(size_t chunk_size);
  void FreeChunk(Chunk* c);
  void MarkInUse(Chunk* c);
  void TrimTail(Chunk* c, size_t chunk_size);
  void InsertFree(Chunk* c);
  void Unlink(Chunk* c);
  Chunk* Next(Chunk* c) const;
  Chunk* ChunkOf(const void* p) const;

  HeapLock lock_;
  uint8_t* base_ = nullptr;
  uint8_t* end_ = nullptr;
  uint8_t* top_ = nullptr;      // start of the never-used remainder
  bool top_prev_in_use_ = true; // whether the chunk just below top_ is in use
  std::atomic<size_t> high_water_{0};
  size_t in_use_ = 0;
  Chunk* bins_[kNumBins] = {};
  uint64_t bitmap_[kBitmapWords] = {};
};

// The malloc family's semantics over up to four arenas: new allocations come from the most
// recently added arena; frees and reallocs find the owning arena by address.
class SecretHeap {
 public:
  constexpr SecretHeap() = default;

  static constexpr int kMaxArenas = 4;
  // Adds an arena that new allocations come from from now on. False when full.
  bool AddArena(void* base, size_t size);
  int arena_count() const { return count_.load(std::memory_order_acquire); }
  Arena& arena(int i) { return arenas_[i]; }
  bool Owns(const void* p) const;

  // Each sets errno (ENOMEM, EINVAL) the way glibc's functions do.
  void* Malloc(size_t n);
  void Free(void* p);
  void* Calloc(size_t count, size_t size);
  void* Realloc(void* p, size_t n);
  void* ReallocArray(void* p, size_t count, size_t size);
  int PosixMemalign(void** out, size_t align, size_t n);
  void* AlignedAlloc(size_t align, size_t n);
  void* Memalign(size_t align, size_t n);
  void* Valloc(size_t n);
  void* Pvalloc(size_t n);
  size_t UsableSize(void* p);

 private:
  Arena* Current();
  Arena* Owner(const void* p);

  Arena arenas_[kMaxArenas];
  std::atomic<int> count_{0};
  HeapLock add_lock_;
};

// Called on a detected heap corruption (double free, a pointer that is not a chunk). The
// runtime installs a handler that reports it and ends the enclave; the default aborts.
using HeapCorruptionHandler = void (*)(const char* what);
void SetHeapCorruptionHandler(HeapCorruptionHandler h);

}  // namespace confide::soft
