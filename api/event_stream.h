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
// The stream goes through ChunkedStreams (api/chunked_stream.h): about
// 64 KiB of the journal is read per step and at most 1 MiB is queued per
// client, so a slow reader of a long log of events holds no more than that. The
// journal is read, and each event checked against the subscription and
// the token (read-job in its namespace, node:read for the Node topic),
// below the API: Queries::ReadEvents (service/event_feed.h). A commit
// wakes a caught-up stream through the Queries' watch on every table.
#pragma once

#include "api/chunked_stream.h"
#include "api/routes.h"

namespace drover::api {

// Registers GET /v1/event/stream, served by `streams`.
void AddEventStreamRoutes(RouteTable& routes, ApiContext& ctx, ChunkedStreams& streams);

}  // namespace drover::api
