// ELF64 validation for enclave images. Everything is read through ByteReader, so a truncated
// or hostile file yields an error naming the field, never an out-of-bounds read.
#include <string>

#include "confide/image.h"

namespace confide::image {
namespace {

constexpr uint16_t kEtDyn = 3;
constexpr uint16_t kEmX86_64 = 62;
constexpr uint32_t kPtLoad = 1;
constexpr size_t kEhdrSize = 64;
constexpr size_t kPhdrSize = 56;

uint64_t PageFloor(uint64_t v) { return v & ~uint64_t{kPageSize - 1}; }

std::string Hex(uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), kDigits[v & 15]);
    v >>= 4;
  } while (v != 0);
  return "0x" + s;
}

std::string TypeName(uint16_t t) {
  switch (t) {
    case 0: return "ET_NONE";
    case 1: return "ET_REL (an object file)";
    case 2: return "ET_EXEC (an executable)";
    case 3: return "ET_DYN";
    case 4: return "ET_CORE (a core dump)";
    default: return std::to_string(t);
  }
}

std::string MachineName(uint16_t m) {
  switch (m) {
    case 3: return "EM_386 (x86)";
    case 40: return "EM_ARM";
    case 183: return "EM_AARCH64";
    case 243: return "EM_RISCV";
    default: return std::to_string(m);
  }
}

}  // namespace

Result<ElfInfo> ParseElf(ByteSpan elf) {
  if (elf.size() < 4 || elf[0] != 0x7f || elf[1] != 'E' || elf[2] != 'L' || elf[3] != 'F')
    return InvalidArgument("not an ELF file (it does not start with the \\x7fELF magic)");
  if (elf.size() < kEhdrSize)
    return InvalidArgument("truncated ELF file: " + std::to_string(elf.size()) +
                           " bytes, the ELF64 header alone needs 64");
  if (elf[4] != 2) return InvalidArgument("ELF class is not ELFCLASS64: an enclave must be a 64-bit x86-64 object");
  if (elf[5] != 1) return InvalidArgument("ELF data encoding is not little-endian (ELFDATA2LSB)");
  if (elf[6] != 1) return InvalidArgument("ELF identification version is not EV_CURRENT (1)");

  ByteReader r(elf.subspan(16), "ELF header");
  CONFIDE_ASSIGN_OR_RETURN(uint16_t type, r.U16Le("e_type"));
  CONFIDE_ASSIGN_OR_RETURN(uint16_t machine, r.U16Le("e_machine"));
  CONFIDE_ASSIGN_OR_RETURN(uint32_t version, r.U32Le("e_version"));
  CONFIDE_RETURN_IF_ERROR(r.Skip(8, "e_entry"));
  CONFIDE_ASSIGN_OR_RETURN(uint64_t phoff, r.U64Le("e_phoff"));
  CONFIDE_RETURN_IF_ERROR(r.Skip(8 + 4, "e_shoff, e_flags"));
  CONFIDE_ASSIGN_OR_RETURN(uint16_t ehsize, r.U16Le("e_ehsize"));
  CONFIDE_ASSIGN_OR_RETURN(uint16_t phentsize, r.U16Le("e_phentsize"));
  CONFIDE_ASSIGN_OR_RETURN(uint16_t phnum, r.U16Le("e_phnum"));

  if (type != kEtDyn)
    return InvalidArgument("ELF type is " + TypeName(type) +
                           ", not ET_DYN: an enclave must be a shared object (link it with -shared)");
  if (machine != kEmX86_64)
    return InvalidArgument("ELF machine is " + MachineName(machine) + ", not EM_X86_64 (62)");
  if (version != 1) return InvalidArgument("ELF e_version is " + std::to_string(version) + ", not 1");
  if (ehsize != kEhdrSize)
    return InvalidArgument("ELF e_ehsize is " + std::to_string(ehsize) + ", not 64");
  if (phentsize != kPhdrSize)
    return InvalidArgument("ELF e_phentsize is " + std::to_string(phentsize) + ", not 56");
  if (phnum == 0) return InvalidArgument("ELF file has no program headers: it cannot be loaded");
  if (phnum == 0xffff)
    return Unsupported("ELF file uses extended program header numbering (PN_XNUM); not supported");
  if (phoff > elf.size() || elf.size() - phoff < uint64_t{phnum} * kPhdrSize)
    return InvalidArgument("truncated ELF file: the program header table (" + std::to_string(phnum) +
                           " entries at offset " + std::to_string(phoff) + ") extends past its end (" +
                           std::to_string(elf.size()) + " bytes)");

  ElfInfo info;
  uint64_t prev_end_page = 0;  // first page after the previous PT_LOAD
  for (uint16_t i = 0; i < phnum; ++i) {
    ByteSpan ph = elf.subspan(phoff + uint64_t{i} * kPhdrSize, kPhdrSize);
    info.phdrs.push_back(ph);
    ByteReader pr(ph, "program header " + std::to_string(i));
    CONFIDE_ASSIGN_OR_RETURN(uint32_t p_type, pr.U32Le("p_type"));
    CONFIDE_ASSIGN_OR_RETURN(uint32_t p_flags, pr.U32Le("p_flags"));
    CONFIDE_ASSIGN_OR_RETURN(uint64_t p_offset, pr.U64Le("p_offset"));
    CONFIDE_ASSIGN_OR_RETURN(uint64_t p_vaddr, pr.U64Le("p_vaddr"));
    CONFIDE_RETURN_IF_ERROR(pr.Skip(8, "p_paddr"));
    CONFIDE_ASSIGN_OR_RETURN(uint64_t p_filesz, pr.U64Le("p_filesz"));
    CONFIDE_ASSIGN_OR_RETURN(uint64_t p_memsz, pr.U64Le("p_memsz"));
    if (p_type != kPtLoad) continue;

    std::string what = "PT_LOAD segment (program header " + std::to_string(i) + ")";
    if (p_filesz > p_memsz)
      return InvalidArgument(what + ": p_filesz " + std::to_string(p_filesz) + " exceeds p_memsz " +
                             std::to_string(p_memsz));
    if (p_offset > elf.size() || elf.size() - p_offset < p_filesz)
      return InvalidArgument("truncated ELF file: " + what + " needs " + std::to_string(p_filesz) +
                             " bytes at offset " + std::to_string(p_offset) + ", the file has " +
                             std::to_string(elf.size()));
    if (p_memsz == 0) return InvalidArgument(what + " is empty (p_memsz 0)");
    if (p_memsz > kMaxImageBytes || p_vaddr > UINT64_MAX - kMaxImageBytes - kPageSize)
      return InvalidArgument(what + ": address " + Hex(p_vaddr) + " + size " + std::to_string(p_memsz) +
                             " is out of the supported range (images up to 1 GiB)");
    if ((p_vaddr - p_offset) % kPageSize != 0)
      return InvalidArgument(what + ": p_vaddr " + Hex(p_vaddr) + " and p_offset " + Hex(p_offset) +
                             " differ modulo the 4 KiB page size, so it cannot be mapped");
    uint64_t first_page = PageFloor(p_vaddr);
    uint64_t end_page = PageFloor(p_vaddr + p_memsz + kPageSize - 1);
    if (!info.segments.empty() && first_page < prev_end_page)
      return InvalidArgument(what + " at " + Hex(p_vaddr) +
                             " overlaps or shares a page with the previous PT_LOAD segment (segments must be "
                             "in ascending address order, each on its own pages)");
    prev_end_page = end_page;
    info.segments.push_back(LoadSegment{p_offset, p_vaddr, p_filesz, p_memsz, p_flags});
  }
  if (info.segments.empty()) return InvalidArgument("ELF file has no PT_LOAD segment: nothing to load");

  uint64_t lo = PageFloor(info.segments.front().vaddr);
  if (prev_end_page - lo > kMaxImageBytes)
    return InvalidArgument("the PT_LOAD segments span " + std::to_string(prev_end_page - lo) +
                           " bytes of address space; confide accepts images up to 1 GiB");
  info.image_pages = (prev_end_page - lo) / kPageSize;
  return info;
}

}  // namespace confide::image
