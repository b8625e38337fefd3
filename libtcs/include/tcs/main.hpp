// SPDX-License-Identifier: MIT
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "tcs/export.hpp"
#include "tcs/service.hpp"

/**
 * @file
 * One macro turns a service class into a complete program:
 *
 *     TCS_SERVICE(HelloWorld, "hello_world")
 *
 * Command line (upstream's standalone form plus tcs options):
 *
 *     <binary> [CONFIG] [VARIANT] [--runner-id ID] [--parent-name NAME] [--no-banner]
 *              [--log-level LEVEL] [--help] [--version]
 *
 * Under systemd the unit passes the same arguments, and TCS_* environment variables
 * (TCS_CONFIG, TCS_SERVICE_TYPE, TCS_VARIANT, TCS_LOG_LEVEL, TCS_PARENT_NAME, TCS_RUNNER_ID)
 * fill in what the command line leaves out.
 *
 * The type ("hello_world" above) is the service type built into the binary: the `type:` of
 * its entries in services.yaml, the first half of the service id `<type>.<variant>`, the unit
 * name `tcs@<type>:<variant>` and the journal field TCS_SERVICE_TYPE. It is a default only:
 * the environment variable TCS_SERVICE_TYPE overrides it, and the unit tcs-unitgen writes
 * sets that variable from the entry's `type:`, so one binary (mapped to several types in the
 * config's `registry:`) can serve them all.
 */
namespace tcs {

using ServiceFactory = std::function<std::unique_ptr<Service>()>;

/** @brief Parses the command line, loads the config, runs the service; returns the exit status. */
TCS_API int runMain(int argc, char** argv, std::string_view type, const ServiceFactory& factory);

template <typename S>
int runService(int argc, char** argv, std::string_view type) {
  return runMain(argc, argv, type, [] { return std::make_unique<S>(); });
}

}  // namespace tcs

/**
 * @brief Defines main() for service class @p Class, built-in service type @p type (a string
 * literal; $TCS_SERVICE_TYPE overrides it, see above).
 */
#define TCS_SERVICE(Class, type)                       \
  int main(int argc, char** argv) {                    \
    return ::tcs::runService<Class>(argc, argv, type); \
  }
