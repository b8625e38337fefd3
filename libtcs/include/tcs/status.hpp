// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string_view>

#include "tcs/export.hpp"

namespace tcs {

/** @brief The ten status values of the protocol (spec/protocol.md), spelled as on the wire. */
enum class Status { Unknown, Startup, Ok, Idle, Busy, Degraded, Warning, Error, Shutdown, Failed };

/** @return the wire spelling: `unknown`, `startup`, `ok`, … */
TCS_API std::string_view toString(Status status) noexcept;
TCS_API std::optional<Status> parseStatus(std::string_view text) noexcept;

}  // namespace tcs
