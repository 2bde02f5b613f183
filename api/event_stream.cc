#include "api/event_stream.h"

#include <boost/json.hpp>

#include <charconv>
#include <chrono>
#include <map>
#include <vector>

#include "common/log.h"
#include "storage/codec.h"
#include "storage/journal.h"

namespace drover::api {
namespace {

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
    // As Nomad: a variable's event (metadata only) needs `list` on its path.
    if (e.Topic == "Variable") {
      return acl->AllowVariableOperation(e.Namespace.empty() ? "default" : e.Namespace, e.Key,
                                         "list");
    }
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

// The journal from an index on, as Nomad's ndjson lines: one
// {"Index": N, "Events": [...]} line per index with matching events.
class JournalProducer : public StreamProducer {
 public:
  JournalProducer(StateStore& store, Subscription sub, std::uint64_t from)
      : store_(store), sub_(std::move(sub)), next_index_(from) {}

  Result<StreamStep> Next(std::size_t max_bytes) override {
    // A commit after this point wakes the watch Arm sets, even one that
    // lands while the journal is being read.
    floor_ = store_.LatestIndex();
    std::string out;
    std::uint64_t group_index = 0;
    json::array group;
    bool full = false;
    auto flush = [&] {
      if (!group.empty()) {
        json::object line{{"Index", group_index}, {"Events", std::move(group)}};
        out += json::serialize(line);
        out += '\n';
        group = json::array();
      }
      if (group_index >= next_index_) next_index_ = group_index + 1;
    };
    // ScanJournal hands over whole indexes, so a group is never cut short.
    RETURN_IF_ERROR(ScanJournal(store_, next_index_, [&](const Event& e) -> Result<bool> {
      if (e.Index != group_index) {
        flush();
        if (out.size() >= max_bytes) {
          full = true;
          return false;  // the rest at the next call, when the client keeps up
        }
        group_index = e.Index;
      }
      if (sub_.Matches(e)) group.push_back(ToJson(e));
      return true;
    }));
    if (!full) flush();
    if (out.empty() && !full) return StreamStep::Wait();
    return StreamStep::Data(std::move(out));
  }

  bool Arm(std::function<void()> wake) override {
    // The journaled tables, and variables (their events carry metadata).
    std::vector<Table> tables(std::begin(kAllTables), std::end(kAllTables));
    tables.push_back(Table::kVariables);
    watch_ = store_.Watch(tables, floor_, std::move(wake));
    return true;
  }

  void Disarm() override { store_.CancelWatch(watch_); }

 private:
  StateStore& store_;
  Subscription sub_;
  std::uint64_t next_index_;  // the next journal index to send
  std::uint64_t floor_ = 0;
  WatchId watch_ = 0;
};

}  // namespace

void ServeEventStream(ChunkedStreams& streams, StateStore& store, const Rest::Request& req,
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
      writer, std::make_unique<JournalProducer>(store, std::move(sub).value(), index),
      std::move(options));
  if (!st.ok()) SendError(writer, st);
}

void AddEventStreamRoutes(RouteTable& routes, ApiContext& ctx, ChunkedStreams& streams) {
  routes.Add("/v1/event/stream", {Http::Method::Get},
             [&streams, &ctx](const Rest::Request& req, Http::ResponseWriter& writer,
                              const RequestAuth& auth) {
               ServeEventStream(streams, ctx.agent.store(), req, writer, auth);
             });
}

}  // namespace drover::api
