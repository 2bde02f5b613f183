// The client endpoints: /v1/client/metadata, /v1/client/stats,
// /v1/client/allocation/:id/{stats,gc}, /v1/client/gc; and the Nomad-native
// service registrations: /v1/allocation/:id/services, /v1/services,
// /v1/service/:name.
#include <algorithm>
#include <boost/json.hpp>
#include <memory>
#include <set>

#include "api/routes.h"
#include "lifecycle/proc_stats.h"
#include "service/metrics.h"
#include "service/node_meta.h"
#include "service/services.h"
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
  auto view = ReadNodeMeta(ctx.agent.store(), ctx.agent.config().meta);
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
  auto view = ApplyNodeMeta(ctx.agent.store(), ctx.agent.node().ID, ctx.agent.config().meta,
                            *update);
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

void AllocStats(ApiContext& ctx, ProcessTreeStats& trees, const Rest::Request& req,
                Http::ResponseWriter& w) {
  auto pretty = QueryBool(req, "pretty", false);
  if (!pretty.ok()) return SendError(w, pretty.status());
  if (Status st = CheckNodeParam(ctx, req); !st.ok()) return SendError(w, st);
  const std::string id = PathParam(req, ":alloc_id");
  const std::string task_filter = QueryParam(req, "task").value_or("");
  auto alloc = ctx.agent.store().GetAlloc(id);
  if (!alloc.ok()) return SendError(w, alloc.status());
  if (!*alloc) return SendError(w, NotFound("Unknown allocation \"" + id + "\""));
  auto running = RunningTasks(ctx.agent.store(), **alloc);
  if (!running.ok()) return SendError(w, running.status());

  ResourceUsage total;
  Nanos timestamp = 0;
  json::object tasks;
  for (const auto& [task, run] : *running) {
    if (!task_filter.empty() && task != task_filter) continue;
    // From the task's cgroup when it has one, else from its process tree.
    ProcessTreeStats::Reading r = run.group.enabled() ? trees.ReadCgroup(id + "/" + task, run.group)
                                                      : trees.Read(id + "/" + task, run.pid);
    const Nanos now = NowNanos();
    AddUsage(total, r.usage);
    timestamp = std::max(timestamp, now);
    tasks[task] = json::object{
        {"ResourceUsage", UsageJson(r.usage)}, {"Timestamp", now}, {"Pids", nullptr}};
  }
  if (total.MemoryStats.Measured.empty()) total.MemoryStats.Measured = {"RSS", "Swap", "Max Usage"};
  if (total.CpuStats.Measured.empty()) total.CpuStats.Measured = {"System Mode", "User Mode", "Percent"};
  SendJson(w,
           json::object{{"ResourceUsage", UsageJson(total)},
                        {"Tasks", std::move(tasks)},
                        {"Timestamp", timestamp}},
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

}  // namespace

json::value RegistrationJson(const ServiceRegistration& r) {
  return json::object{{"ID", r.ID},
                      {"ServiceName", r.ServiceName},
                      {"Namespace", r.Namespace},
                      {"NodeID", r.NodeID},
                      {"Datacenter", r.Datacenter},
                      {"JobID", r.JobID},
                      {"AllocID", r.AllocID},
                      {"Tags", StringsJson(r.Tags)},
                      {"Address", r.Address},
                      {"Port", r.Port},
                      {"CreateIndex", r.CreateIndex},
                      {"ModifyIndex", r.ModifyIndex}};
}

namespace {

// Every registration on this node, in allocation order.
Result<std::vector<ServiceRegistration>> AllRegistrations(ApiContext& ctx) {
  ASSIGN_OR_RETURN(std::vector<Allocation> allocs, ctx.agent.store().ListAllocs());
  std::vector<ServiceRegistration> out;
  for (const Allocation& a : allocs) {
    for (ServiceRegistration& r : AllocServiceRegistrations(a, ctx.agent.node())) {
      out.push_back(std::move(r));
    }
  }
  return out;
}

void AllocServices(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(w, opts.status());
  std::string id = PathParam(req, ":alloc_id");
  auto query = [&ctx, id]() -> Result<Reply> {
    Reply reply;
    reply.index = ctx.agent.store().TableIndex(Table::kAllocs);
    reply.body = json::array{};
    ASSIGN_OR_RETURN(std::optional<Allocation> alloc, ctx.agent.store().GetAlloc(id));
    if (!alloc) return NotFound("alloc not found");
    for (const ServiceRegistration& r : AllocServiceRegistrations(*alloc, ctx.agent.node())) {
      reply.body.get_array().push_back(RegistrationJson(r));
    }
    return reply;
  };
  ctx.blocking.Serve(*opts, {Table::kAllocs}, std::move(query), std::move(w));
}

void ListServices(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w,
                  const RequestAuth& auth) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(w, opts.status());
  NamespaceView view(opts->ns, auth, "read-job");
  auto query = [&ctx, view]() -> Result<Reply> {
    const std::uint64_t index = ctx.agent.store().TableIndex(Table::kAllocs);
    ASSIGN_OR_RETURN(std::vector<ServiceRegistration> regs, AllRegistrations(ctx));
    // Namespace -> service name -> its tags, de-duplicated (Nomad's stubs).
    std::map<std::string, std::map<std::string, std::set<std::string>>> by_ns;
    for (const ServiceRegistration& r : regs) {
      if (!view.Shows(r.Namespace)) continue;
      auto& tags = by_ns[r.Namespace][r.ServiceName];
      tags.insert(r.Tags.begin(), r.Tags.end());
    }
    json::array out;
    for (const auto& [name_space, services] : by_ns) {
      json::array stubs;
      for (const auto& [name, tags] : services) {
        json::array tag_list;
        for (const std::string& t : tags) tag_list.push_back(json::value(t));
        stubs.push_back(json::object{{"ServiceName", name}, {"Tags", std::move(tag_list)}});
      }
      out.push_back(json::object{{"Namespace", name_space}, {"Services", std::move(stubs)}});
    }
    Reply reply;
    reply.index = index;
    reply.body = std::move(out);
    return reply;
  };
  ctx.blocking.Serve(*opts, {Table::kAllocs}, std::move(query), std::move(w));
}

void GetService(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w,
                const RequestAuth& auth) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(w, opts.status());
  std::string name = PathParam(req, ":service_name");
  NamespaceView view(opts->ns, auth, "read-job");
  auto query = [&ctx, name, view]() -> Result<Reply> {
    Reply reply;
    reply.index = ctx.agent.store().TableIndex(Table::kAllocs);
    reply.body = json::array{};
    ASSIGN_OR_RETURN(std::vector<ServiceRegistration> regs, AllRegistrations(ctx));
    for (const ServiceRegistration& r : regs) {
      if (r.ServiceName == name && view.Shows(r.Namespace)) {
        reply.body.get_array().push_back(RegistrationJson(r));
      }
    }
    return reply;
  };
  ctx.blocking.Serve(*opts, {Table::kAllocs}, std::move(query), std::move(w));
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
  auto trees = std::make_shared<ProcessTreeStats>(MhzPerCore(ctx.agent.node()));
  routes.Add("/v1/client/allocation/:alloc_id/stats", {M::Get},
             [&ctx, trees](const Rest::Request& req, Http::ResponseWriter& w) {
               AllocStats(ctx, *trees, req, w);
             });
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
