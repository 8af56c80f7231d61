// DESIGN §5 boundary rules against the generated dispatchers: crafted request frames sent
// through Enclave::Call (what a hostile host can send), and hostile replies from a host
// whose ocall handlers are replaced. Each must be refused with its specific error.
#include <cstddef>
#include <cstring>
#include <limits>
#include <vector>

#include "all_host.h"

namespace codegen_test {
namespace {

using confide::Code;
using confide::abi::FrameView;
using confide::abi::FrameWriter;

// Writes `byte` at offset `off` of `obj`: a bool or enum value C++ code could not write.
template <typename T>
void Poke(T& obj, size_t off, unsigned char byte) {
  std::memcpy(reinterpret_cast<unsigned char*>(&obj) + off, &byte, 1);
}

class Boundary : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { enclave_ = LoadAll().release(); }
  static void TearDownTestSuite() {
    delete enclave_;
    enclave_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(enclave_, nullptr); }

  confide::Result<confide::Bytes> Send(const std::string& ecall, FrameWriter& w, size_t cap = 4096) {
    return enclave_->Call(EcallId(ecall), w.Finish(), cap);
  }
  static void ExpectError(const confide::Result<confide::Bytes>& r, Code code, const std::string& part) {
    ASSERT_FALSE(r.ok()) << "accepted a frame that should be refused (" << part << ")";
    EXPECT_EQ(r.status().code(), code) << r.status().message();
    EXPECT_NE(r.status().message().find(part), std::string::npos) << r.status().message();
  }
  static confide::Enclave* enclave_;
};
confide::Enclave* Boundary::enclave_ = nullptr;

TEST_F(Boundary, WellFormedCraftedFrameIsAccepted) {
  // The baseline the refusals below deviate from.
  FrameWriter w;
  w.Value(int{2});
  w.Value(int{3});
  auto r = Send("add", w);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto v = FrameView::Parse(*r, "reply");
  ASSERT_TRUE(v.ok());
  int sum = 0;
  ASSERT_TRUE(v->GetValue(0, "ret", &sum).ok());
  EXPECT_EQ(sum, 5);
}

TEST_F(Boundary, WrongItemCount) {
  FrameWriter few;
  few.Value(int{2});
  ExpectError(Send("add", few), Code::kInvalidArgument, "ecall 'add': expected 2 items in the call frame, got 1");
  FrameWriter many;
  many.Value(int{2});
  many.Value(int{3});
  many.Value(int{4});
  ExpectError(Send("add", many), Code::kInvalidArgument, "expected 2 items in the call frame, got 3");
}

TEST_F(Boundary, WrongValueSize) {
  FrameWriter w;
  w.Value(int64_t{2});
  w.Value(int{3});
  ExpectError(Send("add", w), Code::kInvalidArgument, "parameter 'a' must be a 4-byte value, got a 8-byte value");
}

TEST_F(Boundary, OverflowingCountTimesSize) {
  uint32_t one = 1;
  FrameWriter w;
  w.Buffer(&one, sizeof one);
  w.Value(uint64_t{(uint64_t{1} << 62) + 1});  // x 4 bytes wraps to 4
  ExpectError(Send("increment", w), Code::kOutOfRange, "size of parameter 'values' overflows");
  uint8_t byte = 0;
  FrameWriter w2;
  w2.Buffer(&byte, 1);
  w2.Value(uint64_t{1} << 32);
  w2.Value(uint64_t{1} << 32);  // 2^64 wraps to 0
  ExpectError(Send("sized_counted", w2), Code::kOutOfRange, "size of parameter 'data' overflows");
}

TEST_F(Boundary, BufferLengthDiffersFromSizeAttribute) {
  std::vector<uint8_t> nine(9, 1);
  FrameWriter w;
  w.Buffer(nine.data(), nine.size());
  w.Value(uint64_t{10});
  ExpectError(Send("sum_bytes", w), Code::kInvalidArgument,
              "parameter 'buf' carries 9 bytes but its size attribute says 10");
}

TEST_F(Boundary, NegativeCountIsRefused) {
  int v = 1;
  FrameWriter w;
  w.Buffer(&v, sizeof v);
  w.Value(int{-1});
  ExpectError(Send("sum_signed", w), Code::kInvalidArgument, "count= of values is negative (-1)");
}

TEST_F(Boundary, StringWithoutTerminator) {
  FrameWriter w;
  w.Buffer("abc", 3);
  ExpectError(Send("str_len", w), Code::kInvalidArgument, "'s' is not terminated at its last character");
  FrameWriter wide;
  const wchar_t text[2] = {L'a', L'b'};
  wide.Buffer(text, sizeof text);
  ExpectError(Send("wstr_len", wide), Code::kInvalidArgument, "'s' is not terminated at its last character");
  FrameWriter odd;  // not a whole number of wchar_t
  odd.Buffer("\0\0\0\0\0", 5);
  ExpectError(Send("wstr_len", odd), Code::kInvalidArgument, "not a whole number of characters");
}

TEST_F(Boundary, OutRequestLengthDiffersFromSizeAttribute) {
  FrameWriter w;
  uint8_t host_buf[16];
  w.OutRequest(host_buf, 8);
  w.Value(uint64_t{16});
  w.Value(uint8_t{1});
  ExpectError(Send("fill", w), Code::kInvalidArgument,
              "output parameter 'buf' requests 8 bytes but its size attribute says 16");
  FrameWriter wrong_kind;  // a buffer where an output request belongs
  wrong_kind.Buffer(host_buf, 16);
  wrong_kind.Value(uint64_t{16});
  wrong_kind.Value(uint8_t{1});
  ExpectError(Send("fill", wrong_kind), Code::kInvalidArgument, "must be an output request, got a buffer");
}

TEST_F(Boundary, OutRequestsAreBoundedPerCall) {
  FrameWriter w;
  uint8_t host_buf[1];
  uint64_t huge = uint64_t{3} << 30;
  w.OutRequest(host_buf, huge);
  w.Value(huge);
  w.Value(uint8_t{1});
  ExpectError(Send("fill", w), Code::kOutOfRange, "buf: 3221225472 bytes would take this call past its limit");
}

TEST_F(Boundary, FunctionIdOutOfRange) {
  FrameWriter w;
  auto r = enclave_->Call(9999, w.Finish(), 1024);
  ExpectError(r, Code::kOutOfRange, "ecall id 9999 is out of range");
}

TEST_F(Boundary, MalformedFrame) {
  confide::Bytes junk(32, 0x41);
  ExpectError(enclave_->Call(EcallId("noop"), junk, 1024), Code::kInvalidArgument, "malformed call frame: bad magic");
}

TEST_F(Boundary, ReplyLargerThanTheCallersCapacity) {
  FrameWriter w;
  uint8_t host_buf[4096];
  w.OutRequest(host_buf, sizeof host_buf);
  w.Value(uint64_t{sizeof host_buf});
  w.Value(uint8_t{1});
  // Enclave::Call always leaves room for a 1024-byte error message; ask for less than the reply.
  ExpectError(Send("fill", w, 2048), Code::kOutOfRange, "4128-byte reply, larger than the caller's 2048-byte buffer");
}

TEST_F(Boundary, BoolAndEnumValuesOutsideTheirType) {
  FrameWriter b;
  b.Value(uint8_t{2});
  ExpectError(Send("bool_to_int", b), Code::kInvalidArgument, "b: bool byte 2 is neither 0 nor 1");
  FrameWriter c;
  c.Value(int{7});  // color has 0..2: its values are 0..3
  ExpectError(Send("next_color", c), Code::kInvalidArgument, "c: 7 is outside the range of its enum type");
  FrameWriter in_range;
  in_range.Value(int{3});
  EXPECT_TRUE(Send("next_color", in_range).ok());
  int colors[2] = {1, 9};
  FrameWriter arr;
  arr.Buffer(colors, sizeof colors);
  arr.Value(uint64_t{2});
  arr.Value(int{1});
  ExpectError(Send("count_colors", arr), Code::kInvalidArgument, "colors: element 1 (9) is outside the range");
}

// The same checks on value calls (docs/abi.md): the ecalls of scalars only take them, and
// their generated proxies send them. Crafted argument bytes through Enclave::CallValues.
TEST_F(Boundary, ValueCallsCheckTheirArguments) {
  auto expect = [](const confide::Status& s, Code code, const std::string& part) {
    ASSERT_FALSE(s.ok()) << "accepted a value call that should be refused (" << part << ")";
    EXPECT_EQ(s.code(), code) << s.message();
    EXPECT_NE(s.message().find(part), std::string::npos) << s.message();
  };
  uint8_t args[16] = {2};
  uint8_t ret[8];
  expect(enclave_->CallValues(EcallId("bool_to_int"), args, 1, ret, sizeof(int)), Code::kInvalidArgument,
         "ecall 'bool_to_int': b: bool byte 2 is neither 0 nor 1");
  EXPECT_EQ(args[0], 0);  // a refused call's arguments are wiped too
  int color = 7;  // color has 0..2: its values are 0..3
  std::memcpy(args, &color, sizeof color);
  expect(enclave_->CallValues(EcallId("next_color"), args, sizeof color, ret, sizeof color), Code::kInvalidArgument,
         "ecall 'next_color': c: 7 is outside the range of its enum type");
  color = 3;
  std::memcpy(args, &color, sizeof color);
  EXPECT_TRUE(enclave_->CallValues(EcallId("next_color"), args, sizeof color, ret, sizeof color).ok());
  expect(enclave_->CallValues(EcallId("add"), args, 4, ret, sizeof(int)), Code::kInvalidArgument,
         "ecall 'add': a value call carries 4 bytes of arguments, the ecall takes 8");
  expect(enclave_->CallValues(EcallId("sum_bytes"), args, 16, ret, 8), Code::kInvalidArgument,
         "ecall 'sum_bytes' takes no value call (it has pointer or struct parameters)");
  expect(enclave_->CallValues(EcallId("padded_sum"), args, 16, ret, 8), Code::kInvalidArgument,
         "takes no value call");
  expect(enclave_->CallValues(EcallId("nested_target"), args, sizeof(int), ret, sizeof(int)),
         Code::kPermissionDenied, "'nested_target' is private");
  expect(enclave_->CallValues(9999, args, 0, nullptr, 0), Code::kOutOfRange, "ecall id 9999 is out of range");
  // What the enclave took is wiped where the host put it (rule 8): on sim, in the host's buffer.
  int ab[2] = {40, 2};
  std::memcpy(args, ab, sizeof ab);
  ASSERT_TRUE(enclave_->CallValues(EcallId("add"), args, sizeof ab, ret, sizeof(int)).ok());
  int sum = 0;
  std::memcpy(&sum, ret, sizeof sum);
  EXPECT_EQ(sum, 42);
  for (size_t i = 0; i < sizeof ab; ++i) EXPECT_EQ(args[i], 0) << i;
}

TEST_F(Boundary, BoolAndEnumFieldsOfStructsOutsideTheirType) {
  // By value, in a struct held by value.
  flagged f{};
  Poke(f, offsetof(flagged, f) + offsetof(flags, on), 127);
  FrameWriter byval;
  byval.Value(&f, sizeof f);
  ExpectError(Send("flags_sum", byval), Code::kInvalidArgument,
              "ecall 'flags_sum': f: field flags::on: bool byte 127 is neither 0 nor 1");
  // A buffer of structs: an enum, then an element of a bool array member.
  flags two[2] = {};
  const int nine = 9;
  std::memcpy(reinterpret_cast<unsigned char*>(&two[1]) + offsetof(flags, c), &nine, sizeof nine);
  FrameWriter buf;
  buf.Buffer(two, sizeof two);
  buf.Value(uint64_t{2});
  ExpectError(Send("flags_count", buf), Code::kInvalidArgument,
              "ecall 'flags_count': f: element 1, field flags::c: 9 is outside the range of its enum type");
  flags bits[1] = {};
  Poke(bits[0], offsetof(flags, bits) + 1, 2);
  FrameWriter arr;
  arr.Buffer(bits, sizeof bits);
  arr.Value(uint64_t{1});
  ExpectError(Send("flags_count", arr), Code::kInvalidArgument,
              "ecall 'flags_count': f: field flags::bits[1]: bool byte 2 is neither 0 nor 1");
  // Deep-copy member buffers: of bools, and of structs with checked fields.
  switches sw{2, nullptr, 1, nullptr};
  // A switches_count request: the struct, then its two member buffers.
  auto request = [&](const uint8_t (&on)[2], const flags (&f)[1]) {
    FrameWriter w;
    w.Buffer(&sw, sizeof sw);
    w.Buffer(on, sizeof on);
    w.Buffer(f, sizeof f);
    return Send("switches_count", w);
  };
  const uint8_t bad_on[2] = {1, 5}, good[2] = {1, 0};
  flags one[1] = {};
  ExpectError(request(bad_on, one), Code::kInvalidArgument,
              "switches::on: element 1 is a bool byte that is neither 0 nor 1");
  Poke(one[0], offsetof(flags, bits), 7);
  ExpectError(request(good, one), Code::kInvalidArgument,
              "switches::f: field flags::bits[0]: bool byte 7 is neither 0 nor 1");
  // The same frames with values in range are accepted.
  one[0] = flags{true, BLUE, {true, false}};
  auto r = request(good, one);
  ASSERT_TRUE(r.ok()) << r.status().message();
}

TEST_F(Boundary, DeepCopyMemberLengthDiffersFromTheStructsOwnSize) {
  blob b{4, nullptr};
  uint8_t three[3] = {1, 2, 3};
  FrameWriter w;
  w.Buffer(&b, sizeof b);
  w.Buffer(three, 3);
  ExpectError(Send("blob_sum", w), Code::kInvalidArgument, "'blob::data' carries 3 bytes but its size attribute says 4");
}

TEST_F(Boundary, DeepCopyMissingOrExtraMemberItems) {
  blob b{4, nullptr};
  FrameWriter missing;
  missing.Buffer(&b, sizeof b);
  ExpectError(Send("blob_sum", missing), Code::kInvalidArgument, "parameter 'blob::data' is missing from the call frame");
  uint8_t four[4] = {};
  FrameWriter extra;
  extra.Buffer(&b, sizeof b);
  extra.Buffer(four, 4);
  extra.Buffer(four, 4);
  ExpectError(Send("blob_sum", extra), Code::kInvalidArgument, "expected 2 items in the call frame, got 3");
}

TEST_F(Boundary, HostPointerInsideADeepCopiedStructIsNeverUsed) {
  // The struct bytes carry a pointer into "enclave memory"; the member's item is null. The
  // enclave must see nullptr, not the pointer the host wrote.
  static uint8_t secret[4] = {9, 9, 9, 9};
  blob b{4, secret};
  FrameWriter w;
  w.Buffer(&b, sizeof b);
  w.Buffer(nullptr, 0);
  auto r = Send("blob_sum", w);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto v = FrameView::Parse(*r, "reply");
  ASSERT_TRUE(v.ok());
  uint64_t sum = 0;
  ASSERT_TRUE(v->GetValue(0, "ret", &sum).ok());
  EXPECT_EQ(sum, UINT64_MAX);  // blob_sum's "data is null" answer
}

TEST_F(Boundary, DeepCopyNestingDepthAndCountsAreChecked) {
  // count=nblobs says 2 but the blobs buffer holds one struct.
  blob one{0, nullptr};
  bundle b{1, 2, nullptr, 0, nullptr};
  FrameWriter w;
  w.Buffer(&b, sizeof b);
  w.Buffer(&one, sizeof one);
  w.Buffer(nullptr, 0);
  ExpectError(Send("bundle_visit", w), Code::kInvalidArgument,
              "'bundle::blobs' carries 16 bytes but its size attribute says 32");
}

TEST_F(Boundary, PaddingOfAStructReturnedFromTheEnclaveIsZero) {
  // Control: the enclave's struct really has 0xAA in its padding (copied raw, no scrubbing).
  uint8_t raw[sizeof(padded)];
  FrameWriter c;
  c.OutRequest(raw, sizeof raw);
  c.Value(uint64_t{sizeof raw});
  auto cr = Send("padded_raw", c);
  ASSERT_TRUE(cr.ok()) << cr.status().message();
  auto cv = FrameView::Parse(*cr, "reply");
  ASSERT_TRUE(cv.ok());
  confide::ByteSpan craw;
  ASSERT_TRUE(cv->GetBuffer(0, "raw", sizeof(padded), false, &craw).ok());
  EXPECT_EQ(craw[1], 0xAA);
  EXPECT_EQ(craw[12], 0xAA);

  const size_t pad[] = {1, 2, 3, 9, 10, 11, 12, 13, 14, 15};
  // Return value.
  FrameWriter w;
  w.Value('q');
  w.Value(uint32_t{5});
  auto r = Send("make_padded", w);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto v = FrameView::Parse(*r, "reply");
  ASSERT_TRUE(v.ok());
  padded p;
  ASSERT_TRUE(v->GetValue(0, "ret", &p).ok());
  const auto* bytes = reinterpret_cast<const uint8_t*>(&p);
  for (size_t i : pad) EXPECT_EQ(bytes[i], 0) << "padding byte " << i;
  EXPECT_EQ(p.c, 'q');
  EXPECT_EQ(p.x, 0x1122334455667788u);
  // [out] struct: the enclave assigned a whole struct with dirty padding.
  padded host_p;
  FrameWriter o;
  o.OutRequest(&host_p, sizeof host_p);
  auto orr = Send("padded_out", o);
  ASSERT_TRUE(orr.ok()) << orr.status().message();
  auto ov = FrameView::Parse(*orr, "reply");
  ASSERT_TRUE(ov.ok());
  confide::ByteSpan out;
  ASSERT_TRUE(ov->GetBuffer(0, "p", sizeof(padded), false, &out).ok());
  for (size_t i : pad) EXPECT_EQ(out[i], 0) << "padding byte " << i;
  EXPECT_EQ(out[0], 'o');
}

// x87's long double has 10 bytes of value in its 16; the other 6 hold whatever the stack held
// and leave the enclave zeroed (rule 7), as a value call's return value and as a struct field.
TEST_F(Boundary, LongDoublePaddingLeavesTheEnclaveZeroed) {
  static_assert(std::numeric_limits<long double>::digits == 64 && sizeof(long double) == 16,
                "these checks assume x86-64's 80-bit long double");
  const long double x = 3.0L;
  uint8_t args[sizeof x] = {};
  std::memcpy(args, &x, 10);
  uint8_t ret[sizeof(long double)];
  std::memset(ret, 0x55, sizeof ret);
  ASSERT_TRUE(enclave_->CallValues(EcallId("half"), args, sizeof args, ret, sizeof ret).ok());
  for (size_t i = 10; i < sizeof ret; ++i) EXPECT_EQ(ret[i], 0) << "return value byte " << i;
  long double h;
  std::memcpy(&h, ret, sizeof h);
  EXPECT_EQ(h, 1.5L);

  FrameWriter w;
  w.Value(uint32_t{6});
  auto r = Send("make_wide", w);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto v = FrameView::Parse(*r, "reply");
  ASSERT_TRUE(v.ok());
  wide got;
  ASSERT_TRUE(v->GetValue(0, "ret", &got).ok());
  const auto* bytes = reinterpret_cast<const uint8_t*>(&got);
  static_assert(sizeof(wide) == 32 && offsetof(wide, tag) == 16);
  for (size_t i = 10; i < 16; ++i) EXPECT_EQ(bytes[i], 0) << "long double padding byte " << i;
  for (size_t i = 20; i < 32; ++i) EXPECT_EQ(bytes[i], 0) << "struct padding byte " << i;
  EXPECT_EQ(got.v, 1.5L);
  EXPECT_EQ(got.tag, 6u);
}

// ------------------------------------------------------------------ enclave replies the host refuses
// The same generated checks run in the host's ecall proxies: an enclave (buggy, or not the
// one expected) cannot make the host's structs describe memory they do not have either.

TEST_F(Boundary, InOutDeepCopyWhoseSizeChangedIsRefusedAndLeavesTheCallersStruct) {
  uint8_t bytes[16];
  for (int i = 0; i < 16; ++i) bytes[i] = static_cast<uint8_t>(i);
  blob b{sizeof bytes, bytes};
  auto s = blob_grow(*enclave_, &b);
  ASSERT_FALSE(s.ok()) << "the enclave grew blob::len and the host accepted it";
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("reply of ecall 'blob_grow': b: field blob::len came back as 64 but was sent as 16; "
                             "the size= and count= members of an [in, out] deep copy must come back unchanged"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(b.len, 16u);
  EXPECT_EQ(b.data, bytes);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(bytes[i], i) << "byte " << i << " was copied back";
}

TEST_F(Boundary, NestedDeepCopySizesAreCheckedBeforeAnythingIsCopiedBack) {
  uint8_t d0[2] = {1, 2}, d1[1] = {3};
  blob blobs[2] = {{sizeof d0, d0}, {sizeof d1, d1}};
  uint32_t words[2] = {10, 20};
  bundle b{5, 2, blobs, 2, words};
  auto top = bundle_regrow(*enclave_, &b, 0);
  ASSERT_FALSE(top.ok());
  EXPECT_NE(top.message().find("reply of ecall 'bundle_regrow': b: field bundle::nwords came back as 102 but was "
                               "sent as 2"),
            std::string::npos)
      << top.message();
  auto nested = bundle_regrow(*enclave_, &b, 1);
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.message().find("reply of ecall 'bundle_regrow': b (deep copy): element 1, field blob::len came "
                                  "back as 101 but was sent as 1"),
            std::string::npos)
      << nested.message();
  // Neither reply changed anything: not the top-level tag, not the buffers.
  EXPECT_EQ(b.tag, 5u);
  EXPECT_EQ(b.nwords, 2u);
  EXPECT_EQ(blobs[1].len, 1u);
  EXPECT_EQ(d0[0], 1);
  EXPECT_EQ(d1[0], 3);
  EXPECT_EQ(words[0], 10u);
}

TEST_F(Boundary, BoolAndEnumFieldsInTheEnclavesRepliesAreChecked) {
  auto bad_bool = make_flagged(*enclave_, 1);
  ASSERT_FALSE(bad_bool.ok());
  EXPECT_EQ(bad_bool.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad_bool.status().message().find(
                "reply of ecall 'make_flagged': return value: field flags::on: bool byte 127 is neither 0 nor 1"),
            std::string::npos)
      << bad_bool.status().message();
  auto bad_enum = make_flagged(*enclave_, 2);
  ASSERT_FALSE(bad_enum.ok());
  EXPECT_NE(bad_enum.status().message().find("return value: field flags::c: 9 is outside the range of its enum type"),
            std::string::npos)
      << bad_enum.status().message();
  flags out[2] = {};
  auto s = flags_fill(*enclave_, out, 1);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("reply of ecall 'flags_fill': f: element 1, field flags::bits[1]: bool byte 2 is "
                             "neither 0 nor 1"),
            std::string::npos)
      << s.message();
  EXPECT_FALSE(out[0].on);  // nothing was copied
}

// ------------------------------------------------------------------ hostile host replies

confide::Status HostileBytes(const FrameView& req, FrameWriter& reply) {
  uint64_t n = 0;
  CONFIDE_RETURN_IF_ERROR(req.GetValue(1, "n", &n));
  reply.Value(int{0});
  // 5 requested: answer 8, which still fits the item's padding and so the capacity; 16
  // requested: answer 12.
  std::vector<uint8_t> junk(n == 5 ? 8 : n - 4, 0x77);
  reply.Buffer(junk.data(), junk.size());
  return confide::Status::Ok();
}

confide::Status HostileBool(const FrameView&, FrameWriter& reply) {
  reply.Value(uint8_t{2});
  return confide::Status::Ok();
}

confide::Status HostileColor(const FrameView&, FrameWriter& reply) {
  reply.Value(int{7});
  return confide::Status::Ok();
}

confide::Status HostileFlagged(const FrameView&, FrameWriter& reply) {
  flagged f{};
  Poke(f, offsetof(flagged, f) + offsetof(flags, on), 127);
  reply.Value(&f, sizeof f);
  return confide::Status::Ok();
}

confide::Status HostileFlagsOut(const FrameView&, FrameWriter& reply) {
  flags f[2] = {};
  const int nine = 9;
  std::memcpy(reinterpret_cast<unsigned char*>(&f[1]) + offsetof(flags, c), &nine, sizeof nine);
  reply.Buffer(f, sizeof f);
  return confide::Status::Ok();
}

// Echoes the [in, out] switches with one bad value: a bool byte of 3 in the `on` buffer
// when n is 2, a bool byte of 200 in the flags buffer otherwise.
confide::Status HostileSwitches(const FrameView& req, FrameWriter& reply) {
  confide::ByteSpan sb, on, fb;
  CONFIDE_RETURN_IF_ERROR(req.GetBuffer(0, "s", sizeof(switches), false, &sb));
  switches s;
  std::memcpy(&s, sb.data(), sizeof s);
  CONFIDE_RETURN_IF_ERROR(req.GetBuffer(1, "on", s.n, false, &on));
  CONFIDE_RETURN_IF_ERROR(req.GetBuffer(2, "f", s.nf * sizeof(flags), false, &fb));
  std::vector<uint8_t> on2(on.begin(), on.end()), f2(fb.begin(), fb.end());
  if (s.n == 2) on2[1] = 3;
  else f2[offsetof(flags, bits)] = 200;
  reply.Buffer(sb.data(), sb.size());
  reply.Buffer(on2.data(), on2.size());
  reply.Buffer(f2.data(), f2.size());
  return confide::Status::Ok();
}

class HostileHost : public ::testing::Test {
 protected:
  void SetUp() override {
    const confide::abi::UntrustedTables& base = codegen_all_untrusted_tables();
    ocalls_.assign(base.ocalls, base.ocalls + base.ocall_count);
    for (auto& o : ocalls_) {
      std::string n = o.name;
      if (n == "host_hostile") o.handler = &HostileBytes;
      if (n == "host_hostile_bool") o.handler = &HostileBool;
      if (n == "host_hostile_color") o.handler = &HostileColor;
      if (n == "host_flagged") o.handler = &HostileFlagged;
      if (n == "host_flags_out") o.handler = &HostileFlagsOut;
      if (n == "host_switches") o.handler = &HostileSwitches;
    }
    tables_ = base;
    tables_.ocalls = ocalls_.data();
    enclave_ = LoadAll(&tables_);
    ASSERT_NE(enclave_, nullptr);
  }
  void Probe(int mode, Code code, const std::string& part) {
    char msg[512] = {};
    auto r = probe_hostile(*enclave_, mode, msg, sizeof msg);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(*r, static_cast<int>(code)) << msg;
    EXPECT_NE(std::string(msg).find(part), std::string::npos) << msg;
  }
  std::vector<confide::abi::HostOcall> ocalls_;
  confide::abi::UntrustedTables tables_{};
  std::unique_ptr<confide::Enclave> enclave_;
};

TEST_F(HostileHost, MoreBytesThanRequestedAreRefused) {
  Probe(0, Code::kInvalidArgument,
        "reply of ocall 'host_hostile': parameter 'buf' carries 8 bytes but its size attribute says 5");
}

TEST_F(HostileHost, FewerBytesThanRequestedAreRefused) {
  Probe(1, Code::kInvalidArgument, "parameter 'buf' carries 12 bytes but its size attribute says 16");
}

TEST_F(HostileHost, ReturnValuesOutsideTheirTypeAreRefused) {
  Probe(2, Code::kInvalidArgument, "return value: bool byte 2 is neither 0 nor 1");
  Probe(3, Code::kInvalidArgument, "return value: 7 is outside the range of its enum type");
}

// The reviewer's attack: the host answers len=64 for the enclave's 16-byte buffer. Merged,
// the enclave would read and write 48 bytes past it on its next use of the struct.
TEST_F(HostileHost, InOutDeepCopyWhoseSizeChangedIsRefused) {
  Probe(4, Code::kInvalidArgument,
        "reply of ocall 'host_blob_io': b: field blob::len came back as 64 but was sent as 16; the size= and count= "
        "members of an [in, out] deep copy must come back unchanged");
}

TEST_F(HostileHost, NestedDeepCopySizesAreCheckedBeforeAnythingIsCopiedBack) {
  // The probe also fails unless the enclave's bundle, blobs and buffers are untouched.
  Probe(5, Code::kInvalidArgument,
        "reply of ocall 'host_bundle_resize': b: field bundle::nwords came back as 103 but was sent as 3");
  Probe(6, Code::kInvalidArgument,
        "reply of ocall 'host_bundle_resize': b (deep copy): element 1, field blob::len came back as 102 but was "
        "sent as 2");
}

TEST_F(HostileHost, BoolAndEnumFieldsOfStructsAreRefused) {
  Probe(7, Code::kInvalidArgument,
        "reply of ocall 'host_flagged': return value: field flags::on: bool byte 127 is neither 0 nor 1");
  Probe(8, Code::kInvalidArgument,
        "reply of ocall 'host_flags_out': f: element 1, field flags::c: 9 is outside the range of its enum type");
  Probe(9, Code::kInvalidArgument,
        "reply of ocall 'host_switches': s (deep copy): element 1 is a bool byte that is neither 0 nor 1");
  Probe(10, Code::kInvalidArgument,
        "reply of ocall 'host_switches': s (deep copy): field flags::bits[0]: bool byte 200 is neither 0 nor 1");
}

TEST_F(HostileHost, HonestHandlersStillWork) {
  // The generated handlers left in place keep working with the substituted table.
  auto r = add(*enclave_, 1, 2);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 3);
}

}  // namespace
}  // namespace codegen_test
