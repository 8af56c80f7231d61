// `confide platform csr|attest|collateral|root`: the platform's remote-attestation identity
// (docs/attestation.md, "The attester"; docs/operations.md).
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "attest_u.h"
#include "cli/cli.h"
#include "confide/attestation/soft.h"
#include "platform/attestation_identity.h"
#include "platform/daemon.h"
#include "platform/protocol.h"

namespace confide::cli {
namespace {

struct AttestArgs {
  std::string socket;
  std::string state = "/var/lib/confide";
  std::string out;
  std::string common_name;
  std::string report_data;
  std::string enclave;
  bool json = false;
};

int Csr(const AttestArgs& a) {
  if (Status s = platform::MakeTrustedDirectories(a.state, 0700); !s.ok()) return Refuse("platform csr", s, false);
  auto key = platform::LoadOrCreateAttestationKey(a.state);
  if (!key.ok()) return Refuse("platform csr", key.status(), false);
  char host[256] = "platform";
  gethostname(host, sizeof host - 1);
  std::string cn = a.common_name.empty() ? std::string("confide platform ") + host : a.common_name;
  auto csr = attestation::soft::MakeCsr(*key, cn);
  if (!csr.ok()) return Refuse("platform csr", csr.status(), false);
  if (Status s = WriteFile(a.out, AsBytes(*csr)); !s.ok()) return Refuse("platform csr", s, false);
  std::cout << "wrote " << a.out << " (attestation key " << a.state << "/" << platform::kAttestationKeyFile
            << ", CN=" << cn << "); certify it with 'confide provision certify' and start the daemon with "
            << "--cert PLATFORM.pem --chain CHAIN.pem\n";
  return kExitOk;
}

Result<nlohmann::json> AttestationInfo(const AttestArgs& a) {
  std::string sock = a.socket.empty() ? platform::DefaultSocketPath() : a.socket;
  return platform::Request(sock, {{"op", "attestation"}});
}

int Collateral(const AttestArgs& a) {
  auto info = AttestationInfo(a);
  if (!info.ok()) return Refuse("platform collateral", info.status(), false);
  if (!info->contains("collateral"))
    return Refuse("platform collateral",
                  NotFound("this production daemon was given no collateral; restart it with --collateral C.json "
                           "(from 'confide provision tcb-info'/'revoke') or give verifiers the CA's collateral"),
                  false);
  std::string c = (*info)["collateral"].get<std::string>();
  if (Status s = WriteFile(a.out, AsBytes(c)); !s.ok()) return Refuse("platform collateral", s, false);
  std::cout << "wrote " << a.out << ((*info)["development"].get<bool>() ? " (development collateral)" : "") << "\n";
  return kExitOk;
}

int Root(const AttestArgs& a) {
  auto info = AttestationInfo(a);
  if (!info.ok()) return Refuse("platform root", info.status(), false);
  if (!(*info)["development"].get<bool>())
    return Refuse("platform root",
                  PermissionDenied("this daemon is provisioned by a CA: take the root from its operator "
                                   "(CA_DIR/root.pem), not from the platform being verified"),
                  false);
  std::string root = (*info)["root"].get<std::string>();
  if (Status s = WriteFile(a.out, AsBytes(root)); !s.ok()) return Refuse("platform root", s, false);
  std::cout << "wrote " << a.out << " (development root: trust it only for testing)\n";
  return kExitOk;
}

int Attest(const AttestArgs& a) {
  auto rd_bytes = HexDecode(a.report_data);
  if (!rd_bytes.ok() || rd_bytes->size() > 64) {
    (void)Refuse("platform attest",
                 InvalidArgument("--report-data must be up to 64 bytes in hex (128 hex digits); shorter values "
                                 "are zero-padded"),
                 a.json);
    return kExitUsage;
  }
  std::vector<uint8_t> rd(64, 0);
  std::copy(rd_bytes->begin(), rd_bytes->end(), rd.begin());
  if (!a.socket.empty()) setenv(platform::kSocketEnv, a.socket.c_str(), 1);
  std::string image = a.enclave;
  if (image.empty()) {
    const char* env = getenv("CONFIDE_ATTEST_ENCLAVE");
    image = env && *env ? env : platform::ProgramDir() + "/confide-attest-enclave.signed.so";
  }
  EnclaveOptions options;
  options.backend = BackendKind::kSoft;
  auto enclave = create_attest_enclave(image, options);
  if (!enclave.ok())
    return Refuse("platform attest", enclave.status().WithContext("launching the attest enclave " + image), a.json);
  std::vector<uint8_t> evidence(32 * 1024);
  char message[512] = {};
  auto n = attest_quote(**enclave, rd.data(), rd.size(), evidence.data(), evidence.size(), message, sizeof message);
  if (!n.ok()) return Refuse("platform attest", n.status(), a.json);
  if (*n < 0)
    return Refuse("platform attest", abi::StatusFromAbi(-*n, std::string("the platform refused: ") + message), a.json);
  evidence.resize(static_cast<size_t>(*n));
  if (Status s = WriteFile(a.out, evidence); !s.ok()) return Refuse("platform attest", s, a.json);
  auto quote = attestation::soft::DecodeQuote(evidence);
  if (a.json) {
    nlohmann::json j = {{"out", a.out}, {"format", "soft"}, {"size", evidence.size()}};
    if (quote.ok()) {
      j["mrenclave"] = HexEncode(quote->body.identity.mrenclave);
      j["mrsigner"] = HexEncode(quote->body.identity.mrsigner);
    }
    PrintJson(j);
  } else {
    std::cout << "wrote " << a.out << " (soft evidence, " << evidence.size() << " bytes";
    if (quote.ok()) std::cout << ", mrenclave " << HexEncode(quote->body.identity.mrenclave);
    std::cout << ")\n";
  }
  return kExitOk;
}

}  // namespace

Runner AddPlatformAttestation(CLI::App& cmd) {
  auto a = std::make_shared<AttestArgs>();
  CLI::App* csr =
      cmd.add_subcommand("csr", "Create (once) the platform's attestation key and write a certificate request for it");
  csr->add_option("--state", a->state, "state directory (default: /var/lib/confide)");
  csr->add_option("--out", a->out, "where to write the PKCS#10 request (PEM)")->required();
  csr->add_option("--cn", a->common_name, "subject common name (default: confide platform <hostname>)");
  CLI::App* attest = cmd.add_subcommand("attest", "Produce soft evidence from the built-in attest enclave");
  attest->add_option("--report-data", a->report_data, "up to 64 bytes of caller data, hex (zero-padded)")->required();
  attest->add_option("--out", a->out, "where to write the evidence")->required();
  attest->add_option("--socket", a->socket, "daemon socket path");
  attest->add_option("--enclave", a->enclave, "attest enclave image (default: next to this program)")->group("");
  attest->add_flag("--json", a->json, "print JSON");
  CLI::App* collateral = cmd.add_subcommand("collateral", "Write the collateral verifiers need (TCB info, CRLs)");
  collateral->add_option("--out", a->out, "where to write the collateral JSON")->required();
  collateral->add_option("--socket", a->socket, "daemon socket path");
  CLI::App* root = cmd.add_subcommand("root", "Write a development daemon's root certificate");
  root->add_option("--out", a->out, "where to write the root (PEM)")->required();
  root->add_option("--socket", a->socket, "daemon socket path");
  return [a, csr, attest, collateral, root] {
    if (csr->parsed()) return Csr(*a);
    if (attest->parsed()) return Attest(*a);
    if (collateral->parsed()) return Collateral(*a);
    if (root->parsed()) return Root(*a);
    return -1;
  };
}

}  // namespace confide::cli
