// The escape sequences of `alloc exec -t`, as OpenSSH's and Nomad's: the
// escape character (default '~') is special only at the start of a line.
//   ~.   closes the session
//   ~~   sends one ~
//   ~x   sends both characters
// A ~ left pending at the end of the input is sent as it is.
#pragma once

#include <string>
#include <string_view>

namespace drover::cli {

class EscapeFilter {
 public:
  explicit EscapeFilter(char escape) : escape_(escape) {}

  struct Result {
    std::string forward;      // the bytes to send to the remote side
    bool disconnect = false;  // ~. was typed: the rest of the chunk is dropped
  };
  Result Feed(std::string_view input);
  // At the end of the input: what is still held back (a lone ~).
  std::string Finish();

 private:
  enum class State { kLineStart, kMidLine, kAfterEscape };
  char escape_;
  State state_ = State::kLineStart;
};

}  // namespace drover::cli
