// A test enclave written directly against the ABI (what confide-edger8r generates), so the
// runtime's own checks can be exercised without the code generator.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "confide/trusted.h"
#include "runtime/enclave/basic_handlers.h"

using confide::Bytes;
using confide::Status;
using confide::abi::FrameView;
using confide::abi::FrameWriter;

namespace {

using confide_test_enclave::CallHost;
using confide_test_enclave::Echo;
using confide_test_enclave::Secret;

// The thread slot this call runs on, asked before and after `ms` milliseconds; -2 when the
// two answers differ (another call entering or leaving its slot must not change ours).
int32_t SlotHeldFor(uint32_t ms) {
  int32_t before = confide::trusted::CurrentSlot();
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  int32_t after = confide::trusted::CurrentSlot();
  return before == after ? after : -2;
}

// ecall 3 (public): holds its slot for the given number of milliseconds.
Status Hold(const FrameView& in, FrameWriter& out) {
  uint32_t ms = 0;
  CONFIDE_RETURN_IF_ERROR(in.GetValue(0, "ms", &ms));
  out.Value<int32_t>(SlotHeldFor(ms));
  return Status::Ok();
}

// The same as a value call: a uint32_t of milliseconds in, an int32_t slot out.
Status HoldValues(const uint8_t* args, uint8_t* ret) {
  uint32_t ms = 0;
  std::memcpy(&ms, args, sizeof ms);
  int32_t slot = SlotHeldFor(ms);
  std::memcpy(ret, &slot, sizeof slot);
  return Status::Ok();
}

// ecall 4 (public): throws, which must not cross the boundary.
Status Throws(const FrameView&, FrameWriter&) { throw std::runtime_error("boom"); }
Status ThrowsValues(const uint8_t*, uint8_t*) { throw std::runtime_error("boom"); }

// ecall 5 (public): crashes the enclave (what a bug or an exploited enclave looks like).
Status Crash(const FrameView&, FrameWriter&) { std::abort(); }

const confide::abi::EcallInfo kEcalls[] = {
    {"echo", Echo, true, false},
    {"secret", Secret, false, false},
    {"call_host", CallHost, true, false},
    {"hold", Hold, true, false, HoldValues, 4, 4},
    {"throws", Throws, true, false, ThrowsValues, 0, 0},
    {"crash", Crash, true, false},
};
const uint32_t kAllowSecret[] = {1};
const confide::abi::OcallInfo kOcalls[] = {
    {"host_reenter", kAllowSecret, 1, false},  // may call "secret"
    {"host_plain", nullptr, 0, false},         // may call nothing
    {"host_hostile", nullptr, 0, false},       // replies with more than the enclave asked for
};

}  // namespace

extern "C" const confide::abi::TrustedTables confide_trusted_tables = {kEcalls, 6, kOcalls, 3};
