// SPDX-License-Identifier: MIT
// The command line + environment parser behind runMain (command_line.hpp). Pure: CLI11's
// output is captured in strings, the environment comes in as a map.
#include "command_line.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "tcs/exit_code.hpp"

namespace tcs {
namespace {

constexpr const char* kEnvironmentNames[] = {"TCS_CONFIG",    "TCS_SERVICE_TYPE", "TCS_VARIANT",
                                             "TCS_LOG_LEVEL", "TCS_PARENT_NAME",  "TCS_RUNNER_ID"};

/** @return the variable's value; nullopt when unset or empty */
std::optional<std::string> lookup(const Environment& environment, std::string_view name) {
  const auto it = environment.find(name);
  if (it == environment.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

}  // namespace

Environment processEnvironment() {
  Environment environment;
  for (const char* name : kEnvironmentNames)
    if (const char* value = std::getenv(name)) environment.emplace(name, value);
  return environment;
}

std::variant<CommandLine, CommandLineExit> parseCommandLine(const std::vector<std::string>& args,
                                                            const Environment& environment,
                                                            std::string_view builtinType, std::string_view version) {
  CommandLine result;
  result.type = lookup(environment, "TCS_SERVICE_TYPE").value_or(std::string(builtinType));
  const std::string& type = result.type;
  std::vector<std::string> positionals;
  CLI::App app{
      fmt::format("tcs service '{}'. Runs until SIGTERM/SIGINT (a single-shot service until its work is "
                  "done). Under systemd: systemctl start tcs@{}:<variant>",
                  type, type)};
  app.name(std::filesystem::path(args.empty() ? std::string() : args.front()).filename().string());
  app.add_option("config_and_variant", positionals,
                 "[CONFIG] [VARIANT]: services.yaml (default $TCS_CONFIG, else none: built-in defaults) and the "
                 "instance name (default $TCS_VARIANT, else 'dev'). A single argument not ending in .yaml/.yml is "
                 "the variant.")
      ->expected(0, 2)
      ->type_name("");
  app.add_option("--runner-id", result.runnerId, "runner id from the launcher (default $TCS_RUNNER_ID)");
  app.add_option("--parent-name", result.parentName,
                 "launcher monitor name, the 'parent' of this service's status "
                 "(default $TCS_PARENT_NAME)");
  app.add_flag("--no-banner", result.noBanner, "do not print the start-up banner");
  app.add_option("--log-level", result.logLevelOption,
                 "DEBUG, INFO, WARNING, ERROR or CRITICAL (default: $TCS_LOG_LEVEL, else the config's log_level, "
                 "else INFO)");
  app.set_version_flag("--version", fmt::format("{} (tcs {})", type, version));
  try {
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    const int code = app.exit(e, out, err);
    return CommandLineExit{code == 0 ? exit_code::kOk : exit_code::kUsage, out.str(), err.str()};
  }

  // Positionals: upstream takes a lone argument as the variant unless it looks like a config.
  result.configPath = lookup(environment, "TCS_CONFIG");
  result.variant = lookup(environment, "TCS_VARIANT").value_or("dev");
  if (positionals.size() == 2) {
    result.configPath = positionals[0];
    result.variant = positionals[1];
  } else if (positionals.size() == 1) {
    const auto& a = positionals[0];
    if (a.ends_with(".yaml") || a.ends_with(".yml"))
      result.configPath = a;
    else
      result.variant = a;
  }
  if (result.runnerId.empty()) result.runnerId = lookup(environment, "TCS_RUNNER_ID").value_or("");
  if (result.parentName.empty()) result.parentName = lookup(environment, "TCS_PARENT_NAME").value_or("");
  result.logLevelEnvironment = lookup(environment, "TCS_LOG_LEVEL").value_or("");
  return result;
}

LogLevelChoice chooseLogLevel(const CommandLine& commandLine, std::optional<config::LogLevel> configLevel) {
  LogLevelChoice choice;
  std::optional<config::LogLevel> level;
  if (!commandLine.logLevelOption.empty()) {
    level = config::parseLogLevel(commandLine.logLevelOption);
    if (!level) choice.problem = LogLevelChoice::Problem::InvalidOption;
  } else if (!commandLine.logLevelEnvironment.empty()) {
    level = config::parseLogLevel(commandLine.logLevelEnvironment);
    if (!level) choice.problem = LogLevelChoice::Problem::InvalidEnvironment;
  }
  if (!level) level = configLevel;
  choice.level = level.value_or(config::LogLevel::Info);
  return choice;
}

}  // namespace tcs
