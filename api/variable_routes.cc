// The variable endpoints (command/agent/variable_endpoint.go):
// GET /v1/vars (metadata only) and GET|PUT|POST|DELETE /v1/var/<path>,
// with `?cas=<index>` and the lock operations `?lock-acquire`,
// `?lock-renew`, `?lock-release`.
//
// ACLs as Nomad's Variables RPCs: `read` to read a variable, `list` per
// listed variable, `write` to set it or work its lock, `destroy` to delete
// it, on its path in its namespace (service/acl_policy.h). Only a
// management token sees a lock's ID in reads; a writer sees the lock it
// holds. A conflict shows the stored variable's Items only to a token that
// may read it. The logic is service/variables.h.
#include <boost/json.hpp>

#include <charconv>

#include "api/list_query.h"
#include "api/routes.h"
#include "common/text.h"
#include "storage/codec.h"

namespace drover::api {
namespace {

namespace json = boost::json;
using M = Http::Method;

constexpr std::string_view kVarPrefix = "/v1/var/";

std::string RequestNamespace(const Rest::Request& req) {
  auto ns = QueryParam(req, "namespace");
  return ns && !ns->empty() ? *ns : std::string(kDefaultNamespace);
}

// The variable's path: the rest of the URL path, decoded as Go decodes it.
Result<std::string> VariablePath(const Rest::Request& req) {
  std::string resource = req.resource();
  std::string raw = resource.size() > kVarPrefix.size() ? resource.substr(kVarPrefix.size()) : "";
  auto path = PathUnescape(raw);
  if (!path.ok()) return InvalidArgument("invalid URL escape in the variable path");
  if (path->empty()) return InvalidArgument("missing variable path");
  return path;
}

Result<json::value> DecodeBody(const Rest::Request& req) {
  if (req.body().find_first_not_of(" \t\r\n") == std::string::npos) return InvalidArgument("EOF");
  auto body = ParseJson(req.body());
  if (!body.ok()) return InvalidArgument(body.status().message());
  return body;
}

// Nomad's parseCAS: (present, index).
Result<std::optional<std::uint64_t>> ParseCas(const Rest::Request& req) {
  auto cas = QueryParam(req, "cas");
  if (!cas || cas->empty()) return std::optional<std::uint64_t>();
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(cas->data(), cas->data() + cas->size(), v);
  if (ec == std::errc::result_out_of_range) {
    return InvalidArgument("can not parse cas: strconv.ParseUint: parsing " + GoQuote(*cas) +
                           ": value out of range");
  }
  if (ec != std::errc() || p != cas->data() + cas->size()) {
    return InvalidArgument("can not parse cas: strconv.ParseUint: parsing " + GoQuote(*cas) +
                           ": invalid syntax");
  }
  return std::optional<std::uint64_t>(v);
}

bool HasParam(const Rest::Request& req, const char* name) {
  return req.query().has(name);
}

// Nomad's getLockOperation: "" for none.
Result<std::string> LockOperation(const Rest::Request& req) {
  std::string op;
  int n = 0;
  for (const char* name : {"lock-renew", "lock-acquire", "lock-release"}) {
    if (HasParam(req, name)) {
      ++n;
      if (op.empty()) op = name;
    }
  }
  if (n > 1) return InvalidArgument("multiple lock operations");
  return op;
}

// A variable as a reader may see it: the lock's ID is for management only.
json::value ForReader(Variable v, const Acl& acl) {
  if (!acl.IsManagement()) v.Meta.Lock.reset();
  return VariableToJson(v);
}

void List(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w,
          const RequestAuth& auth) {
  if (!auth.error.ok()) return SendError(w, auth.error);
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(w, opts.status());
  auto list = ParseListOptions(req);
  if (!list.ok()) return SendError(w, list.status());
  VariableService& vars = ctx.agent.variables();
  auto query = [&vars, acl = auth.who.acl, ns = opts->ns, prefix = opts->prefix,
                list = *list]() -> Result<Reply> {
    ASSIGN_OR_RETURN(std::vector<VariableMeta> all, vars.List(ns, prefix));
    std::erase_if(all, [&](const VariableMeta& m) {
      return !acl->AllowVariableOperation(m.Namespace, m.Path, "list");
    });
    if (list.reverse) std::reverse(all.begin(), all.end());
    std::vector<json::value> shown;
    shown.reserve(all.size());
    for (VariableMeta& m : all) {
      if (!acl->IsManagement()) m.Lock.reset();
      shown.push_back(VariableMetaToJson(m));
    }
    std::vector<PageItem> items;
    items.reserve(all.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
      items.push_back(PageItem{PageToken::NamespaceAndId(all[i].Namespace, all[i].Path),
                               list.filter ? &shown[i] : nullptr});
    }
    PageOptions page_opts{list.per_page, list.next_token, list.reverse,
                          list.filter ? &*list.filter : nullptr};
    auto page = Paginate(items, page_opts);
    if (!page.ok()) {
      return InvalidArgument("failed to read result page: " + page.status().message());
    }
    json::array out;
    for (std::size_t i : page->items) out.push_back(std::move(shown[i]));
    return Reply{vars.Index(), std::move(out), page->next_token};
  };
  ctx.blocking.Serve(*opts, {Table::kVariables}, std::move(query), std::move(w), QueryCost::kList);
}

void Read(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w,
          const RequestAuth& auth, const std::string& path) {
  if (!auth.error.ok()) return SendError(w, auth.error);
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(w, opts.status());
  const std::string ns = opts->ns;
  if (!auth.who.acl->AllowVariableOperation(ns, path, "read")) {
    return SendError(w, PermissionDenied(kErrPermissionDenied));
  }
  VariableService& vars = ctx.agent.variables();
  auto query = [&vars, acl = auth.who.acl, ns, path]() -> Result<Reply> {
    ASSIGN_OR_RETURN(std::optional<Variable> v, vars.Read(ns, path));
    if (!v) return NotFound("variable not found");
    const std::uint64_t index = v->Meta.ModifyIndex;
    return Reply{index, ForReader(std::move(*v), *acl)};
  };
  ctx.blocking.Serve(*opts, WatchSpec{{Table::kVariables}, {VariableWatchKey(ns, path)}}, "",
                     std::move(query), std::move(w));
}

// Set (or check-and-set), delete, lock acquire and release.
void Apply(ApiContext& ctx, Http::ResponseWriter& w, const RequestAuth& auth, VarOp op,
           Variable var) {
  if (!auth.error.ok()) return SendError(w, auth.error);
  const Acl& acl = *auth.who.acl;
  const bool destroy = op == VarOp::kDelete || op == VarOp::kDeleteCas;
  if (!acl.AllowVariableOperation(var.Meta.Namespace, var.Meta.Path,
                                  destroy ? "destroy" : "write")) {
    return SendError(w, PermissionDenied(kErrPermissionDenied));
  }
  const std::optional<VariableLock> asked_lock = var.Meta.Lock;
  const std::string ns = var.Meta.Namespace, path = var.Meta.Path;
  auto result = ctx.agent.variables().Apply(op, std::move(var));
  if (!result.ok()) return SendError(w, result.status());
  const bool lock_op = op == VarOp::kLockAcquire || op == VarOp::kLockRelease;
  if (result->conflict) {
    Variable& c = *result->conflict;
    // Nomad redacts what the caller may not read; Drover also keeps a
    // lock's ID from anyone but management, as reads do.
    if (!acl.AllowVariableOperation(ns, path, "read")) c.Items.reset();
    if (!acl.IsManagement()) c.Meta.Lock.reset();
    const std::uint64_t index = lock_op ? result->index : c.Meta.ModifyIndex;
    return SendJson(w, VariableToJson(c), false, index, Http::Code::Conflict);
  }
  if (destroy) return SendEmpty(w, result->index, Http::Code::No_Content);
  Variable& out = *result->output;
  // The writer reads its own write; the lock only if it holds it.
  const bool owner = asked_lock && out.Meta.Lock && asked_lock->ID == out.Meta.Lock->ID;
  if (!owner && !acl.IsManagement()) out.Meta.Lock.reset();
  SendJson(w, VariableToJson(out), false, result->index);
}

void Renew(ApiContext& ctx, Http::ResponseWriter& w, const RequestAuth& auth, const Variable& var) {
  if (!auth.error.ok()) return SendError(w, auth.error);
  if (!auth.who.acl->AllowVariableOperation(var.Meta.Namespace, var.Meta.Path, "write")) {
    return SendError(w, PermissionDenied(kErrPermissionDenied));
  }
  auto meta = ctx.agent.variables().RenewLock(var.Meta.Namespace, var.Meta.Path,
                                              var.Meta.Lock ? var.Meta.Lock->ID : "");
  if (!meta.ok()) return SendError(w, meta.status());
  SendJson(w, VariableMetaToJson(*meta), false, 0);
}

void Write(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w,
           const RequestAuth& auth, const std::string& path) {
  auto lock_op = LockOperation(req);
  if (!lock_op.ok()) return SendError(w, lock_op.status());
  auto cas = QueryParam(req, "cas");
  if (cas && !cas->empty() && !lock_op->empty()) {
    return SendError(w, InvalidArgument("CAS can't be used with lock operations"));
  }
  auto body = DecodeBody(req);
  if (!body.ok()) return SendError(w, body.status());
  auto var = VariableFromJson(*body);
  if (!var.ok()) return SendError(w, var.status());
  // The body may name the namespace; else the request's.
  if (var->Meta.Namespace.empty()) var->Meta.Namespace = RequestNamespace(req);
  var->Meta.Path = path;
  if (*lock_op == "lock-renew") return Renew(ctx, w, auth, *var);
  if (*lock_op == "lock-acquire") return Apply(ctx, w, auth, VarOp::kLockAcquire, std::move(*var));
  if (*lock_op == "lock-release") return Apply(ctx, w, auth, VarOp::kLockRelease, std::move(*var));
  if (!var->Items || var->Items->empty()) {
    return SendError(w, InvalidArgument("variable missing required Items object"));
  }
  auto index = ParseCas(req);
  if (!index.ok()) return SendError(w, index.status());
  if (*index) var->Meta.ModifyIndex = **index;
  Apply(ctx, w, auth, *index ? VarOp::kCas : VarOp::kSet, std::move(*var));
}

void Delete(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w,
            const RequestAuth& auth, const std::string& path) {
  Variable var;
  var.Meta.Namespace = RequestNamespace(req);
  var.Meta.Path = path;
  auto index = ParseCas(req);
  if (!index.ok()) return SendError(w, index.status());
  if (*index) var.Meta.ModifyIndex = **index;
  Apply(ctx, w, auth, *index ? VarOp::kDeleteCas : VarOp::kDelete, std::move(var));
}

}  // namespace

void AddVariableRoutes(RouteTable& routes, ApiContext& ctx) {
  routes.Add("/v1/vars", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& auth) {
               List(ctx, req, w, auth);
             });
  routes.Add("/v1/var/**", {M::Get, M::Put, M::Post, M::Delete},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& auth) {
               auto path = VariablePath(req);
               if (!path.ok()) return SendError(w, path.status());
               switch (req.method()) {
                 case M::Get: return Read(ctx, req, w, auth, *path);
                 case M::Delete: return Delete(ctx, req, w, auth, *path);
                 default: return Write(ctx, req, w, auth, *path);
               }
             });
}

}  // namespace drover::api
