#include "common/gotime.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <utility>

namespace drover {
namespace {

constexpr std::uint64_t kTwoPow63 = std::uint64_t{1} << 63;

// Go's time.quote: like strconv.Quote for ASCII, but every byte outside
// printable ASCII becomes \xNN (it is only used in error messages).
std::string QuoteLikeGoTime(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c < ' ' || c >= 0x80) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += static_cast<char>(c);
  }
  return out + "\"";
}

// Go's fmtFrac: "." and the `prec` digits of `frac`, trailing zeros dropped;
// "" when `frac` is zero.
std::string Fraction(std::uint64_t frac, int prec) {
  std::string digits(static_cast<std::size_t>(prec), '0');
  for (int i = prec - 1; i >= 0; --i, frac /= 10) {
    digits[static_cast<std::size_t>(i)] = static_cast<char>('0' + frac % 10);
  }
  const auto last = digits.find_last_not_of('0');
  if (last == std::string::npos) return "";
  return "." + digits.substr(0, last + 1);
}

// ---- ParseGoDuration --------------------------------------------------------

Status InvalidDuration(std::string_view orig) {
  return InvalidArgument("time: invalid duration " + QuoteLikeGoTime(orig));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Go's leadingInt: consumes [0-9]*; nullopt when the value exceeds 2^63.
std::optional<std::uint64_t> ConsumeInt(std::string_view& s) {
  std::uint64_t x = 0;
  std::size_t i = 0;
  for (; i < s.size() && IsDigit(s[i]); ++i) {
    if (x > kTwoPow63 / 10) return std::nullopt;
    x = x * 10 + static_cast<std::uint64_t>(s[i] - '0');
    if (x > kTwoPow63) return std::nullopt;
  }
  s.remove_prefix(i);
  return x;
}

struct FractionDigits {
  std::uint64_t value = 0;
  double scale = 1;  // the fraction is value / scale
};

// Go's leadingFraction: consumes [0-9]*, silently dropping the digits that
// no longer fit.
FractionDigits ConsumeFraction(std::string_view& s) {
  FractionDigits f;
  bool overflow = false;
  std::size_t i = 0;
  for (; i < s.size() && IsDigit(s[i]); ++i) {
    if (overflow) continue;
    if (f.value > (kTwoPow63 - 1) / 10) {
      overflow = true;
      continue;
    }
    const std::uint64_t y = f.value * 10 + static_cast<std::uint64_t>(s[i] - '0');
    if (y > kTwoPow63) {
      overflow = true;
      continue;
    }
    f.value = y;
    f.scale *= 10;
  }
  s.remove_prefix(i);
  return f;
}

std::optional<std::uint64_t> UnitNanos(std::string_view unit) {
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 8> kUnits{{
      {"ns", 1},
      {"us", 1'000},
      {"\xC2\xB5s", 1'000},  // U+00B5 micro sign
      {"\xCE\xBCs", 1'000},  // U+03BC Greek small letter mu
      {"ms", 1'000'000},
      {"s", kSecond},
      {"m", kMinute},
      {"h", kHour},
  }};
  for (const auto& [name, nanos] : kUnits) {
    if (name == unit) return nanos;
  }
  return std::nullopt;
}

// Consumes one "<number><unit>" term of a duration; its magnitude is at
// most 2^63.
Result<std::uint64_t> ConsumeTerm(std::string_view& s, std::string_view orig) {
  if (s[0] != '.' && !IsDigit(s[0])) return InvalidDuration(orig);

  const std::size_t before_int = s.size();
  const auto whole = ConsumeInt(s);
  if (!whole) return InvalidDuration(orig);
  const bool has_int = s.size() != before_int;

  FractionDigits frac;
  bool has_frac = false;
  if (!s.empty() && s[0] == '.') {
    s.remove_prefix(1);
    const std::size_t before_frac = s.size();
    frac = ConsumeFraction(s);
    has_frac = s.size() != before_frac;
  }
  if (!has_int && !has_frac) return InvalidDuration(orig);  // ".s"

  std::size_t unit_len = 0;
  while (unit_len < s.size() && s[unit_len] != '.' && !IsDigit(s[unit_len])) ++unit_len;
  if (unit_len == 0) {
    return InvalidArgument("time: missing unit in duration " + QuoteLikeGoTime(orig));
  }
  const std::string_view unit_text = s.substr(0, unit_len);
  s.remove_prefix(unit_len);
  const auto unit = UnitNanos(unit_text);
  if (!unit) {
    return InvalidArgument("time: unknown unit " + QuoteLikeGoTime(unit_text) + " in duration " +
                           QuoteLikeGoTime(orig));
  }

  if (*whole > kTwoPow63 / *unit) return InvalidDuration(orig);
  std::uint64_t v = *whole * *unit;
  if (frac.value > 0) {
    // Go computes this in float64, which is exact to the nanosecond even for
    // fractions of hours; doing the same keeps results bit-identical.
    v += static_cast<std::uint64_t>(static_cast<double>(frac.value) *
                                    (static_cast<double>(*unit) / frac.scale));
    if (v > kTwoPow63) return InvalidDuration(orig);
  }
  return v;
}

// ---- RFC 3339 -------------------------------------------------------------

struct FloorSplit {
  std::int64_t quotient;
  std::int64_t remainder;  // in [0, divisor)
};

// Floor division, so that instants before 1970 get a non-negative remainder.
FloorSplit SplitFloor(std::int64_t value, std::int64_t divisor) {
  FloorSplit s{value / divisor, value % divisor};
  if (s.remainder < 0) {
    s.remainder += divisor;
    --s.quotient;
  }
  return s;
}

// Go's zero time, 0001-01-01T00:00:00Z, in seconds from the Unix epoch.
constexpr std::int64_t kGoZeroUnixSeconds = -62'135'596'800;

struct Rfc3339Fields {
  std::chrono::year_month_day date;
  int hour = 0;
  int minute = 0;
  int second = 0;
  Nanos nanos = 0;
  int offset_seconds = 0;  // east of UTC
};

// The decimal value of `s` if it is all digits and within [min, max].
std::optional<int> DigitsInRange(std::string_view s, int min, int max) {
  int x = 0;
  for (char c : s) {
    if (!IsDigit(c)) return std::nullopt;
    x = x * 10 + (c - '0');
  }
  if (x < min || x > max) return std::nullopt;
  return x;
}

// Go's parseNanoseconds: digits past the ninth are dropped, not rounded.
Nanos FractionNanos(std::string_view digits) {
  Nanos ns = 0;
  for (std::size_t i = 0; i < 9; ++i) {
    ns = ns * 10 + (i < digits.size() ? digits[i] - '0' : 0);
  }
  return ns;
}

// Consumes an optional ".ddd" fraction of a second.
Nanos ConsumeSecondFraction(std::string_view& s) {
  if (s.size() < 2 || s[0] != '.' || !IsDigit(s[1])) return 0;
  std::size_t n = 1;
  while (n < s.size() && IsDigit(s[n])) ++n;
  const Nanos ns = FractionNanos(s.substr(1, n - 1));
  s.remove_prefix(n);
  return ns;
}

// "Z" or "+hh:mm" / "-hh:mm", as seconds east of UTC.
std::optional<int> ParseZone(std::string_view s) {
  if (s == "Z") return 0;
  if (s.size() != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':') return std::nullopt;
  const auto hours = DigitsInRange(s.substr(1, 2), 0, 23);
  const auto minutes = DigitsInRange(s.substr(4, 2), 0, 59);
  if (!hours || !minutes) return std::nullopt;
  const int offset = (*hours * 60 + *minutes) * 60;
  return s[0] == '-' ? -offset : offset;
}

// The layout of Go's fast RFC 3339 parser: "2006-01-02T15:04:05", an
// optional fraction, then the zone.
std::optional<Rfc3339Fields> ParseRfc3339Fields(std::string_view s) {
  constexpr std::size_t kDateTimeLen = 19;
  if (s.size() < kDateTimeLen || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':') {
    return std::nullopt;
  }
  const auto year = DigitsInRange(s.substr(0, 4), 0, 9999);
  const auto month = DigitsInRange(s.substr(5, 2), 1, 12);
  const auto day = DigitsInRange(s.substr(8, 2), 1, 31);
  const auto hour = DigitsInRange(s.substr(11, 2), 0, 23);
  const auto minute = DigitsInRange(s.substr(14, 2), 0, 59);
  const auto second = DigitsInRange(s.substr(17, 2), 0, 59);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;

  Rfc3339Fields f;
  f.date = std::chrono::year{*year} / std::chrono::month{static_cast<unsigned>(*month)} /
           std::chrono::day{static_cast<unsigned>(*day)};
  if (!f.date.ok()) return std::nullopt;  // e.g. February 30th
  f.hour = *hour;
  f.minute = *minute;
  f.second = *second;

  s.remove_prefix(kDateTimeLen);
  f.nanos = ConsumeSecondFraction(s);
  const auto offset = ParseZone(s);
  if (!offset) return std::nullopt;
  f.offset_seconds = *offset;
  return f;
}

std::int64_t UnixSeconds(const Rfc3339Fields& f) {
  const std::int64_t days = std::chrono::sys_days{f.date}.time_since_epoch().count();
  return days * 86'400 + f.hour * 3'600 + f.minute * 60 + f.second - f.offset_seconds;
}

}  // namespace

Nanos NowNanos() {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
}

std::string FormatGoDuration(Nanos d) {
  if (d == 0) return "0s";
  // Negating in unsigned arithmetic keeps the magnitude of INT64_MIN.
  const std::uint64_t u = d < 0 ? 0 - static_cast<std::uint64_t>(d) : static_cast<std::uint64_t>(d);
  std::string out = d < 0 ? "-" : "";

  if (u < static_cast<std::uint64_t>(kSecond)) {
    if (u < 1'000) return out + std::to_string(u) + "ns";
    if (u < 1'000'000) {
      return out + std::to_string(u / 1'000) + Fraction(u % 1'000, 3) + "\xC2\xB5s";
    }
    return out + std::to_string(u / 1'000'000) + Fraction(u % 1'000'000, 6) + "ms";
  }

  const std::uint64_t seconds = u / kSecond;
  const std::uint64_t hours = seconds / 3'600;
  const std::uint64_t minutes = seconds / 60 % 60;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (seconds >= 60) out += std::to_string(minutes) + "m";
  return out + std::to_string(seconds % 60) + Fraction(u % kSecond, 9) + "s";
}

Result<Nanos> ParseGoDuration(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Nanos{0};
  if (s.empty()) return InvalidDuration(text);

  std::uint64_t total = 0;
  while (!s.empty()) {
    ASSIGN_OR_RETURN(const std::uint64_t term, ConsumeTerm(s, text));
    total += term;  // both are at most 2^63: no wrap-around
    if (total > kTwoPow63) return InvalidDuration(text);
  }
  // 2^63 is representable only as a negative duration.
  if (negative) return static_cast<Nanos>(0 - total);
  if (total > kTwoPow63 - 1) return InvalidDuration(text);
  return static_cast<Nanos>(total);
}

std::string FormatRFC3339Nano(GoTime t) {
  if (t.IsZero()) return "0001-01-01T00:00:00Z";
  // Split with remainders rather than chrono::floor, which overflows near
  // the int64 limits when it converts days back to nanoseconds.
  const FloorSplit seconds = SplitFloor(t.unix_nanos, kSecond);
  const FloorSplit days = SplitFloor(seconds.quotient, 86'400);
  const std::chrono::year_month_day date{std::chrono::sys_days{std::chrono::days{days.quotient}}};
  const std::int64_t second_of_day = days.remainder;

  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%04d-%02u-%02uT%02d:%02d:%02d",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(second_of_day / 3'600),
                static_cast<int>(second_of_day / 60 % 60), static_cast<int>(second_of_day % 60));
  return std::string(buf.data()) + Fraction(static_cast<std::uint64_t>(seconds.remainder), 9) + "Z";
}

Result<GoTime> ParseRFC3339(std::string_view text) {
  const auto fields = ParseRfc3339Fields(text);
  if (!fields) {
    return InvalidArgument("parsing time " + QuoteLikeGoTime(text) + ": not RFC 3339");
  }
  const std::int64_t seconds = UnixSeconds(*fields);
  if (seconds == kGoZeroUnixSeconds && fields->nanos == 0) return GoTime::Zero();

  Nanos nanos = 0;
  if (__builtin_mul_overflow(seconds, kSecond, &nanos) ||
      __builtin_add_overflow(nanos, fields->nanos, &nanos)) {
    return InvalidArgument("parsing time " + QuoteLikeGoTime(text) +
                           ": outside the range of Unix nanoseconds");
  }
  return GoTime::FromUnixNanos(nanos);
}

}  // namespace drover
