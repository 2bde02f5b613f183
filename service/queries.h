// Queries: the read side of the service layer. The HTTP API (api/) reads
// state only through here (reached as Agent::queries()); it never holds the
// StateStore, the journal or the lifecycle engine.
//
// A query takes plain arguments (IDs, a prefix, a NamespaceView for what
// the asker may see, ListOptions for filter and paging) and returns either
// model objects or a QueryReply: the encoded body as Nomad's endpoint
// sends it, with the X-Nomad-Index and X-Nomad-NextToken it goes out with.
// The API keeps HTTP parsing, the ACL checks of its routes, status codes
// and sending. Errors are Nomad's texts: a reply's NotFound message is the
// 404 body.
//
// Queries is also the WatchSource the blocking queries wait on, so what a
// query read and what its waiters watch are the same store. Every method is
// thread-safe.
//
// Implemented by area: queries.cc (allocations, watches), job_queries.cc,
// node_queries.cc (nodes, node metadata, services), event_feed.cc,
// alloc_stats.cc.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "service/list_query.h"
#include "service/watch_source.h"
#include "storage/model.h"

namespace drover {

class StateStore;
class ProcessTreeStats;
struct AllocUsage;         // service/alloc_stats.h
struct EventChunk;         // service/event_feed.h
struct EventSubscription;  // service/event_feed.h
struct NodeMetaView;       // service/node_meta.h

// What a read endpoint answers.
struct QueryReply {
  std::uint64_t index = 0;  // X-Nomad-Index, as Nomad computes it for the endpoint
  boost::json::value body;
  std::string next_token;   // X-Nomad-NextToken of a paged list; "" for none
  std::string text;         // the body already encoded; used instead of `body` when set
};

// GET /v1/allocations.
struct AllocListRequest {
  std::string prefix;  // by ID when set (ID tokens), else chronological
  NamespaceView view;
  ListOptions list;
  bool task_states = true;  // ?task_states
  bool resources = false;   // ?resources
};

class Queries : public WatchSource {
 public:
  // `node` is this agent's node; it must outlive the Queries.
  Queries(StateStore& store, const Node& node);
  ~Queries() override;

  // ---- WatchSource, and the index of the latest commit.
  std::uint64_t Floor(const WatchSpec& spec) const override;
  WatchId Watch(const WatchSpec& spec, std::uint64_t floor, std::function<void()> fired) override;
  void CancelWatch(WatchId id) override;
  std::uint64_t LatestIndex() const;

  // ---- Allocations (queries.cc).
  Result<QueryReply> ListAllocs(const AllocListRequest& req) const;
  // GET /v1/allocation/:id: NotFound "alloc not found".
  Result<QueryReply> AllocJson(const std::string& id) const;
  // The allocation with its Job; nullopt when unknown.
  Result<std::optional<Allocation>> GetAlloc(const std::string& id) const;
  // GET /v1/job/:id/allocations: filtered, never paged (as Nomad).
  Result<QueryReply> JobAllocs(const std::string& ns, const std::string& job_id,
                               const ListOptions& list) const;
  // GET /v1/node/:id/allocations: full allocations; NotFound "node not found".
  Result<QueryReply> NodeAllocs(const std::string& node_id, const NamespaceView& view) const;

  // ---- Jobs and evaluations (job_queries.cc).
  // GET /v1/jobs: JobListStubs with their summaries, by namespace and ID.
  Result<QueryReply> ListJobs(const std::string& prefix, const NamespaceView& view,
                              const ListOptions& list) const;
  // GET /v1/job/:id: the job with its derived Status; NotFound "job not found".
  Result<QueryReply> JobJson(const std::string& ns, const std::string& id) const;
  // The job's Status as Nomad derives it from its allocations: "running"
  // while one is live, "dead" once stopped or all done, else "pending".
  Result<std::string> JobStatus(const Job& job) const;
  // GET /v1/evaluations (job_id "") and /v1/job/:id/evaluations.
  Result<QueryReply> ListEvals(const std::string& prefix, const std::string& job_id,
                               const NamespaceView& view, const ListOptions& list) const;
  Result<std::optional<Evaluation>> GetEval(const std::string& id) const;

  // ---- Nodes, node metadata and services (node_queries.cc).
  // GET /v1/nodes: NodeListStubs.
  Result<QueryReply> ListNodes(const std::string& prefix) const;
  // GET /v1/node/:id: NotFound "node not found".
  Result<QueryReply> NodeJson(const std::string& id) const;
  // GET /v1/client/metadata; `statics` from the config file.
  Result<NodeMetaView> NodeMeta(const StringMap& statics) const;
  // GET /v1/allocation/:id/services: NotFound "alloc not found".
  Result<QueryReply> AllocServices(const std::string& alloc_id) const;
  // GET /v1/services: Nomad's ServiceRegistrationListStubs.
  Result<QueryReply> ListServices(const NamespaceView& view) const;
  // GET /v1/service/:name.
  Result<QueryReply> ServiceJson(const std::string& name, const NamespaceView& view) const;

  // ---- The event journal (event_feed.cc).
  // Nomad's ndjson lines for `sub` from journal index `from` on, about
  // `max_bytes` of them (whole indexes only).
  Result<EventChunk> ReadEvents(const EventSubscription& sub, std::uint64_t from,
                                std::size_t max_bytes) const;

  // ---- Resource usage (alloc_stats.cc).
  // GET /v1/client/allocation/:id/stats: the running tasks of the
  // allocation (only `task` unless empty). NotFound "Unknown allocation".
  Result<AllocUsage> AllocStats(const std::string& alloc_id, const std::string& task) const;

 private:
  StateStore& store_;
  const Node& node_;
  std::unique_ptr<ProcessTreeStats> trees_;  // samples kept between stats calls
};

// Nomad's AllocListStub of `alloc` as JSON; AllocatedResources only with
// `resources`, TaskStates only with `task_states`.
boost::json::value AllocStub(const Allocation& alloc, bool task_states, bool resources);
struct ServiceRegistration;
// Nomad's ServiceRegistration JSON (service/node_queries.cc).
boost::json::value RegistrationJson(const ServiceRegistration& registration);

// "host:port" -> host and port (4646 when absent).
std::pair<std::string, std::int64_t> SplitHttpAddr(const std::string& addr);

}  // namespace drover
