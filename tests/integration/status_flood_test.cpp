// SPDX-License-Identifier: MIT
// Issue 17, load: a service flooding status changes keeps its heartbeat cadence and answers
// v1.health. A real nats-server (JetStream, the protocol's status and heartbeat streams) on a
// free loopback port; a real tcs::Monitor (heartbeat every 500 ms) whose status a thread changes
// for 8 s — as fast as it can, or paced at a fixed rate (10,000/s, the figure, and
// 100,000/s) on a steady_clock schedule — while a separate core subscriber times the heartbeats
// and a client calls `svc.rpc.<name>.v1.health` every 20 ms. Asserted: the functional
// bound (no heartbeat gap over the interval + 1 s) and that every health call was answered. The
// figures (status rate, health p50/p99/max, drops, peak RSS, CPU per thread, load average) are
// printed and recorded as test properties; bench/README.md "Status flood (issue 17)" has runs'
// numbers. No timing bound on p99.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
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

/// A "Key:  <n> kB" line of /proc/self/status, in kB; 0 when unreadable.
long statusKb(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::stol(line.substr(std::string(key).size()));
  return 0;
}

/// Resets VmHWM to the current RSS (Linux >= 4.0), so that each run's peak is its own.
void resetPeakRss() {
  std::ofstream("/proc/self/clear_refs") << "5";
}

/// The first field of /proc/loadavg.
std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one;
}

/// CPU time (utime + stime, clock ticks) per thread name of a process, threads of the same name summed.
std::map<std::string, long> cpuTicksByThread(const std::filesystem::path& proc) {
  std::map<std::string, long> ticks;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(proc / "task", ec)) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    const std::string name = stat.substr(open + 1, close - open - 1);
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {  // fields 14 and 15: utime, stime
      if (i == 14) utime = std::stol(field);
      if (i == 15) stime = std::stol(field);
    }
    ticks[name] += utime + stime;
  }
  return ticks;
}

/// "name 0.93, other 0.41" — CPUs used per thread name over @p seconds, the busiest first.
std::string cpuShares(const std::map<std::string, long>& before, const std::map<std::string, long>& after,
                      double seconds, double& total) {
  const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::vector<std::pair<double, std::string>> used;
  total = 0;
  for (const auto& [name, t] : after) {
    const auto it = before.find(name);
    const double cpus = static_cast<double>(t - (it == before.end() ? 0 : it->second)) / hz / seconds;
    total += cpus;
    if (cpus >= 0.01) used.emplace_back(cpus, name);
  }
  std::sort(used.rbegin(), used.rend());
  std::string out;
  for (const auto& [cpus, name] : used)
    out += (out.empty() ? "" : ", ") + name + " " + std::to_string(cpus).substr(0, 4);
  return out;
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

  /// Floods for kWindow at @p ratePerSecond status changes (0: as fast as one thread can), prints
  /// and records the figures, and checks the functional requirements.
  void flood(double ratePerSecond);

  TempDir dir_;
  std::unique_ptr<NatsServer> server_;
};

void AStatusFlood::flood(double ratePerSecond) {
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
  resetPeakRss();
  const long rssBefore = statusKb("VmHWM:");
  const auto monitorBefore = monitor.stats();
  const auto natsBefore = serviceNats->stats();
  const std::string loadBefore = loadAverage();
  const std::filesystem::path serverProc = "/proc/" + std::to_string(server_->pid());
  const auto cpuBefore = cpuTicksByThread("/proc/self");
  const auto serverCpuBefore = cpuTicksByThread(serverProc);

  std::atomic<bool> stop{false};
  std::uint64_t changes = 0;
  const auto from = Clock::now();
  std::thread flooder([&] {
    ::pthread_setname_np(::pthread_self(), "flood");
    while (!stop.load(std::memory_order_relaxed)) {
      if (ratePerSecond > 0) {
        // A schedule, not a sleep per change: change n is due at from + n / rate; a thread that
        // fell behind catches up at once, so the average rate holds.
        const auto dueAt = from + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(static_cast<double>(changes) / ratePerSecond));
        if (dueAt > Clock::now()) {
          std::this_thread::sleep_until(dueAt);
          continue;
        }
      }
      monitor.setStatus(tcs::Status::Ok, "processed item " + std::to_string(++changes));
    }
  });
  std::vector<double> healthMs;
  int healthFailures = 0;
  std::thread health([&] {
    ::pthread_setname_np(::pthread_self(), "health-client");
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
  const auto cpuAfter = cpuTicksByThread("/proc/self");
  const auto serverCpuAfter = cpuTicksByThread(serverProc);
  const std::string loadAfter = loadAverage();
  stop = true;
  flooder.join();
  health.join();

  const double seconds = std::chrono::duration<double>(to - from).count();
  const auto monitorAfter = monitor.stats();
  const auto natsAfter = serviceNats->stats();
  const long rssAfter = statusKb("VmHWM:");
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
  const auto persistentAcked = natsAfter.persistentAcked - natsBefore.persistentAcked;
  const auto persistentDropped = natsAfter.persistentDropped - natsBefore.persistentDropped;
  const double p50 = percentileMs(healthMs, 0.50), p99 = percentileMs(healthMs, 0.99),
               worst = percentileMs(healthMs, 1.0);
  double testCpus = 0, serverCpus = 0;
  const std::string testThreads = cpuShares(cpuBefore, cpuAfter, seconds, testCpus);
  const std::string serverThreads = cpuShares(serverCpuBefore, serverCpuAfter, seconds, serverCpus);
  std::printf(
      "[ flood   ] pace %s; load average %s -> %s\n",
      ratePerSecond > 0 ? (std::to_string(static_cast<long long>(ratePerSecond)) + "/s").c_str() : "unthrottled",
      loadBefore.c_str(), loadAfter.c_str());
  std::printf(
      "[ flood   ] %.1f s: %llu setStatus calls (%.0f/s); monitor published %llu, dropped %llu; connection "
      "acked %llu, core %llu, dropped %llu\n",
      seconds, static_cast<unsigned long long>(changes), rate, static_cast<unsigned long long>(statusPublished),
      static_cast<unsigned long long>(statusDropped), static_cast<unsigned long long>(persistentAcked),
      static_cast<unsigned long long>(natsAfter.persistentCore - natsBefore.persistentCore),
      static_cast<unsigned long long>(persistentDropped));
  std::printf(
      "[ flood   ] heartbeats seen %zu (every %lld ms), max gap %lld ms; v1.health %zu answered, %d failed: p50 "
      "%.2f ms, p99 %.2f ms, max %.2f ms; peak RSS %ld -> %ld kB\n",
      seen, static_cast<long long>(kHeartbeatInterval.count()), static_cast<long long>(gapMs), healthMs.size(),
      healthFailures, p50, p99, worst, rssBefore, rssAfter);
  std::printf("[ flood   ] CPUs used: test process %.2f (%s); nats-server %.2f (%s)\n", testCpus, testThreads.c_str(),
              serverCpus, serverThreads.c_str());
  RecordProperty("status_rate_target_per_s", std::to_string(static_cast<long long>(ratePerSecond)));
  RecordProperty("status_changes_per_s", std::to_string(static_cast<long long>(rate)));
  RecordProperty("status_published", std::to_string(statusPublished));
  RecordProperty("status_dropped_by_monitor", std::to_string(statusDropped));
  RecordProperty("persistent_acked", std::to_string(persistentAcked));
  RecordProperty("persistent_dropped", std::to_string(persistentDropped));
  RecordProperty("heartbeats_seen", std::to_string(seen));
  RecordProperty("heartbeat_max_gap_ms", std::to_string(gapMs));
  RecordProperty("health_answered", std::to_string(healthMs.size()));
  RecordProperty("health_failed", std::to_string(healthFailures));
  RecordProperty("health_p50_ms", std::to_string(p50));
  RecordProperty("health_p99_ms", std::to_string(p99));
  RecordProperty("health_max_ms", std::to_string(worst));
  RecordProperty("peak_rss_delta_kb", std::to_string(rssAfter - rssBefore));
  RecordProperty("cpus_test_process", std::to_string(testCpus));
  RecordProperty("cpus_nats_server", std::to_string(serverCpus));
  RecordProperty("load_average_before", loadBefore);

  // The functional requirements; the rest are figures.
  EXPECT_LE(gap, kHeartbeatInterval + 1s) << "a heartbeat came late or was lost";
  EXPECT_EQ(healthFailures, 0) << "v1.health went unanswered under the flood";
  EXPECT_GT(healthMs.size(), 0u);
}

TEST_F(AStatusFlood, KeepsTheHeartbeatCadenceAndAnswersHealth) {
  flood(0);  // as fast as one thread can: over a million changes a second
}

TEST_F(AStatusFlood, KeepsTheHeartbeatCadenceAndAnswersHealthAtTenThousandChangesASecond) {
  flood(10'000);  // the rate
}

TEST_F(AStatusFlood, KeepsTheHeartbeatCadenceAndAnswersHealthAtAHundredThousandChangesASecond) {
  flood(100'000);
}

}  // namespace
