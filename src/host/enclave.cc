#include "confide/enclave.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "host/backend.h"

namespace confide {

// Free thread slots: one flag per slot, taken with a compare-and-swap and given back with a
// plain store. The mutex and condition variable are only for callers that wait
// (EnclaveOptions::slot_wait) when none is free.
//
// A sole caller takes slot 0 without the compare-and-swap (~10 ns, a locked instruction, on the
// path of every switchless call). While one host thread alone has called the enclave, no other
// can race it for a slot, so it marks its call in `sole_busy` with a plain store and checks that
// no other thread has come since. A thread that comes later goes through `Share`: the first one
// sets `shared` to kAnnounced, and membarrier(2) then runs a full memory barrier on every CPU
// running this process, after which it sets kShared. From kAnnounced on the sole caller's takes
// use the compare-and-swap; a call it had begun before shows in `sole_busy` once the barrier
// has run, and a compare-and-swap taker of slot 0, which takes only at kShared (a thread that
// sees kAnnounced waits in `Share` for the barrier), checks it. Where membarrier is unavailable
// (an old kernel, a seccomp filter), every take is a compare-and-swap. A slot is given back by
// the thread that took it. docs/performance.md, "Fewer calls and a sole caller's slot".
struct Enclave::SlotPool {
  enum : uint8_t { kSole = 0, kAnnounced = 1, kShared = 2 };  // `shared`

  explicit SlotPool(uint32_t n) : free(n) {
    for (auto& f : free) f.store(1, std::memory_order_relaxed);
    biased = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
  }
  // Identifies the calling thread without a call.
  static const void* Me() { return __builtin_thread_pointer(); }

  bool TryTake(uint32_t* slot) {
    if (biased && shared.load(std::memory_order_acquire) != kShared) {
      const void* sole_caller = sole.load(std::memory_order_relaxed);
      if (sole_caller != Me() && !(sole_caller == nullptr && ClaimSole())) {
        Share();
      } else if (sole_busy.load(std::memory_order_relaxed) == 0) {  // else it holds slot 0 already (CallBuffers)
        sole_busy.store(1, std::memory_order_relaxed);
        // No fence: the store may still wait in this CPU's store buffer while `shared` is read;
        // Share's membarrier orders the two for the thread that sets `shared`.
        std::atomic_signal_fence(std::memory_order_seq_cst);
        if (shared.load(std::memory_order_relaxed) == kSole) {
          *slot = 0;
          return true;
        }
        sole_busy.store(0, std::memory_order_release);
      }
    }
    // The lowest free slot: calls concentrate on few slot threads, and the others (on soft,
    // threads that spin before they sleep) stay asleep. With each host thread keeping a slot
    // of its own, two host threads on two cores made switchless calls about 7x slower.
    for (uint32_t s = 0; s < free.size(); ++s) {
      // Slot 0 may be the sole caller's, taken before it saw `shared`: checked before the
      // compare-and-swap too, so that a taker seldom holds it for nothing while another looks.
      if (s == 0 && sole_busy.load(std::memory_order_acquire) != 0) continue;
      uint8_t one = 1;
      if (free[s].load(std::memory_order_relaxed) != 0 &&
          free[s].compare_exchange_strong(one, 0, std::memory_order_acquire, std::memory_order_relaxed)) {
        if (s == 0 && sole_busy.load(std::memory_order_acquire) != 0) {
          free[0].store(1, std::memory_order_release);
          continue;
        }
        *slot = s;
        return true;
      }
    }
    return false;
  }
  void Give(uint32_t slot) {
    if (slot == 0 && sole_busy.load(std::memory_order_relaxed) != 0 && sole.load(std::memory_order_relaxed) == Me())
      sole_busy.store(0, std::memory_order_release);  // the sole caller's take
    else
      free[slot].store(1, std::memory_order_release);
    // Without a fence between the store and this load, a waiter that registers at this very
    // moment may be missed; waiters therefore also look again every kPoll.
    if (waiters.load(std::memory_order_relaxed) != 0) WakeWaiter();
  }
  [[gnu::noinline, gnu::cold]] void WakeWaiter() {
    std::lock_guard<std::mutex> lock(mu);
    cv.notify_one();
  }
  // The first thread to call becomes the sole caller.
  [[gnu::noinline]] bool ClaimSole() {
    const void* none = nullptr;
    return sole.compare_exchange_strong(none, Me(), std::memory_order_relaxed) || none == Me();
  }
  // Another thread has come: from now on every take is a compare-and-swap. Returns once the
  // barrier has run (whichever thread ran it).
  [[gnu::noinline, gnu::cold]] void Share() {
    std::lock_guard<std::mutex> lock(share_mu);
    if (shared.load(std::memory_order_relaxed) == kShared) return;
    shared.store(kAnnounced, std::memory_order_seq_cst);
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) {
      // Registered, so this should not fail (ENOMEM, or a seccomp filter installed since). A
      // heuristic stands in for the barrier: a store leaves a CPU's store buffer within
      // nanoseconds, so a call the sole caller began before shows in `sole_busy` well within
      // this wait.
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    shared.store(kShared, std::memory_order_release);
  }

  static constexpr std::chrono::milliseconds kPoll{1};
  std::vector<std::atomic<uint8_t>> free;  // 1 = the slot is free
  std::atomic<uint32_t> waiters{0};
  std::mutex mu;
  std::condition_variable cv;
  bool biased = false;                     // membarrier registered: a sole caller may skip the CAS
  std::atomic<const void*> sole{nullptr};  // the first thread that called (Me())
  std::atomic<uint8_t> sole_busy{0};       // the sole caller holds slot 0 without having taken `free[0]`
  std::atomic<uint8_t> shared{kSole};      // kSole, kAnnounced (barrier running), kShared
  std::mutex share_mu;
};

namespace {

// Each thread's call buffers: a request/reply pair per nesting level (a call made from inside
// an ocall handler is one level deeper), kept for the next call at that level.
struct Level {
  abi::Buffer request;
  abi::Buffer reply;
  size_t request_hint = 0;  // size of the last request sent from this level
};
struct ThreadBuffers {
  std::vector<std::unique_ptr<Level>> levels;
  size_t depth = 0;
};
thread_local ThreadBuffers t_buffers;

// Very large buffers are freed rather than kept for the life of the thread.
void GiveBack(abi::Buffer& b) {
  constexpr size_t kKeep = size_t{16} << 20;
  if (b.capacity() > kKeep) b.Free();
  else b.Clear();
}

// Ocalls in progress on this thread: a nested ecall from inside an ocall re-enters the same
// thread slot, as SGX re-enters the same TCS.
struct ActiveOcall {
  const Enclave* enclave;
  uint32_t slot;
};
thread_local std::vector<ActiveOcall> t_ocalls;

}  // namespace

CallBuffers::CallBuffers() {
  ThreadBuffers& t = t_buffers;
  if (t.levels.size() == t.depth) t.levels.push_back(std::make_unique<Level>());
  Level& level = *t.levels[t.depth++];
  request_ = &level.request;
  reply_ = &level.reply;
  request_hint_ = &level.request_hint;
}

CallBuffers::CallBuffers(Enclave& enclave) : CallBuffers() {
  nested_ = !t_ocalls.empty() && t_ocalls.back().enclave == &enclave;
  if (nested_) {
    slot_ = t_ocalls.back().slot;
  } else {
    Result<uint32_t> slot = enclave.AcquireSlot();
    if (!slot.ok()) {
      slot_status_ = slot.status();
      return;
    }
    slot_ = *slot;
  }
  enclave_ = &enclave;
  std::span<uint8_t> region = enclave.backend_->RequestRegion(slot_, *request_hint_);
  if (!region.empty()) request_->Borrow(region.data(), region.size());
}

CallBuffers::~CallBuffers() {
  // Whatever is left of a request in the enclave's or the channel's memory (a call that was
  // not sent, or failed before the receiver took it) is wiped before the slot is free.
  if (request_->borrowed()) {
    request_->Clear();
    request_->Unborrow();
  }
  if (enclave_ != nullptr && !nested_) enclave_->ReleaseSlot(slot_);
  GiveBack(*reply_);
  GiveBack(*request_);
  --t_buffers.depth;
}

namespace {

int32_t HostOcallThunk(void* ctx, uint32_t slot, uint32_t id, uint8_t* in, size_t in_len, uint8_t* out, size_t cap,
                       size_t* out_len) {
  return static_cast<Enclave*>(ctx)->DispatchOcall(slot, id, in, in_len, out, cap, out_len);
}

}  // namespace

Result<BackendKind> ParseBackendKind(std::string_view name) {
  if (name == "auto") return BackendKind::kAuto;
  if (name == "sim") return BackendKind::kSim;
  if (name == "soft") return BackendKind::kSoft;
  return InvalidArgument("unknown backend '" + std::string(name) + "': use auto, sim or soft");
}

std::string_view BackendName(BackendKind kind) {
  switch (kind) {
    case BackendKind::kAuto: return "auto";
    case BackendKind::kSim: return "sim";
    case BackendKind::kSoft: return "soft";
  }
  return "unknown";
}

Result<std::unique_ptr<Enclave>> Enclave::Create(const std::string& path, const abi::UntrustedTables& tables,
                                                 const EnclaveOptions& options) {
  CONFIDE_ASSIGN_OR_RETURN(Bytes file, ReadFile(path));
  BackendKind kind = options.backend;
  if (kind == BackendKind::kAuto) kind = SoftBackendAvailable() ? BackendKind::kSoft : BackendKind::kSim;
  // Any changed byte is refused here, before anything is launched. On soft the platform
  // daemon also recomputes MRENCLAVE and refuses the launch unless it equals the signed one
  // (the identity below), so this side skips that (~1 ms for a 1 MiB image); on sim this
  // is the only check, and a full one.
  auto verified = kind == BackendKind::kSoft ? image::LoadAndVerifyExceptMeasurement(file) : image::LoadAndVerify(file);
  if (!verified.ok()) return verified.status().WithContext("refusing enclave image '" + path + "'");
  const image::SignedImage& img = *verified;
  if (options.refuse_debug && img.config.debug)
    return PolicyViolation("refusing enclave image '" + path +
                           "': it is signed with Debug=1 and the launch policy refuses debug enclaves");

  std::unique_ptr<Enclave> e(new Enclave());
  e->identity_ = EnclaveIdentity{img.mrenclave, img.mrsigner, img.config};
  e->backend_kind_ = kind;
  e->tables_ = tables;
  e->slot_wait_ = options.slot_wait;
  e->slots_ = std::make_unique<SlotPool>(static_cast<uint32_t>(img.config.num_tcs));
  e->host_ = confide_host_v1{abi::kAbiVersion, e.get(), HostOcallThunk, nullptr, nullptr, 0};
  if (kind == BackendKind::kSoft) {
    SoftOptions soft{options.channel_slot_bytes, options.switchless, tables.ecall_switchless, tables.ecall_count,
                     options.refuse_debug, options.channel_demote};
    CONFIDE_ASSIGN_OR_RETURN(e->backend_, CreateSoftBackend(file, img, &e->host_, soft));
  } else {
    CONFIDE_ASSIGN_OR_RETURN(e->backend_, CreateSimBackend(img, &e->host_));
  }
  return e;
}

Enclave::~Enclave() = default;

int Enclave::process_id() const { return backend_ ? backend_->process_id() : 0; }
bool Enclave::development() const { return !backend_ || backend_->development(); }

Result<uint32_t> Enclave::AcquireSlot() {
  uint32_t slot;
  if (slots_->TryTake(&slot)) return slot;
  bool got = false;
  if (slot_wait_.count() > 0) {
    const auto deadline = std::chrono::steady_clock::now() + slot_wait_;
    slots_->waiters.fetch_add(1, std::memory_order_seq_cst);
    std::unique_lock<std::mutex> lock(slots_->mu);
    while (!(got = slots_->TryTake(&slot))) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      slots_->cv.wait_for(lock, std::min<std::chrono::steady_clock::duration>(deadline - now, SlotPool::kPoll));
    }
    slots_->waiters.fetch_sub(1, std::memory_order_relaxed);
  }
  if (!got)
    return Status(Code::kUnavailable, "all " + std::to_string(identity_.config.num_tcs) +
                                          " thread slots (NumTCS) are busy; raise NumTCS in the enclave config "
                                          "or set EnclaveOptions::slot_wait to wait for one");
  return slot;
}

void Enclave::ReleaseSlot(uint32_t slot) { slots_->Give(slot); }

template <typename Fn>
Status Enclave::OnSlot(Fn call) {
  // A nested ecall from inside an ocall re-enters the same thread slot.
  if (!t_ocalls.empty() && t_ocalls.back().enclave == this) {
    call(t_ocalls.back().slot);
    return Status::Ok();
  }
  uint32_t slot;
  if (!slots_->TryTake(&slot)) {  // inline first: AcquireSlot's Result costs the common case
    CONFIDE_ASSIGN_OR_RETURN(slot, AcquireSlot());
  }
  call(slot);
  slots_->Give(slot);  // ReleaseSlot's body, inline here on the call path
  return Status::Ok();
}

Status Enclave::Send(uint32_t id, uint8_t* in, size_t in_len, uint8_t* out, size_t cap, size_t* out_len,
                     int32_t* code) {
  *out_len = 0;
  CONFIDE_RETURN_IF_ERROR(OnSlot([&](uint32_t slot) { *code = backend_->Ecall(slot, id, in, in_len, out, cap, out_len); }));
  *out_len = std::min(*out_len, cap);
  return Status::Ok();
}

Status Enclave::CallError(uint32_t id, int32_t code, ByteSpan message) const {
  std::string name = id < tables_.ecall_count ? tables_.ecall_names[id] : "#" + std::to_string(id);
  return abi::StatusFromAbi(code, "ecall '" + name + "': " + ToString(message));
}

// Room for an error message even when the reply itself is tiny.
constexpr size_t kMinReplyRoom = 1024;

Result<Bytes> Enclave::Call(uint32_t id, Bytes request, size_t reply_capacity) {
  // Not zero-filled: only the `len` bytes the backend wrote are kept.
  size_t room = std::max(reply_capacity, kMinReplyRoom);
  std::unique_ptr<uint8_t[]> buffer(new uint8_t[room]);
  size_t len = 0;
  int32_t code = 0;
  CONFIDE_RETURN_IF_ERROR(Send(id, request.data(), request.size(), buffer.get(), room, &len, &code));
  Bytes reply(buffer.get(), buffer.get() + len);
  if (code != 0) return CallError(id, code, reply);
  return reply;
}

Status Enclave::Call(uint32_t id, abi::FrameWriter& request, size_t reply_capacity, abi::Buffer& reply) {
  std::span<uint8_t> frame = request.Frame();
  reply.Resize(std::max(reply_capacity, kMinReplyRoom));
  size_t len = 0;
  int32_t code = 0;
  Status sent = Send(id, frame.data(), frame.size(), reply.data(), reply.size(), &len, &code);
  reply.Resize(len);
  if (!sent.ok()) return sent;
  // A successful backend wiped the frame once it had copied it (confide_enclave_v1::ecall;
  // soft copies it into the channel and wipes it); after a failure it may not have.
  if (code == 0) request.Forget();
  else return CallError(id, code, reply.span());
  return Status::Ok();
}

Status Enclave::Call(uint32_t id, abi::FrameWriter& request, size_t reply_capacity, CallBuffers& buffers) {
  if (buffers.enclave_ != this) {
    if (!buffers.slot_status_.ok()) return buffers.slot_status_;
    return Call(id, request, reply_capacity, buffers.reply());  // buffers not made for this enclave
  }
  std::span<uint8_t> frame = request.Frame();
  *buffers.request_hint_ = frame.size();
  abi::Buffer& reply = buffers.reply();
  reply.Resize(std::max(reply_capacity, kMinReplyRoom));
  size_t len = 0;
  int32_t code = backend_->Ecall(buffers.slot_, id, frame.data(), frame.size(), reply.data(), reply.size(), &len);
  reply.Resize(std::min(len, reply.size()));
  // As above: the receiver took (and, where it was shared, wiped) the request.
  if (code == 0) request.Forget();
  else return CallError(id, code, reply.span());
  return Status::Ok();
}

Status Enclave::CallValues(uint32_t id, uint8_t* args, size_t args_len, uint8_t* ret, size_t ret_len) {
  uint8_t reply[kMinReplyRoom];  // the return value, or an error's message
  size_t len = 0;
  int32_t code = 0;
  CONFIDE_RETURN_IF_ERROR(
      OnSlot([&](uint32_t slot) { code = backend_->EcallValues(slot, id, args, args_len, reply, sizeof reply, &len); }));
  len = std::min(len, sizeof reply);
  if (code != 0) {
    // What the enclave did not take is wiped here (on soft the channel's copy already is).
    SecureZero(args, args_len);
    return CallError(id, code, ByteSpan(reply, len));
  }
  if (len != ret_len) {
    std::string msg = "the enclave's reply to a value call has " + std::to_string(len) +
                      " bytes; the return value has " + std::to_string(ret_len);
    return CallError(id, static_cast<int32_t>(Code::kInternal),
                     ByteSpan(reinterpret_cast<const uint8_t*>(msg.data()), msg.size()));
  }
  if (ret_len != 0) std::memcpy(ret, reply, ret_len);
  return Status::Ok();
}

int32_t Enclave::DispatchOcall(uint32_t slot, uint32_t id, uint8_t* in, size_t in_len, uint8_t* out, size_t cap,
                               size_t* out_len) {
  *out_len = 0;
  if (id >= tables_.ocall_count)
    return abi::WriteStatus(OutOfRange("ocall id " + std::to_string(id) + " is out of range (the host knows " +
                            std::to_string(tables_.ocall_count) + " ocalls)"),
                 out, cap, out_len);
  const abi::HostOcall& o = tables_.ocalls[id];
  // Parsed from a copy: `in` may be shared with the enclave process.
  CallBuffers frames;
  frames.request().Resize(in_len);
  if (in_len != 0) std::memcpy(frames.request().data(), in, in_len);
  const std::string what = "ocall '" + std::string(o.name) + "'";
  abi::FrameView view;
  Status parsed = abi::FrameView::Parse(frames.request().span(), what, &view);
  if (!parsed.ok()) return abi::WriteStatus(parsed, out, cap, out_len);
  abi::FrameWriter w(frames.reply());
  Status s;
  t_ocalls.push_back(ActiveOcall{this, slot});
  try {
    s = o.handler(view, w);
  } catch (const std::exception& e) {
    s = Internal("ocall '" + std::string(o.name) + "' threw: " + e.what());
  } catch (...) {
    s = Internal("ocall '" + std::string(o.name) + "' threw an exception");
  }
  t_ocalls.pop_back();
  if (!s.ok()) return abi::WriteStatus(s, out, cap, out_len);
  std::span<uint8_t> reply = w.Frame();
  if (reply.size() > cap)
    return abi::WriteStatus(OutOfRange("ocall '" + std::string(o.name) + "' reply of " + std::to_string(reply.size()) +
                            " bytes exceeds the enclave's " + std::to_string(cap) + "-byte buffer"),
                 out, cap, out_len);
  std::memcpy(out, reply.data(), reply.size());
  *out_len = reply.size();
  return 0;
}

}  // namespace confide
