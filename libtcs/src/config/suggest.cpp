// SPDX-License-Identifier: MIT
// Edit distance and the "did you mean" lookup behind the unknown-key warnings.
#include "suggest.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace tcs::config {

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

namespace {

// Whether @p a is @p b with two neighbouring characters swapped.
bool isAdjacentSwap(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  std::size_t i = 0;
  while (i < a.size() && a[i] == b[i]) ++i;
  return i + 1 < a.size() && a[i] == b[i + 1] && a[i + 1] == b[i] && a.substr(i + 2) == b.substr(i + 2);
}

}  // namespace

std::optional<std::string_view> closeKnownKey(std::string_view key, std::span<const std::string_view> known) {
  if (key.size() < 4) return std::nullopt;
  std::string lower{key};
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  std::replace(lower.begin(), lower.end(), '-', '_');
  for (auto k : known) {
    if (k == key) return std::nullopt;
  }
  std::optional<std::string_view> best;
  std::size_t bestDistance = 3;
  for (auto k : known) {
    const std::size_t d = editDistance(lower, k);
    // Two edits turn a four-letter key into common setting names (nice → name, note, node):
    // short keys are suggested for one edit or one swap of neighbours (hots → host) only.
    if (k.size() <= 4 && d > 1 && !isAdjacentSwap(lower, k)) continue;
    if (d < bestDistance) {
      bestDistance = d;
      best = k;
    }
  }
  return best;
}

}  // namespace tcs::config
