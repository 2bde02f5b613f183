// /v1/deployments, /v1/deployment/:id, /v1/deployment/allocations/:id,
// the fail/pause/promote/allocation-health writes, and
// /v1/job/:job_id/deployment(s). The logic is in service/deployments.h.
#include <boost/json.hpp>

#include "api/list_query.h"
#include "api/routes.h"
#include "storage/codec.h"

namespace drover::api {
namespace {

namespace json = boost::json;

// The deployment `id` (nullopt when there is none), once the token may read
// jobs in the deployment's own namespace, as Nomad checks it.
Result<std::optional<Deployment>> ReadableDeployment(const Deployments& deployments,
                                                     const std::string& id, const Acl& acl) {
  ASSIGN_OR_RETURN(std::optional<Deployment> d, deployments.Get(id));
  if (d && !acl.AllowNamespaceOp(d->Namespace, "read-job")) {
    return PermissionDenied(kErrPermissionDenied);
  }
  return d;
}

void ListDeployments(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer,
                     const RequestAuth& auth) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  auto list = ParseListOptions(req);
  if (!list.ok()) return SendError(writer, list.status());
  Deployments& deployments = ctx.agent.deployments();
  QueryOptions q = *opts;
  NamespaceView view(q.ns, auth.who.acl, "read-job");
  auto query = [&deployments, q, view, list = std::move(list).value()]() -> Result<Reply> {
    Reply reply;
    reply.index = deployments.Index();
    ASSIGN_OR_RETURN(std::vector<Deployment> all, deployments.List());
    std::erase_if(all, [&](const Deployment& d) {
      return !view.Shows(d.Namespace) || d.ID.rfind(q.prefix, 0) != 0;
    });
    // Nomad lists deployments in creation order.
    std::sort(all.begin(), all.end(), [](const Deployment& a, const Deployment& b) {
      return a.CreateIndex != b.CreateIndex ? a.CreateIndex < b.CreateIndex : a.ID < b.ID;
    });
    if (list.reverse) std::reverse(all.begin(), all.end());
    auto token = [](const Deployment& d) { return PageToken::CreateIndexAndId(d.CreateIndex, d.ID); };
    auto render = [](const Deployment& d) { return ToJson(d); };
    ASSIGN_OR_RETURN(ListPage page, PageObjects(all, list, token, render));
    reply.body = std::move(page.items);
    reply.next_token = std::move(page.next_token);
    return reply;
  };
  ctx.blocking.Serve(q, WatchSpec{{Table::kDeployments}, {}}, QueryIdentity(req, auth),
                     std::move(query), std::move(writer), QueryCost::kList);
}

void GetDeployment(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer,
                   const RequestAuth& auth) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  Deployments& deployments = ctx.agent.deployments();
  std::string id = PathParam(req, ":deployment_id");
  auto acl = auth.who.acl;
  auto query = [&deployments, id, acl]() -> Result<Reply> {
    ASSIGN_OR_RETURN(std::optional<Deployment> d, ReadableDeployment(deployments, id, *acl));
    if (!d) return NotFound("deployment not found");
    return Reply{d->ModifyIndex, ToJson(*d)};
  };
  ctx.blocking.Serve(*opts, {Table::kDeployments}, std::move(query), std::move(writer));
}

void DeploymentAllocations(ApiContext& ctx, const Rest::Request& req,
                           Http::ResponseWriter& writer, const RequestAuth& auth) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  Deployments& deployments = ctx.agent.deployments();
  std::string id = PathParam(req, ":deployment_id");
  auto acl = auth.who.acl;
  auto query = [&deployments, id, acl]() -> Result<Reply> {
    RETURN_IF_ERROR(ReadableDeployment(deployments, id, *acl).status());
    ASSIGN_OR_RETURN(std::vector<Allocation> allocs, deployments.Allocations(id));
    Reply reply;
    reply.index = deployments.Index();
    json::array out;
    for (const Allocation& a : allocs) {
      reply.index = std::max(reply.index, a.ModifyIndex);
      out.push_back(AllocStub(a, true, false));
    }
    reply.body = std::move(out);
    return reply;
  };
  ctx.blocking.Serve(*opts, {Table::kDeployments, Table::kAllocs}, std::move(query),
                     std::move(writer), QueryCost::kList);
}

void JobDeployments(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer,
                    bool latest_only) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  auto all = QueryBool(req, "all", false);
  if (!all.ok()) return SendError(writer, all.status());
  Deployments& deployments = ctx.agent.deployments();
  std::string ns = NamespaceParam(req), id = PathParam(req, ":job_id");
  auto query = [&deployments, ns, id, latest_only, all = *all]() -> Result<Reply> {
    ASSIGN_OR_RETURN(std::vector<Deployment> found, deployments.ForJob(ns, id, all || latest_only));
    Reply reply;
    reply.index = deployments.Index();
    if (latest_only) {
      // Nomad answers null when the job has no deployment.
      reply.body = found.empty() ? json::value(nullptr) : ToJson(found.front());
      return reply;
    }
    json::array out;
    for (const Deployment& d : found) out.push_back(ToJson(d));
    reply.body = std::move(out);
    return reply;
  };
  ctx.blocking.Serve(*opts, {Table::kDeployments}, std::move(query), std::move(writer));
}

// The body of a deployment write: its DeploymentID must name the path's.
Result<json::object> WriteBody(const Rest::Request& req, const std::string& id) {
  auto body = ParseJson(req.body().empty() ? "{}" : req.body());
  if (!body.ok()) return body.status();
  if (!body->is_object()) return InvalidArgument("Request body must be a JSON object");
  json::object& o = body->get_object();
  const json::value* given = o.if_contains("DeploymentID");
  if (given == nullptr || !given->is_string() || given->get_string().empty()) {
    return InvalidArgument("DeploymentID must be specified");
  }
  if (given->get_string() != id) return InvalidArgument("Deployment ID does not match");
  return std::move(o);
}

Result<bool> BoolField(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return false;
  if (!v->is_bool()) return InvalidArgument(std::string(key) + " must be a boolean");
  return v->get_bool();
}

Result<std::vector<std::string>> StringList(const json::object& o, const char* key) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_array()) return InvalidArgument(std::string(key) + " must be a list of strings");
  // Bounded: a deployment has at most as many allocations as the node holds.
  if (v->get_array().size() > 10000) return InvalidArgument(std::string(key) + " is too long");
  for (const json::value& e : v->get_array()) {
    if (!e.is_string()) return InvalidArgument(std::string(key) + " must be a list of strings");
    out.emplace_back(e.get_string());
  }
  return out;
}

void SendUpdate(Http::ResponseWriter& writer, const Result<DeploymentUpdateResult>& r) {
  if (!r.ok()) return SendError(writer, r.status());
  json::object out{{"EvalID", r->EvalID},
                   {"EvalCreateIndex", r->EvalCreateIndex},
                   {"DeploymentModifyIndex", r->DeploymentModifyIndex},
                   {"RevertedJobVersion", r->RevertedJobVersion
                                              ? json::value(*r->RevertedJobVersion)
                                              : json::value(nullptr)},
                   {"Index", r->Index}};
  SendJson(writer, out, false, r->Index);
}

// Runs a deployment write after checking submit-job in the deployment's
// namespace.
template <typename Fn>
void DeploymentWrite(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer,
                     const RequestAuth& auth, bool needs_body, Fn fn) {
  std::string id = PathParam(req, ":deployment_id");
  json::object body;
  if (needs_body) {
    auto parsed = WriteBody(req, id);
    if (!parsed.ok()) return SendError(writer, parsed.status());
    body = std::move(parsed).value();
  }
  Deployments& deployments = ctx.agent.deployments();
  auto d = deployments.Get(id);
  if (!d.ok()) return SendError(writer, d.status());
  if (!*d) return SendError(writer, NotFound("deployment not found"));
  if (!auth.Allows((*d)->Namespace, "submit-job")) {
    return SendError(writer, PermissionDenied(kErrPermissionDenied));
  }
  SendUpdate(writer, fn(deployments, id, body));
}

}  // namespace

std::string NamespaceParam(const Rest::Request& req) {
  auto ns = QueryParam(req, "namespace");
  return ns && !ns->empty() ? *ns : "default";
}

void AddDeploymentRoutes(RouteTable& routes, ApiContext& ctx) {
  using M = Http::Method;
  routes.Add("/v1/deployments", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               ListDeployments(ctx, req, w, a);
             });
  routes.Add("/v1/deployment/:deployment_id", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               GetDeployment(ctx, req, w, a);
             });
  routes.Add("/v1/deployment/allocations/:deployment_id", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               DeploymentAllocations(ctx, req, w, a);
             });
  routes.Add("/v1/deployment/fail/:deployment_id", {M::Put, M::Post},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               DeploymentWrite(ctx, req, w, a, false,
                               [](Deployments& d, const std::string& id, const json::object&) {
                                 return d.Fail(id);
                               });
             });
  routes.Add("/v1/deployment/pause/:deployment_id", {M::Put, M::Post},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               DeploymentWrite(ctx, req, w, a, true,
                               [](Deployments& d, const std::string& id,
                                  const json::object& body) -> Result<DeploymentUpdateResult> {
                                 ASSIGN_OR_RETURN(bool pause, BoolField(body, "Pause"));
                                 return d.Pause(id, pause);
                               });
             });
  routes.Add("/v1/deployment/promote/:deployment_id", {M::Put, M::Post},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               DeploymentWrite(ctx, req, w, a, true,
                               [](Deployments& d, const std::string& id,
                                  const json::object& body) -> Result<DeploymentUpdateResult> {
                                 ASSIGN_OR_RETURN(bool all, BoolField(body, "All"));
                                 ASSIGN_OR_RETURN(std::vector<std::string> groups,
                                                  StringList(body, "Groups"));
                                 return d.Promote(id, all, groups);
                               });
             });
  routes.Add("/v1/deployment/allocation-health/:deployment_id", {M::Put, M::Post},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               DeploymentWrite(ctx, req, w, a, true,
                               [](Deployments& d, const std::string& id,
                                  const json::object& body) -> Result<DeploymentUpdateResult> {
                                 ASSIGN_OR_RETURN(std::vector<std::string> healthy,
                                                  StringList(body, "HealthyAllocationIDs"));
                                 ASSIGN_OR_RETURN(std::vector<std::string> unhealthy,
                                                  StringList(body, "UnhealthyAllocationIDs"));
                                 return d.SetAllocHealth(id, healthy, unhealthy);
                               });
             });
  routes.Add("/v1/job/:job_id/deployments", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) {
               JobDeployments(ctx, req, w, false);
             });
  routes.Add("/v1/job/:job_id/deployment", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) {
               JobDeployments(ctx, req, w, true);
             });
}

}  // namespace drover::api
