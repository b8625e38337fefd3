// SPDX-License-Identifier: MIT
// Issue 17, load: a slow or stuck NATS consumer — the real tcsctl binary following the fleet
// (`--follow --json --all`) and then frozen with SIGSTOP — does not slow the services or the
// supervisor. A real nats-server (JetStream, the protocol's streams, monitoring port) on a free
// loopback port; a busy service (a tcs::Monitor, heartbeat every 200 ms, its status changed
// 2,000 times a second) and a real Supervisor (systemd faked, heartbeat every 200 ms) publish
// through it. The same 10 s window is measured twice, before and during the freeze: the
// publisher's setStatus() latency, the heartbeat gaps and the status messages a healthy
// subscriber sees, and the server's view of the frozen client (/connz, /varz slow_consumers).
// Only loose bounds are asserted (heartbeats keep coming, statuses keep flowing); the figures
// are printed and recorded as test properties (bench/README.md "Frozen consumer").
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../supervisor/fakes.hpp"
#include "nats_server.hpp"
#include "supervisor.hpp"
#include "tcs/jetstream.hpp"
#include "tcs/monitor.hpp"
#include "tcs/nats.hpp"
#include "temp_dir.hpp"
#include "wait_until.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
using tcs::test::NatsServer;
using tcs::test::NatsServerOptions;
using tcs::test::TempDir;
using tcs::test::waitUntil;

constexpr const char* kTcsctl = TCS_TCSCTL_BIN;
constexpr auto kHeartbeatInterval = 200ms;
constexpr auto kWindow = 10s;
constexpr int kChangesPerSecond = 2000;
constexpr const char* kService = "busy.main";
constexpr const char* kLauncherId = "frozen-launcher";

/// The real tcsctl binary as a child: stdout on a pipe, stderr in a file; killed and reaped on destruction.
class TcsctlChild {
 public:
  TcsctlChild(const std::vector<std::string>& args, const std::filesystem::path& stderrPath) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    std::vector<std::string> all{kTcsctl};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string errPath = stderrPath.string();
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(126);
      const int err = ::open(errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (err < 0 || in < 0) ::_exit(126);
      ::dup2(in, 0);
      ::dup2(fds[1], 1);
      ::dup2(err, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = fds[0];
    pid_ = pid;
  }
  ~TcsctlChild() {
    kill();
    if (out_ >= 0) ::close(out_);
  }
  TcsctlChild(const TcsctlChild&) = delete;
  TcsctlChild& operator=(const TcsctlChild&) = delete;

  pid_t pid() const noexcept { return pid_; }

  /// Reads what stdout has now (waits at most @p wait for the first byte); "" at none or EOF.
  std::string read(std::chrono::milliseconds wait) {
    pollfd p{out_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) != 1) return {};
    char buffer[65536];
    const auto n = ::read(out_, buffer, sizeof buffer);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string{};
  }

  /// The state letter of /proc/<pid>/stat (R, S, T = stopped, Z …).
  char state() const {
    const auto stat = tcs::test::readFile("/proc/" + std::to_string(pid_) + "/stat");
    const auto paren = stat.rfind(')');
    return paren == std::string::npos || paren + 2 >= stat.size() ? '?' : stat[paren + 2];
  }

  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }

  /// Polls for the exit until @p timeout; @return the wait status, nullopt while it runs.
  std::optional<int> waitExit(std::chrono::milliseconds timeout) {
    std::optional<int> result;
    waitUntil(
        [&] {
          int status = 0;
          if (::waitpid(pid_, &status, WNOHANG) == pid_) result = status;
          return result.has_value();
        },
        timeout);
    if (result) pid_ = -1;
    return result;
  }

  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
};

/// Arrival times (steady clock) of the messages a healthy core subscriber receives, per subject.
class Arrivals {
 public:
  tcs::INatsTransport::MessageHandler handler() {
    return [this](const tcs::NatsMessage& m) {
      const auto now = Clock::now();
      std::lock_guard lock(mutex_);
      times_[m.subject].push_back(now);
    };
  }
  std::vector<Clock::time_point> of(const std::string& subject) const {
    std::lock_guard lock(mutex_);
    const auto it = times_.find(subject);
    return it == times_.end() ? std::vector<Clock::time_point>{} : it->second;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<Clock::time_point>> times_;
};

/// The longest time in [from, to) without an arrival (the window's edges count as well).
std::chrono::milliseconds maxGap(const std::vector<Clock::time_point>& times, Clock::time_point from,
                                 Clock::time_point to) {
  auto last = from;
  Clock::duration gap{};
  for (const auto t : times) {
    if (t <= from) continue;
    if (t >= to) break;
    gap = std::max(gap, t - last);
    last = t;
  }
  gap = std::max(gap, to - last);
  return std::chrono::duration_cast<std::chrono::milliseconds>(gap);
}

std::size_t countIn(const std::vector<Clock::time_point>& times, Clock::time_point from, Clock::time_point to) {
  return static_cast<std::size_t>(
      std::count_if(times.begin(), times.end(), [&](Clock::time_point t) { return t > from && t < to; }));
}

double percentileUs(std::vector<std::int64_t> ns, double p) {
  if (ns.empty()) return 0;
  std::sort(ns.begin(), ns.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(ns.size() - 1));
  return static_cast<double>(ns[i]) / 1000.0;
}

/// A busy service's status changes: setStatus() on a real Monitor, paced to kChangesPerSecond,
/// every call's duration kept for the current window.
class BusyPublisher {
 public:
  explicit BusyPublisher(tcs::Monitor& monitor) : monitor_(monitor), thread_([this] { run(); }) {}
  ~BusyPublisher() {
    stop_ = true;
    thread_.join();
  }
  BusyPublisher(const BusyPublisher&) = delete;
  BusyPublisher& operator=(const BusyPublisher&) = delete;

  /// Starts a new window; @return the durations (ns) of the calls of the previous one.
  std::vector<std::int64_t> take() {
    std::lock_guard lock(mutex_);
    return std::exchange(latencies_, {});
  }

 private:
  void run() {
    const auto step = std::chrono::nanoseconds(1'000'000'000 / kChangesPerSecond);
    auto next = Clock::now();
    std::uint64_t i = 0;
    while (!stop_) {
      next += step;
      const auto now = Clock::now();
      if (next > now)
        std::this_thread::sleep_until(next);
      else if (now - next > 20ms)
        next = now;  // fell behind (a busy machine): no burst to catch up
      const auto t0 = Clock::now();
      monitor_.setStatus(tcs::Status::Ok, "processed item " + std::to_string(++i));
      const auto t1 = Clock::now();
      std::lock_guard lock(mutex_);
      latencies_.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    }
  }

  tcs::Monitor& monitor_;
  std::mutex mutex_;
  std::vector<std::int64_t> latencies_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// What the server says about the frozen client: its /connz entry (by name) and /varz.
struct ServerView {
  std::optional<Json> client;  ///< /connz entry of the connection named "tcsctl", if open
  std::int64_t slowConsumers = 0;
};

ServerView serverView(const NatsServer& server) {
  ServerView v;
  try {
    const auto connz = Json::parse(server.monitor("/connz?limit=1024"));
    for (const auto& c : connz.value("connections", Json::array()))
      if (c.value("name", "") == "tcsctl") v.client = c;
    v.slowConsumers = Json::parse(server.monitor("/varz")).value("slow_consumers", std::int64_t{0});
  } catch (const Json::exception&) {
  }
  return v;
}

/// The publisher's own counters (its Monitor and its NATS connection), diffed per window.
struct Counters {
  std::uint64_t statusPublished = 0, statusDropped = 0, heartbeats = 0;
  std::uint64_t acked = 0, core = 0, unacked = 0, dropped = 0, reconnects = 0;

  static Counters of(const tcs::Monitor& monitor, const tcs::NatsConnection& nats) {
    const auto m = monitor.stats();
    const auto n = nats.stats();
    return {m.statusPublished, m.statusDropped,     m.heartbeats,        n.persistentAcked,
            n.persistentCore,  n.persistentUnacked, n.persistentDropped, n.reconnects};
  }
  Counters operator-(const Counters& o) const {
    return {statusPublished - o.statusPublished,
            statusDropped - o.statusDropped,
            heartbeats - o.heartbeats,
            acked - o.acked,
            core - o.core,
            unacked - o.unacked,
            dropped - o.dropped,
            reconnects - o.reconnects};
  }
};

struct WindowFigures {
  std::size_t calls = 0;
  double p50Us = 0, p99Us = 0, maxUs = 0;
  std::chrono::milliseconds serviceHeartbeatGap{}, launcherHeartbeatGap{};
  std::size_t statusesSeen = 0, serviceHeartbeatsSeen = 0;
};

class AFrozenFollower : public ::testing::Test {
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

  WindowFigures figures(const std::string& name, Clock::time_point from, Clock::time_point to,
                        std::vector<std::int64_t> latencies, const Counters& c) const {
    WindowFigures f;
    f.calls = latencies.size();
    f.p50Us = percentileUs(latencies, 0.50);
    f.p99Us = percentileUs(latencies, 0.99);
    f.maxUs = percentileUs(latencies, 1.0);
    f.serviceHeartbeatGap = maxGap(arrivals_.of(std::string("svc.heartbeat.") + kService), from, to);
    f.launcherHeartbeatGap = maxGap(arrivals_.of(std::string("svc.heartbeat.launcher.") + kLauncherId), from, to);
    f.statusesSeen = countIn(arrivals_.of(std::string("svc.status.") + kService), from, to);
    f.serviceHeartbeatsSeen = countIn(arrivals_.of(std::string("svc.heartbeat.") + kService), from, to);
    std::printf(
        "[ frozen  ] %-8s %6zu setStatus calls: p50 %.1f us, p99 %.1f us, max %.1f us; heartbeat max gap: "
        "service %lld ms, supervisor %lld ms; seen by a healthy subscriber: %zu statuses, %zu service heartbeats\n",
        name.c_str(), f.calls, f.p50Us, f.p99Us, f.maxUs, static_cast<long long>(f.serviceHeartbeatGap.count()),
        static_cast<long long>(f.launcherHeartbeatGap.count()), f.statusesSeen, f.serviceHeartbeatsSeen);
    std::printf(
        "[ frozen  ] %-8s monitor: %llu statuses published, %llu dropped, %llu heartbeats; connection: %llu acked "
        "by JetStream, %llu core, %llu unacked, %llu dropped, %llu reconnects\n",
        name.c_str(), static_cast<unsigned long long>(c.statusPublished),
        static_cast<unsigned long long>(c.statusDropped), static_cast<unsigned long long>(c.heartbeats),
        static_cast<unsigned long long>(c.acked), static_cast<unsigned long long>(c.core),
        static_cast<unsigned long long>(c.unacked), static_cast<unsigned long long>(c.dropped),
        static_cast<unsigned long long>(c.reconnects));
    std::fflush(stdout);
    RecordProperty(name + "_status_published", std::to_string(c.statusPublished));
    RecordProperty(name + "_status_dropped", std::to_string(c.statusDropped));
    RecordProperty(name + "_heartbeats_sent", std::to_string(c.heartbeats));
    RecordProperty(name + "_persistent_acked", std::to_string(c.acked));
    RecordProperty(name + "_persistent_core", std::to_string(c.core));
    RecordProperty(name + "_persistent_unacked", std::to_string(c.unacked));
    RecordProperty(name + "_persistent_dropped", std::to_string(c.dropped));
    RecordProperty(name + "_calls", std::to_string(f.calls));
    RecordProperty(name + "_publish_p50_us", std::to_string(f.p50Us));
    RecordProperty(name + "_publish_p99_us", std::to_string(f.p99Us));
    RecordProperty(name + "_publish_max_us", std::to_string(f.maxUs));
    RecordProperty(name + "_service_heartbeat_max_gap_ms", std::to_string(f.serviceHeartbeatGap.count()));
    RecordProperty(name + "_supervisor_heartbeat_max_gap_ms", std::to_string(f.launcherHeartbeatGap.count()));
    RecordProperty(name + "_statuses_seen", std::to_string(f.statusesSeen));
    RecordProperty(name + "_service_heartbeats_seen", std::to_string(f.serviceHeartbeatsSeen));
    return f;
  }

  TempDir dir_;
  std::unique_ptr<NatsServer> server_;
  Arrivals arrivals_;
};

TEST_F(AFrozenFollower, DoesNotSlowTheServicesOrTheSupervisor) {
  NatsServerOptions so;
  so.monitorPort = NatsServer::freePort();
  server_ = std::make_unique<NatsServer>(dir_.path() / "server", so);
  server_->start();
  const auto varz = Json::parse(server_->monitor("/varz"));
  const auto writeDeadlineNs = varz.value("write_deadline", std::int64_t{0});
  const auto maxPending = varz.value("max_pending", std::int64_t{0});
  RecordProperty("server_write_deadline_ms", std::to_string(writeDeadlineNs / 1'000'000));
  RecordProperty("server_max_pending_bytes", std::to_string(maxPending));

  // The protocol's streams, as tcs-supervisor creates them.
  auto supervisorNats = connect("tcs-supervisor");
  {
    tcs::JetStreamAdmin admin(*supervisorNats);
    admin.ensureStream({"svc_registry", "svc.registry.>", 0s, -1, 100});
    admin.ensureStream({"svc_status", "svc.status.>", 0s, -1, 1});
    admin.ensureStream({"svc_heartbeat", "svc.heartbeat.>", 0s, -1, 1});
  }

  // The healthy subscriber: every status and heartbeat, on a core subscription of its own.
  auto healthy = connect("healthy-subscriber");
  auto statusSub = healthy->subscribe("svc.status.>", arrivals_.handler());
  auto heartbeatSub = healthy->subscribe("svc.heartbeat.>", arrivals_.handler());
  ASSERT_TRUE(healthy->flush(5s));

  // The supervisor: real, over a fake systemd, heartbeating every 200 ms.
  tcs::supervisor::test::FakeSystemd systemd;
  tcs::supervisor::SupervisorOptions supervisorOptions;
  supervisorOptions.configPath =
      dir_.write("services.yaml", "registry:\n  busy: ~\nservices:\n  - {type: busy, variant: main}\n");
  supervisorOptions.launcherId = kLauncherId;
  supervisorOptions.hostname = "frozen-host";
  supervisorOptions.jobTimeout = 2s;
  supervisorOptions.heartbeatInterval = kHeartbeatInterval;
  auto supervisor = std::make_unique<tcs::supervisor::Supervisor>(supervisorOptions, systemd, supervisorNats.get());
  supervisor->start();

  // The busy service: a monitor heartbeating every 200 ms, its status changed 2,000 times a second.
  auto serviceNats = connect("busy-service");
  tcs::MonitorOptions mo;
  mo.name = kService;
  mo.subjectPrefix = "svc";
  mo.heartbeatInterval = kHeartbeatInterval;
  tcs::Monitor monitor(mo, serviceNats.get());
  monitor.setStatus(tcs::Status::Ok, "starting work");
  monitor.start();
  ASSERT_TRUE(waitUntil(
      [&] {
        return !arrivals_.of(std::string("svc.heartbeat.") + kService).empty() &&
               !arrivals_.of(std::string("svc.heartbeat.launcher.") + kLauncherId).empty();
      },
      10s))
      << "no heartbeats from the service and the supervisor";
  BusyPublisher publisher(monitor);

  // tcsctl follows; its first frame means it subscribed and read the snapshot.
  const auto config = dir_.write("tcsctl.yaml", "nats:\n  subject_prefix: svc\n");
  TcsctlChild tcsctl({"-c", config.string(), "--host", "127.0.0.1", "--port", std::to_string(server_->port()),
                      "--follow", "--json", "--all"},
                     dir_ / "tcsctl.stderr");
  std::string firstFrame;
  ASSERT_TRUE(waitUntil([&] { return (firstFrame += tcsctl.read(100ms)).find('\n') != std::string::npos; }, 15s))
      << "tcsctl printed nothing; stderr: " << tcs::test::readFile(dir_ / "tcsctl.stderr");
  ASSERT_TRUE(waitUntil([&] { return serverView(*server_).client.has_value(); }, 5s))
      << "the server does not list a connection named tcsctl";

  // Baseline: the same window with tcsctl following (its stdout drained).
  publisher.take();
  auto counters = Counters::of(monitor, *serviceNats);
  const auto baselineStart = Clock::now();
  waitUntil(
      [&] {
        tcsctl.read(0ms);
        return Clock::now() - baselineStart >= kWindow;
      },
      kWindow + 5s, 50ms);
  const auto baselineEnd = Clock::now();
  const auto baselineCounters = Counters::of(monitor, *serviceNats) - counters;
  const auto baseline = figures("baseline", baselineStart, baselineEnd, publisher.take(), baselineCounters);
  const auto baselineSlow = serverView(*server_).slowConsumers;

  // Frozen: SIGSTOP, its stdout never read again; the server polled every 250 ms.
  tcsctl.signal(SIGSTOP);
  ASSERT_TRUE(waitUntil([&] { return tcsctl.state() == 'T'; }, 5s)) << "tcsctl did not stop";
  counters = Counters::of(monitor, *serviceNats);
  const auto frozenStart = Clock::now();
  std::optional<std::chrono::milliseconds> cutAfter;
  std::int64_t maxPendingSeen = 0;
  std::string cutReason;
  const auto pollServer = [&] {
    const auto v = serverView(*server_);
    if (v.client) maxPendingSeen = std::max(maxPendingSeen, v.client->value("pending_bytes", std::int64_t{0}));
    if (!cutAfter && v.slowConsumers > baselineSlow)
      cutAfter = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - frozenStart);
  };
  waitUntil(
      [&] {
        pollServer();
        return Clock::now() - frozenStart >= kWindow;
      },
      kWindow + 5s, 250ms);
  const auto frozenEnd = Clock::now();
  const auto frozenCounters = Counters::of(monitor, *serviceNats) - counters;
  const auto frozen = figures("frozen", frozenStart, frozenEnd, publisher.take(), frozenCounters);
  // Not cut within the window: keep it frozen (not measured) until the write deadline must have
  // passed, to see whether and when the server cuts it.
  if (!cutAfter)
    waitUntil(
        [&] {
          pollServer();
          return cutAfter.has_value();
        },
        std::chrono::milliseconds(writeDeadlineNs / 1'000'000) + 20s, 250ms);
  std::vector<std::string> othersClosed;  // the server must cut only the frozen client
  try {
    for (const auto& c :
         Json::parse(server_->monitor("/connz?state=closed&limit=1024")).value("connections", Json::array())) {
      if (c.value("name", "") == "tcsctl")
        cutReason = c.value("reason", "");
      else if (!c.value("name", "").empty())  // (the fixture's unnamed readiness probes close too)
        othersClosed.push_back(c.value("name", "") + ": " + c.value("reason", ""));
    }
  } catch (const Json::exception&) {
  }
  const auto cutMs = cutAfter ? std::to_string(cutAfter->count()) : std::string("not cut");
  std::printf(
      "[ frozen  ] server: write_deadline %lld ms, max_pending %lld bytes; frozen client's pending_bytes up to "
      "%lld; slow consumer after %s ms (%s)\n",
      static_cast<long long>(writeDeadlineNs / 1'000'000), static_cast<long long>(maxPending),
      static_cast<long long>(maxPendingSeen), cutMs.c_str(), cutReason.empty() ? "-" : cutReason.c_str());
  std::fflush(stdout);
  RecordProperty("frozen_client_max_pending_bytes", std::to_string(maxPendingSeen));
  RecordProperty("slow_consumer_after_ms", cutMs);
  RecordProperty("slow_consumer_reason", cutReason);

  // What a stuck consumer must not do: stop the heartbeats of a service or of the supervisor, or
  // stop the statuses reaching everyone else.
  // The bound: the interval + 1 s, or — on a machine so busy that the baseline already had a
  // longer gap (CPU starvation, not the consumer) — that gap + 1 s: the freeze adds at most 1 s.
  const auto bound = [&](std::chrono::milliseconds baselineGap) {
    return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(kHeartbeatInterval), baselineGap) + 1s;
  };
  EXPECT_LE(frozen.serviceHeartbeatGap, bound(baseline.serviceHeartbeatGap))
      << "the service's heartbeats stalled while tcsctl was frozen";
  EXPECT_LE(frozen.launcherHeartbeatGap, bound(baseline.launcherHeartbeatGap))
      << "the supervisor's heartbeats stalled while tcsctl was frozen";
  EXPECT_GT(frozen.statusesSeen, 0U) << "the healthy subscriber saw no status while tcsctl was frozen";
  EXPECT_GT(frozen.calls, 0U);
  EXPECT_EQ(frozenCounters.reconnects, 0U) << "the busy service lost its connection";
  EXPECT_TRUE(othersClosed.empty()) << "the server closed other connections: "
                                    << ::testing::PrintToString(othersClosed);

  // Thawed, tcsctl connects again by itself (when the server cut it) and follows on; then it is
  // asked to stop, killed when it does not, and reaped either way.
  tcsctl.signal(SIGCONT);
  if (cutAfter) {
    const auto thawed = Clock::now();
    const bool back = waitUntil(
        [&] {
          tcsctl.read(0ms);  // its stdout drained again
          return serverView(*server_).client.has_value();
        },
        20s, 100ms);
    const auto backMs = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - thawed).count();
    std::printf("[ frozen  ] thawed tcsctl connected again: %s after %lld ms\n", back ? "yes" : "no",
                static_cast<long long>(backMs));
    std::fflush(stdout);
    RecordProperty("tcsctl_reconnected_after_thaw_ms", back ? std::to_string(backMs) : std::string("no"));
    EXPECT_TRUE(back) << "tcsctl did not reconnect after it was thawed; stderr: "
                      << tcs::test::readFile(dir_ / "tcsctl.stderr");
  }
  tcsctl.signal(SIGTERM);
  std::optional<int> status;
  waitUntil(
      [&] {
        tcsctl.read(0ms);  // drain what it writes on its way out
        status = tcsctl.waitExit(0ms);
        return status.has_value();
      },
      5s, 20ms);
  if (!status) tcsctl.kill();
  RecordProperty("tcsctl_exit_after_sigcont_sigterm",
                 status ? (WIFEXITED(*status) ? std::to_string(WEXITSTATUS(*status)) : "signal") : "killed");
  supervisor->stop();
}

}  // namespace
