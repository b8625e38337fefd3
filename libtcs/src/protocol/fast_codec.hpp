// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tcs/protocol.hpp"

// Private to the protocol module (the public way in is encode() and encodeStatusInto() in
// tcs/protocol/codec.hpp): hand-written encoders for the messages a process sends most often (status
// and heartbeat), byte-identical to the nlohmann::ordered_json path in codec.cpp, which stays
// the reference and the fallback. They write straight into a caller's buffer, so a publisher
// that keeps its buffer encodes without allocating.
//
// "Unusual" input — a string that is not well-formed UTF-8, which the reference replaces with
// U+FFFD by nlohmann's rules — makes a fast encoder return false with @p out unspecified; the
// caller then uses the reference path. Everything else (escapes, control characters, valid
// UTF-8 of any plane, integers, timestamps, free-form JsonObject text) is written here.
namespace tcs::protocol::detail {

/** @brief Status message `{"data": <StatusUpdate>, "meta": …}` into @p out (replaced); the
 *  top-level `parent`, `pid` and `hostname` are given apart from the report (the monitor's). */
bool fastEncodeStatus(std::string& out, const StatusReport& report, std::string_view parent, std::int64_t pid,
                      std::string_view hostname, const Meta& meta);
bool fastEncode(std::string& out, const StatusUpdate& status, const Meta& meta);
bool fastEncode(std::string& out, const Heartbeat& heartbeat, const Meta& meta);

/** @brief The nlohmann path of encode() (the reference the fast encoders are tested against). */
std::string referenceEncode(const StatusUpdate& status, const Meta& meta);
std::string referenceEncode(const Heartbeat& heartbeat, const Meta& meta);

}  // namespace tcs::protocol::detail
