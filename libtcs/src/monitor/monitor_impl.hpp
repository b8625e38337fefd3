// SPDX-License-Identifier: MIT
// Private to the monitor module: Monitor's state (Monitor::Impl), shared by monitor.cpp (life
// cycle and settings), publisher.cpp (report queue and thread), health.cpp and rpc.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tcs/monitor.hpp"
#include "tcs/nats.hpp"
#include "tcs/protocol/envelope.hpp"
#include "tree.hpp"

namespace tcs {

namespace detail {
// The encoding buffer keeps its capacity up to this; a larger message's is given back.
constexpr std::size_t kKeptBufferBytes = 64 * 1024;
// The report queue's storage beyond this many reports is given back kKeepStorageFor after the
// last burst that needed it.
constexpr std::size_t kKeptReports = 64;
constexpr std::chrono::seconds kKeepStorageFor{10};
}  // namespace detail

using detail::Clock;

struct TCS_LOCAL Monitor::Impl {
  MonitorOptions options;
  INatsTransport* nats = nullptr;
  std::string statusSubject;
  std::string heartbeatSubject;
  Clock::time_point startedAt = Clock::now();

  // All below guarded by tree->mutex.
  // Reports waiting, oldest first, from queue[queueHead] (those before it were dropped: queue
  // full). The thread swaps it with `batch` and clears that after publishing, so both keep their
  // storage: a burst costs no allocation per report once they have grown to it, and the storage
  // is given back when no burst needed it for kKeepStorageFor.
  std::vector<detail::Snapshot> queue;
  std::size_t queueHead = 0;
  std::size_t queued() const noexcept { return queue.size() - queueHead; }
  Clock::time_point lastBurst{};
  bool publishing = false;     // the thread is handing a report to the transport
  bool threadWaiting = false;  // the thread sleeps on tree->wake
  bool started = false;
  bool healthChecks = false;
  bool stopped = false;
  bool shutdown = false;  // the thread must end
  Clock::time_point nextHeartbeat{};
  Clock::time_point nextCheck{};
  std::uint64_t heartbeatSeq = 0;
  bool livenessWarned = false;
  MonitorStats stats;
  std::vector<CheckReport> lastChecks;
  std::vector<std::function<void(const StatusChange&)>> observers;
  std::function<bool()> alive;
  std::shared_ptr<const MetricSource> statsProvider;

  // The monitor thread's own (loop, publishStatus).
  std::vector<detail::Snapshot> batch;
  std::string buffer;
  protocol::Meta meta;

  // Read without the tree's mutex (issue 17: a status flood holds it nearly all the time, and
  // std::mutex is not fair, so an RPC waiting for it could wait for many of the flood's turns):
  // the aggregate status as of the last change (stored under the mutex by changedLocked()), the
  // RPC requests, and the runs of `v1.health` with no check in the tree. stats() adds them in.
  std::atomic<Status> aggregate{Status::Unknown};
  std::atomic<std::uint64_t> rpcRequests{0};
  std::atomic<std::uint64_t> emptyHealthRuns{0};
  MonitorStats statsLocked() const {
    MonitorStats s = stats;
    s.rpcRequests = rpcRequests.load(std::memory_order_relaxed);
    s.healthCheckRuns += emptyHealthRuns.load(std::memory_order_relaxed);
    return s;
  }

  std::mutex checkMutex;  // one health-check run at a time (periodic and RPC)
  NatsSubscription rpc;
  std::thread thread;
};

}  // namespace tcs
