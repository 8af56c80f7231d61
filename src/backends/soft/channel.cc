#include "backends/soft/channel.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace confide::soft {
uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

size_t ChannelSize(uint32_t num_slots, uint64_t slot_data_bytes) {
  return kChannelHeaderBytes + static_cast<size_t>(num_slots) * SlotStride(slot_data_bytes);
}

Status Channel::Initialise(uint32_t num_slots, uint64_t slot_data_bytes) {
  if (ChannelSize(num_slots, slot_data_bytes) > size_)
    return InvalidArgument("channel mapping is too small for " + std::to_string(num_slots) + " slots");
  ChannelHeader& h = header();
  std::memset(static_cast<void*>(&h), 0, sizeof h);
  h.magic = kChannelMagic;
  h.version = kChannelVersion;
  h.num_slots = num_slots;
  h.slot_data_bytes = slot_data_bytes;
  h.enclave_state.store(static_cast<uint32_t>(EnclaveState::kStarting));
  num_slots_ = num_slots;
  slot_data_bytes_ = slot_data_bytes;
  // Line 0 of each slot; the host makes another line ready when it moves a slot there.
  for (uint32_t i = 0; i < num_slots; ++i) {
    SlotControl& c = control(i);
    std::memset(static_cast<void*>(&c), 0, sizeof c);
    c.state.store(static_cast<uint32_t>(SlotState::kIdle));
  }
  return Status::Ok();
}

Status Channel::Validate() {
  if (size_ < kChannelHeaderBytes) return InvalidArgument("call channel is smaller than its header");
  const ChannelHeader& h = header();
  // One read of each field: what is checked is what is used.
  uint32_t magic = h.magic, version = h.version, slots = h.num_slots;
  uint64_t bytes = h.slot_data_bytes;
  if (magic != kChannelMagic || version != kChannelVersion)
    return InvalidArgument("call channel has a bad magic or version");
  if (slots == 0 || slots > 1024 || bytes == 0 || bytes > (1ull << 32))
    return InvalidArgument("call channel header has out-of-range slot counts or sizes");
  if (ChannelSize(slots, bytes) > size_)
    return InvalidArgument("call channel header describes more slots than the mapping holds");
  num_slots_ = slots;
  slot_data_bytes_ = bytes;
  return Status::Ok();
}

void FutexWake(std::atomic<uint32_t>& word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE, INT32_MAX, nullptr, nullptr, 0);
}

void FutexWait(std::atomic<uint32_t>& word, uint32_t expected, uint32_t timeout_ms) {
  // An untimed wait also saves arming and cancelling a timer (~1 us on a VM) per sleep.
  timespec ts{static_cast<time_t>(timeout_ms / 1000), static_cast<long>(timeout_ms % 1000) * 1000000L};
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT, expected, timeout_ms != 0 ? &ts : nullptr,
          nullptr, 0);
}

}  // namespace confide::soft
