// This node's scheduling eligibility, drain and purge
// (POST /v1/node/:id/{eligibility,drain,purge}), as Nomad's Node RPCs and
// its drainer do them, on a cluster of one node.
//
// Eligibility: an ineligible node takes no new placements (the planner
// fails them, with a blocked evaluation, as Nomad does when no node is
// eligible). When the node becomes eligible again, every job that misses
// placements (a blocked evaluation, or a service job with fewer live
// allocations than its count) is placed again through Agent::RegisterJob.
//
// Drain (a DrainStrategy on the node, shown while the drain lasts; the
// node becomes ineligible at once): as Nomad's drainer, allocations of
// service and sysbatch jobs are stopped marked DesiredTransition.Migrate
// (through Agent::StopAlloc: "alloc is being migrated"; a replacement
// cannot be placed on an ineligible node); batch allocations may finish
// until the deadline; system jobs' allocations would go last and stay with
// IgnoreSystemJobs (Drover runs no system jobs). At the deadline
// (Deadline > 0: ForceDeadline; < 0: at once; 0: none) every remaining
// allocation is stopped. The drain is complete once every allocation that
// had to stop is terminal: the strategy is removed, LastDrain says
// "complete", the node stays ineligible. A drain in progress resumes after
// an agent restart.
//
// Purge: Nomad deregisters the node; its client, still running, registers
// again at once. Here the agent is that client: the node is registered
// anew (same ID), its allocations keep running, and an evaluation is
// created for each job with allocations on it.
//
// Node changes are journaled as Nomad's Node events (NodeEligibility,
// NodeDrain, NodeRegistration).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "service/timers.h"
#include "storage/model.h"
#include "storage/watch.h"

namespace drover {

class Agent;

inline constexpr const char* kNodeEligible = "eligible";
inline constexpr const char* kNodeIneligible = "ineligible";

// Nomad's DrainSpec.
struct DrainSpec {
  Nanos Deadline = 0;  // < 0: force now; 0: no deadline
  bool IgnoreSystemJobs = false;
};

// The reply of the node write endpoints (NodeDrainUpdateResponse,
// NodeEligibilityUpdateResponse, NodeUpdateResponse).
struct NodeUpdateResult {
  std::uint64_t NodeModifyIndex = 0;
  std::vector<std::string> EvalIDs;
  std::uint64_t EvalCreateIndex = 0;
  std::uint64_t Index = 0;
};

class NodeDrainer {
 public:
  explicit NodeDrainer(Agent& agent);
  ~NodeDrainer();  // Stop()s

  // Resumes a drain an earlier agent left in progress.
  void Start();
  // Drops pending steps and joins the drainer's thread.
  void Stop();

  // Nomad's Node.UpdateEligibility. Errors (Nomad's 500s): "node not
  // found", `invalid scheduling eligibility "x"`, "can not set node's
  // scheduling eligibility to eligible while it is draining". Setting the
  // eligibility it has changes nothing (all zeros, as Nomad answers).
  Result<NodeUpdateResult> UpdateEligibility(const std::string& node_id,
                                             const std::string& eligibility);

  // Nomad's Node.UpdateDrain: `spec` starts or updates a drain, none
  // cancels it (and `mark_eligible` makes the node eligible). `meta` is
  // kept in LastDrain. "node not found" for another ID.
  Result<NodeUpdateResult> UpdateDrain(const std::string& node_id,
                                       const std::optional<DrainSpec>& spec, bool mark_eligible,
                                       const std::optional<StringMap>& meta,
                                       const std::string& accessor_id);

  // Nomad's Node.Deregister for the agent's own node.
  Result<NodeUpdateResult> Purge(const std::string& node_id);

 private:
  // One pass of the drainer (timer thread only): stops what must stop now,
  // completes the drain when nothing is left, else waits for the next
  // allocation change or the deadline.
  void Step();
  // Places again what jobs miss; the evaluations' IDs.
  std::vector<std::string> PlaceMissing();

  Agent& agent_;
  Timers timers_;
  std::mutex mu_;
  WatchId watch_ = 0;      // under mu_: the latest store watch, 0 if none
  bool stopped_ = false;   // under mu_
  Nanos deadline_armed_ = 0;  // timer thread only: the deadline a timer waits for
};

}  // namespace drover
