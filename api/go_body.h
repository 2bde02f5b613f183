// A request body read as Go's encoding/json decodes it into one of Nomad's
// request structs (decodeBody in Nomad's HTTP server), with Go's error
// texts, for handlers that take a few fields:
//
//   auto body = GoBody::Parse(req.body(), "api.ScalingRequest");
//   auto count = body->Int("Count");   // "json: cannot unmarshal string into
//                                      //  Go struct field ScalingRequest.Count
//                                      //  of type int64"
//
// As Go: keys match field names exactly or else case-insensitively; a
// missing key or null leaves the zero value; unknown keys are ignored; an
// integer field takes only integral JSON numbers in range. An empty body is
// "Request body is empty" and a body of JSON `null` decodes to all zeros,
// as in Nomad.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "common/status.h"
#include "storage/model.h"

namespace drover::api {

class GoBody {
 public:
  // `go_type` is the Go type's name with its package ("api.ScalingRequest").
  static Result<GoBody> Parse(std::string_view body, std::string go_type);

  Result<std::optional<std::int64_t>> Int(const char* field, const char* go_type = "int64") const;
  Result<std::uint64_t> Uint(const char* field) const;
  Result<std::string> String(const char* field) const;
  Result<bool> Bool(const char* field) const;
  // map[string]string; null or absent: nullopt.
  Result<std::optional<StringMap>> Strings(const char* field) const;
  // map[string]any: any JSON object, kept as text ("null" when absent).
  Result<RawJson> AnyMap(const char* field) const;
  // A nested struct (pointer), `go_type` as "*api.DrainSpec": nullopt when
  // absent or null.
  Result<std::optional<GoBody>> Struct(const char* field, const char* go_type) const;

 private:
  GoBody(boost::json::value value, std::string type_name, std::string path)
      : value_(std::move(value)), type_name_(std::move(type_name)), path_(std::move(path)) {}
  const boost::json::value* Find(const char* field) const;
  Status TypeError(const boost::json::value& v, const char* field, const char* go_type) const;

  boost::json::value value_;  // an object, or null
  std::string type_name_;     // "ScalingRequest": the innermost struct's name in error texts
  std::string path_;          // the field path within it, "" at the top
};

}  // namespace drover::api
