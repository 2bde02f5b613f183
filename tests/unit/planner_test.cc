// The planner (service/planner.cc) on plain values: placement against the
// node's CPU and memory, Nomad's coalesced failure metric, binpack scores,
// allocation names and overflow-safe sums.
#include <limits>

#include <gtest/gtest.h>

#include "service/planner.h"

namespace drover {
namespace {

Job MakeJob(std::int64_t cpu, std::int64_t mem) {
  Task t;
  t.Name = "t";
  t.Resources = Resources{};
  t.Resources->CPU = cpu;
  t.Resources->MemoryMB = mem;
  TaskGroup g;
  g.Name = "web";
  g.Tasks = {t};
  Job j;
  j.ID = "example";
  j.Namespace = "default";
  j.TaskGroups = {g};
  return j;
}

struct Fixture {
  Node node;
  NodeCapacity cap;
  std::vector<Allocation> live;
  Fixture() {
    node.ID = "node-1";
    node.Name = "n1";
    node.Datacenter = "dc1";
    node.NodeClass = "";
    cap.cpu_mhz = 1000;
    cap.memory_mb = 1000;
  }
  PlanResult Run(const Job& job, std::vector<int> indexes) {
    PlanRequest req{job, live, {{"web", indexes}}, node, cap, "eval-1", 7, 1234};
    return Plan(req);
  }
};

TEST(PlannerTest, PlacesWhatFitsAndQueuesTheRestWithOneCoalescedMetric) {
  Fixture f;
  PlanResult r = f.Run(MakeJob(300, 100), {0, 1, 2, 3, 4});
  ASSERT_EQ(r.placed.size(), 3u) << "3 x 300 MHz fit in 1,000, a fourth does not";
  EXPECT_EQ(r.placed[0].Name, "example.web[0]");
  EXPECT_EQ(r.placed[2].Name, "example.web[2]");
  EXPECT_EQ(r.placed[0].DesiredStatus, kAllocDesiredRun);
  EXPECT_EQ(r.placed[0].ClientStatus, kAllocClientPending);
  EXPECT_EQ(r.placed[0].CreateIndex, 7u);
  EXPECT_EQ(r.placed[0].EvalID, "eval-1");
  EXPECT_NE(r.placed[0].ID, r.placed[1].ID);
  ASSERT_EQ(r.failed.count("web"), 1u);
  const AllocMetric& m = r.failed.at("web");
  EXPECT_EQ(m.NodesExhausted, 1);
  EXPECT_EQ(m.CoalescedFailures, 1) << "two failures: one metric, one coalesced";
  ASSERT_TRUE(m.DimensionExhausted.has_value());
  EXPECT_EQ(m.DimensionExhausted->count("cpu"), 1u);
  EXPECT_EQ(r.queued.at("web"), 2);
}

TEST(PlannerTest, LiveAllocationsCountAgainstTheNode) {
  Fixture f;
  Job job = MakeJob(100, 600);
  Allocation live;
  live.Job = job;
  live.TaskGroup = "web";
  f.live.push_back(live);
  PlanResult r = f.Run(job, {1});
  EXPECT_TRUE(r.placed.empty()) << "600 MB live + 600 MB asked exceed 1,000";
  ASSERT_EQ(r.failed.count("web"), 1u);
  EXPECT_EQ(r.failed.at("web").DimensionExhausted->count("memory"), 1u);
}

TEST(PlannerTest, BinpackScoreGrowsAsTheNodeFills) {
  Fixture f;
  PlanResult r = f.Run(MakeJob(200, 200), {0, 1, 2});
  ASSERT_EQ(r.placed.size(), 3u);
  auto score = [](const Allocation& a) { return a.Metrics->Scores->at("node-1.binpack"); };
  EXPECT_LT(score(r.placed[0]), score(r.placed[1]));
  EXPECT_LT(score(r.placed[1]), score(r.placed[2]));
  EXPECT_DOUBLE_EQ(BinPackScore(0, 0, f.cap), 0.0);
  EXPECT_DOUBLE_EQ(BinPackScore(1000, 1000, f.cap), 1.0);
}

TEST(PlannerTest, AsksThatOverflowNeverFit) {
  Fixture f;
  const std::int64_t huge = std::numeric_limits<std::int64_t>::max();
  Job job = MakeJob(huge, 1);
  job.TaskGroups[0].Tasks.push_back(job.TaskGroups[0].Tasks[0]);
  job.TaskGroups[0].Tasks[1].Name = "u";
  EXPECT_EQ(AskOf(job.TaskGroups[0]).cpu, huge) << "the sum saturates instead of wrapping";
  PlanResult r = f.Run(job, {0});
  EXPECT_TRUE(r.placed.empty());
  EXPECT_EQ(r.queued.at("web"), 1);
}

TEST(PlannerTest, GroupsNotAskedForAreLeftAlone) {
  Fixture f;
  Job job = MakeJob(10, 10);
  PlanRequest req{job, f.live, {}, f.node, f.cap, "eval-1", 7, 1234};
  PlanResult r = Plan(req);
  EXPECT_TRUE(r.placed.empty());
  EXPECT_TRUE(r.failed.empty());
  EXPECT_TRUE(r.queued.empty());
}

}  // namespace
}  // namespace drover
