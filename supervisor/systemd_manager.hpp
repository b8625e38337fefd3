// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

/**
 * @file
 * The supervisor's view of systemd's service manager (`org.freedesktop.systemd1`): the data it
 * reads (UnitSnapshot, PropertyChange, UnitListEntry, JobRemoved) and ISystemdManager, the seam
 * between the supervisor's logic and D-Bus. SdbusSystemdManager (sdbus_systemd_manager.hpp) is
 * the real implementation; everything else in the supervisor only sees this header.
 *
 * What systemd 252 actually sends, and how the supervisor turns it into registry events, is
 * described in `doc/supervisor.md`.
 */
namespace tcs::supervisor {

/** @brief `org.freedesktop.systemd1.Unit`, the generic unit interface (ActiveState, SubState, …). */
inline constexpr std::string_view kUnitInterface = "org.freedesktop.systemd1.Unit";
/** @brief `org.freedesktop.systemd1.Service`, the service interface (Result, NRestarts, ExecMain*, …). */
inline constexpr std::string_view kServiceInterface = "org.freedesktop.systemd1.Service";
/** @brief The units tcs manages. */
inline constexpr std::string_view kTcsUnitPattern = "tcs@*.service";

/** @name ExecMainCode values (waitid()'s si_code, as systemd reports them). @{ */
inline constexpr std::int32_t kCldExited = 1;  ///< CLD_EXITED: ExecMainStatus is the exit status
inline constexpr std::int32_t kCldKilled = 2;  ///< CLD_KILLED: ExecMainStatus is the signal
inline constexpr std::int32_t kCldDumped = 3;  ///< CLD_DUMPED: ExecMainStatus is the signal (core dumped)
/** @} */

/**
 * @brief A D-Bus call to systemd failed.
 *
 * what() reads `<context>: <D-Bus error name>: <message>`, e.g.
 * `StartUnit tcs@x:y.service: org.freedesktop.systemd1.NoSuchUnit: Unit tcs@x:y.service not found.`
 */
class SystemdError : public std::runtime_error {
 public:
  /**
   * @param[in] name - the D-Bus error name (`org.freedesktop.DBus.Error.AccessDenied`, …)
   * @param[in] message - the error's human-readable message
   * @param[in] context - what was being done (method and unit), for what()
   */
  SystemdError(std::string name, std::string message, const std::string& context);

  /** @return the D-Bus error name */
  const std::string& name() const noexcept { return name_; }
  /** @return the error message as systemd (or the bus) sent it */
  const std::string& message() const noexcept { return message_; }

 private:
  std::string name_;
  std::string message_;
};

/**
 * @brief An exit status set as systemd's `RestartPreventExitStatus=` holds it (D-Bus `(aiai)`):
 * exit statuses, and signals that end the main process.
 */
struct ExitStatusSet {
  std::vector<std::int32_t> statuses;  ///< exit statuses (ExecMainCode kCldExited)
  std::vector<std::int32_t> signals;   ///< signal numbers (ExecMainCode kCldKilled/kCldDumped)

  /** @return whether a main process that ended with @p code and @p status is in the set */
  bool contains(std::int32_t code, std::int32_t status) const noexcept;

  friend bool operator==(const ExitStatusSet&, const ExitStatusSet&) = default;
};

/**
 * @brief One property value as read from D-Bus.
 *
 * D-Bus `b` → bool, `y n q i u x` → std::int64_t or std::uint64_t (signed types signed), `t` →
 * std::uint64_t, `s o g` → std::string, `(aiai)` → ExitStatusSet. Other types are not carried.
 */
using PropertyValue = std::variant<bool, std::int64_t, std::uint64_t, std::string, ExitStatusSet>;

/**
 * @brief One PropertiesChanged signal of a unit (or one GetAll reply, see Origin).
 *
 * systemd sends one signal per interface: for a service, first
 * `org.freedesktop.systemd1.Service`, then `org.freedesktop.systemd1.Unit` ("clients may rely on
 * this order to get atomic behaviour"). Each carries every property of the interface that
 * emits changes, changed or not; properties that only emit invalidation are listed in
 * `invalidated` without a value. The implementation re-reads the invalidated properties that
 * UnitSnapshot uses and puts their values into `changed` (the name stays in `invalidated`).
 *
 * The unit's `Job` property `(uo)` is flattened into `JobId` (u) and `JobPath` (o). The job's
 * type is not read (a blocking Get per signal that mostly failed, the job being gone already):
 * a pending job at the end of a run counts as a requested stop or restart.
 */
struct PropertyChange {
  /** @brief Where the values come from. */
  enum class Origin {
    Signal,    ///< a PropertiesChanged signal
    Snapshot,  ///< a GetAll reply requested with ISystemdManager::requestUnitProperties()
    /// The same for a unit already followed (after a daemon-reload): compared with what is known
    /// like a signal, so that a change whose signal comes after the reply is not taken silently.
    Refresh,
  };

  std::string unit;        ///< unit name (`tcs@hello_world:main.service`)
  std::string objectPath;  ///< the unit's object path, as systemd gave it
  std::string interface;   ///< kUnitInterface, kServiceInterface (others are not delivered)
  std::map<std::string, PropertyValue> changed;
  std::vector<std::string> invalidated;
  Origin origin = Origin::Signal;
};

/**
 * @brief The state of one service unit: the properties the supervisor needs.
 *
 * Timestamps are systemd's realtime timestamps in µs since the epoch (0 = never). Strings are
 * systemd's own words (`ActiveState` `active`, `reloading`, `inactive`, `failed`, `activating`,
 * `deactivating`; `Result` `success`, `exit-code`, `signal`, `core-dump`, `watchdog`,
 * `timeout`, `oom-kill`, `start-limit-hit`, `resources`, …).
 */
struct UnitSnapshot {
  // org.freedesktop.systemd1.Unit
  std::string id;           ///< Id: the unit name
  std::string loadState;    ///< LoadState: `loaded`, `not-found`, …
  std::string activeState;  ///< ActiveState
  std::string subState;     ///< SubState (service: `running`, `auto-restart`, `stop-sigterm`, `dead`, …)
  std::uint64_t activeEnterTimestamp = 0;    ///< ActiveEnterTimestamp
  std::uint64_t activeExitTimestamp = 0;     ///< ActiveExitTimestamp
  std::uint64_t inactiveEnterTimestamp = 0;  ///< InactiveEnterTimestamp
  std::uint64_t inactiveExitTimestamp = 0;   ///< InactiveExitTimestamp
  std::uint64_t stateChangeTimestamp = 0;    ///< StateChangeTimestamp: the last change of ActiveState/SubState
  std::uint32_t jobId = 0;                   ///< Job (id): the pending or running job, 0 = none
  std::string jobPath;                       ///< Job (path), `/` when there is none
  // org.freedesktop.systemd1.Service
  std::string type;                          ///< Type: `notify`, `simple`, …
  std::string restart;                       ///< Restart: `no`, `on-failure`, `on-abnormal`, `always`, …
  std::string result;                        ///< Result
  std::uint32_t nRestarts = 0;               ///< NRestarts: automatic restarts (refused ones counted too, systemd 252)
  std::uint32_t mainPid = 0;                 ///< MainPID: the running main process, 0 when none
  std::uint32_t execMainPid = 0;             ///< ExecMainPID: the last main process (stays after it exits)
  std::int32_t execMainCode = 0;             ///< ExecMainCode: kCldExited/kCldKilled/kCldDumped, 0 while running
  std::int32_t execMainStatus = 0;           ///< ExecMainStatus: exit status or signal number
  std::uint64_t execMainStartTimestamp = 0;  ///< ExecMainStartTimestamp
  std::uint64_t execMainExitTimestamp = 0;   ///< ExecMainExitTimestamp
  std::string statusText;                    ///< StatusText (the service's STATUS=)
  /**
   * @brief RestartPreventExitStatus: a constant property, so only in a GetAll reply
   * (Origin::Snapshot), never in a signal; nullopt until one was read (the tracker then uses the
   * template's setting, TrackedService::restartPreventExitStatus).
   */
  std::optional<ExitStatusSet> restartPreventExitStatus;

  /**
   * @brief Merges the values of @p change that this struct knows (by property name; the
   *        interface is not checked, names do not collide). Values of the wrong D-Bus type
   *        are ignored.
   * @return the number of fields set
   */
  std::size_t apply(const PropertyChange& change);

  /** @brief The exit of the last main process as upstream reports it: the exit status, or the
   *         negative signal number when it was killed (kCldKilled/kCldDumped). */
  int exitCode() const noexcept;

  /** @return the property names apply() understands on @p interface (what GetAll must cover) */
  static const std::vector<std::string>& propertyNames(std::string_view interface);

  friend bool operator==(const UnitSnapshot&, const UnitSnapshot&) = default;
};

/** @brief One row of ListUnitsByPatterns. */
struct UnitListEntry {
  std::string name;
  std::string description;
  std::string loadState;
  std::string activeState;
  std::string subState;
  std::string objectPath;
  std::uint32_t jobId = 0;  ///< 0 when no job is queued

  friend bool operator==(const UnitListEntry&, const UnitListEntry&) = default;
};

/** @brief The Manager's JobRemoved signal: a job finished. */
struct JobRemoved {
  std::uint32_t id = 0;
  std::string job;     ///< the job's object path
  std::string unit;    ///< unit name
  std::string result;  ///< `done`, `canceled`, `timeout`, `failed`, `dependency`, `skipped`
  friend bool operator==(const JobRemoved&, const JobRemoved&) = default;
};

/** @brief The Manager's UnitNew / UnitRemoved signal. */
struct UnitSignal {
  std::string unit;        ///< unit name
  std::string objectPath;  ///< its object path
  friend bool operator==(const UnitSignal&, const UnitSignal&) = default;
};

/**
 * @brief What an ISystemdManager reports. Every member is optional.
 *
 * Callbacks run on the manager's D-Bus thread, one at a time, in the order systemd sent the
 * messages. They must not block for long (the next message waits), must not throw (an
 * exception is caught and reported on stderr), and may call the manager's methods (from the
 * D-Bus thread those calls are plain blocking calls).
 */
struct SystemdCallbacks {
  std::function<void(const PropertyChange&)> propertiesChanged;  ///< a unit's properties changed
  std::function<void(const JobRemoved&)> jobRemoved;             ///< a job of a unit finished
  std::function<void(const UnitSignal&)> unitNew;                ///< a unit was loaded
  std::function<void(const UnitSignal&)> unitRemoved;            ///< a unit was unloaded (garbage-collected)
  /** @brief The manager starts (true) or finished (false) a daemon-reload. */
  std::function<void(bool active)> reloading;
  /**
   * @brief The bus connection is gone (dbus-daemon restarted, systemd re-executed with a new
   *        bus, …): no signal will come any more. Called once, on the D-Bus thread just before
   *        it ends; call ISystemdManager::reconnect() from another thread to continue.
   */
  std::function<void(const std::string& why)> busLost;
};

/**
 * @brief The supervisor's interface to systemd's manager and unit objects.
 *
 * Only units whose names match the manager's unit patterns (by default kTcsUnitPattern) are
 * reported; the other units' signals are dropped.
 *
 * Object paths are always systemd's (from ListUnitsByPatterns, LoadUnit, GetUnit, UnitNew);
 * they are never built from a unit name.
 *
 * Methods throw SystemdError when a call fails. They may be called from any thread, including
 * from a callback. A call from another thread is answered through the D-Bus thread: never
 * make one while that thread is blocked waiting for the caller (e.g. in a callback waiting on
 * a lock the caller holds).
 */
class ISystemdManager {
 public:
  virtual ~ISystemdManager() = default;

  /** @brief Sets what to report. Call before subscribe(). */
  virtual void setCallbacks(SystemdCallbacks callbacks) = 0;

  /**
   * @brief `Subscribe()`s to the manager (systemd sends unit and job signals only to
   *        subscribers) and starts delivering signals to the callbacks.
   */
  virtual void subscribe() = 0;

  /** @brief `ListUnitsByPatterns([], patterns)`: the loaded units whose names match. */
  virtual std::vector<UnitListEntry> listUnitsByPatterns(const std::vector<std::string>& patterns) = 0;

  /** @brief `LoadUnit(name)`: loads the unit if needed. @return its object path */
  virtual std::string loadUnit(const std::string& name) = 0;
  /** @brief `GetUnit(name)`. @return its object path @throws SystemdError (NoSuchUnit) when not loaded */
  virtual std::string getUnit(const std::string& name) = 0;

  /** @brief Reads the unit's and the service's properties now (blocking GetAll calls). */
  virtual UnitSnapshot unitProperties(const std::string& objectPath) = 0;

  /**
   * @brief Asks for the unit's properties without waiting: the answers are delivered to
   *        `propertiesChanged` as two changes with Origin::Snapshot (Service first, then Unit,
   *        like systemd's own signals), in order with the signals. This is how a state is
   *        taken while signals flow: a snapshot read on another thread could be older than a
   *        signal already delivered. @p origin: Snapshot or Refresh.
   */
  virtual void requestUnitProperties(const std::string& unit, const std::string& objectPath,
                                     PropertyChange::Origin origin) = 0;

  /** @name Jobs, mode `replace`. @return the job's object path @{ */
  virtual std::string startUnit(const std::string& name) = 0;
  virtual std::string stopUnit(const std::string& name) = 0;
  virtual std::string restartUnit(const std::string& name) = 0;
  /** @} */
  /** @brief `ResetFailedUnit(name)`: clears the failed state and the start-limit counter. */
  virtual void resetFailedUnit(const std::string& name) = 0;

  /** @brief `Reload()`: systemctl daemon-reload (runs the generators again). Returns when done. */
  virtual void reload() = 0;

  /**
   * @brief After `busLost`: opens a new connection, subscribes again and resumes delivering
   *        signals. Signals between the loss and now are lost: re-read every unit
   *        (requestUnitProperties()). Must not be called from a callback.
   * @throws SystemdError when the bus is still not there (call again later)
   */
  virtual void reconnect() = 0;
};

}  // namespace tcs::supervisor
