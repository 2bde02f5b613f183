// Drover extensions (Nomad has none): the journal history of one object,
// for the web page's timeline (service/history.h).
//
//   GET /v1/drover/allocation/:alloc_id/history[?at=I][&from_index=F]
//   GET /v1/drover/job/:job_id/history[?namespace=NS][&at=I][&from_index=F]
//
// Both are blocking queries (`index`, `wait`): X-Nomad-Index is the
// object's latest journaled change.
#include <charconv>

#include "api/routes.h"
#include "service/history.h"

namespace drover::api {
namespace {

// An optional index parameter: digits only, in 64 bits.
Result<std::optional<std::uint64_t>> IndexParam(const Rest::Request& req, const char* name) {
  auto v = QueryParam(req, name);
  if (!v) return std::optional<std::uint64_t>();
  std::uint64_t out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (v->empty() || ec != std::errc() || p != v->data() + v->size()) {
    return InvalidArgument(std::string("Invalid ") + name + ": expected an index (an unsigned "
                           "64-bit integer)");
  }
  return std::optional<std::uint64_t>(out);
}

void ServeHistory(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer,
                  const RequestAuth& auth, HistoryRequest request, WatchSpec watch) {
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(writer, opts.status());
  auto at = IndexParam(req, "at");
  if (!at.ok()) return SendError(writer, at.status());
  auto from = IndexParam(req, "from_index");
  if (!from.ok()) return SendError(writer, from.status());
  request.at = *at;
  request.from_index = from->value_or(0);
  if (!request.job_id.empty()) request.ns = opts->ns;
  Agent& agent = ctx.agent;
  auto query = [&agent, request]() -> Result<Reply> {
    ASSIGN_OR_RETURN(HistoryReply h, agent.History(request));
    Reply reply;
    reply.index = h.index;
    reply.text = std::move(h.json);
    return reply;
  };
  ctx.blocking.Serve(*opts, std::move(watch), QueryIdentity(req, auth), std::move(query),
                     std::move(writer), QueryCost::kList);
}

}  // namespace

void AddHistoryRoutes(RouteTable& routes, ApiContext& ctx) {
  routes.Add("/v1/drover/allocation/:alloc_id/history", {Http::Method::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& writer, const RequestAuth& auth) {
               HistoryRequest r;
               r.alloc_id = PathParam(req, ":alloc_id");
               // Every allocation event writes the allocation.
               WatchSpec watch{{Table::kAllocs}, {AllocWatchKey(r.alloc_id)}};
               ServeHistory(ctx, req, writer, auth, std::move(r), std::move(watch));
             });
  routes.Add("/v1/drover/job/:job_id/history", {Http::Method::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& writer, const RequestAuth& auth) {
               HistoryRequest r;
               r.job_id = PathParam(req, ":job_id");
               WatchSpec watch{{Table::kJobs, Table::kEvals, Table::kAllocs}, {}};
               ServeHistory(ctx, req, writer, auth, std::move(r), std::move(watch));
             });
}

}  // namespace drover::api
