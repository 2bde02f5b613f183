// End-to-end benchmark of a real `drover agent`:
//   1. job register -> task running latency, over kJobs single-alloc jobs;
//   2. blocking-query wake-up latency: a GET /v1/allocation/:id?index=N is
//      parked, then the job is stopped; time from the stop request to the
//      waiter's answer;
//   3. GET /v1/allocation/:id requests per second from kReaderThreads
//      keep-alive clients.
// Every phase is bounded in count and time; the agent and all its task
// processes are killed on the way out, whatever happened.
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"

namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using drover::Result;
using drover::Status;
using drover::testing::AgentOptions;
using drover::testing::AgentProcess;
using drover::testing::HttpClient;
using drover::testing::HttpResponse;
using drover::testing::ParseJson;
using Clock = std::chrono::steady_clock;

constexpr int kJobs = 200;
constexpr auto kRegisterPhaseBudget = 180s;
constexpr auto kPerJobTimeout = 15s;
constexpr int kWakeSamples = 50;
constexpr int kReaderThreads = 2;
constexpr auto kReadDuration = 3s;
constexpr auto kCleanupBudget = 60s;

struct Placed {
  std::string job_id;
  std::string alloc_id;
};

double Millis(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

std::uint64_t IndexHeader(const HttpResponse& r) {
  const auto h = r.headers.Get("X-Nomad-Index");
  return h ? std::strtoull(std::string(*h).c_str(), nullptr, 10) : 0;
}

void PrintLatencies(const char* what, std::vector<double> ms, int failed) {
  if (ms.empty()) {
    std::printf("%-28s no samples (%d failed)\n", what, failed);
    return;
  }
  std::sort(ms.begin(), ms.end());
  auto rank = [&](double q) {  // nearest-rank percentile
    const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(ms.size())));
    return ms[std::clamp<std::size_t>(i, 1, ms.size()) - 1];
  };
  std::printf("%-28s n=%-4zu p50=%8.2f ms  p99=%8.2f ms  max=%8.2f ms  failed=%d\n", what,
              ms.size(), rank(0.50), rank(0.99), ms.back(), failed);
}

std::string JobBody(const std::string& id) {
  const json::object task{
      {"Name", "t"},
      {"Driver", "raw_exec"},
      {"Config", json::object{{"command", "/bin/sleep"}, {"args", json::array{"600"}}}},
      // Nomad's default ask (100 MHz) exhausts a small node's CPU well
      // before kJobs tasks; placement would then block, as in Nomad.
      {"Resources", json::object{{"CPU", 10}, {"MemoryMB", 10}}},
  };
  const json::object group{{"Name", "g"}, {"Count", 1}, {"Tasks", json::array{task}}};
  return json::serialize(json::object{{"Job", json::object{{"ID", id},
                                                           {"Name", id},
                                                           {"Type", "service"},
                                                           {"Datacenters", json::array{"dc1"}},
                                                           {"TaskGroups", json::array{group}}}}});
}

// The id of the job's running allocation, following the job's allocation
// list with blocking queries; empty on error or after `deadline`.
std::string AwaitRunning(HttpClient& client, const std::string& job_id, Clock::time_point deadline) {
  std::uint64_t index = 0;
  while (Clock::now() < deadline) {
    auto r = client.Get("/v1/job/" + job_id + "/allocations?index=" + std::to_string(index) +
                        "&wait=5s");
    if (!r.ok() || r->status != 200) return "";
    auto list = ParseJson(r->body);
    if (!list.ok() || !list->is_array()) return "";
    for (const auto& stub : list->get_array()) {
      const auto& o = stub.as_object();
      if (o.contains("ClientStatus") && o.at("ClientStatus") == "running") {
        return std::string(o.at("ID").as_string());
      }
    }
    const std::uint64_t next = IndexHeader(*r);
    if (next <= index) std::this_thread::sleep_for(5ms);  // no progress: do not spin
    index = next;
  }
  return "";
}

std::vector<Placed> BenchRegisterToRunning(AgentProcess& agent) {
  HttpClient client = agent.Client(30s);
  std::vector<Placed> placed;
  std::vector<double> ms;
  int failed = 0;
  const auto phase_deadline = Clock::now() + kRegisterPhaseBudget;
  for (int i = 0; i < kJobs && Clock::now() < phase_deadline; ++i) {
    const std::string id = "bench-" + std::to_string(i);
    const auto start = Clock::now();
    auto r = client.Put("/v1/jobs", JobBody(id));
    if (!r.ok() || r->status != 200) {
      std::fprintf(stderr, "register %s: %s\n", id.c_str(),
                   r.ok() ? (std::to_string(r->status) + " " + r->body.substr(0, 300)).c_str()
                          : r.status().ToString().c_str());
      if (++failed >= 5) break;
      continue;
    }
    std::string alloc_id =
        AwaitRunning(client, id, std::min(phase_deadline, start + kPerJobTimeout));
    if (alloc_id.empty()) {
      std::fprintf(stderr, "job %s: no running allocation\n", id.c_str());
      if (++failed >= 5) break;
      continue;
    }
    ms.push_back(Millis(Clock::now() - start));
    placed.push_back({id, std::move(alloc_id)});
  }
  PrintLatencies("register -> running", ms, failed);
  return placed;
}

void BenchReads(AgentProcess& agent, const std::vector<Placed>& placed) {
  if (placed.empty()) return;
  std::atomic<long> ok{0}, errors{0};
  const auto start = Clock::now();
  const auto stop_at = start + kReadDuration;
  std::vector<std::thread> readers;
  for (int t = 0; t < kReaderThreads; ++t) {
    readers.emplace_back([&, t] {
      HttpClient client = agent.Client(5s);
      for (std::size_t i = t; Clock::now() < stop_at; i += kReaderThreads) {
        auto r = client.Get("/v1/allocation/" + placed[i % placed.size()].alloc_id);
        (r.ok() && r->status == 200 ? ok : errors)++;
      }
    });
  }
  for (auto& r : readers) r.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("%-28s %d threads  %.1f s  %ld ok  %.0f req/s  errors=%ld\n",
              "GET /v1/allocation/:id", kReaderThreads, secs, ok.load(),
              static_cast<double>(ok.load()) / secs, errors.load());
}

// Stops the first kWakeSamples jobs, each under a parked blocking query.
void BenchWakeLatency(AgentProcess& agent, const std::vector<Placed>& placed) {
  HttpClient client = agent.Client(10s);
  std::vector<double> ms;
  int failed = 0;
  const int samples = std::min<int>(kWakeSamples, static_cast<int>(placed.size()));
  for (int i = 0; i < samples; ++i) {
    const std::string path = "/v1/allocation/" + placed[i].alloc_id;
    auto current = client.Get(path);
    if (!current.ok() || current->status != 200) {
      ++failed;
      continue;
    }
    const std::uint64_t index = IndexHeader(*current);
    auto waiter = std::async(std::launch::async, [&] {
      HttpClient blocking = agent.Client(20s);
      auto r = blocking.Get(path + "?index=" + std::to_string(index) + "&wait=10s");
      const bool woke = r.ok() && r->status == 200 && IndexHeader(*r) > index;
      return std::make_pair(woke, Clock::now());
    });
    // Give the query time to park; one that answers early is no sample.
    if (waiter.wait_for(50ms) == std::future_status::ready) {
      ++failed;
      continue;
    }
    const auto change = Clock::now();
    auto stop = client.Delete("/v1/job/" + placed[i].job_id);
    const auto [woke, at] = waiter.get();
    if (!stop.ok() || stop->status != 200 || !woke) {
      ++failed;
      continue;
    }
    ms.push_back(Millis(at - change));
  }
  PrintLatencies("blocking query wake-up", ms, failed);
}

void Cleanup(AgentProcess& agent, const std::vector<Placed>& placed) {
  HttpClient client = agent.Client(10s);
  const auto deadline = Clock::now() + kCleanupBudget;
  for (const auto& p : placed) {
    if (Clock::now() >= deadline) break;
    (void)client.Delete("/v1/job/" + p.job_id + "?purge=true");
  }
  if (Status st = agent.Stop(); !st.ok()) {
    std::fprintf(stderr, "stopping the agent: %s\n", st.ToString().c_str());
  }
}

}  // namespace

int main() {
  AgentOptions options;
  options.log_level = "warn";
  auto launched = AgentProcess::Launch(std::move(options));
  if (!launched.ok()) {
    std::fprintf(stderr, "drover agent: %s\n", launched.status().ToString().c_str());
    return 1;
  }
  AgentProcess& agent = **launched;
  std::printf("drover agent pid %d on 127.0.0.1:%u\n", agent.pid(), agent.port());

  const std::vector<Placed> placed = BenchRegisterToRunning(agent);
  BenchReads(agent, placed);
  BenchWakeLatency(agent, placed);
  Cleanup(agent, placed);
  return placed.size() == static_cast<std::size_t>(kJobs) ? 0 : 1;
}
