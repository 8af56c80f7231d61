// The process-wide heap of confide-enclave-runtime (malloc.cc).
#pragma once

#include <cstddef>

#include "backends/soft/runtime/allocator.h"

namespace confide::soft {

// Virtual size of the start-up arena (pages are only faulted in when used).
inline constexpr size_t kBootstrapArenaBytes = 8u << 20;

// The heap behind malloc; AddArena on it switches new allocations to the enclave heap.
SecretHeap& ProcessHeap();
// False when the start-up arena had to fall back to ordinary memory (no secretmem).
bool BootstrapArenaIsSecret();

}  // namespace confide::soft
