#include "tests/support/agent_process.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "lifecycle/driver.h"

namespace drover::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Reaps every child of this process, so that orphaned task processes
// (reparented here, the subreaper) never linger as zombies, and hands the
// wait status of the children it was asked to watch (the agents) to
// AwaitExit.
class Reaper {
 public:
  static Reaper& Get() {
    static Reaper reaper;
    return reaper;
  }

  ~Reaper() {
    stop_ = true;
    thread_.join();
  }

  // fork() whose child, if it exits, is reported by AwaitExit. The lock
  // keeps the reaper from reaping the child before it is registered.
  pid_t ForkWatched() {
    std::lock_guard lock(mu_);
    const pid_t pid = ::fork();
    if (pid > 0) exited_[pid] = std::nullopt;
    return pid;
  }

  // The wait status of watched child `pid` once it has exited; nullopt if it
  // is still running after `timeout`.
  std::optional<int> AwaitExit(pid_t pid, milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return exited_[pid].has_value(); });
    std::optional<int> status = exited_[pid];
    if (status) exited_.erase(pid);
    return status;
  }

 private:
  Reaper() {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    thread_ = std::thread([this] { Loop(); });
  }

  void Loop() {
    while (!stop_) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid > 0) {
        std::lock_guard lock(mu_);
        if (auto it = exited_.find(pid); it != exited_.end()) {
          it->second = status;
          cv_.notify_all();
        }
        continue;
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<pid_t, std::optional<int>> exited_;  // watched children
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "signal " + std::to_string(WTERMSIG(status)) + " (" +
           ::strsignal(WTERMSIG(status)) + ")";
  }
  return "wait status " + std::to_string(status);
}

std::string ReadWholeFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A port nobody listens on now. Another process may take it before the
// agent binds it; on loopback in a test run that does not happen in practice.
Result<std::uint16_t> FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Unavailable(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) return Unavailable(std::string("bind 127.0.0.1:0: ") + std::strerror(err));
  return ntohs(addr.sin_port);
}

// Starts `argv` with stdin from /dev/null and stdout+stderr appended to
// `log_path`, in its own process group. It is SIGKILLed if the thread that
// spawned it dies, so a crashed test run leaves no agent behind.
Result<pid_t> Spawn(const std::vector<std::string>& argv, const fs::path& log_path) {
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return Internal("open " + log_path.string() + ": " + std::strerror(errno));
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();

  const pid_t pid = Reaper::Get().ForkWatched();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::setpgid(0, 0);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::execv(args[0], args.data());
    static constexpr char kMsg[] = "drover-e2e: execv of the agent binary failed\n";
    (void)!::write(STDERR_FILENO, kMsg, sizeof kMsg - 1);
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  if (pid < 0) return Internal(std::string("fork: ") + std::strerror(fork_errno));
  return pid;
}

struct ProcEntry {
  pid_t pid;
  pid_t ppid;
  char state;
};

std::optional<ProcEntry> ReadProcStat(pid_t pid) {
  // "<pid> (<comm>) <state> <ppid> ...": comm may hold spaces and parens.
  const std::string stat = ReadWholeFile("/proc/" + std::to_string(pid) + "/stat");
  const auto close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return std::nullopt;
  std::istringstream rest(stat.substr(close_paren + 1));
  ProcEntry e{pid, 0, '?'};
  if (!(rest >> e.state >> e.ppid)) return std::nullopt;
  return e;
}

std::vector<ProcEntry> ProcessTable() {
  std::vector<ProcEntry> table;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return table;
  while (const dirent* d = ::readdir(dir)) {
    char* end = nullptr;
    const long pid = std::strtol(d->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    if (auto e = ReadProcStat(static_cast<pid_t>(pid))) table.push_back(*e);
  }
  ::closedir(dir);
  return table;
}

std::vector<pid_t> DescendantsOf(pid_t root) {
  const auto table = ProcessTable();
  std::set<pid_t> tree{root};
  for (bool grew = true; grew;) {  // the table is not ordered parent-first
    grew = false;
    for (const auto& e : table) {
      if (tree.count(e.ppid) && tree.insert(e.pid).second) grew = true;
    }
  }
  tree.erase(root);
  return {tree.begin(), tree.end()};
}

bool IsInside(std::string_view path, std::string_view dir) {
  return path.size() >= dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         (path.size() == dir.size() || path[dir.size()] == '/');
}

bool UsesDir(pid_t pid, const std::string& dir) {
  const std::string proc = "/proc/" + std::to_string(pid);
  std::error_code ec;
  const fs::path cwd = fs::read_symlink(proc + "/cwd", ec);
  if (!ec && IsInside(cwd.native(), dir)) return true;

  const std::string cmdline = ReadWholeFile(proc + "/cmdline");
  if (cmdline.find(dir) != std::string::npos) return true;

  static constexpr std::string_view kAllocDir = "NOMAD_ALLOC_DIR=";
  const std::string environ = ReadWholeFile(proc + "/environ");
  for (std::size_t begin = 0; begin < environ.size();) {
    std::size_t end = environ.find('\0', begin);
    if (end == std::string::npos) end = environ.size();
    const std::string_view var(environ.data() + begin, end - begin);
    if (var.substr(0, kAllocDir.size()) == kAllocDir &&
        IsInside(var.substr(kAllocDir.size()), dir)) {
      return true;
    }
    begin = end + 1;
  }
  return false;
}

}  // namespace

std::vector<pid_t> ProcessesUsing(const fs::path& data_dir) {
  const std::string dir = fs::weakly_canonical(data_dir).native();
  std::vector<pid_t> pids;
  for (const auto& e : ProcessTable()) {
    if (e.pid != ::getpid() && e.state != 'Z' && UsesDir(e.pid, dir)) {
      pids.push_back(e.pid);
    }
  }
  return pids;
}

bool ProcessAlive(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  const auto e = ReadProcStat(pid);
  return e && e->state != 'Z' && e->state != 'X';
}

pid_t ParentOf(pid_t pid) {
  const auto e = ReadProcStat(pid);
  return e ? e->ppid : -1;
}

std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& e : ProcessTable()) {
    if (e.ppid == parent && e.state != 'Z' && e.state != 'X') out.push_back(e.pid);
  }
  return out;
}

bool WaitFor(const std::function<bool()>& done, milliseconds timeout, milliseconds interval) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

Result<boost::json::value> ParseJson(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec) {
    return InvalidArgument("not JSON (" + ec.message() + "): '" +
                           std::string(text.substr(0, 300)) + "'");
  }
  return value;
}

Result<std::unique_ptr<AgentProcess>> AgentProcess::Launch(AgentOptions options) {
  if (::access(options.binary.c_str(), X_OK) != 0) {
    return FailedPrecondition("agent binary " + options.binary +
                              " is not executable: " + std::strerror(errno));
  }
  char root_template[] = "/tmp/drover-XXXXXX";  // short: unix socket paths live under it
  if (::mkdtemp(root_template) == nullptr) {
    return Internal(std::string("mkdtemp: ") + std::strerror(errno));
  }
  std::unique_ptr<AgentProcess> agent(new AgentProcess(std::move(options), root_template));
  ASSIGN_OR_RETURN(agent->port_, FreeLoopbackPort());
  if (agent->options_.prepare_data_dir)
    RETURN_IF_ERROR(agent->options_.prepare_data_dir(agent->data_dir_));
  RETURN_IF_ERROR(agent->Start());
  return agent;
}

AgentProcess::AgentProcess(AgentOptions options, fs::path root)
    : options_(std::move(options)),
      root_(std::move(root)),
      data_dir_(root_ / "data"),
      log_path_(root_ / "agent.log") {
  fs::create_directories(data_dir_);
}

AgentProcess::~AgentProcess() {
  KillEverything();
  if (std::getenv("DROVER_E2E_KEEP") != nullptr) {
    std::cerr << "drover-e2e: kept " << root_ << "\n";
    return;
  }
  std::error_code ignored;
  fs::remove_all(root_, ignored);
}

Status AgentProcess::Start() {
  if (running()) return FailedPrecondition("agent already running");
  std::vector<std::string> argv = {
      options_.binary, "agent",
      "--data-dir",    data_dir_.string(),
      "--http-addr",   "127.0.0.1:" + std::to_string(port_),
      "--log-level",   options_.log_level,
  };
  if (!options_.config_json.empty()) {
    const fs::path config = root_ / "agent.json";
    std::ofstream(config) << options_.config_json;
    argv.insert(argv.end(), {"--config", config.string()});
  }
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  argv.insert(argv.begin(), options_.launcher.begin(), options_.launcher.end());
  std::ofstream(log_path_, std::ios::app) << "=== drover-e2e: starting agent on port "
                                          << port_ << " ===\n";
  ASSIGN_OR_RETURN(pid_, Spawn(argv, log_path_));
  return WaitReady();
}

Status AgentProcess::WaitReady() {
  HttpClient client(port_, milliseconds(1000));
  const auto deadline = Clock::now() + options_.ready_timeout;
  std::string last = "no answer yet";
  while (Clock::now() < deadline) {
    if (auto status = Reaper::Get().AwaitExit(pid_, milliseconds(0))) {
      pid_ = -1;
      return Unavailable("agent exited (" + DescribeWaitStatus(*status) +
                         ") before it was ready; log tail:\n" + LogTail());
    }
    auto response = client.Get("/v1/agent/self");
    // 403: serving, with ACLs on (agent/self then needs a token).
    if (response.ok() && (response->status == 200 || response->status == 403)) {
      return Status::Ok();
    }
    last = response.ok() ? "HTTP " + std::to_string(response->status) + ": " + response->body
                         : response.status().ToString();
    std::this_thread::sleep_for(milliseconds(25));
  }
  return Unavailable("agent not ready after " + std::to_string(options_.ready_timeout.count()) +
                     " ms (last GET /v1/agent/self: " + last + "); log tail:\n" + LogTail());
}

Status AgentProcess::Stop(milliseconds timeout) {
  if (!running()) return Status::Ok();
  ::kill(pid_, SIGTERM);
  const auto status = Reaper::Get().AwaitExit(pid_, timeout);
  if (!status) {
    RETURN_IF_ERROR(Kill());
    return Unavailable("agent did not exit within " + std::to_string(timeout.count()) +
                       " ms of SIGTERM; killed it");
  }
  pid_ = -1;
  if (WIFSIGNALED(*status) && WTERMSIG(*status) != SIGTERM) {
    return Internal("agent died of " + DescribeWaitStatus(*status) +
                    " after SIGTERM; log tail:\n" + LogTail());
  }
  return Status::Ok();
}

Status AgentProcess::Kill() {
  if (!running()) return Status::Ok();
  ::kill(pid_, SIGKILL);
  if (!Reaper::Get().AwaitExit(pid_, milliseconds(10'000))) {
    return Internal("agent pid " + std::to_string(pid_) + " survived SIGKILL for 10 s");
  }
  pid_ = -1;
  return Status::Ok();
}

Status AgentProcess::Restart() {
  RETURN_IF_ERROR(Stop());
  return Start();
}

std::string AgentProcess::LogTail(std::size_t max_bytes) const {
  const std::string log = ReadWholeFile(log_path_);
  return log.size() <= max_bytes ? log : log.substr(log.size() - max_bytes);
}

void AgentProcess::KillEverything() {
  // The agent goes first so that nothing restarts the tasks killed next.
  const std::vector<pid_t> tree = running() ? DescendantsOf(pid_) : std::vector<pid_t>{};
  (void)Kill();
  for (pid_t pid : tree) ::kill(pid, SIGKILL);
  // Processes of an earlier incarnation of the agent are no longer its
  // descendants; the data dir still finds them.
  bool gone = false;
  for (int round = 0; round < 250 && !gone; ++round) {
    const auto left = ProcessesUsing(data_dir_);
    gone = left.empty();
    for (pid_t pid : left) ::kill(pid, SIGKILL);
    if (!gone) std::this_thread::sleep_for(milliseconds(20));
  }
  if (!gone) std::cerr << "drover-e2e: processes using " << data_dir_ << " survived SIGKILL\n";
  // Executors killed here leave their tasks' cgroups (and whatever else is
  // in them); each executor's spec names its task's group.
  std::error_code ec;
  for (fs::recursive_directory_iterator it(data_dir_ / "executor", ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().filename() != "spec") continue;
    cgroup::TaskGroup group = ExecutorTaskGroup(it->path().parent_path().string());
    if (group.enabled() && (!cgroup::KillAll(group, 5000) || !cgroup::Remove(group, 5000))) {
      std::cerr << "drover-e2e: cgroup of " << it->path().parent_path() << " not removed\n";
    }
  }
}

std::string TaskStateOf(HttpClient& client, const std::string& alloc_id, const std::string& task) {
  if (alloc_id.empty()) return "";
  auto r = client.Get("/v1/allocation/" + alloc_id);
  if (!r.ok() || r->status != 200) return "";
  auto alloc = ParseJson(r->body);
  if (!alloc.ok()) return "";
  boost::system::error_code ec;
  const boost::json::value* s = alloc->find_pointer("/TaskStates/" + task + "/State", ec);
  return s != nullptr && s->is_string() ? std::string(s->get_string()) : "";
}

std::string RunJobUntil(HttpClient& client, const boost::json::value& job,
                        const std::string& job_id, const std::string& task,
                        const std::string& state, milliseconds timeout) {
  auto r = client.Put("/v1/jobs", boost::json::serialize(job));
  if (!r.ok() || r->status != 200) return "";
  std::string alloc_id;
  const bool reached = WaitFor(
      [&] {
        auto allocs = client.Get("/v1/job/" + job_id + "/allocations");
        if (!allocs.ok() || allocs->status != 200) return false;
        auto v = ParseJson(allocs->body);
        if (!v.ok() || !v->is_array() || v->get_array().empty()) return false;
        alloc_id = std::string(v->get_array()[0].at("ID").get_string());
        return TaskStateOf(client, alloc_id, task) == state;
      },
      timeout, milliseconds(50));
  return reached ? alloc_id : "";
}

}  // namespace drover::testing
