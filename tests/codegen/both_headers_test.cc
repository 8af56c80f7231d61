// One translation unit may include the enclave and the host header of the same EDL: types
// are guarded one by one, and the enclave's ocall proxies live in an inline namespace, so
// they do not clash with the host's implementations of the same ocalls.
#include <gtest/gtest.h>

#include <type_traits>

#include "codegen_all_t.h"
#include "codegen_all_u.h"

namespace {

TEST(BothHeaders, ShareTypesAndDeclareDistinctFunctions) {
  static_assert(sizeof(padded) == 24, "the padded struct has the layout the padding tests assume");
  static_assert(offsetof(padded, i) == 4 && offsetof(padded, x) == 16);
  // Host implementation of an ocall and the enclave's proxy for it: different functions.
  int (*host_impl)(int) = &::host_set_errno;
  EXPECT_NE(host_impl, nullptr);
  static_assert(std::is_same_v<decltype(confide_enclave_ocalls::host_set_errno(0)), confide::Result<int>>);
  static_assert(std::is_same_v<decltype(::nested_target(0)), int>);  // the enclave's implementation
  // Host proxy of an ecall and the enclave's implementation: overloads.
  confide::Result<int> (*proxy)(confide::Enclave&, int, int) = &add;
  EXPECT_NE(proxy, nullptr);
  EXPECT_EQ(static_cast<int>(BLUE), 2);
}

}  // namespace
