// GET /v1/event/stream: Nomad's event stream, fed from the durable journal.
//
// The response is chunked newline-delimited JSON: one
// {"Index": N, "Events": [...]} line per journal index that has matching
// events, and a "{}" heartbeat line every 10 s. Query parameters as Nomad:
//
//   topic      "Topic" or "Topic:Key" (Key "*" = every key); Topic "*" is
//              every topic. A key matches an event's Key or one of its
//              FilterKeys (an allocation's or evaluation's job ID). Absent:
//              everything. Pistache 0.0.5 keeps only the first of repeated
//              query parameters, so one `topic` per request is honoured.
//   index      resume: events with Index >= index (Nomad's rule). 0 or
//              absent: from the oldest entry the journal retains. Unlike
//              Nomad's in-memory buffer, an index past the head waits for
//              new events instead of repeating the last one.
//   namespace  events of this namespace and namespace-less ones (nodes);
//              "*" for all. Default "default".
//
// Threading (see STACK.md): the handler sends the status line and headers
// on the Pistache worker thread, then the stream lives on this hub's own
// thread, which writes hand-framed chunks through a weak_ptr<Tcp::Peer>.
// A commit wakes it through StateStore::Watch on every table. A client
// that goes away ends its stream at the next write (at most one heartbeat
// later).
#pragma once

#include <memory>

#include "api/routes.h"

namespace drover::api {

class EventStreams {
 public:
  explicit EventStreams(StateStore& store);
  ~EventStreams();  // Shutdown()
  EventStreams(const EventStreams&) = delete;
  EventStreams& operator=(const EventStreams&) = delete;

  // Each event is sent only if the token may read it: read-job in its
  // namespace, node:read for the Node topic.
  void Serve(const Rest::Request& req, Http::ResponseWriter& writer, const RequestAuth& auth);

  // Ends every open stream with the terminating chunk and stops the hub's
  // thread; later requests are answered 503. Call before
  // Http::Endpoint::shutdown(), which would leave the peers dangling.
  void Shutdown();

 private:
  class Hub;
  std::shared_ptr<Hub> hub_;
};

// Registers GET /v1/event/stream, served by `streams`.
void AddEventStreamRoutes(RouteTable& routes, ApiContext& ctx, EventStreams& streams);

}  // namespace drover::api
