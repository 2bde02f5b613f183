// /v1/allocations and /v1/allocation/:id.
#include <boost/json.hpp>

#include <algorithm>

#include "api/routes.h"
#include "storage/codec.h"

namespace drover::api {
namespace {

namespace json = boost::json;

bool InNamespace(const Allocation& a, const std::string& ns) {
  return ns == "*" || a.Namespace == ns;
}

void ListAllocations(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  auto task_states = QueryBool(req, "task_states", true);
  if (!task_states.ok()) return SendError(writer, task_states.status());
  auto resources = QueryBool(req, "resources", false);
  if (!resources.ok()) return SendError(writer, resources.status());
  auto reverse = QueryBool(req, "reverse", false);
  if (!reverse.ok()) return SendError(writer, reverse.status());

  StateStore& store = ctx.agent.store();
  QueryOptions q = *opts;
  bool with_states = *task_states, with_resources = *resources, reversed = *reverse;
  auto query = [&store, q, with_states, with_resources, reversed]() -> Result<Reply> {
    Reply reply;
    reply.index = store.TableIndex(Table::kAllocs);
    // Chronological, or by ID when a prefix is given (Nomad's two indexes).
    ASSIGN_OR_RETURN(std::vector<Allocation> allocs,
                     q.prefix.empty() ? store.ListAllocs() : store.ListAllocsByIDPrefix(q.prefix));
    if (reversed) std::reverse(allocs.begin(), allocs.end());
    json::array out;
    for (const Allocation& a : allocs) {
      if (InNamespace(a, q.ns)) out.push_back(AllocStub(a, with_states, with_resources));
    }
    reply.body = std::move(out);
    return reply;
  };
  ctx.blocking.Serve(q, {Table::kAllocs}, std::move(query), std::move(writer));
}

void GetAllocation(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  StateStore& store = ctx.agent.store();
  std::string id = PathParam(req, ":alloc_id");
  auto query = [&store, id]() -> Result<Reply> {
    ASSIGN_OR_RETURN(std::optional<Allocation> alloc, store.GetAlloc(id));
    if (!alloc) return NotFound("alloc not found");
    return Reply{alloc->ModifyIndex, ToJson(*alloc)};
  };
  ctx.blocking.Serve(*opts, {Table::kAllocs}, std::move(query), std::move(writer));
}

}  // namespace

json::value AllocStub(const Allocation& alloc, bool task_states, bool resources) {
  AllocListStub stub = MakeAllocListStub(alloc);
  if (!task_states) stub.TaskStates.reset();
  json::value v = ToJson(stub);
  // Nomad leaves AllocatedResources out unless asked for.
  if (!resources) v.get_object().erase("AllocatedResources");
  return v;
}

void AddAllocRoutes(RouteTable& routes, ApiContext& ctx) {
  routes.Add("/v1/allocations", {Http::Method::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) {
               ListAllocations(ctx, req, w);
             });
  routes.Add("/v1/allocation/:alloc_id", {Http::Method::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) {
               GetAllocation(ctx, req, w);
             });
}

}  // namespace drover::api
