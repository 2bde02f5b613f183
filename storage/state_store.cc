#include "storage/state_store.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/write_batch_with_index.h>
#include <rocksdb/write_batch.h>

#include <stdlib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <map>
#include <unordered_map>
#include <chrono>
#include <mutex>
#include <string_view>
#include <tuple>
#include <utility>

#include "common/log.h"
#include "common/metrics.h"
#include "storage/codec.h"
#include "storage/journal_scan.h"

namespace drover {
namespace {

// Column families, in the order they are opened; kCfNames[i] is handle i.
enum Cf { kDefault, kMeta, kJobs, kEvals, kAllocs, kAllocCreate, kAllocJob, kNodes, kEvents,
          kTaskLocal, kEvalCreate, kAclTokens, kAclSecrets, kAclPolicies, kJobVersions,
          kNamespaces, kVariables, kScalingEvents, kDeployments, kJournalObjects, kJournalSnapshot,
          kCfCount };
constexpr std::array<const char*, kCfCount> kCfNames = {
    "default", "meta", "jobs", "evals", "allocs", "alloc_create", "alloc_job", "nodes",
    "events", "task_local", "eval_create", "acl_tokens", "acl_secrets", "acl_policies",
    "job_versions", "namespaces", "variables", "scaling_events", "deployments",
    "journal_objects", "journal_snapshot"};
// The first column family each schema version from v4 on adds; a read-only
// view of an older store lacks it.
constexpr Cf kFirstV4Cf = kJobVersions;
constexpr Cf kFirstV5Cf = kNamespaces;
constexpr Cf kFirstV6Cf = kScalingEvents;
constexpr Cf kFirstV7Cf = kDeployments;
constexpr Cf kFirstV8Cf = kJournalObjects;
// v9's; a read-only view of a v8 store opens without it (its handle null).
constexpr Cf kFirstV9Cf = kJournalSnapshot;

// Decoded job versions kept in memory; beyond this the cache starts over.
constexpr std::size_t kJobCacheLimit = 4096;

// Every table with an index: the journaled ones and the ACL tables.
constexpr Table kIndexedTables[] = {
    Table::kJobs,       Table::kEvals,     Table::kAllocs,        Table::kNodes,
    Table::kAclTokens,  Table::kAclPolicies, Table::kNamespaces,  Table::kVariables,
    Table::kScalingEvents, Table::kDeployments};

constexpr char kSep = '\0';

// RocksDB resumes writing after a full disk once this much is free again
// (its reserved disk buffer is the largest write buffer). Drover's objects
// are small, so a small buffer costs nothing and lets a nearly full disk
// recover; RocksDB's 64 MiB default would need 64 MiB free.
constexpr std::size_t kWriteBufferBytes = 4 << 20;

Status FromRocks(const rocksdb::Status& s, const char* what) {
  if (s.ok()) return Status::Ok();
  if (s.IsNoSpace()) {
    // Until space is freed every write fails this way; reads go on, and
    // RocksDB resumes by itself once there is room (no restart needed).
    return ResourceExhausted(std::string(what) + ": insufficient storage: the disk of the state "
                             "store is full; writes resume once space is freed (" +
                             s.ToString() + ")");
  }
  if (s.IsBusy() || s.IsTryAgain()) return Unavailable(std::string(what) + ": " + s.ToString());
  return Internal(std::string(what) + ": " + s.ToString());
}

// RocksDB's own log goes to the agent's log, not to a LOG file in the data
// dir: Debian's librocksdb is built with assertions, and its file logger
// aborts the process (WritableFileWriter: `sync_without_flush_called_`) on
// the first line it writes after one write failed, which a full disk
// causes at once. Errors and warnings show; the rest at debug level.
class AgentLogger : public rocksdb::Logger {
 public:
  AgentLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    const log::Level ours = level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? log::Level::kError
                            : level == rocksdb::InfoLogLevel::WARN_LEVEL ? log::Level::kWarn
                                                                          : log::Level::kDebug;
    if (!log::Enabled(ours)) return;
    char buf[1024];
    const int n = std::vsnprintf(buf, sizeof(buf), format, ap);
    if (n < 0) return;
    std::string_view line(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof(buf) - 1));
    while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.remove_suffix(1);
    log::Write(ours, "rocksdb: " + std::string(line));
  }
};

std::string Be64(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xFF);
  return out;
}

std::string Be32(std::uint32_t v) {
  std::string out(4, '\0');
  for (int i = 3; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xFF);
  return out;
}

std::string JobKey(const std::string& ns, const std::string& id) {
  return ns + kSep + id;
}

std::string AllocJobKey(const Allocation& a) {
  return a.Namespace + kSep + a.JobID + kSep + a.ID;
}

}  // namespace

std::string EvalCreateKey(std::uint64_t create_index, const std::string& eval_id) {
  return Be64(create_index) + eval_id;
}

std::string AllocCreateKey(std::uint64_t create_index, const std::string& alloc_id) {
  return Be64(create_index) + alloc_id;
}

void VisitJournalObjectKeys(std::uint64_t index, std::uint32_t seq, std::string_view topic,
                            std::string_view key, std::string_view ns,
                            const std::vector<std::string_view>& filter_keys,
                            const std::function<void(std::string_view)>& fn) {
  const std::string where = Be64(index) + Be32(seq);
  std::string k;
  auto visit = [&](char kind, std::string_view id, bool with_ns) {
    k.assign(1, kind);
    k.append(id);
    k.push_back(kSep);
    if (with_ns) {
      k.append(ns);
      k.push_back(kSep);
    }
    k += where;
    fn(k);
  };
  if (topic == "Allocation") visit('a', key, false);
  if (topic == "Node") visit('n', key, false);
  if (topic == "Job") {
    visit('j', key, true);
  } else if (topic == "Evaluation" || topic == "Allocation") {
    for (std::size_t i = 0; i < filter_keys.size(); ++i) {
      if (std::find(filter_keys.begin(), filter_keys.begin() + i, filter_keys[i]) !=
          filter_keys.begin() + i) {
        continue;  // a job named twice has one key
      }
      visit('j', filter_keys[i], true);
    }
  }
}

std::vector<std::string> JournalObjectKeys(std::uint64_t index, std::uint32_t seq,
                                           std::string_view topic, std::string_view key,
                                           std::string_view ns,
                                           const std::vector<std::string_view>& filter_keys) {
  std::vector<std::string> out;
  VisitJournalObjectKeys(index, seq, topic, key, ns, filter_keys,
                         [&](std::string_view k) { out.emplace_back(k); });
  return out;
}

std::string AllocWatchKey(const std::string& alloc_id) { return "a" + alloc_id; }

std::string JobWatchKey(const std::string& ns, const std::string& job_id) {
  return "j" + ns + kSep + job_id;
}

std::string VariableWatchKey(const std::string& ns, const std::string& path) {
  return "v" + ns + kSep + path;
}

struct CachedJob {
  std::string json;
  Job job;
};

namespace {

std::string TableIndexKey(Table t) { return std::string("index/") + TableName(t); }

constexpr const char* kJournalBaseKey = "journal/base";
constexpr const char* kJournalEntriesKey = "journal/entries";

Status ReadOnlyError(const char* what) {
  return FailedPrecondition(std::string(what) + ": the state store is open read-only");
}

// The journal and its object index are written once and read in long
// scans (`state check`, `events replay --at`, compaction), a whole entry at
// a time: large blocks compress consecutive entries of one object together
// (they differ in a few fields) and LZ4 decompresses them fast. On a
// 1,000,000-entry journal of 5 KB allocations that is 160 MB on disk
// instead of 1.3 GB, and a full scan of 1.1 s instead of 6.8 s. A point
// read (one entry) decompresses one 64 KB block. Files written before keep
// their compression until RocksDB rewrites them.
constexpr std::size_t kJournalBlockBytes = 64 << 10;

rocksdb::ColumnFamilyOptions JournalCfOptions() {
  rocksdb::ColumnFamilyOptions options;
  options.OptimizeForPointLookup(8);  // the memtable settings, then our table
  rocksdb::BlockBasedTableOptions table;
  table.block_size = kJournalBlockBytes;
  table.block_cache = rocksdb::NewLRUCache(8 << 20);
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  const auto supported = rocksdb::GetSupportedCompressions();
  if (std::find(supported.begin(), supported.end(), rocksdb::kLZ4Compression) != supported.end()) {
    options.compression = rocksdb::kLZ4Compression;
  }
  return options;
}

std::vector<rocksdb::ColumnFamilyDescriptor> Descriptors() {
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (std::size_t i = 0; i < kCfNames.size(); ++i) {
    rocksdb::ColumnFamilyOptions cf_options;
    if (i == kEvents || i == kJournalObjects) {
      cf_options = JournalCfOptions();
    } else {
      cf_options.OptimizeForPointLookup(8);
    }
    cf_options.write_buffer_size = kWriteBufferBytes;
    descriptors.emplace_back(kCfNames[i], cf_options);
  }
  return descriptors;
}

Result<std::uint64_t> ParseU64(const std::string& s, const char* what) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size())
    return Internal(std::string("corrupt ") + what + ": \"" + s + "\"");
  return v;
}

}  // namespace

const char* TableName(Table t) {
  switch (t) {
    case Table::kJobs: return "jobs";
    case Table::kEvals: return "evals";
    case Table::kAllocs: return "allocs";
    case Table::kNodes: return "nodes";
    case Table::kAclTokens: return "acl_token";
    case Table::kAclPolicies: return "acl_policy";
    case Table::kNamespaces: return "namespaces";
    case Table::kVariables: return "variables";
    case Table::kScalingEvents: return "scaling_event";
    case Table::kDeployments: return "deployment";
  }
  return "unknown";
}

struct StateStore::Impl {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;
  rocksdb::WriteOptions write_options;
  bool read_only = false;
  std::string secondary_dir;  // a read-only instance's private directory

  std::mutex write_mu;  // serialises Apply()
  bool writes_failing = false;  // under write_mu: the last commit failed

  // Logs the first failed commit and the first one that works again.
  void NoteWrite(const Status& st) {
    if (!st.ok() && !writes_failing) {
      log::Error("storage: writes fail until the cause is fixed; reads go on: " + st.message());
    } else if (st.ok() && writes_failing) {
      log::Info("storage: writes work again");
    }
    writes_failing = !st.ok();
  }
  std::atomic<std::uint64_t> latest{0};
  // How many entries the journal holds (meta "journal/entries", schema v5;
  // absent before): under write_mu.
  std::optional<std::uint64_t> journal_entries;
  std::array<std::atomic<std::uint64_t>, std::size(kIndexedTables)> table_index{};

  struct Waiter {
    std::uint32_t tables;  // bit per Table
    std::vector<std::string> keys;  // empty: any write of `tables`
    std::uint64_t min_index;
    std::function<void()> callback;
  };
  std::mutex watch_mu;
  WatchId next_watch = 1;
  std::map<WatchId, Waiter> waiters;
  std::multimap<std::string, WatchId> waiters_by_key;  // key waiters only

  // Removes a waiter and its key entries; returns its callback (empty if
  // it was gone). Under watch_mu.
  std::function<void()> TakeWaiter(WatchId id) {
    auto it = waiters.find(id);
    if (it == waiters.end()) return {};
    for (const std::string& key : it->second.keys) {
      auto [lo, hi] = waiters_by_key.equal_range(key);
      for (auto k = lo; k != hi; ++k) {
        if (k->second == id) {
          waiters_by_key.erase(k);
          break;
        }
      }
    }
    std::function<void()> cb = std::move(it->second.callback);
    waiters.erase(it);
    return cb;
  }

  // Job versions by their `job_versions` key, decoded.
  mutable std::mutex job_cache_mu;
  mutable std::unordered_map<std::string, std::shared_ptr<const CachedJob>> job_cache;

  void CacheJob(const std::string& key, std::shared_ptr<const CachedJob> job) const {
    std::lock_guard<std::mutex> lock(job_cache_mu);
    if (job_cache.size() >= kJobCacheLimit) job_cache.clear();
    job_cache[key] = std::move(job);
  }

  // The job version under `key`, from the cache or the store; null when
  // the store has none.
  Result<std::shared_ptr<const CachedJob>> LoadJob(const std::string& key) const {
    {
      std::lock_guard<std::mutex> lock(job_cache_mu);
      auto it = job_cache.find(key);
      if (it != job_cache.end()) return it->second;
    }
    ASSIGN_OR_RETURN(std::optional<std::string> raw, Get(kJobVersions, key));
    if (!raw) return std::shared_ptr<const CachedJob>();
    ASSIGN_OR_RETURN(Job job, DecodeJson<Job>(*raw, "Job"));
    auto cached = std::make_shared<const CachedJob>(CachedJob{std::move(*raw), std::move(job)});
    CacheJob(key, cached);
    return cached;
  }

  Result<std::shared_ptr<const CachedJob>> JobOf(const Allocation& a,
                                                 const JobVersionRef& ref) const {
    ASSIGN_OR_RETURN(std::shared_ptr<const CachedJob> job,
                     LoadJob(JobVersionKey(a.Namespace, a.JobID, ref)));
    if (!job) {
      return Internal("allocation " + a.ID + " runs version " + std::to_string(ref.version) +
                      " of job " + a.JobID + ", which the store does not hold");
    }
    return job;
  }

  // An `allocs` record, without its Job.
  Result<StoredAlloc> DecodeAlloc(std::string_view record) const {
    ASSIGN_OR_RETURN(AllocRecordView view, ParseAllocRecord(record));
    ASSIGN_OR_RETURN(Allocation alloc, DecodeJson<Allocation>(view.json, "Allocation"));
    return StoredAlloc{std::move(alloc), std::move(view.header.job)};
  }

  // An `allocs` record with its Job re-attached.
  Result<Allocation> DecodeAllocWithJob(std::string_view record) const {
    ASSIGN_OR_RETURN(StoredAlloc stored, DecodeAlloc(record));
    if (stored.job) {
      ASSIGN_OR_RETURN(std::shared_ptr<const CachedJob> job, JobOf(stored.alloc, *stored.job));
      stored.alloc.Job = job->job;
    }
    return std::move(stored.alloc);
  }

  Result<std::vector<Allocation>> ListAllocRecords(const std::string& prefix) const {
    std::vector<Allocation> out;
    Status error;
    RETURN_IF_ERROR(Scan(kAllocs, prefix, [&](const rocksdb::Slice&, const rocksdb::Slice& v) {
      auto alloc = DecodeAllocWithJob(std::string_view(v.data(), v.size()));
      if (!alloc.ok()) {
        error = alloc.status();
        return false;
      }
      out.push_back(std::move(alloc).value());
      return true;
    }));
    RETURN_IF_ERROR(error);
    return out;
  }

  ~Impl() {
    for (auto* h : cfs) {
      if (h != nullptr) db->DestroyColumnFamilyHandle(h);
    }
    cfs.clear();
    if (db) db->Close();
    db.reset();
    if (!secondary_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(secondary_dir, ec);
    }
  }

  // Loads the global and table indexes from `meta`.
  Status LoadIndexes() {
    // One batched read: these small keys sort just before the journal's
    // snapshot (one large value) and share its data block, which a Get
    // per key would read and decompress again each time: seconds at start
    // on a big store.
    std::vector<std::string> keys = {kJournalEntriesKey, "index"};
    for (Table t : kIndexedTables) keys.push_back(TableIndexKey(t));
    ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> values, MultiGet(kMeta, keys));
    if (values[0]) {
      ASSIGN_OR_RETURN(std::uint64_t v, ParseU64(*values[0], "journal entries"));
      journal_entries = v;
    }
    if (values[1]) {
      ASSIGN_OR_RETURN(std::uint64_t v, ParseU64(*values[1], "index"));
      latest = v;
    }
    for (std::size_t i = 0; i < std::size(kIndexedTables); ++i) {
      if (const auto& idx = values[i + 2]) {
        ASSIGN_OR_RETURN(std::uint64_t v, ParseU64(*idx, "table index"));
        table_index[static_cast<size_t>(kIndexedTables[i])] = v;
      }
    }
    return Status::Ok();
  }

  rocksdb::ColumnFamilyHandle* cf(Cf c) const { return cfs[c]; }

  Result<std::optional<std::string>> Get(Cf c, const std::string& key) const {
    std::string value;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cf(c), key, &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return FromRocks(s, "read");
    return std::optional<std::string>(std::move(value));
  }

  // Several keys of `c` in one batch: keys in one data block read it once.
  Result<std::vector<std::optional<std::string>>> MultiGet(
      Cf c, const std::vector<std::string>& keys) const {
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rocksdb::PinnableSlice> values(keys.size());
    std::vector<rocksdb::Status> statuses(keys.size());
    db->MultiGet(rocksdb::ReadOptions(), cf(c), keys.size(), slices.data(), values.data(),
                 statuses.data());
    std::vector<std::optional<std::string>> out(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (statuses[i].IsNotFound()) continue;
      if (!statuses[i].ok()) return FromRocks(statuses[i], "read");
      out[i] = values[i].ToString();
    }
    return out;
  }

  // Visits keys of `c` starting with `prefix`; `fn` returns false to stop.
  Status Scan(Cf c, const std::string& prefix,
              const std::function<bool(const rocksdb::Slice&, const rocksdb::Slice&)>& fn) const {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf(c)));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      if (!fn(it->key(), it->value())) break;
    }
    return FromRocks(it->status(), "scan");
  }

  template <typename T>
  Result<std::optional<T>> GetObject(Cf c, const std::string& key, const char* root) const {
    ASSIGN_OR_RETURN(std::optional<std::string> raw, Get(c, key));
    if (!raw) return std::optional<T>();
    ASSIGN_OR_RETURN(T obj, DecodeJson<T>(*raw, root));
    return std::optional<T>(std::move(obj));
  }

  template <typename T>
  Result<std::vector<T>> ListObjects(Cf c, const std::string& prefix, const char* root) const {
    std::vector<T> out;
    Status decode_error;
    RETURN_IF_ERROR(Scan(c, prefix, [&](const rocksdb::Slice&, const rocksdb::Slice& v) {
      auto obj = DecodeJson<T>(std::string_view(v.data(), v.size()), root);
      if (!obj.ok()) {
        decode_error = obj.status();
        return false;
      }
      out.push_back(std::move(obj).value());
      return true;
    }));
    RETURN_IF_ERROR(decode_error);
    return out;
  }

  // Looks up the objects of `table` whose IDs are the rest of each key of
  // `index` from byte `id_offset` on, in the index's order.
  template <typename T>
  Result<std::vector<T>> ObjectsFromIndex(Cf index, const std::string& prefix, size_t id_offset,
                                          Cf table, const char* root) const {
    std::vector<std::string> ids;
    RETURN_IF_ERROR(Scan(index, prefix, [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
      if (k.size() > id_offset) ids.emplace_back(k.data() + id_offset, k.size() - id_offset);
      return true;
    }));
    std::vector<T> out;
    out.reserve(ids.size());
    for (const auto& id : ids) {
      ASSIGN_OR_RETURN(std::optional<T> obj, GetObject<T>(table, id, root));
      if (obj) out.push_back(std::move(*obj));
    }
    return out;
  }
};

// ---- WriteTxn ------------------------------------------------------------------

void WriteTxn::PutJob(const Job& job) {
  std::string json = EncodeJson(job);
  batch_->Put(store_->impl_->cf(kJobs), JobKey(job.Namespace, job.ID), json);
  Status st = StageJobVersion(job.Namespace, job.ID, job, std::move(json));
  if (!st.ok() && error_.ok()) error_ = st;
  Touch(Table::kJobs);
  touched_keys_.push_back(JobWatchKey(job.Namespace, job.ID));
}

void WriteTxn::DeleteJob(const std::string& ns, const std::string& id) {
  batch_->Delete(store_->impl_->cf(kJobs), JobKey(ns, id));
  Touch(Table::kJobs);
  touched_keys_.push_back(JobWatchKey(ns, id));
}

// Writes `job` under its version key unless the store (or this change)
// already holds that very job there.
Status WriteTxn::StageJobVersion(const std::string& ns, const std::string& id, const Job& job,
                                 std::string json) {
  const std::string key = JobVersionKey(ns, id, RefOf(job));
  for (const auto& [staged_key, staged] : new_jobs_) {
    if (staged_key == key && staged->job == job) return Status::Ok();
  }
  auto known = store_->impl_->LoadJob(key);
  if (!known.ok()) return known.status();
  if (*known && (*known)->job == job) return Status::Ok();
  if (json.empty()) json = EncodeJson(job);
  batch_->Put(store_->impl_->cf(kJobVersions), key, json);
  new_jobs_.emplace_back(key, std::make_shared<const CachedJob>(CachedJob{std::move(json), job}));
  return Status::Ok();
}

void WriteTxn::PutDeployment(const Deployment& d) {
  batch_->Put(store_->impl_->cf(kDeployments), d.ID, EncodeJson(d));
  Touch(Table::kDeployments);
}

void WriteTxn::PutEval(const Evaluation& eval) {
  batch_->Put(store_->impl_->cf(kEvals), eval.ID, EncodeJson(eval));
  batch_->Put(store_->impl_->cf(kEvalCreate), EvalCreateKey(eval.CreateIndex, eval.ID), "");
  Touch(Table::kEvals);
}

void WriteTxn::PutAlloc(const Allocation& alloc) {
  std::optional<JobVersionRef> ref;
  if (alloc.Job) {
    ref = RefOf(*alloc.Job);
    Status st = StageJobVersion(alloc.Namespace, alloc.JobID, *alloc.Job, "");
    if (!st.ok() && error_.ok()) error_ = st;
  }
  WriteAlloc(alloc, ref);
}

void WriteTxn::PutAllocWithoutJob(const StoredAlloc& stored) {
  WriteAlloc(stored.alloc, stored.job);
}

void WriteTxn::WriteAlloc(const Allocation& alloc, const std::optional<JobVersionRef>& ref) {
  auto& impl = *store_->impl_;
  batch_->Put(impl.cf(kAllocs), alloc.ID, EncodeAllocRecord(alloc, ref));
  batch_->Put(impl.cf(kAllocCreate), AllocCreateKey(alloc.CreateIndex, alloc.ID),
              EncodeStubRecord(alloc, ref));
  batch_->Put(impl.cf(kAllocJob), AllocJobKey(alloc), "");
  Touch(Table::kAllocs);
  touched_keys_.push_back(AllocWatchKey(alloc.ID));
}

void WriteTxn::DeleteAlloc(const Allocation& alloc) {
  auto& impl = *store_->impl_;
  batch_->Delete(impl.cf(kAllocs), alloc.ID);
  batch_->Delete(impl.cf(kAllocCreate), AllocCreateKey(alloc.CreateIndex, alloc.ID));
  batch_->Delete(impl.cf(kAllocJob), AllocJobKey(alloc));
  Touch(Table::kAllocs);
  touched_keys_.push_back(AllocWatchKey(alloc.ID));
}

void WriteTxn::PutNode(const Node& node) {
  batch_->Put(store_->impl_->cf(kNodes), node.ID, EncodeJson(node));
  Touch(Table::kNodes);
}

void WriteTxn::PutTaskLocal(const std::string& alloc_id, const std::string& task,
                            const std::string& json) {
  batch_->Put(store_->impl_->cf(kTaskLocal), alloc_id + kSep + task, json);
}

void WriteTxn::DeleteTaskLocal(const std::string& alloc_id, const std::string& task) {
  batch_->Delete(store_->impl_->cf(kTaskLocal), alloc_id + kSep + task);
}

void WriteTxn::PutAclToken(const ACLToken& token) {
  auto& impl = *store_->impl_;
  ACLToken stored = token;
  stored.SecretID.clear();
  batch_->Put(impl.cf(kAclTokens), token.AccessorID, EncodeJson(stored));
  batch_->Put(impl.cf(kAclSecrets), token.SecretHash, token.AccessorID);
  Touch(Table::kAclTokens);
}

void WriteTxn::DeleteAclToken(const ACLToken& token) {
  auto& impl = *store_->impl_;
  batch_->Delete(impl.cf(kAclTokens), token.AccessorID);
  batch_->Delete(impl.cf(kAclSecrets), token.SecretHash);
  Touch(Table::kAclTokens);
}

void WriteTxn::PutAclPolicy(const ACLPolicy& policy) {
  batch_->Put(store_->impl_->cf(kAclPolicies), policy.Name, EncodeJson(policy));
  Touch(Table::kAclPolicies);
}

void WriteTxn::DeleteAclPolicy(const std::string& name) {
  batch_->Delete(store_->impl_->cf(kAclPolicies), name);
  Touch(Table::kAclPolicies);
}

void WriteTxn::PutNamespace(const std::string& name, const std::string& json) {
  batch_->Put(store_->impl_->cf(kNamespaces), name, json);
  Touch(Table::kNamespaces);
}

void WriteTxn::DeleteNamespace(const std::string& name) {
  batch_->Delete(store_->impl_->cf(kNamespaces), name);
  Touch(Table::kNamespaces);
}

void WriteTxn::PutVariable(const std::string& ns, const std::string& path,
                           const std::string& json) {
  batch_->Put(store_->impl_->cf(kVariables), ns + kSep + path, json);
  Touch(Table::kVariables);
  touched_keys_.push_back(VariableWatchKey(ns, path));
}

void WriteTxn::DeleteVariable(const std::string& ns, const std::string& path) {
  batch_->Delete(store_->impl_->cf(kVariables), ns + kSep + path);
  Touch(Table::kVariables);
  touched_keys_.push_back(VariableWatchKey(ns, path));
}

void WriteTxn::PutScalingEvents(const std::string& ns, const std::string& job_id,
                                const std::string& json) {
  batch_->Put(store_->impl_->cf(kScalingEvents), JobKey(ns, job_id), json);
  Touch(Table::kScalingEvents);
}

void WriteTxn::DeleteScalingEvents(const std::string& ns, const std::string& job_id) {
  batch_->Delete(store_->impl_->cf(kScalingEvents), JobKey(ns, job_id));
  Touch(Table::kScalingEvents);
}

void WriteTxn::PutMeta(const std::string& key, const std::string& value) {
  batch_->Put(store_->impl_->cf(kMeta), key, value);
}

void WriteTxn::AddEvent(Event event) {
  event.Index = index_;
  std::vector<std::string_view> filter_keys(event.FilterKeys.begin(), event.FilterKeys.end());
  for (const std::string& key : JournalObjectKeys(index_, event_seq_, event.Topic, event.Key,
                                                  event.Namespace, filter_keys)) {
    batch_->Put(store_->impl_->cf(kJournalObjects), key, event.Topic);
  }
  // The payload is JSON its topic's encoder wrote (MakeEvent): spliced in
  // as it is rather than parsed and written again, which was a third of
  // the cost of a commit of allocation updates.
  RawJson payload = std::move(event.Payload);
  std::string entry = EncodeJson(event);  // ends with "Payload":null}
  constexpr std::string_view kNullTail = "null}";
  if (!payload.text.empty() && std::string_view(entry).ends_with(kNullTail)) {
    entry.resize(entry.size() - kNullTail.size());
    entry.append(payload.text).push_back('}');
  }
  batch_->Put(store_->impl_->cf(kEvents), Be64(index_) + Be32(event_seq_++), entry);
}

void WriteTxn::Touch(Table t) { touched_ |= 1u << static_cast<unsigned>(t); }

// ---- MigrationTxn over a WriteBatchWithIndex ---------------------------------------
//
// Reads go through the batch, so a step sees what earlier steps of the same
// upgrade (and its own earlier writes) staged; a multi-version upgrade then
// behaves like running the steps one after another.

namespace {

class BatchMigrationTxn : public MigrationTxn {
 public:
  BatchMigrationTxn(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>& cfs,
                    rocksdb::WriteBatchWithIndex* batch)
      : db_(db), cfs_(cfs), batch_(batch) {}

  void Put(const std::string& cf, const std::string& key, const std::string& value) override {
    if (auto* h = Find(cf)) batch_->Put(h, key, value);
  }
  void Delete(const std::string& cf, const std::string& key) override {
    if (auto* h = Find(cf)) batch_->Delete(h, key);
  }
  Status ForEach(const std::string& cf,
                 const std::function<Status(const std::string&, const std::string&)>& fn) override {
    auto* h = Find(cf);
    if (h == nullptr) return Internal("migration: unknown column family " + cf);
    // Collect first: `fn` may write to the batch, which would invalidate an
    // iterator over it.
    std::vector<std::pair<std::string, std::string>> entries;
    {
      std::unique_ptr<rocksdb::Iterator> it(
          batch_->NewIteratorWithBase(h, db_->NewIterator(rocksdb::ReadOptions(), h)));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        entries.emplace_back(it->key().ToString(), it->value().ToString());
      }
      RETURN_IF_ERROR(FromRocks(it->status(), "migration scan"));
    }
    for (const auto& [key, value] : entries) RETURN_IF_ERROR(fn(key, value));
    return Status::Ok();
  }
  Status ScanCommitted(
      const std::string& cf,
      const std::function<Status(std::string_view, std::string_view)>& fn) override {
    auto* h = Find(cf);
    if (h == nullptr) return Internal("migration: unknown column family " + cf);
    rocksdb::ReadOptions options;
    options.fill_cache = false;
    options.readahead_size = 2 << 20;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, h));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      RETURN_IF_ERROR(fn(std::string_view(it->key().data(), it->key().size()),
                         std::string_view(it->value().data(), it->value().size())));
    }
    return FromRocks(it->status(), "migration scan");
  }

 private:
  rocksdb::ColumnFamilyHandle* Find(const std::string& cf) const {
    for (size_t i = 0; i < kCfNames.size(); ++i) {
      if (cf == kCfNames[i]) return cfs_[i];
    }
    return nullptr;
  }

  rocksdb::DB* db_;
  const std::vector<rocksdb::ColumnFamilyHandle*>& cfs_;
  rocksdb::WriteBatchWithIndex* batch_;
};

}  // namespace

// ---- StateStore ------------------------------------------------------------------------

StateStore::StateStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StateStore::~StateStore() = default;

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::string& dir,
                                                     StoreOptions options) {
  auto impl = std::make_unique<Impl>();
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 4;
  db_options.info_log = std::make_shared<AgentLogger>();
  // No blind resume attempts while the disk is still full (they write into
  // files that saw the error); the SstFileManager resumes once space is
  // free, which is the one recovery a full disk needs.
  db_options.max_bgerror_resume_count = 0;

  // Made here, not by RocksDB, which logs an error when it is missing.
  std::error_code dir_error;
  std::filesystem::create_directories(dir, dir_error);
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, dir, Descriptors(), &impl->cfs, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return Unavailable("state store " + dir + " is in use by another process: " + s.ToString());
    }
    return FromRocks(s, ("open state store " + dir).c_str());
  }
  impl->db.reset(raw);
  impl->write_options.sync = options.sync;

  std::unique_ptr<StateStore> store(new StateStore(std::move(impl)));
  Impl& im = *store->impl_;

  // Schema version: absent means a new, empty database (version 0).
  ASSIGN_OR_RETURN(std::optional<std::string> version_text, im.Get(kMeta, "schema_version"));
  int version = 0;
  if (version_text) {
    ASSIGN_OR_RETURN(std::uint64_t v, ParseU64(*version_text, "schema_version"));
    version = static_cast<int>(v);
  }
  int target = options.migrations.empty() ? 0 : options.migrations.back().to_version;
  if (version > target) {
    return FailedPrecondition("state store " + dir + " has schema version " +
                              std::to_string(version) + ", written by a newer Drover; this "
                              "binary supports schema version " + std::to_string(target) +
                              " at most: upgrade Drover to open it");
  }
  if (version < target) {
    // All pending steps go into one batch: a failure or crash part-way
    // leaves the database exactly as it was.
    rocksdb::WriteBatchWithIndex batch(rocksdb::BytewiseComparator(), 0,
                                       /*overwrite_key=*/true);
    BatchMigrationTxn txn(im.db.get(), im.cfs, &batch);
    for (const Migration& m : options.migrations) {
      if (m.to_version <= version) continue;
      Status st = m.apply(txn);
      if (!st.ok()) {
        return st.Annotate("migration to schema v" + std::to_string(m.to_version) + " (" +
                           m.description + ") failed; the database is unchanged");
      }
    }
    batch.Put(im.cf(kMeta), "schema_version", std::to_string(target));
    rocksdb::WriteOptions sync_write;
    sync_write.sync = true;
    RETURN_IF_ERROR(FromRocks(im.db->Write(sync_write, batch.GetWriteBatch()), "write migration"));
    // A migration of a store with data can write a large batch (v9 splits
    // the journal snapshot: tens of MB); flushed now, it is not replayed
    // from the WAL by every later open, read-only views included.
    if (version > 0) {
      RETURN_IF_ERROR(FromRocks(im.db->Flush(rocksdb::FlushOptions(), im.cfs), "flush migration"));
    }
    version = target;
  }
  store->schema_version_ = version;
  RETURN_IF_ERROR(im.LoadIndexes());
  return store;
}

Result<std::unique_ptr<StateStore>> StateStore::OpenReadOnly(const std::string& dir) {
  // The manifest alone tells a Drover store from anything else, without
  // opening (or creating) a database.
  std::vector<std::string> families;
  rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &families);
  if (!listed.ok()) {
    return NotFound(dir + " is not a Drover state store (" + listed.ToString() + ")");
  }
  // The first family each schema version added, and the version before it.
  constexpr std::pair<Cf, int> kAddedBy[] = {
      {kFirstV4Cf, 3}, {kFirstV5Cf, 4}, {kFirstV6Cf, 5}, {kFirstV7Cf, 6}, {kFirstV8Cf, 7}};
  for (auto [first, older] : kAddedBy) {
    if (std::find(families.begin(), families.end(), kCfNames[first]) == families.end() &&
        std::find(families.begin(), families.end(), "allocs") != families.end()) {
      return FailedPrecondition(dir + " was written by an older Drover (schema v" +
                                std::to_string(older) +
                                " or before); start the agent on it once to migrate it, then "
                                "read it");
    }
  }
  // A v8 store keeps its journal snapshot in meta (storage/journal.h reads
  // it there): its view opens without v9's family, whose handle stays null.
  const bool v8 = std::find(families.begin(), families.end(), kCfNames[kFirstV9Cf]) == families.end();
  for (const char* name : kCfNames) {
    if (v8 && name == std::string_view(kCfNames[kFirstV9Cf])) continue;
    if (std::find(families.begin(), families.end(), name) == families.end()) {
      return FailedPrecondition(dir + " is a RocksDB database but not a Drover state store "
                                "(no \"" + name + "\" column family)");
    }
  }

  auto impl = std::make_unique<Impl>();
  impl->read_only = true;
  // A secondary instance keeps its own info log and WAL-tail state; it gets
  // a private directory that the store removes when it closes.
  std::string tmpl = (std::filesystem::temp_directory_path() / "drover-ro-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return Internal("create a temporary directory for a read-only view of " + dir);
  }
  impl->secondary_dir = tmpl;

  rocksdb::DBOptions db_options;
  db_options.max_open_files = -1;  // required of secondary instances
  db_options.info_log = std::make_shared<AgentLogger>();
  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = Descriptors();
  if (v8) descriptors.erase(descriptors.begin() + kFirstV9Cf);
  rocksdb::Status s = rocksdb::DB::OpenAsSecondary(db_options, dir, impl->secondary_dir,
                                                   descriptors, &impl->cfs, &raw);
  RETURN_IF_ERROR(FromRocks(s, ("open state store " + dir + " read-only").c_str()));
  impl->db.reset(raw);
  if (v8) impl->cfs.insert(impl->cfs.begin() + kFirstV9Cf, nullptr);
  // Replays what the primary (a running agent) has written since its last
  // flush, so the view is as recent as the primary's WAL.
  RETURN_IF_ERROR(FromRocks(impl->db->TryCatchUpWithPrimary(), "catch up with the agent"));

  std::unique_ptr<StateStore> store(new StateStore(std::move(impl)));
  Impl& im = *store->impl_;
  ASSIGN_OR_RETURN(std::optional<std::string> version_text, im.Get(kMeta, "schema_version"));
  if (!version_text) {
    return FailedPrecondition(dir + " has no schema version: not an initialised Drover state "
                              "store");
  }
  ASSIGN_OR_RETURN(std::uint64_t version, ParseU64(*version_text, "schema_version"));
  store->schema_version_ = static_cast<int>(version);
  RETURN_IF_ERROR(im.LoadIndexes());
  return store;
}

bool StateStore::read_only() const { return impl_->read_only; }

Result<std::uint64_t> StateStore::Apply(const std::function<Status(WriteTxn&)>& fn) {
  Impl& im = *impl_;
  if (im.read_only) return ReadOnlyError("apply");
  std::uint64_t index;
  std::uint32_t touched;
  std::vector<std::string> touched_keys;
  {
    std::lock_guard<std::mutex> lock(im.write_mu);
    index = im.latest.load() + 1;
    rocksdb::WriteBatch batch;
    WriteTxn txn(this, &batch, index);
    RETURN_IF_ERROR(fn(txn));
    RETURN_IF_ERROR(txn.error_);
    touched = txn.touched_;
    std::optional<std::uint64_t> entries = im.journal_entries;
    if (entries && txn.event_seq_ > 0) {
      *entries += txn.event_seq_;
      batch.Put(im.cf(kMeta), kJournalEntriesKey, std::to_string(*entries));
    }
    touched_keys = std::move(txn.touched_keys_);
    batch.Put(im.cf(kMeta), "index", std::to_string(index));
    for (Table t : kIndexedTables) {
      if (touched & (1u << static_cast<unsigned>(t)))
        batch.Put(im.cf(kMeta), TableIndexKey(t), std::to_string(index));
    }
    // The commit's latency, synced write included (/v1/metrics).
    static const metrics::SampleSeries commit_ms = metrics::RegisterSample("drover.store.commit_ms", {});
    const auto started = std::chrono::steady_clock::now();
    Status written = FromRocks(im.db->Write(im.write_options, &batch), "commit");
    commit_ms.Add(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                      .count());
    im.NoteWrite(written);
    RETURN_IF_ERROR(written);
    for (auto& [key, job] : txn.new_jobs_) im.CacheJob(key, std::move(job));
    for (Table t : kIndexedTables) {
      if (touched & (1u << static_cast<unsigned>(t)))
        im.table_index[static_cast<size_t>(t)] = index;
    }
    im.latest = index;
    im.journal_entries = entries;
  }

  // Wake the waiters this commit satisfies, outside every lock.
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard<std::mutex> lock(im.watch_mu);
    std::vector<WatchId> fired;
    for (const std::string& key : touched_keys) {
      auto [lo, hi] = im.waiters_by_key.equal_range(key);
      for (auto k = lo; k != hi; ++k) fired.push_back(k->second);
    }
    for (const auto& [id, waiter] : im.waiters) {
      if (waiter.keys.empty() && (waiter.tables & touched) != 0) fired.push_back(id);
    }
    for (WatchId id : fired) {
      auto it = im.waiters.find(id);
      if (it == im.waiters.end() || index <= it->second.min_index) continue;
      ready.push_back(im.TakeWaiter(id));
    }
  }
  for (auto& cb : ready) cb();
  return index;
}

std::uint64_t StateStore::LatestIndex() const { return impl_->latest.load(); }

std::uint64_t StateStore::TableIndex(Table t) const {
  return impl_->table_index[static_cast<size_t>(t)].load();
}

Result<std::optional<Job>> StateStore::GetJob(const std::string& ns, const std::string& id) const {
  return impl_->GetObject<Job>(kJobs, JobKey(ns, id), "Job");
}

Result<std::vector<Job>> StateStore::ListJobs() const {
  return impl_->ListObjects<Job>(kJobs, "", "Job");
}

Result<std::optional<Evaluation>> StateStore::GetEval(const std::string& id) const {
  return impl_->GetObject<Evaluation>(kEvals, id, "Evaluation");
}

Result<std::vector<Evaluation>> StateStore::ListEvals() const {
  return impl_->ObjectsFromIndex<Evaluation>(kEvalCreate, "", 8, kEvals, "Evaluation");
}

Result<std::optional<Allocation>> StateStore::GetAlloc(const std::string& id) const {
  ASSIGN_OR_RETURN(std::optional<std::string> raw, impl_->Get(kAllocs, id));
  if (!raw) return std::optional<Allocation>();
  ASSIGN_OR_RETURN(Allocation alloc, impl_->DecodeAllocWithJob(*raw));
  return std::optional<Allocation>(std::move(alloc));
}

Result<std::optional<StoredAlloc>> StateStore::GetAllocWithoutJob(const std::string& id) const {
  ASSIGN_OR_RETURN(std::optional<std::string> raw, impl_->Get(kAllocs, id));
  if (!raw) return std::optional<StoredAlloc>();
  ASSIGN_OR_RETURN(StoredAlloc stored, impl_->DecodeAlloc(*raw));
  return std::optional<StoredAlloc>(std::move(stored));
}

Result<std::optional<StateStore::AllocJson>> StateStore::GetAllocJson(const std::string& id) const {
  ASSIGN_OR_RETURN(std::optional<std::string> raw, impl_->Get(kAllocs, id));
  if (!raw) return std::optional<AllocJson>();
  ASSIGN_OR_RETURN(AllocRecordView view, ParseAllocRecord(*raw));
  AllocJson out;
  out.modify_index = view.header.modify_index;
  if (!view.header.job) {
    out.json = std::string(view.json);
    return std::optional<AllocJson>(std::move(out));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const CachedJob> job,
                   impl_->LoadJob(std::string(view.header.job_key)));
  if (!job) return Internal("allocation " + id + " refers to a job version the store lacks");
  ASSIGN_OR_RETURN(out.json, SpliceJob(view.json, job->json));
  return std::optional<AllocJson>(std::move(out));
}

Result<std::vector<Allocation>> StateStore::ListAllocs() const {
  ASSIGN_OR_RETURN(std::vector<Allocation> allocs, impl_->ListAllocRecords(""));
  std::sort(allocs.begin(), allocs.end(), [](const Allocation& x, const Allocation& y) {
    return x.CreateIndex != y.CreateIndex ? x.CreateIndex < y.CreateIndex : x.ID < y.ID;
  });
  return allocs;
}

Status StateStore::ScanAllocStubs(bool reverse, const AllocKey* from,
                                  const std::function<bool(const StubEntry&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kAllocCreate)));
  if (from != nullptr) {
    const std::string key = AllocCreateKey(from->create_index, from->id);
    reverse ? it->SeekForPrev(key) : it->Seek(key);
  } else {
    reverse ? it->SeekToLast() : it->SeekToFirst();
  }
  for (; it->Valid(); reverse ? it->Prev() : it->Next()) {
    rocksdb::Slice k = it->key();
    if (k.size() <= 8) continue;
    std::uint64_t index = 0;
    for (int i = 0; i < 8; ++i) index = index << 8 | static_cast<unsigned char>(k.data()[i]);
    ASSIGN_OR_RETURN(StubRecordView stub,
                     ParseStubRecord(std::string_view(it->value().data(), it->value().size())));
    if (!fn(StubEntry{index, std::string_view(k.data() + 8, k.size() - 8), stub})) break;
  }
  return FromRocks(it->status(), "scan allocation stubs");
}

Result<std::vector<Job>> StateStore::ListJobVersions(const std::string& ns,
                                                     const std::string& id) const {
  ASSIGN_OR_RETURN(std::vector<Job> jobs,
                   impl_->ListObjects<Job>(kJobVersions, ns + kSep + id + kSep, "Job"));
  std::reverse(jobs.begin(), jobs.end());
  return jobs;
}

Result<std::vector<StateStore::AllocKey>> StateStore::ListAllocKeys() const {
  std::vector<AllocKey> keys;
  RETURN_IF_ERROR(impl_->Scan(kAllocCreate, "", [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
    if (k.size() <= 8) return true;
    std::uint64_t index = 0;
    for (int i = 0; i < 8; ++i) index = index << 8 | static_cast<unsigned char>(k.data()[i]);
    keys.push_back(AllocKey{index, std::string(k.data() + 8, k.size() - 8)});
    return true;
  }));
  return keys;
}

Result<std::vector<Allocation>> StateStore::ListAllocsByIDPrefix(const std::string& prefix) const {
  return impl_->ListAllocRecords(prefix);
}

Result<std::vector<Allocation>> StateStore::ListAllocsByJob(const std::string& ns,
                                                            const std::string& job_id) const {
  const std::string prefix = ns + kSep + job_id + kSep;
  std::vector<std::string> ids;
  RETURN_IF_ERROR(impl_->Scan(kAllocJob, prefix, [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
    if (k.size() > prefix.size()) ids.emplace_back(k.data() + prefix.size(), k.size() - prefix.size());
    return true;
  }));
  std::vector<Allocation> out;
  out.reserve(ids.size());
  for (const auto& id : ids) {
    ASSIGN_OR_RETURN(std::optional<Allocation> alloc, GetAlloc(id));
    if (alloc) out.push_back(std::move(*alloc));
  }
  return out;
}

Result<std::optional<Deployment>> StateStore::GetDeployment(const std::string& id) const {
  return impl_->GetObject<Deployment>(kDeployments, id, "Deployment");
}

Result<std::vector<Deployment>> StateStore::ListDeployments() const {
  return impl_->ListObjects<Deployment>(kDeployments, "", "Deployment");
}

Result<std::optional<Node>> StateStore::GetNode(const std::string& id) const {
  return impl_->GetObject<Node>(kNodes, id, "Node");
}

Result<std::vector<Node>> StateStore::ListNodes() const {
  return impl_->ListObjects<Node>(kNodes, "", "Node");
}

Result<std::optional<ACLToken>> StateStore::GetAclToken(const std::string& accessor_id) const {
  return impl_->GetObject<ACLToken>(kAclTokens, accessor_id, "ACLToken");
}

Result<std::optional<ACLToken>> StateStore::GetAclTokenBySecretHash(
    const std::string& secret_hash) const {
  ASSIGN_OR_RETURN(std::optional<std::string> accessor, impl_->Get(kAclSecrets, secret_hash));
  if (!accessor) return std::optional<ACLToken>();
  return GetAclToken(*accessor);
}

Result<std::vector<ACLToken>> StateStore::ListAclTokens() const {
  return impl_->ListObjects<ACLToken>(kAclTokens, "", "ACLToken");
}

Result<std::optional<std::string>> StateStore::GetScalingEvents(const std::string& ns,
                                                               const std::string& job_id) const {
  return impl_->Get(kScalingEvents, JobKey(ns, job_id));
}

Result<std::optional<ACLPolicy>> StateStore::GetAclPolicy(const std::string& name) const {
  return impl_->GetObject<ACLPolicy>(kAclPolicies, name, "ACLPolicy");
}

Result<std::vector<ACLPolicy>> StateStore::ListAclPolicies() const {
  return impl_->ListObjects<ACLPolicy>(kAclPolicies, "", "ACLPolicy");
}

Result<std::optional<std::string>> StateStore::GetNamespaceJson(const std::string& name) const {
  return impl_->Get(kNamespaces, name);
}

Status StateStore::ScanNamespaces(const std::function<bool(std::string_view json)>& fn) const {
  return impl_->Scan(kNamespaces, "", [&](const rocksdb::Slice&, const rocksdb::Slice& v) {
    return fn(std::string_view(v.data(), v.size()));
  });
}

Result<std::optional<std::string>> StateStore::GetVariableJson(const std::string& ns,
                                                               const std::string& path) const {
  return impl_->Get(kVariables, ns + kSep + path);
}

Status StateStore::ScanVariables(const std::string& ns,
                                 const std::function<bool(std::string_view json)>& fn) const {
  return impl_->Scan(kVariables, ns.empty() ? "" : ns + kSep,
                     [&](const rocksdb::Slice&, const rocksdb::Slice& v) {
                       return fn(std::string_view(v.data(), v.size()));
                     });
}

Result<std::optional<std::string>> StateStore::GetTaskLocal(const std::string& alloc_id,
                                                            const std::string& task) const {
  return impl_->Get(kTaskLocal, alloc_id + kSep + task);
}

Result<std::vector<Event>> StateStore::ListEvents(std::uint64_t from_index,
                                                  std::size_t limit) const {
  std::vector<Event> out;
  Status decode_error;
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kEvents)));
  for (it->Seek(Be64(from_index)); it->Valid() && out.size() < limit; it->Next()) {
    auto ev = DecodeJson<Event>(std::string_view(it->value().data(), it->value().size()), "Event");
    if (!ev.ok()) return ev.status();
    out.push_back(std::move(ev).value());
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "scan events"));
  return out;
}

Status StateStore::ScanEventsRaw(
    std::uint64_t from_index,
    const std::function<Result<bool>(std::uint64_t index, std::string_view json)>& fn) const {
  rocksdb::ReadOptions options;
  options.fill_cache = false;  // a long scan: keep the cache for the agent
  options.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(options, impl_->cf(kEvents)));
  for (it->Seek(Be64(from_index)); it->Valid(); it->Next()) {
    const rocksdb::Slice key = it->key();
    if (key.size() < 8) return Internal("journal: a key of " + std::to_string(key.size()) + " bytes");
    std::uint64_t index = 0;
    for (int i = 0; i < 8; ++i) index = (index << 8) | static_cast<unsigned char>(key[i]);
    ASSIGN_OR_RETURN(bool more, fn(index, std::string_view(it->value().data(), it->value().size())));
    if (!more) return Status::Ok();
  }
  return FromRocks(it->status(), "scan events");
}

namespace {

// The (index, seq) at the end of a `journal_objects` key.
JournalKey ParseJournalObjectKey(const rocksdb::Slice& key, const rocksdb::Slice& topic) {
  JournalKey out;
  const char* p = key.data() + key.size() - 12;
  for (int i = 0; i < 8; ++i) out.index = (out.index << 8) | static_cast<unsigned char>(p[i]);
  for (int i = 8; i < 12; ++i) out.seq = (out.seq << 8) | static_cast<unsigned char>(p[i]);
  out.topic = topic.ToString();
  return out;
}

}  // namespace

Result<std::vector<JournalKey>> StateStore::ListAllocJournal(const std::string& id,
                                                            bool prefix) const {
  std::vector<JournalKey> out;
  std::string start = "a" + id;
  if (!prefix) start.push_back(kSep);
  RETURN_IF_ERROR(impl_->Scan(kJournalObjects, start, [&](const rocksdb::Slice& k,
                                                          const rocksdb::Slice& v) {
    // Exact: the rest is the entry's 12 bytes; a prefix: the rest of an
    // ID, its separator, then those.
    if (k.size() >= start.size() + (prefix ? 13 : 12)) out.push_back(ParseJournalObjectKey(k, v));
    return true;
  }));
  // A prefix may match several allocations, each listed on its own.
  if (prefix) {
    std::sort(out.begin(), out.end(), [](const JournalKey& a, const JournalKey& b) {
      return std::tie(a.index, a.seq) < std::tie(b.index, b.seq);
    });
  }
  return out;
}

Status StateStore::ScanAllocJobIndex(
    const std::function<bool(std::string_view, std::string_view, std::string_view)>& fn) const {
  Status bad;
  RETURN_IF_ERROR(impl_->Scan(kAllocJob, "", [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
    const std::string_view key(k.data(), k.size());
    const std::size_t a = key.find(kSep);
    const std::size_t b = a == std::string_view::npos ? a : key.find(kSep, a + 1);
    if (b == std::string_view::npos) {
      bad = Internal("alloc_job: a key without its three parts");
      return false;
    }
    return fn(key.substr(0, a), key.substr(a + 1, b - a - 1), key.substr(b + 1));
  }));
  return bad;
}

Status StateStore::ScanJournalObjects(
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  rocksdb::ReadOptions options;
  options.fill_cache = false;  // a long scan: keep the cache for the agent
  options.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(options, impl_->cf(kJournalObjects)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (!fn(std::string_view(it->key().data(), it->key().size()),
            std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return FromRocks(it->status(), "scan journal_objects");
}

Result<std::vector<JournalKey>> StateStore::ListJobJournal(const std::string& id,
                                                          const std::string& ns) const {
  std::vector<JournalKey> out;
  std::string start = "j" + id + kSep;
  if (!ns.empty()) start += ns + kSep;
  RETURN_IF_ERROR(impl_->Scan(kJournalObjects, start, [&](const rocksdb::Slice& k,
                                                          const rocksdb::Slice& v) {
    if (k.size() >= start.size() + 12) out.push_back(ParseJournalObjectKey(k, v));
    return true;
  }));
  if (ns.empty()) {
    std::sort(out.begin(), out.end(), [](const JournalKey& a, const JournalKey& b) {
      return std::tie(a.index, a.seq) < std::tie(b.index, b.seq);
    });
  }
  return out;
}

Result<std::vector<JournalKey>> StateStore::ListNodeJournal() const {
  std::vector<JournalKey> out;
  RETURN_IF_ERROR(impl_->Scan(kJournalObjects, "n", [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
    if (k.size() >= 1 + 13) out.push_back(ParseJournalObjectKey(k, v));
    return true;
  }));
  // Each node's entries are listed on their own.
  std::sort(out.begin(), out.end(), [](const JournalKey& a, const JournalKey& b) {
    return std::tie(a.index, a.seq) < std::tie(b.index, b.seq);
  });
  return out;
}

Result<std::optional<std::string>> StateStore::GetJournalEntry(const JournalKey& key) const {
  return impl_->Get(kEvents, Be64(key.index) + Be32(key.seq));
}

Result<std::vector<std::optional<std::string>>> StateStore::GetJournalEntries(
    const std::vector<JournalKey>& keys) const {
  std::vector<std::string> raw_keys;
  raw_keys.reserve(keys.size());
  for (const JournalKey& k : keys) raw_keys.push_back(Be64(k.index) + Be32(k.seq));
  return impl_->MultiGet(kEvents, raw_keys);
}

Result<std::optional<std::string>> StateStore::GetMeta(const std::string& key) const {
  return impl_->Get(kMeta, key);
}

Result<std::vector<StateStore::TaskLocalEntry>> StateStore::ListTaskLocal() const {
  std::vector<TaskLocalEntry> out;
  RETURN_IF_ERROR(impl_->Scan(kTaskLocal, "", [&](const rocksdb::Slice& k,
                                                  const rocksdb::Slice& v) {
    std::string key = k.ToString();
    auto sep = key.find(kSep);
    TaskLocalEntry e;
    e.alloc_id = key.substr(0, sep);
    e.task = sep == std::string::npos ? "" : key.substr(sep + 1);
    e.json = v.ToString();
    out.push_back(std::move(e));
    return true;
  }));
  return out;
}

Result<std::optional<std::string>> StateStore::GetSnapshotObject(const std::string& key) const {
  if (impl_->cf(kJournalSnapshot) == nullptr) return std::optional<std::string>();
  return impl_->Get(kJournalSnapshot, key);
}

Status StateStore::ScanSnapshot(
    const std::string& prefix,
    const std::function<Result<bool>(std::string_view key, std::string_view value)>& fn) const {
  if (impl_->cf(kJournalSnapshot) == nullptr) return Status::Ok();
  rocksdb::ReadOptions options;
  options.fill_cache = false;  // read once per tool run: keep the cache for the agent
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(options, impl_->cf(kJournalSnapshot)));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    ASSIGN_OR_RETURN(bool more, fn(std::string_view(it->key().data(), it->key().size()),
                                   std::string_view(it->value().data(), it->value().size())));
    if (!more) return Status::Ok();
  }
  return FromRocks(it->status(), "scan journal_snapshot");
}

Status StateStore::FoldJournal(std::uint64_t expected_base, std::uint64_t through_index,
                               const std::string& header,
                               const std::function<Status(const SnapshotSink&)>& objects) {
  Impl& im = *impl_;
  if (im.read_only) return ReadOnlyError("fold journal");
  // The batch is staged before the lock: entries below the head never
  // change, and a concurrent compaction is caught by the base check below.
  rocksdb::WriteBatch batch;
  batch.DeleteRange(im.cf(kEvents), Be64(0), Be64(through_index + 1));
  std::uint64_t folded = 0;
  {
    rocksdb::ReadOptions options;
    options.fill_cache = false;
    options.readahead_size = 2 << 20;
    const std::string end = Be64(through_index + 1);
    std::unique_ptr<rocksdb::Iterator> it(im.db->NewIterator(options, im.cf(kEvents)));
    for (it->Seek(Be64(expected_base + 1)); it->Valid() && it->key().compare(end) < 0; it->Next()) {
      const rocksdb::Slice key = it->key();
      if (key.size() != 12) return Internal("journal: a key of " + std::to_string(key.size()) + " bytes");
      std::uint64_t index = 0;
      std::uint32_t seq = 0;
      for (int i = 0; i < 8; ++i) index = (index << 8) | static_cast<unsigned char>(key[i]);
      for (int i = 8; i < 12; ++i) seq = (seq << 8) | static_cast<unsigned char>(key[i]);
      ASSIGN_OR_RETURN(JournalObjectEntry entry,
                       JournalObjectKeysOf(index, seq, std::string_view(it->value().data(), it->value().size())));
      for (const std::string& k : entry.keys) batch.Delete(im.cf(kJournalObjects), k);
      ++folded;
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "scan events"));
  }
  // The old snapshot goes whole (every key is below "\xff"); the new one's
  // objects come after the range deletion in the batch, so they stay.
  rocksdb::ColumnFamilyHandle* snapshot = im.cf(kJournalSnapshot);
  batch.DeleteRange(snapshot, "", "\xff");
  RETURN_IF_ERROR(objects([&](std::string_view key, std::string_view value) {
    batch.Put(snapshot, rocksdb::Slice(key.data(), key.size()), rocksdb::Slice(value.data(), value.size()));
  }));
  batch.Put(im.cf(kMeta), kJournalBaseKey, std::to_string(through_index));
  batch.Put(im.cf(kMeta), kJournalHeaderKey, header);
  batch.Delete(im.cf(kMeta), kJournalSnapshotV8Key);

  // Under the write lock: no commit interleaves, so the base check and the
  // write are one step.
  std::lock_guard<std::mutex> lock(im.write_mu);
  ASSIGN_OR_RETURN(std::optional<std::string> base_text, im.Get(kMeta, kJournalBaseKey));
  std::uint64_t base = 0;
  if (base_text) {
    ASSIGN_OR_RETURN(base, ParseU64(*base_text, "journal base"));
  }
  if (base != expected_base) {
    return Unavailable("journal compacted concurrently (base " + std::to_string(base) +
                       ", expected " + std::to_string(expected_base) + ")");
  }
  if (through_index <= base) return Status::Ok();
  std::optional<std::uint64_t> entries = im.journal_entries;
  if (entries) {
    *entries -= std::min(*entries, folded);
    batch.Put(im.cf(kMeta), kJournalEntriesKey, std::to_string(*entries));
  }
  rocksdb::WriteOptions sync_write;
  sync_write.sync = true;
  RETURN_IF_ERROR(FromRocks(im.db->Write(sync_write, &batch), "fold journal"));
  im.journal_entries = entries;
  // The snapshot (tens of MB on a big node) would otherwise stay in the WAL
  // until every family with a write in that log flushes, and each read-only
  // open (the state tools) would replay it: flushed in the background.
  rocksdb::FlushOptions flush;
  flush.wait = false;
  im.db->Flush(flush, im.cfs).PermitUncheckedError();
  return Status::Ok();
}

Status StateStore::Flush() {
  if (impl_->read_only) return ReadOnlyError("flush");
  return FromRocks(impl_->db->Flush(rocksdb::FlushOptions(), impl_->cfs), "flush");
}

Status StateStore::PutMeta(const std::string& key, const std::string& value) {
  if (impl_->read_only) return ReadOnlyError("put meta");
  rocksdb::WriteOptions sync_write;
  sync_write.sync = true;
  return FromRocks(impl_->db->Put(sync_write, impl_->cf(kMeta), key, value), "write meta");
}

WatchId StateStore::Watch(const WatchSpec& spec, std::uint64_t min_index,
                          std::function<void()> callback) {
  std::uint32_t mask = 0;
  auto changed = [&] {
    for (Table t : spec.tables) {
      if (TableIndex(t) > min_index) return true;
    }
    return false;
  };
  for (Table t : spec.tables) mask |= 1u << static_cast<unsigned>(t);
  if (changed()) {
    callback();
    return 0;
  }
  WatchId id;
  {
    std::lock_guard<std::mutex> lock(impl_->watch_mu);
    id = impl_->next_watch++;
    impl_->waiters.emplace(id, Impl::Waiter{mask, spec.keys, min_index, std::move(callback)});
    for (const std::string& key : spec.keys) impl_->waiters_by_key.emplace(key, id);
  }
  // A commit may have landed between the check above and the registration.
  if (changed()) {
    std::function<void()> cb;
    {
      std::lock_guard<std::mutex> lock(impl_->watch_mu);
      cb = impl_->TakeWaiter(id);
    }
    if (cb) cb();  // else the commit already fired it
  }
  return id;
}

void StateStore::CancelWatch(WatchId id) {
  std::lock_guard<std::mutex> lock(impl_->watch_mu);
  impl_->TakeWaiter(id);
}

}  // namespace drover
