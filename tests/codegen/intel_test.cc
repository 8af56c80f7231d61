// Intel SGX SDK style EDL (codegen_intel.edl): header typedefs through isptr / isary /
// readonly, size and count together, wstring, foreign structs, [cdecl] ocalls; and the
// [user_check] EDL built with the explicit opt-in.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "codegen_intel_u.h"
#include "codegen_uc_u.h"

namespace {

std::mutex g_mu;
std::vector<std::string> g_printed;

}  // namespace

void intel_print(const char* s) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_printed.push_back(s);
}

void intel_pairs(struct pair_t* pairs, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    pairs[i].first += 1000;
    pairs[i].second += 1000;
  }
}

int host_peek(const int* p) { return *p + 1; }

namespace {

class IntelEnclave : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    confide::EnclaveOptions o;
    o.backend = confide::BackendKind::kSim;
    auto e = create_codegen_intel_enclave(CODEGEN_INTEL_ENCLAVE, o);
    ASSERT_TRUE(e.ok()) << e.status().message();
    enclave_ = std::move(e).value().release();
  }
  static void TearDownTestSuite() {
    delete enclave_;
    enclave_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(enclave_, nullptr); }
  confide::Enclave& E() { return *enclave_; }
  static confide::Enclave* enclave_;
};
confide::Enclave* IntelEnclave::enclave_ = nullptr;

TEST_F(IntelEnclave, IsptrWithSizeAndWithout) {
  uint8_t bytes[4] = {1, 2, 3, 4};
  auto r = isptr_sum(E(), bytes, sizeof bytes);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 10u);
  int v = 21;
  ASSERT_TRUE(isptr_double(E(), &v).ok());  // no size: one int
  EXPECT_EQ(v, 42);
  const int c = 7;
  auto g = readonly_get(E(), &c);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g, 7);
}

TEST_F(IntelEnclave, IsaryTypedefArrays) {
  int_array_t a = {1, 2, 3, 4};
  auto r = isary_sum(E(), a);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 10);
  int_array_t out = {};
  ASSERT_TRUE(isary_fill(E(), out).ok());
  EXPECT_EQ(out[0], 100);
  EXPECT_EQ(out[3], 103);
}

TEST_F(IntelEnclave, SizeNumberTimesCount) {
  uint32_t v[3] = {5, 6, 7};
  auto r = size_and_count(E(), v, 3);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 18u);
}

TEST_F(IntelEnclave, WideStrings) {
  auto n = wide_len(E(), L"abc\u00e9");
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 4u);
  wchar_t s[] = L"shout";
  ASSERT_TRUE(wide_upper(E(), s).ok());
  EXPECT_EQ(std::wstring(s), L"SHOUT");
}

TEST_F(IntelEnclave, ScalarTypes) {
  auto r = mixed(E(), -5, 10ul, 1ll << 40, 7, 1.5f, 2.25, 'a');
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, -5 + 10 + (1ll << 40) + 7 + 3 + 9 + 'a');
}

TEST_F(IntelEnclave, ForeignStructsWithCountAndOcall) {
  pair_t p[2] = {{1, 2}, {3, 4}};
  ASSERT_TRUE(swap_pairs(E(), p).ok());
  EXPECT_EQ(p[0].first, 1002);
  EXPECT_EQ(p[0].second, 1001);
  EXPECT_EQ(p[1].first, 1004);
  EXPECT_EQ(p[1].second, 1003);
}

TEST_F(IntelEnclave, CdeclOcallWithString) {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_printed.clear();
  }
  auto r = print_twice(E(), "twice");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 2);
  std::lock_guard<std::mutex> lock(g_mu);
  EXPECT_EQ(g_printed, (std::vector<std::string>{"twice", "twice"}));
}

TEST(UserCheckOptIn, RawPointersCrossBothWays) {
  confide::EnclaveOptions o;
  o.backend = confide::BackendKind::kSim;
  auto e = create_codegen_uc_enclave(CODEGEN_UC_ENCLAVE, o);
  ASSERT_TRUE(e.ok()) << e.status().message();
  int x = 1234;
  auto r = peek(**e, &x);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 1234);
  auto h = peek_via_host(**e, 55);
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(*h, 56);
}

}  // namespace
