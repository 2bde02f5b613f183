// The function library of Nomad's jobspecs (the subset jobs use; no file
// system access, as Nomad's /v1/jobs/parse runs with it disabled).
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

#include "hcl/expr.h"
#include "hcl/lexer.h"

namespace drover::hcl {
namespace {

namespace json = boost::json;
using Args = std::vector<json::value>;

struct Call {
  const std::string& name;
  Args& args;
  Pos pos;
  const EvalContext& ctx;

  Status Error(std::string_view message) const {
    return ErrorAt(ctx.filename, pos,
                   "Invalid function argument; " + name + ": " + std::string(message));
  }
  Result<std::string> Str(std::size_t i) const {
    auto s = ToStringValue(args[i]);
    if (!s.ok()) return Error("argument " + std::to_string(i + 1) + ": " + s.status().message());
    return s;
  }
  Result<json::value> Num(std::size_t i) const {
    auto n = ToNumberValue(args[i]);
    if (!n.ok()) return Error("argument " + std::to_string(i + 1) + ": " + n.status().message());
    return n;
  }
  Result<const json::array*> List(std::size_t i) const {
    if (!args[i].is_array()) {
      return Error("argument " + std::to_string(i + 1) + " must be a list, not " +
                   TypeName(args[i]));
    }
    return &args[i].get_array();
  }
  Result<const json::object*> Map(std::size_t i) const {
    if (!args[i].is_object()) {
      return Error("argument " + std::to_string(i + 1) + " must be a map, not " +
                   TypeName(args[i]));
    }
    return &args[i].get_object();
  }
  Result<json::value> Sized(std::string s) const {
    if (s.size() > kMaxValueBytes) {
      return Error("result longer than " + std::to_string(kMaxValueBytes) + " bytes");
    }
    return json::value(json::string(s));
  }
  Result<json::value> Sized(json::array a) const {
    if (a.size() > kMaxListItems) {
      return Error("result has more than " + std::to_string(kMaxListItems) + " elements");
    }
    return json::value(std::move(a));
  }
};

using Fn = Result<json::value> (*)(const Call&);

struct Spec {
  Fn fn;
  std::size_t min_args;
  std::size_t max_args;  // SIZE_MAX: variadic
};

double AsDouble(const json::value& v) {
  return v.is_int64() ? static_cast<double>(v.get_int64()) : v.to_number<double>();
}

json::value Normal(double d) {
  if (d == std::trunc(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
    return json::value(static_cast<std::int64_t>(d));
  }
  return json::value(d);
}

std::string Transform(std::string s, int (*f)(int)) {
  for (char& c : s) c = static_cast<char>(f(static_cast<unsigned char>(c)));
  return s;
}

Result<json::value> Upper(const Call& c) {
  ASSIGN_OR_RETURN(std::string s, c.Str(0));
  return json::value(json::string(Transform(s, ::toupper)));
}
Result<json::value> Lower(const Call& c) {
  ASSIGN_OR_RETURN(std::string s, c.Str(0));
  return json::value(json::string(Transform(s, ::tolower)));
}
Result<json::value> Title(const Call& c) {
  ASSIGN_OR_RETURN(std::string s, c.Str(0));
  bool start = true;
  for (char& ch : s) {
    if (start && std::isalpha(static_cast<unsigned char>(ch))) ch = static_cast<char>(std::toupper(ch));
    start = std::isspace(static_cast<unsigned char>(ch)) != 0;
  }
  return json::value(json::string(s));
}

bool IsSpace(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f'; }

Result<json::value> TrimSpace(const Call& c) {
  ASSIGN_OR_RETURN(std::string s, c.Str(0));
  std::size_t b = 0, e = s.size();
  while (b < e && IsSpace(s[b])) ++b;
  while (e > b && IsSpace(s[e - 1])) --e;
  return json::value(json::string(s.substr(b, e - b)));
}
Result<json::value> Trim(const Call& c) {
  ASSIGN_OR_RETURN(std::string s, c.Str(0));
  ASSIGN_OR_RETURN(std::string cut, c.Str(1));
  std::size_t b = s.find_first_not_of(cut);
  if (b == std::string::npos) return json::value(json::string());
  std::size_t e = s.find_last_not_of(cut);
  return json::value(json::string(s.substr(b, e + 1 - b)));
}
Result<json::value> TrimPrefix(const Call& c) {
  ASSIGN_OR_RETURN(std::string s, c.Str(0));
  ASSIGN_OR_RETURN(std::string p, c.Str(1));
  if (s.rfind(p, 0) == 0) s.erase(0, p.size());
  return json::value(json::string(s));
}
Result<json::value> TrimSuffix(const Call& c) {
  ASSIGN_OR_RETURN(std::string s, c.Str(0));
  ASSIGN_OR_RETURN(std::string p, c.Str(1));
  if (s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0) {
    s.erase(s.size() - p.size());
  }
  return json::value(json::string(s));
}
Result<json::value> Chomp(const Call& c) {
  ASSIGN_OR_RETURN(std::string s, c.Str(0));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return json::value(json::string(s));
}

Result<json::value> Replace(const Call& c) {
  ASSIGN_OR_RETURN(std::string s, c.Str(0));
  ASSIGN_OR_RETURN(std::string from, c.Str(1));
  ASSIGN_OR_RETURN(std::string to, c.Str(2));
  if (from.size() >= 2 && from.front() == '/' && from.back() == '/') {
    return c.Error("regular expression patterns (\"/.../\") are not supported");
  }
  if (from.empty()) return json::value(json::string(s));
  std::string out;
  std::size_t at = 0;
  for (std::size_t hit; (hit = s.find(from, at)) != std::string::npos; at = hit + from.size()) {
    out.append(s, at, hit - at).append(to);
    if (out.size() > kMaxValueBytes) return c.Sized(std::move(out));
  }
  out.append(s, at);
  return c.Sized(std::move(out));
}

Result<json::value> Substr(const Call& c) {
  ASSIGN_OR_RETURN(std::string s, c.Str(0));
  ASSIGN_OR_RETURN(json::value off, c.Num(1));
  ASSIGN_OR_RETURN(json::value len, c.Num(2));
  if (!off.is_int64() || !len.is_int64()) return c.Error("offset and length must be whole numbers");
  std::int64_t o = off.get_int64(), n = len.get_int64();
  const std::int64_t size = static_cast<std::int64_t>(s.size());
  if (o < 0) o = std::max<std::int64_t>(0, size + o);
  if (o > size) return c.Error("offset is beyond the end of the string");
  if (n < 0 || n > size - o) n = size - o;
  return json::value(json::string(s.substr(static_cast<std::size_t>(o), static_cast<std::size_t>(n))));
}

Result<json::value> Join(const Call& c) {
  ASSIGN_OR_RETURN(std::string sep, c.Str(0));
  std::string out;
  bool first = true;
  for (std::size_t i = 1; i < c.args.size(); ++i) {
    ASSIGN_OR_RETURN(const json::array* list, c.List(i));
    for (const json::value& v : *list) {
      auto s = ToStringValue(v);
      if (!s.ok()) return c.Error(s.status().message());
      if (!first) out += sep;
      first = false;
      out += *s;
      if (out.size() > kMaxValueBytes) return c.Sized(std::move(out));
    }
  }
  return c.Sized(std::move(out));
}

Result<json::value> Split(const Call& c) {
  ASSIGN_OR_RETURN(std::string sep, c.Str(0));
  ASSIGN_OR_RETURN(std::string s, c.Str(1));
  json::array out;
  if (sep.empty()) {
    for (char ch : s) out.emplace_back(json::string(1, ch));
    return c.Sized(std::move(out));
  }
  std::size_t at = 0;
  for (std::size_t hit; (hit = s.find(sep, at)) != std::string::npos; at = hit + sep.size()) {
    out.emplace_back(json::string(s.substr(at, hit - at)));
  }
  out.emplace_back(json::string(s.substr(at)));
  return c.Sized(std::move(out));
}

// Go-style verbs: %s %d %v %q %f %t %%, with an optional width and the
// flags "0" (zero padding for numbers) and "-" (left-justify).
Result<json::value> Format(const Call& c) {
  ASSIGN_OR_RETURN(std::string f, c.Str(0));
  std::string out;
  std::size_t next = 1;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    if (++i >= f.size()) return c.Error("format string ends with \"%\"");
    if (f[i] == '%') {
      out += '%';
      continue;
    }
    bool zero = false, left = false;
    for (; i < f.size() && (f[i] == '0' || f[i] == '-'); ++i) (f[i] == '0' ? zero : left) = true;
    std::size_t width = 0;
    while (i < f.size() && std::isdigit(static_cast<unsigned char>(f[i]))) {
      width = width * 10 + static_cast<std::size_t>(f[i] - '0');
      if (width > 4096) return c.Error("format width too large");
      ++i;
    }
    if (i >= f.size()) return c.Error("format string ends inside a verb");
    if (next >= c.args.size()) return c.Error("not enough arguments for the format string");
    const json::value& v = c.args[next++];
    std::string piece;
    switch (f[i]) {
      case 's':
      case 'v':
      case 't': {
        if (v.is_array() || v.is_object()) {
          piece = json::serialize(v);
        } else {
          auto s = ToStringValue(v);
          if (!s.ok()) return c.Error(s.status().message());
          piece = *s;
        }
        break;
      }
      case 'q': {
        auto s = ToStringValue(v);
        if (!s.ok()) return c.Error(s.status().message());
        piece = json::serialize(json::value(json::string(*s)));
        break;
      }
      case 'd': {
        auto n = ToNumberValue(v);
        if (!n.ok() || !n->is_int64()) return c.Error("%d requires a whole number");
        piece = std::to_string(n->get_int64());
        break;
      }
      case 'f': {
        auto n = ToNumberValue(v);
        if (!n.ok()) return c.Error("%f requires a number");
        char buf[64];
        std::snprintf(buf, sizeof buf, "%f", AsDouble(*n));
        piece = buf;
        break;
      }
      default: return c.Error(std::string("unsupported format verb %") + f[i]);
    }
    if (piece.size() >= width) {
      out += piece;
    } else if (left) {
      out += piece;
      out.append(width - piece.size(), ' ');
    } else if (zero && (f[i] == 'd' || f[i] == 'f')) {
      const std::size_t sign = !piece.empty() && piece[0] == '-' ? 1 : 0;
      out.append(piece, 0, sign);
      out.append(width - piece.size(), '0');
      out.append(piece, sign);
    } else {
      out.append(width - piece.size(), ' ');
      out += piece;
    }
    if (out.size() > kMaxValueBytes) return c.Sized(std::move(out));
  }
  if (next < c.args.size()) return c.Error("too many arguments for the format string");
  return c.Sized(std::move(out));
}

Result<json::value> Concat(const Call& c) {
  json::array out;
  for (std::size_t i = 0; i < c.args.size(); ++i) {
    ASSIGN_OR_RETURN(const json::array* list, c.List(i));
    if (out.size() + list->size() > kMaxListItems) return c.Sized(json::array(kMaxListItems + 1));
    for (const json::value& v : *list) out.push_back(v);
  }
  return c.Sized(std::move(out));
}

Result<json::value> Merge(const Call& c) {
  json::object out;
  for (std::size_t i = 0; i < c.args.size(); ++i) {
    if (c.args[i].is_null()) continue;
    ASSIGN_OR_RETURN(const json::object* m, c.Map(i));
    for (const auto& kv : *m) out[kv.key()] = kv.value();
  }
  return json::value(std::move(out));
}

Result<json::value> Lookup(const Call& c) {
  ASSIGN_OR_RETURN(const json::object* m, c.Map(0));
  ASSIGN_OR_RETURN(std::string key, c.Str(1));
  if (const json::value* v = m->if_contains(key)) return *v;
  if (c.args.size() == 3) return c.args[2];
  return c.Error("the given key " + QuoteForMessage(key) + " does not exist in the map");
}

Result<json::value> Keys(const Call& c) {
  ASSIGN_OR_RETURN(const json::object* m, c.Map(0));
  std::vector<std::string> keys;
  for (const auto& kv : *m) keys.emplace_back(kv.key());
  std::sort(keys.begin(), keys.end());
  json::array out;
  for (auto& k : keys) out.emplace_back(json::string(k));
  return json::value(std::move(out));
}
Result<json::value> Values(const Call& c) {
  ASSIGN_OR_RETURN(const json::object* m, c.Map(0));
  std::map<std::string, json::value> sorted;
  for (const auto& kv : *m) sorted.emplace(std::string(kv.key()), kv.value());
  json::array out;
  for (auto& [k, v] : sorted) out.push_back(v);
  return json::value(std::move(out));
}

Result<json::value> Length(const Call& c) {
  const json::value& v = c.args[0];
  if (v.is_array()) return json::value(static_cast<std::int64_t>(v.get_array().size()));
  if (v.is_object()) return json::value(static_cast<std::int64_t>(v.get_object().size()));
  if (v.is_string()) {  // in code points
    std::int64_t n = 0;
    for (char ch : v.get_string()) n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
    return json::value(n);
  }
  return c.Error("length of a " + TypeName(v) + " is not defined");
}

Result<json::value> Contains(const Call& c) {
  ASSIGN_OR_RETURN(const json::array* list, c.List(0));
  for (const json::value& v : *list) {
    if (v == c.args[1]) return json::value(true);
  }
  return json::value(false);
}

Result<json::value> Element(const Call& c) {
  ASSIGN_OR_RETURN(const json::array* list, c.List(0));
  ASSIGN_OR_RETURN(json::value i, c.Num(1));
  if (list->empty()) return c.Error("cannot use element function with an empty list");
  if (!i.is_int64() || i.get_int64() < 0) return c.Error("index must be a non-negative whole number");
  return (*list)[static_cast<std::size_t>(i.get_int64()) % list->size()];
}

Result<json::value> Coalesce(const Call& c) {
  for (const json::value& v : c.args) {
    if (!v.is_null() && !(v.is_string() && v.get_string().empty())) return v;
  }
  return c.Error("no non-null, non-empty-string arguments");
}
Result<json::value> CoalesceList(const Call& c) {
  for (std::size_t i = 0; i < c.args.size(); ++i) {
    ASSIGN_OR_RETURN(const json::array* list, c.List(i));
    if (!list->empty()) return c.args[i];
  }
  return json::value(json::array());
}

Result<json::value> Compact(const Call& c) {
  ASSIGN_OR_RETURN(const json::array* list, c.List(0));
  json::array out;
  for (const json::value& v : *list) {
    if (!v.is_null() && !(v.is_string() && v.get_string().empty())) out.push_back(v);
  }
  return json::value(std::move(out));
}
Result<json::value> Distinct(const Call& c) {
  ASSIGN_OR_RETURN(const json::array* list, c.List(0));
  if (list->size() > 4096) return c.Error("list too large to deduplicate (4096 elements at most)");
  json::array out;
  for (const json::value& v : *list) {
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  return json::value(std::move(out));
}
Result<json::value> Reverse(const Call& c) {
  ASSIGN_OR_RETURN(const json::array* list, c.List(0));
  json::array out(list->rbegin(), list->rend());
  return json::value(std::move(out));
}
Status FlattenInto(const Call& c, const json::array& list, json::array* out, int depth) {
  if (depth > kMaxDepth) return c.Error("lists nested too deeply");
  for (const json::value& v : list) {
    if (v.is_array()) {
      RETURN_IF_ERROR(FlattenInto(c, v.get_array(), out, depth + 1));
    } else {
      out->push_back(v);
    }
  }
  return Status::Ok();
}
Result<json::value> Flatten(const Call& c) {
  ASSIGN_OR_RETURN(const json::array* list, c.List(0));
  json::array out;
  RETURN_IF_ERROR(FlattenInto(c, *list, &out, 0));
  return json::value(std::move(out));
}
Result<json::value> Range(const Call& c) {
  std::vector<double> n;
  for (std::size_t i = 0; i < c.args.size(); ++i) {
    ASSIGN_OR_RETURN(json::value v, c.Num(i));
    n.push_back(AsDouble(v));
  }
  double start = 0, end = 0, step = 1;
  if (n.size() == 1) end = n[0];
  if (n.size() >= 2) start = n[0], end = n[1];
  if (n.size() == 3) step = n[2];
  if (n.size() < 3 && end < start) step = -1;
  if (step == 0 || (step > 0) != (end >= start)) return c.Error("invalid step");
  const double count = std::ceil((end - start) / step);
  if (count > static_cast<double>(kMaxListItems)) return c.Error("range too large");
  json::array out;
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(count); ++i) {
    out.push_back(Normal(start + static_cast<double>(i) * step));
  }
  return json::value(std::move(out));
}

Result<json::value> MinMax(const Call& c, bool max) {
  if (c.args.empty()) return c.Error("at least one argument is required");
  json::value best;
  for (std::size_t i = 0; i < c.args.size(); ++i) {
    ASSIGN_OR_RETURN(json::value v, c.Num(i));
    if (best.is_null() || (max ? AsDouble(v) > AsDouble(best) : AsDouble(v) < AsDouble(best))) {
      best = v;
    }
  }
  return best;
}
Result<json::value> Min(const Call& c) { return MinMax(c, false); }
Result<json::value> Max(const Call& c) { return MinMax(c, true); }
Result<json::value> Abs(const Call& c) {
  ASSIGN_OR_RETURN(json::value v, c.Num(0));
  return Normal(std::fabs(AsDouble(v)));
}
Result<json::value> Ceil(const Call& c) {
  ASSIGN_OR_RETURN(json::value v, c.Num(0));
  return Normal(std::ceil(AsDouble(v)));
}
Result<json::value> Floor(const Call& c) {
  ASSIGN_OR_RETURN(json::value v, c.Num(0));
  return Normal(std::floor(AsDouble(v)));
}

Result<json::value> ToString(const Call& c) {
  if (c.args[0].is_null()) return json::value(nullptr);
  ASSIGN_OR_RETURN(std::string s, c.Str(0));
  return json::value(json::string(s));
}
Result<json::value> ToNumber(const Call& c) {
  if (c.args[0].is_null()) return json::value(nullptr);
  return c.Num(0);
}
Result<json::value> ToBool(const Call& c) {
  if (c.args[0].is_null()) return json::value(nullptr);
  auto b = ToBoolValue(c.args[0]);
  if (!b.ok()) return c.Error(b.status().message());
  return json::value(*b);
}
Result<json::value> ToList(const Call& c) {
  ASSIGN_OR_RETURN(const json::array* list, c.List(0));
  return json::value(*list);
}
Result<json::value> ToMap(const Call& c) {
  ASSIGN_OR_RETURN(const json::object* m, c.Map(0));
  return json::value(*m);
}

Result<json::value> JsonEncode(const Call& c) {
  return c.Sized(json::serialize(c.args[0]));
}
Result<json::value> JsonDecode(const Call& c) {
  ASSIGN_OR_RETURN(std::string s, c.Str(0));
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = kMaxDepth;
  json::value v = json::parse(s, ec, {}, opts);
  if (ec) return c.Error("invalid JSON: " + ec.message());
  return v;
}

Result<json::value> Base64Encode(const Call& c) {
  ASSIGN_OR_RETURN(std::string s, c.Str(0));
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(s[i]) << 16) |
                       (static_cast<unsigned char>(s[i + 1]) << 8) |
                       static_cast<unsigned char>(s[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += kAlphabet[(n >> k) & 63];
  }
  if (i < s.size()) {
    unsigned n = static_cast<unsigned char>(s[i]) << 16;
    if (i + 1 < s.size()) n |= static_cast<unsigned char>(s[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < s.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return c.Sized(std::move(out));
}

Result<json::value> NoFiles(const Call& c) {
  return c.Error("filesystem functions are disabled: this parser reads no files");
}

const std::map<std::string, Spec, std::less<>>& Library() {
  constexpr std::size_t kAny = SIZE_MAX;
  static const std::map<std::string, Spec, std::less<>> kLibrary = {
      {"abs", {Abs, 1, 1}},
      {"base64encode", {Base64Encode, 1, 1}},
      {"ceil", {Ceil, 1, 1}},
      {"chomp", {Chomp, 1, 1}},
      {"coalesce", {Coalesce, 1, kAny}},
      {"coalescelist", {CoalesceList, 1, kAny}},
      {"compact", {Compact, 1, 1}},
      {"concat", {Concat, 1, kAny}},
      {"contains", {Contains, 2, 2}},
      {"distinct", {Distinct, 1, 1}},
      {"element", {Element, 2, 2}},
      {"file", {NoFiles, 1, 1}},
      {"fileexists", {NoFiles, 1, 1}},
      {"fileset", {NoFiles, 2, 2}},
      {"flatten", {Flatten, 1, 1}},
      {"floor", {Floor, 1, 1}},
      {"format", {Format, 1, kAny}},
      {"join", {Join, 2, kAny}},
      {"jsondecode", {JsonDecode, 1, 1}},
      {"jsonencode", {JsonEncode, 1, 1}},
      {"keys", {Keys, 1, 1}},
      {"length", {Length, 1, 1}},
      {"lookup", {Lookup, 2, 3}},
      {"lower", {Lower, 1, 1}},
      {"max", {Max, 1, kAny}},
      {"merge", {Merge, 0, kAny}},
      {"min", {Min, 1, kAny}},
      {"range", {Range, 1, 3}},
      {"replace", {Replace, 3, 3}},
      {"reverse", {Reverse, 1, 1}},
      {"split", {Split, 2, 2}},
      {"substr", {Substr, 3, 3}},
      {"title", {Title, 1, 1}},
      {"tobool", {ToBool, 1, 1}},
      {"tolist", {ToList, 1, 1}},
      {"tomap", {ToMap, 1, 1}},
      {"tonumber", {ToNumber, 1, 1}},
      {"toset", {Distinct, 1, 1}},
      {"tostring", {ToString, 1, 1}},
      {"trim", {Trim, 2, 2}},
      {"trimprefix", {TrimPrefix, 2, 2}},
      {"trimspace", {TrimSpace, 1, 1}},
      {"trimsuffix", {TrimSuffix, 2, 2}},
      {"upper", {Upper, 1, 1}},
      {"values", {Values, 1, 1}},
  };
  return kLibrary;
}

}  // namespace

Result<json::value> CallFunction(const std::string& name, std::vector<json::value> args, Pos pos,
                                 const EvalContext& ctx) {
  const auto& lib = Library();
  auto it = lib.find(name);
  if (it == lib.end()) {
    return ErrorAt(ctx.filename, pos,
                   "Call to unknown function; There is no function named " +
                       QuoteForMessage(name) + ".");
  }
  const Spec& spec = it->second;
  if (args.size() < spec.min_args || args.size() > spec.max_args) {
    std::string want = std::to_string(spec.min_args);
    if (spec.max_args == SIZE_MAX) {
      want = "at least " + want;
    } else if (spec.max_args != spec.min_args) {
      want += " to " + std::to_string(spec.max_args);
    }
    return ErrorAt(ctx.filename, pos,
                   "Invalid function call; Function " + QuoteForMessage(name) + " expects " +
                       want + " argument(s), got " + std::to_string(args.size()) + ".");
  }
  return spec.fn(Call{name, args, pos, ctx});
}

}  // namespace drover::hcl
