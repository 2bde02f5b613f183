#include "api/server.h"

#include <pistache/endpoint.h>
#include <pistache/router.h>

#include "api/blocking.h"
#include "api/edge_handler.h"
#include "api/event_stream.h"
#include "api/exec_session.h"
#include "api/fd_limits.h"
#include "api/fs_routes.h"
#include "api/routes.h"
#include "common/log.h"

namespace drover::api {

namespace {

// Nomad accepts job bodies far beyond Pistache's 4 KiB default; the edge
// (api/http_edge.h) enforces 64 KiB of head and 4 MiB of body.
const EdgeLimits kEdgeLimits;

}  // namespace

struct Server::Impl {
  explicit Impl(Agent& a)
      : agent(a), guard(a), blocking(a.queries()), ctx{a, blocking} {}

  Agent& agent;
  RequestGuard guard;
  BlockingQueries blocking;
  ChunkedStreams streams;  // event, fs and log streams
  ExecSessions exec_sessions;
  ApiContext ctx;
  Rest::Router router;
  std::unique_ptr<Http::Endpoint> endpoint;
  bool running = false;
};

Server::Server(Agent& agent) : impl_(std::make_unique<Impl>(agent)) {}

Server::~Server() { Shutdown(); }

Status Server::Start(const std::string& addr, int threads) {
  RouteTable routes;
  AddAllocRoutes(routes, impl_->ctx);
  AddJobRoutes(routes, impl_->ctx);
  AddAgentRoutes(routes, impl_->ctx);
  AddClientRoutes(routes, impl_->ctx);
  AddEventStreamRoutes(routes, impl_->ctx, impl_->streams);
  AddFsRoutes(routes, impl_->ctx, impl_->streams);
  AddAclRoutes(routes, impl_->ctx);
  AddMetricsRoutes(routes, impl_->ctx);
  AddParseRoutes(routes, impl_->ctx);
  AddNamespaceRoutes(routes, impl_->ctx);
  AddVariableRoutes(routes, impl_->ctx);
  AddJobOpsRoutes(routes, impl_->ctx);
  AddNodeRoutes(routes, impl_->ctx);
  AddDeploymentRoutes(routes, impl_->ctx);
  AddJobVersionRoutes(routes, impl_->ctx);
  AddHistoryRoutes(routes, impl_->ctx);
  AddUiRoutes(routes, impl_->ctx);
  AddExecRoutes(routes, impl_->ctx, impl_->exec_sessions);
  RETURN_IF_ERROR(routes.Install(impl_->router, impl_->guard));
  impl_->router.addNotFoundHandler([](const Rest::Request&, Http::ResponseWriter w) {
    w.headers().add<Http::Header::ContentType>(MIME(Text, Plain));
    w.send(Http::Code::Not_Found, "404 page not found\n");
    return Rest::Route::Result::Ok;
  });

  try {
    Pistache::Address address(addr);
    impl_->endpoint = std::make_unique<Http::Endpoint>(address);
    auto opts = Http::Endpoint::options()
                    .threads(threads)
                    .flags(Pistache::Tcp::Options::ReuseAddr |
                           Pistache::Tcp::Options::CloseOnExec)
                    .maxRequestSize(EdgeMaxRequestBytes(kEdgeLimits))
                    // Parked blocking queries are idle connections: keep them
                    // past the longest wait (5 min + jitter).
                    .keepaliveTimeout(std::chrono::seconds(360));
    impl_->endpoint->init(opts);
    impl_->endpoint->setHandler(MakeEdgeHandler(
        impl_->router.handler(), {kEdgeLimits, ConnectionBudget(CurrentFdLimit())}));
    impl_->endpoint->serveThreaded();
  } catch (const std::exception& ex) {
    return Unavailable("http: cannot serve on " + addr + ": " + ex.what());
  }
  impl_->running = true;
  log::Info("http: serving on " + addr);
  return Status::Ok();
}

void Server::Shutdown() {
  if (!impl_->running) return;
  impl_->running = false;
  impl_->blocking.Shutdown();
  impl_->streams.Shutdown();
  impl_->exec_sessions.Shutdown();
  impl_->endpoint->shutdown();
}

}  // namespace drover::api
