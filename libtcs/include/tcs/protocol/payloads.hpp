// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tcs/export.hpp"
#include "tcs/protocol/json_object.hpp"
#include "tcs/protocol/subject.hpp"
#include "tcs/protocol/timestamp.hpp"
#include "tcs/status.hpp"

/**
 * @file
 * The payloads (the envelope's `data`): status reports, heartbeats, registry events, RPC
 * requests and replies, with the well-known `reason` and `error` codes. Plain structs; the
 * codec (tcs/protocol/codec.hpp) turns them into bytes and back.
 */
namespace tcs::protocol {

struct StatusReport;

/**
 * @brief `details` of a status report. Upstream sends `own_status` and `children` together
 *        when there are children and `metrics` when there are metrics; each key here is sent
 *        when set / non-empty, and `details` itself only when one of them is.
 */
struct TCS_API StatusDetails {
  std::optional<Status> ownStatus;     ///< `own_status`: the monitor's own (not aggregated) status
  std::vector<StatusReport> children;  ///< `children`: one report per child monitor
  JsonObject metrics;                  ///< `metrics`: merged metric callbacks

  /** @return true when nothing is set, so `details` is left out */
  bool empty() const noexcept;
  friend bool operator==(const StatusDetails&, const StatusDetails&) = default;
};

/** @brief Upstream's StatusReport: a child monitor's entry in `details.children`, and the
 *         first keys of a status message. */
struct TCS_API StatusReport {
  std::string name;
  Status status = Status::Unknown;  ///< the aggregate when there are children
  Timestamp timestamp{};
  std::string message;  ///< the monitor's own message
  StatusDetails details;
  std::string parent;  ///< `launcher.<id>` of the managing supervisor

  friend bool operator==(const StatusReport&, const StatusReport&) = default;
};

/** @brief `<P>.status.<name>`: key order `name, status, timestamp, message, details, parent,
 *         pid, hostname`; `pid` and `hostname` always. */
struct TCS_API StatusUpdate : StatusReport {
  std::int64_t pid = 0;
  std::string hostname;  ///< full gethostname()

  friend bool operator==(const StatusUpdate&, const StatusUpdate&) = default;
};

/** @brief `<P>.heartbeat.<name>`: upstream's three keys plus tcs's additions, which upstream
 *         readers ignore and which are absent from upstream heartbeats. */
struct TCS_API Heartbeat {
  std::string serviceId;
  Timestamp timestamp{};
  Status status = Status::Unknown;        ///< the monitor's own status (not the aggregate)
  std::optional<std::uint64_t> sequence;  ///< from 1, resets on restart
  std::optional<double> uptimeSeconds;
  std::optional<Timestamp> nextHeartbeatExpected;
  JsonObject metrics;

  friend bool operator==(const Heartbeat&, const Heartbeat&) = default;
};

/** @name Registry events: the specific keys of each event, in wire order. @{ */
struct DeclaredEvent {
  std::string restartPolicy;  ///< `no`, `on-failure`, `on-abnormal`, `always`
  friend bool operator==(const DeclaredEvent&, const DeclaredEvent&) = default;
};
struct StartEvent {
  Status status = Status::Startup;
  std::string hostname;
  std::int64_t pid = 0;
  friend bool operator==(const StartEvent&, const StartEvent&) = default;
};
/** @brief tcs addition. */
struct ReadyEvent {
  Status status = Status::Ok;
  double startupDurationSeconds = 0;
  friend bool operator==(const ReadyEvent&, const ReadyEvent&) = default;
};
/** @brief tcs addition. */
struct StoppingEvent {
  Status status = Status::Shutdown;
  std::string reason;
  friend bool operator==(const StoppingEvent&, const StoppingEvent&) = default;
};
struct StopEvent {
  Status status = Status::Shutdown;
  std::string reason;  ///< `terminated`, `completed`, `force_killed`
  int exitCode = 0;
  friend bool operator==(const StopEvent&, const StopEvent&) = default;
};
struct CrashedEvent {
  Status status = Status::Error;  ///< `error` if it will restart, else `failed`
  int exitCode = 0;               ///< negative signal number when killed by a signal
  std::string restartPolicy;
  bool willRestart = false;
  std::string result;  ///< tcs addition, systemd's Result (`signal`, `oom-kill`…)
  friend bool operator==(const CrashedEvent&, const CrashedEvent&) = default;
};
struct RestartingEvent {
  Status status = Status::Startup;
  int restartAttempt = 1;          ///< 1-based
  std::optional<int> maxRestarts;  ///< always sent; `null` (nullopt) means unlimited
  friend bool operator==(const RestartingEvent&, const RestartingEvent&) = default;
};
struct FailedEvent {
  Status status = Status::Failed;
  std::string reason;  ///< `restart_limit_reached`, `start_failed` (upstream: `restart_failed`)
  int restartCount = 0;
  friend bool operator==(const FailedEvent&, const FailedEvent&) = default;
};
/** @brief One process of a DuplicateEvent: `{hostname, pid, launcher}` (pid and launcher
 *         `null` when not known). */
struct DuplicateHost {
  std::string hostname;
  std::optional<std::int64_t> pid;
  std::string launcher;  ///< `launcher.<launcher_id>` of that host's supervisor, "" = not known
  friend bool operator==(const DuplicateHost&, const DuplicateHost&) = default;
};
/** @brief tcs addition: the same service id alive in two processes (two hosts, or two pids
 *         on one host) at once, seen by the supervisor that publishes it. */
struct DuplicateEvent {
  Status status = Status::Warning;
  std::vector<DuplicateHost> hosts;  ///< every live process of the id, this host's first
  friend bool operator==(const DuplicateEvent&, const DuplicateEvent&) = default;
};
/** @} */

/** @brief `<P>.registry.<event>.<service_id>`, published by the supervisor. */
struct TCS_API RegistryEvent {
  using Specific = std::variant<DeclaredEvent, StartEvent, ReadyEvent, StoppingEvent, StopEvent, CrashedEvent,
                                RestartingEvent, FailedEvent, DuplicateEvent>;

  std::string serviceId;
  Timestamp timestamp{};
  Specific specific;     ///< the event (its alternative decides `event`)
  std::string parent;    ///< `launcher.<launcher_id>`; left out when empty
  std::string runnerId;  ///< `<launcher_id>.<type>`; always sent and required when decoding

  RegistryEventType type() const noexcept { return static_cast<RegistryEventType>(specific.index()); }
  /** @return the event's `status`, nullopt for `declared` (which has none) */
  std::optional<Status> status() const noexcept;

  friend bool operator==(const RegistryEvent&, const RegistryEvent&) = default;
};

/** @brief Well-known `reason` values of stop, stopping and failed events. */
namespace reason {
inline constexpr std::string_view kTerminated = "terminated";
inline constexpr std::string_view kCompleted = "completed";
inline constexpr std::string_view kForceKilled = "force_killed";
inline constexpr std::string_view kRestartLimitReached = "restart_limit_reached";
inline constexpr std::string_view kStartFailed = "start_failed";
}  // namespace reason

/** @brief The `data` of an RPC request: free-form parameters, usually `{}`. A request with an
 *         empty (or whitespace-only) body, as `nats req SUBJECT ""` sends, decodes as `{}`. */
struct TCS_API RpcRequest {
  JsonObject params;
  friend bool operator==(const RpcRequest&, const RpcRequest&) = default;
};

/** @brief Reply to `…v1.health`: `service_id, status, timestamp, checks` (checks always). */
struct TCS_API HealthReply {
  std::string serviceId;
  Status status = Status::Unknown;
  Timestamp timestamp{};
  JsonObject checks;  ///< per-check results
  friend bool operator==(const HealthReply&, const HealthReply&) = default;
};

/** @brief Reply to `…v1.stats`: `service_id, timestamp, uptime_seconds, stats` (stats always). */
struct TCS_API StatsReply {
  std::string serviceId;
  Timestamp timestamp{};
  double uptimeSeconds = 0;
  JsonObject stats;  ///< service-provided
  friend bool operator==(const StatsReply&, const StatsReply&) = default;
};

/** @brief One entry of LauncherListReply: `service_id, status, pid?, unit, active_state,
 *         sub_state, n_restarts`. */
struct TCS_API LauncherServiceEntry {
  std::string serviceId;
  std::string status;  ///< `running`, `stopped`, `starting`, `stopping`, `failed`…
  std::optional<std::int64_t> pid;
  std::string unit;
  std::string activeState;
  std::string subState;
  std::int64_t nRestarts = 0;
  friend bool operator==(const LauncherServiceEntry&, const LauncherServiceEntry&) = default;
};

/** @brief Reply to `…v1.list`: `launcher_id, timestamp, services`. */
struct TCS_API LauncherListReply {
  std::string launcherId;
  Timestamp timestamp{};
  std::vector<LauncherServiceEntry> services;
  friend bool operator==(const LauncherListReply&, const LauncherListReply&) = default;
};

/** @brief Reply to `…v1.start|stop|restart.<service_id>`: `launcher_id, service_id, result,
 *         pid?, timestamp`. */
struct TCS_API LauncherActionReply {
  std::string launcherId;
  std::string serviceId;
  std::string result;  ///< `started`, `stopped`, `restarted`
  std::optional<std::int64_t> pid;
  Timestamp timestamp{};
  friend bool operator==(const LauncherActionReply&, const LauncherActionReply&) = default;
};

/** @brief Reply to `…v1.reload` (tcs's own shape): `launcher_id, result, declared, errors,
 *         timestamp`; `declared` lists the service ids declared again, `errors` the config
 *         problems found (both always sent). */
struct TCS_API LauncherReloadReply {
  std::string launcherId;
  std::string result;  ///< `reloaded`
  std::vector<std::string> declared;
  std::vector<std::string> errors;
  Timestamp timestamp{};
  friend bool operator==(const LauncherReloadReply&, const LauncherReloadReply&) = default;
};

/** @name The launcher's `…v1.logs.<service_id>` RPC (doc/supervisor.md, "Reading a service's
 *        journal"). @{ */
/** @brief `lines` when the request sets none. */
inline constexpr int kLogsDefaultLines = 50;
/** @brief The largest `lines` a request may ask for. */
inline constexpr int kLogsMaxLines = 1000;
/** @brief `max_bytes` when the request sets none, and its largest value (message text only). */
inline constexpr std::int64_t kLogsMaxBytes = 64 * 1024;

/**
 * @brief The parameters of a logs request (the request's `data`): `lines, priority?,
 *        after_cursor?, max_bytes`; every key is optional when decoding.
 *
 * Decoding validates: `lines` an integer in [1, kLogsMaxLines], `priority` an integer in [0, 7]
 * or a syslog name (`emerg`, `alert`, `crit`, `err`, `warning`, `notice`, `info`, `debug`),
 * `after_cursor` a non-empty string, `max_bytes` an integer in [1, kLogsMaxBytes].
 */
struct TCS_API LogsRequest {
  int lines = kLogsDefaultLines;          ///< the newest N entries; with afterCursor the first N after it
  std::optional<int> priority;            ///< only entries with PRIORITY ≤ this (0 emerg … 7 debug)
  std::string afterCursor;                ///< `after_cursor`: only entries after this journal cursor (follow)
  std::int64_t maxBytes = kLogsMaxBytes;  ///< `max_bytes`: cap on the summed message text
  friend bool operator==(const LogsRequest&, const LogsRequest&) = default;
};

/** @brief One journal entry of LogsReply: `timestamp, priority, identifier?, pid?, message,
 *         cursor`. */
struct TCS_API LogEntry {
  Timestamp timestamp{};            ///< the entry's realtime timestamp (journald's __REALTIME_TIMESTAMP)
  int priority = 6;                 ///< PRIORITY (6 info when the entry has none)
  std::string identifier;           ///< SYSLOG_IDENTIFIER (else _COMM); left out when empty
  std::optional<std::int64_t> pid;  ///< _PID
  std::string message;              ///< MESSAGE (invalid UTF-8 is replaced on the wire)
  std::string cursor;               ///< the entry's journal cursor
  friend bool operator==(const LogEntry&, const LogEntry&) = default;
};

/**
 * @brief Reply to `…v1.logs.<service_id>`: `launcher_id, service_id, unit, entries, cursor,
 *        truncated, timestamp`. `entries` are oldest first; `cursor` is the last entry's, or
 *        the request's `after_cursor` when there is no new entry (empty when neither), so a
 *        follower sends it back as `after_cursor`; `truncated` says entries (or the text of an
 *        entry longer than `max_bytes`) were left out to keep within `max_bytes`.
 */
struct TCS_API LogsReply {
  std::string launcherId;
  std::string serviceId;
  std::string unit;
  std::vector<LogEntry> entries;
  std::string cursor;
  bool truncated = false;
  Timestamp timestamp{};
  friend bool operator==(const LogsReply&, const LogsReply&) = default;
};

/** @return the PRIORITY of a syslog name (`emerg` 0 … `debug` 7), nullopt for any other text */
TCS_API std::optional<int> parseLogPriority(std::string_view name) noexcept;
/** @} */

/** @brief The reply to any failed request: `{error, message}`. */
struct TCS_API ErrorReply {
  std::string error;    ///< a code from rpc_error
  std::string message;  ///< for people
  friend bool operator==(const ErrorReply&, const ErrorReply&) = default;
};

/** @brief `error` codes of ErrorReply. */
namespace rpc_error {
inline constexpr std::string_view kUnknownService = "unknown_service";
inline constexpr std::string_view kUnknownCommand = "unknown_command";
inline constexpr std::string_view kBadRequest = "bad_request";
inline constexpr std::string_view kActionFailed = "action_failed";
inline constexpr std::string_view kInternalError = "internal_error";
}  // namespace rpc_error

}  // namespace tcs::protocol
