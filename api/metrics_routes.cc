// GET /v1/metrics: the agent's metrics in go-metrics' JSON summary (what
// Nomad's /v1/metrics answers), or with ?format=prometheus in Prometheus'
// text exposition format (when telemetry.prometheus_metrics is on, as in
// Nomad; otherwise 415). No ACL, as in Nomad.
//
// Drover keeps counters and samples since the agent started (Prometheus'
// model), where go-metrics' JSON shows the current 10 s interval; `Rate`
// is per second over the agent's lifetime.
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <map>
#include <string>

#include "api/routes.h"
#include "common/text.h"
#include "service/metrics.h"

namespace drover::api {
namespace {

namespace json = boost::json;

json::object LabelsJson(const metrics::Labels& labels) {
  json::object out;
  for (const auto& [k, v] : labels) out[k] = v;
  return out;
}

json::object AggregateJson(const metrics::Aggregate& a, double seconds) {
  return json::object{{"Name", a.name},
                      {"Count", a.count},
                      {"Rate", seconds > 0 ? a.sum / seconds : 0.0},
                      {"Sum", a.sum},
                      {"Min", a.min},
                      {"Max", a.max},
                      {"Mean", a.Mean()},
                      {"Stddev", a.Stddev()},
                      {"Labels", LabelsJson(a.labels)}};
}

// go-metrics' timestamp: Go's time.Time.String() of a UTC time, to the second.
std::string GoTimeString(Nanos t) {
  const std::time_t secs = static_cast<std::time_t>(t / kSecond);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
  return buf;
}

json::value SummaryJson(const MetricsSnapshot& m) {
  const double seconds = static_cast<double>(m.timestamp - metrics::StartTime()) / kSecond;
  json::array gauges, counters, samples;
  for (const Gauge& g : m.gauges) {
    gauges.push_back(
        json::object{{"Name", g.name}, {"Value", g.value}, {"Labels", LabelsJson(g.labels)}});
  }
  for (const auto& c : m.recorded.counters) counters.push_back(AggregateJson(c, seconds));
  for (const auto& s : m.recorded.samples) samples.push_back(AggregateJson(s, seconds));
  return json::object{{"Timestamp", GoTimeString(m.timestamp)},
                      {"Gauges", std::move(gauges)},
                      {"Points", json::array{}},
                      {"Counters", std::move(counters)},
                      {"Samples", std::move(samples)}};
}

// ---- Prometheus text format (version 0.0.4) ----------------------------------

// A metric or label name: [a-zA-Z_:][a-zA-Z0-9_:]*; go-metrics' Prometheus
// sink turns every other character (Nomad's dots) into '_'.
std::string PromName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                    (c >= '0' && c <= '9');
    out += ok ? c : '_';
  }
  if (out.empty() || (out[0] >= '0' && out[0] <= '9')) out.insert(out.begin(), '_');
  return out;
}

std::string PromValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, end);
}

std::string PromLabels(const metrics::Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ',';
    out += PromName(labels[i].first);
    out += "=\"";
    for (char c : labels[i].second) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '"') {
        out += "\\\"";
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += '"';
  }
  out += '}';
  return out;
}

struct Family {
  std::string type;   // gauge, counter, summary
  std::string help;   // the dotted name
  std::string lines;  // its samples
};

std::string PrometheusText(const MetricsSnapshot& m) {
  std::map<std::string, Family> families;  // by exposition name
  auto family = [&families](const std::string& dotted, const char* type) -> Family& {
    Family& f = families[PromName(dotted)];
    if (f.type.empty()) {
      f.type = type;
      f.help = dotted;
    }
    return f;
  };
  for (const Gauge& g : m.gauges) {
    Family& f = family(g.name, "gauge");
    f.lines += PromName(g.name) + PromLabels(g.labels) + " " + PromValue(g.value) + "\n";
  }
  for (const auto& c : m.recorded.counters) {
    Family& f = family(c.name, "counter");
    f.lines += PromName(c.name) + PromLabels(c.labels) + " " + PromValue(c.sum) + "\n";
  }
  for (const auto& s : m.recorded.samples) {
    Family& f = family(s.name, "summary");
    const std::string name = PromName(s.name);
    const std::string labels = PromLabels(s.labels);
    f.lines += name + "_sum" + labels + " " + PromValue(s.sum) + "\n";
    f.lines += name + "_count" + labels + " " + std::to_string(s.count) + "\n";
  }
  std::string out;
  for (const auto& [name, f] : families) {
    out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + " " + f.type + "\n";
    out += f.lines;
  }
  return out;
}

void Metrics(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  const std::string format = QueryParam(req, "format").value_or("");
  if (format == "prometheus" && !ctx.agent.config().prometheus_metrics) {
    writer.headers().add<Http::Header::ContentType>(MIME(Text, Plain));
    writer.send(static_cast<Http::Code>(415), "Prometheus is not enabled");
    return;
  }
  auto snapshot = CollectMetrics(ctx.agent);
  if (!snapshot.ok()) return SendError(writer, snapshot.status());
  snapshot->gauges.push_back(
      {"drover.http.parked_queries", static_cast<double>(ctx.blocking.Parked()), {}});
  if (format == "prometheus") {
    writer.headers().add<Http::Header::ContentType>(
        Http::Mime::MediaType::fromString("text/plain; version=0.0.4; charset=utf-8"));
    writer.send(Http::Code::Ok, PrometheusText(*snapshot));
    return;
  }
  auto pretty = QueryBool(req, "pretty", false);
  if (!pretty.ok()) return SendError(writer, pretty.status());
  SendJson(writer, SummaryJson(*snapshot), *pretty, 0);
}

}  // namespace

void AddMetricsRoutes(RouteTable& routes, ApiContext& ctx) {
  routes.Add("/v1/metrics", {Http::Method::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) { Metrics(ctx, req, w); });
}

}  // namespace drover::api
