// SPDX-License-Identifier: MIT
// Private to the monitor module: the monitored-object tree behind tcs::MonitoredObject — the
// nodes, the tree's shared state (one mutex per tree guards everything), the snapshot a report
// is made from, and the small functions every part of the module uses on them. They are inline:
// setStatus() → report is the hot path the publish bench measures.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tcs/log.hpp"
#include "tcs/monitor.hpp"
#include "tcs/protocol/aggregate.hpp"

namespace tcs {
namespace detail {
using Clock = std::chrono::steady_clock;

// Check results that leave the owner's status alone.
inline bool isNominal(Status s) {
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

}  // namespace detail

// The opaque types of tcs/monitor.hpp (MonitoredObject, TaskTracker and Monitor hold them
// through shared_ptr; only this module sees their members).
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
  std::vector<detail::MetricEntry> metrics;
  std::vector<detail::CheckEntry> checks;

  int activeTasks = 0;
  bool tracking = false;
  std::optional<detail::Clock::time_point> idleAt;
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
  // Set (under `mutex`) once a node of the tree gets a health check; readable without it.
  std::atomic<bool> hasChecks{false};
};

// A report without metrics (taken under the lock) plus the metric sources to call later.
struct MonitorSnapshot {
  protocol::StatusReport report;
  struct Metrics {
    std::vector<std::shared_ptr<const MetricSource>> sources;
    std::vector<Metrics> children;
  } metrics;
};

namespace detail {
using Snapshot = MonitorSnapshot;

// Recomputes what a node shows from its owner status and check results.
// @return whether the shown status or message changed
inline bool recompute(MonitorNode& n) {
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
inline void notifyChanged(const MonitorNode& n) {
  if (n.attached && n.tree->changed) n.tree->changed();
}

inline Status aggregateOf(const MonitorNode& n) {
  if (n.children.empty()) return n.shown;
  std::vector<Status> all;
  all.reserve(n.children.size() + 1);
  all.push_back(n.shown);
  for (const auto& c : n.children) all.push_back(aggregateOf(*c));
  return protocol::aggregateStatus(all);
}

inline void setOwner(MonitorNode& n, Status s, std::string message) {
  n.ownerStatus = s;
  n.ownerMessage = std::move(message);
  if (recompute(n)) notifyChanged(n);
}

inline void snapshotNode(const MonitorNode& n, protocol::Timestamp ts, protocol::StatusReport& r,
                         Snapshot::Metrics& m) {
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

inline protocol::JsonObject callMetrics(const std::vector<std::shared_ptr<const MetricSource>>& sources,
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

inline void fillMetrics(protocol::StatusReport& r, const Snapshot::Metrics& m) {
  if (!m.sources.empty()) r.details.metrics = callMetrics(m.sources, r.name);
  for (std::size_t i = 0; i < m.children.size() && i < r.details.children.size(); ++i)
    fillMetrics(r.details.children[i], m.children[i]);
}

}  // namespace detail
}  // namespace tcs
