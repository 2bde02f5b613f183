// Streaming throughput of GET /v1/client/fs/logs?plain=true on a real agent:
// a batch task writes ~50 MB to stdout (rotated into 10 MB files, Nomad's
// default LogConfig), then the whole log is read kRuns times over one
// keep-alive connection and the MiB/s of each read is printed, with the
// best and the median. The figure includes the client's own parsing of the
// chunked body; it is what a `nomad alloc logs` reader on loopback would see.
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"

namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using drover::testing::AgentProcess;
using drover::testing::HttpClient;
using drover::testing::ParseJson;
using drover::testing::WaitFor;
using Clock = std::chrono::steady_clock;

constexpr int kLines = 4'800'000;  // `seq -f '%010.0f'`: 11 bytes a line, ~50 MiB
constexpr int kRuns = 5;
constexpr auto kTaskBudget = 120s;

std::string JobBody() {
  const json::object task{
      {"Name", "writer"},
      {"Driver", "raw_exec"},
      {"Config", json::object{{"command", "/bin/sh"},
                              {"args", json::array{"-c", "seq -f '%010.0f' 1 " +
                                                              std::to_string(kLines)}}}},
      {"LogConfig", json::object{{"MaxFiles", 10}, {"MaxFileSizeMB", 10}}},
      {"Resources", json::object{{"CPU", 10}, {"MemoryMB", 10}}},
  };
  const json::object group{{"Name", "g"},
                           {"Count", 1},
                           {"RestartPolicy", json::object{{"Attempts", 0}, {"Mode", "fail"}}},
                           {"Tasks", json::array{task}}};
  return json::serialize(json::object{{"Job", json::object{{"ID", "logbench"},
                                                           {"Name", "logbench"},
                                                           {"Type", "batch"},
                                                           {"Datacenters", json::array{"dc1"}},
                                                           {"TaskGroups", json::array{group}}}}});
}

// The allocation id once the writer task is dead; "" on timeout.
std::string AwaitDead(HttpClient& client) {
  std::string alloc_id;
  WaitFor(
      [&] {
        auto r = client.Get("/v1/job/logbench/allocations");
        if (!r.ok() || r->status != 200) return false;
        auto list = ParseJson(r->body);
        if (!list.ok() || !list->is_array() || list->get_array().empty()) return false;
        const json::value& stub = list->get_array()[0];
        alloc_id = std::string(stub.at("ID").as_string());
        boost::system::error_code ec;
        const json::value* state = stub.find_pointer("/TaskStates/writer/State", ec);
        return state != nullptr && *state == "dead";
      },
      kTaskBudget, 100ms);
  return alloc_id;
}

}  // namespace

int main() {
  drover::testing::AgentOptions options;
  options.log_level = "warn";
  auto agent = AgentProcess::Launch(options);
  if (!agent.ok()) {
    std::fprintf(stderr, "launch: %s\n", agent.status().ToString().c_str());
    return 1;
  }
  HttpClient client = (*agent)->Client(120s);
  auto reg = client.Put("/v1/jobs", JobBody());
  if (!reg.ok() || reg->status != 200) {
    std::fprintf(stderr, "register: %s\n",
                 reg.ok() ? reg->body.c_str() : reg.status().ToString().c_str());
    return 1;
  }
  const std::string alloc_id = AwaitDead(client);
  if (alloc_id.empty()) {
    std::fprintf(stderr, "the writer task did not finish\n");
    return 1;
  }

  const std::string path =
      "/v1/client/fs/logs/" + alloc_id + "?task=writer&type=stdout&plain=true";
  std::vector<double> rates;
  std::size_t bytes = 0;
  for (int i = 0; i < kRuns; ++i) {
    const auto start = Clock::now();
    auto r = client.Get(path);
    const double secs = std::chrono::duration<double>(Clock::now() - start).count();
    if (!r.ok() || r->status != 200) {
      std::fprintf(stderr, "read: %s\n", r.ok() ? r->body.c_str() : r.status().ToString().c_str());
      return 1;
    }
    bytes = r->body.size();
    rates.push_back(static_cast<double>(bytes) / (1 << 20) / secs);
    std::printf("plain log read %d: %.1f MiB in %.3f s = %.1f MiB/s\n", i + 1,
                static_cast<double>(bytes) / (1 << 20), secs, rates.back());
  }
  if (bytes != static_cast<std::size_t>(kLines) * 11) {
    std::fprintf(stderr, "read %zu bytes, expected %d\n", bytes, kLines * 11);
    return 1;
  }
  std::sort(rates.begin(), rates.end());
  std::printf("plain log streaming throughput: median %.1f MiB/s, best %.1f MiB/s (%d reads)\n",
              rates[rates.size() / 2], rates.back(), kRuns);
  return 0;
}
