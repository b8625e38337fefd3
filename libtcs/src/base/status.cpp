// SPDX-License-Identifier: MIT
#include "tcs/status.hpp"

#include <array>
#include <utility>

namespace tcs {
namespace {
constexpr std::array<std::pair<Status, std::string_view>, 10> kNames{{{Status::Unknown, "unknown"},
                                                                      {Status::Startup, "startup"},
                                                                      {Status::Ok, "ok"},
                                                                      {Status::Idle, "idle"},
                                                                      {Status::Busy, "busy"},
                                                                      {Status::Degraded, "degraded"},
                                                                      {Status::Warning, "warning"},
                                                                      {Status::Error, "error"},
                                                                      {Status::Shutdown, "shutdown"},
                                                                      {Status::Failed, "failed"}}};
}  // namespace

std::string_view toString(Status status) noexcept {
  for (const auto& [s, name] : kNames)
    if (s == status) return name;
  return "unknown";
}

std::optional<Status> parseStatus(std::string_view text) noexcept {
  for (const auto& [s, name] : kNames)
    if (name == text) return s;
  return std::nullopt;
}

}  // namespace tcs
