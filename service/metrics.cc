#include "service/metrics.h"

#include <map>

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

  // Drover's own.
  gauge("drover.engine.allocations", static_cast<double>(agent.RunningAllocs()), {});
  out.recorded = metrics::Read();
  return out;
}

}  // namespace drover
