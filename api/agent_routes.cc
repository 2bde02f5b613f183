// /v1/agent/self, /v1/status/{leader,peers}, /v1/nodes, /v1/node/:node_id,
// and the cluster views of a one-node cluster: /v1/agent/members,
// /v1/agent/health, /v1/regions, /v1/operator/raft/configuration.
#include <boost/json.hpp>

#include "api/routes.h"
#include "storage/codec.h"

namespace drover::api {
namespace {

namespace json = boost::json;

std::pair<std::string, std::int64_t> SplitAddr(const std::string& addr) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) return {addr, 4646};
  return {addr.substr(0, colon), std::atoll(addr.c_str() + colon + 1)};
}

void AgentSelf(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto pretty = QueryBool(req, "pretty", false);
  if (!pretty.ok()) return SendError(writer, pretty.status());
  const AgentConfig& c = ctx.agent.config();
  const Node& node = ctx.agent.node();
  auto [host, port] = SplitAddr(c.http_addr);
  json::object config{
      {"Region", c.region},
      {"Datacenter", node.Datacenter},
      {"NodeName", node.Name},
      {"DataDir", c.data_dir},
      {"DevMode", c.dev},
      {"Version", json::object{{"Version", c.version}, {"VersionPrerelease", ""},
                               {"VersionMetadata", ""}, {"Revision", ""}}},
      {"Addresses", json::object{{"HTTP", host}}},
      {"Ports", json::object{{"HTTP", port}}},
      {"Client", json::object{{"Enabled", true}, {"NodeClass", node.NodeClass},
                              {"Meta", ToJson(node).get_object()["Meta"]}}},
      {"Server", json::object{{"Enabled", false}}},
  };
  json::object member{
      {"Name", node.Name + "." + c.region},
      {"Addr", host},
      {"Port", port},
      {"Status", "alive"},
      {"Tags", json::object{{"region", c.region}, {"dc", node.Datacenter},
                            {"build", c.version}, {"role", "client"}}}};
  json::object stats{
      {"client", json::object{{"node_id", node.ID},
                              {"known_servers", c.http_addr},
                              {"num_allocations", std::to_string(ctx.agent.RunningAllocs())},
                              {"last_heartbeat", "0"},
                              {"heartbeat_ttl", "0"}}},
      {"nomad", json::object{{"server", "false"}, {"leader", "false"},
                             {"known_regions", "1"}}},
  };
  json::object body{{"config", std::move(config)},
                    {"member", std::move(member)},
                    {"stats", std::move(stats)}};
  SendJson(writer, body, *pretty, 0);
}

// Nomad's ServerMembers: this agent is the one member. Drover has no RPC or
// gossip port; the HTTP address stands in for both, as in /v1/status/leader.
void AgentMembers(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto pretty = QueryBool(req, "pretty", false);
  if (!pretty.ok()) return SendError(writer, pretty.status());
  const AgentConfig& c = ctx.agent.config();
  const Node& node = ctx.agent.node();
  auto [host, port] = SplitAddr(c.http_addr);
  json::object tags{{"role", "nomad"},          {"region", c.region},
                    {"dc", node.Datacenter},    {"build", c.version},
                    {"id", node.ID},            {"rpc_addr", host},
                    {"port", std::to_string(port)}, {"raft_vsn", "3"},
                    {"bootstrap", "1"}};
  json::object member{{"Name", node.Name + "." + c.region},
                      {"Addr", host},
                      {"Port", port},
                      {"Tags", std::move(tags)},
                      {"Status", "alive"},
                      {"ProtocolMin", 1},
                      {"ProtocolMax", 5},
                      {"ProtocolCur", 2},
                      {"DelegateMin", 2},
                      {"DelegateMax", 5},
                      {"DelegateCur", 4}};
  json::object body{{"ServerName", node.Name},
                    {"ServerRegion", c.region},
                    {"ServerDC", node.Datacenter},
                    {"Members", json::array{std::move(member)}}};
  SendJson(writer, body, *pretty, 0);
}

// Nomad's health answer: lower-case keys; `?type=client|server` narrows it.
// Both sides are this process, so a request that is answered is healthy.
void AgentHealth(const Rest::Request& req, Http::ResponseWriter& writer) {
  bool client = true, server = true;
  if (auto type = QueryParam(req, "type")) {
    client = *type == "client";
    server = *type == "server";
  }
  json::object body;
  const json::object ok{{"ok", true}, {"message", "ok"}};
  if (client) body["client"] = ok;
  if (server) body["server"] = ok;
  SendJson(writer, body, false, 0);
}

// One voter, the leader: this agent.
void RaftConfiguration(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto pretty = QueryBool(req, "pretty", false);
  if (!pretty.ok()) return SendError(writer, pretty.status());
  const Node& node = ctx.agent.node();
  json::object server{{"ID", node.ID},
                      {"Node", node.Name + "." + ctx.agent.config().region},
                      {"Address", ctx.agent.config().http_addr},
                      {"Leader", true},
                      {"Voter", true},
                      {"RaftProtocol", "3"}};
  SendJson(writer, json::object{{"Servers", json::array{std::move(server)}}, {"Index", 1}},
           *pretty, 0);
}

json::value NodeStub(const Node& n) {
  json::value full = ToJson(n);
  json::object& f = full.get_object();
  json::object stub;
  auto [host, port] = SplitAddr(n.HTTPAddr);
  stub["Address"] = host;
  for (const char* field : {"ID", "Datacenter", "Name", "NodeClass", "NodePool", "Drain",
                            "SchedulingEligibility", "Status", "StatusDescription", "Drivers",
                            "CreateIndex", "ModifyIndex"}) {
    if (auto* v = f.if_contains(field)) stub[field] = *v;
  }
  stub["Version"] = n.Attributes.count("nomad.version") ? n.Attributes.at("nomad.version") : "";
  stub["Attributes"] = nullptr;
  stub["NodeResources"] = nullptr;
  stub["ReservedResources"] = nullptr;
  stub["LastDrain"] = f.contains("LastDrain") ? f.at("LastDrain") : json::value(nullptr);
  return stub;
}

void ListNodes(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  StateStore& store = ctx.agent.store();
  std::string prefix = opts->prefix;
  auto query = [&store, prefix]() -> Result<Reply> {
    Reply reply;
    reply.index = store.TableIndex(Table::kNodes);
    ASSIGN_OR_RETURN(std::vector<Node> nodes, store.ListNodes());
    json::array out;
    for (const Node& n : nodes) {
      if (n.ID.rfind(prefix, 0) == 0) out.push_back(NodeStub(n));
    }
    reply.body = std::move(out);
    return reply;
  };
  ctx.blocking.Serve(*opts, {Table::kNodes}, std::move(query), std::move(writer));
}

void GetNode(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  StateStore& store = ctx.agent.store();
  std::string id = PathParam(req, ":node_id");
  auto query = [&store, id]() -> Result<Reply> {
    ASSIGN_OR_RETURN(std::optional<Node> node, store.GetNode(id));
    if (!node) return NotFound("node not found");
    return Reply{node->ModifyIndex, ToJson(*node)};
  };
  ctx.blocking.Serve(*opts, {Table::kNodes}, std::move(query), std::move(writer));
}

void NodeAllocations(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer,
                     const RequestAuth& auth) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  StateStore& store = ctx.agent.store();
  std::string id = PathParam(req, ":node_id");
  // node:read lets the request in; each allocation needs read-job in its
  // own namespace.
  NamespaceView view("*", auth, "read-job");
  auto query = [&store, id, view]() -> Result<Reply> {
    ASSIGN_OR_RETURN(std::optional<Node> node, store.GetNode(id));
    if (!node) return NotFound("node not found");
    ASSIGN_OR_RETURN(std::vector<Allocation> allocs, store.ListAllocs());
    json::array out;
    for (const Allocation& a : allocs) {
      if (a.NodeID == id && view.Shows(a.Namespace)) out.push_back(ToJson(a));
    }
    return Reply{store.TableIndex(Table::kAllocs), std::move(out)};
  };
  ctx.blocking.Serve(*opts, {Table::kAllocs}, std::move(query), std::move(writer));
}

}  // namespace

void AddAgentRoutes(RouteTable& routes, ApiContext& ctx) {
  using M = Http::Method;
  routes.Add("/v1/agent/self", {M::Get}, [&ctx](const Rest::Request& req, Http::ResponseWriter& w) {
    AgentSelf(ctx, req, w);
  });
  // A single-node agent is its own leader; Nomad answers with the RPC
  // address as a JSON string.
  routes.Add("/v1/status/leader", {M::Get},
             [&ctx](const Rest::Request&, Http::ResponseWriter& w) {
               SendJson(w, json::value(ctx.agent.config().http_addr), false, 0);
             });
  routes.Add("/v1/status/peers", {M::Get},
             [&ctx](const Rest::Request&, Http::ResponseWriter& w) {
               SendJson(w, json::array{json::value(ctx.agent.config().http_addr)}, false, 0);
             });
  routes.Add("/v1/agent/members", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) { AgentMembers(ctx, req, w); });
  routes.Add("/v1/agent/health", {M::Get},
             [](const Rest::Request& req, Http::ResponseWriter& w) { AgentHealth(req, w); });
  routes.Add("/v1/regions", {M::Get}, [&ctx](const Rest::Request&, Http::ResponseWriter& w) {
    SendJson(w, json::array{json::value(ctx.agent.config().region)}, false, 0);
  });
  routes.Add("/v1/operator/raft/configuration", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) {
               RaftConfiguration(ctx, req, w);
             });
  routes.Add("/v1/nodes", {M::Get}, [&ctx](const Rest::Request& req, Http::ResponseWriter& w) {
    ListNodes(ctx, req, w);
  });
  routes.Add("/v1/node/:node_id", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) { GetNode(ctx, req, w); });
  routes.Add("/v1/node/:node_id/allocations", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               NodeAllocations(ctx, req, w, a);
             });
}

}  // namespace drover::api
