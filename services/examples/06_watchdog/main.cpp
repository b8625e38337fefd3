// SPDX-License-Identifier: MIT
// 06_watchdog: the systemd watchdog proves progress, not just that the process exists.
//
// RUN:             build/services/bin/examples.watchdog config/examples.yaml tutorial
// RUN (stalling):  export EXAMPLES_WATCHDOG_STALL_AFTER=10 WATCHDOG_USEC=5000000
//                  build/services/bin/examples.watchdog config/examples.yaml tutorial
// EXPECTED OUTPUT: "Working in chunks of 0.5s …", then "Done 10 chunks (5.0s of work)" every
//                  ~5 s. In the second form (what systemd does with watchdog_sec: 5, plus a
//                  stall): after 10 s "Stalling now …"; 5–7.5 s later the framework logs
//                  "examples.watchdog.tutorial made no progress for 5.0 s …: withholding
//                  watchdog pings". Under systemd the missing pings make systemd kill the process
//                  (Result: watchdog) and `restart: on-failure` start it again. Ctrl-C works
//                  even while stalled: exit status 0.
//
// How it works: under systemd (WatchdogSec=, from the entry's `watchdog_sec`, default 30 s)
// the framework sends WATCHDOG=1 every half interval — but only while the worker thread
// passes a liveness point at least once per interval: sleep() (also while waiting in it),
// keepAlive() or running(). A run() stuck in a deadlock, a hung device call or an endless
// loop passes none, the pings stop and systemd restarts the service.
//
// Long legitimate blocking work (a 2-minute readout, a slew), pick one:
//   - call keepAlive() between chunks of it, as run() does below (best: a real hang is still
//     caught);
//   - raise `watchdog_sec:` in the entry above the longest single blocking call;
//   - `watchdog_sec: 0` turns the watchdog off for this service (nothing catches a hang).
// A single chunk longer than watchdog_sec counts as a stall, even though it would finish.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <string>
#include <tcs/tcs.hpp>
#include <thread>

class Watchdog : public tcs::BlockingService {
  void onStart() override {
    workSeconds_ = settings().get("work_seconds", 0.5);
    stallAfter_ = settings().get("stall_after", 0.0);  // 0 = never stall
    if (!(workSeconds_ > 0)) settings().reject("work_seconds", "must be > 0");
    log().info("Working in chunks of {}s{}", workSeconds_,
               stallAfter_ > 0 ? fmt::format(", stalling after {}s", stallAfter_) : std::string());
  }

  void run() override {
    using Clock = std::chrono::steady_clock;
    const auto began = Clock::now();
    // stopToken(): for code that waits on a std::stop_token (stall() below). The loop tests
    // it, which (unlike running()) is not a liveness point, so keepAlive() below is the only
    // proof of progress.
    const std::stop_token stop = stopToken();
    for (unsigned long chunks = 1; !stop.stop_requested(); ++chunks) {
      doChunkOfWork();
      keepAlive();  // "one more chunk done": the watchdog may ping again
      if (chunks % 10 == 0) log().info("Done {} chunks ({:.1f}s of work)", chunks, chunks * workSeconds_);

      const std::chrono::duration<double> elapsed = Clock::now() - began;
      if (stallAfter_ > 0 && elapsed.count() >= stallAfter_) stall(stop);
    }
  }

  // Stands for real work that blocks (a device call, a computation): no liveness point.
  void doChunkOfWork() const { std::this_thread::sleep_for(std::chrono::duration<double>(workSeconds_)); }

  // A simulated hang: blocks without any liveness point until the service is stopped. (A real
  // hang would not even notice the stop; this one does, so Ctrl-C still works.)
  void stall(std::stop_token stop) {
    log().warning("Stalling now: no more keepAlive(); the watchdog will notice");
    setStatus(tcs::Status::Warning, "stalled (simulated)");
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    cv.wait(lock, stop, [] { return false; });
  }

  double workSeconds_ = 0.5;
  double stallAfter_ = 0;
};

TCS_SERVICE(Watchdog, "examples.watchdog")
