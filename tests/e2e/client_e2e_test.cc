// End-to-end: the client endpoints with the real `drover agent` and real
// task processes: node metadata (set, unset, persistence, validation),
// host and allocation stats, allocation directory GC (forced and over
// gc_max_allocs), and Nomad-native service registrations.
//
// Nothing asserts on exact figures: a busy loop must show CPU use, a shell
// holding 50 MB must show at least that much RSS. Every wait polls with a
// generous timeout, because the machine is shared.
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/agent_process.h"
#include "tests/support/json_assert.h"
#include "tests/support/http_client.h"

namespace drover::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::int64_t kSecond = 1'000'000'000;
constexpr auto kWait = 30s;

// ---- Helpers ------------------------------------------------------------------

double Num(const json::value& v, std::string_view ptr) {
  const json::value& x = At(v, ptr);
  return x.is_number() ? x.to_number<double>() : -1;
}

// A service job of one group; each task is a /bin/sh script. `services`
// goes into the first task, `group_services` into the group.
json::value Job(std::string_view id, const std::vector<std::pair<std::string, std::string>>& tasks,
                json::array services = {}, json::array group_services = {},
                std::string_view type = "service") {
  json::array task_list;
  for (const auto& [name, script] : tasks) {
    json::object t{{"Name", name},
                   {"Driver", "raw_exec"},
                   {"Config", json::object{{"command", "/bin/sh"},
                                           {"args", json::array{"-c", script}}}},
                   {"KillTimeout", 2 * kSecond}};
    if (task_list.empty() && !services.empty()) t["Services"] = services;
    task_list.push_back(std::move(t));
  }
  json::object group{{"Name", "g"},
                     {"Count", 1},
                     {"RestartPolicy", json::object{{"Attempts", 0},
                                                    {"Interval", 60 * kSecond},
                                                    {"Delay", kSecond / 10},
                                                    {"Mode", "fail"}}},
                     {"ReschedulePolicy", json::object{{"Attempts", 0}, {"Unlimited", false}}},
                     {"Tasks", std::move(task_list)}};
  if (!group_services.empty()) group["Services"] = group_services;
  return json::object{{"Job", json::object{{"ID", id},
                                           {"Name", id},
                                           {"Type", type},
                                           {"Datacenters", json::array{"dc1"}},
                                           {"TaskGroups", json::array{group}}}}};
}

class ClientTest : public ::testing::Test {
 protected:
  void Launch(const std::string& config_json = "") {
    AgentOptions options;
    options.config_json = config_json;
    auto agent = AgentProcess::Launch(options);
    ASSERT_TRUE(agent.ok()) << agent.status().ToString();
    agent_ = std::move(*agent);
    client_ = std::make_unique<HttpClient>(agent_->Client());
  }

  void TearDown() override {
    if (HasFailure() && agent_) std::cerr << "agent log:\n" << agent_->LogTail() << "\n";
  }

  HttpResponse Call(std::string_view method, std::string_view path, std::string_view body = {}) {
    auto r = client_->Request(method, path, body);
    EXPECT_TRUE(r.ok()) << method << " " << path << ": " << r.status().ToString();
    return r.ok() ? *r : HttpResponse{};
  }

  json::value GetJson(std::string_view path) {
    HttpResponse r = Call("GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    auto v = ParseJson(r.body);
    return v.ok() ? *v : json::value();
  }

  // Registers the job and returns its (single) allocation.
  std::string SubmitJob(const json::value& job) {
    HttpResponse r = Call("PUT", "/v1/jobs", json::serialize(job));
    EXPECT_EQ(r.status, 200) << r.body;
    const std::string job_id = Str(job, "/Job/ID");
    json::value allocs = GetJson("/v1/job/" + job_id + "/allocations");
    EXPECT_TRUE(allocs.is_array() && allocs.get_array().size() == 1) << json::serialize(allocs);
    return allocs.is_array() && !allocs.get_array().empty()
               ? Str(allocs.get_array().front(), "/ID")
               : std::string();
  }

  // Registers the job and returns its allocation once `task` runs.
  std::string RunJob(const json::value& job, const std::string& task) {
    const std::string alloc_id = SubmitJob(job);
    bool running = WaitFor(
        [&] {
          return Str(GetJson("/v1/allocation/" + alloc_id), "/TaskStates/" + task + "/State") ==
                 "running";
        },
        kWait, 50ms);
    EXPECT_TRUE(running) << "task " << task << " of alloc " << alloc_id << " never ran";
    return alloc_id;
  }

  std::string AllocStatus(const std::string& alloc_id) {
    return Str(GetJson("/v1/allocation/" + alloc_id), "/ClientStatus");
  }

  std::string NodeID() { return Str(GetJson("/v1/agent/self"), "/stats/client/node_id"); }

  fs::path AllocDir(const std::string& alloc_id) {
    return agent_->data_dir() / "alloc" / alloc_id;
  }

  std::unique_ptr<AgentProcess> agent_;
  std::unique_ptr<HttpClient> client_;
};

// ---- Metadata -------------------------------------------------------------------

TEST_F(ClientTest, MetadataSetUnsetPersist) {
  Launch(R"({"client": {"meta": {"rack": "r1", "zone": "z1"}}})");

  json::value meta = GetJson("/v1/client/metadata");
  EXPECT_EQ(json::serialize(At(meta, "/Static")), R"({"rack":"r1","zone":"z1"})");
  EXPECT_EQ(json::serialize(At(meta, "/Dynamic")), "{}");
  EXPECT_EQ(json::serialize(At(meta, "/Meta")), R"({"rack":"r1","zone":"z1"})");

  // Set a new key, override a static one, set an empty value.
  HttpResponse r = Call("POST", "/v1/client/metadata",
                        R"({"Meta": {"connect.log_level": "debug", "rack": "r2", "empty": ""}})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_OK_AND_ASSIGN(json::value applied, ParseJson(r.body));
  EXPECT_EQ(Str(applied, "/Meta/connect.log_level"), "debug");
  EXPECT_EQ(Str(applied, "/Meta/rack"), "r2");
  EXPECT_EQ(Str(applied, "/Meta/empty"), "");
  EXPECT_EQ(Str(applied, "/Static/rack"), "r1");

  // Unset: a dynamic key goes away; a static key leaves a null tombstone.
  r = Call("POST", "/v1/client/metadata", R"({"Meta": {"connect.log_level": null, "zone": null}})");
  ASSERT_EQ(r.status, 200) << r.body;
  meta = GetJson("/v1/client/metadata");
  EXPECT_EQ(json::serialize(At(meta, "/Meta")), R"({"empty":"","rack":"r2"})");
  EXPECT_EQ(json::serialize(At(meta, "/Dynamic")), R"({"empty":"","rack":"r2","zone":null})");

  // The Node object carries the merge, at a new index.
  const std::string node_id = NodeID();
  json::value node = GetJson("/v1/node/" + node_id);
  EXPECT_EQ(json::serialize(At(node, "/Meta")), R"({"empty":"","rack":"r2"})");

  // Dynamic metadata survives a restart, and the Node keeps the merge.
  ASSERT_OK(agent_->Restart());
  client_ = std::make_unique<HttpClient>(agent_->Client());
  meta = GetJson("/v1/client/metadata?node_id=" + node_id);
  EXPECT_EQ(json::serialize(At(meta, "/Meta")), R"({"empty":"","rack":"r2"})");
  EXPECT_EQ(json::serialize(At(meta, "/Dynamic")), R"({"empty":"","rack":"r2","zone":null})");
  node = GetJson("/v1/node/" + node_id);
  EXPECT_EQ(json::serialize(At(node, "/Meta")), R"({"empty":"","rack":"r2"})");
}

TEST_F(ClientTest, MetadataRejectsBadKeysAndOtherNodes) {
  Launch();
  HttpResponse r = Call("POST", "/v1/client/metadata", R"({"Meta": {"some/path": "x"}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("\"some/path\" is invalid; metadata keys must be valid dotted hcl "
                        "identifiers"),
            std::string::npos)
      << r.body;
  r = Call("POST", "/v1/client/metadata", R"({"Meta": {}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("missing required Meta object"), std::string::npos) << r.body;
  // Nothing was written.
  EXPECT_EQ(json::serialize(At(GetJson("/v1/client/metadata"), "/Dynamic")), "{}");

  const std::string other = "00000000-0000-0000-0000-000000000000";
  for (const std::string path : {"/v1/client/metadata", "/v1/client/stats", "/v1/client/gc"}) {
    r = Call("GET", path + "?node_id=" + other);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_NE(r.body.find("Unknown node " + other), std::string::npos) << path << ": " << r.body;
  }
  r = Call("GET", "/v1/client/stats?node_id=" + NodeID());
  EXPECT_EQ(r.status, 200);
}

// ---- Stats ------------------------------------------------------------------------

TEST_F(ClientTest, HostStats) {
  Launch();
  // The first tick has no delta yet; a later one has.
  std::this_thread::sleep_for(1500ms);
  json::value s = GetJson("/v1/client/stats");
  ASSERT_TRUE(At(s, "/CPU").is_array());
  EXPECT_GE(At(s, "/CPU").get_array().size(), 1u);
  EXPECT_EQ(Str(s, "/CPU/0/CPU"), "cpu0");
  EXPECT_NEAR(Num(s, "/CPU/0/Idle") + Num(s, "/CPU/0/Total"), 100, 0.01);
  EXPECT_GT(Num(s, "/Memory/Total"), 0);
  EXPECT_GT(Num(s, "/Memory/Available"), 0);
  EXPECT_NEAR(Num(s, "/Memory/Used"), Num(s, "/Memory/Total") - Num(s, "/Memory/Available"), 1);
  EXPECT_GT(Num(s, "/DiskStats/0/Size"), 0);
  EXPECT_FALSE(Str(s, "/DiskStats/0/Mountpoint").empty());
  EXPECT_GT(Num(s, "/AllocDirStats/Size"), 0);
  EXPECT_GT(Num(s, "/Uptime"), 0);
  EXPECT_GT(Num(s, "/Timestamp"), 1.6e18);
  EXPECT_GE(Num(s, "/CPUTicksConsumed"), 0);
}

TEST_F(ClientTest, AllocStatsBusyAndMemoryTasks) {
  Launch();
  const std::string alloc_id = RunJob(
      Job("stats",
          {{"busy", "while :; do :; done"},
           {"mem", "x=$(head -c 50000000 /dev/zero | tr '\\0' a); sleep 300"},
           {"idle", "exec sleep 300"}}),
      "busy");
  // The memory task has filled its variable once its RSS passes 50 MB.
  json::value s;
  bool filled = WaitFor(
      [&] {
        s = GetJson("/v1/client/allocation/" + alloc_id + "/stats");
        return Num(s, "/Tasks/mem/ResourceUsage/MemoryStats/RSS") > 50e6;
      },
      kWait, 200ms);
  EXPECT_TRUE(filled) << json::serialize(s);
  EXPECT_GT(Num(s, "/Tasks/busy/ResourceUsage/CpuStats/Percent"), 20) << json::serialize(s);
  EXPECT_GT(Num(s, "/Tasks/busy/ResourceUsage/CpuStats/TotalTicks"), 0);
  EXPECT_LT(Num(s, "/Tasks/idle/ResourceUsage/CpuStats/Percent"), 20);
  EXPECT_GE(Num(s, "/ResourceUsage/MemoryStats/RSS"),
            Num(s, "/Tasks/mem/ResourceUsage/MemoryStats/RSS"));
  EXPECT_GE(Num(s, "/ResourceUsage/CpuStats/Percent"),
            Num(s, "/Tasks/busy/ResourceUsage/CpuStats/Percent"));
  EXPECT_GT(Num(s, "/Timestamp"), 1.6e18);
  EXPECT_EQ(Str(s, "/ResourceUsage/MemoryStats/Measured/0"), "RSS");

  // The task filter.
  s = GetJson("/v1/client/allocation/" + alloc_id + "/stats?task=busy");
  ASSERT_TRUE(At(s, "/Tasks").is_object());
  EXPECT_EQ(At(s, "/Tasks").get_object().size(), 1u);
  EXPECT_TRUE(At(s, "/Tasks/busy").is_object());

  HttpResponse r = Call("GET", "/v1/client/allocation/no-such-alloc/stats");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("Unknown allocation \"no-such-alloc\""), std::string::npos) << r.body;
}

// ---- GC ---------------------------------------------------------------------------------

TEST_F(ClientTest, GcDestroysTerminalAllocDirOnly) {
  Launch();
  const std::string alloc_id = RunJob(Job("gc", {{"t", "exec sleep 300"}}), "t");
  ASSERT_TRUE(fs::exists(AllocDir(alloc_id)));

  // A running allocation is not eligible: Nomad's error, nothing removed.
  HttpResponse r = Call("GET", "/v1/client/allocation/" + alloc_id + "/gc");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("No such allocation on client, or allocation not eligible for GC"),
            std::string::npos)
      << r.body;
  EXPECT_TRUE(fs::exists(AllocDir(alloc_id)));

  r = Call("DELETE", "/v1/job/gc");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(WaitFor([&] { return AllocStatus(alloc_id) == "complete"; }, kWait, 50ms));

  r = Call("GET", "/v1/client/allocation/" + alloc_id + "/gc");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "") << "Nomad's answer is empty; Go's client cannot decode null";
  EXPECT_FALSE(fs::exists(AllocDir(alloc_id)));
  EXPECT_FALSE(fs::exists(agent_->data_dir() / "executor" / alloc_id));
  // The allocation itself stays.
  EXPECT_EQ(AllocStatus(alloc_id), "complete");
  json::value allocs = GetJson("/v1/allocations");
  ASSERT_TRUE(allocs.is_array());
  EXPECT_EQ(allocs.get_array().size(), 1u);

  r = Call("GET", "/v1/client/allocation/" + alloc_id + "/gc");  // already collected
  EXPECT_EQ(r.status, 500);
  r = Call("GET", "/v1/client/allocation/unknown/gc");
  EXPECT_EQ(r.status, 404);
}

TEST_F(ClientTest, GcAllAndOverLimit) {
  Launch(R"({"client": {"gc_max_allocs": 1}})");
  const std::string first = SubmitJob(Job("one", {{"t", "exit 0"}}, {}, {}, "batch"));
  // The task exits and the allocation completes; at the limit of one
  // directory it stays.
  ASSERT_TRUE(WaitFor([&] { return AllocStatus(first) == "complete"; }, kWait, 50ms));
  EXPECT_TRUE(fs::exists(AllocDir(first)));

  // A second allocation makes two directories: the terminal one goes.
  const std::string second = RunJob(Job("two", {{"t", "exec sleep 300"}}), "t");
  ASSERT_TRUE(WaitFor([&] { return AllocStatus(second) == "running"; }, kWait, 50ms));
  HttpResponse r = Call("DELETE", "/v1/job/two");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(WaitFor([&] { return !fs::exists(AllocDir(first)); }, kWait, 100ms))
      << "the oldest terminal alloc dir was not collected";

  // GET /v1/client/gc collects every terminal allocation.
  ASSERT_TRUE(WaitFor([&] { return AllocStatus(second) == "complete"; }, kWait, 50ms));
  r = Call("GET", "/v1/client/gc");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "");
  EXPECT_FALSE(fs::exists(AllocDir(second)));
  EXPECT_EQ(GetJson("/v1/allocations").get_array().size(), 2u);
}

// ---- Services ------------------------------------------------------------------------------

TEST_F(ClientTest, NomadServicesLiveWhileTasksRun) {
  Launch();
  json::array task_services{
      json::object{{"Name", "web"}, {"PortLabel", "8080"}, {"Provider", "nomad"},
                   {"Tags", json::array{"a", "b"}}},
      json::object{{"Name", "in-consul"}, {"Provider", "consul"}}};
  json::array group_services{
      json::object{{"Name", "grp"}, {"PortLabel", "9090"}, {"Provider", "nomad"}}};
  const std::string alloc_id = RunJob(
      Job("svc", {{"web", "exec sleep 300"}}, task_services, group_services), "web");
  const std::string node_id = NodeID();

  json::value regs = GetJson("/v1/allocation/" + alloc_id + "/services");
  ASSERT_TRUE(regs.is_array());
  ASSERT_EQ(regs.get_array().size(), 2u) << json::serialize(regs);
  const json::value& grp = regs.get_array()[0];
  const json::value& web = regs.get_array()[1];
  EXPECT_EQ(Str(grp, "/ID"), "_nomad-task-" + alloc_id + "-group-g-grp-9090");
  EXPECT_EQ(Str(web, "/ID"), "_nomad-task-" + alloc_id + "-web-web-8080");
  EXPECT_EQ(Str(web, "/ServiceName"), "web");
  EXPECT_EQ(Str(web, "/Namespace"), "default");
  EXPECT_EQ(Str(web, "/NodeID"), node_id);
  EXPECT_EQ(Str(web, "/Datacenter"), "dc1");
  EXPECT_EQ(Str(web, "/JobID"), "svc");
  EXPECT_EQ(Str(web, "/AllocID"), alloc_id);
  EXPECT_EQ(json::serialize(At(web, "/Tags")), R"(["a","b"])");
  EXPECT_EQ(Str(web, "/Address"), "127.0.0.1");
  EXPECT_EQ(Num(web, "/Port"), 8080);
  EXPECT_GT(Num(web, "/CreateIndex"), 0);
  EXPECT_GE(Num(web, "/ModifyIndex"), Num(web, "/CreateIndex"));

  json::value list = GetJson("/v1/services");
  EXPECT_EQ(json::serialize(list),
            R"([{"Namespace":"default","Services":[{"ServiceName":"grp","Tags":[]},)"
            R"({"ServiceName":"web","Tags":["a","b"]}]}])");
  json::value by_name = GetJson("/v1/service/web");
  ASSERT_TRUE(by_name.is_array());
  ASSERT_EQ(by_name.get_array().size(), 1u);
  EXPECT_EQ(Str(by_name, "/0/AllocID"), alloc_id);
  EXPECT_TRUE(GetJson("/v1/service/in-consul").get_array().empty());

  HttpResponse r = Call("DELETE", "/v1/job/svc");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(WaitFor(
      [&] { return GetJson("/v1/allocation/" + alloc_id + "/services").get_array().empty(); },
      kWait, 50ms));
  EXPECT_EQ(json::serialize(GetJson("/v1/services")), "[]");
  EXPECT_TRUE(GetJson("/v1/service/web").get_array().empty());
}

}  // namespace
}  // namespace drover::testing
