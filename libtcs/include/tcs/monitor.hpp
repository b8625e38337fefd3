// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcs/config.hpp"
#include "tcs/export.hpp"
#include "tcs/nats.hpp"
#include "tcs/protocol.hpp"
#include "tcs/status.hpp"

/**
 * @file
 * Monitoring: how a process tells the world how it feels (spec/protocol.md).
 *
 * A Monitor is the root of a tree of MonitoredObject nodes. Each node has its own status and
 * message; children appear in the parent's `details.children`, and the status a report shows
 * is the aggregate of the node's own status and its children's (protocol::aggregateStatus).
 *
 *     auto sensor = monitor.child("sensor");           // a node, owned by the tree
 *     sensor.setStatus(tcs::Status::Ok, "nominal");
 *     monitor.addMetrics([&] { return tcs::protocol::JsonObject().set("frames", frames.load()); });
 *     monitor.addHealthCheck("camera", [&]() -> tcs::CheckResult {
 *       return camera.ok() ? tcs::Status::Ok : tcs::CheckResult{tcs::Status::Degraded, "no frames"};
 *     });
 *     { auto task = monitor.trackTask(); expose(); }   // busy while it lives, idle 1 s after
 *
 * A Monitor with a NATS transport publishes (all through INatsTransport::publishPersistent, so
 * the caller never waits for the network):
 * - `<P>.status.<name>` on **every** change of a status or message anywhere in its tree (the
 *   own status, a child's status or message) — each change is its own message, in order, so a
 *   short-lived `startup` is never lost and an unchanged set is never repeated;
 * - `<P>.heartbeat.<name>` once start() is called, then every heartbeat interval (10 s), with
 *   sequence, uptime and next_heartbeat_expected — but only while the liveness check (the
 *   runtime's watchdog condition) says the process makes progress: a hung service stops
 *   heartbeating;
 * - replies to `<P>.rpc.<name>.v1.health` and `.v1.stats`; other commands get an
 *   `unknown_command` error reply, malformed requests a `bad_request` one.
 *
 * Without a transport the same calls work (statuses, checks, busy/idle, reports) and nothing is
 * sent: the no-op monitor upstream's create_monitor returns when NATS is absent.
 *
 * **Health checks** run every health-check interval (30 s) from start() on, and on every
 * `v1.health` request. Rule (upstream's is broken: it ignores degraded/warning/ok results):
 * the results of a node's checks are aggregated (a throwing check counts as `error`); when the
 * aggregate is healthy (`ok`, `idle`, `busy`) the node shows the status its owner set; when it
 * is not, the node shows whichever of the two is worse (protocol::aggregateStatus) with the
 * failing check's message. So a check returning `degraded` makes an `ok` service `degraded`,
 * and its next `ok` result brings the service's own `ok` back; a check never hides an `error`
 * the service set itself.
 *
 * **Busy/idle** (trackTask): the first tracked task turns the owner status into `busy`
 * "Processing tasks (N active)" unless it is `error` or `failed`; one idle delay (1 s) after
 * the last task ends, a node still `busy` becomes `idle` "No active tasks". A task starting
 * within the delay keeps it busy.
 *
 * Thread safety: every member may be called from any thread. Metric, stats and health-check
 * callbacks run on the monitor's own thread (or the RPC thread for `v1.health`), never under a
 * monitor lock, so they may call into the monitor; they should return quickly.
 */
namespace tcs {

/** @brief What a health check returns; a plain Status converts to it. */
struct TCS_API CheckResult {
  Status status = Status::Ok;
  std::string message;

  CheckResult() = default;
  CheckResult(Status s, std::string m = {}) : status(s), message(std::move(m)) {}  // NOLINT: implicit on purpose
  friend bool operator==(const CheckResult&, const CheckResult&) = default;
};

using HealthCheck = std::function<CheckResult()>;
/** @brief Returns metrics as a JSON object; later callbacks' keys win. */
using MetricSource = std::function<protocol::JsonObject()>;

/** @brief Where a metric callback's values go. */
enum class MetricUse {
  Status,              ///< merged into `details.metrics` of status reports
  StatusAndHeartbeat,  ///< … and into heartbeats' `metrics` (keep such callbacks cheap)
};

/** @brief One check's last result, for `v1.health`. */
struct TCS_API CheckReport {
  std::string name;  ///< `<check>` on the root, `<child>/<check>` below it
  CheckResult result;
  protocol::Timestamp at{};
};

// Defined inside libtcs (src/monitor/tree.hpp); opaque here.
struct MonitorNode;
struct MonitorTree;
struct MonitorSnapshot;

class TaskTracker;

/**
 * @brief A node of a monitor tree: a handle, cheap to copy. Handles to a removed node still
 * work but no longer reach any report.
 *
 * A default-constructed MonitoredObject is an empty handle, so a service can hold a child by
 * value and assign it later (`worker_ = monitor().child("worker");`). Until then every call on
 * it does nothing and reports nothing: setters and addMetrics/addHealthCheck are ignored (the
 * argument checks still throw), getters return `unknown`, `""`, 0 or nullopt, child() returns
 * another empty handle, trackTask() an inert tracker and report() an empty report. empty() says
 * which kind of handle it is.
 */
class TCS_API MonitoredObject {
 public:
  /** @brief An empty handle (see the class comment); assign it from child() to use it. */
  MonitoredObject() noexcept = default;

  /** @return true for an empty (default-constructed or moved-from) handle */
  bool empty() const noexcept { return node_ == nullptr; }

  /** @return the node's name, `""` for an empty handle */
  const std::string& name() const noexcept;

  /**
   * @brief Sets the status its owner reports (and its message). A call that changes neither is
   * ignored; any other change is published.
   */
  void setStatus(Status status, std::string message = {});
  /** @return the status this node shows for itself (owner status combined with its checks) */
  Status status() const;
  /** @return the message that goes with status() */
  std::string message() const;
  /** @return status() aggregated with all descendants' (what its report's `status` says) */
  Status aggregateStatus() const;

  /**
   * @brief The child named @p name, created (status `unknown`) when missing. Children are
   * reported in creation order.
   * @throws std::invalid_argument for an empty name
   */
  MonitoredObject child(std::string_view name);
  /** @return the child named @p name, if any */
  std::optional<MonitoredObject> findChild(std::string_view name) const;
  /** @brief Removes a child and its subtree; a change, so it is published. @return whether it existed */
  bool removeChild(std::string_view name);

  void addMetrics(MetricSource source, MetricUse use = MetricUse::Status);
  /** @brief Adds a named check (run in registration order). */
  void addHealthCheck(std::string name, HealthCheck check);

  /** @brief Marks a task in progress until the returned tracker is destroyed (busy/idle). */
  [[nodiscard]] TaskTracker trackTask();
  /** @return tasks tracked right now on this node */
  int activeTasks() const;

  /**
   * @brief Upstream's cancel_error_status: an `error`, `failed` or `degraded` owner status
   * becomes `busy`/`idle` (task tracking in use, with/without active tasks) or `ok`,
   * "Error resolved"; also forgets failing check results until the checks run again.
   */
  void cancelErrorStatus();

  /** @return this node's report: aggregate status, message, children, metrics (callbacks run now) */
  protocol::StatusReport report() const;

 protected:
  TCS_LOCAL explicit MonitoredObject(std::shared_ptr<MonitorNode> node) noexcept;
  std::shared_ptr<MonitorNode> node_;

 private:
  friend class Monitor;
  friend class TaskTracker;
};

/** @brief RAII marker of one task in progress (see MonitoredObject::trackTask). Move-only. */
class TCS_API TaskTracker {
 public:
  TaskTracker() = default;
  TaskTracker(TaskTracker&& other) noexcept;
  TaskTracker& operator=(TaskTracker&& other) noexcept;
  ~TaskTracker();
  /** @brief Ends the task now (idempotent). */
  void done() noexcept;

 private:
  friend class MonitoredObject;
  explicit TaskTracker(std::shared_ptr<MonitorNode> node) noexcept : node_(std::move(node)) {}
  std::shared_ptr<MonitorNode> node_;
};

struct TCS_API MonitorOptions {
  /** @brief The monitor's name: the service id, or `launcher.<id>` (a valid subject name). */
  std::string name;
  std::string subjectPrefix{protocol::kDefaultPrefix};
  /** @brief `parent` of status reports (`launcher.<id>`), empty when none. */
  std::string parent;
  std::chrono::milliseconds heartbeatInterval{std::chrono::seconds(10)};
  std::chrono::milliseconds healthCheckInterval{std::chrono::seconds(30)};
  std::chrono::milliseconds idleDelay{std::chrono::seconds(1)};
  /** @brief Answer `<P>.rpc.<name>.v1.*` requests (services: health and stats). */
  bool serveRpc = true;
  /** @brief Status reports waiting for the publisher at most; beyond it the oldest are dropped (counted). */
  std::size_t queueCapacity = 4096;
  /** @brief pid and hostname of status reports (default: this process, full gethostname()). */
  std::int64_t pid = 0;
  std::string hostname;
};

/** @brief Counters since construction. */
struct TCS_API MonitorStats {
  std::uint64_t statusChanges = 0;       ///< status/message changes in the tree
  std::uint64_t statusPublished = 0;     ///< status messages handed to NATS
  std::uint64_t statusDropped = 0;       ///< lost to a full queue
  std::uint64_t heartbeats = 0;          ///< heartbeats handed to NATS
  std::uint64_t heartbeatsWithheld = 0;  ///< skipped because the liveness check failed
  std::uint64_t healthCheckRuns = 0;
  std::uint64_t rpcRequests = 0;
};

/** @brief A status change as the monitor's observers see it (called under the monitor's lock). */
struct TCS_API StatusChange {
  Status aggregate = Status::Unknown;  ///< what the report's `status` says
  Status own = Status::Unknown;        ///< the root's own status (heartbeats carry this)
  std::string message;                 ///< the root's own message
};

/**
 * @brief The root of a monitor tree, with heartbeats, health checks, publishing and RPC.
 * Not copyable or movable (its thread refers to it).
 */
class TCS_API Monitor : public MonitoredObject {
 public:
  /**
   * @param[in] options - name (required), prefix, parent, intervals
   * @param[in] nats - where to publish; nullptr makes a no-op monitor (nothing is sent). Must
   *            outlive the monitor.
   * @throws tcs::ProtocolError when the name or prefix is not a valid subject name
   */
  explicit Monitor(MonitorOptions options, INatsTransport* nats = nullptr);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  /**
   * @brief Starts heartbeats (the first at once), RPC and — when @p healthChecks — the
   * health-check loop (first run at once). Status changes are published from construction on.
   * Idempotent.
   */
  void start(bool healthChecks = true);
  /** @brief Switches the periodic health checks on (first run at once) or off. */
  void setHealthChecksEnabled(bool enabled);
  /**
   * @brief Stops heartbeats, checks and RPC. Status changes are still published afterwards
   * (a service's last `shutdown`). Idempotent. The destructor stops and then hands every queued
   * status report to the transport before it returns.
   */
  void stop();
  /**
   * @brief Publishes the current status again although nothing changed (e.g. after NATS came
   * back, so live viewers see the state at once). No-op without a transport.
   */
  void publishNow();
  /** @return true once every status change so far has been handed to the transport (false on timeout) */
  bool flush(std::chrono::milliseconds timeout);

  /** @return whether this monitor publishes (has a transport) */
  bool publishing() const noexcept;
  const MonitorOptions& options() const noexcept;

  /** @brief Heartbeats are sent only while @p alive returns true (called on the monitor thread). */
  void setLivenessCheck(std::function<bool()> alive);
  /** @brief Service-provided `stats` of `v1.stats` replies. */
  void setStatsProvider(MetricSource stats);
  /**
   * @brief Called on every status/message change, in order, under the monitor's lock: must be
   * quick and must not call into the monitor (the runtime mirrors STATUS= this way).
   */
  void onChange(std::function<void(const StatusChange&)> observer);

  /** @brief Runs every node's checks now, applies the results, and returns them. */
  std::vector<CheckReport> runHealthChecks();
  /** @return the last results of every check (empty before the first run) */
  std::vector<CheckReport> lastCheckResults() const;
  /** @return the status message as it would be published now */
  protocol::StatusUpdate statusUpdate() const;
  double uptimeSeconds() const;
  MonitorStats stats() const;

 private:
  struct Impl;
  TCS_LOCAL void changedLocked();
  TCS_LOCAL void enqueueReportLocked();
  TCS_LOCAL void loop();
  TCS_LOCAL void publishStatus(MonitorSnapshot& snap);
  TCS_LOCAL void sendHeartbeat();
  TCS_LOCAL void handleRpc(const NatsMessage& message);

  std::shared_ptr<MonitorTree> tree_;
  std::unique_ptr<Impl> impl_;
};

/**
 * @brief Upstream's create_monitor for any C++ program: a monitor publishing on @p nats, or a
 * no-op one when @p nats is null. The caller still calls start().
 * @param[in] name - the monitor name; empty: `<program name><8 random characters>` as upstream
 */
TCS_API std::unique_ptr<Monitor> createMonitor(std::string name, INatsTransport* nats, MonitorOptions options = {});

/**
 * @brief A monitor with its own connection made from @p config (upstream's create_monitor
 * without a messenger): when no server accepts the connection within @p connectTimeout, or the
 * config has no `nats:` section, the result is a no-op monitor (logged). Never throws for NATS
 * problems.
 */
struct TCS_API OwnedMonitor {
  std::unique_ptr<NatsConnection> connection;  ///< null for a no-op monitor
  std::unique_ptr<Monitor> monitor;
};
TCS_API OwnedMonitor createMonitor(std::string name, const config::NatsConfig& config,
                                   std::chrono::milliseconds connectTimeout = std::chrono::seconds(2),
                                   MonitorOptions options = {});

}  // namespace tcs
