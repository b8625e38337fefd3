// SPDX-License-Identifier: MIT
// Unit tests of the service lifecycle: tcs::Runtime (internal, libtcs/src/runtime/) driven directly, with a fake
// notifier that records every sd_notify message with its time, and small services of each kind.
// Timing checks are deliberately loose (a noisy 2-core machine, sanitizer builds); nothing
// sleeps blindly — the tests poll conditions with deadlines.
#include "runtime/runtime.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "notify_log.hpp"
#include "tcs/config.hpp"
#include "tcs/error.hpp"
#include "tcs/log.hpp"
#include "tcs/notify.hpp"
#include "tcs/service.hpp"
#include "tcs/status.hpp"
#include "wait_until.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using tcs::RunOptions;
using tcs::Runtime;
using Phase = tcs::Runtime::Phase;
using tcs::Status;
using tcs::config::Value;
using tcs::log::Level;
using tcs::test::waitUntil;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

double secondsOf(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

using tcs::test::splitLines;

// ---- fake notifier ---------------------------------------------------------------------------

/** @brief Records every notification with the time it was sent. */
class FakeNotifier final : public tcs::INotifier, public tcs::test::NotifyLog {
 public:
  explicit FakeNotifier(std::optional<std::chrono::microseconds> watchdog = std::nullopt) : watchdog_(watchdog) {}

  void notify(std::string_view message) override { add({Clock::now(), std::string(message)}); }
  std::optional<std::chrono::microseconds> watchdogInterval() const override { return watchdog_; }

 private:
  std::optional<std::chrono::microseconds> watchdog_;
};

// ---- fake clock ------------------------------------------------------------------------------

/**
 * @brief A RuntimeClock that stands still until the test advances it: the runtime's
 * time-based decisions (watchdog liveness, the repeated-signal window) then depend on the
 * test's steps only, not on how fast the machine runs.
 */
class FakeClock {
 public:
  FakeClock() : now_(Clock::now().time_since_epoch().count()) {}
  void advance(Clock::duration d) { now_ += d.count(); }
  Clock::time_point now() const { return Clock::time_point(Clock::duration(now_.load())); }
  tcs::RuntimeClock runtimeClock() {
    return tcs::RuntimeClock{[this] { return now(); }};
  }

 private:
  std::atomic<Clock::rep> now_;
};

// ---- log capture -----------------------------------------------------------------------------

struct Record {
  Level level;
  std::string message;
  std::string file;
  unsigned line;
};

class CaptureSink final : public tcs::log::Sink {
 public:
  void write(Level level, std::string_view message, const std::source_location& where) override {
    std::lock_guard lock(mutex_);
    records_.push_back({level, std::string(message), where.file_name(), static_cast<unsigned>(where.line())});
  }
  std::vector<Record> records() const {
    std::lock_guard lock(mutex_);
    return records_;
  }
  std::optional<Record> find(std::string_view substring) const {
    for (const auto& r : records())
      if (r.message.find(substring) != std::string::npos) return r;
    return std::nullopt;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Record> records_;
};

/** @brief Installs a CaptureSink for the test's lifetime, restoring the previous sink and level. */
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<CaptureSink>()), previous_(tcs::log::setSink(sink_)) {
    tcs::log::setLevel(Level::Debug);
  }
  ~LogCapture() {
    tcs::log::setSink(previous_);
    tcs::log::setLevel(level_);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  CaptureSink& sink() { return *sink_; }

 private:
  std::shared_ptr<CaptureSink> sink_;
  std::shared_ptr<tcs::log::Sink> previous_;
  Level level_ = tcs::log::level();
};

// ---- test services ---------------------------------------------------------------------------

/** @brief A PermanentService whose hooks are lambdas; the protected API made public. */
class TestPermanent : public tcs::PermanentService {
 public:
  std::function<void(TestPermanent&)> onStartFn, onStopFn;
  using tcs::Service::keepAlive;
  using tcs::Service::log;
  Runtime& runtime() const { return tcs::ServiceAccess::runtime(*this); }
  using tcs::Service::setStatus;
  using tcs::Service::sleep;

 protected:
  void start() override {
    if (onStartFn) onStartFn(*this);
  }
  void stop() override {
    if (onStopFn) onStopFn(*this);
  }
};

class TestBlocking : public tcs::BlockingService {
 public:
  std::function<void(TestBlocking&)> onStartFn, onStopFn;
  std::function<void(TestBlocking&, std::stop_token)> runFn;
  std::atomic<bool> onStopCalled{false};
  std::atomic<bool> runCalled{false};
  using tcs::Service::finish;
  using tcs::Service::keepAlive;
  using tcs::Service::log;
  using tcs::Service::running;
  Runtime& runtime() const { return tcs::ServiceAccess::runtime(*this); }
  using tcs::Service::setStatus;
  using tcs::Service::sleep;
  using tcs::Service::stopping;

 protected:
  void onStart() override {
    if (onStartFn) onStartFn(*this);
  }
  void run() override {
    runCalled = true;
    if (runFn) runFn(*this, stopToken());
  }
  void onStop() override {
    onStopCalled = true;
    if (onStopFn) onStopFn(*this);
  }
};

class TestSingleShot : public tcs::SingleShotService {
 public:
  std::function<int(TestSingleShot&)> executeFn;
  Runtime& runtime() const { return tcs::ServiceAccess::runtime(*this); }
  using tcs::Service::sleep;

 protected:
  int execute() override { return executeFn ? executeFn(*this) : 0; }
};

class TestCyclic : public tcs::CyclicService {
 public:
  std::function<void(TestCyclic&)> cycleFn;
  std::function<void(TestCyclic&)> onStartFn;
  std::atomic<bool> onStopCalled{false};
  using tcs::CyclicService::cycleCount;
  using tcs::CyclicService::interval;
  using tcs::Service::finish;
  using tcs::Service::keepAlive;
  using tcs::Service::stopping;

 protected:
  void onStart() override {
    if (onStartFn) onStartFn(*this);
  }
  void cycle() override {
    if (cycleFn) cycleFn(*this);
  }
  void onStop() override { onStopCalled = true; }
  double defaultInterval() const override { return 0.1; }
};

// ---- harness ---------------------------------------------------------------------------------

RunOptions makeOptions(Value::Entries settings = {}) {
  RunOptions o;
  o.type = "test.unit";
  o.variant = "dev";
  o.settings = tcs::config::Settings("unit.yaml", Value::mapping(std::move(settings), "services[0]", {3, 5}));
  o.stopTimeout = 3s;
  o.signalFd = -1;
  o.exitOnStuckWorker = false;
  return o;
}

/** @brief Runs Runtime::run() on its own thread; the destructor stops and joins it. */
class Harness {
 public:
  Harness(tcs::Service& service, RunOptions options, FakeNotifier& notifier)
      : notifier_(notifier), runtime_(service, std::move(options), notifier) {}
  ~Harness() {
    if (!thread_.joinable()) return;
    runtime_.requestStop();
    if (!waitUntil([&] { return done_.load(); }, 30s)) {
      std::fprintf(stderr, "runtime_test: Runtime::run() did not return after requestStop(); aborting\n");
      std::abort();  // better than hanging the test run
    }
    thread_.join();
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  void start() {
    thread_ = std::thread([this] {
      code_ = runtime_.run();
      done_ = true;
    });
  }
  bool ready(std::chrono::milliseconds timeout = 10s) {
    return waitUntil([&] { return notifier_.has("READY=1"); }, timeout);
  }
  /** @return run()'s exit status, or nullopt if it did not return within @p timeout. */
  std::optional<int> wait(std::chrono::milliseconds timeout = 10s) {
    if (!waitUntil([&] { return done_.load(); }, timeout)) return std::nullopt;
    if (thread_.joinable()) thread_.join();
    return code_;
  }
  std::optional<int> stop(std::chrono::milliseconds timeout = 10s) {
    runtime_.requestStop();
    return wait(timeout);
  }
  bool done() const { return done_.load(); }
  Runtime& runtime() { return runtime_; }

 private:
  FakeNotifier& notifier_;
  Runtime runtime_;
  std::thread thread_;
  std::atomic<bool> done_{false};
  int code_ = -1;
};

/** @brief A one-shot latch a test opens to let a hook continue. */
class Gate {
 public:
  void open() { open_ = true; }
  bool isOpen() const { return open_.load(); }
  /**
   * @brief Waits (without passing a liveness point) until open or @p orElse holds (so a failing
   * test that stops the runtime early does not leave the hook waiting); false on timeout.
   */
  bool waitOpen(const std::function<bool()>& orElse = {}, std::chrono::milliseconds timeout = 20s) const {
    return waitUntil([&] { return open_.load() || (orElse && orElse()); }, timeout, 2ms);
  }

 private:
  std::atomic<bool> open_{false};
};

std::string readyMessage(std::string_view status) {
  return fmt::format("READY=1\nMAINPID={}\nSTATUS={}", ::getpid(), status);
}

class RuntimeTest : public ::testing::Test {
 protected:
  LogCapture logs_;
};

// ---- lifecycle state machine -----------------------------------------------------------------

TEST_F(RuntimeTest, PermanentServiceGoesThroughThePhasesAndSendsTheProtocolInOrder) {
  FakeNotifier notifier;
  TestPermanent service;
  std::atomic<Phase> phaseInStart{Phase::Created}, phaseInStop{Phase::Created};
  std::atomic<bool> readyBeforeStartReturned{true}, stoppingBeforeStop{false};
  service.onStartFn = [&](TestPermanent& s) {
    phaseInStart = s.runtime().phase();
    readyBeforeStartReturned = notifier.has("READY=1");
  };
  service.onStopFn = [&](TestPermanent& s) {
    phaseInStop = s.runtime().phase();
    stoppingBeforeStop = notifier.has("STOPPING=1");
  };
  Harness h(service, makeOptions(), notifier);
  EXPECT_EQ(h.runtime().phase(), Phase::Created);
  h.start();
  ASSERT_TRUE(h.ready());
  EXPECT_TRUE(waitUntil([&] { return h.runtime().phase() == Phase::Running; }));
  EXPECT_EQ(h.runtime().status(), Status::Ok);
  EXPECT_EQ(h.runtime().statusMessage(), "Service running");
  EXPECT_EQ(phaseInStart.load(), Phase::Starting);
  EXPECT_FALSE(readyBeforeStartReturned.load());

  EXPECT_EQ(h.stop(), 0);
  EXPECT_EQ(phaseInStop.load(), Phase::Stopping);
  EXPECT_TRUE(stoppingBeforeStop.load()) << "STOPPING=1 is sent before stop() runs";
  EXPECT_EQ(h.runtime().phase(), Phase::Stopped);
  EXPECT_THAT(notifier.lifecycle(),
              ElementsAre("STATUS=startup: Starting service", readyMessage("ok: Service running"), "STOPPING=1",
                          "STATUS=shutdown: Stopping service", "STATUS=shutdown: Service stopped"));
  EXPECT_EQ(h.runtime().status(), Status::Shutdown);
  EXPECT_EQ(h.runtime().statusMessage(), "Service stopped");
  EXPECT_EQ(h.runtime().serviceId(), "test.unit.dev");
}

TEST_F(RuntimeTest, ReadyIsSentOnlyAfterOnStartReturned) {
  FakeNotifier notifier;
  TestBlocking service;
  Gate gate;
  std::atomic<bool> inOnStart{false};
  std::atomic<Clock::rep> released{0};
  service.onStartFn = [&](TestBlocking& s) {
    inOnStart = true;
    ASSERT_TRUE(gate.waitOpen([&] { return s.stopping(); }));
    released = Clock::now().time_since_epoch().count();
  };
  service.runFn = [](TestBlocking& s, std::stop_token) {
    while (s.sleep(10.0)) {
    }
  };
  Harness h(service, makeOptions(), notifier);
  h.start();
  ASSERT_TRUE(waitUntil([&] { return inOnStart.load(); }));
  EXPECT_EQ(h.runtime().phase(), Phase::Starting);
  EXPECT_FALSE(notifier.has("READY=1"));
  EXPECT_EQ(notifier.lifecycle(), std::vector<std::string>{"STATUS=startup: Starting service"});
  EXPECT_FALSE(service.runCalled.load()) << "run() starts only after onStart()";
  gate.open();
  ASSERT_TRUE(h.ready());
  EXPECT_GE(*notifier.timeOf("READY=1"), Clock::time_point(Clock::duration(released.load())));
  EXPECT_TRUE(waitUntil([&] { return service.runCalled.load(); }));
  EXPECT_EQ(h.stop(), 0);
  EXPECT_TRUE(service.onStopCalled.load());
}

TEST_F(RuntimeTest, SetStatusIsMirroredWithoutDuplicates) {
  FakeNotifier notifier;
  TestBlocking service;
  Gate proceed;
  std::vector<std::string> heard;
  std::mutex heardMutex;
  std::atomic<bool> updatesDone{false};
  service.runFn = [&](TestBlocking& s, std::stop_token) {
    ASSERT_TRUE(proceed.waitOpen([&] { return s.stopping(); }));
    s.setStatus(Status::Ok, "Hello World! (1 sent)");
    s.setStatus(Status::Ok, "Hello World! (1 sent)");  // unchanged: nothing sent
    s.setStatus(Status::Ok, "Hello World! (2 sent)");
    s.setStatus(Status::Degraded, "Hello World! (2 sent)");  // same message, other status: sent
    s.setStatus(Status::Busy, "");
    s.setStatus(Status::Busy);
    updatesDone = true;
    while (s.sleep(10.0)) {
    }
  };
  Harness h(service, makeOptions(), notifier);
  h.runtime().onStatusChange([&](Status st, const std::string& msg) {
    std::lock_guard lock(heardMutex);
    heard.push_back(fmt::format("{}|{}", tcs::toString(st), msg));
  });
  h.start();
  ASSERT_TRUE(h.ready());
  proceed.open();
  ASSERT_TRUE(waitUntil([&] { return updatesDone.load(); }));
  EXPECT_EQ(h.runtime().status(), Status::Busy);
  EXPECT_EQ(h.runtime().statusMessage(), "");
  EXPECT_EQ(h.stop(), 0);
  EXPECT_THAT(notifier.statuses(),
              ElementsAre("startup: Starting service", "ok: Service running", "ok: Hello World! (1 sent)",
                          "ok: Hello World! (2 sent)", "degraded: Hello World! (2 sent)", "busy",
                          "shutdown: Stopping service", "shutdown: Service stopped"));
  std::lock_guard lock(heardMutex);
  EXPECT_THAT(heard, Contains("ok|Hello World! (1 sent)"));
  EXPECT_THAT(heard, Contains("degraded|Hello World! (2 sent)"));
  EXPECT_EQ(std::count(heard.begin(), heard.end(), "ok|Hello World! (1 sent)"), 1);
}

TEST_F(RuntimeTest, RunBeginsOnlyOnceTheServiceIsReady) {
  // The first status a worker sets comes after the framework's "ok: Service running" and after
  // READY=1, however quickly the worker thread is scheduled: run() begins once start is done.
  FakeNotifier notifier;
  TestBlocking service;
  std::atomic<bool> readyBeforeRun{false};
  std::atomic<bool> updated{false};
  service.runFn = [&](TestBlocking& s, std::stop_token) {
    readyBeforeRun = notifier.has("READY=1");
    s.setStatus(Status::Ok, "first greeting");
    updated = true;
    while (s.sleep(10.0)) {
    }
  };
  Harness h(service, makeOptions(), notifier);
  // Widens the window between the start and READY=1 (this runs on the runtime's thread when
  // it sets "Service running"), so a worker started too early is caught every time.
  h.runtime().onStatusChange([](Status, const std::string& message) {
    if (message == "Service running") std::this_thread::sleep_for(50ms);
  });
  h.start();
  ASSERT_TRUE(waitUntil([&] { return updated.load(); }));
  EXPECT_TRUE(readyBeforeRun.load());
  EXPECT_EQ(h.stop(), 0);
  EXPECT_THAT(notifier.statuses(), ElementsAre("startup: Starting service", "ok: Service running", "ok: first greeting",
                                               "shutdown: Stopping service", "shutdown: Service stopped"));
}

TEST_F(RuntimeTest, StatusSetDuringStartIsCarriedByReady) {
  FakeNotifier notifier;
  TestPermanent service;
  service.onStartFn = [](TestPermanent& s) { s.setStatus(Status::Degraded, "camera offline"); };
  Harness h(service, makeOptions(), notifier);
  h.start();
  ASSERT_TRUE(h.ready());
  EXPECT_TRUE(notifier.has("STATUS=degraded: camera offline"));
  const auto ready = notifier.indexOf("READY=1");
  ASSERT_TRUE(ready);
  EXPECT_EQ(notifier.messages()[*ready].text, readyMessage("degraded: camera offline"));
  EXPECT_EQ(h.stop(), 0);
}

TEST_F(RuntimeTest, StopRequestedDuringStartStopsRightAfterReady) {
  FakeNotifier notifier;
  TestBlocking service;
  service.onStartFn = [](TestBlocking& s) { s.runtime().requestStop(); };
  service.runFn = [](TestBlocking& s, std::stop_token stop) {
    EXPECT_TRUE(stop.stop_requested());
    EXPECT_FALSE(s.sleep(10.0));
  };
  Harness h(service, makeOptions(), notifier);
  h.start();
  EXPECT_EQ(h.wait(), 0);
  EXPECT_TRUE(notifier.has("READY=1"));
  EXPECT_TRUE(notifier.has("STOPPING=1"));
}

TEST_F(RuntimeTest, ServiceApiOutsideTheRuntimeThrows) {
  TestBlocking service;
  EXPECT_THROW(service.keepAlive(), std::logic_error);
  EXPECT_THROW(service.setStatus(Status::Ok, "x"), std::logic_error);
  EXPECT_THROW((void)service.sleep(0.01), std::logic_error);
}

// ---- exit codes ------------------------------------------------------------------------------

TEST_F(RuntimeTest, StartThrowingExitsOneWithoutReadyAndKeepsTheReason) {
  FakeNotifier notifier;
  TestPermanent service;
  std::atomic<bool> stopCalled{false};
  service.onStartFn = [](TestPermanent&) { throw std::runtime_error("no camera"); };
  service.onStopFn = [&](TestPermanent&) { stopCalled = true; };
  Harness h(service, makeOptions(), notifier);
  h.start();
  EXPECT_EQ(h.wait(), 1);
  EXPECT_FALSE(notifier.has("READY=1"));
  EXPECT_FALSE(stopCalled.load()) << "stop() is the counterpart of a successful start()";
  EXPECT_EQ(h.runtime().phase(), Phase::Stopped);
  EXPECT_EQ(h.runtime().status(), Status::Failed);
  EXPECT_EQ(h.runtime().statusMessage(), "Failed to start service: no camera");
  ASSERT_FALSE(notifier.statuses().empty());
  EXPECT_EQ(notifier.statuses().back(), "failed: Failed to start service: no camera")
      << "the last STATUS= (what systemctl status shows) names the reason";
  const auto rec = logs_.sink().find("no camera");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->level, Level::Critical);
}

TEST_F(RuntimeTest, OnStartThrowingExitsOneAndSkipsRunAndOnStop) {
  FakeNotifier notifier;
  TestBlocking service;
  service.onStartFn = [](TestBlocking&) { throw std::runtime_error("mount unreachable"); };
  service.runFn = [](TestBlocking&, std::stop_token) {};
  Harness h(service, makeOptions(), notifier);
  h.start();
  EXPECT_EQ(h.wait(), 1);
  EXPECT_FALSE(notifier.has("READY=1"));
  EXPECT_FALSE(service.runCalled.load());
  EXPECT_FALSE(service.onStopCalled.load()) << "onStop() runs after run(), which never ran";
  EXPECT_EQ(notifier.statuses().back(), "failed: Failed to start service: mount unreachable");
  // The log must not claim a different exit status than the one returned.
  EXPECT_FALSE(logs_.sink().find("exit status 0")) << logs_.sink().find("exit status 0")->message;
}

TEST_F(RuntimeTest, ConfigErrorInStartExits78) {
  FakeNotifier notifier;
  TestPermanent service;
  service.onStartFn = [](TestPermanent&) {
    throw tcs::ConfigError("unit.yaml", 7, 3, "services[0].port", "expected an integer");
  };
  Harness h(service, makeOptions(), notifier);
  h.start();
  EXPECT_EQ(h.wait(), tcs::exit_code::kConfig);
  EXPECT_EQ(h.wait(), 78);
  EXPECT_FALSE(notifier.has("READY=1"));
  EXPECT_THAT(notifier.statuses().back(), StartsWith("failed: Configuration error: unit.yaml:7"));
  const auto rec = logs_.sink().find("configuration error");
  ASSERT_TRUE(rec);
  EXPECT_THAT(rec->message, HasSubstr("unit.yaml:7"));
}

TEST_F(RuntimeTest, SettingOfTheWrongTypeExits78) {
  FakeNotifier notifier;
  TestBlocking service;
  service.onStartFn = [](TestBlocking& s) { (void)s.runtime().options().settings.get<double>("interval", 1.0); };
  service.runFn = [](TestBlocking&, std::stop_token) {};
  Harness h(service, makeOptions({{"interval", Value::string("abc", "services[0].interval", {5, 15})}}), notifier);
  h.start();
  EXPECT_EQ(h.wait(), 78);
  EXPECT_FALSE(notifier.has("READY=1"));
  EXPECT_THAT(notifier.statuses().back(), HasSubstr("unit.yaml:5:15: services[0].interval"));
}

TEST_F(RuntimeTest, CyclicIntervalErrorsExit78WithoutOnStartOrOnStop) {
  for (const auto& bad :
       {Value::string("abc", "services[0].interval", {4, 15}), Value::real(0.0, "services[0].interval", {4, 15}),
        Value::real(-1.0, "services[0].interval", {4, 15})}) {
    FakeNotifier notifier;
    TestCyclic service;
    std::atomic<bool> started{false};
    service.onStartFn = [&](TestCyclic&) { started = true; };
    Harness h(service, makeOptions({{"interval", bad}}), notifier);
    h.start();
    EXPECT_EQ(h.wait(), 78) << bad.describe();
    EXPECT_FALSE(notifier.has("READY=1"));
    EXPECT_FALSE(started.load());
    EXPECT_FALSE(service.onStopCalled.load()) << bad.describe();
    EXPECT_THAT(notifier.statuses().back(), HasSubstr("unit.yaml:4:15")) << bad.describe();
  }
}

TEST_F(RuntimeTest, RunThrowingExitsOneWithTheReason) {
  FakeNotifier notifier;
  TestBlocking service;
  service.runFn = [](TestBlocking& s, std::stop_token) {
    ASSERT_TRUE(s.sleep(0.05));
    throw std::runtime_error("lost the mount");
  };
  Harness h(service, makeOptions(), notifier);
  h.start();
  EXPECT_EQ(h.wait(), 1);
  EXPECT_TRUE(notifier.has("READY=1"));
  EXPECT_EQ(h.runtime().status(), Status::Failed);
  EXPECT_EQ(notifier.statuses().back(), "failed: Error in service: lost the mount");
  EXPECT_TRUE(service.onStopCalled.load());
  const auto rec = logs_.sink().find("lost the mount");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->level, Level::Error);
}

TEST_F(RuntimeTest, RunThrowingWhileStoppingStillExitsOne) {
  FakeNotifier notifier;
  TestBlocking service;
  service.runFn = [](TestBlocking& s, std::stop_token) {
    while (s.sleep(10.0)) {
    }
    throw std::runtime_error("cleanup failed");
  };
  Harness h(service, makeOptions(), notifier);
  h.start();
  ASSERT_TRUE(h.ready());
  EXPECT_EQ(h.stop(), 1);
  EXPECT_TRUE(logs_.sink().find("cleanup failed"));
}

TEST_F(RuntimeTest, CycleThrowingExitsOne) {
  FakeNotifier notifier;
  TestCyclic service;
  service.cycleFn = [](TestCyclic& s) {
    if (s.cycleCount() == 3) throw std::runtime_error("sensor read failed");
  };
  Harness h(service, makeOptions({{"interval", Value::real(0.02, "services[0].interval", {4, 15})}}), notifier);
  h.start();
  EXPECT_EQ(h.wait(), 1);
  EXPECT_EQ(notifier.statuses().back(), "failed: Error in service: sensor read failed");
  EXPECT_TRUE(service.onStopCalled.load());
}

TEST_F(RuntimeTest, StopThrowingExitsOne) {
  FakeNotifier notifier;
  TestPermanent service;
  service.onStopFn = [](TestPermanent&) { throw std::runtime_error("shutter stuck"); };
  Harness h(service, makeOptions(), notifier);
  h.start();
  ASSERT_TRUE(h.ready());
  EXPECT_EQ(h.stop(), 1);
  EXPECT_TRUE(logs_.sink().find("shutter stuck"));
}

TEST_F(RuntimeTest, NonStandardExceptionsFromStartAndStopAreFailuresToo) {
  {
    FakeNotifier notifier;
    TestPermanent service;
    service.onStartFn = [](TestPermanent&) { throw 42; };
    Harness h(service, makeOptions(), notifier);
    h.start();
    EXPECT_EQ(h.wait(), 1);
    EXPECT_FALSE(notifier.has("READY=1"));
    EXPECT_EQ(notifier.statuses().back(), "failed: Failed to start service: unknown exception");
  }
  {
    FakeNotifier notifier;
    TestPermanent service;
    service.onStopFn = [](TestPermanent&) { throw 42; };
    Harness h(service, makeOptions(), notifier);
    h.start();
    ASSERT_TRUE(h.ready());
    EXPECT_EQ(h.stop(), 1);
  }
  {
    FakeNotifier notifier;
    TestBlocking service;
    service.runFn = [](TestBlocking&, std::stop_token) { throw 42; };
    Harness h(service, makeOptions(), notifier);
    h.start();
    EXPECT_EQ(h.wait(), 1);
    EXPECT_EQ(notifier.statuses().back(), "failed: Error in service: unknown exception");
  }
}

TEST_F(RuntimeTest, RunReturningByItselfExitsZero) {
  FakeNotifier notifier;
  TestBlocking service;
  service.runFn = [](TestBlocking& s, std::stop_token) { EXPECT_TRUE(s.sleep(0.05)); };
  Harness h(service, makeOptions(), notifier);
  h.start();
  EXPECT_EQ(h.wait(), 0) << "nobody called requestStop()";
  EXPECT_TRUE(service.onStopCalled.load());
  EXPECT_EQ(notifier.statuses().back(), "shutdown: Service stopped");
}

TEST_F(RuntimeTest, SingleShotExitsWithItsCodeAfterReady) {
  for (const int code : {0, 3, 42}) {
    FakeNotifier notifier;
    TestSingleShot service;
    service.executeFn = [&](TestSingleShot& s) {
      EXPECT_TRUE(s.sleep(0.02));
      return code;
    };
    Harness h(service, makeOptions(), notifier);
    h.start();
    EXPECT_EQ(h.wait(), code);
    const auto ready = notifier.indexOf("READY=1");
    const auto stopping = notifier.indexOf("STOPPING=1");
    ASSERT_TRUE(ready);
    ASSERT_TRUE(stopping);
    EXPECT_LT(*ready, *stopping);
    EXPECT_TRUE(logs_.sink().find(fmt::format("exit status {}", code)));
  }
}

TEST_F(RuntimeTest, SingleShotThrowingExitsOne) {
  FakeNotifier notifier;
  TestSingleShot service;
  service.executeFn = [](TestSingleShot&) -> int { throw std::runtime_error("disk full"); };
  Harness h(service, makeOptions(), notifier);
  h.start();
  EXPECT_EQ(h.wait(), 1);
  EXPECT_EQ(notifier.statuses().back(), "failed: Error in service: disk full");
}

TEST_F(RuntimeTest, SingleShotStoppedEarlyExitsZero) {
  FakeNotifier notifier;
  TestSingleShot service;
  service.executeFn = [](TestSingleShot& s) { return s.sleep(30.0) ? 5 : 0; };
  Harness h(service, makeOptions(), notifier);
  h.start();
  ASSERT_TRUE(h.ready());
  EXPECT_EQ(h.stop(), 0);
}

// ---- sleep / stop ----------------------------------------------------------------------------

TEST_F(RuntimeTest, SleepReturnsFalsePromptlyOnStop) {
  FakeNotifier notifier;
  TestBlocking service;
  std::atomic<bool> sleeping{false};
  std::atomic<int> result{-1};
  std::atomic<Clock::rep> returnedAt{0};
  service.runFn = [&](TestBlocking& s, std::stop_token stop) {
    sleeping = true;
    result = s.sleep(60.0) ? 1 : 0;
    returnedAt = Clock::now().time_since_epoch().count();
    EXPECT_TRUE(stop.stop_requested());
    EXPECT_TRUE(s.stopping());
    EXPECT_FALSE(s.running());
    const auto t0 = Clock::now();
    EXPECT_FALSE(s.sleep(5.0)) << "once stopping, sleep() returns false at once";
    EXPECT_LT(Clock::now() - t0, 500ms);
  };
  Harness h(service, makeOptions(), notifier);
  h.start();
  ASSERT_TRUE(h.ready());
  ASSERT_TRUE(waitUntil([&] { return sleeping.load(); }));
  const auto stopAt = Clock::now();
  EXPECT_EQ(h.stop(), 0);
  EXPECT_EQ(result.load(), 0);
  EXPECT_LT(Clock::time_point(Clock::duration(returnedAt.load())) - stopAt, 1s);
}

TEST_F(RuntimeTest, SleepReturnsTrueAfterTheFullTime) {
  FakeNotifier notifier;
  TestBlocking service;
  std::atomic<int> result{-1};
  std::atomic<double> slept{0};
  service.runFn = [&](TestBlocking& s, std::stop_token) {
    EXPECT_TRUE(s.running());
    EXPECT_FALSE(s.stopping());
    const auto t0 = Clock::now();
    result = s.sleep(0.2) ? 1 : 0;
    slept = secondsOf(Clock::now() - t0);
    EXPECT_TRUE(s.sleep(-1.0)) << "a negative time is no time";
    EXPECT_TRUE(s.sleep(std::chrono::milliseconds(1)));
  };
  Harness h(service, makeOptions(), notifier);
  h.start();
  EXPECT_EQ(h.wait(), 0);
  EXPECT_EQ(result.load(), 1);
  EXPECT_GE(slept.load(), 0.2);
  EXPECT_LT(slept.load(), 2.0);
}

TEST_F(RuntimeTest, AWorkerThatIgnoresTheStopFailsTheServiceAfterTheStopTimeout) {
  // The worker outlives run() (detached, exitOnStuckWorker=false): it and everything it
  // touches are kept alive for the rest of the process, and it is released at the end.
  struct Stuck {
    FakeNotifier notifier;
    TestBlocking service;
    Gate release;
    std::atomic<bool> exited{false};
    std::optional<Harness> harness;
  };
  static auto* graveyard = new std::vector<std::unique_ptr<Stuck>>();
  auto& c = *graveyard->emplace_back(std::make_unique<Stuck>());
  c.service.runFn = [&c](TestBlocking& s, std::stop_token) {
    while (!c.release.isOpen()) {
      s.keepAlive();
      std::this_thread::sleep_for(5ms);
    }
    c.exited = true;
  };
  auto options = makeOptions();
  options.stopTimeout = 400ms;
  c.harness.emplace(c.service, std::move(options), c.notifier);
  c.harness->start();
  ASSERT_TRUE(c.harness->ready());
  const auto t0 = Clock::now();
  const auto code = c.harness->stop(10s);
  const double took = secondsOf(Clock::now() - t0);
  EXPECT_EQ(code, 1);
  EXPECT_GE(took, 0.35);
  EXPECT_LT(took, 0.4 + 2.0);
  EXPECT_FALSE(c.service.onStopCalled.load());
  EXPECT_EQ(c.notifier.statuses().back(), "failed: Did not stop in time");
  EXPECT_TRUE(logs_.sink().find("did not stop within 0.4 s"));
  c.release.open();
  EXPECT_TRUE(waitUntil([&] { return c.exited.load(); }));
}

// ---- signals (a pipe stands in for the signalfd: it yields the same signalfd_siginfo records) --

class FakeSignalFd {
 public:
  FakeSignalFd() {
    if (::pipe2(fds_, O_NONBLOCK | O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  }
  ~FakeSignalFd() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  FakeSignalFd(const FakeSignalFd&) = delete;
  FakeSignalFd& operator=(const FakeSignalFd&) = delete;
  int fd() const { return fds_[0]; }
  void raise(int sig) const {
    signalfd_siginfo si{};
    si.ssi_signo = static_cast<std::uint32_t>(sig);
    if (::write(fds_[1], &si, sizeof si) != static_cast<ssize_t>(sizeof si)) throw std::runtime_error("write failed");
  }

 private:
  int fds_[2] = {-1, -1};
};

TEST_F(RuntimeTest, SigtermAndSigintStopGracefullyAndSighupIsIgnored) {
  for (const int sig : {SIGTERM, SIGINT}) {
    FakeNotifier notifier;
    FakeSignalFd signals;
    TestBlocking service;
    service.runFn = [](TestBlocking& s, std::stop_token) {
      while (s.sleep(10.0)) {
      }
    };
    auto options = makeOptions();
    options.signalFd = signals.fd();
    Harness h(service, std::move(options), notifier);
    h.start();
    ASSERT_TRUE(h.ready());
    signals.raise(SIGHUP);
    ASSERT_TRUE(waitUntil([&] { return logs_.sink().find("SIGHUP").has_value(); }));
    EXPECT_EQ(h.runtime().phase(), Phase::Running);
    EXPECT_FALSE(notifier.has("STOPPING=1"));
    EXPECT_FALSE(h.done());
    signals.raise(sig);
    EXPECT_EQ(h.wait(), 0) << sig;
    EXPECT_TRUE(notifier.has("STOPPING=1"));
    EXPECT_TRUE(service.onStopCalled.load());
    EXPECT_TRUE(logs_.sink().find(fmt::format("received {}", ::strsignal(sig))));
  }
}

TEST(RuntimeDeathTest, ARepeatedSigtermWithin200msIsTheSameStop) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        FakeNotifier notifier;
        FakeSignalFd signals;
        FakeClock clock;  // stands still: the repeat is 0 ms after the first however slow the machine
        TestBlocking service;
        service.runFn = [&](TestBlocking&, std::stop_token stop) {
          while (!stop.stop_requested()) std::this_thread::sleep_for(2ms);
        };
        auto options = makeOptions();
        options.signalFd = signals.fd();
        options.clock = clock.runtimeClock();
        Runtime runtime(service, std::move(options), notifier);
        signals.raise(SIGTERM);
        signals.raise(SIGTERM);  // like coreutils timeout: the child, then its process group
        std::exit(runtime.run());
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(RuntimeDeathTest, SecondSigtermWhileStoppingExitsAtOnce) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        FakeNotifier notifier;
        FakeSignalFd signals;
        FakeClock clock;
        TestBlocking service;
        service.runFn = [&](TestBlocking& s, std::stop_token stop) {
          while (!stop.stop_requested()) std::this_thread::sleep_for(2ms);
          // The operator insists while the worker ignores the stop; a repeat within 200 ms
          // would count as the same stop delivered twice, one 200 ms later does not.
          clock.advance(200ms);
          signals.raise(SIGTERM);
          for (;;) {
            s.keepAlive();
            std::this_thread::sleep_for(5ms);
          }
        };
        auto options = makeOptions();
        options.signalFd = signals.fd();
        options.stopTimeout = 20s;
        options.clock = clock.runtimeClock();
        Runtime runtime(service, std::move(options), notifier);
        signals.raise(SIGTERM);
        std::exit(100 + runtime.run());  // not reached
      },
      ::testing::ExitedWithCode(128 + SIGTERM), "again while stopping");
}

TEST_F(RuntimeTest, ARepeatedSigterm199msLaterIsStillTheSameStop) {
  FakeNotifier notifier;
  FakeSignalFd signals;
  FakeClock clock;
  TestBlocking service;
  service.runFn = [&](TestBlocking&, std::stop_token stop) {
    while (!stop.stop_requested()) std::this_thread::sleep_for(2ms);
    clock.advance(199ms);
    signals.raise(SIGTERM);  // a second stop here would _Exit the test binary
    waitUntil([&] { return logs_.sink().find("ignoring a repeated").has_value(); });
  };
  auto options = makeOptions();
  options.signalFd = signals.fd();
  options.clock = clock.runtimeClock();
  Harness h(service, std::move(options), notifier);
  h.start();
  ASSERT_TRUE(h.ready());
  signals.raise(SIGTERM);
  EXPECT_EQ(h.wait(), 0);
  const auto ignored = logs_.sink().find("ignoring a repeated");
  ASSERT_TRUE(ignored);
  EXPECT_THAT(ignored->message, HasSubstr("(199 ms after the first)"));
}

TEST(RuntimeDeathTest, StuckWorkerEndsTheProcessWithExitOne) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        FakeNotifier notifier;
        TestBlocking service;
        service.runFn = [](TestBlocking& s, std::stop_token) {
          for (;;) {
            s.keepAlive();
            std::this_thread::sleep_for(5ms);
          }
        };
        auto options = makeOptions();
        options.stopTimeout = 200ms;
        options.exitOnStuckWorker = true;
        Runtime runtime(service, std::move(options), notifier);
        runtime.requestStop();
        std::exit(100 + runtime.run());  // not reached
      },
      ::testing::ExitedWithCode(1), "did not stop within");
}

// ---- watchdog gating -------------------------------------------------------------------------

constexpr auto kWatchdog = std::chrono::microseconds(300ms);

/** @brief Median gap between consecutive pings. */
double medianGap(const std::vector<Clock::time_point>& pings) {
  std::vector<double> gaps;
  for (std::size_t i = 1; i < pings.size(); ++i) gaps.push_back(secondsOf(pings[i] - pings[i - 1]));
  if (gaps.empty()) return 0;
  std::sort(gaps.begin(), gaps.end());
  return gaps[gaps.size() / 2];
}

std::size_t pingsAfter(const FakeNotifier& n, Clock::time_point t) {
  const auto p = n.pings();
  return static_cast<std::size_t>(std::count_if(p.begin(), p.end(), [&](auto x) { return x > t; }));
}

TEST_F(RuntimeTest, WithoutAWatchdogNoPingIsSent) {
  FakeNotifier notifier;  // no WATCHDOG_USEC
  FakeClock clock;
  TestBlocking service;
  // With a watchdog the main loop pings as soon as it runs (after READY=1), and again each
  // half interval of clock time: an hour of it passes before run() returns.
  service.runFn = [&](TestBlocking&, std::stop_token) {
    EXPECT_TRUE(waitUntil([&] { return notifier.has("READY=1"); }));
    clock.advance(1h);
  };
  auto options = makeOptions();
  options.clock = clock.runtimeClock();
  Harness h(service, std::move(options), notifier);
  h.start();
  EXPECT_EQ(h.wait(), 0);
  EXPECT_EQ(notifier.pingCount(), 0u);
}

TEST_F(RuntimeTest, WatchdogPingsAtHalfTheIntervalWhileTheServiceSleeps) {
  FakeNotifier notifier(kWatchdog);
  TestBlocking service;
  service.runFn = [](TestBlocking& s, std::stop_token) {
    while (s.sleep(60.0)) {  // one long sleep: waiting in sleep() counts as alive
    }
  };
  Harness h(service, makeOptions(), notifier);
  h.start();
  ASSERT_TRUE(h.ready());
  ASSERT_TRUE(waitUntil([&] { return notifier.pingCount() >= 8; }, 10s));
  const auto pings = notifier.pings();
  EXPECT_GE(pings.front(), *notifier.timeOf("READY=1")) << "no pings before READY";
  const double median = medianGap(pings);
  EXPECT_GT(median, 0.10);
  EXPECT_LT(median, 0.25);
  EXPECT_EQ(h.stop(), 0);
}

TEST_F(RuntimeTest, WatchdogPingsWhileTheServiceCallsKeepAlive) {
  FakeNotifier notifier(kWatchdog);
  TestBlocking service;
  service.runFn = [](TestBlocking& s, std::stop_token stop) {
    while (!stop.stop_requested()) {  // busy work without sleep(): keepAlive() proves progress
      s.keepAlive();
      std::this_thread::sleep_for(20ms);
    }
  };
  Harness h(service, makeOptions(), notifier);
  h.start();
  ASSERT_TRUE(h.ready());
  ASSERT_TRUE(waitUntil([&] { return notifier.pingCount() >= 8; }, 10s));
  const double median = medianGap(notifier.pings());
  EXPECT_GT(median, 0.10);
  EXPECT_LT(median, 0.25);
  EXPECT_EQ(h.stop(), 0);
}

TEST_F(RuntimeTest, WatchdogPingsStopWithinOneIntervalWithoutProgressAndResumeAfterwards) {
  FakeNotifier notifier(kWatchdog);
  TestBlocking service;
  Gate hang, resume;
  std::atomic<Clock::rep> lastProgress{0};
  std::atomic<bool> hanging{false};
  service.runFn = [&](TestBlocking& s, std::stop_token stop) {
    while (!hang.isOpen()) {
      s.keepAlive();
      lastProgress = Clock::now().time_since_epoch().count();
      std::this_thread::sleep_for(10ms);
    }
    hanging = true;
    resume.waitOpen([&] { return stop.stop_requested(); }, 60s);  // wedged: no liveness point
    while (!stop.stop_requested()) {
      s.keepAlive();
      std::this_thread::sleep_for(10ms);
    }
  };
  Harness h(service, makeOptions(), notifier);
  h.start();
  ASSERT_TRUE(h.ready());
  ASSERT_TRUE(waitUntil([&] { return notifier.pingCount() >= 3; }));
  hang.open();
  ASSERT_TRUE(waitUntil([&] { return hanging.load(); }));
  const auto hungAt = Clock::time_point(Clock::duration(lastProgress.load()));
  // Give the watchdog three intervals to (wrongly) keep pinging.
  const auto deadline = hungAt + 3 * kWatchdog;
  EXPECT_FALSE(waitUntil([&] { return pingsAfter(notifier, hungAt + kWatchdog + 100ms) > 0; },
                         std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now())))
      << "WATCHDOG=1 sent more than one interval after the last progress";
  EXPECT_LE(pingsAfter(notifier, hungAt), 3u);
  const auto withheld = logs_.sink().find("made no progress");
  ASSERT_TRUE(withheld);
  EXPECT_EQ(withheld->level, Level::Error);

  const auto resumedAt = Clock::now();
  resume.open();
  EXPECT_TRUE(waitUntil([&] { return pingsAfter(notifier, resumedAt) > 0; }, 3s)) << "pings resume with progress";
  EXPECT_TRUE(waitUntil([&] { return logs_.sink().find("progress again").has_value(); }));
  EXPECT_EQ(h.stop(), 0);
}

TEST_F(RuntimeTest, WatchdogPingsAreWithheldOnlyOnceTheClockIsPastOneIntervalWithoutProgress) {
  // Liveness judged on a clock the test drives: the decisions do not depend on the machine's
  // speed (only how soon the main loop notices, which the test polls for).
  FakeNotifier notifier(kWatchdog);  // 300 ms: a ping every 150 ms of clock time
  FakeClock clock;
  TestBlocking service;
  Gate wedge;
  std::atomic<bool> progressing{false};
  service.runFn = [&](TestBlocking& s, std::stop_token stop) {
    wedge.waitOpen([&] { return stop.stop_requested(); });  // no liveness point until opened
    s.keepAlive();
    progressing = true;
    while (s.sleep(60.0)) {
    }
  };
  auto options = makeOptions();
  options.clock = clock.runtimeClock();
  Harness h(service, std::move(options), notifier);
  h.start();
  ASSERT_TRUE(h.ready());
  ASSERT_TRUE(waitUntil([&] { return notifier.pingCount() >= 1; })) << "the first ping at once";
  clock.advance(kWatchdog / 2);
  ASSERT_TRUE(waitUntil([&] { return notifier.pingCount() >= 2; }));
  clock.advance(kWatchdog / 2);  // exactly one interval since the worker's last progress: alive
  ASSERT_TRUE(waitUntil([&] { return notifier.pingCount() >= 3; }));
  EXPECT_FALSE(logs_.sink().find("made no progress"));
  clock.advance(kWatchdog / 2 + 1us);  // past it, the worker still wedged: the ping is withheld
  ASSERT_TRUE(waitUntil([&] { return logs_.sink().find("made no progress").has_value(); }));
  EXPECT_THAT(logs_.sink().find("made no progress")->message, HasSubstr("made no progress for 0.5 s"));
  EXPECT_EQ(notifier.pingCount(), 3u);
  wedge.open();  // progress again: the next tick pings
  ASSERT_TRUE(waitUntil([&] { return progressing.load(); }));
  clock.advance(kWatchdog / 2);
  ASSERT_TRUE(waitUntil([&] { return notifier.pingCount() >= 4; }));
  EXPECT_TRUE(waitUntil([&] { return logs_.sink().find("progress again").has_value(); }));
  EXPECT_EQ(h.stop(), 0);
}

TEST_F(RuntimeTest, APermanentServiceWithoutAWorkerKeepsPinging) {
  FakeNotifier notifier(kWatchdog);
  TestPermanent service;
  Harness h(service, makeOptions(), notifier);
  h.start();
  ASSERT_TRUE(h.ready());
  const auto t0 = Clock::now();
  ASSERT_TRUE(waitUntil([&] { return pingsAfter(notifier, t0 + 3 * kWatchdog) >= 2; }, 10s));
  EXPECT_LT(medianGap(notifier.pings()), 0.25);
  EXPECT_EQ(h.stop(), 0);
}

TEST_F(RuntimeTest, LongCycleWithoutKeepAliveWithholdsPings) {
  FakeNotifier notifier(kWatchdog);
  TestCyclic service;
  Gate release;
  std::atomic<Clock::rep> wedgedAt{0};
  service.cycleFn = [&](TestCyclic& s) {
    if (s.cycleCount() == 5) {
      wedgedAt = Clock::now().time_since_epoch().count();
      release.waitOpen([&] { return s.stopping(); });
    }
  };
  Harness h(service, makeOptions({{"interval", Value::real(0.05, "services[0].interval", {4, 15})}}), notifier);
  h.start();
  ASSERT_TRUE(h.ready());
  ASSERT_TRUE(waitUntil([&] { return wedgedAt.load() != 0; }));
  const auto t = Clock::time_point(Clock::duration(wedgedAt.load()));
  const auto deadline = t + 3 * kWatchdog;
  EXPECT_FALSE(waitUntil([&] { return pingsAfter(notifier, t + kWatchdog + 100ms) > 0; },
                         std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now())))
      << "WATCHDOG=1 sent more than one interval into a wedged cycle";
  EXPECT_TRUE(logs_.sink().find("made no progress"));
  release.open();
  const auto releasedAt = Clock::now();
  EXPECT_TRUE(waitUntil([&] { return pingsAfter(notifier, releasedAt) > 0; }, 3s));
  EXPECT_EQ(h.stop(), 0);
}

// ---- cyclic service --------------------------------------------------------------------------

TEST_F(RuntimeTest, CyclesRunOnAFixedGrid) {
  FakeNotifier notifier;
  TestCyclic service;
  std::mutex m;
  std::vector<Clock::time_point> starts;
  std::vector<unsigned long long> counts;
  service.cycleFn = [&](TestCyclic& s) {
    std::lock_guard lock(m);
    starts.push_back(Clock::now());
    counts.push_back(s.cycleCount());
  };
  constexpr double kInterval = 0.2;
  Harness h(service, makeOptions({{"interval", Value::real(kInterval, "services[0].interval", {4, 15})}}), notifier);
  h.start();
  ASSERT_TRUE(waitUntil([&] {
    std::lock_guard lock(m);
    return starts.size() >= 6;
  }));
  EXPECT_EQ(h.stop(), 0);
  std::lock_guard lock(m);
  EXPECT_THAT(std::vector(counts.begin(), counts.begin() + 6), ElementsAre(1u, 2u, 3u, 4u, 5u, 6u));
  for (std::size_t i = 1; i < 6; ++i) {
    const double offset = secondsOf(starts[i] - starts[0]) - static_cast<double>(i) * kInterval;
    EXPECT_GT(offset, -0.01) << "cycle " << i + 1 << " started before its tick";
    EXPECT_LT(offset, 0.15) << "cycle " << i + 1 << " drifted from the grid";
  }
  EXPECT_TRUE(service.onStopCalled.load());
  EXPECT_FALSE(logs_.sink().find("skipped"));
}

TEST_F(RuntimeTest, TheDefaultIntervalAppliesWithoutASetting) {
  FakeNotifier notifier;
  TestCyclic service;
  std::atomic<double> seen{0};
  service.cycleFn = [&](TestCyclic& s) { seen = s.interval(); };
  Harness h(service, makeOptions(), notifier);
  h.start();
  ASSERT_TRUE(waitUntil([&] { return seen.load() != 0; }));
  EXPECT_DOUBLE_EQ(seen.load(), 0.1);
  EXPECT_EQ(h.stop(), 0);
}

TEST_F(RuntimeTest, OverrunSkipsMissedTicksWithoutCatchingUp) {
  FakeNotifier notifier;
  TestCyclic service;
  std::mutex m;
  std::vector<Clock::time_point> starts, ends;
  constexpr double kInterval = 0.2;
  service.cycleFn = [&](TestCyclic& s) {
    {
      std::lock_guard lock(m);
      starts.push_back(Clock::now());
    }
    // Cycle 2 works 2.5 intervals: ends mid-way between the ticks at 0.6 s and 0.8 s.
    if (s.cycleCount() == 2) std::this_thread::sleep_for(std::chrono::duration<double>(2.5 * kInterval));
    std::lock_guard lock(m);
    ends.push_back(Clock::now());
  };
  Harness h(service, makeOptions({{"interval", Value::real(kInterval, "services[0].interval", {4, 15})}}), notifier);
  h.start();
  ASSERT_TRUE(waitUntil([&] {
    std::lock_guard lock(m);
    return starts.size() >= 5;
  }));
  EXPECT_EQ(h.stop(), 0);
  std::lock_guard lock(m);
  const auto at = [&](std::size_t i) { return secondsOf(starts[i] - starts[0]); };
  // Cycle 3 waits for the next tick of the grid (0.8 s) instead of starting when cycle 2 ended
  // (~0.7 s) or running the missed ticks (0.4 s, 0.6 s) back to back.
  EXPECT_GT(secondsOf(starts[2] - ends[1]), 0.03) << "cycle 3 started right after the overrun";
  EXPECT_GT(at(2), 4 * kInterval - 0.01);
  EXPECT_LT(at(2), 4 * kInterval + 0.15);
  EXPECT_GT(at(3) - at(2), kInterval - 0.03) << "no catch-up burst after the overrun";
  EXPECT_GT(at(4) - at(3), kInterval - 0.03);
  const auto warning = logs_.sink().find("skipped");
  ASSERT_TRUE(warning);
  EXPECT_EQ(warning->level, Level::Warning);
  EXPECT_THAT(warning->message, HasSubstr("cycle 2"));
  EXPECT_THAT(warning->message, HasSubstr("skipped 2 tick(s)"));
}

// ---- logging ---------------------------------------------------------------------------------

TEST_F(RuntimeTest, LogLevelsFilterAndRecordsCarryTheSourceLocation) {
  FakeNotifier notifier;
  TestPermanent service;
  unsigned infoLine = 0;
  service.onStartFn = [&](TestPermanent& s) {
    tcs::log::setLevel(Level::Warning);
    s.log().debug("debug {}", 1);
    s.log().info("info {}", 2);
    s.log().warning("warning {}", 3);
    s.log().error("error {}", 4);
    s.log().critical("critical {}", 5);
    tcs::log::setLevel(Level::Debug);
    infoLine = __LINE__ + 1;
    s.log().info("moved {} steps in {:.1f} s", 120, 2.5);
  };
  Harness h(service, makeOptions(), notifier);
  h.start();
  ASSERT_TRUE(h.ready());
  EXPECT_EQ(h.stop(), 0);
  std::vector<std::string> fromService;
  for (const auto& r : logs_.sink().records())
    if (r.file.ends_with("runtime_test.cpp")) fromService.push_back(r.message);
  EXPECT_THAT(fromService, ElementsAre("warning 3", "error 4", "critical 5", "moved 120 steps in 2.5 s"));
  const auto rec = logs_.sink().find("moved 120 steps");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->level, Level::Info);
  EXPECT_EQ(rec->line, infoLine);
  // The framework's own records point into the runtime.
  const auto ready = logs_.sink().find("is ready");
  ASSERT_TRUE(ready);
  EXPECT_THAT(ready->file, HasSubstr("runtime"));
  EXPECT_GT(ready->line, 0u);
}

TEST_F(RuntimeTest, FreeLogFunctionsFilterByLevelAndLevelsMapToSyslogPriorities) {
  const unsigned line = __LINE__ + 1;
  tcs::log::warning("free {}", "function");
  const auto rec = logs_.sink().find("free function");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->level, Level::Warning);
  EXPECT_EQ(rec->line, line);
  tcs::log::setLevel(Level::Error);
  tcs::log::info("dropped");
  tcs::log::warning("dropped too");
  tcs::log::critical("kept");
  EXPECT_FALSE(logs_.sink().find("dropped"));
  EXPECT_TRUE(logs_.sink().find("kept"));
  EXPECT_EQ(tcs::log::syslogPriority(Level::Debug), 7);
  EXPECT_EQ(tcs::log::syslogPriority(Level::Info), 6);
  EXPECT_EQ(tcs::log::syslogPriority(Level::Warning), 4);
  EXPECT_EQ(tcs::log::syslogPriority(Level::Error), 3);
  EXPECT_EQ(tcs::log::syslogPriority(Level::Critical), 2);
  EXPECT_EQ(tcs::log::levelName(Level::Warning), "WARNING");
}

}  // namespace

TEST_F(RuntimeTest, FinishWithAnErrorEndsABlockingServiceFailedWithThatStatus) {
  FakeNotifier notifier;
  TestBlocking service;
  service.runFn = [](TestBlocking& s, std::stop_token) {
    s.finish(3, "detector lost");
    EXPECT_FALSE(s.sleep(10.0)) << "sleep() returns at once after finish()";
  };
  Harness h(service, makeOptions(), notifier);
  h.start();
  EXPECT_EQ(h.wait(), 3);
  EXPECT_TRUE(service.onStopCalled.load()) << "finish() stops like a stop request";
  EXPECT_TRUE(notifier.has("STOPPING=1"));
  EXPECT_EQ(notifier.statuses().back(), "failed: detector lost");
}

TEST_F(RuntimeTest, FinishWithZeroEndsACyclicServiceCleanly) {
  FakeNotifier notifier;
  TestCyclic service;
  service.cycleFn = [](TestCyclic& s) {
    if (s.cycleCount() == 2) s.finish(0, "all frames taken");
  };
  Harness h(service, makeOptions(), notifier);
  h.start();
  EXPECT_EQ(h.wait(), 0);
  EXPECT_TRUE(service.onStopCalled.load());
  EXPECT_EQ(service.cycleCount(), 2u);
  EXPECT_EQ(notifier.statuses().back(), "shutdown: Service stopped");
}
