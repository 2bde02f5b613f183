#include "service/services.h"

#include <boost/json.hpp>
#include <charconv>

namespace drover {
namespace {

namespace json = boost::json;

constexpr const char* kServiceIDPrefix = "_nomad-task-";

std::string Str(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The node's address: the host part of its HTTP address.
std::string NodeAddress(const Node& node) {
  const std::string& addr = node.HTTPAddr;
  auto colon = addr.rfind(':');
  return colon == std::string::npos ? addr : addr.substr(0, colon);
}

// A numeric port label is the port itself; a named one is looked up in the
// allocation's shared ports and networks.
std::int64_t ResolvePort(const Allocation& alloc, const std::string& label) {
  if (label.empty()) return 0;
  std::int64_t port = 0;
  auto [end, ec] = std::from_chars(label.data(), label.data() + label.size(), port);
  if (ec == std::errc() && end == label.data() + label.size()) return port;

  boost::system::error_code jec;
  json::value res = json::parse(alloc.AllocatedResources.text, jec);
  const json::object* shared = nullptr;
  if (!jec && res.is_object()) {
    if (const json::value* s = res.get_object().if_contains("Shared"); s && s->is_object()) {
      shared = &s->get_object();
    }
  }
  if (shared == nullptr) return 0;
  auto find_in = [&](const json::value* ports) -> std::int64_t {
    if (ports == nullptr || !ports->is_array()) return 0;
    for (const json::value& p : ports->get_array()) {
      if (!p.is_object() || Str(p.get_object(), "Label") != label) continue;
      if (const json::value* v = p.get_object().if_contains("Value"); v && v->is_int64()) {
        return v->get_int64();
      }
    }
    return 0;
  };
  if (std::int64_t p = find_in(shared->if_contains("Ports"))) return p;
  if (const json::value* nets = shared->if_contains("Networks"); nets && nets->is_array()) {
    for (const json::value& n : nets->get_array()) {
      if (!n.is_object()) continue;
      for (const char* kind : {"ReservedPorts", "DynamicPorts"}) {
        if (std::int64_t p = find_in(n.get_object().if_contains(kind))) return p;
      }
    }
  }
  return 0;
}

// Appends the "nomad" services of one Services list. `owner` is the task
// name, or "group-<group>" for group services; `default_name` is Nomad's
// canonical name for a service without one.
void AddServices(const RawJson& services, const std::string& owner,
                 const std::string& default_name, const Allocation& alloc, const Node& node,
                 std::vector<ServiceRegistration>& out) {
  boost::system::error_code ec;
  json::value list = json::parse(services.text, ec);
  if (ec || !list.is_array()) return;
  for (const json::value& v : list.get_array()) {
    if (!v.is_object()) continue;
    const json::object& s = v.get_object();
    if (Str(s, "Provider") != "nomad") continue;
    ServiceRegistration r;
    r.ServiceName = Str(s, "Name");
    if (r.ServiceName.empty()) r.ServiceName = default_name;
    const std::string label = Str(s, "PortLabel");
    r.ID = kServiceIDPrefix + alloc.ID + "-" + owner + "-" + r.ServiceName + "-" + label;
    r.Namespace = alloc.Namespace;
    r.NodeID = node.ID;
    r.Datacenter = node.Datacenter;
    r.JobID = alloc.JobID;
    r.AllocID = alloc.ID;
    if (const json::value* tags = s.if_contains("Tags"); tags && tags->is_array()) {
      for (const json::value& t : tags->get_array()) {
        if (t.is_string()) r.Tags.emplace_back(t.get_string());
      }
    }
    r.Address = Str(s, "Address");
    if (r.Address.empty()) r.Address = NodeAddress(node);
    r.Port = ResolvePort(alloc, label);
    r.CreateIndex = alloc.CreateIndex;
    r.ModifyIndex = alloc.ModifyIndex;
    out.push_back(std::move(r));
  }
}

bool TaskRunning(const Allocation& alloc, const std::string& task) {
  if (!alloc.TaskStates) return false;
  auto it = alloc.TaskStates->find(task);
  return it != alloc.TaskStates->end() && it->second.State == kTaskStateRunning;
}

}  // namespace

std::vector<ServiceRegistration> AllocServiceRegistrations(const Allocation& alloc,
                                                           const Node& node) {
  std::vector<ServiceRegistration> out;
  if (!alloc.Job || alloc.DesiredStatus != kAllocDesiredRun) return out;
  const Job& job = *alloc.Job;
  for (const TaskGroup& tg : job.TaskGroups) {
    if (tg.Name != alloc.TaskGroup) continue;
    bool any_running = false;
    for (const Task& t : tg.Tasks) any_running = any_running || TaskRunning(alloc, t.Name);
    if (any_running) {
      AddServices(tg.Services, "group-" + tg.Name, job.Name + "-" + tg.Name, alloc, node, out);
    }
    for (const Task& t : tg.Tasks) {
      if (!TaskRunning(alloc, t.Name)) continue;
      AddServices(t.Services, t.Name, job.Name + "-" + tg.Name + "-" + t.Name, alloc, node, out);
    }
  }
  return out;
}

}  // namespace drover
