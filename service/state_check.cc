#include "service/state_check.h"

#include <algorithm>
#include <boost/json.hpp>
#include <future>
#include <map>
#include <limits>
#include <set>
#include <sstream>

#include "storage/codec.h"
#include "storage/journal.h"
#include "storage/journal_scan.h"

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

// A digest of a set of (key, topic) pairs: their number and the sum of
// their hashes, equal for equal sets whatever the order they are added in.
struct IndexDigest {
  std::uint64_t count = 0, sum = 0;
  void Add(std::string_view key, std::string_view topic) {
    std::uint64_t h = std::hash<std::string_view>{}(key) * 0x9e3779b97f4a7c15ULL;
    h ^= std::hash<std::string_view>{}(topic) + (h << 6) + (h >> 2);
    ++count;
    sum += h;
  }
  friend bool operator==(const IndexDigest&, const IndexDigest&) = default;
};

std::uint64_t BaseOf(const StateStore& store) {
  auto base = store.GetMeta("journal/base");
  return base.ok() && *base ? std::strtoull((*base)->c_str(), nullptr, 10) : 0;
}

// A journal_objects key in words: "allocation <id>" or "job <ns>/<id>",
// with the entry it points at.
std::string DescribeIndexKey(std::string_view key, std::uint64_t* index) {
  *index = 0;
  if (key.size() < 14) return "journal_objects key of " + std::to_string(key.size()) + " bytes";
  const std::string_view where = key.substr(key.size() - 12);
  for (int i = 0; i < 8; ++i) *index = (*index << 8) | static_cast<unsigned char>(where[i]);
  std::uint32_t seq = 0;
  for (int i = 8; i < 12; ++i) seq = (seq << 8) | static_cast<unsigned char>(where[i]);
  std::string_view body = key.substr(1, key.size() - 13);
  if (!body.empty() && body.back() == '\0') body.remove_suffix(1);
  std::string what;
  if (key[0] == 'a') {
    what = "allocation " + std::string(body);
  } else if (key[0] == 'n') {
    what = "node " + std::string(body);
  } else {
    const std::size_t sep = body.find('\0');
    what = sep == std::string_view::npos
               ? "job " + std::string(body)
               : "job " + JobName(std::string(body.substr(sep + 1)), std::string(body.substr(0, sep)));
  }
  return what + " -> entry " + std::to_string(*index) + "." + std::to_string(seq);
}

// Whether a journal_objects key of this kind belongs in a store of this
// schema: Node events are indexed since v10.
bool Indexed(const StateStore& store, std::string_view key) {
  return store.schema_version() >= 10 || key.empty() || key[0] != 'n';
}

// The keys the journal's entries after `base` should have and the keys
// journal_objects holds, both sorted and compared: the slow path, run
// only when the digests differ (it holds every key in memory).
Result<std::vector<CheckReport::Problem>> JournalIndexProblems(const StateStore& store,
                                                               std::uint64_t base) {
  std::vector<std::pair<std::string, std::string>> want, have;
  std::uint64_t change = 0;
  std::uint32_t seq = 0;
  RETURN_IF_ERROR(ScanJournalHeads(store, base + 1, [&](const EventHead& h, std::string_view raw) -> Result<bool> {
    seq = h.index == change ? seq + 1 : 0;
    change = h.index;
    ASSIGN_OR_RETURN(JournalObjectEntry e, JournalObjectKeysOf(h.index, seq, raw));
    for (std::string& k : e.keys) {
      if (Indexed(store, k)) want.emplace_back(std::move(k), e.topic);
    }
    return true;
  }));
  RETURN_IF_ERROR(store.ScanJournalObjects([&](std::string_view key, std::string_view topic) {
    have.emplace_back(std::string(key), std::string(topic));
    return true;
  }));
  std::sort(want.begin(), want.end());
  std::vector<CheckReport::Problem> out;
  constexpr std::size_t kMaxListed = 100;
  std::size_t more = 0;
  auto add = [&](const std::string& key, const std::string& text) {
    std::uint64_t index = 0;
    const std::string who = "journal_objects " + DescribeIndexKey(key, &index);
    if (out.size() < kMaxListed) out.push_back({who, index, who + ": " + text});
    else ++more;
  };
  std::size_t i = 0, j = 0;
  while (i < want.size() || j < have.size()) {
    if (j == have.size() || (i < want.size() && want[i].first < have[j].first)) {
      add(want[i].first, "missing: the journal entry (" + want[i].second + ") is not indexed");
      ++i;
    } else if (i == want.size() || have[j].first < want[i].first) {
      add(have[j].first, "no journal entry has this key (topic " + have[j].second + ")");
      ++j;
    } else {
      if (want[i].second != have[j].second) {
        add(have[j].first, "indexed as " + have[j].second + ", but the entry is " + want[i].second);
      }
      ++i, ++j;
    }
  }
  if (more > 0) {
    out.push_back({"journal_objects", 0, "... and " + std::to_string(more) + " more differences"});
  }
  return out;
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
  // The tables are read on another thread while this one replays the
  // journal.
  struct Tables {
    std::vector<Job> jobs;
    std::vector<Evaluation> evals;
    std::vector<Allocation> allocs;
    std::vector<Node> nodes;
    std::vector<StateStore::TaskLocalEntry> locals;
    IndexDigest journal_objects;  // the keys the journal object index holds
  };
  std::future<Result<Tables>> reading = std::async(std::launch::async, [&store]() -> Result<Tables> {
    Tables t;
    ASSIGN_OR_RETURN(t.jobs, store.ListJobs());
    ASSIGN_OR_RETURN(t.evals, store.ListEvals());
    ASSIGN_OR_RETURN(t.allocs, store.ListAllocsByIDPrefix(""));
    ASSIGN_OR_RETURN(t.nodes, store.ListNodes());
    ASSIGN_OR_RETURN(t.locals, store.ListTaskLocal());
    RETURN_IF_ERROR(store.ScanJournalObjects([&](std::string_view key, std::string_view topic) {
      t.journal_objects.Add(key, topic);
      return true;
    }));
    return t;
  });
  // An unreadable journal is a finding, not a reason to stop checking.
  // One pass over the journal: the replay, and the object index keys each
  // entry should have, summed into a digest.
  phase("replaying the journal");
  IndexDigest expected;
  std::size_t entries = 0;
  Result<JournalState> replayed = ReplayJournal(
      store, std::numeric_limits<std::uint64_t>::max(),
      [&](const EventHead& h, std::uint32_t seq, std::string_view raw) -> Status {
        if (h.payload != std::string_view::npos) {
          VisitEntryObjectKeys(h, seq, [&](std::string_view key) {
            if (Indexed(store, key)) expected.Add(key, h.topic);
          });
        } else {  // an entry in another shape (escapes): its keys as the writer made them
          ASSIGN_OR_RETURN(JournalObjectEntry e, JournalObjectKeysOf(h.index, seq, raw));
          for (const std::string& k : e.keys) {
            if (Indexed(store, k)) expected.Add(k, e.topic);
          }
        }
        if (++entries % 100'000 == 0) phase("replaying the journal: " + std::to_string(entries) + " entries");
        return Status::Ok();
      });
  phase("comparing");
  ASSIGN_OR_RETURN(Tables tables, reading.get());
  std::vector<Job>& jobs = tables.jobs;
  std::vector<Evaluation>& evals = tables.evals;
  std::vector<Allocation>& allocs = tables.allocs;
  std::vector<Node>& nodes = tables.nodes;
  std::vector<StateStore::TaskLocalEntry>& locals = tables.locals;

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

  // Secondary indexes, keys only: the creation-order index and the job
  // index, one scan each.
  {
    phase("checking the listing indexes");
    CheckReport::Invariant inv{"allocation listing indexes cover every allocation, and only those", {}};
    ASSIGN_OR_RETURN(std::vector<StateStore::AllocKey> by_create, store.ListAllocKeys());
    std::map<std::string, std::uint64_t> listed;
    for (const auto& k : by_create) {
      const Allocation* a = find_alloc(k.id);
      if (a == nullptr) {
        const std::string who = "allocation " + k.id;
        inv.problems.push_back({who, k.create_index,
                                who + " is in the creation-order index at " +
                                    std::to_string(k.create_index) + " but does not exist"});
      }
      listed.emplace(k.id, k.create_index);
    }
    std::set<std::string> by_job;  // namespace \0 job \0 alloc ID
    RETURN_IF_ERROR(store.ScanAllocJobIndex([&](std::string_view ns, std::string_view job,
                                                std::string_view id) {
      const Allocation* a = find_alloc(std::string(id));
      if (a == nullptr || a->Namespace != ns || a->JobID != job) {
        const std::string who = "allocation " + std::string(id);
        inv.problems.push_back({who, a != nullptr ? a->ModifyIndex : 0,
                                who + " is in the index of job " +
                                    JobName(std::string(ns), std::string(job)) +
                                    (a == nullptr ? " but does not exist"
                                                  : " but belongs to job " + JobName(a->Namespace, a->JobID))});
      }
      by_job.insert(std::string(ns) + '\0' + std::string(job) + '\0' + std::string(id));
      return true;
    }));
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
      if (!by_job.count(a.Namespace + '\0' + a.JobID + '\0' + a.ID)) {
        inv.problems.push_back({who, a.CreateIndex, who + " is missing from the index of job " +
                                                        JobName(a.Namespace, a.JobID)});
      }
    }
    report.invariants.push_back(std::move(inv));
  }

  // The journal's object index (journal_objects) against the journal: a
  // digest of the keys each entry should have against one of the keys
  // there are; only when they differ are both listed to name the keys.
  {
    phase("checking the journal object index");
    CheckReport::Invariant inv{"the journal object index lists every journal entry, and only those", {}};
    if (replayed.ok()) {
      if (!(tables.journal_objects == expected)) {
        phase("finding the journal object index's differences");
        ASSIGN_OR_RETURN(inv.problems, JournalIndexProblems(store, BaseOf(store)));
        if (inv.problems.empty()) {
          inv.problems.push_back({"journal_objects", 0,
                                  "the journal object index changed while it was read; run the check again"});
        }
      }
    }
    report.invariants.push_back(std::move(inv));
  }
  return report;
}

}  // namespace drover
