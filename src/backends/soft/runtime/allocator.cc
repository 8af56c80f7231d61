#include "backends/soft/runtime/allocator.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace confide::soft {
namespace {

constexpr size_t kHeader = 16;
constexpr size_t kMinChunk = 32;
constexpr size_t kInUse = 1;
constexpr size_t kPrevInUse = 2;
constexpr size_t kFlags = 15;
constexpr size_t kPage = 4096;

std::atomic<HeapCorruptionHandler> g_corruption{nullptr};

[[noreturn]] void Corrupt(const char* what) {
  HeapCorruptionHandler h = g_corruption.load();
  if (h != nullptr) h(what);
  abort();
}

// Chunk size for a request of n bytes, or 0 when n is too large to represent.
size_t ChunkSizeFor(size_t n) {
  if (n > (SIZE_MAX >> 1)) return 0;
  size_t s = (n + kHeader + 15) & ~size_t{15};
  return s < kMinChunk ? kMinChunk : s;
}

bool IsPowerOfTwo(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

}  // namespace

void SetHeapCorruptionHandler(HeapCorruptionHandler h) { g_corruption.store(h); }

// ------------------------------------------------------------------ HeapLock
void HeapLock::Lock() {
  uint32_t expected = 0;
  if (word_.compare_exchange_strong(expected, 1, std::memory_order_acquire)) return;
  for (int i = 0; i < 100; ++i) {
    expected = 0;
    if (word_.load(std::memory_order_relaxed) == 0 &&
        word_.compare_exchange_weak(expected, 1, std::memory_order_acquire))
      return;
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }
  // Drepper's mutex: 2 means someone may sleep, so the unlocker must wake.
  while (word_.exchange(2, std::memory_order_acquire) != 0)
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word_), FUTEX_WAIT_PRIVATE, 2, nullptr, nullptr, 0);
}

void HeapLock::Unlock() {
  if (word_.exchange(0, std::memory_order_release) == 2)
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word_), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

namespace {
class Locked {
 public:
  explicit Locked(HeapLock& l) : l_(l) { l_.Lock(); }
  ~Locked() { l_.Unlock(); }

 private:
  HeapLock& l_;
};
}  // namespace

// ------------------------------------------------------------------ Arena
struct Arena::Chunk {
  size_t prev_size;  // size of the previous chunk, valid only while that chunk is free
  size_t head;       // size | kInUse | kPrevInUse
  // Free chunks only (overlaps the payload):
  Chunk* next;
  Chunk* prev;

  size_t size() const { return head & ~kFlags; }
  bool in_use() const { return (head & kInUse) != 0; }
  bool prev_in_use() const { return (head & kPrevInUse) != 0; }
  uint8_t* bytes() { return reinterpret_cast<uint8_t*>(this); }
  void* payload() { return bytes() + kHeader; }
};

void Arena::Init(void* base, size_t size) {
  auto b = reinterpret_cast<uintptr_t>(base);
  uintptr_t aligned = (b + 15) & ~uintptr_t{15};
  size -= aligned - b;
  base_ = reinterpret_cast<uint8_t*>(aligned);
  end_ = base_ + (size & ~size_t{15});
  top_ = base_;
  top_prev_in_use_ = true;
  high_water_.store(0);
  in_use_ = 0;
  for (auto& b2 : bins_) b2 = nullptr;
  for (auto& w : bitmap_) w = 0;
}

size_t Arena::BinIndex(size_t s) {
  if (s < 1024) return s / 16;  // exact bins, 2..63
  int lg = 63 - __builtin_clzll(s);
  return 64 + static_cast<size_t>(lg - 10) * 4 + ((s >> (lg - 2)) & 3);
}

Arena::Chunk* Arena::Next(Chunk* c) const { return reinterpret_cast<Chunk*>(c->bytes() + c->size()); }

void Arena::InsertFree(Chunk* c) {
  size_t i = BinIndex(c->size());
  c->prev = nullptr;
  c->next = bins_[i];
  if (c->next != nullptr) c->next->prev = c;
  bins_[i] = c;
  bitmap_[i / 64] |= uint64_t{1} << (i % 64);
}

void Arena::Unlink(Chunk* c) {
  size_t i = BinIndex(c->size());
  if (c->prev != nullptr) c->prev->next = c->next;
  else bins_[i] = c->next;
  if (c->next != nullptr) c->next->prev = c->prev;
  if (bins_[i] == nullptr) bitmap_[i / 64] &= ~(uint64_t{1} << (i % 64));
}

void Arena::MarkInUse(Chunk* c) {
  c->head |= kInUse;
  Chunk* n = Next(c);
  if (n->bytes() == top_) top_prev_in_use_ = true;
  else n->head |= kPrevInUse;
  in_use_ += c->size();
}

Arena::Chunk* Arena::AllocateChunk(size_t s) {
  size_t i = BinIndex(s);
  Chunk* found = nullptr;
  for (Chunk* c = bins_[i]; c != nullptr; c = c->next)
    if (c->size() >= s) {
      found = c;
      break;
    }
  if (found == nullptr) {
    // Every chunk in a higher bin is larger than any in bin i.
    for (size_t j = i + 1; j < kNumBins;) {
      uint64_t w = bitmap_[j / 64] >> (j % 64);
      if (w == 0) {
        j = (j / 64 + 1) * 64;
        continue;
      }
      j += static_cast<size_t>(__builtin_ctzll(w));
      if (j < kNumBins) found = bins_[j];
      break;
    }
  }
  if (found != nullptr) {
    Unlink(found);
    MarkInUse(found);
    TrimTail(found, s);
    return found;
  }
  if (static_cast<size_t>(end_ - top_) < s) return nullptr;
  Chunk* c = reinterpret_cast<Chunk*>(top_);
  c->head = s | kInUse | (top_prev_in_use_ ? kPrevInUse : 0);
  top_ += s;
  top_prev_in_use_ = true;
  size_t hw = static_cast<size_t>(top_ - base_);
  if (hw > high_water_.load(std::memory_order_relaxed)) high_water_.store(hw, std::memory_order_relaxed);
  in_use_ += s;
  return c;
}

// Splits an in-use chunk down to `s` bytes, freeing the rest.
void Arena::TrimTail(Chunk* c, size_t s) {
  size_t cur = c->size();
  if (cur < s || cur - s < kMinChunk) return;
  Chunk* t = reinterpret_cast<Chunk*>(c->bytes() + s);
  c->head = s | (c->head & kFlags);
  t->head = (cur - s) | kInUse | kPrevInUse;
  FreeChunk(t);
}

void Arena::FreeChunk(Chunk* c) {
  in_use_ -= c->size();
  size_t s = c->size();
  if (!c->prev_in_use()) {
    Chunk* p = reinterpret_cast<Chunk*>(c->bytes() - c->prev_size);
    if (p->bytes() < base_ || p->in_use() || p->size() != c->prev_size) Corrupt("a freed chunk's neighbour is damaged");
    Unlink(p);
    s += p->size();
    c = p;
  }
  uint8_t* next = c->bytes() + s;
  if (next == top_) {
    top_ = c->bytes();
    top_prev_in_use_ = true;  // no two free chunks are ever adjacent
    return;
  }
  Chunk* n = reinterpret_cast<Chunk*>(next);
  if (!n->in_use()) {
    Unlink(n);
    s += n->size();
    next = c->bytes() + s;
  }
  c->head = s | kPrevInUse;
  Chunk* after = reinterpret_cast<Chunk*>(next);
  after->prev_size = s;
  after->head &= ~kPrevInUse;
  InsertFree(c);
}

Arena::Chunk* Arena::ChunkOf(const void* p) const {
  auto a = reinterpret_cast<uintptr_t>(p);
  if ((a & 15) != 0 || a < reinterpret_cast<uintptr_t>(base_) + kHeader || a > reinterpret_cast<uintptr_t>(top_))
    Corrupt("free() or realloc() of a pointer the allocator never returned");
  Chunk* c = reinterpret_cast<Chunk*>(a - kHeader);
  if (!c->in_use() || c->size() < kMinChunk || c->bytes() + c->size() > top_)
    Corrupt("double free, or free() of a pointer the allocator never returned");
  return c;
}

void* Arena::Allocate(size_t n) {
  size_t s = ChunkSizeFor(n);
  if (s == 0) return nullptr;
  Locked l(lock_);
  Chunk* c = AllocateChunk(s);
  return c == nullptr ? nullptr : c->payload();
}

void* Arena::AllocateAligned(size_t align, size_t n) {
  if (align <= kAlignment) return Allocate(n);
  if (n > (SIZE_MAX >> 2) || align > (SIZE_MAX >> 2)) return nullptr;
  size_t s = ChunkSizeFor(n);
  Locked l(lock_);
  Chunk* c = AllocateChunk(s + align + kMinChunk);
  if (c == nullptr) return nullptr;
  auto p = reinterpret_cast<uintptr_t>(c->payload());
  uintptr_t a = (p + align - 1) & ~(uintptr_t{align} - 1);
  if (a != p && a - p < kMinChunk) a += align;
  if (a != p) {
    // Split off the leading part as its own chunk and free it.
    size_t lead = a - p;
    size_t cur = c->size();
    Chunk* ac = reinterpret_cast<Chunk*>(c->bytes() + lead);
    ac->head = (cur - lead) | kInUse | kPrevInUse;
    c->head = lead | kInUse | (c->head & kPrevInUse);
    FreeChunk(c);  // counts `lead` off in_use_, leaves ac's accounting as part of the whole
    c = ac;
  }
  TrimTail(c, s);
  return c->payload();
}

void Arena::Free(void* p) {
  Locked l(lock_);
  FreeChunk(ChunkOf(p));
}

void* Arena::Reallocate(void* p, size_t n) {
  size_t s = ChunkSizeFor(n);
  if (s == 0) return nullptr;
  {
    Locked l(lock_);
    Chunk* c = ChunkOf(p);
    size_t cur = c->size();
    if (s <= cur) {
      TrimTail(c, s);
      return p;
    }
    uint8_t* next = c->bytes() + cur;
    if (next == top_ && static_cast<size_t>(end_ - top_) >= s - cur) {
      c->head = s | (c->head & kFlags);
      top_ = c->bytes() + s;
      size_t hw = static_cast<size_t>(top_ - base_);
      if (hw > high_water_.load(std::memory_order_relaxed)) high_water_.store(hw, std::memory_order_relaxed);
      in_use_ += s - cur;
      return p;
    }
    if (next != top_) {
      Chunk* nc = reinterpret_cast<Chunk*>(next);
      if (!nc->in_use() && cur + nc->size() >= s) {
        Unlink(nc);
        c->head = (cur + nc->size()) | (c->head & kFlags);
        in_use_ += nc->size();
        Chunk* after = Next(c);
        if (after->bytes() == top_) top_prev_in_use_ = true;
        else after->head |= kPrevInUse;
        TrimTail(c, s);
        return p;
      }
    }
  }
  void* q = Allocate(n);
  if (q == nullptr) return nullptr;
  std::memcpy(q, p, UsableSize(p));
  Free(p);
  return q;
}

size_t Arena::UsableSize(const void* p) const {
  const Chunk* c = reinterpret_cast<const Chunk*>(static_cast<const uint8_t*>(p) - kHeader);
  return c->size() - kHeader;
}

bool Arena::CheckConsistency() {
  Locked l(lock_);
  bool prev_in_use = true;
  size_t used = 0;
  size_t prev_size = 0;
  for (uint8_t* b = base_; b < top_;) {
    Chunk* c = reinterpret_cast<Chunk*>(b);
    if (c->size() < kMinChunk || b + c->size() > top_) return false;
    if (c->prev_in_use() != prev_in_use) return false;
    if (!prev_in_use && c->prev_size != prev_size) return false;
    if (!c->in_use()) {
      if (!prev_in_use) return false;  // two adjacent free chunks
      bool listed = false;
      for (Chunk* f = bins_[BinIndex(c->size())]; f != nullptr; f = f->next)
        if (f == c) listed = true;
      if (!listed) return false;
    } else {
      used += c->size();
    }
    prev_in_use = c->in_use();
    prev_size = c->size();
    b += c->size();
  }
  return prev_in_use == top_prev_in_use_ && used == in_use_;
}

// ------------------------------------------------------------------ SecretHeap
bool SecretHeap::AddArena(void* base, size_t size) {
  Locked l(add_lock_);
  int n = count_.load(std::memory_order_relaxed);
  if (n == kMaxArenas || size < 4096) return false;
  arenas_[n].Init(base, size);
  count_.store(n + 1, std::memory_order_release);
  return true;
}

Arena* SecretHeap::Current() {
  int n = count_.load(std::memory_order_acquire);
  return n == 0 ? nullptr : &arenas_[n - 1];
}

Arena* SecretHeap::Owner(const void* p) {
  int n = count_.load(std::memory_order_acquire);
  for (int i = n - 1; i >= 0; --i)
    if (arenas_[i].Contains(p)) return &arenas_[i];
  return nullptr;
}

bool SecretHeap::Owns(const void* p) const {
  int n = count_.load(std::memory_order_acquire);
  for (int i = 0; i < n; ++i)
    if (arenas_[i].Contains(p)) return true;
  return false;
}

void* SecretHeap::Malloc(size_t n) {
  Arena* a = Current();
  void* p = a == nullptr ? nullptr : a->Allocate(n);
  if (p == nullptr) errno = ENOMEM;
  return p;
}

void SecretHeap::Free(void* p) {
  if (p == nullptr) return;
  Arena* a = Owner(p);
  // Memory from ld.so's start-up allocator (before malloc was usable) is not ours: keeping
  // it is harmless, handing it to an arena is not.
  if (a != nullptr) a->Free(p);
}

void* SecretHeap::Calloc(size_t count, size_t size) {
  size_t n = 0;
  if (__builtin_mul_overflow(count, size, &n)) {
    errno = ENOMEM;
    return nullptr;
  }
  void* p = Malloc(n);
  // Reused chunks hold old data; fresh ones may too after a wipe-free realloc path.
  if (p != nullptr) std::memset(p, 0, n);
  return p;
}

void* SecretHeap::Realloc(void* p, size_t n) {
  if (p == nullptr) return Malloc(n);
  if (n == 0) {  // glibc: frees and returns NULL
    Free(p);
    return nullptr;
  }
  Arena* owner = Owner(p);
  Arena* cur = Current();
  if (owner == nullptr) {
    errno = ENOMEM;  // not a pointer we can size; refuse rather than guess
    return nullptr;
  }
  if (owner == cur) {
    void* q = owner->Reallocate(p, n);
    if (q == nullptr) errno = ENOMEM;
    return q;
  }
  // An allocation from an older arena (start-up) moves to the current one.
  void* q = Malloc(n);
  if (q == nullptr) return nullptr;
  size_t old = owner->UsableSize(p);
  std::memcpy(q, p, old < n ? old : n);
  owner->Free(p);
  return q;
}

void* SecretHeap::ReallocArray(void* p, size_t count, size_t size) {
  size_t n = 0;
  if (__builtin_mul_overflow(count, size, &n)) {
    errno = ENOMEM;
    return nullptr;
  }
  return Realloc(p, n);
}

int SecretHeap::PosixMemalign(void** out, size_t align, size_t n) {
  if (!IsPowerOfTwo(align) || align % sizeof(void*) != 0) return EINVAL;
  Arena* a = Current();
  void* p = a == nullptr ? nullptr : a->AllocateAligned(align, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

void* SecretHeap::AlignedAlloc(size_t align, size_t n) {
  if (!IsPowerOfTwo(align)) {
    errno = EINVAL;
    return nullptr;
  }
  return Memalign(align, n);
}

void* SecretHeap::Memalign(size_t align, size_t n) {
  if (!IsPowerOfTwo(align)) {
    // glibc rounds a non-power-of-two alignment up to the next power of two.
    size_t a = 1;
    while (a < align && a != 0) a <<= 1;
    if (a == 0) {
      errno = EINVAL;
      return nullptr;
    }
    align = a;
  }
  Arena* cur = Current();
  void* p = cur == nullptr ? nullptr : cur->AllocateAligned(align, n);
  if (p == nullptr) errno = ENOMEM;
  return p;
}

void* SecretHeap::Valloc(size_t n) { return Memalign(kPage, n); }

void* SecretHeap::Pvalloc(size_t n) {
  if (n > SIZE_MAX - kPage) {
    errno = ENOMEM;
    return nullptr;
  }
  return Memalign(kPage, (n + kPage - 1) & ~(kPage - 1));
}

size_t SecretHeap::UsableSize(void* p) {
  if (p == nullptr) return 0;
  Arena* a = Owner(p);
  return a == nullptr ? 0 : a->UsableSize(p);
}

}  // namespace confide::soft
