// Time as UTC seconds, and RFC 3339 text. Verification always takes an explicit time.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "confide/status.h"

namespace confide {

using UnixTime = std::chrono::sys_seconds;

UnixTime Now();
// Accepts "2025-06-19T10:56:11Z", fractional seconds (truncated), and "+hh:mm"/"-hh:mm"
// offsets; 't'/'z' in lower case too. Rejects out-of-range fields (month 13, Feb 30).
Result<UnixTime> ParseRfc3339(std::string_view text);
// Always "YYYY-MM-DDTHH:MM:SSZ".
std::string FormatRfc3339(UnixTime t);

}  // namespace confide
