// The agent -> executor command channel: a posted command reaches the
// executor's socket even though the agent never waits for the answer, and
// an unreachable executor is reported so that the agent can signal the
// task itself.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "lifecycle/executor/protocol.h"

namespace drover::executor {
namespace {

namespace fs = std::filesystem;

class ExecutorCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/drover-cmd-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (listen_fd_ >= 0) ::close(listen_fd_);
    fs::remove_all(dir_);
  }

  // A listening socket where an executor keeps its own.
  void Listen() {
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(listen_fd_, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string path = dir_ + "/sock";
    ASSERT_LT(path.size(), sizeof(addr.sun_path));
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
    ASSERT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::listen(listen_fd_, 16), 0);
  }

  // What the executor reads from its next connection, up to EOF.
  std::string AcceptAndRead() {
    int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return "accept failed";
    std::string got;
    char buf[64];
    for (ssize_t n; (n = ::read(c, buf, sizeof(buf))) > 0;) got.append(buf, static_cast<std::size_t>(n));
    ::close(c);
    return got;
  }

  std::string dir_;
  int listen_fd_ = -1;
};

TEST_F(ExecutorCommandTest, PostedCommandIsDeliveredWithoutAnAnswer) {
  Listen();
  // Nobody accepts yet: the post must not wait for the executor.
  ASSERT_TRUE(PostCommand(dir_, "kill"));
  ASSERT_TRUE(PostCommand(dir_, "signal 1"));
  EXPECT_EQ(AcceptAndRead(), "kill\n");
  EXPECT_EQ(AcceptAndRead(), "signal 1\n");
}

TEST_F(ExecutorCommandTest, UnreachableExecutorIsReported) {
  // No socket at all: the executor is gone.
  errno = 0;
  EXPECT_FALSE(PostCommand(dir_, "kill"));
  EXPECT_NE(errno, 0);
  EXPECT_FALSE(PostCommand(dir_ + "/missing", "kill"));
  EXPECT_FALSE(SendCommand(dir_, "status", 100).has_value());
}

TEST_F(ExecutorCommandTest, SendCommandReturnsTheAnswerLine) {
  Listen();
  std::thread executor([&] {
    int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    ASSERT_GE(c, 0);
    char buf[64];
    ssize_t n = ::read(c, buf, sizeof(buf));
    EXPECT_EQ(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0), "status\n");
    const std::string reply = "running 42\n";
    EXPECT_EQ(::write(c, reply.data(), reply.size()), static_cast<ssize_t>(reply.size()));
    ::close(c);
  });
  auto reply = SendCommand(dir_, "status", 5000);
  executor.join();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(*reply, "running 42");
}

}  // namespace
}  // namespace drover::executor
