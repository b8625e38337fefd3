// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "hub.hpp"
#include "server.hpp"
#include "tcs/control.hpp"
#include "tcs/nats.hpp"

/**
 * @file
 * The fleet as tcs-web sees it: libtcs's control client following the three streams (the same
 * snapshot + follow code as `tcsctl -f`), a subscription to the registry events for the
 * timeline, and a thread that hands the hub what changed at most every 250 ms.
 */
namespace tcs::web {

class NatsFleetSource : public FleetSource {
 public:
  struct Options {
    std::chrono::milliseconds flushEvery{250};        ///< coalescing of `changes` events
    std::chrono::milliseconds fullCheckEvery{10000};  ///< compare every row (belt and braces)
    std::chrono::milliseconds healthTimeout{3000};
    std::size_t timeline = 200;
  };

  NatsFleetSource(NatsConnection& nats, std::string prefix, FleetHub& hub, Options options);
  ~NatsFleetSource() override;

  /** @brief Reads the snapshot and follows; @throws NatsError when the subscriptions fail. */
  void start();
  void stop();

  void withSnapshot(const std::function<void(const control::Snapshot&)>& fn) override;
  nlohmann::json health(std::string_view serviceId) override;
  protocol::LogsReply logs(std::string_view serviceId, const protocol::LogsRequest& request) override;
  protocol::LauncherActionReply act(std::string_view action, std::string_view serviceId) override;

 private:
  void pump();

  NatsConnection& nats_;
  std::string prefix_;
  FleetHub& hub_;
  Options options_;
  control::ServiceControlClient client_;
  NatsSubscription registry_;
  RecentMessages recent_;  // the last registry messages: a retried publish's repeat goes once
  std::atomic<bool> resyncPending_{false};
  bool seeded_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread pump_;
};

}  // namespace tcs::web
