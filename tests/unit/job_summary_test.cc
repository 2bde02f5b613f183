// The arithmetic of Nomad's JobSummary and JobScaleStatus (service/
// job_summary.h) and the scaling events kept for a job (service/scaling.h).
#include <gtest/gtest.h>

#include "service/job_summary.h"
#include "service/scaling.h"

namespace drover {
namespace {

Job TwoGroupJob() {
  Job job;
  job.ID = job.Name = "web";
  job.Namespace = "default";
  job.Type = "service";
  job.CreateIndex = 10;
  job.ModifyIndex = 12;
  for (const char* name : {"api", "db"}) {
    TaskGroup tg;
    tg.Name = name;
    tg.Count = 3;
    job.TaskGroups.push_back(tg);
  }
  return job;
}

Allocation Alloc(const Job& job, const std::string& group, const std::string& client,
                 std::uint64_t modify, const std::string& desired = "run") {
  Allocation a;
  a.ID = group + "-" + client + "-" + std::to_string(modify);
  a.Namespace = job.Namespace;
  a.JobID = job.ID;
  a.Job = job;
  a.TaskGroup = group;
  a.ClientStatus = client;
  a.DesiredStatus = desired;
  a.CreateIndex = a.ModifyIndex = modify;
  return a;
}

TEST(JobSummaryTest, CountsEachAllocationByItsClientStatus) {
  Job job = TwoGroupJob();
  std::vector<Allocation> allocs = {
      Alloc(job, "api", "running", 13), Alloc(job, "api", "running", 14),
      Alloc(job, "api", "pending", 15), Alloc(job, "api", "failed", 16),
      Alloc(job, "db", "complete", 17), Alloc(job, "db", "lost", 18),
      Alloc(job, "db", "unknown", 19),  Alloc(job, "db", "running", 20, "stop")};
  JobSummary s = SummarizeJob(job, allocs, {}, {});
  EXPECT_EQ(s.JobID, "web");
  EXPECT_EQ(s.CreateIndex, 10u);
  const TaskGroupSummary& api = s.Summary.at("api");
  EXPECT_EQ(api.Running, 2);
  EXPECT_EQ(api.Starting, 1);
  EXPECT_EQ(api.Failed, 1);
  EXPECT_EQ(api.Complete + api.Lost + api.Unknown + api.Queued, 0);
  const TaskGroupSummary& db = s.Summary.at("db");
  EXPECT_EQ(db.Complete, 1);
  EXPECT_EQ(db.Lost, 1);
  EXPECT_EQ(db.Unknown, 1);
  // Desired stop does not matter: Nomad counts by client status only.
  EXPECT_EQ(db.Running, 1);
  EXPECT_EQ(s.ModifyIndex, 20u);
}

TEST(JobSummaryTest, EveryGroupIsListedEvenWithoutAllocations) {
  Job job = TwoGroupJob();
  JobSummary s = SummarizeJob(job, {}, {}, {});
  ASSERT_EQ(s.Summary.size(), 2u);
  EXPECT_EQ(s.Summary.at("db"), TaskGroupSummary{});
  EXPECT_EQ(s.ModifyIndex, job.ModifyIndex);
  EXPECT_EQ(s.Children.Pending + s.Children.Running + s.Children.Dead, 0);
}

TEST(JobSummaryTest, AllocationsOfAnEarlierJobWithTheSameIDDoNotCount) {
  Job job = TwoGroupJob();
  Job purged = job;
  purged.CreateIndex = 3;  // registered, purged, registered again at 10
  std::vector<Allocation> allocs = {Alloc(purged, "api", "complete", 5),
                                    Alloc(job, "api", "running", 11),
                                    Alloc(job, "gone-group", "running", 11)};
  JobSummary s = SummarizeJob(job, allocs, {}, {});
  EXPECT_EQ(s.Summary.at("api").Complete, 0);
  EXPECT_EQ(s.Summary.at("api").Running, 1);
  EXPECT_EQ(s.Summary.count("gone-group"), 0u);
}

TEST(JobSummaryTest, QueuedComesFromTheLatestEvaluationThatRecordedIt) {
  Job job = TwoGroupJob();
  auto eval = [&](std::uint64_t index, std::int64_t queued, const char* status) {
    Evaluation e;
    e.ID = "e" + std::to_string(index);
    e.JobID = job.ID;
    e.Namespace = job.Namespace;
    e.Status = status;
    e.CreateIndex = e.ModifyIndex = index;
    if (queued >= 0) e.QueuedAllocations = std::map<std::string, std::int64_t>{{"api", queued}};
    return e;
  };
  Evaluation other = eval(40, 9, "complete");
  other.JobID = "other";
  std::vector<Evaluation> evals = {eval(11, 2, "complete"), eval(30, 1, "complete"),
                                   eval(31, -1, "blocked"), other};
  JobSummary s = SummarizeJob(job, {}, evals, {});
  EXPECT_EQ(s.Summary.at("api").Queued, 1);
  EXPECT_EQ(s.Summary.at("db").Queued, 0);
  EXPECT_EQ(s.ModifyIndex, 30u);
}

TEST(JobSummaryTest, ChildrenAreCountedByStatus) {
  JobSummary s = SummarizeJob(TwoGroupJob(), {}, {}, {"running", "dead", "dead", "pending"});
  EXPECT_EQ(s.Children.Pending, 1);
  EXPECT_EQ(s.Children.Running, 1);
  EXPECT_EQ(s.Children.Dead, 2);
}

TEST(JobScaleStatusTest, PlacedCountsAllocationsThatAreNotTerminal) {
  Job job = TwoGroupJob();
  Allocation healthy = Alloc(job, "api", "running", 21);
  healthy.DeploymentStatus.text = R"({"Healthy":true,"Canary":false})";
  Allocation unhealthy = Alloc(job, "api", "pending", 22);
  unhealthy.DeploymentStatus.text = R"({"Healthy":false})";
  Allocation canary = Alloc(job, "api", "running", 23);
  canary.DeploymentStatus.text = R"({"Healthy":true,"Canary":true})";
  std::vector<Allocation> allocs = {healthy, unhealthy, canary,
                                    Alloc(job, "api", "running", 24, "stop"),
                                    Alloc(job, "api", "failed", 25),
                                    Alloc(job, "db", "running", 13)};
  JobScaleStatus st = ScaleStatusOf(job, allocs, {});
  const TaskGroupScaleStatus& api = st.TaskGroups.at("api");
  EXPECT_EQ(api.Desired, 3);
  EXPECT_EQ(api.Placed, 2);
  EXPECT_EQ(api.Running, 1);
  EXPECT_EQ(api.Healthy, 1);
  EXPECT_EQ(api.Unhealthy, 1);
  EXPECT_EQ(st.TaskGroups.at("db").Placed, 1);
  EXPECT_EQ(st.Index, 22u);  // the counted allocations', not the skipped ones'
  EXPECT_FALSE(st.JobStopped);
}

TEST(JobScaleStatusTest, EventsAreShownPerGroupAndRaiseTheIndex) {
  Job job = TwoGroupJob();
  JobScalingEvents events;
  ScalingEvent e;
  e.Count = 4;
  e.PreviousCount = 3;
  e.CreateIndex = 50;
  AddScalingEvent(events, "db", e);
  JobScaleStatus st = ScaleStatusOf(job, {}, events);
  ASSERT_EQ(st.TaskGroups.at("db").Events.size(), 1u);
  EXPECT_TRUE(st.TaskGroups.at("api").Events.empty());
  EXPECT_EQ(st.Index, 50u);
}

TEST(ScalingEventsTest, NewestFirstAndOnlyTheLatestTwentyKept) {
  JobScalingEvents events;
  for (std::uint64_t i = 1; i <= 25; ++i) {
    ScalingEvent e;
    e.CreateIndex = i;
    e.Message = "m" + std::to_string(i);
    AddScalingEvent(events, "g", e);
  }
  ASSERT_EQ(events.at("g").size(), kJobTrackedScalingEvents);
  EXPECT_EQ(events.at("g").front().CreateIndex, 25u);
  EXPECT_EQ(events.at("g").back().CreateIndex, 6u);
}

TEST(ScalingEventsTest, RoundTripKeepsEveryField) {
  JobScalingEvents events;
  ScalingEvent full;
  full.Time = 1700000000123456789;
  full.Count = 0;
  full.PreviousCount = 2;
  full.Message = "scale to zero";
  full.Meta.text = R"({"a":1,"b":["x"]})";
  full.EvalID = "9f0c";
  full.CreateIndex = 7;
  ScalingEvent bare;
  bare.Error = true;
  bare.Message = "autoscaler failed";
  AddScalingEvent(events, "g", full);
  AddScalingEvent(events, "h", bare);
  auto decoded = DecodeScalingEvents(EncodeScalingEvents(events));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, events);
  EXPECT_FALSE(decoded->at("h").front().Count.has_value());
}

TEST(ScaleRequestTest, RefusedAsNomadRefusesIt) {
  ScaleRequest req;
  req.ns = "default";
  req.job_id = "web";
  req.Target = {{"Group", "g"}};
  EXPECT_TRUE(ValidateScaleRequest(req).ok());

  auto message = [](ScaleRequest r) { return ValidateScaleRequest(r).message(); };
  ScaleRequest no_group = req;
  no_group.Target.clear();
  EXPECT_EQ(message(no_group), "missing task group name for scaling action");
  ScaleRequest negative = req;
  negative.Count = -1;
  EXPECT_EQ(message(negative), "scaling action count can't be negative");
  ScaleRequest error_with_count = req;
  error_with_count.Count = 1;
  error_with_count.Error = true;
  EXPECT_EQ(message(error_with_count), "scaling action should not contain count if error is true");
  ScaleRequest other_job = req;
  other_job.Target["Job"] = "api";
  EXPECT_EQ(message(other_job), "job ID in payload did not match URL");
  ScaleRequest other_ns = req;
  other_ns.Target["Namespace"] = "prod";
  EXPECT_EQ(message(other_ns), "namespace in payload did not match header");
  EXPECT_EQ(ValidateScaleRequest(negative).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace drover
