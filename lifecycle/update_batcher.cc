#include "lifecycle/update_batcher.h"

#include <algorithm>

namespace drover {

// A pending flush timer is left alone: the scheduler may be going away
// too (the engine stops its timers before it destroys the batcher).
UpdateBatcher::~UpdateBatcher() = default;

void UpdateBatcher::MarkDirty(Client* client) {
  if (std::find(dirty_.begin(), dirty_.end(), client) == dirty_.end()) dirty_.push_back(client);
  if (flush_timer_ != 0) return;
  // A zero delay runs after the handlers already queued: the end of the turn.
  flush_timer_ = scheduler_.After(0, [this] {
    flush_timer_ = 0;
    Flush();
  });
}

void UpdateBatcher::Forget(Client* client) {
  dirty_.erase(std::remove(dirty_.begin(), dirty_.end(), client), dirty_.end());
  if (in_flight_ != nullptr) std::replace(in_flight_->begin(), in_flight_->end(), client, static_cast<Client*>(nullptr));
}

void UpdateBatcher::Flush() {
  if (dirty_.empty()) return;
  // Committed() may change tasks again: those changes go into the next batch.
  std::vector<Client*> batch;
  batch.swap(dirty_);
  std::vector<AllocUpdate> updates;
  updates.reserve(batch.size());
  for (Client* c : batch) updates.push_back(c->TakeUpdate());
  std::vector<Status> results = sink_.Commit(updates);
  ++flushes_;
  in_flight_ = &batch;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    // A client that Forget() removed meanwhile is gone: skip it.
    if (batch[i] == nullptr) continue;
    batch[i]->Committed(updates[i], i < results.size() ? results[i] : Internal("no result"));
  }
  in_flight_ = nullptr;
}

}  // namespace drover
