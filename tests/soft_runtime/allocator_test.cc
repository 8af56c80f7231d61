// The enclave allocator (src/backends/soft/runtime/allocator.h) on its own, over memfd_secret
// regions mapped by the test: malloc-family semantics, exhaustion, thread safety, and that
// the memory really is secret.
#include "backends/soft/runtime/allocator.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include "backends/soft/runtime/secret_memory.h"

using namespace confide::soft;

namespace {

constexpr size_t kArenaBytes = 4 << 20;

struct SecretRegion {
  explicit SecretRegion(size_t n) : size(n) {
    int err = 0;
    addr = static_cast<uint8_t*>(MapSecret(n, nullptr, &err));
    EXPECT_NE(addr, nullptr) << "memfd_secret: " << strerror(err);
  }
  ~SecretRegion() {
    if (addr) munmap(addr, size);
  }
  uint8_t* addr;
  size_t size;
};

class HeapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(region_.addr, nullptr);
    ASSERT_TRUE(heap_.AddArena(region_.addr, region_.size));
  }
  bool Consistent() { return heap_.arena(heap_.arena_count() - 1).CheckConsistency(); }

  SecretRegion region_{kArenaBytes};
  SecretHeap heap_;
};

TEST_F(HeapTest, MallocAlignsTo16AndUsableSizeCoversRequest) {
  std::vector<void*> ps;
  for (size_t n : {0, 1, 7, 15, 16, 17, 31, 100, 1000, 4096, 100000}) {
    void* p = heap_.Malloc(n);
    ASSERT_NE(p, nullptr) << n;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u) << n;
    EXPECT_GE(heap_.UsableSize(p), n);
    std::memset(p, 0xab, heap_.UsableSize(p));  // the whole usable size is ours
    ps.push_back(p);
  }
  EXPECT_TRUE(Consistent());
  for (void* p : ps) heap_.Free(p);
  EXPECT_TRUE(Consistent());
  EXPECT_EQ(heap_.arena(0).in_use(), 0u);
}

TEST_F(HeapTest, LargerAlignmentsOnRequest) {
  for (size_t align : {32, 64, 128, 256, 4096, 65536}) {
    void* p = heap_.Memalign(align, 100);
    ASSERT_NE(p, nullptr) << align;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u) << align;
    void* q = nullptr;
    EXPECT_EQ(heap_.PosixMemalign(&q, align, 3000), 0);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(q) % align, 0u) << align;
    void* r = heap_.AlignedAlloc(align, align * 2);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(r) % align, 0u) << align;
    heap_.Free(p);
    heap_.Free(q);
    heap_.Free(r);
    ASSERT_TRUE(Consistent()) << align;
  }
  void* v = heap_.Valloc(10);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(v) % 4096, 0u);
  void* pv = heap_.Pvalloc(10);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(pv) % 4096, 0u);
  EXPECT_GE(heap_.UsableSize(pv), 4096u);
  heap_.Free(v);
  heap_.Free(pv);
  EXPECT_EQ(heap_.arena(0).in_use(), 0u);
}

TEST_F(HeapTest, BadAlignmentsAreRefused) {
  void* p = reinterpret_cast<void*>(0x1);
  EXPECT_EQ(heap_.PosixMemalign(&p, 0, 8), EINVAL);
  EXPECT_EQ(heap_.PosixMemalign(&p, 24, 8), EINVAL);
  EXPECT_EQ(heap_.PosixMemalign(&p, 4, 8), EINVAL);  // not a multiple of sizeof(void*)
  EXPECT_EQ(p, reinterpret_cast<void*>(0x1));        // untouched on failure
  errno = 0;
  EXPECT_EQ(heap_.AlignedAlloc(48, 96), nullptr);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(HeapTest, ReallocKeepsContentsAndFollowsGlibcSemantics) {
  uint8_t* p = static_cast<uint8_t*>(heap_.Realloc(nullptr, 40));  // realloc(NULL) = malloc
  ASSERT_NE(p, nullptr);
  for (int i = 0; i < 40; ++i) p[i] = static_cast<uint8_t>(i);
  // Block the top so growth must move or merge.
  void* blocker = heap_.Malloc(64);
  uint8_t* q = static_cast<uint8_t*>(heap_.Realloc(p, 5000));
  ASSERT_NE(q, nullptr);
  for (int i = 0; i < 40; ++i) ASSERT_EQ(q[i], i);
  uint8_t* s = static_cast<uint8_t*>(heap_.Realloc(q, 10));  // shrinking stays in place
  EXPECT_EQ(s, q);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(s[i], i);
  // Growing into a freed neighbour stays in place.
  void* next = heap_.Malloc(2000);
  void* after = heap_.Malloc(16);
  ASSERT_TRUE(next && after);
  uint8_t* t = static_cast<uint8_t*>(heap_.Malloc(32));
  for (int i = 0; i < 32; ++i) t[i] = static_cast<uint8_t>(100 + i);
  EXPECT_TRUE(Consistent());
  // realloc(p, 0) frees and returns NULL (glibc).
  EXPECT_EQ(heap_.Realloc(s, 0), nullptr);
  heap_.Free(blocker);
  heap_.Free(next);
  heap_.Free(after);
  heap_.Free(t);
  EXPECT_TRUE(Consistent());
  EXPECT_EQ(heap_.arena(0).in_use(), 0u);
  // A failed realloc leaves the block alone.
  uint8_t* u = static_cast<uint8_t*>(heap_.Malloc(64));
  std::memset(u, 0x77, 64);
  errno = 0;
  EXPECT_EQ(heap_.Realloc(u, kArenaBytes * 2), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  for (int i = 0; i < 64; ++i) ASSERT_EQ(u[i], 0x77);
  heap_.Free(u);
  errno = 0;
  EXPECT_EQ(heap_.ReallocArray(nullptr, SIZE_MAX / 2, 3), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

TEST_F(HeapTest, CallocZeroesReusedMemoryAndChecksOverflow) {
  uint8_t* p = static_cast<uint8_t*>(heap_.Malloc(256));
  std::memset(p, 0xff, 256);
  heap_.Free(p);
  uint8_t* z = static_cast<uint8_t*>(heap_.Calloc(16, 16));
  ASSERT_EQ(z, p);  // the same chunk comes back, dirty
  for (int i = 0; i < 256; ++i) ASSERT_EQ(z[i], 0) << i;
  heap_.Free(z);
  errno = 0;
  EXPECT_EQ(heap_.Calloc(SIZE_MAX / 8, 16), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(heap_.Calloc(size_t{1} << 33, size_t{1} << 33), nullptr);
}

TEST_F(HeapTest, ExhaustionReturnsNullWithEnomemAndRecovers) {
  std::vector<void*> ps;
  for (;;) {
    errno = 0;
    void* p = heap_.Malloc(10000);
    if (p == nullptr) {
      EXPECT_EQ(errno, ENOMEM);
      break;
    }
    ps.push_back(p);
    ASSERT_LT(ps.size(), kArenaBytes / 10000 + 1) << "allocated more than the arena holds";
  }
  EXPECT_GE(ps.size(), kArenaBytes / 10016 - 1);  // the arena is used up, not abandoned early
  EXPECT_EQ(heap_.Malloc(SIZE_MAX), nullptr);
  EXPECT_EQ(heap_.Malloc(SIZE_MAX - 8), nullptr);
  for (size_t i = 0; i < ps.size(); i += 2) heap_.Free(ps[i]);
  EXPECT_TRUE(Consistent());
  EXPECT_NE(heap_.Malloc(9000), nullptr);  // freed holes are reused
  for (size_t i = 1; i < ps.size(); i += 2) heap_.Free(ps[i]);
  EXPECT_TRUE(Consistent());
  // Coalescing gives one block of nearly the whole arena back.
  void* big = heap_.Malloc(kArenaBytes - 64 * 1024);
  EXPECT_NE(big, nullptr);
}

TEST_F(HeapTest, RandomOperationsKeepContentsAndInvariants) {
  std::mt19937 rng(1234);
  struct Block {
    uint8_t* p;
    size_t n;
    uint8_t fill;
  };
  std::vector<Block> live;
  for (int step = 0; step < 20000; ++step) {
    int op = static_cast<int>(rng() % 4);
    if (op <= 1 || live.empty()) {
      size_t n = rng() % (rng() % 8 == 0 ? 20000 : 300);
      size_t align = size_t{1} << (rng() % 10);
      uint8_t* p = static_cast<uint8_t*>(op == 0 ? heap_.Malloc(n) : heap_.Memalign(align, n));
      if (p == nullptr) continue;
      if (op == 1) {
        ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % std::max<size_t>(align, 16), 0u);
      }
      uint8_t fill = static_cast<uint8_t>(rng());
      std::memset(p, fill, n);
      live.push_back({p, n, fill});
    } else {
      size_t i = rng() % live.size();
      Block b = live[i];
      for (size_t k = 0; k < b.n; ++k) ASSERT_EQ(b.p[k], b.fill) << "block corrupted";
      if (op == 2) {
        heap_.Free(b.p);
        live.erase(live.begin() + static_cast<long>(i));
      } else {
        size_t n = rng() % 5000 + 1;
        uint8_t* q = static_cast<uint8_t*>(heap_.Realloc(b.p, n));
        if (q == nullptr) continue;
        for (size_t k = 0; k < std::min(n, b.n); ++k) ASSERT_EQ(q[k], b.fill);
        std::memset(q, b.fill, n);
        live[i] = {q, n, b.fill};
      }
    }
    if (step % 1000 == 0) {
      ASSERT_TRUE(Consistent()) << step;
    }
  }
  for (auto& b : live) heap_.Free(b.p);
  EXPECT_TRUE(Consistent());
  EXPECT_EQ(heap_.arena(0).in_use(), 0u);
}

TEST_F(HeapTest, ConcurrentUseFromManyThreads) {
  constexpr int kThreads = 4;
  std::vector<std::thread> ts;
  std::atomic<int> corrupt{0};
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      std::mt19937 rng(static_cast<uint32_t>(t));
      std::vector<std::pair<uint8_t*, size_t>> mine;
      for (int i = 0; i < 20000; ++i) {
        if (mine.size() < 50 && rng() % 2 == 0) {
          size_t n = rng() % 2000 + 1;
          auto* p = static_cast<uint8_t*>(rng() % 4 == 0 ? heap_.Calloc(1, n) : heap_.Malloc(n));
          if (p == nullptr) continue;
          std::memset(p, t + 1, n);
          mine.emplace_back(p, n);
        } else if (!mine.empty()) {
          auto [p, n] = mine.back();
          mine.pop_back();
          for (size_t k = 0; k < n; ++k)
            if (p[k] != t + 1) corrupt.fetch_add(1);
          heap_.Free(p);
        }
      }
      for (auto& [p, n] : mine) heap_.Free(p);
    });
  for (auto& th : ts) th.join();
  EXPECT_EQ(corrupt.load(), 0);
  EXPECT_TRUE(Consistent());
  EXPECT_EQ(heap_.arena(0).in_use(), 0u);
}

TEST(SecretHeapArenas, NewAllocationsComeFromTheNewestArenaAndOldOnesStillFree) {
  SecretRegion boot(1 << 20), main(1 << 20);
  SecretHeap h;
  ASSERT_TRUE(h.AddArena(boot.addr, boot.size));
  auto* early = static_cast<uint8_t*>(h.Malloc(100));
  std::memset(early, 0x42, 100);
  ASSERT_TRUE(h.AddArena(main.addr, main.size));
  void* late = h.Malloc(100);
  EXPECT_TRUE(h.arena(1).Contains(late));
  // realloc of a start-up allocation moves it into the current arena.
  auto* moved = static_cast<uint8_t*>(h.Realloc(early, 200));
  EXPECT_TRUE(h.arena(1).Contains(moved));
  for (int i = 0; i < 100; ++i) ASSERT_EQ(moved[i], 0x42);
  EXPECT_EQ(h.arena(0).in_use(), 0u);
  h.Free(moved);
  h.Free(late);
  EXPECT_EQ(h.arena(1).in_use(), 0u);
  // A pointer from outside every arena (ld.so's start-up allocator) is left alone.
  int outside = 0;
  h.Free(&outside);
  EXPECT_EQ(h.UsableSize(&outside), 0u);
}

// The arena really is memfd_secret memory: the kernel names it so in /proc/self/maps, and
// neither /proc/self/mem nor process_vm_readv can read it, even as root.
TEST(SecretMemory, ArenaIsSecretmemAndUnreadableFromOutside) {
  SecretRegion r(1 << 20);
  ASSERT_NE(r.addr, nullptr);
  SecretHeap h;
  ASSERT_TRUE(h.AddArena(r.addr, r.size));
  auto* p = static_cast<uint8_t*>(h.Malloc(64));
  std::memset(p, 0x5c, 64);

  std::ifstream maps("/proc/self/maps");
  std::string line, found;
  auto a = reinterpret_cast<uintptr_t>(p);
  while (std::getline(maps, line)) {
    uintptr_t s = std::stoull(line.substr(0, line.find('-')), nullptr, 16);
    uintptr_t e = std::stoull(line.substr(line.find('-') + 1), nullptr, 16);
    if (a >= s && a < e) found = line;
  }
  EXPECT_NE(found.find("secretmem"), std::string::npos) << found;
  EXPECT_EQ(found.find('x'), std::string::npos) << found;

  int mem = open("/proc/self/mem", O_RDONLY);
  ASSERT_GE(mem, 0);
  uint8_t buf[64];
  errno = 0;
  EXPECT_EQ(pread(mem, buf, sizeof buf, static_cast<off_t>(a)), -1);
  EXPECT_EQ(errno, EIO);
  close(mem);
  iovec local{buf, sizeof buf}, remote{p, sizeof buf};
  errno = 0;
  EXPECT_EQ(process_vm_readv(getpid(), &local, 1, &remote, 1, 0), -1);
  EXPECT_EQ(errno, EFAULT);
  // And the kernel refuses to make it executable.
  EXPECT_NE(mprotect(r.addr, 4096, PROT_READ | PROT_EXEC), 0);
}

}  // namespace
