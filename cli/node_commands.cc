// drover node status|eligibility|drain|meta
#include <boost/json.hpp>
#include <iostream>

#include "cli/command.h"
#include "cli/format.h"
#include "cli/lookup.h"
#include "cli/meta.h"
#include "client/http_client.h"
#include "common/gotime.h"

namespace drover::cli {

namespace json = boost::json;

namespace {

using client::PercentEncode;


std::int64_t IntAt(const json::value& v, std::initializer_list<const char*> path) {
  const json::value* x = At(v, path);
  return x && x->is_number() ? x->to_number<std::int64_t>() : 0;
}

// The node of the agent answering (-self): agent/self's client.node_id.
Result<std::string> SelfNodeId(Meta& meta) {
  auto self = meta.Get("/v1/agent/self");
  if (!self.ok()) return InvalidArgument("Error querying agent info: " + self.status().message());
  const json::value* id = At(*self, {"stats", "client", "node_id"});
  if (id == nullptr || !id->is_string()) return InvalidArgument("Error querying agent info: no node ID");
  return std::string(id->get_string());
}

Result<json::value> NodeArg(Meta& meta, bool self, const std::vector<std::string>& args) {
  if (self) {
    ASSIGN_OR_RETURN(std::string id, SelfNodeId(meta));
    auto node = meta.Get("/v1/node/" + PercentEncode(id));
    if (!node.ok()) return InvalidArgument("Error querying node info: " + node.status().message());
    return node;
  }
  return NodeByPrefix(meta, args[0]);
}

void PrintNode(Meta& meta, const json::value& node, bool verbose) {
  const std::size_t n = verbose ? 36 : kShortId;
  std::string drivers;
  if (const json::value* d = At(node, {"Drivers"}); d && d->is_object()) {
    for (const auto& kv : d->get_object()) {
      if (!Bool(kv.value(), "Detected")) continue;
      if (!drivers.empty()) drivers += ",";
      drivers += std::string(kv.key());
    }
  }
  std::cout << FormatKV({"ID|" + Str(node, "ID"), "Name|" + Str(node, "Name"),
                         "Node Pool|" + (Str(node, "NodePool").empty() ? std::string("default") : Str(node, "NodePool")),
                         "Class|" + Str(node, "NodeClass"), "DC|" + Str(node, "Datacenter"),
                         std::string("Drain|") + (Bool(node, "Drain") ? "true" : "false"),
                         "Eligibility|" + Str(node, "SchedulingEligibility"), "Status|" + Str(node, "Status"),
                         "Driver Status|" + drivers})
            << "\n";
  std::vector<std::string> events{"Time|Subsystem|Message"};
  if (const json::value* e = At(node, {"Events"}); e && e->is_array()) {
    const json::array& list = e->get_array();
    for (auto it = list.rbegin(); it != list.rend(); ++it) {
      auto t = ParseRFC3339(Str(*it, "Timestamp"));
      events.push_back((t.ok() && !t->IsZero() ? FormatUnixNano(t->unix_nanos) : "") + "|" +
                       Str(*it, "Subsystem") + "|" + Str(*it, "Message"));
    }
  }
  std::cout << "\n" << meta.Bold("Node Events") << "\n" << FormatList(events) << "\n";
  auto allocs = meta.Get("/v1/node/" + PercentEncode(Str(node, "ID")) + "/allocations");
  std::int64_t cpu_used = 0, mem_used = 0, disk_used = 0;
  if (allocs.ok() && allocs->is_array()) {
    for (const json::value& a : allocs->get_array()) {
      if (Str(a, "ClientStatus") != "running" && Str(a, "ClientStatus") != "pending") continue;
      if (const json::value* tasks = At(a, {"AllocatedResources", "Tasks"}); tasks && tasks->is_object()) {
        for (const auto& kv : tasks->get_object()) {
          cpu_used += IntAt(kv.value(), {"Cpu", "CpuShares"});
          mem_used += IntAt(kv.value(), {"Memory", "MemoryMB"});
        }
      }
      disk_used += IntAt(a, {"AllocatedResources", "Shared", "DiskMB"});
    }
  }
  const std::int64_t cpu = IntAt(node, {"NodeResources", "Cpu", "CpuShares"});
  const std::int64_t mem = IntAt(node, {"NodeResources", "Memory", "MemoryMB"});
  const std::int64_t disk = IntAt(node, {"NodeResources", "Disk", "DiskMB"});
  auto mb = [](std::int64_t v) { return FormatBytes(static_cast<std::uint64_t>(v) << 20); };
  std::cout << "\n" << meta.Bold("Allocated Resources") << "\n"
            << FormatList({"CPU|Memory|Disk", std::to_string(cpu_used) + "/" + std::to_string(cpu) + " MHz|" +
                                                 mb(mem_used) + "/" + mb(mem) + "|" + mb(disk_used) + "/" + mb(disk)})
            << "\n";
  if (auto stats = meta.Get("/v1/client/stats"); stats.ok()) {
    const std::int64_t total = IntAt(*stats, {"Memory", "Total"});
    const std::int64_t used = IntAt(*stats, {"Memory", "Used"});
    std::int64_t disk_total = 0, disk_used_host = 0;
    if (const json::value* ds = At(*stats, {"DiskStats"}); ds && ds->is_array() && !ds->get_array().empty()) {
      disk_total = Int(ds->get_array()[0], "Size");
      disk_used_host = Int(ds->get_array()[0], "Used");
    }
    const json::value* cpu_ticks = At(*stats, {"CPUTicksConsumed"});
    const std::int64_t ticks = cpu_ticks && cpu_ticks->is_number() ? static_cast<std::int64_t>(cpu_ticks->to_number<double>()) : 0;
    std::cout << "\n" << meta.Bold("Host Resource Utilization") << "\n"
              << FormatList({"CPU|Memory|Disk",
                             std::to_string(ticks) + "/" + std::to_string(cpu) + " MHz|" +
                                 FormatBytes(static_cast<std::uint64_t>(used)) + "/" +
                                 FormatBytes(static_cast<std::uint64_t>(total)) + "|" +
                                 FormatBytes(static_cast<std::uint64_t>(disk_used_host)) + "/" +
                                 FormatBytes(static_cast<std::uint64_t>(disk_total))})
              << "\n";
  }
  std::cout << "\n" << meta.Bold("Allocations") << "\n"
            << (allocs.ok() ? FormatAllocStubs(*allocs, verbose, n) : "") << "\n";
  if (verbose) {
    for (const char* section : {"Attributes", "Meta"}) {
      std::vector<std::string> rows;
      if (const json::value* m = At(node, {section}); m && m->is_object()) {
        std::vector<std::string> keys;
        for (const auto& kv : m->get_object()) keys.emplace_back(kv.key());
        std::sort(keys.begin(), keys.end());
        for (const std::string& k : keys) rows.push_back(k + "|" + Str(*m, k.c_str()));
      }
      std::cout << "\n" << meta.Bold(section) << "\n" << FormatKV(rows) << "\n";
    }
  }
}

int NodeStatus(const Command& cmd, const std::vector<std::string>& argv) {
  Meta meta;
  FlagSet flags;
  meta.AddFlags(flags, true);
  bool self = false, verbose = false, short_ = false, stats = false, allocs = false;
  flags.Bool("self", &self, "The node of the agent answering.");
  flags.Bool("verbose", &verbose, "Full IDs, the node's attributes and meta.");
  flags.Bool("short", &short_, "Only the node's basic information.");
  flags.Bool("stats", &stats, "Accepted for Nomad's sake: host use is always shown.");
  flags.Bool("allocs", &allocs, "With the list: the count of running allocations per node.");
  std::vector<std::string> args;
  if (auto done = Begin(cmd, flags, meta, argv, args, 0, 1, "This command takes either one or no arguments")) return *done;
  if (args.empty() && !self) {
    auto nodes = meta.Get("/v1/nodes");
    if (!nodes.ok()) return Fail("Error querying node status: " + nodes.status().message());
    if (meta.formatted()) return meta.Output(*nodes);
    if (nodes->as_array().empty()) return 0;
    std::vector<std::string> rows{std::string("ID|Node Pool|DC|Name|Class|Drain|Eligibility|Status") +
                                  (allocs ? "|Running Allocs" : "")};
    for (const json::value& nd : nodes->as_array()) {
      std::string row = Limit(Str(nd, "ID"), verbose ? 36 : kShortId) + "|" +
                        (Str(nd, "NodePool").empty() ? std::string("default") : Str(nd, "NodePool")) + "|" +
                        Str(nd, "Datacenter") + "|" + Str(nd, "Name") + "|" + Str(nd, "NodeClass") + "|" +
                        (Bool(nd, "Drain") ? "true" : "false") + "|" + Str(nd, "SchedulingEligibility") + "|" +
                        Str(nd, "Status");
      if (allocs) {
        std::int64_t running = 0;
        if (auto list = meta.Get("/v1/node/" + PercentEncode(Str(nd, "ID")) + "/allocations"); list.ok()) {
          for (const json::value& a : list->as_array()) running += Str(a, "ClientStatus") == "running";
        }
        row += "|" + std::to_string(running);
      }
      rows.push_back(row);
    }
    std::cout << FormatList(rows) << "\n";
    return 0;
  }
  auto node = NodeArg(meta, self, args);
  if (!node.ok()) return StatusLookupFailure(node.status());
  if (meta.formatted()) return meta.Output(*node);
  if (short_) {
    std::cout << FormatKV({"ID|" + Str(*node, "ID"), "Name|" + Str(*node, "Name"),
                           "DC|" + Str(*node, "Datacenter"), "Status|" + Str(*node, "Status")})
              << "\n";
    return 0;
  }
  PrintNode(meta, *node, verbose);
  return 0;
}

// eligibility and drain: -enable / -disable on one node.
int NodeToggle(const Command& cmd, const std::vector<std::string>& argv, bool drain) {
  Meta meta;
  FlagSet flags;
  meta.AddFlags(flags);
  bool enable = false, disable = false, self = false, yes = false, detach = false, ignore_system = false;
  std::string deadline = "1h";
  flags.Bool("enable", &enable, drain ? "Start draining the node." : "Mark the node eligible for scheduling.");
  flags.Bool("disable", &disable, drain ? "Stop draining the node." : "Mark the node ineligible for scheduling.");
  flags.Bool("self", &self, "The node of the agent answering.");
  if (drain) {
    flags.String("deadline", &deadline, "How long the drain may take (Go duration, default 1h).");
    flags.Bool("yes", &yes, "Accepted for Nomad's sake: no confirmation is asked.");
    flags.Bool("detach", &detach, "Accepted for Nomad's sake: the drain is not followed.");
    flags.Bool("ignore-system", &ignore_system, "Leave system jobs' allocations in place.");
  }
  std::vector<std::string> args;
  // `self` is known only once the flags are parsed: the count is checked after.
  const char* usage = "This command takes one argument (the node ID) or -self";
  if (auto done = Begin(cmd, flags, meta, argv, args, 0, 1, usage)) return *done;
  if (args.size() != (self ? 0u : 1u)) return UsageError(cmd.name, usage);
  if (enable == disable) return UsageError(cmd.name, "Either the '-enable' or '-disable' flag must be set");
  auto node = NodeArg(meta, self, args);
  if (!node.ok()) return Fail(node.status().message());
  const std::string id = Str(*node, "ID");
  if (!drain) {
    json::object req{{"NodeID", id}, {"Eligibility", enable ? "eligible" : "ineligible"}};
    auto resp = meta.Post("/v1/node/" + PercentEncode(id) + "/eligibility", json::serialize(req));
    if (!resp.ok()) return Fail("Error updating scheduling eligibility: " + resp.status().message());
    std::cout << "Node \"" << id << "\" scheduling eligibility set: "
              << (enable ? "eligible" : "ineligible") << " for scheduling\n";
    return 0;
  }
  json::value spec = nullptr;
  if (enable) {
    auto d = ParseGoDuration(deadline);
    if (!d.ok()) return Fail("Failed to parse deadline: " + d.status().message());
    spec = json::object{{"Deadline", *d}, {"IgnoreSystemJobs", ignore_system}};
  }
  json::object req{{"NodeID", id}, {"DrainSpec", spec}, {"MarkEligible", !enable}};
  auto resp = meta.Post("/v1/node/" + PercentEncode(id) + "/drain", json::serialize(req));
  if (!resp.ok()) return Fail("Error updating drain specification: " + resp.status().message());
  std::cout << (enable ? "Node \"" + id + "\" drain strategy set\n" : "Node \"" + id + "\" drain strategy unset\n");
  return 0;
}

int NodeMeta(const Command& cmd, const std::vector<std::string>& argv, bool apply) {
  Meta meta;
  FlagSet flags;
  meta.AddFlags(flags, !apply);
  std::string node_id;
  std::vector<std::string> unset;
  flags.String("node-id", &node_id, "The node (default: the agent's own).");
  if (apply) flags.Strings("unset", &unset, "A key to remove (repeatable).");
  std::vector<std::string> args;
  if (auto done = Begin(cmd, flags, meta, argv, args, 0, apply ? kAnyCount : 0, "This command takes no arguments")) return *done;
  if (!apply) {
    auto m = meta.Get("/v1/client/metadata");
    if (!m.ok()) return Fail("Error reading dynamic node metadata: " + m.status().message());
    if (meta.formatted()) return meta.Output(*m);
    for (const char* part : {"Meta", "Dynamic", "Static"}) {
      const json::value* o = At(*m, {part});
      if (o == nullptr || !o->is_object()) continue;
      std::vector<std::string> rows;
      for (const auto& kv : o->get_object()) {
        rows.push_back(std::string(kv.key()) + "|" + (kv.value().is_string() ? std::string(kv.value().get_string()) : json::serialize(kv.value())));
      }
      std::sort(rows.begin(), rows.end());
      std::cout << meta.Bold(std::string("All ") + part) << "\n" << FormatKV(rows) << "\n\n";
      break;
    }
    return 0;
  }
  json::object values;
  for (const std::string& kv : args) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) return Fail("Error parsing metadata: " + kv + " is not key=value");
    values[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const std::string& k : unset) values[k] = nullptr;
  if (values.empty()) return UsageError(cmd.name, "Must specify at least one key=value or -unset");
  auto resp = meta.Post("/v1/client/metadata", json::serialize(json::object{{"Meta", values}}));
  if (!resp.ok()) return Fail("Error applying dynamic node metadata: " + resp.status().message());
  return 0;
}

}  // namespace

void AddNodeCommands(std::vector<Command>& out) {
  out.push_back({"node status", "Display status information about nodes",
                 "Usage: drover node status [options] [node]\n\n"
                 "  Without a node: the list of nodes. With a node ID prefix or -self: the\n"
                 "  node, its events, resources and allocations.\n\n"
                 "Examples:\n\n  drover node status\n  drover node status -self -verbose\n"
                 "  drover node status -t '{{ range . }}{{ .Name }}{{ end }}'",
                 NodeStatus});
  out.push_back({"node eligibility", "Toggle scheduling eligibility for a node",
                 "Usage: drover node eligibility [options] <node>\n\n"
                 "  Marks the node eligible or ineligible for new placements\n"
                 "  (POST /v1/node/:id/eligibility).\n\n"
                 "Examples:\n\n  drover node eligibility -disable -self\n  drover node eligibility -enable 5c2b",
                 [](const Command& c, const std::vector<std::string>& a) { return NodeToggle(c, a, false); }});
  out.push_back({"node drain", "Toggle drain mode on a given node",
                 "Usage: drover node drain [options] <node>\n\n"
                 "  Starts (-enable) or stops (-disable) draining the node\n"
                 "  (POST /v1/node/:id/drain).\n\n"
                 "Examples:\n\n  drover node drain -enable -deadline 10m -self\n  drover node drain -disable -self",
                 [](const Command& c, const std::vector<std::string>& a) { return NodeToggle(c, a, true); }});
  out.push_back({"node meta read", "Read node metadata",
                 "Usage: drover node meta read [options]\n\n  The node's metadata (GET /v1/client/metadata).\n\n"
                 "Examples:\n\n  drover node meta read\n  drover node meta read -json",
                 [](const Command& c, const std::vector<std::string>& a) { return NodeMeta(c, a, false); }});
  out.push_back({"node meta apply", "Modify node metadata",
                 "Usage: drover node meta apply [options] key1=value1 ... kN=vN\n\n"
                 "  Sets (and with -unset removes) dynamic node metadata.\n\n"
                 "Examples:\n\n  drover node meta apply -unset old rack=r1",
                 [](const Command& c, const std::vector<std::string>& a) { return NodeMeta(c, a, true); }});
}

}  // namespace drover::cli
