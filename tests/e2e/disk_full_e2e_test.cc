// End-to-end: the agent on a full disk. Its data dir is a small tmpfs that
// the test fills: writes must be answered 507 naming the cause (not abort
// the agent, as RocksDB's assertion once did), reads must go on, writes
// must work again once space is freed without a restart, and nothing
// acknowledged may be lost (checked again after a restart).
//
// Mounting needs root (CAP_SYS_ADMIN); without it the test is skipped.
#include <sys/mount.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"
#include "tests/support/json_assert.h"

namespace drover::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kTmpfsSize = "48m";
constexpr std::size_t kPadBytes = 200 * 1024;  // per job: fills the disk in few writes

// A tmpfs mounted on a directory, unmounted (and the directory's tree
// removed) when it goes; declared before the agent, so that the agent is
// gone first.
class TmpfsMount {
 public:
  TmpfsMount() = default;
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  ~TmpfsMount() {
    if (dir_.empty()) return;
    ::umount2(dir_.c_str(), MNT_DETACH);
    if (std::getenv("DROVER_E2E_KEEP") != nullptr) return;  // agent.log stays for a post-mortem
    std::error_code ignored;
    fs::remove_all(dir_.parent_path(), ignored);  // the agent's temp root
  }

  Status Mount(const fs::path& dir, const std::string& size) {
    const std::string options = "size=" + size + ",mode=0755";
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) != 0)
      return FailedPrecondition("mount tmpfs on " + dir.string() + ": " + std::strerror(errno));
    dir_ = dir;
    return Status::Ok();
  }

 private:
  fs::path dir_;
};

// Whether this process may mount a tmpfs (root, or CAP_SYS_ADMIN).
std::string CannotMountReason() {
  char tmpl[] = "/tmp/drover-mount-probe-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return std::string("mkdtemp: ") + std::strerror(errno);
  std::string reason;
  if (::mount("tmpfs", tmpl, "tmpfs", 0, "size=1m") != 0) {
    reason = std::strerror(errno);
  } else {
    ::umount2(tmpl, MNT_DETACH);
  }
  ::rmdir(tmpl);
  return reason;
}

// Writes 1 MiB blocks to `path` until the filesystem is full.
std::uint64_t FillDisk(const fs::path& path) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  const std::string block(1 << 20, 'b');
  std::uint64_t written = 0;
  for (;;) {
    const std::size_t n = std::fwrite(block.data(), 1, block.size(), f);
    written += n;
    if (n < block.size() || std::fflush(f) != 0) break;
  }
  std::fclose(f);
  return written;
}

// A job that is stored (job, evaluation, journal entries) but never
// placed: it asks for more CPU than any node has. Its Meta makes each
// write large.
std::string JobBody(const std::string& id) {
  json::object task{
      {"Name", "t"},
      {"Driver", "raw_exec"},
      {"Config", json::object{{"command", "/bin/true"}}},
      {"Resources", json::object{{"CPU", 100'000'000}, {"MemoryMB", 10}}},
  };
  json::object group{{"Name", "g"}, {"Count", 1}, {"Tasks", json::array{task}}};
  json::object job{{"ID", id},
                   {"Name", id},
                   {"Type", "batch"},
                   {"Datacenters", json::array{"dc1"}},
                   {"Meta", json::object{{"pad", std::string(kPadBytes, 'p')}}},
                   {"TaskGroups", json::array{group}}};
  return json::serialize(json::object{{"Job", job}});
}

std::set<std::string> JobIds(HttpClient& client) {
  std::set<std::string> ids;
  auto r = client.Get("/v1/jobs");
  if (!r.ok() || r->status != 200) return ids;
  auto v = ParseJson(r->body);
  if (!v.ok() || !v->is_array()) return ids;
  for (const json::value& j : v->get_array()) ids.insert(Str(j, "/ID"));
  return ids;
}

TEST(DiskFullE2ETest, WritesAnswer507ReadsGoOnAndWritesResumeWithoutRestart) {
  if (std::string reason = CannotMountReason(); !reason.empty())
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): " << reason;

  TmpfsMount mount;  // outlives the agent
  AgentOptions options;
  options.log_level = "info";
  options.prepare_data_dir = [&](const fs::path& dir) { return mount.Mount(dir, kTmpfsSize); };
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AgentProcess> agent, AgentProcess::Launch(options));
  HttpClient client = agent->Client(60s);
  const pid_t pid = agent->pid();
  std::vector<std::string> acked;
  // The answer to registering `id` (status 0 when the agent did not
  // answer at all: it died).
  auto register_job = [&](const std::string& id) -> HttpResponse {
    auto r = client.Put("/v1/jobs", JobBody(id));
    if (!r.ok()) return HttpResponse{};
    if (r->status == 200) acked.push_back(id);
    return *r;
  };

  for (int i = 0; i < 3; ++i) ASSERT_EQ(register_job("before-" + std::to_string(i)).status, 200);

  // Fill the disk, then write until the store notices (RocksDB may have
  // room left in its preallocated log).
  const fs::path ballast = agent->data_dir() / "ballast";
  ASSERT_GT(FillDisk(ballast), 0u);
  HttpResponse full;
  for (int i = 0; i < 200; ++i) {
    full = register_job("full-" + std::to_string(i));
    if (full.status != 200) break;
  }
  ASSERT_NE(full.status, 0) << "the agent stopped answering:\n" << agent->LogTail();
  ASSERT_EQ(full.status, 507) << full.body << "\n" << agent->LogTail();
  EXPECT_NE(full.body.find("insufficient storage"), std::string::npos) << full.body;
  EXPECT_NE(full.body.find("No space left on device"), std::string::npos) << full.body;

  // Still the same agent: another write gets the same clean answer, reads
  // serve everything acknowledged.
  EXPECT_EQ(register_job("full-again").status, 507);
  EXPECT_TRUE(ProcessAlive(pid)) << agent->LogTail();
  auto self = client.Get("/v1/agent/self");
  ASSERT_TRUE(self.ok() && self->status == 200) << agent->LogTail();
  std::set<std::string> ids = JobIds(client);
  for (const std::string& id : acked) EXPECT_TRUE(ids.count(id)) << id << " missing while full";

  // Space comes back: writes work again, without a restart.
  fs::remove(ballast);
  int resumed = 0;
  WaitFor(
      [&] {
        resumed = register_job("after-" + std::to_string(acked.size())).status;
        return resumed == 200;
      },
      120s, 1s);
  ASSERT_EQ(resumed, 200) << agent->LogTail();
  EXPECT_EQ(agent->pid(), pid);
  EXPECT_TRUE(ProcessAlive(pid));

  // Nothing acknowledged is lost, even across a restart.
  ASSERT_OK(agent->Restart());
  HttpClient after = agent->Client(60s);
  ids = JobIds(after);
  for (const std::string& id : acked) EXPECT_TRUE(ids.count(id)) << id << " lost";
  EXPECT_GE(acked.size(), 4u);
  if (HasFailure()) std::cerr << "---- agent log tail ----\n" << agent->LogTail(8000) << "\n";
}

}  // namespace
}  // namespace drover::testing
