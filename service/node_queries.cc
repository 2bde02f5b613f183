// Queries: nodes, node metadata and the Nomad-native service registrations.
#include <boost/json.hpp>
#include <map>
#include <set>

#include "service/node_meta.h"
#include "service/queries.h"
#include "service/services.h"
#include "storage/codec.h"
#include "storage/state_store.h"

namespace drover {
namespace {

namespace json = boost::json;

// Nomad's NodeListStub.
json::value NodeStub(const Node& n) {
  json::value full = ToJson(n);
  json::object& f = full.get_object();
  json::object stub;
  auto [host, port] = SplitHttpAddr(n.HTTPAddr);
  stub["Address"] = host;
  for (const char* field : {"ID", "Datacenter", "Name", "NodeClass", "NodePool", "Drain",
                            "SchedulingEligibility", "Status", "StatusDescription", "Drivers",
                            "CreateIndex", "ModifyIndex"}) {
    if (auto* v = f.if_contains(field)) stub[field] = *v;
  }
  stub["Version"] = n.Attributes.count("nomad.version") ? n.Attributes.at("nomad.version") : "";
  stub["Attributes"] = nullptr;
  stub["NodeResources"] = nullptr;
  stub["ReservedResources"] = nullptr;
  stub["LastDrain"] = f.contains("LastDrain") ? f.at("LastDrain") : json::value(nullptr);
  return stub;
}

}  // namespace

json::value RegistrationJson(const ServiceRegistration& r) {
  json::array tags;
  for (const std::string& t : r.Tags) tags.push_back(json::value(t));
  return json::object{{"ID", r.ID},
                      {"ServiceName", r.ServiceName},
                      {"Namespace", r.Namespace},
                      {"NodeID", r.NodeID},
                      {"Datacenter", r.Datacenter},
                      {"JobID", r.JobID},
                      {"AllocID", r.AllocID},
                      {"Tags", std::move(tags)},
                      {"Address", r.Address},
                      {"Port", r.Port},
                      {"CreateIndex", r.CreateIndex},
                      {"ModifyIndex", r.ModifyIndex}};
}

namespace {

// Every registration on this node, in allocation order.
Result<std::vector<ServiceRegistration>> AllRegistrations(const StateStore& store,
                                                          const Node& node) {
  ASSIGN_OR_RETURN(std::vector<Allocation> allocs, store.ListAllocs());
  std::vector<ServiceRegistration> out;
  for (const Allocation& a : allocs) {
    for (ServiceRegistration& r : AllocServiceRegistrations(a, node)) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

Result<QueryReply> Queries::ListNodes(const std::string& prefix) const {
  QueryReply reply;
  reply.index = store_.TableIndex(Table::kNodes);
  ASSIGN_OR_RETURN(std::vector<Node> nodes, store_.ListNodes());
  json::array out;
  for (const Node& n : nodes) {
    if (n.ID.rfind(prefix, 0) == 0) out.push_back(NodeStub(n));
  }
  reply.body = std::move(out);
  return reply;
}

Result<QueryReply> Queries::NodeJson(const std::string& id) const {
  ASSIGN_OR_RETURN(std::optional<Node> node, store_.GetNode(id));
  if (!node) return NotFound("node not found");
  return QueryReply{node->ModifyIndex, ToJson(*node)};
}

Result<NodeMetaView> Queries::NodeMeta(const StringMap& statics) const {
  return ReadNodeMeta(store_, statics);
}

Result<QueryReply> Queries::AllocServices(const std::string& alloc_id) const {
  QueryReply reply;
  reply.index = store_.TableIndex(Table::kAllocs);
  reply.body = json::array{};
  ASSIGN_OR_RETURN(std::optional<Allocation> alloc, store_.GetAlloc(alloc_id));
  if (!alloc) return NotFound("alloc not found");
  for (const ServiceRegistration& r : AllocServiceRegistrations(*alloc, node_)) {
    reply.body.get_array().push_back(RegistrationJson(r));
  }
  return reply;
}

Result<QueryReply> Queries::ListServices(const NamespaceView& view) const {
  const std::uint64_t index = store_.TableIndex(Table::kAllocs);
  ASSIGN_OR_RETURN(std::vector<ServiceRegistration> regs, AllRegistrations(store_, node_));
  // Namespace -> service name -> its tags, de-duplicated (Nomad's stubs).
  std::map<std::string, std::map<std::string, std::set<std::string>>> by_ns;
  for (const ServiceRegistration& r : regs) {
    if (!view.Shows(r.Namespace)) continue;
    auto& tags = by_ns[r.Namespace][r.ServiceName];
    tags.insert(r.Tags.begin(), r.Tags.end());
  }
  json::array out;
  for (const auto& [name_space, services] : by_ns) {
    json::array stubs;
    for (const auto& [name, tags] : services) {
      json::array tag_list;
      for (const std::string& t : tags) tag_list.push_back(json::value(t));
      stubs.push_back(json::object{{"ServiceName", name}, {"Tags", std::move(tag_list)}});
    }
    out.push_back(json::object{{"Namespace", name_space}, {"Services", std::move(stubs)}});
  }
  QueryReply reply;
  reply.index = index;
  reply.body = std::move(out);
  return reply;
}

Result<QueryReply> Queries::ServiceJson(const std::string& name, const NamespaceView& view) const {
  QueryReply reply;
  reply.index = store_.TableIndex(Table::kAllocs);
  reply.body = json::array{};
  ASSIGN_OR_RETURN(std::vector<ServiceRegistration> regs, AllRegistrations(store_, node_));
  for (const ServiceRegistration& r : regs) {
    if (r.ServiceName == name && view.Shows(r.Namespace)) {
      reply.body.get_array().push_back(RegistrationJson(r));
    }
  }
  return reply;
}

}  // namespace drover
