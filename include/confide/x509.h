// X.509 certificates, CRLs and chain verification at an explicit time, plus a small DER
// reader for walking nested ASN.1 inside extensions (e.g. Intel's SGX PCK extension).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "confide/bytes.h"
#include "confide/crypto.h"
#include "confide/status.h"
#include "confide/time.h"

typedef struct x509_st X509;
typedef struct X509_crl_st X509_CRL;

namespace confide::x509 {

// A default-constructed Certificate or Crl is empty (a placeholder to assign to); use only
// the ones the parsers return.
class Certificate {
 public:
  static Result<Certificate> FromDer(ByteSpan der);
  static Result<Certificate> FromPem(ByteSpan pem);  // the first certificate in the text
  // Any mix of PEM or DER: a PEM bundle yields every certificate in order.
  static Result<std::vector<Certificate>> ParseAll(ByteSpan pem_or_der);

  X509* get() const { return cert_.get(); }
  const Bytes& der() const { return der_; }
  std::string SubjectName() const;  // RFC 2253 form, e.g. "CN=Intel SGX Root CA,O=..."
  std::string IssuerName() const;
  Bytes SerialNumber() const;       // big-endian magnitude
  UnixTime NotBefore() const;
  UnixTime NotAfter() const;
  crypto::PKey PublicKey() const;
  Bytes Sha256Fingerprint() const;  // of the DER encoding
  bool IsSelfIssued() const;

  // DER contents (the value of the extnValue OCTET STRING) of the extension with this
  // dotted OID; kNotFound when absent.
  Result<Bytes> Extension(const std::string& oid) const;

  // Checks only that `issuer`'s key signed this certificate (any algorithm OpenSSL knows,
  // including RSA-PSS).
  Status VerifySignedBy(const Certificate& issuer) const;

 private:
  std::shared_ptr<X509> cert_;
  Bytes der_;
};

class Crl {
 public:
  static Result<Crl> FromDer(ByteSpan der);
  static Result<Crl> FromPem(ByteSpan pem);
  static Result<Crl> Parse(ByteSpan pem_or_der);

  X509_CRL* get() const { return crl_.get(); }
  std::string IssuerName() const;
  UnixTime ThisUpdate() const;
  std::optional<UnixTime> NextUpdate() const;
  bool IsRevoked(ByteSpan serial) const;
  bool IsRevoked(const Certificate& cert) const { return IsRevoked(cert.SerialNumber()); }
  Status VerifySignedBy(const Certificate& issuer) const;

 private:
  std::shared_ptr<X509_CRL> crl_;
};

struct ChainOptions {
  UnixTime at;                 // evaluation time; every certificate must be valid then
  std::vector<Crl> crls;       // when non-empty, every certificate whose issuer has a CRL here is checked
  bool require_crl_for_every_issuer = false;  // refuse when a CA in the chain has no CRL
};

// Verifies leaf <- intermediates... <- one of `roots` at options.at. Order of
// intermediates does not matter. Errors name the certificate and the failed check
// (kExpired for time, kRevoked for CRL hits, kVerificationFailed otherwise).
Status VerifyChain(const Certificate& leaf, const std::vector<Certificate>& intermediates,
                   const std::vector<Certificate>& roots, const ChainOptions& options);

// ---------------------------------------------------------------- DER reader
// Minimal DER TLV walker (definite lengths only, no indefinite forms), every length checked.
struct DerElement {
  uint8_t tag = 0;       // full identifier octet, e.g. 0x30 SEQUENCE, 0x06 OID, 0x04 OCTET STRING
  ByteSpan contents;     // value bytes
  ByteSpan encoded;      // tag + length + value
};

class DerReader {
 public:
  explicit DerReader(ByteSpan data) : data_(data) {}
  bool empty() const { return off_ >= data_.size(); }
  Result<DerElement> Next();
  // Next element, which must carry `tag`.
  Result<DerElement> Expect(uint8_t tag, std::string_view what);

 private:
  ByteSpan data_;
  size_t off_ = 0;
};

// Dotted-decimal text of an OID's content octets, e.g. "1.2.840.113741.1.13.1".
Result<std::string> OidToString(ByteSpan oid_contents);
// Big-endian INTEGER contents -> unsigned value; fails when negative or over 64 bits.
Result<uint64_t> DerUnsigned(ByteSpan integer_contents);

}  // namespace confide::x509
