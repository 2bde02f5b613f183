#include "api/event_stream.h"

#include <pistache/peer.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "common/log.h"
#include "storage/codec.h"
#include "storage/journal.h"

namespace drover::api {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr auto kHeartbeat = std::chrono::seconds(10);  // Nomad's ndjson heartbeat
constexpr const char* kAll = "*";

// What a client subscribed to (Nomad's SubscribeRequest).
struct Subscription {
  std::map<std::string, std::vector<std::string>> topics;  // topic -> keys
  std::string ns = "default";
  std::shared_ptr<const Acl> acl;  // what the subscriber's token may read

  bool Allowed(const Event& e) const {
    if (e.Topic == "Node") return acl->AllowNodeRead();
    return acl->AllowNamespaceOp(e.Namespace.empty() ? "default" : e.Namespace, "read-job");
  }

  bool Matches(const Event& e) const {
    if (ns != kAll && !e.Namespace.empty() && e.Namespace != ns) return false;
    if (!Allowed(e)) return false;
    for (const char* topic : {kAll, e.Topic.c_str()}) {
      auto it = topics.find(topic);
      if (it == topics.end()) continue;
      for (const std::string& key : it->second) {
        if (key == kAll || key == e.Key) return true;
        if (std::find(e.FilterKeys.begin(), e.FilterKeys.end(), key) != e.FilterKeys.end())
          return true;
      }
    }
    return false;
  }
};

// Parses `topic`, `index` and `namespace` with Nomad's error texts.
Result<Subscription> ParseSubscription(const Rest::Request& req, std::uint64_t* index) {
  Subscription sub;
  *index = 0;
  if (auto v = QueryParam(req, "index"); v && !v->empty()) {
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), *index);
    if (ec != std::errc() || p != v->data() + v->size()) {
      return InvalidArgument("Unable to parse index: strconv.Atoi: parsing \"" + *v +
                             "\": invalid syntax");
    }
  }
  if (auto topic = QueryParam(req, "topic")) {
    const auto colon = topic->find(':');
    if (colon == std::string::npos) {
      sub.topics[*topic].push_back(kAll);  // a bare topic means every key
    } else if (topic->find(':', colon + 1) == std::string::npos) {
      sub.topics[topic->substr(0, colon)].push_back(topic->substr(colon + 1));
    } else {
      return InvalidArgument("error parsing topics: Invalid key value pair for topic, topic: " +
                             *topic);
    }
  } else {
    sub.topics[kAll].push_back(kAll);
  }
  if (auto ns = QueryParam(req, "namespace"); ns && !ns->empty()) sub.ns = *ns;
  return sub;
}

// One HTTP/1.1 chunk.
std::string Chunk(std::string_view data) {
  char size[20];
  auto [end, ec] = std::to_chars(size, size + sizeof(size), data.size(), 16);
  std::string out(size, end);
  out += "\r\n";
  out += data;
  out += "\r\n";
  return out;
}

constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace

class EventStreams::Hub : public std::enable_shared_from_this<Hub> {
 public:
  explicit Hub(StateStore& store)
      : store_(store), work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}

  ~Hub() { Shutdown(); }

  bool stopped() const { return stopped_; }

  // Takes over a stream whose headers went out; from here on only this
  // hub's thread writes to it.
  void Open(std::weak_ptr<Pistache::Tcp::Peer> peer, Subscription sub, std::uint64_t from) {
    auto s = std::make_shared<Stream>(io_);
    s->peer = std::move(peer);
    s->sub = std::move(sub);
    s->next_index = from;
    asio::post(io_, [this, s] {
      if (stopped_) {
        End(s);
        return;
      }
      streams_.insert(s);
      Heartbeat(s);
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
    explicit Stream(asio::io_context& io) : heartbeat(io) {}
    std::weak_ptr<Pistache::Tcp::Peer> peer;
    Subscription sub;
    std::uint64_t next_index = 0;  // the next journal index to send
    asio::steady_timer heartbeat;
    WatchId watch = 0;
    bool done = false;
  };
  using StreamPtr = std::shared_ptr<Stream>;

  // Sends everything from next_index on, then waits for the next commit.
  void Pump(const StreamPtr& s) {
    if (s->done) return;
    // A commit after this point wakes the watch armed below, even one that
    // lands while the journal is being read.
    const std::uint64_t floor = store_.LatestIndex();
    std::uint64_t group_index = 0;
    json::array group;
    bool alive = true;
    auto flush = [&] {
      if (!group.empty()) {
        json::object line{{"Index", group_index}, {"Events", std::move(group)}};
        alive = Write(s, Chunk(json::serialize(line) + "\n"));
        group = json::array();
      }
      if (alive && group_index >= s->next_index) s->next_index = group_index + 1;
    };
    // ScanJournal hands over whole indexes, so a group is never cut short.
    Status st = ScanJournal(store_, s->next_index, [&](const Event& e) -> Result<bool> {
      if (e.Index != group_index) {
        flush();
        if (!alive) return false;
        group_index = e.Index;
      }
      if (s->sub.Matches(e)) group.push_back(ToJson(e));
      return true;
    });
    if (alive) flush();
    if (!st.ok()) {
      log::Error("event stream: read journal: " + st.ToString());
      End(s);
      return;
    }
    if (!alive) {
      Close(s);
      return;
    }
    std::weak_ptr<Hub> self = weak_from_this();
    std::weak_ptr<Stream> weak = s;
    s->watch = store_.Watch({std::begin(kAllTables), std::end(kAllTables)}, floor, [self, weak] {
      auto hub = self.lock();
      if (!hub) return;
      asio::post(hub->io_, [hub, weak] {
        if (auto s = weak.lock()) hub->Pump(s);
      });
    });
  }

  void Heartbeat(const StreamPtr& s) {
    s->heartbeat.expires_after(kHeartbeat);
    s->heartbeat.async_wait([this, s](const boost::system::error_code& ec) {
      if (ec || s->done) return;
      if (!Write(s, Chunk("{}\n"))) {
        Close(s);
        return;
      }
      Heartbeat(s);
    });
  }

  // False once the client is gone. Pistache ignores SIGPIPE, and a send to
  // a peer that just closed fails quietly through the promise.
  bool Write(const StreamPtr& s, std::string bytes) {
    auto peer = s->peer.lock();
    if (!peer) return false;
    const std::size_t n = bytes.size();
    peer->send(Pistache::RawBuffer(std::move(bytes), n))
        .then([](ssize_t) {}, Pistache::Async::IgnoreException);
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
    s->heartbeat.cancel();
    store_.CancelWatch(s->watch);
    streams_.erase(s);
  }

  StateStore& store_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::set<StreamPtr> streams_;  // hub thread only
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

EventStreams::EventStreams(StateStore& store) : hub_(std::make_shared<Hub>(store)) {}

EventStreams::~EventStreams() { Shutdown(); }

void EventStreams::Shutdown() { hub_->Shutdown(); }

void EventStreams::Serve(const Rest::Request& req, Http::ResponseWriter& writer,
                         const RequestAuth& auth) {
  if (!auth.error.ok()) return SendError(writer, auth.error);
  std::uint64_t index = 0;
  auto sub = ParseSubscription(req, &index);
  if (!sub.ok()) return SendError(writer, sub.status());
  sub->acl = auth.who.acl;
  if (hub_->stopped()) return SendError(writer, Unavailable("agent is shutting down"));
  auto peer = writer.getPeer();
  if (!peer) return;
  // A stream is a long-lived idle connection, not a slow request (STACK.md).
  peer->setIdle(true);
  writer.headers().add<Http::Header::ContentType>(MIME(Application, Json));
  // Status line and headers (Transfer-Encoding: chunked), written here on
  // the worker thread; every chunk after them is the hub's.
  auto stream = writer.stream(Http::Code::Ok);
  stream.flush();
  hub_->Open(peer, std::move(sub).value(), index);
}

void AddEventStreamRoutes(RouteTable& routes, ApiContext& /*ctx*/, EventStreams& streams) {
  routes.Add("/v1/event/stream", {Http::Method::Get},
             [&streams](const Rest::Request& req, Http::ResponseWriter& writer,
                        const RequestAuth& auth) { streams.Serve(req, writer, auth); });
}

}  // namespace drover::api
