// SPDX-License-Identifier: MIT
// The one name table of tcs::LogLevel (printing and parsing).
#include "tcs/log_level.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <utility>

namespace tcs {
namespace {
constexpr std::array<std::pair<LogLevel, std::string_view>, 5> kNames{{{LogLevel::Debug, "DEBUG"},
                                                                       {LogLevel::Info, "INFO"},
                                                                       {LogLevel::Warning, "WARNING"},
                                                                       {LogLevel::Error, "ERROR"},
                                                                       {LogLevel::Critical, "CRITICAL"}}};
}  // namespace

std::string_view toString(LogLevel level) noexcept {
  for (const auto& [l, name] : kNames)
    if (l == level) return name;
  return "INFO";
}

std::optional<LogLevel> parseLogLevel(std::string_view text) noexcept {
  std::string up{text};
  std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return std::toupper(c); });
  if (up == "WARN") return LogLevel::Warning;
  for (const auto& [l, name] : kNames)
    if (name == up) return l;
  return std::nullopt;
}

}  // namespace tcs
