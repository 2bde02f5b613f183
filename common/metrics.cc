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

// The series `name` with `labels`, created empty on first use.
Aggregate& Series(std::map<Key, Aggregate>& in, std::string_view name, Labels labels) {
  Key key{std::string(name), std::move(labels)};
  auto it = in.find(key);
  if (it == in.end()) {
    Aggregate a;
    a.name = key.first;
    a.labels = key.second;
    it = in.emplace(std::move(key), std::move(a)).first;
  }
  return it->second;
}

void Update(Aggregate& a, double value) {
  if (a.count == 0) a.min = a.max = value;
  ++a.count;
  a.sum += value;
  a.sum_squares += value * value;
  a.min = std::min(a.min, value);
  a.max = std::max(a.max, value);
}

std::vector<Aggregate> Values(const std::map<Key, Aggregate>& m) {
  std::vector<Aggregate> out;
  out.reserve(m.size());
  for (const auto& [key, a] : m) {
    if (a.count > 0) out.push_back(a);
  }
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
  Update(Series(s.counters, name, std::move(labels)), by);
}

void AddSample(std::string_view name, double value, Labels labels) {
  Store& s = Global();
  std::lock_guard<std::mutex> lock(s.mu);
  Update(Series(s.samples, name, std::move(labels)), value);
}

SampleSeries RegisterSample(std::string_view name, Labels labels) {
  Store& s = Global();
  std::lock_guard<std::mutex> lock(s.mu);
  return SampleSeries(&Series(s.samples, name, std::move(labels)));
}

void SampleSeries::Add(double value) const {
  std::lock_guard<std::mutex> lock(Global().mu);
  Update(*aggregate_, value);
}

Recorded Read() {
  Store& s = Global();
  std::lock_guard<std::mutex> lock(s.mu);
  return {Values(s.counters), Values(s.samples)};
}

}  // namespace drover::metrics
