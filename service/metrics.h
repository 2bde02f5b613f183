// The agent's metrics, as Nomad's client publishes them (nomad.client.*),
// plus Drover's own (drover.*): read for /v1/metrics.
//
// Gauges are computed at read time from the store, the node and the host
// sampler; counters and samples come from common/metrics.h, where the
// parts that do the work record them (HTTP requests, store commits).
#pragma once

#include <string>
#include <vector>

#include "common/gotime.h"
#include "common/metrics.h"
#include "common/status.h"
#include "storage/model.h"

namespace drover {

class Agent;

struct Gauge {
  std::string name;
  double value = 0;
  metrics::Labels labels;
};

struct MetricsSnapshot {
  Nanos timestamp = 0;
  std::vector<Gauge> gauges;
  metrics::Recorded recorded;
};

Result<MetricsSnapshot> CollectMetrics(Agent& agent);


}  // namespace drover
