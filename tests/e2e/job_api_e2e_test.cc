// End-to-end: GET /v1/job/:id/summary, GET|POST /v1/job/:id/scale,
// POST /v1/job/:id/evaluate and GET /v1/job/:id/services against the
// binary, with the bad input Nomad refuses answered with Nomad's codes and
// texts.
#include <boost/json.hpp>

#include <gtest/gtest.h>

#include "common/gotime.h"
#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"
#include "tests/support/shared_agent.h"

namespace drover::testing {
namespace {

namespace json = boost::json;
using std::chrono::seconds;

json::value SleepJob(const std::string& id, std::int64_t count, const std::string& type = "service",
                     const std::string& script = "sleep 600") {
  json::object task{{"Name", "t"},
                    {"Driver", "raw_exec"},
                    {"Config", json::object{{"command", "/bin/sh"},
                                            {"args", json::array{"-c", script}}}},
                    {"Resources", json::object{{"CPU", 20}, {"MemoryMB", 16}}},
                    {"Services", json::array{json::object{{"Name", id + "-svc"},
                                                          {"PortLabel", "8080"},
                                                          {"Provider", "nomad"}}}},
                    {"KillTimeout", kSecond}};
  json::object group{{"Name", "g"},
                     {"Count", count},
                     {"RestartPolicy", json::object{{"Attempts", 0},
                                                    {"Interval", 60 * kSecond},
                                                    {"Delay", kSecond / 10},
                                                    {"Mode", "fail"}}},
                     {"ReschedulePolicy", json::object{{"Attempts", 1},
                                                       {"Interval", 3600 * kSecond},
                                                       {"Delay", 3600 * kSecond},
                                                       {"DelayFunction", "constant"},
                                                       {"Unlimited", false}}},
                     {"Tasks", json::array{task}}};
  return json::object{{"Job", json::object{{"ID", id},
                                           {"Name", id},
                                           {"Type", type},
                                           {"Datacenters", json::array{"dc1"}},
                                           {"TaskGroups", json::array{group}}}}};
}

class JobApiE2ETest : public SharedAgentTest<JobApiE2ETest> {
 protected:
  HttpResponse Call(const std::string& method, const std::string& path,
                    const std::string& body = "") {
    auto r = agent_->Client().Request(method, path, body);
    EXPECT_TRUE(r.ok()) << method << " " << path << ": " << r.status().ToString();
    return r.ok() ? *r : HttpResponse{};
  }
  json::value GetJson(const std::string& path) {
    HttpResponse r = Call("GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    auto v = ParseJson(r.body);
    return v.ok() ? *v : json::value();
  }
  void Register(const json::value& job) {
    HttpResponse r = Call("PUT", "/v1/jobs", json::serialize(job));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // Waits until the group's summary shows `running` allocations running.
  bool WaitRunning(const std::string& job, std::int64_t running) {
    return WaitFor(
        [&] {
          auto r = agent_->Client().Get("/v1/job/" + job + "/summary");
          if (!r.ok() || r->status != 200) return false;
          auto v = ParseJson(r->body);
          return v.ok() && v->at("Summary").at("g").at("Running").to_number<std::int64_t>() ==
                               running;
        },
        seconds(30));
  }
};

TEST_F(JobApiE2ETest, SummaryCountsAllocationsPerGroupInNomadsShape) {
  Register(SleepJob("sum", 2));
  ASSERT_TRUE(WaitRunning("sum", 2)) << agent_->LogTail();
  HttpResponse r = Call("GET", "/v1/job/sum/summary");
  ASSERT_EQ(r.status, 200);
  json::value s = json::parse(r.body);
  EXPECT_EQ(s.at("JobID").as_string(), "sum");
  EXPECT_EQ(s.at("Namespace").as_string(), "default");
  const json::object& g = s.at("Summary").at("g").as_object();
  for (const char* key : {"Queued", "Complete", "Failed", "Running", "Starting", "Lost", "Unknown"}) {
    EXPECT_TRUE(g.contains(key)) << key;
  }
  EXPECT_EQ(g.at("Starting").to_number<int>(), 0);
  EXPECT_EQ(s.at("Children").at("Dead").to_number<int>(), 0);
  EXPECT_GT(s.at("ModifyIndex").to_number<std::uint64_t>(), 0u);
  EXPECT_EQ(std::string(r.headers.Get("X-Nomad-Index").value_or("")),
            std::to_string(s.at("ModifyIndex").to_number<std::uint64_t>()));

  // A blocking query returns when an allocation changes.
  std::string alloc = std::string(GetJson("/v1/job/sum/allocations").at(0).at("ID").as_string());
  ASSERT_EQ(Call("POST", "/v1/allocation/" + alloc + "/stop").status, 200);
  const std::uint64_t before = s.at("ModifyIndex").to_number<std::uint64_t>();
  HttpResponse blocked =
      Call("GET", "/v1/job/sum/summary?index=" + std::to_string(before) + "&wait=20s");
  ASSERT_EQ(blocked.status, 200);
  EXPECT_GT(json::parse(blocked.body).at("ModifyIndex").to_number<std::uint64_t>(), before);
}

TEST_F(JobApiE2ETest, SummaryOfAnUnknownJobIs404) {
  HttpResponse r = Call("GET", "/v1/job/no-such-job/summary");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "job not found");
  EXPECT_EQ(Call("GET", "/v1/job/no-such-job/scale").status, 404);
  HttpResponse services = Call("GET", "/v1/job/no-such-job/services");
  EXPECT_EQ(services.status, 404);
  EXPECT_EQ(services.body, "job not found");
}

TEST_F(JobApiE2ETest, ScaleChangesTheCountAndRecordsTheEvent) {
  Register(SleepJob("scaled", 1));
  ASSERT_TRUE(WaitRunning("scaled", 1)) << agent_->LogTail();
  json::value status = GetJson("/v1/job/scaled/scale");
  EXPECT_EQ(status.at("JobID").as_string(), "scaled");
  EXPECT_FALSE(status.at("JobStopped").as_bool());
  EXPECT_EQ(status.at("TaskGroups").at("g").at("Desired").to_number<int>(), 1);
  EXPECT_TRUE(status.at("TaskGroups").at("g").at("Events").is_null());

  HttpResponse r = Call("POST", "/v1/job/scaled/scale",
                        R"({"Count": 2, "Target": {"Group": "g"}, "Message": "more",
                            "Meta": {"by": "test", "n": 1}})");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value reply = json::parse(r.body);
  const std::string eval_id(reply.at("EvalID").as_string());
  EXPECT_FALSE(eval_id.empty());
  EXPECT_GT(reply.at("Index").to_number<std::uint64_t>(), 0u);
  // Placed and running as the scale status counts them (live allocations).
  ASSERT_TRUE(WaitFor(
      [&] {
        auto v = ParseJson(Call("GET", "/v1/job/scaled/scale").body);
        return v.ok() && v->at("TaskGroups").at("g").at("Running").to_number<int>() == 2;
      },
      seconds(30)))
      << agent_->LogTail();

  json::value job = GetJson("/v1/job/scaled");
  EXPECT_EQ(job.at("TaskGroups").at(0).at("Count").to_number<int>(), 2);
  status = GetJson("/v1/job/scaled/scale");
  const json::value& g = status.at("TaskGroups").at("g");
  EXPECT_EQ(g.at("Desired").to_number<int>(), 2);
  EXPECT_EQ(g.at("Placed").to_number<int>(), 2);
  EXPECT_EQ(g.at("Running").to_number<int>(), 2);
  ASSERT_EQ(g.at("Events").as_array().size(), 1u);
  const json::value& e = g.at("Events").at(0);
  EXPECT_EQ(e.at("Count").to_number<int>(), 2);
  EXPECT_EQ(e.at("PreviousCount").to_number<int>(), 1);
  EXPECT_EQ(e.at("Message").as_string(), "more");
  EXPECT_EQ(e.at("Meta").at("by").as_string(), "test");
  EXPECT_EQ(e.at("EvalID").as_string(), eval_id);
  EXPECT_GT(e.at("Time").to_number<std::int64_t>(), 0);

  // An event without a count (an autoscaler's error report) changes nothing
  // but the events, newest first.
  r = Call("PUT", "/v1/job/scaled/scale",
           R"({"Target": {"Group": "g"}, "Error": true, "Message": "no metrics"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body).at("EvalID").as_string(), "");
  status = GetJson("/v1/job/scaled/scale");
  const json::array& events = status.at("TaskGroups").at("g").at("Events").as_array();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(events.at(0).at("Error").as_bool());
  EXPECT_TRUE(events.at(0).at("Count").is_null());
  EXPECT_TRUE(events.at(0).at("EvalID").is_null());
  EXPECT_EQ(status.at("TaskGroups").at("g").at("Desired").to_number<int>(), 2);

  // The events survive a restart; a purge removes them with the job.
  ASSERT_TRUE(agent_->Restart().ok()) << agent_->LogTail();
  status = GetJson("/v1/job/scaled/scale");
  EXPECT_EQ(status.at("TaskGroups").at("g").at("Events").as_array().size(), 2u);
  ASSERT_EQ(Call("DELETE", "/v1/job/scaled?purge=true").status, 200);
  Register(SleepJob("scaled", 1));
  status = GetJson("/v1/job/scaled/scale");
  EXPECT_TRUE(status.at("TaskGroups").at("g").at("Events").is_null());
  ASSERT_EQ(Call("DELETE", "/v1/job/scaled?purge=true").status, 200);
}

TEST_F(JobApiE2ETest, BadScaleRequestsAreRefusedAsNomadRefusesThem) {
  Register(SleepJob("badscale", 1));
  struct Case {
    std::string path, body;
    int status;
    std::string text;
  } cases[] = {
      {"/v1/job/badscale/scale", R"({"Count": -1, "Target": {"Group": "g"}})", 400,
       "scaling action count can't be negative"},
      {"/v1/job/badscale/scale", R"({"Count": 1, "Target": {"Group": "nope"}})", 400,
       "task group \"nope\" specified for scaling does not exist in job"},
      {"/v1/job/badscale/scale", R"({"Count": 1})", 400, "missing task group name for scaling action"},
      {"/v1/job/badscale/scale", R"({"Count": 1, "Target": {"Group": "g", "Job": "other"}})", 400,
       "job ID in payload did not match URL"},
      {"/v1/job/badscale/scale", R"({"Count": 1, "Error": true, "Target": {"Group": "g"}})", 400,
       "scaling action should not contain count if error is true"},
      {"/v1/job/badscale/scale", R"({"Count": "2", "Target": {"Group": "g"}})", 400,
       "json: cannot unmarshal string into Go struct field ScalingRequest.Count of type int64"},
      {"/v1/job/badscale/scale", R"({"Count": 1.5, "Target": {"Group": "g"}})", 400,
       "json: cannot unmarshal number 1.5 into Go struct field ScalingRequest.Count of type int64"},
      {"/v1/job/badscale/scale", R"([1])", 400,
       "json: cannot unmarshal array into Go value of type api.ScalingRequest"},
      {"/v1/job/badscale/scale", "", 400, "Request body is empty"},
      {"/v1/job/nope/scale", R"({"Count": 1, "Target": {"Group": "g"}})", 404,
       "job \"nope\" not found"},
  };
  for (const Case& c : cases) {
    HttpResponse r = Call("POST", c.path, c.body);
    EXPECT_EQ(r.status, c.status) << c.body << ": " << r.body;
    EXPECT_EQ(r.body, c.text) << c.body;
  }
  // Nothing changed.
  json::value status = GetJson("/v1/job/badscale/scale");
  EXPECT_EQ(status.at("TaskGroups").at("g").at("Desired").to_number<int>(), 1);
  EXPECT_TRUE(status.at("TaskGroups").at("g").at("Events").is_null());
  EXPECT_EQ(GetJson("/v1/job/badscale").at("Version").to_number<int>(), 0);
  EXPECT_EQ(Call("DELETE", "/v1/job/badscale?purge=true").status, 200);
}

TEST_F(JobApiE2ETest, EvaluateCreatesAnEvaluationAndForceReschedulesFailedAllocations) {
  Register(SleepJob("evaljob", 1, "service", "exit 3"));
  // The allocation fails; its reschedule waits an hour.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto v = ParseJson(Call("GET", "/v1/job/evaljob/allocations").body);
        return v.ok() && v->as_array().size() == 1 &&
               v->at(0).at("ClientStatus").as_string() == "failed";
      },
      seconds(30)))
      << agent_->LogTail();
  const std::string failed(GetJson("/v1/job/evaljob/allocations").at(0).at("ID").as_string());

  HttpResponse plain = Call("POST", "/v1/job/evaljob/evaluate");
  ASSERT_EQ(plain.status, 200) << plain.body;
  const std::string eval_id(json::parse(plain.body).at("EvalID").as_string());
  json::value eval = GetJson("/v1/evaluation/" + eval_id);
  EXPECT_EQ(eval.at("JobID").as_string(), "evaljob");
  EXPECT_EQ(eval.at("TriggeredBy").as_string(), "job-register");
  EXPECT_EQ(GetJson("/v1/job/evaljob/allocations").as_array().size(), 1u);

  HttpResponse forced = Call("PUT", "/v1/job/evaljob/evaluate",
                             R"({"JobID": "evaljob", "EvalOptions": {"ForceReschedule": true}})");
  ASSERT_EQ(forced.status, 200) << forced.body;
  json::value old = GetJson("/v1/allocation/" + failed);
  EXPECT_EQ(old.at("DesiredTransition").at("ForceReschedule").as_bool(), true);
  const std::string next(old.at("NextAllocation").as_string());
  ASSERT_FALSE(next.empty());
  EXPECT_EQ(GetJson("/v1/allocation/" + next).at("PreviousAllocation").as_string(), failed);

  // Bad input, as Nomad answers it.
  HttpResponse r = Call("POST", "/v1/job/evaljob/evaluate", R"({"JobID": "other"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "JobID not same as job name");
  r = Call("POST", "/v1/job/evaljob/evaluate", R"({"EvalOptions": {}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "Job ID must be specified");
  r = Call("POST", "/v1/job/nope/evaluate");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "job not found");
  EXPECT_EQ(Call("GET", "/v1/job/evaljob/evaluate").status, 405);
  EXPECT_EQ(Call("DELETE", "/v1/job/evaljob?purge=true").status, 200);
}

TEST_F(JobApiE2ETest, ServicesListsTheJobsRegistrations) {
  Register(SleepJob("svcjob", 1));
  ASSERT_TRUE(WaitRunning("svcjob", 1)) << agent_->LogTail();
  json::value services = GetJson("/v1/job/svcjob/services");
  ASSERT_EQ(services.as_array().size(), 1u);
  EXPECT_EQ(services.at(0).at("ServiceName").as_string(), "svcjob-svc");
  EXPECT_EQ(services.at(0).at("JobID").as_string(), "svcjob");
  ASSERT_EQ(Call("DELETE", "/v1/job/svcjob").status, 200);
  ASSERT_TRUE(WaitFor([&] { return GetJson("/v1/job/svcjob/services").as_array().empty(); },
                      seconds(30)));
}

}  // namespace
}  // namespace drover::testing
