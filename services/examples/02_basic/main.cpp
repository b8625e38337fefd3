// SPDX-License-Identifier: MIT
// 02_basic: typed settings. Everything in a service's services.yaml entry that is not a
// framework key (type, variant, restart, log_level, …) is a setting the service reads with
// settings().get<T>(key, default).
//
// RUN:             build/services/bin/examples.basic config/examples.yaml tutorial
// EXPECTED OUTPUT: "Basic service running (every 2s)" every 2 s (examples.yaml sets
//                  interval: 2.0 and the message); without a config
//                  (build/services/bin/examples.basic) the defaults:
//                  "Hello from basic service (every 3s)" every 3 s. Ctrl-C: exit status 0.
//
// A setting of the wrong type is a clear error, never a silent default. With
// `interval: "fast"` in the entry the service does not start; it names file, line, column,
// YAML path and the bad value:
//
//   CRITICAL examples.basic.tutorial: … configuration error: config/examples.yaml:26:15:
//            services[1].interval: expected a number, got a string 'fast'
//
// and exits with status 78 (EX_CONFIG), which the unit template never restarts
// (RestartPreventExitStatus=78): fix the file instead.
#include <string>
#include <tcs/tcs.hpp>

class Basic : public tcs::BlockingService {
  // onStart() runs before the service reports READY: a bad setting fails the start right
  // here (exit status 78), not some time later inside run().
  void onStart() override {
    // T is deduced from the default, so write the default in the type you want:
    // 3.0 (double) accepts 2 and 2.5; a default of 3 (int) would refuse 2.5.
    interval_ = settings().get("interval", 3.0);
    // A string default must be spelled std::string: a plain "..." would ask for a const char*.
    message_ = settings().get("message", "Hello from basic service");
  }

  void run() override {
    while (running()) {
      log().info("{} (every {}s)", message_, interval_);
      sleep(interval_);
    }
  }

  double interval_ = 3.0;
  std::string message_;
};

TCS_SERVICE(Basic, "examples.basic")
