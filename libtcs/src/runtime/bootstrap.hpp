// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <variant>

#include "command_line.hpp"
#include "runtime.hpp"
#include "tcs/config.hpp"
#include "tcs/main.hpp"
#include "tcs/signals.hpp"

/**
 * @file
 * The second and third steps of runMain, after the command line (command_line.hpp):
 * bootstrap() sets up the process (logging, the service's config entry, the log level, the
 * banner, the termination signalfd) and runBootstrapped() applies the NATS policy, builds the
 * service and runs it under a Runtime. Both log what goes wrong and return the exit status.
 */
namespace tcs {

/** @brief A process ready to run its service. */
struct Bootstrapped {
  /** @brief `<type>.<variant>` */
  std::string id;
  std::optional<std::string> configPath;
  /** @brief type, variant, settings, stop timeout, monitor options, signal fd */
  RunOptions options;
  /** @brief The config's `nats:` section (present = false without one). */
  config::NatsConfig nats;
  /** @brief Owns options.signalFd. */
  SignalFd signals;
};

/**
 * @brief Configures logging for the service id, validates type and variant, loads the config
 * entry, sets the log level (chooseLogLevel), reads the runtime settings (stop_timeout,
 * heartbeat_interval, healthcheck_interval), prints the banner and opens the signalfd.
 * @return the bootstrapped process, or the exit status to end with (78 for config errors,
 * 2 for an invalid --log-level, 1 when the signalfd cannot be opened).
 */
std::variant<Bootstrapped, int> bootstrap(const CommandLine& commandLine);

/**
 * @brief Connects to NATS when the config has a `nats:` section (`required: true` waits, up
 * to 60 s, and ends the service if the connection later closes for good; `false` connects in
 * the background), then creates the service with @p factory and runs it.
 * @return the process exit status.
 */
int runBootstrapped(Bootstrapped& process, const ServiceFactory& factory);

}  // namespace tcs
