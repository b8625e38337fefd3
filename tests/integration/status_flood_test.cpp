// SPDX-License-Identifier: MIT
// Issue 17, load: a service flooding status changes keeps its heartbeat cadence and answers
// v1.health. A real nats-server (JetStream, the protocol's status and heartbeat streams) on a
// free loopback port; a real tcs::Monitor (heartbeat every 500 ms) whose status a thread changes
// as fast as it can for 8 s, while a separate core subscriber times the heartbeats and a client
// calls `svc.rpc.<name>.v1.health` every 20 ms. Asserted: the functional bound (no
// heartbeat gap over the interval + 1 s) and that every health call was answered. The figures
// (status rate, health p50/p99, drops, peak RSS) are printed and recorded as test properties;
// bench/README.md "Status flood (issue 17)" has a run's numbers. No timing bound on p99.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nats_server.hpp"
#include "tcs/jetstream.hpp"
#include "tcs/monitor.hpp"
#include "tcs/nats.hpp"
#include "temp_dir.hpp"
#include "wait_until.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using tcs::test::NatsServer;
using tcs::test::TempDir;
using tcs::test::waitUntil;

constexpr auto kHeartbeatInterval = 500ms;
constexpr auto kWindow = 8s;
constexpr auto kHealthEvery = 20ms;
constexpr const char* kService = "flood.main";

/// VmHWM of /proc/self/status (peak resident set), in kB; 0 when unreadable.
long peakRssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

double percentileMs(std::vector<double> ms, double p) {
  if (ms.empty()) return 0;
  std::sort(ms.begin(), ms.end());
  return ms[static_cast<std::size_t>(p * static_cast<double>(ms.size() - 1))];
}

/// The longest time in [from, to] without an arrival (the window's edges count as arrivals' bounds).
Clock::duration maxGap(const std::vector<Clock::time_point>& times, Clock::time_point from, Clock::time_point to) {
  auto last = from;
  Clock::duration gap{};
  for (const auto t : times) {
    if (t <= from) continue;
    if (t >= to) break;
    gap = std::max(gap, t - last);
    last = t;
  }
  return std::max(gap, to - last);
}

class AStatusFlood : public ::testing::Test {
 protected:
  void SetUp() override { TCS_SKIP_WITHOUT_NATS_SERVER(); }

  tcs::config::NatsConfig natsConfig() const {
    tcs::config::NatsConfig c;
    c.present = true;
    c.host = "127.0.0.1";
    c.port = server_->port();
    c.subjectPrefix = "svc";
    return c;
  }
  std::unique_ptr<tcs::NatsConnection> connect(const std::string& name) const {
    tcs::NatsOptions o;
    o.name = name;
    return std::make_unique<tcs::NatsConnection>(natsConfig(), o);
  }

  TempDir dir_;
  std::unique_ptr<NatsServer> server_;
};

TEST_F(AStatusFlood, KeepsTheHeartbeatCadenceAndAnswersHealth) {
  server_ = std::make_unique<NatsServer>(dir_.path() / "server");
  server_->start();
  {
    // The streams a supervisor ensures: every status and heartbeat is a JetStream publish with an ack.
    auto admin = connect("admin");
    tcs::JetStreamAdmin js(*admin);
    js.ensureStream({"svc_status", "svc.status.>", 0s, -1, 1});
    js.ensureStream({"svc_heartbeat", "svc.heartbeat.>", 0s, -1, 1});
  }

  // A separate core subscriber times the heartbeats.
  auto watcher = connect("watcher");
  std::mutex mutex;
  std::vector<Clock::time_point> heartbeats;
  auto sub = watcher->subscribe(std::string("svc.heartbeat.") + kService, [&](const tcs::NatsMessage&) {
    std::lock_guard lock(mutex);
    heartbeats.push_back(Clock::now());
  });
  ASSERT_TRUE(watcher->flush(5s));

  auto serviceNats = connect("flood-service");
  tcs::MonitorOptions mo;
  mo.name = kService;
  mo.subjectPrefix = "svc";
  mo.heartbeatInterval = kHeartbeatInterval;
  tcs::Monitor monitor(mo, serviceNats.get());
  monitor.setStatus(tcs::Status::Ok, "starting work");
  monitor.start();
  ASSERT_TRUE(waitUntil(
      [&] {
        std::lock_guard lock(mutex);
        return !heartbeats.empty();
      },
      10s))
      << "no heartbeat from the service";
  auto client = connect("health-client");
  (void)client->request(std::string("svc.rpc.") + kService + ".v1.health", "{}", 5s);  // warm (inbox, route)
  const long rssBefore = peakRssKb();
  const auto monitorBefore = monitor.stats();
  const auto natsBefore = serviceNats->stats();

  std::atomic<bool> stop{false};
  std::uint64_t changes = 0;
  const auto from = Clock::now();
  std::thread flood([&] {
    while (!stop.load(std::memory_order_relaxed))
      monitor.setStatus(tcs::Status::Ok, "processed item " + std::to_string(++changes));
  });
  std::vector<double> healthMs;
  int healthFailures = 0;
  std::thread health([&] {
    const std::string subject = std::string("svc.rpc.") + kService + ".v1.health";
    auto next = Clock::now();
    while (!stop.load(std::memory_order_relaxed)) {
      next += kHealthEvery;
      std::this_thread::sleep_until(next);
      const auto t0 = Clock::now();
      try {
        (void)client->request(subject, "{}", 2s);
        healthMs.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      } catch (const tcs::NatsError&) {
        ++healthFailures;
      }
      if (Clock::now() > next + 200ms) next = Clock::now();  // fell behind: no burst to catch up
    }
  });
  std::this_thread::sleep_for(kWindow);
  const auto to = Clock::now();
  stop = true;
  flood.join();
  health.join();

  const double seconds = std::chrono::duration<double>(to - from).count();
  const auto monitorAfter = monitor.stats();
  const auto natsAfter = serviceNats->stats();
  const long rssAfter = peakRssKb();
  Clock::duration gap{};
  std::size_t seen = 0;
  {
    std::lock_guard lock(mutex);
    gap = maxGap(heartbeats, from, to);
    seen = static_cast<std::size_t>(
        std::count_if(heartbeats.begin(), heartbeats.end(), [&](Clock::time_point t) { return t > from && t < to; }));
  }
  const auto gapMs = std::chrono::duration_cast<std::chrono::milliseconds>(gap).count();
  const double rate = static_cast<double>(changes) / seconds;
  const auto statusPublished = monitorAfter.statusPublished - monitorBefore.statusPublished;
  const auto statusDropped = monitorAfter.statusDropped - monitorBefore.statusDropped;
  const auto persistentDropped = natsAfter.persistentDropped - natsBefore.persistentDropped;
  const double p50 = percentileMs(healthMs, 0.50), p99 = percentileMs(healthMs, 0.99),
               worst = percentileMs(healthMs, 1.0);
  std::printf(
      "[ flood   ] %.1f s: %llu setStatus calls (%.0f/s); monitor published %llu, dropped %llu; connection "
      "acked %llu, core %llu, dropped %llu\n",
      seconds, static_cast<unsigned long long>(changes), rate, static_cast<unsigned long long>(statusPublished),
      static_cast<unsigned long long>(statusDropped),
      static_cast<unsigned long long>(natsAfter.persistentAcked - natsBefore.persistentAcked),
      static_cast<unsigned long long>(natsAfter.persistentCore - natsBefore.persistentCore),
      static_cast<unsigned long long>(persistentDropped));
  std::printf(
      "[ flood   ] heartbeats seen %zu (every %lld ms), max gap %lld ms; v1.health %zu answered, %d failed: p50 "
      "%.2f ms, p99 %.2f ms, max %.2f ms; peak RSS %ld -> %ld kB\n",
      seen, static_cast<long long>(kHeartbeatInterval.count()), static_cast<long long>(gapMs), healthMs.size(),
      healthFailures, p50, p99, worst, rssBefore, rssAfter);
  RecordProperty("status_changes_per_s", std::to_string(static_cast<long long>(rate)));
  RecordProperty("status_published", std::to_string(statusPublished));
  RecordProperty("status_dropped_by_monitor", std::to_string(statusDropped));
  RecordProperty("persistent_dropped", std::to_string(persistentDropped));
  RecordProperty("heartbeats_seen", std::to_string(seen));
  RecordProperty("heartbeat_max_gap_ms", std::to_string(gapMs));
  RecordProperty("health_answered", std::to_string(healthMs.size()));
  RecordProperty("health_failed", std::to_string(healthFailures));
  RecordProperty("health_p50_ms", std::to_string(p50));
  RecordProperty("health_p99_ms", std::to_string(p99));
  RecordProperty("health_max_ms", std::to_string(worst));
  RecordProperty("peak_rss_delta_kb", std::to_string(rssAfter - rssBefore));

  // The functional requirements; the rest are figures.
  EXPECT_LE(gap, kHeartbeatInterval + 1s) << "a heartbeat came late or was lost";
  EXPECT_EQ(healthFailures, 0) << "v1.health went unanswered under the flood";
  EXPECT_GT(healthMs.size(), 0u);
}

}  // namespace
