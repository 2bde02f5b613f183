#include "service/metrics.h"

#include "service/alloc_stats.h"

#include <algorithm>
#include <functional>
#include <map>

#include "lifecycle/proc_stats.h"
#include "service/agent.h"
#include "service/planner.h"

namespace drover {
namespace {

// Nomad's client labels on every client gauge.
metrics::Labels BaseLabels(const Node& node) {
  return {{"datacenter", node.Datacenter},
          {"node_class", node.NodeClass.empty() ? "none" : node.NodeClass},
          {"node_id", node.ID},
          {"node_pool", node.NodePool.empty() ? "default" : node.NodePool}};
}

metrics::Labels With(metrics::Labels labels, std::string name, std::string value) {
  labels.emplace_back(std::move(name), std::move(value));
  return labels;
}

bool Measured(const std::vector<std::string>& measured, const char* name) {
  return std::find(measured.begin(), measured.end(), name) != measured.end();
}

// Nomad's per-task gauges (client/allocrunner/taskrunner: setGaugeForMemory,
// setGaugeForCPU) with the task runner's labels: memory figures that are
// measured or non-zero, the task's allocated memory in bytes and CPU in
// MHz when set, and the CPU usage.
void TaskGauges(const Allocation& a, const std::string& task, const ResourceUsage& u,
                const std::function<void(std::string, double, metrics::Labels)>& gauge) {
  const metrics::Labels labels = {{"alloc_id", a.ID},
                                  {"job", a.Job ? a.Job->Name : a.JobID},
                                  {"namespace", a.Namespace},
                                  {"task", task},
                                  {"task_group", a.TaskGroup}};
  const MemoryUsage& m = u.MemoryStats;
  const struct {
    std::uint64_t value;
    const char* reported;
    const char* measured;
  } memory[] = {{m.RSS, "rss", "RSS"},
                {m.Cache, "cache", "Cache"},
                {m.Swap, "swap", "Swap"},
                {m.MappedFile, "mapped_file", "Mapped File"},
                {m.Usage, "usage", "Usage"},
                {m.MaxUsage, "max_usage", "Max Usage"},
                {m.KernelUsage, "kernel_usage", "Kernel Usage"},
                {m.KernelMaxUsage, "kernel_max_usage", "Kernel Max Usage"}};
  for (const auto& f : memory) {
    if (f.value != 0 || Measured(m.Measured, f.measured)) {
      gauge(std::string("nomad.client.allocs.memory.") + f.reported, static_cast<double>(f.value),
            labels);
    }
  }
  const Task* spec = TaskOf(a, task);
  const std::int64_t mem_mb = spec && spec->Resources ? spec->Resources->MemoryMB : 0;
  const std::int64_t mem_max_mb = spec && spec->Resources ? spec->Resources->MemoryMaxMB : 0;
  const std::int64_t cpu_mhz = spec && spec->Resources ? spec->Resources->CPU : 0;
  if (mem_mb > 0) {
    gauge("nomad.client.allocs.memory.allocated", static_cast<double>(mem_mb) * 1024 * 1024, labels);
  }
  if (mem_max_mb > 0) {
    gauge("nomad.client.allocs.memory.max_allocated", static_cast<double>(mem_max_mb) * 1024 * 1024,
          labels);
  }
  const CpuUsage& c = u.CpuStats;
  gauge("nomad.client.allocs.cpu.total_percent", c.Percent, labels);
  gauge("nomad.client.allocs.cpu.system", c.SystemMode, labels);
  gauge("nomad.client.allocs.cpu.user", c.UserMode, labels);
  gauge("nomad.client.allocs.cpu.throttled_time", static_cast<double>(c.ThrottledTime), labels);
  gauge("nomad.client.allocs.cpu.throttled_periods", static_cast<double>(c.ThrottledPeriods),
        labels);
  gauge("nomad.client.allocs.cpu.total_ticks", c.TotalTicks, labels);
  if (cpu_mhz > 0) gauge("nomad.client.allocs.cpu.allocated", static_cast<double>(cpu_mhz), labels);
}

}  // namespace

Result<MetricsSnapshot> CollectMetrics(Agent& agent) {
  MetricsSnapshot out;
  out.timestamp = NowNanos();
  const Node& node = agent.node();
  const metrics::Labels base = BaseLabels(node);
  auto gauge = [&out](std::string name, double value, metrics::Labels labels) {
    out.gauges.push_back({std::move(name), value, std::move(labels)});
  };

  // Allocations by client state, and what the live ones hold.
  ASSIGN_OR_RETURN(std::vector<Allocation> allocs, agent.store().ListAllocs());
  double pending = 0, running = 0, terminal = 0;
  std::int64_t cpu = 0, memory_mb = 0, disk_mb = 0;
  for (const Allocation& a : allocs) {
    if (ClientTerminal(a.ClientStatus)) {
      ++terminal;
      continue;
    }
    if (a.ClientStatus == kAllocClientRunning) {
      ++running;
    } else {
      ++pending;
    }
    if (a.DesiredStatus != kAllocDesiredRun || !a.Job) continue;
    for (const TaskGroup& tg : a.Job->TaskGroups) {
      if (tg.Name != a.TaskGroup) continue;
      const GroupAsk ask = AskOf(tg);
      cpu += ask.cpu;
      memory_mb += ask.memory_mb;
      if (tg.EphemeralDisk) disk_mb += tg.EphemeralDisk->SizeMB;
    }
  }
  gauge("nomad.client.allocations.blocked", 0, base);
  gauge("nomad.client.allocations.migrating", 0, base);
  gauge("nomad.client.allocations.pending", pending, base);
  gauge("nomad.client.allocations.running", running, base);
  gauge("nomad.client.allocations.terminal", terminal, base);
  gauge("nomad.client.allocated.cpu", static_cast<double>(cpu), base);
  gauge("nomad.client.allocated.memory", static_cast<double>(memory_mb), base);
  gauge("nomad.client.allocated.disk", static_cast<double>(disk_mb), base);
  const NodeCapacity& total = agent.capacity();
  gauge("nomad.client.unallocated.cpu", static_cast<double>(total.cpu_mhz - cpu), base);
  gauge("nomad.client.unallocated.memory", static_cast<double>(total.memory_mb - memory_mb),
        base);
  gauge("nomad.client.unallocated.disk", static_cast<double>(total.disk_mb - disk_mb), base);

  // The host, from the sampler's latest tick.
  const HostStats host = agent.host_stats().Latest();
  gauge("nomad.client.host.memory.total", static_cast<double>(host.Memory.Total), base);
  gauge("nomad.client.host.memory.available", static_cast<double>(host.Memory.Available), base);
  gauge("nomad.client.host.memory.used", static_cast<double>(host.Memory.Used), base);
  gauge("nomad.client.host.memory.free", static_cast<double>(host.Memory.Free), base);
  for (const CpuStats& c : host.CPU) {
    const metrics::Labels labels = With(base, "cpu", c.CPU);
    gauge("nomad.client.host.cpu.total", c.Total, labels);
    gauge("nomad.client.host.cpu.user", c.User, labels);
    gauge("nomad.client.host.cpu.system", c.System, labels);
    gauge("nomad.client.host.cpu.idle", c.Idle, labels);
  }
  for (const DiskStats& d : host.Disks) {
    const metrics::Labels labels = With(base, "disk", d.Device);
    gauge("nomad.client.host.disk.size", static_cast<double>(d.Size), labels);
    gauge("nomad.client.host.disk.used", static_cast<double>(d.Used), labels);
    gauge("nomad.client.host.disk.available", static_cast<double>(d.Available), labels);
    gauge("nomad.client.host.disk.used_percent", d.UsedPercent, labels);
    gauge("nomad.client.host.disk.inodes_percent", d.InodesUsedPercent, labels);
  }
  gauge("nomad.client.uptime", static_cast<double>(host.Uptime), base);

  // Every task whose executor lives; with publish_allocation_metrics, its
  // usage since the previous read (the first read samples twice, 100 ms
  // apart), as Nomad's task runners publish it.
  static ProcessTreeStats trees(MhzPerCore(node));
  double executors = 0;
  for (const Allocation& a : allocs) {
    if (ClientTerminal(a.ClientStatus)) continue;
    ASSIGN_OR_RETURN(auto running, RunningTasks(agent.store(), a));
    executors += static_cast<double>(running.size());
    if (!agent.config().publish_allocation_metrics) continue;
    for (const auto& [task, run] : running) {
      const std::string key = a.ID + "/" + task;
      ProcessTreeStats::Reading r =
          run.group.enabled() ? trees.ReadCgroup(key, run.group) : trees.Read(key, run.pid);
      TaskGauges(a, task, r.usage, gauge);
    }
  }

  // Drover's own.
  gauge("drover.engine.allocations", static_cast<double>(agent.RunningAllocs()), {});
  gauge("drover.executors.running", executors, {});
  out.recorded = metrics::Read();
  return out;
}

}  // namespace drover
