// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "duplicate_detector.hpp"
#include "journal.hpp"
#include "systemd_manager.hpp"
#include "tcs/config.hpp"
#include "tcs/jetstream.hpp"
#include "tcs/monitor.hpp"
#include "tcs/nats.hpp"
#include "tcs/protocol.hpp"
#include "unit_tracker.hpp"

/**
 * @file
 * The supervisor's logic: the configured services' units (UnitTracker each) → registry events
 * on NATS, the launcher's own monitor, and the launcher RPC. I/O only through ISystemdManager
 * and INatsTransport, so the unit tests drive it with fakes and the daemon (main.cpp) with
 * sdbus-c++ and a NatsConnection.
 */
namespace tcs::supervisor {

struct SupervisorOptions {
  std::filesystem::path configPath;
  /**
   * @brief The nats: section the process's NATS connection was made from (main.cpp reads it
   * before the rest). When the file changed in between, this one counts (the connection is
   * made), and the difference is reported as a reload reports it. Unset: the config's.
   */
  std::optional<config::NatsConfig> natsConnectedWith;
  /** @brief This host's launcher id (default: unit_name::launcherId(short hostname), as the units say). */
  std::string launcherId;
  /** @brief Full hostname for `start` events (default: gethostname()). */
  std::string hostname;
  /** @brief How long start/stop/restart RPCs wait for systemd's job. */
  std::chrono::milliseconds jobTimeout{std::chrono::seconds(60)};
  /** @brief Called (from any thread) when the main loop must act: the bus connection was lost. */
  std::function<void()> wake;
  /** @brief The launcher monitor's heartbeat interval. */
  std::chrono::milliseconds heartbeatInterval{std::chrono::seconds(10)};
  /** @brief Stream names (protocol.md; configurable for a non-default prefix). */
  std::string registryStream = "svc_registry";
  std::string statusStream = "svc_status";
  std::string heartbeatStream = "svc_heartbeat";
  /** @brief When ensuring the streams failed (JetStream unavailable: no meta leader during a
   *         cluster's election, JetStream off, a timeout), try again after this, doubling up to
   *         a minute, until it succeeds or NATS reconnects. */
  std::chrono::milliseconds streamRetry{std::chrono::seconds(5)};
  /** @brief The units belong to the calling user's service manager (`--user`): the `logs` RPC
   *         reads their user-unit journal fields. */
  bool userManager = false;
  /** @brief How long the duplicate watch hears heartbeats after something that may reveal a
   *         second copy (doc/supervisor.md, "Duplicate instances"): longer than the detector's
   *         30 s "alive", so that every live copy sends one meanwhile. */
  std::chrono::milliseconds heartbeatWatch{std::chrono::seconds(40)};
};

/** @brief The JetStream streams of protocol.md for @p prefix. */
std::vector<StreamSpec> protocolStreams(const SupervisorOptions& options, std::string_view prefix);

class Supervisor {
 public:
  /**
   * @param[in] systemd - the manager (callbacks are set by start())
   * @param[in] nats - where events go; nullptr: supervise without NATS (nothing published)
   * @param[in] journal - what the `logs` RPC reads; nullptr: `logs` answers `action_failed`
   * @throws ConfigError when the config cannot be loaded at all
   */
  Supervisor(SupervisorOptions options, ISystemdManager& systemd, INatsTransport* nats, IJournal* journal = nullptr);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  /**
   * @brief Subscribes to systemd, takes every configured unit's state (silently: no events for
   * what happened before), publishes `declared` for every configured service, starts the
   * launcher monitor and serves RPC.
   */
  void start();
  /** @brief Stops serving RPC and the monitor (the launcher's last status is `shutdown`). */
  void stop();

  /** @brief Answers one RPC request (what the subscription calls). @return the reply body */
  std::string handleRpc(std::string_view subject, std::string_view body);

  /** @brief Re-reads the config, daemon-reloads, starts newly enabled services, re-declares. */
  protocol::LauncherReloadReply reload();

  /** @brief Publishes `declared` for every configured service again (e.g. once the streams
   *         exist, so that they are stored: the first ones may have gone out before). */
  void redeclare();

  /** @return the configured services (sorted by id) */
  std::vector<std::string> serviceIds() const;
  const std::string& launcherId() const noexcept { return options_.launcherId; }
  std::string launcherName() const;
  const std::string& prefix() const noexcept { return prefix_; }
  /** @brief `nats.stream_replicas` as the process started with it (the streams' replicas). */
  int streamReplicas() const noexcept { return streamReplicas_; }
  Monitor& monitor() noexcept { return *monitor_; }
  /** @return false after the bus connection was lost and not yet re-established */
  bool systemdConnected() const;
  /** @brief Tries to reconnect to the bus after a loss (call from the main loop). */
  void reconnectIfNeeded();
  /**
   * @brief Hears every heartbeat of its services for SupervisorOptions::heartbeatWatch from now
   * (the duplicate watch; e.g. after NATS reconnected). Returns at once: a thread subscribes.
   */
  void watchHeartbeats();
  /** @return whether the heartbeat subscription of the duplicate watch is held now */
  bool watchingHeartbeats() const;

 private:
  /** @brief A service of the config (not tcs::Service: this is the supervisor's view of its unit). */
  struct ConfiguredService {
    std::string unit;
    std::unique_ptr<UnitTracker> tracker;
    bool enabled = true;
  };

  config::LoadResult readConfig(std::vector<std::string>* errors) const;
  void applyConfig(config::LoadResult loaded, bool initial);
  void declareAll();
  /** @param received when the D-Bus signal behind @p events reached its callback: logged at
   *  debug level with the other stages' times (`timing …` lines, bench/supervisor_bench.sh) */
  void publish(const std::vector<protocol::RegistryEvent>& events, std::optional<protocol::Timestamp> received = {});
  void onProperties(const PropertyChange& change);
  void onJobRemoved(const JobRemoved& job);
  void onUnitNew(const UnitSignal& unit);
  /** @param refresh the units' states are known (a reload): compare rather than take them */
  void seedAll(bool refresh = false);
  void updateMonitorStatus();
  /** @brief Subscribes to every status (once), keeps the detector to the configured services
   *         and opens a heartbeat window. */
  void watchDuplicates();
  void onWatched(const NatsMessage& m);
  /** @brief The thread that holds the heartbeat subscription while a window is open or a
   *         conflict lasts, and drops it afterwards. */
  void heartbeatWatcher();

  protocol::LauncherListReply list();
  std::string act(protocol::RpcCommand command, const std::string& serviceId);
  std::string resetFailed(const std::string& serviceId);
  std::string logs(const std::string& serviceId, const protocol::RpcRequest& request);
  std::string waitForJob(const std::string& job);
  void rpcWorker();
  /** @return whether the request on @p subject may wait for a systemd job (start, stop, restart, reload) */
  bool waitsForJob(std::string_view subject) const;

  SupervisorOptions options_;
  ISystemdManager& systemd_;
  INatsTransport* nats_;
  IJournal* journal_;
  std::string prefix_{protocol::kDefaultPrefix};
  config::NatsConfig natsAtStart_;  // what the process connected with; a reload cannot change it
  int streamReplicas_ = 1;          // natsAtStart_'s, readable without the lock

  mutable std::mutex mutex_;
  std::condition_variable jobsDone_;
  std::map<std::string, ConfiguredService, std::less<>> services_;  // by service id
  std::map<std::string, std::string, std::less<>> byUnit_;          // unit name → service id
  std::map<std::string, std::string> jobResults_;                   // job path → result (bounded)
  std::deque<std::string> jobOrder_;                                // the paths of jobResults_, oldest first
  config::Config config_;
  bool busLost_ = false;
  bool started_ = false;

  bool stopping_ = false;  // guarded by mutex_
  std::mutex reloadMutex_;

  std::unique_ptr<Monitor> monitor_;
  NatsSubscription rpc_;
  std::mutex rpcMutex_;
  std::condition_variable rpcCv_;
  struct QueuedRpc {
    NatsMessage message;
    bool waitsForJob = false;  // start/stop/restart/reload: may hold a worker until systemd's job ends
  };
  std::deque<QueuedRpc> rpcQueue_;
  std::size_t rpcJobsInFlight_ = 0;  // guarded by rpcMutex_
  bool rpcStopping_ = false;
  std::vector<std::thread> rpcWorkers_;

  std::mutex duplicatesMutex_;  // duplicates_, watch_
  std::unique_ptr<DuplicateDetector> duplicates_;
  std::vector<NatsSubscription> watch_;

  // The heartbeat window: heartbeatWatcher() subscribes while now < heartbeatsUntil_ or a
  // conflict lasts. Lock order: never duplicatesMutex_ while holding heartbeatMutex_.
  mutable std::mutex heartbeatMutex_;
  std::condition_variable heartbeatCv_;
  std::chrono::steady_clock::time_point heartbeatsUntil_{};  // guarded by heartbeatMutex_
  bool heartbeatStop_ = false;                               // guarded by heartbeatMutex_
  bool heartbeatsHeard_ = false;                             // guarded by heartbeatMutex_
  std::thread heartbeatThread_;
};

}  // namespace tcs::supervisor
