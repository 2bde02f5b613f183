#include "lifecycle/exec_spawn.h"

#include <fcntl.h>
#include <linux/sched.h>  // clone_args, CLONE_PIDFD
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lifecycle/driver.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace drover {

Result<ExecHelper> SpawnExecHelper(const std::string& executor_path, const ExecTarget& target,
                                   const std::vector<std::string>& command, bool tty) {
  if (command.empty()) return InvalidArgument("command is not present");
  std::vector<std::string> args = {executor_path, "exec", target.state_dir, target.task,
                                   std::to_string(target.task_pid), "", tty ? "1" : "0"};
  for (const std::string& a : command) {
    if (a.find('\0') != std::string::npos) {
      return InvalidArgument("fork/exec " + command[0] + ": invalid argument");
    }
    args.push_back(a);
  }
  // The helper checks the task's start time against this, after it opened
  // a pidfd of the task: a pid reused meanwhile is never taken for it.
  const std::uint64_t ticks = ProcessStartTicks(target.task_pid);
  if (ticks == 0) return NotFound("task \"" + target.task + "\" is not running.");
  args[5] = std::to_string(ticks);

  // Everything the child needs is prepared here: between clone and exec it
  // may not allocate (another thread may hold the allocator's lock).
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  char* envp[] = {nullptr};
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return Internal(std::string("socketpair: ") + std::strerror(errno));
  }
  UniqueFd ours(sv[0]), theirs(sv[1]);
  UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null_fd.valid()) return Internal(std::string("open /dev/null: ") + std::strerror(errno));

  int pidfd = -1;
  clone_args ca{};
  ca.flags = CLONE_PIDFD;
  ca.pidfd = reinterpret_cast<std::uint64_t>(&pidfd);
  ca.exit_signal = 0;  // a "clone" child: invisible to waitpid(-1) without __WALL
  long pid = ::syscall(SYS_clone3, &ca, sizeof(ca));
  if (pid < 0) return Internal(std::string("clone3: ") + std::strerror(errno));
  if (pid == 0) {
    // The child: raw system calls only.
    ::dup2(theirs.get(), 0);
    ::dup2(null_fd.get(), 1);
    ::dup2(null_fd.get(), 2);
    ::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2}) {
      ::sigaction(s, &dfl, nullptr);
    }
    ::setsid();  // a terminal's ^C to the agent is not for the session
    ::execve(argv[0], argv.data(), envp);
    ::_exit(127);
  }
  ExecHelper helper;
  helper.pid = static_cast<int>(pid);
  helper.pidfd = UniqueFd(pidfd);
  ::fcntl(ours.get(), F_SETFL, ::fcntl(ours.get(), F_GETFL) | O_NONBLOCK);
  helper.channel = std::move(ours);
  return helper;
}

bool ReapExecHelper(const ExecHelper& helper) {
  if (!helper.pidfd.valid()) return true;
  siginfo_t info{};
  if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(helper.pidfd.get()), &info,
               WEXITED | WNOHANG | __WALL) != 0) {
    return errno == ECHILD;  // reaped elsewhere
  }
  return info.si_pid != 0;
}

}  // namespace drover
