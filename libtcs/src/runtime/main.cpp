// SPDX-License-Identifier: MIT
// runMain(): the whole program behind TCS_SERVICE — command line, config, logging, signals,
// then the Runtime. Upstream's standalone form is kept: [config] [variant] [--runner-id ID]
// [--parent-name NAME] [--no-banner].
#include "tcs/main.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>

#include "runtime.hpp"
#include "tcs/config.hpp"
#include "tcs/log.hpp"
#include "tcs/nats.hpp"
#include "tcs/notify.hpp"
#include "tcs/signals.hpp"
#include "tcs/unit_name.hpp"

#ifndef TCS_VERSION
#define TCS_VERSION "unknown"
#endif
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

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

struct Args {
  std::vector<std::string> positionals;
  std::string runnerId;
  std::string parentName;
  bool noBanner = false;
  std::string logLevel;
};

void banner(const std::string& id, const std::string& configText) {
  // Upstream's standalone banner, line for line (its tests grep these strings).
  const std::string rule(60, '=');
  fmt::print(stderr, "{}\nTCS - Telescope Control Services\nStandalone Service: {}\nConfig: {}\n{}\n", rule, id,
             configText, rule);
}

}  // namespace

int runMain(int argc, char** argv, std::string_view builtinType, const ServiceFactory& factory) {
  std::string type = env("TCS_SERVICE_TYPE").value_or(std::string(builtinType));
  Args args;
  CLI::App app{
      fmt::format("tcs service '{}'. Runs until SIGTERM/SIGINT (a single-shot service until its work is "
                  "done). Under systemd: systemctl start tcs@{}:<variant>",
                  type, type)};
  app.name(std::filesystem::path(argv[0]).filename().string());
  app.add_option("config_and_variant", args.positionals,
                 "[CONFIG] [VARIANT]: services.yaml (default $TCS_CONFIG, else none: built-in defaults) and the "
                 "instance name (default $TCS_VARIANT, else 'dev'). A single argument not ending in .yaml/.yml is "
                 "the variant.")
      ->expected(0, 2)
      ->type_name("");
  app.add_option("--runner-id", args.runnerId, "runner id from the launcher (default $TCS_RUNNER_ID)");
  app.add_option("--parent-name", args.parentName,
                 "launcher monitor name, the 'parent' of this service's status "
                 "(default $TCS_PARENT_NAME)");
  app.add_flag("--no-banner", args.noBanner, "do not print the start-up banner");
  app.add_option("--log-level", args.logLevel,
                 "DEBUG, INFO, WARNING, ERROR or CRITICAL (default: $TCS_LOG_LEVEL, else the config's log_level, "
                 "else INFO)");
  app.set_version_flag("--version", fmt::format("{} (tcs {})", type, TCS_VERSION));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? exit_code::kOk : exit_code::kUsage;
  }

  // Positionals: upstream takes a lone argument as the variant unless it looks like a config.
  std::optional<std::string> configPath = env("TCS_CONFIG");
  std::string variant = env("TCS_VARIANT").value_or("dev");
  if (args.positionals.size() == 2) {
    configPath = args.positionals[0];
    variant = args.positionals[1];
  } else if (args.positionals.size() == 1) {
    const auto& a = args.positionals[0];
    if (a.ends_with(".yaml") || a.ends_with(".yml"))
      configPath = a;
    else
      variant = a;
  }
  if (args.runnerId.empty()) args.runnerId = env("TCS_RUNNER_ID").value_or("");
  if (args.parentName.empty()) args.parentName = env("TCS_PARENT_NAME").value_or("");

  const std::string id = unit_name::serviceId(type, variant);
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
  RunOptions options;
  options.type = type;
  options.variant = variant;
  std::optional<config::LogLevel> configLevel;
  config::NatsConfig natsConfig;
  if (configPath) {
    try {
      config::LoadOptions lo;
      lo.builtinServiceDir = TCS_SERVICE_BIN_DIR;
      const auto loaded = config::load(*configPath, lo);
      natsConfig = loaded.config.nats();
      if (const auto* svc = loaded.config.find(type, variant)) {
        options.settings = svc->settings;
        configLevel = svc->logLevel;
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

  std::optional<config::LogLevel> level;
  if (!args.logLevel.empty()) {
    level = config::parseLogLevel(args.logLevel);
    if (!level) {
      log::critical("invalid --log-level '{}' (expected DEBUG, INFO, WARNING, ERROR or CRITICAL)", args.logLevel);
      return exit_code::kUsage;
    }
  } else if (auto e = env("TCS_LOG_LEVEL")) {
    level = config::parseLogLevel(*e);
    if (!level) log::warning("ignoring invalid TCS_LOG_LEVEL '{}'", *e);
  }
  if (!level) level = configLevel;
  log::setLevel(log::fromConfig(level.value_or(config::LogLevel::Info)));

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

  if (!args.noBanner && !log::underSystemd())
    banner(id, configPath ? *configPath : std::string("Using defaults (no config file)"));

  // Termination signals are read from a signalfd by the main loop; block them in every thread
  // before any is created.
  SignalFd signals;
  try {
    signals = openTerminationSignalFd();
  } catch (const Error& e) {
    log::critical("{}", e.what());
    return exit_code::kFailure;
  }
  options.signalFd = signals.get();

  options.monitor.subjectPrefix = natsConfig.subjectPrefix;
  options.monitor.parent = args.parentName;
  if (!args.parentName.empty()) log::debug("parent {}, runner id {}", args.parentName, args.runnerId);

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
                               e.kind() == NatsError::Kind::Tls;
        log::critical("{}", e.what());
        notifier->notify(fmt::format("STATUS=failed: NATS: {}", e.what()));
        // Wrong credentials or certificates will not fix themselves: no restart (exit 78).
        return permanent ? exit_code::kConfig : exit_code::kFailure;
      }
      options.nats = nats.get();
    } else if (configPath) {
      log::info("no nats: section in {}: status goes to systemd only", *configPath);
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
