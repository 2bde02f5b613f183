// The ACL system as Nomad has it: a bootstrap management token, client
// tokens bound to named policies, and the resolution of the secret a
// request presents into what it may do (service/acl_policy.h).
//
// Secrets are never stored or logged: a token is found by the SHA-256 of
// its secret, and the stored digest is compared in constant time. With
// ACLs disabled every request resolves to management and the ACL
// endpoints answer Nomad's 400 "ACL support disabled".
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "service/acl_policy.h"
#include "storage/state_store.h"

namespace drover {

// Nomad's error texts.
inline constexpr const char* kErrPermissionDenied = "Permission denied";
inline constexpr const char* kErrTokenNotFound = "ACL token not found";
inline constexpr const char* kErrTokenExpired = "ACL token expired";
inline constexpr const char* kErrAclDisabled = "ACL support disabled";

struct ResolvedToken {
  std::shared_ptr<const Acl> acl;
  std::optional<ACLToken> token;  // absent: anonymous, or ACLs disabled
};

class AclService {
 public:
  AclService(StateStore& store, bool enabled, std::string data_dir);

  bool enabled() const { return enabled_; }

  // What the request with this secret may do. "" is the anonymous token
  // (the "anonymous" policy where one exists, else nothing). An unknown
  // secret is PermissionDenied "ACL token not found"; an expired one
  // "ACL token expired".
  Result<ResolvedToken> Resolve(std::string_view secret) const;

  // Creates the management token, once. A second call fails with Nomad's
  // "ACL bootstrap already done (reset index: N)" unless the data dir holds
  // `acl-bootstrap-reset` with that N. `secret` may provide the SecretID (a
  // UUID). The reply carries the SecretID.
  Result<ACLToken> Bootstrap(std::string_view secret);

  // Policies: validated as Nomad's ACLPolicy.Validate. Returns the index.
  Result<std::uint64_t> UpsertPolicy(ACLPolicy policy);
  Result<std::uint64_t> DeletePolicy(const std::string& name);

  // Creates a token (AccessorID empty: new IDs, SecretID in the reply) or
  // updates one (name, policies; type, global and expiry are fixed).
  Result<ACLToken> UpsertToken(ACLToken token);
  Result<std::uint64_t> DeleteToken(const std::string& accessor_id);

  // The policies a token may read: all for management, else its own (and
  // "anonymous").
  bool MayReadPolicy(const ResolvedToken& who, const std::string& name) const;

  // Reads for the ACL endpoints: policies by name, tokens by accessor ID
  // (with their digests: the API leaves those out), and the index of each
  // table, which their lists answer with.
  Result<std::vector<ACLPolicy>> ListPolicies() const;
  Result<std::optional<ACLPolicy>> GetPolicy(const std::string& name) const;
  std::uint64_t PoliciesIndex() const;
  Result<std::vector<ACLToken>> ListTokens() const;
  Result<std::optional<ACLToken>> GetToken(const std::string& accessor_id) const;
  std::uint64_t TokensIndex() const;

 private:
  Status RequireEnabled() const;
  Result<std::shared_ptr<const Acl>> CompileAcl(const ACLToken* token) const;

  StateStore& store_;
  bool enabled_;
  std::string data_dir_;

  // Compiled ACLs by secret digest, valid while neither ACL table changed.
  struct CacheEntry {
    std::uint64_t token_index;
    std::uint64_t policy_index;
    ResolvedToken resolved;
  };
  mutable std::mutex cache_mu_;
  mutable std::map<std::string, CacheEntry, std::less<>> cache_;
};

}  // namespace drover
