// Builds minimal x86-64 ELF64 shared objects by hand, so tests control every byte that the
// measurement covers (compiler output differs between toolchains).
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "confide/bytes.h"

namespace confide::testing {

struct TestSegment {
  uint64_t vaddr = 0;
  uint32_t flags = 4;  // PF_R
  Bytes data;          // file contents (p_filesz = data.size())
  uint64_t memsz = 0;  // 0: same as data.size()
};

struct TestElfOptions {
  uint16_t type = 3;       // ET_DYN
  uint16_t machine = 62;   // EM_X86_64
  uint8_t elf_class = 2;   // ELFCLASS64
  uint8_t data_encoding = 1;
  bool add_gnu_stack = true;  // a non-PT_LOAD header, which the measurement covers too
};

inline void PutLe(Bytes& b, size_t at, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

// Layout: ELF header, program headers, then each segment's bytes at the first file offset
// congruent to its vaddr modulo 4096 (what a loader needs to mmap it).
inline Bytes BuildElf(const std::vector<TestSegment>& segs, const TestElfOptions& opt = {}) {
  const size_t phnum = segs.size() + (opt.add_gnu_stack ? 1 : 0);
  std::vector<uint64_t> offsets;
  uint64_t cur = 64 + phnum * 56;
  for (const TestSegment& s : segs) {
    uint64_t want = s.vaddr % 4096;
    uint64_t off = (cur / 4096) * 4096 + want;
    if (off < cur) off += 4096;
    offsets.push_back(off);
    cur = off + s.data.size();
  }
  Bytes b(cur, 0);
  b[0] = 0x7f; b[1] = 'E'; b[2] = 'L'; b[3] = 'F';
  b[4] = opt.elf_class; b[5] = opt.data_encoding; b[6] = 1;
  PutLe(b, 16, opt.type, 2);
  PutLe(b, 18, opt.machine, 2);
  PutLe(b, 20, 1, 4);        // e_version
  PutLe(b, 24, 0, 8);        // e_entry
  PutLe(b, 32, 64, 8);       // e_phoff
  PutLe(b, 40, 0, 8);        // e_shoff
  PutLe(b, 52, 64, 2);       // e_ehsize
  PutLe(b, 54, 56, 2);       // e_phentsize
  PutLe(b, 56, phnum, 2);    // e_phnum
  for (size_t i = 0; i < segs.size(); ++i) {
    size_t ph = 64 + i * 56;
    const TestSegment& s = segs[i];
    PutLe(b, ph + 0, 1, 4);  // PT_LOAD
    PutLe(b, ph + 4, s.flags, 4);
    PutLe(b, ph + 8, offsets[i], 8);
    PutLe(b, ph + 16, s.vaddr, 8);
    PutLe(b, ph + 24, s.vaddr, 8);
    PutLe(b, ph + 32, s.data.size(), 8);
    PutLe(b, ph + 40, s.memsz ? s.memsz : s.data.size(), 8);
    PutLe(b, ph + 48, 4096, 8);
    std::memcpy(b.data() + offsets[i], s.data.data(), s.data.size());
  }
  if (opt.add_gnu_stack) {
    size_t ph = 64 + segs.size() * 56;
    PutLe(b, ph + 0, 0x6474e551, 4);  // PT_GNU_STACK
    PutLe(b, ph + 4, 6, 4);           // RW, not executable
    PutLe(b, ph + 48, 16, 8);
  }
  return b;
}

inline Bytes Pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
  return b;
}

// Two segments: code (R+X) over one and a half pages, data (R+W) starting mid-page with a
// .bss tail that runs two pages past its file bytes.
inline std::vector<TestSegment> TwoSegments() {
  return {TestSegment{0x0, 5, Pattern(6000, 1), 0},
          TestSegment{0x3100, 6, Pattern(300, 9), 300 + 2 * 4096}};
}

}  // namespace confide::testing
