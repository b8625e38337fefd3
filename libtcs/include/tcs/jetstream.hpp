// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "tcs/export.hpp"
#include "tcs/nats.hpp"

/**
 * @file
 * JetStream stream administration over a process's NatsConnection: what tcs-supervisor does to
 * make sure the protocol's streams exist. Services never need it (tcs/tcs.hpp does not include
 * it); they publish with NatsConnection::publishPersistent(), which uses whatever stream
 * captures the subject.
 *
 *     tcs::JetStreamAdmin admin(nats);
 *     admin.ensureStream({"svc_registry", "svc.registry.>", std::chrono::seconds(0), 10 << 20, 100});
 */
namespace tcs {

/** @brief A JetStream stream as the supervisor wants it (limits retention, file storage). */
struct TCS_API StreamSpec {
  std::string name;
  std::string subject;                  ///< the one subject filter, e.g. `svc.registry.>`
  std::chrono::seconds maxAge{0};       ///< 0 = no limit
  std::int64_t maxBytes = -1;           ///< -1 = no limit
  std::int64_t maxMsgsPerSubject = -1;  ///< -1 = no limit
};

/** @brief What JetStreamAdmin::ensureStream() did. */
enum class StreamOutcome {
  Created,
  Unchanged,          ///< it existed and captures the subject with limits at least as generous
  Widened,            ///< it existed; a missing subject was added or a tighter limit raised
  CapturedElsewhere,  ///< it did not exist, and another stream already captures the subject
  Unavailable         ///< JetStream is not enabled on the server (or not reachable)
};

/**
 * @brief Stream administration on one NatsConnection (which must outlive it). Thread-safe as
 * the connection is.
 */
class TCS_API JetStreamAdmin {
 public:
  explicit JetStreamAdmin(NatsConnection& nats) noexcept : nats_(nats) {}

  /**
   * @brief Makes sure a stream captures @p spec's subject: creates it, or widens an existing one
   * (adds the subject, raises a tighter limit). Never deletes, shrinks or purges a stream.
   * Afterwards the connection's publishPersistent() knows a stream captures the subject (no
   * JetStream lookup before its first publish).
   * @throws NatsError for other failures (e.g. the subject overlaps another stream)
   */
  StreamOutcome ensureStream(const StreamSpec& spec);

 private:
  NatsConnection& nats_;
};

}  // namespace tcs
