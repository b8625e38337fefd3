// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "tcs/export.hpp"

/**
 * @file
 * JsonObject: the free-form parts of payloads (metrics, checks, stats, RPC parameters) as the
 * compact text of one JSON object, so no JSON library type appears in a public header.
 */
namespace tcs::protocol {

/**
 * @brief One JSON object kept as its compact text; insertion order is preserved.
 *
 * Used for the free-form parts of payloads (metrics, checks, stats, RPC parameters). Build it
 * with set() or parse(); read it with text() and a JSON library of your choice. Non-finite
 * doubles are written as `null` (JSON has no NaN), invalid UTF-8 is replaced by U+FFFD.
 */
class TCS_API JsonObject {
 public:
  using Scalar = std::variant<std::nullptr_t, bool, std::int64_t, double, std::string>;

  /** @brief The empty object `{}`. */
  JsonObject() = default;

  /**
   * @brief Parses and re-serialises compactly.
   * @throws tcs::ProtocolError when @p json is not one JSON object
   */
  static JsonObject parse(std::string_view json);

  /** @brief Sets @p key (replacing its value in place, or appending it). @return *this */
  JsonObject& set(std::string_view key, Scalar value);
  /** @brief Sets @p key to a nested object. @return *this */
  JsonObject& set(std::string_view key, const JsonObject& value);
  /** @brief Sets every key of @p other (its values win; new keys are appended). @return *this */
  JsonObject& merge(const JsonObject& other);

  bool empty() const noexcept { return text_.size() == 2; }
  /** @return the compact JSON text, `{}` when empty */
  const std::string& text() const noexcept { return text_; }

  friend bool operator==(const JsonObject&, const JsonObject&) = default;

  /** @brief Incomplete outside libtcs: the protocol module's bridge to its JSON library. */
  struct Access;

 private:
  std::string text_ = "{}";
};

}  // namespace tcs::protocol
