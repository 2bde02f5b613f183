// The state tools at scale (issue 16): a generated store of --allocs
// allocations (default 10,000) and --events journal events (default
// 1,000,000), written through the real StateStore API (unsynced batches)
// and then compacted, on which it times, 3 runs each (min/median/max wall
// time and the largest RSS):
//   drover state check
//   drover state dump                     (JSON, to /dev/null)
//   drover events replay --alloc ID       (one allocation's timeline)
//   drover events replay --at INDEX       (the state half way through)
//   drover agent: start on a copy of the store until it serves
//
//   state_bench [--binary PATH] [--store DIR] [--allocs N] [--events N]
//               [--jobs N] [--skip CMD,...] [--previous-schema] [--verify-compaction]
//
// --binary times another build (e.g. the one before issue 16) on the same
// store; --store keeps the generated store in DIR and reuses it when DIR
// already holds one (so two binaries are timed on the same data); --skip
// leaves out some commands (check, dump, replay, at, restore);
// --previous-schema turns the store into what the schema before the
// journal's object index (v8) held, for timing a build from before it:
// the index dropped, the schema version one lower; --verify-compaction
// then folds half of the journal on a copy of the store and checks that
// `--at` rebuilds the same state at later indexes as before.
//
// The store is shaped like a busy batch node: --jobs jobs share the
// allocations; each allocation is placed, then cycles through task
// restarts (pending, running, terminated, restarting) in group commits of
// 10 allocation updates, and ends complete, so that the agent restores
// it without running anything. The oldest tenth of the journal is then
// folded into the snapshot, as the agent's retention would.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <rocksdb/db.h>

#include "migrations/migrations.h"
#include "storage/codec.h"
#include "storage/journal.h"
#include "storage/state_store.h"
#include "tests/support/agent_process.h"
#include "tests/support/migration_steps.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using namespace drover;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kUpdatesPerCommit = 10;
// --previous-schema: the schema before the journal's object index.
const int kPreviousSchema = testing::VersionBefore("journal entries indexed by allocation and job");
constexpr Nanos kStart = 1'790'000'000 * kSecond;  // a fixed, recent wall time

struct Options {
  std::string binary = DROVER_BINARY;
  std::string store;
  std::size_t allocs = 10'000;
  std::size_t events = 1'000'000;
  std::size_t jobs = 10;
  std::string skip;
  bool previous_schema = false;
  bool verify_compaction = false;
};

struct Generated {
  std::string some_alloc;       // an allocation half way through the ID space
  std::uint64_t mid_index = 0;  // an index after the snapshot, half way through
};

Job MakeJob(const std::string& id, int count, std::uint64_t index) {
  Job job;
  job.ID = job.Name = id;
  job.Namespace = "default";
  job.Region = "global";
  job.Type = "batch";
  job.Datacenters = {"dc1"};
  job.Status = "running";
  job.Priority = 50;
  job.SubmitTime = kStart;
  job.CreateIndex = job.ModifyIndex = job.JobModifyIndex = index;
  TaskGroup group;
  group.Name = "g";
  group.Count = count;
  group.RestartPolicy = RestartPolicy{3, 10 * kMinute, 15 * kSecond, "fail", false};
  Task task;
  task.Name = "t";
  task.Driver = "raw_exec";
  task.Config.text = R"({"command":"/bin/sh","args":["-c","exit 0"]})";
  task.Resources = Resources{};
  task.Resources->CPU = 10;
  task.Resources->MemoryMB = 10;
  group.Tasks.push_back(task);
  job.TaskGroups.push_back(group);
  return job;
}

TaskEvent MakeTaskEvent(const std::string& type, Nanos t, int exit_code = 0) {
  TaskEvent e;
  e.Type = type;
  e.Time = t;
  if (type == "Terminated") {
    e.ExitCode = exit_code;
    e.Details["exit_code"] = std::to_string(exit_code);
  } else if (type == "Restarting") {
    e.StartDelay = 15 * kSecond;
    e.DisplayMessage = "Task restarting in 15s";
    e.Details["start_delay"] = std::to_string(15 * kSecond);
  } else if (type == "Started") {
    e.DisplayMessage = "Task started by client";
  }
  return e;
}

void AddTaskEvent(TaskState& ts, TaskEvent e) {
  ts.Events.push_back(std::move(e));
  if (ts.Events.size() > kTaskEventLimit) ts.Events.erase(ts.Events.begin());
}

// Moves the allocation one step through its life; the last step (when
// `final`) leaves it complete.
void Step(Allocation& a, std::size_t step, bool final, Nanos now) {
  TaskState& ts = (*a.TaskStates)["t"];
  if (final) {
    ts.State = "dead";
    ts.Failed = false;
    ts.FinishedAt = GoTime{now};
    AddTaskEvent(ts, MakeTaskEvent("Terminated", now, 0));
    a.ClientStatus = "complete";
    a.DesiredStatus = "run";
  } else {
    switch (step % 3) {
      case 0:
        ts.State = "running";
        ts.StartedAt = GoTime{now};
        AddTaskEvent(ts, MakeTaskEvent("Started", now));
        a.ClientStatus = "running";
        break;
      case 1:
        ts.State = "dead";
        AddTaskEvent(ts, MakeTaskEvent("Terminated", now, 1));
        break;
      case 2:
        ts.State = "pending";
        ts.Restarts++;
        ts.LastRestart = GoTime{now};
        AddTaskEvent(ts, MakeTaskEvent("Restarting", now));
        break;
    }
  }
  a.ModifyTime = now;
}

Result<Generated> Generate(const std::string& state_dir, const Options& o) {
  StoreOptions options;
  options.migrations = migrations::All();
  options.sync = false;
  ASSIGN_OR_RETURN(std::unique_ptr<StateStore> store, StateStore::Open(state_dir, std::move(options)));
  const std::string node_id = "6a2c3f4e-0000-4000-8000-00000000beef";
  std::vector<Allocation> allocs;
  allocs.reserve(o.allocs);
  std::size_t events = 0;
  Nanos now = kStart;
  const std::size_t per_job = (o.allocs + o.jobs - 1) / o.jobs;
  std::mt19937_64 rng(16);

  // Placement: per job, its registration, its evaluation and its allocations.
  for (std::size_t j = 0; j < o.jobs && allocs.size() < o.allocs; ++j) {
    const int count = static_cast<int>(std::min(per_job, o.allocs - allocs.size()));
    auto r = store->Apply([&](WriteTxn& txn) {
      char name[32];
      std::snprintf(name, sizeof(name), "bench-%03zu", j);
      Job job = MakeJob(name, count, txn.index());
      txn.PutJob(job);
      txn.AddEvent(MakeEvent("Job", "JobRegistered", job.ID, job.Namespace, EncodeJson(job)));
      Evaluation ev;
      char uuid[40];
      std::snprintf(uuid, sizeof(uuid), "e%07zx-0000-4000-8000-000000000000", j);
      ev.ID = uuid;
      ev.Namespace = "default";
      ev.Priority = 50;
      ev.Type = "batch";
      ev.TriggeredBy = "job-register";
      ev.JobID = job.ID;
      ev.JobModifyIndex = txn.index();
      ev.Status = "complete";
      ev.CreateIndex = ev.ModifyIndex = txn.index();
      ev.CreateTime = ev.ModifyTime = now;
      txn.PutEval(ev);
      txn.AddEvent(MakeEvent("Evaluation", "EvaluationUpdated", ev.ID, ev.Namespace,
                             EncodeJson(ev), {ev.JobID}));
      for (int i = 0; i < count; ++i) {
        Allocation a;
        char id[40];
        std::snprintf(id, sizeof(id), "%08llx-%04zx-4000-8000-%012zx",
                      static_cast<unsigned long long>(rng() & 0xffffffffULL), j,
                      allocs.size());
        a.ID = id;
        a.Namespace = "default";
        a.EvalID = ev.ID;
        a.Name = job.ID + ".g[" + std::to_string(i) + "]";
        a.NodeID = node_id;
        a.NodeName = "bench-node";
        a.JobID = job.ID;
        a.Job = job;
        a.TaskGroup = "g";
        a.DesiredStatus = "run";
        a.ClientStatus = "pending";
        TaskState ts;
        ts.State = "pending";
        a.TaskStates = std::map<std::string, TaskState>{{"t", ts}};
        a.CreateIndex = a.ModifyIndex = a.AllocModifyIndex = txn.index();
        a.CreateTime = a.ModifyTime = now;
        txn.PutAlloc(a);
        txn.AddEvent(AllocationEvent("PlanResult", a));
        allocs.push_back(std::move(a));
      }
      events += 2 + static_cast<std::size_t>(count);
      return Status::Ok();
    });
    RETURN_IF_ERROR(r.status());
    now += kSecond;
  }

  // Updates: every allocation in turn, kUpdatesPerCommit per change; the
  // last round leaves each one complete.
  if (events >= o.events) return InvalidArgument("--events must exceed the placement events");
  const std::size_t updates = o.events - events;
  const std::size_t rounds = (updates + allocs.size() - 1) / allocs.size();
  // As the agent's task-state updates write them: without the Job, which
  // the store already holds (PutAllocWithoutJob keeps the reference).
  std::vector<StoredAlloc> stored;
  stored.reserve(allocs.size());
  for (Allocation& a : allocs) {
    JobVersionRef ref = RefOf(*a.Job);
    a.Job.reset();
    stored.push_back(StoredAlloc{std::move(a), std::move(ref)});
  }
  std::vector<std::size_t> steps(allocs.size(), 0);
  std::size_t done = 0, next = 0;
  const auto started = Clock::now();
  while (done < updates) {
    const std::size_t n = std::min(kUpdatesPerCommit, updates - done);
    auto r = store->Apply([&](WriteTxn& txn) {
      for (std::size_t k = 0; k < n; ++k, next = (next + 1) % allocs.size()) {
        Allocation& a = stored[next].alloc;
        // The last update an allocation gets is its final one.
        const std::size_t left = updates - done - k;
        const bool final = left <= allocs.size() || steps[next] + 1 >= rounds;
        Step(a, steps[next]++, final && left <= allocs.size(), now);
        a.ModifyIndex = txn.index();
        txn.PutAllocWithoutJob(stored[next]);
        txn.AddEvent(AllocationEvent("AllocationUpdated", a));
      }
      return Status::Ok();
    });
    RETURN_IF_ERROR(r.status());
    done += n;
    now += kMillisecond;
    if (done % 50'000 < n) {
      const double s = std::chrono::duration<double>(Clock::now() - started).count();
      std::fprintf(stderr, "  %zu updates, %.1f s, %.0f commits/s\n", done, s,
                   static_cast<double>(done / kUpdatesPerCommit) / s);
    }
  }
  events += updates;
  std::printf("wrote %zu allocations, %zu journal events, index %llu\n", allocs.size(), events,
              static_cast<unsigned long long>(store->LatestIndex()));

  // Compaction, as the agent's retention would run it: fold the oldest tenth.
  const auto t0 = Clock::now();
  ASSIGN_OR_RETURN(CompactionResult c,
                   CompactJournal(*store, RetentionPolicy{events - events / 10, 0}));
  std::printf("compaction folded %zu events through index %llu in %.1f s\n", c.folded_events,
              static_cast<unsigned long long>(c.base_index),
              std::chrono::duration<double>(Clock::now() - t0).count());

  Generated g;
  std::vector<std::string> ids;
  for (const StoredAlloc& s : stored) ids.push_back(s.alloc.ID);
  std::sort(ids.begin(), ids.end());
  g.some_alloc = ids[ids.size() / 2];
  g.mid_index = c.base_index + (store->LatestIndex() - c.base_index) / 2;
  return g;
}

// Opens the store as its writer would, flushing what its WAL holds (a
// generator stopped early leaves it all there, which every read-only open
// would replay); with `previous_schema`, also turns it into what a writer
// of the schema before the journal's object index left: everything else is
// what that writer wrote too (the journal snapshot one meta value, as
// before schema v9).
Status Settle(const std::string& state_dir, bool previous_schema) {
  std::string snapshot_v8;
  if (previous_schema) {
    auto store = StateStore::Open(state_dir, StoreOptions{migrations::All(), true});
    if (!store.ok()) return store.status();
    auto state = LoadJournalSnapshot(**store);
    if (!state.ok()) return state.status();
    if (state->index > 0) snapshot_v8 = EncodeJournalState(*state);
  }
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), state_dir, &names);
  if (!s.ok()) return Internal(s.ToString());
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const auto& n : names) descs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  s = rocksdb::DB::Open(rocksdb::DBOptions(), state_dir, descs, &handles, &db);
  if (!s.ok()) return Internal(s.ToString());
  for (std::size_t i = 0; i < names.size() && s.ok(); ++i) {
    s = db->Flush(rocksdb::FlushOptions(), handles[i]);
    if (!previous_schema) continue;
    if ((names[i] == "journal_objects" || names[i] == "journal_snapshot") && s.ok()) {
      s = db->DropColumnFamily(handles[i]);
    }
    if (names[i] == "meta" && s.ok()) {
      rocksdb::WriteOptions sync;
      sync.sync = true;
      s = db->Put(sync, handles[i], "schema_version", std::to_string(kPreviousSchema));
      if (s.ok()) s = db->Delete(sync, handles[i], "journal/entries");
      if (s.ok()) s = db->Delete(sync, handles[i], kJournalHeaderKey);
      if (s.ok() && !snapshot_v8.empty()) s = db->Put(sync, handles[i], kJournalSnapshotV8Key, snapshot_v8);
    }
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
  return s.ok() ? Status::Ok() : Internal(s.ToString());
}

// Runs `argv` with stdout/stderr to /dev/null; wall seconds and max RSS.
struct Run {
  double seconds = -1;
  double cpu_seconds = 0;  // user + system: the load of other processes aside
  long max_rss_kib = 0;
  int exit_code = -1;
};

Run Spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  Run run;
  pid_t pid;
  const auto t0 = Clock::now();
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) {
    posix_spawn_file_actions_destroy(&fa);
    return run;
  }
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  struct rusage ru {};
  while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  run.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  run.max_rss_kib = ru.ru_maxrss;
  run.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                    static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return run;
}

void Print(const std::string& what, std::vector<Run> runs) {
  std::vector<double> s, cpu;
  long rss = 0;
  for (const Run& r : runs) {
    s.push_back(r.seconds);
    cpu.push_back(r.cpu_seconds);
    rss = std::max(rss, r.max_rss_kib);
  }
  std::sort(s.begin(), s.end());
  std::sort(cpu.begin(), cpu.end());
  std::printf("%-34s min %8.3f s  median %8.3f s  max %8.3f s  CPU median %7.3f s  max RSS %7ld MiB  "
              "exit %d\n",
              what.c_str(), s.front(), s[s.size() / 2], s.back(), cpu[cpu.size() / 2], rss / 1024,
              runs.front().exit_code);
  std::fflush(stdout);
}

// A copy of the store the agent may write to: SST files are immutable,
// so they are hard-linked; everything else is copied.
Status CopyStore(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to, ec);
  if (ec) return Internal("mkdir " + to.string() + ": " + ec.message());
  for (const auto& entry : fs::directory_iterator(from)) {
    const fs::path dst = to / entry.path().filename();
    if (entry.path().extension() == ".sst") {
      fs::create_hard_link(entry.path(), dst, ec);
    } else {
      fs::copy_file(entry.path(), dst, ec);
    }
    if (ec) return Internal("copy " + entry.path().string() + ": " + ec.message());
  }
  return Status::Ok();
}

Run TimeRestore(const Options& o, const fs::path& state_dir) {
  Run run;
  double prepare = 0;
  testing::AgentOptions ao;
  ao.binary = o.binary;
  ao.log_level = "info";
  ao.ready_timeout = std::chrono::minutes(5);
  // The agent's retention keeps this journal as it is.
  ao.config_json = "{\"journal_max_events\": " + std::to_string(o.events * 2) + "}";
  ao.prepare_data_dir = [&](const fs::path& data_dir) {
    const auto t0 = Clock::now();
    Status st = CopyStore(state_dir, data_dir / "state");
    prepare = std::chrono::duration<double>(Clock::now() - t0).count();
    return st;
  };
  const auto t0 = Clock::now();
  auto agent = testing::AgentProcess::Launch(ao);
  const double total = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!agent.ok()) {
    std::fprintf(stderr, "agent: %s\n", agent.status().ToString().c_str());
    return run;
  }
  // CPU the agent spent to get there (utime, stime: fields 14 and 15).
  if (FILE* f = std::fopen(("/proc/" + std::to_string((*agent)->pid()) + "/stat").c_str(), "r")) {
    char buf[1024] = {0};
    const std::size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
    std::fclose(f);
    const char* p = std::strrchr(buf, ')');
    unsigned long long ticks[2] = {0, 0};
    if (p != nullptr && n > 0) {
      std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ticks[0], &ticks[1]);
    }
    run.cpu_seconds = static_cast<double>(ticks[0] + ticks[1]) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  std::string status = "/proc/" + std::to_string((*agent)->pid()) + "/status";
  if (FILE* f = std::fopen(status.c_str(), "r")) {
    char line[256];
    while (std::fgets(line, sizeof(line), f)) {
      if (std::strncmp(line, "VmHWM:", 6) == 0) run.max_rss_kib = std::strtol(line + 6, nullptr, 10);
    }
    std::fclose(f);
  }
  run.seconds = total - prepare;
  run.exit_code = 0;
  (void)(*agent)->Stop();
  return run;
}

// --verify-compaction: on a copy of the store, the state at three indexes
// after the point half way through what the journal still holds, rebuilt
// before and after folding that first half into the snapshot, compared
// table by table (the issue's "compaction stays exact at this scale").
int VerifyCompaction(const fs::path& state_dir) {
  char tmpl[] = "/tmp/drover-state-bench-verify-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return 1;
  const fs::path copy = fs::path(tmpl) / "state";
  auto cleanup = [&] {
    std::error_code ec;
    fs::remove_all(tmpl, ec);
  };
  if (Status st = CopyStore(state_dir, copy); !st.ok()) {
    std::fprintf(stderr, "copy: %s\n", st.ToString().c_str());
    cleanup();
    return 1;
  }
  StoreOptions options;
  options.migrations = migrations::All();
  options.sync = false;
  auto store = StateStore::Open(copy.string(), std::move(options));
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    cleanup();
    return 1;
  }
  StateStore& s = **store;
  auto entries = s.GetMeta("journal/entries");
  const std::size_t held = entries.ok() && *entries ? std::strtoull((*entries)->c_str(), nullptr, 10) : 0;
  auto base_text = s.GetMeta("journal/base");
  const std::uint64_t base = base_text.ok() && *base_text ? std::strtoull((*base_text)->c_str(), nullptr, 10) : 0;
  const std::uint64_t head = s.LatestIndex();
  const std::uint64_t mid = base + (head - base) / 2;
  const std::uint64_t at[] = {mid + (head - mid) / 10, mid + (head - mid) / 2, head};
  std::vector<JournalState> before;
  auto t0 = Clock::now();
  for (std::uint64_t i : at) {
    auto r = ReplayJournal(s, i);
    if (!r.ok()) {
      std::fprintf(stderr, "replay at %llu: %s\n", static_cast<unsigned long long>(i), r.status().ToString().c_str());
      cleanup();
      return 1;
    }
    before.push_back(std::move(r).value());
  }
  std::printf("verify-compaction: %zu journal entries after the snapshot at %llu, head %llu; "
              "3 rebuilds in %.1f s\n", held, static_cast<unsigned long long>(base),
              static_cast<unsigned long long>(head), std::chrono::duration<double>(Clock::now() - t0).count());
  t0 = Clock::now();
  auto c = CompactJournal(s, RetentionPolicy{held / 2, 0});
  if (!c.ok()) {
    std::fprintf(stderr, "compact: %s\n", c.status().ToString().c_str());
    cleanup();
    return 1;
  }
  std::printf("verify-compaction: folded %zu entries through index %llu in %.1f s\n", c->folded_events,
              static_cast<unsigned long long>(c->base_index),
              std::chrono::duration<double>(Clock::now() - t0).count());
  int failures = 0;
  for (std::size_t k = 0; k < std::size(at); ++k) {
    if (at[k] < c->base_index) {
      std::printf("verify-compaction: index %llu is before the new snapshot; skipped\n",
                  static_cast<unsigned long long>(at[k]));
      continue;
    }
    auto r = ReplayJournal(s, at[k]);
    const bool same = r.ok() && r->jobs == before[k].jobs && r->evals == before[k].evals &&
                      r->allocs == before[k].allocs && r->nodes == before[k].nodes &&
                      r->purged_jobs == before[k].purged_jobs &&
                      r->table_index == before[k].table_index && r->index == before[k].index;
    std::printf("verify-compaction: at index %llu (%zu jobs, %zu evaluations, %zu allocations, %zu nodes): %s\n",
                static_cast<unsigned long long>(at[k]), before[k].jobs.size(), before[k].evals.size(),
                before[k].allocs.size(), before[k].nodes.size(),
                same ? "same state before and after compaction" : "DIFFERENT");
    if (!same) ++failures;
  }
  store->reset();
  cleanup();
  return failures == 0 ? 0 : 1;
}

bool Skipped(const Options& o, const char* what) {
  return ("," + o.skip + ",").find(std::string(",") + what + ",") != std::string::npos;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--binary" && has_value) o.binary = argv[++i];
    else if (arg == "--store" && has_value) o.store = argv[++i];
    else if (arg == "--allocs" && has_value) o.allocs = std::strtoull(argv[++i], nullptr, 10);
    else if (arg == "--events" && has_value) o.events = std::strtoull(argv[++i], nullptr, 10);
    else if (arg == "--jobs" && has_value) o.jobs = std::strtoull(argv[++i], nullptr, 10);
    else if (arg == "--skip" && has_value) o.skip = argv[++i];
    else if (arg == "--previous-schema") o.previous_schema = true;
    else if (arg == "--verify-compaction") o.verify_compaction = true;
    else {
      std::fprintf(stderr,
                   "usage: state_bench [--binary PATH] [--store DIR] [--allocs N] [--events N] "
                   "[--jobs N] [--skip check,dump,replay,at,restore] [--previous-schema] "
                   "[--verify-compaction]\n");
      return 2;
    }
  }
  if (o.allocs == 0 || o.jobs == 0 || o.jobs > o.allocs) {
    std::fprintf(stderr, "--allocs and --jobs must be positive, jobs <= allocs\n");
    return 2;
  }
  bool temporary = o.store.empty();
  if (temporary) {
    char tmpl[] = "/tmp/drover-state-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return 1;
    o.store = tmpl;
  }
  const fs::path data_dir = o.store;
  const fs::path state_dir = data_dir / "state";
  const fs::path info = data_dir / "bench.info";
  Generated g;
  if (fs::exists(info)) {
    FILE* f = std::fopen(info.c_str(), "r");
    char alloc[64] = {0};
    unsigned long long mid = 0;
    if (f == nullptr || std::fscanf(f, "%63s %llu", alloc, &mid) != 2) {
      std::fprintf(stderr, "%s: unreadable\n", info.c_str());
      return 1;
    }
    std::fclose(f);
    g.some_alloc = alloc;
    g.mid_index = mid;
    std::printf("reusing the store in %s\n", data_dir.c_str());
  } else {
    const auto t0 = Clock::now();
    auto generated = Generate(state_dir.string(), o);
    if (!generated.ok()) {
      std::fprintf(stderr, "generate: %s\n", generated.status().ToString().c_str());
      return 1;
    }
    g = *generated;
    std::printf("generated in %.1f s\n", std::chrono::duration<double>(Clock::now() - t0).count());
    if (FILE* f = std::fopen(info.c_str(), "w")) {
      std::fprintf(f, "%s %llu\n", g.some_alloc.c_str(),
                   static_cast<unsigned long long>(g.mid_index));
      std::fclose(f);
    }
  }
  if (Status st = Settle(state_dir.string(), o.previous_schema); !st.ok()) {
    std::fprintf(stderr, "settle the store: %s\n", st.ToString().c_str());
    return 1;
  }
  if (o.previous_schema) {
    std::printf("store turned into schema v%d (no journal object index)\n", kPreviousSchema);
  }
  {
    std::uintmax_t bytes = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(state_dir, ec)) {
      if (e.is_regular_file(ec)) bytes += e.file_size(ec);
    }
    std::printf("store size %.1f MiB\n", static_cast<double>(bytes) / (1 << 20));
  }
  std::printf("binary %s\n", o.binary.c_str());
  const std::string dir = data_dir.string();
  auto three = [&](const std::vector<std::string>& args) {
    std::vector<Run> runs;
    for (int i = 0; i < 3; ++i) runs.push_back(Spawn(args));
    return runs;
  };
  if (!Skipped(o, "check")) Print("state check", three({o.binary, "state", "check", "--data-dir", dir}));
  if (!Skipped(o, "dump")) Print("state dump (JSON)", three({o.binary, "state", "dump", "--data-dir", dir}));
  if (!Skipped(o, "replay")) {
    Print("events replay --alloc (one alloc)",
          three({o.binary, "events", "replay", "--data-dir", dir, "--alloc", g.some_alloc}));
  }
  if (!Skipped(o, "at")) {
    Print("events replay --at " + std::to_string(g.mid_index),
          three({o.binary, "events", "replay", "--data-dir", dir, "--at",
                 std::to_string(g.mid_index)}));
  }
  if (!Skipped(o, "restore")) {
    std::vector<Run> runs;
    for (int i = 0; i < 3; ++i) runs.push_back(TimeRestore(o, state_dir));
    Print("agent restore to serving", runs);
  }
  int rc = 0;
  if (o.verify_compaction) rc = VerifyCompaction(state_dir);
  if (temporary) {
    std::error_code ec;
    fs::remove_all(data_dir, ec);
  }
  return rc;
}
