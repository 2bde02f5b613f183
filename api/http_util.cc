#include "api/http_util.h"

#include <zlib.h>

#include <cctype>
#include <limits>

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

void AddHeader(Http::ResponseWriter& writer, const char* name, std::string value) {
  writer.headers().add(std::make_shared<NamedHeader>(name, std::move(value)));
}

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
  if (auto enc = req.headers().tryGetRaw("Accept-Encoding")) q.gzip = AcceptsGzip(enc->value());
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

// JSON text with Nomad's headers; gzipped when `gzip` and large enough.
void SendJsonBytes(Http::ResponseWriter& writer, const std::string& text, std::uint64_t index,
                   Http::Code code, const std::string& next_token, bool gzip) {
  auto& headers = writer.headers();
  headers.add<Http::Header::ContentType>(MIME(Application, Json));
  headers.add(std::make_shared<NamedHeader>("Vary", "Accept-Encoding"));
  AddIndexHeaders(writer, index);
  if (!next_token.empty()) {
    headers.add(std::make_shared<NamedHeader>("X-Nomad-NextToken", next_token));
  }
  if (gzip && text.size() >= kGzipMinBytes) {
    if (auto packed = GzipCompress(text); packed.ok()) {
      headers.add(std::make_shared<NamedHeader>("Content-Encoding", "gzip"));
      writer.send(code, *packed);
      return;
    }
  }
  writer.send(code, text);
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

void SendJson(Http::ResponseWriter& writer, const json::value& body, const QueryOptions& opts,
              std::uint64_t index, Http::Code code, const std::string& next_token) {
  SendJsonBytes(writer, opts.pretty ? PrettyJson(body) + "\n" : json::serialize(body), index,
                code, next_token, opts.gzip);
}

bool AcceptsGzip(std::string_view value) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    auto trim = [](std::string_view v) {
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      return v;
    };
    const std::size_t semi = item.find(';');
    std::string name(trim(item.substr(0, semi)));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name != "gzip" && name != "*") continue;
    if (semi == std::string_view::npos) return true;
    std::string_view param = trim(item.substr(semi + 1));
    if (param.size() < 2 || (param[0] != 'q' && param[0] != 'Q') || param[1] != '=') return true;
    param.remove_prefix(2);
    // q=0, q=0., q=0.0, ... refuse it; any other weight admits it.
    bool zero = !param.empty() && param[0] == '0';
    for (std::size_t i = 1; zero && i < param.size(); ++i) {
      zero = param[i] == '0' || (i == 1 && param[i] == '.');
    }
    if (!zero) return true;
  }
  return false;
}

Result<std::string> GzipCompress(std::string_view data) {
  if (data.size() > std::numeric_limits<uInt>::max()) return ResourceExhausted("gzip: body too large");
  z_stream z{};
  // 15 window bits + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Internal("gzip: deflateInit2 failed");
  }
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  const std::size_t written = out.size() - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return Internal("gzip: deflate did not finish");
  out.resize(written);
  return out;
}

void SendJsonText(Http::ResponseWriter& writer, const std::string& json, std::uint64_t index,
                  const std::string& next_token, bool gzip) {
  SendJsonBytes(writer, json, index, Http::Code::Ok, next_token, gzip);
}

void SendEmpty(Http::ResponseWriter& writer, std::uint64_t index, Http::Code code) {
  AddIndexHeaders(writer, index);
  writer.send(code, "");
}

void SendError(Http::ResponseWriter& writer, const Status& status) {
  writer.headers().add<Http::Header::ContentType>(MIME(Text, Plain));
  writer.send(static_cast<Http::Code>(HttpCodeFor(status.code())), status.message());
}

}  // namespace drover::api
