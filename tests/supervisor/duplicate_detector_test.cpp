// SPDX-License-Identifier: MIT
// The supervisor's duplicate-instance guard (supervisor/duplicate_detector.hpp), over hand-made
// status messages and heartbeats: one event per conflict episode, none for a restart or a move.
#include "duplicate_detector.hpp"

#include <gtest/gtest.h>

#include <array>
#include <variant>

namespace {

namespace p = tcs::protocol;
using tcs::Status;
using tcs::supervisor::DuplicateDetector;

const p::Timestamp kT0 = p::fromFields(std::array<std::int64_t, 7>{2026, 12, 6, 12, 0, 0, 0});

p::Timestamp at(double s) {
  return kT0 + std::chrono::microseconds(static_cast<std::int64_t>(s * 1e6));
}

/// A process publishing for `cam.main`: its host, pid and sender name.
struct Proc {
  std::string hostname;
  std::int64_t pid;
  std::string sender;
  std::string parent;
};

class ADuplicateDetector : public ::testing::Test {
 protected:
  DuplicateDetector detector{{"tel1.example.org", "tel1-systemd-launcher", std::chrono::seconds(30)}};
  Proc here{"tel1.example.org", 100, "Messenger_here", "launcher.tel1-systemd-launcher"};
  Proc there{"tel2.example.org", 200, "Messenger_there", "launcher.tel2-systemd-launcher"};
  std::vector<p::RegistryEvent> events;

  void status(const Proc& pr, double t) {
    p::StatusUpdate s;
    s.name = "cam.main";
    s.status = Status::Ok;
    s.timestamp = at(t);
    s.parent = pr.parent;
    s.pid = pr.pid;
    s.hostname = pr.hostname;
    if (auto e = detector.status(s, pr.sender, at(t))) events.push_back(*e);
  }
  void heartbeat(const Proc& pr, double t) {
    p::Heartbeat h;
    h.serviceId = "cam.main";
    h.timestamp = at(t);
    h.status = Status::Ok;
    if (auto e = detector.heartbeat(h, pr.sender, at(t))) events.push_back(*e);
  }
};

TEST_F(ADuplicateDetector, PublishesOneEventWhenTheIdRunsOnAnotherHostWithinOneHeartbeat) {
  detector.local("cam.main", 100, at(0));
  status(here, 0);
  heartbeat(here, 0);
  heartbeat(here, 10);
  status(there, 12);  // the config copied to tel2 and started there
  ASSERT_EQ(events.size(), 1u);
  const auto& e = events[0];
  EXPECT_EQ(e.serviceId, "cam.main");
  EXPECT_EQ(e.timestamp, at(12));
  EXPECT_EQ(e.parent, "launcher.tel1-systemd-launcher");
  EXPECT_EQ(e.runnerId, "tel1-systemd-launcher.cam");
  const auto& d = std::get<p::DuplicateEvent>(e.specific);
  EXPECT_EQ(d.status, Status::Warning);
  const std::vector<p::DuplicateHost> want{{"tel1.example.org", 100, "launcher.tel1-systemd-launcher"},
                                           {"tel2.example.org", 200, "launcher.tel2-systemd-launcher"}};
  EXPECT_EQ(d.hosts, want);
  // Not again per heartbeat while it lasts.
  for (double t = 13; t < 60; t += 5) {
    heartbeat(here, t);
    heartbeat(there, t + 1);
  }
  EXPECT_EQ(events.size(), 1u);
  EXPECT_TRUE(detector.inConflict("cam.main"));
}

TEST_F(ADuplicateDetector, PublishesAgainAfterTheConflictClearedAndRecurred) {
  detector.local("cam.main", 100, at(0));
  status(here, 0);
  status(there, 1);
  ASSERT_EQ(events.size(), 1u);
  // tel2's copy is stopped: 30 s after its last message it is over.
  heartbeat(here, 10);
  heartbeat(here, 20);
  heartbeat(here, 30);
  EXPECT_TRUE(detector.inConflict("cam.main"));
  heartbeat(here, 40);
  EXPECT_FALSE(detector.inConflict("cam.main"));
  EXPECT_EQ(events.size(), 1u);
  // …and started again.
  there.pid = 201;
  there.sender = "Messenger_there_again";
  status(there, 45);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(std::get<p::DuplicateEvent>(events[1].specific).hosts[1].pid, 201);
}

TEST_F(ADuplicateDetector, ARestartOnThisHostIsNoDuplicateButASecondPidAlongsideIs) {
  detector.local("cam.main", 100, at(0));
  status(here, 0);
  heartbeat(here, 10);
  // killed at 11, restarted by systemd: the new process's status may come before D-Bus tells
  // the new main PID
  Proc next{"tel1.example.org", 101, "Messenger_next", "launcher.tel1-systemd-launcher"};
  status(next, 12);
  detector.local("cam.main", 101, at(12.1));
  heartbeat(next, 22);
  EXPECT_TRUE(events.empty());
  // A hand-started second copy on the same host, alongside the unit's process.
  Proc manual{"tel1.example.org", 555, "Messenger_manual", ""};
  status(manual, 25);
  heartbeat(next, 32);
  ASSERT_EQ(events.size(), 1u);
  const auto& hosts = std::get<p::DuplicateEvent>(events[0].specific).hosts;
  ASSERT_EQ(hosts.size(), 2u);
  EXPECT_EQ(hosts[0].pid, 101);
  EXPECT_EQ(hosts[1].pid, 555);
  EXPECT_EQ(hosts[1].launcher, "launcher.tel1-systemd-launcher");  // on this host, no parent of its own
}

TEST_F(ADuplicateDetector, AServiceMovedFromAnotherHostIsNoDuplicate) {
  status(there, 0);
  heartbeat(there, 10);  // then stopped on tel2
  detector.local("cam.main", 100, at(15));
  status(here, 15);
  heartbeat(here, 25);
  EXPECT_TRUE(events.empty());
}

TEST_F(ADuplicateDetector, SeesTheOtherHostAfterASupervisorRestartFromTheUnitsMainPid) {
  // The supervisor came up after its service: it never saw the local status, only heartbeats.
  detector.local("cam.main", 100, at(50));
  heartbeat(here, 55);
  status(there, 57);
  ASSERT_EQ(events.size(), 1u);
  const std::vector<p::DuplicateHost> want{{"tel1.example.org", 100, "launcher.tel1-systemd-launcher"},
                                           {"tel2.example.org", 200, "launcher.tel2-systemd-launcher"}};
  EXPECT_EQ(std::get<p::DuplicateEvent>(events[0].specific).hosts, want);
}

TEST_F(ADuplicateDetector, IgnoresTheOtherHostWhileThisHostsUnitIsStopped) {
  status(there, 0);
  heartbeat(there, 10);
  detector.local("cam.main", 0, at(11));
  heartbeat(there, 20);
  EXPECT_TRUE(events.empty());
}

}  // namespace
