// SPDX-License-Identifier: MIT
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tcs/nats.hpp"

namespace tcs::detail {

/** @brief A minimum interval between two events (rate-limited warnings). Thread-safe. */
class RateLimit {
 public:
  explicit RateLimit(std::chrono::steady_clock::duration interval) : interval_(interval) {}
  /** @return true at most once per interval. */
  bool allow() noexcept;

 private:
  std::chrono::steady_clock::duration interval_;
  std::atomic<std::chrono::steady_clock::rep> next_{0};
};

/**
 * @brief The worker behind NatsConnection::publishPersistent: a bounded FIFO drained by one
 * thread, which publishes to JetStream (waiting for the ack) while connected and as core
 * messages otherwise.
 *
 * Before the first JetStream publish on a subject (and after each fallback period) it asks
 * JetStream which streams capture the subject (`$JS.API.STREAM.NAMES`): none → core at once (a
 * live core subscriber would otherwise get the publish and nobody would ack it). A subject
 * answered by none, by "no responders" (JetStream off, or no stream and no subscriber) or by no
 * ack in time (a slow server, or a stream deleted under a live subscriber) is published as core
 * messages for NatsOptions::coreFallbackRecheck, or until the next reconnect. A stream captures core
 * messages on its subjects as well, so the fallback loses nothing that a stream would keep; it
 * only loses the ack.
 *
 * Failover (a cluster node dies; a stream has no leader for a few seconds): a message for a
 * subject a stream captures (ensureStream() said so, a stream acked it before, or JetStream
 * does not answer whether one does) is not sent as core — a stream without a leader would not
 * store it — but kept at the head of the queue for NatsOptions::persistentRetryWindow: while
 * disconnected it waits for the reconnect, and a publish without an ack or without responders
 * is sent again (backing off) with the same `Nats-Msg-Id` header, so that the stream's
 * duplicate window stores it once however many tries reached it. Only a definite "no stream
 * captures it" (`$JS.API.STREAM.NAMES`) ends the retries early. The order is kept.
 *
 * Two lanes (issue 17): the ordinary FIFO (enqueue(), NatsOptions::persistentQueueCapacity
 * messages, the oldest dropped when full) and the latest lane (enqueueLatest(), heartbeats),
 * which holds one message per subject — a newer one replaces a still-queued one in place — for
 * at most kLatestLaneSubjects subjects (beyond that the oldest subject's entry is dropped,
 * counted). The worker drains the latest lane before the ordinary queue, so a heartbeat waits
 * for at most what is in flight — one message (its ack, or its failover retries) or one pipelined
 * batch (its acks) — never for a backlog
 * of status changes, and the ordinary lane's cap never drops it. Both lanes go through the same
 * send(): same stream check, ack, Nats-Msg-Id retries and core fallback. The order is kept per
 * lane; a subject should use one lane only (a latest-lane message overtakes queued ordinary ones).
 *
 * Pipelining (issue 17, the mass start's tail): when several ordinary messages are queued and a
 * stream is known to capture their subjects, the worker sends up to kPipelineMax of them before
 * it waits for their acks (one round trip for the lot, not one each: on a busy machine every
 * round trip costs two wake-ups, of nats-server and of this thread). Each carries its own
 * `Nats-Msg-Id` and reply subject. A message whose ack is an error, or does not come within
 * persistentAckTimeout of the batch's previous ack, goes through send()'s usual path again, with
 * the same id — so a copy the stream already stored is a duplicate, not a second message. Only
 * such a retry can reorder: the batch's later messages may then be stored before it.
 */
/** @return whether the subject filter @p pattern (`*` one token, `>` the rest) captures all of @p subject */
bool subjectCovers(std::string_view pattern, std::string_view subject);

class PersistentPublisher {
 public:
  struct Counters {
    std::atomic<std::uint64_t> acked{0};
    std::atomic<std::uint64_t> core{0};
    std::atomic<std::uint64_t> unacked{0};
    std::atomic<std::uint64_t> dropped{0};
    std::atomic<std::uint64_t> retried{0};   ///< JetStream publishes sent again (same Nats-Msg-Id)
    std::atomic<std::uint64_t> replaced{0};  ///< latest-lane messages replaced by a newer one before sent
  };

  /** @param up the connection's "connected" as its callbacks last said (outlives the publisher) */
  PersistentPublisher(natsConnection* nc, jsCtx* js, const NatsOptions& options, const std::atomic<bool>* up);
  /** @brief Stops the worker; what is still queued is dropped (counted). */
  ~PersistentPublisher();
  PersistentPublisher(const PersistentPublisher&) = delete;
  PersistentPublisher& operator=(const PersistentPublisher&) = delete;

  /** @brief Subjects the latest lane holds at most (one message each). */
  static constexpr std::size_t kLatestLaneSubjects = 256;
  /** @brief JetStream publishes in flight at most (pipelining, above). */
  static constexpr std::size_t kPipelineMax = 64;

  /** @brief Publishes at once on the caller's thread when that keeps the order (see the .cpp), else
   *  copies the message into the ordinary queue. */
  void enqueue(std::string_view subject, std::string_view data);
  /** @brief Like enqueue(), into the latest lane: replaces a still-queued message of the same
   *  subject, is sent before the ordinary queue and never dropped to make room for it. */
  void enqueueLatest(std::string_view subject, std::string_view data);
  /** @return whether the queue became empty, with nothing in flight, before @p deadline. */
  bool waitIdle(std::chrono::steady_clock::time_point deadline);
  /** @brief Forgets which subjects fell back to core (a stream may exist now). */
  void forgetFallbacks();
  /** @brief A stream captures the subjects of @p filter (ensureStream() said so): no need to ask. */
  void assumeCaptured(std::string_view filter);
  const Counters& counters() const noexcept { return counters_; }

 private:
  struct Item {
    std::string subject;
    std::string data;
    std::string msgId;  // set once sent to a stream (pipelining): a retry keeps it
  };

  /** @brief The fast path (caller's thread, core): @return whether it sent the message. Locked. */
  bool sendAtOnce(std::unique_lock<std::mutex>& lock, std::string_view subject, std::string_view data);
  bool queuesEmpty() const noexcept { return queue_.empty() && latest_.empty(); }
  void warnDropped(std::uint64_t dropped, std::string_view lane, std::size_t capacity);
  void run();
  void send(const Item& item);
  /** @return whether @p item can be pipelined: not tried yet, connected, a stream known to capture
   *  it, not core-only. Locked (the worker's). */
  bool pipelinableLocked(const Item& item, std::chrono::steady_clock::time_point now);
  /** @brief Publishes all of @p items without waiting, then collects their acks. The ones not
   *  acked keep their msgId (send() retries them). @return which were acked */
  std::vector<bool> pipeline(std::vector<Item>& items);
  void sendCore(const char* subject, std::string_view data);
  bool coreOnly(std::string_view subject, std::chrono::steady_clock::time_point now);
  bool coreOnlyLocked(std::string_view subject, std::chrono::steady_clock::time_point now);
  void fallBack(const std::string& subject, std::chrono::steady_clock::time_point now);
  /** @return whether a JetStream stream captures @p subject; nullopt when JetStream did not say */
  std::optional<bool> streamCaptures(const std::string& subject);
  /** @brief The subject's stream went away (no ack): ask again next time. */
  void forgetCaptured(const std::string& subject);
  /** @brief The publish after @p item's checks: JetStream with retries, else core. */
  void sendToStream(const Item& item, bool captured, std::chrono::steady_clock::time_point now);
  /** @brief The subject a stream acked: no need to ask before the next publish on it. */
  void rememberStreamed(const std::string& subject);
  /** @return whether connected before @p deadline (false at once when closed or stopping) */
  bool waitConnected(std::chrono::steady_clock::time_point deadline);
  /** @brief Sleeps @p pause unless stopping. @return false when stopping */
  bool pause(std::chrono::milliseconds pause);
  /** @return a `Nats-Msg-Id` unique to this publisher's message */
  std::string nextMessageId();

  natsConnection* nc_;
  jsCtx* js_;
  const std::atomic<bool>* up_;
  NatsOptions options_;
  Counters counters_;
  RateLimit dropWarning_{std::chrono::seconds(10)};
  RateLimit errorWarning_{std::chrono::seconds(10)};

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::condition_variable stopping_;  // wakes a retry's pause at stop
  std::string idPrefix_;              // random, per publisher: Nats-Msg-Id = <idPrefix_>-<n>
  std::uint64_t nextId_ = 0;          // the worker's
  // Since when the worker has waited for a reconnect on behalf of captured subjects (the window
  // is the outage's, not each message's: after it, the rest goes core at once). The worker's.
  std::optional<std::chrono::steady_clock::time_point> disconnectedSince_;
  std::deque<Item> queue_;   // the ordinary lane, FIFO
  std::deque<Item> latest_;  // the latest lane: one entry per subject, oldest first (few: a linear search)
  bool busy_ = false;
  int idleWaiters_ = 0;  // threads in waitIdle() (the fast path notifies only when there are some)
  bool stop_ = false;
  // Heterogeneous lookup: a subject is looked up as a string_view without copying it.
  struct SubjectHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::chrono::steady_clock::time_point, SubjectHash, std::equal_to<>>
      coreUntil_;                                                                                  // guarded by mutex_
  const std::pair<const std::string, std::chrono::steady_clock::time_point>* lastCore_ = nullptr;  // in coreUntil_
  // Subjects a stream acknowledged lately (the worker's own): published to JetStream without
  // asking first. Cleared by forgetFallbacks().
  std::unordered_set<std::string, SubjectHash, std::equal_to<>> streamed_;
  bool forgetStreamed_ = false;               // guarded by mutex_: the worker clears streamed_ at its next message
  std::vector<std::string> capturedFilters_;  // guarded by mutex_ (assumeCaptured)
  // Pipelining: the worker's reply subscription (<inbox>.<batch>.<index>), made on first use.
  natsSubscription* replies_ = nullptr;
  std::string replyPrefix_;
  std::uint64_t batchNo_ = 0;
  std::thread worker_;
};

}  // namespace tcs::detail
