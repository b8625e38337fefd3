// SPDX-License-Identifier: MIT
#include <algorithm>
#include <array>

#include "tcs/protocol.hpp"

namespace tcs::protocol {

Status aggregateStatus(std::span<const Status> statuses) noexcept {
  if (statuses.empty()) return Status::Unknown;
  const auto any = [&](Status s) { return std::find(statuses.begin(), statuses.end(), s) != statuses.end(); };
  // Upstream's order: warning outranks degraded.
  static constexpr std::array kPrecedence{Status::Failed,  Status::Error,    Status::Warning, Status::Degraded,
                                          Status::Startup, Status::Shutdown, Status::Busy};
  for (const auto s : kPrecedence)
    if (any(s)) return s;
  const bool allIdleOrOk =
      std::all_of(statuses.begin(), statuses.end(), [](Status s) { return s == Status::Idle || s == Status::Ok; });
  if (allIdleOrOk) return any(Status::Idle) ? Status::Idle : Status::Ok;
  return Status::Warning;  // only reachable with `unknown` mixed in
}

}  // namespace tcs::protocol
