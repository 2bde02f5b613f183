// Nomad's JobSummary and JobScaleStatus, computed from a job's allocations
// and evaluations as they stand (GET /v1/job/:id/summary, .../scale).
//
// Nomad keeps its summary as a table updated with every allocation change;
// Drover derives it on read, so it can never drift from the allocations.
// The functions here are pure; service/job_api.h reads their inputs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "service/scaling.h"
#include "storage/model.h"

namespace drover {

// Allocations of one task group by client status (Nomad's TaskGroupSummary).
struct TaskGroupSummary {
  std::int64_t Queued = 0;    // placements the latest evaluation could not make
  std::int64_t Complete = 0;
  std::int64_t Failed = 0;
  std::int64_t Running = 0;
  std::int64_t Starting = 0;  // client status "pending"
  std::int64_t Lost = 0;
  std::int64_t Unknown = 0;
  friend bool operator==(const TaskGroupSummary&, const TaskGroupSummary&) = default;
};

// Child jobs (dispatched or periodic) of a parent job, by status.
struct JobChildrenSummary {
  std::int64_t Pending = 0;
  std::int64_t Running = 0;
  std::int64_t Dead = 0;
};

struct JobSummary {
  std::string JobID;
  std::string Namespace;
  std::map<std::string, TaskGroupSummary> Summary;  // every group of the job
  JobChildrenSummary Children;
  std::uint64_t CreateIndex = 0;  // the job's
  std::uint64_t ModifyIndex = 0;  // the latest change of anything counted
};

// As Nomad: only allocations of the job as registered now (same
// CreateIndex: not of an earlier job of the same ID that was purged) count;
// each counts by its ClientStatus. Queued is the latest evaluation's
// QueuedAllocations (evaluations without them, such as blocked ones, are
// skipped). `child_statuses` are the Status of each child job.
JobSummary SummarizeJob(const Job& job, const std::vector<Allocation>& allocs,
                        const std::vector<Evaluation>& evals,
                        const std::vector<std::string>& child_statuses);

struct TaskGroupScaleStatus {
  std::int64_t Desired = 0;  // the group's Count
  std::int64_t Placed = 0;   // allocations not terminal
  std::int64_t Running = 0;
  std::int64_t Healthy = 0;  // by the deployment health Nomad records
  std::int64_t Unhealthy = 0;
  std::vector<ScalingEvent> Events;  // newest first
};

struct JobScaleStatus {
  std::string JobID;
  std::string Namespace;
  std::uint64_t JobCreateIndex = 0;
  std::uint64_t JobModifyIndex = 0;  // the job's ModifyIndex, as Nomad fills it
  bool JobStopped = false;
  std::map<std::string, TaskGroupScaleStatus> TaskGroups;
  std::uint64_t Index = 0;  // max of the job's, the counted allocations' and the events'
};

// Nomad's Job.ScaleStatus: allocations that are not terminal (desired stop
// or evict, or a terminal client status) are placed; canaries are skipped.
JobScaleStatus ScaleStatusOf(const Job& job, const std::vector<Allocation>& allocs,
                             const JobScalingEvents& events);

}  // namespace drover
