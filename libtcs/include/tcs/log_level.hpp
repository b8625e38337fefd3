// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string_view>

#include "tcs/export.hpp"

/**
 * @file
 * The one log-level vocabulary of tcs (base module: includes nothing of tcs): the config's
 * `log_level`, `--log-level`, `$TCS_LOG_LEVEL` and the logger all use tcs::LogLevel.
 * `tcs::config::LogLevel` and `tcs::log::Level` are aliases of it.
 */
namespace tcs {

/** @brief Upstream's five levels, least severe first (the order filters compare). */
enum class LogLevel { Debug = 0, Info = 1, Warning = 2, Error = 3, Critical = 4 };

/** @return `DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`. */
TCS_API std::string_view toString(LogLevel level) noexcept;
/** @brief Case-insensitive parse of the five upstream level names (and `WARN`). */
TCS_API std::optional<LogLevel> parseLogLevel(std::string_view text) noexcept;

}  // namespace tcs
