// ACL building blocks: SHA-256, policy rules as Nomad parses and expands
// them, the capability checks, and the token service over a real store.
#include <boost/json.hpp>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "common/sha256.h"
#include "common/uuid.h"
#include "migrations/migrations.h"
#include "service/acl.h"
#include "service/acl_policy.h"

namespace drover {
namespace {

namespace json = boost::json;

// ---- SHA-256 (FIPS 180-4 test vectors) ------------------------------------------

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // 55, 56 and 64 bytes: the padding's one- and two-block edges.
  EXPECT_EQ(Sha256Hex(std::string(55, 'a')),
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(Sha256Hex(std::string(56, 'a')),
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(Sha256Hex(std::string(64, 'a')),
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(SecretUUIDTest, CanonicalAndDistinct) {
  std::string a = NewSecretUUID(), b = NewSecretUUID();
  EXPECT_TRUE(IsUUID(a)) << a;
  EXPECT_TRUE(IsUUID(b)) << b;
  EXPECT_NE(a, b);
}

// ---- Policy rules ----------------------------------------------------------------

PolicyRules MustParse(const std::string& rules) {
  auto r = ParsePolicyRules(rules);
  EXPECT_TRUE(r.ok()) << r.status().ToString() << "\n" << rules;
  return r.ok() ? std::move(r).value() : PolicyRules{};
}

TEST(PolicyRulesTest, ReadShorthandExpandsAsNomad) {
  PolicyRules r = MustParse(R"({"namespace": {"default": {"policy": "read"}}})");
  ASSERT_EQ(r.namespaces.size(), 1u);
  const auto& caps = r.namespaces[0].capabilities;
  for (const char* c : {"list-jobs", "parse-job", "read-job", "csi-list-volume",
                        "csi-read-volume", "read-job-scaling", "list-scaling-policies",
                        "read-scaling-policy", "host-volume-read"}) {
    EXPECT_NE(std::find(caps.begin(), caps.end(), c), caps.end()) << c;
  }
  EXPECT_EQ(std::find(caps.begin(), caps.end(), "submit-job"), caps.end());
}

TEST(PolicyRulesTest, WriteAndScaleShorthands) {
  PolicyRules w = MustParse(R"({"namespace": {"default": {"policy": "write"}}})");
  auto acl = Acl::FromPolicies({w});
  for (const char* c : {"read-job", "submit-job", "dispatch-job", "read-logs", "read-fs",
                        "alloc-exec", "alloc-lifecycle", "scale-job", "host-volume-create"}) {
    EXPECT_TRUE(acl->AllowNamespaceOp("default", c)) << c;
  }
  EXPECT_FALSE(acl->AllowNamespaceOp("default", "alloc-node-exec"));

  auto scale = Acl::FromPolicies({MustParse(R"({"namespace": {"x": {"policy": "scale"}}})")});
  EXPECT_TRUE(scale->AllowNamespaceOp("x", "scale-job"));
  EXPECT_TRUE(scale->AllowNamespaceOp("x", "read-job"));
  EXPECT_FALSE(scale->AllowNamespaceOp("x", "submit-job"));
}

TEST(PolicyRulesTest, HostVolumeCapabilitiesImplyOthers) {
  auto acl = Acl::FromPolicies({MustParse(
      R"({"namespace": {"default": {"capabilities": ["host-volume-write"]}}})")});
  for (const char* c : {"host-volume-register", "host-volume-create", "host-volume-delete",
                        "host-volume-read"}) {
    EXPECT_TRUE(acl->AllowNamespaceOp("default", c)) << c;
  }
}

TEST(PolicyRulesTest, ListFormAndEveryBlockType) {
  PolicyRules r = MustParse(R"({
    "namespace": [{"default": {"policy": "read"}}, {"prod-*": {"capabilities": ["submit-job"]}}],
    "node": {"policy": "write"}, "agent": {"policy": "read"}, "operator": {"policy": "read"},
    "quota": {"policy": "read"}, "plugin": {"policy": "list"},
    "host_volume": {"data": {"policy": "write"}}})");
  EXPECT_EQ(r.namespaces.size(), 2u);
  EXPECT_EQ(r.node, "write");
  EXPECT_EQ(r.agent, "read");
  EXPECT_EQ(r.operator_policy, "read");
  EXPECT_EQ(r.plugin, "list");
  ASSERT_EQ(r.host_volumes.size(), 1u);
  EXPECT_EQ(r.host_volumes[0].capabilities,
            (std::vector<std::string>{"mount-readonly", "mount-readwrite"}));
  json::value rules_json = PolicyRulesJson(r);
  EXPECT_EQ(rules_json.at("Node").at("Policy"), "write");
  EXPECT_EQ(rules_json.at("Namespaces").as_array().size(), 2u);
}

struct BadRules {
  const char* rules;
  const char* error_prefix;
};

class PolicyRulesErrorTest : public ::testing::TestWithParam<BadRules> {};

TEST_P(PolicyRulesErrorTest, Refused) {
  auto r = ParsePolicyRules(GetParam().rules);
  ASSERT_FALSE(r.ok()) << GetParam().rules;
  EXPECT_EQ(r.status().message().rfind(GetParam().error_prefix, 0), 0u)
      << r.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Nomad, PolicyRulesErrorTest,
    ::testing::Values(
        BadRules{"", "Invalid policy"},
        BadRules{"{}", "Invalid policy"},
        BadRules{"{not json", "Failed to parse ACL Policy"},
        BadRules{R"({"namespace": {"default": {"policy": "admin"}}})",
                 "Invalid namespace policy: \"admin\""},
        BadRules{R"({"namespace": {"default": {"capabilities": ["fly"]}}})",
                 "Invalid namespace capability 'fly'"},
        BadRules{R"({"namespace": {"bad name!": {"policy": "read"}}})",
                 "Invalid namespace name"},
        BadRules{R"({"node": {"policy": "scale-everything"}})", "Invalid node policy"},
        BadRules{R"({"agent": {"policy": 3}})", "Failed to parse ACL Policy: agent.policy"},
        BadRules{R"({"namespaces": {"default": {"policy": "read"}}})",
                 "Invalid or duplicate policy keys: namespaces"},
        BadRules{R"({"namespace": {"default": {"policy": "read", "color": "red"}}})",
                 "Failed to parse ACL Policy: unknown key \"color\""},
        BadRules{R"({"operator": {"capabilities": ["reboot"]}})",
                 "Invalid operator capability 'reboot'"},
        BadRules{R"({"plugin": {"policy": "scale"}})", "Invalid plugin policy"}));

// ---- Capability checks -----------------------------------------------------------

TEST(AclTest, DenyWinsAndExactBeatsGlob) {
  auto acl = Acl::FromPolicies(
      {MustParse(R"({"namespace": {"*": {"policy": "write"}, "secret": {"policy": "deny"}}})"),
       MustParse(R"({"namespace": {"secret": {"policy": "write"}}})")});
  EXPECT_TRUE(acl->AllowNamespaceOp("default", "submit-job"));
  EXPECT_FALSE(acl->AllowNamespaceOp("secret", "read-job"));  // deny wins across policies
  EXPECT_FALSE(acl->AllowNamespace("secret"));
  EXPECT_TRUE(acl->AllowNamespace("default"));
}

TEST(AclTest, ClosestGlobWins) {
  auto acl = Acl::FromPolicies({MustParse(
      R"({"namespace": {"*": {"policy": "read"}, "prod-*": {"policy": "deny"},
                         "prod-api-*": {"policy": "write"}}})")});
  EXPECT_TRUE(acl->AllowNamespaceOp("dev", "read-job"));
  EXPECT_FALSE(acl->AllowNamespaceOp("prod-db", "read-job"));
  EXPECT_TRUE(acl->AllowNamespaceOp("prod-api-1", "submit-job"));
}

TEST(AclTest, CoarsePoliciesTakeTheMaximumButDenyWins) {
  auto acl = Acl::FromPolicies({MustParse(R"({"node": {"policy": "read"}})"),
                                MustParse(R"({"node": {"policy": "write"}})")});
  EXPECT_TRUE(acl->AllowNodeWrite());
  EXPECT_FALSE(acl->AllowAgentRead());
  auto denied = Acl::FromPolicies({MustParse(R"({"agent": {"policy": "write"}})"),
                                   MustParse(R"({"agent": {"policy": "deny"}})")});
  EXPECT_FALSE(denied->AllowAgentRead());
}

TEST(AclTest, EmptyAclAllowsNothingAndManagementEverything) {
  auto none = Acl::FromPolicies({});
  EXPECT_FALSE(none->AllowNamespaceOp("default", "read-job"));
  EXPECT_FALSE(none->AllowNodeRead());
  auto root = Acl::Management();
  EXPECT_TRUE(root->AllowNamespaceOp("anything", "alloc-node-exec"));
  EXPECT_TRUE(root->AllowNodeWrite());
  EXPECT_TRUE(root->IsManagement());
}

TEST(GlobMatchTest, GoGlobSemantics) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("prod-*", "prod-"));
  EXPECT_TRUE(GlobMatch("*-api", "prod-api"));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "aXXcYYb"));
  EXPECT_FALSE(GlobMatch("prod", "prod-1"));
  EXPECT_FALSE(GlobMatch("ab*ba", "aba"));  // parts may not overlap
}

// ---- The token service over a real store -----------------------------------------

class AclServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("drover-acl-test-" + std::to_string(::getpid()) + "-" + NewUUID());
    std::filesystem::create_directories(dir_);
    StoreOptions options;
    options.migrations = migrations::All();
    auto store = StateStore::Open((dir_ / "state").string(), std::move(options));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    acl_ = std::make_unique<AclService>(*store_, true, dir_.string());
  }
  void TearDown() override {
    acl_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  ACLPolicy Policy(const std::string& name, const std::string& rules) {
    ACLPolicy p;
    p.Name = name;
    p.Rules = rules;
    return p;
  }

  std::filesystem::path dir_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<AclService> acl_;
};

TEST_F(AclServiceTest, BootstrapOnceThenResetIndex) {
  auto root = acl_->Bootstrap("");
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_EQ(root->Type, kAclTokenManagement);
  EXPECT_EQ(root->Name, "Bootstrap Token");
  EXPECT_TRUE(IsUUID(root->SecretID));
  auto again = acl_->Bootstrap("");
  ASSERT_FALSE(again.ok());
  std::string expected =
      "ACL bootstrap already done (reset index: " + std::to_string(root->CreateIndex) + ")";
  EXPECT_EQ(again.status().message(), expected);

  std::ofstream(dir_ / "acl-bootstrap-reset") << root->CreateIndex + 7;
  auto wrong = acl_->Bootstrap("");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().message().rfind("Invalid bootstrap reset index (specified", 0), 0u);

  std::ofstream(dir_ / "acl-bootstrap-reset") << root->CreateIndex;
  auto reset = acl_->Bootstrap("");
  ASSERT_TRUE(reset.ok()) << reset.status().ToString();
  EXPECT_NE(reset->SecretID, root->SecretID);
}

TEST_F(AclServiceTest, SecretsAreStoredOnlyAsDigests) {
  auto root = acl_->Bootstrap("");
  ASSERT_TRUE(root.ok());
  auto stored = store_->GetAclToken(root->AccessorID);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->SecretID, "");
  EXPECT_EQ((*stored)->SecretHash, Sha256Hex(root->SecretID));
  auto resolved = acl_->Resolve(root->SecretID);
  ASSERT_TRUE(resolved.ok());
  EXPECT_TRUE(resolved->acl->IsManagement());
}

TEST_F(AclServiceTest, ProvidedBootstrapSecretMustBeAUUID) {
  auto bad = acl_->Bootstrap("not-a-uuid");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "invalid acl token");
  std::string secret = NewSecretUUID();
  auto good = acl_->Bootstrap(secret);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->SecretID, secret);
}

TEST_F(AclServiceTest, ClientTokenGetsItsPoliciesAndFollowsChanges) {
  ASSERT_TRUE(acl_->UpsertPolicy(
      Policy("readonly", R"({"namespace": {"default": {"policy": "read"}}})")).ok());
  ACLToken t;
  t.Name = "reader";
  t.Type = kAclTokenClient;
  t.Policies = {"readonly"};
  auto token = acl_->UpsertToken(t);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  auto who = acl_->Resolve(token->SecretID);
  ASSERT_TRUE(who.ok());
  EXPECT_TRUE(who->acl->AllowNamespaceOp("default", "read-job"));
  EXPECT_FALSE(who->acl->AllowNamespaceOp("default", "submit-job"));

  // A policy change takes effect at once (the cache follows the index).
  ASSERT_TRUE(acl_->UpsertPolicy(
      Policy("readonly", R"({"namespace": {"default": {"policy": "write"}}})")).ok());
  who = acl_->Resolve(token->SecretID);
  ASSERT_TRUE(who.ok());
  EXPECT_TRUE(who->acl->AllowNamespaceOp("default", "submit-job"));

  ASSERT_TRUE(acl_->DeleteToken(token->AccessorID).ok());
  auto gone = acl_->Resolve(token->SecretID);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().message(), kErrTokenNotFound);
}

TEST_F(AclServiceTest, TokenValidationAsNomad) {
  ACLToken t;
  t.Type = kAclTokenClient;
  auto r = acl_->UpsertToken(t);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("client token missing policies or roles"),
            std::string::npos);
  t.Type = "root";
  r = acl_->UpsertToken(t);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("token type must be client or management"),
            std::string::npos);
  t.Type = kAclTokenManagement;
  t.Policies = {"x"};
  r = acl_->UpsertToken(t);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("management token cannot be associated"),
            std::string::npos);
  t.Policies.clear();
  t.ExpirationTTL = 48 * kHour;
  r = acl_->UpsertToken(t);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("expiration time cannot be more than 24h0m0s"),
            std::string::npos)
      << r.status().message();
}

TEST_F(AclServiceTest, ExpiredTokenIsRefused) {
  ACLToken t;
  t.Type = kAclTokenManagement;
  t.ExpirationTTL = 2 * kMinute;
  auto token = acl_->UpsertToken(t);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  ASSERT_TRUE(acl_->Resolve(token->SecretID).ok());
  // Move its expiry into the past, as time would.
  auto stored = store_->GetAclToken(token->AccessorID);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  ACLToken expired = **stored;
  expired.ExpirationTime = GoTime::FromUnixNanos(NowNanos() - kSecond);
  ASSERT_TRUE(store_->Apply([&](WriteTxn& txn) {
    txn.PutAclToken(expired);
    return Status::Ok();
  }).ok());
  auto r = acl_->Resolve(token->SecretID);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), kErrTokenExpired);
}

TEST_F(AclServiceTest, AnonymousUsesTheAnonymousPolicy) {
  auto anon = acl_->Resolve("");
  ASSERT_TRUE(anon.ok());
  EXPECT_FALSE(anon->acl->AllowNamespaceOp("default", "read-job"));
  ASSERT_TRUE(acl_->UpsertPolicy(
      Policy("anonymous", R"({"namespace": {"default": {"policy": "read"}}})")).ok());
  anon = acl_->Resolve("");
  ASSERT_TRUE(anon.ok());
  EXPECT_TRUE(anon->acl->AllowNamespaceOp("default", "read-job"));
  EXPECT_FALSE(anon->token.has_value());
}

TEST_F(AclServiceTest, PolicyValidationAsNomad) {
  auto r = acl_->UpsertPolicy(Policy("bad name", R"({"node": {"policy": "read"}})"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("invalid name 'bad name'"), std::string::npos);
  r = acl_->UpsertPolicy(Policy("ok", R"({"node": {"policy": "fly"}})"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("failed to parse rules: Invalid node policy"),
            std::string::npos)
      << r.status().message();
  auto listed = store_->ListAclPolicies();
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());  // nothing stored
}

TEST_F(AclServiceTest, DisabledAnswersAclSupportDisabled) {
  AclService off(*store_, false, dir_.string());
  auto r = off.Bootstrap("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), kErrAclDisabled);
  auto who = off.Resolve("whatever");
  ASSERT_TRUE(who.ok());
  EXPECT_TRUE(who->acl->IsManagement());
}

}  // namespace
}  // namespace drover
