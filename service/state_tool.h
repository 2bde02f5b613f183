// The state tooling of the `drover` CLI:
//
//   drover state dump    [--data-dir D] [--table T] [--id PREFIX] [--job ID] [--alloc PREFIX]
//                        [--since INDEX|RFC3339] [--format json|ndjson|table]
//   drover state check   [--data-dir D]
//   drover events replay [--data-dir D] [--alloc ID] [--task NAME] [--job ID]
//                        [--from-index N] [--to-index N] [--since RFC3339] [--json]
//                        [--at INDEX [--table T] [--id PREFIX]]
//   drover events diff   [--data-dir D] --from I --to J [--alloc PREFIX]
//   drover events why    [--data-dir D] ALLOC [TASK]
//
// Every command reads <data-dir>/state through a read-only RocksDB
// secondary instance (StateStore::OpenReadOnly), so it works the same
// whether or not an agent is running on the data dir and never writes to
// it. Each reads the journal once, decoding only the entries it needs
// (storage/journal_scan.h), and writes its output as it goes. Exit status:
// 0 success, 1 failure, 2 usage; `check`: 0 healthy, 1 an invariant does
// not hold, 3 the store or its journal cannot be read.
#pragma once

namespace CLI {
class App;
}

namespace drover {

// Registers the `state` and `events` subcommands on `app`. They run from
// their CLI11 callbacks during parsing; a non-zero exit is thrown as
// CLI::RuntimeError, which CLI11_PARSE turns into the exit status.
void AddStateCommands(CLI::App& app);

}  // namespace drover
