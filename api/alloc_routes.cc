// /v1/allocations and /v1/allocation/:id.
#include <boost/json.hpp>

#include <algorithm>
#include <map>

#include "api/list_query.h"
#include "api/routes.h"
#include "storage/codec.h"

namespace drover::api {
namespace {

namespace json = boost::json;

void ListAllocations(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer,
                     const RequestAuth& auth) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  auto list = ParseListOptions(req);
  if (!list.ok()) return SendError(writer, list.status());
  auto task_states = QueryBool(req, "task_states", true);
  if (!task_states.ok()) return SendError(writer, task_states.status());
  auto resources = QueryBool(req, "resources", false);
  if (!resources.ok()) return SendError(writer, resources.status());
  if (!opts->prefix.empty()) {
    Status st = ValidateIDPrefix(opts->prefix);
    if (!st.ok()) return SendError(writer, InvalidArgument("alloc lookup failed: " + st.message()));
  }

  Queries& queries = ctx.agent.queries();
  QueryOptions q = *opts;
  AllocListRequest list_req{q.prefix, NamespaceView(q.ns, auth.who.acl, "read-job"),
                            std::move(list).value(), *task_states, *resources};
  auto query = [&queries, list_req = std::move(list_req)]() -> Result<Reply> {
    return queries.ListAllocs(list_req);
  };
  ctx.blocking.Serve(q, WatchSpec{{Table::kAllocs}, {}}, QueryIdentity(req, auth),
                     std::move(query), std::move(writer), QueryCost::kList);
}

void GetAllocation(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  Queries& queries = ctx.agent.queries();
  std::string id = PathParam(req, ":alloc_id");
  auto query = [&queries, id]() -> Result<Reply> { return queries.AllocJson(id); };
  // The route's ACL check ran on the allocation's namespace; the result is
  // the same for every token that passed it.
  ctx.blocking.Serve(*opts, WatchSpec{{Table::kAllocs}, {AllocWatchKey(id)}}, "alloc\n" + id,
                     std::move(query), std::move(writer));
}

// Decodes an optional JSON object body; an empty body is {}.
Result<json::object> BodyObject(const Rest::Request& req) {
  if (req.body().find_first_not_of(" \t\r\n") == std::string::npos) return json::object{};
  auto body = ParseJson(req.body());
  if (!body.ok()) return body.status().Annotate("Failed to decode request");
  if (!body->is_object()) return InvalidArgument("Failed to decode request: expected a JSON object");
  return std::move(body->get_object());
}

// Reads an optional string field; a value of another type is an error.
Status StringField(const json::object& o, const char* key, std::string& out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return Status::Ok();
  if (!v->is_string()) return InvalidArgument(std::string(key) + ": expected a string");
  out = std::string(v->get_string());
  return Status::Ok();
}

void StopAllocation(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto result = ctx.agent.StopAlloc(PathParam(req, ":alloc_id"));
  if (!result.ok()) return SendError(writer, result.status());
  SendJson(writer, json::object{{"EvalID", result->EvalID}, {"Index", result->Index}}, false,
           result->Index);
}

void RestartAllocation(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto body = BodyObject(req);
  if (!body.ok()) return SendError(writer, body.status());
  std::string task;
  Status st = StringField(*body, "TaskName", task);
  if (!st.ok()) return SendError(writer, st);
  bool all_tasks = false;
  if (const json::value* v = body->if_contains("AllTasks"); v && !v->is_null()) {
    if (!v->is_bool()) return SendError(writer, InvalidArgument("AllTasks: expected a bool"));
    all_tasks = v->get_bool();
  }
  st = ctx.agent.RestartAlloc(PathParam(req, ":alloc_id"), task, all_tasks);
  if (!st.ok()) return SendError(writer, st);
  SendJson(writer, json::object{}, false, 0);
}

void SignalAllocation(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto body = BodyObject(req);
  if (!body.ok()) return SendError(writer, body.status());
  std::string signal, task;
  Status st = StringField(*body, "Signal", signal);
  if (st.ok()) st = StringField(*body, "Task", task);
  if (!st.ok()) return SendError(writer, st);
  if (signal.empty()) return SendError(writer, InvalidArgument("Signal must be specified"));
  st = ctx.agent.SignalAlloc(PathParam(req, ":alloc_id"), task, signal);
  if (!st.ok()) return SendError(writer, st);
  SendJson(writer, json::object{}, false, 0);
}

}  // namespace

std::string QueryIdentity(const Rest::Request& req, const RequestAuth& auth) {
  std::map<std::string, std::string> params;
  const auto& q = req.query();
  for (auto it = q.parameters_begin(); it != q.parameters_end(); ++it) {
    if (it->first != "index" && it->first != "wait" && it->first != "pretty") params.insert(*it);
  }
  std::string out = req.resource();
  for (const auto& [k, v] : params) out.append("\n").append(k).append("=").append(v);
  // The ACL object is held by the group's query, so its address names this
  // token's scope for as long as the group lives.
  out.append("\n@").append(auth.who.token ? auth.who.token->AccessorID : "");
  out.append("@").append(std::to_string(reinterpret_cast<std::uintptr_t>(auth.who.acl.get())));
  return out;
}

void AddAllocRoutes(RouteTable& routes, ApiContext& ctx) {
  routes.Add("/v1/allocations", {Http::Method::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               ListAllocations(ctx, req, w, a);
             });
  routes.Add("/v1/allocation/:alloc_id", {Http::Method::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) {
               GetAllocation(ctx, req, w);
             });
  const std::vector<Http::Method> kWrite = {Http::Method::Post, Http::Method::Put};
  routes.Add("/v1/allocation/:alloc_id/stop", kWrite,
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) {
               StopAllocation(ctx, req, w);
             });
  routes.Add("/v1/client/allocation/:alloc_id/restart", kWrite,
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) {
               RestartAllocation(ctx, req, w);
             });
  routes.Add("/v1/client/allocation/:alloc_id/signal", kWrite,
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) {
               SignalAllocation(ctx, req, w);
             });
}

}  // namespace drover::api
