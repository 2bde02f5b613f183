// One streaming primitive for every long-lived response: the fs and logs
// streams and the event stream.
//
// A handler validates its request on the Pistache worker and calls
// ChunkedStreams::Start, which sends the status line and headers there
// (Transfer-Encoding: chunked). From then on, only the streams' own thread
// writes to that connection. It asks the stream's producer for body bytes
// and writes each answer as one HTTP chunk through a weak_ptr<Tcp::Peer>.
//
// Backpressure: at most kMaxInFlightBytes of a stream are handed to Pistache
// and not yet written. Past that, the producer is not asked again until a
// write completes, so a slow reader never makes the agent buffer a whole
// file or journal.
//
// Waiting: a producer with nothing to send says kWait. It either arms a
// wake-up (e.g. a store watch) or is polled again after `poll_every`.
//
// Liveness: every `heartbeat_every`, a stream that sent nothing since the
// last tick sends its heartbeat (Nomad's "{}"), and a stream whose client
// went away is closed. A disconnect may leave writes that never complete,
// so the tick is what notices it.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "api/http_util.h"
#include "common/status.h"

namespace drover::api {

// What a producer has next.
struct StreamStep {
  enum class Kind { kData, kWait, kEnd };
  Kind kind = Kind::kEnd;
  std::string bytes;  // kData: body bytes, not chunk-framed; empty is skipped

  static StreamStep Data(std::string bytes) { return {Kind::kData, std::move(bytes)}; }
  static StreamStep Wait() { return {Kind::kWait, {}}; }
  static StreamStep End() { return {Kind::kEnd, {}}; }
};

class StreamProducer {
 public:
  virtual ~StreamProducer() = default;

  // About `max_bytes` of body at most (a producer may exceed it to keep a
  // unit whole, e.g. one journal index). Runs on the streams' thread only.
  // An error ends the stream; the headers are gone by then, so it is logged.
  virtual Result<StreamStep> Next(std::size_t max_bytes) = 0;

  // After Next returned kWait: arranges for `wake` to be called, from any
  // thread and at most once, when more may be there. Returns false to be
  // polled instead.
  virtual bool Arm(std::function<void()> wake) { return false; }

  // The stream ended or was woken: undoes an Arm that has not fired.
  virtual void Disarm() {}
};

struct StreamOptions {
  bool json = true;  // Content-Type application/json, else text/plain
  std::string heartbeat;  // sent when idle for a tick; "" sends nothing
  std::chrono::milliseconds heartbeat_every{1000};
  std::chrono::milliseconds poll_every{200};
};

class ChunkedStreams {
 public:
  static constexpr std::size_t kMaxInFlightBytes = 1 << 20;
  static constexpr std::size_t kStepBytes = 64 << 10;

  ChunkedStreams();
  ~ChunkedStreams();  // Shutdown()
  ChunkedStreams(const ChunkedStreams&) = delete;
  ChunkedStreams& operator=(const ChunkedStreams&) = delete;

  // Sends the status line and headers through `writer`, on the calling
  // (worker) thread, and hands the body to the streams' thread. After
  // Shutdown, answers nothing and returns Unavailable.
  Status Start(Http::ResponseWriter& writer, std::unique_ptr<StreamProducer> producer,
               StreamOptions options);

  // Ends every open stream with the terminating chunk and stops the thread.
  // Call before Http::Endpoint::shutdown(), which would leave the peers
  // dangling.
  void Shutdown();

  // The number of open streams (for the agent's metrics).
  std::size_t open() const;

 private:
  class Hub;
  std::shared_ptr<Hub> hub_;
};

}  // namespace drover::api
