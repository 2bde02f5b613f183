// HTTP plumbing shared by the handlers: query options, JSON replies with
// Nomad's headers, and the one mapping from a Status to an HTTP code.
#pragma once

#include <pistache/http.h>
#include <pistache/router.h>

#include <boost/json/value.hpp>
#include <cstdint>
#include <string>

#include "common/gotime.h"
#include "common/status.h"

namespace drover::api {

namespace Http = Pistache::Http;
namespace Rest = Pistache::Rest;

// Nomad's blocking-query limits: wait defaults to and is capped at 5 min,
// plus up to wait/16 of random jitter.
inline constexpr Nanos kMaxQueryTime = 300 * kSecond;
inline constexpr Nanos kDefaultQueryTime = 300 * kSecond;
inline constexpr int kJitterFraction = 16;

struct QueryOptions {
  std::uint64_t min_index = 0;  // `index`: block until the result passes it
  Nanos wait = 0;               // `wait`, jitter included
  bool pretty = false;
  std::string ns = "default";   // `namespace`
  std::string prefix;
  // The client sent Accept-Encoding with gzip (Go's http client always
  // does): a large JSON answer is compressed, as Nomad's gzip handler does.
  bool gzip = false;
};

// Go's url.QueryUnescape: %XX escapes and '+' for a space. Pistache 0.0.5
// hands query values over exactly as they came on the wire.
Result<std::string> QueryUnescape(std::string_view in);
// Go's url.PathUnescape: %XX escapes only ('+' stays '+').
Result<std::string> PathUnescape(std::string_view in);

// A query parameter, decoded; nullopt when absent. A value with a broken
// escape is dropped, as Go's url.ParseQuery drops it.
std::optional<std::string> QueryParam(const Rest::Request& req, const std::string& name);

// Parses `index`, `wait`, `pretty`, `namespace`, `prefix`. Errors carry
// Nomad's texts ("Invalid index", "Invalid wait time").
Result<QueryOptions> ParseQueryOptions(const Rest::Request& req);

// A query parameter as a bool, Nomad's way: absent -> `fallback`, present
// with no value -> true, else strconv.ParseBool.
Result<bool> QueryBool(const Rest::Request& req, const std::string& name, bool fallback);

int HttpCodeFor(StatusCode code);

// Adds a response header by name (Pistache 0.0.5 drops addRaw() ones from
// responses). `name` must outlive the response: a string literal.
void AddHeader(Http::ResponseWriter& writer, const char* name, std::string value);

// Sends `body` as JSON with Content-Type and, when index > 0, the
// X-Nomad-Index, X-Nomad-KnownLeader and X-Nomad-LastContact headers, and
// X-Nomad-NextToken when `next_token` is not empty.
void SendJson(Http::ResponseWriter& writer, const boost::json::value& body, bool pretty,
              std::uint64_t index, Http::Code code = Http::Code::Ok,
              const std::string& next_token = "");
// The same with a body already encoded as JSON text (200), gzipped as
// SendJson below does when `gzip`.
void SendJsonText(Http::ResponseWriter& writer, const std::string& json, std::uint64_t index,
                  const std::string& next_token = "", bool gzip = false);

// The same, compressed with gzip when `opts.gzip` and the body is at least
// kGzipMinBytes (Nomad's gzip handler's default), indented when
// `opts.pretty`. Answers carry "Vary: Accept-Encoding".
inline constexpr std::size_t kGzipMinBytes = 1400;
void SendJson(Http::ResponseWriter& writer, const boost::json::value& body,
              const QueryOptions& opts, std::uint64_t index, Http::Code code = Http::Code::Ok,
              const std::string& next_token = "");

// Whether an Accept-Encoding value admits gzip ("gzip" or "*", q not 0).
bool AcceptsGzip(std::string_view accept_encoding);

// `data` as one gzip member (RFC 1952), at zlib's fastest level.
Result<std::string> GzipCompress(std::string_view data);

// Sends an empty 200, with the index headers when index > 0: Nomad's answer
// to a write that returns no object (Go clients decode any non-empty body).
void SendEmpty(Http::ResponseWriter& writer, std::uint64_t index,
               Http::Code code = Http::Code::Ok);

// Sends a non-OK status as Nomad does: the code, the message as text.
void SendError(Http::ResponseWriter& writer, const Status& status);

// JSON with four-space indentation, as Nomad's ?pretty.
std::string PrettyJson(const boost::json::value& v);

}  // namespace drover::api
