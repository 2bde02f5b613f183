// The agent's part of `alloc exec`: find the task, start the helper.
#include "common/log.h"
#include "service/agent.h"

namespace drover {

Result<std::string> Agent::AllocNamespace(const std::string& alloc_id) {
  ASSIGN_OR_RETURN(std::optional<Allocation> alloc, store_->GetAlloc(alloc_id));
  if (!alloc) return NotFound("Unknown allocation \"" + alloc_id + "\"");
  return alloc->Namespace;
}

Result<ExecHelper> Agent::StartExec(const std::string& alloc_id, const std::string& task,
                                    const std::vector<std::string>& command, bool tty,
                                    bool node_exec) {
  ASSIGN_OR_RETURN(ExecTarget target, engine_->FindExecTarget(alloc_id, task));
  // Checked after the task is known, as Nomad's client checks it.
  if (!node_exec) return PermissionDenied(kErrPermissionDenied);
  auto helper = SpawnExecHelper(DefaultExecutorPath(), target, command, tty);
  if (helper.ok()) {
    log::Info("alloc " + alloc_id + ": exec session in task " + task + " (helper " +
              std::to_string(helper->pid) + ")");
  }
  return helper;
}

}  // namespace drover
