// `confide keygen`: an enclave signing key, RSA-3072 with public exponent 3 (as SGX).
#include <sys/stat.h>

#include <iostream>
#include <memory>

#include "cli/cli.h"
#include "confide/bytes.h"
#include "confide/crypto.h"
#include "confide/image.h"

namespace confide::cli {
namespace {

struct KeygenArgs {
  std::string out;
  bool force = false;
  bool json = false;
};

int RunKeygen(const KeygenArgs& a) {
  struct stat st;
  // A signing key is the enclave's identity (MRSIGNER): overwriting one by accident would
  // orphan every sealed blob and policy bound to it.
  if (!a.force && lstat(a.out.c_str(), &st) == 0)
    return Refuse("keygen", Status(Code::kAlreadyExists, "'" + a.out + "' already exists; refusing to overwrite "
                                                         "a key (pass --force to replace it)"),
                  a.json);
  auto key = crypto::RsaGenerate(3072, 3);
  if (!key.ok()) return Refuse("keygen", key.status(), a.json);
  auto pem = crypto::PrivateKeyPem(*key);
  if (!pem.ok()) return Refuse("keygen", pem.status(), a.json);
  Status w = WriteFile(a.out, pem->span(), 0600);
  if (!w.ok()) return Refuse("keygen", w, a.json);
  // umask cannot widen 0600, but an existing file replaced with --force keeps nothing either:
  // WriteFile creates a fresh file and renames it over the old one.
  auto mrsigner = image::MrSignerOf(*key);
  if (!mrsigner.ok()) return Refuse("keygen", mrsigner.status(), a.json);
  if (a.json) {
    PrintJson({{"key", a.out}, {"algorithm", "RSA-3072"}, {"exponent", 3}, {"mrsigner", HexEncode(*mrsigner)}});
  } else {
    std::cout << "wrote " << a.out << " (RSA-3072, exponent 3, mode 0600)\n"
              << "mrsigner " << HexEncode(*mrsigner) << "\n";
  }
  return kExitOk;
}

}  // namespace

Runner AddKeygen(CLI::App& root) {
  auto args = std::make_shared<KeygenArgs>();
  CLI::App* cmd = root.add_subcommand("keygen", "Create an enclave signing key (RSA-3072, public exponent 3)");
  cmd->add_option("--out", args->out, "where to write the private key (PEM, file mode 0600)")->required();
  cmd->add_flag("--force", args->force, "replace an existing file");
  cmd->add_flag("--json", args->json, "print the result as JSON");
  return [args] { return RunKeygen(*args); };
}

}  // namespace confide::cli
