// SPDX-License-Identifier: MIT
// Real systemd 252 signal sequences (tests/supervisor/recordings, made by record_fixtures.sh
// with tcs-dbus-record) replayed through UnitTracker: the exact registry events they must give.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replay.hpp"

namespace tcs::supervisor::test {
namespace {

using ::testing::ElementsAre;

const std::string kHost = "tcs-test.example.org";

TrackedService service(const std::string& type, const std::string& variant, const std::string& restart,
                       int restartMax = 0) {
  TrackedService s;
  s.serviceId = type + "." + variant;
  s.restartPolicy = restart;
  s.restartMax = restartMax;
  s.parent = "launcher.host-systemd-launcher";
  s.runnerId = "host-systemd-launcher." + type;
  s.hostname = kHost;
  return s;
}

std::vector<p::RegistryEvent> replayFile(const std::string& name, const TrackedService& s) {
  Replayer replayer(s);
  auto events = replayer.feed(load(std::string(TCS_RECORDINGS_DIR) + "/" + name + ".jsonl"));
  for (const auto& e : events) {
    EXPECT_EQ(e.serviceId, s.serviceId);
    EXPECT_EQ(e.parent, s.parent);
    EXPECT_EQ(e.runnerId, s.runnerId);
    EXPECT_GT(e.timestamp.time_since_epoch().count(), 0) << describe(e);
  }
  return events;
}

std::string start(int pid) {
  return "start{startup,host=" + kHost + ",pid=" + std::to_string(pid) + "}";
}

TEST(UnitTrackerReplay, ACleanStopIsStoppingThenStopTerminated) {
  const auto events = replayFile("clean_stop", service("test.signal", "clean", "on-failure"));
  EXPECT_THAT(describe(events), ElementsAre(start(97), "ready{ok,startup=0.090174}", "stopping{shutdown,terminated}",
                                            "stop{shutdown,terminated,exit=0}"));
  // Timestamps are systemd's: the fork, READY=1 (ActiveEnterTimestamp).
  EXPECT_EQ(events.at(1).timestamp.time_since_epoch().count(), 1795642001860790);
}

TEST(UnitTrackerReplay, KillDashNineIsACrashThatRestarts) {
  const auto events = replayFile("sigkill", service("test.signal", "kill", "on-failure"));
  EXPECT_THAT(
      describe(events),
      ElementsAre(start(117), "ready{ok,startup=0.109052}", "crashed{error,exit=-9,on-failure,will_restart=1,signal}",
                  "restarting{startup,attempt=1,max=null}", start(134), "ready{ok,startup=0.056869}",
                  "stopping{shutdown,terminated}", "stop{shutdown,terminated,exit=0}"));
}

TEST(UnitTrackerReplay, WatchdogKillIsACrashWithResultWatchdog) {
  const auto events = replayFile("watchdog", service("test.hang", "wd", "on-failure"));
  // SIGABRT from the watchdog: exit_code -6, result watchdog; no `stopping` for the kill
  // (deactivating/stop-watchdog). Its restarted run is then stopped cleanly.
  EXPECT_THAT(
      describe(events),
      ElementsAre(start(159), "ready{ok,startup=0.052365}", "crashed{error,exit=-6,on-failure,will_restart=1,watchdog}",
                  "restarting{startup,attempt=1,max=null}", start(211), "ready{ok,startup=0.082623}",
                  "stopping{shutdown,terminated}", "stop{shutdown,terminated,exit=0}"));
}

TEST(UnitTrackerReplay, StartLimitGivesFailedAfterExactlyTwoRestarts) {
  const auto events = replayFile("start_limit", service("test.crash", "limited", "on-failure", 2));
  // systemd 252 still goes to auto-restart after the 3rd crash (it learns about the limit when
  // the restart job runs), so that crash says will_restart; the refused restart is `failed`.
  EXPECT_THAT(
      describe(events),
      ElementsAre(start(237), "ready{ok,startup=0.092403}", "crashed{error,exit=3,on-failure,will_restart=1,exit-code}",
                  "restarting{startup,attempt=1,max=2}", start(251), "ready{ok,startup=0.132092}",
                  "crashed{error,exit=3,on-failure,will_restart=1,exit-code}", "restarting{startup,attempt=2,max=2}",
                  start(266), "ready{ok,startup=0.063650}", "crashed{error,exit=3,on-failure,will_restart=1,exit-code}",
                  "failed{failed,restart_limit_reached,restarts=2}"));
}

TEST(UnitTrackerReplay, SingleShotSuccessIsACompletedStop) {
  const auto events = replayFile("single_shot", service("test.single_shot", "ok", "no"));
  EXPECT_THAT(describe(events), ElementsAre(start(295), "ready{ok,startup=0.052724}", "stopping{shutdown,completed}",
                                            "stop{shutdown,completed,exit=0}"));
}

TEST(UnitTrackerReplay, ConfigErrorAtStartIsStartFailed) {
  // exit 78 before READY=1: RestartPreventExitStatus=78 keeps on-failure from restarting it.
  const auto events = replayFile("start_failure", service("test.crash", "badcfg", "on-failure"));
  EXPECT_THAT(describe(events), ElementsAre(start(319), "crashed{failed,exit=78,on-failure,will_restart=0,exit-code}",
                                            "failed{failed,start_failed,restarts=0}"));
}

TEST(UnitTrackerReplay, AStopWhileActivatingIsARequestedStopThatNeverWasReady) {
  // SIGTERM during onStart() kills it (exit -15, Result success): a requested stop, never ready.
  const auto events = replayFile("stop_activating", service("test.slow_start", "slow", "on-failure"));
  EXPECT_THAT(describe(events),
              ElementsAre(start(340), "stopping{shutdown,terminated}", "stop{shutdown,terminated,exit=-15}"));
}

TEST(UnitTrackerReplay, ASupervisorStartedMidCrashLoopReportsOnlyWhatFollows) {
  // The first state is a snapshot in auto-restart (NRestarts 0): no event for it, and the
  // restarts that follow are numbered from systemd's NRestarts.
  const auto events = replayFile("mid_crash_loop", service("test.crash", "loop", "on-failure"));
  EXPECT_THAT(describe(events),
              ElementsAre("restarting{startup,attempt=1,max=null}", start(390), "ready{ok,startup=0.057372}",
                          "crashed{error,exit=3,on-failure,will_restart=1,exit-code}",
                          "restarting{startup,attempt=2,max=null}", start(418), "ready{ok,startup=0.053206}",
                          "stopping{shutdown,terminated}", "stop{shutdown,terminated,exit=0}"));
}

// Every recording, fed twice over (each signal delivered twice in a row, as systemd often
// does itself), gives the same events: duplicates are harmless.
class AUnitTrackerFedDuplicatedSignals : public ::testing::TestWithParam<const char*> {};

TEST_P(AUnitTrackerFedDuplicatedSignals, ReportsTheSameEventsAsFedThemOnce) {
  const auto s = service("test.x", "y", "on-failure", 2);
  const auto lines = load(std::string(TCS_RECORDINGS_DIR) + "/" + GetParam() + ".jsonl");
  Replayer once(s), twice(s);
  const auto expected = describe(once.feed(lines));
  std::vector<recording::Line> doubled;
  for (const auto& line : lines) {
    doubled.push_back(line);
    if (std::holds_alternative<PropertyChange>(line.entry) || std::holds_alternative<JobRemoved>(line.entry))
      doubled.push_back(line);
  }
  EXPECT_EQ(describe(twice.feed(doubled)), expected);
  EXPECT_FALSE(expected.empty());
}

INSTANTIATE_TEST_SUITE_P(Recordings, AUnitTrackerFedDuplicatedSignals,
                         ::testing::Values("clean_stop", "sigkill", "watchdog", "start_limit", "single_shot",
                                           "start_failure", "stop_activating", "mid_crash_loop"));

// Starting the supervisor at any point of a recording (a snapshot of the state so far, then the
// rest) never reports anything for the past, and never reports an event twice.
TEST(UnitTrackerReplay, ASupervisorStartedAtAnyPointOfTheStartLimitLoopReportsTheRestOfIt) {
  const auto s = service("test.crash", "limited", "on-failure", 2);
  const auto lines = load(std::string(TCS_RECORDINGS_DIR) + "/start_limit.jsonl");
  Replayer full(s);
  const auto all = describe(full.feed(lines));
  // The line of the refused restart's JobRemoved (`failed`).
  std::size_t refusedAt = 0;
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (const auto* j = std::get_if<JobRemoved>(&lines[i].entry); j && j->result == "failed") refusedAt = i;
  ASSERT_GT(refusedAt, 0u);
  for (std::size_t cut = 0; cut < lines.size(); ++cut) {
    // The state at the cut, as a snapshot (Service then Unit, like requestUnitProperties()).
    UnitSnapshot state;
    for (std::size_t i = 0; i < cut; ++i)
      if (const auto* c = std::get_if<PropertyChange>(&lines[i].entry)) state.apply(*c);
    if (state.activeState.empty()) continue;
    Replayer late(s);
    PropertyChange svc{"u", "/p", std::string(kServiceInterface), {}, {}, PropertyChange::Origin::Snapshot};
    svc.changed = {{"Result", state.result},
                   {"NRestarts", std::uint64_t{state.nRestarts}},
                   {"MainPID", std::uint64_t{state.mainPid}},
                   {"ExecMainPID", std::uint64_t{state.execMainPid}},
                   {"ExecMainCode", std::int64_t{state.execMainCode}},
                   {"ExecMainStatus", std::int64_t{state.execMainStatus}},
                   {"ExecMainStartTimestamp", state.execMainStartTimestamp}};
    PropertyChange unit{"u", "/p", std::string(kUnitInterface), {}, {}, PropertyChange::Origin::Snapshot};
    unit.changed = {{"ActiveState", state.activeState},
                    {"SubState", state.subState},
                    {"JobId", std::uint64_t{state.jobId}},
                    {"StateChangeTimestamp", state.stateChangeTimestamp},
                    {"ActiveEnterTimestamp", state.activeEnterTimestamp}};
    EXPECT_TRUE(late.tracker().update(svc).empty());
    EXPECT_TRUE(late.tracker().update(unit).empty()) << "cut " << cut;
    const auto rest =
        describe(late.feed(std::vector<recording::Line>(lines.begin() + static_cast<long>(cut), lines.end())));
    if (cut > refusedAt) {
      EXPECT_TRUE(rest.empty()) << "cut " << cut << ": the limit was hit before the supervisor started";
      continue;
    }
    if ((state.activeState == "inactive" || state.activeState == "failed") && state.jobId != 0 &&
        state.nRestarts == 3) {
      // Started in the few µs while systemd runs the refused restart job (inactive/dead, then
      // failed, with the job pending): nothing tells that job from a manual start job, so the
      // refusal is reported as a failed start (doc/supervisor.md, limitations).
      EXPECT_EQ(rest, std::vector<std::string>{"failed{failed,start_failed,restarts=3}"}) << "cut " << cut;
      continue;
    }
    // What comes after the cut is a tail of the full sequence (nothing invented, nothing twice)…
    ASSERT_LE(rest.size(), all.size()) << "cut " << cut;
    EXPECT_EQ(rest, std::vector<std::string>(all.end() - static_cast<long>(rest.size()), all.end())) << "cut " << cut;
    // … and the limit is reported.
    ASSERT_FALSE(rest.empty()) << "cut " << cut;
    EXPECT_EQ(rest.back(), "failed{failed,restart_limit_reached,restarts=2}") << "cut " << cut;
  }
}

}  // namespace
}  // namespace tcs::supervisor::test
