#include "service/state_check.h"

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <set>
#include <sstream>

#include "storage/codec.h"
#include "storage/journal.h"

namespace drover {
namespace {

namespace json = boost::json;

std::string JobName(const std::string& ns, const std::string& id) { return ns + "/" + id; }

// Top-level fields where two objects differ; TaskStates per task.
template <typename T>
std::string DiffFields(const T& live, const T& rebuilt) {
  json::value a = ToJson(live), b = ToJson(rebuilt);
  std::vector<std::string> fields;
  for (const auto& [key, value] : a.get_object()) {
    const json::value* other = b.get_object().if_contains(key);
    if (other != nullptr && *other == value) continue;
    if (key == "TaskStates" && other != nullptr && value.is_object() && other->is_object()) {
      for (const auto& [task, state] : value.get_object()) {
        const json::value* o = other->get_object().if_contains(task);
        if (o == nullptr) {
          fields.push_back("TaskStates." + std::string(task) + " (not in the journal)");
        } else if (*o != state) {
          for (const char* f : {"State", "Failed", "Restarts", "Events", "FinishedAt"}) {
            const json::value* lv = state.get_object().if_contains(f);
            const json::value* jv = o->get_object().if_contains(f);
            if (lv && jv && *lv != *jv) {
              std::string detail = std::string(f) == "Events"
                                       ? "events differ"
                                       : json::serialize(*lv) + " vs journal " + json::serialize(*jv);
              fields.push_back("TaskStates." + std::string(task) + "." + f + ": " + detail);
            }
          }
        }
      }
      continue;
    }
    fields.push_back(std::string(key));
  }
  std::string out;
  for (const auto& f : fields) out += (out.empty() ? "" : ", ") + f;
  return out;
}

// Compares one table, live against rebuilt, keyed by `key`: one lookup
// per object.
template <typename T, typename Key>
void CompareTable(const char* what, const std::vector<T>& live, const std::map<Key, T>& rebuilt,
                  const std::function<Key(const T&)>& key,
                  const std::function<std::string(const Key&)>& name,
                  std::vector<CheckReport::Problem>& problems) {
  std::set<Key> seen;
  for (const T& obj : live) {
    Key k = key(obj);
    seen.insert(k);
    const std::string who = std::string(what) + " " + name(k);
    auto it = rebuilt.find(k);
    if (it == rebuilt.end()) {
      problems.push_back({who, obj.ModifyIndex, who + " is in the store but no journal event wrote it"});
    } else if (!(it->second == obj)) {
      problems.push_back({who, std::max(obj.ModifyIndex, it->second.ModifyIndex),
                          who + " differs from its latest journal event (ModifyIndex " +
                              std::to_string(obj.ModifyIndex) + " live, " +
                              std::to_string(it->second.ModifyIndex) + " in the journal): " +
                              DiffFields(obj, it->second)});
    }
  }
  for (const auto& [k, obj] : rebuilt) {
    if (!seen.count(k)) {
      const std::string who = std::string(what) + " " + name(k);
      problems.push_back({who, obj.ModifyIndex, who + " is in the journal (index " +
                                                    std::to_string(obj.ModifyIndex) +
                                                    ") but missing from the store"});
    }
  }
}

template <typename T>
std::uint64_t MaxModifyIndex(const std::vector<T>& objs) {
  std::uint64_t m = 0;
  for (const T& o : objs) m = std::max(m, o.ModifyIndex);
  return m;
}

template <typename Map>
std::uint64_t MaxModifyIndexOf(const Map& objs) {
  std::uint64_t m = 0;
  for (const auto& [k, o] : objs) m = std::max(m, o.ModifyIndex);
  return m;
}

}  // namespace

bool CheckReport::ok() const {
  return std::all_of(invariants.begin(), invariants.end(),
                     [](const Invariant& i) { return i.problems.empty(); });
}

std::string CheckReport::Format() const {
  std::ostringstream out;
  for (const Invariant& inv : invariants) {
    out << (inv.problems.empty() ? "ok      " : "FAILED  ") << inv.name << "\n";
    for (const auto& p : inv.problems) {
      out << "        - ";
      if (p.index > 0) out << "[index " << p.index << "] ";
      out << p.text << "\n";
    }
  }
  std::size_t failed = std::count_if(invariants.begin(), invariants.end(),
                                     [](const Invariant& i) { return !i.problems.empty(); });
  if (failed == 0) {
    out << "state check passed: " << invariants.size() << " invariants hold\n";
  } else {
    std::size_t problems = 0;
    for (const Invariant& inv : invariants) problems += inv.problems.size();
    out << "state check FAILED: " << failed << " of " << invariants.size()
        << " invariants do not hold (" << problems << (problems == 1 ? " problem)\n" : " problems)\n");
  }
  return out.str();
}

Result<CheckReport> CheckState(const StateStore& store, const CheckProgress& progress) {
  auto phase = [&](const std::string& what) {
    if (progress) progress(what);
  };
  phase("reading the tables");
  ASSIGN_OR_RETURN(std::vector<Job> jobs, store.ListJobs());
  ASSIGN_OR_RETURN(std::vector<Evaluation> evals, store.ListEvals());
  ASSIGN_OR_RETURN(std::vector<Allocation> allocs, store.ListAllocsByIDPrefix(""));
  ASSIGN_OR_RETURN(std::vector<Node> nodes, store.ListNodes());
  ASSIGN_OR_RETURN(std::vector<StateStore::TaskLocalEntry> locals, store.ListTaskLocal());
  // An unreadable journal is a finding, not a reason to stop checking.
  phase("replaying the journal");
  Result<JournalState> replayed = ReplayJournal(store);
  phase("comparing");

  CheckReport report;
  const std::uint64_t global = store.LatestIndex();

  // Every allocation's job exists.
  {
    CheckReport::Invariant inv{"every allocation's job exists (or the journal records its purge)", {}};
    std::set<std::pair<std::string, std::string>> job_keys;
    for (const Job& j : jobs) job_keys.emplace(j.Namespace, j.ID);
    for (const Allocation& a : allocs) {
      auto key = std::make_pair(a.Namespace, a.JobID);
      if (job_keys.count(key)) continue;
      if (replayed.ok() && replayed->purged_jobs.count(key)) continue;
      inv.problems.push_back({"allocation " + a.ID, a.ModifyIndex,
                              "allocation " + a.ID + " (" + a.Name + ") belongs to job " +
                                  JobName(a.Namespace, a.JobID) +
                                  ", which does not exist and was not purged"});
    }
    report.invariants.push_back(std::move(inv));
  }

  // Indexes.
  {
    CheckReport::Invariant inv{"indexes: global >= every index; table index == largest ModifyIndex", {}};
    auto above = [&](const char* what, const std::string& id, std::uint64_t idx) {
      if (idx > global) {
        const std::string who = std::string(what) + " " + id;
        inv.problems.push_back({who, idx, who + " has ModifyIndex " + std::to_string(idx) +
                                              ", above the global index " + std::to_string(global)});
      }
    };
    for (const Job& j : jobs) above("job", JobName(j.Namespace, j.ID), j.ModifyIndex);
    for (const Evaluation& e : evals) above("evaluation", e.ID, e.ModifyIndex);
    for (const Allocation& a : allocs) above("allocation", a.ID, a.ModifyIndex);
    for (const Node& n : nodes) above("node", n.ID, n.ModifyIndex);

    const std::uint64_t live_max[] = {MaxModifyIndex(jobs), MaxModifyIndex(evals),
                                      MaxModifyIndex(allocs), MaxModifyIndex(nodes)};
    for (Table t : kAllTables) {
      const auto i = static_cast<std::size_t>(t);
      const std::uint64_t ti = store.TableIndex(t);
      const std::string name = TableName(t);
      const std::string who = "table " + name;
      if (ti > global) {
        inv.problems.push_back({who, ti, "table index of " + name + " is " + std::to_string(ti) +
                                             ", above the global index " + std::to_string(global)});
      }
      if (ti == live_max[i]) continue;
      if (ti < live_max[i]) {
        inv.problems.push_back({who, live_max[i],
                                "table index of " + name + " is " + std::to_string(ti) +
                                    ", below its largest ModifyIndex " +
                                    std::to_string(live_max[i])});
        continue;
      }
      // Above the largest object: right only if that change deleted an
      // object, which the journal shows as its latest change of the table
      // leaving no object at that index.
      if (replayed.ok()) {
        std::uint64_t rebuilt_max = 0;
        switch (t) {
          case Table::kJobs: rebuilt_max = MaxModifyIndexOf(replayed->jobs); break;
          case Table::kEvals: rebuilt_max = MaxModifyIndexOf(replayed->evals); break;
          case Table::kAllocs: rebuilt_max = MaxModifyIndexOf(replayed->allocs); break;
          case Table::kNodes: rebuilt_max = MaxModifyIndexOf(replayed->nodes); break;
          case Table::kAclTokens:
          case Table::kAclPolicies:
          case Table::kNamespaces:
          case Table::kVariables:
            break;  // not rebuilt from the journal; kAllTables does not list them
          case Table::kScalingEvents:
            break;  // not journaled; kAllTables does not list them
          case Table::kDeployments:
            break;  // not replayed; kAllTables does not list them
        }
        if (replayed->table_index[i] == ti && rebuilt_max < ti) continue;
      }
      inv.problems.push_back({who, ti, "table index of " + name + " is " + std::to_string(ti) +
                                           " but its largest ModifyIndex is " +
                                           std::to_string(live_max[i]) +
                                           " and the journal records no deletion at " +
                                           std::to_string(ti)});
    }
    report.invariants.push_back(std::move(inv));
  }

  // The store equals the state rebuilt from the journal.
  {
    CheckReport::Invariant inv{"objects and task states match the latest journal events", {}};
    if (!replayed.ok()) {
      report.journal_unreadable = true;
      inv.problems.push_back({"journal", 0, "the journal cannot be replayed: " + replayed.status().message()});
    } else {
      const JournalState& r = *replayed;
      if (r.index > global) {
        inv.problems.push_back({"journal", r.index, "the journal reaches index " +
                                                        std::to_string(r.index) +
                                                        ", above the global index " +
                                                        std::to_string(global)});
      }
      using JobKey = std::pair<std::string, std::string>;
      CompareTable<Job, JobKey>(
          "job", jobs, r.jobs, [](const Job& j) { return JobKey(j.Namespace, j.ID); },
          [](const JobKey& k) { return JobName(k.first, k.second); }, inv.problems);
      auto id = [](const std::string& k) { return k; };
      CompareTable<Evaluation, std::string>(
          "evaluation", evals, r.evals, [](const Evaluation& e) { return e.ID; }, id,
          inv.problems);
      CompareTable<Allocation, std::string>(
          "allocation", allocs, r.allocs, [](const Allocation& a) { return a.ID; }, id,
          inv.problems);
      CompareTable<Node, std::string>(
          "node", nodes, r.nodes, [](const Node& n) { return n.ID; }, id, inv.problems);
    }
    report.invariants.push_back(std::move(inv));
  }

  // No orphan task_local entries. `allocs` is sorted by ID.
  auto find_alloc = [&](const std::string& id) -> const Allocation* {
    auto it = std::lower_bound(allocs.begin(), allocs.end(), id,
                               [](const Allocation& a, const std::string& k) { return a.ID < k; });
    return it != allocs.end() && it->ID == id ? &*it : nullptr;
  };
  {
    CheckReport::Invariant inv{"every task_local entry belongs to an existing allocation and task", {}};
    for (const auto& e : locals) {
      const std::string who = "task_local " + e.alloc_id + "/" + e.task;
      const Allocation* a = find_alloc(e.alloc_id);
      if (a == nullptr) {
        inv.problems.push_back({who, 0, who + ": allocation does not exist"});
        continue;
      }
      bool known = (a->TaskStates && a->TaskStates->count(e.task)) || TaskOf(*a, e.task);
      if (!known) {
        inv.problems.push_back({who, a->ModifyIndex, who + ": allocation " + a->Name +
                                                         " has no task \"" + e.task + "\""});
      }
    }
    report.invariants.push_back(std::move(inv));
  }

  // Secondary indexes: the creation-order index read once (keys only), the
  // job index once per job.
  {
    phase("checking the listing indexes");
    CheckReport::Invariant inv{"allocation listing indexes cover every allocation", {}};
    ASSIGN_OR_RETURN(std::vector<StateStore::AllocKey> by_create, store.ListAllocKeys());
    std::map<std::string, std::uint64_t> listed;
    for (const auto& k : by_create) listed.emplace(k.id, k.create_index);
    std::map<std::pair<std::string, std::string>, std::set<std::string>> by_job;
    for (const Allocation& a : allocs) by_job[{a.Namespace, a.JobID}];
    for (auto& [job, ids] : by_job) {
      ASSIGN_OR_RETURN(std::vector<Allocation> of_job, store.ListAllocsByJob(job.first, job.second));
      for (const Allocation& a : of_job) ids.insert(a.ID);
    }
    for (const Allocation& a : allocs) {
      const std::string who = "allocation " + a.ID;
      auto it = listed.find(a.ID);
      if (it == listed.end()) {
        inv.problems.push_back({who, a.CreateIndex, who + " is missing from the creation-order index"});
      } else if (it->second != a.CreateIndex) {
        inv.problems.push_back({who, a.CreateIndex,
                                who + " is in the creation-order index at " +
                                    std::to_string(it->second) + ", not at its CreateIndex " +
                                    std::to_string(a.CreateIndex)});
      }
      if (!by_job[{a.Namespace, a.JobID}].count(a.ID)) {
        inv.problems.push_back({who, a.CreateIndex, who + " is missing from the index of job " +
                                                        JobName(a.Namespace, a.JobID)});
      }
    }
    report.invariants.push_back(std::move(inv));
  }
  return report;
}

}  // namespace drover
