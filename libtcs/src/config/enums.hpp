// SPDX-License-Identifier: MIT
// Internal to the config module: the text tables of the config's enums (log levels: tcs/log_level.hpp).
#pragma once

#include <optional>
#include <string_view>

#include "tcs/config.hpp"

namespace tcs::config {

/** The RestartPolicy a `restart:` word names (`no`, `on-failure`, `on-abnormal`, `always`; exact spelling). */
std::optional<RestartPolicy> parseRestartPolicy(std::string_view word) noexcept;

}  // namespace tcs::config
