// Generated enclave dispatchers under random frames (DESIGN §5 rule 10).
//
// Links the generated trusted side of tests/codegen/edl/codegen_all.edl (every parameter
// kind: values, bool/enum, buffers in/out/in-out with size and count, strings, wide strings,
// fixed arrays, structs by value, nested deep copy) with its enclave code and the trusted
// runtime. Each input picks an ecall and either
//  - hands a frame straight to its handler from confide_trusted_tables (FrameView::Parse,
//    then the handler: private ecalls included), or
//  - enters through the runtime's entry point, with a fake host whose ocall replies also
//    come from the input, so the generated ocall proxies see hostile replies too.
// The frame is either the raw bytes or built item by item from them, so most inputs get
// past the frame header and exercise the per-parameter checks. Some inputs are value calls
// instead (call_values), with the input's bytes as the arguments.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <vector>

#include "confide/abi.h"
#include "confide/trusted.h"

extern "C" int32_t confide_enclave_start_v1(const confide_host_v1* host, uint32_t num_tcs, confide_enclave_v1* out);

namespace {

using confide::Bytes;
using confide::abi::FrameView;
using confide::abi::FrameWriter;

// What the fake host answers to every ocall of the current input.
const uint8_t* g_reply = nullptr;
size_t g_reply_len = 0;
int g_ocalls = 0;

int32_t FakeHostOcall(void*, uint32_t, uint32_t, uint8_t*, size_t, uint8_t* out, size_t cap, size_t* out_len) {
  // Some enclave code loops on an ocall (park); a real host can stall it too, but the
  // fuzzer must move on.
  if (++g_ocalls > 16) {
    *out_len = 0;
    return static_cast<int32_t>(confide::Code::kUnavailable);
  }
  size_t n = g_reply_len < cap ? g_reply_len : cap;
  if (n) std::memcpy(out, g_reply, n);
  // A host may also claim more than it was offered; the runtime must refuse that.
  *out_len = (g_reply_len > 0 && g_reply[0] == 0xEE) ? cap + 1 : n;
  return 0;
}

confide_host_v1 g_host{confide::abi::kAbiVersion, nullptr, FakeHostOcall, nullptr, nullptr, 0};
confide_enclave_v1 g_entry{};

bool Start() {
  return confide_enclave_start_v1(&g_host, 1, &g_entry) == 0;
}

// Items from the input: kind byte, length byte, payload. Output requests take their
// requested length from 8 input bytes so absurd sizes get tried as well.
Bytes BuildFrame(const uint8_t* d, size_t n) {
  FrameWriter w;
  size_t i = 0;
  int items = 0;
  while (i + 2 <= n && items < 64) {
    uint8_t kind = d[i] % 4, len = d[i + 1];
    i += 2;
    size_t take = len < n - i ? len : n - i;
    switch (kind) {
      case 0: w.Value(d + i, take); i += take; break;
      case 1: w.Buffer(d + i, take); i += take; break;
      case 2: w.Buffer(nullptr, 0); break;
      case 3: {
        uint64_t req = 0;
        size_t k = n - i < 8 ? n - i : 8;
        std::memcpy(&req, d + i, k);
        i += k;
        w.OutRequest(d, req);
        break;
      }
    }
    ++items;
  }
  return w.Finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool started = Start();
  if (!started || size < 4) return 0;
  const confide::abi::TrustedTables& t = confide_trusted_tables;
  uint8_t mode = data[0];
  uint32_t id = data[1] % t.ecall_count;
  size_t reply_len = data[2] | (static_cast<size_t>(data[3]) << 8);
  data += 4;
  size -= 4;
  if (reply_len > size) reply_len = size;
  g_reply = data;
  g_reply_len = reply_len;
  g_ocalls = 0;
  data += reply_len;
  size -= reply_len;

  if (mode & 8) {
    // A value call: the input's bytes as the arguments, usually of the right length so the
    // bool / enum checks and the enclave code see them.
    Bytes args(data, data + size);
    const confide::abi::EcallInfo& e = t.ecalls[id];
    if ((mode & 16) == 0 && e.values != nullptr) args.resize(e.args_bytes);
    uint8_t out[1024];
    size_t cap = (mode & 4) ? 2 : sizeof out;
    size_t len = 0;
    g_entry.call_values(0, id, args.data(), args.size(), out, cap, &len);
    if (len > cap) __builtin_trap();
    return 0;
  }
  Bytes frame = (mode & 1) ? Bytes(data, data + size) : BuildFrame(data, size);
  if (mode & 2) {
    // Through the runtime: admission (private ecalls refused), copy-in and wipe, exception
    // catching, reply capacity.
    static std::vector<uint8_t> out(1 << 20);
    size_t cap = (mode & 4) ? 64 : out.size();
    size_t len = 0;
    g_entry.ecall(0, id, frame.data(), frame.size(), out.data(), cap, &len);
    if (len > cap) __builtin_trap();
    return 0;
  }
  // Straight to the handler. Handlers may read items in place, so the frame is a private,
  // writable copy, as the runtime guarantees.
  auto view = FrameView::Parse(frame, "fuzz");
  if (!view.ok()) return 0;
  FrameWriter reply;
  try {
    confide::Status s = t.ecalls[id].handler(*view, reply);
    if (s.ok()) {
      Bytes r = reply.Finish();
      if (!FrameView::Parse(r, "fuzz reply").ok()) __builtin_trap();  // the dispatcher wrote a bad frame
    }
  } catch (const std::exception&) {
    // thrower: the runtime turns this into kInternal.
  }
  return 0;
}
