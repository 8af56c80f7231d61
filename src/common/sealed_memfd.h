// Sealed memfds: the bytes that were verified are the bytes that get loaded, whatever
// happens to the file on disk afterwards (no TOCTOU window). Internal to confide.
#pragma once

#include "confide/bytes.h"
#include "confide/status.h"

namespace confide {

// A memfd holding `data`, sealed against writes, shrinking, growing and further sealing.
// The caller owns the returned descriptor (close-on-exec).
Result<int> CreateSealedMemfd(ByteSpan data, const char* name);
// A memfd of `size` zero bytes whose size is sealed (no shrinking, growing or further
// sealing) but whose contents stay writable: memory shared between processes that neither
// can cut under the other, which would make the other's next access fault (SIGBUS).
Result<int> CreateFixedSizeMemfd(size_t size, const char* name);
// Whether `fd` is sealed against shrinking and growing.
bool SizeSealed(int fd);

}  // namespace confide
