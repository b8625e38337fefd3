// SPDX-License-Identifier: MIT
// test.crash: runs normally for `run_duration` seconds (default 3), then dies with exit status
// `exit_code` (default 1) without a clean stop — a crash as systemd sees it.
#include <cstdlib>
#include <tcs/tcs.hpp>

class Crash : public tcs::BlockingService {
  void run() override {
    const double after = settings().get("run_duration", 3.0);
    const int code = settings().get("exit_code", 1);
    log().info("running; crashing with exit status {} in {} s", code, after);
    if (!sleep(after)) return;
    log().error("{}", settings().get("crash_message", "simulated crash"));
    std::_Exit(code);
  }
};

TCS_SERVICE(Crash, "test.crash")
