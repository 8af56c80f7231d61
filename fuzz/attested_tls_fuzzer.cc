// Attested-TLS certificate parsing: the evidence extension (TCG DICE CBOR or Gramine's raw
// quote) of a peer certificate is attacker-controlled. Input: byte 0 picks the OID, the rest is
// the extension value. Extraction, the binding check and the claims parser must refuse cleanly.
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <cstdint>
#include <cstring>

#include "confide/attested_tls.h"

using namespace confide;

namespace {

x509::Certificate CertWith(const crypto::PKey& key, const char* oid, const uint8_t* value, size_t size) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("f"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key.get());
  ASN1_OBJECT* obj = OBJ_txt2obj(oid, 1);
  ASN1_OCTET_STRING* os = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(os, value, static_cast<int>(size));
  X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, obj, 1, os);
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  ASN1_OCTET_STRING_free(os);
  ASN1_OBJECT_free(obj);
  X509_sign(x, key.get(), EVP_sha256());
  unsigned char* der = nullptr;
  int n = i2d_X509(x, &der);
  Bytes b(der, der + (n > 0 ? n : 0));
  OPENSSL_free(der);
  X509_free(x);
  return *x509::Certificate::FromDer(b);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const crypto::PKey key = *crypto::EcGenerate(crypto::Curve::kP256);
  if (size < 1 || size > 64 * 1024) return 0;
  const char* oid = (data[0] & 1) ? "1.2.840.113741.1337.6" : "2.23.133.5.4.9";
  x509::Certificate cert = CertWith(key, oid, data + 1, size - 1);
  auto ex = attested_tls::ExtractEvidence(cert);
  if (!ex.ok()) return 0;
  attested_tls::VerifierOptions o;
  // A verifier that believes the evidence: its first 64 bytes are the report data, so the
  // binding check sees attacker-chosen values.
  o.verify_evidence = [](std::string_view format, ByteSpan e) -> Result<attestation::VerificationResult> {
    attestation::VerificationResult r;
    r.claims.format = std::string(format);
    r.claims.report_data.assign(e.begin(), e.begin() + std::min<size_t>(64, e.size()));
    return r;
  };
  o.policy = [](const attestation::VerificationResult&) { return Status::Ok(); };
  (void)attested_tls::VerifyAttestedCertificate(cert, o);
  return 0;
}
