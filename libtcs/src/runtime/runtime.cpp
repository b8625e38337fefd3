// SPDX-License-Identifier: MIT
// The Runtime (runtime.hpp): one service's lifecycle — start, READY=1, the main loop (signals,
// watchdog pings, the worker's end), stop, the exit status.
#include "runtime.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include "tcs/log.hpp"
#include "tcs/unit_name.hpp"

namespace tcs {
using Clock = std::chrono::steady_clock;

namespace {
std::string statusLine(Status s, const std::string& message) {
  return message.empty() ? std::string(toString(s)) : fmt::format("{}: {}", toString(s), message);
}

std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception";
  }
}
}  // namespace

Runtime::Runtime(Service& service, RunOptions options, INotifier& notifier)
    : service_(service),
      options_(std::move(options)),
      notifier_(notifier),
      serviceId_(unit_name::serviceId(options_.type, options_.variant)) {
  eventFd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (eventFd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  watchdog_ = notifier_.watchdogInterval();
  keepAlive();
  auto monitorOptions = options_.monitor;
  monitorOptions.name = serviceId_;
  monitor_ = std::make_unique<Monitor>(std::move(monitorOptions), options_.nats);
  monitor_->onChange([this](const StatusChange& c) {
    if (!holdStatusLine_.load()) notifier_.notify("STATUS=" + statusLine(c.aggregate, c.message));
  });
  // A hung service stops heartbeating, like it stops pinging the watchdog.
  monitor_->setLivenessCheck([this] { return alive(options_.clock.now()); });
  ServiceAccess::attach(service_, this);
}

Runtime::~Runtime() {
  monitor_.reset();                          // hands the last status reports to NATS
  if (worker_.joinable()) worker_.detach();  // only reachable when a stuck worker was abandoned
  if (eventFd_ >= 0) ::close(eventFd_);
  ServiceAccess::attach(service_, nullptr);
}

void Runtime::onStatusChange(std::function<void(Status, const std::string&)> listener) {
  monitor_->onChange([listener = std::move(listener)](const StatusChange& c) { listener(c.aggregate, c.message); });
}

Status Runtime::status() const {
  return monitor_->status();
}

std::string Runtime::statusMessage() const {
  return monitor_->message();
}

void Runtime::setStatus(Status status, std::string message) {
  monitor_->setStatus(status, std::move(message));  // unchanged: ignored (no duplicate floods)
}

// ---- liveness ------------------------------------------------------------------------------
void Runtime::keepAlive() noexcept {
  lastAlive_.store(options_.clock.now().time_since_epoch().count());
}

bool Runtime::sleep(Clock::duration d) {
  return sleepUntil(Clock::now() + d);
}

bool Runtime::sleepUntil(Clock::time_point t) {
  keepAlive();
  ++sleeping_;  // a thread waiting here is not stuck: it counts as alive for the watchdog
  bool stopped;
  {
    std::unique_lock lock(sleepMutex_);
    stopped = sleepCv_.wait_until(lock, t, [this] { return stopRequested_.load(); });
  }
  --sleeping_;
  keepAlive();
  return !stopped;
}

bool Runtime::alive(Clock::time_point now) const {
  // Without a worker the main loop itself is the service's progress: it is alive if it runs.
  if (!workerStarted_.load() || workerDone_.load() || sleeping_.load() > 0) return true;
  if (!watchdog_) return true;  // no watchdog: nothing defines "too long" (heartbeats keep going)
  const auto last = Clock::time_point(Clock::duration(lastAlive_.load()));
  return now - last <= *watchdog_;
}

void Runtime::pingWatchdogIfAlive(Clock::time_point now) {
  if (alive(now)) {
    notifier_.notify("WATCHDOG=1");
    if (progressWarned_) log::info("{} makes progress again; watchdog pings resumed", serviceId_);
    progressWarned_ = false;
    return;
  }
  if (!progressWarned_) {
    const auto last = Clock::time_point(Clock::duration(lastAlive_.load()));
    log::error(
        "{} made no progress for {:.1f} s (no sleep(), keepAlive() or running()): withholding watchdog "
        "pings so systemd restarts it",
        serviceId_, std::chrono::duration<double>(now - last).count());
    progressWarned_ = true;
  }
}

void Runtime::finish(int exitStatus, std::string reason) {
  if (finishRequested_.exchange(true)) return;
  finishCode_ = exitStatus;
  if (exitStatus != exit_code::kOk) {
    if (reason.empty()) reason = fmt::format("Finished with exit status {}", exitStatus);
    log::error("finishing with exit status {}: {}", exitStatus, reason);
    setStatus(Status::Failed, std::move(reason));
  } else {
    log::info("finishing{}{}", reason.empty() ? "" : ": ", reason);
  }
  requestStop();
}

// ---- events --------------------------------------------------------------------------------
void Runtime::wake() {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(eventFd_, &one, sizeof one);
}

void Runtime::drainEvent() {
  std::uint64_t v;
  while (::read(eventFd_, &v, sizeof v) > 0) {
  }
}

void Runtime::requestStop() {
  if (stopRequested_.exchange(true)) return;
  stopSource_.request_stop();
  {
    std::lock_guard lock(sleepMutex_);  // pairs with the predicate check in sleepUntil
  }
  sleepCv_.notify_all();
  wake();
}

bool Runtime::handleSignals() {
  if (options_.signalFd < 0) return false;
  bool terminate = false;
  signalfd_siginfo si{};
  while (::read(options_.signalFd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    const int sig = static_cast<int>(si.ssi_signo);
    if (sig == SIGHUP) {
      log::info("received SIGHUP: {} has no reload; ignoring", serviceId_);
      continue;
    }
    if (stopRequested_.load()) {
      // The same stop delivered twice (coreutils `timeout` signals the child and then its
      // process group) is not an operator insisting: ignore repeats within a short window.
      const auto now = options_.clock.now();
      if (firstSignalAt_ && now - *firstSignalAt_ < kDuplicateSignalWindow) {
        log::debug("ignoring a repeated {} ({} ms after the first)", ::strsignal(sig),
                   std::chrono::duration_cast<std::chrono::milliseconds>(now - *firstSignalAt_).count());
        continue;
      }
      // Second SIGTERM/SIGINT: the operator insists (Ctrl-C twice). Leave now.
      log::warning("received {} again while stopping: exiting immediately", ::strsignal(sig));
      std::_Exit(128 + sig);
    }
    log::info("received {}: stopping {}", ::strsignal(sig), serviceId_);
    firstSignalAt_ = options_.clock.now();
    terminate = true;
  }
  return terminate;
}

// ---- worker --------------------------------------------------------------------------------
void Runtime::startWorker(std::function<int(std::stop_token)> body) {
  workerDone_ = false;
  keepAlive();
  workerStarted_ = true;
  worker_ = std::thread([this, body = std::move(body)] {
    ::pthread_setname_np(::pthread_self(), "tcs-worker");  // the service's own work, for top -H
    {
      std::unique_lock lock(sleepMutex_);
      sleepCv_.wait(lock, [this] { return workerReleased_ || stopRequested_.load(); });
    }
    try {
      workerResult_ = body(stopSource_.get_token());
    } catch (...) {
      workerError_ = std::current_exception();
    }
    workerDone_ = true;
    { std::lock_guard lock(sleepMutex_); }
    sleepCv_.notify_all();
    wake();
  });
}

void Runtime::releaseWorker() {
  {
    std::lock_guard lock(sleepMutex_);
    workerReleased_ = true;
  }
  sleepCv_.notify_all();
}

bool Runtime::joinWorker() {
  if (!worker_.joinable()) return true;
  const auto deadline = Clock::now() + options_.stopTimeout;
  while (!workerDone_.load()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd fds[2] = {{eventFd_, POLLIN, 0}, {options_.signalFd, POLLIN, 0}};
    ::poll(fds, options_.signalFd >= 0 ? 2 : 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    drainEvent();
    handleSignals();
  }
  worker_.join();
  return true;
}

void Runtime::abandonWorker() {
  // A thread that ignores the stop cannot be joined or killed; a process leaves now, after
  // handing its last status ("failed") to NATS.
  if (options_.exitOnStuckWorker) {
    monitor_->stop();
    if (monitor_->flush(std::chrono::milliseconds(500)) && options_.nats)
      options_.nats->flush(std::chrono::milliseconds(500));
    std::_Exit(exit_code::kFailure);
  }
  worker_.detach();
}

void Runtime::finishWorker() {
  // The worker ended while the service was running: it failed, finished its single shot, or
  // its run() returned by itself.
  workerHandled_ = true;
  if (workerError_) {
    const std::string what = describe(workerError_);
    log::error("{} failed: {}", serviceId_, what);
    setStatus(Status::Failed, "Error in service: " + what);
    exitCode_ = exit_code::kFailure;
  } else if (finishRequested_.load()) {
    exitCode_ = finishCode_.load();  // finish() already said why
  } else {
    exitCode_ = workerResult_;
    log::info("{} finished (exit status {})", serviceId_, exitCode_);
  }
}

// ---- lifecycle -----------------------------------------------------------------------------
int Runtime::run() {
  phase_ = Phase::Starting;
  setStatus(Status::Startup, "Starting service");
  monitor_->start(/*healthChecks=*/false);  // heartbeats and RPC from the start; checks once ready
  // A failed start is not followed by stop()/onStop() (their counterpart never succeeded; a
  // cyclic service's onStart() may not even have run), and the failure stays the final STATUS=.
  const auto startFailed = [this](int code, std::string reason) {
    exitCode_ = code;
    phase_ = Phase::Stopping;
    requestStop();
    notifier_.notify("STOPPING=1");
    setStatus(Status::Failed, std::move(reason));
    monitor_->stop();
    if (worker_.joinable() && !joinWorker()) abandonWorker();
    log::info("{} stopped (exit status {})", serviceId_, code);
    phase_ = Phase::Stopped;
    return code;
  };
  try {
    ServiceAccess::start(service_);
  } catch (const ConfigError& e) {
    log::critical("configuration error: {}", e.what());
    return startFailed(exit_code::kConfig, std::string("Configuration error: ") + e.what());
  } catch (...) {
    const std::string what = describe(std::current_exception());
    log::critical("failed to start: {}", what);
    return startFailed(exit_code::kFailure, "Failed to start service: " + what);
  }
  phase_ = Phase::Running;
  {
    // READY=1 carries the status line, so systemd never shows a stale "startup".
    holdStatusLine_ = true;
    if (monitor_->status() == Status::Startup) monitor_->setStatus(Status::Ok, "Service running");
    holdStatusLine_ = false;
    notifier_.notify(fmt::format("READY=1\nMAINPID={}\nSTATUS={}", ::getpid(),
                                 statusLine(monitor_->aggregateStatus(), monitor_->message())));
  }
  releaseWorker();
  monitor_->setHealthChecksEnabled(true);
  log::info("{} is ready", serviceId_);

  mainLoop();
  stopService();
  phase_ = Phase::Stopped;
  return exitCode_;
}

void Runtime::mainLoop() {
  const auto period =
      watchdog_ ? std::optional(std::chrono::duration_cast<Clock::duration>(*watchdog_ / 2)) : std::nullopt;
  auto nextPing = options_.clock.now();
  while (!stopRequested_.load()) {
    const auto now = options_.clock.now();
    if (period && now >= nextPing) {
      pingWatchdogIfAlive(now);
      nextPing = now + *period;
    }
    int timeoutMs = -1;
    if (period)
      timeoutMs = static_cast<int>(
          std::max<long long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(nextPing - now).count() + 1));
    pollfd fds[2] = {{eventFd_, POLLIN, 0}, {options_.signalFd, POLLIN, 0}};
    const int n = ::poll(fds, options_.signalFd >= 0 ? 2 : 1, timeoutMs);
    if (n < 0 && errno != EINTR) {
      log::error("poll failed: {}; stopping", std::strerror(errno));
      exitCode_ = exit_code::kFailure;
      break;
    }
    drainEvent();
    if (handleSignals()) break;
    if (workerDone_.load() && !workerHandled_.load()) {
      finishWorker();
      break;
    }
  }
}

void Runtime::stopService() {
  phase_ = Phase::Stopping;
  requestStop();
  notifier_.notify("STOPPING=1");
  monitor_->setHealthChecksEnabled(false);  // the lifecycle owns the status from here
  // A failure (a worker that threw, finish() with an error) stays the status to the end.
  if (status() != Status::Failed) setStatus(Status::Shutdown, "Stopping service");
  try {
    ServiceAccess::stop(service_);
  } catch (...) {
    log::error("stop failed: {}", describe(std::current_exception()));
    if (exitCode_ == exit_code::kOk) exitCode_ = exit_code::kFailure;
  }
  if (worker_.joinable() && !workerDone_.load()) {
    log::error("{} did not stop within {:.1f} s; giving up on it", serviceId_,
               std::chrono::duration<double>(options_.stopTimeout).count());
    setStatus(Status::Failed, "Did not stop in time");
    abandonWorker();
    exitCode_ = exit_code::kFailure;
    return;
  }
  if (worker_.joinable()) worker_.join();
  if (!workerHandled_.load() && workerDone_.load() && workerError_) {
    // run() threw while we were stopping: still a failure.
    log::error("{} failed while stopping: {}", serviceId_, describe(workerError_));
    exitCode_ = exit_code::kFailure;
  }
  if (finishRequested_.load() && exitCode_ == exit_code::kOk) exitCode_ = finishCode_.load();
  if (status() != Status::Failed) setStatus(Status::Shutdown, "Service stopped");
  monitor_->stop();
  log::info("{} stopped (exit status {})", serviceId_, exitCode_);
}

}  // namespace tcs
