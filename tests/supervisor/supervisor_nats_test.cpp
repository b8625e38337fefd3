// SPDX-License-Identifier: MIT
// The supervisor's duplicate watch on a real nats-server (systemd faked): that the heartbeat
// subscription is really taken and dropped with its windows — as the server counts a
// connection's subscriptions (/connz?subs=1) — and that a copy on another host is reported
// through it. The window rules themselves: supervisor_rpc_test.cpp (recording transport).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fakes.hpp"
#include "nats_server.hpp"
#include "nats_tools.hpp"
#include "supervisor.hpp"
#include "tcs/nats.hpp"
#include "tcs/protocol.hpp"
#include "temp_dir.hpp"
#include "wait_until.hpp"

namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using tcs::test::NatsServer;
using tcs::test::NatsServerOptions;
using tcs::test::TempDir;
using tcs::test::waitUntil;
using ::testing::Contains;
using ::testing::Not;
namespace p = tcs::protocol;
namespace sv = tcs::supervisor;

class ASupervisorOnARealServer : public ::testing::Test {
 protected:
  void SetUp() override {
    TCS_SKIP_WITHOUT_NATS_SERVER();
    NatsServerOptions options;
    options.jetstream = false;
    options.monitorPort = NatsServer::freePort();
    server_ = std::make_unique<NatsServer>(dir_.path() / "server", options);
    server_->start();
    supervisorNats_ = connect("tcs-supervisor");
    sv::SupervisorOptions o;
    o.configPath = dir_.write("services.yaml",
                              "registry:\n  hello_world: ~\nservices:\n"
                              "  - {type: hello_world, variant: main}\n");
    o.launcherId = "here-systemd-launcher";
    o.hostname = "here.example";
    o.heartbeatWatch = 300ms;
    supervisor_ = std::make_unique<sv::Supervisor>(o, systemd_, supervisorNats_.get());
    supervisor_->start();
  }
  void TearDown() override {
    if (supervisor_) supervisor_->stop();
  }

  std::unique_ptr<tcs::NatsConnection> connect(const std::string& name) const {
    tcs::config::NatsConfig c;
    c.present = true;
    c.host = "127.0.0.1";
    c.port = server_->port();
    tcs::NatsOptions o;
    o.name = name;
    return std::make_unique<tcs::NatsConnection>(c, o);
  }
  /// The subjects the server holds subscriptions on for the connection named tcs-supervisor.
  std::vector<std::string> supervisorSubscriptions() const {
    std::vector<std::string> subjects;
    const auto connz = Json::parse(server_->monitor("/connz?subs=1&limit=64"), nullptr, false);
    if (connz.is_discarded()) return subjects;
    for (const auto& c : connz.value("connections", Json::array()))
      if (c.value("name", "") == "tcs-supervisor")
        for (const auto& s : c.value("subscriptions_list", Json::array())) subjects.push_back(s.get<std::string>());
    return subjects;
  }
  bool hearsHeartbeats() const {
    const auto subs = supervisorSubscriptions();
    return std::find(subs.begin(), subs.end(), "svc.heartbeat.>") != subs.end();
  }
  void mainPidIs(std::uint64_t pid) {
    systemd_.callbacks.propertiesChanged(sv::PropertyChange{"tcs@hello_world:main.service",
                                                            "/u",
                                                            std::string(sv::kServiceInterface),
                                                            {{"MainPID", pid}, {"ExecMainPID", pid}},
                                                            {}});
  }

  TempDir dir_;
  std::unique_ptr<NatsServer> server_;
  sv::test::FakeSystemd systemd_;
  std::unique_ptr<tcs::NatsConnection> supervisorNats_;
  std::unique_ptr<sv::Supervisor> supervisor_;
};

TEST_F(ASupervisorOnARealServer, HoldsItsHeartbeatSubscriptionOnlyWhileAWindowIsOpen) {
  ASSERT_TRUE(waitUntil([&] { return hearsHeartbeats(); }, 5s)) << "after its start";
  EXPECT_THAT(supervisorSubscriptions(), Contains("svc.status.>"));
  ASSERT_TRUE(waitUntil([&] { return !hearsHeartbeats(); }, 5s)) << "the window ended";
  EXPECT_THAT(supervisorSubscriptions(), Contains("svc.status.>")) << "statuses are heard always";
  mainPidIs(4242);
  ASSERT_TRUE(waitUntil([&] { return hearsHeartbeats(); }, 5s)) << "after the unit's new main PID";
  ASSERT_TRUE(waitUntil([&] { return !hearsHeartbeats(); }, 5s));
  supervisor_->stop();
  EXPECT_THAT(supervisorSubscriptions(), Not(Contains("svc.heartbeat.>")));
}

TEST_F(ASupervisorOnARealServer, ReportsACopyOnAnotherHostAndHearsHeartbeatsWhileTheConflictLasts) {
  mainPidIs(4242);
  ASSERT_TRUE(waitUntil([&] { return hearsHeartbeats(); }, 5s));
  ASSERT_TRUE(waitUntil([&] { return !hearsHeartbeats(); }, 5s));
  auto observer = connect("observer");
  tcs::test::Inbox duplicates;
  auto sub = observer->subscribe("svc.registry.duplicate.>", duplicates.handler());
  ASSERT_TRUE(observer->flush(5s));
  auto copy = connect("the-other-copy");
  p::StatusUpdate u;
  u.name = "hello_world.main";
  u.status = tcs::Status::Ok;
  u.timestamp = p::now();
  u.pid = 999;
  u.hostname = "there.example";
  u.parent = "launcher.there-systemd-launcher";
  copy->publish("svc.status.hello_world.main", p::encode(u, p::processMetaGenerator().next()));
  ASSERT_TRUE(copy->flush(5s));
  ASSERT_TRUE(waitUntil([&] { return duplicates.size() == 1; }, 5s));
  const auto event = Json::parse(duplicates.messages()[0].data).at("data");
  EXPECT_EQ(event.at("hosts").size(), 2U);
  // Only a message can find the conflict over: the subscription stays for many windows.
  ASSERT_TRUE(waitUntil([&] { return hearsHeartbeats(); }, 5s));
  EXPECT_FALSE(waitUntil([&] { return !hearsHeartbeats(); }, 1500ms));
}

}  // namespace
