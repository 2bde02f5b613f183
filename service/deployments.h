// Job updates and deployments: what `PUT /v1/jobs` does once a job is
// admitted, the deployment watcher that moves rolling updates along, and
// the deployment, job version, revert and plan operations of the API.
//
// Every change of a job runs one evaluation (JobEvaluation below): the
// reconciler (service/reconciler.h) decides per group, the planner places,
// and one store change writes the job, the evaluation, the allocations
// (stopped, updated in place, placed), the deployment and their journal
// events. A job whose groups have an `update` block gets a Deployment; the
// watcher checks its allocations' health every second while it is active
// (task states: healthy once every main task has run for min_healthy_time,
// unhealthy when one fails or healthy_deadline passes), records it on the
// allocation (DeploymentStatus) and the deployment (HealthyAllocs, ...),
// and evaluates the job again so the next max_parallel replacements go.
// A deployment fails on an unhealthy allocation (at once when the group
// has no progress_deadline or the allocation cannot be rescheduled) or
// when its progress deadline passes; with auto_revert the job goes back to
// its latest stable version. A deployment that completes marks its job
// version Stable.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "service/node.h"
#include "service/reconciler.h"
#include "service/timers.h"
#include "storage/model.h"

namespace drover {

class StateStore;
class WriteTxn;

struct JobRegisterResult {
  std::string EvalID;
  std::uint64_t EvalCreateIndex = 0;
  std::uint64_t JobModifyIndex = 0;
  std::string Warnings;
  std::uint64_t Index = 0;
};

// POST /v1/job/:id/plan's answer (Nomad's JobPlanResponse, without Diff:
// the route adds it).
struct JobPlanResult {
  Job current;                 // the stored job, if any (for the diff)
  bool exists = false;
  Job proposed;                // canonicalized
  std::map<std::string, DesiredUpdates> desired;  // Annotations.DesiredTGUpdates
  std::map<std::string, AllocMetric> failed;      // FailedTGAllocs
  std::uint64_t JobModifyIndex = 0;
  std::string Warnings;
  std::uint64_t Index = 0;
};

// A deployment status change's answer (Nomad's DeploymentUpdateResponse).
struct DeploymentUpdateResult {
  std::string EvalID;
  std::uint64_t EvalCreateIndex = 0;
  std::uint64_t DeploymentModifyIndex = 0;
  std::optional<std::uint64_t> RevertedJobVersion;
  std::uint64_t Index = 0;
};

class Deployments {
 public:
  // `allocs_updated` hands changed allocation IDs to the engine after a
  // commit.
  Deployments(StateStore& store, const Node& node, const NodeCapacity& capacity,
              std::function<void(std::vector<std::string>)> allocs_updated);
  ~Deployments();

  // Checked inside every registration's store change (the namespace must
  // exist, service/namespaces.h); an error refuses the job.
  void SetAdmission(std::function<Status(const Job&)> admit);
  // The node that placements are planned on (its eligibility and drain as
  // stored); the constructor's node when unset.
  void SetSchedulingNode(std::function<Node()> node);
  // Starts the watcher on `timers` (it re-arms itself while deployments
  // are active); Kick() makes it look at once.
  void Start(Timers& timers);
  void Kick();

  // The job admitted (canonicalized, validated): stored as a new version
  // when its spec changed, then evaluated.
  Result<JobRegisterResult> Register(Job job);
  // POST /v1/job/:id/plan: the same evaluation, nothing written.
  Result<JobPlanResult> Plan(Job job);
  // POST /v1/job/:id/revert. NotFound "job \"<id>\" not found";
  // InvalidArgument for the current version, a missing version (Nomad's
  // text) or a failed EnforcePriorVersion.
  Result<JobRegisterResult> Revert(const std::string& ns, const std::string& id,
                                   std::uint64_t version,
                                   std::optional<std::uint64_t> enforce_prior_version);
  // Deregistration: active deployments of the job are cancelled.
  void CancelForStoppedJob(WriteTxn& txn, const std::string& ns, const std::string& id,
                           Nanos now);

  // Reads.
  std::uint64_t Index() const;  // the deployments table's index
  Result<std::vector<Deployment>> List() const;  // by ID
  Result<std::optional<Deployment>> Get(const std::string& id) const;
  // The job's deployments, newest first; `all`: also those of an earlier
  // job with the same ID (purged and registered again).
  Result<std::vector<Deployment>> ForJob(const std::string& ns, const std::string& id,
                                         bool all) const;
  Result<std::vector<Allocation>> Allocations(const std::string& deployment_id) const;
  // Every stored version of a job, newest first; NotFound when none.
  Result<std::vector<Job>> JobVersions(const std::string& ns, const std::string& id) const;

  // Deployment operations; NotFound "deployment not found". Each answers
  // Nomad's texts for a deployment that is not active.
  Result<DeploymentUpdateResult> Fail(const std::string& id);
  Result<DeploymentUpdateResult> Pause(const std::string& id, bool pause);
  Result<DeploymentUpdateResult> Promote(const std::string& id, bool all,
                                         const std::vector<std::string>& groups);
  Result<DeploymentUpdateResult> SetAllocHealth(const std::string& id,
                                                const std::vector<std::string>& healthy,
                                                const std::vector<std::string>& unhealthy);

  // One pass of the watcher (public for tests).
  void Watch();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace drover
