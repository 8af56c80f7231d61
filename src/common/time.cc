#include "confide/time.h"

#include <cstdio>

namespace confide {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

UnixTime Now() { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); }

Result<UnixTime> ParseRfc3339(std::string_view s) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("time '" + std::string(s) + "' is not RFC 3339 (" + std::string(why) +
                           "); use e.g. 2025-06-19T10:56:11Z");
  };
  int y, mo, d, h, mi, se;
  if (!Digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, mo) || s[7] != '-' ||
      !Digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') || !Digits(s, 11, 2, h) || s[13] != ':' ||
      !Digits(s, 14, 2, mi) || s[16] != ':' || !Digits(s, 17, 2, se))
    return bad("expected YYYY-MM-DDTHH:MM:SS");
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start) return bad("empty fraction");
  }
  int offset_sec = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!Digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !Digits(s, pos + 4, 2, om) ||
        oh > 23 || om > 59)
      return bad("bad UTC offset");
    offset_sec = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return bad("missing time zone ('Z' or +hh:mm)");
  }
  if (pos != s.size()) return bad("trailing characters");
  if (h > 23 || mi > 59 || se > 60) return bad("hour, minute or second out of range");
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(mo)),
                                  std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return bad("no such date");
  if (se == 60) se = 59;  // leap second: clamp, as most verifiers do
  auto days = std::chrono::sys_days(ymd);
  return UnixTime(days.time_since_epoch()) + std::chrono::hours(h) + std::chrono::minutes(mi) +
         std::chrono::seconds(se) - std::chrono::seconds(offset_sec);
}

std::string FormatRfc3339(UnixTime t) {
  auto days = std::chrono::floor<std::chrono::days>(t);
  std::chrono::year_month_day ymd(days);
  std::chrono::hh_mm_ss hms(t - days);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

}  // namespace confide
