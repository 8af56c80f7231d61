// The host side of confide: create an enclave from a signed image, call into it, destroy it.
// Backend-neutral: nothing here depends on whether the enclave runs in-process (sim) or
// isolated (soft, hardware). Generated host proxies call Enclave::Call.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "confide/abi.h"
#include "confide/bytes.h"
#include "confide/image.h"
#include "confide/status.h"

namespace confide {

enum class BackendKind {
  kAuto,  // soft when its programs are installed, else sim
  kSim,   // in-process, no isolation: for debugging with gdb and unit tests
  kSoft,  // kernel-isolated enclave process launched by the platform daemon
};
// "auto" | "sim" | "soft"
Result<BackendKind> ParseBackendKind(std::string_view name);
std::string_view BackendName(BackendKind kind);

struct EnclaveOptions {
  BackendKind backend = BackendKind::kAuto;
  // When all NumTCS thread slots are busy, a call waits this long for one, then fails with
  // kUnavailable. Zero fails at once. Never waits forever.
  std::chrono::milliseconds slot_wait{0};
  // Refuse images signed with Debug=1 (production launch policy).
  bool refuse_debug = false;
  // soft: spin before sleeping on every call (like OE/Intel switchless calls); costs a core
  // while waiting, saves the futex wake-up (~tens of microseconds).
  bool switchless = false;
  // soft: bytes of frame per thread slot in the shared channel; larger frames are refused.
  uint64_t channel_slot_bytes = 4ull << 20;
  // soft, x86-64: whether each hand-off pushes the slot's cache line out to the shared L3
  // (CLDEMOTE). That saves a cache-line round trip when host and enclave threads run on
  // different cores, and costs one when they share a core (SMT); kMeasure lets the host time
  // both now and then and keep the faster one, per slot. kAlways and kNever are for hosts
  // that know where their threads run (pinned); the hot line and the back-offs after each
  // hand-off are measured either way. docs/soft-backend.md, "The host side".
  enum class ChannelDemote { kMeasure, kAlways, kNever };
  ChannelDemote channel_demote = ChannelDemote::kMeasure;
};

// Identity of a running enclave, as verified at load time.
struct EnclaveIdentity {
  image::Digest mrenclave{};
  image::Digest mrsigner{};
  image::EnclaveConfig config;
};

class Backend;  // private: src/host/backend.h

class Enclave;

// Request and reply storage for one call, borrowed from a pool of the calling thread, so
// generated proxies allocate nothing once warm (a nested call borrows its own pair). What was
// written to them is wiped when they go back.
//
// Made for an ecall of `enclave`, it also holds the call's thread slot from construction to
// destruction, and request() writes straight into the memory the request travels in: the
// enclave's own buffer on sim, the channel slot on soft. The frame is then not copied again
// on the host side (Enclave::Call with these buffers).
class CallBuffers {
 public:
  CallBuffers();
  explicit CallBuffers(Enclave& enclave);
  ~CallBuffers();
  CallBuffers(const CallBuffers&) = delete;
  CallBuffers& operator=(const CallBuffers&) = delete;
  abi::Buffer& request() { return *request_; }
  abi::Buffer& reply() { return *reply_; }

 private:
  friend class Enclave;
  abi::Buffer* request_;
  abi::Buffer* reply_;
  size_t* request_hint_;        // this level's last request size: how much room to ask for
  Enclave* enclave_ = nullptr;  // set while the slot is held
  uint32_t slot_ = 0;
  bool nested_ = false;         // the slot is the one of the ocall this thread is in
  Status slot_status_;          // why no slot was taken
};

class Enclave {
 public:
  // Reads and verifies the signed image (signature, measurement, layout) before any of its
  // code runs, then starts it on the chosen backend. `tables` come from the generated
  // untrusted code (its ocalls and ecall names).
  static Result<std::unique_ptr<Enclave>> Create(const std::string& path, const abi::UntrustedTables& tables,
                                                 const EnclaveOptions& options = {});
  ~Enclave();  // terminates the enclave
  Enclave(const Enclave&) = delete;
  Enclave& operator=(const Enclave&) = delete;

  // Sends ecall `id` with a request frame and returns the reply frame. Used by generated
  // proxies; `reply_capacity` is the largest reply the proxy accepts.
  Result<Bytes> Call(uint32_t id, Bytes request, size_t reply_capacity);
  // The same without allocating: sends the frame `request` holds (the backend wipes it once
  // copied) and leaves the reply frame in `reply`. Generated proxies use this one.
  Status Call(uint32_t id, abi::FrameWriter& request, size_t reply_capacity, abi::Buffer& reply);
  // The same on the slot `buffers` holds, with `request` written into buffers.request()
  // (which may be the enclave's or the channel's memory); the reply lands in buffers.reply().
  Status Call(uint32_t id, abi::FrameWriter& request, size_t reply_capacity, CallBuffers& buffers);

  // A value call (confide/abi.h, ValueHandler) of ecall `id`: `args` holds exactly its
  // argument bytes (the enclave wipes them once copied), and `ret` receives exactly its
  // `ret_len` bytes of return value. Generated proxies of ecalls that take only scalars use it.
  Status CallValues(uint32_t id, uint8_t* args, size_t args_len, uint8_t* ret, size_t ret_len);

  const EnclaveIdentity& identity() const { return identity_; }
  BackendKind backend() const { return backend_kind_; }
  // soft: the process id of the enclave process (for diagnostics and isolation tests);
  // 0 on sim, where the enclave runs inside this process.
  int process_id() const;
  // True when nothing isolates this enclave from its host's user: the sim backend, or soft
  // launched by a private development daemon that the host started. Later attestation marks
  // such enclaves' evidence as development/debug.
  bool development() const;

  // Internal: the backend's entry for ocalls coming back from the enclave.
  int32_t DispatchOcall(uint32_t slot, uint32_t id, uint8_t* in, size_t in_len, uint8_t* out, size_t cap,
                        size_t* out_len);

 private:
  friend class CallBuffers;
  struct SlotPool;
  Enclave() = default;
  Result<uint32_t> AcquireSlot();
  void ReleaseSlot(uint32_t slot);
  // Runs ecall `id` on a slot (the caller's own during an ocall, else a free one) and sets
  // *code to the C ABI result; the reply or error text lands in out[0..*out_len). Fails only
  // when no slot is free.
  Status Send(uint32_t id, uint8_t* in, size_t in_len, uint8_t* out, size_t cap, size_t* out_len, int32_t* code);
  // Runs `call(slot)` on this thread's slot during an ocall, else on a free one it takes and
  // gives back; fails only when none is free.
  template <typename Fn>
  Status OnSlot(Fn call);
  Status CallError(uint32_t id, int32_t code, ByteSpan message) const;

  EnclaveIdentity identity_;
  BackendKind backend_kind_ = BackendKind::kSim;
  abi::UntrustedTables tables_{};
  std::unique_ptr<SlotPool> slots_;
  std::unique_ptr<Backend> backend_;
  std::chrono::milliseconds slot_wait_{0};
  confide_host_v1 host_{};  // what the enclave calls back through; outlives backend_
};

}  // namespace confide
