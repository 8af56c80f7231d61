// Attested TLS with synthetic evidence: a test "platform" signs (report_data, mrenclave,
// mrsigner) with an ECDSA key and the test verifier checks that signature, so every refusal
// below comes from the attested-TLS layer itself (binding, extraction, policy, handshake).
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstring>

#include "attested_tls/cbor.h"
#include "confide/attested_tls.h"

namespace confide::attested_tls {
namespace {

using attestation::VerificationResult;

constexpr size_t kHeader = 16;  // shaped like a soft quote header, so format sniffing sees "soft"

struct Platform {
  crypto::PKey key = *crypto::EcGenerate(crypto::Curve::kP256);
  Bytes mrenclave = Bytes(32, 0xe1);
  Bytes mrsigner = Bytes(32, 0x51);

  Result<Bytes> Quote(const ReportData& rd) const {
    Bytes e = {1, 0, 2, 0, 's', 'o', 'f', 't', 0, 0, 0, 0, 128, 0, 0, 0};
    Append(e, ByteSpan(rd));
    Append(e, mrenclave);
    Append(e, mrsigner);
    CONFIDE_ASSIGN_OR_RETURN(Bytes sig, crypto::EcdsaSignRaw(key, crypto::HashAlg::kSha256, e));
    Append(e, sig);
    return e;
  }
  EvidenceSource Source() const {
    return [this](const ReportData& rd) { return Quote(rd); };
  }
  EvidenceVerifier Verifier() const {
    return [this](std::string_view format, ByteSpan e) -> Result<VerificationResult> {
      if (format != "soft") return Unsupported("test verifier handles soft only");
      if (e.size() != kHeader + 128 + 64) return InvalidArgument("synthetic quote has the wrong size");
      CONFIDE_RETURN_IF_ERROR(crypto::EcdsaVerifyRaw(key, crypto::HashAlg::kSha256, e.first(kHeader + 128),
                                                     e.subspan(kHeader + 128)));
      VerificationResult r;
      r.claims.format = "soft";
      r.claims.report_data.assign(e.begin() + kHeader, e.begin() + kHeader + 64);
      r.claims.identity.assign(e.begin() + kHeader + 64, e.begin() + kHeader + 96);
      r.claims.signer.assign(e.begin() + kHeader + 96, e.begin() + kHeader + 128);
      return r;
    };
  }
};

PolicyCheck ExpectEnclave(Bytes mrenclave) {
  return [mrenclave](const VerificationResult& r) -> Status {
    if (r.claims.identity != mrenclave)
      return PolicyViolation("mrenclave is " + HexEncode(r.claims.identity) + ", policy expects " + HexEncode(mrenclave));
    return Status::Ok();
  };
}

VerifierOptions Options(const Platform& p) { return {p.Verifier(), ExpectEnclave(p.mrenclave), {}, {}}; }

// A self-signed certificate for `key` with one extra extension (for foreign layouts).
x509::Certificate CertWithExtension(const crypto::PKey& key, const std::string& oid, ByteSpan value, bool critical) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("RATLS"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key.get());
  if (!oid.empty()) {
    ASN1_OBJECT* obj = OBJ_txt2obj(oid.c_str(), 1);
    ASN1_OCTET_STRING* os = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(os, value.data(), static_cast<int>(value.size()));
    X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, obj, critical ? 1 : 0, os);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
  }
  X509_sign(x, key.get(), EVP_sha256());
  unsigned char* der = nullptr;
  int n = i2d_X509(x, &der);
  Bytes b(der, der + n);
  OPENSSL_free(der);
  X509_free(x);
  return *x509::Certificate::FromDer(b);
}

TEST(AttestedCertificate, RoundTripCarriesEvidenceBoundToTheKey) {
  Platform p;
  auto ac = CreateAttestedCertificate(p.Source());
  ASSERT_TRUE(ac.ok()) << ac.status().ToString();
  EXPECT_TRUE(ac->certificate.IsSelfIssued());
  EXPECT_EQ(ac->certificate.PublicKey().EcCurve(), crypto::Curve::kP256);
  // The DICE extension is critical.
  ASN1_OBJECT* dice_oid = OBJ_txt2obj("2.23.133.5.4.9", 1);
  int pos = X509_get_ext_by_OBJ(ac->certificate.get(), dice_oid, -1);
  ASN1_OBJECT_free(dice_oid);
  ASSERT_GE(pos, 0);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(ac->certificate.get(), pos)), 1);

  auto ex = ExtractEvidence(ac->certificate);
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  EXPECT_EQ(ex->oid, "2.23.133.5.4.9");
  EXPECT_EQ(ex->format, "soft");
  EXPECT_EQ(ex->cbor_tag, kCborTagConfideSoft);
  EXPECT_EQ(ex->evidence, ac->evidence);
  Bytes spki = *ac->certificate.PublicKey().PublicDer();
  EXPECT_EQ(ex->pubkey_hash_alg, 1u);
  EXPECT_EQ(ex->pubkey_hash, crypto::Sha256(spki));
  ReportData rd = ReportDataForSpki(spki);
  EXPECT_EQ(0, std::memcmp(ac->evidence.data() + kHeader, rd.data(), 64));

  auto r = VerifyAttestedCertificate(ac->certificate, Options(p));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->claims.identity, p.mrenclave);
  EXPECT_EQ(r->claims.signer, p.mrsigner);
  // And through DER/PEM parsing as a peer would receive it.
  auto again = x509::Certificate::FromDer(ac->certificate.der());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(VerifyAttestedCertificate(*again, Options(p)).ok());
}

TEST(AttestedCertificate, EvidenceReplayedIntoAnotherCertificateIsRefused) {
  Platform p;
  auto original = CreateAttestedCertificate(p.Source());
  ASSERT_TRUE(original.ok());
  // The attacker holds valid evidence (from the first certificate) and makes a certificate for
  // their own key carrying it.
  Bytes stolen = original->evidence;
  auto forged = CreateAttestedCertificate([&](const ReportData&) -> Result<Bytes> { return stolen; });
  ASSERT_TRUE(forged.ok());
  auto r = VerifyAttestedCertificate(forged->certificate, Options(p));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kVerificationFailed);
  EXPECT_NE(r.status().message().find("does not bind this certificate's public key"), std::string::npos)
      << r.status().message();
}

TEST(AttestedCertificate, GramineExtensionIsAccepted) {
  Platform p;
  crypto::PKey key = *crypto::EcGenerate(crypto::Curve::kP384);  // Gramine's curve
  ReportData rd = ReportDataForSpki(*key.PublicDer());
  Bytes quote = *p.Quote(rd);
  x509::Certificate cert = CertWithExtension(key, "1.2.840.113741.1337.6", quote, false);
  auto ex = ExtractEvidence(cert);
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  EXPECT_EQ(ex->oid, "1.2.840.113741.1337.6");
  EXPECT_EQ(ex->format, "soft");
  EXPECT_EQ(ex->evidence, quote);
  auto r = VerifyAttestedCertificate(cert, Options(p));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->claims.identity, p.mrenclave);

  // Same extension, evidence for another key: refused.
  crypto::PKey other = *crypto::EcGenerate(crypto::Curve::kP384);
  x509::Certificate replay = CertWithExtension(other, "1.2.840.113741.1337.6", quote, false);
  auto refused = VerifyAttestedCertificate(replay, Options(p));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kVerificationFailed);
  EXPECT_NE(refused.status().message().find("does not bind"), std::string::npos);
}

TEST(AttestedCertificate, GramineExtensionOfUnknownFormatIsUnsupported) {
  crypto::PKey key = *crypto::EcGenerate(crypto::Curve::kP256);
  Bytes junk(100, 0x42);
  auto ex = ExtractEvidence(CertWithExtension(key, "1.2.840.113741.1337.6", junk, false));
  ASSERT_FALSE(ex.ok());
  EXPECT_EQ(ex.status().code(), Code::kUnsupported);
  EXPECT_NE(ex.status().message().find("unknown format"), std::string::npos);
}

TEST(AttestedCertificate, DcapQuotesAreToldApartByTheirHeader) {
  crypto::PKey key = *crypto::EcGenerate(crypto::Curve::kP384);
  Bytes sgx(600, 0), tdx(600, 0);
  sgx[0] = 3, sgx[2] = 2;                 // quote v3, ECDSA P-256 attestation key
  tdx[0] = 4, tdx[2] = 2, tdx[4] = 0x81;  // quote v4, TEE type TDX
  auto s = ExtractEvidence(CertWithExtension(key, "1.2.840.113741.1337.6", sgx, false));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->format, "sgx-ecdsa");
  auto t = ExtractEvidence(CertWithExtension(key, "1.2.840.113741.1337.6", tdx, false));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->format, "tdx");
  Bytes ext;
  cbor::AppendTag(ext, kCborTagIntelTeeQuote);
  cbor::AppendArrayHead(ext, 2);
  cbor::AppendBytes(ext, tdx);
  cbor::AppendBytes(ext, Bytes{0xa0});  // empty claims map
  auto d = ExtractEvidence(CertWithExtension(key, "2.23.133.5.4.9", ext, true));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->format, "tdx");
  EXPECT_EQ(d->cbor_tag, kCborTagIntelTeeQuote);
}

TEST(AttestedCertificate, CccClaimsBufferBindingIsAccepted) {
  // CCC interoperable RA-TLS: report_data = SHA-256(claims buffer), which holds the SPKI hash.
  Platform p;
  crypto::PKey key = *crypto::EcGenerate(crypto::Curve::kP256);
  Bytes spki = *key.PublicDer();
  Bytes entry, claims, ext;
  cbor::AppendArrayHead(entry, 2);
  cbor::AppendUint(entry, 7);
  cbor::AppendBytes(entry, crypto::Sha384(spki));
  cbor::AppendMapHead(claims, 2);
  cbor::AppendText(claims, "nonce");
  cbor::AppendBytes(claims, Bytes{1, 2, 3});
  cbor::AppendText(claims, "pubkey-hash");
  cbor::AppendBytes(claims, entry);
  ReportData rd{};
  Bytes h = crypto::Sha256(claims);
  std::memcpy(rd.data(), h.data(), 32);
  cbor::AppendTag(ext, kCborTagConfideSoft);
  cbor::AppendArrayHead(ext, 2);
  cbor::AppendBytes(ext, *p.Quote(rd));
  cbor::AppendBytes(ext, claims);
  x509::Certificate cert = CertWithExtension(key, "2.23.133.5.4.9", ext, true);
  auto r = VerifyAttestedCertificate(cert, Options(p));
  ASSERT_TRUE(r.ok()) << r.status().ToString();

  // The same extension in a certificate for another key: the pubkey-hash claim gives it away.
  crypto::PKey other = *crypto::EcGenerate(crypto::Curve::kP256);
  auto refused = VerifyAttestedCertificate(CertWithExtension(other, "2.23.133.5.4.9", ext, true), Options(p));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kVerificationFailed);
  EXPECT_NE(refused.status().message().find("pubkey-hash claim does not match"), std::string::npos);
}

TEST(AttestedCertificate, MalformedAndMissingExtensionsAreRefused) {
  Platform p;
  crypto::PKey key = *crypto::EcGenerate(crypto::Curve::kP256);
  auto none = VerifyAttestedCertificate(CertWithExtension(key, "", {}, false), Options(p));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kNotFound);
  EXPECT_NE(none.status().message().find("not an attested TLS certificate"), std::string::npos);

  Bytes truncated;
  cbor::AppendTag(truncated, kCborTagConfideSoft);
  cbor::AppendArrayHead(truncated, 2);
  cbor::AppendHead(truncated, 2, 500);  // a byte string claiming 500 bytes
  truncated.push_back(0);
  auto bad = ExtractEvidence(CertWithExtension(key, "2.23.133.5.4.9", truncated, true));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("malformed TCG DICE evidence extension"), std::string::npos);

  Bytes unknown_tag;
  cbor::AppendTag(unknown_tag, 12345);
  cbor::AppendBytes(unknown_tag, Bytes(10, 1));
  auto unk = ExtractEvidence(CertWithExtension(key, "2.23.133.5.4.9", unknown_tag, true));
  ASSERT_FALSE(unk.ok());
  EXPECT_EQ(unk.status().code(), Code::kUnsupported);
  EXPECT_NE(unk.status().message().find("CBOR tag 12345"), std::string::npos);
}

TEST(AttestedCertificate, PolicyRefusalNamesTheClaim) {
  Platform p;
  auto ac = CreateAttestedCertificate(p.Source());
  ASSERT_TRUE(ac.ok());
  VerifierOptions o = Options(p);
  o.policy = ExpectEnclave(Bytes(32, 0xaa));
  auto r = VerifyAttestedCertificate(ac->certificate, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPolicyViolation);
  EXPECT_NE(r.status().message().find("refused by policy: mrenclave is e1e1"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("policy expects aaaa"), std::string::npos);

  o = Options(p);
  o.formats = {"sgx-ecdsa"};
  auto f = VerifyAttestedCertificate(ac->certificate, o);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kPolicyViolation);
  EXPECT_NE(f.status().message().find("accepted formats: sgx-ecdsa"), std::string::npos);

  o = Options(p);
  o.policy = nullptr;
  auto np = VerifyAttestedCertificate(ac->certificate, o);
  ASSERT_FALSE(np.ok());
  EXPECT_EQ(np.status().code(), Code::kInvalidArgument);
  EXPECT_NE(np.status().message().find("no policy configured"), std::string::npos);
}

TEST(AttestedCertificate, ExpiredCertificateIsRefused) {
  Platform p;
  CertificateOptions co;
  co.not_before = Now() - std::chrono::hours(48);
  co.lifetime = std::chrono::hours(24);
  auto ac = CreateAttestedCertificate(p.Source(), co);
  ASSERT_TRUE(ac.ok());
  auto r = VerifyAttestedCertificate(ac->certificate, Options(p));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kExpired);
  EXPECT_NE(r.status().message().find("attested certificate is valid from"), std::string::npos);
  // At an explicit time inside its window it verifies.
  VerifierOptions o = Options(p);
  o.at = *co.not_before + std::chrono::hours(1);
  EXPECT_TRUE(VerifyAttestedCertificate(ac->certificate, o).ok());
}

TEST(AttestedCertificate, EvidenceVerifierRefusalIsPassedOn) {
  Platform p;
  auto ac = CreateAttestedCertificate(p.Source());
  ASSERT_TRUE(ac.ok());
  Platform stranger;  // another platform key: the signature check fails
  VerifierOptions o{stranger.Verifier(), ExpectEnclave(p.mrenclave), {}, {}};
  auto r = VerifyAttestedCertificate(ac->certificate, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kVerificationFailed);
  EXPECT_NE(r.status().message().find("the peer's soft evidence (extension 2.23.133.5.4.9) is refused"),
            std::string::npos)
      << r.status().message();
}

TEST(AttestedCertificate, EvidenceSourceErrorsAreReported) {
  auto r = CreateAttestedCertificate([](const ReportData&) -> Result<Bytes> { return Unsupported("no quoting here"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnsupported);
  EXPECT_NE(r.status().message().find("getting evidence for the attested certificate: no quoting here"), std::string::npos);
  CertificateOptions o;
  o.format = "tpm";
  Platform p;
  auto f = CreateAttestedCertificate(p.Source(), o);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kUnsupported);
  EXPECT_NE(f.status().message().find("no CBOR tag for evidence format 'tpm'"), std::string::npos);
}

// ---------------------------------------------------------------- handshakes over a BIO pair
struct SslCtxFree { void operator()(SSL_CTX* c) const { SSL_CTX_free(c); } };
struct SslFree { void operator()(SSL* s) const { SSL_free(s); } };
using CtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

struct Connection {
  SslPtr client, server;
  bool client_ok = false, server_ok = false;
};

Connection Handshake(SSL_CTX* client_ctx, SSL_CTX* server_ctx) {
  Connection c;
  c.client.reset(SSL_new(client_ctx));
  c.server.reset(SSL_new(server_ctx));
  BIO *cb = nullptr, *sb = nullptr;
  BIO_new_bio_pair(&cb, 0, &sb, 0);
  SSL_set_bio(c.client.get(), cb, cb);
  SSL_set_bio(c.server.get(), sb, sb);
  SSL_set_connect_state(c.client.get());
  SSL_set_accept_state(c.server.get());
  bool client_failed = false, server_failed = false;
  for (int i = 0; i < 20 && !(c.client_ok && c.server_ok) && !client_failed && !server_failed; ++i) {
    if (!c.client_ok) {
      int rc = SSL_do_handshake(c.client.get());
      if (rc == 1) c.client_ok = true;
      else if (SSL_get_error(c.client.get(), rc) != SSL_ERROR_WANT_READ) client_failed = true;
    }
    if (!c.server_ok) {
      int rc = SSL_do_handshake(c.server.get());
      if (rc == 1) c.server_ok = true;
      else if (SSL_get_error(c.server.get(), rc) != SSL_ERROR_WANT_READ) server_failed = true;
    }
  }
  ERR_clear_error();
  return c;
}

CtxPtr ServerCtx(const AttestedCertificate& cert) {
  CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  EXPECT_TRUE(UseCertificate(ctx.get(), cert).ok());
  return ctx;
}

CtxPtr ClientCtx(std::shared_ptr<const VerifierOptions> o) {
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  EXPECT_TRUE(InstallVerifier(ctx.get(), std::move(o), Mode::kClient).ok());
  return ctx;
}

TEST(AttestedHandshake, ClientVerifiesServerAndExchangesData) {
  Platform p;
  auto cert = CreateAttestedCertificate(p.Source());
  ASSERT_TRUE(cert.ok());
  auto server = ServerCtx(*cert);
  auto client = ClientCtx(std::make_shared<VerifierOptions>(Options(p)));
  Connection c = Handshake(client.get(), server.get());
  ASSERT_TRUE(c.client_ok && c.server_ok) << PeerStatus(c.client.get()).ToString();
  EXPECT_TRUE(PeerStatus(c.client.get()).ok());
  const VerificationResult* r = PeerResult(c.client.get());
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->claims.identity, p.mrenclave);
  EXPECT_NE(DescribeClaims(*r).find("mrenclave:        " + HexEncode(p.mrenclave)), std::string::npos);
  ASSERT_EQ(SSL_write(c.client.get(), "ping", 4), 4);
  char buf[8] = {};
  ASSERT_EQ(SSL_read(c.server.get(), buf, sizeof buf), 4);
  EXPECT_EQ(std::string(buf, 4), "ping");
}

TEST(AttestedHandshake, RefusedPeerFailsTheHandshakeWithTheSpecificError) {
  Platform p;
  auto cert = CreateAttestedCertificate(p.Source());
  ASSERT_TRUE(cert.ok());
  auto server = ServerCtx(*cert);
  VerifierOptions o = Options(p);
  o.policy = ExpectEnclave(Bytes(32, 0xaa));
  auto client = ClientCtx(std::make_shared<VerifierOptions>(o));
  Connection c = Handshake(client.get(), server.get());
  EXPECT_FALSE(c.client_ok);
  EXPECT_FALSE(c.server_ok);  // the client's alert ends the server's side too
  EXPECT_EQ(SSL_get_verify_result(c.client.get()), X509_V_ERR_APPLICATION_VERIFICATION);
  Status s = PeerStatus(c.client.get());
  EXPECT_EQ(s.code(), Code::kPolicyViolation);
  EXPECT_NE(s.message().find("mrenclave is e1e1"), std::string::npos) << s.ToString();
  EXPECT_EQ(PeerResult(c.client.get()), nullptr);
}

TEST(AttestedHandshake, ReplayedEvidenceFailsTheHandshake) {
  Platform p;
  auto good = CreateAttestedCertificate(p.Source());
  ASSERT_TRUE(good.ok());
  Bytes stolen = good->evidence;
  auto forged = CreateAttestedCertificate([&](const ReportData&) -> Result<Bytes> { return stolen; });
  ASSERT_TRUE(forged.ok());
  auto server = ServerCtx(*forged);
  auto client = ClientCtx(std::make_shared<VerifierOptions>(Options(p)));
  Connection c = Handshake(client.get(), server.get());
  EXPECT_FALSE(c.client_ok);
  Status s = PeerStatus(c.client.get());
  EXPECT_EQ(s.code(), Code::kVerificationFailed);
  EXPECT_NE(s.message().find("does not bind"), std::string::npos) << s.ToString();
}

TEST(AttestedHandshake, MutualModeChecksBothSides) {
  Platform server_platform, client_platform;
  auto server_cert = CreateAttestedCertificate(server_platform.Source());
  auto client_cert = CreateAttestedCertificate(client_platform.Source());
  ASSERT_TRUE(server_cert.ok() && client_cert.ok());
  auto server = ServerCtx(*server_cert);
  ASSERT_TRUE(InstallVerifier(server.get(), std::make_shared<VerifierOptions>(Options(client_platform)), Mode::kServer).ok());
  auto client = ClientCtx(std::make_shared<VerifierOptions>(Options(server_platform)));
  ASSERT_TRUE(UseCertificate(client.get(), *client_cert).ok());
  Connection c = Handshake(client.get(), server.get());
  ASSERT_TRUE(c.client_ok && c.server_ok) << PeerStatus(c.server.get()).ToString();
  ASSERT_NE(PeerResult(c.server.get()), nullptr);
  EXPECT_EQ(PeerResult(c.server.get())->claims.identity, client_platform.mrenclave);
  ASSERT_NE(PeerResult(c.client.get()), nullptr);

  // A client without any certificate is refused by a mutual-mode server.
  auto bare = ClientCtx(std::make_shared<VerifierOptions>(Options(server_platform)));
  Connection c2 = Handshake(bare.get(), server.get());
  EXPECT_FALSE(c2.server_ok);

  // A client whose evidence the server's policy refuses.
  Platform intruder;
  auto intruder_cert = CreateAttestedCertificate(intruder.Source());
  auto client3 = ClientCtx(std::make_shared<VerifierOptions>(Options(server_platform)));
  ASSERT_TRUE(UseCertificate(client3.get(), *intruder_cert).ok());
  Connection c3 = Handshake(client3.get(), server.get());
  EXPECT_FALSE(c3.server_ok);
  Status s = PeerStatus(c3.server.get());
  EXPECT_EQ(s.code(), Code::kVerificationFailed);  // signed by an unknown platform key
  EXPECT_NE(s.message().find("evidence (extension 2.23.133.5.4.9) is refused"), std::string::npos) << s.ToString();
}

TEST(AttestedHandshake, InstallRefusesIncompleteOptions) {
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  Status s = InstallVerifier(ctx.get(), std::make_shared<VerifierOptions>(), Mode::kClient);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("need an evidence verifier and a policy"), std::string::npos);
}

}  // namespace
}  // namespace confide::attested_tls
