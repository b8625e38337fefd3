// SPDX-License-Identifier: MIT
// hello_world: the canonical tcs service. Logs `message` every `interval` seconds and shows
// how many it sent in `systemctl status` ("ok: Hello World! (3 sent)").
//
// RUN:      hello_world config/services.sample.yaml main
// EXPECTED: "Hello World! (interval: 5s)" every 5 s until Ctrl-C; exit status 0.
#include <tcs/tcs.hpp>

class HelloWorld : public tcs::BlockingService {
  void onStart() override {
    interval_ = settings().get("interval", 5.0);
    message_ = settings().get<std::string>("message", "Hello World!");
    log().info("Hello World service ready (interval {}s)", interval_);
  }

  void run(std::stop_token) override {
    for (unsigned long sent = 1; running(); ++sent) {
      log().info("{} (interval: {}s)", message_, interval_);
      setStatus(tcs::Status::Ok, fmt::format("{} ({} sent)", message_, sent));
      if (!sleep(interval_)) break;
    }
  }

  void onStop() override { log().info("Hello World service cleaning up"); }

  double interval_ = 5.0;
  std::string message_;
};

TCS_SERVICE(HelloWorld, "hello_world")
