// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

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
  int replicas = 1;                     ///< copies on a clustered JetStream (1-5; `nats.stream_replicas`)
};

/** @brief What JetStreamAdmin::ensureStream() did. */
enum class StreamOutcome {
  Created,
  Unchanged,          ///< it existed and captures the subject with limits at least as generous
  Widened,            ///< it existed; a missing subject was added, a tighter limit or fewer replicas raised
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
   * (adds the subject, raises a tighter limit, raises fewer replicas to @p spec's). Never deletes,
   * shrinks or purges a stream: one with more replicas keeps them.
   *
   * Replicas the server cannot give are logged (warning) and not fatal: a server without
   * clustering creates the stream with one; a raise the cluster refuses (too few servers up)
   * leaves the stream as it was, and the next call tries again.
   * Afterwards the connection's publishPersistent() knows a stream captures the subject (no
   * JetStream lookup before its first publish).
   * @throws NatsError for other failures (e.g. the subject overlaps another stream)
   */
  StreamOutcome ensureStream(const StreamSpec& spec);

 private:
  NatsConnection& nats_;
};

/** @brief How JetStreamReader::lastPerSubject() ended. */
enum class StreamReadOutcome {
  Read,         ///< every stored message the consumer had pending at its creation was delivered
  Incomplete,   ///< the time ran out (or the connection dropped) before all of them came, or the
                ///< copy read held fewer subjects than the stream's leader has
  NoStream,     ///< no stream captures the filter
  Unavailable,  ///< JetStream is not enabled on the server, or the server is not reachable
};

/** @brief What JetStreamReader::lastPerSubject() read. */
struct TCS_API StreamRead {
  StreamReadOutcome outcome = StreamReadOutcome::Unavailable;
  std::string stream;          ///< the stream that captures the filter ("" when none)
  std::uint64_t expected = 0;  ///< messages pending when the consumer was created
  std::uint64_t delivered = 0;
  std::string error;  ///< why it is not Read, for people ("" when Read)
};

/** @brief What JetStreamReader::probe() found. */
enum class JetStreamState {
  Available,    ///< the account's JetStream answered
  NotEnabled,   ///< the server has no JetStream for this account (it said so, or nothing serves its API)
  NoAnswer,     ///< nothing answered within the bound (e.g. a cluster electing its JetStream leader)
  Unavailable,  ///< not connected, or JetStream answered with an error (e.g. a cluster without a quorum)
};

/** @brief What JetStreamReader::probe() found, and why when it is not Available. */
struct TCS_API JetStreamProbe {
  JetStreamState state = JetStreamState::Unavailable;
  std::string error;  ///< for people ("" when Available)
};

/**
 * @brief Reads stored messages over one NatsConnection (which must outlive it): what a control
 *        client (tcsctl) does to rebuild the fleet from the protocol's streams.
 *
 * Thread-safe as the connection is; each call uses its own short-lived consumer.
 */
class TCS_API JetStreamReader {
 public:
  explicit JetStreamReader(NatsConnection& nats) noexcept : nats_(nats) {}

  /**
   * @brief Whether the server has JetStream for this account (probe(timeout) is Available).
   * @param[in] timeout - the bound for the answer
   */
  bool available(std::chrono::milliseconds timeout);

  /**
   * @brief Asks the account's JetStream for its information, and says what answered.
   *
   * While nothing answers, or a cluster says it is temporarily unavailable, it asks again (a
   * request that reached a leader which has just died is never answered; the election takes
   * seconds), until @p timeout. A server without JetStream says so at once.
   * @param[in] timeout - the bound for the answer
   */
  JetStreamProbe probe(std::chrono::milliseconds timeout);

  /**
   * @brief Delivers the newest stored message of every subject matching @p filter to @p each,
   *        in stream order, without waiting for new ones.
   *
   * An ephemeral in-memory pull consumer (deliver last per subject, no acks, deleted
   * afterwards; the server drops it by itself 30 s after a crashed reader) is created on the
   * stream that captures @p filter; its pending count at creation says when the backlog is
   * read. Never throws for a missing stream or JetStream: the outcome says so. A request left
   * unanswered (a cluster electing a leader) is asked again within @p timeout, as in probe().
   * In a cluster the consumer reads one replica's copy: when the stream stores exactly
   * @p filter's subjects, a consumer holding fewer than the stream's leader has (a restarted
   * replica's short copy) is made again, up to eight times; a read that stays short is Incomplete
   * and its error says so (doc/fleet.md).
   * @param[in] filter - e.g. `svc.status.>`
   * @param[in] timeout - bound for the whole read (creation, fetches)
   * @param[in] each - called with subject and body of every message, on the calling thread
   * @throws NatsError (InvalidArgument) for an invalid filter
   */
  StreamRead lastPerSubject(std::string_view filter, std::chrono::milliseconds timeout,
                            const std::function<void(std::string_view subject, std::string_view data)>& each);

 private:
  NatsConnection& nats_;
};

}  // namespace tcs
