// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "fleet_json.hpp"
#include "tcs/fleet.hpp"
#include "tcs/protocol/timestamp.hpp"

/**
 * @file
 * The web view's fleet state as its browsers see it: the tcs.fleet/1 object of every entry
 * (rendered by tcsctl's fleet_json — one schema, one encoder), the registry events of the
 * timeline, and the Server-Sent Events that keep the browsers current. It does not reduce
 * messages itself: the FleetView of the control client does; the hub only renders rows that
 * changed and tells each subscriber.
 */
namespace tcs::web {

/** @brief One Server-Sent Event. */
struct SseMessage {
  std::uint64_t id = 0;
  std::string event;
  std::string data;  ///< JSON, one line (a newline would be split into several data: lines)
};

/**
 * @brief Writes the event's wire form (`id: N\nevent: E\ndata: …\n\n`) through @p write, a
 *        large one-line data without copying it.
 * @return false as soon as @p write returns false (the browser went away)
 */
bool writeSse(const SseMessage& message, const std::function<bool(std::string_view)>& write);
/** @return writeSse()'s output as one string */
std::string formatSse(const SseMessage& message);

/** @brief One entry of the timeline: a registry event of a service. */
struct TimelineEvent {
  protocol::Timestamp time{};
  std::string id;       ///< the service id
  std::string event;    ///< start, ready, stopping, stop, crashed, restarting, failed, declared
  std::string status;   ///< the event's status, or ""
  std::string message;  ///< a short description for people
};

nlohmann::ordered_json timelineJson(const TimelineEvent& event);

/**
 * @brief The last @p capacity messages seen, by subject and bytes: a publish retried across a
 *        NATS failover reaches subscribers again byte for byte (the same meta.sender and
 *        meta.id, protocol.md), and is recognised as a repeat. Thread-safe.
 */
class RecentMessages {
 public:
  explicit RecentMessages(std::size_t capacity = 512) : capacity_(capacity) {}
  /** @return whether (@p subject, @p data) is among the last messages; remembers it otherwise */
  bool repeated(std::string_view subject, std::string_view data);

 private:
  std::size_t capacity_;
  std::mutex mutex_;
  std::unordered_set<std::string> seen_;  // subject + '\n' + data
  std::deque<const std::string*> order_;  // into seen_ (node-based: stable), oldest first
};

/**
 * @return the timeline event of a registry message (`<P>.registry.<event>.<id>`), or nullopt
 *         for anything else or anything malformed (never throws)
 */
std::optional<TimelineEvent> timelineEventOf(std::string_view subject, std::string_view body, std::string_view prefix);

/** @return the newest @p max events the view's facts still show (last start, ready, stop,
 *          crash, restart, failure of every entry), oldest first: the timeline at start-up */
std::vector<TimelineEvent> timelineOf(const FleetView& view, std::size_t max);

class FleetHub;

/** @brief One browser's event stream. */
class Subscription {
 public:
  /**
   * @brief Waits up to @p timeout for events and moves them to @p out.
   * @return false when the hub is closed (the stream ends)
   */
  bool next(std::vector<SseMessage>& out, std::chrono::milliseconds timeout);

 private:
  friend class FleetHub;
  explicit Subscription(FleetHub& hub) : hub_(hub) {}
  FleetHub& hub_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<SseMessage> queue_;
  bool overflowed_ = false;  ///< dropped events: the next delivery is a full `fleet` event
  bool closed_ = false;
};

/** @brief Bounds of the hub. */
struct HubLimits {
  std::size_t timeline = 200;    ///< events kept for the timeline
  std::size_t queue = 512;       ///< events pending per subscriber before it is resynced
  std::size_t subscribers = 48;  ///< event streams at once
};

/** @brief Thread-safe. */
class FleetHub {
 public:
  explicit FleetHub(HubLimits limits = {});
  ~FleetHub();

  /** @name Fed by the view's owner (under its lock) @{ */
  /** @brief Renders every entry again and sends every subscriber a `fleet` event. */
  void resync(const FleetView& view, const ctl::FleetJsonMeta& meta, protocol::Timestamp now);
  /** @brief The entry @p id changed: flush() renders it again. */
  void touch(std::string_view id);
  /**
   * @brief Sends a `changes` event with the touched entries whose content changed (ages alone
   *        do not count), removed entries, and the order when it changed.
   * @param[in] everything - compare every entry, not only the touched ones
   * @return whether an event was sent
   */
  bool flush(const FleetView& view, protocol::Timestamp now, bool everything = false);
  /** @brief NATS connection state; a `nats` event when it changed. */
  void setNats(bool connected, bool jetstream, std::vector<std::string> notes);
  /** @} */

  void addTimeline(TimelineEvent event);
  /** @brief Replaces the timeline (start-up). */
  void seedTimeline(std::vector<TimelineEvent> events);
  /** @return `{"events": [...]}`, oldest first */
  nlohmann::ordered_json timeline() const;
  /** @return the current tcs.fleet/1 document of every entry, compact */
  std::string fleetDocument() const;

  /** @return a new event stream whose first events are `nats` and `fleet`; nullptr when
   *          HubLimits::subscribers streams are open */
  std::shared_ptr<Subscription> subscribe();
  void unsubscribe(const std::shared_ptr<Subscription>& subscription);
  std::size_t subscribers() const;
  /** @brief Ends every stream; subscribe() returns nullptr from now on. */
  void close();

  /** @brief Bytes of event data sent to subscribers so far (all of them), for bench/. */
  std::uint64_t bytesQueued() const;

 private:
  friend class Subscription;
  struct Row {
    std::uint64_t key = 0;  ///< hash of the row without its ages: what decides "changed"
    std::string text;       ///< the row's compact JSON (1,000 rows: ~0.8 MB, a tenth of a JSON tree)
  };
  SseMessage fleetMessageLocked();
  SseMessage natsMessageLocked();
  void broadcastLocked(const SseMessage& message);
  void renderAllLocked(const FleetView& view, protocol::Timestamp now);

  HubLimits limits_;
  mutable std::mutex mutex_;
  std::uint64_t nextId_ = 1;
  bool closed_ = false;
  std::map<std::string, Row, std::less<>> rows_;
  std::vector<std::string> order_;
  nlohmann::ordered_json summary_;
  ctl::FleetJsonMeta meta_;
  std::string prefix_;
  protocol::Timestamp takenAt_{};
  std::set<std::string, std::less<>> touched_;
  bool natsConnected_ = false;
  bool natsJetstream_ = false;
  std::vector<std::string> natsNotes_;
  std::deque<TimelineEvent> timeline_;
  std::vector<std::shared_ptr<Subscription>> subscriptions_;
  std::uint64_t bytesQueued_ = 0;
};

}  // namespace tcs::web
