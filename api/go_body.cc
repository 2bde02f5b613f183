#include "api/go_body.h"

#include <boost/json.hpp>

#include <strings.h>

#include <charconv>
#include <cstring>

#include "storage/codec.h"

namespace drover::api {
namespace {

namespace json = boost::json;

// What Go's decoder calls a JSON value in "cannot unmarshal <kind>".
std::string Kind(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: return "string";
    case json::kind::bool_: return "bool";
    case json::kind::array: return "array";
    case json::kind::object: return "object";
    case json::kind::null: return "null";
    case json::kind::double_: {
      // Go quotes the literal; the shortest text of the double is closest.
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v.get_double());
      return "number " + std::string(buf, end);
    }
    default: return "number " + json::serialize(v);
  }
}

}  // namespace

Result<GoBody> GoBody::Parse(std::string_view body, std::string go_type) {
  if (body.empty()) return InvalidArgument("Request body is empty");
  auto parsed = ParseJson(body);
  if (!parsed.ok()) return InvalidArgument(parsed.status().message());
  std::string name = go_type.substr(go_type.rfind('.') + 1);
  if (!parsed->is_object() && !parsed->is_null()) {
    return InvalidArgument("json: cannot unmarshal " + Kind(*parsed) + " into Go value of type " +
                           go_type);
  }
  return GoBody(std::move(parsed).value(), std::move(name), "");
}

const json::value* GoBody::Find(const char* field) const {
  if (!value_.is_object()) return nullptr;
  const json::object& o = value_.get_object();
  if (const json::value* v = o.if_contains(field)) return v->is_null() ? nullptr : v;
  for (const auto& kv : o) {
    if (kv.key().size() == std::strlen(field) &&
        ::strncasecmp(kv.key().data(), field, kv.key().size()) == 0) {
      return kv.value().is_null() ? nullptr : &kv.value();
    }
  }
  return nullptr;
}

Status GoBody::TypeError(const json::value& v, const char* field, const char* go_type) const {
  return InvalidArgument("json: cannot unmarshal " + Kind(v) + " into Go struct field " +
                         type_name_ + "." + path_ + field + " of type " + go_type);
}

Result<std::optional<std::int64_t>> GoBody::Int(const char* field, const char* go_type) const {
  const json::value* v = Find(field);
  if (v == nullptr) return std::optional<std::int64_t>();
  if (v->is_int64()) return std::optional<std::int64_t>(v->get_int64());
  return TypeError(*v, field, go_type);
}

Result<std::uint64_t> GoBody::Uint(const char* field) const {
  const json::value* v = Find(field);
  if (v == nullptr) return std::uint64_t{0};
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
  return TypeError(*v, field, "uint64");
}

Result<std::string> GoBody::String(const char* field) const {
  const json::value* v = Find(field);
  if (v == nullptr) return std::string();
  if (v->is_string()) return std::string(v->get_string());
  return TypeError(*v, field, "string");
}

Result<bool> GoBody::Bool(const char* field) const {
  const json::value* v = Find(field);
  if (v == nullptr) return false;
  if (v->is_bool()) return v->get_bool();
  return TypeError(*v, field, "bool");
}

Result<std::optional<StringMap>> GoBody::Strings(const char* field) const {
  const json::value* v = Find(field);
  if (v == nullptr) return std::optional<StringMap>();
  if (!v->is_object()) return TypeError(*v, field, "map[string]string");
  StringMap out;
  for (const auto& kv : v->get_object()) {
    if (kv.value().is_null()) {
      out[std::string(kv.key())] = "";
    } else if (kv.value().is_string()) {
      out[std::string(kv.key())] = std::string(kv.value().get_string());
    } else {
      return TypeError(kv.value(), field, "string");
    }
  }
  return std::optional<StringMap>(std::move(out));
}

Result<RawJson> GoBody::AnyMap(const char* field) const {
  const json::value* v = Find(field);
  if (v == nullptr) return RawJson{};
  if (!v->is_object()) return TypeError(*v, field, "map[string]interface {}");
  return RawJson{json::serialize(*v)};
}

Result<std::optional<GoBody>> GoBody::Struct(const char* field, const char* go_type) const {
  const json::value* v = Find(field);
  if (v == nullptr) return std::optional<GoBody>();
  if (!v->is_object()) return TypeError(*v, field, go_type);
  // Go names the innermost struct, then the whole field path:
  // "DrainSpec.DrainSpec.Deadline".
  std::string inner(go_type);
  inner = inner.substr(inner.rfind('.') + 1);
  return std::optional<GoBody>(GoBody(*v, std::move(inner), path_ + field + "."));
}

}  // namespace drover::api
