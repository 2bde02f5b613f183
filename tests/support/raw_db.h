// A state store opened as plain RocksDB with every column family, for
// tests that must write or read what the store's API would not (a broken
// index, an older schema's layout). Closes on destruction.
#pragma once

#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace drover::testing {

class RawDb {
 public:
  // Null when `dir` holds no store or RocksDB refuses it.
  static std::unique_ptr<RawDb> Open(const std::string& dir, bool read_only = false) {
    std::vector<std::string> names;
    if (!rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names).ok()) return nullptr;
    std::vector<rocksdb::ColumnFamilyDescriptor> descs;
    for (const auto& n : names) descs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    auto raw = std::unique_ptr<RawDb>(new RawDb);
    raw->names_ = std::move(names);
    const rocksdb::Status s =
        read_only ? rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir, descs, &raw->handles_, &raw->db_)
                  : rocksdb::DB::Open(rocksdb::DBOptions(), dir, descs, &raw->handles_, &raw->db_);
    return s.ok() ? std::move(raw) : nullptr;
  }

  ~RawDb() {
    for (auto* h : handles_) {
      if (h != nullptr) db_->DestroyColumnFamilyHandle(h);
    }
    delete db_;
  }

  rocksdb::DB* db() const { return db_; }
  // The handle of column family `name`, or null.
  rocksdb::ColumnFamilyHandle* Family(std::string_view name) const {
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == name) return handles_[i];
    }
    return nullptr;
  }
  // Drops column family `name` (its handle is released).
  rocksdb::Status Drop(std::string_view name) {
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] != name) continue;
      rocksdb::Status s = db_->DropColumnFamily(handles_[i]);
      db_->DestroyColumnFamilyHandle(handles_[i]);
      handles_[i] = nullptr;
      return s;
    }
    return rocksdb::Status::NotFound(std::string(name));
  }

 private:
  RawDb() = default;
  std::vector<std::string> names_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::DB* db_ = nullptr;
};

}  // namespace drover::testing
