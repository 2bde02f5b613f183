// The HCL jobspec: expressions and functions (hcl/expr.h), Nomad's jobspec
// mapping (hcl/jobspec.h), and the fixtures under tests/fixtures/jobspec/:
// each <name>.hcl must produce exactly <name>.json.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "hcl/expr.h"
#include "hcl/hcl.h"
#include "hcl/jobspec.h"

namespace drover::hcl {
namespace {

namespace json = boost::json;

// The value of attribute `v` in `source`, with `vars` as var.*.
Result<json::value> Eval(const std::string& source, const json::object& vars = {}) {
  ASSIGN_OR_RETURN(Block b, ParseConfig(source, "t.hcl"));
  EvalContext ctx;
  ctx.filename = "t.hcl";
  ctx.variables = &vars;
  return Evaluate(*b.Find("v")->expr, ctx);
}

json::value MustEval(const std::string& source, const json::object& vars = {}) {
  auto v = Eval(source, vars);
  EXPECT_TRUE(v.ok()) << source << ": " << v.status().message();
  return v.ok() ? *v : json::value();
}

std::string EvalError(const std::string& source) {
  auto v = Eval(source);
  EXPECT_FALSE(v.ok()) << source << " evaluated to " << (v.ok() ? json::serialize(*v) : "");
  return v.ok() ? "" : v.status().message();
}

Result<json::object> Job(const std::string& source,
                         std::map<std::string, std::string> flags = {},
                         std::string_view var_file = "") {
  JobspecInput in;
  in.source = source;
  in.var_flags = std::move(flags);
  in.variables_file = var_file;
  return ParseJobspec(in);
}

std::string JobError(const std::string& source) {
  auto v = Job(source);
  EXPECT_FALSE(v.ok()) << source;
  return v.ok() ? "" : v.status().message();
}

TEST(HclExprTest, ArithmeticComparisonAndLogic) {
  EXPECT_EQ(MustEval("v = 1 + 2 * 3\n"), json::value(7));
  EXPECT_EQ(MustEval("v = (1 + 2) * 3\n"), json::value(9));
  EXPECT_EQ(MustEval("v = 7 / 2\n"), json::value(3.5));
  EXPECT_EQ(MustEval("v = 8 / 2\n"), json::value(4));
  EXPECT_EQ(MustEval("v = 7 % 3\n"), json::value(1));
  EXPECT_EQ(MustEval("v = -3 - -4\n"), json::value(1));
  EXPECT_EQ(MustEval("v = 9223372036854775807 + 1\n"), json::value(9223372036854775808.0));
  EXPECT_EQ(MustEval("v = \"5\" + 1\n"), json::value(6));
  EXPECT_EQ(MustEval("v = 1 < 2 && !(2 <= 1) || false\n"), json::value(true));
  EXPECT_EQ(MustEval("v = [1, \"a\"] == [1, \"a\"]\n"), json::value(true));
  EXPECT_EQ(MustEval("v = 1 == 1.0\n"), json::value(true));
  EXPECT_EQ(MustEval("v = 2 > 1 ? \"yes\" : \"no\"\n"), json::value("yes"));
  EXPECT_EQ(MustEval("v = {a = [10, 20]}.a[1]\n"), json::value(20));
  EXPECT_EQ(MustEval("v = (\n  1 +\n  2\n)\n"), json::value(3));
}

TEST(HclExprTest, TemplatesAndRuntimeReferences) {
  json::object vars{{"name", "web"}, {"n", 3}, {"list", json::array{"a", "b"}}};
  EXPECT_EQ(MustEval("v = \"app-${var.name}-${var.n * 2}\"\n", vars), json::value("app-web-6"));
  EXPECT_EQ(MustEval("v = \"${var.list}\"\n", vars), json::value(json::array{"a", "b"}));
  EXPECT_EQ(MustEval("v = var.list[1]\n", vars), json::value("b"));
  EXPECT_EQ(MustEval("v = \"${NOMAD_ALLOC_DIR}/data\"\n"), json::value("${NOMAD_ALLOC_DIR}/data"));
  EXPECT_EQ(MustEval("v = \"${attr.kernel.name}\"\n"), json::value("${attr.kernel.name}"));
  EXPECT_EQ(MustEval("v = \"${env[\"HOME\"]}\"\n"), json::value("${env[\"HOME\"]}"));
  EXPECT_EQ(MustEval("v = node.unique.name\n"), json::value("${node.unique.name}"));
  EXPECT_EQ(MustEval("v = \"$${literal} %%{x}\"\n"), json::value("${literal} %{x}"));
  EXPECT_EQ(MustEval("v = \"${upper(\"a}b\")}\"\n"), json::value("A}B"));
  EXPECT_EQ(MustEval("v = <<-EOT\n    x=${var.n}\n      y\n    EOT\n", vars),
            json::value("x=3\n  y\n"));
}

TEST(HclExprTest, Functions) {
  EXPECT_EQ(MustEval("v = format(\"%s-%03d|%5s|%-3s|%q|%05d\", \"a\", 7, \"r\", \"l\", \"q\", -42)\n"),
            json::value("a-007|    r|l  |\"q\"|-0042"));
  EXPECT_EQ(MustEval("v = join(\",\", [\"a\", \"b\"], [\"c\"])\n"), json::value("a,b,c"));
  EXPECT_EQ(MustEval("v = split(\",\", \"a,,b\")\n"), json::value(json::array{"a", "", "b"}));
  EXPECT_EQ(MustEval("v = concat([1], [], [2, 3])\n"), json::value(json::array{1, 2, 3}));
  EXPECT_EQ(MustEval("v = merge({a = 1, b = 1}, {b = 2})\n"), json::value(json::object{{"a", 1}, {"b", 2}}));
  EXPECT_EQ(MustEval("v = lookup({a = 1}, \"b\", 9)\n"), json::value(9));
  EXPECT_EQ(MustEval("v = jsonencode({a = [1, true, null]})\n"), json::value("{\"a\":[1,true,null]}"));
  EXPECT_EQ(MustEval("v = jsondecode(\"[1,2]\")[1]\n"), json::value(2));
  EXPECT_EQ(MustEval("v = tonumber(\"42\") + length(\"héllo\")\n"), json::value(47));
  EXPECT_EQ(MustEval("v = tostring(1.5)\n"), json::value("1.5"));
  EXPECT_EQ(MustEval("v = replace(\"a.b.c\", \".\", \"-\")\n"), json::value("a-b-c"));
  EXPECT_EQ(MustEval("v = coalesce(\"\", null, \"x\")\n"), json::value("x"));
  EXPECT_EQ(MustEval("v = [min(3, 1, 2), max(3, 1.5), abs(-2), ceil(1.2), floor(1.8)]\n"),
            json::value(json::array{1, 3, 2, 2, 1}));
  EXPECT_EQ(MustEval("v = [lower(\"AB\"), trimspace(\" x \"), title(\"a b\"), substr(\"hello\", 1, 3)]\n"),
            json::value(json::array{"ab", "x", "A B", "ell"}));
  EXPECT_EQ(MustEval("v = [contains([1, 2], 2), keys({b = 1, a = 2}), range(3)]\n"),
            json::value(json::array{true, json::array{"a", "b"}, json::array{0, 1, 2}}));
  EXPECT_EQ(MustEval("v = max([4, 9, 2]...)\n"), json::value(9));
  EXPECT_EQ(MustEval("v = base64encode(\"hi!?\")\n"), json::value("aGkhPw=="));
}

TEST(HclExprTest, ErrorsNamePositions) {
  EXPECT_EQ(EvalError("v = nosuch(1)\n"),
            "t.hcl:1:5: Call to unknown function; There is no function named \"nosuch\".");
  EXPECT_EQ(EvalError("v = upper()\n"),
            "t.hcl:1:5: Invalid function call; Function \"upper\" expects 1 argument(s), got 0.");
  EXPECT_EQ(EvalError("v = file(\"/etc/passwd\")\n"),
            "t.hcl:1:5: Invalid function argument; file: filesystem functions are disabled: "
            "this parser reads no files");
  EXPECT_EQ(EvalError("v = 1 / 0\n"), "t.hcl:1:7: Division by zero");
  EXPECT_EQ(EvalError("v = \"a\" * 2\n"),
            "t.hcl:1:5: Invalid operand: a number is required, but \"a\" is not one");
  EXPECT_EQ(EvalError("v = [1][3]\n"),
            "t.hcl:1:9: Invalid index: the given index is greater than or equal to the length "
            "of the collection");
  EXPECT_EQ(EvalError("v = \"${var.x}\"\n"),
            "t.hcl:1:8: Unsupported attribute; This object does not have an attribute named "
            "\"x\" (no variable block declares it)");
  EXPECT_EQ(EvalError("v = \"a ${[1]} b\"\n"),
            "t.hcl:1:10: Invalid template interpolation value: a string is required, but the "
            "value is a list");
  auto syntax = ParseConfig("v = \"x ${1 +} y\"\n", "t.hcl");
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.status().message(), "t.hcl:1:13: expected an expression, found \"}\"");
  syntax = ParseConfig("v = max([1]..., 2)\n", "t.hcl");
  EXPECT_EQ(syntax.status().message(), "t.hcl:1:17: expected \")\" after \"...\", found number 2");
  EXPECT_EQ(MustEval("v = max(\n  1,\n  2,\n)\n"), json::value(2));
  syntax = ParseConfig("v = [for x in y: x]\n", "t.hcl");
  EXPECT_EQ(syntax.status().message(), "t.hcl:1:6: for expressions are not supported");
  syntax = ParseConfig("v = \"%{ if true }x%{ endif }\"\n", "t.hcl");
  EXPECT_EQ(syntax.status().message(),
            "t.hcl:1:6: template directives (%{...}) are not supported; write %%{ for a "
            "literal %{");
}

TEST(HclExprTest, HostileGrowthIsBounded) {
  std::string src = "locals {\n  l0 = \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"\n";
  for (int i = 1; i <= 40; ++i) {
    src += "  l" + std::to_string(i) + " = \"${local.l" + std::to_string(i - 1) + "}${local.l" +
           std::to_string(i - 1) + "}\"\n";
  }
  src += "}\njob \"x\" {\n  meta = { a = local.l40 }\n}\n";
  std::string err = JobError(src);
  EXPECT_NE(err.find("string longer than"), std::string::npos) << err;
  EXPECT_NE(JobError("job \"x\" {\n  meta = { a = join(\",\", range(100000000)) }\n}\n")
                .find("range too large"),
            std::string::npos);
  // One large local referenced many times does not multiply past the budget.
  std::string many = "locals {\n  big = join(\"\", [for_each])\n}\njob \"x\" {\n  meta = {\n";
  std::string items;
  for (int i = 0; i < 4000; ++i) items += "\"" + std::string(1000, 'x') + "\",";
  many.replace(many.find("for_each"), 8, items);
  for (int i = 0; i < 100; ++i) many += "    k" + std::to_string(i) + " = local.big\n";
  many += "  }\n}\n";
  EXPECT_NE(JobError(many).find("produce too much data"), std::string::npos);
  EXPECT_NE(JobError("locals {\n  a = local.b\n  b = local.a\n}\njob \"x\" {\n  name = local.a\n}\n")
                .find("Cycle in local values"),
            std::string::npos);
}

TEST(JobspecTest, VariablesDefaultsFileAndFlags) {
  const std::string src =
      "variable \"n\" {\n  type = number\n  default = 1\n}\n"
      "variable \"dcs\" {\n  type = list(string)\n  default = [\"a\"]\n}\n"
      "variable \"name\" {\n  type = string\n}\n"
      "job \"j\" {\n  name = var.name\n  datacenters = var.dcs\n  group \"g\" {\n    count = var.n\n  }\n}\n";
  EXPECT_EQ(JobError(src),
            "input.hcl:9:1: Unset variable \"name\"; A used variable must be set or have a "
            "default value.");
  auto job = Job(src, {{"name", "from-flag"}, {"n", "3"}, {"dcs", "[\"x\", \"y\"]"}});
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ((*job)["Name"], json::value("from-flag"));
  EXPECT_EQ((*job)["Datacenters"], json::value(json::array{"x", "y"}));
  EXPECT_EQ((*job)["TaskGroups"].at(0).at("Count"), json::value(3));
  job = Job(src, {}, "name = \"from-file\"\nn = 2\n");
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ((*job)["Name"], json::value("from-file"));
  EXPECT_EQ((*job)["TaskGroups"].at(0).at("Count"), json::value(2));
  auto bad = Job(src, {{"name", "x"}, {"n", "three"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("The value of variable \"n\" is not a number"),
            std::string::npos);
  bad = Job(src, {{"name", "x"}, {"zzz", "1"}});
  EXPECT_NE(bad.status().message().find("Undefined -var variable"), std::string::npos);
  bad = Job(src, {}, "name = \"x\"\nother = 1\n");
  EXPECT_EQ(bad.status().message(),
            "variables.hcl:2:1: Undefined variable; A variable named \"other\" was given a "
            "value but is not declared by a variable block.");
}

TEST(JobspecTest, UnknownBlocksAndAttributesAreRefusedWithPosition) {
  EXPECT_EQ(JobError("job \"j\" {\n  group \"g\" {\n    cuont = 2\n  }\n}\n"),
            "input.hcl:3:5: Unsupported argument; An argument named \"cuont\" is not expected "
            "here.");
  EXPECT_EQ(JobError("job \"j\" {\n  group \"g\" {\n    task \"t\" {\n      resource {\n      }\n    }\n  }\n}\n"),
            "input.hcl:4:7: Unsupported block type; Blocks of type \"resource\" are not expected "
            "here.");
  EXPECT_EQ(JobError("job \"j\" {\n  group \"g\" {\n    task \"t\" {\n      vault {\n      }\n    }\n  }\n}\n"),
            "input.hcl:4:7: Unsupported block type; Blocks of type \"vault\" are not supported "
            "by Drover.");
  EXPECT_EQ(JobError("job \"j\" {\n  group {\n  }\n}\n"),
            "input.hcl:2:3: Missing name for group; All group blocks must have 1 labels (name).");
  EXPECT_EQ(JobError("job \"j\" {\n  update {\n  }\n  update {\n  }\n}\n"),
            "input.hcl:4:3: Duplicate update block; Only one update block is allowed. Another "
            "was defined at input.hcl:2:3.");
  EXPECT_EQ(JobError("job \"j\" {\n  group \"g\" {\n    task \"t\" {\n      kill_timeout = \"5 s\"\n    }\n  }\n}\n"),
            "input.hcl:4:7: Unsuitable value type; Unsuitable duration value: time: unknown "
            "unit \" s\" in duration \"5 s\"");
  EXPECT_EQ(JobError("job \"j\" {\n  group \"g\" {\n    count = \"many\"\n  }\n}\n"),
            "input.hcl:3:5: Incorrect attribute value type; Inappropriate value for attribute "
            "\"count\": number required.");
  EXPECT_EQ(JobError("job \"j\" {\n  group \"g\" {\n    task \"t\" {\n      lifecycle {\n        sidecar = true\n      }\n    }\n  }\n}\n"),
            "input.hcl:4:7: Missing required argument; The argument \"hook\" is required, but no "
            "definition was found.");
  EXPECT_EQ(JobError("variable \"x\" {\n  default = 1\n}\n"),
            "input.hcl:1:1: Missing job block; A job block is required");
  EXPECT_EQ(JobError("job \"a\" {\n}\njob \"b\" {\n}\n"),
            "input.hcl:3:1: Duplicate job block; Only one job block is allowed. Another was "
            "defined at input.hcl:1:1.");
  EXPECT_EQ(JobError("job \"a\" {\n  datacenters = [\"a\"\n}\n"),
            "input.hcl:3:1: expected \",\" or \"]\" after a list element, found \"}\"");
}

// Every fixture: the HCL file must give exactly the JSON next to it.
// DROVER_UPDATE_FIXTURES=1 rewrites the JSON files instead (review the diff).
TEST(JobspecFixtureTest, EveryFixtureMatches) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(DROVER_FIXTURE_DIR) / "jobspec";
  const bool update = std::getenv("DROVER_UPDATE_FIXTURES") != nullptr;
  int count = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".hcl") continue;
    ++count;
    std::ifstream in(entry.path());
    std::stringstream src;
    src << in.rdbuf();
    JobspecInput input;
    const std::string text = src.str();
    input.source = text;
    input.filename = entry.path().filename().string();
    auto job = ParseJobspec(input);
    ASSERT_TRUE(job.ok()) << entry.path() << ": " << job.status().message();
    fs::path want_path = entry.path();
    want_path.replace_extension(".json");
    if (update) {
      std::ofstream(want_path) << json::serialize(*job) << "\n";
      continue;
    }
    std::ifstream want_in(want_path);
    ASSERT_TRUE(want_in.good()) << "missing " << want_path;
    std::stringstream want;
    want << want_in.rdbuf();
    EXPECT_EQ(json::value(*job), json::parse(want.str())) << entry.path();
  }
  EXPECT_GE(count, 10);
}

}  // namespace
}  // namespace drover::hcl
