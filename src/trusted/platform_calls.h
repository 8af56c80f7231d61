// Shared by sealing.cc and local_attestation.cc: one decoded platform request, and this
// enclave's identity (asked once; it cannot change while the enclave lives).
#pragma once

#include <cstdint>

#include "confide/platform_services.h"

namespace confide::trusted::internal {

// Sends `request` to the platform and returns the reply's payload, or the platform's error.
Result<Bytes> AskPlatform(const Bytes& request);
Result<platform_services::ReportBody> CachedIdentity();

// Runs `wipe` when the host terminates the enclave (sealing.cc registers its key cache wipe;
// a pointer, so that enclaves which never seal do not link sealing).
void OnTerminate(void (*wipe)());

// Tests only: rotate the sealing key after `seals` blobs instead of 2^30 (0 restores it).
void SetSealKeyRotationForTesting(uint64_t seals);

}  // namespace confide::trusted::internal
