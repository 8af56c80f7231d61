#include "confide/time.h"

#include <gtest/gtest.h>

#include <string>

namespace confide {
namespace {

// Expected instants were computed independently (Python calendar.timegm).
UnixTime At(long long seconds) { return UnixTime(std::chrono::seconds(seconds)); }

void ExpectParses(std::string_view text, long long want) {
  auto r = ParseRfc3339(text);
  ASSERT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  EXPECT_EQ(r->time_since_epoch().count(), want) << text;
}

void ExpectRejected(std::string_view text, std::string_view why = "") {
  auto r = ParseRfc3339(text);
  ASSERT_FALSE(r.ok()) << "accepted: " << text;
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << text;
  // The message quotes the input so the user can find it in their file.
  EXPECT_NE(r.status().message().find(std::string(text)), std::string::npos) << r.status().message();
  if (!why.empty()) {
    EXPECT_NE(r.status().message().find(std::string(why)), std::string::npos) << r.status().message();
  }
}

TEST(ParseRfc3339Test, UtcForms) {
  ExpectParses("1970-01-01T00:00:00Z", 0);
  ExpectParses("2025-06-19T10:56:11Z", 1750330571);
  ExpectParses("2025-06-19t10:56:11z", 1750330571);
  ExpectParses("1969-12-31T23:59:59Z", -1);
  ExpectParses("9999-12-31T23:59:59Z", 253402300799);
}

TEST(ParseRfc3339Test, OffsetsDenoteTheSameInstant) {
  ExpectParses("2025-06-19T16:26:11+05:30", 1750330571);
  ExpectParses("2025-06-19T02:56:11-08:00", 1750330571);
  ExpectParses("2025-06-19T10:56:11+00:00", 1750330571);
  ExpectParses("2025-06-19T10:56:11-00:00", 1750330571);
  // An offset can move the instant across a day and a year boundary.
  ExpectParses("1970-01-01T01:00:00+02:00", -3600);
  ExpectParses("2025-06-19T05:26:11Z", 1750310771);
}

TEST(ParseRfc3339Test, FractionsAreTruncatedNotRounded) {
  ExpectParses("2025-06-19T10:56:11.1Z", 1750330571);
  ExpectParses("2025-06-19T10:56:11.999999999Z", 1750330571);
  ExpectParses("2025-06-19T10:56:11.5+01:00", 1750330571 - 3600);
  ExpectRejected("2025-06-19T10:56:11.Z", "fraction");
  ExpectRejected("2025-06-19T10:56:11.12a4Z");
}

TEST(ParseRfc3339Test, LeapYears) {
  ExpectParses("2024-02-29T12:00:00Z", 1709208000);
  ExpectParses("2000-02-29T00:00:00Z", 951782400);  // divisible by 400: leap
  ExpectRejected("2023-02-29T12:00:00Z", "no such date");
  ExpectRejected("1900-02-29T00:00:00Z", "no such date");  // divisible by 100 only: not leap
  ExpectRejected("2024-02-30T00:00:00Z", "no such date");
}

TEST(ParseRfc3339Test, OutOfRangeFields) {
  ExpectRejected("2025-13-01T00:00:00Z", "no such date");
  ExpectRejected("2025-00-10T00:00:00Z", "no such date");
  ExpectRejected("2025-01-00T00:00:00Z", "no such date");
  ExpectRejected("2025-01-32T00:00:00Z", "no such date");
  ExpectRejected("2025-04-31T00:00:00Z", "no such date");
  ExpectRejected("2025-01-01T24:00:00Z", "out of range");
  ExpectRejected("2025-01-01T23:60:00Z", "out of range");
  ExpectRejected("2025-01-01T23:59:61Z", "out of range");
}

TEST(ParseRfc3339Test, LeapSecondIsClampedToTheMinuteEnd) {
  ExpectParses("2016-12-31T23:59:60Z", 1483228799);
}

TEST(ParseRfc3339Test, MissingOrBadZone) {
  ExpectRejected("2025-06-19T10:56:11.5", "time zone");
  ExpectRejected("2025-06-19T10:56:11", "time zone");
  ExpectRejected("2025-06-19T10:56:11X", "time zone");
  ExpectRejected("2025-06-19T10:56:11+05", "offset");
  ExpectRejected("2025-06-19T10:56:11+0530", "offset");
  ExpectRejected("2025-06-19T10:56:11+24:00", "offset");
  ExpectRejected("2025-06-19T10:56:11+05:60", "offset");
  ExpectRejected("2025-06-19T10:56:11+05:3a", "offset");
}

TEST(ParseRfc3339Test, MalformedText) {
  for (std::string_view bad :
       {"", "2025", "2025-06-19", "2025-06-19 10:56:11Z", "2025/06/19T10:56:11Z", "25-06-19T10:56:11Z",
        "2025-6-19T10:56:11Z", "2025-06-19T10:56Z", "2025-06-19T1a:56:11Z", "+025-06-19T10:56:11Z",
        " 2025-06-19T10:56:11Z"}) {
    SCOPED_TRACE(std::string(bad));
    ExpectRejected(bad);
  }
  ExpectRejected("2025-06-19T10:56:11Zjunk", "trailing");
  ExpectRejected("2025-06-19T10:56:11+01:00 ", "trailing");
}

TEST(FormatRfc3339Test, Formats) {
  EXPECT_EQ(FormatRfc3339(At(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(At(1750330571)), "2025-06-19T10:56:11Z");
  EXPECT_EQ(FormatRfc3339(At(1709208000)), "2024-02-29T12:00:00Z");
  EXPECT_EQ(FormatRfc3339(At(-1)), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatRfc3339(At(253402300799)), "9999-12-31T23:59:59Z");
}

TEST(FormatRfc3339Test, RoundTripsThroughParse) {
  // Step by a prime so every field takes many values, across leap days and the epoch.
  for (long long t = -400LL * 86400 * 365; t < 70LL * 86400 * 366; t += 9876543) {
    std::string text = FormatRfc3339(At(t));
    auto back = ParseRfc3339(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.status().ToString();
    EXPECT_EQ(back->time_since_epoch().count(), t) << text;
  }
}

TEST(NowTest, IsPlausibleAndWholeSeconds) {
  UnixTime a = Now();
  UnixTime b = Now();
  EXPECT_LE(a, b);
  EXPECT_GT(a, *ParseRfc3339("2024-01-01T00:00:00Z"));
  EXPECT_LT(a, *ParseRfc3339("2200-01-01T00:00:00Z"));
}

}  // namespace
}  // namespace confide
