// The CLI's pieces beneath the commands: Go-style flags, the -t template
// subset, Nomad's table layout and units.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "cli/exec_escape.h"
#include "cli/flags.h"
#include "cli/format.h"
#include "cli/template.h"
#include "client/stream_frames.h"
#include "common/text.h"

namespace drover::cli {
namespace {

namespace json = boost::json;

TEST(ExecEscapeTest, TildeDotAtLineStartDisconnects) {
  EscapeFilter f('~');
  auto r = f.Feed("ls\r~.echo never");
  EXPECT_EQ(r.forward, "ls\r");
  EXPECT_TRUE(r.disconnect);
  EscapeFilter first('~');
  EXPECT_TRUE(first.Feed("~.").disconnect) << "the start of the session is a line start";
}

TEST(ExecEscapeTest, OnlyAtLineStartAndDoubledSendsOne) {
  EscapeFilter f('~');
  auto r = f.Feed("cd ~.\n~~x\n~y");
  EXPECT_EQ(r.forward, "cd ~.\n~x\n~y");
  EXPECT_FALSE(r.disconnect);
}

TEST(ExecEscapeTest, SequenceSplitAcrossReads) {
  EscapeFilter f('~');
  auto a = f.Feed("top\n~");
  EXPECT_EQ(a.forward, "top\n") << "the ~ waits for the next key";
  auto b = f.Feed(".");
  EXPECT_EQ(b.forward, "");
  EXPECT_TRUE(b.disconnect);
  EscapeFilter g('~');
  EXPECT_EQ(g.Feed("~").forward, "");
  EXPECT_EQ(g.Finish(), "~") << "a lone ~ at the end is sent";
  EXPECT_EQ(g.Finish(), "");
}

TEST(ExecEscapeTest, OtherEscapeCharacterAndNewlineAfterEscape) {
  EscapeFilter f('%');
  auto r = f.Feed("~.\r%\r%.");
  EXPECT_EQ(r.forward, "~.\r%\r");
  EXPECT_TRUE(r.disconnect) << "after an escaped newline the line starts again";
}

TEST(CliFlagsTest, ParsesAsGosFlagPackage) {
  FlagSet f;
  bool verbose = false, follow = true;
  std::string task;
  std::int64_t n = 0;
  std::vector<std::string> vars;
  f.Bool("verbose", &verbose, "");
  f.Bool("f", &follow, "");
  f.String("task", &task, "");
  f.Int("n", &n, "");
  f.Strings("var", &vars, "");
  auto args = f.Parse({"-verbose", "--task", "web", "-n=5", "-f=false", "-var", "a=1", "-var=b=2",
                       "id", "-not-a-flag"});
  ASSERT_TRUE(args.ok()) << args.status().ToString();
  EXPECT_TRUE(verbose);
  EXPECT_FALSE(follow);
  EXPECT_EQ(task, "web");
  EXPECT_EQ(n, 5);
  EXPECT_EQ(vars, (std::vector<std::string>{"a=1", "b=2"}));
  EXPECT_EQ(*args, (std::vector<std::string>{"id", "-not-a-flag"}));  // flags end at an argument
  auto dashdash = f.Parse({"--", "-verbose"});
  EXPECT_EQ(*dashdash, std::vector<std::string>{"-verbose"});
}

TEST(CliFlagsTest, RefusesWhatGoRefuses) {
  FlagSet f;
  std::string s;
  std::int64_t n = 0;
  bool b = false;
  f.String("s", &s, "");
  f.Int("n", &n, "");
  f.Bool("b", &b, "");
  EXPECT_EQ(f.Parse({"-x"}).status().message(), "flag provided but not defined: -x");
  EXPECT_EQ(f.Parse({"-s"}).status().message(), "flag needs an argument: -s");
  EXPECT_EQ(f.Parse({"-n", "12x"}).status().message(), "invalid value \"12x\" for flag -n: parse error");
  EXPECT_EQ(f.Parse({"-n", "99999999999999999999"}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(f.Parse({"-b=maybe"}).ok());
  EXPECT_EQ(f.Parse({"-help"}).status().message(), "help");
  EXPECT_EQ(f.Parse({"-h"}).status().message(), "help");
}

json::value Data() {
  return json::parse(R"({"ID":"web","Count":2,"Stop":false,"Meta":{"team":"a"},
    "Allocs":[{"ID":"a1","Status":"running"},{"ID":"b2","Status":"failed"}],
    "Empty":[],"Ratio":0.5})");
}

std::string Render(const std::string& t) {
  auto r = RenderTemplate(t, Data());
  return r.ok() ? *r : "ERROR: " + r.status().message();
}

TEST(CliTemplateTest, FieldsRangeIfWith) {
  EXPECT_EQ(Render("{{ .ID }} x{{.Count}}"), "web x2");
  EXPECT_EQ(Render("{{ .Meta.team }}"), "a");
  EXPECT_EQ(Render("{{ .Missing }}|{{ .Meta.none }}"), "<no value>|<no value>");
  EXPECT_EQ(Render("{{ range .Allocs }}{{ .ID }}={{ .Status }};{{ end }}"), "a1=running;b2=failed;");
  EXPECT_EQ(Render("{{ range .Allocs }}{{ $.ID }}/{{ .ID }} {{ end }}"), "web/a1 web/b2 ");
  EXPECT_EQ(Render("{{ range .Empty }}x{{ else }}none{{ end }}"), "none");
  EXPECT_EQ(Render("{{ if .Stop }}stopped{{ else }}live{{ end }}"), "live");
  EXPECT_EQ(Render("{{ if .Allocs }}some{{ end }}"), "some");
  EXPECT_EQ(Render("{{ with .Meta }}{{ .team }}{{ end }}"), "a");
  EXPECT_EQ(Render("{{ index .Meta \"team\" }} {{ index .Allocs 1 }}"),
            "a {\"ID\":\"b2\",\"Status\":\"failed\"}");
  EXPECT_EQ(Render("{{ len .Allocs }} {{ len .ID }}"), "2 3");
  EXPECT_EQ(Render("{{ range .Meta }}{{ . }}{{ end }}"), "a");
  EXPECT_EQ(Render("{{ .Ratio }} {{ \"lit\\n\" }}"), "0.5 lit\n");
  EXPECT_EQ(Render("a  {{- .ID -}}  b"), "awebb");
  EXPECT_EQ(Render("{{/* note */}}x"), "x");
}

TEST(CliTemplateTest, ErrorsSayWhat) {
  EXPECT_EQ(Render("{{ range .Allocs }}"), "ERROR: template: unexpected EOF: missing {{end}}");
  EXPECT_EQ(Render("{{ end }}"), "ERROR: template: unexpected {{end}}");
  EXPECT_EQ(Render("{{ .ID"), "ERROR: template: unclosed action");
  EXPECT_NE(Render("{{ $x := .ID }}").find("not supported"), std::string::npos);
  EXPECT_NE(Render("{{ .ID | printf }}").find("not supported"), std::string::npos);
  EXPECT_NE(Render("{{ printf \"%s\" .ID }}").find("not defined"), std::string::npos);
  EXPECT_NE(Render("{{ index .Allocs 5 }}").find("out of range"), std::string::npos);
  EXPECT_NE(Render("{{ range .ID }}{{ end }}").find("can't iterate"), std::string::npos);
}

TEST(CliFormatTest, ColumnsAsNomadsColumnize) {
  EXPECT_EQ(FormatList({"ID|Status|Name", "abc|running|", "abcdef|dead|x"}),
            "ID      Status   Name\n"
            "abc     running  <none>\n"
            "abcdef  dead     x");
  EXPECT_EQ(FormatKV({"ID|web", "Desired Status|run", "Empty|"}),
            "ID             = web\n"
            "Desired Status = run\n"
            "Empty          = <none>");
}

TEST(CliFormatTest, Units) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(300ull << 20), "300 MiB");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatDuration(90'000'000'000), "1m30s");
  EXPECT_EQ(Limit("0123456789", kShortId), "01234567");
  EXPECT_EQ(Limit("0123", kShortId), "0123");
  EXPECT_EQ(FormatUnixNano(0), "");
  EXPECT_EQ(PrettyTimeDiff(0), "");
  EXPECT_EQ(*ParseNonNegative("42"), 42);
  EXPECT_FALSE(ParseNonNegative("-1").ok());
  EXPECT_FALSE(ParseNonNegative("4x").ok());
  EXPECT_FALSE(ParseNonNegative("").ok());
}

TEST(CliFormatTest, JsonAndTemplateExclusive) {
  EXPECT_EQ(FormatOutput(true, "{{ . }}", json::value(1)).status().message(),
            "Both json and template formatting are not allowed");
  EXPECT_EQ(*FormatOutput(true, "", json::parse(R"({"a":[1]})")), "{\n    \"a\": [\n        1\n    ]\n}");
}

TEST(CliStreamFramesTest, DecodesFramesCutAnywhere) {
  const std::string stream = "{\"Offset\":5,\"Data\":\"" + Base64Encode("hello") +
                             "\",\"File\":\"alloc/logs/t.stdout.0\"}{}{\"FileEvent\":\"file deleted\"}";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    client::FrameDecoder d;
    std::vector<client::StreamFrame> frames;
    ASSERT_TRUE(d.Feed(stream.substr(0, cut), frames).ok());
    ASSERT_TRUE(d.Feed(stream.substr(cut), frames).ok());
    ASSERT_EQ(frames.size(), 3u) << cut;
    EXPECT_EQ(frames[0].data, "hello");
    EXPECT_EQ(frames[0].offset, 5);
    EXPECT_TRUE(frames[1].heartbeat);
    EXPECT_EQ(frames[2].file_event, "file deleted");
  }
  client::FrameDecoder bad;
  std::vector<client::StreamFrame> frames;
  EXPECT_FALSE(bad.Feed("[1]", frames).ok());
  client::FrameDecoder bad64;
  EXPECT_FALSE(bad64.Feed("{\"Data\":\"!!\"}", frames).ok());
}

}  // namespace
}  // namespace drover::cli
