#include "lifecycle/proc_stats.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "lifecycle/driver.h"
#include "lifecycle/task_runner.h"

namespace drover {
namespace {

// Samples older than this are not a useful baseline for a delta.
constexpr Nanos kStaleSample = 30 * kSecond;

Nanos MonotonicNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::vector<ProcStat> AllProcesses() {
  std::vector<ProcStat> out;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return out;
  while (struct dirent* e = ::readdir(dir)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    auto text = ReadTextFile(std::string("/proc/") + e->d_name + "/stat");
    if (!text.ok()) continue;  // exited meanwhile
    if (auto st = ParseProcPidStat(*text); st.ok()) out.push_back(*st);
  }
  ::closedir(dir);
  return out;
}

}  // namespace

Result<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<ProcStat> ParseProcPidStat(std::string_view text) {
  const std::size_t open = text.find('(');
  const std::size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return InvalidArgument("/proc/<pid>/stat: no command name");
  }
  ProcStat st;
  st.pid = std::atoi(std::string(text.substr(0, open)).c_str());
  // After the name: state(3) ppid(4) pgrp(5) session tty tpgid flags minflt
  // cminflt majflt cmajflt utime(14) stime(15) cutime cstime priority nice
  // num_threads itrealvalue starttime(22).
  std::istringstream in{std::string(text.substr(close + 1))};
  std::string state;
  std::uint64_t skip = 0;
  in >> state >> st.ppid >> st.pgrp;
  for (int field = 6; field <= 13; ++field) in >> skip;
  in >> st.utime >> st.stime;
  for (int field = 16; field <= 21; ++field) in >> skip;
  in >> st.start_ticks;
  if (!in || st.pid <= 0) return InvalidArgument("/proc/<pid>/stat: malformed");
  return st;
}

ProcMemory ParseProcPidStatus(std::string_view text) {
  ProcMemory m;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    std::uint64_t kb = 0;
    if (!(fields >> key >> kb)) continue;
    if (key == "VmRSS:") m.rss = kb * 1024;
    if (key == "VmSwap:") m.swap = kb * 1024;
    if (key == "VmHWM:") m.peak_rss = kb * 1024;
  }
  return m;
}

std::vector<int> ProcessTree(const std::vector<ProcStat>& procs, int root) {
  std::set<int> tree;
  for (const ProcStat& p : procs) {
    if (p.pid == root || p.pgrp == root) tree.insert(p.pid);
  }
  // Descendants: repeat until no process joins (trees are shallow).
  for (bool grew = !tree.empty(); grew;) {
    grew = false;
    for (const ProcStat& p : procs) {
      if (tree.count(p.ppid) > 0 && tree.insert(p.pid).second) grew = true;
    }
  }
  return {tree.begin(), tree.end()};
}

TreeSample SampleProcessTree(int root) {
  TreeSample s;
  s.at = MonotonicNanos();
  if (root <= 0) return s;
  std::vector<ProcStat> procs = AllProcesses();
  s.pids = ProcessTree(procs, root);
  for (const ProcStat& p : procs) {
    if (!std::binary_search(s.pids.begin(), s.pids.end(), p.pid)) continue;
    s.user_ticks += p.utime;
    s.system_ticks += p.stime;
    auto status = ReadTextFile("/proc/" + std::to_string(p.pid) + "/status");
    if (!status.ok()) continue;
    ProcMemory m = ParseProcPidStatus(*status);
    s.memory.rss += m.rss;
    s.memory.swap += m.swap;
    s.memory.peak_rss += m.peak_rss;
  }
  return s;
}

ResourceUsage UsageBetween(const TreeSample& before, const TreeSample& after,
                           double mhz_per_core, long ticks_per_second) {
  ResourceUsage u;
  MemoryUsage& mem = u.MemoryStats;
  mem.RSS = after.memory.rss;
  mem.Swap = after.memory.swap;
  mem.MaxUsage = after.memory.peak_rss;
  mem.Measured = {"RSS", "Swap", "Max Usage"};

  CpuUsage& cpu = u.CpuStats;
  cpu.Measured = {"System Mode", "User Mode", "Percent"};
  const double seconds = static_cast<double>(after.at - before.at) / kSecond;
  if (seconds <= 0 || ticks_per_second <= 0) return u;
  // A process that left the tree takes its ticks along: never below zero.
  auto percent = [&](std::uint64_t from, std::uint64_t to) {
    if (to <= from) return 0.0;
    return 100.0 * static_cast<double>(to - from) / ticks_per_second / seconds;
  };
  cpu.UserMode = percent(before.user_ticks, after.user_ticks);
  cpu.SystemMode = percent(before.system_ticks, after.system_ticks);
  cpu.Percent = cpu.UserMode + cpu.SystemMode;
  cpu.TotalTicks = cpu.Percent / 100.0 * mhz_per_core;
  return u;
}

void AddUsage(ResourceUsage& total, const ResourceUsage& add) {
  MemoryUsage& m = total.MemoryStats;
  m.RSS += add.MemoryStats.RSS;
  m.Cache += add.MemoryStats.Cache;
  m.Swap += add.MemoryStats.Swap;
  m.MappedFile += add.MemoryStats.MappedFile;
  m.Usage += add.MemoryStats.Usage;
  m.MaxUsage += add.MemoryStats.MaxUsage;
  m.KernelUsage += add.MemoryStats.KernelUsage;
  m.KernelMaxUsage += add.MemoryStats.KernelMaxUsage;
  if (m.Measured.empty()) m.Measured = add.MemoryStats.Measured;
  CpuUsage& c = total.CpuStats;
  c.SystemMode += add.CpuStats.SystemMode;
  c.UserMode += add.CpuStats.UserMode;
  c.TotalTicks += add.CpuStats.TotalTicks;
  c.ThrottledPeriods += add.CpuStats.ThrottledPeriods;
  c.ThrottledTime += add.CpuStats.ThrottledTime;
  c.Percent += add.CpuStats.Percent;
  if (c.Measured.empty()) c.Measured = add.CpuStats.Measured;
}

ProcessTreeStats::ProcessTreeStats(double mhz_per_core, Nanos min_window)
    : mhz_per_core_(mhz_per_core),
      min_window_(min_window),
      ticks_per_second_(::sysconf(_SC_CLK_TCK)) {}

ProcessTreeStats::Reading ProcessTreeStats::Read(const std::string& key, int root) {
  return ReadWith(key, ticks_per_second_, [root] { return SampleProcessTree(root); });
}

ProcessTreeStats::Reading ProcessTreeStats::ReadCgroup(const std::string& key,
                                                       const cgroup::TaskGroup& group) {
  const long tps = ticks_per_second_;
  // A cgroup counts CPU in nanoseconds: its "ticks" are those.
  auto sample = [&group, tps] {
    TreeSample s;
    s.pids = cgroup::Pids(group);
    std::sort(s.pids.begin(), s.pids.end());
    cgroup::CpuStat cpu = cgroup::ReadCpu(group, tps);
    s.user_ticks = cpu.user_ns;
    s.system_ticks = cpu.system_ns;
    s.at = MonotonicNanos();
    return s;
  };
  Reading r = ReadWith(key + "#cgroup", kSecond, sample);
  // The CPU percentages come from the tick deltas; the rest is the
  // controllers' own figures now.
  TreeSample none;
  ResourceUsage u = CgroupUsage(none, none, cgroup::ReadMemory(group), cgroup::ReadCpu(group, tps),
                                group.version, mhz_per_core_, tps);
  u.CpuStats.SystemMode = r.usage.CpuStats.SystemMode;
  u.CpuStats.UserMode = r.usage.CpuStats.UserMode;
  u.CpuStats.Percent = r.usage.CpuStats.Percent;
  u.CpuStats.TotalTicks = r.usage.CpuStats.TotalTicks;
  r.usage = std::move(u);
  return r;
}

template <typename SampleFn>
ProcessTreeStats::Reading ProcessTreeStats::ReadWith(const std::string& key, long ticks_per_second,
                                                     SampleFn sample) {
  std::optional<TreeSample> before;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = last_.find(key);
    if (it != last_.end()) before = it->second;
  }
  TreeSample after = sample();
  const bool usable = before && after.at - before->at >= min_window_ &&
                      after.at - before->at <= kStaleSample;
  if (!usable) {
    before = std::move(after);
    std::this_thread::sleep_for(std::chrono::nanoseconds(min_window_));
    after = sample();
  }
  Reading reading{UsageBetween(*before, after, mhz_per_core_, ticks_per_second), after.pids};
  std::lock_guard<std::mutex> lock(mu_);
  // Keep the newest baseline; forget trees not read for a long time.
  for (auto it = last_.begin(); it != last_.end();) {
    it = after.at - it->second.at > kStaleSample ? last_.erase(it) : std::next(it);
  }
  last_[key] = std::move(after);
  return reading;
}

std::vector<std::string> CgroupMeasuredMemory(cgroup::Version version) {
  if (version == cgroup::Version::kV2) return {"RSS", "Cache", "Swap", "Usage"};
  return {"RSS", "Cache", "Swap", "Usage", "Max Usage", "Kernel Usage", "Kernel Max Usage"};
}

std::vector<std::string> CgroupMeasuredCpu() {
  return {"System Mode", "User Mode", "Throttled Periods", "Throttled Time", "Percent"};
}

ResourceUsage CgroupUsage(const TreeSample& before, const TreeSample& after,
                          const cgroup::MemoryStat& mem, const cgroup::CpuStat& cpu,
                          cgroup::Version version, double mhz_per_core, long ticks_per_second) {
  ResourceUsage u = UsageBetween(before, after, mhz_per_core, ticks_per_second);
  MemoryUsage& m = u.MemoryStats;
  m.RSS = mem.rss;
  m.Cache = mem.cache;
  m.Swap = mem.swap;
  m.MappedFile = mem.mapped_file;
  m.Usage = mem.usage;
  m.MaxUsage = mem.max_usage;
  m.KernelUsage = mem.kernel_usage;
  m.KernelMaxUsage = mem.kernel_max_usage;
  m.Measured = CgroupMeasuredMemory(version);
  u.CpuStats.ThrottledPeriods = cpu.throttled_periods;
  u.CpuStats.ThrottledTime = cpu.throttled_time_ns;
  u.CpuStats.Measured = CgroupMeasuredCpu();
  return u;
}

Result<std::map<std::string, RunningTask>> RunningTasks(const StateStore& store,
                                                        const Allocation& alloc) {
  std::map<std::string, RunningTask> out;
  if (!alloc.TaskStates) return out;
  for (const auto& [task, state] : *alloc.TaskStates) {
    if (state.State != kTaskStateRunning) continue;
    ASSIGN_OR_RETURN(std::optional<std::string> json, store.GetTaskLocal(alloc.ID, task));
    if (!json) continue;
    ASSIGN_OR_RETURN(TaskLocalState local, DecodeTaskLocalState(*json));
    if (local.handle.task_pid > 0 && ProcessAlive(local.handle)) {
      out[task] = RunningTask{local.handle.task_pid, ExecutorTaskGroup(local.handle.state_dir)};
    }
  }
  return out;
}


}  // namespace drover
