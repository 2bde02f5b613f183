#include "service/deployments.h"

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>

#include "common/log.h"
#include "common/uuid.h"
#include "lifecycle/task_env.h"
#include "service/evals.h"
#include "service/job_spec.h"
#include "service/planner.h"
#include "service/reschedule.h"
#include "storage/codec.h"
#include "storage/state_store.h"

namespace drover {
namespace {

namespace json = boost::json;

constexpr Nanos kWatchInterval = kSecond;

bool Live(const Allocation& a) {
  return a.DesiredStatus == kAllocDesiredRun && !ClientTerminal(a.ClientStatus);
}

Event DeploymentEvent(const char* type, const Deployment& d) {
  return MakeEvent("Deployment", type, d.ID, d.Namespace, EncodeJson(d), {d.JobID});
}

std::string DeploymentStatusJson(bool healthy, Nanos now, std::uint64_t index) {
  json::object o{{"Healthy", healthy},
                 {"Timestamp", FormatRFC3339Nano(GoTime::FromUnixNanos(now))},
                 {"Canary", false},
                 {"ModifyIndex", index}};
  return json::serialize(o);
}

// The job's most recent deployment (highest CreateIndex).
Result<std::optional<Deployment>> LatestDeployment(const StateStore& store, const std::string& ns,
                                                   const std::string& id) {
  ASSIGN_OR_RETURN(std::vector<Deployment> all, store.ListDeployments());
  std::optional<Deployment> latest;
  for (Deployment& d : all) {
    if (d.Namespace != ns || d.JobID != id) continue;
    if (!latest || d.CreateIndex > latest->CreateIndex) latest = std::move(d);
  }
  return latest;
}

// The newest stable version of the job (Nomad's latestStableJob).
Result<std::optional<Job>> LatestStableJob(const StateStore& store, const Job& job) {
  ASSIGN_OR_RETURN(std::vector<Job> versions, store.ListJobVersions(job.Namespace, job.ID));
  for (Job& v : versions) {
    if (v.Stable && v.CreateIndex == job.CreateIndex) return std::optional<Job>(std::move(v));
  }
  return std::optional<Job>();
}

// What one evaluation of a job writes. Allocations of the job are changed
// in the caller's vector (and named in `dirty`); new ones are `placed`.
struct Evaluated {
  Evaluation eval;
  std::optional<Evaluation> blocked;
  std::vector<Allocation> placed;
  std::vector<Deployment> deployments;
  std::optional<Job> stable_job;  // the job version marked Stable
  ReconcileResult decisions;
  std::map<std::string, AllocMetric> failed;
};

// Drover ignores `canary`; a job that asks for canaries hears so.
std::string CanaryWarnings(const Job& job) {
  std::string out;
  for (const TaskGroup& tg : job.TaskGroups) {
    std::optional<UpdateStrategy> s = UpdateStrategyOf(job, tg);
    if (!s || s->Canary <= 0) continue;
    if (!out.empty()) out += "\n";
    out += "Group \"" + tg.Name +
           "\" has a canary count: Drover does not place canaries; the group is updated as a "
           "rolling update";
  }
  return out;
}

void Touch(Allocation& a, std::uint64_t idx, Nanos now) {
  a.ModifyIndex = a.AllocModifyIndex = idx;
  a.ModifyTime = now;
}

}  // namespace

struct Deployments::Impl {
  StateStore& store;
  const Node& node;
  const NodeCapacity& capacity;
  std::function<void(std::vector<std::string>)> allocs_updated;
  Timers* timers = nullptr;
  // Set once before serving (SetAdmission, SetSchedulingNode).
  std::function<Status(const Job&)> admit;
  std::function<Node()> scheduling_node;
  std::atomic<bool> armed{false};
  std::mutex watch_mu;  // one watcher pass at a time

  // Runs the reconciler and the planner over `allocs` (the job's, possibly
  // changed earlier in this change) and `deployment` (likewise).
  Result<Evaluated> Evaluate(const Job& job, std::vector<Allocation>& allocs,
                             std::set<std::string>& dirty,
                             const std::optional<Deployment>& deployment, const char* trigger,
                             std::uint64_t idx, Nanos now) const {
    Evaluated ev;
    ev.eval = NewEval(job, trigger, idx, now, node.ID);
    ev.decisions = Reconcile(ReconcileInput{job, allocs, deployment ? &*deployment : nullptr, now});
    const ReconcileResult& rec = ev.decisions;

    std::optional<Deployment> dep;
    if (rec.created) {
      dep = *rec.created;
      dep->ID = NewUUID();
      dep->CreateIndex = dep->ModifyIndex = idx;
      dep->ModifyTime = now;
    } else if (deployment && rec.deployment_id == deployment->ID) {
      dep = *deployment;
    }
    const Deployment before = dep.value_or(Deployment{});
    for (const ReconcileResult::StatusUpdate& u : rec.deployment_updates) {
      if (!deployment || u.deployment_id != deployment->ID) continue;
      Deployment d = dep && dep->ID == u.deployment_id ? *dep : *deployment;
      d.Status = u.status;
      d.StatusDescription = u.description;
      d.ModifyIndex = idx;
      d.ModifyTime = now;
      if (u.status == kDeploymentSuccessful) {
        Job stable = job;
        stable.Stable = true;
        stable.ModifyIndex = idx;
        ev.stable_job = std::move(stable);
      }
      if (dep && dep->ID == d.ID) {
        dep = std::move(d);
      } else {
        ev.deployments.push_back(std::move(d));
      }
    }
    const std::string dep_id = dep ? dep->ID : "";
    ev.eval.DeploymentID = dep_id;

    std::map<std::string, Allocation*> by_id;
    for (Allocation& a : allocs) by_id[a.ID] = &a;
    std::set<std::string> stopping;
    auto stop = [&](const std::string& id, const std::string& why) -> Allocation* {
      auto it = by_id.find(id);
      if (it == by_id.end()) return nullptr;
      Allocation& a = *it->second;
      a.DesiredStatus = kAllocDesiredStop;
      a.DesiredDescription = why;
      Touch(a, idx, now);
      dirty.insert(a.ID);
      stopping.insert(a.ID);
      return &a;
    };
    for (const ReconcileResult::Stop& s : rec.stop) stop(s.alloc_id, s.description);
    for (const std::string& id : rec.inplace) {
      Allocation& a = *by_id.at(id);
      a.Job = job;
      a.EvalID = ev.eval.ID;
      if (a.DeploymentID != dep_id) {
        a.DeploymentID = dep_id;
        a.DeploymentStatus = RawJson{};
        if (dep && dep->TaskGroups.contains(a.TaskGroup)) dep->TaskGroups[a.TaskGroup].PlacedAllocs++;
      }
      Touch(a, idx, now);
      dirty.insert(a.ID);
    }

    std::map<std::string, std::vector<int>> to_place = rec.place;
    // (group, index) -> the allocation a destructive update replaces.
    std::map<std::pair<std::string, int>, Allocation*> replaces;
    for (const ReconcileResult::Replace& r : rec.destructive) {
      Allocation* old = stop(r.alloc_id, kAllocUpdating);
      if (old == nullptr) continue;
      to_place[r.group].push_back(r.index);
      replaces[{r.group, r.index}] = old;
    }

    if (!to_place.empty()) {
      ASSIGN_OR_RETURN(std::vector<Allocation> all, store.ListAllocs());
      std::vector<Allocation> live;
      for (Allocation& a : all) {
        if (a.Namespace == job.Namespace && a.JobID == job.ID) continue;
        if (Live(a)) live.push_back(std::move(a));
      }
      for (const Allocation& a : allocs) {
        if (Live(a) && !stopping.contains(a.ID)) live.push_back(a);
      }
      // The node as the scheduler sees it now (eligibility, drain).
      const Node target = scheduling_node ? scheduling_node() : node;
      PlanResult plan =
          ::drover::Plan(PlanRequest{job, live, to_place, target, capacity, ev.eval.ID, idx, now});
      for (Allocation& p : plan.placed) {
        auto r = replaces.find({p.TaskGroup, AllocIndex(p.Name)});
        if (r != replaces.end() && r->second->NextAllocation.empty()) {
          p.PreviousAllocation = r->second->ID;
          r->second->NextAllocation = p.ID;
        }
        p.DeploymentID = dep_id;
        if (dep && dep->TaskGroups.contains(p.TaskGroup)) dep->TaskGroups[p.TaskGroup].PlacedAllocs++;
      }
      ev.placed = std::move(plan.placed);
      ev.failed = plan.failed;
      ev.eval.QueuedAllocations = plan.queued;
      if (!plan.failed.empty()) {
        json::object failed;
        for (const auto& [group, metric] : plan.failed) failed[group] = ToJson(metric);
        ev.eval.FailedTGAllocs.text = json::serialize(failed);
        Evaluation blocked = NewEval(job, "queued-allocs", idx, now, "");
        blocked.Status = "blocked";
        blocked.StatusDescription = "created due to placement conflicts";
        blocked.PreviousEval = ev.eval.ID;
        ev.eval.BlockedEval = blocked.ID;
        ev.blocked = std::move(blocked);
      }
    } else {
      std::map<std::string, std::int64_t> queued;
      for (const TaskGroup& tg : job.TaskGroups) queued[tg.Name] = 0;
      ev.eval.QueuedAllocations = std::move(queued);
    }
    if (dep && (rec.created || !(*dep == before))) {
      if (!rec.created) {
        dep->ModifyIndex = idx;
        dep->ModifyTime = now;
      }
      ev.deployments.push_back(*dep);
    }
    return ev;
  }

  // Writes an evaluation's result and the changed allocations.
  void Write(WriteTxn& txn, const Evaluated& ev, const std::vector<Allocation>& allocs,
             const std::set<std::string>& dirty, std::vector<std::string>& touched) const {
    if (ev.stable_job) {
      txn.PutJob(*ev.stable_job);
      txn.AddEvent(MakeEvent("Job", "JobRegistered", ev.stable_job->ID,
                             ev.stable_job->Namespace, EncodeJson(*ev.stable_job)));
    }
    for (const Deployment& d : ev.deployments) {
      txn.PutDeployment(d);
      txn.AddEvent(DeploymentEvent("DeploymentStatusUpdate", d));
    }
    for (const Allocation& a : allocs) {
      if (!dirty.contains(a.ID)) continue;
      PutAllocWithEvent(txn, a);
      touched.push_back(a.ID);
    }
    for (const Allocation& a : ev.placed) {
      PutAllocWithEvent(txn, a);
      touched.push_back(a.ID);
    }
    if (ev.blocked) PutEvalWithEvent(txn, *ev.blocked);
    PutEvalWithEvent(txn, ev.eval);
  }

  // Stores `job` as a new version when its spec changed (or it was
  // stopped), then evaluates it. `job` becomes the job as stored.
  // `changed_allocs`, `changed_deployment`: the job's allocations and
  // latest deployment as this change already rewrote them (else they are
  // read from the store).
  Status RegisterInTxn(WriteTxn& txn, Job& job, const char* trigger, JobRegisterResult& out,
                       std::vector<std::string>& touched,
                       const std::vector<Allocation>* changed_allocs = nullptr,
                       const Deployment* changed_deployment = nullptr) const {
    // In the change, so that a namespace deleted meanwhile cannot be missed.
    if (admit) RETURN_IF_ERROR(admit(job));
    const std::uint64_t idx = txn.index();
    const Nanos now = NowNanos();
    ASSIGN_OR_RETURN(std::optional<Job> existing, store.GetJob(job.Namespace, job.ID));
    const bool changed = !existing || existing->Stop || !SameJobSpec(*existing, job);
    if (changed) {
      job.Version = existing ? existing->Version + 1 : 0;
      job.CreateIndex = existing ? existing->CreateIndex : idx;
      job.ModifyIndex = job.JobModifyIndex = idx;
      job.SubmitTime = now;
      job.Status = "pending";
      job.Stop = false;
      job.Stable = false;
      txn.PutJob(job);
      txn.AddEvent(MakeEvent("Job", "JobRegistered", job.ID, job.Namespace, EncodeJson(job)));
    } else {
      job = *existing;
    }
    std::vector<Allocation> allocs;
    if (changed_allocs != nullptr) {
      allocs = *changed_allocs;
    } else {
      ASSIGN_OR_RETURN(allocs, store.ListAllocsByJob(job.Namespace, job.ID));
    }
    std::optional<Deployment> latest;
    if (changed_deployment != nullptr) {
      latest = *changed_deployment;
    } else {
      ASSIGN_OR_RETURN(latest, LatestDeployment(store, job.Namespace, job.ID));
    }
    std::set<std::string> dirty;
    ASSIGN_OR_RETURN(Evaluated ev, Evaluate(job, allocs, dirty, latest, trigger, idx, now));
    Write(txn, ev, allocs, dirty, touched);
    out.EvalID = ev.eval.ID;
    out.EvalCreateIndex = idx;
    out.JobModifyIndex = job.JobModifyIndex;
    return Status::Ok();
  }

  // The deployment for a write endpoint: NotFound, or `terminal_text` when
  // it is no longer active.
  Result<Deployment> ActiveDeployment(const std::string& id, const char* terminal_text) const {
    ASSIGN_OR_RETURN(std::optional<Deployment> d, store.GetDeployment(id));
    if (!d) return NotFound("deployment not found");
    if (!DeploymentActive(*d)) return InvalidArgument(terminal_text);
    return *d;
  }

  // Marks `d` failed with `description`; with `revert`, registers the
  // job's latest stable version again (Nomad's rollback) and says so in
  // the description. Returns the reverted version, if any.
  Result<std::optional<std::uint64_t>> FailInTxn(
      WriteTxn& txn, Deployment& d, std::string description, bool revert,
      std::vector<std::string>& touched,
      const std::vector<Allocation>* changed_allocs = nullptr) const {
    const Nanos now = NowNanos();
    std::optional<Job> target;
    if (revert) {
      ASSIGN_OR_RETURN(std::optional<Job> job, store.GetJob(d.Namespace, d.JobID));
      std::optional<Job> stable;
      if (job) {
        ASSIGN_OR_RETURN(stable, LatestStableJob(store, *job));
      }
      if (!stable) {
        description += " - no stable job version to auto revert to";
      } else if (job && SameJobSpec(*job, *stable)) {
        description += " - not rolling back to stable job version " +
                       std::to_string(stable->Version) + " as current job has same specification";
      } else {
        description += " - rolling back to job version " + std::to_string(stable->Version);
        target = std::move(stable);
      }
    }
    d.Status = kDeploymentFailed;
    d.StatusDescription = description;
    d.ModifyIndex = txn.index();
    d.ModifyTime = now;
    txn.PutDeployment(d);
    txn.AddEvent(DeploymentEvent("DeploymentStatusUpdate", d));
    if (!target) return std::optional<std::uint64_t>();
    const std::uint64_t version = target->Version;
    Job job = std::move(*target);
    job.Stable = false;
    JobRegisterResult ignored;
    RETURN_IF_ERROR(
        RegisterInTxn(txn, job, "deployment-watcher", ignored, touched, changed_allocs, &d));
    log::Info("deployments: " + d.ID + " failed; job " + d.JobID + " reverted to version " +
              std::to_string(version));
    return std::optional<std::uint64_t>(version);
  }

  // An evaluation recording a deployment operation (Nomad creates one for
  // each).
  Evaluation OperationEval(WriteTxn& txn, const Deployment& d) const {
    Job shell;
    shell.ID = d.JobID;
    shell.Namespace = d.Namespace;
    shell.Priority = d.EvalPriority;
    shell.Type = kJobTypeService;
    shell.JobModifyIndex = d.JobSpecModifyIndex;
    Evaluation e = NewEval(shell, "deployment-watcher", txn.index(), NowNanos(), node.ID);
    e.DeploymentID = d.ID;
    PutEvalWithEvent(txn, e);
    return e;
  }

  // A user's change of an active deployment: `change` edits it; it is
  // written with an evaluation, as Nomad records each operation.
  Result<DeploymentUpdateResult> Operate(const std::string& id, const char* terminal_text,
                                         const char* event_type,
                                         const std::function<void(Deployment&)>& change) const {
    DeploymentUpdateResult out;
    auto index = store.Apply([&](WriteTxn& txn) -> Status {
      ASSIGN_OR_RETURN(Deployment d, ActiveDeployment(id, terminal_text));
      change(d);
      d.ModifyIndex = txn.index();
      d.ModifyTime = NowNanos();
      txn.PutDeployment(d);
      txn.AddEvent(DeploymentEvent(event_type, d));
      Evaluation e = OperationEval(txn, d);
      out.EvalID = e.ID;
      out.EvalCreateIndex = txn.index();
      return Status::Ok();
    });
    if (!index.ok()) return index.status();
    out.Index = out.DeploymentModifyIndex = *index;
    return out;
  }

  // One watcher step for one running deployment, inside `txn`.
  Status WatchOne(WriteTxn& txn, Deployment d, std::vector<std::string>& touched) const {
    const std::uint64_t idx = txn.index();
    const Nanos now = NowNanos();
    ASSIGN_OR_RETURN(std::optional<Job> job, store.GetJob(d.Namespace, d.JobID));
    if (!job || job->Version != d.JobVersion || job->CreateIndex != d.JobCreateIndex) {
      return Status::Ok();  // the next registration cancels it
    }
    ASSIGN_OR_RETURN(std::vector<Allocation> allocs, store.ListAllocsByJob(d.Namespace, d.JobID));
    std::set<std::string> dirty;
    bool progressed = false, fail = false, rollback = false, deadline_hit = false;
    for (Allocation& a : allocs) {
      if (a.DeploymentID != d.ID || a.DesiredStatus != kAllocDesiredRun) continue;
      if (DeploymentHealth(a)) continue;
      const TaskGroup* tg = GroupOf(a);
      auto dstate = d.TaskGroups.find(a.TaskGroup);
      if (tg == nullptr || dstate == d.TaskGroups.end()) continue;
      std::optional<UpdateStrategy> strategy = UpdateStrategyOf(*job, *tg);
      if (!strategy) continue;
      const AllocHealth health =
          AssessHealth(a, *strategy, std::max(a.CreateTime, d.CreateTime), now);
      if (health == AllocHealth::kUnset) continue;
      const bool healthy = health == AllocHealth::kHealthy;
      a.DeploymentStatus.text = DeploymentStatusJson(healthy, now, idx);
      a.ModifyIndex = idx;
      a.ModifyTime = now;
      dirty.insert(a.ID);
      DeploymentState& s = dstate->second;
      if (healthy) {
        s.HealthyAllocs++;
        if (s.ProgressDeadline > 0) s.RequireProgressBy = GoTime::FromUnixNanos(now + s.ProgressDeadline);
        progressed = true;
        continue;
      }
      s.UnhealthyAllocs++;
      // Nomad's shouldFailEarly: at once without a progress deadline, or
      // when the allocation will not be rescheduled.
      std::optional<ReschedulePolicy> policy = ReschedulePolicyOf(a);
      if (s.ProgressDeadline == 0 || !policy || !RescheduleEligible(a, *policy, now)) {
        fail = true;
        rollback = rollback || s.AutoRevert;
      }
    }
    if (!fail) {
      for (const auto& [group, s] : d.TaskGroups) {
        if (s.ProgressDeadline == 0 || s.RequireProgressBy.IsZero()) continue;
        if (s.HealthyAllocs >= s.DesiredTotal) continue;
        if (now > s.RequireProgressBy.unix_nanos) {
          fail = deadline_hit = true;
          rollback = rollback || s.AutoRevert;
        }
      }
    }
    if (fail) {
      for (const Allocation& a : allocs) {
        if (dirty.contains(a.ID)) {
          PutAllocWithEvent(txn, a);
          touched.push_back(a.ID);
        }
      }
      OperationEval(txn, d);
      return FailInTxn(txn, d,
                       deadline_hit ? "Failed due to progress deadline"
                                    : "Failed due to unhealthy allocations",
                       rollback, touched, &allocs)
          .status();
    }
    if (dirty.empty()) return Status::Ok();
    d.ModifyIndex = idx;
    d.ModifyTime = now;
    txn.PutDeployment(d);
    txn.AddEvent(DeploymentEvent("DeploymentAllocHealth", d));
    if (!progressed) {
      for (const Allocation& a : allocs) {
        if (dirty.contains(a.ID)) PutAllocWithEvent(txn, a);
      }
      return Status::Ok();
    }
    // Healthy allocations make room: evaluate the job again.
    ASSIGN_OR_RETURN(Evaluated ev,
                     Evaluate(*job, allocs, dirty, d, "deployment-watcher", idx, now));
    Write(txn, ev, allocs, dirty, touched);
    return Status::Ok();
  }
};

Deployments::Deployments(StateStore& store, const Node& node, const NodeCapacity& capacity,
                         std::function<void(std::vector<std::string>)> allocs_updated)
    : impl_(new Impl{store, node, capacity, std::move(allocs_updated)}) {}

Deployments::~Deployments() = default;

void Deployments::SetAdmission(std::function<Status(const Job&)> admit) {
  impl_->admit = std::move(admit);
}

void Deployments::SetSchedulingNode(std::function<Node()> node) {
  impl_->scheduling_node = std::move(node);
}

void Deployments::Start(Timers& timers) {
  impl_->timers = &timers;
  Kick();
}

void Deployments::Kick() {
  if (impl_->timers == nullptr || impl_->armed.exchange(true)) return;
  impl_->timers->After(0, [this] { Watch(); });
}

void Deployments::Watch() {
  std::lock_guard<std::mutex> lock(impl_->watch_mu);
  impl_->armed = false;
  auto all = impl_->store.ListDeployments();
  if (!all.ok()) {
    log::Error("deployments: " + all.status().ToString());
    return;
  }
  bool active = false;
  for (const Deployment& d : *all) {
    if (!DeploymentActive(d)) continue;
    active = true;
    if (d.Status != kDeploymentRunning) continue;
    std::vector<std::string> touched;
    auto index = impl_->store.Apply([&](WriteTxn& txn) -> Status {
      ASSIGN_OR_RETURN(std::optional<Deployment> now, impl_->store.GetDeployment(d.ID));
      if (!now || now->Status != kDeploymentRunning) return Status::Ok();
      return impl_->WatchOne(txn, *now, touched);
    });
    if (!index.ok()) {
      log::Error("deployments: watching " + d.ID + ": " + index.status().ToString());
    }
    if (!touched.empty()) impl_->allocs_updated(std::move(touched));
  }
  if (active && impl_->timers != nullptr && !impl_->armed.exchange(true)) {
    impl_->timers->After(kWatchInterval, [this] { Watch(); });
  }
}

Result<JobRegisterResult> Deployments::Register(Job job) {
  JobRegisterResult out;
  std::vector<std::string> touched;
  auto index = impl_->store.Apply([&](WriteTxn& txn) -> Status {
    return impl_->RegisterInTxn(txn, job, "job-register", out, touched);
  });
  if (!index.ok()) return index.status();
  out.Index = *index;
  out.Warnings = CanaryWarnings(job);
  if (!touched.empty()) impl_->allocs_updated(std::move(touched));
  Kick();
  return out;
}

Result<JobPlanResult> Deployments::Plan(Job job) {
  CanonicalizeJob(job);
  RETURN_IF_ERROR(ValidateJob(job, impl_->capacity));
  JobPlanResult out;
  out.Warnings = CanaryWarnings(job);
  const StateStore& store = impl_->store;
  out.Index = store.LatestIndex();
  const std::uint64_t idx = out.Index + 1;
  const Nanos now = NowNanos();
  ASSIGN_OR_RETURN(std::optional<Job> existing, store.GetJob(job.Namespace, job.ID));
  if (existing) {
    out.current = *existing;
    out.exists = true;
  }
  out.proposed = job;
  const bool changed = !existing || existing->Stop || !SameJobSpec(*existing, job);
  if (changed) {
    job.Version = existing ? existing->Version + 1 : 0;
    job.CreateIndex = existing ? existing->CreateIndex : idx;
    job.ModifyIndex = job.JobModifyIndex = idx;
    job.Stop = false;
  } else {
    job = *existing;
  }
  out.JobModifyIndex = existing ? existing->JobModifyIndex : 0;
  ASSIGN_OR_RETURN(std::vector<Allocation> allocs, store.ListAllocsByJob(job.Namespace, job.ID));
  ASSIGN_OR_RETURN(std::optional<Deployment> latest,
                   LatestDeployment(store, job.Namespace, job.ID));
  std::set<std::string> dirty;
  ASSIGN_OR_RETURN(Evaluated ev, impl_->Evaluate(job, allocs, dirty, latest, "job-register", idx, now));
  out.desired = ev.decisions.desired;
  out.failed = ev.failed;
  return out;
}

Result<JobRegisterResult> Deployments::Revert(const std::string& ns, const std::string& id,
                                              std::uint64_t version,
                                              std::optional<std::uint64_t> enforce_prior) {
  JobRegisterResult out;
  std::vector<std::string> touched;
  auto index = impl_->store.Apply([&](WriteTxn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<Job> cur, impl_->store.GetJob(ns, id));
    if (!cur) return NotFound("job \"" + id + "\" not found");
    if (version == cur->Version) return InvalidArgument("can't revert to current version");
    ASSIGN_OR_RETURN(std::vector<Job> versions, impl_->store.ListJobVersions(ns, id));
    auto it = std::find_if(versions.begin(), versions.end(), [&](const Job& j) {
      return j.Version == version && j.CreateIndex == cur->CreateIndex;
    });
    if (it == versions.end()) {
      return InvalidArgument("job \"" + id + "\" in namespace \"" + ns + "\" at version " +
                             std::to_string(version) + " not found");
    }
    if (enforce_prior && *enforce_prior != cur->Version) {
      return InvalidArgument("Current job has version " + std::to_string(cur->Version) +
                             "; enforcing version " + std::to_string(*enforce_prior));
    }
    Job job = *it;
    job.Stable = false;
    return impl_->RegisterInTxn(txn, job, "job-register", out, touched);
  });
  if (!index.ok()) return index.status();
  out.Index = *index;
  if (!touched.empty()) impl_->allocs_updated(std::move(touched));
  Kick();
  return out;
}

void Deployments::CancelForStoppedJob(WriteTxn& txn, const std::string& ns, const std::string& id,
                                      Nanos now) {
  auto all = impl_->store.ListDeployments();
  if (!all.ok()) return;
  for (Deployment& d : *all) {
    if (d.Namespace != ns || d.JobID != id || !DeploymentActive(d)) continue;
    d.Status = kDeploymentCancelled;
    d.StatusDescription = "Cancelled because job is stopped";
    d.ModifyIndex = txn.index();
    d.ModifyTime = now;
    txn.PutDeployment(d);
    txn.AddEvent(DeploymentEvent("DeploymentStatusUpdate", d));
  }
}

std::uint64_t Deployments::Index() const { return impl_->store.TableIndex(Table::kDeployments); }

Result<std::vector<Deployment>> Deployments::List() const { return impl_->store.ListDeployments(); }

Result<std::optional<Deployment>> Deployments::Get(const std::string& id) const {
  return impl_->store.GetDeployment(id);
}

Result<std::vector<Deployment>> Deployments::ForJob(const std::string& ns, const std::string& id,
                                                    bool all) const {
  ASSIGN_OR_RETURN(std::vector<Deployment> deployments, impl_->store.ListDeployments());
  ASSIGN_OR_RETURN(std::optional<Job> job, impl_->store.GetJob(ns, id));
  std::erase_if(deployments, [&](const Deployment& d) {
    if (d.Namespace != ns || d.JobID != id) return true;
    // As Nomad: without `all`, only deployments of the job as it now exists.
    return !all && job && d.JobCreateIndex != job->CreateIndex;
  });
  std::sort(deployments.begin(), deployments.end(), [](const Deployment& a, const Deployment& b) {
    return a.CreateIndex > b.CreateIndex;
  });
  return deployments;
}

Result<std::vector<Allocation>> Deployments::Allocations(const std::string& deployment_id) const {
  ASSIGN_OR_RETURN(std::optional<Deployment> d, impl_->store.GetDeployment(deployment_id));
  if (!d) return std::vector<Allocation>{};
  ASSIGN_OR_RETURN(std::vector<Allocation> allocs,
                   impl_->store.ListAllocsByJob(d->Namespace, d->JobID));
  std::erase_if(allocs, [&](const Allocation& a) { return a.DeploymentID != deployment_id; });
  return allocs;
}

Result<std::vector<Job>> Deployments::JobVersions(const std::string& ns,
                                                  const std::string& id) const {
  ASSIGN_OR_RETURN(std::optional<Job> job, impl_->store.GetJob(ns, id));
  if (!job) return NotFound("job versions not found");
  ASSIGN_OR_RETURN(std::vector<Job> versions, impl_->store.ListJobVersions(ns, id));
  // Versions of an earlier job under this ID (purged) are not this job's.
  std::erase_if(versions, [&](const Job& v) { return v.CreateIndex != job->CreateIndex; });
  // One entry per version: the newest write of it (Stable set later).
  std::vector<Job> out;
  for (Job& v : versions) {
    if (!out.empty() && out.back().Version == v.Version) {
      if (v.ModifyIndex > out.back().ModifyIndex) out.back() = std::move(v);
      continue;
    }
    out.push_back(std::move(v));
  }
  // The current job's entry is what `jobs` holds (its ModifyIndex moves).
  if (!out.empty() && out.front().Version == job->Version) out.front() = *job;
  return out;
}

Result<DeploymentUpdateResult> Deployments::Fail(const std::string& id) {
  DeploymentUpdateResult out;
  std::vector<std::string> touched;
  auto index = impl_->store.Apply([&](WriteTxn& txn) -> Status {
    ASSIGN_OR_RETURN(Deployment d, impl_->ActiveDeployment(id, "can't fail terminal deployment"));
    bool revert = false;
    for (const auto& [group, s] : d.TaskGroups) revert = revert || s.AutoRevert;
    Evaluation e = impl_->OperationEval(txn, d);
    out.EvalID = e.ID;
    out.EvalCreateIndex = txn.index();
    ASSIGN_OR_RETURN(out.RevertedJobVersion,
                     impl_->FailInTxn(txn, d, "Deployment marked as failed", revert, touched));
    return Status::Ok();
  });
  if (!index.ok()) return index.status();
  out.Index = out.DeploymentModifyIndex = *index;
  if (!touched.empty()) impl_->allocs_updated(std::move(touched));
  Kick();
  return out;
}

Result<DeploymentUpdateResult> Deployments::Pause(const std::string& id, bool pause) {
  auto out = impl_->Operate(id,
                            pause ? "can't pause terminal deployment"
                                  : "can't resume terminal deployment",
                            "DeploymentStatusUpdate", [&](Deployment& d) {
                              d.Status = pause ? kDeploymentPaused : kDeploymentRunning;
                              d.StatusDescription =
                                  pause ? "Deployment is paused" : "Deployment is running";
                            });
  Kick();
  return out;
}

Result<DeploymentUpdateResult> Deployments::Promote(const std::string& id, bool all,
                                                    const std::vector<std::string>& groups) {
  return impl_->Operate(id, "can't promote terminal deployment", "DeploymentPromotion",
                        [&](Deployment& d) {
                          // Drover places no canaries: promotion only records itself.
                          for (auto& [group, s] : d.TaskGroups) {
                            if (all || std::find(groups.begin(), groups.end(), group) !=
                                           groups.end()) {
                              s.Promoted = true;
                            }
                          }
                        });
}

Result<DeploymentUpdateResult> Deployments::SetAllocHealth(
    const std::string& id, const std::vector<std::string>& healthy,
    const std::vector<std::string>& unhealthy) {
  if (healthy.empty() && unhealthy.empty()) {
    return InvalidArgument("must specify at least one healthy/unhealthy allocation ID");
  }
  DeploymentUpdateResult out;
  std::vector<std::string> touched;
  auto index = impl_->store.Apply([&](WriteTxn& txn) -> Status {
    const std::uint64_t idx = txn.index();
    const Nanos now = NowNanos();
    ASSIGN_OR_RETURN(std::optional<Deployment> found, impl_->store.GetDeployment(id));
    if (!found) return NotFound("deployment not found");
    Deployment d = *found;
    if (!DeploymentActive(d)) {
      return InvalidArgument("Deployment \"" + d.ID + "\" has terminal status \"" + d.Status +
                             "\":");
    }
    ASSIGN_OR_RETURN(std::vector<Allocation> allocs,
                     impl_->store.ListAllocsByJob(d.Namespace, d.JobID));
    std::set<std::string> dirty;
    bool fail = false, rollback = false;
    auto mark = [&](const std::vector<std::string>& ids, bool is_healthy) -> Status {
      for (const std::string& aid : ids) {
        auto a = std::find_if(allocs.begin(), allocs.end(),
                              [&](const Allocation& x) { return x.ID == aid; });
        if (a == allocs.end()) {
          ASSIGN_OR_RETURN(std::optional<Allocation> other, impl_->store.GetAlloc(aid));
          if (!other) return InvalidArgument("unknown alloc \"" + aid + "\"");
          return InvalidArgument("alloc \"" + aid + "\" is not part of deployment \"" + id + "\"");
        }
        if (a->DeploymentID != id) {
          return InvalidArgument("alloc \"" + aid + "\" is not part of deployment \"" + id + "\"");
        }
        std::optional<bool> before = DeploymentHealth(*a);
        DeploymentState& s = d.TaskGroups[a->TaskGroup];
        if (before == true) s.HealthyAllocs--;
        if (before == false) s.UnhealthyAllocs--;
        (is_healthy ? s.HealthyAllocs : s.UnhealthyAllocs)++;
        if (!is_healthy) {
          fail = true;
          rollback = rollback || s.AutoRevert;
        }
        a->DeploymentStatus.text = DeploymentStatusJson(is_healthy, now, idx);
        a->ModifyIndex = idx;
        a->ModifyTime = now;
        dirty.insert(a->ID);
      }
      return Status::Ok();
    };
    RETURN_IF_ERROR(mark(healthy, true));
    RETURN_IF_ERROR(mark(unhealthy, false));
    Evaluation e = impl_->OperationEval(txn, d);
    out.EvalID = e.ID;
    out.EvalCreateIndex = idx;
    d.ModifyIndex = idx;
    d.ModifyTime = now;
    if (fail) {
      for (const Allocation& a : allocs) {
        if (dirty.contains(a.ID)) PutAllocWithEvent(txn, a);
      }
      ASSIGN_OR_RETURN(out.RevertedJobVersion,
                       impl_->FailInTxn(txn, d, "Failed due to unhealthy allocations", rollback,
                                        touched, &allocs));
      return Status::Ok();
    }
    txn.PutDeployment(d);
    txn.AddEvent(DeploymentEvent("DeploymentAllocHealth", d));
    ASSIGN_OR_RETURN(std::optional<Job> job, impl_->store.GetJob(d.Namespace, d.JobID));
    if (!job || job->Version != d.JobVersion) {
      for (const Allocation& a : allocs) {
        if (dirty.contains(a.ID)) PutAllocWithEvent(txn, a);
      }
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(Evaluated ev, impl_->Evaluate(*job, allocs, dirty, d, "deployment-watcher",
                                                   idx, now));
    impl_->Write(txn, ev, allocs, dirty, touched);
    return Status::Ok();
  });
  if (!index.ok()) return index.status();
  out.Index = out.DeploymentModifyIndex = *index;
  if (!touched.empty()) impl_->allocs_updated(std::move(touched));
  Kick();
  return out;
}

}  // namespace drover
