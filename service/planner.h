// The planner: Nomad's scheduler reduced to one node. It turns a job's task
// groups into allocations on this node, checking CPU and memory against
// what the live allocations already use, and records Nomad's AllocMetric
// (NodesEvaluated, binpack score, exhaustion) for each decision.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "service/node.h"
#include "storage/model.h"

namespace drover {

struct PlanRequest {
  const Job& job;
  // Allocations that hold resources on the node (desired "run", not
  // terminal), other than those this plan stops.
  const std::vector<Allocation>& live;
  // How many allocations of each group to place, with the first index to
  // name them by ("<job>.<group>[<index>]").
  std::map<std::string, std::vector<int>> indexes_to_place;
  const Node& node;
  const NodeCapacity& capacity;
  std::string eval_id;
  std::uint64_t index;
  Nanos now;
};

struct PlanResult {
  std::vector<Allocation> placed;
  std::map<std::string, AllocMetric> failed;     // FailedTGAllocs by group
  std::map<std::string, std::int64_t> queued;    // QueuedAllocations by group
};

PlanResult Plan(const PlanRequest& req);

// CPU (MHz) and memory (MB) a group asks for: the sum of its tasks.
struct GroupAsk {
  std::int64_t cpu = 0;
  std::int64_t memory_mb = 0;
};
GroupAsk AskOf(const TaskGroup& tg);

// Nomad's normalized binpack score for a node with `cpu_used`/`mem_used`
// of `cap` in use after placement: (20 - (10^freeCpu + 10^freeMem)) / 18,
// clamped to [0, 1].
double BinPackScore(std::int64_t cpu_used, std::int64_t mem_used, const NodeCapacity& cap);

}  // namespace drover
