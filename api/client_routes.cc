// The client endpoints: /v1/client/metadata, /v1/client/stats,
// /v1/client/allocation/:id/{stats,gc}, /v1/client/gc; and the Nomad-native
// service registrations: /v1/allocation/:id/services, /v1/services,
// /v1/service/:name.
#include <algorithm>
#include <boost/json.hpp>
#include <memory>
#include <set>

#include "api/routes.h"
#include "service/alloc_stats.h"
#include "service/node_meta.h"
#include "storage/codec.h"

namespace drover::api {
namespace {

namespace json = boost::json;

// Client endpoints serve this node only; `?node_id=` may name it. Another
// ID is Nomad's unknown-node error (nomad/util.go getNodeForRpc).
Status CheckNodeID(ApiContext& ctx, const std::string& node_id) {
  if (node_id.empty() || node_id == ctx.agent.node().ID) return Status::Ok();
  return NotFound("Unknown node " + node_id);
}

Status CheckNodeParam(ApiContext& ctx, const Rest::Request& req) {
  return CheckNodeID(ctx, QueryParam(req, "node_id").value_or(""));
}

// ---- Metadata ---------------------------------------------------------------

json::object StringMapJson(const StringMap& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

json::value NodeMetaJson(const NodeMetaView& view) {
  json::object dynamic;
  for (const auto& [k, v] : view.dynamic) {
    if (v) {
      dynamic[k] = *v;
    } else {
      dynamic[k] = nullptr;
    }
  }
  return json::object{{"Meta", StringMapJson(view.meta)},
                      {"Dynamic", std::move(dynamic)},
                      {"Static", StringMapJson(view.statics)}};
}

// Decodes Nomad's NodeMetaApplyRequest: {"NodeID": "...", "Meta": {"k": "v" | null}}.
Result<DynamicMeta> DecodeMetaApply(const std::string& body, std::string& node_id) {
  ASSIGN_OR_RETURN(json::value v, ParseJson(body));
  if (!v.is_object()) return InvalidArgument("request body must be a JSON object");
  const json::object& o = v.get_object();
  if (const json::value* id = o.if_contains("NodeID"); id && id->is_string()) {
    node_id = std::string(id->get_string());
  }
  DynamicMeta update;
  const json::value* meta = o.if_contains("Meta");
  if (meta == nullptr || meta->is_null()) return update;  // "missing required Meta object"
  if (!meta->is_object()) return InvalidArgument("Meta: expected an object");
  for (const auto& kv : meta->get_object()) {
    std::string key(kv.key());
    if (kv.value().is_null()) {
      update[key] = std::nullopt;
    } else if (kv.value().is_string()) {
      update[key] = std::string(kv.value().get_string());
    } else {
      return InvalidArgument("Meta." + key + ": expected a string or null");
    }
  }
  return update;
}

void NodeMetaRead(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w) {
  auto pretty = QueryBool(req, "pretty", false);
  if (!pretty.ok()) return SendError(w, pretty.status());
  if (Status st = CheckNodeParam(ctx, req); !st.ok()) return SendError(w, st);
  auto view = ctx.agent.queries().NodeMeta(ctx.agent.config().meta);
  if (!view.ok()) return SendError(w, view.status());
  SendJson(w, NodeMetaJson(*view), *pretty, 0);
}

void NodeMetaApply(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w) {
  auto pretty = QueryBool(req, "pretty", false);
  if (!pretty.ok()) return SendError(w, pretty.status());
  std::string body_node_id;
  auto update = DecodeMetaApply(req.body(), body_node_id);
  if (!update.ok()) return SendError(w, update.status());
  std::string node_id = QueryParam(req, "node_id").value_or(body_node_id);
  if (Status st = CheckNodeID(ctx, node_id); !st.ok()) return SendError(w, st);
  auto view = ctx.agent.ApplyNodeMeta(*update);
  if (!view.ok()) return SendError(w, view.status());
  SendJson(w, NodeMetaJson(*view), *pretty, 0);
}

// ---- Host stats -------------------------------------------------------------

json::object DiskJson(const DiskStats& d) {
  return json::object{{"Device", d.Device},
                      {"Mountpoint", d.Mountpoint},
                      {"Size", d.Size},
                      {"Used", d.Used},
                      {"Available", d.Available},
                      {"UsedPercent", d.UsedPercent},
                      {"InodesUsedPercent", d.InodesUsedPercent}};
}

json::value HostStatsJson(const HostStats& s) {
  json::array cpus;
  for (const CpuStats& c : s.CPU) {
    cpus.push_back(json::object{{"CPU", c.CPU},
                                {"User", c.User},
                                {"System", c.System},
                                {"Idle", c.Idle},
                                {"Total", c.Total}});
  }
  json::array disks;
  for (const DiskStats& d : s.Disks) disks.push_back(DiskJson(d));
  json::object out{
      {"Memory", json::object{{"Total", s.Memory.Total},
                              {"Available", s.Memory.Available},
                              {"Used", s.Memory.Used},
                              {"Free", s.Memory.Free}}},
      {"CPU", std::move(cpus)},
      {"DiskStats", std::move(disks)},
      {"DeviceStats", json::array{}},
      {"Uptime", s.Uptime},
      {"Timestamp", s.Timestamp},
      {"CPUTicksConsumed", s.CPUTicksConsumed}};
  if (s.AllocDirStats) {
    out["AllocDirStats"] = DiskJson(*s.AllocDirStats);
  } else {
    out["AllocDirStats"] = nullptr;
  }
  return out;
}

void ClientStats(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w) {
  auto pretty = QueryBool(req, "pretty", false);
  if (!pretty.ok()) return SendError(w, pretty.status());
  if (Status st = CheckNodeParam(ctx, req); !st.ok()) return SendError(w, st);
  SendJson(w, HostStatsJson(ctx.agent.host_stats().Latest()), *pretty, 0);
}

// ---- Allocation stats -------------------------------------------------------

json::array StringsJson(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.push_back(json::value(s));
  return a;
}

json::value UsageJson(const ResourceUsage& u) {
  const MemoryUsage& m = u.MemoryStats;
  const CpuUsage& c = u.CpuStats;
  return json::object{
      {"MemoryStats", json::object{{"RSS", m.RSS},
                                   {"Cache", m.Cache},
                                   {"Swap", m.Swap},
                                   {"MappedFile", m.MappedFile},
                                   {"Usage", m.Usage},
                                   {"MaxUsage", m.MaxUsage},
                                   {"KernelUsage", m.KernelUsage},
                                   {"KernelMaxUsage", m.KernelMaxUsage},
                                   {"Measured", StringsJson(m.Measured)}}},
      {"CpuStats", json::object{{"SystemMode", c.SystemMode},
                                {"UserMode", c.UserMode},
                                {"TotalTicks", c.TotalTicks},
                                {"ThrottledPeriods", c.ThrottledPeriods},
                                {"ThrottledTime", c.ThrottledTime},
                                {"Percent", c.Percent},
                                {"Measured", StringsJson(c.Measured)}}},
      {"DeviceStats", json::array{}}};
}

void AllocStats(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w) {
  auto pretty = QueryBool(req, "pretty", false);
  if (!pretty.ok()) return SendError(w, pretty.status());
  if (Status st = CheckNodeParam(ctx, req); !st.ok()) return SendError(w, st);
  auto usage = ctx.agent.queries().AllocStats(PathParam(req, ":alloc_id"),
                                              QueryParam(req, "task").value_or(""));
  if (!usage.ok()) return SendError(w, usage.status());
  json::object tasks;
  for (const auto& [task, u] : usage->tasks) {
    tasks[task] = json::object{
        {"ResourceUsage", UsageJson(u.usage)}, {"Timestamp", u.timestamp}, {"Pids", nullptr}};
  }
  SendJson(w,
           json::object{{"ResourceUsage", UsageJson(usage->total)},
                        {"Tasks", std::move(tasks)},
                        {"Timestamp", usage->timestamp}},
           *pretty, 0);
}

// ---- GC -----------------------------------------------------------------------

void AllocGC(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w) {
  if (Status st = CheckNodeParam(ctx, req); !st.ok()) return SendError(w, st);
  Status st = ctx.agent.gc().Collect(PathParam(req, ":alloc_id"));
  if (!st.ok()) return SendError(w, st);
  // Nomad answers an empty 200; its Go client fails to decode "null".
  SendEmpty(w, 0);
}

void ClientGC(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w) {
  if (Status st = CheckNodeParam(ctx, req); !st.ok()) return SendError(w, st);
  auto collected = ctx.agent.gc().CollectAll();
  if (!collected.ok()) return SendError(w, collected.status());
  SendEmpty(w, 0);
}

// ---- Services -----------------------------------------------------------------

void AllocServices(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(w, opts.status());
  Queries& queries = ctx.agent.queries();
  std::string id = PathParam(req, ":alloc_id");
  auto query = [&queries, id]() -> Result<Reply> { return queries.AllocServices(id); };
  ctx.blocking.Serve(*opts, {Table::kAllocs}, std::move(query), std::move(w));
}

void ListServices(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w,
                  const RequestAuth& auth) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(w, opts.status());
  Queries& queries = ctx.agent.queries();
  NamespaceView view(opts->ns, auth.who.acl, "read-job");
  auto query = [&queries, view]() -> Result<Reply> { return queries.ListServices(view); };
  ctx.blocking.Serve(*opts, {Table::kAllocs}, std::move(query), std::move(w), QueryCost::kList);
}

void GetService(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w,
                const RequestAuth& auth) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(w, opts.status());
  std::string name = PathParam(req, ":service_name");
  Queries& queries = ctx.agent.queries();
  NamespaceView view(opts->ns, auth.who.acl, "read-job");
  auto query = [&queries, name, view]() -> Result<Reply> {
    return queries.ServiceJson(name, view);
  };
  ctx.blocking.Serve(*opts, {Table::kAllocs}, std::move(query), std::move(w), QueryCost::kList);
}

}  // namespace

void AddClientRoutes(RouteTable& routes, ApiContext& ctx) {
  using M = Http::Method;
  routes.Add("/v1/client/metadata", {M::Get, M::Post},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) {
               if (req.method() == M::Get) return NodeMetaRead(ctx, req, w);
               NodeMetaApply(ctx, req, w);
             });
  routes.Add("/v1/client/stats", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) { ClientStats(ctx, req, w); });
  routes.Add("/v1/client/allocation/:alloc_id/stats", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) { AllocStats(ctx, req, w); });
  routes.Add("/v1/client/allocation/:alloc_id/gc", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) { AllocGC(ctx, req, w); });
  routes.Add("/v1/client/gc", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) { ClientGC(ctx, req, w); });
  routes.Add("/v1/allocation/:alloc_id/services", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) {
               AllocServices(ctx, req, w);
             });
  routes.Add("/v1/services", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               ListServices(ctx, req, w, a);
             });
  routes.Add("/v1/service/:service_name", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               GetService(ctx, req, w, a);
             });
}

}  // namespace drover::api
