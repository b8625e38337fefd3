// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <stop_token>
#include <string>

#include "tcs/export.hpp"
#include "tcs/log.hpp"
#include "tcs/settings.hpp"
#include "tcs/status.hpp"

/**
 * @file
 * What a service author derives from. Pick one of four base classes:
 *
 * | base                | you write                          | the framework                          |
 * |---------------------|------------------------------------|----------------------------------------|
 * | PermanentService    | start(), stop() — both return fast  | READY after start(); stop() on SIGTERM |
 * | BlockingService     | run() [+ onStart/onStop]           | run() on its own thread                |
 * | SingleShotService   | execute() → exit code              | the process exits with that code       |
 * | CyclicService       | cycle() [+ onStart/onStop]         | cycle() every `interval` seconds       |
 *
 * and turn it into a program with one macro (tcs/main.hpp):
 *
 *     class Hello : public tcs::BlockingService {
 *       void run() override {
 *         while (sleep(settings().get("interval", 5.0))) log().info("Hello!");
 *       }
 *     };
 *     TCS_SERVICE(Hello, "hello")
 *
 * Threading: start/stop/onStart/onStop run on the main thread; run(), execute() and cycle()
 * on one worker thread. Every member below may be called from any thread.
 *
 * Liveness (the systemd watchdog): a blocking or cyclic service proves progress by passing a
 * liveness point — sleep(), keepAlive() or running() — at least once per watchdog interval
 * (`watchdog_sec`, default 30 s). A run() that blocks longer without one gets the process
 * killed and restarted by systemd; raise `watchdog_sec`, call keepAlive() inside long work, or
 * set `watchdog_sec: 0` for a service that legitimately blocks for unbounded time.
 */
namespace tcs {

class Monitor;  // tcs/monitor.hpp: include it to use monitor()

class TCS_API Service {
 public:
  Service() = default;
  virtual ~Service();  // defined in the library: its vtable and typeinfo live there
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

 protected:
  /** @brief This instance's settings (its merged services.yaml entry). */
  const config::Settings& settings() const;
  /** @brief The process logger; records carry this service's id. */
  const log::Logger& log() const noexcept { return logger_; }
  /** @brief `<type>.<variant>` */
  const std::string& serviceId() const;
  const std::string& variant() const;

  /**
   * @brief Stop-aware sleep and a liveness point.
   * @return true when the full time passed, false as soon as the service is stopping.
   */
  bool sleep(std::chrono::duration<double> seconds);
  /** @brief Overload taking seconds as a number. */
  bool sleep(double seconds) { return sleep(std::chrono::duration<double>(seconds)); }
  /** @brief Liveness point for long work that does not sleep. */
  void keepAlive();
  /** @brief False once the service is stopping; also a liveness point. */
  bool running();
  /** @brief True once stop was requested. */
  bool stopping() const;

  /**
   * @brief Sets the status and its message; `systemctl status` shows "<status>: <message>".
   * The framework sets startup/ok/shutdown itself; services refine it (ok with a message,
   * degraded, error, …).
   */
  void setStatus(Status status, std::string message = {});

  /**
   * @brief This service's monitor (include tcs/monitor.hpp to use it): child objects, metrics, health checks,
   * busy/idle task tracking, `v1.stats` content. Its root status is the one setStatus() sets;
   * the framework starts it (heartbeats) and stops it. Published on NATS when the config has a
   * `nats:` section; without one the same calls work and only STATUS= shows the result.
   */
  Monitor& monitor();
  /**
   * @brief Ends the service from any thread, as if it had been stopped: sleep() returns false,
   * the stop hooks run, and the process exits with @p exitStatus. A non-zero status marks the
   * service failed with @p reason, so systemd's `restart: on-failure` applies.
   */
  void finish(int exitStatus = 0, std::string reason = {});

 private:
  friend class ServiceAccess;  // the runtime's side of the lifecycle (not part of the API)
  /** @brief Lifecycle protocol implemented by the four base classes. */
  virtual void frameworkStart() = 0;
  virtual void frameworkStop() = 0;

  struct Context;  // opaque: the runtime driving this instance (defined inside libtcs)
  Context* context_ = nullptr;
  log::Logger logger_;
};

/** @brief A service that starts its own work (threads, callbacks) and returns at once. */
class TCS_API PermanentService : public Service {
 protected:
  /** @brief Start work; return promptly. Throwing fails the start (exit status 1). */
  virtual void start() {}
  /** @brief Stop the work started in start(); return promptly. */
  virtual void stop() {}

 private:
  void frameworkStart() final;
  void frameworkStop() final;
};

/** @brief A service whose work is one blocking loop, run() on its own thread. */
class TCS_API BlockingService : public Service {
 protected:
  /** @brief Runs before READY; throwing fails the start. */
  virtual void onStart() {}
  /**
   * @brief The work. Return once the service is stopping (sleep() returns false then, and
   * running() / stopping() say so). Returning on its own ends the service (exit 0); an
   * exception ends it with exit status 1.
   */
  virtual void run() = 0;
  /** @brief Runs after run() has returned. */
  virtual void onStop() {}
  /**
   * @brief Requested when the service stops: for code in run() that waits on a
   * std::stop_token (std::condition_variable_any, std::jthread, std::stop_callback).
   */
  std::stop_token stopToken() const;

 private:
  void frameworkStart() final;
  void frameworkStop() final;
};

/**
 * @brief Work that runs once; the process then exits with execute()'s return value
 * (0 = success: the unit ends inactive, not failed).
 */
class TCS_API SingleShotService : public Service {
 protected:
  virtual int execute() = 0;

 private:
  void frameworkStart() final;
  void frameworkStop() final;
};

/**
 * @brief cycle() every interval() seconds (setting `interval`, default defaultInterval()).
 *
 * Ticks are on a fixed grid from the start. Overrun policy: when a cycle takes longer than
 * the interval, the missed ticks are skipped (never run back to back to catch up), a warning
 * says how many, and the next cycle starts at the next tick of the grid. An exception from
 * cycle() ends the service with exit status 1, like one from BlockingService::run().
 */
class TCS_API CyclicService : public Service {
 protected:
  virtual void onStart() {}
  virtual void cycle() = 0;
  virtual void onStop() {}
  /** @brief Used when the config has no `interval`. */
  virtual double defaultInterval() const { return 1.0; }
  /** @brief The interval in effect (seconds). */
  double interval() const;
  /** @brief Number of cycles started so far. */
  unsigned long long cycleCount() const noexcept { return cycles_; }

 private:
  void frameworkStart() final;
  void frameworkStop() final;
  TCS_LOCAL void loop(std::stop_token stop);
  unsigned long long cycles_ = 0;
  double interval_ = 1.0;
};

}  // namespace tcs
