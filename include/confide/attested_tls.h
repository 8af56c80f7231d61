// Attested TLS: a TLS endpoint proves with its certificate that its key lives in a given
// enclave on a given platform (RA-TLS), and a relying party checks that proof inside the
// handshake. docs/attested-tls.md describes the certificate layout and what is accepted.
//
// Both halves are plain libraries over OpenSSL: the attester half runs inside an enclave (the
// enclave passes its quote function as the EvidenceSource) or anywhere else (tests pass a
// synthetic signer); the relying-party half never depends on enclave code.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "confide/attestation/evidence.h"
#include "confide/bytes.h"
#include "confide/crypto.h"
#include "confide/status.h"
#include "confide/time.h"
#include "confide/x509.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct x509_store_ctx_st X509_STORE_CTX;

namespace confide::attested_tls {

// TCG DICE tagged evidence (conceptual message wrapper): what confide emits.
inline constexpr std::string_view kTcgDiceTaggedEvidenceOid = "2.23.133.5.4.9";
// Gramine's RA-TLS extension (raw quote bytes): accepted when verifying.
inline constexpr std::string_view kGramineQuoteOid = "1.2.840.113741.1337.6";

// CBOR tags naming the evidence format inside the DICE extension. 60000 is IANA's "Intel TEE
// quote" (SGX / TDX ECDSA quotes, as Gramine and the CCC interoperable RA-TLS use it);
// confide's own formats have no registered tag and use values from the first-come range.
inline constexpr uint64_t kCborTagIntelTeeQuote = 60000;
inline constexpr uint64_t kCborTagConfideSoft = 0x636f6e66;  // "conf"
inline constexpr uint64_t kCborTagConfideSnp = 0x636f6e73;   // "cons"

// Evidence format id ("soft", "sgx-ecdsa", "snp") <-> CBOR tag. kUnsupported for unknown ones.
Result<uint64_t> CborTagForFormat(std::string_view format);
Result<std::string> FormatForCborTag(uint64_t tag);

using ReportData = std::array<uint8_t, 64>;
// Produces evidence of `format` whose signed report_data is exactly the argument: inside an
// enclave, trusted::GetQuote; in tests, a synthetic signer.
using EvidenceSource = std::function<Result<Bytes>(const ReportData& report_data)>;

// SHA-256 of `spki_der` (a DER SubjectPublicKeyInfo), zero-padded to 64 bytes: the
// report_data that binds evidence to a certificate key.
ReportData ReportDataForSpki(ByteSpan spki_der);

// ---------------------------------------------------------------- attester
struct CertificateOptions {
  std::string format = "soft";               // evidence format the source produces
  std::string common_name = "confide attested TLS";
  std::optional<UnixTime> not_before;        // default: now minus one hour (clock skew)
  std::chrono::seconds lifetime{std::chrono::hours(24)};
};

struct AttestedCertificate {
  crypto::PKey key;               // fresh P-256 key pair; never leaves the process that made it
  x509::Certificate certificate;  // self-signed, carrying `evidence` in the DICE extension
  Bytes evidence;
};

// Generates a P-256 key, asks `source` for evidence over ReportDataForSpki(its SPKI) and
// issues a self-signed certificate carrying it (critical extension 2.23.133.5.4.9).
Result<AttestedCertificate> CreateAttestedCertificate(const EvidenceSource& source,
                                                      const CertificateOptions& options = {});

// Installs `cert` and its key as the SSL_CTX's own certificate (server side, or client side
// for mutual attestation).
Status UseCertificate(SSL_CTX* ctx, const AttestedCertificate& cert);

// ---------------------------------------------------------------- relying party
struct ExtractedEvidence {
  std::string oid;      // the extension it came from
  std::string format;   // evidence format id; "sgx-ecdsa" for Gramine's legacy extension
  uint64_t cbor_tag = 0;  // 0 for the Gramine extension (raw quote, no tag)
  Bytes evidence;       // the evidence bytes as the format's verifier takes them
  // CCC interoperable RA-TLS only: the claims buffer whose SHA-256 is the report_data, and the
  // public-key hash (algorithm per IANA named-information: 1 sha-256, 7 sha-384, 8 sha-512).
  Bytes claims_buffer;
  uint64_t pubkey_hash_alg = 0;
  Bytes pubkey_hash;
};

// Finds the evidence in `cert`: the DICE extension first, else Gramine's. kNotFound when the
// certificate carries neither; kInvalidArgument when the extension is malformed.
Result<ExtractedEvidence> ExtractEvidence(const x509::Certificate& cert);

// Verifies `evidence` of `format` (signature, collateral, TCB) and returns its claims. The
// attestation registry's verifiers fit here; tests pass synthetic ones.
using EvidenceVerifier =
    std::function<Result<attestation::VerificationResult>(std::string_view format, ByteSpan evidence)>;
// Appraises verified claims; a refusal (kPolicyViolation) names the claim and expected value.
using PolicyCheck = std::function<Status(const attestation::VerificationResult& result)>;

struct VerifierOptions {
  EvidenceVerifier verify_evidence;  // required
  PolicyCheck policy;                // required: say explicitly what is acceptable
  // Formats accepted; empty: any the verifier handles.
  std::vector<std::string> formats;
  // When the certificate's validity window is checked; default: the clock at each check.
  std::optional<UnixTime> at;
};

// The whole check on a peer certificate: self-signature, validity window, evidence extraction, evidence
// verification, binding (report_data must carry SHA-256 of this certificate's SPKI, so
// evidence copied into another certificate is refused), then the policy. Each refusal has
// its own code and a message naming the failed step.
Result<attestation::VerificationResult> VerifyAttestedCertificate(const x509::Certificate& cert,
                                                                  const VerifierOptions& options);

// ---------------------------------------------------------------- OpenSSL integration
enum class Mode {
  kClient,  // verify the server's certificate
  kServer,  // verify a client's certificate and require one (mutual attestation)
};

// Attaches `options` to `ctx` and installs VerifyCallback with SSL_CTX_set_verify
// (SSL_VERIFY_PEER, plus SSL_VERIFY_FAIL_IF_NO_PEER_CERT in server mode). Chain building
// against CA roots is not used: the evidence, not a CA, vouches for the key.
Status InstallVerifier(SSL_CTX* ctx, std::shared_ptr<const VerifierOptions> options, Mode mode);

// The callback itself, for applications that call SSL_CTX_set_verify themselves (after
// AttachVerifierOptions). Verifies the leaf once per connection and fails the handshake
// (alert bad_certificate) when refused.
int VerifyCallback(int preverify_ok, X509_STORE_CTX* store);
Status AttachVerifierOptions(SSL_CTX* ctx, std::shared_ptr<const VerifierOptions> options);

// After a handshake: why the peer was refused (OK when it was accepted or not yet checked).
Status PeerStatus(const SSL* ssl);
// After a successful handshake: the peer's verified claims (nullptr before).
const attestation::VerificationResult* PeerResult(const SSL* ssl);

// One-line readable summary of claims ("soft enclave mrenclave=… mrsigner=… svn=… UpToDate").
std::string DescribeClaims(const attestation::VerificationResult& result);

}  // namespace confide::attested_tls
