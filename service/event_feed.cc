// Queries: the event journal, read for the event stream.
#include "service/event_feed.h"

#include <algorithm>
#include <boost/json.hpp>

#include "service/queries.h"
#include "storage/codec.h"
#include "storage/journal.h"

namespace drover {

namespace json = boost::json;

bool EventSubscription::Allowed(const Event& e) const {
  if (e.Topic == "Node") return acl->AllowNodeRead();
  // As Nomad: a variable's event (metadata only) needs `list` on its path.
  if (e.Topic == "Variable") {
    return acl->AllowVariableOperation(e.Namespace.empty() ? "default" : e.Namespace, e.Key,
                                       "list");
  }
  return acl->AllowNamespaceOp(e.Namespace.empty() ? "default" : e.Namespace, "read-job");
}

bool EventSubscription::Matches(const Event& e) const {
  if (ns != kEventAll && !e.Namespace.empty() && e.Namespace != ns) return false;
  if (!Allowed(e)) return false;
  for (const char* topic : {kEventAll, e.Topic.c_str()}) {
    auto it = topics.find(topic);
    if (it == topics.end()) continue;
    for (const std::string& key : it->second) {
      if (key == kEventAll || key == e.Key) return true;
      if (std::find(e.FilterKeys.begin(), e.FilterKeys.end(), key) != e.FilterKeys.end())
        return true;
    }
  }
  return false;
}

Result<EventChunk> Queries::ReadEvents(const EventSubscription& sub, std::uint64_t from,
                                       std::size_t max_bytes) const {
  EventChunk chunk;
  chunk.next_index = from;
  std::string& out = chunk.ndjson;
  std::uint64_t group_index = 0;
  json::array group;
  auto flush = [&] {
    if (!group.empty()) {
      json::object line{{"Index", group_index}, {"Events", std::move(group)}};
      out += json::serialize(line);
      out += '\n';
      group = json::array();
    }
    if (group_index >= chunk.next_index) chunk.next_index = group_index + 1;
  };
  // ScanJournal hands over whole indexes, so a group is never cut short.
  RETURN_IF_ERROR(ScanJournal(store_, from, [&](const Event& e) -> Result<bool> {
    if (e.Index != group_index) {
      flush();
      if (out.size() >= max_bytes) {
        chunk.full = true;
        return false;  // the rest at the next read, when the client keeps up
      }
      group_index = e.Index;
    }
    if (sub.Matches(e)) group.push_back(ToJson(e));
    return true;
  }));
  if (!chunk.full) flush();
  return chunk;
}

}  // namespace drover
