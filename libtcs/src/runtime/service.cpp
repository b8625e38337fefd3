// SPDX-License-Identifier: MIT
// The service-author API (tcs/service.hpp): the Service members and the four base classes,
// each a thin layer over the Runtime (runtime.hpp) reached through ServiceAccess.
#include "tcs/service.hpp"

#include <cmath>
#include <stdexcept>

#include "runtime.hpp"

namespace tcs {
using Clock = std::chrono::steady_clock;

Runtime& ServiceAccess::runtime(const Service& service) {
  if (!service.context_)
    throw std::logic_error("tcs::Service used outside its runtime (call it from the lifecycle hooks)");
  return static_cast<Runtime&>(*service.context_);
}

void ServiceAccess::attach(Service& service, Runtime* runtime) noexcept {
  service.context_ = runtime;
}

namespace {
Runtime& runtime(const Service& service) {
  return ServiceAccess::runtime(service);
}
}  // namespace

const config::Settings& Service::settings() const {
  return runtime(*this).options().settings;
}
const std::string& Service::serviceId() const {
  return runtime(*this).serviceId();
}
const std::string& Service::variant() const {
  return runtime(*this).options().variant;
}

bool Service::sleep(std::chrono::duration<double> seconds) {
  if (seconds.count() < 0) seconds = std::chrono::duration<double>(0);
  return runtime(*this).sleep(std::chrono::duration_cast<Clock::duration>(seconds));
}

void Service::keepAlive() {
  runtime(*this).keepAlive();
}

bool Service::running() {
  runtime(*this).keepAlive();
  return !runtime(*this).stopping();
}

bool Service::stopping() const {
  return runtime(*this).stopping();
}

void Service::setStatus(Status status, std::string message) {
  runtime(*this).setStatus(status, std::move(message));
}

Monitor& Service::monitor() {
  return runtime(*this).monitor();
}

void Service::finish(int exitStatus, std::string reason) {
  runtime(*this).finish(exitStatus, std::move(reason));
}

// ---- PermanentService ------------------------------------------------------------------------
void PermanentService::frameworkStart() {
  start();
}
void PermanentService::frameworkStop() {
  stop();
}

// ---- BlockingService -------------------------------------------------------------------------
void BlockingService::frameworkStart() {
  onStart();
  runtime(*this).startWorker([this](std::stop_token) {
    run();
    return 0;
  });
}

std::stop_token BlockingService::stopToken() const {
  return runtime(*this).stopToken();
}

void BlockingService::frameworkStop() {
  if (runtime(*this).joinWorker()) onStop();
}

// ---- SingleShotService -----------------------------------------------------------------------
void SingleShotService::frameworkStart() {
  // READY once the work can begin: a notify unit whose process exits before READY=1 fails.
  runtime(*this).startWorker([this](std::stop_token) { return execute(); });
}

void SingleShotService::frameworkStop() {
  runtime(*this).joinWorker();
}

// ---- CyclicService ---------------------------------------------------------------------------
double CyclicService::interval() const {
  return interval_;
}

void CyclicService::frameworkStart() {
  interval_ = settings().get<double>("interval", defaultInterval());
  if (!(interval_ > 0) || !std::isfinite(interval_)) {
    const config::Value* v = settings().find("interval");
    throw ConfigError(settings().file(), v ? v->mark().line : 0, v ? v->mark().column : 0, v ? v->path() : "interval",
                      fmt::format("interval must be a number of seconds > 0, got {}", interval_));
  }
  onStart();
  runtime(*this).startWorker([this](std::stop_token stop) {
    loop(stop);
    return 0;
  });
}

void CyclicService::loop(std::stop_token stop) {
  const auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval_));
  const auto origin = Clock::now();
  auto next = origin;
  while (!stop.stop_requested()) {
    runtime(*this).keepAlive();
    ++cycles_;
    const auto began = Clock::now();
    cycle();
    next += period;
    const auto now = Clock::now();
    if (now > next) {
      // Overrun: skip the ticks already missed instead of running cycles back to back.
      const auto missed = (now - next) / period + 1;
      next += missed * period;
      log().warning("cycle {} took {:.3f} s, longer than the {:.3f} s interval: skipped {} tick(s)", cycles_,
                    std::chrono::duration<double>(now - began).count(), interval_, missed);
    }
    if (!runtime(*this).sleepUntil(next)) break;
  }
}

void CyclicService::frameworkStop() {
  if (runtime(*this).joinWorker()) onStop();
}

Service::~Service() = default;

}  // namespace tcs
