// The state tooling of the `drover` CLI:
//
//   drover state dump    [--data-dir D] [--table T] [--id PREFIX] [--format json|table]
//   drover state check   [--data-dir D]
//   drover events replay [--data-dir D] [--alloc ID] [--task NAME] [--job ID]
//                        [--from-index N] [--to-index N] [--since RFC3339] [--json]
//                        [--at INDEX [--table T] [--id PREFIX]]
//
// Every command reads <data-dir>/state through a read-only RocksDB
// secondary instance (StateStore::OpenReadOnly), so it works the same
// whether or not an agent is running on the data dir and never writes to
// it. Exit status: 0 success, 1 failure (for `check`: an invariant does
// not hold), 2 usage.
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
