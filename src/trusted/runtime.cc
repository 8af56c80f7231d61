// The trusted runtime: entry point of every enclave image, ecall dispatch with the boundary
// checks of DESIGN §5 (slot and id bounds, private ecalls, allow lists, initialisation),
// copy-in / wipe of request frames, and the ocall path back to the host.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "confide/trusted.h"
#include "trusted/platform_calls.h"

namespace confide::trusted {
namespace {

constexpr uint32_t kMaxTcs = 1024;
// Ecalls running at once on one slot (ecall -> ocall -> ecall ...). Allow lists can form a
// cycle; without a bound, a host re-entering forever runs the enclave thread's stack into
// its guard page. Real programs nest two or three deep.
constexpr uint32_t kMaxNesting = 16;
constexpr size_t kWipeWithReplyBytes = 4096;
constexpr size_t kMaxPlatformReply = 64 * 1024;  // platform_services::kMaxMessageBytes

// One nesting level's frames on a slot: the enclave's private copy of the request and the
// reply being written. Kept between calls, so a warm slot allocates nothing.
struct Frames {
  abi::Buffer request;
  abi::Buffer reply;
};

struct Slot {
  std::atomic<bool> busy{false};  // an ecall runs on this slot
  int32_t in_ocall = -1;          // id of the ocall this slot is waiting in, or -1
  // Nesting (ecall -> ocall -> ecall ...) and the thread running it, written only by that
  // thread; other threads read them to find their own slot (CurrentSlot).
  std::atomic<uint32_t> depth{0};
  std::atomic<const void*> owner{nullptr};
  std::vector<std::unique_ptr<Frames>> frames;  // by depth; entries never move
};

struct Runtime {
  const confide_host_v1* host = nullptr;
  uint32_t num_tcs = 0;
  std::unique_ptr<Slot[]> slots;
  bool dedicated_slots = false;  // CONFIDE_HOST_DEDICATED_SLOTS
  std::atomic<bool> ready{false};
};

Runtime g_rt;
// Which slot this thread last found itself on: a hint for CurrentSlot, which checks it. Calls
// themselves leave it alone: in a dlopen'ed image every access to a thread_local is a call
// to __tls_get_addr, and a switchless call's time is mostly its few hundred instructions.
thread_local int t_slot_hint = -1;

// Built once at start so the call path allocates nothing for error context.
std::vector<std::string> g_ecall_names;

const std::string& EcallName(uint32_t id) { return g_ecall_names[id]; }

// Marks slot `s` busy if it is free. Where each slot has one thread that calls in on it, no
// other thread can race for it, and a plain store does: an atomic read-modify-write waits for
// the store buffer to drain, tens of cycles on the path of every soft switchless call.
[[gnu::always_inline]] inline bool TakeSlot(Slot& s) {
  if (s.busy.load(std::memory_order_relaxed)) return false;
  if (g_rt.dedicated_slots) {
    s.busy.store(true, std::memory_order_relaxed);
    return true;
  }
  bool expected = false;
  return s.busy.compare_exchange_strong(expected, true, std::memory_order_acq_rel);
}

// Decides whether ecall `id` may enter slot `s` now (DESIGN §5 rule 5).
Status Admit(Slot& s, uint32_t id, bool* nested) {
  const abi::EcallInfo& e = confide_trusted_tables.ecalls[id];
  *nested = s.busy.load(std::memory_order_acquire);
  if (!*nested) {
    if (!e.is_public)
      return PermissionDenied(EcallName(id) + " is private: only an ocall that lists it in allow(...) may call it");
    if (!TakeSlot(s)) return Status(Code::kUnavailable, "thread slot is busy with another ecall");
    return Status::Ok();
  }
  if (s.in_ocall < 0)
    return Status(Code::kUnavailable, "thread slot is busy with another ecall (one host thread per slot)");
  const abi::OcallInfo& o = confide_trusted_tables.ocalls[s.in_ocall];
  for (uint32_t i = 0; i < o.allowed_count; ++i) {
    if (o.allowed_ecalls[i] != id) continue;
    if (s.depth.load(std::memory_order_relaxed) >= kMaxNesting)
      return OutOfRange(EcallName(id) + " would be the " + std::to_string(kMaxNesting + 1) +
                        "th ecall nested on this thread (during ocall '" + o.name + "'); at most " +
                        std::to_string(kMaxNesting) + " may run at once: is the host re-entering in a loop?");
    return Status::Ok();
  }
  return PermissionDenied(EcallName(id) + " may not be called during ocall '" + o.name +
                          "': it is not in that ocall's allow(...) list");
}

Frames& FramesAt(Slot& s, uint32_t depth) {
  while (s.frames.size() <= depth) s.frames.push_back(std::make_unique<Frames>());
  return *s.frames[depth];
}

// Runs ecall `id`'s code (`run`: its frame dispatcher or its value handler); exceptions stop here.
template <typename Run>
[[gnu::always_inline]] inline Status Guarded(uint32_t id, Run run) {
  try {
    return run();
  } catch (const std::exception& e) {
    return Internal(EcallName(id) + " threw an exception (" + e.what() + "); exceptions must not leave the enclave");
  } catch (...) {
    return Internal(EcallName(id) + " threw an exception; exceptions must not leave the enclave");
  }
}

// Marks slot `s` busy for one top-level ecall, and free again however the ecall ends.
class Occupy {
 public:
  Occupy(Slot& s, bool nested) : s_(s), nested_(nested) {}
  ~Occupy() {
    if (!nested_) s_.busy.store(false, std::memory_order_release);
  }

 private:
  Slot& s_;
  bool nested_;
};

// Identifies the calling thread without a call (pthread_self is one, through the PLT).
inline const void* ThisThread() { return __builtin_thread_pointer(); }

// One nesting level of a running ecall on slot `s` by this thread, undone however the
// handler ends. The owner is stored before the depth (release): a thread that sees the depth
// also sees whose it is.
class Enter {
 public:
  explicit Enter(Slot& s) : s_(s) {
    s_.owner.store(ThisThread(), std::memory_order_relaxed);
    s_.depth.store(s_.depth.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }
  ~Enter() { s_.depth.store(s_.depth.load(std::memory_order_relaxed) - 1, std::memory_order_release); }

 private:
  Slot& s_;
};

// The checks before either kind of call: the enclave runs, and slot and id are in range.
Status CheckEntry(uint32_t slot, uint32_t id) {
  if (!g_rt.ready.load(std::memory_order_acquire))
    return Status(Code::kUnavailable, "the enclave is not initialised or was terminated");
  if (slot >= g_rt.num_tcs)
    return OutOfRange("thread slot " + std::to_string(slot) + " is out of range (NumTCS is " +
                      std::to_string(g_rt.num_tcs) + ")");
  if (id >= confide_trusted_tables.ecall_count)
    return OutOfRange("ecall id " + std::to_string(id) + " is out of range (the enclave has " +
                      std::to_string(confide_trusted_tables.ecall_count) + " ecalls)");
  return Status::Ok();
}

int32_t Dispatch(uint32_t slot, uint32_t id, uint8_t* in, size_t in_len, uint8_t* out, size_t cap, size_t* out_len) {
  Status entry = CheckEntry(slot, id);
  if (!entry.ok()) return abi::WriteStatus(entry, out, cap, out_len);
  Slot& s = g_rt.slots[slot];
  bool nested = false;
  Status admitted = Admit(s, id, &nested);
  if (!admitted.ok()) return abi::WriteStatus(admitted, out, cap, out_len);
  // Declared first, so it is released last: the slot's frames are free for the next caller
  // only once this call is done with them.
  Occupy occupied(s, nested);

  Frames& f = FramesAt(s, s.depth.load(std::memory_order_relaxed));
  size_t wipe_later = 0;
  if (in != nullptr && in == f.request.data()) {
    // Written in place through request_buffer (sim): already in enclave memory, nothing to wipe.
    if (in_len > f.request.capacity())
      return abi::WriteStatus(OutOfRange("the request frame overruns the enclave buffer it was written to"), out,
                              cap, out_len);
    f.request.Resize(in_len);
  } else {
    f.request.Resize(in_len);
    // Rules 1 and 8: copied into enclave memory, and only the copy is read afterwards (no
    // double fetch); the source is wiped. Large frames are wiped chunk by chunk as they are
    // copied; a small one when the reply is written, in the same burst of stores: on soft the
    // host spins on that cache line, and each separate store to it would move it back.
    if (in_len <= kWipeWithReplyBytes) {
      if (in_len != 0) std::memcpy(f.request.data(), in, in_len);
      wipe_later = in_len;
    } else {
      abi::CopyAndWipe(f.request.data(), in, in_len);
    }
  }
  Status st;
  abi::FrameWriter w(f.reply);
  {
    Enter entered(s);
    abi::FrameView view;
    st = abi::FrameView::Parse(f.request.span(), EcallName(id), &view);
    if (st.ok()) st = Guarded(id, [&] { return confide_trusted_tables.ecalls[id].handler(view, w); });
  }
  // The private copy is kept, unwiped, for the next call at this depth: it holds only bytes
  // the host sent (generated code copies [in,out] and [out] data and struct copies into
  // buffers of their own, wiped when released), and rule 8 is about the shared buffer, which
  // was wiped on the way in.
  f.request.Forget();

  if (wipe_later != 0) SecureZero(in, wipe_later);
  std::span<uint8_t> reply = w.Frame();
  if (st.ok() && reply.size() > cap)
    st = OutOfRange(EcallName(id) + " produced a " + std::to_string(reply.size()) +
                    "-byte reply, larger than the caller's " + std::to_string(cap) + "-byte buffer");
  int32_t code = 0;
  if (st.ok()) {
    std::memcpy(out, reply.data(), reply.size());
    *out_len = reply.size();
  } else {
    code = abi::WriteStatus(st, out, cap, out_len);
  }
  f.reply.Clear();
  return code;
}

// Runs value ecall `e` on slot `s` once it was admitted: its arguments are copied onto this
// thread's stack, which is enclave memory, before anything reads them. Inline, with TakeSlot
// and Guarded, so that CallValues's common case calls out only to the handler (and to copy and
// wipe arguments, where there are any).
[[gnu::always_inline]] inline int32_t RunValues(Slot& s, uint32_t id, const abi::EcallInfo& e, bool nested,
                                                uint8_t* in, size_t in_len, uint8_t* out, size_t cap,
                                                size_t* out_len) {
  Occupy occupied(s, nested);
  alignas(16) uint8_t args[abi::kMaxValueCallBytes];
  alignas(16) uint8_t ret[abi::kMaxValueCallBytes];
  if (in_len != 0) std::memcpy(args, in, in_len);
  Status st;
  {
    Enter entered(s);
    st = Guarded(id, [&] { return e.values(args, ret); });
  }
  // Wiped with the reply, in one burst of stores (see Dispatch).
  if (in_len != 0) SecureZero(in, in_len);
  if (!st.ok()) return abi::WriteStatus(st, out, cap, out_len);
  if (e.ret_bytes != 0) std::memcpy(out, ret, e.ret_bytes);
  *out_len = e.ret_bytes;
  return 0;
}

// A value call (abi::ValueHandler): the checks of Dispatch, without frames, each failure
// with its message. Nested value calls (from inside an ocall) come here too.
[[gnu::noinline, gnu::cold]] int32_t DispatchValues(uint32_t slot, uint32_t id, uint8_t* in, size_t in_len,
                                                    uint8_t* out, size_t cap, size_t* out_len) {
  Status entry = CheckEntry(slot, id);
  if (!entry.ok()) return abi::WriteStatus(entry, out, cap, out_len);
  const abi::EcallInfo& e = confide_trusted_tables.ecalls[id];
  if (e.values == nullptr || e.args_bytes > abi::kMaxValueCallBytes || e.ret_bytes > abi::kMaxValueCallBytes)
    return abi::WriteStatus(InvalidArgument(EcallName(id) + " takes no value call (it has pointer or struct "
                                            "parameters): send it a frame"),
                            out, cap, out_len);
  if (in_len != e.args_bytes)
    return abi::WriteStatus(InvalidArgument(EcallName(id) + ": a value call carries " + std::to_string(in_len) +
                                            " bytes of arguments, the ecall takes " + std::to_string(e.args_bytes)),
                            out, cap, out_len);
  if (cap < e.ret_bytes)
    return abi::WriteStatus(OutOfRange(EcallName(id) + ": the caller's reply buffer of " + std::to_string(cap) +
                                       " bytes cannot hold its " + std::to_string(e.ret_bytes) + "-byte return value"),
                            out, cap, out_len);
  Slot& s = g_rt.slots[slot];
  bool nested = false;
  Status admitted = Admit(s, id, &nested);
  if (!admitted.ok()) return abi::WriteStatus(admitted, out, cap, out_len);
  return RunValues(s, id, e, nested, in, in_len, out, cap, out_len);
}

// The reply of a call that found no heap: `msg` (`n` bytes, built without allocating).
int32_t NoHeap(const char* msg, size_t n, uint8_t* out, size_t cap, size_t* out_len) {
  size_t len = std::min(n, cap);
  if (len != 0) std::memcpy(out, msg, len);
  *out_len = len;
  return static_cast<int32_t>(Code::kOutOfRange);
}

int32_t CallValues(uint32_t slot, uint32_t id, uint8_t* in, size_t in_len, uint8_t* out, size_t cap,
                   size_t* out_len) {
  *out_len = 0;
  try {
    // The common case, a top-level call of a public ecall with the right lengths, is decided
    // here with plain comparisons; DispatchValues makes the same checks again and says which
    // failed. (The switchless call's latency is mostly instructions like these.)
    const abi::TrustedTables& t = confide_trusted_tables;
    if (g_rt.ready.load(std::memory_order_acquire) && slot < g_rt.num_tcs && id < t.ecall_count) {
      const abi::EcallInfo& e = t.ecalls[id];
      Slot& s = g_rt.slots[slot];
      if (e.values != nullptr && e.is_public && in_len == e.args_bytes && e.args_bytes <= abi::kMaxValueCallBytes &&
          e.ret_bytes <= abi::kMaxValueCallBytes && e.ret_bytes <= cap && TakeSlot(s))
        return RunValues(s, id, e, false, in, in_len, out, cap, out_len);
    }
    return DispatchValues(slot, id, in, in_len, out, cap, out_len);
  } catch (const std::bad_alloc&) {
    // Only an error's message allocates here; no heap was left for it.
    static constexpr char kMsg[] = "the enclave ran out of heap memory while reporting an error of this call";
    return NoHeap(kMsg, sizeof kMsg - 1, out, cap, out_len);
  }
}

int32_t Ecall(uint32_t slot, uint32_t id, uint8_t* in, size_t in_len, uint8_t* out, size_t cap, size_t* out_len) {
  *out_len = 0;
  try {
    return Dispatch(slot, id, in, in_len, out, cap, out_len);
  } catch (const std::bad_alloc&) {
    // Most likely the private copy of a request larger than the enclave's free heap. The
    // message is built without allocating. What is left of the request in the caller's
    // buffer is the caller's to wipe (it wipes whatever the enclave did not take).
    char msg[256];
    int n = snprintf(msg, sizeof msg,
                     "the enclave ran out of heap memory for this call (a %zu-byte request frame); raise NumHeapPages "
                     "in the enclave config or pass less data per call",
                     in_len);
    return NoHeap(msg, std::min(static_cast<size_t>(n > 0 ? n : 0), sizeof msg - 1), out, cap, out_len);
  }
}

int32_t RequestBuffer(uint32_t slot, size_t min_len, uint8_t** buffer, size_t* capacity) {
  *buffer = nullptr;
  *capacity = 0;
  if (!g_rt.ready.load(std::memory_order_acquire)) return static_cast<int32_t>(Code::kUnavailable);
  if (slot >= g_rt.num_tcs) return static_cast<int32_t>(Code::kOutOfRange);
  if (min_len > abi::kMaxRequestBufferBytes) return static_cast<int32_t>(Code::kOutOfRange);
  Slot& s = g_rt.slots[slot];
  abi::Buffer& b = FramesAt(s, s.depth.load(std::memory_order_relaxed)).request;
  // Growing keeps nothing: the next request is written from the start.
  b.Forget();
  try {
    b.Resize(min_len);
  } catch (const std::bad_alloc&) {
    return static_cast<int32_t>(Code::kOutOfRange);
  }
  b.Forget();
  *buffer = b.data();
  *capacity = b.capacity();
  return 0;
}

std::atomic<void (*)()> g_on_terminate{nullptr};

void Terminate() {
  g_rt.ready.store(false, std::memory_order_release);
  if (auto wipe = g_on_terminate.load(std::memory_order_acquire)) wipe();
}

Status ValidateTables(const abi::TrustedTables& t) {
  if (t.ecall_count != 0 && t.ecalls == nullptr) return InvalidArgument("ecall table is missing");
  for (uint32_t i = 0; i < t.ecall_count; ++i)
    if (t.ecalls[i].handler == nullptr || t.ecalls[i].name == nullptr)
      return InvalidArgument("ecall table entry " + std::to_string(i) + " is incomplete");
  for (uint32_t i = 0; i < t.ocall_count; ++i)
    for (uint32_t j = 0; j < t.ocalls[i].allowed_count; ++j)
      if (t.ocalls[i].allowed_ecalls[j] >= t.ecall_count)
        return InvalidArgument("ocall '" + std::string(t.ocalls[i].name) + "' allows an unknown ecall id");
  return Status::Ok();
}

}  // namespace

void internal::OnTerminate(void (*wipe)()) { g_on_terminate.store(wipe, std::memory_order_release); }

int CurrentSlot() {
  if (g_rt.slots == nullptr) return -1;
  const void* self = ThisThread();
  auto mine = [&](int i) {
    const Slot& s = g_rt.slots[i];
    return s.depth.load(std::memory_order_acquire) != 0 &&
           s.owner.load(std::memory_order_relaxed) == self;
  };
  int hint = t_slot_hint;
  if (hint >= 0 && static_cast<uint32_t>(hint) < g_rt.num_tcs && mine(hint)) return hint;
  for (uint32_t i = 0; i < g_rt.num_tcs; ++i) {
    if (mine(static_cast<int>(i))) {
      t_slot_hint = static_cast<int>(i);
      return static_cast<int>(i);
    }
  }
  return -1;
}

Result<Bytes> Ocall(uint32_t id, const Bytes& request, size_t reply_capacity) {
  const int slot = CurrentSlot();
  if (slot < 0) return Status(Code::kUnavailable, "ocalls can only be made while an ecall runs");
  if (id >= confide_trusted_tables.ocall_count)
    return OutOfRange("ocall id " + std::to_string(id) + " is out of range");
  const char* name = confide_trusted_tables.ocalls[id].name;
  Slot& s = g_rt.slots[slot];
  int32_t saved = s.in_ocall;
  s.in_ocall = static_cast<int32_t>(id);
  // The host writes into a buffer the enclave owns; its reply is never trusted in place.
  // Error messages may use up to 1 KiB even when the expected reply is smaller.
  Bytes reply(std::max<size_t>(reply_capacity, 1024));
  Bytes req = request;  // the host may wipe what it is given
  size_t len = 0;
  int32_t code = g_rt.host->ocall(g_rt.host->ctx, static_cast<uint32_t>(slot), id, req.data(), req.size(),
                                  reply.data(), reply.size(), &len);
  s.in_ocall = saved;
  if (len > reply.size() || (code == 0 && len > reply_capacity))
    return OutOfRange("ocall '" + std::string(name) + "': the host reported a " + std::to_string(len) +
                      "-byte reply for a " + std::to_string(reply_capacity) + "-byte buffer");
  reply.resize(len);
  if (code != 0) return abi::StatusFromAbi(code, "ocall '" + std::string(name) + "' failed on the host: " + ToString(reply));
  return reply;
}

Result<Bytes> PlatformCall(const Bytes& request) {
  const confide_host_v1* host = g_rt.host;
  if (host == nullptr || host->platform == nullptr)
    return Status(Code::kUnavailable, "this enclave's loader offers no platform services (keys, reports)");
  // The reply lands in enclave memory; the platform may be remote (soft: the daemon).
  Bytes req = request;
  Bytes reply(kMaxPlatformReply);
  size_t len = 0;
  int32_t code = host->platform(host->platform_ctx, req.data(), req.size(), reply.data(), reply.size(), &len);
  if (len > reply.size()) return OutOfRange("the platform reported a reply larger than the buffer it was given");
  reply.resize(len);
  if (code != 0) return abi::StatusFromAbi(code, "platform services: " + ToString(reply));
  return reply;
}

}  // namespace confide::trusted

extern "C" __attribute__((visibility("default"))) int32_t confide_enclave_start_v1(const confide_host_v1* host,
                                                                                  uint32_t num_tcs,
                                                                                  confide_enclave_v1* out) {
  using namespace confide;
  using trusted::g_rt;
  if (host == nullptr || out == nullptr || host->abi_version != abi::kAbiVersion || host->ocall == nullptr)
    return static_cast<int32_t>(Code::kUnsupported);
  if (num_tcs == 0 || num_tcs > trusted::kMaxTcs) return static_cast<int32_t>(Code::kOutOfRange);
  if (g_rt.ready.load()) return static_cast<int32_t>(Code::kAlreadyExists);
  if (!trusted::ValidateTables(confide_trusted_tables).ok()) return static_cast<int32_t>(Code::kInvalidArgument);
  g_rt.host = host;
  g_rt.num_tcs = num_tcs;
  g_rt.dedicated_slots = (host->flags & CONFIDE_HOST_DEDICATED_SLOTS) != 0;
  trusted::g_ecall_names.clear();
  for (uint32_t i = 0; i < confide_trusted_tables.ecall_count; ++i)
    trusted::g_ecall_names.push_back("ecall '" + std::string(confide_trusted_tables.ecalls[i].name) + "'");
  g_rt.slots.reset(new trusted::Slot[num_tcs]);
  out->abi_version = abi::kAbiVersion;
  out->ecall = trusted::Ecall;
  out->terminate = trusted::Terminate;
  out->request_buffer = trusted::RequestBuffer;
  out->call_values = trusted::CallValues;
  g_rt.ready.store(true, std::memory_order_release);
  return 0;
}
