// SPDX-License-Identifier: MIT
// UnitTracker on hand-written sequences: the edges the recordings do not cover (partial
// updates, duplicates, snapshots at awkward moments, stop timeouts, refused starts, …). The
// sequences follow what systemd 252 sends (Service change, then Unit change; see the recordings).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>

#include "replay.hpp"

namespace tcs::supervisor::test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Values = std::map<std::string, PropertyValue>;

constexpr std::uint64_t kT0 = 1'800'000'000'000'000;  // µs

class Tracker : public ::testing::Test {
 protected:
  TrackedService service(const std::string& restart, int restartMax = 0) {
    return TrackedService{
        "test.x.main", restart,   restartMax, "launcher.h-systemd-launcher", "h-systemd-launcher.test.x",
        "h",           {{78}, {}}};
  }
  void make(const std::string& restart, int restartMax = 0) { tracker_.emplace(service(restart, restartMax)); }

  std::vector<std::string> svc(Values v, PropertyChange::Origin o = PropertyChange::Origin::Signal) {
    return describe(tracker_->update(PropertyChange{"u", "/p", std::string(kServiceInterface), std::move(v), {}, o}));
  }
  std::vector<std::string> unit(Values v, PropertyChange::Origin o = PropertyChange::Origin::Signal) {
    return describe(tracker_->update(PropertyChange{"u", "/p", std::string(kUnitInterface), std::move(v), {}, o}));
  }
  // One flush of systemd: the Service change, then the Unit change; the events of both.
  std::vector<std::string> flush(Values service, Values unitValues) {
    auto a = svc(std::move(service));
    auto b = unit(std::move(unitValues));
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }
  std::vector<std::string> job(std::uint32_t id, const std::string& result) {
    return describe(tracker_->jobRemoved(
        JobRemoved{id, "/org/freedesktop/systemd1/job/" + std::to_string(id), "u", result}, kReplayNow));
  }

  // A unit loaded by a start job: fork (pid, at t), activating, then READY=1 at t + 50 ms.
  void startAndReady(std::uint32_t pid, std::uint64_t t, std::uint32_t nRestarts = 0) {
    EXPECT_THAT(flush({{"MainPID", std::uint64_t{pid}},
                       {"ExecMainPID", std::uint64_t{pid}},
                       {"ExecMainStartTimestamp", t},
                       {"ExecMainCode", std::int64_t{0}},
                       {"Result", "success"},
                       {"NRestarts", std::uint64_t{nRestarts}}},
                      {{"ActiveState", "activating"}, {"SubState", "start"}, {"StateChangeTimestamp", t}}),
                ElementsAre(start(pid)));
    EXPECT_THAT(unit({{"ActiveState", "active"},
                      {"SubState", "running"},
                      {"ActiveEnterTimestamp", t + 50'000},
                      {"StateChangeTimestamp", t + 50'000}}),
                ElementsAre("ready{ok,startup=0.050000}"));
  }
  // The restart systemd makes after `auto-restart`: a new process, then READY=1.
  void startAndReadyAfterRestart(std::uint32_t pid, std::uint64_t t) {
    const auto events = flush({{"MainPID", std::uint64_t{pid}},
                               {"ExecMainPID", std::uint64_t{pid}},
                               {"ExecMainStartTimestamp", t},
                               {"ExecMainCode", std::int64_t{0}},
                               {"Result", "success"},
                               {"NRestarts", std::uint64_t{1}}},
                              {{"ActiveState", "activating"}, {"SubState", "start"}, {"StateChangeTimestamp", t}});
    EXPECT_THAT(events, ElementsAre(::testing::StartsWith("restarting{"), start(pid)));
    EXPECT_THAT(unit({{"ActiveState", "active"},
                      {"SubState", "running"},
                      {"ActiveEnterTimestamp", t + 50'000},
                      {"StateChangeTimestamp", t + 50'000}}),
                ElementsAre("ready{ok,startup=0.050000}"));
  }
  static Values exited(int status, const std::string& result) {
    return {{"MainPID", std::uint64_t{0}},
            {"ExecMainCode", std::int64_t{kCldExited}},
            {"ExecMainStatus", std::int64_t{status}},
            {"Result", result}};
  }
  static Values killed(int sig, const std::string& result) {
    return {{"MainPID", std::uint64_t{0}},
            {"ExecMainCode", std::int64_t{kCldKilled}},
            {"ExecMainStatus", std::int64_t{sig}},
            {"Result", result}};
  }
  static Values state(const std::string& active, const std::string& sub, std::uint64_t t, std::uint32_t jobId = 0) {
    return {{"ActiveState", active}, {"SubState", sub}, {"StateChangeTimestamp", t}, {"JobId", std::uint64_t{jobId}}};
  }
  static std::string start(std::uint32_t pid) { return "start{startup,host=h,pid=" + std::to_string(pid) + "}"; }

  std::optional<UnitTracker> tracker_;
};

TEST_F(Tracker, AUnitThatPreventsRestartOnAnotherStatusIsJudgedByItsOwnSetting) {
  make("on-failure");
  // The snapshot (GetAll) carries the unit's RestartPreventExitStatus=3 SIGUSR1, not the template's 78.
  EXPECT_THAT(svc({{"RestartPreventExitStatus", ExitStatusSet{{3}, {SIGUSR1}}}, {"Restart", "on-failure"}},
                  PropertyChange::Origin::Snapshot),
              IsEmpty());
  EXPECT_THAT(unit(state("inactive", "dead", kT0 - 1), PropertyChange::Origin::Snapshot), IsEmpty());
  startAndReady(10, kT0);
  EXPECT_THAT(flush(exited(3, "exit-code"), state("failed", "failed", kT0 + 1'000'000)),
              ElementsAre("crashed{failed,exit=3,on-failure,will_restart=0,exit-code}"));
  startAndReady(11, kT0 + 2'000'000);
  EXPECT_THAT(flush(exited(78, "exit-code"), state("failed", "failed", kT0 + 3'000'000)),
              ElementsAre("crashed{error,exit=78,on-failure,will_restart=1,exit-code}"))
      << "78 is the template's, not this unit's";
  EXPECT_THAT(unit(state("activating", "auto-restart", kT0 + 3'100'000, 9)), IsEmpty());
  startAndReadyAfterRestart(12, kT0 + 4'000'000);
  EXPECT_THAT(flush(killed(SIGUSR1, "signal"), state("failed", "failed", kT0 + 5'000'000)),
              ElementsAre("crashed{failed,exit=-10,on-failure,will_restart=0,signal}"));
}

TEST_F(Tracker, WithoutTheUnitsSettingFallsBackToTheTemplatesRestartPreventExitStatus) {
  make("on-failure");
  EXPECT_THAT(unit(state("inactive", "dead", kT0 - 1), PropertyChange::Origin::Snapshot), IsEmpty());
  EXPECT_FALSE(tracker_->snapshot().restartPreventExitStatus.has_value());
  startAndReady(10, kT0);
  EXPECT_THAT(flush(exited(78, "exit-code"), state("failed", "failed", kT0 + 1'000'000)),
              ElementsAre("crashed{failed,exit=78,on-failure,will_restart=0,exit-code}"));
}

TEST_F(Tracker, ServiceChangesAloneDecideNothing) {
  make("on-failure");
  tracker_->unitLoaded();
  // The new main PID is merged, but events wait for the Unit change that follows.
  EXPECT_THAT(
      svc({{"MainPID", std::uint64_t{10}}, {"ExecMainPID", std::uint64_t{10}}, {"ExecMainStartTimestamp", kT0}}),
      IsEmpty());
  EXPECT_THAT(unit(state("activating", "start", kT0)), ElementsAre(start(10)));
}

TEST_F(Tracker, PartialUpdatesMergeWithWhatIsKnown) {
  make("on-failure");
  tracker_->unitLoaded();
  startAndReady(10, kT0);
  // Only the changed values: Result and the exit in one change, then just the states.
  EXPECT_THAT(svc({{"Result", "exit-code"}}), IsEmpty());
  EXPECT_THAT(svc({{"MainPID", std::uint64_t{0}},
                   {"ExecMainCode", std::int64_t{kCldExited}},
                   {"ExecMainStatus", std::int64_t{2}}}),
              IsEmpty());
  EXPECT_THAT(unit({{"ActiveState", "failed"}, {"SubState", "failed"}}),
              ElementsAre("crashed{error,exit=2,on-failure,will_restart=1,exit-code}"));
  EXPECT_EQ(tracker_->snapshot().execMainPid, 10u);
  EXPECT_EQ(tracker_->runState(), UnitTracker::RunState::AutoRestart);
}

TEST_F(Tracker, DuplicateSignalsGiveNoDuplicateEvents) {
  make("no");
  tracker_->unitLoaded();
  startAndReady(10, kT0);
  EXPECT_THAT(unit(state("active", "running", kT0 + 50'000)), IsEmpty());
  EXPECT_THAT(flush(exited(0, "success"), state("inactive", "dead", kT0 + 1'000'000)),
              ElementsAre("stop{shutdown,completed,exit=0}"));
  // The same end again, the unit unloaded and loaded again: a stop is reported once.
  EXPECT_THAT(flush(exited(0, "success"), state("inactive", "dead", kT0 + 1'000'000)), IsEmpty());
  tracker_->unitLoaded();
  EXPECT_THAT(flush(exited(0, "success"), state("inactive", "dead", kT0 + 1'000'000)), IsEmpty());
  EXPECT_THAT(job(5, "done"), IsEmpty());
}

TEST_F(Tracker, ALoadOfAUnitWhoseRunIsKnownChangesNothing) {
  make("no");
  tracker_->unitLoaded();
  startAndReady(10, kT0);
  tracker_->unitLoaded();  // UnitNew again (a daemon-reload): the run goes on
  EXPECT_EQ(tracker_->runState(), UnitTracker::RunState::Running);
  EXPECT_EQ(tracker_->snapshot().mainPid, 10u);
  EXPECT_THAT(flush(exited(0, "success"), state("inactive", "dead", kT0 + 1'000'000)),
              ElementsAre("stop{shutdown,completed,exit=0}"));
}

TEST_F(Tracker, NewServiceFactsApplyToTheNextEventsOfTheSameRun) {
  make("no");
  tracker_->unitLoaded();
  startAndReady(10, kT0);
  tracker_->setService(service("on-failure", 5));  // a reload changed the restart settings
  EXPECT_THAT(flush(exited(2, "exit-code"), state("failed", "failed", kT0 + 1'000'000)),
              ElementsAre("crashed{error,exit=2,on-failure,will_restart=1,exit-code}"));
}

TEST_F(Tracker, SnapshotAtStartProducesNothingInAnyState) {
  for (const auto& [active, sub] : std::vector<std::pair<std::string, std::string>>{{"active", "running"},
                                                                                    {"activating", "start"},
                                                                                    {"activating", "auto-restart"},
                                                                                    {"failed", "failed"},
                                                                                    {"inactive", "dead"},
                                                                                    {"deactivating", "stop-sigterm"}}) {
    make("on-failure", 2);
    EXPECT_THAT(svc({{"MainPID", std::uint64_t{sub == "auto-restart" || active == "failed" ? 0u : 10u}},
                     {"ExecMainPID", std::uint64_t{10}},
                     {"ExecMainStartTimestamp", kT0},
                     {"Result", "exit-code"},
                     {"NRestarts", std::uint64_t{1}}},
                    PropertyChange::Origin::Snapshot),
                IsEmpty());
    EXPECT_THAT(unit(state(active, sub, kT0 + 10), PropertyChange::Origin::Snapshot), IsEmpty()) << active;
    // Repeated signals of that same state are not news either.
    EXPECT_THAT(unit(state(active, sub, kT0 + 10)), IsEmpty()) << active;
  }
}

TEST_F(Tracker, ARefreshIsComparedLikeASignalOnceSeededAndSeedsSilentlyBefore) {
  using Origin = PropertyChange::Origin;
  make("no");
  EXPECT_THAT(svc({{"MainPID", std::uint64_t{10}}, {"ExecMainPID", std::uint64_t{10}}, {"ExecMainStartTimestamp", kT0}},
                  Origin::Refresh),
              IsEmpty());
  EXPECT_THAT(unit(state("active", "running", kT0), Origin::Refresh), IsEmpty()) << "unseeded: taken as the state";
  EXPECT_THAT(unit(state("active", "running", kT0), Origin::Refresh), IsEmpty()) << "nothing changed";
  // Re-read after a daemon-reload, before the signal of the crash it shows.
  EXPECT_THAT(svc(killed(SIGKILL, "signal"), Origin::Refresh), IsEmpty());
  EXPECT_THAT(unit(state("failed", "failed", kT0 + 1'000'000), Origin::Refresh),
              ElementsAre("crashed{failed,exit=-9,no,will_restart=0,signal}"));
  EXPECT_THAT(flush(killed(SIGKILL, "signal"), state("failed", "failed", kT0 + 1'000'000)), IsEmpty())
      << "the late signal repeats nothing";
}

TEST_F(Tracker, UnseededTrackerTakesItsFirstSignalAsTheState) {
  // A unit found at start whose snapshot is not in yet: its first Unit signal is the state.
  make("on-failure");
  EXPECT_THAT(
      flush({{"MainPID", std::uint64_t{10}}, {"ExecMainPID", std::uint64_t{10}}, {"ExecMainStartTimestamp", kT0}},
            state("active", "running", kT0)),
      IsEmpty());
  EXPECT_EQ(tracker_->runState(), UnitTracker::RunState::Running);
  EXPECT_THAT(flush(killed(SIGSEGV, "core-dump"), state("failed", "failed", kT0 + 5)),
              ElementsAre("crashed{error,exit=-11,on-failure,will_restart=1,core-dump}"));
}

TEST_F(Tracker, ResyncWhileRunningThenStopReportsOneStop) {
  make("on-failure");
  tracker_->unitLoaded();
  startAndReady(10, kT0);
  // A reconnect: snapshots again (same run) — nothing.
  EXPECT_THAT(svc({{"MainPID", std::uint64_t{10}}}, PropertyChange::Origin::Snapshot), IsEmpty());
  EXPECT_THAT(unit(state("active", "running", kT0 + 50'000), PropertyChange::Origin::Snapshot), IsEmpty());
  EXPECT_THAT(unit(state("active", "running", kT0 + 50'000, 7)), IsEmpty());  // the stop job is queued
  EXPECT_THAT(unit(state("deactivating", "stop-sigterm", kT0 + 60'000, 7)),
              ElementsAre("stopping{shutdown,terminated}"));
  EXPECT_THAT(flush(exited(0, "success"), state("inactive", "dead", kT0 + 70'000, 7)),
              ElementsAre("stop{shutdown,terminated,exit=0}"));
  EXPECT_THAT(job(7, "done"), IsEmpty());
  EXPECT_THAT(unit(state("inactive", "dead", kT0 + 70'000)), IsEmpty());
}

TEST_F(Tracker, StopDuringActivatingIsARequestedStop) {
  make("on-failure");
  tracker_->unitLoaded();
  EXPECT_THAT(flush({{"MainPID", std::uint64_t{10}},
                     {"ExecMainPID", std::uint64_t{10}},
                     {"ExecMainStartTimestamp", kT0},
                     {"Result", "success"}},
                    state("activating", "start", kT0, 3)),
              ElementsAre(start(10)));
  EXPECT_THAT(job(3, "canceled"), IsEmpty());
  // A pending job (the stop) while the run ends: requested, so terminated.
  EXPECT_THAT(unit(state("deactivating", "stop-sigterm", kT0 + 10, 4)), ElementsAre("stopping{shutdown,terminated}"));
  EXPECT_THAT(flush(killed(SIGTERM, "success"), state("inactive", "dead", kT0 + 20, 4)),
              ElementsAre("stop{shutdown,terminated,exit=-15}"));
}

TEST_F(Tracker, StopTimeoutIsForceKilled) {
  make("on-failure");
  tracker_->unitLoaded();
  startAndReady(10, kT0);
  EXPECT_THAT(unit(state("deactivating", "stop-sigterm", kT0 + 100, 7)), ElementsAre("stopping{shutdown,terminated}"));
  EXPECT_THAT(svc({{"Result", "timeout"}}), IsEmpty());
  EXPECT_THAT(unit(state("deactivating", "stop-sigkill", kT0 + 200, 7)), IsEmpty());
  // A requested stop never restarts, whatever Restart= says.
  EXPECT_THAT(flush(killed(SIGKILL, "timeout"), state("failed", "failed", kT0 + 300, 7)),
              ElementsAre("stop{shutdown,force_killed,exit=-9}"));
  EXPECT_EQ(tracker_->runState(), UnitTracker::RunState::Down);
}

// An OOM kill under MemoryMax= (systemd 252, OOMPolicy=stop): the cgroup's oom_kill counter
// makes systemd stop the unit with Result=oom-kill (deactivating/stop-sigterm, the main process
// not reaped yet), then the SIGKILLed main process ends the run.
TEST_F(Tracker, AnOomKillIsOneCrashWithResultOomKillThenARestart) {
  make("on-failure");
  tracker_->unitLoaded();
  startAndReady(10, kT0);
  EXPECT_THAT(flush({{"Result", "oom-kill"}}, state("deactivating", "stop-sigterm", kT0 + 100)), IsEmpty())
      << "not a stop: nobody asked for one";
  EXPECT_THAT(flush(killed(SIGKILL, "oom-kill"), state("failed", "failed", kT0 + 200)),
              ElementsAre("crashed{error,exit=-9,on-failure,will_restart=1,oom-kill}"));
  EXPECT_THAT(unit(state("activating", "auto-restart", kT0 + 201)), IsEmpty());
  EXPECT_THAT(flush({{"NRestarts", std::uint64_t{1}}}, state("activating", "auto-restart", kT0 + 300, 8)), IsEmpty());
  startAndReadyAfterRestart(11, kT0 + 400);
}

TEST_F(Tracker, AnOomKillReachingUsInOneChangeIsOneCrash) {
  make("on-abnormal");
  tracker_->unitLoaded();
  startAndReady(10, kT0);
  EXPECT_THAT(flush(killed(SIGKILL, "oom-kill"), state("activating", "auto-restart", kT0 + 200, 8)),
              ElementsAre("crashed{error,exit=-9,on-abnormal,will_restart=1,oom-kill}"));
  EXPECT_THAT(flush(killed(SIGKILL, "oom-kill"), state("activating", "auto-restart", kT0 + 200, 8)), IsEmpty());
  startAndReadyAfterRestart(11, kT0 + 400);
}

TEST_F(Tracker, AnOomKillWithoutRestartIsAFinalCrash) {
  make("no");
  tracker_->unitLoaded();
  startAndReady(10, kT0);
  EXPECT_THAT(flush({{"Result", "oom-kill"}}, state("deactivating", "stop-sigterm", kT0 + 100)), IsEmpty());
  EXPECT_THAT(flush(killed(SIGKILL, "oom-kill"), state("failed", "failed", kT0 + 200)),
              ElementsAre("crashed{failed,exit=-9,no,will_restart=0,oom-kill}"));
  EXPECT_EQ(tracker_->runState(), UnitTracker::RunState::Down);
}

TEST_F(Tracker, CrashWithoutRestartAfterReadyIsNotAStartFailure) {
  make("no");
  tracker_->unitLoaded();
  startAndReady(10, kT0);
  EXPECT_THAT(flush(exited(1, "exit-code"), state("failed", "failed", kT0 + 5)),
              ElementsAre("crashed{failed,exit=1,no,will_restart=0,exit-code}"));
  EXPECT_THAT(flush(exited(1, "exit-code"), state("failed", "failed", kT0 + 5)), IsEmpty());
}

TEST_F(Tracker, CrashBeforeReadyWithRestartIsOnlyACrash) {
  make("on-failure");
  tracker_->unitLoaded();
  EXPECT_THAT(
      flush({{"MainPID", std::uint64_t{10}}, {"ExecMainPID", std::uint64_t{10}}, {"ExecMainStartTimestamp", kT0}},
            state("activating", "start", kT0, 3)),
      ElementsAre(start(10)));
  EXPECT_THAT(flush(exited(1, "exit-code"), state("failed", "failed", kT0 + 5, 3)),
              ElementsAre("crashed{error,exit=1,on-failure,will_restart=1,exit-code}"));
  EXPECT_THAT(job(3, "failed"), IsEmpty());  // the start job: not the restart job
  EXPECT_THAT(unit(state("activating", "auto-restart", kT0 + 6)), IsEmpty());
  EXPECT_THAT(flush({{"NRestarts", std::uint64_t{1}}}, state("activating", "auto-restart", kT0 + 6, 8)), IsEmpty());
  EXPECT_THAT(flush({{"MainPID", std::uint64_t{11}},
                     {"ExecMainPID", std::uint64_t{11}},
                     {"ExecMainStartTimestamp", kT0 + 7},
                     {"Result", "success"}},
                    state("activating", "start", kT0 + 7, 8)),
              ElementsAre("restarting{startup,attempt=1,max=null}", start(11)));
}

TEST_F(Tracker, AlwaysRestartsAfterACleanExit) {
  make("always", 3);
  tracker_->unitLoaded();
  startAndReady(10, kT0);
  EXPECT_THAT(flush(exited(0, "success"), state("inactive", "dead", kT0 + 5)),
              ElementsAre("stop{shutdown,completed,exit=0}"));
  EXPECT_THAT(unit(state("activating", "auto-restart", kT0 + 6)), IsEmpty());
  EXPECT_THAT(flush({{"NRestarts", std::uint64_t{1}}}, state("activating", "auto-restart", kT0 + 6, 8)), IsEmpty());
  EXPECT_THAT(
      flush({{"MainPID", std::uint64_t{11}}, {"ExecMainPID", std::uint64_t{11}}, {"ExecMainStartTimestamp", kT0 + 7}},
            state("inactive", "dead", kT0 + 7, 8)),
      ElementsAre("restarting{startup,attempt=1,max=3}", start(11)));
}

TEST_F(Tracker, OnAbnormalDoesNotRestartAnExitCode) {
  make("on-abnormal");
  tracker_->unitLoaded();
  startAndReady(10, kT0);
  EXPECT_THAT(flush(exited(3, "exit-code"), state("failed", "failed", kT0 + 5)),
              ElementsAre("crashed{failed,exit=3,on-abnormal,will_restart=0,exit-code}"));
}

TEST_F(Tracker, TheUnitsOwnRestartSettingWinsOverTheConfig) {
  make("no");  // config says no, but the unit (from a snapshot) says on-failure
  EXPECT_THAT(svc({{"Restart", "on-failure"},
                   {"MainPID", std::uint64_t{10}},
                   {"ExecMainPID", std::uint64_t{10}},
                   {"ExecMainStartTimestamp", kT0}},
                  PropertyChange::Origin::Snapshot),
              IsEmpty());
  EXPECT_THAT(unit(state("active", "running", kT0), PropertyChange::Origin::Snapshot), IsEmpty());
  EXPECT_THAT(flush(exited(3, "exit-code"), state("failed", "failed", kT0 + 5)),
              ElementsAre("crashed{error,exit=3,no,will_restart=1,exit-code}"));
}

TEST_F(Tracker, StoppedWhileWaitingToRestart) {
  make("on-failure", 5);
  tracker_->unitLoaded();
  startAndReady(10, kT0);
  EXPECT_THAT(flush(exited(3, "exit-code"), state("failed", "failed", kT0 + 5)),
              ElementsAre("crashed{error,exit=3,on-failure,will_restart=1,exit-code}"));
  EXPECT_THAT(unit(state("activating", "auto-restart", kT0 + 6)), IsEmpty());
  // systemctl stop during RestartSec: the stop job ends it, the restart never comes.
  EXPECT_THAT(unit(state("activating", "auto-restart", kT0 + 6, 9)), IsEmpty());
  EXPECT_THAT(unit(state("failed", "failed", kT0 + 7, 9)), IsEmpty());
  EXPECT_THAT(job(9, "done"), IsEmpty());
  EXPECT_THAT(unit(state("failed", "failed", kT0 + 7)), ElementsAre("stop{shutdown,terminated,exit=3}"));
  EXPECT_THAT(unit(state("failed", "failed", kT0 + 7)), IsEmpty());
}

TEST_F(Tracker, AnOperatorsRestartDuringRestartSecIsNoAutomaticRestart) {
  make("always");
  tracker_->unitLoaded();
  startAndReady(10, kT0, 4);
  EXPECT_THAT(flush(killed(SIGABRT, "watchdog"), state("failed", "failed", kT0 + 5)),
              ElementsAre("crashed{error,exit=-6,always,will_restart=1,watchdog}"));
  EXPECT_THAT(unit(state("activating", "auto-restart", kT0 + 6)), IsEmpty());
  // `systemctl restart` before the timer fires: a new process, NRestarts still 4.
  EXPECT_THAT(flush({{"MainPID", std::uint64_t{11}},
                     {"ExecMainPID", std::uint64_t{11}},
                     {"ExecMainStartTimestamp", kT0 + 10},
                     {"ExecMainCode", std::int64_t{0}},
                     {"Result", "success"},
                     {"NRestarts", std::uint64_t{4}}},
                    state("activating", "start", kT0 + 10, 12)),
              ElementsAre(start(11)));
}

TEST_F(Tracker, ASnapshotMidCrashLoopIsFollowedToTheRestartLimit) {
  // Supervisor starts while the unit waits for its 3rd restart (restart_max 3: 4 starts).
  make("on-failure", 3);
  EXPECT_THAT(svc({{"NRestarts", std::uint64_t{2}},
                   {"MainPID", std::uint64_t{0}},
                   {"ExecMainPID", std::uint64_t{30}},
                   {"ExecMainStartTimestamp", kT0},
                   {"ExecMainCode", std::int64_t{kCldExited}},
                   {"ExecMainStatus", std::int64_t{3}},
                   {"Result", "exit-code"}},
                  PropertyChange::Origin::Snapshot),
              IsEmpty());
  EXPECT_THAT(unit(state("activating", "auto-restart", kT0 + 1), PropertyChange::Origin::Snapshot), IsEmpty());
  EXPECT_THAT(flush({{"NRestarts", std::uint64_t{3}}}, state("activating", "auto-restart", kT0 + 1, 40)), IsEmpty());
  EXPECT_THAT(flush({{"MainPID", std::uint64_t{31}},
                     {"ExecMainPID", std::uint64_t{31}},
                     {"ExecMainStartTimestamp", kT0 + 2},
                     {"Result", "success"},
                     {"ExecMainCode", std::int64_t{0}}},
                    state("inactive", "dead", kT0 + 2, 40)),
              ElementsAre("restarting{startup,attempt=3,max=3}", start(31)));
  EXPECT_THAT(unit(state("activating", "start", kT0 + 3, 40)), IsEmpty());
  EXPECT_THAT(unit({{"ActiveState", "active"}, {"SubState", "running"}, {"ActiveEnterTimestamp", kT0 + 4}}),
              ElementsAre("ready{ok,startup=0.000002}"));
  EXPECT_THAT(job(40, "done"), IsEmpty());
  EXPECT_THAT(flush(exited(3, "exit-code"), state("failed", "failed", kT0 + 5)),
              ElementsAre("crashed{error,exit=3,on-failure,will_restart=1,exit-code}"));
  EXPECT_THAT(unit(state("activating", "auto-restart", kT0 + 6)), IsEmpty());
  EXPECT_THAT(flush({{"NRestarts", std::uint64_t{4}}}, state("activating", "auto-restart", kT0 + 6, 41)), IsEmpty());
  EXPECT_THAT(unit(state("inactive", "dead", kT0 + 7, 41)), IsEmpty());
  EXPECT_THAT(unit(state("failed", "failed", kT0 + 7, 41)), IsEmpty());
  EXPECT_THAT(job(41, "failed"), ElementsAre("failed{failed,restart_limit_reached,restarts=3}"));
  EXPECT_THAT(unit(state("failed", "failed", kT0 + 7)), IsEmpty());
  EXPECT_THAT(job(41, "failed"), IsEmpty());
}

// The chaos soak: a crash loop at its limit, and an operator's `systemctl start` during
// RestartSec. The start limit refuses that job before systemd's own restart comes (no
// "Scheduled restart job", NRestarts unchanged): a refused start, not the restart limit.
TEST_F(Tracker, AnOperatorsStartRefusedByTheStartLimitDuringRestartSecIsAStartFailure) {
  make("on-failure");
  tracker_->unitLoaded();
  startAndReady(10, kT0, 9);
  EXPECT_THAT(flush(exited(3, "exit-code"), state("failed", "failed", kT0 + 5)),
              ElementsAre("crashed{error,exit=3,on-failure,will_restart=1,exit-code}"));
  EXPECT_THAT(unit(state("activating", "auto-restart", kT0 + 6)), IsEmpty());
  EXPECT_THAT(unit(state("activating", "auto-restart", kT0 + 6, 77)), IsEmpty());  // the operator's start job
  EXPECT_THAT(unit(state("failed", "failed", kT0 + 7, 77)), IsEmpty());
  EXPECT_THAT(job(77, "failed"), ElementsAre("failed{failed,start_failed,restarts=9}"));
  EXPECT_THAT(unit(state("failed", "failed", kT0 + 7)), IsEmpty());
}

TEST_F(Tracker, AManualStartRefusedByTheStartLimitIsAStartFailure) {
  make("on-failure", 2);
  EXPECT_THAT(svc({{"NRestarts", std::uint64_t{3}}, {"Result", "exit-code"}}, PropertyChange::Origin::Snapshot),
              IsEmpty());
  EXPECT_THAT(unit(state("failed", "failed", kT0), PropertyChange::Origin::Snapshot), IsEmpty());
  // systemctl start: the job is refused at once ("Start request repeated too quickly").
  EXPECT_THAT(unit(state("failed", "failed", kT0, 50)), IsEmpty());
  const auto events = tracker_->jobRemoved(JobRemoved{50, "/j/50", "u", "failed"}, kReplayNow);
  ASSERT_THAT(describe(events), ElementsAre("failed{failed,start_failed,restarts=3}"));
  EXPECT_EQ(events[0].timestamp, kReplayNow);  // no state change to date it: the time given
  EXPECT_THAT(unit(state("failed", "failed", kT0)), IsEmpty());
}

TEST_F(Tracker, SelfStopThatFailsIsACrash) {
  make("no");
  tracker_->unitLoaded();
  startAndReady(10, kT0);
  // STOPPING=1 without a job (the service ends by itself), then a non-zero exit.
  EXPECT_THAT(unit(state("deactivating", "stop-sigterm", kT0 + 5)), ElementsAre("stopping{shutdown,completed}"));
  EXPECT_THAT(flush(exited(4, "exit-code"), state("failed", "failed", kT0 + 6)),
              ElementsAre("crashed{failed,exit=4,no,will_restart=0,exit-code}"));
}

TEST_F(Tracker, EventsCarryTheServiceAndSystemdsTimes) {
  make("on-failure");
  tracker_->unitLoaded();
  svc({{"MainPID", std::uint64_t{10}}, {"ExecMainPID", std::uint64_t{10}}, {"ExecMainStartTimestamp", kT0}});
  const auto events = tracker_->update(
      PropertyChange{"u", "/p", std::string(kUnitInterface), state("activating", "start", kT0 + 9), {}, {}});
  ASSERT_EQ(events.size(), 1u);
  const auto& e = events[0];
  EXPECT_EQ(e.serviceId, "test.x.main");
  EXPECT_EQ(e.parent, "launcher.h-systemd-launcher");
  EXPECT_EQ(e.runnerId, "h-systemd-launcher.test.x");
  EXPECT_EQ(e.type(), p::RegistryEventType::Start);
  EXPECT_EQ(e.timestamp.time_since_epoch().count(), static_cast<std::int64_t>(kT0));  // the fork
  EXPECT_EQ(e.status(), Status::Startup);
}

}  // namespace
}  // namespace tcs::supervisor::test
