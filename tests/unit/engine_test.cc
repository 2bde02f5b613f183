// The Engine driven through its seams: allocations from a fake
// AllocationSource, task states to a fake UpdateSink, tasks through a fake
// driver. The engine runs its real loop thread; the test waits on the
// sink (a condition variable, bounded), never on the clock.
#include <stdlib.h>

#include <condition_variable>
#include <mutex>

#include <gtest/gtest.h>

#include "common/safe_fs.h"
#include "lifecycle/engine.h"
#include "lifecycle/task_events.h"
#include "tests/support/engine_fakes.h"

namespace drover::testing {
namespace {

// A pid no process can have (above any pid_max).
constexpr int kFakePid = 4'300'000;

// FakeBackend behind a lock, with a wait for a condition on what it holds.
class LockedBackend : public AllocationSource, public UpdateSink {
 public:
  Result<std::optional<Allocation>> GetAlloc(const std::string& id) override {
    std::lock_guard<std::mutex> l(mu_);
    return inner_.GetAlloc(id);
  }
  Result<std::vector<Allocation>> ListAllocsToRestore() override {
    std::lock_guard<std::mutex> l(mu_);
    return inner_.ListAllocsToRestore();
  }
  Result<std::optional<std::string>> GetTaskLocal(const std::string& a, const std::string& t) override {
    std::lock_guard<std::mutex> l(mu_);
    return inner_.GetTaskLocal(a, t);
  }
  std::vector<Status> Commit(const std::vector<AllocUpdate>& updates) override {
    std::lock_guard<std::mutex> l(mu_);
    auto out = inner_.Commit(updates);
    cv_.notify_all();
    return out;
  }
  void Put(const Allocation& a) {
    std::lock_guard<std::mutex> l(mu_);
    inner_.Put(a);
  }
  bool WaitFor(const std::function<bool(FakeBackend&)>& pred) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(30), [&] { return pred(inner_); });
  }
  std::vector<std::string> Log() {
    std::lock_guard<std::mutex> l(mu_);
    return log_;
  }
  std::mutex& mu() { return mu_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  FakeLog log_;
  FakeBackend inner_{log_};
};

// Starts every task at once as pid kFakePid + n.
class InstantDriver : public Driver {
 public:
  explicit InstantDriver(std::mutex& mu, FakeLog& log) : mu_(mu), log_(log) {}
  void Start(const TaskLaunch& launch, Scheduler&, ProcessMonitor&, StartCallback done) override {
    ProcessHandle h;
    {
      std::lock_guard<std::mutex> l(mu_);
      log_.push_back("start " + launch.alloc_id);
      h.pid = kFakePid + static_cast<int>(log_.size());
    }
    h.start_ticks = 1;
    done(h);
  }
  Status Signal(const ProcessHandle& h, int sig) override {
    std::lock_guard<std::mutex> l(mu_);
    log_.push_back("signal " + std::to_string(h.pid) + " " + std::to_string(sig));
    return Status::Ok();
  }
  Status Kill(const ProcessHandle&) override { return Status::Ok(); }
  std::optional<ExitResult> ExitStatus(const ProcessHandle&) override { return std::nullopt; }
  void Cleanup(const ProcessHandle&) override {}

 private:
  std::mutex& mu_;
  FakeLog& log_;
};

Allocation OneTaskAlloc(const std::string& id) {
  Task t;
  t.Name = "t";
  t.Driver = "raw_exec";
  t.Config.text = R"({"command":"/bin/true"})";
  TaskGroup g;
  g.Name = "g";
  g.Tasks = {t};
  Job j;
  j.ID = "job";
  j.Namespace = "default";
  j.Type = "service";
  j.TaskGroups = {g};
  Allocation a;
  a.ID = id;
  a.Namespace = "default";
  a.JobID = "job";
  a.Job = j;
  a.TaskGroup = "g";
  a.DesiredStatus = kAllocDesiredRun;
  a.ClientStatus = "pending";
  return a;
}

bool Running(FakeBackend& b, const std::string& id) {
  auto a = b.GetAlloc(id);
  return a.ok() && a->has_value() && (*a)->ClientStatus == "running";
}

TEST(EngineTest, RunsAllocationsFromTheSourceAndReportsToTheSink) {
  char tmpl[] = "/tmp/drover-engine-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string data_dir = tmpl;
  LockedBackend backend;
  FakeLog driver_log;
  std::mutex driver_mu;
  backend.Put(OneTaskAlloc("a1"));  // placed before the engine starts: restored
  {
    EngineOptions options;
    options.data_dir = data_dir;
    Engine engine(backend, backend, std::make_unique<InstantDriver>(driver_mu, driver_log), options);
    ASSERT_TRUE(engine.Start().ok());
    EXPECT_TRUE(backend.WaitFor([](FakeBackend& b) { return Running(b, "a1"); }))
        << "the restored allocation never ran";

    backend.Put(OneTaskAlloc("a2"));
    engine.AllocsUpdated({"a2"});
    EXPECT_TRUE(backend.WaitFor([](FakeBackend& b) { return Running(b, "a2"); }))
        << "the allocation the source announced never ran";
    EXPECT_EQ(engine.RunningAllocs(), 2u);

    EXPECT_TRUE(engine.SignalAlloc("a1", "t", "SIGUSR1").ok());
    {
      std::lock_guard<std::mutex> l(driver_mu);
      ASSERT_FALSE(driver_log.empty());
      EXPECT_EQ(driver_log.back().rfind("signal ", 0), 0u) << driver_log.back();
    }
    Status unknown = engine.RestartAlloc("nope", "", false);
    EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
    EXPECT_EQ(engine.SignalAlloc("a1", "t", "SIGNOPE").code(), StatusCode::kInvalidArgument);
    engine.Stop(/*kill_tasks=*/false);
  }
  std::lock_guard<std::mutex> l(driver_mu);
  EXPECT_EQ(std::count_if(driver_log.begin(), driver_log.end(),
                          [](const std::string& s) { return s.rfind("start ", 0) == 0; }),
            2)
      << "each task starts once";
  RemovePathTree(data_dir);
}

}  // namespace
}  // namespace drover::testing
