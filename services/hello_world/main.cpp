// SPDX-License-Identifier: MIT
// hello_world: the canonical tcs service. Logs `message` every `interval` seconds and shows
// how many it sent in `systemctl status` ("ok: Hello World! (3 sent)").
//
// With a `nats:` section in the config it also shows the monitoring API (tcs/monitor.hpp):
// a child object "greeter" in its status `details`, a `sent` metric (also in heartbeats), a
// health check that turns the service `degraded` when no greeting went out for three
// intervals, and `sent`/`last_greeting_age_s` in the `v1.stats` RPC reply:
//
//   nats req svc.rpc.hello_world.main.v1.health ''
#include <atomic>
#include <chrono>
//
// RUN:      hello_world config/services.sample.yaml main
// EXPECTED: "Hello World! (interval: 5s)" every 5 s until Ctrl-C; exit status 0.
#include <tcs/monitor.hpp>
#include <tcs/tcs.hpp>

class HelloWorld : public tcs::BlockingService {
  void onStart() override {
    interval_ = settings().get("interval", 5.0);
    message_ = settings().get("message", "Hello World!");
    log().info("Hello World service ready (interval {}s)", interval_);

    greeter_ = monitor().child("greeter");
    greeter_.setStatus(tcs::Status::Ok, "ready");
    monitor().addMetrics([this] { return tcs::protocol::JsonObject().set("sent", std::int64_t(sent_.load())); },
                         tcs::MetricUse::StatusAndHeartbeat);
    monitor().addHealthCheck("greeting_age", [this]() -> tcs::CheckResult {
      if (sent_ == 0) return tcs::Status::Ok;  // read first: once it is set, so is lastGreeting_
      const double age = lastGreetingAge();
      if (age > 3 * interval_) return {tcs::Status::Degraded, fmt::format("no greeting for {:.0f} s", age)};
      return tcs::Status::Ok;
    });
    monitor().setStatsProvider([this] {
      return tcs::protocol::JsonObject()
          .set("sent", std::int64_t(sent_.load()))
          .set("last_greeting_age_s", lastGreetingAge());
    });
  }

  void run() override {
    for (unsigned long sent = 1; running(); ++sent) {
      log().info("{} (interval: {}s)", message_, interval_);
      // The time first: the health check (on the monitor's thread) reads sent_ first.
      lastGreeting_ = Clock::now().time_since_epoch().count();
      sent_ = sent;
      greeter_.setStatus(tcs::Status::Ok, "greeting");
      setStatus(tcs::Status::Ok, fmt::format("{} ({} sent)", message_, sent));
      if (!sleep(interval_)) break;
    }
  }

  using Clock = std::chrono::steady_clock;
  double lastGreetingAge() const {
    return std::chrono::duration<double>(Clock::now() - Clock::time_point(Clock::duration(lastGreeting_.load())))
        .count();
  }

  void onStop() override { log().info("Hello World service cleaning up"); }

  double interval_ = 5.0;
  std::string message_;
  tcs::MonitoredObject greeter_;  // empty until onStart() assigns the child
  std::atomic<unsigned long> sent_{0};
  std::atomic<Clock::rep> lastGreeting_{0};
};

TCS_SERVICE(HelloWorld, "hello_world")
