// Text output in the layout of Nomad's CLI: columnized tables and
// "key = value" blocks (rows as "a|b|c", empty cells "<none>"), times,
// durations and short IDs; and `-json` / `-t` output of any JSON value.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "common/status.h"

namespace drover::cli {

inline constexpr std::size_t kShortId = 8;

// A table: the cells of each row split on '|', columns padded to their
// widest cell and glued by two spaces.
std::string FormatList(const std::vector<std::string>& rows);
// "Key|Value" rows as "Key   = Value".
std::string FormatKV(const std::vector<std::string>& rows);
// The first `n` characters of `s`.
std::string Limit(const std::string& s, std::size_t n);
// Unix nanoseconds as "2006-01-02T15:04:05Z07:00" in local time; "" for 0.
std::string FormatUnixNano(std::int64_t nanos);
// "1h2m3s ago" / "5s from now" between `nanos` and now; "" for 0.
std::string PrettyTimeDiff(std::int64_t nanos);
// Nanoseconds as Go prints a time.Duration ("1m30s", "250ms").
std::string FormatDuration(std::int64_t nanos);
// Bytes as "300 MiB", as Nomad's humanize.IBytes.
std::string FormatBytes(std::uint64_t bytes);

// A decimal integer >= 0, all of `text`.
Result<std::int64_t> ParseNonNegative(const std::string& text);

// The value at a path of object keys, or null when a step is missing.
const boost::json::value* At(const boost::json::value& v, std::initializer_list<const char*> path);

// The string / integer / bool at `key` of an object value ("" / 0 / false
// when absent or of another type): the loose reads a table needs.
std::string Str(const boost::json::value& v, const char* key);
std::int64_t Int(const boost::json::value& v, const char* key);
bool Bool(const boost::json::value& v, const char* key);

// `-json` / `-t`: the value as indented JSON, or through the template.
// Both at once is Nomad's error "Both json and template formatting are not
// allowed".
Result<std::string> FormatOutput(bool json, const std::string& tmpl,
                                 const boost::json::value& data);
std::string IndentJson(const boost::json::value& v);

}  // namespace drover::cli
