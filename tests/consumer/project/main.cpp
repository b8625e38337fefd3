// SPDX-License-Identifier: MIT
// What an observatory's own service looks like: one class, one macro, find_package(tcs).
// It runs until stopped (settings `dome_speed`, `interval`); `cycles: N` ends it after N
// cycles (exit 0), which the build-tree test uses to run it once.
#include <tcs/tcs.hpp>

class DomeFollower : public tcs::BlockingService {
  void onStart() override {
    speed_ = settings().get("dome_speed", 30.0);
    interval_ = settings().get("interval", 1.0);
    cycles_ = settings().get("cycles", 0);
  }

  void run() override {
    for (int n = 1; running(); ++n) {
      log().info("following the dome at {} deg/s", speed_);
      if (cycles_ > 0 && n >= cycles_) return;
      sleep(interval_);
    }
  }

  double speed_ = 30.0;
  double interval_ = 1.0;
  int cycles_ = 0;
};

TCS_SERVICE(DomeFollower, "dome_follower_svc.dome_follower")
