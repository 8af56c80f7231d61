// The `confide` command: one file per subcommand, each adding itself to the root app.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "confide/status.h"

namespace confide::cli {

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;  // the input was read but refused (bad signature, invalid quote, ...)
inline constexpr int kExitUsage = 2;    // the command line itself is wrong

// Called after parsing when its subcommand was chosen; returns the exit code.
using Runner = std::function<int()>;

Runner AddKeygen(CLI::App& root);
Runner AddSign(CLI::App& root);
Runner AddMeasure(CLI::App& root);
Runner AddVerify(CLI::App& root);
Runner AddPlatform(CLI::App& root);
Runner AddProvision(CLI::App& root);
// The platform's attestation subcommands (csr, attest, collateral, root) under `platform`;
// its runner returns -1 when none of them was chosen.
Runner AddPlatformAttestation(CLI::App& platform);

// Prints a refusal: to stderr as "confide <cmd>: <message>", or as {"error": ...} JSON on stdout.
int Refuse(std::string_view command, const Status& status, bool json);
void PrintJson(const nlohmann::json& j);

}  // namespace confide::cli
