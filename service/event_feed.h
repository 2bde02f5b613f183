// The event journal as Nomad's event stream serves it: which events a
// subscriber gets (EventSubscription, Nomad's SubscribeRequest) and the
// ndjson lines they go out as, read through Queries::ReadEvents. The HTTP
// side (api/event_stream.cc) parses the request and streams the lines.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "service/acl_policy.h"
#include "storage/model.h"

namespace drover {

// "*": every topic, or every key of a topic.
inline constexpr const char* kEventAll = "*";

struct EventSubscription {
  std::map<std::string, std::vector<std::string>> topics;  // topic -> keys
  std::string ns = "default";  // "*" for every namespace
  std::shared_ptr<const Acl> acl;  // what the subscriber's token may read

  // read-job in the event's namespace; node:read for the Node topic.
  bool Allowed(const Event& e) const;
  // The namespace, the token, and a topic with a matching key (the event's
  // Key or one of its FilterKeys).
  bool Matches(const Event& e) const;
};

// One read of the journal: {"Index": N, "Events": [...]} lines, one per
// index with matching events.
struct EventChunk {
  std::string ndjson;
  std::uint64_t next_index = 0;  // where the next read starts
  bool full = false;             // stopped at max_bytes: more is there now
};

}  // namespace drover
