#include "service/job_spec.h"

namespace drover {
namespace {

constexpr Nanos kDefaultKillTimeout = 5 * kSecond;

}  // namespace

RestartPolicy DefaultRestartPolicy(const std::string& job_type) {
  if (job_type == kJobTypeBatch || job_type == kJobTypeSysBatch) {
    return RestartPolicy{3, 24 * kHour, 15 * kSecond, "fail", false};
  }
  return RestartPolicy{2, 30 * kMinute, 15 * kSecond, "fail", false};
}

std::optional<ReschedulePolicy> DefaultReschedulePolicy(const std::string& job_type) {
  if (job_type == kJobTypeService) {
    return ReschedulePolicy{0, 0, 30 * kSecond, "exponential", kHour, true};
  }
  if (job_type == kJobTypeBatch) {
    return ReschedulePolicy{1, 24 * kHour, 5 * kSecond, "constant", 0, false};
  }
  return std::nullopt;  // sysbatch allocations are not rescheduled
}

namespace {

// Nomad's api merges a submitted partial policy into the defaults; Drover's
// model cannot tell an absent field from a zero one, so a zero that could
// never pass validation is taken as absent.
void FillRestartPolicy(RestartPolicy& p, const RestartPolicy& defaults) {
  if (p.Interval == 0) p.Interval = defaults.Interval;
  if (p.Mode.empty()) p.Mode = defaults.Mode;
}

void FillReschedulePolicy(ReschedulePolicy& p, const ReschedulePolicy& defaults) {
  if (p.Interval == 0) p.Interval = defaults.Interval;
  if (p.Delay == 0) p.Delay = defaults.Delay;
  if (p.DelayFunction.empty()) p.DelayFunction = defaults.DelayFunction;
  if (p.MaxDelay == 0) p.MaxDelay = defaults.MaxDelay;
}

}  // namespace

void CanonicalizeJob(Job& job) {
  if (job.Region.empty()) job.Region = "global";
  if (job.Namespace.empty()) job.Namespace = "default";
  if (job.Name.empty()) job.Name = job.ID;
  if (job.Type.empty()) job.Type = kJobTypeService;
  if (job.Priority == 0) job.Priority = 50;
  if (job.Datacenters.empty()) job.Datacenters = {"*"};
  if (job.NodePool.empty()) job.NodePool = "default";
  const RestartPolicy default_restart = DefaultRestartPolicy(job.Type);
  const std::optional<ReschedulePolicy> default_reschedule = DefaultReschedulePolicy(job.Type);
  for (TaskGroup& tg : job.TaskGroups) {
    if (tg.Count == 0 && job.Type != kJobTypeSysBatch) tg.Count = 1;
    if (job.Type == kJobTypeSysBatch) tg.Count = 1;
    if (!tg.RestartPolicy) tg.RestartPolicy = default_restart;
    FillRestartPolicy(*tg.RestartPolicy, default_restart);
    if (!tg.ReschedulePolicy) tg.ReschedulePolicy = default_reschedule;
    if (tg.ReschedulePolicy && default_reschedule)
      FillReschedulePolicy(*tg.ReschedulePolicy, *default_reschedule);
    if (!tg.EphemeralDisk) tg.EphemeralDisk = EphemeralDisk{false, 300, false};
    if (tg.EphemeralDisk->SizeMB == 0) tg.EphemeralDisk->SizeMB = 300;
    for (Task& t : tg.Tasks) {
      if (t.KillTimeout == 0) t.KillTimeout = kDefaultKillTimeout;
      if (!t.LogConfig) t.LogConfig = LogConfig{10, 10, false};
      if (t.LogConfig->MaxFiles == 0) t.LogConfig->MaxFiles = 10;
      if (t.LogConfig->MaxFileSizeMB == 0) t.LogConfig->MaxFileSizeMB = 10;
      if (!t.Resources) t.Resources = Resources{};
      if (t.Resources->CPU == 0) t.Resources->CPU = 100;
      if (t.Resources->MemoryMB == 0) t.Resources->MemoryMB = 300;
      if (t.RestartPolicy) FillRestartPolicy(*t.RestartPolicy, *tg.RestartPolicy);
    }
  }
}

bool SameJobSpec(const Job& a, const Job& b) {
  auto strip = [](Job j) {
    j.CreateIndex = j.ModifyIndex = j.JobModifyIndex = 0;
    j.Version = 0;
    j.SubmitTime = 0;
    j.Status.clear();
    j.StatusDescription.clear();
    j.Stable = false;
    return j;
  };
  return strip(a) == strip(b);
}

}  // namespace drover
