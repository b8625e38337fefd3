// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tcs/error.hpp"
#include "tcs/export.hpp"
#include "tcs/fleet.hpp"
#include "tcs/jetstream.hpp"
#include "tcs/nats.hpp"
#include "tcs/protocol.hpp"

/**
 * @file
 * The control client: what `tcsctl` (and any dashboard) uses to see every service and launcher
 * of a fleet and to act on them — upstream's `ServiceControlClient` (upstream-behaviour.md
 * §6.3), in C++, over the process's NatsConnection.
 *
 *     tcs::NatsConnection nats(config.nats(), {.name = "tcsctl"});
 *     tcs::control::ServiceControlClient client(nats, config.nats().subjectPrefix);
 *     auto snap = client.snapshot();                          // JetStream: last message per subject
 *     auto listing = snap.view.list(tcs::protocol::now(), {.all = true});
 *     client.restart("hello_world.main");                     // the owning host's supervisor
 *
 * Snapshot: the newest stored message of every subject of the registry, status and heartbeat
 * streams, fed to a FleetView (tcs/fleet.hpp: the rules that turn messages into records). Live
 * messages are subscribed to *before* the stored ones are read, so nothing published meanwhile
 * is missed; the view ignores what it already holds. Without JetStream (or with a stream
 * missing) the snapshot holds what arrives live within SnapshotOptions::liveWindow and says so
 * in Snapshot::notes.
 *
 * Follow: startFollowing() keeps one view current from live messages, calls back on every
 * change, re-evaluates liveness every FollowOptions::tick (alive → stale → dead with no new
 * message), and re-reads the snapshot after the connection came back (nothing published during
 * an outage and stored by JetStream is lost).
 *
 * Control: start/stop/restart/reset-failed/logs go to the supervisor that manages the service
 * (its record's `parent`, `launcher.<launcher_id>`), reload to a named launcher; the supervisor's
 * reply is returned, its refusal thrown as ControlError.
 */
namespace tcs::control {

/** @brief Why a control operation failed (tcsctl maps kind() to its exit code). */
class TCS_API ControlError : public Error {
 public:
  enum class Kind {
    NotFound,      ///< no record of that service or launcher in the fleet
    NoLauncher,    ///< the service has no managing supervisor (started outside tcs-supervisor)
    Unreachable,   ///< no answer: NATS down, no supervisor listening, or the bound passed
    Refused,       ///< the supervisor answered with an error (code() is its `error`)
    BadReply,      ///< the answer is not the protocol's
    NotPermitted,  ///< NATS refused the request: the user's permissions forbid the subject (a viewer's credentials)
    Ambiguous,     ///< the id is configured or running on several hosts: say `HOST:SERVICE_ID`
  };
  ControlError(Kind kind, std::string code, const std::string& message);
  Kind kind() const noexcept;
  /** @return the supervisor's error code (`unknown_service`, `action_failed`…), or "" */
  const std::string& code() const noexcept;

 private:
  Kind kind_;
  std::string code_;
};

/** @brief How to take a snapshot. */
struct TCS_API SnapshotOptions {
  /** @brief Bound for reading the three streams (each read is bounded by what is left). */
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
  /** @brief Without JetStream, or with a stream missing: how long to collect live messages
   *         (a service is seen at its next heartbeat, every 10 s by default). */
  std::chrono::milliseconds liveWindow{std::chrono::seconds(3)};
  /** @brief false: do not read JetStream at all (live messages only, for liveWindow). */
  bool readStored = true;
};

/** @brief What one stream contributed to a snapshot. */
struct TCS_API StreamReport {
  std::string filter;  ///< `<P>.registry.>`, `<P>.status.>` or `<P>.heartbeat.>`
  StreamRead read;     ///< outcome, stream name, messages
};

/** @brief A fleet view as read at one moment, and how it was read. */
struct TCS_API Snapshot {
  FleetView view;
  protocol::Timestamp takenAt{};  ///< when the read finished (the `now` for listings)
  bool jetstream = false;         ///< the server has JetStream
  std::vector<StreamReport> streams;
  std::uint64_t storedMessages = 0;  ///< read from the streams
  std::uint64_t liveMessages = 0;    ///< received live while reading (or in the live window)
  /** @brief For people: what the view may be missing (no JetStream, a stream missing or read
   *         incompletely). Empty when every stream was read completely. */
  std::vector<std::string> notes;
};

/** @brief Follow-mode callbacks; called on the client's threads, one at a time, in order.
 *         They must not call back into the client's follow methods. */
struct TCS_API FollowCallbacks {
  /** @brief A record changed (any message applied, or its liveness aged). */
  std::function<void(const FleetEntry&)> update;
  /** @brief A `start` registry event arrived (called before update). */
  std::function<void(const FleetEntry&)> start;
  /** @brief A `stop`, `crashed` or `failed` registry event arrived (called before update). */
  std::function<void(const FleetEntry&)> stop;
  /** @brief The snapshot was re-read (start of following, and after every reconnect). */
  std::function<void()> resynced;
};

/** @brief Follow-mode tuning. */
struct TCS_API FollowOptions {
  /** @brief How often liveness is re-evaluated (and the reconnect counter checked). */
  std::chrono::milliseconds tick{std::chrono::seconds(1)};
  SnapshotOptions snapshot;  ///< for the first read and the re-reads after reconnects
};

/** @brief One launcher (a host's tcs-supervisor) and its liveness. */
struct TCS_API HostInfo {
  std::string launcherId;  ///< `<launcher_id>`
  FleetEntry entry;        ///< its record (`launcher.<launcher_id>`)
  HeartbeatLiveness liveness = HeartbeatLiveness::None;
  std::size_t services = 0;  ///< records whose parent it is
  std::size_t running = 0;   ///< … of which running
};

/** @brief Parameters of a logs request (the supervisor's `v1.logs.<service_id>`). */
struct TCS_API LogsQuery {
  int lines = 50;               ///< newest lines (1…1000)
  std::optional<int> priority;  ///< 0 (emerg) … 7 (debug): that priority and more urgent
  std::string afterCursor;      ///< only entries after this journal cursor (follow)
};

/**
 * @brief The C++ ServiceControlClient. Thread-safe.
 *
 * Waits are bounded: snapshots by SnapshotOptions, control requests by their timeout argument.
 */
class TCS_API ServiceControlClient {
 public:
  /** @brief How long start/stop/restart wait by default: the supervisor waits up to 60 s
   *         for systemd's job, plus a margin. */
  static constexpr std::chrono::milliseconds kActionTimeout{std::chrono::seconds(65)};
  /** @brief reset-failed, reload, logs, list. */
  static constexpr std::chrono::milliseconds kQuickTimeout{std::chrono::seconds(10)};

  /**
   * @param[in] nats - the process's connection (must outlive the client)
   * @param[in] prefix - `nats.subject_prefix`
   * @param[in] rules - how messages become records (FleetRules::tcs(): the truth)
   * @throws ProtocolError for an invalid prefix
   */
  explicit ServiceControlClient(NatsConnection& nats, std::string prefix = std::string{protocol::kDefaultPrefix},
                                FleetRules rules = FleetRules::tcs());
  ~ServiceControlClient();  ///< stops following
  ServiceControlClient(const ServiceControlClient&) = delete;
  ServiceControlClient& operator=(const ServiceControlClient&) = delete;

  const std::string& prefix() const noexcept;

  /** @name Snapshot @{ */
  /** @brief Reads the fleet now. Never throws for NATS trouble: the notes say what is missing. */
  Snapshot snapshot(const SnapshotOptions& options = {}) const;
  /** @return upstream's list_services(): the listed records (visibility rules of §6.6) */
  std::vector<FleetEntry> listServices(bool includeStopped = false, const SnapshotOptions& options = {}) const;
  /** @return upstream's get_service(): the record of exactly @p id, or nullopt */
  std::optional<FleetEntry> getService(std::string_view id, const SnapshotOptions& options = {}) const;
  /** @return the launchers of a snapshot, by id, with their liveness at its time */
  static std::vector<HostInfo> hosts(const Snapshot& snapshot);
  /** @} */

  /** @name Follow @{ */
  /**
   * @brief Subscribes to the three subject trees, reads the snapshot and keeps it current.
   * @throws NatsError when the subscriptions cannot be made; Error when already following
   */
  void startFollowing(FollowCallbacks callbacks = {}, FollowOptions options = {});
  /** @brief Stops the subscriptions and the tick thread; no callback runs after it returns. */
  void stopFollowing();
  bool following() const;
  /** @brief Calls @p fn with the followed snapshot under the client's lock (do not keep
   *         references). takenAt is the time of the last change or tick.
   *  @throws Error when not following */
  void withCurrent(const std::function<void(const Snapshot&)>& fn) const;
  /** @return upstream's get_current_services() (empty when not following) */
  std::vector<FleetEntry> currentServices(bool includeStopped = false) const;
  std::optional<FleetEntry> currentService(std::string_view id) const;
  /** @} */

  /** @name Control (the owning supervisor's RPC) @{
   *  @throws ControlError (NotFound, NoLauncher, Unreachable, NotPermitted, Refused, BadReply) */
  protocol::LauncherActionReply start(std::string_view serviceId, std::chrono::milliseconds timeout = kActionTimeout);
  protocol::LauncherActionReply stop(std::string_view serviceId, std::chrono::milliseconds timeout = kActionTimeout);
  protocol::LauncherActionReply restart(std::string_view serviceId, std::chrono::milliseconds timeout = kActionTimeout);
  protocol::LauncherActionReply resetFailed(std::string_view serviceId,
                                            std::chrono::milliseconds timeout = kQuickTimeout);
  /** @param[in] launcherId - `<launcher_id>` or `launcher.<launcher_id>` */
  protocol::LauncherReloadReply reload(std::string_view launcherId, std::chrono::milliseconds timeout = kQuickTimeout);
  /**
   * @return the journal lines of the service's unit, read by its supervisor (`v1.logs.<id>`:
   *         doc/supervisor.md — bounded to 1,000 lines and 64 KiB of text; follow by passing
   *         the previous reply's cursor as LogsRequest::afterCursor)
   */
  protocol::LogsReply logs(std::string_view serviceId, const protocol::LogsRequest& request,
                           std::chrono::milliseconds timeout = kQuickTimeout);
  /** @return the supervisor's view of its units (`v1.list`) */
  protocol::LauncherListReply units(std::string_view launcherId, std::chrono::milliseconds timeout = kQuickTimeout);
  /**
   * @return `launcher.<launcher_id>` of the supervisor that manages @p serviceId (from the
   *         followed view when following, else a fresh snapshot). @p serviceId may be
   *         host-qualified, `HOST:SERVICE_ID` (HOST a short or full hostname or a launcher id):
   *         that host's launcher is asked, whatever the view says about the id. Unqualified,
   *         the id's launchers are its record's parent, the launchers of the hosts it was seen
   *         running on (its processes, a `duplicate` event) and — when more than one launcher is
   *         alive — every live launcher whose `v1.list` names it (1 s each).
   * @throws ControlError NotFound (no such id, or no launcher for HOST), NoLauncher, Ambiguous
   *         (two launchers or more: the message names the hosts and the qualified form)
   */
  std::string launcherOf(std::string_view serviceId) const;
  /** @return `{HOST, SERVICE_ID}` of `HOST:SERVICE_ID`, `{"", id}` for an unqualified id */
  static std::pair<std::string, std::string> splitQualifiedId(std::string_view serviceId);
  /** @} */

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tcs::control
