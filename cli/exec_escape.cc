#include "cli/exec_escape.h"

namespace drover::cli {

namespace {
bool IsNewline(char c) { return c == '\n' || c == '\r'; }
}  // namespace

EscapeFilter::Result EscapeFilter::Feed(std::string_view input) {
  Result r;
  r.forward.reserve(input.size() + 1);
  for (char c : input) {
    switch (state_) {
      case State::kAfterEscape:
        if (c == '.') {
          r.disconnect = true;
          state_ = State::kMidLine;
          return r;
        }
        if (c != escape_) r.forward += escape_;
        r.forward += c;
        state_ = IsNewline(c) ? State::kLineStart : State::kMidLine;
        break;
      case State::kLineStart:
        if (c == escape_) {
          state_ = State::kAfterEscape;
          break;
        }
        [[fallthrough]];
      case State::kMidLine:
        r.forward += c;
        state_ = IsNewline(c) ? State::kLineStart : State::kMidLine;
        break;
    }
  }
  return r;
}

std::string EscapeFilter::Finish() {
  if (state_ != State::kAfterEscape) return "";
  state_ = State::kMidLine;
  return std::string(1, escape_);
}

}  // namespace drover::cli
