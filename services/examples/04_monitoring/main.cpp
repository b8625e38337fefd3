// SPDX-License-Identifier: MIT
// 04_monitoring: status, child objects, metrics, a health check and busy/idle, on a CyclicService.
//
// RUN:             build/services/bin/examples.monitoring config/examples.yaml tutorial
// EXPECTED OUTPUT: "status ok: Cycle N" every 2 s; every 10th cycle an ERROR and
//                  "status error: Error count: k". With max_errors: 5 (examples.yaml) the 5th
//                  error, at cycle 50 (~100 s), gives "status failed: Max errors exceeded" and
//                  the service ends with exit status 1 (under systemd, `restart: always` starts it
//                  again 3 s later). Ctrl-C before that: exit status 0.
//
// Under systemd every setStatus() is the unit's status line:
//
//   $ systemctl status tcs@examples.monitoring:tutorial
//        Status: "error: Error count: 2"
//
// The framework sets the lifecycle statuses itself (startup → ok "Service running" →
// shutdown, or failed when the service throws or finish()es with an error); a service refines
// them while it runs. Values:
// ok, idle, busy, degraded, warning, error, failed (and the framework's unknown, startup,
// shutdown). An unchanged status + message is not sent again.
//
// Unlike upstream's example, the error counter counts every error since the start: a good
// cycle sets the status back to ok but does not reset the count, so max_errors is really
// reached. (Upstream resets it on the next good cycle, so its "Max errors exceeded" branch
// can never run.)
#include <atomic>
#include <stdexcept>
#include <string>
#include <tcs/monitor.hpp>
#include <tcs/tcs.hpp>

class Monitoring : public tcs::CyclicService {
  // CyclicService calls cycle() every `interval` seconds; this is the default when the entry
  // has no `interval`.
  double defaultInterval() const override { return 2.0; }

  void onStart() override {
    maxErrors_ = settings().get("max_errors", 3);
    errors_ = 0;
    // ---- monitoring beyond the status line (tcs/monitor.hpp) -----------------------------
    // With a `nats:` section all of this is published for tcsctl (status `details`,
    // heartbeats, the v1.health / v1.stats RPC); without one it still decides STATUS=.
    //
    // Children: one monitored object per part of the service. Their statuses appear in
    // `details.children`, and the service's reported status is the aggregate (worst first:
    // failed > error > warning > degraded > startup > shutdown > busy > idle/ok).
    worker_ = monitor().child("worker");
    worker_.setStatus(tcs::Status::Idle, "No work yet");
    // Metrics: merged into every status report (and, with StatusAndHeartbeat, heartbeats).
    monitor().addMetrics([this] {
      return tcs::protocol::JsonObject()
          .set("cycles", static_cast<std::int64_t>(cycles_.load()))
          .set("errors", static_cast<std::int64_t>(errors_.load()))
          .set("max_errors", static_cast<std::int64_t>(maxErrors_));
    });
    // A health check: runs every 30 s and on every v1.health request. Its result *takes
    // effect*: degraded here makes the service degraded, and its next ok brings the status
    // the service set back (upstream ignored degraded/ok results).
    monitor().addHealthCheck("error_budget", [this]() -> tcs::CheckResult {
      if (errors_ * 2 >= maxErrors_)
        return {tcs::Status::Degraded, fmt::format("{} of {} allowed errors used", errors_.load(), maxErrors_)};
      return tcs::Status::Ok;
    });
    // ---------------------------------------------------------------------------------------
  }

  void cycle() override {
    const unsigned long long n = cycleCount();  // 1, 2, 3, … (counted by the framework)
    cycles_ = n;
    try {
      // trackTask(): the worker is busy while the task lives and turns idle 1 s after the last.
      auto task = worker_.trackTask();
      work(n);
      report(tcs::Status::Ok, fmt::format("Cycle {}", n));
    } catch (const std::exception& e) {
      ++errors_;
      log().error("Cycle {} failed: {} (error {} of at most {})", n, e.what(), errors_.load(), maxErrors_);
      if (errors_ >= maxErrors_) {
        log().info("status failed: Max errors exceeded");
        // End the service for good: finish() with a non-zero exit status marks it failed and
        // stops it like a SIGTERM would, so systemd sees the failure and applies the
        // `restart:` policy. (Returning would just wait for the next tick.)
        finish(1, "Max errors exceeded");
        return;
      }
      report(tcs::Status::Error, fmt::format("Error count: {}", errors_.load()));
    }
  }

  // The real work of a cycle; every 10th one fails.
  void work(unsigned long long n) {
    if (n % 10 == 0) throw std::runtime_error("simulated internal error");
  }

  // setStatus() reaches systemd (and later NATS) but not the terminal: log it as well.
  void report(tcs::Status status, std::string message) {
    log().info("status {}: {}", tcs::toString(status), message);
    setStatus(status, std::move(message));
  }

  int maxErrors_ = 3;
  std::atomic<int> errors_{0};  // read by the metrics and the health check (monitor thread)
  std::atomic<unsigned long long> cycles_{0};
  tcs::MonitoredObject worker_;  // empty until onStart() assigns the child
};

TCS_SERVICE(Monitoring, "examples.monitoring")
