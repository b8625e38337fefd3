// SPDX-License-Identifier: MIT
// test.single_shot: works for `duration` seconds (default 1), then exits with `exit_code`
// (default 0). `throw: true` makes execute() throw instead (exit status 1).
#include <tcs/tcs.hpp>

class SingleShot : public tcs::SingleShotService {
  int execute() override {
    const double duration = settings().get("duration", 1.0);
    log().info("working for {} s", duration);
    if (!sleep(duration)) return 0;
    if (settings().get("throw", false)) throw std::runtime_error("simulated failure in execute()");
    const int code = settings().get("exit_code", 0);
    log().info("done, exit status {}", code);
    return code;
  }
};

TCS_SERVICE(SingleShot, "test.single_shot")
