#include "common/gotime.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace drover {
namespace {

constexpr Nanos kMicrosecond = 1'000;
constexpr Nanos kInt64Max = std::numeric_limits<Nanos>::max();
constexpr Nanos kInt64Min = std::numeric_limits<Nanos>::min();

struct DurationCase {
  Nanos nanos;
  const char* text;
};

// ---- FormatGoDuration -------------------------------------------------------

TEST(FormatGoDurationTest, MatchesGoDurationString) {
  const DurationCase cases[] = {
      {0, "0s"},
      {1, "1ns"},
      {999, "999ns"},
      {kMicrosecond, "1\xC2\xB5s"},  // U+00B5 micro sign
      {1'100, "1.1\xC2\xB5s"},
      {1'500, "1.5\xC2\xB5s"},
      {2'200 * kMicrosecond, "2.2ms"},
      {250 * kMillisecond, "250ms"},
      {1'500 * kMillisecond, "1.5s"},
      {3'300 * kMillisecond, "3.3s"},
      {15'200 * kMillisecond, "15.2s"},
      {90 * kSecond, "1m30s"},
      {2 * kMinute, "2m0s"},
      {4 * kMinute + 5'001 * kMillisecond, "4m5.001s"},
      {kHour, "1h0m0s"},
      {5 * kHour + 6 * kMinute + 7'001 * kMillisecond, "5h6m7.001s"},
      {8 * kMinute + 1, "8m0.000000001s"},
      {-3 * kSecond, "-3s"},
      {-1, "-1ns"},
      {-1'500, "-1.5\xC2\xB5s"},
      {kInt64Max, "2562047h47m16.854775807s"},
      {kInt64Min, "-2562047h47m16.854775808s"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(FormatGoDuration(c.nanos), c.text) << "nanos " << c.nanos;
  }
}

// ---- ParseGoDuration --------------------------------------------------------

// Mostly Go's own table (time/time_test.go, parseDurationTests).
TEST(ParseGoDurationTest, AcceptsGoSyntax) {
  const DurationCase cases[] = {
      {0, "0"},
      {0, "-0"},
      {0, "+0"},
      {5 * kSecond, "5s"},
      {1'478 * kSecond, "1478s"},
      {-5 * kSecond, "-5s"},
      {5 * kSecond, "+5s"},
      {5 * kSecond, "5.0s"},
      {5 * kSecond + 600 * kMillisecond, "5.6s"},
      {5 * kSecond, "5.s"},
      {500 * kMillisecond, ".5s"},
      {kSecond + 4 * kMillisecond, "1.0040s"},
      {100 * kSecond + kMillisecond, "100.00100s"},
      {10, "10ns"},
      {11 * kMicrosecond, "11us"},
      {12 * kMicrosecond, "12\xC2\xB5s"},  // U+00B5 micro sign
      {12 * kMicrosecond, "12\xCE\xBCs"},  // U+03BC Greek small letter mu
      {13 * kMillisecond, "13ms"},
      {14 * kSecond, "14s"},
      {15 * kMinute, "15m"},
      {16 * kHour, "16h"},
      {3 * kHour + 30 * kMinute, "3h30m"},
      {2 * kHour + 45 * kMinute, "2h45m"},
      {4 * kMinute + 10 * kSecond + 500 * kMillisecond, "10.5s4m"},
      {-(2 * kMinute + 3'400 * kMillisecond), "-2m3.4s"},
      {kHour + 2 * kMinute + 3 * kSecond + 4 * kMillisecond + 5 * kMicrosecond + 6,
       "1h2m3s4ms5us6ns"},
      {39 * kHour + 9 * kMinute + 14 * kSecond + 425 * kMillisecond, "39h9m14.425s"},
      {52'763'797'000, "52763797000ns"},
      {-90 * kMinute, "-1.5h"},
      // Fraction digits beyond int64 precision are dropped, not an error.
      {6 * kMinute, "0.100000000000000000000h"},
      {49 * kMinute + 48 * kSecond + 372'539'827, "0.830103483285477580700h"},
      {kInt64Max, "9223372036854775807ns"},
      {kInt64Max, "9223372036854775.807us"},
      {kInt64Max, "9223372036s854ms775us807ns"},
      {kInt64Min, "-9223372036854775808ns"},
      {kInt64Min, "-9223372036s854ms775us808ns"},
  };
  for (const auto& c : cases) {
    const auto parsed = ParseGoDuration(c.text);
    ASSERT_TRUE(parsed.ok()) << c.text << ": " << parsed.status().message();
    EXPECT_EQ(*parsed, c.nanos) << c.text;
  }
}

struct ParseErrorCase {
  const char* text;
  const char* error;
};

TEST(ParseGoDurationTest, RejectsWithGoErrorMessages) {
  const ParseErrorCase cases[] = {
      {"", R"(time: invalid duration "")"},
      {"3", R"(time: missing unit in duration "3")"},
      {"1", R"(time: missing unit in duration "1")"},
      {"-", R"(time: invalid duration "-")"},
      {"s", R"(time: invalid duration "s")"},
      {".", R"(time: invalid duration ".")"},
      {"-.", R"(time: invalid duration "-.")"},
      {".s", R"(time: invalid duration ".s")"},
      {"+.s", R"(time: invalid duration "+.s")"},
      {"x", R"(time: invalid duration "x")"},
      {"1d", R"(time: unknown unit "d" in duration "1d")"},
      {"1h2", R"(time: missing unit in duration "1h2")"},
      {"\x85\x85", R"(time: invalid duration "\x85\x85")"},
      {"\xff" "ff", R"(time: invalid duration "\xffff")"},
      {"hello \xff" "ff world", R"(time: invalid duration "hello \xffff world")"},
      {"1\xEF\xBF\xBD", R"(time: unknown unit "\xef\xbf\xbd" in duration "1\xef\xbf\xbd")"},
      {"9223372036854775810ns", R"(time: invalid duration "9223372036854775810ns")"},
      {"9223372036854775808ns", R"(time: invalid duration "9223372036854775808ns")"},
      {"-9223372036854775809ns", R"(time: invalid duration "-9223372036854775809ns")"},
      {"9223372036854776us", R"(time: invalid duration "9223372036854776us")"},
      {"3000000h", R"(time: invalid duration "3000000h")"},
      {"9223372036854775.808us", R"(time: invalid duration "9223372036854775.808us")"},
      {"9223372036854ms775us808ns", R"(time: invalid duration "9223372036854ms775us808ns")"},
  };
  for (const auto& c : cases) {
    const auto parsed = ParseGoDuration(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_EQ(parsed.status().message(), c.error) << c.text;
  }
}

TEST(ParseGoDurationTest, RoundTripsFormattedDurations) {
  const Nanos cases[] = {0,           1,         1'500,    250 * kMillisecond, 90 * kSecond,
                         25 * kHour,  -3 * kSecond, kInt64Max, kInt64Min};
  for (Nanos d : cases) {
    const auto parsed = ParseGoDuration(FormatGoDuration(d));
    ASSERT_TRUE(parsed.ok()) << FormatGoDuration(d);
    EXPECT_EQ(*parsed, d);
  }
}

// ---- RFC 3339 ---------------------------------------------------------------

struct TimeCase {
  Nanos unix_nanos;
  const char* text;
};

TEST(FormatRFC3339NanoTest, PrintsUtcWithTrimmedFraction) {
  const TimeCase cases[] = {
      {0, "1970-01-01T00:00:00Z"},
      {1'501'025'786'106'431'265, "2017-07-25T23:36:26.106431265Z"},
      {1'501'025'786'100'000'000, "2017-07-25T23:36:26.1Z"},
      {1'501'025'786'000'000'000, "2017-07-25T23:36:26Z"},
      {1'636'017'262'054'814'000, "2021-11-04T09:14:22.054814Z"},
      {951'782'400 * kSecond, "2000-02-29T00:00:00Z"},
      {-1, "1969-12-31T23:59:59.999999999Z"},
      {-86'400 * kSecond, "1969-12-31T00:00:00Z"},
      {-2'208'988'800 * kSecond + 500 * kMillisecond, "1900-01-01T00:00:00.5Z"},
      {kInt64Min + 1, "1677-09-21T00:12:43.145224193Z"},
      {kInt64Max, "2262-04-11T23:47:16.854775807Z"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(FormatRFC3339Nano(GoTime::FromUnixNanos(c.unix_nanos)), c.text);
  }
}

TEST(FormatRFC3339NanoTest, PrintsGoZeroTime) {
  EXPECT_EQ(FormatRFC3339Nano(GoTime::Zero()), "0001-01-01T00:00:00Z");
}

TEST(ParseRFC3339Test, ParsesUtcAndOffsets) {
  const TimeCase cases[] = {
      {1'501'025'786'106'431'265, "2017-07-25T23:36:26.106431265Z"},
      {1'501'025'786'000'000'000, "2017-07-25T23:36:26Z"},
      {1'636'017'262'054'814'000, "2021-11-04T10:14:22.054814+01:00"},
      {1'636'017'262'054'814'000, "2021-11-04T04:44:22.054814-04:30"},
      {1'636'017'262'000'000'000, "2021-11-04T09:14:22+00:00"},
      // Digits past nanoseconds are truncated, as Go does.
      {1'501'025'786'106'431'265, "2017-07-25T23:36:26.1064312659Z"},
      {-1, "1969-12-31T23:59:59.999999999Z"},
      {951'782'400 * kSecond, "2000-02-29T00:00:00Z"},
  };
  for (const auto& c : cases) {
    const auto parsed = ParseRFC3339(c.text);
    ASSERT_TRUE(parsed.ok()) << c.text << ": " << parsed.status().message();
    EXPECT_EQ(parsed->unix_nanos, c.unix_nanos) << c.text;
  }
}

TEST(ParseRFC3339Test, ParsesGoZeroTime) {
  const auto parsed = ParseRFC3339("0001-01-01T00:00:00Z");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->IsZero());
}

TEST(ParseRFC3339Test, RoundTripsFormattedTimes) {
  const Nanos cases[] = {0, 1, -1, 1'501'025'786'106'431'265, kInt64Max};
  for (Nanos n : cases) {
    const GoTime t = GoTime::FromUnixNanos(n);
    const auto parsed = ParseRFC3339(FormatRFC3339Nano(t));
    ASSERT_TRUE(parsed.ok()) << FormatRFC3339Nano(t);
    EXPECT_EQ(*parsed, t);
  }
}

TEST(ParseRFC3339Test, RejectsMalformedTextNamingIt) {
  const char* const cases[] = {
      "",
      "yesterday",
      "2017-07-25",
      "2017-07-25 23:36:26Z",
      "2017-07-25T23:36:26",
      "2017-07-25T23:36:26+0100",
      "2017-07-25T23:36:26.Z",
      "2017-13-25T23:36:26Z",
      "2017-02-29T00:00:00Z",
      "2017-07-25T24:00:00Z",
      "2017-07-25T23:60:00Z",
      "2017-07-25T23:36:26+24:00",
      "2017-07-25T23:36:26Zjunk",
      "0001-01-01T00:00:01Z",  // not representable in Unix nanoseconds
  };
  for (const char* text : cases) {
    const auto parsed = ParseRFC3339(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(parsed.status().message().find("\"" + std::string(text) + "\""),
              std::string::npos)
        << parsed.status().message();
  }
}

// ---- NowNanos -----------------------------------------------------------------

TEST(NowNanosTest, IsUnixNanoseconds) {
  const Nanos jan_2024 = 1'704'067'200 * kSecond;
  const Nanos jan_2200 = 7'258'118'400 * kSecond;
  const Nanos now = NowNanos();
  EXPECT_GT(now, jan_2024);
  EXPECT_LT(now, jan_2200);
}

}  // namespace
}  // namespace drover
