// Node metadata as Nomad's client keeps it (`/v1/client/metadata`).
//
// Static metadata comes from the agent's config file (client.meta) and is
// read at start. Dynamic metadata is set through the API and kept in the
// store (meta "node_meta/dynamic"): a key maps to a value, or to null for a
// tombstone that unsets a static key. The Node's Meta is the merge of the
// two. An update writes the dynamic metadata and the Node in one store
// change, with a "NodeRegistration" journal event carrying the Node (as the
// Node.Register that carries Nomad's dynamic metadata to the servers).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/model.h"
#include "storage/state_store.h"

namespace drover {

// Key -> value, or nullopt: unset (JSON null).
using DynamicMeta = std::map<std::string, std::optional<std::string>>;

// Nomad's NodeMetaResponse.
struct NodeMetaView {
  StringMap meta;       // static merged with dynamic
  DynamicMeta dynamic;  // as set through the API, tombstones included
  StringMap statics;    // from the config file
};

// Nomad's NodeMetaApplyRequest.Validate: a non-empty update whose keys are
// dotted HCL identifiers. Error texts are Nomad's.
Status ValidateNodeMetaUpdate(const DynamicMeta& update);

// One part of a dotted key: an HCL identifier, (ID_Start | '_')
// (ID_Continue | '-')*. Drover accepts ASCII identifiers only.
bool IsHclIdentifier(std::string_view part);

// `statics` with every dynamic value set and every tombstone removed.
StringMap MergeNodeMeta(const StringMap& statics, const DynamicMeta& dynamic);

// {"k": "v", "gone": null}
std::string EncodeDynamicMeta(const DynamicMeta& dynamic);
Result<DynamicMeta> DecodeDynamicMeta(std::string_view text);

// The dynamic metadata in `store` (empty if never set).
Result<DynamicMeta> LoadDynamicMeta(const StateStore& store);

Result<NodeMetaView> ReadNodeMeta(const StateStore& store, const StringMap& statics);

// Validates and applies `update` to the dynamic metadata of node `node_id`,
// as Nomad's NodeMeta.Apply: a null unsets the key; the tombstone is kept
// only when it hides a static key.
Result<NodeMetaView> ApplyNodeMeta(StateStore& store, const std::string& node_id,
                                   const StringMap& statics, const DynamicMeta& update);

}  // namespace drover
