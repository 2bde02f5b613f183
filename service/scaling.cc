#include "service/scaling.h"

#include <boost/json.hpp>

namespace drover {
namespace {

namespace json = boost::json;

}  // namespace

// The stored document: {"<group>": [<ScalingEvent>, ...], ...}.
json::value ScalingEventJson(const ScalingEvent& e) {
  json::object o{{"Time", e.Time},
                 {"PreviousCount", e.PreviousCount},
                 {"Message", e.Message},
                 {"Error", e.Error},
                 {"CreateIndex", e.CreateIndex}};
  o["Count"] = e.Count ? json::value(*e.Count) : json::value(nullptr);
  o["EvalID"] = e.EvalID ? json::value(*e.EvalID) : json::value(nullptr);
  boost::system::error_code ec;
  json::value meta = e.Meta.IsNull() ? json::value(nullptr) : json::parse(e.Meta.text, ec);
  o["Meta"] = ec ? json::value(nullptr) : std::move(meta);
  return o;
}

namespace {

Result<ScalingEvent> EventFrom(const json::value& v) {
  const json::object* o = v.if_object();
  if (o == nullptr) return Internal("scaling event is not an object");
  ScalingEvent e;
  auto i64 = [&](const char* key) -> std::int64_t {
    const json::value* f = o->if_contains(key);
    return f && f->is_int64() ? f->get_int64() : f && f->is_uint64() ? static_cast<std::int64_t>(f->get_uint64()) : 0;
  };
  e.Time = i64("Time");
  e.PreviousCount = i64("PreviousCount");
  e.CreateIndex = static_cast<std::uint64_t>(i64("CreateIndex"));
  if (const json::value* c = o->if_contains("Count"); c && !c->is_null()) e.Count = i64("Count");
  if (const json::value* m = o->if_contains("Message"); m && m->is_string()) {
    e.Message = std::string(m->get_string());
  }
  if (const json::value* b = o->if_contains("Error"); b && b->is_bool()) e.Error = b->get_bool();
  if (const json::value* id = o->if_contains("EvalID"); id && id->is_string()) {
    e.EvalID = std::string(id->get_string());
  }
  if (const json::value* m = o->if_contains("Meta"); m && !m->is_null()) {
    e.Meta.text = json::serialize(*m);
  }
  return e;
}

}  // namespace

std::string EncodeScalingEvents(const JobScalingEvents& events) {
  json::object doc;
  for (const auto& [group, list] : events) {
    json::array a;
    for (const ScalingEvent& e : list) a.push_back(ScalingEventJson(e));
    doc[group] = std::move(a);
  }
  return json::serialize(doc);
}

Result<JobScalingEvents> DecodeScalingEvents(std::string_view text) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object()) return Internal("corrupt scaling events: " + ec.message());
  JobScalingEvents out;
  for (const auto& [group, list] : doc.get_object()) {
    if (!list.is_array()) return Internal("corrupt scaling events of group " + std::string(group));
    auto& events = out[std::string(group)];
    for (const json::value& v : list.get_array()) {
      ASSIGN_OR_RETURN(ScalingEvent e, EventFrom(v));
      events.push_back(std::move(e));
    }
  }
  return out;
}

void AddScalingEvent(JobScalingEvents& events, const std::string& group, ScalingEvent event) {
  std::vector<ScalingEvent>& list = events[group];
  list.insert(list.begin(), std::move(event));
  if (list.size() > kJobTrackedScalingEvents) list.resize(kJobTrackedScalingEvents);
}

Status ValidateScaleRequest(const ScaleRequest& req) {
  auto target = [&](const char* key) -> std::string {
    auto it = req.Target.find(key);
    return it == req.Target.end() ? "" : it->second;
  };
  if (!target("Job").empty() && target("Job") != req.job_id) {
    return InvalidArgument("job ID in payload did not match URL");
  }
  if (!target("Namespace").empty() && target("Namespace") != req.ns) {
    return InvalidArgument("namespace in payload did not match header");
  }
  if (target("Group").empty()) return InvalidArgument("missing task group name for scaling action");
  if (req.Count) {
    if (*req.Count < 0) return InvalidArgument("scaling action count can't be negative");
    if (req.Error) {
      return InvalidArgument("scaling action should not contain count if error is true");
    }
  }
  return Status::Ok();
}

}  // namespace drover
