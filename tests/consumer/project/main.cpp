// SPDX-License-Identifier: MIT
// What an observatory's own service looks like: one class, one macro, find_package(tcs).
#include <tcs/tcs.hpp>

class DomeFollower : public tcs::SingleShotService {
  int execute() override {
    log().info("following the dome at {} deg/s", settings().get("dome_speed", 30.0));
    return 0;
  }
};

TCS_SERVICE(DomeFollower, "dome_follower_svc.dome_follower")
