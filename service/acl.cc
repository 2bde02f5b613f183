#include "service/acl.h"

#include <charconv>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/log.h"
#include "common/sha256.h"
#include "common/uuid.h"

namespace drover {
namespace {

constexpr std::size_t kMaxTokenNameLength = 256;
constexpr std::size_t kMaxPolicyDescriptionLength = 256;
// Nomad's defaults for acl.token_min_expiration_ttl / token_max_expiration_ttl.
constexpr Nanos kMinExpirationTTL = 1 * kMinute;
constexpr Nanos kMaxExpirationTTL = 24 * kHour;
constexpr const char* kBootstrapMetaKey = "acl/bootstrap";
constexpr const char* kBootstrapResetFile = "acl-bootstrap-reset";

bool ValidPolicyName(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-';
    if (!ok) return false;
  }
  return true;
}

bool Expired(const ACLToken& token, Nanos now) {
  return token.ExpirationTime && !token.ExpirationTime->IsZero() &&
         token.ExpirationTime->unix_nanos <= now;
}

// Nomad's ACLToken.Validate.
Status ValidateToken(const ACLToken& t, const ACLToken* existing, int idx) {
  std::vector<std::string> errors;
  if (t.Name.size() > kMaxTokenNameLength) errors.emplace_back("token name too long");
  if (t.Type == kAclTokenClient) {
    if (t.Policies.empty()) errors.emplace_back("client token missing policies or roles");
  } else if (t.Type == kAclTokenManagement) {
    if (!t.Policies.empty()) {
      errors.emplace_back("management token cannot be associated with policies or roles");
    }
  } else {
    errors.emplace_back("token type must be client or management");
  }
  if (existing == nullptr) {
    if (t.ExpirationTTL < 0) {
      errors.push_back("token expiration TTL '" + FormatGoDuration(t.ExpirationTTL) +
                       "' should not be negative");
    }
    if (t.ExpirationTime && !t.ExpirationTime->IsZero()) {
      Nanos created = t.CreateTime.unix_nanos;
      Nanos expires = t.ExpirationTime->unix_nanos;
      if (created > expires) {
        errors.emplace_back("expiration time cannot be before create time");
      } else {
        Nanos in = expires - created;
        if (in > kMaxExpirationTTL) {
          errors.push_back("expiration time cannot be more than " +
                           FormatGoDuration(kMaxExpirationTTL) + " in the future (was " +
                           FormatGoDuration(in) + ")");
        } else if (in < kMinExpirationTTL) {
          errors.push_back("expiration time cannot be less than " +
                           FormatGoDuration(kMinExpirationTTL) + " in the future (was " +
                           FormatGoDuration(in) + ")");
        }
      }
    }
  } else {
    if (existing->Global != t.Global) errors.emplace_back("cannot toggle global mode");
    if (existing->ExpirationTTL != t.ExpirationTTL) {
      errors.emplace_back("cannot update expiration TTL");
    }
    if (t.ExpirationTime && existing->ExpirationTime != t.ExpirationTime) {
      errors.emplace_back("cannot update expiration time");
    }
  }
  if (errors.empty()) return Status::Ok();
  return InvalidArgument("token " + std::to_string(idx) + " invalid: " + GoMultiError(errors));
}

}  // namespace

AclService::AclService(StateStore& store, bool enabled, std::string data_dir)
    : store_(store), enabled_(enabled), data_dir_(std::move(data_dir)) {}

Status AclService::RequireEnabled() const {
  if (!enabled_) return InvalidArgument(kErrAclDisabled);
  return Status::Ok();
}

Result<std::shared_ptr<const Acl>> AclService::CompileAcl(const ACLToken* token) const {
  if (token != nullptr && token->Type == kAclTokenManagement) return Acl::Management();
  std::vector<std::string> names;
  if (token != nullptr) {
    names = token->Policies;
  } else {
    names = {"anonymous"};
  }
  std::vector<PolicyRules> rules;
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(std::optional<ACLPolicy> policy, store_.GetAclPolicy(name));
    if (!policy) continue;  // a deleted policy grants nothing
    auto parsed = ParsePolicyRules(policy->Rules);
    if (!parsed.ok()) {
      // Stored rules were valid when written; a policy that no longer
      // parses grants nothing rather than failing every request.
      log::Warn("acl: policy " + name + " does not parse: " + parsed.status().message());
      continue;
    }
    rules.push_back(std::move(parsed).value());
  }
  return Acl::FromPolicies(rules);
}

Result<ResolvedToken> AclService::Resolve(std::string_view secret) const {
  if (!enabled_) return ResolvedToken{Acl::Management(), std::nullopt};
  std::string digest = Sha256Hex(secret);
  std::uint64_t token_index = store_.TableIndex(Table::kAclTokens);
  std::uint64_t policy_index = store_.TableIndex(Table::kAclPolicies);
  Nanos now = NowNanos();
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(digest);
    if (it != cache_.end() && it->second.token_index == token_index &&
        it->second.policy_index == policy_index) {
      const auto& r = it->second.resolved;
      if (r.token && Expired(*r.token, now)) return PermissionDenied(kErrTokenExpired);
      return r;
    }
  }

  ResolvedToken resolved;
  if (secret.empty()) {
    ASSIGN_OR_RETURN(resolved.acl, CompileAcl(nullptr));
  } else {
    ASSIGN_OR_RETURN(std::optional<ACLToken> token, store_.GetAclTokenBySecretHash(digest));
    if (!token || !ConstantTimeEquals(token->SecretHash, digest)) {
      return PermissionDenied(kErrTokenNotFound);
    }
    if (Expired(*token, now)) return PermissionDenied(kErrTokenExpired);
    ASSIGN_OR_RETURN(resolved.acl, CompileAcl(&*token));
    token->SecretID = std::string(secret);
    resolved.token = std::move(token);
  }
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (cache_.size() >= 4096) cache_.clear();  // bounded: unknown secrets are not cached
  cache_[digest] = CacheEntry{token_index, policy_index, resolved};
  return resolved;
}

Result<ACLToken> AclService::Bootstrap(std::string_view secret) {
  RETURN_IF_ERROR(RequireEnabled());
  if (!secret.empty() && !IsUUID(std::string(secret))) {
    return InvalidArgument("invalid acl token");
  }
  ACLToken token;
  token.AccessorID = NewSecretUUID();
  token.SecretID = secret.empty() ? NewSecretUUID() : std::string(secret);
  token.SecretHash = Sha256Hex(token.SecretID);
  token.Name = "Bootstrap Token";
  token.Type = kAclTokenManagement;
  token.Global = true;
  token.CreateTime = GoTime::FromUnixNanos(NowNanos());

  auto index = store_.Apply([&](WriteTxn& txn) -> Status {
    // Checked inside the write so that two racing bootstraps cannot both win.
    ASSIGN_OR_RETURN(std::optional<std::string> done, store_.GetMeta(kBootstrapMetaKey));
    if (done) {
      std::uint64_t reset_index = 0;
      auto [end, ec] = std::from_chars(done->data(), done->data() + done->size(), reset_index);
      if (ec != std::errc() || end != done->data() + done->size()) {
        return Internal("acl: unreadable bootstrap index " + *done);
      }
      std::uint64_t specified = 0;
      std::ifstream in(data_dir_ + "/" + kBootstrapResetFile);
      if (in) in >> specified;
      if (specified == 0) {
        return InvalidArgument("ACL bootstrap already done (reset index: " + *done + ")");
      }
      if (specified != reset_index) {
        return InvalidArgument("Invalid bootstrap reset index (specified " +
                               std::to_string(specified) + ", reset index: " + *done + ")");
      }
      log::Warn("acl: bootstrapping again with the reset index from " + data_dir_ + "/" +
                kBootstrapResetFile);
    }
    token.CreateIndex = token.ModifyIndex = txn.index();
    txn.PutAclToken(token);
    txn.PutMeta(kBootstrapMetaKey, std::to_string(txn.index()));
    return Status::Ok();
  });
  if (!index.ok()) return index.status();
  log::Info("acl: bootstrapped; management token accessor " + token.AccessorID);
  return token;
}

Result<std::uint64_t> AclService::UpsertPolicy(ACLPolicy policy) {
  RETURN_IF_ERROR(RequireEnabled());
  std::vector<std::string> errors;
  if (!ValidPolicyName(policy.Name)) errors.push_back("invalid name '" + policy.Name + "'");
  auto parsed = ParsePolicyRules(policy.Rules);
  if (!parsed.ok()) errors.push_back("failed to parse rules: " + parsed.status().message());
  if (policy.Description.size() > kMaxPolicyDescriptionLength) {
    errors.push_back("description longer than " + std::to_string(kMaxPolicyDescriptionLength));
  }
  if (!errors.empty()) return InvalidArgument("policy 0 invalid: " + GoMultiError(errors));
  return store_.Apply([&](WriteTxn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<ACLPolicy> existing, store_.GetAclPolicy(policy.Name));
    policy.CreateIndex = existing ? existing->CreateIndex : txn.index();
    policy.ModifyIndex = txn.index();
    txn.PutAclPolicy(policy);
    return Status::Ok();
  });
}

Result<std::uint64_t> AclService::DeletePolicy(const std::string& name) {
  RETURN_IF_ERROR(RequireEnabled());
  return store_.Apply([&](WriteTxn& txn) -> Status {
    txn.DeleteAclPolicy(name);
    return Status::Ok();
  });
}

Result<ACLToken> AclService::UpsertToken(ACLToken token) {
  RETURN_IF_ERROR(RequireEnabled());
  std::optional<ACLToken> existing;
  if (!token.AccessorID.empty()) {
    ASSIGN_OR_RETURN(existing, store_.GetAclToken(token.AccessorID));
    if (!existing) return InvalidArgument("cannot find token " + token.AccessorID);
  }
  Nanos now = NowNanos();
  if (!existing) {
    token.AccessorID = NewSecretUUID();
    token.SecretID = NewSecretUUID();
    token.CreateTime = GoTime::FromUnixNanos(now);
    if (!token.ExpirationTime && token.ExpirationTTL != 0) {
      token.ExpirationTime = GoTime::FromUnixNanos(now + token.ExpirationTTL);
    }
  }
  RETURN_IF_ERROR(ValidateToken(token, existing ? &*existing : nullptr, 0));
  if (existing) {
    // What an update may change: the name, the type and the policies (the
    // validation above holds the type and policies to each other).
    ACLToken updated = *existing;
    updated.Name = token.Name;
    updated.Type = token.Type;
    updated.Policies = token.Policies;
    token = std::move(updated);
  } else {
    token.SecretHash = Sha256Hex(token.SecretID);
  }
  auto index = store_.Apply([&](WriteTxn& txn) -> Status {
    if (!existing) token.CreateIndex = txn.index();
    token.ModifyIndex = txn.index();
    txn.PutAclToken(token);
    return Status::Ok();
  });
  if (!index.ok()) return index.status();
  return token;  // SecretID only when created here
}

Result<std::uint64_t> AclService::DeleteToken(const std::string& accessor_id) {
  RETURN_IF_ERROR(RequireEnabled());
  ASSIGN_OR_RETURN(std::optional<ACLToken> token, store_.GetAclToken(accessor_id));
  if (!token) return InvalidArgument("Cannot delete nonexistent tokens: " + accessor_id);
  return store_.Apply([&](WriteTxn& txn) -> Status {
    txn.DeleteAclToken(*token);
    return Status::Ok();
  });
}

bool AclService::MayReadPolicy(const ResolvedToken& who, const std::string& name) const {
  if (who.acl->IsManagement()) return true;
  if (name == "anonymous") return true;
  if (!who.token) return false;
  for (const std::string& p : who.token->Policies) {
    if (p == name) return true;
  }
  return false;
}

Result<std::vector<ACLPolicy>> AclService::ListPolicies() const { return store_.ListAclPolicies(); }

Result<std::optional<ACLPolicy>> AclService::GetPolicy(const std::string& name) const {
  return store_.GetAclPolicy(name);
}

std::uint64_t AclService::PoliciesIndex() const { return store_.TableIndex(Table::kAclPolicies); }

Result<std::vector<ACLToken>> AclService::ListTokens() const { return store_.ListAclTokens(); }

Result<std::optional<ACLToken>> AclService::GetToken(const std::string& accessor_id) const {
  return store_.GetAclToken(accessor_id);
}

std::uint64_t AclService::TokensIndex() const { return store_.TableIndex(Table::kAclTokens); }

}  // namespace drover
