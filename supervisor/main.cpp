// SPDX-License-Identifier: MIT
// tcs-supervisor: watches and controls this host's tcs@ units through systemd's D-Bus API,
// reports their lifecycle to NATS as the host's launcher, and serves the launcher RPC.
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "sdbus_systemd_manager.hpp"
#include "supervisor.hpp"
#include "tcs/error.hpp"
#include "tcs/exit_code.hpp"
#include "tcs/log.hpp"
#include "tcs/nats.hpp"
#include "tcs/notify.hpp"
#include "tcs/signals.hpp"

#ifndef TCS_VERSION
#define TCS_VERSION "unknown"
#endif
#ifndef TCS_CONFIG_PATH
#define TCS_CONFIG_PATH "/etc/tcs/services.yaml"
#endif

namespace {
using namespace std::chrono_literals;
namespace sv = tcs::supervisor;

int run(int argc, char** argv) {
  std::string configPath = TCS_CONFIG_PATH;
  bool user = false;
  std::string launcherId;
  std::string logLevel = "INFO";
  CLI::App app{
      "tcs-supervisor: watches this host's tcs@ units through systemd's D-Bus API, reports every lifecycle event "
      "to NATS (<prefix>.registry.<event>.<service_id>) as the host's launcher, and answers "
      "<prefix>.rpc.launcher.<launcher_id>.v1.{list,start.<id>,stop.<id>,restart.<id>,reset-failed.<id>,reload}. "
      "Only services configured in CONFIG are ever controlled."};
  app.name("tcs-supervisor");
  app.add_option("-c,--config", configPath, "services.yaml (the same file tcs-unitgen reads)")->capture_default_str();
  app.add_flag("--user", user, "watch the calling user's service manager (session bus) instead of the system's");
  app.add_option("--launcher-id", launcherId,
                 "launcher id (default <short hostname>-systemd-launcher, as the units pass to their services)");
  app.add_option("--log-level", logLevel, "DEBUG, INFO, WARNING, ERROR or CRITICAL")->capture_default_str();
  app.set_version_flag("--version", std::string("tcs-supervisor ") + TCS_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  tcs::log::configure(tcs::log::Backend::Auto, {"tcs-supervisor", "supervisor", "", "tcs-supervisor"},
                      tcs::log::Level::Info);
  if (const auto level = tcs::config::parseLogLevel(logLevel)) {
    tcs::log::setLevel(*level);
  } else {
    tcs::log::critical("invalid --log-level '{}'", logLevel);
    return 2;
  }

  tcs::SignalFd signals;
  try {
    signals = tcs::openTerminationSignalFd();
  } catch (const tcs::Error& e) {
    tcs::log::critical("{}", e.what());
    return tcs::exit_code::kFailure;
  }
  const int signalFd = signals.get();

  auto notifier = tcs::makeSystemdNotifier();
  sv::SupervisorOptions options;
  options.configPath = configPath;
  options.launcherId = launcherId;

  // NATS first (never waited for: the supervisor supervises with or without it).
  tcs::config::NatsConfig natsConfig;
  try {
    natsConfig = tcs::config::load(configPath).config.nats();
  } catch (const tcs::ConfigError& e) {
    tcs::log::critical("{}", e.what());
    notifier->notify(std::string("STATUS=failed: ") + e.what());
    return tcs::exit_code::kConfig;
  }
  // Callbacks from other threads (NATS up again, bus lost) wake the main loop through this.
  const int wakeFd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  const auto wake = [wakeFd] {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wakeFd, &one, sizeof one);
  };
  options.wake = wake;
  std::atomic<bool> ensureStreams{true};
  std::atomic<bool> natsClosed{false};
  std::unique_ptr<tcs::NatsConnection> nats;
  if (natsConfig.present) {
    natsConfig.required = false;
    tcs::NatsOptions no;
    no.name = "tcs-supervisor";
    tcs::NatsEvents ev;
    ev.connected = [&] {
      ensureStreams = true;
      wake();
    };
    ev.reconnected = ev.connected;
    // nats.c gave up (the server refused the credentials twice): without NATS the supervisor
    // reports nothing, so it ends with a failure; systemd restarts it, and the new process reads
    // the credentials again (exit 78 if they are still refused: no more restarts).
    ev.closed = [&] {
      natsClosed = true;
      wake();
    };
    try {
      nats = std::make_unique<tcs::NatsConnection>(natsConfig, no, ev);
    } catch (const tcs::NatsError& e) {
      tcs::log::critical("NATS: {}", e.what());
      notifier->notify(std::string("STATUS=failed: NATS: ") + e.what());
      return tcs::exit_code::kConfig;  // bad credentials/certificates: a restart would not help
    }
  } else {
    tcs::log::warning("no nats: section in {}: supervising without publishing anything", configPath);
  }

  std::unique_ptr<sv::SdbusSystemdManager> systemd;
  std::unique_ptr<sv::Supervisor> supervisor;
  try {
    sv::SdbusSystemdManager::Options so;
    so.bus = user ? sv::SdbusSystemdManager::Bus::User : sv::SdbusSystemdManager::Bus::System;
    systemd = std::make_unique<sv::SdbusSystemdManager>(so);
    supervisor = std::make_unique<sv::Supervisor>(options, *systemd, nats.get());
    supervisor->start();
  } catch (const tcs::ConfigError& e) {
    tcs::log::critical("{}", e.what());
    notifier->notify(std::string("STATUS=failed: ") + e.what());
    return tcs::exit_code::kConfig;
  } catch (const std::exception& e) {
    tcs::log::critical("cannot start: {}", e.what());
    notifier->notify(std::string("STATUS=failed: ") + e.what());
    return 1;
  }
  notifier->notify(fmt::format("READY=1\nSTATUS=supervising {} services as {}", supervisor->serviceIds().size(),
                               supervisor->launcherName()));

  // The loop sleeps until a signal, a wake-up or the next watchdog ping (half WatchdogSec); only
  // while the bus is lost does it retry every second.
  const auto watchdog = notifier->watchdogInterval();
  const std::chrono::milliseconds pingEvery =
      watchdog ? std::chrono::duration_cast<std::chrono::milliseconds>(*watchdog / 2) : 0ms;  // 0: no watchdog
  auto nextPing = std::chrono::steady_clock::now();
  int exitStatus = 0;
  for (;;) {
    if (natsClosed) {
      const std::string why = nats ? nats->lastError() : std::string();
      tcs::log::critical("NATS connection closed for good{}{}: ending so that systemd restarts the supervisor",
                         why.empty() ? "" : ": ", why);
      notifier->notify(fmt::format("STATUS=failed: NATS connection closed for good{}{}", why.empty() ? "" : ": ", why));
      exitStatus = 1;
      break;
    }
    if (ensureStreams.exchange(false) && nats && nats->connected()) {
      // NATS is (back) up: what was buffered is on its way; say where the launcher stands now.
      supervisor->monitor().publishNow();
      for (const auto& spec : sv::protocolStreams(options, supervisor->prefix())) {
        try {
          const auto outcome = nats->ensureStream(spec);
          if (outcome == tcs::StreamOutcome::Unavailable) {
            tcs::log::warning("JetStream is not available: live monitoring only (no history for tcsctl)");
            break;
          }
          if (outcome == tcs::StreamOutcome::CapturedElsewhere)
            tcs::log::info("{} is captured by another JetStream stream already; not creating {}", spec.subject,
                           spec.name);
          else if (outcome != tcs::StreamOutcome::Unchanged)
            tcs::log::info("JetStream stream {} {} ({})", spec.name,
                           outcome == tcs::StreamOutcome::Created ? "created" : "widened", spec.subject);
        } catch (const tcs::NatsError& e) {
          tcs::log::error("{}", e.what());
        }
      }
    }
    supervisor->reconnectIfNeeded();
    // The watchdog proves this loop runs (it also retries a lost bus connection).
    const auto now = std::chrono::steady_clock::now();
    if (pingEvery > 0ms && now >= nextPing) {
      notifier->notify("WATCHDOG=1");
      nextPing = now + pingEvery;
    }
    int timeoutMs = -1;
    if (pingEvery > 0ms)
      timeoutMs = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(nextPing - now).count());
    if (!supervisor->systemdConnected()) timeoutMs = timeoutMs < 0 ? 1000 : std::min(timeoutMs, 1000);
    pollfd fds[2] = {{signalFd, POLLIN, 0}, {wakeFd, POLLIN, 0}};
    const int n = ::poll(fds, 2, timeoutMs);
    if (n > 0 && (fds[1].revents & POLLIN)) {
      std::uint64_t v;
      [[maybe_unused]] auto r = ::read(wakeFd, &v, sizeof v);
    }
    if (n > 0 && (fds[0].revents & POLLIN)) {
      signalfd_siginfo si{};
      bool stop = false;
      while (::read(signalFd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo == SIGHUP) {
          tcs::log::info("SIGHUP: reloading {}", configPath);
          const auto r = supervisor->reload();
          for (const auto& e : r.errors) tcs::log::error("reload: {}", e);
        } else {
          stop = true;
        }
      }
      if (stop) break;
    }
  }
  notifier->notify(exitStatus == 0 ? "STOPPING=1\nSTATUS=stopping" : "STOPPING=1");
  tcs::log::info("stopping");
  supervisor->stop();
  supervisor.reset();
  systemd.reset();
  ::close(wakeFd);
  return exitStatus;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    tcs::log::critical("{}", e.what());
    return 1;
  }
}
