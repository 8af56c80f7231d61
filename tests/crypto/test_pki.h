// Builds throw-away X.509 certificates, CRLs and DER values with the OpenSSL C API, so tests
// of any layer can make a CA hierarchy (root -> intermediate -> leaf) with chosen validity
// windows, serials and custom extensions without shipping key material.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "confide/bytes.h"
#include "confide/crypto.h"
#include "confide/time.h"
#include "confide/x509.h"

namespace confide::testpki {

// Parses RFC 3339 or aborts: for literal times in tests.
UnixTime T(std::string_view rfc3339);

struct CustomExtension {
  std::string oid;  // dotted
  Bytes value;      // DER placed inside the extnValue OCTET STRING
  bool critical = false;
};

struct CertSpec {
  std::string common_name;
  std::string organization = "confide test";
  Bytes serial = {0x01};  // big-endian magnitude
  UnixTime not_before;
  UnixTime not_after;
  bool is_ca = false;
  std::vector<CustomExtension> extensions;
  crypto::HashAlg signature_hash = crypto::HashAlg::kSha256;
};

// Issues a certificate for `subject_key`. With `issuer` null the certificate is self-signed
// by `issuer_key` (which must then be the subject's own key).
Result<x509::Certificate> IssueCertificate(const CertSpec& spec, const crypto::PKey& subject_key,
                                           const x509::Certificate* issuer, const crypto::PKey& issuer_key);

struct CrlSpec {
  UnixTime this_update;
  std::optional<UnixTime> next_update;
  std::vector<Bytes> revoked_serials;  // big-endian magnitudes
};
Result<x509::Crl> IssueCrl(const CrlSpec& spec, const x509::Certificate& issuer, const crypto::PKey& issuer_key);

std::string CertificatePem(const x509::Certificate& cert);
Bytes CrlDer(const x509::Crl& crl);
std::string CrlPem(const x509::Crl& crl);

// A three-level hierarchy with the windows below; every CA also has an empty CRL.
//   root          2020-01-01 .. 2040-01-01   P-384, serial 0x01
//   intermediate  2021-01-01 .. 2035-01-01   P-256, serial 0x02
//   leaf          2024-01-01 .. 2026-01-01   P-256, serial 0x1000, `leaf_extensions`
struct Hierarchy {
  crypto::PKey root_key, intermediate_key, leaf_key;
  x509::Certificate root, intermediate, leaf;
  x509::Crl root_crl, intermediate_crl;  // this update 2024-06-01, next update 2025-06-01
};
Result<Hierarchy> BuildHierarchy(const std::vector<CustomExtension>& leaf_extensions = {},
                                 const std::string& name_prefix = "confide test");

// ------------------------------------------------------------------ DER building (via OpenSSL)
Bytes DerTlv(uint8_t tag, ByteSpan contents);       // any tag, definite length
Bytes DerSequence(const std::vector<Bytes>& items);  // 0x30
Bytes DerOid(const std::string& dotted);             // 0x06, encoded by OpenSSL
Bytes DerInteger(uint64_t value);                    // 0x02, encoded by OpenSSL
Bytes DerOctetString(ByteSpan contents);             // 0x04

}  // namespace confide::testpki
