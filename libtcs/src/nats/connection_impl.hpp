// SPDX-License-Identifier: MIT
// NatsConnection's private state, shared by connection.cpp (the connection) and jetstream.cpp
// (stream administration, tcs/jetstream.hpp). Not installed.
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "handles.hpp"
#include "persistent_publisher.hpp"
#include "status.hpp"
#include "tcs/nats.hpp"

namespace tcs {

struct TCS_LOCAL NatsConnection::Impl {
  Impl(const config::NatsConfig& cfg, NatsOptions opts, NatsEvents ev)
      : options(std::move(opts)), events(std::move(ev)), urls(natsServerUrls(cfg)), config(cfg) {}
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void start();
  /** @brief natsConnection_Connect, again (kSignedConnectRetries times) when nats.c 3.4's
   *         dropped signature may have been the cause (connection.cpp). */
  natsStatus connectOnce(natsConnection** raw);
  static constexpr int kSignedConnectRetries = 3;  // a valid key fails 4 times in 2^32
  void connectRequired();
  void connectOptional();
  detail::PersistentPublisher& publisher();
  bool flush(std::chrono::steady_clock::time_point deadline);
  /** @return the likely cause of a failed connect, when it is one a config change fixes; else "" */
  std::string hintFor(natsStatus status) const;
  std::string serverList() const { return fmt::format("{}", fmt::join(urls, ", ")); }

  static void onConnected(natsConnection* nc, void* closure);
  static void onDisconnected(natsConnection* nc, void* closure);
  static void onReconnected(natsConnection* nc, void* closure);
  static void onClosed(natsConnection* nc, void* closure);
  static void onAsyncError(natsConnection* nc, natsSubscription* sub, natsStatus status, void* closure);
  static int64_t reconnectDelay(natsConnection* nc, int attempts, void* closure);

  /** @brief A permissions violation the server reported (`-ERR 'Permissions Violation for …'`). */
  struct Violation {
    std::uint64_t sequence = 0;
    bool publish = true;  ///< false: a subscription
    std::string subject;
    std::string text;  ///< the server's
  };
  /** @brief Records the violation nats.c's last error describes (the asynchronous error handler). */
  void recordViolation(natsConnection* conn);
  /** @return the number of violations recorded so far (a request compares it before and after). */
  std::uint64_t violationSequence() const { return violationCount.load(); }
  /** @return a violation recorded after @p since for publishing to @p subject or subscribing to @p inbox */
  std::optional<Violation> violationAfter(std::uint64_t since, std::string_view subject, std::string_view inbox) const;

  NatsOptions options;
  NatsEvents events;
  std::vector<std::string> urls;
  config::NatsConfig config;

  detail::OptionsPtr natsOptions;
  detail::ConnectionPtr nc;
  detail::JetStreamPtr js;
  std::atomic<bool> closing{false};
  // Connected, as the connection callbacks last said (they trail nats.c's state by a moment);
  // spares persistent publishes a locked status query per message (PersistentPublisher).
  std::atomic<bool> up{false};

  std::mutex closeMutex;
  std::condition_variable closeDone;
  bool closedFired = false;

  std::mutex publisherMutex;
  std::unique_ptr<detail::PersistentPublisher> persistent;
  std::atomic<detail::PersistentPublisher*> persistentReady{nullptr};  // persistent.get() once created

  std::atomic<std::uint64_t> published{0};
  std::atomic<std::uint64_t> publishDropped{0};
  std::atomic<std::uint64_t> reconnects{0};
  detail::RateLimit dropWarning{std::chrono::seconds(10)};
  detail::RateLimit asyncErrorWarning{std::chrono::seconds(10)};

  mutable std::mutex violationsMutex;
  std::deque<Violation> violations;  ///< the last few, newest last
  std::atomic<std::uint64_t> violationCount{0};
};

}  // namespace tcs
