#include "common/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace drover::metrics {
namespace {

const Aggregate* Find(const std::vector<Aggregate>& list, const std::string& name,
                      const Labels& labels = {}) {
  auto it = std::find_if(list.begin(), list.end(), [&](const Aggregate& a) {
    return a.name == name && a.labels == labels;
  });
  return it == list.end() ? nullptr : &*it;
}

TEST(MetricsTest, SamplesAggregateCountSumMinMaxMeanAndSampleStddev) {
  for (double v : {2, 4, 4, 4, 5, 5, 7, 9}) AddSample("test.sample.stats", v);
  const Recorded r = Read();  // Find points into it
  const Aggregate* a = Find(r.samples, "test.sample.stats");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->count, 8u);
  EXPECT_DOUBLE_EQ(a->sum, 40);
  EXPECT_DOUBLE_EQ(a->min, 2);
  EXPECT_DOUBLE_EQ(a->max, 9);
  EXPECT_DOUBLE_EQ(a->Mean(), 5);
  EXPECT_NEAR(a->Stddev(), 2.13809, 1e-5);  // sqrt(32 / 7)
}

TEST(MetricsTest, LabelsKeepSeriesApartAndCountersAdd) {
  IncrCounter("test.counter.labels", 1, {{"method", "GET"}});
  IncrCounter("test.counter.labels", 2, {{"method", "GET"}});
  IncrCounter("test.counter.labels", 5, {{"method", "PUT"}});
  const Recorded r = Read();
  const Aggregate* get = Find(r.counters, "test.counter.labels", {{"method", "GET"}});
  const Aggregate* put = Find(r.counters, "test.counter.labels", {{"method", "PUT"}});
  ASSERT_NE(get, nullptr);
  ASSERT_NE(put, nullptr);
  EXPECT_EQ(get->count, 2u);
  EXPECT_DOUBLE_EQ(get->sum, 3);
  EXPECT_DOUBLE_EQ(put->sum, 5);
  EXPECT_EQ(Find(r.samples, "test.counter.labels", {{"method", "GET"}}), nullptr);
}

TEST(MetricsTest, OneMeasurementHasNoDeviation) {
  AddSample("test.sample.single", 3.5);
  const Recorded r = Read();
  const Aggregate* a = Find(r.samples, "test.sample.single");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->Stddev(), 0);
  EXPECT_EQ(a->min, 3.5);
  EXPECT_EQ(a->max, 3.5);
}

}  // namespace
}  // namespace drover::metrics
