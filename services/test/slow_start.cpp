// SPDX-License-Identifier: MIT
// test.slow_start: takes `start_delay` seconds (default 3) in onStart() before it is ready;
// `fail_start: true` makes the start fail after the delay.
#include <tcs/tcs.hpp>
#include <thread>

class SlowStart : public tcs::BlockingService {
  void onStart() override {
    const double delay = settings().get("start_delay", 3.0);
    log().info("starting slowly ({} s)", delay);
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    if (settings().get("fail_start", false)) throw std::runtime_error("simulated start failure");
  }
  void run() override {
    while (sleep(1.0)) {
    }
  }
};

TCS_SERVICE(SlowStart, "test.slow_start")
