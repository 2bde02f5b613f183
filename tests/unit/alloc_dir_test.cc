// The allocation directory layout against names and links a hostile job or
// task could bring: a task named ".." or "alloc", a `secrets` or
// `alloc/logs` swapped for a link before a restart, links left for the GC.
// Job validation refuses such names at submit; these layers must be safe
// regardless.
#include "lifecycle/alloc_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace drover {
namespace {

namespace fs = std::filesystem;

constexpr const char* kAllocId = "0b8e2f8a-1111-2222-3333-444455556666";

mode_t ModeOf(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

class AllocDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/alloc_dir_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    data_ = (tmp_ / "data").string();
    fs::create_directories(tmp_ / "outside");
    fs::permissions(tmp_ / "outside", fs::perms(0755), fs::perm_options::replace);
    std::ofstream(tmp_ / "outside" / "precious") << "PRECIOUS";
  }
  void TearDown() override {
    if (!tmp_.empty()) fs::remove_all(tmp_);
  }

  TaskPaths Paths(const std::string& task) {
    auto p = MakeTaskPaths(data_, kAllocId, task);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? *p : TaskPaths{};
  }

  fs::path tmp_;
  std::string data_;
};

TEST_F(AllocDirTest, TaskNamesThatAreNotOneComponentAreRefused) {
  // ".." would share <data>/executor/<alloc> (the executors of the whole
  // allocation) and the allocation root; "alloc" is the shared directory,
  // so its "secrets" would be served by fs/cat.
  const std::string bad_names[] = {"..",   ".",    "",     "alloc", "a/b", "/etc",
                                   "../x", "x/..", std::string("a\0b", 3), std::string(201, 'x')};
  for (const std::string& bad : bad_names) {
    auto p = MakeTaskPaths(data_, kAllocId, bad);
    ASSERT_FALSE(p.ok()) << "accepted \"" << bad << "\"";
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(MakeTaskPaths(data_, "..", "web").ok());
  EXPECT_FALSE(MakeTaskPaths(data_, "a/b", "web").ok());

  TaskPaths p = Paths("web");
  EXPECT_EQ(p.task_dir, data_ + "/alloc/" + kAllocId + "/web");
  EXPECT_EQ(p.executor_dir, data_ + "/executor/" + kAllocId + "/web");
  EXPECT_EQ(p.stdout_name, "web.stdout");
  EXPECT_TRUE(MakeTaskPaths(data_, kAllocId, "...").ok());  // odd, but one component
}

TEST_F(AllocDirTest, BuildsTheLayoutOnceAndAgainOnRestart) {
  TaskPaths p = Paths("web");
  auto built = BuildTaskDirs(p);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  EXPECT_TRUE(*built);
  for (const std::string& dir : {p.logs_dir, p.shared_dir + "/data", p.shared_dir + "/tmp",
                                 p.local_dir, p.secrets_dir, p.tmp_dir})
    EXPECT_TRUE(fs::is_directory(dir)) << dir;
  EXPECT_EQ(ModeOf(p.secrets_dir), 0700u);
  auto again = BuildTaskDirs(p);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(*again);
}

TEST_F(AllocDirTest, SecretsSwappedForALinkIsNotChmodedThroughOnRestart) {
  TaskPaths p = Paths("web");
  ASSERT_TRUE(BuildTaskDirs(p).ok());
  // The task replaces its secrets dir with a link, then is restarted.
  fs::remove_all(p.secrets_dir);
  fs::create_directory_symlink(tmp_ / "outside", p.secrets_dir);
  auto built = BuildTaskDirs(p);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(built.status().message().find("symbolic link"), std::string::npos)
      << built.status().message();
  EXPECT_EQ(ModeOf(tmp_ / "outside"), 0755u);
}

TEST_F(AllocDirTest, LogsSwappedForALinkIsNotWrittenThrough) {
  TaskPaths p = Paths("web");
  ASSERT_TRUE(BuildTaskDirs(p).ok());
  fs::remove_all(p.shared_dir);
  fs::create_directory_symlink(tmp_ / "outside", p.shared_dir);  // alloc/ -> outside
  auto built = BuildTaskDirs(p);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(fs::exists(tmp_ / "outside" / "logs"));
  EXPECT_FALSE(fs::exists(tmp_ / "outside" / "data"));

  fs::remove(p.shared_dir);
  fs::create_directory(p.shared_dir);
  fs::create_directory_symlink(tmp_ / "outside", p.logs_dir);  // alloc/logs -> outside
  EXPECT_FALSE(BuildTaskDirs(p).ok());
}

TEST_F(AllocDirTest, DestroyRemovesTheAllocationButNothingItLinksTo) {
  TaskPaths p = Paths("web");
  ASSERT_TRUE(BuildTaskDirs(p).ok());
  fs::create_directories(p.executor_dir);
  fs::create_directory_symlink(tmp_ / "outside", p.local_dir + "/out");
  fs::create_symlink(tmp_ / "outside" / "precious", p.logs_dir + "/web.stdout.0");
  ASSERT_TRUE(DestroyAllocDir(data_, kAllocId).ok());
  EXPECT_FALSE(fs::exists(p.alloc_dir));
  EXPECT_FALSE(fs::exists(data_ + "/executor/" + kAllocId));
  EXPECT_TRUE(fs::exists(tmp_ / "outside" / "precious"));
  EXPECT_TRUE(DestroyAllocDir(data_, kAllocId).ok());  // idempotent
  EXPECT_FALSE(DestroyAllocDir(data_, "..").ok());
}

}  // namespace
}  // namespace drover
