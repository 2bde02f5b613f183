#include "service/job_api.h"

#include "common/log.h"
#include "service/agent.h"
#include "service/evals.h"
#include "storage/codec.h"

namespace drover {
namespace {

constexpr const char* kAllocRescheduled = "alloc was rescheduled because it failed";

Result<Job> FindJob(const StateStore& store, const std::string& ns, const std::string& id) {
  ASSIGN_OR_RETURN(std::optional<Job> job, store.GetJob(ns, id));
  if (!job) return NotFound("job not found");
  return std::move(*job);
}

Result<JobScalingEvents> LoadScalingEvents(const StateStore& store, const std::string& ns,
                                           const std::string& id) {
  ASSIGN_OR_RETURN(std::optional<std::string> text, store.GetScalingEvents(ns, id));
  if (!text) return JobScalingEvents{};
  return DecodeScalingEvents(*text);
}

const TaskGroup* FindGroup(const Job& job, const std::string& name) {
  for (const TaskGroup& tg : job.TaskGroups) {
    if (tg.Name == name) return &tg;
  }
  return nullptr;
}

}  // namespace

Result<JobSummary> JobApi::Summary(const std::string& ns, const std::string& id) const {
  const StateStore& store = agent_.store();
  ASSIGN_OR_RETURN(Job job, FindJob(store, ns, id));
  ASSIGN_OR_RETURN(std::vector<Allocation> allocs, store.ListAllocsByJob(ns, id));
  ASSIGN_OR_RETURN(std::vector<Evaluation> evals, store.ListEvals());
  std::vector<std::string> children;
  if (!job.Periodic.IsNull() || !job.ParameterizedJob.IsNull()) {
    ASSIGN_OR_RETURN(std::vector<Job> jobs, store.ListJobs());
    for (const Job& j : jobs) {
      if (j.Namespace != ns || j.ParentID != id) continue;
      ASSIGN_OR_RETURN(std::string status, agent_.JobStatus(j));
      children.push_back(std::move(status));
    }
  }
  return SummarizeJob(job, allocs, evals, children);
}

Result<JobScaleStatus> JobApi::ScaleStatus(const std::string& ns, const std::string& id) const {
  const StateStore& store = agent_.store();
  ASSIGN_OR_RETURN(Job job, FindJob(store, ns, id));
  ASSIGN_OR_RETURN(std::vector<Allocation> allocs, store.ListAllocsByJob(ns, id));
  ASSIGN_OR_RETURN(JobScalingEvents events, LoadScalingEvents(store, ns, id));
  return ScaleStatusOf(job, allocs, events);
}

Result<JobRegisterResult> JobApi::Scale(const ScaleRequest& req) {
  RETURN_IF_ERROR(ValidateScaleRequest(req));
  StateStore& store = agent_.store();
  ASSIGN_OR_RETURN(std::optional<Job> found, store.GetJob(req.ns, req.job_id));
  if (!found) return NotFound("job \"" + req.job_id + "\" not found");
  Job job = std::move(*found);
  const std::string group = req.Target.at("Group");
  const TaskGroup* tg = FindGroup(job, group);
  if (tg == nullptr) {
    return InvalidArgument("task group \"" + group +
                           "\" specified for scaling does not exist in job");
  }

  ScalingEvent event;
  event.Time = NowNanos();
  event.PreviousCount = tg->Count;
  event.Count = req.Count;
  event.Message = req.Message;
  event.Error = req.Error;
  event.Meta = req.Meta;

  JobRegisterResult out;
  if (req.Count) {
    if (req.JobModifyIndex > 0 && req.JobModifyIndex != job.JobModifyIndex) {
      return Internal("Enforcing job modify index " + std::to_string(req.JobModifyIndex) +
                      ": job exists with conflicting job modify index: " +
                      std::to_string(job.JobModifyIndex));
    }
    for (TaskGroup& g : job.TaskGroups) {
      if (g.Name == group) g.Count = *req.Count;
    }
    if (job.Stop) {
      // Nomad registers a stopped job stopped: the new count is recorded
      // and nothing is placed until the job runs again.
      ASSIGN_OR_RETURN(out, StoreStoppedJob(std::move(job)));
    } else {
      // The registration path canonicalizes, validates (the node's capacity
      // bounds every Count) and places or stops what the new count asks.
      ASSIGN_OR_RETURN(out, agent_.RegisterJob(std::move(job)));
      event.EvalID = out.EvalID;
    }
  } else {
    out.JobModifyIndex = job.ModifyIndex;
  }

  auto index = store.Apply([&](WriteTxn& txn) -> Status {
    // Read inside the change: Apply serialises writers.
    ASSIGN_OR_RETURN(JobScalingEvents events, LoadScalingEvents(store, req.ns, req.job_id));
    event.CreateIndex = txn.index();
    AddScalingEvent(events, group, event);
    txn.PutScalingEvents(req.ns, req.job_id, EncodeScalingEvents(events));
    return Status::Ok();
  });
  RETURN_IF_ERROR(index.status());
  out.Index = *index;
  log::Info("jobs: scaled " + req.job_id + "." + group +
            (req.Count ? " to " + std::to_string(*req.Count) : std::string(" (event only)")));
  return out;
}

Result<JobRegisterResult> JobApi::StoreStoppedJob(Job job) {
  JobRegisterResult out;
  auto index = agent_.store().Apply([&](WriteTxn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<Job> current, agent_.store().GetJob(job.Namespace, job.ID));
    if (!current) return NotFound("job \"" + job.ID + "\" not found");
    job.Version = current->Version + 1;
    job.ModifyIndex = job.JobModifyIndex = txn.index();
    job.SubmitTime = NowNanos();
    txn.PutJob(job);
    txn.AddEvent(MakeEvent("Job", "JobRegistered", job.ID, job.Namespace, EncodeJson(job)));
    out.JobModifyIndex = txn.index();
    return Status::Ok();
  });
  RETURN_IF_ERROR(index.status());
  out.Index = *index;
  return out;
}

Result<JobRegisterResult> JobApi::Evaluate(const std::string& ns, const std::string& id,
                                           bool force_reschedule) {
  StateStore& store = agent_.store();
  ASSIGN_OR_RETURN(std::optional<Job> job, store.GetJob(ns, id));
  if (!job) return Internal("job not found");
  if (!job->Periodic.IsNull()) return Internal("can't evaluate periodic job");
  if (!job->ParameterizedJob.IsNull() && !job->Dispatched) {
    return Internal("can't evaluate parameterized job");
  }

  // Failed allocations without a replacement whose group may reschedule
  // (Nomad's ReschedulePolicy.Enabled) are replaced now.
  std::vector<std::string> forced;
  if (force_reschedule) {
    ASSIGN_OR_RETURN(std::vector<Allocation> allocs, store.ListAllocsByJob(ns, id));
    for (const Allocation& a : allocs) {
      const TaskGroup* tg = FindGroup(*job, a.TaskGroup);
      if (tg == nullptr || !tg->ReschedulePolicy ||
          !(tg->ReschedulePolicy->Attempts > 0 || tg->ReschedulePolicy->Unlimited)) {
        continue;
      }
      if (a.NextAllocation.empty() && a.ClientStatus == kAllocClientFailed &&
          a.DesiredStatus == kAllocDesiredRun) {
        forced.push_back(a.ID);
      }
    }
  }
  for (const std::string& alloc_id : forced) {
    ASSIGN_OR_RETURN(AllocStopResult stopped, agent_.StopAlloc(alloc_id));
    (void)stopped;
  }

  JobRegisterResult out;
  auto index = store.Apply([&](WriteTxn& txn) -> Status {
    const Nanos now = NowNanos();
    for (const std::string& alloc_id : forced) {
      ASSIGN_OR_RETURN(std::optional<Allocation> a, store.GetAlloc(alloc_id));
      if (!a) continue;
      a->DesiredTransition.text = R"({"Migrate":null,"Reschedule":null,"ForceReschedule":true})";
      a->DesiredDescription = kAllocRescheduled;
      a->ModifyIndex = a->AllocModifyIndex = txn.index();
      a->ModifyTime = now;
      txn.PutAlloc(*a);
      txn.AddEvent(AllocationEvent("AllocationUpdated", *a));
    }
    Evaluation e = CompleteEval(*job, "job-register", txn.index(), now);
    e.NodeID = agent_.node().ID;
    PutEvalWithEvent(txn, e);
    out.EvalID = e.ID;
    out.EvalCreateIndex = txn.index();
    out.JobModifyIndex = job->ModifyIndex;
    return Status::Ok();
  });
  RETURN_IF_ERROR(index.status());
  out.Index = *index;
  return out;
}

Result<JobApi::Services> JobApi::JobServices(const std::string& ns, const std::string& id) const {
  const StateStore& store = agent_.store();
  Services out;
  out.index = store.TableIndex(Table::kAllocs);
  ASSIGN_OR_RETURN(Job job, FindJob(store, ns, id));
  (void)job;
  ASSIGN_OR_RETURN(std::vector<Allocation> allocs, store.ListAllocsByJob(ns, id));
  for (const Allocation& a : allocs) {
    for (ServiceRegistration& r : AllocServiceRegistrations(a, agent_.node())) {
      out.registrations.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace drover
