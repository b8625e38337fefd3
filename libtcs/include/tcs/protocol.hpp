// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tcs/status.hpp"

/**
 * @file
 * The NATS wire protocol of tcs, in one place: subjects, the serverish envelope, timestamps,
 * every payload, and status aggregation. The contract is `spec/protocol.md`; the bytes match
 * what upstream ocabox-tcs publishes, so upstream `tcsctl` reads tcs and tcs reads upstream.
 *
 * Everything here is pure (no I/O). Encoders do not fail (invalid UTF-8 is replaced); subject
 * builders throw tcs::ProtocolError for invalid names; decoders and parsers throw
 * tcs::ProtocolError, whose what() names the JSON path and the problem
 * (`data.details.children[1].status: unknown status value 'completed'`), and nothing else: no
 * JSON-library exception escapes, no input crashes.
 *
 * **Key order.** Encoders emit keys in upstream's order (status: `name, status, timestamp,
 * message, details, parent, pid, hostname`; registry: `event, service_id, timestamp,
 * <specific…>, parent, runner_id`), so a decoded upstream message re-encodes to the same JSON.
 *
 * **Optional keys.** A string that is empty, a JsonObject that is empty and an unset optional
 * are left out (exceptions are listed on the member). Decoders ignore unknown keys and treat
 * `null` for an optional key as absent.
 *
 * **Free-form JSON** (`metrics`, `checks`, `stats`, RPC parameters) is a JsonObject: the
 * compact text of one JSON object, so no JSON library type appears in this header.
 *
 * Thread safety: all functions are reentrant; MetaGenerator::next() may be called from any
 * thread.
 */
namespace tcs::protocol {

namespace detail {
struct JsonAccess;
}  // namespace detail

/** @brief `nats.subject_prefix` when the config sets none. */
inline constexpr std::string_view kDefaultPrefix = "svc";
/** @brief The version token of every RPC subject. */
inline constexpr std::string_view kRpcVersion = "v1";
/** @brief `meta.trace_level` of every message (serverish DEBUG). */
inline constexpr int kTraceLevel = 10;
/** @brief `meta.message_type` of RPC requests and replies (other messages use `""`). */
inline constexpr std::string_view kMessageTypeRpc = "rpc";
/** @brief Decoders reject JSON nested deeper than this (arrays and objects), before parsing. */
inline constexpr std::size_t kMaxNestingDepth = 64;

// ------------------------------------------------------------------------------------------
// Timestamps
// ------------------------------------------------------------------------------------------

/** @brief A UTC time point with the wire's microsecond resolution. */
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;
/** @brief `[year, month, day, hour, minute, second, microsecond]`, UTC. */
using TimestampFields = std::array<std::int64_t, 7>;

/** @brief std::chrono::system_clock::now(), floored to microseconds. */
Timestamp now() noexcept;

/** @brief Splits @p ts into the seven wire fields. */
TimestampFields toFields(Timestamp ts) noexcept;

/**
 * @brief Builds a time point from wire fields; elements after the seventh are ignored.
 * @param[in] fields - at least 7 integers; year 1–9999, a real calendar date, hour 0–23,
 *                     minute and second 0–59, microsecond 0–999999 (Python datetime's range)
 * @throws tcs::ProtocolError when there are fewer than 7 fields or one is out of range
 */
Timestamp fromFields(std::span<const std::int64_t> fields);

/** @return the compact JSON array, e.g. `[2026,11,25,17,30,35,22725]` */
std::string encodeTimestamp(Timestamp ts);

/**
 * @brief Parses a JSON timestamp array; longer arrays are accepted and their first 7 used.
 * @throws tcs::ProtocolError for anything else (not JSON, not an array, fewer than 7 elements,
 *         an element that is not an integer, a field out of range)
 */
Timestamp decodeTimestamp(std::string_view json);

// ------------------------------------------------------------------------------------------
// Free-form JSON objects
// ------------------------------------------------------------------------------------------

/**
 * @brief One JSON object kept as its compact text; insertion order is preserved.
 *
 * Used for the free-form parts of payloads (metrics, checks, stats, RPC parameters). Build it
 * with set() or parse(); read it with text() and a JSON library of your choice. Non-finite
 * doubles are written as `null` (JSON has no NaN), invalid UTF-8 is replaced by U+FFFD.
 */
class JsonObject {
 public:
  using Scalar = std::variant<std::nullptr_t, bool, std::int64_t, double, std::string>;

  /** @brief The empty object `{}`. */
  JsonObject() = default;

  /**
   * @brief Parses and re-serialises compactly.
   * @throws tcs::ProtocolError when @p json is not one JSON object
   */
  static JsonObject parse(std::string_view json);

  /** @brief Sets @p key (replacing its value in place, or appending it). @return *this */
  JsonObject& set(std::string_view key, Scalar value);
  /** @brief Sets @p key to a nested object. @return *this */
  JsonObject& set(std::string_view key, const JsonObject& value);
  /** @brief Sets every key of @p other (its values win; new keys are appended). @return *this */
  JsonObject& merge(const JsonObject& other);

  bool empty() const noexcept { return text_.size() == 2; }
  /** @return the compact JSON text, `{}` when empty */
  const std::string& text() const noexcept { return text_; }

  friend bool operator==(const JsonObject&, const JsonObject&) = default;

 private:
  friend struct detail::JsonAccess;
  std::string text_ = "{}";
};

// ------------------------------------------------------------------------------------------
// Subjects
// ------------------------------------------------------------------------------------------

/** @brief True if @p token is a valid NATS subject token: not empty, no `.`, `*`, `>`,
 *         whitespace or control character. */
bool isValidSubjectToken(std::string_view token) noexcept;

/** @brief True if @p name is one or more valid tokens joined by dots. */
bool isValidSubjectName(std::string_view name) noexcept;

/**
 * @return `launcher.<launcher_id>`, the monitor name of a supervisor (launcher ids may contain
 *         dots, upstream's do: `launcher.launcher.bAVP2J.vm-process-launcher`)
 * @throws tcs::ProtocolError if the result is not a valid subject name
 */
std::string launcherName(std::string_view launcherId);

/** @return `<launcher_id>.<type>`, the `runner_id` of registry events (upstream's shape: no variant) */
std::string runnerId(std::string_view launcherId, std::string_view type);

/** @return the launcher id of a `launcher.<id>` name, nullopt for any other name */
std::optional<std::string_view> launcherIdOf(std::string_view name) noexcept;

enum class SubjectKind { Status, Heartbeat, Registry, Rpc };

/** @brief The event token of `<P>.registry.<event>.<service_id>`; the enumerator order is the
 *         order of RegistryEvent::Specific's alternatives. */
enum class RegistryEventType { Declared, Start, Ready, Stopping, Stop, Crashed, Restarting, Failed };

std::string_view toString(RegistryEventType type) noexcept;
std::optional<RegistryEventType> parseRegistryEventType(std::string_view text) noexcept;

/** @brief The command token after `v1` in an RPC subject. */
enum class RpcCommand { Health, Stats, List, Start, Stop, Restart, Reload };

std::string_view toString(RpcCommand command) noexcept;
std::optional<RpcCommand> parseRpcCommand(std::string_view text) noexcept;
/** @brief True for start, stop and restart, whose subject ends with a service id. */
bool takesServiceId(RpcCommand command) noexcept;

/**
 * @name Subject builders
 * @p prefix may contain dots (`ocm.svc`); names are service ids or `launcher.<id>`.
 * @throws tcs::ProtocolError when the prefix or a name is not a valid subject name
 * @{
 */
/** @return `<P>.status.<name>` */
std::string statusSubject(std::string_view prefix, std::string_view name);
/** @return `<P>.heartbeat.<name>` */
std::string heartbeatSubject(std::string_view prefix, std::string_view name);
/** @return `<P>.registry.<event>.<service_id>` */
std::string registrySubject(std::string_view prefix, RegistryEventType event, std::string_view serviceId);
/**
 * @return `<P>.rpc.<name>.v1.<command>` or, for start/stop/restart,
 *         `<P>.rpc.<name>.v1.<command>.<service_id>`
 * @throws tcs::ProtocolError also when @p serviceId is given to a command that takes none or
 *         missing for one that needs it, and when the subject would not parse back to the same
 *         parts (a name with a `v1` token followed by a command token)
 */
std::string rpcSubject(std::string_view prefix, std::string_view name, RpcCommand command,
                       std::string_view serviceId = {});

/** @return `<P>.status.>`, `<P>.heartbeat.>`, `<P>.registry.>` or `<P>.rpc.>` */
std::string subjectFilter(std::string_view prefix, SubjectKind kind);
/** @return `<P>.registry.<event>.>` */
std::string registryFilter(std::string_view prefix, RegistryEventType event);
/** @return `<P>.rpc.<name>.v1.>`, everything an RPC server for @p name subscribes to */
std::string rpcFilter(std::string_view prefix, std::string_view name);
/** @} */

/** @brief A subject taken apart by parseSubject(). */
struct Subject {
  SubjectKind kind = SubjectKind::Status;
  /** Status and heartbeat: the monitor name. Registry: the service id. RPC: the target name. */
  std::string name;
  /** Registry only: the event token as sent (it may be an event this version does not know). */
  std::string event;
  /** RPC only: the command token as sent (unknown commands are kept so they can be answered). */
  std::string command;
  /** RPC only: what follows the command (the service id of start/stop/restart), else empty. */
  std::string argument;

  friend bool operator==(const Subject&, const Subject&) = default;
};

/**
 * @brief Takes a subject apart. Names are always the last tokens.
 *
 * RPC subjects are split at a `v1` token: the leftmost split whose command is known and has
 * the right arity wins (so a service named `camera.v1` works); when none fits, the leftmost
 * `v1` with at least one token before and after it (the command is then unknown, or has the
 * wrong arity, and the server answers with an error).
 *
 * @throws tcs::ProtocolError when the subject is not under @p prefix, has an invalid or empty
 *         token, an unknown kind (`status`, `heartbeat`, `registry`, `rpc`) or no name
 */
Subject parseSubject(std::string_view prefix, std::string_view subject);

// ------------------------------------------------------------------------------------------
// Envelope
// ------------------------------------------------------------------------------------------

/** @brief The envelope's `meta` (serverish); key order `id, sender, ts, trace_level,
 *         message_type, tags`. Readers' additions (e.g. `meta.nats`) are ignored. */
struct Meta {
  std::string id;      ///< `msg`, `msg-2`, `msg-3`, … per process
  std::string sender;  ///< the publishing process's name
  Timestamp ts{};      ///< publish time
  int traceLevel = kTraceLevel;
  std::string messageType;  ///< `""`, or `"rpc"` for RPC requests and replies
  std::vector<std::string> tags;

  friend bool operator==(const Meta&, const Meta&) = default;
};

/**
 * @brief Stamps outgoing messages: the per-process id counter and the sender name.
 *
 * Thread-safe. A process normally uses processMetaGenerator() so that ids never repeat.
 */
class MetaGenerator {
 public:
  /** @param[in] sender - the `meta.sender` of every message (default: randomSenderName()) */
  explicit MetaGenerator(std::string sender = randomSenderName());

  /** @return the next meta: id `msg` first, then `msg-2`, `msg-3`…; ts = now() */
  Meta next(std::string_view messageType = {});
  /** @brief The same as `meta = next(messageType)`, reusing @p meta's strings (no allocation once warm). */
  void next(Meta& meta, std::string_view messageType = {});

  const std::string& sender() const noexcept { return sender_; }

  /** @return `Messenger_` + 10 random characters of `[A-Za-z0-9_-]`, upstream's form */
  static std::string randomSenderName();

 private:
  std::string sender_;
  std::atomic<std::uint64_t> count_{0};
};

/** @brief The process-wide generator (created on first use with a random sender name). */
MetaGenerator& processMetaGenerator();

// ------------------------------------------------------------------------------------------
// Payloads (the envelope's `data`)
// ------------------------------------------------------------------------------------------

struct StatusReport;

/**
 * @brief `details` of a status report. Upstream sends `own_status` and `children` together
 *        when there are children and `metrics` when there are metrics; each key here is sent
 *        when set / non-empty, and `details` itself only when one of them is.
 */
struct StatusDetails {
  std::optional<Status> ownStatus;     ///< `own_status`: the monitor's own (not aggregated) status
  std::vector<StatusReport> children;  ///< `children`: one report per child monitor
  JsonObject metrics;                  ///< `metrics`: merged metric callbacks

  /** @return true when nothing is set, so `details` is left out */
  bool empty() const noexcept;
  friend bool operator==(const StatusDetails&, const StatusDetails&) = default;
};

/** @brief Upstream's StatusReport: a child monitor's entry in `details.children`, and the
 *         first keys of a status message. */
struct StatusReport {
  std::string name;
  Status status = Status::Unknown;  ///< the aggregate when there are children
  Timestamp timestamp{};
  std::string message;  ///< the monitor's own message
  StatusDetails details;
  std::string parent;  ///< `launcher.<id>` of the managing supervisor

  friend bool operator==(const StatusReport&, const StatusReport&) = default;
};

// Defined here, where StatusReport is complete (std::vector's members need that).
inline bool StatusDetails::empty() const noexcept {
  return !ownStatus && children.empty() && metrics.empty();
}

/** @brief `<P>.status.<name>`: key order `name, status, timestamp, message, details, parent,
 *         pid, hostname`; `pid` and `hostname` always. */
struct StatusUpdate : StatusReport {
  std::int64_t pid = 0;
  std::string hostname;  ///< full gethostname()

  friend bool operator==(const StatusUpdate&, const StatusUpdate&) = default;
};

/** @brief `<P>.heartbeat.<name>`: upstream's three keys plus tcs's additions, which upstream
 *         readers ignore and which are absent from upstream heartbeats. */
struct Heartbeat {
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
/** @} */

/** @brief `<P>.registry.<event>.<service_id>`, published by the supervisor. */
struct RegistryEvent {
  using Specific = std::variant<DeclaredEvent, StartEvent, ReadyEvent, StoppingEvent, StopEvent, CrashedEvent,
                                RestartingEvent, FailedEvent>;

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
struct RpcRequest {
  JsonObject params;
  friend bool operator==(const RpcRequest&, const RpcRequest&) = default;
};

/** @brief Reply to `…v1.health`: `service_id, status, timestamp, checks` (checks always). */
struct HealthReply {
  std::string serviceId;
  Status status = Status::Unknown;
  Timestamp timestamp{};
  JsonObject checks;  ///< per-check results
  friend bool operator==(const HealthReply&, const HealthReply&) = default;
};

/** @brief Reply to `…v1.stats`: `service_id, timestamp, uptime_seconds, stats` (stats always). */
struct StatsReply {
  std::string serviceId;
  Timestamp timestamp{};
  double uptimeSeconds = 0;
  JsonObject stats;  ///< service-provided
  friend bool operator==(const StatsReply&, const StatsReply&) = default;
};

/** @brief One entry of LauncherListReply: `service_id, status, pid?, unit, active_state,
 *         sub_state, n_restarts`. */
struct LauncherServiceEntry {
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
struct LauncherListReply {
  std::string launcherId;
  Timestamp timestamp{};
  std::vector<LauncherServiceEntry> services;
  friend bool operator==(const LauncherListReply&, const LauncherListReply&) = default;
};

/** @brief Reply to `…v1.start|stop|restart.<service_id>`: `launcher_id, service_id, result,
 *         pid?, timestamp`. */
struct LauncherActionReply {
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
struct LauncherReloadReply {
  std::string launcherId;
  std::string result;  ///< `reloaded`
  std::vector<std::string> declared;
  std::vector<std::string> errors;
  Timestamp timestamp{};
  friend bool operator==(const LauncherReloadReply&, const LauncherReloadReply&) = default;
};

/** @brief The reply to any failed request: `{error, message}`. */
struct ErrorReply {
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

// ------------------------------------------------------------------------------------------
// Encoding and decoding
// ------------------------------------------------------------------------------------------

/** @brief The types that are the `data` of a message. */
template <class T>
concept Payload = std::same_as<T, StatusUpdate> || std::same_as<T, Heartbeat> || std::same_as<T, RegistryEvent> ||
    std::same_as<T, RpcRequest> || std::same_as<T, HealthReply> || std::same_as<T, StatsReply> ||
    std::same_as<T, LauncherListReply> || std::same_as<T, LauncherActionReply> ||
    std::same_as<T, LauncherReloadReply> || std::same_as<T, ErrorReply>;

/** @brief A decoded message. */
template <class T>
struct Message {
  Meta meta;
  T data;
  friend bool operator==(const Message&, const Message&) = default;
};

/** @return the message body `{"data": …, "meta": …}`, compact UTF-8 JSON */
template <Payload T>
std::string encode(const T& data, const Meta& meta);

/** @return only the `data` object, compact */
template <Payload T>
std::string encodeData(const T& data);

/**
 * @brief Decodes a message body; unknown keys anywhere are ignored.
 * @throws tcs::ProtocolError naming what is wrong: not JSON, nested too deep, not an object,
 *         `data` or `meta` missing or not an object, a required key missing, a key of the
 *         wrong type, a number out of range, an unknown status or registry event, a bad
 *         timestamp
 */
template <Payload T>
Message<T> decode(std::string_view body);

/** @brief Decodes only a `data` object (as encodeData() writes it). @throws tcs::ProtocolError */
template <Payload T>
T decodeData(std::string_view data);

/**
 * @brief True if an RPC reply body carries an ErrorReply (its `data` has a string `error`).
 * @throws tcs::ProtocolError when @p body is not a message
 */
bool isErrorReply(std::string_view body);

// ------------------------------------------------------------------------------------------
// Status aggregation
// ------------------------------------------------------------------------------------------

/**
 * @brief Upstream's aggregate_status: the first rule that matches of
 *        empty → unknown; failed; error; warning; degraded; startup; shutdown; busy;
 *        all idle/ok → idle if any idle else ok; otherwise (unknown mixed in) → warning.
 */
Status aggregateStatus(std::span<const Status> statuses) noexcept;
inline Status aggregateStatus(std::initializer_list<Status> statuses) noexcept {
  return aggregateStatus(std::span<const Status>{statuses.begin(), statuses.size()});
}

}  // namespace tcs::protocol
