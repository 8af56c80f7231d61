#include "confide/x509.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "crypto/openssl_util.h"

namespace confide::x509 {

using crypto::internal::BioPtr;
using crypto::internal::BnPtr;
using crypto::internal::LooksLikePem;
using crypto::internal::MemBio;

namespace {

struct X509Free { void operator()(X509* c) const { X509_free(c); } };
struct CrlFree { void operator()(X509_CRL* c) const { X509_CRL_free(c); } };

std::string NameText(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "<unprintable name>";
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

UnixTime ToUnix(const ASN1_TIME* t) {
  struct tm tm = {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return UnixTime{};
  return UnixTime(std::chrono::seconds(timegm(&tm)));
}

Bytes IntegerBytes(const ASN1_INTEGER* i) {
  BnPtr bn(ASN1_INTEGER_to_BN(i, nullptr));
  if (!bn) return {};
  Bytes out(static_cast<size_t>(BN_num_bytes(bn.get())));
  BN_bn2bin(bn.get(), out.data());
  return out;
}

// Verification callback state: whether a missing CRL is acceptable.
thread_local bool t_require_crl = false;

int VerifyCallback(int ok, X509_STORE_CTX* ctx) {
  if (!ok && !t_require_crl && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL) {
    X509_STORE_CTX_set_error(ctx, X509_V_OK);
    return 1;
  }
  return ok;
}

}  // namespace

// ------------------------------------------------------------------ Certificate

Result<Certificate> Certificate::FromDer(ByteSpan der) {
  const unsigned char* p = der.data();
  X509* c = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  ERR_clear_error();
  if (!c) return InvalidArgument("certificate: not a DER-encoded X.509 certificate");
  if (p != der.data() + der.size()) {
    X509_free(c);
    return InvalidArgument("certificate: " + std::to_string(der.data() + der.size() - p) +
                           " unexpected bytes after the DER certificate");
  }
  Certificate cert;
  cert.cert_.reset(c, X509Free());
  cert.der_.assign(der.begin(), der.end());
  return cert;
}

Result<Certificate> Certificate::FromPem(ByteSpan pem) {
  CONFIDE_ASSIGN_OR_RETURN(auto all, ParseAll(pem));
  return all.front();
}

Result<std::vector<Certificate>> Certificate::ParseAll(ByteSpan in) {
  std::vector<Certificate> out;
  if (in.empty()) return InvalidArgument("certificate: input is empty");
  if (!LooksLikePem(in)) {
    CONFIDE_ASSIGN_OR_RETURN(Certificate c, FromDer(in));
    out.push_back(std::move(c));
    return out;
  }
  auto bio = MemBio(in);
  for (;;) {
    X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (!c) break;
    unsigned char* der = nullptr;
    int len = i2d_X509(c, &der);
    Certificate cert;
    cert.cert_.reset(c, X509Free());
    if (len > 0) cert.der_.assign(der, der + len);
    OPENSSL_free(der);
    out.push_back(std::move(cert));
  }
  unsigned long err = ERR_peek_last_error();
  ERR_clear_error();
  // Running out of PEM blocks is the normal end; anything else is a damaged block.
  if (err != 0 && ERR_GET_REASON(err) != PEM_R_NO_START_LINE)
    return InvalidArgument("certificate: PEM block " + std::to_string(out.size() + 1) +
                           " is damaged (bad base64 or not an X.509 certificate)");
  if (out.empty()) return InvalidArgument("certificate: no '-----BEGIN CERTIFICATE-----' block found");
  return out;
}

std::string Certificate::SubjectName() const { return NameText(X509_get_subject_name(cert_.get())); }
std::string Certificate::IssuerName() const { return NameText(X509_get_issuer_name(cert_.get())); }
Bytes Certificate::SerialNumber() const { return IntegerBytes(X509_get0_serialNumber(cert_.get())); }
UnixTime Certificate::NotBefore() const { return ToUnix(X509_get0_notBefore(cert_.get())); }
UnixTime Certificate::NotAfter() const { return ToUnix(X509_get0_notAfter(cert_.get())); }
crypto::PKey Certificate::PublicKey() const { return crypto::PKey(X509_get_pubkey(cert_.get())); }
Bytes Certificate::Sha256Fingerprint() const { return crypto::Sha256(der_); }
bool Certificate::IsSelfIssued() const {
  return X509_NAME_cmp(X509_get_subject_name(cert_.get()), X509_get_issuer_name(cert_.get())) == 0;
}

Result<Bytes> Certificate::Extension(const std::string& oid) const {
  int n = X509_get_ext_count(cert_.get());
  for (int i = 0; i < n; ++i) {
    X509_EXTENSION* ext = X509_get_ext(cert_.get(), i);
    char buf[128];
    if (OBJ_obj2txt(buf, sizeof buf, X509_EXTENSION_get_object(ext), 1) <= 0) continue;
    if (oid == buf) {
      const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
      const uint8_t* p = ASN1_STRING_get0_data(data);
      return Bytes(p, p + ASN1_STRING_length(data));
    }
  }
  return NotFound("certificate '" + SubjectName() + "' has no extension " + oid);
}

Status Certificate::VerifySignedBy(const Certificate& issuer) const {
  EVP_PKEY* key = X509_get0_pubkey(issuer.get());
  int rc = key ? X509_verify(cert_.get(), key) : -1;
  ERR_clear_error();
  if (rc != 1)
    return VerificationFailed("certificate '" + SubjectName() + "' is not signed by '" + issuer.SubjectName() + "'");
  return Status::Ok();
}

// ------------------------------------------------------------------ Crl

Result<Crl> Crl::FromDer(ByteSpan der) {
  const unsigned char* p = der.data();
  X509_CRL* c = d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size()));
  ERR_clear_error();
  if (!c) return InvalidArgument("CRL: not a DER-encoded X.509 CRL");
  if (p != der.data() + der.size()) {
    X509_CRL_free(c);
    return InvalidArgument("CRL: unexpected bytes after the DER CRL");
  }
  Crl crl;
  crl.crl_.reset(c, CrlFree());
  return crl;
}

Result<Crl> Crl::FromPem(ByteSpan pem) {
  auto bio = MemBio(pem);
  X509_CRL* c = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr);
  ERR_clear_error();
  if (!c) return InvalidArgument("CRL: no readable '-----BEGIN X509 CRL-----' block");
  Crl crl;
  crl.crl_.reset(c, CrlFree());
  return crl;
}

Result<Crl> Crl::Parse(ByteSpan in) {
  if (in.empty()) return InvalidArgument("CRL: input is empty");
  return LooksLikePem(in) ? FromPem(in) : FromDer(in);
}

std::string Crl::IssuerName() const { return NameText(X509_CRL_get_issuer(crl_.get())); }
UnixTime Crl::ThisUpdate() const { return ToUnix(X509_CRL_get0_lastUpdate(crl_.get())); }
std::optional<UnixTime> Crl::NextUpdate() const {
  const ASN1_TIME* t = X509_CRL_get0_nextUpdate(crl_.get());
  if (!t) return std::nullopt;
  return ToUnix(t);
}

bool Crl::IsRevoked(ByteSpan serial) const {
  BnPtr bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  if (!bn) return false;
  ASN1_INTEGER* i = BN_to_ASN1_INTEGER(bn.get(), nullptr);
  if (!i) return false;
  X509_REVOKED* rev = nullptr;
  int rc = X509_CRL_get0_by_serial(crl_.get(), &rev, i);
  ASN1_INTEGER_free(i);
  // 1: revoked; 2: listed with reason removeFromCRL, which means not revoked.
  return rc == 1;
}

Status Crl::VerifySignedBy(const Certificate& issuer) const {
  EVP_PKEY* key = X509_get0_pubkey(issuer.get());
  int rc = key ? X509_CRL_verify(crl_.get(), key) : -1;
  ERR_clear_error();
  if (rc != 1) return VerificationFailed("CRL of '" + IssuerName() + "' is not signed by '" + issuer.SubjectName() + "'");
  return Status::Ok();
}

// ------------------------------------------------------------------ chains

Status VerifyChain(const Certificate& leaf, const std::vector<Certificate>& intermediates,
                   const std::vector<Certificate>& roots, const ChainOptions& options) {
  if (roots.empty()) return InvalidArgument("certificate chain: no trusted root given");
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
  std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> chain(sk_X509_new_null(),
                                                                     [](STACK_OF(X509)* s) { sk_X509_free(s); });
  std::unique_ptr<STACK_OF(X509_CRL), void (*)(STACK_OF(X509_CRL)*)> crls(
      sk_X509_CRL_new_null(), [](STACK_OF(X509_CRL)* s) { sk_X509_CRL_free(s); });
  if (!store || !ctx || !chain || !crls) return crypto::internal::CryptoFailure("certificate store allocation");
  for (const auto& r : roots) X509_STORE_add_cert(store.get(), r.get());
  for (const auto& c : intermediates) sk_X509_push(chain.get(), c.get());
  for (const auto& c : options.crls) sk_X509_CRL_push(crls.get(), c.get());
  X509_STORE_set_verify_cb(store.get(), VerifyCallback);
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), chain.get()) != 1)
    return crypto::internal::CryptoFailure("certificate store setup");
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(options.at.time_since_epoch().count()));
  // Trust only the given roots, not any intermediate that happens to be self-issued.
  X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  if (!options.crls.empty() || options.require_crl_for_every_issuer) {
    X509_STORE_CTX_set0_crls(ctx.get(), crls.get());
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  }
  t_require_crl = options.require_crl_for_every_issuer;
  int rc = X509_verify_cert(ctx.get());
  t_require_crl = false;
  ERR_clear_error();
  if (rc == 1) return Status::Ok();

  int err = X509_STORE_CTX_get_error(ctx.get());
  int depth = X509_STORE_CTX_get_error_depth(ctx.get());
  X509* bad = X509_STORE_CTX_get_current_cert(ctx.get());
  std::string who = bad ? "'" + NameText(X509_get_subject_name(bad)) + "'" : "certificate at depth " + std::to_string(depth);
  std::string when = " at " + FormatRfc3339(options.at);
  std::string why = X509_verify_cert_error_string(err);
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return Expired("certificate " + who + " is not valid" + when + " (" + why + "; valid " +
                     FormatRfc3339(ToUnix(X509_get0_notBefore(bad))) + " to " +
                     FormatRfc3339(ToUnix(X509_get0_notAfter(bad))) + ")");
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
      return Expired("the CRL for " + who + " is not valid" + when + " (" + why + ")");
    case X509_V_ERR_CERT_REVOKED:
      return Revoked("certificate " + who + " is revoked by its issuer's CRL");
    default:
      return VerificationFailed("certificate chain of '" + leaf.SubjectName() + "' does not verify: " + why +
                                " (at " + who + ")");
  }
}

}  // namespace confide::x509
