// `drover`'s client commands: the entry point cmd/main.cc dispatches to.
#pragma once

namespace drover::cli {

// True when argv names a client command (job run, alloc status, node, acl,
// ...) rather than one of the agent's own (agent, state, events, job parse,
// version).
bool IsClientCommand(int argc, char** argv);

// Runs a client command; the process's exit code.
int RunClient(int argc, char** argv);

// The top-level usage (`drover` with no arguments, `drover -help`).
void PrintUsage();

}  // namespace drover::cli
