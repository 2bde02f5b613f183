#include "service/acl_policy.h"

#include <boost/json.hpp>

#include <algorithm>
#include <climits>

#include "hcl/hcl.h"

namespace drover {
namespace {

namespace json = boost::json;

// ---- Capabilities and shorthands (Nomad's acl/policy.go) -------------------

const std::set<std::string, std::less<>>& NamespaceCapabilities() {
  static const std::set<std::string, std::less<>> kCaps = {
      "deny", "list-jobs", "parse-job", "read-job", "submit-job", "dispatch-job", "read-logs",
      "read-fs", "alloc-exec", "alloc-node-exec", "alloc-lifecycle", "sentinel-override",
      "csi-register-plugin", "csi-write-volume", "csi-read-volume", "csi-list-volume",
      "csi-mount-volume", "host-volume-create", "host-volume-register", "host-volume-read",
      "host-volume-write", "host-volume-delete", "list-scaling-policies",
      "read-scaling-policy", "read-job-scaling", "scale-job", "submit-recommendation",
      "register-job", "revert-job", "deregister-job", "purge-job", "evaluate-job", "plan-job",
      "tag-job-version", "stable-job", "fail-deployment", "pause-deployment",
      "promote-deployment", "unblock-deployment", "cancel-deployment",
      "set-alloc-health-deployment", "gc-allocation", "pause-allocation",
      "force-periodic-job", "delete-service-registration"};
  return kCaps;
}

bool IsPolicyLevel(std::string_view p) {
  return p == "deny" || p == "read" || p == "write" || p == "scale";
}

std::vector<std::string> ExpandNamespacePolicy(std::string_view policy) {
  std::vector<std::string> read = {"list-jobs",         "parse-job",
                                   "read-job",          "csi-list-volume",
                                   "csi-read-volume",   "read-job-scaling",
                                   "list-scaling-policies", "read-scaling-policy",
                                   "host-volume-read"};
  if (policy == "deny") return {"deny"};
  if (policy == "read") return read;
  if (policy == "write") {
    for (const char* c : {"scale-job", "submit-job", "dispatch-job", "read-logs", "read-fs",
                          "alloc-exec", "alloc-lifecycle", "csi-mount-volume",
                          "csi-write-volume", "submit-recommendation", "host-volume-create"}) {
      read.emplace_back(c);
    }
    return read;
  }
  if (policy == "scale") {
    return {"list-scaling-policies", "read-scaling-policy", "read-job-scaling", "scale-job",
            "read-job", "submit-recommendation"};
  }
  return {};
}

// The host volume capabilities that imply others.
void ExpandHostVolumeImplied(std::vector<std::string>& caps) {
  std::vector<std::string> extra;
  for (const std::string& c : caps) {
    if (c == "host-volume-write") {
      extra.insert(extra.end(), {"host-volume-register", "host-volume-create",
                                 "host-volume-delete", "host-volume-read"});
    } else if (c == "host-volume-register") {
      extra.insert(extra.end(), {"host-volume-create", "host-volume-read"});
    } else if (c == "host-volume-create") {
      extra.emplace_back("host-volume-read");
    }
  }
  caps.insert(caps.end(), extra.begin(), extra.end());
}

std::vector<std::string> ExpandHostVolumePolicy(std::string_view policy) {
  if (policy == "deny") return {"deny"};
  if (policy == "read") return {"mount-readonly"};
  if (policy == "write") return {"mount-readonly", "mount-readwrite"};
  return {};
}

std::vector<std::string> ExpandOperatorPolicy(std::string_view policy) {
  if (policy == "deny") return {"deny"};
  if (policy == "read") return {"license-read", "keyring-read"};
  if (policy == "write") {
    return {"snapshot-save", "license-read", "keyring-rotate", "keyring-read", "keyring-delete"};
  }
  return {};
}

bool ValidName(std::string_view name, bool allow_underscore) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '*' || (allow_underscore && c == '_');
  });
}

// ---- The rules as blocks, whatever syntax they came in ----------------------

struct RuleBlock {
  std::string type;
  std::string label;  // the block's one label, for namespace/host_volume/node_pool
  std::map<std::string, json::value> attrs;
  // A namespace's `variables` block: each path spec with its
  // `capabilities` value (null when absent), in order.
  std::optional<std::vector<std::pair<std::string, json::value>>> variables;
};

// The JSON form of a `variables` block: {"path": {"<spec>": {"capabilities":
// [...]}}}, where each level may also be a list of such objects.
Status VariablesFromJson(const json::value& v, RuleBlock& block) {
  auto& paths = block.variables.emplace();
  auto items = [](const json::value& x) {
    std::vector<const json::object*> out;
    if (x.is_object()) out.push_back(&x.get_object());
    if (x.is_array()) {
      for (const json::value& e : x.get_array()) {
        if (e.is_object()) out.push_back(&e.get_object());
      }
    }
    return out;
  };
  for (const json::object* vars : items(v)) {
    for (const auto& kv : *vars) {
      if (kv.key() != "path") {
        return InvalidArgument("Failed to parse ACL Policy: unknown key \"" +
                               std::string(kv.key()) + "\" in variables");
      }
      for (const json::object* specs : items(kv.value())) {
        for (const auto& spec : *specs) {
          json::value caps = nullptr;
          for (const json::object* body : items(spec.value())) {
            for (const auto& attr : *body) {
              if (attr.key() != "capabilities") {
                return InvalidArgument("Failed to parse ACL Policy: unknown key \"" +
                                       std::string(attr.key()) + "\" in path");
              }
              caps = attr.value();
            }
          }
          paths.emplace_back(std::string(spec.key()), std::move(caps));
        }
      }
    }
  }
  return Status::Ok();
}

bool Labelled(std::string_view type) {
  return type == "namespace" || type == "host_volume" || type == "node_pool";
}

bool Unlabelled(std::string_view type) {
  return type == "agent" || type == "node" || type == "operator" || type == "quota" ||
         type == "plugin" || type == "sentinel";
}

Status BodyFromJson(const json::value& v, RuleBlock& block) {
  if (!v.is_object()) {
    return InvalidArgument("Failed to parse ACL Policy: " + block.type + " must be an object");
  }
  for (const auto& kv : v.get_object()) {
    std::string key(kv.key());
    if (key == "variables" && block.type == "namespace") {
      RETURN_IF_ERROR(VariablesFromJson(kv.value(), block));
      continue;
    }
    if (key != "policy" && key != "capabilities") {
      return InvalidArgument("Failed to parse ACL Policy: unknown key \"" + key + "\" in " +
                             block.type);
    }
    if (!block.attrs.emplace(key, kv.value()).second) {
      return InvalidArgument("Failed to parse ACL Policy: duplicate key \"" + key + "\"");
    }
  }
  return Status::Ok();
}

// The JSON form: {"namespace": {"<name>": {...}} or [{"<name>": {...}}, ...],
// "agent": {...} or [{...}], ...}.
Result<std::vector<RuleBlock>> BlocksFromJson(const json::value& doc) {
  if (!doc.is_object()) return InvalidArgument("Failed to parse ACL Policy: not an object");
  std::vector<RuleBlock> blocks;
  std::vector<std::string> extra;
  for (const auto& kv : doc.get_object()) {
    std::string type(kv.key());
    if (!Labelled(type) && !Unlabelled(type)) {
      extra.push_back(type);
      continue;
    }
    std::vector<const json::value*> items;
    if (kv.value().is_array()) {
      for (const json::value& item : kv.value().get_array()) items.push_back(&item);
    } else {
      items.push_back(&kv.value());
    }
    for (const json::value* item : items) {
      if (Unlabelled(type)) {
        RuleBlock b{type};
        RETURN_IF_ERROR(BodyFromJson(*item, b));
        blocks.push_back(std::move(b));
        continue;
      }
      if (!item->is_object()) {
        return InvalidArgument("Failed to parse ACL Policy: " + type + " must be an object");
      }
      for (const auto& labelled : item->get_object()) {
        RuleBlock b{type, std::string(labelled.key())};
        RETURN_IF_ERROR(BodyFromJson(labelled.value(), b));
        blocks.push_back(std::move(b));
      }
    }
  }
  if (!extra.empty()) {
    std::string joined;
    for (const auto& e : extra) joined += (joined.empty() ? "" : ", ") + e;
    return InvalidArgument("Invalid or duplicate policy keys: " + joined);
  }
  return blocks;
}

// The HCL form: `namespace "default" { policy = "read" }`, `node { ... }`.
Result<std::vector<RuleBlock>> BlocksFromHcl(const hcl::Block& file) {
  std::vector<std::string> extra;
  for (const hcl::Attribute& a : file.attributes) extra.push_back(a.name);
  std::vector<RuleBlock> blocks;
  for (const hcl::Block& b : file.blocks) {
    const std::size_t want = Labelled(b.type) ? 1 : Unlabelled(b.type) ? 0 : SIZE_MAX;
    if (want == SIZE_MAX) {
      extra.push_back(b.type);
      continue;
    }
    std::string where = hcl::FormatPos("policy", b.pos);
    if (b.labels.size() != want) {
      return InvalidArgument("Failed to parse ACL Policy: " + where + ": " + b.type +
                             (want == 1 ? " needs one label" : " takes no label"));
    }
    RuleBlock rb{b.type, want == 1 ? b.labels[0] : ""};
    for (const hcl::Attribute& a : b.attributes) {
      if (a.name != "policy" && a.name != "capabilities") {
        return InvalidArgument("Failed to parse ACL Policy: " + hcl::FormatPos("policy", a.pos) +
                               ": unknown key \"" + a.name + "\" in " + b.type);
      }
      rb.attrs.emplace(a.name, a.value);
    }
    for (const hcl::Block& inner : b.blocks) {
      if (inner.type == "variables" && b.type == "namespace" && inner.labels.empty()) {
        auto& paths = rb.variables.emplace();
        for (const hcl::Block& path : inner.blocks) {
          if (path.type != "path" || path.labels.size() > 1) {
            return InvalidArgument("Failed to parse ACL Policy: " +
                                   hcl::FormatPos("policy", path.pos) + ": unknown block \"" +
                                   path.type + "\" in variables");
          }
          const hcl::Attribute* caps = path.Find("capabilities");
          paths.emplace_back(path.labels.empty() ? "" : path.labels[0],
                             caps != nullptr ? caps->value : json::value(nullptr));
        }
        continue;
      }
      return InvalidArgument("Failed to parse ACL Policy: " + hcl::FormatPos("policy", inner.pos) +
                             ": unknown block \"" + inner.type + "\" in " + b.type);
    }
    blocks.push_back(std::move(rb));
  }
  if (!extra.empty()) {
    std::string joined;
    for (const auto& e : extra) joined += (joined.empty() ? "" : ", ") + e;
    return InvalidArgument("Invalid or duplicate policy keys: " + joined);
  }
  return blocks;
}

Result<std::string> StringAttr(const RuleBlock& b, const char* name) {
  auto it = b.attrs.find(name);
  if (it == b.attrs.end()) return std::string();
  if (!it->second.is_string()) {
    return InvalidArgument("Failed to parse ACL Policy: " + b.type + "." + name +
                           " must be a string");
  }
  return std::string(it->second.get_string());
}

Result<std::vector<std::string>> ListAttr(const RuleBlock& b, const char* name) {
  std::vector<std::string> out;
  auto it = b.attrs.find(name);
  if (it == b.attrs.end()) return out;
  if (!it->second.is_array()) {
    return InvalidArgument("Failed to parse ACL Policy: " + b.type + "." + name +
                           " must be a list of strings");
  }
  for (const json::value& v : it->second.get_array()) {
    if (!v.is_string()) {
      return InvalidArgument("Failed to parse ACL Policy: " + b.type + "." + name +
                             " must be a list of strings");
    }
    out.emplace_back(v.get_string());
  }
  return out;
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Nomad's checks of a namespace's variables block (acl/policy.go).
Result<std::vector<VariablePathRule>> VariableRules(const RuleBlock& b) {
  if (b.variables->empty()) {
    return InvalidArgument("Invalid variable policy: no variable paths in namespace " + b.label);
  }
  std::vector<VariablePathRule> out;
  for (const auto& [spec, value] : *b.variables) {
    if (spec.empty()) {
      return InvalidArgument("Invalid missing variable path in namespace " + b.label);
    }
    if (spec.front() == '/') {
      return InvalidArgument("Invalid variable path " + Quote(spec) + " in namespace " + b.label +
                             ": cannot start with a leading '/'`");
    }
    VariablePathRule rule{spec, {}};
    if (!value.is_null()) {
      if (!value.is_array()) {
        return InvalidArgument("Failed to parse ACL Policy: variables path " + Quote(spec) +
                               ": capabilities must be a list of strings");
      }
      for (const json::value& c : value.get_array()) {
        std::string cap = c.is_string() ? std::string(c.get_string()) : "";
        if (cap != "read" && cap != "write" && cap != "list" && cap != "destroy" &&
            cap != "deny") {
          return InvalidArgument("Invalid variable capability '" + cap + "' in namespace " +
                                 b.label);
        }
        rule.capabilities.push_back(cap);
      }
    }
    // Nomad's expandVariablesCapabilities: deny alone, read implies list.
    auto& caps = rule.capabilities;
    if (std::find(caps.begin(), caps.end(), "deny") != caps.end()) {
      caps = {"deny"};
    } else if (std::find(caps.begin(), caps.end(), "read") != caps.end() &&
               std::find(caps.begin(), caps.end(), "list") == caps.end()) {
      caps.push_back("list");
    }
    out.push_back(std::move(rule));
  }
  return out;
}

Result<PolicyRules> RulesFromBlocks(const std::vector<RuleBlock>& blocks) {
  PolicyRules rules;
  bool any = false;
  for (const RuleBlock& b : blocks) {
    any = true;
    ASSIGN_OR_RETURN(std::string policy, StringAttr(b, "policy"));
    ASSIGN_OR_RETURN(std::vector<std::string> caps, ListAttr(b, "capabilities"));
    if (b.type == "namespace") {
      if (!ValidName(b.label, false)) {
        return InvalidArgument("Invalid namespace name: " + Quote(b.label));
      }
      if (!policy.empty() && !IsPolicyLevel(policy)) {
        return InvalidArgument("Invalid namespace policy: " + Quote(policy) + " in namespace " +
                               Quote(b.label));
      }
      for (const std::string& c : caps) {
        if (!NamespaceCapabilities().contains(c)) {
          return InvalidArgument("Invalid namespace capability '" + c + "' in namespace " +
                                 Quote(b.label));
        }
      }
      if (!policy.empty()) {
        std::vector<std::string> more = ExpandNamespacePolicy(policy);
        caps.insert(caps.end(), more.begin(), more.end());
      }
      ExpandHostVolumeImplied(caps);
      std::optional<std::vector<VariablePathRule>> vars;
      if (b.variables) {
        ASSIGN_OR_RETURN(vars, VariableRules(b));
      }
      rules.namespaces.push_back({b.label, policy, std::move(caps), std::move(vars)});
    } else if (b.type == "host_volume") {
      if (!ValidName(b.label, false)) {
        return InvalidArgument("Invalid host volume name: " + Quote(b.label));
      }
      if (!policy.empty() && !IsPolicyLevel(policy)) {
        return InvalidArgument("Invalid host volume policy: " + Quote(policy));
      }
      for (const std::string& c : caps) {
        if (c != "deny" && c != "mount-readonly" && c != "mount-readwrite") {
          return InvalidArgument("Invalid host volume capability '" + c + "'");
        }
      }
      std::vector<std::string> more = ExpandHostVolumePolicy(policy);
      caps.insert(caps.end(), more.begin(), more.end());
      rules.host_volumes.push_back({b.label, policy, std::move(caps)});
    } else if (b.type == "node_pool") {
      if (!ValidName(b.label, true)) {
        return InvalidArgument("Invalid node pool name '" + b.label + "'");
      }
      if (!policy.empty() && !IsPolicyLevel(policy)) {
        return InvalidArgument("Invalid node pool policy '" + policy + "' for '" + b.label + "'");
      }
    } else if (b.type == "operator") {
      if (!policy.empty() && !IsPolicyLevel(policy)) {
        return InvalidArgument("Invalid operator policy: " + Quote(policy));
      }
      for (const std::string& c : caps) {
        static const std::set<std::string, std::less<>> kOperatorCaps = {
            "deny", "snapshot-save", "license-read", "keyring-rotate", "keyring-read",
            "keyring-delete"};
        if (!kOperatorCaps.contains(c)) {
          return InvalidArgument("Invalid operator capability '" + c + "'");
        }
      }
      std::vector<std::string> more = ExpandOperatorPolicy(policy);
      caps.insert(caps.end(), more.begin(), more.end());
      rules.operator_policy = policy;
      rules.operator_capabilities = std::move(caps);
    } else if (b.type == "plugin") {
      if (policy != "deny" && policy != "read" && policy != "list" && policy != "write") {
        return InvalidArgument("Invalid plugin policy: " + Quote(policy));
      }
      rules.plugin = policy;
    } else {  // agent, node, quota, sentinel: a policy level only
      if (!IsPolicyLevel(policy)) {
        return InvalidArgument("Invalid " + b.type + " policy: " + Quote(policy));
      }
      if (b.type == "agent") rules.agent = policy;
      if (b.type == "node") rules.node = policy;
      if (b.type == "quota") rules.quota = policy;
    }
  }
  if (!any) return InvalidArgument("Invalid policy: no rules");
  return rules;
}

}  // namespace

Result<PolicyRules> ParsePolicyRules(std::string_view text) {
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return InvalidArgument("Invalid policy: empty rules");
  if (text[first] != '{') {
    auto file = hcl::Parse(text, "policy");
    if (!file.ok()) return InvalidArgument("Failed to parse ACL Policy: " + file.status().message());
    ASSIGN_OR_RETURN(std::vector<RuleBlock> blocks, BlocksFromHcl(*file));
    return RulesFromBlocks(blocks);
  }
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 32;
  json::value doc = json::parse(text, ec, {}, opts);
  if (ec) return InvalidArgument("Failed to parse ACL Policy: " + ec.message());
  ASSIGN_OR_RETURN(std::vector<RuleBlock> blocks, BlocksFromJson(doc));
  return RulesFromBlocks(blocks);
}

json::value PolicyRulesJson(const PolicyRules& rules) {
  json::object out;
  auto caps_json = [](const std::vector<std::string>& caps) {
    json::array a;
    for (const auto& c : caps) a.emplace_back(c);
    return a;
  };
  if (!rules.namespaces.empty()) {
    json::array ns;
    for (const auto& n : rules.namespaces) {
      json::value vars = nullptr;
      if (n.variables) {
        json::array paths;
        for (const auto& p : *n.variables) {
          paths.push_back(
              json::object{{"PathSpec", p.path}, {"Capabilities", caps_json(p.capabilities)}});
        }
        vars = json::object{{"Paths", std::move(paths)}};
      }
      ns.push_back(json::object{{"Name", n.name},
                                {"Policy", n.policy},
                                {"Capabilities", caps_json(n.capabilities)},
                                {"Variables", std::move(vars)}});
    }
    out["Namespaces"] = std::move(ns);
  }
  if (!rules.host_volumes.empty()) {
    json::array hv;
    for (const auto& h : rules.host_volumes) {
      hv.push_back(json::object{
          {"Name", h.name}, {"Policy", h.policy}, {"Capabilities", caps_json(h.capabilities)}});
    }
    out["HostVolumes"] = std::move(hv);
  }
  auto level = [&](const char* key, const std::string& policy) {
    if (!policy.empty()) out[key] = json::object{{"Policy", policy}};
  };
  level("Agent", rules.agent);
  level("Node", rules.node);
  level("Quota", rules.quota);
  level("Plugin", rules.plugin);
  if (!rules.operator_policy.empty() || !rules.operator_capabilities.empty()) {
    out["Operator"] = json::object{{"Policy", rules.operator_policy},
                                   {"Capabilities", caps_json(rules.operator_capabilities)}};
  }
  return out;
}

// ---- Acl --------------------------------------------------------------------

namespace {

std::string MaxPrivilege(const std::string& a, const std::string& b) {
  for (const char* level : {"deny", "write", "read", "list"}) {
    if (a == level || b == level) return level;
  }
  return "";
}

}  // namespace

std::shared_ptr<const Acl> Acl::Management() {
  static const std::shared_ptr<const Acl> kManagement = [] {
    auto acl = std::make_shared<Acl>();
    acl->management_ = true;
    return acl;
  }();
  return kManagement;
}

std::shared_ptr<const Acl> Acl::FromPolicies(const std::vector<PolicyRules>& policies) {
  auto acl = std::make_shared<Acl>();
  for (const PolicyRules& p : policies) {
    for (const NamespaceRule& ns : p.namespaces) {
      const bool ns_glob = ns.name.find('*') != std::string::npos;
      for (const VariablePathRule& v : ns.variables.value_or(std::vector<VariablePathRule>{})) {
        auto& vtable = ns_glob || v.path.find('*') != std::string::npos
                           ? acl->wildcard_variables_
                           : acl->variables_;
        CapabilitySet& vcaps = vtable[ns.name + '\0' + v.path];
        for (const std::string& c : v.capabilities) vcaps.insert(c);
      }
      auto& table = ns_glob ? acl->wildcard_namespaces_ : acl->namespaces_;
      CapabilitySet& caps = table[ns.name];
      if (caps.contains("deny")) continue;
      for (const std::string& c : ns.capabilities) {
        if (c == "deny") {
          caps = {"deny"};
          break;
        }
        caps.insert(c);
      }
    }
    if (!p.agent.empty()) acl->agent_ = MaxPrivilege(acl->agent_, p.agent);
    if (!p.node.empty()) acl->node_ = MaxPrivilege(acl->node_, p.node);
    if (!p.operator_policy.empty()) {
      acl->operator_ = MaxPrivilege(acl->operator_, p.operator_policy);
    }
  }
  return acl;
}

const Acl::CapabilitySet* Acl::Match(std::string_view ns) const {
  return Closest(namespaces_, wildcard_namespaces_, ns);
}

const Acl::CapabilitySet* Acl::Closest(const CapabilityMap& exact, const CapabilityMap& globs,
                                       std::string_view name) {
  if (auto it = exact.find(name); it != exact.end()) return &it->second;
  // Among matching globs the closest wins: the fewest characters left to
  // the wildcards (Nomad's findClosestMatchingGlob).
  const CapabilitySet* best = nullptr;
  long best_diff = LONG_MAX;
  for (const auto& [pattern, caps] : globs) {
    if (!GlobMatch(pattern, name)) continue;
    long diff = static_cast<long>(name.size()) - static_cast<long>(pattern.size()) +
                static_cast<long>(std::count(pattern.begin(), pattern.end(), '*'));
    if (diff < best_diff) {
      best_diff = diff;
      best = &caps;
    }
  }
  return best;
}

bool Acl::AllowVariableOperation(std::string_view ns, std::string_view path,
                                 std::string_view op) const {
  if (management_) return true;
  std::string key(ns);
  key.push_back('\0');
  key.append(path);
  const CapabilitySet* caps = Closest(variables_, wildcard_variables_, key);
  return caps != nullptr && !caps->contains("deny") && caps->contains(op);
}

bool Acl::AllowVariableSearch(std::string_view ns) const {
  if (management_) return true;
  for (const CapabilityMap* table : {&variables_, &wildcard_variables_}) {
    for (const auto& [key, caps] : *table) {
      if (caps.empty() || caps.contains("deny")) continue;
      std::string_view rule_ns = std::string_view(key).substr(0, key.find('\0'));
      if (ns == "*" || GlobMatch(rule_ns, ns)) return true;
    }
  }
  return false;
}

bool Acl::AllowNamespaceOp(std::string_view ns, std::string_view capability) const {
  if (management_) return true;
  const CapabilitySet* caps = Match(ns);
  return caps != nullptr && caps->contains(capability);
}

bool Acl::AllowNamespace(std::string_view ns) const {
  if (management_) return true;
  const CapabilitySet* caps = Match(ns);
  return caps != nullptr && !caps->empty() && !caps->contains("deny");
}

bool GlobMatch(std::string_view pattern, std::string_view subject) {
  if (pattern == "*") return true;
  std::size_t star = pattern.find('*');
  if (star == std::string_view::npos) return pattern == subject;
  // Split on '*': the first part is a prefix, the last a suffix, the ones
  // between must appear in order.
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    std::size_t next = pattern.find('*', start);
    parts.push_back(pattern.substr(start, next == std::string_view::npos ? next : next - start));
    if (next == std::string_view::npos) break;
    start = next + 1;
  }
  if (subject.substr(0, parts.front().size()) != parts.front()) return false;
  std::size_t pos = parts.front().size();
  for (std::size_t i = 1; i + 1 < parts.size(); ++i) {
    std::size_t found = subject.find(parts[i], pos);
    if (found == std::string_view::npos) return false;
    pos = found + parts[i].size();
  }
  std::string_view last = parts.back();
  return subject.size() >= pos + last.size() &&
         subject.substr(subject.size() - last.size()) == last;
}

}  // namespace drover
