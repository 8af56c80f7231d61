#include "confide/status.h"

#include <gtest/gtest.h>

// GCC 12 at -O2 reports the inactive std::string of Result<std::string>'s variant as maybe
// used uninitialised when the Result holds a Status (a known false positive of its variant
// analysis).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <memory>
#include <set>
#include <string>

namespace confide {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Code::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "ok");
  EXPECT_EQ(Status::Ok(), s);
}

TEST(StatusTest, HelpersSetTheirCodeAndKeepTheMessage) {
  struct Case {
    Status status;
    Code code;
    std::string_view name;
  };
  const Case cases[] = {
      {InvalidArgument("m"), Code::kInvalidArgument, "invalid_argument"},
      {NotFound("m"), Code::kNotFound, "not_found"},
      {PermissionDenied("m"), Code::kPermissionDenied, "permission_denied"},
      {VerificationFailed("m"), Code::kVerificationFailed, "verification_failed"},
      {Expired("m"), Code::kExpired, "expired"},
      {Revoked("m"), Code::kRevoked, "revoked"},
      {PolicyViolation("m"), Code::kPolicyViolation, "policy_violation"},
      {Unsupported("m"), Code::kUnsupported, "unsupported"},
      {OutOfRange("m"), Code::kOutOfRange, "out_of_range"},
      {IoError("m"), Code::kIo, "io"},
      {CryptoError("m"), Code::kCrypto, "crypto"},
      {Internal("m"), Code::kInternal, "internal"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.name));
    EXPECT_FALSE(c.status.ok());
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_EQ(c.status.message(), "m");
    EXPECT_EQ(CodeName(c.code), c.name);
    EXPECT_EQ(c.status.ToString(), std::string(c.name) + ": m");
  }
}

TEST(StatusTest, EveryCodeHasADistinctStableName) {
  std::set<std::string_view> names;
  for (int i = static_cast<int>(Code::kOk); i <= static_cast<int>(Code::kEnclaveCrashed); ++i) {
    std::string_view n = CodeName(static_cast<Code>(i));
    EXPECT_NE(n, "unknown") << "code " << i;
    EXPECT_EQ(n.find(' '), std::string_view::npos) << n;  // used as a JSON value
    names.insert(n);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(Code::kEnclaveCrashed) + 1);
  EXPECT_EQ(CodeName(Code::kUnavailable), "unavailable");
  EXPECT_EQ(CodeName(Code::kTimeout), "timeout");
  EXPECT_EQ(CodeName(Code::kEnclaveLost), "enclave_lost");
  EXPECT_EQ(CodeName(Code::kEnclaveCrashed), "enclave_crashed");
  EXPECT_EQ(CodeName(Code::kAlreadyExists), "already_exists");
}

TEST(StatusTest, WithContextPrefixesAndKeepsTheCode) {
  Status s = NotFound("no such file").WithContext("reading key.pem");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message(), "reading key.pem: no such file");
  // Context on success must not turn it into an error.
  EXPECT_TRUE(Status::Ok().WithContext("anything").ok());
  EXPECT_EQ(Status::Ok().WithContext("anything").message(), "");
}

TEST(StatusTest, EqualityComparesCodeAndMessage) {
  EXPECT_EQ(InvalidArgument("a"), InvalidArgument("a"));
  EXPECT_FALSE(InvalidArgument("a") == InvalidArgument("b"));
  EXPECT_FALSE(InvalidArgument("a") == NotFound("a"));
}

TEST(ResultTest, HoldsAValue) {
  Result<int> r = 42;
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
  EXPECT_TRUE(r.status().ok());
  *r = 7;
  EXPECT_EQ(r.value(), 7);
}

TEST(ResultTest, HoldsAnError) {
  Result<std::string> r = Expired("too late");
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.status().code(), Code::kExpired);
  EXPECT_EQ(r.status().message(), "too late");
}

TEST(ResultTest, MoveOnlyValuesAndArrow) {
  Result<std::unique_ptr<std::string>> r = std::make_unique<std::string>("abc");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->size(), 3u);
  std::unique_ptr<std::string> taken = std::move(r).value();
  EXPECT_EQ(*taken, "abc");

  Result<std::string> s = std::string("hello");
  EXPECT_EQ(s->size(), 5u);
}

#ifdef NDEBUG
TEST(ResultTest, BuiltFromOkStatusBecomesInternalErrorInRelease) {
  Result<int> r = Status::Ok();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInternal);
}
#else
TEST(ResultDeathTest, BuiltFromOkStatusAssertsInDebug) {
  EXPECT_DEATH({ Result<int> r = Status::Ok(); (void)r; }, "OK Status");
}
#endif

// --- macros

int g_calls = 0;

Status Step(bool fail) {
  ++g_calls;
  return fail ? InvalidArgument("step failed") : Status::Ok();
}

Status TwoSteps(bool fail_first, bool* reached_second) {
  CONFIDE_RETURN_IF_ERROR(Step(fail_first));
  *reached_second = true;
  CONFIDE_RETURN_IF_ERROR(Step(false));
  return Status::Ok();
}

Result<int> Parse(int v) {
  ++g_calls;
  if (v < 0) return OutOfRange("negative: " + std::to_string(v));
  return v * 2;
}

Result<int> SumOfParsed(int a, int b) {
  // Two uses in one scope: the macro's temporaries must not collide.
  CONFIDE_ASSIGN_OR_RETURN(int x, Parse(a));
  CONFIDE_ASSIGN_OR_RETURN(int y, Parse(b));
  return x + y;
}

Status AssignExisting(int v, int* out) {
  int tmp = -1;
  CONFIDE_ASSIGN_OR_RETURN(tmp, Parse(v));
  *out = tmp;
  return Status::Ok();
}

TEST(MacroTest, ReturnIfErrorStopsAtTheFirstFailure) {
  bool reached = false;
  g_calls = 0;
  Status s = TwoSteps(true, &reached);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "step failed");
  EXPECT_FALSE(reached);
  EXPECT_EQ(g_calls, 1);  // the expression is evaluated exactly once

  reached = false;
  g_calls = 0;
  EXPECT_TRUE(TwoSteps(false, &reached).ok());
  EXPECT_TRUE(reached);
  EXPECT_EQ(g_calls, 2);
}

TEST(MacroTest, AssignOrReturnAssignsOrPropagates) {
  g_calls = 0;
  Result<int> ok = SumOfParsed(1, 2);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 6);
  EXPECT_EQ(g_calls, 2);

  g_calls = 0;
  Result<int> bad = SumOfParsed(-3, 2);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kOutOfRange);
  EXPECT_EQ(bad.status().message(), "negative: -3");
  EXPECT_EQ(g_calls, 1);  // the second Parse never ran

  int out = 0;
  EXPECT_TRUE(AssignExisting(5, &out).ok());
  EXPECT_EQ(out, 10);
  EXPECT_EQ(AssignExisting(-1, &out).code(), Code::kOutOfRange);
  EXPECT_EQ(out, 10);
}

}  // namespace
}  // namespace confide
