// `alloc exec` sessions: Nomad's exec protocol on a WebSocket, relayed to
// the helper process that runs the command, started by Agent::StartExec
// (the exec helper of the lifecycle layer).
//
// Client -> agent (text or binary messages, JSON):
//   {"version":1,"auth_token":"..."}       first, only with ?ws_handshake=true
//   {"stdin":{"data":"<base64>"}}  {"stdin":{"close":true}}
//   {"tty_size":{"height":H,"width":W}}    {} (a heartbeat)
// Agent -> client (text messages, as Nomad's codec writes them):
//   {"stdout":{"data":"<base64>"}}  {"stderr":{"data":"<base64>"}}
//   {"stdout":{"close":true}}  {"stderr":{"close":true}}
//   {"exited":true,"result":{"exit_code":N}}  (exit code 0: "result":{})
// then a close frame (1000). An error is a close frame with Nomad's text:
// code 1011 where Nomad's error is a 500 (or carries no code: "Permission
// denied"), 1008 for any other code.
//
// Threads: the connection's Pistache worker parses the client's frames and
// queues input for the helper; one relay thread (ExecSessions) owns every
// helper channel and pidfd, reads the helper's output and sends it to the
// client. Both directions are bounded: the helper's channel is read only
// while less than 256 KiB of output waits to be written to the client, and
// a client whose input exceeds 1 MiB that the command has not taken yet is
// closed with 1008 (Pistache gives no way to stop reading a connection).
// Pistache closes connections after 6 minutes without input: Nomad's
// clients send a heartbeat every 10 s.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/http_util.h"

namespace drover {
class Agent;
}

namespace drover::api {

class ExecSession;
struct RelayWaker;

// The relay thread and the sessions it serves.
class ExecSessions {
 public:
  ExecSessions();
  ~ExecSessions();
  ExecSessions(const ExecSessions&) = delete;
  ExecSessions& operator=(const ExecSessions&) = delete;

  // Ends every session (close 1001 to the client, the helper told to stop),
  // waits up to 3 s for the helpers to exit (then SIGKILLs them), reaps
  // them and stops the thread. Call before the endpoint shuts down.
  void Shutdown();

  // Serves a session whose helper started. Thread-safe; the caller may hold
  // the session's lock. False if the relay is stopping: the session must
  // end itself.
  bool Add(std::shared_ptr<ExecSession> session);
  void Wake();
  std::shared_ptr<RelayWaker> waker() const { return waker_; }
  std::size_t size() const;

 private:
  void Run();

  mutable std::mutex mu_;
  std::vector<std::shared_ptr<ExecSession>> sessions_;
  bool stopping_ = false;
  std::shared_ptr<RelayWaker> waker_;
  std::thread thread_;
};

// The `command` parameter as Nomad's json.Unmarshal into []string reads it;
// errors in Go's words where they are simple to give.
Result<std::vector<std::string>> ParseExecCommand(const std::string& text);

// Upgrades the request's connection and starts the session on it. The
// request must be a WebSocket upgrade (see exec_routes.cc).
void StartExecSession(Agent& agent, ExecSessions& sessions, const Rest::Request& req,
                      Http::ResponseWriter& writer);

}  // namespace drover::api
