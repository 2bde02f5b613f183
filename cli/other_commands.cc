// drover status, event stream, acl ..., operator metrics, var ...
#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/command.h"
#include "cli/format.h"
#include "cli/input.h"
#include "cli/lookup.h"
#include "cli/meta.h"
#include "client/http_client.h"
#include "common/gotime.h"

namespace drover::cli {

namespace json = boost::json;

namespace {

using client::PercentEncode;

constexpr std::size_t kMaxInputBytes = 4 << 20;  // the agent's body limit

// The meta flags and -json/-t, then exactly `want` arguments (-1: any).
struct Simple {
  Meta meta;
  FlagSet flags;
  std::vector<std::string> args;
};

std::optional<int> Start(const Command& cmd, const std::vector<std::string>& argv, Simple& s,
                         int want, const std::string& usage_args) {
  // The caller adds its own flags before calling. want < 0: any count.
  const std::size_t n = want < 0 ? 0 : static_cast<std::size_t>(want);
  return Begin(cmd, s.flags, s.meta, argv, s.args, n, want < 0 ? kAnyCount : n,
               want == 0 ? "This command takes no arguments"
                         : "This command takes " + std::string(want == 1 ? "one argument" : "two arguments") +
                               ": " + usage_args);
}

// ---- status --------------------------------------------------------------

int GeneralStatus(const Command& cmd, const std::vector<std::string>& argv) {
  if (argv.empty() || (argv.size() >= 1 && argv.back().rfind("-", 0) == 0)) {
    return RunCommand("job status", argv);
  }
  Simple s;
  s.meta.AddFlags(s.flags, true);
  bool verbose = false;
  s.flags.Bool("verbose", &verbose, "Full IDs.");
  if (auto code = Start(cmd, argv, s, 1, "<identifier>")) return *code;
  const std::string id = s.args[0];
  // Jobs, then allocations, nodes and evaluations, as Nomad's search.
  if (auto job = JobIdByPrefix(s.meta, id); job.ok() || job.status().code() == StatusCode::kFailedPrecondition) {
    return RunCommand("job status", argv);
  }
  if (auto alloc = AllocByPrefix(s.meta, id); alloc.ok() || alloc.status().code() == StatusCode::kFailedPrecondition) {
    return RunCommand("alloc status", argv);
  }
  if (auto node = NodeByPrefix(s.meta, id); node.ok() || node.status().code() == StatusCode::kFailedPrecondition) {
    return RunCommand("node status", argv);
  }
  return Fail("No matches returned for query \"" + id + "\"");
}

// ---- event stream ----------------------------------------------------------

int EventStream(const Command& cmd, const std::vector<std::string>& argv) {
  Simple s;
  s.meta.AddFlags(s.flags);
  std::vector<std::string> topics;
  std::int64_t index = 0;
  bool pretty = false;
  s.flags.Strings("topic", &topics, "Topic:Key to follow, e.g. Job:web or Allocation:* (repeatable; default all).");
  s.flags.Int("index", &index, "Start at this index (events from the journal).");
  s.flags.Bool("pretty", &pretty, "Indent each event batch.");
  if (auto code = Start(cmd, argv, s, 0, "")) return *code;
  std::string path = "/v1/event/stream?index=" + std::to_string(index);
  for (const std::string& t : topics) {
    path += "&topic=" + PercentEncode(t.find(':') == std::string::npos ? t + ":*" : t);
  }
  std::string pending;
  Status st = s.meta.Stream(path, [&](std::string_view piece) {
    pending.append(piece);
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (line.empty() || line == "{}") continue;  // heartbeats
      if (pretty) {
        boost::system::error_code ec;
        json::value v = json::parse(line, ec);
        if (!ec) line = IndentJson(v);
      }
      std::cout << line << std::endl;
    }
    return true;
  });
  if (!st.ok()) return Fail("Error querying the event stream: " + st.message());
  return 0;
}

// ---- acl -------------------------------------------------------------------

std::string TimeField(const json::value& v, const char* key) {
  auto t = ParseRFC3339(Str(v, key));
  return t.ok() && !t->IsZero() ? FormatUnixNano(t->unix_nanos) : "";
}

std::string Join(const json::value* list) {
  std::string out;
  if (list != nullptr && list->is_array()) {
    for (const json::value& x : list->get_array()) {
      if (!out.empty()) out += ",";
      if (x.is_string()) out += std::string(x.get_string());
    }
  }
  return out;
}

void PrintToken(const json::value& t) {
  const bool management = Str(t, "Type") == "management";
  const json::value* policies = t.is_object() ? t.get_object().if_contains("Policies") : nullptr;
  std::cout << FormatKV({"Accessor ID|" + Str(t, "AccessorID"), "Secret ID|" + Str(t, "SecretID"),
                         "Name|" + Str(t, "Name"), "Type|" + Str(t, "Type"),
                         std::string("Global|") + (Bool(t, "Global") ? "true" : "false"),
                         "Create Time|" + TimeField(t, "CreateTime"),
                         "Expiry Time|" + TimeField(t, "ExpirationTime"),
                         "Create Index|" + std::to_string(Int(t, "CreateIndex")),
                         "Modify Index|" + std::to_string(Int(t, "ModifyIndex")),
                         "Policies|" + (management ? std::string("n/a") : "[" + Join(policies) + "]"),
                         "Roles|" + std::string(management ? "n/a" : "<none>")})
            << "\n";
}

int AclBootstrap(const Command& cmd, const std::vector<std::string>& argv) {
  Simple s;
  s.meta.AddFlags(s.flags, true);
  if (auto code = Start(cmd, argv, s, 0, "")) return *code;
  auto t = s.meta.Post("/v1/acl/bootstrap", "");
  if (!t.ok()) return Fail("Error bootstrapping: " + t.status().message());
  if (s.meta.formatted()) return s.meta.Output(*t);
  PrintToken(*t);
  return 0;
}

int AclToken(const Command& cmd, const std::vector<std::string>& argv, const std::string& verb) {
  Simple s;
  s.meta.AddFlags(s.flags, verb != "delete");
  std::string name, type = verb == "create" ? "client" : "", ttl;
  std::vector<std::string> policies;
  bool global = false;
  if (verb == "create" || verb == "update") {
    s.flags.String("name", &name, "The token's name.");
    s.flags.String("type", &type, verb == "create" ? "client or management (default client)." : "client or management.");
    s.flags.Strings("policy", &policies, verb == "create" ? "A policy of the token (repeatable)."
                                                           : "A policy of the token (repeatable; replaces the token's policies).");
  }
  if (verb == "create") {
    s.flags.Bool("global", &global, "Accepted for Nomad's sake (one region).");
    s.flags.String("ttl", &ttl, "The token's time to live (Go duration).");
  }
  const int want = verb == "info" || verb == "delete" || verb == "update" ? 1 : 0;
  if (auto code = Start(cmd, argv, s, want, "<token_accessor_id>")) return *code;
  if (verb == "list") {
    auto list = s.meta.Get("/v1/acl/tokens");
    if (!list.ok()) return Fail("Error fetching tokens: " + list.status().message());
    if (s.meta.formatted()) return s.meta.Output(*list);
    if (list->as_array().empty()) {
      std::cout << "No tokens found\n";
      return 0;
    }
    std::vector<std::string> rows{"Name|Type|Global|Accessor ID|Expired"};
    for (const json::value& t : list->as_array()) {
      auto exp = ParseRFC3339(Str(t, "ExpirationTime"));
      const bool expired = exp.ok() && !exp->IsZero() && exp->unix_nanos < NowNanos();
      rows.push_back(Str(t, "Name") + "|" + Str(t, "Type") + "|" + (Bool(t, "Global") ? "true" : "false") +
                     "|" + Str(t, "AccessorID") + "|" + (expired ? "true" : "false"));
    }
    std::cout << FormatList(rows) << "\n";
    return 0;
  }
  if (verb == "delete") {
    auto r = s.meta.Delete("/v1/acl/token/" + PercentEncode(s.args[0]));
    if (!r.ok()) return Fail("Error deleting token: " + r.status().message());
    std::cout << "Token " << s.args[0] << " successfully deleted\n";
    return 0;
  }
  Result<json::value> t = json::value();
  if (verb == "create") {
    json::array pol;
    for (const std::string& p : policies) pol.emplace_back(p);
    json::object req{{"Name", name}, {"Type", type}, {"Policies", pol}, {"Global", global}};
    if (!ttl.empty()) {
      auto d = ParseGoDuration(ttl);
      if (!d.ok()) return Fail("Failed to parse TTL as time duration: " + d.status().message());
      req["ExpirationTTL"] = *d;
    }
    t = s.meta.Post("/v1/acl/token", json::serialize(req));
    if (!t.ok()) return Fail("Error creating token: " + t.status().message());
  } else if (verb == "update") {
    // Nomad's: read the token, change what was given, write it back.
    const std::string path = "/v1/acl/token/" + PercentEncode(s.args[0]);
    t = s.meta.Get(path);
    if (!t.ok()) return Fail("Error fetching token: " + t.status().message());
    if (!t->is_object()) return Fail("Error fetching token: not a token");
    json::object& token = t->get_object();
    if (!name.empty()) token["Name"] = name;
    if (!type.empty()) token["Type"] = type;
    if (!policies.empty()) {
      json::array pol;
      for (const std::string& p : policies) pol.emplace_back(p);
      token["Policies"] = std::move(pol);
    }
    t = s.meta.Post(path, json::serialize(token));
    if (!t.ok()) return Fail("Error updating token: " + t.status().message());
  } else {
    t = s.meta.Get(verb == "self" ? "/v1/acl/token/self" : "/v1/acl/token/" + PercentEncode(s.args[0]));
    if (!t.ok()) return Fail("Error fetching token: " + t.status().message());
  }
  if (s.meta.formatted()) return s.meta.Output(*t);
  PrintToken(*t);
  return 0;
}

int AclPolicy(const Command& cmd, const std::vector<std::string>& argv, const std::string& verb) {
  Simple s;
  s.meta.AddFlags(s.flags, verb == "list" || verb == "info");
  std::string description;
  if (verb == "apply") s.flags.String("description", &description, "The policy's description.");
  const int want = verb == "list" ? 0 : verb == "apply" ? 2 : 1;
  if (auto code = Start(cmd, argv, s, want, verb == "apply" ? "<name> <path>" : "<name>")) return *code;
  if (verb == "list") {
    auto list = s.meta.Get("/v1/acl/policies");
    if (!list.ok()) return Fail("Error fetching ACL policies: " + list.status().message());
    if (s.meta.formatted()) return s.meta.Output(*list);
    if (list->as_array().empty()) {
      std::cout << "No policies found\n";
      return 0;
    }
    std::vector<std::string> rows{"Name|Description"};
    for (const json::value& p : list->as_array()) rows.push_back(Str(p, "Name") + "|" + Str(p, "Description"));
    std::cout << FormatList(rows) << "\n";
    return 0;
  }
  const std::string name = s.args[0];
  const std::string path = "/v1/acl/policy/" + PercentEncode(name);
  if (verb == "apply") {
    auto rules = ReadInput(s.args[1], kMaxInputBytes);
    if (!rules.ok()) return Fail("Error reading policy file: " + rules.status().message());
    json::object req{{"Name", name}, {"Description", description}, {"Rules", *rules}};
    auto r = s.meta.Post(path, json::serialize(req));
    if (!r.ok()) return Fail("Error writing ACL policy: " + r.status().message());
    std::cout << "Successfully wrote \"" << name << "\" ACL policy!\n";
    return 0;
  }
  if (verb == "delete") {
    auto r = s.meta.Delete(path);
    if (!r.ok()) return Fail("Error deleting ACL policy: " + r.status().message());
    std::cout << "Successfully deleted \"" << name << "\" ACL policy!\n";
    return 0;
  }
  auto p = s.meta.Get(path);
  if (!p.ok()) return Fail("Error fetching ACL policy: " + p.status().message());
  if (s.meta.formatted()) return s.meta.Output(*p);
  std::cout << FormatKV({"Name|" + Str(*p, "Name"), "Description|" + Str(*p, "Description"),
                         "CreateIndex|" + std::to_string(Int(*p, "CreateIndex")),
                         "ModifyIndex|" + std::to_string(Int(*p, "ModifyIndex"))})
            << "\n\n" << s.meta.Bold("Rules") << "\n\n" << Str(*p, "Rules") << "\n";
  return 0;
}

// ---- operator metrics ----------------------------------------------------------

int OperatorMetrics(const Command& cmd, const std::vector<std::string>& argv) {
  Simple s;
  s.meta.AddFlags(s.flags, true);
  std::string format;
  bool pretty = false;
  s.flags.String("format", &format, "prometheus for the Prometheus text form (needs telemetry.prometheus_metrics).");
  s.flags.Bool("pretty", &pretty, "Indent the JSON.");
  if (auto code = Start(cmd, argv, s, 0, "")) return *code;
  if (format == "prometheus") {
    auto r = s.meta.Raw("GET", "/v1/metrics?format=prometheus", "");
    if (!r.ok()) return Fail("Error getting metrics: " + r.status().message());
    if (r->status != 200) return Fail("Error getting metrics: Unexpected response code: " + std::to_string(r->status) + " (" + r->body + ")");
    std::cout << r->body;
    return 0;
  }
  if (!format.empty()) return Fail("Invalid format \"" + format + "\": only prometheus is supported");
  auto m = s.meta.Get("/v1/metrics");
  if (!m.ok()) return Fail("Error getting metrics: " + m.status().message());
  if (!s.meta.tmpl().empty()) return s.meta.Output(*m);
  std::cout << (pretty || s.meta.json() ? IndentJson(*m) : json::serialize(*m)) << "\n";
  return 0;
}

// ---- var ---------------------------------------------------------------------

std::string VarPath(const std::string& path) {
  std::string out;
  for (std::size_t start = 0;;) {  // each segment encoded, slashes kept
    const auto slash = path.find('/', start);
    out += PercentEncode(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    out += "/";
    start = slash + 1;
  }
  return out;
}

void PrintVariable(Meta& meta, const json::value& v) {
  std::cout << FormatKV({"Namespace|" + Str(v, "Namespace"), "Path|" + Str(v, "Path"),
                         "Create Time|" + FormatUnixNano(Int(v, "CreateTime")),
                         "Check Index|" + std::to_string(Int(v, "ModifyIndex"))})
            << "\n\n" << meta.Bold("Items") << "\n";
  std::vector<std::string> rows;
  if (const json::value* items = v.is_object() ? v.get_object().if_contains("Items") : nullptr;
      items && items->is_object()) {
    for (const auto& kv : items->get_object()) rows.push_back(std::string(kv.key()) + "|" + Str(*items, kv.key().data()));
  }
  std::sort(rows.begin(), rows.end());
  std::cout << FormatKV(rows) << "\n";
}

// var put: [@spec | -] or <path> [@spec | -], then key=value items. A
// specification is a JSON variable (Path, Items, ModifyIndex); an item's
// value "@file" is that file's bytes and "-" stdin's, taken as they are.
// Arguments override the specification, as in Nomad's var put.
int VarPut(const Command& cmd, Simple& s, std::int64_t check_index, bool force) {
  auto is_spec = [](const std::string& a) { return a == "-" || (a.size() > 1 && a[0] == '@' && a.find('=') == std::string::npos); };
  bool stdin_used = false;
  auto read = [&](const std::string& ref) -> Result<std::string> {
    if (ref == "-") {
      if (stdin_used) return InvalidArgument("only one specification or item can be read from stdin");
      stdin_used = true;
      return ReadInput("-", kMaxInputBytes);
    }
    return ReadInput(ref.substr(1), kMaxInputBytes);
  };
  std::string path;
  json::object items;
  std::int64_t spec_index = -1;
  std::size_t next = 0;
  if (!is_spec(s.args[0])) path = s.args[next++];
  if (next < s.args.size() && is_spec(s.args[next])) {
    const std::string ref = s.args[next++];
    if (ref.size() > 4 && ref.compare(ref.size() - 4, 4, ".hcl") == 0) {
      return Fail("Error parsing variable specification: HCL specifications are not supported; use JSON");
    }
    auto text = read(ref);
    if (!text.ok()) return Fail("Error reading variable specification: " + text.status().message());
    boost::system::error_code ec;
    json::value spec = json::parse(*text, ec);
    if (ec || !spec.is_object()) return Fail("Error parsing variable specification: not a JSON object");
    if (path.empty()) path = Str(spec, "Path");
    if (const json::value* mi = spec.get_object().if_contains("ModifyIndex"); mi && mi->is_number()) {
      spec_index = Int(spec, "ModifyIndex");
    }
    if (const json::value* it = spec.get_object().if_contains("Items")) {
      if (!it->is_object()) return Fail("Error parsing variable specification: Items must be an object of strings");
      for (const auto& kv : it->get_object()) {
        if (!kv.value().is_string()) return Fail("Error parsing variable specification: item \"" + std::string(kv.key()) + "\" is not a string");
        items[kv.key()] = kv.value();
      }
    }
  }
  if (path.empty()) return Fail("Error parsing variable specification: no path given");
  for (; next < s.args.size(); ++next) {
    const std::string& arg = s.args[next];
    const auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) return Fail("Error parsing item " + arg + ": not key=value");
    std::string value = arg.substr(eq + 1);
    if (value == "-" || (value.size() > 1 && value[0] == '@')) {
      auto bytes = read(value);
      if (!bytes.ok()) return Fail("Error reading item " + arg.substr(0, eq) + ": " + bytes.status().message());
      value = std::move(*bytes);
    }
    items[arg.substr(0, eq)] = value;
  }
  if (items.empty()) return UsageError(cmd.name, "This command takes a path and at least one key=value item");
  const std::int64_t cas = force ? -1 : check_index >= 0 ? check_index : spec_index;
  const std::string url = "/v1/var/" + VarPath(path) + (cas >= 0 ? "?cas=" + std::to_string(cas) : "");
  json::object req{{"Namespace", s.meta.ns().empty() ? "default" : s.meta.ns()}, {"Path", path}, {"Items", items}};
  auto r = s.meta.Put(url, json::serialize(req));
  if (!r.ok()) return Fail("Error creating variable: " + r.status().message());
  if (s.meta.formatted()) return s.meta.Output(*r);
  std::cout << "Created variable \"" << path << "\" with modify index " << Int(*r, "ModifyIndex") << "\n";
  return 0;
}

int Var(const Command& cmd, const std::vector<std::string>& argv, const std::string& verb) {
  Simple s;
  s.meta.AddFlags(s.flags, verb != "purge");
  std::string item;
  std::int64_t check_index = -1;
  if (verb == "get") s.flags.String("item", &item, "Print only the value of this item.");
  if (verb == "put" || verb == "purge") s.flags.Int("check-index", &check_index, "Write only if the variable's modify index is this (0: only if it does not exist).");
  bool force = false;
  if (verb == "put") s.flags.Bool("force", &force, "Write whatever the variable's modify index (ignores a specification's ModifyIndex).");
  const int want = verb == "put" || verb == "list" ? -1 : 1;
  if (auto code = Start(cmd, argv, s, want, "<path>")) return *code;
  if (verb == "list") {
    if (s.args.size() > 1) return UsageError(cmd.name, "This command takes flags and either no arguments or one: <prefix>");
    auto list = s.meta.Get("/v1/vars" + (s.args.empty() ? std::string() : "?prefix=" + PercentEncode(s.args[0])));
    if (!list.ok()) return Fail("Error retrieving variable list: " + list.status().message());
    if (s.meta.formatted()) return s.meta.Output(*list);
    if (list->as_array().empty()) {
      std::cout << "No matching variables found\n";
      return 0;
    }
    std::vector<std::string> rows{"Namespace|Path|Last Updated"};
    for (const json::value& v : list->as_array()) {
      rows.push_back(Str(v, "Namespace") + "|" + Str(v, "Path") + "|" + FormatUnixNano(Int(v, "ModifyTime")));
    }
    std::cout << FormatList(rows) << "\n";
    return 0;
  }
  if (s.args.empty()) return UsageError(cmd.name, "This command takes at least one argument: <path>");
  if (verb == "put") return VarPut(cmd, s, check_index, force);
  const std::string path = s.args[0];
  const std::string url = "/v1/var/" + VarPath(path) +
                          (check_index >= 0 ? "?cas=" + std::to_string(check_index) : "");
  if (verb == "get") {
    auto v = s.meta.Get(url);
    if (!v.ok()) {
      if (v.status().code() == StatusCode::kNotFound) return Fail("Variable not found");
      return Fail("Error retrieving variable: " + v.status().message());
    }
    if (!item.empty()) {
      const json::value* items = v->get_object().if_contains("Items");
      if (items == nullptr || !items->is_object() || !items->get_object().contains(item)) {
        return Fail("Variable does not contain \"" + item + "\" item");
      }
      std::cout << Str(*items, item.c_str()) << "\n";
      return 0;
    }
    if (s.meta.formatted()) return s.meta.Output(*v);
    PrintVariable(s.meta, *v);
    return 0;
  }
  if (verb == "purge") {
    auto r = s.meta.Delete(url);
    if (!r.ok()) return Fail("Error purging variable: " + r.status().message());
    std::cout << "Successfully purged variable \"" << path << "\"!\n";
  }
  return 0;
}

}  // namespace

void AddOtherCommands(std::vector<Command>& out) {
  out.push_back({"status", "Display the status output for a resource",
                 "Usage: drover status [options] <identifier>\n\n"
                 "  Without an identifier: the jobs. With one: the job, allocation or node\n"
                 "  it names (an ID or a prefix), as the matching status command shows it.\n\n"
                 "Examples:\n\n  drover status\n  drover status demo\n  drover status 8a1b",
                 GeneralStatus});
  out.push_back({"event stream", "Stream events from the agent",
                 "Usage: drover event stream [options]\n\n"
                 "  Follows /v1/event/stream: each batch of events as one JSON line.\n\n"
                 "Examples:\n\n  drover event stream\n  drover event stream -topic Allocation -topic Job:demo\n"
                 "  drover event stream -index 0 -pretty",
                 EventStream});
  out.push_back({"acl bootstrap", "Bootstrap the ACL system for initial token",
                 "Usage: drover acl bootstrap [options]\n\n  Creates the first management token and prints it.\n\n"
                 "Examples:\n\n  drover acl bootstrap\n  drover acl bootstrap -t '{{ .SecretID }}'",
                 AclBootstrap});
  for (const char* verb : {"list", "create", "info", "update", "delete", "self"}) {
    const std::string v = verb;
    const std::string usage = v == "info" || v == "delete" || v == "update" ? " <token_accessor_id>" : "";
    out.push_back({"acl token " + v,
                   v == "list" ? "List ACL tokens" : v == "create" ? "Create a new ACL token"
                   : v == "update" ? "Update an existing ACL token"
                   : v == "info" ? "Fetch information on an existing ACL token"
                   : v == "delete" ? "Delete an existing ACL token" : "Lookup self ACL token",
                   "Usage: drover acl token " + v + " [options]" + usage + "\n\nExamples:\n\n  drover acl token " + v +
                       (v == "create" ? " -name dashboard -policy readonly"
                        : v == "update" ? " -policy readonly -policy logs 1a2b3c4d-..."
                        : usage.empty() ? "" : " 1a2b3c4d-..."),
                   [v](const Command& c, const std::vector<std::string>& a) { return AclToken(c, a, v); }});
  }
  for (const char* verb : {"list", "apply", "info", "delete"}) {
    const std::string v = verb;
    const std::string usage = v == "apply" ? " <name> <path>" : v == "list" ? "" : " <name>";
    out.push_back({"acl policy " + v,
                   v == "list" ? "List ACL policies" : v == "apply" ? "Create or update an ACL policy"
                   : v == "info" ? "Fetch info on an existing ACL policy" : "Delete an existing ACL policy",
                   "Usage: drover acl policy " + v + " [options]" + usage + "\n\nExamples:\n\n  drover acl policy " + v +
                       (v == "apply" ? " -description 'Read only' readonly readonly.hcl" : v == "list" ? "" : " readonly"),
                   [v](const Command& c, const std::vector<std::string>& a) { return AclPolicy(c, a, v); }});
  }
  out.push_back({"operator metrics", "Retrieve agent metrics",
                 "Usage: drover operator metrics [options]\n\n"
                 "  The agent's metrics (go-metrics JSON, or -format prometheus).\n\n"
                 "Examples:\n\n  drover operator metrics -pretty\n  drover operator metrics -format prometheus",
                 OperatorMetrics});
  for (const char* verb : {"get", "put", "list", "purge"}) {
    const std::string v = verb;
    const std::string usage = v == "put" ? " [<path>] [@<spec.json> | -] [<key>=<value>]..." : v == "list" ? " [<prefix>]" : " <path>";
    out.push_back({"var " + v,
                   v == "get" ? "Read a variable" : v == "put" ? "Create or update a variable"
                   : v == "list" ? "List variable metadata" : "Purge a variable",
                   "Usage: drover var " + v + " [options]" + usage + "\n\nExamples:\n\n  drover var " + v +
                       (v == "put" ? " nomad/jobs/demo greeting=hello\n  drover var put nomad/jobs/demo cert=@server.pem\n  drover var put @spec.json" : v == "list" ? " nomad/jobs" : " nomad/jobs/demo"),
                   [v](const Command& c, const std::vector<std::string>& a) { return Var(c, a, v); }});
  }
}

}  // namespace drover::cli
