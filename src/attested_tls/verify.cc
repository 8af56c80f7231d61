// The relying-party half: check a peer certificate's evidence, binding and policy, and the
// OpenSSL verification callback that does it inside a handshake.
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <sstream>

#include "confide/attested_tls.h"

namespace confide::attested_tls {
namespace {

bool AllZero(ByteSpan b) {
  uint8_t acc = 0;
  for (uint8_t v : b) acc |= v;
  return acc == 0;
}

Result<Bytes> HashForIanaAlg(uint64_t alg, ByteSpan data) {
  switch (alg) {
    case 1: return crypto::Sha256(data);
    case 7: return crypto::Sha384(data);
    case 8: return crypto::Sha512(data);
    default:
      return Unsupported("pubkey-hash uses hash algorithm " + std::to_string(alg) +
                         " (accepted: 1 sha-256, 7 sha-384, 8 sha-512)");
  }
}

// report_data binds the certificate key either directly (SHA-256 of the SPKI, zero-padded:
// confide and Gramine) or through the claims buffer (CCC interoperable RA-TLS: report_data
// carries SHA-256 of the claims buffer, whose pubkey-hash is the SPKI hash).
Status CheckBinding(const x509::Certificate& cert, const ExtractedEvidence& ex, const attestation::Claims& claims) {
  if (claims.report_data.size() != 64)
    return VerificationFailed("the evidence carries " + std::to_string(claims.report_data.size()) +
                              " bytes of report_data, not 64: it cannot bind the certificate key");
  CONFIDE_ASSIGN_OR_RETURN(Bytes spki, cert.PublicKey().PublicDer());
  if (!ex.pubkey_hash.empty()) {
    CONFIDE_ASSIGN_OR_RETURN(Bytes want, HashForIanaAlg(ex.pubkey_hash_alg, spki));
    if (!ConstantTimeEqual(want, ex.pubkey_hash))
      return VerificationFailed("the certificate's pubkey-hash claim does not match its own public key");
  }
  ByteSpan rd(claims.report_data);
  Bytes spki_hash = crypto::Sha256(spki);
  if (ConstantTimeEqual(rd.first(32), spki_hash) && AllZero(rd.subspan(32))) return Status::Ok();
  if (!ex.claims_buffer.empty() && !ex.pubkey_hash.empty() &&
      ConstantTimeEqual(rd.first(32), crypto::Sha256(ex.claims_buffer)) && AllZero(rd.subspan(32)))
    return Status::Ok();
  return VerificationFailed(
      "report_data in the evidence does not bind this certificate's public key (expected SHA-256 of its "
      "SubjectPublicKeyInfo " + HexEncode(spki_hash) + ", evidence carries " + HexEncode(rd.first(32)) +
      "): the evidence was made for another key, e.g. replayed from another certificate");
}

}  // namespace

Result<attestation::VerificationResult> VerifyAttestedCertificate(const x509::Certificate& cert,
                                                                  const VerifierOptions& options) {
  if (!options.verify_evidence) return InvalidArgument("no evidence verifier configured for attested TLS");
  if (!options.policy)
    return InvalidArgument("no policy configured for attested TLS: say which enclaves are acceptable");
  if (Status s = cert.VerifySignedBy(cert); !s.ok())
    return VerificationFailed("the peer's attested certificate is not validly self-signed: " + s.message());
  // The evidence is as old as the certificate: an expired one must not keep vouching.
  UnixTime at = options.at.value_or(Now());
  if (at < cert.NotBefore() || at > cert.NotAfter())
    return Expired("the peer's attested certificate is valid from " + FormatRfc3339(cert.NotBefore()) + " to " +
                   FormatRfc3339(cert.NotAfter()) + ", not at " + FormatRfc3339(at));
  CONFIDE_ASSIGN_OR_RETURN(ExtractedEvidence ex, ExtractEvidence(cert));
  if (!options.formats.empty()) {
    bool ok = false;
    std::string list;
    for (const auto& f : options.formats) {
      ok = ok || f == ex.format;
      list += (list.empty() ? "" : ", ") + f;
    }
    if (!ok)
      return PolicyViolation("the peer presents '" + ex.format + "' evidence; accepted formats: " + list);
  }
  auto result = options.verify_evidence(ex.format, ex.evidence);
  if (!result.ok())
    return result.status().WithContext("the peer's " + ex.format + " evidence (extension " + ex.oid + ") is refused");
  CONFIDE_RETURN_IF_ERROR(CheckBinding(cert, ex, result->claims));
  if (Status s = options.policy(*result); !s.ok())
    return s.WithContext("the peer's attested identity is refused by policy");
  return result;
}

// ---------------------------------------------------------------- OpenSSL integration
namespace {

struct CtxData {
  std::shared_ptr<const VerifierOptions> options;
};
struct ConnState {
  bool done = false;
  Status status;
  std::optional<attestation::VerificationResult> result;
};

void FreeCtxData(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<CtxData*>(ptr); }
void FreeConnState(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<ConnState*>(ptr); }

struct Indices {
  int ctx = -1;
  int ssl = -1;
};
const Indices& ExIndices() {
  static Indices idx = [] {
    Indices i;
    i.ctx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, FreeCtxData);
    i.ssl = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, FreeConnState);
    return i;
  }();
  return idx;
}

ConnState* StateOf(const SSL* ssl) {
  return static_cast<ConnState*>(SSL_get_ex_data(ssl, ExIndices().ssl));
}

}  // namespace

Status AttachVerifierOptions(SSL_CTX* ctx, std::shared_ptr<const VerifierOptions> options) {
  if (ctx == nullptr) return InvalidArgument("no SSL_CTX given");
  if (!options || !options->verify_evidence || !options->policy)
    return InvalidArgument("attested TLS verifier options need an evidence verifier and a policy");
  const Indices& idx = ExIndices();
  if (idx.ctx < 0 || idx.ssl < 0) return CryptoError("OpenSSL refused ex_data indices for attested TLS");
  delete static_cast<CtxData*>(SSL_CTX_get_ex_data(ctx, idx.ctx));
  auto* data = new CtxData{std::move(options)};
  if (SSL_CTX_set_ex_data(ctx, idx.ctx, data) != 1) {
    delete data;
    return CryptoError("cannot attach attested TLS options to the SSL_CTX");
  }
  return Status::Ok();
}

Status InstallVerifier(SSL_CTX* ctx, std::shared_ptr<const VerifierOptions> options, Mode mode) {
  CONFIDE_RETURN_IF_ERROR(AttachVerifierOptions(ctx, std::move(options)));
  int flags = SSL_VERIFY_PEER;
  if (mode == Mode::kServer) flags |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx, flags, VerifyCallback);
  return Status::Ok();
}

int VerifyCallback(int /*preverify_ok*/, X509_STORE_CTX* store) {
  // The CA chain OpenSSL builds is irrelevant: attested certificates are self-signed and the
  // evidence vouches for the key. Only the leaf is judged, once per connection.
  if (X509_STORE_CTX_get_error_depth(store) > 0) return 1;
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (ssl == nullptr) return 0;
  const Indices& idx = ExIndices();
  ConnState* state = StateOf(ssl);
  if (state == nullptr) {
    state = new ConnState;
    if (SSL_set_ex_data(ssl, idx.ssl, state) != 1) {
      delete state;
      return 0;
    }
  }
  if (!state->done) {
    state->done = true;
    auto* data = static_cast<CtxData*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), idx.ctx));
    X509* leaf = X509_STORE_CTX_get_current_cert(store);
    if (data == nullptr || !data->options) {
      state->status = InvalidArgument("attested TLS verify callback installed without options (use InstallVerifier)");
    } else if (leaf == nullptr) {
      state->status = VerificationFailed("the peer sent no certificate");
    } else {
      unsigned char* der = nullptr;
      int n = i2d_X509(leaf, &der);
      Result<x509::Certificate> cert =
          n > 0 ? x509::Certificate::FromDer(ByteSpan(der, static_cast<size_t>(n)))
                : Result<x509::Certificate>(CryptoError("cannot encode the peer certificate"));
      OPENSSL_free(der);
      if (!cert.ok()) {
        state->status = cert.status();
      } else {
        auto r = VerifyAttestedCertificate(*cert, *data->options);
        if (r.ok()) state->result = std::move(*r);
        else state->status = r.status();
      }
    }
  }
  if (!state->status.ok()) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  X509_STORE_CTX_set_error(store, X509_V_OK);
  return 1;
}

Status PeerStatus(const SSL* ssl) {
  const ConnState* s = ssl ? StateOf(ssl) : nullptr;
  return s ? s->status : Status::Ok();
}

const attestation::VerificationResult* PeerResult(const SSL* ssl) {
  const ConnState* s = ssl ? StateOf(ssl) : nullptr;
  return s && s->result ? &*s->result : nullptr;
}

std::string DescribeClaims(const attestation::VerificationResult& r) {
  std::ostringstream o;
  const auto& c = r.claims;
  o << c.format << " enclave\n"
    << "  mrenclave:        " << HexEncode(c.identity) << "\n"
    << "  mrsigner:         " << HexEncode(c.signer) << "\n"
    << "  product id:       " << c.product_id << "\n"
    << "  security version: " << c.security_version << "\n"
    << "  debug:            " << (c.debug ? "yes" : "no") << "\n"
    << "  tcb status:       " << attestation::TcbStatusName(r.tcb_status) << "\n";
  if (!r.advisory_ids.empty()) {
    o << "  advisories:      ";
    for (const auto& a : r.advisory_ids) o << " " << a;
    o << "\n";
  }
  if (!c.platform_id.empty()) o << "  platform id:      " << c.platform_id << "\n";
  if (c.extra.contains("development")) {
    bool dev = c.extra["development"].is_boolean() && c.extra["development"].get<bool>();
    o << "  development:      " << (dev ? "yes" : "no") << "\n";
  }
  o << "  report data:      " << HexEncode(ByteSpan(c.report_data).first(std::min<size_t>(32, c.report_data.size())))
    << (c.report_data.size() > 32 ? "..." : "") << "\n";
  return o.str();
}

}  // namespace confide::attested_tls
