// SPDX-License-Identifier: MIT
// test.cyclic: cycle() every `interval` seconds (default 1) doing `work` seconds of work
// (default 0.1); every `overrun_every`-th cycle (default 0 = never) works `overrun_work`
// seconds (default 2.5 × interval) to overrun.
#include <tcs/tcs.hpp>
#include <thread>

class Cyclic : public tcs::CyclicService {
  void cycle() override {
    const long every = settings().get("overrun_every", 0);
    double work = settings().get("work", 0.1);
    if (every > 0 && cycleCount() % static_cast<unsigned long long>(every) == 0)
      work = settings().get("overrun_work", 2.5 * interval());
    log().info("cycle {} ({} s of work)", cycleCount(), work);
    std::this_thread::sleep_for(std::chrono::duration<double>(work));
    setStatus(tcs::Status::Ok, fmt::format("{} cycles", cycleCount()));
  }
};

TCS_SERVICE(Cyclic, "test.cyclic")
