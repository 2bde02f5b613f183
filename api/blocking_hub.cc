#include "api/blocking_hub.h"

#include <algorithm>
#include <vector>

namespace drover::api {

BlockingHub::~BlockingHub() {
  for (auto& [identity, g] : groups_) {
    if (g->watch_id != 0) watches_.CancelWatch(g->watch_id);
    for (auto& [id, w] : g->waiters) {
      if (w.timer != 0) loop_.CancelTimer(w.timer);
    }
  }
}

EncodedReply BlockingHub::Run(const GroupPtr& g, std::uint64_t* floor) {
  *floor = watches_.Floor(g->watch);
  ++runs_;
  EncodedReply reply = g->query();
  g->last = reply;
  g->last_floor = *floor;
  return reply;
}

void BlockingHub::Park(ParkRequest req) {
  if (stopped_) {
    req.sink(req.query(), req.pretty);
    return;
  }
  const std::uint64_t id = next_waiter_++;
  std::string identity =
      req.identity.empty() ? std::string("\x01") + std::to_string(id) : std::move(req.identity);
  GroupPtr& slot = groups_[identity];
  bool fresh = !slot;
  if (fresh) {
    slot = std::make_shared<Group>();
    slot->identity = identity;
    slot->watch = std::move(req.watch);
    slot->query = std::move(req.query);
  }
  GroupPtr g = slot;
  Waiter& w = g->waiters[id];
  w.id = id;
  w.min_index = req.min_index;
  w.pretty = req.pretty;
  w.sink = std::move(req.sink);
  ++waiter_count_;
  std::weak_ptr<Group> weak = g;
  w.timer = loop_.StartTimer(req.wait, [this, weak, id] {
    if (auto g = weak.lock()) Deadline(g, id);
  });
  if (fresh) {
    Arm(g, req.floor);
  } else if (req.floor < g->floor && !g->wake_pending) {
    // The group's watch starts above this waiter's first run: a change in
    // between has not been seen by it, so look again now.
    g->wake_pending = true;
    loop_.Post([this, weak] {
      if (auto g = weak.lock()) Wake(g);
    });
  }
}

void BlockingHub::Arm(const GroupPtr& g, std::uint64_t floor) {
  g->floor = floor;
  std::weak_ptr<Group> weak = g;
  g->watch_id = 0;
  g->watch_id = watches_.Watch(g->watch, floor, [this, weak] {
    loop_.Post([this, weak] {
      auto g = weak.lock();
      if (!g) return;
      g->watch_id = 0;
      Wake(g);
    });
  });
}

void BlockingHub::Wake(const GroupPtr& g) {
  g->wake_pending = false;
  if (g->waiters.empty()) return;
  std::uint64_t floor = 0;
  EncodedReply reply = Run(g, &floor);
  std::vector<std::uint64_t> answered;
  for (auto& [id, w] : g->waiters) {
    if (!reply.status.ok() || reply.index > w.min_index) {
      Answer(w, reply);
      answered.push_back(id);
    }
  }
  for (std::uint64_t id : answered) g->waiters.erase(id);
  waiter_count_ -= answered.size();
  if (g->waiters.empty()) {
    Drop(g);
    return;
  }
  if (g->watch_id != 0) watches_.CancelWatch(g->watch_id);
  Arm(g, floor);  // a change that left the rest's results as they were
}

void BlockingHub::Deadline(const GroupPtr& g, std::uint64_t waiter_id) {
  auto it = g->waiters.find(waiter_id);
  if (it == g->waiters.end()) return;
  it->second.timer = 0;
  // The group's latest reply holds while nothing changed since it ran.
  if (g->last && watches_.Floor(g->watch) == g->last_floor) {
    Answer(it->second, *g->last);
  } else {
    std::uint64_t floor = 0;
    Answer(it->second, Run(g, &floor));
  }
  g->waiters.erase(it);
  --waiter_count_;
  if (g->waiters.empty()) Drop(g);
}

void BlockingHub::Answer(Waiter& w, const EncodedReply& reply) {
  if (w.timer != 0) {
    loop_.CancelTimer(w.timer);
    w.timer = 0;
  }
  w.sink(reply, w.pretty);
}

void BlockingHub::Drop(const GroupPtr& g) {
  if (g->watch_id != 0) watches_.CancelWatch(g->watch_id);
  g->watch_id = 0;
  groups_.erase(g->identity);
}

void BlockingHub::Shutdown() {
  stopped_ = true;
  auto all = std::move(groups_);
  groups_.clear();
  for (auto& [identity, g] : all) {
    if (g->watch_id != 0) watches_.CancelWatch(g->watch_id);
    g->watch_id = 0;
    std::uint64_t floor = 0;
    EncodedReply reply = Run(g, &floor);
    for (auto& [id, w] : g->waiters) Answer(w, reply);
    waiter_count_ -= g->waiters.size();
    g->waiters.clear();
  }
}

}  // namespace drover::api
