#include "service/variables.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>

#include "common/log.h"
#include "common/text.h"
#include "common/uuid.h"

namespace drover {
namespace {

constexpr std::size_t kMaxVariableSize = 65536;
constexpr std::size_t kMaxPathLength = 128;
constexpr Nanos kMinLockTTL = 10 * kSecond;
constexpr Nanos kMaxLockTTL = 24 * kHour;
constexpr Nanos kDefaultLockTTL = 15 * kSecond;
constexpr Nanos kDefaultLockDelay = 15 * kSecond;

constexpr const char* kErrVarNotFound = "variable doesn't exist";
constexpr const char* kErrLockNotFound = "variable doesn't hold a lock";
constexpr const char* kErrVarIsLocked = "attempting to modify locked variable";

Status Conflict409(const char* text) { return Status(StatusCode::kAlreadyExists, text); }

std::size_t ItemsSize(const Variable& v) {
  std::size_t out = 0;
  if (v.Items) {
    for (const auto& [k, val] : *v.Items) out += k.size() + val.size();
  }
  return out;
}

// Nomad's VariableLock.Validate.
Status ValidateLock(const VariableLock& lock) {
  std::vector<std::string> errors;
  if (lock.LockDelay < 0 || lock.TTL < 0) errors.push_back("Lock delay and TTL must be positive");
  if (lock.TTL > kMaxLockTTL || lock.TTL < kMinLockTTL) {
    errors.push_back("TTL must be between 10 seconds and 24 hours");
  }
  return errors.empty() ? Status::Ok() : InvalidArgument(GoMultiError(errors));
}

// Nomad's VariableDecrypted.Canonicalize.
void Canonicalize(Variable& v) {
  if (v.Meta.Namespace.empty()) v.Meta.Namespace = kDefaultNamespace;
  if (v.Meta.Lock) {
    if (v.Meta.Lock->ID.empty()) v.Meta.Lock->ID = NewUUID();
    if (v.Meta.Lock->LockDelay == 0) v.Meta.Lock->LockDelay = kDefaultLockDelay;
    if (v.Meta.Lock->TTL == 0) v.Meta.Lock->TTL = kDefaultLockTTL;
  }
}

// Nomad's canonicalizeAndValidate: every refusal is a 400.
Status CanonicalizeAndValidate(VarOp op, Variable& v) {
  constexpr const char* kWildcard = "can not target wildcard (\"*\")namespace";
  switch (op) {
    case VarOp::kLockAcquire:
      if (!v.Meta.Lock) v.Meta.Lock = VariableLock{};
      Canonicalize(v);
      if (v.Meta.Namespace == "*") return InvalidArgument(GoMultiError({kWildcard}));
      if (ItemsSize(v) > kMaxVariableSize) {
        return InvalidArgument("variables are limited to 64KiB in total size");
      }
      RETURN_IF_ERROR(VariableService::ValidatePath(v.Meta.Path));
      return ValidateLock(*v.Meta.Lock);
    case VarOp::kSet:
    case VarOp::kCas:
      if (v.Meta.Lock && (v.Meta.Lock->LockDelay != 0 || v.Meta.Lock->TTL != 0)) {
        return InvalidArgument("variable should not contain lock definition");
      }
      Canonicalize(v);
      if (v.Meta.Namespace == "*") return InvalidArgument(kWildcard);
      if (!v.Items || v.Items->empty()) return InvalidArgument("empty variables are invalid");
      if (ItemsSize(v) > kMaxVariableSize) {
        return InvalidArgument("variables are limited to 64KiB in total size");
      }
      RETURN_IF_ERROR(VariableService::ValidatePath(v.Meta.Path));
      if (v.Meta.Lock) return ValidateLock(*v.Meta.Lock);
      return Status::Ok();
    case VarOp::kDelete:
    case VarOp::kDeleteCas:
      if (v.Meta.Namespace.empty()) v.Meta.Namespace = kDefaultNamespace;
      if (v.Meta.Path.empty()) return InvalidArgument("delete requires a Path");
      return Status::Ok();
    case VarOp::kLockRelease:
      if (v.Meta.Namespace.empty()) v.Meta.Namespace = kDefaultNamespace;
      if (!v.Meta.Lock || v.Meta.Lock->ID.empty()) {
        return InvalidArgument("missing lock information");
      }
      if (v.Items) return InvalidArgument("lock release operation doesn't take variable items");
      return VariableService::ValidatePath(v.Meta.Path);
  }
  return Internal("unknown variable operation");
}

// Nomad's zero-valued conflict: only where it is.
Variable ZeroValue(const std::string& ns, const std::string& path) {
  Variable v;
  v.Meta.Namespace = ns;
  v.Meta.Path = path;
  return v;
}

// Nomad's isLocked: a lock held under another ID than the request's.
bool LockedAgainst(const std::optional<VariableLock>& held, const Variable& req) {
  return held && (!req.Meta.Lock || req.Meta.Lock->ID != held->ID);
}

Event VariableEvent(const VariableMeta& meta, bool deleted) {
  Event e;
  e.Topic = "Variable";
  e.Type = "VariableUpdated";
  e.Key = meta.Path;
  e.Namespace = meta.Namespace;
  e.Payload.text = boost::json::serialize(
      boost::json::object{{"Metadata", VariableMetaToJson(meta)}, {"Deleted", deleted}});
  return e;
}

void Put(WriteTxn& txn, const Variable& v) {
  txn.PutVariable(v.Meta.Namespace, v.Meta.Path, EncodeVariable(v));
  txn.AddEvent(VariableEvent(v.Meta, false));
}

}  // namespace

Status VariableService::ValidatePath(const std::string& path) {
  if (path.empty()) return InvalidArgument("variable requires path");
  bool chars_ok = path.size() <= kMaxPathLength &&
                  std::all_of(path.begin(), path.end(), [](unsigned char c) {
                    return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '~' || c == '/';
                  });
  if (!chars_ok) return InvalidArgument("invalid path " + GoQuote(path));
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    std::size_t slash = path.find('/', start);
    parts.push_back(path.substr(start, slash == std::string::npos ? slash : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (parts[0] != "nomad") return Status::Ok();
  if (parts.size() == 1) {
    return InvalidArgument(
        "\"nomad\" is a reserved top-level directory path, but you may write variables to "
        "\"nomad/jobs\", \"nomad/job-templates\", \"nomad/sentinel\", or below");
  }
  if (parts[1] == "jobs" || parts[1] == "sentinel") return Status::Ok();
  if (parts[1] == "job-templates" && parts.size() == 3) return Status::Ok();
  if (parts[1] == "job-templates") {
    return InvalidArgument(
        "\"nomad/job-templates\" is a reserved directory path, but you may write variables at "
        "the level below it, for example, \"nomad/job-templates/template-name\"");
  }
  return InvalidArgument(
      "only paths at \"nomad/jobs\" or \"nomad/job-templates\" and below are valid paths under "
      "the top-level \"nomad\" directory");
}

VariableService::VariableService(StateStore& store, AfterFn after)
    : store_(store), after_(std::move(after)) {}

VariableService::~VariableService() = default;

Result<std::vector<VariableMeta>> VariableService::List(const std::string& ns,
                                                        const std::string& prefix) const {
  std::vector<VariableMeta> out;
  Status error;
  RETURN_IF_ERROR(store_.ScanVariables(ns == "*" ? "" : ns, [&](std::string_view json) {
    auto v = DecodeVariable(json);
    if (!v.ok()) {
      error = v.status();
      return false;
    }
    if (v->Meta.Path.rfind(prefix, 0) == 0) out.push_back(std::move(v->Meta));
    return true;
  }));
  RETURN_IF_ERROR(error);
  return out;
}

Result<std::optional<Variable>> VariableService::Read(const std::string& ns,
                                                      const std::string& path) const {
  ASSIGN_OR_RETURN(std::optional<std::string> json, store_.GetVariableJson(ns, path));
  if (!json) return std::optional<Variable>();
  ASSIGN_OR_RETURN(Variable v, DecodeVariable(*json));
  return std::optional<Variable>(std::move(v));
}

std::uint64_t VariableService::Index() const {
  return std::max<std::uint64_t>(store_.TableIndex(Table::kVariables), 1);
}

Result<VarApplyResult> VariableService::Apply(VarOp op, Variable req) {
  RETURN_IF_ERROR(CanonicalizeAndValidate(op, req));
  const std::string& ns = req.Meta.Namespace;
  const std::string& path = req.Meta.Path;
  const Nanos now = NowNanos();
  VarApplyResult out;
  std::optional<Variable> conflict;
  std::optional<VariableMeta> released;  // a lock release's variable, as written
  // A conflict writes nothing: the change is abandoned with this marker.
  const Status kAbandon(StatusCode::kAlreadyExists, "variable conflict");
  auto index = store_.Apply([&](WriteTxn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<Variable> existing, Read(ns, path));
    auto conflict_with = [&](Variable v) {
      conflict = std::move(v);
      return kAbandon;
    };
    // Nomad's varSetTxn.
    auto set = [&]() -> Status {
      if (existing && LockedAgainst(existing->Meta.Lock, req)) {
        return conflict_with(ZeroValue(ns, path));
      }
      Variable v = req;
      v.Meta.CreateIndex = existing ? existing->Meta.CreateIndex : txn.index();
      v.Meta.CreateTime = existing ? existing->Meta.CreateTime : now;
      v.Meta.ModifyIndex = txn.index();
      v.Meta.ModifyTime = now;
      Put(txn, v);
      out.output = std::move(v);
      return Status::Ok();
    };
    const std::uint64_t want = req.Meta.ModifyIndex;
    switch (op) {
      case VarOp::kSet:
      case VarOp::kLockAcquire:
        return set();
      case VarOp::kCas:
        if (want == 0 && existing) return conflict_with(*existing);
        if (want != 0 && !existing) return conflict_with(ZeroValue(ns, path));
        if (existing && want != existing->Meta.ModifyIndex) return conflict_with(*existing);
        return set();
      case VarOp::kDeleteCas:
        if (want == 0 && !existing) return kAbandon;  // nothing to delete: done
        if (want != 0 && !existing) return conflict_with(ZeroValue(ns, path));
        if (want == 0 || want != existing->Meta.ModifyIndex) return conflict_with(*existing);
        [[fallthrough]];
      case VarOp::kDelete:
        if (!existing) return kAbandon;  // nothing to delete: done
        if (LockedAgainst(existing->Meta.Lock, req)) return conflict_with(ZeroValue(ns, path));
        txn.DeleteVariable(ns, path);
        txn.AddEvent(VariableEvent(existing->Meta, true));
        return Status::Ok();
      case VarOp::kLockRelease: {
        if (!existing) return NotFound(kErrVarNotFound);
        if (!existing->Meta.Lock || existing->Meta.Lock->ID.empty()) {
          return Conflict409(kErrLockNotFound);
        }
        if (existing->Meta.Lock->ID != req.Meta.Lock->ID) {
          Variable zero = ZeroValue(ns, path);
          zero.Meta.Lock = VariableLock{};
          return conflict_with(std::move(zero));
        }
        Variable v = *existing;
        v.Meta.Lock.reset();
        v.Meta.ModifyIndex = txn.index();
        Put(txn, v);
        released = v.Meta;
        return Status::Ok();
      }
    }
    return Internal("unknown variable operation");
  });
  if (!index.ok()) {
    if (index.status() != kAbandon) return index.status();
    out.output.reset();
    out.conflict = std::move(conflict);
    out.index = store_.LatestIndex();
    return out;
  }
  out.index = *index;
  if (released) {
    // The writer sees what it wrote: the metadata, and no Items (Nomad
    // echoes the request's, which a release may not carry).
    out.output = Variable{*released, std::nullopt};
    Disarm(req.Meta.Lock->ID);
  } else if (out.output && out.output->Meta.Lock) {
    Arm(out.output->Meta);
  }
  return out;
}

Result<VariableMeta> VariableService::RenewLock(const std::string& ns_in, const std::string& path,
                                                const std::string& lock_id) {
  const std::string ns = ns_in.empty() ? std::string(kDefaultNamespace) : ns_in;
  std::vector<std::string> errors;
  if (path.empty()) errors.push_back("missing path");
  if (lock_id.empty()) errors.push_back("missing lock ID");
  if (!errors.empty()) return InvalidArgument(GoMultiError(errors));
  ASSIGN_OR_RETURN(std::optional<Variable> v, Read(ns, path));
  if (!v) return NotFound(kErrVarNotFound);
  if (!v->Meta.Lock) return Conflict409(kErrLockNotFound);
  if (v->Meta.Lock->ID != lock_id) return Conflict409(kErrVarIsLocked);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = leases_.find(lock_id);
  // No lease: it ran out, and the lock waits for its delay to pass.
  if (it == leases_.end()) return Conflict409(kErrVarIsLocked);
  it->second.generation = next_generation_++;
  after_(2 * it->second.ttl, [this, lock_id, gen = it->second.generation] {
    Expired(lock_id, gen);
  });
  return v->Meta;
}

Status VariableService::RestoreLocks() {
  ASSIGN_OR_RETURN(std::vector<VariableMeta> all, List("*", ""));
  for (const VariableMeta& meta : all) {
    if (meta.Lock) Arm(meta);
  }
  return Status::Ok();
}

void VariableService::Arm(const VariableMeta& meta) {
  const std::string id = meta.Lock->ID;
  std::lock_guard<std::mutex> lock(mu_);
  if (leases_.contains(id)) return;
  Lease lease{meta.Namespace, meta.Path, meta.Lock->TTL, meta.Lock->LockDelay, next_generation_++};
  // Nomad doubles the TTL for the client's grace: a lock is never lost
  // before its TTL, with no promise of how long after.
  after_(2 * lease.ttl, [this, id, gen = lease.generation] { Expired(id, gen); });
  leases_.emplace(id, std::move(lease));
}

void VariableService::Disarm(const std::string& lock_id) {
  std::lock_guard<std::mutex> lock(mu_);
  leases_.erase(lock_id);
}

void VariableService::Expired(const std::string& lock_id, std::uint64_t generation) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = leases_.find(lock_id);
  if (it == leases_.end() || it->second.generation != generation) return;  // renewed or released
  Lease lease = std::move(it->second);
  leases_.erase(it);
  log::Info("variables: lock on " + lease.ns + "/" + lease.path + " expired; released after " +
            FormatGoDuration(lease.delay));
  after_(lease.delay, [this, lease, lock_id] { Invalidate(lease.ns, lease.path, lock_id); });
}

void VariableService::Invalidate(const std::string& ns, const std::string& path,
                                 const std::string& lock_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (leases_.contains(lock_id)) return;  // taken again meanwhile
  }
  const Status kGone = FailedPrecondition("the lock is gone");
  auto index = store_.Apply([&](WriteTxn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<Variable> v, Read(ns, path));
    if (!v || !v->Meta.Lock || v->Meta.Lock->ID != lock_id) return kGone;  // nothing to write
    v->Meta.Lock.reset();
    v->Meta.ModifyIndex = txn.index();
    Put(txn, *v);
    return Status::Ok();
  });
  if (!index.ok() && index.status() != kGone) {
    log::Error("variables: removing the expired lock on " + ns + "/" + path + " failed: " +
               index.status().message());
  }
}

}  // namespace drover
