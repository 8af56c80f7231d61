// Soft quote verification: chain, signature, collateral, TCB grading, claims.
#include "confide/attestation/soft.h"

namespace confide::attestation::soft {

Result<VerificationResult> VerifySoftEvidence(ByteSpan evidence, const SoftCollateral& collateral,
                                              const x509::Certificate& root, UnixTime at) {
  // 1. Structure.
  CONFIDE_ASSIGN_OR_RETURN(Quote q, DecodeQuote(evidence));

  // 2. Collateral signatures and windows first, so stale collateral is reported as such
  // (naming its next update) rather than as OpenSSL's CRL error from the chain check.
  CONFIDE_RETURN_IF_ERROR(collateral.CheckSignatures(root));
  CONFIDE_RETURN_IF_ERROR(collateral.CheckTimes(root, at));

  // 3. Platform chain to the caller's root at `at`, every CA's CRL required.
  auto verified = collateral.VerifyPlatformChain(root, q.certificates, at);
  if (!verified.ok()) return verified.status().WithContext("platform certificate chain");
  const VerifiedPlatform& vp = **verified;
  const x509::Certificate& platform = vp.chain.front();
  const PlatformInfo& info = vp.info;

  // The attestation key is the certified key; the signature is by it.
  if (q.attestation_key != vp.raw_key)
    return VerificationFailed("soft quote attestation key is not the key of platform certificate '" +
                              platform.SubjectName() + "'");
  if (!crypto::EcdsaVerifyRaw(vp.key, crypto::HashAlg::kSha256, q.signed_bytes, q.signature).ok())
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
