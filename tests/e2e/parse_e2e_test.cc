// End-to-end: POST /v1/jobs/parse on the real binary. The README's demo job
// in HCL parses to the demo JSON and runs once registered; syntax and
// decoding errors come back 400 with file:line:column; the request's
// Variables apply; with ACLs on, parse-job (or submit-job) is needed.
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "storage/codec.h"
#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"
#include "tests/support/json_assert.h"
#include "tests/support/shared_agent.h"

namespace drover::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string ParseBody(const std::string& hcl, bool canonicalize = false,
                      const std::string& variables = "") {
  json::object body{{"JobHCL", hcl}, {"Canonicalize", canonicalize}};
  if (!variables.empty()) body["Variables"] = variables;
  return json::serialize(body);
}

class ParseE2ETest : public SharedAgentTest<ParseE2ETest> {
 protected:
  HttpResponse Post(const std::string& path, const std::string& body,
                    const HttpHeaders& headers = {}) {
    HttpClient client = agent_->Client();
    auto r = client.Request("POST", path, body, headers);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : HttpResponse{};
  }
};

TEST_F(ParseE2ETest, DemoHclEqualsDemoJsonAndRunsOnceRegistered) {
  const std::filesystem::path examples = std::filesystem::path(DROVER_SOURCE_DIR) / "examples";
  const std::string hcl = ReadFile(examples / "demo.hcl");
  ASSERT_FALSE(hcl.empty());
  auto demo = ParseJson(ReadFile(examples / "demo.json"));
  ASSERT_TRUE(demo.ok());

  HttpResponse raw = Post("/v1/jobs/parse", ParseBody(hcl));
  ASSERT_EQ(raw.status, 200) << raw.body;
  auto parsed = ParseJson(raw.body);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, demo->at("Job")) << raw.body;

  HttpResponse canonical = Post("/v1/jobs/parse", ParseBody(hcl, true));
  ASSERT_EQ(canonical.status, 200) << canonical.body;
  auto job = ParseJson(canonical.body);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(Str(*job, "/Namespace"), "default");
  EXPECT_EQ(Int(*job, "/Priority"), 50);
  EXPECT_EQ(Int(*job, "/TaskGroups/0/Tasks/0/KillTimeout"), 2'000'000'000);
  EXPECT_EQ(Int(*job, "/TaskGroups/0/Tasks/0/LogConfig/MaxFiles"), 10);
  EXPECT_EQ(Str(*job, "/TaskGroups/0/Tasks/0/Env/GREETING"), "hello from ${NOMAD_TASK_NAME}");

  // Parse, then register what came back, as `nomad job run` does.
  HttpResponse reg = Post("/v1/jobs", json::serialize(json::object{{"Job", *job}}));
  ASSERT_EQ(reg.status, 200) << reg.body;
  bool running = WaitFor(
      [&] {
        HttpClient client = agent_->Client();
        auto r = client.Get("/v1/job/demo/allocations");
        if (!r.ok() || r->status != 200) return false;
        auto v = ParseJson(r->body);
        if (!v.ok() || !v->is_array() || v->as_array().size() != 2) return false;
        for (const json::value& a : v->as_array()) {
          if (Str(a, "/ClientStatus") != "running") return false;
        }
        return true;
      },
      60s, 100ms);
  EXPECT_TRUE(running) << agent_->LogTail();
  HttpClient client = agent_->Client();
  auto stop = client.Delete("/v1/job/demo?purge=true");
  ASSERT_TRUE(stop.ok());
  EXPECT_EQ(stop->status, 200) << stop->body;
}

TEST_F(ParseE2ETest, SyntaxErrorsNameLineAndColumn) {
  struct Case {
    std::string hcl;
    std::string body;
  } cases[] = {
      {"job \"a\" {\n  group \"g\" {\n    count = \n  }\n}\n",
       "Failed to parse job: input.hcl:3:13: expected an expression, found newline"},
      {"job \"a\" {\n  datacenters = [\"dc1\"\n}\n",
       "Failed to parse job: input.hcl:3:1: expected \",\" or \"]\" after a list element, "
       "found \"}\""},
      {"job \"a\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"raw_exec\"\n"
       "      comand = \"x\"\n    }\n  }\n}\n",
       "Failed to parse job: input.hcl:5:7: Unsupported argument; An argument named "
       "\"comand\" is not expected here."},
      {"job \"a\" {\n  meta = { x = \"${1 +}\" }\n}\n",
       "Failed to parse job: input.hcl:2:22: expected an expression, found \"}\""},
      {"job \"a\" {\n  name = var.missing\n}\n",
       "Failed to parse job: input.hcl:2:10: Unsupported attribute; This object does not "
       "have an attribute named \"missing\" (no variable block declares it)"},
  };
  for (const Case& c : cases) {
    HttpResponse r = Post("/v1/jobs/parse", ParseBody(c.hcl));
    EXPECT_EQ(r.status, 400) << c.hcl;
    EXPECT_EQ(r.body, c.body) << c.hcl;
  }
}

TEST_F(ParseE2ETest, RequestFieldsAsNomad) {
  HttpResponse empty = Post("/v1/jobs/parse", "{}");
  EXPECT_EQ(empty.status, 400);
  EXPECT_EQ(empty.body, "Job spec is empty");
  HttpResponse v1 = Post("/v1/jobs/parse",
                         json::serialize(json::object{{"JobHCL", "job \"a\" {}"}, {"HCLv1", true}}));
  EXPECT_EQ(v1.status, 400);
  EXPECT_NE(v1.body.find("HCL v1"), std::string::npos) << v1.body;
  HttpResponse garbage = Post("/v1/jobs/parse", "{not json");
  EXPECT_EQ(garbage.status, 400);

  HttpClient client = agent_->Client();
  auto get = client.Get("/v1/jobs/parse");
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->status, 405);

  const std::string hcl =
      "variable \"n\" {\n  type = number\n  default = 1\n}\n"
      "job \"v\" {\n  group \"g\" {\n    count = var.n * 2\n  }\n}\n";
  HttpResponse with_vars = Post("/v1/jobs/parse", ParseBody(hcl, false, "n = 4\n"));
  ASSERT_EQ(with_vars.status, 200) << with_vars.body;
  auto job = ParseJson(with_vars.body);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(Int(*job, "/TaskGroups/0/Count"), 8);
  HttpResponse put = [&] {
    auto r = client.Put("/v1/jobs/parse", ParseBody(hcl));
    return r.ok() ? *r : HttpResponse{};
  }();
  EXPECT_EQ(put.status, 200) << put.body;
}

TEST(ParseAclE2ETest, ParseJobOrSubmitJobCapabilityIsRequired) {
  AgentOptions options;
  options.extra_args = {"--acl-enabled"};
  auto agent = AgentProcess::Launch(options);
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  auto call = [&](const std::string& method, const std::string& path, const std::string& body,
                  const std::string& token) {
    HttpClient client = (*agent)->Client();
    HttpHeaders headers;
    if (!token.empty()) headers.Add("X-Nomad-Token", token);
    auto r = client.Request(method, path, body, headers);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : HttpResponse{};
  };
  HttpResponse boot = call("POST", "/v1/acl/bootstrap", "", "");
  ASSERT_EQ(boot.status, 200) << boot.body;
  const std::string root = Str(*ParseJson(boot.body), "/SecretID");
  auto policy = [&](const std::string& name, const std::string& rules) {
    json::object body{{"Name", name}, {"Rules", rules}};
    HttpResponse r = call("POST", "/v1/acl/policy/" + name, json::serialize(body), root);
    ASSERT_EQ(r.status, 200) << r.body;
  };
  policy("parser", "namespace \"default\" {\n  capabilities = [\"parse-job\"]\n}\n");
  policy("lister", "namespace \"default\" {\n  capabilities = [\"list-jobs\"]\n}\n");
  auto token = [&](const std::string& policy_name) {
    json::object body{{"Name", policy_name}, {"Type", "client"},
                      {"Policies", json::array{json::value(policy_name)}}};
    HttpResponse r = call("POST", "/v1/acl/token", json::serialize(body), root);
    EXPECT_EQ(r.status, 200) << r.body;
    return Str(*ParseJson(r.body), "/SecretID");
  };
  const std::string parser = token("parser");
  const std::string lister = token("lister");
  const std::string body = ParseBody("job \"a\" {\n}\n");
  EXPECT_EQ(call("POST", "/v1/jobs/parse", body, "").status, 403);
  EXPECT_EQ(call("POST", "/v1/jobs/parse", body, lister).status, 403);
  EXPECT_EQ(call("POST", "/v1/jobs/parse", body, parser).status, 200);
  EXPECT_EQ(call("POST", "/v1/jobs/parse?namespace=other", body, parser).status, 403);
  EXPECT_EQ(call("POST", "/v1/jobs/parse", body, root).status, 200);
}

}  // namespace
}  // namespace drover::testing
