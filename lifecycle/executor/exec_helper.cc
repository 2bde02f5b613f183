#include "lifecycle/executor/exec_helper.h"

#include <fcntl.h>
#include <grp.h>  // setgroups
#include <poll.h>
#include <signal.h>
#include <stdlib.h>  // posix_openpt, grantpt, unlockpt, ptsname_r
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "common/exec_channel.h"
#include "lifecycle/executor/cgroup.h"
#include "lifecycle/executor/protocol.h"
#include "lifecycle/executor/task_user.h"

namespace drover::executor {
namespace {

// Frames waiting for the agent above which the command's output is not read.
constexpr std::size_t kOutputHighWater = 64 << 10;
constexpr std::size_t kReadChunk = 16 << 10;
// After the command exits: how long what it left behind may still write.
constexpr int kDrainMillis = 200;
// How long the last frames may take to reach the agent.
constexpr int kFlushMillis = 5000;
// The prefix Nomad's answer carries (its executor is reached over gRPC).
constexpr std::string_view kStartError = "rpc error: code = Unknown desc = failed to start command: ";
constexpr std::string_view kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::int64_t NowMillis() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

template <typename T>
bool ParseNumber(const char* text, T* out) {
  std::string_view s(text);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

// Go's texts for system errors are strerror's, starting lower-case.
std::string GoErrno(int err) {
  std::string s = std::strerror(err);
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z' && !(s.size() > 1 && s[1] >= 'A' && s[1] <= 'Z')) {
    s[0] = static_cast<char>(s[0] - 'A' + 'a');
  }
  return s;
}

// Field 22 of /proc/<pid>/stat (start time in clock ticks), or 0 if the
// process does not exist or is a zombie.
std::uint64_t LiveStartTicks(int pid) {
  auto text = ReadWholeFile("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return 0;
  std::size_t close = text->rfind(')');
  if (close == std::string::npos || close + 2 >= text->size() || (*text)[close + 2] == 'Z') return 0;
  std::size_t pos = close + 2;
  for (int field = 3; field < 22; ++field) {
    pos = text->find(' ', pos);
    if (pos == std::string::npos) return 0;
    ++pos;
  }
  std::uint64_t ticks = 0;
  std::string_view rest(text->data() + pos, text->size() - pos);
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), ticks);
  return ec == std::errc() ? ticks : 0;
}

std::string EnvValue(const std::vector<std::string>& env, std::string_view key) {
  for (const std::string& e : env) {
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=')
      return e.substr(key.size() + 1);
  }
  return "";
}

// Go's exec.LookPath: a name without a slash is searched in PATH (the
// task's); the first regular file with an execute bit wins. Relative PATH
// entries are skipped.
std::string LookPath(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  std::string path = EnvValue(env, "PATH");
  if (path.empty()) path = kDefaultPath;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    start = end + 1;
    if (dir.empty() || dir[0] != '/') continue;
    std::string candidate = dir + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0)
      return candidate;
  }
  return "";
}

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

struct Args {
  std::string state_dir;
  std::string task;
  int task_pid = 0;
  std::uint64_t task_ticks = 0;
  bool tty = false;
  std::vector<std::string> command;
};

class Helper {
 public:
  explicit Helper(Args args) : args_(std::move(args)) {}

  int Run() {
    ::signal(SIGPIPE, SIG_IGN);
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
    ::sigprocmask(SIG_BLOCK, &mask, nullptr);
    signal_fd_ = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    SetNonBlocking(kChannel);

    std::string error = Start();
    if (!error.empty()) {
      std::string frame;
      AppendExecFrame(frame, ExecFrameType::kFailed, error.substr(0, kMaxExecPayload));
      to_agent_ = std::move(frame);
      Flush();
      return 1;
    }
    AppendExecFrame(to_agent_, ExecFrameType::kStarted);
    Loop();
    if (agent_gone_) return 0;
    if (out_fd_ >= 0) AppendExecFrame(to_agent_, ExecFrameType::kStdoutClose);
    if (err_fd_ >= 0) AppendExecFrame(to_agent_, ExecFrameType::kStderrClose);
    AppendExecFrame(to_agent_, ExecFrameType::kExited, std::to_string(exit_code_));
    Flush();
    return 0;
  }

 private:
  static constexpr int kChannel = 0;

  std::string NotRunning() const { return "404 task \"" + args_.task + "\" is not running."; }

  // "" once the command runs, else the 'f' payload.
  std::string Start() {
    task_pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, args_.task_pid, 0));
    if (task_pidfd_ < 0 || LiveStartTicks(args_.task_pid) != args_.task_ticks) return NotRunning();
    auto text = ReadWholeFile(args_.state_dir + "/spec");
    if (!text) return "500 cannot read the task's launch spec: " + std::string(std::strerror(errno));
    auto spec = DecodeLaunchSpec(*text);
    if (!spec.ok()) return "500 " + spec.status().message();
    spec_ = std::move(spec).value();

    const std::string& name = args_.command[0];
    for (const std::string& a : args_.command) {
      if (a.find('\0') != std::string::npos)
        return "500 " + std::string(kStartError) + "fork/exec " + name + ": invalid argument";
    }
    if (!spec_.user.empty()) {
      bool unknown = false;
      std::string error = ResolveUser(spec_.user, &creds_, &unknown);
      if (!error.empty()) return "500 " + std::string(kStartError) + error;
      SetEnv(spec_.env, "USER", creds_.name);
      SetEnv(spec_.env, "LOGNAME", creds_.name);
      SetEnv(spec_.env, "HOME", creds_.home);
      switch_user_ = !(::geteuid() != 0 && creds_.uid == ::geteuid() && creds_.gid == ::getegid());
    }
    path_ = LookPath(name, spec_.env);
    if (path_.empty()) {
      return "500 " + std::string(kStartError) + "exec: \"" + name +
             "\": executable file not found in $PATH";
    }
    cgroup::TaskGroup group = SpecGroup(spec_);
    std::vector<int> join_fds;
    if (group.enabled()) {
      std::string error;
      join_fds = cgroup::OpenJoinFiles(group, &error);
      // The task's group goes when the task ends.
      if (!error.empty()) {
        return LiveStartTicks(args_.task_pid) != args_.task_ticks
                   ? NotRunning()
                   : "500 " + std::string(kStartError) + "ExecStreaming: " + error;
      }
    }
    std::string error = Spawn(join_fds);
    for (int fd : join_fds) ::close(fd);
    return error;
  }

  std::string Spawn(const std::vector<int>& join_fds) {
    int child_in = -1, child_out = -1, child_err = -1;
    int status[2];
    if (::pipe2(status, O_CLOEXEC) != 0) return "500 pipe: " + std::string(std::strerror(errno));
    if (args_.tty) {
      master_ = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
      char name[128];
      if (master_ < 0 || ::grantpt(master_) != 0 || ::unlockpt(master_) != 0 ||
          ::ptsname_r(master_, name, sizeof(name)) != 0) {
        return "500 failed to open a tty: " + GoErrno(errno);
      }
      child_in = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (child_in < 0) return "500 failed to open a tty: " + GoErrno(errno);
      if (switch_user_) (void)!::fchown(child_in, creds_.uid, static_cast<gid_t>(-1));
      child_out = child_err = child_in;
    } else {
      int in[2], out[2], err[2];
      if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
        return "500 pipe: " + std::string(std::strerror(errno));
      child_in = in[0];
      in_fd_ = in[1];
      out_fd_ = out[0];
      child_out = out[1];
      err_fd_ = err[0];
      child_err = err[1];
    }
    std::vector<char*> argv, envp;
    for (auto& a : args_.command) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : spec_.env) envp.push_back(e.data());
    envp.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid < 0) return "500 " + std::string(kStartError) + "fork: " + GoErrno(errno);
    if (pid == 0) {
      // Only async-signal-safe calls until exec.
      auto fail = [&](int err) {
        (void)!::write(status[1], &err, sizeof(err));
        ::_exit(127);
      };
      if (!join_fds.empty()) {
        if (int e = cgroup::JoinByFds(join_fds, static_cast<int>(::getpid())); e != 0) fail(e);
      }
      int oom_fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
      if (oom_fd >= 0) {
        (void)!::write(oom_fd, "0", 1);
        ::close(oom_fd);
      }
      ::setsid();
      if (args_.tty && ::ioctl(child_in, TIOCSCTTY, 0) != 0) fail(errno);
      ::dup2(child_in, 0);
      ::dup2(child_out, 1);
      ::dup2(child_err, 2);
      ::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::signal(SIGPIPE, SIG_DFL);
      if (!spec_.cwd.empty() && ::chdir(spec_.cwd.c_str()) != 0) fail(errno);
      if (switch_user_) {
        if (::setgroups(creds_.groups.size(), creds_.groups.data()) != 0) fail(errno);
        if (::setgid(creds_.gid) != 0) fail(errno);
        if (::setuid(creds_.uid) != 0) fail(errno);
        if (creds_.uid != 0 && (::geteuid() != creds_.uid || ::setuid(0) == 0)) fail(EPERM);
      }
      ::execve(path_.c_str(), argv.data(), envp.data());
      fail(errno);
    }
    ::close(status[1]);
    ::close(child_in);
    if (!args_.tty) {
      ::close(child_out);
      ::close(child_err);
    }
    int err = 0;
    ssize_t n;
    do {
      n = ::read(status[0], &err, sizeof(err));
    } while (n < 0 && errno == EINTR);
    ::close(status[0]);
    if (n == sizeof(err)) {
      ::waitpid(pid, nullptr, 0);
      return "500 " + std::string(kStartError) + "fork/exec " + path_ + ": " + GoErrno(err);
    }
    child_ = pid;
    if (args_.tty) {
      SetNonBlocking(master_);
      in_fd_ = master_;
      out_fd_ = master_;
    } else {
      SetNonBlocking(in_fd_);
      SetNonBlocking(out_fd_);
      SetNonBlocking(err_fd_);
    }
    return "";
  }

  void KillCommand() {
    if (child_ > 0 && !reaped_) ::kill(-child_, SIGKILL);
  }

  void Loop() {
    for (;;) {
      if (reaped_ && (agent_gone_ || ((out_fd_ < 0 && err_fd_ < 0) || drain_expired()))) return;
      std::vector<pollfd> fds;
      auto watch = [&](int fd, short events) {
        if (fd >= 0 && events != 0) fds.push_back({fd, events, 0});
      };
      const bool room = to_agent_.size() - sent_ < kOutputHighWater;
      short chan = 0;
      if (stdin_.empty()) chan |= POLLIN;
      if (sent_ < to_agent_.size()) chan |= POLLOUT;
      // Polled even with no events: POLLHUP still says the agent is gone
      // while the command has not taken its input.
      if (!agent_gone_) fds.push_back({kChannel, chan, 0});
      watch(signal_fd_, POLLIN);
      watch(task_pidfd_, POLLIN);
      if (args_.tty) {
        short ev = (room && out_fd_ >= 0 ? POLLIN : 0) | (!stdin_.empty() ? POLLOUT : 0);
        watch(master_, ev);
      } else {
        watch(out_fd_, room ? POLLIN : 0);
        watch(err_fd_, room ? POLLIN : 0);
        watch(in_fd_, !stdin_.empty() ? POLLOUT : 0);
      }
      // A slow agent is no reason to drop the end of the output.
      if (reaped_ && !room) drain_until_ = std::max(drain_until_, NowMillis() + kDrainMillis);
      int timeout = -1;
      if (reaped_) timeout = static_cast<int>(std::max<std::int64_t>(0, drain_until_ - NowMillis()));
      int ready = ::poll(fds.data(), fds.size(), timeout);
      if (ready < 0 && errno != EINTR) return;
      if (reaped_ && drain_expired() && !killed_leftovers_) {
        // Processes the command left behind still hold its output open.
        ::kill(-child_, SIGKILL);
        killed_leftovers_ = true;
        drain_until_ = NowMillis() + kDrainMillis;
      }
      for (const pollfd& p : fds) {
        if (p.revents == 0) continue;
        if (p.fd == kChannel) {
          if (p.revents & POLLOUT) WriteAgent();
          if (p.revents & (POLLIN | POLLHUP | POLLERR)) ReadAgent();
        } else if (p.fd == signal_fd_) {
          HandleSignals();
        } else if (p.fd == task_pidfd_) {
          KillCommand();  // the task is gone: so is its exec session
          CloseFd(task_pidfd_);
        } else {
          if ((p.revents & POLLOUT) && p.fd == in_fd_) WriteStdin();
          if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            if (p.fd == out_fd_) Pump(out_fd_, ExecFrameType::kStdout, ExecFrameType::kStdoutClose);
            else if (p.fd == err_fd_) Pump(err_fd_, ExecFrameType::kStderr, ExecFrameType::kStderrClose);
          }
        }
      }
    }
  }

  bool drain_expired() const { return reaped_ && NowMillis() >= drain_until_ && killed_leftovers_; }

  void ReadAgent() {
    char buf[kReadChunk];
    ssize_t n = ::read(kChannel, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      AgentGone();
      return;
    }
    reader_.Append(buf, static_cast<std::size_t>(n));
    while (auto frame = reader_.Next()) {
      switch (frame->type) {
        case ExecFrameType::kStdin:
          if (!stdin_closed_) stdin_ += frame->payload;
          break;
        case ExecFrameType::kStdinClose:
          if (args_.tty) {
            // No pipe to close on a terminal: end-of-file is its EOF character.
            stdin_ += '\x04';
          } else {
            stdin_close_pending_ = true;
          }
          stdin_closed_ = true;
          break;
        case ExecFrameType::kResize:
          if (auto size = DecodeResize(frame->payload); size && master_ >= 0) {
            winsize ws{};
            ws.ws_row = size->first;
            ws.ws_col = size->second;
            ::ioctl(master_, TIOCSWINSZ, &ws);
          }
          break;
        default:
          AgentGone();  // not a frame the agent sends
          return;
      }
    }
    if (!reader_.error().empty()) AgentGone();
    if (!stdin_.empty() || stdin_close_pending_) WriteStdin();
  }

  void AgentGone() {
    agent_gone_ = true;
    KillCommand();
  }

  void WriteStdin() {
    while (!stdin_.empty() && in_fd_ >= 0) {
      ssize_t n = ::write(in_fd_, stdin_.data(), stdin_.size());
      if (n > 0) {
        stdin_.erase(0, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      stdin_.clear();  // the command closed its input
      stdin_closed_ = true;
      if (!args_.tty) CloseFd(in_fd_);
      return;
    }
    if (stdin_.empty() && stdin_close_pending_ && !args_.tty) {
      CloseFd(in_fd_);
      stdin_close_pending_ = false;
    }
    if (in_fd_ < 0) stdin_.clear();
  }

  void Pump(int& fd, ExecFrameType data, ExecFrameType closed) {
    char buf[kReadChunk];
    while (to_agent_.size() - sent_ < kOutputHighWater) {
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n > 0) {
        AppendExecFrame(to_agent_, data, std::string_view(buf, static_cast<std::size_t>(n)));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      // EOF; on a pty EIO once every slave descriptor is closed.
      AppendExecFrame(to_agent_, closed);
      if (args_.tty) {
        CloseFd(master_);
        in_fd_ = -1;
        fd = -1;
      } else {
        CloseFd(fd);
      }
      break;
    }
    WriteAgent();
  }

  void WriteAgent() {
    while (sent_ < to_agent_.size()) {
      ssize_t n = ::send(kChannel, to_agent_.data() + sent_, to_agent_.size() - sent_, MSG_NOSIGNAL);
      if (n > 0) {
        sent_ += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      AgentGone();
      return;
    }
    if (sent_ == to_agent_.size()) {
      to_agent_.clear();
      sent_ = 0;
    } else if (sent_ > (256 << 10)) {
      to_agent_.erase(0, sent_);
      sent_ = 0;
    }
  }

  // Writes what is left for the agent, waiting for room up to kFlushMillis.
  void Flush() {
    const std::int64_t deadline = NowMillis() + kFlushMillis;
    while (!agent_gone_ && sent_ < to_agent_.size() && NowMillis() < deadline) {
      pollfd p{kChannel, POLLOUT, 0};
      if (::poll(&p, 1, 100) > 0) WriteAgent();
    }
  }

  void HandleSignals() {
    signalfd_siginfo info{};
    while (::read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
      if (info.ssi_signo != SIGCHLD) {
        AgentGone();  // told to stop
        continue;
      }
      int status = 0;
      if (!reaped_ && ::waitpid(child_, &status, WNOHANG) == child_) {
        reaped_ = true;
        // As Nomad reports a command killed by a signal.
        exit_code_ = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
        drain_until_ = NowMillis() + kDrainMillis;
      }
    }
  }

  Args args_;
  Spec spec_;
  Credentials creds_;
  bool switch_user_ = false;
  std::string path_;
  int signal_fd_ = -1;
  int task_pidfd_ = -1;
  int master_ = -1;  // tty: both directions
  int in_fd_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  pid_t child_ = -1;
  bool reaped_ = false;
  bool killed_leftovers_ = false;
  std::int64_t drain_until_ = 0;
  int exit_code_ = 0;
  bool agent_gone_ = false;
  ExecFrameReader reader_;
  std::string stdin_;  // for the command; the channel is not read while it holds bytes
  bool stdin_closed_ = false;
  bool stdin_close_pending_ = false;
  std::string to_agent_;
  std::size_t sent_ = 0;
};

}  // namespace

int RunExecHelper(int argc, char** argv) {
  if (argc < 8) return 64;
  Args args;
  args.state_dir = argv[2];
  args.task = argv[3];
  int tty = 0;
  if (!ParseNumber(argv[4], &args.task_pid) || args.task_pid <= 0 ||
      !ParseNumber(argv[5], &args.task_ticks) || !ParseNumber(argv[6], &tty) || tty < 0 || tty > 1) {
    return 64;
  }
  args.tty = tty == 1;
  for (int i = 7; i < argc; ++i) args.command.emplace_back(argv[i]);
  Helper helper(std::move(args));
  return helper.Run();
}

}  // namespace drover::executor
