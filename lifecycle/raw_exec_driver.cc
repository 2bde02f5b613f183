// raw_exec on Boost.Process v1. BOOST_PROCESS_USE_STD_FS keeps it free of
// libboost_filesystem (STACK.md); define it only where v1 is used.
#define BOOST_PROCESS_USE_STD_FS
#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/env.hpp>
#include <boost/process/environment.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/search_path.hpp>
#include <boost/process/start_dir.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "lifecycle/driver.h"

namespace drover {
namespace {

namespace bp = boost::process;

// Owns a file descriptor for the duration of a launch.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Result<int> OpenLog(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Internal("open " + path + ": " + std::strerror(errno));
  return fd;
}

class RawExecDriver : public Driver {
 public:
  Result<ProcessHandle> Start(const TaskLaunch& launch) override {
    std::string exe = launch.command;
    if (exe.find('/') == std::string::npos) {
      auto found = bp::search_path(exe);
      if (found.empty()) return InvalidArgument("executable \"" + exe + "\" not found in $PATH");
      exe = found.string();
    } else if (::access(exe.c_str(), X_OK) != 0) {
      return InvalidArgument("cannot execute \"" + exe + "\": " + std::strerror(errno));
    }
    ASSIGN_OR_RETURN(int out_fd, OpenLog(launch.stdout_path));
    Fd out(out_fd);
    ASSIGN_OR_RETURN(int err_fd, OpenLog(launch.stderr_path));
    Fd err(err_fd);

    bp::environment env;
    for (const auto& [k, v] : launch.env) env[k] = v;

    // Runs in the child between fork and exec: only async-signal-safe calls.
    auto setup = [o = out.get(), e = err.get()](auto& /*executor*/) {
      ::setsid();
      // A blocked or ignored signal survives exec: the agent blocks its
      // shutdown signals, Pistache ignores SIGPIPE, and a shell may have
      // started the agent ignoring SIGINT. The task starts with defaults.
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      struct sigaction dfl {};
      dfl.sa_handler = SIG_DFL;
      for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2}) {
        ::sigaction(s, &dfl, nullptr);
      }
      int null_fd = ::open("/dev/null", O_RDONLY);
      if (null_fd >= 0) ::dup2(null_fd, 0);
      ::dup2(o, 1);
      ::dup2(e, 2);
      // Boost.Process v1 passes every inherited descriptor on; close them
      // all at exec instead (RocksDB files, sockets, the epoll set).
      ::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
    };
    try {
      std::error_code ec;
      bp::child child(bp::exe = exe, bp::args = launch.args, env,
                      bp::start_dir = launch.working_dir,
                      bp::extend::on_exec_setup = setup, ec);
      if (ec) return Internal("start \"" + exe + "\": " + ec.message());
      int pid = child.id();
      child.detach();  // the engine reaps it; the child object must not kill it
      return ProcessHandle{pid, ProcessStartTicks(pid)};
    } catch (const std::exception& ex) {
      return Internal(std::string("start \"") + exe + "\": " + ex.what());
    }
  }

  Status Signal(const ProcessHandle& handle, int signal) override {
    if (handle.pid <= 0) return FailedPrecondition("task has no process");
    if (::kill(-handle.pid, signal) != 0 && ::kill(handle.pid, signal) != 0) {
      if (errno == ESRCH) return Status::Ok();  // already gone
      return Internal("signal " + std::to_string(handle.pid) + ": " + std::strerror(errno));
    }
    return Status::Ok();
  }
};

}  // namespace

DriverPtr NewRawExecDriver() { return std::make_unique<RawExecDriver>(); }

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
  std::uint64_t ticks = ProcessStartTicks(handle.pid);
  if (ticks == 0 || ticks != handle.start_ticks) return false;
  // A zombie has exited; it only waits to be reaped.
  std::ifstream in("/proc/" + std::to_string(handle.pid) + "/stat");
  std::string line;
  std::getline(in, line);
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
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
