// The job endpoints beyond register and stop: summary, scale status and
// scale, a forced evaluation, and the job's service registrations.
//
// Reads go to the store; writes go through the Agent's own operations
// (RegisterJob for a new count, StopAlloc for a forced reschedule), so job
// update semantics stay in one place.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "service/job_summary.h"
#include "service/scaling.h"
#include "service/services.h"
#include "storage/model.h"

namespace drover {

class Agent;
struct JobRegisterResult;

class JobApi {
 public:
  explicit JobApi(Agent& agent) : agent_(agent) {}

  // GET /v1/job/:id/summary. NotFound "job not found".
  Result<JobSummary> Summary(const std::string& ns, const std::string& id) const;

  // GET /v1/job/:id/scale. NotFound "job not found".
  Result<JobScaleStatus> ScaleStatus(const std::string& ns, const std::string& id) const;

  // POST /v1/job/:id/scale: Nomad's Job.Scale. Errors with Nomad's texts:
  // ValidateScaleRequest's; NotFound `job "x" not found`; InvalidArgument
  // for a group the job lacks; Internal (Nomad's 500) for a stale
  // JobModifyIndex. A stopped job stays stopped with the new count. With a
  // Count, EvalID and JobModifyIndex come from the registration; the
  // result's Index is the scaling event's.
  Result<JobRegisterResult> Scale(const ScaleRequest& req);

  // POST /v1/job/:id/evaluate: Nomad's Job.Evaluate. A new evaluation of
  // the job; with `force_reschedule`, each failed allocation whose group
  // may reschedule and that has no replacement is replaced now, and
  // marked DesiredTransition.ForceReschedule. Errors as Nomad's (500s):
  // "job not found", "can't evaluate periodic job", "can't evaluate
  // parameterized job".
  Result<JobRegisterResult> Evaluate(const std::string& ns, const std::string& id,
                                     bool force_reschedule);

  // GET /v1/job/:id/services: the registrations of the job's allocations
  // (service/services.h), and the allocations table's index. NotFound "job
  // not found" for an unknown job.
  struct Services {
    std::vector<ServiceRegistration> registrations;
    std::uint64_t index = 0;
  };
  Result<Services> JobServices(const std::string& ns, const std::string& id) const;

 private:
  // A stopped job with a new count: a new version, still stopped.
  Result<JobRegisterResult> StoreStoppedJob(Job job);

  Agent& agent_;
};

}  // namespace drover
