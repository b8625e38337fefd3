// SPDX-License-Identifier: MIT
// Internal to the config module: scalar typing like upstream's Python (PyYAML's YAML 1.1
// resolver, int(), float()) and the character checks shared by the validators.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tcs/config.hpp"

namespace tcs::config {

/** Python's int(str): optional surrounding whitespace, sign, digits with single underscores between them. */
std::optional<std::int64_t> pythonInt(std::string_view s);
/** Python's float(str): decimal forms and the inf/nan words. */
std::optional<double> pythonFloat(std::string_view s);
/** Upstream's whole-value conversion after `${…}` expansion: contains '.' → float, else int, else the string. */
Value convertWholeValue(std::string s, std::string path, Mark mark);
/** PyYAML (YAML 1.1) implicit resolution of a plain scalar: null, bool, int, float or string. */
Value resolvePlain(const std::string& s, std::string path, Mark mark);
/** Whether @p s holds a character below 0x20 or DEL (never allowed into a unit file). */
bool hasControlChars(std::string_view s);

}  // namespace tcs::config
