// SPDX-License-Identifier: MIT
// 03_logging: log levels and the onStart()/onStop() hooks.
//
// RUN:             build/services/bin/examples.logging config/examples.yaml tutorial
//                  build/services/bin/examples.logging config/examples.yaml tutorial --log-level DEBUG
// EXPECTED OUTPUT: "Processing cycle N" every 3 s; every 5th cycle a WARNING, every 10th an
//                  ERROR "Simulated error in cycle N: …" (the service carries on); the DEBUG
//                  detail lines only with --log-level DEBUG. Ctrl-C: "Stopped after N cycles",
//                  exit status 0.
//
// Levels, lowest first: DEBUG, INFO, WARNING, ERROR, CRITICAL. Records below the minimum are
// dropped before they are even formatted, so DEBUG calls cost nothing in production. The
// minimum comes from, first match wins: --log-level, $TCS_LOG_LEVEL, the entry's
// `log_level:` in services.yaml, INFO.
//
// In a terminal the records go to stderr as lines. Under systemd every record is a
// structured journald entry carrying the service's identity, so you can filter by field:
//
//   journalctl -u tcs@examples.logging:tutorial -f
//   journalctl TCS_SERVICE_ID=examples.logging.tutorial -p warning    # warnings and worse
//   journalctl TCS_SERVICE_TYPE=examples.logging -o verbose           # all fields (CODE_LINE, …)
#include <stdexcept>
#include <tcs/tcs.hpp>

class Logging : public tcs::BlockingService {
  void onStart() override {
    interval_ = settings().get("interval", 3.0);
    simulateErrors_ = settings().get("simulate_errors", true);
    cycles_ = 0;  // a restart begins a fresh process anyway; this shows where state is set up
    log().info("Logging tutorial starting (interval {}s, simulate_errors {})", interval_, simulateErrors_);
  }

  void run() override {
    while (running()) {
      ++cycles_;
      log().info("Processing cycle {}", cycles_);
      log().debug("Cycle {}: interval {}s, next warning at cycle {}", cycles_, interval_, (cycles_ / 5 + 1) * 5);

      if (cycles_ % 5 == 0) log().warning("Cycle {} is a multiple of 5 (a demonstration warning)", cycles_);

      if (simulateErrors_ && cycles_ % 10 == 0) {
        try {
          throw std::runtime_error("the simulated device did not answer");
        } catch (const std::exception& e) {
          // Caught and logged: an ERROR record, but the service keeps running. An exception
          // that escapes run() would instead end the service with exit status 1.
          log().error("Simulated error in cycle {}: {}", cycles_, e.what());
        }
      }
      sleep(interval_);
    }
  }

  // Runs after run() has returned, on every stop.
  void onStop() override { log().info("Stopped after {} cycles", cycles_); }

  double interval_ = 3.0;
  bool simulateErrors_ = true;
  unsigned long cycles_ = 0;
};

TCS_SERVICE(Logging, "examples.logging")
