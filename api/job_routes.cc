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

// The job as stored, with the Status derived from its allocations.
Result<json::value> JobJson(Agent& agent, const Job& job) {
  ASSIGN_OR_RETURN(std::string status, agent.JobStatus(job));
  json::value v = ToJson(job);
  v.get_object()["Status"] = status;
  return v;
}

Result<json::value> JobStub(Agent& agent, const Job& job) {
  ASSIGN_OR_RETURN(std::vector<Allocation> allocs,
                   agent.store().ListAllocsByJob(job.Namespace, job.ID));
  json::object summary;
  for (const TaskGroup& tg : job.TaskGroups) {
    summary[tg.Name] = json::object{{"Queued", 0},  {"Complete", 0}, {"Failed", 0},
                                    {"Running", 0}, {"Starting", 0}, {"Lost", 0},
                                    {"Unknown", 0}};
  }
  for (const Allocation& a : allocs) {
    auto* group = summary.if_contains(a.TaskGroup);
    if (group == nullptr) continue;
    const char* key = a.ClientStatus == kAllocClientRunning    ? "Running"
                      : a.ClientStatus == kAllocClientComplete ? "Complete"
                      : a.ClientStatus == kAllocClientFailed   ? "Failed"
                      : a.ClientStatus == kAllocClientLost     ? "Lost"
                                                               : "Starting";
    auto& counter = group->get_object()[key];
    counter = counter.to_number<std::int64_t>() + 1;
  }
  ASSIGN_OR_RETURN(json::value full, JobJson(agent, job));
  json::object& f = full.get_object();
  json::object stub;
  for (const char* field : {"ID", "ParentID", "Name", "Namespace", "Datacenters", "NodePool",
                            "Multiregion", "Type", "Priority", "Stop", "Status", "StatusDescription", "CreateIndex", "ModifyIndex",
                            "JobModifyIndex", "SubmitTime", "Version", "Meta"}) {
    if (auto* v = f.if_contains(field)) stub[field] = *v;
  }
  // Nomad's JobListStub has booleans here (IsPeriodic, IsParameterized).
  stub["Periodic"] = !job.Periodic.IsNull();
  stub["ParameterizedJob"] = !job.ParameterizedJob.IsNull() && !job.Dispatched;
  stub["JobSummary"] = json::object{{"JobID", job.ID},
                                    {"Namespace", job.Namespace},
                                    {"Summary", std::move(summary)},
                                    {"Children", json::object{{"Pending", 0},
                                                              {"Running", 0},
                                                              {"Dead", 0}}},
                                    {"CreateIndex", job.CreateIndex},
                                    {"ModifyIndex", job.ModifyIndex}};
  return json::value(std::move(stub));
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
  Agent& agent = ctx.agent;
  QueryOptions q = *opts;
  NamespaceView view(q.ns, auth.who.acl, "list-jobs");
  auto query = [&agent, q, view, list = std::move(list).value()]() -> Result<Reply> {
    Reply reply;
    reply.index = agent.store().TableIndex(Table::kJobs);
    ASSIGN_OR_RETURN(std::vector<Job> jobs, agent.store().ListJobs());
    std::erase_if(jobs, [&](const Job& j) {
      return !view.Shows(j.Namespace) || j.ID.rfind(q.prefix, 0) != 0;
    });
    if (list.reverse) std::reverse(jobs.begin(), jobs.end());
    auto token = [](const Job& j) { return PageToken::NamespaceAndId(j.Namespace, j.ID); };
    Status stub_error;
    auto render = [&](const Job& j) -> json::value {
      auto stub = JobStub(agent, j);
      if (!stub.ok()) stub_error = stub.status();
      return stub.ok() ? std::move(stub).value() : json::value(nullptr);
    };
    ASSIGN_OR_RETURN(ListPage page, PageObjects(jobs, list, token, render));
    RETURN_IF_ERROR(stub_error);
    reply.body = std::move(page.items);
    reply.next_token = std::move(page.next_token);
    return reply;
  };
  ctx.blocking.Serve(q, {Table::kJobs, Table::kAllocs}, std::move(query), std::move(writer));
}

void GetJob(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  Agent& agent = ctx.agent;
  std::string ns = Namespace(req), id = PathParam(req, ":job_id");
  auto query = [&agent, ns, id]() -> Result<Reply> {
    ASSIGN_OR_RETURN(std::optional<Job> job, agent.store().GetJob(ns, id));
    if (!job) return NotFound("job not found");
    ASSIGN_OR_RETURN(json::value body, JobJson(agent, *job));
    return Reply{job->ModifyIndex, std::move(body)};
  };
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
  StateStore& store = ctx.agent.store();
  std::string ns = Namespace(req), id = PathParam(req, ":job_id");
  auto query = [&store, ns, id, list = std::move(list).value()]() -> Result<Reply> {
    Reply reply;
    reply.index = store.TableIndex(Table::kAllocs);
    ASSIGN_OR_RETURN(std::vector<Allocation> allocs, store.ListAllocsByJob(ns, id));
    auto token = [](const Allocation& a) { return PageToken::Id(a.ID); };
    auto render = [](const Allocation& a) { return AllocStub(a, true, false); };
    ASSIGN_OR_RETURN(ListPage page, PageObjects(allocs, list, token, render));
    reply.body = std::move(page.items);
    return reply;
  };
  ctx.blocking.Serve(*opts, {Table::kAllocs}, std::move(query), std::move(writer));
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
  StateStore& store = ctx.agent.store();
  QueryOptions q = *opts;
  NamespaceView view(q.ns, auth.who.acl, "read-job");
  auto query = [&store, q, view, job_id, list = std::move(list).value()]() -> Result<Reply> {
    Reply reply;
    reply.index = store.TableIndex(Table::kEvals);
    ASSIGN_OR_RETURN(std::vector<Evaluation> evals, store.ListEvals());
    std::erase_if(evals, [&](const Evaluation& e) {
      return !view.Shows(e.Namespace) || (!job_id.empty() && e.JobID != job_id) ||
             e.ID.rfind(q.prefix, 0) != 0;
    });
    if (list.reverse) std::reverse(evals.begin(), evals.end());
    auto token = [](const Evaluation& e) { return PageToken::CreateIndexAndId(e.CreateIndex, e.ID); };
    auto render = [](const Evaluation& e) { return ToJson(e); };
    ASSIGN_OR_RETURN(ListPage page, PageObjects(evals, list, token, render));
    reply.body = std::move(page.items);
    reply.next_token = std::move(page.next_token);
    return reply;
  };
  ctx.blocking.Serve(q, {Table::kEvals}, std::move(query), std::move(writer));
}

void GetEval(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer,
             const RequestAuth& auth) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  StateStore& store = ctx.agent.store();
  std::string id = PathParam(req, ":eval_id");
  auto acl = auth.who.acl;
  auto query = [&store, id, acl]() -> Result<Reply> {
    ASSIGN_OR_RETURN(std::optional<Evaluation> eval, store.GetEval(id));
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
