// ACL policy rules and the capability set they grant, as Nomad defines
// them (acl/policy.go, acl/acl.go).
//
// A policy's rules name namespaces (exact or glob, e.g. "prod-*") with a
// `policy` shorthand and/or explicit `capabilities`, and coarse `policy`
// levels for `node`, `agent`, `operator`, `quota`, `plugin`, plus
// `host_volume` blocks. The shorthands expand as Nomad expands them:
//
//   namespace read  -> list-jobs, parse-job, read-job, csi-list-volume,
//                      csi-read-volume, read-job-scaling,
//                      list-scaling-policies, read-scaling-policy,
//                      host-volume-read
//   namespace write -> read + scale-job, submit-job, dispatch-job,
//                      read-logs, read-fs, alloc-exec, alloc-lifecycle,
//                      csi-mount-volume, csi-write-volume,
//                      submit-recommendation, host-volume-create
//   namespace scale -> list-scaling-policies, read-scaling-policy,
//                      read-job-scaling, scale-job, read-job,
//                      submit-recommendation
//
// A namespace block may hold `variables { path "a/*" { capabilities =
// ["read", "write", "list", "destroy", "deny"] } }`: capabilities on
// variable paths (globs allowed), `read` implying `list`.
//
// `deny` wins over everything granted for the same name, and an exact
// namespace rule wins over globs; among globs the closest match wins. For
// variables the same holds of "<namespace> \0 <path>".
#pragma once

#include <boost/json/fwd.hpp>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace drover {

struct VariablePathRule {
  std::string path;  // may contain '*'
  std::vector<std::string> capabilities;  // expanded (read implies list)
};

struct NamespaceRule {
  std::string name;  // may contain '*'
  std::string policy;
  std::vector<std::string> capabilities;  // expanded
  std::optional<std::vector<VariablePathRule>> variables;  // a `variables` block
};

struct HostVolumeRule {
  std::string name;
  std::string policy;
  std::vector<std::string> capabilities;  // expanded
};

struct PolicyRules {
  std::vector<NamespaceRule> namespaces;
  std::vector<HostVolumeRule> host_volumes;
  std::string agent, node, operator_policy, quota, plugin;  // "" when absent
  std::vector<std::string> operator_capabilities;
};

// Parses a policy's Rules text: Nomad's HCL form (hcl/hcl.h), or its JSON
// form (`{"namespace": {"default": {"policy": "read"}}}`, told apart by its
// leading brace). Errors carry Nomad's
// texts ("Invalid namespace policy: ...", "Invalid namespace capability
// 'x' ...", "Invalid or duplicate policy keys: ...").
Result<PolicyRules> ParsePolicyRules(std::string_view rules);

// The parsed rules in the shape of Nomad's RulesJSON.
boost::json::value PolicyRulesJson(const PolicyRules& rules);

// What one token may do: the union of its policies.
class Acl {
 public:
  static std::shared_ptr<const Acl> Management();
  static std::shared_ptr<const Acl> FromPolicies(const std::vector<PolicyRules>& policies);

  bool IsManagement() const { return management_; }

  bool AllowNamespaceOp(std::string_view ns, std::string_view capability) const;
  // True if the token holds any capability but deny in `ns`.
  bool AllowNamespace(std::string_view ns) const;
  // Nomad's AllowVariableOperation: `op` (read, write, list, destroy) on
  // the variable `path` of `ns`.
  bool AllowVariableOperation(std::string_view ns, std::string_view path,
                              std::string_view op) const;
  // Nomad's AllowVariableSearch: any variables rule in `ns` ("*": in any).
  bool AllowVariableSearch(std::string_view ns) const;
  bool AllowNodeRead() const { return management_ || node_ == "read" || node_ == "write"; }
  bool AllowNodeWrite() const { return management_ || node_ == "write"; }
  bool AllowAgentRead() const { return management_ || agent_ == "read" || agent_ == "write"; }
  bool AllowAgentWrite() const { return management_ || agent_ == "write"; }
  bool AllowOperatorRead() const {
    return management_ || operator_ == "read" || operator_ == "write";
  }
  bool AllowOperatorWrite() const { return management_ || operator_ == "write"; }

 private:
  using CapabilitySet = std::set<std::string, std::less<>>;
  // The capability set that governs `ns`: its exact rule, else the closest
  // glob; nullptr when no rule matches.
  const CapabilitySet* Match(std::string_view ns) const;
  using CapabilityMap = std::map<std::string, CapabilitySet, std::less<>>;
  static const CapabilitySet* Closest(const CapabilityMap& exact, const CapabilityMap& globs,
                                      std::string_view name);

  bool management_ = false;
  std::map<std::string, CapabilitySet, std::less<>> namespaces_;
  std::map<std::string, CapabilitySet, std::less<>> wildcard_namespaces_;
  // Keyed "<namespace> \0 <path spec>", globs apart.
  CapabilityMap variables_, wildcard_variables_;
  std::string agent_, node_, operator_;
};

// Go's github.com/ryanuber/go-glob: '*' matches any run of characters.
bool GlobMatch(std::string_view pattern, std::string_view subject);

}  // namespace drover
