// SPDX-License-Identifier: MIT
// Integration tests: the real service binaries from this build, run against a NOTIFY_SOCKET the
// test owns (an AF_UNIX datagram socket in a temporary directory), with WATCHDOG_USEC set and a
// config file written for the test. They check the sd_notify sequences (READY/STATUS/STOPPING/
// WATCHDOG) and their timing, exit statuses, the command line and stderr logging.
//
// Every child is spawned by the test, killed (by PID) only if still running at the end, and
// always reaped. Timing checks are loose: a noisy 2-core machine and sanitizer builds.
#include <fcntl.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "notify_log.hpp"
#include "service_process.hpp"
#include "temp_dir.hpp"
#include "wait_until.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using tcs::test::readFile;
using tcs::test::TempDir;
using tcs::test::waitUntil;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
namespace fs = std::filesystem;

constexpr const char* kHelloWorld = TCS_BIN_HELLO_WORLD;
constexpr const char* kCrash = TCS_BIN_TEST_CRASH;
constexpr const char* kSignal = TCS_BIN_TEST_SIGNAL;
constexpr const char* kHang = TCS_BIN_TEST_HANG;
constexpr const char* kSlowStart = TCS_BIN_TEST_SLOW_START;
constexpr const char* kIgnoreTerm = TCS_BIN_TEST_IGNORE_TERM;
constexpr const char* kSingleShot = TCS_BIN_TEST_SINGLE_SHOT;
constexpr const char* kCyclic = TCS_BIN_TEST_CYCLIC;

double secondsOf(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

using tcs::test::Child;
using tcs::test::ExitStatus;
using tcs::test::Notification;
using tcs::test::NotifySocket;
using tcs::test::PtyCapture;
using tcs::test::splitLines;

// ---- fixture ---------------------------------------------------------------------------------

struct SpawnOptions {
  std::optional<std::chrono::microseconds> watchdog;
  std::vector<std::string> env;  ///< extra NAME=value entries
  std::string stderrTty;         ///< a pty slave to use as stderr instead of a file
  bool notifySocket = true;
};

class ServiceNotifyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // test.signal dies by SIGSEGV: no core files from the tests.
    rlimit none{0, 0};
    ::setrlimit(RLIMIT_CORE, &none);
  }

  /**
   * @brief Writes services.yaml with one entry `<type>` / variant `it` whose settings are
   * @p settings ("key: value" lines). The first setting is on line 6.
   */
  fs::path config(const std::string& type, const std::vector<std::string>& settings) {
    std::string yaml = "registry:\n  " + type + ": ~\nservices:\n  - type: " + type + "\n    variant: it\n";
    for (const auto& s : settings) yaml += "    " + s + "\n";
    return dir_.write("services.yaml", yaml);
  }

  std::unique_ptr<Child> spawn(const std::string& binary, const std::vector<std::string>& args,
                               const SpawnOptions& o = {}) {
    std::vector<std::string> env;
    if (o.notifySocket) env.push_back("NOTIFY_SOCKET=" + notify_.path().string());
    if (o.watchdog) env.push_back("WATCHDOG_USEC=" + std::to_string(o.watchdog->count()));
    // Sanitizer settings pass through; nothing else from the test's environment (notably no
    // INVOCATION_ID/JOURNAL_STREAM from a runner that itself runs under systemd).
    for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TMPDIR", "PATH"})
      if (const char* v = std::getenv(name)) env.push_back(std::string(name) + "=" + v);
    env.insert(env.end(), o.env.begin(), o.env.end());
    const auto n = std::to_string(++spawned_);
    return std::make_unique<Child>(binary, args, env, dir_ / ("stdout-" + n + ".txt"), dir_ / ("stderr-" + n + ".txt"),
                                   o.stderrTty, [this] { notify_.sync(); });  // all it sent is recorded
  }

  /** @brief Runs @p binary to its end (a short-lived invocation, e.g. --help). */
  std::pair<ExitStatus, std::unique_ptr<Child>> runToEnd(const std::string& binary,
                                                         const std::vector<std::string>& args,
                                                         const SpawnOptions& o = {}) {
    auto child = spawn(binary, args, o);
    const auto status = child->wait();
    if (!status) {
      ADD_FAILURE() << binary << " did not end";
      return {ExitStatus{-1}, std::move(child)};
    }
    return {*status, std::move(child)};
  }

  TempDir dir_;
  NotifySocket notify_{dir_ / "notify.sock"};
  int spawned_ = 0;
};

constexpr auto kWatchdog = std::chrono::microseconds(400ms);

SpawnOptions withEnv(std::vector<std::string> env) {
  SpawnOptions o;
  o.env = std::move(env);
  return o;
}
SpawnOptions withWatchdog(std::vector<std::string> env = {}) {
  SpawnOptions o = withEnv(std::move(env));
  o.watchdog = kWatchdog;
  return o;
}

double medianGap(const std::vector<Clock::time_point>& pings) {
  std::vector<double> gaps;
  for (std::size_t i = 1; i < pings.size(); ++i) gaps.push_back(secondsOf(pings[i] - pings[i - 1]));
  if (gaps.empty()) return 0;
  std::sort(gaps.begin(), gaps.end());
  return gaps[gaps.size() / 2];
}

bool hasEscapeCodes(std::string_view text) {
  return text.find('\033') != std::string_view::npos;
}

// ---- hello_world: READY, STATUS, WATCHDOG, SIGTERM -------------------------------------------

TEST_F(ServiceNotifyTest, HelloWorldSendsReadyStatusAndWatchdogPingsAndStopsCleanly) {
  const auto cfg = config("hello_world", {"interval: 0.2", "message: \"Hello World!\""});
  auto child = spawn(kHelloWorld, {cfg.string(), "it"}, withWatchdog());
  ASSERT_TRUE(notify_.waitFor("READY=1"));
  const auto ready = notify_.find("READY=1");
  EXPECT_THAT(splitLines(ready->text), Contains(fmt::format("MAINPID={}", child->pid())));
  EXPECT_EQ(ready->pid, child->pid()) << "sent by the service process itself";
  ASSERT_TRUE(notify_.waitFor("STATUS=ok: Hello World! (3 sent)"));
  ASSERT_TRUE(waitUntil([&] { return notify_.pings().size() >= 5; }, 10s));

  const auto life = notify_.lifecycle();
  ASSERT_FALSE(life.empty());
  EXPECT_EQ(life.front(), "STATUS=startup: Starting service");
  // "(1 sent)" may ride on READY or precede it (run() starts as READY goes out); later ones follow it.
  EXPECT_TRUE(notify_.has("STATUS=ok: Hello World! (1 sent)"));
  EXPECT_LT(*notify_.indexOf("READY=1"), *notify_.indexOf("STATUS=ok: Hello World! (2 sent)"));
  EXPECT_LT(*notify_.indexOf("STATUS=ok: Hello World! (2 sent)"), *notify_.indexOf("STATUS=ok: Hello World! (3 sent)"));
  const double perMessage = secondsOf(notify_.find("STATUS=ok: Hello World! (3 sent)")->at -
                                      notify_.find("STATUS=ok: Hello World! (2 sent)")->at);
  EXPECT_GT(perMessage, 0.1);
  EXPECT_LT(perMessage, 0.6);
  // Watchdog: every half interval, from READY on.
  const auto pings = notify_.pings();
  EXPECT_GE(pings.front(), ready->at);
  EXPECT_GT(medianGap(pings), 0.12);
  EXPECT_LT(medianGap(pings), 0.32);
  for (const auto& m : notify_.messages()) EXPECT_EQ(m.pid, child->pid()) << m.text;
  EXPECT_FALSE(notify_.has("STOPPING=1"));

  const auto termAt = Clock::now();
  child->signal(SIGTERM);
  const auto status = child->wait(5s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->exited()) << *status;
  EXPECT_EQ(status->code(), 0) << *status;
  EXPECT_LT(secondsOf(child->endedAt() - termAt), 2.0) << "a sleeping service stops promptly";
  ASSERT_TRUE(notify_.has("STOPPING=1"));
  const auto statuses = notify_.statuses();
  EXPECT_EQ(statuses.back(), "shutdown: Service stopped");
  EXPECT_THAT(statuses, Contains("shutdown: Stopping service"));
  EXPECT_LT(*notify_.indexOf("STOPPING=1"), *notify_.indexOf("STATUS=shutdown: Service stopped"));

  const auto err = child->stderrText();
  EXPECT_THAT(err, HasSubstr("Standalone Service: hello_world.it"));
  EXPECT_THAT(err, HasSubstr("Hello World! (interval: 0.2s)"));
  EXPECT_THAT(err, HasSubstr("received Terminated"));
  EXPECT_THAT(err, HasSubstr("Hello World service cleaning up"));
}

TEST_F(ServiceNotifyTest, SigintStopsLikeSigterm) {
  const auto cfg = config("hello_world", {"interval: 0.2"});
  auto child = spawn(kHelloWorld, {cfg.string(), "it", "--no-banner"});
  ASSERT_TRUE(notify_.waitFor("READY=1"));
  child->signal(SIGINT);
  const auto status = child->wait(5s);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->code(), 0) << *status;
  EXPECT_TRUE(notify_.has("STOPPING=1"));
  EXPECT_EQ(notify_.pings().size(), 0u) << "no WATCHDOG_USEC, no pings";
}

TEST_F(ServiceNotifyTest, SighupIsIgnored) {
  const auto cfg = config("hello_world", {"interval: 0.2"});
  auto child = spawn(kHelloWorld, {cfg.string(), "it", "--no-banner"});
  ASSERT_TRUE(notify_.waitFor("READY=1"));
  child->signal(SIGHUP);
  ASSERT_TRUE(waitUntil([&] { return child->stderrText().find("SIGHUP") != std::string::npos; }));
  const auto hupAt = Clock::now();
  // Still running and still working after the SIGHUP.
  ASSERT_TRUE(waitUntil([&] {
    const auto m = notify_.messages();
    return std::any_of(m.begin(), m.end(),
                       [&](const auto& x) { return x.at > hupAt && x.text.starts_with("STATUS=ok"); });
  }));
  EXPECT_TRUE(child->running());
  EXPECT_FALSE(notify_.has("STOPPING=1"));
  child->signal(SIGTERM);
  const auto status = child->wait(5s);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->code(), 0) << *status;
}

TEST_F(ServiceNotifyTest, WatchdogPidOfAnotherProcessMeansNoPings) {
  const auto cfg = config("hello_world", {"interval: 0.2"});
  auto child = spawn(kHelloWorld, {cfg.string(), "it", "--no-banner"},
                     withWatchdog({fmt::format("WATCHDOG_PID={}", ::getpid())}));
  ASSERT_TRUE(notify_.waitFor("READY=1"));
  ASSERT_TRUE(notify_.waitFor("STATUS=ok: Hello World! (4 sent)"));  // ≥ 0.6 s = 3 ping periods
  EXPECT_EQ(notify_.pings().size(), 0u) << "the watchdog belongs to another process";
  child->signal(SIGTERM);
  ASSERT_TRUE(child->wait(5s));
}

// ---- the watchdog withholds pings when the service stops making progress -----------------------

TEST_F(ServiceNotifyTest, HangServiceWatchdogPingsStopWithinOneInterval) {
  const auto cfg = config("test.hang", {"hang_after: 0.6", "stop_timeout: 0.5"});
  auto child = spawn(kHang, {cfg.string(), "it", "--no-banner"}, withWatchdog());
  ASSERT_TRUE(notify_.waitFor("READY=1"));
  // The service says "hanging" right before it blocks for good; its last liveness point (the
  // end of its last sleep) is just before that.
  ASSERT_TRUE(notify_.waitFor("STATUS=ok: hanging", 10s));
  const auto hungAt = notify_.find("STATUS=ok: hanging")->at;
  const auto readyAt = notify_.find("READY=1")->at;
  EXPECT_GE(notify_.pings().size(), 2u) << "pings while it made progress";
  EXPECT_LT(medianGap(notify_.pings()), 0.32);
  EXPECT_GE(notify_.pingsAfter(readyAt), 2u);

  // Wait three intervals past the hang: no ping may come later than one interval after it.
  const auto limit = hungAt + kWatchdog + 150ms;
  EXPECT_FALSE(waitUntil([&] { return notify_.pingsAfter(limit) > 0; },
                         std::chrono::duration_cast<std::chrono::milliseconds>(hungAt + 3 * kWatchdog - Clock::now())))
      << "WATCHDOG=1 kept coming more than one interval after the service hung";
  EXPECT_TRUE(child->running()) << "the process lives on: killing it is systemd's job";
  EXPECT_THAT(child->stderrText(), HasSubstr("made no progress"));

  // A graceful stop cannot end the deadlocked run(): exit 1 after stop_timeout.
  const auto termAt = Clock::now();
  child->signal(SIGTERM);
  const auto status = child->wait(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->code(), 1) << *status;
  EXPECT_GT(secondsOf(child->endedAt() - termAt), 0.4);
  EXPECT_EQ(notify_.statuses().back(), "failed: Did not stop in time");
}

// ---- crash, signal, single shot --------------------------------------------------------------

TEST_F(ServiceNotifyTest, CrashExitsWithItsCodeAndNeverSendsStopping) {
  const auto cfg = config("test.crash", {"run_duration: 0.3", "exit_code: 3"});
  auto child = spawn(kCrash, {cfg.string(), "it", "--no-banner"}, withWatchdog());
  const auto status = child->wait(10s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->exited()) << *status;
  EXPECT_EQ(status->code(), 3) << *status;
  ASSERT_TRUE(notify_.has("READY=1"));
  EXPECT_GT(secondsOf(child->endedAt() - notify_.find("READY=1")->at), 0.25);
  EXPECT_FALSE(notify_.has("STOPPING=1"));
  EXPECT_THAT(child->stderrText(), HasSubstr("simulated crash"));
}

TEST_F(ServiceNotifyTest, SignalServiceDiesByItsSignal) {
  struct Case {
    std::vector<std::string> settings;
    int signal;
  };
  for (const auto& c : {Case{{"run_duration: 0.2"}, SIGSEGV}, Case{{"run_duration: 0.2", "signal: SIGUSR1"}, SIGUSR1},
                        Case{{"run_duration: 0.2", "signal: 9"}, SIGKILL}}) {
    notify_.clear();
    const auto cfg = config("test.signal", c.settings);
    auto child = spawn(kSignal, {cfg.string(), "it", "--no-banner"});
    const auto status = child->wait(10s);
    ASSERT_TRUE(status);
    EXPECT_TRUE(status->signaled()) << *status;
    EXPECT_EQ(status->signal(), c.signal) << *status;
    EXPECT_TRUE(notify_.has("READY=1"));
    EXPECT_FALSE(notify_.has("STOPPING=1"));
  }
}

TEST_F(ServiceNotifyTest, SignalServiceWithAnUnknownSignalIsAConfigError) {
  const auto cfg = config("test.signal", {"signal: SIGNOPE"});
  auto [status, child] = runToEnd(kSignal, {cfg.string(), "it", "--no-banner"});
  EXPECT_EQ(status.code(), 78) << status;
  EXPECT_FALSE(notify_.has("READY=1"));
  EXPECT_THAT(child->stderrText(), HasSubstr(cfg.string() + ":6:"));
  EXPECT_THAT(child->stderrText(), HasSubstr("unknown signal 'NOPE'"));
}

TEST_F(ServiceNotifyTest, SingleShotExitsWithItsCodeAfterReady) {
  for (const int code : {0, 4}) {
    notify_.clear();
    const auto cfg = config("test.single_shot", {"duration: 0.2", fmt::format("exit_code: {}", code)});
    auto child = spawn(kSingleShot, {cfg.string(), "it", "--no-banner"}, withWatchdog());
    const auto status = child->wait(10s);
    ASSERT_TRUE(status);
    EXPECT_TRUE(status->exited()) << *status;
    EXPECT_EQ(status->code(), code) << *status;
    const auto ready = notify_.find("READY=1");
    ASSERT_TRUE(ready) << "a notify unit whose process exits before READY=1 fails";
    EXPECT_GT(secondsOf(child->endedAt() - ready->at), 0.15) << "READY came before the work, not after";
    EXPECT_THAT(child->stderrText(), HasSubstr(fmt::format("done, exit status {}", code)));
  }
}

TEST_F(ServiceNotifyTest, SingleShotThrowingExitsOne) {
  const auto cfg = config("test.single_shot", {"duration: 0.05", "throw: true"});
  auto [status, child] = runToEnd(kSingleShot, {cfg.string(), "it", "--no-banner"});
  EXPECT_EQ(status.code(), 1) << status;
  EXPECT_EQ(notify_.statuses().back(), "failed: Error in service: simulated failure in execute()");
  EXPECT_THAT(child->stderrText(), HasSubstr("simulated failure in execute()"));
}

// ---- start ----------------------------------------------------------------------------------

TEST_F(ServiceNotifyTest, SlowStartSendsReadyOnlyAfterTheStartDelay) {
  const auto cfg = config("test.slow_start", {"start_delay: 0.8"});
  auto child = spawn(kSlowStart, {cfg.string(), "it", "--no-banner"}, withWatchdog());
  ASSERT_TRUE(notify_.waitFor("STATUS=startup: Starting service"));
  ASSERT_TRUE(notify_.waitFor("READY=1"));
  const double startup = secondsOf(notify_.find("READY=1")->at - notify_.find("STATUS=startup: Starting service")->at);
  EXPECT_GT(startup, 0.75);
  EXPECT_LT(startup, 5.0);
  EXPECT_EQ(notify_.pingsAfter(Clock::time_point{}), notify_.pingsAfter(notify_.find("READY=1")->at))
      << "no pings during the start";
  child->signal(SIGTERM);
  const auto status = child->wait(5s);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->code(), 0) << *status;
}

TEST_F(ServiceNotifyTest, FailedStartExitsOneWithoutReady) {
  const auto cfg = config("test.slow_start", {"start_delay: 0.2", "fail_start: true"});
  auto [status, child] = runToEnd(kSlowStart, {cfg.string(), "it", "--no-banner"}, withWatchdog());
  EXPECT_TRUE(status.exited()) << status;
  EXPECT_EQ(status.code(), 1) << status;
  EXPECT_FALSE(notify_.has("READY=1"));
  EXPECT_EQ(notify_.pings().size(), 0u);
  ASSERT_FALSE(notify_.statuses().empty());
  EXPECT_EQ(notify_.statuses().back(), "failed: Failed to start service: simulated start failure")
      << "systemctl status keeps the reason";
  EXPECT_THAT(child->stderrText(), HasSubstr("simulated start failure"));
}

// ---- stop ------------------------------------------------------------------------------------

TEST_F(ServiceNotifyTest, IgnoreTermExitsOneAfterTheStopTimeout) {
  const auto cfg = config("test.ignore_term", {"stop_timeout: 1"});
  auto child = spawn(kIgnoreTerm, {cfg.string(), "it", "--no-banner"}, withWatchdog());
  ASSERT_TRUE(notify_.waitFor("READY=1"));
  ASSERT_TRUE(waitUntil([&] { return notify_.pings().size() >= 2; })) << "keepAlive() keeps it alive";
  const auto termAt = Clock::now();
  child->signal(SIGTERM);
  const auto status = child->wait(10s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->exited()) << *status;
  EXPECT_EQ(status->code(), 1) << *status;
  const double took = secondsOf(child->endedAt() - termAt);
  EXPECT_GT(took, 0.9);
  EXPECT_LT(took, 4.0);
  EXPECT_TRUE(notify_.has("STOPPING=1"));
  EXPECT_EQ(notify_.statuses().back(), "failed: Did not stop in time");
  EXPECT_THAT(child->stderrText(), HasSubstr("did not stop within 1.0 s"));
}

TEST_F(ServiceNotifyTest, SecondSigtermWhileStoppingExitsAtOnce) {
  const auto cfg = config("test.ignore_term", {"stop_timeout: 20"});
  auto child = spawn(kIgnoreTerm, {cfg.string(), "it", "--no-banner"});
  ASSERT_TRUE(notify_.waitFor("READY=1"));
  const auto firstAt = Clock::now();
  child->signal(SIGTERM);
  ASSERT_TRUE(notify_.waitFor("STOPPING=1"));
  // A repeat within 200 ms of the first counts as the same stop delivered twice and is ignored;
  // the operator is slower. Insist like one: repeat SIGTERM until the service leaves.
  Clock::time_point lastAt;
  std::optional<ExitStatus> status;
  ASSERT_TRUE(waitUntil(
      [&] {
        lastAt = Clock::now();
        child->signal(SIGTERM);
        status = child->wait(50ms);
        return status.has_value();
      },
      10s, 0ms))
      << "repeated SIGTERMs did not end it";
  EXPECT_TRUE(status->exited()) << *status;
  EXPECT_EQ(status->code(), 128 + SIGTERM) << *status;
  EXPECT_GE(secondsOf(child->endedAt() - firstAt), 0.2) << "a repeat within 200 ms must be ignored";
  EXPECT_LT(secondsOf(child->endedAt() - lastAt), 2.0);
  EXPECT_THAT(child->stderrText(), HasSubstr("again while stopping"));
}

// ---- cyclic ----------------------------------------------------------------------------------

TEST_F(ServiceNotifyTest, CyclicServiceCyclesAndReportsOverruns) {
  const auto cfg = config("test.cyclic", {"interval: 0.2", "work: 0.01", "overrun_every: 3", "overrun_work: 0.5"});
  auto child = spawn(kCyclic, {cfg.string(), "it", "--no-banner"}, withWatchdog());
  ASSERT_TRUE(notify_.waitFor("READY=1"));
  ASSERT_TRUE(notify_.waitFor("STATUS=ok: 4 cycles", 10s));
  EXPECT_TRUE(notify_.has("STATUS=ok: 1 cycles"));
  EXPECT_TRUE(notify_.has("STATUS=ok: 3 cycles"));
  // Cycle 3 worked 0.5 s from ~0.4 s: ticks 0.6 and 0.8 are skipped, cycle 4 runs at ~1.0 s.
  const double gap = secondsOf(notify_.find("STATUS=ok: 4 cycles")->at - notify_.find("STATUS=ok: 3 cycles")->at);
  EXPECT_GT(gap, 0.03) << "no back-to-back catch-up cycle after the overrun";
  EXPECT_THAT(child->stderrText(), HasSubstr("skipped 2 tick(s)"));
  child->signal(SIGTERM);
  const auto status = child->wait(5s);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->code(), 0) << *status;
}

// ---- configuration errors --------------------------------------------------------------------

TEST_F(ServiceNotifyTest, SettingOfTheWrongTypeExits78NamingFileAndLine) {
  const auto cfg = config("hello_world", {"interval: \"abc\"", "message: hi"});
  auto [status, child] = runToEnd(kHelloWorld, {cfg.string(), "it", "--no-banner"});
  EXPECT_TRUE(status.exited()) << status;
  EXPECT_EQ(status.code(), 78) << status;
  EXPECT_FALSE(notify_.has("READY=1"));
  const auto err = child->stderrText();
  EXPECT_THAT(err, HasSubstr(cfg.string() + ":6:"));
  EXPECT_THAT(err, HasSubstr("services[0].interval"));
  EXPECT_THAT(err, HasSubstr("'abc'"));
  EXPECT_THAT(err, Not(HasSubstr("cleaning up"))) << "onStop() does not follow a failed onStart()";
  ASSERT_FALSE(notify_.statuses().empty());
  EXPECT_THAT(notify_.statuses().back(), StartsWith("failed: Configuration error: " + cfg.string() + ":6:"));
}

TEST_F(ServiceNotifyTest, InvalidEntryExits78NamingFileAndLine) {
  const auto cfg = config("hello_world", {"interval: 1", "restart: sometimes"});
  auto [status, child] = runToEnd(kHelloWorld, {cfg.string(), "it", "--no-banner"});
  EXPECT_EQ(status.code(), 78) << status;
  EXPECT_FALSE(notify_.has("READY=1"));
  EXPECT_THAT(child->stderrText(), HasSubstr(cfg.string() + ":7:"));
  EXPECT_THAT(child->stderrText(), HasSubstr("sometimes"));
}

TEST_F(ServiceNotifyTest, ANonPositiveStopTimeoutExits78) {
  const auto cfg = config("hello_world", {"stop_timeout: -1"});
  auto [status, child] = runToEnd(kHelloWorld, {cfg.string(), "it", "--no-banner"});
  EXPECT_EQ(status.code(), 78) << status;
  EXPECT_FALSE(notify_.has("READY=1"));
  EXPECT_THAT(child->stderrText(), HasSubstr("services[0].stop_timeout: -1 must be 0 < s <= 3600"));
}

TEST_F(ServiceNotifyTest, CyclicIntervalOfZeroExits78) {
  const auto cfg = config("test.cyclic", {"interval: 0"});
  auto [status, child] = runToEnd(kCyclic, {cfg.string(), "it", "--no-banner"});
  EXPECT_EQ(status.code(), 78) << status;
  EXPECT_FALSE(notify_.has("READY=1"));
  EXPECT_THAT(child->stderrText(), HasSubstr(cfg.string() + ":6:"));
}

TEST_F(ServiceNotifyTest, MissingOrBrokenConfigFileExits78) {
  {
    auto [status, child] = runToEnd(kHelloWorld, {(dir_ / "missing.yaml").string(), "it", "--no-banner"});
    EXPECT_EQ(status.code(), 78) << status;
    EXPECT_THAT(child->stderrText(), HasSubstr("missing.yaml"));
  }
  {
    const auto broken = dir_.write("broken.yaml", "services: [\n  - type: x\n");
    auto [status, child] = runToEnd(kHelloWorld, {broken.string(), "it", "--no-banner"});
    EXPECT_EQ(status.code(), 78) << status;
    EXPECT_THAT(child->stderrText(), HasSubstr("broken.yaml"));
  }
  EXPECT_TRUE(notify_.messages().empty()) << "nothing is sent before the runtime starts";
}

TEST_F(ServiceNotifyTest, ServiceMissingFromTheConfigRunsWithDefaults) {
  const auto cfg = config("hello_world", {"interval: 0.2"});
  auto child = spawn(kHelloWorld, {cfg.string(), "other", "--no-banner"});
  ASSERT_TRUE(notify_.waitFor("READY=1"));
  // The first message is logged by run() on the worker: wait for it before stopping.
  ASSERT_TRUE(notify_.waitFor("STATUS=ok: Hello World! (1 sent)"));
  child->signal(SIGTERM);
  const auto status = child->wait(5s);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->code(), 0) << *status;
  EXPECT_THAT(child->stderrText(), HasSubstr("hello_world.other is not configured"));
  EXPECT_THAT(child->stderrText(), HasSubstr("(interval: 5s)")) << "the built-in default";
}

// ---- command line ----------------------------------------------------------------------------

TEST_F(ServiceNotifyTest, HelpAndVersionPrintToStdoutAndExitZeroWithoutNotifying) {
  {
    auto [status, child] = runToEnd(kHelloWorld, {"--help"});
    EXPECT_EQ(status.code(), 0) << status;
    EXPECT_THAT(child->stdoutText(), HasSubstr("--log-level"));
    EXPECT_THAT(child->stdoutText(), HasSubstr("--no-banner"));
  }
  {
    auto [status, child] = runToEnd(kHelloWorld, {"--version"});
    EXPECT_EQ(status.code(), 0) << status;
    EXPECT_THAT(child->stdoutText(), StartsWith("hello_world "));
  }
  {
    auto [status, child] = runToEnd(kCrash, {"--version"});
    EXPECT_EQ(status.code(), 0) << status;
    EXPECT_THAT(child->stdoutText(), StartsWith("test.crash "));
  }
  EXPECT_TRUE(notify_.messages().empty());
}

TEST_F(ServiceNotifyTest, BadCommandLinesExitTwo) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--bogus"}, {"--log-level", "LOUD"}, {"a.yaml", "b", "c"}, {"--runner-id"}}) {
    auto [status, child] = runToEnd(kHelloWorld, args);
    EXPECT_TRUE(status.exited()) << status;
    EXPECT_EQ(status.code(), 2) << status << " for " << args.front();
  }
  auto [status, child] = runToEnd(kHelloWorld, {"--log-level", "LOUD"});
  EXPECT_THAT(child->stderrText(), HasSubstr("invalid --log-level 'LOUD'"));
  EXPECT_TRUE(notify_.messages().empty());
}

TEST_F(ServiceNotifyTest, ALonePositionalIsTheVariantUnlessItIsAYamlFile) {
  {
    auto child = spawn(kHelloWorld, {"main"});
    ASSERT_TRUE(notify_.waitFor("READY=1"));
    child->signal(SIGTERM);
    ASSERT_TRUE(child->wait(5s));
    const auto err = child->stderrText();
    EXPECT_THAT(err, HasSubstr("Standalone Service: hello_world.main"));
    EXPECT_THAT(err, HasSubstr("Config: Using defaults (no config file)"));
    EXPECT_THAT(err, HasSubstr(" hello_world.main: "));
  }
  {
    auto [status, child] = runToEnd(kHelloWorld, {(dir_ / "nothere.yml").string()});
    EXPECT_EQ(status.code(), 78) << status << ": a .yml argument is a config file";
  }
  {
    auto [status, child] = runToEnd(kHelloWorld, {"bad.variant"});
    EXPECT_EQ(status.code(), 78) << status << ": a variant with a dot is invalid";
  }
}

// ---- logging ---------------------------------------------------------------------------------

TEST_F(ServiceNotifyTest, StderrLinesCarryLevelAndServiceIdWithoutColourWhenNotATty) {
  const auto cfg = config("hello_world", {"interval: 0.2"});
  auto child = spawn(kHelloWorld, {cfg.string(), "it"});
  ASSERT_TRUE(notify_.waitFor("STATUS=ok: Hello World! (2 sent)"));
  child->signal(SIGTERM);
  ASSERT_TRUE(child->wait(5s));
  const auto err = child->stderrText();
  EXPECT_FALSE(hasEscapeCodes(err));
  const std::regex line(
      R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) +hello_world\.it: .+$)");
  int records = 0;
  for (const auto& l : splitLines(err)) {
    if (l.empty() || l.starts_with("====") || l.starts_with("TCS - ") || l.starts_with("Standalone Service:") ||
        l.starts_with("Config:"))
      continue;  // the banner
    EXPECT_TRUE(std::regex_match(l, line)) << l;
    ++records;
  }
  EXPECT_GE(records, 3);
  EXPECT_THAT(err, HasSubstr(" INFO     hello_world.it: Hello World! (interval: 0.2s)"));
}

TEST_F(ServiceNotifyTest, CommandLineEnvironmentAndConfigEachSetTheLogLevelAndTheCommandLineBeatsTheConfig) {
  struct Case {
    std::vector<std::string> settings;
    std::vector<std::string> args;
    std::vector<std::string> env;
    bool infoShown;
  };
  for (const auto& c :
       {Case{{"interval: 0.2"}, {}, {}, true}, Case{{"interval: 0.2"}, {"--log-level", "WARNING"}, {}, false},
        Case{{"interval: 0.2"}, {}, {"TCS_LOG_LEVEL=error"}, false},
        Case{{"interval: 0.2", "log_level: WARNING"}, {}, {}, false},
        Case{{"interval: 0.2", "log_level: WARNING"}, {"--log-level", "debug"}, {}, true}}) {
    const auto cfg = config("hello_world", c.settings);
    std::vector<std::string> args{cfg.string(), "it", "--no-banner"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    notify_.clear();
    auto child = spawn(kHelloWorld, args, withEnv(c.env));
    ASSERT_TRUE(waitUntil([&] {
      const auto s = notify_.statuses();
      return std::count(s.begin(), s.end(), "ok: Hello World! (2 sent)") > 0;
    }));
    child->signal(SIGTERM);
    const auto status = child->wait(5s);
    ASSERT_TRUE(status);
    EXPECT_EQ(status->code(), 0);
    const auto err = child->stderrText();
    EXPECT_EQ(err.find(" INFO ") != std::string::npos, c.infoShown) << err;
  }
}

TEST_F(ServiceNotifyTest, ColourOnlyOnATtyAndNeverWithNoColor) {
  // test.crash logs INFO (uncoloured by design) and then an ERROR line before it exits.
  const auto cfg = config("test.crash", {"run_duration: 0.05", "exit_code: 5"});
  for (const bool noColor : {false, true}) {
    PtyCapture pty;
    SpawnOptions o;
    o.stderrTty = pty.slave();
    if (noColor) o.env.push_back("NO_COLOR=1");
    auto child = spawn(kCrash, {cfg.string(), "it", "--no-banner"}, o);
    pty.start();
    const auto status = child->wait(10s);
    ASSERT_TRUE(status);
    EXPECT_EQ(status->code(), 5) << *status;
    const auto out = pty.finish();
    EXPECT_THAT(out, HasSubstr("simulated crash"));
    EXPECT_EQ(hasEscapeCodes(out), !noColor) << (noColor ? "NO_COLOR=1: " : "a TTY: ") << out;
    if (!noColor) {
      EXPECT_THAT(out, HasSubstr("\033[31mERROR   \033[0m test.crash.it: simulated crash"));
    }
  }
}

// ---- journal mode ----------------------------------------------------------------------------
// Under systemd records go to journald (sd_journal_send): no banner and no human-readable lines
// on stderr. A JOURNAL_STREAM naming the stream stderr really is selects it; INVOCATION_ID does
// too, but only when a journal socket exists to write to.

bool journaldRuns() {
  return fs::exists("/run/systemd/journal/socket");
}

/** @brief `journalctl -o cat <match>` (empty when journalctl fails). */
std::string journalMessages(const std::string& match) {
  const std::string cmd = "journalctl --no-pager -q -o cat " + match + " 2>/dev/null";
  std::string out;
  if (std::FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

/** @brief A string no earlier run has used, for finding this run's records in the journal. */
std::string uniqueWord() {
  return fmt::format("t{}x{}", ::getpid(), Clock::now().time_since_epoch().count());
}

TEST_F(ServiceNotifyTest, AJournalStreamThatIsNotStderrKeepsTheBannerAndHumanReadableLines) {
  const auto cfg = config("hello_world", {"interval: 0.2"});
  auto child = spawn(kHelloWorld, {cfg.string(), "it"}, withEnv({"JOURNAL_STREAM=1:1"}));
  ASSERT_TRUE(notify_.waitFor("READY=1"));
  child->signal(SIGTERM);
  const auto status = child->wait(5s);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->code(), 0) << *status;
  EXPECT_THAT(child->stderrText(), HasSubstr("Standalone Service:"));
  EXPECT_THAT(child->stderrText(), HasSubstr(" INFO     hello_world.it: hello_world.it is ready"));
}

TEST_F(ServiceNotifyTest, AnInvocationIdWithoutAJournalSocketKeepsLoggingToStderr) {
  if (journaldRuns()) GTEST_SKIP() << "journald runs here (/run/systemd/journal/socket exists)";
  const auto cfg = config("hello_world", {"interval: 0.2"});
  auto child = spawn(kHelloWorld, {cfg.string(), "it"}, withEnv({"INVOCATION_ID=0123456789abcdef0123456789abcdef"}));
  ASSERT_TRUE(notify_.waitFor("READY=1"));
  child->signal(SIGTERM);
  const auto status = child->wait(5s);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->code(), 0) << *status;
  EXPECT_THAT(child->stderrText(), HasSubstr("Standalone Service:"));
  EXPECT_THAT(child->stderrText(), HasSubstr(" INFO     hello_world.it: hello_world.it is ready"));
}

TEST_F(ServiceNotifyTest, UnderSystemdRecordsReachTheJournalAndStderrStaysQuiet) {
  // A variant of its own finds this run's records: TCS_SERVICE_ID=hello_world.<variant>.
  const std::string variant = uniqueWord();
  const auto cfg = dir_.write("services.yaml",
                              "services:\n  - type: hello_world\n    variant: " + variant + "\n    interval: 0.2\n");
  // The child's stderr file: it is opened with O_TRUNC, which keeps the inode.
  const auto next = dir_ / ("stderr-" + std::to_string(spawned_ + 1) + ".txt");
  std::ofstream(next).put('\n');
  struct stat st {};
  ASSERT_EQ(::stat(next.c_str(), &st), 0);
  std::vector<std::string> env{fmt::format("JOURNAL_STREAM={}:{}", st.st_dev, st.st_ino)};
  if (journaldRuns()) env.push_back("INVOCATION_ID=0123456789abcdef0123456789abcdef");
  auto child = spawn(kHelloWorld, {cfg.string(), variant}, withEnv(env));
  ASSERT_TRUE(notify_.waitFor("READY=1"));
  child->signal(SIGTERM);
  const auto status = child->wait(5s);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->code(), 0) << *status;
  const auto err = child->stderrText();
  EXPECT_THAT(err, Not(HasSubstr("Standalone Service:"))) << "no banner under systemd";
  // Only sd_journal_send's failure fallback ("<priority>message") may reach stderr.
  for (const auto& l : splitLines(err))
    if (!l.empty()) {
      EXPECT_TRUE(std::regex_search(l, std::regex(R"(^<[0-7]>)"))) << l;
    }

  // sd_journal_send() drops records silently when there is no journal socket: what it sent
  // counts only once it is read back.
  if (!journaldRuns())
    GTEST_SKIP() << "journald is not running here (no /run/systemd/journal/socket): the records sent to the "
                    "journal cannot be read back, so their arrival is unchecked";
  const std::string probe = "tcs-test-probe-" + uniqueWord();
  if (std::system(("echo probe | systemd-cat -t " + probe + " >/dev/null 2>&1").c_str()) != 0 ||
      !waitUntil([&] { return !journalMessages("SYSLOG_IDENTIFIER=" + probe).empty(); }, 10s, 100ms))
    GTEST_SKIP() << "journald runs, but a record written with systemd-cat cannot be read back with journalctl "
                    "here (permissions?): the service's records are unchecked";
  const std::string match = "TCS_SERVICE_ID=hello_world." + variant;
  std::string journal;
  EXPECT_TRUE(waitUntil(
      [&] {
        journal = journalMessages(match);
        return journal.find("is ready") != std::string::npos &&
               journal.find("stopped (exit status 0)") != std::string::npos;
      },
      10s, 100ms))
      << "records lost: journalctl " << match << " shows:\n"
      << journal;
  EXPECT_THAT(journal, HasSubstr("hello_world." + variant + " is ready"));
  EXPECT_THAT(journal, HasSubstr("received Terminated: stopping hello_world." + variant));
}

}  // namespace
