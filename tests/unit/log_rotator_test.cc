// The executor's log rotation in a logs directory a task can write to: a
// link planted under the name of the next file must not carry the task's
// output (or the purge of old files) out of the directory.
#include "lifecycle/executor/log_rotator.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "common/safe_fs.h"

namespace drover {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class LogRotatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/log_rotator_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    fs::create_directories(tmp_ / "logs");
    fs::create_directories(tmp_ / "outside");
    std::ofstream(tmp_ / "outside" / "precious") << "PRECIOUS";
    logs_ = UniqueFd(::open((tmp_ / "logs").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(logs_.valid());
  }
  void TearDown() override {
    if (!tmp_.empty()) fs::remove_all(tmp_);
  }

  fs::path tmp_;
  UniqueFd logs_;
};

TEST_F(LogRotatorTest, RotatesAndKeepsMaxFiles) {
  LogRotator log(logs_.get(), "web.stdout", 2, 4);
  ASSERT_TRUE(log.Open());
  ASSERT_TRUE(log.Write("aaaabbbbcccc", 12));
  EXPECT_EQ(log.current_index(), 2);
  EXPECT_FALSE(fs::exists(tmp_ / "logs" / "web.stdout.0"));  // purged: two kept
  EXPECT_EQ(ReadFile(tmp_ / "logs" / "web.stdout.1"), "bbbb");
  EXPECT_EQ(ReadFile(tmp_ / "logs" / "web.stdout.2"), "cccc");

  LogRotator again(logs_.get(), "web.stdout", 2, 8);  // a restarted executor continues
  ASSERT_TRUE(again.Open());
  EXPECT_EQ(again.current_index(), 2);
  ASSERT_TRUE(again.Write("dd", 2));
  EXPECT_EQ(ReadFile(tmp_ / "logs" / "web.stdout.2"), "ccccdd");
}

TEST_F(LogRotatorTest, PlantedLinkForTheNextFileIsReplacedNotFollowed) {
  fs::create_symlink(tmp_ / "outside" / "precious", tmp_ / "logs" / "web.stdout.1");
  fs::create_hard_link(tmp_ / "outside" / "precious", tmp_ / "logs" / "web.stdout.2");
  LogRotator log(logs_.get(), "web.stdout", 10, 4);
  ASSERT_TRUE(log.Open());  // continues at the highest index: the hard link's
  EXPECT_EQ(log.current_index(), 2);
  ASSERT_TRUE(log.Write("task", 4));
  EXPECT_EQ(ReadFile(tmp_ / "outside" / "precious"), "PRECIOUS");
  EXPECT_EQ(ReadFile(tmp_ / "logs" / "web.stdout.2"), "task");
  EXPECT_FALSE(fs::is_symlink(tmp_ / "logs" / "web.stdout.2"));

  // The same with a link planted while the rotator runs.
  fs::create_symlink(tmp_ / "outside" / "precious", tmp_ / "logs" / "web.stdout.3");
  ASSERT_TRUE(log.Write("more", 4));
  EXPECT_EQ(log.current_index(), 3);
  EXPECT_EQ(ReadFile(tmp_ / "outside" / "precious"), "PRECIOUS");
  EXPECT_EQ(ReadFile(tmp_ / "logs" / "web.stdout.3"), "more");
}

TEST_F(LogRotatorTest, PurgeRemovesPlantedLinksNotTheirTargets) {
  fs::create_symlink(tmp_ / "outside" / "precious", tmp_ / "logs" / "web.stdout.0");
  std::ofstream(tmp_ / "logs" / "web.stdout.1") << "one";
  LogRotator log(logs_.get(), "web.stdout", 1, 3);
  ASSERT_TRUE(log.Open());
  ASSERT_TRUE(log.Write("x", 1));  // index 1 is full: rotates to 2, purges 0 and 1
  EXPECT_EQ(log.current_index(), 2);
  EXPECT_FALSE(fs::exists(tmp_ / "logs" / "web.stdout.0"));
  EXPECT_FALSE(fs::is_symlink(tmp_ / "logs" / "web.stdout.0"));
  EXPECT_EQ(ReadFile(tmp_ / "outside" / "precious"), "PRECIOUS");
}

TEST_F(LogRotatorTest, HugePlantedIndexIsIgnored) {
  std::ofstream(tmp_ / "logs" / "web.stdout.3") << "";
  std::ofstream(tmp_ / "logs" / "web.stdout.2147483647") << "";
  std::ofstream(tmp_ / "logs" / "web.stdout.-1") << "";
  std::ofstream(tmp_ / "logs" / "web.stdout.+4") << "";
  EXPECT_EQ(HighestLogIndex(logs_.get(), "web.stdout"), 3);
  EXPECT_EQ(HighestLogIndex(logs_.get(), "api.stdout"), -1);
}

}  // namespace
}  // namespace drover
