// SPDX-License-Identifier: MIT
// Internal to the config module: "did you mean" suggestions for misspelled keys.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace tcs::config {

/** Levenshtein distance between @p a and @p b. */
std::size_t editDistance(std::string_view a, std::string_view b);
/**
 * The known key @p key is probably a misspelling of (edit distance below 3 after lower-casing
 * and `-` → `_`), or nothing when @p key is known, shorter than 4 characters or far from all.
 * On a tie the first of @p known wins.
 */
std::optional<std::string_view> closeKnownKey(std::string_view key, std::span<const std::string_view> known);

}  // namespace tcs::config
