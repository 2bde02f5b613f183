// /v1/job/:job_id/versions, /v1/job/:job_id/revert, /v1/job/:job_id/plan.
// The logic is in service/deployments.h and service/job_diff.h.
#include <boost/json.hpp>

#include "api/routes.h"
#include "service/job_diff.h"
#include "storage/codec.h"

namespace drover::api {
namespace {

namespace json = boost::json;

void JobVersions(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  auto diffs = QueryBool(req, "diffs", false);
  if (!diffs.ok()) return SendError(writer, diffs.status());
  Deployments& deployments = ctx.agent.deployments();
  std::string ns = NamespaceParam(req), id = PathParam(req, ":job_id");
  auto query = [&deployments, ns, id, with_diffs = *diffs]() -> Result<Reply> {
    ASSIGN_OR_RETURN(std::vector<Job> versions, deployments.JobVersions(ns, id));
    Reply reply;
    json::array out;
    for (const Job& v : versions) {
      reply.index = std::max(reply.index, v.ModifyIndex);
      out.push_back(ToJson(v));
    }
    json::value diff_list = nullptr;
    if (with_diffs) {
      // Each version against the one before it (versions are newest first).
      json::array d;
      for (std::size_t i = 0; i + 1 < versions.size(); ++i) {
        d.push_back(JobDiffJson(DiffJobs(&versions[i + 1], &versions[i])));
      }
      diff_list = std::move(d);
    }
    reply.body = json::object{{"Versions", std::move(out)},
                              {"Diffs", std::move(diff_list)},
                              {"Index", reply.index},
                              {"LastContact", 0},
                              {"KnownLeader", true}};
    return reply;
  };
  ctx.blocking.Serve(*opts, {Table::kJobs}, std::move(query), std::move(writer),
                     QueryCost::kList);
}

Result<json::object> BodyObject(const Rest::Request& req) {
  ASSIGN_OR_RETURN(json::value body, ParseJson(req.body()));
  if (!body.is_object()) return InvalidArgument("Request body must be a JSON object");
  return std::move(body.get_object());
}

// A uint64 member; nullopt when absent or null.
Result<std::optional<std::uint64_t>> U64Field(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<std::uint64_t>();
  if (v->is_uint64()) return std::optional<std::uint64_t>(v->get_uint64());
  if (v->is_int64() && v->get_int64() >= 0) {
    return std::optional<std::uint64_t>(static_cast<std::uint64_t>(v->get_int64()));
  }
  return InvalidArgument(std::string(key) + ": expected a non-negative integer");
}

void Revert(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  std::string id = PathParam(req, ":job_id");
  auto body = BodyObject(req);
  if (!body.ok()) return SendError(writer, body.status());
  const json::value* job_id = body->if_contains("JobID");
  if (job_id == nullptr || !job_id->is_string() || job_id->get_string().empty()) {
    return SendError(writer, InvalidArgument("JobID must be specified"));
  }
  if (job_id->get_string() != id) return SendError(writer, InvalidArgument("Job ID does not match"));
  auto version = U64Field(*body, "JobVersion");
  if (!version.ok()) return SendError(writer, version.status());
  auto enforce = U64Field(*body, "EnforcePriorVersion");
  if (!enforce.ok()) return SendError(writer, enforce.status());
  auto result =
      ctx.agent.deployments().Revert(NamespaceParam(req), id, version->value_or(0), *enforce);
  if (!result.ok()) return SendError(writer, result.status());
  json::object out{{"EvalID", result->EvalID},
                   {"EvalCreateIndex", result->EvalCreateIndex},
                   {"JobModifyIndex", result->JobModifyIndex},
                   {"Warnings", result->Warnings},
                   {"Index", result->Index},
                   {"LastContact", 0},
                   {"KnownLeader", false}};
  SendJson(writer, out, false, result->Index);
}

void PlanJob(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer,
             const RequestAuth& auth) {
  std::string id = PathParam(req, ":job_id");
  auto body = BodyObject(req);
  if (!body.ok()) return SendError(writer, body.status());
  const json::value* job_value = body->if_contains("Job");
  if (job_value == nullptr || job_value->is_null()) {
    return SendError(writer, InvalidArgument("Job must be specified"));
  }
  const json::value* job_id = job_value->is_object() ? job_value->get_object().if_contains("ID")
                                                      : nullptr;
  if (job_id == nullptr || !job_id->is_string()) {
    return SendError(writer, InvalidArgument("Job must have a valid ID"));
  }
  if (job_id->get_string() != id) return SendError(writer, InvalidArgument("Job ID does not match"));
  if (Status exact = RequireExactNumbers(*job_value, "Job"); !exact.ok()) {
    return SendError(writer, exact);
  }
  auto with_diff = [&]() -> Result<bool> {
    const json::value* d = body->if_contains("Diff");
    if (d == nullptr || d->is_null()) return false;
    if (!d->is_bool()) return InvalidArgument("Diff must be a boolean");
    return d->get_bool();
  }();
  if (!with_diff.ok()) return SendError(writer, with_diff.status());
  auto job = FromJson<Job>(*job_value, "Job");
  if (!job.ok()) return SendError(writer, job.status());
  if (!auth.Allows(job->Namespace.empty() ? "default" : job->Namespace, "submit-job")) {
    return SendError(writer, PermissionDenied(kErrPermissionDenied));
  }
  auto plan = ctx.agent.deployments().Plan(std::move(job).value());
  if (!plan.ok()) return SendError(writer, plan.status());
  json::object desired;
  for (const auto& [group, u] : plan->desired) {
    desired[group] = json::object{{"Ignore", u.Ignore},
                                  {"Place", u.Place},
                                  {"Migrate", u.Migrate},
                                  {"Stop", u.Stop},
                                  {"InPlaceUpdate", u.InPlaceUpdate},
                                  {"DestructiveUpdate", u.DestructiveUpdate},
                                  {"Canary", u.Canary},
                                  {"Preemptions", u.Preemptions}};
  }
  json::value diff = nullptr;
  if (*with_diff) {
    JobDiff d = DiffJobs(plan->exists ? &plan->current : nullptr, &plan->proposed);
    AnnotateDiff(d, plan->desired);
    diff = JobDiffJson(d);
  }
  json::value failed = nullptr;
  if (!plan->failed.empty()) {
    json::object f;
    for (const auto& [group, metric] : plan->failed) f[group] = ToJson(metric);
    failed = std::move(f);
  }
  json::object out{{"Annotations", json::object{{"DesiredTGUpdates", std::move(desired)},
                                                {"PreemptedAllocs", nullptr}}},
                   {"FailedTGAllocs", std::move(failed)},
                   {"JobModifyIndex", plan->JobModifyIndex},
                   {"CreatedEvals", nullptr},
                   {"Diff", std::move(diff)},
                   {"NextPeriodicLaunch", "0001-01-01T00:00:00Z"},
                   {"Warnings", plan->Warnings},
                   {"Index", plan->Index}};
  SendJson(writer, out, false, plan->Index);
}

}  // namespace

void AddJobVersionRoutes(RouteTable& routes, ApiContext& ctx) {
  using M = Http::Method;
  routes.Add("/v1/job/:job_id/versions", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) {
               JobVersions(ctx, req, w);
             });
  routes.Add("/v1/job/:job_id/revert", {M::Put, M::Post},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) { Revert(ctx, req, w); });
  routes.Add("/v1/job/:job_id/plan", {M::Put, M::Post},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               PlanJob(ctx, req, w, a);
             });
}

}  // namespace drover::api
