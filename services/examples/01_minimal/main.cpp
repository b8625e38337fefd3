// SPDX-License-Identifier: MIT
// 01_minimal: the smallest possible tcs service — one class, one macro (see README.md).
//
// RUN:             build/services/bin/examples.minimal config/examples.yaml tutorial
// EXPECTED OUTPUT: the banner, "examples.minimal.tutorial is ready", then "Service running..."
//                  every 5 s. Ctrl-C (or kill -TERM <pid>) stops it at once; exit status 0.
#include <tcs/tcs.hpp>

class Minimal : public tcs::BlockingService {
  // run() is the whole service; it runs on its own thread until the service is stopped.
  void run() override {
    while (running()) {
      log().info("Service running...");
      sleep(5);  // stop-aware: returns (false) as soon as SIGTERM arrives
    }
  }
};

// Defines main(): command line, config, logging, signals, systemd notifications.
TCS_SERVICE(Minimal, "examples.minimal")
