#include "lifecycle/update_batcher.h"

#include <algorithm>

namespace drover {

// A pending flush timer is left alone: the scheduler may be going away
// too (the engine stops its timers before it destroys the batcher).
UpdateBatcher::~UpdateBatcher() {
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> l(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
}

void UpdateBatcher::StartCommitter(PostFn post) {
  post_ = std::move(post);
  thread_ = std::thread([this] { CommitterLoop(); });
}

void UpdateBatcher::MarkDirty(Client* client) {
  if (std::find(dirty_.begin(), dirty_.end(), client) == dirty_.end()) dirty_.push_back(client);
  if (flush_timer_ != 0 || in_flight_) return;  // the write in flight flushes when done
  // A zero delay runs after the handlers already queued: the end of the turn.
  flush_timer_ = scheduler_.After(0, [this] {
    flush_timer_ = 0;
    Flush();
  });
}

void UpdateBatcher::Forget(Client* client) {
  dirty_.erase(std::remove(dirty_.begin(), dirty_.end(), client), dirty_.end());
  auto null_out = [client](std::vector<Client*>& v) {
    std::replace(v.begin(), v.end(), client, static_cast<Client*>(nullptr));
  };
  if (answering_ != nullptr) null_out(answering_->clients);
  if (in_flight_) null_out(in_flight_->clients);
}

void UpdateBatcher::Flush() {
  if (dirty_.empty() || in_flight_) return;
  // Committed() may change tasks again: those changes go into the next batch.
  Batch batch;
  batch.clients.swap(dirty_);
  batch.updates.reserve(batch.clients.size());
  for (Client* c : batch.clients) batch.updates.push_back(c->TakeUpdate());
  ++flushes_;
  if (!thread_.joinable()) {
    std::vector<Status> results = sink_.Commit(batch.updates);
    Deliver(batch, results);
    return;
  }
  in_flight_ = std::move(batch);
  {
    std::lock_guard<std::mutex> l(mu_);
    job_ = &in_flight_->updates;
  }
  cv_.notify_all();
}

void UpdateBatcher::Deliver(Batch& batch, const std::vector<Status>& results) {
  answering_ = &batch;
  for (std::size_t i = 0; i < batch.clients.size(); ++i) {
    // A client that Forget() removed meanwhile is gone: skip it.
    if (batch.clients[i] == nullptr) continue;
    batch.clients[i]->Committed(batch.updates[i],
                                i < results.size() ? results[i] : Internal("no result"));
  }
  answering_ = nullptr;
}

void UpdateBatcher::CommitterLoop() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [this] { return quit_ || job_ != nullptr; });
    if (job_ == nullptr) return;  // quit with nothing to write
    const std::vector<AllocUpdate>* job = job_;
    busy_ = true;
    l.unlock();
    std::vector<Status> results = sink_.Commit(*job);
    l.lock();
    last_results_ = results;
    job_ = nullptr;
    busy_ = false;
    cv_.notify_all();
    // Back on the loop: answer the clients, then write what piled up.
    post_([this, results = std::move(results)] {
      if (!in_flight_) return;  // Drain() answered it already
      Batch batch = std::move(*in_flight_);
      in_flight_.reset();
      Deliver(batch, results);
      Flush();
    });
  }
}

void UpdateBatcher::Drain() {
  if (thread_.joinable()) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return job_ == nullptr && !busy_; });
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
    // The batch in flight is written; its answer may still be queued on
    // the loop. Answer it here, once (the queued answer then finds none).
    if (in_flight_) {
      Batch batch = std::move(*in_flight_);
      in_flight_.reset();
      Deliver(batch, last_results_);
    }
  }
  Flush();  // synchronous now that no committer runs
}

}  // namespace drover
