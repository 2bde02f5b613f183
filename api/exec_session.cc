#include "api/exec_session.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <functional>
#include <csignal>
#include <pistache/peer.h>

#include "api/auth.h"
#include "api/routes.h"
#include "api/upgraded.h"
#include "api/websocket.h"
#include "common/exec_channel.h"
#include "common/log.h"
#include "common/text.h"
#include "service/agent.h"

namespace drover::api {

// Wakes the relay thread; shared with write callbacks that may outlive a
// session.
struct RelayWaker {
  RelayWaker() : fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~RelayWaker() {
    if (fd >= 0) ::close(fd);
  }
  void Wake() const {
    const std::uint64_t one = 1;
    (void)!::write(fd, &one, sizeof(one));
  }
  int fd;
};

namespace {

using PeerPtr = std::shared_ptr<Pistache::Tcp::Peer>;

// Output written to the client and not yet sent, above which the helper's
// channel is not read.
constexpr std::size_t kOutputHighWater = 256 << 10;
// Input for the command not yet taken, above which the session ends.
constexpr std::size_t kMaxPendingInput = 1 << 20;
// The largest message a client may send (a stdin frame is a few KiB).
constexpr std::size_t kMaxMessage = 1 << 20;
constexpr auto kShutdownWait = std::chrono::seconds(3);

// The close code for a Status, as Nomad's toWsCode maps its HTTP codes:
// errors Nomad answers with 500 (or with no code, as "Permission denied")
// are 1011, all others 1008.
int CloseCodeFor(const Status& st) {
  if (st.code() == StatusCode::kPermissionDenied) return kWsCloseInternalError;
  return HttpCodeFor(st.code()) >= 500 ? kWsCloseInternalError : kWsClosePolicyViolation;
}

}  // namespace

Result<std::vector<std::string>> ParseExecCommand(const std::string& text) {
  if (text.empty()) return InvalidArgument("unexpected end of JSON input");
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec) return InvalidArgument(ec.message());
  auto kind = [](const boost::json::value& x) -> std::string {
    if (x.is_string()) return "string";
    if (x.is_bool()) return "bool";
    if (x.is_object()) return "object";
    if (x.is_array()) return "array";
    return "number";
  };
  std::vector<std::string> out;
  if (v.is_null()) return out;
  if (!v.is_array()) {
    return InvalidArgument("json: cannot unmarshal " + kind(v) + " into Go value of type []string");
  }
  for (const auto& e : v.as_array()) {
    if (e.is_null()) {
      out.emplace_back();
    } else if (!e.is_string()) {
      return InvalidArgument("json: cannot unmarshal " + kind(e) + " into Go value of type string");
    } else {
      out.emplace_back(e.as_string());
    }
  }
  return out;
}

namespace {

// An integer field of a JSON object, within [lo, hi]; absent or null is 0.
Result<std::int64_t> IntField(const boost::json::object& o, const char* key, std::int64_t lo,
                              std::int64_t hi) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return 0;
  std::int64_t n = 0;
  if (v->is_int64()) {
    n = v->as_int64();
  } else if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(hi)) {
    n = static_cast<std::int64_t>(v->as_uint64());
  } else {
    return InvalidArgument(std::string("invalid ") + key);
  }
  if (n < lo || n > hi) return InvalidArgument(std::string("invalid ") + key);
  return n;
}

}  // namespace

class ExecSession : public UpgradedConnection, public std::enable_shared_from_this<ExecSession> {
 public:
  struct Params {
    std::string alloc_id;
    std::string task;
    std::string command_json;
    std::string tty;
    std::string ws_handshake;
    std::string header_token;
  };

  ExecSession(Agent& agent, ExecSessions& relay, const PeerPtr& peer, Params params)
      : agent_(agent),
        relay_(relay),
        waker_(relay.waker()),
        peer_(peer),
        params_(std::move(params)),
        parser_(kMaxMessage),
        in_flight_(std::make_shared<std::atomic<std::size_t>>(0)) {
    struct stat st {};
    if (::fstat(peer->fd(), &st) == 0) socket_ino_ = st.st_ino;
  }

  // After the 101: waits for the handshake message, or starts.
  void Begin() {
    std::lock_guard lock(mu_);
    if (!params_.ws_handshake.empty()) {
      auto h = GoParseBool(params_.ws_handshake);
      if (!h) {
        SendClose(kWsClosePolicyViolation,
                  "ws_handshake value is not a boolean: strconv.ParseBool: parsing " +
                      GoQuote(params_.ws_handshake) + ": invalid syntax");
        return;
      }
      awaiting_handshake_ = *h;
    }
    if (!awaiting_handshake_) Start(params_.header_token);
  }

  // ---- UpgradedConnection (the connection's worker thread)

  void OnInput(std::string_view bytes) override {
    {
      std::lock_guard lock(mu_);
      if (disconnected_) return;
      std::vector<WsMessage> messages;
      const bool ok = parser_.Feed(bytes, messages);
      for (WsMessage& m : messages) Handle(m);
      if (!ok) SendClose(parser_.error_code(), parser_.error_reason());
    }
    waker_->Wake();
  }

  void OnDisconnect() override {
    {
      std::lock_guard lock(mu_);
      disconnected_ = true;
      want_close_ = true;
    }
    waker_->Wake();
  }

  // ---- The relay thread

  void AddPollFds(std::vector<pollfd>& fds, std::vector<ExecSession*>& owners) {
    std::lock_guard lock(mu_);
    if (peer_.expired()) want_close_ = true;  // closed by Pistache's idle timeout
    // Closing the channel tells the helper to end the command.
    if (want_close_ && helper_.channel.valid()) helper_.channel.Reset();
    if (helper_.channel.valid()) {
      short events = 0;
      if (in_flight_->load() < kOutputHighWater) events |= POLLIN;
      if (to_helper_.size() > to_helper_sent_) events |= POLLOUT;
      // Not polled while the client is behind: a channel at EOF would
      // report POLLHUP on every round.
      if (events != 0) {
        fds.push_back({helper_.channel.get(), events, 0});
        owners.push_back(this);
      }
    }
    if (helper_.pidfd.valid()) {
      fds.push_back({helper_.pidfd.get(), POLLIN, 0});
      owners.push_back(this);
    }
  }

  void OnReady(int fd, short revents) {
    std::lock_guard lock(mu_);
    if (helper_.channel.valid() && fd == helper_.channel.get()) {
      if (revents & POLLOUT) WriteHelper();
      if (revents & (POLLIN | POLLHUP | POLLERR)) ReadHelper();
    } else if (helper_.pidfd.valid() && fd == helper_.pidfd.get()) {
      // Its last frames may still wait in the channel: read on to EOF.
      if (ReapExecHelper(helper_)) helper_.pidfd.Reset();
    }
  }

  bool Finished() {
    std::lock_guard lock(mu_);
    return !helper_.channel.valid() && !helper_.pidfd.valid();
  }

  // The agent stops.
  void Stop() {
    std::lock_guard lock(mu_);
    SendClose(kWsCloseGoingAway, "agent is shutting down");
    want_close_ = true;
  }

  void KillHelper() {
    std::lock_guard lock(mu_);
    if (helper_.pidfd.valid()) {
      ::syscall(SYS_pidfd_send_signal, helper_.pidfd.get(), SIGKILL, nullptr, 0);
    }
  }

  void AdoptHelper(ExecHelper helper) { helper_ = std::move(helper); }

 private:
  // ---- Starting (worker thread, under mu_)

  // Nomad's order: the request's parameters, the allocation, the token and
  // alloc-exec, task and command present, the task, alloc-node-exec, the
  // task's state.
  void Start(const std::string& token) {
    auto command = ParseExecCommand(params_.command_json);
    if (!command.ok()) {
      SendClose(kWsCloseInternalError,
                "failed to marshal command into json: " + command.status().message());
      return;
    }
    bool tty = false;
    if (!params_.tty.empty()) {
      auto t = GoParseBool(params_.tty);
      if (!t) {
        SendClose(kWsCloseInternalError, "tty value is not a boolean: strconv.ParseBool: parsing " +
                                             GoQuote(params_.tty) + ": invalid syntax");
        return;
      }
      tty = *t;
    }
    auto ns = agent_.AllocNamespace(params_.alloc_id);
    if (!ns.ok()) return Fail(ns.status());
    auto who = agent_.acl().Resolve(token);
    if (!who.ok()) {
      SendClose(kWsClosePolicyViolation, who.status().message());
      return;
    }
    if (!who->acl->AllowNamespaceOp(*ns, "alloc-exec")) {
      return Fail(PermissionDenied(kErrPermissionDenied));
    }
    if (params_.task.empty()) return Fail(InvalidArgument("must provide task name"));
    if (command->empty()) return Fail(InvalidArgument("command is not present"));
    const bool node_exec = who->acl->AllowNamespaceOp(*ns, "alloc-node-exec");
    auto helper =
        agent_.StartExec(params_.alloc_id, params_.task, *command, tty, node_exec);
    if (!helper.ok()) return Fail(helper.status());
    helper_ = std::move(helper).value();
    // Added even while the agent stops, so that the helper is reaped; then
    // Shutdown's round of Stop() has missed this session.
    if (!relay_.Add(shared_from_this())) SendClose(kWsCloseGoingAway, "agent is shutting down");
  }

  void Fail(const Status& st) { SendClose(CloseCodeFor(st), st.message()); }

  // Nomad's wsHandshakeMessage.
  void Handshake(const std::string& text) {
    awaiting_handshake_ = false;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(text, ec);
    if (ec || !v.is_object()) {
      SendClose(kWsClosePolicyViolation, ec ? ec.message() : "handshake is not a JSON object");
      return;
    }
    const auto& o = v.as_object();
    auto version = IntField(o, "version", INT32_MIN, INT32_MAX);
    std::string token;
    if (const auto* t = o.if_contains("auth_token"); t != nullptr && t->is_string()) {
      token = std::string(t->as_string());
    }
    if (!params_.header_token.empty() && params_.header_token != token) {
      SendClose(kWsClosePolicyViolation, "handshake auth token mismatched auth header token");
      return;
    }
    if (!version.ok() || *version != 1) {
      SendClose(kWsClosePolicyViolation,
                "unexpected handshake value: " + (version.ok() ? std::to_string(*version) : "?"));
      return;
    }
    Start(token.empty() ? params_.header_token : token);
  }

  // ---- Client frames (worker thread, under mu_)

  void Handle(WsMessage& m) {
    switch (m.kind) {
      case WsMessage::Kind::kClose: {
        if (close_sent_) {
          ShutdownSocket(SHUT_RDWR);  // the closing handshake is complete
          return;
        }
        int code = kWsCloseNormal;
        if (m.payload.size() >= 2) {
          code = static_cast<std::uint8_t>(m.payload[0]) << 8 | static_cast<std::uint8_t>(m.payload[1]);
        }
        SendClose(code, "");
        return;
      }
      case WsMessage::Kind::kPing:
        if (!close_sent_) SendWs(WsPongFrame(m.payload));
        return;
      case WsMessage::Kind::kPong:
        return;
      case WsMessage::Kind::kText:
      case WsMessage::Kind::kBinary:
        if (close_sent_) return;
        if (awaiting_handshake_) {
          Handshake(m.payload);
        } else {
          Input(m.payload);
        }
        return;
    }
  }

  // One ExecStreamingInput.
  void Input(const std::string& text) {
    if (!helper_.channel.valid()) return;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(text, ec);
    if (ec || !v.is_object()) {
      SendClose(kWsCloseInternalError, ec ? ec.message()
                                          : "json: cannot unmarshal non-object into Go value "
                                            "of type drivers.ExecTaskStreamingRequestMsg");
      return;
    }
    const auto& o = v.as_object();
    if (const auto* stdin_op = o.if_contains("stdin"); stdin_op && stdin_op->is_object()) {
      const auto& s = stdin_op->as_object();
      if (const auto* data = s.if_contains("data"); data && data->is_string()) {
        auto bytes = Base64Decode(data->as_string());
        if (!bytes) {
          SendClose(kWsCloseInternalError, "illegal base64 data in stdin");
          return;
        }
        for (std::size_t i = 0; i < bytes->size(); i += kMaxExecPayload) {
          AppendExecFrame(to_helper_, ExecFrameType::kStdin,
                          std::string_view(*bytes).substr(i, kMaxExecPayload));
        }
      }
      if (const auto* close = s.if_contains("close"); close && close->is_bool() && close->as_bool()) {
        AppendExecFrame(to_helper_, ExecFrameType::kStdinClose);
      }
    }
    if (const auto* size = o.if_contains("tty_size"); size && size->is_object()) {
      auto h = IntField(size->as_object(), "height", 0, 65535);
      auto w = IntField(size->as_object(), "width", 0, 65535);
      if (!h.ok() || !w.ok()) {
        SendClose(kWsCloseInternalError, "failed to resize tty: invalid size");
        return;
      }
      AppendResizeFrame(to_helper_, static_cast<std::uint16_t>(*h), static_cast<std::uint16_t>(*w));
    }
    if (to_helper_.size() - to_helper_sent_ > kMaxPendingInput) {
      SendClose(kWsClosePolicyViolation, "exec input exceeds 1 MiB that the command has not read");
    }
  }

  // ---- Helper frames (relay thread, under mu_)

  void WriteHelper() {
    while (to_helper_sent_ < to_helper_.size()) {
      ssize_t n = ::send(helper_.channel.get(), to_helper_.data() + to_helper_sent_,
                         to_helper_.size() - to_helper_sent_, MSG_NOSIGNAL);
      if (n > 0) {
        to_helper_sent_ += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      break;  // the helper is gone: its EOF ends the session
    }
    if (to_helper_sent_ == to_helper_.size()) {
      to_helper_.clear();
      to_helper_sent_ = 0;
    }
  }

  void ReadHelper() {
    char buf[64 << 10];
    while (helper_.channel.valid() && in_flight_->load() < kOutputHighWater) {
      ssize_t n = ::read(helper_.channel.get(), buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      if (n <= 0) {
        helper_.channel.Reset();
        if (!close_sent_) SendClose(kWsCloseInternalError, "exec helper ended without a result");
        return;
      }
      reader_.Append(buf, static_cast<std::size_t>(n));
      while (auto frame = reader_.Next()) HelperFrame(*frame);
      if (!reader_.error().empty()) {
        SendClose(kWsCloseInternalError, "exec helper: " + reader_.error());
        helper_.channel.Reset();
        return;
      }
    }
  }

  void HelperFrame(const ExecFrame& f) {
    auto io = [&](const char* stream, bool close) {
      std::string json = std::string("{\"") + stream + "\":{";
      json += close ? "\"close\":true}}" : "\"data\":\"" + Base64Encode(f.payload) + "\"}}";
      SendWs(WsTextFrame(json));
    };
    switch (f.type) {
      case ExecFrameType::kStdout: return io("stdout", false);
      case ExecFrameType::kStderr: return io("stderr", false);
      case ExecFrameType::kStdoutClose: return io("stdout", true);
      case ExecFrameType::kStderrClose: return io("stderr", true);
      case ExecFrameType::kExited: {
        // Nomad's codec omits a zero exit code.
        std::string json = "{\"exited\":true,\"result\":{";
        if (f.payload != "0") json += "\"exit_code\":" + f.payload;
        SendWs(WsTextFrame(json + "}}"));
        SendClose(kWsCloseNormal, "");
        return;
      }
      case ExecFrameType::kFailed: {
        const std::size_t space = f.payload.find(' ');
        const std::string code = f.payload.substr(0, space);
        const std::string text = space == std::string::npos ? "" : f.payload.substr(space + 1);
        SendClose(code == "500" ? kWsCloseInternalError : kWsClosePolicyViolation, text);
        return;
      }
      default:
        return;  // kStarted; the agent's own types never come back
    }
  }

  // ---- Writing to the client (either thread, under mu_)

  void SendWs(std::string frame, std::function<void()> after = nullptr) {
    if (close_sent_ || disconnected_) return;
    PeerPtr peer = peer_.lock();
    if (!peer) {
      want_close_ = true;
      return;
    }
    const std::size_t n = frame.size();
    in_flight_->fetch_add(n);
    auto settle = [flight = in_flight_, waker = waker_, n, after = std::move(after)] {
      flight->fetch_sub(n);
      waker->Wake();
      if (after) after();
    };
    peer->send(Pistache::RawBuffer(std::move(frame), n))
        .then([settle](ssize_t) { settle(); }, [settle](std::exception_ptr) { settle(); });
  }

  // Sends a close frame (once), shuts the write side once it is written and
  // ends the helper.
  void SendClose(int code, const std::string& reason) {
    want_close_ = true;
    if (close_sent_ || disconnected_) return;
    // Runs once the frame is written (ShutdownSocket needs no lock); the
    // session may be gone by then.
    std::weak_ptr<ExecSession> self = weak_from_this();
    SendWs(WsCloseFrame(code, reason), [self] {
      if (auto s = self.lock()) s->ShutdownSocket(SHUT_WR);
    });
    close_sent_ = true;
  }

  // Shuts the connection's socket, if its descriptor still is that socket
  // (Pistache may have closed it and the number been reused). Reads only
  // what never changes after construction: any thread, no lock.
  void ShutdownSocket(int how) {
    PeerPtr peer = peer_.lock();
    if (!peer) return;
    struct stat st {};
    if (::fstat(peer->fd(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == socket_ino_) {
      ::shutdown(peer->fd(), how);
    }
  }

  Agent& agent_;
  ExecSessions& relay_;
  std::shared_ptr<RelayWaker> waker_;
  std::weak_ptr<Pistache::Tcp::Peer> peer_;
  ino_t socket_ino_ = 0;
  Params params_;

  std::mutex mu_;
  WsFrameParser parser_;
  bool awaiting_handshake_ = false;
  bool close_sent_ = false;
  bool disconnected_ = false;
  bool want_close_ = false;  // the relay closes the helper's channel
  ExecHelper helper_;
  std::string to_helper_;  // frames for the helper
  std::size_t to_helper_sent_ = 0;
  ExecFrameReader reader_;
  std::shared_ptr<std::atomic<std::size_t>> in_flight_;  // bytes handed to Pistache, not yet written
};

// ---- ExecSessions ----------------------------------------------------------

ExecSessions::ExecSessions() : waker_(std::make_shared<RelayWaker>()) {
  thread_ = std::thread([this] { Run(); });
}

ExecSessions::~ExecSessions() { Shutdown(); }

bool ExecSessions::Add(std::shared_ptr<ExecSession> session) {
  bool stopping;
  {
    std::lock_guard lock(mu_);
    sessions_.push_back(std::move(session));
    stopping = stopping_;
  }
  Wake();
  return !stopping;
}

void ExecSessions::Wake() { waker_->Wake(); }

std::size_t ExecSessions::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

void ExecSessions::Shutdown() {
  std::vector<std::shared_ptr<ExecSession>> sessions;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    sessions = sessions_;
  }
  for (auto& s : sessions) s->Stop();
  Wake();
  const auto deadline = std::chrono::steady_clock::now() + kShutdownWait;
  while (size() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (size() > 0) {
    log::Warn("exec: helpers did not exit in time; killing them");
    for (auto& s : sessions) s->KillHelper();
    Wake();
  }
  if (thread_.joinable()) thread_.join();
}

void ExecSessions::Run() {
  for (;;) {
    std::vector<std::shared_ptr<ExecSession>> snapshot;
    {
      std::lock_guard lock(mu_);
      if (stopping_ && sessions_.empty()) return;
      snapshot = sessions_;
    }
    std::vector<pollfd> fds = {{waker_->fd, POLLIN, 0}};
    std::vector<ExecSession*> owners = {nullptr};
    for (auto& s : snapshot) s->AddPollFds(fds, owners);
    // The timeout notices connections Pistache closed without telling.
    int ready = ::poll(fds.data(), fds.size(), 1000);
    if (ready < 0 && errno != EINTR) {
      log::Error(std::string("exec relay: poll: ") + std::strerror(errno));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (fds[0].revents != 0) {
      std::uint64_t count;
      (void)!::read(waker_->fd, &count, sizeof(count));
    }
    for (std::size_t i = 1; i < fds.size() && ready > 0; ++i) {
      if (fds[i].revents != 0) owners[i]->OnReady(fds[i].fd, fds[i].revents);
    }
    // Sessions lock themselves before this lock (Start adds under its own),
    // so Finished() is asked without holding mu_.
    std::vector<const ExecSession*> done;
    for (auto& s : snapshot) {
      if (s->Finished()) done.push_back(s.get());
    }
    if (done.empty()) continue;
    std::lock_guard lock(mu_);
    std::erase_if(sessions_, [&](const std::shared_ptr<ExecSession>& s) {
      return std::find(done.begin(), done.end(), s.get()) != done.end();
    });
  }
}

// ---- Starting a session ------------------------------------------------------

void StartExecSession(Agent& agent, ExecSessions& sessions, const Rest::Request& req,
                      Http::ResponseWriter& writer) {
  PeerPtr peer = writer.getPeer();
  if (!peer) return;
  ExecSession::Params params{PathParam(req, ":alloc_id"),
                             QueryParam(req, "task").value_or(""),
                             QueryParam(req, "command").value_or(""),
                             QueryParam(req, "tty").value_or(""),
                             QueryParam(req, "ws_handshake").value_or(""),
                             RequestToken(req)};
  const std::string key = req.headers().tryGetRaw("Sec-WebSocket-Key")->value();
  std::string head =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      WebSocketAccept(key) + "\r\n\r\n";
  auto session = std::make_shared<ExecSession>(agent, sessions, peer, std::move(params));
  const std::size_t n = head.size();
  peer->send(Pistache::RawBuffer(std::move(head), n));
  // From here on the edge hands this connection's bytes to the session;
  // Pistache's idle rule (keepalive timeout) applies to it.
  peer->putData(kUpgradedPeerKey, session);
  peer->setIdle(true);
  session->Begin();
}

}  // namespace drover::api
