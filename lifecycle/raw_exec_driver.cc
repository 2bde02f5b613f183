// raw_exec through drover-executor, started with posix_spawn: glibc
// spawns with clone(CLONE_VM | CLONE_VFORK), so the agent's address space
// is never copied (a fork of the agent costs page-table copies in
// proportion to its size, and its teardown at exec).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "common/safe_fs.h"
#include "lifecycle/driver.h"
#include "lifecycle/executor/protocol.h"
#include "lifecycle/scheduler.h"

extern char** environ;

namespace drover {
namespace {

namespace fs = std::filesystem;

constexpr int kCommandTimeoutMs = 2000;
constexpr Nanos kStartTimeout = 10 * kSecond;
constexpr int kCgroupKillMs = 5000;
// An announcement is one short line; more is not an executor talking.
constexpr std::size_t kMaxAnnouncement = 4096;

// `name` looked up in the agent's PATH as execvp would: the first regular,
// executable file. "" if there is none.
std::string SearchPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t begin = 0;
  for (;;) {
    std::size_t colon = dirs.find(':', begin);
    std::string dir = dirs.substr(begin, colon == std::string::npos ? std::string::npos : colon - begin);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string::npos) return "";
    begin = colon + 1;
  }
}

// Starts `executor` with the report pipe's write end as its stdout,
// /dev/null as stdin and stderr, in a session of its own, with default
// signal dispositions and an empty signal mask (a blocked or ignored
// signal survives exec: the agent blocks its shutdown signals and Pistache
// ignores SIGPIPE), and no other descriptor of the agent.
Result<int> SpawnExecutor(const std::string& executor, const std::string& state_dir, int report_w) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  if (posix_spawn_file_actions_init(&actions) != 0) return Internal("posix_spawn_file_actions_init");
  if (posix_spawnattr_init(&attr) != 0) {
    posix_spawn_file_actions_destroy(&actions);
    return Internal("posix_spawnattr_init");
  }
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD}) {
    sigaddset(&defaults, s);
  }
  int rc = 0;
  auto step = [&rc](int r) {
    if (rc == 0) rc = r;
  };
  step(posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                           POSIX_SPAWN_SETSIGDEF));
  step(posix_spawnattr_setsigmask(&attr, &none));
  step(posix_spawnattr_setsigdefault(&attr, &defaults));
  step(posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDWR, 0));
  step(posix_spawn_file_actions_adddup2(&actions, report_w, 1));
  step(posix_spawn_file_actions_adddup2(&actions, 0, 2));
  // Whatever the agent holds without O_CLOEXEC (sockets, RocksDB files,
  // the epoll set) ends here, not in the executor and its task.
  step(posix_spawn_file_actions_addclosefrom_np(&actions, 3));
  pid_t pid = 0;
  if (rc == 0) {
    std::string arg0 = executor;
    std::string arg1 = state_dir;
    char* argv[] = {arg0.data(), arg1.data(), nullptr};
    rc = posix_spawn(&pid, executor.c_str(), &actions, &attr, argv, environ);
  }
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Internal("start executor " + executor + ": " + std::strerror(rc));
  return static_cast<int>(pid);
}

// One executor coming up: its report pipe, read as it becomes readable.
struct PendingStart {
  int pid = 0;
  int fd = -1;
  std::string state_dir;
  std::string line;
  StartCallback done;
  TimerId timeout = 0;
  bool finished = false;
};

class RawExecDriver : public Driver {
 public:
  RawExecDriver(std::string executor_path, Containment containment)
      : executor_(std::move(executor_path)), containment_(std::move(containment)) {}

  void Start(const TaskLaunch& launch, Scheduler& scheduler, ProcessMonitor& monitor,
             StartCallback done) override {
    auto report = Launch(launch);
    if (!report.ok()) {
      done(report.status());
      return;
    }
    auto pending = std::make_shared<PendingStart>(std::move(*report));
    pending->done = std::move(done);
    pending->timeout = scheduler.After(kStartTimeout, [pending, &monitor] {
      if (pending->finished) return;
      // Hung before reporting: it must not run a task nobody watches.
      ::kill(pending->pid, SIGKILL);
      Finish(*pending, monitor, Internal("executor did not report within 10s"));
    });
    ReadReport(pending, scheduler, monitor);
  }

  Status Signal(const ProcessHandle& handle, int signal) override {
    return Command(handle, "signal " + std::to_string(signal), signal);
  }

  // The kill is posted, not awaited: the executor acts on it once it runs,
  // and the task runner's kill timer sends SIGKILL should it never manage.
  Status Kill(const ProcessHandle& handle) override {
    if (executor::PostCommand(handle.state_dir, "kill")) return Status::Ok();
    return Unreachable(handle, SIGKILL);
  }

  std::optional<ExitResult> ExitStatus(const ProcessHandle& handle) override {
    auto text = executor::ReadWholeFile(handle.state_dir + "/exit");
    if (!text) return std::nullopt;
    auto record = executor::DecodeExit(*text);
    if (!record) return std::nullopt;
    ExitResult r;
    r.ExitCode = record->exit_code;
    r.Signal = record->signal;
    r.OOMKilled = record->oom_killed;
    return r;
  }

  void Cleanup(const ProcessHandle& handle) override {
    if (handle.state_dir.empty()) return;
    // The executor removes the task's cgroup when it ends; one that was
    // killed itself left it (and maybe processes in it) behind.
    cgroup::TaskGroup group = ExecutorTaskGroup(handle.state_dir);
    if (group.enabled() && (!cgroup::KillAll(group, kCgroupKillMs) || !cgroup::Remove(group, kCgroupKillMs))) {
      log::Warn("cgroup of task in " + handle.state_dir + " could not be removed");
    }
    if (RemovePathTree(handle.state_dir) != 0)
      log::Warn("remove " + handle.state_dir + ": " + std::strerror(errno));
  }

 private:
  // Everything up to the executor's start: the spec on disk and the
  // process spawned. The pending start holds the pipe's read end.
  Result<PendingStart> Launch(const TaskLaunch& launch) {
    std::string exe = launch.command;
    // Before any lookup: a C string would end at the NUL.
    if (exe.find('\0') != std::string::npos) return InvalidArgument("command contains a NUL byte");
    if (exe.find('/') == std::string::npos) {
      std::string found = SearchPath(exe);
      if (found.empty()) return InvalidArgument("executable \"" + exe + "\" not found in $PATH");
      exe = found;
    }
    executor::Spec spec;
    spec.command = exe;
    spec.args = launch.args;
    for (const auto& [k, v] : launch.env) spec.env.push_back(k + "=" + v);
    spec.cwd = launch.working_dir;
    spec.alloc_dir = launch.alloc_dir;
    spec.logs_dir = launch.logs_dir;
    spec.stdout_name = launch.stdout_name;
    spec.stderr_name = launch.stderr_name;
    // Within what the executor accepts (jobs stored before validation).
    spec.max_files = std::clamp(launch.max_files, 1, executor::kMaxLogFiles);
    spec.max_file_bytes = std::clamp<std::uint64_t>(launch.max_file_bytes, 1, executor::kMaxLogFileBytes);
    spec.kill_signal = launch.kill_signal;
    spec.kill_timeout_ms = launch.kill_timeout / kMillisecond;
    spec.user = launch.user;
    if (!launch.user.empty()) spec.chown = launch.user_dirs;
    if (containment_.layout.version != cgroup::Version::kNone) {
      std::string name = cgroup::TaskGroupName(launch.alloc_id, launch.task_name);
      if (name.empty()) {
        return InvalidArgument("task name \"" + launch.task_name + "\" cannot name a cgroup");
      }
      cgroup::TaskGroup group = cgroup::MakeTaskGroup(containment_.layout, name);
      spec.cgroup_version = static_cast<int>(group.version);
      for (const auto& [controller, dir] : group.dirs) spec.cgroups.push_back(controller + ":" + dir);
      cgroup::MemoryLimits mem = cgroup::ComputeMemoryLimits(launch.memory_mb, launch.memory_max_mb);
      spec.memory_hard_bytes = mem.hard_bytes;
      spec.memory_soft_bytes = mem.soft_bytes;
      spec.pids_max = containment_.options.pids_max;
      // As Nomad: a task's CPU MHz are its cpu shares.
      spec.cpu_shares = std::clamp<std::int64_t>(launch.cpu_mhz, 0, 262144);
    }
    // A NUL byte in an argument or the environment, a number out of range:
    // refused here with its name, never launched cut short.
    ASSIGN_OR_RETURN(std::string encoded, executor::EncodeLaunchSpec(spec));
    if (::access(exe.c_str(), X_OK) != 0) {
      return InvalidArgument("cannot execute \"" + exe + "\": " + std::strerror(errno));
    }

    std::error_code ec;
    fs::create_directories(launch.state_dir, ec);
    if (ec) return Internal("create " + launch.state_dir + ": " + ec.message());
    fs::remove(launch.state_dir + "/exit", ec);  // from an earlier run of the task
    // Not synced: only this boot reads the spec (the executor, and an agent
    // that restarts and looks up the task's cgroup). After a power loss
    // neither the executor nor its cgroup exist, and the task counts as
    // lost whatever the file holds. Two fsyncs per start saved.
    if (!executor::WriteFileReplacing(launch.state_dir + "/spec", encoded)) {
      return Internal("write executor spec: " + std::string(std::strerror(errno)));
    }

    int report[2];
    if (::pipe2(report, O_CLOEXEC | O_NONBLOCK) != 0) {
      return Internal(std::string("pipe: ") + std::strerror(errno));
    }
    // The write end must block in the executor: clear O_NONBLOCK on it
    // (O_NONBLOCK belongs to the open file, shared by both descriptors of
    // a dup, so set it on the read end only).
    ::fcntl(report[1], F_SETFL, ::fcntl(report[1], F_GETFL) & ~O_NONBLOCK);
    auto pid = SpawnExecutor(executor_, launch.state_dir, report[1]);
    ::close(report[1]);
    if (!pid.ok()) {
      ::close(report[0]);
      return pid.status();
    }
    PendingStart p;
    p.pid = *pid;
    p.fd = report[0];
    p.state_dir = launch.state_dir;
    return p;
  }

  // Reads what the executor has written so far; waits on the loop for more.
  static void ReadReport(const std::shared_ptr<PendingStart>& p, Scheduler& scheduler,
                         ProcessMonitor& monitor) {
    if (p->finished) return;
    char buf[512];
    for (;;) {
      ssize_t n = ::read(p->fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      if (n < 0) {
        scheduler.Cancel(p->timeout);
        Finish(*p, monitor, Internal(std::string("read executor report: ") + std::strerror(errno)));
        return;
      }
      if (n == 0) {
        scheduler.Cancel(p->timeout);
        Finish(*p, monitor, Internal("executor exited without reporting"));
        return;
      }
      p->line.append(buf, static_cast<std::size_t>(n));
      if (p->line.find('\n') != std::string::npos) {
        scheduler.Cancel(p->timeout);
        p->line.resize(p->line.find('\n'));
        Finish(*p, monitor, Status::Ok());
        return;
      }
      if (p->line.size() > kMaxAnnouncement) {
        scheduler.Cancel(p->timeout);
        ::kill(p->pid, SIGKILL);
        Finish(*p, monitor, Internal("executor report too long"));
        return;
      }
    }
    monitor.WhenReadable(p->fd, [p, &scheduler, &monitor] { ReadReport(p, scheduler, monitor); });
  }

  // Ends a pending start: with `error`, or with what the executor reported.
  static void Finish(PendingStart& p, ProcessMonitor& monitor, Status error) {
    p.finished = true;
    // A wait the monitor may still hold is on its own duplicate of the
    // descriptor; it ends when the executor's end closes.
    ::close(p.fd);
    p.fd = -1;
    StartCallback done = std::move(p.done);
    auto fail = [&](Status st) {
      // The engine reaps it (an executor that failed exits at once).
      monitor.WatchChild(p.pid, [] {});
      done(std::move(st));
    };
    if (!error.ok()) return fail(std::move(error));
    const std::string& line = p.line;
    if (line.rfind("started ", 0) != 0) {
      // "invalid": the task as given can never start (not worth retrying).
      if (line.rfind("invalid ", 0) == 0) {
        std::string why = line.substr(8);
        // As Nomad's exec drivers word a failed launch (user lookup).
        if (why.rfind("exec ", 0) != 0) why = "failed to launch command with executor: " + why;
        return fail(InvalidArgument(why));
      }
      return fail(Internal(line.rfind("error ", 0) == 0 ? line.substr(6) : line));
    }
    ProcessHandle h;
    h.pid = p.pid;
    h.start_ticks = ProcessStartTicks(p.pid);
    h.task_pid = std::atoi(line.c_str() + 8);
    h.state_dir = p.state_dir;
    done(h);
  }

  // Asks the executor; if it cannot be reached (it is gone or hung) and the
  // task still runs, signals the task's group directly with `fallback`.
  Status Command(const ProcessHandle& handle, const std::string& command, int fallback) {
    auto reply = executor::SendCommand(handle.state_dir, command, kCommandTimeoutMs);
    if (reply && *reply == "ok") return Status::Ok();
    if (reply) return Internal("executor: " + *reply);
    return Unreachable(handle, fallback);
  }

  // The executor cannot be reached (it is gone or hung): the agent signals
  // the task itself; a SIGKILL goes to everything in its cgroup.
  Status Unreachable(const ProcessHandle& handle, int fallback) {
    if (fallback == SIGKILL) {
      cgroup::TaskGroup group = ExecutorTaskGroup(handle.state_dir);
      if (group.enabled()) (void)cgroup::KillAll(group, kCgroupKillMs);
    }
    if (handle.task_pid > 0 && ::kill(-handle.task_pid, fallback) == 0) return Status::Ok();
    if (errno == ESRCH) return Status::Ok();  // nothing left to signal
    return Internal("signal task " + std::to_string(handle.task_pid) + ": " + std::strerror(errno));
  }

  std::string executor_;
  Containment containment_;
};

}  // namespace

DriverPtr NewRawExecDriver(std::string executor_path, Containment containment) {
  return std::make_unique<RawExecDriver>(std::move(executor_path), std::move(containment));
}

cgroup::TaskGroup ExecutorTaskGroup(const std::string& state_dir) {
  auto text = executor::ReadWholeFile(state_dir + "/spec");
  if (!text) return {};
  auto spec = executor::DecodeLaunchSpec(*text);
  if (!spec.ok()) return {};
  return executor::SpecGroup(*spec);
}

std::string DefaultExecutorPath() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return (ec ? fs::path(".") : self.parent_path()).string() + "/drover-executor";
}

std::uint64_t ProcessStartTicks(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  // The command name (field 2) may hold spaces and parentheses: fields
  // after it are counted from the last ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(rest >> field)) return 0;
  }
  return std::strtoull(field.c_str(), nullptr, 10);
}

bool ProcessAlive(const ProcessHandle& handle) {
  if (handle.pid <= 0) return false;
  std::ifstream in("/proc/" + std::to_string(handle.pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  auto close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return false;
  if (line[close + 2] == 'Z') return false;  // exited, waiting to be reaped
  return ProcessStartTicks(handle.pid) == handle.start_ticks;
}

int SignalFromName(const std::string& name) {
  static const std::pair<const char*, int> kSignals[] = {
      {"SIGABRT", SIGABRT}, {"SIGALRM", SIGALRM}, {"SIGBUS", SIGBUS},   {"SIGCHLD", SIGCHLD},
      {"SIGCONT", SIGCONT}, {"SIGFPE", SIGFPE},   {"SIGHUP", SIGHUP},   {"SIGILL", SIGILL},
      {"SIGINT", SIGINT},   {"SIGIO", SIGIO},     {"SIGKILL", SIGKILL}, {"SIGPIPE", SIGPIPE},
      {"SIGPROF", SIGPROF}, {"SIGQUIT", SIGQUIT}, {"SIGSEGV", SIGSEGV}, {"SIGSTOP", SIGSTOP},
      {"SIGSYS", SIGSYS},   {"SIGTERM", SIGTERM}, {"SIGTRAP", SIGTRAP}, {"SIGTSTP", SIGTSTP},
      {"SIGTTIN", SIGTTIN}, {"SIGTTOU", SIGTTOU}, {"SIGURG", SIGURG},   {"SIGUSR1", SIGUSR1},
      {"SIGUSR2", SIGUSR2}, {"SIGVTALRM", SIGVTALRM}, {"SIGWINCH", SIGWINCH},
      {"SIGXCPU", SIGXCPU}, {"SIGXFSZ", SIGXFSZ},
  };
  for (const auto& [n, s] : kSignals) {
    if (name == n) return s;
  }
  return -1;
}

}  // namespace drover
