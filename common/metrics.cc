#include "common/metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

namespace drover::metrics {
namespace {

using Key = std::pair<std::string, Labels>;

struct Store {
  std::mutex mu;
  std::map<Key, Aggregate> counters;
  std::map<Key, Aggregate> samples;
};

Store& Global() {
  static Store* store = new Store();  // never destroyed: recorded from any thread until exit
  return *store;
}

void Record(std::map<Key, Aggregate>& into, std::string_view name, double value, Labels labels) {
  Key key{std::string(name), std::move(labels)};
  auto it = into.find(key);
  if (it == into.end()) {
    Aggregate a;
    a.name = key.first;
    a.labels = key.second;
    a.min = value;
    a.max = value;
    it = into.emplace(std::move(key), std::move(a)).first;
  }
  Aggregate& a = it->second;
  ++a.count;
  a.sum += value;
  a.sum_squares += value * value;
  a.min = std::min(a.min, value);
  a.max = std::max(a.max, value);
}

std::vector<Aggregate> Values(const std::map<Key, Aggregate>& m) {
  std::vector<Aggregate> out;
  out.reserve(m.size());
  for (const auto& [key, a] : m) out.push_back(a);
  return out;
}

const Nanos kStart = NowNanos();

}  // namespace

Nanos StartTime() { return kStart; }

double Aggregate::Stddev() const {
  if (count < 2) return 0;
  const double n = static_cast<double>(count);
  const double variance = (sum_squares - sum * sum / n) / (n - 1);
  return variance > 0 ? std::sqrt(variance) : 0;
}

void IncrCounter(std::string_view name, double by, Labels labels) {
  Store& s = Global();
  std::lock_guard<std::mutex> lock(s.mu);
  Record(s.counters, name, by, std::move(labels));
}

void AddSample(std::string_view name, double value, Labels labels) {
  Store& s = Global();
  std::lock_guard<std::mutex> lock(s.mu);
  Record(s.samples, name, value, std::move(labels));
}

Recorded Read() {
  Store& s = Global();
  std::lock_guard<std::mutex> lock(s.mu);
  return {Values(s.counters), Values(s.samples)};
}

}  // namespace drover::metrics
