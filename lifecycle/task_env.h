// The task's environment: the agent's own environment (raw_exec inherits
// it, as in Nomad), then Nomad's NOMAD_* variables, then the task's `Env`
// with ${VAR} references interpolated against the variables before it.
#pragma once

#include <map>
#include <string>

#include "lifecycle/alloc_dir.h"
#include "storage/model.h"

namespace drover {

struct NodeInfo {
  std::string id;
  std::string name;
  std::string region;
  std::string datacenter;
  // client.max_kill_timeout: every task's KillTimeout is capped to it at
  // kill time, silently, as Nomad's client does.
  Nanos max_kill_timeout = 30 * kSecond;
};

using EnvMap = std::map<std::string, std::string>;

// The NOMAD_* variables of `task` in `alloc` (ALLOC_ID, SHORT_ALLOC_ID,
// ALLOC_NAME, ALLOC_INDEX, TASK_NAME, GROUP_NAME, JOB_ID, JOB_NAME,
// NAMESPACE, REGION, DC, ALLOC_DIR, TASK_DIR, SECRETS_DIR, CPU_LIMIT,
// MEMORY_LIMIT, META_*).
EnvMap NomadEnv(const Allocation& alloc, const Task& task, const TaskPaths& paths,
                const NodeInfo& node);

// Replaces ${NAME} in `text` with env[NAME] (empty when unset), as Nomad's
// taskenv does for env values, the command and its arguments.
std::string Interpolate(const std::string& text, const EnvMap& env);

// The complete environment for the process.
EnvMap BuildTaskEnv(const Allocation& alloc, const Task& task, const TaskPaths& paths,
                    const NodeInfo& node, const EnvMap& inherited);

// The agent's environment (environ).
EnvMap ProcessEnv();

// The index in "<job>.<group>[<index>]"; 0 if the name has none.
int AllocIndex(const std::string& alloc_name);

}  // namespace drover
