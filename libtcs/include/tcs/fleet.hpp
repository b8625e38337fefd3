// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcs/export.hpp"
#include "tcs/protocol.hpp"
#include "tcs/status.hpp"

/**
 * @file
 * The fleet view: what a control client (tcsctl, a dashboard) knows about every service and
 * launcher, reconstructed from the NATS messages of `spec/protocol.md` — status, heartbeat and
 * registry events. It is the model behind tcs's `tcsctl`: fed a JetStream snapshot (last
 * message per subject) and then the live messages, in any interleaving of the three streams.
 *
 * FleetView is a pure, deterministic reducer: apply() takes a raw subject and body, never reads
 * a clock, never does I/O and never throws; everything that depends on the time of day
 * (heartbeat liveness, uptime, visibility) takes `now` as an argument.
 *
 * **Two rule sets** (FleetRules). Upstream ocabox-tcs's tcsctl (`upstream-behaviour.md` §6)
 * applies status messages *after* registry events, so the last status message wins whatever
 * its age: a service that crashed and was given up keeps showing `[ok] Service running`
 * (§6.4, bug 16 of §10). FleetRules::upstreamTcsctl() reproduces that view exactly (the
 * compatibility replay in tests/libtcs/fleet_view_test.cpp checks it against upstream's
 * captured output); FleetRules::tcs(), the default, shows the truth: of the newest registry
 * event that carries a status and the newest status message, the **later one by its
 * timestamp** decides status and message, so a service whose last registry event (crashed,
 * failed, stop…) is newer than its last status message is shown with the registry's status.
 * Everything else — liveness thresholds, running/visibility rules, symbols, grouping — is
 * upstream's in both rule sets. `doc/fleet-view.md` lists every rule and every deviation.
 *
 * **Ordering.** Messages are ordered by their payload `timestamp` (the publisher's clock; a
 * service and its supervisor share a host), not by arrival: for each fact (last start, last
 * crash, last status message, last heartbeat…) a message older than the one already held is
 * counted as superseded and changes nothing. For in-order streams this is exactly upstream's
 * "latest message wins"; it also makes a snapshot followed by an overlapping live feed
 * idempotent. Equal timestamps: the later arrival wins.
 *
 * Thread safety: none (a value type; guard it externally if shared).
 */
namespace tcs {

/** @brief A service (`<type>.<variant>`) or a launcher/supervisor (`launcher.<launcher_id>`). */
enum class FleetEntryKind { Service, Launcher };

/** @brief Upstream's heartbeat_status (§6.2): none, alive (< 30 s), stale (< 120 s), dead. */
enum class HeartbeatLiveness { None, Alive, Stale, Dead };

/** @brief The list symbol (§6.7): `●` healthy, `◐` warning, `⚠` problem (running but its
 *         heartbeat is dead or missing), `×` error/failed, `○` stopped. */
enum class FleetSymbol { Healthy, Warning, Problem, Error, Stopped };

/** @brief Upstream's restart_status_str (§6.2); always None under upstream's rules, whose
 *         client never fills the restart fields. */
enum class RestartState { None, Restarting, Failed, Recovered };

/** @brief Which stream decided FleetEntry::status. */
enum class StatusSource { None, Registry, StatusMessage };

/** @brief What apply() did with one message. */
enum class ApplyOutcome {
  Applied,     ///< changed (or confirmed) the view
  Superseded,  ///< well-formed but older than what the view already holds: no change
  Ignored,     ///< not fleet state: RPC traffic, a registry event this version does not know
  Malformed,   ///< could not be used (bad subject, bad JSON, missing key, name mismatch…)
};

TCS_API std::string_view toString(FleetEntryKind kind) noexcept;
TCS_API std::string_view toString(HeartbeatLiveness liveness) noexcept;
TCS_API std::string_view toString(RestartState state) noexcept;
TCS_API std::string_view toString(ApplyOutcome outcome) noexcept;
/** @return the UTF-8 glyph upstream prints: `●`, `◐`, `⚠`, `×` or `○` */
TCS_API std::string_view glyph(FleetSymbol symbol) noexcept;

/**
 * @brief The rules of a FleetView. Use tcs() (the default) or upstreamTcsctl(); the fields
 *        are public so that a test or a tool can change one rule at a time.
 */
struct TCS_API FleetRules {
  /**
   * Upstream: the last status message overrides the registry status (and message) whatever
   * their timestamps. tcs: the later of the two by timestamp wins, and a registry event that
   * wins provides a message describing it (`Crashed (exit code 1), not restarting`); and an
   * operational status message stamped after the last stop by another process (pid, hostname)
   * than the last start's means the service runs again (its start was not seen).
   */
  bool statusMessageOverridesRegistry = false;
  /** Upstream: pid, hostname and parent of a status message override the registry's `start`
   *  whatever their timestamps. tcs: the later one wins (a restarted service shows its new
   *  pid from its `start` event on). */
  bool statusMessageOverridesStart = false;
  /** Upstream: runner_id is copied from `start` events only; tcs: from any registry event. */
  bool runnerIdFromStartOnly = false;
  /** Upstream's client never fills restart_count / is_restarting / restart_failed, so the
   *  restart state is always None; tcs derives it from crashed/restarting/failed events. */
  bool trackRestarts = true;
  /** Upstream's hierarchy drops the children of an orphan (an entry whose parent is not
   *  displayed, §6.8); tcs prints the orphan's subtree. */
  bool dropOrphanChildren = false;

  std::chrono::seconds staleAfter{30};    ///< heartbeat older than this: stale
  std::chrono::seconds deadAfter{120};    ///< heartbeat older than this: dead
  std::chrono::seconds freshFor{86400};   ///< heartbeat younger than this: "fresh" (is_fresh)
  std::chrono::seconds recentCrash{300};  ///< a crash younger than this: has_crashed

  /** @return tcs's rules: the truth (later message wins), upstream's thresholds and layout */
  static FleetRules tcs() { return {}; }
  /** @return upstream tcsctl 0.3.3's rules, bugs included (§6.4–§6.8) */
  static FleetRules upstreamTcsctl() {
    FleetRules r;
    r.statusMessageOverridesRegistry = true;
    r.statusMessageOverridesStart = true;
    r.runnerIdFromStartOnly = true;
    r.trackRestarts = false;
    r.dropOrphanChildren = true;
    return r;
  }
};

/** @brief The last `start` event. */
struct TCS_API FleetStart {
  protocol::Timestamp time{};
  std::int64_t pid = 0;
  std::string hostname;
};

/** @brief The last `stop` event. */
struct TCS_API FleetStop {
  protocol::Timestamp time{};
  std::string reason;  ///< `terminated`, `completed`, `force_killed`
  int exitCode = 0;
};

/** @brief The last `crashed` event. */
struct TCS_API FleetCrash {
  protocol::Timestamp time{};
  Status status = Status::Error;  ///< `error` when it will restart, else `failed`
  int exitCode = 0;               ///< negative signal number for a signal
  std::string result;             ///< systemd's Result (tcs only), else empty
  std::string restartPolicy;
  bool willRestart = false;
};

/** @brief The last `restarting` event. */
struct TCS_API FleetRestart {
  protocol::Timestamp time{};
  int attempt = 0;                 ///< 1-based
  std::optional<int> maxRestarts;  ///< nullopt: unlimited
};

/** @brief The last `failed` event. */
struct TCS_API FleetFailure {
  protocol::Timestamp time{};
  std::string reason;  ///< `restart_limit_reached`, `start_failed`, upstream `restart_failed`
  int restartCount = 0;
};

/** @brief One process seen publishing for an id: its status messages give hostname and pid,
 *         its heartbeats (which carry neither) are matched to it by the envelope's
 *         `meta.sender`, a per-process name. */
struct TCS_API FleetInstance {
  std::string hostname;             ///< "" until a status message of the process was seen
  std::optional<std::int64_t> pid;  ///< nullopt until a status message of the process was seen
  std::string sender;               ///< `meta.sender` of its messages
  protocol::Timestamp firstSeen{};  ///< its oldest message's payload timestamp
  protocol::Timestamp lastSeen{};   ///< its newest message's payload timestamp
  bool identified() const noexcept { return !hostname.empty() && pid.has_value(); }
};

/** @brief The newest `duplicate` registry event (tcs addition): a supervisor saw the id alive
 *         in two processes at once. */
struct TCS_API FleetDuplicateReport {
  protocol::Timestamp time{};
  std::vector<protocol::DuplicateHost> hosts;
  std::string parent;  ///< the supervisor that saw it
};

/** @brief Why FleetView::duplicate() says an id runs twice. */
struct TCS_API FleetDuplicate {
  /** true: seen in the messages themselves (two processes alive with overlapping lives);
   *  false: reported by a supervisor's `duplicate` event since the last start */
  bool observed = false;
  std::vector<protocol::DuplicateHost> hosts;  ///< the processes, by hostname then pid
};

/**
 * @brief Everything the view knows about one service or launcher.
 *
 * The first block is resolved under the view's FleetRules after every change; the others
 * are the facts as received (the newest of each kind, by timestamp).
 */
struct TCS_API FleetEntry {
  std::string id;  ///< service id, or `launcher.<launcher_id>`
  FleetEntryKind kind = FleetEntryKind::Service;

  /** @name Resolved under the rules @{ */
  Status status = Status::Unknown;  ///< upstream's ServiceInfo.status
  std::string message;              ///< upstream's status_message ("" = none)
  StatusSource statusSource = StatusSource::None;
  std::optional<std::int64_t> pid;
  std::string hostname;
  std::string parent;  ///< `launcher.<launcher_id>` of the managing launcher, "" = top level
  std::string runnerId;
  std::optional<protocol::Timestamp> runnerIdAt;  ///< timestamp of the event runnerId came from
  std::optional<protocol::Timestamp> stoppedAt;   ///< the last stop, if newer than the last start
  std::string restartPolicy;                      ///< of the newer of declared / crashed
  /** @} */

  /** @name Registry facts @{ */
  std::optional<protocol::Timestamp> declaredAt;  ///< last `declared` (declared = configured)
  std::string declaredRestartPolicy;
  std::optional<FleetStart> lastStart;
  std::optional<protocol::Timestamp> readyAt;     ///< last `ready` (tcs addition)
  std::optional<protocol::Timestamp> stoppingAt;  ///< last `stopping` (tcs addition)
  std::optional<FleetStop> lastStop;
  std::optional<FleetCrash> lastCrash;
  std::optional<FleetRestart> lastRestart;
  std::optional<FleetFailure> lastFailure;
  std::optional<Status> registryStatus;  ///< status of the newest registry event that has one
  std::optional<protocol::Timestamp> registryStatusAt;
  std::string registryMessage;  ///< a description of that event (`Stopped (completed, exit code 0)`)
  std::string registryParent;   ///< `parent` of the newest declared/start event
  std::optional<protocol::Timestamp> registryParentAt;
  /** @} */

  /** @name Status stream @{ */
  std::optional<protocol::StatusUpdate> lastReport;  ///< newest status message; `details` holds
                                                     ///< children and metrics
  /** @} */

  /** @name Heartbeat stream @{ */
  std::optional<protocol::Timestamp> lastHeartbeat;  ///< newest heartbeat `timestamp`
  std::optional<Status> heartbeatStatus;             ///< its status (the monitor's own)
  std::optional<std::uint64_t> heartbeatSequence;    ///< tcs addition
  /** @} */

  /** @name Processes (duplicate detection) @{ */
  std::vector<FleetInstance> instances;               ///< the processes seen for this id, newest kFleetMaxInstances
  std::optional<FleetDuplicateReport> lastDuplicate;  ///< newest `duplicate` registry event
  /** @} */

  std::optional<protocol::Timestamp> lastReceivedAt;  ///< latest receivedAt of a message about it
  std::uint64_t messagesApplied = 0;

  bool declared() const noexcept { return declaredAt.has_value(); }
  /** @return upstream's is_running: an operational status (startup, ok, idle, busy, degraded,
   *          warning) and no stop after the last start */
  bool running() const noexcept;
  /** @return the time of the last start (upstream's uptime base; running() says whether it still runs) */
  std::optional<protocol::Timestamp> startedAt() const noexcept {
    return lastStart ? std::optional{lastStart->time} : std::nullopt;
  }
};

/** @brief FleetEntry::instances keeps at most this many processes (the most recently seen). */
inline constexpr std::size_t kFleetMaxInstances = 8;

/** @brief Counters of apply()'s outcomes, and the last few problems for diagnostics. */
struct TCS_API FleetCounters {
  std::uint64_t applied = 0;
  std::uint64_t superseded = 0;
  std::uint64_t ignored = 0;
  std::uint64_t malformed = 0;
  /** The newest problems (malformed messages), oldest first, at most kMaxProblems. */
  std::deque<std::string> problems;
  static constexpr std::size_t kMaxProblems = 16;
};

/** @brief What to list: upstream's default view, or `--all`, optionally filtered. */
struct TCS_API FleetQuery {
  bool all = false;    ///< `--all`: stopped and old declared entries too
  std::string filter;  ///< case-insensitive substring of the id; "" = no filter
};

/** @brief One line of a listing, with everything derived at `now`. */
struct TCS_API FleetRow {
  const FleetEntry* entry = nullptr;  ///< points into the FleetView (valid until it changes)
  int depth = 0;                      ///< 0 = top level; children of a launcher are at 1
  bool running = false;
  HeartbeatLiveness heartbeat = HeartbeatLiveness::None;
  FleetSymbol symbol = FleetSymbol::Stopped;
  bool showHeart = false;                      ///< `(♥)`: running and alive or stale
  std::optional<std::chrono::seconds> uptime;  ///< running with a start: now − last start
  RestartState restart = RestartState::None;
  bool crashedRecently = false;             ///< upstream's has_crashed (last crash < 300 s ago)
  std::optional<FleetDuplicate> duplicate;  ///< the id runs twice (FleetView::duplicate())
};

/** @brief A listing in display order, with upstream's summary counts. */
struct TCS_API FleetListing {
  std::vector<FleetRow> rows;
  std::size_t listedCount = 0;   ///< T: entries that passed the filters (upstream's orphan bug
                                 ///< can print fewer rows than this)
  std::size_t runningCount = 0;  ///< R: running among them
  std::string filter;
  bool all = false;

  /** @return T − R (upstream's "stopped hidden" number, which counts listed entries that are
   *          not running, not hidden ones) */
  std::size_t notRunningCount() const noexcept { return listedCount - runningCount; }
  /**
   * @return upstream's summary line: `No services found`, `No services matching 'f' found`,
   *         or `R loaded services` + ` (filtered by 'f')` when filtering, else
   *         ` (N stopped hidden, use --all)` when not `--all` and N > 0
   */
  std::string summary() const;
};

/**
 * @brief The reducer: feed it messages, ask it for entries and listings.
 *
 * Keys: status messages by `data.name`, heartbeats and registry events by `data.service_id`
 * (as upstream); a payload whose name differs from the subject's is malformed. Entries are
 * kept sorted by id.
 */
class TCS_API FleetView {
 public:
  using Entries = std::map<std::string, FleetEntry, std::less<>>;

  /**
   * @param[in] rules - FleetRules::tcs() or FleetRules::upstreamTcsctl()
   * @param[in] prefix - the subject prefix (`nats.subject_prefix`); an invalid prefix makes
   *                     every message malformed
   */
  explicit FleetView(FleetRules rules = FleetRules::tcs(), std::string prefix = std::string{protocol::kDefaultPrefix});

  /**
   * @brief Applies one message. Never throws: a message that cannot be used is counted (and
   *        described in counters().problems) and changes nothing.
   * @param[in] subject - the NATS subject, e.g. `svc.registry.crashed.camera.main`
   * @param[in] body - the message body `{"data": …, "meta": …}`
   * @param[in] receivedAt - when the caller received it (kept as lastReceivedAt; for a
   *                         snapshot, the time it was read)
   */
  ApplyOutcome apply(std::string_view subject, std::string_view body, protocol::Timestamp receivedAt);

  /** @return the entry, or nullptr */
  const FleetEntry* find(std::string_view id) const;
  const Entries& entries() const noexcept { return entries_; }
  const FleetCounters& counters() const noexcept { return counters_; }
  const FleetRules& rules() const noexcept { return rules_; }
  const std::string& prefix() const noexcept { return prefix_; }

  /** @name Derived at a time (upstream's ServiceInfo properties) @{ */
  HeartbeatLiveness liveness(const FleetEntry& e, protocol::Timestamp now) const noexcept;
  /** @return is_fresh: a heartbeat younger than FleetRules::freshFor */
  bool fresh(const FleetEntry& e, protocol::Timestamp now) const noexcept;
  /** @return has_crashed: a crash younger than FleetRules::recentCrash */
  bool crashedRecently(const FleetEntry& e, protocol::Timestamp now) const noexcept;
  /** @return upstream's uptime_seconds: now − last start unless stopped since, else nullopt
   *          (launchers have no start: `up:N/A`); listings show it for running entries only */
  std::optional<std::chrono::seconds> uptime(const FleetEntry& e, protocol::Timestamp now) const noexcept;
  RestartState restartState(const FleetEntry& e) const noexcept;
  FleetSymbol symbol(const FleetEntry& e, protocol::Timestamp now) const noexcept;
  /**
   * @return the processes of @p e when the id runs twice at @p now, else nullopt. Observed:
   *         at least two identified processes (hostname and pid known) whose newest message is
   *         younger than FleetRules::staleAfter and whose lives overlap (each sent a message
   *         after the other's first: a restart or a move to another host, where the old process
   *         falls silent before the new one starts, is not a duplicate). Reported: a
   *         supervisor's `duplicate` event newer than the last start and stop, while the
   *         heartbeat is alive.
   */
  std::optional<FleetDuplicate> duplicate(const FleetEntry& e, protocol::Timestamp now) const;
  /** @return whether @p e belongs to one of @p hosts (list()'s host filter; true when empty) */
  bool onHosts(const FleetEntry& e, const std::vector<std::string>& hosts) const;
  /** @return whether upstream tcsctl lists @p e (its client filter and display filter, §6.6) */
  bool visible(const FleetEntry& e, protocol::Timestamp now, bool all) const noexcept;
  /** @} */

  /**
   * @brief The listing upstream tcsctl would print (table or `--detailed` share the order):
   *        visible entries, filtered, grouped under their parent and sorted by id (§6.8).
   */
  FleetListing list(protocol::Timestamp now, const FleetQuery& query = {}) const;
  /**
   * @brief list() of the entries of @p hosts only (`--host-filter`): each name matches an entry
   *        whose hostname's short form (up to the first dot) or full form equals it, or whose
   *        launcher (`parent`, `launcher.<id>`, or a launcher's own id) is `<id>` or
   *        `launcher.<id>`, or that launcher's hostname; case-insensitive. Empty = every host.
   */
  FleetListing list(protocol::Timestamp now, const FleetQuery& query, const std::vector<std::string>& hosts) const;

 private:
  TCS_LOCAL FleetEntry& entry(const std::string& id);
  TCS_LOCAL void resolve(FleetEntry& e) const;
  TCS_LOCAL ApplyOutcome applyStatus(std::string_view subjectName, std::string_view body,
                                     protocol::Timestamp receivedAt);
  TCS_LOCAL ApplyOutcome applyHeartbeat(std::string_view subjectName, std::string_view body,
                                        protocol::Timestamp receivedAt);
  TCS_LOCAL ApplyOutcome applyRegistry(std::string_view subjectName, std::string_view event, std::string_view body,
                                       protocol::Timestamp receivedAt);
  TCS_LOCAL ApplyOutcome malformed(std::string problem);
  TCS_LOCAL static void seen(FleetEntry& e, const std::string& sender, const std::string* hostname,
                             std::optional<std::int64_t> pid, protocol::Timestamp t);

  FleetRules rules_;
  std::string prefix_;
  Entries entries_;
  FleetCounters counters_;
};

/** @return upstream's uptime_str / relative age: `Ns` (< 1 min), `Nm` (< 1 h), `Nh Nm`
 *          (< 1 day), else `Nd Nh`; integer truncation, negative durations count as 0 */
TCS_API std::string formatDuration(std::chrono::seconds d);

}  // namespace tcs
