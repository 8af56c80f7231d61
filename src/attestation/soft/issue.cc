// Certificate, CRL and CSR issuance for the provisioning CA (OpenSSL does the encoding and
// signing; nothing is hand-rolled but the two-field platform extension).
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "confide/attestation/soft.h"
#include "crypto/openssl_util.h"

namespace confide::attestation::soft {
namespace {

using crypto::internal::OpenSslErrors;
Status Failure(const std::string& what) { return crypto::internal::CryptoFailure(what); }

template <auto F>
struct Deleter {
  template <typename T>
  void operator()(T* p) const { F(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using CrlPtr = std::unique_ptr<X509_CRL, Deleter<X509_CRL_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using OctetPtr = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING_free>>;
using ObjPtr = std::unique_ptr<ASN1_OBJECT, Deleter<ASN1_OBJECT_free>>;
using IntPtr = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER_free>>;
using TimePtr = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME_free>>;
using RevokedPtr = std::unique_ptr<X509_REVOKED, Deleter<X509_REVOKED_free>>;
using crypto::internal::BioPtr;
using crypto::internal::BnPtr;

time_t ToTimeT(UnixTime t) { return static_cast<time_t>(t.time_since_epoch().count()); }

Result<std::string> BioText(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return Failure("PEM encoding");
  return std::string(data, static_cast<size_t>(len));
}

Status SetName(X509_NAME* name, std::string_view common_name) {
  std::string cn(common_name);
  if (cn.empty()) return InvalidArgument("certificate common name is empty");
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                                 -1, 0) != 1)
    return Failure("setting common name '" + cn + "'");
  return Status::Ok();
}

Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return Failure(std::string("adding extension ") + value);
  return Status::Ok();
}

// DER of SEQUENCE { INTEGER svn, BOOLEAN development }.
Bytes PlatformExtensionDer(const PlatformInfo& info) {
  Bytes integer;
  uint32_t v = info.platform_svn;
  Bytes mag;
  do {
    mag.insert(mag.begin(), static_cast<uint8_t>(v & 0xff));
    v >>= 8;
  } while (v != 0);
  if (mag[0] & 0x80) mag.insert(mag.begin(), 0);  // keep it non-negative
  Bytes content = {0x02, static_cast<uint8_t>(mag.size())};
  Append(content, mag);
  content.push_back(0x01);
  content.push_back(0x01);
  content.push_back(info.development ? 0xff : 0x00);
  Bytes out = {0x30, static_cast<uint8_t>(content.size())};
  Append(out, content);
  return out;
}

Result<Bytes> RandomSerial() {
  // 16 random bytes with the top bit clear: positive, unique without a counter.
  Bytes s = crypto::RandomBytes(16);
  s[0] = static_cast<uint8_t>((s[0] & 0x7f) | 0x01);
  return s;
}

}  // namespace

Result<x509::Certificate> IssueCertificate(const CertSpec& spec, const x509::Certificate* issuer,
                                           const crypto::PKey& issuer_key) {
  if (!spec.subject_key) return InvalidArgument("certificate subject key is missing");
  if (!issuer_key) return InvalidArgument("certificate issuer key is missing");
  if (spec.not_after <= spec.not_before)
    return InvalidArgument("certificate validity is empty: not after " + FormatRfc3339(spec.not_after) +
                           " is not later than not before " + FormatRfc3339(spec.not_before));
  X509Ptr cert(X509_new());
  if (!cert) return Failure("certificate allocation");
  X509_set_version(cert.get(), X509_VERSION_3);
  CONFIDE_ASSIGN_OR_RETURN(Bytes serial, RandomSerial());
  BnPtr bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  IntPtr asn_serial(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  if (!asn_serial || X509_set_serialNumber(cert.get(), asn_serial.get()) != 1) return Failure("certificate serial");
  NamePtr subject(X509_NAME_new());
  if (!subject) return Failure("name allocation");
  CONFIDE_RETURN_IF_ERROR(SetName(subject.get(), spec.common_name));
  if (X509_set_subject_name(cert.get(), subject.get()) != 1) return Failure("subject name");
  if (X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer->get()) : subject.get()) != 1)
    return Failure("issuer name");
  TimePtr nb(ASN1_TIME_set(nullptr, ToTimeT(spec.not_before)));
  TimePtr na(ASN1_TIME_set(nullptr, ToTimeT(spec.not_after)));
  if (!nb || !na || X509_set1_notBefore(cert.get(), nb.get()) != 1 || X509_set1_notAfter(cert.get(), na.get()) != 1)
    return Failure("certificate validity");
  if (X509_set_pubkey(cert.get(), spec.subject_key.get()) != 1) return Failure("certificate public key");

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer->get() : cert.get(), cert.get(), nullptr, nullptr, 0);
  if (spec.ca) {
    CONFIDE_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE"));
    CONFIDE_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    CONFIDE_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE"));
    CONFIDE_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature"));
  }
  CONFIDE_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  if (issuer) CONFIDE_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  if (spec.platform) {
    ObjPtr obj(OBJ_txt2obj(std::string(kPlatformExtensionOid).c_str(), 1));
    Bytes der = PlatformExtensionDer(*spec.platform);
    OctetPtr octets(ASN1_OCTET_STRING_new());
    if (!obj || !octets || ASN1_OCTET_STRING_set(octets.get(), der.data(), static_cast<int>(der.size())) != 1)
      return Failure("platform extension");
    ExtPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, obj.get(), 0, octets.get()));
    if (!ext || X509_add_ext(cert.get(), ext.get(), -1) != 1) return Failure("adding the platform extension");
  }
  if (X509_sign(cert.get(), issuer_key.get(), EVP_sha256()) <= 0) return Failure("signing certificate");
  unsigned char* der = nullptr;
  int len = i2d_X509(cert.get(), &der);
  if (len <= 0) return Failure("certificate encoding");
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return x509::Certificate::FromDer(out);
}

Result<x509::Crl> IssueCrl(const x509::Certificate& issuer, const crypto::PKey& issuer_key,
                           const std::vector<Bytes>& revoked_serials, UnixTime this_update, UnixTime next_update) {
  if (next_update <= this_update) return InvalidArgument("CRL next update must be later than this update");
  CrlPtr crl(X509_CRL_new());
  if (!crl) return Failure("CRL allocation");
  X509_CRL_set_version(crl.get(), 1);  // v2
  if (X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.get())) != 1) return Failure("CRL issuer");
  TimePtr tu(ASN1_TIME_set(nullptr, ToTimeT(this_update)));
  TimePtr nu(ASN1_TIME_set(nullptr, ToTimeT(next_update)));
  if (!tu || !nu || X509_CRL_set1_lastUpdate(crl.get(), tu.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), nu.get()) != 1)
    return Failure("CRL times");
  for (const auto& serial : revoked_serials) {
    RevokedPtr rev(X509_REVOKED_new());
    BnPtr bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
    IntPtr asn(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
    if (!rev || !asn || X509_REVOKED_set_serialNumber(rev.get(), asn.get()) != 1 ||
        X509_REVOKED_set_revocationDate(rev.get(), tu.get()) != 1)
      return Failure("CRL entry");
    if (X509_CRL_add0_revoked(crl.get(), rev.get()) != 1) return Failure("CRL entry");
    rev.release();  // owned by the CRL now
  }
  X509_CRL_sort(crl.get());
  if (X509_CRL_sign(crl.get(), issuer_key.get(), EVP_sha256()) <= 0) return Failure("signing CRL");
  unsigned char* der = nullptr;
  int len = i2d_X509_CRL(crl.get(), &der);
  if (len <= 0) return Failure("CRL encoding");
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return x509::Crl::FromDer(out);
}

Result<std::string> CertificatePem(const x509::Certificate& cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert.get()) != 1) return Failure("certificate PEM");
  return BioText(bio.get());
}

Result<std::string> CrlPem(const x509::Crl& crl) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl.get()) != 1) return Failure("CRL PEM");
  return BioText(bio.get());
}

Result<std::string> MakeCsr(const crypto::PKey& key, std::string_view common_name) {
  if (!key || key.EcCurve() != crypto::Curve::kP256)
    return InvalidArgument("a platform CSR needs an ECDSA P-256 attestation key");
  ReqPtr req(X509_REQ_new());
  NamePtr name(X509_NAME_new());
  if (!req || !name) return Failure("CSR allocation");
  CONFIDE_RETURN_IF_ERROR(SetName(name.get(), common_name));
  if (X509_REQ_set_version(req.get(), 0) != 1 || X509_REQ_set_subject_name(req.get(), name.get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1)
    return Failure("CSR fields");
  if (X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) return Failure("signing CSR");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) return Failure("CSR PEM");
  return BioText(bio.get());
}

Result<Csr> ParseCsr(ByteSpan pem_or_der) {
  ReqPtr req;
  std::string_view text(reinterpret_cast<const char*>(pem_or_der.data()), pem_or_der.size());
  if (text.find("-----BEGIN CERTIFICATE REQUEST-----") != std::string_view::npos) {
    BioPtr bio(BIO_new_mem_buf(pem_or_der.data(), static_cast<int>(pem_or_der.size())));
    req.reset(bio ? PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  } else {
    const unsigned char* p = pem_or_der.data();
    req.reset(d2i_X509_REQ(nullptr, &p, static_cast<long>(pem_or_der.size())));
    if (req && p != pem_or_der.data() + pem_or_der.size()) req.reset();
  }
  if (!req) {
    OpenSslErrors();
    return InvalidArgument("not a PKCS#10 certificate request (PEM \"CERTIFICATE REQUEST\" or DER)");
  }
  EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
  if (pub == nullptr) return InvalidArgument("the certificate request has no usable public key");
  if (X509_REQ_verify(req.get(), pub) != 1) {
    OpenSslErrors();
    return VerificationFailed("the certificate request's self-signature does not verify (corrupted or forged CSR)");
  }
  EVP_PKEY_up_ref(pub);
  Csr csr;
  csr.public_key = crypto::PKey(pub);
  if (csr.public_key.EcCurve() != crypto::Curve::kP256)
    return InvalidArgument("the certificate request's key is not ECDSA P-256 (soft attestation keys are P-256)");
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx >= 0) {
    ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, s);
    if (n > 0) csr.common_name.assign(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
    OPENSSL_free(utf8);
  }
  return csr;
}

}  // namespace confide::attestation::soft
