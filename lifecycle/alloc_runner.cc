#include "lifecycle/alloc_runner.h"

#include "common/log.h"
#include "lifecycle/task_events.h"
#include "storage/codec.h"

namespace drover {

bool AllocNeedsRunner(const Allocation& alloc) {
  if (alloc.ClientStatus == kAllocClientComplete || alloc.ClientStatus == kAllocClientFailed ||
      alloc.ClientStatus == kAllocClientLost) {
    return false;
  }
  if (alloc.DesiredStatus == kAllocDesiredRun) return true;
  if (!alloc.TaskStates) return false;  // stopped before any task started
  for (const auto& [name, ts] : *alloc.TaskStates) {
    if (ts.State != kTaskStateDead) return true;
  }
  return false;
}

AllocRunner::AllocRunner(AllocRunnerDeps deps, Allocation alloc)
    : deps_(deps), alloc_(std::move(alloc)) {
  const TaskGroup* group = Group();
  if (group == nullptr) return;
  TaskRunnerDeps task_deps{deps_.scheduler, deps_.monitor, deps_.driver, *this,
                           deps_.node,      deps_.agent_env, deps_.data_dir};
  const std::string& job_type = alloc_.Job->Type;
  for (const Task& task : group->Tasks) {
    RestartPolicy policy = task.RestartPolicy   ? *task.RestartPolicy
                           : group->RestartPolicy ? *group->RestartPolicy
                                                  : RestartPolicy{};
    tasks_.push_back(std::make_unique<TaskRunner>(task_deps, alloc_, task, job_type, policy));
  }
}

AllocRunner::~AllocRunner() = default;

const TaskGroup* AllocRunner::Group() const {
  if (!alloc_.Job) return nullptr;
  for (const TaskGroup& tg : alloc_.Job->TaskGroups) {
    if (tg.Name == alloc_.TaskGroup) return &tg;
  }
  return nullptr;
}

TaskRunner* AllocRunner::FindTask(const std::string& name) {
  for (auto& t : tasks_) {
    if (t->name() == name) return t.get();
  }
  return nullptr;
}

void AllocRunner::Run() {
  for (auto& t : tasks_) t->Start();
}

Status AllocRunner::Restore() {
  for (auto& t : tasks_) {
    const TaskState* state = nullptr;
    if (alloc_.TaskStates) {
      auto it = alloc_.TaskStates->find(t->name());
      if (it != alloc_.TaskStates->end()) state = &it->second;
    }
    ASSIGN_OR_RETURN(std::optional<std::string> local_json,
                     deps_.store.GetTaskLocal(alloc_.ID, t->name()));
    if (state == nullptr) {
      // Placed but never received by a runner before the agent stopped.
      if (alloc_.DesiredStatus == kAllocDesiredRun) t->Start();
      continue;
    }
    TaskLocalState local;
    if (local_json) {
      ASSIGN_OR_RETURN(local, DecodeTaskLocalState(*local_json));
    }
    t->Restore(*state, local);
  }
  if (alloc_.DesiredStatus != kAllocDesiredRun) KillAll("");
  return Status::Ok();
}

void AllocRunner::Update(const Allocation& alloc) {
  alloc_.DesiredStatus = alloc.DesiredStatus;
  alloc_.DesiredDescription = alloc.DesiredDescription;
  // As Nomad's alloc runner: a plain Killing event, no reason.
  if (alloc_.DesiredStatus != kAllocDesiredRun) KillAll("");
}

void AllocRunner::KillAll(const std::string& reason) {
  for (auto& t : tasks_) t->Kill(reason);
}

bool AllocRunner::AllTasksDead() const {
  for (const auto& t : tasks_) {
    if (!t->dead()) return false;
  }
  return true;
}

void AllocRunner::TaskStateChanged(const std::string& task_name) {
  TaskRunner* task = FindTask(task_name);
  if (task == nullptr) return;
  std::map<std::string, TaskState> states;
  for (const auto& t : tasks_) states[t->name()] = t->state();
  ClientStatusPair status = DeriveClientStatus(states);
  Nanos now = deps_.scheduler.Now();

  auto result = deps_.store.Apply([&](WriteTxn& txn) -> Status {
    // Read inside the change so a concurrent scheduler update (e.g. a stop)
    // is kept, not overwritten.
    ASSIGN_OR_RETURN(std::optional<Allocation> current, deps_.store.GetAlloc(alloc_.ID));
    if (!current) return NotFound("alloc purged");
    current->TaskStates = states;
    current->ClientStatus = status.status;
    current->ClientDescription = status.description;
    current->ModifyIndex = txn.index();
    current->ModifyTime = now;
    txn.PutAlloc(*current);
    txn.PutTaskLocal(alloc_.ID, task_name, EncodeTaskLocalState(task->local_state()));

    Allocation payload = *current;
    payload.Job.reset();  // the journal carries the job in its own events
    Event ev;
    ev.Topic = "Allocation";
    ev.Type = "AllocationUpdated";
    ev.Key = current->ID;
    ev.Namespace = current->Namespace;
    ev.FilterKeys = {current->JobID};
    ev.Payload.text = "{\"Allocation\":" + EncodeJson(payload) + "}";
    txn.AddEvent(std::move(ev));
    return Status::Ok();
  });
  if (!result.ok() && result.status().code() != StatusCode::kNotFound) {
    log::Error("persist task state of alloc " + alloc_.ID + " task " + task_name + ": " +
               result.status().ToString());
  }
}

}  // namespace drover
