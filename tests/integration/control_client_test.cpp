// SPDX-License-Identifier: MIT
// The control client (tcs/control.hpp) against a real nats-server on a free loopback port:
// snapshots from the protocol's JetStream streams (complete, a stream missing, no JetStream, a
// non-default prefix), follow mode (a new service, liveness ageing, a re-read after a
// reconnect) and control through a real Supervisor (over a fake systemd) answering on NATS.
// Skipped without nats-server. No blind sleeps: conditions are polled with deadlines.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../supervisor/hello_supervisor.hpp"
#include "nats_server.hpp"
#include "supervisor.hpp"
#include "tcs/control.hpp"
#include "tcs/jetstream.hpp"
#include "tcs/nats.hpp"
#include "tcs/protocol.hpp"
#include "temp_dir.hpp"
#include "upstream_vectors.hpp"
#include "wait_until.hpp"

namespace {

using namespace std::chrono_literals;
using tcs::FleetRules;
using tcs::HeartbeatLiveness;
using tcs::Status;
using tcs::StreamReadOutcome;
using tcs::control::ControlError;
using tcs::control::ServiceControlClient;
using tcs::control::SnapshotOptions;
using tcs::test::NatsServer;
using tcs::test::NatsServerOptions;
using tcs::test::TempDir;
using tcs::test::waitUntil;
using ::testing::HasSubstr;
namespace p = tcs::protocol;

constexpr const char* kLauncher = "launcher.ctl-systemd-launcher";

class AControlClient : public ::testing::Test {
 protected:
  void SetUp() override { TCS_SKIP_WITHOUT_NATS_SERVER(); }

  void startServer(NatsServerOptions options = {}) {
    server_ = std::make_unique<NatsServer>(dir_.path() / "server", std::move(options));
    server_->start();
  }
  tcs::config::NatsConfig natsConfig(const std::string& prefix = "svc") const {
    tcs::config::NatsConfig c;
    c.present = true;
    c.host = "127.0.0.1";
    c.port = server_->port();
    c.subjectPrefix = prefix;
    return c;
  }
  std::unique_ptr<tcs::NatsConnection> connect(const std::string& name, const std::string& prefix = "svc",
                                               std::chrono::milliseconds reconnectWait = 100ms) {
    tcs::NatsOptions o;
    o.name = name;
    o.reconnectWaitMin = reconnectWait;
    o.reconnectWaitMax = reconnectWait;
    return std::make_unique<tcs::NatsConnection>(natsConfig(prefix), o);
  }
  /// The protocol's three streams, as tcs-supervisor creates them.
  void addStreams(tcs::NatsConnection& nats, const std::string& prefix = "svc", bool heartbeat = true) {
    tcs::JetStreamAdmin admin(nats);
    const std::string stem = prefix == "svc" ? "svc" : "other";
    admin.ensureStream({stem + "_registry", prefix + ".registry.>", 0s, -1, 100});
    admin.ensureStream({stem + "_status", prefix + ".status.>", 0s, -1, 1});
    if (heartbeat) admin.ensureStream({stem + "_heartbeat", prefix + ".heartbeat.>", 0s, -1, 1});
  }

  static p::Meta meta() { return p::processMetaGenerator().next(); }
  static void publishStored(tcs::NatsConnection& nats, const std::string& subject, const std::string& body) {
    nats.publishPersistent(subject, body);
  }
  /// A small fleet: a launcher, a running service with a status and heartbeat, and a service
  /// that started, reported ok and then crashed without restarting (upstream shows it ok).
  static void publishFleet(tcs::NatsConnection& nats, const std::string& prefix = "svc") {
    const auto t = p::now();
    p::StatusUpdate launcher;
    launcher.name = kLauncher;
    launcher.status = Status::Ok;
    launcher.message = "Launcher running";
    launcher.timestamp = t;
    publishStored(nats, p::statusSubject(prefix, kLauncher), p::encode(launcher, meta()));
    for (const char* id : {"hello_world.main", "camera.main"}) {
      p::RegistryEvent declared;
      declared.serviceId = id;
      declared.timestamp = t;
      declared.specific = p::DeclaredEvent{.restartPolicy = "on-failure"};
      declared.parent = kLauncher;
      declared.runnerId = "r";
      publishStored(nats, p::registrySubject(prefix, p::RegistryEventType::Declared, id), p::encode(declared, meta()));
      p::RegistryEvent start;
      start.serviceId = id;
      start.timestamp = t;
      start.specific = p::StartEvent{.status = Status::Startup, .hostname = "ctl-host", .pid = 100};
      start.parent = kLauncher;
      start.runnerId = "r";
      publishStored(nats, p::registrySubject(prefix, p::RegistryEventType::Start, id), p::encode(start, meta()));
      p::StatusUpdate ok;
      ok.name = id;
      ok.status = Status::Ok;
      ok.message = "Service running";
      ok.timestamp = t;
      ok.parent = kLauncher;
      publishStored(nats, p::statusSubject(prefix, id), p::encode(ok, meta()));
      p::Heartbeat hb;
      hb.serviceId = id;
      hb.status = Status::Ok;
      hb.timestamp = t;
      publishStored(nats, p::heartbeatSubject(prefix, id), p::encode(hb, meta()));
    }
    p::RegistryEvent crashed;
    crashed.serviceId = "camera.main";
    crashed.timestamp = p::Timestamp{t.time_since_epoch() + 1s};
    crashed.specific = p::CrashedEvent{
        .status = Status::Failed, .exitCode = 1, .restartPolicy = "no", .willRestart = false, .result = "exit-code"};
    crashed.parent = kLauncher;
    crashed.runnerId = "r";
    publishStored(nats, p::registrySubject(prefix, p::RegistryEventType::Crashed, "camera.main"),
                  p::encode(crashed, meta()));
    ASSERT_TRUE(nats.flush(5s));
  }

  TempDir dir_;
  std::unique_ptr<NatsServer> server_;
};

TEST_F(AControlClient, ReadsTheNewestMessageOfEverySubjectFromJetStream) {
  startServer();
  auto nats = connect("publisher");
  addStreams(*nats);
  publishFleet(*nats);
  publishFleet(*nats);  // twice: only the newest of each subject is read

  auto ctl = connect("tcsctl");
  ServiceControlClient client(*ctl);
  const auto snap = client.snapshot();
  EXPECT_TRUE(snap.jetstream);
  EXPECT_TRUE(snap.notes.empty()) << snap.notes.front();
  ASSERT_EQ(snap.streams.size(), 3U);
  for (const auto& s : snap.streams) EXPECT_EQ(s.read.outcome, StreamReadOutcome::Read) << s.filter << s.read.error;
  EXPECT_EQ(snap.streams[0].read.stream, "svc_registry");
  EXPECT_EQ(snap.streams[0].read.delivered, 5U);  // declared, start ×2 services, crashed
  EXPECT_EQ(snap.streams[1].read.delivered, 3U);  // launcher + 2 services
  EXPECT_EQ(snap.streams[2].read.delivered, 2U);
  EXPECT_EQ(snap.storedMessages, 10U);

  const auto* hello = snap.view.find("hello_world.main");
  ASSERT_NE(hello, nullptr);
  EXPECT_EQ(hello->status, Status::Ok);
  EXPECT_EQ(hello->parent, kLauncher);
  EXPECT_TRUE(hello->running());
  const auto* camera = snap.view.find("camera.main");
  ASSERT_NE(camera, nullptr);
  EXPECT_EQ(camera->status, Status::Failed) << "the crash is newer than the last status: tcs shows the truth";
  ASSERT_TRUE(camera->lastCrash);
  EXPECT_EQ(camera->lastCrash->result, "exit-code");

  const auto hosts = ServiceControlClient::hosts(snap);
  ASSERT_EQ(hosts.size(), 1U);
  EXPECT_EQ(hosts[0].launcherId, "ctl-systemd-launcher");
  EXPECT_EQ(hosts[0].services, 2U);
  EXPECT_EQ(hosts[0].running, 1U);

  // Upstream's rules over the same messages: the crashed service keeps its `ok`.
  ServiceControlClient upstream(*ctl, "svc", FleetRules::upstreamTcsctl());
  EXPECT_EQ(upstream.getService("camera.main")->status, Status::Ok);
  // --all hides only old ephemeral records: the launcher here has no heartbeat and no declared event.
  EXPECT_EQ(client.listServices(/*includeStopped=*/true).size(), 2U);
}

TEST_F(AControlClient, ShowsUpstreamPythonServicesAndTcsServicesOnOneNats) {
  startServer();
  auto nats = connect("publisher");
  addStreams(*nats);
  // Upstream's captured traffic (its Python launcher and a crashing service), as it was published…
  std::size_t upstream = 0;
  for (const auto& r : tcs::test::vectors::loadRecords(TCS_FLEET_VECTORS_DIR "/upstream-traffic-sample.jsonl")) {
    if (r.scenario != "crash_on_failure_limit") continue;
    publishStored(*nats, r.subject, r.body);
    ++upstream;
  }
  ASSERT_GT(upstream, 5U);
  // …and a tcs fleet beside it.
  publishFleet(*nats);
  auto ctl = connect("tcsctl");
  ServiceControlClient client(*ctl);
  const auto snap = client.snapshot();
  EXPECT_TRUE(snap.notes.empty());
  EXPECT_EQ(snap.view.counters().malformed, 0U) << snap.view.counters().problems.front();
  const auto* python = snap.view.find("mock_crashing.onfail");
  ASSERT_NE(python, nullptr);
  const auto* pythonLauncher = snap.view.find(python->parent);
  ASSERT_NE(pythonLauncher, nullptr) << python->parent;
  EXPECT_EQ(pythonLauncher->kind, tcs::FleetEntryKind::Launcher);
  EXPECT_NE(python->parent, kLauncher);
  ASSERT_TRUE(python->lastCrash);
  EXPECT_EQ(python->lastCrash->exitCode, 1);
  EXPECT_EQ(snap.view.find("camera.main")->parent, kLauncher);
  EXPECT_EQ(ServiceControlClient::hosts(snap).size(), 2U);
}

TEST_F(AControlClient, NotesAMissingStreamAndReadsTheOthers) {
  startServer();
  auto nats = connect("publisher");
  addStreams(*nats, "svc", /*heartbeat=*/false);
  publishFleet(*nats);
  auto ctl = connect("tcsctl");
  ServiceControlClient client(*ctl);
  const auto snap = client.snapshot({.timeout = 5s, .liveWindow = 200ms, .readStored = true});
  EXPECT_TRUE(snap.jetstream);
  ASSERT_EQ(snap.streams.size(), 3U);
  EXPECT_EQ(snap.streams[2].read.outcome, StreamReadOutcome::NoStream);
  ASSERT_EQ(snap.notes.size(), 2U);
  EXPECT_THAT(snap.notes[0], HasSubstr("no JetStream stream stores svc.heartbeat.>"));
  EXPECT_THAT(snap.notes[1], HasSubstr("listened to live messages"));
  EXPECT_NE(snap.view.find("hello_world.main"), nullptr);
  EXPECT_FALSE(snap.view.find("hello_world.main")->lastHeartbeat);
}

TEST_F(AControlClient, WithoutJetStreamShowsLiveMessagesWithANote) {
  NatsServerOptions noJetStream;
  noJetStream.jetstream = false;
  startServer(noJetStream);
  auto nats = connect("publisher");
  auto ctl = connect("tcsctl");
  ServiceControlClient client(*ctl);
  std::atomic<bool> done{false};
  std::thread heartbeats([&] {  // a service heartbeating while the snapshot listens
    while (!done) {
      p::Heartbeat hb;
      hb.serviceId = "hello_world.main";
      hb.status = Status::Ok;
      hb.timestamp = p::now();
      nats->publish(p::heartbeatSubject("svc", "hello_world.main"), p::encode(hb, meta()));
      std::this_thread::sleep_for(50ms);  // the publishing cadence, not a wait for a condition
    }
  });
  const auto snap = client.snapshot({.timeout = 2s, .liveWindow = 1s, .readStored = true});
  done = true;
  heartbeats.join();
  EXPECT_FALSE(snap.jetstream);
  ASSERT_FALSE(snap.notes.empty());
  EXPECT_THAT(snap.notes[0], HasSubstr("JetStream is not enabled on the server"));
  EXPECT_GT(snap.liveMessages, 0U);
  ASSERT_NE(snap.view.find("hello_world.main"), nullptr);
  EXPECT_TRUE(snap.view.find("hello_world.main")->lastHeartbeat);
}

TEST_F(AControlClient, WorksWithANonDefaultPrefix) {
  startServer();
  auto nats = connect("publisher", "ocm.svc");
  addStreams(*nats, "ocm.svc");
  publishFleet(*nats, "ocm.svc");
  auto ctl = connect("tcsctl", "ocm.svc");
  ServiceControlClient client(*ctl, "ocm.svc");
  const auto snap = client.snapshot();
  EXPECT_TRUE(snap.notes.empty());
  EXPECT_EQ(snap.storedMessages, 10U);
  EXPECT_NE(snap.view.find("camera.main"), nullptr);
  EXPECT_THROW(ServiceControlClient(*ctl, "bad prefix"), tcs::ProtocolError);
}

TEST_F(AControlClient, FollowsANewServiceAndAgesASilentOneToStaleAndDead) {
  startServer();
  auto nats = connect("publisher");
  addStreams(*nats);
  auto ctl = connect("tcsctl");
  FleetRules rules;
  rules.staleAfter = 1s;
  rules.deadAfter = 2s;
  ServiceControlClient client(*ctl, "svc", rules);
  std::mutex m;
  std::vector<std::pair<std::string, HeartbeatLiveness>> seen;
  std::vector<std::string> starts;
  tcs::control::FollowCallbacks cb;
  cb.update = [&](const tcs::FleetEntry& e) {
    std::lock_guard lock(m);
    if (e.lastHeartbeat) {
      const auto l = e.lastHeartbeat && p::now() - *e.lastHeartbeat >= 2s   ? HeartbeatLiveness::Dead
                     : e.lastHeartbeat && p::now() - *e.lastHeartbeat >= 1s ? HeartbeatLiveness::Stale
                                                                            : HeartbeatLiveness::Alive;
      seen.emplace_back(e.id, l);
    }
  };
  cb.start = [&](const tcs::FleetEntry& e) {
    std::lock_guard lock(m);
    starts.push_back(e.id);
  };
  client.startFollowing(cb, {.tick = 100ms, .snapshot = {}});
  EXPECT_TRUE(client.following());

  p::RegistryEvent start;
  start.serviceId = "guider.main";
  start.timestamp = p::now();
  start.specific = p::StartEvent{.status = Status::Startup, .hostname = "h", .pid = 7};
  start.parent = kLauncher;
  start.runnerId = "r";
  nats->publish(p::registrySubject("svc", p::RegistryEventType::Start, "guider.main"), p::encode(start, meta()));
  p::Heartbeat hb;
  hb.serviceId = "guider.main";
  hb.status = Status::Ok;
  hb.timestamp = p::now();
  nats->publish(p::heartbeatSubject("svc", "guider.main"), p::encode(hb, meta()));
  ASSERT_TRUE(waitUntil([&] { return client.currentService("guider.main").has_value(); }, 5s));
  ASSERT_TRUE(waitUntil(
      [&] {
        std::lock_guard lock(m);
        return !starts.empty();
      },
      5s));
  // No message arrives any more: the tick ages it.
  const auto liveness = [&] {
    HeartbeatLiveness l = HeartbeatLiveness::None;
    client.withCurrent(
        [&](const tcs::control::Snapshot& s) { l = s.view.liveness(*s.view.find("guider.main"), s.takenAt); });
    return l;
  };
  EXPECT_TRUE(waitUntil([&] { return liveness() == HeartbeatLiveness::Stale; }, 5s));
  EXPECT_TRUE(waitUntil([&] { return liveness() == HeartbeatLiveness::Dead; }, 5s));
  {
    std::lock_guard lock(m);
    ASSERT_GE(seen.size(), 3U) << "an update for the heartbeat, for stale and for dead";
  }
  client.stopFollowing();
  EXPECT_FALSE(client.following());
  EXPECT_TRUE(client.currentServices().empty());
}

TEST_F(AControlClient, RereadsTheStoredMessagesAfterAReconnect) {
  startServer();
  auto nats = connect("publisher");
  addStreams(*nats);
  publishFleet(*nats);
  auto ctl = connect("tcsctl", "svc", 1500ms);  // reconnects slowly: the crash below happens while it is away
  ServiceControlClient client(*ctl);
  std::atomic<int> resynced{0};
  client.startFollowing({.update = {}, .start = {}, .stop = {}, .resynced = [&] { ++resynced; }},
                        {.tick = 100ms, .snapshot = {}});
  EXPECT_EQ(resynced.load(), 1);
  EXPECT_EQ(client.currentService("hello_world.main")->status, Status::Ok);

  server_->stop();
  ASSERT_TRUE(waitUntil([&] { return !ctl->connected(); }, 10s));
  server_->start();
  {
    auto raw = connect("witness");  // connects at once; the client is still waiting to retry
    p::RegistryEvent crashed;
    crashed.serviceId = "hello_world.main";
    crashed.timestamp = p::now();
    crashed.specific = p::CrashedEvent{.status = Status::Error,
                                       .exitCode = -9,
                                       .restartPolicy = "on-failure",
                                       .willRestart = true,
                                       .result = "signal"};
    crashed.parent = kLauncher;
    crashed.runnerId = "r";
    raw->publishPersistent(p::registrySubject("svc", p::RegistryEventType::Crashed, "hello_world.main"),
                           p::encode(crashed, meta()));
    ASSERT_TRUE(raw->flush(5s));
    ASSERT_FALSE(ctl->connected()) << "the client reconnected before the crash was published; the test proves nothing";
  }
  ASSERT_TRUE(waitUntil([&] { return resynced.load() >= 2; }, 15s));
  const auto hello = client.currentService("hello_world.main");
  ASSERT_TRUE(hello && hello->lastCrash);
  EXPECT_EQ(hello->lastCrash->result, "signal");
}

// ---- control through a real Supervisor (systemd faked) answering on NATS ------------------------

class AControlClientWithASupervisor : public AControlClient {
 protected:
  void SetUp() override {
    AControlClient::SetUp();
    if (IsSkipped()) return;
    startServer();
    supervisorNats_ = connect("tcs-supervisor");
    addStreams(*supervisorNats_);
    supervisor_ = tcs::supervisor::test::startHelloWorldSupervisor(dir_, "ctl-systemd-launcher", "ctl-host", systemd_,
                                                                   *supervisorNats_, &journal_);
    ASSERT_TRUE(supervisorNats_->flush(5s));
    ctl_ = connect("tcsctl");
    client_ = std::make_unique<ServiceControlClient>(*ctl_);
  }
  void TearDown() override {
    client_.reset();
    if (supervisor_) supervisor_->stop();
  }

  tcs::supervisor::test::FakeSystemd systemd_;
  tcs::supervisor::test::FakeJournal journal_;
  std::unique_ptr<tcs::NatsConnection> supervisorNats_;
  std::unique_ptr<tcs::supervisor::Supervisor> supervisor_;
  std::unique_ptr<tcs::NatsConnection> ctl_;
  std::unique_ptr<ServiceControlClient> client_;
};

TEST_F(AControlClientWithASupervisor, SendsStartStopRestartAndResetFailedToTheOwningSupervisor) {
  EXPECT_EQ(client_->launcherOf("hello_world.main"), kLauncher);
  auto r = client_->restart("hello_world.main");
  EXPECT_EQ(r.result, "restarted");
  EXPECT_EQ(r.launcherId, "ctl-systemd-launcher");
  EXPECT_EQ(r.pid, 4711);
  EXPECT_EQ(client_->stop("hello_world.main").result, "stopped");
  EXPECT_EQ(client_->start("hello_world.main").result, "started");
  EXPECT_EQ(client_->resetFailed("hello_world.main").result, "reset");
  EXPECT_THAT(systemd_.calls(), ::testing::ElementsAre(
                                    "restart tcs@hello_world:main.service", "stop tcs@hello_world:main.service",
                                    "start tcs@hello_world:main.service", "reset-failed tcs@hello_world:main.service"));
  const auto units = client_->units("ctl-systemd-launcher");
  ASSERT_EQ(units.services.size(), 1U);
  EXPECT_EQ(units.services[0].serviceId, "hello_world.main");
  EXPECT_EQ(client_->reload(kLauncher).result, "reloaded");
}

TEST_F(AControlClientWithASupervisor, ReadsAServicesJournalLinesThroughItsSupervisor) {
  p::LogEntry line;
  line.timestamp = p::now();
  line.priority = 6;
  line.identifier = "hello_world";
  line.pid = 321;
  line.message = "Hello World! (interval: 5s)";
  line.cursor = "s=1;i=2";
  journal_.entries = {line};
  p::LogsRequest request;
  request.lines = 5;
  request.priority = 4;
  request.afterCursor = "s=1;i=1";
  const auto reply = client_->logs("hello_world.main", request);
  EXPECT_EQ(reply.unit, "tcs@hello_world:main.service");
  ASSERT_EQ(reply.entries.size(), 1U);
  EXPECT_EQ(reply.entries[0].message, "Hello World! (interval: 5s)");
  EXPECT_EQ(reply.cursor, "s=1;i=2");
  const auto queries = journal_.queries();
  ASSERT_EQ(queries.size(), 1U);
  EXPECT_EQ(queries[0].lines, 5);
  EXPECT_EQ(queries[0].priority, 4);
  EXPECT_EQ(queries[0].afterCursor, "s=1;i=1");
  try {
    (void)client_->logs("nope.main", {});
    FAIL() << "not in the fleet";
  } catch (const ControlError& e) {
    EXPECT_EQ(e.kind(), ControlError::Kind::NotFound);
  }
}

TEST_F(AControlClientWithASupervisor, ReportsRefusalsUnknownServicesAndSilentLaunchersDistinctly) {
  systemd_.jobResult = "failed";
  try {
    (void)client_->start("hello_world.main");
    FAIL() << "a failed job must throw";
  } catch (const ControlError& e) {
    EXPECT_EQ(e.kind(), ControlError::Kind::Refused);
    EXPECT_EQ(e.code(), "action_failed");
    EXPECT_THAT(e.what(), HasSubstr("'failed'"));
  }
  try {
    (void)client_->stop("nope.main");
    FAIL() << "an unknown service must throw";
  } catch (const ControlError& e) {
    EXPECT_EQ(e.kind(), ControlError::Kind::NotFound);
    EXPECT_THAT(e.what(), HasSubstr("no service 'nope.main'"));
  }
  try {
    (void)client_->reload("no-such-launcher");
    FAIL() << "nobody answers for that launcher";
  } catch (const ControlError& e) {
    EXPECT_EQ(e.kind(), ControlError::Kind::Unreachable);
    EXPECT_THAT(e.what(), HasSubstr("launcher.no-such-launcher"));
  }
  supervisor_->stop();
  try {
    (void)client_->restart("hello_world.main", 1s);
    FAIL() << "a stopped supervisor does not answer";
  } catch (const ControlError& e) {
    EXPECT_EQ(e.kind(), ControlError::Kind::Unreachable);
  }
}

}  // namespace
