// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "systemd_manager.hpp"
#include "tcs/exit_code.hpp"
#include "tcs/protocol.hpp"

namespace tcs::config {
struct ServiceConfig;
}

/**
 * @file
 * UnitTracker: one tcs service's systemd unit, turned into registry events.
 */
namespace tcs::supervisor {

/** @brief What a UnitTracker needs to know about its service (from the config and the host). */
struct TrackedService {
  std::string serviceId;      ///< `<type>.<variant>`
  std::string restartPolicy;  ///< the configured `restart` (`no`, `on-failure`, `on-abnormal`, `always`)
  int restartMax = 0;         ///< the configured `restart_max`; 0 = unlimited (`max_restarts: null`)
  std::string parent;         ///< `launcher.<launcher_id>`
  std::string runnerId;       ///< `<launcher_id>.<type>`
  std::string hostname;       ///< the host's full hostname (start events)
  /**
   * @brief Exit statuses after which systemd never restarts, as the unit template sets them
   * (`RestartPreventExitStatus=78`, EX_CONFIG: a configuration error). Only a fallback: the
   * unit's own setting, read over D-Bus (UnitSnapshot::restartPreventExitStatus), wins once a
   * snapshot carried it.
   */
  ExitStatusSet restartPreventExitStatus{{exit_code::kConfig}, {}};

  /**
   * @param[in] service - a validated service entry
   * @param[in] launcherId - the host's launcher id (tcs::unit_name::launcherId())
   * @param[in] hostname - the full hostname
   */
  static TrackedService fromConfig(const config::ServiceConfig& service, std::string_view launcherId,
                                   std::string hostname);
};

/**
 * @brief The per-unit state machine: systemd's view of one `tcs@` unit in, registry events out.
 *
 * Pure: no I/O, no clock (event timestamps are systemd's own: StateChangeTimestamp of the
 * change that revealed the event, or the time given to jobRemoved()). Not thread-safe; feed it
 * from one thread (normally the ISystemdManager callbacks, in the order they come).
 *
 * Feed it every PropertyChange of its unit (both interfaces, in order) and every JobRemoved of
 * its unit. Events are decided when a change of `org.freedesktop.systemd1.Unit` arrives
 * (systemd sends the Service interface's change first, so the exit status, Result and
 * NRestarts are already merged by then). Repeated identical changes produce nothing.
 *
 * **Initial state.** A tracker starts *unseeded* (State::Unknown) or, via unitLoaded(),
 * as inactive. An unseeded tracker takes its first Unit-interface change as the current state
 * and emits nothing for it (the supervisor was not watching when it happened). A change with
 * Origin::Snapshot always re-seeds silently; one with Origin::Refresh (a seeded unit re-read
 * after a daemon-reload) is compared like a signal. So: trackers for the units found at supervisor
 * start (or after a reconnect) stay unseeded until their snapshot; a unit loaded later
 * (UnitNew) gets unitLoaded() first, and its activation produces `start`.
 *
 * The mapping from systemd's transitions to events is documented in `doc/supervisor.md`.
 */
class UnitTracker {
 public:
  /**
   * @brief Where the unit's current run (its main process) is, as far as events were reported.
   * Not the service's own lifecycle phase (that is the runtime's, inside the service process).
   */
  enum class RunState {
    Unknown,      ///< unseeded: nothing known yet
    Down,         ///< no process: inactive or failed, and no restart pending
    Starting,     ///< a process runs, `start` reported, not ready yet
    Running,      ///< `ready` reported
    Stopping,     ///< `stopping` reported, or the unit is deactivating
    AutoRestart,  ///< the run ended and systemd has a restart pending (SubState auto-restart)
  };

  explicit UnitTracker(TrackedService service);

  /**
   * @brief The unit was (re)loaded (UnitNew): its state is a fresh `inactive`/`dead`; keeps what
   *        was reported, so the next start is reported as `start`.
   */
  void unitLoaded();
  /** @brief New facts about the service (a reload changed its restart settings); the unit's state is kept. */
  void setService(TrackedService service);

  /** @brief Merges @p change; @return the events it reveals, in order (often none) */
  std::vector<protocol::RegistryEvent> update(const PropertyChange& change);

  /**
   * @brief A job of the unit finished.
   * @param[in] now - timestamp of an event this causes (a refused start has no state change)
   * @return the events it reveals: `failed` (`start_failed`) for a start job that failed
   *         without starting a process (e.g. the start limit on a manual start, a failed
   *         dependency)
   */
  std::vector<protocol::RegistryEvent> jobRemoved(const JobRemoved& job, protocol::Timestamp now);

  /** @return the merged state of the unit */
  const UnitSnapshot& snapshot() const noexcept { return current_; }
  RunState runState() const noexcept { return runState_; }
  const TrackedService& service() const noexcept { return service_; }

 private:
  enum class LastEnd { None, Stop, Crashed };

  void seed();
  void evaluate(std::vector<protocol::RegistryEvent>& out);
  void beginRun(std::vector<protocol::RegistryEvent>& out);
  void endRun(std::vector<protocol::RegistryEvent>& out);
  void endAutoRestart(std::vector<protocol::RegistryEvent>& out, const std::string& jobResult, std::uint64_t timeUs);
  bool shallRestart() const;
  protocol::RegistryEvent make(protocol::RegistryEvent::Specific specific, std::uint64_t timestampUs) const;

  TrackedService service_;
  UnitSnapshot current_;
  RunState runState_ = RunState::Unknown;
  std::uint32_t runPid_ = 0;         // ExecMainPID of the run last seen (start reported or seeded)
  std::uint64_t runStart_ = 0;       // its ExecMainStartTimestamp
  bool stopRequested_ = false;       // a stop/restart job is ending the current run
  bool everReady_ = false;           // the current run reached active
  LastEnd lastEnd_ = LastEnd::None;  // how the last run ended
  int lastExitCode_ = 0;
  // RunState::AutoRestart: systemd 252 goes failed → auto-restart; the restart is predicted at
  // `failed` and confirmed when SubState auto-restart is seen.
  bool sawAutoRestart_ = false;
  std::uint32_t restartsAtAutoRestart_ = 0;  // NRestarts when auto-restart was first seen
  // NRestarts when the run's end was seen (systemd's own restart adds 1); unset when the
  // auto-restart was found by a snapshot (a refused restart is then taken as the limit's).
  std::optional<std::uint32_t> restartsAtEnd_;
  std::uint32_t restartJobId_ = 0;   // the job systemd queued to restart the unit
  std::string restartJobResult_;     // its JobRemoved result
  std::uint64_t lastEndChange_ = 0;  // StateChangeTimestamp of the last run's end
  bool failedReported_ = false;      // `failed` already sent since the last run began
};

/** @return the name of @p state (for logs and test messages) */
std::string_view toString(UnitTracker::RunState state) noexcept;

}  // namespace tcs::supervisor
