// GET /v1/allocations with 10,000 allocations in the store: time per full
// list, per filtered list, and per 100-item page.
//
// The allocations are written straight into a stopped agent's store (as
// finished allocations, so that the restarted agent runs nothing), then the
// agent is started on that data dir and queried over HTTP. Bounded: a few
// seconds per figure; everything it starts is stopped on the way out.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "common/uuid.h"
#include "migrations/migrations.h"
#include "storage/state_store.h"
#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"

namespace {

using namespace std::chrono_literals;
using drover::testing::AgentProcess;
using drover::testing::HttpClient;
using Clock = std::chrono::steady_clock;

constexpr int kAllocs = 10'000;
constexpr int kBatch = 500;

drover::Status Populate(const std::string& state_dir) {
  drover::StoreOptions options;
  options.migrations = drover::migrations::All();
  auto store = drover::StateStore::Open(state_dir, std::move(options));
  if (!store.ok()) return store.status();
  drover::Job job;
  job.ID = job.Name = "bench";
  job.Namespace = "default";
  job.Type = "batch";
  job.Region = "global";
  for (int done = 0; done < kAllocs; done += kBatch) {
    auto r = (*store)->Apply([&](drover::WriteTxn& txn) {
      for (int i = done; i < done + kBatch; ++i) {
        drover::Allocation a;
        a.ID = drover::NewUUID();
        a.Namespace = "default";
        a.JobID = "bench";
        a.Job = job;
        a.Name = "bench.g[" + std::to_string(i) + "]";
        a.TaskGroup = "g";
        a.DesiredStatus = "stop";
        // One in ten failed: the filter selects them.
        a.ClientStatus = i % 10 == 0 ? "failed" : "complete";
        drover::TaskState ts;
        ts.State = "dead";
        ts.Failed = i % 10 == 0;
        a.TaskStates = std::map<std::string, drover::TaskState>{{"t", ts}};
        a.CreateIndex = a.ModifyIndex = a.AllocModifyIndex = txn.index();
        txn.PutAlloc(a);
      }
      return drover::Status::Ok();
    });
    if (!r.ok()) return r.status();
  }
  return drover::Status::Ok();
}

// Runs `path` repeatedly for about `budget` (at least 3 times) and prints
// the median time per request.
void Measure(HttpClient& http, const char* label, const std::string& path,
             std::chrono::milliseconds budget) {
  std::vector<double> ms;
  std::size_t bytes = 0;
  auto start = Clock::now();
  while (ms.size() < 3 || (Clock::now() - start < budget && ms.size() < 200)) {
    auto t0 = Clock::now();
    auto r = http.Get(path);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (!r.ok() || r->status != 200) {
      std::printf("%-28s FAILED: %s\n", label,
                  r.ok() ? r->body.substr(0, 200).c_str() : r.status().ToString().c_str());
      return;
    }
    bytes = r->body.size();
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%-28s n=%-4zu p50=%8.1f ms  min=%8.1f ms  body=%zu KiB\n", label, ms.size(),
              ms[ms.size() / 2], ms.front(), bytes / 1024);
}

}  // namespace

int main() {
  auto agent = AgentProcess::Launch();
  if (!agent.ok()) {
    std::fprintf(stderr, "launch: %s\n", agent.status().ToString().c_str());
    return 1;
  }
  if (auto st = (*agent)->Stop(); !st.ok()) {
    std::fprintf(stderr, "stop: %s\n", st.ToString().c_str());
    return 1;
  }
  auto t0 = Clock::now();
  if (auto st = Populate(((*agent)->data_dir() / "state").string()); !st.ok()) {
    std::fprintf(stderr, "populate: %s\n", st.ToString().c_str());
    return 1;
  }
  std::printf("wrote %d allocations in %.1f s\n", kAllocs,
              std::chrono::duration<double>(Clock::now() - t0).count());
  if (auto st = (*agent)->Restart(); !st.ok()) {
    std::fprintf(stderr, "restart: %s\n", st.ToString().c_str());
    return 1;
  }
  HttpClient http = (*agent)->Client(60s);
  Measure(http, "full list (10,000)", "/v1/allocations", 5s);
  Measure(http, "full list, task_states=false", "/v1/allocations?task_states=false", 5s);
  Measure(http, "filtered (1,000 match)",
          "/v1/allocations?filter=ClientStatus%20%3D%3D%20%22failed%22", 5s);
  Measure(http, "page of 100", "/v1/allocations?per_page=100", 3s);
  Measure(http, "filtered page of 100",
          "/v1/allocations?per_page=100&filter=ClientStatus%20%3D%3D%20%22failed%22", 3s);
  return 0;
}
