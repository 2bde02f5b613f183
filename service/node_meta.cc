#include "service/node_meta.h"

#include <boost/json.hpp>

#include "storage/codec.h"

namespace drover {
namespace {

namespace json = boost::json;

constexpr const char* kDynamicMetaKey = "node_meta/dynamic";

bool IdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool IdentContinue(char c) { return IdentStart(c) || (c >= '0' && c <= '9') || c == '-'; }

}  // namespace

bool IsHclIdentifier(std::string_view part) {
  if (part.empty() || !IdentStart(part.front())) return false;
  for (char c : part.substr(1)) {
    if (!IdentContinue(c)) return false;
  }
  return true;
}

Status ValidateNodeMetaUpdate(const DynamicMeta& update) {
  if (update.empty()) return InvalidArgument("missing required Meta object");
  for (const auto& [key, value] : update) {
    if (key.empty()) return InvalidArgument("metadata keys must not be empty");
    std::string_view rest = key;
    for (;;) {
      std::size_t dot = rest.find('.');
      if (!IsHclIdentifier(rest.substr(0, dot))) {
        return InvalidArgument("\"" + key +
                               "\" is invalid; metadata keys must be valid dotted hcl identifiers");
      }
      if (dot == std::string_view::npos) break;
      rest.remove_prefix(dot + 1);
    }
  }
  return Status::Ok();
}

StringMap MergeNodeMeta(const StringMap& statics, const DynamicMeta& dynamic) {
  StringMap merged = statics;
  for (const auto& [key, value] : dynamic) {
    if (value) {
      merged[key] = *value;
    } else {
      merged.erase(key);
    }
  }
  return merged;
}

std::string EncodeDynamicMeta(const DynamicMeta& dynamic) {
  json::object out;
  for (const auto& [key, value] : dynamic) {
    if (value) {
      out[key] = *value;
    } else {
      out[key] = nullptr;
    }
  }
  return json::serialize(out);
}

Result<DynamicMeta> DecodeDynamicMeta(std::string_view text) {
  ASSIGN_OR_RETURN(json::value v, ParseJson(text));
  if (!v.is_object()) return InvalidArgument("dynamic node metadata: expected an object");
  DynamicMeta out;
  for (const auto& kv : v.get_object()) {
    std::string key(kv.key());
    if (kv.value().is_null()) {
      out[key] = std::nullopt;
    } else if (kv.value().is_string()) {
      out[key] = std::string(kv.value().get_string());
    } else {
      return InvalidArgument("dynamic node metadata: \"" + key + "\" must be a string or null");
    }
  }
  return out;
}

Result<DynamicMeta> LoadDynamicMeta(const StateStore& store) {
  ASSIGN_OR_RETURN(std::optional<std::string> text, store.GetMeta(kDynamicMetaKey));
  if (!text) return DynamicMeta{};
  return DecodeDynamicMeta(*text);
}

Result<NodeMetaView> ReadNodeMeta(const StateStore& store, const StringMap& statics) {
  ASSIGN_OR_RETURN(DynamicMeta dynamic, LoadDynamicMeta(store));
  StringMap merged = MergeNodeMeta(statics, dynamic);
  return NodeMetaView{std::move(merged), std::move(dynamic), statics};
}

Result<NodeMetaView> ApplyNodeMeta(StateStore& store, const std::string& node_id,
                                   const StringMap& statics, const DynamicMeta& update) {
  RETURN_IF_ERROR(ValidateNodeMetaUpdate(update));
  NodeMetaView view;
  view.statics = statics;
  // Apply() serialises writers, so reading inside it is read-modify-write.
  auto committed = store.Apply([&](WriteTxn& txn) -> Status {
    ASSIGN_OR_RETURN(DynamicMeta dynamic, LoadDynamicMeta(store));
    ASSIGN_OR_RETURN(std::optional<Node> node, store.GetNode(node_id));
    if (!node) return NotFound("Unknown node " + node_id);
    for (const auto& [key, value] : update) {
      if (value || statics.count(key) > 0) {
        dynamic[key] = value;
      } else {
        dynamic.erase(key);  // nothing static to hide: forget the tombstone
      }
    }
    node->Meta = MergeNodeMeta(statics, dynamic);
    node->ModifyIndex = txn.index();
    txn.PutMeta(kDynamicMetaKey, EncodeDynamicMeta(dynamic));
    txn.PutNode(*node);
    txn.AddEvent(MakeEvent("Node", "NodeRegistration", node->ID, "", EncodeJson(*node)));
    view.meta = node->Meta;
    view.dynamic = std::move(dynamic);
    return Status::Ok();
  });
  RETURN_IF_ERROR(committed.status());
  return view;
}

}  // namespace drover
