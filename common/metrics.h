// Counters and samples the agent's parts record as they work, for
// /v1/metrics. Gauges (allocation counts, host figures) are not recorded
// here: they are computed when the metrics are read (service/metrics.h).
//
// A counter counts events (HTTP requests); a sample aggregates
// measurements (a commit's latency): count, sum, min, max and the sum of
// squares for the standard deviation. Both are kept since the agent
// started, as Prometheus counters and summaries expect. Recording takes
// one mutex and one map lookup.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/gotime.h"

namespace drover::metrics {

// Label pairs, in the order given (callers give them sorted by name).
using Labels = std::vector<std::pair<std::string, std::string>>;

struct Aggregate {
  std::string name;  // Nomad's dotted form: "nomad.client.allocations.running"
  Labels labels;
  std::uint64_t count = 0;
  double sum = 0;
  double min = 0;
  double max = 0;
  double sum_squares = 0;

  double Mean() const { return count == 0 ? 0 : sum / static_cast<double>(count); }
  double Stddev() const;  // the sample standard deviation, as go-metrics gives it
};

void IncrCounter(std::string_view name, double by = 1, Labels labels = {});
void AddSample(std::string_view name, double value, Labels labels = {});

// A sample series looked up once (say per route, at start-up), for hot
// paths: recording into it takes the mutex, with no lookup or allocation.
// A series that never recorded anything is not read out.
class SampleSeries {
 public:
  void Add(double value) const;

 private:
  friend SampleSeries RegisterSample(std::string_view name, Labels labels);
  explicit SampleSeries(Aggregate* aggregate) : aggregate_(aggregate) {}
  Aggregate* aggregate_;  // a node of the process-wide map: never moves or dies
};
SampleSeries RegisterSample(std::string_view name, Labels labels);

struct Recorded {
  std::vector<Aggregate> counters;  // sorted by name, then labels
  std::vector<Aggregate> samples;
};
Recorded Read();

// When the process started (NowNanos, Unix ns): counters' rates are per
// second since then.
Nanos StartTime();

}  // namespace drover::metrics
