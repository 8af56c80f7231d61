// `confide measure`: verify a signed image and print its identity and configuration.
#include <iostream>
#include <memory>

#include "cli/cli.h"
#include "confide/bytes.h"
#include "confide/image.h"

namespace confide::cli {
namespace {

struct MeasureArgs {
  std::string image;
  bool json = false;
};

int RunMeasure(const MeasureArgs& a) {
  auto file = ReadFile(a.image);
  if (!file.ok()) return Refuse("measure", file.status(), a.json);
  auto img = image::ParseSignedImage(*file);
  if (!img.ok()) return Refuse("measure", img.status().WithContext(a.image), a.json);

  // An image that fails verification still shows what it claims, marked invalid, so a user
  // can see which image it is; the exit code and `error` say it must not be trusted.
  const bool ok = img->verification.ok();
  if (a.json) {
    nlohmann::json j = {{"mrenclave", HexEncode(img->mrenclave)},
                        {"mrsigner", HexEncode(img->mrsigner)},
                        {"product_id", img->config.product_id},
                        {"security_version", img->config.security_version},
                        {"debug", img->config.debug},
                        {"num_heap_pages", img->config.num_heap_pages},
                        {"num_stack_pages", img->config.num_stack_pages},
                        {"num_tcs", img->config.num_tcs},
                        {"signature_valid", img->signature_valid},
                        {"valid", ok}};
    if (!ok) {
      j["error"] = a.image + ": " + img->verification.message();
      j["error_code"] = std::string(CodeName(img->verification.code()));
    }
    PrintJson(j);
  } else {
    std::cout << "mrenclave        " << HexEncode(img->mrenclave) << "\n"
              << "mrsigner         " << HexEncode(img->mrsigner) << "\n"
              << "product_id       " << img->config.product_id << "\n"
              << "security_version " << img->config.security_version << "\n"
              << "debug            " << (img->config.debug ? "true" : "false") << "\n"
              << "num_heap_pages   " << img->config.num_heap_pages << "\n"
              << "num_stack_pages  " << img->config.num_stack_pages << "\n"
              << "num_tcs          " << img->config.num_tcs << "\n"
              << "signature_valid  " << (img->signature_valid ? "true" : "false") << "\n";
    if (!ok) std::cerr << "confide measure: " << a.image << ": " << img->verification.message() << "\n";
  }
  return ok ? kExitOk : kExitRefused;
}

}  // namespace

Runner AddMeasure(CLI::App& root) {
  auto args = std::make_shared<MeasureArgs>();
  CLI::App* cmd = root.add_subcommand(
      "measure", "Verify a signed enclave image and print MRENCLAVE, MRSIGNER and its configuration");
  cmd->add_option("image", args->image, "signed enclave image (from `confide sign`)")->required();
  cmd->add_flag("--json", args->json, "print the result as JSON");
  return [args] { return RunMeasure(*args); };
}

}  // namespace confide::cli
