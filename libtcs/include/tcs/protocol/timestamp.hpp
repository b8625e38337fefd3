// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "tcs/export.hpp"

/**
 * @file
 * Wire timestamps: UTC, microseconds, sent as `[year, month, day, hour, minute, second, µs]`.
 * Part of tcs::protocol (see tcs/protocol.hpp for the rules every protocol header follows).
 */
namespace tcs::protocol {

/** @brief A UTC time point with the wire's microsecond resolution. */
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;
/** @brief `[year, month, day, hour, minute, second, microsecond]`, UTC. */
using TimestampFields = std::array<std::int64_t, 7>;

/** @brief std::chrono::system_clock::now(), floored to microseconds. */
TCS_API Timestamp now() noexcept;

/** @brief Splits @p ts into the seven wire fields. */
TCS_API TimestampFields toFields(Timestamp ts) noexcept;

/**
 * @brief Builds a time point from wire fields; elements after the seventh are ignored.
 * @param[in] fields - at least 7 integers; year 1–9999, a real calendar date, hour 0–23,
 *                     minute and second 0–59, microsecond 0–999999 (Python datetime's range)
 * @throws tcs::ProtocolError when there are fewer than 7 fields or one is out of range
 */
TCS_API Timestamp fromFields(std::span<const std::int64_t> fields);

/** @return the compact JSON array, e.g. `[2026,11,25,17,30,35,22725]` */
TCS_API std::string encodeTimestamp(Timestamp ts);

/**
 * @brief Parses a JSON timestamp array; longer arrays are accepted and their first 7 used.
 * @throws tcs::ProtocolError for anything else (not JSON, not an array, fewer than 7 elements,
 *         an element that is not an integer, a field out of range)
 */
TCS_API Timestamp decodeTimestamp(std::string_view json);

}  // namespace tcs::protocol
