// SPDX-License-Identifier: MIT
// test.ignore_term: a run() that ignores stop requests (but stays alive for the watchdog):
// SIGTERM cannot stop it cleanly, so the framework gives up after `stop_timeout` seconds
// (default 20) and exits 1 — unless systemd's TimeoutStopSec kills it first.
#include <tcs/tcs.hpp>
#include <thread>

class IgnoreTerm : public tcs::BlockingService {
  void run() override {
    for (;;) {
      keepAlive();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
};

TCS_SERVICE(IgnoreTerm, "test.ignore_term")
