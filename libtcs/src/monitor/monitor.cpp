// SPDX-License-Identifier: MIT
// The monitor tree, its thread (status publishing, heartbeats, health checks, busy→idle
// timers) and the service RPC. One mutex per tree guards everything; user callbacks and the
// transport are only ever called with it released.
#include "tcs/monitor.hpp"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include "../protocol/fast_codec.hpp"
#include "tcs/error.hpp"
#include "tcs/log.hpp"
#include "tcs/unit_name.hpp"

namespace tcs {
namespace detail {
using Clock = std::chrono::steady_clock;

// Check results that leave the owner's status alone.
bool isNominal(Status s) {
  return s == Status::Ok || s == Status::Idle || s == Status::Busy;
}

struct MetricEntry {
  std::shared_ptr<const MetricSource> source;
  MetricUse use;
};

struct CheckEntry {
  std::string name;
  std::shared_ptr<const HealthCheck> check;
};

struct MonitorNode {
  std::string name;
  std::shared_ptr<MonitorTree> tree;  // the tree outlives every node (nodes hold it)
  bool attached = true;               // false once removed from the tree (guarded by tree->mutex)

  Status ownerStatus = Status::Unknown;
  std::string ownerMessage;
  std::optional<CheckResult> failingCheck;  // aggregated non-healthy check result
  Status shown = Status::Unknown;
  std::string shownMessage;

  std::vector<std::shared_ptr<MonitorNode>> children;
  std::vector<MetricEntry> metrics;
  std::vector<CheckEntry> checks;

  int activeTasks = 0;
  bool tracking = false;
  std::optional<Clock::time_point> idleAt;
};

// Everything the monitor thread and the tree share, guarded by `mutex`.
struct MonitorTree {
  std::mutex mutex;
  std::condition_variable wake;
  std::chrono::milliseconds idleDelay{1000};
  // Set by the Monitor while it lives; called under `mutex` after each change.
  std::function<void()> changed;
  // Nodes with an idle timer pending (the monitor thread looks at them).
  std::vector<std::weak_ptr<MonitorNode>> idleTimers;
};

namespace {

// Recomputes what a node shows from its owner status and check results.
// @return whether the shown status or message changed
bool recompute(MonitorNode& n) {
  Status s = n.ownerStatus;
  std::string m = n.ownerMessage;
  if (n.failingCheck) {
    const Status worse = protocol::aggregateStatus({n.ownerStatus, n.failingCheck->status});
    if (worse != n.ownerStatus) {
      s = worse;
      m = n.failingCheck->message;
    }
  }
  if (s == n.shown && m == n.shownMessage) return false;
  n.shown = s;
  n.shownMessage = std::move(m);
  return true;
}

// A change of @p n reaches the monitor only while @p n is in the tree: a removed node's handle
// still works but changes no report.
void notifyChanged(const MonitorNode& n) {
  if (n.attached && n.tree->changed) n.tree->changed();
}

Status aggregateOf(const MonitorNode& n) {
  if (n.children.empty()) return n.shown;
  std::vector<Status> all;
  all.reserve(n.children.size() + 1);
  all.push_back(n.shown);
  for (const auto& c : n.children) all.push_back(aggregateOf(*c));
  return protocol::aggregateStatus(all);
}

void setOwner(MonitorNode& n, Status s, std::string message) {
  n.ownerStatus = s;
  n.ownerMessage = std::move(message);
  if (recompute(n)) notifyChanged(n);
}

}  // namespace

// A report without metrics (taken under the lock) plus the metric sources to call later.
struct Snapshot {
  protocol::StatusReport report;
  struct Metrics {
    std::vector<std::shared_ptr<const MetricSource>> sources;
    std::vector<Metrics> children;
  } metrics;
};

namespace {

void snapshotNode(const MonitorNode& n, protocol::Timestamp ts, protocol::StatusReport& r, Snapshot::Metrics& m) {
  r.name = n.name;
  r.status = aggregateOf(n);
  r.timestamp = ts;
  r.message = n.shownMessage;
  if (!n.children.empty()) {
    r.details.ownStatus = n.shown;
    r.details.children.resize(n.children.size());
    m.children.resize(n.children.size());
    for (std::size_t i = 0; i < n.children.size(); ++i)
      snapshotNode(*n.children[i], ts, r.details.children[i], m.children[i]);
  }
  for (const auto& e : n.metrics) m.sources.push_back(e.source);
}

protocol::JsonObject callMetrics(const std::vector<std::shared_ptr<const MetricSource>>& sources,
                                 std::string_view owner) {
  protocol::JsonObject merged;
  for (const auto& s : sources) {
    try {
      merged.merge((*s)());
    } catch (const std::exception& e) {
      log::warning("metric callback of {} failed: {}", owner, e.what());
    } catch (...) {
      log::warning("metric callback of {} failed", owner);
    }
  }
  return merged;
}

void fillMetrics(protocol::StatusReport& r, const Snapshot::Metrics& m) {
  if (!m.sources.empty()) r.details.metrics = callMetrics(m.sources, r.name);
  for (std::size_t i = 0; i < m.children.size() && i < r.details.children.size(); ++i)
    fillMetrics(r.details.children[i], m.children[i]);
}

}  // namespace
}  // namespace detail

using detail::Clock;
using detail::MonitorNode;

namespace {
// The encoding buffer keeps its capacity up to this; a larger message's is given back.
constexpr std::size_t kKeptBufferBytes = 64 * 1024;
// The report queue's storage beyond this many reports is given back kKeepStorageFor after the
// last burst that needed it.
constexpr std::size_t kKeptReports = 64;
constexpr std::chrono::seconds kKeepStorageFor{10};
}  // namespace
using detail::MonitorTree;

// ---- MonitoredObject -------------------------------------------------------------------------

MonitoredObject::MonitoredObject(std::shared_ptr<MonitorNode> node) noexcept : node_(std::move(node)) {}

const std::string& MonitoredObject::name() const noexcept {
  return node_->name;
}

void MonitoredObject::setStatus(Status status, std::string message) {
  std::lock_guard lock(node_->tree->mutex);
  if (status == node_->ownerStatus && message == node_->ownerMessage) return;
  detail::setOwner(*node_, status, std::move(message));
}

Status MonitoredObject::status() const {
  std::lock_guard lock(node_->tree->mutex);
  return node_->shown;
}

std::string MonitoredObject::message() const {
  std::lock_guard lock(node_->tree->mutex);
  return node_->shownMessage;
}

Status MonitoredObject::aggregateStatus() const {
  std::lock_guard lock(node_->tree->mutex);
  return detail::aggregateOf(*node_);
}

MonitoredObject MonitoredObject::child(std::string_view name) {
  if (name.empty()) throw std::invalid_argument("a monitored object needs a name");
  std::lock_guard lock(node_->tree->mutex);
  for (const auto& c : node_->children)
    if (c->name == name) return MonitoredObject(c);
  auto c = std::make_shared<MonitorNode>();
  c->name = std::string(name);
  c->tree = node_->tree;
  c->attached = node_->attached;
  node_->children.push_back(c);
  detail::notifyChanged(*c);
  return MonitoredObject(std::move(c));
}

std::optional<MonitoredObject> MonitoredObject::findChild(std::string_view name) const {
  std::lock_guard lock(node_->tree->mutex);
  for (const auto& c : node_->children)
    if (c->name == name) return MonitoredObject(c);
  return std::nullopt;
}

namespace {
void detach(MonitorNode& n) {
  n.attached = false;
  for (auto& c : n.children) detach(*c);
}
}  // namespace

bool MonitoredObject::removeChild(std::string_view name) {
  std::lock_guard lock(node_->tree->mutex);
  auto& kids = node_->children;
  const auto it = std::find_if(kids.begin(), kids.end(), [&](const auto& c) { return c->name == name; });
  if (it == kids.end()) return false;
  detach(**it);
  kids.erase(it);
  detail::notifyChanged(*node_);
  return true;
}

void MonitoredObject::addMetrics(MetricSource source, MetricUse use) {
  if (!source) throw std::invalid_argument("addMetrics: empty callback");
  std::lock_guard lock(node_->tree->mutex);
  node_->metrics.push_back({std::make_shared<const MetricSource>(std::move(source)), use});
}

void MonitoredObject::addHealthCheck(std::string name, HealthCheck check) {
  if (!check) throw std::invalid_argument("addHealthCheck: empty callback");
  if (name.empty()) throw std::invalid_argument("addHealthCheck: a check needs a name");
  std::lock_guard lock(node_->tree->mutex);
  node_->checks.push_back({std::move(name), std::make_shared<const HealthCheck>(std::move(check))});
}

TaskTracker MonitoredObject::trackTask() {
  std::lock_guard lock(node_->tree->mutex);
  auto& n = *node_;
  ++n.activeTasks;
  n.tracking = true;
  n.idleAt.reset();  // a task starting within the idle delay keeps the node busy
  if (n.ownerStatus != Status::Busy && n.ownerStatus != Status::Error && n.ownerStatus != Status::Failed)
    detail::setOwner(n, Status::Busy, fmt::format("Processing tasks ({} active)", n.activeTasks));
  return TaskTracker(node_);
}

int MonitoredObject::activeTasks() const {
  std::lock_guard lock(node_->tree->mutex);
  return node_->activeTasks;
}

void MonitoredObject::cancelErrorStatus() {
  std::lock_guard lock(node_->tree->mutex);
  auto& n = *node_;
  n.failingCheck.reset();
  const Status s = n.ownerStatus;
  if (s == Status::Error || s == Status::Failed || s == Status::Degraded) {
    const Status to = n.tracking ? (n.activeTasks > 0 ? Status::Busy : Status::Idle) : Status::Ok;
    detail::setOwner(n, to, "Error resolved");
  } else if (detail::recompute(n)) {
    detail::notifyChanged(n);
  }
}

protocol::StatusReport MonitoredObject::report() const {
  detail::Snapshot snap;
  {
    std::lock_guard lock(node_->tree->mutex);
    detail::snapshotNode(*node_, protocol::now(), snap.report, snap.metrics);
  }
  detail::fillMetrics(snap.report, snap.metrics);
  return std::move(snap.report);
}

// ---- TaskTracker -----------------------------------------------------------------------------

TaskTracker::TaskTracker(TaskTracker&& other) noexcept : node_(std::move(other.node_)) {}

TaskTracker& TaskTracker::operator=(TaskTracker&& other) noexcept {
  if (this != &other) {
    done();
    node_ = std::move(other.node_);
  }
  return *this;
}

TaskTracker::~TaskTracker() {
  done();
}

void TaskTracker::done() noexcept {
  if (!node_) return;
  auto node = std::move(node_);
  auto& tree = *node->tree;
  std::lock_guard lock(tree.mutex);
  if (node->activeTasks > 0) --node->activeTasks;
  if (node->activeTasks == 0) {
    node->idleAt = Clock::now() + tree.idleDelay;
    try {
      tree.idleTimers.push_back(node);
    } catch (...) {  // out of memory: the node stays busy until its next task
    }
    tree.wake.notify_all();
  }
}

// ---- Monitor ---------------------------------------------------------------------------------

struct Monitor::Impl {
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

  std::mutex checkMutex;  // one health-check run at a time (periodic and RPC)
  NatsSubscription rpc;
  std::thread thread;
};

Monitor::Monitor(MonitorOptions options, INatsTransport* nats)
    : MonitoredObject(std::make_shared<MonitorNode>()), impl_(std::make_unique<Impl>()) {
  if (options.pid == 0) options.pid = ::getpid();
  if (options.hostname.empty()) options.hostname = unit_name::hostName();
  if (options.queueCapacity == 0) options.queueCapacity = 1;
  impl_->statusSubject = protocol::statusSubject(options.subjectPrefix, options.name);  // validates
  impl_->heartbeatSubject = protocol::heartbeatSubject(options.subjectPrefix, options.name);
  impl_->options = std::move(options);
  impl_->nats = nats;

  tree_ = std::make_shared<MonitorTree>();
  tree_->idleDelay = impl_->options.idleDelay;
  node_->name = impl_->options.name;
  node_->tree = tree_;
  tree_->changed = [this] { changedLocked(); };
  impl_->thread = std::thread([this] {
    ::pthread_setname_np(::pthread_self(), "tcs-monitor");  // for top -H, perf, gdb
    loop();
  });
}

Monitor::~Monitor() {
  stop();
  {
    std::lock_guard lock(tree_->mutex);
    impl_->shutdown = true;
    tree_->changed = nullptr;  // handles may outlive the monitor: their changes go nowhere
  }
  tree_->wake.notify_all();
  impl_->thread.join();
}

void Monitor::changedLocked() {
  auto& im = *impl_;
  ++im.stats.statusChanges;
  const StatusChange change{detail::aggregateOf(*node_), node_->shown, node_->shownMessage};
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

bool Monitor::publishing() const noexcept {
  return impl_->nats != nullptr;
}

const MonitorOptions& Monitor::options() const noexcept {
  return impl_->options;
}

void Monitor::setLivenessCheck(std::function<bool()> alive) {
  std::lock_guard lock(tree_->mutex);
  impl_->alive = std::move(alive);
}

void Monitor::setStatsProvider(MetricSource stats) {
  std::lock_guard lock(tree_->mutex);
  impl_->statsProvider = stats ? std::make_shared<const MetricSource>(std::move(stats)) : nullptr;
}

void Monitor::onChange(std::function<void(const StatusChange&)> observer) {
  std::lock_guard lock(tree_->mutex);
  impl_->observers.push_back(std::move(observer));
}

double Monitor::uptimeSeconds() const {
  return std::chrono::duration<double>(Clock::now() - impl_->startedAt).count();
}

MonitorStats Monitor::stats() const {
  std::lock_guard lock(tree_->mutex);
  return impl_->stats;
}

protocol::StatusUpdate Monitor::statusUpdate() const {
  protocol::StatusUpdate u;
  static_cast<protocol::StatusReport&>(u) = report();
  u.parent = impl_->options.parent;
  u.pid = impl_->options.pid;
  u.hostname = impl_->options.hostname;
  return u;
}

void Monitor::start(bool healthChecks) {
  bool subscribe = false;
  {
    std::lock_guard lock(tree_->mutex);
    if (impl_->stopped) return;
    if (!impl_->started) {
      impl_->started = true;
      impl_->nextHeartbeat = Clock::now();
      subscribe = impl_->nats && impl_->options.serveRpc;
    }
    if (healthChecks && !impl_->healthChecks) {
      impl_->healthChecks = true;
      impl_->nextCheck = Clock::now();
    }
  }
  tree_->wake.notify_all();
  if (subscribe) {
    try {
      auto sub = impl_->nats->subscribe(protocol::rpcFilter(impl_->options.subjectPrefix, impl_->options.name),
                                        [this](const NatsMessage& m) { handleRpc(m); });
      std::lock_guard lock(tree_->mutex);
      impl_->rpc = std::move(sub);
    } catch (const std::exception& e) {
      log::error("{}: cannot serve RPC: {}", impl_->options.name, e.what());
    }
  }
}

void Monitor::setHealthChecksEnabled(bool enabled) {
  {
    std::lock_guard lock(tree_->mutex);
    if (enabled && !impl_->healthChecks) impl_->nextCheck = Clock::now();
    impl_->healthChecks = enabled && !impl_->stopped;
  }
  tree_->wake.notify_all();
}

void Monitor::stop() {
  NatsSubscription rpc;
  {
    std::lock_guard lock(tree_->mutex);
    if (impl_->stopped) return;
    impl_->stopped = true;
    impl_->started = false;
    impl_->healthChecks = false;
    rpc = std::move(impl_->rpc);
  }
  rpc.unsubscribe();  // waits for a running handler; outside the lock it may need
  tree_->wake.notify_all();
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
    const auto now = Clock::now();
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
      continue;
    }
    // Storage grown by a burst goes back once no burst needed it for a while.
    if (im.batch.capacity() > kKeptReports && now - im.lastBurst > kKeepStorageFor)
      std::vector<detail::Snapshot>().swap(im.batch);
    if (im.queue.capacity() > kKeptReports && im.queue.empty() && now - im.lastBurst > kKeepStorageFor)
      std::vector<detail::Snapshot>().swap(im.queue);
    if (im.shutdown) return;
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

void Monitor::publishStatus(detail::Snapshot& snap) {
  auto& im = *impl_;
  if (!snap.metrics.sources.empty() || !snap.metrics.children.empty()) detail::fillMetrics(snap.report, snap.metrics);
  try {
    // Encoded into the thread's own buffer, with the thread's own meta: no allocation per
    // message once they are warm (the transport copies only what it has to queue).
    protocol::processMetaGenerator().next(im.meta);
    if (!protocol::detail::fastEncodeStatus(im.buffer, snap.report, im.options.parent, im.options.pid,
                                            im.options.hostname, im.meta)) {
      protocol::StatusUpdate u;  // something for the general encoder (invalid UTF-8 to replace)
      static_cast<protocol::StatusReport&>(u) = std::move(snap.report);
      u.parent = im.options.parent;
      u.pid = im.options.pid;
      u.hostname = im.options.hostname;
      im.buffer = protocol::detail::referenceEncode(u, im.meta);  // not encode(): it would try fast first again
    }
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
    im.nats->publishPersistent(im.heartbeatSubject, protocol::encode(hb, protocol::processMetaGenerator().next()));
  } catch (const std::exception& e) {
    log::warning("{}: heartbeat not published: {}", im.options.name, e.what());
  }
}

// ---- health checks ---------------------------------------------------------------------------

std::vector<CheckReport> Monitor::runHealthChecks() {
  auto& im = *impl_;
  std::lock_guard runLock(im.checkMutex);
  struct Job {
    std::shared_ptr<MonitorNode> node;
    std::string prefix;
    std::vector<detail::CheckEntry> checks;
  };
  std::vector<Job> jobs;
  {
    std::lock_guard lock(tree_->mutex);
    std::function<void(const std::shared_ptr<MonitorNode>&, const std::string&)> collect =
        [&](const std::shared_ptr<MonitorNode>& n, const std::string& prefix) {
          if (!n->checks.empty()) jobs.push_back({n, prefix, n->checks});
          for (const auto& c : n->children) collect(c, prefix + c->name + "/");
        };
    collect(node_, "");
    ++im.stats.healthCheckRuns;
  }
  std::vector<CheckReport> reports;
  std::vector<std::optional<CheckResult>> failing(jobs.size());
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    std::vector<CheckResult> results;
    for (const auto& c : jobs[j].checks) {
      CheckResult r;
      try {
        r = (*c.check)();
      } catch (const std::exception& e) {
        r = {Status::Error, fmt::format("health check '{}' failed: {}", c.name, e.what())};
      } catch (...) {
        r = {Status::Error, fmt::format("health check '{}' failed", c.name)};
      }
      if (r.message.empty() && !detail::isNominal(r.status))
        r.message = fmt::format("health check '{}' reports {}", c.name, toString(r.status));
      reports.push_back({jobs[j].prefix + c.name, r, protocol::now()});
      results.push_back(std::move(r));
    }
    std::vector<Status> statuses;
    for (const auto& r : results) statuses.push_back(r.status);
    const Status agg = protocol::aggregateStatus(statuses);
    if (!detail::isNominal(agg)) {
      const auto it = std::find_if(results.begin(), results.end(), [&](const auto& r) { return r.status == agg; });
      failing[j] = it != results.end() ? *it : CheckResult{agg, fmt::format("health checks report {}", toString(agg))};
    }
  }
  {
    std::lock_guard lock(tree_->mutex);
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      auto& n = *jobs[j].node;
      if (n.failingCheck == failing[j]) continue;
      if (failing[j] && (!n.failingCheck || n.failingCheck->status != failing[j]->status))
        log::warning("{}: health check: {}: {}", n.name, toString(failing[j]->status), failing[j]->message);
      else if (!failing[j])
        log::info("{}: health checks pass again", n.name);
      n.failingCheck = failing[j];
      if (detail::recompute(n)) detail::notifyChanged(n);
    }
    im.lastChecks = reports;
  }
  return reports;
}

std::vector<CheckReport> Monitor::lastCheckResults() const {
  std::lock_guard lock(tree_->mutex);
  return impl_->lastChecks;
}

// ---- RPC -------------------------------------------------------------------------------------

void Monitor::handleRpc(const NatsMessage& m) {
  auto& im = *impl_;
  {
    std::lock_guard lock(tree_->mutex);
    ++im.stats.rpcRequests;
  }
  if (m.reply.empty()) {
    log::debug("{}: ignoring an RPC message without a reply subject on {}", im.options.name, m.subject);
    return;
  }
  const auto meta = [] { return protocol::processMetaGenerator().next(protocol::kMessageTypeRpc); };
  const auto replyError = [&](std::string_view code, std::string message) {
    log::warning("{}: RPC {} refused: {}", im.options.name, m.subject, message);
    im.nats->respond(m.reply, protocol::encode(protocol::ErrorReply{std::string(code), std::move(message)}, meta()));
  };
  try {
    const auto subject = protocol::parseSubject(im.options.subjectPrefix, m.subject);
    const auto command = protocol::parseRpcCommand(subject.command);
    if (subject.name != im.options.name || !command ||
        (*command != protocol::RpcCommand::Health && *command != protocol::RpcCommand::Stats) ||
        !subject.argument.empty()) {
      return replyError(protocol::rpc_error::kUnknownCommand,
                        fmt::format("unknown command '{}{}{}' for {} (commands: health, stats)", subject.command,
                                    subject.argument.empty() ? "" : ".", subject.argument, im.options.name));
    }
    try {
      (void)protocol::decode<protocol::RpcRequest>(m.data);
    } catch (const ProtocolError& e) {
      // Bodies without an envelope (`nats req SUBJECT ''` or '{}') are accepted as well.
      try {
        (void)protocol::decodeData<protocol::RpcRequest>(m.data);
      } catch (const ProtocolError&) {
        return replyError(protocol::rpc_error::kBadRequest, fmt::format("malformed request: {}", e.what()));
      }
    }
    if (*command == protocol::RpcCommand::Health) {
      const auto checks = runHealthChecks();
      protocol::HealthReply reply;
      reply.serviceId = im.options.name;
      reply.status = aggregateStatus();
      reply.timestamp = protocol::now();
      for (const auto& c : checks) {
        protocol::JsonObject one;
        one.set("status", std::string(toString(c.result.status)));
        if (!c.result.message.empty()) one.set("message", c.result.message);
        reply.checks.set(c.name, one);
      }
      im.nats->respond(m.reply, protocol::encode(reply, meta()));
    } else {
      protocol::StatsReply reply;
      reply.serviceId = im.options.name;
      reply.timestamp = protocol::now();
      reply.uptimeSeconds = uptimeSeconds();
      std::shared_ptr<const MetricSource> provider;
      MonitorStats s;
      {
        std::lock_guard lock(tree_->mutex);
        provider = im.statsProvider;
        s = im.stats;
      }
      if (provider) reply.stats = detail::callMetrics({provider}, im.options.name);
      protocol::JsonObject own;
      own.set("status", std::string(toString(aggregateStatus())))
          .set("status_changes", static_cast<std::int64_t>(s.statusChanges))
          .set("status_published", static_cast<std::int64_t>(s.statusPublished))
          .set("status_dropped", static_cast<std::int64_t>(s.statusDropped))
          .set("heartbeats", static_cast<std::int64_t>(s.heartbeats))
          .set("heartbeats_withheld", static_cast<std::int64_t>(s.heartbeatsWithheld))
          .set("health_check_runs", static_cast<std::int64_t>(s.healthCheckRuns))
          .set("rpc_requests", static_cast<std::int64_t>(s.rpcRequests));
      reply.stats.set("tcs", own);
      im.nats->respond(m.reply, protocol::encode(reply, meta()));
    }
  } catch (const ProtocolError& e) {
    replyError(protocol::rpc_error::kBadRequest, e.what());
  } catch (const std::exception& e) {
    replyError(protocol::rpc_error::kInternalError, e.what());
  }
}

// ---- factories -------------------------------------------------------------------------------

namespace {
std::string defaultMonitorName() {
  // Upstream: the program's base name followed by 8 random URL-safe characters.
  std::string program = "tcs";
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) program = exe.filename().string();
  std::string name;
  for (char c : program) name += protocol::isValidSubjectToken(std::string(1, c)) && c != '.' ? c : '_';
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
  std::random_device rd;
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  for (int i = 0; i < 8; ++i) name += kAlphabet[pick(rd)];
  return name;
}
}  // namespace

std::unique_ptr<Monitor> createMonitor(std::string name, INatsTransport* nats, MonitorOptions options) {
  options.name = name.empty() ? (options.name.empty() ? defaultMonitorName() : options.name) : std::move(name);
  return std::make_unique<Monitor>(std::move(options), nats);
}

OwnedMonitor createMonitor(std::string name, const config::NatsConfig& config, std::chrono::milliseconds connectTimeout,
                           MonitorOptions options) {
  OwnedMonitor result;
  if (options.subjectPrefix == protocol::kDefaultPrefix) options.subjectPrefix = config.subjectPrefix;
  if (config.present) {
    try {
      NatsOptions no;
      no.name = name.empty() ? std::string("tcs-monitor") : name;
      no.connectDeadline = connectTimeout;
      auto required = config;
      required.required = true;  // try for connectTimeout, then give up: upstream's 2 s probe
      result.connection = std::make_unique<NatsConnection>(required, no);
    } catch (const std::exception& e) {
      log::warning("monitoring without NATS (no-op monitor): {}", e.what());
    }
  } else {
    log::info("no nats: section in the config: monitoring without NATS (no-op monitor)");
  }
  result.monitor = createMonitor(std::move(name), result.connection.get(), std::move(options));
  return result;
}

}  // namespace tcs
