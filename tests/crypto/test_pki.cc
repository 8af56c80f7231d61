#include "crypto/test_pki.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace confide::testpki {
namespace {

const EVP_MD* Md(crypto::HashAlg alg) {
  switch (alg) {
    case crypto::HashAlg::kSha256: return EVP_sha256();
    case crypto::HashAlg::kSha384: return EVP_sha384();
    case crypto::HashAlg::kSha512: return EVP_sha512();
  }
  return EVP_sha256();
}

Status Fail(const std::string& what) {
  char buf[256] = "no detail";
  unsigned long e = ERR_get_error();
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return Internal("test PKI: " + what + " (" + buf + ")");
}

ASN1_INTEGER* SerialInteger(const Bytes& serial) {
  BIGNUM* bn = BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr);
  ASN1_INTEGER* i = bn ? BN_to_ASN1_INTEGER(bn, nullptr) : nullptr;
  BN_free(bn);
  return i;
}

bool SetTime(ASN1_TIME* t, UnixTime when) { return ASN1_TIME_set(t, static_cast<time_t>(when.time_since_epoch().count())) != nullptr; }

bool AddExtensionNid(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

Bytes ToBytes(unsigned char* der, int len) {
  Bytes out;
  if (len > 0) out.assign(der, der + len);
  OPENSSL_free(der);
  return out;
}

}  // namespace

UnixTime T(std::string_view rfc3339) {
  auto r = ParseRfc3339(rfc3339);
  if (!r.ok()) {
    std::fprintf(stderr, "bad test time %.*s\n", static_cast<int>(rfc3339.size()), rfc3339.data());
    std::abort();
  }
  return *r;
}

Result<x509::Certificate> IssueCertificate(const CertSpec& spec, const crypto::PKey& subject_key,
                                           const x509::Certificate* issuer, const crypto::PKey& issuer_key) {
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  if (!cert || X509_set_version(cert.get(), 2) != 1) return Fail("X509_new");
  ASN1_INTEGER* serial = SerialInteger(spec.serial);
  bool ok = serial && X509_set_serialNumber(cert.get(), serial) == 1;
  ASN1_INTEGER_free(serial);
  if (!ok) return Fail("serial");
  if (!SetTime(X509_getm_notBefore(cert.get()), spec.not_before) ||
      !SetTime(X509_getm_notAfter(cert.get()), spec.not_after))
    return Fail("validity");
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(spec.organization.c_str()),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(spec.common_name.c_str()),
                             -1, -1, 0);
  X509_NAME* issuer_name = issuer ? X509_get_subject_name(issuer->get()) : name;
  if (X509_set_issuer_name(cert.get(), issuer_name) != 1) return Fail("issuer name");
  if (X509_set_pubkey(cert.get(), subject_key.get()) != 1) return Fail("public key");
  X509* issuer_cert = issuer ? issuer->get() : cert.get();
  if (spec.is_ca) {
    if (!AddExtensionNid(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:TRUE") ||
        !AddExtensionNid(cert.get(), issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign"))
      return Fail("CA extensions");
  } else {
    if (!AddExtensionNid(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:FALSE") ||
        !AddExtensionNid(cert.get(), issuer_cert, NID_key_usage, "critical,digitalSignature"))
      return Fail("leaf extensions");
  }
  if (!AddExtensionNid(cert.get(), issuer_cert, NID_subject_key_identifier, "hash")) return Fail("SKID");
  if (issuer && !AddExtensionNid(cert.get(), issuer_cert, NID_authority_key_identifier, "keyid:always"))
    return Fail("AKID");
  for (const auto& e : spec.extensions) {
    ASN1_OBJECT* obj = OBJ_txt2obj(e.oid.c_str(), 1);
    ASN1_OCTET_STRING* data = ASN1_OCTET_STRING_new();
    bool done = obj && data && ASN1_OCTET_STRING_set(data, e.value.data(), static_cast<int>(e.value.size())) == 1;
    X509_EXTENSION* ext = done ? X509_EXTENSION_create_by_OBJ(nullptr, obj, e.critical ? 1 : 0, data) : nullptr;
    done = ext && X509_add_ext(cert.get(), ext, -1) == 1;
    X509_EXTENSION_free(ext);
    ASN1_OBJECT_free(obj);
    ASN1_OCTET_STRING_free(data);
    if (!done) return Fail("custom extension " + e.oid);
  }
  if (X509_sign(cert.get(), issuer_key.get(), Md(spec.signature_hash)) <= 0) return Fail("signing certificate");
  unsigned char* der = nullptr;
  int len = i2d_X509(cert.get(), &der);
  return x509::Certificate::FromDer(ToBytes(der, len));
}

Result<x509::Crl> IssueCrl(const CrlSpec& spec, const x509::Certificate& issuer, const crypto::PKey& issuer_key) {
  std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)> crl(X509_CRL_new(), X509_CRL_free);
  if (!crl || X509_CRL_set_version(crl.get(), 1) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.get())) != 1)
    return Fail("CRL setup");
  std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> t(ASN1_TIME_new(), ASN1_TIME_free);
  if (!t || !SetTime(t.get(), spec.this_update) || X509_CRL_set1_lastUpdate(crl.get(), t.get()) != 1)
    return Fail("CRL thisUpdate");
  if (spec.next_update &&
      (!SetTime(t.get(), *spec.next_update) || X509_CRL_set1_nextUpdate(crl.get(), t.get()) != 1))
    return Fail("CRL nextUpdate");
  for (const Bytes& s : spec.revoked_serials) {
    X509_REVOKED* rev = X509_REVOKED_new();
    ASN1_INTEGER* serial = SerialInteger(s);
    bool ok = rev && serial && X509_REVOKED_set_serialNumber(rev, serial) == 1 &&
              SetTime(t.get(), spec.this_update) && X509_REVOKED_set_revocationDate(rev, t.get()) == 1 &&
              X509_CRL_add0_revoked(crl.get(), rev) == 1;
    ASN1_INTEGER_free(serial);
    if (!ok) {
      X509_REVOKED_free(rev);
      return Fail("CRL entry");
    }
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer.get(), nullptr, nullptr, crl.get(), 0);
  X509_EXTENSION* akid = X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always");
  bool ok = akid && X509_CRL_add_ext(crl.get(), akid, -1) == 1;
  X509_EXTENSION_free(akid);
  if (!ok) return Fail("CRL AKID");
  if (X509_CRL_sort(crl.get()) != 1 || X509_CRL_sign(crl.get(), issuer_key.get(), EVP_sha256()) <= 0)
    return Fail("signing CRL");
  unsigned char* der = nullptr;
  int len = i2d_X509_CRL(crl.get(), &der);
  return x509::Crl::FromDer(ToBytes(der, len));
}

std::string CertificatePem(const x509::Certificate& cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(bio.get(), cert.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Bytes CrlDer(const x509::Crl& crl) {
  unsigned char* der = nullptr;
  int len = i2d_X509_CRL(crl.get(), &der);
  return ToBytes(der, len);
}

std::string CrlPem(const x509::Crl& crl) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509_CRL(bio.get(), crl.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<Hierarchy> BuildHierarchy(const std::vector<CustomExtension>& leaf_extensions, const std::string& prefix) {
  Hierarchy h;
  CONFIDE_ASSIGN_OR_RETURN(h.root_key, crypto::EcGenerate(crypto::Curve::kP384));
  CONFIDE_ASSIGN_OR_RETURN(h.intermediate_key, crypto::EcGenerate(crypto::Curve::kP256));
  CONFIDE_ASSIGN_OR_RETURN(h.leaf_key, crypto::EcGenerate(crypto::Curve::kP256));
  CertSpec root{prefix + " root", "confide test", {0x01}, T("2020-01-01T00:00:00Z"), T("2040-01-01T00:00:00Z"), true,
                {}, crypto::HashAlg::kSha384};
  CONFIDE_ASSIGN_OR_RETURN(h.root, IssueCertificate(root, h.root_key, nullptr, h.root_key));
  CertSpec inter{prefix + " intermediate", "confide test", {0x02}, T("2021-01-01T00:00:00Z"),
                 T("2035-01-01T00:00:00Z"), true, {}, crypto::HashAlg::kSha384};
  CONFIDE_ASSIGN_OR_RETURN(h.intermediate, IssueCertificate(inter, h.intermediate_key, &h.root, h.root_key));
  CertSpec leaf{prefix + " leaf", "confide test", {0x10, 0x00}, T("2024-01-01T00:00:00Z"), T("2026-01-01T00:00:00Z"),
                false, leaf_extensions, crypto::HashAlg::kSha256};
  CONFIDE_ASSIGN_OR_RETURN(h.leaf, IssueCertificate(leaf, h.leaf_key, &h.intermediate, h.intermediate_key));
  CrlSpec crl{T("2024-06-01T00:00:00Z"), T("2025-06-01T00:00:00Z"), {}};
  CONFIDE_ASSIGN_OR_RETURN(h.root_crl, IssueCrl(crl, h.root, h.root_key));
  CONFIDE_ASSIGN_OR_RETURN(h.intermediate_crl, IssueCrl(crl, h.intermediate, h.intermediate_key));
  return h;
}

Bytes DerTlv(uint8_t tag, ByteSpan contents) {
  Bytes out{tag};
  size_t n = contents.size();
  if (n < 0x80) {
    out.push_back(static_cast<uint8_t>(n));
  } else {
    Bytes len;
    for (size_t v = n; v > 0; v >>= 8) len.insert(len.begin(), static_cast<uint8_t>(v & 0xff));
    out.push_back(static_cast<uint8_t>(0x80 | len.size()));
    Append(out, len);
  }
  Append(out, contents);
  return out;
}

Bytes DerSequence(const std::vector<Bytes>& items) {
  Bytes body;
  for (const auto& i : items) Append(body, i);
  return DerTlv(0x30, body);
}

Bytes DerOid(const std::string& dotted) {
  ASN1_OBJECT* obj = OBJ_txt2obj(dotted.c_str(), 1);
  if (!obj) std::abort();
  unsigned char* der = nullptr;
  int len = i2d_ASN1_OBJECT(obj, &der);
  ASN1_OBJECT_free(obj);
  return ToBytes(der, len);
}

Bytes DerInteger(uint64_t value) {
  ASN1_INTEGER* i = ASN1_INTEGER_new();
  if (!i || ASN1_INTEGER_set_uint64(i, value) != 1) std::abort();
  unsigned char* der = nullptr;
  int len = i2d_ASN1_INTEGER(i, &der);
  ASN1_INTEGER_free(i);
  return ToBytes(der, len);
}

Bytes DerOctetString(ByteSpan contents) { return DerTlv(0x04, contents); }

}  // namespace confide::testpki
