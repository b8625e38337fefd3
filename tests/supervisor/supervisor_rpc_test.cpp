// SPDX-License-Identifier: MIT
// Unit tests of the supervisor's NATS side (supervisor/supervisor.hpp) over a fake systemd
// (ISystemdManager) and a recording NATS transport: declared events, registry events on the
// right subjects, and the launcher RPC — list, start/stop/restart/reset-failed/logs of
// configured services only, errors for everything else, reload.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "fakes.hpp"
#include "sdbus_systemd_manager.hpp"
#include "supervisor.hpp"
#include "tcs/protocol.hpp"
#include "temp_dir.hpp"
#include "wait_until.hpp"

namespace {

using namespace std::chrono_literals;
using tcs::supervisor::JobRemoved;
using tcs::supervisor::PropertyChange;
using tcs::supervisor::Supervisor;
using tcs::supervisor::SupervisorOptions;
using tcs::supervisor::SystemdCallbacks;
using tcs::supervisor::SystemdError;
using tcs::supervisor::UnitListEntry;
using tcs::supervisor::UnitSnapshot;
using tcs::test::TempDir;
using tcs::test::waitUntil;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;
using tcs::supervisor::test::FakeJournal;
using tcs::supervisor::test::FakeSystemd;
using tcs::supervisor::test::RecordingNats;
namespace p = tcs::protocol;

constexpr const char* kConfig = R"(nats: {host: 127.0.0.1, port: 4222}
registry:
  hello_world: ~
  test.crash: ~
services:
  - {type: hello_world, variant: main, restart: on-failure, restart_max: 3}
  - {type: test.crash, variant: once, restart: "no"}
)";

class ASupervisor : public ::testing::Test {
 protected:
  void SetUp() override { configPath = dir.write("services.yaml", kConfig); }
  std::unique_ptr<Supervisor> make(std::optional<tcs::config::NatsConfig> natsConnectedWith = std::nullopt) {
    SupervisorOptions o;
    o.heartbeatWatch = heartbeatWatch;
    o.natsConnectedWith = std::move(natsConnectedWith);
    o.configPath = configPath;
    o.launcherId = "vm-systemd-launcher";
    o.hostname = "vm.example";
    o.jobTimeout = 300ms;
    return std::make_unique<Supervisor>(o, systemd, &nats, &journal);
  }
  Json rpc(Supervisor& s, const std::string& tail, const std::string& body = "") {
    return Json::parse(s.handleRpc("svc.rpc.launcher.vm-systemd-launcher.v1." + tail, body));
  }

  // A status message of hello_world.main from a process (a copy on @p host when not vm.example).
  void deliverStatus(const std::string& host, std::int64_t pid, const std::string& sender) {
    p::Meta meta;
    meta.id = "msg";
    meta.sender = sender;
    meta.ts = p::now();
    p::StatusUpdate u;
    u.name = "hello_world.main";
    u.status = tcs::Status::Ok;
    u.timestamp = p::now();
    u.pid = pid;
    u.hostname = host;
    u.parent = host == "vm.example" ? "launcher.vm-systemd-launcher" : "launcher.other-systemd-launcher";
    nats.deliverTo("svc.status.hello_world.main", p::encode(u, meta));
  }

  // A heartbeat of hello_world.main from the process that sends as @p sender.
  void deliverHeartbeat(const std::string& sender) {
    p::Meta meta;
    meta.id = "msg";
    meta.sender = sender;
    meta.ts = p::now();
    p::Heartbeat h;
    h.serviceId = "hello_world.main";
    h.timestamp = p::now();
    h.status = tcs::Status::Ok;
    nats.deliverTo("svc.heartbeat.hello_world.main", p::encode(h, meta));
  }
  // Started with a 100 ms heartbeat window; hello_world.main's unit runs (pid 321) and has
  // spoken; the window its start opened is over.
  std::unique_ptr<Supervisor> startWithItsUnitRunningAndNoHeartbeatWindow() {
    heartbeatWatch = 100ms;
    auto s = make();
    s->start();
    mainPidIs(321);
    deliverStatus("vm.example", 321, "Messenger_local");
    EXPECT_TRUE(waitUntil([&] { return s->watchingHeartbeats(); }, 5s));
    EXPECT_TRUE(waitUntil([&] { return !s->watchingHeartbeats(); }, 5s));
    return s;
  }
  // systemd says: hello_world.main's unit runs with main PID @p pid.
  void mainPidIs(std::uint64_t pid) {
    systemd.callbacks.propertiesChanged(PropertyChange{"tcs@hello_world:main.service",
                                                       "/u",
                                                       std::string(tcs::supervisor::kServiceInterface),
                                                       {{"MainPID", pid}, {"ExecMainPID", pid}},
                                                       {}});
  }

  TempDir dir;
  std::filesystem::path configPath;
  std::chrono::milliseconds heartbeatWatch{std::chrono::seconds(40)};
  FakeSystemd systemd;
  RecordingNats nats;
  FakeJournal journal;
};

p::LogEntry logEntry(const std::string& message, const std::string& cursor) {
  return p::LogEntry{p::Timestamp{std::chrono::seconds(1'700'000'000)}, 6, "hello_world", 412, message, cursor};
}

TEST_F(ASupervisor, DeclaresEveryConfiguredServiceAndServesItsRpcSubject) {
  auto s = make();
  s->start();
  EXPECT_TRUE(systemd.subscribed);
  const auto declared = nats.registry("declared");
  ASSERT_EQ(declared.size(), 2U);
  EXPECT_EQ(declared[0].at("service_id"), "hello_world.main");
  EXPECT_EQ(declared[0].at("restart_policy"), "on-failure");
  EXPECT_EQ(declared[0].at("parent"), "launcher.vm-systemd-launcher");
  EXPECT_EQ(declared[0].at("runner_id"), "vm-systemd-launcher.hello_world");
  EXPECT_EQ(declared[1].at("service_id"), "test.crash.once");
  // The RPC, and every status and (for a while) heartbeat (duplicate instances of its services):
  // wildcard subscriptions whatever the number of services, not a nats.c delivery thread per service.
  ASSERT_TRUE(waitUntil([&] { return s->watchingHeartbeats(); }, 5s));
  EXPECT_THAT(nats.subscriptions,
              ElementsAre("svc.rpc.launcher.vm-systemd-launcher.v1.>", "svc.status.>", "svc.heartbeat.>"));
}

// Heartbeats are ten times as many messages as statuses, and each woke the supervisor (0.245 %
// idle CPU with 200 services): heard only while they can reveal a second copy.
TEST_F(ASupervisor, HearsHeartbeatsOnlyForAWhileAfterItStartsOrAUnitGetsANewMainProcess) {
  heartbeatWatch = 150ms;
  auto s = make();
  s->start();
  ASSERT_TRUE(waitUntil([&] { return s->watchingHeartbeats(); }, 5s));  // copies that ran before it
  ASSERT_TRUE(waitUntil([&] { return !s->watchingHeartbeats(); }, 5s));
  // Its unit is stopped: the service running on another (standby) host is no reason.
  deliverStatus("other.example", 999, "Messenger_other");
  EXPECT_FALSE(waitUntil([&] { return s->watchingHeartbeats(); }, 300ms));
  mainPidIs(321);
  ASSERT_TRUE(waitUntil([&] { return s->watchingHeartbeats(); }, 5s));  // a copy elsewhere that runs already
  ASSERT_TRUE(waitUntil([&] { return !s->watchingHeartbeats(); }, 5s));
  // The unit's own process saying something is no reason; another one is.
  deliverStatus("vm.example", 321, "Messenger_local");
  EXPECT_FALSE(waitUntil([&] { return s->watchingHeartbeats(); }, 300ms));
  deliverStatus("other.example", 999, "Messenger_other");
  EXPECT_TRUE(waitUntil([&] { return s->watchingHeartbeats(); }, 5s));
  s->stop();
  EXPECT_FALSE(s->watchingHeartbeats());
}

TEST_F(ASupervisor, FindsASecondCopyOnItsHostByTheUnitsNextHeartbeatOnceItSpoke) {
  auto s = startWithItsUnitRunningAndNoHeartbeatWindow();
  ASSERT_FALSE(s->watchingHeartbeats());
  // Started by hand on the same host after the unit's last message: no overlap seen yet...
  deliverStatus("vm.example", 555, "Messenger_by_hand");
  EXPECT_TRUE(nats.registry("duplicate").empty());
  // ...but its status opens the window, and the unit's next heartbeat shows both alive.
  ASSERT_TRUE(waitUntil([&] { return s->watchingHeartbeats(); }, 5s));
  deliverHeartbeat("Messenger_local");
  const auto dup = nats.registry("duplicate");
  ASSERT_EQ(dup.size(), 1U);
  EXPECT_EQ(dup[0].at("hosts"),
            Json::parse(R"([{"hostname":"vm.example","pid":321,"launcher":"launcher.vm-systemd-launcher"},
      {"hostname":"vm.example","pid":555,"launcher":"launcher.vm-systemd-launcher"}])"));
}

TEST_F(ASupervisor, KeepsHearingHeartbeatsWhileAConflictLasts) {
  auto s = startWithItsUnitRunningAndNoHeartbeatWindow();
  ASSERT_FALSE(s->watchingHeartbeats());
  deliverStatus("other.example", 999, "Messenger_other");  // alive elsewhere while the unit runs
  ASSERT_TRUE(waitUntil([&] { return s->watchingHeartbeats(); }, 5s));
  ASSERT_EQ(nats.registry("duplicate").size(), 1U);
  // Only a message can find the conflict over: heard for many windows.
  EXPECT_FALSE(waitUntil([&] { return !s->watchingHeartbeats(); }, 600ms));
}

TEST_F(ASupervisor, PublishesOneDuplicateEventWhenItsServiceIsAliveOnAnotherHost) {
  auto s = make();
  s->start();
  systemd.callbacks.propertiesChanged(PropertyChange{"tcs@hello_world:main.service",
                                                     "/u",
                                                     std::string(tcs::supervisor::kServiceInterface),
                                                     {{"MainPID", std::uint64_t{321}},
                                                      {"ExecMainPID", std::uint64_t{321}},
                                                      {"ExecMainStartTimestamp", std::uint64_t{1795000000000000}}},
                                                     {}});
  ASSERT_TRUE(waitUntil([&] { return s->watchingHeartbeats(); }, 5s));
  const auto send = [&](const std::string& host, std::int64_t pid, const std::string& sender, bool heartbeat) {
    heartbeat ? deliverHeartbeat(sender) : deliverStatus(host, pid, sender);
  };
  send("vm.example", 321, "Messenger_local", false);
  send("vm.example", 321, "Messenger_local", true);
  EXPECT_TRUE(nats.registry("duplicate").empty());
  {  // the wildcard brings other services' and launchers' statuses too: not its business
    p::StatusUpdate u;
    u.name = "cam.elsewhere";
    u.status = tcs::Status::Ok;
    u.timestamp = p::now();
    u.pid = 4;
    u.hostname = "other.example";
    nats.deliverTo("svc.status.cam.elsewhere", p::encode(u, p::processMetaGenerator().next()));
    nats.deliverTo("svc.status.launcher.other-systemd-launcher", "{}");
    EXPECT_TRUE(nats.registry("duplicate").empty());
  }
  send("other.example", 999, "Messenger_other", false);  // alive on another host too
  send("other.example", 999, "Messenger_other", true);
  send("vm.example", 321, "Messenger_local", true);
  const auto dup = nats.registry("duplicate");
  ASSERT_EQ(dup.size(), 1U);  // once per episode, not per heartbeat
  EXPECT_EQ(dup[0].at("service_id"), "hello_world.main");
  EXPECT_EQ(dup[0].at("runner_id"), "vm-systemd-launcher.hello_world");
  EXPECT_EQ(dup[0].at("status"), "warning");
  EXPECT_EQ(dup[0].at("parent"), "launcher.vm-systemd-launcher");
  EXPECT_EQ(dup[0].at("hosts"),
            Json::parse(R"([{"hostname":"vm.example","pid":321,"launcher":"launcher.vm-systemd-launcher"},
      {"hostname":"other.example","pid":999,"launcher":"launcher.other-systemd-launcher"}])"));
  const auto subjects = nats.sent();
  EXPECT_TRUE(std::any_of(subjects.begin(), subjects.end(),
                          [](const auto& m) { return m.first == "svc.registry.duplicate.hello_world.main"; }));
}

TEST_F(ASupervisor, TakesTheStateOfLoadedUnitsSilently) {
  systemd.loaded = {
      {"tcs@hello_world:main.service", "", "loaded", "active", "running", "/org/freedesktop/systemd1/unit/x", 0},
      {"tcs@other:thing.service", "", "loaded", "active", "running", "/o", 0}};
  auto s = make();
  s->start();
  EXPECT_THAT(systemd.requested, ElementsAre("tcs@hello_world:main.service"));  // only configured units
  EXPECT_TRUE(nats.registry("start").empty());
}

TEST_F(ASupervisor, PublishesTheTrackersEventsOnTheRegistrySubjects) {
  auto s = make();
  s->start();
  // A start as systemd reports it: Service interface first, then Unit.
  PropertyChange svc{"tcs@hello_world:main.service",
                     "/u",
                     std::string(tcs::supervisor::kServiceInterface),
                     {{"MainPID", std::uint64_t{321}},
                      {"ExecMainPID", std::uint64_t{321}},
                      {"ExecMainStartTimestamp", std::uint64_t{1795000000000000}},
                      {"Restart", std::string("on-failure")}},
                     {}};
  PropertyChange unit{"tcs@hello_world:main.service",
                      "/u",
                      std::string(tcs::supervisor::kUnitInterface),
                      {{"ActiveState", std::string("activating")},
                       {"SubState", std::string("start")},
                       {"StateChangeTimestamp", std::uint64_t{1795000000000100}}},
                      {}};
  systemd.callbacks.propertiesChanged(svc);
  systemd.callbacks.propertiesChanged(unit);
  const auto starts = nats.registry("start");
  ASSERT_EQ(starts.size(), 1U);
  EXPECT_EQ(starts[0].at("pid"), 321);
  EXPECT_EQ(starts[0].at("hostname"), "vm.example");
  // a tcs@ unit that is not configured is ignored
  svc.unit = unit.unit = "tcs@other:thing.service";
  systemd.callbacks.propertiesChanged(svc);
  systemd.callbacks.propertiesChanged(unit);
  EXPECT_EQ(nats.registry("start").size(), 1U);
}

TEST_F(ASupervisor, ListsEveryConfiguredService) {
  auto s = make();
  s->start();
  const auto r = rpc(*s, "list");
  EXPECT_EQ(r.at("meta").at("message_type"), "rpc");
  EXPECT_EQ(r.at("data").at("launcher_id"), "vm-systemd-launcher");
  const auto& services = r.at("data").at("services");
  ASSERT_EQ(services.size(), 2U);
  EXPECT_EQ(services[0].at("service_id"), "hello_world.main");
  EXPECT_EQ(services[0].at("unit"), "tcs@hello_world:main.service");
  EXPECT_EQ(services[0].at("status"), "stopped");
  EXPECT_EQ(services[0].at("n_restarts"), 0);
}

TEST_F(ASupervisor, StartsStopsAndRestartsAConfiguredServiceAndRepliesAfterTheJob) {
  auto s = make();
  s->start();
  auto r = rpc(*s, "start.hello_world.main");
  EXPECT_EQ(r.at("data").at("result"), "started");
  EXPECT_EQ(r.at("data").at("pid"), 4711);
  EXPECT_EQ(r.at("data").at("service_id"), "hello_world.main");
  r = rpc(*s, "restart.hello_world.main", "{}");
  EXPECT_EQ(r.at("data").at("result"), "restarted");
  r = rpc(
      *s, "stop.hello_world.main",
      R"({"data":{},"meta":{"id":"msg","sender":"x","ts":[2026,1,1,0,0,0,0],"trace_level":10,"message_type":"rpc","tags":[]}})");
  EXPECT_EQ(r.at("data").at("result"), "stopped");
  EXPECT_FALSE(r.at("data").contains("pid"));
  r = rpc(*s, "reset-failed.test.crash.once");
  EXPECT_EQ(r.at("data").at("result"), "reset");
  EXPECT_THAT(systemd.calls(),
              ElementsAre("start tcs@hello_world:main.service", "restart tcs@hello_world:main.service",
                          "stop tcs@hello_world:main.service", "reset-failed tcs@test.crash:once.service"));
}

TEST_F(ASupervisor, RefusesAnythingThatIsNotAConfiguredService) {
  auto s = make();
  s->start();
  for (const auto* target :
       {"stop.ssh.service", "start.nope.main", "restart.hello_world.other", "reset-failed.ssh.service"}) {
    const auto r = rpc(*s, target);
    EXPECT_EQ(r.at("data").at("error"), "unknown_service") << target;
    EXPECT_THAT(r.at("data").at("message").get<std::string>(), HasSubstr("not a configured tcs service")) << target;
  }
  EXPECT_TRUE(systemd.calls().empty()) << "systemd must not even be asked";
}

TEST_F(ASupervisor, AnswersBadRequestsWithErrorsNeverThrowing) {
  auto s = make();
  s->start();
  EXPECT_EQ(rpc(*s, "frobnicate").at("data").at("error"), "unknown_command");
  EXPECT_EQ(rpc(*s, "start").at("data").at("error"), "unknown_command");  // needs a service id
  EXPECT_EQ(rpc(*s, "list.extra").at("data").at("error"), "unknown_command");
  EXPECT_EQ(rpc(*s, "health").at("data").at("error"), "unknown_command");
  EXPECT_EQ(rpc(*s, "list", "[1,2]").at("data").at("error"), "bad_request");
  EXPECT_EQ(rpc(*s, "list", "{not json").at("data").at("error"), "bad_request");
  const auto other = Json::parse(s->handleRpc("svc.rpc.launcher.other-host-systemd-launcher.v1.list", ""));
  EXPECT_EQ(other.at("data").at("error"), "bad_request");
  const auto garbage = Json::parse(s->handleRpc("not.even.a.subject", ""));
  EXPECT_EQ(garbage.at("data").at("error"), "bad_request");
}

TEST_F(ASupervisor, ReportsAFailedJobARefusedCallAndAJobThatDoesNotFinish) {
  auto s = make();
  s->start();
  systemd.jobResult = "failed";
  auto r = rpc(*s, "start.hello_world.main");
  EXPECT_EQ(r.at("data").at("error"), "action_failed");
  EXPECT_THAT(r.at("data").at("message").get<std::string>(), HasSubstr("'failed'"));
  systemd.jobResult = "";  // never finishes: the reply says so after jobTimeout
  r = rpc(*s, "stop.hello_world.main");
  EXPECT_EQ(r.at("data").at("error"), "action_failed");
  EXPECT_THAT(r.at("data").at("message").get<std::string>(), HasSubstr("timeout"));
  systemd.refuse = true;
  r = rpc(*s, "restart.hello_world.main");
  EXPECT_EQ(r.at("data").at("error"), "action_failed");
  EXPECT_THAT(r.at("data").at("message").get<std::string>(), HasSubstr("AccessDenied"));
}

TEST_F(ASupervisor, AnswersAListWhileAStartStillWaitsForItsJob) {
  auto s = make();
  s->start();
  systemd.jobResult = "";  // the start job never finishes: its reply comes after jobTimeout (300 ms)
  nats.deliver("svc.rpc.launcher.vm-systemd-launcher.v1.start.hello_world.main", "_INBOX.start");
  nats.deliver("svc.rpc.launcher.vm-systemd-launcher.v1.list", "_INBOX.list");
  ASSERT_TRUE(waitUntil([&] { return nats.replyIndex("_INBOX.start") >= 0; }, 5s));
  const int list = nats.replyIndex("_INBOX.list");
  ASSERT_GE(list, 0);
  EXPECT_LT(list, nats.replyIndex("_INBOX.start")) << "the list waited for the start's job";
}

TEST_F(ASupervisor, AnswersAListWhileEveryOtherWorkerWaitsForAJob) {
  // Five start/stop requests whose jobs never finish (each answered after jobTimeout, 300 ms):
  // at most three workers wait for jobs, so the list, sent after them, is answered first.
  auto s = make();
  s->start();
  systemd.jobResult = "";
  for (int i = 0; i < 5; ++i)
    nats.deliver(fmt::format("svc.rpc.launcher.vm-systemd-launcher.v1.{}.hello_world.main", i % 2 ? "stop" : "start"),
                 fmt::format("_INBOX.job{}", i));
  nats.deliver("svc.rpc.launcher.vm-systemd-launcher.v1.list", "_INBOX.list");
  ASSERT_TRUE(waitUntil([&] { return nats.replyIndex("_INBOX.job4") >= 0; }, 10s));
  const int list = nats.replyIndex("_INBOX.list");
  ASSERT_GE(list, 0);
  for (int i = 0; i < 5; ++i)
    EXPECT_LT(list, nats.replyIndex(fmt::format("_INBOX.job{}", i))) << "the list waited for job " << i;
  // … and the jobs were answered in the order they came.
  for (int i = 1; i < 3; ++i)
    EXPECT_LT(nats.replyIndex(fmt::format("_INBOX.job{}", i - 1)), nats.replyIndex(fmt::format("_INBOX.job{}", i + 2)));
}

TEST_F(ASupervisor, StoppingAnswersRequestsThatWaitForAJob) {
  SupervisorOptions o;
  o.configPath = configPath;
  o.launcherId = "vm-systemd-launcher";
  o.jobTimeout = 60s;
  Supervisor s(o, systemd, &nats);
  s.start();
  systemd.jobResult = "";
  nats.deliver("svc.rpc.launcher.vm-systemd-launcher.v1.restart.hello_world.main", "_INBOX.r");
  ASSERT_TRUE(waitUntil([&] { return !systemd.calls().empty(); }, 5s));
  const auto t0 = std::chrono::steady_clock::now();
  s.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  const int i = nats.replyIndex("_INBOX.r");
  ASSERT_GE(i, 0);
  EXPECT_EQ(nats.sent()[static_cast<std::size_t>(i)].second.at("data").at("error"), "action_failed");
}

TEST_F(ASupervisor, ReloadReadsTheConfigAgainStartsNewServicesAndDeclaresThemAll) {
  auto s = make();
  s->start();
  dir.write("services.yaml", std::string(kConfig) +
                                 "  - {type: hello_world, variant: added}\n"
                                 "  - {type: hello_world, variant: spare, enabled: false}\n");
  const auto r = rpc(*s, "reload");
  EXPECT_EQ(r.at("data").at("result"), "reloaded");
  EXPECT_EQ(r.at("data").at("declared"),
            Json::parse(R"(["hello_world.added","hello_world.main","hello_world.spare","test.crash.once"])"));
  EXPECT_TRUE(r.at("data").at("errors").empty());
  EXPECT_THAT(systemd.calls(), ElementsAre("daemon-reload", "start tcs@hello_world:added.service"));
  EXPECT_EQ(nats.registry("declared").size(), 2U + 4U);
  // now controllable
  EXPECT_EQ(rpc(*s, "stop.hello_world.added").at("data").at("result"), "stopped");
}

// A reload re-reads every loaded unit (daemon-reload may change its Restart=). The GetAll reply
// may already show a change whose signal comes later (systemd defers its signals while its bus
// is busy): taken as a fresh state, the change would never be reported.
TEST_F(ASupervisor, ComparesTheUnitsItFollowsWithWhatSystemdSaysAfterAReload) {
  systemd.loaded = {{"tcs@hello_world:main.service", "", "loaded", "active", "running", "/u", 0}};
  auto s = make();
  s->start();
  using Origin = PropertyChange::Origin;
  EXPECT_THAT(systemd.requestedOrigins, ElementsAre(Origin::Snapshot));
  const auto deliver = [&](Origin origin, std::map<std::string, tcs::supervisor::PropertyValue> service,
                           std::map<std::string, tcs::supervisor::PropertyValue> unit) {
    systemd.callbacks.propertiesChanged(PropertyChange{"tcs@hello_world:main.service",
                                                       "/u",
                                                       std::string(tcs::supervisor::kServiceInterface),
                                                       std::move(service),
                                                       {},
                                                       origin});
    systemd.callbacks.propertiesChanged(PropertyChange{"tcs@hello_world:main.service",
                                                       "/u",
                                                       std::string(tcs::supervisor::kUnitInterface),
                                                       std::move(unit),
                                                       {},
                                                       origin});
  };
  deliver(Origin::Snapshot,
          {{"MainPID", std::uint64_t{321}},
           {"ExecMainPID", std::uint64_t{321}},
           {"ExecMainStartTimestamp", std::uint64_t{1795000000000000}},
           {"Result", std::string("success")}},
          {{"ActiveState", std::string("active")},
           {"SubState", std::string("running")},
           {"StateChangeTimestamp", std::uint64_t{1795000000100000}}});
  EXPECT_TRUE(nats.registry("crashed").empty());
  EXPECT_EQ(rpc(*s, "reload").at("data").at("result"), "reloaded");
  EXPECT_THAT(systemd.requestedOrigins, ElementsAre(Origin::Snapshot, Origin::Refresh));
  // The reply: it died meanwhile (no restart: Restart=no) — reported, and once.
  const std::map<std::string, tcs::supervisor::PropertyValue> died{{"MainPID", std::uint64_t{0}},
                                                                   {"ExecMainCode", std::int64_t{2}},
                                                                   {"ExecMainStatus", std::int64_t{9}},
                                                                   {"Result", std::string("signal")},
                                                                   {"Restart", std::string("no")}};
  const std::map<std::string, tcs::supervisor::PropertyValue> failed{
      {"ActiveState", std::string("failed")},
      {"SubState", std::string("failed")},
      {"StateChangeTimestamp", std::uint64_t{1795000005000000}}};
  deliver(Origin::Refresh, died, failed);
  ASSERT_EQ(nats.registry("crashed").size(), 1U);
  EXPECT_EQ(nats.registry("crashed")[0].at("exit_code"), -9);
  deliver(Origin::Signal, died, failed);  // the signal, late
  EXPECT_EQ(nats.registry("crashed").size(), 1U);
}

TEST_F(ASupervisor, ReloadReportsConfigErrorsAndKeepsTheValidServices) {
  auto s = make();
  s->start();
  dir.write("services.yaml", std::string(kConfig) + "  - {type: hello_world, variant: bad, restart: sometimes}\n");
  const auto r = rpc(*s, "reload");
  ASSERT_EQ(r.at("data").at("errors").size(), 1U);
  EXPECT_THAT(r.at("data").at("errors")[0].get<std::string>(), HasSubstr("restart"));
  EXPECT_EQ(r.at("data").at("declared").size(), 2U);
  dir.write("services.yaml", "services: [");  // unparsable: the old config stays in force
  EXPECT_EQ(rpc(*s, "reload").at("data").at("error"), "action_failed");
  EXPECT_EQ(rpc(*s, "list").at("data").at("services").size(), 2U);
}

TEST_F(ASupervisor, KeepsTheNatsSectionItsConnectionWasMadeFromWhenTheFileChangedMeanwhile) {
  // Found by the chaos soak: main.cpp read a config without nats: (being rewritten), so no
  // connection was made; by the time the supervisor read the file it had one. A reload of that
  // same file must still say that the nats: section differs from what the process runs with.
  tcs::config::NatsConfig none;  // present = false
  auto s = make(none);
  s->start();
  const auto r = rpc(*s, "reload");
  ASSERT_EQ(r.at("data").at("errors").size(), 1U);
  EXPECT_THAT(r.at("data").at("errors")[0].get<std::string>(), HasSubstr("nats: section changed"));
}

TEST_F(ASupervisor, ReloadSaysAChangedNatsSectionNeedsARestartAndAppliesTheRest) {
  auto s = make();
  s->start();
  std::string changed(kConfig);
  changed.replace(changed.find("port: 4222"), 10, "port: 4223");
  dir.write("services.yaml", changed + "  - {type: hello_world, variant: added}\n");
  const auto r = rpc(*s, "reload");
  ASSERT_EQ(r.at("data").at("errors").size(), 1U);
  EXPECT_THAT(r.at("data").at("errors")[0].get<std::string>(),
              AllOf(HasSubstr("nats: section changed"), HasSubstr("systemctl restart tcs-supervisor")));
  EXPECT_EQ(r.at("data").at("declared").size(), 3U);  // the services are applied all the same
  // Only `required` differs: the supervisor never waits for NATS, so nothing to restart for.
  std::string same(kConfig);
  same.replace(same.find("port: 4222"), 10, "port: 4222, required: false");
  dir.write("services.yaml", same);
  EXPECT_TRUE(rpc(*s, "reload").at("data").at("errors").empty());
}

TEST(DecodeUnitPath, TurnsSystemdsObjectPathLabelsBackIntoUnitNames) {
  using tcs::supervisor::decodeUnitPath;
  EXPECT_EQ(decodeUnitPath("/org/freedesktop/systemd1/unit/tcs_40hello_5fworld_3amain_2eservice"),
            "tcs@hello_world:main.service");
  EXPECT_EQ(decodeUnitPath("/org/freedesktop/systemd1/unit/_2d_2emount"), "-.mount");
  EXPECT_EQ(decodeUnitPath("/org/freedesktop/systemd1/unit/ssh_2eservice"), "ssh.service");
  EXPECT_EQ(decodeUnitPath("/org/freedesktop/systemd1/job/42"), std::nullopt);
  EXPECT_EQ(decodeUnitPath("/org/freedesktop/systemd1/unit/bad_4"), std::nullopt);
  EXPECT_EQ(decodeUnitPath("/org/freedesktop/systemd1/unit/bad_zz"), std::nullopt);
  EXPECT_EQ(decodeUnitPath("/org/freedesktop/systemd1/unit/"), std::nullopt);
}

TEST(SupervisorConfig, AnUnreadableConfigIsAConfigError) {
  FakeSystemd systemd;
  SupervisorOptions o;
  o.configPath = "/nonexistent/services.yaml";
  EXPECT_THROW(Supervisor(o, systemd, nullptr), tcs::ConfigError);
}

}  // namespace

// ---- logs ------------------------------------------------------------------------------------

TEST_F(ASupervisor, AnswersLogsOfAConfiguredServiceFromItsUnitsJournal) {
  journal.entries = {logEntry("Hello World! 1", "c1"), logEntry("Hello World! 2", "c2")};
  auto s = make();
  s->start();
  const auto r = rpc(*s, "logs.hello_world.main", R"({"lines":5,"priority":"info"})");
  const auto& d = r.at("data");
  ASSERT_FALSE(d.contains("error")) << r.dump();
  EXPECT_EQ(d.at("launcher_id"), "vm-systemd-launcher");
  EXPECT_EQ(d.at("service_id"), "hello_world.main");
  EXPECT_EQ(d.at("unit"), "tcs@hello_world:main.service");
  ASSERT_EQ(d.at("entries").size(), 2U);
  EXPECT_EQ(d.at("entries")[0].at("message"), "Hello World! 1");
  EXPECT_EQ(d.at("entries")[1].at("cursor"), "c2");
  EXPECT_EQ(d.at("entries")[1].at("pid"), 412);
  EXPECT_EQ(d.at("cursor"), "c2");
  EXPECT_EQ(d.at("truncated"), false);
  EXPECT_EQ(r.at("meta").at("message_type"), "rpc");
  const auto q = journal.queries();
  ASSERT_EQ(q.size(), 1U);
  EXPECT_EQ(q[0].unit, "tcs@hello_world:main.service");
  EXPECT_FALSE(q[0].user);
  EXPECT_EQ(q[0].lines, 5);
  EXPECT_EQ(q[0].priority, 6);
  EXPECT_EQ(q[0].afterCursor, "");
  EXPECT_EQ(q[0].maxBytes, 65536);
}

TEST_F(ASupervisor, AnswersLogsOnlyForConfiguredServices) {
  auto s = make();
  s->start();
  for (const auto* target : {"logs.ssh", "logs.ssh.service", "logs.nope.main", "logs.hello_world.other"}) {
    const auto r = rpc(*s, target, R"({"lines":5})");
    EXPECT_EQ(r.at("data").at("error"), "unknown_service") << target;
    EXPECT_THAT(r.at("data").at("message").get<std::string>(), HasSubstr("not a configured tcs service")) << target;
  }
  EXPECT_EQ(rpc(*s, "logs").at("data").at("error"), "unknown_command");  // needs a service id
  EXPECT_TRUE(journal.queries().empty()) << "the journal must not even be asked";
}

TEST_F(ASupervisor, RefusesLogsRequestsWithBadParametersNamingThem) {
  auto s = make();
  s->start();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"lines":0})", "data.lines: integer 0 out of range [1, 1000]"},
      {R"({"lines":5000})", "out of range [1, 1000]"},
      {R"({"lines":"many"})", "data.lines"},
      {R"({"priority":"loud"})", "unknown priority 'loud'"},
      {R"({"priority":9})", "data.priority"},
      {R"({"after_cursor":7})", "data.after_cursor"},
      {R"({"max_bytes":100000})", "data.max_bytes"},
  };
  for (const auto& [body, needle] : cases) {
    const auto r = rpc(*s, "logs.hello_world.main", body);
    EXPECT_EQ(r.at("data").at("error"), "bad_request") << body;
    const auto message = r.at("data").at("message").get<std::string>();
    EXPECT_THAT(message, HasSubstr("logs hello_world.main: bad parameters")) << body;
    EXPECT_THAT(message, HasSubstr(needle)) << body;
  }
  EXPECT_TRUE(journal.queries().empty());
  journal.badCursor = true;
  const auto r = rpc(*s, "logs.hello_world.main", R"({"after_cursor":"garbage"})");
  EXPECT_EQ(r.at("data").at("error"), "bad_request");
  EXPECT_THAT(r.at("data").at("message").get<std::string>(), HasSubstr("not a journal cursor"));
}

TEST_F(ASupervisor, PassesTheCursorThroughAndReturnsItWhenNothingIsNew) {
  auto s = make();
  s->start();
  auto r = rpc(*s, "logs.test.crash.once", R"({"after_cursor":"s=abc;i=5"})");
  ASSERT_FALSE(r.at("data").contains("error")) << r.dump();
  EXPECT_TRUE(r.at("data").at("entries").empty());
  EXPECT_EQ(r.at("data").at("cursor"), "s=abc;i=5");
  ASSERT_EQ(journal.queries().size(), 1U);
  EXPECT_EQ(journal.queries()[0].afterCursor, "s=abc;i=5");
  EXPECT_EQ(journal.queries()[0].unit, "tcs@test.crash:once.service");
  journal.entries = {logEntry("new", "s=abc;i=6")};
  r = rpc(*s, "logs.test.crash.once", R"({"after_cursor":"s=abc;i=5"})");
  EXPECT_EQ(r.at("data").at("cursor"), "s=abc;i=6");
}

TEST_F(ASupervisor, CutsLogsToTheByteCapDroppingTheOldestOfATail) {
  journal.entries = {logEntry("aaaa", "c1"), logEntry("bbbb", "c2"), logEntry("cccc", "c3")};
  auto s = make();
  s->start();
  auto r = rpc(*s, "logs.hello_world.main", R"({"max_bytes":9})");
  auto& d = r.at("data");
  ASSERT_EQ(d.at("entries").size(), 2U) << r.dump();
  EXPECT_EQ(d.at("entries")[0].at("message"), "bbbb");
  EXPECT_EQ(d.at("entries")[1].at("message"), "cccc");
  EXPECT_EQ(d.at("truncated"), true);
  EXPECT_EQ(d.at("cursor"), "c3");
  EXPECT_EQ(journal.queries().at(0).maxBytes, 9);
  r = rpc(*s, "logs.hello_world.main", R"({"max_bytes":12})");
  EXPECT_EQ(r.at("data").at("entries").size(), 3U);
  EXPECT_EQ(r.at("data").at("truncated"), false);
}

TEST_F(ASupervisor, CutsAFollowersLogsDroppingTheNewestSoItContinuesWithoutLoss) {
  journal.entries = {logEntry("aaaa", "c1"), logEntry("bbbb", "c2"), logEntry("cccc", "c3")};
  auto s = make();
  s->start();
  const auto r = rpc(*s, "logs.hello_world.main", R"({"max_bytes":9,"after_cursor":"c0"})");
  const auto& d = r.at("data");
  ASSERT_EQ(d.at("entries").size(), 2U) << r.dump();
  EXPECT_EQ(d.at("entries")[0].at("message"), "aaaa");
  EXPECT_EQ(d.at("truncated"), true);
  EXPECT_EQ(d.at("cursor"), "c2");
}

TEST_F(ASupervisor, CutsAMessageLongerThanTheCapSoOneEntryAlwaysFits) {
  journal.entries = {logEntry(std::string(100, 'x'), "c1")};
  auto s = make();
  s->start();
  const auto r = rpc(*s, "logs.hello_world.main", R"({"max_bytes":10,"after_cursor":"c0"})");
  ASSERT_EQ(r.at("data").at("entries").size(), 1U) << r.dump();
  EXPECT_EQ(r.at("data").at("entries")[0].at("message"), std::string(10, 'x'));
  EXPECT_EQ(r.at("data").at("truncated"), true);
  EXPECT_EQ(r.at("data").at("cursor"), "c1");
}

TEST_F(ASupervisor, AnswersActionFailedWhenTheJournalCannotBeRead) {
  journal.error = "journal: no journal file is readable";
  auto s = make();
  s->start();
  auto r = rpc(*s, "logs.hello_world.main");
  EXPECT_EQ(r.at("data").at("error"), "action_failed");
  EXPECT_THAT(r.at("data").at("message").get<std::string>(), HasSubstr("no journal file is readable"));

  SupervisorOptions o;
  o.configPath = configPath;
  o.launcherId = "vm-systemd-launcher";
  o.hostname = "vm.example";
  Supervisor without(o, systemd, nullptr, nullptr);
  r = rpc(without, "logs.hello_world.main");
  EXPECT_EQ(r.at("data").at("error"), "action_failed");
  EXPECT_THAT(r.at("data").at("message").get<std::string>(), HasSubstr("journal not available"));
}
