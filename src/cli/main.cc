#include <iostream>
#include <utility>
#include <vector>

#include "cli/cli.h"

namespace confide::cli {

int Refuse(std::string_view command, const Status& status, bool json) {
  if (json) {
    PrintJson({{"valid", false}, {"error", status.message()}, {"error_code", std::string(CodeName(status.code()))}});
  } else {
    std::cerr << "confide " << command << ": " << status.message() << "\n";
  }
  return kExitRefused;
}

void PrintJson(const nlohmann::json& j) { std::cout << j.dump(2) << std::endl; }

}  // namespace confide::cli

int main(int argc, char** argv) {
  using namespace confide::cli;
  CLI::App app{"confide: confidential-computing SDK tools (enclave signing, measurement, attestation)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "confide 0.1.0");
  std::vector<std::pair<CLI::App*, Runner>> commands;
  auto add = [&](Runner (*adder)(CLI::App&)) {
    Runner r = adder(app);
    commands.emplace_back(app.get_subcommands({}).back(), std::move(r));
  };
  add(AddKeygen);
  add(AddSign);
  add(AddMeasure);
  add(AddVerify);
  add(AddPlatform);
  add(AddProvision);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  for (auto& [sub, run] : commands)
    if (sub->parsed()) return run();
  return kExitUsage;
}
