// Fakes for the engine's seams (Scheduler, ProcessMonitor, Driver,
// AllocationSource, UpdateSink), so that task runners, alloc runners and
// the group commit are tested without processes, sleeps or a store. Time
// moves only when a test advances it; a process "exits" when the test says.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lifecycle/alloc_backend.h"
#include "lifecycle/driver.h"
#include "lifecycle/scheduler.h"

namespace drover::testing {

// What happened, in order, across the fakes: "start <task>", "kill <pid>",
// "signal <pid> <sig>", "commit <n allocs>".
using FakeLog = std::vector<std::string>;

class FakeScheduler : public Scheduler {
 public:
  Nanos Now() override { return now_; }
  TimerId After(Nanos delay, std::function<void()> fn) override {
    TimerId id = next_++;
    timers_[id] = Timer{now_ + std::max<Nanos>(delay, 0), id, std::move(fn)};
    return id;
  }
  void Cancel(TimerId id) override { timers_.erase(id); }

  // Runs every timer due by now, earliest first (ties in creation order),
  // including those the callbacks add: one "loop turn" and its follow-ups.
  void RunDue() {
    for (;;) {
      auto next = timers_.end();
      for (auto it = timers_.begin(); it != timers_.end(); ++it) {
        if (it->second.due > now_) continue;
        if (next == timers_.end() || it->second.due < next->second.due) next = it;
      }
      if (next == timers_.end()) return;
      auto fn = std::move(next->second.fn);
      timers_.erase(next);
      fn();
    }
  }
  void Advance(Nanos d) {
    now_ += d;
    RunDue();
  }
  std::size_t pending() const { return timers_.size(); }

 private:
  struct Timer {
    Nanos due;
    TimerId id;
    std::function<void()> fn;
  };
  Nanos now_ = 1'700'000'000'000'000'000;
  TimerId next_ = 1;
  std::map<TimerId, Timer> timers_;
};

class FakeMonitor : public ProcessMonitor {
 public:
  void WatchChild(int pid, std::function<void()> on_exit) override { watched_[pid] = std::move(on_exit); }
  void WatchAdopted(const ProcessHandle& handle, std::function<void()> on_exit) override {
    adopted_.push_back(handle.pid);
    watched_[handle.pid] = std::move(on_exit);
  }
  void WhenReadable(int, std::function<void()>) override {}

  // The executor `pid` exits; false if nothing watches it.
  bool Exit(int pid) {
    auto it = watched_.find(pid);
    if (it == watched_.end()) return false;
    auto fn = std::move(it->second);
    watched_.erase(it);
    fn();
    return true;
  }
  bool Watching(int pid) const { return watched_.count(pid) > 0; }
  const std::vector<int>& adopted() const { return adopted_; }

 private:
  std::map<int, std::function<void()>> watched_;
  std::vector<int> adopted_;
};

class FakeDriver : public Driver {
 public:
  explicit FakeDriver(FakeLog& log) : log_(log) {}

  void Start(const TaskLaunch& launch, Scheduler&, ProcessMonitor&, StartCallback done) override {
    log_.push_back("start " + launch.task_name);
    starts_.push_back(Pending{launch, std::move(done)});
  }
  Status Signal(const ProcessHandle& h, int signal) override {
    log_.push_back("signal " + std::to_string(h.pid) + " " + std::to_string(signal));
    return Status::Ok();
  }
  Status Kill(const ProcessHandle& h) override {
    log_.push_back("kill " + std::to_string(h.pid));
    return Status::Ok();
  }
  std::optional<ExitResult> ExitStatus(const ProcessHandle& h) override {
    auto it = exits_.find(h.pid);
    if (it == exits_.end()) return std::nullopt;
    return it->second;
  }
  void Cleanup(const ProcessHandle&) override {}

  // Answers the oldest pending start: the executor reported the task
  // running, as pid `pid`. Returns the pid.
  int CompleteStart(int pid) {
    Pending p = TakeOldest();
    ProcessHandle h;
    h.pid = pid;
    h.start_ticks = 1;
    h.task_pid = pid + 1;
    h.state_dir = p.launch.state_dir;
    p.done(h);
    return pid;
  }
  void FailStart(Status error) { TakeOldest().done(std::move(error)); }
  // What the executor of `pid` records when it exits.
  void SetExit(int pid, ExitResult r) { exits_[pid] = r; }
  std::size_t pending_starts() const { return starts_.size(); }
  const TaskLaunch& pending_launch(std::size_t i) const { return starts_.at(i).launch; }

 private:
  struct Pending {
    TaskLaunch launch;
    StartCallback done;
  };
  Pending TakeOldest() {
    Pending p = std::move(starts_.front());
    starts_.erase(starts_.begin());
    return p;
  }
  FakeLog& log_;
  std::vector<Pending> starts_;
  std::map<int, ExitResult> exits_;
};

// An allocation store in memory: the source and the sink at once.
class FakeBackend : public AllocationSource, public UpdateSink {
 public:
  explicit FakeBackend(FakeLog& log) : log_(log) {}

  Result<std::optional<Allocation>> GetAlloc(const std::string& id) override {
    auto it = allocs_.find(id);
    if (it == allocs_.end()) return std::optional<Allocation>();
    return std::optional<Allocation>(it->second);
  }
  // All of them: the engine filters.
  Result<std::vector<Allocation>> ListAllocsToRestore() override {
    std::vector<Allocation> out;
    for (const auto& [id, a] : allocs_) out.push_back(a);
    return out;
  }
  Result<std::optional<std::string>> GetTaskLocal(const std::string& alloc_id,
                                                  const std::string& task) override {
    auto it = locals_.find(alloc_id + "/" + task);
    if (it == locals_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  std::vector<Status> Commit(const std::vector<AllocUpdate>& updates) override {
    log_.push_back("commit " + std::to_string(updates.size()));
    if (!fail_next_.ok()) {
      Status st = fail_next_;
      fail_next_ = Status::Ok();
      return std::vector<Status>(updates.size(), st);
    }
    std::vector<Status> out;
    for (const AllocUpdate& u : updates) {
      auto it = allocs_.find(u.alloc_id);
      if (it == allocs_.end()) {
        out.push_back(NotFound("alloc purged"));
        continue;
      }
      it->second.TaskStates = u.states;
      it->second.ClientStatus = u.client_status;
      for (const auto& [task, json] : u.task_locals) locals_[u.alloc_id + "/" + task] = json;
      out.push_back(Status::Ok());
    }
    batches_.push_back(updates);
    return out;
  }

  void Put(const Allocation& a) { allocs_[a.ID] = a; }
  void Erase(const std::string& id) { allocs_.erase(id); }
  const Allocation& Get(const std::string& id) const { return allocs_.at(id); }
  void FailNextCommit(Status st) { fail_next_ = std::move(st); }
  const std::vector<std::vector<AllocUpdate>>& batches() const { return batches_; }

 private:
  FakeLog& log_;
  std::map<std::string, Allocation> allocs_;
  std::map<std::string, std::string> locals_;
  std::vector<std::vector<AllocUpdate>> batches_;
  Status fail_next_ = Status::Ok();
};

}  // namespace drover::testing
