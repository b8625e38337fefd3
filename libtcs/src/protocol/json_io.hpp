// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "tcs/error.hpp"
#include "tcs/protocol.hpp"

// Private helpers of the protocol module: the only place that sees nlohmann::json.
namespace tcs::protocol::detail {

// ordered_json keeps the insertion order, which is how upstream's key order is reproduced.
using Json = nlohmann::ordered_json;

// A JSON path rendered only when an error is reported: decoding a valid message allocates
// nothing for it.
struct Path {
  const Path* parent = nullptr;
  std::string_view key;
  std::size_t index = 0;
  bool isIndex = false;

  Path operator/(std::string_view k) const { return Path{this, k, 0, false}; }
  Path operator[](std::size_t i) const { return Path{this, {}, i, true}; }
  std::string str() const;
};

[[noreturn]] void fail(const Path& path, std::string_view what);
[[noreturn]] void fail(std::string_view what);

// Parses @p text after checking its nesting depth; throws ProtocolError ("<what>: …").
Json parseJson(std::string_view text, std::string_view what);
// Serialises compactly; invalid UTF-8 is replaced instead of throwing.
std::string dump(const Json& j);

}  // namespace tcs::protocol::detail

namespace tcs::protocol {
// JsonObject's private bridge (a nested class: it may read and write the text).
struct TCS_LOCAL JsonObject::Access {
  static JsonObject fromJson(const detail::Json& object);  // object must be an object
  static detail::Json toJson(const JsonObject& object);
};
}  // namespace tcs::protocol

namespace tcs::protocol::detail {
using JsonAccess = JsonObject::Access;

// Readers. `get*` need the key; `opt*` return nullopt when it is absent or null.
const Json& requireObject(const Json& j, const Path& path);
const Json* find(const Json& object, std::string_view key);
const Json& require(const Json& object, std::string_view key, const Path& path);

std::string asString(const Json& j, const Path& path);
bool asBool(const Json& j, const Path& path);
double asDouble(const Json& j, const Path& path);
std::int64_t asInt(const Json& j, const Path& path, std::int64_t min, std::int64_t max);
std::uint64_t asUint(const Json& j, const Path& path);
Status asStatus(const Json& j, const Path& path);
Timestamp asTimestamp(const Json& j, const Path& path);
JsonObject asObject(const Json& j, const Path& path);

std::string getString(const Json& o, std::string_view key, const Path& path);
std::optional<std::string> optString(const Json& o, std::string_view key, const Path& path);
Status getStatus(const Json& o, std::string_view key, const Path& path);
Timestamp getTimestamp(const Json& o, std::string_view key, const Path& path);

template <class I>
I getInt(const Json& o, std::string_view key, const Path& path) {
  return static_cast<I>(
      asInt(require(o, key, path), path / key, std::numeric_limits<I>::min(), std::numeric_limits<I>::max()));
}

template <class I>
std::optional<I> optInt(const Json& o, std::string_view key, const Path& path) {
  const Json* v = find(o, key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  return static_cast<I>(asInt(*v, path / key, std::numeric_limits<I>::min(), std::numeric_limits<I>::max()));
}

Json timestampJson(Timestamp ts);

}  // namespace tcs::protocol::detail
