// Soft collateral: the signed TCB info statement and the CA's CRLs.
// nlohmann::json is used without exceptions: parse with allow_exceptions = false and check
// every value's type before reading it.
#include <openssl/x509v3.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "confide/attestation/soft.h"

namespace confide::attestation::soft {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

namespace {

constexpr std::string_view kTcbInfoId = "confide-soft";

Result<const Json*> Field(const Json& obj, std::string_view doc, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end()) return InvalidArgument(std::string(doc) + " field '" + std::string(key) + "' is missing");
  return &*it;
}

Result<std::string> GetString(const Json& obj, std::string_view doc, std::string_view key) {
  CONFIDE_ASSIGN_OR_RETURN(const Json* v, Field(obj, doc, key));
  if (!v->is_string()) return InvalidArgument(std::string(doc) + " field '" + std::string(key) + "' must be a string");
  return v->get<std::string>();
}

Result<uint32_t> GetU32(const Json& obj, std::string_view doc, std::string_view key) {
  CONFIDE_ASSIGN_OR_RETURN(const Json* v, Field(obj, doc, key));
  if (!v->is_number_unsigned() || v->get<uint64_t>() > 0xffffffffu)
    return InvalidArgument(std::string(doc) + " field '" + std::string(key) +
                           "' must be an integer from 0 to 4294967295");
  return static_cast<uint32_t>(v->get<uint64_t>());
}

Result<UnixTime> GetTime(const Json& obj, std::string_view doc, std::string_view key) {
  CONFIDE_ASSIGN_OR_RETURN(std::string text, GetString(obj, doc, key));
  auto t = ParseRfc3339(text);
  if (!t.ok()) return InvalidArgument(std::string(doc) + " field '" + std::string(key) + "': " + t.status().message());
  return *t;
}

std::vector<TcbLevel> SortedLevels(std::vector<TcbLevel> levels) {
  std::stable_sort(levels.begin(), levels.end(),
                   [](const TcbLevel& a, const TcbLevel& b) { return a.platform_svn > b.platform_svn; });
  return levels;
}

}  // namespace

std::string EncodeTcbInfo(const TcbInfo& info) {
  OrderedJson j;
  j["id"] = kTcbInfoId;
  j["version"] = info.version;
  j["issueDate"] = FormatRfc3339(info.issue_date);
  j["nextUpdate"] = FormatRfc3339(info.next_update);
  j["tcbEvaluationDataNumber"] = info.evaluation_number;
  OrderedJson levels = OrderedJson::array();
  for (const auto& l : SortedLevels(info.levels)) {
    OrderedJson level;
    level["platformSvn"] = l.platform_svn;
    level["tcbStatus"] = TcbStatusName(l.status);
    level["advisoryIDs"] = l.advisory_ids;
    levels.push_back(std::move(level));
  }
  j["tcbLevels"] = std::move(levels);
  return j.dump();
}

Result<TcbInfo> ParseTcbInfo(std::string_view text) {
  constexpr std::string_view kDoc = "TCB info";
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("TCB info is not a JSON object");
  CONFIDE_ASSIGN_OR_RETURN(std::string id, GetString(j, kDoc, "id"));
  if (id != kTcbInfoId)
    return InvalidArgument("TCB info id is '" + id + "', expected '" + std::string(kTcbInfoId) +
                           "' (this is not soft collateral)");
  TcbInfo info;
  CONFIDE_ASSIGN_OR_RETURN(info.version, GetU32(j, kDoc, "version"));
  if (info.version != 1) return Unsupported("TCB info version " + std::to_string(info.version) + " is not supported (expected 1)");
  CONFIDE_ASSIGN_OR_RETURN(info.issue_date, GetTime(j, kDoc, "issueDate"));
  CONFIDE_ASSIGN_OR_RETURN(info.next_update, GetTime(j, kDoc, "nextUpdate"));
  if (info.next_update <= info.issue_date) return InvalidArgument("TCB info nextUpdate is not after its issueDate");
  CONFIDE_ASSIGN_OR_RETURN(info.evaluation_number, GetU32(j, kDoc, "tcbEvaluationDataNumber"));
  CONFIDE_ASSIGN_OR_RETURN(const Json* levels, Field(j, kDoc, "tcbLevels"));
  if (!levels->is_array() || levels->empty()) return InvalidArgument("TCB info field 'tcbLevels' must be a non-empty array");
  for (const auto& l : *levels) {
    constexpr std::string_view kLevel = "TCB info level";
    if (!l.is_object()) return InvalidArgument("TCB info level is not a JSON object");
    TcbLevel level;
    CONFIDE_ASSIGN_OR_RETURN(level.platform_svn, GetU32(l, kLevel, "platformSvn"));
    CONFIDE_ASSIGN_OR_RETURN(std::string status, GetString(l, kLevel, "tcbStatus"));
    auto parsed = ParseTcbStatus(status);
    if (!parsed.ok()) return InvalidArgument("TCB info level " + std::to_string(level.platform_svn) + ": " + parsed.status().message());
    level.status = *parsed;
    auto adv = l.find("advisoryIDs");
    if (adv != l.end()) {
      if (!adv->is_array()) return InvalidArgument("TCB info level field 'advisoryIDs' must be an array of strings");
      for (const auto& a : *adv) {
        if (!a.is_string()) return InvalidArgument("TCB info level field 'advisoryIDs' must be an array of strings");
        level.advisory_ids.push_back(a.get<std::string>());
      }
    }
    if (!info.levels.empty() && info.levels.back().platform_svn <= level.platform_svn)
      return InvalidArgument("TCB info levels must be listed with strictly decreasing platformSvn");
    info.levels.push_back(std::move(level));
  }
  return info;
}

// ---------------------------------------------------------------- SoftCollateral
struct SoftCollateral::State {
  std::string tcb_text;
  Bytes tcb_signature;
  TcbInfo tcb_info;
  x509::Certificate tcb_signing;
  std::vector<x509::Crl> crls;
  mutable std::mutex mu;
  mutable std::vector<Bytes> verified_roots;   // fingerprints whose signature checks passed
  // SHA-256 over the root fingerprint and the chain's DERs -> the verified, parsed chain.
  mutable std::map<Bytes, std::shared_ptr<const VerifiedPlatform>> verified_chains;
};

namespace {
constexpr size_t kMaxCachedChains = 1024;
}  // namespace

SoftCollateral::SoftCollateral(SoftCollateral&&) noexcept = default;
SoftCollateral& SoftCollateral::operator=(SoftCollateral&&) noexcept = default;
SoftCollateral::~SoftCollateral() = default;
const TcbInfo& SoftCollateral::tcb_info() const { return state_->tcb_info; }

Result<SoftCollateral> SoftCollateral::Parse(ByteSpan json) {
  constexpr std::string_view kDoc = "soft collateral";
  Json j = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return InvalidArgument("soft collateral is not a JSON object (expected the output of `confide provision tcb-info` "
                           "or `confide platform collateral`)");
  auto state = std::make_unique<State>();
  CONFIDE_ASSIGN_OR_RETURN(uint32_t version, GetU32(j, kDoc, "version"));
  if (version != 1) return Unsupported("soft collateral version " + std::to_string(version) + " is not supported (expected 1)");
  CONFIDE_ASSIGN_OR_RETURN(state->tcb_text, GetString(j, kDoc, "tcb_info"));
  CONFIDE_ASSIGN_OR_RETURN(std::string sig_hex, GetString(j, kDoc, "tcb_info_signature"));
  auto sig = HexDecode(sig_hex);
  if (!sig.ok() || sig->size() != kSignatureSize)
    return InvalidArgument("soft collateral field 'tcb_info_signature' must be 64 bytes of hex (r || s)");
  state->tcb_signature = std::move(sig).value();
  auto info = ParseTcbInfo(state->tcb_text);
  if (!info.ok()) return info.status();
  state->tcb_info = std::move(info).value();
  CONFIDE_ASSIGN_OR_RETURN(std::string chain_pem, GetString(j, kDoc, "tcb_signing_chain"));
  auto chain = x509::Certificate::ParseAll(AsBytes(chain_pem));
  if (!chain.ok() || chain->empty())
    return InvalidArgument("soft collateral field 'tcb_signing_chain' holds no PEM certificate");
  state->tcb_signing = chain->front();
  CONFIDE_ASSIGN_OR_RETURN(const Json* crls, Field(j, kDoc, "crls"));
  if (!crls->is_array() || crls->empty())
    return InvalidArgument("soft collateral field 'crls' must be a non-empty array of PEM CRLs (root and platform CA)");
  for (const auto& c : *crls) {
    if (!c.is_string()) return InvalidArgument("soft collateral field 'crls' must hold PEM strings");
    auto crl = x509::Crl::Parse(AsBytes(c.get_ref<const std::string&>()));
    if (!crl.ok()) return crl.status().WithContext("soft collateral CRL");
    if (!crl->NextUpdate())
      return InvalidArgument("soft collateral CRL of '" + crl->IssuerName() + "' has no nextUpdate");
    state->crls.push_back(std::move(crl).value());
  }
  SoftCollateral out;
  out.state_ = std::move(state);
  return out;
}

Status SoftCollateral::CheckSignatures(const x509::Certificate& root) const {
  const State& s = *state_;
  Bytes fp = root.Sha256Fingerprint();
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (std::find(s.verified_roots.begin(), s.verified_roots.end(), fp) != s.verified_roots.end())
      return Status::Ok();
  }
  // The TCB signing certificate is issued by the root itself and is no CA: the platform CA's
  // key cannot sign TCB statements.
  if (s.tcb_signing.IssuerName() != root.SubjectName() || !s.tcb_signing.VerifySignedBy(root).ok())
    return VerificationFailed("TCB signing certificate '" + s.tcb_signing.SubjectName() +
                              "' is not issued by the given root '" + root.SubjectName() +
                              "' (collateral from another CA, or the wrong --root)");
  if (X509_check_ca(s.tcb_signing.get()) != 0)
    return VerificationFailed("TCB signing certificate '" + s.tcb_signing.SubjectName() + "' is a CA certificate");
  Status sig = crypto::EcdsaVerifyRaw(s.tcb_signing.PublicKey(), crypto::HashAlg::kSha256, AsBytes(s.tcb_text),
                                      s.tcb_signature);
  if (!sig.ok())
    return VerificationFailed("TCB info signature does not verify with '" + s.tcb_signing.SubjectName() +
                              "' over the exact tcb_info text (altered or re-serialised collateral)");
  bool root_crl = false;
  for (const auto& crl : s.crls) {
    if (crl.IssuerName() != root.SubjectName()) continue;
    if (!crl.VerifySignedBy(root).ok())
      return VerificationFailed("the root CRL in the collateral is not signed by '" + root.SubjectName() + "'");
    root_crl = true;
  }
  if (!root_crl)
    return VerificationFailed("the collateral has no CRL issued by the root '" + root.SubjectName() + "'");
  std::lock_guard<std::mutex> lock(s.mu);
  s.verified_roots.push_back(std::move(fp));
  return Status::Ok();
}

Status SoftCollateral::CheckTimes(const x509::Certificate& root, UnixTime at) const {
  const State& s = *state_;
  const std::string when = FormatRfc3339(at);
  if (at < s.tcb_signing.NotBefore() || at > s.tcb_signing.NotAfter())
    return Expired("TCB signing certificate '" + s.tcb_signing.SubjectName() + "' is not valid at " + when + " (valid " +
                   FormatRfc3339(s.tcb_signing.NotBefore()) + " to " + FormatRfc3339(s.tcb_signing.NotAfter()) + ")");
  for (const auto& crl : s.crls) {
    if (at < crl.ThisUpdate())
      return Expired("the CRL of '" + crl.IssuerName() + "' is not yet valid at " + when + " (issued " +
                     FormatRfc3339(crl.ThisUpdate()) + ")");
    if (at > *crl.NextUpdate())
      return Expired("the CRL of '" + crl.IssuerName() + "' is stale at " + when + ": issued " +
                     FormatRfc3339(crl.ThisUpdate()) + ", next update " + FormatRfc3339(*crl.NextUpdate()) +
                     "; fetch fresh collateral");
    if (crl.IssuerName() == root.SubjectName() && crl.IsRevoked(s.tcb_signing))
      return Revoked("TCB signing certificate '" + s.tcb_signing.SubjectName() + "' is revoked by the root CRL");
  }
  const TcbInfo& t = s.tcb_info;
  if (at < t.issue_date)
    return Expired("TCB info is not yet valid at " + when + " (issued " + FormatRfc3339(t.issue_date) + ")");
  if (at > t.next_update)
    return Expired("TCB info is stale at " + when + ": its next update was due " + FormatRfc3339(t.next_update) +
                   " (issued " + FormatRfc3339(t.issue_date) + "); fetch fresh collateral");
  return Status::Ok();
}

Result<std::shared_ptr<const VerifiedPlatform>> SoftCollateral::VerifyPlatformChain(
    const x509::Certificate& root, const std::vector<Bytes>& certificates, UnixTime at) const {
  if (certificates.empty()) return InvalidArgument("the platform certificate chain is empty");
  const State& s = *state_;
  crypto::Hasher h(crypto::HashAlg::kSha256);
  h.Update(root.Sha256Fingerprint());
  for (const auto& der : certificates) {
    Bytes len;
    AppendU32Le(len, static_cast<uint32_t>(der.size()));
    h.Update(len);
    h.Update(der);
  }
  Bytes key = h.Finish();
  std::shared_ptr<const VerifiedPlatform> cached;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.verified_chains.find(key);
    if (it != s.verified_chains.end()) cached = it->second;
  }
  if (cached) {
    std::vector<const x509::Certificate*> all = {&root};
    for (const auto& c : cached->chain) all.push_back(&c);
    for (const x509::Certificate* c : all)
      if (at < c->NotBefore() || at > c->NotAfter())
        return Expired("certificate '" + c->SubjectName() + "' is not valid at " + FormatRfc3339(at) + " (valid " +
                       FormatRfc3339(c->NotBefore()) + " to " + FormatRfc3339(c->NotAfter()) + ")");
    return cached;
  }

  auto v = std::make_shared<VerifiedPlatform>();
  for (size_t i = 0; i < certificates.size(); ++i) {
    auto c = x509::Certificate::FromDer(certificates[i]);
    if (!c.ok()) return c.status().WithContext("soft quote certificate " + std::to_string(i));
    // Only the caller's root is trusted: a root (or any self-issued certificate) in the quote is dropped.
    if (i == 0 || !c->IsSelfIssued()) v->chain.push_back(std::move(c).value());
  }
  x509::ChainOptions options;
  options.at = at;
  options.crls = s.crls;
  options.require_crl_for_every_issuer = true;
  std::vector<x509::Certificate> intermediates(v->chain.begin() + 1, v->chain.end());
  CONFIDE_RETURN_IF_ERROR(x509::VerifyChain(v->chain.front(), intermediates, {root}, options));
  CONFIDE_ASSIGN_OR_RETURN(v->info, PlatformInfoOf(v->chain.front()));
  v->key = v->chain.front().PublicKey();
  auto raw = crypto::EcPublicKeyRaw(v->key);
  if (!raw.ok() || v->key.EcCurve() != crypto::Curve::kP256 || raw->size() != kKeySize)
    return VerificationFailed("platform certificate '" + v->chain.front().SubjectName() +
                              "' does not carry an ECDSA P-256 key");
  std::copy(raw->begin(), raw->end(), v->raw_key.begin());
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.verified_chains.size() >= kMaxCachedChains) s.verified_chains.clear();
  s.verified_chains.emplace(std::move(key), v);
  return std::shared_ptr<const VerifiedPlatform>(v);
}

Result<Bytes> MakeCollateral(const TcbInfo& info, const crypto::PKey& tcb_signing_key,
                             const std::vector<x509::Certificate>& tcb_signing_chain,
                             const std::vector<x509::Crl>& crls) {
  if (tcb_signing_chain.empty()) return InvalidArgument("the TCB signing chain is empty");
  if (info.levels.empty()) return InvalidArgument("TCB info needs at least one level");
  std::string text = EncodeTcbInfo(info);
  CONFIDE_ASSIGN_OR_RETURN(Bytes sig, crypto::EcdsaSignRaw(tcb_signing_key, crypto::HashAlg::kSha256, AsBytes(text)));
  OrderedJson j;
  j["version"] = 1;
  j["tcb_info"] = text;
  j["tcb_info_signature"] = HexEncode(sig);
  std::string chain;
  for (const auto& c : tcb_signing_chain) {
    CONFIDE_ASSIGN_OR_RETURN(std::string pem, CertificatePem(c));
    chain += pem;
  }
  j["tcb_signing_chain"] = chain;
  OrderedJson list = OrderedJson::array();
  for (const auto& c : crls) {
    CONFIDE_ASSIGN_OR_RETURN(std::string pem, CrlPem(c));
    list.push_back(pem);
  }
  j["crls"] = std::move(list);
  std::string out = j.dump(2) + "\n";
  return Bytes(out.begin(), out.end());
}

}  // namespace confide::attestation::soft
