// End-to-end: who may do what. The real agent, with ACLs off and on:
//
// - With ACLs off, the ACL endpoints answer Nomad's 400, and the browser
//   guards still hold: a cross-site page cannot POST a job (text/plain
//   body, foreign Origin), a DNS-rebinding Host is refused.
// - With ACLs on: bootstrap once (Nomad's reset-index text on a second
//   try), tokens and policies, every endpoint of the seed tables answered
//   403 or not as its "ACL Required" column says for a read-only, a
//   submit-job and an operator token; lists and the event stream filtered
//   to the namespaces a token may read; secrets never on disk or in the log.
#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"
#include "tests/support/json_assert.h"
#include "tests/support/stream_reader.h"
#include "tests/support/ws_client.h"

namespace drover::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::int64_t kSecond = 1'000'000'000;
constexpr auto kWait = 30s;

// A service job whose one task runs `script` under /bin/sh.
std::string JobBody(const std::string& id, const std::string& script,
                    const std::string& ns = "") {
  json::object job{{"ID", id},
                   {"Name", id},
                   {"Type", "service"},
                   {"Datacenters", json::array{"dc1"}},
                   {"TaskGroups",
                    json::array{json::object{
                        {"Name", "g"},
                        {"Count", 1},
                        {"Tasks", json::array{json::object{
                                      {"Name", "t"},
                                      {"Driver", "raw_exec"},
                                      {"KillTimeout", kSecond},
                                      {"Config", json::object{{"command", "/bin/sh"},
                                                              {"args", json::array{"-c", script}}}}}}}}}}};
  if (!ns.empty()) job["Namespace"] = ns;
  return json::serialize(json::object{{"Job", job}});
}

HttpHeaders Token(const std::string& secret) { return HttpHeaders{{"X-Nomad-Token", secret}}; }

class AclE2ETest : public ::testing::Test {
 protected:
  void Launch(std::vector<std::string> args = {}) {
    AgentOptions options;
    options.extra_args = std::move(args);
    auto agent = AgentProcess::Launch(options);
    ASSERT_TRUE(agent.ok()) << agent.status().ToString();
    agent_ = std::move(agent).value();
  }

  HttpResponse Call(std::string_view method, const std::string& path, std::string_view body = {},
                    const HttpHeaders& headers = {}) {
    HttpClient client = agent_->Client();
    auto r = client.Request(method, path, body, headers);
    EXPECT_TRUE(r.ok()) << method << " " << path << ": " << r.status().ToString();
    return r.ok() ? std::move(r).value() : HttpResponse{};
  }

  json::value CallJson(std::string_view method, const std::string& path,
                       std::string_view body = {}, const HttpHeaders& headers = {}) {
    HttpResponse r = Call(method, path, body, headers);
    EXPECT_EQ(r.status, 200) << method << " " << path << ": " << r.body;
    auto v = ParseJson(r.body);
    return v.ok() ? std::move(v).value() : json::value();
  }

  std::string Bootstrap() {
    json::value token = CallJson("POST", "/v1/acl/bootstrap");
    return token.is_object() ? Str(token, "/SecretID") : "";
  }

  void PutPolicy(const std::string& root, const std::string& name, const std::string& rules) {
    json::object body{{"Name", name}, {"Description", "test"}, {"Rules", rules}};
    HttpResponse r = Call("POST", "/v1/acl/policy/" + name, json::serialize(body), Token(root));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, "");
  }

  std::string NewToken(const std::string& root, const std::string& name,
                       std::vector<std::string> policies) {
    json::array p;
    for (auto& s : policies) p.emplace_back(s);
    json::object body{{"Name", name}, {"Type", "client"}, {"Policies", p}};
    json::value t = CallJson("POST", "/v1/acl/token", json::serialize(body), Token(root));
    return t.is_object() ? Str(t, "/SecretID") : "";
  }

  // The first allocation of `job`, once its task runs.
  std::string RunningAlloc(const std::string& job, const std::string& token,
                           const std::string& ns = "default") {
    std::string id;
    bool running = WaitFor(
        [&] {
          HttpClient client = agent_->Client();
          auto r = client.Request("GET", "/v1/job/" + job + "/allocations?namespace=" + ns, {},
                                  Token(token));
          if (!r.ok() || r->status != 200) return false;
          auto v = ParseJson(r->body);
          if (!v.ok() || !v->is_array() || v->as_array().empty()) return false;
          const json::value& a = v->as_array()[0];
          id = Str(a, "/ID");
          return Str(a, "/ClientStatus") == "running";
        },
        kWait, 50ms);
    EXPECT_TRUE(running) << agent_->LogTail();
    return id;
  }

  std::unique_ptr<AgentProcess> agent_;
};

// ---- ACLs off: the ACL endpoints and the browser guards --------------------------

TEST_F(AclE2ETest, AclEndpointsAnswerDisabledWhenOff) {
  Launch();
  for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "/v1/acl/bootstrap"},
           {"GET", "/v1/acl/policies"},
           {"GET", "/v1/acl/tokens"},
           {"GET", "/v1/acl/token/self"},
           {"POST", "/v1/acl/policy/x"}}) {
    HttpResponse r = Call(method, path, method == "POST" ? "{}" : "");
    EXPECT_EQ(r.status, 400) << method << " " << path;
    EXPECT_EQ(r.body, "ACL support disabled") << method << " " << path;
  }
  EXPECT_EQ(Call("GET", "/v1/jobs").status, 200);
}

TEST_F(AclE2ETest, CrossSiteBrowserPostCannotRunAJob) {
  Launch();
  fs::path marker = agent_->data_dir() / "pwned";
  std::string body = JobBody("evil", "id > " + marker.string() + "; sleep 60");
  // What a page on another site can send without a preflight.
  HttpResponse r = Call("POST", "/v1/jobs", body,
                        {{"Content-Type", "text/plain;charset=UTF-8"},
                         {"Origin", "http://evil.example"},
                         {"Referer", "http://evil.example/attack.html"},
                         {"Sec-Fetch-Site", "cross-site"},
                         {"Sec-Fetch-Mode", "no-cors"}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("cross-origin"), std::string::npos) << r.body;
  // An old browser without Origin: the form post alone gives it away.
  r = Call("POST", "/v1/jobs", body,
           {{"Content-Type", "application/x-www-form-urlencoded"},
            {"Referer", "http://evil.example/attack.html"}});
  EXPECT_EQ(r.status, 403) << r.body;
  // A cross-site read is refused too.
  r = Call("GET", "/v1/jobs", {}, {{"Sec-Fetch-Site", "cross-site"}});
  EXPECT_EQ(r.status, 403) << r.body;

  json::value jobs = CallJson("GET", "/v1/jobs");
  EXPECT_TRUE(jobs.is_array() && jobs.as_array().empty()) << json::serialize(jobs);
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(fs::exists(marker)) << "the refused job ran";

  // The agent's own origin, and curl (no Origin, `-d` sends a form type),
  // are served.
  std::string own = "http://127.0.0.1:" + std::to_string(agent_->port());
  r = Call("POST", "/v1/jobs", JobBody("mine", "sleep 60"),
           {{"Content-Type", "application/json"}, {"Origin", own}});
  EXPECT_EQ(r.status, 200) << r.body;
  r = Call("POST", "/v1/jobs", JobBody("curl", "sleep 60"),
           {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(AclE2ETest, DnsRebindingHostIsRefused) {
  Launch();
  std::string port = std::to_string(agent_->port());
  HttpResponse r = Call("GET", "/v1/jobs", {}, {{"Host", "evil.example:" + port}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("DNS rebinding"), std::string::npos) << r.body;
  r = Call("POST", "/v1/jobs", JobBody("rebound", "sleep 60"),
           {{"Host", "attacker.localhost.evil.example"}, {"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 403) << r.body;
  for (std::string host : {"localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port,
                           std::string("localhost")}) {
    EXPECT_EQ(Call("GET", "/v1/jobs", {}, {{"Host", host}}).status, 200) << host;
  }
}

// ---- ACLs on ---------------------------------------------------------------------

TEST_F(AclE2ETest, BootstrapOnceAndTokensRequired) {
  Launch({"--acl-enabled"});
  HttpResponse anon = Call("GET", "/v1/jobs");
  EXPECT_EQ(anon.status, 403);
  EXPECT_EQ(anon.body, "Permission denied");
  EXPECT_EQ(Call("GET", "/v1/status/leader").status, 200);

  json::value token = CallJson("POST", "/v1/acl/bootstrap");
  EXPECT_EQ(Str(token, "/Type"), "management");
  EXPECT_EQ(Str(token, "/Name"), "Bootstrap Token");
  std::string root = Str(token, "/SecretID");
  ASSERT_EQ(root.size(), 36u);
  EXPECT_EQ(At(token, "/Global"), json::value(true));
  EXPECT_EQ(token.as_object().if_contains("SecretHash"), nullptr);

  HttpResponse again = Call("POST", "/v1/acl/bootstrap");
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(again.body, "ACL bootstrap already done (reset index: " +
                            std::to_string(Int(token, "/CreateIndex")) + ")");

  EXPECT_EQ(Call("GET", "/v1/jobs", {}, Token(root)).status, 200);
  // The same secret as a bearer token.
  EXPECT_EQ(Call("GET", "/v1/jobs", {}, {{"Authorization", "Bearer " + root}}).status, 200);
  HttpResponse unknown =
      Call("GET", "/v1/jobs", {}, Token("00000000-0000-4000-8000-000000000000"));
  EXPECT_EQ(unknown.status, 403);
  EXPECT_EQ(unknown.body, "ACL token not found");

  json::value self = CallJson("GET", "/v1/acl/token/self", {}, Token(root));
  EXPECT_EQ(Str(self, "/AccessorID"), Str(token, "/AccessorID"));
  EXPECT_EQ(Str(self, "/SecretID"), root);

  // With the reset index in the data dir, bootstrap works once more.
  std::ofstream(agent_->data_dir() / "acl-bootstrap-reset") << Int(token, "/CreateIndex");
  json::value second = CallJson("POST", "/v1/acl/bootstrap");
  EXPECT_NE(Str(second, "/SecretID"), root);

  // Survives a restart: tokens are durable.
  ASSERT_TRUE(agent_->Restart().ok()) << agent_->LogTail();
  EXPECT_EQ(Call("GET", "/v1/jobs", {}, Token(root)).status, 200);
}

TEST_F(AclE2ETest, TokenAndPolicyManagement) {
  Launch({"--acl-enabled"});
  std::string root = Bootstrap();
  ASSERT_FALSE(root.empty());
  PutPolicy(root, "readonly", R"({"namespace": {"default": {"policy": "read"}}})");
  std::string reader = NewToken(root, "reader", {"readonly"});
  ASSERT_FALSE(reader.empty());

  // A policy with bad rules is refused with Nomad's text and not stored.
  HttpResponse bad = Call("POST", "/v1/acl/policy/broken",
                          R"({"Name": "broken", "Rules": "{\"node\": {\"policy\": \"sudo\"}}"})",
                          Token(root));
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("failed to parse rules: Invalid node policy"), std::string::npos)
      << bad.body;
  EXPECT_EQ(Call("GET", "/v1/acl/policy/broken", {}, Token(root)).status, 404);
  HttpResponse mismatch =
      Call("POST", "/v1/acl/policy/a", R"({"Name": "b", "Rules": "{}"})", Token(root));
  EXPECT_EQ(mismatch.status, 400);
  EXPECT_EQ(mismatch.body, "ACL policy name does not match request path");

  // Reading policies: management all, a client its own.
  json::value policy = CallJson("GET", "/v1/acl/policy/readonly", {}, Token(reader));
  EXPECT_EQ(Str(policy, "/RulesJSON/Namespaces/0/Name"), "default");
  json::value listed = CallJson("GET", "/v1/acl/policies", {}, Token(reader));
  ASSERT_TRUE(listed.is_array());
  EXPECT_EQ(listed.as_array().size(), 1u);

  // Token management needs management.
  EXPECT_EQ(Call("GET", "/v1/acl/tokens", {}, Token(reader)).status, 403);
  EXPECT_EQ(Call("POST", "/v1/acl/token", R"({"Type": "management"})", Token(reader)).status,
            403);
  EXPECT_EQ(Call("POST", "/v1/acl/policy/readonly", R"({"Name": "readonly", "Rules": "{}"})",
                 Token(reader))
                .status,
            403);
  json::value tokens = CallJson("GET", "/v1/acl/tokens", {}, Token(root));
  ASSERT_TRUE(tokens.is_array());
  EXPECT_EQ(tokens.as_array().size(), 2u);
  for (const json::value& t : tokens.as_array()) {
    EXPECT_EQ(t.as_object().if_contains("SecretID"), nullptr) << json::serialize(t);
  }

  // A client reads its own token (with its secret), not another's.
  json::value self = CallJson("GET", "/v1/acl/token/self", {}, Token(reader));
  std::string accessor = Str(self, "/AccessorID");
  EXPECT_EQ(Str(self, "/SecretID"), reader);
  EXPECT_EQ(Call("GET", "/v1/acl/token/" + accessor, {}, Token(reader)).status, 200);
  json::value root_self = CallJson("GET", "/v1/acl/token/self", {}, Token(root));
  EXPECT_EQ(Call("GET", "/v1/acl/token/" + Str(root_self, "/AccessorID"), {}, Token(reader)).status,
            403);
  // Management reads it without the secret, which is not kept.
  json::value read = CallJson("GET", "/v1/acl/token/" + accessor, {}, Token(root));
  EXPECT_EQ(Str(read, "/SecretID"), "");

  // Update keeps the secret; delete revokes it.
  json::value updated = CallJson(
      "POST", "/v1/acl/token/" + accessor,
      R"({"AccessorID": ")" + accessor + R"(", "Name": "renamed", "Type": "client", "Policies": ["readonly"]})",
      Token(root));
  EXPECT_EQ(Str(updated, "/Name"), "renamed");
  EXPECT_EQ(Call("GET", "/v1/jobs", {}, Token(reader)).status, 200);
  EXPECT_EQ(Call("DELETE", "/v1/acl/token/" + accessor, {}, Token(root)).status, 200);
  HttpResponse revoked = Call("GET", "/v1/jobs", {}, Token(reader));
  EXPECT_EQ(revoked.status, 403);
  EXPECT_EQ(revoked.body, "ACL token not found");
}

// Every endpoint of the seed tables, for three tokens, answered as the
// "ACL Required" column says: 403 without the capability, anything else
// (200, or the endpoint's own 4xx/5xx for the request) with it.
TEST_F(AclE2ETest, SeedEndpointsFollowTheirAclRequiredColumn) {
  Launch({"--acl-enabled"});
  std::string root = Bootstrap();
  ASSERT_FALSE(root.empty());
  PutPolicy(root, "read", R"({"namespace": {"default": {"policy": "read"}}})");
  // The HCL form, as `nomad acl policy apply` sends a policy file.
  PutPolicy(root, "submit", "namespace \"default\" {\n  capabilities = [\"submit-job\"]\n}\n");
  PutPolicy(root, "ops",
            R"({"namespace": {"default": {"policy": "write"}}, "node": {"policy": "write"}})");
  std::map<std::string, std::string> tokens = {{"read", NewToken(root, "r", {"read"})},
                                               {"submit", NewToken(root, "s", {"submit"})},
                                               {"ops", NewToken(root, "o", {"ops"})}};

  // The submit-job token registers the job: that is what it is for.
  HttpResponse reg = Call("PUT", "/v1/jobs", JobBody("web", "echo hello; sleep 300"),
                          Token(tokens["submit"]));
  ASSERT_EQ(reg.status, 200) << reg.body;
  std::string alloc = RunningAlloc("web", root);
  ASSERT_FALSE(alloc.empty());
  const std::string logs = "/v1/client/fs/logs/" + alloc + "?task=t&type=stdout&plain=true";

  struct Row {
    std::string method, path, body;
    std::set<std::string> allowed;
  };
  const std::vector<Row> rows = {
      {"GET", "/v1/allocations", "", {"read", "ops"}},
      {"GET", "/v1/allocation/" + alloc, "", {"read", "ops"}},
      {"GET", "/v1/allocation/" + alloc + "/services", "", {"read", "ops"}},
      {"POST", "/v1/client/allocation/" + alloc + "/signal", R"({"Signal": "SIGCONT"})", {"ops"}},
      {"POST", "/v1/client/allocation/" + alloc + "/restart", R"({"TaskName": "t"})", {"ops"}},
      {"GET", "/v1/client/metadata", "", {"ops"}},
      {"POST", "/v1/client/metadata", R"({"Meta": {"k": "v"}})", {"ops"}},
      {"GET", "/v1/client/stats", "", {"ops"}},
      {"GET", "/v1/client/allocation/" + alloc + "/stats", "", {"read", "ops"}},
      {"GET", "/v1/client/fs/ls/" + alloc + "?path=alloc/logs", "", {"ops"}},
      {"GET", "/v1/client/fs/stat/" + alloc + "?path=alloc/logs", "", {"ops"}},
      {"GET", "/v1/client/fs/cat/" + alloc + "?path=alloc/logs/t.stdout.0", "", {"ops"}},
      {"GET", "/v1/client/fs/readat/" + alloc + "?path=alloc/logs/t.stdout.0&offset=0&limit=5",
       "", {"ops"}},
      {"GET", logs, "", {"ops"}},
      {"GET", "/v1/client/allocation/" + alloc + "/gc", "", {"submit", "ops"}},
      {"GET", "/v1/client/gc", "", {"ops"}},
      {"GET", "/v1/jobs", "", {"read", "ops"}},
      {"GET", "/v1/job/web", "", {"read", "ops"}},
      {"GET", "/v1/evaluations", "", {"read", "ops"}},
      {"GET", "/v1/nodes", "", {"ops"}},
      {"GET", "/v1/agent/self", "", {}},
      {"GET", "/v1/agent/members", "", {"ops"}},
      {"GET", "/v1/operator/raft/configuration", "", {}},
  };
  for (const Row& row : rows) {
    for (const auto& [name, secret] : tokens) {
      HttpResponse r = Call(row.method, row.path, row.body, Token(secret));
      if (row.allowed.contains(name)) {
        EXPECT_NE(r.status, 403) << name << " " << row.method << " " << row.path << ": " << r.body;
      } else {
        EXPECT_EQ(r.status, 403) << name << " " << row.method << " " << row.path << ": " << r.body;
        EXPECT_EQ(r.body, "Permission denied") << row.path;
      }
    }
    // No token at all: denied everywhere.
    EXPECT_EQ(Call(row.method, row.path, row.body).status, 403) << row.path;
  }
  // The fs stream follows: only its refusal is checked here.
  EXPECT_EQ(Call("GET", "/v1/client/fs/stream/" + alloc + "?path=alloc/logs/t.stdout.0", {},
                 Token(tokens["read"]))
                .status,
            403);
  // Stop last: it ends the allocation.
  EXPECT_EQ(Call("POST", "/v1/allocation/" + alloc + "/stop", "", Token(tokens["read"])).status,
            403);
  EXPECT_EQ(Call("POST", "/v1/allocation/" + alloc + "/stop", "", Token(tokens["ops"])).status,
            200);
}

// Scaling takes scale-job or submit-job, its status read-job-scaling or
// read-job; the node's eligibility, drain and purge take node:write.
TEST_F(AclE2ETest, ScaleAndNodeWritesFollowTheirAclRequiredColumn) {
  Launch({"--acl-enabled"});
  std::string root = Bootstrap();
  ASSERT_FALSE(root.empty());
  PutPolicy(root, "scaler",
            R"({"namespace": {"default": {"capabilities": ["scale-job", "read-job-scaling"]}}})");
  PutPolicy(root, "reader", R"({"namespace": {"default": {"policy": "read"}}, "node": {"policy": "read"}})");
  PutPolicy(root, "operator", R"({"node": {"policy": "write"}})");
  const std::string scaler = NewToken(root, "sc", {"scaler"});
  const std::string reader = NewToken(root, "rd", {"reader"});
  const std::string op = NewToken(root, "op", {"operator"});
  ASSERT_EQ(Call("PUT", "/v1/jobs", JobBody("web", "sleep 300"), Token(root)).status, 200);
  const std::string scale = R"({"Count": 1, "Target": {"Group": "g"}, "Message": "m"})";

  EXPECT_EQ(Call("POST", "/v1/job/web/scale", scale, Token(scaler)).status, 200);
  EXPECT_EQ(Call("POST", "/v1/job/web/scale", scale, Token(reader)).status, 403);
  EXPECT_EQ(Call("PUT", "/v1/jobs", JobBody("web", "sleep 301"), Token(scaler)).status, 403);
  EXPECT_EQ(Call("GET", "/v1/job/web/scale", {}, Token(scaler)).status, 200);
  EXPECT_EQ(Call("GET", "/v1/job/web/scale", {}, Token(reader)).status, 200);
  EXPECT_EQ(Call("GET", "/v1/job/web/summary", {}, Token(scaler)).status, 403);
  EXPECT_EQ(Call("GET", "/v1/job/web/summary", {}, Token(reader)).status, 200);
  EXPECT_EQ(Call("POST", "/v1/job/web/evaluate", {}, Token(reader)).status, 403);

  json::value nodes = CallJson("GET", "/v1/nodes", {}, Token(root));
  ASSERT_TRUE(nodes.is_array() && !nodes.as_array().empty());
  const std::string node = Str(nodes.at(0), "/ID");
  const std::string path = "/v1/node/" + node + "/eligibility";
  EXPECT_EQ(Call("POST", path, R"({"Eligibility": "ineligible"})", Token(reader)).status, 403);
  EXPECT_EQ(Call("POST", path, R"({"Eligibility": "ineligible"})", Token(scaler)).status, 403);
  EXPECT_EQ(Call("POST", path, R"({"Eligibility": "ineligible"})", Token(op)).status, 200);
  EXPECT_EQ(Call("POST", "/v1/node/" + node + "/drain", R"({"DrainSpec": null})", Token(reader))
                .status,
            403);
  EXPECT_EQ(Call("POST", "/v1/node/" + node + "/purge", {}, Token(reader)).status, 403);
}

TEST_F(AclE2ETest, SubmitNeedsTheJobsOwnNamespace) {
  Launch({"--acl-enabled"});
  std::string root = Bootstrap();
  PutPolicy(root, "default-submit",
            R"({"namespace": {"default": {"capabilities": ["submit-job"]}}})");
  std::string submitter = NewToken(root, "s", {"default-submit"});
  HttpResponse r = Call("PUT", "/v1/jobs", JobBody("sneaky", "sleep 60", "prod"), Token(submitter));
  EXPECT_EQ(r.status, 403) << r.body;
  json::value jobs = CallJson("GET", "/v1/jobs?namespace=*", {}, Token(root));
  EXPECT_TRUE(jobs.is_array() && jobs.as_array().empty()) << json::serialize(jobs);
  EXPECT_EQ(Call("PUT", "/v1/jobs", JobBody("fine", "sleep 60"), Token(submitter)).status, 200);
}

TEST_F(AclE2ETest, ListsAndEventStreamShowOnlyReadableNamespaces) {
  Launch({"--acl-enabled"});
  std::string root = Bootstrap();
  PutPolicy(root, "default-read", R"({"namespace": {"default": {"policy": "read"}}})");
  std::string reader = NewToken(root, "r", {"default-read"});
  ASSERT_EQ(Call("POST", "/v1/namespace/prod", R"({"Name": "prod"})", Token(root)).status, 200);
  ASSERT_EQ(Call("PUT", "/v1/jobs", JobBody("hidden", "sleep 300", "prod"), Token(root)).status,
            200);
  ASSERT_EQ(Call("PUT", "/v1/jobs", JobBody("visible", "sleep 300"), Token(root)).status, 200);
  RunningAlloc("hidden", root, "prod");
  RunningAlloc("visible", root);

  auto namespaces_of = [](const json::value& list) {
    std::set<std::string> out;
    for (const json::value& item : list.as_array()) out.insert(Str(item, "/Namespace"));
    return out;
  };
  json::value all = CallJson("GET", "/v1/allocations?namespace=*", {}, Token(root));
  EXPECT_EQ(namespaces_of(all), (std::set<std::string>{"default", "prod"}));
  for (const char* path : {"/v1/allocations?namespace=*", "/v1/jobs?namespace=*",
                           "/v1/evaluations?namespace=*"}) {
    json::value mine = CallJson("GET", path, {}, Token(reader));
    ASSERT_TRUE(mine.is_array()) << path;
    EXPECT_EQ(namespaces_of(mine), std::set<std::string>{"default"}) << path;
  }
  EXPECT_EQ(Call("GET", "/v1/allocations?namespace=prod", {}, Token(reader)).status, 403);
  std::string prod_alloc = RunningAlloc("hidden", root, "prod");
  EXPECT_EQ(Call("GET", "/v1/allocation/" + prod_alloc, {}, Token(reader)).status, 403);

  // The event stream from the start: "visible"'s events arrive, "hidden"'s
  // (registered first) and the node's never do.
  StreamReader stream(agent_->port(), "/v1/event/stream?index=1&namespace=*",
                      "X-Nomad-Token: " + reader + "\r\n");
  ASSERT_TRUE(stream.connected());
  std::set<std::string> seen_ns, seen_topics, seen_keys;
  auto scan = [&](const std::vector<std::string>& lines) {
    seen_ns.clear();
    seen_topics.clear();
    seen_keys.clear();
    for (const std::string& line : lines) {
      auto v = ParseJson(line);
      if (!v.ok() || !v->is_object() || !v->as_object().contains("Events")) continue;
      for (const json::value& e : v->at("Events").as_array()) {
        seen_ns.insert(Str(e, "/Namespace"));
        seen_topics.insert(Str(e, "/Topic"));
        seen_keys.insert(Str(e, "/Key"));
      }
    }
    return seen_keys.contains("visible");
  };
  EXPECT_TRUE(stream.ReadUntil(scan, 20s)) << "no event for the visible job";
  EXPECT_EQ(stream.status(), 200);
  EXPECT_FALSE(seen_keys.contains("hidden"));
  EXPECT_FALSE(seen_ns.contains("prod"));
  EXPECT_FALSE(seen_topics.contains("Node"));
}

TEST_F(AclE2ETest, SecretsAreNeverWrittenToDiskOrLog) {
  Launch({"--acl-enabled"});
  std::string root = Bootstrap();
  ASSERT_FALSE(root.empty());
  PutPolicy(root, "readonly", R"({"namespace": {"default": {"policy": "read"}}})");
  std::string reader = NewToken(root, "reader", {"readonly"});
  EXPECT_EQ(Call("GET", "/v1/jobs", {}, Token(reader)).status, 200);
  EXPECT_EQ(Call("GET", "/v1/jobs", {}, Token("11111111-1111-4111-8111-111111111111")).status,
            403);
  ASSERT_TRUE(agent_->Stop().ok());  // flushes the store

  std::vector<std::string> secrets = {root, reader};
  for (const auto& entry : fs::recursive_directory_iterator(agent_->data_dir().parent_path())) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    for (const std::string& s : secrets) {
      EXPECT_EQ(content.str().find(s), std::string::npos) << "secret found in " << entry.path();
    }
  }
}

// alloc exec checks its token after the upgrade, as Nomad's client: a raw_exec
// task needs alloc-exec and alloc-node-exec (the "write" policy has only the
// first); the token may come in the ws_handshake message instead of a header.
TEST_F(AclE2ETest, ExecNeedsAllocExecAndAllocNodeExec) {
  Launch({"--acl-enabled"});
  std::string root = Bootstrap();
  ASSERT_FALSE(root.empty());
  PutPolicy(root, "writer", R"({"namespace": {"default": {"policy": "write"}}})");
  PutPolicy(root, "execer",
            R"({"namespace": {"default": {"policy": "write", "capabilities": ["alloc-node-exec"]}}})");
  std::string writer = NewToken(root, "writer", {"writer"});
  std::string execer = NewToken(root, "execer", {"execer"});
  ASSERT_EQ(Call("PUT", "/v1/jobs", JobBody("web", "exec sleep 3600"), Token(root)).status, 200);
  const std::string alloc = RunningAlloc("web", root);
  ASSERT_FALSE(alloc.empty());
  const std::string target = "/v1/client/allocation/" + alloc +
                             "/exec?task=t&command=" + PercentEncode(R"(["echo","hi"])");

  struct Result {
    std::string out;
    int close_code = 0;
    std::string reason;
  };
  auto exec = [&](const std::string& path, const std::string& header_token,
                  const std::string& first_message) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!header_token.empty()) headers.emplace_back("X-Nomad-Token", header_token);
    auto ws = WsClient::Connect(agent_->port(), path, headers, kWait);
    EXPECT_TRUE(ws.ok()) << ws.status().ToString();
    Result r;
    if (!ws.ok()) return r;
    EXPECT_EQ(ws->status(), 101) << ws->head();
    if (!first_message.empty()) EXPECT_TRUE(ws->SendText(first_message).ok());
    for (;;) {
      auto f = ws->Next();
      if (!f.ok()) break;
      if (f->opcode == WsClient::kClose) {
        r.close_code = f->close_code();
        r.reason = f->close_reason();
        break;
      }
      if (f->payload.find("\"stdout\":{\"data\"") != std::string::npos) r.out += f->payload;
    }
    return r;
  };

  Result denied = exec(target, writer, "");
  EXPECT_EQ(denied.close_code, 1011);
  EXPECT_EQ(denied.reason, "Permission denied");
  Result anonymous = exec(target, "", "");
  EXPECT_EQ(anonymous.reason, "Permission denied");
  Result unknown = exec(target, "11111111-1111-4111-8111-111111111111", "");
  EXPECT_EQ(unknown.close_code, 1008);
  EXPECT_EQ(unknown.reason, "ACL token not found");

  Result allowed = exec(target, execer, "");
  EXPECT_EQ(allowed.close_code, 1000) << allowed.reason;
  EXPECT_NE(allowed.out.find("aGkK"), std::string::npos) << allowed.out;  // "hi\n"

  const std::string handshake = R"({"version":1,"auth_token":")" + execer + "\"}";
  Result by_handshake = exec(target + "&ws_handshake=true", "", handshake);
  EXPECT_EQ(by_handshake.close_code, 1000) << by_handshake.reason;
  EXPECT_NE(by_handshake.out.find("aGkK"), std::string::npos);
  Result mismatch = exec(target + "&ws_handshake=true", writer, handshake);
  EXPECT_EQ(mismatch.close_code, 1008);
  EXPECT_EQ(mismatch.reason, "handshake auth token mismatched auth header token");
}

}  // namespace
}  // namespace drover::testing
