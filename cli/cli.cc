#include "cli/cli.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <set>

#include "cli/command.h"
#include "cli/meta.h"

namespace drover::cli {

namespace {

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = [] {
    std::vector<Command> out;
    AddJobCommands(out);
    AddAllocCommands(out);
    AddNodeCommands(out);
    AddOtherCommands(out);
    return out;
  }();
  return commands;
}

std::string FirstWord(const std::string& name) { return name.substr(0, name.find(' ')); }

// The agent's own commands, served by CLI11 in cmd/main.cc.
const char* const kAgentCommands =
    "    agent                 Run the agent\n"
    "    state dump|check      Read a stopped agent's data dir\n"
    "    events replay         Replay the journal of a data dir\n"
    "    job parse             An HCL job file as JSON, offline\n"
    "    version               Print the version\n";

void PrintNoun(const std::string& noun) {
  std::cerr << "Usage: drover " << noun << " <subcommand> [options] [args]\n\nSubcommands:\n";
  for (const Command& c : Commands()) {
    if (FirstWord(c.name) != noun || c.name == noun) continue;
    std::string sub = c.name.substr(noun.size() + 1);
    std::cerr << "    " << sub << std::string(sub.size() < 22 ? 22 - sub.size() : 1, ' ') << c.synopsis
              << "\n";
  }
}

}  // namespace

std::optional<std::vector<std::string>> ParseArgs(const Command& cmd, FlagSet& flags,
                                                  const std::vector<std::string>& argv,
                                                  int& exit_code) {
  auto args = flags.Parse(argv);
  if (args.ok()) return std::move(args).value();
  if (args.status().message() == "help") {
    std::cout << cmd.help << "\n\nOptions:\n\n" << flags.Describe();
    exit_code = 0;
  } else {
    exit_code = UsageError(cmd.name, args.status().message());
  }
  return std::nullopt;
}

int RunCommand(const std::string& name, const std::vector<std::string>& argv) {
  for (const Command& c : Commands()) {
    if (c.name == name) return c.run(c, argv);
  }
  return Fail("unknown command " + name);
}

std::optional<int> Begin(const Command& cmd, FlagSet& flags, Meta& meta,
                         const std::vector<std::string>& argv, std::vector<std::string>& args,
                         std::size_t min, std::size_t max, const std::string& usage) {
  int code = 0;
  auto parsed = ParseArgs(cmd, flags, argv, code);
  if (!parsed) return code;
  if (parsed->size() < min || parsed->size() > max) return UsageError(cmd.name, usage);
  if (Status st = meta.Resolve(); !st.ok()) return Fail(st.message());
  args = std::move(parsed).value();
  return std::nullopt;
}

bool IsClientCommand(int argc, char** argv) {
  if (argc < 2) return false;
  const std::string noun = argv[1];
  if (noun == "job" && argc >= 3 && std::string(argv[2]) == "parse") return false;
  for (const Command& c : Commands()) {
    if (FirstWord(c.name) == noun) return true;
  }
  return false;
}

void PrintUsage() {
  std::cout << "Usage: drover [-version] [-help] <command> [args]\n\n"
               "Client commands (Nomad's, against a running agent):\n";
  std::set<std::string> nouns;
  for (const Command& c : Commands()) nouns.insert(FirstWord(c.name));
  static const std::map<std::string, std::string> kNouns = {
      {"job", "Interact with jobs (run, status, stop, inspect, ...)"},
      {"alloc", "Interact with allocations (status, logs, exec, ...)"},
      {"node", "Interact with the node"},
      {"status", "Display the status of jobs, allocations, nodes"},
      {"event", "Interact with the event stream"},
      {"acl", "Interact with ACL policies and tokens"},
      {"operator", "Operator tools (metrics)"},
      {"var", "Interact with variables"},
  };
  for (const std::string& n : nouns) {
    auto it = kNouns.find(n);
    std::cout << "    " << n << std::string(n.size() < 22 ? 22 - n.size() : 1, ' ')
              << (it != kNouns.end() ? it->second : "") << "\n";
  }
  std::cout << "\nAgent commands:\n" << kAgentCommands
            << "\nThe agent's address comes from -address, NOMAD_ADDR or DROVER_ADDR\n"
               "(default http://127.0.0.1:4646). `drover <command> -help` tells more.\n";
}

int RunClient(int argc, char** argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  const Command* best = nullptr;
  std::size_t used = 0;
  for (const Command& c : Commands()) {
    // A name of one to three words, matched against the first arguments.
    std::vector<std::string> name;
    for (std::size_t start = 0;;) {
      const auto space = c.name.find(' ', start);
      name.push_back(c.name.substr(start, space == std::string::npos ? std::string::npos : space - start));
      if (space == std::string::npos) break;
      start = space + 1;
    }
    if (words.size() < name.size() || name.size() <= used) continue;
    if (std::equal(name.begin(), name.end(), words.begin())) {
      best = &c;
      used = name.size();
    }
  }
  if (best == nullptr) {
    PrintNoun(words[0]);
    const bool help = words.size() >= 2 && (words[1] == "-help" || words[1] == "--help" ||
                                            words[1] == "-h");
    return help ? 0 : 1;
  }
  return best->run(*best, std::vector<std::string>(words.begin() + static_cast<std::ptrdiff_t>(used),
                                                   words.end()));
}

}  // namespace drover::cli
