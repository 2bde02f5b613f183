#include "api/event_stream.h"

#include <charconv>
#include <chrono>
#include <vector>

#include "service/event_feed.h"

namespace drover::api {
namespace {

constexpr auto kHeartbeat = std::chrono::seconds(10);  // Nomad's ndjson heartbeat
constexpr const char* kAll = kEventAll;
using Subscription = EventSubscription;

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

// The journal from an index on, as Nomad's ndjson lines: one
// {"Index": N, "Events": [...]} line per index with matching events.
class JournalProducer : public StreamProducer {
 public:
  JournalProducer(Queries& queries, Subscription sub, std::uint64_t from)
      : queries_(queries), sub_(std::move(sub)), next_index_(from) {}

  Result<StreamStep> Next(std::size_t max_bytes) override {
    // A commit after this point wakes the watch Arm sets, even one that
    // lands while the journal is being read.
    floor_ = queries_.LatestIndex();
    ASSIGN_OR_RETURN(EventChunk chunk, queries_.ReadEvents(sub_, next_index_, max_bytes));
    next_index_ = chunk.next_index;
    if (chunk.ndjson.empty() && !chunk.full) return StreamStep::Wait();
    return StreamStep::Data(std::move(chunk.ndjson));
  }

  bool Arm(std::function<void()> wake) override {
    // The journaled tables, and variables (their events carry metadata).
    std::vector<Table> tables(std::begin(kAllTables), std::end(kAllTables));
    tables.push_back(Table::kVariables);
    watch_ = queries_.Watch(WatchSpec{std::move(tables), {}}, floor_, std::move(wake));
    return true;
  }

  void Disarm() override { queries_.CancelWatch(watch_); }

 private:
  Queries& queries_;
  Subscription sub_;
  std::uint64_t next_index_;  // the next journal index to send
  std::uint64_t floor_ = 0;
  WatchId watch_ = 0;
};

}  // namespace

void ServeEventStream(ChunkedStreams& streams, Queries& queries, const Rest::Request& req,
                      Http::ResponseWriter& writer, const RequestAuth& auth) {
  if (!auth.error.ok()) return SendError(writer, auth.error);
  std::uint64_t index = 0;
  auto sub = ParseSubscription(req, &index);
  if (!sub.ok()) return SendError(writer, sub.status());
  sub->acl = auth.who.acl;
  StreamOptions options;
  options.heartbeat = "{}\n";
  options.heartbeat_every = kHeartbeat;
  Status st = streams.Start(
      writer, std::make_unique<JournalProducer>(queries, std::move(sub).value(), index),
      std::move(options));
  if (!st.ok()) SendError(writer, st);
}

void AddEventStreamRoutes(RouteTable& routes, ApiContext& ctx, ChunkedStreams& streams) {
  routes.Add("/v1/event/stream", {Http::Method::Get},
             [&streams, &ctx](const Rest::Request& req, Http::ResponseWriter& writer,
                              const RequestAuth& auth) {
               ServeEventStream(streams, ctx.agent.queries(), req, writer, auth);
             });
}

}  // namespace drover::api
