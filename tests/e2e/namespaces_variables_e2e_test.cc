// End-to-end: namespaces and variables against the real agent, in Nomad's
// shapes, codes and texts:
//
// - /v1/namespaces, /v1/namespace/:name, /v1/namespace: create, read,
//   update, delete; bad names, a mismatched name, "default" and namespaces
//   still in use refused; jobs in an unknown namespace refused (also when
//   registered from /v1/jobs/parse's output).
// - /v1/vars, /v1/var/<path>: set, read (blocking), list, delete, cas with
//   409 conflicts, locks, Nomad's path rules, a variable surviving a
//   restart.
// - ACLs: management for namespace writes, variable capabilities on paths.
#include <boost/json.hpp>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"
#include "tests/support/json_assert.h"
#include "tests/support/shared_agent.h"
#include "tests/support/stream_reader.h"

namespace drover::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::int64_t kSecond = 1'000'000'000;

std::string JobBody(const std::string& id, const std::string& ns, const std::string& script) {
  json::object job{{"ID", id},
                   {"Name", id},
                   {"Namespace", ns},
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
  return json::serialize(json::object{{"Job", job}});
}

HttpHeaders Token(const std::string& secret) { return HttpHeaders{{"X-Nomad-Token", secret}}; }

// Calls on one agent.
class Calls {
 public:
  explicit Calls(AgentProcess* agent) : agent_(agent) {}

  HttpResponse Call(std::string_view method, const std::string& path, std::string_view body = {},
                    const HttpHeaders& headers = {}) {
    HttpClient client = agent_->Client(60s);
    auto r = client.Request(method, path, body, headers);
    EXPECT_TRUE(r.ok()) << method << " " << path << ": " << r.status().ToString();
    return r.ok() ? std::move(r).value() : HttpResponse{};
  }
  json::value Json(const HttpResponse& r) {
    auto v = ParseJson(r.body);
    EXPECT_TRUE(v.ok()) << r.body;
    return v.ok() ? std::move(v).value() : json::value();
  }

 private:
  AgentProcess* agent_;
};

std::uint64_t IndexOf(const HttpResponse& r) {
  auto h = r.headers.Get("X-Nomad-Index");
  return h ? std::stoull(std::string(*h)) : 0;
}

class NamespacesVariablesE2ETest : public SharedAgentTest<NamespacesVariablesE2ETest> {
 protected:
  HttpResponse Call(std::string_view method, const std::string& path, std::string_view body = {},
                    const HttpHeaders& headers = {}) {
    return Calls(agent_).Call(method, path, body, headers);
  }
  json::value Json(const HttpResponse& r) { return Calls(agent_).Json(r); }
};

// ---- Namespaces ------------------------------------------------------------------

TEST_F(NamespacesVariablesE2ETest, NamespaceLifecycle) {
  HttpResponse list = Call("GET", "/v1/namespaces");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_GE(IndexOf(list), 1u);
  json::value all = Json(list);
  bool has_default = false;
  for (const json::value& ns : all.as_array()) {
    if (Str(ns, "/Name") == "default") {
      has_default = true;
      EXPECT_EQ(Str(ns, "/Description"), "Default shared namespace");
    }
  }
  EXPECT_TRUE(has_default);

  HttpResponse created = Call("POST", "/v1/namespace/team-a",
                              R"({"Name": "team-a", "Description": "A", "Meta": {"o": "me"}})");
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(created.body, "");
  const std::uint64_t create_index = IndexOf(created);
  EXPECT_GT(create_index, 0u);
  HttpResponse read = Call("GET", "/v1/namespace/team-a");
  ASSERT_EQ(read.status, 200) << read.body;
  json::value ns = Json(read);
  EXPECT_EQ(Str(ns, "/Description"), "A");
  EXPECT_EQ(Str(ns, "/Meta/o"), "me");
  EXPECT_EQ(Int(ns, "/CreateIndex"), static_cast<std::int64_t>(create_index));
  EXPECT_TRUE(At(ns, "/Capabilities").is_null());

  // PUT /v1/namespace with the name in the body updates it.
  HttpResponse updated = Call("PUT", "/v1/namespace", R"({"Name": "team-a", "Description": "B"})");
  ASSERT_EQ(updated.status, 200) << updated.body;
  json::value again = Json(Call("GET", "/v1/namespace/team-a"));
  EXPECT_EQ(Str(again, "/Description"), "B");
  EXPECT_EQ(Int(again, "/CreateIndex"), static_cast<std::int64_t>(create_index));
  EXPECT_EQ(Int(again, "/ModifyIndex"), static_cast<std::int64_t>(IndexOf(updated)));

  json::value prefixed = Json(Call("GET", "/v1/namespaces?prefix=team-"));
  ASSERT_EQ(prefixed.as_array().size(), 1u);
  EXPECT_EQ(Str(prefixed, "/0/Name"), "team-a");

  HttpResponse deleted = Call("DELETE", "/v1/namespace/team-a");
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  HttpResponse gone = Call("GET", "/v1/namespace/team-a");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.body, "Namespace not found");
}

TEST_F(NamespacesVariablesE2ETest, NamespaceBadInputChangesNothing) {
  HttpResponse before = Call("GET", "/v1/namespaces");
  auto expect = [&](std::string_view method, const std::string& path, std::string_view body,
                    int code, const std::string& text) {
    HttpResponse r = Call(method, path, body);
    EXPECT_EQ(r.status, code) << method << " " << path << ": " << r.body;
    EXPECT_EQ(r.body, text) << method << " " << path;
  };
  expect("POST", "/v1/namespace/a", R"({"Name": "b"})", 400,
         "Namespace name does not match request path");
  expect("POST", "/v1/namespace", R"({"Name": "bad name"})", 400,
         "Invalid namespace \"bad name\": 1 error occurred:\n\t* invalid name \"bad name\". Must "
         "match regex ^[a-zA-Z0-9-]{1,128}$\n\n");
  expect("POST", "/v1/namespace", R"({"Name": "x", "Description": 5})", 400,
         "json: cannot unmarshal number into Go struct field Namespace.Description of type "
         "string");
  expect("POST", "/v1/namespace", "", 400, "EOF");
  expect("POST", "/v1/namespace", R"({"Name": "np", "NodePoolConfiguration": {"Default": "x"}})",
         400,
         "Invalid namespace \"np\": 1 error occurred:\n\t* invalid node pool configuration: Node "
         "Pools Governance is unlicensed.\n\n");
  expect("DELETE", "/v1/namespace/default", "", 400, "can not delete default namespace");
  expect("DELETE", "/v1/namespace/never-made", "", 404, "namespace not found");
  expect("GET", "/v1/namespace/never-made", "", 404, "Namespace not found");
  HttpResponse after = Call("GET", "/v1/namespaces");
  EXPECT_EQ(after.body, before.body);
  EXPECT_EQ(IndexOf(after), IndexOf(before));
}

TEST_F(NamespacesVariablesE2ETest, JobsInAnUnknownNamespaceAreRefused) {
  HttpResponse r = Call("PUT", "/v1/jobs", JobBody("ghostly", "ghost", "sleep 60"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "1 error occurred:\n\t* job \"ghostly\" is in nonexistent namespace "
                    "\"ghost\"\n\n");
  // Parsed from HCL, then registered: the same.
  const std::string hcl = R"(job "parsed" {
  namespace = "ghost"
  datacenters = ["dc1"]
  group "g" {
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/true" }
    }
  }
})";
  HttpResponse parsed = Call("POST", "/v1/jobs/parse",
                             json::serialize(json::object{{"JobHCL", hcl}, {"Canonicalize", true}}));
  ASSERT_EQ(parsed.status, 200) << parsed.body;
  HttpResponse reg = Call("PUT", "/v1/jobs", "{\"Job\": " + parsed.body + "}");
  EXPECT_EQ(reg.status, 400);
  EXPECT_EQ(reg.body, "1 error occurred:\n\t* job \"parsed\" is in nonexistent namespace "
                      "\"ghost\"\n\n");
  json::value jobs = Json(Call("GET", "/v1/jobs?namespace=*"));
  for (const json::value& j : jobs.as_array()) {
    EXPECT_NE(Str(j, "/Namespace"), "ghost");
  }
}

TEST_F(NamespacesVariablesE2ETest, ANamespaceInUseCannotBeDeleted) {
  ASSERT_EQ(Call("POST", "/v1/namespace/busy", R"({"Name": "busy"})").status, 200);
  HttpResponse reg = Call("PUT", "/v1/jobs", JobBody("worker", "busy", "sleep 300"));
  ASSERT_EQ(reg.status, 200) << reg.body;
  HttpResponse refused = Call("DELETE", "/v1/namespace/busy");
  EXPECT_EQ(refused.status, 409);
  EXPECT_NE(refused.body.find("namespace \"busy\" has non-terminal jobs in regions: [global]"),
            std::string::npos)
      << refused.body;
  EXPECT_EQ(Call("GET", "/v1/namespace/busy").status, 200);

  ASSERT_EQ(Call("DELETE", "/v1/job/worker?namespace=busy&purge=true").status, 200);
  // Once its allocation has stopped the namespace is empty.
  bool deleted = WaitFor([&] { return Call("DELETE", "/v1/namespace/busy").status == 200; }, 60s,
                         200ms);
  EXPECT_TRUE(deleted) << Call("DELETE", "/v1/namespace/busy").body;
}

// ---- Variables ---------------------------------------------------------------------

TEST_F(NamespacesVariablesE2ETest, VariableSetReadListDelete) {
  HttpResponse put = Call("PUT", "/v1/var/app/db/creds", R"({"Items": {"user": "u", "pass": "p"}})");
  ASSERT_EQ(put.status, 200) << put.body;
  json::value written = Json(put);
  EXPECT_EQ(Str(written, "/Namespace"), "default");
  EXPECT_EQ(Str(written, "/Path"), "app/db/creds");
  EXPECT_EQ(Str(written, "/Items/pass"), "p");
  EXPECT_EQ(Int(written, "/ModifyIndex"), static_cast<std::int64_t>(IndexOf(put)));
  EXPECT_GT(Int(written, "/CreateTime"), 1'000'000'000'000'000'000);  // ns since 1970

  HttpResponse get = Call("GET", "/v1/var/app/db/creds");
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(Json(get), written);
  EXPECT_EQ(IndexOf(get), IndexOf(put));
  // Percent-encoded slashes name the same variable, as Go decodes them.
  EXPECT_EQ(Call("GET", "/v1/var/app%2Fdb%2Fcreds").status, 200);

  ASSERT_EQ(Call("PUT", "/v1/var/app/web", R"({"Items": {"k": "v"}})").status, 200);
  HttpResponse list = Call("GET", "/v1/vars?prefix=app/");
  ASSERT_EQ(list.status, 200);
  json::value metas = Json(list);
  ASSERT_EQ(metas.as_array().size(), 2u);
  EXPECT_EQ(Str(metas, "/0/Path"), "app/db/creds");
  EXPECT_TRUE(At(metas, "/0/Items").is_null());  // metadata only
  HttpResponse page = Call("GET", "/v1/vars?prefix=app/&per_page=1");
  EXPECT_EQ(Json(page).as_array().size(), 1u);
  EXPECT_EQ(page.headers.Get("X-Nomad-NextToken").value_or(""), "default.app/web");

  HttpResponse del = Call("DELETE", "/v1/var/app/db/creds");
  EXPECT_EQ(del.status, 204);
  EXPECT_EQ(del.body, "");
  HttpResponse gone = Call("GET", "/v1/var/app/db/creds");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.body, "variable not found");
  ASSERT_EQ(Call("DELETE", "/v1/var/app/web").status, 204);
}

TEST_F(NamespacesVariablesE2ETest, CheckAndSetConflictsAre409WithTheCurrentVariable) {
  HttpResponse first = Call("PUT", "/v1/var/cas/x?cas=0", R"({"Items": {"v": "1"}})");
  ASSERT_EQ(first.status, 200) << first.body;
  const std::uint64_t idx = IndexOf(first);
  HttpResponse exists = Call("PUT", "/v1/var/cas/x?cas=0", R"({"Items": {"v": "2"}})");
  EXPECT_EQ(exists.status, 409);
  json::value current = Json(exists);
  EXPECT_EQ(Str(current, "/Items/v"), "1");
  EXPECT_EQ(Int(current, "/ModifyIndex"), static_cast<std::int64_t>(idx));
  EXPECT_EQ(IndexOf(exists), idx);

  HttpResponse stale = Call("PUT", "/v1/var/cas/x?cas=" + std::to_string(idx + 1000),
                            R"({"Items": {"v": "2"}})");
  EXPECT_EQ(stale.status, 409);
  HttpResponse right =
      Call("PUT", "/v1/var/cas/x?cas=" + std::to_string(idx), R"({"Items": {"v": "2"}})");
  ASSERT_EQ(right.status, 200) << right.body;
  EXPECT_EQ(Str(Json(Call("GET", "/v1/var/cas/x")), "/Items/v"), "2");

  HttpResponse bad_cas = Call("PUT", "/v1/var/cas/x?cas=abc", R"({"Items": {"v": "3"}})");
  EXPECT_EQ(bad_cas.status, 400);
  EXPECT_EQ(bad_cas.body, "can not parse cas: strconv.ParseUint: parsing \"abc\": invalid syntax");
  HttpResponse del_stale = Call("DELETE", "/v1/var/cas/x?cas=" + std::to_string(idx));
  EXPECT_EQ(del_stale.status, 409);
  EXPECT_EQ(Str(Json(del_stale), "/Items/v"), "2");
  HttpResponse del = Call("DELETE", "/v1/var/cas/x?cas=" + std::to_string(IndexOf(right)));
  EXPECT_EQ(del.status, 204) << del.body;
}

TEST_F(NamespacesVariablesE2ETest, VariableBadInputAsNomad) {
  HttpResponse before = Call("GET", "/v1/vars?namespace=*");
  auto expect = [&](std::string_view method, const std::string& path, std::string_view body,
                    int code, const std::string& text) {
    HttpResponse r = Call(method, path, body);
    EXPECT_EQ(r.status, code) << method << " " << path << ": " << r.body;
    EXPECT_EQ(r.body, text) << method << " " << path;
  };
  const std::string items = R"({"Items": {"k": "v"}})";
  expect("PUT", "/v1/var/nomad", items, 400,
         "\"nomad\" is a reserved top-level directory path, but you may write variables to "
         "\"nomad/jobs\", \"nomad/job-templates\", \"nomad/sentinel\", or below");
  expect("PUT", "/v1/var/nomad/other", items, 400,
         "only paths at \"nomad/jobs\" or \"nomad/job-templates\" and below are valid paths "
         "under the top-level \"nomad\" directory");
  expect("PUT", "/v1/var/a.b", items, 400, "invalid path \"a.b\"");
  expect("PUT", "/v1/var/" + std::string(129, 'p'), items, 400,
         "invalid path \"" + std::string(129, 'p') + "\"");
  expect("PUT", "/v1/var/ok", "{}", 400, "variable missing required Items object");
  expect("PUT", "/v1/var/ok", "", 400, "EOF");
  expect("PUT", "/v1/var/ok", R"({"Items": {"k": 1}})", 400,
         "json: cannot unmarshal number into Go struct field VariableDecrypted.Items of type "
         "string");
  expect("PUT", "/v1/var/ok",
         json::serialize(json::object{{"Items", json::object{{"k", std::string(65536, 'x')}}}}),
         400, "variables are limited to 64KiB in total size");
  expect("PUT", "/v1/var/ok?namespace=*", items, 400, "can not target wildcard (\"*\")namespace");
  expect("PUT", "/v1/var/ok?lock-acquire&lock-release", "{}", 400, "multiple lock operations");
  expect("PUT", "/v1/var/ok?lock-acquire&cas=3", "{}", 400,
         "CAS can't be used with lock operations");
  expect("PUT", "/v1/var/ok", R"({"Items": {"k": "v"}, "Lock": {"TTL": "20s"}})", 400,
         "variable should not contain lock definition");
  expect("PUT", "/v1/var/ok?lock-acquire", R"({"Lock": {"TTL": "1s"}})", 400,
         "1 error occurred:\n\t* TTL must be between 10 seconds and 24 hours\n\n");
  expect("GET", "/v1/var/never", "", 404, "variable not found");
  HttpResponse after = Call("GET", "/v1/vars?namespace=*");
  EXPECT_EQ(after.body, before.body);
}

TEST_F(NamespacesVariablesE2ETest, LocksAsNomad) {
  HttpResponse acquired = Call("PUT", "/v1/var/locks/leader?lock-acquire", "{}");
  ASSERT_EQ(acquired.status, 200) << acquired.body;
  json::value held = Json(acquired);
  const std::string id = Str(held, "/Lock/ID");
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(Str(held, "/Lock/TTL"), "15s");
  EXPECT_EQ(Str(held, "/Lock/LockDelay"), "15s");

  HttpResponse taken = Call("PUT", "/v1/var/locks/leader?lock-acquire", "{}");
  EXPECT_EQ(taken.status, 409) << taken.body;
  EXPECT_EQ(Str(Json(taken), "/Path"), "locks/leader");
  EXPECT_TRUE(At(Json(taken), "/Lock").is_null());
  EXPECT_EQ(Call("PUT", "/v1/var/locks/leader", R"({"Items": {"k": "v"}})").status, 409);
  EXPECT_EQ(Call("DELETE", "/v1/var/locks/leader").status, 409);

  const std::string mine = json::serialize(json::object{{"Lock", json::object{{"ID", id}}}});
  HttpResponse renewed = Call("PUT", "/v1/var/locks/leader?lock-renew", mine);
  ASSERT_EQ(renewed.status, 200) << renewed.body;
  EXPECT_EQ(Str(Json(renewed), "/Lock/ID"), id);
  HttpResponse wrong = Call("PUT", "/v1/var/locks/leader?lock-renew", R"({"Lock": {"ID": "x"}})");
  EXPECT_EQ(wrong.status, 409);
  EXPECT_EQ(wrong.body, "attempting to modify locked variable");

  HttpResponse released = Call("PUT", "/v1/var/locks/leader?lock-release", mine);
  ASSERT_EQ(released.status, 200) << released.body;
  EXPECT_TRUE(At(Json(released), "/Lock").is_null());
  HttpResponse again = Call("PUT", "/v1/var/locks/leader?lock-release", mine);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.body, "variable doesn't hold a lock");
  EXPECT_EQ(Call("DELETE", "/v1/var/locks/leader").status, 204);
}

TEST_F(NamespacesVariablesE2ETest, BlockingReadWakesOnWrite) {
  HttpResponse first = Call("PUT", "/v1/var/watch/me", R"({"Items": {"n": "1"}})");
  ASSERT_EQ(first.status, 200);
  const std::uint64_t idx = IndexOf(first);
  auto waiting = std::async(std::launch::async, [&] {
    return Call("GET", "/v1/var/watch/me?index=" + std::to_string(idx) + "&wait=50s");
  });
  // A write elsewhere does not answer it; one to this variable does.
  ASSERT_EQ(Call("PUT", "/v1/var/watch/other", R"({"Items": {"n": "x"}})").status, 200);
  EXPECT_EQ(waiting.wait_for(300ms), std::future_status::timeout);
  HttpResponse second = Call("PUT", "/v1/var/watch/me", R"({"Items": {"n": "2"}})");
  ASSERT_EQ(second.status, 200);
  HttpResponse woke = waiting.get();
  ASSERT_EQ(woke.status, 200) << woke.body;
  EXPECT_EQ(Str(Json(woke), "/Items/n"), "2");
  EXPECT_EQ(IndexOf(woke), IndexOf(second));
}

TEST_F(NamespacesVariablesE2ETest, VariablesLiveInTheirNamespace) {
  ASSERT_EQ(Call("POST", "/v1/namespace/vault", R"({"Name": "vault"})").status, 200);
  ASSERT_EQ(Call("PUT", "/v1/var/s?namespace=vault", R"({"Items": {"k": "v"}})").status, 200);
  EXPECT_EQ(Call("GET", "/v1/var/s").status, 404);  // not in "default"
  EXPECT_EQ(Call("GET", "/v1/var/s?namespace=vault").status, 200);
  json::value all = Json(Call("GET", "/v1/vars?namespace=*&prefix=s"));
  bool found = false;
  for (const json::value& m : all.as_array()) {
    found = found || (Str(m, "/Namespace") == "vault" && Str(m, "/Path") == "s");
  }
  EXPECT_TRUE(found) << json::serialize(all);
  HttpResponse refused = Call("DELETE", "/v1/namespace/vault");
  EXPECT_EQ(refused.status, 409);
  EXPECT_EQ(refused.body, "1 error occurred:\n\t* namespace \"vault\" has variables associated "
                          "with it in regions: [global]\n\n");
  ASSERT_EQ(Call("DELETE", "/v1/var/s?namespace=vault").status, 204);
  EXPECT_EQ(Call("DELETE", "/v1/namespace/vault").status, 200);
}

TEST_F(NamespacesVariablesE2ETest, TheEventStreamShowsVariableMetadataOnly) {
  StreamReader stream(agent_->port(), "/v1/event/stream?topic=Variable&index=1");
  ASSERT_TRUE(stream.connected());
  ASSERT_EQ(Call("PUT", "/v1/var/evt/x", R"({"Items": {"secret": "hush-123"}})").status, 200);
  bool seen = stream.ReadUntil(
      [](const std::vector<std::string>& lines) {
        for (const std::string& line : lines) {
          if (line.find("evt/x") != std::string::npos) return true;
        }
        return false;
      },
      30s);
  ASSERT_TRUE(seen);
  for (const std::string& line : stream.lines()) {
    EXPECT_EQ(line.find("hush-123"), std::string::npos) << line;
    if (line.find("evt/x") == std::string::npos) continue;
    json::value v = Json(HttpResponse{200, {}, line});
    EXPECT_EQ(Str(v, "/Events/0/Topic"), "Variable");
    EXPECT_EQ(Str(v, "/Events/0/Type"), "VariableUpdated");
    EXPECT_EQ(Str(v, "/Events/0/Payload/Metadata/Path"), "evt/x");
  }
  ASSERT_EQ(Call("DELETE", "/v1/var/evt/x").status, 204);
}

// ---- Its own agent: restarts and ACLs -------------------------------------------------

TEST(NamespacesVariablesRestartE2ETest, AVariableAndANamespaceSurviveARestart) {
  auto agent = AgentProcess::Launch();
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  Calls c(agent->get());
  ASSERT_EQ(c.Call("POST", "/v1/namespace/kept", R"({"Name": "kept"})").status, 200);
  HttpResponse put =
      c.Call("PUT", "/v1/var/keep/me?namespace=kept", R"({"Items": {"secret": "s3"}})");
  ASSERT_EQ(put.status, 200);
  json::value before = c.Json(put);
  ASSERT_TRUE((*agent)->Restart().ok()) << (*agent)->LogTail();
  HttpResponse get = c.Call("GET", "/v1/var/keep/me?namespace=kept");
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(c.Json(get), before);
  EXPECT_EQ(c.Call("GET", "/v1/namespace/kept").status, 200);
  // Items never reach the agent's log.
  EXPECT_EQ((*agent)->LogTail(1 << 20).find("s3\""), std::string::npos);
}

TEST(NamespacesVariablesAclE2ETest, CapabilitiesOnPathsAndManagementForNamespaces) {
  AgentOptions options;
  options.extra_args = {"--acl-enabled"};
  auto agent = AgentProcess::Launch(options);
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  Calls c(agent->get());
  json::value boot = c.Json(c.Call("POST", "/v1/acl/bootstrap"));
  const std::string root = Str(boot, "/SecretID");
  auto policy = [&](const std::string& name, const std::string& rules) {
    json::object body{{"Name", name}, {"Rules", rules}};
    ASSERT_EQ(c.Call("POST", "/v1/acl/policy/" + name, json::serialize(body), Token(root)).status,
              200);
  };
  policy("apps", R"(namespace "default" {
  policy = "read"
  variables {
    path "app/*" { capabilities = ["read", "write"] }
  }
})");
  json::value tok = c.Json(c.Call(
      "POST", "/v1/acl/token",
      json::serialize(json::object{{"Name", "t"}, {"Type", "client"},
                                   {"Policies", json::array{"apps"}}}),
      Token(root)));
  const HttpHeaders user = Token(Str(tok, "/SecretID"));

  ASSERT_EQ(c.Call("PUT", "/v1/var/other/x", R"({"Items": {"k": "v"}})", Token(root)).status, 200);
  EXPECT_EQ(c.Call("PUT", "/v1/var/app/x", R"({"Items": {"k": "v"}})", user).status, 200);
  EXPECT_EQ(c.Call("GET", "/v1/var/app/x", {}, user).status, 200);
  EXPECT_EQ(c.Call("GET", "/v1/var/other/x", {}, user).status, 403);
  EXPECT_EQ(c.Call("PUT", "/v1/var/other/x", R"({"Items": {"k": "w"}})", user).status, 403);
  EXPECT_EQ(c.Call("DELETE", "/v1/var/app/x", {}, user).status, 403);  // no destroy
  EXPECT_EQ(c.Call("GET", "/v1/var/app/x", {}, Token("00000000-0000-0000-0000-000000000000")).status,
            403);
  json::value listed = c.Json(c.Call("GET", "/v1/vars", {}, user));
  ASSERT_EQ(listed.as_array().size(), 1u) << json::serialize(listed);
  EXPECT_EQ(Str(listed, "/0/Path"), "app/x");
  EXPECT_EQ(c.Json(c.Call("GET", "/v1/vars", {}, Token(root))).as_array().size(), 2u);

  // Namespaces: writes need management; lists show what the token may see.
  EXPECT_EQ(c.Call("POST", "/v1/namespace/mine", R"({"Name": "mine"})", user).status, 403);
  ASSERT_EQ(c.Call("POST", "/v1/namespace/hidden", R"({"Name": "hidden"})", Token(root)).status,
            200);
  EXPECT_EQ(c.Call("DELETE", "/v1/namespace/hidden", {}, user).status, 403);
  EXPECT_EQ(c.Call("GET", "/v1/namespace/hidden", {}, user).status, 403);
  json::value seen = c.Json(c.Call("GET", "/v1/namespaces", {}, user));
  ASSERT_EQ(seen.as_array().size(), 1u) << json::serialize(seen);
  EXPECT_EQ(Str(seen, "/0/Name"), "default");
  EXPECT_EQ(c.Json(c.Call("GET", "/v1/namespaces", {}, Token(root))).as_array().size(), 2u);
}

}  // namespace
}  // namespace drover::testing
