// SPDX-License-Identifier: MIT
// runMain(): the program behind TCS_SERVICE, three steps — the command line and environment
// (command_line.hpp), the process set-up (bootstrap()), the service under its Runtime
// (runBootstrapped()). Upstream's standalone form is kept: [config] [variant] [--runner-id ID]
// [--parent-name NAME] [--no-banner].
#include "tcs/main.hpp"

#include <fmt/format.h>

#include <string>
#include <variant>
#include <vector>

#include "bootstrap.hpp"
#include "command_line.hpp"

#ifndef TCS_VERSION
#define TCS_VERSION "unknown"
#endif

namespace tcs {

int runMain(int argc, char** argv, std::string_view builtinType, const ServiceFactory& factory) {
  const std::vector<std::string> args(argv, argv + argc);
  auto parsed = parseCommandLine(args, processEnvironment(), builtinType, TCS_VERSION);
  if (const auto* exit = std::get_if<CommandLineExit>(&parsed)) {
    fmt::print(stdout, "{}", exit->out);
    fmt::print(stderr, "{}", exit->err);
    return exit->status;
  }
  auto process = bootstrap(std::get<CommandLine>(parsed));
  if (const int* status = std::get_if<int>(&process)) return *status;
  return runBootstrapped(std::get<Bootstrapped>(process), factory);
}

}  // namespace tcs
