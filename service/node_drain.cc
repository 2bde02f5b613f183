#include "service/node_drain.h"

#include <boost/json.hpp>

#include <algorithm>
#include <set>

#include "common/checked_math.h"
#include "common/log.h"
#include "service/agent.h"
#include "service/evals.h"
#include "storage/codec.h"

namespace drover {
namespace {

namespace json = boost::json;

// Nomad's texts (nomad/node_endpoint.go, nomad/drainer).
constexpr const char* kDrainSet = "Node drain strategy set";
constexpr const char* kDrainUpdated = "Node drain strategy updated";
constexpr const char* kDrainDisabled = "Node drain disabled";
constexpr const char* kDrainComplete = "Node drain complete";
constexpr const char* kMarkedEligible = "Node marked as eligible for scheduling";
constexpr const char* kMarkedIneligible = "Node marked as ineligible for scheduling";
constexpr const char* kReRegistered = "Node re-registered";
constexpr std::size_t kMaxRetainedNodeEvents = 10;

std::string TimeText(Nanos t) { return FormatRFC3339Nano(GoTime::FromUnixNanos(t)); }
const std::string kZeroTime = FormatRFC3339Nano(GoTime::Zero());

// The node's DrainStrategy as Drover reads it back.
struct Strategy {
  DrainSpec spec;
  Nanos force_deadline = 0;  // Unix ns; meaningful when spec.Deadline > 0
  std::string started_at;    // RFC 3339 text, kept across updates
};

std::optional<Strategy> StrategyOf(const Node& node) {
  if (node.DrainStrategy.IsNull()) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(node.DrainStrategy.text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.get_object();
  Strategy s;
  if (const json::value* d = o.if_contains("Deadline"); d && d->is_int64()) {
    s.spec.Deadline = d->get_int64();
  }
  if (const json::value* i = o.if_contains("IgnoreSystemJobs"); i && i->is_bool()) {
    s.spec.IgnoreSystemJobs = i->get_bool();
  }
  if (const json::value* f = o.if_contains("ForceDeadline"); f && f->is_string()) {
    auto t = ParseRFC3339(f->get_string());
    if (t.ok() && !t->IsZero()) s.force_deadline = t->unix_nanos;
  }
  if (const json::value* st = o.if_contains("StartedAt"); st && st->is_string()) {
    s.started_at = std::string(st->get_string());
  }
  return s;
}

std::string StrategyJson(const Strategy& s) {
  return json::serialize(json::object{
      {"Deadline", s.spec.Deadline},
      {"IgnoreSystemJobs", s.spec.IgnoreSystemJobs},
      {"ForceDeadline", s.spec.Deadline > 0 ? TimeText(s.force_deadline) : kZeroTime},
      {"StartedAt", s.started_at}});
}

// Appends a node event (Nomad's NodeEvent), keeping the latest ten.
void AddNodeEvent(Node& node, const std::string& message, const std::string& subsystem,
                  const StringMap& details, std::uint64_t index, Nanos now) {
  json::array events;
  boost::system::error_code ec;
  if (!node.Events.IsNull()) {
    json::value old = json::parse(node.Events.text, ec);
    if (!ec && old.is_array()) events = std::move(old.get_array());
  }
  json::value details_json = nullptr;
  if (!details.empty()) {
    json::object d;
    for (const auto& [k, v] : details) d[k] = v;
    details_json = std::move(d);
  }
  events.push_back(json::object{{"Message", message},
                                {"Subsystem", subsystem},
                                {"Details", std::move(details_json)},
                                {"Timestamp", TimeText(now)},
                                {"CreateIndex", index}});
  if (events.size() > kMaxRetainedNodeEvents) {
    events.erase(events.begin(), events.end() - kMaxRetainedNodeEvents);
  }
  node.Events.text = json::serialize(events);
}

// Nomad's DrainMetadata update (state store updateNodeDrainImpl), at
// one-second resolution as Nomad records it.
void UpdateLastDrain(const Node& before, Node& node, const std::optional<StringMap>& meta,
                     const std::string& accessor, bool completed, Nanos now) {
  const bool was_draining = !before.DrainStrategy.IsNull();
  const bool draining = !node.DrainStrategy.IsNull();
  if (!was_draining && !draining) return;
  const std::string update_time = TimeText(now / kSecond * kSecond);
  json::object last;
  boost::system::error_code ec;
  if (was_draining && !node.LastDrain.IsNull()) {
    json::value old = json::parse(node.LastDrain.text, ec);
    if (!ec && old.is_object()) last = std::move(old.get_object());
  }
  if (last.empty()) {
    std::optional<Strategy> old = StrategyOf(before);
    last["StartedAt"] = was_draining && old ? old->started_at : update_time;
    last["AccessorID"] = "";
    last["Meta"] = nullptr;
  }
  last["UpdatedAt"] = update_time;
  if (meta && !meta->empty()) {
    json::object m;
    for (const auto& [k, v] : *meta) m[k] = v;
    last["Meta"] = std::move(m);
  }
  if (!accessor.empty()) last["AccessorID"] = accessor;
  last["Status"] = draining ? "draining" : completed ? "complete" : "canceled";
  node.LastDrain.text = json::serialize(last);
}

void PutNodeWithEvent(WriteTxn& txn, Node& node, const char* type, Nanos now) {
  node.ModifyIndex = txn.index();
  node.StatusUpdatedAt = now / kSecond;
  txn.PutNode(node);
  txn.AddEvent(MakeEvent("Node", type, node.ID, "", EncodeJson(node)));
}

bool Live(const Allocation& a) {
  return a.DesiredStatus == kAllocDesiredRun && !ClientTerminal(a.ClientStatus);
}

std::string TypeOf(const Allocation& a) { return a.Job ? a.Job->Type : ""; }

}  // namespace

NodeDrainer::NodeDrainer(Agent& agent) : agent_(agent) {}

NodeDrainer::~NodeDrainer() { Stop(); }

void NodeDrainer::Start() {
  timers_.After(0, [this] { Step(); });
}

void NodeDrainer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    if (watch_ != 0) agent_.store().CancelWatch(watch_);
    watch_ = 0;
  }
  timers_.Stop();
}

Result<NodeUpdateResult> NodeDrainer::UpdateEligibility(const std::string& node_id,
                                                        const std::string& eligibility) {
  if (eligibility != kNodeEligible && eligibility != kNodeIneligible) {
    return Internal("invalid scheduling eligibility \"" + eligibility + "\"");
  }
  StateStore& store = agent_.store();
  bool became_eligible = false;
  bool unchanged = false;
  auto index = store.Apply([&](WriteTxn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<Node> node, store.GetNode(node_id));
    if (!node) return Internal("node not found");
    if (!node->DrainStrategy.IsNull() && eligibility == kNodeEligible) {
      return Internal("can not set node's scheduling eligibility to eligible while it is draining");
    }
    if (node->SchedulingEligibility == eligibility) {
      unchanged = true;
      return FailedPrecondition("unchanged");  // nothing is written
    }
    const Nanos now = NowNanos();
    became_eligible = eligibility == kNodeEligible;
    node->SchedulingEligibility = eligibility;
    AddNodeEvent(*node, became_eligible ? kMarkedEligible : kMarkedIneligible, "Cluster", {},
                 txn.index(), now);
    PutNodeWithEvent(txn, *node, "NodeEligibility", now);
    return Status::Ok();
  });
  if (unchanged) return NodeUpdateResult{};  // Nomad: "Nothing to do"
  RETURN_IF_ERROR(index.status());
  log::Info("node: scheduling eligibility " + eligibility);
  NodeUpdateResult out;
  out.Index = *index;
  if (became_eligible) {
    out.EvalIDs = PlaceMissing();
    if (!out.EvalIDs.empty()) out.EvalCreateIndex = store.LatestIndex();
  }
  return out;
}

Result<NodeUpdateResult> NodeDrainer::UpdateDrain(const std::string& node_id,
                                                  const std::optional<DrainSpec>& spec,
                                                  bool mark_eligible,
                                                  const std::optional<StringMap>& meta,
                                                  const std::string& accessor_id) {
  StateStore& store = agent_.store();
  bool became_eligible = false;
  auto index = store.Apply([&](WriteTxn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<Node> node, store.GetNode(node_id));
    if (!node) return Internal("node not found");
    const Node before = *node;
    const Nanos now = NowNanos();
    std::optional<Strategy> old = StrategyOf(before);
    const char* message = nullptr;
    if (spec) {
      Strategy s;
      s.spec = *spec;
      s.started_at = old ? old->started_at : TimeText(now);
      if (spec->Deadline > 0) s.force_deadline = SaturatingAdd(now, spec->Deadline);
      node->DrainStrategy.text = StrategyJson(s);
      node->Drain = true;
      node->SchedulingEligibility = kNodeIneligible;
      message = old ? kDrainUpdated : kDrainSet;
    } else {
      node->DrainStrategy = RawJson{};
      node->Drain = false;
      if (mark_eligible) {
        became_eligible = node->SchedulingEligibility != kNodeEligible;
        node->SchedulingEligibility = kNodeEligible;
      }
      if (old) message = kDrainDisabled;
    }
    if (message != nullptr) AddNodeEvent(*node, message, "Drain", {}, txn.index(), now);
    UpdateLastDrain(before, *node, meta, accessor_id, false, now);
    PutNodeWithEvent(txn, *node, "NodeDrain", now);
    return Status::Ok();
  });
  RETURN_IF_ERROR(index.status());
  log::Info(spec ? "node: drain set, deadline " + FormatGoDuration(spec->Deadline)
                 : std::string("node: drain cancelled"));
  NodeUpdateResult out;
  out.NodeModifyIndex = out.Index = *index;
  if (spec) timers_.After(0, [this] { Step(); });
  if (became_eligible) {
    out.EvalIDs = PlaceMissing();
    if (!out.EvalIDs.empty()) out.EvalCreateIndex = store.LatestIndex();
  }
  return out;
}

Result<NodeUpdateResult> NodeDrainer::Purge(const std::string& node_id) {
  StateStore& store = agent_.store();
  NodeUpdateResult out;
  bool was_ineligible = false;
  auto index = store.Apply([&](WriteTxn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<Node> node, store.GetNode(node_id));
    if (!node) return Internal("node not found");
    const Nanos now = NowNanos();
    // The client registers again as a new node of the same ID: eligible,
    // not draining.
    was_ineligible = node->SchedulingEligibility != kNodeEligible;
    node->SchedulingEligibility = kNodeEligible;
    node->DrainStrategy = RawJson{};
    node->Drain = false;
    node->LastDrain = RawJson{};
    node->Events = RawJson{};
    node->Status = "ready";
    node->CreateIndex = txn.index();
    AddNodeEvent(*node, kReRegistered, "Cluster", {}, txn.index(), now);
    PutNodeWithEvent(txn, *node, "NodeRegistration", now);

    // An evaluation for each job with allocations on the node (Nomad's
    // createNodeEvals), complete at once: nothing moves on one node.
    ASSIGN_OR_RETURN(std::vector<Allocation> allocs, store.ListAllocs());
    std::set<std::pair<std::string, std::string>> jobs;
    for (const Allocation& a : allocs) {
      if (a.NodeID != node_id || !a.Job || !jobs.insert({a.Namespace, a.JobID}).second) continue;
      Evaluation e = CompleteEval(*a.Job, "node-update", txn.index(), now);
      e.NodeID = node_id;
      e.NodeModifyIndex = txn.index();
      PutEvalWithEvent(txn, e);
      out.EvalIDs.push_back(e.ID);
    }
    return Status::Ok();
  });
  RETURN_IF_ERROR(index.status());
  log::Info("node: purged and registered again");
  out.NodeModifyIndex = out.Index = *index;
  if (!out.EvalIDs.empty()) out.EvalCreateIndex = *index;
  if (was_ineligible) {
    std::vector<std::string> placed = PlaceMissing();
    out.EvalIDs.insert(out.EvalIDs.end(), placed.begin(), placed.end());
  }
  return out;
}

std::vector<std::string> NodeDrainer::PlaceMissing() {
  StateStore& store = agent_.store();
  auto jobs = store.ListJobs();
  auto evals = store.ListEvals();
  if (!jobs.ok() || !evals.ok()) return {};
  std::vector<std::string> out;
  for (const Job& job : *jobs) {
    if (job.Stop) continue;
    auto allocs = store.ListAllocsByJob(job.Namespace, job.ID);
    if (!allocs.ok()) continue;
    bool blocked = std::any_of(evals->begin(), evals->end(), [&](const Evaluation& e) {
      return e.Status == "blocked" && e.JobID == job.ID && e.Namespace == job.Namespace;
    });
    std::int64_t want = 0, live = 0;
    bool finished_some = false;
    for (const TaskGroup& tg : job.TaskGroups) want = SaturatingAdd(want, tg.Count);
    for (const Allocation& a : *allocs) {
      if (Live(a)) ++live;
      if (a.ClientStatus == kAllocClientComplete) finished_some = true;
    }
    const bool service = job.Type == kJobTypeService;
    // Registering a batch job again would run its finished allocations
    // again: only one that never finished one is placed.
    if (!(service && live < want) && !(blocked && !finished_some)) continue;
    auto placed = agent_.RegisterJob(job);
    if (!placed.ok()) {
      log::Warn("node: placing " + job.ID + " again: " + placed.status().ToString());
      continue;
    }
    out.push_back(placed->EvalID);
    // The blocked evaluations are done: the new one replaces them.
    auto done = store.Apply([&](WriteTxn& txn) -> Status {
      for (Evaluation e : *evals) {
        if (e.Status != "blocked" || e.JobID != job.ID || e.Namespace != job.Namespace) continue;
        e.Status = "complete";
        e.NextEval = placed->EvalID;
        e.ModifyIndex = txn.index();
        e.ModifyTime = NowNanos();
        PutEvalWithEvent(txn, e);
      }
      return Status::Ok();
    });
    if (!done.ok()) log::Warn("node: blocked evaluations of " + job.ID + ": " + done.status().ToString());
  }
  return out;
}

void NodeDrainer::Step() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
  }
  StateStore& store = agent_.store();
  const std::string node_id = agent_.node().ID;
  auto node = store.GetNode(node_id);
  if (!node.ok() || !*node) return;
  std::optional<Strategy> strategy = StrategyOf(**node);
  if (!strategy) return;
  const Nanos now = NowNanos();
  const bool deadline_reached =
      strategy->spec.Deadline < 0 ||
      (strategy->spec.Deadline > 0 && now >= strategy->force_deadline);

  auto allocs = store.ListAllocs();
  if (!allocs.ok()) {
    log::Error("node drain: " + allocs.status().ToString());
    return;
  }
  // Nomad's order: service (and sysbatch) allocations now, batch ones at
  // the deadline, system ones once the rest is done (unless ignored).
  bool others_done = true;
  std::vector<std::string> stop, system;
  for (const Allocation& a : *allocs) {
    if (a.NodeID != node_id || !Live(a)) continue;
    const std::string type = TypeOf(a);
    if (type == "system") {
      if (!strategy->spec.IgnoreSystemJobs) system.push_back(a.ID);
      continue;
    }
    others_done = false;
    if (type == kJobTypeBatch && !deadline_reached) continue;
    stop.push_back(a.ID);
  }
  if (others_done || deadline_reached) stop.insert(stop.end(), system.begin(), system.end());
  for (const std::string& id : stop) {
    auto stopped = agent_.StopAlloc(id);
    if (!stopped.ok()) log::Warn("node drain: stop " + id + ": " + stopped.status().ToString());
  }

  // Done once every allocation that had to go is terminal (at the
  // deadline: once all are told to stop, as Nomad).
  bool done = deadline_reached;
  if (!done) {
    auto now_allocs = store.ListAllocs();
    if (!now_allocs.ok()) return;
    done = std::none_of(now_allocs->begin(), now_allocs->end(), [&](const Allocation& a) {
      if (a.NodeID != node_id || ClientTerminal(a.ClientStatus)) return false;
      return TypeOf(a) != "system" || !strategy->spec.IgnoreSystemJobs;
    });
  }
  if (done) {
    auto index = store.Apply([&](WriteTxn& txn) -> Status {
      ASSIGN_OR_RETURN(std::optional<Node> n, store.GetNode(node_id));
      if (!n || n->DrainStrategy.IsNull()) return FailedPrecondition("not draining");
      const Node before = *n;
      const Nanos t = NowNanos();
      n->DrainStrategy = RawJson{};
      n->Drain = false;
      StringMap details;
      if (deadline_reached) details["deadline_reached"] = "true";
      AddNodeEvent(*n, kDrainComplete, "Drain", details, txn.index(), t);
      UpdateLastDrain(before, *n, std::nullopt, "", true, t);
      PutNodeWithEvent(txn, *n, "NodeDrain", t);
      return Status::Ok();
    });
    if (index.ok()) log::Info("node: drain complete");
    return;
  }

  // Not done: look again when an allocation changes, and at the deadline.
  // The watch may fire at once, from here, or from a committing thread.
  WatchId id = store.Watch({Table::kAllocs}, store.TableIndex(Table::kAllocs),
                           [this] { timers_.After(0, [this] { Step(); }); });
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (watch_ != 0) store.CancelWatch(watch_);
    watch_ = id;
    if (stopped_ && id != 0) store.CancelWatch(id);
  }
  if (strategy->spec.Deadline > 0 && deadline_armed_ != strategy->force_deadline) {
    deadline_armed_ = strategy->force_deadline;
    timers_.After(strategy->force_deadline - now, [this] { Step(); });
  }
}

}  // namespace drover
