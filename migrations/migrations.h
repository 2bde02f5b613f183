// Numbered schema migrations of the state store.
//
// Each step moves the RocksDB state from one schema version to the next.
// StateStore::Open runs every pending step inside one WriteBatch, so a step
// that fails, or a crash part-way, leaves the database as it was; running
// a step again over the same input gives the same result.
//
// To change the schema: add a step here with the next version, describe
// what it rewrites, and test it against a database written by the previous
// version's writer (tests/unit/migrations_test.cc).
#pragma once

#include <vector>

#include "storage/state_store.h"

namespace drover::migrations {

// The schema version this binary writes.
inline constexpr int kSchemaVersion = 10;

// Every step, in ascending version order.
std::vector<Migration> All();

// The oldest schema the read-only tools read as it is (they never
// migrate): the journal's object index on. Later steps changed only what
// the readers read in both layouts: the journal snapshot's (v9), and the
// index of Node events (v10; found by a journal scan before).
int OldestReadableSchema();

}  // namespace drover::migrations
