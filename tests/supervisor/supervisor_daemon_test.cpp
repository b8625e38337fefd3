// SPDX-License-Identifier: MIT
// Unit tests of the tcs-supervisor daemon loop (supervisor/daemon.hpp) over fakes: systemd
// (ISystemdManager), NATS (a recording transport and a JetStream administration that records
// what it is asked), sd_notify (a recording notifier) and the signalfd (a pipe carrying
// signalfd_siginfo records).
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <mutex>

#include "daemon.hpp"
#include "fakes.hpp"
#include "tcs/exit_code.hpp"
#include "temp_dir.hpp"
#include "wait_until.hpp"

namespace tcs::supervisor::test {
namespace {

using namespace std::chrono_literals;
using tcs::test::TempDir;
using tcs::test::waitUntil;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class RecordingNotifier : public INotifier {
 public:
  void notify(std::string_view message) override {
    std::lock_guard lock(mutex_);
    messages_.emplace_back(message);
  }
  std::optional<std::chrono::microseconds> watchdogInterval() const override { return watchdog; }
  std::vector<std::string> messages() {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  std::size_t count(std::string_view message) {
    const auto all = messages();
    return static_cast<std::size_t>(std::count(all.begin(), all.end(), message));
  }

  std::optional<std::chrono::microseconds> watchdog;

 private:
  std::mutex mutex_;
  std::vector<std::string> messages_;
};

class FakeNatsLink : public INatsLink {
 public:
  INatsTransport& transport() override { return nats; }
  StreamOutcome ensureStream(const StreamSpec& spec) override {
    std::lock_guard lock(mutex_);
    ensured_.push_back(spec.name);
    replicas_.push_back(spec.replicas);
    return outcome;
  }
  void setOutcome(StreamOutcome o) {
    std::lock_guard lock(mutex_);
    outcome = o;
  }
  std::string lastError() const override { return error; }
  std::vector<int> replicas() {
    std::lock_guard lock(mutex_);
    return replicas_;
  }
  std::vector<std::string> ensured() {
    std::lock_guard lock(mutex_);
    return ensured_;
  }

  RecordingNats nats;
  StreamOutcome outcome = StreamOutcome::Created;  // set before start(), or by setOutcome()
  std::string error;

 private:
  std::mutex mutex_;
  std::vector<std::string> ensured_;
  std::vector<int> replicas_;
};

constexpr const char* kConfig = R"(nats: {host: 127.0.0.1, port: 4222}
registry:
  hello_world: ~
services:
  - {type: hello_world, variant: main, restart: on-failure}
  - {type: hello_world, variant: spare, restart: "no"}
)";

constexpr const char* kReady = "READY=1\nSTATUS=supervising 2 services as launcher.vm-systemd-launcher";

class ADaemon : public ::testing::Test {
 protected:
  void SetUp() override {
    configPath = dir.write("services.yaml", kConfig);
    ASSERT_EQ(::pipe2(signalPipe, O_NONBLOCK | O_CLOEXEC), 0);
  }
  void TearDown() override {
    if (result.valid()) {
      send(SIGTERM);
      result.wait();
    }
    ::close(signalPipe[0]);
    ::close(signalPipe[1]);
  }

  void start(bool withNats = true) {
    SupervisorOptions o;
    o.configPath = configPath;
    o.streamRetry = streamRetry;
    o.launcherId = "vm-systemd-launcher";
    o.hostname = "vm.example";
    daemon =
        std::make_unique<Daemon>(o, DaemonParts{systemd, withNats ? &link : nullptr, notifier, signalPipe[0], events});
    result = std::async(std::launch::async, [this] { return daemon->run(); });
  }
  bool ready() {
    return waitUntil([&] { return notifier.count(kReady) == 1; }, 5s);
  }
  // A signal as the signalfd would deliver it.
  void send(int signo) {
    signalfd_siginfo si{};
    si.ssi_signo = static_cast<std::uint32_t>(signo);
    ASSERT_EQ(::write(signalPipe[1], &si, sizeof si), static_cast<ssize_t>(sizeof si));
  }
  // The daemon's exit status (-1: still running after 5 s).
  int exitStatus() {
    if (result.wait_for(5s) != std::future_status::ready) return -1;
    return result.get();
  }

  TempDir dir;
  std::filesystem::path configPath;
  std::chrono::milliseconds streamRetry{std::chrono::seconds(5)};
  FakeSystemd systemd;
  FakeNatsLink link;
  RecordingNotifier notifier;
  DaemonEvents events;
  int signalPipe[2] = {-1, -1};
  std::unique_ptr<Daemon> daemon;
  std::future<int> result;
};

TEST_F(ADaemon, ReportsReadyAndStopsWithExitStatus0OnSigterm) {
  start();
  ASSERT_TRUE(ready());
  EXPECT_TRUE(systemd.subscribed);
  send(SIGTERM);
  EXPECT_EQ(exitStatus(), exit_code::kOk);
  EXPECT_EQ(notifier.messages().back(), "STOPPING=1\nSTATUS=stopping");
  EXPECT_EQ(notifier.messages().front(), kReady);
}

TEST_F(ADaemon, StopsOnSigintToo) {
  start();
  ASSERT_TRUE(ready());
  send(SIGINT);
  EXPECT_EQ(exitStatus(), exit_code::kOk);
}

TEST_F(ADaemon, EnsuresTheProtocolStreamsWhenNatsConnectsAndAgainOnEveryReconnect) {
  start();
  ASSERT_TRUE(waitUntil([&] { return link.ensured().size() == 3; }, 5s));
  EXPECT_THAT(link.ensured(), ElementsAre("svc_registry", "svc_status", "svc_heartbeat"));
  events.natsConnected();  // what the NATS reconnected callback calls
  ASSERT_TRUE(waitUntil([&] { return link.ensured().size() == 6; }, 5s));
  send(SIGTERM);
  EXPECT_EQ(exitStatus(), exit_code::kOk);
  EXPECT_EQ(link.ensured().size(), 6U);
}

TEST_F(ADaemon, EnsuresTheStreamsWithOneReplicaByDefault) {
  start();
  ASSERT_TRUE(waitUntil([&] { return link.ensured().size() == 3; }, 5s));
  EXPECT_THAT(link.replicas(), ElementsAre(1, 1, 1));
}

TEST_F(ADaemon, EnsuresTheStreamsWithTheConfiguredStreamReplicas) {
  configPath = dir.write(
      "services.yaml", std::string(kConfig).replace(0, 35, "nats: {host: 127.0.0.1, port: 4222, stream_replicas: 3}"));
  start();
  ASSERT_TRUE(waitUntil([&] { return link.ensured().size() == 3; }, 5s));
  EXPECT_THAT(link.replicas(), ElementsAre(3, 3, 3));
}

TEST_F(ADaemon, EnsuresNoStreamWhileNatsIsDisconnected) {
  link.nats.up = false;
  start();
  ASSERT_TRUE(ready());
  send(SIGTERM);  // handled after the loop's first turn
  EXPECT_EQ(exitStatus(), exit_code::kOk);
  EXPECT_TRUE(link.ensured().empty());
}

TEST_F(ADaemon, StopsEnsuringStreamsAtTheFirstThatSaysJetStreamIsUnavailable) {
  link.outcome = StreamOutcome::Unavailable;
  start();
  ASSERT_TRUE(ready());
  send(SIGTERM);
  EXPECT_EQ(exitStatus(), exit_code::kOk);
  EXPECT_THAT(link.ensured(), ElementsAre("svc_registry"));
}

TEST_F(ADaemon, AsksJetStreamAgainUntilItAnswersAfterItWasUnavailable) {
  // A cluster without a meta leader (a node lost) answers nothing for a few seconds: the
  // streams are ensured once it answers, without waiting for another reconnection.
  streamRetry = 20ms;
  link.setOutcome(StreamOutcome::Unavailable);
  start();
  ASSERT_TRUE(waitUntil([&] { return link.ensured().size() >= 3; }, 5s));  // asked again, backing off
  link.setOutcome(StreamOutcome::Unchanged);
  ASSERT_TRUE(waitUntil([&] { return link.ensured().size() >= 3 && link.ensured().back() == "svc_heartbeat"; }, 10s));
  const auto n = link.ensured().size();
  EXPECT_FALSE(waitUntil([&] { return link.ensured().size() > n; }, 300ms));  // and no more once they are in place
  send(SIGTERM);
  EXPECT_EQ(exitStatus(), exit_code::kOk);
}

TEST_F(ADaemon, SupervisesWithoutNatsWhenTheConfigHasNone) {
  start(/*withNats=*/false);
  ASSERT_TRUE(ready());
  send(SIGTERM);
  EXPECT_EQ(exitStatus(), exit_code::kOk);
  EXPECT_TRUE(link.ensured().empty());
  EXPECT_TRUE(link.nats.sent().empty());
}

TEST_F(ADaemon, EndsWithExitStatus1WhenNatsIsClosedForGood) {
  start();
  ASSERT_TRUE(ready());
  link.error = "Authorization Violation";
  events.natsClosed();  // what the NATS closed callback calls
  EXPECT_EQ(exitStatus(), exit_code::kFailure);
  EXPECT_THAT(notifier.messages(), Contains("STATUS=failed: NATS connection closed for good: Authorization Violation"));
  EXPECT_EQ(notifier.messages().back(), "STOPPING=1");
}

TEST_F(ADaemon, ReconnectsToTheBusAfterALossAndReadsEveryUnitAgain) {
  systemd.loaded = {
      {"tcs@hello_world:main.service", "", "loaded", "active", "running", "/org/freedesktop/systemd1/unit/x", 0}};
  link.outcome = StreamOutcome::Unchanged;  // no stream created: no `declared` for that
  start();
  ASSERT_TRUE(ready());
  ASSERT_THAT(systemd.requests(), ElementsAre("tcs@hello_world:main.service"));
  const auto declaredAtStart = link.nats.registry("declared").size();
  ASSERT_GT(declaredAtStart, 0U);
  systemd.reconnectFailures = 1;               // the bus is not back at the first attempt …
  systemd.callbacks.busLost("bus restarted");  // … which the wake-up makes at once; the next comes a second later
  ASSERT_TRUE(waitUntil([&] { return systemd.requests().size() == 2; }, 5s));
  EXPECT_THAT(systemd.calls(), ElementsAre("reconnect"));
  EXPECT_EQ(systemd.reconnectFailures, 0);
  // declared again: the registry marks where its history resumes after the gap
  ASSERT_TRUE(waitUntil([&] { return link.nats.registry("declared").size() == 2 * declaredAtStart; }, 5s));
  send(SIGTERM);
  EXPECT_EQ(exitStatus(), exit_code::kOk);
}

TEST_F(ADaemon, ReloadsOnSighupAndKeepsRunning) {
  start();
  ASSERT_TRUE(ready());
  dir.write("services.yaml", std::string(kConfig) + "  - {type: hello_world, variant: third}\n");
  send(SIGHUP);
  ASSERT_TRUE(waitUntil([&] { return systemd.calls().size() == 2; }, 5s));
  EXPECT_THAT(systemd.calls(), ElementsAre("daemon-reload", "start tcs@hello_world:third.service"));
  EXPECT_EQ(result.wait_for(0s), std::future_status::timeout) << "a reload does not stop the daemon";
  send(SIGTERM);
  EXPECT_EQ(exitStatus(), exit_code::kOk);
}

TEST_F(ADaemon, PingsTheWatchdogEveryHalfIntervalWhenSystemdAsksForIt) {
  notifier.watchdog = 100ms;  // pings every 50 ms
  start();
  ASSERT_TRUE(waitUntil([&] { return notifier.count("WATCHDOG=1") >= 4; }, 5s));
  send(SIGTERM);
  EXPECT_EQ(exitStatus(), exit_code::kOk);
}

TEST_F(ADaemon, NeverPingsTheWatchdogWhenSystemdDoesNotAskForIt) {
  start();
  ASSERT_TRUE(ready());
  std::this_thread::sleep_for(100ms);  // a daemon that pinged would have done so at once
  send(SIGTERM);
  EXPECT_EQ(exitStatus(), exit_code::kOk);
  EXPECT_EQ(notifier.count("WATCHDOG=1"), 0U);
}

TEST_F(ADaemon, EndsWithExitStatus78WhenTheConfigCannotBeRead) {
  configPath = dir / "missing.yaml";
  start();
  EXPECT_EQ(exitStatus(), exit_code::kConfig);
  ASSERT_FALSE(notifier.messages().empty());
  EXPECT_THAT(notifier.messages().front(), HasSubstr("STATUS=failed: "));
  EXPECT_THAT(notifier.messages(), Not(Contains(HasSubstr("READY=1"))));
}

TEST_F(ADaemon, EndsWithExitStatus1WhenSystemdRefusesTheSubscription) {
  systemd.refuseSubscribe = true;
  start();
  EXPECT_EQ(exitStatus(), exit_code::kFailure);
  ASSERT_EQ(notifier.messages().size(), 1U);
  EXPECT_THAT(notifier.messages().front(),
              HasSubstr("STATUS=failed: Subscribe: org.freedesktop.DBus.Error.AccessDenied"));
}

}  // namespace
}  // namespace tcs::supervisor::test
