// End-to-end: the client fs and logs endpoints against a real agent and
// real tasks.
//
// One agent serves the whole suite. Tasks are /bin/sh scripts; their output
// is generated with `seq` so that the test can compute every expected byte.
// Streams are read whole: every stream here ends on its own (not following,
// a followed task that dies, a followed file that is deleted), within the
// client's deadline.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/text.h"
#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"

namespace drover::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::int64_t kSecond = 1'000'000'000;
constexpr auto kWait = 60s;  // generous: the machine is shared
constexpr std::size_t kMiB = 1 << 20;
constexpr std::size_t kFrameData = 64 * 1024;

// ---- Expected output ------------------------------------------------------

// What `seq -f '%010g' from to` prints.
std::string Seq(int from, int to) {
  std::string out;
  char line[16];
  for (int i = from; i <= to; ++i) {
    std::snprintf(line, sizeof line, "%010d\n", i);
    out += line;
  }
  return out;
}

// ---- Framed output ----------------------------------------------------------

struct Frame {
  std::int64_t offset = 0;
  std::string data;  // decoded
  std::string file;
  std::string event;
  bool heartbeat = false;
};

std::string DecodeBase64(std::string_view in) { return Base64Decode(in).value_or("<bad base64>"); }

// Splits Nomad's back-to-back JSON frames.
Result<std::vector<Frame>> ParseFrames(std::string_view body) {
  std::vector<Frame> frames;
  json::stream_parser parser;
  while (!body.empty()) {
    boost::system::error_code ec;
    const std::size_t used = parser.write_some(body.data(), body.size(), ec);
    if (ec) return Internal("bad frame JSON: " + ec.message());
    body.remove_prefix(used);
    if (!parser.done()) return Internal("truncated frame");
    const json::value v = parser.release();
    parser.reset();
    if (!v.is_object()) return Internal("a frame is not an object");
    const json::object& o = v.get_object();
    Frame f;
    f.heartbeat = o.empty();
    if (auto* x = o.if_contains("Offset")) f.offset = x->to_number<std::int64_t>();
    if (auto* x = o.if_contains("Data")) f.data = DecodeBase64(x->get_string());
    if (auto* x = o.if_contains("File")) f.file = std::string(x->get_string());
    if (auto* x = o.if_contains("FileEvent")) f.event = std::string(x->get_string());
    frames.push_back(std::move(f));
  }
  return frames;
}

std::string Concat(const std::vector<Frame>& frames) {
  std::string out;
  for (const Frame& f : frames) out += f.data;
  return out;
}

// ---- Jobs -----------------------------------------------------------------

json::value JobRequest(const std::string& id, const std::string& type, const std::string& task,
                       const std::string& script, const std::string& prestart_script = "") {
  json::array tasks;
  if (!prestart_script.empty()) {
    tasks.push_back(json::object{
        {"Name", "init"},
        {"Driver", "raw_exec"},
        {"Config", json::object{{"command", "/bin/sh"}, {"args", json::array{"-c", prestart_script}}}},
        {"Lifecycle", json::object{{"Hook", "prestart"}, {"Sidecar", false}}},
        {"KillTimeout", kSecond},
    });
  }
  tasks.push_back(json::object{
      {"Name", task},
      {"Driver", "raw_exec"},
      {"Config", json::object{{"command", "/bin/sh"}, {"args", json::array{"-c", script}}}},
      {"LogConfig", json::object{{"MaxFiles", 5}, {"MaxFileSizeMB", 1}}},
      {"KillTimeout", kSecond},
  });
  json::object group{
      {"Name", "g"},
      {"Count", 1},
      {"RestartPolicy", json::object{{"Attempts", 0}, {"Mode", "fail"}}},
      {"ReschedulePolicy", json::object{{"Attempts", 0}, {"Unlimited", false}}},
      {"Tasks", std::move(tasks)},
  };
  return json::object{{"Job", json::object{{"ID", id},
                                           {"Name", id},
                                           {"Type", type},
                                           {"Datacenters", json::array{"dc1"}},
                                           {"TaskGroups", json::array{group}}}}};
}

// ---- Fixture: one agent for the suite ---------------------------------------

class FsE2ETest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto agent = AgentProcess::Launch();
    ASSERT_TRUE(agent.ok()) << agent.status().ToString();
    agent_ = std::move(agent).value().release();
  }

  static void TearDownTestSuite() {
    delete agent_;  // kills the agent and every task process
    agent_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(agent_, nullptr) << "the agent did not start"; }

  void TearDown() override {
    if (HasFailure() && agent_ != nullptr)
      std::cerr << "---- agent log tail ----\n" << agent_->LogTail(6000) << "\n";
  }

  static HttpResponse Get(const std::string& path, std::chrono::milliseconds timeout = kWait) {
    HttpClient client = agent_->Client(timeout);
    auto r = client.Get(path);
    EXPECT_TRUE(r.ok()) << path << ": " << r.status().ToString();
    return r.ok() ? *r : HttpResponse{};
  }

  static Result<json::value> GetJson(const std::string& path) {
    HttpClient client = agent_->Client();
    ASSIGN_OR_RETURN(HttpResponse r, client.Get(path));
    if (r.status != 200) return Internal(path + " -> " + std::to_string(r.status) + " " + r.body);
    return ParseJson(r.body);
  }

  // Registers the job and returns its allocation's id once `task` has
  // reached `state` ("running" or "dead"); "" on timeout.
  static std::string Run(const json::value& job, const std::string& job_id,
                         const std::string& task, const std::string& state) {
    HttpClient client = agent_->Client();
    std::string alloc_id = RunJobUntil(client, job, job_id, task, state, kWait);
    EXPECT_FALSE(alloc_id.empty()) << job_id << " never reached " << state;
    return alloc_id;
  }

  static std::string TaskState(const std::string& alloc_id, const std::string& task) {
    HttpClient client = agent_->Client();
    return TaskStateOf(client, alloc_id, task);
  }

  static fs::path AllocDir(const std::string& alloc_id) {
    return agent_->data_dir() / "alloc" / alloc_id;
  }

  static std::string Logs(const std::string& alloc_id, const std::string& query) {
    const HttpResponse r = Get("/v1/client/fs/logs/" + alloc_id + "?" + query);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body.substr(0, 300);
    return r.body;
  }

  // The "big" task of the suite: kBigLines lines of 11 bytes on stdout
  // (about 3.5 MB: four files of at most 1 MiB), one line on stderr.
  static constexpr int kBigLines = 320000;
  static const std::string& BigAlloc() {
    static const std::string id = Run(
        JobRequest("big", "batch", "big",
                   "seq -f '%010g' 1 " + std::to_string(kBigLines) + "; echo oops >&2"),
        "big", "big", "dead");
    return id;
  }

  static AgentProcess* agent_;
};

AgentProcess* FsE2ETest::agent_ = nullptr;

// ---- Logs -----------------------------------------------------------------

TEST_F(FsE2ETest, LogsAcrossRotatedFilesPlain) {
  const std::string alloc = BigAlloc();
  ASSERT_FALSE(alloc.empty());
  const std::string expected = Seq(1, kBigLines);

  auto ls = GetJson("/v1/client/fs/ls/" + alloc + "?path=/alloc/logs");
  ASSERT_TRUE(ls.ok()) << ls.status().ToString();
  std::vector<std::string> names;
  for (const auto& e : ls->get_array()) names.emplace_back(e.at("Name").get_string());
  for (const char* n : {"big.stdout.0", "big.stdout.1", "big.stdout.2", "big.stdout.3"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;

  const std::string body = Logs(alloc, "task=big&type=stdout&plain=true");
  ASSERT_EQ(body.size(), expected.size());
  EXPECT_TRUE(body == expected) << "plain logs differ from what the task wrote";
  EXPECT_EQ(Logs(alloc, "task=big&type=stderr&plain=true"), "oops\n");
}

TEST_F(FsE2ETest, LogsFramedAsNomad) {
  const std::string alloc = BigAlloc();
  ASSERT_FALSE(alloc.empty());
  const HttpResponse r = Get("/v1/client/fs/logs/" + alloc + "?task=big&type=stdout");
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  EXPECT_EQ(r.headers.Get("Content-Type").value_or(""), "application/json");
  auto frames = ParseFrames(r.body);
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  EXPECT_TRUE(Concat(*frames) == Seq(1, kBigLines));
  // Each frame: at most 64 KiB, named by its file, Offset just past its data
  // in that file, files in index order.
  std::string file;
  std::int64_t end = 0;
  for (const Frame& f : *frames) {
    if (f.heartbeat) continue;
    EXPECT_LE(f.data.size(), kFrameData);
    if (f.file != file) {
      EXPECT_LT(file, f.file) << "files out of order";
      file = f.file;
      end = 0;
    }
    end += static_cast<std::int64_t>(f.data.size());
    EXPECT_EQ(f.offset, end) << f.file;
  }
  EXPECT_EQ(file, "alloc/logs/big.stdout.3");
  EXPECT_EQ((*frames)[0].file, "alloc/logs/big.stdout.0");
  EXPECT_EQ(r.body.substr(0, 10), "{\"Offset\":");
}

TEST_F(FsE2ETest, LogsTailWithOriginEndWalksBackAcrossFiles) {
  const std::string alloc = BigAlloc();
  ASSERT_FALSE(alloc.empty());
  const std::string expected = Seq(1, kBigLines);
  // The last file holds 3520000 - 3 MiB = 374272 bytes: 500000 reaches
  // back into the one before.
  for (std::size_t back : {std::size_t{0}, std::size_t{1100}, std::size_t{500000},
                           std::size_t{2 * kMiB + 7}}) {
    const std::string body =
        Logs(alloc, "task=big&type=stdout&plain=true&origin=end&offset=" + std::to_string(back));
    EXPECT_TRUE(body == expected.substr(expected.size() - back)) << "offset " << back;
  }
  // Past the beginning: everything still kept.
  EXPECT_EQ(Logs(alloc, "task=big&type=stdout&plain=true&origin=end&offset=99999999").size(),
            expected.size());
  // origin=start with an offset walks forward across files.
  const std::string from = Logs(alloc, "task=big&type=stdout&plain=true&offset=1500000");
  EXPECT_TRUE(from == expected.substr(1500000));
}

TEST_F(FsE2ETest, FollowSeesNewLinesAcrossRotationAndEndsWhenTheTaskDies) {
  // Slow lines, then 2.5 MB at once (rotating), then a last line, then exit.
  const std::string script =
      "for i in 1 2 3 4 5 6; do echo slow-$i; sleep 0.5; done; "
      "seq -f '%010g' 1 230000; sleep 2; echo last";
  const std::string alloc = Run(JobRequest("follow", "batch", "f", script), "follow", "f",
                                "running");
  ASSERT_FALSE(alloc.empty());
  // A task can name a symlink like its next log file: it is not a log.
  fs::create_symlink("/etc/passwd", AllocDir(alloc) / "alloc" / "logs" / "f.stdout.50");

  auto plain = std::async(std::launch::async, [&] {
    return Get("/v1/client/fs/logs/" + alloc + "?task=f&type=stdout&plain=true&follow=true");
  });
  auto framed = std::async(std::launch::async, [&] {
    return Get("/v1/client/fs/logs/" + alloc + "?task=f&type=stdout&follow=true");
  });
  // The followers started before the task wrote it all.
  const std::string early = Logs(alloc, "task=f&type=stdout&plain=true");
  EXPECT_EQ(early.find("last"), std::string::npos) << "the task finished too early to test";

  std::string expected;
  for (int i = 1; i <= 6; ++i) expected += "slow-" + std::to_string(i) + "\n";
  expected += Seq(1, 230000) + "last\n";

  const HttpResponse p = plain.get();  // returns only because the stream ended
  ASSERT_EQ(p.status, 200) << p.body.substr(0, 300);
  EXPECT_EQ(p.body.size(), expected.size());
  EXPECT_TRUE(p.body == expected) << "followed plain logs differ";
  EXPECT_EQ(p.body.find("root:"), std::string::npos);
  EXPECT_EQ(TaskState(alloc, "f"), "dead");

  const HttpResponse f = framed.get();
  ASSERT_EQ(f.status, 200);
  auto frames = ParseFrames(f.body);
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  EXPECT_TRUE(Concat(*frames) == expected) << "followed framed logs differ";
  EXPECT_TRUE(std::any_of(frames->begin(), frames->end(), [](const Frame& fr) { return fr.heartbeat; }))
      << "no {} heartbeat while the task was quiet";
  EXPECT_GE(std::count_if(frames->begin(), frames->end(),
                          [](const Frame& fr) { return fr.file == "alloc/logs/f.stdout.2"; }),
            1);
}

TEST_F(FsE2ETest, LogErrorsAreNomads) {
  const std::string alloc = BigAlloc();
  ASSERT_FALSE(alloc.empty());
  const std::string base = "/v1/client/fs/logs/" + alloc;
  struct Case {
    std::string query;
    int status;
    std::string body;
  };
  const std::vector<Case> cases = {
      {"type=stdout", 400, "must provide task name"},
      {"task=big", 400, "must provide log type (stdout/stderr)"},
      {"task=big&type=stdin", 400, "must provide log type (stdout/stderr)"},
      {"task=big&type=stdout&origin=middle", 400, "origin must be start or end"},
      {"task=big&type=stdout&offset=abc", 400,
       "error parsing offset: strconv.ParseInt: parsing \"abc\": invalid syntax"},
      {"task=big&type=stdout&follow=maybe", 400,
       "failed to parse follow field to boolean: strconv.ParseBool: parsing \"maybe\": invalid "
       "syntax"},
      {"task=big&type=stdout&plain=2", 400,
       "failed to parse plain field to boolean: strconv.ParseBool: parsing \"2\": invalid syntax"},
      {"task=nope&type=stdout", 400, "unknown task name \"nope\""},
  };
  for (const Case& c : cases) {
    const HttpResponse r = Get(base + "?" + c.query);
    EXPECT_EQ(r.status, c.status) << c.query;
    EXPECT_EQ(r.body, c.body) << c.query;
  }
  const std::string unknown = "11111111-2222-3333-4444-555555555555";
  HttpResponse r = Get("/v1/client/fs/logs/" + unknown + "?task=big&type=stdout");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "Unknown allocation \"" + unknown + "\"");

  // No log file of that type (removed here, as if never written).
  for (const auto& e : fs::directory_iterator(AllocDir(alloc) / "alloc" / "logs")) {
    if (e.path().filename().string().rfind("big.stderr.", 0) == 0) fs::remove(e.path());
  }
  r = Get(base + "?task=big&type=stderr");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "log entry for task \"big\" and log type \"stderr\" not found");
}

TEST_F(FsE2ETest, LogsOfATaskNotStartedYet) {
  // The main task waits behind a prestart task that does not finish.
  const std::string alloc =
      Run(JobRequest("notyet", "service", "main", "echo hi; sleep 300", "sleep 300"), "notyet",
          "init", "running");
  ASSERT_FALSE(alloc.empty());
  const HttpResponse r = Get("/v1/client/fs/logs/" + alloc + "?task=main&type=stdout");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "task \"main\" not started yet. No logs available");
  HttpClient client = agent_->Client();
  static_cast<void>(client.Delete("/v1/job/notyet?purge=true"));
}

// ---- Files ----------------------------------------------------------------

TEST_F(FsE2ETest, LsStatCatReadat) {
  const std::string alloc = BigAlloc();
  ASSERT_FALSE(alloc.empty());
  const std::string expected = Seq(1, kBigLines);

  auto root = GetJson("/v1/client/fs/ls/" + alloc);
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  ASSERT_GE(root->get_array().size(), 2u);
  const json::object& first = root->get_array()[0].get_object();
  EXPECT_EQ(first.at("Name").get_string(), "alloc");
  EXPECT_EQ(first.at("IsDir").as_bool(), true);
  EXPECT_EQ(first.at("FileMode").get_string()[0], 'd');
  EXPECT_TRUE(first.contains("Size") && first.contains("ModTime"));

  auto st = GetJson("/v1/client/fs/stat/" + alloc + "?path=" +
                    PercentEncode("/alloc/logs/big.stdout.0"));
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->at("Name").get_string(), "big.stdout.0");
  EXPECT_EQ(st->at("Size").to_number<std::int64_t>(), static_cast<std::int64_t>(kMiB));
  EXPECT_EQ(st->at("FileMode").get_string(), "-rw-r--r--");

  HttpResponse r = Get("/v1/client/fs/cat/" + alloc + "?path=alloc/logs/big.stdout.1");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == expected.substr(kMiB, kMiB));

  r = Get("/v1/client/fs/readat/" + alloc + "?path=alloc/logs/big.stdout.0&offset=1000&limit=25");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, expected.substr(1000, 25));
  r = Get("/v1/client/fs/readat/" + alloc + "?path=alloc/logs/big.stdout.3&offset=374000");
  EXPECT_EQ(r.body, expected.substr(3 * kMiB + 374000));

  // Nomad's errors.
  r = Get("/v1/client/fs/stat/" + alloc);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "must provide a file name");
  r = Get("/v1/client/fs/cat/" + alloc + "?path=alloc/logs");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "file \"alloc/logs\" is a directory");
  r = Get("/v1/client/fs/readat/" + alloc + "?path=alloc/logs/big.stdout.0");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "error parsing offset: strconv.ParseInt: parsing \"\": invalid syntax");
  r = Get("/v1/client/fs/stream/" + alloc + "?path=alloc/logs/big.stdout.0&origin=x");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "origin must be start or end");
  r = Get("/v1/client/fs/stat/" + alloc + "?path=alloc/nothing");
  EXPECT_EQ(r.status, 404);
  r = Get("/v1/client/fs/ls/11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "Unknown allocation \"11111111-2222-3333-4444-555555555555\"");
}

TEST_F(FsE2ETest, StreamReportsTruncationAndDeletion) {
  const std::string alloc = BigAlloc();
  ASSERT_FALSE(alloc.empty());
  const fs::path file = AllocDir(alloc) / "alloc" / "data" / "watched.txt";
  std::ofstream(file) << "0123456789";

  // Not following: from 4 bytes before the end, then the end of the body.
  HttpResponse r = Get("/v1/client/fs/stream/" + alloc +
                       "?path=alloc/data/watched.txt&follow=false&origin=end&offset=4");
  ASSERT_EQ(r.status, 200);
  auto frames = ParseFrames(r.body);
  ASSERT_TRUE(frames.ok());
  EXPECT_EQ(Concat(*frames), "6789");
  EXPECT_EQ(frames->front().file, "alloc/data/watched.txt");
  EXPECT_EQ(frames->front().offset, 10);

  // Following: appended, truncated, then deleted (which ends the stream).
  auto follow = std::async(std::launch::async, [&] {
    return Get("/v1/client/fs/stream/" + alloc + "?path=alloc/data/watched.txt");
  });
  std::this_thread::sleep_for(700ms);
  std::ofstream(file, std::ios::app) << "abc";
  std::this_thread::sleep_for(700ms);
  fs::resize_file(file, 0);
  std::this_thread::sleep_for(700ms);
  std::ofstream(file, std::ios::app) << "XY";
  std::this_thread::sleep_for(700ms);
  fs::remove(file);
  r = follow.get();
  ASSERT_EQ(r.status, 200);
  frames = ParseFrames(r.body);
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  EXPECT_EQ(Concat(*frames), "0123456789abcXY");
  std::vector<std::string> events;
  for (const Frame& f : *frames)
    if (!f.event.empty()) events.push_back(f.event);
  EXPECT_EQ(events, (std::vector<std::string>{"file truncated", "file deleted"}));
}

// ---- Escapes ----------------------------------------------------------------

class FsEscapeE2ETest : public FsE2ETest {
 protected:
  // A task that plants what a hostile task would.
  static const std::string& PlantedAlloc() {
    static const std::string id = Run(
        JobRequest("evil", "service", "evil",
                   "cd \"$NOMAD_TASK_DIR\"; ln -s /etc/passwd passwd; ln -s /etc etc; "
                   "ln -s ../../../.. up; ln -s ../secrets/token token; mkfifo fifo; "
                   "echo TOPSECRET > \"$NOMAD_SECRETS_DIR/token\"; echo hello > ok.txt; "
                   "mkdir -p ../private; echo TOPSECRET > ../private/key; "
                   "ln -s \"$NOMAD_TASK_DIR\" \"$NOMAD_ALLOC_DIR/data/task\"; "
                   "echo ready > ready; exec sleep 300"),
        "evil", "evil", "running");
    return id;
  }

  static bool Leaked(const std::string& body) {
    return body.find("root:") != std::string::npos || body.find("TOPSECRET") != std::string::npos ||
           body.find("cm9vdD") != std::string::npos /* base64 of "root:" */;
  }
};

TEST_F(FsEscapeE2ETest, NothingOutsideTheAllocationIsServed) {
  const std::string alloc = PlantedAlloc();
  ASSERT_FALSE(alloc.empty());
  ASSERT_TRUE(WaitFor([&] { return fs::exists(AllocDir(alloc) / "evil" / "local" / "ready"); },
                      kWait));
  ASSERT_EQ(Get("/v1/client/fs/cat/" + alloc + "?path=evil/local/ok.txt").body, "hello\n");

  const std::string executor = "../../executor/" + alloc + "/evil";
  const std::vector<std::string> attacks = {
      PercentEncode("../../../../etc/passwd"),   // `..` chain, encoded as Go does
      "../../../../etc/passwd",                // the same, raw
      "..%2F..%2F..%2F..%2Fetc%2Fpasswd",      // encoded slashes
      "%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
      "..%252F..%252Fetc%252Fpasswd",          // double-encoded
      PercentEncode("/etc/passwd"),              // absolute: rooted at the allocation
      PercentEncode(executor + "/spec"),         // the executor's state
      PercentEncode(executor),
      PercentEncode("evil/local/passwd"),        // symlink to /etc/passwd
      PercentEncode("evil/local/etc/passwd"),    // symlinked directory
      PercentEncode("evil/local/up/etc/passwd"), // relative link climbing out
      PercentEncode("alloc/data/task/passwd"),   // symlinked parent inside the alloc dir
      PercentEncode("evil/secrets/token"),
      PercentEncode("evil/local/../secrets/token"),
      PercentEncode("evil/local/token"),         // link to the secrets
      PercentEncode("evil/private/key"),
      PercentEncode("evil/secrets"),
      "evil%2Flocal%2Fok.txt%00%2F..%2F..%2Fsecrets%2Ftoken",  // NUL byte
      PercentEncode(std::string(5000, 'a')),     // very long
  };
  for (const std::string& attack : attacks) {
    for (const char* endpoint : {"cat", "readat", "stat", "ls", "stream"}) {
      std::string path = "/v1/client/fs/" + std::string(endpoint) + "/" + alloc + "?path=" + attack;
      if (std::string(endpoint) == "readat") path += "&offset=0";
      if (std::string(endpoint) == "stream") path += "&follow=false";
      const HttpResponse r = Get(path, 10s);
      EXPECT_TRUE(r.status == 400 || r.status == 403 || r.status == 404)
          << endpoint << " " << attack << " -> " << r.status << " " << r.body.substr(0, 200);
      EXPECT_FALSE(Leaked(r.body)) << endpoint << " " << attack;
    }
  }
  // A FIFO would block a reader forever: it is stat-able, never opened.
  for (const char* endpoint : {"cat", "readat", "stream"}) {
    const HttpResponse r = Get("/v1/client/fs/" + std::string(endpoint) + "/" + alloc +
                                   "?path=evil/local/fifo&offset=0&follow=false",
                               10s);
    EXPECT_EQ(r.status, 400) << endpoint << ": " << r.body;
  }
  EXPECT_EQ(GetJson("/v1/client/fs/stat/" + alloc + "?path=evil/local/fifo")->at("FileMode"),
            "prw-r--r--");

  // Listing shows the links without following them.
  auto ls = GetJson("/v1/client/fs/ls/" + alloc + "?path=evil/local");
  ASSERT_TRUE(ls.ok()) << ls.status().ToString();
  bool listed = false;
  for (const auto& e : ls->get_array()) {
    if (e.at("Name").get_string() != "etc") continue;
    listed = true;
    EXPECT_EQ(e.at("FileMode").get_string()[0], 'L');
  }
  EXPECT_TRUE(listed);
}

TEST_F(FsEscapeE2ETest, SymlinkSwappedInDuringAFollowEndsTheStream) {
  const std::string alloc = PlantedAlloc();
  ASSERT_FALSE(alloc.empty());
  const fs::path file = AllocDir(alloc) / "evil" / "local" / "swap.txt";
  std::ofstream(file) << "before\n";
  auto follow = std::async(std::launch::async, [&] {
    return Get("/v1/client/fs/stream/" + alloc + "?path=evil/local/swap.txt");
  });
  std::this_thread::sleep_for(700ms);
  fs::remove(file);
  fs::create_symlink("/etc/passwd", file);
  const HttpResponse r = follow.get();
  ASSERT_EQ(r.status, 200);
  auto frames = ParseFrames(r.body);
  ASSERT_TRUE(frames.ok());
  EXPECT_EQ(Concat(*frames), "before\n");
  EXPECT_EQ(frames->back().event, "file deleted");
  EXPECT_FALSE(Leaked(r.body));
}

}  // namespace
}  // namespace drover::testing
