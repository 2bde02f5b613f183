// End-to-end: the agent refuses to serve a non-loopback address without
// ACLs unless told to (--insecure-bind), and says why. Nothing is bound:
// the refusal comes before the listener.
#include <stdio.h>
#include <sys/wait.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace drover::testing {
namespace {

struct AgentRun {
  int exit_code = -1;
  std::string output;
};

// Runs the agent with `args` (bounded by coreutils' timeout) and collects
// its exit code and output.
AgentRun RunAgent(const std::string& args) {
  std::string dir = ::testing::TempDir() + "drover_bind_XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) return {};
  std::string cmd = "timeout -s KILL 20 " + std::string(DROVER_BINARY) + " agent --data-dir " +
                    dir + " " + args + " 2>&1";
  AgentRun run;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return run;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) run.output.append(buf, n);
  int status = pclose(p);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::filesystem::remove_all(dir);
  return run;
}

TEST(BindE2ETest, NonLoopbackWithoutAclsIsRefused) {
  for (const char* addr : {"0.0.0.0:4999", "[::]:4999", "192.0.2.10:4999"}) {
    AgentRun run = RunAgent(std::string("--http-addr ") + addr);
    EXPECT_EQ(run.exit_code, 2) << addr << ": " << run.output;
    EXPECT_NE(run.output.find("refusing to serve on"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("--insecure-bind"), std::string::npos) << run.output;
  }
}

}  // namespace
}  // namespace drover::testing
