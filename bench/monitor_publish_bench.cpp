// SPDX-License-Identifier: MIT
// Publish overhead of the monitoring API vs raw nats.c, in the same run (bench/README.md).
//
//   monitor_publish_bench NATS_URL [MESSAGES] [ROUNDS]
//
// Each round measures, one after the other on the same server:
//   raw      natsConnection_Publish() of pre-encoded status messages (the same bytes the
//            monitor sends) on a plain nats.c connection with the options libtcs uses
//            (SendAsap), MESSAGES times;
//   monitor  MESSAGES status changes through tcs::Monitor::setStatus() (every call a change:
//            the message alternates), i.e. snapshot + JSON encoding + publishPersistent, on a
//            tcs::NatsConnection.
// Rate = messages received by an independent subscriber / time from the first call to the
// last message received (so queued-but-unsent work is not counted as done). Prints per-round
// figures, the medians, and the ratio monitor/raw (target >= 0.8).
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "tcs/monitor.hpp"
#include "tcs/nats.hpp"
#include "tcs/protocol.hpp"

namespace {
using Clock = std::chrono::steady_clock;

struct Counter {
  std::atomic<std::uint64_t> n{0};
  std::atomic<Clock::rep> last{0};
};

void onMsg(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* c = static_cast<Counter*>(closure);
  c->last = Clock::now().time_since_epoch().count();
  ++c->n;
  natsMsg_Destroy(msg);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Waits until @p target messages arrived or nothing arrived for 2 s; returns the rate.
double rateOf(Counter& c, std::uint64_t target, Clock::time_point start, std::uint64_t& received) {
  auto lastSeen = c.n.load();
  auto lastChange = Clock::now();
  while (c.n.load() < target) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (c.n.load() != lastSeen) {
      lastSeen = c.n.load();
      lastChange = Clock::now();
    } else if (Clock::now() - lastChange > std::chrono::seconds(2)) {
      break;
    }
  }
  received = c.n.load();
  const auto end = Clock::time_point(Clock::duration(c.last.load()));
  return static_cast<double>(received) / std::chrono::duration<double>(end - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s NATS_URL [MESSAGES] [ROUNDS]\n", argv[0]);
    return 2;
  }
  const std::string url = argv[1];
  const std::uint64_t messages = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 50000;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 5;
  const std::string subject = "svc.status.bench.publish";

  // The independent subscriber.
  natsConnection* subConn = nullptr;
  if (natsConnection_ConnectTo(&subConn, url.c_str()) != NATS_OK) {
    std::fprintf(stderr, "cannot connect to %s\n", url.c_str());
    return 1;
  }
  Counter counter;
  natsSubscription* sub = nullptr;
  natsConnection_Subscribe(&sub, subConn, subject.c_str(), onMsg, &counter);
  natsSubscription_SetPendingLimits(sub, -1, -1);
  natsConnection_Flush(subConn);

  // Raw nats.c publisher, libtcs's connection options.
  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  natsOptions_SetURL(opts, url.c_str());
  natsOptions_SetSendAsap(opts, true);
  natsConnection* raw = nullptr;
  if (natsConnection_Connect(&raw, opts) != NATS_OK) return 1;

  // The monitoring API on a tcs connection sized for the burst.
  tcs::config::NatsConfig config;
  config.present = true;
  config.servers = {url};
  tcs::NatsOptions no;
  no.name = "bench";
  no.persistentQueueCapacity = messages + 16;
  tcs::NatsConnection nats(config, no);
  tcs::MonitorOptions mo;
  mo.name = "bench.publish";
  mo.queueCapacity = messages + 16;
  tcs::Monitor monitor(mo, &nats);

  // The bytes the monitor sends, for the raw publisher.
  monitor.setStatus(tcs::Status::Ok, "warm-up");
  const std::string body = tcs::protocol::encode(monitor.statusUpdate(), tcs::protocol::processMetaGenerator().next());
  // Warm-up: the first persistent publish per subject finds out whether a stream captures it.
  for (int i = 0; i < 100; ++i) monitor.setStatus(tcs::Status::Ok, i % 2 ? "a" : "b");
  monitor.flush(std::chrono::seconds(5));
  nats.flush(std::chrono::seconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  std::printf("monitor publish bench: %llu status messages of %zu bytes per run, %d rounds, server %s\n",
              static_cast<unsigned long long>(messages), body.size(), rounds, url.c_str());
  std::vector<double> rawRates, monRates, callSeconds;
  for (int r = 1; r <= rounds; ++r) {
    std::uint64_t got = 0;
    counter.n = 0;
    auto t0 = Clock::now();
    for (std::uint64_t i = 0; i < messages; ++i)
      natsConnection_Publish(raw, subject.c_str(), body.data(), static_cast<int>(body.size()));
    const double rawRate = rateOf(counter, messages, t0, got);
    const auto rawGot = got;

    counter.n = 0;
    t0 = Clock::now();
    for (std::uint64_t i = 0; i < messages; ++i) monitor.setStatus(tcs::Status::Ok, i % 2 ? "Cycle odd" : "Cycle even");
    callSeconds.push_back(std::chrono::duration<double>(Clock::now() - t0).count() / static_cast<double>(messages));
    const double monRate = rateOf(counter, messages, t0, got);
    std::printf("round %d: raw %.0f msg/s (%llu received), monitor %.0f msg/s (%llu received), ratio %.2f\n", r,
                rawRate, static_cast<unsigned long long>(rawGot), monRate, static_cast<unsigned long long>(got),
                monRate / rawRate);
    rawRates.push_back(rawRate);
    monRates.push_back(monRate);
  }
  const double ratio = median(monRates) / median(rawRates);
  std::printf("median: raw %.0f msg/s, monitor %.0f msg/s, ratio %.2f (target >= 0.80): %s\n", median(rawRates),
              median(monRates), ratio, ratio >= 0.8 ? "PASS" : "FAIL");
  std::printf(
      "setStatus() itself: median %.2f us per call (the caller's cost; publishing runs on the monitor's thread)\n",
      median(callSeconds) * 1e6);
  const auto s = monitor.stats();
  std::printf("monitor counters: %llu changes, %llu published, %llu dropped\n",
              static_cast<unsigned long long>(s.statusChanges), static_cast<unsigned long long>(s.statusPublished),
              static_cast<unsigned long long>(s.statusDropped));
  natsConnection_Destroy(raw);
  natsOptions_Destroy(opts);
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(subConn);
  return 0;
}
