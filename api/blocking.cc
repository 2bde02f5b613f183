#include "api/blocking.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <pistache/peer.h>
#include <boost/json.hpp>
#include <chrono>
#include <set>
#include <thread>

namespace drover::api {
namespace {

namespace asio = boost::asio;

std::uint64_t WatchFloor(const StateStore& store, const std::vector<Table>& tables) {
  std::uint64_t floor = 0;
  for (Table t : tables) floor = std::max(floor, store.TableIndex(t));
  return floor;
}

void Answer(Http::ResponseWriter& writer, const Result<Reply>& reply, const QueryOptions& opts) {
  if (!reply.ok()) {
    SendError(writer, reply.status());
    return;
  }
  // Nomad never reports an index below 1.
  SendJson(writer, reply->body, opts, std::max<std::uint64_t>(reply->index, 1),
           Http::Code::Ok, reply->next_token);
}

}  // namespace

class BlockingQueries::Hub {
 public:
  explicit Hub(StateStore& store)
      : store_(store), work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}

  ~Hub() { Shutdown(); }

  void Serve(const QueryOptions& opts, std::vector<Table> tables, QueryFn query,
             Http::ResponseWriter writer) {
    std::uint64_t floor = WatchFloor(store_, tables);
    Result<Reply> reply = query();
    if (!reply.ok() || opts.min_index == 0 || reply->index > opts.min_index) {
      Answer(writer, reply, opts);
      return;
    }
    // Keep the connection past Pistache's header timeout while parked.
    if (auto peer = writer.getPeer()) peer->setIdle(true);
    auto p = std::make_shared<Parked>(Parked{opts, std::move(tables), std::move(query),
                                             std::move(writer), asio::steady_timer(io_)});
    asio::post(io_, [this, p, floor] {
      if (stopped_) {
        Finish(p, p->query());
        return;
      }
      parked_.insert(p);
      p->timer.expires_after(std::chrono::nanoseconds(p->opts.wait));
      p->timer.async_wait([this, p](const boost::system::error_code& ec) {
        if (!ec) Finish(p, p->query());
      });
      Arm(p, floor);
    });
  }

  void Shutdown() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      stopped_ = true;
      auto all = parked_;
      for (const auto& p : all) Finish(p, p->query());
      work_.reset();
    });
    thread_.join();
  }

 private:
  struct Parked {
    QueryOptions opts;
    std::vector<Table> tables;
    QueryFn query;
    Http::ResponseWriter writer;
    asio::steady_timer timer;
    WatchId watch = 0;
    bool done = false;
  };
  using ParkedPtr = std::shared_ptr<Parked>;

  // Waits for a commit past `floor` on the query's tables.
  void Arm(const ParkedPtr& p, std::uint64_t floor) {
    std::weak_ptr<Parked> weak = p;
    p->watch = store_.Watch(p->tables, floor, [this, weak] {
      asio::post(io_, [this, weak] {
        if (auto p = weak.lock()) Wake(p);
      });
    });
  }

  void Wake(const ParkedPtr& p) {
    if (p->done) return;
    std::uint64_t floor = WatchFloor(store_, p->tables);
    Result<Reply> reply = p->query();
    if (!reply.ok() || reply->index > p->opts.min_index) {
      Finish(p, reply);
      return;
    }
    Arm(p, floor);  // a change that left this result as it was
  }

  void Finish(const ParkedPtr& p, const Result<Reply>& reply) {
    if (p->done) return;
    p->done = true;
    p->timer.cancel();
    store_.CancelWatch(p->watch);
    parked_.erase(p);
    Answer(p->writer, reply, p->opts);
  }

  StateStore& store_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::set<ParkedPtr> parked_;  // loop thread only
  bool stopped_ = false;
  std::thread thread_;
};

BlockingQueries::BlockingQueries(StateStore& store) : hub_(std::make_unique<Hub>(store)) {}
BlockingQueries::~BlockingQueries() = default;

void BlockingQueries::Serve(const QueryOptions& opts, std::vector<Table> tables, QueryFn query,
                            Http::ResponseWriter writer) {
  hub_->Serve(opts, std::move(tables), std::move(query), std::move(writer));
}

void BlockingQueries::Shutdown() { hub_->Shutdown(); }

}  // namespace drover::api
