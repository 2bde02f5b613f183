#include "service/agent.h"

#include <filesystem>

#include "common/log.h"
#include "common/uuid.h"
#include "migrations/migrations.h"
#include "service/job_spec.h"
#include "service/planner.h"
#include "storage/codec.h"

namespace drover {
namespace {

constexpr const char* kAllocUpdating = "alloc is being updated due to job update";
constexpr const char* kAllocNotNeeded = "alloc not needed due to job update";

bool Live(const Allocation& a) {
  return a.DesiredStatus == kAllocDesiredRun && a.ClientStatus != kAllocClientComplete &&
         a.ClientStatus != kAllocClientFailed && a.ClientStatus != kAllocClientLost;
}

Event MakeEvent(const char* topic, const char* type, const std::string& key,
                const std::string& ns, const std::string& payload_field,
                const std::string& payload_json, std::vector<std::string> filter_keys = {}) {
  Event e;
  e.Topic = topic;
  e.Type = type;
  e.Key = key;
  e.Namespace = ns;
  e.FilterKeys = std::move(filter_keys);
  e.Payload.text = "{\"" + payload_field + "\":" + payload_json + "}";
  return e;
}

void PutAllocWithEvent(WriteTxn& txn, const Allocation& a) {
  txn.PutAlloc(a);
  Allocation payload = a;
  payload.Job.reset();
  txn.AddEvent(MakeEvent("Allocation", "PlanResult", a.ID, a.Namespace, "Allocation",
                         EncodeJson(payload), {a.JobID}));
}

Evaluation NewEval(const Job& job, const char* triggered_by, std::uint64_t index, Nanos now,
                   const std::string& node_id) {
  Evaluation e;
  e.ID = NewUUID();
  e.Namespace = job.Namespace;
  e.Priority = job.Priority;
  e.Type = job.Type;
  e.TriggeredBy = triggered_by;
  e.JobID = job.ID;
  e.JobModifyIndex = job.JobModifyIndex;
  e.NodeID = node_id;
  e.Status = "complete";
  e.CreateIndex = e.ModifyIndex = e.SnapshotIndex = index;
  e.CreateTime = e.ModifyTime = now;
  return e;
}

}  // namespace

Agent::Agent(AgentConfig config, std::unique_ptr<StateStore> store, Node node, NodeCapacity cap)
    : config_(std::move(config)),
      store_(std::move(store)),
      node_(std::move(node)),
      capacity_(cap) {}

Agent::~Agent() { Shutdown(); }

Result<std::unique_ptr<Agent>> Agent::Create(AgentConfig config) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return Internal("create data dir " + config.data_dir + ": " + ec.message());

  StoreOptions options;
  options.migrations = migrations::All();
  ASSIGN_OR_RETURN(std::unique_ptr<StateStore> store,
                   StateStore::Open(config.data_dir + "/state", std::move(options)));
  log::Info("storage: opened " + config.data_dir + "/state at index " +
            std::to_string(store->LatestIndex()) + ", schema v" +
            std::to_string(store->schema_version()));

  ASSIGN_OR_RETURN(std::string node_id, LoadOrCreateNodeID(*store));
  NodeCapacity cap = FingerprintCapacity(config.data_dir);
  NodeSettings settings{config.node_name, config.datacenter, config.node_class, config.http_addr,
                        config.meta};
  Node node = BuildNode(node_id, settings, cap, config.version, NowNanos());

  // Register the node (its fingerprint may have changed since last start).
  ASSIGN_OR_RETURN(std::optional<Node> existing, store->GetNode(node_id));
  auto written = store->Apply([&](WriteTxn& txn) {
    node.CreateIndex = existing ? existing->CreateIndex : txn.index();
    node.ModifyIndex = txn.index();
    txn.PutNode(node);
    txn.AddEvent(MakeEvent("Node", "NodeRegistration", node.ID, "", "Node", EncodeJson(node)));
    return Status::Ok();
  });
  RETURN_IF_ERROR(written.status());

  std::unique_ptr<Agent> agent(new Agent(std::move(config), std::move(store), node, cap));
  EngineOptions engine_options{agent->config_.data_dir,
                               NodeInfo{node.ID, node.Name, agent->config_.region,
                                        node.Datacenter}};
  agent->engine_ =
      std::make_unique<Engine>(*agent->store_, NewRawExecDriver(), std::move(engine_options));
  RETURN_IF_ERROR(agent->engine_->Start());
  log::Info("agent: node " + node.ID + " (" + node.Name + ") ready: " +
            std::to_string(cap.cores) + " cores, " + std::to_string(cap.cpu_mhz) + " MHz, " +
            std::to_string(cap.memory_mb) + " MB");
  return agent;
}

void Agent::Shutdown() {
  if (!engine_) return;
  engine_->Stop(/*kill_tasks=*/config_.dev);
  engine_.reset();
}

std::size_t Agent::RunningAllocs() const { return engine_ ? engine_->RunningAllocs() : 0; }

Result<JobRegisterResult> Agent::RegisterJob(Job job) {
  CanonicalizeJob(job);
  RETURN_IF_ERROR(ValidateJob(job));

  JobRegisterResult out;
  std::vector<std::string> touched;
  auto index = store_->Apply([&](WriteTxn& txn) -> Status {
    const std::uint64_t idx = txn.index();
    const Nanos now = NowNanos();
    ASSIGN_OR_RETURN(std::optional<Job> existing, store_->GetJob(job.Namespace, job.ID));
    ASSIGN_OR_RETURN(std::vector<Allocation> job_allocs,
                     store_->ListAllocsByJob(job.Namespace, job.ID));
    bool changed = !existing || existing->Stop || !SameJobSpec(*existing, job);

    if (changed) {
      job.Version = existing ? existing->Version + 1 : 0;
      job.CreateIndex = existing ? existing->CreateIndex : idx;
      job.ModifyIndex = job.JobModifyIndex = idx;
      job.SubmitTime = now;
      job.Status = "pending";
      job.Stop = false;
      txn.PutJob(job);
      txn.AddEvent(MakeEvent("Job", "JobRegistered", job.ID, job.Namespace, "Job",
                             EncodeJson(job)));
    } else {
      job = *existing;
    }

    // A changed job replaces every live allocation of the old version.
    std::map<std::string, std::vector<int>> to_place;
    std::map<std::string, std::vector<bool>> used_index;
    for (Allocation& a : job_allocs) {
      if (!Live(a)) continue;
      if (changed) {
        a.DesiredStatus = kAllocDesiredStop;
        a.DesiredDescription = kAllocUpdating;
        a.ModifyIndex = a.AllocModifyIndex = idx;
        a.ModifyTime = now;
        PutAllocWithEvent(txn, a);
        touched.push_back(a.ID);
      } else {
        auto& used = used_index[a.TaskGroup];
        int i = a.Name.empty() ? 0 : std::atoi(a.Name.c_str() + a.Name.rfind('[') + 1);
        if (static_cast<int>(used.size()) <= i) used.resize(i + 1);
        used[i] = true;
      }
    }
    for (const TaskGroup& tg : job.TaskGroups) {
      auto& used = used_index[tg.Name];
      for (int i = 0; i < tg.Count; ++i) {
        if (i < static_cast<int>(used.size()) && used[i]) continue;
        to_place[tg.Name].push_back(i);
      }
    }

    ASSIGN_OR_RETURN(std::vector<Allocation> all, store_->ListAllocs());
    std::vector<Allocation> live;
    for (Allocation& a : all) {
      bool stopping = std::find(touched.begin(), touched.end(), a.ID) != touched.end();
      if (Live(a) && !stopping) live.push_back(std::move(a));
    }

    Evaluation eval = NewEval(job, "job-register", idx, now, node_.ID);
    PlanResult plan = Plan(PlanRequest{job, live, to_place, node_, capacity_, eval.ID, idx, now});
    for (const Allocation& a : plan.placed) {
      PutAllocWithEvent(txn, a);
      touched.push_back(a.ID);
    }
    eval.QueuedAllocations = plan.queued;
    if (!plan.failed.empty()) {
      // As Nomad: the evaluation completes with the failed placements, and
      // a blocked evaluation records the wait for capacity.
      std::map<std::string, AllocMetric> failed = plan.failed;
      std::string failed_json = "{";
      for (const auto& [group, metric] : failed) {
        if (failed_json.size() > 1) failed_json += ",";
        failed_json += "\"" + group + "\":" + EncodeJson(metric);
      }
      eval.FailedTGAllocs.text = failed_json + "}";
      Evaluation blocked = NewEval(job, "queued-allocs", idx, now, "");
      blocked.Status = "blocked";
      blocked.StatusDescription = "created due to placement conflicts";
      blocked.PreviousEval = eval.ID;
      eval.BlockedEval = blocked.ID;
      txn.PutEval(blocked);
      txn.AddEvent(MakeEvent("Evaluation", "EvaluationUpdated", blocked.ID, job.Namespace,
                             "Evaluation", EncodeJson(blocked), {job.ID}));
    }
    txn.PutEval(eval);
    txn.AddEvent(MakeEvent("Evaluation", "EvaluationUpdated", eval.ID, job.Namespace,
                           "Evaluation", EncodeJson(eval), {job.ID}));
    out.EvalID = eval.ID;
    out.EvalCreateIndex = idx;
    out.JobModifyIndex = job.JobModifyIndex;
    return Status::Ok();
  });
  if (!index.ok()) return index.status();
  out.Index = *index;
  if (!touched.empty()) engine_->AllocsUpdated(std::move(touched));
  log::Info("jobs: registered " + job.ID + " (eval " + out.EvalID + ", index " +
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
      txn.AddEvent(MakeEvent("Job", "JobDeregistered", id, ns, "Job", EncodeJson(*job)));
    } else {
      job->Stop = true;
      job->Status = "dead";
      job->Version++;
      job->ModifyIndex = job->JobModifyIndex = idx;
      job->SubmitTime = now;
      txn.PutJob(*job);
      txn.AddEvent(MakeEvent("Job", "JobDeregistered", id, ns, "Job", EncodeJson(*job)));
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
    Evaluation eval = NewEval(*job, "job-deregister", idx, now, node_.ID);
    eval.JobModifyIndex = idx;
    txn.PutEval(eval);
    txn.AddEvent(MakeEvent("Evaluation", "EvaluationUpdated", eval.ID, ns, "Evaluation",
                           EncodeJson(eval), {id}));
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

Result<std::string> Agent::JobStatus(const Job& job) const {
  ASSIGN_OR_RETURN(std::vector<Allocation> allocs, store_->ListAllocsByJob(job.Namespace, job.ID));
  for (const Allocation& a : allocs) {
    if (Live(a)) return std::string("running");
  }
  if (job.Stop || !allocs.empty()) return std::string("dead");
  return std::string("pending");
}

}  // namespace drover
