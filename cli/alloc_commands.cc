// drover alloc status|logs|restart|signal|stop|fs (exec: alloc_exec.cc)
#include <boost/json.hpp>
#include <iostream>

#include "cli/command.h"
#include "cli/format.h"
#include "cli/lookup.h"
#include "cli/meta.h"
#include "client/http_client.h"
#include "client/stream_frames.h"
#include "common/gotime.h"

namespace drover::cli {

namespace json = boost::json;

namespace {

using client::PercentEncode;

std::string TaskTime(const json::value& state, const char* key) {
  auto t = ParseRFC3339(Str(state, key));
  if (!t.ok() || t->IsZero() || t->unix_nanos < 1'000'000'000) return "N/A";
  return FormatUnixNano(t->unix_nanos);
}

// Nomad's buildDisplayMessage, for events without a DisplayMessage.
std::string EventMessage(const json::value& e) {
  std::string msg = Str(e, "DisplayMessage");
  if (!msg.empty()) return msg;
  const std::string type = Str(e, "Type");
  if (type == "Started") return "Task started by client";
  if (type == "Received") return "Task received by client";
  if (type == "Terminated") {
    std::string out = "Exit Code: " + std::to_string(Int(e, "ExitCode"));
    if (Int(e, "Signal") != 0) out += ", Signal: " + std::to_string(Int(e, "Signal"));
    if (!Str(e, "Message").empty()) out += ", Exit Message: \"" + Str(e, "Message") + "\"";
    return out;
  }
  return Str(e, "Message");
}


void PrintTask(Meta& meta, const json::value& alloc, const std::string& task, const json::value& state,
               const json::value* stats) {
  std::cout << "\n" << meta.Bold("Task \"" + task + "\" is \"" + Str(state, "State") + "\"") << "\n";
  // Resources: used / allocated.
  const json::value* res = At(alloc, {"AllocatedResources", "Tasks", task.c_str()});
  const json::value* cpu_res = res ? At(*res, {"Cpu"}) : nullptr;
  const json::value* mem_res = res ? At(*res, {"Memory"}) : nullptr;
  const std::int64_t cpu = cpu_res ? Int(*cpu_res, "CpuShares") : 0;
  const std::int64_t mem = mem_res ? Int(*mem_res, "MemoryMB") : 0;
  const json::value* shared = At(alloc, {"AllocatedResources", "Shared"});
  const std::int64_t disk = shared ? Int(*shared, "DiskMB") : 0;
  std::string cpu_used = "0", mem_used = "0 B";
  if (stats != nullptr) {
    if (const json::value* u = At(*stats, {"Tasks", task.c_str(), "ResourceUsage"})) {
      if (const json::value* c = At(*u, {"CpuStats", "TotalTicks"}); c && c->is_number()) {
        cpu_used = std::to_string(static_cast<std::int64_t>(c->to_number<double>()));
      }
      if (const json::value* m = At(*u, {"MemoryStats"})) {
        std::int64_t used = Int(*m, "Usage");
        if (used == 0) used = Int(*m, "RSS");
        mem_used = FormatBytes(static_cast<std::uint64_t>(used));
      }
    }
  }
  std::cout << "Task Resources:\n"
            << FormatList({"CPU|Memory|Disk|Addresses",
                           cpu_used + "/" + std::to_string(cpu) + " MHz|" + mem_used + "/" +
                               FormatBytes(static_cast<std::uint64_t>(mem) << 20) + "|" +
                               FormatBytes(static_cast<std::uint64_t>(disk) << 20) + "|"})
            << "\n\nTask Events:\n"
            << FormatKV({"Started At|" + TaskTime(state, "StartedAt"),
                         "Finished At|" + TaskTime(state, "FinishedAt"),
                         "Total Restarts|" + std::to_string(Int(state, "Restarts")),
                         "Last Restart|" + TaskTime(state, "LastRestart")})
            << "\n\nRecent Events:\n";
  std::vector<std::string> rows{"Time|Type|Description"};
  if (const json::value* events = At(state, {"Events"}); events && events->is_array()) {
    const json::array& list = events->get_array();
    for (auto it = list.rbegin(); it != list.rend(); ++it) {  // newest first
      rows.push_back(FormatUnixNano(Int(*it, "Time")) + "|" + Str(*it, "Type") + "|" + EventMessage(*it));
    }
  }
  std::cout << FormatList(rows) << "\n";
}

int AllocStatus(const Command& cmd, const std::vector<std::string>& argv) {
  Meta meta;
  FlagSet flags;
  meta.AddFlags(flags, true);
  bool verbose = false, short_ = false, stats_flag = false;
  flags.Bool("verbose", &verbose, "Full IDs and times.");
  flags.Bool("short", &short_, "Only the allocation's basic information and task states.");
  flags.Bool("stats", &stats_flag, "Accepted for Nomad's sake: resource use is always shown.");
  std::vector<std::string> args;
  if (auto done = Begin(cmd, flags, meta, argv, args, 1, 1, "This command takes one of the following argument conditions:\n * A single <allocation>")) return *done;
  const std::size_t n = verbose ? 36 : kShortId;
  auto alloc = AllocByPrefix(meta, args[0], n);
  if (!alloc.ok()) return StatusLookupFailure(alloc.status());
  if (meta.formatted()) return meta.Output(*alloc);
  const json::value& a = *alloc;
  const json::value* job = At(a, {"Job"});
  std::vector<std::string> basic{
      "ID|" + Str(a, "ID"), "Eval ID|" + Limit(Str(a, "EvalID"), n), "Name|" + Str(a, "Name"),
      "Node ID|" + Limit(Str(a, "NodeID"), n), "Node Name|" + Str(a, "NodeName"),
      "Job ID|" + Str(a, "JobID"), "Job Version|" + std::to_string(job ? Int(*job, "Version") : 0),
      "Client Status|" + Str(a, "ClientStatus"), "Client Description|" + Str(a, "ClientDescription"),
      "Desired Status|" + Str(a, "DesiredStatus"),
      "Desired Description|" + Str(a, "DesiredDescription"),
      "Created|" + (verbose ? FormatUnixNano(Int(a, "CreateTime")) : PrettyTimeDiff(Int(a, "CreateTime"))),
      "Modified|" + (verbose ? FormatUnixNano(Int(a, "ModifyTime")) : PrettyTimeDiff(Int(a, "ModifyTime")))};
  if (!Str(a, "NextAllocation").empty()) basic.push_back("Replacement Alloc ID|" + Limit(Str(a, "NextAllocation"), n));
  std::cout << FormatKV(basic) << "\n";
  const json::value* states = At(a, {"TaskStates"});
  if (states == nullptr || !states->is_object()) return 0;
  if (short_) {
    std::vector<std::string> rows{"Name|State|Last Event|Time|Lifecycle"};
    for (const auto& kv : states->get_object()) {
      const json::value* events = At(kv.value(), {"Events"});
      std::string last, when;
      if (events && events->is_array() && !events->get_array().empty()) {
        last = Str(events->get_array().back(), "Type");
        when = FormatUnixNano(Int(events->get_array().back(), "Time"));
      }
      rows.push_back(std::string(kv.key()) + "|" + Str(kv.value(), "State") + "|" + last + "|" + when + "|main");
    }
    std::cout << "\n" << FormatList(rows) << "\n";
    return 0;
  }
  auto stats = meta.Get("/v1/client/allocation/" + PercentEncode(Str(a, "ID")) + "/stats");
  if (!stats.ok() && Str(a, "ClientStatus") == "running") {
    std::cout << "\n";
    std::cerr << "Couldn't retrieve stats: " << stats.status().message() << "\n";
  }
  // Tasks sorted by name, as Nomad sorts tasks of one lifecycle stage.
  std::vector<std::string> names;
  for (const auto& kv : states->get_object()) names.emplace_back(kv.key());
  std::sort(names.begin(), names.end());
  for (const std::string& t : names) {
    PrintTask(meta, a, t, states->get_object().at(t), stats.ok() ? &*stats : nullptr);
  }
  return 0;
}

// The allocation of args[0] and the task: args[1], -task, or the only one.
struct AllocTask {
  json::value alloc;
  std::string task;
};

Result<AllocTask> ResolveTask(Meta& meta, const std::string& prefix, std::string task,
                              bool task_required) {
  ASSIGN_OR_RETURN(json::value alloc, AllocByPrefix(meta, prefix));
  const json::value* states = At(alloc, {"TaskStates"});
  if (task.empty() && task_required) {
    // Nomad's: the task when there is one, else an error.
    const json::value* tasks = nullptr;
    if (const json::value* groups = At(alloc, {"Job", "TaskGroups"}); groups && groups->is_array()) {
      for (const json::value& g : groups->get_array()) {
        if (Str(g, "Name") == Str(alloc, "TaskGroup")) tasks = At(g, {"Tasks"});
      }
    }
    if (tasks && tasks->is_array() && tasks->get_array().size() == 1) {
      task = Str(tasks->get_array()[0], "Name");
    } else {
      return InvalidArgument("Allocation \"" + Limit(Str(alloc, "ID"), kShortId) +
                             "\" is running the following tasks:\n" + [&] {
                               std::string s;
                               if (tasks && tasks->is_array())
                                 for (const json::value& t : tasks->get_array()) s += "  * " + Str(t, "Name") + "\n";
                               return s;
                             }() + "\nPlease specify the task.");
    }
  }
  if (!task.empty() && (states == nullptr || !states->is_object() || !states->get_object().contains(task))) {
    return InvalidArgument("Could not find task named: " + task + ", found:" + [&] {
      std::string s;
      if (states && states->is_object())
        for (const auto& kv : states->get_object()) s += "\n  * " + std::string(kv.key());
      return s;
    }());
  }
  return AllocTask{std::move(alloc), task};
}

// -f, -tail, -n and -c as Nomad's alloc logs and alloc fs read them.
struct Tail {
  bool follow = false;
  bool tail = false;
  std::int64_t lines = -1;
  std::int64_t bytes = -1;
};

void AddTailFlags(FlagSet& flags, Tail& t, const std::string& what) {
  flags.Bool("f", &t.follow, "Follow the " + what + ", as tail -f.");
  flags.Bool("tail", &t.tail, "Show the end (the last 10 lines unless -n or -c).");
  flags.Int("n", &t.lines, "With -tail: the number of lines.");
  flags.Int("c", &t.bytes, "With -tail: the number of bytes.");
}

// Checks -n and -c (Nomad's texts) and fills the default of 10 lines.
// Either of them implies -tail.
Status ResolveTail(Tail& t, std::string_view both_set) {
  if (t.lines != -1 && t.bytes != -1) return InvalidArgument(std::string(both_set));
  if (t.lines < -1 || t.bytes < -1) return InvalidArgument("Invalid size is specified");
  if (t.lines != -1 || t.bytes != -1) t.tail = true;
  if (t.tail && t.bytes == -1 && t.lines == -1) t.lines = 10;
  return Status::Ok();
}

// Copies a framed fs/logs stream (`path` ends in a query without origin,
// offset and follow) to stdout. With -n it reads enough of the end to hold
// the lines and prints the last ones of that backlog, then follows on.
int StreamFramed(Meta& meta, const std::string& path, const Tail& t) {
  const bool follow = t.follow;
  std::int64_t offset = 0;
  if (t.tail) offset = t.bytes >= 0 ? t.bytes : std::min<std::int64_t>(t.lines * 512 + 4096, 1 << 24);
  const std::string url = path + "&origin=" + (t.tail ? "end" : "start") + "&offset=" + std::to_string(offset) +
                          "&follow=" + (follow ? "true" : "false");
  client::FrameDecoder decoder;
  std::string pending;  // with -n: the text before the cut
  bool cut_done = !(t.tail && t.lines >= 0);
  Status decode_status;
  auto emit = [&](const std::string& data) {
    if (cut_done) {
      std::cout << data << std::flush;
      return;
    }
    pending += data;
  };
  auto flush_tail = [&] {
    if (cut_done) return;
    cut_done = true;
    std::size_t pos = pending.size();
    if (!pending.empty() && pending.back() == '\n') --pos;
    std::int64_t count = 0;
    while (pos > 0 && count < t.lines) {
      pos = pending.rfind('\n', pos - 1);
      if (pos == std::string::npos) {
        pos = 0;
        break;
      }
      if (++count == t.lines) {
        ++pos;
        break;
      }
    }
    if (t.lines == 0) pos = pending.size();
    std::cout << pending.substr(pos) << std::flush;
    pending.clear();
  };
  Status st = meta.Stream(url, [&](std::string_view piece) {
    std::vector<client::StreamFrame> frames;
    decode_status = decoder.Feed(piece, frames);
    if (!decode_status.ok()) return false;
    for (const auto& f : frames) {
      if (f.heartbeat && follow) flush_tail();  // the backlog has arrived
      if (!f.data.empty()) emit(f.data);
    }
    return true;
  });
  flush_tail();
  if (!st.ok()) return Fail("Error reading file: " + st.message());
  if (!decode_status.ok()) return Fail("Error reading file: " + decode_status.message());
  return 0;
}

int AllocLogs(const Command& cmd, const std::vector<std::string>& argv) {
  Meta meta;
  FlagSet flags;
  meta.AddFlags(flags);
  bool stderr_ = false, stdout_ = false, verbose = false;
  Tail tail;
  std::string task;
  AddTailFlags(flags, tail, "log");
  flags.Bool("stderr", &stderr_, "The task's stderr instead of its stdout.");
  flags.Bool("stdout", &stdout_, "The task's stdout (the default).");
  flags.String("task", &task, "The task (or the second argument).");
  flags.Bool("verbose", &verbose, "Full IDs.");
  std::vector<std::string> args;
  if (auto done = Begin(cmd, flags, meta, argv, args, 1, 2, "This command takes one or two arguments: <allocation> <task>")) return *done;
  if (args.size() == 2) task = args[1];
  if (stderr_ && stdout_) return Fail("Only one of -stderr or -stdout may be given");
  if (Status s = ResolveTail(tail, "both -n and -c set"); !s.ok()) return Fail(s.message());
  auto at = ResolveTask(meta, args[0], task, true);
  if (!at.ok()) return Fail(at.status().message());
  return StreamFramed(meta,
                      "/v1/client/fs/logs/" + PercentEncode(Str(at->alloc, "ID")) + "?task=" + PercentEncode(at->task) +
                          "&type=" + (stderr_ ? "stderr" : "stdout"),
                      tail);
}

int AllocLifecycle(const Command& cmd, const std::vector<std::string>& argv, const std::string& verb) {
  Meta meta;
  FlagSet flags;
  meta.AddFlags(flags);
  bool all_tasks = false, verbose = false, detach = false, no_shutdown_delay = false;
  std::string task, signal;
  flags.String("task", &task, "The task (or the second argument).");
  flags.Bool("verbose", &verbose, "Full IDs.");
  if (verb == "restart") flags.Bool("all-tasks", &all_tasks, "Restart every task, prestart and poststart ones too.");
  if (verb == "signal") flags.String("s", &signal, "The signal (default SIGKILL), e.g. SIGUSR1.");
  if (verb == "stop") {
    flags.Bool("detach", &detach, "Return at once with the evaluation ID.");
    flags.Bool("no-shutdown-delay", &no_shutdown_delay, "Accepted for Nomad's sake.");
  }
  std::vector<std::string> args;
  if (auto done = Begin(cmd, flags, meta, argv, args, 1, verb == "stop" ? 1 : 2, verb == "stop" ? "This command takes one argument: <alloc-id>"
                                    : "This command takes one or two arguments: <alloc-id> <task>")) return *done;
  if (args.size() == 2) {
    if (!task.empty() && task != args[1]) return Fail("Task name mismatch: -task and the argument name different tasks");
    task = args[1];
  }
  if (all_tasks && !task.empty()) return Fail("The -all-tasks option is not allowed when restarting a specific task");
  auto at = ResolveTask(meta, args[0], task, false);
  if (!at.ok()) return Fail(at.status().message());
  const std::string id = Str(at->alloc, "ID");
  if (verb == "stop") {
    auto resp = meta.Post("/v1/allocation/" + PercentEncode(id) + "/stop", "");
    if (!resp.ok()) return Fail("Error stopping allocation: " + resp.status().message());
    const std::string eval = Str(*resp, "EvalID");
    if (detach || eval.empty()) {
      std::cout << eval << "\n";
      return 0;
    }
    std::cout << "==> " << FormatUnixNano(NowNanos()) << ": Monitoring evaluation \"" << Limit(eval, kShortId)
              << "\"\n    Allocation \"" << Limit(id, kShortId) << "\" stopped; evaluation \""
              << Limit(eval, kShortId) << "\" places its replacement\n";
    return 0;
  }
  json::object req;
  if (verb == "restart") {
    req["TaskName"] = at->task;
    req["AllTasks"] = all_tasks;
  } else {
    req["Task"] = at->task;
    req["Signal"] = signal;
  }
  auto resp = meta.Post("/v1/client/allocation/" + PercentEncode(id) + "/" + verb, json::serialize(req));
  if (!resp.ok()) {
    return Fail(std::string(verb == "restart" ? "Failed to restart allocation:\n\n"
                                              : "Error signalling allocation: ") +
                resp.status().message());
  }
  return 0;
}

int AllocFs(const Command& cmd, const std::vector<std::string>& argv) {
  Meta meta;
  FlagSet flags;
  meta.AddFlags(flags);
  bool stat = false, verbose = false, human = false;
  Tail tail;
  flags.Bool("stat", &stat, "Show the file's information instead of its content.");
  AddTailFlags(flags, tail, "file");
  flags.Bool("H", &human, "Sizes in human units.");
  flags.Bool("verbose", &verbose, "Full IDs.");
  std::vector<std::string> args;
  if (auto done = Begin(cmd, flags, meta, argv, args, 1, 2, "This command takes one or two arguments: <allocation> <path>")) return *done;
  if (Status s = ResolveTail(tail, "Both -n and -c are not allowed"); !s.ok()) return Fail(s.message());
  auto alloc = AllocByPrefix(meta, args[0]);
  if (!alloc.ok()) return Fail(alloc.status().message());
  const std::string id = PercentEncode(Str(*alloc, "ID"));
  const std::string path = args.size() == 2 ? args[1] : "/";
  auto info = meta.Get("/v1/client/fs/stat/" + id + "?path=" + PercentEncode(path));
  if (!info.ok()) return Fail("Error stating file: " + info.status().message());
  auto size = [&](const json::value& f) {
    const std::int64_t s = Int(f, "Size");
    return human ? FormatBytes(static_cast<std::uint64_t>(s)) : std::to_string(s);
  };
  auto row = [&](const json::value& f) {
    auto mod = ParseRFC3339(Str(f, "ModTime"));
    return Str(f, "FileMode") + "|" + size(f) + "|" +
           (mod.ok() && !mod->IsZero() ? FormatUnixNano(mod->unix_nanos) : "") + "|" + Str(f, "Name") +
           (Bool(f, "IsDir") ? "/" : "");
  };
  if (stat) {
    std::cout << FormatList({"Mode|Size|Modified Time|Name", row(*info)}) << "\n";
    return 0;
  }
  if (Bool(*info, "IsDir")) {
    auto list = meta.Get("/v1/client/fs/ls/" + id + "?path=" + PercentEncode(path));
    if (!list.ok()) return Fail("Error listing alloc dir: " + list.status().message());
    std::vector<std::string> rows{"Mode|Size|Modified Time|Name"};
    for (const json::value& f : list->as_array()) rows.push_back(row(f));
    std::cout << FormatList(rows) << "\n";
    return 0;
  }
  if (!tail.follow && !tail.tail) {
    auto r = meta.Raw("GET", "/v1/client/fs/cat/" + id + "?path=" + PercentEncode(path), "");
    if (!r.ok()) return Fail("Error reading file: " + r.status().message());
    if (r->status != 200) return Fail("Error reading file: Unexpected response code: " + std::to_string(r->status) + " (" + r->body + ")");
    std::cout << r->body << std::flush;
    return 0;
  }
  return StreamFramed(meta, "/v1/client/fs/stream/" + id + "?path=" + PercentEncode(path), tail);
}

}  // namespace

int AllocExec(const Command& cmd, const std::vector<std::string>& argv);

void AddAllocCommands(std::vector<Command>& out) {
  out.push_back({"alloc status", "Display allocation status information and metadata",
                 "Usage: drover alloc status [options] <allocation>\n\n"
                 "  The allocation (an ID or a prefix of at least two characters), its tasks\n"
                 "  with resource use and their events, newest first.\n\n"
                 "Examples:\n\n  drover alloc status 8a1b\n  drover alloc status -json 8a1b\n"
                 "  drover alloc status -t '{{ .ClientStatus }}' 8a1b",
                 AllocStatus});
  out.push_back({"alloc logs", "Streams the logs of a task",
                 "Usage: drover alloc logs [options] <allocation> <task>\n\n"
                 "  Prints a task's stdout (or -stderr); -f follows it, -tail -n N shows the\n"
                 "  last N lines. The task may be left out when the group has one.\n\n"
                 "Examples:\n\n  drover alloc logs 8a1b hello\n  drover alloc logs -f -tail -n 5 8a1b\n"
                 "  drover alloc logs -stderr 8a1b hello",
                 AllocLogs});
  out.push_back({"alloc exec", "Execute commands in task", 
                 "Usage: drover alloc exec [options] <allocation> <command> [args...]\n\n"
                 "  Runs a command in a task's environment. On a terminal (-t, the default\n"
                 "  when stdin is one) the session is raw and follows the window's size; the\n"
                 "  command's exit code is drover's.\n\n"
                 "Examples:\n\n  drover alloc exec 8a1b /bin/sh\n"
                 "  drover alloc exec -i=false -t=false -task hello 8a1b cat /etc/hostname",
                 AllocExec});
  out.push_back({"alloc restart", "Restart a running allocation or task",
                 "Usage: drover alloc restart [options] <allocation> <task>\n\n"
                 "  Restarts the allocation's running tasks, one task, or with -all-tasks every\n"
                 "  task (prestart and poststart ones too).\n\n"
                 "Examples:\n\n  drover alloc restart 8a1b\n  drover alloc restart -task hello 8a1b\n"
                 "  drover alloc restart -all-tasks 8a1b",
                 [](const Command& c, const std::vector<std::string>& a) { return AllocLifecycle(c, a, "restart"); }});
  out.push_back({"alloc signal", "Signal a running allocation",
                 "Usage: drover alloc signal [options] <allocation> <task>\n\n"
                 "  Sends a signal (-s, default SIGKILL) to the allocation's tasks or one task.\n\n"
                 "Examples:\n\n  drover alloc signal -s SIGUSR1 8a1b\n  drover alloc signal -s SIGHUP 8a1b hello",
                 [](const Command& c, const std::vector<std::string>& a) { return AllocLifecycle(c, a, "signal"); }});
  out.push_back({"alloc stop", "Stop and reschedule a running allocation",
                 "Usage: drover alloc stop [options] <allocation>\n\n"
                 "  Stops the allocation; the scheduler places a replacement.\n\n"
                 "Examples:\n\n  drover alloc stop 8a1b\n  drover alloc stop -detach 8a1b",
                 [](const Command& c, const std::vector<std::string>& a) { return AllocLifecycle(c, a, "stop"); }});
  out.push_back({"alloc fs", "Inspect the contents of an allocation directory",
                 "Usage: drover alloc fs [options] <allocation> <path>\n\n"
                 "  Lists a directory of the allocation, prints a file, or with -stat its\n"
                 "  information; -f follows a file; -tail shows its last 10 lines, -n N its\n"
                 "  last N lines, -c N its last N bytes.\n\n"
                 "Examples:\n\n  drover alloc fs 8a1b\n  drover alloc fs 8a1b alloc/logs\n"
                 "  drover alloc fs -tail -n 20 8a1b alloc/logs/hello.stdout.0\n"
                 "  drover alloc fs -tail -f 8a1b alloc/logs/hello.stdout.0",
                 AllocFs});
}

}  // namespace drover::cli
