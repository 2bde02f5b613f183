// Job updates as Nomad's reconciler does them, deployments, job versions,
// revert and plan, against the real binary. Tasks are /bin/sh scripts that
// write their pid into the allocation directory.
#include <gtest/gtest.h>

#include <unistd.h>

#include <boost/json.hpp>
#include <fstream>
#include <set>

#include "tests/support/json_assert.h"
#include "tests/support/shared_agent.h"

namespace drover::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kWait = 60s;

// An update block: one at a time, healthy after 1 s of running.
json::object Rolling(bool auto_revert, std::int64_t min_healthy_ns = 1'000'000'000) {
  return json::object{{"MaxParallel", 1},
                      {"MinHealthyTime", min_healthy_ns},
                      {"HealthyDeadline", 300'000'000'000LL},
                      {"ProgressDeadline", 600'000'000'000LL},
                      {"AutoRevert", auto_revert}};
}

// A service job of one group "g" with one task "t" running `script`;
// failures are final (no restart, no reschedule) so that a failing version
// shows at once.
json::object JobSpec(const std::string& id, std::int64_t count, const std::string& script,
                     json::value update = nullptr) {
  json::object task{{"Name", "t"},
                    {"Driver", "raw_exec"},
                    {"Config", json::object{{"command", "/bin/sh"},
                                            {"args", json::array{"-c", script}}}},
                    {"KillTimeout", 1'000'000'000},
                    {"Resources", json::object{{"CPU", 20}, {"MemoryMB", 16}}}};
  json::object group{
      {"Name", "g"},
      {"Count", count},
      {"Update", std::move(update)},
      {"RestartPolicy", json::object{{"Attempts", 0}, {"Mode", "fail"},
                                     {"Interval", 60'000'000'000LL}, {"Delay", 1'000'000'000}}},
      {"ReschedulePolicy", json::object{{"Attempts", 0}, {"Unlimited", false},
                                        {"Interval", 60'000'000'000LL},
                                        {"Delay", 1'000'000'000}, {"DelayFunction", "constant"}}},
      {"Tasks", json::array{task}}};
  return json::object{{"ID", id},
                      {"Name", id},
                      {"Type", "service"},
                      {"Datacenters", json::array{"dc1"}},
                      {"TaskGroups", json::array{group}}};
}

// Writes its pid to $NOMAD_ALLOC_DIR/pid, then sleeps under that pid.
// `tag` makes a destructive change (the task config differs).
std::string Sleeper(const std::string& tag = "a") {
  return "echo $$ > \"$NOMAD_ALLOC_DIR/pid.tmp\"; mv \"$NOMAD_ALLOC_DIR/pid.tmp\" "
         "\"$NOMAD_ALLOC_DIR/pid\"; : " + tag + "; exec sleep 300";
}

class DeploymentE2ETest : public SharedAgentTest<DeploymentE2ETest> {
 protected:
  json::value Get(const std::string& path) {
    auto client = agent_->Client();
    auto r = client.Get(path);
    if (!r.ok() || r->status != 200) {
      ADD_FAILURE() << "GET " << path << ": "
                    << (r.ok() ? std::to_string(r->status) + " " + r->body : r.status().ToString());
      return nullptr;
    }
    auto v = ParseJson(r->body);
    return v.ok() ? *v : json::value(nullptr);
  }

  HttpResponse Send(const std::string& method, const std::string& path, const json::value& body) {
    auto client = agent_->Client();
    auto r = client.Request(method, path, json::serialize(body));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpResponse{};
  }

  json::value Register(const json::object& job) {
    HttpResponse r = Send("PUT", "/v1/jobs", json::object{{"Job", job}});
    EXPECT_EQ(r.status, 200) << r.body;
    auto v = ParseJson(r.body);
    return v.ok() ? *v : json::value(nullptr);
  }

  // The job's allocations that the server still wants running.
  std::vector<json::value> LiveAllocs(const std::string& job) {
    std::vector<json::value> out;
    json::value list = Get("/v1/job/" + job + "/allocations");
    if (!list.is_array()) return out;
    for (const json::value& a : list.get_array()) {
      if (Str(a, "/DesiredStatus") == "run") out.push_back(a);
    }
    return out;
  }

  // Waits until `n` allocations of `job` run version `version`.
  bool WaitRunning(const std::string& job, std::size_t n, std::int64_t version) {
    return WaitFor(
        [&] {
          auto live = LiveAllocs(job);
          if (live.size() != n) return false;
          for (const json::value& a : live) {
            if (Str(a, "/ClientStatus") != "running" || Int(a, "/JobVersion") != version) {
              return false;
            }
          }
          return true;
        },
        kWait, 100ms);
  }

  // Waits until the job's deployment of `version` has `status`.
  json::value WaitDeployment(const std::string& job, std::int64_t version,
                             const std::string& status) {
    json::value last;
    WaitFor(
        [&] {
          const json::value all = Get("/v1/job/" + job + "/deployments");
          if (!all.is_array()) return false;
          for (const json::value& d : all.get_array()) {
            if (Int(d, "/JobVersion") == version) last = d;
          }
          return Str(last, "/Status") == status;
        },
        kWait, 100ms);
    EXPECT_EQ(Str(last, "/Status"), status) << json::serialize(last) << "\n" << agent_->LogTail();
    return last;
  }

  pid_t PidOf(const std::string& alloc_id) {
    pid_t pid = -1;
    WaitFor(
        [&] {
          std::ifstream in(agent_->data_dir() / "alloc" / alloc_id / "alloc" / "pid");
          return static_cast<bool>(in >> pid) && pid > 0;
        },
        kWait);
    return pid;
  }
};

TEST_F(DeploymentE2ETest, CountChangeKeepsTheRunningAllocationItsIdAndPid) {
  Register(JobSpec("count", 1, Sleeper()));
  ASSERT_TRUE(WaitRunning("count", 1, 0)) << agent_->LogTail();
  const std::string first = Str(LiveAllocs("count")[0], "/ID");
  const pid_t pid = PidOf(first);
  ASSERT_GT(pid, 0);

  Register(JobSpec("count", 3, Sleeper()));
  ASSERT_TRUE(WaitRunning("count", 3, 1)) << agent_->LogTail();
  std::set<std::string> names;
  bool kept = false;
  for (const json::value& a : LiveAllocs("count")) {
    names.insert(Str(a, "/Name"));
    kept = kept || Str(a, "/ID") == first;
  }
  EXPECT_TRUE(kept) << "the running allocation was replaced";
  EXPECT_EQ(names, (std::set<std::string>{"count.g[0]", "count.g[1]", "count.g[2]"}));
  EXPECT_TRUE(ProcessAlive(pid));
  EXPECT_EQ(PidOf(first), pid);

  // Down to 1: the highest indexes stop, the first runs on.
  Register(JobSpec("count", 1, Sleeper()));
  ASSERT_TRUE(WaitRunning("count", 1, 2)) << agent_->LogTail();
  EXPECT_EQ(Str(LiveAllocs("count")[0], "/ID"), first);
  EXPECT_TRUE(ProcessAlive(pid));
  const json::value all = Get("/v1/job/count/allocations");
  ASSERT_TRUE(all.is_array());
  for (const json::value& a : all.get_array()) {
    if (Str(a, "/ID") == first) continue;
    EXPECT_EQ(Str(a, "/DesiredStatus"), "stop");
    EXPECT_EQ(Str(a, "/DesiredDescription"), "alloc not needed due to job update");
  }
}

TEST_F(DeploymentE2ETest, RollingUpdateReplacesOneAllocationAtATime) {
  Register(JobSpec("roll", 3, Sleeper("v0"), Rolling(false)));
  json::value d0 = WaitDeployment("roll", 0, "successful");
  EXPECT_EQ(Int(d0, "/TaskGroups/g/HealthyAllocs"), 3);
  std::set<std::string> old_ids;
  for (const json::value& a : LiveAllocs("roll")) old_ids.insert(Str(a, "/ID"));
  ASSERT_EQ(old_ids.size(), 3u);

  Register(JobSpec("roll", 3, Sleeper("v1"), Rolling(false)));
  // While it rolls, never more than one new allocation is unproven.
  bool done = WaitFor(
      [&] {
        int unproven = 0;
        for (const json::value& a : LiveAllocs("roll")) {
          if (Int(a, "/JobVersion") == 1 && At(a, "/DeploymentStatus/Healthy") != json::value(true)) {
            unproven++;
          }
        }
        EXPECT_LE(unproven, 1);
        json::value d = Get("/v1/job/roll/deployment");
        return Int(d, "/JobVersion") == 1 && Str(d, "/Status") == "successful";
      },
      kWait, 50ms);
  ASSERT_TRUE(done) << json::serialize(Get("/v1/job/roll/deployment")) << agent_->LogTail();

  json::value d1 = Get("/v1/job/roll/deployment");
  EXPECT_EQ(Str(d1, "/StatusDescription"), "Deployment completed successfully");
  EXPECT_EQ(Int(d1, "/TaskGroups/g/DesiredTotal"), 3);
  EXPECT_EQ(Int(d1, "/TaskGroups/g/PlacedAllocs"), 3);
  EXPECT_EQ(Int(d1, "/TaskGroups/g/HealthyAllocs"), 3);

  // Each replacement was placed only after the one before it was healthy.
  std::vector<json::value> fresh = LiveAllocs("roll");
  ASSERT_EQ(fresh.size(), 3u);
  std::sort(fresh.begin(), fresh.end(), [](const json::value& a, const json::value& b) {
    return Int(a, "/CreateIndex") < Int(b, "/CreateIndex");
  });
  for (std::size_t i = 0; i < fresh.size(); ++i) {
    EXPECT_EQ(Int(fresh[i], "/JobVersion"), 1);
    EXPECT_TRUE(old_ids.contains(Str(fresh[i], "/PreviousAllocation")));
    if (i > 0) {
      EXPECT_GE(Int(fresh[i], "/CreateIndex"), Int(fresh[i - 1], "/DeploymentStatus/ModifyIndex"))
          << "replacement " << i << " was placed before " << i - 1 << " was healthy";
    }
  }
  const json::value members = Get("/v1/deployment/allocations/" + Str(d1, "/ID"));
  ASSERT_TRUE(members.is_array());
  std::set<std::string> member_ids, fresh_ids;
  for (const json::value& a : fresh) fresh_ids.insert(Str(a, "/ID"));
  for (const json::value& a : members.get_array()) member_ids.insert(Str(a, "/ID"));
  EXPECT_EQ(member_ids, fresh_ids);
  for (const json::value& a : members.get_array()) {
    EXPECT_EQ(Str(a, "/DeploymentStatus/Healthy"), "<true>");
  }
  // A successful deployment marks its version stable.
  json::value versions = Get("/v1/job/roll/versions");
  EXPECT_EQ(At(versions, "/Versions/0/Version"), json::value(1));
  EXPECT_EQ(At(versions, "/Versions/0/Stable"), json::value(true));
}

TEST_F(DeploymentE2ETest, FailingVersionWithAutoRevertGoesBackToTheStableOne) {
  Register(JobSpec("revert", 2, Sleeper("good"), Rolling(true)));
  WaitDeployment("revert", 0, "successful");

  Register(JobSpec("revert", 2, "exit 1", Rolling(true)));
  json::value failed = WaitDeployment("revert", 1, "failed");
  EXPECT_EQ(Str(failed, "/StatusDescription"),
            "Failed due to unhealthy allocations - rolling back to job version 0");
  EXPECT_EQ(Int(failed, "/TaskGroups/g/UnhealthyAllocs"), 1);

  // Version 2 is version 0's spec, running on every allocation.
  ASSERT_TRUE(WaitRunning("revert", 2, 2)) << agent_->LogTail();
  json::value job = Get("/v1/job/revert");
  EXPECT_EQ(Int(job, "/Version"), 2);
  EXPECT_NE(Str(job, "/TaskGroups/0/Tasks/0/Config/args/1").find(": good;"), std::string::npos);
  WaitDeployment("revert", 2, "successful");
  json::value all = Get("/v1/job/revert/deployments");
  ASSERT_TRUE(all.is_array());
  EXPECT_EQ(all.get_array().size(), 3u);
}

TEST_F(DeploymentE2ETest, RevertAnswersAsNomadAndMakesANewVersion) {
  Register(JobSpec("rv", 1, Sleeper("one")));
  Register(JobSpec("rv", 1, Sleeper("two")));
  ASSERT_TRUE(WaitRunning("rv", 1, 1)) << agent_->LogTail();

  HttpResponse missing = Send("PUT", "/v1/job/rv/revert",
                              json::object{{"JobID", "rv"}, {"JobVersion", 9}});
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.body, "job \"rv\" in namespace \"default\" at version 9 not found");
  HttpResponse current = Send("PUT", "/v1/job/rv/revert",
                              json::object{{"JobID", "rv"}, {"JobVersion", 1}});
  EXPECT_EQ(current.status, 400);
  EXPECT_EQ(current.body, "can't revert to current version");
  HttpResponse mismatch = Send("PUT", "/v1/job/rv/revert",
                               json::object{{"JobID", "other"}, {"JobVersion", 0}});
  EXPECT_EQ(mismatch.status, 400);
  EXPECT_EQ(mismatch.body, "Job ID does not match");
  HttpResponse enforce = Send("PUT", "/v1/job/rv/revert",
                              json::object{{"JobID", "rv"}, {"JobVersion", 0},
                                           {"EnforcePriorVersion", 5}});
  EXPECT_EQ(enforce.status, 400);
  EXPECT_EQ(enforce.body, "Current job has version 1; enforcing version 5");
  HttpResponse unknown = Send("PUT", "/v1/job/nope/revert",
                              json::object{{"JobID", "nope"}, {"JobVersion", 0}});
  EXPECT_EQ(unknown.status, 404);
  // Nothing changed.
  EXPECT_EQ(Int(Get("/v1/job/rv"), "/Version"), 1);

  HttpResponse ok = Send("PUT", "/v1/job/rv/revert",
                         json::object{{"JobID", "rv"}, {"JobVersion", 0},
                                      {"EnforcePriorVersion", 1}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  json::value job = Get("/v1/job/rv");
  EXPECT_EQ(Int(job, "/Version"), 2);
  EXPECT_NE(Str(job, "/TaskGroups/0/Tasks/0/Config/args/1").find(": one;"), std::string::npos);
  ASSERT_TRUE(WaitRunning("rv", 1, 2)) << agent_->LogTail();

  json::value versions = Get("/v1/job/rv/versions?diffs=true");
  ASSERT_EQ(At(versions, "/Versions").get_array().size(), 3u);
  ASSERT_EQ(At(versions, "/Diffs").get_array().size(), 2u);
  EXPECT_EQ(Str(versions, "/Diffs/0/Type"), "Edited");
  EXPECT_EQ(Str(versions, "/Diffs/0/TaskGroups/0/Tasks/0/Objects/0/Name"), "Config");
  HttpResponse no_versions = agent_->Client().Get("/v1/job/nope/versions").value();
  EXPECT_EQ(no_versions.status, 404);
  EXPECT_EQ(no_versions.body, "job versions not found");
}

TEST_F(DeploymentE2ETest, PlanShowsTheDiffAndAnnotationsAndChangesNothing) {
  json::value reg = Register(JobSpec("plan", 1, Sleeper()));
  ASSERT_TRUE(WaitRunning("plan", 1, 0)) << agent_->LogTail();
  const std::string first = Str(LiveAllocs("plan")[0], "/ID");

  HttpResponse r = Send("POST", "/v1/job/plan/plan",
                        json::object{{"Job", JobSpec("plan", 3, Sleeper())}, {"Diff", true}});
  ASSERT_EQ(r.status, 200) << r.body;
  json::value plan = ParseJson(r.body).value();
  EXPECT_EQ(Int(plan, "/Annotations/DesiredTGUpdates/g/Place"), 2);
  EXPECT_EQ(Int(plan, "/Annotations/DesiredTGUpdates/g/InPlaceUpdate"), 1);
  EXPECT_EQ(Int(plan, "/Annotations/DesiredTGUpdates/g/DestructiveUpdate"), 0);
  EXPECT_EQ(Int(plan, "/JobModifyIndex"), Int(reg, "/JobModifyIndex"));
  EXPECT_TRUE(At(plan, "/FailedTGAllocs").is_null());
  EXPECT_EQ(Str(plan, "/Diff/Type"), "Edited");
  EXPECT_EQ(Str(plan, "/Diff/TaskGroups/0/Fields/0/Name"), "Count");
  EXPECT_EQ(Str(plan, "/Diff/TaskGroups/0/Fields/0/Old"), "1");
  EXPECT_EQ(Str(plan, "/Diff/TaskGroups/0/Fields/0/New"), "3");
  EXPECT_EQ(Str(plan, "/Diff/TaskGroups/0/Fields/0/Annotations/0"), "forces create");
  EXPECT_EQ(Int(plan, "/Diff/TaskGroups/0/Updates/create"), 2);

  // A destructive change, planned.
  r = Send("PUT", "/v1/job/plan/plan", json::object{{"Job", JobSpec("plan", 1, Sleeper("b"))}});
  ASSERT_EQ(r.status, 200) << r.body;
  plan = ParseJson(r.body).value();
  EXPECT_EQ(Int(plan, "/Annotations/DesiredTGUpdates/g/DestructiveUpdate"), 1);
  EXPECT_TRUE(At(plan, "/Diff").is_null());

  // Nothing of either plan happened.
  json::value job = Get("/v1/job/plan");
  EXPECT_EQ(Int(job, "/Version"), 0);
  EXPECT_EQ(Int(job, "/TaskGroups/0/Count"), 1);
  std::vector<json::value> live = LiveAllocs("plan");
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(Str(live[0], "/ID"), first);
  EXPECT_EQ(Int(live[0], "/JobVersion"), 0);

  // A new job: everything is added and placed.
  r = Send("POST", "/v1/job/fresh/plan",
           json::object{{"Job", JobSpec("fresh", 2, Sleeper())}, {"Diff", true}});
  ASSERT_EQ(r.status, 200) << r.body;
  plan = ParseJson(r.body).value();
  EXPECT_EQ(Str(plan, "/Diff/Type"), "Added");
  EXPECT_EQ(Int(plan, "/Annotations/DesiredTGUpdates/g/Place"), 2);
  EXPECT_EQ(Int(plan, "/JobModifyIndex"), 0);
  EXPECT_EQ(agent_->Client().Get("/v1/job/fresh").value().status, 404);

  // Bad input.
  r = Send("POST", "/v1/job/plan/plan", json::object{{"Diff", true}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "Job must be specified");
  r = Send("POST", "/v1/job/other/plan", json::object{{"Job", JobSpec("plan", 1, Sleeper())}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "Job ID does not match");
}

TEST_F(DeploymentE2ETest, DeploymentEndpointsPauseResumeAndFail) {
  // Healthy only after a minute: the deployment stays running meanwhile.
  Register(JobSpec("ops", 1, Sleeper(), Rolling(false, 60'000'000'000LL)));
  json::value d = WaitDeployment("ops", 0, "running");
  const std::string id = Str(d, "/ID");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Get("/v1/deployment/" + id), d);
  bool listed = false;
  const json::value listing = Get("/v1/deployments");
  ASSERT_TRUE(listing.is_array());
  for (const json::value& x : listing.get_array()) listed = listed || x == d;
  EXPECT_TRUE(listed);
  EXPECT_GE(At(Get("/v1/deployments?prefix=" + id.substr(0, 4)), "").as_array().size(), 1u);
  EXPECT_EQ(At(Get("/v1/job/ops/deployments"), "").as_array().size(), 1u);

  HttpResponse r = Send("POST", "/v1/deployment/pause/" + id,
                        json::object{{"DeploymentID", id}, {"Pause", true}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Str(Get("/v1/deployment/" + id), "/Status"), "paused");
  EXPECT_EQ(Str(Get("/v1/deployment/" + id), "/StatusDescription"), "Deployment is paused");
  r = Send("POST", "/v1/deployment/pause/" + id, json::object{{"DeploymentID", id}, {"Pause", false}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Str(Get("/v1/deployment/" + id), "/Status"), "running");
  r = Send("POST", "/v1/deployment/pause/" + id, json::object{{"DeploymentID", "x"}, {"Pause", true}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "Deployment ID does not match");

  r = Send("POST", "/v1/deployment/fail/" + id, json::object{});
  ASSERT_EQ(r.status, 200) << r.body;
  json::value failed = Get("/v1/deployment/" + id);
  EXPECT_EQ(Str(failed, "/Status"), "failed");
  EXPECT_EQ(Str(failed, "/StatusDescription"), "Deployment marked as failed");
  r = Send("POST", "/v1/deployment/fail/" + id, json::object{});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "can't fail terminal deployment");

  auto client = agent_->Client();
  auto missing = client.Get("/v1/deployment/00000000-0000-4000-8000-000000000000");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body, "deployment not found");
  r = Send("POST", "/v1/deployment/fail/00000000-0000-4000-8000-000000000000", json::object{});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Get("/v1/job/nojob/deployment"), json::value(nullptr));
}

}  // namespace
}  // namespace drover::testing
