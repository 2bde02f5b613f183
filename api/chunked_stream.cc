#include "api/chunked_stream.h"

#include <pistache/peer.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <set>
#include <thread>

#include "common/log.h"

namespace drover::api {
namespace {

namespace asio = boost::asio;

constexpr std::string_view kLastChunk = "0\r\n\r\n";

// One HTTP/1.1 chunk.
std::string Chunk(std::string_view data) {
  char size[20];
  auto [end, ec] = std::to_chars(size, size + sizeof(size), data.size(), 16);
  std::string out;
  out.reserve(static_cast<std::size_t>(end - size) + data.size() + 4);
  out.append(size, end).append("\r\n").append(data).append("\r\n");
  return out;
}

}  // namespace

class ChunkedStreams::Hub : public std::enable_shared_from_this<Hub> {
 public:
  Hub() : work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~Hub() { Shutdown(); }

  bool stopped() const { return stopped_; }
  std::size_t open() const { return open_; }

  // Takes over a stream whose headers went out.
  void Open(std::weak_ptr<Pistache::Tcp::Peer> peer, std::unique_ptr<StreamProducer> producer,
            StreamOptions options) {
    auto s = std::make_shared<Stream>(io_);
    s->peer = std::move(peer);
    s->producer = std::move(producer);
    s->options = std::move(options);
    asio::post(io_, [this, s] {
      if (stopped_) return End(s);
      streams_.insert(s);
      ++open_;
      Tick(s);
      Pump(s);
    });
  }

  void Shutdown() {
    if (!thread_.joinable()) return;
    stopped_ = true;
    asio::post(io_, [this] {
      for (const auto& s : std::set<StreamPtr>(streams_)) End(s);
      work_.reset();
    });
    thread_.join();
  }

 private:
  struct Stream {
    explicit Stream(asio::io_context& io) : poll(io), tick(io) {}
    std::weak_ptr<Pistache::Tcp::Peer> peer;
    std::unique_ptr<StreamProducer> producer;
    StreamOptions options;
    std::size_t in_flight = 0;  // bytes handed to Pistache, not yet written
    bool sent_since_tick = false;
    bool waiting = false;       // the producer said kWait; a wake or poll is due
    std::uint64_t wait_epoch = 0;  // which wait a wake-up belongs to
    asio::steady_timer poll;
    asio::steady_timer tick;
    bool done = false;
  };
  using StreamPtr = std::shared_ptr<Stream>;

  // Asks the producer for bytes until it has to wait, ends, or the peer has
  // kMaxInFlightBytes queued (a write completion pumps again).
  void Pump(const StreamPtr& s) {
    if (s->done || s->waiting) return;
    while (s->in_flight < kMaxInFlightBytes) {
      auto step = s->producer->Next(kStepBytes);
      if (!step.ok()) {
        log::Warn("stream: " + step.status().ToString());
        return End(s);
      }
      switch (step->kind) {
        case StreamStep::Kind::kEnd:
          return End(s);
        case StreamStep::Kind::kWait:
          return Wait(s);
        case StreamStep::Kind::kData:
          if (step->bytes.empty()) continue;
          if (!Write(s, Chunk(step->bytes))) return Close(s);
          s->sent_since_tick = true;
          break;
      }
    }
  }

  void Wait(const StreamPtr& s) {
    s->waiting = true;
    const std::uint64_t epoch = ++s->wait_epoch;
    std::weak_ptr<Hub> weak_hub = weak_from_this();
    std::weak_ptr<Stream> weak_stream = s;
    auto wake = [weak_hub, weak_stream, epoch] {
      auto hub = weak_hub.lock();
      if (!hub) return;
      asio::post(hub->io_, [weak_hub, weak_stream, epoch] {
        auto hub = weak_hub.lock();
        auto s = weak_stream.lock();
        if (!hub || !s || s->done || !s->waiting || s->wait_epoch != epoch) return;
        s->waiting = false;
        hub->Pump(s);
      });
    };
    if (s->producer->Arm(wake)) return;
    s->poll.expires_after(s->options.poll_every);
    s->poll.async_wait([wake](const boost::system::error_code& ec) {
      if (!ec) wake();
    });
  }

  void Tick(const StreamPtr& s) {
    s->tick.expires_after(s->options.heartbeat_every);
    s->tick.async_wait([this, s](const boost::system::error_code& ec) {
      if (ec || s->done) return;
      if (s->peer.expired()) return Close(s);
      if (!s->options.heartbeat.empty() && !s->sent_since_tick &&
          !Write(s, Chunk(s->options.heartbeat))) {
        return Close(s);
      }
      s->sent_since_tick = false;
      Tick(s);
    });
  }

  // False once the client is gone. The completion, on Pistache's thread,
  // comes back here to release the budget.
  bool Write(const StreamPtr& s, std::string bytes) {
    auto peer = s->peer.lock();
    if (!peer) return false;
    const std::size_t n = bytes.size();
    s->in_flight += n;
    std::weak_ptr<Hub> weak_hub = weak_from_this();
    std::weak_ptr<Stream> weak_stream = s;
    auto back = [weak_hub, weak_stream, n](bool ok) {
      auto hub = weak_hub.lock();
      if (!hub) return;
      // Only weak references wait in the queue: a queued handler must not
      // keep the hub (and so its own queue) alive.
      asio::post(hub->io_, [weak_hub, weak_stream, n, ok] {
        auto hub = weak_hub.lock();
        auto s = weak_stream.lock();
        if (!hub || !s) return;
        s->in_flight -= n;
        if (!ok) return hub->Close(s);
        hub->Pump(s);
      });
    };
    peer->send(Pistache::RawBuffer(std::move(bytes), n))
        .then([back](ssize_t) { back(true); }, [back](std::exception_ptr) { back(false); });
    return true;
  }

  // Ends the response properly (the connection stays usable), then closes.
  void End(const StreamPtr& s) {
    if (!s->done) Write(s, std::string(kLastChunk));
    Close(s);
  }

  void Close(const StreamPtr& s) {
    if (s->done) return;
    s->done = true;
    s->poll.cancel();
    s->tick.cancel();
    s->producer->Disarm();
    if (streams_.erase(s) > 0) --open_;
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::set<StreamPtr> streams_;  // hub thread only
  std::atomic<std::size_t> open_{0};
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

ChunkedStreams::ChunkedStreams() : hub_(std::make_shared<Hub>()) {}
ChunkedStreams::~ChunkedStreams() { Shutdown(); }
void ChunkedStreams::Shutdown() { hub_->Shutdown(); }
std::size_t ChunkedStreams::open() const { return hub_->open(); }

Status ChunkedStreams::Start(Http::ResponseWriter& writer,
                             std::unique_ptr<StreamProducer> producer, StreamOptions options) {
  if (hub_->stopped()) return Unavailable("agent is shutting down");
  auto peer = writer.getPeer();
  if (!peer) return Status::Ok();
  // A stream is a long-lived idle connection, not a slow request (STACK.md).
  peer->setIdle(true);
  if (options.json) {
    writer.headers().add<Http::Header::ContentType>(MIME(Application, Json));
  } else {
    writer.headers().add<Http::Header::ContentType>(MIME(Text, Plain));
  }
  auto stream = writer.stream(Http::Code::Ok);
  stream.flush();
  hub_->Open(peer, std::move(producer), std::move(options));
  return Status::Ok();
}

}  // namespace drover::api
