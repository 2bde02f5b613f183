// The client filesystem and logs endpoints (Nomad's /v1/client/fs/...):
//
//   GET /v1/client/fs/ls/:alloc_id?path=        directory listing (JSON)
//   GET /v1/client/fs/stat/:alloc_id?path=      one AllocFileInfo (JSON)
//   GET /v1/client/fs/cat/:alloc_id?path=       a file's bytes
//   GET /v1/client/fs/readat/:alloc_id?path=&offset=&limit=
//   GET /v1/client/fs/stream/:alloc_id?path=&offset=&origin=&follow=
//                                               framed, follows by default
//   GET /v1/client/fs/logs/:alloc_id?task=&type=&offset=&origin=&follow=&plain=
//
// Every path goes through AllocFs (api/alloc_fs.h), which never leaves the
// allocation directory. Framed output is Nomad's: JSON objects
// {"Offset","Data" (base64),"File","FileEvent"} (empty fields omitted)
// written back to back, at most 64 KiB of data each, with a "{}" heartbeat
// every second while idle. plain=true (logs) and cat/readat send the raw
// bytes. Unlike Nomad, a followed log ends once its task is dead and every
// byte was sent, so `follow` cannot hang on a finished task.
//
// Streams go through ChunkedStreams (api/chunked_stream.h): the handler
// validates the request and opens the file on the Pistache worker; the
// body is written on the streams' thread, at most 1 MiB queued per client.
// A client that goes away ends its stream within a second.
#pragma once

#include "api/chunked_stream.h"
#include "api/routes.h"

namespace drover::api {

void AddFsRoutes(RouteTable& routes, ApiContext& ctx, ChunkedStreams& streams);

}  // namespace drover::api
