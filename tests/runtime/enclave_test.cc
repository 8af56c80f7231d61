// The host runtime and the trusted runtime together, on the sim backend, with a test
// enclave written directly against the ABI (tests/runtime/enclave/raw_enclave.cc).
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "confide/enclave.h"

using namespace confide;
using namespace confide::abi;

namespace {

constexpr uint32_t kEcho = 0, kSecret = 1, kCallHost = 2, kHold = 3, kThrows = 4;
constexpr uint32_t kOcallReenter = 0, kOcallPlain = 1, kOcallHostile = 2;

Enclave* g_enclave = nullptr;  // the enclave the host ocalls below call back into
Status g_nested_status;

// Host side of ocall 0 and 1: re-enter the enclave with the private ecall "secret".
Status HostReenter(const FrameView&, FrameWriter& out) {
  FrameWriter req;
  auto reply = g_enclave->Call(kSecret, req.Finish(), 64);
  g_nested_status = reply.status();
  if (!reply.ok()) return reply.status();
  CONFIDE_ASSIGN_OR_RETURN(FrameView v, FrameView::Parse(*reply, "secret reply"));
  int32_t x = 0;
  CONFIDE_RETURN_IF_ERROR(v.GetValue(0, "ret", &x));
  out.Value(x);
  return Status::Ok();
}
Status HostHostile(const FrameView&, FrameWriter& out) {
  Bytes big(512, 0x41);
  out.Buffer(big.data(), big.size());  // the enclave offered 64 bytes
  return Status::Ok();
}

const HostOcall kOcalls[] = {{"host_reenter", HostReenter}, {"host_plain", HostReenter}, {"host_hostile", HostHostile}};
const char* const kNames[] = {"echo", "secret", "call_host", "hold", "throws", "crash"};
const UntrustedTables kTables = {kOcalls, 3, kNames, 6};

EnclaveOptions Sim() {
  EnclaveOptions o;
  o.backend = BackendKind::kSim;
  return o;
}

std::unique_ptr<Enclave> Load(const char* path, EnclaveOptions opts = {}) {
  opts.backend = BackendKind::kSim;
  auto e = Enclave::Create(path, kTables, opts);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? std::move(e).value() : nullptr;
}

Bytes Frame(auto&&... values) {
  FrameWriter w;
  (w.Value(values), ...);
  return w.Finish();
}

int32_t ReplyInt(const Result<Bytes>& r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return -1;
  auto v = FrameView::Parse(*r, "reply");
  int32_t x = -1;
  EXPECT_TRUE(v.ok() && v->GetValue(0, "ret", &x).ok());
  return x;
}

TEST(Enclave, EchoesThroughTheBoundaryAndWipesTheRequest) {
  auto e = Load(RAW_ENCLAVE);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->backend(), BackendKind::kSim);
  EXPECT_EQ(e->identity().config.num_tcs, 2u);
  FrameWriter w;
  w.Buffer("secret\0", 7);
  Bytes req = w.Finish();
  auto r = e->Call(kEcho, req, 256);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto v = FrameView::Parse(*r, "reply");
  ASSERT_TRUE(v.ok());
  ByteSpan b;
  ASSERT_TRUE(v->GetBuffer(0, "text", 7, false, &b).ok());
  EXPECT_EQ(std::memcmp(b.data(), "secret", 7), 0);
}

TEST(Enclave, ErrorsFromInsideTheEnclaveKeepTheirCodeAndMeaning) {
  auto e = Load(RAW_ENCLAVE);
  ASSERT_TRUE(e);
  FrameWriter w;
  w.Buffer("no terminator", 13);
  auto r = e->Call(kEcho, w.Finish(), 256);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("ecall 'echo'"), std::string::npos);
  EXPECT_NE(r.status().message().find("'text' is not terminated"), std::string::npos);
}

TEST(Enclave, RefusesOutOfRangeFunctionIds) {
  auto e = Load(RAW_ENCLAVE);
  ASSERT_TRUE(e);
  auto r = e->Call(99, Frame(), 64);
  EXPECT_EQ(r.status().code(), Code::kOutOfRange);
  EXPECT_NE(r.status().message().find("ecall id 99 is out of range (the enclave has 6 ecalls)"), std::string::npos);
}

TEST(Enclave, PrivateEcallIsRefusedAtTopLevel) {
  auto e = Load(RAW_ENCLAVE);
  ASSERT_TRUE(e);
  auto r = e->Call(kSecret, Frame(), 64);
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_NE(r.status().message().find("'secret' is private"), std::string::npos);
}

TEST(Enclave, NestedEcallAllowedByTheOcallRunsOnTheSameSlot) {
  auto e = Load(RAW_ENCLAVE);
  ASSERT_TRUE(e);
  g_enclave = e.get();
  EXPECT_EQ(ReplyInt(e->Call(kCallHost, Frame(kOcallReenter), 64)), 42);
  EXPECT_TRUE(g_nested_status.ok());
}

TEST(Enclave, NestedEcallNotInTheAllowListIsRefused) {
  auto e = Load(RAW_ENCLAVE);
  ASSERT_TRUE(e);
  g_enclave = e.get();
  auto r = e->Call(kCallHost, Frame(kOcallPlain), 64);
  EXPECT_EQ(g_nested_status.code(), Code::kPermissionDenied);
  EXPECT_NE(g_nested_status.message().find("may not be called during ocall 'host_plain'"), std::string::npos);
  // The refusal travels back through the ocall to the outer ecall's caller.
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
}

TEST(Enclave, HostileOcallReplyLargerThanOfferedIsRefused) {
  auto e = Load(RAW_ENCLAVE);
  ASSERT_TRUE(e);
  auto r = e->Call(kCallHost, Frame(kOcallHostile), 64);
  EXPECT_EQ(r.status().code(), Code::kOutOfRange) << r.status().ToString();
  EXPECT_NE(r.status().message().find("the host reported a 544-byte reply for a 64-byte buffer"), std::string::npos) << r.status().ToString();
}

TEST(Enclave, ExceptionsDoNotCrossTheBoundary) {
  auto e = Load(RAW_ENCLAVE);
  ASSERT_TRUE(e);
  auto r = e->Call(kThrows, Frame(), 64);
  EXPECT_EQ(r.status().code(), Code::kInternal);
  EXPECT_NE(r.status().message().find("threw an exception (boom)"), std::string::npos);
}

TEST(Enclave, CallsBeyondNumTcsFailClearlyOrWaitWhenAsked) {
  auto e = Load(RAW_ENCLAVE);  // NumTCS = 2
  ASSERT_TRUE(e);
  std::atomic<int> started{0};
  std::vector<std::thread> holders;
  for (int i = 0; i < 2; ++i)
    holders.emplace_back([&] {
      ++started;
      EXPECT_TRUE(e->Call(kHold, Frame(uint32_t{400}), 64).ok());
    });
  while (started < 2) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto r = e->Call(kHold, Frame(uint32_t{0}), 64);
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("all 2 thread slots (NumTCS) are busy"), std::string::npos);
  for (auto& t : holders) t.join();

  auto w = Load(RAW_ENCLAVE, EnclaveOptions{.slot_wait = std::chrono::milliseconds(5000)});
  ASSERT_TRUE(w);
  std::vector<std::thread> many;
  std::atomic<int> ok{0};
  for (int i = 0; i < 6; ++i)
    many.emplace_back([&] {
      int32_t slot = ReplyInt(w->Call(kHold, Frame(uint32_t{20}), 64));
      if (slot == 0 || slot == 1) ++ok;
    });
  for (auto& t : many) t.join();
  EXPECT_EQ(ok, 6);  // every call got one of the two slots, none waited forever
}

// CurrentSlot (and so every ocall) finds the caller's slot from the slots' owners, not from a
// thread_local: with both slots running at once, each call must see its own, when it starts
// and when it ends (kHold asks at both ends and reports -2 if the answers differ).
TEST(Enclave, ConcurrentCallsEachFindTheirOwnSlot) {
  auto e = Load(RAW_ENCLAVE);  // NumTCS = 2
  ASSERT_TRUE(e);
  for (int round = 0; round < 3; ++round) {
    std::atomic<int> ready{0};
    int32_t by_frame = -1, by_value = -1;
    std::thread frame_caller([&] {
      ++ready;
      while (ready < 2) std::this_thread::yield();
      by_frame = ReplyInt(e->Call(kHold, Frame(uint32_t{200}), 64));
    });
    std::thread value_caller([&] {
      ++ready;
      while (ready < 2) std::this_thread::yield();
      uint32_t ms = 200;
      uint8_t args[4], ret[4];
      std::memcpy(args, &ms, sizeof ms);
      ASSERT_TRUE(e->CallValues(kHold, args, sizeof args, ret, sizeof ret).ok());
      std::memcpy(&by_value, ret, sizeof by_value);
    });
    frame_caller.join();
    value_caller.join();
    EXPECT_TRUE((by_frame == 0 && by_value == 1) || (by_frame == 1 && by_value == 0))
        << "frame call saw slot " << by_frame << ", value call saw slot " << by_value;
  }
}

// While one thread alone has called, it takes slot 0 without a compare-and-swap (SlotPool's
// sole caller). A second thread that comes while that call runs must not get slot 0 too (the
// enclave would refuse it: "thread slot is busy"), and from then on both share the slots.
TEST(Enclave, ASecondCallerNeverGetsTheSlotTheSoleCallerHolds) {
  // The sole caller's path needs membarrier's private expedited command; without it every take
  // is a compare-and-swap and this test would not exercise that path.
  long commands = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  EXPECT_TRUE(commands > 0 && (commands & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) << "membarrier query: " << commands;
  auto e = Load(RAW_ENCLAVE);  // NumTCS = 2
  ASSERT_TRUE(e);
  ASSERT_EQ(ReplyInt(e->Call(kHold, Frame(uint32_t{0}), 64)), 0);  // this thread is the sole caller
  for (int round = 0; round < 2; ++round) {
    // Round 0: this thread holds slot 0 as the sole caller; round 1: by compare-and-swap.
    std::atomic<bool> holding{false};
    int32_t second = -1;
    std::thread other([&] {
      while (!holding) std::this_thread::yield();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // into the call below
      second = ReplyInt(e->Call(kHold, Frame(uint32_t{0}), 64));
    });
    holding = true;
    EXPECT_EQ(ReplyInt(e->Call(kHold, Frame(uint32_t{500}), 64)), 0) << "round " << round;
    other.join();
    EXPECT_EQ(second, 1) << "round " << round;
  }
  // The other way round: a thread that is not the sole caller holds slot 0 now.
  std::atomic<bool> holding{false};
  std::thread other([&] {
    holding = true;
    EXPECT_EQ(ReplyInt(e->Call(kHold, Frame(uint32_t{500}), 64)), 0);
  });
  while (!holding) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(ReplyInt(e->Call(kHold, Frame(uint32_t{0}), 64)), 1);
  other.join();
}

// The sole caller may hold slot 0 in CallBuffers (a generated proxy's) while it makes another
// call: that call takes another slot, as it would by compare-and-swap.
TEST(Enclave, TheSoleCallerHoldingItsSlotInCallBuffersGetsAnotherForACall) {
  auto e = Load(RAW_ENCLAVE);  // NumTCS = 2
  ASSERT_TRUE(e);
  ASSERT_EQ(ReplyInt(e->Call(kHold, Frame(uint32_t{0}), 64)), 0);  // this thread is the sole caller
  {
    CallBuffers held(*e);  // slot 0
    EXPECT_EQ(ReplyInt(e->Call(kHold, Frame(uint32_t{0}), 64)), 1);
    EXPECT_EQ(ReplyInt(e->Call(kHold, Frame(uint32_t{0}), 64)), 1);
  }
  EXPECT_EQ(ReplyInt(e->Call(kHold, Frame(uint32_t{0}), 64)), 0);
}

// Three more threads arriving at once in the middle of the sole caller's stream of calls (the
// first of them runs the barrier while the others wait for it): every call gets a slot of its
// own (a slot given to two would be refused, "thread slot is busy"), and no slot is lost in the
// change (afterwards the lowest slot is free again).
TEST(Enclave, CallsStayCorrectWhileMoreCallersArriveMidStream) {
  auto e = Load(RAW_ENCLAVE, EnclaveOptions{.slot_wait = std::chrono::milliseconds(5000)});  // NumTCS = 2
  ASSERT_TRUE(e);
  constexpr int kCalls = 20000;
  std::atomic<int> first_done{0}, failures{0};
  auto call = [&] {
    uint32_t ms = 0;
    uint8_t args[4], ret[4];
    std::memcpy(args, &ms, sizeof ms);
    int32_t slot = -1;
    Status s = e->CallValues(kHold, args, sizeof args, ret, sizeof ret);
    std::memcpy(&slot, ret, sizeof slot);
    if (!s.ok() || (slot != 0 && slot != 1)) {
      if (failures++ == 0) ADD_FAILURE() << s.ToString() << " slot " << slot;
    }
  };
  std::thread first([&] {
    for (int i = 0; i < kCalls; ++i, ++first_done) call();
  });
  while (first_done < kCalls / 4) std::this_thread::yield();
  std::atomic<bool> go{false};
  std::vector<std::thread> later;
  for (int t = 0; t < 3; ++t)
    later.emplace_back([&] {
      while (!go) std::this_thread::yield();
      for (int i = 0; i < kCalls / 8; ++i) call();
    });
  go = true;
  for (auto& t : later) t.join();
  first.join();
  EXPECT_EQ(failures, 0);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(ReplyInt(e->Call(kHold, Frame(uint32_t{0}), 64)), 0);
}

TEST(Enclave, RefusesImagesThatFailVerificationBeforeRunningThem) {
  auto dir = std::filesystem::temp_directory_path() / ("confide-rt-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto bytes = ReadFile(RAW_ENCLAVE);
  ASSERT_TRUE(bytes.ok());
  Bytes tampered = *bytes;
  tampered[tampered.size() / 3] ^= 0x01;  // inside the code/data, not the trailer
  std::string path = (dir / "tampered.signed.so").string();
  ASSERT_TRUE(WriteFile(path, tampered).ok());
  auto e = Enclave::Create(path, kTables, Sim());
  EXPECT_EQ(e.status().code(), Code::kVerificationFailed);
  EXPECT_NE(e.status().message().find("refusing enclave image"), std::string::npos);

  auto unsigned_so = Enclave::Create(path + ".missing", kTables, Sim());
  EXPECT_EQ(unsigned_so.status().code(), Code::kNotFound);
  std::filesystem::remove_all(dir);
}

TEST(Enclave, RefusesAnImageWithoutTheTrustedRuntimeEntryPoint) {
  auto e = Enclave::Create(NO_ENTRY_ENCLAVE, kTables, Sim());
  EXPECT_EQ(e.status().code(), Code::kInvalidArgument);
  EXPECT_NE(e.status().message().find("no entry point confide_enclave_start_v1"), std::string::npos);
}

TEST(Enclave, LaunchPolicyCanRefuseDebugImages) {
  EnclaveOptions strict = Sim();
  strict.refuse_debug = true;
  auto e = Enclave::Create(RAW_ENCLAVE, kTables, strict);
  EXPECT_EQ(e.status().code(), Code::kPolicyViolation);
  EXPECT_NE(e.status().message().find("Debug=1"), std::string::npos);
  auto release = Enclave::Create(RAW_ENCLAVE_RELEASE, kTables, strict);
  EXPECT_TRUE(release.ok()) << release.status().ToString();
}

TEST(Enclave, BackendNamesParse) {
  EXPECT_EQ(ParseBackendKind("soft").value(), BackendKind::kSoft);
  EXPECT_EQ(ParseBackendKind("sim").value(), BackendKind::kSim);
  EXPECT_EQ(ParseBackendKind("auto").value(), BackendKind::kAuto);
  auto bad = ParseBackendKind("sgx");
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("use auto, sim or soft"), std::string::npos);
}

TEST(Enclave, TwoEnclavesFromOneImageHaveSeparateState) {
  auto a = Load(RAW_ENCLAVE);
  auto b = Load(RAW_ENCLAVE);
  ASSERT_TRUE(a && b);
  a.reset();  // terminating one leaves the other working
  FrameWriter w;
  w.Buffer("x\0", 2);
  EXPECT_TRUE(b->Call(kEcho, w.Finish(), 64).ok());
}

}  // namespace
