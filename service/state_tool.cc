#include "service/state_tool.h"

#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <tuple>

#include "migrations/migrations.h"
#include "service/state_check.h"
#include "service/state_history.h"
#include "storage/codec.h"
#include "storage/journal.h"
#include "storage/journal_scan.h"
#include "storage/state_store.h"

namespace drover {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::uint64_t kNoIndex = std::numeric_limits<std::uint64_t>::max();
constexpr const char* kTables[] = {"jobs",       "evals",      "allocs",    "nodes",         "task_local",
                                   "deployments", "namespaces", "variables", "scaling_events"};

// The agent's default (cmd/main.cc), so both find the same data dir.
std::string DefaultDataDir() {
  if (::geteuid() == 0) return "/var/lib/drover";
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.drover";
}

// ---- Opening ------------------------------------------------------------------

Result<std::unique_ptr<StateStore>> OpenDataDir(const std::string& data_dir) {
  std::error_code ec;
  if (!fs::is_directory(data_dir, ec)) return NotFound(data_dir + ": no such directory");
  const fs::path state = fs::path(data_dir) / "state";
  if (!fs::exists(state / "CURRENT", ec)) {
    return FailedPrecondition(data_dir + " is not a Drover data dir: it has no state store at " +
                              state.string());
  }
  auto store = StateStore::OpenReadOnly(state.string());
  if (!store.ok()) {
    return store.status().Annotate(data_dir + " is not a usable Drover data dir");
  }
  const int version = (*store)->schema_version();
  if (version < migrations::OldestReadableSchema() || version > migrations::kSchemaVersion) {
    return FailedPrecondition(
        data_dir + " has schema version " + std::to_string(version) + "; this drover reads " +
        std::to_string(migrations::kSchemaVersion) +
        (version < migrations::kSchemaVersion ? " (start the agent on it once to migrate it)"
                                              : " (written by a newer Drover: upgrade)"));
  }
  return store;
}

// ---- Objects: the four tables (+ task_local), live or rebuilt --------------------

struct Objects {
  std::vector<Job> jobs;
  std::vector<Evaluation> evals;
  std::vector<Allocation> allocs;
  std::vector<Node> nodes;
  std::vector<StateStore::TaskLocalEntry> task_local;
  bool has_task_local = false;  // not rebuilt from the journal
};

Status ValidateTable(const std::string& table) {
  if (table.empty()) return Status::Ok();
  for (const char* t : kTables) {
    if (table == t) return Status::Ok();
  }
  std::string known;
  for (const char* t : kTables) known += (known.empty() ? "" : ", ") + std::string(t);
  return InvalidArgument("unknown table \"" + table + "\": use one of " + known);
}

bool Wanted(const std::string& table, const char* name) { return table.empty() || table == name; }

json::value TaskLocalJson(const StateStore::TaskLocalEntry& e) {
  auto state = ParseJson(e.json);
  return json::object{{"AllocID", e.alloc_id},
                      {"Task", e.task},
                      {"State", state.ok() ? *state : json::value(e.json)}};
}

json::object TableIndexesJson(const std::array<std::uint64_t, std::size(kAllTables)>& idx) {
  json::object out;
  for (Table t : kAllTables) out[TableName(t)] = idx[static_cast<std::size_t>(t)];
  return out;
}

// ---- Human tables ----------------------------------------------------------------

void PrintColumns(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

std::string Short(const std::string& id) { return id.size() == 36 ? id.substr(0, 8) : id; }

std::string TaskStatesText(const Allocation& a) {
  if (!a.TaskStates || a.TaskStates->empty()) return "-";
  std::string out;
  for (const auto& [name, ts] : *a.TaskStates) {
    if (!out.empty()) out += " ";
    out += name + "=" + ts.State + (ts.Failed ? "(failed)" : "");
    if (ts.Restarts > 0) {
      out += "(" + std::to_string(ts.Restarts) + (ts.Restarts == 1 ? " restart)" : " restarts)");
    }
  }
  return out;
}

void PrintObjectsTable(std::ostream& out, const Objects& o, const std::string& table) {
  auto section = [&](const char* title, std::vector<std::vector<std::string>> rows) {
    out << "\n" << title << "\n";
    if (rows.size() == 1) {
      out << "(none)\n";
      return;
    }
    PrintColumns(out, rows);
  };
  if (Wanted(table, "jobs")) {
    std::vector<std::vector<std::string>> rows{
        {"ID", "Namespace", "Type", "Version", "Status", "Stop", "Modify Index"}};
    for (const Job& j : o.jobs) {
      rows.push_back({j.ID, j.Namespace, j.Type, std::to_string(j.Version), j.Status,
                      j.Stop ? "true" : "false", std::to_string(j.ModifyIndex)});
    }
    section("Jobs", std::move(rows));
  }
  if (Wanted(table, "evals")) {
    std::vector<std::vector<std::string>> rows{
        {"ID", "Job", "Triggered By", "Status", "Modify Index"}};
    for (const Evaluation& e : o.evals) {
      rows.push_back({Short(e.ID), e.JobID, e.TriggeredBy, e.Status, std::to_string(e.ModifyIndex)});
    }
    section("Evaluations", std::move(rows));
  }
  if (Wanted(table, "allocs")) {
    std::vector<std::vector<std::string>> rows{
        {"ID", "Job", "Group", "Desired", "Status", "Task States", "Modify Index"}};
    for (const Allocation& a : o.allocs) {
      rows.push_back({Short(a.ID), a.JobID, a.TaskGroup, a.DesiredStatus, a.ClientStatus,
                      TaskStatesText(a), std::to_string(a.ModifyIndex)});
    }
    section("Allocations", std::move(rows));
  }
  if (Wanted(table, "nodes")) {
    std::vector<std::vector<std::string>> rows{{"ID", "Name", "Datacenter", "Status", "Modify Index"}};
    for (const Node& n : o.nodes) {
      rows.push_back({Short(n.ID), n.Name, n.Datacenter, n.Status, std::to_string(n.ModifyIndex)});
    }
    section("Nodes", std::move(rows));
  }
  if (o.has_task_local && Wanted(table, "task_local")) {
    std::vector<std::vector<std::string>> rows{{"Alloc ID", "Task", "Local State"}};
    for (const auto& e : o.task_local) rows.push_back({Short(e.alloc_id), e.task, e.json});
    section("Task local state", std::move(rows));
  }
}

// ---- Journal summary ----------------------------------------------------------------

struct JournalInfo {
  std::size_t entries = 0;
  std::uint64_t first = 0, last = 0, snapshot = 0;
};

// The length from meta "journal/entries" (schema v5); the first entry,
// and the last one found from the newest table index backwards, so the
// journal is not read. Without the count, every entry is counted (none
// decoded).
Result<JournalInfo> ReadJournalInfo(const StateStore& store) {
  JournalInfo info;
  ASSIGN_OR_RETURN(std::optional<std::string> base, store.GetMeta("journal/base"));
  if (base) info.snapshot = std::strtoull(base->c_str(), nullptr, 10);
  ASSIGN_OR_RETURN(std::optional<std::string> entries, store.GetMeta("journal/entries"));
  if (entries) {
    info.entries = std::strtoull(entries->c_str(), nullptr, 10);
    if (info.entries == 0) return info;
    RETURN_IF_ERROR(store.ScanEventsRaw(0, [&](std::uint64_t index, std::string_view) -> Result<bool> {
      info.first = index;
      return false;
    }));
    std::uint64_t from = 0;
    for (Table t : kAllTables) from = std::max(from, store.TableIndex(t));
    for (std::uint64_t step = 1; from >= info.first; step *= 2) {
      RETURN_IF_ERROR(store.ScanEventsRaw(from, [&](std::uint64_t index, std::string_view) -> Result<bool> {
        info.last = index;
        return true;
      }));
      if (info.last != 0 || from == info.first) return info;
      from = from - info.first > step ? from - step : info.first;
    }
    return info;
  }
  RETURN_IF_ERROR(store.ScanEventsRaw(0, [&](std::uint64_t index, std::string_view) -> Result<bool> {
    if (info.entries++ == 0) info.first = index;
    info.last = index;
    return true;
  }));
  return info;
}

// ---- state dump -------------------------------------------------------------------------

struct DumpOptions {
  std::string data_dir;
  std::string table;
  std::string id;     // ID prefix, every table
  std::string job;    // the job's objects: itself, its evaluations and allocations
  std::string alloc;  // allocations whose ID starts with this (and their task_local)
  std::string since;  // changed at or after this index or RFC 3339 time
  std::string format = "json";
};

// What --id, --job, --alloc and --since keep.
struct DumpFilter {
  std::string id, job, alloc;
  std::uint64_t since_index = 0;
  Nanos since_time = 0;

  bool Changed(std::uint64_t modify_index, Nanos modify_time) const {
    return modify_index >= since_index && (since_time == 0 || modify_time >= since_time);
  }
  bool Keep(const Job& j) const {
    return alloc.empty() && j.ID.starts_with(id) && (job.empty() || j.ID == job) &&
           Changed(j.ModifyIndex, j.SubmitTime);
  }
  bool Keep(const Evaluation& e) const {
    return alloc.empty() && e.ID.starts_with(id) && (job.empty() || e.JobID == job) &&
           Changed(e.ModifyIndex, e.ModifyTime);
  }
  bool Keep(const Allocation& a) const {
    return a.ID.starts_with(id) && a.ID.starts_with(alloc) && (job.empty() || a.JobID == job) &&
           Changed(a.ModifyIndex, a.ModifyTime);
  }
  bool Keep(const Node& n) const {
    return alloc.empty() && job.empty() && n.ID.starts_with(id) &&
           Changed(n.ModifyIndex, TimeInNanos(n.StatusUpdatedAt, kSecond));
  }
};

Result<DumpFilter> MakeDumpFilter(const DumpOptions& o) {
  DumpFilter f{o.id, o.job, o.alloc};
  if (!o.since.empty()) {
    if (o.since.find_first_not_of("0123456789") == std::string::npos) {
      if (o.since.size() > 19) return InvalidArgument("--since: index out of range");
      f.since_index = std::strtoull(o.since.c_str(), nullptr, 10);
    } else {
      auto t = ParseRFC3339(o.since);
      if (!t.ok()) return InvalidArgument("--since: an index or an RFC 3339 time: " + t.status().message());
      f.since_time = t->unix_nanos;
    }
  }
  return f;
}

template <typename T>
void KeepFiltered(std::vector<T>& objs, const DumpFilter& f) {
  std::erase_if(objs, [&](const T& o) { return !f.Keep(o); });
}

// The live objects the filter keeps, read table by table.
// Allocations only `with_allocs` (or for task_local's filter): the dump
// streams them instead.
Result<Objects> FilteredLiveObjects(const StateStore& store, const DumpFilter& f,
                                    const std::string& table, bool with_allocs = true) {
  Objects o;
  const bool narrowed = !f.job.empty() || !f.alloc.empty() || f.since_index > 0 || f.since_time > 0;
  if (Wanted(table, "jobs")) {
    ASSIGN_OR_RETURN(o.jobs, store.ListJobs());
  }
  if (Wanted(table, "evals")) {
    ASSIGN_OR_RETURN(o.evals, store.ListEvals());
  }
  if ((with_allocs && Wanted(table, "allocs")) || (narrowed && Wanted(table, "task_local"))) {
    const std::string& prefix = f.alloc.size() > f.id.size() ? f.alloc : f.id;
    ASSIGN_OR_RETURN(o.allocs, store.ListAllocsByIDPrefix(prefix));
  }
  if (Wanted(table, "nodes")) {
    ASSIGN_OR_RETURN(o.nodes, store.ListNodes());
  }
  KeepFiltered(o.jobs, f);
  KeepFiltered(o.evals, f);
  KeepFiltered(o.allocs, f);
  KeepFiltered(o.nodes, f);
  if (Wanted(table, "task_local")) {
    ASSIGN_OR_RETURN(o.task_local, store.ListTaskLocal());
    std::set<std::string> kept;
    for (const Allocation& a : o.allocs) kept.insert(a.ID);
    std::erase_if(o.task_local, [&](const auto& e) {
      return !e.alloc_id.starts_with(f.id) || (narrowed && !kept.count(e.alloc_id));
    });
    o.has_task_local = true;
  }
  if (!Wanted(table, "allocs")) o.allocs.clear();
  return o;
}

// JSON written object by object: no document of the whole store is built.
template <typename T>
void StreamList(std::ostream& out, const char* key, const std::vector<T>& objs, bool& first_member) {
  out << (first_member ? "" : ",") << "\"" << key << "\":[";
  first_member = false;
  for (std::size_t i = 0; i < objs.size(); ++i) out << (i ? "," : "") << EncodeJson(objs[i]);
  out << "]";
}

template <typename T>
void StreamLines(std::ostream& out, const char* table, const std::vector<T>& objs) {
  for (const T& o : objs) out << "{\"Table\":\"" << table << "\",\"Object\":" << EncodeJson(o) << "}\n";
}

// The tables journaled objects live in besides the four the journal
// rebuilds, read as stored JSON: what `keep` says of each, given its
// parsed form. Variables are written without their Items (secrets).
struct ExtraObject {
  const char* table;  // "deployments", ...
  std::string json;
};

// The parsed members the filters look at, from an object's JSON.
std::uint64_t U64Member(const json::object& o, const char* name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64() && v->get_int64() > 0) return static_cast<std::uint64_t>(v->get_int64());
  return 0;
}
std::string_view StringMember(const json::object& o, const char* name) {
  const json::value* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

// Deployments, namespaces, variables and scaling events the filter keeps,
// visited one at a time. --alloc keeps none of them; --job keeps a
// deployment or scaling events of that job; --since INDEX compares
// ModifyIndex (scaling events have none: kept); --since TIME keeps none
// but scaling events (no modify time either).
Status VisitExtraTables(const StateStore& store, const DumpFilter& f, const std::string& table,
                        const std::function<void(const ExtraObject&)>& visit) {
  if (!f.alloc.empty()) return Status::Ok();
  auto changed = [&](const json::object& o) {
    return U64Member(o, "ModifyIndex") >= f.since_index && f.since_time == 0;
  };
  if (Wanted(table, "deployments")) {
    ASSIGN_OR_RETURN(std::vector<Deployment> deployments, store.ListDeployments());
    for (const Deployment& d : deployments) {
      if (!d.ID.starts_with(f.id) || (!f.job.empty() && d.JobID != f.job)) continue;
      if (d.ModifyIndex < f.since_index || f.since_time != 0) continue;
      visit({"deployments", EncodeJson(d)});
    }
  }
  if (f.job.empty() && Wanted(table, "namespaces")) {
    Status bad;
    RETURN_IF_ERROR(store.ScanNamespaces([&](std::string_view text) {
      auto v = ParseJson(text);
      if (!v.ok() || !v->is_object()) {
        bad = Internal("namespaces: an entry is not a JSON object");
        return false;
      }
      const json::object& o = v->get_object();
      if (StringMember(o, "Name").starts_with(f.id) && changed(o)) visit({"namespaces", std::string(text)});
      return true;
    }));
    RETURN_IF_ERROR(bad);
  }
  if (f.job.empty() && Wanted(table, "variables")) {
    Status bad;
    RETURN_IF_ERROR(store.ScanVariables("", [&](std::string_view text) {
      auto v = ParseJson(text);
      if (!v.ok() || !v->is_object()) {
        bad = Internal("variables: an entry is not a JSON object");
        return false;
      }
      json::object& o = v->get_object();
      if (!StringMember(o, "Path").starts_with(f.id) || !changed(o)) return true;
      o.erase("Items");  // secrets stay out of dumps
      visit({"variables", json::serialize(o)});
      return true;
    }));
    RETURN_IF_ERROR(bad);
  }
  if (Wanted(table, "scaling_events") && f.since_index == 0 && f.since_time == 0) {
    ASSIGN_OR_RETURN(std::vector<Job> jobs, store.ListJobs());
    for (const Job& j : jobs) {
      if (!j.ID.starts_with(f.id) || (!f.job.empty() && j.ID != f.job)) continue;
      ASSIGN_OR_RETURN(std::optional<std::string> events, store.GetScalingEvents(j.Namespace, j.ID));
      if (!events) continue;
      json::object o{{"Namespace", j.Namespace}, {"JobID", j.ID}};
      auto parsed = ParseJson(*events);
      o["ScalingEvents"] = parsed.ok() ? *parsed : json::value(nullptr);
      visit({"scaling_events", json::serialize(o)});
    }
  }
  return Status::Ok();
}

// The allocations the filter keeps, in creation order, one at a time: the
// filter reads the list stub, the output is the stored JSON with the Job
// spliced in (as GET /v1/allocation/:id serves it), so nothing is decoded
// or encoded again and no table is held in memory.
Status StreamAllocJson(const StateStore& store, const DumpFilter& f,
                       const std::function<void(std::string_view json)>& visit) {
  const bool needs_stub = !f.job.empty() || f.since_index > 0 || f.since_time > 0;
  Status error;
  std::string stub_json;
  RETURN_IF_ERROR(store.ScanAllocStubs(false, nullptr, [&](const StateStore::StubEntry& e) {
    if (!e.id.starts_with(f.id) || !e.id.starts_with(f.alloc)) return true;
    if (needs_stub) {
      stub_json.clear();
      AppendStubJson(e.stub, false, false, stub_json);
      auto stub = DecodeJson<AllocListStub>(stub_json, "AllocListStub");
      if (!stub.ok()) {
        error = stub.status();
        return false;
      }
      if (!f.job.empty() && stub->JobID != f.job) return true;
      if (!f.Changed(stub->ModifyIndex, stub->ModifyTime)) return true;
    }
    auto alloc = store.GetAllocJson(std::string(e.id));
    if (!alloc.ok()) {
      error = alloc.status();
      return false;
    }
    if (*alloc) visit((*alloc)->json);
    return true;
  }));
  return error;
}

Status RunDump(const DumpOptions& opts) {
  RETURN_IF_ERROR(ValidateTable(opts.table));
  ASSIGN_OR_RETURN(DumpFilter filter, MakeDumpFilter(opts));
  ASSIGN_OR_RETURN(std::unique_ptr<StateStore> store, OpenDataDir(opts.data_dir));
  ASSIGN_OR_RETURN(JournalInfo journal, ReadJournalInfo(*store));
  std::array<std::uint64_t, std::size(kAllTables)> table_index{};
  for (Table t : kAllTables) table_index[static_cast<std::size_t>(t)] = store->TableIndex(t);

  if (opts.format == "table") {
    ASSIGN_OR_RETURN(Objects objects, FilteredLiveObjects(*store, filter, opts.table));
    std::cout << "Data dir        " << opts.data_dir << "\n"
              << "Schema version  " << store->schema_version() << "\n"
              << "Index           " << store->LatestIndex() << "\n"
              << "Table indexes  ";
    for (Table t : kAllTables) std::cout << " " << TableName(t) << "=" << store->TableIndex(t);
    std::cout << "\nJournal         " << journal.entries << " entries";
    if (journal.entries > 0) std::cout << ", indexes " << journal.first << ".." << journal.last;
    if (journal.snapshot > 0) std::cout << ", snapshot at " << journal.snapshot;
    std::cout << "\n";
    PrintObjectsTable(std::cout, objects, opts.table);
    std::map<std::string, std::vector<std::string>> extra;
    RETURN_IF_ERROR(VisitExtraTables(*store, filter, opts.table,
                                     [&](const ExtraObject& o) { extra[o.table].push_back(o.json); }));
    for (const char* t : {"deployments", "namespaces", "variables", "scaling_events"}) {
      if (!Wanted(opts.table, t)) continue;
      std::cout << "\n" << t << "\n";
      if (extra[t].empty()) std::cout << "(none)\n";
      for (const std::string& j : extra[t]) std::cout << j << "\n";
    }
    return Status::Ok();
  }
  // The small tables are read whole; allocations (the large one) stream.
  ASSIGN_OR_RETURN(Objects objects, FilteredLiveObjects(*store, filter, opts.table, /*allocs=*/false));
  json::object head;
  head["SchemaVersion"] = store->schema_version();
  head["Index"] = store->LatestIndex();
  head["TableIndexes"] = TableIndexesJson(table_index);
  head["Journal"] = json::object{{"Entries", journal.entries},
                                 {"FirstIndex", journal.first},
                                 {"LastIndex", journal.last},
                                 {"SnapshotIndex", journal.snapshot}};
  if (opts.format == "ndjson") {
    // A header line, then one line per object: {"Table": ..., "Object": ...}.
    std::cout << json::serialize(head) << "\n";
    if (Wanted(opts.table, "jobs")) StreamLines(std::cout, "jobs", objects.jobs);
    if (Wanted(opts.table, "evals")) StreamLines(std::cout, "evals", objects.evals);
    if (Wanted(opts.table, "allocs")) {
      RETURN_IF_ERROR(StreamAllocJson(*store, filter, [&](std::string_view j) {
        std::cout << "{\"Table\":\"allocs\",\"Object\":" << j << "}\n";
      }));
    }
    if (Wanted(opts.table, "nodes")) StreamLines(std::cout, "nodes", objects.nodes);
    if (objects.has_task_local) {
      for (const auto& e : objects.task_local) {
        std::cout << "{\"Table\":\"task_local\",\"Object\":" << json::serialize(TaskLocalJson(e)) << "}\n";
      }
    }
    return VisitExtraTables(*store, filter, opts.table, [&](const ExtraObject& o) {
      std::cout << "{\"Table\":\"" << o.table << "\",\"Object\":" << o.json << "}\n";
    });
  }
  std::string text = json::serialize(head);
  text.pop_back();  // the closing brace: the tables follow
  std::cout << text;
  bool first = false;
  if (Wanted(opts.table, "jobs")) StreamList(std::cout, "Jobs", objects.jobs, first);
  if (Wanted(opts.table, "evals")) StreamList(std::cout, "Evaluations", objects.evals, first);
  if (Wanted(opts.table, "allocs")) {
    std::cout << ",\"Allocations\":[";
    bool first_alloc = true;
    RETURN_IF_ERROR(StreamAllocJson(*store, filter, [&](std::string_view j) {
      std::cout << (first_alloc ? "" : ",") << j;
      first_alloc = false;
    }));
    std::cout << "]";
  }
  if (Wanted(opts.table, "nodes")) StreamList(std::cout, "Nodes", objects.nodes, first);
  if (objects.has_task_local) {
    std::cout << ",\"TaskLocal\":[";
    for (std::size_t i = 0; i < objects.task_local.size(); ++i) {
      std::cout << (i ? "," : "") << json::serialize(TaskLocalJson(objects.task_local[i]));
    }
    std::cout << "]";
  }
  // The other tables, each a list under its name, in table order.
  std::map<std::string, bool> opened;
  static const std::map<std::string, const char*> kKeys = {{"deployments", "Deployments"},
                                                           {"namespaces", "Namespaces"},
                                                           {"variables", "Variables"},
                                                           {"scaling_events", "ScalingEvents"}};
  std::string current;
  auto close = [&] {
    if (!current.empty()) std::cout << "]";
  };
  auto open = [&](const std::string& t) {
    if (current == t) return;
    close();
    current = t;
    opened[t] = true;
    std::cout << ",\"" << kKeys.at(t) << "\":[";
  };
  bool first_extra = true;
  RETURN_IF_ERROR(VisitExtraTables(*store, filter, opts.table, [&](const ExtraObject& o) {
    first_extra = current != o.table;
    open(o.table);
    std::cout << (first_extra ? "" : ",") << o.json;
  }));
  close();
  for (const auto& [t, key] : kKeys) {
    if (Wanted(opts.table, t.c_str()) && !opened[t]) std::cout << ",\"" << key << "\":[]";
  }
  std::cout << "}\n";
  return Status::Ok();
}

// ---- state check ------------------------------------------------------------------------

// Exit statuses of `state check`, one per kind of outcome.
constexpr int kCheckHealthy = 0;
constexpr int kCheckViolations = 1;
constexpr int kCheckUnreadable = 3;

// "checking: replaying the journal (3.2 s)" on one rewritten line, when
// stderr is a terminal.
class ProgressLine {
 public:
  ProgressLine() : tty_(::isatty(2) == 1), start_(std::chrono::steady_clock::now()) {}
  ~ProgressLine() { Clear(); }
  void Show(const std::string& phase) {
    if (!tty_) return;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    char when[32];
    std::snprintf(when, sizeof(when), " (%.1f s)", s);
    std::cerr << "\r\033[Kchecking: " << phase << when << std::flush;
    shown_ = true;
  }
  void Clear() {
    if (shown_) std::cerr << "\r\033[K" << std::flush;
    shown_ = false;
  }

 private:
  bool tty_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_;
};

int RunCheck(const std::string& data_dir) {
  auto store = OpenDataDir(data_dir);
  if (!store.ok()) {
    std::cerr << "drover: " << store.status().message() << "\n";
    return kCheckUnreadable;
  }
  ProgressLine progress;
  auto report = CheckState(**store, [&](const std::string& phase) { progress.Show(phase); });
  progress.Clear();
  if (!report.ok()) {
    std::cerr << "drover: the state store cannot be read: " << report.status().message() << "\n";
    return kCheckUnreadable;
  }
  std::cout << "Checking " << data_dir << " at index " << (*store)->LatestIndex() << "\n"
            << report->Format();
  if (report->journal_unreadable) return kCheckUnreadable;
  return report->ok() ? kCheckHealthy : kCheckViolations;
}

// ---- events replay ------------------------------------------------------------------------

struct ReplayOptions {
  std::string data_dir;
  std::string alloc, task, job, since;
  std::uint64_t from_index = 0, to_index = kNoIndex, at = kNoIndex;
  bool json = false;
  std::string table, id;
};

std::string TaskEventText(const TaskEvent& e) {
  std::string out = e.Type;
  if (e.Type == "Terminated") {
    out += " (exit " + std::to_string(e.ExitCode);
    if (e.Signal != 0) out += ", signal " + std::to_string(e.Signal);
    out += ")";
  } else if (e.Type == "Not Restarting" || e.Type == "Driver Failure" ||
             e.Type == "Setup Failure") {
    if (!e.DisplayMessage.empty()) out += " (" + e.DisplayMessage + ")";
  }
  return out;
}

// What changed in task `name` from `before` (null: new) to `after`; empty
// if nothing did.
std::string TaskChange(const std::string& name, const TaskState* before, const TaskState& after) {
  if (before != nullptr && *before == after) return "";
  Nanos seen = 0;
  if (before != nullptr) {
    for (const TaskEvent& e : before->Events) seen = std::max(seen, e.Time);
  }
  std::string out = name + ": " + after.State;
  if (after.Failed) out += " (failed)";
  if (after.Restarts > 0) out += ", restarts " + std::to_string(after.Restarts);
  std::string added;
  for (const TaskEvent& e : after.Events) {
    if (e.Time > seen) added += (added.empty() ? "" : ", ") + TaskEventText(e);
  }
  if (!added.empty()) out += " +[" + added + "]";
  return out;
}

const TaskState* FindTask(const Allocation* a, const std::string& task) {
  if (a == nullptr || !a->TaskStates) return nullptr;
  auto it = a->TaskStates->find(task);
  return it == a->TaskStates->end() ? nullptr : &it->second;
}

// One line describing `e`, given the state `next` right after it and, for
// an allocation event, the allocation just before it (`before`).
std::string Summary(const Event& e, const Allocation* before, const JournalState& next,
                    const std::string& only_task) {
  if (e.Topic == "Job") {
    auto it = next.jobs.find({e.Namespace, e.Key});
    if (it == next.jobs.end()) return "job " + e.Key + " purged";
    const Job& j = it->second;
    if (e.Type == "JobDeregistered") {
      return "job " + j.ID + " stopped (version " + std::to_string(j.Version) + ")";
    }
    return "job " + j.ID + " version " + std::to_string(j.Version) + " registered (" + j.Type +
           ", " + std::to_string(j.TaskGroups.size()) + " group" +
           (j.TaskGroups.size() == 1 ? ")" : "s)");
  } else if (e.Topic == "Evaluation") {
    if (auto it = next.evals.find(e.Key); it != next.evals.end()) {
      const Evaluation& ev = it->second;
      return "eval for job " + ev.JobID + ": " + ev.TriggeredBy + " -> " + ev.Status +
             (ev.StatusDescription.empty() ? "" : " (" + ev.StatusDescription + ")");
    }
  } else if (e.Topic == "Allocation") {
    auto it = next.allocs.find(e.Key);
    if (it == next.allocs.end()) return "";
    const Allocation& a = it->second;
    std::string out = a.Name;
    if (before == nullptr) return out + " placed (desired " + a.DesiredStatus + ")";
    if (before->DesiredStatus != a.DesiredStatus) {
      out += " desired " + a.DesiredStatus +
             (a.DesiredDescription.empty() ? "" : " (" + a.DesiredDescription + ")");
    }
    if (before->ClientStatus != a.ClientStatus) out += " client " + a.ClientStatus;
    if (a.TaskStates) {
      for (const auto& [name, ts] : *a.TaskStates) {
        if (!only_task.empty() && name != only_task) continue;
        std::string change = TaskChange(name, FindTask(before, name), ts);
        if (!change.empty()) out += "; " + change;
      }
    }
    return out;
  } else if (e.Topic == "Node") {
    if (auto it = next.nodes.find(e.Key); it != next.nodes.end()) {
      return "node " + it->second.Name + " " + it->second.Status;
    }
  }
  return "";
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool Matches(const ReplayOptions& o, const Event& e, Nanos since, const Allocation* prev,
             const JournalState& next) {
  if (e.Index < o.from_index || e.Index > o.to_index) return false;
  if (since > 0 && EventTime(e) < since) return false;
  if (!o.job.empty()) {
    bool of_job = e.Topic == "Job" ? e.Key == o.job : Contains(e.FilterKeys, o.job);
    if (!of_job) return false;
  }
  if (!o.alloc.empty() && (e.Topic != "Allocation" || !e.Key.starts_with(o.alloc))) return false;
  if (!o.task.empty()) {
    if (e.Topic != "Allocation") return false;
    auto it = next.allocs.find(e.Key);
    const TaskState* after = it == next.allocs.end() ? nullptr : FindTask(&it->second, o.task);
    if (after == nullptr) return false;
    const TaskState* before = FindTask(prev, o.task);
    if (before != nullptr && *before == *after) return false;
  }
  return true;
}

Status RunAt(const ReplayOptions& opts, const StateStore& store) {
  RETURN_IF_ERROR(ValidateTable(opts.table));
  if (!opts.table.empty() && opts.table != "jobs" && opts.table != "evals" && opts.table != "allocs" &&
      opts.table != "nodes") {
    return InvalidArgument(opts.table + " is not rebuilt from the journal, so --at cannot show it");
  }
  ASSIGN_OR_RETURN(JournalState state, ReplayJournal(store, opts.at));
  // Written object by object from the rebuilt tables: no copy of them and
  // no document of the whole state is built.
  std::cout << "{\"Index\":" << std::min(opts.at, std::max(state.index, store.LatestIndex()))
            << ",\"TableIndexes\":" << json::serialize(TableIndexesJson(state.table_index));
  auto list = [&](const char* table, const char* key, const auto& objects) {
    if (!Wanted(opts.table, table)) return;
    std::cout << ",\"" << key << "\":[";
    bool first = true;
    for (const auto* o : objects) {
      if (!o->ID.starts_with(opts.id)) continue;
      std::cout << (first ? "" : ",") << EncodeJson(*o);
      first = false;
    }
    std::cout << "]";
  };
  auto values = [](const auto& map) {
    std::vector<const typename std::decay_t<decltype(map)>::mapped_type*> out;
    for (const auto& [k, v] : map) out.push_back(&v);
    return out;
  };
  auto evals = values(state.evals);
  // In the store's listing order: evaluations are chronological (schema v2).
  std::sort(evals.begin(), evals.end(), [](const Evaluation* a, const Evaluation* b) {
    return std::tie(a->CreateIndex, a->ID) < std::tie(b->CreateIndex, b->ID);
  });
  list("jobs", "Jobs", values(state.jobs));
  list("evals", "Evaluations", evals);
  // Allocations share a few job versions: each version's JSON is written
  // once and spliced into its allocations'.
  if (Wanted(opts.table, "allocs")) {
    std::map<std::tuple<std::string, std::string, std::uint64_t, std::uint64_t>, std::string> jobs;
    std::cout << ",\"Allocations\":[";
    bool first = true;
    // In the store's listing order (as `state dump` writes them): by
    // CreateIndex, then ID.
    std::vector<Allocation*> allocs;
    for (auto& [id, a] : state.allocs) {
      if (id.starts_with(opts.id)) allocs.push_back(&a);
    }
    std::sort(allocs.begin(), allocs.end(), [](const Allocation* x, const Allocation* y) {
      return std::tie(x->CreateIndex, x->ID) < std::tie(y->CreateIndex, y->ID);
    });
    for (Allocation* alloc : allocs) {
      Allocation& a = *alloc;
      std::optional<Job> job = std::move(a.Job);
      a.Job.reset();
      std::string text = EncodeJson(a);
      if (job) {
        auto [it, fresh] = jobs.try_emplace({job->Namespace, job->ID, job->Version, job->JobModifyIndex});
        if (fresh) it->second = EncodeJson(*job);
        ASSIGN_OR_RETURN(text, SpliceJob(text, it->second));
      }
      std::cout << (first ? "" : ",") << text;
      first = false;
    }
    std::cout << "]";
  }
  list("nodes", "Nodes", values(state.nodes));
  std::cout << "}\n";
  return Status::Ok();
}

Status RunReplay(const ReplayOptions& opts) {
  ASSIGN_OR_RETURN(std::unique_ptr<StateStore> store, OpenDataDir(opts.data_dir));
  if (opts.at != kNoIndex) return RunAt(opts, *store);

  Nanos since = 0;
  if (!opts.since.empty()) {
    auto t = ParseRFC3339(opts.since);
    if (!t.ok()) return InvalidArgument("--since: " + t.status().message());
    since = t->unix_nanos;
  }
  // With --alloc or --job only those objects' entries are read, through
  // the per-object index; else the whole journal is folded from the start
  // (summaries describe each change against the state just before it).
  const bool indexed = !opts.alloc.empty() || !opts.job.empty();
  JournalState state;
  if (indexed) {
    ASSIGN_OR_RETURN(state, LoadJournalSnapshot(*store, [&](std::string_view topic, std::string_view,
                                                           std::string_view id, std::string_view job) {
      if (!opts.alloc.empty()) return topic == "Allocation" && id.starts_with(opts.alloc);
      return topic == "Job" ? id == opts.job : job == opts.job;
    }));
  } else {
    ASSIGN_OR_RETURN(state, LoadJournalSnapshot(*store));
  }
  if (state.index > 0 && opts.from_index <= state.index) {
    std::cerr << "note: history through index " << state.index
              << " was compacted into a snapshot; the timeline starts after it\n";
  }
  std::vector<std::vector<std::string>> rows{{"TIME", "INDEX", "TOPIC", "TYPE", "KEY", "SUMMARY"}};
  auto show = [&](std::string_view raw) -> Status {
    ASSIGN_OR_RETURN(Event e, DecodeJournalEntry(raw));
    // Only an allocation's summary needs the object as it was before.
    std::optional<Allocation> before;
    if (e.Topic == "Allocation") {
      if (auto it = state.allocs.find(e.Key); it != state.allocs.end()) before = it->second;
    }
    RETURN_IF_ERROR(ApplyEvent(state, e));
    const Allocation* prev = before ? &*before : nullptr;
    if (!Matches(opts, e, since, prev, state)) return Status::Ok();
    if (opts.json) {
      std::cout << EncodeJson(e) << "\n";
    } else {
      rows.push_back({TimelineTime(EventTime(e)), std::to_string(e.Index), e.Topic, e.Type,
                      Short(e.Key), Summary(e, prev, state, opts.task)});
    }
    return Status::Ok();
  };
  if (indexed) {
    ASSIGN_OR_RETURN(std::vector<JournalKey> keys, !opts.alloc.empty()
                                                       ? store->ListAllocJournal(opts.alloc, true)
                                                       : store->ListJobJournal(opts.job, ""));
    for (const JournalKey& k : keys) {
      if (k.index <= state.index) continue;
      if (k.index > opts.to_index) break;
      ASSIGN_OR_RETURN(std::optional<std::string> raw, store->GetJournalEntry(k));
      if (raw) RETURN_IF_ERROR(show(*raw));
    }
    if (!opts.json) PrintColumns(std::cout, rows);
    return Status::Ok();
  }
  // Entries no filter can match are not decoded; job entries always are
  // (an allocation's first entry embeds its job as it is then), and every
  // entry of a matching allocation is (a summary compares it with the one
  // before).
  RETURN_IF_ERROR(ScanJournalHeads(*store, state.index + 1,
                                   [&](const EventHead& h, std::string_view raw) -> Result<bool> {
    if (h.index > opts.to_index) return false;
    if (h.topic != "Job") {
      if (!opts.job.empty() && !h.HasFilterKey(opts.job)) return true;
      if (!opts.alloc.empty() && (h.topic != "Allocation" || !h.key.starts_with(opts.alloc))) return true;
      if (!opts.task.empty() && h.topic != "Allocation") return true;
    }
    RETURN_IF_ERROR(show(raw));
    return true;
  }));
  if (!opts.json) PrintColumns(std::cout, rows);
  return Status::Ok();
}

// ---- Wiring -------------------------------------------------------------------------------

[[noreturn]] void Fail(const Status& st) {
  std::cerr << "drover: " << st.message() << "\n";
  throw CLI::RuntimeError(st.code() == StatusCode::kInvalidArgument ? 2 : 1);
}

void AddDataDirOption(CLI::App* cmd, std::string& data_dir) {
  cmd->add_option("--data-dir", data_dir,
                  "The agent's data dir (default: ~/.drover, /var/lib/drover for root)");
}

}  // namespace

void AddStateCommands(CLI::App& app) {
  auto* state = app.add_subcommand("state", "Inspect the state store of a data dir (read-only)");
  state->require_subcommand(1);

  auto dump_opts = std::make_shared<DumpOptions>();
  auto* dump = state->add_subcommand("dump", "Print the state: indexes and objects");
  AddDataDirOption(dump, dump_opts->data_dir);
  dump->add_option("--table", dump_opts->table,
                   "Only this table: jobs, evals, allocs, nodes, task_local, deployments, "
                   "namespaces, variables, scaling_events");
  dump->add_option("--id", dump_opts->id, "Only objects whose ID starts with this prefix");
  dump->add_option("--job", dump_opts->job, "Only this job, its evaluations and allocations");
  dump->add_option("--alloc", dump_opts->alloc,
                   "Only allocations whose ID starts with this (and their task_local)");
  dump->add_option("--since", dump_opts->since,
                   "Only objects changed at or after this index or RFC 3339 time");
  dump->add_option("--format", dump_opts->format,
                   "json (one document), ndjson (a header line, then one line per object) or table")
      ->check(CLI::IsMember({"json", "ndjson", "table"}))
      ->capture_default_str();
  dump->callback([dump_opts] {
    if (dump_opts->data_dir.empty()) dump_opts->data_dir = DefaultDataDir();
    if (Status st = RunDump(*dump_opts); !st.ok()) Fail(st);
  });

  auto check_dir = std::make_shared<std::string>();
  auto* check = state->add_subcommand(
      "check",
      "Verify the state's invariants. Exit 0: healthy, 1: an invariant does not hold, "
      "3: the store or its journal cannot be read");
  AddDataDirOption(check, *check_dir);
  check->callback([check_dir] {
    if (check_dir->empty()) *check_dir = DefaultDataDir();
    if (int code = RunCheck(*check_dir); code != kCheckHealthy) throw CLI::RuntimeError(code);
  });

  auto* events = app.add_subcommand("events", "Read the durable event journal of a data dir");
  events->require_subcommand(1);
  auto r = std::make_shared<ReplayOptions>();
  auto* replay = events->add_subcommand(
      "replay", "Print the event history as a timeline, or rebuild the state at an index");
  AddDataDirOption(replay, r->data_dir);
  replay->add_option("--alloc", r->alloc, "Only events of allocations whose ID starts with this");
  replay->add_option("--task", r->task, "Only allocation events that change this task");
  replay->add_option("--job", r->job, "Only events of this job");
  replay->add_option("--from-index", r->from_index, "Only events at this index or later");
  replay->add_option("--to-index", r->to_index, "Only events at this index or earlier");
  replay->add_option("--since", r->since, "Only events at this time or later (RFC 3339)");
  replay->add_flag("--json", r->json, "Print the events as JSON lines (Nomad's event shape)");
  auto* at = replay->add_option("--at", r->at,
                                "Rebuild the state as it was right after the change at this "
                                "index and print it as JSON");
  replay->add_option("--table", r->table, "With --at: only this table")->needs(at);
  replay->add_option("--id", r->id, "With --at: only objects whose ID starts with this")->needs(at);
  replay->callback([r] {
    if (r->data_dir.empty()) r->data_dir = DefaultDataDir();
    if (Status st = RunReplay(*r); !st.ok()) Fail(st);
  });

  auto d = std::make_shared<DiffOptions>();
  auto diff_dir = std::make_shared<std::string>();
  auto* diff = events->add_subcommand(
      "diff", "What changed between two indexes, object by object and field by field");
  AddDataDirOption(diff, *diff_dir);
  diff->add_option("--from", d->from, "The state right after this index ...")->required();
  diff->add_option("--to", d->to, "... compared with the state right after this one")->required();
  diff->add_option("--alloc", d->alloc, "Only allocations whose ID starts with this");
  diff->callback([d, diff_dir] {
    if (diff_dir->empty()) *diff_dir = DefaultDataDir();
    auto store = OpenDataDir(*diff_dir);
    if (!store.ok()) Fail(store.status());
    if (Status st = WriteStateDiff(**store, *d, std::cout); !st.ok()) Fail(st);
  });

  struct WhyArgs {
    std::string data_dir, alloc, task;
  };
  auto w = std::make_shared<WhyArgs>();
  auto* why = events->add_subcommand(
      "why", "The chain of events that led an allocation (or one of its tasks) to its state");
  AddDataDirOption(why, w->data_dir);
  why->add_option("alloc", w->alloc, "The allocation's ID or a unique prefix of it")->required();
  why->add_option("task", w->task, "Only this task's events (and the allocation's)");
  why->callback([w] {
    if (w->data_dir.empty()) w->data_dir = DefaultDataDir();
    auto store = OpenDataDir(w->data_dir);
    if (!store.ok()) Fail(store.status());
    if (Status st = WriteAllocStory(**store, w->alloc, w->task, std::cout); !st.ok()) Fail(st);
  });
}

}  // namespace drover
