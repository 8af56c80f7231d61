// The enclave side of the runtime, linked into every enclave image (confide::trusted).
// Generated ocall proxies call Ocall(); enclave code may ask which slot it runs on.
#pragma once

#include <cstdint>

#include "confide/abi.h"
#include "confide/bytes.h"
#include "confide/status.h"

// Every enclave defines this table (confide-edger8r generates it from the EDL).
extern "C" const confide::abi::TrustedTables confide_trusted_tables;

namespace confide::trusted {

// Sends ocall `id` to the host and returns its reply frame, copied into enclave memory.
// The reply is hostile input: callers validate it with abi::FrameView. Fails with
// kUnavailable outside an ecall, kOutOfRange when the host returns more than
// `reply_capacity` bytes, and with the host's own code and message when the host failed.
Result<Bytes> Ocall(uint32_t id, const Bytes& request, size_t reply_capacity);

// Sends one platform-services request (confide/platform_services.h) to the platform that
// runs this enclave and returns the reply message, copied into enclave memory. Callers decode
// it with platform_services::DecodeReply. Fails with kUnavailable when the loader offers no
// platform services.
Result<Bytes> PlatformCall(const Bytes& request);

// The thread slot (0..NumTCS-1) of the ecall running on this thread, or -1 outside one.
int CurrentSlot();

}  // namespace confide::trusted
