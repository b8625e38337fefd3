// SPDX-License-Identifier: MIT
// 05_nonblocking: a PermanentService that starts its own threads in start() and stops them in
// stop(). For services built around callbacks, servers or several parallel loops.
//
// RUN:             build/services/bin/examples.nonblocking config/examples.yaml tutorial
// EXPECTED OUTPUT: "Started 3 workers", then each worker logs "Worker k: tick n" every 2 s
//                  (DEBUG; examples.yaml sets log_level: DEBUG for this entry — with the
//                  default INFO they are hidden). Ctrl-C: "Worker k stopped after n ticks" for
//                  each, "All 3 workers stopped", exit status 0.
//
// The contract: start() and stop() run on the main thread and must return promptly — the
// service is READY when start() returns, and nothing else can happen while they run.
//
// Your threads are your own: Service::sleep(), running() and keepAlive() belong to the
// framework's worker thread (blocking and cyclic services) and the watchdog only watches
// that thread; here it only proves that the main thread is responsive. A thread of yours
// waits stop-aware with std::stop_token + std::condition_variable_any, as below.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <tcs/tcs.hpp>
#include <thread>
#include <vector>

class NonBlocking : public tcs::PermanentService {
  void start() override {
    const int count = settings().get("worker_count", 3);
    interval_ = std::chrono::duration<double>(settings().get("interval", 2.0));
    // A bad value fails the start with file:line and exit status 78 (configuration error):
    // the unit fails instead of running half a service, and does not restart in a loop.
    if (count < 1) settings().reject("worker_count", "must be at least 1");
    if (!(interval_.count() > 0)) settings().reject("interval", "must be > 0 seconds");
    active_ = count;
    for (int id = 1; id <= count; ++id) workers_.emplace_back([this, id](std::stop_token stop) { work(id, stop); });
    log().info("Started {} workers", count);
  }

  void stop() override {
    for (auto& w : workers_) w.request_stop();  // wakes every wait_for() below at once
    {
      // Threads cannot be killed: give them a deadline and say who is slow. (If a worker
      // never returns, the join below blocks until systemd's stop timeout kills the process.)
      std::unique_lock lock(mutex_);
      if (!finished_.wait_for(lock, std::chrono::seconds(5), [this] { return active_ == 0; }))
        log().warning("{} worker(s) still busy 5 s after the stop request; waiting for them", active_);
    }
    const auto count = workers_.size();
    workers_.clear();  // std::jthread joins on destruction
    log().info("All {} workers stopped", count);
  }

  // One worker: a stop-aware periodic loop on its own thread.
  void work(int id, std::stop_token stop) {
    unsigned long ticks = 0;
    std::mutex m;
    std::condition_variable_any cv;
    while (true) {
      {
        std::unique_lock lock(m);
        // Returns after interval_, or at once when stop is requested on the token.
        cv.wait_for(lock, stop, interval_, [] { return false; });
      }
      if (stop.stop_requested()) break;
      ++ticks;
      log().debug("Worker {}: tick {}", id, ticks);  // log() may be called from any thread
    }
    log().info("Worker {} stopped after {} ticks", id, ticks);
    std::lock_guard lock(mutex_);
    --active_;
    finished_.notify_all();
  }

  std::chrono::duration<double> interval_{2.0};
  std::mutex mutex_;
  std::condition_variable finished_;
  int active_ = 0;  // workers still running, guarded by mutex_
  // Last: members are destroyed in reverse order, so the jthreads (which use the members
  // above) are stopped and joined first should the service be destroyed without stop().
  std::vector<std::jthread> workers_;
};

TCS_SERVICE(NonBlocking, "examples.nonblocking")
