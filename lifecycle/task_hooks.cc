#include "lifecycle/task_hooks.h"

#include "lifecycle/task_events.h"

namespace drover {
namespace {

// Nomad's validate hook: refuses a user the client options deny, before
// anything of the task is built.
class ValidateHook : public TaskPrestartHook {
 public:
  explicit ValidateHook(const ContainmentOptions& options) : options_(options) {}
  const char* Name() const override { return "validate"; }
  Status Prestart(TaskHookContext& ctx) override {
    return CheckTaskUser(options_, ctx.task.Driver, ctx.task.User);
  }

 private:
  const ContainmentOptions& options_;
};

// Builds the allocation and task directories.
class TaskDirHook : public TaskPrestartHook {
 public:
  const char* Name() const override { return "task_dir"; }
  Status Prestart(TaskHookContext& ctx) override {
    ASSIGN_OR_RETURN(bool built, BuildTaskDirs(ctx.paths));
    // As Nomad's task_dir hook: announced once, when the directory is built,
    // not again on every restart.
    if (built) ctx.emit(EventTaskSetup(ctx.now, kEventBuildingTaskDir));
    return Status::Ok();
  }
};

// Computes the process environment (NOMAD_* and the task's Env).
class EnvHook : public TaskPrestartHook {
 public:
  explicit EnvHook(const EnvMap& agent_env) : agent_env_(agent_env) {}
  const char* Name() const override { return "env"; }
  Status Prestart(TaskHookContext& ctx) override {
    ctx.env = BuildTaskEnv(ctx.alloc, ctx.task, ctx.paths, ctx.node, agent_env_);
    return Status::Ok();
  }

 private:
  EnvMap agent_env_;
};

}  // namespace

std::vector<TaskPrestartHookPtr> DefaultPrestartHooks(const EnvMap& agent_env,
                                                      const ContainmentOptions& containment) {
  std::vector<TaskPrestartHookPtr> hooks;
  hooks.push_back(std::make_unique<ValidateHook>(containment));
  hooks.push_back(std::make_unique<TaskDirHook>());
  hooks.push_back(std::make_unique<EnvHook>(agent_env));
  return hooks;
}

}  // namespace drover
