// The route table and the handler groups. Each group registers its paths;
// the server installs them all, answering 405 "Invalid method" for a known
// path with a method it does not take, as Nomad does.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/auth.h"
#include "api/blocking.h"
#include "api/http_util.h"
#include "service/agent.h"

namespace drover::api {

// A handler answers through the writer, or moves it out to answer later
// (blocking queries). The route table has checked the request's origin and
// its token against the route's ACL rule (api/auth.h) before it runs.
using Handler = std::function<void(const Rest::Request&, Http::ResponseWriter&)>;
// A handler that also needs to know who is asking: lists filtered to what
// the token may read, the ACL endpoints.
using AuthHandler =
    std::function<void(const Rest::Request&, Http::ResponseWriter&, const RequestAuth&)>;

struct ApiContext {
  Agent& agent;
  BlockingQueries& blocking;
};

// A path ending in "/**" (e.g. "/v1/var/**") matches any one to 64 more
// segments there; its handler reads them from the request's resource.
class RouteTable {
 public:
  void Add(const std::string& path, std::vector<Http::Method> methods, Handler handler);
  void Add(const std::string& path, std::vector<Http::Method> methods, AuthHandler handler);
  // Registers every path for every method on `router`, each behind `guard`
  // and its ACL rule (AclRuleFor). A route without a rule is an error.
  Status Install(Rest::Router& router, const RequestGuard& guard) const;

 private:
  struct Entry {
    std::string path;
    std::vector<Http::Method> methods;
    AuthHandler handler;
  };
  std::vector<Entry> entries_;
};

void AddAllocRoutes(RouteTable& routes, ApiContext& ctx);
void AddJobRoutes(RouteTable& routes, ApiContext& ctx);
void AddAgentRoutes(RouteTable& routes, ApiContext& ctx);
void AddClientRoutes(RouteTable& routes, ApiContext& ctx);
void AddAclRoutes(RouteTable& routes, ApiContext& ctx);
void AddMetricsRoutes(RouteTable& routes, ApiContext& ctx);
void AddParseRoutes(RouteTable& routes, ApiContext& ctx);  // api/parse_routes.cc
void AddNamespaceRoutes(RouteTable& routes, ApiContext& ctx);  // api/namespace_routes.cc
void AddVariableRoutes(RouteTable& routes, ApiContext& ctx);   // api/variable_routes.cc
// /v1/job/:id/{summary,scale,evaluate,services} (api/job_ops_routes.cc).
void AddJobOpsRoutes(RouteTable& routes, ApiContext& ctx);
// /v1/node/:id/{eligibility,drain,purge} (api/node_routes.cc).
void AddNodeRoutes(RouteTable& routes, ApiContext& ctx);
void AddDeploymentRoutes(RouteTable& routes, ApiContext& ctx);  // api/deployment_routes.cc
void AddJobVersionRoutes(RouteTable& routes, ApiContext& ctx);  // api/job_version_routes.cc
void AddHistoryRoutes(RouteTable& routes, ApiContext& ctx);  // api/history_routes.cc
// The web page at /ui/ and the redirect of / to it (api/ui_routes.cc).
void AddUiRoutes(RouteTable& routes, ApiContext& ctx);
class ExecSessions;
void AddExecRoutes(RouteTable& routes, ApiContext& ctx, ExecSessions& sessions);

// Helpers shared by the handler groups. (AllocStub is service/queries.h's.)

// What a blocking query asks, for sharing its runs among waiters: the
// path, every query parameter but `index`, `wait` and `pretty`, and the
// token's scope.
std::string QueryIdentity(const Rest::Request& req, const RequestAuth& auth);

// The request's `namespace` parameter, "default" when absent or empty.
std::string NamespaceParam(const Rest::Request& req);

// Reads a `:param` from the path without Pistache's lexical cast.
std::string PathParam(const Rest::Request& req, const char* name);

}  // namespace drover::api
