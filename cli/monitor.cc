#include "cli/monitor.h"

#include <unistd.h>

#include <boost/json.hpp>
#include <iostream>
#include <map>

#include "cli/format.h"
#include "client/http_client.h"
#include "common/gotime.h"

namespace drover::cli {

namespace json = boost::json;

namespace {

std::string Now() { return FormatUnixNano(NowNanos()); }

void Line(const std::string& text, bool header = false) {
  std::cout << (header ? "==> " : "    ") << Now() << ": " << text << std::endl;
}

bool Terminal(const std::string& status) {
  return status == "complete" || status == "failed" || status == "lost";
}

// Prints the placement failures of a finished evaluation; true if any.
bool ReportFailures(const json::value& eval) {
  const json::value* failed = eval.is_object() ? eval.get_object().if_contains("FailedTGAllocs") : nullptr;
  if (failed == nullptr || !failed->is_object() || failed->get_object().empty()) return false;
  Line("Evaluation \"" + Limit(Str(eval, "ID"), kShortId) + "\" finished with status \"" +
           Str(eval, "Status") + "\" but failed to place all allocations:",
       true);
  for (const auto& kv : failed->get_object()) {
    const std::int64_t n = Int(kv.value(), "CoalescedFailures") + 1;
    std::cout << "    Task Group \"" << std::string(kv.key()) << "\" (failed to place " << n
              << (n == 1 ? " allocation" : " allocations") << "):\n";
    if (const auto* ex = kv.value().get_object().if_contains("DimensionExhausted"); ex && ex->is_object()) {
      for (const auto& d : ex->get_object()) {
        std::cout << "      * Dimension \"" << std::string(d.key()) << "\" exhausted on "
                  << json::serialize(d.value()) << " nodes\n";
      }
    }
  }
  if (!Str(eval, "BlockedEval").empty()) {
    Line("Evaluation \"" + Limit(Str(eval, "BlockedEval"), kShortId) +
         "\" waiting for additional capacity to place remainder");
  }
  return true;
}

// Follows the allocations `eval_id` placed until they settle.
int FollowAllocations(Meta& meta, const std::string& job_id, const std::string& eval_id,
                      bool batch) {
  const bool tty = ::isatty(STDOUT_FILENO) == 1;
  std::cout << "==> " << Now() << ": Monitoring allocations\n";
  std::map<std::string, std::string> seen;  // alloc ID -> client status
  std::uint64_t index = 0;
  std::size_t drawn = 0;
  for (;;) {
    std::uint64_t next = 0;
    auto allocs = meta.GetIndexed("/v1/job/" + client::PercentEncode(job_id) +
                                      "/allocations?index=" + std::to_string(index) + "&wait=30s",
                                  next);
    if (!allocs.ok()) {
      std::cerr << "Error reading allocations: " << allocs.status().message() << "\n";
      return 1;
    }
    index = next;
    std::vector<std::string> rows{"ID|Task Group|Status|Description|Restarts"};
    std::size_t settled = 0, total = 0, failed = 0;
    for (const json::value& a : allocs->as_array()) {
      if (Str(a, "EvalID") != eval_id) continue;
      ++total;
      const std::string id = Str(a, "ID"), status = Str(a, "ClientStatus");
      std::int64_t restarts = 0;
      if (const auto* ts = a.get_object().if_contains("TaskStates"); ts && ts->is_object()) {
        for (const auto& kv : ts->get_object()) {
          restarts += Int(kv.value(), "Restarts");
        }
      }
      if (status == "failed" || status == "lost") ++failed;
      if (batch ? Terminal(status) : (status == "running" || Terminal(status))) ++settled;
      // No colour inside the table: escape codes would count as width.
      rows.push_back(Limit(id, kShortId) + "|" + Str(a, "TaskGroup") + "|" + status + "|" +
                     Str(a, "ClientDescription") + "|" + std::to_string(restarts));
      if (!tty && seen[id] != status) {
        if (seen[id].empty()) {
          Line("Allocation \"" + Limit(id, kShortId) + "\" is \"" + status + "\"");
        } else {
          Line("Allocation \"" + Limit(id, kShortId) + "\" status changed: \"" + seen[id] +
               "\" -> \"" + status + "\"");
        }
      }
      seen[id] = status;
    }
    if (tty) {
      // Redraw the table in place: up over the last one, clear to the end.
      if (drawn > 0) std::cout << "\033[" << drawn << "A\033[J";
      const std::string table = FormatList(rows);
      std::cout << table << std::endl;
      drawn = 1;
      for (char c : table) drawn += c == '\n';
    }
    if (total > 0 && settled == total) {
      if (failed > 0) {
        std::cout << "==> " << Now() << ": "
                  << meta.Red(std::to_string(failed) + " of " + std::to_string(total) + " allocations failed")
                  << "\n";
        return 1;
      }
      std::cout << "==> " << Now() << ": " << (batch ? "All allocations finished" : "All allocations running") << "\n";
      return 0;
    }
  }
}

// Nomad's formatDeployment: the deployment and its groups' progress.
std::string FormatDeployment(const json::value& d) {
  std::string out = FormatKV({"ID|" + Limit(Str(d, "ID"), kShortId), "Job ID|" + Str(d, "JobID"),
                              "Job Version|" + std::to_string(Int(d, "JobVersion")),
                              "Status|" + Str(d, "Status"), "Description|" + Str(d, "StatusDescription")});
  const json::value* groups = d.is_object() ? d.get_object().if_contains("TaskGroups") : nullptr;
  if (groups == nullptr || !groups->is_object() || groups->get_object().empty()) return out;
  bool auto_revert = false, deadline = false;
  std::map<std::string, const json::value*> sorted;
  for (const auto& kv : groups->get_object()) {
    sorted[std::string(kv.key())] = &kv.value();
    auto_revert = auto_revert || Bool(kv.value(), "AutoRevert");
    deadline = deadline || Int(kv.value(), "ProgressDeadline") != 0;
  }
  std::vector<std::string> rows{std::string("Task Group|") + (auto_revert ? "Auto Revert|" : "") +
                                "Desired|Placed|Healthy|Unhealthy" + (deadline ? "|Progress Deadline" : "")};
  for (const auto& [name, g] : sorted) {
    std::string row = name + "|";
    if (auto_revert) row += std::string(Bool(*g, "AutoRevert") ? "true" : "false") + "|";
    row += std::to_string(Int(*g, "DesiredTotal")) + "|" + std::to_string(Int(*g, "PlacedAllocs")) + "|" +
           std::to_string(Int(*g, "HealthyAllocs")) + "|" + std::to_string(Int(*g, "UnhealthyAllocs"));
    if (deadline) {
      auto by = ParseRFC3339(Str(*g, "RequireProgressBy"));
      row += "|" + (by.ok() && !by->IsZero() ? FormatUnixNano(by->unix_nanos) : std::string("N/A"));
    }
    rows.push_back(row);
  }
  return out + "\n\nDeployed\n" + FormatList(rows);
}

// Follows a deployment until it ends, as Nomad's deployment monitor: the
// deployment redrawn in place on a terminal, printed on each change
// otherwise; after a failure with auto_revert, the rollback's deployment.
// The deployment's final status ("" after an error).
std::string FollowDeployment(Meta& meta, const std::string& deployment_id) {
  const bool tty = ::isatty(STDOUT_FILENO) == 1;
  std::uint64_t index = 0;
  std::size_t drawn = 0;
  std::string last;
  for (;;) {
    std::uint64_t next = 0;
    auto d = meta.GetIndexed("/v1/deployment/" + client::PercentEncode(deployment_id) + "?index=" +
                                 std::to_string(index) + "&wait=30s",
                             next);
    if (!d.ok()) {
      std::cerr << Now() << ": Error fetching deployment: " << d.status().message() << "\n";
      return "";
    }
    index = next;
    const std::string text = "\n" + Now() + "\n" + FormatDeployment(*d);
    if (tty) {
      if (drawn > 0) std::cout << "\033[" << drawn << "A\033[J";
      std::cout << text << std::endl;
      drawn = 1;
      for (char c : text) drawn += c == '\n';
    } else if (FormatDeployment(*d) != last) {
      std::cout << text << std::endl;
    }
    last = FormatDeployment(*d);
    const std::string status = Str(*d, "Status");
    if (status == "successful" || status == "cancelled" || status == "blocked") return status;
    if (status != "failed") continue;
    bool auto_revert = false;
    if (const auto* g = d->get_object().if_contains("TaskGroups"); g && g->is_object()) {
      for (const auto& kv : g->get_object()) auto_revert = auto_revert || Bool(kv.value(), "AutoRevert");
    }
    if (!auto_revert) return status;
    // The rollback: the job's latest deployment, once the revert placed it.
    ::sleep(1);
    auto rollback = meta.Get("/v1/job/" + client::PercentEncode(Str(*d, "JobID")) + "/deployment");
    std::cout << "\n";
    if (!rollback.ok()) {
      std::cerr << Now() << ": Error fetching deployment of previous job version: " << rollback.status().message()
                << "\n";
      return status;
    }
    if (!rollback->is_object() || Str(*rollback, "ID").empty() || Str(*rollback, "ID") == deployment_id) return status;
    FollowDeployment(meta, Str(*rollback, "ID"));
    return status;  // the job run failed, whatever its rollback did
  }
}

}  // namespace

int MonitorEvaluation(Meta& meta, const std::string& eval_id, bool follow_allocs) {
  Line("Monitoring evaluation \"" + Limit(eval_id, kShortId) + "\"", true);
  std::uint64_t index = 0;
  std::string status;
  json::value eval;
  bool said_trigger = false;
  for (;;) {
    std::uint64_t next = 0;
    auto got = meta.GetIndexed("/v1/evaluation/" + client::PercentEncode(eval_id) +
                                   "?index=" + std::to_string(index) + "&wait=30s",
                               next);
    if (!got.ok()) {
      std::cerr << "Error reading evaluation: " << got.status().message() << "\n";
      return 1;
    }
    eval = std::move(got).value();
    index = next;
    if (!said_trigger) {
      Line("Evaluation triggered by job \"" + Str(eval, "JobID") + "\"");
      said_trigger = true;
    }
    const std::string now = Str(eval, "Status");
    if (now != status) {
      if (!status.empty()) Line("Evaluation status changed: \"" + status + "\" -> \"" + now + "\"");
      status = now;
    }
    if (now != "pending") break;
  }
  // The allocations it placed.
  const std::string job_id = Str(eval, "JobID");
  auto allocs = meta.Get("/v1/job/" + client::PercentEncode(job_id) + "/allocations");
  bool placed = false;
  if (allocs.ok() && allocs->is_array()) {
    for (const json::value& a : allocs->get_array()) {
      if (Str(a, "EvalID") != eval_id) continue;
      placed = true;
      Line("Allocation \"" + Limit(Str(a, "ID"), kShortId) + "\" created: node \"" +
           Limit(Str(a, "NodeID"), kShortId) + "\", group \"" + Str(a, "TaskGroup") + "\"");
    }
  }
  if (ReportFailures(eval)) return 2;
  Line("Evaluation \"" + Limit(eval_id, kShortId) + "\" finished with status \"" + status + "\"", true);
  if (status == "failed") return 1;
  if (const std::string dep = Str(eval, "DeploymentID"); follow_allocs && !dep.empty()) {
    Line("Monitoring deployment \"" + Limit(dep, kShortId) + "\"", true);
    return FollowDeployment(meta, dep) == "successful" ? 0 : 1;
  }
  if (!follow_allocs || !placed) return 0;
  return FollowAllocations(meta, job_id, eval_id, Str(eval, "Type") == "batch" || Str(eval, "Type") == "sysbatch");
}

int AfterEvaluation(Meta& meta, const std::string& eval_id, bool detach, bool follow_allocs,
                    const std::string& before_id) {
  if (detach || eval_id.empty()) {
    if (!eval_id.empty()) std::cout << before_id << eval_id << "\n";
    return 0;
  }
  return MonitorEvaluation(meta, eval_id, follow_allocs);
}

}  // namespace drover::cli
