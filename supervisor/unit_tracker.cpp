// SPDX-License-Identifier: MIT
#include "unit_tracker.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>

#include "tcs/config.hpp"
#include "tcs/unit_name.hpp"

namespace tcs::supervisor {

namespace p = tcs::protocol;

TrackedService TrackedService::fromConfig(const config::ServiceConfig& service, std::string_view launcherId,
                                          std::string hostname) {
  return TrackedService{
      service.id(),
      std::string(config::toString(service.restart)),
      service.restartMax,
      p::launcherName(launcherId),
      p::runnerId(launcherId, service.type),
      std::move(hostname),
  };
}

std::string_view toString(UnitTracker::RunState state) noexcept {
  switch (state) {
    case UnitTracker::RunState::Unknown: return "unknown";
    case UnitTracker::RunState::Down: return "down";
    case UnitTracker::RunState::Starting: return "starting";
    case UnitTracker::RunState::Running: return "running";
    case UnitTracker::RunState::Stopping: return "stopping";
    case UnitTracker::RunState::AutoRestart: return "auto-restart";
  }
  return "?";
}

namespace {

bool isActive(const UnitSnapshot& s) {
  return s.activeState == "active" || s.activeState == "reloading";
}
bool isDown(const UnitSnapshot& s) {
  return s.activeState == "inactive" || s.activeState == "failed";
}

// The main process is gone and systemd left the states that belong to it: inactive, failed, or
// waiting to restart. (systemd 252 also reports `inactive`/`dead` for a moment while a restart
// job forks the next process: MainPID is set then, so that is not an end.)
bool runOver(const UnitSnapshot& s) {
  return s.mainPid == 0 && (isDown(s) || s.subState == "auto-restart");
}

}  // namespace

UnitTracker::UnitTracker(TrackedService service) : service_(std::move(service)) {}

void UnitTracker::setService(TrackedService service) {
  service_ = std::move(service);
}

void UnitTracker::unitLoaded() {
  // A UnitNew for a unit whose run is known (e.g. loaded again by a daemon-reload) changes
  // nothing: only an unseen or stopped unit starts again from a fresh `inactive`.
  if (runState_ != RunState::Unknown && runState_ != RunState::Down) return;
  current_ = UnitSnapshot{};
  current_.activeState = "inactive";
  current_.subState = "dead";
  if (runState_ == RunState::Unknown) runState_ = RunState::Down;
}

p::RegistryEvent UnitTracker::make(p::RegistryEvent::Specific specific, std::uint64_t timestampUs) const {
  p::RegistryEvent e;
  e.serviceId = service_.serviceId;
  e.timestamp = p::Timestamp{std::chrono::microseconds{timestampUs}};
  e.specific = std::move(specific);
  e.parent = service_.parent;
  e.runnerId = service_.runnerId;
  return e;
}

void UnitTracker::seed() {
  const auto& s = current_;
  runPid_ = s.execMainPid;
  runStart_ = s.execMainStartTimestamp;
  stopRequested_ = false;
  failedReported_ = false;
  restartJobId_ = 0;
  restartJobResult_.clear();
  if (s.subState == "auto-restart") {
    runState_ = RunState::AutoRestart;
    sawAutoRestart_ = true;
    restartsAtAutoRestart_ = s.nRestarts;
    restartsAtEnd_.reset();  // the end predates us
    restartJobId_ = s.jobId;
    lastEnd_ = s.result == "success" ? LastEnd::Stop : LastEnd::Crashed;
    lastExitCode_ = s.exitCode();
  } else if (isActive(s)) {
    runState_ = RunState::Running;
    everReady_ = true;
  } else if (s.activeState == "activating" && s.mainPid != 0) {
    runState_ = RunState::Starting;
    everReady_ = false;
  } else if (s.activeState == "deactivating" && s.mainPid != 0) {
    runState_ = RunState::Stopping;
    stopRequested_ = s.jobId != 0;  // a pending job at the end of a run: a stop or restart
    everReady_ = true;
  } else if (s.activeState == "deactivating") {
    runState_ = RunState::Running;  // its main process is gone; the end is reported when it is final
    everReady_ = true;
  } else {
    runState_ = RunState::Down;
  }
}

std::vector<p::RegistryEvent> UnitTracker::update(const PropertyChange& change) {
  std::vector<p::RegistryEvent> out;
  current_.apply(change);
  if (change.interface != kUnitInterface) return out;  // decided when the Unit change follows
  if (change.origin == PropertyChange::Origin::Snapshot || runState_ == RunState::Unknown) {
    seed();
    return out;
  }
  evaluate(out);
  return out;
}

bool UnitTracker::shallRestart() const {
  // systemd's service_shall_restart() (systemd 252), minus RestartForceExitStatus=. The unit's
  // own RestartPreventExitStatus= when a snapshot read it, else the template's.
  const auto& s = current_;
  const ExitStatusSet& prevent =
      s.restartPreventExitStatus ? *s.restartPreventExitStatus : service_.restartPreventExitStatus;
  if (prevent.contains(s.execMainCode, s.execMainStatus)) return false;
  const std::string& policy = s.restart.empty() ? service_.restartPolicy : s.restart;
  const std::string& r = s.result;
  if (policy == "always") return true;
  if (policy == "on-success") return r == "success";
  if (policy == "on-failure") return r != "success";
  if (policy == "on-abnormal") return r != "success" && r != "exit-code";
  if (policy == "on-watchdog") return r == "watchdog";
  if (policy == "on-abort") return r == "signal" || r == "core-dump";
  return false;  // "no", or unknown
}

void UnitTracker::evaluate(std::vector<p::RegistryEvent>& out) {
  const auto& s = current_;
  // A new main process: ExecMainPID and ExecMainStartTimestamp name the run.
  if (s.execMainPid != 0 && (s.execMainPid != runPid_ || s.execMainStartTimestamp != runStart_)) beginRun(out);

  switch (runState_) {
    case RunState::Starting:
    case RunState::Running:
    case RunState::Stopping:
      if (runState_ == RunState::Starting && isActive(s)) {
        const double startup = s.activeEnterTimestamp > s.execMainStartTimestamp
                                   ? static_cast<double>(s.activeEnterTimestamp - s.execMainStartTimestamp) / 1e6
                                   : 0.0;
        out.push_back(make(p::ReadyEvent{Status::Ok, startup},
                           s.activeEnterTimestamp ? s.activeEnterTimestamp : s.stateChangeTimestamp));
        runState_ = RunState::Running;
        everReady_ = true;
      }
      // Deactivating with a live main process and no failure: a stop or restart job is ending it
      // (a job is pending), or the service is ending by itself (STOPPING=1, no job). A watchdog
      // or timeout kill (Result set, stop-watchdog) is not a stop: its end is a crash.
      if (runState_ != RunState::Stopping && s.activeState == "deactivating" && s.mainPid != 0 &&
          s.result == "success" && s.subState != "stop-watchdog") {
        runState_ = RunState::Stopping;
        stopRequested_ = s.jobId != 0;  // a pending job at the end of a run: a stop or restart
        out.push_back(make(p::StoppingEvent{Status::Shutdown, std::string(stopRequested_ ? p::reason::kTerminated
                                                                                         : p::reason::kCompleted)},
                           s.stateChangeTimestamp));
      }
      if (runOver(s)) endRun(out);
      break;
    case RunState::AutoRestart:
      if (s.subState == "auto-restart") {
        if (!sawAutoRestart_) restartsAtAutoRestart_ = s.nRestarts;
        sawAutoRestart_ = true;
        if (s.jobId != 0) restartJobId_ = s.jobId;
      } else if (isDown(s) && s.mainPid == 0 && s.jobId == 0) {
        if (sawAutoRestart_) {
          endAutoRestart(out, restartJobResult_, s.stateChangeTimestamp);
        } else if (s.stateChangeTimestamp != lastEndChange_) {
          runState_ = RunState::Down;  // the predicted restart did not come: it stays down
        }
      }
      break;
    case RunState::Down:
      if (s.subState == "auto-restart") {
        // A restart the prediction did not expect, or the supervisor started between systemd's
        // `failed` and `auto-restart`: the end was reported (or predates us); follow the restart.
        runState_ = RunState::AutoRestart;
        sawAutoRestart_ = true;
        restartsAtAutoRestart_ = s.nRestarts;
        restartsAtEnd_.reset();  // the end was not seen with its count
        restartJobId_ = s.jobId;
        restartJobResult_.clear();
        if (lastEnd_ == LastEnd::None) lastEnd_ = s.result == "success" ? LastEnd::Stop : LastEnd::Crashed;
      }
      break;
    case RunState::Unknown: break;
  }
}

void UnitTracker::beginRun(std::vector<p::RegistryEvent>& out) {
  const auto& s = current_;
  if ((runState_ == RunState::Starting || runState_ == RunState::Running || runState_ == RunState::Stopping) &&
      stopRequested_) {
    // The previous run's end and this start reached us merged into one change; its exit status
    // is overwritten already, but a requested stop is still a stop.
    out.push_back(make(p::StopEvent{Status::Shutdown, std::string(p::reason::kTerminated), 0}, s.stateChangeTimestamp));
  }
  // Automatic only when systemd counted it (NRestarts grows when the restart timer fires): an
  // operator's `systemctl restart` during RestartSec also ends auto-restart, with no new count
  // (found by the chaos soak, which saw `restarting` twice with the same attempt).
  if (runState_ == RunState::AutoRestart && sawAutoRestart_ && s.nRestarts > restartsAtAutoRestart_) {
    const std::optional<int> max = service_.restartMax > 0 ? std::optional<int>(service_.restartMax) : std::nullopt;
    out.push_back(
        make(p::RestartingEvent{Status::Startup, static_cast<int>(s.nRestarts), max}, s.stateChangeTimestamp));
  }
  out.push_back(make(p::StartEvent{Status::Startup, service_.hostname, s.execMainPid},
                     s.execMainStartTimestamp ? s.execMainStartTimestamp : s.stateChangeTimestamp));
  runPid_ = s.execMainPid;
  runStart_ = s.execMainStartTimestamp;
  runState_ = RunState::Starting;
  stopRequested_ = false;
  everReady_ = false;
  failedReported_ = false;
}

void UnitTracker::endRun(std::vector<p::RegistryEvent>& out) {
  const auto& s = current_;
  const bool willRestart = s.subState == "auto-restart" || (!stopRequested_ && shallRestart());
  const int exitCode = s.exitCode();
  const bool killed = s.execMainCode == kCldKilled || s.execMainCode == kCldDumped;
  const std::uint64_t t = s.stateChangeTimestamp;
  if (stopRequested_) {
    const bool forced = s.result == "timeout" || (killed && s.execMainStatus == SIGKILL);
    out.push_back(make(p::StopEvent{Status::Shutdown,
                                    std::string(forced ? p::reason::kForceKilled : p::reason::kTerminated), exitCode},
                       t));
    lastEnd_ = LastEnd::Stop;
  } else if (s.result == "success") {
    out.push_back(make(p::StopEvent{Status::Shutdown, std::string(p::reason::kCompleted), exitCode}, t));
    lastEnd_ = LastEnd::Stop;
  } else {
    out.push_back(make(p::CrashedEvent{willRestart ? Status::Error : Status::Failed, exitCode, service_.restartPolicy,
                                       willRestart, s.result},
                       t));
    lastEnd_ = LastEnd::Crashed;
    if (!willRestart && !everReady_) {
      out.push_back(
          make(p::FailedEvent{Status::Failed, std::string(p::reason::kStartFailed), static_cast<int>(s.nRestarts)}, t));
      failedReported_ = true;
    }
  }
  lastExitCode_ = exitCode;
  lastEndChange_ = t;
  stopRequested_ = false;
  if (willRestart) {
    runState_ = RunState::AutoRestart;
    sawAutoRestart_ = s.subState == "auto-restart";
    restartsAtAutoRestart_ = s.nRestarts;
    restartsAtEnd_ = s.nRestarts;
    restartJobId_ = 0;
    restartJobResult_.clear();
  } else {
    runState_ = RunState::Down;
  }
}

void UnitTracker::endAutoRestart(std::vector<p::RegistryEvent>& out, const std::string& jobResult,
                                 std::uint64_t timeUs) {
  const auto& s = current_;
  if (jobResult == "failed" || jobResult == "dependency" ||
      (jobResult.empty() && s.nRestarts > restartsAtAutoRestart_)) {
    // systemd tried to restart and refused without starting a process: the start limit
    // ("Start request repeated too quickly"), or a failed dependency. systemd 252 keeps the old
    // Result (not start-limit-hit) and counts the refused attempt in NRestarts. Not counted: the
    // refused job was an operator's start during RestartSec (the chaos soak found it), which
    // the start limit refused before systemd's own restart came: a refused start.
    const bool limit = jobResult != "dependency" && (!restartsAtEnd_ || s.nRestarts > *restartsAtEnd_);
    const int restarts = limit ? std::max(static_cast<int>(s.nRestarts) - 1, 0) : static_cast<int>(s.nRestarts);
    out.push_back(
        make(p::FailedEvent{Status::Failed,
                            std::string(limit ? p::reason::kRestartLimitReached : p::reason::kStartFailed), restarts},
             timeUs));
    failedReported_ = true;
  } else if (lastEnd_ == LastEnd::Crashed) {
    // Stopped while waiting for the restart: the crash said it would restart; it will not.
    out.push_back(make(p::StopEvent{Status::Shutdown, std::string(p::reason::kTerminated), lastExitCode_}, timeUs));
    lastEnd_ = LastEnd::Stop;
  }
  runState_ = RunState::Down;
}

std::vector<p::RegistryEvent> UnitTracker::jobRemoved(const JobRemoved& job, p::Timestamp now) {
  std::vector<p::RegistryEvent> out;
  const bool failedJob = job.result == "failed" || job.result == "dependency";
  const auto nowUs = static_cast<std::uint64_t>(now.time_since_epoch().count());
  if (runState_ == RunState::AutoRestart && sawAutoRestart_ && job.id == restartJobId_) {
    restartJobResult_ = job.result;
    // The refused restart: its JobRemoved comes after the state change to failed.
    if (failedJob && isDown(current_)) endAutoRestart(out, job.result, current_.stateChangeTimestamp);
  } else if (runState_ == RunState::Down && failedJob && !failedReported_) {
    // A start refused before any process ran (the start limit on a manual start, a failed
    // dependency): the unit never left failed/inactive, so no state change tells it.
    out.push_back(
        make(p::FailedEvent{Status::Failed, std::string(p::reason::kStartFailed), static_cast<int>(current_.nRestarts)},
             nowUs));
    failedReported_ = true;
  }
  return out;
}

}  // namespace tcs::supervisor
