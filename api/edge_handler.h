// The Pistache side of the HTTP edge: a handler that frames each request
// with HttpRequestFramer (api/http_edge.h) before Pistache's parser sees it.
//
// Per connection it buffers the bytes of the request in progress (at most
// the head limit plus the body limit; nothing is reserved from an announced
// length) and hands Pistache one whole request at a time. A rejected
// request is answered at once with a plain-text error and
// "Connection: close"; the write side is then shut, further input is
// discarded (up to 1 MiB, then the read side is shut too) so the client
// reads the answer instead of a reset.
//
// Connections are counted across worker threads. At `max_connections`, a
// new connection first closes the oldest connection that has not finished a
// request yet (an idle or slow client); when there is none, the new
// connection is answered 503 and closed. Keep `max_connections` below the
// fd limit so that accept() keeps working (api/fd_limits.h).
#pragma once

#include <cstddef>
#include <memory>

#include "api/http_edge.h"

namespace Pistache::Http {
class Handler;
}
namespace Pistache::Rest::Private {
class RouterHandler;
}

namespace drover::api {

struct EdgeOptions {
  EdgeLimits limits;
  std::size_t max_connections = 1 << 16;
};

// The size to give Pistache's maxRequestSize: any request the framer lets
// through fits (head, body, chunk framing).
std::size_t EdgeMaxRequestBytes(const EdgeLimits& limits);

// A handler for Http::Endpoint::setHandler that forwards well-formed
// requests to `inner` (a clone per worker thread, as Pistache clones
// handlers).
std::shared_ptr<Pistache::Http::Handler> MakeEdgeHandler(
    std::shared_ptr<Pistache::Rest::Private::RouterHandler> inner, EdgeOptions options);

}  // namespace drover::api
