#include "tests/support/v1_store.h"

#include <rocksdb/db.h>

#include <set>

#include "migrations/migrations.h"
#include "storage/codec.h"
#include "storage/state_store.h"

namespace drover::testing {

Status WriteV1Store(const std::string& dir, const V1Contents& contents) {
  {
    // The v1 step and the table indexes a v1 writer left; the objects go in
    // below, in v1's layout, which the store's writer no longer produces.
    StoreOptions v1;
    v1.migrations = {migrations::All().front()};
    ASSIGN_OR_RETURN(std::unique_ptr<StateStore> store, StateStore::Open(dir, std::move(v1)));
    if (store->schema_version() != 1) return Internal("expected a v1 store");
    auto written = store->Apply([&](WriteTxn& txn) {
      if (!contents.jobs.empty()) txn.Touch(Table::kJobs);
      if (!contents.allocs.empty()) txn.Touch(Table::kAllocs);
      txn.Touch(Table::kEvals);
      return Status::Ok();
    });
    RETURN_IF_ERROR(written.status());
  }
  // The store is closed: add the objects as v1 stored them. Jobs:
  // <ns> \0 <id> -> JSON; allocations: <id> -> JSON with the Job embedded,
  // with empty index entries; evaluations: <id> -> JSON, unindexed.
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names);
  if (!s.ok()) return Internal(s.ToString());
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const auto& n : names) descs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  s = rocksdb::DB::Open(rocksdb::DBOptions(), dir, descs, &handles, &db);
  if (!s.ok()) return Internal(s.ToString());
  auto cf = [&](const char* name) -> rocksdb::ColumnFamilyHandle* {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == name) return handles[i];
    }
    return nullptr;
  };
  Status out;
  for (const char* name : {"jobs", "evals", "allocs", "alloc_create", "alloc_job"}) {
    if (cf(name) == nullptr) out = Internal(std::string("no column family ") + name);
  }
  rocksdb::WriteBatch batch;
  if (out.ok()) {
    for (const Job& j : contents.jobs) {
      batch.Put(cf("jobs"), j.Namespace + std::string(1, '\0') + j.ID, EncodeJson(j));
    }
    for (const Allocation& a : contents.allocs) {
      batch.Put(cf("allocs"), a.ID, EncodeJson(a));
      batch.Put(cf("alloc_create"), AllocCreateKey(a.CreateIndex, a.ID), "");
      batch.Put(cf("alloc_job"),
                a.Namespace + std::string(1, '\0') + a.JobID + std::string(1, '\0') + a.ID, "");
    }
    for (const Evaluation& e : contents.evals) batch.Put(cf("evals"), e.ID, EncodeJson(e));
    rocksdb::WriteOptions sync;
    sync.sync = true;
    s = db->Write(sync, &batch);
    if (!s.ok()) out = Internal(s.ToString());
  }
  // Families later schemas added did not exist in v1 (an older binary
  // refuses a store with families it does not know).
  static const std::set<std::string> kV1Families = {
      "default", "meta", "jobs", "evals", "allocs", "alloc_create", "alloc_job", "nodes",
      "events", "task_local"};
  for (size_t i = 0; i < names.size() && out.ok(); ++i) {
    if (kV1Families.count(names[i]) != 0) continue;
    s = db->DropColumnFamily(handles[i]);
    if (!s.ok()) out = Internal(s.ToString());
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
  return out;
}

}  // namespace drover::testing
