#include "service/planner.h"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "common/checked_math.h"
#include "common/uuid.h"

namespace drover {
namespace {

namespace json = boost::json;

std::string AllocatedResourcesJson(const TaskGroup& tg) {
  json::object tasks;
  json::object lifecycles;
  for (const Task& t : tg.Tasks) {
    std::int64_t cpu = t.Resources ? t.Resources->CPU : 0;
    std::int64_t mem = t.Resources ? t.Resources->MemoryMB : 0;
    std::int64_t mem_max = t.Resources ? t.Resources->MemoryMaxMB : 0;
    tasks[t.Name] = json::object{
        {"Cpu", json::object{{"CpuShares", cpu}, {"ReservedCores", nullptr}}},
        {"Memory", json::object{{"MemoryMB", mem}, {"MemoryMaxMB", mem_max}}},
        {"Networks", nullptr},
        {"Devices", nullptr}};
    if (t.Lifecycle) {
      lifecycles[t.Name] =
          json::object{{"Hook", t.Lifecycle->Hook}, {"Sidecar", t.Lifecycle->Sidecar}};
    } else {
      lifecycles[t.Name] = nullptr;
    }
  }
  std::int64_t disk = tg.EphemeralDisk ? tg.EphemeralDisk->SizeMB : 0;
  json::object out{{"Tasks", std::move(tasks)},
                   {"TaskLifecycles", std::move(lifecycles)},
                   {"Shared", json::object{{"DiskMB", disk}, {"Networks", nullptr},
                                           {"Ports", nullptr}}}};
  return json::serialize(out);
}

}  // namespace

GroupAsk AskOf(const TaskGroup& tg) {
  GroupAsk ask;
  for (const Task& t : tg.Tasks) {
    if (!t.Resources) continue;
    ask.cpu = SaturatingAdd(ask.cpu, t.Resources->CPU);
    ask.memory_mb = SaturatingAdd(ask.memory_mb, t.Resources->MemoryMB);
  }
  return ask;
}

double BinPackScore(std::int64_t cpu_used, std::int64_t mem_used, const NodeCapacity& cap) {
  double free_cpu = cap.cpu_mhz > 0 ? 1.0 - double(cpu_used) / double(cap.cpu_mhz) : 0;
  double free_mem = cap.memory_mb > 0 ? 1.0 - double(mem_used) / double(cap.memory_mb) : 0;
  double score = 20.0 - (std::pow(10, free_cpu) + std::pow(10, free_mem));
  score = std::clamp(score, 0.0, 18.0);
  return score / 18.0;
}

PlanResult Plan(const PlanRequest& req) {
  auto started = std::chrono::steady_clock::now();
  PlanResult result;
  std::int64_t cpu_used = 0, mem_used = 0;
  for (const Allocation& a : req.live) {
    const TaskGroup* group = GroupOf(a);
    if (group == nullptr) continue;
    GroupAsk ask = AskOf(*group);
    cpu_used = SaturatingAdd(cpu_used, ask.cpu);
    mem_used = SaturatingAdd(mem_used, ask.memory_mb);
  }

  for (const TaskGroup& tg : req.job.TaskGroups) {
    auto want = req.indexes_to_place.find(tg.Name);
    if (want == req.indexes_to_place.end()) continue;
    GroupAsk ask = AskOf(tg);
    std::string allocated = AllocatedResourcesJson(tg);
    for (int index : want->second) {
      AllocMetric m;
      m.NodesEvaluated = 1;
      m.NodesInPool = 1;
      m.NodesAvailable = std::map<std::string, std::int64_t>{{req.node.Datacenter, 1}};
      // Saturating: sums of asks that overflow never fit.
      bool cpu_ok = SaturatingAdd(cpu_used, ask.cpu) <= req.capacity.cpu_mhz;
      bool mem_ok = SaturatingAdd(mem_used, ask.memory_mb) <= req.capacity.memory_mb;
      if (req.node.SchedulingEligibility == "ineligible") {
        // As Nomad with no eligible node: nothing is evaluated, the
        // placement waits (a blocked evaluation) until the node is eligible.
        auto [it, fresh] = result.failed.try_emplace(tg.Name, AllocMetric{});
        if (fresh) {
          it->second.NodesInPool = 1;
          it->second.NodesAvailable = std::map<std::string, std::int64_t>{{req.node.Datacenter, 0}};
        } else {
          it->second.CoalescedFailures++;
        }
        result.queued[tg.Name]++;
        continue;
      }
      if (!cpu_ok || !mem_ok) {
        // Nomad coalesces the failures of one group into one metric.
        auto [it, fresh] = result.failed.try_emplace(tg.Name, m);
        AllocMetric& f = it->second;
        if (fresh) {
          f.NodesExhausted = 1;
          f.ClassExhausted = std::map<std::string, std::int64_t>{{req.node.NodeClass, 1}};
          f.DimensionExhausted = std::map<std::string, std::int64_t>{};
          (*f.DimensionExhausted)[!cpu_ok ? "cpu" : "memory"] = 1;
        } else {
          f.CoalescedFailures++;
        }
        result.queued[tg.Name]++;
        continue;
      }
      cpu_used = SaturatingAdd(cpu_used, ask.cpu);
      mem_used = SaturatingAdd(mem_used, ask.memory_mb);
      double score = BinPackScore(cpu_used, mem_used, req.capacity);
      m.Scores = std::map<std::string, double>{{req.node.ID + ".binpack", score}};
      json::array meta{json::object{{"NodeID", req.node.ID},
                                    {"Scores", json::object{{"binpack", score}}},
                                    {"NormScore", score}}};
      m.ScoreMetaData.text = json::serialize(meta);
      m.AllocationTime = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::steady_clock::now() - started)
                             .count();

      Allocation a;
      a.ID = NewUUID();
      a.Namespace = req.job.Namespace;
      a.EvalID = req.eval_id;
      a.Name = req.job.ID + "." + tg.Name + "[" + std::to_string(index) + "]";
      a.NodeID = req.node.ID;
      a.NodeName = req.node.Name;
      a.JobID = req.job.ID;
      a.Job = req.job;
      a.TaskGroup = tg.Name;
      a.AllocatedResources.text = allocated;
      a.Metrics = std::move(m);
      a.DesiredStatus = kAllocDesiredRun;
      a.ClientStatus = kAllocClientPending;
      a.DesiredTransition.text = R"({"Migrate":null,"Reschedule":null,"ForceReschedule":null})";
      a.CreateIndex = a.ModifyIndex = a.AllocModifyIndex = req.index;
      a.CreateTime = a.ModifyTime = req.now;
      result.placed.push_back(std::move(a));
    }
    result.queued.try_emplace(tg.Name, 0);
  }
  return result;
}

}  // namespace drover
