#include "lifecycle/coordinator.h"

namespace drover {
namespace {

using Stage = LifecycleStage;
using State = CoordinatorState;

const TaskState& StateOf(const TaskStates& states, const std::string& task) {
  static const TaskState kPending = [] {
    TaskState s;
    s.State = kTaskStatePending;
    return s;
  }();
  auto it = states.find(task);
  return it == states.end() ? kPending : it->second;
}

bool Successful(const TaskState& s) { return s.State == kTaskStateDead && !s.Failed; }

const std::vector<std::string>& In(const TasksByStage& tasks, Stage stage) {
  return tasks[static_cast<std::size_t>(stage)];
}

bool Has(const TasksByStage& tasks, std::initializer_list<Stage> stages) {
  for (Stage s : stages) {
    if (!In(tasks, s).empty()) return true;
  }
  return false;
}

template <typename Pred>
bool All(const TasksByStage& tasks, Stage stage, const TaskStates& states, Pred pred) {
  for (const std::string& t : In(tasks, stage)) {
    if (!pred(StateOf(states, t))) return false;
  }
  return true;
}

bool InitDone(const TaskStates& states) {
  for (const auto& [name, s] : states) {
    if (s.State != kTaskStatePending) return false;
  }
  return true;
}

bool PrestartDone(const TasksByStage& tasks, const TaskStates& states) {
  if (!Has(tasks, {Stage::kPrestartEphemeral, Stage::kPrestartSidecar})) return true;
  return All(tasks, Stage::kPrestartEphemeral, states, Successful) &&
         All(tasks, Stage::kPrestartSidecar, states,
             [](const TaskState& s) { return s.State == kTaskStateRunning; });
}

bool MainDone(const TasksByStage& tasks, const TaskStates& states) {
  return All(tasks, Stage::kMain, states,
             [](const TaskState& s) { return s.State != kTaskStatePending; });
}

bool PoststartDone(const TasksByStage& tasks, const TaskStates& states) {
  return All(tasks, Stage::kPoststartEphemeral, states,
             [](const TaskState& s) { return s.State == kTaskStateDead; });
}

bool AllocDone(const TasksByStage& tasks, const TaskStates& states) {
  for (std::size_t i = 0; i < kLifecycleStageCount; ++i) {
    if (static_cast<Stage>(i) == Stage::kPoststop) continue;
    if (!All(tasks, static_cast<Stage>(i), states,
             [](const TaskState& s) { return s.State == kTaskStateDead; }))
      return false;
  }
  return true;
}

}  // namespace

const char* CoordinatorStateName(CoordinatorState s) {
  switch (s) {
    case State::kInit: return "init";
    case State::kPrestart: return "prestart";
    case State::kMain: return "main";
    case State::kPoststart: return "poststart";
    case State::kWaitAlloc: return "wait_alloc";
    case State::kPoststop: return "poststop";
  }
  return "unknown";
}

const char* LifecycleStageName(LifecycleStage s) {
  switch (s) {
    case Stage::kPrestartEphemeral: return "prestart_ephemeral";
    case Stage::kPrestartSidecar: return "prestart_sidecar";
    case Stage::kMain: return "main";
    case Stage::kPoststartEphemeral: return "poststart_ephemeral";
    case Stage::kPoststartSidecar: return "poststart_sidecar";
    case Stage::kPoststop: return "poststop";
  }
  return "unknown";
}

LifecycleStage StageOf(const Task& task) {
  if (!task.Lifecycle) return Stage::kMain;
  const std::string& hook = task.Lifecycle->Hook;
  if (hook == "prestart")
    return task.Lifecycle->Sidecar ? Stage::kPrestartSidecar : Stage::kPrestartEphemeral;
  if (hook == "poststart")
    return task.Lifecycle->Sidecar ? Stage::kPoststartSidecar : Stage::kPoststartEphemeral;
  if (hook == "poststop") return Stage::kPoststop;
  return Stage::kMain;
}

bool IsSidecar(const Task& task) { return task.Lifecycle && task.Lifecycle->Sidecar; }
bool IsPoststop(const Task& task) { return StageOf(task) == Stage::kPoststop; }

TasksByStage GroupTasksByStage(const std::vector<Task>& tasks) {
  TasksByStage out;
  for (const Task& t : tasks) out[static_cast<std::size_t>(StageOf(t))].push_back(t.Name);
  return out;
}

CoordinatorState NextState(CoordinatorState current, const TasksByStage& tasks,
                           const TaskStates& states) {
  // Poststop is terminal and reachable from every state: once every
  // non-poststop task is dead (a failed prestart task included), nothing
  // but poststop tasks can run.
  if (AllocDone(tasks, states)) return State::kPoststop;
  switch (current) {
    case State::kInit:
      return InitDone(states) ? State::kPrestart : State::kInit;
    case State::kPrestart:
      return PrestartDone(tasks, states) ? State::kMain : State::kPrestart;
    case State::kMain:
      return MainDone(tasks, states) ? State::kPoststart : State::kMain;
    case State::kPoststart:
      return PoststartDone(tasks, states) ? State::kWaitAlloc : State::kPoststart;
    case State::kWaitAlloc:
      return State::kWaitAlloc;  // left only through AllocDone above
    case State::kPoststop:
      return State::kPoststop;
  }
  return current;
}

bool StageAllowed(CoordinatorState state, LifecycleStage stage) {
  switch (state) {
    case State::kInit:
      return false;
    case State::kPrestart:
      return stage == Stage::kPrestartEphemeral || stage == Stage::kPrestartSidecar;
    case State::kMain:
      return stage == Stage::kPrestartSidecar || stage == Stage::kMain;
    case State::kPoststart:
      return stage == Stage::kPrestartSidecar || stage == Stage::kMain ||
             stage == Stage::kPoststartEphemeral || stage == Stage::kPoststartSidecar;
    case State::kWaitAlloc:
      return stage == Stage::kPrestartSidecar || stage == Stage::kMain ||
             stage == Stage::kPoststartSidecar;
    case State::kPoststop:
      return stage == Stage::kPoststop;
  }
  return false;
}

Coordinator::Coordinator(const std::vector<Task>& tasks) : tasks_(GroupTasksByStage(tasks)) {}

bool Coordinator::TaskStatesUpdated(const TaskStates& states) {
  bool changed = false;
  for (;;) {
    CoordinatorState next = NextState(state_, tasks_, states);
    if (next == state_) return changed;
    state_ = next;
    changed = true;
  }
}

}  // namespace drover
