// Relying party of the attested-TLS sample: an ordinary process (no enclave code) that
// connects, checks the server certificate's soft evidence against the provisioning root, the
// platform's collateral and a policy (this MRENCLAVE and MRSIGNER), and only then sends data.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "confide/attestation/policy.h"
#include "confide/attestation/registry.h"
#include "confide/attested_tls.h"

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: attested_tls_client --connect HOST:PORT --root ROOT.pem --collateral C.json\n"
               "                           --mrenclave HEX --mrsigner HEX [--allow-debug] [--allow-development]\n"
               "                           [--message TEXT]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string connect, root, collateral, mrenclave, mrsigner, message = "hello, enclave";
  bool allow_debug = false, allow_development = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    bool ok = true;
    if (a == "--connect") ok = value(connect);
    else if (a == "--root") ok = value(root);
    else if (a == "--collateral") ok = value(collateral);
    else if (a == "--mrenclave") ok = value(mrenclave);
    else if (a == "--mrsigner") ok = value(mrsigner);
    else if (a == "--message") ok = value(message);
    else if (a == "--allow-debug") allow_debug = true;
    else if (a == "--allow-development") allow_development = true;
    else ok = false;
    if (!ok) return Usage();
  }
  size_t colon = connect.rfind(':');
  if (connect.empty() || root.empty() || collateral.empty() || mrenclave.empty() || mrsigner.empty() ||
      colon == std::string::npos)
    return Usage();

  // What this client accepts: exactly this enclave build from this signer, on an up-to-date platform.
  nlohmann::json pj = {{"allow_debug", allow_debug},
                       {"allow_development", allow_development},
                       {"tcb_status", {"UpToDate"}},
                       {"claims", {{"mrenclave", {{"equals", mrenclave}}}, {"mrsigner", {{"equals", mrsigner}}}}}};
  auto policy = confide::attestation::Policy::Parse(confide::AsBytes(pj.dump()));
  auto inputs = confide::attestation::LoadVerifyInputs({collateral, root, "", ""}, confide::Now());
  if (!policy.ok() || !inputs.ok()) {
    std::fprintf(stderr, "client: %s\n", (!policy.ok() ? policy.status() : inputs.status()).message().c_str());
    return 2;
  }
  auto options = std::make_shared<confide::attested_tls::VerifierOptions>();
  options->formats = {"soft"};
  options->verify_evidence = [in = *inputs](std::string_view format, confide::ByteSpan evidence) {
    return confide::attestation::Registry::Default().Verify(format, evidence, in);
  };
  options->policy = [p = *policy](const confide::attestation::VerificationResult& r) { return p.Evaluate(r); };

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  if (auto s = confide::attested_tls::InstallVerifier(ctx, options, confide::attested_tls::Mode::kClient); !s.ok()) {
    std::fprintf(stderr, "client: %s\n", s.message().c_str());
    return 2;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(connect.c_str() + colon + 1)));
  if (inet_pton(AF_INET, connect.substr(0, colon).c_str(), &addr.sin_addr) != 1 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("client: connect");
    return 1;
  }
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  if (SSL_connect(ssl) != 1) {
    confide::Status why = confide::attested_tls::PeerStatus(ssl);
    if (why.ok()) why = confide::IoError("the TLS handshake failed before the server was verified");
    std::printf("client: REFUSED the server, nothing was sent: %s\n", why.ToString().c_str());
    ERR_clear_error();
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
    return 1;
  }
  const auto* verified = confide::attested_tls::PeerResult(ssl);
  std::printf("client: verified the server's enclave (%s, %s):\n%s", SSL_get_version(ssl), SSL_get_cipher(ssl),
              confide::attested_tls::DescribeClaims(*verified).c_str());
  std::printf("client: sending \"%s\"\n", message.c_str());
  int rc = 1;
  if (SSL_write(ssl, message.data(), static_cast<int>(message.size())) > 0) {
    char buf[4096];
    int n = SSL_read(ssl, buf, sizeof buf - 1);
    if (n > 0) {
      buf[n] = '\0';
      std::printf("client: reply: %s", buf);
      rc = 0;
    }
  }
  SSL_shutdown(ssl);
  SSL_free(ssl);
  close(fd);
  SSL_CTX_free(ctx);
  return rc;
}
