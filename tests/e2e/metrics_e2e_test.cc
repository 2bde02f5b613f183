// End-to-end: GET /v1/metrics in go-metrics' JSON shape and, when
// telemetry.prometheus_metrics is on, in Prometheus' text format, checked
// line by line against the format's grammar and parsed by the Prometheus
// project's Python parser.
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <unistd.h>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "common/gotime.h"
#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"

namespace drover::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

class MetricsE2ETest : public ::testing::Test {
 protected:
  void Launch(const std::string& config = "") {
    AgentOptions options;
    options.config_json = config;
    auto agent = AgentProcess::Launch(options);
    ASSERT_TRUE(agent.ok()) << agent.status().ToString();
    agent_ = std::move(agent).value();
  }
  HttpResponse Get(const std::string& path) {
    auto r = agent_->Client().Get(path);
    EXPECT_TRUE(r.ok()) << path;
    return r.ok() ? *r : HttpResponse{};
  }
  std::unique_ptr<AgentProcess> agent_;
};

const json::value* FindNamed(const json::array& list, const std::string& name) {
  for (const json::value& v : list) {
    if (v.at("Name").as_string() == name) return &v;
  }
  return nullptr;
}

TEST_F(MetricsE2ETest, JsonSummaryHasNomadsShapeAndClientGauges) {
  Launch();
  ASSERT_EQ(Get("/v1/agent/self").status, 200);  // one handled request at least
  HttpResponse r = Get("/v1/metrics");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value m = json::parse(r.body);
  for (const char* key : {"Timestamp", "Gauges", "Points", "Counters", "Samples"}) {
    EXPECT_TRUE(m.as_object().contains(key)) << key;
  }
  const json::array& gauges = m.at("Gauges").as_array();
  const json::value* running = FindNamed(gauges, "nomad.client.allocations.running");
  ASSERT_NE(running, nullptr) << r.body.substr(0, 500);
  EXPECT_EQ(running->at("Value").to_number<double>(), 0.0);
  EXPECT_FALSE(running->at("Labels").at("node_id").as_string().empty());
  const json::value* memory = FindNamed(gauges, "nomad.client.host.memory.total");
  ASSERT_NE(memory, nullptr);
  EXPECT_GT(memory->at("Value").to_number<double>(), 0.0);
  const json::value* http = FindNamed(m.at("Samples").as_array(), "drover.http.handler_ms");
  ASSERT_NE(http, nullptr) << "handled requests are timed";
  EXPECT_GE(http->at("Count").to_number<double>(), 1.0);
  // The Prometheus form is off by default, as in Nomad.
  HttpResponse prom = Get("/v1/metrics?format=prometheus");
  EXPECT_EQ(prom.status, 415);
  EXPECT_EQ(prom.body, "Prometheus is not enabled");
}

TEST_F(MetricsE2ETest, PrometheusTextFollowsTheExpositionFormat) {
  Launch(R"({"telemetry": {"prometheus_metrics": true}})");
  ASSERT_EQ(Get("/v1/agent/self").status, 200);
  HttpResponse r = Get("/v1/metrics?format=prometheus");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(std::string(r.headers.Get("Content-Type").value_or("")).find("text/plain; version=0.0.4"),
            std::string::npos);

  // Every line: a comment (HELP/TYPE) or a sample; every sample's family
  // was typed before it.
  const std::regex help(R"(# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*)");
  const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter|summary))");
  const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? )"
      R"((NaN|[+-]Inf|[-+]?[0-9.eE+-]+))");
  std::set<std::string> typed;
  std::istringstream lines(r.body);
  std::string line;
  int samples = 0;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_match(line, m, type)) {
      EXPECT_TRUE(typed.insert(m[1]).second) << "family typed twice: " << line;
    } else if (std::regex_match(line, help)) {
    } else if (std::regex_match(line, m, sample)) {
      std::string family = m[1];
      for (const char* suffix : {"_sum", "_count"}) {
        if (!typed.contains(family) && family.ends_with(suffix))
          family.resize(family.size() - std::string(suffix).size());
      }
      EXPECT_TRUE(typed.contains(family)) << "untyped sample: " << line;
      ++samples;
    } else {
      ADD_FAILURE() << "not in the text format: " << line;
    }
  }
  EXPECT_TRUE(typed.contains("nomad_client_allocations_running"));
  EXPECT_TRUE(typed.contains("drover_http_handler_ms"));
  EXPECT_GT(samples, 10);

  // The Prometheus project's own parser (Debian's python3-prometheus-client,
  // for Debian's python3, whatever python3 comes first in PATH).
  const fs::path text = fs::temp_directory_path() / ("drover-metrics-" +
                                                     std::to_string(::getpid()) + ".txt");
  std::ofstream(text) << r.body;
  const std::string cmd =
      "/usr/bin/python3 -c 'import sys; from prometheus_client.parser import "
      "text_string_to_metric_families as p; "
      "fams = list(p(open(sys.argv[1]).read())); "
      "names = {f.name for f in fams}; "
      "assert \"nomad_client_allocations_running\" in names, names; "
      "print(\"parsed\", len(fams))' " +
      text.string() + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof(buf), pipe) != nullptr) out += buf;
  // Its exit status is not looked at: the e2e support's reaper thread
  // (waitpid(-1), for orphaned task processes) may collect it before
  // pclose does. "parsed N" is printed only when parsing succeeded.
  ::pclose(pipe);
  fs::remove(text);
  ASSERT_EQ(out.rfind("parsed ", 0), 0u) << out;
  EXPECT_GT(std::atoi(out.c_str() + 7), 10) << out;
}

TEST_F(MetricsE2ETest, PerTaskGaugesAndDroversOwnFigures) {
  Launch(R"({"telemetry": {"publish_allocation_metrics": true}})");
  json::object task{{"Name", "t"},
                    {"Driver", "raw_exec"},
                    {"Config", json::object{{"command", "/bin/sleep"}, {"args", json::array{"600"}}}},
                    {"Resources", json::object{{"CPU", 50}, {"MemoryMB", 32}}},
                    {"KillTimeout", kSecond}};
  json::value job = json::object{
      {"Job", json::object{{"ID", "measured"},
                           {"Name", "measured"},
                           {"Type", "service"},
                           {"Datacenters", json::array{"dc1"}},
                           {"TaskGroups", json::array{json::object{
                                              {"Name", "g"}, {"Count", 1},
                                              {"Tasks", json::array{task}}}}}}}};
  HttpClient client = agent_->Client();
  const std::string alloc = RunJobUntil(client, job, "measured", "t", "running",
                                        std::chrono::seconds(30));
  ASSERT_FALSE(alloc.empty()) << agent_->LogTail();

  // The task's gauges appear once its first stats are sampled.
  ASSERT_TRUE(WaitFor(
      [&] {
        json::value first = json::parse(Get("/v1/metrics").body);
        return FindNamed(first.at("Gauges").as_array(), "nomad.client.allocs.memory.rss") != nullptr;
      },
      std::chrono::seconds(10)))
      << agent_->LogTail();

  // A blocking query parks while the metrics are read.
  auto index = client.Get("/v1/job/measured");
  ASSERT_TRUE(index.ok());
  std::thread parked([port = agent_->port(), i = std::string(index->headers.Get("X-Nomad-Index").value_or("1"))] {
    HttpClient c(port, std::chrono::seconds(30));
    (void)c.Get("/v1/job/measured?index=" + i + "&wait=3s");
  });
  json::value m;
  const json::value* parked_gauge = nullptr;
  ASSERT_TRUE(WaitFor(
      [&] {
        m = json::parse(Get("/v1/metrics").body);
        parked_gauge = FindNamed(m.at("Gauges").as_array(), "drover.http.parked_queries");
        return parked_gauge != nullptr && parked_gauge->at("Value").to_number<double>() >= 1.0;
      },
      std::chrono::seconds(10)));
  parked.join();

  const json::array& gauges = m.at("Gauges").as_array();
  const json::value* rss = FindNamed(gauges, "nomad.client.allocs.memory.rss");
  ASSERT_NE(rss, nullptr) << json::serialize(m).substr(0, 2000);
  const json::object& labels = rss->at("Labels").as_object();
  EXPECT_EQ(labels.at("alloc_id").as_string(), alloc);
  EXPECT_EQ(labels.at("job").as_string(), "measured");
  EXPECT_EQ(labels.at("task").as_string(), "t");
  EXPECT_EQ(labels.at("task_group").as_string(), "g");
  EXPECT_EQ(labels.at("namespace").as_string(), "default");
  EXPECT_GT(rss->at("Value").to_number<double>(), 0.0);
  const json::value* allocated = FindNamed(gauges, "nomad.client.allocs.memory.allocated");
  ASSERT_NE(allocated, nullptr);
  EXPECT_EQ(allocated->at("Value").to_number<double>(), 32.0 * 1024 * 1024);
  for (const char* name : {"nomad.client.allocs.cpu.total_percent", "nomad.client.allocs.cpu.user",
                           "nomad.client.allocs.cpu.system", "nomad.client.allocs.cpu.total_ticks",
                           "nomad.client.allocs.cpu.allocated"}) {
    EXPECT_NE(FindNamed(gauges, name), nullptr) << name;
  }
  const json::value* executors = FindNamed(gauges, "drover.executors.running");
  ASSERT_NE(executors, nullptr);
  EXPECT_EQ(executors->at("Value").to_number<double>(), 1.0);
  const json::value* commits = FindNamed(m.at("Samples").as_array(), "drover.store.commit_ms");
  ASSERT_NE(commits, nullptr);
  EXPECT_GE(commits->at("Count").to_number<double>(), 2.0);  // node registration, the job

  // Without publish_allocation_metrics (Nomad's default) no per-task gauge.
  Launch();
  json::value plain = json::parse(Get("/v1/metrics").body);
  EXPECT_EQ(FindNamed(plain.at("Gauges").as_array(), "nomad.client.allocs.cpu.total_percent"),
            nullptr);
  EXPECT_NE(FindNamed(plain.at("Gauges").as_array(), "drover.executors.running"), nullptr);
}

}  // namespace
}  // namespace drover::testing
