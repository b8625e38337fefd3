// SPDX-License-Identifier: MIT
#include "tcs/error.hpp"

#include <fmt/format.h>

namespace tcs {
namespace {

std::string formatWhat(const std::string& file, int line, int column, const std::string& path,
                       const std::string& message) {
  std::string out = file;
  if (!file.empty() && line > 0) {
    out += fmt::format(":{}", line);
    if (column > 0) out += fmt::format(":{}", column);
  }
  if (!out.empty()) out += ": ";
  if (!path.empty()) out += path + ": ";
  return out + message;
}

}  // namespace

ConfigError::ConfigError(std::string file, int line, int column, std::string yamlPath, std::string message)
    : Error(formatWhat(file, line, column, yamlPath, message)),
      file_(std::move(file)),
      line_(line),
      column_(column),
      yamlPath_(std::move(yamlPath)),
      message_(std::move(message)) {}

}  // namespace tcs
