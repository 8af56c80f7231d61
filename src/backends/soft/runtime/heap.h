// The process-wide heap of confide-enclave-runtime (malloc.cc).
#pragma once

#include <cstddef>

#include "backends/soft/runtime/allocator.h"

namespace confide::soft {

// Virtual size of the start-up arena (pages are only faulted in when used).
inline constexpr size_t kBootstrapArenaBytes = 8u << 20;

// The heap behind malloc; AddArena on it switches new allocations to the enclave heap.
SecretHeap& ProcessHeap();
// 0 when the start-up arena is secret memory; else the errno memfd_secret failed with, and
// the arena is ordinary memory (only a debug image gets further then).
int BootstrapArenaSecretError();

}  // namespace confide::soft
