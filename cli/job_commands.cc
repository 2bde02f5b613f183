// drover job run|status|stop|inspect|history|scale|revert|plan
#include <unistd.h>

#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/command.h"
#include "cli/format.h"
#include "cli/input.h"
#include "cli/lookup.h"
#include "cli/meta.h"
#include "cli/monitor.h"
#include "client/http_client.h"

namespace drover::cli {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxJobFileBytes = 4 << 20;  // the agent's body limit

Result<std::string> ReadFile(const std::string& path) {
  auto text = ReadInput(path, kMaxJobFileBytes);
  if (!text.ok() && text.status().message().rfind("open ", 0) == 0) {
    return InvalidArgument("Error getting job struct: Error reading job file from " + path);
  }
  return text;
}

// An HCL string literal of `s`.
std::string HclQuote(const std::string& s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if ((c == '$' || c == '%') && i + 1 < s.size() && s[i + 1] == '{') {
      out += c;
      out += c;  // "$${" is a literal "${"
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// The job of a job file: JSON ({"Job": {...}} or the job itself) as it is,
// HCL through the agent's /v1/jobs/parse with the variables.
Result<json::value> LoadJob(Meta& meta, const std::string& path, const std::vector<std::string>& vars,
                            const std::vector<std::string>& var_files) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) {
      return InvalidArgument("Error getting job struct: Error parsing job file from " + path +
                             ": not a JSON object");
    }
    if (const json::value* job = v.get_object().if_contains("Job"); job && job->is_object()) return *job;
    return v;
  }
  std::string variables;
  for (const std::string& f : var_files) {
    ASSIGN_OR_RETURN(std::string content, ReadFile(f));
    variables += content + "\n";
  }
  for (const std::string& v : vars) {
    const auto eq = v.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("Error getting job struct: -var \"" + v + "\" is not NAME=VALUE");
    }
    variables += v.substr(0, eq) + " = " + HclQuote(v.substr(eq + 1)) + "\n";
  }
  json::object req{{"JobHCL", text}, {"Canonicalize", true}};
  if (!variables.empty()) req["Variables"] = variables;
  auto job = meta.Post("/v1/jobs/parse", json::serialize(req));
  if (!job.ok()) {
    return InvalidArgument("Error getting job struct: Error parsing job file from " + path + ": " +
                           job.status().message());
  }
  return job;
}

struct JobFileFlags {
  std::vector<std::string> vars, var_files;
  bool json_file = false;
  void Add(FlagSet& f) {
    f.Strings("var", &vars, "Variable for the HCL job file, NAME=VALUE (repeatable).");
    f.Strings("var-file", &var_files, "An HCL file of NAME = VALUE lines (repeatable).");
    f.Bool("json", &json_file, "The job file is JSON (also detected from its first character).");
  }
};

int JobRun(const Command& cmd, const std::vector<std::string>& argv) {
  Meta meta;
  FlagSet flags;
  meta.AddFlags(flags);
  JobFileFlags file_flags;
  file_flags.Add(flags);
  bool detach = false, verbose = false, output = false;
  std::int64_t check_index = -1;
  flags.Bool("detach", &detach, "Return after submitting the job, with the evaluation ID.");
  flags.Bool("verbose", &verbose, "Full IDs.");
  flags.Bool("output", &output, "Print the JSON of the job instead of submitting it.");
  flags.Int("check-index", &check_index,
            "Submit only if the job's modify index is this (0: only if the job does not exist).");
  std::vector<std::string> args;
  if (auto done = Begin(cmd, flags, meta, argv, args, 1, 1, "This command takes one argument: <path>")) return *done;
  auto job = LoadJob(meta, args[0], file_flags.vars, file_flags.var_files);
  if (!job.ok()) return Fail(job.status().message());
  if (output) {
    std::cout << IndentJson(json::object{{"Job", *job}}) << "\n";
    return 0;
  }
  const std::string id = Str(*job, "ID");
  json::object req{{"Job", *job}};
  if (check_index >= 0) {
    // Nomad's server checks the index in the register call; the agent may
    // not, so the CLI checks it first too.
    req["EnforceIndex"] = true;
    req["JobModifyIndex"] = check_index;
    auto current = meta.Raw("GET", "/v1/job/" + client::PercentEncode(id), "");
    if (!current.ok()) return Fail("Error submitting job: " + current.status().message());
    std::int64_t have = 0;
    if (current->status == 200) {
      boost::system::error_code ec;
      json::value v = json::parse(current->body, ec);
      if (!ec) have = Int(v, "JobModifyIndex");
    }
    if (have != check_index) {
      if (check_index == 0) {
        return Fail("Error submitting job: Unexpected response code: 500 (Enforcing job modify index 0: job already exists)");
      }
      return Fail("Error submitting job: Unexpected response code: 500 (Enforcing job modify index " +
                  std::to_string(check_index) + ": job " +
                  (have == 0 ? std::string("not found") :
                   "exists with conflicting job modify index: " + std::to_string(have)) + ")");
    }
  }
  auto resp = meta.Put("/v1/jobs", json::serialize(req));
  if (!resp.ok()) return Fail("Error submitting job: " + resp.status().message());
  if (const std::string warnings = Str(*resp, "Warnings"); !warnings.empty()) {
    std::cout << meta.Yellow("Job Warnings:\n" + warnings) << "\n\n";
  }
  return AfterEvaluation(meta, Str(*resp, "EvalID"), detach, true,
                         "Job registration successful\nEvaluation ID: ");
}

// -detach and -verbose of the commands that create an evaluation.
void AddEvalFlags(FlagSet& flags, bool& detach, bool& verbose) {
  flags.Bool("detach", &detach, "Return at once with the evaluation ID.");
  flags.Bool("verbose", &verbose, "Full IDs.");
}

std::string StatusWithStop(const json::value& job) {
  std::string status = Str(job, "Status");
  if (Bool(job, "Stop")) status += " (stopped)";
  return status;
}

int JobStatus(const Command& cmd, const std::vector<std::string>& argv) {
  Meta meta;
  FlagSet flags;
  meta.AddFlags(flags, true);
  bool verbose = false, short_ = false, all_allocs = false;
  flags.Bool("verbose", &verbose, "Full IDs and times.");
  flags.Bool("short", &short_, "Only the job's basic information.");
  flags.Bool("all-allocs", &all_allocs, "Accepted for Nomad's sake: every allocation is shown.");
  std::vector<std::string> args;
  if (auto done = Begin(cmd, flags, meta, argv, args, 0, 1, "This command takes either no arguments or one: <job>")) return *done;
  const std::size_t n = verbose ? 36 : kShortId;
  if (args.empty()) {
    auto jobs = meta.Get("/v1/jobs");
    if (!jobs.ok()) return Fail("Error querying jobs: " + jobs.status().message());
    if (meta.formatted()) return meta.Output(*jobs);
    if (jobs->as_array().empty()) {
      std::cout << "No running jobs\n";
      return 0;
    }
    std::cout << FormatJobStubs(*jobs) << "\n";
    return 0;
  }
  auto id = JobIdByPrefix(meta, args[0]);
  if (!id.ok()) return Fail(id.status().message());
  const std::string path = "/v1/job/" + client::PercentEncode(*id);
  auto job = meta.Get(path);
  if (!job.ok()) return Fail("Error querying job: " + job.status().message());
  auto allocs = meta.Get(path + "/allocations");
  if (!allocs.ok()) return Fail("Error querying job allocations: " + allocs.status().message());
  if (meta.formatted()) {
    return meta.Output(json::object{{"Summary", nullptr}, {"Allocations", *allocs}, {"Job", *job}});
  }
  std::vector<std::string> datacenters;
  std::string dcs;
  if (const auto* d = job->get_object().if_contains("Datacenters"); d && d->is_array()) {
    for (const json::value& x : d->get_array()) {
      if (!dcs.empty()) dcs += ",";
      if (x.is_string()) dcs += std::string(x.get_string());
    }
  }
  const bool periodic = job->get_object().if_contains("Periodic") && !job->at("Periodic").is_null();
  const bool parameterized =
      job->get_object().if_contains("ParameterizedJob") && !job->at("ParameterizedJob").is_null();
  std::string node_pool = Str(*job, "NodePool");
  std::cout << FormatKV({"ID|" + Str(*job, "ID"), "Name|" + Str(*job, "Name"),
                         "Submit Date|" + FormatUnixNano(Int(*job, "SubmitTime")),
                         "Type|" + Str(*job, "Type"), "Priority|" + std::to_string(Int(*job, "Priority")),
                         "Datacenters|" + dcs, "Namespace|" + Str(*job, "Namespace"),
                         "Node Pool|" + (node_pool.empty() ? std::string("default") : node_pool),
                         "Status|" + StatusWithStop(*job),
                         std::string("Periodic|") + (periodic ? "true" : "false"),
                         std::string("Parameterized|") + (parameterized ? "true" : "false")})
            << "\n";
  if (short_) return 0;
  // The summary: from the job list's stub (JobSummary), present on every
  // agent version.
  auto stubs = meta.Get("/v1/jobs?prefix=" + client::PercentEncode(*id));
  if (stubs.ok() && stubs->is_array()) {
    for (const json::value& s : stubs->get_array()) {
      if (Str(s, "ID") != *id) continue;
      const json::value* sum = s.get_object().if_contains("JobSummary");
      const json::value* groups = sum && sum->is_object() ? sum->get_object().if_contains("Summary") : nullptr;
      if (groups == nullptr || !groups->is_object()) break;
      std::vector<std::string> rows{"Task Group|Queued|Starting|Running|Failed|Complete|Lost|Unknown"};
      for (const auto& kv : groups->get_object()) {
        std::string row = std::string(kv.key());
        for (const char* k : {"Queued", "Starting", "Running", "Failed", "Complete", "Lost", "Unknown"}) {
          row += "|" + std::to_string(Int(kv.value(), k));
        }
        rows.push_back(row);
      }
      std::cout << "\n" << meta.Bold("Summary") << "\n" << FormatList(rows) << "\n";
    }
  }
  std::cout << "\n" << meta.Bold("Allocations") << "\n" << FormatAllocStubs(*allocs, verbose, n) << "\n";
  return 0;
}

// Asks on stdin; true for "y"/"yes".
bool Confirm(const std::string& question) {
  std::cout << question << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "Yes";
}

int JobStop(const Command& cmd, const std::vector<std::string>& argv) {
  Meta meta;
  FlagSet flags;
  meta.AddFlags(flags);
  bool purge = false, detach = false, yes = false, verbose = false, global = false;
  flags.Bool("purge", &purge, "Remove the job from the state store, not only stop it.");
  flags.Bool("detach", &detach, "Return at once with the evaluation ID.");
  flags.Bool("yes", &yes, "Do not ask for confirmation when a prefix named the job.");
  flags.Bool("verbose", &verbose, "Full IDs.");
  flags.Bool("global", &global, "Accepted for Nomad's sake (one region).");
  std::vector<std::string> args;
  if (auto done = Begin(cmd, flags, meta, argv, args, 1, 1, "This command takes one argument: <job>")) return *done;
  auto id = JobIdByPrefix(meta, args[0]);
  if (!id.ok()) return Fail(id.status().message());
  if (*id != args[0] && !yes &&
      !Confirm("Are you sure you want to stop job \"" + *id + "\"?")) {
    std::cout << "Cancelling job stop\n";
    return 0;
  }
  auto resp = meta.Delete("/v1/job/" + client::PercentEncode(*id) + (purge ? "?purge=true" : ""));
  if (!resp.ok()) return Fail("Error deregistering job: " + resp.status().message());
  return AfterEvaluation(meta, Str(*resp, "EvalID"), detach, false, "");
}

int JobInspect(const Command& cmd, const std::vector<std::string>& argv) {
  Meta meta;
  FlagSet flags;
  meta.AddFlags(flags, true);
  std::int64_t version = -1;
  flags.Int("version", &version, "The version of the job to show (from the job's versions).");
  std::vector<std::string> args;
  if (auto done = Begin(cmd, flags, meta, argv, args, 1, 1, "This command takes one argument: <job>")) return *done;
  auto id = JobIdByPrefix(meta, args[0]);
  if (!id.ok()) return Fail(id.status().message());
  const std::string path = "/v1/job/" + client::PercentEncode(*id);
  json::value job;
  if (version >= 0) {
    auto versions = meta.Get(path + "/versions");
    if (!versions.ok()) return Fail("Error inspecting job: " + versions.status().message());
    const json::value* list = versions->is_object() ? versions->get_object().if_contains("Versions") : nullptr;
    if (list != nullptr && list->is_array()) {
      for (const json::value& v : list->get_array()) {
        if (Int(v, "Version") == version) job = v;
      }
    }
    if (job.is_null()) return Fail("job " + *id + " has no version " + std::to_string(version));
  } else {
    auto got = meta.Get(path);
    if (!got.ok()) return Fail("Error inspecting job: " + got.status().message());
    job = std::move(got).value();
  }
  if (!meta.tmpl().empty()) return meta.Output(job);
  std::cout << IndentJson(json::object{{"Job", job}}) << "\n";
  return 0;
}

int JobScale(const Command& cmd, const std::vector<std::string>& argv) {
  Meta meta;
  FlagSet flags;
  meta.AddFlags(flags);
  bool detach = false, verbose = false;
  AddEvalFlags(flags, detach, verbose);
  std::vector<std::string> args;
  if (auto done = Begin(cmd, flags, meta, argv, args, 2, 3, "This command takes two or three arguments: <job> [<group>] <count>")) return *done;
  auto count = ParseNonNegative(args.back());
  if (!count.ok()) return Fail("Failed to convert count string to int: " + args.back());
  auto id = JobIdByPrefix(meta, args[0]);
  if (!id.ok()) return Fail(id.status().message());
  std::string group = args.size() == 3 ? args[1] : "";
  if (group.empty()) {
    auto job = meta.Get("/v1/job/" + client::PercentEncode(*id));
    if (!job.ok()) return Fail("Error querying job: " + job.status().message());
    const json::value* groups = job->get_object().if_contains("TaskGroups");
    if (groups == nullptr || !groups->is_array() || groups->get_array().size() != 1) {
      return Fail("Group name required");
    }
    group = Str(groups->get_array()[0], "Name");
  }
  json::object req{{"Count", *count},
                   {"Target", json::object{{"Job", *id}, {"Group", group}}},
                   {"Message", ""}};
  auto resp = meta.Post("/v1/job/" + client::PercentEncode(*id) + "/scale", json::serialize(req));
  if (!resp.ok()) return Fail("Error submitting scaling request: " + resp.status().message());
  return AfterEvaluation(meta, Str(*resp, "EvalID"), detach, true,
                         "Job scale successful\nEvaluation ID: ");
}

int JobRevert(const Command& cmd, const std::vector<std::string>& argv) {
  Meta meta;
  FlagSet flags;
  meta.AddFlags(flags);
  bool detach = false, verbose = false;
  AddEvalFlags(flags, detach, verbose);
  std::vector<std::string> args;
  if (auto done = Begin(cmd, flags, meta, argv, args, 2, 2, "This command takes two arguments: <job> <version>")) return *done;
  auto version = ParseNonNegative(args[1]);
  if (!version.ok()) return Fail("The job version to revert to must be an integer: " + args[1]);
  auto id = JobIdByPrefix(meta, args[0]);
  if (!id.ok()) return Fail(id.status().message());
  json::object req{{"JobID", *id}, {"JobVersion", *version}};
  auto resp = meta.Post("/v1/job/" + client::PercentEncode(*id) + "/revert", json::serialize(req));
  if (!resp.ok()) return Fail("Error retrieving job versions: " + resp.status().message());
  return AfterEvaluation(meta, Str(*resp, "EvalID"), detach, true, "Evaluation ID: ");
}

// Nomad's diff markers: "+" added, "-" deleted, "+/-" edited.
const char* DiffMark(const std::string& type) {
  return type == "Added" ? "+" : type == "Deleted" ? "-" : type == "Edited" ? "+/-" : " ";
}

// One line of a plan's diff: "+ Name: "x"" / "~ Count: "1" => "2"".
void PrintFields(const json::value& diff, const std::string& indent, std::ostream& out) {
  auto mark = DiffMark;
  if (const auto* fields = diff.get_object().if_contains("Fields"); fields && fields->is_array()) {
    for (const json::value& f : fields->get_array()) {
      const std::string type = Str(f, "Type");
      if (type == "None") continue;
      out << indent << mark(type) << " " << Str(f, "Name") << ": \"" << Str(f, "Old") << "\"";
      if (type == "Edited") out << " => \"" << Str(f, "New") << "\"";
      if (type == "Added") out << " => \"" << Str(f, "New") << "\"";
      out << "\n";
    }
  }
  if (const auto* objects = diff.get_object().if_contains("Objects"); objects && objects->is_array()) {
    for (const json::value& o : objects->get_array()) {
      const std::string type = Str(o, "Type");
      if (type == "None") continue;
      out << indent << mark(type) << " " << Str(o, "Name") << " {\n";
      PrintFields(o, indent + "  ", out);
      out << indent << "  }\n";
    }
  }
}

// A job diff as Nomad's formatJobDiff prints it: the job's fields, each
// group with its placement updates (a plan's) and its tasks (their fields
// when edited, or always with `verbose`). `changes` turns true when a
// group would create or destroy allocations.
void PrintJobDiff(Meta& meta, const json::value& diff, bool verbose, std::ostream& out, bool* changes) {
  auto head = [](const std::string& type) {
    return type == "None" ? std::string() : std::string(DiffMark(type)) + " ";
  };
  out << meta.Bold(head(Str(diff, "Type")) + "Job: \"" + Str(diff, "ID") + "\"") << "\n";
  PrintFields(diff, "", out);
  const auto* groups = diff.get_object().if_contains("TaskGroups");
  if (groups == nullptr || !groups->is_array()) return;
  for (const json::value& g : groups->get_array()) {
    std::string updates;
    if (const auto* u = g.get_object().if_contains("Updates"); u && u->is_object()) {
      for (const auto& kv : u->get_object()) {
        if (!updates.empty()) updates += ", ";
        updates += json::serialize(kv.value()) + " " + std::string(kv.key());
        if (kv.key() == "create" || kv.key() == "destroy") {
          *changes = *changes || (kv.value().is_number() && kv.value().to_number<std::int64_t>() > 0);
        }
      }
    }
    out << head(Str(g, "Type")) << "Task Group: \"" << Str(g, "Name") << "\""
        << (updates.empty() ? "" : " (" + updates + ")") << "\n";
    PrintFields(g, "  ", out);
    const auto* tasks = g.get_object().if_contains("Tasks");
    if (tasks == nullptr || !tasks->is_array()) continue;
    for (const json::value& t : tasks->get_array()) {
      const std::string type = Str(t, "Type");
      out << "  " << DiffMark(type) << " Task: \"" << Str(t, "Name") << "\"\n";
      if (verbose || type == "Edited") PrintFields(t, "    ", out);
    }
  }
}

int JobHistory(const Command& cmd, const std::vector<std::string>& argv) {
  Meta meta;
  FlagSet flags;
  meta.AddFlags(flags, true);
  std::int64_t version = -1;
  bool full = false, diffs = false;
  flags.Int("version", &version, "Show only this version.");
  flags.Bool("full", &full, "The full job of each version (JSON).");
  flags.Bool("p", &diffs, "Show each version's changes against the version before it.");
  std::vector<std::string> args;
  if (auto done = Begin(cmd, flags, meta, argv, args, 1, 1, "This command takes one argument: <job>")) return *done;
  auto id = JobIdByPrefix(meta, args[0]);
  if (!id.ok()) return Fail(id.status().message());
  auto resp = meta.Get("/v1/job/" + client::PercentEncode(*id) + "/versions" + (diffs ? "?diffs=true" : ""));
  if (!resp.ok()) return Fail("Error retrieving job versions: " + resp.status().message());
  const json::value* list = resp->is_object() ? resp->get_object().if_contains("Versions") : nullptr;
  if (list == nullptr || !list->is_array()) return Fail("Error retrieving job versions: no Versions in the answer");
  // Diffs[i] is Versions[i] against Versions[i + 1] (newest first).
  const json::value* diff_list = resp->get_object().if_contains("Diffs");
  const json::array* diff_array = diff_list && diff_list->is_array() ? &diff_list->get_array() : nullptr;
  json::array shown;
  std::vector<const json::value*> shown_diffs;
  for (std::size_t i = 0; i < list->get_array().size(); ++i) {
    const json::value& v = list->get_array()[i];
    if (version >= 0 && Int(v, "Version") != version) continue;
    shown.push_back(v);
    shown_diffs.push_back(diff_array && i < diff_array->size() ? &(*diff_array)[i] : nullptr);
  }
  if (version >= 0 && shown.empty()) return Fail("job " + *id + " has no version " + std::to_string(version));
  if (meta.formatted()) return meta.Output(shown);
  for (std::size_t i = 0; i < shown.size(); ++i) {
    const json::value& v = shown[i];
    if (i > 0) std::cout << "\n";
    if (full) {
      std::cout << IndentJson(v) << "\n";
      continue;
    }
    std::cout << FormatKV({"Version|" + std::to_string(Int(v, "Version")),
                           std::string("Stable|") + (Bool(v, "Stable") ? "true" : "false"),
                           "Submit Date|" + FormatUnixNano(Int(v, "SubmitTime"))})
              << "\n";
    const json::value* diff = shown_diffs[i];
    if (diff != nullptr && diff->is_object() && Str(*diff, "Type") != "None") {
      std::ostringstream text;
      bool changes = false;
      PrintJobDiff(meta, *diff, false, text, &changes);
      std::cout << "Diff        = \n" << text.str();
    }
  }
  return 0;
}

int JobPlan(const Command& cmd, const std::vector<std::string>& argv) {
  Meta meta;
  FlagSet flags;
  meta.AddFlags(flags);
  JobFileFlags file_flags;
  file_flags.Add(flags);
  bool no_diff = false, verbose = false;
  flags.Bool("diff", &no_diff, "Accepted for Nomad's sake: the diff is always shown.");
  flags.Bool("verbose", &verbose, "Every field of the diff.");
  std::vector<std::string> args;
  if (auto done = Begin(cmd, flags, meta, argv, args, 1, 1, "This command takes one argument: <path>")) return *done;
  auto job = LoadJob(meta, args[0], file_flags.vars, file_flags.var_files);
  if (!job.ok()) {
    std::cerr << job.status().message() << "\n";
    return 255;
  }
  const std::string id = Str(*job, "ID");
  json::object req{{"Job", *job}, {"Diff", true}};
  auto resp = meta.Post("/v1/job/" + client::PercentEncode(id) + "/plan", json::serialize(req));
  if (!resp.ok()) {
    std::cerr << "Error during plan: " << resp.status().message() << "\n";
    return 255;
  }
  const json::value* diff = resp->get_object().if_contains("Diff");
  bool changes = false;
  if (diff != nullptr && diff->is_object()) PrintJobDiff(meta, *diff, verbose, std::cout, &changes);
  // Placements: Nomad's "Scheduler dry-run".
  std::cout << "\n" << meta.Bold("Scheduler dry-run:") << "\n";
  const json::value* failed = resp->get_object().if_contains("FailedTGAllocs");
  if (failed != nullptr && failed->is_object() && !failed->get_object().empty()) {
    for (const auto& kv : failed->get_object()) {
      std::cout << "- WARNING: Failed to place all allocations.\n  Task Group \"" << std::string(kv.key())
                << "\" (failed to place " << Int(kv.value(), "CoalescedFailures") + 1 << " allocation)\n";
    }
  } else {
    std::cout << "- All tasks successfully allocated.\n";
  }
  // Nomad's exit code: 1 when the scheduler would stop, place, migrate or
  // destructively update an allocation (its annotations say), else 0.
  if (const json::value* updates = At(*resp, {"Annotations", "DesiredTGUpdates"});
      updates != nullptr && updates->is_object()) {
    changes = false;
    for (const auto& kv : updates->get_object()) {
      for (const char* k : {"Stop", "Place", "Migrate", "DestructiveUpdate", "Canary"}) {
        changes = changes || Int(kv.value(), k) > 0;
      }
    }
  }
  const std::int64_t index = Int(*resp, "JobModifyIndex");
  std::cout << "\nJob Modify Index: " << index
            << "\nTo submit the job with version verification run:\n\n"
               "drover job run -check-index " << index << " " << args[0]
            << "\n\nWhen running the job with the check-index flag, the job will only be run if the\n"
               "job modify index given matches the server-side version. If the index has\n"
               "changed, another user has modified the job and the plan's results are\n"
               "potentially invalid.\n";
  return changes ? 1 : 0;
}

const char* const kRunHelp = R"(Usage: drover job run [options] <path>

  Submits a job file (HCL2 or JSON; "-" reads stdin) and, unless -detach,
  follows its evaluation and then its allocations until each is running
  (service jobs) or finished (batch jobs). HCL goes through the agent's
  /v1/jobs/parse with the -var and -var-file values.

  Exit codes: 0 success, 1 an error or a failed allocation, 2 placement
  failures.

Examples:

  drover job run examples/demo.hcl
  drover job run -detach -var greeting=hi web.hcl
  drover job run -check-index 42 examples/demo.json)";

const char* const kStatusHelp = R"(Usage: drover job status [options] [<job>]

  Without a job: the list of jobs. With a job ID or a prefix of one: its
  details, the summary of its task groups and its allocations.

Examples:

  drover job status
  drover job status demo
  drover job status -json demo
  drover job status -t '{{ range .Allocations }}{{ .ID }} {{ .ClientStatus }}{{ "\n" }}{{ end }}' demo)";

}  // namespace

void AddJobCommands(std::vector<Command>& out) {
  out.push_back({"job run", "Run a new job or update an existing job", kRunHelp, JobRun});
  out.push_back({"job status", "Display status information about a job", kStatusHelp, JobStatus});
  out.push_back({"job stop", "Stop a running job",
                 "Usage: drover job stop [options] <job>\n\n"
                 "  Stops a job (and with -purge removes it), then follows the evaluation.\n\n"
                 "Examples:\n\n  drover job stop demo\n  drover job stop -purge -detach demo",
                 JobStop});
  out.push_back({"job inspect", "Inspect a submitted job",
                 "Usage: drover job inspect [options] <job>\n\n"
                 "  Prints the job as the agent holds it, as {\"Job\": ...} JSON.\n\n"
                 "Examples:\n\n  drover job inspect demo\n  drover job inspect -t '{{ .Version }}' demo",
                 JobInspect});
  out.push_back({"job history", "Display all tracked versions of a job",
                 "Usage: drover job history [options] <job>\n\n"
                 "  Lists the job's versions (GET /v1/job/:id/versions); -p shows what each\n"
                 "  version changed against the one before it.\n\n"
                 "Examples:\n\n  drover job history demo\n  drover job history -p demo\n"
                 "  drover job history -version 1 -full demo",
                 JobHistory});
  out.push_back({"job scale", "Change the count of a job's task group",
                 "Usage: drover job scale [options] <job> [<group>] <count>\n\n"
                 "  Sets a task group's count (POST /v1/job/:id/scale); the group may be left\n"
                 "  out when the job has one.\n\n"
                 "Examples:\n\n  drover job scale demo 3\n  drover job scale demo greeter 1",
                 JobScale});
  out.push_back({"job revert", "Revert to a prior version of the job",
                 "Usage: drover job revert [options] <job> <version>\n\n"
                 "  Submits a prior version of the job again (POST /v1/job/:id/revert).\n\n"
                 "Examples:\n\n  drover job revert demo 0",
                 JobRevert});
  out.push_back({"job plan", "Dry-run a job update to determine its effects",
                 "Usage: drover job plan [options] <path>\n\n"
                 "  Shows what submitting the job file would change (POST /v1/job/:id/plan).\n"
                 "  Exit codes, as Nomad's: 0 no allocations created or destroyed, 1 some\n"
                 "  would be, 255 an error.\n\n"
                 "Examples:\n\n  drover job plan examples/demo.hcl",
                 JobPlan});
}

}  // namespace drover::cli
