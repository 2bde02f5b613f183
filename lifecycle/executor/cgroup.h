// Task cgroups: where they go, their limits, killing and removing them,
// and reading their usage.
//
// The agent detects the layout once at start (Detect) and names each
// task's group; drover-executor creates the group, sets its limits, moves
// the task into it before exec, kills everything in it when the task is
// stopped or exits, notes whether the kernel OOM-killed in it, and removes
// it. The stats endpoint reads it. Free of everything but libc and the C++
// standard library: the executor links it.
//
// Layout, beneath the agent's own group (from /proc/self/cgroup):
//   v2  <root><own>/drover/<alloc id>.<task>               (one tree)
//   v1  <root>/<controller><own in that hierarchy>/drover/<alloc id>.<task>
//       for memory, pids, freezer (required) and cpu, cpuacct (if mounted)
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace drover::cgroup {

enum class Version { kNone = 0, kV1 = 1, kV2 = 2 };

// The key of the single directory of a v2 group in TaskGroup::dirs.
inline constexpr const char* kUnified = "unified";

// Where task groups are made, as found at agent start.
struct Layout {
  Version version = Version::kNone;
  std::string mountpoint;  // e.g. "/sys/fs/cgroup"
  // The parent of the task groups ("<own group>/drover"), by controller
  // (v1) or under kUnified (v2). Absolute directories.
  std::map<std::string, std::string> parents;
  std::string off_reason;  // why containment is off (version kNone)
};

// One task's group: a directory per controller (v1) or one (v2).
struct TaskGroup {
  Version version = Version::kNone;
  std::map<std::string, std::string> dirs;  // controller (or kUnified) -> dir
  bool enabled() const { return version != Version::kNone && !dirs.empty(); }
  // The directory holding `controller`'s files; "" if the group lacks it.
  std::string Dir(const std::string& controller) const;
};

// /proc/<pid>/cgroup: "id:controllers:path" lines -> controller -> path.
// Each controller of a comma list gets its own entry; "name=systemd" keeps
// its name; the v2 line ("0::/path") is under kUnified.
std::map<std::string, std::string> ParseProcCgroup(const std::string& text);

// A component may be one path element of a group name: not empty, not "."
// or "..", no '/', no NUL, no newline, at most 255 bytes.
bool ValidComponent(const std::string& name);

// "<alloc id>.<task>", or "" when either is not a valid component (the
// caller refuses the task then).
std::string TaskGroupName(const std::string& alloc_id, const std::string& task);

// The task's group under `layout`; disabled if the layout is, or if the
// name is "".
TaskGroup MakeTaskGroup(const Layout& layout, const std::string& name);

// Nomad's memory limits: MemoryMaxMB is the hard limit when set (MemoryMB
// the soft one), otherwise MemoryMB is the hard limit and there is no soft
// one. MemoryMaxMB -1: no hard limit. Bytes; 0 means "not set", -1
// "unlimited". Values are range-checked (no overflow).
struct MemoryLimits {
  std::int64_t hard_bytes = 0;
  std::int64_t soft_bytes = 0;
};
MemoryLimits ComputeMemoryLimits(std::int64_t memory_mb, std::int64_t memory_max_mb);

// Finds the layout under `root` for a process whose /proc/self/cgroup
// reads `proc_self_cgroup`, and creates the "drover" parent groups (which
// also proves the hierarchy writable). v2 when <root>/cgroup.controllers
// lists memory, pids and cpu; else v1 when memory, pids and freezer are
// mounted; else kNone with a reason.
Layout Detect(const std::string& root, const std::string& proc_self_cgroup);

// ---- Used by the executor -----------------------------------------------------

struct Limits {
  MemoryLimits memory;
  std::int64_t pids_max = 0;    // 0: not set
  std::int64_t cpu_shares = 0;  // 0: not set (v2: converted to cpu.weight)
};

// Creates the group's directories and writes its limits. "" on success,
// else what failed.
std::string Create(const TaskGroup& group, const Limits& limits);

// Opens the files a child writes its pid to, to join the group (one per
// directory, O_WRONLY|O_CLOEXEC). Empty on failure, with `error` set.
std::vector<int> OpenJoinFiles(const TaskGroup& group, std::string* error);

// Writes `pid` in decimal to each of `fds`. Async-signal-safe (for use
// between fork and exec). Returns 0 or the errno of the first failure.
int JoinByFds(const std::vector<int>& fds, int pid);

// The pids in the group now.
std::vector<int> Pids(const TaskGroup& group);

// Kills every process in the group: cgroup.kill where the kernel has it,
// else freeze, SIGKILL every member, thaw, until the group is empty or
// `timeout_ms` passed. True once empty.
bool KillAll(const TaskGroup& group, int timeout_ms);

// Whether the kernel's OOM killer killed a process of the group (v1
// memory.oom_control, v2 memory.events: "oom_kill N" with N > 0).
bool OomKilled(const TaskGroup& group);

// Removes the group's directories, retrying briefly while the kernel lets
// go of them. True if none is left.
bool Remove(const TaskGroup& group, int timeout_ms);

// ---- Stats ----------------------------------------------------------------------

// "key value" lines (memory.stat, cpu.stat, cpuacct.stat, memory.events).
std::map<std::string, std::uint64_t> ParseFlatKeyed(const std::string& text);

// Bytes.
struct MemoryStat {
  std::uint64_t rss = 0;
  std::uint64_t cache = 0;
  std::uint64_t swap = 0;
  std::uint64_t mapped_file = 0;
  std::uint64_t usage = 0;
  std::uint64_t max_usage = 0;
  std::uint64_t kernel_usage = 0;
  std::uint64_t kernel_max_usage = 0;
};
MemoryStat ReadMemory(const TaskGroup& group);

// Nanoseconds of CPU, and throttling.
struct CpuStat {
  std::uint64_t user_ns = 0;
  std::uint64_t system_ns = 0;
  std::uint64_t throttled_periods = 0;
  std::uint64_t throttled_time_ns = 0;
};
// `ticks_per_second`: USER_HZ, for v1's cpuacct.stat.
CpuStat ReadCpu(const TaskGroup& group, long ticks_per_second);

// The whole (small) file, or "" if it cannot be read.
std::string ReadSmallFile(const std::string& path);

}  // namespace drover::cgroup
