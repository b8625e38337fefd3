// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tcs/export.hpp"
#include "tcs/protocol/timestamp.hpp"

/**
 * @file
 * The serverish envelope's `meta` and the per-process MetaGenerator that stamps it.
 */
namespace tcs::protocol {

/** @brief `meta.trace_level` of every message (serverish DEBUG). */
inline constexpr int kTraceLevel = 10;
/** @brief `meta.message_type` of RPC requests and replies (other messages use `""`). */
inline constexpr std::string_view kMessageTypeRpc = "rpc";

/** @brief The envelope's `meta` (serverish); key order `id, sender, ts, trace_level,
 *         message_type, tags`. Readers' additions (e.g. `meta.nats`) are ignored. */
struct TCS_API Meta {
  std::string id;      ///< `msg`, `msg-2`, `msg-3`, … per process
  std::string sender;  ///< the publishing process's name
  Timestamp ts{};      ///< publish time
  int traceLevel = kTraceLevel;
  std::string messageType;  ///< `""`, or `"rpc"` for RPC requests and replies
  std::vector<std::string> tags;

  friend bool operator==(const Meta&, const Meta&) = default;
};

/**
 * @brief Stamps outgoing messages: the per-process id counter and the sender name.
 *
 * Thread-safe. A process normally uses processMetaGenerator() so that ids never repeat.
 */
class TCS_API MetaGenerator {
 public:
  /** @param[in] sender - the `meta.sender` of every message (default: randomSenderName()) */
  explicit MetaGenerator(std::string sender = randomSenderName());

  /** @return the next meta: id `msg` first, then `msg-2`, `msg-3`…; ts = now() */
  Meta next(std::string_view messageType = {});
  /** @brief The same as `meta = next(messageType)`, reusing @p meta's strings (no allocation once warm). */
  void next(Meta& meta, std::string_view messageType = {});

  const std::string& sender() const noexcept { return sender_; }

  /** @return `Messenger_` + 10 random characters of `[A-Za-z0-9_-]`, upstream's form */
  static std::string randomSenderName();

 private:
  std::string sender_;
  std::atomic<std::uint64_t> count_{0};
};

/** @brief The process-wide generator (created on first use with a random sender name). */
TCS_API MetaGenerator& processMetaGenerator();

}  // namespace tcs::protocol
