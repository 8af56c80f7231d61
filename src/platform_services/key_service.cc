// The platform's side of key derivation and reports: what EGETKEY and EREPORT do on SGX,
// done by whichever process verified the enclave's image (soft daemon, sim host).
#include <cstring>

#include "confide/crypto.h"
#include "confide/platform_services.h"
#include "platform_services/payloads.h"

namespace confide::platform_services {
namespace {

// Domain separation: every derivation and the public platform id use their own label.
constexpr std::string_view kDeriveSalt = "confide/platform-key-derivation/v1";
constexpr std::string_view kPlatformIdLabel = "confide/platform-id/v1";

template <size_t N>
void Put(Bytes& out, const std::array<uint8_t, N>& a, bool include) {
  if (include) Append(out, a);
  else out.insert(out.end(), N, 0);
}

// Every input of a derived key, fixed-size so no two requests share an encoding. UNIQUE
// binds MRENCLAVE, PRODUCT binds MRSIGNER + ProductID (the other fields are zero), as SGX's
// KEYPOLICY.MRENCLAVE / MRSIGNER do; the debug bit is bound under both, so a debug enclave
// never derives a production enclave's keys.
Bytes Material(const Identity& id, const KeyRequest& r) {
  bool unique = r.policy == KeyPolicy::kUnique;
  Bytes m;
  m.reserve(128);
  AppendU16Le(m, static_cast<uint16_t>(r.name));
  AppendU16Le(m, static_cast<uint16_t>(r.policy));
  AppendU16Le(m, r.svn);
  m.push_back(id.debug ? 1 : 0);
  Put(m, id.mrenclave, unique);
  Put(m, id.mrsigner, !unique);
  AppendU16Le(m, unique ? 0 : id.product_id);
  Append(m, r.key_id);
  return m;
}

}  // namespace

Identity IdentityOf(const image::SignedImage& image) {
  Identity id;
  id.mrenclave = image.mrenclave;
  id.mrsigner = image.mrsigner;
  id.product_id = image.config.product_id;
  id.security_version = image.config.security_version;
  id.debug = image.config.debug;
  return id;
}

KeyService::KeyService(const Key& root, bool development) : development_(development) {
  // HKDF (RFC 5869) split in its two steps: Extract once here, Expand per key.
  Bytes prk = crypto::Hmac(crypto::HashAlg::kSha256, AsBytes(kDeriveSalt), root);
  std::memcpy(prk_.data(), prk.data(), prk_.size());
  SecureZero(prk);
  Bytes mac = crypto::Hmac(crypto::HashAlg::kSha256, root, AsBytes(kPlatformIdLabel));
  Bytes in(kPlatformIdLabel.begin(), kPlatformIdLabel.end());
  Append(in, mac);
  Bytes id = crypto::Sha256(in);
  std::memcpy(platform_id_.data(), id.data(), platform_id_.size());
  SecureZero(mac);
  SecureZero(in);
}

KeyService::~KeyService() { SecureZero(prk_.data(), prk_.size()); }

Result<Key> KeyService::DeriveKey(const Identity& caller, const KeyRequest& request) const {
  if (request.name != KeyName::kSeal && request.name != KeyName::kReport)
    return InvalidArgument("unknown key name " + std::to_string(static_cast<int>(request.name)));
  if (request.policy != KeyPolicy::kUnique && request.policy != KeyPolicy::kProduct)
    return InvalidArgument("unknown key policy " + std::to_string(static_cast<int>(request.policy)));
  if (request.name == KeyName::kReport && (request.policy != KeyPolicy::kUnique || request.svn != 0))
    return InvalidArgument("report keys are bound to MRENCLAVE alone: ask with policy UNIQUE and svn 0");
  if (request.svn > caller.security_version)
    return PermissionDenied("a key for SecurityVersion " + std::to_string(request.svn) +
                            " is refused to an enclave of SecurityVersion " +
                            std::to_string(caller.security_version) +
                            ": enclaves derive keys of their own and older versions only (data from a newer "
                            "version needs that version or a later one)");
  // HKDF-Expand for one 32-byte block: T(1) = HMAC(PRK, info || 0x01).
  Bytes info = Material(caller, request);
  info.push_back(0x01);
  Bytes okm = crypto::Hmac(crypto::HashAlg::kSha256, prk_, info);
  Key key;
  std::memcpy(key.data(), okm.data(), key.size());
  SecureZero(okm);
  return key;
}

ReportBody KeyService::BodyFor(const Identity& caller, const ReportData& data) const {
  ReportBody b;
  b.version = 1;
  b.flags = (caller.debug ? kReportFlagDebug : 0) | (development_ ? kReportFlagDevelopment : 0);
  b.identity = caller;
  b.platform_id = platform_id_;
  b.report_data = data;
  return b;
}

Result<Report> KeyService::MakeReport(const Identity& caller, const TargetInfo& target,
                                      const ReportData& data) const {
  Report rep;
  rep.body = BodyFor(caller, data);
  CONFIDE_RETURN_IF_ERROR(crypto::RandomFill(rep.key_id.data(), rep.key_id.size()));
  // The key the target derives for itself (its MRENCLAVE and debug bit): only it, and this
  // platform, can compute the MAC.
  Identity target_id;
  target_id.mrenclave = target.mrenclave;
  target_id.debug = target.debug;
  KeyRequest kr{KeyName::kReport, KeyPolicy::kUnique, 0, rep.key_id};
  CONFIDE_ASSIGN_OR_RETURN(Key key, DeriveKey(target_id, kr));
  Bytes mac = crypto::Hmac(crypto::HashAlg::kSha256, key, EncodeReportBody(rep.body));
  SecureZero(key.data(), key.size());
  std::memcpy(rep.mac.data(), mac.data(), rep.mac.size());
  return rep;
}

Bytes KeyService::Serve(const Identity& caller, ByteSpan request) const {
  auto handle = [&]() -> Result<Bytes> {
    if (request.size() > kMaxMessageBytes)
      return InvalidArgument("platform request of " + std::to_string(request.size()) + " bytes exceeds the " +
                             std::to_string(kMaxMessageBytes) + "-byte limit");
    ByteReader r(request, "platform request");
    auto op = r.U32Le("op");
    if (!op.ok()) return InvalidArgument("platform request of " + std::to_string(request.size()) +
                                         " bytes is shorter than its 4-byte operation code");
    ByteSpan payload = r.rest();
    switch (static_cast<Op>(*op)) {
      case Op::kGetIdentity: {
        if (!payload.empty()) return InvalidArgument("get-identity takes no payload");
        return EncodeReportBody(BodyFor(caller, ReportData{}));
      }
      case Op::kGetKey: {
        CONFIDE_ASSIGN_OR_RETURN(KeyRequest kr, internal::DecodeGetKeyPayload(payload));
        CONFIDE_ASSIGN_OR_RETURN(Key key, DeriveKey(caller, kr));
        Bytes out(key.begin(), key.end());
        SecureZero(key.data(), key.size());
        return out;
      }
      case Op::kGetReport: {
        TargetInfo target;
        ReportData data;
        CONFIDE_RETURN_IF_ERROR(internal::DecodeGetReportPayload(payload, &target, &data));
        CONFIDE_ASSIGN_OR_RETURN(Report rep, MakeReport(caller, target, data));
        return EncodeReport(rep);
      }
      case Op::kGetQuote: {
        ReportData data;
        CONFIDE_RETURN_IF_ERROR(internal::DecodeGetQuotePayload(payload, &data));
        if (!quoter_) return Unsupported("this platform cannot produce quotes (no attestation key is configured)");
        return quoter_(BodyFor(caller, data));
      }
    }
    return InvalidArgument("unknown platform operation " + std::to_string(*op) +
                           " (1 identity, 2 key, 3 report, 4 quote)");
  };
  Result<Bytes> result = handle();
  // A reply travels in one message of at most kMaxMessageBytes; the soft runtime's read would
  // cut a longer one short without notice. Only a quote can be that long: its chain is.
  if (result.ok() && result->size() > kMaxMessageBytes - 4) {
    size_t n = result->size();
    SecureZero(result.value());
    result = OutOfRange("the platform's reply of " + std::to_string(n + 4) + " bytes exceeds the " +
                        std::to_string(kMaxMessageBytes) +
                        "-byte limit of platform messages: the platform certificate chain is too large for a "
                        "quote; install a shorter one (confide platform start --cert/--chain)");
  }
  Bytes reply = EncodeReply(result);
  if (result.ok()) SecureZero(result.value());
  return reply;
}

const Key& SimRootSecret() {
  // Public by design: anyone can compute every sim key. It exists so sim runs the same code.
  static const Key kRoot = [] {
    Bytes h = crypto::Sha256(AsBytes("confide sim platform root secret: public, protects nothing"));
    Key k;
    std::memcpy(k.data(), h.data(), k.size());
    return k;
  }();
  return kRoot;
}

}  // namespace confide::platform_services
