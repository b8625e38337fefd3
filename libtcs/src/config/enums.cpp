// SPDX-License-Identifier: MIT
// The text table of RestartPolicy: systemd's Restart= words, printed and parsed from one list.
#include "enums.hpp"

#include <array>
#include <utility>

namespace tcs::config {
namespace {
constexpr std::array<std::pair<RestartPolicy, std::string_view>, 4> kRestartWords{
    {{RestartPolicy::No, "no"},
     {RestartPolicy::OnFailure, "on-failure"},
     {RestartPolicy::OnAbnormal, "on-abnormal"},
     {RestartPolicy::Always, "always"}}};
}  // namespace

std::string_view toString(RestartPolicy policy) noexcept {
  for (const auto& [p, word] : kRestartWords)
    if (p == policy) return word;
  return "no";
}

std::optional<RestartPolicy> parseRestartPolicy(std::string_view word) noexcept {
  for (const auto& [p, w] : kRestartWords)
    if (w == word) return p;
  return std::nullopt;
}

}  // namespace tcs::config
