// Shared by sealing.cc and local_attestation.cc: one decoded platform request, and this
// enclave's identity (asked once; it cannot change while the enclave lives).
#pragma once

#include "confide/platform_services.h"

namespace confide::trusted::internal {

// Sends `request` to the platform and returns the reply's payload, or the platform's error.
Result<Bytes> AskPlatform(const Bytes& request);
Result<platform_services::ReportBody> CachedIdentity();

}  // namespace confide::trusted::internal
