// Status and Result<T>: confide's only error channel. Every failure carries a code a
// program can branch on and a message a person can act on ("what was wrong, what to do").
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace confide {

enum class Code {
  kOk = 0,
  kInvalidArgument,     // malformed input: bad file, bad field, bad size
  kNotFound,            // a named file, key, extension or entry does not exist
  kAlreadyExists,
  kPermissionDenied,    // the environment refuses (file mode, kernel feature, policy)
  kVerificationFailed,  // a signature, MAC, measurement or chain does not check out
  kExpired,             // outside a validity window at the evaluation time
  kRevoked,             // listed in a CRL / TCB info as revoked
  kPolicyViolation,     // valid evidence, but a policy refuses it
  kUnsupported,         // a version / algorithm / format confide does not handle
  kOutOfRange,          // a number outside its allowed range
  kIo,                  // reading or writing a file or socket failed
  kCrypto,              // the crypto library reported an unexpected failure
  kInternal,            // a confide bug: please report it
  kUnavailable,         // a service or slot is not available right now
  kTimeout,
  kEnclaveLost,         // tamper response: enclave secrets were wiped
  kEnclaveCrashed,
};

// Short stable name of a code, e.g. "verification_failed" (used in JSON output).
std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  // OK is a null pointer: making, moving and dropping an OK Status costs a word, which
  // matters on the call path, where every step returns one.
  Status() = default;
  Status(Code code, std::string message)
      : rep_(code == Code::kOk ? nullptr : new Rep{code, std::move(message)}) {}
  Status(const Status& o) : rep_(o.rep_ ? new Rep(*o.rep_) : nullptr) {}
  Status(Status&& o) noexcept : rep_(o.rep_) { o.rep_ = nullptr; }
  Status& operator=(const Status& o) {
    if (this != &o) {
      Rep* r = o.rep_ ? new Rep(*o.rep_) : nullptr;
      delete rep_;
      rep_ = r;
    }
    return *this;
  }
  Status& operator=(Status&& o) noexcept {
    if (this != &o) {
      delete rep_;
      rep_ = o.rep_;
      o.rep_ = nullptr;
    }
    return *this;
  }
  ~Status() { delete rep_; }

  static Status Ok() { return Status(); }

  bool ok() const { return rep_ == nullptr; }
  Code code() const { return rep_ ? rep_->code : Code::kOk; }
  const std::string& message() const { return rep_ ? rep_->message : EmptyMessage(); }
  // "verification_failed: quote signature does not verify ..."
  std::string ToString() const;

  // Returns a copy whose message is prefixed with context ("reading key.pem: ...").
  Status WithContext(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct Rep {
    Code code;
    std::string message;
  };
  static const std::string& EmptyMessage();
  Rep* rep_ = nullptr;
};

Status InvalidArgument(std::string message);
Status NotFound(std::string message);
Status PermissionDenied(std::string message);
Status VerificationFailed(std::string message);
Status Expired(std::string message);
Status Revoked(std::string message);
Status PolicyViolation(std::string message);
Status Unsupported(std::string message);
Status OutOfRange(std::string message);
Status IoError(std::string message);
Status CryptoError(std::string message);
Status Internal(std::string message);

// Either a T or a non-OK Status. No exceptions: value() on an error asserts.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::in_place_type<Status>, NotOk(std::move(status))) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { assert(ok()); return std::get<T>(v_); }
  const T& value() const& { assert(ok()); return std::get<T>(v_); }
  T&& value() && { assert(ok()); return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  static Status NotOk(Status s) {
    assert(!s.ok() && "Result constructed from an OK Status");
    if (s.ok()) return Status(Code::kInternal, "Result built from OK status");
    return s;
  }
  std::variant<T, Status> v_;
};

}  // namespace confide

#define CONFIDE_CONCAT_INNER_(a, b) a##b
#define CONFIDE_CONCAT_(a, b) CONFIDE_CONCAT_INNER_(a, b)

// Returns early from the enclosing function when `expr` (a Status) is not OK.
#define CONFIDE_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::confide::Status confide_status_ = (expr);        \
    if (!confide_status_.ok()) return confide_status_; \
  } while (0)

// `lhs` = value of `rexpr` (a Result<T>), or return its Status.
#define CONFIDE_ASSIGN_OR_RETURN(lhs, rexpr) \
  CONFIDE_ASSIGN_OR_RETURN_IMPL_(CONFIDE_CONCAT_(confide_result_, __LINE__), lhs, rexpr)
#define CONFIDE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                   \
  if (!tmp.ok()) return tmp.status();                   \
  lhs = std::move(tmp).value()
