// Group commit of task-state changes: every allocation whose tasks changed
// during one turn of the loop is recorded in one UpdateSink::Commit (one
// synced write), at the end of that turn.
#pragma once

#include <cstdint>
#include <vector>

#include "lifecycle/alloc_backend.h"
#include "lifecycle/scheduler.h"

namespace drover {

class UpdateBatcher {
 public:
  class Client {
   public:
    virtual ~Client() = default;
    // What changed since the last call; called once per flush.
    virtual AllocUpdate TakeUpdate() = 0;
    // The outcome of writing `update`.
    virtual void Committed(const AllocUpdate& update, const Status& status) = 0;
  };

  UpdateBatcher(Scheduler& scheduler, UpdateSink& sink) : scheduler_(scheduler), sink_(sink) {}
  ~UpdateBatcher();
  UpdateBatcher(const UpdateBatcher&) = delete;
  UpdateBatcher& operator=(const UpdateBatcher&) = delete;

  // `client` has changes; they are written at the end of this loop turn.
  void MarkDirty(Client* client);
  // `client` goes away: its unwritten changes are dropped.
  void Forget(Client* client);
  // Writes what is pending now (at the end of a turn, and before the
  // engine stops).
  void Flush();

  std::uint64_t flushes() const { return flushes_; }

 private:
  Scheduler& scheduler_;
  UpdateSink& sink_;
  std::vector<Client*> dirty_;  // in the order they first changed
  std::vector<Client*>* in_flight_ = nullptr;  // the batch Flush() is answering
  TimerId flush_timer_ = 0;
  std::uint64_t flushes_ = 0;
};

}  // namespace drover
