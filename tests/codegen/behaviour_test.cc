// Behaviour of the generated code for codegen_all.edl, through the generated host API, on
// a real signed enclave loaded by the sim backend.
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include "all_host.h"

namespace codegen_test {
namespace {

class AllEnclave : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { enclave_ = LoadAll().release(); }
  static void TearDownTestSuite() {
    delete enclave_;
    enclave_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(enclave_, nullptr); }
  confide::Enclave& E() { return *enclave_; }
  static confide::Enclave* enclave_;
};
confide::Enclave* AllEnclave::enclave_ = nullptr;

TEST_F(AllEnclave, ValuesAndReturn) {
  auto r = add(E(), 40, 2);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 42);
  EXPECT_TRUE(noop(E()).ok());
  auto p = is_positive(E(), -5);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(*p);
  p = is_positive(E(), 5);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(*p);
  auto b = bool_to_int(E(), true);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, 1);
}

TEST_F(AllEnclave, InBufferWithSize) {
  std::vector<uint8_t> data(1000);
  uint64_t expect = 0;
  for (size_t i = 0; i < data.size(); ++i) expect += data[i] = static_cast<uint8_t>(i * 7);
  auto r = sum_bytes(E(), data.data(), data.size());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, expect);
  // A null pointer arrives as nullptr; a zero-length buffer as an empty one.
  r = sum_bytes(E(), nullptr, 1234);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 0u);
  r = sum_bytes(E(), data.data(), 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0u);
}

TEST_F(AllEnclave, OutBufferIsFilledByTheEnclave) {
  std::vector<uint8_t> buf(333, 0);
  ASSERT_TRUE(fill(E(), buf.data(), buf.size(), 0x3c).ok());
  for (uint8_t b : buf) ASSERT_EQ(b, 0x3c);
  uint64_t sum = 0;
  uint8_t data[4] = {1, 2, 3, 250};
  ASSERT_TRUE(checksum_out(E(), data, sizeof data, &sum).ok());
  EXPECT_EQ(sum, 256u);
}

TEST_F(AllEnclave, InOutBufferWithCount) {
  std::vector<uint32_t> v = {1, 2, 3, 0xffffffffu};
  ASSERT_TRUE(increment(E(), v.data(), v.size()).ok());
  EXPECT_EQ(v, (std::vector<uint32_t>{2, 3, 4, 0}));
  int values[3] = {5, -2, 10};
  auto s = sum_signed(E(), values, 3);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, 13);
}

TEST_F(AllEnclave, SizeAndCountTogetherMultiply) {
  // size=elem, count=n: elem * n bytes (Intel's rule).
  uint8_t data[12];
  for (int i = 0; i < 12; ++i) data[i] = static_cast<uint8_t>(i + 1);
  auto r = sized_counted(E(), data, 4, 3);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 78u);
}

TEST_F(AllEnclave, Strings) {
  auto n = str_len(E(), "hello enclave");
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 13u);
  n = str_len(E(), "");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  n = str_len(E(), nullptr);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, SIZE_MAX);
  char s[] = "Mixed Case 123";
  ASSERT_TRUE(upper(E(), s).ok());
  EXPECT_STREQ(s, "MIXED CASE 123");
  auto w = wstr_len(E(), L"wide \u00e9t\u00e9");
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ(*w, 8u);
}

TEST_F(AllEnclave, FixedArrays) {
  int values[4] = {1, 2, 3, 4};
  auto r = sum_array(E(), values);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 10);
  int m[2][3] = {{1, 2, 3}, {4, 5, 6}};
  ASSERT_TRUE(double_matrix(E(), m).ok());
  EXPECT_EQ(m[0][0], 2);
  EXPECT_EQ(m[1][2], 12);
  int16_t out[5] = {-1, -1, -1, -1, -1};
  ASSERT_TRUE(fill_array(E(), out).ok());
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[4], 40);
}

TEST_F(AllEnclave, Enums) {
  auto c = next_color(E(), BLUE);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(*c, RED);
  color cs[5] = {RED, BLUE, BLUE, GREEN, BLUE};
  auto n = count_colors(E(), cs, 5, BLUE);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 3);
}

TEST_F(AllEnclave, ValueCallParametersNamedLikeTypes) {
  // A parameter may be named like a type an earlier one uses; the value proxy and handler
  // must still lay the arguments out by the types' sizes.
  auto r = shadowed_names(E(), 7, 6, 5, 4);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 7654);
}

TEST_F(AllEnclave, StructsByValueAndReturn) {
  auto p = make_padded(E(), 'z', 123);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->c, 'z');
  EXPECT_EQ(p->i, 123u);
  EXPECT_EQ(p->b, 7);
  EXPECT_EQ(p->x, 0x1122334455667788u);
  padded q{};
  ASSERT_TRUE(padded_out(E(), &q).ok());
  EXPECT_EQ(q.c, 'o');
  EXPECT_EQ(q.i, 99u);
  padded v{};
  v.c = 1;
  v.i = 2;
  v.b = 3;
  v.x = 4;
  auto s = padded_sum(E(), v);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, 10u);
}

TEST_F(AllEnclave, DeepCopyIn) {
  uint8_t bytes[5] = {1, 2, 3, 4, 5};
  blob b{sizeof bytes, bytes};
  auto r = blob_sum(E(), &b);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 15u);
  blob empty{0, nullptr};
  r = blob_sum(E(), &empty);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, UINT64_MAX);  // the member pointer arrived as nullptr
  r = blob_sum(E(), nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, UINT64_MAX - 1);
  uint8_t a1[2] = {10, 20}, a2[3] = {1, 1, 1};
  blob many[3] = {{2, a1}, {0, nullptr}, {3, a2}};
  r = blobs_sum(E(), many, 3);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 33u);
}

TEST_F(AllEnclave, DeepCopyInOutKeepsTheCallersPointers) {
  uint8_t bytes[3] = {0, 1, 0xf0};
  blob b{sizeof bytes, bytes};
  ASSERT_TRUE(blob_invert(E(), &b).ok());
  EXPECT_EQ(b.data, bytes);
  EXPECT_EQ(b.len, 3u);
  EXPECT_EQ(bytes[0], 0xff);
  EXPECT_EQ(bytes[1], 0xfe);
  EXPECT_EQ(bytes[2], 0x0f);
}

TEST_F(AllEnclave, NestedDeepCopy) {
  uint8_t d0[2] = {1, 2}, d2[1] = {7};
  blob blobs[3] = {{2, d0}, {5, nullptr}, {1, d2}};
  uint32_t words[2] = {1000, 2000};
  bundle b{5, 3, blobs, 2, words};
  auto r = bundle_visit(E(), &b);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 5u + 3u + 7u + 3000u);
  EXPECT_EQ(b.tag, 6u);
  EXPECT_EQ(b.blobs, blobs);  // the enclave nulled its copies; the caller's stay
  EXPECT_EQ(b.words, words);
  EXPECT_EQ(blobs[0].data, d0);
  EXPECT_EQ(blobs[1].data, nullptr);
  EXPECT_EQ(d0[0], 0xfe);
  EXPECT_EQ(d2[0], 0xf8);
  EXPECT_EQ(words[0], 1001u);
  EXPECT_EQ(words[1], 2001u);
}

TEST_F(AllEnclave, StructsWithBoolAndEnumFields) {
  flagged f{3, {true, GREEN, {false, true}}};
  auto sum = flags_sum(E(), f);
  ASSERT_TRUE(sum.ok()) << sum.status().message();
  EXPECT_EQ(*sum, 3 + 1 + 1 + 0 + 1);
  flags many[3] = {{true, RED, {}}, {false, BLUE, {}}, {true, GREEN, {true, true}}};
  auto n = flags_count(E(), many, 3);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 2);
  bool on[3] = {true, true, false};
  flags one[1] = {{true, RED, {}}};
  switches sw{3, on, 1, one};
  auto k = switches_count(E(), &sw);
  ASSERT_TRUE(k.ok()) << k.status().message();
  EXPECT_EQ(*k, 3);
  auto made = make_flagged(E(), 0);
  ASSERT_TRUE(made.ok()) << made.status().message();
  EXPECT_EQ(made->id, 7u);
  EXPECT_TRUE(made->f.on);
  EXPECT_EQ(made->f.c, BLUE);
  flags out[2] = {};
  ASSERT_TRUE(flags_fill(E(), out, 0).ok());
  EXPECT_TRUE(out[1].on);
  EXPECT_TRUE(out[1].bits[0]);
}

TEST_F(AllEnclave, OcallWithStringAndImportedDeclaration) {
  {
    std::lock_guard<std::mutex> lock(State().mu);
    State().logs.clear();
  }
  auto r = call_host_log(E(), "from the enclave");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 16);
  std::lock_guard<std::mutex> lock(State().mu);
  ASSERT_EQ(State().logs.size(), 1u);
  EXPECT_EQ(State().logs[0], "from the enclave");
}

TEST_F(AllEnclave, OcallParameterKinds) {
  char msg[256] = {};
  int before = State().switchless_calls.load();
  auto r = ocall_kinds(E(), msg, sizeof msg);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 0) << msg;
  EXPECT_EQ(State().switchless_calls.load(), before + 1);
}

TEST_F(AllEnclave, OcallDeepCopyInOut) {
  char msg[256] = {};
  auto r = ocall_deep(E(), msg, sizeof msg);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 0) << msg;
}

TEST_F(AllEnclave, PropagateErrnoSetsTheEnclavesErrno) {
  auto r = call_errno(E(), 34);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 34 * 100 + 7);
  r = call_errno(E(), 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 7);
}

TEST_F(AllEnclave, NestedEcallAllowedByTheOcall) {
  auto r = reenter(E(), 0, 21);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 42);
  std::lock_guard<std::mutex> lock(State().mu);
  EXPECT_TRUE(State().reenter_status.ok()) << State().reenter_status.message();
}

TEST_F(AllEnclave, NestedEcallNotInTheAllowListIsRefused) {
  auto r = reenter(E(), 1, 21);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, -1);
  std::lock_guard<std::mutex> lock(State().mu);
  EXPECT_EQ(State().reenter_status.code(), confide::Code::kPermissionDenied);
  EXPECT_NE(State().reenter_status.message().find(
                "'nested_public' may not be called during ocall 'host_reenter': it is not in that ocall's allow(...)"),
            std::string::npos)
      << State().reenter_status.message();
  // The same ecall is fine at top level: it is public.
  auto t = nested_public(E(), 1);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(*t, 2);
}

// host_reenter allows nested_target, and nested_target may call host_reenter again: a cycle
// the EDL permits. 16 ecalls may run nested on one slot; the 17th is refused, and each level
// returns normally (no stack overflow, nothing left busy).
TEST_F(AllEnclave, NestingIsBoundedWhenAllowListsFormACycle) {
  {
    std::lock_guard<std::mutex> lock(State().mu);
    State().reenter_error = confide::Status::Ok();
  }
  auto r = reenter(E(), 0, -14);  // reenter + 15 nested_target: 16 at once
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 0);
  {
    std::lock_guard<std::mutex> lock(State().mu);
    EXPECT_TRUE(State().reenter_error.ok()) << State().reenter_error.message();
  }
  r = reenter(E(), 0, -15);  // one more
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, -1);  // the innermost host_reenter saw its nested ecall refused
  {
    std::lock_guard<std::mutex> lock(State().mu);
    EXPECT_EQ(State().reenter_error.code(), confide::Code::kOutOfRange);
    EXPECT_NE(State().reenter_error.message().find(
                  "ecall 'nested_target' would be the 17th ecall nested on this thread (during ocall 'host_reenter'); "
                  "at most 16 may run at once"),
              std::string::npos)
        << State().reenter_error.message();
  }
  auto again = reenter(E(), 0, 21);  // the slot serves on
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(*again, 42);
}

TEST_F(AllEnclave, PrivateEcallIsRefusedAtTopLevel) {
  auto r = nested_target(E(), 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), confide::Code::kPermissionDenied);
  EXPECT_NE(r.status().message().find("'nested_target' is private"), std::string::npos) << r.status().message();
}

TEST_F(AllEnclave, ExceptionInAnEcallBecomesInternal) {
  auto r = thrower(E(), 3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), confide::Code::kInternal);
  EXPECT_NE(r.status().message().find("threw an exception (boom 3)"), std::string::npos) << r.status().message();
  // The enclave keeps working afterwards.
  auto ok = thrower(E(), -3);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(*ok, -3);
}

TEST_F(AllEnclave, NumTcsThreadsRunTogetherAndOneMoreIsRefused) {
  // The enclave is built with TCS 4: four ecalls park inside it at once (each waits in an
  // ocall loop until released); a fifth caller finds no free thread slot.
  State().parked = 0;
  State().release = false;
  std::vector<std::optional<confide::Result<int>>> results(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&, i] { results[i] = park(E()); });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (State().parked.load() < 4 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(State().parked.load(), 4);
  auto extra = ping(E());
  State().release = true;
  for (auto& t : threads) t.join();
  ASSERT_FALSE(extra.ok());
  EXPECT_EQ(extra.status().code(), confide::Code::kUnavailable);
  EXPECT_NE(extra.status().message().find("thread slots (NumTCS) are busy"), std::string::npos)
      << extra.status().message();
  for (auto& r : results) {
    ASSERT_TRUE(r.has_value());
    ASSERT_TRUE(r->ok()) << r->status().message();
    EXPECT_EQ(**r, 4);  // all four were inside the enclave at the same time
  }
  auto after = ping(E());
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_EQ(*after, 42);
}

TEST_F(AllEnclave, HostProxyRefusesBadSizesBeforeSending) {
  int values[1] = {1};
  auto r = sum_signed(E(), values, -1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), confide::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("count= of values is negative (-1)"), std::string::npos) << r.status().message();
  uint8_t byte = 0;
  // [out] requests are bounded: 4 GiB would make the enclave allocate 4 GiB.
  auto f = fill(E(), &byte, size_t{4} << 30, 0);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.code(), confide::Code::kOutOfRange);
  EXPECT_NE(f.message().find("past its limit of 1073741824 bytes"), std::string::npos) << f.message();
  auto s = sized_counted(E(), &byte, size_t{1} << 33, size_t{1} << 33);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), confide::Code::kOutOfRange);
  EXPECT_NE(s.status().message().find("size of parameter 'data' overflows"), std::string::npos)
      << s.status().message();
}

}  // namespace
}  // namespace codegen_test

namespace codegen_test {
namespace {

// transition_using_threads reaches the host library, which spins before sleeping for it (soft).
TEST(UntrustedTables, MarkExactlyTheSwitchlessEcalls) {
  const confide::abi::UntrustedTables& t = codegen_all_untrusted_tables();
  ASSERT_NE(t.ecall_switchless, nullptr);
  for (uint32_t i = 0; i < t.ecall_count; ++i)
    EXPECT_EQ(t.ecall_switchless[i], std::string(t.ecall_names[i]) == "ping") << t.ecall_names[i];
}

}  // namespace
}  // namespace codegen_test
