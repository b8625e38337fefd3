// SPDX-License-Identifier: MIT
// MonitoredObject (a handle on a tree node) and TaskTracker: the tree's public face. A
// default-constructed MonitoredObject has no node: every call on it does nothing.
#include "tree.hpp"

#include <algorithm>
#include <stdexcept>

namespace tcs {

using detail::Clock;

// ---- MonitoredObject -------------------------------------------------------------------------

MonitoredObject::MonitoredObject(std::shared_ptr<MonitorNode> node) noexcept : node_(std::move(node)) {}

const std::string& MonitoredObject::name() const noexcept {
  static const std::string kNone;
  return node_ ? node_->name : kNone;
}

void MonitoredObject::setStatus(Status status, std::string message) {
  if (!node_) return;
  std::lock_guard lock(node_->tree->mutex);
  if (status == node_->ownerStatus && message == node_->ownerMessage) return;
  detail::setOwner(*node_, status, std::move(message));
}

Status MonitoredObject::status() const {
  if (!node_) return Status::Unknown;
  std::lock_guard lock(node_->tree->mutex);
  return node_->shown;
}

std::string MonitoredObject::message() const {
  if (!node_) return {};
  std::lock_guard lock(node_->tree->mutex);
  return node_->shownMessage;
}

Status MonitoredObject::aggregateStatus() const {
  if (!node_) return Status::Unknown;
  std::lock_guard lock(node_->tree->mutex);
  return detail::aggregateOf(*node_);
}

MonitoredObject MonitoredObject::child(std::string_view name) {
  if (name.empty()) throw std::invalid_argument("a monitored object needs a name");
  if (!node_) return {};
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
  if (!node_) return std::nullopt;
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
  if (!node_) return false;
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
  if (!node_) return;
  std::lock_guard lock(node_->tree->mutex);
  node_->metrics.push_back({std::make_shared<const MetricSource>(std::move(source)), use});
}

void MonitoredObject::addHealthCheck(std::string name, HealthCheck check) {
  if (!check) throw std::invalid_argument("addHealthCheck: empty callback");
  if (name.empty()) throw std::invalid_argument("addHealthCheck: a check needs a name");
  if (!node_) return;
  std::lock_guard lock(node_->tree->mutex);
  node_->checks.push_back({std::move(name), std::make_shared<const HealthCheck>(std::move(check))});
  node_->tree->hasChecks.store(true, std::memory_order_release);
}

TaskTracker MonitoredObject::trackTask() {
  if (!node_) return {};
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
  if (!node_) return 0;
  std::lock_guard lock(node_->tree->mutex);
  return node_->activeTasks;
}

void MonitoredObject::cancelErrorStatus() {
  if (!node_) return;
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
  if (!node_) return {};
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

}  // namespace tcs
