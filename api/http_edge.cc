#include "api/http_edge.h"

#include <algorithm>

namespace drover::api {

namespace {

using Action = EdgeVerdict::Action;

constexpr std::size_t kMaxMethod = 32;
constexpr std::size_t kMaxNameKept = 33;     // longer names match nothing we track
constexpr std::size_t kMaxValueKept = 64;
constexpr std::size_t kMaxLengthDigits = 19;  // < 10^19 fits in 64 bits
constexpr std::size_t kMaxChunkDigits = 16;

bool IsTchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
    case '+': case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

// VCHAR / obs-text / SP / HTAB: what a field value may hold.
bool IsValueChar(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

int HexValue(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') return (c | 0x20) - 'a' + 10;
  return -1;
}

char Lower(unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c | 0x20 : c); }

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsLower(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (Lower(static_cast<unsigned char>(s[i])) != lower[i]) return false;
  }
  return true;
}

}  // namespace

EdgeVerdict HttpRequestFramer::Reject(int code, std::string_view text) {
  state_ = State::kRejected;
  EdgeVerdict v;
  v.action = Action::kReject;
  v.code = code;
  v.text = text;
  return v;
}

EdgeVerdict HttpRequestFramer::Complete(std::size_t consumed) {
  EdgeVerdict v;
  v.action = Action::kComplete;
  v.consumed = consumed;
  v.head_size = head_size_;
  v.implied_keep_alive = version_ == "HTTP/1.1" && !has_connection_;
  ResetRequest();
  return v;
}

void HttpRequestFramer::ResetRequest() {
  State rejected = state_ == State::kRejected ? State::kRejected : State::kMethod;
  *this = HttpRequestFramer(limits_);
  state_ = rejected;
}

EdgeVerdict HttpRequestFramer::EndField() {
  if (!keep_value_) return {};
  std::string_view value = TrimOws(value_);
  if (name_ == "content-length") {
    if (has_length_) return Reject(400, "duplicate Content-Length");
    if (value_too_long_ || value.empty() || value.size() > kMaxLengthDigits)
      return Reject(400, "invalid Content-Length");
    std::uint64_t n = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return Reject(400, "invalid Content-Length");
      n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    has_length_ = true;
    content_length_ = n;
  } else if (name_ == "transfer-encoding") {
    if (has_transfer_encoding_) return Reject(400, "duplicate Transfer-Encoding");
    has_transfer_encoding_ = true;
    if (value_too_long_ || !EqualsLower(value, "chunked"))
      return Reject(501, "unsupported Transfer-Encoding");
    chunked_ = true;
  } else if (name_ == "expect") {
    expect_continue_ = !value_too_long_ && EqualsLower(value, "100-continue");
  }
  return {};
}

EdgeVerdict HttpRequestFramer::EndHead(std::size_t consumed) {
  if (has_length_ && has_transfer_encoding_)
    return Reject(400, "Content-Length and Transfer-Encoding together");
  token_len_ = 0;
  head_size_ = head_bytes_;
  if (chunked_) {
    state_ = State::kChunkSize;
    return {};
  }
  if (has_length_ && content_length_ > limits_.max_body_bytes)
    return Reject(413, kBodyTooLargeText);
  if (has_length_ && content_length_ > 0) {
    body_left_ = content_length_;
    state_ = State::kBody;
    return {};
  }
  return Complete(consumed);
}

EdgeVerdict HttpRequestFramer::Feed(std::string_view data) {
  if (state_ == State::kRejected) return Reject(400, "connection rejected");
  const std::size_t n = data.size();
  bool continue_due = false;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(data[i]);

    if (state_ < State::kBody) {
      if (++head_bytes_ > limits_.max_head_bytes) {
        return state_ <= State::kRequestLineLf ? Reject(414, "request line too long")
                                               : Reject(431, "request header fields too large");
      }
    }

    if (state_ >= State::kChunkSize && state_ <= State::kChunkDataLf) {
      const std::uint64_t take =
          state_ == State::kChunkData ? std::min<std::uint64_t>(body_left_, n - i) : 1;
      chunk_wire_ += take;
      if (chunk_wire_ > limits_.max_body_bytes + limits_.max_head_bytes)
        return Reject(413, kBodyTooLargeText);
    }

    switch (state_) {
      case State::kMethod:
        if (c == ' ' && token_len_ > 0) {
          state_ = State::kTarget;
          token_len_ = 0;
        } else if (!IsTchar(c) || ++token_len_ > kMaxMethod) {
          return Reject(400, "malformed request line");
        }
        break;

      case State::kTarget:
        if (c == ' ' && token_len_ > 0) {
          state_ = State::kVersion;
          token_len_ = 0;
        } else if (c <= 0x20 || c >= 0x7f) {
          return Reject(400, "malformed request target");
        } else {
          ++token_len_;
        }
        break;

      case State::kVersion:
        if (c == '\r') {
          if (version_ == "HTTP/1.1" || version_ == "HTTP/1.0") {
            state_ = State::kRequestLineLf;
          } else if (version_.size() == 8 && version_.compare(0, 5, "HTTP/") == 0 &&
                     version_[5] >= '0' && version_[5] <= '9' && version_[6] == '.' &&
                     version_[7] >= '0' && version_[7] <= '9') {
            return Reject(505, "HTTP version not supported");
          } else {
            return Reject(400, "malformed request line");
          }
        } else if (version_.size() >= 8 || c <= 0x20 || c >= 0x7f) {
          return Reject(400, "malformed request line");
        } else {
          version_.push_back(static_cast<char>(c));
        }
        break;

      case State::kRequestLineLf:
      case State::kFieldLf:
        if (c != '\n') return Reject(400, "malformed line ending");
        if (state_ == State::kFieldLf) {
          if (EdgeVerdict v = EndField(); v.action == Action::kReject) return v;
        }
        state_ = State::kFieldStart;
        break;

      case State::kFieldStart:
        if (c == '\r') {
          state_ = State::kHeadEndLf;
        } else if (IsTchar(c)) {
          state_ = State::kFieldName;
          name_.clear();
          name_.push_back(Lower(c));
        } else {
          // Also a leading SP/HTAB: obs-fold, which RFC 9112 lets a server reject.
          return Reject(400, "malformed header field");
        }
        break;

      case State::kFieldName:
        if (c == ':') {
          state_ = State::kFieldValue;
          keep_value_ = name_ == "content-length" || name_ == "transfer-encoding" ||
                        name_ == "expect";
          // Only its presence matters (keep-alive implied or not).
          if (name_ == "connection") has_connection_ = true;
          value_.clear();
          value_too_long_ = false;
        } else if (IsTchar(c)) {
          if (name_.size() < kMaxNameKept) name_.push_back(Lower(c));
        } else {
          return Reject(400, "malformed header field");
        }
        break;

      case State::kFieldValue:
        if (c == '\r') {
          state_ = State::kFieldLf;
        } else if (!IsValueChar(c)) {
          return Reject(400, "malformed header field");
        } else if (keep_value_) {
          if (value_.empty() && (c == ' ' || c == '\t')) break;  // leading OWS
          if (value_.size() < kMaxValueKept) {
            value_.push_back(static_cast<char>(c));
          } else {
            value_too_long_ = true;
          }
        }
        break;

      case State::kHeadEndLf: {
        if (c != '\n') return Reject(400, "malformed line ending");
        EdgeVerdict v = EndHead(i + 1);
        if (v.action != Action::kNeedMore) return v;
        continue_due = expect_continue_;
        break;
      }

      case State::kBody: {
        const std::uint64_t take = std::min<std::uint64_t>(body_left_, n - i);
        body_left_ -= take;
        i += static_cast<std::size_t>(take) - 1;
        continue_due = false;
        if (body_left_ == 0) {
          return Complete(i + 1);
        }
        break;
      }

      case State::kChunkSize:
        continue_due = false;
        if (c == '\r' && token_len_ > 0) {
          state_ = State::kChunkSizeLf;
        } else if (c == ';') {
          return Reject(400, "chunk extensions are not supported");
        } else if (HexValue(c) < 0 || ++token_len_ > kMaxChunkDigits) {
          return Reject(400, "malformed chunk size");
        } else {
          chunk_size_ = chunk_size_ * 16 + static_cast<std::uint64_t>(HexValue(c));
          if (chunk_size_ > limits_.max_body_bytes - body_total_)
            return Reject(413, kBodyTooLargeText);
        }
        break;

      case State::kChunkSizeLf:
        if (c != '\n') return Reject(400, "malformed chunk size");
        token_len_ = 0;
        if (chunk_size_ == 0) {
          state_ = State::kTrailerStart;
        } else {
          body_total_ += chunk_size_;
          body_left_ = chunk_size_;
          chunk_size_ = 0;
          state_ = State::kChunkData;
        }
        break;

      case State::kChunkData: {
        const std::uint64_t take = std::min<std::uint64_t>(body_left_, n - i);
        body_left_ -= take;
        i += static_cast<std::size_t>(take) - 1;
        if (body_left_ == 0) state_ = State::kChunkDataCr;
        break;
      }

      case State::kChunkDataCr:
        if (c != '\r') return Reject(400, "malformed chunk");
        state_ = State::kChunkDataLf;
        break;

      case State::kChunkDataLf:
        if (c != '\n') return Reject(400, "malformed chunk");
        state_ = State::kChunkSize;
        break;

      case State::kTrailerStart:
      case State::kTrailerLine:
      case State::kTrailerLf:
      case State::kTrailerEndLf:
        if (++trailer_bytes_ > limits_.max_head_bytes)
          return Reject(431, "request header fields too large");
        if (state_ == State::kTrailerStart) {
          if (c == '\r') {
            state_ = State::kTrailerEndLf;
          } else if (IsTchar(c)) {
            state_ = State::kTrailerLine;
          } else {
            return Reject(400, "malformed trailer field");
          }
        } else if (state_ == State::kTrailerLine) {
          if (c == '\r') {
            state_ = State::kTrailerLf;
          } else if (!IsValueChar(c)) {
            return Reject(400, "malformed trailer field");
          }
        } else if (c != '\n') {
          return Reject(400, "malformed line ending");
        } else if (state_ == State::kTrailerLf) {
          state_ = State::kTrailerStart;
        } else {
          return Complete(i + 1);
        }
        break;

      case State::kRejected:
        return Reject(400, "connection rejected");
    }
  }
  EdgeVerdict v;
  v.consumed = n;
  v.send_continue = continue_due;
  return v;
}

}  // namespace drover::api
