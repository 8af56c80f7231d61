#include "confide/status.h"

namespace confide {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kNotFound: return "not_found";
    case Code::kAlreadyExists: return "already_exists";
    case Code::kPermissionDenied: return "permission_denied";
    case Code::kVerificationFailed: return "verification_failed";
    case Code::kExpired: return "expired";
    case Code::kRevoked: return "revoked";
    case Code::kPolicyViolation: return "policy_violation";
    case Code::kUnsupported: return "unsupported";
    case Code::kOutOfRange: return "out_of_range";
    case Code::kIo: return "io";
    case Code::kCrypto: return "crypto";
    case Code::kInternal: return "internal";
    case Code::kUnavailable: return "unavailable";
    case Code::kTimeout: return "timeout";
    case Code::kEnclaveLost: return "enclave_lost";
    case Code::kEnclaveCrashed: return "enclave_crashed";
  }
  return "unknown";
}

const std::string& Status::EmptyMessage() {
  static const std::string empty;
  return empty;
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code())) + ": " + message();
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  return Status(code(), std::string(context) + ": " + message());
}

Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
Status PermissionDenied(std::string m) { return Status(Code::kPermissionDenied, std::move(m)); }
Status VerificationFailed(std::string m) { return Status(Code::kVerificationFailed, std::move(m)); }
Status Expired(std::string m) { return Status(Code::kExpired, std::move(m)); }
Status Revoked(std::string m) { return Status(Code::kRevoked, std::move(m)); }
Status PolicyViolation(std::string m) { return Status(Code::kPolicyViolation, std::move(m)); }
Status Unsupported(std::string m) { return Status(Code::kUnsupported, std::move(m)); }
Status OutOfRange(std::string m) { return Status(Code::kOutOfRange, std::move(m)); }
Status IoError(std::string m) { return Status(Code::kIo, std::move(m)); }
Status CryptoError(std::string m) { return Status(Code::kCrypto, std::move(m)); }
Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }

}  // namespace confide
