// SPDX-License-Identifier: MIT
// The publisher: every change enqueues a snapshot; the monitor thread publishes the queue in
// order, sends heartbeats, runs the periodic health checks and fires busy→idle timers. User
// callbacks and the transport are only ever called with the tree's mutex released.
#include <algorithm>
#include <utility>

#include "monitor_impl.hpp"
#include "tcs/log.hpp"
#include "tcs/protocol/codec.hpp"

namespace tcs {

using detail::kKeepStorageFor;
using detail::kKeptBufferBytes;
using detail::kKeptReports;

void Monitor::changedLocked() {
  auto& im = *impl_;
  ++im.stats.statusChanges;
  const StatusChange change{detail::aggregateOf(*node_), node_->shown, node_->shownMessage};
  im.aggregate.store(change.aggregate, std::memory_order_relaxed);  // v1.health reads it without the mutex
  for (const auto& o : im.observers) o(change);
  enqueueReportLocked();
}

void Monitor::publishNow() {
  std::lock_guard lock(tree_->mutex);
  enqueueReportLocked();
}

void Monitor::enqueueReportLocked() {
  auto& im = *impl_;
  if (!im.nats) return;
  detail::Snapshot snap;
  detail::snapshotNode(*node_, protocol::now(), snap.report, snap.metrics);
  if (im.queued() >= im.options.queueCapacity) {
    im.queue[im.queueHead++] = {};              // the oldest goes (its memory now)
    if (im.queueHead >= im.queue.size() / 2) {  // now and then, not per drop: amortised O(1)
      im.queue.erase(im.queue.begin(), im.queue.begin() + static_cast<std::ptrdiff_t>(im.queueHead));
      im.queueHead = 0;
    }
    if (im.stats.statusDropped++ == 0)
      log::warning("{}: status reports arrive faster than they can be published; dropping the oldest", im.options.name);
  }
  im.queue.push_back(std::move(snap));
  if (im.threadWaiting) tree_->wake.notify_all();  // a busy thread looks at the queue before it sleeps
}

bool Monitor::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(tree_->mutex);
  return tree_->wake.wait_for(lock, timeout, [&] { return impl_->queued() == 0 && !impl_->publishing; });
}

// ---- the monitor thread ----------------------------------------------------------------------

void Monitor::loop() {
  auto& im = *impl_;
  std::unique_lock lock(tree_->mutex);
  for (;;) {
    auto now = Clock::now();
    // 1. status reports, in order
    if (im.queued() > 0) {
      // Take the whole backlog at once: one lock round trip per batch, not per report.
      auto& batch = im.batch;
      batch.swap(im.queue);
      const std::size_t first = std::exchange(im.queueHead, 0);
      im.publishing = true;
      lock.unlock();
      for (std::size_t i = first; i < batch.size(); ++i) publishStatus(batch[i]);
      const std::size_t count = batch.size() - first;
      if (batch.size() > kKeptReports) im.lastBurst = now;
      batch.clear();  // keeps the storage for the next swap
      lock.lock();
      im.publishing = false;
      im.stats.statusPublished += count;
      if (im.queued() == 0) tree_->wake.notify_all();  // flush() waiters
      // A flood refills the queue while a batch is published: a due heartbeat goes first,
      // else it would wait for a pause in the flood (issue 17).
      now = Clock::now();
      if (im.queued() == 0 || !im.started || !im.nats || now < im.nextHeartbeat) continue;
    }
    // Storage grown by a burst goes back once no burst needed it for a while.
    if (im.batch.capacity() > kKeptReports && now - im.lastBurst > kKeepStorageFor)
      std::vector<detail::Snapshot>().swap(im.batch);
    if (im.queue.capacity() > kKeptReports && im.queue.empty() && now - im.lastBurst > kKeepStorageFor)
      std::vector<detail::Snapshot>().swap(im.queue);
    if (im.shutdown && im.queued() == 0) return;
    // 2. busy → idle timers
    bool timerFired = false;
    auto nextWake = Clock::time_point::max();
    for (auto it = tree_->idleTimers.begin(); it != tree_->idleTimers.end();) {
      auto n = it->lock();
      if (!n || !n->idleAt || n->activeTasks > 0) {
        it = tree_->idleTimers.erase(it);
        continue;
      }
      if (*n->idleAt <= now) {
        n->idleAt.reset();
        it = tree_->idleTimers.erase(it);
        if (n->ownerStatus == Status::Busy) detail::setOwner(*n, Status::Idle, "No active tasks");
        timerFired = true;
        continue;
      }
      nextWake = std::min(nextWake, *n->idleAt);
      ++it;
    }
    if (timerFired) continue;
    // 3. heartbeat
    if (im.started && im.nats && now >= im.nextHeartbeat) {
      im.nextHeartbeat = now + im.options.heartbeatInterval;
      auto alive = im.alive;
      lock.unlock();
      const bool ok = !alive || alive();
      if (ok) sendHeartbeat();
      lock.lock();
      if (ok) {
        ++im.stats.heartbeats;
        if (im.livenessWarned) log::info("{} makes progress again: heartbeats resumed", im.options.name);
        im.livenessWarned = false;
      } else {
        ++im.stats.heartbeatsWithheld;
        if (!im.livenessWarned)
          log::error("{} makes no progress: withholding heartbeats until it does", im.options.name);
        im.livenessWarned = true;
      }
      continue;
    }
    // 4. health checks
    if (im.healthChecks && now >= im.nextCheck) {
      im.nextCheck = now + im.options.healthCheckInterval;
      lock.unlock();
      runHealthChecks();
      lock.lock();
      continue;
    }
    if (im.started && im.nats) nextWake = std::min(nextWake, im.nextHeartbeat);
    if (im.healthChecks) nextWake = std::min(nextWake, im.nextCheck);
    im.threadWaiting = true;
    if (nextWake == Clock::time_point::max())
      tree_->wake.wait(lock);
    else
      tree_->wake.wait_until(lock, nextWake);
    im.threadWaiting = false;
  }
}

void Monitor::publishStatus(MonitorSnapshot& snap) {
  auto& im = *impl_;
  if (!snap.metrics.sources.empty() || !snap.metrics.children.empty()) detail::fillMetrics(snap.report, snap.metrics);
  try {
    // Encoded into the thread's own buffer, with the thread's own meta: no allocation per
    // message once they are warm (the transport copies only what it has to queue).
    protocol::processMetaGenerator().next(im.meta);
    protocol::encodeStatusInto(im.buffer, snap.report, im.options.parent, im.options.pid, im.options.hostname, im.meta);
    im.nats->publishPersistent(im.statusSubject, im.buffer);
  } catch (const std::exception& e) {
    log::warning("{}: status not published: {}", im.options.name, e.what());
  }
  if (im.buffer.capacity() > kKeptBufferBytes) std::string().swap(im.buffer);  // after a huge one
}

void Monitor::sendHeartbeat() {
  auto& im = *impl_;
  std::vector<std::shared_ptr<const MetricSource>> light;
  protocol::Heartbeat hb;
  {
    std::lock_guard lock(tree_->mutex);
    hb.status = node_->shown;
    hb.sequence = ++im.heartbeatSeq;
    for (const auto& m : node_->metrics)
      if (m.use == MetricUse::StatusAndHeartbeat) light.push_back(m.source);
  }
  hb.serviceId = im.options.name;
  hb.timestamp = protocol::now();
  hb.uptimeSeconds = uptimeSeconds();
  hb.nextHeartbeatExpected =
      hb.timestamp + std::chrono::duration_cast<std::chrono::microseconds>(im.options.heartbeatInterval);
  if (!light.empty()) hb.metrics = detail::callMetrics(light, im.options.name);
  try {
    // Its own lane: not behind (nor dropped with) a backlog of status changes (issue 17).
    im.nats->publishLatest(im.heartbeatSubject, protocol::encode(hb, protocol::processMetaGenerator().next()));
  } catch (const std::exception& e) {
    log::warning("{}: heartbeat not published: {}", im.options.name, e.what());
  }
}

}  // namespace tcs
