#include "service/agent.h"

#include <filesystem>
#include <map>

#include "common/checked_math.h"
#include "common/log.h"
#include "common/uuid.h"
#include "lifecycle/task_env.h"
#include "migrations/migrations.h"
#include "service/evals.h"
#include "service/job_spec.h"
#include "service/node_meta.h"
#include "service/planner.h"
#include "service/reschedule.h"
#include "storage/alloc_record.h"
#include "storage/codec.h"
#include "storage/journal.h"

namespace drover {
namespace {

constexpr const char* kAllocMigrating = "alloc is being migrated";
constexpr const char* kAllocRescheduled = "alloc was rescheduled because it failed";

std::string UnknownAllocation(const std::string& id) {
  return "Unknown allocation \"" + id + "\"";
}

bool Live(const Allocation& a) {
  return a.DesiredStatus == kAllocDesiredRun && !ClientTerminal(a.ClientStatus);
}

}  // namespace

Agent::Agent(AgentConfig config, std::unique_ptr<StateStore> store, Node node, NodeCapacity cap)
    : config_(std::move(config)),
      store_(std::move(store)),
      node_(std::move(node)),
      capacity_(cap),
      acl_(std::make_unique<AclService>(*store_, config_.acl_enabled, config_.data_dir)),
      queries_(std::make_unique<Queries>(*store_, node_)),
      namespaces_(std::make_unique<NamespaceService>(
          *store_, config_.region, [this](const Job& job) { return JobStatus(job); })),
      variables_(std::make_unique<VariableService>(
          *store_, [this](Nanos delay, std::function<void()> fn) {
            timers_.After(delay, std::move(fn));
          })) {}

Agent::~Agent() { Shutdown(); }

Result<std::unique_ptr<Agent>> Agent::Create(AgentConfig config) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return Internal("create data dir " + config.data_dir + ": " + ec.message());

  // The state store holds variables' Items in clear: only the agent's user
  // may read it (the rest of the data dir stays open to task users).
  const std::string state_dir = config.data_dir + "/state";
  std::filesystem::create_directories(state_dir, ec);
  std::filesystem::permissions(state_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  if (ec) return Internal("restrict " + state_dir + " to its owner: " + ec.message());

  StoreOptions options;
  options.migrations = migrations::All();
  ASSIGN_OR_RETURN(std::unique_ptr<StateStore> store,
                   StateStore::Open(config.data_dir + "/state", std::move(options)));
  log::Info("storage: opened " + config.data_dir + "/state at index " +
            std::to_string(store->LatestIndex()) + ", schema v" +
            std::to_string(store->schema_version()));

  ASSIGN_OR_RETURN(ContainmentOptions containment_options, ParseClientOptions(config.client_options));
  cgroup::Layout cgroups = DetectCgroups();
  if (cgroups.version == cgroup::Version::kNone) {
    log::Warn("containment: off, tasks run without cgroups: " + cgroups.off_reason);
  } else {
    log::Info(std::string("containment: cgroup v") + (cgroups.version == cgroup::Version::kV2 ? "2" : "1") +
              ", task groups under " +
              cgroups.parents[cgroups.version == cgroup::Version::kV2 ? cgroup::kUnified : "memory"] +
              ", pids.max " +
              std::to_string(containment_options.pids_max));
  }

  ASSIGN_OR_RETURN(std::string node_id, LoadOrCreateNodeID(*store));
  NodeCapacity cap = FingerprintCapacity(config.data_dir);
  ASSIGN_OR_RETURN(DynamicMeta dynamic_meta, LoadDynamicMeta(*store));
  NodeSettings settings{config.node_name, config.datacenter, config.node_class, config.http_addr,
                        MergeNodeMeta(config.meta, dynamic_meta)};
  Node node = BuildNode(node_id, settings, cap, config.version, NowNanos());
  AddContainmentAttributes(cgroups, node.Attributes);

  // Register the node (its fingerprint may have changed since last start).
  ASSIGN_OR_RETURN(std::optional<Node> existing, store->GetNode(node_id));
  if (existing) {
    // What operators set survives a restart: eligibility and a drain.
    node.SchedulingEligibility = existing->SchedulingEligibility;
    node.Drain = existing->Drain;
    node.DrainStrategy = existing->DrainStrategy;
    node.LastDrain = existing->LastDrain;
    node.Events = existing->Events;
  }
  auto written = store->Apply([&](WriteTxn& txn) {
    node.CreateIndex = existing ? existing->CreateIndex : txn.index();
    node.ModifyIndex = txn.index();
    txn.PutNode(node);
    txn.AddEvent(MakeEvent("Node", "NodeRegistration", node.ID, "", EncodeJson(node)));
    return Status::Ok();
  });
  RETURN_IF_ERROR(written.status());

  std::unique_ptr<Agent> agent(new Agent(std::move(config), std::move(store), node, cap));
  agent->host_stats_ = std::make_unique<HostStatsCollector>(
      HostStatsOptions{agent->config_.data_dir, static_cast<double>(cap.cpu_mhz)});
  agent->host_stats_->Start();
  agent->gc_ = std::make_unique<AllocGarbageCollector>(
      *agent->store_, GcOptions{agent->config_.data_dir, agent->config_.gc_max_allocs});
  agent->gc_->Start();
  EngineOptions engine_options{
      agent->config_.data_dir,
      NodeInfo{node.ID, node.Name, agent->config_.region, node.Datacenter,
               agent->config_.max_kill_timeout},
      agent.get(), containment_options};
  agent->engine_ = std::make_unique<Engine>(
      *agent->store_,
      NewRawExecDriver(DefaultExecutorPath(), Containment{containment_options, std::move(cgroups)}),
      std::move(engine_options));
  RETURN_IF_ERROR(agent->engine_->Start());
  agent->deployments_ = std::make_unique<Deployments>(
      *agent->store_, agent->node_, agent->capacity_,
      [a = agent.get()](std::vector<std::string> ids) { a->engine_->AllocsUpdated(std::move(ids)); });
  RETURN_IF_ERROR(agent->RearmFollowups());
  RETURN_IF_ERROR(agent->variables_->RestoreLocks());
  agent->jobs_ = std::make_unique<JobApi>(*agent);
  agent->drainer_ = std::make_unique<NodeDrainer>(*agent);
  agent->drainer_->Start();
  agent->deployments_->SetAdmission(
      [a = agent.get()](const Job& job) { return a->namespaces_->CheckJob(job); });
  agent->deployments_->SetSchedulingNode([a = agent.get()] { return a->SchedulingNode(); });
  agent->deployments_->Start(agent->timers_);
  agent->compactor_ = std::thread([a = agent.get()] { a->RunCompactor(); });
  log::Info("agent: node " + node.ID + " (" + node.Name + ") ready: " +
            std::to_string(cap.cores) + " cores, " + std::to_string(cap.cpu_mhz) + " MHz, " +
            std::to_string(cap.memory_mb) + " MB");
  return agent;
}

void Agent::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(compactor_mu_);
    compactor_stop_ = true;
  }
  compactor_wake_.notify_all();
  if (compactor_.joinable()) compactor_.join();
  if (drainer_) drainer_->Stop();
  timers_.Stop();
  if (gc_) gc_->Stop();
  if (host_stats_) host_stats_->Stop();
  if (!engine_) return;
  engine_->Stop(/*kill_tasks=*/config_.dev);
  engine_.reset();
}

std::size_t Agent::RunningAllocs() const { return engine_ ? engine_->RunningAllocs() : 0; }

Result<JobRegisterResult> Agent::RegisterJob(Job job) {
  CanonicalizeJob(job);
  // Before the store's lock: nothing of an invalid job is stored, and every
  // Count the planner sees is bounded by what this node can hold.
  RETURN_IF_ERROR(ValidateJob(job, capacity_));
  const std::string id = job.ID;
  ASSIGN_OR_RETURN(JobRegisterResult out, deployments_->Register(std::move(job)));
  log::Info("jobs: registered " + id + " (eval " + out.EvalID + ", index " +
            std::to_string(out.Index) + ")");
  return out;
}

Result<JobDeregisterResult> Agent::DeregisterJob(const std::string& ns, const std::string& id,
                                                 bool purge) {
  JobDeregisterResult out;
  std::vector<std::string> touched;
  auto index = store_->Apply([&](WriteTxn& txn) -> Status {
    const std::uint64_t idx = txn.index();
    const Nanos now = NowNanos();
    ASSIGN_OR_RETURN(std::optional<Job> job, store_->GetJob(ns, id));
    if (!job) return NotFound("job not found");
    if (purge) {
      txn.DeleteJob(ns, id);
      txn.DeleteScalingEvents(ns, id);
      txn.AddEvent(MakeEvent("Job", "JobDeregistered", id, ns, EncodeJson(*job)));
    } else {
      job->Stop = true;
      job->Status = "dead";
      job->Version++;
      job->ModifyIndex = job->JobModifyIndex = idx;
      job->SubmitTime = now;
      txn.PutJob(*job);
      txn.AddEvent(MakeEvent("Job", "JobDeregistered", id, ns, EncodeJson(*job)));
    }
    ASSIGN_OR_RETURN(std::vector<Allocation> allocs, store_->ListAllocsByJob(ns, id));
    for (Allocation& a : allocs) {
      if (a.DesiredStatus != kAllocDesiredRun) continue;
      a.DesiredStatus = kAllocDesiredStop;
      a.DesiredDescription = kAllocNotNeeded;
      a.ModifyIndex = a.AllocModifyIndex = idx;
      a.ModifyTime = now;
      PutAllocWithEvent(txn, a);
      touched.push_back(a.ID);
    }
    deployments_->CancelForStoppedJob(txn, ns, id, now);
    Evaluation eval = NewEval(*job, "job-deregister", idx, now, node_.ID);
    eval.JobModifyIndex = idx;
    txn.PutEval(eval);
    txn.AddEvent(EvaluationEvent(eval));
    out.EvalID = eval.ID;
    out.EvalCreateIndex = idx;
    out.JobModifyIndex = idx;
    return Status::Ok();
  });
  if (!index.ok()) return index.status();
  out.Index = *index;
  if (!touched.empty()) engine_->AllocsUpdated(std::move(touched));
  log::Info("jobs: deregistered " + id + (purge ? " (purged)" : ""));
  return out;
}

Status Agent::RestartAlloc(const std::string& alloc_id, const std::string& task,
                           bool all_tasks) {
  return engine_->RestartAlloc(alloc_id, task, all_tasks);
}

Status Agent::SignalAlloc(const std::string& alloc_id, const std::string& task,
                          const std::string& signal) {
  return engine_->SignalAlloc(alloc_id, task, signal);
}

// Places one allocation that takes the place of `old` (same name), linking
// the two. Returns the new allocation, or nothing when the node is full.
static std::optional<Allocation> PlaceReplacement(StateStore& store, WriteTxn& txn,
                                                  Allocation& old, const Node& node,
                                                  const NodeCapacity& cap,
                                                  const std::string& eval_id, Nanos now,
                                                  std::vector<std::string>& touched) {
  auto all = store.ListAllocs();
  if (!all.ok()) return std::nullopt;
  std::vector<Allocation> live;
  for (Allocation& a : *all) {
    if (Live(a) && a.ID != old.ID) live.push_back(std::move(a));
  }
  int index = AllocIndex(old.Name);
  PlanResult plan = Plan(PlanRequest{*old.Job, live, {{old.TaskGroup, {index}}}, node, cap,
                                     eval_id, txn.index(), now});
  if (plan.placed.empty()) return std::nullopt;
  Allocation next = std::move(plan.placed.front());
  next.PreviousAllocation = old.ID;
  old.NextAllocation = next.ID;
  touched.push_back(next.ID);
  return next;
}

Result<AllocStopResult> Agent::StopAlloc(const std::string& alloc_id) {
  AllocStopResult out;
  std::vector<std::string> touched;
  auto index = store_->Apply([&](WriteTxn& txn) -> Status {
    const Nanos now = NowNanos();
    ASSIGN_OR_RETURN(std::optional<Allocation> alloc, store_->GetAlloc(alloc_id));
    if (!alloc) return NotFound(UnknownAllocation(alloc_id));
    Job job = alloc->Job ? *alloc->Job : Job{};
    ASSIGN_OR_RETURN(std::optional<Job> current_job, store_->GetJob(alloc->Namespace, alloc->JobID));
    Evaluation eval = NewEval(current_job ? *current_job : job, "alloc-stop", txn.index(), now,
                              node_.ID);
    out.EvalID = eval.ID;
    if (alloc->DesiredStatus == kAllocDesiredRun) {
      alloc->DesiredStatus = kAllocDesiredStop;
      alloc->DesiredDescription = kAllocMigrating;
      alloc->DesiredTransition.text = R"({"Migrate":true,"Reschedule":null,"ForceReschedule":null})";
      alloc->ModifyIndex = alloc->AllocModifyIndex = txn.index();
      alloc->ModifyTime = now;
      touched.push_back(alloc->ID);
      // Migrate: the job still wants this allocation, so it runs anew.
      bool job_wants_it = current_job && !current_job->Stop &&
                          current_job->Type != kJobTypeSysBatch &&
                          alloc->ClientStatus != kAllocClientComplete;
      if (job_wants_it) {
        alloc->Job = *current_job;
        std::optional<Allocation> next = PlaceReplacement(*store_, txn, *alloc, SchedulingNode(),
                                                          capacity_, eval.ID, now, touched);
        if (next) PutAllocWithEvent(txn, *next);
        alloc->Job = job;  // the stopped allocation keeps the job it ran
      }
      PutAllocWithEvent(txn, *alloc);
    }
    txn.PutEval(eval);
    txn.AddEvent(EvaluationEvent(eval));
    return Status::Ok();
  });
  if (!index.ok()) return index.status();
  out.Index = *index;
  if (!touched.empty()) engine_->AllocsUpdated(std::move(touched));
  log::Info("allocs: stopped " + alloc_id);
  return out;
}

void Agent::AllocTerminal(const std::string& alloc_id, const std::string& client_status) {
  gc_->Kick();
  if (client_status != kAllocClientFailed) return;
  Status st = ScheduleReschedule(alloc_id);
  if (!st.ok()) log::Error("reschedule " + alloc_id + ": " + st.ToString());
}

Status Agent::ScheduleReschedule(const std::string& alloc_id) {
  std::string eval_id;
  Nanos delay = 0;
  auto index = store_->Apply([&](WriteTxn& txn) -> Status {
    const Nanos now = NowNanos();
    ASSIGN_OR_RETURN(std::optional<Allocation> alloc, store_->GetAlloc(alloc_id));
    if (!alloc || alloc->DesiredStatus != kAllocDesiredRun || !alloc->FollowupEvalID.empty() ||
        !alloc->NextAllocation.empty()) {
      return FailedPrecondition("not reschedulable");
    }
    ASSIGN_OR_RETURN(std::optional<Job> job, store_->GetJob(alloc->Namespace, alloc->JobID));
    if (!job || job->Stop) return FailedPrecondition("job stopped");
    // As Nomad: allocations of a failed deployment are not replaced.
    if (!alloc->DeploymentID.empty()) {
      ASSIGN_OR_RETURN(std::optional<Deployment> d, store_->GetDeployment(alloc->DeploymentID));
      if (d && d->Status == kDeploymentFailed) return FailedPrecondition("deployment failed");
    }
    std::optional<ReschedulePolicy> policy = ReschedulePolicyOf(*alloc);
    if (!policy || !RescheduleEligible(*alloc, *policy, now)) {
      return FailedPrecondition("reschedule policy exhausted");
    }
    delay = NextRescheduleDelay(*alloc, *policy, now);
    // As Nomad: a pending follow-up evaluation waits out the delay.
    Evaluation eval = NewEval(*job, "alloc-failure", txn.index(), now, "");
    eval.Status = "pending";
    eval.PreviousEval = alloc->EvalID;
    eval.Wait = delay;
    eval.WaitUntil.text = "\"" + FormatRFC3339Nano(GoTime::FromUnixNanos(SaturatingAdd(now, delay))) + "\"";
    eval.StatusDescription = "created for delayed rescheduling";
    txn.PutEval(eval);
    txn.AddEvent(EvaluationEvent(eval));
    alloc->FollowupEvalID = eval.ID;
    alloc->ModifyIndex = txn.index();
    alloc->ModifyTime = now;
    PutAllocWithEvent(txn, *alloc);
    eval_id = eval.ID;
    return Status::Ok();
  });
  if (!index.ok()) {
    return index.status().code() == StatusCode::kFailedPrecondition ? Status::Ok()
                                                                    : index.status();
  }
  log::Info("allocs: " + alloc_id + " failed; rescheduling in " + FormatGoDuration(delay));
  timers_.After(delay, [this, alloc_id, eval_id] { Reschedule(alloc_id, eval_id); });
  return Status::Ok();
}

void Agent::Reschedule(const std::string& alloc_id, const std::string& eval_id) {
  std::vector<std::string> touched;
  auto index = store_->Apply([&](WriteTxn& txn) -> Status {
    const Nanos now = NowNanos();
    ASSIGN_OR_RETURN(std::optional<Evaluation> eval, store_->GetEval(eval_id));
    ASSIGN_OR_RETURN(std::optional<Allocation> alloc, store_->GetAlloc(alloc_id));
    if (!eval || eval->Status != "pending" || !alloc) return FailedPrecondition("gone");
    eval->Status = "complete";
    eval->ModifyIndex = txn.index();
    eval->ModifyTime = now;
    ASSIGN_OR_RETURN(std::optional<Job> job, store_->GetJob(alloc->Namespace, alloc->JobID));
    if (job && !job->Stop && alloc->DesiredStatus == kAllocDesiredRun) {
      std::optional<ReschedulePolicy> policy = ReschedulePolicyOf(*alloc);
      Allocation old = *alloc;
      old.Job = *job;
      std::optional<Allocation> next =
          PlaceReplacement(*store_, txn, old, SchedulingNode(), capacity_, eval->ID, now, touched);
      if (next) {
        next->RescheduleTracker =
            NextRescheduleTracker(*alloc, policy.value_or(ReschedulePolicy{}), now, eval->Wait);
        PutAllocWithEvent(txn, *next);
        alloc->NextAllocation = next->ID;
        alloc->DesiredStatus = kAllocDesiredStop;
        alloc->DesiredDescription = kAllocRescheduled;
        alloc->ModifyIndex = alloc->AllocModifyIndex = txn.index();
        alloc->ModifyTime = now;
        PutAllocWithEvent(txn, *alloc);
        touched.push_back(alloc->ID);
      } else {
        eval->Status = "failed";
        eval->StatusDescription = "no capacity to reschedule";
      }
    }
    txn.PutEval(*eval);
    txn.AddEvent(EvaluationEvent(*eval));
    return Status::Ok();
  });
  if (!index.ok()) {
    if (index.status().code() != StatusCode::kFailedPrecondition)
      log::Error("reschedule " + alloc_id + ": " + index.status().ToString());
    return;
  }
  if (!touched.empty()) engine_->AllocsUpdated(std::move(touched));
}

Status Agent::RearmFollowups() {
  // The pending follow-ups first: on most starts there are none, and then
  // no allocation is read at all.
  ASSIGN_OR_RETURN(std::vector<Evaluation> evals, store_->ListEvals());
  std::map<std::string, Nanos> pending;  // eval ID -> when it is due
  const Nanos now = NowNanos();
  for (const Evaluation& e : evals) {
    if (e.Status != "pending" || e.TriggeredBy != "alloc-failure") continue;
    Nanos wait_until = now;
    const std::string& text = e.WaitUntil.text;
    if (text.size() > 2) {
      auto t = ParseRFC3339(std::string_view(text).substr(1, text.size() - 2));
      if (t.ok()) wait_until = t->unix_nanos;
    }
    pending.emplace(e.ID, wait_until);
  }
  if (pending.empty()) return Status::Ok();
  // The allocation that waits on each: its stub names the follow-up.
  Status bad;
  RETURN_IF_ERROR(store_->ScanAllocStubs(false, nullptr, [&](const StateStore::StubEntry& entry) {
    auto status = ReadStubStatus(entry.stub);
    if (!status.ok()) {
      bad = status.status().Annotate("allocation " + std::string(entry.id));
      return false;
    }
    auto it = pending.find(status->followup_eval_id);
    if (it == pending.end()) return true;
    std::string alloc_id(entry.id), eval_id = it->first;
    timers_.After(it->second - now, [this, alloc_id, eval_id] { Reschedule(alloc_id, eval_id); });
    return true;
  }));
  return bad;
}

void Agent::RunCompactor() {
  Nanos wait = kSecond;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(compactor_mu_);
      if (compactor_wake_.wait_for(lock, std::chrono::nanoseconds(wait),
                                   [this] { return compactor_stop_.load(); })) {
        return;
      }
    }
    auto result = CompactJournal(*store_, RetentionPolicy{config_.journal_max_events, config_.journal_max_age},
                                 NowNanos(), &compactor_stop_);
    if (result.ok() && result->folded_events > 0) {
      log::Info("journal: folded " + std::to_string(result->folded_events) +
                " entries into the snapshot at index " + std::to_string(result->base_index));
    } else if (!result.ok() && result.status().code() != StatusCode::kUnavailable) {
      log::Warn("journal: compaction: " + result.status().ToString());
    }
    wait = 5 * kMinute;
  }
}

Node Agent::SchedulingNode() const {
  auto stored = store_->GetNode(node_.ID);
  return stored.ok() && *stored ? **stored : node_;
}

Result<std::string> Agent::JobStatus(const Job& job) const { return queries_->JobStatus(job); }

Result<NodeMetaView> Agent::ApplyNodeMeta(const DynamicMeta& update) {
  return drover::ApplyNodeMeta(*store_, node_.ID, config_.meta, update);
}

Result<HistoryReply> Agent::History(const HistoryRequest& request) const {
  return ReadHistory(*store_, request);
}

}  // namespace drover
