// SPDX-License-Identifier: MIT
// tcs-supervisor: watches and controls this host's tcs@ units through systemd's D-Bus API,
// reports their lifecycle to NATS as the host's launcher, and serves the launcher RPC.
// This file is the command line and the wiring of the real parts; the daemon loop is Daemon
// (daemon.hpp), the logic Supervisor (supervisor.hpp).
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "daemon.hpp"
#include "sd_journal_reader.hpp"
#include "sdbus_systemd_manager.hpp"
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
      "<prefix>.rpc.launcher.<launcher_id>.v1.{list,start.<id>,stop.<id>,restart.<id>,reset-failed.<id>,logs.<id>,"
      "reload}. "
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
    return app.exit(e) == 0 ? tcs::exit_code::kOk : tcs::exit_code::kUsage;
  }
  tcs::log::configure(tcs::log::Backend::Auto, {"tcs-supervisor", "supervisor", "", "tcs-supervisor"},
                      tcs::log::Level::Info);
  if (const auto level = tcs::config::parseLogLevel(logLevel)) {
    tcs::log::setLevel(*level);
  } else {
    tcs::log::critical("invalid --log-level '{}'", logLevel);
    return tcs::exit_code::kUsage;
  }

  tcs::SignalFd signals;
  try {
    signals = tcs::openTerminationSignalFd();
  } catch (const tcs::Error& e) {
    tcs::log::critical("{}", e.what());
    return tcs::exit_code::kFailure;
  }

  auto notifier = tcs::makeSystemdNotifier();
  sv::SupervisorOptions options;
  options.configPath = configPath;
  options.launcherId = launcherId;

  // NATS first (never waited for: the supervisor supervises with or without it).
  tcs::config::NatsConfig natsConfig;
  try {
    natsConfig = tcs::config::load(configPath).config.nats();
    options.natsConnectedWith = natsConfig;  // what the connection below is made from
  } catch (const tcs::ConfigError& e) {
    tcs::log::critical("{}", e.what());
    notifier->notify(std::string("STATUS=failed: ") + e.what());
    return tcs::exit_code::kConfig;
  }
  // Callbacks from other threads (NATS up again, bus lost) wake the daemon loop through this.
  sv::DaemonEvents events;
  std::unique_ptr<tcs::NatsConnection> nats;
  std::unique_ptr<sv::NatsConnectionLink> natsLink;
  if (natsConfig.present) {
    natsConfig.required = false;
    tcs::NatsOptions no;
    no.name = "tcs-supervisor";
    tcs::NatsEvents ev;
    ev.connected = [&events] { events.natsConnected(); };
    ev.reconnected = ev.connected;
    // nats.c gave up (the server refused the credentials twice): without NATS the supervisor
    // reports nothing, so it ends with a failure; systemd restarts it, and the new process reads
    // the credentials again (exit 78 if they are still refused: no more restarts).
    ev.closed = [&events] { events.natsClosed(); };
    try {
      nats = std::make_unique<tcs::NatsConnection>(natsConfig, no, ev);
    } catch (const tcs::NatsError& e) {
      tcs::log::critical("NATS: {}", e.what());
      notifier->notify(std::string("STATUS=failed: NATS: ") + e.what());
      return tcs::exit_code::kConfig;  // bad credentials/certificates: a restart would not help
    }
    natsLink = std::make_unique<sv::NatsConnectionLink>(*nats);
  } else {
    tcs::log::warning("no nats: section in {}: supervising without publishing anything", configPath);
  }

  std::unique_ptr<sv::SdbusSystemdManager> systemd;
  try {
    sv::SdbusSystemdManager::Options so;
    so.bus = user ? sv::SdbusSystemdManager::Bus::User : sv::SdbusSystemdManager::Bus::System;
    systemd = std::make_unique<sv::SdbusSystemdManager>(so);
  } catch (const std::exception& e) {
    tcs::log::critical("cannot start: {}", e.what());
    notifier->notify(std::string("STATUS=failed: ") + e.what());
    return tcs::exit_code::kFailure;
  }
  options.userManager = user;
  sv::SdJournalReader journal;
  sv::Daemon daemon(options, {*systemd, natsLink.get(), *notifier, signals.get(), events, &journal});
  return daemon.run();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    tcs::log::critical("{}", e.what());
    return tcs::exit_code::kFailure;
  }
}
