// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "journal.hpp"
#include "supervisor.hpp"
#include "systemd_manager.hpp"
#include "tcs/jetstream.hpp"
#include "tcs/nats.hpp"
#include "tcs/notify.hpp"

/**
 * @file
 * The tcs-supervisor daemon: its loop, around a Supervisor. main.cpp parses the command line,
 * builds the real parts (SdbusSystemdManager, NatsConnection, the sd_notify notifier, the
 * signalfd) and hands them to a Daemon; the tests hand it fakes.
 *
 * The loop sleeps in poll() on the signal descriptor and the wake-up eventfd of DaemonEvents,
 * at most until the next watchdog ping (half of WatchdogSec), and every second while the bus is
 * lost. Each turn it
 *  - ends with exit status 1 when NATS closed for good (DaemonEvents::natsClosed()),
 *  - after a NATS (re)connection publishes the launcher's status at once and ensures the
 *    protocol's JetStream streams (protocolStreams()),
 *  - reconnects to the bus after a loss (Supervisor::reconnectIfNeeded()),
 *  - pings the watchdog (`WATCHDOG=1`) when due,
 *  - reloads on SIGHUP and stops on any other signal (SIGTERM, SIGINT).
 */
namespace tcs::supervisor {

/**
 * @brief What other threads tell the daemon loop (nats.c's callback thread, the D-Bus thread);
 * each call wakes the loop through an eventfd. Thread-safe.
 *
 * Created before the NATS connection, whose event callbacks call it.
 */
class DaemonEvents {
 public:
  DaemonEvents();
  ~DaemonEvents();
  DaemonEvents(const DaemonEvents&) = delete;
  DaemonEvents& operator=(const DaemonEvents&) = delete;

  /** @brief NATS connected or reconnected: ensure the streams on the next turn. */
  void natsConnected() noexcept;
  /** @brief NATS closed for good (nats.c gave up): the loop ends with exit status 1. */
  void natsClosed() noexcept;
  /** @brief Just wakes the loop (the bus was lost). */
  void wake() noexcept;

  /** @return the eventfd the loop polls */
  int fd() const noexcept { return fd_; }
  /** @return whether the streams are to be ensured (true at first), and clears it */
  bool takeEnsureStreams() noexcept { return ensureStreams_.exchange(false); }
  /** @return whether natsClosed() was called */
  bool natsClosedForGood() const noexcept { return natsClosed_; }
  /** @brief Reads the eventfd's counter back to 0. */
  void drain() noexcept;

 private:
  int fd_ = -1;
  std::atomic<bool> ensureStreams_{true};
  std::atomic<bool> natsClosed_{false};
};

/** @brief The NATS side the daemon drives: the connection and its JetStream administration. */
class INatsLink {
 public:
  virtual ~INatsLink() = default;
  /** @return the connection, as the Supervisor's (and its monitor's) transport */
  virtual INatsTransport& transport() = 0;
  /** @brief JetStreamAdmin::ensureStream() (tcs/jetstream.hpp). */
  virtual StreamOutcome ensureStream(const StreamSpec& spec) = 0;
  /** @return why the connection closed (NatsConnection::lastError()), empty when unknown */
  virtual std::string lastError() const = 0;
};

/** @brief The real INatsLink: a NatsConnection and a JetStreamAdmin over it. */
class NatsConnectionLink final : public INatsLink {
 public:
  explicit NatsConnectionLink(NatsConnection& nats) noexcept : nats_(nats), admin_(nats) {}
  INatsTransport& transport() override { return nats_; }
  StreamOutcome ensureStream(const StreamSpec& spec) override { return admin_.ensureStream(spec); }
  std::string lastError() const override { return nats_.lastError(); }

 private:
  NatsConnection& nats_;
  JetStreamAdmin admin_;
};

/** @brief The daemon's collaborators; all outlive the Daemon. */
struct DaemonParts {
  ISystemdManager& systemd;
  /** @brief nullptr: no `nats:` section; supervise without publishing anything. */
  INatsLink* nats = nullptr;
  INotifier& notifier;
  /** @brief Non-blocking; reads as `signalfd_siginfo` records (tcs::openTerminationSignalFd()). */
  int signalFd = -1;
  DaemonEvents& events;
  /** @brief What the `logs` RPC reads; nullptr: `logs` is refused (`action_failed`). */
  IJournal* journal = nullptr;
};

class Daemon {
 public:
  /** @param[in] options - the Supervisor's; `wake` is set to DaemonEvents::wake() */
  Daemon(SupervisorOptions options, DaemonParts parts);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  /**
   * @brief Starts the Supervisor, notifies READY=1, runs the loop until a termination signal or
   * until NATS closed for good, then notifies STOPPING=1 and stops the Supervisor.
   * @return the exit status: exit_code::kOk after a signal, exit_code::kFailure when NATS closed
   * for good or the Supervisor could not start, exit_code::kConfig for an unusable config
   */
  int run();

 private:
  /** @return whether every stream was ensured (false: JetStream unavailable or an error) */
  bool ensureStreams();
  void handleSignals(bool& stop);

  SupervisorOptions options_;
  DaemonParts parts_;
  std::unique_ptr<Supervisor> supervisor_;
  /** @brief The next try at the streams after one failed, and the wait that led to it. */
  struct StreamRetry {
    std::chrono::steady_clock::time_point at;
    std::chrono::milliseconds wait;
  };
  std::optional<StreamRetry> streamRetry_;
  bool streamsFailing_ = false;  // the last try failed (one warning per episode)
};

}  // namespace tcs::supervisor
