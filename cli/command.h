// The client commands of `drover` (`drover alloc status ID`, ...): each is
// a name of one or two words, a synopsis, a help text and a function that
// takes the arguments after the name. Each area registers its own.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cli/flags.h"
#include "cli/meta.h"

namespace drover::cli {

struct Command {
  std::string name;      // "alloc status"
  std::string synopsis;  // one line for the command lists
  std::string help;      // "Usage: drover alloc status [options] <allocation>\n\n  ..."
  std::function<int(const Command&, const std::vector<std::string>&)> run;
};

// Parses `argv` with `flags`. On -help prints the command's help with the
// flags and sets `exit_code` to 0; on a bad flag prints the error and sets
// it to 1; both return nullopt. Else the arguments after the flags.
std::optional<std::vector<std::string>> ParseArgs(const Command& cmd, FlagSet& flags,
                                                  const std::vector<std::string>& argv,
                                                  int& exit_code);

inline constexpr std::size_t kAnyCount = static_cast<std::size_t>(-1);

// The start every command shares: the flags parsed, between `min` and
// `max` arguments (else `usage`, exit 1), the agent's address resolved.
// nullopt: go on with `args`; else the exit code (help: 0, errors: 1).
std::optional<int> Begin(const Command& cmd, FlagSet& flags, Meta& meta,
                         const std::vector<std::string>& argv, std::vector<std::string>& args,
                         std::size_t min, std::size_t max, const std::string& usage);

// Runs the registered command `name` with `argv`; `status` dispatches so.
int RunCommand(const std::string& name, const std::vector<std::string>& argv);

void AddJobCommands(std::vector<Command>& out);
void AddAllocCommands(std::vector<Command>& out);
void AddNodeCommands(std::vector<Command>& out);
void AddOtherCommands(std::vector<Command>& out);  // status, event, acl, operator, var

}  // namespace drover::cli
