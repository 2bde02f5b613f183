// Agent: the composition root. It opens the state store (running
// migrations), identifies this node, restores and runs the lifecycle
// engine, and offers the operations the HTTP API needs. Every write is one
// store change; the engine is told about the allocations it touched.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "lifecycle/engine.h"
#include "service/acl.h"
#include "service/deployments.h"
#include "service/gc.h"
#include "service/history.h"
#include "service/host_stats.h"
#include "service/job_api.h"
#include "service/namespaces.h"
#include "service/node.h"
#include "service/node_drain.h"
#include "service/node_meta.h"
#include "service/queries.h"
#include "service/timers.h"
#include "service/variables.h"
#include "storage/model.h"
#include "storage/state_store.h"

namespace drover {

struct AgentConfig {
  std::string data_dir;
  std::string http_addr = "127.0.0.1:4646";
  std::string region = "global";
  std::string datacenter = "dc1";
  std::string node_name;  // default: the host name
  std::string node_class;
  StringMap meta;
  // client.options: Nomad's string options; Drover reads the task user
  // lists and drover.pids_max from it (lifecycle/containment.h).
  StringMap client_options;
  std::size_t gc_max_allocs = 50;  // client.gc_max_allocs
  // client.max_kill_timeout: caps every task's KillTimeout (Nomad: 30s).
  Nanos max_kill_timeout = 30 * kSecond;
  // Event journal retention (journal_max_events, journal_max_age_seconds):
  // older entries are folded into the replay snapshot every 5 minutes.
  std::size_t journal_max_events = 100'000;
  Nanos journal_max_age = 7 * 24 * kHour;
  bool dev = false;  // a throw-away data dir; tasks are stopped on exit
  bool acl_enabled = false;  // acl.enabled: tokens required (service/acl.h)
  // telemetry.prometheus_metrics: /v1/metrics?format=prometheus (Nomad's
  // default: off, answered 415).
  bool prometheus_metrics = false;
  // telemetry.publish_allocation_metrics: per-task gauges
  // (nomad.client.allocs.memory.*, .cpu.*) in /v1/metrics (Nomad: off).
  bool publish_allocation_metrics = false;
  // Host names (besides IP literals, "localhost", the machine's host name
  // and the node name) that a request's Host header may carry: the guard
  // against DNS rebinding (http.allowed_hosts).
  std::vector<std::string> allowed_hosts;
  std::string version;
};

struct JobDeregisterResult {
  std::string EvalID;
  std::uint64_t EvalCreateIndex = 0;
  std::uint64_t JobModifyIndex = 0;
  std::uint64_t Index = 0;
};

struct AllocStopResult {
  std::string EvalID;
  std::uint64_t Index = 0;
};

class Agent : private EngineListener {
 public:
  static Result<std::unique_ptr<Agent>> Create(AgentConfig config);
  ~Agent();

  // Stops the engine; tasks keep running unless the agent is in dev mode.
  void Shutdown();

  const AgentConfig& config() const { return config_; }
  const Node& node() const { return node_; }
  // The store, for the service layer, cmd/ and tests. The HTTP API reads
  // through queries() and writes through the methods below, never through
  // this (docs/design.md, "The api/service boundary"; a test checks it).
  StateStore& store() { return *store_; }
  // The read side: every state read the HTTP API makes, and the watches
  // its blocking queries and streams wait on (service/queries.h).
  Queries& queries() { return *queries_; }
  AclService& acl() { return *acl_; }
  std::size_t RunningAllocs() const;
  // The client endpoints: host stats and allocation directory GC.
  const HostStatsCollector& host_stats() const { return *host_stats_; }
  const NodeCapacity& capacity() const { return capacity_; }
  AllocGarbageCollector& gc() { return *gc_; }
  // Namespaces and variables (/v1/namespace*, /v1/var*).
  NamespaceService& namespaces() { return *namespaces_; }
  VariableService& variables() { return *variables_; }
  // Job summary, scale, evaluate, services (service/job_api.h) and the
  // node's eligibility, drain and purge (service/node_drain.h).
  JobApi& jobs() { return *jobs_; }
  NodeDrainer& drainer() { return *drainer_; }
  // Job updates, deployments, job versions, revert and plan.
  Deployments& deployments() { return *deployments_; }

  // PUT /v1/jobs. The job is canonicalized and validated; an unchanged job
  // keeps its version and places nothing new.
  Result<JobRegisterResult> RegisterJob(Job job);
  // DELETE /v1/job/:id: stops the job's allocations; `purge` removes it.
  Result<JobDeregisterResult> DeregisterJob(const std::string& ns, const std::string& id,
                                            bool purge);

  // POST /v1/allocation/:id/stop: the allocation stops and, unless its job
  // is stopped, a replacement is placed (Nomad migrates it), linked by
  // PreviousAllocation / NextAllocation.
  Result<AllocStopResult> StopAlloc(const std::string& alloc_id);
  // The client alloc restart and signal endpoints (see Engine).
  Status RestartAlloc(const std::string& alloc_id, const std::string& task, bool all_tasks);
  Status SignalAlloc(const std::string& alloc_id, const std::string& task,
                     const std::string& signal);

  // alloc exec (api/exec_routes.cc). The allocation's namespace, or
  // NotFound "Unknown allocation \"<id>\"".
  Result<std::string> AllocNamespace(const std::string& alloc_id);
  // Starts the helper that runs `command` in `task` of the allocation
  // (lifecycle/exec_spawn.h). `node_exec`: the caller holds Nomad's
  // alloc-node-exec, which raw_exec tasks (no filesystem isolation) need;
  // PermissionDenied without it. Other errors as Engine::FindExecTarget.
  Result<ExecHelper> StartExec(const std::string& alloc_id, const std::string& task,
                               const std::vector<std::string>& command, bool tty,
                               bool node_exec);

  // The job's Status as Nomad derives it (Queries::JobStatus).
  Result<std::string> JobStatus(const Job& job) const;

  // POST /v1/client/metadata: validates and applies `update` to this
  // node's dynamic metadata (service/node_meta.h).
  Result<NodeMetaView> ApplyNodeMeta(const DynamicMeta& update);
  // The journal history of one allocation or job (service/history.h).
  Result<HistoryReply> History(const HistoryRequest& request) const;

 private:
  Agent(AgentConfig config, std::unique_ptr<StateStore> store, Node node, NodeCapacity cap);

  // EngineListener: a failed allocation is rescheduled by its group's
  // ReschedulePolicy through a delayed follow-up evaluation.
  void AllocTerminal(const std::string& alloc_id, const std::string& client_status) override;
  Status ScheduleReschedule(const std::string& alloc_id);
  void Reschedule(const std::string& alloc_id, const std::string& eval_id);
  // Re-arms follow-up evaluations that an earlier agent left pending.
  Status RearmFollowups();
  // The node as stored now: its SchedulingEligibility decides placements.
  Node SchedulingNode() const;
  // The compactor thread: folds old journal entries into the snapshot a
  // second after start (not before serving: on a long journal it takes a
  // while), then every 5 minutes. On its own thread so that a long fold
  // delays no timer; Shutdown() stops it part-way, writing nothing.
  void RunCompactor();

  AgentConfig config_;
  std::unique_ptr<StateStore> store_;
  Node node_;
  NodeCapacity capacity_;
  Timers timers_;
  std::thread compactor_;
  std::mutex compactor_mu_;
  std::condition_variable compactor_wake_;
  std::atomic<bool> compactor_stop_{false};
  std::unique_ptr<HostStatsCollector> host_stats_;
  std::unique_ptr<AllocGarbageCollector> gc_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<AclService> acl_;
  std::unique_ptr<Queries> queries_;
  std::unique_ptr<NamespaceService> namespaces_;
  std::unique_ptr<VariableService> variables_;  // its lock timers run on timers_
  std::unique_ptr<JobApi> jobs_;
  std::unique_ptr<NodeDrainer> drainer_;
  std::unique_ptr<Deployments> deployments_;
};

}  // namespace drover
