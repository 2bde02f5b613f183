#include "client/stream_frames.h"

#include <boost/json.hpp>

#include "common/text.h"

namespace drover::client {

namespace json = boost::json;

struct FrameDecoder::Impl {
  json::stream_parser parser;
};

FrameDecoder::FrameDecoder() : impl_(std::make_unique<Impl>()) {}
FrameDecoder::~FrameDecoder() = default;
FrameDecoder::FrameDecoder(FrameDecoder&&) noexcept = default;
FrameDecoder& FrameDecoder::operator=(FrameDecoder&&) noexcept = default;

Status FrameDecoder::Feed(std::string_view bytes, std::vector<StreamFrame>& out) {
  json::stream_parser& parser = impl_->parser;
  while (!bytes.empty()) {
    boost::system::error_code ec;
    const std::size_t used = parser.write_some(bytes.data(), bytes.size(), ec);
    if (ec) return InvalidArgument("stream frame: " + ec.message());
    bytes.remove_prefix(used);
    if (!parser.done()) return Status::Ok();  // the rest comes with the next bytes
    const json::value v = parser.release();
    parser.reset();
    if (!v.is_object()) return InvalidArgument("stream frame: not a JSON object");
    const json::object& o = v.get_object();
    StreamFrame f;
    f.heartbeat = o.empty();
    if (const auto* x = o.if_contains("Offset"); x && x->is_number()) {
      f.offset = x->to_number<std::int64_t>();
    }
    if (const auto* x = o.if_contains("Data"); x && x->is_string()) {
      auto data = Base64Decode(x->get_string());
      if (!data) return InvalidArgument("stream frame: Data is not base64");
      f.data = std::move(*data);
    }
    if (const auto* x = o.if_contains("File"); x && x->is_string()) f.file = std::string(x->get_string());
    if (const auto* x = o.if_contains("FileEvent"); x && x->is_string()) {
      f.file_event = std::string(x->get_string());
    }
    out.push_back(std::move(f));
  }
  return Status::Ok();
}

}  // namespace drover::client
