#include "service/state_history.h"

#include <time.h>

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <ostream>
#include <set>
#include <tuple>
#include <vector>

#include "storage/codec.h"
#include "storage/journal.h"
#include "storage/journal_scan.h"

namespace drover {
namespace {

namespace json = boost::json;

std::string Short(const std::string& id) { return id.size() == 36 ? id.substr(0, 8) : id; }

// A JSON value on one line, cut to stay readable.
std::string Brief(const json::value& v) {
  std::string s = v.is_string() ? std::string(v.get_string()) : json::serialize(v);
  if (v.is_string() && s.empty()) s = "\"\"";
  if (s.size() > 70) s = s.substr(0, 67) + "...";
  return s;
}

std::string TaskEventLine(const json::value& e) {
  const json::object* o = e.if_object();
  if (o == nullptr) return Brief(e);
  std::string type, msg;
  if (const json::value* t = o->if_contains("Type"); t && t->is_string()) type = t->get_string();
  if (const json::value* m = o->if_contains("DisplayMessage"); m && m->is_string()) {
    msg = m->get_string();
  }
  return msg.empty() ? type : type + ": " + msg;
}

// Field-by-field differences of two JSON values under `path`.
using Lines = std::vector<std::pair<std::string, std::string>>;

void DiffJson(const std::string& path, const json::value& a, const json::value& b, Lines& out) {
  if (a == b) return;
  if (a.is_object() && b.is_object()) {
    for (const auto& [k, av] : a.get_object()) {
      const json::value* bv = b.get_object().if_contains(k);
      DiffJson(path.empty() ? std::string(k) : path + "." + std::string(k), av,
               bv ? *bv : json::value(nullptr), out);
    }
    for (const auto& [k, bv] : b.get_object()) {
      if (!a.get_object().contains(k)) {
        DiffJson(path.empty() ? std::string(k) : path + "." + std::string(k), nullptr, bv, out);
      }
    }
    return;
  }
  // Task events: the ones added, one a line.
  if (path.size() >= 7 && path.compare(path.size() - 7, 7, ".Events") == 0 && b.is_array()) {
    const json::array empty;
    const json::array& before = a.is_array() ? a.get_array() : empty;
    for (const json::value& e : b.get_array()) {
      if (std::find(before.begin(), before.end(), e) == before.end()) {
        out.emplace_back(path, "+ " + TaskEventLine(e));
      }
    }
    return;
  }
  out.emplace_back(path, Brief(a) + " -> " + Brief(b));
}

// Fields that change with every write and say nothing by themselves.
constexpr const char* kNoise[] = {"ModifyIndex", "ModifyTime", "AllocModifyIndex", "JobModifyIndex"};

json::value Comparable(json::value v) {
  if (!v.is_object()) return v;
  for (const char* k : kNoise) v.get_object().erase(k);
  return v;
}

template <typename T>
std::uint64_t ModifyIndexOf(const T& o) {
  return o.ModifyIndex;
}

std::string Describe(const Job& j) { return "job " + j.Namespace + "/" + j.ID; }
std::string Describe(const Evaluation& e) {
  return "evaluation " + Short(e.ID) + " (" + e.TriggeredBy + ", job " + e.JobID + ")";
}
std::string Describe(const Allocation& a) { return "allocation " + a.ID + " (" + a.Name + ")"; }
std::string Describe(const Node& n) { return "node " + Short(n.ID) + " (" + n.Name + ")"; }

std::string Added(const Job& j) {
  return "version " + std::to_string(j.Version) + ", " + j.Type + (j.Stop ? ", stopped" : "");
}
std::string Added(const Evaluation& e) { return "status " + e.Status; }
std::string Added(const Allocation& a) {
  return "desired " + a.DesiredStatus + ", client " + a.ClientStatus;
}
std::string Added(const Node& n) { return "status " + n.Status; }

struct DiffCounts {
  std::size_t added = 0, removed = 0, changed = 0;
};

template <typename Key, typename T>
void DiffTable(const std::map<Key, T>& from, const std::map<Key, T>& to,
               const std::function<bool(const Key&)>& wanted, std::ostream& out, DiffCounts& n) {
  auto fi = from.begin();
  auto ti = to.begin();
  while (fi != from.end() || ti != to.end()) {
    if (ti == to.end() || (fi != from.end() && fi->first < ti->first)) {
      if (wanted(fi->first)) {
        out << "- " << Describe(fi->second) << " removed\n";
        ++n.removed;
      }
      ++fi;
    } else if (fi == from.end() || ti->first < fi->first) {
      if (wanted(ti->first)) {
        out << "+ " << Describe(ti->second) << " added at index " << ModifyIndexOf(ti->second)
            << ": " << Added(ti->second) << "\n";
        ++n.added;
      }
      ++ti;
    } else {
      if (wanted(fi->first) && !(fi->second == ti->second)) {
        json::value a = Comparable(ToJson(fi->second)), b = Comparable(ToJson(ti->second));
        Lines lines;
        // An allocation embeds its job: only its version is news here.
        if (a.is_object() && a.get_object().contains("Job") && b.get_object().contains("Job")) {
          json::value ja = a.get_object()["Job"], jb = b.get_object()["Job"];
          a.get_object().erase("Job");
          b.get_object().erase("Job");
          if (ja != jb) {
            auto version = [](const json::value& j) {
              const json::value* v = j.is_object() ? j.get_object().if_contains("Version") : nullptr;
              return v ? json::value(*v) : json::value(nullptr);
            };
            lines.emplace_back("Job.Version", Brief(version(ja)) + " -> " + Brief(version(jb)));
          }
        }
        DiffJson("", a, b, lines);
        out << "~ " << Describe(ti->second) << " changed, last at index "
            << ModifyIndexOf(ti->second) << "\n";
        std::size_t width = 0;
        for (const auto& [path, text] : lines) width = std::max(width, path.size());
        for (const auto& [path, text] : lines) {
          out << "    " << path << std::string(width - path.size() + 2, ' ') << text << "\n";
        }
        ++n.changed;
      }
      ++fi;
      ++ti;
    }
  }
}

// ---- why ------------------------------------------------------------------------

struct StoryLine {
  std::uint64_t index;
  Nanos time;
  std::size_t order;  // journal order, for ties
  std::string text;
};

const TaskState* TaskIn(const Allocation* a, const std::string& task) {
  if (a == nullptr || !a->TaskStates) return nullptr;
  auto it = a->TaskStates->find(task);
  return it == a->TaskStates->end() ? nullptr : &it->second;
}

std::string Plural(std::uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// The restart tracker's decision as a person reads it: which attempt of
// how many the policy allows, and the delay.
std::string RestartDecision(const Allocation& a, const std::string& task, const TaskEvent& e,
                            std::uint64_t restarts) {
  const Task* t = TaskOf(a, task);
  const TaskGroup* g = GroupOf(a);
  const RestartPolicy* p = nullptr;
  if (t != nullptr && t->RestartPolicy) p = &*t->RestartPolicy;
  else if (g != nullptr && g->RestartPolicy) p = &*g->RestartPolicy;
  std::string out = " (restart " + std::to_string(restarts);
  if (p != nullptr) {
    out += " of " + std::to_string(p->Attempts) + " allowed in " + FormatGoDuration(p->Interval) +
           ", mode " + p->Mode;
  }
  return out + ")";
}

void TaskLines(const std::string& task, const TaskState* before, const TaskState& after,
               const Allocation& alloc, std::uint64_t index, std::size_t order,
               std::vector<StoryLine>& story) {
  Nanos seen = 0;
  if (before != nullptr) {
    for (const TaskEvent& e : before->Events) seen = std::max(seen, e.Time);
  }
  std::uint64_t restarts = before != nullptr ? before->Restarts : 0;
  for (const TaskEvent& e : after.Events) {
    if (e.Time <= seen) continue;
    std::string text = "task " + task + ": " + e.Type;
    const std::string msg = e.DisplayMessage.empty() ? e.Message : e.DisplayMessage;
    if (!msg.empty()) text += ": " + msg;
    if (e.Type == "Restarting") text += RestartDecision(alloc, task, e, ++restarts);
    if (e.Type == "Killing" && !e.KillReason.empty() && msg != e.KillReason) {
      text += " (" + e.KillReason + ")";
    }
    story.push_back({index, e.Time, order, text});
  }
  if (before != nullptr && before->State != after.State && after.State == "dead" && after.Failed) {
    story.push_back({index, after.FinishedAt ? after.FinishedAt->unix_nanos : 0, order,
                     "task " + task + " is dead (failed)"});
  }
}

void AllocLines(const Allocation* before, const Allocation& after, const std::string& only_task,
                const std::map<std::string, Evaluation>& evals, std::uint64_t index, std::size_t order,
                std::vector<StoryLine>& story) {
  const Nanos t = after.ModifyTime;
  if (before == nullptr) {
    std::string text = "placed on node " + (after.NodeName.empty() ? Short(after.NodeID) : after.NodeName);
    if (!after.EvalID.empty()) {
      text += " by evaluation " + Short(after.EvalID);
      if (auto it = evals.find(after.EvalID); it != evals.end()) text += " (" + it->second.TriggeredBy + ")";
    }
    if (after.Job) text += ", job version " + std::to_string(after.Job->Version);
    if (!after.PreviousAllocation.empty()) text += ", replacing allocation " + Short(after.PreviousAllocation);
    story.push_back({index, after.CreateTime ? after.CreateTime : t, order, text});
  }
  if (after.TaskStates) {
    for (const auto& [name, ts] : *after.TaskStates) {
      if (!only_task.empty() && name != only_task) continue;
      TaskLines(name, TaskIn(before, name), ts, after, index, order, story);
    }
  }
  if (before != nullptr && before->DesiredStatus != after.DesiredStatus) {
    story.push_back({index, t, order,
                     "desired status " + before->DesiredStatus + " -> " + after.DesiredStatus +
                         (after.DesiredDescription.empty() ? "" : ": " + after.DesiredDescription)});
  }
  if (before != nullptr && before->ClientStatus != after.ClientStatus) {
    story.push_back({index, t, order,
                     "client status " + before->ClientStatus + " -> " + after.ClientStatus +
                         (after.ClientDescription.empty() ? "" : ": " + after.ClientDescription)});
  }
  const std::size_t had = before && before->RescheduleTracker ? before->RescheduleTracker->Events.size() : 0;
  if (after.RescheduleTracker) {
    for (std::size_t i = had; i < after.RescheduleTracker->Events.size(); ++i) {
      const RescheduleEvent& r = after.RescheduleTracker->Events[i];
      story.push_back({index, r.RescheduleTime, order,
                       "rescheduled from allocation " + Short(r.PrevAllocID) + " after a delay of " +
                           FormatGoDuration(r.Delay)});
    }
  }
  if ((before == nullptr || before->FollowupEvalID.empty()) && !after.FollowupEvalID.empty()) {
    std::string text = "the reschedule policy asks for a replacement: follow-up evaluation " +
                       Short(after.FollowupEvalID);
    if (auto it = evals.find(after.FollowupEvalID); it != evals.end() && it->second.Wait > 0) {
      text += " waits " + FormatGoDuration(it->second.Wait);
    }
    story.push_back({index, t, order, text});
  }
  if ((before == nullptr || before->NextAllocation.empty()) && !after.NextAllocation.empty()) {
    story.push_back({index, t, order, "replaced by allocation " + Short(after.NextAllocation)});
  }
}

std::string NowText(const Allocation& a, const std::string& only_task) {
  std::string out = "desired " + a.DesiredStatus + ", client " + a.ClientStatus;
  if (a.TaskStates) {
    for (const auto& [name, ts] : *a.TaskStates) {
      if (!only_task.empty() && name != only_task) continue;
      out += "; task " + name + " " + ts.State + (ts.Failed ? " (failed)" : "") + ", " +
             Plural(ts.Restarts, "restart", "restarts");
    }
  }
  return out;
}

}  // namespace

std::string TimelineTime(Nanos t) {
  if (t <= 0) return "-";
  time_t secs = static_cast<time_t>(t / kSecond);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>((t % kSecond) / kMillisecond));
  return buf;
}

Status WriteStateDiff(const StateStore& store, const DiffOptions& o, std::ostream& out) {
  if (o.to < o.from) {
    return InvalidArgument("--to " + std::to_string(o.to) + " is before --from " + std::to_string(o.from));
  }
  ASSIGN_OR_RETURN(JournalState from, ReplayJournal(store, o.from));
  ASSIGN_OR_RETURN(JournalState to, ReplayJournal(store, o.to));
  out << "Changes after index " << o.from << " through index " << std::min(o.to, to.index)
      << (o.alloc.empty() ? "" : " of allocations " + o.alloc + "*") << "\n";
  DiffCounts n;
  if (o.alloc.empty()) {
    DiffTable<std::pair<std::string, std::string>, Job>(
        from.jobs, to.jobs, [](const auto&) { return true; }, out, n);
    DiffTable<std::string, Evaluation>(from.evals, to.evals, [](const auto&) { return true; }, out, n);
  }
  DiffTable<std::string, Allocation>(
      from.allocs, to.allocs, [&](const std::string& id) { return id.starts_with(o.alloc); }, out, n);
  if (o.alloc.empty()) {
    DiffTable<std::string, Node>(from.nodes, to.nodes, [](const auto&) { return true; }, out, n);
  }
  if (n.added + n.removed + n.changed == 0) {
    out << "No changes.\n";
  } else {
    out << n.changed << " changed, " << n.added << " added, " << n.removed << " removed\n";
  }
  return Status::Ok();
}

namespace {

// The journal entries after `base` a story of `now` can name, from the
// object index (schema v10), in journal order: its own, its replacement's,
// its job's own and its evaluations' (in any namespace, as their filter
// keys name the job), and the nodes'. Of a big job's thousands of
// allocation entries only the keys are read.
Result<std::vector<JournalKey>> StoryEntries(const StateStore& store, const Allocation& now,
                                             std::uint64_t base) {
  std::vector<JournalKey> keys;
  auto add = [&](std::vector<JournalKey> more, bool job_and_evals_only) {
    for (JournalKey& k : more) {
      if (k.index <= base) continue;
      if (job_and_evals_only && k.topic != "Job" && k.topic != "Evaluation") continue;
      keys.push_back(std::move(k));
    }
  };
  ASSIGN_OR_RETURN(std::vector<JournalKey> mine, store.ListAllocJournal(now.ID, false));
  add(std::move(mine), false);
  if (!now.NextAllocation.empty()) {
    ASSIGN_OR_RETURN(std::vector<JournalKey> next, store.ListAllocJournal(now.NextAllocation, false));
    add(std::move(next), false);
  }
  ASSIGN_OR_RETURN(std::vector<JournalKey> job, store.ListJobJournal(now.JobID, ""));
  add(std::move(job), true);
  ASSIGN_OR_RETURN(std::vector<JournalKey> nodes, store.ListNodeJournal());
  add(std::move(nodes), false);
  auto place = [](const JournalKey& k) { return std::tie(k.index, k.seq); };
  std::sort(keys.begin(), keys.end(), [&](const JournalKey& a, const JournalKey& b) { return place(a) < place(b); });
  keys.erase(std::unique(keys.begin(), keys.end(),
                         [&](const JournalKey& a, const JournalKey& b) { return place(a) == place(b); }),
             keys.end());
  return keys;
}

}  // namespace

Status WriteAllocStory(const StateStore& store, const std::string& prefix, const std::string& task,
                       std::ostream& out) {
  if (prefix.empty()) return InvalidArgument("an allocation ID (or a prefix of one) is needed");
  ASSIGN_OR_RETURN(std::vector<Allocation> found, store.ListAllocsByIDPrefix(prefix));
  if (found.empty()) return NotFound("no allocation with ID " + prefix + "*");
  if (found.size() > 1) {
    std::string ids;
    for (std::size_t i = 0; i < found.size() && i < 5; ++i) ids += " " + found[i].ID;
    return InvalidArgument("the prefix " + prefix + " matches " + std::to_string(found.size()) +
                           " allocations:" + ids + (found.size() > 5 ? " ..." : ""));
  }
  const Allocation& now = found.front();
  if (!task.empty() && TaskIn(&now, task) == nullptr && TaskOf(now, task) == nullptr) {
    return NotFound("allocation " + now.ID + " has no task \"" + task + "\"");
  }

  // From the snapshot: the allocation, and the evaluations of its job (the
  // only ones the story names: its own, its follow-up, its replacement's).
  ASSIGN_OR_RETURN(JournalState snapshot,
                   LoadJournalSnapshot(store, [&](std::string_view topic, std::string_view ns,
                                                  std::string_view id, std::string_view job_id) {
                     if (topic == "Allocation") return id == now.ID;
                     return topic == "Evaluation" && ns == now.Namespace && job_id == now.JobID;
                   }));
  std::optional<Allocation> prev;
  if (auto it = snapshot.allocs.find(now.ID); it != snapshot.allocs.end()) prev = it->second;
  std::map<std::string, Evaluation> evals = snapshot.evals;
  std::optional<Allocation> next_prev;  // the replacement, once placed
  std::vector<StoryLine> story;
  std::size_t order = 0;
  std::uint64_t first = 0, last = 0;  // this allocation's first and last journal index
  std::vector<StoryLine> agent_lines;
  std::set<std::string> told_evals;

  auto tell = [&](const EventHead& h, std::string_view raw) -> Result<bool> {
    ++order;
    const bool mine = h.topic == "Allocation" && h.key == now.ID;
    const bool replacement = h.topic == "Allocation" && !now.NextAllocation.empty() &&
                             h.key == now.NextAllocation && !next_prev;
    const bool of_job = (h.topic == "Evaluation" && h.HasFilterKey(now.JobID)) ||
                        (h.topic == "Job" && h.key == now.JobID && h.ns == now.Namespace);
    const bool node = h.topic == "Node";
    if (!mine && !replacement && !of_job && !node) return true;
    ASSIGN_OR_RETURN(Event e, DecodeJournalEntry(raw));
    ASSIGN_OR_RETURN(json::value payload, ParseJson(e.Payload.text));
    const json::value* obj = payload.is_object() ? payload.get_object().if_contains(e.Topic) : nullptr;
    if (obj == nullptr) return true;
    if (mine) {
      ASSIGN_OR_RETURN(Allocation a, FromJson<Allocation>(*obj, "Allocation"));
      if (!a.Job) a.Job = prev && prev->Job ? prev->Job : now.Job;
      if (first == 0) first = h.index;
      last = h.index;
      AllocLines(prev ? &*prev : nullptr, a, task, evals, h.index, order, story);
      prev = std::move(a);
    } else if (replacement) {
      ASSIGN_OR_RETURN(Allocation a, FromJson<Allocation>(*obj, "Allocation"));
      std::string text = "replacement allocation " + Short(a.ID) + " (" + a.Name + ") placed";
      if (auto it = evals.find(a.EvalID); it != evals.end()) {
        text += " by evaluation " + Short(a.EvalID) + " (" + it->second.TriggeredBy + ")";
      } else if (!a.EvalID.empty()) {
        text += " by evaluation " + Short(a.EvalID);
      }
      text += ": desired " + a.DesiredStatus + ", client " + a.ClientStatus;
      story.push_back({h.index, a.CreateTime, order, text});
      last = std::max(last, h.index);
      next_prev = std::move(a);
    } else if (h.topic == "Evaluation") {
      ASSIGN_OR_RETURN(Evaluation ev, FromJson<Evaluation>(*obj, "Evaluation"));
      const bool placing_replacement = prev && !prev->FollowupEvalID.empty() && ev.ID == prev->FollowupEvalID;
      if (prev && placing_replacement && told_evals.insert(ev.ID + ev.Status).second) {
        story.push_back({h.index, ev.ModifyTime, order,
                         "evaluation " + Short(ev.ID) + " (" + ev.TriggeredBy + ") " + ev.Status +
                             (ev.StatusDescription.empty() ? "" : ": " + ev.StatusDescription)});
      }
      evals[ev.ID] = std::move(ev);
    } else if (h.topic == "Job") {
      if (prev) {
        ASSIGN_OR_RETURN(Job j, FromJson<Job>(*obj, "Job"));
        std::string text = h.type == "JobDeregistered"
                               ? (j.ModifyIndex == h.index ? "job " + j.ID + " stopped" : "job " + j.ID + " purged")
                               : "job " + j.ID + " version " + std::to_string(j.Version) + " registered";
        story.push_back({h.index, j.SubmitTime, order, text});
      }
    } else if (node && prev) {
      ASSIGN_OR_RETURN(Node n, FromJson<Node>(*obj, "Node"));
      agent_lines.push_back({h.index, TimeInNanos(n.StatusUpdatedAt, kSecond), order,
                             "agent started: node " + n.Name + " registered (" + n.Status + ")"});
    }
    return true;
  };
  if (store.schema_version() >= 10) {
    ASSIGN_OR_RETURN(std::vector<JournalKey> keys, StoryEntries(store, now, snapshot.index));
    RETURN_IF_ERROR(VisitJournalEntries(store, keys, tell));
  } else {  // a read-only view of an older store: its Node events are not indexed
    RETURN_IF_ERROR(ScanJournalHeads(store, snapshot.index + 1, tell));
  }
  // The placing evaluation may be journaled after the placement.
  if (!story.empty() && story.front().text.starts_with("placed on node") && !now.EvalID.empty()) {
    const std::string by = "by evaluation " + Short(now.EvalID);
    auto it = evals.find(now.EvalID);
    std::string& text = story.front().text;
    if (it != evals.end() && text.find(by + ",") != std::string::npos) {
      text.replace(text.find(by + ","), by.size(), by + " (" + it->second.TriggeredBy + ")");
    }
  }
  // Agent restarts matter while the allocation lives, not after its story.
  for (StoryLine& l : agent_lines) {
    if (l.index > first && l.index < last) story.push_back(std::move(l));
  }
  // Journal order; within one entry, the order the lines were told in.
  std::stable_sort(story.begin(), story.end(), [](const StoryLine& a, const StoryLine& b) {
    return std::tie(a.index, a.order) < std::tie(b.index, b.order);
  });

  out << "Allocation " << now.ID << " " << now.Name << " of job " << now.Namespace << "/"
      << now.JobID << (task.empty() ? "" : ", task " + task) << "\n";
  out << "Now: " << NowText(now, task) << "\n";
  if (snapshot.index > 0 && (first == 0 || snapshot.allocs.count(now.ID))) {
    out << "(history through index " << snapshot.index
        << " was compacted; the story starts after it)\n";
  }
  if (story.empty()) {
    out << "No journaled events for it.\n";
    return Status::Ok();
  }
  out << "\n";
  for (const StoryLine& l : story) {
    out << "  " << TimelineTime(l.time) << "  [" << l.index << "]  " << l.text << "\n";
  }
  return Status::Ok();
}

}  // namespace drover
