// SPDX-License-Identifier: MIT
// Monitor's life cycle and settings: construction (which starts the monitor thread),
// start/stop, observers, counters. The thread is in publisher.cpp, health checks in health.cpp,
// the RPC server in rpc.cpp, createMonitor() in factories.cpp, the tree in tree.cpp.
#include "tcs/monitor.hpp"

#include <pthread.h>
#include <unistd.h>

#include "monitor_impl.hpp"
#include "tcs/log.hpp"
#include "tcs/unit_name.hpp"

namespace tcs {

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
  return impl_->statsLocked();
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

}  // namespace tcs
