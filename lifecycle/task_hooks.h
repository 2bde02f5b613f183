// Task hooks, in the style of Nomad's taskrunner: each hook owns one
// concern and implements only the phases it needs. The runner builds its
// hook list in one place (DefaultPrestartHooks) and never branches on a
// hook's name.
//
// Lifecycle of a task (one pass per run; a restart is a new pass):
//
//   Received -> [prestart hooks] -> driver start -> running -> exit
//                     |                                         |
//                     +-- error: Setup Failure ---------------->+-> restart policy
//
// Prestart hooks must be idempotent: they run again on every restart.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "common/status.h"
#include "lifecycle/alloc_dir.h"
#include "lifecycle/containment.h"
#include "lifecycle/task_env.h"
#include "storage/model.h"

namespace drover {

struct TaskHookContext {
  const Allocation& alloc;
  const Task& task;
  const TaskPaths& paths;
  const NodeInfo& node;
  EnvMap& env;                               // filled by the hooks
  std::function<void(TaskEvent)> emit;       // appends a task event
  Nanos now;
};

class TaskPrestartHook {
 public:
  virtual ~TaskPrestartHook() = default;
  virtual const char* Name() const = 0;
  // An error fails this run of the task ("Setup Failure"); InvalidArgument
  // fails the task for good ("Task hook failed", not recoverable).
  virtual Status Prestart(TaskHookContext& ctx) = 0;
};
using TaskPrestartHookPtr = std::unique_ptr<TaskPrestartHook>;

// The hooks every task runs, in order: validation (the task's user against
// the client's user lists), task directory, environment.
std::vector<TaskPrestartHookPtr> DefaultPrestartHooks(const EnvMap& agent_env,
                                                      const ContainmentOptions& containment);

}  // namespace drover
