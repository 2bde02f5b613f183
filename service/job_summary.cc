#include "service/job_summary.h"

#include <boost/json.hpp>

#include <algorithm>

namespace drover {
namespace {

namespace json = boost::json;

// A field of an allocation's DeploymentStatus ({"Healthy": true|false|null,
// "Canary": bool, ...}): 1 true, 0 false, -1 absent or null.
int DeploymentFlag(const Allocation& a, const char* field) {
  if (a.DeploymentStatus.IsNull()) return -1;
  boost::system::error_code ec;
  json::value v = json::parse(a.DeploymentStatus.text, ec);
  if (ec || !v.is_object()) return -1;
  const json::value* f = v.get_object().if_contains(field);
  if (f == nullptr || !f->is_bool()) return -1;
  return f->get_bool() ? 1 : 0;
}

}  // namespace

JobSummary SummarizeJob(const Job& job, const std::vector<Allocation>& allocs,
                        const std::vector<Evaluation>& evals,
                        const std::vector<std::string>& child_statuses) {
  JobSummary s;
  s.JobID = job.ID;
  s.Namespace = job.Namespace;
  s.CreateIndex = job.CreateIndex;
  s.ModifyIndex = job.ModifyIndex;
  for (const TaskGroup& tg : job.TaskGroups) s.Summary[tg.Name] = TaskGroupSummary{};

  for (const Allocation& a : allocs) {
    if (a.JobID != job.ID || a.Namespace != job.Namespace) continue;
    // An allocation of an earlier job of this ID (purged, then registered
    // again) does not count.
    if (a.Job && a.Job->CreateIndex != job.CreateIndex) continue;
    auto group = s.Summary.find(a.TaskGroup);
    if (group == s.Summary.end()) continue;
    TaskGroupSummary& g = group->second;
    const std::string& st = a.ClientStatus;
    if (st == kAllocClientFailed) {
      ++g.Failed;
    } else if (st == kAllocClientLost) {
      ++g.Lost;
    } else if (st == "unknown") {
      ++g.Unknown;
    } else if (st == kAllocClientComplete) {
      ++g.Complete;
    } else if (st == kAllocClientRunning) {
      ++g.Running;
    } else if (st == kAllocClientPending) {
      ++g.Starting;
    } else {
      continue;  // not a client status Nomad knows
    }
    s.ModifyIndex = std::max(s.ModifyIndex, a.ModifyIndex);
  }

  // The latest evaluation of this job that recorded its queued placements.
  const Evaluation* latest = nullptr;
  for (const Evaluation& e : evals) {
    if (e.JobID != job.ID || e.Namespace != job.Namespace || !e.QueuedAllocations) continue;
    if (e.CreateIndex < job.CreateIndex) continue;
    if (latest == nullptr || e.CreateIndex > latest->CreateIndex ||
        (e.CreateIndex == latest->CreateIndex && e.ModifyIndex > latest->ModifyIndex)) {
      latest = &e;
    }
  }
  if (latest != nullptr) {
    for (const auto& [group, queued] : *latest->QueuedAllocations) {
      auto it = s.Summary.find(group);
      if (it != s.Summary.end()) it->second.Queued = queued;
    }
    s.ModifyIndex = std::max(s.ModifyIndex, latest->ModifyIndex);
  }

  for (const std::string& status : child_statuses) {
    if (status == "pending") {
      ++s.Children.Pending;
    } else if (status == "running") {
      ++s.Children.Running;
    } else if (status == "dead") {
      ++s.Children.Dead;
    }
  }
  return s;
}

JobScaleStatus ScaleStatusOf(const Job& job, const std::vector<Allocation>& allocs,
                             const JobScalingEvents& events) {
  JobScaleStatus out;
  out.JobID = job.ID;
  out.Namespace = job.Namespace;
  out.JobCreateIndex = job.CreateIndex;
  out.JobModifyIndex = job.ModifyIndex;
  out.JobStopped = job.Stop;
  out.Index = job.ModifyIndex;
  for (const TaskGroup& tg : job.TaskGroups) {
    TaskGroupScaleStatus& g = out.TaskGroups[tg.Name];
    g.Desired = tg.Count;
    if (auto it = events.find(tg.Name); it != events.end()) {
      g.Events = it->second;
      for (const ScalingEvent& e : it->second) out.Index = std::max(out.Index, e.CreateIndex);
    }
  }
  for (const Allocation& a : allocs) {
    if (DeploymentFlag(a, "Canary") == 1) continue;
    const bool terminal = a.DesiredStatus != kAllocDesiredRun || ClientTerminal(a.ClientStatus);
    if (terminal) continue;
    auto it = out.TaskGroups.find(a.TaskGroup);
    if (it == out.TaskGroups.end()) continue;
    TaskGroupScaleStatus& g = it->second;
    ++g.Placed;
    if (a.ClientStatus == kAllocClientRunning) ++g.Running;
    const int healthy = DeploymentFlag(a, "Healthy");
    if (healthy == 1) ++g.Healthy;
    if (healthy == 0) ++g.Unhealthy;
    out.Index = std::max(out.Index, a.ModifyIndex);
  }
  return out;
}

}  // namespace drover
