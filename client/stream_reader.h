// A GET reader of a chunked streaming response (the event stream, fs
// follows) on a raw socket to 127.0.0.1: de-chunks the body and splits it
// into lines as they arrive. For tests that read a stream in steps; the CLI
// uses HttpClient::Stream.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace drover::client {

class StreamReader {
 public:
  // `extra_headers`: complete header lines ("X-Nomad-Token: ...\r\n").
  StreamReader(std::uint16_t port, const std::string& target,
               const std::string& extra_headers = "");
  ~StreamReader();
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;

  bool connected() const { return connected_; }
  int status() const { return status_; }
  const std::vector<std::string>& lines() const { return lines_; }

  // Reads until `done` holds for the lines so far, the stream ends, or
  // `timeout` passes. Returns whether `done` held.
  bool ReadUntil(const std::function<bool(const std::vector<std::string>&)>& done,
                 std::chrono::milliseconds timeout);

 private:
  void Parse();

  int fd_ = -1;
  bool connected_ = false;
  bool ended_ = false;
  int status_ = 0;
  std::string raw_, body_;
  std::vector<std::string> lines_;
};

}  // namespace drover::client
