// SPDX-License-Identifier: MIT
#include "duplicate_detector.hpp"

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

namespace tcs::supervisor {

namespace p = protocol;

namespace {

/// Processes kept per id (the most recently heard from).
constexpr std::size_t kMaxProcesses = 8;

bool identified(const auto& pr) {
  return !pr.hostname.empty() && pr.pid.has_value();
}

}  // namespace

DuplicateDetector::DuplicateDetector(Options options) : options_(std::move(options)) {}

void DuplicateDetector::local(const std::string& serviceId, std::uint32_t mainPid, p::Timestamp now) {
  auto& s = services_[serviceId];
  if (s.mainPid == mainPid) return;
  s.mainPid = mainPid;
  s.mainPidSince = now;
}

void DuplicateDetector::retain(const std::vector<std::string>& serviceIds) {
  const std::set<std::string, std::less<>> keep(serviceIds.begin(), serviceIds.end());
  std::erase_if(services_, [&](const auto& kv) { return !keep.contains(kv.first); });
}

DuplicateDetector::Process& DuplicateDetector::process(Service& s, std::string_view sender) {
  auto& all = s.processes;
  if (!sender.empty())
    if (auto it = std::find_if(all.begin(), all.end(), [&](const Process& pr) { return pr.sender == sender; });
        it != all.end())
      return *it;
  if (all.size() >= kMaxProcesses)
    all.erase(std::min_element(all.begin(), all.end(),
                               [](const Process& a, const Process& b) { return a.lastSeen < b.lastSeen; }));
  all.push_back(Process{});
  all.back().sender = std::string{sender};
  return all.back();
}

std::optional<p::RegistryEvent> DuplicateDetector::status(const p::StatusUpdate& st, std::string_view sender,
                                                          p::Timestamp now) {
  auto& s = services_[st.name];
  // The same process under a new sender name (it reconnected) is still the same process.
  auto it = std::find_if(s.processes.begin(), s.processes.end(), [&](const Process& pr) {
    return identified(pr) && pr.hostname == st.hostname && pr.pid == st.pid && pr.sender != sender;
  });
  Process& pr = it != s.processes.end() ? *it : process(s, sender);
  if (pr.firstSeen == p::Timestamp{}) pr.firstSeen = st.timestamp;
  pr.sender = std::string{sender};
  pr.hostname = st.hostname;
  pr.pid = st.pid;
  if (!st.parent.empty()) pr.parent = st.parent;
  pr.firstSeen = std::min(pr.firstSeen, st.timestamp);
  pr.lastSeen = std::max(pr.lastSeen, st.timestamp);
  return evaluate(st.name, s, now);
}

std::optional<p::RegistryEvent> DuplicateDetector::heartbeat(const p::Heartbeat& h, std::string_view sender,
                                                             p::Timestamp now) {
  auto& s = services_[h.serviceId];
  Process& pr = process(s, sender);
  if (pr.firstSeen == p::Timestamp{}) pr.firstSeen = h.timestamp;
  pr.firstSeen = std::min(pr.firstSeen, h.timestamp);
  pr.lastSeen = std::max(pr.lastSeen, h.timestamp);
  return evaluate(h.serviceId, s, now);
}

bool DuplicateDetector::inConflict(std::string_view serviceId) const {
  const auto it = services_.find(serviceId);
  return it != services_.end() && it->second.conflict;
}

bool DuplicateDetector::anyConflict() const {
  return std::any_of(services_.begin(), services_.end(), [](const auto& kv) { return kv.second.conflict; });
}

std::optional<p::RegistryEvent> DuplicateDetector::evaluate(const std::string& serviceId, Service& s,
                                                            p::Timestamp now) {
  std::vector<const Process*> alive;
  for (const auto& pr : s.processes)
    if (identified(pr) && now - pr.lastSeen < options_.alive) alive.push_back(&pr);
  const auto here = [&](const Process* pr) { return pr->hostname == options_.hostname; };

  std::vector<const Process*> involved;
  for (std::size_t a = 0; a < alive.size(); ++a)
    for (std::size_t b = a + 1; b < alive.size(); ++b) {
      const Process* x = alive[a];
      const Process* y = alive[b];
      const bool overlap = x->firstSeen <= y->lastSeen && y->firstSeen <= x->lastSeen;
      if (overlap && (here(x) || here(y))) {
        for (const Process* pr : {x, y})
          if (std::find(involved.begin(), involved.end(), pr) == involved.end()) involved.push_back(pr);
      }
    }
  bool localUnitInvolved = false;
  if (s.mainPid != 0)
    for (const Process* pr : alive)
      if (!here(pr) && pr->lastSeen > s.mainPidSince) {
        localUnitInvolved = true;
        if (std::find(involved.begin(), involved.end(), pr) == involved.end()) involved.push_back(pr);
      }

  if (involved.empty()) {
    s.conflict = false;  // over: the next conflict is a new episode
    return std::nullopt;
  }
  if (s.conflict) return std::nullopt;  // once per episode
  s.conflict = true;

  const std::string launcher = p::launcherName(options_.launcherId);
  p::DuplicateEvent d;
  d.status = Status::Warning;
  // This host first (its unit's main PID when its own status was not seen), then the others.
  const bool localSeen = std::any_of(involved.begin(), involved.end(), here);
  if (localUnitInvolved && !localSeen)
    d.hosts.push_back({options_.hostname, static_cast<std::int64_t>(s.mainPid), launcher});
  std::sort(involved.begin(), involved.end(), [&](const Process* a, const Process* b) {
    return std::make_tuple(!here(a), a->hostname, a->pid) < std::make_tuple(!here(b), b->hostname, b->pid);
  });
  for (const Process* pr : involved)
    d.hosts.push_back({pr->hostname, pr->pid, !pr->parent.empty() ? pr->parent : here(pr) ? launcher : std::string{}});

  p::RegistryEvent e;
  e.serviceId = serviceId;
  e.timestamp = now;
  e.specific = std::move(d);
  e.parent = launcher;
  e.runnerId = p::runnerId(options_.launcherId, serviceId.substr(0, serviceId.find('.')));
  return e;
}

}  // namespace tcs::supervisor
