// The HTTP edge: a strict, incremental HTTP/1.1 request framer that stands
// in front of Pistache's parser.
//
// Pistache 0.0.5 re-parses a request from its first byte on every read
// (quadratic in the head's size), answers a bad Content-Length with a 500
// that quotes a C++ exception, reserves whatever length a request announces,
// and answers malformed bytes only at its 60 s header timeout. The framer
// sees every byte once, checks the request line, the header syntax and the
// body framing, and says for each request whether it is whole, still
// arriving, or rejected (with the status to answer). Only whole, well-formed
// requests reach Pistache, one at a time, so pipelined requests in one read
// are not lost either.
//
// Grammar accepted (RFC 9112, strictly):
//   request  = method SP target SP "HTTP/1." ("0"|"1") CRLF
//              *( name ":" OWS value OWS CRLF ) CRLF body
//   method   = 1*32 tchar          target = 1*( %x21-7E )
//   name     = 1*tchar             value  = *( VCHAR / obs-text / SP / HTAB )
//   body     = Content-Length bytes, or chunked: 1*16 HEXDIG CRLF data CRLF
//              ... "0" CRLF *( trailer-field CRLF ) CRLF   (no chunk-ext)
// Rejected: bare LF line endings, obs-fold, NUL and other controls, a
// Content-Length that is not 1*19 DIGIT or is given twice, Content-Length
// together with Transfer-Encoding, any Transfer-Encoding but "chunked".
//
// The framer is pure (no I/O, no clock): feed it bytes, act on the verdict.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace drover::api {

struct EdgeLimits {
  // Request line plus header fields, CRLFs included.
  std::size_t max_head_bytes = 64 << 10;
  // Content-Length, or the sum of a chunked body's chunk sizes. A chunked
  // body's framing (size lines, CRLFs) may add up to max_head_bytes more.
  std::uint64_t max_body_bytes = 4 << 20;
};

// The text Nomad (and Pistache) answer with a 413.
inline constexpr std::string_view kBodyTooLargeText = "Request exceeded maximum buffer size";

struct EdgeVerdict {
  enum class Action {
    kNeedMore,  // every byte fed belongs to an unfinished request
    kComplete,  // a request ends after the first `consumed` bytes fed
    kReject,    // answer `code` with `text` and close the connection
  };
  Action action = Action::kNeedMore;
  std::size_t consumed = 0;
  int code = 0;
  std::string_view text;
  // kNeedMore only: the head just ended with "Expect: 100-continue" and a
  // body is due; the caller may send "HTTP/1.1 100 Continue".
  bool send_continue = false;
  // kComplete only: the request's head (request line, fields and the empty
  // line) is its first `head_size` bytes.
  std::size_t head_size = 0;
  // kComplete only: an HTTP/1.1 request without a Connection field, which
  // RFC 9112 makes persistent (Pistache 0.0.5 would answer it
  // "Connection: Close"; see EdgeHandler).
  bool implied_keep_alive = false;
};

class HttpRequestFramer {
 public:
  explicit HttpRequestFramer(EdgeLimits limits = {}) : limits_(limits) {}

  // Scans `data`, the bytes that follow everything fed so far. After
  // kComplete the framer is ready for the next request: feed it the bytes
  // past `consumed`. After kReject it stays rejected.
  EdgeVerdict Feed(std::string_view data);

  // True between requests: no byte of a next request has been fed.
  bool AtRequestStart() const { return state_ == State::kMethod && head_bytes_ == 0; }

 private:
  enum class State {
    kMethod, kTarget, kVersion, kRequestLineLf,
    kFieldStart, kFieldName, kFieldValue, kFieldLf, kHeadEndLf,
    kBody,
    kChunkSize, kChunkSizeLf, kChunkData, kChunkDataCr, kChunkDataLf,
    kTrailerStart, kTrailerLine, kTrailerLf, kTrailerEndLf,
    kRejected,
  };

  EdgeVerdict Reject(int code, std::string_view text);
  // Returns a non-zero status when the finished field is unacceptable.
  EdgeVerdict EndField();
  // The head is complete: decide how the body is framed.
  EdgeVerdict EndHead(std::size_t consumed);
  // The request ends after `consumed` bytes of this Feed; ready for the next.
  EdgeVerdict Complete(std::size_t consumed);
  void ResetRequest();

  EdgeLimits limits_;
  State state_ = State::kMethod;
  std::size_t head_bytes_ = 0;
  std::size_t token_len_ = 0;   // method, version or chunk-size length so far
  std::string version_;         // "HTTP/1.x" as it arrives (max 8 chars)

  // The field being read. Only the names that matter are remembered.
  std::string name_;            // lower-cased, first 32 chars
  std::string value_;           // kept for Content-Length / TE / Expect only
  bool keep_value_ = false;
  bool value_too_long_ = false;

  bool has_length_ = false;
  std::uint64_t content_length_ = 0;
  bool chunked_ = false;
  bool has_transfer_encoding_ = false;
  bool expect_continue_ = false;
  bool has_connection_ = false;
  std::size_t head_size_ = 0;       // set when the head ends

  std::uint64_t body_left_ = 0;     // kBody, kChunkData
  std::uint64_t body_total_ = 0;    // chunked: sum of chunk sizes
  std::uint64_t chunk_size_ = 0;
  std::uint64_t chunk_wire_ = 0;    // chunked: body bytes with framing
  std::size_t trailer_bytes_ = 0;
};

}  // namespace drover::api
