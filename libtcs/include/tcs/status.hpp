// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string_view>

namespace tcs {

/** @brief The ten status values of the protocol (spec/protocol.md), spelled as on the wire. */
enum class Status { Unknown, Startup, Ok, Idle, Busy, Degraded, Warning, Error, Shutdown, Failed };

/** @return the wire spelling: `unknown`, `startup`, `ok`, … */
std::string_view toString(Status status) noexcept;
std::optional<Status> parseStatus(std::string_view text) noexcept;

}  // namespace tcs
