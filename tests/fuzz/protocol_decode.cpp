// SPDX-License-Identifier: MIT
// Fuzz harness: one NATS message body through every decoder of the wire protocol — the
// envelope and each payload (decode<T>, decodeData<T>), the RPC request parser, isErrorReply,
// JsonObject::parse and decodeTimestamp — as services, the supervisor, the control client and
// tcsctl run them on whatever arrives.
//
// Properties: a decoder returns or throws tcs::ProtocolError, nothing else; what decodes
// re-encodes to a body that decodes to the same value (decode ∘ encode is the identity on
// decoded values); the allocation-free status and heartbeat encoders write the reference
// encoder's bytes; a body isErrorReply() accepts decodes as an ErrorReply.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "check.hpp"
#include "protocol/fast_codec.hpp"
#include "tcs/error.hpp"
#include "tcs/protocol.hpp"

namespace {

namespace p = tcs::protocol;
using tcs::fuzz::check;

template <p::Payload T>
void roundTrip(std::string_view body) {
  p::Message<T> message;
  try {
    message = p::decode<T>(body);
  } catch (const tcs::ProtocolError& e) {
    (void)e.what();
    return;
  }
  const auto encoded = p::encode(message.data, message.meta);
  p::Message<T> again;
  try {
    again = p::decode<T>(encoded);
  } catch (const tcs::ProtocolError& e) {
    tcs::fuzz::fail("what encode() writes decodes", std::string(e.what()) + "\n  " + encoded);
  }
  check(again == message, "decode(encode(m)) == m for a decoded m", encoded);
  if constexpr (std::same_as<T, p::StatusUpdate> || std::same_as<T, p::Heartbeat>) {
    std::string fast;
    if (p::detail::fastEncode(fast, message.data, message.meta))
      check(fast == p::detail::referenceEncode(message.data, message.meta),
            "the fast encoder writes the reference encoder's bytes", fast);
  }
  if constexpr (std::same_as<T, p::StatusUpdate>) {
    std::string into;
    const auto& d = message.data;
    p::encodeStatusInto(into, d, d.parent, d.pid, d.hostname, message.meta);
    check(into == encoded, "encodeStatusInto() writes encode()'s bytes", into);
  }
}

template <p::Payload T>
void dataRoundTrip(std::string_view data) {
  T value;
  try {
    value = p::decodeData<T>(data);
  } catch (const tcs::ProtocolError& e) {
    (void)e.what();
    return;
  }
  const auto encoded = p::encodeData(value);
  try {
    check(p::decodeData<T>(encoded) == value, "decodeData(encodeData(d)) == d for a decoded d", encoded);
  } catch (const tcs::ProtocolError& e) {
    tcs::fuzz::fail("what encodeData() writes decodes", std::string(e.what()) + "\n  " + encoded);
  }
}

template <p::Payload... T>
void everyPayload(std::string_view body) {
  (roundTrip<T>(body), ...);
  (dataRoundTrip<T>(body), ...);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  everyPayload<p::StatusUpdate, p::Heartbeat, p::RegistryEvent, p::RpcRequest, p::HealthReply, p::StatsReply,
               p::LauncherListReply, p::LauncherActionReply, p::LauncherReloadReply, p::LogsRequest, p::LogsReply,
               p::ErrorReply>(body);
  try {
    if (p::isErrorReply(body)) (void)p::decode<p::ErrorReply>(body);
  } catch (const tcs::ProtocolError&) {
  }
  try {
    (void)p::parseRpcRequest(body);
  } catch (const tcs::ProtocolError&) {
  }
  try {
    const auto object = p::JsonObject::parse(body);
    check(p::JsonObject::parse(object.text()) == object, "JsonObject::parse() of its own text is the identity",
          object.text());
  } catch (const tcs::ProtocolError&) {
  }
  try {
    const auto ts = p::decodeTimestamp(body);
    check(p::decodeTimestamp(p::encodeTimestamp(ts)) == ts, "a decoded timestamp round-trips");
  } catch (const tcs::ProtocolError&) {
  }
  return 0;
}
