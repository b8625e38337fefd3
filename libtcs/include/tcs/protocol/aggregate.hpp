// SPDX-License-Identifier: MIT
#pragma once

#include <initializer_list>
#include <span>

#include "tcs/export.hpp"
#include "tcs/status.hpp"

/**
 * @file
 * Status aggregation: upstream's aggregate_status rule.
 */
namespace tcs::protocol {

/**
 * @brief Upstream's aggregate_status: the first rule that matches of
 *        empty → unknown; failed; error; warning; degraded; startup; shutdown; busy;
 *        all idle/ok → idle if any idle else ok; otherwise (unknown mixed in) → warning.
 */
TCS_API Status aggregateStatus(std::span<const Status> statuses) noexcept;
inline Status aggregateStatus(std::initializer_list<Status> statuses) noexcept {
  return aggregateStatus(std::span<const Status>{statuses.begin(), statuses.size()});
}

}  // namespace tcs::protocol
