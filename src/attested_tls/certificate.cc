// The attester half: key, evidence and the self-signed certificate carrying it; plus the
// extraction that the relying party starts from.
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstring>

#include "attested_tls/cbor.h"
#include "confide/attested_tls.h"

namespace confide::attested_tls {
namespace {

struct X509Free { void operator()(X509* x) const { X509_free(x); } };
struct NameFree { void operator()(X509_NAME* n) const { X509_NAME_free(n); } };
struct ExtFree { void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); } };
struct ObjFree { void operator()(ASN1_OBJECT* o) const { ASN1_OBJECT_free(o); } };
struct OctetFree { void operator()(ASN1_OCTET_STRING* o) const { ASN1_OCTET_STRING_free(o); } };

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no OpenSSL error recorded";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}
Status Failure(const std::string& what) { return CryptoError(what + " (OpenSSL: " + OpenSslError() + ")"); }

constexpr uint64_t kIanaSha256 = 1;

// {"pubkey-hash": h'[1, h'<sha256(spki)>']'} (CCC interoperable RA-TLS claims buffer).
Bytes ClaimsBuffer(ByteSpan spki_hash) {
  Bytes hash_entry;
  cbor::AppendArrayHead(hash_entry, 2);
  cbor::AppendUint(hash_entry, kIanaSha256);
  cbor::AppendBytes(hash_entry, spki_hash);
  Bytes claims;
  cbor::AppendMapHead(claims, 1);
  cbor::AppendText(claims, "pubkey-hash");
  cbor::AppendBytes(claims, hash_entry);
  return claims;
}

Status AddExtension(X509* x, std::string_view oid, bool critical, ByteSpan value) {
  std::unique_ptr<ASN1_OBJECT, ObjFree> obj(OBJ_txt2obj(std::string(oid).c_str(), 1));
  std::unique_ptr<ASN1_OCTET_STRING, OctetFree> os(ASN1_OCTET_STRING_new());
  if (!obj || !os || !ASN1_OCTET_STRING_set(os.get(), value.data(), static_cast<int>(value.size())))
    return Failure("building extension " + std::string(oid));
  std::unique_ptr<X509_EXTENSION, ExtFree> ext(
      X509_EXTENSION_create_by_OBJ(nullptr, obj.get(), critical ? 1 : 0, os.get()));
  if (!ext || !X509_add_ext(x, ext.get(), -1)) return Failure("adding extension " + std::string(oid));
  return Status::Ok();
}

Status AddConfExtension(X509* x, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, ExtFree> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || !X509_add_ext(x, ext.get(), -1)) return Failure(std::string("adding extension ") + value);
  return Status::Ok();
}

// A DCAP quote is SGX or TDX by its header's TEE type (v4+: 0x81 is TDX).
std::string IntelQuoteFormat(ByteSpan q) {
  if (q.size() >= 8 && q[0] >= 4 && q[4] == 0x81 && q[5] == 0 && q[6] == 0 && q[7] == 0) return "tdx";
  return "sgx-ecdsa";
}

// Raw evidence in Gramine's extension: tell the format from its header.
Result<std::string> SniffFormat(ByteSpan e) {
  if (e.size() >= 12 && std::memcmp(e.data() + 4, "soft\0\0\0\0", 8) == 0) return std::string("soft");
  if (e.size() >= 4) {
    uint16_t version = static_cast<uint16_t>(e[0] | (e[1] << 8));
    uint16_t key_type = static_cast<uint16_t>(e[2] | (e[3] << 8));
    if (version >= 3 && version <= 5 && key_type == 2) return IntelQuoteFormat(e);
  }
  return Unsupported("the Gramine RA-TLS extension holds evidence of an unknown format (neither a soft quote "
                     "nor a DCAP ECDSA quote)");
}

Status Malformed(const Status& s) {
  return InvalidArgument("malformed TCG DICE evidence extension (2.23.133.5.4.9): " + s.message());
}

// The claims buffer: a map whose "pubkey-hash" is a CoSWID hash-entry [alg, hash]; other
// claims (e.g. "nonce") are skipped.
Status ParseClaims(ExtractedEvidence& out) {
  cbor::Reader cr(out.claims_buffer);
  auto n = cr.Expect(5, "claims map");
  if (!n.ok()) return Malformed(n.status());
  for (uint64_t i = 0; i < *n; ++i) {
    auto name = cr.ReadText("claim name");
    if (!name.ok()) return Malformed(name.status());
    if (*name != "pubkey-hash") {
      if (Status s = cr.Skip(); !s.ok()) return Malformed(s);
      continue;
    }
    auto entry = cr.ReadBytes("pubkey-hash");
    if (!entry.ok()) return Malformed(entry.status());
    cbor::Reader er(*entry);
    auto count = er.Expect(4, "hash-entry");
    if (!count.ok() || *count != 2) return Malformed(InvalidArgument("hash-entry must be [alg, hash]"));
    auto alg = er.Expect(0, "hash algorithm");
    if (!alg.ok()) return Malformed(alg.status());
    auto h = er.ReadBytes("hash value");
    if (!h.ok()) return Malformed(h.status());
    out.pubkey_hash_alg = *alg;
    out.pubkey_hash.assign(h->begin(), h->end());
  }
  if (!cr.empty()) return Malformed(InvalidArgument("bytes after the claims map"));
  return Status::Ok();
}

}  // namespace

Result<uint64_t> CborTagForFormat(std::string_view format) {
  if (format == "soft") return kCborTagConfideSoft;
  if (format == "sgx-ecdsa" || format == "tdx") return kCborTagIntelTeeQuote;
  if (format == "snp") return kCborTagConfideSnp;
  return Unsupported("no CBOR tag for evidence format '" + std::string(format) +
                     "' (known: soft, sgx-ecdsa, tdx, snp)");
}

Result<std::string> FormatForCborTag(uint64_t tag) {
  if (tag == kCborTagConfideSoft) return std::string("soft");
  // SGX and TDX quotes share IANA's tag; ExtractEvidence tells them apart by the quote header.
  if (tag == kCborTagIntelTeeQuote) return std::string("sgx-ecdsa");
  if (tag == kCborTagConfideSnp) return std::string("snp");
  return Unsupported("the attestation extension's CBOR tag " + std::to_string(tag) +
                     " names no evidence format confide knows");
}

ReportData ReportDataForSpki(ByteSpan spki_der) {
  ReportData rd{};
  Bytes h = crypto::Sha256(spki_der);
  std::memcpy(rd.data(), h.data(), h.size());
  return rd;
}

Result<AttestedCertificate> CreateAttestedCertificate(const EvidenceSource& source, const CertificateOptions& options) {
  if (!source) return InvalidArgument("no evidence source given for the attested certificate");
  CONFIDE_ASSIGN_OR_RETURN(uint64_t tag, CborTagForFormat(options.format));
  if (options.lifetime.count() <= 0) return InvalidArgument("the certificate lifetime must be positive");
  CONFIDE_ASSIGN_OR_RETURN(crypto::PKey key, crypto::EcGenerate(crypto::Curve::kP256));
  CONFIDE_ASSIGN_OR_RETURN(Bytes spki, key.PublicDer());
  ReportData rd = ReportDataForSpki(spki);
  auto evidence = source(rd);
  if (!evidence.ok()) return evidence.status().WithContext("getting evidence for the attested certificate");
  if (evidence->empty()) return InvalidArgument("the evidence source returned no evidence");

  Bytes ext;
  cbor::AppendTag(ext, tag);
  cbor::AppendArrayHead(ext, 2);
  cbor::AppendBytes(ext, *evidence);
  cbor::AppendBytes(ext, ClaimsBuffer(ByteSpan(rd.data(), 32)));

  std::unique_ptr<X509, X509Free> x(X509_new());
  if (!x) return Failure("X509_new");
  Bytes serial = crypto::RandomBytes(16);
  serial[0] &= 0x7f;  // positive
  serial[0] |= 0x40;  // and of full length
  std::unique_ptr<BIGNUM, void (*)(BIGNUM*)> bn(BN_bin2bn(serial.data(), 16, nullptr), BN_free);
  UnixTime nb = options.not_before.value_or(Now() - std::chrono::hours(1));
  UnixTime na = nb + options.lifetime;
  std::unique_ptr<X509_NAME, NameFree> name(X509_NAME_new());
  auto cn = reinterpret_cast<const unsigned char*>(options.common_name.c_str());
  auto org = reinterpret_cast<const unsigned char*>("confide");
  if (!bn || !name || !X509_set_version(x.get(), 2) ||
      !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x.get())) ||
      !X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8, cn, -1, -1, 0) ||
      !X509_NAME_add_entry_by_txt(name.get(), "O", MBSTRING_UTF8, org, -1, -1, 0) ||
      !X509_set_subject_name(x.get(), name.get()) || !X509_set_issuer_name(x.get(), name.get()) ||
      !ASN1_TIME_set(X509_getm_notBefore(x.get()), nb.time_since_epoch().count()) ||
      !ASN1_TIME_set(X509_getm_notAfter(x.get()), na.time_since_epoch().count()) ||
      !X509_set_pubkey(x.get(), key.get()))
    return Failure("building the attested certificate");
  CONFIDE_RETURN_IF_ERROR(AddConfExtension(x.get(), NID_basic_constraints, "critical,CA:FALSE"));
  CONFIDE_RETURN_IF_ERROR(AddConfExtension(x.get(), NID_key_usage, "critical,digitalSignature"));
  CONFIDE_RETURN_IF_ERROR(AddConfExtension(x.get(), NID_ext_key_usage, "serverAuth,clientAuth"));
  CONFIDE_RETURN_IF_ERROR(AddConfExtension(x.get(), NID_subject_key_identifier, "hash"));
  // Critical, as the DICE architecture asks: a peer that cannot check evidence must not
  // mistake this for an ordinary self-signed certificate.
  CONFIDE_RETURN_IF_ERROR(AddExtension(x.get(), kTcgDiceTaggedEvidenceOid, true, ext));
  if (X509_sign(x.get(), key.get(), EVP_sha256()) <= 0) return Failure("signing the attested certificate");
  unsigned char* der = nullptr;
  int n = i2d_X509(x.get(), &der);
  if (n <= 0) return Failure("encoding the attested certificate");
  Bytes der_bytes(der, der + n);
  OPENSSL_free(der);
  CONFIDE_ASSIGN_OR_RETURN(x509::Certificate cert, x509::Certificate::FromDer(der_bytes));
  return AttestedCertificate{std::move(key), std::move(cert), std::move(*evidence)};
}

Status UseCertificate(SSL_CTX* ctx, const AttestedCertificate& cert) {
  if (ctx == nullptr) return InvalidArgument("no SSL_CTX given");
  if (SSL_CTX_use_certificate(ctx, cert.certificate.get()) != 1 || SSL_CTX_use_PrivateKey(ctx, cert.key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1)
    return Failure("installing the attested certificate and key");
  return Status::Ok();
}

Result<ExtractedEvidence> ExtractEvidence(const x509::Certificate& cert) {
  ExtractedEvidence out;
  auto dice = cert.Extension(std::string(kTcgDiceTaggedEvidenceOid));
  if (dice.ok()) {
    out.oid = std::string(kTcgDiceTaggedEvidenceOid);
    cbor::Reader r(*dice);
    auto tag = r.Expect(6, "tagged evidence");
    if (!tag.ok()) return Malformed(tag.status());
    out.cbor_tag = *tag;
    CONFIDE_ASSIGN_OR_RETURN(out.format, FormatForCborTag(*tag));
    // Either tag([evidence, claims-buffer]) (CCC interoperable RA-TLS, what confide emits)
    // or tag(evidence).
    cbor::Reader peek = r;
    auto head = peek.ReadHead();
    if (!head.ok()) return Malformed(head.status());
    if (head->major == 2) {
      auto ev = r.ReadBytes("evidence");
      if (!ev.ok()) return Malformed(ev.status());
      out.evidence.assign(ev->begin(), ev->end());
    } else if (head->major == 4) {
      r = peek;
      if (head->value != 2)
        return Malformed(InvalidArgument("the tagged array must have 2 entries, has " + std::to_string(head->value)));
      auto ev = r.ReadBytes("evidence");
      if (!ev.ok()) return Malformed(ev.status());
      auto claims = r.ReadBytes("claims buffer");
      if (!claims.ok()) return Malformed(claims.status());
      out.evidence.assign(ev->begin(), ev->end());
      out.claims_buffer.assign(claims->begin(), claims->end());
      CONFIDE_RETURN_IF_ERROR(ParseClaims(out));
    } else {
      return Malformed(InvalidArgument("the tag must wrap an array [evidence, claims] or a byte string"));
    }
    if (!r.empty()) return Malformed(InvalidArgument("bytes after the tagged evidence"));
    if (out.evidence.empty()) return Malformed(InvalidArgument("the evidence is empty"));
    if (out.cbor_tag == kCborTagIntelTeeQuote) out.format = IntelQuoteFormat(out.evidence);
    return out;
  }
  if (dice.status().code() != Code::kNotFound) return dice.status();
  auto gramine = cert.Extension(std::string(kGramineQuoteOid));
  if (gramine.ok()) {
    out.oid = std::string(kGramineQuoteOid);
    CONFIDE_ASSIGN_OR_RETURN(out.format, SniffFormat(*gramine));
    out.evidence = std::move(*gramine);
    return out;
  }
  if (gramine.status().code() != Code::kNotFound) return gramine.status();
  return NotFound("the peer certificate carries no attestation evidence (neither the TCG DICE extension " +
                  std::string(kTcgDiceTaggedEvidenceOid) + " nor Gramine's " + std::string(kGramineQuoteOid) +
                  "): it is not an attested TLS certificate");
}

}  // namespace confide::attested_tls
