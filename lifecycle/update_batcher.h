// Group commit of task-state changes: every allocation whose tasks changed
// during one turn of the loop is recorded in one UpdateSink::Commit (one
// synced write), at the end of that turn.
//
// With a committer thread (StartCommitter), the write runs off the loop,
// and changes made while it syncs wait for the next one: however fast
// changes come, there is at most one write in flight and the loop never
// waits for a sync. Without it (tests), the write runs on the loop.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
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
  // Runs a function on the loop; callable from any thread.
  using PostFn = std::function<void(std::function<void()>)>;

  UpdateBatcher(Scheduler& scheduler, UpdateSink& sink) : scheduler_(scheduler), sink_(sink) {}
  ~UpdateBatcher();
  UpdateBatcher(const UpdateBatcher&) = delete;
  UpdateBatcher& operator=(const UpdateBatcher&) = delete;

  // Writes from now on run on a thread of their own; their outcomes come
  // back to the loop through `post`.
  void StartCommitter(PostFn post);

  // `client` has changes; they are written at the end of this loop turn
  // (or once the write in flight is done).
  void MarkDirty(Client* client);
  // `client` goes away: its unwritten changes are dropped.
  void Forget(Client* client);
  // Starts a write of what is pending now, unless one is in flight.
  void Flush();
  // Before the engine stops: waits for the write in flight, then writes
  // what is left on this thread. Later changes are written synchronously.
  void Drain();

  std::uint64_t flushes() const { return flushes_; }

 private:
  struct Batch {
    std::vector<Client*> clients;  // null once forgotten
    std::vector<AllocUpdate> updates;
  };
  void Deliver(Batch& batch, const std::vector<Status>& results);
  void CommitterLoop();

  Scheduler& scheduler_;
  UpdateSink& sink_;
  std::vector<Client*> dirty_;  // in the order they first changed
  TimerId flush_timer_ = 0;
  std::uint64_t flushes_ = 0;
  Batch* answering_ = nullptr;   // the batch being answered on the loop
  std::optional<Batch> in_flight_;  // handed to the committer (loop side)

  // Committer thread.
  PostFn post_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  const std::vector<AllocUpdate>* job_ = nullptr;  // to write; guarded by mu_
  bool busy_ = false;                              // a job is being written
  std::vector<Status> last_results_;               // of the last job written
  bool quit_ = false;
};

}  // namespace drover
