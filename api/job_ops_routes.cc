// /v1/job/:job_id/summary, /scale (GET status, POST|PUT a count),
// /evaluate and /services, in Nomad's shapes (command/agent/job_endpoint.go).
// The logic is in service/job_api.h.
#include <boost/json.hpp>

#include "api/go_body.h"
#include "api/routes.h"

namespace drover::api {
namespace {

namespace json = boost::json;

std::string WriteNamespace(const Rest::Request& req) {
  auto ns = QueryParam(req, "namespace");
  return ns && !ns->empty() ? *ns : "default";
}

json::value SummaryJson(const JobSummary& s) {
  json::object groups;
  for (const auto& [name, g] : s.Summary) {
    groups[name] = json::object{{"Queued", g.Queued},   {"Complete", g.Complete},
                                {"Failed", g.Failed},   {"Running", g.Running},
                                {"Starting", g.Starting}, {"Lost", g.Lost},
                                {"Unknown", g.Unknown}};
  }
  return json::object{{"JobID", s.JobID},
                      {"Namespace", s.Namespace},
                      {"Summary", std::move(groups)},
                      {"Children", json::object{{"Pending", s.Children.Pending},
                                                {"Running", s.Children.Running},
                                                {"Dead", s.Children.Dead}}},
                      {"CreateIndex", s.CreateIndex},
                      {"ModifyIndex", s.ModifyIndex}};
}

json::value ScaleStatusJson(const JobScaleStatus& s) {
  json::object groups;
  for (const auto& [name, g] : s.TaskGroups) {
    json::value events = nullptr;
    if (!g.Events.empty()) {
      json::array list;
      for (const ScalingEvent& e : g.Events) list.push_back(ScalingEventJson(e));
      events = std::move(list);
    }
    groups[name] = json::object{{"Desired", g.Desired},     {"Placed", g.Placed},
                                {"Running", g.Running},     {"Healthy", g.Healthy},
                                {"Unhealthy", g.Unhealthy}, {"Events", std::move(events)}};
  }
  return json::object{{"JobID", s.JobID},
                      {"Namespace", s.Namespace},
                      {"JobCreateIndex", s.JobCreateIndex},
                      {"JobModifyIndex", s.JobModifyIndex},
                      {"JobStopped", s.JobStopped},
                      {"TaskGroups", std::move(groups)}};
}

// Nomad's JobRegisterResponse.
void SendRegisterResponse(Http::ResponseWriter& writer, const JobRegisterResult& r, bool pretty) {
  json::object out{{"EvalID", r.EvalID},
                   {"EvalCreateIndex", r.EvalCreateIndex},
                   {"JobModifyIndex", r.JobModifyIndex},
                   {"Warnings", r.Warnings},
                   {"Index", r.Index},
                   {"LastContact", 0},
                   {"KnownLeader", false}};
  SendJson(writer, out, pretty, r.Index);
}

void Summary(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  Agent& agent = ctx.agent;
  std::string ns = opts->ns, id = PathParam(req, ":job_id");
  auto query = [&agent, ns, id]() -> Result<Reply> {
    ASSIGN_OR_RETURN(JobSummary s, agent.jobs().Summary(ns, id));
    return Reply{s.ModifyIndex, SummaryJson(s)};
  };
  ctx.blocking.Serve(*opts, {Table::kJobs, Table::kAllocs, Table::kEvals}, std::move(query),
                     std::move(writer));
}

void ScaleStatus(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  Agent& agent = ctx.agent;
  std::string ns = opts->ns, id = PathParam(req, ":job_id");
  auto query = [&agent, ns, id]() -> Result<Reply> {
    ASSIGN_OR_RETURN(JobScaleStatus s, agent.jobs().ScaleStatus(ns, id));
    return Reply{s.Index, ScaleStatusJson(s)};
  };
  ctx.blocking.Serve(*opts, {Table::kJobs, Table::kAllocs, Table::kScalingEvents},
                     std::move(query), std::move(writer));
}

Result<ScaleRequest> DecodeScaleRequest(const Rest::Request& req) {
  ASSIGN_OR_RETURN(GoBody body, GoBody::Parse(req.body(), "api.ScalingRequest"));
  ScaleRequest out;
  out.ns = WriteNamespace(req);
  out.job_id = PathParam(req, ":job_id");
  ASSIGN_OR_RETURN(out.Count, body.Int("Count"));
  ASSIGN_OR_RETURN(std::optional<StringMap> target, body.Strings("Target"));
  if (target) out.Target = std::move(*target);
  ASSIGN_OR_RETURN(out.Message, body.String("Message"));
  ASSIGN_OR_RETURN(out.Error, body.Bool("Error"));
  ASSIGN_OR_RETURN(out.Meta, body.AnyMap("Meta"));
  ASSIGN_OR_RETURN(out.PolicyOverride, body.Bool("PolicyOverride"));
  ASSIGN_OR_RETURN(out.JobModifyIndex, body.Uint("JobModifyIndex"));
  return out;
}

void Scale(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto pretty = QueryBool(req, "pretty", false);
  if (!pretty.ok()) return SendError(writer, pretty.status());
  auto scale = DecodeScaleRequest(req);
  if (!scale.ok()) return SendError(writer, scale.status());
  auto result = ctx.agent.jobs().Scale(*scale);
  if (!result.ok()) return SendError(writer, result.status());
  SendRegisterResponse(writer, *result, *pretty);
}

void Evaluate(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto pretty = QueryBool(req, "pretty", false);
  if (!pretty.ok()) return SendError(writer, pretty.status());
  const std::string id = PathParam(req, ":job_id");
  bool force = false;
  // As Nomad: an empty body is allowed (no options); a body names the job.
  if (!req.body().empty()) {
    auto body = GoBody::Parse(req.body(), "structs.JobEvaluateRequest");
    if (!body.ok()) return SendError(writer, body.status());
    auto job_id = body->String("JobID");
    if (!job_id.ok()) return SendError(writer, job_id.status());
    if (job_id->empty()) return SendError(writer, InvalidArgument("Job ID must be specified"));
    if (*job_id != id) return SendError(writer, InvalidArgument("JobID not same as job name"));
    auto options = body->Struct("EvalOptions", "structs.EvalOptions");
    if (!options.ok()) return SendError(writer, options.status());
    if (*options) {
      auto f = (*options)->Bool("ForceReschedule");
      if (!f.ok()) return SendError(writer, f.status());
      force = *f;
    }
  }
  auto result = ctx.agent.jobs().Evaluate(WriteNamespace(req), id, force);
  if (!result.ok()) return SendError(writer, result.status());
  SendRegisterResponse(writer, *result, *pretty);
}

void Services(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  Agent& agent = ctx.agent;
  std::string ns = opts->ns, id = PathParam(req, ":job_id");
  auto query = [&agent, ns, id]() -> Result<Reply> {
    ASSIGN_OR_RETURN(JobApi::Services s, agent.jobs().JobServices(ns, id));
    json::array out;
    for (const ServiceRegistration& r : s.registrations) out.push_back(RegistrationJson(r));
    return Reply{s.index, std::move(out)};
  };
  ctx.blocking.Serve(*opts, {Table::kJobs, Table::kAllocs}, std::move(query), std::move(writer));
}

}  // namespace

void AddJobOpsRoutes(RouteTable& routes, ApiContext& ctx) {
  using M = Http::Method;
  routes.Add("/v1/job/:job_id/summary", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) { Summary(ctx, req, w); });
  routes.Add("/v1/job/:job_id/scale", {M::Get, M::Put, M::Post},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) {
               if (req.method() == M::Get) return ScaleStatus(ctx, req, w);
               Scale(ctx, req, w);
             });
  routes.Add("/v1/job/:job_id/evaluate", {M::Put, M::Post},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) { Evaluate(ctx, req, w); });
  routes.Add("/v1/job/:job_id/services", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) { Services(ctx, req, w); });
}

}  // namespace drover::api
