// The one interface a backend implements. Everything above it is backend-neutral.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "confide/abi.h"
#include "confide/enclave.h"
#include "confide/image.h"
#include "confide/status.h"

namespace confide {

class Backend {
 public:
  virtual ~Backend() = default;
  // Runs ecall `id` on thread slot `slot` (C entry ABI conventions of confide_enclave_v1).
  virtual int32_t Ecall(uint32_t slot, uint32_t id, uint8_t* in, size_t in_len, uint8_t* out, size_t cap,
                        size_t* out_len) = 0;
  // Runs ecall `id` as a value call (confide_enclave_v1::call_values); the same conventions.
  virtual int32_t EcallValues(uint32_t slot, uint32_t id, uint8_t* in, size_t in_len, uint8_t* out, size_t cap,
                              size_t* out_len) = 0;
  // Memory a request for the next call on `slot` can be written into so that Ecall need not
  // copy it again (passed back as `in`); empty when there is none. `hint`: the size of the
  // last request from the caller's nesting level.
  virtual std::span<uint8_t> RequestRegion(uint32_t slot, size_t hint) {
    (void)slot;
    (void)hint;
    return {};
  }
  // The enclave's own process, when it has one; 0 when it runs in the host process.
  virtual int process_id() const { return 0; }
  // Whether the platform that runs the enclave is development-grade (see Enclave::development).
  virtual bool development() const { return true; }
};

// In-process backend: loads the verified image from a sealed memfd with dlopen. `host`
// must outlive the backend.
Result<std::unique_ptr<Backend>> CreateSimBackend(const image::SignedImage& image, const confide_host_v1* host);

struct SoftOptions {
  uint64_t slot_data_bytes = 4ull << 20;
  bool switchless = false;                     // every call spins before sleeping
  const bool* ecall_switchless = nullptr;      // per ecall id (transition_using_threads)
  uint32_t ecall_count = 0;
  bool refuse_debug = false;
  EnclaveOptions::ChannelDemote demote = EnclaveOptions::ChannelDemote::kMeasure;
};
// Kernel-isolated backend: the platform daemon (shared, or a private development one)
// launches the enclave process; calls go through the shared-memory channel.
Result<std::unique_ptr<Backend>> CreateSoftBackend(ByteSpan signed_image, const image::SignedImage& image,
                                                   const confide_host_v1* host, const SoftOptions& options);
// Whether the soft backend's programs are installed where this library can find them.
bool SoftBackendAvailable();

}  // namespace confide
