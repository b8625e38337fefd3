// SPDX-License-Identifier: MIT
// Publish overhead of the monitoring API vs raw nats.c, in the same run (bench/README.md).
//
//   monitor_publish_bench NATS_URL [MESSAGES] [ROUNDS]
//
// Each round measures, one after the other on the same server:
//   raw      natsConnection_Publish() of pre-encoded status messages (the same bytes the
//            monitor sends) on a plain nats.c connection with the options libtcs uses
//            (SendAsap off: nats.c's flusher batches writes), MESSAGES times;
//   monitor  MESSAGES status changes through tcs::Monitor::setStatus() (every call a change:
//            the message alternates), i.e. snapshot + JSON encoding + publishPersistent, on a
//            tcs::NatsConnection.
// Rate = messages received by an independent subscriber / time from the first call to the
// last message received (so queued-but-unsent work is not counted as done). Prints per-round
// figures, the medians, and the ratio monitor/raw (target >= 0.8).
// BENCH_SEND_ASAP=1 turns SendAsap on for both sides (every publish its own send()), the
// setting libtcs used before; for comparison.
#include <nats/nats.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
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

// CPU seconds of @p clock (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID).
double cpuNow(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// CPU seconds (user + system) of another process, from /proc/<pid>/stat; 0 when unknown.
double processCpu(long pid) {
  if (pid <= 0) return 0;
  std::FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (f == nullptr) return 0;
  char buf[1024] = {};
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  const char* p = std::strrchr(buf, ')');
  if (n == 0 || p == nullptr) return 0;
  unsigned long utime = 0, stime = 0;
  // after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) return 0;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU seconds of this process's thread named @p name (/proc/self/task/*/comm, schedstat); 0 if none.
double threadCpu(const std::string& name) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(entry.path() / "comm");
    std::string n;
    std::getline(comm, n);
    if (n != name) continue;
    std::ifstream schedstat(entry.path() / "schedstat");
    double ns = 0;
    schedstat >> ns;
    return ns * 1e-9;
  }
  return 0;
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

  // Raw nats.c publisher, libtcs's connection options (tcs::NatsOptions::sendAsap).
  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  natsOptions_SetURL(opts, url.c_str());
  const char* sendAsapEnv = std::getenv("BENCH_SEND_ASAP");
  const bool sendAsap = sendAsapEnv ? std::atoi(sendAsapEnv) != 0 : tcs::NatsOptions{}.sendAsap;
  natsOptions_SetSendAsap(opts, sendAsap);
  natsConnection* raw = nullptr;
  if (natsConnection_Connect(&raw, opts) != NATS_OK) return 1;

  // The monitoring API on a tcs connection sized for the burst.
  tcs::config::NatsConfig config;
  config.present = true;
  config.servers = {url};
  tcs::NatsOptions no;
  no.name = "bench";
  no.persistentQueueCapacity = messages + 16;
  no.sendAsap = sendAsap;
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

  std::printf("monitor publish bench: %llu status messages of %zu bytes per run, %d rounds, server %s, SendAsap %s\n",
              static_cast<unsigned long long>(messages), body.size(), rounds, url.c_str(), sendAsap ? "on" : "off");
  // CPU per message of each phase: the publishing side (this process minus the subscriber is
  // not separable, so the caller's own thread is shown apart) and the server, when its pid is known.
  const long serverPid = std::getenv("BENCH_SERVER_PID") ? std::atol(std::getenv("BENCH_SERVER_PID")) : 0;
  const double n = static_cast<double>(messages);
  std::vector<double> rawRates, monRates, callSeconds, rawCpu, monCpu, rawCaller, monCaller, rawServer, monServer,
      monThread;
  for (int r = 1; r <= rounds; ++r) {
    std::uint64_t got = 0;
    counter.n = 0;
    double p0 = cpuNow(CLOCK_PROCESS_CPUTIME_ID), c0 = cpuNow(CLOCK_THREAD_CPUTIME_ID), s0 = processCpu(serverPid);
    auto t0 = Clock::now();
    for (std::uint64_t i = 0; i < messages; ++i)
      natsConnection_Publish(raw, subject.c_str(), body.data(), static_cast<int>(body.size()));
    rawCaller.push_back((cpuNow(CLOCK_THREAD_CPUTIME_ID) - c0) / n);
    const double rawRate = rateOf(counter, messages, t0, got);
    rawCpu.push_back((cpuNow(CLOCK_PROCESS_CPUTIME_ID) - p0) / n);
    rawServer.push_back((processCpu(serverPid) - s0) / n);
    const auto rawGot = got;

    counter.n = 0;
    p0 = cpuNow(CLOCK_PROCESS_CPUTIME_ID), c0 = cpuNow(CLOCK_THREAD_CPUTIME_ID), s0 = processCpu(serverPid);
    const double m0 = threadCpu("tcs-monitor");
    t0 = Clock::now();
    for (std::uint64_t i = 0; i < messages; ++i) monitor.setStatus(tcs::Status::Ok, i % 2 ? "Cycle odd" : "Cycle even");
    callSeconds.push_back(std::chrono::duration<double>(Clock::now() - t0).count() / n);
    monCaller.push_back((cpuNow(CLOCK_THREAD_CPUTIME_ID) - c0) / n);
    const double monRate = rateOf(counter, messages, t0, got);
    monCpu.push_back((cpuNow(CLOCK_PROCESS_CPUTIME_ID) - p0) / n);
    monServer.push_back((processCpu(serverPid) - s0) / n);
    monThread.push_back((threadCpu("tcs-monitor") - m0) / n);
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
  std::printf(
      "CPU per message, medians: raw: publishing thread %.2f us, bench process (publisher + subscriber) %.2f us, "
      "server %.2f us; monitor: setStatus() caller %.2f us, bench process (caller + monitor thread + subscriber) "
      "%.2f us, server %.2f us%s\n",
      median(rawCaller) * 1e6, median(rawCpu) * 1e6, median(rawServer) * 1e6, median(monCaller) * 1e6,
      median(monCpu) * 1e6, median(monServer) * 1e6, serverPid > 0 ? "" : " (server: BENCH_SERVER_PID not set)");
  std::printf("monitor thread (tcs-monitor: encoding + publishing): median %.2f us of CPU per message\n",
              median(monThread) * 1e6);
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
