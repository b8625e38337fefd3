// SPDX-License-Identifier: MIT
#pragma once

#include <stdexcept>
#include <string>

namespace tcs {

/** @brief Base of every exception thrown by libtcs. */
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/**
 * @brief A configuration problem with its location.
 *
 * what() reads like a compiler diagnostic:
 * `services.yaml:12:14: services[2].restart: invalid value 'sometimes' (…)`.
 * Parts that are unknown are left out (no line for a missing file, no path for a syntax error).
 */
class ConfigError : public Error {
 public:
  ConfigError(std::string file, int line, int column, std::string yamlPath, std::string message);

  const std::string& file() const noexcept { return file_; }
  int line() const noexcept { return line_; }
  int column() const noexcept { return column_; }
  const std::string& yamlPath() const noexcept { return yamlPath_; }
  /** @brief The message without location prefix. */
  const std::string& message() const noexcept { return message_; }

 private:
  std::string file_;
  int line_;
  int column_;
  std::string yamlPath_;
  std::string message_;
};

}  // namespace tcs
