// Fixed-size, little-endian encodings of target infos, reports and platform messages.
#include <cstring>

#include "confide/platform_services.h"
#include "platform_services/payloads.h"

namespace confide::platform_services {
namespace {

constexpr uint16_t kReportVersion = 1;
constexpr uint32_t kKnownReportFlags = kReportFlagDebug | kReportFlagDevelopment;
constexpr uint32_t kTargetFlagDebug = 1u << 0;
constexpr size_t kGetKeyPayload = 2 + 2 + 2 + 2 + 32;
constexpr size_t kGetReportPayload = kTargetInfoSize + 64;

void AppendZeros(Bytes& out, size_t n) { out.insert(out.end(), n, 0); }

template <size_t N>
Status TakeArray(ByteReader& r, std::array<uint8_t, N>& out, std::string_view field) {
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan b, r.Take(N, field));
  std::memcpy(out.data(), b.data(), N);
  return Status::Ok();
}

Status ExpectZeros(ByteReader& r, size_t n, std::string_view what) {
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan b, r.Take(n, what));
  for (uint8_t v : b)
    if (v != 0) return InvalidArgument(std::string(what) + " bytes must be zero (a newer or damaged format)");
  return Status::Ok();
}

Status ExpectSize(ByteSpan b, size_t size, std::string_view what) {
  if (b.size() != size)
    return InvalidArgument(std::string(what) + " must be exactly " + std::to_string(size) + " bytes, got " +
                           std::to_string(b.size()));
  return Status::Ok();
}

Bytes OpHeader(Op op) {
  Bytes out;
  AppendU32Le(out, static_cast<uint32_t>(op));
  return out;
}

}  // namespace

Bytes EncodeTargetInfo(const TargetInfo& t) {
  Bytes out;
  out.reserve(kTargetInfoSize);
  Append(out, t.mrenclave);
  AppendU32Le(out, t.debug ? kTargetFlagDebug : 0);
  AppendZeros(out, kTargetInfoSize - out.size());
  return out;
}

Result<TargetInfo> DecodeTargetInfo(ByteSpan b) {
  CONFIDE_RETURN_IF_ERROR(ExpectSize(b, kTargetInfoSize, "a target info"));
  ByteReader r(b, "target info");
  TargetInfo t;
  CONFIDE_RETURN_IF_ERROR(TakeArray(r, t.mrenclave, "mrenclave"));
  CONFIDE_ASSIGN_OR_RETURN(uint32_t flags, r.U32Le("flags"));
  if (flags & ~kTargetFlagDebug)
    return InvalidArgument("target info flags " + std::to_string(flags) +
                           " carry unknown bits; only bit 0 (debug) is defined");
  t.debug = (flags & kTargetFlagDebug) != 0;
  CONFIDE_RETURN_IF_ERROR(ExpectZeros(r, r.remaining(), "target info reserved"));
  return t;
}

Bytes EncodeReportBody(const ReportBody& b) {
  Bytes out;
  out.reserve(kReportBodySize);
  AppendU16Le(out, b.version);
  AppendU16Le(out, 0);
  AppendU32Le(out, b.flags | (b.identity.debug ? kReportFlagDebug : 0));
  Append(out, b.identity.mrenclave);
  Append(out, b.identity.mrsigner);
  AppendU16Le(out, b.identity.product_id);
  AppendU16Le(out, b.identity.security_version);
  AppendZeros(out, 4);
  Append(out, b.platform_id);
  Append(out, b.report_data);
  AppendZeros(out, kReportBodySize - out.size());
  return out;
}

Result<ReportBody> DecodeReportBody(ByteSpan b) {
  CONFIDE_RETURN_IF_ERROR(ExpectSize(b, kReportBodySize, "a report body"));
  ByteReader r(b, "report body");
  ReportBody body;
  CONFIDE_ASSIGN_OR_RETURN(body.version, r.U16Le("version"));
  if (body.version != kReportVersion)
    return Unsupported("report version " + std::to_string(body.version) + " is not supported (this build reads " +
                       std::to_string(kReportVersion) + ")");
  CONFIDE_RETURN_IF_ERROR(ExpectZeros(r, 2, "report reserved (offset 2)"));
  CONFIDE_ASSIGN_OR_RETURN(body.flags, r.U32Le("flags"));
  if (body.flags & ~kKnownReportFlags)
    return InvalidArgument("report flags " + std::to_string(body.flags) +
                           " carry unknown bits; only debug (1) and development (2) are defined");
  body.identity.debug = (body.flags & kReportFlagDebug) != 0;
  CONFIDE_RETURN_IF_ERROR(TakeArray(r, body.identity.mrenclave, "mrenclave"));
  CONFIDE_RETURN_IF_ERROR(TakeArray(r, body.identity.mrsigner, "mrsigner"));
  CONFIDE_ASSIGN_OR_RETURN(body.identity.product_id, r.U16Le("product_id"));
  CONFIDE_ASSIGN_OR_RETURN(body.identity.security_version, r.U16Le("security_version"));
  CONFIDE_RETURN_IF_ERROR(ExpectZeros(r, 4, "report reserved (offset 76)"));
  CONFIDE_RETURN_IF_ERROR(TakeArray(r, body.platform_id, "platform_id"));
  CONFIDE_RETURN_IF_ERROR(TakeArray(r, body.report_data, "report_data"));
  CONFIDE_RETURN_IF_ERROR(ExpectZeros(r, r.remaining(), "report reserved (offset 176)"));
  return body;
}

Bytes EncodeReport(const Report& rep) {
  Bytes out = EncodeReportBody(rep.body);
  Append(out, rep.key_id);
  Append(out, rep.mac);
  return out;
}

Result<Report> DecodeReport(ByteSpan b) {
  CONFIDE_RETURN_IF_ERROR(ExpectSize(b, kReportSize, "a report"));
  Report rep;
  CONFIDE_ASSIGN_OR_RETURN(rep.body, DecodeReportBody(b.first(kReportBodySize)));
  ByteReader r(b.subspan(kReportBodySize), "report");
  CONFIDE_RETURN_IF_ERROR(TakeArray(r, rep.key_id, "key_id"));
  CONFIDE_RETURN_IF_ERROR(TakeArray(r, rep.mac, "mac"));
  return rep;
}

// ---------------------------------------------------------------- messages
Bytes EncodeGetIdentity() { return OpHeader(Op::kGetIdentity); }

Bytes EncodeGetKey(const KeyRequest& k) {
  Bytes out = OpHeader(Op::kGetKey);
  AppendU16Le(out, static_cast<uint16_t>(k.name));
  AppendU16Le(out, static_cast<uint16_t>(k.policy));
  AppendU16Le(out, k.svn);
  AppendU16Le(out, 0);
  Append(out, k.key_id);
  return out;
}

Bytes EncodeGetReport(const TargetInfo& target, const ReportData& report_data) {
  Bytes out = OpHeader(Op::kGetReport);
  Append(out, EncodeTargetInfo(target));
  Append(out, report_data);
  return out;
}

Bytes EncodeGetQuote(const ReportData& report_data) {
  Bytes out = OpHeader(Op::kGetQuote);
  Append(out, report_data);
  return out;
}

Bytes EncodeReply(const Result<Bytes>& result) {
  Bytes out;
  if (result.ok()) {
    AppendU32Le(out, 0);
    Append(out, *result);
    return out;
  }
  AppendU32Le(out, static_cast<uint32_t>(static_cast<int32_t>(result.status().code())));
  std::string msg = result.status().message();
  if (msg.size() > kMaxMessageBytes - 4) msg.resize(kMaxMessageBytes - 4);
  Append(out, AsBytes(msg));
  return out;
}

Result<Bytes> DecodeReply(ByteSpan reply) {
  if (reply.size() < 4) return InvalidArgument("platform reply of " + std::to_string(reply.size()) +
                                               " bytes is shorter than its 4-byte code");
  if (reply.size() > kMaxMessageBytes)
    return InvalidArgument("platform reply of " + std::to_string(reply.size()) + " bytes exceeds the " +
                           std::to_string(kMaxMessageBytes) + "-byte limit");
  ByteReader r(reply, "platform reply");
  CONFIDE_ASSIGN_OR_RETURN(uint32_t raw, r.U32Le("code"));
  int32_t code = static_cast<int32_t>(raw);
  if (code == 0) return Bytes(r.rest().begin(), r.rest().end());
  std::string msg = ToString(r.rest());
  if (code < 0 || code > static_cast<int32_t>(Code::kEnclaveCrashed))
    return Status(Code::kInternal, "platform replied with unknown code " + std::to_string(code) + ": " + msg);
  return Status(static_cast<Code>(code), msg);
}

namespace internal {

Result<KeyRequest> DecodeGetKeyPayload(ByteSpan p) {
  CONFIDE_RETURN_IF_ERROR(ExpectSize(p, kGetKeyPayload, "a get-key request payload"));
  ByteReader r(p, "get-key request");
  KeyRequest k;
  CONFIDE_ASSIGN_OR_RETURN(uint16_t name, r.U16Le("name"));
  CONFIDE_ASSIGN_OR_RETURN(uint16_t policy, r.U16Le("policy"));
  CONFIDE_ASSIGN_OR_RETURN(k.svn, r.U16Le("svn"));
  CONFIDE_RETURN_IF_ERROR(ExpectZeros(r, 2, "get-key reserved"));
  CONFIDE_RETURN_IF_ERROR(TakeArray(r, k.key_id, "key_id"));
  if (name != static_cast<uint16_t>(KeyName::kSeal) && name != static_cast<uint16_t>(KeyName::kReport))
    return InvalidArgument("unknown key name " + std::to_string(name) + " (1 = seal, 2 = report)");
  if (policy != static_cast<uint16_t>(KeyPolicy::kUnique) && policy != static_cast<uint16_t>(KeyPolicy::kProduct))
    return InvalidArgument("unknown key policy " + std::to_string(policy) + " (1 = unique, 2 = product)");
  k.name = static_cast<KeyName>(name);
  k.policy = static_cast<KeyPolicy>(policy);
  return k;
}

Status DecodeGetReportPayload(ByteSpan p, TargetInfo* target, ReportData* data) {
  CONFIDE_RETURN_IF_ERROR(ExpectSize(p, kGetReportPayload, "a get-report request payload"));
  CONFIDE_ASSIGN_OR_RETURN(*target, DecodeTargetInfo(p.first(kTargetInfoSize)));
  std::memcpy(data->data(), p.data() + kTargetInfoSize, data->size());
  return Status::Ok();
}

Status DecodeGetQuotePayload(ByteSpan p, ReportData* data) {
  CONFIDE_RETURN_IF_ERROR(ExpectSize(p, 64, "a get-quote request payload"));
  std::memcpy(data->data(), p.data(), data->size());
  return Status::Ok();
}

}  // namespace internal
}  // namespace confide::platform_services
