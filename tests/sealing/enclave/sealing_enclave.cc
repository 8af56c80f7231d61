// A test enclave exposing sealing and local attestation to the host test (sealing_test.edl).
// Built several times with other signers, versions, products and code (CMakeLists.txt).
#include <algorithm>
#include <cstring>

#include "confide/crypto.h"
#include "confide/sealing.h"
#include "confide/trusted.h"
#include "sealing_test_t.h"
#include "trusted/platform_calls.h"

using namespace confide;
namespace ps = confide::platform_services;

#ifndef SEALING_VARIANT
#define SEALING_VARIANT "base"
#endif
// Different text, different image, different MRENCLAVE.
extern "C" __attribute__((used, visibility("default"))) const char kSealingVariant[] = SEALING_VARIANT;

namespace {

int Put(ByteSpan b, uint8_t* out, size_t cap, size_t* out_len) {
  if (b.size() > cap) return static_cast<int>(Code::kOutOfRange);
  if (!b.empty()) std::memcpy(out, b.data(), b.size());
  *out_len = b.size();
  return 0;
}

int Fail(const Status& s, uint8_t* out, size_t cap, size_t* out_len) {
  std::string m = s.message();
  size_t n = std::min(m.size(), cap);
  std::memcpy(out, m.data(), n);
  *out_len = n;
  return static_cast<int>(s.code());
}

}  // namespace

int seal_data(const uint8_t* data, size_t len, const uint8_t* aad, size_t aad_len, int policy, uint8_t* out,
              size_t cap, size_t* out_len) {
  auto blob = trusted::Seal(ByteSpan(data, len), ByteSpan(aad, aad_len), static_cast<ps::KeyPolicy>(policy));
  if (!blob.ok()) return Fail(blob.status(), out, cap, out_len);
  return Put(*blob, out, cap, out_len);
}

int unseal_data(const uint8_t* blob, size_t len, uint8_t* out, size_t cap, size_t* out_len) {
  auto u = trusted::Unseal(ByteSpan(blob, len));
  if (!u.ok()) return Fail(u.status(), out, cap, out_len);
  Bytes r;
  AppendU16Le(r, u->svn);
  AppendU16Le(r, static_cast<uint16_t>(u->policy));
  AppendU32Le(r, static_cast<uint32_t>(u->aad.size()));
  Append(r, u->aad);
  Append(r, u->plaintext);
  return Put(r, out, cap, out_len);
}

int self_identity(uint8_t* out, size_t cap, size_t* out_len) {
  auto id = trusted::SelfIdentity();
  if (!id.ok()) return Fail(id.status(), out, cap, out_len);
  return Put(ps::EncodeReportBody(*id), out, cap, out_len);
}

int target_info(uint8_t* out) {
  auto t = trusted::SelfTargetInfo();
  if (!t.ok()) return static_cast<int>(t.status().code());
  Bytes b = ps::EncodeTargetInfo(*t);
  std::memcpy(out, b.data(), b.size());
  return 0;
}

int make_report(const uint8_t* target, const uint8_t* data, uint8_t* out, size_t cap, size_t* out_len) {
  auto t = ps::DecodeTargetInfo(ByteSpan(target, ps::kTargetInfoSize));
  if (!t.ok()) return Fail(t.status(), out, cap, out_len);
  ps::ReportData rd;
  std::memcpy(rd.data(), data, rd.size());
  auto rep = trusted::GetReport(*t, rd);
  if (!rep.ok()) return Fail(rep.status(), out, cap, out_len);
  return Put(ps::EncodeReport(*rep), out, cap, out_len);
}

int verify_report(const uint8_t* report, size_t len, uint8_t* out, size_t cap, size_t* out_len) {
  auto body = trusted::VerifyReport(ByteSpan(report, len));
  if (!body.ok()) return Fail(body.status(), out, cap, out_len);
  return Put(ps::EncodeReportBody(*body), out, cap, out_len);
}

int seal_key(int policy, uint16_t svn) {
  ps::KeyId id{};
  auto k = trusted::GetSealKey(static_cast<ps::KeyPolicy>(policy), id, svn);
  if (!k.ok()) return static_cast<int>(k.status().code());
  SecureZero(k->data(), k->size());
  return 0;
}

int set_seal_rotation(uint64_t seals) {
  trusted::internal::SetSealKeyRotationForTesting(seals);
  return 0;
}

int raw_platform(const uint8_t* request, size_t len, uint8_t* out, size_t cap, size_t* out_len) {
  auto r = trusted::PlatformCall(Bytes(request, request + len));
  if (!r.ok()) return Fail(r.status(), out, cap, out_len);
  return Put(*r, out, cap, out_len);
}

int caller_buffers(uint8_t* out, size_t cap, size_t* out_len) {
  auto fail = [&](const std::string& what) {
    return Fail(Status(Code::kInternal, what), out, cap, out_len);
  };
  Bytes plain = crypto::RandomBytes(5000);
  Bytes aad = {1, 2, 3};
  Bytes blob(trusted::SealedSize(plain.size(), aad.size()) + 1);
  Status wrong = trusted::SealTo(plain, aad, ps::KeyPolicy::kUnique, blob);
  if (wrong.code() != Code::kInvalidArgument || wrong.message().find("needs 5087 (SealedSize)") == std::string::npos)
    return fail("SealTo accepted a wrong-sized buffer: " + wrong.ToString());
  blob.pop_back();
  Status sealed = trusted::SealTo(plain, aad, ps::KeyPolicy::kUnique, blob);
  if (!sealed.ok()) return fail("SealTo: " + sealed.ToString());
  auto n = trusted::SealedPlaintextSize(blob);
  if (!n.ok() || *n != plain.size()) return fail("SealedPlaintextSize");
  Bytes small(*n - 1);
  auto refused = trusted::UnsealTo(blob, small);
  if (refused.ok() || refused.status().code() != Code::kInvalidArgument ||
      refused.status().message().find("plaintext is 5000") == std::string::npos)
    return fail("UnsealTo accepted a wrong-sized buffer");
  Bytes back(*n);
  auto view = trusted::UnsealTo(blob, back);
  if (!view.ok()) return fail("UnsealTo: " + view.status().ToString());
  if (back != plain || Bytes(view->aad.begin(), view->aad.end()) != aad || view->policy != ps::KeyPolicy::kUnique)
    return fail("UnsealTo returned other contents");
  // A failed unseal leaves no plaintext behind in the caller's buffer.
  blob[100] ^= 1;
  std::fill(back.begin(), back.end(), 0xEE);
  auto bad = trusted::UnsealTo(blob, back);
  if (bad.ok() || bad.status().code() != Code::kVerificationFailed) return fail("UnsealTo accepted a flipped bit");
  if (std::any_of(back.begin(), back.end(), [](uint8_t b) { return b != 0; }))
    return fail("UnsealTo left bytes in the buffer after a failed MAC");
  *out_len = 0;
  return 0;
}
