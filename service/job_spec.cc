#include "service/job_spec.h"

#include <boost/json.hpp>

#include <set>
#include <vector>

namespace drover {
namespace {

namespace json = boost::json;

constexpr Nanos kDefaultKillTimeout = 5 * kSecond;

std::string Join(const std::vector<std::string>& errors) {
  // Nomad's go-multierror format.
  std::string out = std::to_string(errors.size()) +
                    (errors.size() == 1 ? " error occurred:\n" : " errors occurred:\n");
  for (const auto& e : errors) out += "\t* " + e + "\n";
  return out + "\n";
}

bool ValidJobType(const std::string& t) {
  return t == kJobTypeService || t == kJobTypeBatch || t == kJobTypeSysBatch;
}

void ValidateRawExecConfig(const Task& task, std::vector<std::string>& errors) {
  boost::system::error_code ec;
  json::value config = json::parse(task.Config.text, ec);
  if (ec || !config.is_object()) {
    errors.push_back("Task " + task.Name + ": Config: missing raw_exec config (need \"command\")");
    return;
  }
  const json::object& o = config.get_object();
  const json::value* cmd = o.if_contains("command");
  if (cmd == nullptr || !cmd->is_string() || cmd->get_string().empty()) {
    errors.push_back("Task " + task.Name + ": Config.command: missing required string");
  }
  if (const json::value* args = o.if_contains("args")) {
    bool ok = args->is_null() || args->is_array();
    if (args->is_array()) {
      for (const auto& a : args->get_array()) ok = ok && a.is_string();
    }
    if (!ok) errors.push_back("Task " + task.Name + ": Config.args: must be a list of strings");
  }
}

void ValidateRestartPolicy(const RestartPolicy& p, const std::string& where,
                           std::vector<std::string>& errors) {
  if (p.Mode != "fail" && p.Mode != "delay")
    errors.push_back(where + ": Unsupported restart mode: \"" + p.Mode + "\"");
  if (p.Attempts < 0) errors.push_back(where + ": Attempts must be non-negative");
  if (p.Delay < 0) errors.push_back(where + ": Delay must be non-negative");
  if (p.Interval > 0 && p.Attempts > 0 && p.Delay * p.Attempts > p.Interval) {
    errors.push_back(where + ": Nomad can't restart the TaskGroup " + std::to_string(p.Attempts) +
                     " times in an interval of: " + FormatGoDuration(p.Interval) +
                     " with a delay of: " + FormatGoDuration(p.Delay));
  }
}

void ValidateTask(const Task& task, size_t index, std::vector<std::string>& errors) {
  std::vector<std::string> te;
  if (task.Name.empty()) te.push_back("Missing task name");
  if (task.Name.find('/') != std::string::npos) te.push_back("Task name cannot include slashes");
  if (task.Driver.empty()) {
    te.push_back("Missing task driver");
  } else if (task.Driver != "raw_exec") {
    te.push_back("Driver \"" + task.Driver + "\" is not available: Drover runs raw_exec tasks");
  } else {
    ValidateRawExecConfig(task, te);
  }
  if (task.KillTimeout < 0) te.push_back("KillTimeout must be a positive value");
  if (task.Resources) {
    if (task.Resources->CPU < 1) te.push_back("Minimum CPU value is 1; got " + std::to_string(task.Resources->CPU));
    if (task.Resources->MemoryMB < 10)
      te.push_back("Minimum MemoryMB value is 10; got " + std::to_string(task.Resources->MemoryMB));
  }
  if (task.LogConfig) {
    if (task.LogConfig->MaxFiles < 1)
      te.push_back("minimum number of files is 1; got " + std::to_string(task.LogConfig->MaxFiles));
    if (task.LogConfig->MaxFileSizeMB < 1)
      te.push_back("minimum file size is 1MB; got " + std::to_string(task.LogConfig->MaxFileSizeMB));
  }
  if (task.Lifecycle) {
    const std::string& h = task.Lifecycle->Hook;
    if (h != "prestart" && h != "poststart" && h != "poststop")
      te.push_back("invalid hook: " + h);
  }
  if (!task.KillSignal.empty()) {
    static const std::set<std::string> kKnown = {
        "SIGABRT", "SIGALRM", "SIGBUS",  "SIGCHLD", "SIGCONT", "SIGFPE",  "SIGHUP",
        "SIGILL",  "SIGINT",  "SIGIO",   "SIGKILL", "SIGPIPE", "SIGPROF", "SIGQUIT",
        "SIGSEGV", "SIGSTOP", "SIGSYS",  "SIGTERM", "SIGTRAP", "SIGTSTP", "SIGTTIN",
        "SIGTTOU", "SIGURG",  "SIGUSR1", "SIGUSR2", "SIGVTALRM", "SIGWINCH", "SIGXCPU",
        "SIGXFSZ"};
    if (!kKnown.count(task.KillSignal)) te.push_back("unknown kill_signal \"" + task.KillSignal + "\"");
  }
  std::string name = task.Name.empty() ? std::to_string(index + 1) : task.Name;
  for (auto& e : te) errors.push_back("Task " + name + " validation failed: " + e);
}

void ValidateGroup(const Job& job, const TaskGroup& tg, size_t index,
                   std::vector<std::string>& errors) {
  std::vector<std::string> ge;
  if (tg.Name.empty()) ge.push_back("Missing task group name");
  if (tg.Count < 0) ge.push_back("Task group count can't be negative");
  if (tg.Tasks.empty()) ge.push_back("Missing tasks for task group");
  if (job.Type == kJobTypeSysBatch && tg.Count > 1) {
    ge.push_back("Job task group " + tg.Name + " has count " + std::to_string(tg.Count) +
                 "; sysbatch jobs run one allocation per node");
  }
  if (tg.RestartPolicy) ValidateRestartPolicy(*tg.RestartPolicy, "Restart policy", ge);
  std::set<std::string> names;
  int leaders = 0;
  for (size_t i = 0; i < tg.Tasks.size(); ++i) {
    const Task& t = tg.Tasks[i];
    if (!t.Name.empty() && !names.insert(t.Name).second)
      ge.push_back("Task " + std::to_string(i + 1) + " redefines '" + t.Name + "'");
    if (t.Leader) ++leaders;
    ValidateTask(t, i, ge);
  }
  if (leaders > 1) ge.push_back("Only one task may be marked as leader");
  std::string name = tg.Name.empty() ? std::to_string(index + 1) : tg.Name;
  for (auto& e : ge) errors.push_back("Task group " + name + " validation failed: " + e);
}

}  // namespace

RestartPolicy DefaultRestartPolicy(const std::string& job_type) {
  if (job_type == kJobTypeBatch || job_type == kJobTypeSysBatch) {
    return RestartPolicy{3, 24 * kHour, 15 * kSecond, "fail", false};
  }
  return RestartPolicy{2, 30 * kMinute, 15 * kSecond, "fail", false};
}

std::optional<ReschedulePolicy> DefaultReschedulePolicy(const std::string& job_type) {
  if (job_type == kJobTypeService) {
    return ReschedulePolicy{0, 0, 30 * kSecond, "exponential", kHour, true};
  }
  if (job_type == kJobTypeBatch) {
    return ReschedulePolicy{1, 24 * kHour, 5 * kSecond, "constant", 0, false};
  }
  return std::nullopt;  // sysbatch allocations are not rescheduled
}

void CanonicalizeJob(Job& job) {
  if (job.Region.empty()) job.Region = "global";
  if (job.Namespace.empty()) job.Namespace = "default";
  if (job.Name.empty()) job.Name = job.ID;
  if (job.Type.empty()) job.Type = kJobTypeService;
  if (job.Priority == 0) job.Priority = 50;
  if (job.Datacenters.empty()) job.Datacenters = {"*"};
  if (job.NodePool.empty()) job.NodePool = "default";
  for (TaskGroup& tg : job.TaskGroups) {
    if (tg.Count == 0 && job.Type != kJobTypeSysBatch) tg.Count = 1;
    if (job.Type == kJobTypeSysBatch) tg.Count = 1;
    if (!tg.RestartPolicy) tg.RestartPolicy = DefaultRestartPolicy(job.Type);
    if (!tg.ReschedulePolicy) tg.ReschedulePolicy = DefaultReschedulePolicy(job.Type);
    if (!tg.EphemeralDisk) tg.EphemeralDisk = EphemeralDisk{false, 300, false};
    for (Task& t : tg.Tasks) {
      if (t.KillTimeout == 0) t.KillTimeout = kDefaultKillTimeout;
      if (!t.LogConfig) t.LogConfig = LogConfig{10, 10, false};
      if (!t.Resources) t.Resources = Resources{};
      if (t.Resources->CPU == 0) t.Resources->CPU = 100;
      if (t.Resources->MemoryMB == 0) t.Resources->MemoryMB = 300;
    }
  }
}

Status ValidateJob(const Job& job) {
  std::vector<std::string> errors;
  if (job.Region.empty()) errors.push_back("Missing job region");
  if (job.ID.empty()) {
    errors.push_back("Missing job ID");
  } else if (job.ID.find(' ') != std::string::npos) {
    errors.push_back("Job ID contains a space");
  } else if (job.ID.find('\0') != std::string::npos) {
    errors.push_back("Job ID contains a null character");
  }
  if (job.Name.empty()) errors.push_back("Missing job name");
  if (job.Namespace.empty()) errors.push_back("Job must be in a namespace");
  if (!ValidJobType(job.Type)) errors.push_back("Invalid job type: \"" + job.Type + "\"");
  if (job.Priority < 1 || job.Priority > 100)
    errors.push_back("Job priority must be between [1, 100]");
  for (const auto& dc : job.Datacenters) {
    if (dc.empty()) errors.push_back("Job datacenter must be non-empty string");
  }
  if (job.TaskGroups.empty()) errors.push_back("Missing job task groups");
  std::set<std::string> groups;
  for (size_t i = 0; i < job.TaskGroups.size(); ++i) {
    const TaskGroup& tg = job.TaskGroups[i];
    if (!tg.Name.empty() && !groups.insert(tg.Name).second) {
      errors.push_back("Job task group " + std::to_string(i + 1) + " redefines '" + tg.Name + "'");
    }
    ValidateGroup(job, tg, i, errors);
  }
  if (errors.empty()) return Status::Ok();
  return InvalidArgument(Join(errors));
}

bool SameJobSpec(const Job& a, const Job& b) {
  auto strip = [](Job j) {
    j.CreateIndex = j.ModifyIndex = j.JobModifyIndex = 0;
    j.Version = 0;
    j.SubmitTime = 0;
    j.Status.clear();
    j.StatusDescription.clear();
    j.Stable = false;
    return j;
  };
  return strip(a) == strip(b);
}

}  // namespace drover
