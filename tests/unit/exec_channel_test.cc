#include "common/exec_channel.h"

#include <gtest/gtest.h>

namespace drover {
namespace {

TEST(ExecChannelTest, FramesRoundTripWhateverTheSplit) {
  std::string bytes;
  AppendExecFrame(bytes, ExecFrameType::kStdout, "hello");
  AppendExecFrame(bytes, ExecFrameType::kStdoutClose);
  AppendResizeFrame(bytes, 40, 120);
  AppendExecFrame(bytes, ExecFrameType::kExited, "137");
  for (std::size_t step = 1; step <= bytes.size(); ++step) {
    ExecFrameReader reader;
    std::vector<ExecFrame> frames;
    for (std::size_t i = 0; i < bytes.size(); i += step) {
      const std::string_view part = std::string_view(bytes).substr(i, step);
      reader.Append(part.data(), part.size());
      while (auto f = reader.Next()) frames.push_back(*f);
    }
    ASSERT_EQ(frames.size(), 4u) << step;
    EXPECT_EQ(frames[0].payload, "hello");
    EXPECT_EQ(frames[1].type, ExecFrameType::kStdoutClose);
    auto size = DecodeResize(frames[2].payload);
    ASSERT_TRUE(size);
    EXPECT_EQ(size->first, 40);
    EXPECT_EQ(size->second, 120);
    EXPECT_EQ(frames[3].payload, "137");
    EXPECT_EQ(reader.buffered(), 0u);
    EXPECT_EQ(reader.error(), "");
  }
}

TEST(ExecChannelTest, ReaderRefusesUnknownTypesAndBadLengths) {
  {
    ExecFrameReader reader;
    reader.Append("z\0\0\0\0", 5);
    EXPECT_FALSE(reader.Next());
    EXPECT_EQ(reader.error(), "unknown frame type");
  }
  {
    ExecFrameReader reader;  // over the limit: refused before the payload comes
    reader.Append("o\x7f\0\0\0", 5);
    EXPECT_FALSE(reader.Next());
    EXPECT_EQ(reader.error(), "bad frame length");
  }
  {
    ExecFrameReader reader;  // a resize is exactly 4 bytes
    std::string bytes;
    AppendExecFrame(bytes, ExecFrameType::kResize, "abc");
    reader.Append(bytes.data(), bytes.size());
    EXPECT_FALSE(reader.Next());
    EXPECT_EQ(reader.error(), "bad frame length");
    // and it stays broken
    std::string more;
    AppendExecFrame(more, ExecFrameType::kStdout, "x");
    reader.Append(more.data(), more.size());
    EXPECT_FALSE(reader.Next());
  }
}

}  // namespace
}  // namespace drover
