// The allocation-directory resolver against a temp tree that a hostile task
// could have built: every attack must fail before a byte is read, with both
// resolvers (openat2 and the O_NOFOLLOW walk).
#include "api/alloc_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace drover::api {
namespace {

namespace fs = std::filesystem;

constexpr const char* kAllocId = "0b8e2f8a-1111-2222-3333-444455556666";

void WriteFile(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::pread(fd, buf, sizeof(buf), static_cast<off_t>(out.size()))) > 0)
    out.append(buf, static_cast<std::size_t>(n));
  return out;
}

// <tmp>/outside/...          what must never be read
// <tmp>/data/executor/...    the executor's state, outside the alloc dir
// <tmp>/data/alloc/<id>/     the allocation directory
class AllocFsTest : public ::testing::TestWithParam<Resolver> {
 protected:
  void SetUp() override {
    if (GetParam() == Resolver::kOpenat2 && !Openat2Available())
      GTEST_SKIP() << "openat2 is not available on this kernel";
    char tmpl[] = "/tmp/alloc_fs_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    alloc_ = tmp_ / "data" / "alloc" / kAllocId;
    WriteFile(tmp_ / "outside" / "secret.txt", "TOPSECRET");
    WriteFile(tmp_ / "outside" / "f", "TOPSECRET");
    WriteFile(tmp_ / "data" / "executor" / kAllocId / "web" / "spec", "EXECUTOR");
    WriteFile(alloc_ / "alloc" / "logs" / "web.stdout.0", "first\n");
    WriteFile(alloc_ / "alloc" / "data" / "shared.txt", "shared");
    WriteFile(alloc_ / "web" / "local" / "file.txt", "hello");
    WriteFile(alloc_ / "web" / "secrets" / "token", "TOKEN");
    WriteFile(alloc_ / "web" / "private" / "key", "KEY");
    auto opened = AllocFs::Open(alloc_.string(), GetParam());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    fs_.emplace(std::move(opened).value());
  }

  void TearDown() override {
    if (!tmp_.empty()) fs::remove_all(tmp_);
  }

  // Opening `path` fails with `code`: nothing was opened, nothing read.
  void ExpectRefused(const std::string& path, StatusCode code) {
    auto f = fs_->OpenFile(path);
    ASSERT_FALSE(f.ok()) << "opened \"" << path << "\": " << ReadAll(f->fd.get());
    EXPECT_EQ(f.status().code(), code) << path << ": " << f.status().ToString();
    EXPECT_FALSE(fs_->Stat(path).ok()) << path;
    EXPECT_FALSE(fs_->List(path).ok()) << path;
  }

  std::string Cat(const std::string& path) {
    auto f = fs_->OpenFile(path);
    if (!f.ok()) return "error: " + f.status().ToString();
    return ReadAll(f->fd.get());
  }

  fs::path tmp_;
  fs::path alloc_;
  std::optional<AllocFs> fs_;
};

INSTANTIATE_TEST_SUITE_P(Resolvers, AllocFsTest,
                         ::testing::Values(Resolver::kOpenat2, Resolver::kWalk),
                         [](const auto& info) {
                           return info.param == Resolver::kOpenat2 ? "Openat2" : "Walk";
                         });

TEST_P(AllocFsTest, ReadsWhatIsInside) {
  EXPECT_EQ(Cat("web/local/file.txt"), "hello");
  EXPECT_EQ(Cat("/web/local/file.txt"), "hello");  // "/" is the allocation root, as in Nomad
  EXPECT_EQ(Cat("alloc//data/./shared.txt"), "shared");
  EXPECT_EQ(Cat("web/local/../../alloc/data/shared.txt"), "shared");  // `..` that stays inside

  auto root = fs_->List("/");
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  ASSERT_EQ(root->size(), 2u);
  EXPECT_EQ((*root)[0].name, "alloc");
  EXPECT_TRUE((*root)[0].is_dir);
  EXPECT_EQ((*root)[0].file_mode[0], 'd');
  EXPECT_EQ((*root)[1].name, "web");

  auto st = fs_->Stat("web/local/file.txt");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->name, "file.txt");
  EXPECT_EQ(st->size, 5);
  EXPECT_FALSE(st->is_dir);
  EXPECT_FALSE(st->mod_time.IsZero());
  EXPECT_EQ(fs_->Stat("/")->name, kAllocId);
}

TEST_P(AllocFsTest, DotDotAboveTheRootIsAnEscape) {
  for (const char* path : {"..", "../../../../etc/passwd", "/../etc/passwd", "alloc/../../x",
                           "a/b/c/../../../../etc/passwd", "web/local/../../../outside/secret.txt",
                           "../../executor/" /* the executor's state */,
                           "./../"}) {
    auto f = fs_->OpenFile(path);
    ASSERT_FALSE(f.ok()) << path;
    EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument) << path;
    EXPECT_EQ(f.status().message(), "Path escapes the alloc directory") << path;
  }
  EXPECT_FALSE(fs_->OpenFile("../../executor/" + std::string(kAllocId) + "/web/spec").ok());
}

TEST_P(AllocFsTest, AbsolutePathsAreRootedAtTheAllocation) {
  // "/etc/passwd" is <alloc>/etc/passwd: there is none.
  ExpectRefused("/etc/passwd", StatusCode::kNotFound);
  ExpectRefused((tmp_ / "outside" / "secret.txt").string(), StatusCode::kNotFound);
}

TEST_P(AllocFsTest, SymlinkToAFileOutsideIsRefused) {
  fs::create_symlink("/etc/passwd", alloc_ / "web" / "local" / "passwd");
  fs::create_symlink(tmp_ / "outside" / "secret.txt", alloc_ / "alloc" / "data" / "s");
  ExpectRefused("web/local/passwd", StatusCode::kPermissionDenied);
  ExpectRefused("alloc/data/s", StatusCode::kPermissionDenied);
}

TEST_P(AllocFsTest, SymlinkedDirectoryIsRefused) {
  fs::create_directory_symlink("/etc", alloc_ / "web" / "local" / "etc");
  fs::create_directory_symlink(tmp_ / "outside", alloc_ / "alloc" / "out");
  ExpectRefused("web/local/etc/passwd", StatusCode::kPermissionDenied);
  ExpectRefused("alloc/out/secret.txt", StatusCode::kPermissionDenied);
  ExpectRefused("alloc/out", StatusCode::kPermissionDenied);
}

TEST_P(AllocFsTest, RelativeSymlinksAreRefusedEvenInside) {
  fs::create_directory_symlink("../../../../../outside", alloc_ / "web" / "local" / "up");
  fs::create_symlink("file.txt", alloc_ / "web" / "local" / "alias");  // harmless, still refused
  ExpectRefused("web/local/up/secret.txt", StatusCode::kPermissionDenied);
  ExpectRefused("web/local/alias", StatusCode::kPermissionDenied);
}

TEST_P(AllocFsTest, ListingShowsLinksWithoutFollowingThem) {
  fs::create_directory_symlink("/etc", alloc_ / "web" / "local" / "etc");
  auto list = fs_->List("web/local");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "etc");
  EXPECT_EQ((*list)[0].file_mode[0], 'L');
  EXPECT_FALSE((*list)[0].is_dir);
}

TEST_P(AllocFsTest, SecretsAndPrivateAreNeverReadable) {
  for (const char* path : {"web/secrets/token", "/web/secrets/token", "web/SECRETS/token",
                           "web/local/../secrets/token", "web/private/key", "web/secrets"}) {
    ExpectRefused(path, StatusCode::kPermissionDenied);
  }
  EXPECT_EQ(fs_->OpenFile("web/secrets/token").status().message(),
            "Reading secret file prohibited: web/secrets/token");
  // A link to the secrets from elsewhere is a link, and refused as one.
  fs::create_symlink("../secrets/token", alloc_ / "web" / "local" / "token");
  ExpectRefused("web/local/token", StatusCode::kPermissionDenied);
}

TEST_P(AllocFsTest, EncodedSlashesAreJustCharacters) {
  // The router hands the resolver whatever it decoded; undecoded, %2F is no
  // separator and names a file that does not exist.
  ExpectRefused("..%2F..%2Foutside%2Fsecret.txt", StatusCode::kNotFound);
  ExpectRefused("%2e%2e/%2e%2e/outside/secret.txt", StatusCode::kNotFound);
  // Decoded, it is an ordinary escape.
  EXPECT_EQ(fs_->OpenFile("../../outside/secret.txt").status().code(),
            StatusCode::kInvalidArgument);
  // A backslash is no separator on Linux either.
  ExpectRefused("..\\..\\outside\\secret.txt", StatusCode::kNotFound);
}

TEST_P(AllocFsTest, NulBytesAndOverlongPathsAreRefused) {
  const std::string with_nul("web/local/file.txt\0/../../../etc/passwd", 39);
  ExpectRefused(with_nul, StatusCode::kInvalidArgument);
  std::string longest;
  while (longest.size() < 5000) longest += "a/";
  ExpectRefused(longest, StatusCode::kInvalidArgument);
  ExpectRefused("web/local/" + std::string(300, 'x'), StatusCode::kInvalidArgument);
  std::string deep;
  for (int i = 0; i < 1000; ++i) deep += "../";
  ExpectRefused(deep + "etc/passwd", StatusCode::kInvalidArgument);
}

TEST_P(AllocFsTest, SymlinkSwappedInBetweenCallsIsRefused) {
  const fs::path f = alloc_ / "web" / "local" / "file.txt";
  auto before = fs_->Lstat("web/local/file.txt");
  ASSERT_TRUE(before.ok());
  fs::remove(f);
  fs::create_symlink(tmp_ / "outside" / "secret.txt", f);
  ExpectRefused("web/local/file.txt", StatusCode::kPermissionDenied);
  EXPECT_FALSE(fs_->Lstat("web/local/file.txt").ok());  // what a follower re-checks

  // The parent swapped for a link to a directory outside.
  fs::rename(alloc_ / "web" / "local", alloc_ / "web" / "local.real");
  fs::create_directory_symlink(tmp_ / "outside", alloc_ / "web" / "local");
  ExpectRefused("web/local/secret.txt", StatusCode::kPermissionDenied);
}

TEST_P(AllocFsTest, RacingSwapsNeverLeakTheOutside) {
  // A task flips web/local/d between a real directory and a link to
  // <tmp>/outside (which holds an "f" too) while the agent keeps opening
  // web/local/d/f: each open finds the real one or fails, never the outside.
  const fs::path dir = alloc_ / "web" / "local" / "d";
  WriteFile(dir / "f", "inside");
  const fs::path real = alloc_ / "web" / "local" / "d.real";
  const fs::path link = alloc_ / "web" / "local" / "d.link";
  fs::create_directory_symlink(tmp_ / "outside", link);
  std::atomic<bool> stop{false};
  std::thread flipper([&] {
    while (!stop) {
      ::rename(dir.c_str(), real.c_str());
      ::rename(link.c_str(), dir.c_str());
      ::rename(dir.c_str(), link.c_str());
      ::rename(real.c_str(), dir.c_str());
    }
  });
  int inside = 0;
  for (int i = 0; i < 3000; ++i) {
    auto f = fs_->OpenFile("web/local/d/f");
    if (!f.ok()) continue;
    const std::string content = ReadAll(f->fd.get());
    ASSERT_EQ(content, "inside") << "read outside the allocation at attempt " << i;
    ++inside;
  }
  stop = true;
  flipper.join();
  RecordProperty("inside_reads", inside);
}

TEST_P(AllocFsTest, FifoIsRefusedWithoutBlocking) {
  const fs::path fifo = alloc_ / "web" / "local" / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  auto f = fs_->OpenFile("web/local/fifo");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_->Stat("web/local/fifo")->file_mode, "prw-r--r--");
}

TEST_P(AllocFsTest, DirectoriesAreNotOpenedAsFiles) {
  auto f = fs_->OpenFile("web/local");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(), "file \"web/local\" is a directory");
  EXPECT_EQ(fs_->List("web/local/file.txt").status().code(), StatusCode::kNotFound);
}

TEST_P(AllocFsTest, AllocationDirectoryThatIsALinkIsRefused) {
  const fs::path link = tmp_ / "data" / "alloc" / "linked";
  fs::create_directory_symlink(tmp_ / "outside", link);
  EXPECT_FALSE(AllocFs::Open(link.string(), GetParam()).ok());
  EXPECT_EQ(AllocFs::Open((tmp_ / "data" / "alloc" / "none").string(), GetParam()).status().code(),
            StatusCode::kNotFound);
}

TEST(AllocFsPathTest, SplitRequestPath) {
  EXPECT_TRUE(SplitRequestPath("/")->empty());
  EXPECT_TRUE(SplitRequestPath("")->empty());
  EXPECT_EQ(*SplitRequestPath("/alloc//logs/./x"), (std::vector<std::string>{"alloc", "logs", "x"}));
  EXPECT_EQ(*SplitRequestPath("a/b/../c"), (std::vector<std::string>{"a", "c"}));
  EXPECT_FALSE(SplitRequestPath("a/../..").ok());
}

TEST(AllocFsPathTest, GoFileMode) {
  EXPECT_EQ(GoFileMode(S_IFREG | 0644), "-rw-r--r--");
  EXPECT_EQ(GoFileMode(S_IFDIR | 0755), "drwxr-xr-x");
  EXPECT_EQ(GoFileMode(S_IFDIR | S_ISVTX | 0777), "dtrwxrwxrwx");
  EXPECT_EQ(GoFileMode(S_IFLNK | 0777), "Lrwxrwxrwx");
  EXPECT_EQ(GoFileMode(S_IFREG | S_ISUID | 0755), "urwxr-xr-x");
  EXPECT_EQ(GoFileMode(S_IFCHR | 0666), "Dcrw-rw-rw-");
}

std::vector<AllocFileInfo> Entries(std::vector<std::pair<std::string, std::int64_t>> files) {
  std::vector<AllocFileInfo> out;
  for (auto& [name, size] : files) {
    AllocFileInfo f;
    f.name = name;
    f.size = size;
    f.file_mode = "-rw-r--r--";
    out.push_back(f);
  }
  return out;
}

TEST(AllocFsLogsTest, LogFilesOfPicksTheTaskAndTypeInIndexOrder) {
  auto entries = Entries({{"web.stdout.10", 1}, {"web.stdout.9", 2}, {"web.stderr.0", 3},
                          {"web.stdout.x", 4}, {"webx.stdout.1", 5}, {"web.stdout.", 6},
                          {"web.stdout.-1", 7}});
  AllocFileInfo link;
  link.name = "web.stdout.11";
  link.file_mode = "Lrwxrwxrwx";  // a task's symlink named like a log
  entries.push_back(link);
  auto files = LogFilesOf(entries, "web", "stdout");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].index, 9);
  EXPECT_EQ(files[1].index, 10);
}

TEST(AllocFsLogsTest, FindLogStartWalksAcrossFiles) {
  const std::vector<LogFile> files = {{0, "t.stdout.0", 100}, {1, "t.stdout.1", 100},
                                      {2, "t.stdout.2", 50}};
  auto at = [&](std::int64_t offset, bool end) {
    LogPosition p = FindLogStart(files, offset, end);
    return std::make_pair(p.file, p.offset);
  };
  EXPECT_EQ(at(0, false), std::make_pair(std::size_t{0}, std::int64_t{0}));
  EXPECT_EQ(at(150, false), std::make_pair(std::size_t{1}, std::int64_t{50}));
  EXPECT_EQ(at(1000, false), std::make_pair(std::size_t{2}, std::int64_t{50}));
  EXPECT_EQ(at(0, true), std::make_pair(std::size_t{2}, std::int64_t{50}));
  EXPECT_EQ(at(20, true), std::make_pair(std::size_t{2}, std::int64_t{30}));
  EXPECT_EQ(at(80, true), std::make_pair(std::size_t{1}, std::int64_t{70}));
  EXPECT_EQ(at(220, true), std::make_pair(std::size_t{0}, std::int64_t{30}));
  EXPECT_EQ(at(100000, true), std::make_pair(std::size_t{0}, std::int64_t{0}));
}

}  // namespace
}  // namespace drover::api
