// Soft quote encoding, the platform certificate extension and the signer.
#include <algorithm>

#include "confide/attestation/soft.h"

namespace confide::attestation::soft {
namespace {

constexpr std::array<uint8_t, 8> kFormatIdField = {'s', 'o', 'f', 't', 0, 0, 0, 0};

void AppendHeader(Bytes& out, uint16_t version, uint16_t key_type) {
  AppendU16Le(out, version);
  AppendU16Le(out, key_type);
  Append(out, kFormatIdField);
  AppendU32Le(out, static_cast<uint32_t>(platform_services::kReportBodySize));
}

Bytes CertificationData(const std::vector<Bytes>& certs) {
  Bytes out;
  AppendU16Le(out, static_cast<uint16_t>(certs.size()));
  for (const auto& c : certs) {
    AppendU32Le(out, static_cast<uint32_t>(c.size()));
    Append(out, c);
  }
  return out;
}

}  // namespace

Bytes EncodeQuote(const Quote& quote) {
  Bytes out;
  AppendHeader(out, quote.version, quote.key_type);
  Append(out, platform_services::EncodeReportBody(quote.body));
  Append(out, quote.attestation_key);
  Append(out, quote.signature);
  Bytes cert_data = CertificationData(quote.certificates);
  AppendU32Le(out, static_cast<uint32_t>(cert_data.size()));
  Append(out, cert_data);
  return out;
}

Result<Quote> DecodeQuote(ByteSpan evidence) {
  ByteReader r(evidence, "soft quote");
  Quote q;
  CONFIDE_ASSIGN_OR_RETURN(q.version, r.U16Le("version"));
  if (q.version != kQuoteVersion)
    return Unsupported("soft quote version " + std::to_string(q.version) + " is not supported (expected " +
                       std::to_string(kQuoteVersion) + ")");
  CONFIDE_ASSIGN_OR_RETURN(q.key_type, r.U16Le("attestation key type"));
  if (q.key_type != kKeyTypeEcdsaP256)
    return Unsupported("soft quote attestation key type " + std::to_string(q.key_type) +
                       " is not supported (expected 2, ECDSA P-256)");
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan format, r.Take(kFormatIdField.size(), "format id"));
  if (!std::equal(format.begin(), format.end(), kFormatIdField.begin()))
    return InvalidArgument("soft quote format id is not \"soft\": this is not soft evidence");
  CONFIDE_ASSIGN_OR_RETURN(uint32_t body_size, r.U32Le("body size"));
  if (body_size != platform_services::kReportBodySize)
    return InvalidArgument("soft quote body size " + std::to_string(body_size) + " is not " +
                           std::to_string(platform_services::kReportBodySize));
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan body, r.Take(body_size, "report body"));
  auto decoded = platform_services::DecodeReportBody(body);
  if (!decoded.ok()) return decoded.status().WithContext("soft quote report body");
  q.body = *decoded;
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan key, r.Take(kKeySize, "attestation key"));
  std::copy(key.begin(), key.end(), q.attestation_key.begin());
  q.signed_bytes.assign(evidence.begin(), evidence.begin() + static_cast<std::ptrdiff_t>(r.offset()));
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan sig, r.Take(kSignatureSize, "signature"));
  std::copy(sig.begin(), sig.end(), q.signature.begin());
  CONFIDE_ASSIGN_OR_RETURN(uint32_t cert_size, r.U32Le("certification data size"));
  if (cert_size > kMaxCertificationDataSize)
    return InvalidArgument("soft quote certification data is " + std::to_string(cert_size) +
                           " bytes, above the limit of " + std::to_string(kMaxCertificationDataSize));
  if (cert_size != r.remaining())
    return InvalidArgument("soft quote certification data size " + std::to_string(cert_size) + " does not match the " +
                           std::to_string(r.remaining()) + " bytes that follow (truncated or trailing data)");
  CONFIDE_ASSIGN_OR_RETURN(uint16_t count, r.U16Le("certificate count"));
  if (count == 0 || count > kMaxCertificates)
    return InvalidArgument("soft quote carries " + std::to_string(count) + " certificates; expected 1 to " +
                           std::to_string(kMaxCertificates) + " (platform certificate first)");
  for (uint16_t i = 0; i < count; ++i) {
    CONFIDE_ASSIGN_OR_RETURN(uint32_t size, r.U32Le("certificate size"));
    CONFIDE_ASSIGN_OR_RETURN(ByteSpan der, r.Take(size, "certificate"));
    q.certificates.emplace_back(der.begin(), der.end());
  }
  if (r.remaining() != 0)
    return InvalidArgument("soft quote has " + std::to_string(r.remaining()) +
                           " bytes after its last certificate; nothing may follow");
  return q;
}

// ---------------------------------------------------------------- platform extension
Result<PlatformInfo> PlatformInfoOf(const x509::Certificate& cert) {
  auto ext = cert.Extension(std::string(kPlatformExtensionOid));
  if (!ext.ok()) {
    if (ext.status().code() == Code::kNotFound)
      return InvalidArgument("certificate '" + cert.SubjectName() +
                             "' is not a confide platform certificate (no platform extension " +
                             std::string(kPlatformExtensionOid) + ")");
    return ext.status();
  }
  const std::string what = "platform extension of '" + cert.SubjectName() + "'";
  x509::DerReader outer(*ext);
  CONFIDE_ASSIGN_OR_RETURN(x509::DerElement seq, outer.Expect(0x30, what));
  if (!outer.empty()) return InvalidArgument(what + " has trailing bytes");
  x509::DerReader inner(seq.contents);
  CONFIDE_ASSIGN_OR_RETURN(x509::DerElement svn, inner.Expect(0x02, what + " platformSvn"));
  CONFIDE_ASSIGN_OR_RETURN(x509::DerElement dev, inner.Expect(0x01, what + " development"));
  if (!inner.empty()) return InvalidArgument(what + " has unexpected fields");
  auto value = x509::DerUnsigned(svn.contents);
  if (!value.ok() || *value > 0xffffffffu) return InvalidArgument(what + ": platformSvn is not a 32-bit unsigned integer");
  if (dev.contents.size() != 1 || (dev.contents[0] != 0 && dev.contents[0] != 0xff))
    return InvalidArgument(what + ": development is not a DER BOOLEAN");
  return PlatformInfo{static_cast<uint32_t>(*value), dev.contents[0] == 0xff};
}

// ---------------------------------------------------------------- signer
Result<QuoteSigner> QuoteSigner::Create(crypto::PKey attestation_key, std::vector<x509::Certificate> chain) {
  if (!attestation_key || attestation_key.EcCurve() != crypto::Curve::kP256)
    return InvalidArgument("the attestation key must be an ECDSA P-256 private key");
  if (chain.empty()) return InvalidArgument("the platform certificate chain is empty");
  if (chain.size() > kMaxCertificates)
    return InvalidArgument("the platform certificate chain has " + std::to_string(chain.size()) +
                           " certificates, more than " + std::to_string(kMaxCertificates));
  QuoteSigner s;
  CONFIDE_ASSIGN_OR_RETURN(Bytes raw, crypto::EcPublicKeyRaw(attestation_key));
  CONFIDE_ASSIGN_OR_RETURN(Bytes cert_raw, crypto::EcPublicKeyRaw(chain.front().PublicKey()));
  if (raw.size() != kKeySize || raw != cert_raw)
    return InvalidArgument("platform certificate '" + chain.front().SubjectName() +
                           "' does not certify this attestation key (install the certificate issued for this "
                           "platform's CSR)");
  CONFIDE_ASSIGN_OR_RETURN(s.info_, PlatformInfoOf(chain.front()));
  std::copy(raw.begin(), raw.end(), s.raw_key_.begin());
  s.key_ = std::move(attestation_key);
  s.chain_ = std::move(chain);
  return s;
}

Result<Bytes> QuoteSigner::Sign(const platform_services::ReportBody& body) const {
  Bytes out;
  AppendHeader(out, kQuoteVersion, kKeyTypeEcdsaP256);
  Append(out, platform_services::EncodeReportBody(body));
  Append(out, raw_key_);
  CONFIDE_ASSIGN_OR_RETURN(Bytes sig, crypto::EcdsaSignRaw(key_, crypto::HashAlg::kSha256, out));
  if (sig.size() != kSignatureSize) return Internal("ECDSA P-256 raw signature is not 64 bytes");
  Append(out, sig);
  std::vector<Bytes> certs;
  for (const auto& c : chain_) certs.push_back(c.der());
  Bytes cert_data = CertificationData(certs);
  AppendU32Le(out, static_cast<uint32_t>(cert_data.size()));
  Append(out, cert_data);
  return out;
}

}  // namespace confide::attestation::soft
