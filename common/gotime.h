// Time and duration in Nomad's units and text forms.
//
// Nomad's JSON carries durations as int64 nanoseconds and instants either as
// int64 Unix nanoseconds (CreateTime, TaskEvent.Time) or as RFC 3339 text
// (TaskState.StartedAt). Humans see durations in Go's time.Duration.String()
// form ("1m30s"), and query parameters such as `wait` use Go's
// time.ParseDuration syntax.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace drover {

using Nanos = std::int64_t;  // a duration or a Unix time in nanoseconds

constexpr Nanos kMillisecond = 1'000'000;
constexpr Nanos kSecond = 1'000'000'000;
constexpr Nanos kMinute = 60 * kSecond;
constexpr Nanos kHour = 60 * kMinute;
// The longest delay a timer is armed with (100 years): a clock's now plus
// any request-controlled duration clamped to it cannot overflow.
constexpr Nanos kMaxTimerDelay = 100 * 365 * 24 * kHour;

// Wall clock, Unix nanoseconds.
Nanos NowNanos();

// Go's time.Duration.String(): "0s", "1.5s", "2m0s", "1h0m0s", "250ms",
// "1µs", "-3s".
std::string FormatGoDuration(Nanos d);

// Go's time.ParseDuration: "300ms", "-1.5h", "2h45m", units ns us µs ms s m h.
// A bare "0" is allowed; any other number needs a unit.
Result<Nanos> ParseGoDuration(std::string_view text);

// A Go time.Time as it appears in Nomad's JSON. Go's zero time
// ("0001-01-01T00:00:00Z") is distinct from every Unix instant, so it is
// modelled explicitly.
struct GoTime {
  static constexpr Nanos kZero = std::numeric_limits<Nanos>::min();

  Nanos unix_nanos = kZero;

  static GoTime Zero() { return GoTime{}; }
  static GoTime FromUnixNanos(Nanos n) { return GoTime{n}; }
  bool IsZero() const { return unix_nanos == kZero; }

  friend bool operator==(const GoTime&, const GoTime&) = default;
};

// RFC 3339 with nanoseconds in UTC, as Go's time.RFC3339Nano prints it:
// trailing zeros of the fraction dropped ("2017-07-25T23:36:26.106431265Z").
std::string FormatRFC3339Nano(GoTime t);

// Parses RFC 3339 with an optional fraction and a "Z" or "+hh:mm" offset.
Result<GoTime> ParseRFC3339(std::string_view text);

}  // namespace drover
