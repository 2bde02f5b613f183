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
// Threading (STACK.md): a handler validates the request and opens the file
// on the Pistache worker, sends the status line and headers there, then
// hands the stream to FsStreams' own thread, which writes hand-framed
// chunks through a weak_ptr<Tcp::Peer>. At most kMaxInFlight bytes are
// queued on a peer, so a slow reader does not make the agent buffer a whole
// file. A client that goes away ends its stream within a second.
#pragma once

#include <memory>

#include "api/routes.h"

namespace drover::api {

class FsStreams {
 public:
  FsStreams();
  ~FsStreams();  // Shutdown()
  FsStreams(const FsStreams&) = delete;
  FsStreams& operator=(const FsStreams&) = delete;

  // Ends every open stream with the terminating chunk and stops the thread;
  // later streaming requests are answered 503. Call before
  // Http::Endpoint::shutdown(), which would leave the peers dangling.
  void Shutdown();

  class Hub;  // defined in fs_routes.cc
  Hub& hub() { return *hub_; }

 private:
  std::shared_ptr<Hub> hub_;
};

void AddFsRoutes(RouteTable& routes, ApiContext& ctx, FsStreams& streams);

}  // namespace drover::api
