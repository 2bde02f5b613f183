// Writes beneath a directory descriptor (common/safe_fs.h) against links a
// hostile task could have planted: nothing outside the tree may be opened,
// created, chmod-ed, appended to or deleted, with both resolvers.
#include "common/safe_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace drover {
namespace {

namespace fs = std::filesystem;

void WriteFile(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/safe_fs_test.XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    if (!path_.empty()) fs::remove_all(path_);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// <tmp>/outside/   what a planted link points at: must stay as it is
// <tmp>/root/      the tree the descriptor names
class SafeFsTest : public ::testing::TestWithParam<Resolver> {
 protected:
  void SetUp() override {
    if (GetParam() == Resolver::kOpenat2 && !Openat2Available())
      GTEST_SKIP() << "openat2 is not available on this kernel";
    ASSERT_FALSE(dir_.path().empty());
    tmp_ = dir_.path();
    WriteFile(tmp_ / "outside" / "precious", "PRECIOUS");
    fs::create_directories(tmp_ / "root" / "a" / "b");
    WriteFile(tmp_ / "root" / "a" / "b" / "file", "inside");
    root_ = UniqueFd(::open((tmp_ / "root").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_.valid());
  }
  // OpenBeneath's errno for `rel`, or 0 if it opened.
  int OpenErrno(const std::string& rel, int flags = O_RDONLY) {
    UniqueFd fd(OpenBeneath(root_.get(), rel, flags, 0644, GetParam()));
    return fd.valid() ? 0 : errno;
  }

  TempDir dir_;
  fs::path tmp_;
  UniqueFd root_;
};

INSTANTIATE_TEST_SUITE_P(Resolvers, SafeFsTest,
                         ::testing::Values(Resolver::kOpenat2, Resolver::kWalk),
                         [](const auto& info) {
                           return info.param == Resolver::kOpenat2 ? "Openat2" : "Walk";
                         });

TEST_P(SafeFsTest, OpensWhatIsBeneath) {
  UniqueFd fd(OpenBeneath(root_.get(), "a/b/file", O_RDONLY, 0, GetParam()));
  ASSERT_TRUE(fd.valid()) << std::strerror(errno);
  char buf[16] = {};
  EXPECT_EQ(::read(fd.get(), buf, sizeof(buf)), 6);
  EXPECT_EQ(std::string(buf), "inside");
  EXPECT_EQ(OpenErrno(""), 0);
  EXPECT_EQ(OpenErrno("./a//b/"), 0);
}

TEST_P(SafeFsTest, RefusesEveryLinkAndEscape) {
  fs::create_symlink(tmp_ / "outside", tmp_ / "root" / "a" / "out");
  fs::create_symlink(tmp_ / "outside" / "precious", tmp_ / "root" / "a" / "b" / "p");
  fs::create_symlink("file", tmp_ / "root" / "a" / "b" / "inner");  // inside, still refused
  EXPECT_EQ(OpenErrno("a/out/precious"), ELOOP);
  EXPECT_EQ(OpenErrno("a/b/p"), ELOOP);
  EXPECT_EQ(OpenErrno("a/b/p", O_PATH), ELOOP);
  EXPECT_EQ(OpenErrno("a/b/inner"), ELOOP);
  EXPECT_EQ(OpenErrno("a/b/p", O_WRONLY | O_APPEND | O_CREAT), ELOOP);
  EXPECT_EQ(OpenErrno("a/out/new", O_WRONLY | O_CREAT), ELOOP);
  EXPECT_EQ(OpenErrno("../outside/precious"), EXDEV);
  EXPECT_EQ(OpenErrno("a/../../outside/precious"), EXDEV);
  EXPECT_EQ(OpenErrno("/etc/passwd"), EXDEV);
  EXPECT_EQ(OpenErrno("a/b/file/x"), ENOTDIR);
  EXPECT_FALSE(fs::exists(tmp_ / "outside" / "new"));
  EXPECT_EQ(ReadFile(tmp_ / "outside" / "precious"), "PRECIOUS");
}

TEST(SafeFs, MakeDirsBeneathCreatesAndRefusesLinks) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path& tmp = dir.path();
  fs::create_directories(tmp / "outside");
  fs::create_directories(tmp / "root");
  UniqueFd root(::open((tmp / "root").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));

  UniqueFd made(MakeDirsBeneath(root.get(), "x/y/z", 0755));
  ASSERT_TRUE(made.valid()) << std::strerror(errno);
  EXPECT_TRUE(fs::is_directory(tmp / "root" / "x" / "y" / "z"));
  UniqueFd again(MakeDirsBeneath(root.get(), "x/y/z", 0755));  // idempotent
  EXPECT_TRUE(again.valid());

  fs::create_symlink(tmp / "outside", tmp / "root" / "link");
  EXPECT_FALSE(UniqueFd(MakeDirsBeneath(root.get(), "link/sub", 0755)).valid());
  EXPECT_EQ(errno, ELOOP);
  EXPECT_FALSE(fs::exists(tmp / "outside" / "sub"));
  WriteFile(tmp / "root" / "file", "f");
  EXPECT_FALSE(UniqueFd(MakeDirsBeneath(root.get(), "file/sub", 0755)).valid());
  EXPECT_EQ(errno, ENOTDIR);
  EXPECT_FALSE(UniqueFd(MakeDirsBeneath(root.get(), "x/../..", 0755)).valid());
  EXPECT_EQ(errno, EXDEV);
}

TEST(SafeFs, RemoveTreeAtNeverFollowsLinks) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path& tmp = dir.path();
  WriteFile(tmp / "outside" / "precious", "PRECIOUS");
  WriteFile(tmp / "root" / "tree" / "a" / "file", "x");
  fs::create_symlink(tmp / "outside", tmp / "root" / "tree" / "a" / "dirlink");
  fs::create_symlink(tmp / "outside" / "precious", tmp / "root" / "tree" / "filelink");
  ASSERT_EQ(::mkfifo((tmp / "root" / "tree" / "fifo").c_str(), 0644), 0);
  UniqueFd root(::open((tmp / "root").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));

  EXPECT_EQ(RemoveTreeAt(root.get(), "tree"), 0) << std::strerror(errno);
  EXPECT_FALSE(fs::exists(tmp / "root" / "tree"));
  EXPECT_EQ(ReadFile(tmp / "outside" / "precious"), "PRECIOUS");
  EXPECT_EQ(RemoveTreeAt(root.get(), "tree"), 0);  // gone already: fine

  // A link as the tree itself goes, not what it names.
  fs::create_symlink(tmp / "outside", tmp / "root" / "tree");
  EXPECT_EQ(RemoveTreeAt(root.get(), "tree"), 0);
  EXPECT_FALSE(fs::is_symlink(tmp / "root" / "tree"));
  EXPECT_EQ(ReadFile(tmp / "outside" / "precious"), "PRECIOUS");
}

TEST(SafeFs, RemoveTreeAtRemovesTreesDeeperThanItHoldsOpen) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path& tmp = dir.path();
  fs::create_directories(tmp / "root" / "deep");
  // 300 levels, built relative to a descriptor as a task would (the path
  // itself would pass PATH_MAX).
  UniqueFd cur(::open((tmp / "root" / "deep").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(::mkdirat(cur.get(), "dddddddddddddddd", 0755), 0);
    cur = UniqueFd(::openat(cur.get(), "dddddddddddddddd", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(cur.valid());
  }
  ::close(::openat(cur.get(), "leaf", O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  cur.Reset();
  UniqueFd root(::open((tmp / "root").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  EXPECT_EQ(RemoveTreeAt(root.get(), "deep"), 0) << std::strerror(errno);
  EXPECT_FALSE(fs::exists(tmp / "root" / "deep"));
}

TEST(SafeFs, OpenAppendOwnFileReplacesWhatWasPlanted) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path& tmp = dir.path();
  WriteFile(tmp / "outside" / "precious", "PRECIOUS");
  fs::create_directories(tmp / "logs");
  fs::create_symlink(tmp / "outside" / "precious", tmp / "logs" / "symlink");
  fs::create_hard_link(tmp / "outside" / "precious", tmp / "logs" / "hardlink");
  ASSERT_EQ(::mkfifo((tmp / "logs" / "fifo").c_str(), 0644), 0);
  WriteFile(tmp / "logs" / "mine", "old\n");
  UniqueFd logs(::open((tmp / "logs").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));

  for (const char* name : {"symlink", "hardlink", "fifo", "mine", "new"}) {
    UniqueFd fd(OpenAppendOwnFile(logs.get(), name, 0644));
    ASSERT_TRUE(fd.valid()) << name << ": " << std::strerror(errno);
    ASSERT_EQ(::write(fd.get(), "out\n", 4), 4) << name;
    struct stat st {};
    ASSERT_EQ(::lstat((tmp / "logs" / name).c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode)) << name;
    EXPECT_EQ(st.st_nlink, 1u) << name;
  }
  EXPECT_EQ(ReadFile(tmp / "outside" / "precious"), "PRECIOUS");
  EXPECT_EQ(ReadFile(tmp / "logs" / "symlink"), "out\n");
  EXPECT_EQ(ReadFile(tmp / "logs" / "mine"), "old\nout\n");  // ours: appended to
}

TEST(SafeFs, IsSafeComponent) {
  EXPECT_TRUE(IsSafeComponent("web"));
  EXPECT_TRUE(IsSafeComponent("..."));
  EXPECT_TRUE(IsSafeComponent(".hidden"));
  const std::string_view bad_names[] = {"", ".", "..", "a/b", "/", std::string_view("a\0b", 3)};
  for (std::string_view bad : bad_names) EXPECT_FALSE(IsSafeComponent(bad)) << bad;
  EXPECT_FALSE(IsSafeComponent(std::string(256, 'x')));
}

}  // namespace
}  // namespace drover
