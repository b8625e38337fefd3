// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tcs/config.hpp"
#include "tcs/error.hpp"
#include "tcs/export.hpp"

/**
 * @file
 * The process's one NATS connection (nats.c underneath), built from the `nats:` config section.
 *
 *     tcs::NatsConnection nats(config.nats(), {.name = "hello_world.main"});
 *     nats.publish("svc.x", bytes);              // core, never blocks
 *     nats.publishPersistent("svc.status.x", s); // JetStream with ack, falls back to core
 *     auto sub = nats.subscribe("svc.rpc.x.>", [&](const tcs::NatsMessage& m) { ... });
 *
 * Connecting: with `required: true` the constructor retries (logging each failed attempt) until
 * a server accepts the connection or NatsOptions::connectDeadline passes, then throws. With
 * `required: false` it returns at once and keeps connecting in the background; publishes made
 * meanwhile are buffered (NatsOptions::reconnectBufferBytes). Once connected, a lost connection
 * is re-established forever, with exponential backoff and jitter; the same buffer holds what is
 * published during the outage. Credentials and TLS files are read when connecting; secrets are
 * taken from `password_file`/`token_file` when given.
 *
 * Errors are tcs::NatsError (see NatsError::Kind); wrong credentials and TLS problems are never
 * retried: they throw at once in both modes. A request the user's permissions forbid (the
 * publish, or the subscription to its reply inbox) fails at once with NatsError::Kind::NotPermitted;
 * a forbidden publish is dropped by the server and only counted (permissionViolations()).
 */
namespace tcs {

/** @brief A message received by a subscription, or a reply. */
struct TCS_API NatsMessage {
  std::string subject;
  std::string reply;  ///< the subject to answer on; empty when no answer is expected
  std::string data;
};

/** @brief Tuning that is not part of the config file. The defaults suit a service. */
struct TCS_API NatsOptions {
  /** @brief Client name the server shows (`/connz`), e.g. the service id. */
  std::string name;
  /** @brief `required: true` only: how long the constructor keeps trying (the unit's start timeout). */
  std::chrono::milliseconds connectDeadline{std::chrono::seconds(30)};
  /** @brief One attempt (TCP connect + handshake) to one server. */
  std::chrono::milliseconds connectTimeout{std::chrono::seconds(2)};
  /** @brief Backoff between rounds over the server list: min, doubling up to max, plus up to 25 % jitter. */
  std::chrono::milliseconds reconnectWaitMin{100};
  std::chrono::milliseconds reconnectWaitMax{std::chrono::seconds(2)};
  /** @brief Bytes of publishes held while disconnected; beyond it publishes are dropped (counted). */
  std::size_t reconnectBufferBytes = std::size_t{8} << 20;
  /** @brief How long publishPersistent's worker waits for a JetStream ack. */
  std::chrono::milliseconds persistentAckTimeout{300};
  /** @brief Messages publishPersistent queues at most; when full the oldest is dropped (counted).
   *  publishLatest's lane is not counted against it (its bound: 256 subjects, one message each). */
  std::size_t persistentQueueCapacity = 1024;
  /** @brief After a subject fell back to core publishing, how long until JetStream is tried again. */
  std::chrono::milliseconds coreFallbackRecheck{std::chrono::seconds(30)};
  /**
   * @brief How long publishPersistent keeps one message for a stream that captures its subject
   * while the connection or the stream is failing over (no ack, no responders, disconnected):
   * the message is sent again with the same `Nats-Msg-Id`, so the stream stores it once.
   * Within JetStream's duplicate window (2 min by default). Afterwards: core, as without a stream.
   */
  std::chrono::milliseconds persistentRetryWindow{std::chrono::seconds(30)};
  /** @brief The destructor's bound for sending what is still queued. */
  std::chrono::milliseconds closeFlushTimeout{std::chrono::seconds(1)};
  /**
   * @brief Write each core publish to the socket at once instead of batching it for nats.c's
   * flusher.
   *
   * Off by default (nats.c's default): core publishes (status without a stream, heartbeats,
   * registry events' fallback) are written by nats.c's flusher thread in batches, within ~1 ms of
   * the call — one `send()` for a burst instead of one per message (bench/README.md: a status
   * burst ~1.6x faster, 0.8x of raw nats.c instead of 0.65x). Requests, JetStream publishes
   * and respond() are written at once either way. On: every publish costs the caller a
   * `send()`, and a flusher thread less.
   */
  bool sendAsap = false;
  /**
   * @brief `required: true` only: polled (every 50 ms) while waiting between attempts; returning
   * true ends the wait with NatsError NotConnected (a service told to stop while waiting).
   */
  std::function<bool()> cancelled;
};

/**
 * @brief Connection events. Called on nats.c's callback thread, one at a time, in order.
 *
 * A callback must return quickly, must not throw, and must not destroy the connection.
 */
struct TCS_API NatsEvents {
  /** @brief The first connection came up in the background (only after a `required: false` start without one). */
  std::function<void()> connected;
  /** @brief The connection was lost; nats.c is reconnecting. */
  std::function<void()> disconnected;
  /** @brief The connection is back; subscriptions are restored, the buffer is flushed. */
  std::function<void()> reconnected;
  /**
   * @brief The connection closed for good while in use: nats.c gives up reconnecting when the
   * server refuses the credentials twice in a row (changed or revoked). Not called when the
   * NatsConnection itself is destroyed. lastError() says why.
   */
  std::function<void()> closed;
};

/** @brief Counters since construction. */
struct TCS_API NatsStats {
  std::uint64_t published = 0;          ///< core publishes accepted (sent, or buffered while disconnected)
  std::uint64_t publishDropped = 0;     ///< core publishes refused (connection closed, reconnect buffer full)
  std::uint64_t persistentAcked = 0;    ///< publishPersistent messages a stream acknowledged
  std::uint64_t persistentCore = 0;     ///< … sent as core messages (no stream, or while disconnected)
  std::uint64_t persistentUnacked = 0;  ///< … sent to JetStream without an ack in time (may be stored)
  std::uint64_t persistentDropped = 0;  ///< … dropped (queue full: oldest first; or refused)
  std::uint64_t reconnects = 0;
  /** @brief Bytes written by publishes but not yet to the socket (nats.c's write buffer; while
   * reconnecting, its reconnect buffer). */
  std::size_t buffered = 0;
};

/**
 * @brief An active subscription; unsubscribes on destruction. Move-only; default-constructed = none.
 *
 * After unsubscribe() or destruction returns, the handler is not running and will not run again
 * (unless it is the handler itself that unsubscribes). May outlive its connection.
 */
class TCS_API NatsSubscription {
 public:
  NatsSubscription() noexcept;
  NatsSubscription(NatsSubscription&& other) noexcept;
  NatsSubscription& operator=(NatsSubscription&& other) noexcept;
  ~NatsSubscription();

  /** @return whether this holds a subscription that has not been unsubscribed. */
  bool active() const noexcept;
  void unsubscribe() noexcept;

 private:
  friend class NatsConnection;  // the only one that makes active subscriptions
  struct Impl;
  TCS_LOCAL explicit NatsSubscription(std::unique_ptr<Impl> impl) noexcept;

  std::unique_ptr<Impl> impl_;
};

/**
 * @brief What the monitoring layer needs from NATS; the seam its unit tests fake (S10).
 *
 * Implementations are thread-safe.
 */
class TCS_API INatsTransport {
 public:
  using MessageHandler = std::function<void(const NatsMessage&)>;

  virtual ~INatsTransport();  // defined in the library: its vtable and typeinfo live there

  /** @return whether a server is connected right now. */
  virtual bool connected() const noexcept = 0;
  /**
   * @brief Core publish: sent at once, or buffered while disconnected. Never waits for the network.
   * @return false when the message was dropped (connection closed, reconnect buffer full); counted
   * @throws NatsError (InvalidArgument) for an empty or malformed subject, or a payload over the server's limit
   */
  virtual bool publish(std::string_view subject, std::string_view data) = 0;
  /**
   * @brief Publishes the reply to a request and writes it to the socket at once, instead of
   * leaving it to the batching flusher (up to ~1 ms later). The calling thread waits for the
   * server's confirmation at most 1 ms. Same results and errors as publish().
   */
  virtual bool respond(std::string_view replySubject, std::string_view data) { return publish(replySubject, data); }
  /**
   * @brief Store-if-possible publish: queued and sent by a worker thread as a JetStream publish with an
   * ack timeout; sent as a core message when no stream captures the subject or while disconnected.
   *
   * Returns at once. A full queue drops its oldest message (counted, with a rate-limited warning).
   * Order is kept. A message is never sent twice: a JetStream publish without an ack in time is
   * not repeated as a core one (it reached the server or sits in the reconnect buffer).
   * @throws NatsError (InvalidArgument) for an empty subject
   */
  virtual void publishPersistent(std::string_view subject, std::string_view data) = 0;
  /**
   * @brief A persistent publish of which only the newest per subject matters (heartbeats).
   *
   * Like publishPersistent() (JetStream with ack, core fallback, the same failover retries), but
   * in a lane of its own: it overtakes queued publishPersistent() messages (it waits at most for
   * the one in flight), replaces a still-queued message of the same subject, and is never dropped
   * to make room for them. The lane holds one message per subject for at most 256 subjects;
   * beyond that the oldest subject's is dropped (counted). Use a subject with one of the two
   * only: the order between them is not kept.
   *
   * The default calls publishPersistent() (a transport without a second lane, e.g. a test fake).
   * @throws NatsError (InvalidArgument) for an empty subject
   */
  virtual void publishLatest(std::string_view subject, std::string_view data) { publishPersistent(subject, data); }
  /**
   * @brief Core request/reply; blocks the caller up to @p timeout.
   * @throws NatsError Timeout, NoResponders, or NotConnected (fails at once while disconnected)
   */
  virtual NatsMessage request(std::string_view subject, std::string_view data, std::chrono::milliseconds timeout) = 0;
  /**
   * @brief Calls @p handler for every message on @p subject (wildcards allowed) on a thread of
   * this subscription's own. Works while disconnected (sent when connected). An exception from
   * the handler is logged and swallowed.
   * @throws NatsError for an invalid subject or a closed connection
   */
  virtual NatsSubscription subscribe(std::string_view subject, MessageHandler handler) = 0;
  /**
   * @brief Waits until what was published so far has left the process (or @p timeout passed).
   * @return false on timeout (e.g. while disconnected). The default has nothing to wait for.
   */
  virtual bool flush(std::chrono::milliseconds timeout) {
    (void)timeout;
    return true;
  }
};

/**
 * @brief The one NATS connection of a process. Thread-safe; not copyable or movable.
 *
 * The destructor sends what publishPersistent still holds (bounded by
 * NatsOptions::closeFlushTimeout), flushes, closes the connection and waits until no callback
 * can run any more.
 */
class TCS_API NatsConnection final : public INatsTransport {
 public:
  /**
   * @brief Connects as `config.required` says (see the file comment).
   * @param[in] config - the `nats:` section
   * @param[in] options - tuning; `connectDeadline` bounds a `required: true` start
   * @param[in] events - connection event callbacks (may be empty)
   * @throws NatsError Config (unreadable secret or certificate file, bad setting), AuthFailed, Tls,
   * or NotConnected (`required: true` and no server accepted the connection before the deadline)
   */
  explicit NatsConnection(const config::NatsConfig& config, NatsOptions options = {}, NatsEvents events = {});
  ~NatsConnection() override;
  NatsConnection(const NatsConnection&) = delete;
  NatsConnection& operator=(const NatsConnection&) = delete;

  bool connected() const noexcept override;
  bool publish(std::string_view subject, std::string_view data) override;
  bool respond(std::string_view replySubject, std::string_view data) override;
  void publishPersistent(std::string_view subject, std::string_view data) override;
  void publishLatest(std::string_view subject, std::string_view data) override;
  NatsMessage request(std::string_view subject, std::string_view data, std::chrono::milliseconds timeout) override;
  NatsSubscription subscribe(std::string_view subject, MessageHandler handler) override;

  /**
   * @brief Waits until publishPersistent's and publishLatest's queues are empty and the server has everything published
   * so far.
   * @return false when that did not happen within @p timeout (e.g. while disconnected)
   */
  bool flush(std::chrono::milliseconds timeout) override;
  /** @return the server URL connected to, or empty while disconnected */
  std::string connectedUrl() const;
  /** @return nats.c's last error on this connection (e.g. why it closed), empty when none */
  std::string lastError() const;
  /** @return the URLs tried, in order (`nats.servers`, or `nats://host:port`) */
  const std::vector<std::string>& servers() const noexcept;
  NatsStats stats() const;
  /**
   * @brief How many permissions violations the server reported on this connection: a publish
   * or subscription its user may not make (`-ERR 'Permissions Violation for …'`, asynchronous).
   */
  std::uint64_t permissionViolations() const noexcept;
  /** @return the server's text of the last one (`Permissions Violation for Publish to "…"`), empty when none */
  std::string lastPermissionViolation() const;

 private:
  friend class JetStreamAdmin;   // tcs/jetstream.hpp: stream administration over this connection
  friend class JetStreamReader;  // tcs/jetstream.hpp: reading stored messages
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/** @return the server URLs for @p config: `nats.servers` as given, else `nats://<host>:<port>`. */
TCS_API std::vector<std::string> natsServerUrls(const config::NatsConfig& config);

}  // namespace tcs
