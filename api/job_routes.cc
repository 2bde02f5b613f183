// /v1/jobs, /v1/job/:job_id[/allocations|/evaluations], /v1/evaluations,
// /v1/evaluation/:eval_id.
#include <boost/json.hpp>

#include "api/list_query.h"
#include "api/routes.h"
#include "storage/codec.h"

namespace drover::api {
namespace {

namespace json = boost::json;

std::string Namespace(const Rest::Request& req) {
  auto ns = QueryParam(req, "namespace");
  return ns && !ns->empty() ? *ns : "default";
}

void Register(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer,
              const RequestAuth& auth, const std::string& path_id) {
  auto pretty = QueryBool(req, "pretty", false);
  if (!pretty.ok()) return SendError(writer, pretty.status());
  auto body = ParseJson(req.body());
  if (!body.ok()) return SendError(writer, body.status().Annotate("Failed to decode request"));
  const json::value* job_value =
      body->is_object() ? body->get_object().if_contains("Job") : nullptr;
  if (job_value == nullptr || job_value->is_null()) {
    return SendError(writer, InvalidArgument("Job must be specified"));
  }
  if (Status exact = RequireExactNumbers(*job_value, "Job"); !exact.ok()) {
    return SendError(writer, exact);
  }
  auto job = FromJson<Job>(*job_value, "Job");
  if (!job.ok()) return SendError(writer, job.status());
  if (!path_id.empty() && job->ID != path_id) {
    return SendError(writer, InvalidArgument("Job ID does not match name"));
  }
  // The job names its namespace (Nomad's default: "default"); the token
  // must hold submit-job there, whatever the query said.
  if (!auth.Allows(job->Namespace.empty() ? "default" : job->Namespace, "submit-job")) {
    return SendError(writer, PermissionDenied(kErrPermissionDenied));
  }
  auto result = ctx.agent.RegisterJob(std::move(job).value());
  if (!result.ok()) return SendError(writer, result.status());
  json::object out{{"EvalID", result->EvalID},
                   {"EvalCreateIndex", result->EvalCreateIndex},
                   {"JobModifyIndex", result->JobModifyIndex},
                   {"Warnings", result->Warnings},
                   {"Index", result->Index},
                   {"LastContact", 0},
                   {"KnownLeader", false}};
  SendJson(writer, out, *pretty, result->Index);
}

void ListJobs(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer,
              const RequestAuth& auth) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  auto list = ParseListOptions(req);
  if (!list.ok()) return SendError(writer, list.status());
  Queries& queries = ctx.agent.queries();
  QueryOptions q = *opts;
  NamespaceView view(q.ns, auth.who.acl, "list-jobs");
  auto query = [&queries, q, view, list = std::move(list).value()]() -> Result<Reply> {
    return queries.ListJobs(q.prefix, view, list);
  };
  ctx.blocking.Serve(q, {Table::kJobs, Table::kAllocs}, std::move(query), std::move(writer),
                     QueryCost::kList);
}

void GetJob(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  Queries& queries = ctx.agent.queries();
  std::string ns = Namespace(req), id = PathParam(req, ":job_id");
  auto query = [&queries, ns, id]() -> Result<Reply> { return queries.JobJson(ns, id); };
  ctx.blocking.Serve(*opts, {Table::kJobs}, std::move(query), std::move(writer));
}

void Deregister(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto purge = QueryBool(req, "purge", false);
  if (!purge.ok()) return SendError(writer, purge.status());
  auto pretty = QueryBool(req, "pretty", false);
  if (!pretty.ok()) return SendError(writer, pretty.status());
  auto result = ctx.agent.DeregisterJob(Namespace(req), PathParam(req, ":job_id"), *purge);
  if (!result.ok()) return SendError(writer, result.status());
  json::object out{{"EvalID", result->EvalID},
                   {"EvalCreateIndex", result->EvalCreateIndex},
                   {"JobModifyIndex", result->JobModifyIndex},
                   {"VolumeEvalID", ""},
                   {"VolumeEvalIndex", 0},
                   {"Index", result->Index},
                   {"LastContact", 0},
                   {"KnownLeader", false}};
  SendJson(writer, out, *pretty, result->Index);
}

void JobAllocations(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  auto list = ParseListOptions(req);
  if (!list.ok()) return SendError(writer, list.status());
  // Nomad does not page this endpoint; it filters.
  list->per_page = 0;
  list->next_token.clear();
  Queries& queries = ctx.agent.queries();
  std::string ns = Namespace(req), id = PathParam(req, ":job_id");
  auto query = [&queries, ns, id, list = std::move(list).value()]() -> Result<Reply> {
    return queries.JobAllocs(ns, id, list);
  };
  ctx.blocking.Serve(*opts, {Table::kAllocs}, std::move(query), std::move(writer),
                     QueryCost::kList);
}

void ListEvals(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer,
               const RequestAuth& auth, const std::string& job_id) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  auto list = ParseListOptions(req);
  if (!list.ok()) return SendError(writer, list.status());
  if (!opts->prefix.empty()) {
    Status st = ValidateIDPrefix(opts->prefix);
    if (!st.ok()) return SendError(writer, InvalidArgument("eval lookup failed: " + st.message()));
  }
  Queries& queries = ctx.agent.queries();
  QueryOptions q = *opts;
  NamespaceView view(q.ns, auth.who.acl, "read-job");
  auto query = [&queries, q, view, job_id, list = std::move(list).value()]() -> Result<Reply> {
    return queries.ListEvals(q.prefix, job_id, view, list);
  };
  ctx.blocking.Serve(q, {Table::kEvals}, std::move(query), std::move(writer), QueryCost::kList);
}

void GetEval(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer,
             const RequestAuth& auth) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  Queries& queries = ctx.agent.queries();
  std::string id = PathParam(req, ":eval_id");
  auto acl = auth.who.acl;
  auto query = [&queries, id, acl]() -> Result<Reply> {
    ASSIGN_OR_RETURN(std::optional<Evaluation> eval, queries.GetEval(id));
    if (!eval) return NotFound("eval not found");
    // Checked in the evaluation's own namespace, as Nomad does.
    if (!acl->AllowNamespaceOp(eval->Namespace, "read-job")) {
      return PermissionDenied(kErrPermissionDenied);
    }
    return Reply{eval->ModifyIndex, ToJson(*eval)};
  };
  ctx.blocking.Serve(*opts, {Table::kEvals}, std::move(query), std::move(writer));
}

}  // namespace

void AddJobRoutes(RouteTable& routes, ApiContext& ctx) {
  using M = Http::Method;
  routes.Add("/v1/jobs", {M::Get, M::Put, M::Post},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               if (req.method() == M::Get) return ListJobs(ctx, req, w, a);
               Register(ctx, req, w, a, "");
             });
  routes.Add("/v1/job/:job_id", {M::Get, M::Put, M::Post, M::Delete},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               switch (req.method()) {
                 case M::Get: return GetJob(ctx, req, w);
                 case M::Delete: return Deregister(ctx, req, w);
                 default: return Register(ctx, req, w, a, PathParam(req, ":job_id"));
               }
             });
  routes.Add("/v1/job/:job_id/allocations", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) {
               JobAllocations(ctx, req, w);
             });
  routes.Add("/v1/job/:job_id/evaluations", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               ListEvals(ctx, req, w, a, PathParam(req, ":job_id"));
             });
  routes.Add("/v1/evaluations", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               ListEvals(ctx, req, w, a, "");
             });
  routes.Add("/v1/evaluation/:eval_id", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               GetEval(ctx, req, w, a);
             });
}

}  // namespace drover::api
