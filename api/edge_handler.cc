#include "api/edge_handler.h"

#include <sys/socket.h>

#include <cstring>
#include <list>
#include <mutex>
#include <pistache/http.h>
#include <pistache/peer.h>
#include <pistache/router.h>
#include <string>
#include <unordered_map>

#include "api/upgraded.h"

namespace drover::api {

namespace {

using Pistache::Http::Private::RequestLineStep;
using PeerPtr = std::shared_ptr<Pistache::Tcp::Peer>;

// Pistache lets only its Transport bind a handler to a transport
// (Tcp::Handler::transport_ and associateTransport are private). The inner
// router handler must answer through the transport our handler was bound
// to. An explicit instantiation may name a private member
// ([temp.spec.general]/6); the tag's friend function carries it out.
template <auto Member, typename Tag>
struct PrivateMember {
  friend auto Get(Tag) { return Member; }
};
struct TransportSlot {
  friend auto Get(TransportSlot);
};
template struct PrivateMember<&Pistache::Tcp::Handler::transport_, TransportSlot>;

constexpr const char* kPeerStateKey = "drover.edge";
// Input read after a rejection (once its answer is written) before the read
// side is shut as well. Shutting it earlier would make the close reset the
// connection and could lose the answer.
constexpr std::size_t kMaxDiscardBytes = 1 << 20;
// A buffer kept across requests is trimmed back above this capacity.
constexpr std::size_t kKeepBufferBytes = 64 << 10;

const char* ReasonPhrase(int code) {
  switch (code) {
    case 400: return "Bad Request";
    case 411: return "Length Required";
    case 413: return "Request Entity Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
  }
}

std::string ErrorResponse(int code, std::string_view text) {
  std::string body(text);
  body += '\n';
  std::string out = "HTTP/1.1 " + std::to_string(code) + " " + ReasonPhrase(code) +
                    "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  return out + body;
}

// A connection's remote address, taken when it was accepted.
struct RemoteId {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

RemoteId RemoteOf(int fd) {
  RemoteId id;
  id.len = sizeof(id.addr);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&id.addr), &id.len) != 0) id.len = 0;
  return id;
}

// Shuts `how` on the peer's socket after checking that its fd still is the
// same connection: Pistache closes fds on its timeout path without telling
// the handler, and the number may have been reused since.
void ShutdownPeer(const PeerPtr& peer, const RemoteId& remote, int how) {
  const RemoteId now = RemoteOf(peer->fd());
  if (remote.len == 0 || now.len != remote.len ||
      std::memcmp(&now.addr, &remote.addr, remote.len) != 0) {
    return;
  }
  ::shutdown(peer->fd(), how);
}

// Every connection of the endpoint, oldest first, shared by the handler's
// clones on all worker threads.
class ConnectionCensus {
 public:
  explicit ConnectionCensus(std::size_t max_connections) : max_(max_connections) {}

  // Counts a new connection. Returns false when the endpoint is full and no
  // older connection could be closed to make room.
  bool Admit(const PeerPtr& peer, const RemoteId& remote) {
    std::lock_guard lock(mu_);
    if (order_.size() >= max_) Prune();
    if (order_.size() >= max_ && !EvictOldestFresh()) return false;
    order_.push_back(Entry{peer, peer->getID(), remote, false});
    index_[peer->getID()] = std::prev(order_.end());
    return true;
  }

  // The connection finished a request: no longer a candidate for eviction.
  void MarkServed(const PeerPtr& peer) {
    std::lock_guard lock(mu_);
    auto it = index_.find(peer->getID());
    if (it != index_.end()) it->second->served = true;
  }

  void Remove(const PeerPtr& peer) {
    std::lock_guard lock(mu_);
    auto it = index_.find(peer->getID());
    if (it == index_.end()) return;
    order_.erase(it->second);
    index_.erase(it);
  }

 private:
  struct Entry {
    std::weak_ptr<Pistache::Tcp::Peer> peer;
    std::size_t id;
    RemoteId remote;
    bool served;
  };

  // Drops connections Pistache closed without telling the handler.
  void Prune() {
    for (auto it = order_.begin(); it != order_.end();) {
      if (it->peer.expired()) {
        index_.erase(it->id);
        it = order_.erase(it);
      } else {
        ++it;
      }
    }
  }

  bool EvictOldestFresh() {
    for (auto it = order_.begin(); it != order_.end(); ++it) {
      if (it->served) continue;
      PeerPtr victim = it->peer.lock();
      const RemoteId remote = it->remote;
      index_.erase(it->id);
      order_.erase(it);
      if (!victim) continue;
      // Its worker reads EOF, tells the handler and closes it.
      ShutdownPeer(victim, remote, SHUT_RDWR);
      return true;
    }
    return false;
  }

  std::mutex mu_;
  const std::size_t max_;
  std::list<Entry> order_;
  std::unordered_map<std::size_t, std::list<Entry>::iterator> index_;
};

struct PeerState {
  PeerState(const EdgeLimits& limits, const RemoteId& id) : framer(limits), remote(id) {}
  HttpRequestFramer framer;
  RemoteId remote;
  std::string pending;       // bytes of the unfinished request
  bool rejected = false;
  bool answered = false;  // the rejection's response is written
  std::size_t discarded = 0;
};

// The connection's upgraded handler (api/upgraded.h), once it left HTTP.
std::shared_ptr<UpgradedConnection> Upgraded(const PeerPtr& peer) {
  return std::static_pointer_cast<UpgradedConnection>(peer->tryGetData(kUpgradedPeerKey));
}

class EdgeHandler : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(EdgeHandler)

  EdgeHandler(std::shared_ptr<Pistache::Rest::Private::RouterHandler> inner,
              EdgeOptions options)
      : inner_(std::move(inner)),
        options_(options),
        census_(std::make_shared<ConnectionCensus>(options.max_connections)) {}

  // Pistache clones the handler for each worker thread; each clone gets
  // its own inner handler and shares the census.
  EdgeHandler(const EdgeHandler& other)
      : Pistache::Http::Handler(other),
        inner_(std::static_pointer_cast<Pistache::Rest::Private::RouterHandler>(
            other.inner_->clone())),
        options_(other.options_),
        census_(other.census_) {}

  void onRequest(const Pistache::Http::Request&, Pistache::Http::ResponseWriter) override {
    // Never called: onInput hands requests to the inner handler.
  }

 private:
  Pistache::Tcp::Handler& Inner() {
    // Settings Endpoint gave this handler apply to the inner one.
    inner_->setMaxRequestSize(getMaxRequestSize());
    inner_->setMaxResponseSize(getMaxResponseSize());
    static_cast<Pistache::Tcp::Handler&>(*inner_).*Get(TransportSlot{}) = transport();
    return *inner_;
  }

  void onConnection(const PeerPtr& peer) override {
    Inner().onConnection(peer);
    const RemoteId remote = RemoteOf(peer->fd());
    peer->putData(kPeerStateKey, std::make_shared<PeerState>(options_.limits, remote));
    if (!census_->Admit(peer, remote)) Reject(peer, 503, "too many connections");
  }

  void onDisconnection(const PeerPtr& peer) override {
    if (auto up = Upgraded(peer)) up->OnDisconnect();
    census_->Remove(peer);
    Inner().onDisconnection(peer);
  }

  void onInput(const char* buffer, std::size_t len, const PeerPtr& peer) override {
    auto state = std::static_pointer_cast<PeerState>(peer->tryGetData(kPeerStateKey));
    if (!state) return;
    if (auto up = Upgraded(peer)) {
      // Pistache's idle timeout counts from its parser's last reset.
      Pistache::Http::Handler::getParser(peer)->reset();
      up->OnInput(std::string_view(buffer, len));
      return;
    }
    if (state->rejected) {
      state->discarded += len;
      if (state->answered && state->discarded > kMaxDiscardBytes)
        ShutdownPeer(peer, state->remote, SHUT_RDWR);
      return;
    }
    std::string_view in(buffer, len);
    while (!in.empty()) {
      EdgeVerdict v = state->framer.Feed(in);
      switch (v.action) {
        case EdgeVerdict::Action::kNeedMore:
          state->pending.append(in);
          in = {};
          if (v.send_continue) {
            static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
            peer->send(Pistache::RawBuffer(kContinue.data(), kContinue.size()));
          }
          break;
        case EdgeVerdict::Action::kComplete:
          if (state->pending.empty()) {
            if (!Forward(in.substr(0, v.consumed), v, peer)) return;
          } else {
            state->pending.append(in.substr(0, v.consumed));
            std::string request;
            request.swap(state->pending);
            if (!Forward(request, v, peer)) return;
            if (request.capacity() <= kKeepBufferBytes) {
              request.clear();
              state->pending.swap(request);
            }
          }
          in.remove_prefix(v.consumed);
          // The request upgraded the connection: the rest is not HTTP.
          if (auto up = Upgraded(peer)) {
            if (!in.empty()) up->OnInput(in);
            return;
          }
          break;
        case EdgeVerdict::Action::kReject:
          std::string().swap(state->pending);
          Reject(peer, v.code, v.text);
          return;
      }
    }
  }

  // Hands one whole request to Pistache. Returns false when the connection
  // was closed instead.
  bool Forward(std::string_view request, const EdgeVerdict& v, const PeerPtr& peer) {
    census_->MarkServed(peer);
    if (v.implied_keep_alive && v.head_size >= 2 && v.head_size <= request.size()) {
      // Pistache answers a request without a Connection field with
      // "Connection: Close" (while keeping the socket open), so HTTP/1.1
      // clients that rely on the default (Go's net/http) reconnect for
      // every call. Name the default for it.
      static constexpr std::string_view kKeepAlive = "Connection: keep-alive\r\n";
      const std::size_t at = v.head_size - 2;  // before the empty line
      std::string patched;
      patched.reserve(request.size() + kKeepAlive.size());
      patched.append(request.substr(0, at)).append(kKeepAlive).append(request.substr(at));
      Inner().onInput(patched.data(), patched.size(), peer);
    } else {
      Inner().onInput(request.data(), request.size(), peer);
    }
    // Pistache resets its parser after each request it answers. If it still
    // waits for bytes, it read the request differently from the framer:
    // never let such leftovers run into the next request.
    auto parser = Pistache::Http::Handler::getParser(peer);
    if (parser->step()->id() != RequestLineStep::Id) {
      parser->reset();
      Reject(peer, 400, "malformed request");
      return false;
    }
    return true;
  }

  void Reject(const PeerPtr& peer, int code, std::string_view text) {
    auto state = std::static_pointer_cast<PeerState>(peer->tryGetData(kPeerStateKey));
    if (!state) return;
    state->rejected = true;
    // Runs on this worker thread once the answer is written (or failed).
    std::weak_ptr<Pistache::Tcp::Peer> weak = peer;
    auto shut_write = [weak] {
      PeerPtr p = weak.lock();
      if (!p) return;
      auto st = std::static_pointer_cast<PeerState>(p->tryGetData(kPeerStateKey));
      if (!st) return;
      st->answered = true;
      ShutdownPeer(p, st->remote, st->discarded > kMaxDiscardBytes ? SHUT_RDWR : SHUT_WR);
    };
    std::string response = ErrorResponse(code, text);
    const std::size_t size = response.size();
    peer->send(Pistache::RawBuffer(std::move(response), size))
        .then([shut_write](ssize_t) { shut_write(); },
              [shut_write](std::exception_ptr) { shut_write(); });
  }

  std::shared_ptr<Pistache::Rest::Private::RouterHandler> inner_;
  EdgeOptions options_;
  std::shared_ptr<ConnectionCensus> census_;
};

}  // namespace

std::size_t EdgeMaxRequestBytes(const EdgeLimits& limits) {
  return 2 * limits.max_head_bytes + static_cast<std::size_t>(limits.max_body_bytes);
}

std::shared_ptr<Pistache::Http::Handler> MakeEdgeHandler(
    std::shared_ptr<Pistache::Rest::Private::RouterHandler> inner, EdgeOptions options) {
  return std::make_shared<EdgeHandler>(std::move(inner), options);
}

}  // namespace drover::api
