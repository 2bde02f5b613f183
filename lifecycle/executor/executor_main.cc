// drover-executor: holds one task for the agent.
//
//   drover-executor <state dir>
//
// It runs in its own session, starts the task (in a process group of its
// own) from <state dir>/spec, captures the task's stdout and stderr into
// rotated log files, forwards the signals it receives to the task's group,
// answers the agent on <state dir>/sock, and when the task exits records
// the exit durably in <state dir>/exit and exits.
//
// Containment (both optional, as the spec says): the task runs as the
// spec's user (looked up here, before fork; the child drops its groups,
// gid and uid before exec and never execs if any step fails) and in its own
// cgroup with the spec's limits (the child joins it before exec). When the
// task ends, everything left in its cgroup is killed, so descendants that
// left the task's process group or session die with it; then the cgroup
// is removed. Whether the kernel OOM-killed in it goes into the exit.
//
// It does not depend on the agent: an agent that is killed or upgraded
// finds it again, and the logs keep flowing meanwhile. See protocol.h for
// the files and commands.
//
// Kept free of anything but libc and the C++ standard library so that it
// stays small (one per task).
#include <fcntl.h>
#include <grp.h>  // setgroups
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "lifecycle/executor/cgroup.h"
#include "common/safe_fs.h"
#include "lifecycle/executor/exec_helper.h"
#include "lifecycle/executor/log_rotator.h"
#include "lifecycle/executor/protocol.h"
#include "lifecycle/executor/task_user.h"

namespace drover::executor {
namespace {

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
// How long output of the task's leftovers is drained after it exits.
constexpr int kDrainMillis = 200;
// How long a new executor waits for a predecessor of the same task to exit.
constexpr int kTakeOverMillis = 5000;
// How long killing what is left in a task's cgroup may take.
constexpr int kCgroupKillMillis = 5000;

std::int64_t NowNanos(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The one line the agent waits for; stdout is closed after it.
void Announce(const std::string& line) {
  std::string out = line + "\n";
  (void)!::write(1, out.data(), out.size());
  int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null_fd >= 0) {
    ::dup2(null_fd, 1);
    ::close(null_fd);
  }
}

int Listen(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ::unlink(path.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 8) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// What went wrong in the child before exec: the step and its errno.
enum ChildStep : int { kJoinCgroup = 1, kChdir, kSetgroups, kSetgid, kSetuid, kExec };
struct ChildFailure {
  int step = 0;
  int err = 0;
};

const char* StepName(int step) {
  switch (step) {
    case kJoinCgroup: return "join cgroup";
    case kChdir: return "chdir";
    case kSetgroups: return "setgroups";
    case kSetgid: return "setgid";
    case kSetuid: return "setuid";
    default: return "exec";
  }
}

// The logs directory, beneath the allocation directory: a symlink in
// place of alloc/ or alloc/logs (a task can plant one) is refused, so that
// nothing is written or deleted wherever it points.
drover::UniqueFd OpenLogsDir(const Spec& spec, std::string* error) {
  drover::UniqueFd alloc(
      ::open(spec.alloc_dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!alloc.valid()) {
    *error = spec.alloc_dir + ": " + std::strerror(errno);
    return alloc;
  }
  drover::UniqueFd logs(drover::OpenBeneath(alloc.get(), spec.logs_dir, O_RDONLY | O_DIRECTORY));
  if (!logs.valid()) {
    *error = spec.logs_dir + ": " +
             (errno == ELOOP ? std::string("is or goes through a symbolic link; not followed")
                             : std::strerror(errno));
  }
  return logs;
}

class Executor {
 public:
  Executor(std::string state_dir, Spec spec, UniqueFd logs_dir)
      : state_dir_(std::move(state_dir)),
        spec_(std::move(spec)),
        logs_dir_(std::move(logs_dir)),
        out_log_(logs_dir_.get(), spec_.stdout_name, spec_.max_files, spec_.max_file_bytes),
        err_log_(logs_dir_.get(), spec_.stderr_name, spec_.max_files, spec_.max_file_bytes) {}

  int Run() {
    std::string error = Setup();
    if (!error.empty()) {
      if (cgroup_created_) {
        cgroup::KillAll(group_, 2000);
        cgroup::Remove(group_, 2000);
      }
      Announce((invalid_ ? "invalid " : "error ") + error);
      return 1;
    }
    Announce("started " + std::to_string(task_pid_));
    Loop();
    return Finish();
  }

 private:
  std::string Setup() {
    if (!out_log_.Open() || !err_log_.Open())
      return std::string("open logs: ") + std::strerror(errno);
    // Bound by a relative name from inside the directory: the full path may
    // be longer than a socket address can hold.
    if (::chdir(state_dir_.c_str()) != 0) return std::string("chdir: ") + std::strerror(errno);
    std::string error = TakeOver();
    if (!error.empty()) return error;
    listen_fd_ = Listen("sock");
    if (listen_fd_ < 0) return std::string("listen: ") + std::strerror(errno);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    for (int s : kForwarded) sigaddset(&mask, s);
    ::sigprocmask(SIG_BLOCK, &mask, nullptr);
    signal_fd_ = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signal_fd_ < 0) return std::string("signalfd: ") + std::strerror(errno);
    ::signal(SIGPIPE, SIG_IGN);
    if (!spec_.user.empty()) {
      error = ResolveUser(spec_.user, &creds_, &invalid_);
      if (!error.empty()) return error;
      error = GiveDirsToUser();
      if (!error.empty()) return error;
      SetEnv(spec_.env, "USER", creds_.name);
      SetEnv(spec_.env, "LOGNAME", creds_.name);
      SetEnv(spec_.env, "HOME", creds_.home);
    }
    group_ = SpecGroup(spec_);
    if (group_.enabled()) {
      cgroup::Limits limits;
      limits.memory = {spec_.memory_hard_bytes, spec_.memory_soft_bytes};
      limits.pids_max = spec_.pids_max;
      limits.cpu_shares = spec_.cpu_shares;
      cgroup_created_ = true;
      error = cgroup::Create(group_, limits);
      if (!error.empty()) return "cgroup: " + error;
      join_fds_ = cgroup::OpenJoinFiles(group_, &error);
      if (!error.empty()) return "cgroup: " + error;
    }
    error = Spawn();
    for (int fd : join_fds_) ::close(fd);
    join_fds_.clear();
    return error;
  }

  // The directories the task writes to are the user's: each opened
  // relative to the task directory's descriptor, refusing symlinks.
  std::string GiveDirsToUser() {
    if (spec_.chown.empty()) return "";
    int dir_fd = ::open(spec_.cwd.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) return "open task dir " + spec_.cwd + ": " + std::strerror(errno);
    std::string error;
    for (const std::string& name : spec_.chown) {
      if (!cgroup::ValidComponent(name)) {
        error = "invalid task dir name \"" + name + "\"";
        break;
      }
      int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0 && errno == ENOENT) continue;
      if (fd < 0 || ::fchown(fd, creds_.uid, creds_.gid) != 0) {
        error = "chown " + spec_.cwd + "/" + name + ": " + std::strerror(errno);
        if (fd >= 0) ::close(fd);
        break;
      }
      ::close(fd);
    }
    ::close(dir_fd);
    return error;
  }

  // One executor per task at a time: each holds an exclusive lock on
  // "lock" for its lifetime. One that still holds it was started by an
  // agent that died before it recorded the start: that run is unknown to
  // the agent, so it is stopped (its whole group killed) and this executor
  // waits until its predecessor has exited, and removes the exit it left,
  // before it starts the task. Without this the task would run twice.
  std::string TakeOver() {
    lock_fd_ = ::open("lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) return std::string("open lock: ") + std::strerror(errno);
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) == 0) return "";
    (void)SendCommand(state_dir_, "signal " + std::to_string(SIGKILL), kTakeOverMillis);
    const std::int64_t deadline = NowNanos(CLOCK_MONOTONIC) + kTakeOverMillis * 1'000'000LL;
    while (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      if (NowNanos(CLOCK_MONOTONIC) >= deadline) return "a previous executor of the task does not exit";
      ::usleep(10'000);
    }
    ::unlink("exit");
    return "";
  }

  std::string Spawn() {
    int out[2], err[2], status[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 ||
        ::pipe2(status, O_CLOEXEC) != 0) {
      return std::string("pipe: ") + std::strerror(errno);
    }
    std::vector<char*> argv, envp;
    argv.push_back(spec_.command.data());
    for (auto& a : spec_.args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : spec_.env) envp.push_back(e.data());
    envp.push_back(nullptr);

    const bool switch_user = !spec_.user.empty() &&
                             !(::geteuid() != 0 && creds_.uid == ::geteuid() && creds_.gid == ::getegid());
    pid_t pid = ::fork();
    if (pid < 0) return std::string("fork: ") + std::strerror(errno);
    if (pid == 0) {
      // The child: only async-signal-safe calls until exec.
      auto fail = [&](int step, int err) {
        ChildFailure f{step, err};
        (void)!::write(status[1], &f, sizeof(f));
        ::_exit(127);
      };
      if (!join_fds_.empty()) {
        if (int e = cgroup::JoinByFds(join_fds_, static_cast<int>(::getpid())); e != 0) fail(kJoinCgroup, e);
      }
      // As Nomad's executor: the task starts from the default OOM score,
      // not from the agent's.
      int oom_fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
      if (oom_fd >= 0) {
        (void)!::write(oom_fd, "0", 1);
        ::close(oom_fd);
      }
      ::setpgid(0, 0);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::signal(SIGPIPE, SIG_DFL);
      int null_fd = ::open("/dev/null", O_RDONLY);
      if (null_fd >= 0) ::dup2(null_fd, 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      ::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
      // The working directory first: the user may not be able to reach it.
      if (!spec_.cwd.empty() && ::chdir(spec_.cwd.c_str()) != 0) fail(kChdir, errno);
      if (switch_user) {
        if (::setgroups(creds_.groups.size(), creds_.groups.data()) != 0) fail(kSetgroups, errno);
        if (::setgid(creds_.gid) != 0) fail(kSetgid, errno);
        if (::setuid(creds_.uid) != 0) fail(kSetuid, errno);
        // Never run the task with more than it asked for.
        if (creds_.uid != 0 && (::geteuid() != creds_.uid || ::setuid(0) == 0)) fail(kSetuid, EPERM);
      }
      ::execve(spec_.command.c_str(), argv.data(), envp.data());
      fail(kExec, errno);
    }
    ::close(out[1]);
    ::close(err[1]);
    ::close(status[1]);
    ::setpgid(pid, pid);  // also from here: no race with the child's own call
    ChildFailure failure;
    ssize_t n;
    do {
      n = ::read(status[0], &failure, sizeof(failure));
    } while (n < 0 && errno == EINTR);
    ::close(status[0]);
    if (n == sizeof(failure)) {
      ::waitpid(pid, nullptr, 0);
      if (failure.step == kExec) {
        invalid_ = true;  // the command cannot run: retrying will not help
        return "exec \"" + spec_.command + "\": " + std::strerror(failure.err);
      }
      invalid_ = failure.step != kJoinCgroup;  // cannot become the user: never run as another
      return std::string(StepName(failure.step)) + ": " + std::strerror(failure.err);
    }
    task_pid_ = pid;
    out_fd_ = out[0];
    err_fd_ = err[0];
    ::fcntl(out_fd_, F_SETFL, O_NONBLOCK);
    ::fcntl(err_fd_, F_SETFL, O_NONBLOCK);
    return "";
  }

  void Loop() {
    while (!exited_) {
      std::vector<pollfd> fds = {{listen_fd_, POLLIN, 0}, {signal_fd_, POLLIN, 0}};
      if (out_fd_ >= 0) fds.push_back({out_fd_, POLLIN, 0});
      if (err_fd_ >= 0) fds.push_back({err_fd_, POLLIN, 0});
      int timeout = -1;
      if (kill_deadline_ns_ > 0) {
        std::int64_t left = kill_deadline_ns_ - NowNanos(CLOCK_MONOTONIC);
        timeout = left <= 0 ? 0 : static_cast<int>(left / 1'000'000 + 1);
      }
      int ready = ::poll(fds.data(), fds.size(), timeout);
      if (ready < 0 && errno != EINTR) break;
      if (kill_deadline_ns_ > 0 && NowNanos(CLOCK_MONOTONIC) >= kill_deadline_ns_) {
        ::kill(-task_pid_, SIGKILL);
        if (group_.enabled()) cgroup::KillAll(group_, kCgroupKillMillis);
        kill_deadline_ns_ = 0;
      }
      for (const pollfd& p : fds) {
        if (p.revents == 0) continue;
        if (p.fd == listen_fd_) Accept();
        else if (p.fd == signal_fd_) HandleSignals();
        else Pump(p.fd == out_fd_ ? out_fd_ : err_fd_, p.fd == out_fd_ ? out_log_ : err_log_);
      }
    }
  }

  // Copies what is available from a pipe into its log; closes it at EOF.
  void Pump(int& fd, LogRotator& log) {
    char buf[64 * 1024];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n > 0) {
        log.Write(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      ::close(fd);  // EOF or error
      fd = -1;
      return;
    }
  }

  void HandleSignals() {
    signalfd_siginfo info{};
    while (::read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
      int sig = static_cast<int>(info.ssi_signo);
      if (sig == SIGCHLD) {
        Reap();
      } else {
        ::kill(-task_pid_, sig);
      }
    }
  }

  void Reap() {
    int status = 0;
    pid_t pid = ::waitpid(task_pid_, &status, WNOHANG);
    if (pid != task_pid_) return;
    exited_ = true;
    exit_.time_ns = NowNanos(CLOCK_REALTIME);
    if (WIFEXITED(status)) {
      exit_.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      // As Nomad's executor: a signal death reads as the shell reports it.
      exit_.signal = WTERMSIG(status);
      exit_.exit_code = 128 + exit_.signal;
    }
    if (group_.enabled()) exit_.oom_killed = cgroup::OomKilled(group_);
  }

  void Accept() {
    for (;;) {
      int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      std::string line;
      char buf[128];
      pollfd p{c, POLLIN, 0};
      while (line.find('\n') == std::string::npos && line.size() < 256 && ::poll(&p, 1, 1000) > 0) {
        ssize_t n = ::read(c, buf, sizeof(buf));
        if (n <= 0) break;
        line.append(buf, static_cast<std::size_t>(n));
      }
      std::string reply = Command(line.substr(0, line.find('\n'))) + "\n";
      (void)!::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }

  std::string Command(const std::string& cmd) {
    if (cmd == "status") return "running " + std::to_string(task_pid_);
    if (cmd == "kill") {
      ::kill(-task_pid_, spec_.kill_signal);
      if (kill_deadline_ns_ == 0)
        kill_deadline_ns_ = NowNanos(CLOCK_MONOTONIC) + spec_.kill_timeout_ms * 1'000'000;
      return "ok";
    }
    if (cmd.rfind("signal ", 0) == 0) {
      int sig = std::atoi(cmd.c_str() + 7);
      if (sig <= 0 || sig >= NSIG) return "error invalid signal";
      return ::kill(-task_pid_, sig) == 0 ? "ok" : std::string("error ") + std::strerror(errno);
    }
    return "error unknown command";
  }

  int Finish() {
    // Whatever the task left behind in its group goes with it, as when
    // Nomad's executor shuts down; with a cgroup, so does everything that
    // left the group (setsid).
    ::kill(-task_pid_, SIGKILL);
    if (group_.enabled()) cgroup::KillAll(group_, kCgroupKillMillis);
    std::int64_t deadline = NowNanos(CLOCK_MONOTONIC) + kDrainMillis * 1'000'000LL;
    while ((out_fd_ >= 0 || err_fd_ >= 0) && NowNanos(CLOCK_MONOTONIC) < deadline) {
      std::vector<pollfd> fds;
      if (out_fd_ >= 0) fds.push_back({out_fd_, POLLIN, 0});
      if (err_fd_ >= 0) fds.push_back({err_fd_, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (out_fd_ >= 0) Pump(out_fd_, out_log_);
      if (err_fd_ >= 0) Pump(err_fd_, err_log_);
    }
    ::unlink((state_dir_ + "/sock").c_str());
    if (group_.enabled() && (!cgroup::KillAll(group_, kCgroupKillMillis) ||
                             !cgroup::Remove(group_, kCgroupKillMillis))) {
      std::fprintf(stderr, "drover-executor: cgroup of the task not removed\n");
    }
    if (!WriteFileDurably(state_dir_ + "/exit", EncodeExit(exit_))) return 2;
    return 0;
  }

  std::string state_dir_;
  Spec spec_;
  UniqueFd logs_dir_;  // the rotators open their files beneath it
  LogRotator out_log_;
  LogRotator err_log_;
  int lock_fd_ = -1;
  int listen_fd_ = -1;
  int signal_fd_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  bool invalid_ = false;  // the error cannot go away by retrying
  Credentials creds_;
  cgroup::TaskGroup group_;
  bool cgroup_created_ = false;
  std::vector<int> join_fds_;
  pid_t task_pid_ = -1;
  bool exited_ = false;
  ExitRecord exit_;
  std::int64_t kill_deadline_ns_ = 0;
};

}  // namespace
}  // namespace drover::executor

int main(int argc, char** argv) {
  using namespace drover::executor;
  // A sibling mode: one `alloc exec` session (exec_helper.h).
  if (argc >= 2 && std::strcmp(argv[1], "exec") == 0) return RunExecHelper(argc, argv);
  if (argc != 2) {
    std::fprintf(stderr, "usage: drover-executor <state dir>\n");
    return 64;
  }
  ::setsid();  // its own session: it outlives the agent and the agent's group
  std::string dir = argv[1];
  auto text = ReadWholeFile(dir + "/spec");
  if (!text) {
    Announce("error cannot read the launch spec in " + dir + ": " + std::strerror(errno));
    return 1;
  }
  auto spec = DecodeLaunchSpec(*text);
  if (!spec.ok()) {
    Announce("error " + spec.status().message());
    return 1;
  }
  std::string error;
  drover::UniqueFd logs = OpenLogsDir(*spec, &error);
  if (!logs.valid()) {
    Announce("error open logs: " + error);
    return 1;
  }
  Executor executor(dir, std::move(spec).value(), std::move(logs));
  return executor.Run();
}
