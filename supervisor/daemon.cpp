// SPDX-License-Identifier: MIT
#include "daemon.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "tcs/error.hpp"
#include "tcs/exit_code.hpp"
#include "tcs/log.hpp"

namespace tcs::supervisor {

using namespace std::chrono_literals;

DaemonEvents::DaemonEvents() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

DaemonEvents::~DaemonEvents() {
  if (fd_ >= 0) ::close(fd_);
}

void DaemonEvents::wake() noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
}

void DaemonEvents::natsConnected() noexcept {
  ensureStreams_ = true;
  wake();
}

void DaemonEvents::natsClosed() noexcept {
  natsClosed_ = true;
  wake();
}

void DaemonEvents::drain() noexcept {
  std::uint64_t v;
  [[maybe_unused]] auto r = ::read(fd_, &v, sizeof v);
}

Daemon::Daemon(SupervisorOptions options, DaemonParts parts) : options_(std::move(options)), parts_(parts) {
  options_.wake = [&events = parts_.events] { events.wake(); };
}

Daemon::~Daemon() = default;

bool Daemon::ensureStreams() {
  // NATS is (back) up. The streams first, so that what follows is stored: the launcher's status
  // now, and — when a stream was just created — the `declared` events again (the first ones went
  // out at start, possibly before any stream captured them, and tcsctl --all reads them back).
  bool created = false;
  bool complete = true;
  for (auto spec : protocolStreams(options_, supervisor_->prefix())) {
    spec.replicas = supervisor_->streamReplicas();  // nats.stream_replicas; raised on existing streams, never shrunk
    try {
      const auto outcome = parts_.nats->ensureStream(spec);
      created = created || outcome == StreamOutcome::Created;
      if (outcome == StreamOutcome::Unavailable) {
        // Off, or (a cluster) no meta leader yet after a node's loss: the loop asks again.
        if (!streamsFailing_)
          log::warning(
              "JetStream is not available: live monitoring only (no history for tcsctl) until it answers;"
              " asking again in {} s",
              std::chrono::duration_cast<std::chrono::seconds>(options_.streamRetry).count());
        complete = false;
        break;
      }
      if (outcome == StreamOutcome::CapturedElsewhere)
        log::info("{} is captured by another JetStream stream already; not creating {}", spec.subject, spec.name);
      else if (outcome != StreamOutcome::Unchanged)
        log::info("JetStream stream {} {} ({})", spec.name, outcome == StreamOutcome::Created ? "created" : "widened",
                  spec.subject);
    } catch (const NatsError& e) {
      log::error("{}", e.what());
      complete = false;
    }
  }
  if (complete && streamsFailing_) log::info("JetStream answers again: the streams are in place");
  streamsFailing_ = !complete;
  supervisor_->monitor().publishNow();
  if (created) supervisor_->redeclare();
  return complete;
}

void Daemon::handleSignals(bool& stop) {
  signalfd_siginfo si{};
  while (::read(parts_.signalFd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    if (si.ssi_signo == SIGHUP) {
      log::info("SIGHUP: reloading {}", options_.configPath.string());
      const auto r = supervisor_->reload();
      for (const auto& e : r.errors) log::error("reload: {}", e);
    } else {
      stop = true;
    }
  }
}

int Daemon::run() {
  auto& notifier = parts_.notifier;
  try {
    supervisor_ = std::make_unique<Supervisor>(options_, parts_.systemd,
                                               parts_.nats ? &parts_.nats->transport() : nullptr, parts_.journal);
    supervisor_->start();
  } catch (const ConfigError& e) {
    log::critical("{}", e.what());
    notifier.notify(std::string("STATUS=failed: ") + e.what());
    supervisor_.reset();
    return exit_code::kConfig;
  } catch (const std::exception& e) {
    log::critical("cannot start: {}", e.what());
    notifier.notify(std::string("STATUS=failed: ") + e.what());
    supervisor_.reset();
    return exit_code::kFailure;
  }
  notifier.notify(fmt::format("READY=1\nSTATUS=supervising {} services as {}", supervisor_->serviceIds().size(),
                              supervisor_->launcherName()));

  // The loop sleeps until a signal, a wake-up or the next watchdog ping (half WatchdogSec); only
  // while the bus is lost does it retry every second.
  const auto watchdog = notifier.watchdogInterval();
  const std::chrono::milliseconds pingEvery =
      watchdog ? std::chrono::duration_cast<std::chrono::milliseconds>(*watchdog / 2) : 0ms;  // 0: no watchdog
  auto nextPing = std::chrono::steady_clock::now();
  auto& events = parts_.events;
  int exitStatus = exit_code::kOk;
  for (;;) {
    if (events.natsClosedForGood()) {
      const std::string why = parts_.nats ? parts_.nats->lastError() : std::string();
      log::critical("NATS connection closed for good{}{}: ending so that systemd restarts the supervisor",
                    why.empty() ? "" : ": ", why);
      notifier.notify(fmt::format("STATUS=failed: NATS connection closed for good{}{}", why.empty() ? "" : ": ", why));
      exitStatus = exit_code::kFailure;
      break;
    }
    // The streams: at every (re)connection, and again while JetStream did not answer (backing
    // off from streamRetry to a minute; a reconnection starts over).
    const bool reconnected = events.takeEnsureStreams();
    if (reconnected) {
      streamRetry_.reset();
      supervisor_->watchHeartbeats();  // copies that started while NATS was away (duplicate watch)
    }
    const bool retryDue = streamRetry_ && std::chrono::steady_clock::now() >= streamRetry_->at;
    if ((reconnected || retryDue) && parts_.nats && parts_.nats->transport().connected()) {
      if (ensureStreams()) {
        streamRetry_.reset();
      } else {
        const auto wait =
            streamRetry_ ? std::min(streamRetry_->wait * 2, std::chrono::milliseconds(60s)) : options_.streamRetry;
        streamRetry_ = StreamRetry{std::chrono::steady_clock::now() + wait, wait};
      }
    }
    supervisor_->reconnectIfNeeded();
    // The watchdog proves this loop runs (it also retries a lost bus connection).
    const auto now = std::chrono::steady_clock::now();
    if (pingEvery > 0ms && now >= nextPing) {
      notifier.notify("WATCHDOG=1");
      nextPing = now + pingEvery;
    }
    int timeoutMs = -1;
    if (pingEvery > 0ms)
      timeoutMs = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(nextPing - now).count());
    if (!supervisor_->systemdConnected()) timeoutMs = timeoutMs < 0 ? 1000 : std::min(timeoutMs, 1000);
    if (streamRetry_) {
      const int untilRetry = static_cast<int>(
          std::max<std::int64_t>(0, std::chrono::ceil<std::chrono::milliseconds>(streamRetry_->at - now).count()));
      timeoutMs = timeoutMs < 0 ? untilRetry : std::min(timeoutMs, untilRetry);
    }
    pollfd fds[2] = {{parts_.signalFd, POLLIN, 0}, {events.fd(), POLLIN, 0}};
    const int n = ::poll(fds, 2, timeoutMs);
    if (n > 0 && (fds[1].revents & POLLIN)) events.drain();
    if (n > 0 && (fds[0].revents & POLLIN)) {
      bool stop = false;
      handleSignals(stop);
      if (stop) break;
    }
  }
  notifier.notify(exitStatus == exit_code::kOk ? "STOPPING=1\nSTATUS=stopping" : "STOPPING=1");
  log::info("stopping");
  supervisor_->stop();
  supervisor_.reset();
  return exitStatus;
}

}  // namespace tcs::supervisor
