// AllocRunner and TaskRunner with fakes (tests/support/engine_fakes.h):
// asynchronous start, group commit of one loop turn, kill-first stop,
// restart policy decisions and Nomad's kill rules, without processes or
// sleeps. Task directories are built beneath a temporary data dir.
#include <signal.h>
#include <stdlib.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/safe_fs.h"
#include "lifecycle/alloc_runner.h"
#include "lifecycle/task_events.h"
#include "lifecycle/update_batcher.h"
#include "tests/support/engine_fakes.h"

namespace drover::testing {
namespace {

Task MakeTask(const std::string& name) {
  Task t;
  t.Name = name;
  t.Driver = "raw_exec";
  t.Config.text = R"({"command":"/bin/true"})";
  t.KillTimeout = kSecond;
  return t;
}

Allocation MakeAlloc(const std::string& id, std::vector<Task> tasks, RestartPolicy policy = {},
                     const std::string& type = "service") {
  Job job;
  job.ID = "job";
  job.Name = "job";
  job.Namespace = "default";
  job.Type = type;
  TaskGroup group;
  group.Name = "g";
  group.Tasks = std::move(tasks);
  group.RestartPolicy = policy;
  job.TaskGroups.push_back(group);
  Allocation a;
  a.ID = id;
  a.Namespace = "default";
  a.Name = "job.g[0]";
  a.JobID = "job";
  a.Job = job;
  a.TaskGroup = "g";
  a.DesiredStatus = kAllocDesiredRun;
  a.ClientStatus = "pending";
  return a;
}

RestartPolicy Policy(std::int64_t attempts, Nanos delay) {
  RestartPolicy p;
  p.Attempts = attempts;
  p.Interval = 60 * kSecond;
  p.Delay = delay;
  p.Mode = "fail";
  return p;
}

struct TerminalLog : AllocListener {
  std::vector<std::string> terminal;
  void AllocTerminal(const std::string& id, const std::string& status) override {
    terminal.push_back(id + " " + status);
  }
};

std::vector<std::string> EventTypes(const TaskState& s) {
  std::vector<std::string> out;
  for (const TaskEvent& e : s.Events) out.push_back(e.Type);
  return out;
}

bool HasEvent(const TaskState& s, const std::string& type) {
  auto types = EventTypes(s);
  return std::find(types.begin(), types.end(), type) != types.end();
}

class AllocRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/drover-alloc-runner-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    data_dir_ = tmpl;
  }
  void TearDown() override {
    runners_.clear();
    RemovePathTree(data_dir_);
  }

  AllocRunner& NewRunner(const Allocation& alloc) {
    backend_.Put(alloc);
    AllocRunnerDeps deps{backend_, batcher_, sched_, monitor_, driver_, listener_,
                         node_,    env_,     data_dir_, containment_};
    runners_.push_back(std::make_unique<AllocRunner>(deps, alloc));
    return *runners_.back();
  }
  const TaskState& StateOf(const std::string& alloc, const std::string& task) {
    return backend_.Get(alloc).TaskStates->at(task);
  }
  std::size_t Commits() const {
    return std::count_if(log_.begin(), log_.end(),
                         [](const std::string& l) { return l.rfind("commit", 0) == 0; });
  }

  FakeLog log_;
  FakeScheduler sched_;
  FakeMonitor monitor_;
  FakeDriver driver_{log_};
  FakeBackend backend_{log_};
  UpdateBatcher batcher_{sched_, backend_};
  TerminalLog listener_;
  NodeInfo node_{"node-1", "n", "global", "dc1"};
  EnvMap env_{{"PATH", "/usr/bin:/bin"}};
  ContainmentOptions containment_;
  std::string data_dir_;
  std::vector<std::unique_ptr<AllocRunner>> runners_;
};

TEST_F(AllocRunnerTest, StartDoesNotWaitForTheExecutorAndTheTurnCommitsOnce) {
  AllocRunner& r = NewRunner(MakeAlloc("a1", {MakeTask("web"), MakeTask("log")}));
  r.Run();
  // Both starts are under way; the runner returned without an answer.
  ASSERT_EQ(driver_.pending_starts(), 2u);
  EXPECT_EQ(Commits(), 0u) << "nothing is written inside the turn";
  sched_.RunDue();
  ASSERT_EQ(Commits(), 1u) << "one write for everything the turn changed";
  ASSERT_EQ(backend_.batches().back().size(), 1u);
  EXPECT_EQ(StateOf("a1", "web").State, kTaskStatePending);
  EXPECT_TRUE(HasEvent(StateOf("a1", "web"), kEventReceived));

  // Both executors report in one turn: one more write, both running.
  driver_.CompleteStart(100);
  driver_.CompleteStart(200);
  sched_.RunDue();
  EXPECT_EQ(Commits(), 2u);
  EXPECT_EQ(StateOf("a1", "web").State, kTaskStateRunning);
  EXPECT_EQ(StateOf("a1", "log").State, kTaskStateRunning);
  EXPECT_EQ(backend_.Get("a1").ClientStatus, "running");
  EXPECT_TRUE(monitor_.Watching(100));
  EXPECT_TRUE(monitor_.Watching(200));
}

TEST_F(AllocRunnerTest, StoppingManyAllocationsSendsEveryKillBeforeOneWrite) {
  std::vector<AllocRunner*> rs;
  for (int i = 0; i < 3; ++i) {
    rs.push_back(&NewRunner(MakeAlloc("a" + std::to_string(i), {MakeTask("t")})));
    rs.back()->Run();
  }
  for (int i = 0; i < 3; ++i) driver_.CompleteStart(100 + i);
  sched_.RunDue();
  log_.clear();

  for (AllocRunner* r : rs) {
    Allocation stopped = r->alloc();
    stopped.DesiredStatus = kAllocDesiredStop;
    r->Update(stopped);
  }
  sched_.RunDue();
  ASSERT_GE(log_.size(), 4u);
  EXPECT_EQ(log_[0], "kill 100");
  EXPECT_EQ(log_[1], "kill 101");
  EXPECT_EQ(log_[2], "kill 102");
  EXPECT_EQ(log_[3], "commit 3") << "the three Killing states in one write, after the kills";
  EXPECT_EQ(Commits(), 1u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(HasEvent(StateOf("a" + std::to_string(i), "t"), kEventKilling));
  }

  // The executors exit: each task dead, each allocation complete, once.
  for (int i = 0; i < 3; ++i) monitor_.Exit(100 + i);
  sched_.RunDue();
  for (int i = 0; i < 3; ++i) {
    const TaskState& s = StateOf("a" + std::to_string(i), "t");
    EXPECT_EQ(s.State, kTaskStateDead);
    EXPECT_TRUE(HasEvent(s, kEventKilled));
    EXPECT_FALSE(s.Failed);
  }
  EXPECT_EQ(listener_.terminal.size(), 3u);
}

TEST_F(AllocRunnerTest, CrashWithZeroDelayRestartsInTheSameTurnUntilAttemptsRunOut) {
  AllocRunner& r = NewRunner(MakeAlloc("a1", {MakeTask("t")}, Policy(2, 0)));
  r.Run();
  int pid = driver_.CompleteStart(100);
  sched_.RunDue();
  for (int attempt = 1; attempt <= 2; ++attempt) {
    driver_.SetExit(pid, ExitResult{1, 0, false});
    ASSERT_TRUE(monitor_.Exit(pid));
    // Delay 0 is one nanosecond (the tracker's jitter base): no real wait.
    sched_.Advance(1);
    ASSERT_EQ(driver_.pending_starts(), 1u) << "attempt " << attempt << " restarts at once: " << ::testing::PrintToString(EventTypes(StateOf("a1", "t"))) << StateOf("a1", "t").State;
    EXPECT_EQ(StateOf("a1", "t").Restarts, static_cast<std::uint64_t>(attempt));
    EXPECT_TRUE(HasEvent(StateOf("a1", "t"), kEventRestarting));
    pid = driver_.CompleteStart(100 + attempt);
    sched_.RunDue();
    EXPECT_EQ(StateOf("a1", "t").State, kTaskStateRunning);
  }
  driver_.SetExit(pid, ExitResult{1, 0, false});
  ASSERT_TRUE(monitor_.Exit(pid));
  sched_.Advance(1);
  EXPECT_EQ(driver_.pending_starts(), 0u) << "the third failure exhausts Attempts 2";
  const TaskState& s = StateOf("a1", "t");
  EXPECT_EQ(s.State, kTaskStateDead);
  EXPECT_TRUE(s.Failed);
  EXPECT_TRUE(HasEvent(s, kEventNotRestarting));
  EXPECT_EQ(backend_.Get("a1").ClientStatus, "failed");
  ASSERT_EQ(listener_.terminal.size(), 1u);
  EXPECT_EQ(listener_.terminal[0], "a1 failed");
}

TEST_F(AllocRunnerTest, RestartDelayWaitsOnTheClockNotOnTheLoop) {
  AllocRunner& r = NewRunner(MakeAlloc("a1", {MakeTask("t")}, Policy(1, 15 * kSecond)));
  r.Run();
  int pid = driver_.CompleteStart(100);
  sched_.RunDue();
  driver_.SetExit(pid, ExitResult{3, 0, false});
  monitor_.Exit(pid);
  sched_.RunDue();
  EXPECT_EQ(driver_.pending_starts(), 0u);
  EXPECT_EQ(StateOf("a1", "t").State, kTaskStatePending);
  sched_.Advance(14 * kSecond);
  EXPECT_EQ(driver_.pending_starts(), 0u) << "restarted before its Delay";
  sched_.Advance(5 * kSecond);  // past Delay plus its jitter (at most a quarter)
  EXPECT_EQ(driver_.pending_starts(), 1u) << "not restarted after its Delay";
}

TEST_F(AllocRunnerTest, KillWhileTheExecutorComesUpStopsItOnceItReports) {
  AllocRunner& r = NewRunner(MakeAlloc("a1", {MakeTask("t")}));
  r.Run();
  sched_.RunDue();
  ASSERT_EQ(driver_.pending_starts(), 1u);
  Allocation stopped = r.alloc();
  stopped.DesiredStatus = kAllocDesiredStop;
  r.Update(stopped);
  sched_.RunDue();
  EXPECT_TRUE(HasEvent(StateOf("a1", "t"), kEventKilling));
  log_.clear();
  driver_.CompleteStart(100);
  ASSERT_FALSE(log_.empty());
  EXPECT_EQ(log_[0], "kill 100") << "a task killed while starting must not keep running";
  sched_.RunDue();
  EXPECT_NE(StateOf("a1", "t").State, kTaskStateRunning);
  monitor_.Exit(100);
  sched_.RunDue();
  EXPECT_EQ(StateOf("a1", "t").State, kTaskStateDead);
  EXPECT_FALSE(HasEvent(StateOf("a1", "t"), kEventStarted));
}

TEST_F(AllocRunnerTest, AStartTheDriverRefusesFailsTheTaskWithoutRetry) {
  AllocRunner& r = NewRunner(MakeAlloc("a1", {MakeTask("t")}, Policy(3, 0)));
  r.Run();
  driver_.FailStart(InvalidArgument("executable \"nope\" not found in $PATH"));
  sched_.RunDue();
  EXPECT_EQ(driver_.pending_starts(), 0u);
  const TaskState& s = StateOf("a1", "t");
  EXPECT_EQ(s.State, kTaskStateDead);
  EXPECT_TRUE(s.Failed);
  EXPECT_TRUE(HasEvent(s, kEventDriverFailure));
}

TEST_F(AllocRunnerTest, DeadLeaderKillsTheOthersLeaderFirst) {
  Task leader = MakeTask("leader");
  leader.Leader = true;
  AllocRunner& r = NewRunner(MakeAlloc("a1", {leader, MakeTask("helper")}, {}, "batch"));
  r.Run();
  driver_.CompleteStart(100);  // leader
  driver_.CompleteStart(200);  // helper
  sched_.RunDue();
  log_.clear();
  driver_.SetExit(100, ExitResult{0, 0, false});
  monitor_.Exit(100);
  sched_.RunDue();
  EXPECT_NE(std::find(log_.begin(), log_.end(), "kill 200"), log_.end())
      << "the helper outlived a dead leader";
  EXPECT_TRUE(HasEvent(StateOf("a1", "helper"), kEventLeaderDead));
  monitor_.Exit(200);
  sched_.RunDue();
  EXPECT_EQ(StateOf("a1", "helper").State, kTaskStateDead);
  EXPECT_EQ(backend_.Get("a1").ClientStatus, "complete");
  (void)r;
}

TEST_F(AllocRunnerTest, AFailedWriteIsRetriedAndAPurgedAllocationIsNot) {
  AllocRunner& r = NewRunner(MakeAlloc("a1", {MakeTask("t")}));
  backend_.FailNextCommit(Internal("disk full"));
  r.Run();
  sched_.RunDue();
  EXPECT_EQ(Commits(), 1u);
  EXPECT_FALSE(backend_.Get("a1").TaskStates.has_value()) << "the failed write left nothing";
  sched_.Advance(6 * kSecond);
  EXPECT_EQ(Commits(), 2u) << "the failed write was not retried";
  ASSERT_TRUE(backend_.Get("a1").TaskStates.has_value());

  backend_.Erase("a1");
  driver_.CompleteStart(100);
  sched_.RunDue();
  std::size_t after_purge = Commits();
  sched_.Advance(60 * kSecond);
  EXPECT_EQ(Commits(), after_purge) << "a purged allocation's write is not retried";
}

TEST_F(AllocRunnerTest, RestoredRunningTaskIsAdoptedWithoutANewStart) {
  Allocation a = MakeAlloc("a1", {MakeTask("t")});
  TaskState running;
  running.State = kTaskStateRunning;
  a.TaskStates = std::map<std::string, TaskState>{{"t", running}};
  TaskLocalState local;
  local.handle.pid = ::getpid();  // alive, and its start time matches
  local.handle.start_ticks = ProcessStartTicks(::getpid());
  local.handle.state_dir = data_dir_ + "/x";
  backend_.Put(a);
  ASSERT_TRUE(backend_.Commit({AllocUpdate{"a1", *a.TaskStates, "running", "", 0,
                                           {{"t", EncodeTaskLocalState(local)}}}})[0]
                  .ok());
  log_.clear();
  AllocRunner& r = NewRunner(backend_.Get("a1"));
  ASSERT_TRUE(r.Restore().ok());
  sched_.RunDue();
  EXPECT_EQ(driver_.pending_starts(), 0u) << "a running task was started again";
  ASSERT_EQ(monitor_.adopted().size(), 1u);
  EXPECT_EQ(monitor_.adopted()[0], ::getpid());
}

// ---- UpdateBatcher ----------------------------------------------------------

struct CountingClient : UpdateBatcher::Client {
  int takes = 0;
  std::vector<Status> results;
  AllocUpdate TakeUpdate() override {
    ++takes;
    AllocUpdate u;
    u.alloc_id = "a";
    return u;
  }
  void Committed(const AllocUpdate&, const Status& st) override { results.push_back(st); }
};

TEST(UpdateBatcherTest, ManyChangesOfOneTurnAreOneWrite) {
  FakeLog log;
  FakeScheduler sched;
  FakeBackend sink(log);
  Allocation a;
  a.ID = "a";
  sink.Put(a);
  UpdateBatcher batcher(sched, sink);
  CountingClient c1, c2;
  for (int i = 0; i < 5; ++i) {
    batcher.MarkDirty(&c1);
    batcher.MarkDirty(&c2);
  }
  EXPECT_EQ(log.size(), 0u);
  sched.RunDue();
  EXPECT_EQ(log, (FakeLog{"commit 2"}));
  EXPECT_EQ(c1.takes, 1);
  EXPECT_EQ(c2.takes, 1);
  EXPECT_EQ(batcher.flushes(), 1u);
  sched.RunDue();
  EXPECT_EQ(batcher.flushes(), 1u) << "nothing dirty, nothing written";
}

TEST(UpdateBatcherTest, AForgottenClientIsNeitherAskedNorAnswered) {
  FakeLog log;
  FakeScheduler sched;
  FakeBackend sink(log);
  UpdateBatcher batcher(sched, sink);
  CountingClient c;
  batcher.MarkDirty(&c);
  batcher.Forget(&c);
  sched.RunDue();
  EXPECT_EQ(c.takes, 0);
  EXPECT_TRUE(c.results.empty());
  EXPECT_TRUE(log.empty());
}

// A sink whose writes wait until the test lets them finish.
class GatedSink : public UpdateSink {
 public:
  std::vector<Status> Commit(const std::vector<AllocUpdate>& updates) override {
    std::unique_lock<std::mutex> l(mu_);
    sizes_.push_back(updates.size());
    cv_.notify_all();
    cv_.wait(l, [&] { return open_ >= sizes_.size(); });
    return std::vector<Status>(updates.size(), Status::Ok());
  }
  void Open() {
    std::lock_guard<std::mutex> l(mu_);
    ++open_;
    cv_.notify_all();
  }
  // Waits until `n` writes have begun.
  void AwaitWrites(std::size_t n) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return sizes_.size() >= n; });
  }
  std::vector<std::size_t> sizes() {
    std::lock_guard<std::mutex> l(mu_);
    return sizes_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::size_t> sizes_;
  std::size_t open_ = 0;
};

// A loop's queue the test runs by hand: what the committer posts back.
class PostQueue {
 public:
  UpdateBatcher::PostFn Fn() {
    return [this](std::function<void()> fn) {
      std::lock_guard<std::mutex> l(mu_);
      q_.push_back(std::move(fn));
      cv_.notify_all();
    };
  }
  // Waits for one posted function and runs it here.
  void RunOne() {
    std::function<void()> fn;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return !q_.empty(); });
      fn = std::move(q_.front());
      q_.erase(q_.begin());
    }
    fn();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::function<void()>> q_;
};

TEST(UpdateBatcherTest, WithACommitterChangesDuringAWriteWaitForItAndGoTogether) {
  FakeScheduler sched;
  GatedSink sink;
  PostQueue loop;
  UpdateBatcher batcher(sched, sink);
  batcher.StartCommitter(loop.Fn());
  CountingClient c1, c2, c3;
  batcher.MarkDirty(&c1);
  sched.RunDue();
  sink.AwaitWrites(1);
  // While the first write syncs, two more allocations change: no second
  // write starts, and the loop did not wait.
  batcher.MarkDirty(&c2);
  batcher.MarkDirty(&c3);
  sched.RunDue();
  EXPECT_EQ(sink.sizes().size(), 1u) << "a second write started while one was in flight";
  EXPECT_EQ(c2.takes, 0);
  sink.Open();
  loop.RunOne();  // the first write's answer, then the next write
  EXPECT_EQ(c1.results.size(), 1u);
  sink.AwaitWrites(2);
  EXPECT_EQ(sink.sizes(), (std::vector<std::size_t>{1, 2})) << "the waiting changes, in one write";
  sink.Open();
  loop.RunOne();
  EXPECT_EQ(c2.results.size(), 1u);
  EXPECT_EQ(c3.results.size(), 1u);
  batcher.Drain();
}

}  // namespace
}  // namespace drover::testing
