#include "service/reconciler.h"

#include <boost/json.hpp>

#include <algorithm>
#include <set>

#include "lifecycle/task_env.h"

namespace drover {
namespace {

namespace json = boost::json;

json::value ParseOrNull(const RawJson& raw) {
  boost::system::error_code ec;
  json::value v = json::parse(raw.text, ec);
  return ec ? json::value(nullptr) : v;
}

// Overwrites `s`'s fields with those `block` sets (non-null, right type).
void MergeStrategy(const json::value& block, UpdateStrategy& s) {
  const json::object* o = block.if_object();
  if (o == nullptr) return;
  auto num = [&](const char* key, std::int64_t& out) {
    const json::value* v = o->if_contains(key);
    if (v != nullptr && v->is_int64()) out = v->get_int64();
    if (v != nullptr && v->is_uint64() && v->get_uint64() <= INT64_MAX) {
      out = static_cast<std::int64_t>(v->get_uint64());
    }
  };
  auto flag = [&](const char* key, bool& out) {
    const json::value* v = o->if_contains(key);
    if (v != nullptr && v->is_bool()) out = v->get_bool();
  };
  num("Stagger", s.Stagger);
  num("MaxParallel", s.MaxParallel);
  if (const json::value* v = o->if_contains("HealthCheck"); v != nullptr && v->is_string()) {
    s.HealthCheck = std::string(v->get_string());
  }
  num("MinHealthyTime", s.MinHealthyTime);
  num("HealthyDeadline", s.HealthyDeadline);
  num("ProgressDeadline", s.ProgressDeadline);
  flag("AutoRevert", s.AutoRevert);
  flag("AutoPromote", s.AutoPromote);
  num("Canary", s.Canary);
}

bool SameJson(const RawJson& a, const RawJson& b) {
  return a.text == b.text || ParseOrNull(a) == ParseOrNull(b);
}

const TaskGroup* FindGroup(const Job& job, const std::string& name) {
  for (const TaskGroup& tg : job.TaskGroups) {
    if (tg.Name == name) return &tg;
  }
  return nullptr;
}

// Nomad's CombinedTaskMeta: job, then group, then task meta.
StringMap CombinedMeta(const Job& job, const TaskGroup& tg, const Task& t) {
  StringMap out;
  for (const auto* m : {&job.Meta, &tg.Meta, &t.Meta}) {
    if (*m) {
      for (const auto& [k, v] : **m) out[k] = v;
    }
  }
  return out;
}

bool RenderTemplates(const std::optional<RestartPolicy>& p) {
  return p && p->RenderTemplates;
}

std::optional<std::string> TaskDestructive(const Job& ja, const TaskGroup& ga, const Task& a,
                                           const Job& jb, const TaskGroup& gb, const Task& b) {
  if (a.Driver != b.Driver) return "task driver";
  if (a.User != b.User) return "task user";
  if (!SameJson(a.Config, b.Config)) return "task config";
  if (a.Env.value_or(StringMap{}) != b.Env.value_or(StringMap{})) return "task env";
  if (!SameJson(a.Artifacts, b.Artifacts)) return "task artifacts";
  if (!SameJson(a.Vault, b.Vault)) return "task vault";
  if (!SameJson(a.Templates, b.Templates)) return "task templates";
  if (!SameJson(a.VolumeMounts, b.VolumeMounts)) return "task volume mount";
  if (CombinedMeta(ja, ga, a) != CombinedMeta(jb, gb, b)) return "task meta";
  const Resources ra = a.Resources.value_or(Resources{});
  const Resources rb = b.Resources.value_or(Resources{});
  if (!SameJson(ra.Networks, rb.Networks)) return "task network";
  if (ra.CPU != rb.CPU) return "task cpu";
  if (ra.Cores != rb.Cores) return "task cores";
  if (ra.MemoryMB != rb.MemoryMB) return "task memory";
  if (ra.MemoryMaxMB != rb.MemoryMaxMB) return "task memory max";
  if (!SameJson(ra.Devices, rb.Devices)) return "task devices";
  if (!SameJson(a.Identity, b.Identity)) return "task identity";
  if (a.LogConfig.value_or(LogConfig{}).Disabled != b.LogConfig.value_or(LogConfig{}).Disabled) {
    return "task log disabled";
  }
  if (RenderTemplates(a.RestartPolicy) != RenderTemplates(b.RestartPolicy)) {
    return "task restart render_templates";
  }
  return std::nullopt;
}

// Whether the allocation holds its name and counts toward the group's
// Count: Nomad's "untainted" set on a single, always-ready node.
bool Untainted(const Allocation& a, const Job& job) {
  if (a.DesiredStatus != kAllocDesiredRun) return false;
  if (a.ClientStatus == kAllocClientPending || a.ClientStatus == kAllocClientRunning) return true;
  // A failed allocation waits for its reschedule (service/reschedule.h)
  // or stays failed once its policy is spent; either way it keeps its name.
  if (a.ClientStatus == kAllocClientFailed) return a.NextAllocation.empty();
  // A batch allocation that finished is done for the version it ran.
  return a.ClientStatus == kAllocClientComplete && job.Type != kJobTypeService && a.Job &&
         a.Job->Version >= job.Version;
}

// Nomad's allocNameIndex.Next: free indexes below `count` first, then
// above it.
std::vector<int> NextIndexes(const std::set<int>& used, std::int64_t count, std::size_t n) {
  std::vector<int> out;
  for (int i = 0; out.size() < n && i < count; ++i) {
    if (!used.contains(i)) out.push_back(i);
  }
  for (int i = static_cast<int>(count); out.size() < n; ++i) {
    if (!used.contains(i)) out.push_back(i);
  }
  return out;
}

bool ByIndex(const Allocation* a, const Allocation* b) {
  int ia = AllocIndex(a->Name), ib = AllocIndex(b->Name);
  return ia != ib ? ia < ib : a->ID < b->ID;
}

}  // namespace

std::optional<UpdateStrategy> UpdateStrategyOf(const Job& job, const TaskGroup& tg) {
  if (job.Type != kJobTypeService) return std::nullopt;
  if (job.Update.IsNull() && tg.Update.IsNull()) return std::nullopt;
  UpdateStrategy s;
  MergeStrategy(ParseOrNull(job.Update), s);
  MergeStrategy(ParseOrNull(tg.Update), s);
  return s;
}

std::optional<std::string> DestructiveChange(const Job& ja, const Job& jb,
                                             const std::string& group) {
  const TaskGroup* a = FindGroup(ja, group);
  const TaskGroup* b = FindGroup(jb, group);
  if (a == nullptr || b == nullptr) return "task group";
  if (a->Tasks.size() != b->Tasks.size()) return "number of tasks";
  if (a->EphemeralDisk.value_or(EphemeralDisk{}) != b->EphemeralDisk.value_or(EphemeralDisk{})) {
    return "ephemeral disk";
  }
  if (!SameJson(a->Networks, b->Networks)) return "network";
  if (!SameJson(a->Volumes, b->Volumes)) return "volume request";
  if (RenderTemplates(a->RestartPolicy) != RenderTemplates(b->RestartPolicy)) {
    return "group restart render_templates";
  }
  for (const Task& at : a->Tasks) {
    auto bt = std::find_if(b->Tasks.begin(), b->Tasks.end(),
                           [&](const Task& t) { return t.Name == at.Name; });
    if (bt == b->Tasks.end()) return "task deleted";
    if (auto why = TaskDestructive(ja, *a, at, jb, *b, *bt)) return why;
  }
  return std::nullopt;
}

std::optional<bool> DeploymentHealth(const Allocation& alloc) {
  json::value v = ParseOrNull(alloc.DeploymentStatus);
  const json::object* o = v.if_object();
  if (o == nullptr) return std::nullopt;
  const json::value* h = o->if_contains("Healthy");
  if (h == nullptr || !h->is_bool()) return std::nullopt;
  return h->get_bool();
}

AllocHealth AssessHealth(const Allocation& alloc, const UpdateStrategy& strategy, Nanos since,
                         Nanos now) {
  if (alloc.ClientStatus == kAllocClientFailed || alloc.ClientStatus == kAllocClientLost) {
    return AllocHealth::kUnhealthy;
  }
  const TaskGroup* tg = GroupOf(alloc);
  if (tg == nullptr) return AllocHealth::kUnset;
  bool all_running = alloc.ClientStatus == kAllocClientRunning;
  Nanos running_since = since;
  for (const Task& t : tg->Tasks) {
    const TaskState* st = nullptr;
    if (alloc.TaskStates) {
      auto it = alloc.TaskStates->find(t.Name);
      if (it != alloc.TaskStates->end()) st = &it->second;
    }
    if (st != nullptr && st->Failed) return AllocHealth::kUnhealthy;
    // Prestart and poststop tasks that are not sidecars run to completion;
    // the rest must be running.
    if (t.Lifecycle && !t.Lifecycle->Sidecar && t.Lifecycle->Hook != "poststart") continue;
    if (st == nullptr || st->State != kTaskStateRunning) {
      all_running = false;
      continue;
    }
    if (st->StartedAt) running_since = std::max(running_since, st->StartedAt->unix_nanos);
    if (st->LastRestart) running_since = std::max(running_since, st->LastRestart->unix_nanos);
  }
  if (strategy.HealthCheck == "manual") return AllocHealth::kUnset;
  if (all_running && now - running_since >= strategy.MinHealthyTime) return AllocHealth::kHealthy;
  if (now - since >= strategy.HealthyDeadline) return AllocHealth::kUnhealthy;
  return AllocHealth::kUnset;
}

ReconcileResult Reconcile(const ReconcileInput& in) {
  const Job& job = in.job;
  ReconcileResult out;

  // Nomad's cancelUnneededServiceDeployments: a deployment of another
  // version is cancelled; a successful one is no longer current.
  const Deployment* current = in.deployment;
  if (current != nullptr) {
    if (current->JobCreateIndex != job.CreateIndex || current->JobVersion != job.Version) {
      if (DeploymentActive(*current)) {
        out.deployment_updates.push_back({current->ID, kDeploymentCancelled,
                                          "Cancelled due to newer version of job"});
      }
      current = nullptr;
    } else if (current->Status == kDeploymentSuccessful ||
               current->Status == kDeploymentCancelled) {
      current = nullptr;
    }
  }
  const bool paused = current != nullptr && current->Status == kDeploymentPaused;
  const bool failed = current != nullptr && current->Status == kDeploymentFailed;
  if (current != nullptr) out.deployment_id = current->ID;

  bool had_running = false;
  std::map<std::string, std::vector<const Allocation*>> by_group;
  for (const Allocation& a : in.allocs) {
    if (a.Job && a.Job->Version == job.Version && a.Job->CreateIndex == job.CreateIndex) {
      had_running = true;
    }
    by_group[a.TaskGroup].push_back(&a);
  }
  for (const TaskGroup& tg : job.TaskGroups) by_group.try_emplace(tg.Name);

  bool complete = true;
  for (auto& [group, allocs] : by_group) {
    DesiredUpdates& desired = out.desired[group];
    std::sort(allocs.begin(), allocs.end(), ByIndex);
    const TaskGroup* tg = FindGroup(job, group);
    if (tg == nullptr || tg->Count == 0) {
      for (const Allocation* a : allocs) {
        if (a->DesiredStatus != kAllocDesiredRun) continue;
        out.stop.push_back({a->ID, kAllocNotNeeded});
        desired.Stop++;
      }
      continue;
    }
    const std::optional<UpdateStrategy> strategy = UpdateStrategyOf(job, *tg);
    const bool rolling = strategy && !strategy->IsEmpty();
    const DeploymentState* existing_state = nullptr;
    if (current != nullptr) {
      auto it = current->TaskGroups.find(group);
      if (it != current->TaskGroups.end()) existing_state = &it->second;
    }
    DeploymentState dstate;
    if (existing_state != nullptr) {
      dstate = *existing_state;
    } else if (rolling) {
      dstate.AutoRevert = strategy->AutoRevert;
      dstate.AutoPromote = strategy->AutoPromote;
      dstate.ProgressDeadline = strategy->ProgressDeadline;
    }

    std::vector<const Allocation*> untainted, lost;
    for (const Allocation* a : allocs) {
      if (a->DesiredStatus != kAllocDesiredRun) continue;
      if (Untainted(*a, job)) {
        untainted.push_back(a);
      } else if (a->ClientStatus == kAllocClientLost) {
        lost.push_back(a);
      } else if (a->ClientStatus == kAllocClientComplete && job.Type != kJobTypeService) {
        desired.Ignore++;  // an older version's finished batch run
      }
    }
    for (const Allocation* a : lost) {
      out.stop.push_back({a->ID, "alloc is lost since its node is down"});
      desired.Stop++;
    }

    // Count down: the highest indexes go first.
    const auto count = static_cast<std::size_t>(tg->Count);
    while (untainted.size() > count) {
      out.stop.push_back({untainted.back()->ID, kAllocNotNeeded});
      desired.Stop++;
      untainted.pop_back();
    }

    std::vector<const Allocation*> inplace, destructive;
    for (const Allocation* a : untainted) {
      if (a->Job && a->Job->JobModifyIndex == job.JobModifyIndex) {
        desired.Ignore++;
      } else if (!a->Job || DestructiveChange(*a->Job, job, group)) {
        destructive.push_back(a);
      } else {
        inplace.push_back(a);
      }
    }
    desired.InPlaceUpdate += inplace.size();
    for (const Allocation* a : inplace) out.inplace.push_back(a->ID);
    if (existing_state == nullptr) dstate.DesiredTotal += destructive.size() + inplace.size();

    // How many may be replaced now (Nomad's computeUnderProvisionedBy).
    std::int64_t room = tg->Count;
    if (rolling && !destructive.empty()) {
      if (current == nullptr) {
        room = strategy->MaxParallel;
      } else if (paused || failed) {
        room = 0;
      } else {
        room = strategy->MaxParallel;
        for (const Allocation* a : untainted) {
          if (a->DeploymentID != current->ID) continue;
          std::optional<bool> healthy = DeploymentHealth(*a);
          if (healthy == false) {
            room = 0;
            break;
          }
          if (!healthy) room--;
        }
      }
      room = std::max<std::int64_t>(room, 0);
    }

    // Placements: lost allocations' names first, then free names.
    std::set<int> used;
    for (const Allocation* a : untainted) used.insert(AllocIndex(a->Name));
    std::vector<int> place;
    std::size_t have = untainted.size();
    for (const Allocation* a : lost) {
      if (have >= count) break;
      have++;
      place.push_back(AllocIndex(a->Name));
      used.insert(place.back());
    }
    const std::size_t lost_places = place.size();
    if (have < count) {
      for (int i : NextIndexes(used, tg->Count, count - have)) place.push_back(i);
    }
    if (existing_state == nullptr) dstate.DesiredTotal += place.size();
    const bool place_ready = !paused && !failed;
    if (!place_ready) place.resize(lost_places);
    desired.Place += place.size();
    room -= std::min<std::int64_t>(room, static_cast<std::int64_t>(place.size()));
    if (!place.empty()) out.place[group] = place;

    std::size_t replace_now =
        place_ready ? std::min<std::size_t>(destructive.size(), static_cast<std::size_t>(room)) : 0;
    desired.DestructiveUpdate += replace_now;
    desired.Ignore += destructive.size() - replace_now;
    for (std::size_t i = 0; i < replace_now; ++i) {
      out.destructive.push_back({destructive[i]->ID, group, AllocIndex(destructive[i]->Name)});
    }

    // Nomad's createDeployment.
    const bool updating_spec = !destructive.empty() || !inplace.empty();
    if (existing_state == nullptr && rolling && dstate.DesiredTotal != 0 &&
        !(had_running && !updating_spec)) {
      if (!out.created && current == nullptr) {
        Deployment d;
        d.Namespace = job.Namespace;
        d.JobID = job.ID;
        d.JobVersion = job.Version;
        d.JobModifyIndex = job.ModifyIndex;
        d.JobSpecModifyIndex = job.JobModifyIndex;
        d.JobCreateIndex = job.CreateIndex;
        d.Status = kDeploymentRunning;
        d.StatusDescription = "Deployment is running";
        d.EvalPriority = job.Priority;
        d.CreateTime = in.now;
        out.created = std::move(d);
      }
      if (out.created) {
        if (dstate.ProgressDeadline != 0) {
          dstate.RequireProgressBy = GoTime::FromUnixNanos(in.now + dstate.ProgressDeadline);
        }
        out.created->TaskGroups[group] = dstate;
      }
    }

    // Nomad's isDeploymentComplete.
    bool group_complete = destructive.empty() && inplace.empty() && place.empty() &&
                          current != nullptr;
    if (group_complete && existing_state != nullptr &&
        existing_state->HealthyAllocs < existing_state->DesiredTotal) {
      group_complete = false;
    }
    complete = complete && group_complete;
  }

  if (current != nullptr && complete && current->Status == kDeploymentRunning) {
    out.deployment_updates.push_back(
        {current->ID, kDeploymentSuccessful, "Deployment completed successfully"});
  }
  return out;
}

}  // namespace drover
