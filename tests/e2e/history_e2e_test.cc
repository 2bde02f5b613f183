// End-to-end: GET /v1/drover/allocation/:id/history and
// GET /v1/drover/job/:id/history on a real agent. A task crashes and is
// restarted by its policy, the agent is killed and started again in
// between; the history lists every journal event of the allocation in
// order, each as the event stream emits it; a blocking call wakes when the
// next event lands; ?at= gives the allocation as it was.
#include <boost/json.hpp>
#include <chrono>
#include <future>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/codec.h"
#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"
#include "tests/support/json_assert.h"
#include "tests/support/stream_reader.h"

namespace drover::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

std::uint64_t U64(const json::value& v, std::string_view ptr) {
  const json::value& x = At(v, ptr);
  if (x.is_uint64()) return x.get_uint64();
  if (x.is_int64()) return static_cast<std::uint64_t>(x.get_int64());
  return 0;
}

class HistoryE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto agent = AgentProcess::Launch();
    ASSERT_TRUE(agent.ok()) << agent.status().ToString();
    agent_ = std::move(agent).value();
  }
  void TearDown() override {
    if (HasFailure() && agent_) std::cerr << "---- agent log ----\n" << agent_->LogTail(6000) << "\n";
  }

  HttpResponse Get(const std::string& path, std::chrono::milliseconds timeout = 15s) {
    HttpClient client = agent_->Client(timeout);
    auto r = client.Get(path);
    EXPECT_TRUE(r.ok()) << path << ": " << r.status().ToString();
    return r.ok() ? *r : HttpResponse{};
  }

  json::value GetJson(const std::string& path) {
    HttpResponse r = Get(path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    auto v = ParseJson(r.body);
    return v.ok() ? *v : json::value(nullptr);
  }

  static std::uint64_t IndexHeader(const HttpResponse& r) {
    auto v = r.headers.Get("X-Nomad-Index");
    return v ? std::strtoull(std::string(*v).c_str(), nullptr, 10) : 0;
  }

  std::unique_ptr<AgentProcess> agent_;
};

TEST_F(HistoryE2ETest, CrashRestartAndAgentKillAreListedInOrderAndBlockingWakes) {
  // Crashes after two seconds; two restarts allowed, then the task fails.
  json::object task{
      {"Name", "t"},
      {"Driver", "raw_exec"},
      {"Config", json::object{{"command", "/bin/sh"}, {"args", json::array{"-c", "sleep 2; exit 3"}}}}};
  json::object group{
      {"Name", "g"},
      {"Count", 1},
      {"RestartPolicy", json::object{{"Attempts", 2},
                                     {"Interval", 3600 * kNanosPerSecond},
                                     {"Delay", kNanosPerSecond},
                                     {"Mode", "fail"}}},
      {"ReschedulePolicy", json::object{{"Attempts", 0}, {"Unlimited", false}}},
      {"Tasks", json::array{task}}};
  json::object job{{"Job", json::object{{"ID", "crashy"},
                                        {"Name", "crashy"},
                                        {"Type", "service"},
                                        {"Datacenters", json::array{"dc1"}},
                                        {"TaskGroups", json::array{group}}}}};
  {
    HttpClient client = agent_->Client();
    auto r = client.Put("/v1/jobs", json::serialize(job));
    ASSERT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().ToString());
  }
  std::string id;
  ASSERT_TRUE(WaitFor(
      [&] {
        json::value list = GetJson("/v1/job/crashy/allocations");
        if (!list.is_array() || list.get_array().empty()) return false;
        id = Str(list.get_array()[0], "/ID");
        json::value a = GetJson("/v1/allocation/" + id);
        return U64(a, "/TaskStates/t/Restarts") == 1 && Str(a, "/TaskStates/t/State") == "running";
      },
      30s, 50ms))
      << "the task was not restarted once";
  const std::string path = "/v1/drover/allocation/" + id + "/history";

  // The allocation after one restart, and the index of its latest event
  // (read until no event landed in between): for ?at= below.
  json::value at_one;
  std::uint64_t one_restart = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        at_one = GetJson("/v1/allocation/" + id);
        HttpResponse h = Get(path);
        EXPECT_EQ(h.status, 200) << h.body;
        one_restart = IndexHeader(h);
        return one_restart == U64(at_one, "/ModifyIndex");
      },
      10s, 10ms));

  // The agent dies while the task runs on; a new agent adopts it.
  ASSERT_TRUE(agent_->Kill().ok());
  ASSERT_TRUE(agent_->Restart().ok());

  // A blocking call from the latest index wakes with the next event (the
  // task's next crash), not at its wait.
  HttpResponse now = Get(path);
  ASSERT_EQ(now.status, 200);
  const std::uint64_t before = IndexHeader(now);
  auto blocked = std::async(std::launch::async, [&] {
    return Get(path + "?index=" + std::to_string(before) + "&wait=120s", 150s);
  });
  HttpResponse woke = blocked.get();
  ASSERT_EQ(woke.status, 200) << woke.body;
  EXPECT_GT(IndexHeader(woke), before);
  auto woke_body = ParseJson(woke.body);
  ASSERT_TRUE(woke_body.ok());
  EXPECT_EQ(U64(*woke_body, "/Index"), IndexHeader(woke));
  const json::array& woke_events = At(*woke_body, "/Events").get_array();
  ASSERT_FALSE(woke_events.empty());
  EXPECT_EQ(U64(woke_events.back(), "/Index"), IndexHeader(woke));

  // Until the restarts are spent and the allocation failed.
  ASSERT_TRUE(WaitFor([&] { return Str(GetJson("/v1/allocation/" + id), "/ClientStatus") == "failed"; },
                      60s, 100ms));
  HttpResponse last = Get(path);
  ASSERT_EQ(last.status, 200);
  auto body = ParseJson(last.body);
  ASSERT_TRUE(body.ok()) << last.body;
  const json::array& events = At(*body, "/Events").get_array();
  EXPECT_EQ(U64(*body, "/SnapshotIndex"), 0u);
  EXPECT_EQ(U64(*body, "/NextIndex"), 0u);

  // Every event of the allocation, in journal order, each as the event
  // stream emits it (plus its Time).
  StreamReader stream(agent_->port(), "/v1/event/stream?topic=Allocation:" + id + "&index=1");
  ASSERT_TRUE(stream.connected());
  const std::uint64_t head = IndexHeader(last);
  std::vector<json::value> streamed;
  ASSERT_TRUE(stream.ReadUntil(
      [&](const std::vector<std::string>& lines) {
        streamed.clear();
        for (const std::string& line : lines) {
          auto v = ParseJson(line);
          if (!v.ok() || !v->is_object() || !v->get_object().contains("Events")) continue;
          for (const auto& e : At(*v, "/Events").get_array()) streamed.push_back(e);
        }
        return !streamed.empty() && U64(streamed.back(), "/Index") >= head;
      },
      30s));
  ASSERT_EQ(events.size(), streamed.size()) << last.body;
  std::uint64_t prev = 0;
  std::int64_t prev_time = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    json::object e = events[i].get_object();
    const std::int64_t time = e.at("Time").to_number<std::int64_t>();
    EXPECT_GE(time, prev_time) << "event " << i;
    EXPECT_GE(U64(e, "/Index"), prev);
    prev = U64(e, "/Index");
    prev_time = time;
    e.erase("Time");
    EXPECT_EQ(json::value(e), streamed[i]) << "event " << i;
  }
  EXPECT_EQ(Str(events.front(), "/Type"), "PlanResult");
  // The task's own story, as the last event carries it: three starts,
  // three crashes, two restarts, then the policy gives up.
  std::vector<std::string> types;
  for (const auto& te : At(events.back(), "/Payload/Allocation/TaskStates/t/Events").get_array()) {
    types.push_back(Str(te, "/Type"));
  }
  EXPECT_EQ(std::count(types.begin(), types.end(), "Started"), 3) << last.body;
  EXPECT_EQ(std::count(types.begin(), types.end(), "Terminated"), 3);
  EXPECT_EQ(std::count(types.begin(), types.end(), "Restarting"), 2);
  EXPECT_EQ(types.back(), "Not Restarting");

  // ?at= the index after the first restart: the allocation as it then was.
  json::value at = GetJson(path + "?at=" + std::to_string(one_restart));
  const json::value& then = At(at, "/At/Allocation");
  EXPECT_EQ(U64(at, "/At/Index"), one_restart);
  EXPECT_EQ(U64(then, "/ModifyIndex"), U64(at_one, "/ModifyIndex"));
  EXPECT_EQ(U64(then, "/TaskStates/t/Restarts"), 1u);
  EXPECT_EQ(Str(then, "/TaskStates/t/State"), "running");
  EXPECT_EQ(Str(then, "/ClientStatus"), "running");
  EXPECT_EQ(At(then, "/TaskStates/t/Events"), At(at_one, "/TaskStates/t/Events"));
  EXPECT_EQ(Str(then, "/Job/ID"), "crashy");

  // The job's history: its registration first, its evaluation and this
  // allocation's events among the rest.
  json::value jh = GetJson("/v1/drover/job/crashy/history");
  const json::array& job_events = At(jh, "/Events").get_array();
  ASSERT_GE(job_events.size(), events.size() + 2);
  EXPECT_EQ(Str(job_events.front(), "/Topic"), "Job");
  EXPECT_EQ(Str(job_events.front(), "/Type"), "JobRegistered");
  std::size_t of_alloc = 0;
  for (const auto& e : job_events) of_alloc += Str(e, "/Key") == id;
  EXPECT_EQ(of_alloc, events.size());

  // Bad requests change nothing and say why.
  HttpResponse bad = Get(path + "?at=soon");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("Invalid at"), std::string::npos) << bad.body;
  bad = Get(path + "?at=99999999999999999999999");
  EXPECT_EQ(bad.status, 400) << bad.body;
  HttpResponse missing = Get("/v1/drover/allocation/00000000-0000-4000-8000-000000000000/history");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("alloc not found"), std::string::npos) << missing.body;
  missing = Get("/v1/drover/job/crashy/history?namespace=elsewhere");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("job not found"), std::string::npos) << missing.body;
}

// The agent folds the journal past its retention on its compactor thread,
// a second after it starts: the history then starts after the snapshot,
// still ends at the job's latest event, and the agent stops at once.
TEST(HistoryRetentionE2ETest, AgentFoldsTheJournalPastItsRetentionAfterStart) {
  AgentOptions options;
  options.config_json = R"({"journal_max_events": 2})";
  auto launched = AgentProcess::Launch(options);
  ASSERT_TRUE(launched.ok()) << launched.status().ToString();
  std::unique_ptr<AgentProcess> agent = std::move(launched).value();
  HttpClient client = agent->Client();
  json::object task{{"Name", "t"},
                    {"Driver", "raw_exec"},
                    {"Config", json::object{{"command", "/bin/true"}}}};
  json::object job{{"Job", json::object{{"ID", "quick"},
                                        {"Name", "quick"},
                                        {"Type", "batch"},
                                        {"Datacenters", json::array{"dc1"}},
                                        {"TaskGroups", json::array{json::object{
                                            {"Name", "g"}, {"Count", 1}, {"Tasks", json::array{task}}}}}}}};
  auto put = client.Put("/v1/jobs", json::serialize(job));
  ASSERT_TRUE(put.ok() && put->status == 200) << (put.ok() ? put->body : put.status().ToString());
  std::string id;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto list = client.Get("/v1/job/quick/allocations");
        if (!list.ok() || list->status != 200) return false;
        auto v = ParseJson(list->body);
        if (!v.ok() || !v->is_array() || v->get_array().empty()) return false;
        id = Str(v->get_array()[0], "/ID");
        return Str(v->get_array()[0], "/ClientStatus") == "complete";
      },
      30s, 50ms))
      << agent->LogTail();

  // The fold a second after this start finds more than 2 entries.
  ASSERT_TRUE(agent->Restart().ok()) << agent->LogTail();
  const std::string path = "/v1/drover/allocation/" + id + "/history";
  json::value body;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = client.Get(path);
        if (!r.ok() || r->status != 200) return false;
        auto v = ParseJson(r->body);
        if (!v.ok()) return false;
        body = *v;
        return U64(body, "/SnapshotIndex") > 0;
      },
      15s, 100ms))
      << agent->LogTail();
  EXPECT_NE(agent->LogTail(20000).find("journal: folded"), std::string::npos) << agent->LogTail();
  // The allocation's latest change is its history's index, whether its
  // events were folded or not; nothing left is older than the snapshot.
  auto alloc = client.Get("/v1/allocation/" + id);
  ASSERT_TRUE(alloc.ok() && alloc->status == 200);
  auto a = ParseJson(alloc->body);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(U64(body, "/Index"), U64(*a, "/ModifyIndex")) << json::serialize(body);
  for (const json::value& e : At(body, "/Events").as_array()) {
    EXPECT_GT(U64(e, "/Index"), U64(body, "/SnapshotIndex")) << json::serialize(e);
  }
  EXPECT_TRUE(agent->Stop(5s).ok()) << agent->LogTail();
}

}  // namespace
}  // namespace drover::testing
