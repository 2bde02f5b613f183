// BlockingHub: the logic of parked blocking queries, free of threads, HTTP
// and the store so that unit tests drive it with fakes.
//
// Parked queries that ask the same thing (same route, same parameters, same
// token scope: the caller's `identity`) form one group. A group holds one
// store watch (per key where the query reads one object, else per table);
// when it fires, the group's query runs once, its reply is encoded once,
// and the same bytes go to every waiter whose index it passes. The others
// wait on. A waiter whose deadline passes is answered with the group's
// latest reply if nothing changed since, else with a fresh run.
//
// Every method runs on the hub's loop (HubLoop::Post); the store's watch
// callback only posts.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/gotime.h"
#include "common/status.h"
#include "service/watch_source.h"
#include "storage/watch.h"

namespace drover::api {

// A query's reply, encoded once for all its waiters.
struct EncodedReply {
  Status status;            // not OK: an error answer
  std::uint64_t index = 0;  // X-Nomad-Index
  std::string json;         // the body
  std::string next_token;
};

// What a parked query is answered through (an HTTP response writer).
using ReplySink = std::function<void(const EncodedReply&, bool pretty)>;

// Runs a query and encodes its reply.
using EncodedQueryFn = std::function<EncodedReply()>;

// Where the hub's work runs, and its timers.
class HubLoop {
 public:
  virtual ~HubLoop() = default;
  virtual void Post(std::function<void()> fn) = 0;
  virtual std::uint64_t StartTimer(Nanos after, std::function<void()> fn) = 0;
  virtual void CancelTimer(std::uint64_t timer) = 0;
};

// The watches the hub needs: the service layer's WatchSource.
using HubWatches = WatchSource;

struct ParkRequest {
  std::string identity;  // "" : never shared
  WatchSpec watch;
  EncodedQueryFn query;
  std::uint64_t min_index = 0;
  Nanos wait = 0;
  bool pretty = false;
  std::uint64_t floor = 0;  // Floor(watch) read before the first run
  ReplySink sink;
};

class BlockingHub {
 public:
  BlockingHub(HubLoop& loop, HubWatches& watches) : loop_(loop), watches_(watches) {}
  ~BlockingHub();
  BlockingHub(const BlockingHub&) = delete;
  BlockingHub& operator=(const BlockingHub&) = delete;

  // On the loop: parks a waiter whose first run did not pass min_index.
  void Park(ParkRequest req);
  // On the loop: answers every waiter with a fresh reply; later parks are
  // answered at once.
  void Shutdown();

  // Parked waiters; safe to read from any thread (for /v1/metrics).
  std::size_t waiters() const { return waiter_count_.load(std::memory_order_relaxed); }
  std::size_t groups() const { return groups_.size(); }
  // How many times queries ran on a wake or deadline (for tests).
  std::uint64_t runs() const { return runs_; }

 private:
  struct Group;
  struct Waiter {
    std::uint64_t id;
    std::uint64_t min_index;
    bool pretty;
    ReplySink sink;
    std::uint64_t timer = 0;
  };
  struct Group {
    std::string identity;
    WatchSpec watch;
    EncodedQueryFn query;
    std::map<std::uint64_t, Waiter> waiters;  // by id: answered in arrival order
    WatchId watch_id = 0;
    std::uint64_t floor = 0;    // the armed watch's floor
    bool wake_pending = false;  // a wake is posted
    // The latest run, valid while the tables' floor is still `last_floor`.
    std::optional<EncodedReply> last;
    std::uint64_t last_floor = 0;
  };
  using GroupPtr = std::shared_ptr<Group>;

  void Arm(const GroupPtr& g, std::uint64_t floor);
  void Wake(const GroupPtr& g);
  void Deadline(const GroupPtr& g, std::uint64_t waiter_id);
  void Answer(Waiter& w, const EncodedReply& reply);
  void Drop(const GroupPtr& g);
  EncodedReply Run(const GroupPtr& g, std::uint64_t* floor);

  HubLoop& loop_;
  HubWatches& watches_;
  // By identity; a query that is never shared gets one of its own.
  std::unordered_map<std::string, GroupPtr> groups_;
  std::uint64_t next_waiter_ = 1;
  std::atomic<std::size_t> waiter_count_{0};  // written on the loop only
  std::uint64_t runs_ = 0;
  bool stopped_ = false;
};

}  // namespace drover::api
