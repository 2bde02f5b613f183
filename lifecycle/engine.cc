#include "lifecycle/engine.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstring>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "common/log.h"
#include "lifecycle/alloc_runner.h"
#include "lifecycle/task_events.h"
#include "lifecycle/update_batcher.h"

namespace drover {
namespace {

namespace asio = boost::asio;

constexpr auto kAdoptedPollInterval = std::chrono::milliseconds(100);

// A descriptor that becomes readable when `pid` exits (Linux >= 5.3), or
// -1 where the kernel has no pidfd_open.
int PidfdOpen(int pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

}  // namespace

class Engine::Loop : public Scheduler, public ProcessMonitor, public AllocListener {
 public:
  Loop(AllocationSource& source, UpdateSink& sink, DriverPtr driver, EngineOptions options)
      : source_(source),
        batcher_(*this, sink),
        driver_(std::move(driver)),
        options_(std::move(options)),
        agent_env_(ProcessEnv()),
        work_(asio::make_work_guard(io_)),
        sigchld_(io_, SIGCHLD),
        adopted_timer_(io_) {}

  Status Start() {
    // Task states are written by the batcher's own thread: the loop never
    // waits for a sync.
    batcher_.StartCommitter([this](std::function<void()> fn) { asio::post(io_, std::move(fn)); });
    // Restore before the loop runs, on this thread: nothing else touches the
    // runners yet. Timers and reaps queue up on the loop meanwhile.
    ASSIGN_OR_RETURN(std::vector<Allocation> allocs, source_.ListAllocsToRestore());
    size_t restored = 0;
    for (Allocation& alloc : allocs) {
      if (!AllocNeedsRunner(alloc)) continue;
      auto runner = std::make_unique<AllocRunner>(Deps(), std::move(alloc));
      Status st = runner->Restore();
      if (!st.ok()) {
        log::Error("restore alloc " + runner->alloc().ID + ": " + st.ToString());
        continue;
      }
      runners_[runner->alloc().ID] = std::move(runner);
      ++restored;
    }
    runner_count_ = runners_.size();
    log::Info("engine: restored " + std::to_string(restored) + " allocations");
    ArmSigchld();
    ReapChildren();  // children that exited before the handler was armed
    thread_ = std::thread([this] { io_.run(); });
    return Status::Ok();
  }

  void Stop(bool kill_tasks) {
    if (!thread_.joinable()) return;
    if (kill_tasks) {
      std::promise<void> all_dead;
      auto done = all_dead.get_future();
      asio::post(io_, [this, p = std::move(all_dead)]() mutable {
        for (auto& [id, r] : runners_) r->KillAll(/*include_poststop=*/true);
        WaitAllDead(std::move(p));
      });
      // Kill timeouts bound this; the cap guards against a task that
      // ignores even SIGKILL (uninterruptible sleep).
      done.wait_for(std::chrono::seconds(60));
    }
    asio::post(io_, [this] {
      batcher_.Drain();  // everything changed so far is recorded before we go
      stopping_ = true;
      sigchld_.cancel();
      adopted_timer_.cancel();
      for (auto& [id, w] : fd_waits_) w->close();
      fd_waits_.clear();
      for (auto& [id, t] : timers_) t->cancel();
      timers_.clear();
      runners_.clear();
      work_.reset();
    });
    thread_.join();
  }

  void AllocsUpdated(std::vector<std::string> ids) {
    asio::post(io_, [this, ids = std::move(ids)] {
      for (const auto& id : ids) OnAllocUpdated(id);
    });
  }

  std::size_t RunningAllocs() const { return runner_count_.load(); }

  // Runs `fn` on the loop with the allocation's runner and waits for its
  // answer: the API's calls are quick and need the result. An allocation
  // that is done has no runner (after an agent restart none is rebuilt for
  // it); `done` answers for it from the stored allocation.
  Status WithRunner(const std::string& alloc_id, std::function<Status(AllocRunner&)> fn,
                    std::function<Status(const Allocation&)> done_alloc) {
    std::promise<Status> done;
    auto result = done.get_future();
    asio::post(io_, [&] {
      auto it = runners_.find(alloc_id);
      if (it != runners_.end()) {
        done.set_value(fn(*it->second));
        return;
      }
      auto alloc = source_.GetAlloc(alloc_id);
      if (!alloc.ok()) {
        done.set_value(alloc.status());
      } else if (!alloc->has_value()) {
        done.set_value(NotFound("Unknown allocation \"" + alloc_id + "\""));
      } else {
        done.set_value(done_alloc(**alloc));
      }
    });
    return result.get();
  }

  // ---- AllocListener
  void AllocTerminal(const std::string& alloc_id, const std::string& status) override {
    log::Info("alloc " + alloc_id + ": " + status);
    if (options_.listener != nullptr) options_.listener->AllocTerminal(alloc_id, status);
  }

  // ---- Scheduler
  Nanos Now() override { return NowNanos(); }

  TimerId After(Nanos delay, std::function<void()> fn) override {
    TimerId id = next_timer_++;
    auto timer = std::make_unique<asio::steady_timer>(io_);
    timer->expires_after(std::chrono::nanoseconds(std::clamp<Nanos>(delay, 0, kMaxTimerDelay)));
    timer->async_wait([this, id, fn = std::move(fn)](const boost::system::error_code& ec) {
      timers_.erase(id);
      if (!ec && !stopping_) fn();
    });
    timers_[id] = std::move(timer);
    return id;
  }

  void Cancel(TimerId id) override {
    auto it = timers_.find(id);
    if (it != timers_.end()) it->second->cancel();
  }

  // ---- ProcessMonitor
  void WatchChild(int pid, std::function<void()> on_exit) override {
    if (early_exits_.erase(pid) > 0) {
      asio::post(io_, std::move(on_exit));
      return;
    }
    children_[pid] = std::move(on_exit);
  }

  // With a pidfd the kernel says when the executor exits: no polling, so
  // an agent with many adopted tasks is idle between events. Where
  // pidfd_open fails (an old kernel), /proc is polled.
  void WatchAdopted(const ProcessHandle& handle, std::function<void()> on_exit) override {
    int pidfd = PidfdOpen(handle.pid);
    if (pidfd < 0) {
      adopted_.push_back({handle, std::move(on_exit)});
      if (adopted_.size() == 1) ArmAdoptedPoll();
      return;
    }
    ::fcntl(pidfd, F_SETFD, FD_CLOEXEC);
    // The pid may have been reused between the check and the open: the
    // descriptor names whatever holds the pid now.
    if (!ProcessAlive(handle)) {
      ::close(pidfd);
      asio::post(io_, std::move(on_exit));
      return;
    }
    WaitReadable(pidfd, std::move(on_exit));
  }

  void WhenReadable(int fd, std::function<void()> on_ready) override {
    int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) {
      // Out of descriptors: poll the original until it is readable.
      log::Warn(std::string("engine: dup for readiness wait: ") + std::strerror(errno));
      After(10 * kMillisecond, [this, fd, fn = std::move(on_ready)]() mutable {
        WhenReadable(fd, std::move(fn));
      });
      return;
    }
    WaitReadable(dup, std::move(on_ready));
  }

 private:
  struct Adopted {
    ProcessHandle handle;
    std::function<void()> on_exit;
  };

  AllocRunnerDeps Deps() {
    return AllocRunnerDeps{source_,       batcher_,   *this,           *this,
                           *driver_,      *this,      options_.node,   agent_env_,
                           options_.data_dir,         options_.containment};
  }

  // Waits on `fd` (owned from here on) and runs `fn` once it is readable.
  void WaitReadable(int fd, std::function<void()> fn) {
    std::uint64_t id = next_fd_wait_++;
    auto desc = std::make_unique<asio::posix::stream_descriptor>(io_, fd);
    desc->async_wait(asio::posix::stream_descriptor::wait_read,
                     [this, id, fn = std::move(fn)](const boost::system::error_code& ec) {
                       if (ec || stopping_) return;
                       fd_waits_.erase(id);  // closes the descriptor
                       fn();
                     });
    fd_waits_[id] = std::move(desc);
  }

  void OnAllocUpdated(const std::string& id) {
    auto alloc = source_.GetAlloc(id);
    if (!alloc.ok()) {
      log::Error("engine: read alloc " + id + ": " + alloc.status().ToString());
      return;
    }
    auto it = runners_.find(id);
    if (!alloc->has_value()) {  // purged
      if (it != runners_.end()) it->second->KillAll(/*include_poststop=*/true);
      return;
    }
    if (it != runners_.end()) {
      it->second->Update(**alloc);
      return;
    }
    if ((*alloc)->DesiredStatus != kAllocDesiredRun || !AllocNeedsRunner(**alloc)) return;
    auto runner = std::make_unique<AllocRunner>(Deps(), std::move(**alloc));
    AllocRunner* raw = runner.get();
    runners_[id] = std::move(runner);
    runner_count_ = runners_.size();
    raw->Run();
  }

  void ArmSigchld() {
    sigchld_.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec || stopping_) return;
      ReapChildren();
      ArmSigchld();
    });
  }

  void ReapChildren() {
    for (;;) {
      pid_t pid = ::waitpid(-1, nullptr, WNOHANG);
      if (pid <= 0) return;
      auto it = children_.find(pid);
      if (it == children_.end()) {
        // Reaped before its runner registered (the start and the exit raced).
        early_exits_.insert(pid);
        continue;
      }
      auto cb = std::move(it->second);
      children_.erase(it);
      cb();
    }
  }

  void ArmAdoptedPoll() {
    adopted_timer_.expires_after(kAdoptedPollInterval);
    adopted_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping_) return;
      std::vector<Adopted> gone;
      for (auto it = adopted_.begin(); it != adopted_.end();) {
        if (ProcessAlive(it->handle)) {
          ++it;
        } else {
          gone.push_back(std::move(*it));
          it = adopted_.erase(it);
        }
      }
      for (auto& a : gone) a.on_exit();
      if (!adopted_.empty()) ArmAdoptedPoll();
    });
  }

  void WaitAllDead(std::promise<void> done) {
    bool all_dead = true;
    for (auto& [id, r] : runners_) all_dead = all_dead && r->AllTasksDead();
    if (all_dead) {
      done.set_value();
      return;
    }
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(20));
    timer->async_wait([this, timer, p = std::move(done)](const boost::system::error_code&) mutable {
      WaitAllDead(std::move(p));
    });
  }

  AllocationSource& source_;
  UpdateBatcher batcher_;
  DriverPtr driver_;
  EngineOptions options_;
  EnvMap agent_env_;

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  asio::signal_set sigchld_;
  asio::steady_timer adopted_timer_;
  std::thread thread_;
  bool stopping_ = false;

  // Everything below is touched on the loop thread only.
  std::map<std::string, std::unique_ptr<AllocRunner>> runners_;
  std::atomic<std::size_t> runner_count_{0};
  std::map<int, std::function<void()>> children_;  // executors we started
  std::set<int> early_exits_;
  std::vector<Adopted> adopted_;  // polled: where pidfd_open is missing
  std::map<std::uint64_t, std::unique_ptr<asio::posix::stream_descriptor>> fd_waits_;
  std::uint64_t next_fd_wait_ = 1;
  std::map<TimerId, std::unique_ptr<asio::steady_timer>> timers_;
  TimerId next_timer_ = 1;
};

Engine::Engine(AllocationSource& source, UpdateSink& sink, DriverPtr driver, EngineOptions options)
    : loop_(std::make_unique<Loop>(source, sink, std::move(driver), std::move(options))) {}

Engine::Engine(StateStore& store, DriverPtr driver, EngineOptions options)
    : own_backend_(std::make_unique<StoreAllocBackend>(store)),
      loop_(std::make_unique<Loop>(*own_backend_, *own_backend_, std::move(driver),
                                   std::move(options))) {}

Engine::~Engine() { loop_->Stop(/*kill_tasks=*/false); }

Status Engine::Start() { return loop_->Start(); }
void Engine::Stop(bool kill_tasks) { loop_->Stop(kill_tasks); }
void Engine::AllocsUpdated(std::vector<std::string> ids) { loop_->AllocsUpdated(std::move(ids)); }
std::size_t Engine::RunningAllocs() const { return loop_->RunningAllocs(); }

Status Engine::RestartAlloc(const std::string& alloc_id, const std::string& task,
                            bool all_tasks) {
  if (all_tasks && !task.empty()) {
    return InvalidArgument("task name cannot be set when restarting all tasks");
  }
  auto with_runner = [&](AllocRunner& r) -> Status {
    Nanos now = NowNanos();
    if (!task.empty()) {
      return r.RestartTask(task, EventRestartSignal(now, "User requested task to restart"));
    }
    if (all_tasks) {
      return r.RestartAll(EventRestartSignal(now, "User requested all tasks to restart"));
    }
    return r.RestartRunning(EventRestartSignal(now, "User requested running tasks to restart"));
  };
  // As a finished runner would answer: its tasks exist but do not run.
  auto finished = [&](const Allocation& alloc) -> Status {
    if (task.empty()) return FailedPrecondition("restart of an alloc that should not run");
    if (TaskOf(alloc, task) == nullptr) return NotFound("Could not find task runner for task: " + task);
    return FailedPrecondition(kErrTaskNotRunning);
  };
  return loop_->WithRunner(alloc_id, with_runner, finished);
}

Status Engine::SignalAlloc(const std::string& alloc_id, const std::string& task,
                           const std::string& signal) {
  int sig = SignalFromName(signal);
  if (sig < 0) return InvalidArgument("invalid signal: \"" + signal + "\"");
  auto finished = [&](const Allocation& alloc) -> Status {
    if (task.empty()) return Status::Ok();  // no task runs: nothing to signal
    if (TaskOf(alloc, task) == nullptr) return NotFound("Task not found");
    return FailedPrecondition(kErrTaskNotRunning);
  };
  return loop_->WithRunner(
      alloc_id, [&](AllocRunner& r) { return r.Signal(task, sig, signal); }, finished);
}

Result<ExecTarget> Engine::FindExecTarget(const std::string& alloc_id, const std::string& task) {
  ExecTarget target{task, "", 0};
  auto not_running = [&] { return NotFound("task \"" + task + "\" is not running."); };
  auto not_started = [&] { return NotFound("task \"" + task + "\" not started yet."); };
  auto with_runner = [&](AllocRunner& r) -> Status {
    const TaskRunner* t = r.FindTaskRunner(task);
    if (t == nullptr) return Internal("task not found");
    if (!t->state().StartedAt) return not_started();
    const ProcessHandle& h = t->local_state().handle;
    if (!t->running() || h.task_pid <= 0 || h.state_dir.empty()) return not_running();
    target.state_dir = h.state_dir;
    target.task_pid = h.task_pid;
    return Status::Ok();
  };
  // A finished allocation: its tasks exist, none runs.
  auto finished = [&](const Allocation& alloc) -> Status {
    if (TaskOf(alloc, task) == nullptr) return Internal("task not found");
    if (!alloc.TaskStates) return not_started();
    auto it = alloc.TaskStates->find(task);
    if (it == alloc.TaskStates->end() || !it->second.StartedAt) return not_started();
    return not_running();
  };
  RETURN_IF_ERROR(loop_->WithRunner(alloc_id, with_runner, finished));
  return target;
}

}  // namespace drover
