// SPDX-License-Identifier: MIT
// The fleet of bench/tcsctl_bench.sh: stored messages of N services for tcsctl to read, and the
// heartbeats of a live fleet for tcsctl --follow (bench/README.md).
//
//   tcsctl_bench_fleet seed NATS_URL SERVICES LAUNCHERS
//   tcsctl_bench_fleet beat NATS_URL SERVICES LAUNCHERS INTERVAL_S
//   tcsctl_bench_fleet change NATS_URL SERVICES LAUNCHERS RATE_PER_S
//
// Services are `hello_world.b00000` …, spread round-robin over the launchers `launcher.host00` …
// (their parent). Every message is the protocol's (tcs::protocol::encode), as tcs-supervisor and
// a service's monitor publish it.
//
// seed: creates the streams svc_registry, svc_status and svc_heartbeat (as tcs-supervisor does:
//   file storage, limits) and stores, per service, a registry `declared` and `start` event, a
//   status message (ok) and a heartbeat; per launcher a status message and a heartbeat; all by
//   JetStream publishes whose acks are awaited. Then checks the streams' message counts and
//   prints `<messages> <bytes>`.
// beat: core-publishes the heartbeat of every service and launcher once per INTERVAL_S, spread
//   evenly (1,000 services every 10 s: 101 heartbeats/s), until SIGINT/SIGTERM; then prints
//   `<heartbeats> <cpu_seconds>`.
// change: core-publishes RATE status changes per second (bench/web_bench.sh), each to another
//   service (stride through the fleet), with the message `bench <epoch ms>` — a page showing it
//   can tell how long the change took to reach its DOM — until SIGINT/SIGTERM; prints `<changes>`.
#include <nats/nats.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "fleet_messages.hpp"
#include "tcs/protocol.hpp"

namespace {

namespace p = tcs::protocol;
using bench::heartbeat;
using bench::Member;
using bench::registry;
using bench::statusOf;

std::vector<Member> fleet(int services, int launchers) {
  std::vector<Member> out;
  char buf[64];
  for (int l = 0; l < launchers; ++l) {
    std::snprintf(buf, sizeof buf, "host%02d", l);
    out.push_back({p::launcherName(buf), "", buf});
  }
  for (int i = 0; i < services; ++i) {
    std::snprintf(buf, sizeof buf, "hello_world.b%05d", i);
    const auto& launcher = out[static_cast<std::size_t>(i % launchers)];
    out.push_back({buf, launcher.name, launcher.launcherId});
  }
  return out;
}

constexpr const char* kHost = "bench-host.example.org";
constexpr std::int64_t kPid = 4242;

void check(natsStatus st, const char* what) {
  if (st == NATS_OK) return;
  std::fprintf(stderr, "tcsctl_bench_fleet: %s: %s (%s)\n", what, natsStatus_GetText(st), nats_GetLastError(nullptr));
  std::exit(1);
}

int seed(natsConnection* nc, int services, int launchers) {
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.MaxPending = 2048;
  jo.Wait = 10000;
  jsCtx* js = nullptr;
  check(natsConnection_JetStream(&js, nc, &jo), "JetStream context");
  const char* streams[][2] = {
      {"svc_registry", "svc.registry.>"}, {"svc_status", "svc.status.>"}, {"svc_heartbeat", "svc.heartbeat.>"}};
  for (const auto& s : streams) {
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = s[0];
    const char* subjects[] = {s[1]};
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    jsStreamInfo* info = nullptr;
    jsErrCode code{};
    check(js_AddStream(&info, js, &cfg, nullptr, &code), "create stream");
    jsStreamInfo_Destroy(info);
  }
  p::MetaGenerator meta("tcsctl_bench_fleet");
  std::uint64_t bytes = 0;
  std::uint64_t messages = 0;
  const auto publish = [&](const std::string& subject, const std::string& body) {
    check(js_PublishAsync(js, subject.c_str(), body.data(), static_cast<int>(body.size()), nullptr), "publish");
    bytes += body.size();
    ++messages;
  };
  for (const auto& m : fleet(services, launchers)) {
    if (!m.parent.empty()) {
      publish(p::registrySubject("svc", p::RegistryEventType::Declared, m.name),
              registry(m, p::DeclaredEvent{"on-failure"}, meta));
      publish(p::registrySubject("svc", p::RegistryEventType::Start, m.name),
              registry(m, p::StartEvent{tcs::Status::Startup, kHost, kPid}, meta));
    }
    publish(p::statusSubject("svc", m.name), statusOf(m, meta));
    publish(p::heartbeatSubject("svc", m.name), heartbeat(m, 1, meta));
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 30000;
  check(js_PublishAsyncComplete(js, &po), "wait for the acks");
  natsMsgList failed{};
  if (js_PublishAsyncGetPendingList(&failed, js) == NATS_OK) {
    std::fprintf(stderr, "tcsctl_bench_fleet: %d publishes not acknowledged\n", failed.Count);
    natsMsgList_Destroy(&failed);
    return 1;
  }
  std::uint64_t stored = 0;
  for (const auto& s : streams) {
    jsStreamInfo* info = nullptr;
    jsErrCode code{};
    check(js_GetStreamInfo(&info, js, s[0], nullptr, &code), "stream info");
    stored += info->State.Msgs;
    jsStreamInfo_Destroy(info);
  }
  jsCtx_Destroy(js);
  if (stored != messages) {
    std::fprintf(stderr, "tcsctl_bench_fleet: %llu messages stored, %llu published\n",
                 static_cast<unsigned long long>(stored), static_cast<unsigned long long>(messages));
    return 1;
  }
  std::printf("%llu %llu\n", static_cast<unsigned long long>(messages), static_cast<unsigned long long>(bytes));
  return 0;
}

std::atomic<bool> stop{false};
extern "C" void onSignal(int) {
  stop = true;
}

int beat(natsConnection* nc, int services, int launchers, double intervalSeconds) {
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
  const auto members = fleet(services, launchers);
  std::vector<std::string> subjects;
  for (const auto& m : members) subjects.push_back(p::heartbeatSubject("svc", m.name));
  p::MetaGenerator meta("tcsctl_bench_fleet");
  const auto step = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(intervalSeconds / static_cast<double>(members.size())));
  auto next = std::chrono::steady_clock::now();
  std::uint64_t sent = 0;
  std::uint64_t sequence = 1;
  while (!stop) {
    const auto i = static_cast<std::size_t>(sent % members.size());
    if (i == 0) ++sequence;
    const auto body = heartbeat(members[i], sequence, meta);
    check(natsConnection_Publish(nc, subjects[i].c_str(), body.data(), static_cast<int>(body.size())), "publish");
    ++sent;
    next += step;
    std::this_thread::sleep_until(next);
  }
  (void)natsConnection_FlushTimeout(nc, 2000);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
  std::printf("%llu %.3f\n", static_cast<unsigned long long>(sent), cpu);
  return 0;
}

int change(natsConnection* nc, int services, int launchers, double rate) {
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
  const auto members = fleet(services, launchers);
  p::MetaGenerator meta("tcsctl_bench_fleet");
  const auto step =
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(1.0 / rate));
  auto next = std::chrono::steady_clock::now();
  std::uint64_t sent = 0;
  while (!stop) {
    // Services only (launchers come first in the list), 7919 apart: consecutive changes hit
    // rows far from each other.
    const auto& m = members[static_cast<std::size_t>(launchers) +
                            static_cast<std::size_t>((sent * 7919) % static_cast<std::uint64_t>(services))];
    p::StatusUpdate st;
    st.name = m.name;
    st.status = tcs::Status::Ok;
    st.timestamp = p::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(st.timestamp.time_since_epoch()).count();
    st.message = "bench " + std::to_string(ms);
    st.parent = m.parent;
    st.pid = kPid;
    st.hostname = kHost;
    const auto body = p::encode(st, meta.next());
    const auto subject = p::statusSubject("svc", m.name);
    check(natsConnection_Publish(nc, subject.c_str(), body.data(), static_cast<int>(body.size())), "publish");
    check(natsConnection_Flush(nc), "flush");
    ++sent;
    next += step;
    std::this_thread::sleep_until(next);
  }
  std::printf("%llu\n", static_cast<unsigned long long>(sent));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (!((mode == "seed" && argc == 5) || ((mode == "beat" || mode == "change") && argc == 6))) {
    std::fprintf(stderr,
                 "usage: tcsctl_bench_fleet seed NATS_URL SERVICES LAUNCHERS\n"
                 "       tcsctl_bench_fleet beat NATS_URL SERVICES LAUNCHERS INTERVAL_S\n"
                 "       tcsctl_bench_fleet change NATS_URL SERVICES LAUNCHERS RATE_PER_S\n");
    return 2;
  }
  const int services = std::atoi(argv[3]);
  const int launchers = std::atoi(argv[4]);
  if (services < 1 || launchers < 1) {
    std::fprintf(stderr, "tcsctl_bench_fleet: SERVICES and LAUNCHERS must be positive\n");
    return 2;
  }
  natsConnection* nc = nullptr;
  check(natsConnection_ConnectTo(&nc, argv[2]), "connect");
  const int rc = mode == "seed"   ? seed(nc, services, launchers)
                 : mode == "beat" ? beat(nc, services, launchers, std::atof(argv[5]))
                                  : change(nc, services, launchers, std::atof(argv[5]));
  natsConnection_Destroy(nc);
  nats_Close();
  return rc;
}
