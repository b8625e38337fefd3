// SPDX-License-Identifier: MIT
// test.memory_hog: after `hog_after` seconds (default 1) allocates `hog_step_mb` MiB (default 8)
// every `hog_interval` seconds (default 0.05) until it holds `hog_mb` MiB (default 0 = without
// bound), writing every page so the resident set really grows; then holds it until stopped.
// Under a unit's MemoryMax= the kernel's OOM killer ends it inside its cgroup.
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <tcs/tcs.hpp>
#include <vector>

class MemoryHog : public tcs::BlockingService {
  void run() override {
    const double after = settings().get("hog_after", 1.0);
    const double interval = settings().get("hog_interval", 0.05);
    const int stepMb = settings().get("hog_step_mb", 8);
    const int limitMb = settings().get("hog_mb", 0);
    const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    if (!sleep(after)) return;
    log().info("allocating {} MiB every {} s up to {}", stepMb, interval,
               limitMb > 0 ? std::to_string(limitMb) + " MiB" : std::string("no bound"));
    std::vector<std::unique_ptr<char[]>> blocks;
    int held = 0;
    while (running() && (limitMb <= 0 || held < limitMb)) {
      const std::size_t size = static_cast<std::size_t>(stepMb) << 20;
      auto block = std::make_unique_for_overwrite<char[]>(size);
      for (std::size_t i = 0; i < size; i += page) block[i] = static_cast<char>(i);  // touch every page
      blocks.push_back(std::move(block));
      held += stepMb;
      setStatus(tcs::Status::Ok, "holding " + std::to_string(held) + " MiB");
      if (held % 64 == 0) log().info("holding {} MiB", held);
      if (!sleep(interval)) return;
    }
    log().info("holding {} MiB until stopped", held);
    while (sleep(1.0)) {
    }
  }
};

TCS_SERVICE(MemoryHog, "test.memory_hog")
