// The reconciler's decisions (service/reconciler.h): pure, no store.
#include <gtest/gtest.h>

#include <algorithm>

#include "service/reconciler.h"

namespace drover {
namespace {

constexpr const char* kRolling =
    R"({"MaxParallel":1,"MinHealthyTime":1000000000,"HealthyDeadline":60000000000,)"
    R"("ProgressDeadline":120000000000,"AutoRevert":true})";

Job MakeJob(std::int64_t count, const std::string& command = "/bin/sleep",
            const std::string& update = "null") {
  Job job;
  job.ID = job.Name = "web";
  job.Namespace = "default";
  job.Type = kJobTypeService;
  job.CreateIndex = 10;
  job.Version = 0;
  job.ModifyIndex = job.JobModifyIndex = 10;
  TaskGroup tg;
  tg.Name = "g";
  tg.Count = count;
  tg.Update.text = update;
  Task t;
  t.Name = "t";
  t.Driver = "raw_exec";
  t.Config.text = R"({"command":")" + command + R"(","args":["600"]})";
  tg.Tasks.push_back(t);
  job.TaskGroups.push_back(tg);
  return job;
}

// The next version of `job` with `edit` applied.
template <typename Fn>
Job NextVersion(const Job& job, Fn edit) {
  Job next = job;
  next.Version = job.Version + 1;
  next.ModifyIndex = next.JobModifyIndex = job.JobModifyIndex + 10;
  edit(next);
  return next;
}

Allocation MakeAlloc(const Job& job, int index, const std::string& status = kAllocClientRunning) {
  Allocation a;
  a.ID = "alloc-" + std::to_string(index) + "-v" + std::to_string(job.Version);
  a.Namespace = job.Namespace;
  a.JobID = job.ID;
  a.Job = job;
  a.TaskGroup = "g";
  a.Name = job.ID + ".g[" + std::to_string(index) + "]";
  a.DesiredStatus = kAllocDesiredRun;
  a.ClientStatus = status;
  return a;
}

std::vector<std::string> StopIDs(const ReconcileResult& r) {
  std::vector<std::string> out;
  for (const auto& s : r.stop) out.push_back(s.alloc_id);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ReconcilerTest, UnchangedJobIgnoresEverything) {
  Job job = MakeJob(2);
  std::vector<Allocation> allocs = {MakeAlloc(job, 0), MakeAlloc(job, 1)};
  ReconcileResult r = Reconcile({job, allocs, nullptr, 0});
  EXPECT_TRUE(r.stop.empty());
  EXPECT_TRUE(r.inplace.empty());
  EXPECT_TRUE(r.destructive.empty());
  EXPECT_TRUE(r.place.empty());
  EXPECT_EQ(r.desired["g"].Ignore, 2u);
  EXPECT_FALSE(r.created);
}

TEST(ReconcilerTest, CountUpUpdatesInPlaceAndPlacesOnlyTheNewNames) {
  Job v0 = MakeJob(2);
  Job v1 = NextVersion(v0, [](Job& j) { j.TaskGroups[0].Count = 3; });
  std::vector<Allocation> allocs = {MakeAlloc(v0, 0), MakeAlloc(v0, 1)};
  ReconcileResult r = Reconcile({v1, allocs, nullptr, 0});
  EXPECT_TRUE(r.stop.empty());
  EXPECT_TRUE(r.destructive.empty());
  EXPECT_EQ(r.inplace.size(), 2u);
  EXPECT_EQ(r.place["g"], std::vector<int>{2});
  EXPECT_EQ(r.desired["g"].InPlaceUpdate, 2u);
  EXPECT_EQ(r.desired["g"].Place, 1u);
}

TEST(ReconcilerTest, CountDownStopsTheHighestIndexes) {
  Job v0 = MakeJob(3);
  Job v1 = NextVersion(v0, [](Job& j) { j.TaskGroups[0].Count = 1; });
  std::vector<Allocation> allocs = {MakeAlloc(v0, 2), MakeAlloc(v0, 0), MakeAlloc(v0, 1)};
  ReconcileResult r = Reconcile({v1, allocs, nullptr, 0});
  EXPECT_EQ(StopIDs(r), (std::vector<std::string>{"alloc-1-v0", "alloc-2-v0"}));
  for (const auto& s : r.stop) EXPECT_EQ(s.description, kAllocNotNeeded);
  EXPECT_EQ(r.inplace, std::vector<std::string>{"alloc-0-v0"});
  EXPECT_EQ(r.desired["g"].Stop, 2u);
}

TEST(ReconcilerTest, ConfigChangeReplacesMaxParallelAtATimeInNameOrder) {
  Job v0 = MakeJob(3, "/bin/sleep", kRolling);
  Job v1 = NextVersion(v0, [](Job& j) {
    j.TaskGroups[0].Tasks[0].Config.text = R"({"command":"/bin/true"})";
  });
  std::vector<Allocation> allocs = {MakeAlloc(v0, 1), MakeAlloc(v0, 0), MakeAlloc(v0, 2)};
  ReconcileResult r = Reconcile({v1, allocs, nullptr, 5});
  ASSERT_EQ(r.destructive.size(), 1u);
  EXPECT_EQ(r.destructive[0].alloc_id, "alloc-0-v0");
  EXPECT_EQ(r.destructive[0].index, 0);
  EXPECT_EQ(r.desired["g"].DestructiveUpdate, 1u);
  EXPECT_EQ(r.desired["g"].Ignore, 2u);
  ASSERT_TRUE(r.created);
  EXPECT_EQ(r.created->JobVersion, 1u);
  EXPECT_EQ(r.created->Status, kDeploymentRunning);
  EXPECT_EQ(r.created->TaskGroups["g"].DesiredTotal, 3);
  EXPECT_TRUE(r.created->TaskGroups["g"].AutoRevert);
}

TEST(ReconcilerTest, WithoutUpdateBlockEveryDestructiveChangeGoesAtOnce) {
  Job v0 = MakeJob(3);
  Job v1 = NextVersion(v0, [](Job& j) { j.TaskGroups[0].Tasks[0].Env = StringMap{{"A", "1"}}; });
  std::vector<Allocation> allocs = {MakeAlloc(v0, 0), MakeAlloc(v0, 1), MakeAlloc(v0, 2)};
  ReconcileResult r = Reconcile({v1, allocs, nullptr, 0});
  EXPECT_EQ(r.destructive.size(), 3u);
  EXPECT_FALSE(r.created);
}

Deployment DeploymentFor(const Job& job, std::int64_t desired, std::int64_t healthy) {
  Deployment d;
  d.ID = "dep-1";
  d.Namespace = job.Namespace;
  d.JobID = job.ID;
  d.JobVersion = job.Version;
  d.JobCreateIndex = job.CreateIndex;
  d.Status = kDeploymentRunning;
  d.TaskGroups["g"].DesiredTotal = desired;
  d.TaskGroups["g"].HealthyAllocs = healthy;
  return d;
}

TEST(ReconcilerTest, ReplacementWaitsWhileTheNewAllocationIsNotYetHealthy) {
  Job v0 = MakeJob(3, "/bin/sleep", kRolling);
  Job v1 = NextVersion(v0, [](Job& j) { j.TaskGroups[0].Tasks[0].User = "nobody"; });
  Deployment d = DeploymentFor(v1, 3, 0);
  Allocation fresh = MakeAlloc(v1, 0);
  fresh.DeploymentID = d.ID;
  std::vector<Allocation> allocs = {fresh, MakeAlloc(v0, 1), MakeAlloc(v0, 2)};
  ReconcileResult r = Reconcile({v1, allocs, &d, 0});
  EXPECT_TRUE(r.destructive.empty());
  EXPECT_EQ(r.desired["g"].Ignore, 3u);  // the new one, and two waiting
  EXPECT_FALSE(r.created);
  EXPECT_EQ(r.deployment_id, "dep-1");
  EXPECT_TRUE(r.deployment_updates.empty());

  // Once it is healthy the next one goes.
  allocs[0].DeploymentStatus.text = R"({"Healthy":true})";
  d.TaskGroups["g"].HealthyAllocs = 1;
  r = Reconcile({v1, allocs, &d, 0});
  ASSERT_EQ(r.destructive.size(), 1u);
  EXPECT_EQ(r.destructive[0].alloc_id, "alloc-1-v0");
}

TEST(ReconcilerTest, FailedOrPausedDeploymentReplacesNothing) {
  Job v0 = MakeJob(2, "/bin/sleep", kRolling);
  Job v1 = NextVersion(v0, [](Job& j) { j.TaskGroups[0].Tasks[0].Driver = "exec"; });
  for (const char* status : {kDeploymentFailed, kDeploymentPaused}) {
    Deployment d = DeploymentFor(v1, 2, 0);
    d.Status = status;
    std::vector<Allocation> allocs = {MakeAlloc(v0, 0), MakeAlloc(v0, 1)};
    ReconcileResult r = Reconcile({v1, allocs, &d, 0});
    EXPECT_TRUE(r.destructive.empty()) << status;
    EXPECT_EQ(r.desired["g"].Ignore, 2u) << status;
  }
}

TEST(ReconcilerTest, AllHealthyCompletesTheDeployment) {
  Job v0 = MakeJob(2, "/bin/sleep", kRolling);
  Deployment d = DeploymentFor(v0, 2, 2);
  std::vector<Allocation> allocs = {MakeAlloc(v0, 0), MakeAlloc(v0, 1)};
  ReconcileResult r = Reconcile({v0, allocs, &d, 0});
  ASSERT_EQ(r.deployment_updates.size(), 1u);
  EXPECT_EQ(r.deployment_updates[0].status, kDeploymentSuccessful);
  EXPECT_EQ(r.deployment_updates[0].description, "Deployment completed successfully");

  d.TaskGroups["g"].HealthyAllocs = 1;  // not yet
  r = Reconcile({v0, allocs, &d, 0});
  EXPECT_TRUE(r.deployment_updates.empty());
}

TEST(ReconcilerTest, DeploymentOfAnOlderVersionIsCancelled) {
  Job v0 = MakeJob(1, "/bin/sleep", kRolling);
  Job v1 = NextVersion(v0, [](Job& j) { j.TaskGroups[0].Tasks[0].Driver = "exec"; });
  Deployment old = DeploymentFor(v0, 1, 0);
  std::vector<Allocation> allocs = {MakeAlloc(v0, 0)};
  ReconcileResult r = Reconcile({v1, allocs, &old, 0});
  ASSERT_EQ(r.deployment_updates.size(), 1u);
  EXPECT_EQ(r.deployment_updates[0].status, kDeploymentCancelled);
  EXPECT_EQ(r.deployment_updates[0].description, "Cancelled due to newer version of job");
  EXPECT_TRUE(r.created);
  EXPECT_EQ(r.destructive.size(), 1u);
}

TEST(ReconcilerTest, FirstRegistrationWithUpdateBlockCreatesADeployment) {
  Job v0 = MakeJob(2, "/bin/sleep", kRolling);
  ReconcileResult r = Reconcile({v0, {}, nullptr, 0});
  EXPECT_EQ(r.place["g"], (std::vector<int>{0, 1}));
  ASSERT_TRUE(r.created);
  EXPECT_EQ(r.created->TaskGroups["g"].DesiredTotal, 2);
}

TEST(ReconcilerTest, RemovedGroupIsStopped) {
  Job v0 = MakeJob(1);
  Job v1 = NextVersion(v0, [](Job& j) { j.TaskGroups[0].Name = "other"; });
  std::vector<Allocation> allocs = {MakeAlloc(v0, 0)};
  ReconcileResult r = Reconcile({v1, allocs, nullptr, 0});
  EXPECT_EQ(StopIDs(r), std::vector<std::string>{"alloc-0-v0"});
  EXPECT_EQ(r.place["other"], std::vector<int>{0});
}

TEST(ReconcilerTest, FailedAllocationKeepsItsNameAndLostOneIsReplaced) {
  Job job = MakeJob(2);
  std::vector<Allocation> allocs = {MakeAlloc(job, 0, kAllocClientFailed),
                                    MakeAlloc(job, 1, kAllocClientLost)};
  ReconcileResult r = Reconcile({job, allocs, nullptr, 0});
  EXPECT_EQ(StopIDs(r), std::vector<std::string>{"alloc-1-v0"});
  EXPECT_EQ(r.place["g"], std::vector<int>{1});
}

TEST(DestructiveChangeTest, FollowsNomadsTasksUpdated) {
  Job a = MakeJob(1);
  auto check = [&](auto edit) {
    Job b = a;
    edit(b);
    return DestructiveChange(a, b, "g");
  };
  // Not destructive: count, policies, update block, kill timeout, log sizes.
  EXPECT_FALSE(check([](Job& j) { j.TaskGroups[0].Count = 5; }));
  EXPECT_FALSE(check([](Job& j) { j.TaskGroups[0].Update.text = R"({"MaxParallel":2})"; }));
  EXPECT_FALSE(check([](Job& j) { j.TaskGroups[0].RestartPolicy = RestartPolicy{3, 1, 1, "fail"}; }));
  EXPECT_FALSE(check([](Job& j) { j.TaskGroups[0].Tasks[0].KillTimeout = 99; }));
  EXPECT_FALSE(check([](Job& j) { j.TaskGroups[0].Tasks[0].LogConfig = LogConfig{3, 5, false}; }));
  EXPECT_FALSE(check([](Job& j) {  // the same config, keys in another order
    j.TaskGroups[0].Tasks[0].Config.text = R"({"args":["600"],"command":"/bin/sleep"})";
  }));
  // Destructive.
  EXPECT_EQ(check([](Job& j) { j.TaskGroups[0].Tasks[0].Config.text = "{}"; }), "task config");
  EXPECT_EQ(check([](Job& j) { j.Meta = StringMap{{"k", "v"}}; }), "task meta");
  EXPECT_EQ(check([](Job& j) { j.TaskGroups[0].Meta = StringMap{{"k", "v"}}; }), "task meta");
  EXPECT_EQ(check([](Job& j) { j.TaskGroups[0].Tasks[0].Resources = Resources{.CPU = 200}; }),
            "task cpu");
  EXPECT_EQ(check([](Job& j) { j.TaskGroups[0].Tasks[0].LogConfig = LogConfig{1, 1, true}; }),
            "task log disabled");
  EXPECT_EQ(check([](Job& j) { j.TaskGroups[0].Tasks.push_back(j.TaskGroups[0].Tasks[0]); }),
            "number of tasks");
  EXPECT_EQ(check([](Job& j) { j.TaskGroups[0].Tasks[0].Name = "u"; }), "task deleted");
}

TEST(UpdateStrategyTest, JobBlockMergesUnderTheGroupsWithNomadsDefaults) {
  Job job = MakeJob(1);
  EXPECT_FALSE(UpdateStrategyOf(job, job.TaskGroups[0]));
  job.Update.text = R"({"MaxParallel":2,"MinHealthyTime":5})";
  job.TaskGroups[0].Update.text = R"({"AutoRevert":true,"MinHealthyTime":7})";
  auto s = UpdateStrategyOf(job, job.TaskGroups[0]);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->MaxParallel, 2);
  EXPECT_EQ(s->MinHealthyTime, 7);
  EXPECT_TRUE(s->AutoRevert);
  EXPECT_EQ(s->HealthyDeadline, 5 * kMinute);
  job.Type = kJobTypeBatch;
  EXPECT_FALSE(UpdateStrategyOf(job, job.TaskGroups[0]));
}

TEST(AllocHealthTest, FromTaskStates) {
  Job job = MakeJob(1);
  UpdateStrategy s;
  s.MinHealthyTime = 10;
  s.HealthyDeadline = 100;
  Allocation a = MakeAlloc(job, 0);
  TaskState st;
  st.State = kTaskStateRunning;
  st.StartedAt = GoTime::FromUnixNanos(1000);
  a.TaskStates = std::map<std::string, TaskState>{{"t", st}};
  EXPECT_EQ(AssessHealth(a, s, 1000, 1005), AllocHealth::kUnset);
  EXPECT_EQ(AssessHealth(a, s, 1000, 1010), AllocHealth::kHealthy);
  // Joined the deployment later (in-place update): counted from then.
  EXPECT_EQ(AssessHealth(a, s, 1050, 1055), AllocHealth::kUnset);

  (*a.TaskStates)["t"].Failed = true;
  EXPECT_EQ(AssessHealth(a, s, 1000, 1001), AllocHealth::kUnhealthy);

  (*a.TaskStates)["t"] = TaskState{};
  (*a.TaskStates)["t"].State = kTaskStatePending;
  a.ClientStatus = kAllocClientPending;
  EXPECT_EQ(AssessHealth(a, s, 1000, 1050), AllocHealth::kUnset);
  EXPECT_EQ(AssessHealth(a, s, 1000, 1100), AllocHealth::kUnhealthy);  // healthy_deadline

  a.ClientStatus = kAllocClientFailed;
  EXPECT_EQ(AssessHealth(a, s, 1000, 1001), AllocHealth::kUnhealthy);
}

}  // namespace
}  // namespace drover
