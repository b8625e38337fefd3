// SPDX-License-Identifier: MIT
#include "tcs/protocol.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "protocol/fast_codec.hpp"  // libtcs-private: the encoder identity tests
#include "tcs/error.hpp"

namespace p = tcs::protocol;
using tcs::Status;
using OJson = nlohmann::ordered_json;

namespace {

p::Timestamp at(int y, unsigned mo, unsigned d, int h, int mi, int s, int us) {
  using namespace std::chrono;
  return p::Timestamp{sys_days{year{y} / month{mo} / day{d}}} + hours{h} + minutes{mi} + seconds{s} + microseconds{us};
}

const p::Timestamp kTs = at(2026, 11, 25, 17, 30, 35, 22725);
constexpr std::string_view kTsJson = "[2026,11,25,17,30,35,22725]";

p::Meta fixedMeta(std::string id = "msg") {
  p::Meta m;
  m.id = std::move(id);
  m.sender = "Messenger_J7V0u-LTTv";
  m.ts = at(2026, 11, 25, 17, 30, 35, 23096);
  return m;
}

std::string ts(std::string_view json = kTsJson) {
  return std::string{json};
}

// Asserts that @p f throws tcs::ProtocolError whose message contains @p needle.
void expectProtocolError(const std::function<void()>& f, const std::string& needle, const std::string& context = {}) {
  try {
    f();
    ADD_FAILURE() << "no ProtocolError (expected one containing \"" << needle << "\") " << context;
  } catch (const tcs::ProtocolError& e) {
    EXPECT_NE(std::string{e.what()}.find(needle), std::string::npos)
        << "message \"" << e.what() << "\" lacks \"" << needle << "\" " << context;
  }
}

std::vector<std::string> readLines(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

const std::filesystem::path kSample = TCS_PROTOCOL_SAMPLE_VECTORS;
const std::filesystem::path kShared = std::filesystem::path{TCS_FULL_VECTORS_DIR} / "upstream-traffic.jsonl";

// Decodes @p body as the payload its subject implies and re-encodes data and meta.
std::string reencode(const p::Subject& s, std::string_view body) {
  switch (s.kind) {
    case p::SubjectKind::Status: {
      const auto m = p::decode<p::StatusUpdate>(body);
      return p::encode(m.data, m.meta);
    }
    case p::SubjectKind::Heartbeat: {
      const auto m = p::decode<p::Heartbeat>(body);
      return p::encode(m.data, m.meta);
    }
    case p::SubjectKind::Registry: {
      const auto m = p::decode<p::RegistryEvent>(body);
      return p::encode(m.data, m.meta);
    }
    case p::SubjectKind::Rpc: break;
  }
  ADD_FAILURE() << "upstream sends no rpc";
  return {};
}

struct GoldenSummary {
  std::set<std::string> scenarios;
  std::set<std::string> kinds;  // status, heartbeat, registry.<event>
  std::size_t records = 0;
  std::size_t aggregates = 0;  // status messages with children
};

// The golden check of one vector file: every subject parses and rebuilds, every message decodes
// and re-encodes to the same JSON (same keys, same order, same values), data and meta.
GoldenSummary checkVectors(const std::filesystem::path& file) {
  GoldenSummary sum;
  const auto lines = readLines(file);
  EXPECT_FALSE(lines.empty()) << file;
  for (std::size_t n = 0; n < lines.size(); ++n) {
    const std::string where = file.filename().string() + ":" + std::to_string(n + 1);
    const OJson record = OJson::parse(lines[n]);
    const std::string subject = record.at("subject");
    const OJson& data = record.at("data");
    sum.scenarios.insert(record.at("scenario").get<std::string>());
    ++sum.records;

    const p::Subject s = p::parseSubject("svc", subject);
    switch (s.kind) {
      case p::SubjectKind::Status:
        sum.kinds.insert("status");
        EXPECT_EQ(s.name, data.at("name")) << where;
        EXPECT_EQ(p::statusSubject("svc", s.name), subject) << where;
        break;
      case p::SubjectKind::Heartbeat:
        sum.kinds.insert("heartbeat");
        EXPECT_EQ(s.name, data.at("service_id")) << where;
        EXPECT_EQ(p::heartbeatSubject("svc", s.name), subject) << where;
        break;
      case p::SubjectKind::Registry: {
        sum.kinds.insert("registry." + s.event);
        EXPECT_EQ(s.name, data.at("service_id")) << where;
        EXPECT_EQ(s.event, data.at("event")) << where;
        const auto type = p::parseRegistryEventType(s.event);
        EXPECT_TRUE(type.has_value()) << where;
        if (type) {
          EXPECT_EQ(p::registrySubject("svc", *type, s.name), subject) << where;
        }
        break;
      }
      case p::SubjectKind::Rpc: ADD_FAILURE() << where << ": rpc subject"; break;
    }
    if (const auto launcher = p::launcherIdOf(s.name)) {
      EXPECT_EQ(p::launcherName(*launcher), s.name) << where;
    }

    // The record is an envelope with extra keys (scenario, subject, t): decoding ignores them.
    const OJson expected{{"data", data}, {"meta", record.at("meta")}};
    std::string actual;
    try {
      actual = reencode(s, lines[n]);
    } catch (const tcs::ProtocolError& e) {
      ADD_FAILURE() << where << ": " << e.what();
      continue;
    }
    EXPECT_EQ(OJson::parse(actual).dump(), expected.dump()) << where;
    // encodeData alone gives the same data object.
    const OJson reData = OJson::parse(actual).at("data");
    EXPECT_EQ(reData.dump(), data.dump()) << where;
    // Upstream's top-level status is the aggregate of the own status and the children's.
    if (s.kind == p::SubjectKind::Status) {
      const auto status = p::decode<p::StatusUpdate>(lines[n]).data;
      if (!status.details.children.empty()) {
        ++sum.aggregates;
        std::vector<Status> all{status.details.ownStatus.value_or(Status::Unknown)};
        for (const auto& c : status.details.children) all.push_back(c.status);
        EXPECT_EQ(status.status, p::aggregateStatus(all)) << where;
      }
    }
  }
  return sum;
}

// Every decoder must either succeed or throw ProtocolError; anything else fails the test.
void decodeAsEverything(std::string_view body) {
  const auto attempt = [&](auto decodeFn) {
    try {
      decodeFn();
    } catch (const tcs::ProtocolError&) {
    }
  };
  attempt([&] { p::decode<p::StatusUpdate>(body); });
  attempt([&] { p::decode<p::Heartbeat>(body); });
  attempt([&] { p::decode<p::RegistryEvent>(body); });
  attempt([&] { p::decode<p::RpcRequest>(body); });
  attempt([&] { p::decode<p::HealthReply>(body); });
  attempt([&] { p::decode<p::StatsReply>(body); });
  attempt([&] { p::decode<p::LauncherListReply>(body); });
  attempt([&] { p::decode<p::LauncherActionReply>(body); });
  attempt([&] { p::decode<p::LauncherReloadReply>(body); });
  attempt([&] { p::decode<p::LogsRequest>(body); });
  attempt([&] { p::decode<p::LogsReply>(body); });
  attempt([&] { p::decode<p::ErrorReply>(body); });
  attempt([&] { p::isErrorReply(body); });
  attempt([&] { p::decodeData<p::StatusUpdate>(body); });
  attempt([&] { p::decodeTimestamp(body); });
  attempt([&] { p::JsonObject::parse(body); });
}

p::StatusUpdate sampleStatus() {
  p::StatusUpdate s;
  s.name = "vec.monitored.kids";
  s.status = Status::Degraded;
  s.timestamp = kTs;
  s.message = "No active tasks";
  s.details.ownStatus = Status::Idle;
  p::StatusReport sensor;
  sensor.name = "sensor";
  sensor.status = Status::Ok;
  sensor.timestamp = kTs;
  sensor.message = "sensor nominal";
  p::StatusReport link;
  link.name = "link";
  link.status = Status::Degraded;
  link.timestamp = kTs;
  link.message = "link flaky";
  link.details.metrics.set("reconnects", 1);
  s.details.children = {sensor, link};
  s.details.metrics.set("cycles", 3).set("work_s", 1.0);
  s.parent = "launcher.vm-systemd-launcher";
  s.pid = 22858;
  s.hostname = "vm.example.lan";
  return s;
}

std::vector<p::RegistryEvent> everyRegistryEvent() {
  std::vector<p::RegistryEvent> events;
  const auto add = [&](p::RegistryEvent::Specific specific) {
    p::RegistryEvent e;
    e.serviceId = "mock_crashing.onfail";
    e.timestamp = kTs;
    e.specific = std::move(specific);
    e.parent = "launcher.vm-systemd-launcher";
    e.runnerId = "vm-systemd-launcher.mock_crashing";
    events.push_back(std::move(e));
  };
  add(p::DeclaredEvent{"on-failure"});
  add(p::StartEvent{Status::Startup, "vm", 14712});
  add(p::ReadyEvent{Status::Ok, 0.25});
  add(p::StoppingEvent{Status::Shutdown, "terminated"});
  add(p::StopEvent{Status::Shutdown, "completed", 0});
  add(p::CrashedEvent{Status::Error, -9, "on-abnormal", true, "signal"});
  add(p::RestartingEvent{Status::Startup, 1, 2});
  add(p::FailedEvent{Status::Failed, "restart_limit_reached", 3});
  add(p::DuplicateEvent{Status::Warning, {{"vm", 14712, "launcher.vm-systemd-launcher"}, {"tel2", std::nullopt, ""}}});
  return events;
}

template <class T>
void expectRoundTrip(const T& data, const std::string& context = {}) {
  const p::Meta meta = fixedMeta("msg-7");
  const std::string body = p::encode(data, meta);
  const auto m = p::decode<T>(body);
  EXPECT_EQ(m.meta, meta) << context << body;
  EXPECT_TRUE(m.data == data) << context << body;
  EXPECT_TRUE(p::decodeData<T>(p::encodeData(data)) == data) << context;
  EXPECT_EQ(p::encode(m.data, m.meta), body) << context;
}

std::vector<std::string> keysOf(const std::string& json) {
  std::vector<std::string> keys;
  const OJson j = OJson::parse(json);
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  return keys;
}

}  // namespace

// ---- subjects --------------------------------------------------------------------------------

TEST(ProtocolSubjects, BuildsEveryKindUnderAPrefixThatMayContainDots) {
  EXPECT_EQ(p::statusSubject("svc", "hello_world.main"), "svc.status.hello_world.main");
  EXPECT_EQ(p::heartbeatSubject("ocm.svc", "launcher.vm-systemd-launcher"),
            "ocm.svc.heartbeat.launcher.vm-systemd-launcher");
  EXPECT_EQ(p::registrySubject("svc", p::RegistryEventType::Crashed, "examples.minimal.tutorial"),
            "svc.registry.crashed.examples.minimal.tutorial");
  EXPECT_EQ(p::rpcSubject("test.svc", "hello_world.main", p::RpcCommand::Health),
            "test.svc.rpc.hello_world.main.v1.health");
  EXPECT_EQ(p::rpcSubject("svc", "launcher.vm-systemd-launcher", p::RpcCommand::Restart, "hello_world.main"),
            "svc.rpc.launcher.vm-systemd-launcher.v1.restart.hello_world.main");
  EXPECT_EQ(p::rpcSubject("svc", "launcher.vm-systemd-launcher", p::RpcCommand::List),
            "svc.rpc.launcher.vm-systemd-launcher.v1.list");
}

TEST(ProtocolSubjects, BuildsSubscriptionFilters) {
  EXPECT_EQ(p::subjectFilter("svc", p::SubjectKind::Status), "svc.status.>");
  EXPECT_EQ(p::subjectFilter("ocm.svc", p::SubjectKind::Heartbeat), "ocm.svc.heartbeat.>");
  EXPECT_EQ(p::subjectFilter("svc", p::SubjectKind::Registry), "svc.registry.>");
  EXPECT_EQ(p::subjectFilter("svc", p::SubjectKind::Rpc), "svc.rpc.>");
  EXPECT_EQ(p::registryFilter("svc", p::RegistryEventType::Crashed), "svc.registry.crashed.>");
  EXPECT_EQ(p::rpcFilter("svc", "hello_world.main"), "svc.rpc.hello_world.main.v1.>");
}

TEST(ProtocolSubjects, LauncherNamesAreLauncherDotId) {
  EXPECT_EQ(p::launcherName("vm-systemd-launcher"), "launcher.vm-systemd-launcher");
  EXPECT_EQ(p::launcherName("launcher.bAVP2J.vm-process-launcher"), "launcher.launcher.bAVP2J.vm-process-launcher");
  EXPECT_EQ(p::launcherIdOf("launcher.launcher.bAVP2J.vm-process-launcher"), "launcher.bAVP2J.vm-process-launcher");
  EXPECT_EQ(p::launcherIdOf("launcher.vm-systemd-launcher"), "vm-systemd-launcher");
  EXPECT_EQ(p::launcherIdOf("hello_world.main"), std::nullopt);
  EXPECT_EQ(p::launcherIdOf("launcher."), std::nullopt);
  EXPECT_EQ(p::launcherIdOf("launcher"), std::nullopt);
  EXPECT_THROW(p::launcherName("vm host"), tcs::ProtocolError);
  EXPECT_THROW(p::launcherName(""), tcs::ProtocolError);
}

TEST(ProtocolSubjects, TokensFollowNatsRules) {
  for (const std::string_view good : {"a", "hello_world", "vm-process-launcher", "bAVP2J", "zażółć", "x:y", "@"})
    EXPECT_TRUE(p::isValidSubjectToken(good)) << good;
  for (const std::string_view bad : {"", "a.b", "a b", "*", "a*", ">", "a>", "a\tb", "a\nb", "\x7f"})
    EXPECT_FALSE(p::isValidSubjectToken(bad)) << bad;
  EXPECT_FALSE(p::isValidSubjectToken(std::string_view{"a\0b", 3}));
  EXPECT_TRUE(p::isValidSubjectName("examples.minimal.tutorial"));
  for (const std::string_view bad : {"", ".", "a.", ".a", "a..b", "a.*", "a.>", "a. b"})
    EXPECT_FALSE(p::isValidSubjectName(bad)) << bad;
}

TEST(ProtocolSubjects, BuildersRejectInvalidNamesAndPrefixes) {
  for (const std::string_view bad : {"", "a b.main", "a.*", "a.>", "a..b", "a.", ".a"}) {
    EXPECT_THROW(p::statusSubject("svc", bad), tcs::ProtocolError) << bad;
    EXPECT_THROW(p::heartbeatSubject("svc", bad), tcs::ProtocolError) << bad;
    EXPECT_THROW(p::registrySubject("svc", p::RegistryEventType::Start, bad), tcs::ProtocolError) << bad;
    EXPECT_THROW(p::rpcSubject("svc", bad, p::RpcCommand::Health), tcs::ProtocolError) << bad;
    EXPECT_THROW(p::statusSubject(bad, "a.b"), tcs::ProtocolError) << bad;
    EXPECT_THROW(p::subjectFilter(bad, p::SubjectKind::Status), tcs::ProtocolError) << bad;
  }
  expectProtocolError([] { p::statusSubject("svc", "a b.main"); }, "invalid name 'a b.main'");
}

TEST(ProtocolSubjects, RpcBuilderChecksArityAndAmbiguity) {
  expectProtocolError([] { p::rpcSubject("svc", "launcher.x", p::RpcCommand::Start); }, "needs a service id");
  expectProtocolError([] { p::rpcSubject("svc", "a.b", p::RpcCommand::Health, "c.d"); }, "takes no service id");
  expectProtocolError([] { p::rpcSubject("svc", "launcher.x", p::RpcCommand::Stop, "bad id"); }, "invalid service id");
  // `a.v1.start` + health would read back as `a` + start(`v1.health`).
  expectProtocolError([] { p::rpcSubject("svc", "a.v1.start", p::RpcCommand::Health); }, "ambiguous rpc subject");
  // A `v1` token in a name is fine otherwise.
  EXPECT_EQ(p::rpcSubject("svc", "camera.v1", p::RpcCommand::Stats), "svc.rpc.camera.v1.v1.stats");
  EXPECT_EQ(p::rpcSubject("svc", "launcher.h", p::RpcCommand::Start, "camera.v1"),
            "svc.rpc.launcher.h.v1.start.camera.v1");
}

TEST(ProtocolSubjects, ParsesEveryKindWithServiceIdsAsTheLastTokens) {
  struct Case {
    std::string prefix;
    std::string subject;
    p::Subject expected;
  };
  using K = p::SubjectKind;
  const std::vector<Case> cases = {
      {"svc", "svc.status.hello_world.main", {K::Status, "hello_world.main", "", "", ""}},
      {"svc",
       "svc.status.launcher.launcher.bAVP2J.vm-process-launcher",
       {K::Status, "launcher.launcher.bAVP2J.vm-process-launcher", "", "", ""}},
      {"ocm.svc",
       "ocm.svc.heartbeat.examples.minimal.tutorial",
       {K::Heartbeat, "examples.minimal.tutorial", "", "", ""}},
      {"svc", "svc.registry.declared.hello_world.main", {K::Registry, "hello_world.main", "declared", "", ""}},
      {"svc", "svc.registry.exploded.a.b", {K::Registry, "a.b", "exploded", "", ""}},  // unknown event kept
      {"a.b.c", "a.b.c.registry.ready.x.y.z", {K::Registry, "x.y.z", "ready", "", ""}},
      {"svc", "svc.rpc.hello_world.main.v1.health", {K::Rpc, "hello_world.main", "", "health", ""}},
      {"svc", "svc.rpc.launcher.vm-systemd-launcher.v1.list", {K::Rpc, "launcher.vm-systemd-launcher", "", "list", ""}},
      {"svc",
       "svc.rpc.launcher.h.v1.start.examples.minimal.tutorial",
       {K::Rpc, "launcher.h", "", "start", "examples.minimal.tutorial"}},
      {"svc", "svc.rpc.launcher.h.v1.stop.camera.v1", {K::Rpc, "launcher.h", "", "stop", "camera.v1"}},
      {"svc", "svc.rpc.camera.v1.v1.health", {K::Rpc, "camera.v1", "", "health", ""}},
      {"svc", "svc.rpc.launcher.h.v1.reload", {K::Rpc, "launcher.h", "", "reload", ""}},
      {"svc", "svc.rpc.a.b.v1.frobnicate", {K::Rpc, "a.b", "", "frobnicate", ""}},      // unknown: answered
      {"svc", "svc.rpc.a.b.v1.health.extra", {K::Rpc, "a.b", "", "health", "extra"}},   // wrong arity: answered
      {"svc", "svc.rpc.launcher.h.v1.start", {K::Rpc, "launcher.h", "", "start", ""}},  // missing id: answered
  };
  for (const auto& c : cases) {
    p::Subject s;
    ASSERT_NO_THROW(s = p::parseSubject(c.prefix, c.subject)) << c.subject;
    EXPECT_EQ(s, c.expected) << c.subject;
  }
}

TEST(ProtocolSubjects, BuildersAndParserRoundTrip) {
  for (const std::string_view prefix : {"svc", "ocm.svc", "test.svc"}) {
    for (const std::string_view name : {"hello_world.main", "examples.minimal.tutorial", "launcher.vm-systemd-launcher",
                                        "launcher.launcher.bAVP2J.vm-process-launcher", "camera.v1"}) {
      EXPECT_EQ(p::parseSubject(prefix, p::statusSubject(prefix, name)),
                (p::Subject{p::SubjectKind::Status, std::string{name}, "", "", ""}));
      EXPECT_EQ(p::parseSubject(prefix, p::heartbeatSubject(prefix, name)),
                (p::Subject{p::SubjectKind::Heartbeat, std::string{name}, "", "", ""}));
      for (int e = 0; e < 8; ++e) {
        const auto type = static_cast<p::RegistryEventType>(e);
        const auto s = p::parseSubject(prefix, p::registrySubject(prefix, type, name));
        EXPECT_EQ(s, (p::Subject{p::SubjectKind::Registry, std::string{name}, std::string{p::toString(type)}, "", ""}));
        EXPECT_EQ(p::parseRegistryEventType(s.event), type);
      }
      for (int c = 0; c < 9; ++c) {
        const auto command = static_cast<p::RpcCommand>(c);
        const std::string arg = p::takesServiceId(command) ? "camera.v1" : "";
        const auto s = p::parseSubject(prefix, p::rpcSubject(prefix, name, command, arg));
        EXPECT_EQ(s, (p::Subject{p::SubjectKind::Rpc, std::string{name}, "", std::string{p::toString(command)}, arg}));
        EXPECT_EQ(p::parseRpcCommand(s.command), command);
      }
    }
  }
}

TEST(ProtocolSubjects, ParserRejectsInvalidSubjectsNamingTheProblem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"other.status.a.b", "not under prefix 'svc'"},
      {"svcx.status.a.b", "not under prefix"},
      {"svc", "not under prefix"},
      {"svc.", "empty token"},
      {"svc.status", "no name"},
      {"svc.status.", "empty token"},
      {"svc.status..a", "empty token"},
      {"svc.status.a.", "empty token"},
      {"svc.status.a b", "invalid token 'a b'"},
      {"svc.status.*", "invalid token '*'"},
      {"svc.heartbeat.>", "invalid token '>'"},
      {"svc.alive.a.b", "unknown kind 'alive'"},
      {"svc.registry.start", "expected <event>.<service_id>"},
      {"svc.rpc.a.b.health", "expected <name>.v1.<command>"},
      {"svc.rpc.v1.health", "expected <name>.v1.<command>"},
      {"svc.rpc.a.b.v1", "expected <name>.v1.<command>"},
  };
  for (const auto& [subject, needle] : cases)
    expectProtocolError([&] { p::parseSubject("svc", subject); }, needle, subject);
  expectProtocolError([] { p::parseSubject("svc.", "svc..status.a"); }, "invalid subject prefix");
}

TEST(ProtocolSubjects, EnumsConvertBothWays) {
  for (int e = 0; e < 8; ++e) {
    const auto type = static_cast<p::RegistryEventType>(e);
    EXPECT_EQ(p::parseRegistryEventType(p::toString(type)), type);
  }
  EXPECT_EQ(p::toString(p::RegistryEventType::Restarting), "restarting");
  EXPECT_EQ(p::parseRegistryEventType("alive"), std::nullopt);
  for (int c = 0; c < 9; ++c) {
    const auto command = static_cast<p::RpcCommand>(c);
    EXPECT_EQ(p::parseRpcCommand(p::toString(command)), command);
  }
  EXPECT_EQ(p::parseRpcCommand("v1"), std::nullopt);
  EXPECT_TRUE(p::takesServiceId(p::RpcCommand::Restart));
  EXPECT_FALSE(p::takesServiceId(p::RpcCommand::Reload));
  EXPECT_EQ(p::toString(p::RpcCommand::ResetFailed), "reset-failed");
  EXPECT_EQ(p::toString(p::RpcCommand::Logs), "logs");
  EXPECT_TRUE(p::takesServiceId(p::RpcCommand::ResetFailed));
  EXPECT_TRUE(p::takesServiceId(p::RpcCommand::Logs));
}

// ---- timestamps --------------------------------------------------------------------------------

TEST(ProtocolTimestamps, EncodeAsSevenIntegerUtcArrays) {
  EXPECT_EQ(p::encodeTimestamp(kTs), kTsJson);
  EXPECT_EQ(p::toFields(kTs), (p::TimestampFields{2026, 11, 25, 17, 30, 35, 22725}));
  EXPECT_EQ(p::encodeTimestamp(p::Timestamp{}), "[1970,1,1,0,0,0,0]");
  // Before the epoch the fields still count forward within the day.
  EXPECT_EQ(p::encodeTimestamp(p::Timestamp{} - std::chrono::microseconds{1}), "[1969,12,31,23,59,59,999999]");
  EXPECT_EQ(p::encodeTimestamp(at(2024, 2, 29, 23, 59, 59, 999999)), "[2024,2,29,23,59,59,999999]");
}

TEST(ProtocolTimestamps, DecodeRoundTripsNowToTheMicrosecond) {
  const auto t = p::now();
  EXPECT_EQ(p::decodeTimestamp(p::encodeTimestamp(t)), t);
  const auto sys = std::chrono::system_clock::now();
  EXPECT_LE(std::chrono::abs(sys - t), std::chrono::seconds{5});
  EXPECT_EQ(p::fromFields(p::toFields(t)), t);
}

TEST(ProtocolTimestamps, DecodeAcceptsLongerArraysUsingTheFirstSeven) {
  EXPECT_EQ(p::decodeTimestamp("[2026,11,25,17,30,35,22725,0,0]"), kTs);
  EXPECT_EQ(p::decodeTimestamp("[2026, 11, 25, 17, 30, 35, 22725, \"UTC\", null, 1.5]"), kTs);
  const std::vector<std::int64_t> nine{2026, 11, 25, 17, 30, 35, 22725, 9, 9};
  EXPECT_EQ(p::fromFields(nine), kTs);
}

TEST(ProtocolTimestamps, DecodeRejectsMalformedArrays) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[]", "expected at least 7 integers, got 0"},
      {"[2026,11,25,17,30,35]", "expected at least 7 integers, got 6"},
      {"[2026,11,25,17,30,35,1.5]", "timestamp[6]: expected an integer"},
      {"[2026,\"11\",25,17,30,35,0]", "timestamp[1]: expected an integer, got string"},
      {"[2026,11,25,17,30,true,0]", "timestamp[5]: expected an integer, got boolean"},
      {"[2026,11,25,17,30,35,null]", "timestamp[6]: expected an integer, got null"},
      {"[0,1,1,0,0,0,0]", "year 0 out of range"},
      {"[10000,1,1,0,0,0,0]", "year 10000 out of range"},
      {"[-5,1,1,0,0,0,0]", "year -5 out of range"},
      {"[2026,0,1,0,0,0,0]", "month 0"},
      {"[2026,13,1,0,0,0,0]", "month 13"},
      {"[2026,2,29,0,0,0,0]", "day 29 does not exist"},
      {"[2026,4,31,0,0,0,0]", "day 31 does not exist"},
      {"[2026,1,0,0,0,0,0]", "day 0"},
      {"[2026,1,1,24,0,0,0]", "hour 24"},
      {"[2026,1,1,0,60,0,0]", "minute 60"},
      {"[2026,1,1,0,0,60,0]", "second 60"},
      {"[2026,1,1,0,0,0,1000000]", "microsecond 1000000"},
      {"[2026,1,1,0,0,0,-1]", "microsecond -1"},
      {"[1e30,1,1,0,0,0,0]", "timestamp[0]: expected an integer"},
      {"[99999999999999999999999,1,1,0,0,0,0]", "timestamp[0]: expected an integer"},
      {"[18446744073709551615,1,1,0,0,0,0]", "out of range"},
      {"[-9223372036854775808,1,1,0,0,0,0]", "year -9223372036854775808 out of range"},
      {"{}", "expected a timestamp array"},
      {"\"2026-11-25T17:30:35Z\"", "expected a timestamp array"},
      {"1764091835", "expected a timestamp array"},
      {"null", "expected a timestamp array"},
      {"[2026,11,25", "not JSON"},
      {"", "not JSON"},
  };
  for (const auto& [json, needle] : cases) expectProtocolError([&] { p::decodeTimestamp(json); }, needle, json);
  const std::vector<std::int64_t> six{2026, 11, 25, 17, 30, 35};
  expectProtocolError([&] { p::fromFields(six); }, "expected at least 7 integers, got 6");
  const std::vector<std::int64_t> huge{std::numeric_limits<std::int64_t>::max(), 1, 1, 0, 0, 0, 0};
  expectProtocolError([&] { p::fromFields(huge); }, "out of range");
}

// ---- JsonObject --------------------------------------------------------------------------------

TEST(ProtocolJsonObject, KeepsInsertionOrderAndReplacesInPlace) {
  p::JsonObject o;
  EXPECT_TRUE(o.empty());
  EXPECT_EQ(o.text(), "{}");
  o.set("cycles", 3).set("work_s", 1.0).set("name", "x").set("ok", true).set("none", nullptr);
  EXPECT_EQ(o.text(), R"({"cycles":3,"work_s":1.0,"name":"x","ok":true,"none":null})");
  o.set("cycles", 4);
  EXPECT_EQ(o.text(), R"({"cycles":4,"work_s":1.0,"name":"x","ok":true,"none":null})");
  p::JsonObject inner;
  inner.set("status", "ok");
  o.set("db", inner);
  EXPECT_EQ(keysOf(o.text()).back(), "db");
  EXPECT_FALSE(o.empty());
}

TEST(ProtocolJsonObject, ParsesOnlyObjectsAndWritesSafeJson) {
  EXPECT_EQ(p::JsonObject::parse(R"( { "b" : 1 , "a" : [1, 2] } )").text(), R"({"b":1,"a":[1,2]})");
  expectProtocolError([] { p::JsonObject::parse("[1]"); }, "expected an object, got array");
  expectProtocolError([] { p::JsonObject::parse("{"); }, "not JSON");
  p::JsonObject o;
  o.set("nan", std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(o.text(), R"({"nan":null})");
  o.set("bad", std::string{"a\xff"});
  EXPECT_EQ(o.text(), "{\"nan\":null,\"bad\":\"a\xef\xbf\xbd\"}");
  EXPECT_EQ(p::JsonObject::parse(o.text()), o);
}

// ---- envelope ----------------------------------------------------------------------------------

TEST(ProtocolEnvelope, MetaGeneratorCountsMsgMsg2Msg3) {
  p::MetaGenerator gen("Messenger_test000000");
  const auto a = gen.next();
  const auto b = gen.next();
  const auto c = gen.next(p::kMessageTypeRpc);
  EXPECT_EQ(a.id, "msg");
  EXPECT_EQ(b.id, "msg-2");
  EXPECT_EQ(c.id, "msg-3");
  EXPECT_EQ(a.sender, "Messenger_test000000");
  EXPECT_EQ(a.traceLevel, 10);
  EXPECT_EQ(a.messageType, "");
  EXPECT_EQ(c.messageType, "rpc");
  EXPECT_TRUE(a.tags.empty());
  EXPECT_LE(std::chrono::abs(std::chrono::system_clock::now() - a.ts), std::chrono::seconds{5});
  EXPECT_LE(a.ts, b.ts);
}

TEST(ProtocolEnvelope, MetaGeneratorIdsAreUniqueAcrossThreads) {
  p::MetaGenerator gen;
  constexpr int kThreads = 4;
  constexpr int kEach = 500;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) ids[t].push_back(gen.next().id);
    });
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  for (const auto& v : ids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), std::size_t{kThreads * kEach});
  EXPECT_TRUE(all.contains("msg"));
  EXPECT_TRUE(all.contains("msg-2000"));
}

TEST(ProtocolEnvelope, SenderNamesLookLikeUpstreamMessengers) {
  const std::regex form{"Messenger_[A-Za-z0-9_-]{10}"};
  const auto a = p::MetaGenerator::randomSenderName();
  EXPECT_TRUE(std::regex_match(a, form)) << a;
  EXPECT_NE(a, p::MetaGenerator::randomSenderName());
  EXPECT_TRUE(std::regex_match(p::processMetaGenerator().sender(), form));
  EXPECT_EQ(&p::processMetaGenerator(), &p::processMetaGenerator());
}

TEST(ProtocolEnvelope, EncodesDataThenMetaExactlyLikeServerish) {
  p::Heartbeat h;
  h.serviceId = "hello_world.main";
  h.timestamp = kTs;
  h.status = Status::Ok;
  EXPECT_EQ(p::encode(h, fixedMeta()),
            R"({"data":{"service_id":"hello_world.main","timestamp":[2026,11,25,17,30,35,22725],"status":"ok"},)"
            R"("meta":{"id":"msg","sender":"Messenger_J7V0u-LTTv","ts":[2026,11,25,17,30,35,23096],)"
            R"("trace_level":10,"message_type":"","tags":[]}})");
}

TEST(ProtocolEnvelope, DecodeToleratesReaderAdditionsAndOptionalMetaKeys) {
  const std::string data = R"({"error":"unknown_service","message":"no such service 'x.y'"})";
  // meta.nats is what serverish's MsgReader adds; unknown keys everywhere are ignored.
  const auto m = p::decode<p::ErrorReply>(
      R"({"data":)" + data +
      R"(,"meta":{"id":"msg-9","sender":"s","ts":[2026,11,25,17,30,35,22725,0,0],"trace_level":10,)"
      R"("message_type":"rpc","tags":["a"],"nats":{"seq":3}},"extra":1})");
  EXPECT_EQ(m.meta.id, "msg-9");
  EXPECT_EQ(m.meta.ts, kTs);
  EXPECT_EQ(m.meta.messageType, "rpc");
  EXPECT_EQ(m.meta.tags, std::vector<std::string>{"a"});
  EXPECT_EQ(m.data.error, "unknown_service");
  const auto minimal =
      p::decode<p::ErrorReply>(R"({"meta":{"id":"x","sender":"s","ts":)" + ts() + R"(},"data":)" + data + "}");
  EXPECT_EQ(minimal.meta.traceLevel, 10);
  EXPECT_EQ(minimal.meta.messageType, "");
  EXPECT_TRUE(minimal.meta.tags.empty());
}

// ---- payloads: exact encoding ------------------------------------------------------------------

TEST(ProtocolStatus, MinimalStatusHasOnlyTheAlwaysKeys) {
  p::StatusUpdate s;
  s.name = "hello_world.main";
  s.status = Status::Ok;
  s.timestamp = kTs;
  s.pid = 14712;
  s.hostname = "vm";
  EXPECT_EQ(
      p::encodeData(s),
      R"({"name":"hello_world.main","status":"ok","timestamp":[2026,11,25,17,30,35,22725],"pid":14712,"hostname":"vm"})");
}

TEST(ProtocolStatus, FullStatusFollowsUpstreamKeyOrderWithDetails) {
  EXPECT_EQ(p::encodeData(sampleStatus()),
            R"({"name":"vec.monitored.kids","status":"degraded","timestamp":[2026,11,25,17,30,35,22725],)"
            R"("message":"No active tasks","details":{"own_status":"idle","children":[)"
            R"({"name":"sensor","status":"ok","timestamp":[2026,11,25,17,30,35,22725],"message":"sensor nominal"},)"
            R"({"name":"link","status":"degraded","timestamp":[2026,11,25,17,30,35,22725],"message":"link flaky",)"
            R"("details":{"metrics":{"reconnects":1}}}],"metrics":{"cycles":3,"work_s":1.0}},)"
            R"("parent":"launcher.vm-systemd-launcher","pid":22858,"hostname":"vm.example.lan"})");
}

TEST(ProtocolStatus, DetailsKeysAppearOnlyWhenSet) {
  p::StatusUpdate s = sampleStatus();
  s.details = {};
  s.details.metrics.set("queue", 3);
  EXPECT_EQ(OJson::parse(p::encodeData(s)).at("details").dump(), R"({"metrics":{"queue":3}})");
  s.details = {};
  EXPECT_FALSE(OJson::parse(p::encodeData(s)).contains("details"));
  s.message.clear();
  s.parent.clear();
  EXPECT_EQ(keysOf(p::encodeData(s)), (std::vector<std::string>{"name", "status", "timestamp", "pid", "hostname"}));
}

TEST(ProtocolHeartbeat, UpstreamKeysFirstThenTcsAdditions) {
  p::Heartbeat h;
  h.serviceId = "hello_world.main";
  h.timestamp = kTs;
  h.status = Status::Busy;
  EXPECT_EQ(keysOf(p::encodeData(h)), (std::vector<std::string>{"service_id", "timestamp", "status"}));
  h.sequence = 1;
  h.uptimeSeconds = 12.5;
  h.nextHeartbeatExpected = kTs + std::chrono::seconds{10};
  h.metrics.set("queue", 0);
  EXPECT_EQ(p::encodeData(h),
            R"({"service_id":"hello_world.main","timestamp":[2026,11,25,17,30,35,22725],"status":"busy",)"
            R"("sequence":1,"uptime_seconds":12.5,"next_heartbeat_expected":[2026,11,25,17,30,45,22725],)"
            R"("metrics":{"queue":0}})");
}

TEST(ProtocolRegistry, EveryEventHasProtocolMdKeysInOrder) {
  const std::map<p::RegistryEventType, std::vector<std::string>> specific = {
      {p::RegistryEventType::Declared, {"restart_policy"}},
      {p::RegistryEventType::Start, {"status", "hostname", "pid"}},
      {p::RegistryEventType::Ready, {"status", "startup_duration_seconds"}},
      {p::RegistryEventType::Stopping, {"status", "reason"}},
      {p::RegistryEventType::Stop, {"status", "reason", "exit_code"}},
      {p::RegistryEventType::Crashed, {"status", "exit_code", "restart_policy", "will_restart", "result"}},
      {p::RegistryEventType::Restarting, {"status", "restart_attempt", "max_restarts"}},
      {p::RegistryEventType::Failed, {"status", "reason", "restart_count"}},
      {p::RegistryEventType::Duplicate, {"status", "hosts"}},
  };
  for (const auto& e : everyRegistryEvent()) {
    std::vector<std::string> expected{"event", "service_id", "timestamp"};
    const auto& mid = specific.at(e.type());
    expected.insert(expected.end(), mid.begin(), mid.end());
    expected.insert(expected.end(), {"parent", "runner_id"});
    const std::string json = p::encodeData(e);
    EXPECT_EQ(keysOf(json), expected) << json;
    EXPECT_EQ(OJson::parse(json).at("event"), std::string{p::toString(e.type())});
  }
}

TEST(ProtocolRegistry, TheDuplicateEventListsEveryProcessWithNullForWhatIsNotKnown) {
  const auto events = everyRegistryEvent();
  const auto& dup = events.back();
  ASSERT_EQ(dup.type(), p::RegistryEventType::Duplicate);
  EXPECT_EQ(p::encodeData(dup),
            R"({"event":"duplicate","service_id":"mock_crashing.onfail","timestamp":[2026,11,25,17,30,35,22725],)"
            R"("status":"warning","hosts":[{"hostname":"vm","pid":14712,"launcher":"launcher.vm-systemd-launcher"},)"
            R"({"hostname":"tel2","pid":null,"launcher":null}],"parent":"launcher.vm-systemd-launcher",)"
            R"("runner_id":"vm-systemd-launcher.mock_crashing"})");
  EXPECT_EQ(p::decodeData<p::RegistryEvent>(p::encodeData(dup)), dup);
  EXPECT_EQ(p::registrySubject("svc", p::RegistryEventType::Duplicate, "cam.main"), "svc.registry.duplicate.cam.main");
  EXPECT_THROW(p::decodeData<p::RegistryEvent>(
                   R"({"event":"duplicate","service_id":"a.b","timestamp":[2026,1,1,0,0,0,0],"status":"warning",)"
                   R"("hosts":{"hostname":"x"},"runner_id":"r"})"),
               tcs::ProtocolError);
}

TEST(ProtocolRegistry, EncodesValuesLikeUpstream) {
  const auto events = everyRegistryEvent();
  EXPECT_EQ(p::encodeData(events[1]),
            R"({"event":"start","service_id":"mock_crashing.onfail","timestamp":[2026,11,25,17,30,35,22725],)"
            R"("status":"startup","hostname":"vm","pid":14712,"parent":"launcher.vm-systemd-launcher",)"
            R"("runner_id":"vm-systemd-launcher.mock_crashing"})");
  EXPECT_EQ(p::encodeData(events[5]),
            R"({"event":"crashed","service_id":"mock_crashing.onfail","timestamp":[2026,11,25,17,30,35,22725],)"
            R"("status":"error","exit_code":-9,"restart_policy":"on-abnormal","will_restart":true,"result":"signal",)"
            R"("parent":"launcher.vm-systemd-launcher","runner_id":"vm-systemd-launcher.mock_crashing"})");
  p::RegistryEvent unlimited = events[6];
  std::get<p::RestartingEvent>(unlimited.specific).maxRestarts.reset();
  EXPECT_TRUE(OJson::parse(p::encodeData(unlimited)).at("max_restarts").is_null());
  // Without a result (as upstream) the key is absent; without a parent too; runner_id stays.
  p::RegistryEvent bare = events[5];
  std::get<p::CrashedEvent>(bare.specific).result.clear();
  bare.parent.clear();
  EXPECT_EQ(keysOf(p::encodeData(bare)),
            (std::vector<std::string>{"event", "service_id", "timestamp", "status", "exit_code", "restart_policy",
                                      "will_restart", "runner_id"}));
}

TEST(ProtocolRegistry, EveryEventButDeclaredCarriesAStatus) {
  const auto events = everyRegistryEvent();
  EXPECT_EQ(events[0].status(), std::nullopt);
  EXPECT_EQ(events[1].status(), Status::Startup);
  EXPECT_EQ(events[2].status(), Status::Ok);
  EXPECT_EQ(events[3].status(), Status::Shutdown);
  EXPECT_EQ(events[4].status(), Status::Shutdown);
  EXPECT_EQ(events[5].status(), Status::Error);
  EXPECT_EQ(events[6].status(), Status::Startup);
  EXPECT_EQ(events[7].status(), Status::Failed);
}

TEST(ProtocolRpc, RepliesHaveProtocolMdKeysInOrder) {
  p::HealthReply health{"hello_world.main", Status::Ok, kTs, p::JsonObject{}.set("nats", "ok")};
  EXPECT_EQ(
      p::encodeData(health),
      R"({"service_id":"hello_world.main","status":"ok","timestamp":[2026,11,25,17,30,35,22725],"checks":{"nats":"ok"}})");
  p::StatsReply stats{"hello_world.main", kTs, 3.5, {}};
  EXPECT_EQ(
      p::encodeData(stats),
      R"({"service_id":"hello_world.main","timestamp":[2026,11,25,17,30,35,22725],"uptime_seconds":3.5,"stats":{}})");
  p::LauncherListReply list{"vm-systemd-launcher", kTs, {}};
  list.services.push_back(
      {"hello_world.main", "running", 14712, "tcs@hello_world:main.service", "active", "running", 2});
  list.services.push_back({"a.b", "stopped", std::nullopt, "tcs@a:b.service", "inactive", "dead", 0});
  EXPECT_EQ(p::encodeData(list),
            R"({"launcher_id":"vm-systemd-launcher","timestamp":[2026,11,25,17,30,35,22725],"services":[)"
            R"({"service_id":"hello_world.main","status":"running","pid":14712,"unit":"tcs@hello_world:main.service",)"
            R"("active_state":"active","sub_state":"running","n_restarts":2},)"
            R"({"service_id":"a.b","status":"stopped","unit":"tcs@a:b.service","active_state":"inactive",)"
            R"("sub_state":"dead","n_restarts":0}]})");
  p::LauncherActionReply action{"vm-systemd-launcher", "hello_world.main", "started", 15000, kTs};
  EXPECT_EQ(p::encodeData(action),
            R"({"launcher_id":"vm-systemd-launcher","service_id":"hello_world.main","result":"started","pid":15000,)"
            R"("timestamp":[2026,11,25,17,30,35,22725]})");
  action.pid.reset();
  action.result = "stopped";
  EXPECT_EQ(keysOf(p::encodeData(action)),
            (std::vector<std::string>{"launcher_id", "service_id", "result", "timestamp"}));
  p::LauncherReloadReply reload{"vm-systemd-launcher", "reloaded", {"a.b"}, {"services[1]: bad"}, kTs};
  EXPECT_EQ(p::encodeData(reload), R"({"launcher_id":"vm-systemd-launcher","result":"reloaded","declared":["a.b"],)"
                                   R"("errors":["services[1]: bad"],"timestamp":[2026,11,25,17,30,35,22725]})");
  p::ErrorReply error{std::string{p::rpc_error::kUnknownService}, "no service 'x.y' here"};
  EXPECT_EQ(p::encodeData(error), R"({"error":"unknown_service","message":"no service 'x.y' here"})");
}

TEST(ProtocolRpc, RequestsAcceptEmptyBodiesAndCarryParameters) {
  EXPECT_EQ(p::decode<p::RpcRequest>("").data.params.text(), "{}");
  EXPECT_EQ(p::decode<p::RpcRequest>(" \n").data.params.text(), "{}");
  p::RpcRequest r{p::JsonObject{}.set("verbose", true)};
  const auto body = p::encode(r, fixedMeta());
  EXPECT_EQ(OJson::parse(body).at("data").dump(), R"({"verbose":true})");
  EXPECT_EQ(p::decode<p::RpcRequest>(body).data, r);
  expectProtocolError([] { p::decode<p::RpcRequest>("{}"); }, "missing required key 'meta'");
}

TEST(ProtocolRpc, RequestParserAcceptsFullMessagesBareDataAndEmptyBodies) {
  const p::RpcRequest r{p::JsonObject{}.set("verbose", true)};
  EXPECT_EQ(p::parseRpcRequest(p::encode(r, fixedMeta())), r);  // what tcsctl sends
  EXPECT_EQ(p::parseRpcRequest(R"({"verbose":true})"), r);      // nats req SUBJECT '{"verbose":true}'
  EXPECT_EQ(p::parseRpcRequest("{}").params.text(), "{}");
  EXPECT_EQ(p::parseRpcRequest("").params.text(), "{}");  // nats req SUBJECT ''
  EXPECT_EQ(p::parseRpcRequest(" \n\t").params.text(), "{}");
}

TEST(ProtocolRpc, RequestParserRejectsOtherBodiesWithTheMessageDecodersError) {
  expectProtocolError([] { p::parseRpcRequest("nope"); }, "not JSON");
  expectProtocolError([] { p::parseRpcRequest("[1]"); },
                      "message: expected a JSON object {\"data\", \"meta\"}, got array");
  expectProtocolError([] { p::parseRpcRequest("42"); }, "got number");
  expectProtocolError([] { p::parseRpcRequest(R"({"data":{})"); }, "not JSON");
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  EXPECT_THROW(p::parseRpcRequest(deep), tcs::ProtocolError);
}

TEST(ProtocolRpc, LogsRepliesHaveTheirKeysInOrder) {
  p::LogsReply r{"vm-systemd-launcher", "hello_world.main", "tcs@hello_world:main.service", {}, "c2", false, kTs};
  r.entries.push_back({kTs, 6, "hello_world", 412, "Hello World!", "c1"});
  r.entries.push_back({kTs, 5, "", std::nullopt, "Started x.", "c2"});
  EXPECT_EQ(p::encodeData(r), R"({"launcher_id":"vm-systemd-launcher","service_id":"hello_world.main",)"
                              R"("unit":"tcs@hello_world:main.service","entries":[)"
                              R"({"timestamp":[2026,11,25,17,30,35,22725],"priority":6,"identifier":"hello_world",)"
                              R"("pid":412,"message":"Hello World!","cursor":"c1"},)"
                              R"({"timestamp":[2026,11,25,17,30,35,22725],"priority":5,"message":"Started x.",)"
                              R"("cursor":"c2"}],"cursor":"c2","truncated":false,)"
                              R"("timestamp":[2026,11,25,17,30,35,22725]})");
}

TEST(ProtocolRpc, LogsRequestsTakeDefaultsAndValidateTheirParameters) {
  EXPECT_EQ(p::decodeData<p::LogsRequest>("{}"), p::LogsRequest{});
  EXPECT_EQ(p::LogsRequest{}.lines, 50);
  EXPECT_EQ(p::LogsRequest{}.maxBytes, 65536);
  const auto r =
      p::decodeData<p::LogsRequest>(R"({"lines":5,"priority":"warning","after_cursor":"s=1","max_bytes":9})");
  EXPECT_EQ(r, (p::LogsRequest{5, 4, "s=1", 9}));
  EXPECT_EQ(p::decodeData<p::LogsRequest>(R"({"priority":3})").priority, 3);
  EXPECT_EQ(p::decodeData<p::LogsRequest>(R"({"lines":1000,"unknown":1})").lines, 1000);
  EXPECT_EQ(p::encodeData(p::LogsRequest{}), R"({"lines":50,"max_bytes":65536})");
  expectProtocolError([] { p::decodeData<p::LogsRequest>(R"({"lines":0})"); }, "data.lines: integer 0 out of range");
  expectProtocolError([] { p::decodeData<p::LogsRequest>(R"({"lines":1001})"); }, "out of range [1, 1000]");
  expectProtocolError([] { p::decodeData<p::LogsRequest>(R"({"lines":"5"})"); }, "data.lines");
  expectProtocolError([] { p::decodeData<p::LogsRequest>(R"({"priority":"loud"})"); },
                      "data.priority: unknown priority 'loud'");
  expectProtocolError([] { p::decodeData<p::LogsRequest>(R"({"priority":8})"); }, "data.priority");
  expectProtocolError([] { p::decodeData<p::LogsRequest>(R"({"after_cursor":""})"); }, "data.after_cursor: empty");
  expectProtocolError([] { p::decodeData<p::LogsRequest>(R"({"max_bytes":65537})"); }, "data.max_bytes");
  EXPECT_EQ(p::parseLogPriority("emerg"), 0);
  EXPECT_EQ(p::parseLogPriority("debug"), 7);
  EXPECT_EQ(p::parseLogPriority("error"), std::nullopt);
}

TEST(ProtocolRpc, ErrorRepliesAreRecognised) {
  const auto err = p::encode(p::ErrorReply{"unknown_command", "no command 'x'"}, fixedMeta());
  const auto ok = p::encode(p::StatsReply{"a.b", kTs, 1, {}}, fixedMeta());
  EXPECT_TRUE(p::isErrorReply(err));
  EXPECT_FALSE(p::isErrorReply(ok));
  expectProtocolError([] { p::isErrorReply("nope"); }, "not JSON");
  expectProtocolError([] { p::isErrorReply(R"({"data":1})"); }, "data: expected an object");
  expectProtocolError([&] { p::decode<p::StatsReply>(err); }, "missing required key 'service_id'");
}

// ---- payloads: round trips ---------------------------------------------------------------------

TEST(ProtocolRoundTrip, EveryMessageTypeDecodesToWhatWasEncoded) {
  expectRoundTrip(sampleStatus(), "status ");
  p::StatusUpdate minimal;
  minimal.name = "a.b";
  expectRoundTrip(minimal, "minimal status ");
  // Children of children.
  p::StatusUpdate nested = sampleStatus();
  nested.details.children[1].details.children.push_back(nested.details.children[0]);
  nested.details.children[1].details.ownStatus = Status::Warning;
  nested.details.children[1].parent = "vec.monitored.kids";
  expectRoundTrip(nested, "nested status ");

  p::Heartbeat h{"hello_world.main", kTs, Status::Ok, {}, {}, {}, {}};
  expectRoundTrip(h, "upstream heartbeat ");
  h.sequence = 18446744073709551615ULL;
  h.uptimeSeconds = 0.1;
  h.nextHeartbeatExpected = kTs + std::chrono::seconds{10};
  h.metrics.set("x", -1);
  expectRoundTrip(h, "tcs heartbeat ");

  for (const auto& e : everyRegistryEvent()) expectRoundTrip(e, std::string{p::toString(e.type())} + " ");
  p::RegistryEvent e = everyRegistryEvent()[6];
  std::get<p::RestartingEvent>(e.specific).maxRestarts.reset();
  e.parent.clear();
  expectRoundTrip(e, "unlimited restarting ");

  expectRoundTrip(p::RpcRequest{}, "request ");
  expectRoundTrip(p::RpcRequest{p::JsonObject::parse(R"({"a":[1,{"b":null}]})")}, "request with params ");
  expectRoundTrip(p::HealthReply{"a.b", Status::Degraded, kTs, p::JsonObject::parse(R"({"db":{"status":"ok"}})")});
  expectRoundTrip(p::StatsReply{"a.b", kTs, 1234.5, p::JsonObject{}.set("requests", 7)});
  p::LauncherListReply list{"h-systemd-launcher", kTs, {}};
  expectRoundTrip(list, "empty list ");
  list.services.push_back({"a.b", "running", 1, "tcs@a:b.service", "active", "running", 0});
  list.services.push_back({"c.d", "failed", std::nullopt, "tcs@c:d.service", "failed", "failed", 5});
  expectRoundTrip(list, "list ");
  expectRoundTrip(p::LauncherActionReply{"h", "a.b", "restarted", 77, kTs});
  expectRoundTrip(p::LauncherActionReply{"h", "a.b", "stopped", std::nullopt, kTs});
  expectRoundTrip(p::LauncherReloadReply{"h", "reloaded", {}, {}, kTs});
  expectRoundTrip(p::LauncherReloadReply{"h", "reloaded", {"a.b", "c.d"}, {"x"}, kTs});
  expectRoundTrip(p::ErrorReply{"internal_error", ""});
  expectRoundTrip(p::LogsRequest{}, "default logs request ");
  expectRoundTrip(p::LogsRequest{10, 3, "s=abc;i=1", 100}, "logs request ");
  p::LogsReply logs{"h", "a.b", "tcs@a:b.service", {}, "", false, kTs};
  expectRoundTrip(logs, "empty logs ");
  logs.entries.push_back({kTs, 3, "a", 9, "boom", "s=1"});
  logs.entries.push_back({kTs, 6, "", std::nullopt, "ok", "s=2"});
  logs.cursor = "s=2";
  logs.truncated = true;
  expectRoundTrip(logs, "logs ");
}

TEST(ProtocolRoundTrip, UnicodeAndEscapesSurvive) {
  p::StatusUpdate s;
  s.name = "a.b";
  s.message = "zażółć \"quoted\" \\ \n\t \u00e9 \U0001F52D";
  s.hostname = "höst";
  expectRoundTrip(s);
}

// ---- golden: upstream vectors -------------------------------------------------------------------

TEST(ProtocolGolden, SampleVectorsDecodeAndReencodeToTheSameJson) {
  ASSERT_TRUE(std::filesystem::exists(kSample)) << kSample;
  const auto sum = checkVectors(kSample);
  EXPECT_GE(sum.records, 300u);
  EXPECT_EQ(sum.scenarios.size(), 10u);
  EXPECT_EQ(sum.aggregates, 26u);
  for (const std::string kind : {"status", "heartbeat", "registry.declared", "registry.start", "registry.stop",
                                 "registry.crashed", "registry.restarting"})
    EXPECT_TRUE(sum.kinds.contains(kind)) << kind;
}

TEST(ProtocolGolden, SharedVectorsDecodeAndReencodeToTheSameJson) {
  ASSERT_TRUE(std::filesystem::exists(kShared)) << kShared << " is committed (tests/libtcs/vectors)";
  const auto sum = checkVectors(kShared);
  EXPECT_EQ(sum.records, 1827u);
  EXPECT_EQ(sum.scenarios.size(), 10u);
  EXPECT_EQ(sum.aggregates, 26u);
}

TEST(ProtocolGolden, UpstreamChildrenMetricsDecodeToTheModel) {
  const auto lines = readLines(kSample);
  const auto it = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("\"details\"") != std::string::npos && l.find("link flaky") != std::string::npos;
  });
  ASSERT_NE(it, lines.end());
  const auto m = p::decode<p::StatusUpdate>(*it);
  EXPECT_EQ(m.data.name, "vec.monitored.kids");
  EXPECT_EQ(m.data.parent, "launcher.launcher.hBy5X1.vm-process-launcher");
  ASSERT_TRUE(m.data.details.ownStatus.has_value());
  ASSERT_EQ(m.data.details.children.size(), 2u);
  EXPECT_EQ(m.data.details.children[1].name, "link");
  EXPECT_EQ(m.data.details.children[1].status, Status::Degraded);
  EXPECT_EQ(m.data.details.children[1].details.metrics.text(), R"({"reconnects":1})");
  // upstream: the top-level status is the aggregate of own + children.
  std::vector<Status> all{*m.data.details.ownStatus};
  for (const auto& c : m.data.details.children) all.push_back(c.status);
  EXPECT_EQ(m.data.status, p::aggregateStatus(all));
  EXPECT_EQ(m.meta.sender.rfind("Messenger_", 0), 0u);
}

// ---- aggregation -------------------------------------------------------------------------------

TEST(ProtocolAggregation, FollowsUpstreamPrecedence) {
  using S = Status;
  struct Case {
    std::vector<S> in;
    S out;
  };
  const std::vector<Case> cases = {
      {{}, S::Unknown},
      {{S::Ok}, S::Ok},
      {{S::Idle}, S::Idle},
      {{S::Ok, S::Ok}, S::Ok},
      {{S::Ok, S::Idle}, S::Idle},
      {{S::Idle, S::Ok, S::Idle}, S::Idle},
      {{S::Ok, S::Busy}, S::Busy},
      {{S::Idle, S::Busy}, S::Busy},
      {{S::Busy, S::Shutdown}, S::Shutdown},
      {{S::Shutdown, S::Startup}, S::Startup},
      {{S::Startup, S::Degraded}, S::Degraded},
      {{S::Degraded, S::Warning}, S::Warning},  // warning outranks degraded
      {{S::Warning, S::Error}, S::Error},
      {{S::Error, S::Failed}, S::Failed},
      {{S::Ok, S::Idle, S::Busy, S::Degraded, S::Warning, S::Error, S::Shutdown, S::Startup, S::Failed}, S::Failed},
      {{S::Unknown}, S::Warning},
      {{S::Unknown, S::Ok}, S::Warning},
      {{S::Unknown, S::Idle}, S::Warning},
      {{S::Unknown, S::Busy}, S::Busy},
      {{S::Unknown, S::Startup}, S::Startup},
      {{S::Unknown, S::Failed}, S::Failed},
      {{S::Unknown, S::Unknown}, S::Warning},
  };
  for (const auto& c : cases) {
    std::string in;
    for (const auto s : c.in) in += std::string{tcs::toString(s)} + " ";
    EXPECT_EQ(p::aggregateStatus(c.in), c.out) << "[" << in << "]";
  }
  EXPECT_EQ(p::aggregateStatus({S::Idle, S::Ok}), S::Idle);
  // Every single status aggregates to itself, except unknown (→ warning).
  for (int i = 0; i < 10; ++i) {
    const auto s = static_cast<S>(i);
    EXPECT_EQ(p::aggregateStatus({s}), s == S::Unknown ? S::Warning : s);
  }
}

// ---- malformed input ---------------------------------------------------------------------------

namespace {

const std::string kMeta = R"("meta":{"id":"msg","sender":"s","ts":[2026,11,25,17,30,35,22725],"trace_level":10,)"
                          R"("message_type":"","tags":[]})";
const std::string kGoodStatusData = R"({"name":"a.b","status":"ok","timestamp":[2026,11,25,17,30,35,22725],)"
                                    R"("message":"m","pid":1,"hostname":"vm"})";

std::string withData(const std::string& data) {
  return R"({"data":)" + data + "," + kMeta + "}";
}

// kGoodStatusData with one key replaced (or removed when @p value is empty).
std::string statusWith(const std::string& key, const std::string& value) {
  OJson j = OJson::parse(kGoodStatusData);
  if (value.empty())
    j.erase(key);
  else
    j[key] = OJson::parse(value);
  return withData(j.dump());
}

}  // namespace

TEST(ProtocolMalformed, StatusDecodingNamesWhatIsWrong) {
  ASSERT_NO_THROW(p::decode<p::StatusUpdate>(withData(kGoodStatusData)));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "message: not JSON"},
      {"not json", "message: not JSON"},
      {withData(kGoodStatusData) + "x", "not JSON"},
      {"[]", "message: expected a JSON object"},
      {"null", "message: expected a JSON object"},
      {"{}", "message: missing required key 'meta'"},
      {"{" + kMeta + "}", "message: missing required key 'data'"},
      {withData("[]"), "data: expected an object, got array"},
      {withData("\"x\""), "data: expected an object, got string"},
      {withData("null"), "data: expected an object, got null"},
      {R"({"data":{},"meta":"x"})", "meta: expected an object, got string"},
      {R"({"data":{},"meta":{"sender":"s","ts":[2026,1,1,0,0,0,0]}})", "meta: missing required key 'id'"},
      {R"({"data":{},"meta":{"id":"m","sender":"s"}})", "meta: missing required key 'ts'"},
      {R"({"data":{},"meta":{"id":"m","sender":"s","ts":[2026,1,1]}})", "meta.ts: expected at least 7 integers, got 3"},
      {R"({"data":{},"meta":{"id":"m","sender":"s","ts":[2026,1,1,0,0,0,0],"tags":[1]}})",
       "meta.tags[0]: expected a string"},
      {R"({"data":{},"meta":{"id":"m","sender":"s","ts":[2026,1,1,0,0,0,0],"trace_level":"x"}})", "meta.trace_level"},
      {statusWith("name", ""), "data: missing required key 'name'"},
      {statusWith("name", "5"), "data.name: expected a string, got number"},
      {statusWith("status", ""), "data: missing required key 'status'"},
      {statusWith("status", "\"completed\""), "data.status: unknown status value 'completed'"},
      {statusWith("status", "\"OK\""), "data.status: unknown status value 'OK'"},
      {statusWith("status", "null"), "data.status: expected a string, got null"},
      {statusWith("timestamp", ""), "data: missing required key 'timestamp'"},
      {statusWith("timestamp", "[2026,11,25,17,30,35]"), "data.timestamp: expected at least 7 integers, got 6"},
      {statusWith("timestamp", "\"2026-11-25\""), "data.timestamp: expected a timestamp array"},
      {statusWith("timestamp", "[2026,13,25,17,30,35,0]"), "data.timestamp: month 13"},
      {statusWith("pid", ""), "data: missing required key 'pid'"},
      {statusWith("pid", "\"14712\""), "data.pid: expected an integer, got string"},
      {statusWith("pid", "true"), "data.pid: expected an integer, got boolean"},
      {statusWith("pid", "14712.5"), "data.pid: expected an integer, got a fractional"},
      {statusWith("pid", "1e30"), "data.pid: expected an integer, got a fractional or out-of-range number"},
      {statusWith("pid", "99999999999999999999999"), "data.pid: expected an integer"},
      {statusWith("pid", "18446744073709551615"), "data.pid: integer 18446744073709551615 out of range"},
      {statusWith("hostname", "[]"), "data.hostname: expected a string, got array"},
      {statusWith("message", "7"), "data.message: expected a string, got number"},
      {statusWith("parent", "{}"), "data.parent: expected a string, got object"},
      {statusWith("details", "\"x\""), "data.details: expected an object, got string"},
      {statusWith("details", R"({"children":{}})"), "data.details.children: expected an array, got object"},
      {statusWith("details", R"({"children":[7]})"), "data.details.children[0]: expected an object, got number"},
      {statusWith("details", R"({"children":[{"name":"x","timestamp":[2026,1,1,0,0,0,0]}]})"),
       "data.details.children[0]: missing required key 'status'"},
      {statusWith("details",
                  R"({"own_status":"ok","children":[{"name":"x","status":"ok","timestamp":[2026,1,1,0,0,0,0]},)"
                  R"({"name":"y","status":"completed","timestamp":[2026,1,1,0,0,0,0]}]})"),
       "data.details.children[1].status: unknown status value 'completed'"},
      {statusWith("details", R"({"own_status":"fine"})"), "data.details.own_status: unknown status value 'fine'"},
      {statusWith("details", R"({"metrics":[]})"), "data.details.metrics: expected an object, got array"},
      {withData(std::string(100, '[') + std::string(100, ']')), "nested deeper than 64 levels"},
      {withData("{\"name\":\"a\xff\"}"), "not JSON"},
  };
  for (const auto& [body, needle] : cases)
    expectProtocolError([&] { p::decode<p::StatusUpdate>(body); }, needle, body.substr(0, 200));
}

TEST(ProtocolMalformed, OtherPayloadsNameWhatIsWrong) {
  const std::string hb = R"({"service_id":"a.b","timestamp":[2026,1,1,0,0,0,0],"status":"ok")";
  const std::string reg = R"({"service_id":"a.b","timestamp":[2026,1,1,0,0,0,0],"runner_id":"h.a",)";
  const std::vector<std::pair<std::function<void()>, std::string>> cases = {
      {[&] { p::decode<p::Heartbeat>(withData(hb + R"(,"sequence":-1})")); }, "data.sequence: integer -1 out of range"},
      {[&] { p::decode<p::Heartbeat>(withData(hb + R"(,"uptime_seconds":"1"})")); },
       "data.uptime_seconds: expected a number, got string"},
      {[&] { p::decode<p::Heartbeat>(withData(hb + R"(,"next_heartbeat_expected":[1]})")); },
       "data.next_heartbeat_expected: expected at least 7"},
      {[&] { p::decode<p::Heartbeat>(withData(hb + R"(,"metrics":3})")); }, "data.metrics: expected an object"},
      {[&] { p::decode<p::Heartbeat>(withData(R"({"service_id":"a.b","status":"ok"})")); },
       "data: missing required key 'timestamp'"},
      {[&] { p::decode<p::RegistryEvent>(withData(reg + R"("event":"exploded"})")); },
       "data.event: unknown registry event 'exploded'"},
      {[&] { p::decode<p::RegistryEvent>(withData(reg + R"("event":3})")); }, "data.event: expected a string"},
      {[&] { p::decode<p::RegistryEvent>(withData(R"({"event":"declared","service_id":"a.b"})")); },
       "data: missing required key 'timestamp'"},
      {[&] { p::decode<p::RegistryEvent>(withData(reg + R"("event":"declared"})")); },
       "data: missing required key 'restart_policy'"},
      {[&] {
         p::decode<p::RegistryEvent>(withData(
             R"({"event":"declared","service_id":"a.b","timestamp":[2026,1,1,0,0,0,0],"restart_policy":"no"})"));
       },
       "data: missing required key 'runner_id'"},
      {[&] {
         p::decode<p::RegistryEvent>(withData(
             reg + R"("event":"crashed","status":"error","exit_code":1,"restart_policy":"no","will_restart":"yes"})"));
       },
       "data.will_restart: expected true or false, got string"},
      {[&] {
         p::decode<p::RegistryEvent>(
             withData(reg + R"("event":"stop","status":"shutdown","reason":"completed","exit_code":1099511627776})"));
       },
       "data.exit_code: integer 1099511627776 out of range"},
      {[&] {
         p::decode<p::RegistryEvent>(withData(reg + R"("event":"start","status":"started","hostname":"vm","pid":1})"));
       },
       "data.status: unknown status value 'started'"},
      {[&] {
         p::decode<p::RegistryEvent>(
             withData(reg + R"("event":"restarting","status":"startup","restart_attempt":1,"max_restarts":"2"})"));
       },
       "data.max_restarts: expected an integer, got string"},
      {[&] { p::decode<p::LauncherListReply>(withData(R"({"launcher_id":"h","timestamp":[2026,1,1,0,0,0,0]})")); },
       "data: missing required key 'services'"},
      {[&] {
         p::decode<p::LauncherListReply>(
             withData(R"({"launcher_id":"h","timestamp":[2026,1,1,0,0,0,0],"services":[{"service_id":"a.b"}]})"));
       },
       "data.services[0]: missing required key 'status'"},
      {[&] {
         p::decode<p::HealthReply>(withData(R"({"service_id":"a.b","status":"ok","timestamp":[2026,1,1,0,0,0,0]})"));
       },
       "data: missing required key 'checks'"},
      {[&] { p::decode<p::ErrorReply>(withData(R"({"error":"x"})")); }, "data: missing required key 'message'"},
      {[&] { p::decodeData<p::ErrorReply>("[]"); }, "data: expected an object, got array"},
      {[&] { p::decode<p::RpcRequest>(withData("[]")); }, "data: expected an object, got array"},
  };
  for (const auto& [f, needle] : cases) expectProtocolError(f, needle);
  // restarting with max_restarts null means unlimited; absent is read the same way.
  const auto unlimited = p::decode<p::RegistryEvent>(
      withData(reg + R"("event":"restarting","status":"startup","restart_attempt":1,"max_restarts":null})"));
  EXPECT_EQ(std::get<p::RestartingEvent>(unlimited.data.specific).maxRestarts, std::nullopt);
}

TEST(ProtocolMalformed, NullOptionalKeysReadAsAbsentAndUnknownKeysAreIgnored) {
  const auto m = p::decode<p::StatusUpdate>(
      withData(R"({"name":"a.b","status":"ok","timestamp":[2026,1,1,0,0,0,0],"message":null,"parent":null,)"
               R"("details":null,"pid":1,"hostname":"vm","uptime":5,"aggregated":true})"));
  EXPECT_EQ(m.data.message, "");
  EXPECT_EQ(m.data.parent, "");
  EXPECT_TRUE(m.data.details.empty());
}

TEST(ProtocolMalformed, BracketsInsideStringsDoNotCountAsNesting) {
  p::StatusUpdate s;
  s.name = "a.b";
  s.message = std::string(1000, '[') + "\\\"" + std::string(1000, '{');
  expectRoundTrip(s);
  // 60 levels of metrics is still fine.
  std::string deep = "1";
  for (int i = 0; i < 58; ++i) deep = R"({"x":)" + deep + "}";
  EXPECT_NO_THROW(p::decode<p::Heartbeat>(
      withData(R"({"service_id":"a.b","timestamp":[2026,1,1,0,0,0,0],"status":"ok","metrics":)" + deep + "}")));
}

TEST(ProtocolFuzz, TruncatedValidMessagesNeverCrash) {
  std::vector<std::string> bodies;
  for (const auto& e : everyRegistryEvent()) bodies.push_back(p::encode(e, fixedMeta()));
  bodies.push_back(p::encode(sampleStatus(), fixedMeta()));
  bodies.push_back(
      p::encode(p::LauncherListReply{"h", kTs, {{"a.b", "running", 1, "u", "active", "running", 0}}}, fixedMeta()));
  const auto lines = readLines(kSample);
  for (std::size_t i = 0; i < lines.size(); i += 37) bodies.push_back(lines[i]);
  std::size_t attempts = 0;
  for (const auto& body : bodies) {
    for (std::size_t len = 0; len <= body.size(); ++len) {
      ASSERT_NO_FATAL_FAILURE(decodeAsEverything(std::string_view{body}.substr(0, len)));
      ++attempts;
    }
  }
  EXPECT_GT(attempts, 5000u);
}

TEST(ProtocolFuzz, MutatedValidMessagesNeverCrash) {
  std::mt19937 rng(20261125);  // fixed: a failure must reproduce
  static constexpr char kAlphabet[] = "{}[]\",:0123456789-.eE+ tfnulasx\\\x00\xff\x80";
  const std::string alphabet(kAlphabet, sizeof kAlphabet - 1);  // keeps the NUL
  std::vector<std::string> seeds;
  for (const auto& e : everyRegistryEvent()) seeds.push_back(p::encode(e, fixedMeta()));
  seeds.push_back(p::encode(sampleStatus(), fixedMeta()));
  for (const auto& seed : seeds) {
    for (int round = 0; round < 300; ++round) {
      std::string body = seed;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < edits; ++k) {
        const auto pos = rng() % body.size();
        switch (rng() % 3) {
          case 0: body[pos] = alphabet[rng() % alphabet.size()]; break;
          case 1: body.erase(pos, 1 + rng() % 8); break;
          default: body.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
        }
        if (body.empty()) body = "{";
      }
      ASSERT_NO_FATAL_FAILURE(decodeAsEverything(body)) << body;
    }
  }
}

// ---- the hand-written status/heartbeat encoder vs. the nlohmann reference ---------------------

namespace {

// The fast encoder, encode() and the nlohmann reference must agree byte for byte. @return
// whether the fast encoder took the message (false: it asked for the reference path).
template <class T>
bool expectSameBytes(const T& data, const p::Meta& meta, const std::string& context) {
  const std::string reference = p::detail::referenceEncode(data, meta);
  std::string fast = "garbage left from an earlier message";
  const bool took = p::detail::fastEncode(fast, data, meta);
  if (took) {
    EXPECT_EQ(fast, reference) << context;
  }
  EXPECT_EQ(p::encode(data, meta), reference) << context;
  return took;
}

// Strings that exercise every escaping rule: ASCII, quotes, backslashes, all control
// characters, DEL, valid UTF-8 of 2–4 bytes, and (when @p invalid) malformed sequences.
std::string randomString(std::mt19937& rng, bool invalid) {
  static const std::vector<std::string> kValid = {
      "a",      "Z",      "0",      " ",      "\"",         "\\",         "/",
      "\x7f",   "\n",     "\t",     "\b",     "\f",         "\r",         std::string(1, '\0'),
      "\x01",   "\x1f",   "\u00e9", "\u00ff", "\u0100",     "\u07ff",     "\u0800",
      "\u20ac", "\ud7ff", "\ue000", "\uffff", "\U00010000", "\U0001F52D", "\U0010FFFF",
      "\u2028", "zażółć", "ok"};
  static const std::vector<std::string> kInvalid = {"\x80",
                                                    "\xbf",
                                                    "\xc0\x80",
                                                    "\xc1\xbf",
                                                    "\xc2",
                                                    "\xe0\x80\x80",
                                                    "\xe0\xa0",
                                                    "\xed\xa0\x80",
                                                    "\xed\xbf\xbf",
                                                    "\xf0\x80\x80\x80",
                                                    "\xf4\x90\x80\x80",
                                                    "\xf5\x80\x80\x80",
                                                    "\xff",
                                                    "\xfe",
                                                    "\xe2\x82",
                                                    "\xf0\x9f\x94"};
  std::string s;
  const int n = static_cast<int>(rng() % 12);
  for (int i = 0; i < n; ++i) {
    switch (rng() % 4) {
      case 0: s += static_cast<char>(rng() % 128); break;  // any ASCII, control characters included
      case 1:
        if (invalid) {
          s += kInvalid[rng() % kInvalid.size()];
          break;
        }
        [[fallthrough]];
      default: s += kValid[rng() % kValid.size()]; break;
    }
  }
  return s;
}

p::Timestamp randomTimestamp(std::mt19937_64& rng) {
  // Years 1 … 9999, any microsecond.
  using namespace std::chrono;
  const auto lo = sys_days{year{1} / 1 / 1}.time_since_epoch();
  const auto hi = sys_days{year{9999} / 12 / 31}.time_since_epoch();
  const auto span = duration_cast<microseconds>(hi - lo).count();
  return p::Timestamp{duration_cast<microseconds>(lo) + microseconds{static_cast<std::int64_t>(rng() % span)}};
}

double randomDouble(std::mt19937_64& rng) {
  switch (rng() % 8) {
    case 0: return static_cast<double>(rng() % 100000);  // integral: "12.0"
    case 1: return std::ldexp(static_cast<double>(rng() % 1000000), -static_cast<int>(rng() % 60));
    case 2: return std::bit_cast<double>(rng());  // anything, NaN and infinities included
    case 3: return -0.0;
    case 4: return 1e-7 * static_cast<double>(rng() % 1000);
    case 5: return 1e17 * static_cast<double>(rng() % 1000);
    default: return std::uniform_real_distribution<double>(0, 1e6)(rng);
  }
}

p::JsonObject randomMetrics(std::mt19937& rng, std::mt19937_64& rng64, int depth) {
  p::JsonObject o;
  const int n = static_cast<int>(rng() % 5);
  for (int i = 0; i < n; ++i) {
    const std::string key = randomString(rng, false);
    switch (rng() % 7) {
      case 0: o.set(key, nullptr); break;
      case 1: o.set(key, rng() % 2 == 0); break;
      case 2: o.set(key, static_cast<std::int64_t>(rng64())); break;
      case 3: o.set(key, randomDouble(rng64)); break;
      case 4: o.set(key, randomString(rng, rng() % 8 == 0)); break;
      case 5:
        if (depth < 2) {
          o.set(key, randomMetrics(rng, rng64, depth + 1));
          break;
        }
        [[fallthrough]];
      default: o.merge(p::JsonObject::parse(R"({"arr":[1,2.5,"x",null,true,{"k":[]}],"e":1e300})")); break;
    }
  }
  return o;
}

Status randomStatus(std::mt19937& rng) {
  static constexpr Status kAll[] = {Status::Unknown, Status::Startup,  Status::Ok,    Status::Idle,   Status::Busy,
                                    Status::Warning, Status::Degraded, Status::Error, Status::Failed, Status::Shutdown};
  return kAll[rng() % std::size(kAll)];
}

void randomReport(std::mt19937& rng, std::mt19937_64& rng64, p::StatusReport& r, int depth, bool invalid) {
  r.name = randomString(rng, invalid && rng() % 4 == 0);
  r.status = randomStatus(rng);
  r.timestamp = randomTimestamp(rng64);
  r.message = rng() % 3 == 0 ? std::string{} : randomString(rng, invalid && rng() % 2 == 0);
  if (rng() % 2 == 0) r.details.ownStatus = randomStatus(rng);
  if (depth < 3 && rng() % 3 == 0) {
    r.details.children.resize(rng() % 4);
    for (auto& c : r.details.children) randomReport(rng, rng64, c, depth + 1, invalid);
  }
  if (rng() % 2 == 0) r.details.metrics = randomMetrics(rng, rng64, 0);
  if (rng() % 4 == 0) r.parent = randomString(rng, invalid && rng() % 4 == 0);
}

p::Meta randomMeta(std::mt19937& rng, std::mt19937_64& rng64, bool invalid) {
  p::Meta m;
  m.id = rng() % 2 == 0 ? "msg-" + std::to_string(rng64()) : randomString(rng, invalid && rng() % 8 == 0);
  m.sender = rng() % 2 == 0 ? p::MetaGenerator::randomSenderName() : randomString(rng, invalid && rng() % 8 == 0);
  m.ts = randomTimestamp(rng64);
  m.traceLevel = static_cast<int>(rng());
  m.messageType = rng() % 2 == 0 ? std::string{} : randomString(rng, invalid && rng() % 8 == 0);
  m.tags.resize(rng() % 3);
  for (auto& t : m.tags) t = randomString(rng, invalid && rng() % 8 == 0);
  return m;
}

}  // namespace

TEST(ProtocolFastEncoder, UpstreamVectorsEncodeToTheReferenceBytes) {
  ASSERT_TRUE(std::filesystem::exists(kShared)) << kShared << " is committed (tests/libtcs/vectors)";
  std::vector<std::filesystem::path> files{kSample, kShared};
  std::size_t compared = 0;
  for (const auto& file : files) {
    const auto lines = readLines(file);
    for (std::size_t n = 0; n < lines.size(); ++n) {
      const std::string where = file.filename().string() + ":" + std::to_string(n + 1);
      const auto s = p::parseSubject("svc", OJson::parse(lines[n]).at("subject").get<std::string>());
      if (s.kind == p::SubjectKind::Status) {
        const auto m = p::decode<p::StatusUpdate>(lines[n]);
        EXPECT_TRUE(expectSameBytes(m.data, m.meta, where)) << where;
        ++compared;
      } else if (s.kind == p::SubjectKind::Heartbeat) {
        const auto m = p::decode<p::Heartbeat>(lines[n]);
        EXPECT_TRUE(expectSameBytes(m.data, m.meta, where)) << where;
        ++compared;
      }
    }
  }
  EXPECT_GE(compared, 150u);
}

TEST(ProtocolFastEncoder, TimestampsWithinOneSecondAndAcrossSecondsEncodeToTheReferenceBytes) {
  // The encoder keeps the text of the first six fields of the last second it wrote: same
  // second (cache hit), the next microsecond and second, back again, midnight, before 1970.
  const auto base = p::Timestamp{std::chrono::microseconds{1795642000123456}};
  const std::vector<p::Timestamp> times = {base,
                                           base + std::chrono::microseconds(1),
                                           base + std::chrono::microseconds(876543),
                                           base + std::chrono::seconds(1),
                                           base,
                                           p::Timestamp{std::chrono::microseconds{1795651199999999}},
                                           p::Timestamp{std::chrono::microseconds{1795651200000000}},
                                           p::Timestamp{std::chrono::microseconds{-1}},
                                           p::Timestamp{std::chrono::microseconds{-1000001}},
                                           p::Timestamp{std::chrono::microseconds{0}}};
  for (std::size_t i = 0; i < times.size(); ++i) {
    p::Heartbeat h;
    h.serviceId = "a.b";
    h.timestamp = times[i];
    p::Meta m;
    m.id = "msg";
    m.ts = times[i];
    EXPECT_TRUE(expectSameBytes(h, m, "time #" + std::to_string(i))) << "time #" << i;
  }
}

TEST(ProtocolFastEncoder, RandomValidPayloadsEncodeToTheReferenceBytes) {
  std::mt19937 rng(4242);  // fixed: a failure must reproduce
  std::mt19937_64 rng64(4243);
  for (int i = 0; i < 3000; ++i) {
    const std::string where = "status #" + std::to_string(i);
    p::StatusUpdate s;
    randomReport(rng, rng64, s, 0, false);
    s.pid = static_cast<std::int64_t>(rng64());
    s.hostname = randomString(rng, false);
    EXPECT_TRUE(expectSameBytes(s, randomMeta(rng, rng64, false), where)) << where;

    p::Heartbeat h;
    h.serviceId = randomString(rng, false);
    h.timestamp = randomTimestamp(rng64);
    h.status = randomStatus(rng);
    if (rng() % 2 == 0) h.sequence = rng() % 2 == 0 ? rng64() : rng() % 100;
    if (rng() % 2 == 0) h.uptimeSeconds = randomDouble(rng64);
    if (rng() % 2 == 0) h.nextHeartbeatExpected = randomTimestamp(rng64);
    if (rng() % 2 == 0) h.metrics = randomMetrics(rng, rng64, 0);
    EXPECT_TRUE(expectSameBytes(h, randomMeta(rng, rng64, false), "heartbeat #" + std::to_string(i)));
  }
}

TEST(ProtocolFastEncoder, InvalidUtf8TakesTheReferencePathAndIsReplaced) {
  std::mt19937 rng(777);
  std::mt19937_64 rng64(778);
  int fallbacks = 0;
  for (int i = 0; i < 3000; ++i) {
    p::StatusUpdate s;
    randomReport(rng, rng64, s, 0, true);
    s.pid = static_cast<std::int64_t>(rng64() % 100000);
    s.hostname = randomString(rng, rng() % 4 == 0);
    const auto meta = randomMeta(rng, rng64, true);
    if (!expectSameBytes(s, meta, "status #" + std::to_string(i))) ++fallbacks;

    p::Heartbeat h;
    h.serviceId = randomString(rng, true);
    h.timestamp = randomTimestamp(rng64);
    if (!expectSameBytes(h, meta, "heartbeat #" + std::to_string(i))) ++fallbacks;
  }
  EXPECT_GT(fallbacks, 1000);  // the invalid strings did reach the fallback
  // One by hand: a lone continuation byte becomes U+FFFD, the rest is kept.
  p::StatusUpdate s;
  s.name = "a\x80z";
  s.hostname = "h";
  EXPECT_NE(p::encode(s, fixedMeta()).find("\"a\xef\xbf\xbdz\""), std::string::npos);
}

TEST(ProtocolFastEncoder, EncodeStatusIntoWritesWhatEncodeWritesAndReplacesTheBuffer) {
  auto s = sampleStatus();
  std::string out = "old content that must go";
  p::encodeStatusInto(out, s, s.parent, s.pid, s.hostname, fixedMeta());
  EXPECT_EQ(out, p::encode(s, fixedMeta()));
  const auto* storage = out.data();
  p::encodeStatusInto(out, s, s.parent, s.pid, s.hostname, fixedMeta());
  EXPECT_EQ(out.data(), storage);  // a warm buffer is reused, not reallocated
  // Invalid UTF-8 takes the general encoder and is replaced, as encode() does.
  s.message = "bad \xff byte";
  p::encodeStatusInto(out, s, s.parent, s.pid, s.hostname, fixedMeta());
  EXPECT_EQ(out, p::encode(s, fixedMeta()));
  EXPECT_NE(out.find("bad \xef\xbf\xbd byte"), std::string::npos);
}

TEST(ProtocolFastEncoder, MonitorEntryPointMatchesTheStatusUpdate) {
  auto s = sampleStatus();
  std::string out;
  ASSERT_TRUE(p::detail::fastEncodeStatus(out, s, s.parent, s.pid, s.hostname, fixedMeta()));
  EXPECT_EQ(out, p::detail::referenceEncode(s, fixedMeta()));
}
