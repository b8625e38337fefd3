// SPDX-License-Identifier: MIT
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tcs/export.hpp"
#include "tcs/protocol/envelope.hpp"
#include "tcs/protocol/payloads.hpp"

/**
 * @file
 * The codec: payload + meta to message bytes and back (encode, decode), the shared RPC request
 * parser, and the allocation-free status encoder for publishers that keep a buffer.
 */
namespace tcs::protocol {

/** @brief Decoders reject JSON nested deeper than this (arrays and objects), before parsing. */
inline constexpr std::size_t kMaxNestingDepth = 64;

/** @brief The types that are the `data` of a message. */
template <class T>
concept Payload = std::same_as<T, StatusUpdate> || std::same_as<T, Heartbeat> || std::same_as<T, RegistryEvent> ||
    std::same_as<T, RpcRequest> || std::same_as<T, HealthReply> || std::same_as<T, StatsReply> ||
    std::same_as<T, LauncherListReply> || std::same_as<T, LauncherActionReply> ||
    std::same_as<T, LauncherReloadReply> || std::same_as<T, LogsRequest> || std::same_as<T, LogsReply> ||
    std::same_as<T, ErrorReply>;

/** @brief A decoded message. */
template <class T>
struct TCS_API Message {
  Meta meta;
  T data;
  friend bool operator==(const Message&, const Message&) = default;
};

/** @return the message body `{"data": …, "meta": …}`, compact UTF-8 JSON */
template <Payload T>
TCS_API std::string encode(const T& data, const Meta& meta);

/** @return only the `data` object, compact */
template <Payload T>
TCS_API std::string encodeData(const T& data);

/**
 * @brief Decodes a message body; unknown keys anywhere are ignored.
 * @throws tcs::ProtocolError naming what is wrong: not JSON, nested too deep, not an object,
 *         `data` or `meta` missing or not an object, a required key missing, a key of the
 *         wrong type, a number out of range, an unknown status or registry event, a bad
 *         timestamp
 */
template <Payload T>
TCS_API Message<T> decode(std::string_view body);

/** @brief Decodes only a `data` object (as encodeData() writes it). @throws tcs::ProtocolError */
template <Payload T>
TCS_API T decodeData(std::string_view data);

/**
 * @brief Encodes a status message `{"data": <StatusUpdate>, "meta": …}` into @p out (its
 *        content replaced, its capacity reused): the same bytes as encode() of the StatusUpdate
 *        made of @p report with the top-level @p parent, @p pid and @p hostname.
 *
 * For publishers that keep one buffer per thread: a well-formed report is written by a
 * hand-written encoder straight into @p out, so no allocation happens once @p out has grown to
 * the message's size (no StatusUpdate is built either). A report with a string that is not
 * well-formed UTF-8 takes the general encoder, which replaces it with U+FFFD (and allocates).
 * Does not throw except std::bad_alloc.
 */
TCS_API void encodeStatusInto(std::string& out, const StatusReport& report, std::string_view parent, std::int64_t pid,
                              std::string_view hostname, const Meta& meta);

/**
 * @brief The one parser of an RPC request body, for every RPC server (services and the
 *        supervisor): a full message `{"data": {…}, "meta": {…}}`, or — what `nats req SUBJECT
 *        '{}'` sends — only the `data` object; an empty or whitespace-only body is `{}`.
 * @return the request's parameters
 * @throws tcs::ProtocolError when the body is neither; its what() is the message decoder's
 *         (what is wrong with the body read as a full message)
 */
TCS_API RpcRequest parseRpcRequest(std::string_view body);

/**
 * @brief True if an RPC reply body carries an ErrorReply (its `data` has a string `error`).
 * @throws tcs::ProtocolError when @p body is not a message
 */
TCS_API bool isErrorReply(std::string_view body);

}  // namespace tcs::protocol
