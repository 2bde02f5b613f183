// The HTTP edge against hostile clients, in figures:
//   1. a 4 MiB URL: time to an answer and the agent's CPU seconds spent;
//   2. bad Content-Length values (-1, 1e23, 1e12): status and body;
//   3. a 5 MiB Content-Length head without its body: time to an answer;
//   4. malformed heads (LF only, TLS hello, NUL): time to an answer;
//   5. 1,000 idle connections at a 1,024 fd limit: a normal request's
//      latency and the agent's CPU use while they sit idle.
// Every wait is bounded by --timeout (default 15 s); "no answer" means none
// came within it. Run it against another build with --binary to compare:
//   build/bench/http_edge_bench [--binary path/to/drover] [--timeout 15]
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/agent_process.h"
#include "tests/support/raw_http.h"

namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using drover::testing::AgentOptions;
using drover::testing::AgentProcess;
using drover::testing::RawConnection;
using drover::testing::RawResponse;
using Clock = std::chrono::steady_clock;

// utime + stime of `pid`, in seconds.
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields;
  std::size_t pos = close + 2;
  while (pos < text.size()) {
    std::size_t sp = text.find(' ', pos);
    if (sp == std::string::npos) sp = text.size();
    fields.push_back(text.substr(pos, sp - pos));
    pos = sp + 1;
  }
  if (fields.size() < 13) return 0;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
}

std::string Excerpt(const std::string& s) {
  std::string out = s.substr(0, 60);
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

// Sends `wire` as far as the server reads it; prints the answer.
void Probe(const AgentProcess& agent, const char* label, const std::string& wire,
           std::chrono::milliseconds timeout) {
  const double cpu0 = CpuSeconds(agent.pid());
  const auto t0 = Clock::now();
  std::string outcome;
  auto conn = RawConnection::Connect(agent.port(), timeout);
  if (!conn.ok()) {
    outcome = "connect failed: " + conn.status().message();
  } else {
    auto sent = conn->SendUntilAnswered(wire);
    auto r = conn->ReadResponse();
    if (r.ok()) {
      outcome = std::to_string(r->status) + " \"" + Excerpt(r->body) + "\"";
    } else {
      outcome = "no answer (" + r.status().message() + ")";
    }
    if (sent.ok()) outcome += ", sent " + std::to_string(*sent) + " bytes";
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("  %-28s %8.3f s  agent cpu %6.2f s  %s\n", label, secs,
              CpuSeconds(agent.pid()) - cpu0, outcome.c_str());
  std::fflush(stdout);
}

std::unique_ptr<AgentProcess> Launch(const std::string& binary, std::vector<std::string> launcher) {
  AgentOptions options;
  if (!binary.empty()) options.binary = binary;
  options.log_level = "info";
  options.launcher = std::move(launcher);
  auto agent = AgentProcess::Launch(options);
  if (!agent.ok()) {
    std::fprintf(stderr, "cannot start the agent: %s\n", agent.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(agent).value();
}

void IdleConnections(const std::string& binary, std::chrono::milliseconds timeout) {
  auto agent = Launch(binary, {"/usr/bin/prlimit", "--nofile=1024"});
  std::vector<RawConnection> idle;
  for (int i = 0; i < 1000; ++i) {
    auto c = RawConnection::Connect(agent->port(), timeout);
    if (!c.ok()) {
      std::printf("  connection %d failed: %s\n", i, c.status().message().c_str());
      break;
    }
    idle.push_back(std::move(c).value());
  }
  std::this_thread::sleep_for(1s);
  const double cpu0 = CpuSeconds(agent->pid());
  std::this_thread::sleep_for(3s);
  const double idle_cpu = (CpuSeconds(agent->pid()) - cpu0) / 3.0 * 100.0;
  std::printf("  %zu idle connections open; agent CPU while idle: %.0f%% of a core\n",
              idle.size(), idle_cpu);
  const auto t0 = Clock::now();
  auto r = agent->Client(timeout).Get("/v1/agent/self");
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("  GET /v1/agent/self: %s after %.3f s\n",
              r.ok() ? std::to_string(r->status).c_str() : r.status().message().c_str(), secs);
}

}  // namespace

int main(int argc, char** argv) {
  std::string binary;
  std::chrono::milliseconds timeout = 15s;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--binary") == 0) binary = argv[i + 1];
    if (std::strcmp(argv[i], "--timeout") == 0) timeout = std::chrono::seconds(std::atoi(argv[i + 1]));
  }
  std::printf("http_edge_bench: %s, answers awaited up to %lld s\n",
              binary.empty() ? DROVER_BINARY : binary.c_str(),
              static_cast<long long>(timeout.count() / 1000));
  {
    auto agent = Launch(binary, {});
    Probe(*agent, "4 MiB URL", "GET /v1/jobs?prefix=" + std::string(4 << 20, 'a') + " HTTP/1.1\r\n\r\n",
          timeout);
    for (const char* cl : {"-1", "1e23", "1e12"}) {
      Probe(*agent, (std::string("Content-Length: ") + cl).c_str(),
            std::string("PUT /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ") + cl + "\r\n\r\n{}",
            timeout);
    }
    Probe(*agent, "Content-Length 5 MiB, no body",
          "PUT /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5242880\r\n\r\n", timeout);
    Probe(*agent, "LF-only line endings", "GET /v1/agent/self HTTP/1.1\nHost: x\n\n", timeout);
    Probe(*agent, "TLS client hello", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"s,
          timeout);
    Probe(*agent, "NUL in a header",
          "GET /v1/agent/self HTTP/1.1\r\nHost: a\0b\r\n\r\n"s, timeout);
  }
  std::printf("  -- at a 1,024 fd limit --\n");
  IdleConnections(binary, timeout);
  return 0;
}
