// The storage and read-path figures of issue 12, each run 3 times and
// printed as min / median / max:
//   wake      10,000 blocking queries parked on one GET /v1/allocation/:id;
//             the allocation is stopped; latency from the stop request to
//             each waiter's answer (p50, p99 per run);
//   get       GET /v1/allocation/:id req/s from 4 keep-alive connections;
//   list100   GET /v1/allocations req/s with 100 allocations, 32 keep-alive
//             connections;
//   list10k   one full list of 10,000 stubs (ms), and the latency of
//             GET /v1/agent/health... a small GET /v1/allocation/:id made
//             while 32 connections fetch the full list in a loop.
// `--binary PATH` runs another build (e.g. /work/baseline/drover); its
// executor must sit next to it. Every request says `Connection:
// keep-alive` (Pistache closes otherwise); the figures measure that mode.
// The lists' allocations are written as a schema-v1 store (finished
// allocations, nothing runs), which every Drover migrates on start.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/uuid.h"
#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"
#include "tests/support/v1_store.h"

namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using drover::testing::AgentOptions;
using drover::testing::AgentProcess;
using drover::testing::HttpClient;
using Clock = std::chrono::steady_clock;

std::string g_binary = DROVER_BINARY;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void PrintRuns(const char* what, const char* unit, std::vector<double> v) {
  if (v.empty()) {
    std::printf("%-44s no result\n", what);
    return;
  }
  std::sort(v.begin(), v.end());
  std::printf("%-44s min=%10.2f  median=%10.2f  max=%10.2f %s\n", what, v.front(),
              v[v.size() / 2], v.back(), unit);
  std::fflush(stdout);
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<std::size_t>(i, 1, v.size()) - 1];
}

int Connect(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

std::string RequestText(const std::string& method, const std::string& path) {
  return method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n"
         "Content-Length: 0\r\n\r\n";
}

// A whole response in `buf` from `from`: returns its end, or 0 if more is
// needed. Sets *status.
std::size_t ResponseEnd(const std::string& buf, int* status) {
  std::size_t head = buf.find("\r\n\r\n");
  if (head == std::string::npos) return 0;
  if (status != nullptr) *status = std::atoi(buf.c_str() + 9);
  std::size_t length = 0;
  std::size_t at = 0;
  for (const char* name : {"Content-Length:", "content-length:"}) {
    at = buf.find(name);
    if (at != std::string::npos && at < head) {
      length = std::strtoull(buf.c_str() + at + std::strlen(name), nullptr, 10);
      break;
    }
  }
  return buf.size() >= head + 4 + length ? head + 4 + length : 0;
}

// One blocking keep-alive connection.
class Conn {
 public:
  explicit Conn(std::uint16_t port) : port_(port), fd_(Connect(port)) {}
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  // The response status, or -1.
  int Get(const std::string& path, std::size_t* bytes = nullptr) {
    if (fd_ < 0) fd_ = Connect(port_);
    if (fd_ < 0) return -1;
    std::string req = RequestText("GET", path);
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
      return Reset();
    buf_.clear();
    char chunk[65536];
    int status = -1;
    for (;;) {
      std::size_t end = ResponseEnd(buf_, &status);
      if (end != 0) {
        if (bytes != nullptr) *bytes = end;
        if (buf_.find("Connection: close") != std::string::npos ||
            buf_.find("Connection: Close") != std::string::npos) {
          ::close(fd_);
          fd_ = -1;
        }
        return status;
      }
      ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) return Reset();
      buf_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  int Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    return -1;
  }
  std::uint16_t port_;
  int fd_;
  std::string buf_;
};

// Requests per second of `path` from `conns` connections over `for_time`.
double Throughput(std::uint16_t port, const std::string& path, int conns,
                  std::chrono::milliseconds for_time, int* failed) {
  std::atomic<long> ok{0}, bad{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int i = 0; i < conns; ++i) {
    threads.emplace_back([&] {
      Conn c(port);
      while (!stop.load()) (c.Get(path) == 200 ? ok : bad).fetch_add(1);
    });
  }
  std::this_thread::sleep_for(for_time);
  stop = true;
  for (auto& t : threads) t.join();
  *failed += static_cast<int>(bad.load());
  return static_cast<double>(ok.load()) / std::chrono::duration<double>(Clock::now() - start).count();
}

std::unique_ptr<AgentProcess> Launch() {
  AgentOptions options;
  options.binary = g_binary;
  options.log_level = "warn";
  auto agent = AgentProcess::Launch(options);
  if (!agent.ok()) {
    std::fprintf(stderr, "launch %s: %s\n", g_binary.c_str(), agent.status().ToString().c_str());
    return nullptr;
  }
  return std::move(agent).value();
}

// An agent whose store holds `count` finished allocations of one job.
std::unique_ptr<AgentProcess> LaunchWithAllocs(int count, std::string* some_alloc) {
  auto agent = Launch();
  if (!agent || !agent->Stop().ok()) return nullptr;
  drover::Job job;
  job.ID = job.Name = "bench";
  job.Namespace = "default";
  job.Type = "batch";
  job.Region = "global";
  job.Datacenters = {"dc1"};
  drover::TaskGroup tg;
  tg.Name = "g";
  tg.Count = count;
  drover::Task t;
  t.Name = "t";
  t.Driver = "raw_exec";
  t.Config.text = R"({"command":"/bin/true"})";
  tg.Tasks.push_back(t);
  job.TaskGroups.push_back(tg);
  job.CreateIndex = job.ModifyIndex = job.JobModifyIndex = 1;
  drover::testing::V1Contents contents;
  contents.jobs.push_back(job);
  for (int i = 0; i < count; ++i) {
    drover::Allocation a;
    a.ID = drover::NewUUID();
    a.Namespace = "default";
    a.JobID = "bench";
    a.Job = job;
    a.Name = "bench.g[" + std::to_string(i) + "]";
    a.TaskGroup = "g";
    a.DesiredStatus = "run";
    a.ClientStatus = "complete";
    a.AllocatedResources.text = R"({"Tasks":{"t":{"Cpu":{"CpuShares":100},"Memory":{"MemoryMB":300}}}})";
    drover::TaskState ts;
    ts.State = "dead";
    drover::TaskEvent ev;
    ev.Type = "Terminated";
    ev.Time = 1;
    ev.Details = {{"exit_code", "0"}};
    ts.Events = {ev, ev, ev};
    a.TaskStates = std::map<std::string, drover::TaskState>{{"t", ts}};
    a.CreateIndex = a.ModifyIndex = a.AllocModifyIndex = 1;
    contents.allocs.push_back(std::move(a));
  }
  *some_alloc = contents.allocs.back().ID;
  auto state = agent->data_dir() / "state";
  std::filesystem::remove_all(state);
  if (auto st = drover::testing::WriteV1Store(state.string(), contents); !st.ok()) {
    std::fprintf(stderr, "populate: %s\n", st.ToString().c_str());
    return nullptr;
  }
  if (auto st = agent->Restart(); !st.ok()) {
    std::fprintf(stderr, "restart: %s\n%s\n", st.ToString().c_str(), agent->LogTail().c_str());
    return nullptr;
  }
  return agent;
}

std::uint64_t IndexOf(const drover::testing::HttpResponse& r) {
  auto h = r.headers.Get("X-Nomad-Index");
  return h ? std::strtoull(std::string(*h).c_str(), nullptr, 10) : 0;
}

// The job's allocation that is running (desired run), or "".
std::string RunningAlloc(HttpClient& http, const std::string& job) {
  for (int tries = 0; tries < 500; ++tries) {
    auto r = http.Get("/v1/job/" + job + "/allocations");
    if (r.ok() && r->status == 200) {
      auto list = drover::testing::ParseJson(r->body);
      if (list.ok() && list->is_array()) {
        for (const auto& s : list->as_array()) {
          const auto& o = s.as_object();
          if (o.at("DesiredStatus") == "run" && o.at("ClientStatus") == "running")
            return std::string(o.at("ID").as_string());
        }
      }
    }
    std::this_thread::sleep_for(20ms);
  }
  return "";
}

void BenchWake(int waiters) {
  auto agent = Launch();
  if (!agent) return;
  HttpClient http = agent->Client(60s);
  json::object task{{"Name", "t"}, {"Driver", "raw_exec"},
                    {"Config", json::object{{"command", "/bin/sleep"}, {"args", json::array{"600"}}}},
                    {"Resources", json::object{{"CPU", 10}, {"MemoryMB", 10}}}};
  json::object group{{"Name", "g"}, {"Count", 1}, {"Tasks", json::array{task}}};
  auto reg = http.Put("/v1/jobs", json::serialize(json::object{
                                      {"Job", json::object{{"ID", "wake"}, {"Type", "service"},
                                                           {"Datacenters", json::array{"dc1"}},
                                                           {"TaskGroups", json::array{group}}}}}));
  if (!reg.ok() || reg->status != 200) {
    std::fprintf(stderr, "register failed\n");
    return;
  }
  std::vector<double> p50s, p99s, fails;
  for (int run = 0; run < 3; ++run) {
    std::string alloc = RunningAlloc(http, "wake");
    if (alloc.empty()) {
      std::fprintf(stderr, "no running allocation\n");
      return;
    }
    auto cur = http.Get("/v1/allocation/" + alloc);
    if (!cur.ok() || cur->status != 200) return;
    const std::uint64_t index = IndexOf(*cur);
    const std::string req =
        RequestText("GET", "/v1/allocation/" + alloc + "?index=" + std::to_string(index) +
                               "&wait=60s");
    std::vector<int> fds;
    for (int i = 0; i < waiters; ++i) {
      int fd = Connect(agent->port());
      if (fd < 0) break;
      if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
        ::close(fd);
        break;
      }
      fds.push_back(fd);
    }
    if (fds.size() != static_cast<std::size_t>(waiters)) {
      std::fprintf(stderr, "only %zu of %d waiters connected\n", fds.size(), waiters);
    }
    std::this_thread::sleep_for(3s);  // every request read and parked
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    for (std::size_t i = 0; i < fds.size(); ++i) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      ::epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    std::vector<std::string> bufs(fds.size());
    std::vector<double> latency;
    int failed = 0;
    std::size_t done = 0;
    const auto t0 = Clock::now();
    std::thread stopper([&] {
      HttpClient c = agent->Client(60s);
      auto r = c.Request("POST", "/v1/allocation/" + alloc + "/stop", "");
      if (!r.ok() || r->status != 200) std::fprintf(stderr, "stop failed\n");
    });
    std::vector<epoll_event> events(1024);
    char chunk[65536];
    while (done < fds.size() && Clock::now() - t0 < 60s) {
      int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 1000);
      for (int k = 0; k < n; ++k) {
        std::size_t i = events[k].data.u64;
        ssize_t got = ::recv(fds[i], chunk, sizeof(chunk), 0);
        if (got <= 0) {
          ::epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], nullptr);
          ++failed;
          ++done;
          continue;
        }
        bufs[i].append(chunk, static_cast<std::size_t>(got));
        int status = 0;
        if (ResponseEnd(bufs[i], &status) != 0) {
          ::epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], nullptr);
          if (status == 200) latency.push_back(Ms(Clock::now() - t0));
          else ++failed;
          ++done;
        }
      }
    }
    stopper.join();
    ::close(ep);
    for (int fd : fds) ::close(fd);
    failed += static_cast<int>(fds.size() - done);
    std::printf("  wake run %d: %zu answered, %d failed, p50=%.2f ms p99=%.2f ms\n", run + 1,
                latency.size(), failed, Percentile(latency, 0.5), Percentile(latency, 0.99));
    p50s.push_back(Percentile(latency, 0.5));
    p99s.push_back(Percentile(latency, 0.99));
    fails.push_back(failed);
  }
  PrintRuns("wake, 10,000 waiters on one alloc: p50", "ms", p50s);
  PrintRuns("wake, 10,000 waiters on one alloc: p99", "ms", p99s);
  PrintRuns("wake: failed waiters", "", fails);
}

void BenchGetAlloc() {
  std::string alloc;
  auto agent = LaunchWithAllocs(100, &alloc);
  if (!agent) return;
  std::vector<double> rps;
  int failed = 0;
  for (int run = 0; run < 3; ++run) {
    rps.push_back(Throughput(agent->port(), "/v1/allocation/" + alloc, 4, 3000ms, &failed));
  }
  PrintRuns("GET /v1/allocation/:id, 4 conns", "req/s", rps);
  rps.clear();
  for (int run = 0; run < 3; ++run) {
    rps.push_back(Throughput(agent->port(), "/v1/allocations", 32, 3000ms, &failed));
  }
  PrintRuns("GET /v1/allocations (100), 32 conns", "req/s", rps);
  if (failed > 0) std::printf("  (%d failed requests)\n", failed);
}

void BenchBigList() {
  std::string alloc;
  auto t0 = Clock::now();
  auto agent = LaunchWithAllocs(10'000, &alloc);
  if (!agent) return;
  std::printf("  populated and started with 10,000 allocations in %.0f ms\n", Ms(Clock::now() - t0));
  Conn one(agent->port());
  std::vector<double> full;
  std::size_t bytes = 0;
  for (int run = 0; run < 3; ++run) {
    auto s = Clock::now();
    if (one.Get("/v1/allocations", &bytes) != 200) std::fprintf(stderr, "full list failed\n");
    full.push_back(Ms(Clock::now() - s));
  }
  std::printf("  full list body: %zu KiB\n", bytes / 1024);
  PrintRuns("full list of 10,000 stubs", "ms", full);

  std::vector<double> small_p50, small_max;
  for (int run = 0; run < 3; ++run) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> heavy;
    for (int i = 0; i < 32; ++i) {
      heavy.emplace_back([&] {
        Conn c(agent->port());
        while (!stop.load()) c.Get("/v1/allocations");
      });
    }
    std::this_thread::sleep_for(300ms);
    std::vector<double> lat;
    Conn small(agent->port());
    auto end = Clock::now() + 3s;
    while (Clock::now() < end && lat.size() < 200) {
      auto s = Clock::now();
      small.Get("/v1/allocation/" + alloc);
      lat.push_back(Ms(Clock::now() - s));
    }
    stop = true;
    for (auto& t : heavy) t.join();
    small_p50.push_back(Percentile(lat, 0.5));
    small_max.push_back(Percentile(lat, 1.0));
  }
  PrintRuns("small GET while 32 conns list 10,000: p50", "ms", small_p50);
  PrintRuns("small GET while 32 conns list 10,000: max", "ms", small_max);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--binary" && i + 1 < argc) {
      g_binary = argv[++i];
    } else if (a == "--only" && i + 1 < argc) {
      only.push_back(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--binary PATH] [--only wake|get|biglist]...\n", argv[0]);
      return 2;
    }
  }
  auto want = [&](const char* name) {
    return only.empty() || std::find(only.begin(), only.end(), name) != only.end();
  };
  std::printf("binary: %s\n", g_binary.c_str());
  if (want("get")) BenchGetAlloc();
  if (want("biglist")) BenchBigList();
  if (want("wake")) BenchWake(10'000);
  return 0;
}
