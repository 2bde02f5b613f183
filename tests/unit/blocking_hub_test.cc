// The blocking hub with a fake loop, clock and store: grouping, shared runs
// and bytes, per-waiter indexes and deadlines, without threads or HTTP.
#include "api/blocking_hub.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <vector>

namespace drover::api {
namespace {

class FakeLoop : public HubLoop {
 public:
  void Post(std::function<void()> fn) override { posted.push_back(std::move(fn)); }
  std::uint64_t StartTimer(Nanos after, std::function<void()> fn) override {
    timers[next] = Timer{now + after, std::move(fn)};
    return next++;
  }
  void CancelTimer(std::uint64_t timer) override { timers.erase(timer); }

  void RunPosted() {
    while (!posted.empty()) {
      auto fn = std::move(posted.front());
      posted.pop_front();
      fn();
    }
  }
  // Moves the clock and fires the timers that are due.
  void Advance(Nanos by) {
    now += by;
    for (auto it = timers.begin(); it != timers.end();) {
      if (it->second.at <= now) {
        auto fn = std::move(it->second.fn);
        it = timers.erase(it);
        fn();
      } else {
        ++it;
      }
    }
    RunPosted();
  }

  struct Timer {
    Nanos at;
    std::function<void()> fn;
  };
  std::deque<std::function<void()>> posted;
  std::map<std::uint64_t, Timer> timers;
  std::uint64_t next = 1;
  Nanos now = 0;
};

class FakeWatches : public HubWatches {
 public:
  std::uint64_t Floor(const WatchSpec&) const override { return index; }
  WatchId Watch(const WatchSpec& spec, std::uint64_t floor, std::function<void()> fired) override {
    if (index > floor) {
      fired();
      return 0;
    }
    watches[next] = W{spec, floor, std::move(fired)};
    return next++;
  }
  void CancelWatch(WatchId id) override { watches.erase(id); }

  // A commit at index+1 writing `key` (or only the table when empty).
  void Commit(const std::string& key) {
    ++index;
    std::vector<std::function<void()>> ready;
    for (auto it = watches.begin(); it != watches.end();) {
      bool hit = it->second.spec.keys.empty() ||
                 std::find(it->second.spec.keys.begin(), it->second.spec.keys.end(), key) !=
                     it->second.spec.keys.end();
      if (hit && index > it->second.floor) {
        ready.push_back(std::move(it->second.fired));
        it = watches.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& fn : ready) fn();
  }

  struct W {
    WatchSpec spec;
    std::uint64_t floor;
    std::function<void()> fired;
  };
  std::map<WatchId, W> watches;
  WatchId next = 1;
  std::uint64_t index = 10;
};

struct Answers {
  std::vector<EncodedReply> got;
  ReplySink Sink() {
    return [this](const EncodedReply& r, bool) { got.push_back(r); };
  }
};

class BlockingHubTest : public ::testing::Test {
 protected:
  // A query whose result is `value` at index `result_index`.
  EncodedQueryFn Query() {
    return [this] {
      ++runs;
      EncodedReply r;
      r.index = result_index;
      r.json = "\"" + value + "\"";
      return r;
    };
  }
  ParkRequest Req(const std::string& identity, Answers& a, std::uint64_t min_index,
                  Nanos wait = 300 * kSecond) {
    ParkRequest req;
    req.identity = identity;
    req.watch = WatchSpec{{Table::kAllocs}, {"a1"}};
    req.query = Query();
    req.min_index = min_index;
    req.wait = wait;
    req.floor = watches.index;
    req.sink = a.Sink();
    return req;
  }

  FakeLoop loop;
  FakeWatches watches;
  BlockingHub hub{loop, watches};
  std::uint64_t result_index = 10;
  std::string value = "old";
  int runs = 0;
};

TEST_F(BlockingHubTest, WaitersOfOneQueryShareOneWatchOneRunAndTheSameBytes) {
  Answers a;
  for (int i = 0; i < 1000; ++i) hub.Park(Req("alloc a1", a, 10));
  EXPECT_EQ(hub.groups(), 1u);
  EXPECT_EQ(hub.waiters(), 1000u);
  EXPECT_EQ(watches.watches.size(), 1u);

  result_index = 11;
  value = "new";
  watches.Commit("a1");
  loop.RunPosted();
  EXPECT_EQ(runs, 1);
  ASSERT_EQ(a.got.size(), 1000u);
  for (const auto& r : a.got) {
    EXPECT_EQ(r.index, 11u);
    EXPECT_EQ(r.json, "\"new\"");
  }
  EXPECT_EQ(hub.waiters(), 0u);
  EXPECT_EQ(hub.groups(), 0u);
  EXPECT_TRUE(watches.watches.empty());
  EXPECT_TRUE(loop.timers.empty());
}

TEST_F(BlockingHubTest, AWriteOfAnotherKeyWakesNobody) {
  Answers a;
  hub.Park(Req("alloc a1", a, 10));
  watches.Commit("a2");
  loop.RunPosted();
  EXPECT_EQ(runs, 0);
  EXPECT_TRUE(a.got.empty());
  EXPECT_EQ(hub.waiters(), 1u);
}

TEST_F(BlockingHubTest, EachWaiterIsAnsweredOnlyPastItsOwnIndex) {
  Answers low, high;
  hub.Park(Req("alloc a1", low, 10));
  hub.Park(Req("alloc a1", high, 11));
  result_index = 11;
  watches.Commit("a1");
  loop.RunPosted();
  ASSERT_EQ(low.got.size(), 1u);
  EXPECT_TRUE(high.got.empty());
  EXPECT_EQ(hub.waiters(), 1u);
  EXPECT_EQ(watches.watches.size(), 1u);  // re-armed for the rest

  result_index = 12;
  watches.Commit("a1");
  loop.RunPosted();
  ASSERT_EQ(high.got.size(), 1u);
  EXPECT_EQ(high.got[0].index, 12u);
  EXPECT_EQ(runs, 2);
}

TEST_F(BlockingHubTest, AChangeThatLeavesTheResultParksAgain) {
  Answers a;
  hub.Park(Req("alloc a1", a, 10));
  watches.Commit("a1");  // result index unchanged
  loop.RunPosted();
  EXPECT_TRUE(a.got.empty());
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(watches.watches.size(), 1u);
}

TEST_F(BlockingHubTest, DifferentIdentitiesRunSeparately) {
  Answers a, b, c;
  hub.Park(Req("alloc a1", a, 10));
  hub.Park(Req("alloc a1 other scope", b, 10));
  hub.Park(Req("", c, 10));  // never shared
  EXPECT_EQ(hub.groups(), 3u);
  result_index = 11;
  watches.Commit("a1");
  loop.RunPosted();
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(a.got.size() + b.got.size() + c.got.size(), 3u);
}

TEST_F(BlockingHubTest, DeadlineAnswersWithTheLatestResultWithoutARunWhenNothingChanged) {
  Answers a;
  hub.Park(Req("alloc a1", a, 10, 5 * kSecond));
  hub.Park(Req("alloc a1", a, 10, 9 * kSecond));
  watches.Commit("a1");  // runs once, nothing new: both park again
  loop.RunPosted();
  EXPECT_EQ(runs, 1);
  loop.Advance(5 * kSecond);
  ASSERT_EQ(a.got.size(), 1u);
  EXPECT_EQ(a.got[0].index, 10u);
  EXPECT_EQ(runs, 1);  // the group's last run still held
  value = "changed";
  watches.index++;  // a write elsewhere in the table
  loop.Advance(4 * kSecond);
  ASSERT_EQ(a.got.size(), 2u);
  EXPECT_EQ(a.got[1].json, "\"changed\"");
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(hub.groups(), 0u);
  EXPECT_TRUE(watches.watches.empty());
}

TEST_F(BlockingHubTest, AWaiterThatJoinsAboveItsFirstRunLooksAgain) {
  Answers first, late;
  hub.Park(Req("alloc a1", first, 10));
  // The late waiter's first run saw index 10, but before it parked the
  // group was re-armed above a change it never saw.
  ParkRequest req = Req("alloc a1", late, 10);
  watches.Commit("a1");
  loop.RunPosted();  // result unchanged: the group re-arms at 11
  result_index = 11;
  hub.Park(std::move(req));
  loop.RunPosted();
  EXPECT_EQ(late.got.size(), 1u);
  EXPECT_EQ(first.got.size(), 1u);
}

TEST_F(BlockingHubTest, ShutdownAnswersEveryoneAndLaterParksAtOnce) {
  Answers a;
  hub.Park(Req("alloc a1", a, 10));
  hub.Park(Req("alloc a2", a, 10));
  hub.Shutdown();
  EXPECT_EQ(a.got.size(), 2u);
  EXPECT_TRUE(watches.watches.empty());
  hub.Park(Req("alloc a1", a, 10));
  EXPECT_EQ(a.got.size(), 3u);
  EXPECT_EQ(hub.waiters(), 0u);
}

}  // namespace
}  // namespace drover::api
