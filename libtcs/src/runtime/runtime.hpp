// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "tcs/config.hpp"
#include "tcs/exit_code.hpp"
#include "tcs/log.hpp"
#include "tcs/monitor.hpp"
#include "tcs/nats.hpp"
#include "tcs/notify.hpp"
#include "tcs/service.hpp"
#include "tcs/status.hpp"

/**
 * @file
 * The lifecycle driver behind TCS_SERVICE: start, READY, the watchdog, signals, stop, exit
 * status. Internal to libtcs (not installed): services never see it; tests drive it with a
 * fake INotifier (they add libtcs/src to their include path).
 */
namespace tcs {

/**
 * @brief The runtime's time source. Defaults to std::chrono::steady_clock; tests replace it
 * to drive time-based decisions (the repeated-signal window, watchdog liveness) without
 * sleeping. Waiting itself (sleep(), poll) always uses the real steady clock.
 */
struct RuntimeClock {
  using time_point = std::chrono::steady_clock::time_point;
  std::function<time_point()> now = [] { return std::chrono::steady_clock::now(); };
};

struct RunOptions {
  std::string type;
  std::string variant = "dev";
  config::Settings settings;
  /** @brief How long stop() + joining the worker may take before the process gives up. */
  std::chrono::milliseconds stopTimeout{20000};
  /** @brief A signalfd for SIGTERM/SIGINT/SIGHUP (blocked in every thread), or -1. */
  int signalFd = -1;
  /** @brief What to do when the worker ignores a stop: std::_Exit (processes) or detach (tests). */
  bool exitOnStuckWorker = true;
  /** @brief The process's NATS connection, or null: the service's monitor then publishes nothing. */
  INatsTransport* nats = nullptr;
  /**
   * @brief The service's monitor: prefix, `parent` (the launcher name from the unit), intervals.
   * The name is always the service id.
   */
  MonitorOptions monitor;
  /** @brief Time source for the runtime's decisions (see RuntimeClock). */
  RuntimeClock clock;
};

class Runtime;

/** @brief What a Service's opaque link points to: its Runtime (a Runtime is one). */
struct Service::Context {
 protected:
  Context() = default;
  ~Context() = default;
};

/**
 * @brief The runtime's way into a Service (its private lifecycle hooks and its link to the
 * runtime); the public header only names it as a friend.
 */
class ServiceAccess {
 public:
  using Context = Service::Context;
  /** @brief Links (or with nullptr unlinks) @p service to @p runtime. */
  static void attach(Service& service, Runtime* runtime) noexcept;
  /** @brief The runtime driving @p service; throws std::logic_error outside one. */
  static Runtime& runtime(const Service& service);
  static void start(Service& service) { service.frameworkStart(); }
  static void stop(Service& service) { service.frameworkStop(); }
};

/** @brief Drives one Service instance; one per process. See RunOptions. */
class Runtime : public ServiceAccess::Context {
 public:
  /** @brief Lifecycle phases of the service process, in order. */
  enum class Phase { Created, Starting, Running, Stopping, Stopped };

  Runtime(Service& service, RunOptions options, INotifier& notifier);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  /**
   * @brief Starts the service, runs it until it is stopped or ends, stops it.
   * @return the process exit status (exit_code).
   */
  int run();
  /** @brief Asks for a graceful stop, like SIGTERM. Thread-safe. */
  void requestStop();
  Phase phase() const noexcept { return phase_.load(); }
  /**
   * @brief Called for every status change (after STATUS= is sent) with the aggregate status and
   * the message, under the monitor's lock: must not call back into the runtime or the monitor.
   */
  void onStatusChange(std::function<void(Status, const std::string&)> listener);
  /** @return the service's own status (its monitor's root) */
  Status status() const;
  std::string statusMessage() const;
  /** @brief The service's monitor (status tree, metrics, checks, NATS publishing). */
  Monitor& monitor() noexcept { return *monitor_; }

  // ---- the Service API ------------------------------------------------------------------
  const RunOptions& options() const noexcept { return options_; }
  const std::string& serviceId() const noexcept { return serviceId_; }
  bool sleep(std::chrono::steady_clock::duration d);
  bool sleepUntil(std::chrono::steady_clock::time_point t);
  void keepAlive() noexcept;
  bool stopping() const noexcept { return stopRequested_.load(); }
  void setStatus(Status status, std::string message);
  /** @brief Ends the service like a stop, exiting with @p exitStatus (non-zero: status failed). */
  void finish(int exitStatus, std::string reason);

  // ---- for the base classes -------------------------------------------------------------
  /** @brief The token run()/cycle() code may pass on; requested when the service stops. */
  std::stop_token stopToken() const noexcept { return stopSource_.get_token(); }
  /** @brief Runs @p body on the worker thread; its return value is the exit status. */
  void startWorker(std::function<int(std::stop_token)> body);
  /** @brief Lets the worker's body begin (after READY=1); a stop releases it too. */
  void releaseWorker();
  /** @brief Waits for the worker, up to the stop timeout; false if it did not finish. */
  bool joinWorker();

 private:
  enum class Wake { Timeout, Signal, Event };
  void mainLoop();
  void stopService();
  void pingWatchdogIfAlive(std::chrono::steady_clock::time_point now);
  bool alive(std::chrono::steady_clock::time_point now) const;
  void wake();
  void drainEvent();
  /** @return true if a termination signal arrived */
  bool handleSignals();
  void finishWorker();
  void abandonWorker();
  void notifyListeners(Status status, const std::string& message);

  Service& service_;
  RunOptions options_;
  INotifier& notifier_;
  std::string serviceId_;
  std::atomic<Phase> phase_{Phase::Created};
  int exitCode_ = exit_code::kOk;
  int eventFd_ = -1;

  std::atomic<bool> stopRequested_{false};
  std::stop_source stopSource_;
  mutable std::mutex sleepMutex_;
  std::condition_variable sleepCv_;

  // watchdog
  std::optional<std::chrono::microseconds> watchdog_;
  std::atomic<std::chrono::steady_clock::rep> lastAlive_{0};
  std::atomic<int> sleeping_{0};
  bool progressWarned_ = false;

  // finish()
  std::atomic<bool> finishRequested_{false};
  std::atomic<int> finishCode_{0};

  // signals
  static constexpr std::chrono::milliseconds kDuplicateSignalWindow{200};
  std::optional<std::chrono::steady_clock::time_point> firstSignalAt_;

  // worker
  std::thread worker_;
  std::atomic<bool> workerStarted_{false};  // worker_.joinable() for other threads (the monitor's)
  std::atomic<bool> workerDone_{false};
  std::atomic<bool> workerHandled_{false};
  // The worker's body waits (under sleepMutex_) until the service is ready or stopping, so the
  // framework's "ok: Service running" always precedes the service's own first status.
  bool workerReleased_ = false;
  int workerResult_ = 0;
  std::exception_ptr workerError_;

  // status: the monitor is the one source of truth; STATUS= mirrors it
  std::atomic<bool> holdStatusLine_{false};  // READY=1 carries the status line itself
  std::unique_ptr<Monitor> monitor_;
};

}  // namespace tcs
