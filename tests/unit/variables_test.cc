// Variables: Nomad's path rules, check-and-set, locks and their leases on a
// real store, the JSON shapes, and the ACL rules on variable paths.
#include <boost/json.hpp>

#include <filesystem>

#include <gtest/gtest.h>

#include "common/uuid.h"
#include "migrations/migrations.h"
#include "service/acl_policy.h"
#include "service/variables.h"

namespace drover {
namespace {

namespace json = boost::json;

// ---- Paths ----------------------------------------------------------------------

TEST(VariablePathTest, NomadsRules) {
  for (const char* ok : {"a", "a/b/c", "x-y_z~1", "nomad/jobs", "nomad/jobs/web/g/t",
                         "nomad/sentinel/p", "nomad/job-templates/t", "nomadic"}) {
    EXPECT_TRUE(VariableService::ValidatePath(ok).ok()) << ok;
  }
  EXPECT_EQ(VariableService::ValidatePath("").message(), "variable requires path");
  EXPECT_EQ(VariableService::ValidatePath("a b").message(), "invalid path \"a b\"");
  EXPECT_EQ(VariableService::ValidatePath("a.b").message(), "invalid path \"a.b\"");
  EXPECT_EQ(VariableService::ValidatePath("a@b").message(), "invalid path \"a@b\"");
  EXPECT_FALSE(VariableService::ValidatePath(std::string(129, 'a')).ok());
  EXPECT_TRUE(VariableService::ValidatePath(std::string(128, 'a')).ok());
  EXPECT_EQ(VariableService::ValidatePath("nomad").message().rfind("\"nomad\" is a reserved", 0),
            0u);
  EXPECT_EQ(VariableService::ValidatePath("nomad/job-templates")
                .message()
                .rfind("\"nomad/job-templates\" is a reserved directory path", 0),
            0u);
  EXPECT_FALSE(VariableService::ValidatePath("nomad/job-templates/a/b").ok());
  EXPECT_EQ(VariableService::ValidatePath("nomad/other").message(),
            "only paths at \"nomad/jobs\" or \"nomad/job-templates\" and below are valid paths "
            "under the top-level \"nomad\" directory");
}

// ---- JSON -----------------------------------------------------------------------

TEST(VariableJsonTest, LockDurationsAreGoTextAndItemsOmittedWhenEmpty) {
  Variable v;
  v.Meta.Namespace = "default";
  v.Meta.Path = "a";
  v.Meta.Lock = VariableLock{"id-1", 15 * kSecond, 0};
  v.Meta.CreateIndex = 3;
  json::value j = VariableToJson(v);
  EXPECT_EQ(j.at("Lock").at("TTL"), "15s");
  EXPECT_EQ(j.at("Lock").at("LockDelay"), "");
  EXPECT_EQ(j.at("Lock").at("ID"), "id-1");
  EXPECT_FALSE(j.as_object().contains("Items"));
  // Both forms come back: a text or nanoseconds.
  auto back = VariableFromJson(json::parse(
      R"({"Path": "a", "Lock": {"TTL": "1m", "LockDelay": 2000000000}, "Items": {"k": "v"}})"));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->Meta.Lock->TTL, 60 * kSecond);
  EXPECT_EQ(back->Meta.Lock->LockDelay, 2 * kSecond);
  EXPECT_EQ(back->Items->at("k"), "v");
}

TEST(VariableJsonTest, WrongTypesNameTheFieldAsGo) {
  auto bad = VariableFromJson(json::parse(R"({"Items": {"k": 1}})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "json: cannot unmarshal number into Go struct field VariableDecrypted.Items of type "
            "string");
  auto ttl = VariableFromJson(json::parse(R"({"Lock": {"TTL": "soon"}})"));
  ASSERT_FALSE(ttl.ok());
  EXPECT_NE(ttl.status().message().find("soon"), std::string::npos);
}

// ---- The service on a real store ---------------------------------------------------

class VariableServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("drover-vars-test-" + std::to_string(::getpid()) + "-" + NewUUID());
    StoreOptions options;
    options.migrations = migrations::All();
    auto store = StateStore::Open(dir_.string(), std::move(options));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    vars_ = std::make_unique<VariableService>(
        *store_, [this](Nanos delay, std::function<void()> fn) {
          timers_.push_back({delay, std::move(fn)});
        });
  }
  void TearDown() override {
    vars_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  static Variable Var(const std::string& path, std::map<std::string, std::string> items) {
    Variable v;
    v.Meta.Path = path;
    v.Items = std::move(items);
    return v;
  }

  // Runs the timers armed so far (the newest last), as if their time came.
  void RunTimers() {
    auto due = std::move(timers_);
    timers_.clear();
    for (auto& [delay, fn] : due) fn();
  }

  std::filesystem::path dir_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<VariableService> vars_;
  std::vector<std::pair<Nanos, std::function<void()>>> timers_;
};

TEST_F(VariableServiceTest, SetReadListAndIndexes) {
  auto r = vars_->Apply(VarOp::kSet, Var("app/db", {{"user", "u"}, {"pass", "p"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->output.has_value());
  EXPECT_FALSE(r->conflict.has_value());
  const std::uint64_t first = r->index;
  EXPECT_EQ(r->output->Meta.Namespace, "default");
  EXPECT_EQ(r->output->Meta.CreateIndex, first);
  EXPECT_EQ(r->output->Meta.ModifyIndex, first);
  EXPECT_GT(r->output->Meta.CreateTime, 0);

  auto again = vars_->Apply(VarOp::kSet, Var("app/db", {{"user", "u2"}}));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->output->Meta.CreateIndex, first);
  EXPECT_GT(again->output->Meta.ModifyIndex, first);
  EXPECT_EQ(again->output->Meta.CreateTime, r->output->Meta.CreateTime);

  auto read = vars_->Read("default", "app/db");
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ(*(*read)->Items, (std::map<std::string, std::string>{{"user", "u2"}}));
  EXPECT_EQ(vars_->Index(), again->index);

  ASSERT_TRUE(vars_->Apply(VarOp::kSet, Var("app/web", {{"k", "v"}})).ok());
  Variable other = Var("app/x", {{"k", "v"}});
  other.Meta.Namespace = "team";
  ASSERT_TRUE(vars_->Apply(VarOp::kSet, other).ok());
  auto listed = vars_->List("default", "app/");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].Path, "app/db");
  EXPECT_EQ((*listed)[1].Path, "app/web");
  auto all = vars_->List("*", "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
}

TEST_F(VariableServiceTest, RefusesWhatNomadRefuses) {
  auto code = [&](VarOp op, Variable v) {
    auto r = vars_->Apply(op, std::move(v));
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_EQ(code(VarOp::kSet, Var("a", {})), "empty variables are invalid");
  EXPECT_EQ(code(VarOp::kSet, Var("a b", {{"k", "v"}})), "invalid path \"a b\"");
  EXPECT_EQ(code(VarOp::kSet, Var("a", {{"k", std::string(65536, 'x')}})),
            "variables are limited to 64KiB in total size");
  EXPECT_EQ(code(VarOp::kSet, Var("a", {{"k", std::string(65535, 'x')}})), "ok");
  Variable star = Var("a", {{"k", "v"}});
  star.Meta.Namespace = "*";
  EXPECT_EQ(code(VarOp::kSet, star), "can not target wildcard (\"*\")namespace");
  Variable locked = Var("a", {{"k", "v"}});
  locked.Meta.Lock = VariableLock{"", 20 * kSecond, 0};
  EXPECT_EQ(code(VarOp::kSet, locked), "variable should not contain lock definition");
  Variable short_ttl = Var("l", {});
  short_ttl.Meta.Lock = VariableLock{"", kSecond, 0};
  EXPECT_EQ(code(VarOp::kLockAcquire, short_ttl),
            "1 error occurred:\n\t* TTL must be between 10 seconds and 24 hours\n\n");
  EXPECT_EQ(code(VarOp::kLockRelease, Var("l", {})), "missing lock information");
  // Nothing of it was written but the one valid variable.
  auto all = vars_->List("*", "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);
}

TEST_F(VariableServiceTest, CheckAndSetAsNomad) {
  // cas=0: only if it does not exist.
  Variable v = Var("c", {{"k", "1"}});
  auto created = vars_->Apply(VarOp::kCas, v);
  ASSERT_TRUE(created.ok() && created->output);
  const std::uint64_t idx = created->output->Meta.ModifyIndex;
  auto again = vars_->Apply(VarOp::kCas, v);
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(again->conflict.has_value());
  EXPECT_EQ(again->conflict->Meta.ModifyIndex, idx);
  EXPECT_EQ(again->conflict->Items->at("k"), "1");  // the stored variable
  EXPECT_EQ(store_->LatestIndex(), idx);  // a conflict writes nothing

  // The wrong index conflicts; the right one writes.
  Variable stale = Var("c", {{"k", "2"}});
  stale.Meta.ModifyIndex = idx + 100;
  auto conflict = vars_->Apply(VarOp::kCas, stale);
  ASSERT_TRUE(conflict.ok() && conflict->conflict);
  stale.Meta.ModifyIndex = idx;
  auto written = vars_->Apply(VarOp::kCas, stale);
  ASSERT_TRUE(written.ok() && written->output) << written.status().ToString();
  EXPECT_GT(written->output->Meta.ModifyIndex, idx);

  // An index for a variable that does not exist: a zero-valued conflict.
  Variable missing = Var("nope", {{"k", "v"}});
  missing.Meta.ModifyIndex = 5;
  auto zero = vars_->Apply(VarOp::kCas, missing);
  ASSERT_TRUE(zero.ok() && zero->conflict);
  EXPECT_EQ(zero->conflict->Meta.Path, "nope");
  EXPECT_EQ(zero->conflict->Meta.ModifyIndex, 0u);
  EXPECT_FALSE(zero->conflict->Items.has_value());

  // Delete with cas: the wrong index conflicts, the right one deletes.
  Variable del;
  del.Meta.Path = "c";
  del.Meta.ModifyIndex = idx;
  auto refused = vars_->Apply(VarOp::kDeleteCas, del);
  ASSERT_TRUE(refused.ok() && refused->conflict);
  del.Meta.ModifyIndex = written->output->Meta.ModifyIndex;
  auto deleted = vars_->Apply(VarOp::kDeleteCas, del);
  ASSERT_TRUE(deleted.ok());
  EXPECT_FALSE(deleted->conflict.has_value());
  auto gone = vars_->Read("default", "c");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST_F(VariableServiceTest, JournalCarriesMetadataButNeverItems) {
  ASSERT_TRUE(vars_->Apply(VarOp::kSet, Var("s", {{"password", "hunter2"}})).ok());
  Variable del;
  del.Meta.Path = "s";
  ASSERT_TRUE(vars_->Apply(VarOp::kDelete, del).ok());
  auto events = store_->ListEvents(0, 100);
  ASSERT_TRUE(events.ok());
  int seen = 0;
  for (const Event& e : *events) {
    if (e.Topic != "Variable") continue;
    ++seen;
    EXPECT_EQ(e.Type, "VariableUpdated");
    EXPECT_EQ(e.Key, "s");
    EXPECT_EQ(e.Payload.text.find("hunter2"), std::string::npos);
    EXPECT_EQ(e.Payload.text.find("Items"), std::string::npos);
    json::value p = json::parse(e.Payload.text);
    EXPECT_EQ(p.at("Metadata").at("Path"), "s");
    EXPECT_EQ(p.at("Deleted").as_bool(), seen == 2);
  }
  EXPECT_EQ(seen, 2);
}

TEST_F(VariableServiceTest, LocksExcludeOthersUntilReleased) {
  Variable acquire = Var("lock", {});
  acquire.Items.reset();
  auto held = vars_->Apply(VarOp::kLockAcquire, acquire);
  ASSERT_TRUE(held.ok() && held->output) << held.status().ToString();
  const VariableLock lock = *held->output->Meta.Lock;
  EXPECT_FALSE(lock.ID.empty());
  EXPECT_EQ(lock.TTL, 15 * kSecond);  // Nomad's defaults
  EXPECT_EQ(lock.LockDelay, 15 * kSecond);

  // Another acquire, a plain write, a delete: conflicts with only the path.
  for (VarOp op : {VarOp::kLockAcquire, VarOp::kSet, VarOp::kDelete}) {
    Variable other = Var("lock", {{"k", "v"}});
    if (op == VarOp::kLockAcquire) other.Items.reset();
    auto r = vars_->Apply(op, other);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE(r->conflict.has_value()) << static_cast<int>(op);
    EXPECT_EQ(r->conflict->Meta.Path, "lock");
    EXPECT_FALSE(r->conflict->Meta.Lock.has_value());
  }
  // The holder may write.
  Variable mine = Var("lock", {{"k", "v"}});
  mine.Meta.Lock = VariableLock{lock.ID, 0, 0};
  auto wrote = vars_->Apply(VarOp::kSet, mine);
  ASSERT_TRUE(wrote.ok() && wrote->output) << wrote.status().ToString();

  // A release with another ID conflicts; the holder's releases.
  Variable wrong;
  wrong.Meta.Path = "lock";
  wrong.Meta.Lock = VariableLock{"someone-else", 0, 0};
  auto refused = vars_->Apply(VarOp::kLockRelease, wrong);
  ASSERT_TRUE(refused.ok() && refused->conflict);
  Variable release;
  release.Meta.Path = "lock";
  release.Meta.Lock = VariableLock{lock.ID, 0, 0};
  auto released = vars_->Apply(VarOp::kLockRelease, release);
  ASSERT_TRUE(released.ok() && released->output) << released.status().ToString();
  EXPECT_FALSE(released->output->Meta.Lock.has_value());
  auto again = vars_->Apply(VarOp::kLockRelease, release);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(again.status().message(), "variable doesn't hold a lock");
  auto renew = vars_->RenewLock("default", "lock", lock.ID);
  ASSERT_FALSE(renew.ok());
  EXPECT_EQ(renew.status().message(), "variable doesn't hold a lock");
  auto unknown = vars_->RenewLock("default", "nothing", lock.ID);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
}

TEST_F(VariableServiceTest, AnUnrenewedLockIsRemovedAfterItsDelay) {
  Variable acquire;
  acquire.Meta.Path = "lease";
  acquire.Meta.Lock = VariableLock{"", 10 * kSecond, 5 * kSecond};
  auto held = vars_->Apply(VarOp::kLockAcquire, acquire);
  ASSERT_TRUE(held.ok() && held->output);
  const std::string id = held->output->Meta.Lock->ID;
  ASSERT_EQ(timers_.size(), 1u);
  EXPECT_EQ(timers_[0].first, 20 * kSecond);  // twice the TTL

  // A renewal re-arms: the first timer then does nothing.
  auto renewed = vars_->RenewLock("default", "lease", id);
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
  ASSERT_EQ(timers_.size(), 2u);
  auto stale = std::move(timers_[0].second);
  stale();
  auto renewed_again = vars_->RenewLock("default", "lease", id);
  ASSERT_TRUE(renewed_again.ok());
  EXPECT_EQ(vars_->RenewLock("default", "lease", "other").status().message(),
            "attempting to modify locked variable");

  // The lease runs out: the lock waits its delay (no renewal, nobody else)
  // and is then removed.
  timers_.erase(timers_.begin(), timers_.begin() + 2);  // the renewals' older timers
  ASSERT_EQ(timers_.size(), 1u);
  RunTimers();
  ASSERT_EQ(timers_.size(), 1u);
  EXPECT_EQ(timers_[0].first, 5 * kSecond);  // the lock delay
  auto late = vars_->RenewLock("default", "lease", id);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().message(), "attempting to modify locked variable");
  Variable other;
  other.Meta.Path = "lease";
  auto blocked = vars_->Apply(VarOp::kLockAcquire, other);
  ASSERT_TRUE(blocked.ok() && blocked->conflict);
  RunTimers();
  auto after = vars_->Read("default", "lease");
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_FALSE((*after)->Meta.Lock.has_value());
  EXPECT_GT((*after)->Meta.ModifyIndex, held->output->Meta.ModifyIndex);
  auto taken = vars_->Apply(VarOp::kLockAcquire, other);
  ASSERT_TRUE(taken.ok() && taken->output);
}

TEST_F(VariableServiceTest, RestoreArmsEveryStoredLock) {
  Variable acquire;
  acquire.Meta.Path = "l1";
  ASSERT_TRUE(vars_->Apply(VarOp::kLockAcquire, acquire).ok());
  ASSERT_TRUE(vars_->Apply(VarOp::kSet, Var("plain", {{"k", "v"}})).ok());
  // A new service over the same store (an agent restart).
  timers_.clear();
  vars_ = std::make_unique<VariableService>(
      *store_, [this](Nanos delay, std::function<void()> fn) {
        timers_.push_back({delay, std::move(fn)});
      });
  ASSERT_TRUE(vars_->RestoreLocks().ok());
  ASSERT_EQ(timers_.size(), 1u);
  EXPECT_EQ(timers_[0].first, 30 * kSecond);
}

// ---- ACLs on variable paths ---------------------------------------------------------

PolicyRules MustParse(const std::string& rules) {
  auto r = ParsePolicyRules(rules);
  EXPECT_TRUE(r.ok()) << r.status().ToString() << "\n" << rules;
  return r.ok() ? std::move(r).value() : PolicyRules{};
}

TEST(VariablesAclTest, PathGlobsClosestWinsAndReadImpliesList) {
  auto acl = Acl::FromPolicies({MustParse(R"(
namespace "default" {
  variables {
    path "*" { capabilities = ["read"] }
    path "app/*" { capabilities = ["write", "read", "destroy"] }
    path "app/secret" { capabilities = ["deny"] }
  }
}
namespace "prod-*" {
  variables {
    path "shared/*" { capabilities = ["list"] }
  }
}
)")});
  EXPECT_TRUE(acl->AllowVariableOperation("default", "x", "read"));
  EXPECT_TRUE(acl->AllowVariableOperation("default", "x", "list"));  // implied
  EXPECT_FALSE(acl->AllowVariableOperation("default", "x", "write"));
  EXPECT_TRUE(acl->AllowVariableOperation("default", "app/db", "write"));
  EXPECT_TRUE(acl->AllowVariableOperation("default", "app/db", "destroy"));
  EXPECT_FALSE(acl->AllowVariableOperation("default", "app/secret", "read"));
  EXPECT_TRUE(acl->AllowVariableOperation("prod-eu", "shared/a", "list"));
  EXPECT_FALSE(acl->AllowVariableOperation("prod-eu", "shared/a", "read"));
  EXPECT_FALSE(acl->AllowVariableOperation("other", "x", "read"));
  EXPECT_TRUE(acl->AllowVariableSearch("prod-us"));
  EXPECT_FALSE(acl->AllowVariableSearch("other"));
  // Namespace capabilities alone give no variables.
  auto writer = Acl::FromPolicies({MustParse(R"(namespace "default" { policy = "write" })")});
  EXPECT_FALSE(writer->AllowVariableOperation("default", "x", "read"));
  EXPECT_TRUE(Acl::Management()->AllowVariableOperation("any", "x", "destroy"));
}

TEST(VariablesAclTest, JsonFormAndRulesJson) {
  PolicyRules r = MustParse(
      R"({"namespace": {"default": {"variables": {"path": {"a/*": {"capabilities": ["read"]}}}}}})");
  ASSERT_EQ(r.namespaces.size(), 1u);
  ASSERT_TRUE(r.namespaces[0].variables.has_value());
  EXPECT_EQ((*r.namespaces[0].variables)[0].capabilities,
            (std::vector<std::string>{"read", "list"}));
  json::value j = PolicyRulesJson(r);
  EXPECT_EQ(j.at("Namespaces").at(0).at("Variables").at("Paths").at(0).at("PathSpec"), "a/*");
}

TEST(VariablesAclTest, RefusedAsNomad) {
  auto message = [](const char* rules) {
    auto r = ParsePolicyRules(rules);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  auto with_path = [](const std::string& path_block) {
    return "namespace \"default\" {\n  variables {\n    " + path_block + "\n  }\n}\n";
  };
  EXPECT_EQ(message("namespace \"default\" {\n  variables {\n  }\n}\n"),
            "Invalid variable policy: no variable paths in namespace default");
  EXPECT_EQ(message(with_path(R"(path "" { capabilities = ["read"] })").c_str()),
            "Invalid missing variable path in namespace default");
  EXPECT_EQ(message(with_path(R"(path "/a" { capabilities = ["read"] })").c_str()),
            "Invalid variable path \"/a\" in namespace default: cannot start with a leading '/'`");
  EXPECT_EQ(message(with_path(R"(path "a" { capabilities = ["fly"] })").c_str()),
            "Invalid variable capability 'fly' in namespace default");
  EXPECT_EQ(message(R"({"namespace": {"default": {"variables": {"path": {"a": {"capabilities": ["fly"]}}}}}})"),
            "Invalid variable capability 'fly' in namespace default");
}

}  // namespace
}  // namespace drover
