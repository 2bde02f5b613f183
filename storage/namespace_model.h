// Namespaces and variables, in the shape of Nomad's structs.Namespace and
// structs.VariableDecrypted, and their JSON.
//
// The stored form is the JSON the API shows (Items included: Drover keeps
// variables in clear in its data dir, where Nomad encrypts them with its
// keyring). Decoding the stored form is strict; decoding a request body is
// lenient as Go's encoding/json is (unknown keys ignored), and a value of the
// wrong type is an InvalidArgument naming the field, in Go's words.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/gotime.h"
#include "common/status.h"

namespace drover {

inline constexpr const char* kDefaultNamespace = "default";
inline constexpr const char* kDefaultNamespaceDescription = "Default shared namespace";

struct NamespaceCapabilities {
  std::vector<std::string> EnabledTaskDrivers;
  std::vector<std::string> DisabledTaskDrivers;
  std::vector<std::string> EnabledNetworkModes;
  std::vector<std::string> DisabledNetworkModes;
  friend bool operator==(const NamespaceCapabilities&, const NamespaceCapabilities&) = default;
};

struct Namespace {
  std::string Name;
  std::string Description;
  std::string Quota;
  std::optional<NamespaceCapabilities> Capabilities;
  // Nomad Enterprise's blocks: CE refuses a namespace that sets one
  // ("Node Pools Governance is unlicensed."); only their presence is kept.
  bool HasNodePoolConfiguration = false;
  bool HasVaultConfiguration = false;
  bool HasConsulConfiguration = false;
  std::optional<std::map<std::string, std::string>> Meta;
  std::optional<std::map<std::string, std::string>> RequiredExtraClaims;
  std::optional<std::map<std::string, std::string>> OptionalExtraClaims;
  std::uint64_t CreateIndex = 0;
  std::uint64_t ModifyIndex = 0;
  friend bool operator==(const Namespace&, const Namespace&) = default;
};

// The JSON Nomad answers (Hash: base64 of a digest of the user's fields).
boost::json::value NamespaceToJson(const Namespace& ns);
std::string EncodeNamespace(const Namespace& ns);
// A request body or a stored namespace.
Result<Namespace> NamespaceFromJson(const boost::json::value& v);
Result<Namespace> DecodeNamespace(std::string_view json);

struct VariableLock {
  std::string ID;
  Nanos TTL = 0;        // JSON: a Go duration text ("15s"), "" for 0
  Nanos LockDelay = 0;  // the same
  friend bool operator==(const VariableLock&, const VariableLock&) = default;
};

// VariableMetadata: what lists show.
struct VariableMeta {
  std::string Namespace;
  std::string Path;
  std::optional<VariableLock> Lock;
  std::uint64_t CreateIndex = 0;
  std::int64_t CreateTime = 0;  // Unix ns
  std::uint64_t ModifyIndex = 0;
  std::int64_t ModifyTime = 0;
  friend bool operator==(const VariableMeta&, const VariableMeta&) = default;
};

struct Variable {
  VariableMeta Meta;
  // Absent (Go's nil) and empty differ for a lock release, which refuses
  // any Items key with a value.
  std::optional<std::map<std::string, std::string>> Items;
  friend bool operator==(const Variable&, const Variable&) = default;
};

boost::json::value VariableMetaToJson(const VariableMeta& meta);
// With Items when there are any (Go's omitempty).
boost::json::value VariableToJson(const Variable& v);
std::string EncodeVariable(const Variable& v);
Result<Variable> VariableFromJson(const boost::json::value& v);
Result<Variable> DecodeVariable(std::string_view json);

}  // namespace drover
