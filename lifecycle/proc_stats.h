// Resource usage of a task's process tree, read from /proc, for
// `GET /v1/client/allocation/:id/stats` (Nomad's ResourceUsage).
//
// A task runs as the leader of its own process group under drover-executor
// (lifecycle/driver.h). Its tree is every process in that group plus every
// descendant of the task's pid (a child that moved to a group or session of
// its own still counts). Memory is summed over the tree; CPU percentages
// are the tree's tick deltas between two samples over the wall time between
// them. The parsers are pure functions over /proc text, for tests.
//
// A task held in a cgroup (lifecycle/executor/cgroup.h) is measured from
// the cgroup instead, as Nomad's executor does: its members, CPU time and
// throttling, and the memory controller's figures (RSS, Cache, Swap,
// MappedFile, Usage, MaxUsage, KernelUsage, KernelMaxUsage).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/gotime.h"
#include "common/status.h"
#include "lifecycle/executor/cgroup.h"
#include "storage/model.h"
#include "storage/state_store.h"

namespace drover {

// The whole of a (small) text file such as one under /proc.
Result<std::string> ReadTextFile(const std::string& path);

// What /proc/<pid>/stat says about a process.
struct ProcStat {
  int pid = 0;
  int ppid = 0;
  int pgrp = 0;
  std::uint64_t utime = 0;  // clock ticks
  std::uint64_t stime = 0;
  std::uint64_t start_ticks = 0;
};
// The command name may hold spaces and parentheses: fields are counted
// from the last ')'.
Result<ProcStat> ParseProcPidStat(std::string_view text);

// Bytes, from /proc/<pid>/status (VmRSS, VmSwap, VmHWM); absent lines
// (kernel threads, zombies) are 0.
struct ProcMemory {
  std::uint64_t rss = 0;
  std::uint64_t swap = 0;
  std::uint64_t peak_rss = 0;
};
ProcMemory ParseProcPidStatus(std::string_view text);

// The pids of `root`'s tree among `procs`: `root` itself, the members of
// its process group, and the descendants of either. Sorted.
std::vector<int> ProcessTree(const std::vector<ProcStat>& procs, int root);

// One sample of a tree's usage.
struct TreeSample {
  std::vector<int> pids;
  std::uint64_t user_ticks = 0;
  std::uint64_t system_ticks = 0;
  ProcMemory memory;  // summed
  Nanos at = 0;       // monotonic
};
// Reads /proc now. A tree whose root is gone is an empty sample.
TreeSample SampleProcessTree(int root);

// Nomad's MemoryStats and CpuStats (Measured names the fields filled in).
struct MemoryUsage {
  std::uint64_t RSS = 0;
  std::uint64_t Cache = 0;
  std::uint64_t Swap = 0;
  std::uint64_t MappedFile = 0;
  std::uint64_t Usage = 0;
  std::uint64_t MaxUsage = 0;
  std::uint64_t KernelUsage = 0;
  std::uint64_t KernelMaxUsage = 0;
  std::vector<std::string> Measured;
};
struct CpuUsage {
  double SystemMode = 0;  // percent of one core
  double UserMode = 0;
  double TotalTicks = 0;  // MHz consumed
  std::uint64_t ThrottledPeriods = 0;
  std::uint64_t ThrottledTime = 0;
  double Percent = 0;
  std::vector<std::string> Measured;
};
struct ResourceUsage {
  MemoryUsage MemoryStats;
  CpuUsage CpuStats;
};

// The usage between two samples of the same tree; `mhz_per_core` turns
// the percentage into TotalTicks. `ticks_per_second` is sysconf(_SC_CLK_TCK).
ResourceUsage UsageBetween(const TreeSample& before, const TreeSample& after,
                           double mhz_per_core, long ticks_per_second);

// Sums usages as Nomad's AllocResourceUsage does; Measured is the first's.
void AddUsage(ResourceUsage& total, const ResourceUsage& add);

// Keeps the previous sample of each tree so that a reading is the delta
// since the last one; a tree seen for the first time (or not for a while)
// is sampled twice, `min_window` apart. Thread-safe.
class ProcessTreeStats {
 public:
  explicit ProcessTreeStats(double mhz_per_core, Nanos min_window = 100 * kMillisecond);

  struct Reading {
    ResourceUsage usage;
    std::vector<int> pids;
  };
  // `key` names the tree across calls (e.g. alloc ID + task).
  Reading Read(const std::string& key, int root);
  // The same for a task held in `group` (enabled): measured from the cgroup.
  Reading ReadCgroup(const std::string& key, const cgroup::TaskGroup& group);

 private:
  template <typename SampleFn>
  Reading ReadWith(const std::string& key, long ticks_per_second, SampleFn sample);

  double mhz_per_core_;
  Nanos min_window_;
  long ticks_per_second_;
  std::mutex mu_;
  std::map<std::string, TreeSample> last_;  // by key
};

// Every task of `alloc` that runs now, by task name: the root pid its
// executor recorded (task_local), while that executor lives, and the
// cgroup the task is held in (disabled when it has none).
struct RunningTask {
  int pid = 0;
  cgroup::TaskGroup group;
};
Result<std::map<std::string, RunningTask>> RunningTasks(const StateStore& store,
                                                        const Allocation& alloc);

// Nomad's Measured lists for a cgroup of `version`.
std::vector<std::string> CgroupMeasuredMemory(cgroup::Version version);
std::vector<std::string> CgroupMeasuredCpu();

// The usage of a cgroup task: CPU from the tick deltas of `before` and
// `after` (as UsageBetween), memory and throttling from `mem` and `cpu`.
ResourceUsage CgroupUsage(const TreeSample& before, const TreeSample& after,
                          const cgroup::MemoryStat& mem, const cgroup::CpuStat& cpu,
                          cgroup::Version version, double mhz_per_core, long ticks_per_second);

}  // namespace drover
