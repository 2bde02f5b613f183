// drover alloc exec: a command in a task over the exec WebSocket, with the
// local terminal in raw mode, resizes forwarded and the exit code passed
// through.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/command.h"
#include "cli/exec_escape.h"
#include "cli/format.h"
#include "cli/lookup.h"
#include "cli/meta.h"
#include "client/http_client.h"
#include "client/ws_client.h"
#include "common/text.h"

namespace drover::cli {

namespace json = boost::json;

namespace {

int g_winch_pipe[2] = {-1, -1};

void OnWinch(int) {
  const int saved = errno;
  const char c = 'w';
  [[maybe_unused]] ssize_t n = ::write(g_winch_pipe[1], &c, 1);
  errno = saved;
}

// The terminal in raw mode for the session's life.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (::tcgetattr(fd_, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(fd_, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
  }

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

std::string SizeFrame() {
  winsize ws{};
  if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0) return "";
  return json::serialize(json::object{
      {"tty_size", json::object{{"height", ws.ws_row}, {"width", ws.ws_col}}}});
}

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Unavailable("write: " + std::string(std::strerror(errno)));
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::Ok();
}

constexpr int kSessionError = -1;   // printed already
constexpr int kDisconnected = -2;   // ~. was typed

// The session; the remote exit code, kSessionError after printing an error,
// or kDisconnected. `escape` (null: none) filters the keyboard's input.
int RunSession(client::WsClient& ws, bool stdin_open, bool tty, EscapeFilter* escape) {
  const char* const nl = tty ? "\r\n" : "";
  using Clock = std::chrono::steady_clock;
  auto last_sent = Clock::now();
  auto send = [&](const json::value& v) {
    last_sent = Clock::now();
    return ws.SendText(json::serialize(v));
  };
  if (tty) {
    if (std::string size = SizeFrame(); !size.empty()) {
      if (!ws.SendText(size).ok()) return kSessionError;
    }
  }
  if (!stdin_open) {
    if (!send(json::object{{"stdin", json::object{{"close", true}}}}).ok()) return kSessionError;
  }
  for (;;) {
    pollfd fds[3] = {{ws.fd(), POLLIN, 0}, {stdin_open ? STDIN_FILENO : -1, POLLIN, 0},
                     {g_winch_pipe[0], POLLIN, 0}};
    const int n = ::poll(fds, 3, 1000);
    if (n < 0 && errno != EINTR) {
      std::cerr << "poll: " << std::strerror(errno) << "\n";
      return kSessionError;
    }
    // Nomad's clients send a heartbeat every 10 s.
    if (Clock::now() - last_sent > std::chrono::seconds(10)) {
      if (!send(json::object{}).ok()) return kSessionError;
    }
    if (n <= 0) continue;
    if (fds[2].revents & POLLIN) {
      char drain[64];
      [[maybe_unused]] ssize_t r = ::read(g_winch_pipe[0], drain, sizeof drain);
      if (std::string size = SizeFrame(); tty && !size.empty()) {
        if (!ws.SendText(size).ok()) return kSessionError;
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      char buf[16 * 1024];
      const ssize_t r = ::read(STDIN_FILENO, buf, sizeof buf);
      auto send_stdin = [&](std::string_view data) {
        return data.empty() || send(json::object{{"stdin", json::object{{"data", Base64Encode(data)}}}}).ok();
      };
      if (r > 0) {
        const std::string_view input(buf, static_cast<std::size_t>(r));
        if (escape == nullptr) {
          if (!send_stdin(input)) return kSessionError;
        } else {
          EscapeFilter::Result filtered = escape->Feed(input);
          if (!send_stdin(filtered.forward)) return kSessionError;
          if (filtered.disconnect) return kDisconnected;
        }
      } else if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
        stdin_open = false;
        if (escape != nullptr && !send_stdin(escape->Finish())) return kSessionError;
        if (!send(json::object{{"stdin", json::object{{"close", true}}}}).ok()) return kSessionError;
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      Status st = ws.ReadAvailable();
      while (auto frame = ws.NextBuffered()) {
        if (frame->opcode == client::WsClient::kClose) {
          if (frame->close_code() != 1000) {
            std::cerr << nl << "failed to exec into task: " << frame->close_reason() << "\n";
            return kSessionError;
          }
          std::cerr << nl << "unexpected EOF\n";
          return kSessionError;
        }
        if (frame->opcode == client::WsClient::kPing) {
          (void)ws.SendFrame(client::WsClient::kPong, frame->payload);
          continue;
        }
        if (frame->opcode != client::WsClient::kText) continue;
        boost::system::error_code ec;
        json::value v = json::parse(frame->payload, ec);
        if (ec || !v.is_object()) continue;
        const json::object& o = v.get_object();
        for (const char* stream : {"stdout", "stderr"}) {
          const json::value* s = o.if_contains(stream);
          if (s == nullptr || !s->is_object()) continue;
          if (const json::value* d = s->get_object().if_contains("data"); d && d->is_string()) {
            auto bytes = Base64Decode(d->get_string());
            if (bytes) (void)WriteAll(stream[3] == 'o' ? STDOUT_FILENO : STDERR_FILENO, *bytes);
          }
        }
        if (Bool(v, "exited")) {
          const json::value* result = o.if_contains("result");
          return result ? static_cast<int>(Int(*result, "exit_code")) : 0;
        }
      }
      if (!st.ok()) {
        std::cerr << nl << "unexpected EOF: " << st.message() << "\n";
        return kSessionError;
      }
    }
  }
}

}  // namespace

int AllocExec(const Command& cmd, const std::vector<std::string>& argv) {
  Meta meta;
  FlagSet flags;
  meta.AddFlags(flags);
  bool stdin_flag = true, verbose = false;
  bool tty_flag = ::isatty(STDIN_FILENO) == 1;
  std::string task, job, escape = "~";
  flags.Bool("i", &stdin_flag, "Pass stdin to the command (default true).");
  flags.Bool("t", &tty_flag, "Allocate a pseudo-terminal (default: when stdin is a terminal).");
  flags.String("task", &task, "The task to run the command in (needed when the group has several).");
  flags.String("job", &job, "Use a random allocation of this job instead of an allocation ID.");
  flags.String("e", &escape, "The escape character of a -t session (default ~; ~. closes it), or none.");
  flags.Bool("verbose", &verbose, "Full IDs.");
  std::vector<std::string> args;
  if (auto done = Begin(cmd, flags, meta, argv, args, 1, kAnyCount, "This command takes the following arguments: <allocation> <command> [args...]")) return *done;
  if (escape == "none") escape.clear();
  if (escape.size() > 1) return Fail("-e requires 'none' or a single character");
  if (args.size() < (job.empty() ? 2u : 1u)) {
    return UsageError(cmd.name, "This command takes the following arguments: <allocation> <command> [args...]");
  }
  std::string prefix;
  std::vector<std::string> command;
  if (!job.empty()) {
    auto id = JobIdByPrefix(meta, job);
    if (!id.ok()) return Fail(id.status().message());
    auto allocs = meta.Get("/v1/job/" + client::PercentEncode(*id) + "/allocations");
    if (!allocs.ok()) return Fail("Error querying allocations: " + allocs.status().message());
    for (const json::value& a : allocs->as_array()) {
      if (Str(a, "ClientStatus") == "running") prefix = Str(a, "ID");
    }
    if (prefix.empty()) return Fail("No running allocations found for job " + *id);
    command.assign(args.begin(), args.end());
  } else {
    prefix = args[0];
    command.assign(args.begin() + 1, args.end());
  }
  auto alloc = AllocByPrefix(meta, prefix);
  if (!alloc.ok()) return Fail(alloc.status().message());
  if (task.empty()) {
    const json::value* states = alloc->get_object().if_contains("TaskStates");
    if (states && states->is_object() && states->get_object().size() == 1) {
      task = std::string(states->get_object().begin()->key());
    } else {
      return Fail("Please specify the task.");
    }
  }
  json::array cmd_json;
  for (const std::string& c : command) cmd_json.emplace_back(c);
  const std::string target = meta.WithNamespace(
      "/v1/client/allocation/" + client::PercentEncode(Str(*alloc, "ID")) +
      "/exec?task=" + client::PercentEncode(task) + "&tty=" + (tty_flag ? "true" : "false") +
      "&command=" + client::PercentEncode(json::serialize(cmd_json)));
  std::vector<std::pair<std::string, std::string>> headers;
  if (!meta.token().empty()) headers.emplace_back("X-Nomad-Token", meta.token());
  auto ws = client::WsClient::Connect(meta.host(), meta.port(), target, headers, std::chrono::seconds(30));
  if (!ws.ok()) return Fail("failed to exec into task: " + ws.status().message());
  if (ws->status() != 101) {
    return Fail("failed to exec into task: Unexpected response code: " + std::to_string(ws->status()) +
                " (" + ws->body() + ")");
  }
  ::signal(SIGPIPE, SIG_IGN);
  if (::pipe2(g_winch_pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
    struct sigaction sa {};
    sa.sa_handler = OnWinch;
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGWINCH, &sa, nullptr);
  }
  int exit_code;
  {
    std::unique_ptr<RawTerminal> raw;
    if (tty_flag && stdin_flag && ::isatty(STDIN_FILENO) == 1) raw = std::make_unique<RawTerminal>(STDIN_FILENO);
    std::optional<EscapeFilter> filter;
    if (tty_flag && !escape.empty()) filter.emplace(escape[0]);
    exit_code = RunSession(*ws, stdin_flag, tty_flag, filter ? &*filter : nullptr);
  }  // the terminal is itself again
  if (exit_code == kDisconnected) std::cerr << "\nConnection closed\n";
  return exit_code < 0 ? 1 : exit_code;
}

}  // namespace drover::cli
