#include "lifecycle/task_env.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

extern char** environ;

namespace drover {

int AllocIndex(const std::string& alloc_name) {
  auto open = alloc_name.rfind('[');
  if (open == std::string::npos || alloc_name.back() != ']') return 0;
  return std::atoi(alloc_name.c_str() + open + 1);
}

EnvMap NomadEnv(const Allocation& alloc, const Task& task, const TaskPaths& paths,
                const NodeInfo& node) {
  EnvMap env;
  env["NOMAD_ALLOC_ID"] = alloc.ID;
  env["NOMAD_SHORT_ALLOC_ID"] = alloc.ID.substr(0, 8);
  env["NOMAD_ALLOC_NAME"] = alloc.Name;
  env["NOMAD_ALLOC_INDEX"] = std::to_string(AllocIndex(alloc.Name));
  env["NOMAD_TASK_NAME"] = task.Name;
  env["NOMAD_GROUP_NAME"] = alloc.TaskGroup;
  env["NOMAD_JOB_ID"] = alloc.JobID;
  env["NOMAD_JOB_NAME"] = alloc.Job ? alloc.Job->Name : alloc.JobID;
  env["NOMAD_NAMESPACE"] = alloc.Namespace;
  env["NOMAD_REGION"] = node.region;
  env["NOMAD_DC"] = node.datacenter;
  env["NOMAD_ALLOC_DIR"] = paths.shared_dir;
  env["NOMAD_TASK_DIR"] = paths.local_dir;
  env["NOMAD_SECRETS_DIR"] = paths.secrets_dir;
  if (task.Resources) {
    env["NOMAD_CPU_LIMIT"] = std::to_string(task.Resources->CPU);
    env["NOMAD_MEMORY_LIMIT"] = std::to_string(task.Resources->MemoryMB);
  }
  // Meta of the job, then the group, then the task: the narrower wins. Nomad
  // sets each key both as written and upper-cased.
  auto add_meta = [&](const std::optional<StringMap>& meta) {
    if (!meta) return;
    for (const auto& [k, v] : *meta) {
      std::string upper = k;
      std::transform(upper.begin(), upper.end(), upper.begin(),
                     [](unsigned char c) { return std::toupper(c); });
      env["NOMAD_META_" + k] = v;
      env["NOMAD_META_" + upper] = v;
    }
  };
  if (alloc.Job) add_meta(alloc.Job->Meta);
  if (const TaskGroup* group = GroupOf(alloc)) add_meta(group->Meta);
  add_meta(task.Meta);
  return env;
}

std::string Interpolate(const std::string& text, const EnvMap& env) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      auto close = text.find('}', i + 2);
      if (close != std::string::npos) {
        auto it = env.find(text.substr(i + 2, close - i - 2));
        if (it != env.end()) out += it->second;
        i = close;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

EnvMap BuildTaskEnv(const Allocation& alloc, const Task& task, const TaskPaths& paths,
                    const NodeInfo& node, const EnvMap& inherited) {
  EnvMap env = inherited;
  for (auto& [k, v] : NomadEnv(alloc, task, paths, node)) env[k] = std::move(v);
  if (task.Env) {
    EnvMap base = env;  // task variables see NOMAD_* but not each other
    for (const auto& [k, v] : *task.Env) env[k] = Interpolate(v, base);
  }
  return env;
}

EnvMap ProcessEnv() {
  EnvMap env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

}  // namespace drover
