// An allocation's resource usage, as GET /v1/client/allocation/:id/stats
// reports it (Nomad's AllocResourceUsage): per running task, from the
// task's cgroup when it has one, else from its process tree
// (lifecycle/proc_stats.h), and the sum. Read through Queries::AllocStats.
#pragma once

#include <map>
#include <string>

#include "common/gotime.h"
#include "lifecycle/proc_stats.h"

namespace drover {

struct TaskUsage {
  ResourceUsage usage;
  Nanos timestamp = 0;
};

struct AllocUsage {
  ResourceUsage total;  // Measured as Nomad's when no task ran
  std::map<std::string, TaskUsage> tasks;  // by task name
  Nanos timestamp = 0;                     // the latest task's, 0 if none
};

// MHz of one core, from the node's fingerprint (0 if unknown).
double MhzPerCore(const Node& node);

}  // namespace drover
