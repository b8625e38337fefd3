// SPDX-License-Identifier: MIT
// bootstrap() and runBootstrapped() (bootstrap.hpp): everything runMain does between the
// command line and the Runtime — config, log level, banner, signals, the NATS policy.
#include "bootstrap.hpp"

#include <poll.h>

#include <memory>
#include <mutex>

#include "tcs/exit_code.hpp"
#include "tcs/log.hpp"
#include "tcs/nats.hpp"
#include "tcs/notify.hpp"
#include "tcs/unit_name.hpp"

#ifndef TCS_SERVICE_BIN_DIR
#define TCS_SERVICE_BIN_DIR "/usr/libexec/tcs"
#endif

namespace tcs {
namespace {

// A NATS connection closed for good while the service runs (nats.c gives up when the server
// refuses the credentials twice in a row). With `required: true` the service then ends with a
// failure, so that systemd restarts it and the new process reads the credentials again (and
// exits 78 if the server still refuses them); with `required: false` it runs on without NATS.
struct NatsLoss {
  std::mutex mutex;
  NatsConnection* nats = nullptr;
  Runtime* runtime = nullptr;
  bool lost = false;

  std::string reason() const {
    const std::string why = nats ? nats->lastError() : std::string();
    return fmt::format(
        "NATS connection closed for good{}{}; nats.required is true: ending so that systemd restarts "
        "the service",
        why.empty() ? "" : ": ", why);
  }
  void closed() {
    std::lock_guard lock(mutex);
    lost = true;
    if (runtime) runtime->finish(exit_code::kFailure, reason());
  }
  void attach(Runtime* r) {
    std::lock_guard lock(mutex);
    runtime = r;
    if (r && lost) r->finish(exit_code::kFailure, reason());
  }
};

/** @brief How long `nats.required: true` waits: inside the unit's TimeoutStartSec=90s. */
constexpr std::chrono::seconds kNatsConnectDeadline{60};

void banner(const std::string& id, const std::string& configText) {
  // Upstream's standalone banner, line for line (its tests grep these strings).
  const std::string rule(60, '=');
  fmt::print(stderr, "{}\nTCS - Telescope Control Services\nStandalone Service: {}\nConfig: {}\n{}\n", rule, id,
             configText, rule);
}

}  // namespace

std::variant<Bootstrapped, int> bootstrap(const CommandLine& commandLine) {
  const std::string& type = commandLine.type;
  const std::string& variant = commandLine.variant;
  const std::optional<std::string>& configPath = commandLine.configPath;
  Bootstrapped process;
  process.id = unit_name::serviceId(type, variant);
  process.configPath = configPath;
  const std::string& id = process.id;
  log::configure(log::Backend::Auto, {id, type, variant, id}, log::Level::Info);
  if (!unit_name::isValidType(type)) {
    log::critical("invalid service type '{}': dot-separated parts, each matching {}", type, unit_name::kTokenPattern);
    return exit_code::kConfig;
  }
  if (!unit_name::isValidToken(variant)) {
    log::critical("invalid variant '{}': must match {}{}", variant, unit_name::kTokenPattern,
                  variant.find('.') != std::string::npos ? " (no dots)" : "");
    return exit_code::kConfig;
  }

  // Config: only this service's own entry must be valid.
  RunOptions& options = process.options;
  options.type = type;
  options.variant = variant;
  std::optional<config::LogLevel> configLevel;
  if (configPath) {
    try {
      config::LoadOptions lo;
      lo.builtinServiceDir = TCS_SERVICE_BIN_DIR;
      const auto loaded = config::load(*configPath, lo);
      process.nats = loaded.config.nats();
      if (const auto* svc = loaded.config.find(type, variant)) {
        options.settings = svc->settings;
        configLevel = svc->logLevel;
        if (svc->nats) process.nats = *svc->nats;  // its own credentials (issue 17)
      } else {
        // Errors elsewhere in the file are other services' business; only ours stop us.
        if (const auto* own = loaded.rejectedEntry(type, variant)) {
          const std::string path = fmt::format("services[{}]", own->index);
          for (const auto& d : loaded.errorsAt(path)) log::error("{}", d.format());
          log::critical("{}: its entry {} in {} is invalid (errors above)", id, path, *configPath);
          return exit_code::kConfig;
        }
        log::warning("{} is not configured in {}; running with built-in defaults", id, *configPath);
      }
    } catch (const ConfigError& e) {
      log::critical("cannot load the config: {}", e.what());
      return exit_code::kConfig;
    }
  }
  if (options.settings.root().isNull())
    options.settings = config::Settings(configPath.value_or(""), config::Value::mapping({}, "", {}));

  const LogLevelChoice level = chooseLogLevel(commandLine, configLevel);
  if (level.problem == LogLevelChoice::Problem::InvalidOption) {
    log::critical("invalid --log-level '{}' (expected DEBUG, INFO, WARNING, ERROR or CRITICAL)",
                  commandLine.logLevelOption);
    return exit_code::kUsage;
  }
  if (level.problem == LogLevelChoice::Problem::InvalidEnvironment)
    log::warning("ignoring invalid TCS_LOG_LEVEL '{}'", commandLine.logLevelEnvironment);
  log::setLevel(level.level);

  try {
    const double stopTimeout = options.settings.get<double>("stop_timeout", 20.0);
    if (!(stopTimeout > 0 && stopTimeout <= 3600)) options.settings.reject("stop_timeout", "must be 0 < s <= 3600");
    options.stopTimeout = std::chrono::milliseconds(static_cast<long long>(stopTimeout * 1000.0));
    // Monitoring cadence (tcs additions; upstream's fixed values are the defaults).
    const auto interval = [&](const char* key, double def) {
      const double v = options.settings.get<double>(key, def);
      if (!(v >= 0.05 && v <= 3600)) options.settings.reject(key, "must be 0.05 <= s <= 3600");
      return std::chrono::milliseconds(static_cast<long long>(v * 1000.0));
    };
    options.monitor.heartbeatInterval = interval("heartbeat_interval", 10.0);
    options.monitor.healthCheckInterval = interval("healthcheck_interval", 30.0);
  } catch (const ConfigError& e) {
    log::critical("{}", e.what());
    return exit_code::kConfig;
  }

  if (!commandLine.noBanner && !log::underSystemd())
    banner(id, configPath ? *configPath : std::string("Using defaults (no config file)"));

  // Termination signals are read from a signalfd by the main loop; block them in every thread
  // before any is created.
  try {
    process.signals = openTerminationSignalFd();
  } catch (const Error& e) {
    log::critical("{}", e.what());
    return exit_code::kFailure;
  }
  options.signalFd = process.signals.get();

  options.monitor.subjectPrefix = process.nats.subjectPrefix;
  options.monitor.parent = commandLine.parentName;
  if (!commandLine.parentName.empty())
    log::debug("parent {}, runner id {}", commandLine.parentName, commandLine.runnerId);
  return process;
}

int runBootstrapped(Bootstrapped& process, const ServiceFactory& factory) {
  const std::string& id = process.id;
  const config::NatsConfig& natsConfig = process.nats;
  RunOptions& options = process.options;
  int status = exit_code::kFailure;
  try {
    auto notifier = makeSystemdNotifier();
    // NATS before the service: `required: true` waits here (a SIGTERM ends the wait), `false`
    // connects in the background. Without a `nats:` section the monitor publishes nothing.
    std::unique_ptr<NatsConnection> nats;
    const auto natsLoss = std::make_shared<NatsLoss>();
    if (natsConfig.present) {
      NatsOptions natsOptions;
      natsOptions.name = id;
      natsOptions.connectDeadline = kNatsConnectDeadline;
      const int signalFd = options.signalFd;
      const auto stopRequested = [signalFd] {
        pollfd p{signalFd, POLLIN, 0};
        return ::poll(&p, 1, 0) > 0;
      };
      natsOptions.cancelled = stopRequested;
      if (natsConfig.required) notifier->notify("STATUS=startup: Waiting for NATS");
      try {
        NatsEvents events;
        if (natsConfig.required) events.closed = [natsLoss] { natsLoss->closed(); };
        nats = std::make_unique<NatsConnection>(natsConfig, std::move(natsOptions), std::move(events));
        std::lock_guard lock(natsLoss->mutex);
        natsLoss->nats = nats.get();
      } catch (const NatsError& e) {
        if (stopRequested()) {
          log::info("stop requested while waiting for NATS: {} ends without starting", id);
          return exit_code::kOk;
        }
        const bool permanent = e.kind() == NatsError::Kind::Config || e.kind() == NatsError::Kind::AuthFailed ||
                               e.kind() == NatsError::Kind::NotPermitted || e.kind() == NatsError::Kind::Tls;
        log::critical("{}", e.what());
        notifier->notify(fmt::format("STATUS=failed: NATS: {}", e.what()));
        // Wrong credentials or certificates will not fix themselves: no restart (exit 78).
        return permanent ? exit_code::kConfig : exit_code::kFailure;
      }
      options.nats = nats.get();
    } else if (process.configPath) {
      log::info("no nats: section in {}: status goes to systemd only", *process.configPath);
    }
    auto service = factory();
    Runtime runtime(*service, std::move(options), *notifier);
    struct Attached {  // until the runtime is gone, whatever way run() ends
      NatsLoss& loss;
      ~Attached() { loss.attach(nullptr); }
    } attached{*natsLoss};
    natsLoss->attach(&runtime);
    status = runtime.run();
  } catch (const std::exception& e) {
    log::critical("{}", e.what());
    status = exit_code::kFailure;
  } catch (...) {  // e.g. a service constructor throwing something else
    log::critical("unknown exception while setting up the service");
    status = exit_code::kFailure;
  }
  return status;
}

}  // namespace tcs
