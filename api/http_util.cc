#include "api/http_util.h"

#include <boost/json.hpp>
#include <charconv>
#include <random>

namespace drover::api {
namespace {

namespace json = boost::json;

std::optional<std::string> Param(const Rest::Request& req, const std::string& name) {
  return QueryParam(req, name);
}

// A response header with a fixed name. Pistache 0.0.5 does not write
// headers added with addRaw() into responses; typed ones it does.
class NamedHeader : public Http::Header::Header {
 public:
  NamedHeader(const char* name, std::string value) : name_(name), value_(std::move(value)) {}
  const char* name() const override { return name_; }
  std::uint64_t hash() const override { return Http::Header::detail::hash(name_); }
  void write(std::ostream& os) const override { os << value_; }

 private:
  const char* name_;
  std::string value_;
};

void PrettyInto(const json::value& v, int depth, std::string& out) {
  auto indent = [&](int d) { out.append(static_cast<size_t>(d) * 4, ' '); };
  switch (v.kind()) {
    case json::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      bool first = true;
      for (const auto& kv : o) {
        if (!first) out += ",\n";
        first = false;
        indent(depth + 1);
        out += json::serialize(json::value(kv.key()));
        out += ": ";
        PrettyInto(kv.value(), depth + 1, out);
      }
      out += "\n";
      indent(depth);
      out += "}";
      return;
    }
    case json::kind::array: {
      const auto& a = v.get_array();
      if (a.empty()) {
        out += "[]";
        return;
      }
      out += "[\n";
      for (size_t i = 0; i < a.size(); ++i) {
        if (i > 0) out += ",\n";
        indent(depth + 1);
        PrettyInto(a[i], depth + 1, out);
      }
      out += "\n";
      indent(depth);
      out += "]";
      return;
    }
    default:
      out += json::serialize(v);
  }
}

}  // namespace

namespace {

Result<std::string> Unescape(std::string_view in, bool plus_is_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+' && plus_is_space) {
      out += ' ';
    } else if (in[i] != '%') {
      out += in[i];
    } else if (i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out += static_cast<char>(hex(in[i + 1]) << 4 | hex(in[i + 2]));
      i += 2;
    } else {
      return InvalidArgument("invalid URL escape \"" + std::string(in.substr(i, 3)) + "\"");
    }
  }
  return out;
}

}  // namespace

Result<std::string> QueryUnescape(std::string_view in) { return Unescape(in, true); }

Result<std::string> PathUnescape(std::string_view in) { return Unescape(in, false); }

std::optional<std::string> QueryParam(const Rest::Request& req, const std::string& name) {
  auto raw = req.query().get(name);
  if (!raw) return std::nullopt;
  auto decoded = QueryUnescape(*raw);
  if (!decoded.ok()) return std::nullopt;
  return std::move(decoded).value();
}

Result<bool> QueryBool(const Rest::Request& req, const std::string& name, bool fallback) {
  if (!req.query().has(name)) return fallback;
  std::string v = Param(req, name).value_or("");
  if (v.empty() || v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True")
    return true;
  if (v == "0" || v == "f" || v == "F" || v == "false" || v == "FALSE" || v == "False")
    return false;
  return InvalidArgument("Failed to parse value of \"" + name + "\" (" + v + ") as a bool");
}

Result<QueryOptions> ParseQueryOptions(const Rest::Request& req) {
  QueryOptions q;
  if (auto index = Param(req, "index"); index && !index->empty()) {
    auto [p, ec] = std::from_chars(index->data(), index->data() + index->size(), q.min_index);
    if (ec != std::errc() || p != index->data() + index->size()) {
      return InvalidArgument("Invalid index");
    }
  }
  Nanos wait = 0;
  if (auto w = Param(req, "wait"); w && !w->empty()) {
    auto parsed = ParseGoDuration(*w);
    if (!parsed.ok()) return InvalidArgument("Invalid wait time");
    wait = *parsed;
  }
  if (q.min_index > 0) {
    if (wait <= 0) wait = kDefaultQueryTime;
    if (wait > kMaxQueryTime) wait = kMaxQueryTime;
    thread_local std::mt19937_64 rng{std::random_device{}()};
    Nanos jitter_max = wait / kJitterFraction;
    if (jitter_max > 0) wait += static_cast<Nanos>(rng() % static_cast<std::uint64_t>(jitter_max));
  }
  q.wait = wait;
  ASSIGN_OR_RETURN(q.pretty, QueryBool(req, "pretty", false));
  if (auto ns = Param(req, "namespace"); ns && !ns->empty()) q.ns = *ns;
  if (auto prefix = Param(req, "prefix")) q.prefix = *prefix;
  return q;
}

int HttpCodeFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kFailedPrecondition: return 400;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kTooLarge: return 413;
    case StatusCode::kResourceExhausted: return 507;  // Insufficient Storage
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

std::string PrettyJson(const json::value& v) {
  std::string out;
  PrettyInto(v, 0, out);
  return out;
}

namespace {

void AddIndexHeaders(Http::ResponseWriter& writer, std::uint64_t index) {
  if (index == 0) return;
  auto& headers = writer.headers();
  headers.add(std::make_shared<NamedHeader>("X-Nomad-Index", std::to_string(index)));
  headers.add(std::make_shared<NamedHeader>("X-Nomad-KnownLeader", "true"));
  headers.add(std::make_shared<NamedHeader>("X-Nomad-LastContact", "0"));
}

}  // namespace

void SendJson(Http::ResponseWriter& writer, const json::value& body, bool pretty,
              std::uint64_t index, Http::Code code, const std::string& next_token) {
  auto& headers = writer.headers();
  headers.add<Http::Header::ContentType>(MIME(Application, Json));
  AddIndexHeaders(writer, index);
  if (!next_token.empty()) {
    headers.add(std::make_shared<NamedHeader>("X-Nomad-NextToken", next_token));
  }
  writer.send(code, pretty ? PrettyJson(body) + "\n" : json::serialize(body));
}

void SendJsonText(Http::ResponseWriter& writer, const std::string& json, std::uint64_t index,
                  const std::string& next_token) {
  auto& headers = writer.headers();
  headers.add<Http::Header::ContentType>(MIME(Application, Json));
  AddIndexHeaders(writer, index);
  if (!next_token.empty()) {
    headers.add(std::make_shared<NamedHeader>("X-Nomad-NextToken", next_token));
  }
  writer.send(Http::Code::Ok, json);
}

void SendEmpty(Http::ResponseWriter& writer, std::uint64_t index) {
  AddIndexHeaders(writer, index);
  writer.send(Http::Code::Ok, "");
}

void SendError(Http::ResponseWriter& writer, const Status& status) {
  writer.headers().add<Http::Header::ContentType>(MIME(Text, Plain));
  writer.send(static_cast<Http::Code>(HttpCodeFor(status.code())), status.message());
}

}  // namespace drover::api
