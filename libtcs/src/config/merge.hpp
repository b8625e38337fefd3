// SPDX-License-Identifier: MIT
// Internal to the config module: upstream's deep merge of the top-level globals under an entry.
#pragma once

#include "tcs/config.hpp"

namespace tcs::config {

/** @p over on top of @p base: mappings merge key by key (recursively), anything else is replaced by @p over. */
Value deepMerge(const Value& base, const Value& over);

}  // namespace tcs::config
