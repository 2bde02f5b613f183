#include "tests/support/v1_store.h"

#include <rocksdb/db.h>

#include "migrations/migrations.h"
#include "storage/codec.h"
#include "storage/state_store.h"

namespace drover::testing {

Status WriteV1Store(const std::string& dir, const V1Contents& contents) {
  {
    StoreOptions v1;
    v1.migrations = {migrations::All().front()};
    ASSIGN_OR_RETURN(std::unique_ptr<StateStore> store, StateStore::Open(dir, std::move(v1)));
    if (store->schema_version() != 1) return Internal("expected a v1 store");
    auto written = store->Apply([&](WriteTxn& txn) {
      for (const Job& j : contents.jobs) txn.PutJob(j);
      for (const Allocation& a : contents.allocs) txn.PutAlloc(a);
      txn.Touch(Table::kEvals);
      return Status::Ok();
    });
    RETURN_IF_ERROR(written.status());
  }
  // The store is closed: add the evaluations as v1 stored them.
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names);
  if (!s.ok()) return Internal(s.ToString());
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const auto& n : names) descs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  s = rocksdb::DB::Open(rocksdb::DBOptions(), dir, descs, &handles, &db);
  if (!s.ok()) return Internal(s.ToString());
  rocksdb::ColumnFamilyHandle* evals = nullptr;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == "evals") evals = handles[i];
  }
  Status out;
  if (evals == nullptr) out = Internal("no evals column family");
  rocksdb::WriteOptions sync;
  sync.sync = true;
  for (const Evaluation& e : contents.evals) {
    if (!out.ok()) break;
    s = db->Put(sync, evals, e.ID, EncodeJson(e));
    if (!s.ok()) out = Internal(s.ToString());
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
  return out;
}

}  // namespace drover::testing
