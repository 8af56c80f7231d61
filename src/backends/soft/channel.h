// The soft backend's call channel: one shared-memory region (a memfd created by the host,
// mapped by the host and the enclave process), a header, then one slot per thread slot
// (NumTCS). Each slot carries one frame at a time (docs/abi.md) and a state word that both
// sides wait on: spinning first (switchless), then sleeping on a futex.
//
// Everything in here is read by both processes, so the enclave treats every field as
// hostile (it copies frames out before parsing) and the host does the same.
#pragma once

#include <sched.h>
#include <sys/rseq.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "confide/status.h"

namespace confide::soft {

inline constexpr uint32_t kChannelMagic = 0x48434643;  // "CFCH"
// 3: value calls (kValueCall); 4: SlotControl::flags; 5: hot lines (SlotState::kMove);
// 6: the slot thread's back-off in SlotControl::flags
inline constexpr uint32_t kChannelVersion = 6;
// Default bytes of frame data per slot; frames larger than a slot are refused (kOutOfRange).
inline constexpr uint64_t kDefaultSlotDataBytes = 4ull << 20;

enum class EnclaveState : uint32_t {
  kStarting = 0,
  kReady = 1,
  kLost = 2,     // tamper response ran: secrets wiped, reason says why
  kCrashed = 3,  // the enclave process ended on an error (seccomp violation, fault, ...)
  kExited = 4,   // terminated normally
};

enum class SlotState : uint32_t {
  kIdle = 0,          // no call yet (after a call the state stays kEcallReply)
  kEcallRequest = 1,  // host -> enclave: data holds a request frame, call_id the ecall
  kEcallReply = 2,    // enclave -> host: data holds the reply (code 0) or an error message
  kOcallRequest = 3,  // enclave -> host: data holds an ocall request frame, call_id the ocall
  kOcallReply = 4,    // host -> enclave: data holds the ocall reply or error message
  kGone = 5,          // host only: its reaper found the enclave process gone (woken waiters stop)
  kMove = 6,          // host -> enclave, between calls: the slot goes on at hot line call_id
};

struct alignas(64) ChannelHeader {
  uint32_t magic;
  uint32_t version;
  uint32_t num_slots;
  uint32_t reserved;
  uint64_t slot_data_bytes;             // capacity of each slot's data area
  std::atomic<uint32_t> enclave_state;  // EnclaveState; also a futex word for start-up
  uint32_t reserved2;
  char reason[240];                     // NUL-terminated, written by the enclave before kLost/kCrashed
};

// A slot is this control block followed directly by its data area: the control words and the
// first 32 bytes of data share one cache line (the slot's hot line), so an empty call's request
// or reply moves between the two processes as a single line.
//
// The hot line can sit at any of kHotLines places, kHotLineStride bytes apart at the start of
// the slot's region, with the data area following wherever it is. Lines differ in how fast they
// pass between two given cores (on a mesh, the distance to the L3 slice that homes the line,
// which the guest cannot see): the host's HandOffTuner times them and moves a slot to its
// fastest one between calls with kMove. docs/performance.md, "Hot lines", has the figures.
inline constexpr uint32_t kHotLines = 8;
inline constexpr uint32_t kHotLineStride = 512;
// Set in SlotControl::call_id of an ecall request that is a value call
// (confide_enclave_v1::call_values); ecall ids stay below it.
inline constexpr uint32_t kValueCall = 0x80000000u;

// SlotControl::flags, set by the host with each ecall request.
inline constexpr uint16_t kSwitchless = 1;  // the caller asked for switchless: spin longer
inline constexpr uint16_t kDemote = 2;      // publish this call's hand-offs with CLDEMOTE (HandOffTuner)
// Bits 8-15: pauses the slot thread lets pass after its reply before it looks at the slot's line
// again (HandOffTuner; see BackOff). A hint: the slot thread waits at most kMaxBackOffPauses.
inline constexpr unsigned kBackOffShift = 8;
inline constexpr uint32_t kMaxBackOffPauses = 32;

struct SlotControl {
  std::atomic<uint32_t> state;             // SlotState; the futex word
  std::atomic<uint32_t> host_sleeping;     // host is (about to be) in FUTEX_WAIT on state
  std::atomic<uint32_t> enclave_sleeping;  // enclave is (about to be) in FUTEX_WAIT on state
  uint32_t call_id;                        // ecall (| kValueCall) or ocall id
  uint64_t length;                         // bytes of data in use
  int32_t code;                            // confide::Code of a reply; 0 = OK
  uint16_t flags;                          // kSwitchless | kDemote
  uint16_t host_cpu;                       // CPU the host sent the request from (a hint; see SlotMain)
};
static_assert(sizeof(SlotControl) == 32, "the control block and the start of the data share a cache line");

inline constexpr size_t kChannelHeaderBytes = (sizeof(ChannelHeader) + 63) & ~size_t{63};
// Bytes from one slot's region to the next: room for the hot line at its last place and the
// data area after it.
inline constexpr uint64_t SlotStride(uint64_t data_bytes) {
  return ((kHotLines - 1) * kHotLineStride + sizeof(SlotControl) + data_bytes + 63) & ~uint64_t{63};
}

// Byte size of a channel with `num_slots` slots of `slot_data_bytes` each.
size_t ChannelSize(uint32_t num_slots, uint64_t slot_data_bytes);

// A mapped channel; does not own the mapping.
class Channel {
 public:
  Channel() = default;
  Channel(void* base, size_t size) : base_(static_cast<uint8_t*>(base)), size_(size) {}

  // Writes a fresh header and idle slots (host side, before the enclave starts).
  Status Initialise(uint32_t num_slots, uint64_t slot_data_bytes);
  // Checks the header against the mapping size (enclave side) and takes its geometry: a
  // hostile header must not make slot arithmetic reach outside the mapping.
  Status Validate();

  ChannelHeader& header() const { return *reinterpret_cast<ChannelHeader*>(base_); }
  // Slot geometry as of Initialise / Validate: never re-read from the shared header, which
  // the other process can rewrite at any time.
  uint32_t num_slots() const { return num_slots_; }
  uint64_t slot_data_bytes() const { return slot_data_bytes_; }
  // The slot's control block and data area with its hot line at `line` (< kHotLines; callers
  // check a line that came through the channel).
  // Inline: both sides compute them on every call.
  SlotControl& control(uint32_t slot, uint32_t line = 0) const {
    return *reinterpret_cast<SlotControl*>(base_ + kChannelHeaderBytes + slot * SlotStride(slot_data_bytes_) +
                                           line * kHotLineStride);
  }
  uint8_t* data(uint32_t slot, uint32_t line = 0) const {
    return reinterpret_cast<uint8_t*>(&control(slot, line)) + sizeof(SlotControl);
  }

 private:
  uint8_t* base_ = nullptr;
  size_t size_ = 0;
  uint32_t num_slots_ = 0;
  uint64_t slot_data_bytes_ = 0;
};

// Which side is waiting: the waiter announces itself in its own *_sleeping word so the other
// side only pays for FUTEX_WAKE when someone sleeps.
enum class Side { kHost, kEnclave };

struct WaitPolicy {
  uint32_t spin_ns = 2000;      // busy-wait this long before sleeping
  // Sleep at most this long before calling `alive`; 0 sleeps until woken, for a waiter whom
  // something else wakes when the other side dies (the host's reaper, the enclave's watchdog).
  uint32_t check_ms = 20;
};

// Futex helpers on a word in shared (not private) memory.
void FutexWake(std::atomic<uint32_t>& word);
// Returns after a wake, a spurious wake-up, or `timeout_ms` (0: no timeout).
void FutexWait(std::atomic<uint32_t>& word, uint32_t expected, uint32_t timeout_ms);
uint64_t MonotonicNs();

// The CPU the calling thread runs on, as sched_getcpu() says: read from the thread's rseq area,
// which the kernel keeps current, where glibc registered one (a load, where sched_getcpu is a
// call of ~3 ns on the call path).
inline int CurrentCpu() {
  if (__rseq_size != 0) {
    const auto* rs = reinterpret_cast<const volatile struct rseq*>(static_cast<const char*>(__builtin_thread_pointer()) +
                                                                   __rseq_offset);
    const auto cpu = static_cast<int32_t>(rs->cpu_id);
    if (cpu >= 0) return cpu;
  }
  return sched_getcpu();
}

// Whether the calling thread runs on the CPU the host sent the slot's last request from
// (SlotControl::host_cpu, read with the request; -1 before the first). A slot thread there must
// not spin: waking it preempted the host, which cannot send anything while it spins.
inline bool OnHostCpu(int host_cpu) { return host_cpu >= 0 && host_cpu == CurrentCpu(); }

inline void CpuRelax() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}

// The pause after publishing, before a side waits for the other's answer on the same line. A
// spinning side reads the line as soon as the other side has taken it to read the news: the
// line is then shared again, and the other side's answer has to take it back (one more transfer
// between the cores) before it can be stored. Waiting about as long as the other side needs to
// read, act and answer lets its stores find the line still its own. The right wait depends on
// the software on both sides, so HandOffTuner measures a few (docs/performance.md, "Back-off").
inline void BackOff(uint32_t pauses) {
  for (uint32_t i = 0; i < pauses; ++i) CpuRelax();
}
// The slot thread's back-off a request's flags ask for, bounded.
inline uint32_t SlotBackOff(uint16_t flags) {
  uint32_t pauses = flags >> kBackOffShift;
  return pauses < kMaxBackOffPauses ? pauses : kMaxBackOffPauses;
}

// Waits until `pred(state)` holds for the slot's state, spinning then sleeping. Every
// `check_ms` (and after any wake-up that does not satisfy `pred`) it calls `alive()`; when
// that returns a non-OK Status, the wait ends with it. `*slept` (when given) is set if the
// wait went to sleep. Inline, with the predicate inlined: an answer that arrives while
// spinning is seen within a pause or two. The clock is first read after a first round of
// spinning (~64 pauses), so a quick answer costs no clock read.
template <typename Pred, typename Alive>
Status WaitForState(SlotControl& c, Side side, const WaitPolicy& policy, Pred pred, Alive alive,
                    bool* slept = nullptr) {
  auto state = [&] { return static_cast<SlotState>(c.state.load(std::memory_order_acquire)); };
  if (pred(state())) return Status::Ok();
  if (policy.spin_ns != 0) {
    uint64_t until = 0;
    for (;;) {
      for (int i = 0; i < 64; ++i) {
        if (pred(state())) return Status::Ok();
        CpuRelax();
      }
      uint64_t now = MonotonicNs();
      if (until == 0) until = now + policy.spin_ns;
      else if (now >= until) break;
    }
  }
  std::atomic<uint32_t>& sleeping = side == Side::kHost ? c.host_sleeping : c.enclave_sleeping;
  if (slept != nullptr) *slept = true;
  for (;;) {
    sleeping.store(1, std::memory_order_seq_cst);
    uint32_t seen = c.state.load(std::memory_order_seq_cst);
    if (pred(static_cast<SlotState>(seen))) {
      sleeping.store(0, std::memory_order_relaxed);
      return Status::Ok();
    }
    FutexWait(c.state, seen, policy.check_ms);
    sleeping.store(0, std::memory_order_relaxed);
    if (pred(state())) return Status::Ok();
    Status s = alive();
    if (!s.ok()) return s;
  }
}
// Publishes a new state and wakes the other side if it sleeps. Returns whether it had to
// wake it: then the other side needs a wake-up latency before it answers, so spinning for
// its answer is wasted. Inline: the caller's stores to the slot's line and this one then
// follow each other with no call between them (see SlotControl).
//   - The state is a plain store, so it leaves the store buffer together with the caller's
//     stores once this core owns the line. (As an `xchg` it waited for them and then, when
//     the other side's spinning had read the line meanwhile, for the line once more.)
//   - The fence orders it before the load of the other side's sleeping flag: the Dekker
//     handshake with WaitForState, which sets its flag before it reads the state.
//   - With `demote`, CLDEMOTE pushes the line from this core's caches to the shared L3, where
//     the other side's next read finds it without snooping this core: the host's HandOffTuner
//     decides (it loses when both sides run on SMT siblings). It is a hint: a NOP on CPUs
//     without it (0F 1C is in the reserved-NOP space on Intel and AMD, like ENDBR64).
//     docs/performance.md, "The hand-off's cache line", has what each step saves.
inline bool PublishState(SlotControl& c, Side side, SlotState s, bool demote) {
  c.state.store(static_cast<uint32_t>(s), std::memory_order_release);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  std::atomic<uint32_t>& other = side == Side::kHost ? c.enclave_sleeping : c.host_sleeping;
  bool asleep = other.load(std::memory_order_seq_cst) != 0;
#if defined(__x86_64__)
  if (demote) asm volatile("cldemote %0" : : "m"(*reinterpret_cast<const volatile char*>(&c)));
#endif
  if (!asleep) return false;
  FutexWake(c.state);
  return true;
}

}  // namespace confide::soft
