// SPDX-License-Identifier: MIT
// Integration tests of NATS monitoring against a real nats-server the test starts on a free
// loopback port (JetStream in the test's temp dir): the real service binaries publish status
// and heartbeats and answer RPC; every message is decoded with the protocol module and checked
// against spec/protocol.md; reconnect after the server was killed; authentication from the
// service's config; the monitor API (busy/idle timing, no-op monitor). Skipped without
// nats-server. Timing checks are loose (2-core machine, sanitizer builds); no blind sleeps.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nats_server.hpp"
#include "nats_tools.hpp"
#include "service_process.hpp"
#include "tcs/monitor.hpp"
#include "tcs/nats.hpp"
#include "tcs/protocol.hpp"
#include "tcs/unit_name.hpp"
#include "temp_dir.hpp"
#include "wait_until.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using tcs::Status;
using tcs::test::Child;
using tcs::test::Inbox;
using tcs::test::NatsServer;
using tcs::test::NatsServerOptions;
using tcs::test::NotifySocket;
using tcs::test::RawJetStream;
using tcs::test::TempDir;
using tcs::test::waitUntil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace protocol = tcs::protocol;
namespace fs = std::filesystem;
using OrderedJson = nlohmann::ordered_json;

constexpr const char* kHelloWorld = TCS_BIN_HELLO_WORLD;
constexpr const char* kMonitoring = TCS_BIN_EXAMPLES_MONITORING;
constexpr const char* kHang = TCS_BIN_TEST_HANG;
constexpr const char* kParent = "launcher.it-systemd-launcher";

std::vector<std::string> keysOf(const std::string& body) {
  std::vector<std::string> keys;
  const auto j = OrderedJson::parse(body);
  for (auto it = j.at("data").begin(); it != j.at("data").end(); ++it) keys.push_back(it.key());
  return keys;
}

class MonitorOverNats : public ::testing::Test {
 protected:
  void SetUp() override { TCS_SKIP_WITHOUT_NATS_SERVER(); }

  NatsServer& startServer(NatsServerOptions options = {}) {
    server_ = std::make_unique<NatsServer>(dir_.path() / "server", std::move(options));
    server_->start();
    return *server_;
  }

  // The test's own view of the server: every message on svc.>.
  void sniff(const tcs::config::NatsConfig& config) {
    tcs::NatsOptions o;
    o.name = "sniffer";
    o.reconnectWaitMax = 200ms;
    sniffer_ = std::make_unique<tcs::NatsConnection>(config, o);
    sub_ = sniffer_->subscribe("svc.>", inbox_.handler());
    ASSERT_TRUE(sniffer_->flush(5s));
  }

  tcs::config::NatsConfig natsConfig() const {
    tcs::config::NatsConfig c;
    c.present = true;
    c.host = "127.0.0.1";
    c.port = server_->port();
    return c;
  }

  fs::path config(const std::string& type, const std::vector<std::string>& settings,
                  const std::string& natsExtra = "") {
    std::string yaml =
        fmt::format("nats: {{host: 127.0.0.1, port: {}, required: true{}}}\n", server_->port(), natsExtra);
    yaml += "registry:\n  " + type + ": ~\nservices:\n  - type: " + type + "\n    variant: it\n";
    for (const auto& s : settings) yaml += "    " + s + "\n";
    return dir_.write("services.yaml", yaml);
  }

  std::unique_ptr<Child> spawn(const std::string& binary, const fs::path& cfg, std::vector<std::string> env = {}) {
    env.push_back("NOTIFY_SOCKET=" + notify_.path().string());
    for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TMPDIR", "PATH"})
      if (const char* v = std::getenv(name)) env.push_back(std::string(name) + "=" + v);
    const auto n = std::to_string(++spawned_);
    return std::make_unique<Child>(binary, std::vector<std::string>{cfg.string(), "it", "--parent-name", kParent}, env,
                                   dir_ / ("stdout-" + n + ".txt"), dir_ / ("stderr-" + n + ".txt"), std::string(),
                                   [this] { notify_.sync(); });
  }

  std::vector<tcs::NatsMessage> on(std::string_view subjectPrefix) const {
    std::vector<tcs::NatsMessage> out;
    for (auto& m : inbox_.messages())
      if (m.subject.starts_with(subjectPrefix)) out.push_back(m);
    return out;
  }
  std::vector<protocol::StatusUpdate> statuses(const std::string& id) const {
    std::vector<protocol::StatusUpdate> out;
    for (const auto& m : on("svc.status." + id)) out.push_back(protocol::decode<protocol::StatusUpdate>(m.data).data);
    return out;
  }
  std::vector<protocol::Heartbeat> heartbeats(const std::string& id) const {
    std::vector<protocol::Heartbeat> out;
    for (const auto& m : on("svc.heartbeat." + id)) out.push_back(protocol::decode<protocol::Heartbeat>(m.data).data);
    return out;
  }
  bool statusSeen(const std::string& id, Status s, std::string_view messagePart = {}) const {
    for (const auto& u : statuses(id))
      if (u.status == s && u.message.find(messagePart) != std::string::npos) return true;
    return false;
  }
  protocol::Message<protocol::HealthReply> health(const std::string& id) {
    return protocol::decode<protocol::HealthReply>(sniffer_->request("svc.rpc." + id + ".v1.health", "", 5s).data);
  }

  TempDir dir_;
  NotifySocket notify_{dir_ / "notify.sock"};
  std::unique_ptr<NatsServer> server_;
  std::unique_ptr<tcs::NatsConnection> sniffer_;
  Inbox inbox_;
  tcs::NatsSubscription sub_;
  int spawned_ = 0;
};

// ---- the service binaries on the wire ----------------------------------------------------------

TEST_F(MonitorOverNats, HelloWorldPublishesEveryMessageTypeAsTheProtocolSays) {
  startServer();
  sniff(natsConfig());
  const std::string id = "hello_world.it";
  auto child = spawn(kHelloWorld, config("hello_world", {"interval: 0.2", "heartbeat_interval: 0.3"}));
  ASSERT_TRUE(waitUntil([&] { return heartbeats(id).size() >= 4 && statusSeen(id, Status::Ok, "(3 sent)"); }, 20s))
      << child->stderrText();

  // status: startup is never lost; then ok; upstream's key order; pid, hostname, parent
  const auto st = statuses(id);
  ASSERT_GE(st.size(), 3U);
  EXPECT_EQ(st.front().status, Status::Startup);
  EXPECT_EQ(st.front().message, "Starting service");
  EXPECT_TRUE(statusSeen(id, Status::Ok, "Service running"));
  for (const auto& u : st) {
    EXPECT_EQ(u.name, id);
    EXPECT_EQ(u.pid, child->pid());
    EXPECT_EQ(u.hostname, tcs::unit_name::hostName());
    EXPECT_EQ(u.parent, kParent);
  }
  const auto raw = on("svc.status." + id);
  EXPECT_THAT(keysOf(raw.back().data),
              ElementsAre("name", "status", "timestamp", "message", "details", "parent", "pid", "hostname"));
  const auto meta = protocol::decode<protocol::StatusUpdate>(raw.back().data).meta;
  EXPECT_EQ(meta.traceLevel, 10);
  EXPECT_EQ(meta.messageType, "");
  EXPECT_TRUE(meta.sender.starts_with("Messenger_")) << meta.sender;
  // children and metrics in details
  const auto& last = st.back();
  ASSERT_EQ(last.details.children.size(), 1U);
  EXPECT_EQ(last.details.children[0].name, "greeter");
  EXPECT_EQ(last.details.ownStatus, Status::Ok);
  EXPECT_THAT(last.details.metrics.text(), HasSubstr("\"sent\":"));
  // no two consecutive identical reports (no duplicate floods)
  for (std::size_t i = 1; i < st.size(); ++i) {
    auto a = st[i - 1], b = st[i];
    a.timestamp = b.timestamp = {};
    EXPECT_NE(a, b) << "report " << i << " repeats the previous one";
  }

  // heartbeats: sequence from 1 without gaps, the cadence, next_heartbeat_expected, metrics
  const auto hb = heartbeats(id);
  std::vector<double> gaps;
  for (std::size_t i = 0; i < hb.size(); ++i) {
    EXPECT_EQ(hb[i].serviceId, id);
    EXPECT_EQ(hb[i].sequence, i + 1);
    ASSERT_TRUE(hb[i].nextHeartbeatExpected && hb[i].uptimeSeconds);
    EXPECT_EQ(*hb[i].nextHeartbeatExpected - hb[i].timestamp, std::chrono::microseconds(300000));
    if (i > 0) gaps.push_back(std::chrono::duration<double>(hb[i].timestamp - hb[i - 1].timestamp).count());
  }
  std::sort(gaps.begin(), gaps.end());
  const double median = gaps[gaps.size() / 2];
  EXPECT_GT(median, 0.25);
  EXPECT_LT(median, 0.45);
  EXPECT_THAT(hb.back().metrics.text(), HasSubstr("\"sent\":"));

  // RPC: health with the check's result, stats with the service's figures, errors
  const auto h = health(id);
  EXPECT_EQ(h.meta.messageType, "rpc");
  EXPECT_EQ(h.data.serviceId, id);
  EXPECT_EQ(h.data.status, Status::Ok);
  EXPECT_EQ(h.data.checks.text(), R"({"greeting_age":{"status":"ok"}})");
  const auto stats =
      protocol::decode<protocol::StatsReply>(sniffer_->request("svc.rpc." + id + ".v1.stats", "{}", 5s).data);
  EXPECT_GT(stats.data.uptimeSeconds, 0.0);
  const auto statsJson = nlohmann::json::parse(stats.data.stats.text());
  EXPECT_GE(statsJson.at("sent").get<int>(), 3);
  const auto unknown = sniffer_->request("svc.rpc." + id + ".v1.reboot", "", 5s);
  EXPECT_TRUE(protocol::isErrorReply(unknown.data));
  EXPECT_EQ(protocol::decode<protocol::ErrorReply>(unknown.data).data.error, "unknown_command");

  // stop: shutdown reports, the last one "Service stopped"
  child->signal(SIGTERM);
  const auto status = child->wait();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->code(), 0) << child->stderrText();
  ASSERT_TRUE(waitUntil([&] { return statusSeen(id, Status::Shutdown, "Service stopped"); }, 5s));
  EXPECT_EQ(statuses(id).back().message, "Service stopped");
}

TEST_F(MonitorOverNats, ExampleMonitoringShowsItsChildMetricsAndBusyIdle) {
  startServer();
  sniff(natsConfig());
  const std::string id = "examples.monitoring.it";
  auto child = spawn(kMonitoring, config("examples.monitoring", {"interval: 2.0", "max_errors: 5"}));
  // cycle() tracks a task on the "worker" child: busy while it works, idle 1 s after.
  ASSERT_TRUE(waitUntil(
      [&] {
        for (const auto& u : statuses(id))
          if (!u.details.children.empty() && u.details.children[0].status == Status::Idle &&
              u.details.children[0].message == "No active tasks")
            return true;
        return false;
      },
      20s))
      << child->stderrText();
  protocol::Timestamp busyAt{}, idleAt{};
  for (const auto& u : statuses(id)) {
    if (u.details.children.empty()) continue;
    const auto& w = u.details.children[0];
    EXPECT_EQ(w.name, "worker");
    if (w.status == Status::Busy && busyAt == protocol::Timestamp{}) busyAt = u.timestamp;
    if (w.status == Status::Idle && w.message == "No active tasks" && idleAt == protocol::Timestamp{})
      idleAt = u.timestamp;
  }
  ASSERT_NE(busyAt, protocol::Timestamp{});
  const double busyFor = std::chrono::duration<double>(idleAt - busyAt).count();
  EXPECT_GE(busyFor, 0.95);  // the 1 s idle delay (the work itself is instant)
  EXPECT_LT(busyFor, 1.8);
  const auto last = statuses(id).back();
  EXPECT_THAT(last.details.metrics.text(), HasSubstr("\"cycles\":"));
  EXPECT_THAT(last.details.metrics.text(), HasSubstr("\"max_errors\":5"));
  EXPECT_EQ(health(id).data.checks.text(), R"({"error_budget":{"status":"ok"}})");
  child->signal(SIGTERM);
  ASSERT_TRUE(child->wait());
}

TEST_F(MonitorOverNats, AHungServiceStopsHeartbeatingLikeItStopsPingingTheWatchdog) {
  startServer();
  sniff(natsConfig());
  const std::string id = "test.hang.it";
  const auto cfg = config("test.hang", {"hang_after: 0.5", "heartbeat_interval: 0.2"});
  auto hang = spawn(kHang, cfg, {"WATCHDOG_USEC=1000000"});
  auto& child = *hang;
  ASSERT_TRUE(waitUntil([&] { return heartbeats(id).size() >= 2; }, 20s)) << child.stderrText();
  // It hangs 0.5 s after start; with a 1 s watchdog, heartbeats stop within ~1 s of that.
  std::size_t seen = 0;
  auto lastChange = Clock::now();
  ASSERT_TRUE(waitUntil(
      [&] {
        const auto n = heartbeats(id).size();
        if (n != seen) seen = n, lastChange = Clock::now();
        return Clock::now() - lastChange > 1500ms;  // 7 intervals without one
      },
      20s));
  EXPECT_TRUE(child.running()) << "the process is alive, just hung";
  EXPECT_LT(heartbeats(id).size(), 20U);
  EXPECT_THAT(child.stderrText(), HasSubstr("withholding heartbeats"));
}

// ---- JetStream, reconnect ----------------------------------------------------------------------

TEST_F(MonitorOverNats, KeepsRunningThroughAServerRestartAndItsLatestStatusIsStoredAfterwards) {
  auto& server = startServer();
  {
    RawJetStream js(server.url());
    js.addStream("svc_status", "svc.status.>");
    js.addStream("svc_heartbeat", "svc.heartbeat.>");
  }
  sniff(natsConfig());
  const std::string id = "hello_world.it";
  auto child = spawn(kHelloWorld, config("hello_world", {"interval: 0.1", "heartbeat_interval: 0.2"}));
  ASSERT_TRUE(waitUntil([&] { return heartbeats(id).size() >= 2; }, 20s)) << child->stderrText();

  server.kill();
  // The service loop goes on while the server is away: its STATUS= keeps counting at its pace.
  const auto before = notify_.statuses().size();
  const auto killedAt = Clock::now();
  ASSERT_TRUE(waitUntil([&] { return notify_.statuses().size() >= before + 8; }, 10s));
  const double perUpdate = std::chrono::duration<double>(Clock::now() - killedAt).count() / 8;
  EXPECT_LT(perUpdate, 0.3) << "the service loop was slowed down by the outage";
  const auto heartbeatsBefore = heartbeats(id).size();

  server.start();  // same port, same store
  ASSERT_TRUE(waitUntil([&] { return heartbeats(id).size() >= heartbeatsBefore + 3; }, 20s))
      << "heartbeats did not resume\n"
      << child->stderrText();
  EXPECT_TRUE(child->running());
  // sequence numbers go on (the process did not restart)
  const auto hb = heartbeats(id);
  EXPECT_GT(*hb.back().sequence, *hb.front().sequence);

  child->signal(SIGTERM);
  ASSERT_TRUE(child->wait());
  RawJetStream js(server.url());
  ASSERT_TRUE(waitUntil(
      [&] {
        const auto lastStored = js.lastMessage("svc_status", ("svc.status." + id).c_str());
        return lastStored && protocol::decode<protocol::StatusUpdate>(*lastStored).data.message == "Service stopped";
      },
      5s));
  EXPECT_GT(js.messageCount("svc_heartbeat"), 0U);
}

// ---- authentication from the service's config ----------------------------------------------------

TEST_F(MonitorOverNats, ConnectsWithTheConfigsUserAndPasswordAndFailsClearlyWithAWrongOne) {
  NatsServerOptions o;
  o.user = "tcs";
  o.password = "s3cret";
  startServer(o);
  auto sniffConfig = natsConfig();
  sniffConfig.user = "tcs";
  sniffConfig.password = "s3cret";
  sniff(sniffConfig);
  const std::string id = "hello_world.it";
  dir_.write("password", "s3cret\n");
  auto good = spawn(kHelloWorld, config("hello_world", {"interval: 0.2"},
                                        fmt::format(", user: tcs, password_file: {}", (dir_ / "password").string())));
  ASSERT_TRUE(waitUntil([&] { return !heartbeats(id).empty(); }, 20s)) << good->stderrText();
  good->signal(SIGTERM);
  ASSERT_TRUE(good->wait());

  auto bad = spawn(kHelloWorld, config("hello_world", {"interval: 0.2"}, ", user: tcs, password: wrong"));
  const auto status = bad->wait(20s);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->code(), 78) << "wrong credentials are a configuration error: no restart";
  EXPECT_THAT(tcs::test::readFile(dir_ / ("stderr-" + std::to_string(spawned_) + ".txt")), HasSubstr("uthorization"));
}

// A service's own credentials (services[].nats, issue 17) replace the top-level section's: the
// server knows only the service's user, with permissions for its own subjects.
TEST_F(MonitorOverNats, ConnectsAServiceWithTheCredentialsOfItsOwnEntry) {
  NatsServerOptions o;
  o.extraConfig =
      "authorization {\n  users: [\n"
      "    {user: sniffer, password: sniff}\n"
      "    {user: hello, password: pw-hello, permissions: {\n"
      "      publish: {allow: [\"svc.status.hello_world.it\", \"svc.heartbeat.hello_world.it\", "
      "\"$JS.API.STREAM.NAMES\"]}\n"
      "      subscribe: {allow: [\"svc.rpc.hello_world.it.v1.>\", \"_INBOX.>\"]}\n"
      "      allow_responses: true}}\n"
      "  ]\n}\n";
  startServer(o);
  auto sniffConfig = natsConfig();
  sniffConfig.user = "sniffer";
  sniffConfig.password = "sniff";
  sniff(sniffConfig);
  dir_.write("shared.pw", "not-a-user-of-this-server\n");
  dir_.write("hello.pw", "pw-hello\n");
  const auto cfg = dir_.write(
      "services.yaml", fmt::format("nats: {{host: 127.0.0.1, port: {}, required: true, user: shared, password_file: "
                                   "shared.pw}}\nregistry:\n  hello_world: ~\nservices:\n  - type: hello_world\n"
                                   "    variant: it\n    interval: 0.2\n"
                                   "    nats: {{user: hello, password_file: hello.pw}}\n",
                                   server_->port()));
  auto service = spawn(kHelloWorld, cfg);
  const std::string id = "hello_world.it";
  ASSERT_TRUE(waitUntil([&] { return !heartbeats(id).empty(); }, 20s)) << service->stderrText();
  // Its RPC answers too (subscribed and replying with its own user's rights).
  EXPECT_EQ(health(id).data.status, Status::Ok);
  service->signal(SIGTERM);
  ASSERT_TRUE(service->wait());
}

// The password changes on the server while services run: nats.c gives up after two refusals. A
// service with `required: true` ends with a failure (systemd restarts it, and the new process
// reads the credentials again); one with `required: false` runs on without NATS.
TEST_F(MonitorOverNats, EndsARequiredServiceWhoseCredentialsTheServerRefusesAfterAReconnect) {
  NatsServerOptions o;
  o.user = "tcs";
  o.password = "s3cret";
  auto& server = startServer(o);
  auto required = spawn(kHelloWorld, config("hello_world", {"interval: 0.2"}, ", user: tcs, password: s3cret"));
  ASSERT_TRUE(notify_.waitFor("READY=1")) << required->stderrText();
  const auto optional =
      dir_.write("optional.yaml", fmt::format("nats: {{host: 127.0.0.1, port: {}, required: false, user: tcs, "
                                              "password: s3cret}}\nregistry:\n  hello_world: ~\nservices:\n"
                                              "  - {{type: hello_world, variant: it, interval: 0.2}}\n",
                                              server.port()));
  auto runsOn = spawn(kHelloWorld, optional);
  ASSERT_TRUE(waitUntil([&] { return runsOn->stderrText().find("NATS connected") != std::string::npos; }, 20s))
      << runsOn->stderrText();

  server.kill();
  server.options().password = "changed";
  server.start();
  const auto status = required->wait(30s);
  ASSERT_TRUE(status) << "the required service kept running without NATS\n" << required->stderrText();
  EXPECT_EQ(status->code(), 1) << "a failure systemd restarts (not 78: the credentials may be fixed meanwhile)";
  EXPECT_THAT(required->stderrText(), HasSubstr("closed for good"));
  EXPECT_THAT(required->stderrText(), HasSubstr("uthorization"));

  ASSERT_TRUE(waitUntil([&] { return runsOn->stderrText().find("closed for good") != std::string::npos; }, 30s))
      << runsOn->stderrText();
  EXPECT_TRUE(runsOn->running()) << "required: false runs on without NATS";
  runsOn->signal(SIGTERM);
  const auto stopped = runsOn->wait();
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->code(), 0);
}

TEST_F(MonitorOverNats, ConnectsWithTheConfigsTokenAndFailsClearlyWithAWrongOne) {
  NatsServerOptions o;
  o.token = "t0ken";
  startServer(o);
  auto sniffConfig = natsConfig();
  sniffConfig.token = "t0ken";
  sniff(sniffConfig);
  const std::string id = "hello_world.it";
  auto good = spawn(kHelloWorld, config("hello_world", {"interval: 0.2"}, ", token: t0ken"));
  ASSERT_TRUE(waitUntil([&] { return !heartbeats(id).empty(); }, 20s)) << good->stderrText();
  good->signal(SIGTERM);
  ASSERT_TRUE(good->wait());

  auto bad = spawn(kHelloWorld, config("hello_world", {"interval: 0.2"}, ", token: nope"));
  const auto status = bad->wait(20s);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->code(), 78);
  EXPECT_THAT(bad->stderrText(), HasSubstr("uthorization"));
}

TEST_F(MonitorOverNats, ASigtermEndsTheWaitForARequiredServerAtOnce) {
  startServer();
  const int port = server_->port();
  server_->kill();  // nothing listens there now
  const auto cfg = dir_.write("services.yaml", fmt::format("nats: {{host: 127.0.0.1, port: {}, required: true}}\n"
                                                           "registry:\n  hello_world: ~\nservices:\n"
                                                           "  - {{type: hello_world, variant: it}}\n",
                                                           port));
  auto child = spawn(kHelloWorld, cfg);
  ASSERT_TRUE(notify_.waitFor("STATUS=startup: Waiting for NATS"));
  const auto t0 = Clock::now();
  child->signal(SIGTERM);
  const auto status = child->wait(5s);
  ASSERT_TRUE(status) << "a service waiting for NATS ignored SIGTERM";
  EXPECT_EQ(status->code(), 0);
  EXPECT_LT(Clock::now() - t0, 2s);
}

TEST_F(MonitorOverNats, WithNatsNotRequiredAServiceStartsWithoutAServerAndPublishesOnceItIsThere) {
  startServer();
  const int port = server_->port();
  server_->kill();
  const auto cfg = dir_.write("services.yaml", fmt::format("nats: {{host: 127.0.0.1, port: {}, required: false}}\n"
                                                           "registry:\n  hello_world: ~\nservices:\n"
                                                           "  - {{type: hello_world, variant: it, interval: 0.2, "
                                                           "heartbeat_interval: 0.2}}\n",
                                                           port));
  auto child = spawn(kHelloWorld, cfg);
  ASSERT_TRUE(notify_.waitFor("READY=1")) << child->stderrText();
  server_->start();
  sniff(natsConfig());
  ASSERT_TRUE(waitUntil([&] { return heartbeats("hello_world.it").size() >= 2; }, 20s)) << child->stderrText();
  child->signal(SIGTERM);
  ASSERT_TRUE(child->wait());
}

// ---- the standalone monitor API ------------------------------------------------------------------

TEST_F(MonitorOverNats, CreateMonitorPublishesThroughAnOpenConnection) {
  startServer();
  sniff(natsConfig());
  tcs::NatsConnection nats(natsConfig());
  tcs::MonitorOptions o;
  o.heartbeatInterval = 200ms;
  auto m = tcs::createMonitor("tool.probe", &nats, o);
  EXPECT_TRUE(m->publishing());
  m->setStatus(Status::Ok, "probing");
  m->start();
  ASSERT_TRUE(
      waitUntil([&] { return heartbeats("tool.probe").size() >= 2 && statusSeen("tool.probe", Status::Ok); }, 10s));
  EXPECT_EQ(health("tool.probe").data.status, Status::Ok);
}

TEST_F(MonitorOverNats, CreateMonitorFromAConfigGivesANoOpMonitorWhenNoServerIsReachable) {
  startServer();
  auto config = natsConfig();
  server_->kill();
  const auto t0 = Clock::now();
  auto owned = tcs::createMonitor("tool.offline", config, 500ms);
  EXPECT_LT(Clock::now() - t0, 5s);
  EXPECT_FALSE(owned.monitor->publishing());
  owned.monitor->setStatus(Status::Ok, "works without NATS");
  owned.monitor->start();
  EXPECT_EQ(owned.monitor->status(), Status::Ok);
}

}  // namespace
