#include "migrations/migrations.h"

#include "storage/codec.h"

namespace drover::migrations {
namespace {

// v1: the initial layout (storage/state_store.h). A new database has no
// data to rewrite; the step only establishes the starting indexes.
Status InitialSchema(MigrationTxn& txn) {
  txn.Put("meta", "index", "0");
  return Status::Ok();
}

// v2: evaluations are listed chronologically, as Nomad lists them and as
// `next_token` (<CreateIndex>.<ID>) pages them, through a new index
// `eval_create`: be64(CreateIndex) <eval id>. Every existing evaluation
// gets its entry. Rewriting an entry that exists is harmless, so a run over
// a half-written state gives the same result.
Status IndexEvalsByCreateIndex(MigrationTxn& txn) {
  return txn.ForEach("evals", [&](const std::string& id, const std::string& json) -> Status {
    ASSIGN_OR_RETURN(Evaluation eval, DecodeJson<Evaluation>(json, "Evaluation"));
    if (eval.ID != id) return Internal("evaluation stored under " + id + " has ID " + eval.ID);
    txn.Put("eval_create", EvalCreateKey(eval.CreateIndex, eval.ID), "");
    return Status::Ok();
  });
}

// v3: the ACL system. Tokens (`acl_tokens`, with `acl_secrets` mapping the
// SHA-256 of each secret to its accessor) and policies (`acl_policies`) get
// column families of their own, created empty when the store opens; no
// existing entry changes. The step records the empty ACL tables' indexes so
// that their first reads answer a real X-Nomad-Index.
Status AddAclTables(MigrationTxn& txn) {
  txn.Put("meta", "index/acl_token", "0");
  txn.Put("meta", "index/acl_policy", "0");
  return Status::Ok();
}

}  // namespace

std::vector<Migration> All() {
  return {
      {1, "initial schema", InitialSchema},
      {2, "index evaluations by CreateIndex", IndexEvalsByCreateIndex},
      {3, "ACL tokens and policies", AddAclTables},
  };
}

}  // namespace drover::migrations
