// The reconciler: Nomad's scheduler/reconciler reduced to one node. Given a
// job as stored, every allocation it has and its current deployment, it
// decides per task group what to stop, what to update in place, what to
// replace (destructive updates, limited by the group's `update` block) and
// which names to place, and whether a deployment is created or done.
// Pure: no store, no clock, no processes; the caller applies the result
// (service/deployments.cc) or only reports it (plan).
//
// Canaries are not supported: a group's `canary` is ignored and its
// update rolls like one without (the registration warns about it).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "storage/model.h"

namespace drover {

// A group's update block as Nomad's API canonicalizes it: the job's block
// merged under the group's, Nomad's defaults for what neither sets.
struct UpdateStrategy {
  Nanos Stagger = 30 * kSecond;
  std::int64_t MaxParallel = 1;
  std::string HealthCheck = "checks";
  Nanos MinHealthyTime = 10 * kSecond;
  Nanos HealthyDeadline = 5 * kMinute;
  Nanos ProgressDeadline = 10 * kMinute;
  bool AutoRevert = false;
  bool AutoPromote = false;
  std::int64_t Canary = 0;
  // Nomad's IsEmpty: an update block with max_parallel = 0 means none.
  bool IsEmpty() const { return MaxParallel == 0; }
};

// The group's strategy, or nullopt when neither the job nor the group has
// an update block or the job is not a service job (Nomad updates batch
// jobs without deployments). A field of the wrong type is skipped (job
// validation reports it).
std::optional<UpdateStrategy> UpdateStrategyOf(const Job& job, const TaskGroup& tg);

// Nomad's tasksUpdated: why the group's tasks in `b` cannot take over
// allocations running `a` in place ("task config", "task env", ...), or
// nullopt when the change is not destructive (count, update, reschedule,
// restart policies, constraints, services, kill timeout, log sizes...).
// A group missing from either job is destructive.
std::optional<std::string> DestructiveChange(const Job& a, const Job& b,
                                             const std::string& group);

// Nomad's DesiredUpdates: what the plan does per group.
struct DesiredUpdates {
  std::uint64_t Ignore = 0;
  std::uint64_t Place = 0;
  std::uint64_t Migrate = 0;
  std::uint64_t Stop = 0;
  std::uint64_t InPlaceUpdate = 0;
  std::uint64_t DestructiveUpdate = 0;
  std::uint64_t Canary = 0;
  std::uint64_t Preemptions = 0;
  friend bool operator==(const DesiredUpdates&, const DesiredUpdates&) = default;
};

struct ReconcileInput {
  const Job& job;  // as stored now (its Stop is handled by the caller)
  // Every allocation of the job, each with the Job it runs.
  const std::vector<Allocation>& allocs;
  // The job's most recent deployment, if any.
  const Deployment* deployment = nullptr;
  Nanos now = 0;
};

struct ReconcileResult {
  struct Stop {
    std::string alloc_id;
    std::string description;  // DesiredDescription
  };
  struct Replace {  // a destructive update: stop `alloc_id`, place its name
    std::string alloc_id;
    std::string group;
    int index = 0;
  };
  struct StatusUpdate {
    std::string deployment_id;
    std::string status;
    std::string description;
  };
  std::vector<Stop> stop;
  std::vector<std::string> inplace;  // take the new job in place
  std::vector<Replace> destructive;
  std::map<std::string, std::vector<int>> place;  // group -> name indexes
  std::map<std::string, DesiredUpdates> desired;  // by group
  // A deployment to create (ID, indexes and times left to the caller).
  std::optional<Deployment> created;
  // The current deployment (input or created) the changes belong to.
  std::string deployment_id;
  std::vector<StatusUpdate> deployment_updates;
};

// Nomad's texts for DesiredDescription.
inline constexpr const char* kAllocUpdating = "alloc is being updated due to job update";
inline constexpr const char* kAllocNotNeeded = "alloc not needed due to job update";

ReconcileResult Reconcile(const ReconcileInput& in);

// The allocation's health within a deployment, from its task states
// (Nomad's health_check "task_states"; "checks" is treated the same, as
// Drover runs no checks). `since`: when the allocation joined the
// deployment (its creation, or the deployment's for an in-place update).
enum class AllocHealth { kUnset, kHealthy, kUnhealthy };
AllocHealth AssessHealth(const Allocation& alloc, const UpdateStrategy& strategy, Nanos since,
                         Nanos now);

// The allocation's DeploymentStatus.Healthy: nullopt while unset.
std::optional<bool> DeploymentHealth(const Allocation& alloc);

}  // namespace drover
