// SPDX-License-Identifier: MIT
// test.hang: makes progress for `hang_after` seconds (default 2), then deadlocks — it blocks
// forever without passing a liveness point, so the watchdog must kill it.
#include <condition_variable>
#include <mutex>
#include <tcs/tcs.hpp>

class Hang : public tcs::BlockingService {
  void run() override {
    const double after = settings().get("hang_after", 2.0);
    for (int i = 0; i < static_cast<int>(after * 10); ++i)
      if (!sleep(0.1)) return;
    log().warning("hanging now (no more progress)");
    setStatus(tcs::Status::Ok, "hanging");
    std::mutex m;
    std::condition_variable never;
    std::unique_lock lock(m);
    never.wait(lock, [] { return false; });  // a deadlock: ignores the stop request too
  }
};

TCS_SERVICE(Hang, "test.hang")
