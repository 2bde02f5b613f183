// raw_exec through drover-executor, started with Boost.Process v1.
// BOOST_PROCESS_USE_STD_FS keeps it free of libboost_filesystem (STACK.md);
// define it only where v1 is used.
#define BOOST_PROCESS_USE_STD_FS
#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/search_path.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "common/safe_fs.h"
#include "lifecycle/driver.h"
#include "lifecycle/executor/protocol.h"

namespace drover {
namespace {

namespace bp = boost::process;
namespace fs = std::filesystem;

constexpr int kCommandTimeoutMs = 2000;
constexpr int kStartTimeoutMs = 10000;
constexpr int kCgroupKillMs = 5000;

// Reads the executor's one announcement line from `fd`.
Result<std::string> ReadAnnouncement(int fd) {
  std::string line;
  char buf[512];
  while (line.find('\n') == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, kStartTimeoutMs);
    if (ready == 0) return Internal("executor did not report within 10s");
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return Internal(std::string("poll: ") + std::strerror(errno));
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Internal("executor exited without reporting");
    line.append(buf, static_cast<size_t>(n));
  }
  line.resize(line.find('\n'));
  return line;
}

class RawExecDriver : public Driver {
 public:
  RawExecDriver(std::string executor_path, Containment containment)
      : executor_(std::move(executor_path)), containment_(std::move(containment)) {}

  Result<ProcessHandle> Start(const TaskLaunch& launch) override {
    std::string exe = launch.command;
    // Before any lookup: a C string would end at the NUL.
    if (exe.find('\0') != std::string::npos) return InvalidArgument("command contains a NUL byte");
    if (exe.find('/') == std::string::npos) {
      auto found = bp::search_path(exe);
      if (found.empty()) return InvalidArgument("executable \"" + exe + "\" not found in $PATH");
      exe = found.string();
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
    if (!executor::WriteFileDurably(launch.state_dir + "/spec", encoded)) {
      return Internal("write executor spec: " + std::string(std::strerror(errno)));
    }

    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) return Internal(std::string("pipe: ") + std::strerror(errno));
    // Runs in the child between fork and exec: only async-signal-safe calls.
    auto setup = [w = report[1]](auto& /*executor*/) {
      // A blocked or ignored signal survives exec: the agent blocks its
      // shutdown signals and Pistache ignores SIGPIPE. The executor and
      // its task start from defaults.
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      struct sigaction dfl {};
      dfl.sa_handler = SIG_DFL;
      for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2}) {
        ::sigaction(s, &dfl, nullptr);
      }
      int null_fd = ::open("/dev/null", O_RDWR);
      if (null_fd >= 0) {
        ::dup2(null_fd, 0);
        ::dup2(null_fd, 2);
      }
      ::dup2(w, 1);
      // Boost.Process v1 passes every inherited descriptor on; close them
      // all at exec instead (RocksDB files, sockets, the epoll set).
      ::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
    };
    int pid = 0;
    try {
      std::error_code spawn_ec;
      bp::child child(bp::exe = executor_, bp::args = {launch.state_dir},
                      bp::extend::on_exec_setup = setup, spawn_ec);
      if (spawn_ec) {
        ::close(report[0]);
        ::close(report[1]);
        return Internal("start executor " + executor_ + ": " + spawn_ec.message());
      }
      pid = child.id();
      child.detach();  // the engine reaps it; the child object must not kill it
    } catch (const std::exception& ex) {
      ::close(report[0]);
      ::close(report[1]);
      return Internal("start executor " + executor_ + ": " + ex.what());
    }
    ::close(report[1]);
    auto line = ReadAnnouncement(report[0]);
    ::close(report[0]);
    if (!line.ok()) return line.status();
    if (line->rfind("started ", 0) != 0) {
      // The executor exits at once after an error; collect it here (the
      // engine's reaper runs on this same thread, so it cannot race us).
      ::waitpid(pid, nullptr, 0);
      // "invalid": the task as given can never start (not worth retrying).
      if (line->rfind("invalid ", 0) == 0) {
        std::string why = line->substr(8);
        // As Nomad's exec drivers word a failed launch (user lookup).
        if (why.rfind("exec ", 0) != 0) why = "failed to launch command with executor: " + why;
        return InvalidArgument(why);
      }
      std::string why = line->rfind("error ", 0) == 0 ? line->substr(6) : *line;
      return Internal(why);
    }
    ProcessHandle h;
    h.pid = pid;
    h.start_ticks = ProcessStartTicks(pid);
    h.task_pid = std::atoi(line->c_str() + 8);
    h.state_dir = launch.state_dir;
    return h;
  }

  Status Signal(const ProcessHandle& handle, int signal) override {
    return Command(handle, "signal " + std::to_string(signal), signal);
  }

  Status Kill(const ProcessHandle& handle) override { return Command(handle, "kill", SIGKILL); }

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
  // Asks the executor; if it cannot be reached (it is gone or hung) and the
  // task still runs, signals the task's group directly with `fallback`.
  Status Command(const ProcessHandle& handle, const std::string& command, int fallback) {
    auto reply = executor::SendCommand(handle.state_dir, command, kCommandTimeoutMs);
    if (reply && *reply == "ok") return Status::Ok();
    if (reply) return Internal("executor: " + *reply);
    if (fallback == SIGKILL) {
      // The executor cannot be reached: with a cgroup, everything in it.
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
