// Host resource usage for `GET /v1/client/stats`, in the shape of Nomad's
// HostStats.
//
// A HostStatsCollector samples /proc/stat, /proc/meminfo, /proc/uptime and
// the data dir's file system on a ticker of its own (1 s, as Nomad's client)
// and serves the latest sample: CPU percentages are the deltas between two
// ticks. The parsers are pure functions over the /proc text, for tests.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/gotime.h"
#include "common/status.h"

namespace drover {

// One "cpuN" line of /proc/stat, in clock ticks.
struct CpuTimes {
  std::string name;  // "cpu0"
  std::uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                steal = 0;
  std::uint64_t Total() const {
    return user + nice + system + idle + iowait + irq + softirq + steal;
  }
  friend bool operator==(const CpuTimes&, const CpuTimes&) = default;
};

// The per-core lines of /proc/stat ("cpu0", "cpu1", ...; not the "cpu"
// total), in order.
Result<std::vector<CpuTimes>> ParseProcStat(std::string_view text);

// Nomad's CPUStats: percentages of the core's time between two samples.
struct CpuStats {
  std::string CPU;
  double User = 0;
  double System = 0;
  double Idle = 0;
  double Total = 0;  // 100 - Idle
};
CpuStats CpuPercent(const CpuTimes& before, const CpuTimes& after);

struct MemoryStats {
  std::uint64_t Total = 0;
  std::uint64_t Available = 0;
  std::uint64_t Used = 0;  // Total - Available
  std::uint64_t Free = 0;
};
// Bytes, from /proc/meminfo's kB.
Result<MemoryStats> ParseMeminfo(std::string_view text);

// Whole seconds since boot, from /proc/uptime.
Result<std::uint64_t> ParseUptime(std::string_view text);

struct DiskStats {
  std::string Device;
  std::string Mountpoint;
  std::uint64_t Size = 0;
  std::uint64_t Used = 0;
  std::uint64_t Available = 0;
  double UsedPercent = 0;
  double InodesUsedPercent = 0;
};

// The mount (device, mount point) of /proc/self/mounts that holds `path`
// (absolute, normalised): the longest mount point that is a prefix of it.
struct MountEntry {
  std::string device;
  std::string mountpoint;
};
std::optional<MountEntry> MountFor(std::string_view mounts_text, const std::string& path);

// statvfs() of `path`; Device and Mountpoint are left empty.
Result<DiskStats> FileSystemStats(const std::string& path);

struct HostStats {
  std::vector<CpuStats> CPU;
  MemoryStats Memory;
  std::vector<DiskStats> Disks;  // DiskStats: the data dir's file system
  std::optional<DiskStats> AllocDirStats;
  std::uint64_t Uptime = 0;
  Nanos Timestamp = 0;
  double CPUTicksConsumed = 0;  // MHz in use: sum of Total% x MHz per core
};

struct HostStatsOptions {
  std::string data_dir;
  double cpu_mhz_total = 0;  // the node's total compute
  Nanos interval = kSecond;
};

class HostStatsCollector {
 public:
  explicit HostStatsCollector(HostStatsOptions options);
  ~HostStatsCollector();  // Stop()s
  HostStatsCollector(const HostStatsCollector&) = delete;
  HostStatsCollector& operator=(const HostStatsCollector&) = delete;

  // Takes a first sample, then samples every interval on a thread.
  void Start();
  void Stop();

  // The latest sample (CPU all zero until the second tick).
  HostStats Latest() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace drover
