#include "service/filter.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <string>

namespace drover::api {
namespace {

namespace json = boost::json;

// An allocation-like object, as the JSON encoding of a Nomad struct.
const json::value& Alloc() {
  static const json::value kAlloc = json::parse(R"({
    "ID": "8f2e6c1a-4b5d-4e7f-9a0b-1c2d3e4f5a6b",
    "Name": "example.web[0]",
    "JobID": "example",
    "ClientStatus": "running",
    "CreateIndex": 12,
    "CreateTime": 1700000000000000000,
    "Huge": 18446744073709551615,
    "Negative": -3,
    "Ratio": 0.5,
    "Canary": false,
    "Empty": "",
    "Tags": ["web", "frontend", "v2"],
    "Ports": [8080, 8443],
    "Mixed": [true, "x", 3, null],
    "Nested": [[1]],
    "EmptyList": [],
    "NilList": null,
    "Meta": {"owner": "team-a", "dotted.key": "yes", "with space": "ok",
             "a/b": "slash", "til~de": "t", "\u00fcn\u00ef": "u"},
    "EmptyMeta": {},
    "NilMeta": null,
    "DeploymentStatus": null,
    "TaskStates": {
      "web": {"State": "running", "Failed": false, "Restarts": 2,
              "Events": [{"Type": "Started"}]},
      "sidecar": {"State": "dead", "Failed": true, "Restarts": 0, "Events": []}
    },
    "Job": {"Name": "example", "Datacenters": ["dc1", "dc2"], "Multi": "line1\nline2"}
  })");
  return kAlloc;
}

struct MatchCase {
  const char* expression;
  bool expected;
};

// Each case parses, evaluates without error against Alloc(), and gives
// `expected`.
const MatchCase kMatchCases[] = {
    // == and != by the selected value's type
    {R"(ClientStatus == "running")", true},
    {R"(ClientStatus == running)", true},
    {R"(ClientStatus=="running")", true},
    {R"(ClientStatus == "pending")", false},
    {R"(ClientStatus != "pending")", true},
    {R"(ClientStatus != running)", false},
    {R"(CreateIndex == 12)", true},
    {R"(CreateIndex == 12.0)", true},
    {R"(CreateIndex == "12")", true},
    {R"(CreateIndex != 13)", true},
    {R"(CreateTime == 1700000000000000000)", true},
    {R"(CreateTime == 1700000000000000001)", false},
    {R"(Huge == 18446744073709551615)", true},
    {R"(Negative == -3)", true},
    {R"(Ratio == 0.5)", true},
    {R"(Ratio != 0.25)", true},
    {R"(Canary == false)", true},
    {R"(Canary == F)", true},
    {R"(Canary != true)", true},
    {R"(Canary == 0)", true},
    {R"(Empty == "")", true},
    // value forms
    {R"(Name == "example.web[0]")", true},
    {"Name == `example.web[0]`", true},
    {R"(Job.Multi == "line1\nline2")", true},
    {R"(Job.Multi == "line1\x0aline2")", true},
    {R"(Job.Multi == "line1\012line2")", true},
    {R"(Meta["ünï"] == "\u0075")", true},
    {R"(Name == "example.web\u005b0\U0000005d")", true},
    {R"(JobID == Job.Name)", false},  // a bare selector value is its text
    {R"(ClientStatus == "\"running\"")", false},
    // selector forms
    {R"(Job.Name == example)", true},
    {R"(Meta.owner == "team-a")", true},
    {R"(Meta["dotted.key"] == yes)", true},
    {R"(Meta[ "with space" ] == ok)", true},
    {"Meta[`a/b`] == slash", true},
    {R"(Tags.1 == frontend)", true},
    {R"(TaskStates.web.State == "running")", true},
    {R"(TaskStates.sidecar.Failed == true)", true},
    {R"(TaskStates.web.Restarts == 2)", true},
    {R"(TaskStates.web.Events.0.Type == Started)", true},
    {R"("/Meta/owner" == "team-a")", true},
    {R"("/Meta/a~1b" == slash)", true},
    {R"("/Meta/til~0de" == t)", true},
    {R"("/Tags/0" == web)", true},
    {R"("/Tags" contains frontend)", true},
    {R"(web in "/Tags")", true},
    // a missing last key below the top level is "not present"
    {R"(Meta.missing == "x")", false},
    {R"(Meta.missing != "x")", true},
    {R"("x" in Meta.missing)", false},
    {R"("x" not in Meta.missing)", true},
    {R"(Meta.missing is empty)", true},
    {R"(Meta.missing is not empty)", false},
    {R"(Meta.missing matches ".")", false},
    {R"(Meta.missing not matches ".")", true},
    {R"(Meta.missing is nil)", true},
    {R"(Meta.missing is not nil)", false},
    {R"(NilMeta.key == x)", false},
    {R"(NilMeta.key != x)", true},
    // contains / in on arrays, strings and maps
    {R"(Tags contains web)", true},
    {R"(Tags contains "back")", false},
    {R"(Tags not contains back)", true},
    {R"("web" in Tags)", true},
    {R"(web in Tags)", true},
    {R"("frontend" not in Tags)", false},
    {R"(Name contains "web")", true},
    {R"("xample" in Name)", true},
    {R"("" in Name)", true},
    {R"(Meta contains owner)", true},
    {R"("owner" in Meta)", true},
    {R"("team-a" in Meta)", false},
    {R"(8080 in Ports)", true},
    {R"("8443" in Ports)", true},
    {R"(80 in Ports)", false},
    {R"(true in Mixed)", true},
    {R"(x in Mixed)", true},
    {R"(3 in Mixed)", true},
    {R"(4 not in Mixed)", true},
    {R"("web" in NilList)", false},
    {R"("dc2" in Job.Datacenters)", true},
    {R"("web" in TaskStates)", true},
    // is empty / is nil
    {R"(Empty is empty)", true},
    {R"(Name is empty)", false},
    {R"(Name is not empty)", true},
    {R"(EmptyList is empty)", true},
    {R"(Tags is empty)", false},
    {R"(EmptyMeta is empty)", true},
    {R"(NilMeta is empty)", true},
    {R"(NilList is nil)", true},
    {R"(Tags is nil)", false},
    {R"(Tags is not nil)", true},
    {R"(EmptyMeta is not nil)", true},
    {R"(DeploymentStatus is nil)", true},
    {R"(TaskStates.sidecar.Events is empty)", true},
    // matches: unanchored, RE2 defaults for "." and "^"/"$"
    {R"(Name matches "^example\\.web\\[[0-9]+\\]$")", true},
    {R"(Name matches `^example\.web\[\d+\]$`)", true},
    {R"(Name matches "web")", true},
    {R"(Name matches "^web")", false},
    {R"(Name not matches "^web")", true},
    {R"(Job.Multi matches "^line2")", false},
    {R"(Job.Multi matches "line1.line2")", false},
    {R"(Job.Multi matches "(?s)line1.line2")", true},
    {R"(ID matches "^[0-9a-f]{8}-")", true},
    // and / or / not, precedence and grouping
    {R"(ClientStatus == running and JobID == example)", true},
    {R"(ClientStatus == running and JobID == other)", false},
    {R"(ClientStatus == pending or JobID == example)", true},
    {R"(ClientStatus == pending or JobID == other)", false},
    {R"(ClientStatus == running or JobID == other and Canary == true)", true},
    {R"((ClientStatus == running or JobID == other) and Canary == true)", false},
    {R"(ClientStatus == pending and JobID == other or Canary == false)", true},
    {R"(ClientStatus == pending and (JobID == other or Canary == false))", false},
    {R"(not ClientStatus == pending)", true},
    {R"(not ClientStatus == pending and JobID == other)", false},
    {R"(not (ClientStatus == pending and JobID == other))", true},
    {R"(not not ClientStatus == running)", true},
    {R"(not (not (ClientStatus == running)))", true},
    {R"(((((ClientStatus == running)))))", true},
    {" \t( ClientStatus == running )\r\n", true},
    {"ClientStatus == running\n\tand\nJobID == example", true},
    // and/or stop at the first decisive operand: later errors never happen
    {R"(ClientStatus == running or Nope == 1)", true},
    {R"(ClientStatus == pending and Nope == 1)", false},
};

TEST(FilterTest, MatchesLikeGoBexpr) {
  for (const MatchCase& c : kMatchCases) {
    SCOPED_TRACE(c.expression);
    const Result<Filter> filter = Filter::Parse(c.expression);
    ASSERT_TRUE(filter.ok()) << filter.status().ToString();
    const Result<bool> result = filter->Evaluate(Alloc());
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(*result, c.expected);
    EXPECT_EQ(filter->Matches(Alloc()), c.expected);
  }
}

TEST(FilterTest, JunctionsConsultEveryOperandInTurn) {
  const Result<Filter> filter = Filter::Parse("a == 1 or b == 2 or c == 3");
  ASSERT_TRUE(filter.ok());
  EXPECT_TRUE(filter->Matches(json::parse(R"({"a": 0, "b": 0, "c": 3})")));
  EXPECT_TRUE(filter->Matches(json::parse(R"({"a": 1, "b": 0, "c": 0})")));
  EXPECT_FALSE(filter->Matches(json::parse(R"({"a": 0, "b": 0, "c": 0})")));
}

struct ErrorCase {
  const char* expression;
  const char* message;  // a substring of the InvalidArgument message
};

const ErrorCase kParseErrors[] = {
    {"", "1:1 (0): no match found"},
    {"   ", "1:4 (3): no match found"},
    {"ClientStatus ==", "1:16 (15): no match found"},
    {"ClientStatus = running", "1:14 (13): no match found, expected: \"!=\", \"==\""},
    {"!ClientStatus == running", "1:1 (0): no match found"},
    {R"(foo == "12x)", R"(1:12 (11): rule "string": Unterminated string literal)"},
    {"foo == `12x", R"(1:12 (11): rule "string": Unterminated string literal)"},
    {R"(foo == "ab\")", R"(1:13 (12): rule "string": Unterminated string literal)"},
    {R"(foo == "a\qb")", R"(1:8 (7): rule "string": invalid syntax)"},
    {R"(foo == "\u12")", R"(1:8 (7): rule "string": invalid syntax)"},
    {R"(foo == "\ud800")", R"(1:8 (7): rule "string": invalid syntax)"},
    {R"(foo == "\400")", R"(1:8 (7): rule "string": invalid syntax)"},
    {"foo == 3x", R"(1:9 (8): rule "number": Invalid number literal)"},
    {"foo == 01", R"(1:9 (8): rule "number": Invalid number literal)"},
    {"foo == 1.", R"(1:9 (8): rule "number": Invalid number literal)"},
    {"foo == 1.2.3", R"(1:11 (10): rule "number": Invalid number literal)"},
    {"foo == -", "1:8 (7): no match found"},
    {"foo == bar-baz", R"(1:11 (10): no match found, expected: "and", "or" or EOF)"},
    {"foo[3] == abc", R"(1:5 (4): rule "index": Invalid index)"},
    {R"(x in foo["abc")", R"(1:15 (14): rule "index": Unclosed index expression)"},
    {R"(foo["abc" == 3)", R"(1:11 (10): rule "index": Unclosed index expression)"},
    {"foo. == 3", R"(1:4 (3): no match found)"},
    {"x in 32", R"(1:6 (5): rule "match": Invalid selector)"},
    {R"("x" in "y")", R"(1:8 (7): rule "match": Invalid selector)"},
    {"x in", "1:5 (4): no match found, expected: a selector"},
    {"32 == 32", R"(1:4 (3): no match found, expected: "in" or "not")"},
    {"32 is empty", R"(1:4 (3): no match found, expected: "in" or "not")"},
    {R"("x y" == 3)", R"(1:7 (6): no match found, expected: "in" or "not")"},
    {R"("/a/" == 3)", R"(1:7 (6): no match found, expected: "in" or "not")"},
    {"x in foo abc", R"(1:10 (9): no match found, expected: "and", "or" or EOF)"},
    {"x in foo and ", "1:14 (13): no match found"},
    {"x in foo or ", "1:13 (12): no match found"},
    {"x in foo or not ", "1:17 (16): no match found"},
    {"foo == 4)", R"(1:9 (8): no match found, expected: "and", "or" or EOF)"},
    {"(foo == 4", R"(1:10 (9): rule "grouping": Unmatched parentheses)"},
    {"(foo == 4 bar", R"x(1:11 (10): no match found, expected: ")")x"},
    {"()", "1:2 (1): no match found"},
    {"foo is full", R"(1:8 (7): no match found, expected: "empty", "nil" or "not")"},
    {"foo is not full", R"(1:12 (11): no match found, expected: "empty" or "nil")"},
    {"foo not equals 3", R"(1:9 (8): no match found, expected: "contains", "in" or "matches")"},
    {"foo bar", "1:5 (4): no match found"},
    {R"(foo matches "(")", R"(1:13 (12): rule "match": failed to compile regular expression "(")"},
    {R"(foo not matches "[a-")", R"(rule "match": failed to compile regular expression "[a-")"},
    {"ClientStatus == running and\nJobID = x", "2:7 (34): no match found"},
    {R"(Meta["ünï"] = 1)", "1:13 (14): no match found"},
};

TEST(FilterTest, ParseErrorsNameThePosition) {
  for (const ErrorCase& c : kParseErrors) {
    SCOPED_TRACE(c.expression);
    const Result<Filter> filter = Filter::Parse(c.expression);
    ASSERT_FALSE(filter.ok());
    EXPECT_EQ(filter.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(filter.status().message().find(c.message), std::string::npos)
        << filter.status().message();
  }
}

const ErrorCase kEvaluationErrors[] = {
    {"Nope == 1", R"(error finding value in datum: /Nope at part 0: couldn't find key "Nope")"},
    {"not Nope == 1", "couldn't find key \"Nope\""},
    {"ClientStatus == running and Nope == 1", "couldn't find key \"Nope\""},
    {"TaskStates.api.State == running",
     R"(/TaskStates/api/State at part 1: couldn't find key "api")"},
    {"NilMeta.a.b == 1", "/NilMeta/a/b at part 1: invalid value kind: invalid"},
    {"Tags.5 == x", "/Tags/5 at part 1: index 5 is out of range (length = 3)"},
    {"Tags.first == x", R"(couldn't convert "first" to an index)"},
    {"Name.first == x", "/Name/first at part 1: invalid value kind: string"},
    {"CreateIndex == abc", R"(strconv.ParseFloat: parsing "abc": invalid syntax)"},
    {"Canary == yes", R"(strconv.ParseBool: parsing "yes": invalid syntax)"},
    {"Tags == web", "unable to find suitable primitive comparison function for matching"},
    {"NilList == web", "unable to find suitable primitive comparison function for matching"},
    {R"("x" in CreateIndex)",
     R"(cannot perform in/contains operations on type int64 for selector: "CreateIndex")"},
    {R"(Canary contains "x")", "cannot perform in/contains operations on type bool"},
    {R"("1" in Nested)", "comparison in interface slice: slice"},
    {"CreateIndex is empty",
     R"(cannot perform is-empty operations on type int64 for selector: "CreateIndex")"},
    {R"("/Meta/owner" is nil)",
     R"(cannot perform is-nil operations on type string for selector: "Meta/owner")"},
    {R"(CreateIndex matches "1")", "value of type int64 is not convertible to []byte"},
    {R"(Tags matches "web")", "value of type slice is not convertible to []byte"},
};

TEST(FilterTest, EvaluationErrorsAreReportedAndNeverMatch) {
  for (const ErrorCase& c : kEvaluationErrors) {
    SCOPED_TRACE(c.expression);
    const Result<Filter> filter = Filter::Parse(c.expression);
    ASSERT_TRUE(filter.ok()) << filter.status().ToString();
    const Result<bool> result = filter->Evaluate(Alloc());
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(result.status().message().find(c.message), std::string::npos)
        << result.status().message();
    EXPECT_FALSE(filter->Matches(Alloc()));
  }
}

std::string Repeat(std::string_view piece, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += piece;
  return out;
}

TEST(FilterTest, NestingUpToTheLimitParses) {
  const std::string nested =
      Repeat("(", kMaxFilterDepth) + "ClientStatus == running" + Repeat(")", kMaxFilterDepth);
  const Result<Filter> filter = Filter::Parse(nested);
  ASSERT_TRUE(filter.ok()) << filter.status().ToString();
  EXPECT_TRUE(filter->Matches(Alloc()));
}

TEST(FilterTest, DeepNestingFailsCleanly) {
  for (const std::string& deep :
       {Repeat("(", 10000), Repeat("(", 10000) + "a == 1" + Repeat(")", 10000),
        Repeat("not ", 10000) + "a == 1", Repeat("not (", 5000) + "a == 1"}) {
    const Result<Filter> filter = Filter::Parse(deep);
    ASSERT_FALSE(filter.ok());
    EXPECT_EQ(filter.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(filter.status().message().find("nested deeper than 256 levels"), std::string::npos)
        << filter.status().message();
  }
  EXPECT_NE(Filter::Parse(Repeat("(", 10000)).status().message().find("1:258 (257)"),
            std::string::npos);
}

TEST(FilterTest, LongChainsNeedNoStack) {
  std::string chain = "ClientStatus == pending";
  for (int i = 0; i < 20000; ++i) chain += " or ClientStatus == pending";
  chain += " or ClientStatus == running";
  const Result<Filter> filter = Filter::Parse(chain);
  ASSERT_TRUE(filter.ok()) << filter.status().ToString();
  EXPECT_TRUE(filter->Matches(Alloc()));
}

TEST(FilterTest, RegexOnLongTextDoesNotExhaustTheStack) {
  const Result<Filter> filter = Filter::Parse(R"(Log matches "^(a|b)*$")");
  ASSERT_TRUE(filter.ok());
  json::object object;
  object["Log"] = std::string(1'000'000, 'a');
  const Result<bool> result = filter->Evaluate(object);
  // Either answer is fine; what matters is that there is one.
  EXPECT_TRUE(!result.ok() || *result);
}

TEST(FilterTest, CatastrophicBacktrackingIsAnError) {
  const Result<Filter> filter = Filter::Parse(R"(Log matches "^(a+)+$")");
  ASSERT_TRUE(filter.ok());
  json::object object;
  object["Log"] = std::string(64, 'a') + "!";
  const Result<bool> result = filter->Evaluate(object);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("failed to evaluate regular expression"),
            std::string::npos)
      << result.status().message();
}

TEST(FilterTest, KeywordsAreFieldNamesWhereASelectorIsExpected) {
  const json::value object = json::parse(R"({"not": "x", "in": "y", "is": [1]})");
  for (const char* expression : {"not == x", "in == y", "1 in is", "not != y"}) {
    SCOPED_TRACE(expression);
    const Result<Filter> filter = Filter::Parse(expression);
    ASSERT_TRUE(filter.ok()) << filter.status().ToString();
    EXPECT_TRUE(filter->Matches(object));
  }
}

TEST(FilterTest, CopiesShareTheParsedExpression) {
  const Result<Filter> parsed = Filter::Parse(R"(Name matches "web" and "v2" in Tags)");
  ASSERT_TRUE(parsed.ok());
  const Filter copy = *parsed;
  EXPECT_TRUE(copy.Matches(Alloc()));
  EXPECT_TRUE(parsed->Matches(Alloc()));
}

}  // namespace
}  // namespace drover::api
