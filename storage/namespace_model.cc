#include "storage/namespace_model.h"

#include <boost/json.hpp>

#include "common/sha256.h"
#include "common/text.h"

namespace drover {
namespace {

namespace json = boost::json;

using StringMapOpt = std::optional<std::map<std::string, std::string>>;

const char* GoJsonKind(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: return "string";
    case json::kind::bool_: return "bool";
    case json::kind::array: return "array";
    case json::kind::object: return "object";
    case json::kind::null: return "null";
    default: return "number";
  }
}

// Go's encoding/json text for a value of the wrong type.
Status TypeError(const json::value& got, std::string_view field, std::string_view go_type) {
  return InvalidArgument("json: cannot unmarshal " + std::string(GoJsonKind(got)) +
                         " into Go struct field " + std::string(field) + " of type " +
                         std::string(go_type));
}

// A JSON object's members are read by name; null and absent leave the default.
class Reader {
 public:
  Reader(const json::object& obj, std::string path) : obj_(obj), path_(std::move(path)) {}

  const json::value* Find(std::string_view key) const {
    const json::value* v = obj_.if_contains(key);
    return v == nullptr || v->is_null() ? nullptr : v;
  }
  std::string Field(std::string_view key) const { return path_ + "." + std::string(key); }

  Status String(std::string_view key, std::string& out) const {
    const json::value* v = Find(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_string()) return TypeError(*v, Field(key), "string");
    out = std::string(v->get_string());
    return Status::Ok();
  }
  Status U64(std::string_view key, std::uint64_t& out) const {
    const json::value* v = Find(key);
    if (v == nullptr) return Status::Ok();
    if (v->is_uint64()) {
      out = v->get_uint64();
    } else if (v->is_int64() && v->get_int64() >= 0) {
      out = static_cast<std::uint64_t>(v->get_int64());
    } else {
      return TypeError(*v, Field(key), "uint64");
    }
    return Status::Ok();
  }
  Status I64(std::string_view key, std::int64_t& out) const {
    const json::value* v = Find(key);
    if (v == nullptr) return Status::Ok();
    if (v->is_int64()) {
      out = v->get_int64();
    } else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
      out = static_cast<std::int64_t>(v->get_uint64());
    } else {
      return TypeError(*v, Field(key), "int64");
    }
    return Status::Ok();
  }
  Status Strings(std::string_view key, std::vector<std::string>& out) const {
    const json::value* v = Find(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_array()) return TypeError(*v, Field(key), "[]string");
    for (const json::value& e : v->get_array()) {
      if (!e.is_string()) return TypeError(e, Field(key), "string");
      out.emplace_back(e.get_string());
    }
    return Status::Ok();
  }
  Status Map(std::string_view key, StringMapOpt& out, std::string_view go_type) const {
    const json::value* v = Find(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_object()) return TypeError(*v, Field(key), go_type);
    out.emplace();
    for (const auto& kv : v->get_object()) {
      if (!kv.value().is_string()) {
        if (kv.value().is_null()) {
          (*out)[std::string(kv.key())] = "";
          continue;
        }
        return TypeError(kv.value(), Field(key), "string");
      }
      (*out)[std::string(kv.key())] = std::string(kv.value().get_string());
    }
    return Status::Ok();
  }

 private:
  const json::object& obj_;
  std::string path_;
};

json::value StringsJson(const std::vector<std::string>& v) {
  if (v.empty()) return nullptr;  // Go's nil slice
  json::array out;
  for (const auto& s : v) out.emplace_back(s);
  return out;
}

json::value MapJson(const StringMapOpt& m) {
  if (!m) return nullptr;
  json::object out;
  for (const auto& [k, v] : *m) out[k] = v;
  return out;
}

// Nomad hashes the user's fields (blake2b); Drover SHA-256 over the same
// fields, each followed by a zero byte. Only its changing matters.
std::string NamespaceHash(const Namespace& ns) {
  std::string in;
  auto add = [&](std::string_view s) {
    in.append(s);
    in.push_back('\0');
  };
  add(ns.Name);
  add(ns.Description);
  add(ns.Quota);
  if (ns.Capabilities) {
    for (const auto* list : {&ns.Capabilities->EnabledTaskDrivers,
                             &ns.Capabilities->DisabledTaskDrivers,
                             &ns.Capabilities->EnabledNetworkModes,
                             &ns.Capabilities->DisabledNetworkModes}) {
      for (const auto& s : *list) add(s);
      add("|");
    }
  }
  for (const StringMapOpt* m : {&ns.Meta, &ns.RequiredExtraClaims, &ns.OptionalExtraClaims}) {
    if (*m) {
      for (const auto& [k, v] : **m) {
        add(k);
        add(v);
      }
    }
    add("|");
  }
  auto digest = Sha256(in);
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

}  // namespace

json::value NamespaceToJson(const Namespace& ns) {
  json::value caps = nullptr;
  if (ns.Capabilities) {
    caps = json::object{{"EnabledTaskDrivers", StringsJson(ns.Capabilities->EnabledTaskDrivers)},
                        {"DisabledTaskDrivers", StringsJson(ns.Capabilities->DisabledTaskDrivers)},
                        {"EnabledNetworkModes", StringsJson(ns.Capabilities->EnabledNetworkModes)},
                        {"DisabledNetworkModes",
                         StringsJson(ns.Capabilities->DisabledNetworkModes)}};
  }
  return json::object{{"Name", ns.Name},
                      {"Description", ns.Description},
                      {"Quota", ns.Quota},
                      {"Capabilities", caps},
                      {"NodePoolConfiguration", nullptr},
                      {"VaultConfiguration", nullptr},
                      {"ConsulConfiguration", nullptr},
                      {"Meta", MapJson(ns.Meta)},
                      {"Hash", NamespaceHash(ns)},
                      {"CreateIndex", ns.CreateIndex},
                      {"ModifyIndex", ns.ModifyIndex},
                      {"RequiredExtraClaims", MapJson(ns.RequiredExtraClaims)},
                      {"OptionalExtraClaims", MapJson(ns.OptionalExtraClaims)}};
}

std::string EncodeNamespace(const Namespace& ns) { return json::serialize(NamespaceToJson(ns)); }

Result<Namespace> NamespaceFromJson(const json::value& v) {
  if (!v.is_object()) return TypeError(v, "Namespace", "structs.Namespace");
  Reader r(v.get_object(), "Namespace");
  Namespace ns;
  RETURN_IF_ERROR(r.String("Name", ns.Name));
  RETURN_IF_ERROR(r.String("Description", ns.Description));
  RETURN_IF_ERROR(r.String("Quota", ns.Quota));
  if (const json::value* c = r.Find("Capabilities")) {
    if (!c->is_object()) return TypeError(*c, "Namespace.Capabilities", "structs.NamespaceCapabilities");
    Reader cr(c->get_object(), "Namespace.Capabilities");
    NamespaceCapabilities caps;
    RETURN_IF_ERROR(cr.Strings("EnabledTaskDrivers", caps.EnabledTaskDrivers));
    RETURN_IF_ERROR(cr.Strings("DisabledTaskDrivers", caps.DisabledTaskDrivers));
    RETURN_IF_ERROR(cr.Strings("EnabledNetworkModes", caps.EnabledNetworkModes));
    RETURN_IF_ERROR(cr.Strings("DisabledNetworkModes", caps.DisabledNetworkModes));
    ns.Capabilities = std::move(caps);
  }
  struct Block {
    const char* key;
    const char* go_type;
    bool* present;
  };
  for (const Block& b :
       {Block{"NodePoolConfiguration", "structs.NamespaceNodePoolConfiguration",
              &ns.HasNodePoolConfiguration},
        Block{"VaultConfiguration", "structs.NamespaceVaultConfiguration",
              &ns.HasVaultConfiguration},
        Block{"ConsulConfiguration", "structs.NamespaceConsulConfiguration",
              &ns.HasConsulConfiguration}}) {
    if (const json::value* c = r.Find(b.key)) {
      if (!c->is_object()) return TypeError(*c, r.Field(b.key), b.go_type);
      *b.present = true;
    }
  }
  RETURN_IF_ERROR(r.Map("Meta", ns.Meta, "map[string]string"));
  RETURN_IF_ERROR(r.Map("RequiredExtraClaims", ns.RequiredExtraClaims, "map[string]string"));
  RETURN_IF_ERROR(r.Map("OptionalExtraClaims", ns.OptionalExtraClaims, "map[string]string"));
  RETURN_IF_ERROR(r.U64("CreateIndex", ns.CreateIndex));
  RETURN_IF_ERROR(r.U64("ModifyIndex", ns.ModifyIndex));
  return ns;
}

namespace {

// A stored record's JSON; a syntax error is corruption, not bad input.
Result<json::value> ParseRecord(std::string_view text, const char* what) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return Internal(std::string("corrupt ") + what + " record: " + ec.message());
  return v;
}

}  // namespace

Result<Namespace> DecodeNamespace(std::string_view text) {
  ASSIGN_OR_RETURN(json::value v, ParseRecord(text, "namespace"));
  return NamespaceFromJson(v);
}

// ---- Variables ------------------------------------------------------------------

json::value VariableMetaToJson(const VariableMeta& m) {
  json::object out{{"Namespace", m.Namespace}, {"Path", m.Path}};
  if (m.Lock) {
    // Nomad's VariableLock.MarshalJSON: durations as Go text, "" for 0.
    out["Lock"] = json::object{
        {"TTL", m.Lock->TTL == 0 ? std::string() : FormatGoDuration(m.Lock->TTL)},
        {"LockDelay", m.Lock->LockDelay == 0 ? std::string() : FormatGoDuration(m.Lock->LockDelay)},
        {"ID", m.Lock->ID}};
  }
  out["CreateIndex"] = m.CreateIndex;
  out["CreateTime"] = m.CreateTime;
  out["ModifyIndex"] = m.ModifyIndex;
  out["ModifyTime"] = m.ModifyTime;
  return out;
}

json::value VariableToJson(const Variable& v) {
  json::value out = VariableMetaToJson(v.Meta);
  if (v.Items && !v.Items->empty()) out.get_object()["Items"] = MapJson(v.Items);
  return out;
}

std::string EncodeVariable(const Variable& v) { return json::serialize(VariableToJson(v)); }

namespace {

// A lock duration as Nomad's VariableLock.UnmarshalJSON reads it: a Go
// duration text ("" is 0) or a number of nanoseconds; other types ignored.
Status LockDuration(const Reader& r, std::string_view key, Nanos& out) {
  const json::value* v = r.Find(key);
  if (v == nullptr) return Status::Ok();
  if (v->is_string()) {
    if (v->get_string().empty()) return Status::Ok();
    auto d = ParseGoDuration(v->get_string());
    if (!d.ok()) return InvalidArgument(d.status().message());
    out = *d;
  } else if (v->is_number()) {
    double d = v->to_number<double>();
    if (!(d >= -9.2e18 && d <= 9.2e18)) return InvalidArgument("Lock." + std::string(key) + " is out of range");
    out = static_cast<Nanos>(d);
  }
  return Status::Ok();
}

}  // namespace

Result<Variable> VariableFromJson(const json::value& v) {
  if (!v.is_object()) return TypeError(v, "VariableDecrypted", "structs.VariableDecrypted");
  Reader r(v.get_object(), "VariableDecrypted");
  Variable out;
  VariableMeta& m = out.Meta;
  RETURN_IF_ERROR(r.String("Namespace", m.Namespace));
  RETURN_IF_ERROR(r.String("Path", m.Path));
  if (const json::value* l = r.Find("Lock")) {
    if (!l->is_object()) return TypeError(*l, "VariableDecrypted.Lock", "structs.VariableLock");
    Reader lr(l->get_object(), "VariableDecrypted.Lock");
    VariableLock lock;
    RETURN_IF_ERROR(lr.String("ID", lock.ID));
    RETURN_IF_ERROR(LockDuration(lr, "TTL", lock.TTL));
    RETURN_IF_ERROR(LockDuration(lr, "LockDelay", lock.LockDelay));
    m.Lock = std::move(lock);
  }
  RETURN_IF_ERROR(r.U64("CreateIndex", m.CreateIndex));
  RETURN_IF_ERROR(r.I64("CreateTime", m.CreateTime));
  RETURN_IF_ERROR(r.U64("ModifyIndex", m.ModifyIndex));
  RETURN_IF_ERROR(r.I64("ModifyTime", m.ModifyTime));
  RETURN_IF_ERROR(r.Map("Items", out.Items, "structs.VariableItems"));
  return out;
}

Result<Variable> DecodeVariable(std::string_view text) {
  ASSIGN_OR_RETURN(json::value v, ParseRecord(text, "variable"));
  return VariableFromJson(v);
}

}  // namespace drover
