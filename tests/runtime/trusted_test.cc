// The trusted runtime against a host that breaks the rules: it is the enclave's own checks,
// not the host library's, that must hold (DESIGN §5 rules 5 and 6).
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstring>

#include "confide/abi.h"

using namespace confide;
using namespace confide::abi;

namespace {

// A host that claims to have written more than the enclave offered.
int32_t LyingHost(void*, uint32_t, uint32_t, uint8_t*, size_t, uint8_t* out, size_t cap, size_t* out_len) {
  std::memset(out, 0x41, cap);
  *out_len = cap + 100;
  return 0;
}

struct Loaded {
  void* handle = nullptr;
  confide_enclave_v1 entry{};
  ~Loaded() {
    if (entry.terminate) entry.terminate();
    if (handle) dlclose(handle);
  }
};

// Loads the signed test enclave directly (the trailer after the ELF does not disturb dlopen).
void Start(Loaded& l, const confide_host_v1* host, uint32_t num_tcs, int32_t* rc) {
  l.handle = dlopen(RAW_ENCLAVE, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(l.handle, nullptr) << dlerror();
  auto start = reinterpret_cast<confide_enclave_start_v1_fn>(dlsym(l.handle, "confide_enclave_start_v1"));
  ASSERT_NE(start, nullptr);
  *rc = start(host, num_tcs, &l.entry);
}

Status Ecall(Loaded& l, uint32_t slot, uint32_t id, Bytes req) {
  Bytes out(1024);
  size_t len = 0;
  int32_t rc = l.entry.ecall(slot, id, req.data(), req.size(), out.data(), out.size(), &len);
  if (rc == 0) return Status::Ok();
  return Status(static_cast<Code>(rc), std::string(out.begin(), out.begin() + static_cast<long>(len)));
}

Bytes CallHostFrame(uint32_t ocall_id) {
  FrameWriter w;
  w.Value(ocall_id);
  return w.Finish();
}

TEST(TrustedRuntime, RefusesAHostThatReportsMoreThanItWasOffered) {
  confide_host_v1 host{kAbiVersion, nullptr, LyingHost, nullptr, nullptr, 0};
  Loaded l;
  int32_t rc = -1;
  Start(l, &host, 1, &rc);
  ASSERT_EQ(rc, 0);
  Status s = Ecall(l, 0, /*call_host*/ 2, CallHostFrame(1));
  EXPECT_EQ(s.code(), Code::kOutOfRange);
  EXPECT_NE(s.message().find("the host reported a 1124-byte reply for a 64-byte buffer"), std::string::npos) << s.message();
}

TEST(TrustedRuntime, ChecksSlotBoundsAndRefusesCallsAfterTerminate) {
  confide_host_v1 host{kAbiVersion, nullptr, LyingHost, nullptr, nullptr, 0};
  Loaded l;
  int32_t rc = -1;
  Start(l, &host, 2, &rc);
  ASSERT_EQ(rc, 0);
  FrameWriter w;
  w.Buffer("a", 2);
  Status s = Ecall(l, 2, 0, w.Finish());
  EXPECT_EQ(s.code(), Code::kOutOfRange);
  EXPECT_NE(s.message().find("thread slot 2 is out of range (NumTCS is 2)"), std::string::npos);
  l.entry.terminate();
  s = Ecall(l, 0, 0, CallHostFrame(0));
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_NE(s.message().find("not initialised or was terminated"), std::string::npos);
  l.entry.terminate = nullptr;
}

// A loader whose slots each have a thread of their own (soft) says so, and the runtime then
// marks a slot busy without an atomic read-modify-write: what it admits must not change.
confide_enclave_v1* g_reentered = nullptr;
Status g_allowed, g_not_allowed;
int32_t ReenteringHost(void*, uint32_t slot, uint32_t, uint8_t*, size_t, uint8_t* out, size_t cap, size_t* out_len) {
  auto call = [&](uint32_t id) {
    FrameWriter w;
    w.Buffer("x", 1);
    Bytes req = w.Finish();
    Bytes reply(256);
    size_t len = 0;
    int32_t rc = g_reentered->ecall(slot, id, req.data(), req.size(), reply.data(), reply.size(), &len);
    return rc == 0 ? Status::Ok() : Status(static_cast<Code>(rc), std::string(reply.begin(), reply.begin() + static_cast<long>(len)));
  };
  g_allowed = call(1);      // "secret": private, in host_reenter's allow list
  g_not_allowed = call(0);  // "echo": public, not in it
  FrameWriter w;
  w.Value<int32_t>(9);
  Bytes r = w.Finish();
  if (r.size() > cap) return static_cast<int32_t>(Code::kOutOfRange);
  std::memcpy(out, r.data(), r.size());
  *out_len = r.size();
  return 0;
}

TEST(TrustedRuntime, DedicatedSlotsAdmitWhatSharedSlotsAdmit) {
  confide_host_v1 host{kAbiVersion, nullptr, ReenteringHost, nullptr, nullptr, CONFIDE_HOST_DEDICATED_SLOTS};
  Loaded l;
  int32_t rc = -1;
  Start(l, &host, 1, &rc);
  ASSERT_EQ(rc, 0);
  g_reentered = &l.entry;
  EXPECT_TRUE(Ecall(l, 0, /*call_host*/ 2, CallHostFrame(/*host_reenter*/ 0)).ok());
  EXPECT_TRUE(g_allowed.ok()) << g_allowed.message();
  EXPECT_EQ(g_not_allowed.code(), Code::kPermissionDenied);
  EXPECT_NE(g_not_allowed.message().find("may not be called during ocall 'host_reenter'"), std::string::npos)
      << g_not_allowed.message();
  // The slot is free again after the call, and a private ecall stays private at the top.
  FrameWriter w;
  w.Buffer("a", 2);
  EXPECT_TRUE(Ecall(l, 0, /*echo*/ 0, w.Finish()).ok());
  Status s = Ecall(l, 0, /*secret*/ 1, CallHostFrame(0));
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_NE(s.message().find("is private"), std::string::npos) << s.message();
  g_reentered = nullptr;
}

TEST(TrustedRuntime, RefusesWrongAbiVersionAndSlotCounts) {
  confide_host_v1 old_host{kAbiVersion + 1, nullptr, LyingHost, nullptr, nullptr, 0};
  Loaded a;
  int32_t rc = 0;
  Start(a, &old_host, 1, &rc);
  EXPECT_EQ(rc, static_cast<int32_t>(Code::kUnsupported));
  confide_host_v1 host{kAbiVersion, nullptr, LyingHost, nullptr, nullptr, 0};
  Start(a, &host, 0, &rc);
  EXPECT_EQ(rc, static_cast<int32_t>(Code::kOutOfRange));
  Start(a, &host, 5000, &rc);
  EXPECT_EQ(rc, static_cast<int32_t>(Code::kOutOfRange));
}

TEST(TrustedRuntime, WipesTheCallersRequestBufferAfterCopyingIt) {
  confide_host_v1 host{kAbiVersion, nullptr, LyingHost, nullptr, nullptr, 0};
  Loaded l;
  int32_t rc = -1;
  Start(l, &host, 1, &rc);
  ASSERT_EQ(rc, 0);
  FrameWriter w;
  w.Buffer("top-secret", 11);
  Bytes req = w.Finish();
  Bytes out(256);
  size_t len = 0;
  ASSERT_EQ(l.entry.ecall(0, 0, req.data(), req.size(), out.data(), out.size(), &len), 0);
  EXPECT_EQ(std::count(req.begin(), req.end(), 0), static_cast<long>(req.size()));

  // Small frames are wiped together with the reply, large ones while they are copied: both
  // are gone when the call returns, and the reply is intact.
  for (size_t n : {size_t{4000}, size_t{64 * 1024}}) {
    std::string text(n - 1, 's');
    FrameWriter big;
    big.Buffer(text.c_str(), n);
    Bytes frame = big.Finish();
    Bytes reply(n + 256);
    ASSERT_EQ(l.entry.ecall(0, 0, frame.data(), frame.size(), reply.data(), reply.size(), &len), 0) << n;
    EXPECT_EQ(std::count(frame.begin(), frame.end(), 0), static_cast<long>(frame.size())) << n;
    auto v = FrameView::Parse(ByteSpan(reply.data(), len), "echo reply");
    ASSERT_TRUE(v.ok()) << v.status().message();
    ByteSpan b;
    ASSERT_TRUE(v->GetBuffer(0, "text", n, false, &b).ok());
    EXPECT_EQ(std::string(b.begin(), b.end() - 1), text);
  }
}

// request_buffer (sim's in-place path): a frame written into the enclave's own buffer runs
// without a copy; one that claims more bytes than that buffer holds is refused, not read past.
TEST(TrustedRuntime, RunsAFrameWrittenIntoItsRequestBufferAndRefusesOneThatOverrunsIt) {
  confide_host_v1 host{kAbiVersion, nullptr, LyingHost, nullptr, nullptr, 0};
  Loaded l;
  int32_t rc = -1;
  Start(l, &host, 2, &rc);
  ASSERT_EQ(rc, 0);
  ASSERT_NE(l.entry.request_buffer, nullptr);
  FrameWriter w;
  w.Buffer("in-place", 9);
  Bytes req = w.Finish();
  uint8_t* buf = nullptr;
  size_t cap = 0;
  ASSERT_EQ(l.entry.request_buffer(1, req.size(), &buf, &cap), 0);
  ASSERT_NE(buf, nullptr);
  ASSERT_GE(cap, req.size());
  std::memcpy(buf, req.data(), req.size());
  Bytes out(256);
  size_t len = 0;
  ASSERT_EQ(l.entry.ecall(1, 0, buf, req.size(), out.data(), out.size(), &len), 0);
  auto v = FrameView::Parse(ByteSpan(out.data(), len), "echo reply");
  ASSERT_TRUE(v.ok()) << v.status().message();
  ByteSpan b;
  ASSERT_TRUE(v->GetBuffer(0, "text", 9, false, &b).ok());
  EXPECT_EQ(std::string(b.begin(), b.end() - 1), "in-place");

  ASSERT_EQ(l.entry.request_buffer(1, req.size(), &buf, &cap), 0);
  std::memcpy(buf, req.data(), req.size());
  rc = l.entry.ecall(1, 0, buf, cap + 1, out.data(), out.size(), &len);
  EXPECT_EQ(rc, static_cast<int32_t>(Code::kOutOfRange));
  EXPECT_NE(std::string(out.begin(), out.begin() + static_cast<long>(len)).find("overruns the enclave buffer"),
            std::string::npos);
  // The slot is free again after the refusal.
  EXPECT_EQ(l.entry.ecall(1, 0, req.data(), req.size(), out.data(), out.size(), &len), 0);

  EXPECT_EQ(l.entry.request_buffer(2, 16, &buf, &cap), static_cast<int32_t>(Code::kOutOfRange));
  EXPECT_EQ(l.entry.request_buffer(0, kMaxRequestBufferBytes + 1, &buf, &cap), static_cast<int32_t>(Code::kOutOfRange));
  EXPECT_EQ(buf, nullptr);
}

// Value calls (call_values): the arguments are copied, then wiped where the host put them
// (DESIGN §5 rules 1 and 8), and the checks of a frame's call apply.
TEST(TrustedRuntime, ValueCallsCopyThenWipeTheirArgumentsAndCheckWhatTheyAreGiven) {
  confide_host_v1 host{kAbiVersion, nullptr, LyingHost, nullptr, nullptr, 0};
  Loaded l;
  int32_t rc = -1;
  Start(l, &host, 2, &rc);
  ASSERT_EQ(rc, 0);
  ASSERT_NE(l.entry.call_values, nullptr);
  auto message = [](const uint8_t* out, size_t len) { return std::string(out, out + len); };
  const uint32_t one_ms = 1;
  uint8_t args[4];
  uint8_t out[256];
  size_t len = 0;
  std::memcpy(args, &one_ms, sizeof one_ms);
  ASSERT_EQ(l.entry.call_values(1, /*hold*/ 3, args, 4, out, sizeof out, &len), 0) << message(out, len);
  ASSERT_EQ(len, 4u);
  int32_t slot = -1;
  std::memcpy(&slot, out, sizeof slot);
  EXPECT_EQ(slot, 1);
  EXPECT_EQ(args[0], 0);  // wiped once copied

  std::memcpy(args, &one_ms, sizeof one_ms);
  // No room for the return value: refused (the message is cut to the 2 bytes there are).
  EXPECT_EQ(l.entry.call_values(1, 3, args, 4, out, 2, &len), static_cast<int32_t>(Code::kOutOfRange));
  EXPECT_EQ(message(out, len), "ec");
  EXPECT_EQ(l.entry.call_values(2, 3, args, 4, out, sizeof out, &len), static_cast<int32_t>(Code::kOutOfRange));
  EXPECT_NE(message(out, len).find("thread slot 2 is out of range"), std::string::npos) << message(out, len);
  EXPECT_EQ(l.entry.call_values(0, /*secret*/ 1, args, 0, out, sizeof out, &len),
            static_cast<int32_t>(Code::kInvalidArgument));
  EXPECT_NE(message(out, len).find("takes no value call"), std::string::npos) << message(out, len);
  EXPECT_EQ(l.entry.call_values(0, 3, args, 3, out, sizeof out, &len), static_cast<int32_t>(Code::kInvalidArgument));
  EXPECT_NE(message(out, len).find("carries 3 bytes of arguments, the ecall takes 4"), std::string::npos)
      << message(out, len);
  EXPECT_EQ(l.entry.call_values(0, /*throws*/ 4, args, 0, out, sizeof out, &len), static_cast<int32_t>(Code::kInternal));
  EXPECT_NE(message(out, len).find("threw an exception (boom)"), std::string::npos) << message(out, len);
  // The slots are free again after the refusals and the exception.
  std::memcpy(args, &one_ms, sizeof one_ms);
  EXPECT_EQ(l.entry.call_values(0, 3, args, 4, out, sizeof out, &len), 0) << message(out, len);
}

}  // namespace
