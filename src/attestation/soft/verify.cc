// Soft quote verification: chain, signature, collateral, TCB grading, claims.
#include "confide/attestation/soft.h"

namespace confide::attestation::soft {

Result<VerificationResult> VerifySoftEvidence(ByteSpan evidence, const SoftCollateral& collateral,
                                              const x509::Certificate& root, UnixTime at) {
  // 1. Structure.
  CONFIDE_ASSIGN_OR_RETURN(Quote q, DecodeQuote(evidence));

  // 2. Platform chain to the caller's root at `at`, every CA's CRL required.
  std::vector<x509::Certificate> certs;
  for (size_t i = 0; i < q.certificates.size(); ++i) {
    auto c = x509::Certificate::FromDer(q.certificates[i]);
    if (!c.ok()) return c.status().WithContext("soft quote certificate " + std::to_string(i));
    certs.push_back(std::move(c).value());
  }
  const x509::Certificate& platform = certs.front();
  std::vector<x509::Certificate> intermediates;
  for (size_t i = 1; i < certs.size(); ++i)
    if (!certs[i].IsSelfIssued()) intermediates.push_back(certs[i]);  // only the caller's root is trusted
  CONFIDE_RETURN_IF_ERROR(collateral.CheckSignatures(root));
  // Collateral windows first, so stale collateral is reported as such (naming its next
  // update) rather than as OpenSSL's CRL error from the chain check.
  CONFIDE_RETURN_IF_ERROR(collateral.CheckTimes(root, at));
  x509::ChainOptions options;
  options.at = at;
  options.crls = collateral.crls();
  options.require_crl_for_every_issuer = true;
  Status chain = x509::VerifyChain(platform, intermediates, {root}, options);
  if (!chain.ok()) return chain.WithContext("platform certificate chain");
  CONFIDE_ASSIGN_OR_RETURN(PlatformInfo info, PlatformInfoOf(platform));

  // 3. The attestation key is the certified key; the signature is by it.
  CONFIDE_ASSIGN_OR_RETURN(Bytes cert_key, crypto::EcPublicKeyRaw(platform.PublicKey()));
  if (!std::equal(cert_key.begin(), cert_key.end(), q.attestation_key.begin(), q.attestation_key.end()))
    return VerificationFailed("soft quote attestation key is not the key of platform certificate '" +
                              platform.SubjectName() + "'");
  CONFIDE_ASSIGN_OR_RETURN(crypto::PKey key,
                           crypto::EcPublicKeyFromRaw(crypto::Curve::kP256, q.attestation_key));
  if (!crypto::EcdsaVerifyRaw(key, crypto::HashAlg::kSha256, q.signed_bytes, q.signature).ok())
    return VerificationFailed("soft quote signature does not verify with the attestation key of '" +
                              platform.SubjectName() + "' (altered evidence)");

  // 4. TCB grading from the certified platform svn: levels are highest first.
  const TcbLevel* level = nullptr;
  for (const auto& l : collateral.tcb_info().levels)
    if (l.platform_svn <= info.platform_svn) {
      level = &l;
      break;
    }
  if (level == nullptr)
    return Unsupported("TCB not supported: platform svn " + std::to_string(info.platform_svn) +
                       " is below every level of the TCB info (lowest " +
                       std::to_string(collateral.tcb_info().levels.back().platform_svn) + ")");
  if (level->status == TcbStatus::kRevoked) {
    std::string adv;
    for (const auto& a : level->advisory_ids) adv += (adv.empty() ? "" : ", ") + a;
    return Revoked("platform svn " + std::to_string(info.platform_svn) + " is Revoked by the TCB info" +
                   (adv.empty() ? "" : " (advisories: " + adv + ")"));
  }

  // 5. Claims.
  const auto& body = q.body;
  VerificationResult result;
  result.tcb_status = level->status;
  result.advisory_ids = level->advisory_ids;
  Claims& c = result.claims;
  c.format = std::string(kFormatId);
  c.identity.assign(body.identity.mrenclave.begin(), body.identity.mrenclave.end());
  c.signer.assign(body.identity.mrsigner.begin(), body.identity.mrsigner.end());
  c.product_id = body.identity.product_id;
  c.security_version = body.identity.security_version;
  c.debug = body.identity.debug || (body.flags & platform_services::kReportFlagDebug) != 0;
  c.report_data.assign(body.report_data.begin(), body.report_data.end());
  c.platform_id = HexEncode(body.platform_id);
  const bool development = info.development || (body.flags & platform_services::kReportFlagDevelopment) != 0;
  c.extra["mrenclave"] = HexEncode(body.identity.mrenclave);
  c.extra["mrsigner"] = HexEncode(body.identity.mrsigner);
  c.extra["product_id"] = c.product_id;
  c.extra["security_version"] = c.security_version;
  c.extra["debug"] = c.debug;
  c.extra["report_data"] = HexEncode(c.report_data);
  c.extra["platform_id"] = c.platform_id;
  c.extra["development"] = development;
  c.extra["platform_svn"] = info.platform_svn;
  c.extra["platform_cert_serial"] = HexEncode(platform.SerialNumber());
  c.extra["platform_cert_subject"] = platform.SubjectName();
  return result;
}

}  // namespace confide::attestation::soft
