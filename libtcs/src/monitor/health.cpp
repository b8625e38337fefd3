// SPDX-License-Identifier: MIT
// Health checks: run every node's checks (never under the tree's mutex), fold each node's
// results into what it shows, and keep the last results for `v1.health`.
#include <algorithm>
#include <functional>
#include <optional>

#include "monitor_impl.hpp"
#include "tcs/log.hpp"

namespace tcs {

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

}  // namespace tcs
