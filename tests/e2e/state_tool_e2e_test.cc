// End-to-end: the state tooling on a real agent's data dir.
//
// A real scenario (a service job that runs and is stopped, a batch job
// whose task restarts once and then fails), then: `state dump` shows it
// while the agent runs, `state check` passes, `events replay` prints the
// history in order, `--at` reproduces an earlier dump exactly and the head
// equals the live state, `check` fails on a corrupted copy, and
// GET /v1/event/stream resumed from an index delivers every later journal
// entry exactly once, including ones committed while it streams.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "migrations/migrations.h"
#include "storage/state_store.h"
#include "tests/support/agent_process.h"
#include "tests/support/json_assert.h"
#include "tests/support/http_client.h"
#include "tests/support/stream_reader.h"

namespace drover::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

json::value JobRequest(const std::string& id, const std::string& type, const std::string& script,
                       int restart_attempts) {
  json::object task{
      {"Name", "t"},
      {"Driver", "raw_exec"},
      {"Config", json::object{{"command", "/bin/sh"}, {"args", json::array{"-c", script}}}}};
  json::object group{
      {"Name", "g"},
      {"Count", 1},
      {"RestartPolicy", json::object{{"Attempts", restart_attempts},
                                     {"Interval", 60 * kNanosPerSecond},
                                     {"Delay", kNanosPerSecond / 10},
                                     {"Mode", "fail"}}},
      {"ReschedulePolicy", json::object{{"Attempts", 0}, {"Unlimited", false}}},
      {"Tasks", json::array{task}}};
  return json::object{{"Job", json::object{{"ID", id},
                                           {"Name", id},
                                           {"Type", type},
                                           {"Datacenters", json::array{"dc1"}},
                                           {"TaskGroups", json::array{group}}}}};
}

std::uint64_t U64(const json::value& v, std::string_view ptr) {
  const json::value& x = At(v, ptr);
  if (x.is_uint64()) return x.get_uint64();
  if (x.is_int64()) return static_cast<std::uint64_t>(x.get_int64());
  return 0;
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the drover binary. The exit status travels through a file written
// by the shell: this process's reaper thread (agent_process.h) may reap
// the shell before pclose() could see its status.
CommandResult Drover(const std::vector<std::string>& args) {
  static int counter = 0;
  const fs::path tmp = fs::temp_directory_path() /
                       ("drover-e2e-cmd-" + std::to_string(::getpid()) + "-" +
                        std::to_string(counter++));
  fs::create_directories(tmp);
  std::string cmd = Quote(DROVER_BINARY);
  for (const auto& a : args) cmd += " " + Quote(a);
  cmd += " 2>" + Quote((tmp / "err").string()) + "; echo $? >" + Quote((tmp / "code").string());
  CommandResult r;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
    ::pclose(p);
  }
  std::ifstream(tmp / "code") >> r.exit_code;
  std::ifstream err(tmp / "err");
  r.err.assign(std::istreambuf_iterator<char>(err), {});
  fs::remove_all(tmp);
  return r;
}

std::string Describe(const CommandResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out.substr(0, 3000) +
         "\nstderr: " + r.err.substr(0, 2000);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// One event's identity, to compare the stream with the journal.
std::string EventId(const json::value& e) {
  return std::to_string(U64(e, "/Index")) + " " + Str(e, "/Topic") + " " + Str(e, "/Type") +
         " " + Str(e, "/Key");
}

class StateToolE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto agent = AgentProcess::Launch();
    ASSERT_TRUE(agent.ok()) << agent.status().ToString();
    agent_ = std::move(agent).value();
    data_dir_ = agent_->data_dir().string();
  }
  void TearDown() override {
    if (HasFailure() && agent_) std::cerr << "---- agent log ----\n" << agent_->LogTail(6000) << "\n";
  }

  json::value Call(const std::string& method, const std::string& path, const std::string& body = "") {
    HttpClient client = agent_->Client();
    auto r = client.Request(method, path, body);
    EXPECT_TRUE(r.ok()) << method << " " << path << ": " << r.status().ToString();
    if (!r.ok()) return nullptr;
    EXPECT_EQ(r->status, 200) << method << " " << path << ": " << r->body;
    auto v = ParseJson(r->body);
    return v.ok() ? *v : json::value(nullptr);
  }

  // The ID of job `job`'s allocation once its ClientStatus is `status`.
  std::string AllocOnce(const std::string& job, const std::string& status) {
    std::string id;
    WaitFor(
        [&] {
          json::value list = Call("GET", "/v1/allocations");
          if (!list.is_array()) return false;
          for (const auto& a : list.get_array()) {
            if (Str(a, "/JobID") == job && Str(a, "/ClientStatus") == status) {
              id = Str(a, "/ID");
              return true;
            }
          }
          return false;
        },
        30s, 100ms);
    return id;
  }

  json::value Json(const CommandResult& r) {
    auto v = ParseJson(r.out);
    EXPECT_TRUE(v.ok()) << Describe(r);
    return v.ok() ? *v : json::value(nullptr);
  }

  std::unique_ptr<AgentProcess> agent_;
  std::string data_dir_;
};

TEST_F(StateToolE2ETest, DumpCheckReplayAtAndStreamOnARealHistory) {
  // ---- The scenario.
  Call("PUT", "/v1/jobs", json::serialize(JobRequest("web", "service", "exec sleep 300", 2)));
  const std::string web = AllocOnce("web", "running");
  ASSERT_FALSE(web.empty());

  // An earlier state to reproduce later: a dump while web runs.
  const CommandResult early = Drover({"state", "dump", "--data-dir", data_dir_});
  ASSERT_EQ(early.exit_code, 0) << Describe(early);
  const json::value early_dump = Json(early);
  const std::uint64_t early_index = U64(early_dump, "/Index");
  ASSERT_GT(early_index, 0u);

  // A stream resumed from the current index, opened before the rest.
  const std::uint64_t resume_from = early_index;
  StreamReader stream(agent_->port(), "/v1/event/stream?index=" + std::to_string(resume_from));
  ASSERT_TRUE(stream.connected());

  Call("PUT", "/v1/jobs", json::serialize(JobRequest("fails", "batch", "exit 3", 1)));
  const std::string fails = AllocOnce("fails", "failed");
  ASSERT_FALSE(fails.empty()) << "the batch task never failed";
  Call("DELETE", "/v1/job/web");
  ASSERT_TRUE(WaitFor(
      [&] {
        json::value a = Call("GET", "/v1/allocation/" + web);
        return Str(a, "/ClientStatus") == "complete" && Str(a, "/TaskStates/t/State") == "dead";
      },
      30s, 100ms))
      << "web was not stopped";

  // ---- dump, while the agent runs.
  const CommandResult dump = Drover({"state", "dump", "--data-dir", data_dir_});
  ASSERT_EQ(dump.exit_code, 0) << Describe(dump);
  const json::value doc = Json(dump);
  EXPECT_EQ(U64(doc, "/SchemaVersion"), static_cast<std::uint64_t>(migrations::kSchemaVersion));
  const std::uint64_t head = U64(doc, "/Index");
  EXPECT_GT(head, early_index);
  EXPECT_LE(U64(doc, "/TableIndexes/allocs"), head);
  EXPECT_EQ(U64(doc, "/Journal/LastIndex"), head) << "every change is journaled";
  std::map<std::string, json::value> allocs;
  for (const auto& a : At(doc, "/Allocations").get_array()) allocs[Str(a, "/ID")] = a;
  ASSERT_TRUE(allocs.count(web) && allocs.count(fails)) << dump.out.substr(0, 2000);
  EXPECT_EQ(Str(allocs[web], "/DesiredStatus"), "stop");
  EXPECT_EQ(Str(allocs[web], "/ClientStatus"), "complete");
  EXPECT_EQ(Str(allocs[fails], "/ClientStatus"), "failed");
  EXPECT_EQ(U64(allocs[fails], "/TaskStates/t/Restarts"), 1u);
  EXPECT_EQ(At(allocs[fails], "/TaskStates/t/Failed"), json::value(true));
  EXPECT_TRUE(At(doc, "/TaskLocal").is_array());

  const CommandResult one =
      Drover({"state", "dump", "--data-dir", data_dir_, "--table", "allocs", "--id", fails.substr(0, 8)});
  ASSERT_EQ(one.exit_code, 0) << Describe(one);
  const json::value one_doc = Json(one);
  EXPECT_EQ(At(one_doc, "/Allocations").get_array().size(), 1u) << one.out.substr(0, 500);
  EXPECT_TRUE(At(one_doc, "/Jobs").is_null()) << "--table allocs printed jobs";

  // The tables the journal does not rebuild are dumped too.
  EXPECT_TRUE(At(doc, "/Deployments").is_array()) << dump.out.substr(0, 500);
  EXPECT_TRUE(At(doc, "/ScalingEvents").is_array());

  const CommandResult table = Drover({"state", "dump", "--data-dir", data_dir_, "--format", "table"});
  ASSERT_EQ(table.exit_code, 0) << Describe(table);
  EXPECT_NE(table.out.find("Schema version"), std::string::npos) << table.out;
  bool listed = false;
  for (const auto& line : Lines(table.out)) {
    listed = listed || (line.rfind(fails.substr(0, 8), 0) == 0 &&
                        line.find("failed") != std::string::npos &&
                        line.find("t=dead(failed)(1 restart)") != std::string::npos);
  }
  EXPECT_TRUE(listed) << table.out;

  // ---- check, while the agent runs.
  const CommandResult check = Drover({"state", "check", "--data-dir", data_dir_});
  EXPECT_EQ(check.exit_code, 0) << Describe(check);
  EXPECT_NE(check.out.find("state check passed"), std::string::npos) << check.out;

  // ---- replay: the timeline, in order.
  const CommandResult replay = Drover({"events", "replay", "--data-dir", data_dir_});
  ASSERT_EQ(replay.exit_code, 0) << Describe(replay);
  const auto timeline = Lines(replay.out);
  ASSERT_GT(timeline.size(), 5u);
  EXPECT_EQ(timeline[0].rfind("TIME", 0), 0u) << timeline[0];
  std::uint64_t last = 0;
  std::size_t registered_web = 0, deregistered_web = 0;
  for (std::size_t i = 1; i < timeline.size(); ++i) {
    std::istringstream fields(timeline[i]);
    std::string time, topic, type, key;
    std::uint64_t index = 0;
    fields >> time >> index >> topic >> type >> key;
    EXPECT_GE(index, last) << "out of order: " << timeline[i];
    last = index;
    if (type == "JobRegistered" && key == "web") registered_web = i;
    if (type == "JobDeregistered" && key == "web") deregistered_web = i;
  }
  EXPECT_EQ(last, head);
  EXPECT_GT(registered_web, 0u) << replay.out;
  EXPECT_GT(deregistered_web, registered_web) << replay.out;

  const CommandResult task =
      Drover({"events", "replay", "--data-dir", data_dir_, "--job", "fails", "--task", "t"});
  ASSERT_EQ(task.exit_code, 0) << Describe(task);
  EXPECT_NE(task.out.find("Terminated (exit 3)"), std::string::npos) << task.out;
  EXPECT_NE(task.out.find("Restarting"), std::string::npos) << task.out;
  EXPECT_NE(task.out.find("Not Restarting"), std::string::npos) << task.out;
  for (const auto& line : Lines(task.out)) {
    if (line.rfind("TIME", 0) == 0) continue;
    EXPECT_NE(line.find(" Allocation "), std::string::npos) << line;
    EXPECT_NE(line.find(fails.substr(0, 8)), std::string::npos) << line;
  }

  const CommandResult lines = Drover({"events", "replay", "--data-dir", data_dir_, "--json"});
  ASSERT_EQ(lines.exit_code, 0) << Describe(lines);
  std::vector<std::string> journal_ids;  // every entry from resume_from on
  for (const auto& line : Lines(lines.out)) {
    auto e = ParseJson(line);
    ASSERT_TRUE(e.ok()) << line;
    if (U64(*e, "/Index") >= resume_from) journal_ids.push_back(EventId(*e));
  }

  // ---- --at: an earlier state exactly, and the head equals the live state.
  const CommandResult at_early =
      Drover({"events", "replay", "--data-dir", data_dir_, "--at", std::to_string(early_index)});
  ASSERT_EQ(at_early.exit_code, 0) << Describe(at_early);
  const json::value early_rebuilt = Json(at_early);
  for (const char* table_name : {"/Jobs", "/Evaluations", "/Allocations", "/Nodes"}) {
    EXPECT_EQ(At(early_rebuilt, table_name), At(early_dump, table_name))
        << table_name << " at index " << early_index;
  }
  EXPECT_EQ(Str(early_rebuilt, "/Allocations/0/TaskStates/t/State"), "running");

  // ---- the stream: every entry from resume_from on, exactly once, then
  // one committed while it streams.
  ASSERT_TRUE(stream.ReadUntil(
      [&](const std::vector<std::string>& got) {
        std::size_t n = 0;
        for (const auto& l : got) {
          auto v = ParseJson(l);
          if (v.ok() && At(*v, "/Events").is_array()) n += At(*v, "/Events").get_array().size();
        }
        return n >= journal_ids.size();
      },
      20s))
      << "stream lines so far: " << stream.lines().size();
  EXPECT_EQ(stream.status(), 200);
  Call("PUT", "/v1/jobs", json::serialize(JobRequest("late", "batch", "true", 0)));
  ASSERT_TRUE(stream.ReadUntil(
      [&](const std::vector<std::string>& got) {
        return !got.empty() && got.back().find("\"late\"") != std::string::npos;
      },
      20s));
  std::vector<std::string> streamed;
  std::uint64_t previous_index = 0;
  for (const auto& l : stream.lines()) {
    auto v = ParseJson(l);
    ASSERT_TRUE(v.ok()) << l;
    if (v->is_object() && v->get_object().empty()) continue;  // heartbeat
    const std::uint64_t index = U64(*v, "/Index");
    EXPECT_GT(index, previous_index) << "an index was sent twice or out of order";
    previous_index = index;
    for (const auto& e : At(*v, "/Events").get_array()) {
      EXPECT_EQ(U64(e, "/Index"), index);
      streamed.push_back(EventId(e));
    }
  }
  ASSERT_GE(streamed.size(), journal_ids.size());
  EXPECT_EQ(std::vector<std::string>(streamed.begin(), streamed.begin() + journal_ids.size()),
            journal_ids);
  EXPECT_TRUE(std::any_of(streamed.begin() + journal_ids.size(), streamed.end(),
                          [](const std::string& id) { return id.ends_with(" Job JobRegistered late"); }))
      << "the job registered while streaming was not delivered";
  EXPECT_EQ(std::set<std::string>(streamed.begin(), streamed.end()).size(), streamed.size())
      << "an event was delivered twice";

  // Topic filters.
  StreamReader jobs_only(agent_->port(), "/v1/event/stream?topic=Job:web&index=1");
  ASSERT_TRUE(jobs_only.ReadUntil([](const auto& got) { return got.size() >= 2; }, 10s));
  for (const auto& l : jobs_only.lines()) {
    const auto line = ParseJson(l);
    ASSERT_TRUE(line.ok()) << l;
    if (!At(*line, "/Events").is_array()) continue;  // a heartbeat
    for (const auto& e : At(*line, "/Events").get_array()) {
      EXPECT_EQ(Str(e, "/Topic"), "Job");
      EXPECT_EQ(Str(e, "/Key"), "web");
    }
  }

  // ---- With the agent stopped: --at head == dump, check on a corrupted copy.
  ASSERT_TRUE(WaitFor([&] { return AllocOnce("late", "complete") != ""; }, 30s));
  // A variable is dumped without its Items (secrets); written here, after
  // the comparisons with the head, as it is a change of its own.
  Call("PUT", "/v1/var/app/db/creds", R"({"Items": {"user": "u", "pass": "s3cret-value"}})");
  const CommandResult vars = Drover({"state", "dump", "--data-dir", data_dir_, "--table", "variables"});
  ASSERT_EQ(vars.exit_code, 0) << Describe(vars);
  const json::value vars_doc = Json(vars);
  ASSERT_EQ(At(vars_doc, "/Variables").get_array().size(), 1u) << vars.out;
  EXPECT_EQ(Str(vars_doc, "/Variables/0/Path"), "app/db/creds");
  EXPECT_EQ(vars.out.find("s3cret-value"), std::string::npos) << vars.out;
  EXPECT_TRUE(At(vars_doc, "/Allocations").is_null()) << "--table variables printed allocations";
  const CommandResult namespaces =
      Drover({"state", "dump", "--data-dir", data_dir_, "--table", "namespaces", "--format", "ndjson"});
  ASSERT_EQ(namespaces.exit_code, 0) << Describe(namespaces);
  EXPECT_NE(namespaces.out.find("{\"Table\":\"namespaces\",\"Object\":{"), std::string::npos)
      << namespaces.out;

  ASSERT_TRUE(agent_->Stop().ok());
  const json::value final_dump = Json(Drover({"state", "dump", "--data-dir", data_dir_}));
  const std::uint64_t final_head = U64(final_dump, "/Index");
  const json::value at_head =
      Json(Drover({"events", "replay", "--data-dir", data_dir_, "--at", std::to_string(final_head)}));
  for (const char* table_name : {"/Jobs", "/Evaluations", "/Allocations", "/Nodes"}) {
    EXPECT_EQ(At(at_head, table_name), At(final_dump, table_name)) << table_name << " at the head";
  }
  EXPECT_EQ(Drover({"state", "check", "--data-dir", data_dir_}).exit_code, 0);

  const fs::path copy = fs::path(data_dir_).parent_path() / "corrupt";
  fs::create_directories(copy);
  fs::copy(fs::path(data_dir_) / "state", copy / "state", fs::copy_options::recursive);
  {
    auto store = StateStore::Open((copy / "state").string(), StoreOptions{migrations::All(), true});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    // The failed task's state rewritten without a journal event.
    auto written = (*store)->Apply([&](WriteTxn& txn) -> Status {
      ASSIGN_OR_RETURN(std::optional<Allocation> a, (*store)->GetAlloc(fails));
      if (!a) return NotFound("alloc " + fails);
      (*a->TaskStates)["t"].State = "running";
      a->ModifyIndex = txn.index();
      txn.PutAlloc(*a);
      return Status::Ok();
    });
    ASSERT_TRUE(written.ok()) << written.status().ToString();
  }
  const CommandResult bad = Drover({"state", "check", "--data-dir", copy.string()});
  EXPECT_EQ(bad.exit_code, 1) << Describe(bad);
  EXPECT_NE(bad.out.find("state check FAILED"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("allocation " + fails + " differs from its latest journal event"),
            std::string::npos)
      << bad.out;
  EXPECT_NE(bad.out.find("TaskStates.t.State: \"running\" vs journal \"dead\""), std::string::npos)
      << bad.out;

  // ---- Not a data dir.
  const CommandResult not_dir = Drover({"state", "dump", "--data-dir", copy.parent_path().string() + "/nowhere"});
  EXPECT_EQ(not_dir.exit_code, 1);
  EXPECT_NE(not_dir.err.find("no such directory"), std::string::npos) << not_dir.err;
  const CommandResult not_drover = Drover({"state", "check", "--data-dir", (copy / "state").string()});
  EXPECT_EQ(not_drover.exit_code, 3);  // unreadable, not "violations"
  EXPECT_NE(not_drover.err.find("is not a Drover data dir"), std::string::npos) << not_drover.err;
}

// The order in which `needles` appear in `text`: each must come after the
// one before. Returns the first needle out of place (or missing), "" if
// all are in order.
std::string FirstOutOfOrder(const std::string& text, const std::vector<std::string>& needles) {
  std::size_t at = 0;
  for (const auto& n : needles) {
    const std::size_t found = text.find(n, at);
    if (found == std::string::npos) return n;
    at = found + n.size();
  }
  return "";
}

TEST_F(StateToolE2ETest, WhyAndDiffTellARestartAnAgentKillAndAReschedule) {
  // A service task that fails after a second: one restart allowed, then
  // one reschedule.
  json::object task{
      {"Name", "t"},
      {"Driver", "raw_exec"},
      {"Config", json::object{{"command", "/bin/sh"}, {"args", json::array{"-c", "sleep 1; exit 3"}}}}};
  json::object group{
      {"Name", "g"},
      {"Count", 1},
      {"RestartPolicy", json::object{{"Attempts", 1},
                                     {"Interval", 3600 * kNanosPerSecond},
                                     {"Delay", kNanosPerSecond},
                                     {"Mode", "fail"}}},
      {"ReschedulePolicy", json::object{{"Attempts", 1},
                                        {"Interval", 3600 * kNanosPerSecond},
                                        {"Delay", 5 * kNanosPerSecond},  // Nomad's least
                                        {"DelayFunction", "constant"},
                                        {"Unlimited", false}}},
      {"Tasks", json::array{task}}};
  json::object job{{"Job", json::object{{"ID", "flaky"},
                                        {"Name", "flaky"},
                                        {"Type", "service"},
                                        {"Datacenters", json::array{"dc1"}},
                                        {"TaskGroups", json::array{group}}}}};
  Call("PUT", "/v1/jobs", json::serialize(job));
  const std::string first = AllocOnce("flaky", "running");
  ASSERT_FALSE(first.empty());

  // Once the restart policy has acted (one restart, running again), the
  // agent is killed and started again while the task runs on.
  ASSERT_TRUE(WaitFor(
      [&] {
        json::value a = Call("GET", "/v1/allocation/" + first);
        return U64(a, "/TaskStates/t/Restarts") == 1 && Str(a, "/TaskStates/t/State") == "running";
      },
      30s, 50ms))
      << "the task was not restarted";
  const json::value before_kill = Json(Drover({"state", "dump", "--data-dir", data_dir_, "--table", "allocs"}));
  const std::uint64_t from = U64(before_kill, "/Index");
  ASSERT_TRUE(agent_->Kill().ok());
  ASSERT_TRUE(agent_->Restart().ok());

  // The second failure exhausts the restarts; the reschedule places a
  // replacement.
  std::string next;
  ASSERT_TRUE(WaitFor(
      [&] {
        json::value a = Call("GET", "/v1/allocation/" + first);
        next = Str(a, "/NextAllocation");
        return !next.empty();
      },
      60s, 100ms))
      << "the allocation was not rescheduled";
  const std::string head_text = Drover({"state", "dump", "--data-dir", data_dir_, "--table", "jobs"}).out;
  const std::uint64_t head = U64(Json(CommandResult{0, head_text, ""}), "/Index");

  // ---- why: the story of the first allocation, in order.
  const CommandResult why = Drover({"events", "why", "--data-dir", data_dir_, first.substr(0, 8)});
  ASSERT_EQ(why.exit_code, 0) << Describe(why);
  EXPECT_NE(why.out.find("Allocation " + first + " flaky.g[0] of job default/flaky"), std::string::npos)
      << why.out;
  EXPECT_NE(why.out.find("Now: desired stop, client failed; task t dead (failed), 1 restart"),
            std::string::npos)
      << why.out;
  const std::string out_of_order = FirstOutOfOrder(
      why.out, {"placed on node", "(job-register), job version 0",
                "task t: Started: Task started by client",
                "task t: Terminated: Exit Code: 3",
                "task t: Restarting: Task restarting in ",
                "(restart 1 of 1 allowed in 1h0m0s, mode fail)",
                "task t: Started",
                "task t: Terminated: Exit Code: 3",
                "task t: Not Restarting: Exceeded allowed attempts 1 in interval 1h0m0s",
                "client status running -> failed",
                "the reschedule policy asks for a replacement: follow-up evaluation",
                "waits 5s",
                "replacement allocation " + next.substr(0, 8) + " (flaky.g[0]) placed by evaluation",
                "(alloc-failure)",
                "desired status run -> stop: alloc was rescheduled because it failed",
                "replaced by allocation " + next.substr(0, 8),
                "(alloc-failure) complete"});
  EXPECT_EQ(out_of_order, "") << "missing or out of order in:\n" << why.out;
  // The agent came back after the second start; the task's second exit may
  // come before or after that, as the kill and restart take their time.
  const std::size_t second_start =
      why.out.find("task t: Started", why.out.find("task t: Started") + 1);
  const std::size_t restarted = why.out.find("agent started: node");
  ASSERT_NE(second_start, std::string::npos) << why.out;
  ASSERT_NE(restarted, std::string::npos) << why.out;
  EXPECT_GT(restarted, second_start) << why.out;

  // One task only; an unknown task is an error that says so.
  const CommandResult why_task = Drover({"events", "why", "--data-dir", data_dir_, first, "t"});
  ASSERT_EQ(why_task.exit_code, 0) << Describe(why_task);
  EXPECT_NE(why_task.out.find("task t: Not Restarting"), std::string::npos) << why_task.out;
  const CommandResult no_task = Drover({"events", "why", "--data-dir", data_dir_, first, "nope"});
  EXPECT_EQ(no_task.exit_code, 1);
  EXPECT_NE(no_task.err.find("has no task \"nope\""), std::string::npos) << Describe(no_task);
  const CommandResult no_alloc = Drover({"events", "why", "--data-dir", data_dir_, "ffffffff"});
  EXPECT_EQ(no_alloc.exit_code, 1);
  EXPECT_NE(no_alloc.err.find("no allocation with ID ffffffff"), std::string::npos) << Describe(no_alloc);

  // ---- diff: from just before the kill to the head.
  const CommandResult diff = Drover({"events", "diff", "--data-dir", data_dir_, "--from",
                                     std::to_string(from), "--to", std::to_string(head)});
  ASSERT_EQ(diff.exit_code, 0) << Describe(diff);
  std::string diff_order = FirstOutOfOrder(
      diff.out, {"Changes after index " + std::to_string(from) + " through index " + std::to_string(head),
                 "+ evaluation ", "(alloc-failure, job flaky) added",
                 "~ allocation " + first + " (flaky.g[0]) changed",
                 "ClientStatus", "running -> failed"});
  EXPECT_EQ(diff_order, "") << diff.out;
  for (const std::string& line :
       {std::string("DesiredStatus"), std::string("run -> stop"), std::string("NextAllocation"),
        "\"\" -> " + next, std::string("TaskStates.t.Failed"), std::string("false -> true"),
        std::string("+ Not Restarting: Exceeded allowed attempts 1"),
        "+ allocation " + next + " (flaky.g[0]) added at index"}) {
    EXPECT_NE(diff.out.find(line), std::string::npos) << line << " not in:\n" << diff.out;
  }
  // The restart happened before `from`: not a change in this window.
  EXPECT_EQ(diff.out.find("TaskStates.t.Restarts"), std::string::npos) << diff.out;

  // Only the first allocation.
  const CommandResult one = Drover({"events", "diff", "--data-dir", data_dir_, "--from",
                                    std::to_string(from), "--to", std::to_string(head), "--alloc",
                                    first.substr(0, 8)});
  ASSERT_EQ(one.exit_code, 0) << Describe(one);
  EXPECT_NE(one.out.find("~ allocation " + first), std::string::npos) << one.out;
  EXPECT_EQ(one.out.find("+ allocation"), std::string::npos) << one.out;
  EXPECT_NE(one.out.find("1 changed, 0 added, 0 removed"), std::string::npos) << one.out;

  // Nothing between an index and itself; backwards is a usage error.
  const CommandResult same = Drover({"events", "diff", "--data-dir", data_dir_, "--from",
                                     std::to_string(head), "--to", std::to_string(head)});
  EXPECT_NE(same.out.find("No changes."), std::string::npos) << Describe(same);
  const CommandResult back = Drover({"events", "diff", "--data-dir", data_dir_, "--from",
                                     std::to_string(head), "--to", std::to_string(from)});
  EXPECT_EQ(back.exit_code, 2) << Describe(back);
}

}  // namespace
}  // namespace drover::testing
