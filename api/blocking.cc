#include "api/blocking.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <pistache/peer.h>

#include <chrono>
#include <map>
#include <thread>

#include "api/blocking_hub.h"
#include "storage/codec.h"

namespace drover::api {
namespace {

namespace asio = boost::asio;

EncodedReply Encode(const Result<Reply>& reply) {
  EncodedReply out;
  if (!reply.ok()) {
    out.status = reply.status();
    return out;
  }
  // Nomad never reports an index below 1.
  out.index = std::max<std::uint64_t>(reply->index, 1);
  out.json = reply->text.empty() ? boost::json::serialize(reply->body) : reply->text;
  out.next_token = reply->next_token;
  return out;
}

void Send(Http::ResponseWriter& writer, const EncodedReply& reply, bool pretty, bool gzip) {
  if (!reply.status.ok()) {
    SendError(writer, reply.status);
    return;
  }
  if (pretty) {
    auto parsed = ParseJson(reply.json);
    if (parsed.ok()) {
      QueryOptions opts;
      opts.pretty = true;
      opts.gzip = gzip;
      SendJson(writer, *parsed, opts, reply.index, Http::Code::Ok, reply.next_token);
      return;
    }
  }
  SendJsonText(writer, reply.json, reply.index, reply.next_token, gzip);
}

}  // namespace

class BlockingQueries::Loop : public HubLoop {
 public:
  Loop(WatchSource& watches, unsigned list_threads)
      : watches_(watches),
        hub_(*this, watches_),
        list_pool_(std::max(1u, list_threads)),
        work_(asio::make_work_guard(io_)),
        thread_([this] { io_.run(); }) {}

  ~Loop() override { Shutdown(); }

  void Post(std::function<void()> fn) override { asio::post(io_, std::move(fn)); }

  std::uint64_t StartTimer(Nanos after, std::function<void()> fn) override {
    const std::uint64_t id = next_timer_++;
    auto [it, inserted] = timers_.try_emplace(id, io_);
    it->second.expires_after(std::chrono::nanoseconds(after));
    it->second.async_wait([this, id, fn = std::move(fn)](const boost::system::error_code& ec) {
      if (ec) return;
      timers_.erase(id);
      fn();
    });
    return id;
  }

  void CancelTimer(std::uint64_t timer) override {
    auto it = timers_.find(timer);
    if (it == timers_.end()) return;
    it->second.cancel();
    timers_.erase(it);
  }

  void Serve(const QueryOptions& opts, WatchSpec watch, std::string identity, QueryFn query,
             Http::ResponseWriter writer, QueryCost cost) {
    if (cost == QueryCost::kPoint) {
      FirstRun(opts, std::move(watch), std::move(identity), std::move(query), std::move(writer));
      return;
    }
    // Queued past Pistache's header timeout, the request would get a 408.
    if (auto peer = writer.getPeer()) peer->setIdle(true);
    asio::post(list_pool_, [this, opts, watch = std::move(watch), identity = std::move(identity),
                            query = std::move(query), writer = std::move(writer)]() mutable {
      FirstRun(opts, std::move(watch), std::move(identity), std::move(query), std::move(writer));
    });
  }

  std::size_t Parked() const { return hub_.waiters(); }

  void Shutdown() {
    if (!thread_.joinable()) return;
    // Every queued list runs and answers (or parks) first.
    list_pool_.join();
    asio::post(io_, [this] {
      hub_.Shutdown();
      for (auto& [id, timer] : timers_) timer.cancel();
      work_.reset();
    });
    thread_.join();
  }

 private:
  // Answers now when the result is past the client's index, else parks the
  // query in the hub (on the loop thread).
  void FirstRun(const QueryOptions& opts, WatchSpec watch, std::string identity, QueryFn query,
                Http::ResponseWriter writer) {
    const std::uint64_t floor = watches_.Floor(watch);
    Result<Reply> reply = query();
    if (!reply.ok() || opts.min_index == 0 || reply->index > opts.min_index) {
      Send(writer, Encode(reply), opts.pretty, opts.gzip);
      return;
    }
    // Keep the connection past Pistache's header timeout while parked.
    if (auto peer = writer.getPeer()) peer->setIdle(true);
    auto shared_writer = std::make_shared<Http::ResponseWriter>(std::move(writer));
    ParkRequest req;
    req.identity = std::move(identity);
    req.watch = std::move(watch);
    req.query = [query = std::move(query)] { return Encode(query()); };
    req.min_index = opts.min_index;
    req.wait = opts.wait;
    req.pretty = opts.pretty;
    req.floor = floor;
    req.sink = [shared_writer, gzip = opts.gzip](const EncodedReply& r, bool pretty) {
      Send(*shared_writer, r, pretty, gzip);
    };
    asio::post(io_, [this, req = std::move(req)]() mutable { hub_.Park(std::move(req)); });
  }

  WatchSource& watches_;
  asio::io_context io_;
  std::map<std::uint64_t, asio::steady_timer> timers_;  // loop thread only
  std::uint64_t next_timer_ = 1;
  BlockingHub hub_;
  asio::thread_pool list_pool_;  // first runs of lists
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

BlockingQueries::BlockingQueries(WatchSource& watches, unsigned list_threads)
    : loop_(std::make_unique<Loop>(watches, list_threads)) {}
BlockingQueries::~BlockingQueries() = default;

void BlockingQueries::Serve(const QueryOptions& opts, WatchSpec watch, std::string identity,
                            QueryFn query, Http::ResponseWriter writer, QueryCost cost) {
  loop_->Serve(opts, std::move(watch), std::move(identity), std::move(query), std::move(writer),
               cost);
}

void BlockingQueries::Shutdown() { loop_->Shutdown(); }

std::size_t BlockingQueries::Parked() const { return loop_->Parked(); }

}  // namespace drover::api
