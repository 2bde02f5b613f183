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
void AddHistoryRoutes(RouteTable& routes, ApiContext& ctx);  // api/history_routes.cc
class ExecSessions;
void AddExecRoutes(RouteTable& routes, ApiContext& ctx, ExecSessions& sessions);

// Helpers shared by the handler groups.
boost::json::value AllocStub(const Allocation& alloc, bool task_states, bool resources);

// What a blocking query asks, for sharing its runs among waiters: the
// path, every query parameter but `index`, `wait` and `pretty`, and the
// token's scope.
std::string QueryIdentity(const Rest::Request& req, const RequestAuth& auth);

// Reads a `:param` from the path without Pistache's lexical cast.
std::string PathParam(const Rest::Request& req, const char* name);

}  // namespace drover::api
