// Enclave side of the attested-TLS sample: TLS 1.3 with OpenSSL on memory BIOs; the
// certificate carries soft evidence binding its key to this enclave.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "attested_tls_t.h"
#include "confide/attestation/attester.h"
#include "confide/attested_tls.h"

namespace {

std::mutex g_mu;
SSL_CTX* g_ctx = nullptr;
SSL* g_ssl = nullptr;  // owns its two memory BIOs
BIO* g_in = nullptr;   // records from the client
BIO* g_out = nullptr;  // records for the client
bool g_closed = true;

int Fail(const confide::Status& s, char* message, size_t message_size) {
  if (message_size > 0) {
    size_t n = std::min(s.message().size(), message_size - 1);
    std::memcpy(message, s.message().data(), n);
    message[n] = '\0';
  }
  return -static_cast<int>(s.code());
}

std::string TlsError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  char buf[256] = "no OpenSSL error recorded";
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// The application: answer each message the client sends.
std::string Answer(const std::string& request) {
  return "enclave: received " + std::to_string(request.size()) + " bytes over attested TLS: \"" + request + "\"\n";
}

}  // namespace

int tls_init(char* message, size_t message_size) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_ctx != nullptr) return 0;
  // The enclave has no file system (seccomp refuses open): OpenSSL must not look for its
  // configuration file. Before any other OpenSSL call.
  if (OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr) != 1)
    return Fail(confide::CryptoError("OpenSSL initialisation failed: " + TlsError()), message, message_size);
  auto cert = confide::attested_tls::CreateAttestedCertificate(
      [](const confide::attested_tls::ReportData& rd) { return confide::trusted::GetQuote(rd); });
  if (!cert.ok()) return Fail(cert.status(), message, message_size);
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return Fail(confide::CryptoError("SSL_CTX_new: " + TlsError()), message, message_size);
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  if (auto s = confide::attested_tls::UseCertificate(ctx, *cert); !s.ok()) {
    SSL_CTX_free(ctx);
    return Fail(s, message, message_size);
  }
  g_ctx = ctx;
  return 0;
}

int tls_accept() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_ctx == nullptr) return -static_cast<int>(confide::Code::kUnavailable);
  if (g_ssl != nullptr) SSL_free(g_ssl);
  g_ssl = SSL_new(g_ctx);
  g_in = BIO_new(BIO_s_mem());
  g_out = BIO_new(BIO_s_mem());
  if (g_ssl == nullptr || g_in == nullptr || g_out == nullptr) return -static_cast<int>(confide::Code::kCrypto);
  BIO_set_mem_eof_return(g_in, -1);  // empty input means "wait for more", not EOF
  SSL_set_bio(g_ssl, g_in, g_out);
  SSL_set_accept_state(g_ssl);
  g_closed = false;
  return 0;
}

int tls_pump(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size, char* message, size_t message_size) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_ssl == nullptr)
    return Fail(confide::Status(confide::Code::kUnavailable, "no connection: call tls_accept"), message, message_size);
  if (in_size > 0 && BIO_write(g_in, in, static_cast<int>(in_size)) != static_cast<int>(in_size))
    return Fail(confide::CryptoError("buffering the client's records failed"), message, message_size);
  if (!g_closed) {
    if (!SSL_is_init_finished(g_ssl)) {
      int rc = SSL_do_handshake(g_ssl);
      if (rc != 1) {
        int err = SSL_get_error(g_ssl, rc);
        if (err != SSL_ERROR_WANT_READ) {
          g_closed = true;
          // Usually the client's alert: it refused this enclave.
          return Fail(confide::IoError("the TLS handshake failed: " + TlsError()), message, message_size);
        }
      }
    }
    while (SSL_is_init_finished(g_ssl)) {
      char buf[4096];
      int n = SSL_read(g_ssl, buf, sizeof buf);
      if (n > 0) {
        std::string reply = Answer(std::string(buf, static_cast<size_t>(n)));
        if (SSL_write(g_ssl, reply.data(), static_cast<int>(reply.size())) <= 0) {
          g_closed = true;
          return Fail(confide::CryptoError("SSL_write: " + TlsError()), message, message_size);
        }
        continue;
      }
      int err = SSL_get_error(g_ssl, n);
      if (err == SSL_ERROR_ZERO_RETURN) {
        SSL_shutdown(g_ssl);
        g_closed = true;
      } else if (err != SSL_ERROR_WANT_READ) {
        g_closed = true;
        return Fail(confide::IoError("the TLS connection failed: " + TlsError()), message, message_size);
      }
      break;
    }
  }
  int n = BIO_read(g_out, out, static_cast<int>(out_size));
  return n > 0 ? n : 0;
}

int tls_closed() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_closed ? 1 : 0;
}
