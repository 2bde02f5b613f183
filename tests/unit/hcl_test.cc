#include "hcl/hcl.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace drover::hcl {
namespace {

namespace json = boost::json;

constexpr std::string_view kFile = "t.hcl";

Block MustParse(std::string_view source) {
  Result<Block> r = Parse(source, kFile);
  EXPECT_TRUE(r.ok()) << r.status().message() << "\nsource:\n" << source;
  return r.ok() ? std::move(r).value() : Block{};
}

// The error text for `source`, or "<parsed>".
std::string ErrorOf(std::string_view source) {
  Result<Block> r = Parse(source, kFile);
  if (r.ok()) return "<parsed>";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

// The value of `v = <expr>`, serialized.
std::string ValueOf(std::string_view expr) {
  Block b = MustParse("v = " + std::string(expr) + "\n");
  if (b.attributes.size() != 1) return "<no attribute>";
  return json::serialize(b.attributes[0].value);
}

std::string Json(std::string_view text) { return json::serialize(json::parse(text)); }

struct ValueCase {
  const char* expr;
  const char* json;  // expected value as JSON text
};

// ---- Values -----------------------------------------------------------------

TEST(HclValueTest, StringsDecodeEscapesAndKeepTemplatesVerbatim) {
  const ValueCase cases[] = {
      {R"("hello")", R"("hello")"},
      {R"("")", R"("")"},
      {R"("a\nb\rc\td \"q\" \\")", R"("a\nb\rc\td \"q\" \\")"},
      {R"("\u00e9\u4E2D")", "\"\xC3\xA9\xE4\xB8\xAD\""},
      {R"("\U0001F600")", "\"\xF0\x9F\x98\x80\""},
      {R"("\u0000")", R"("\u0000")"},
      {"\"caf\xC3\xA9\"", "\"caf\xC3\xA9\""},
      {R"("${NOMAD_ALLOC_DIR}/data")", R"("${NOMAD_ALLOC_DIR}/data")"},
      {R"("${attr.kernel.name}-${meta.x}")", R"("${attr.kernel.name}-${meta.x}")"},
      {R"("$${literal}")", R"("${literal}")"},
      {R"("%%{literal}")", R"("%{literal}")"},
      {R"("$$${x}")", R"("$${x}")"},
      {R"("%{ if x }yes%{ else }no%{ endif }")", R"("%{ if x }yes%{ else }no%{ endif }")"},
      {R"("${lookup(m, "}", "\"")} after")", R"("${lookup(m, \"}\", \"\\\"\")} after")"},
      {R"("${ {a = "${b}"}.a }")", R"("${ {a = \"${b}\"}.a }")"},
      {R"("${~ x ~}")", R"("${~ x ~}")"},
      {R"("costs $5, 100% sure, {braces}")", R"("costs $5, 100% sure, {braces}")"},
      {R"("a\u0024{b}")", R"("a${b}")"},  // an escaped $ is plain text
  };
  for (const auto& c : cases) EXPECT_EQ(ValueOf(c.expr), Json(c.json)) << c.expr;
}

TEST(HclValueTest, NumbersAreInt64WhenIntegralElseDouble) {
  const ValueCase cases[] = {
      {"0", "0"},
      {"42", "42"},
      {"-7", "-7"},
      {"- 7", "-7"},
      {"007", "7"},
      {"1.5", "1.5"},
      {"-0.25", "-0.25"},
      {"1e3", "1000"},
      {"2.5E+2", "250"},
      {"25e-1", "2.5"},
      {"1.0", "1"},
      {"9223372036854775807", "9223372036854775807"},
      {"-9223372036854775808", "-9223372036854775808"},
      {"9223372036854775808", "9.223372036854775808e18"},
      {"18446744073709551616", "1.8446744073709551616e19"},
      {"1e300", "1e300"},
  };
  for (const auto& c : cases) EXPECT_EQ(ValueOf(c.expr), Json(c.json)) << c.expr;

  Block b = MustParse("i = 5\nd = 5.5\ne = 1e2\nbig = 99999999999999999999\n");
  EXPECT_TRUE(b.Find("i")->value.is_int64());
  EXPECT_TRUE(b.Find("d")->value.is_double());
  EXPECT_TRUE(b.Find("e")->value.is_int64());
  EXPECT_TRUE(b.Find("big")->value.is_double());
}

TEST(HclValueTest, KeywordsListsAndObjects) {
  const ValueCase cases[] = {
      {"true", "true"},
      {"false", "false"},
      {"null", "null"},
      {"[]", "[]"},
      {"[1, \"a\", true, null]", R"([1, "a", true, null])"},
      {"[1, 2,]", "[1, 2]"},
      {"[\n  1,\n  2\n]", "[1, 2]"},
      {"[\n  1\n  ,\n  2,\n\n]", "[1, 2]"},
      {"[[1], [2, [3]], []]", "[[1], [2, [3]], []]"},
      {"{}", "{}"},
      {"{ a = 1, \"b\": 2, c = 3 }", R"({"a": 1, "b": 2, "c": 3})"},
      {"{ a = 1, }", R"({"a": 1})"},
      {"{\n  a = 1\n  b = [1, 2]\n\n  c = { d = \"e\" }\n}", R"({"a":1,"b":[1,2],"c":{"d":"e"}})"},
      {"{\n  a = 1,\n  b = 2,\n}", R"({"a": 1, "b": 2})"},
      {"{ \"with space\" = 1, \"dotted.key\" = 2 }", R"({"with space": 1, "dotted.key": 2})"},
      {"{ true = 1, null = 2 }", R"({"true": 1, "null": 2})"},
      {"[{ a = 1 }, { a = 2 }]", R"([{"a": 1}, {"a": 2}])"},
      {"[ # comment\n  1, // another\n  /* inline */ 2\n]", "[1, 2]"},
  };
  for (const auto& c : cases) EXPECT_EQ(ValueOf(c.expr), Json(c.json)) << c.expr;
}

TEST(HclValueTest, ObjectsKeepSourceOrder) {
  Block b = MustParse("v = { z = 1, a = 2, m = 3 }\n");
  const json::object& o = b.attributes[0].value.as_object();
  std::string keys;
  for (const auto& kv : o) keys += std::string(kv.key()) + ",";
  EXPECT_EQ(keys, "z,a,m,");
}

// ---- Heredocs ---------------------------------------------------------------

struct HeredocCase {
  const char* source;  // a whole file defining attribute v
  const char* value;
};

TEST(HclHeredocTest, PlainAndFlushHeredocs) {
  const HeredocCase cases[] = {
      {"v = <<EOF\nhello\n  world\nEOF\n", "hello\n  world\n"},
      {"v = <<EOF\nEOF\n", ""},
      {"v = <<EOF\nno newline at the end\nEOF", "no newline at the end\n"},
      {"v = <<EOF\nindented marker\n    EOF\n", "indented marker\n"},
      {"v = <<EOF\nspaces around the marker\n  EOF \t\n", "spaces around the marker\n"},
      {"v = <<EOF\nEOFX\n EOF x\nEOF\n", "EOFX\n EOF x\n"},
      {"v = <<EOT\na\\nb \"q\" $${x} %%{y}\nEOT\n", "a\\nb \"q\" ${x} %{y}\n"},
      {"v = <<EOT\n${NOMAD_TASK_DIR}/x %{ if a }b%{ endif }\nEOT\n",
       "${NOMAD_TASK_DIR}/x %{ if a }b%{ endif }\n"},
      {"v = <<EOF\r\nline\r\nEOF\r\n", "line\r\n"},
      {"v = <<-EOF\n    a\n      b\n\n    c\n    EOF\n", "a\n  b\n\nc\n"},
      {"v = <<-EOF\n\ta\n\t\tb\n\tEOF\n", "a\n\tb\n"},
      {"v = <<-EOF\n  a\n \n  b\nEOF\n", "a\n \nb\n"},          // blank lines stay as they are
      {"v = <<-EOF\n    a\n      \n    b\nEOF\n", "a\n      \nb\n"},
      {"v = <<-EOF\n  x ${y}\n  z\nEOF\n", "x ${y}\nz\n"},
      {"v = <<-EOF\n  a\n${x}\nEOF\n", "  a\n${x}\n"},           // a line starting with ${ has no indent
      {"v = <<-EOF\n  a ${f(\n\"x\")} b\n  c\nEOF\n", "a ${f(\n\"x\")} b\nc\n"},
      {"v = <<-EOF\nnot indented\nEOF\n", "not indented\n"},
  };
  for (const auto& c : cases) {
    Block b = MustParse(c.source);
    ASSERT_EQ(b.attributes.size(), 1u) << c.source;
    EXPECT_EQ(b.attributes[0].value, json::value(c.value)) << c.source;
  }
}

TEST(HclHeredocTest, HeredocsInsideListsAndPositionsAfterThem) {
  Block b = MustParse("v = [<<EOF\na\nEOF\n, \"b\"]\nw = 1\n");
  EXPECT_EQ(json::serialize(b.Find("v")->value), Json(R"(["a\n", "b"])"));
  EXPECT_EQ(b.Find("w")->pos.line, 5);
  EXPECT_EQ(b.Find("w")->pos.column, 1);
}

// ---- Structure --------------------------------------------------------------

TEST(HclStructureTest, BlocksLabelsAndNesting) {
  Block b = MustParse(
      "top = \"x\"\n"
      "outer \"l1\" l2 {\n"
      "  a = 1\n"
      "  inner {\n"
      "    b = 2\n"
      "  }\n"
      "  empty {\n"
      "  }\n"
      "  one { c = 3 }\n"
      "  none {}\n"
      "  dashed-name_1 = true\n"
      "}\n"
      "outer \"second\" {\n}\n");
  EXPECT_EQ(b.type, "");
  EXPECT_TRUE(b.labels.empty());
  EXPECT_EQ(b.pos.line, 1);
  EXPECT_EQ(b.pos.column, 1);
  ASSERT_EQ(b.attributes.size(), 1u);
  EXPECT_EQ(b.attributes[0].name, "top");
  ASSERT_EQ(b.blocks.size(), 2u);

  const Block& outer = b.blocks[0];
  EXPECT_EQ(outer.type, "outer");
  EXPECT_EQ(outer.labels, (std::vector<std::string>{"l1", "l2"}));
  EXPECT_EQ(outer.pos.line, 2);
  EXPECT_EQ(outer.pos.column, 1);
  ASSERT_EQ(outer.attributes.size(), 2u);
  EXPECT_EQ(outer.attributes[0].name, "a");
  EXPECT_EQ(outer.attributes[0].pos.line, 3);
  EXPECT_EQ(outer.attributes[0].pos.column, 3);
  EXPECT_EQ(outer.attributes[1].name, "dashed-name_1");
  ASSERT_EQ(outer.blocks.size(), 4u);
  EXPECT_EQ(outer.blocks[0].type, "inner");
  EXPECT_EQ(outer.blocks[0].pos.line, 4);
  EXPECT_EQ(outer.blocks[0].pos.column, 3);
  EXPECT_EQ(outer.blocks[0].Find("b")->value, json::value(2));
  EXPECT_EQ(outer.blocks[0].Find("b")->pos.column, 5);
  EXPECT_TRUE(outer.blocks[1].attributes.empty());
  EXPECT_TRUE(outer.blocks[1].blocks.empty());
  EXPECT_EQ(outer.blocks[2].Find("c")->value, json::value(3));
  EXPECT_EQ(outer.blocks[2].Find("c")->pos.column, 9);
  EXPECT_EQ(outer.blocks[3].type, "none");
  EXPECT_EQ(b.blocks[1].labels, (std::vector<std::string>{"second"}));
  EXPECT_EQ(b.Find("missing"), nullptr);
}

TEST(HclStructureTest, LabelsDecodeEscapes) {
  Block b = MustParse("path \"a\\\"b\\u00e9 $${x}\" {}\n");
  ASSERT_EQ(b.blocks.size(), 1u);
  EXPECT_EQ(b.blocks[0].labels[0], "a\"b\xC3\xA9 ${x}");
}

TEST(HclStructureTest, CommentsAndBlankInput) {
  EXPECT_TRUE(MustParse("").attributes.empty());
  EXPECT_TRUE(MustParse("\n\n# only a comment").attributes.empty());
  Block b = MustParse(
      "# hash comment\n"
      "// slash comment\n"
      "/* block\n"
      "   comment */ a = 1 # trailing\n"
      "b = 2 // trailing\n"
      "c { # after brace\n"
      "  d = /* inline */ 4\n"
      "}\n"
      "e = 5");
  EXPECT_EQ(b.Find("a")->pos.line, 4);
  EXPECT_EQ(b.Find("a")->pos.column, 15);
  EXPECT_EQ(b.Find("b")->value, json::value(2));
  EXPECT_EQ(b.blocks.at(0).Find("d")->value, json::value(4));
  EXPECT_EQ(b.Find("e")->pos.line, 9);
}

TEST(HclStructureTest, PositionsCountBytesTabsAndCrlf) {
  Block b = MustParse("\ta = \"\xC3\xA9\xC3\xA9\"\r\n  b = \"${x\n}\"\nc = 1\n");
  EXPECT_EQ(b.Find("a")->pos.line, 1);
  EXPECT_EQ(b.Find("a")->pos.column, 2);  // a tab is one column
  EXPECT_EQ(b.Find("b")->pos.line, 2);
  EXPECT_EQ(b.Find("b")->pos.column, 3);
  EXPECT_EQ(b.Find("c")->pos.line, 4);  // a template may span lines
}

TEST(HclStructureTest, DepthUpToTheLimitParses) {
  std::string deep = "v = " + std::string(kMaxDepth, '[') + std::string(kMaxDepth, ']') + "\n";
  EXPECT_EQ(ErrorOf(deep), "<parsed>");
  std::string blocks;
  for (int i = 0; i < kMaxDepth; ++i) blocks += "b {\n";
  for (int i = 0; i < kMaxDepth; ++i) blocks += "}\n";
  EXPECT_EQ(ErrorOf(blocks), "<parsed>");
}

// ---- Nomad examples ---------------------------------------------------------

// The example from Nomad's "ACL Policy Specification" page.
TEST(HclNomadTest, AclPolicySpecificationExample) {
  Block p = MustParse(R"(# this is a namespace rule for the "foo" namespace
namespace "foo" {
  policy = "write"                # this is a policy field
  capabilities = ["alloc-exec"]  # this is a capabilities list

  # this block controls access to variables in this namespace
  variables {
    path "project/*" {
      capabilities = ["read", "write"]
    }
  }
}

# this is a namespace rule, with a wildcard label
namespace "*" {
  policy = "read"
}

node {
  policy = "read"
}

agent {
  policy = "read"
}

operator {
  policy = "read"
}

quota {
  policy = "read"
}

# this is a host_volume rule, with a wildcard label
host_volume "*" {
  policy = "read"
}

plugin {
  policy = "write"
}
)");
  ASSERT_EQ(p.blocks.size(), 8u);
  const Block& foo = p.blocks[0];
  EXPECT_EQ(foo.type, "namespace");
  EXPECT_EQ(foo.labels, (std::vector<std::string>{"foo"}));
  EXPECT_EQ(foo.Find("policy")->value, json::value("write"));
  EXPECT_EQ(json::serialize(foo.Find("capabilities")->value), Json(R"(["alloc-exec"])"));
  ASSERT_EQ(foo.blocks.size(), 1u);
  const Block& path = foo.blocks[0].blocks.at(0);
  EXPECT_EQ(path.type, "path");
  EXPECT_EQ(path.labels, (std::vector<std::string>{"project/*"}));
  EXPECT_EQ(json::serialize(path.Find("capabilities")->value), Json(R"(["read","write"])"));
  EXPECT_EQ(path.pos.line, 8);
  EXPECT_EQ(path.pos.column, 5);
  const char* types[] = {"namespace", "namespace", "node",        "agent",
                         "operator",  "quota",     "host_volume", "plugin"};
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(p.blocks[i].type, types[i]);
  EXPECT_EQ(p.blocks[6].labels, (std::vector<std::string>{"*"}));
  EXPECT_EQ(p.blocks[7].Find("policy")->value, json::value("write"));
}

TEST(HclNomadTest, AclPolicyShortForms) {
  // From the namespace and host volume sections of the same page, and the
  // one-line forms the ACL tutorials use.
  Block p = MustParse(R"(namespace "default" {
  capabilities = ["submit-job","list-jobs","read-job"]
}
namespace "*-web" {
  policy = "deny"
}
host_volume "prod-*" {
  policy = "deny"
}
namespace "dev" {

  variables {

    # full access to secrets in all "project" paths
    path "project/*" {
      capabilities = ["write", "read", "destroy", "list"]
    }

    # read/list access within a "system/" path belonging to administrators
    path "system/*" {
      capabilities = ["read"]
    }
  }
}
agent { policy = "read" }
node { policy = "write" }
)");
  ASSERT_EQ(p.blocks.size(), 6u);
  EXPECT_EQ(json::serialize(p.blocks[0].Find("capabilities")->value),
            Json(R"(["submit-job","list-jobs","read-job"])"));
  EXPECT_EQ(p.blocks[2].labels[0], "prod-*");
  EXPECT_EQ(p.blocks[3].blocks.at(0).blocks.size(), 2u);
  EXPECT_EQ(p.blocks[3].blocks[0].blocks[1].labels[0], "system/*");
  EXPECT_EQ(p.blocks[4].type, "agent");
  EXPECT_EQ(p.blocks[4].Find("policy")->value, json::value("read"));
  EXPECT_EQ(p.blocks[5].Find("policy")->value, json::value("write"));
}

// Forms Nomad's own ACL parser tests exercise: tab indentation, a label
// right before "{", empty one-line blocks, labels on nested blocks.
TEST(HclNomadTest, AclPolicyEdgeForms) {
  Block p = MustParse(
      "\n\t\t\tnamespace \"has a space\"{\n\t\t\t\tpolicy = \"read\"\n\t\t\t}\n"
      "\t\t\tnamespace {}\n"
      "\t\t\tnamespace \"dev\" {\n"
      "\t\t\t\tvariables \"*\" {\n"
      "\t\t\t\t\tpath {}\n"
      "\t\t\t\t\tpath \"nomad/jobs/example\" {\n"
      "\t\t\t\t\t\tcapabilities = [\"read\", \"list\", \"destroy\"]\n"
      "\t\t\t\t\t}\n"
      "\t\t\t\t}\n"
      "\t\t\t}\n"
      "\t\t\t");
  ASSERT_EQ(p.blocks.size(), 3u);
  EXPECT_EQ(p.blocks[0].labels, (std::vector<std::string>{"has a space"}));
  EXPECT_EQ(p.blocks[0].pos.line, 2);
  EXPECT_EQ(p.blocks[0].pos.column, 4);
  EXPECT_TRUE(p.blocks[1].labels.empty());
  const Block& variables = p.blocks[2].blocks.at(0);
  EXPECT_EQ(variables.labels, (std::vector<std::string>{"*"}));
  ASSERT_EQ(variables.blocks.size(), 2u);
  EXPECT_TRUE(variables.blocks[0].labels.empty());
  EXPECT_EQ(json::serialize(variables.blocks[1].Find("capabilities")->value),
            Json(R"(["read","list","destroy"])"));

  // An octal-looking escape is not HCL.
  EXPECT_EQ(ErrorOf("namespace \"\\500\" {}"), "t.hcl:1:12: invalid escape sequence \"\\5\"");
  // The JSON form of a policy is not HCL native syntax; callers detect it.
  EXPECT_EQ(ErrorOf("{\"namespace\": {}}"),
            "t.hcl:1:1: expected an attribute or block name, found \"{\"");
}

// The shape of `nomad job init`'s example, trimmed, with the constructs
// jobspecs use: runtime interpolation, heredoc templates, maps as blocks.
TEST(HclNomadTest, JobspecStructure) {
  Block f = MustParse(R"(job "example" {
  datacenters = ["dc1"]
  type        = "service"

  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }

  group "cache" {
    count = 1

    network {
      port "db" {
        to = 6379
      }
    }

    restart {
      attempts = 2
      interval = "30m"
      delay    = "15s"
      mode     = "fail"
    }

    task "redis" {
      driver = "raw_exec"

      config {
        command = "/usr/bin/redis-server"
        args    = ["--port", "${NOMAD_PORT_db}", "--dir", "${NOMAD_ALLOC_DIR}/data"]
      }

      env {
        REDIS_MODE = "cache"
      }

      template {
        data        = <<-EOH
          port {{ env "NOMAD_PORT_db" }}
          dir ${NOMAD_ALLOC_DIR}
        EOH
        destination = "local/redis.conf"
      }

      resources {
        cpu    = 500 # MHz
        memory = 256 # MB
      }

      kill_timeout = "20s"
    }
  }
}
)");
  ASSERT_EQ(f.blocks.size(), 1u);
  const Block& job = f.blocks[0];
  EXPECT_EQ(job.type, "job");
  EXPECT_EQ(job.labels[0], "example");
  EXPECT_EQ(job.blocks[0].Find("attribute")->value, json::value("${attr.kernel.name}"));
  const Block& group = job.blocks.at(1);
  EXPECT_EQ(group.labels[0], "cache");
  EXPECT_EQ(group.Find("count")->value, json::value(1));
  EXPECT_EQ(group.blocks.at(0).blocks.at(0).Find("to")->value, json::value(6379));
  const Block& task = group.blocks.at(2);
  EXPECT_EQ(task.type, "task");
  EXPECT_EQ(task.Find("driver")->value, json::value("raw_exec"));
  EXPECT_EQ(json::serialize(task.blocks.at(0).Find("args")->value),
            Json(R"(["--port","${NOMAD_PORT_db}","--dir","${NOMAD_ALLOC_DIR}/data"])"));
  EXPECT_EQ(task.blocks.at(2).Find("data")->value,
            json::value("port {{ env \"NOMAD_PORT_db\" }}\ndir ${NOMAD_ALLOC_DIR}\n"));
  EXPECT_EQ(task.blocks.at(3).Find("memory")->value, json::value(256));
  EXPECT_EQ(task.Find("kill_timeout")->pos.line, 51);
}

TEST(HclNomadTest, JobspecWithObjectsAndLists) {
  Block f = MustParse(R"(job "batch" {
  type = "batch"
  meta = {
    owner   = "ops"
    "team.x" = "infra"
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo $HOME; exit 0"]
      }
      lifecycle {
        hook    = "prestart"
        sidecar = false
      }
    }
  }
}
)");
  const Block& job = f.blocks.at(0);
  EXPECT_EQ(json::serialize(job.Find("meta")->value), Json(R"({"owner":"ops","team.x":"infra"})"));
  const Block& task = job.blocks.at(0).blocks.at(0);
  EXPECT_EQ(json::serialize(task.blocks.at(0).Find("args")->value),
            Json(R"(["-c","echo $HOME; exit 0"])"));
  EXPECT_EQ(task.blocks.at(1).Find("sidecar")->value, json::value(false));
}

// ---- Errors -----------------------------------------------------------------

struct ErrorCase {
  std::string source;
  const char* error;
};

TEST(HclErrorTest, ExactMessagesWithPositions) {
  const ErrorCase cases[] = {
      // Structure.
      {"a = 1\na = 2\n", "t.hcl:2:1: attribute \"a\" is already set at t.hcl:1:1"},
      {"b {\n  x = 1\n  y = 2\n  x = 3\n}\n",
       "t.hcl:4:3: attribute \"x\" is already set at t.hcl:2:3"},
      {"b {\n  x = 1\n", "t.hcl:3:1: missing \"}\" to close the block opened at t.hcl:1:3"},
      {"}\n", "t.hcl:1:1: unexpected \"}\": no block is open"},
      {"= 1\n", "t.hcl:1:1: expected an attribute or block name, found \"=\""},
      {"\"a\" = 1\n", "t.hcl:1:1: expected an attribute or block name, found a string"},
      {"a 1\n", "t.hcl:1:3: expected \"=\" or a block after \"a\", found number 1"},
      {"a\n= 1\n", "t.hcl:1:2: expected \"=\" or a block after \"a\", found newline"},
      {"a \"x\" y", "t.hcl:1:8: expected \"{\" to open block \"a\", found end of file"},
      {"a \"${x}\" {\n}\n", "t.hcl:1:3: template sequences are not allowed in block labels"},
      {"a { x = 1, y = 2 }\n",
       "t.hcl:1:10: expected \"}\" after the attribute of a single-line block (it can hold only "
       "one), found \",\""},
      {"a { x = 1 y = 2 }\n",
       "t.hcl:1:11: expected \"}\" after the attribute of a single-line block (it can hold only "
       "one), found name \"y\""},
      {"a { b { } }\n",
       "t.hcl:1:5: a single-line block can hold one attribute but no block; put block \"b\" on "
       "its own line"},
      {"a { 1 }\n", "t.hcl:1:5: expected an attribute, a newline or \"}\", found number 1"},
      {"a {\n} b = 1\n",
       "t.hcl:2:3: expected a newline after the block's closing \"}\", found name \"b\""},
      {"a {} {}\n", "t.hcl:1:6: expected a newline after the block's closing \"}\", found \"{\""},
      {"a {\n  x = 1 }\n",
       "t.hcl:2:9: expected a newline after the attribute value, found \"}\""},
      {"v = 1 2\n", "t.hcl:1:7: expected a newline after the attribute value, found number 2"},
      {"v = \"\xC3\xA9\" x\n",
       "t.hcl:1:10: expected a newline after the attribute value, found name \"x\""},
      {"v =\n1\n", "t.hcl:1:4: expected a value, found newline"},
      {"v = ", "t.hcl:1:5: expected a value, found end of file"},
      {"v = }", "t.hcl:1:5: expected a value, found \"}\""},
      // Expressions that are not literals.
      {"v = foo\n",
       "t.hcl:1:5: variables are not supported yet: \"foo\" (to give a string, quote it)"},
      {"\tv = read\n",
       "t.hcl:1:6: variables are not supported yet: \"read\" (to give a string, quote it)"},
      {"v = upper(\"a\")\n", "t.hcl:1:5: function calls are not supported yet: \"upper\""},
      {"v = 1 + 2\n", "t.hcl:1:7: operators are not supported yet: found \"+\""},
      {"v = 1 - 2\n", "t.hcl:1:7: operators are not supported yet: found \"-\""},
      {"v = -x\n", "t.hcl:1:5: operators are not supported yet: found \"-\""},
      {"v = !true\n", "t.hcl:1:5: operators are not supported yet: found \"!\""},
      {"v = true ? 1 : 2\n", "t.hcl:1:10: operators are not supported yet: found \"?\""},
      {"v = 1 == 1\n", "t.hcl:1:7: operators are not supported yet: found \"==\""},
      {"v = 1 && 1\n", "t.hcl:1:7: operators are not supported yet: found \"&&\""},
      {"v = \"x\".y\n", "t.hcl:1:8: operators are not supported yet: found \".\""},
      {"v = [1, 2][0]\n", "t.hcl:1:11: index expressions are not supported yet"},
      {"v = [for s in l: s]\n", "t.hcl:1:6: for expressions are not supported yet"},
      {"v = (1)\n", "t.hcl:1:5: parenthesized expressions are not supported yet"},
      {"v = { (k) = 1 }\n", "t.hcl:1:7: computed object keys are not supported yet"},
      // Numbers.
      {"v = 1e400\n", "t.hcl:1:5: number out of range: \"1e400\""},
      {"v = -1e400\n", "t.hcl:1:5: number out of range: \"-1e400\""},
      {"v = 1e-400\n", "t.hcl:1:5: number out of range: \"1e-400\""},
      {"v = 0x1F\n", "t.hcl:1:5: malformed number \"0x1F\""},
      {"v = 1e\n", "t.hcl:1:5: malformed number \"1e\""},
      {"v = 1.\n", "t.hcl:1:6: operators are not supported yet: found \".\""},
      // Lists and objects.
      {"v = [1 2]\n", "t.hcl:1:8: expected \",\" or \"]\" after a list element, found number 2"},
      {"v = [1, 2", "t.hcl:1:10: missing \"]\" to close the list opened at t.hcl:1:5"},
      {"v = [1,\n", "t.hcl:2:1: missing \"]\" to close the list opened at t.hcl:1:5"},
      {"v = [,]\n", "t.hcl:1:6: expected a value, found \",\""},
      {"v = { a = 1 b = 2 }\n",
       "t.hcl:1:13: expected \",\", a newline or \"}\" after an object item, found name \"b\""},
      {"v = { a = 1, a = 2 }\n", "t.hcl:1:14: object key \"a\" is already set at t.hcl:1:7"},
      {"v = {\n  \"a\" = 1\n  a = 2\n}\n",
       "t.hcl:3:3: object key \"a\" is already set at t.hcl:2:3"},
      {"v = { 1 = 2 }\n",
       "t.hcl:1:7: expected an object key (a name or a quoted string), found number 1"},
      {"v = { a 1 }\n", "t.hcl:1:9: expected \"=\" or \":\" after the object key, found number 1"},
      {"v = { a = 1", "t.hcl:1:12: missing \"}\" to close the object opened at t.hcl:1:5"},
      // Strings.
      {"v = \"abc\n",
       "t.hcl:1:5: unterminated string (a quoted string ends on its line; use \\n or a heredoc "
       "for more lines)"},
      {"v = \"abc",
       "t.hcl:1:5: unterminated string (a quoted string ends on its line; use \\n or a heredoc "
       "for more lines)"},
      {"v = \"a\\qb\"\n", "t.hcl:1:7: invalid escape sequence \"\\q\""},
      {"v = \"a\\", "t.hcl:1:5: unterminated string"},
      {"v = \"\\u12\"\n", "t.hcl:1:6: \\u must be followed by 4 hexadecimal digits"},
      {"v = \"\\U0001F6\"\n", "t.hcl:1:6: \\U must be followed by 8 hexadecimal digits"},
      {"v = \"\\uD800\"\n", "t.hcl:1:6: invalid Unicode code point \"\\\\uD800\""},
      {"v = \"\\U00110000\"\n", "t.hcl:1:6: invalid Unicode code point \"\\\\U00110000\""},
      {"v = \"${x", "t.hcl:1:6: unterminated template sequence: missing \"}\""},
      {"v = \"${x\"\n", "t.hcl:1:6: unterminated string inside template sequence"},
      {"v = \"${\"x}\"\n", "t.hcl:1:6: unterminated template sequence: missing \"}\""},
      {"v = \"${\"x\n\"}\"\n", "t.hcl:1:6: unterminated string inside template sequence"},
      {"v = 'x'\n",
       "t.hcl:1:5: single quotes are not valid; use double quotes (\") to enclose strings"},
      // Heredocs.
      {"v = <<EOF\nabc\n", "t.hcl:1:5: unterminated heredoc: no closing \"EOF\" line"},
      {"v = <<EOF abc\n", "t.hcl:1:10: a heredoc marker must be followed by a newline"},
      {"v = <<EOF", "t.hcl:1:10: a heredoc marker must be followed by a newline"},
      {"v = << EOF\n", "t.hcl:1:5: expected a heredoc marker name after \"<<\""},
      {"v = <<-\n", "t.hcl:1:5: expected a heredoc marker name after \"<<\""},
      // Characters and comments.
      {"/* open", "t.hcl:1:1: unterminated /* comment"},
      {"a = 1 /* open\n\n", "t.hcl:1:7: unterminated /* comment"},
      {"v = @\n", "t.hcl:1:5: unexpected character \"@\""},
      {"v = 1 & 2\n", "t.hcl:1:7: unexpected character \"&\""},
      {"v = $x\n", "t.hcl:1:5: unexpected character \"$\""},
      {"\xC3\xA9 = 1\n", "t.hcl:1:1: unexpected character U+00E9"},
      {"v = 1\x01\n", "t.hcl:1:6: unexpected character U+0001"},
      {"v = 1\rw = 2\n", "t.hcl:1:6: carriage return without a line feed"},
      // Encoding.
      {"\xEF\xBB\xBFv = 1\n", "t.hcl:1:1: a UTF-8 byte order mark is not allowed"},
      {"v = \"a\xFF\"\n", "t.hcl:1:7: invalid UTF-8"},
      {"a = 1\n# \xC0\xAF overlong\n", "t.hcl:2:3: invalid UTF-8"},
      {"v = \"\xED\xA0\x80\"\n", "t.hcl:1:6: invalid UTF-8"},      // a surrogate
      {"v = \"\xF4\x90\x80\x80\"\n", "t.hcl:1:6: invalid UTF-8"},  // past U+10FFFF
      {"v = \"\xE2\x82\"\n", "t.hcl:1:6: invalid UTF-8"},          // cut short
      {"v = \"\xE2\x82", "t.hcl:1:6: invalid UTF-8"},
      {std::string("a = 1\nb = \"\0\"\n", 12), "t.hcl:2:6: NUL byte in input"},
  };
  for (const auto& c : cases) EXPECT_EQ(ErrorOf(c.source), c.error) << c.source;
}

TEST(HclErrorTest, FilenameLeadsEveryError) {
  Result<Block> r = Parse("v = x\n", "policies/readonly.hcl");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "policies/readonly.hcl:1:5: variables are not supported yet: \"x\" (to give a "
            "string, quote it)");
}

TEST(HclErrorTest, LongNamesAndKeysAreCutInMessages) {
  std::string key(200, 'k');
  std::string error = ErrorOf("v = { " + key + " = 1, " + key + " = 2 }\n");
  EXPECT_EQ(error, "t.hcl:1:213: object key \"" + std::string(64, 'k') +
                       "...\" is already set at t.hcl:1:7");
  std::string esc = ErrorOf("v = { \"a\\nb\" = 1, \"a\\nb\" = 2 }\n");
  EXPECT_EQ(esc, "t.hcl:1:19: object key \"a\\x0ab\" is already set at t.hcl:1:7");
}

// ---- Hostile input ----------------------------------------------------------

TEST(HclHostileTest, NestingBeyondTheLimitIsRefused) {
  std::string lists = "v = " + std::string(100000, '[');
  EXPECT_EQ(ErrorOf(lists), "t.hcl:1:133: nesting is deeper than 128 levels");
  std::string objects = "v = ";
  for (int i = 0; i < 200; ++i) objects += "{a=";
  EXPECT_EQ(ErrorOf(objects), "t.hcl:1:389: nesting is deeper than 128 levels");
  std::string blocks;
  for (int i = 0; i < 200; ++i) blocks += "b {\n";
  EXPECT_EQ(ErrorOf(blocks), "t.hcl:129:3: nesting is deeper than 128 levels");
  std::string templates = "v = \"";
  for (int i = 0; i < 200; ++i) templates += "${\"";
  EXPECT_EQ(ErrorOf(templates), "t.hcl:1:6: template sequence nested too deeply");
  std::string braces = "v = \"${" + std::string(100000, '{');
  EXPECT_EQ(ErrorOf(braces), "t.hcl:1:6: template sequence nested too deeply");
}

TEST(HclHostileTest, InputSizeIsLimited) {
  std::string big = "v = \"" + std::string(kMaxSourceBytes, 'x') + "\"\n";
  EXPECT_EQ(ErrorOf(big), "t.hcl:1:1: input is " + std::to_string(big.size()) +
                              " bytes; the limit is 4194304");
  std::string fits = "v = \"" + std::string(kMaxSourceBytes - 7, 'x') + "\"\n";
  ASSERT_EQ(fits.size(), kMaxSourceBytes);
  Block b = MustParse(fits);
  EXPECT_EQ(b.Find("v")->value.as_string().size(), kMaxSourceBytes - 7);
}

// Large flat inputs of each kind parse; a quadratic step would make this test
// time out rather than fail, so the sizes are near the input limit.
TEST(HclHostileTest, LargeFlatInputsParse) {
  std::string attrs;
  for (int i = 0; i < 100000; ++i) attrs += "a" + std::to_string(i) + " = " + std::to_string(i) + "\n";
  EXPECT_EQ(MustParse(attrs).attributes.size(), 100000u);

  std::string list = "v = [";
  for (int i = 0; i < 500000; ++i) list += "1,";
  list += "]\n";
  EXPECT_EQ(MustParse(list).Find("v")->value.as_array().size(), 500000u);

  std::string object = "v = {\n";
  for (int i = 0; i < 100000; ++i) object += "k" + std::to_string(i) + " = 1\n";
  object += "}\n";
  EXPECT_EQ(MustParse(object).Find("v")->value.as_object().size(), 100000u);

  std::string heredoc = "v = <<-EOF\n";
  for (int i = 0; i < 200000; ++i) heredoc += "  line ${x}\n";
  heredoc += "EOF\n";
  EXPECT_EQ(MustParse(heredoc).Find("v")->value.as_string().size(), 200000u * 10);

  std::string comments;
  for (int i = 0; i < 300000; ++i) comments += "/**/#\n";
  EXPECT_TRUE(MustParse(comments).attributes.empty());

  std::string digits = "v = " + std::string(1 << 20, '7') + "\n";
  EXPECT_EQ(ErrorOf(digits),
            "t.hcl:1:5: number out of range: \"" + std::string(64, '7') + "...\"");
}

}  // namespace
}  // namespace drover::hcl
