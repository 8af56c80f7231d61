// `confide sign`: ELF shared object + OE-style config + RSA-3072/e=3 key -> signed image.
#include <iostream>
#include <memory>

#include "cli/cli.h"
#include "confide/bytes.h"
#include "confide/crypto.h"
#include "confide/image.h"

namespace confide::cli {
namespace {

struct SignArgs {
  std::string enclave;
  std::string config;
  std::string key;
  std::string out;
  bool json = false;
};

int RunSign(const SignArgs& a) {
  auto elf = ReadFile(a.enclave);
  if (!elf.ok()) return Refuse("sign", elf.status(), a.json);
  auto config = image::LoadConfigFile(a.config);
  if (!config.ok()) return Refuse("sign", config.status(), a.json);
  auto pem = ReadFile(a.key);
  if (!pem.ok()) return Refuse("sign", pem.status(), a.json);
  auto key = crypto::ParsePrivateKeyPem(*pem);
  SecureZero(*pem);
  if (!key.ok())
    return Refuse("sign", key.status().WithContext("'" + a.key + "' is not a readable PEM private key"), a.json);
  Status key_ok = image::CheckSigningKey(*key);
  if (!key_ok.ok()) return Refuse("sign", key_ok.WithContext(a.key), a.json);
  auto signed_image = image::Sign(*elf, *config, *key);
  if (!signed_image.ok()) return Refuse("sign", signed_image.status().WithContext(a.enclave), a.json);
  // Check the result the way a loader will before anything is written.
  auto img = image::LoadAndVerify(*signed_image);
  if (!img.ok()) return Refuse("sign", img.status().WithContext("internal check of the signed image"), a.json);
  // The result is loaded as a shared object, so it keeps a shared object's mode.
  Status w = WriteFile(a.out, *signed_image, 0755);
  if (!w.ok()) return Refuse("sign", w, a.json);
  if (a.json) {
    PrintJson({{"out", a.out},
               {"mrenclave", HexEncode(img->mrenclave)},
               {"mrsigner", HexEncode(img->mrsigner)},
               {"product_id", img->config.product_id},
               {"security_version", img->config.security_version},
               {"debug", img->config.debug}});
  } else {
    std::cout << "wrote " << a.out << "\nmrenclave " << HexEncode(img->mrenclave) << "\nmrsigner  "
              << HexEncode(img->mrsigner) << "\n";
  }
  return kExitOk;
}

}  // namespace

Runner AddSign(CLI::App& root) {
  auto args = std::make_shared<SignArgs>();
  CLI::App* cmd = root.add_subcommand("sign", "Sign an enclave shared object with a configuration and a key");
  cmd->add_option("--enclave", args->enclave, "enclave ELF shared object (.so); a signed one is re-signed")
      ->required();
  cmd->add_option("--config", args->config,
                  "configuration: Key=Value lines with Debug, NumHeapPages, NumStackPages, NumTCS, ProductID, "
                  "SecurityVersion (as OE SDK's oesign)")
      ->required();
  cmd->add_option("--key", args->key, "signing key: RSA-3072, exponent 3, PEM (see `confide keygen`)")->required();
  cmd->add_option("--out", args->out, "where to write the signed image")->required();
  cmd->add_flag("--json", args->json, "print the result as JSON");
  return [args] { return RunSign(*args); };
}

}  // namespace confide::cli
