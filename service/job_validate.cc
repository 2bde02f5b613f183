// ValidateJob: Nomad's structs.Job.Validate and the Validate methods it
// calls (TaskGroup, Task, Resources, LogConfig, EphemeralDisk,
// RestartPolicy, ReschedulePolicy), with Nomad's texts, plus the rules a
// single node that runs raw_exec tasks needs on top (marked "Drover").
// Every number here came from a request: sums and products are checked.
#include <boost/json.hpp>

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <string_view>
#include <vector>

#include "common/checked_math.h"
#include "common/text.h"
#include "lifecycle/driver.h"
#include "service/job_spec.h"
#include "service/reconciler.h"
#include "storage/codec.h"

namespace drover {
namespace {

namespace json = boost::json;
using Errors = std::vector<std::string>;

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr Nanos kRestartPolicyMinInterval = 5 * kSecond;
constexpr Nanos kReschedulePolicyMinInterval = 15 * kSecond;
constexpr Nanos kReschedulePolicyMinDelay = 5 * kSecond;
constexpr std::int64_t kMinCPU = 1;
constexpr std::int64_t kMinMemoryMB = 10;
constexpr std::int64_t kMinDiskMB = 10;

std::string Str(std::int64_t n) { return std::to_string(n); }
std::string Dur(Nanos d) { return FormatGoDuration(d); }

bool HasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

void Add(Errors& errors, const std::string& prefix, Errors inner) {
  for (auto& e : inner) errors.push_back(prefix + e);
}

// ---- NUL in any string of the job (Drover) ----------------------------------

void FindNul(const json::value& v, const std::string& path, Errors& errors);

void FindNulInObject(const json::object& o, const std::string& path,
                     std::initializer_list<std::string_view> skip, Errors& errors) {
  for (const auto& kv : o) {
    if (std::find(skip.begin(), skip.end(), kv.key()) != skip.end()) continue;
    if (HasNul(kv.key())) {
      errors.push_back(path + " has a key that contains a null character");
      continue;
    }
    FindNul(kv.value(), path + "." + std::string(kv.key()), errors);
  }
}

void FindNul(const json::value& v, const std::string& path, Errors& errors) {
  if (v.is_string()) {
    if (HasNul(v.get_string())) errors.push_back(path + " contains a null character");
  } else if (v.is_array()) {
    const json::array& a = v.get_array();
    for (std::size_t i = 0; i < a.size(); ++i) FindNul(a[i], path + "[" + Str(i) + "]", errors);
  } else if (v.is_object()) {
    FindNulInObject(v.get_object(), path, {}, errors);
  }
}

// Every string of the job but the names and the ID, which have Nomad's own
// texts below.
void FindNulInJob(const Job& job, Errors& errors) {
  json::value j = ToJson(job);
  FindNulInObject(j.get_object(), "Job", {"ID", "Name", "TaskGroups"}, errors);
  const json::value* groups = j.get_object().if_contains("TaskGroups");
  if (groups == nullptr || !groups->is_array()) return;
  for (std::size_t g = 0; g < groups->get_array().size(); ++g) {
    const json::object& group = groups->get_array()[g].get_object();
    const std::string gpath = "Job.TaskGroups[" + Str(g) + "]";
    FindNulInObject(group, gpath, {"Name", "Tasks"}, errors);
    const json::value* tasks = group.if_contains("Tasks");
    if (tasks == nullptr || !tasks->is_array()) continue;
    for (std::size_t t = 0; t < tasks->get_array().size(); ++t) {
      FindNulInObject(tasks->get_array()[t].get_object(), gpath + ".Tasks[" + Str(t) + "]",
                      {"Name"}, errors);
    }
  }
}

// ---- Policies -------------------------------------------------------------------

Errors ValidateRestartPolicy(const RestartPolicy& p) {
  Errors e;
  if (p.Mode != "fail" && p.Mode != "delay") e.push_back("Unsupported restart mode: " + GoQuote(p.Mode));
  if (p.Attempts == 0 && p.Mode != "fail") {
    e.push_back("Restart policy " + GoQuote(p.Mode) + " with " + Str(p.Attempts) +
                " attempts is ambiguous");
  }
  // Drover: Nomad's int and Duration would wrap on these.
  if (p.Attempts < 0) e.push_back("Attempts must be non-negative");
  if (p.Delay < 0) e.push_back("Delay must be non-negative");
  if (p.Interval < kRestartPolicyMinInterval) {
    e.push_back("Interval can not be less than " + Dur(kRestartPolicyMinInterval) + " (got " +
                Dur(p.Interval) + ")");
  }
  std::int64_t total;
  if (!CheckedMul(p.Attempts, p.Delay, &total) || total > p.Interval) {
    e.push_back("Nomad can't restart the TaskGroup " + Str(p.Attempts) + " times in an interval of " +
                Dur(p.Interval) + " with a delay of " + Dur(p.Delay));
  }
  return e;
}

struct Viability {
  bool ok = true;
  std::int64_t possible = 0;
  Nanos recommended = 0;
};

// Nomad's ReschedulePolicy.viableAttempts, in closed form once the delay
// reaches its ceiling (Attempts may be anything up to 2^63).
Viability ViableAttempts(const ReschedulePolicy& r) {
  Viability v;
  if (r.DelayFunction == "constant") {
    v.recommended = SaturatingMul(r.Attempts, r.Delay);
    if (r.Interval < v.recommended) {
      v.possible = r.Interval / r.Delay;
      v.ok = false;
    }
  } else if (r.DelayFunction == "exponential") {
    std::int64_t i = 0;
    for (; i < r.Attempts && i < 63; ++i) {
      Nanos next = SaturatingMul(std::int64_t{1} << i, r.Delay);
      if (next > r.MaxDelay) break;  // the ceiling from here on
      v.recommended = next;
      if (v.recommended < r.Interval) ++v.possible;
    }
    // Every remaining attempt waits MaxDelay; count those still inside the
    // interval.
    const std::int64_t remaining = r.Attempts - i;
    if (remaining > 0) {
      std::int64_t inside = 0;
      if (r.Interval > v.recommended) {
        // recommended + m * MaxDelay < Interval  <=>  m < (Interval - recommended) / MaxDelay
        const std::int64_t gap = r.Interval - v.recommended;
        inside = (gap - 1) / r.MaxDelay;
      }
      v.possible = SaturatingAdd(v.possible, std::min(inside, remaining));
      v.recommended = SaturatingAdd(v.recommended, SaturatingMul(remaining, r.MaxDelay));
    }
    v.ok = v.possible >= r.Attempts;
  } else if (r.DelayFunction == "fibonacci") {
    std::vector<Nanos> slots{r.Delay, r.Delay};
    std::int64_t ceiling_at = -1;  // index of the first capped slot
    for (std::int64_t i = 2; i < r.Attempts && ceiling_at < 0; ++i) {
      Nanos next = SaturatingAdd(slots[i - 1], slots[i - 2]);
      if (next > r.MaxDelay || next == kInt64Max) {  // saturated: the ceiling too
        next = std::min(next, r.MaxDelay);
        ceiling_at = i;
      }
      slots.push_back(next);
    }
    // Past the ceiling slot c, slot c + m is (m + 1) * MaxDelay.
    const std::int64_t last = std::max<std::int64_t>(r.Attempts, 2) - 1;
    auto slot = [&](std::int64_t i) {
      if (ceiling_at < 0 || i <= ceiling_at) return slots[static_cast<std::size_t>(i)];
      return SaturatingMul(i - ceiling_at + 1, r.MaxDelay);
    };
    v.recommended = slot(last);
    if (r.Interval < v.recommended) {
      v.ok = false;
      for (std::size_t i = 0; i < slots.size(); ++i) {
        if (slots[i] > r.Interval) {
          v.possible = static_cast<std::int64_t>(i);
          return v;
        }
      }
      v.possible = ceiling_at + r.Interval / r.MaxDelay;
    }
  } else {
    return Viability{false, 0, 0};
  }
  if (v.possible < 0) v.possible = 0;
  return v;
}

// Go's Duration.Round(time.Second).
Nanos RoundToSecond(Nanos d) {
  Nanos r = d % kSecond;
  if (r < 0) r = -r;
  if (r + r < kSecond) return d - (d < 0 ? -r : r);
  return d < 0 ? SaturatingAdd(d - (-r), -kSecond) : SaturatingAdd(d - r, kSecond);
}

// Nomad's UpdateStrategy.Validate, on the group's merged strategy.
Errors ValidateUpdateStrategy(const UpdateStrategy& u) {
  Errors e;
  if (u.HealthCheck != "checks" && u.HealthCheck != "task_states" && u.HealthCheck != "manual") {
    e.push_back("Invalid health check given: \"" + u.HealthCheck + "\"");
  }
  if (u.MaxParallel < 0) {
    e.push_back("Max parallel can not be less than zero: " + Str(u.MaxParallel) + " < 0");
  }
  if (u.Canary < 0) e.push_back("Canary count can not be less than zero: " + Str(u.Canary) + " < 0");
  if (u.Canary == 0 && u.AutoPromote) {
    e.push_back("Auto Promote requires a Canary count greater than zero");
  }
  if (u.MinHealthyTime < 0) {
    e.push_back("Minimum healthy time may not be less than zero: " + Dur(u.MinHealthyTime));
  }
  if (u.HealthyDeadline <= 0) {
    e.push_back("Healthy deadline must be greater than zero: " + Dur(u.HealthyDeadline));
  }
  if (u.ProgressDeadline < 0) {
    e.push_back("Progress deadline must be zero or greater: " + Dur(u.ProgressDeadline));
  }
  if (u.MinHealthyTime >= u.HealthyDeadline) {
    e.push_back("Minimum healthy time must be less than healthy deadline: " +
                Dur(u.MinHealthyTime) + " > " + Dur(u.HealthyDeadline));
  }
  if (u.ProgressDeadline != 0 && u.HealthyDeadline >= u.ProgressDeadline) {
    e.push_back("Healthy deadline must be less than progress deadline: " +
                Dur(u.HealthyDeadline) + " > " + Dur(u.ProgressDeadline));
  }
  if (u.Stagger <= 0) e.push_back("Stagger must be greater than zero: " + Dur(u.Stagger));
  return e;
}

Errors ValidateReschedulePolicy(const ReschedulePolicy& r) {
  Errors e;
  if (!(r.Attempts > 0 || r.Unlimited)) return e;  // disabled
  if (r.Attempts > 0) {
    if (r.Interval <= 0) e.push_back("Interval must be a non zero value if Attempts > 0");
    if (r.Unlimited) {
      e.push_back("Reschedule Policy with Attempts = " + Str(r.Attempts) + ", Interval = " +
                  Dur(r.Interval) + ", and Unlimited = true is ambiguous");
      e.push_back("If Attempts >0, Unlimited cannot also be set to true");
    }
  }
  bool delay_ok = true;
  if (r.Delay < kReschedulePolicyMinDelay) {
    e.push_back("Delay cannot be less than " + Dur(kReschedulePolicyMinDelay) + " (got " +
                Dur(r.Delay) + ")");
    delay_ok = false;
  }
  if (r.DelayFunction != "constant" && r.DelayFunction != "exponential" &&
      r.DelayFunction != "fibonacci") {
    e.push_back("Invalid delay function " + GoQuote(r.DelayFunction) +
                ", must be one of [\"constant\" \"exponential\" \"fibonacci\"]");
    delay_ok = false;
  }
  if (r.DelayFunction != "constant") {
    if (r.MaxDelay < kReschedulePolicyMinDelay) {
      // Nomad prints the Delay here, not the MaxDelay.
      e.push_back("Max Delay cannot be less than " + Dur(kReschedulePolicyMinDelay) + " (got " +
                  Dur(r.Delay) + ")");
      delay_ok = false;
    }
    if (r.MaxDelay < r.Delay) {
      e.push_back("Max Delay cannot be less than Delay " + Dur(r.Delay) + " (got " +
                  Dur(r.MaxDelay) + ")");
      delay_ok = false;
    }
  }
  if (r.Unlimited) return e;
  if (r.Interval < kReschedulePolicyMinInterval) {
    e.push_back("Interval cannot be less than " + Dur(kReschedulePolicyMinInterval) + " (got " +
                Dur(r.Interval) + ")");
  }
  if (!delay_ok) return e;
  Viability v = ViableAttempts(r);
  if (v.ok) return e;
  if (r.DelayFunction == "constant") {
    e.push_back("Nomad can only make " + Str(v.possible) + " attempts in " + Dur(r.Interval) +
                " with initial delay " + Dur(r.Delay) + " and delay function " +
                GoQuote(r.DelayFunction));
  } else {
    e.push_back("Nomad can only make " + Str(v.possible) + " attempts in " + Dur(r.Interval) +
                " with initial delay " + Dur(r.Delay) + ", delay function " +
                GoQuote(r.DelayFunction) + ", and delay ceiling " + Dur(r.MaxDelay));
  }
  e.push_back("Set the interval to at least " + Dur(RoundToSecond(v.recommended)) +
              " to accommodate " + Str(r.Attempts) + " attempts");
  return e;
}

// ---- Task -------------------------------------------------------------------------

void ValidateRawExecConfig(const Task& task, Errors& errors) {
  boost::system::error_code ec;
  json::value config = json::parse(task.Config.text, ec);
  if (ec || !config.is_object()) {
    errors.push_back("Config: missing raw_exec config (need \"command\")");
    return;
  }
  const json::object& o = config.get_object();
  const json::value* cmd = o.if_contains("command");
  if (cmd == nullptr || !cmd->is_string() || cmd->get_string().empty()) {
    errors.push_back("Config.command: missing required string");
  }
  if (const json::value* args = o.if_contains("args")) {
    bool ok = args->is_null() || args->is_array();
    if (args->is_array()) {
      for (const auto& a : args->get_array()) ok = ok && a.is_string();
    }
    if (!ok) errors.push_back("Config.args: must be a list of strings");
  }
}

void ValidateTaskName(const std::string& name, Errors& e) {
  if (name.empty()) e.push_back("Missing task name");
  if (name == "alloc") e.push_back("Task cannot be named \"alloc\"");
  // Drover: the name is a directory of the allocation dir.
  if (name == "." || name == "..") e.push_back("Task cannot be named " + GoQuote(name));
  if (name.find_first_of("/\\") != std::string::npos) {
    e.push_back("Task name cannot include slashes");
  } else if (HasNul(name)) {
    e.push_back("Task name cannot include null characters");
  } else if (HasControl(name)) {
    e.push_back("Task name cannot include control characters");  // Drover
  }
}

void ValidateResources(const Resources& r, Errors& e) {
  if (r.Cores < 0) e.push_back("cores value (" + Str(r.Cores) + ") cannot be negative");
  if (r.CPU < kMinCPU && r.Cores == 0)
    e.push_back("minimum CPU value is " + Str(kMinCPU) + "; got " + Str(r.CPU));
  if (r.MemoryMB < kMinMemoryMB)
    e.push_back("minimum MemoryMB value is " + Str(kMinMemoryMB) + "; got " + Str(r.MemoryMB));
  if (r.DiskMB > 0) {
    e.push_back(
        "Task can't ask for disk resources, they have to be specified at the task group level.");
  }
  if (r.MemoryMaxMB != 0 && r.MemoryMaxMB != -1 && r.MemoryMaxMB < r.MemoryMB) {
    e.push_back("MemoryMaxMB value (" + Str(r.MemoryMaxMB) + ") should be larger than MemoryMB value (" +
                Str(r.MemoryMB) + ")");
  }
}

void ValidateLogConfig(const LogConfig& l, const std::optional<EphemeralDisk>& disk, Errors& e) {
  if (l.MaxFiles < 1) e.push_back("minimum number of files is 1; got " + Str(l.MaxFiles));
  if (l.MaxFileSizeMB < 1) e.push_back("minimum file size is 1MB; got " + Str(l.MaxFileSizeMB));
  // Drover: the executor counts files in an int and bytes in an int64.
  if (l.MaxFiles > kMaxLogFiles)
    e.push_back("maximum number of files is " + Str(kMaxLogFiles) + "; got " + Str(l.MaxFiles));
  if (l.MaxFileSizeMB > kMaxLogFileSizeMB) {
    e.push_back("maximum file size is " + Str(kMaxLogFileSizeMB) + "MB; got " +
                Str(l.MaxFileSizeMB));
  }
  if (disk) {
    std::int64_t usage;
    if (!CheckedMul(l.MaxFiles, l.MaxFileSizeMB, &usage)) {
      e.push_back("log storage (" + Str(l.MaxFiles) + " x " + Str(l.MaxFileSizeMB) +
                  " MB) must be less than requested disk capacity (" + Str(disk->SizeMB) + " MB)");
    } else if (disk->SizeMB <= usage) {
      e.push_back("log storage (" + Str(usage) + " MB) must be less than requested disk capacity (" +
                  Str(disk->SizeMB) + " MB)");
    }
  }
}

Errors ValidateTask(const Task& task, const TaskGroup& tg) {
  Errors e;
  ValidateTaskName(task.Name, e);
  if (task.Driver.empty()) {
    e.push_back("Missing task driver");
  } else if (task.Driver != "raw_exec") {
    e.push_back("Driver \"" + task.Driver + "\" is not available: Drover runs raw_exec tasks");
  } else {
    ValidateRawExecConfig(task, e);
  }
  if (task.KillTimeout < 0) e.push_back("KillTimeout must be a positive value");
  if (task.ShutdownDelay < 0) e.push_back("ShutdownDelay must be a positive value");
  if (!task.Resources) {
    e.push_back("Missing task resources");
  } else {
    ValidateResources(*task.Resources, e);
  }
  if (!task.LogConfig) {
    e.push_back("Missing Log Config");
  } else {
    ValidateLogConfig(*task.LogConfig, tg.EphemeralDisk, e);
  }
  if (task.RestartPolicy) Add(e, "", ValidateRestartPolicy(*task.RestartPolicy));
  if (task.Lifecycle) {
    const std::string& h = task.Lifecycle->Hook;
    if (h != "prestart" && h != "poststart" && h != "poststop")
      e.push_back("Lifecycle validation failed: invalid hook: " + h);
  }
  if (!task.KillSignal.empty() && SignalFromName(task.KillSignal) < 0)
    e.push_back("unknown kill_signal " + GoQuote(task.KillSignal));
  return e;
}

// ---- Group ----------------------------------------------------------------------

// The group's count against what this node could ever hold of it (Drover:
// one node, so more could never run; and a count is a loop bound).
void ValidateCount(const TaskGroup& tg, const NodeCapacity& cap, Errors& e) {
  std::int64_t cpu = 0, mem = 0;
  for (const Task& t : tg.Tasks) {
    if (!t.Resources) continue;
    if (!CheckedAdd(cpu, t.Resources->CPU, &cpu) || !CheckedAdd(mem, t.Resources->MemoryMB, &mem)) {
      e.push_back("Task resources overflow: the tasks ask for more than " + Str(kInt64Max) +
                  " MHz or MB in total");
      return;
    }
  }
  if (cpu <= 0 || mem <= 0) return;  // reported per task
  const std::int64_t fits = std::min(cap.cpu_mhz / cpu, cap.memory_mb / mem);
  // A group that does not fit at all waits for capacity, as in Nomad.
  const std::int64_t bound = std::max<std::int64_t>(fits, 1);
  if (tg.Count > bound) {
    e.push_back("Task group count " + Str(tg.Count) + " exceeds what this node could ever place: " +
                Str(bound) + " allocation(s) of " + Str(cpu) + " MHz / " + Str(mem) +
                " MB fit in its " + Str(cap.cpu_mhz) + " MHz / " + Str(cap.memory_mb) + " MB");
  }
}

Errors ValidateGroup(const Job& job, const TaskGroup& tg, const NodeCapacity& cap) {
  Errors e;
  if (tg.Name.empty()) {
    e.push_back("Missing task group name");
  } else if (HasNul(tg.Name)) {
    e.push_back("Task group name contains null character");
  } else if (HasControl(tg.Name)) {
    e.push_back("Task group name cannot include control characters");  // Drover
  }
  if (tg.Count < 0) e.push_back("Task group count can't be negative");
  if (tg.Tasks.empty()) e.push_back("Missing tasks for task group");
  if (job.Type == kJobTypeSysBatch && tg.Count > 1) {
    e.push_back("Job task group " + tg.Name + " has count " + Str(tg.Count) +
                "; sysbatch jobs run one allocation per node");
  }
  if (tg.RestartPolicy) {
    Add(e, "", ValidateRestartPolicy(*tg.RestartPolicy));
  } else {
    e.push_back("Task Group " + tg.Name + " should have a restart policy");
  }
  if (job.Type == kJobTypeSysBatch) {
    if (tg.ReschedulePolicy)
      e.push_back("System or sysbatch jobs should not have a reschedule policy");
  } else if (tg.ReschedulePolicy) {
    Add(e, "", ValidateReschedulePolicy(*tg.ReschedulePolicy));
  } else {
    e.push_back("Task Group " + tg.Name + " should have a reschedule policy");
  }
  if (std::optional<UpdateStrategy> u = UpdateStrategyOf(job, tg)) {
    Add(e, "", ValidateUpdateStrategy(*u));
  }
  if (!tg.EphemeralDisk) {
    e.push_back("Task Group " + tg.Name + " should have an ephemeral disk object");
  } else if (tg.EphemeralDisk->SizeMB < kMinDiskMB) {
    e.push_back("minimum DiskMB value is " + Str(kMinDiskMB) + "; got " +
                Str(tg.EphemeralDisk->SizeMB));
  }

  std::map<std::string, std::size_t> names;
  int leaders = 0, mains = 0;
  for (std::size_t i = 0; i < tg.Tasks.size(); ++i) {
    const Task& t = tg.Tasks[i];
    if (t.Name.empty()) {
      e.push_back("Task " + Str(i + 1) + " missing name");
    } else if (auto [it, fresh] = names.try_emplace(t.Name, i); !fresh) {
      e.push_back("Task " + Str(i + 1) + " redefines '" + t.Name + "' from task " +
                  Str(it->second + 1));
    }
    if (t.Leader) ++leaders;
    if (!t.Lifecycle) ++mains;
  }
  if (leaders > 1) e.push_back("Only one task may be marked as leader");
  if (!tg.Tasks.empty() && mains == 0)
    e.push_back("Task group " + tg.Name + " must have at least one main task");
  ValidateCount(tg, cap, e);
  for (const Task& t : tg.Tasks) Add(e, "Task " + t.Name + " validation failed: ", ValidateTask(t, tg));
  return e;
}

std::string Join(const Errors& errors) {
  // Nomad's go-multierror format.
  std::string out = Str(errors.size()) +
                    (errors.size() == 1 ? " error occurred:\n" : " errors occurred:\n");
  for (const auto& e : errors) out += "\t* " + e + "\n";
  return out + "\n";
}

}  // namespace

Status ValidateJob(const Job& job, const NodeCapacity& capacity) {
  Errors errors;
  if (job.Region.empty()) errors.push_back("Missing job region");
  if (job.ID.empty()) {
    errors.push_back("Missing job ID");
  } else if (job.ID.find(' ') != std::string::npos) {
    errors.push_back("Job ID contains a space");
  } else if (HasNul(job.ID)) {
    errors.push_back("Job ID contains a null character");
  }
  if (job.Name.empty()) {
    errors.push_back("Missing job name");
  } else if (HasNul(job.Name)) {
    errors.push_back("Job Name contains a null character");
  }
  if (job.Namespace.empty()) errors.push_back("Job must be in a namespace");
  if (job.Type.empty()) {
    errors.push_back("Missing job type");
  } else if (job.Type != kJobTypeService && job.Type != kJobTypeBatch &&
             job.Type != kJobTypeSysBatch) {
    errors.push_back("Invalid job type: " + GoQuote(job.Type));
  }
  if (job.Priority < 1 || job.Priority > 100)
    errors.push_back("Job priority must be between [1, 100]");
  if (job.Datacenters.empty()) {
    errors.push_back("Missing job datacenters");
  } else {
    for (const auto& dc : job.Datacenters) {
      if (dc.empty()) errors.push_back("Job datacenter must be non-empty string");
    }
  }
  if (job.TaskGroups.empty()) errors.push_back("Missing job task groups");
  std::map<std::string, std::size_t> groups;
  for (std::size_t i = 0; i < job.TaskGroups.size(); ++i) {
    const TaskGroup& tg = job.TaskGroups[i];
    if (tg.Name.empty()) {
      errors.push_back("Job task group " + Str(i + 1) + " missing name");
    } else if (auto [it, fresh] = groups.try_emplace(tg.Name, i); !fresh) {
      errors.push_back("Job task group " + Str(i + 1) + " redefines '" + tg.Name +
                       "' from group " + Str(it->second + 1));
    }
    if (tg.ShutdownDelay && *tg.ShutdownDelay < 0)
      errors.push_back("ShutdownDelay must be a positive value");
  }
  for (const TaskGroup& tg : job.TaskGroups) {
    Add(errors, "Task group " + tg.Name + " validation failed: ", ValidateGroup(job, tg, capacity));
  }
  FindNulInJob(job, errors);
  if (errors.empty()) return Status::Ok();
  return InvalidArgument(Join(errors));
}

}  // namespace drover
