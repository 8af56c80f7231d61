// DCAP quote verification, in the order of Intel's QVL (QuoteVerifier.cpp, step numbers of
// Intel's "ECDSA Quote Verification" specification in comments), with every collateral
// validity window checked at the caller's evaluation time.
//
// Caching: what depends only on the bytes of the collateral (parsing, chain signatures to the
// root, CRL and document signatures, root-CRL revocation of the signing certificates) or of
// the PCK chain in the quote is computed once and kept, keyed by those exact bytes. What
// depends on the evaluation time (every window) or on the quote is checked on every call.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>
#include <mutex>
#include <unordered_map>

#include "confide/attestation/dcap.h"
#include "confide/crypto.h"

namespace confide::attestation::dcap {
namespace {

constexpr size_t kMaxCacheEntries = 4096;

// ---------------------------------------------------------------- small helpers
template <size_t N>
ByteSpan Span(const std::array<uint8_t, N>& a) {
  return ByteSpan(a.data(), a.size());
}
template <size_t N>
std::string Hex(const std::array<uint8_t, N>& a) {
  return HexEncode(Span(a));
}

bool Equal(ByteSpan a, ByteSpan b) { return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()); }

std::string Time(UnixTime t) { return FormatRfc3339(t); }

std::string CommonName(const std::string& rfc2253) {
  // "CN=Intel SGX PCK Certificate,O=..." -> "Intel SGX PCK Certificate"
  size_t pos = 0;
  while (pos < rfc2253.size()) {
    size_t end = rfc2253.find(',', pos);
    if (end == std::string::npos) end = rfc2253.size();
    if (rfc2253.compare(pos, 3, "CN=") == 0) return rfc2253.substr(pos + 3, end - pos - 3);
    pos = end + 1;
  }
  return {};
}

// A validity window checked at every evaluation.
struct Window {
  std::string what;
  UnixTime not_before;
  UnixTime not_after;
  bool collateral_update;  // a nextUpdate (TCB info, QE identity, CRL): may be tolerated when late
};

Status CheckWindow(const Window& w, UnixTime at, bool allow_late, bool& late) {
  if (at < w.not_before)
    return Expired(w.what + " is not yet valid at " + Time(at) + " (valid from " + Time(w.not_before) +
                   "); evaluate at a later time or use collateral issued before it");
  if (at > w.not_after) {
    if (w.collateral_update && allow_late) {
      late = true;
      return Status::Ok();
    }
    if (w.collateral_update)
      return Expired(w.what + " expired: its nextUpdate " + Time(w.not_after) + " is before the evaluation time " +
                     Time(at) + "; fetch fresh collateral from Intel PCS or your PCCS");
    return Expired(w.what + " is not valid at " + Time(at) + " (valid " + Time(w.not_before) + " to " +
                   Time(w.not_after) + ")");
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- certificate chains
struct Chain {
  x509::Certificate leaf;
  std::vector<x509::Certificate> intermediates;  // excluding any presented root
  std::vector<Window> windows;                   // every certificate, root included
};

// Parses a PEM chain (leaf first) and verifies it to `root`. A self-issued certificate in the
// chain must be the pinned root itself. Signatures and constraints are checked at a time
// inside every certificate's window, so the result does not depend on the evaluation time;
// the windows are returned for the caller to check at that time.
Result<Chain> LoadChain(ByteSpan pem, std::string_view what, const x509::Certificate& root) {
  while (!pem.empty() && (pem.back() == 0 || pem.back() == '\n' || pem.back() == '\r' || pem.back() == ' '))
    pem = pem.first(pem.size() - 1);
  if (pem.empty()) return InvalidArgument(std::string(what) + " is empty");
  auto certs = x509::Certificate::ParseAll(pem);
  if (!certs.ok()) return certs.status().WithContext(what);
  Chain chain;
  chain.leaf = certs->front();
  if (chain.leaf.IsSelfIssued())
    return VerificationFailed(std::string(what) + " starts with a self-issued certificate ('" +
                              chain.leaf.SubjectName() + "'), not a leaf issued by the Intel SGX Root CA");
  const Bytes root_fp = root.Sha256Fingerprint();
  for (size_t i = 1; i < certs->size(); ++i) {
    const auto& c = (*certs)[i];
    if (c.IsSelfIssued()) {
      if (c.Sha256Fingerprint() != root_fp)
        return VerificationFailed(std::string(what) + " ends at root '" + c.SubjectName() + "' (SHA-256 " +
                                  HexEncode(c.Sha256Fingerprint()) +
                                  "), which is not the pinned Intel SGX Root CA (SHA-256 " + HexEncode(root_fp) + ")");
      continue;
    }
    chain.intermediates.push_back(c);
  }
  UnixTime latest_start = root.NotBefore();
  UnixTime earliest_end = root.NotAfter();
  auto add = [&](const x509::Certificate& c) {
    chain.windows.push_back({std::string(what) + " certificate '" + CommonName(c.SubjectName()) + "'", c.NotBefore(),
                             c.NotAfter(), false});
    latest_start = std::max(latest_start, c.NotBefore());
    earliest_end = std::min(earliest_end, c.NotAfter());
  };
  add(chain.leaf);
  for (const auto& c : chain.intermediates) add(c);
  add(root);
  if (latest_start > earliest_end)
    return VerificationFailed(std::string(what) + ": its certificates are never valid at the same time");
  x509::ChainOptions opts;
  opts.at = latest_start;
  Status s = x509::VerifyChain(chain.leaf, chain.intermediates, {root}, opts);
  if (!s.ok()) return s.WithContext(what);
  return chain;
}

Result<x509::Crl> LoadCrl(ByteSpan data, std::string_view what, const x509::Certificate& issuer,
                          std::vector<Window>& windows) {
  auto crl = x509::Crl::Parse(data);
  if (!crl.ok()) return crl.status().WithContext(what);
  if (crl->IssuerName() != issuer.SubjectName())
    return VerificationFailed(std::string(what) + " is issued by '" + crl->IssuerName() + "', expected '" +
                              issuer.SubjectName() + "'");
  Status s = crl->VerifySignedBy(issuer);
  if (!s.ok())
    return VerificationFailed(std::string(what) + " signature does not verify with the key of '" +
                              CommonName(issuer.SubjectName()) + "': " + s.message());
  auto next = crl->NextUpdate();
  if (!next) return InvalidArgument(std::string(what) + " has no nextUpdate, so its freshness cannot be judged");
  windows.push_back({std::string(what), crl->ThisUpdate(), *next, true});
  return std::move(crl).value();
}

Status CheckNotRevoked(const x509::Crl& crl, const x509::Certificate& cert, std::string_view crl_name) {
  if (crl.IsRevoked(cert))
    return Revoked("certificate '" + CommonName(cert.SubjectName()) + "' (serial " + HexEncode(cert.SerialNumber()) +
                   ") is revoked by the " + std::string(crl_name));
  return Status::Ok();
}

Status VerifyDocumentSignature(const x509::Certificate& signer, std::string_view text, ByteSpan signature,
                               std::string_view what) {
  std::string cn = CommonName(signer.SubjectName());
  if (cn.find("Intel SGX TCB Signing") == std::string::npos)
    return VerificationFailed(std::string(what) + " issuer chain leaf is '" + cn + "', not the Intel SGX TCB Signing certificate");
  crypto::PKey key = signer.PublicKey();
  if (!key || key.EcCurve() != crypto::Curve::kP256)
    return VerificationFailed(std::string(what) + " signing certificate does not hold a P-256 key");
  Status s = crypto::EcdsaVerifyRaw(key, crypto::HashAlg::kSha256, AsBytes(text), signature);
  if (!s.ok())
    return VerificationFailed(std::string(what) + " signature does not verify over its exact text with the key of '" +
                              cn + "' (was the JSON altered or re-serialised?)");
  return Status::Ok();
}

// ---------------------------------------------------------------- cached entries
struct CollateralEntry {
  TcbInfo tcb_info;
  EnclaveIdentity qe_identity;
  x509::Crl root_crl;
  x509::Crl pck_crl;
  std::string pck_crl_issuer;  // names are precomputed: formatting one costs microseconds
  std::vector<Window> windows;
};

Result<std::shared_ptr<const CollateralEntry>> BuildCollateral(const Collateral& c, const x509::Certificate& root) {
  auto e = std::make_shared<CollateralEntry>();
  // Documents are parsed first so a malformed one is named before any signature failure.
  auto tcb = ParseTcbInfo(c.tcb_info);
  if (!tcb.ok()) return tcb.status();
  e->tcb_info = std::move(tcb).value();
  auto qe = ParseEnclaveIdentity(c.qe_identity);
  if (!qe.ok()) return qe.status();
  e->qe_identity = std::move(qe).value();

  // Step 1: issuer chains to the pinned root, CRL and document signatures.
  CONFIDE_ASSIGN_OR_RETURN(Chain tcb_chain, LoadChain(AsBytes(c.tcb_info_issuer_chain), "TCB info issuer chain", root));
  CONFIDE_ASSIGN_OR_RETURN(Chain qe_chain, LoadChain(AsBytes(c.qe_identity_issuer_chain), "QE identity issuer chain", root));
  CONFIDE_ASSIGN_OR_RETURN(Chain crl_chain, LoadChain(AsBytes(c.pck_crl_issuer_chain), "PCK CRL issuer chain", root));
  for (const Chain* ch : {&tcb_chain, &qe_chain, &crl_chain})
    e->windows.insert(e->windows.end(), ch->windows.begin(), ch->windows.end());

  CONFIDE_ASSIGN_OR_RETURN(e->root_crl, LoadCrl(c.root_ca_crl, "root CA CRL", root, e->windows));
  CONFIDE_ASSIGN_OR_RETURN(e->pck_crl, LoadCrl(c.pck_crl, "PCK CRL", crl_chain.leaf, e->windows));
  e->pck_crl_issuer = e->pck_crl.IssuerName();

  CONFIDE_RETURN_IF_ERROR(VerifyDocumentSignature(tcb_chain.leaf, c.tcb_info, c.tcb_info_signature, "TCB info"));
  CONFIDE_RETURN_IF_ERROR(VerifyDocumentSignature(qe_chain.leaf, c.qe_identity, c.qe_identity_signature, "QE identity"));

  // Every certificate the root issued in these chains is checked against the root CRL.
  for (const Chain* ch : {&tcb_chain, &qe_chain, &crl_chain}) {
    CONFIDE_RETURN_IF_ERROR(CheckNotRevoked(e->root_crl, ch->leaf, "Intel SGX Root CA CRL"));
    for (const auto& i : ch->intermediates) CONFIDE_RETURN_IF_ERROR(CheckNotRevoked(e->root_crl, i, "Intel SGX Root CA CRL"));
  }

  e->windows.push_back({"TCB info", e->tcb_info.issue_date, e->tcb_info.next_update, true});
  e->windows.push_back({"QE identity", e->qe_identity.issue_date, e->qe_identity.next_update, true});
  return std::shared_ptr<const CollateralEntry>(std::move(e));
}

struct PckEntry {
  Chain chain;
  PckExtension extension;
  crypto::PKey key;
  std::string issuer;
};

Result<std::shared_ptr<const PckEntry>> BuildPck(ByteSpan pem, const x509::Certificate& root) {
  auto e = std::make_shared<PckEntry>();
  CONFIDE_ASSIGN_OR_RETURN(e->chain, LoadChain(pem, "PCK certificate chain in the quote", root));
  const auto& leaf = e->chain.leaf;
  e->issuer = leaf.IssuerName();
  // 4.1.2.4.4
  std::string cn = CommonName(leaf.SubjectName());
  if (cn.find("SGX PCK Certificate") == std::string::npos)
    return VerificationFailed("the quote's certificate chain does not start with an SGX PCK Certificate (CN '" + cn + "')");
  auto ext = leaf.Extension(std::string(kSgxExtensionOid));
  if (!ext.ok()) return VerificationFailed("PCK certificate has no SGX extension (" + std::string(kSgxExtensionOid) + ")");
  CONFIDE_ASSIGN_OR_RETURN(e->extension, ParsePckExtension(*ext));
  e->key = leaf.PublicKey();
  if (!e->key || e->key.EcCurve() != crypto::Curve::kP256)
    return VerificationFailed("PCK certificate does not hold a P-256 key");
  return std::shared_ptr<const PckEntry>(std::move(e));
}

// ---------------------------------------------------------------- grading
// QE identity and TDX module levels only distinguish UpToDate, OutOfDate and Revoked.
TcbStatus IsvStatus(TcbStatus s) {
  if (s == TcbStatus::kUpToDate || s == TcbStatus::kRevoked) return s;
  return TcbStatus::kOutOfDate;
}

// QVL's convergeTcbStatusWithQeTcbStatus / convergeTcbStatusWithTdxModuleStatus.
TcbStatus Converge(TcbStatus platform, TcbStatus other) {
  if (other == TcbStatus::kRevoked) return TcbStatus::kRevoked;
  if (other == TcbStatus::kOutOfDate) {
    if (platform == TcbStatus::kUpToDate || platform == TcbStatus::kSWHardeningNeeded) return TcbStatus::kOutOfDate;
    if (platform == TcbStatus::kConfigurationNeeded || platform == TcbStatus::kConfigurationAndSWHardeningNeeded)
      return TcbStatus::kOutOfDateConfigurationNeeded;
  }
  return platform;
}

void AddAdvisories(std::vector<std::string>& out, const std::vector<std::string>& ids) {
  for (const auto& id : ids)
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
}

const IsvLevel* FindIsvLevel(const std::vector<IsvLevel>& levels, uint32_t isv_svn) {
  for (const auto& l : levels)
    if (isv_svn >= l.isv_svn) return &l;
  return nullptr;
}

std::string Svns(const std::array<uint32_t, 16>& a) {
  std::string s;
  for (size_t i = 0; i < a.size(); ++i) s += (i ? " " : "") + std::to_string(a[i]);
  return s;
}
std::string Svns(const std::array<uint8_t, 16>& a) {
  std::string s;
  for (size_t i = 0; i < a.size(); ++i) s += (i ? " " : "") + std::to_string(a[i]);
  return s;
}

bool SgxLevelMatches(const TcbLevel& l, const PckExtension& pck) {
  for (size_t i = 0; i < 16; ++i)
    if (pck.sgx_tcb_components[i] < l.sgx_components[i]) return false;
  return pck.pce_svn >= l.pce_svn;
}

bool TdxLevelMatches(const TcbLevel& l, const std::array<uint8_t, 16>& tee_tcb_svn) {
  if (!l.tdx_components) return false;
  // With a TDX module version in byte 1, bytes 0 and 1 are graded by the module identity.
  size_t first = tee_tcb_svn[1] > 0 ? 2 : 0;
  for (size_t i = first; i < 16; ++i)
    if (tee_tcb_svn[i] < (*l.tdx_components)[i]) return false;
  return true;
}

std::string ModuleId(uint8_t module_version) {
  char id[8];
  std::snprintf(id, sizeof id, "TDX_%02X", module_version);
  return id;
}

const TdxModuleIdentity* FindModuleIdentity(const TcbInfo& info, uint8_t module_version) {
  const std::string id = ModuleId(module_version);
  for (const auto& m : info.tdx_module_identities) {
    std::string upper = m.id;
    for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (upper == id) return &m;
  }
  return nullptr;
}

// ---------------------------------------------------------------- claims
void FillClaims(const Quote& q, const PckExtension& pck, Claims& c) {
  c.platform_id = HexEncode(pck.fmspc);
  auto& x = c.extra;
  if (!q.is_tdx()) {
    const auto& r = q.sgx;
    c.format = "sgx-ecdsa";
    c.identity.assign(r.mr_enclave.begin(), r.mr_enclave.end());
    c.signer.assign(r.mr_signer.begin(), r.mr_signer.end());
    c.product_id = r.isv_prod_id;
    c.security_version = r.isv_svn;
    c.debug = r.debug();
    c.report_data.assign(r.report_data.begin(), r.report_data.end());
    x["mrenclave"] = Hex(r.mr_enclave);
    x["mrsigner"] = Hex(r.mr_signer);
    x["isv_prod_id"] = r.isv_prod_id;
    x["isv_svn"] = r.isv_svn;
    x["debug"] = r.debug();
    x["report_data"] = Hex(r.report_data);
  } else {
    const auto& t = q.td;
    c.format = "tdx";
    c.identity.assign(t.mr_td.begin(), t.mr_td.end());
    c.debug = t.debug();
    c.report_data.assign(t.report_data.begin(), t.report_data.end());
    x["mrtd"] = Hex(t.mr_td);
    for (size_t i = 0; i < 4; ++i) x["rtmr" + std::to_string(i)] = Hex(t.rtmr[i]);
    x["mrseam"] = Hex(t.mr_seam);
    x["td_attributes"] = Hex(t.td_attributes);
    x["tee_tcb_svn"] = Hex(t.tee_tcb_svn);
    x["debug"] = t.debug();
    x["report_data"] = Hex(t.report_data);
  }
  x["fmspc"] = c.platform_id;
}

// ---------------------------------------------------------------- the quote-specific checks
// `attestation_key` resolves the quote's raw attestation key (cached by the Verifier: building
// and validating an OpenSSL key costs more than a signature check).
Result<VerificationResult> VerifyWith(const Quote& q, const CollateralEntry& col, const PckEntry& pck, UnixTime at,
                                      const Options& options,
                                      const std::function<Result<crypto::PKey>()>& attestation_key) {
  VerificationResult result;
  const TcbInfo& tcb = col.tcb_info;
  const EnclaveIdentity& qe_id = col.qe_identity;
  const PckExtension& ext = pck.extension;
  const bool tdx = q.is_tdx();

  // Validity of every piece at the evaluation time.
  bool late = false;
  for (const auto& w : col.windows) CONFIDE_RETURN_IF_ERROR(CheckWindow(w, at, options.allow_expired_collateral, late));
  for (const auto& w : pck.chain.windows) CONFIDE_RETURN_IF_ERROR(CheckWindow(w, at, options.allow_expired_collateral, late));
  result.collateral_expired = late;

  // 4.1.2.4.6: the PCK CRL must be the one of the CA that issued this PCK certificate.
  if (col.pck_crl_issuer != pck.issuer)
    return VerificationFailed("the PCK CRL is issued by '" + CommonName(col.pck_crl_issuer) +
                              "' but the PCK certificate by '" + CommonName(pck.issuer) +
                              "'; fetch the PCK CRL for that CA (ca=processor or ca=platform)");
  // 4.1.2.4.7
  CONFIDE_RETURN_IF_ERROR(CheckNotRevoked(col.pck_crl, pck.chain.leaf, "PCK CRL"));
  for (const auto& i : pck.chain.intermediates)
    CONFIDE_RETURN_IF_ERROR(CheckNotRevoked(col.root_crl, i, "Intel SGX Root CA CRL"));

  // 4.1.2.4.9
  if (tdx && (tcb.version < 3 || tcb.id != "TDX"))
    return VerificationFailed("the quote is a TDX quote but the TCB info is for " + tcb.id + "; fetch the TDX TCB info");
  if (!tdx && tcb.id != "SGX")
    return VerificationFailed("the quote is an SGX quote but the TCB info is for " + tcb.id + "; fetch the SGX TCB info");
  // 4.1.2.4.10
  if (!Equal(ext.fmspc, tcb.fmspc))
    return VerificationFailed("FMSPC mismatch: the PCK certificate says " + HexEncode(ext.fmspc) +
                              " but the TCB info is for " + HexEncode(tcb.fmspc) + "; fetch the TCB info for this platform");
  if (!Equal(ext.pce_id, tcb.pce_id))
    return VerificationFailed("PCEID mismatch: the PCK certificate says " + HexEncode(ext.pce_id) +
                              " but the TCB info is for " + HexEncode(tcb.pce_id));

  // 4.1.2.4.11: the TDX module that produced the TD report is Intel's.
  const TdxModuleIdentity* module_identity = nullptr;
  if (tdx) {
    const uint8_t module_version = q.td.tee_tcb_svn[1];
    const TdxModuleIdentity* expected = tcb.tdx_module ? &*tcb.tdx_module : nullptr;
    if (module_version > 0) {
      module_identity = FindModuleIdentity(tcb, module_version);
      if (!module_identity)
        return VerificationFailed("TDX module mismatch: the TCB info has no identity " + ModuleId(module_version) +
                                  " for the module version in TEE_TCB_SVN");
      expected = module_identity;
    }
    if (!expected) return VerificationFailed("the TDX TCB info has no tdxModule identity");
    if (!Equal(Span(q.td.mr_signer_seam), expected->mr_signer))
      return VerificationFailed("TDX module mismatch: MRSIGNERSEAM " + Hex(q.td.mr_signer_seam) +
                                " is not the module signer in the TCB info (" + HexEncode(expected->mr_signer) + ")");
    for (size_t i = 0; i < 8; ++i) {
      if (q.td.seam_attributes[i] != 0 ||
          (q.td.seam_attributes[i] & expected->attributes_mask[i]) != expected->attributes[i])
        return VerificationFailed("TDX module mismatch: SEAMATTRIBUTES " + Hex(q.td.seam_attributes) +
                                  " must be zero and match the TCB info (" + HexEncode(expected->attributes) + ")");
    }
  }

  // 4.1.2.4.12: the QE report is signed by the PCK key.
  if (!crypto::EcdsaVerifyRaw(pck.key, crypto::HashAlg::kSha256, Span(q.qe_report_raw), Span(q.qe_report_signature)).ok())
    return VerificationFailed("QE report signature does not verify with the PCK certificate's key");
  // 4.1.2.4.13: the QE report binds the attestation key (and the QE authentication data).
  {
    crypto::Hasher hasher(crypto::HashAlg::kSha256);
    hasher.Update(Span(q.attestation_key));
    hasher.Update(q.qe_auth_data);
    Bytes digest = hasher.Finish();
    const auto& rd = q.qe_report.report_data;
    bool upper_zero = std::all_of(rd.begin() + 32, rd.end(), [](uint8_t b) { return b == 0; });
    if (!Equal(digest, ByteSpan(rd.data(), 32)) || !upper_zero)
      return VerificationFailed("QE report data does not bind the attestation key: expected SHA-256(attestation key || "
                                "QE authentication data) || 32 zero bytes");
  }

  // 4.1.2.4.14-15: the QE is the one Intel's QE identity describes.
  const char* want_id = tdx ? "TD_QE" : "QE";
  if (qe_id.id != want_id)
    return VerificationFailed(std::string("QE identity mismatch: the collateral's enclave identity is '") + qe_id.id +
                              "' but a " + (tdx ? "TDX" : "SGX") + " quote needs '" + want_id + "'");
  const auto& qr = q.qe_report;
  {
    uint8_t misc[4] = {static_cast<uint8_t>(qr.misc_select), static_cast<uint8_t>(qr.misc_select >> 8),
                       static_cast<uint8_t>(qr.misc_select >> 16), static_cast<uint8_t>(qr.misc_select >> 24)};
    for (size_t i = 0; i < 4; ++i)
      if ((misc[i] & qe_id.misc_select_mask[i]) != qe_id.misc_select[i])
        return VerificationFailed("QE identity mismatch: masked MISCSELECT of the QE report differs from the QE identity");
    for (size_t i = 0; i < 16; ++i)
      if ((qr.attributes[i] & qe_id.attributes_mask[i]) != qe_id.attributes[i])
        return VerificationFailed("QE identity mismatch: masked ATTRIBUTES of the QE report (" + Hex(qr.attributes) +
                                  ") differ from the QE identity");
    if (!Equal(Span(qr.mr_signer), qe_id.mr_signer))
      return VerificationFailed("QE identity mismatch: QE MRSIGNER " + Hex(qr.mr_signer) + " is not Intel's (" +
                                HexEncode(qe_id.mr_signer) + ")");
    if (qr.isv_prod_id != qe_id.isv_prod_id)
      return VerificationFailed("QE identity mismatch: QE ISVPRODID " + std::to_string(qr.isv_prod_id) + ", expected " +
                                std::to_string(qe_id.isv_prod_id));
  }
  const IsvLevel* qe_level = FindIsvLevel(qe_id.levels, qr.isv_svn);
  if (!qe_level)
    return VerificationFailed("QE ISVSVN " + std::to_string(qr.isv_svn) +
                              " is below every level of the QE identity (TCB not supported)");
  const TcbStatus qe_status = IsvStatus(qe_level->status);

  // 4.1.2.4.16: the quote is signed by the attestation key.
  auto attest_key = attestation_key();
  if (!attest_key.ok()) return VerificationFailed("the attestation key in the quote is not a valid P-256 point");
  if (!crypto::EcdsaVerifyRaw(*attest_key, crypto::HashAlg::kSha256, q.signed_data, Span(q.signature)).ok())
    return VerificationFailed("quote signature does not verify with the attestation key (header or report body altered)");

  // 4.1.2.4.17: TCB level of the platform.
  const TcbLevel* sgx_level = nullptr;
  const TcbLevel* tdx_level = nullptr;
  for (const auto& l : tcb.levels) {
    if (!SgxLevelMatches(l, ext)) continue;
    if (!sgx_level) sgx_level = &l;
    if (!tdx) break;
    if (TdxLevelMatches(l, q.td.tee_tcb_svn)) {
      tdx_level = &l;
      break;
    }
  }
  if (!sgx_level)
    return VerificationFailed("no TCB level in the TCB info matches the platform (PCK SGX TCB components " +
                              Svns(ext.sgx_tcb_components) + ", PCESVN " + std::to_string(ext.pce_svn) +
                              "): TCB not supported");
  TcbStatus status = sgx_level->status;
  const TcbLevel* chosen = sgx_level;
  std::vector<std::string> module_advisories;
  if (tdx) {
    if (!tdx_level)
      return VerificationFailed("no TCB level in the TCB info matches the TD's TEE_TCB_SVN " + Svns(q.td.tee_tcb_svn) +
                                " together with the platform's SGX TCB: TCB not supported");
    chosen = tdx_level;
    status = tdx_level->status;
    // 4.1.2.4.17.4.1: the TDX module's own TCB level.
    const uint8_t module_version = q.td.tee_tcb_svn[1];
    if (!(q.header.version > 3 && module_version == 0)) {
      const TdxModuleIdentity* m = module_identity ? module_identity : FindModuleIdentity(tcb, module_version);
      if (!m) return VerificationFailed("TDX module mismatch: no TDX module identity for version " + std::to_string(module_version));
      const IsvLevel* ml = FindIsvLevel(m->levels, q.td.tee_tcb_svn[0]);
      if (!ml)
        return VerificationFailed("TDX module SVN " + std::to_string(q.td.tee_tcb_svn[0]) + " is below every level of " +
                                  m->id + " (TCB not supported)");
      status = Converge(status, IsvStatus(ml->status));
      module_advisories = ml->advisory_ids;
    }
  }
  // The platform level's advisories first, in Intel's order, then the module's and the QE's.
  std::vector<std::string> advisories;
  AddAdvisories(advisories, chosen->advisory_ids);
  AddAdvisories(advisories, module_advisories);
  AddAdvisories(advisories, qe_level->advisory_ids);
  status = Converge(status, qe_status);
  if (status == TcbStatus::kRevoked)
    return Revoked("the platform's TCB status is Revoked (TCB level of " + chosen->tcb_date + ", QE identity level " +
                   std::string(TcbStatusName(qe_status)) + "); the platform must not be trusted");

  result.tcb_status = status;
  result.advisory_ids = std::move(advisories);
  FillClaims(q, ext, result.claims);
  return result;
}

std::string CollateralKey(const Collateral& c) {
  std::string key;
  key.reserve(c.pck_crl_issuer_chain.size() + c.root_ca_crl.size() + c.pck_crl.size() + c.tcb_info_issuer_chain.size() +
              c.tcb_info.size() + c.qe_identity_issuer_chain.size() + c.qe_identity.size() + 128 + 9 * 8);
  auto add = [&key](ByteSpan b) {
    uint64_t n = b.size();
    key.append(reinterpret_cast<const char*>(&n), sizeof n);
    key.append(reinterpret_cast<const char*>(b.data()), b.size());
  };
  add(AsBytes(c.pck_crl_issuer_chain));
  add(c.root_ca_crl);
  add(c.pck_crl);
  add(AsBytes(c.tcb_info_issuer_chain));
  add(AsBytes(c.tcb_info));
  add(c.tcb_info_signature);
  add(AsBytes(c.qe_identity_issuer_chain));
  add(AsBytes(c.qe_identity));
  add(c.qe_identity_signature);
  return key;
}

}  // namespace

struct Verifier::Impl {
  Options options;
  x509::Certificate root;
  bool cache = true;
  mutable std::mutex mu;
  std::unordered_map<std::string, std::shared_ptr<const CollateralEntry>> collateral;
  std::unordered_map<std::string, std::shared_ptr<const PckEntry>> pck;
  std::unordered_map<std::string, crypto::PKey> attestation_keys;

  template <typename Map, typename Build>
  auto Lookup(Map& map, std::string key, Build build) -> decltype(build()) {
    if (cache) {
      std::lock_guard<std::mutex> lock(mu);
      auto it = map.find(key);
      if (it != map.end()) return it->second;
    }
    auto built = build();
    if (cache && built.ok()) {
      std::lock_guard<std::mutex> lock(mu);
      if (map.size() >= kMaxCacheEntries) map.clear();  // bounded memory under key churn
      map.emplace(std::move(key), *built);
    }
    return built;
  }
};

Verifier::Verifier(Options options) : impl_(std::make_unique<Impl>()) {
  impl_->root = options.test_root_override ? *options.test_root_override : IntelSgxRootCa();
  impl_->options = std::move(options);
}
Verifier::~Verifier() = default;

Result<VerificationResult> Verifier::Verify(ByteSpan quote_bytes, const Collateral& collateral, UnixTime at) {
  CONFIDE_ASSIGN_OR_RETURN(Quote q, ParseQuote(quote_bytes));
  const std::string& want = impl_->options.expected_format;
  const std::string have = q.is_tdx() ? "tdx" : "sgx-ecdsa";
  if (!want.empty() && want != have)
    return InvalidArgument("the evidence is a" + std::string(q.is_tdx() ? " TDX" : "n SGX") + " quote (" + have +
                           "), not " + want + "; pass --format " + have);
  if (!std::equal(q.header.qe_vendor_id.begin(), q.header.qe_vendor_id.end(), kIntelQeVendorId.begin()))
    return Unsupported("the quote was made by a quoting enclave of vendor " + Hex(q.header.qe_vendor_id) +
                       ", not Intel's; only Intel QE quotes can be verified with Intel collateral");

  const x509::Certificate& root = impl_->root;
  CONFIDE_ASSIGN_OR_RETURN(auto col, impl_->Lookup(impl_->collateral, CollateralKey(collateral),
                                                   [&] { return BuildCollateral(collateral, root); }));
  std::string pck_key(q.pck_chain_pem.begin(), q.pck_chain_pem.end());
  CONFIDE_ASSIGN_OR_RETURN(auto pck, impl_->Lookup(impl_->pck, std::move(pck_key),
                                                   [&] { return BuildPck(q.pck_chain_pem, root); }));
  auto attestation_key = [&]() -> Result<crypto::PKey> {
    ByteSpan raw = Span(q.attestation_key);
    std::string key(reinterpret_cast<const char*>(raw.data()), raw.size());
    return impl_->Lookup(impl_->attestation_keys, std::move(key),
                         [&] { return crypto::EcPublicKeyFromRaw(crypto::Curve::kP256, raw); });
  };
  return VerifyWith(q, *col, *pck, at, impl_->options, attestation_key);
}

size_t Verifier::cached_collateral() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->collateral.size();
}
size_t Verifier::cached_pck_chains() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->pck.size();
}
void Verifier::ClearCache() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->collateral.clear();
  impl_->pck.clear();
  impl_->attestation_keys.clear();
}

Result<VerificationResult> VerifyQuote(ByteSpan quote, const Collateral& collateral, UnixTime at,
                                       const Options& options) {
  Verifier v(options);
  return v.Verify(quote, collateral, at);
}

}  // namespace confide::attestation::dcap
