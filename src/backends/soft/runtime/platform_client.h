// The enclave process's side of platform services (keys, reports): one request and one reply
// over the platform socket (launch.h, descriptor 6) to the daemon that verified the image.
#pragma once

#include <cstddef>
#include <cstdint>

namespace confide::soft::rt {

// confide_host_v1::platform for soft enclaves.
int32_t PlatformCall(void* ctx, const uint8_t* request, size_t request_len, uint8_t* out, size_t out_cap,
                     size_t* out_len);

}  // namespace confide::soft::rt
