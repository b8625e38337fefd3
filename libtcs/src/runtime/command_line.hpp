// SPDX-License-Identifier: MIT
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tcs/config.hpp"

/**
 * @file
 * The command line and TCS_* environment of a service binary, resolved without side effects
 * (no printing, no logging, no getenv): the first step of runMain. Precedence, for each value:
 *
 * | value          | 1st                        | 2nd                  | 3rd                  | default        |
 * |----------------|----------------------------|----------------------|----------------------|----------------|
 * | type           | $TCS_SERVICE_TYPE          | TCS_SERVICE's type   |                      |                |
 * | config file    | positional CONFIG          | $TCS_CONFIG          |                      | none           |
 * | variant        | positional VARIANT         | $TCS_VARIANT         |                      | "dev"          |
 * | runner id      | --runner-id (non-empty)    | $TCS_RUNNER_ID       |                      | ""             |
 * | parent name    | --parent-name (non-empty)  | $TCS_PARENT_NAME     |                      | ""             |
 * | log level      | --log-level (invalid: exit 2) | $TCS_LOG_LEVEL (invalid: ignored) | the entry's log_level | INFO |
 *
 * One positional is CONFIG if it ends in .yaml/.yml, else VARIANT; two are CONFIG VARIANT.
 * An environment variable set to the empty string counts as unset.
 */
namespace tcs {

/** @brief Environment variables by name (only the TCS_* ones matter). */
using Environment = std::map<std::string, std::string, std::less<>>;

/** @brief The TCS_* variables the parser reads, from this process's environment. */
Environment processEnvironment();

/** @brief What the command line and the environment resolve to. */
struct CommandLine {
  std::string type;
  std::optional<std::string> configPath;
  std::string variant;
  std::string runnerId;
  std::string parentName;
  bool noBanner = false;
  /** @brief --log-level as given; empty when not given. */
  std::string logLevelOption;
  /** @brief $TCS_LOG_LEVEL; empty when unset. */
  std::string logLevelEnvironment;
};

/**
 * @brief The program ends before starting: --help or --version (status 0, text on stdout) or a
 * usage error (status 2, the message on stderr). The caller prints the text as is.
 */
struct CommandLineExit {
  int status = 0;
  std::string out;
  std::string err;
};

/**
 * @brief Parses @p args (argv, program name first) with @p environment for service type
 * @p builtinType; @p version is printed by --version after the type.
 */
std::variant<CommandLine, CommandLineExit> parseCommandLine(const std::vector<std::string>& args,
                                                            const Environment& environment,
                                                            std::string_view builtinType, std::string_view version);

/** @brief The log level in effect and whether a source of it was invalid. */
struct LogLevelChoice {
  enum class Problem {
    None,
    /** @brief --log-level names no level: a usage error (exit 2). */
    InvalidOption,
    /** @brief $TCS_LOG_LEVEL names no level: a warning, then the next source applies. */
    InvalidEnvironment,
  };
  config::LogLevel level = config::LogLevel::Info;
  Problem problem = Problem::None;
};

/**
 * @brief --log-level, else $TCS_LOG_LEVEL, else the config entry's @p configLevel, else INFO.
 */
LogLevelChoice chooseLogLevel(const CommandLine& commandLine, std::optional<config::LogLevel> configLevel);

}  // namespace tcs
