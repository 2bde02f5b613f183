// Queries: an allocation's resource usage.
#include "service/alloc_stats.h"

#include <algorithm>
#include <cstdlib>

#include "service/queries.h"
#include "storage/state_store.h"

namespace drover {

double MhzPerCore(const Node& node) {
  auto attr = [&](const char* key) {
    auto it = node.Attributes.find(key);
    return it == node.Attributes.end() ? 0.0 : std::atof(it->second.c_str());
  };
  double cores = attr("cpu.numcores");
  return cores > 0 ? attr("cpu.totalcompute") / cores : 0;
}

Result<AllocUsage> Queries::AllocStats(const std::string& alloc_id,
                                       const std::string& task) const {
  ASSIGN_OR_RETURN(std::optional<Allocation> alloc, store_.GetAlloc(alloc_id));
  if (!alloc) return NotFound("Unknown allocation \"" + alloc_id + "\"");
  ASSIGN_OR_RETURN(auto running, RunningTasks(store_, *alloc));
  AllocUsage out;
  for (const auto& [name, run] : running) {
    if (!task.empty() && name != task) continue;
    const std::string key = alloc_id + "/" + name;
    // From the task's cgroup when it has one, else from its process tree.
    ProcessTreeStats::Reading r =
        run.group.enabled() ? trees_->ReadCgroup(key, run.group) : trees_->Read(key, run.pid);
    const Nanos now = NowNanos();
    AddUsage(out.total, r.usage);
    out.timestamp = std::max(out.timestamp, now);
    out.tasks[name] = TaskUsage{std::move(r.usage), now};
  }
  MemoryUsage& mem = out.total.MemoryStats;
  CpuUsage& cpu = out.total.CpuStats;
  if (mem.Measured.empty()) mem.Measured = {"RSS", "Swap", "Max Usage"};
  if (cpu.Measured.empty()) cpu.Measured = {"System Mode", "User Mode", "Percent"};
  return out;
}

}  // namespace drover
