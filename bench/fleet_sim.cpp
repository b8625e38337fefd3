// SPDX-License-Identifier: MIT
// A simulated fleet for bench/fleet_bench.sh (issue 15): H hosts × S services publishing
// upstream-shaped status, heartbeat and registry traffic (bench/fleet_messages.hpp, libtcs's
// encoders) into a NATS cluster by JetStream publishes whose acks are awaited and timed.
//
//   fleet_sim streams [--servers URLS] [--prefix P] [--replicas R] [--deadline S]
//   fleet_sim run [--servers URLS] [--prefix P] [--hosts H] [--services S] [--interval S]
//                 [--churn PCT] [--crash-share F] [--warmup S] [--duration S] [--max-pending N]
//                 [--seed N]
//
// streams: deletes svc_registry, svc_status and svc_heartbeat if they exist and creates them with
//   R replicas (default 3) and the limits of doc/protocol.md (file storage, discard old; registry
//   10 MiB and 100 messages per subject; status 30 days, 500 MiB; heartbeat 1 day, 100 MiB).
//   Retries until the cluster has a JetStream leader, for at most --deadline s (30).
// run: per host `hostNN` a launcher `launcher.hostNN-systemd-launcher` and S services
//   `sim_svc.hNNsNNNN` (parent: the launcher), with one NATS connection per host (the server
//   list rotated per host, so the hosts spread over the nodes). First a start-up burst: per host
//   the launcher's status and heartbeat; per service `declared`, `start`, status `startup`,
//   `ready`, status `ok` and a heartbeat (all acks awaited). Then, until --duration s (0: until
//   SIGINT/SIGTERM): every member heartbeats every --interval s (10) at a random phase; churn:
//   --churn % (3) of the services per minute change status (Poisson), of which --crash-share
//   (0.2) crash: `crashed` (error, -9, will_restart) → 0.1 s `restarting` + `start` (new pid) →
//   status `startup` → 0.4 s `ready` + status `ok`; the others go `degraded`/`warning`/`busy`
//   with a message and back to `ok` after 10–120 s. At most --max-pending (1024) unacknowledged
//   publishes per host; ack wait 5 s.
//
// Output (stdout, `key value` lines): `burst` (messages, seconds), then `steady` when the warm-up
// (--warmup s, 5) is over and the measuring window starts, and at the end the window's figures:
// nominal rate, messages sent/acked/failed, rate, ack latency percentiles, how far the schedule
// fell behind, the simulator's CPU, and each stream's messages and bytes at the window's start
// and end.
#include <nats/nats.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <queue>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "fleet_messages.hpp"
#include "tcs/protocol.hpp"

namespace {

namespace p = tcs::protocol;
using bench::Member;
using Clock = std::chrono::steady_clock;

struct Options {
  std::vector<std::string> servers{"nats://127.0.0.1:4222"};
  std::string prefix = "svc";
  int replicas = 3;
  double deadline = 30;
  int hosts = 20;
  int services = 100;  ///< per host
  double interval = 10;
  double churn = 3;  ///< % of the services per minute
  double crashShare = 0.2;
  double warmup = 5;
  double duration = 0;
  int maxPending = 1024;
  unsigned seed = 1;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "fleet_sim: %s\nusage: fleet_sim streams|run [options] (see bench/fleet_sim.cpp)\n", why);
  std::exit(2);
}

void check(natsStatus st, const char* what) {
  if (st == NATS_OK) return;
  std::fprintf(stderr, "fleet_sim: %s: %s (%s)\n", what, natsStatus_GetText(st), nats_GetLastError(nullptr));
  std::exit(1);
}

std::atomic<bool> stop{false};
extern "C" void onSignal(int) {
  stop = true;
}

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

double cpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

natsConnection* connect(const Options& o, std::size_t rotate) {
  std::vector<const char*> urls;
  for (std::size_t i = 0; i < o.servers.size(); ++i) urls.push_back(o.servers[(i + rotate) % o.servers.size()].c_str());
  natsOptions* opts = nullptr;
  check(natsOptions_Create(&opts), "options");
  check(natsOptions_SetServers(opts, urls.data(), static_cast<int>(urls.size())), "servers");
  check(natsOptions_SetNoRandomize(opts, true), "servers");
  check(natsOptions_SetMaxReconnect(opts, -1), "reconnect");
  check(natsOptions_SetReconnectBufSize(opts, 8 << 20), "reconnect buffer");
  natsConnection* nc = nullptr;
  check(natsConnection_Connect(&nc, opts), "connect");
  natsOptions_Destroy(opts);
  return nc;
}

struct StreamDef {
  const char* name;
  p::SubjectKind kind;
  std::int64_t maxAgeSeconds;
  std::int64_t maxBytes;
  std::int64_t maxMsgsPerSubject;
};
constexpr StreamDef kStreams[] = {
    {"svc_registry", p::SubjectKind::Registry, 0, std::int64_t{256} << 20, 100},
    {"svc_status", p::SubjectKind::Status, 30LL * 86400, std::int64_t{500} << 20, -1},
    {"svc_heartbeat", p::SubjectKind::Heartbeat, 86400, std::int64_t{100} << 20, -1},
};

int streams(const Options& o) {
  natsConnection* nc = connect(o, 0);
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 5000;
  jsCtx* js = nullptr;
  check(natsConnection_JetStream(&js, nc, &jo), "JetStream context");
  const auto until =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.deadline));
  for (const auto& s : kStreams) {
    const auto filter = p::subjectFilter(o.prefix, s.kind);
    for (;;) {
      jsErrCode code{};
      natsStatus st = js_DeleteStream(js, s.name, nullptr, &code);
      if (st == NATS_OK || st == NATS_NOT_FOUND || code == JSStreamNotFoundErr) {
        jsStreamConfig cfg;
        jsStreamConfig_Init(&cfg);
        cfg.Name = s.name;
        const char* subjects[] = {filter.c_str()};
        cfg.Subjects = subjects;
        cfg.SubjectsLen = 1;
        cfg.Storage = js_FileStorage;
        cfg.Discard = js_DiscardOld;
        cfg.Retention = js_LimitsPolicy;
        cfg.MaxAge = s.maxAgeSeconds * 1000LL * 1000 * 1000;
        cfg.MaxBytes = s.maxBytes;
        cfg.MaxMsgsPerSubject = s.maxMsgsPerSubject;
        cfg.Replicas = o.replicas;
        jsStreamInfo* info = nullptr;
        st = js_AddStream(&info, js, &cfg, nullptr, &code);
        if (st == NATS_OK) {
          std::printf("stream %s replicas %d\n", s.name, static_cast<int>(info->Config->Replicas));
          jsStreamInfo_Destroy(info);
          break;
        }
      }
      if (Clock::now() > until) {
        std::fprintf(stderr, "fleet_sim: stream %s: %s (code %d, %s)\n", s.name, natsStatus_GetText(st),
                     static_cast<int>(code), nats_GetLastError(nullptr));
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return 0;
}

class Sim;
void onAck(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure);

struct Host {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
};

struct State {
  tcs::Status status = tcs::Status::Ok;
  std::uint64_t sequence = 0;
  int restarts = 0;
  bool busy = false;  ///< in a crash sequence or a churned status
};

enum class Kind { Beat, Churn, Recover, Crash1, Crash2, Crash3 };
struct Event {
  Clock::time_point at;
  Kind kind;
  std::size_t member;
  bool operator>(const Event& other) const { return at > other.at; }
};

class Sim {
 public:
  explicit Sim(Options o) : o_(std::move(o)), rng_(o_.seed), meta_("fleet_sim") {
    char buf[64];
    for (int h = 0; h < o_.hosts; ++h) {
      std::snprintf(buf, sizeof buf, "host%02d", h);
      const std::string hostname = std::string(buf) + ".sim.example.org";
      std::snprintf(buf, sizeof buf, "host%02d-systemd-launcher", h);
      members_.push_back({p::launcherName(buf), "", buf, hostname, 1000 + h});
      memberHost_.push_back(static_cast<std::size_t>(h));
    }
    for (int h = 0; h < o_.hosts; ++h) {
      for (int s = 0; s < o_.services; ++s) {
        std::snprintf(buf, sizeof buf, "sim_svc.h%02ds%04d", h, s);
        const auto& launcher = members_[static_cast<std::size_t>(h)];
        members_.push_back({buf, launcher.name, launcher.launcherId, launcher.hostname, 10000 + s});
        memberHost_.push_back(static_cast<std::size_t>(h));
      }
    }
    state_.resize(members_.size());
    for (const auto& m : members_) {
      subjects_.push_back({p::statusSubject(o_.prefix, m.name), p::heartbeatSubject(o_.prefix, m.name)});
    }
    hosts_.resize(static_cast<std::size_t>(o_.hosts));
    for (std::size_t h = 0; h < hosts_.size(); ++h) {
      hosts_[h].nc = connect(o_, h);
      jsOptions jo;
      jsOptions_Init(&jo);
      jo.Wait = 5000;
      jo.PublishAsync.MaxPending = o_.maxPending;
      jo.PublishAsync.AckHandler = onAck;
      jo.PublishAsync.AckHandlerClosure = this;
      jo.PublishAsync.StallWait = 5000;
      check(natsConnection_JetStream(&hosts_[h].js, hosts_[h].nc, &jo), "JetStream context");
    }
  }
  ~Sim() {
    for (auto& h : hosts_) {
      jsCtx_Destroy(h.js);
      natsConnection_Destroy(h.nc);
    }
  }
  Sim(const Sim&) = delete;
  Sim& operator=(const Sim&) = delete;

  int run();
  void acked(natsMsg* msg, bool ok, const char* error);

 private:
  std::size_t launchers() const { return static_cast<std::size_t>(o_.hosts); }
  void publish(std::size_t member, const std::string& subject, const std::string& body);
  void status(std::size_t i, tcs::Status st, std::string message = {}) {
    state_[i].status = st;
    publish(i, subjects_[i].first, bench::statusOf(members_[i], meta_, st, std::move(message)));
  }
  void beat(std::size_t i) {
    publish(i, subjects_[i].second,
            bench::heartbeat(members_[i], ++state_[i].sequence, meta_, state_[i].status, interval()));
  }
  void event(std::size_t i, p::RegistryEventType type, p::RegistryEvent::Specific specific) {
    publish(i, p::registrySubject(o_.prefix, type, members_[i].name),
            bench::registry(members_[i], std::move(specific), meta_));
  }
  std::chrono::microseconds interval() const {
    return std::chrono::microseconds(static_cast<std::int64_t>(o_.interval * 1e6));
  }
  Clock::duration after(double s) const {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  }
  void handle(const Event& e);
  void waitForAcks(double timeoutSeconds);
  void printStreams(const char* label);

  Options o_;
  std::mt19937_64 rng_;
  p::MetaGenerator meta_;
  std::vector<Member> members_;
  std::vector<std::size_t> memberHost_;
  std::vector<std::pair<std::string, std::string>> subjects_;  ///< status, heartbeat
  std::vector<State> state_;
  std::vector<Host> hosts_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;

  std::mutex mutex_;  ///< guards what the ack handlers touch
  std::unordered_map<natsMsg*, Clock::time_point> inflight_;
  std::vector<float> latenciesMs_;
  bool measuring_ = false;
  std::uint64_t sent_ = 0, acked_ = 0, failed_ = 0, stalled_ = 0;
  std::size_t maxInflight_ = 0;
  std::string firstError_;
  std::uint64_t churnStatus_ = 0, churnCrash_ = 0;
};

void onAck(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
  static_cast<Sim*>(closure)->acked(msg, pa != nullptr,
                                    pae && pae->ErrText ? pae->ErrText : natsStatus_GetText(pae ? pae->Err : NATS_OK));
  natsMsg_Destroy(msg);
}

void Sim::acked(natsMsg* msg, bool ok, const char* error) {
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  const auto it = inflight_.find(msg);
  if (it != inflight_.end()) {
    if (measuring_) latenciesMs_.push_back(static_cast<float>(seconds(now - it->second) * 1e3));
    inflight_.erase(it);
  }
  if (ok) {
    ++acked_;
  } else {
    ++failed_;
    if (firstError_.empty()) firstError_ = error;
  }
}

void Sim::publish(std::size_t member, const std::string& subject, const std::string& body) {
  natsMsg* msg = nullptr;
  check(natsMsg_Create(&msg, subject.c_str(), nullptr, body.data(), static_cast<int>(body.size())), "message");
  natsMsg* key = msg;
  {
    std::lock_guard lock(mutex_);
    inflight_.emplace(key, Clock::now());
    maxInflight_ = std::max(maxInflight_, inflight_.size());
    ++sent_;
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 5000;
  const natsStatus st = js_PublishMsgAsync(hosts_[memberHost_[member]].js, &msg, &po);
  if (st != NATS_OK) {  // stalled longer than StallWait, or disconnected
    std::lock_guard lock(mutex_);
    inflight_.erase(key);
    ++stalled_;
    ++failed_;
    if (firstError_.empty()) firstError_ = natsStatus_GetText(st);
    natsMsg_Destroy(msg);
  }
}

void Sim::handle(const Event& e) {
  const auto i = e.member;
  auto& s = state_[i];
  switch (e.kind) {
    case Kind::Beat:
      beat(i);
      queue_.push({e.at + after(o_.interval), Kind::Beat, i});
      break;
    case Kind::Churn: {
      const double perSecond = o_.churn / 100.0 * static_cast<double>(members_.size() - launchers()) / 60.0;
      std::exponential_distribution<double> gap(perSecond);
      queue_.push({e.at + after(gap(rng_)), Kind::Churn, 0});
      std::uniform_int_distribution<std::size_t> pick(launchers(), members_.size() - 1);
      const auto j = pick(rng_);
      if (state_[j].busy) break;
      state_[j].busy = true;
      if (std::uniform_real_distribution<double>(0, 1)(rng_) < o_.crashShare) {
        ++churnCrash_;
        ++state_[j].restarts;
        event(j, p::RegistryEventType::Crashed, p::CrashedEvent{tcs::Status::Error, -9, "on-failure", true, "signal"});
        queue_.push({e.at + after(0.1), Kind::Crash1, j});
      } else {
        ++churnStatus_;
        static constexpr tcs::Status kChurned[] = {tcs::Status::Degraded, tcs::Status::Warning, tcs::Status::Busy};
        const auto st = kChurned[std::uniform_int_distribution<int>(0, 2)(rng_)];
        status(j, st, std::string("simulated ") + std::string(tcs::toString(st)));
        queue_.push({e.at + after(std::uniform_real_distribution<double>(10, 120)(rng_)), Kind::Recover, j});
      }
      break;
    }
    case Kind::Recover:
      status(i, tcs::Status::Ok);
      s.busy = false;
      break;
    case Kind::Crash1:
      event(i, p::RegistryEventType::Restarting, p::RestartingEvent{tcs::Status::Startup, s.restarts, std::nullopt});
      members_[i].pid += 100000;
      event(i, p::RegistryEventType::Start, p::StartEvent{tcs::Status::Startup, members_[i].hostname, members_[i].pid});
      queue_.push({e.at + after(0.05), Kind::Crash2, i});
      break;
    case Kind::Crash2:  // the new process
      s.sequence = 0;
      status(i, tcs::Status::Startup, "starting");
      queue_.push({e.at + after(0.35), Kind::Crash3, i});
      break;
    case Kind::Crash3:
      event(i, p::RegistryEventType::Ready, p::ReadyEvent{tcs::Status::Ok, 0.4});
      status(i, tcs::Status::Ok);
      s.busy = false;
      break;
  }
}

void Sim::waitForAcks(double timeoutSeconds) {
  const auto until = Clock::now() + after(timeoutSeconds);
  while (Clock::now() < until) {
    {
      std::lock_guard lock(mutex_);
      if (inflight_.empty()) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void Sim::printStreams(const char* label) {
  for (const auto& s : kStreams) {
    jsStreamInfo* info = nullptr;
    jsErrCode code{};
    if (js_GetStreamInfo(&info, hosts_[0].js, s.name, nullptr, &code) != NATS_OK) {
      std::printf("stream_%s %s - -\n", label, s.name);
      continue;
    }
    std::printf("stream_%s %s %llu %llu\n", label, s.name, static_cast<unsigned long long>(info->State.Msgs),
                static_cast<unsigned long long>(info->State.Bytes));
    jsStreamInfo_Destroy(info);
  }
}

int Sim::run() {
  // Start-up burst: as a fleet whose supervisors and services all start at once.
  const auto t0 = Clock::now();
  for (std::size_t l = 0; l < launchers(); ++l) {
    status(l, tcs::Status::Ok);
    beat(l);
  }
  for (std::size_t i = launchers(); i < members_.size(); ++i)
    event(i, p::RegistryEventType::Declared, p::DeclaredEvent{"on-failure"});
  for (std::size_t i = launchers(); i < members_.size(); ++i) {
    event(i, p::RegistryEventType::Start, p::StartEvent{tcs::Status::Startup, members_[i].hostname, members_[i].pid});
    status(i, tcs::Status::Startup, "starting");
    event(i, p::RegistryEventType::Ready, p::ReadyEvent{tcs::Status::Ok, 0.3});
    status(i, tcs::Status::Ok);
    beat(i);
  }
  waitForAcks(30);
  std::uint64_t burst = 0;
  {
    std::lock_guard lock(mutex_);
    burst = sent_;
  }
  std::printf("burst %llu %.3f\n", static_cast<unsigned long long>(burst), seconds(Clock::now() - t0));
  std::fflush(stdout);

  const auto start = Clock::now();
  std::uniform_real_distribution<double> phase(0, o_.interval);
  for (std::size_t i = 0; i < members_.size(); ++i) queue_.push({start + after(phase(rng_)), Kind::Beat, i});
  if (o_.churn > 0) queue_.push({start, Kind::Churn, 0});

  const auto steadyAt = start + after(o_.warmup);
  const auto endAt = o_.duration > 0 ? steadyAt + after(o_.duration) : Clock::time_point::max();
  bool steady = false;
  Clock::time_point windowStart{};
  std::uint64_t sent0 = 0, acked0 = 0, failed0 = 0;
  double cpu0 = 0;
  double behindMax = 0;
  std::vector<float> behind;
  while (!stop) {
    const auto now = Clock::now();
    if (!steady && now >= steadyAt) {
      steady = true;
      printStreams("start");
      std::lock_guard lock(mutex_);
      windowStart = Clock::now();
      sent0 = sent_, acked0 = acked_, failed0 = failed_;
      cpu0 = cpuSeconds();
      measuring_ = true;
      std::printf("steady\n");
      std::fflush(stdout);
    }
    if (now >= endAt) break;
    const Event e = queue_.top();
    if (e.at > now) {
      std::this_thread::sleep_until(std::min({e.at, now + std::chrono::milliseconds(100), steady ? endAt : steadyAt}));
      continue;
    }
    queue_.pop();
    const double late = seconds(now - e.at);
    if (steady) {
      behindMax = std::max(behindMax, late);
      behind.push_back(static_cast<float>(late));
    }
    handle(e);
  }
  if (!steady) {
    std::fprintf(stderr, "fleet_sim: stopped before the warm-up was over\n");
    return 1;
  }
  const auto windowEnd = Clock::now();
  std::uint64_t sent1 = 0, acked1 = 0, failed1 = 0;
  {
    std::lock_guard lock(mutex_);
    sent1 = sent_, acked1 = acked_, failed1 = failed_;
  }
  const double cpu1 = cpuSeconds();
  waitForAcks(10);
  std::size_t lost = 0;
  std::vector<float> lat;
  {
    std::lock_guard lock(mutex_);
    measuring_ = false;
    lost = inflight_.size();
    lat = latenciesMs_;
  }
  const double window = seconds(windowEnd - windowStart);
  const auto pct = [](std::vector<float>& v, double q) -> double {
    if (v.empty()) return 0;
    const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
  };
  const std::size_t services = members_.size() - launchers();
  const double nominal = static_cast<double>(members_.size()) / o_.interval;
  std::printf("hosts %d\nservices %zu\ninterval_s %g\nwindow_s %.3f\n", o_.hosts, services, o_.interval, window);
  std::printf("nominal_rate %.1f\n", nominal);
  std::printf("sent %llu\nacked %llu\nfailed %llu\nstalled %llu\nunacked_at_end %zu\n",
              static_cast<unsigned long long>(sent1 - sent0), static_cast<unsigned long long>(acked1 - acked0),
              static_cast<unsigned long long>(failed1 - failed0), static_cast<unsigned long long>(stalled_), lost);
  std::printf("send_rate %.1f\nack_rate %.1f\n", static_cast<double>(sent1 - sent0) / window,
              static_cast<double>(acked1 - acked0) / window);
  std::printf("ack_ms_p50 %.2f\nack_ms_p99 %.2f\nack_ms_max %.2f\nmax_inflight %zu\n", pct(lat, 0.5), pct(lat, 0.99),
              pct(lat, 1.0), maxInflight_);
  std::printf("behind_s_p99 %.3f\nbehind_s_max %.3f\n", pct(behind, 0.99), behindMax);
  std::printf("churn_status %llu\nchurn_crash %llu\n", static_cast<unsigned long long>(churnStatus_),
              static_cast<unsigned long long>(churnCrash_));
  std::printf("sim_cpu_pct %.2f\n", 100.0 * (cpu1 - cpu0) / window);
  if (!firstError_.empty()) std::printf("first_error %s\n", firstError_.c_str());
  printStreams("end");
  return 0;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage(("missing value of " + a).c_str());
    const char* v = argv[++i];
    if (a == "--servers") {
      o.servers.clear();
      std::string list = v;
      for (std::size_t pos = 0; pos <= list.size();) {
        const auto comma = std::min(list.find(',', pos), list.size());
        if (comma > pos) o.servers.push_back(list.substr(pos, comma - pos));
        pos = comma + 1;
      }
    } else if (a == "--prefix") {
      o.prefix = v;
    } else if (a == "--replicas") {
      o.replicas = std::atoi(v);
    } else if (a == "--deadline") {
      o.deadline = std::atof(v);
    } else if (a == "--hosts") {
      o.hosts = std::atoi(v);
    } else if (a == "--services") {
      o.services = std::atoi(v);
    } else if (a == "--interval") {
      o.interval = std::atof(v);
    } else if (a == "--churn") {
      o.churn = std::atof(v);
    } else if (a == "--crash-share") {
      o.crashShare = std::atof(v);
    } else if (a == "--warmup") {
      o.warmup = std::atof(v);
    } else if (a == "--duration") {
      o.duration = std::atof(v);
    } else if (a == "--max-pending") {
      o.maxPending = std::atoi(v);
    } else if (a == "--seed") {
      o.seed = static_cast<unsigned>(std::atoi(v));
    } else {
      usage(("unknown option " + a).c_str());
    }
  }
  if (o.servers.empty() || o.hosts < 1 || o.hosts > 999 || o.services < 1 || o.services > 9999 || o.interval <= 0 ||
      o.churn < 0 || o.replicas < 1 || o.maxPending < 1)
    usage("bad option value");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "streams" && mode != "run") usage("the first argument is streams or run");
  const Options o = parse(argc, argv);
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
  int rc = 0;
  if (mode == "streams") {
    rc = streams(o);
  } else {
    Sim sim(o);
    rc = sim.run();
  }
  nats_Close();
  return rc;
}
