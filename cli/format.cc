#include "cli/format.h"

#include <time.h>

#include <algorithm>
#include <charconv>
#include <boost/json.hpp>
#include <cmath>

#include "cli/template.h"
#include "common/gotime.h"

namespace drover::cli {

namespace json = boost::json;

namespace {

std::vector<std::vector<std::string>> SplitRows(const std::vector<std::string>& rows) {
  std::vector<std::vector<std::string>> cells;
  for (const std::string& row : rows) {
    std::vector<std::string> r;
    std::size_t start = 0;
    for (;;) {
      const auto bar = row.find('|', start);
      r.push_back(row.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
      if (bar == std::string::npos) break;
      start = bar + 1;
    }
    cells.push_back(std::move(r));
  }
  return cells;
}

// columnize.Format with Empty "<none>".
std::string Columnize(const std::vector<std::string>& rows, const std::string& glue) {
  auto cells = SplitRows(rows);
  std::vector<std::size_t> widths;
  for (auto& r : cells) {
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (r[i].find_first_not_of(' ') == std::string::npos) r[i] = "<none>";
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], r[i].size());
    }
  }
  std::string out;
  for (const auto& r : cells) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(widths[i] - r[i].size(), ' ') + glue;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    if (!out.empty()) out += '\n';
    out += line;
  }
  return out;
}

}  // namespace

std::string FormatList(const std::vector<std::string>& rows) { return Columnize(rows, "  "); }
std::string FormatKV(const std::vector<std::string>& rows) { return Columnize(rows, " = "); }

std::string Limit(const std::string& s, std::size_t n) { return s.size() < n ? s : s.substr(0, n); }

std::string FormatUnixNano(std::int64_t nanos) {
  if (nanos < 1'000'000'000) return "";
  const time_t secs = static_cast<time_t>(nanos / 1'000'000'000);
  tm local{};
  ::localtime_r(&secs, &local);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &local);
  std::string out = buf;
  const long off = local.tm_gmtoff;
  if (off == 0) return out + "Z";
  const long a = off < 0 ? -off : off;
  std::snprintf(buf, sizeof buf, "%c%02ld:%02ld", off < 0 ? '-' : '+', a / 3600, (a % 3600) / 60);
  return out + buf;
}

std::string PrettyTimeDiff(std::int64_t nanos) {
  if (nanos == 0) return "";
  const std::int64_t now = NowNanos();
  auto round = [](std::int64_t n) { return (n + 500'000'000) / 1'000'000'000; };
  std::int64_t first = round(nanos), second = round(now);
  std::string suffix = "ago";
  std::uint64_t u;
  if (second >= first) {
    u = static_cast<std::uint64_t>(second - first);
  } else {
    u = static_cast<std::uint64_t>(first - second);
    suffix = "from now";
  }
  // The two largest non-zero units, as Nomad's prettyTimeDiff.
  const std::uint64_t secs = u % 60, mins = (u / 60) % 60, hrs = (u / 3600) % 24,
                      days = (u / 86400) % 30, months = (u / 2592000) % 12, years = u / 31104000;
  std::vector<std::string> parts;
  if (years) parts.push_back(std::to_string(years) + "y");
  if (months) parts.push_back(std::to_string(months) + "mo");
  if (days) parts.push_back(std::to_string(days) + "d");
  if (hrs) parts.push_back(std::to_string(hrs) + "h");
  if (mins) parts.push_back(std::to_string(mins) + "m");
  if (secs) parts.push_back(std::to_string(secs) + "s");
  if (parts.empty()) return "0s " + suffix;
  std::string out = parts[0];
  if (parts.size() > 1) out += parts[1];
  return out + " " + suffix;
}

std::string FormatDuration(std::int64_t nanos) { return FormatGoDuration(nanos); }

std::string FormatBytes(std::uint64_t bytes) {
  if (bytes < 10) return std::to_string(bytes) + " B";
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  const double e = std::floor(std::log(static_cast<double>(bytes)) / std::log(1024.0));
  const double val = std::floor(static_cast<double>(bytes) / std::pow(1024.0, e) * 10 + 0.5) / 10;
  char buf[32];
  std::snprintf(buf, sizeof buf, val < 10 ? "%.1f %s" : "%.0f %s", val, kUnits[static_cast<int>(e)]);
  return buf;
}

Result<std::int64_t> ParseNonNegative(const std::string& text) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || n < 0) {
    return InvalidArgument("not a non-negative integer: " + text);
  }
  return n;
}

const json::value* At(const json::value& v, std::initializer_list<const char*> path) {
  const json::value* at = &v;
  for (const char* key : path) {
    const json::object* o = at->if_object();
    at = o ? o->if_contains(key) : nullptr;
    if (at == nullptr) return nullptr;
  }
  return at;
}

std::string Str(const json::value& v, const char* key) {
  const json::object* o = v.if_object();
  const json::value* x = o ? o->if_contains(key) : nullptr;
  return x && x->is_string() ? std::string(x->get_string()) : std::string();
}

std::int64_t Int(const json::value& v, const char* key) {
  const json::object* o = v.if_object();
  const json::value* x = o ? o->if_contains(key) : nullptr;
  if (x == nullptr) return 0;
  if (x->is_int64()) return x->get_int64();
  if (x->is_uint64()) return static_cast<std::int64_t>(x->get_uint64());
  if (x->is_double()) return static_cast<std::int64_t>(x->get_double());
  return 0;
}

bool Bool(const json::value& v, const char* key) {
  const json::object* o = v.if_object();
  const json::value* x = o ? o->if_contains(key) : nullptr;
  return x && x->is_bool() && x->get_bool();
}

namespace {

void Indent(const json::value& v, std::string& out, int depth) {
  const std::string pad(static_cast<std::size_t>(depth + 1) * 4, ' ');
  const std::string end_pad(static_cast<std::size_t>(depth) * 4, ' ');
  if (const json::object* o = v.if_object()) {
    if (o->empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    bool first = true;
    for (const auto& kv : *o) {
      if (!first) out += ",\n";
      first = false;
      out += pad + json::serialize(json::string(kv.key())) + ": ";
      Indent(kv.value(), out, depth + 1);
    }
    out += "\n" + end_pad + "}";
  } else if (const json::array* a = v.if_array()) {
    if (a->empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    bool first = true;
    for (const json::value& x : *a) {
      if (!first) out += ",\n";
      first = false;
      out += pad;
      Indent(x, out, depth + 1);
    }
    out += "\n" + end_pad + "]";
  } else {
    out += json::serialize(v);
  }
}

}  // namespace

std::string IndentJson(const json::value& v) {
  std::string out;
  Indent(v, out, 0);
  return out;
}

Result<std::string> FormatOutput(bool as_json, const std::string& tmpl, const json::value& data) {
  if (as_json && !tmpl.empty()) {
    return InvalidArgument("Both json and template formatting are not allowed");
  }
  if (as_json) return IndentJson(data);
  return RenderTemplate(tmpl, data);
}

}  // namespace drover::cli
