#include "storage/journal.h"

#include <algorithm>
#include <thread>
#include <tuple>
#include <variant>
#include <unordered_map>
#include <boost/json.hpp>
#include <vector>

#include "storage/codec.h"
#include "storage/journal_scan.h"

namespace drover {
namespace {

namespace json = boost::json;

// For maps keyed by std::string that are asked with a string_view.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Journal pages: big enough to amortise the iterator, small enough to
// bound memory on a long journal.
constexpr std::size_t kPageSize = 1024;

// What an entry is, read from its JSON without decoding an Event (whose
// Payload would be parsed and written out again).
struct EntryHead {
  std::string Topic, Type, Key;
  std::uint64_t Index = 0;
};

template <typename E>
std::string Where(const E& e) {
  return "journal entry at index " + std::to_string(e.Index) + " (" + e.Topic + " " + e.Type +
         " " + e.Key + ")";
}

std::int64_t IntField(const json::value& obj, const char* name) {
  if (!obj.is_object()) return 0;
  const json::value* v = obj.get_object().if_contains(name);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  return 0;
}

// The change time carried by the object of an event of `topic`.
Nanos TimeOf(const std::string& topic, const json::value& object) {
  Nanos unit = 0;
  if (const char* field = TimeField(topic, &unit)) return TimeInNanos(IntField(object, field), unit);
  return 0;
}

// The object an event carries: the payload's member named after the topic.
template <typename E>
Result<const json::value*> PayloadObject(const E& e, const json::value& payload) {
  const json::value* obj =
      payload.is_object() ? payload.get_object().if_contains(e.Topic) : nullptr;
  if (obj == nullptr || !obj->is_object()) {
    return Internal(Where(e) + ": the payload has no \"" + e.Topic + "\" object");
  }
  return obj;
}

template <typename T, typename E>
Result<T> Decode(const E& e, const json::value& obj) {
  auto decoded = FromJson<T>(obj, e.Topic);
  if (!decoded.ok()) return decoded.status().Annotate(Where(e));
  return decoded;
}

std::string_view StringField(const json::value& obj, const char* name) {
  if (!obj.is_object()) return {};
  const json::value* v = obj.get_object().if_contains(name);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

template <typename T>
Status DecodeList(const json::object& doc, const char* key, const char* root,
                  const std::function<void(T)>& put, const SnapshotFilter* keep = nullptr) {
  const json::value* list = doc.if_contains(key);
  if (list == nullptr || list->is_null()) return Status::Ok();
  if (!list->is_array()) return Internal(std::string("journal snapshot: ") + key + " is not a list");
  for (const json::value& v : list->get_array()) {
    if (keep != nullptr && !(*keep)(root, StringField(v, "Namespace"), StringField(v, "ID"),
                                    StringField(v, "JobID"))) {
      continue;
    }
    ASSIGN_OR_RETURN(T obj, FromJson<T>(v, root));
    put(std::move(obj));
  }
  return Status::Ok();
}

// Node events that carry the whole node (Nomad's NodeRegistration,
// NodeEligibility and NodeDrain).
bool IsNodeUpdate(std::string_view type) {
  return type == "NodeRegistration" || type == "NodeEligibility" || type == "NodeDrain";
}

bool TopicTableOf(std::string_view topic, Table* out) {
  if (topic == "Job") *out = Table::kJobs;
  else if (topic == "Evaluation") *out = Table::kEvals;
  else if (topic == "Allocation") *out = Table::kAllocs;
  else if (topic == "Node") *out = Table::kNodes;
  else return false;
  return true;
}

}  // namespace

static Result<JournalState> DecodeJournalStateOf(std::string_view text, const SnapshotFilter* keep);
static Result<JournalState> LoadSnapshot(const StateStore& store, const SnapshotFilter* keep);

namespace {

// What the journal after the snapshot writes again, for a replay: such an
// object is taken from its latest entry whole, so the snapshot's copy is
// not decoded; of an allocation only the Job is read, and only when no
// entry of the allocation carries its own (the rebuilt one keeps the
// snapshot's).
struct Rewritten {
  std::function<bool(Table table, std::string_view id)> written;
  std::function<bool(std::string_view alloc_id)> needs_job;
};

}  // namespace

static Result<JournalState> LoadSnapshotBeneath(const StateStore& store, const Rewritten& rewritten);

bool TopicTable(const std::string& topic, Table* out) { return TopicTableOf(topic, out); }

namespace {

// EventTime of a raw entry, parsed once (no Event decoded); 0 if it has none.
Nanos RawEntryTime(std::string_view raw) {
  auto v = ParseJson(raw);
  if (!v.ok() || !v->is_object()) return 0;
  EntryHead e;
  e.Topic = StringField(*v, "Topic");
  const json::value* payload = v->get_object().if_contains("Payload");
  if (payload == nullptr) return 0;
  auto obj = PayloadObject(e, *payload);
  return obj.ok() ? TimeOf(e.Topic, **obj) : 0;
}

// The same from the entry's text when it is in the usual shape (a
// million-entry journal is read in seconds, not decoded in a minute).
Nanos EntryTime(const EventHead& head, std::string_view raw) {
  if (std::optional<Nanos> t = EntryTimeOf(head, raw)) return *t;
  return RawEntryTime(raw);
}

}  // namespace

Nanos EventTime(const Event& event) {
  auto payload = ParseJson(event.Payload.text);
  if (!payload.ok()) return 0;
  auto obj = PayloadObject(event, *payload);
  return obj.ok() ? TimeOf(event.Topic, **obj) : 0;
}

namespace {

// ApplyEvent on the entry's object, already parsed.
template <typename E>
Status ApplyObject(JournalState& state, const E& e, const json::value* obj) {
  Table table;
  if (!TopicTableOf(e.Topic, &table)) return Status::Ok();

  if (e.Topic == "Job") {
    if (e.Type != "JobRegistered" && e.Type != "JobDeregistered") return Status::Ok();
    ASSIGN_OR_RETURN(Job job, (Decode<Job, E>(e, *obj)));
    auto key = std::make_pair(job.Namespace, job.ID);
    // A stop writes the job back at this index; a purge carries the job as
    // it was before (see the header).
    if (e.Type == "JobDeregistered" && job.ModifyIndex != e.Index) {
      state.jobs.erase(key);
      state.purged_jobs.insert(key);
    } else {
      state.purged_jobs.erase(key);
      state.jobs[key] = std::move(job);
    }
  } else if (e.Topic == "Evaluation") {
    if (e.Type != "EvaluationUpdated") return Status::Ok();
    ASSIGN_OR_RETURN(Evaluation eval, (Decode<Evaluation, E>(e, *obj)));
    state.evals[eval.ID] = std::move(eval);
  } else if (e.Topic == "Allocation") {
    if (e.Type != "PlanResult" && e.Type != "AllocationUpdated") return Status::Ok();
    ASSIGN_OR_RETURN(Allocation alloc, (Decode<Allocation, E>(e, *obj)));
    if (!alloc.Job) {
      auto prev = state.allocs.find(alloc.ID);
      if (prev != state.allocs.end() && prev->second.Job) {
        alloc.Job = prev->second.Job;
      } else if (auto job = state.jobs.find({alloc.Namespace, alloc.JobID});
                 job != state.jobs.end()) {
        alloc.Job = job->second;
      }
    }
    state.allocs[alloc.ID] = std::move(alloc);
  } else if (e.Topic == "Node") {
    if (!IsNodeUpdate(e.Type)) return Status::Ok();
    ASSIGN_OR_RETURN(Node node, (Decode<Node, E>(e, *obj)));
    state.nodes[node.ID] = std::move(node);
  }
  state.table_index[static_cast<std::size_t>(table)] = e.Index;
  state.index = std::max(state.index, e.Index);
  state.time = std::max(state.time, TimeOf(e.Topic, *obj));
  return Status::Ok();
}

// One raw journal entry parsed: its envelope, and its object (pointing
// into `doc`); `obj` is null for a topic no table keeps.
struct ParsedEntry {
  // The document's nodes come from one arena (on the stack for most
  // entries), freed with it.
  unsigned char first[16 << 10];
  json::monotonic_resource arena{first, sizeof first};
  json::value doc = json::value(json::storage_ptr(&arena));  // the parse moves in, not copies
  EntryHead e;
  Table table = Table::kJobs;
  const json::value* obj = nullptr;
};

Status ParseEntry(std::string_view raw, ParsedEntry& out) {
  ASSIGN_OR_RETURN(out.doc, ParseJson(raw, &out.arena));
  const json::object* o = out.doc.if_object();
  if (o == nullptr) return Internal("journal entry: not a JSON object");
  out.e.Topic = StringField(out.doc, "Topic");
  out.e.Type = StringField(out.doc, "Type");
  out.e.Key = StringField(out.doc, "Key");
  out.e.Index = static_cast<std::uint64_t>(IntField(out.doc, "Index"));
  out.obj = nullptr;
  if (!TopicTableOf(out.e.Topic, &out.table)) return Status::Ok();
  static const json::value kNone;
  const json::value* payload = o->if_contains("Payload");
  ASSIGN_OR_RETURN(out.obj, PayloadObject(out.e, payload != nullptr ? *payload : kNone));
  return Status::Ok();
}

// One raw journal entry folded in, its JSON parsed once.
Status ApplyRawEntry(JournalState& state, std::string_view raw) {
  ParsedEntry p;
  RETURN_IF_ERROR(ParseEntry(raw, p));
  return p.obj == nullptr ? Status::Ok() : ApplyObject(state, p.e, p.obj);
}

// The latest entry of an evaluation, allocation or node, decoded on its
// own (off the thread that folds): the object and the change's time.
struct DecodedEntry {
  std::variant<std::monostate, Evaluation, Allocation, Node> object;
  Nanos time = 0;
};

Result<DecodedEntry> DecodeLatest(std::string_view raw) {
  ParsedEntry p;
  RETURN_IF_ERROR(ParseEntry(raw, p));
  DecodedEntry out;
  if (p.obj == nullptr) return out;
  out.time = TimeOf(p.e.Topic, *p.obj);
  switch (p.table) {
    case Table::kEvals: {
      ASSIGN_OR_RETURN(Evaluation v, (Decode<Evaluation, EntryHead>(p.e, *p.obj)));
      out.object = std::move(v);
      break;
    }
    case Table::kAllocs: {
      ASSIGN_OR_RETURN(Allocation v, (Decode<Allocation, EntryHead>(p.e, *p.obj)));
      out.object = std::move(v);
      break;
    }
    case Table::kNodes: {
      ASSIGN_OR_RETURN(Node v, (Decode<Node, EntryHead>(p.e, *p.obj)));
      out.object = std::move(v);
      break;
    }
    default:
      return Internal(Where(p.e) + ": not an evaluation, allocation or node");
  }
  return out;
}

// Reads the entries at `where` (in journal order) a batch at a time and
// hands each batch to `fn` with the place of its first in `where`. Entries
// a compaction folded meanwhile are an error: the caller read the journal
// before it.
Status ReadEntries(const StateStore& store, const std::vector<JournalKey>& where,
                   const std::function<Status(std::size_t first, std::vector<std::string>& raws)>& fn) {
  constexpr std::size_t kBatch = 512;
  std::vector<std::string> raws;
  for (std::size_t at = 0; at < where.size(); at += kBatch) {
    const std::size_t n = std::min(kBatch, where.size() - at);
    std::vector<JournalKey> keys(where.begin() + at, where.begin() + at + n);
    ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> got, store.GetJournalEntries(keys));
    raws.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (!got[i]) {
        return Unavailable("journal entry at index " + std::to_string(keys[i].index) +
                           " was compacted while it was read; run it again");
      }
      raws[i] = std::move(*got[i]);
    }
    RETURN_IF_ERROR(fn(at, raws));
  }
  return Status::Ok();
}

// DecodeLatest of every entry, on two threads (the entries are independent).
std::vector<Result<DecodedEntry>> DecodeAll(const std::vector<std::string>& raws) {
  std::vector<Result<DecodedEntry>> out(raws.size(), Result<DecodedEntry>(DecodedEntry{}));
  auto range = [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) out[i] = DecodeLatest(raws[i]);
  };
  const std::size_t half = raws.size() / 2;
  std::thread other(range, half, raws.size());
  range(0, half);
  other.join();
  return out;
}

}  // namespace

Status ApplyEvent(JournalState& state, const Event& e) {
  Table table;
  if (!TopicTable(e.Topic, &table)) return Status::Ok();
  auto payload = ParseJson(e.Payload.text);
  if (!payload.ok()) return payload.status().Annotate(Where(e));
  ASSIGN_OR_RETURN(const json::value* obj, PayloadObject(e, *payload));
  return ApplyObject(state, e, obj);
}

Status ScanJournal(const StateStore& store, std::uint64_t from_index,
                   const std::function<Result<bool>(const Event&)>& fn) {
  std::size_t limit = kPageSize;
  for (;;) {
    ASSIGN_OR_RETURN(std::vector<Event> page, store.ListEvents(from_index, limit));
    const bool full = page.size() == limit;
    if (full && page.front().Index == page.back().Index) {
      limit *= 2;  // one change with more entries than a page: read it whole
      continue;
    }
    // A full page may end part-way through a change: leave that change to
    // the next page, which starts at its index.
    const std::uint64_t next = full ? page.back().Index : 0;
    for (const Event& e : page) {
      if (full && e.Index == next) break;
      ASSIGN_OR_RETURN(bool more, fn(e));
      if (!more) return Status::Ok();
    }
    if (!full) return Status::Ok();
    from_index = next;
    limit = kPageSize;
  }
}

Result<JournalState> LoadJournalSnapshot(const StateStore& store) {
  return LoadSnapshot(store, nullptr);
}

Result<JournalState> ReplayJournal(const StateStore& store, std::uint64_t at_index) {
  return ReplayJournal(store, at_index, nullptr);
}

Result<JournalState> ReplayJournal(const StateStore& store, std::uint64_t at_index,
                                   const JournalVisitor& visit) {
  ASSIGN_OR_RETURN(std::optional<std::string> base_text, store.GetMeta("journal/base"));
  const std::uint64_t base = base_text ? std::strtoull(base_text->c_str(), nullptr, 10) : 0;
  if (at_index < base) {
    return FailedPrecondition("index " + std::to_string(at_index) +
                              " is before the journal's snapshot: history up to index " +
                              std::to_string(base) +
                              " was compacted, so the earliest index that can be rebuilt is " +
                              std::to_string(base));
  }
  // Every entry carries its whole object, so an object is its latest
  // entry: the scan notes where each object's latest entry is, from the
  // envelopes alone, and allocates nothing per entry. What depends on the
  // order is the job an allocation embeds: the job as it was where the
  // allocation was first placed (so job entries are folded in order,
  // between those places), or the Job an entry of its own carried.
  struct Entries {
    JournalKey latest;
    JournalKey first;        // allocations: where first placed in the journal
    JournalKey job_carrier;  // allocations: the latest entry embedding a Job (index 0: none)
    bool latest_carries = false;
  };
  using ByID = std::unordered_map<std::string, Entries, StringHash, std::equal_to<>>;
  ByID objects[3];  // evals, allocs, nodes
  auto objects_of = [&](Table t) -> ByID& {
    return objects[t == Table::kEvals ? 0 : t == Table::kAllocs ? 1 : 2];
  };
  std::vector<JournalKey> job_entries;
  std::string id;            // a reused buffer
  std::uint64_t change = 0;  // the index of the entry before, and
  std::uint32_t seq = 0;     // this entry's place within its change
  std::array<std::uint64_t, std::size(kAllTables)> table_index{};  // 0: no entry of the table
  RETURN_IF_ERROR(ScanJournalHeads(store, base + 1,
                                   [&](const EventHead& h, std::string_view raw) -> Result<bool> {
    if (h.index > at_index) return false;
    seq = h.index == change ? seq + 1 : 0;
    change = h.index;
    if (visit) RETURN_IF_ERROR(visit(h, seq, raw));
    Table table;
    if (!TopicTableOf(h.topic, &table)) return true;
    const bool alloc = h.topic == "Allocation";
    const bool known = h.topic == "Job"
                           ? (h.type == "JobRegistered" || h.type == "JobDeregistered")
                       : alloc              ? (h.type == "PlanResult" || h.type == "AllocationUpdated")
                       : h.topic == "Evaluation" ? h.type == "EvaluationUpdated"
                                                 : IsNodeUpdate(h.type);
    if (!known) return true;  // ApplyEvent ignores it too
    table_index[static_cast<std::size_t>(table)] = h.index;
    const JournalKey here{h.index, seq, {}};
    if (table == Table::kJobs) {
      job_entries.push_back(here);
      return true;
    }
    id.assign(h.key);
    auto [it, placed] = objects_of(table).try_emplace(id);
    Entries& o = it->second;
    o.latest = here;
    if (alloc) {
      if (placed) o.first = here;
      o.latest_carries = AllocationCarriesJob(h, raw);
      if (o.latest_carries) o.job_carrier = here;
    }
    return true;
  }));
  // The snapshot, without what the journal wrote again since.
  JournalState state;
  if (base > 0) {
    const Rewritten rewritten{
        [&](Table t, std::string_view id) { return objects_of(t).contains(id); },
        [&](std::string_view id) {
          auto it = objects[1].find(id);
          return it != objects[1].end() && it->second.job_carrier.index == 0;
        }};
    ASSIGN_OR_RETURN(state, LoadSnapshotBeneath(store, rewritten));
    if (state.index != base) {
      return Unavailable("the journal was compacted while it was read; run it again");
    }
  }
  for (std::size_t t = 0; t < std::size(kAllTables); ++t) {
    if (table_index[t] != 0) state.table_index[t] = table_index[t];
  }

  // The latest entries, in journal order (each data block read once),
  // decoded two at a time.
  std::vector<JournalKey> latest;
  for (const auto& table : objects) {
    for (const auto& [key, o] : table) latest.push_back(o.latest);
  }
  auto by_place = [](const JournalKey& a, const JournalKey& b) {
    return std::tie(a.index, a.seq) < std::tie(b.index, b.seq);
  };
  std::sort(latest.begin(), latest.end(), by_place);
  struct NeedsJob {
    JournalKey first;
    std::string id;
  };
  std::vector<NeedsJob> needs_job;  // placed in the journal: the job as it was then
  std::vector<std::pair<JournalKey, std::string>> carried;  // an earlier entry's Job
  RETURN_IF_ERROR(ReadEntries(store, latest, [&](std::size_t, std::vector<std::string>& raws) -> Status {
    for (Result<DecodedEntry>& d : DecodeAll(raws)) {
      if (!d.ok()) return d.status();
      state.time = std::max(state.time, d->time);
      if (auto* e = std::get_if<Evaluation>(&d->object)) {
        std::string key = e->ID;
        state.evals[key] = std::move(*e);
      } else if (auto* n = std::get_if<Node>(&d->object)) {
        std::string key = n->ID;
        state.nodes[key] = std::move(*n);
      } else if (auto* a = std::get_if<Allocation>(&d->object)) {
        Allocation& slot = state.allocs[a->ID];
        if (!a->Job) {
          auto entries = objects[1].find(a->ID);
          if (entries == objects[1].end()) {
            return Internal("journal entry for allocation " + a->ID + " is filed under another key");
          }
          const Entries& o = entries->second;
          if (o.job_carrier.index != 0 && !o.latest_carries) {
            carried.emplace_back(o.job_carrier, a->ID);
          } else if (slot.Job) {
            a->Job = std::move(slot.Job);  // as the snapshot has it
          } else {
            needs_job.push_back({o.first, a->ID});
          }
        }
        slot = std::move(*a);
      }
    }
    return Status::Ok();
  }));

  // Job entries in order, and between them the allocations first placed
  // there take the job as it stands.
  std::sort(needs_job.begin(), needs_job.end(),
            [&](const NeedsJob& a, const NeedsJob& b) { return by_place(a.first, b.first); });
  std::size_t next = 0;
  auto attach_until = [&](const JournalKey* before) {
    for (; next < needs_job.size() && (before == nullptr || by_place(needs_job[next].first, *before));
         ++next) {
      Allocation& a = state.allocs[needs_job[next].id];
      auto job = state.jobs.find({a.Namespace, a.JobID});
      if (job != state.jobs.end()) a.Job = job->second;
    }
  };
  RETURN_IF_ERROR(ReadEntries(store, job_entries, [&](std::size_t first, std::vector<std::string>& raws) -> Status {
    for (std::size_t i = 0; i < raws.size(); ++i) {
      attach_until(&job_entries[first + i]);
      RETURN_IF_ERROR(ApplyRawEntry(state, raws[i]));
    }
    return Status::Ok();
  }));
  attach_until(nullptr);

  // Allocations whose Job an earlier entry of their own carried (older
  // writers).
  std::sort(carried.begin(), carried.end(),
            [&](const auto& a, const auto& b) { return by_place(a.first, b.first); });
  std::vector<JournalKey> carriers;
  for (const auto& [where, alloc_id] : carried) carriers.push_back(where);
  RETURN_IF_ERROR(ReadEntries(store, carriers, [&](std::size_t first, std::vector<std::string>& raws) -> Status {
    for (std::size_t i = 0; i < raws.size(); ++i) {
      ASSIGN_OR_RETURN(DecodedEntry d, DecodeLatest(raws[i]));
      if (auto* a = std::get_if<Allocation>(&d.object)) {
        state.allocs[carried[first + i].second].Job = std::move(a->Job);
      }
    }
    return Status::Ok();
  }));

  for (std::uint64_t i : state.table_index) state.index = std::max(state.index, i);
  return state;
}

namespace {

// The header's fields: {"Index", "Time", "TableIndexes"}, the start of the
// whole snapshot's JSON before schema v9 too.
json::object HeaderJson(const JournalState& s) {
  json::object doc;
  doc["Index"] = s.index;
  doc["Time"] = s.time;
  json::object tables;
  for (Table t : kAllTables) tables[TableName(t)] = s.table_index[static_cast<std::size_t>(t)];
  doc["TableIndexes"] = std::move(tables);
  return doc;
}

void ReadHeader(const json::value& v, JournalState& s) {
  s.index = static_cast<std::uint64_t>(IntField(v, "Index"));
  s.time = IntField(v, "Time");
  const json::value* tables = v.is_object() ? v.get_object().if_contains("TableIndexes") : nullptr;
  if (tables == nullptr) return;
  for (Table t : kAllTables) {
    s.table_index[static_cast<std::size_t>(t)] =
        static_cast<std::uint64_t>(IntField(*tables, TableName(t)));
  }
}

// `journal_snapshot` keys (storage/state_store.h): a kind byte, then the
// object's ID, or its namespace and ID (jobs), or for the by-job index the
// job's namespace and ID and the object's kind and ID.
constexpr char kSnapJob = 'j', kSnapPurged = 'p', kSnapEval = 'e', kSnapAlloc = 'a',
               kSnapNode = 'n', kSnapByJob = 'b';

std::string SnapKey(char kind, std::string_view id) {
  std::string key(1, kind);
  return key.append(id);
}

std::string SnapKey(char kind, std::string_view ns, std::string_view id) {
  std::string key = SnapKey(kind, ns);
  key.push_back('\0');
  return key.append(id);
}

std::string ByJobKey(std::string_view ns, std::string_view job_id, char kind, std::string_view id) {
  std::string key = SnapKey(kSnapByJob, ns, job_id);
  key.push_back('\0');
  key.push_back(kind);
  return key.append(id);
}

// A key's text for messages, its zero bytes shown as '/'.
std::string Printable(std::string_view key) {
  std::string out(key);
  std::replace(out.begin(), out.end(), '\0', '/');
  return out;
}

template <typename T>
Result<T> DecodeSnapshotObject(std::string_view key, std::string_view value, const char* root) {
  auto decoded = DecodeJson<T>(value, root);
  if (!decoded.ok()) return decoded.status().Annotate("journal snapshot object " + Printable(key));
  return decoded;
}

// The two parts of `<a> \0 <b>` (b empty without the separator).
std::pair<std::string_view, std::string_view> SplitAtZero(std::string_view s) {
  const std::size_t at = s.find('\0');
  if (at == std::string_view::npos) return {s, {}};
  return {s.substr(0, at), s.substr(at + 1)};
}

// Every object of one kind that `keep` (if any) accepts, decoded and put;
// `names(rest of key)` gives the namespace and ID `keep` is asked about.
template <typename T, typename Names, typename Put>
Status ScanSnapshotKind(const StateStore& store, char kind, const char* root,
                        const SnapshotFilter* keep, Names names, Put put) {
  return store.ScanSnapshot(std::string(1, kind),
                            [&](std::string_view key, std::string_view value) -> Result<bool> {
    if (keep != nullptr) {
      auto [ns, id] = names(key.substr(1));
      if (!(*keep)(root, ns, id, {})) return true;
    }
    ASSIGN_OR_RETURN(T obj, DecodeSnapshotObject<T>(key, value, root));
    put(std::move(obj));
    return true;
  });
}

// A `journal_snapshot` key's rest as (namespace, ID) for a filter: the ID
// alone, for the kinds keyed by ID.
std::pair<std::string_view, std::string_view> IdOnly(std::string_view rest) { return {{}, rest}; }

// Of a v9 snapshot: its header, the jobs and nodes `keep` (if any)
// accepts, and the purged jobs.
Status LoadSnapshotHead(const StateStore& store, std::string_view header, const SnapshotFilter* keep,
                        JournalState& s) {
  ASSIGN_OR_RETURN(json::value head, ParseJson(header));
  ReadHeader(head, s);
  RETURN_IF_ERROR(ScanSnapshotKind<Job>(store, kSnapJob, "Job", keep, SplitAtZero, [&](Job j) {
    auto key = std::make_pair(j.Namespace, j.ID);
    s.jobs[key] = std::move(j);
  }));
  RETURN_IF_ERROR(store.ScanSnapshot(std::string(1, kSnapPurged),
                                     [&](std::string_view key, std::string_view) -> Result<bool> {
    auto [ns, id] = SplitAtZero(key.substr(1));
    s.purged_jobs.emplace(std::string(ns), std::string(id));
    return true;
  }));
  return ScanSnapshotKind<Node>(store, kSnapNode, "Node", keep, IdOnly, [&](Node n) {
    s.nodes[n.ID] = std::move(n);
  });
}

// The snapshot of a v9 store from its header and `journal_snapshot`.
Result<JournalState> LoadSnapshotObjects(const StateStore& store, std::string_view header,
                                         const SnapshotFilter* keep) {
  JournalState s;
  RETURN_IF_ERROR(LoadSnapshotHead(store, header, keep, s));
  auto put_eval = [&](Evaluation e) { s.evals[e.ID] = std::move(e); };
  auto put_alloc = [&](Allocation a) { s.allocs[a.ID] = std::move(a); };
  if (keep == nullptr) {
    RETURN_IF_ERROR(ScanSnapshotKind<Evaluation>(store, kSnapEval, "Evaluation", nullptr, IdOnly, put_eval));
    RETURN_IF_ERROR(ScanSnapshotKind<Allocation>(store, kSnapAlloc, "Allocation", nullptr, IdOnly, put_alloc));
    return s;
  }
  // Evaluations and allocations are chosen from the by-job index, whose
  // keys name everything `keep` asks about, then read one by one.
  std::vector<std::string> wanted;
  RETURN_IF_ERROR(store.ScanSnapshot(std::string(1, kSnapByJob),
                                     [&](std::string_view key, std::string_view) -> Result<bool> {
    auto [ns, rest] = SplitAtZero(key.substr(1));
    auto [job_id, object] = SplitAtZero(rest);
    if (object.empty() || (object[0] != kSnapEval && object[0] != kSnapAlloc)) {
      return Internal("journal snapshot: a by-job key without its object: " + Printable(key));
    }
    const char* topic = object[0] == kSnapEval ? "Evaluation" : "Allocation";
    if ((*keep)(topic, ns, object.substr(1), job_id)) wanted.emplace_back(object);
    return true;
  }));
  for (const std::string& key : wanted) {
    ASSIGN_OR_RETURN(std::optional<std::string> value, store.GetSnapshotObject(key));
    if (!value) return Internal("journal snapshot: the by-job index names " + Printable(key) + ", which it lacks");
    if (key[0] == kSnapEval) {
      ASSIGN_OR_RETURN(Evaluation e, DecodeSnapshotObject<Evaluation>(key, *value, "Evaluation"));
      put_eval(std::move(e));
    } else {
      ASSIGN_OR_RETURN(Allocation a, DecodeSnapshotObject<Allocation>(key, *value, "Allocation"));
      put_alloc(std::move(a));
    }
  }
  return s;
}

}  // namespace

static Result<JournalState> LoadSnapshotBeneath(const StateStore& store, const Rewritten& rewritten) {
  ASSIGN_OR_RETURN(std::optional<std::string> header, store.GetMeta(kJournalHeaderKey));
  if (!header) return LoadSnapshot(store, nullptr);  // before v9: one document, read whole
  // Every job; the nodes and evaluations no later entry writes again.
  const SnapshotFilter kept = [&](std::string_view topic, std::string_view, std::string_view id,
                                  std::string_view) {
    if (topic == "Node") return !rewritten.written(Table::kNodes, id);
    if (topic == "Evaluation") return !rewritten.written(Table::kEvals, id);
    return true;
  };
  JournalState s;
  RETURN_IF_ERROR(LoadSnapshotHead(store, *header, &kept, s));
  RETURN_IF_ERROR(ScanSnapshotKind<Evaluation>(store, kSnapEval, "Evaluation", &kept, IdOnly,
                                               [&](Evaluation e) { s.evals[e.ID] = std::move(e); }));
  // Allocations share a few jobs: each distinct Job text is decoded once.
  std::map<std::string, Job, std::less<>> jobs_by_text;
  RETURN_IF_ERROR(store.ScanSnapshot(std::string(1, kSnapAlloc),
                                     [&](std::string_view key, std::string_view value) -> Result<bool> {
    const std::string_view id = key.substr(1);
    if (!rewritten.written(Table::kAllocs, id)) {
      ASSIGN_OR_RETURN(Allocation a, DecodeSnapshotObject<Allocation>(key, value, "Allocation"));
      s.allocs[a.ID] = std::move(a);
      return true;
    }
    if (!rewritten.needs_job(id)) return true;
    Allocation& slot = s.allocs[std::string(id)];
    slot.ID = id;
    const std::optional<std::string_view> text = MemberText(value, "Job");
    if (!text) {  // not in the codec's shape: the slow way
      ASSIGN_OR_RETURN(Allocation a, DecodeSnapshotObject<Allocation>(key, value, "Allocation"));
      slot.Job = std::move(a.Job);
      return true;
    }
    if (*text == "null") return true;
    auto it = jobs_by_text.find(*text);
    if (it == jobs_by_text.end()) {
      auto job = DecodeJson<Job>(*text, "Allocation.Job");
      if (!job.ok()) return job.status().Annotate("journal snapshot object " + Printable(key));
      it = jobs_by_text.emplace(std::string(*text), std::move(*job)).first;
    }
    slot.Job = it->second;
    return true;
  }));
  return s;
}

std::string EncodeSnapshotHeader(const JournalState& s) { return json::serialize(HeaderJson(s)); }

void PutSnapshotObjects(const JournalState& s, const StateStore::SnapshotSink& put) {
  for (const auto& [key, job] : s.jobs) put(SnapKey(kSnapJob, key.first, key.second), EncodeJson(job));
  for (const auto& [ns, id] : s.purged_jobs) put(SnapKey(kSnapPurged, ns, id), "");
  for (const auto& [id, eval] : s.evals) {
    put(SnapKey(kSnapEval, id), EncodeJson(eval));
    put(ByJobKey(eval.Namespace, eval.JobID, kSnapEval, id), "");
  }
  for (const auto& [id, alloc] : s.allocs) {
    put(SnapKey(kSnapAlloc, id), EncodeJson(alloc));
    put(ByJobKey(alloc.Namespace, alloc.JobID, kSnapAlloc, id), "");
  }
  for (const auto& [id, node] : s.nodes) put(SnapKey(kSnapNode, id), EncodeJson(node));
}

std::string EncodeJournalState(const JournalState& s) {
  json::object doc = HeaderJson(s);
  json::array jobs, evals, allocs, nodes, purged;
  for (const auto& [key, job] : s.jobs) jobs.push_back(ToJson(job));
  for (const auto& [id, eval] : s.evals) evals.push_back(ToJson(eval));
  for (const auto& [id, alloc] : s.allocs) allocs.push_back(ToJson(alloc));
  for (const auto& [id, node] : s.nodes) nodes.push_back(ToJson(node));
  for (const auto& [ns, id] : s.purged_jobs) purged.push_back(json::object{{"Namespace", ns}, {"ID", id}});
  doc["Jobs"] = std::move(jobs);
  doc["Evaluations"] = std::move(evals);
  doc["Allocations"] = std::move(allocs);
  doc["Nodes"] = std::move(nodes);
  doc["PurgedJobs"] = std::move(purged);
  return json::serialize(doc);
}

Result<JournalState> DecodeJournalState(std::string_view text) {
  return DecodeJournalStateOf(text, nullptr);
}

Result<JournalState> LoadJournalSnapshot(const StateStore& store, const SnapshotFilter& keep) {
  return LoadSnapshot(store, &keep);
}

// The v9 layout where the store has its header; else a store from before
// v9 (a read-only view does not migrate) with its one meta value; else none.
static Result<JournalState> LoadSnapshot(const StateStore& store, const SnapshotFilter* keep) {
  ASSIGN_OR_RETURN(std::optional<std::string> header, store.GetMeta(kJournalHeaderKey));
  if (header) return LoadSnapshotObjects(store, *header, keep);
  ASSIGN_OR_RETURN(std::optional<std::string> text, store.GetMeta(kJournalSnapshotV8Key));
  if (!text) return JournalState{};
  return DecodeJournalStateOf(*text, keep);
}

Result<std::optional<Allocation>> LoadSnapshotAlloc(const StateStore& store, const std::string& id) {
  ASSIGN_OR_RETURN(std::optional<std::string> header, store.GetMeta(kJournalHeaderKey));
  std::optional<Allocation> out;
  if (header) {
    const std::string key = SnapKey(kSnapAlloc, id);
    ASSIGN_OR_RETURN(std::optional<std::string> value, store.GetSnapshotObject(key));
    if (value) {
      ASSIGN_OR_RETURN(out, DecodeSnapshotObject<Allocation>(key, *value, "Allocation"));
    }
    return out;
  }
  ASSIGN_OR_RETURN(JournalState state, LoadJournalSnapshot(store, [&](std::string_view topic, std::string_view,
                                                                      std::string_view oid, std::string_view) {
    return topic == "Allocation" && oid == id;
  }));
  if (auto it = state.allocs.find(id); it != state.allocs.end()) out = std::move(it->second);
  return out;
}

static Result<JournalState> DecodeJournalStateOf(std::string_view text, const SnapshotFilter* keep) {
  ASSIGN_OR_RETURN(json::value v, ParseJson(text));
  if (!v.is_object()) return Internal("journal snapshot: not a JSON object");
  const json::object& doc = v.get_object();
  JournalState s;
  ReadHeader(v, s);
  RETURN_IF_ERROR(DecodeList<Job>(doc, "Jobs", "Job", [&](Job j) {
    auto key = std::make_pair(j.Namespace, j.ID);
    s.jobs[key] = std::move(j);
  }, keep));
  RETURN_IF_ERROR(DecodeList<Evaluation>(doc, "Evaluations", "Evaluation", [&](Evaluation e) {
    s.evals[e.ID] = std::move(e);
  }, keep));
  RETURN_IF_ERROR(DecodeList<Allocation>(doc, "Allocations", "Allocation", [&](Allocation a) {
    s.allocs[a.ID] = std::move(a);
  }, keep));
  RETURN_IF_ERROR(DecodeList<Node>(doc, "Nodes", "Node", [&](Node n) {
    s.nodes[n.ID] = std::move(n);
  }, keep));
  if (const json::value* purged = doc.if_contains("PurgedJobs"); purged && purged->is_array()) {
    for (const json::value& p : purged->get_array()) {
      if (!p.is_object()) continue;
      const json::object& o = p.get_object();
      const json::value* ns = o.if_contains("Namespace");
      const json::value* id = o.if_contains("ID");
      if (ns && id && ns->is_string() && id->is_string()) {
        s.purged_jobs.emplace(std::string(ns->get_string()), std::string(id->get_string()));
      }
    }
  }
  return s;
}

Result<CompactionResult> CompactJournal(StateStore& store, const RetentionPolicy& policy,
                                        Nanos now, const std::atomic<bool>* stop) {
  auto stopped_early = [stop]() -> Status {
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) {
      return Unavailable("journal compaction stopped: shutting down");
    }
    return Status::Ok();
  };
  ASSIGN_OR_RETURN(std::optional<std::string> base_text, store.GetMeta("journal/base"));
  const std::uint64_t base = base_text ? std::strtoull(base_text->c_str(), nullptr, 10) : 0;

  // How many entries the journal holds: its count in meta (kept by every
  // commit and fold since schema v5), else counted.
  ASSIGN_OR_RETURN(std::optional<std::string> count_text, store.GetMeta("journal/entries"));
  std::size_t total = 0;
  if (count_text) {
    total = std::strtoull(count_text->c_str(), nullptr, 10);
  } else {
    RETURN_IF_ERROR(ScanJournalHeads(store, base + 1, [&](const EventHead&, std::string_view) -> Result<bool> {
      ++total;
      return true;
    }));
  }
  const std::size_t excess =
      policy.max_events > 0 && total > policy.max_events ? total - policy.max_events : 0;

  // Pass 1: from the oldest change on, the changes the policy folds, from
  // the envelopes and the time members alone (EntryTime skips the rest of
  // each entry unparsed). A change is folded while the count asks for more,
  // or while every change so far is older than max_age (times are derived
  // from payloads and need not be monotonic, and folding must stay a prefix
  // of the journal); the scan stops at the first change kept, so a
  // compaction with nothing to do reads one change.
  const Nanos cutoff = now - policy.max_age;
  bool all_old = policy.max_age > 0;
  std::uint64_t through = base;
  std::size_t folded = 0;
  Nanos folded_time = 0;  // the latest change time among the folded
  struct Change {
    std::uint64_t index = 0;
    std::size_t events = 0;
    Nanos time = 0;
  } change;
  auto fold = [&](const Change& c) {
    all_old = all_old && c.time < cutoff;
    if (folded >= excess && !all_old) return false;
    folded += c.events;
    through = c.index;
    folded_time = std::max(folded_time, c.time);
    return true;
  };
  bool stopped = false;
  RETURN_IF_ERROR(ScanJournalHeads(store, base + 1, [&](const EventHead& h, std::string_view raw) -> Result<bool> {
    RETURN_IF_ERROR(stopped_early());
    if (h.index != change.index) {
      if (change.events > 0 && !fold(change)) {
        stopped = true;
        return false;
      }
      change = Change{h.index, 0, 0};
    }
    change.events++;
    change.time = std::max(change.time, EntryTime(h, raw));
    return true;
  }));
  if (!stopped && change.events > 0) fold(change);
  if (through == base) return CompactionResult{0, base};

  // Pass 2: the snapshot at `through`, its time the latest of the changes
  // folded (as folding each entry would give).
  ASSIGN_OR_RETURN(JournalState state,
                   ReplayJournal(store, through, [&](const EventHead&, std::uint32_t, std::string_view) {
                     return stopped_early();
                   }));
  state.time = std::max(state.time, folded_time);
  state.index = through;
  // Encoded object by object into the fold's batch: never the whole state
  // as one JSON document.
  RETURN_IF_ERROR(store.FoldJournal(base, through, EncodeSnapshotHeader(state),
                                    [&](const StateStore::SnapshotSink& put) -> Status {
    RETURN_IF_ERROR(stopped_early());
    PutSnapshotObjects(state, put);
    return stopped_early();
  }));
  return CompactionResult{folded, through};
}

}  // namespace drover
