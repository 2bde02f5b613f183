// The executor's launch spec: any byte of a value survives the round trip
// or is refused by name (a NUL would cut a C string short), and the
// decoder accepts exactly the grammar and nothing else.
#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "lifecycle/driver.h"
#include "lifecycle/executor/protocol.h"
#include "tests/support/engine_fakes.h"

namespace drover::executor {
namespace {

Spec GoodSpec() {
  Spec s;
  s.command = "/bin/sh";
  s.args = {"-c", "echo 'a b'\nenv 5 10\n", "", "arg 3 4\nenv x"};
  s.env = {"PATH=/bin", "EMPTY=", "LINES=one\ntwo", "EQ=a=b"};
  s.cwd = "/data/alloc/x/web";
  s.alloc_dir = "/data/alloc/x";
  s.logs_dir = "alloc/logs";
  s.stdout_name = "web.stdout";
  s.stderr_name = "web.stderr";
  s.max_files = 3;
  s.max_file_bytes = 1 << 20;
  s.kill_signal = 15;
  s.kill_timeout_ms = 2500;
  return s;
}

std::string Encode(const Spec& s) {
  auto text = EncodeLaunchSpec(s);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  return text.ok() ? *text : "";
}

// Decoding `text` fails with a message containing `what`.
void ExpectRefused(std::string_view text, const std::string& what) {
  auto spec = DecodeLaunchSpec(text);
  ASSERT_FALSE(spec.ok()) << "accepted: " << std::string(text);
  EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(spec.status().message().find(what), std::string::npos) << spec.status().message();
}

TEST(LaunchSpec, RoundTripsEveryByteButNul) {
  Spec s = GoodSpec();
  std::string all;
  for (int c = 1; c < 256; ++c) all.push_back(static_cast<char>(c));
  s.args.push_back(all);
  auto decoded = DecodeLaunchSpec(Encode(s));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, s);
}

TEST(LaunchSpec, NulBytesAreRefusedByName) {
  Spec s = GoodSpec();
  s.args[1] = std::string("echo\0rm -rf /", 13);
  auto text = EncodeLaunchSpec(s);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(text.status().message(), "argument 2 contains a NUL byte");

  s = GoodSpec();
  s.env.push_back(std::string("SECRET=a\0b", 10));
  EXPECT_EQ(EncodeLaunchSpec(s).status().message(),
            "environment variable SECRET contains a NUL byte");
  s = GoodSpec();
  s.env.push_back(std::string("SE\0T=a", 6));
  EXPECT_FALSE(EncodeLaunchSpec(s).ok());
  s = GoodSpec();
  s.command = std::string("/bin/sh\0-c", 10);
  EXPECT_EQ(EncodeLaunchSpec(s).status().message(), "command contains a NUL byte");
  s = GoodSpec();
  s.stdout_name = std::string("web\0.stdout", 11);
  EXPECT_FALSE(EncodeLaunchSpec(s).ok());
}

TEST(LaunchSpec, ValidatesPathsAndNumbers) {
  auto refused = [](void (*change)(Spec&)) {
    Spec s = GoodSpec();
    change(s);
    return !EncodeLaunchSpec(s).ok();
  };
  EXPECT_TRUE(refused([](Spec& s) { s.command = "sh"; }));
  EXPECT_TRUE(refused([](Spec& s) { s.alloc_dir = "relative"; }));
  EXPECT_TRUE(refused([](Spec& s) { s.logs_dir = "alloc/../../etc"; }));
  EXPECT_TRUE(refused([](Spec& s) { s.logs_dir = "/etc"; }));
  EXPECT_TRUE(refused([](Spec& s) { s.stdout_name = "../web.stdout"; }));
  EXPECT_TRUE(refused([](Spec& s) { s.stderr_name = ".."; }));
  EXPECT_TRUE(refused([](Spec& s) { s.env.push_back("=value"); }));
  EXPECT_TRUE(refused([](Spec& s) { s.env.push_back("NOEQUALS"); }));
  EXPECT_TRUE(refused([](Spec& s) { s.max_files = 0; }));
  EXPECT_TRUE(refused([](Spec& s) { s.max_files = -1; }));
  EXPECT_TRUE(refused([](Spec& s) { s.max_file_bytes = 0; }));
  EXPECT_TRUE(refused([](Spec& s) { s.kill_signal = 0; }));
  EXPECT_TRUE(refused([](Spec& s) { s.kill_signal = 65; }));
  EXPECT_TRUE(refused([](Spec& s) { s.kill_timeout_ms = -1; }));
  EXPECT_TRUE(refused([](Spec& s) { s.kill_timeout_ms = INT64_MAX; }));  // overflows in ns
  EXPECT_FALSE(refused([](Spec& s) { s.cwd = ""; }));
}

TEST(LaunchSpec, DecoderIsStrict) {
  const std::string good = Encode(GoodSpec());
  ASSERT_TRUE(DecodeLaunchSpec(good).ok());
  const std::string magic = "drover-launch-spec 2\n";
  ExpectRefused("", "not a drover-launch-spec 2");
  ExpectRefused(std::string("command\0/bin/sh\0", 16), "not a drover-launch-spec 2");  // v1
  ExpectRefused(good.substr(0, good.size() - 1), "runs past its end");
  ExpectRefused(good + "x", "truncated field");
  ExpectRefused(good + "arg 1\nxy", "runs past its end");
  ExpectRefused(good + "cwd 1\n/\n", "repeated key \"cwd\"");
  ExpectRefused(good + "colour 1\nx\n", "unknown key \"colour\"");
  ExpectRefused(good + "arg 01\nx\n", "bad length");
  ExpectRefused(good + "arg -1\nx\n", "bad length");
  ExpectRefused(good + "arg +1\nx\n", "bad length");
  ExpectRefused(good + "arg 99999999999999999999\nx\n", "bad length");
  ExpectRefused(good + "arg 18446744073709551615\nx\n", "bad length");
  ExpectRefused(good + "arg 4294967297\nx\n", "bad length");
  ExpectRefused(magic + "command 7\n/bin/sh\n", "missing");

  auto with = [&](const std::string& key, const std::string& value) {
    std::string text = good;
    const std::string field = key + " ";
    std::size_t at = text.find("\n" + field) + 1;
    std::size_t nl = text.find('\n', at);
    std::size_t len = std::stoul(text.substr(at + field.size(), nl - at - field.size()));
    text.replace(at, nl + 1 + len + 1 - at,
                 field + std::to_string(value.size()) + "\n" + value + "\n");
    return text;
  };
  ASSERT_TRUE(DecodeLaunchSpec(with("kill_signal", "9")).ok());
  ExpectRefused(with("kill_signal", "09"), "not a number");
  ExpectRefused(with("kill_signal", "-9"), "not a number");
  ExpectRefused(with("kill_signal", "9x"), "not a number");
  ExpectRefused(with("kill_signal", "99"), "out of range");
  ExpectRefused(with("max_files", "0"), "out of range");
  ExpectRefused(with("max_files", "4294967297"), "out of range");
  ExpectRefused(with("max_file_bytes", "18446744073709551616"), "not a number");
  ExpectRefused(with("kill_timeout_ms", "9223372036854775807"), "out of range");
  ExpectRefused(with("command", std::string("/bin/sh\0x", 9)), "NUL byte");
  ExpectRefused(with("stdout", "../../etc/passwd"), "not one path component");
  ExpectRefused(with("logs_dir", "../.."), "not beneath the allocation");
}

// The driver refuses a NUL before it starts anything: no executor binary
// is needed to see it.
TEST(LaunchSpec, DriverRefusesNulInArgumentsBeforeStarting) {
  DriverPtr driver = NewRawExecDriver("/nonexistent/drover-executor");
  TaskLaunch launch;
  launch.command = "/bin/sh";
  launch.args = {"-c", std::string("true\0; rm -rf /", 15)};
  launch.alloc_dir = "/tmp";
  launch.stdout_name = "web.stdout";
  launch.stderr_name = "web.stderr";
  launch.state_dir = "/nonexistent/state";
  drover::testing::FakeScheduler scheduler;
  drover::testing::FakeMonitor monitor;
  // A refused launch answers before Start returns.
  auto start = [&] {
    std::optional<Result<ProcessHandle>> answer;
    driver->Start(launch, scheduler, monitor, [&](Result<ProcessHandle> r) { answer = std::move(r); });
    return answer.value_or(Result<ProcessHandle>(Internal("no answer")));
  };
  auto started = start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(started.status().message(), "argument 2 contains a NUL byte");

  launch.args = {"-c", "true"};
  launch.env = {{"TOKEN", std::string("a\0b", 3)}};
  started = start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.status().message(), "environment variable TOKEN contains a NUL byte");
}

}  // namespace
}  // namespace drover::executor
