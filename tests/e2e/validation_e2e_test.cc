// End-to-end: hostile job input never takes the agent down. Each test
// replays a finding of a hostile tester against the real binary: the job is
// answered 400 with Nomad's text (or Drover's where Nomad has none) and
// nothing of it is stored; IDs that need escaping in a URL work; the job
// list decodes as Nomad's JobListStub.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/agent_process.h"
#include "tests/support/shared_agent.h"
#include "tests/support/http_client.h"
#include "tests/support/json_assert.h"

namespace drover::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::int64_t kSecond = 1'000'000'000;

json::object Task(std::string_view name, std::string_view script) {
  return json::object{
      {"Name", name},
      {"Driver", "raw_exec"},
      {"Config", json::object{{"command", "/bin/sh"}, {"args", json::array{"-c", script}}}},
      {"Resources", json::object{{"CPU", 10}, {"MemoryMB", 10}}},
  };
}

// A valid service job "id" with one group "g" of one task "t"; `edit`
// changes its group before it is wrapped in {"Job": ...}.
std::string JobBody(std::string_view id, const std::function<void(json::object&)>& edit = {}) {
  json::object group{
      {"Name", "g"},
      {"Count", 1},
      {"RestartPolicy", json::object{{"Attempts", 0}, {"Interval", 60 * kSecond}, {"Mode", "fail"}}},
      {"ReschedulePolicy", json::object{{"Attempts", 0}, {"Unlimited", false}}},
      {"Tasks", json::array{Task("t", "exec sleep 300")}},
  };
  if (edit) edit(group);
  return json::serialize(json::object{
      {"Job", json::object{{"ID", id}, {"Type", "service"}, {"TaskGroups", json::array{group}}}}});
}

json::object& FirstTask(json::object& group) {
  return group["Tasks"].as_array()[0].as_object();
}

class ValidationE2ETest : public SharedAgentTest<ValidationE2ETest> {
 protected:

  // Registers `body` and expects a 400 whose text holds `text`, then that
  // nothing of job `id` was stored and the agent still serves.
  void ExpectRejected(std::string_view id, const std::string& body, std::string_view text) {
    HttpClient http = agent_->Client();
    auto r = http.Put("/v1/jobs", body);
    ASSERT_TRUE(r.ok()) << r.status().ToString() << "\n" << agent_->LogTail();
    EXPECT_EQ(r->status, 400) << r->body;
    EXPECT_NE(r->body.find(text), std::string::npos) << "400 text: " << r->body;
    ExpectNothingStored(id);
  }

  static void ExpectNothingStored(std::string_view id) {
    HttpClient http = agent_->Client();
    auto job = http.Get("/v1/job/" + PercentEncode(id));
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    EXPECT_EQ(job->status, 404) << job->body;
    auto allocs = http.Get("/v1/allocations");
    ASSERT_TRUE(allocs.ok());
    ASSERT_EQ(allocs->status, 200);
    const json::value alloc_list = json::parse(allocs->body);
    for (const auto& a : alloc_list.as_array()) {
      EXPECT_NE(Str(a, "/JobID"), id) << "an allocation of the rejected job was stored";
    }
    auto evals = http.Get("/v1/evaluations");
    ASSERT_TRUE(evals.ok());
    const json::value eval_list = json::parse(evals->body);
    for (const auto& e : eval_list.as_array()) {
      EXPECT_NE(Str(e, "/JobID"), id) << "an evaluation of the rejected job was stored";
    }
    auto self = http.Get("/v1/agent/self");
    ASSERT_TRUE(self.ok()) << "the agent stopped answering";
    EXPECT_EQ(self->status, 200);
  }
};

// ---- Numbers -----------------------------------------------------------------

TEST_F(ValidationE2ETest, CountOf2To31IsRejectedBeforeAnyPlacementLoop) {
  ExpectRejected("count31", JobBody("count31", [](json::object& g) {
                   g["Count"] = std::int64_t{1} << 31;
                 }),
                 "Task group g validation failed: Task group count 2147483648 exceeds what this "
                 "node could ever place");
}

TEST_F(ValidationE2ETest, MemoryThatWrapsTheCapacitySumIsRejected) {
  ExpectRejected("mem62", JobBody("mem62", [](json::object& g) {
                   json::object big = Task("a", "exit 0");
                   big["Resources"] = json::object{{"CPU", 10}, {"MemoryMB", std::int64_t{1} << 62}};
                   json::object big2 = big;
                   big2["Name"] = "b";
                   g["Tasks"] = json::array{big, big2};
                 }),
                 "Task resources overflow");
}

TEST_F(ValidationE2ETest, LogFileSizeThatOverflowsBytesIsRejected) {
  ExpectRejected("log44", JobBody("log44", [](json::object& g) {
                   g["EphemeralDisk"] =
                       json::object{{"SizeMB", std::numeric_limits<std::int64_t>::max()}};
                   FirstTask(g)["LogConfig"] =
                       json::object{{"MaxFiles", 1}, {"MaxFileSizeMB", std::int64_t{1} << 44}};
                 }),
                 "Task t validation failed: maximum file size is 8796093022207MB; got "
                 "17592186044416");
}

TEST_F(ValidationE2ETest, RescheduleWithNegativeDelayAndUnlimitedIsRejected) {
  ExpectRejected("resched", JobBody("resched", [](json::object& g) {
                   g["ReschedulePolicy"] = json::object{{"Delay", -kSecond},
                                                        {"DelayFunction", "constant"},
                                                        {"Unlimited", true}};
                 }),
                 "Task group g validation failed: Delay cannot be less than 5s (got -1s)");
}

TEST_F(ValidationE2ETest, NegativeShutdownDelayIsRejected) {
  ExpectRejected("shutdown", JobBody("shutdown", [](json::object& g) {
                   g["ShutdownDelay"] = -kSecond;
                   FirstTask(g)["ShutdownDelay"] = -kSecond;
                 }),
                 "\t* ShutdownDelay must be a positive value\n");
  ExpectRejected("shutdown", JobBody("shutdown", [](json::object& g) {
                   FirstTask(g)["ShutdownDelay"] = -kSecond;
                 }),
                 "Task t validation failed: ShutdownDelay must be a positive value");
}

TEST_F(ValidationE2ETest, NegativeEphemeralDiskIsRejected) {
  ExpectRejected("disk", JobBody("disk", [](json::object& g) {
                   g["EphemeralDisk"] = json::object{{"SizeMB", -5}};
                 }),
                 "Task group g validation failed: minimum DiskMB value is 10; got -5");
}

TEST_F(ValidationE2ETest, NegativeRestartIntervalIsRejected) {
  ExpectRejected("interval", JobBody("interval", [](json::object& g) {
                   g["RestartPolicy"] =
                       json::object{{"Attempts", 1}, {"Interval", -kSecond}, {"Mode", "fail"}};
                 }),
                 "Task group g validation failed: Interval can not be less than 5s (got -1s)");
}

// ---- Names and NUL -------------------------------------------------------------

TEST_F(ValidationE2ETest, TaskNamesThatAreNotADirectoryNameAreRejected) {
  const std::pair<std::string, std::string> cases[] = {
      {"..", "Task cannot be named \"..\""},
      {"alloc", "Task cannot be named \"alloc\""},
      {"a/b", "Task name cannot include slashes"},
      {std::string("a\0b", 3), "Task name cannot include null characters"},
      {"a\nb", "Task name cannot include control characters"},
  };
  for (const auto& [name, text] : cases) {
    SCOPED_TRACE(json::serialize(json::value(name)));
    ExpectRejected("names", JobBody("names", [&](json::object& g) {
                     FirstTask(g)["Name"] = name;
                   }),
                   text);
  }
  ExpectRejected("names", JobBody("names", [](json::object& g) { g["Name"] = "g\nx"; }),
                 "Task group name cannot include control characters");
}

TEST_F(ValidationE2ETest, NulBytesInArgsEnvAndNamesAreRejected) {
  const std::string nul("x\0y", 3);
  ExpectRejected("nul", JobBody("nul", [&](json::object& g) {
                   FirstTask(g)["Config"] = json::object{{"command", "/bin/echo"},
                                                         {"args", json::array{nul}}};
                 }),
                 "Job.TaskGroups[0].Tasks[0].Config.args[0] contains a null character");
  ExpectRejected("nul", JobBody("nul", [&](json::object& g) {
                   FirstTask(g)["Env"] = json::object{{"K", nul}};
                 }),
                 "Job.TaskGroups[0].Tasks[0].Env.K contains a null character");
  ExpectRejected("nul", JobBody("nul", [&](json::object& g) { g["Name"] = nul; }),
                 "Task group name contains null character");
  ExpectRejected(nul, JobBody(nul), "Job ID contains a null character");
}

// ---- IDs in URLs and logs ---------------------------------------------------------

TEST_F(ValidationE2ETest, JobIDWithSlashIsRegisteredReadAndStopped) {
  HttpClient http = agent_->Client();
  auto reg = http.Put("/v1/jobs", JobBody("team/web"));
  ASSERT_TRUE(reg.ok());
  ASSERT_EQ(reg->status, 200) << reg->body;

  auto job = http.Get("/v1/job/team%2Fweb");
  ASSERT_TRUE(job.ok());
  ASSERT_EQ(job->status, 200) << job->body;
  EXPECT_EQ(Str(json::parse(job->body), "/ID"), "team/web");

  auto allocs = http.Get("/v1/job/team%2Fweb/allocations");
  ASSERT_TRUE(allocs.ok());
  ASSERT_EQ(allocs->status, 200);
  EXPECT_EQ(json::parse(allocs->body).as_array().size(), 1u) << allocs->body;

  // Registering through the job's own URL matches the decoded ID.
  auto again = http.Put("/v1/job/team%2Fweb", JobBody("team/web"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 200) << again->body;

  auto stop = http.Delete("/v1/job/team%2Fweb");
  ASSERT_TRUE(stop.ok());
  ASSERT_EQ(stop->status, 200) << stop->body;
  auto stopped = http.Get("/v1/job/team%2Fweb");
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(At(json::parse(stopped->body), "/Stop"), json::value(true)) << stopped->body;
  auto purge = http.Delete("/v1/job/team%2Fweb?purge=true");
  ASSERT_TRUE(purge.ok());
  EXPECT_EQ(purge->status, 200) << purge->body;
}

TEST_F(ValidationE2ETest, JobIDWithNewlineIsReadableAndCannotInjectLogLines) {
  const std::string id = "inj\n2026-01-01T00:00:00.000Z-[ERROR]-forged";
  HttpClient http = agent_->Client();
  auto reg = http.Put("/v1/jobs", JobBody(id));
  ASSERT_TRUE(reg.ok());
  ASSERT_EQ(reg->status, 200) << reg->body;

  auto job = http.Get("/v1/job/" + PercentEncode(id));
  ASSERT_TRUE(job.ok());
  ASSERT_EQ(job->status, 200) << job->body;
  EXPECT_EQ(Str(json::parse(job->body), "/ID"), id);
  auto stop = http.Delete("/v1/job/" + PercentEncode(id) + "?purge=true");
  ASSERT_TRUE(stop.ok());
  EXPECT_EQ(stop->status, 200) << stop->body;

  const std::string log = agent_->LogTail(1 << 20);
  EXPECT_NE(log.find("registered inj\\n2026-01-01T00:00:00.000Z-[ERROR]-forged"), std::string::npos)
      << log;
  EXPECT_EQ(log.find("\n2026-01-01T00:00:00.000Z-[ERROR]-forged"), std::string::npos)
      << "a request injected a log line:\n" << log;
}

// ---- The job list ---------------------------------------------------------------

TEST_F(ValidationE2ETest, JobListStubHasNomadsBooleans) {
  HttpClient http = agent_->Client();
  json::value periodic = json::parse(JobBody("stub-periodic"));
  json::object& pjob = periodic.as_object()["Job"].as_object();
  pjob["Type"] = "batch";
  pjob["Periodic"] = json::object{{"Enabled", true}, {"Spec", "0 0 1 1 *"}, {"SpecType", "cron"}};
  pjob["TaskGroups"].as_array()[0].as_object().erase("ReschedulePolicy");
  auto reg = http.Put("/v1/jobs", json::serialize(periodic));
  ASSERT_TRUE(reg.ok());
  ASSERT_EQ(reg->status, 200) << reg->body;
  auto plain = http.Put("/v1/jobs", JobBody("stub-plain"));
  ASSERT_TRUE(plain.ok());
  ASSERT_EQ(plain->status, 200) << plain->body;

  auto list = http.Get("/v1/jobs?prefix=stub-");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->status, 200);
  int seen = 0;
  const json::value stubs = json::parse(list->body);
  for (const auto& stub : stubs.as_array()) {
    SCOPED_TRACE(json::serialize(stub));
    ASSERT_TRUE(At(stub, "/Periodic").is_bool());
    ASSERT_TRUE(At(stub, "/ParameterizedJob").is_bool());
    EXPECT_EQ(At(stub, "/Periodic").as_bool(), Str(stub, "/ID") == "stub-periodic");
    EXPECT_FALSE(At(stub, "/ParameterizedJob").as_bool());
    ++seen;
  }
  EXPECT_EQ(seen, 2);
  for (const char* id : {"stub-periodic", "stub-plain"}) {
    auto purge = http.Delete(std::string("/v1/job/") + id + "?purge=true");
    ASSERT_TRUE(purge.ok());
  }
}

// ---- KillTimeout and client.max_kill_timeout ----------------------------------------

// An agent started with `--config` holding `config_json`.
Result<std::unique_ptr<AgentProcess>> LaunchWithConfig(
    const std::string& config_json, std::chrono::milliseconds ready_timeout = 30s) {
  AgentOptions options;
  options.config_json = config_json;
  options.ready_timeout = ready_timeout;
  return AgentProcess::Launch(options);
}

TEST(ValidationKillTimeoutE2ETest, HugeKillTimeoutIsCappedByMaxKillTimeout) {
  auto launched = LaunchWithConfig(R"({"client": {"max_kill_timeout": "1s"}})");
  ASSERT_TRUE(launched.ok()) << launched.status().ToString();
  std::unique_ptr<AgentProcess> agent = std::move(launched).value();
  HttpClient http = agent->Client();

  // The task ignores its kill signal and asks for 292 years to stop.
  const std::string body = JobBody("unstoppable", [](json::object& g) {
    FirstTask(g) = Task("t", "trap '' INT TERM; echo up > \"$NOMAD_ALLOC_DIR/up\"; "
                             "while :; do sleep 1; done");
    FirstTask(g)["KillTimeout"] = std::int64_t{9'200'000'000'000'000'000};
  });
  auto reg = http.Put("/v1/jobs", body);
  ASSERT_TRUE(reg.ok());
  ASSERT_EQ(reg->status, 200) << reg->body;

  std::string alloc_id;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = http.Get("/v1/job/unstoppable/allocations");
        if (!r.ok() || r->status != 200) return false;
        const json::value stubs = json::parse(r->body);
        for (const auto& a : stubs.as_array()) {
          if (Str(a, "/TaskStates/t/State") != "running") continue;
          alloc_id = Str(a, "/ID");
          return std::filesystem::exists(agent->data_dir() / "alloc" / alloc_id / "alloc" / "up");
        }
        return false;
      },
      60s))
      << agent->LogTail();
  // The job as stored keeps what was asked for, as in Nomad.
  auto job = http.Get("/v1/job/unstoppable");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(Int(json::parse(job->body), "/TaskGroups/0/Tasks/0/KillTimeout"),
            9'200'000'000'000'000'000);

  auto stop = http.Delete("/v1/job/unstoppable");
  ASSERT_TRUE(stop.ok());
  ASSERT_EQ(stop->status, 200);
  json::value alloc;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = http.Get("/v1/allocation/" + alloc_id);
        if (!r.ok() || r->status != 200) return false;
        alloc = json::parse(r->body);
        return Str(alloc, "/TaskStates/t/State") == "dead";
      },
      60s))
      << "the task outlived its capped kill timeout: " << json::serialize(alloc) << "\n"
      << agent->LogTail();
  bool killing_seen = false;
  for (const auto& e : At(alloc, "/TaskStates/t/Events").as_array()) {
    if (Str(e, "/Type") != "Killing") continue;
    killing_seen = true;
    EXPECT_EQ(Int(e, "/KillTimeout"), kSecond) << json::serialize(e);
  }
  EXPECT_TRUE(killing_seen) << json::serialize(alloc);
}

TEST(ValidationKillTimeoutE2ETest, BadMaxKillTimeoutIsRefusedAtStart) {
  auto launched = LaunchWithConfig(R"({"client": {"max_kill_timeout": "-5s"}})", 5s);
  EXPECT_FALSE(launched.ok()) << "an agent started with max_kill_timeout -5s";
}

// A retention age whose nanoseconds overflow is refused, not wrapped to a
// negative age that would fold the whole journal.
TEST(ValidationConfigE2ETest, HugeJournalMaxAgeIsRefusedAtStart) {
  auto launched = LaunchWithConfig(R"({"journal_max_age_seconds": 9223372036854775807})", 5s);
  EXPECT_FALSE(launched.ok()) << "an agent started with journal_max_age_seconds 2^63-1";
  auto fine = LaunchWithConfig(R"({"journal_max_age_seconds": 9223372036})");
  EXPECT_TRUE(fine.ok()) << fine.status().ToString();
}

}  // namespace
}  // namespace drover::testing
