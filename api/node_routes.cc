// /v1/node/:node_id/eligibility, /drain and /purge, in Nomad's shapes
// (command/agent/node_endpoint.go). The logic is in service/node_drain.h.
#include <boost/json.hpp>

#include "api/go_body.h"
#include "api/routes.h"

namespace drover::api {
namespace {

namespace json = boost::json;

json::value IdsJson(const std::vector<std::string>& ids) {
  if (ids.empty()) return nullptr;  // Go's nil slice
  json::array out;
  for (const std::string& id : ids) out.push_back(json::value(id));
  return out;
}

// NodeDrainUpdateResponse and NodeEligibilityUpdateResponse.
void SendUpdate(Http::ResponseWriter& writer, const NodeUpdateResult& r, bool pretty) {
  json::object out{{"NodeModifyIndex", r.NodeModifyIndex},
                   {"EvalIDs", IdsJson(r.EvalIDs)},
                   {"EvalCreateIndex", r.EvalCreateIndex},
                   {"Index", r.Index},
                   {"LastContact", 0},
                   {"KnownLeader", false}};
  SendJson(writer, out, pretty, r.Index);
}

void Eligibility(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto pretty = QueryBool(req, "pretty", false);
  if (!pretty.ok()) return SendError(writer, pretty.status());
  auto body = GoBody::Parse(req.body(), "structs.NodeUpdateEligibilityRequest");
  if (!body.ok()) return SendError(writer, body.status());
  auto node_id = body->String("NodeID");
  if (!node_id.ok()) return SendError(writer, node_id.status());
  auto eligibility = body->String("Eligibility");
  if (!eligibility.ok()) return SendError(writer, eligibility.status());
  // As Nomad: the body's NodeID wins; the path's fills an empty one.
  std::string id = node_id->empty() ? PathParam(req, ":node_id") : *node_id;
  auto result = ctx.agent.drainer().UpdateEligibility(id, *eligibility);
  if (!result.ok()) return SendError(writer, result.status());
  SendUpdate(writer, *result, *pretty);
}

void Drain(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer,
           const RequestAuth& auth) {
  auto pretty = QueryBool(req, "pretty", false);
  if (!pretty.ok()) return SendError(writer, pretty.status());
  auto body = GoBody::Parse(req.body(), "api.NodeUpdateDrainRequest");
  if (!body.ok()) return SendError(writer, body.status());
  std::optional<DrainSpec> spec;
  auto spec_body = body->Struct("DrainSpec", "*api.DrainSpec");
  if (!spec_body.ok()) return SendError(writer, spec_body.status());
  if (*spec_body) {
    auto deadline = (*spec_body)->Int("Deadline", "time.Duration");
    if (!deadline.ok()) return SendError(writer, deadline.status());
    auto ignore = (*spec_body)->Bool("IgnoreSystemJobs");
    if (!ignore.ok()) return SendError(writer, ignore.status());
    spec = DrainSpec{deadline->value_or(0), *ignore};
  }
  auto mark_eligible = body->Bool("MarkEligible");
  if (!mark_eligible.ok()) return SendError(writer, mark_eligible.status());
  auto meta = body->Strings("Meta");
  if (!meta.ok()) return SendError(writer, meta.status());
  const std::string accessor = auth.who.token ? auth.who.token->AccessorID : "";
  // The path names the node (Nomad ignores the body's NodeID here).
  auto result = ctx.agent.drainer().UpdateDrain(PathParam(req, ":node_id"), spec,
                                                *mark_eligible, *meta, accessor);
  if (!result.ok()) return SendError(writer, result.status());
  SendUpdate(writer, *result, *pretty);
}

void Purge(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  auto pretty = QueryBool(req, "pretty", false);
  if (!pretty.ok()) return SendError(writer, pretty.status());
  auto result = ctx.agent.drainer().Purge(PathParam(req, ":node_id"));
  if (!result.ok()) return SendError(writer, result.status());
  // Nomad's NodeUpdateResponse.
  json::object out{{"HeartbeatTTL", 0},
                   {"EvalIDs", IdsJson(result->EvalIDs)},
                   {"EvalCreateIndex", result->EvalCreateIndex},
                   {"NodeModifyIndex", result->NodeModifyIndex},
                   {"Features", 0},
                   {"LeaderRPCAddr", ctx.agent.config().http_addr},
                   {"NumNodes", 1},
                   {"Servers", nullptr},
                   {"SchedulingEligibility", ""},
                   {"SignedIdentity", nullptr},
                   {"Index", result->Index},
                   {"LastContact", 0},
                   {"KnownLeader", false},
                   {"NextToken", ""}};
  SendJson(writer, out, *pretty, result->Index);
}

}  // namespace

void AddNodeRoutes(RouteTable& routes, ApiContext& ctx) {
  using M = Http::Method;
  routes.Add("/v1/node/:node_id/eligibility", {M::Put, M::Post},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) {
               Eligibility(ctx, req, w);
             });
  routes.Add("/v1/node/:node_id/drain", {M::Put, M::Post},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               Drain(ctx, req, w, a);
             });
  routes.Add("/v1/node/:node_id/purge", {M::Put, M::Post},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) { Purge(ctx, req, w); });
}

}  // namespace drover::api
