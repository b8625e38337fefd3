// SPDX-License-Identifier: MIT
// Unit tests of tcs::Monitor over a recording INatsTransport (the seam; the real connection is
// exercised in tests/integration/monitor_nats_test.cpp): the tree and its reports, publishing
// on every change, metrics, health checks, busy/idle, heartbeats, RPC, the no-op monitor.
#include "tcs/monitor.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tcs/error.hpp"
#include "tcs/protocol.hpp"
#include "wait_until.hpp"

namespace {

using namespace std::chrono_literals;
using tcs::CheckResult;
using tcs::Monitor;
using tcs::MonitorOptions;
using tcs::Status;
using tcs::test::waitUntil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace protocol = tcs::protocol;
using Json = nlohmann::json;

struct Sent {
  std::string subject;
  std::string body;
  bool persistent;
  bool latest = false;  ///< publishLatest (the heartbeat lane)
};

// Records what the monitor sends; stores the RPC handler so tests can "send" requests.
class RecordingTransport : public tcs::INatsTransport {
 public:
  bool connected() const noexcept override { return true; }
  bool publish(std::string_view subject, std::string_view data) override {
    record({std::string(subject), std::string(data), false});
    return true;
  }
  void publishPersistent(std::string_view subject, std::string_view data) override {
    record({std::string(subject), std::string(data), true});
  }
  void publishLatest(std::string_view subject, std::string_view data) override {
    record({std::string(subject), std::string(data), true, true});
  }
  tcs::NatsMessage request(std::string_view, std::string_view, std::chrono::milliseconds) override {
    throw tcs::NatsError(tcs::NatsError::Kind::NoResponders, 0, "not in this test");
  }
  tcs::NatsSubscription subscribe(std::string_view subject, MessageHandler handler) override {
    std::lock_guard lock(mutex_);
    subscribed_ = std::string(subject);
    handler_ = std::move(handler);
    return {};
  }

  std::vector<Sent> sent() const {
    std::lock_guard lock(mutex_);
    return sent_;
  }
  std::vector<Json> dataOn(std::string_view subjectPrefix) const {
    std::vector<Json> out;
    for (const auto& s : sent())
      if (s.subject.starts_with(subjectPrefix)) out.push_back(Json::parse(s.body).at("data"));
    return out;
  }
  std::vector<std::string> statusLines() const {
    std::vector<std::string> out;
    for (const auto& d : dataOn("svc.status."))
      out.push_back(d.at("status").get<std::string>() + "|" + d.value("message", std::string()));
    return out;
  }
  std::string subscribed() const {
    std::lock_guard lock(mutex_);
    return subscribed_;
  }
  // Delivers a request to the monitor's RPC handler and returns the reply's data.
  Json call(const std::string& subject, const std::string& body = "") {
    MessageHandler h;
    {
      std::lock_guard lock(mutex_);
      h = handler_;
    }
    if (!h) throw std::runtime_error("no RPC subscription");
    const auto before = sent().size();
    h(tcs::NatsMessage{subject, "_INBOX.reply", body});
    const auto all = sent();
    for (auto i = before; i < all.size(); ++i)
      if (all[i].subject == "_INBOX.reply") {
        EXPECT_FALSE(all[i].persistent) << "RPC replies are core messages";
        const auto j = Json::parse(all[i].body);
        EXPECT_EQ(j.at("meta").at("message_type"), "rpc");
        return j.at("data");
      }
    throw std::runtime_error("no reply");
  }

 private:
  void record(Sent s) {
    std::lock_guard lock(mutex_);
    sent_.push_back(std::move(s));
  }
  mutable std::mutex mutex_;
  std::vector<Sent> sent_;
  std::string subscribed_;
  MessageHandler handler_;
};

MonitorOptions options(std::string name = "cam.main") {
  MonitorOptions o;
  o.name = std::move(name);
  o.parent = "launcher.vm-systemd-launcher";
  o.pid = 4242;
  o.hostname = "vm.example";
  o.heartbeatInterval = 1h;  // tests that want heartbeats say so
  o.healthCheckInterval = 1h;
  o.idleDelay = 100ms;
  return o;
}

// ---- the tree and its reports ----------------------------------------------------------------

TEST(MonitorTree, ReportsTheAggregateWithOwnStatusAndChildrenInDetails) {
  Monitor m(options());
  m.setStatus(Status::Ok, "running");
  auto sensor = m.child("sensor");
  sensor.setStatus(Status::Ok, "nominal");
  auto link = m.child("link");
  link.setStatus(Status::Degraded, "link flaky");
  const auto r = m.report();
  EXPECT_EQ(r.name, "cam.main");
  EXPECT_EQ(r.status, Status::Degraded);
  EXPECT_EQ(r.message, "running");  // the own message, as upstream
  EXPECT_EQ(r.details.ownStatus, Status::Ok);
  ASSERT_EQ(r.details.children.size(), 2U);
  EXPECT_EQ(r.details.children[0].name, "sensor");
  EXPECT_EQ(r.details.children[1].name, "link");
  EXPECT_EQ(r.details.children[1].status, Status::Degraded);
  EXPECT_EQ(r.details.children[1].message, "link flaky");
  EXPECT_EQ(m.status(), Status::Ok);
  EXPECT_EQ(m.aggregateStatus(), Status::Degraded);
}

TEST(MonitorTree, LeavesDetailsOutWithoutChildrenOrMetrics) {
  Monitor m(options());
  m.setStatus(Status::Ok);
  EXPECT_TRUE(m.report().details.empty());
}

TEST(MonitorTree, ChildReturnsTheSameNodeForTheSameNameAndNestsGrandchildren) {
  Monitor m(options());
  auto a = m.child("mount");
  a.child("axis1").setStatus(Status::Error, "stalled");
  EXPECT_EQ(m.child("mount").child("axis1").status(), Status::Error);
  EXPECT_EQ(m.aggregateStatus(), Status::Error);
  EXPECT_TRUE(m.findChild("mount"));
  EXPECT_FALSE(m.findChild("dome"));
  EXPECT_THROW(m.child(""), std::invalid_argument);
}

TEST(MonitorTree, RemovingAChildTakesItOutOfReportsButItsHandleStillWorks) {
  Monitor m(options());
  m.setStatus(Status::Ok);
  auto c = m.child("tmp");
  c.setStatus(Status::Failed, "gone");
  EXPECT_EQ(m.aggregateStatus(), Status::Failed);
  EXPECT_TRUE(m.removeChild("tmp"));
  EXPECT_FALSE(m.removeChild("tmp"));
  EXPECT_EQ(m.aggregateStatus(), Status::Ok);
  c.setStatus(Status::Ok, "still usable");
  EXPECT_EQ(c.message(), "still usable");
}

TEST(MonitorTree, HandlesMayOutliveTheirMonitor) {
  tcs::MonitoredObject child;
  {
    Monitor m(options());
    child = m.child("left");
  }
  child.setStatus(Status::Ok, "after the monitor");
  EXPECT_EQ(child.status(), Status::Ok);
}

TEST(MonitorTree, ADefaultConstructedHandleIsEmptyAndEveryCallOnItDoesNothing) {
  tcs::MonitoredObject none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.name(), "");
  none.setStatus(Status::Error, "ignored");
  EXPECT_EQ(none.status(), Status::Unknown);
  EXPECT_EQ(none.message(), "");
  EXPECT_EQ(none.aggregateStatus(), Status::Unknown);
  none.addMetrics([] { return tcs::protocol::JsonObject().set("x", std::int64_t{1}); });
  none.addHealthCheck("never", [] { return tcs::CheckResult{Status::Failed, "never run"}; });
  EXPECT_THROW(none.addHealthCheck("", [] { return tcs::CheckResult{}; }), std::invalid_argument);
  {
    auto task = none.trackTask();
    EXPECT_EQ(none.activeTasks(), 0);
    EXPECT_EQ(none.status(), Status::Unknown);
  }
  none.cancelErrorStatus();
  auto grandchild = none.child("below");
  EXPECT_TRUE(grandchild.empty());
  grandchild.setStatus(Status::Failed, "ignored too");
  EXPECT_FALSE(none.findChild("below"));
  EXPECT_FALSE(none.removeChild("below"));
  EXPECT_EQ(none.report(), tcs::protocol::StatusReport{});
}

TEST(MonitorTree, AnEmptyHandleAssignedFromChildReportsAsThatChild) {
  RecordingTransport t;
  tcs::MonitoredObject worker;  // what a service holds as a member before onStart()
  {
    Monitor m(options(), &t);
    worker.setStatus(Status::Error, "before assignment: reaches nothing");
    worker = m.child("worker");
    EXPECT_FALSE(worker.empty());
    EXPECT_EQ(worker.name(), "worker");
    worker.setStatus(Status::Degraded, "slow");
    EXPECT_EQ(m.aggregateStatus(), Status::Degraded);
    ASSERT_EQ(m.report().details.children.size(), 1u);
    EXPECT_EQ(m.report().details.children[0].message, "slow");
  }
  ASSERT_FALSE(t.sent().empty());
  for (const auto& sent : t.sent()) EXPECT_EQ(sent.body.find("before assignment"), std::string::npos) << sent.body;
}

// ---- publishing ------------------------------------------------------------------------------

TEST(MonitorPublishing, PublishesEveryChangeInOrderWithoutDuplicatesAndKeepsAShortStartup) {
  RecordingTransport t;
  {
    Monitor m(options(), &t);
    m.setStatus(Status::Startup, "Starting service");
    m.setStatus(Status::Ok, "Service running");
    m.setStatus(Status::Ok, "Service running");  // no change: nothing sent
    m.setStatus(Status::Ok, "Cycle 1");          // message only: sent
    m.setStatus(Status::Shutdown, "Stopping service");
  }  // destruction hands everything queued to the transport
  EXPECT_THAT(t.statusLines(),
              ElementsAre("startup|Starting service", "ok|Service running", "ok|Cycle 1", "shutdown|Stopping service"));
  for (const auto& s : t.sent()) EXPECT_TRUE(s.persistent) << s.subject;
}

TEST(MonitorPublishing, SendsTheUpstreamStatusShapeOnTheStatusSubject) {
  RecordingTransport t;
  {
    Monitor m(options(), &t);
    m.setStatus(Status::Ok, "Service running");
  }
  const auto sent = t.sent();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0].subject, "svc.status.cam.main");
  const auto msg = protocol::decode<protocol::StatusUpdate>(sent[0].body);
  EXPECT_EQ(msg.data.name, "cam.main");
  EXPECT_EQ(msg.data.status, Status::Ok);
  EXPECT_EQ(msg.data.parent, "launcher.vm-systemd-launcher");
  EXPECT_EQ(msg.data.pid, 4242);
  EXPECT_EQ(msg.data.hostname, "vm.example");
  // key order as upstream
  std::vector<std::string> keys;
  const auto body = nlohmann::ordered_json::parse(sent[0].body);
  for (const auto& [k, v] : body.at("data").items()) keys.push_back(k);
  EXPECT_THAT(keys, ElementsAre("name", "status", "timestamp", "message", "parent", "pid", "hostname"));
}

TEST(MonitorPublishing, PublishesAChildsChangeWithTheAggregate) {
  RecordingTransport t;
  {
    Monitor m(options(), &t);
    auto link = m.child("link");
    m.setStatus(Status::Ok, "running");
    link.setStatus(Status::Ok, "up");
    link.setStatus(Status::Degraded, "flaky");
  }
  const auto data = t.dataOn("svc.status.");
  ASSERT_EQ(data.size(), 4U);  // child created, own ok, child ok, child degraded
  EXPECT_EQ(data[3].at("status"), "degraded");
  EXPECT_EQ(data[3].at("message"), "running");
  EXPECT_EQ(data[3].at("details").at("own_status"), "ok");
  EXPECT_EQ(data[3].at("details").at("children")[0].at("message"), "flaky");
}

TEST(MonitorPublishing, MergesMetricCallbacksLaterKeysWinningAndSurvivesAThrowingOne) {
  RecordingTransport t;
  {
    Monitor m(options(), &t);
    int cycles = 3;
    m.addMetrics([&] { return protocol::JsonObject().set("cycles", std::int64_t{cycles}).set("x", std::int64_t{1}); });
    m.addMetrics([]() -> protocol::JsonObject { throw std::runtime_error("sensor offline"); });
    m.addMetrics([] { return protocol::JsonObject().set("x", std::int64_t{2}); });
    m.child("link").addMetrics([] { return protocol::JsonObject().set("reconnects", std::int64_t{1}); });
    m.setStatus(Status::Ok, "running");
  }
  const auto data = t.dataOn("svc.status.");
  ASSERT_FALSE(data.empty());
  const auto& last = data.back();
  EXPECT_EQ(last.at("details").at("metrics"), Json::parse(R"({"cycles":3,"x":2})"));
  EXPECT_EQ(last.at("details").at("children")[0].at("details").at("metrics"), Json::parse(R"({"reconnects":1})"));
}

TEST(MonitorPublishing, DropsTheOldestReportsWhenTheQueueIsFullAndCountsThem) {
  class Blocking : public RecordingTransport {
   public:
    void publishPersistent(std::string_view s, std::string_view d) override {
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return open; });
      lock.unlock();
      RecordingTransport::publishPersistent(s, d);
    }
    void release() {
      {
        std::lock_guard lock(m);
        open = true;
      }
      cv.notify_all();
    }
    std::mutex m;
    std::condition_variable cv;
    bool open = false;
  } t;
  auto o = options();
  o.queueCapacity = 3;
  tcs::MonitorStats stats;
  {
    Monitor m(o, &t);
    for (int i = 0; i < 20; ++i) m.setStatus(Status::Ok, "n" + std::to_string(i));
    stats = m.stats();
    t.release();
  }
  EXPECT_GT(stats.statusDropped, 0U);
  const auto lines = t.statusLines();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), "ok|n19");  // the newest is never the one dropped
  // At most the batch the thread took before it blocked (up to the capacity: it takes the whole
  // queue) plus a full queue; which batch it took depends on when it woke.
  EXPECT_LE(lines.size(), 2 * o.queueCapacity);
  // What is left is in order, and every change is either published or counted as dropped.
  int previous = -1;
  for (const auto& line : lines) {
    if (line.rfind("ok|n", 0) != 0) continue;  // the warm-up "startup" report
    const int n = std::stoi(line.substr(4));
    EXPECT_GT(n, previous) << "out of order after drops";
    previous = n;
  }
  const auto after = t.statusLines().size();
  EXPECT_EQ(stats.statusChanges, stats.statusDropped + after) << "published + dropped = changes";
}

TEST(MonitorPublishing, ANoOpMonitorTakesTheSameCallsAndSendsNothing) {
  Monitor m(options());
  EXPECT_FALSE(m.publishing());
  m.start();
  m.setStatus(Status::Ok, "fine");
  m.child("c").setStatus(Status::Warning, "meh");
  m.addHealthCheck("x", [] { return Status::Ok; });
  EXPECT_EQ(m.runHealthChecks().size(), 1U);
  { auto task = m.trackTask(); }
  EXPECT_EQ(m.aggregateStatus(), Status::Warning);
  EXPECT_TRUE(m.flush(1s));
  m.stop();
  EXPECT_EQ(m.stats().statusPublished, 0U);
}

TEST(MonitorPublishing, CreateMonitorWithoutATransportIsANoOpMonitorWithAnUpstreamStyleName) {
  auto m = tcs::createMonitor("", nullptr);
  EXPECT_FALSE(m->publishing());
  EXPECT_EQ(m->name().size(), std::string("monitor_test").size() + 8) << m->name();
  EXPECT_TRUE(m->name().starts_with("monitor_test")) << m->name();
}

TEST(MonitorPublishing, CreateMonitorFromAConfigWithoutNatsOrWithNoServerIsANoOpMonitor) {
  tcs::config::NatsConfig none;
  auto a = tcs::createMonitor("tool.one", none);
  EXPECT_EQ(a.connection, nullptr);
  EXPECT_FALSE(a.monitor->publishing());

  tcs::config::NatsConfig dead;
  dead.present = true;
  dead.host = "127.0.0.1";
  dead.port = 1;  // nothing listens on port 1
  const auto t0 = std::chrono::steady_clock::now();
  auto b = tcs::createMonitor("tool.two", dead, 300ms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(b.connection, nullptr);
  EXPECT_FALSE(b.monitor->publishing());
  b.monitor->setStatus(Status::Ok);
}

TEST(MonitorPublishing, ARemovedChildsChangesPublishNothing) {
  RecordingTransport t;
  {
    Monitor m(options(), &t);
    m.setStatus(Status::Ok, "running");
    auto gone = m.child("gone");
    m.removeChild("gone");
    gone.setStatus(Status::Error, "after removal");
    gone.child("grandchild").setStatus(Status::Failed, "x");
    EXPECT_EQ(m.stats().statusChanges, 3U);  // own ok, child created, child removed
  }
  // created at unknown (aggregate warning), removed; nothing from the removed handle
  EXPECT_THAT(t.statusLines(), ElementsAre("ok|running", "warning|running", "ok|running"));
}

TEST(MonitorPublishing, PublishNowRepeatsTheCurrentStatus) {
  RecordingTransport t;
  {
    Monitor m(options(), &t);
    m.setStatus(Status::Ok, "running");
    m.publishNow();
  }
  EXPECT_THAT(t.statusLines(), ElementsAre("ok|running", "ok|running"));
}

TEST(MonitorPublishing, RejectsAnInvalidName) {
  auto o = options("bad name");
  EXPECT_THROW(Monitor m(o), tcs::ProtocolError);
}

TEST(MonitorPublishing, ObserversSeeEveryChangeInOrder) {
  Monitor m(options());
  std::vector<std::string> seen;
  m.onChange([&](const tcs::StatusChange& c) {
    seen.push_back(fmt::format("{}/{}|{}", tcs::toString(c.aggregate), tcs::toString(c.own), c.message));
  });
  m.setStatus(Status::Ok, "a");
  m.child("k").setStatus(Status::Error, "boom");
  EXPECT_THAT(seen, ElementsAre("ok/ok|a", "warning/ok|a", "error/ok|a"));
}

// ---- health checks ---------------------------------------------------------------------------

TEST(MonitorHealthChecks, ADegradedResultTakesEffectAndAnOkOneRestoresTheOwnersStatus) {
  Monitor m(options());
  m.setStatus(Status::Ok, "Cycle 5");
  CheckResult next{Status::Degraded, "no frames for 10 s"};
  m.addHealthCheck("camera", [&] { return next; });
  m.runHealthChecks();
  EXPECT_EQ(m.status(), Status::Degraded);
  EXPECT_EQ(m.message(), "no frames for 10 s");
  m.setStatus(Status::Ok, "Cycle 6");  // the owner's own updates do not hide the failing check
  EXPECT_EQ(m.status(), Status::Degraded);
  next = Status::Ok;
  m.runHealthChecks();
  EXPECT_EQ(m.status(), Status::Ok);
  EXPECT_EQ(m.message(), "Cycle 6");
}

TEST(MonitorHealthChecks, WarningAndOkResultsTakeEffectToo) {
  Monitor m(options());
  m.setStatus(Status::Idle, "waiting");
  Status next = Status::Warning;
  m.addHealthCheck("disk", [&] { return next; });
  m.runHealthChecks();
  EXPECT_EQ(m.status(), Status::Warning);
  EXPECT_EQ(m.message(), "health check 'disk' reports warning");
  next = Status::Ok;
  m.runHealthChecks();
  EXPECT_EQ(m.status(), Status::Idle);
}

TEST(MonitorHealthChecks, NeverHideAnErrorTheOwnerSet) {
  Monitor m(options());
  m.setStatus(Status::Error, "mount stalled");
  m.addHealthCheck("c", [] { return CheckResult{Status::Degraded, "slow"}; });
  m.runHealthChecks();
  EXPECT_EQ(m.status(), Status::Error);
  EXPECT_EQ(m.message(), "mount stalled");
}

TEST(MonitorHealthChecks, TheWorstResultWinsAndAThrowingCheckCountsAsError) {
  Monitor m(options());
  m.setStatus(Status::Ok);
  m.addHealthCheck("a", [] { return CheckResult{Status::Degraded, "slow"}; });
  m.addHealthCheck("b", []() -> CheckResult { throw std::runtime_error("device gone"); });
  const auto results = m.runHealthChecks();
  ASSERT_EQ(results.size(), 2U);
  EXPECT_EQ(results[1].name, "b");
  EXPECT_EQ(results[1].result.status, Status::Error);
  EXPECT_EQ(m.status(), Status::Error);
  EXPECT_THAT(m.message(), HasSubstr("device gone"));
  EXPECT_EQ(m.lastCheckResults().size(), 2U);
}

TEST(MonitorHealthChecks, AChildsChecksAffectTheChildAndAreNamedAfterIt) {
  Monitor m(options());
  m.setStatus(Status::Ok);
  auto link = m.child("link");
  link.setStatus(Status::Ok, "up");
  link.addHealthCheck("ping", [] { return CheckResult{Status::Degraded, "lossy"}; });
  const auto results = m.runHealthChecks();
  ASSERT_EQ(results.size(), 1U);
  EXPECT_EQ(results[0].name, "link/ping");
  EXPECT_EQ(link.status(), Status::Degraded);
  EXPECT_EQ(m.status(), Status::Ok);
  EXPECT_EQ(m.aggregateStatus(), Status::Degraded);
}

TEST(MonitorHealthChecks, RunPeriodicallyOnceStartedAndPublishTheirEffect) {
  RecordingTransport t;
  auto o = options();
  o.healthCheckInterval = 50ms;
  std::atomic<int> runs{0};
  {
    Monitor m(o, &t);
    m.setStatus(Status::Ok, "running");
    m.addHealthCheck("count", [&] {
      ++runs;
      return runs.load() >= 3 ? CheckResult{Status::Degraded, "third run"} : CheckResult{Status::Ok};
    });
    m.start();
    ASSERT_TRUE(waitUntil([&] { return m.status() == Status::Degraded; }, 5s));
    m.setHealthChecksEnabled(false);
    const int after = runs.load();
    ASSERT_FALSE(waitUntil([&] { return runs.load() > after + 1; }, 300ms));
  }
  EXPECT_THAT(t.statusLines(), ElementsAre("ok|running", "degraded|third run"));
}

// ---- busy / idle -----------------------------------------------------------------------------

TEST(MonitorTasks, ATaskMakesItBusyAndItTurnsIdleOneDelayAfterTheLastOne) {
  RecordingTransport t;
  {
    Monitor m(options(), &t);
    m.setStatus(Status::Ok, "running");
    {
      auto a = m.trackTask();
      auto b = m.trackTask();
      EXPECT_EQ(m.status(), Status::Busy);
      EXPECT_EQ(m.message(), "Processing tasks (1 active)");
      EXPECT_EQ(m.activeTasks(), 2);
    }
    const auto ended = std::chrono::steady_clock::now();
    // Still busy within the delay (a stalled machine may reach this line after it).
    const auto st = m.status();
    EXPECT_TRUE(st == Status::Busy || std::chrono::steady_clock::now() - ended >= 100ms) << tcs::toString(st);
    ASSERT_TRUE(waitUntil([&] { return m.status() == Status::Idle; }, 5s));
    EXPECT_GE(std::chrono::steady_clock::now() - ended, 100ms);
    EXPECT_EQ(m.message(), "No active tasks");
  }
  EXPECT_THAT(t.statusLines(), ElementsAre("ok|running", "busy|Processing tasks (1 active)", "idle|No active tasks"));
}

TEST(MonitorTasks, ATaskStartingWithinTheDelayKeepsItBusy) {
  auto o = options();
  o.idleDelay = 300ms;
  Monitor m(o);
  m.trackTask().done();
  auto again = m.trackTask();  // within the delay
  EXPECT_FALSE(waitUntil([&] { return m.status() == Status::Idle; }, 600ms));
  EXPECT_EQ(m.status(), Status::Busy);
}

TEST(MonitorTasks, DoNotOverwriteAnErrorOrFailure) {
  Monitor m(options());
  m.setStatus(Status::Error, "broken");
  { auto t = m.trackTask(); }
  EXPECT_EQ(m.status(), Status::Error);
  EXPECT_FALSE(waitUntil([&] { return m.status() != Status::Error; }, 300ms));
}

TEST(MonitorTasks, CancelErrorStatusGoesBackToOkIdleOrBusy) {
  Monitor m(options());
  m.setStatus(Status::Error, "oops");
  m.cancelErrorStatus();
  EXPECT_EQ(m.status(), Status::Ok);
  EXPECT_EQ(m.message(), "Error resolved");

  auto c = m.child("worker");
  { auto t = c.trackTask(); }
  c.setStatus(Status::Degraded, "slow");
  c.cancelErrorStatus();
  EXPECT_EQ(c.status(), Status::Idle);
  auto busy = c.trackTask();
  c.setStatus(Status::Failed, "x");
  c.cancelErrorStatus();
  EXPECT_EQ(c.status(), Status::Busy);

  m.setStatus(Status::Warning, "not covered");
  m.cancelErrorStatus();
  EXPECT_EQ(m.status(), Status::Warning);
}

// ---- heartbeats ------------------------------------------------------------------------------

TEST(MonitorHeartbeats, FirstAtStartThenEveryIntervalWithSequenceUptimeAndNextExpected) {
  RecordingTransport t;
  auto o = options();
  o.heartbeatInterval = 100ms;
  {
    Monitor m(o, &t);
    m.setStatus(Status::Ok, "running");
    m.addMetrics([] { return protocol::JsonObject().set("heavy", std::int64_t{1}); });
    m.addMetrics([] { return protocol::JsonObject().set("queue", std::int64_t{3}); },
                 tcs::MetricUse::StatusAndHeartbeat);
    m.start();
    ASSERT_TRUE(waitUntil([&] { return t.dataOn("svc.heartbeat.").size() >= 4; }, 5s));
  }
  const auto hbs = t.dataOn("svc.heartbeat.");
  for (std::size_t i = 0; i < hbs.size(); ++i) {
    const auto hb = protocol::decodeData<protocol::Heartbeat>(hbs[i].dump());
    EXPECT_EQ(hb.serviceId, "cam.main");
    EXPECT_EQ(hb.status, Status::Ok);
    EXPECT_EQ(hb.sequence, i + 1);
    ASSERT_TRUE(hb.nextHeartbeatExpected);
    EXPECT_EQ(*hb.nextHeartbeatExpected - hb.timestamp, std::chrono::microseconds(100000));
    EXPECT_EQ(hb.metrics.text(), R"({"queue":3})");
    if (i > 0) {
      const auto prev = protocol::decodeData<protocol::Heartbeat>(hbs[i - 1].dump());
      EXPECT_GT(*hb.uptimeSeconds, *prev.uptimeSeconds);
      const auto gap = hb.timestamp - prev.timestamp;
      EXPECT_GE(gap, 90ms);
      EXPECT_LT(gap, 2s);
    }
  }
}

// Issue 17: a service flooding status changes faster than its transport takes them. The monitor
// thread's queue never empties; a due heartbeat still goes out between two batches, in its own
// lane (publishLatest), not after the flood.
TEST(MonitorHeartbeats, KeepTheirCadenceDuringAStatusFlood) {
  class Slow : public RecordingTransport {
   public:
    void publishPersistent(std::string_view s, std::string_view d) override {
      std::this_thread::sleep_for(20us);  // a JetStream ack per status
      RecordingTransport::publishPersistent(s, d);
    }
  } t;
  auto o = options();
  o.heartbeatInterval = 100ms;
  o.queueCapacity = 64;  // short batches: the heartbeat waits for the one being published
  std::size_t during = 0;
  {
    Monitor m(o, &t);
    m.start();
    ASSERT_TRUE(waitUntil([&] { return !t.dataOn("svc.heartbeat.").empty(); }, 5s));
    const auto before = t.dataOn("svc.heartbeat.").size();
    std::atomic<bool> stop{false};
    std::thread flood([&] {
      for (int i = 0; !stop; ++i) m.setStatus(Status::Ok, "item " + std::to_string(i));
    });
    std::this_thread::sleep_for(1500ms);
    during = t.dataOn("svc.heartbeat.").size() - before;
    stop = true;
    flood.join();
    EXPECT_GT(m.stats().statusDropped, 0u) << "not a flood: the queue never filled";
  }
  EXPECT_GE(during, 5u) << "15 heartbeats were due";
  for (const auto& s : t.sent())
    if (s.subject.starts_with("svc.heartbeat.")) {
      EXPECT_TRUE(s.latest) << "a heartbeat not in its own lane";
    }
}

TEST(MonitorHeartbeats, CarryTheOwnStatusNotTheAggregate) {
  RecordingTransport t;
  {
    Monitor m(options(), &t);
    m.setStatus(Status::Idle);
    m.child("c").setStatus(Status::Error, "x");
    m.start();
    ASSERT_TRUE(waitUntil([&] { return !t.dataOn("svc.heartbeat.").empty(); }, 5s));
  }
  EXPECT_EQ(t.dataOn("svc.heartbeat.").at(0).at("status"), "idle");
}

TEST(MonitorHeartbeats, AreWithheldWhileTheLivenessCheckFails) {
  RecordingTransport t;
  auto o = options();
  o.heartbeatInterval = 50ms;
  std::atomic<bool> alive{true};
  Monitor m(o, &t);
  m.setLivenessCheck([&] { return alive.load(); });
  m.start();
  ASSERT_TRUE(waitUntil([&] { return t.dataOn("svc.heartbeat.").size() >= 2; }, 5s));
  alive = false;
  ASSERT_TRUE(waitUntil([&] { return m.stats().heartbeatsWithheld >= 3; }, 5s));
  const auto during = t.dataOn("svc.heartbeat.").size();
  ASSERT_TRUE(waitUntil([&] { return m.stats().heartbeatsWithheld >= 5; }, 5s));
  EXPECT_LE(t.dataOn("svc.heartbeat.").size(), during + 1);  // at most one already on its way
  alive = true;
  ASSERT_TRUE(waitUntil([&] { return t.dataOn("svc.heartbeat.").size() >= during + 2; }, 5s));
}

TEST(MonitorHeartbeats, StopAfterStop) {
  RecordingTransport t;
  auto o = options();
  o.heartbeatInterval = 30ms;
  Monitor m(o, &t);
  m.start();
  ASSERT_TRUE(waitUntil([&] { return t.dataOn("svc.heartbeat.").size() >= 2; }, 5s));
  m.stop();
  const auto n = t.dataOn("svc.heartbeat.").size();
  EXPECT_FALSE(waitUntil([&] { return t.dataOn("svc.heartbeat.").size() > n; }, 200ms));
  m.setStatus(Status::Shutdown, "Service stopped");  // still published after stop()
  EXPECT_TRUE(m.flush(2s));
  EXPECT_EQ(t.statusLines().back(), "shutdown|Service stopped");
}

// ---- RPC -------------------------------------------------------------------------------------

TEST(MonitorRpc, AnswersHealthWithTheStatusAndEveryChecksResult) {
  RecordingTransport t;
  Monitor m(options(), &t);
  m.setStatus(Status::Ok, "running");
  m.addHealthCheck("camera", [] { return CheckResult{Status::Degraded, "no frames"}; });
  m.child("link").addHealthCheck("ping", [] { return Status::Ok; });
  m.start(false);
  EXPECT_EQ(t.subscribed(), "svc.rpc.cam.main.v1.>");
  const auto reply = t.call("svc.rpc.cam.main.v1.health", R"({"data":{},"meta":{}})");
  EXPECT_EQ(reply.at("service_id"), "cam.main");
  EXPECT_EQ(reply.at("status"), "degraded");
  EXPECT_EQ(reply.at("checks"), Json::parse(R"({"camera":{"status":"degraded","message":"no frames"},
                                              "link/ping":{"status":"ok"}})"));
  EXPECT_EQ(m.status(), Status::Degraded);  // the on-demand run takes effect as well
}

TEST(MonitorRpc, AnswersHealthWithoutChecksWithTheAggregateStatusAndRunsChecksAddedLater) {
  // Without a check in the tree, v1.health is answered without the tree's mutex (issue 17): from
  // the aggregate status stored at the last change, counted as the locked path counts.
  RecordingTransport t;
  Monitor m(options(), &t);
  m.setStatus(Status::Ok, "running");
  m.child("link").setStatus(Status::Error, "down");
  m.start(false);
  auto reply = t.call("svc.rpc.cam.main.v1.health");
  EXPECT_EQ(reply.at("status"), "error");
  EXPECT_TRUE(!reply.contains("checks") || reply.at("checks").empty());
  m.child("link").setStatus(Status::Ok, "up");
  EXPECT_EQ(t.call("svc.rpc.cam.main.v1.health").at("status"), "ok");
  EXPECT_EQ(m.stats().rpcRequests, 2u);
  EXPECT_EQ(m.stats().healthCheckRuns, 2u);
  const auto stats = t.call("svc.rpc.cam.main.v1.stats");
  EXPECT_EQ(stats.at("stats").at("tcs").at("rpc_requests"), 3);
  EXPECT_EQ(stats.at("stats").at("tcs").at("health_check_runs"), 2);

  m.child("link").addHealthCheck("ping", [] { return CheckResult{Status::Warning, "slow"}; });
  reply = t.call("svc.rpc.cam.main.v1.health");
  EXPECT_EQ(reply.at("status"), "warning");
  EXPECT_EQ(reply.at("checks"), Json::parse(R"({"link/ping":{"status":"warning","message":"slow"}})"));
  EXPECT_EQ(m.stats().healthCheckRuns, 3u);
}

TEST(MonitorRpc, AnswersStatsWithUptimeServiceStatsAndFrameworkCounters) {
  RecordingTransport t;
  Monitor m(options(), &t);
  m.setStatsProvider([] { return protocol::JsonObject().set("frames", std::int64_t{12}); });
  m.start(false);
  const auto reply = t.call("svc.rpc.cam.main.v1.stats");  // an empty body, as `nats req` sends
  EXPECT_EQ(reply.at("service_id"), "cam.main");
  EXPECT_GE(reply.at("uptime_seconds").get<double>(), 0.0);
  EXPECT_EQ(reply.at("stats").at("frames"), 12);
  EXPECT_TRUE(reply.at("stats").at("tcs").contains("status_published"));
}

TEST(MonitorRpc, AnswersUnknownCommandsAndMalformedRequestsWithErrors) {
  RecordingTransport t;
  Monitor m(options(), &t);
  m.start(false);
  auto r = t.call("svc.rpc.cam.main.v1.reboot");
  EXPECT_EQ(r.at("error"), "unknown_command");
  EXPECT_THAT(r.at("message").get<std::string>(), HasSubstr("reboot"));
  r = t.call("svc.rpc.cam.main.v1.start.cam.main");  // a launcher command
  EXPECT_EQ(r.at("error"), "unknown_command");
  r = t.call("svc.rpc.cam.main.v1.health", "{not json");
  EXPECT_EQ(r.at("error"), "bad_request");
  r = t.call("svc.rpc.cam.main.v1.health", "[1, 2]");  // JSON, but not an object
  EXPECT_EQ(r.at("error"), "bad_request");
  r = t.call("svc.rpc.cam.main.v1.health", "{}");  // a bare object (no envelope) is fine
  EXPECT_EQ(r.at("service_id"), "cam.main");
}

}  // namespace
