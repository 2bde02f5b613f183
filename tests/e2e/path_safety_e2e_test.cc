// End-to-end: tasks that plant links in their allocation directory to make
// the agent or the executor write, chmod or delete outside it. Each attack
// is a real task against a real agent; "outside" is a directory next to
// the data dir whose content and mode must not change.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/agent_process.h"
#include "tests/support/shared_agent.h"
#include "tests/support/http_client.h"
#include "tests/support/json_assert.h"

namespace drover::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::int64_t kSecond = 1'000'000'000;
constexpr auto kWait = 60s;  // generous: the machine is shared
constexpr std::int64_t kMiB = 1 << 20;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every entry below `dir`: a file's content (its size when it is long, so
// that a failure prints little), a link as "-> target".
std::map<std::string, std::string> Snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(e.path(), dir).string();
    if (e.is_symlink()) {
      out[rel] = "-> " + fs::read_symlink(e.path()).string();
    } else if (e.is_regular_file()) {
      const std::string content = ReadFile(e.path());
      out[rel] = content.size() <= 64 ? content : std::to_string(content.size()) + " bytes";
    } else {
      out[rel] = "<dir>";
    }
  }
  return out;
}

mode_t ModeOf(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// One raw_exec task running `script` under /bin/sh, logs rotated at 1 MiB.
std::string JobBody(const std::string& id, const std::string& type, const std::string& script,
                    int max_files) {
  json::object task{
      {"Name", "web"},
      {"Driver", "raw_exec"},
      {"Config", json::object{{"command", "/bin/sh"}, {"args", json::array{"-c", script}}}},
      {"LogConfig", json::object{{"MaxFiles", max_files}, {"MaxFileSizeMB", 1}}},
      {"KillTimeout", kSecond},
  };
  json::object group{
      {"Name", "g"},
      {"Count", 1},
      {"RestartPolicy", json::object{{"Attempts", 0}, {"Mode", "fail"}}},
      {"ReschedulePolicy", json::object{{"Attempts", 0}, {"Unlimited", false}}},
      {"Tasks", json::array{task}},
  };
  return json::serialize(json::object{{"Job", json::object{{"ID", id},
                                                          {"Name", id},
                                                          {"Type", type},
                                                          {"Datacenters", json::array{"dc1"}},
                                                          {"TaskGroups", json::array{group}}}}});
}

class PathSafetyE2ETest : public SharedAgentTest<PathSafetyE2ETest> {
 protected:
  void SetUp() override {
    ASSERT_NE(agent_, nullptr) << "the agent did not start";
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    outside_ = agent_->data_dir().parent_path() / ("outside-" + test);
    fs::create_directories(outside_);
    fs::permissions(outside_, fs::perms(0755), fs::perm_options::replace);
    std::ofstream(outside_ / "precious") << "PRECIOUS";
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- agent log tail ----\n" << agent_->LogTail(6000) << "\n";
  }

  // Registers the job; returns its allocation's ID once the task "web" is
  // in `state`, or "".
  static std::string Run(const std::string& id, const std::string& type, const std::string& script,
                         const std::string& state, int max_files = 5) {
    HttpClient client = agent_->Client();
    auto r = client.Put("/v1/jobs", JobBody(id, type, script, max_files));
    EXPECT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().ToString());
    std::string alloc_id;
    WaitFor(
        [&] {
          auto allocs = GetJson("/v1/job/" + id + "/allocations");
          if (!allocs.ok() || !allocs->is_array() || allocs->get_array().empty()) return false;
          alloc_id = Str(allocs->get_array()[0], "/ID");
          return TaskState(alloc_id) == state;
        },
        kWait, 50ms);
    EXPECT_EQ(TaskState(alloc_id), state) << id;
    return TaskState(alloc_id) == state ? alloc_id : "";
  }

  static Result<json::value> GetJson(const std::string& path) {
    HttpClient client = agent_->Client();
    ASSIGN_OR_RETURN(HttpResponse r, client.Get(path));
    if (r.status != 200) return Internal(path + " -> " + std::to_string(r.status) + " " + r.body);
    return ParseJson(r.body);
  }

  static std::string TaskState(const std::string& alloc_id) {
    if (alloc_id.empty()) return "";
    auto alloc = GetJson("/v1/allocation/" + alloc_id);
    return alloc.ok() ? Str(*alloc, "/TaskStates/web/State") : "";
  }

  // The SetupError of the task's last "Setup Failure" event, or "".
  static std::string SetupError(const std::string& alloc_id) {
    auto alloc = GetJson("/v1/allocation/" + alloc_id);
    if (!alloc.ok()) return "";
    const json::value& events = At(*alloc, "/TaskStates/web/Events");
    std::string error;
    if (!events.is_array()) return error;
    for (const json::value& e : events.get_array()) {
      if (Str(e, "/Type") == "Setup Failure") error = Str(e, "/SetupError");
    }
    return error;
  }

  // Restarts the task through the API and waits for its Setup Failure.
  static std::string RestartIntoSetupFailure(const std::string& alloc_id) {
    HttpClient client = agent_->Client();
    auto r = client.Request("POST", "/v1/client/allocation/" + alloc_id + "/restart",
                            R"({"TaskName":"web"})");
    EXPECT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().ToString());
    WaitFor([&] { return !SetupError(alloc_id).empty(); }, kWait, 50ms);
    return SetupError(alloc_id);
  }

  static fs::path AllocDir(const std::string& alloc_id) {
    return agent_->data_dir() / "alloc" / alloc_id;
  }

  fs::path outside_;
};

// A link planted under the name of the next rotated log file: the task's
// output goes into a new file in alloc/logs, not through the link.
TEST_F(PathSafetyE2ETest, PlantedLinkForTheNextLogFileIsNotWrittenThrough) {
  const std::string script = "ln -s '" + (outside_ / "precious").string() +
                             "' \"$NOMAD_ALLOC_DIR/logs/web.stdout.1\" && "
                             "head -c 1500000 /dev/zero | tr '\\0' x";
  const std::string alloc_id = Run("planted-log", "batch", script, "dead");
  ASSERT_FALSE(alloc_id.empty());
  const fs::path logs = AllocDir(alloc_id) / "alloc" / "logs";
  // Sizes, not contents, in messages: a failure must not print a megabyte.
  EXPECT_TRUE(ReadFile(outside_ / "precious") == "PRECIOUS")
      << "the outside file now has " << fs::file_size(outside_ / "precious") << " bytes";
  EXPECT_FALSE(fs::is_symlink(logs / "web.stdout.1"));
  EXPECT_EQ(fs::file_size(logs / "web.stdout.0"), static_cast<std::uintmax_t>(kMiB));
  EXPECT_TRUE(ReadFile(logs / "web.stdout.1") == std::string(1500000 - kMiB, 'x'))
      << "web.stdout.1 has " << fs::file_size(logs / "web.stdout.1") << " bytes";
}

// The task swaps its secrets dir for a link to a directory outside; the
// restart's task dir hook must not chmod (or create) anything through it.
TEST_F(PathSafetyE2ETest, SecretsSwappedForALinkIsNotChmodedOnRestart) {
  const std::string script = "rm -rf \"$NOMAD_SECRETS_DIR\" && ln -s '" + outside_.string() +
                             "' \"$NOMAD_SECRETS_DIR\" && touch \"$NOMAD_TASK_DIR/swapped\" && "
                             "exec sleep 600";
  const std::string alloc_id = Run("secrets-link", "service", script, "running");
  ASSERT_FALSE(alloc_id.empty());
  ASSERT_TRUE(WaitFor([&] { return fs::exists(AllocDir(alloc_id) / "web/local/swapped"); }, kWait));
  const auto before = Snapshot(outside_);

  const std::string error = RestartIntoSetupFailure(alloc_id);
  EXPECT_NE(error.find("secrets is a symbolic link"), std::string::npos) << error;
  EXPECT_EQ(ModeOf(outside_), 0755u);
  EXPECT_EQ(Snapshot(outside_), before);
}

// The task replaces alloc/logs with a link to a directory holding files
// named like its logs, then writes enough to rotate and purge: the
// executor keeps writing into the directory it opened (now moved), and a
// restart refuses the link; the outside files stay as they were.
TEST_F(PathSafetyE2ETest, LogsDirSwappedForALinkIsNotWrittenOrPurged) {
  for (int i = 0; i < 4; ++i)
    std::ofstream(outside_ / ("web.stdout." + std::to_string(i))) << "PRECIOUS-" << i;
  const auto before = Snapshot(outside_);
  const std::string script =
      "mv \"$NOMAD_ALLOC_DIR/logs\" \"$NOMAD_ALLOC_DIR/logs.moved\" && ln -s '" +
      outside_.string() + "' \"$NOMAD_ALLOC_DIR/logs\" && "
      "head -c 3500000 /dev/zero | tr '\\0' x && exec sleep 600";
  const std::string alloc_id = Run("logs-link", "service", script, "running", /*max_files=*/2);
  ASSERT_FALSE(alloc_id.empty());
  const fs::path moved = AllocDir(alloc_id) / "alloc" / "logs.moved";
  // 3 full files and 354272 bytes in the fourth; the first two purged.
  const std::uintmax_t last = 3500000 - 3 * kMiB;
  ASSERT_TRUE(WaitFor(
      [&] {
        std::error_code ec;
        return fs::file_size(moved / "web.stdout.3", ec) == last;
      },
      kWait))
      << "the executor did not keep writing into the directory it opened";
  EXPECT_FALSE(fs::exists(moved / "web.stdout.0"));
  EXPECT_EQ(Snapshot(outside_), before);

  const std::string error = RestartIntoSetupFailure(alloc_id);
  EXPECT_NE(error.find("alloc/logs is a symbolic link"), std::string::npos) << error;
  EXPECT_EQ(Snapshot(outside_), before);
  EXPECT_EQ(ModeOf(outside_), 0755u);
}

}  // namespace
}  // namespace drover::testing
