#include "migrations/migrations.h"

namespace drover::migrations {
namespace {

// v1: the initial layout (storage/state_store.h). A new database has no
// data to rewrite; the step only establishes the starting indexes.
Status InitialSchema(MigrationTxn& txn) {
  txn.Put("meta", "index", "0");
  return Status::Ok();
}

}  // namespace

std::vector<Migration> All() {
  return {
      {1, "initial schema", InitialSchema},
  };
}

}  // namespace drover::migrations
