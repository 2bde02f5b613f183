#include "service/history.h"

#include <boost/json.hpp>
#include <cstdlib>
#include <vector>

#include "storage/codec.h"
#include "storage/journal.h"
#include "storage/journal_scan.h"

namespace drover {
namespace {

namespace json = boost::json;

Result<std::uint64_t> SnapshotBase(const StateStore& store) {
  ASSIGN_OR_RETURN(std::optional<std::string> base, store.GetMeta("journal/base"));
  return base ? std::strtoull(base->c_str(), nullptr, 10) : 0;
}

// One entry as the event stream emits it, its time in front.
Result<std::string> EventJson(std::string_view raw) {
  ASSIGN_OR_RETURN(Event e, DecodeJournalEntry(raw));
  std::string out = "{\"Time\":" + std::to_string(EventTime(e));
  if (raw.size() < 2 || raw.front() != '{') return Internal("journal entry is not a JSON object");
  if (raw.find_first_not_of(" \t\r\n", 1) != raw.size() - 1) out.push_back(',');
  out.append(raw.substr(1));
  return out;
}

struct Page {
  std::string events = "[]";
  std::uint64_t next = 0;
};

// The entries from `from_index` on, cut at a whole index after
// kHistoryMaxEvents. An entry compacted since `keys` were read is left out.
Result<Page> EventsPage(const StateStore& store, const std::vector<JournalKey>& keys,
                        std::uint64_t from_index) {
  Page page;
  std::string out = "[";
  std::size_t n = 0;
  std::uint64_t last = 0;
  for (const JournalKey& k : keys) {
    if (k.index < from_index) continue;
    if (n >= kHistoryMaxEvents && k.index != last) {
      page.next = k.index;
      break;
    }
    ASSIGN_OR_RETURN(std::optional<std::string> raw, store.GetJournalEntry(k));
    if (!raw) continue;
    ASSIGN_OR_RETURN(std::string e, EventJson(*raw));
    if (n++ > 0) out.push_back(',');
    out += e;
    last = k.index;
  }
  out.push_back(']');
  page.events = std::move(out);
  return page;
}

// The state of the objects `keep` selects right after `at`: the snapshot's
// (those objects only) with `keys`, their entries, folded in order.
Result<JournalState> FoldAt(const StateStore& store, std::uint64_t at, std::uint64_t base,
                            const SnapshotFilter& keep, const std::vector<JournalKey>& keys) {
  if (at < base) {
    return InvalidArgument("index " + std::to_string(at) +
                           " is before the journal's snapshot: history up to index " +
                           std::to_string(base) +
                           " was compacted, so the earliest index that can be rebuilt is " +
                           std::to_string(base));
  }
  ASSIGN_OR_RETURN(JournalState state, LoadJournalSnapshot(store, keep));
  // Entries through the snapshot's index are in it; state.index moves on as
  // entries are folded, and the next may share its index (a job's
  // registration and its first allocation are one change).
  const std::uint64_t folded = state.index;
  for (const JournalKey& k : keys) {
    if (k.index > at) break;
    if (k.index <= folded) continue;
    ASSIGN_OR_RETURN(std::optional<std::string> raw, store.GetJournalEntry(k));
    if (!raw) continue;
    ASSIGN_OR_RETURN(Event e, DecodeJournalEntry(*raw));
    RETURN_IF_ERROR(ApplyEvent(state, e));
  }
  return state;
}

// Two journal-ordered lists as one.
std::vector<JournalKey> Merge(const std::vector<JournalKey>& a, const std::vector<JournalKey>& b) {
  std::vector<JournalKey> out;
  out.reserve(a.size() + b.size());
  std::merge(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out),
             [](const JournalKey& x, const JournalKey& y) {
               return x.index < y.index || (x.index == y.index && x.seq < y.seq);
             });
  return out;
}

std::string Body(std::uint64_t index, std::uint64_t base, const Page& page,
                 const std::optional<json::object>& at) {
  std::string out = "{\"Index\":" + std::to_string(index) +
                    ",\"SnapshotIndex\":" + std::to_string(base) + ",\"Events\":" + page.events +
                    ",\"NextIndex\":" + std::to_string(page.next);
  if (at) out += ",\"At\":" + json::serialize(*at);
  return out + "}";
}

Result<HistoryReply> AllocHistory(const StateStore& store, const HistoryRequest& r) {
  const std::string& id = r.alloc_id;
  ASSIGN_OR_RETURN(std::vector<JournalKey> keys, store.ListAllocJournal(id, false));
  ASSIGN_OR_RETURN(std::optional<StoredAlloc> live, store.GetAllocWithoutJob(id));
  ASSIGN_OR_RETURN(std::uint64_t base, SnapshotBase(store));

  // Whose allocation: the store's, else its first entry's, else the snapshot's.
  std::string ns, job_id;
  std::uint64_t latest = 0;
  if (live) {
    ns = live->alloc.Namespace;
    job_id = live->alloc.JobID;
    latest = live->alloc.ModifyIndex;
  } else if (!keys.empty()) {
    ASSIGN_OR_RETURN(std::optional<std::string> raw, store.GetJournalEntry(keys.front()));
    if (raw) {
      ASSIGN_OR_RETURN(Event e, DecodeJournalEntry(*raw));
      ns = e.Namespace;
      job_id = e.FilterKeys.empty() ? "" : e.FilterKeys.front();
    }
  } else {
    ASSIGN_OR_RETURN(std::optional<Allocation> snap, LoadSnapshotAlloc(store, id));
    if (!snap) return NotFound("alloc not found");
    ns = snap->Namespace;
    job_id = snap->JobID;
    latest = snap->ModifyIndex;
  }
  if (!keys.empty()) latest = keys.back().index;

  ASSIGN_OR_RETURN(Page page, EventsPage(store, keys, r.from_index));
  std::optional<json::object> at;
  if (r.at) {
    // The allocation's entries and its job's (an allocation's first entry
    // takes the job as it then was).
    ASSIGN_OR_RETURN(std::vector<JournalKey> job_keys, store.ListJobJournal(job_id, ns));
    std::erase_if(job_keys, [](const JournalKey& k) { return k.topic != "Job"; });
    auto keep = [&](std::string_view topic, std::string_view ons, std::string_view oid,
                    std::string_view) {
      return (topic == "Allocation" && oid == id) || (topic == "Job" && ons == ns && oid == job_id);
    };
    ASSIGN_OR_RETURN(JournalState state, FoldAt(store, *r.at, base, keep, Merge(keys, job_keys)));
    auto it = state.allocs.find(id);
    at = json::object{{"Index", *r.at},
                      {"Allocation", it == state.allocs.end() ? json::value(nullptr) : ToJson(it->second)}};
  }
  return HistoryReply{std::max<std::uint64_t>(latest, 1), Body(std::max<std::uint64_t>(latest, 1), base, page, at)};
}

Result<HistoryReply> JobHistory(const StateStore& store, const HistoryRequest& r) {
  const std::string& id = r.job_id;
  const std::string& ns = r.ns;
  ASSIGN_OR_RETURN(std::vector<JournalKey> keys, store.ListJobJournal(id, ns));
  ASSIGN_OR_RETURN(std::optional<Job> live, store.GetJob(ns, id));
  ASSIGN_OR_RETURN(std::uint64_t base, SnapshotBase(store));
  auto keep = [&](std::string_view topic, std::string_view ons, std::string_view oid,
                  std::string_view ojob) {
    if (ons != ns) return false;
    return topic == "Job" ? oid == id : (topic == "Evaluation" || topic == "Allocation") && ojob == id;
  };
  std::uint64_t latest = live ? live->ModifyIndex : 0;
  if (keys.empty() && !live) {
    ASSIGN_OR_RETURN(JournalState snap, LoadJournalSnapshot(store, keep));
    auto it = snap.jobs.find({ns, id});
    if (it == snap.jobs.end() && snap.allocs.empty()) return NotFound("job not found");
    if (it != snap.jobs.end()) latest = it->second.ModifyIndex;
  }
  if (!keys.empty()) latest = keys.back().index;
  latest = std::max<std::uint64_t>(latest, 1);

  ASSIGN_OR_RETURN(Page page, EventsPage(store, keys, r.from_index));
  std::optional<json::object> at;
  if (r.at) {
    ASSIGN_OR_RETURN(JournalState state, FoldAt(store, *r.at, base, keep, keys));
    auto job = state.jobs.find({ns, id});
    json::array evals, allocs;
    for (const auto& [eid, e] : state.evals) evals.push_back(ToJson(e));
    // The job is given once, above its allocations.
    for (auto& [aid, a] : state.allocs) {
      a.Job.reset();
      allocs.push_back(ToJson(a));
    }
    at = json::object{{"Index", *r.at},
                      {"Job", job == state.jobs.end() ? json::value(nullptr) : ToJson(job->second)},
                      {"Evaluations", std::move(evals)},
                      {"Allocations", std::move(allocs)}};
  }
  return HistoryReply{latest, Body(latest, base, page, at)};
}

}  // namespace

Result<HistoryReply> ReadHistory(const StateStore& store, const HistoryRequest& request) {
  if (!request.alloc_id.empty()) return AllocHistory(store, request);
  if (!request.job_id.empty()) return JobHistory(store, request);
  return InvalidArgument("missing allocation or job ID");
}

}  // namespace drover
