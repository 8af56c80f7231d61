// MRENCLAVE and MRSIGNER. The measurement imitates SGX's build log: one 64-byte ECREATE-like
// record for the layout, one record per program header, then for every page of every PT_LOAD
// segment an EADD-like record followed by the page as it will sit in memory. The exact
// definition is in docs/enclave-image.md; keep the two in step.
#include <algorithm>
#include <cstring>

#include "confide/image.h"

namespace confide::image {
namespace {

constexpr size_t kRecordSize = 64;

void PutU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

Result<Digest> ComputeMrEnclave(ByteSpan elf, const EnclaveConfig& config) {
  CONFIDE_RETURN_IF_ERROR(ValidateConfig(config));
  CONFIDE_ASSIGN_OR_RETURN(ElfInfo info, ParseElf(elf));
  crypto::Hasher h(crypto::HashAlg::kSha256);

  uint8_t rec[kRecordSize];
  std::memset(rec, 0, sizeof rec);
  std::memcpy(rec, "ECREATE\0", 8);
  PutU64(rec + 8, info.image_pages);
  PutU64(rec + 16, config.num_heap_pages);
  PutU64(rec + 24, config.num_stack_pages);
  PutU64(rec + 32, config.num_tcs);
  h.Update(ByteSpan(rec, sizeof rec));

  for (ByteSpan ph : info.phdrs) {
    std::memset(rec, 0, sizeof rec);
    std::memcpy(rec, "EPHDR\0\0\0", 8);
    std::memcpy(rec + 8, ph.data(), ph.size());  // 56 bytes
    h.Update(ByteSpan(rec, sizeof rec));
  }

  uint8_t page[kPageSize];
  for (const LoadSegment& s : info.segments) {
    uint64_t start = s.vaddr & ~uint64_t{kPageSize - 1};
    uint64_t end = s.vaddr + s.memsz;  // ParseElf bounded it, no overflow
    uint64_t file_end = s.vaddr + s.filesz;
    for (uint64_t p = start; p < end; p += kPageSize) {
      std::memset(rec, 0, sizeof rec);
      std::memcpy(rec, "EADD\0\0\0\0", 8);
      PutU64(rec + 8, p);
      PutU32(rec + 16, s.flags);
      h.Update(ByteSpan(rec, sizeof rec));

      // Bytes of the page inside [vaddr, vaddr + filesz) come from the file; everything else
      // (before the segment, .bss, after the segment) is zero.
      std::memset(page, 0, sizeof page);
      uint64_t lo = std::max(p, s.vaddr);
      uint64_t hi = std::min(p + kPageSize, file_end);
      if (lo < hi) std::memcpy(page + (lo - p), elf.data() + s.offset + (lo - s.vaddr), hi - lo);
      h.Update(ByteSpan(page, sizeof page));
    }
  }
  Bytes d = h.Finish();
  Digest out{};
  if (d.size() != out.size()) return Internal("SHA-256 returned " + std::to_string(d.size()) + " bytes");
  std::copy(d.begin(), d.end(), out.begin());
  return out;
}

Digest ComputeMrSigner(ByteSpan modulus_le) {
  Bytes d = crypto::Sha256(modulus_le);
  Digest out{};
  std::copy_n(d.begin(), std::min(d.size(), out.size()), out.begin());
  return out;
}

}  // namespace confide::image
