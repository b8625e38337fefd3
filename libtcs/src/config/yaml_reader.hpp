// SPDX-License-Identifier: MIT
// Internal to the config module: YAML text → Value (the only file that sees yaml-cpp).
#pragma once

#include <string_view>

#include "diagnostics.hpp"
#include "tcs/config.hpp"

namespace tcs::config {

/**
 * Parses @p text into a Value tree: scalars typed like PyYAML, `${VAR}` expanded from
 * @p environment in strings, merge keys (`<<`) applied, duplicate keys reported.
 * @throws tcs::ConfigError for text that is not YAML (named as diagnostics.fileName())
 */
Value readYaml(std::string_view text, Diagnostics& diagnostics, const Environment& environment);

}  // namespace tcs::config
