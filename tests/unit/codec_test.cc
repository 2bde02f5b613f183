// Unit tests of the model's JSON codecs (storage/codec.h).
//
// The seed samples (Nomad's documented allocation responses) live verbatim
// in tests/fixtures/, read through DROVER_FIXTURE_DIR, which the test target
// defines as "${CMAKE_SOURCE_DIR}/tests/fixtures".
#include "storage/codec.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cstdint>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "storage/model.h"

#ifndef DROVER_FIXTURE_DIR
#error "DROVER_FIXTURE_DIR must name the tests/fixtures directory"
#endif

namespace drover {
namespace {

namespace json = boost::json;

std::string ReadFixture(const std::string& name) {
  std::string path = std::string(DROVER_FIXTURE_DIR) + "/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open fixture " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json::value ParseOrDie(const std::string& text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? *v : json::value();
}

// ---- The "no field lost" comparison ------------------------------------------
//
// Walks the original JSON; every key must exist in the re-encoded JSON and
// every scalar must be equal, with these equivalences only:
//  - numbers compare numerically (1e+10 == 10000000000);
//  - a quoted integer ("5000000000") equals the same number;
//  - two RFC 3339 times are equal when they denote the same instant.

// An instant as (Unix seconds, nanoseconds); parsed here independently of
// common/gotime so the codec is not checked against itself.
struct Instant {
  std::int64_t seconds;
  std::int64_t nanos;
  bool operator==(const Instant&) const = default;
};

std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<Instant> ParseInstant(const std::string& s) {
  static const std::regex re(
      R"(^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.(\d{1,9}))?(Z|([+-])(\d{2}):(\d{2}))$)");
  std::smatch m;
  if (!std::regex_match(s, m, re)) return std::nullopt;
  auto num = [&](int i) { return std::stoll(m[i].str()); };
  std::int64_t secs = DaysFromCivil(num(1), static_cast<unsigned>(num(2)),
                                    static_cast<unsigned>(num(3))) * 86400 +
                      num(4) * 3600 + num(5) * 60 + num(6);
  std::int64_t nanos = 0;
  if (m[8].matched) {
    std::string frac = m[8].str();
    frac.append(9 - frac.size(), '0');
    nanos = std::stoll(frac);
  }
  if (m[10].matched) {
    std::int64_t off = num(11) * 3600 + num(12) * 60;
    secs -= (m[10].str() == "+" ? off : -off);
  }
  return Instant{secs, nanos};
}

// A quoted decimal integer, as Nomad sometimes sends large int64s.
std::optional<json::value> QuotedInteger(const json::value& v) {
  if (!v.is_string()) return std::nullopt;
  static const std::regex re(R"(^-?[0-9]+$)");
  std::string s(v.get_string());
  if (!std::regex_match(s, re)) return std::nullopt;
  if (s[0] == '-') return json::value(std::stoll(s));
  return json::value(static_cast<std::uint64_t>(std::stoull(s)));
}

bool NumbersEqual(const json::value& a, const json::value& b) {
  bool a_int = a.is_int64() || a.is_uint64();
  bool b_int = b.is_int64() || b.is_uint64();
  if (a_int && b_int) {
    auto wide = [](const json::value& v) -> __int128 {
      return v.is_int64() ? static_cast<__int128>(v.get_int64())
                          : static_cast<__int128>(v.get_uint64());
    };
    return wide(a) == wide(b);
  }
  return a.to_number<double>() == b.to_number<double>();
}

bool ScalarsEqual(const json::value& orig, const json::value& enc) {
  if (orig.is_number() && enc.is_number()) return NumbersEqual(orig, enc);
  if (orig.is_number() || enc.is_number()) {
    auto o = orig.is_number() ? std::optional<json::value>(orig) : QuotedInteger(orig);
    auto e = enc.is_number() ? std::optional<json::value>(enc) : QuotedInteger(enc);
    return o && e && NumbersEqual(*o, *e);
  }
  if (orig.is_string() && enc.is_string()) {
    if (orig.get_string() == enc.get_string()) return true;
    auto a = ParseInstant(std::string(orig.get_string()));
    auto b = ParseInstant(std::string(enc.get_string()));
    return a && b && *a == *b;
  }
  return orig == enc;  // null, bool
}

void CollectLoss(const json::value& orig, const json::value& enc, const std::string& path,
                 std::vector<std::string>& missing, std::vector<std::string>& differing) {
  if (orig.is_object()) {
    if (!enc.is_object()) {
      differing.push_back(path + ": object became " + json::serialize(enc));
      return;
    }
    for (const auto& kv : orig.get_object()) {
      std::string sub = path + "." + std::string(kv.key());
      const json::value* e = enc.get_object().if_contains(kv.key());
      if (e == nullptr) {
        missing.push_back(sub);
        continue;
      }
      CollectLoss(kv.value(), *e, sub, missing, differing);
    }
    return;
  }
  if (orig.is_array()) {
    if (!enc.is_array() || enc.get_array().size() != orig.get_array().size()) {
      differing.push_back(path + ": array " + json::serialize(orig) + " became " +
                          json::serialize(enc));
      return;
    }
    for (size_t i = 0; i < orig.get_array().size(); ++i) {
      CollectLoss(orig.get_array()[i], enc.get_array()[i], path + "[" + std::to_string(i) + "]",
                  missing, differing);
    }
    return;
  }
  if (!ScalarsEqual(orig, enc)) {
    differing.push_back(path + ": " + json::serialize(orig) + " became " + json::serialize(enc));
  }
}

// Checks one allocation sample: it decodes, re-encodes without losing a
// field, and decode(encode(decode(x))) == decode(x).
template <typename T = Allocation>
void CheckAllocationRoundTrip(const json::value& original, const std::string& sample) {
  SCOPED_TRACE(sample);
  auto decoded = FromJson<T>(original, "Allocation");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();

  json::value reencoded = ToJson(*decoded);
  std::vector<std::string> missing, differing;
  CollectLoss(original, reencoded, "Allocation", missing, differing);
  for (const auto& field : missing) {
    ADD_FAILURE() << "MODEL FIELD MISSING: " << field << " is in the seed sample " << sample
                  << " but the Allocation model has no such field, so it is dropped on "
                     "re-encode (storage/model.h needs it)";
  }
  for (const auto& d : differing) {
    ADD_FAILURE() << "value changed by decode+encode in " << sample << ": " << d;
  }

  // Text round trip: decode(encode(decode(x))) == decode(x).
  std::string text = EncodeJson(*decoded);
  auto again = DecodeJson<T>(text, "Allocation");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(*again == *decoded) << "decode(encode(decode(x))) differs from decode(x) for "
                                  << sample;
}

// ---- Seed samples --------------------------------------------------------------

// Found by job_codec_fuzz: a 50-digit number in a field kept verbatim
// changed on every round trip (Boost.JSON parses it approximately).
TEST(CodecTest, NumbersBeyondADoublesPrecisionAreRefusedNotDrifted) {
  auto v = ParseJson(R"({"ID": "j", "Constraints": 77777777700000000000000000000013724502399889648640})");
  ASSERT_TRUE(v.ok());
  Status st = RequireExactNumbers(*v, "Job");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("has more digits than can be stored exactly"), std::string::npos)
      << st.message();
  auto ordinary = ParseJson(R"({"ID": "j", "Meta": {"a": 0.25}, "Score": 1.5e-7, "N": 12})");
  ASSERT_TRUE(ordinary.ok());
  EXPECT_TRUE(RequireExactNumbers(*ordinary, "Job").ok());
}

TEST(CodecSeedTest, Seed000FullAllocationDecodesAndReencodesWithoutLosingAField) {
  CheckAllocationRoundTrip(ParseOrDie(ReadFixture("seed_000_alloc.json")),
                           "seed_000_alloc.json");
}

TEST(CodecSeedTest, Seed000AllocationListEntriesDecodeAndReencodeWithoutLosingAField) {
  json::value list = ParseOrDie(ReadFixture("seed_000_alloc_list.json"));
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.get_array().size(), 1u);
  // The list endpoint returns Nomad's AllocListStub, not the full allocation.
  for (size_t i = 0; i < list.get_array().size(); ++i) {
    CheckAllocationRoundTrip<AllocListStub>(list.get_array()[i],
                             "seed_000_alloc_list.json[" + std::to_string(i) + "]");
  }
}

TEST(CodecSeedTest, Seed001AllocationDecodesAndReencodesWithoutLosingAField) {
  CheckAllocationRoundTrip(ParseOrDie(ReadFixture("seed_001_alloc.json")),
                           "seed_001_alloc.json");
}

// The seed 002 sample, copied verbatim, is not valid JSON: it lacks a comma
// after `"State": "running"` and has a trailing comma after `"Failed": false`.
TEST(CodecSeedTest, Seed002VerbatimSampleIsRejectedAsMalformedWithItsOffset) {
  std::string text = ReadFixture("seed_002_alloc.json");
  auto r = DecodeJson<Allocation>(text, "Allocation");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  size_t bad = text.find("\"FinishedAt\"");
  ASSERT_NE(bad, std::string::npos);
  EXPECT_NE(r.status().message().find("offset " + std::to_string(bad)), std::string::npos)
      << r.status().message();
}

TEST(CodecSeedTest, Seed002RepairedFixtureDiffersFromVerbatimOnlyByTheTwoCommas) {
  std::string verbatim = ReadFixture("seed_002_alloc.json");
  std::string repaired = ReadFixture("seed_002_alloc_repaired.json");
  auto replace_once = [](std::string& s, const std::string& from, const std::string& to) {
    size_t at = s.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    ASSERT_EQ(s.find(from, at + 1), std::string::npos) << from;
    s.replace(at, from.size(), to);
  };
  replace_once(verbatim, R"("State": "running" "FinishedAt")",
               R"("State": "running", "FinishedAt")");
  replace_once(verbatim, R"("Failed": false, })", R"("Failed": false })");
  EXPECT_EQ(verbatim, repaired);
}

TEST(CodecSeedTest, Seed002RepairedAllocationDecodesAndReencodesWithoutLosingAField) {
  CheckAllocationRoundTrip(ParseOrDie(ReadFixture("seed_002_alloc_repaired.json")),
                           "seed_002_alloc_repaired.json");
}

TEST(CodecSeedTest, Seed000DecodedValuesMatchTheSample) {
  auto a = DecodeJson<Allocation>(ReadFixture("seed_000_alloc.json"), "Allocation");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->ID, "a8198d79-cfdb-6593-a999-1e9adabcba2e");
  EXPECT_EQ(a->CreateIndex, 54u);
  EXPECT_EQ(a->ModifyIndex, 57u);
  EXPECT_EQ(a->CreateTime, 1495747371794276400);
  ASSERT_TRUE(a->RescheduleTracker.has_value());
  ASSERT_EQ(a->RescheduleTracker->Events.size(), 1u);
  EXPECT_EQ(a->RescheduleTracker->Events[0].Delay, 5'000'000'000);  // quoted in the sample
  ASSERT_TRUE(a->Job.has_value());
  ASSERT_EQ(a->Job->TaskGroups.size(), 1u);
  ASSERT_EQ(a->Job->TaskGroups[0].Tasks.size(), 1u);
  EXPECT_EQ(a->Job->TaskGroups[0].Tasks[0].KillTimeout, 5'000'000'000);
  ASSERT_TRUE(a->Job->TaskGroups[0].RestartPolicy.has_value());
  EXPECT_EQ(a->Job->TaskGroups[0].RestartPolicy->Mode, "delay");
  ASSERT_TRUE(a->TaskStates.has_value());
  const TaskState& redis = a->TaskStates->at("redis");
  ASSERT_TRUE(redis.LastRestart.has_value());
  EXPECT_TRUE(redis.LastRestart->IsZero());  // Go's zero time
  ASSERT_TRUE(redis.StartedAt.has_value());
  EXPECT_EQ(FormatRFC3339Nano(*redis.StartedAt), "2017-07-25T23:36:26.106431265Z");
  ASSERT_EQ(redis.Events.size(), 3u);
  EXPECT_EQ(redis.Events[1].DriverMessage, "Downloading image redis:7");
  ASSERT_TRUE(a->Metrics.has_value());
  ASSERT_TRUE(a->Metrics->Scores.has_value());
  EXPECT_DOUBLE_EQ(a->Metrics->Scores->at("fb2170a8-257d-3c64-b14d-bc06cc94e34c.binpack"),
                   0.6205732522109244);
}

TEST(CodecSeedTest, Seed001ExponentNumbersDecodeIntoIntegerDurations) {
  auto a = DecodeJson<Allocation>(ReadFixture("seed_001_alloc.json"), "Allocation");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(a->Job.has_value());
  const auto& rp = a->Job->TaskGroups.at(0).RestartPolicy;
  ASSERT_TRUE(rp.has_value());
  EXPECT_EQ(rp->Delay, 25'000'000'000);      // 2.5e+10
  EXPECT_EQ(rp->Interval, 300'000'000'000);  // 3e+11
  EXPECT_EQ(rp->Attempts, 10);
}

// ---- The comparison helper itself ------------------------------------------------

TEST(CodecLossCheckTest, EquivalencesAreOnlyTheDocumentedOnes) {
  EXPECT_TRUE(ScalarsEqual(json::value("5000000000"), json::value(5000000000)));
  EXPECT_TRUE(ScalarsEqual(json::value(1e10), json::value(10000000000)));
  EXPECT_TRUE(ScalarsEqual(json::value("2021-11-04T10:14:22.054814+01:00"),
                           json::value("2021-11-04T09:14:22.054814Z")));
  EXPECT_TRUE(ScalarsEqual(json::value("2017-03-31T22:51:40.2486Z"),
                           json::value("2017-03-31T22:51:40.248600000Z")));
  EXPECT_FALSE(ScalarsEqual(json::value("2021-11-04T10:14:22Z"),
                            json::value("2021-11-04T10:14:23Z")));
  EXPECT_FALSE(ScalarsEqual(json::value("5"), json::value(6)));
  EXPECT_FALSE(ScalarsEqual(json::value(nullptr), json::value("")));
  EXPECT_FALSE(ScalarsEqual(json::value(nullptr), json::value(0)));
  EXPECT_FALSE(ScalarsEqual(json::value(false), json::value(0)));

  std::vector<std::string> missing, differing;
  CollectLoss(ParseOrDie(R"({"A":{"B":1,"C":[1,2]}})"), ParseOrDie(R"({"A":{"C":[1]}})"), "X",
              missing, differing);
  EXPECT_EQ(missing, std::vector<std::string>{"X.A.B"});
  EXPECT_EQ(differing.size(), 1u);
}

// ---- Errors and leniency -----------------------------------------------------------

TEST(CodecDecodeTest, WrongTypeIsInvalidArgumentNamingTheFieldPath) {
  auto r = DecodeJson<Job>(R"({"TaskGroups":[{"Tasks":[{"KillTimeout":"abc"}]}]})", "Job");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("Job.TaskGroups[0].Tasks[0].KillTimeout"),
            std::string::npos)
      << r.status().message();
}

TEST(CodecDecodeTest, WrongTypePathCountsArrayIndexesAndMapKeys) {
  auto job = DecodeJson<Job>(
      R"({"TaskGroups":[{"Name":"a"},{"Tasks":[{"Name":"x"},{"Name":7}]}]})", "Job");
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.status().message().find("Job.TaskGroups[1].Tasks[1].Name"), std::string::npos)
      << job.status().message();
  EXPECT_NE(job.status().message().find("expected a string, got number"), std::string::npos)
      << job.status().message();

  auto alloc = DecodeJson<Allocation>(R"({"TaskStates":{"redis":{"Restarts":true}}})",
                                      "Allocation");
  ASSERT_FALSE(alloc.ok());
  EXPECT_EQ(alloc.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(alloc.status().message().find(R"(Allocation.TaskStates["redis"].Restarts)"),
            std::string::npos)
      << alloc.status().message();
}

TEST(CodecDecodeTest, ObjectWhereAnArrayIsExpectedNamesThePath) {
  auto r = DecodeJson<Job>(R"({"Datacenters":{"dc1":true}})", "Job");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("Job.Datacenters"), std::string::npos);
}

TEST(CodecDecodeTest, NonObjectTopLevelIsInvalidArgument) {
  auto r = DecodeJson<Job>("[1,2]", "Job");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("Job"), std::string::npos);
}

TEST(CodecDecodeTest, NegativeNumberForUnsignedFieldIsRejected) {
  auto r = DecodeJson<Job>(R"({"Version":-1})", "Job");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("Job.Version"), std::string::npos);
}

TEST(CodecDecodeTest, FractionalNumberForIntegerFieldIsRejected) {
  auto r = DecodeJson<Job>(R"({"Priority":1.5})", "Job");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("Job.Priority"), std::string::npos);
}

TEST(CodecDecodeTest, NegativeExponentNumberForUnsignedFieldIsRejected) {
  auto r = DecodeJson<Job>(R"({"Version":-1.0})", "Job");
  ASSERT_FALSE(r.ok()) << "decoded Version=" << r->Version;
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("Job.Version"), std::string::npos);
}

TEST(CodecDecodeTest, ExponentNumberOutOfRangeIsRejectedNotWrapped) {
  for (const char* text : {R"({"Priority":1e19})", R"({"Priority":-1e19})",
                           R"({"Priority":1e300})", R"({"Version":2e19})"}) {
    SCOPED_TRACE(text);
    auto r = DecodeJson<Job>(text, "Job");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("Job."), std::string::npos);
  }
}

TEST(CodecDecodeTest, ExponentNumbersInRangeDecodeExactly) {
  auto r = DecodeJson<Job>(R"({"Priority":-2.5e10,"Version":1e19,"SubmitTime":1.5e18})", "Job");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Priority, -25'000'000'000);
  EXPECT_EQ(r->Version, 10'000'000'000'000'000'000u);
  EXPECT_EQ(r->SubmitTime, 1'500'000'000'000'000'000);
}

TEST(CodecDecodeTest, QuotedIntegerDecodesAsNumber) {
  auto r = DecodeJson<Task>(R"({"KillTimeout":"5000000000","ShutdownDelay":-3})", "Task");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->KillTimeout, 5'000'000'000);
  EXPECT_EQ(r->ShutdownDelay, -3);
}

TEST(CodecDecodeTest, BadTimeStringIsInvalidArgumentNamingThePath) {
  auto r = DecodeJson<TaskState>(R"({"StartedAt":"yesterday"})", "TaskState");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("TaskState.StartedAt"), std::string::npos)
      << r.status().message();
}

TEST(CodecDecodeTest, UnknownKeysAreIgnored) {
  auto r = DecodeJson<Job>(
      R"({"ID":"web","NotAField":{"x":[1,2]},"TaskGroups":[{"Name":"g","Bogus":1,)"
      R"("Tasks":[{"Name":"t","Extra":"y"}]}]})",
      "Job");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->ID, "web");
  ASSERT_EQ(r->TaskGroups.size(), 1u);
  EXPECT_EQ(r->TaskGroups[0].Name, "g");
  ASSERT_EQ(r->TaskGroups[0].Tasks.size(), 1u);
  EXPECT_EQ(r->TaskGroups[0].Tasks[0].Name, "t");
}

TEST(CodecDecodeTest, NullAndMissingKeysLeaveDefaults) {
  auto r = DecodeJson<Job>(
      R"({"ID":null,"Priority":null,"AllAtOnce":null,"Datacenters":null,"TaskGroups":null,)"
      R"("Meta":null,"Update":null,"Version":null,"SubmitTime":null})",
      "Job");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(*r == Job{});

  auto empty = DecodeJson<Job>("{}", "Job");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(*empty == Job{});

  auto ts = DecodeJson<TaskState>(R"({"StartedAt":null,"Events":null,"TaskHandle":null})",
                                  "TaskState");
  ASSERT_TRUE(ts.ok()) << ts.status().ToString();
  EXPECT_FALSE(ts->StartedAt.has_value());
  EXPECT_TRUE(ts->Events.empty());
  EXPECT_TRUE(ts->TaskHandle.IsNull());
}

TEST(CodecDecodeTest, MalformedJsonIsInvalidArgumentWithOffset) {
  const std::string cases[] = {R"({"ID": "x",})", R"({"ID":)", "", "{\"ID\" \"x\"}", "nul"};
  for (const std::string& text : cases) {
    SCOPED_TRACE(text);
    auto r = DecodeJson<Job>(text, "Job");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("offset"), std::string::npos) << r.status().message();
  }
  auto r = ParseJson(R"({"ID" "x"})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("offset 6"), std::string::npos) << r.status().message();
}

TEST(CodecDecodeTest, RawJsonFieldsKeepTheirContent) {
  const char* text =
      R"({"Name":"t","Config":{"command":"/bin/sh","args":["-c","echo hi"]},"Services":null})";
  auto r = DecodeJson<Task>(text, "Task");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto config = ParseJson(r->Config.text);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(*config, ParseOrDie(R"({"command":"/bin/sh","args":["-c","echo hi"]})"));
  EXPECT_TRUE(r->Services.IsNull());
  json::value enc = ToJson(*r);
  EXPECT_EQ(enc.at("Config"), *config);
}

// ---- Encoding ---------------------------------------------------------------------

TEST(CodecEncodeTest, EmptyVectorsAndOptionalsEncodeAsNull) {
  json::value job = ToJson(Job{});
  EXPECT_TRUE(job.at("Datacenters").is_null());
  EXPECT_TRUE(job.at("TaskGroups").is_null());
  EXPECT_TRUE(job.at("Meta").is_null());
  EXPECT_TRUE(job.at("Update").is_null());  // RawJson default

  json::value ts = ToJson(TaskState{});
  EXPECT_TRUE(ts.at("Events").is_null());
  EXPECT_TRUE(ts.at("LastRestart").is_null());
  EXPECT_TRUE(ts.at("StartedAt").is_null());
  EXPECT_TRUE(ts.at("FinishedAt").is_null());

  json::value alloc = ToJson(Allocation{});
  EXPECT_TRUE(alloc.at("Job").is_null());
  EXPECT_TRUE(alloc.at("TaskStates").is_null());
  EXPECT_TRUE(alloc.at("Metrics").is_null());
  EXPECT_TRUE(alloc.at("RescheduleTracker").is_null());
}

TEST(CodecEncodeTest, NonEmptyOptionalsAndPlainMapsEncodeAsValues) {
  Job job;
  job.Datacenters = {"dc1"};
  job.Meta = StringMap{};  // present but empty: Go's empty map
  json::value v = ToJson(job);
  ASSERT_TRUE(v.at("Datacenters").is_array());
  EXPECT_EQ(v.at("Datacenters").get_array().size(), 1u);
  ASSERT_TRUE(v.at("Meta").is_object());
  EXPECT_TRUE(v.at("Meta").get_object().empty());

  json::value ev = ToJson(TaskEvent{});
  ASSERT_TRUE(ev.at("Details").is_object());  // non-optional map: {}
}

TEST(CodecEncodeTest, EveryMemberIsWrittenUnderItsNomadName) {
  json::value v = ToJson(Task{});
  for (const char* key : {"Name", "Driver", "Config", "Env", "Resources", "RestartPolicy",
                          "KillTimeout", "LogConfig", "Lifecycle", "KillSignal", "Leader"}) {
    EXPECT_TRUE(v.get_object().contains(key)) << key;
  }
}

TEST(CodecEncodeTest, GoTimesEncodeAsRfc3339AndZeroTimeAsGoZero) {
  TaskState ts;
  ts.StartedAt = GoTime::FromUnixNanos(1'500'000'000'123'000'000);
  ts.LastRestart = GoTime::Zero();
  json::value v = ToJson(ts);
  EXPECT_EQ(v.at("StartedAt"), json::value("2017-07-14T02:40:00.123Z"));
  EXPECT_EQ(v.at("LastRestart"), json::value("0001-01-01T00:00:00Z"));
  auto back = FromJson<TaskState>(v, "TaskState");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == ts);
}

TEST(CodecEncodeTest, EncodeDecodeRoundTripPreservesAFullyPopulatedJob) {
  Job job;
  job.ID = "web";
  job.Namespace = "default";
  job.Type = kJobTypeService;
  job.Priority = 50;
  job.Datacenters = {"dc1", "dc2"};
  job.Meta = StringMap{{"owner", "ops"}};
  job.Update.text = R"({"MaxParallel":1})";
  job.Version = 3;
  job.SubmitTime = 1'700'000'000'000'000'000;
  TaskGroup tg;
  tg.Name = "g";
  tg.Count = 2;
  tg.RestartPolicy = RestartPolicy{2, 30 * kSecond, 15 * kSecond, "fail", true};
  tg.ShutdownDelay = 5 * kSecond;
  Task t;
  t.Name = "t";
  t.Driver = "raw_exec";
  t.Config.text = R"({"command":"/bin/true"})";
  t.Env = StringMap{{"A", "1"}};
  t.Resources = Resources{};
  t.Resources->CPU = 100;
  t.KillTimeout = 5 * kSecond;
  t.Lifecycle = TaskLifecycle{"prestart", true};
  tg.Tasks.push_back(t);
  job.TaskGroups.push_back(tg);

  auto back = DecodeJson<Job>(EncodeJson(job), "Job");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == job);
}

TEST(CodecEncodeTest, EventAndNodeRoundTrip) {
  Event ev;
  ev.Topic = "Allocation";
  ev.Type = "AllocationUpdated";
  ev.Key = "abc";
  ev.FilterKeys = {"example"};
  ev.Index = 42;
  ev.Payload.text = R"({"Allocation":{"ID":"abc"}})";
  auto ev2 = DecodeJson<Event>(EncodeJson(ev), "Event");
  ASSERT_TRUE(ev2.ok()) << ev2.status().ToString();
  EXPECT_TRUE(*ev2 == ev);

  Node n;
  n.ID = "n1";
  n.Attributes = {{"kernel.name", "linux"}};
  n.StatusUpdatedAt = 1'700'000'000;
  auto n2 = DecodeJson<Node>(EncodeJson(n), "Node");
  ASSERT_TRUE(n2.ok()) << n2.status().ToString();
  EXPECT_TRUE(*n2 == n);
}

}  // namespace
}  // namespace drover
