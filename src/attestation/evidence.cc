#include "confide/attestation/evidence.h"

#include <array>
#include <utility>

namespace confide::attestation {
namespace {

constexpr std::array<std::pair<TcbStatus, std::string_view>, 7> kNames{{
    {TcbStatus::kUpToDate, "UpToDate"},
    {TcbStatus::kSWHardeningNeeded, "SWHardeningNeeded"},
    {TcbStatus::kConfigurationNeeded, "ConfigurationNeeded"},
    {TcbStatus::kConfigurationAndSWHardeningNeeded, "ConfigurationAndSWHardeningNeeded"},
    {TcbStatus::kOutOfDate, "OutOfDate"},
    {TcbStatus::kOutOfDateConfigurationNeeded, "OutOfDateConfigurationNeeded"},
    {TcbStatus::kRevoked, "Revoked"},
}};

}  // namespace

std::string_view TcbStatusName(TcbStatus status) {
  for (const auto& [s, name] : kNames)
    if (s == status) return name;
  return "Unknown";
}

Result<TcbStatus> ParseTcbStatus(std::string_view name) {
  for (const auto& [s, n] : kNames)
    if (n == name) return s;
  return InvalidArgument("unknown TCB status '" + std::string(name) + "'");
}

}  // namespace confide::attestation
