// memfd_secret(2) mappings: memory the kernel removes from its direct map, so neither
// /proc/PID/mem, process_vm_readv, ptrace peeks nor core dumps can read it, even as root.
// The kernel refuses PROT_EXEC on it, so it holds data only.
#pragma once

#include <cstddef>

namespace confide::soft {

inline constexpr long kSysMemfdSecret = 447;  // x86-64; not in every libc's headers yet

// Maps `size` bytes (rounded up to pages) of fresh secret memory, at `fixed` (MAP_FIXED,
// replacing what is there) or anywhere when `fixed` is null. Returns the address, or null
// with `*err` set to the errno of the step that failed (ENOSYS/EPERM: no secretmem).
void* MapSecret(size_t size, void* fixed, int* err);

// Anonymous private memory, for the debug fallback when the kernel has no secretmem.
void* MapOrdinary(size_t size, int* err);

// The kernel requirement, for messages.
inline constexpr const char* kSecretMemRequirement =
    "memfd_secret(2) is needed: Linux >= 5.14 with secretmem enabled (CONFIG_SECRETMEM=y; "
    "kernels before 6.5 also need the boot option secretmem.enable=1) and an RLIMIT_MEMLOCK "
    "that covers the enclave's secret memory";

}  // namespace confide::soft
