// SPDX-License-Identifier: MIT
#include "tcs/fleet.hpp"

#include <algorithm>
#include <cctype>
#include <exception>
#include <functional>
#include <set>
#include <tuple>
#include <utility>
#include <variant>

namespace tcs {
namespace {

namespace p = protocol;
using std::chrono::seconds;

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
// The deduction guide C++20 makes implicit, for clang before 17.
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

bool isOperational(Status s) noexcept {
  switch (s) {
    case Status::Startup:
    case Status::Ok:
    case Status::Idle:
    case Status::Busy:
    case Status::Degraded:
    case Status::Warning: return true;
    default: return false;
  }
}

bool isErrorish(Status s) noexcept {
  return s == Status::Error || s == Status::Failed;
}

/// True when @p candidate may replace a fact held at @p held (equal times: the later arrival).
template <class T>
bool newer(p::Timestamp candidate, const std::optional<T>& held, p::Timestamp T::*time) noexcept {
  return !held || candidate >= (*held).*time;
}

bool newer(p::Timestamp candidate, const std::optional<p::Timestamp>& held) noexcept {
  return !held || candidate >= *held;
}

std::string clip(std::string_view s, std::size_t max = 300) {
  if (s.size() <= max) return std::string{s};
  return std::string{s.substr(0, max)} + "…";
}

std::string exitText(int exitCode) {
  return exitCode < 0 ? "signal " + std::to_string(-exitCode) : "exit code " + std::to_string(exitCode);
}

/// The message shown when a registry event decides the status (tcs rules only).
std::string describe(const p::RegistryEvent& e) {
  return std::visit(
      Overloaded{
          [](const p::DeclaredEvent&) { return std::string{}; },
          [](const p::StartEvent& s) { return "Started (pid " + std::to_string(s.pid) + ")"; },
          [](const p::ReadyEvent&) { return std::string{"Ready"}; },
          [](const p::StoppingEvent& s) { return "Stopping (" + s.reason + ")"; },
          [](const p::StopEvent& s) { return "Stopped (" + s.reason + ", " + exitText(s.exitCode) + ")"; },
          [](const p::CrashedEvent& c) {
            std::string m = "Crashed (" + exitText(c.exitCode);
            if (!c.result.empty()) m += ", " + c.result;
            return m + (c.willRestart ? "), restarting" : "), not restarting");
          },
          [](const p::RestartingEvent& r) {
            return "Restarting (attempt " + std::to_string(r.restartAttempt) + " of " +
                   (r.maxRestarts ? std::to_string(*r.maxRestarts) : std::string{"unlimited"}) + ")";
          },
          [](const p::FailedEvent& f) {
            return "Failed (" + f.reason + ", " + std::to_string(f.restartCount) + " restarts)";
          },
          [](const p::DuplicateEvent&) { return std::string{"Running on two hosts"}; },
      },
      e.specific);
}

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// @p want (lower case) names @p hostname: its full or short (up to the first dot) form.
bool hostMatches(const std::string& want, std::string_view hostname) {
  if (hostname.empty()) return false;
  const std::string h = lower(hostname);
  return h == want || h.substr(0, h.find('.')) == want;
}

/// @p want (lower case) names the launcher `launcher.<id>` @p name: `<id>` or the whole name.
bool launcherMatches(const std::string& want, std::string_view name) {
  const auto id = p::launcherIdOf(name);
  return id && (lower(*id) == want || lower(name) == want);
}

}  // namespace

std::string_view toString(FleetEntryKind kind) noexcept {
  return kind == FleetEntryKind::Launcher ? "launcher" : "service";
}

std::string_view toString(HeartbeatLiveness liveness) noexcept {
  switch (liveness) {
    case HeartbeatLiveness::None: return "none";
    case HeartbeatLiveness::Alive: return "alive";
    case HeartbeatLiveness::Stale: return "stale";
    case HeartbeatLiveness::Dead: return "dead";
  }
  return "none";
}

std::string_view toString(RestartState state) noexcept {
  switch (state) {
    case RestartState::None: return "none";
    case RestartState::Restarting: return "restarting";
    case RestartState::Failed: return "failed";
    case RestartState::Recovered: return "recovered";
  }
  return "none";
}

std::string_view toString(ApplyOutcome outcome) noexcept {
  switch (outcome) {
    case ApplyOutcome::Applied: return "applied";
    case ApplyOutcome::Superseded: return "superseded";
    case ApplyOutcome::Ignored: return "ignored";
    case ApplyOutcome::Malformed: return "malformed";
  }
  return "malformed";
}

std::string_view glyph(FleetSymbol symbol) noexcept {
  switch (symbol) {
    case FleetSymbol::Healthy: return "●";
    case FleetSymbol::Warning: return "◐";
    case FleetSymbol::Problem: return "⚠";
    case FleetSymbol::Error: return "×";
    case FleetSymbol::Stopped: return "○";
  }
  return "?";
}

std::string formatDuration(std::chrono::seconds d) {
  const auto s = std::max<std::int64_t>(0, d.count());
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 86400) return std::to_string(s / 3600) + "h " + std::to_string(s % 3600 / 60) + "m";
  return std::to_string(s / 86400) + "d " + std::to_string(s % 86400 / 3600) + "h";
}

bool FleetEntry::running() const noexcept {
  return isOperational(status) && !stoppedAt;
}

std::string FleetListing::summary() const {
  if (listedCount == 0)
    return filter.empty() ? std::string{"No services found"} : "No services matching '" + filter + "' found";
  std::string s = std::to_string(runningCount) + " loaded services";
  if (!filter.empty())
    s += " (filtered by '" + filter + "')";
  else if (!all && notRunningCount() > 0)
    s += " (" + std::to_string(notRunningCount()) + " stopped hidden, use --all)";
  return s;
}

// ---- reducer -------------------------------------------------------------------------------

FleetView::FleetView(FleetRules rules, std::string prefix) : rules_(rules), prefix_(std::move(prefix)) {}

const FleetEntry* FleetView::find(std::string_view id) const {
  const auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second;
}

FleetEntry& FleetView::entry(const std::string& id) {
  auto [it, inserted] = entries_.try_emplace(id);
  if (inserted) {
    it->second.id = id;
    it->second.kind = p::launcherIdOf(id) ? FleetEntryKind::Launcher : FleetEntryKind::Service;
  }
  return it->second;
}

ApplyOutcome FleetView::malformed(std::string problem) {
  ++counters_.malformed;
  counters_.problems.push_back(clip(problem, 400));
  while (counters_.problems.size() > FleetCounters::kMaxProblems) counters_.problems.pop_front();
  return ApplyOutcome::Malformed;
}

ApplyOutcome FleetView::apply(std::string_view subject, std::string_view body, p::Timestamp receivedAt) {
  ApplyOutcome outcome = ApplyOutcome::Malformed;
  try {
    const p::Subject s = p::parseSubject(prefix_, subject);
    switch (s.kind) {
      case p::SubjectKind::Status: outcome = applyStatus(s.name, body, receivedAt); break;
      case p::SubjectKind::Heartbeat: outcome = applyHeartbeat(s.name, body, receivedAt); break;
      case p::SubjectKind::Registry: outcome = applyRegistry(s.name, s.event, body, receivedAt); break;
      case p::SubjectKind::Rpc: outcome = ApplyOutcome::Ignored; break;
    }
  } catch (const std::exception& e) {
    return malformed(clip(subject, 200) + ": " + e.what());
  } catch (...) {
    return malformed(clip(subject, 200) + ": unknown error");
  }
  switch (outcome) {
    case ApplyOutcome::Applied: ++counters_.applied; break;
    case ApplyOutcome::Superseded: ++counters_.superseded; break;
    case ApplyOutcome::Ignored: ++counters_.ignored; break;
    case ApplyOutcome::Malformed: break;  // counted by malformed()
  }
  return outcome;
}

ApplyOutcome FleetView::applyStatus(std::string_view subjectName, std::string_view body, p::Timestamp receivedAt) {
  auto m = p::decode<p::StatusUpdate>(body);
  if (m.data.name != subjectName)
    return malformed("status subject names '" + clip(subjectName, 100) + "' but data.name is '" +
                     clip(m.data.name, 100) + "'");
  FleetEntry& e = entry(m.data.name);
  e.lastReceivedAt = std::max(e.lastReceivedAt.value_or(receivedAt), receivedAt);
  seen(e, m.meta.sender, &m.data.hostname, m.data.pid, m.data.timestamp);
  if (e.lastReport && m.data.timestamp < e.lastReport->timestamp) return ApplyOutcome::Superseded;
  e.lastReport = std::move(m.data);
  ++e.messagesApplied;
  resolve(e);
  return ApplyOutcome::Applied;
}

ApplyOutcome FleetView::applyHeartbeat(std::string_view subjectName, std::string_view body, p::Timestamp receivedAt) {
  const auto m = p::decode<p::Heartbeat>(body);
  if (m.data.serviceId != subjectName)
    return malformed("heartbeat subject names '" + clip(subjectName, 100) + "' but data.service_id is '" +
                     clip(m.data.serviceId, 100) + "'");
  FleetEntry& e = entry(m.data.serviceId);
  e.lastReceivedAt = std::max(e.lastReceivedAt.value_or(receivedAt), receivedAt);
  seen(e, m.meta.sender, nullptr, std::nullopt, m.data.timestamp);
  if (!newer(m.data.timestamp, e.lastHeartbeat)) return ApplyOutcome::Superseded;
  e.lastHeartbeat = m.data.timestamp;
  e.heartbeatStatus = m.data.status;
  e.heartbeatSequence = m.data.sequence;
  ++e.messagesApplied;  // nothing resolve() derives depends on heartbeats
  return ApplyOutcome::Applied;
}

ApplyOutcome FleetView::applyRegistry(std::string_view subjectName, std::string_view event, std::string_view body,
                                      p::Timestamp receivedAt) {
  const auto type = p::parseRegistryEventType(event);
  if (!type) return ApplyOutcome::Ignored;  // a newer protocol's event: not ours to judge
  const auto m = p::decode<p::RegistryEvent>(body);
  const p::RegistryEvent& ev = m.data;
  if (ev.type() != *type)
    return malformed("registry subject says '" + clip(event, 40) + "' but data.event is '" +
                     std::string{p::toString(ev.type())} + "'");
  if (ev.serviceId != subjectName)
    return malformed("registry subject names '" + clip(subjectName, 100) + "' but data.service_id is '" +
                     clip(ev.serviceId, 100) + "'");

  FleetEntry& e = entry(ev.serviceId);
  e.lastReceivedAt = std::max(e.lastReceivedAt.value_or(receivedAt), receivedAt);
  const p::Timestamp t = ev.timestamp;

  // The event's own fact; an older event of the same type than the one held changes nothing.
  const bool applied =
      std::visit(Overloaded{
                     [&](const p::DeclaredEvent& d) {
                       if (!newer(t, e.declaredAt)) return false;
                       e.declaredAt = t;
                       e.declaredRestartPolicy = d.restartPolicy;
                       return true;
                     },
                     [&](const p::StartEvent& s) {
                       if (!newer(t, e.lastStart, &FleetStart::time)) return false;
                       e.lastStart = FleetStart{t, s.pid, s.hostname};
                       return true;
                     },
                     [&](const p::ReadyEvent&) {
                       if (!newer(t, e.readyAt)) return false;
                       e.readyAt = t;
                       return true;
                     },
                     [&](const p::StoppingEvent&) {
                       if (!newer(t, e.stoppingAt)) return false;
                       e.stoppingAt = t;
                       return true;
                     },
                     [&](const p::StopEvent& s) {
                       if (!newer(t, e.lastStop, &FleetStop::time)) return false;
                       e.lastStop = FleetStop{t, s.reason, s.exitCode};
                       return true;
                     },
                     [&](const p::CrashedEvent& c) {
                       if (!newer(t, e.lastCrash, &FleetCrash::time)) return false;
                       e.lastCrash = FleetCrash{t, c.status, c.exitCode, c.result, c.restartPolicy, c.willRestart};
                       return true;
                     },
                     [&](const p::RestartingEvent& r) {
                       if (!newer(t, e.lastRestart, &FleetRestart::time)) return false;
                       e.lastRestart = FleetRestart{t, r.restartAttempt, r.maxRestarts};
                       return true;
                     },
                     [&](const p::FailedEvent& f) {
                       if (!newer(t, e.lastFailure, &FleetFailure::time)) return false;
                       e.lastFailure = FleetFailure{t, f.reason, f.restartCount};
                       return true;
                     },
                     [&](const p::DuplicateEvent& d) {
                       if (e.lastDuplicate && t < e.lastDuplicate->time) return false;
                       e.lastDuplicate = FleetDuplicateReport{t, d.hosts, ev.parent};
                       return true;
                     },
                 },
                 ev.specific);
  if (!applied) return ApplyOutcome::Superseded;
  if (*type == p::RegistryEventType::Duplicate) {  // a warning about the id, not a lifecycle fact
    ++e.messagesApplied;
    return ApplyOutcome::Applied;
  }

  if (const auto st = ev.status(); st && newer(t, e.registryStatusAt)) {
    e.registryStatus = *st;
    e.registryStatusAt = t;
    e.registryMessage = describe(ev);
  }
  const bool carriesParent = *type == p::RegistryEventType::Declared || *type == p::RegistryEventType::Start;
  if (carriesParent && !ev.parent.empty() && newer(t, e.registryParentAt)) {
    e.registryParent = ev.parent;
    e.registryParentAt = t;
  }
  if (!ev.runnerId.empty() && (*type == p::RegistryEventType::Start || !rules_.runnerIdFromStartOnly) &&
      newer(t, e.runnerIdAt)) {
    e.runnerId = ev.runnerId;
    e.runnerIdAt = t;
  }
  ++e.messagesApplied;
  resolve(e);
  return ApplyOutcome::Applied;
}

void FleetView::seen(FleetEntry& e, const std::string& sender, const std::string* hostname,
                     std::optional<std::int64_t> pid, p::Timestamp t) {
  auto& all = e.instances;
  auto it = all.end();
  if (!sender.empty())
    it = std::find_if(all.begin(), all.end(), [&](const FleetInstance& i) { return i.sender == sender; });
  if (it == all.end() && hostname != nullptr)  // the same process under a new sender name: a new connection
    it = std::find_if(all.begin(), all.end(), [&](const FleetInstance& i) {
      return i.identified() && i.hostname == *hostname && i.pid == pid;
    });
  if (it == all.end()) {
    if (all.size() >= kFleetMaxInstances) {  // forget the process heard from the longest ago
      all.erase(std::min_element(all.begin(), all.end(), [](const FleetInstance& a, const FleetInstance& b) {
        return a.lastSeen < b.lastSeen;
      }));
    }
    all.push_back(FleetInstance{{}, std::nullopt, sender, t, t});
    it = all.end() - 1;
  }
  if (hostname != nullptr) {
    it->hostname = *hostname;
    it->pid = pid;
  }
  if (!sender.empty()) it->sender = sender;
  it->firstSeen = std::min(it->firstSeen, t);
  it->lastSeen = std::max(it->lastSeen, t);
}

void FleetView::resolve(FleetEntry& e) const {
  const auto& report = e.lastReport;

  e.stoppedAt.reset();
  if (e.lastStop && (!e.lastStart || e.lastStop->time >= e.lastStart->time)) {
    // tcs: an operational status stamped after the stop by *another* process than the last
    // start's runs again — its start was not seen (the supervisor was down or without its bus:
    // nothing is reconstructed, protocol.md). The stopped process's own late status does not.
    const bool newProcess = report && e.lastStart && report->timestamp > e.lastStop->time &&
                            isOperational(report->status) && report->pid != 0 &&
                            (report->pid != e.lastStart->pid || report->hostname != e.lastStart->hostname);
    if (rules_.statusMessageOverridesRegistry || !newProcess) e.stoppedAt = e.lastStop->time;
  }

  // Status and message.
  const bool reportWins = report && (!e.registryStatus || rules_.statusMessageOverridesRegistry ||
                                     report->timestamp >= *e.registryStatusAt);
  if (reportWins) {
    e.status = report->status;
    e.message = report->message;
    e.statusSource = StatusSource::StatusMessage;
  } else if (e.registryStatus) {
    e.status = *e.registryStatus;
    // Upstream's registry events never touch the message; tcs describes the deciding event.
    e.message = rules_.statusMessageOverridesRegistry ? std::string{} : e.registryMessage;
    e.statusSource = StatusSource::Registry;
  } else {
    e.status = Status::Unknown;
    e.message.clear();
    e.statusSource = StatusSource::None;
  }

  // Process identity: the status message's or the last start's.
  const bool reportIdentity =
      report && (!e.lastStart || rules_.statusMessageOverridesStart || report->timestamp >= e.lastStart->time);
  if (reportIdentity) {
    e.pid = report->pid;
    e.hostname = report->hostname;
  } else if (e.lastStart) {
    e.pid = e.lastStart->pid;
    e.hostname = e.lastStart->hostname;
  }

  const bool reportParent =
      report && !report->parent.empty() &&
      (!e.registryParentAt || rules_.statusMessageOverridesStart || report->timestamp >= *e.registryParentAt);
  e.parent = reportParent ? report->parent : e.registryParent;

  if (e.lastCrash && (!e.declaredAt || e.lastCrash->time >= *e.declaredAt))
    e.restartPolicy = e.lastCrash->restartPolicy;
  else
    e.restartPolicy = e.declaredRestartPolicy;
}

// ---- derived at a time ---------------------------------------------------------------------

HeartbeatLiveness FleetView::liveness(const FleetEntry& e, p::Timestamp now) const noexcept {
  if (!e.lastHeartbeat) return e.running() ? HeartbeatLiveness::Dead : HeartbeatLiveness::None;
  const auto age = now - *e.lastHeartbeat;
  if (age < rules_.staleAfter) return HeartbeatLiveness::Alive;
  if (age < rules_.deadAfter) return HeartbeatLiveness::Stale;
  return HeartbeatLiveness::Dead;
}

bool FleetView::fresh(const FleetEntry& e, p::Timestamp now) const noexcept {
  return e.lastHeartbeat && now - *e.lastHeartbeat < rules_.freshFor;
}

bool FleetView::crashedRecently(const FleetEntry& e, p::Timestamp now) const noexcept {
  return e.lastCrash && now - e.lastCrash->time < rules_.recentCrash;
}

std::optional<seconds> FleetView::uptime(const FleetEntry& e, p::Timestamp now) const noexcept {
  // (running again after a stop without a seen start: since when is not known)
  if (!e.lastStart || e.stoppedAt || (e.lastStop && e.lastStop->time >= e.lastStart->time)) return std::nullopt;
  return std::max(seconds{0}, std::chrono::duration_cast<seconds>(now - e.lastStart->time));
}

RestartState FleetView::restartState(const FleetEntry& e) const noexcept {
  if (!rules_.trackRestarts) return RestartState::None;
  const p::Timestamp since = e.lastStart ? e.lastStart->time : p::Timestamp::min();
  const bool crashSince = e.lastCrash && e.lastCrash->time >= since;
  if ((e.lastFailure && e.lastFailure->time >= since) || (crashSince && !e.lastCrash->willRestart))
    return RestartState::Failed;
  if ((crashSince && e.lastCrash->willRestart) || (e.lastRestart && e.lastRestart->time >= since))
    return RestartState::Restarting;
  if (e.lastRestart && e.lastRestart->attempt > 0) return RestartState::Recovered;
  return RestartState::None;
}

FleetSymbol FleetView::symbol(const FleetEntry& e, p::Timestamp now) const noexcept {
  if (!e.running()) return isErrorish(e.status) ? FleetSymbol::Error : FleetSymbol::Stopped;
  switch (liveness(e, now)) {
    case HeartbeatLiveness::Dead: return FleetSymbol::Problem;
    case HeartbeatLiveness::Stale: return FleetSymbol::Warning;
    default: break;
  }
  if (e.status == Status::Degraded || e.status == Status::Warning) return FleetSymbol::Warning;
  return FleetSymbol::Healthy;
}

std::optional<FleetDuplicate> FleetView::duplicate(const FleetEntry& e, p::Timestamp now) const {
  std::vector<const FleetInstance*> live;
  for (const auto& i : e.instances)
    if (i.identified() && now - i.lastSeen < rules_.staleAfter) live.push_back(&i);
  bool overlap = false;
  for (std::size_t a = 0; a < live.size() && !overlap; ++a)
    for (std::size_t b = a + 1; b < live.size() && !overlap; ++b)
      overlap = live[a]->firstSeen <= live[b]->lastSeen && live[b]->firstSeen <= live[a]->lastSeen;
  if (overlap) {
    std::sort(live.begin(), live.end(), [](const FleetInstance* a, const FleetInstance* b) {
      return std::tie(a->hostname, a->pid) < std::tie(b->hostname, b->pid);
    });
    FleetDuplicate d{.observed = true, .hosts = {}};
    for (const auto* i : live) {
      std::string launcher;  // the launcher that publishes from that host
      if (i->hostname == e.hostname && p::launcherIdOf(e.parent)) launcher = e.parent;
      for (const auto& [id, l] : entries_)
        if (launcher.empty() && l.kind == FleetEntryKind::Launcher && l.hostname == i->hostname) launcher = id;
      d.hosts.push_back({i->hostname, i->pid, launcher});
    }
    return d;
  }
  if (const auto& r = e.lastDuplicate) {
    const bool restartedSince =
        (e.lastStart && e.lastStart->time > r->time) || (e.lastStop && e.lastStop->time > r->time);
    if (!restartedSince && liveness(e, now) == HeartbeatLiveness::Alive && r->hosts.size() >= 2) {
      FleetDuplicate d{.observed = false, .hosts = r->hosts};  // each supervisor lists its own host first
      std::sort(d.hosts.begin(), d.hosts.end(), [](const p::DuplicateHost& a, const p::DuplicateHost& b) {
        return std::tie(a.hostname, a.pid) < std::tie(b.hostname, b.pid);
      });
      return d;
    }
  }
  return std::nullopt;
}

bool FleetView::onHosts(const FleetEntry& e, const std::vector<std::string>& hosts) const {
  if (hosts.empty()) return true;
  const FleetEntry* launcher = e.kind == FleetEntryKind::Launcher ? &e : nullptr;
  if (launcher == nullptr && !e.parent.empty()) {
    launcher = find(e.parent);
    // A sub-entity's parent is its service; that service's parent is the launcher.
    if (launcher != nullptr && launcher->kind != FleetEntryKind::Launcher && !launcher->parent.empty())
      launcher = find(launcher->parent);
  }
  for (const auto& h : hosts) {
    const std::string want = lower(h);
    if (want.empty()) continue;
    if (hostMatches(want, e.hostname)) return true;
    if (e.kind == FleetEntryKind::Launcher && launcherMatches(want, e.id)) return true;
    if (launcherMatches(want, e.parent)) return true;
    if (launcher != nullptr && (launcherMatches(want, launcher->id) || hostMatches(want, launcher->hostname)))
      return true;
  }
  return false;
}

bool FleetView::visible(const FleetEntry& e, p::Timestamp now, bool all) const noexcept {
  const bool isFresh = fresh(e, now);
  if (all) return e.declared() || isFresh;  // hides only old ephemeral entries
  // The client keeps running entries and fresh, unstopped error/failed ones; the display then
  // drops running ephemeral entries without a heartbeat for a day ("zombies").
  if (e.running()) return isFresh || e.declared();
  return isFresh && !e.stoppedAt && isErrorish(e.status);
}

FleetListing FleetView::list(p::Timestamp now, const FleetQuery& query) const {
  return list(now, query, {});
}

FleetListing FleetView::list(p::Timestamp now, const FleetQuery& query, const std::vector<std::string>& hosts) const {
  FleetListing out;
  out.filter = query.filter;
  out.all = query.all;

  const std::string needle = lower(query.filter);
  std::vector<const FleetEntry*> shown;  // sorted by id (the map's order)
  for (const auto& [id, e] : entries_)
    if (visible(e, now, query.all) && (needle.empty() || lower(id).find(needle) != std::string::npos) &&
        onHosts(e, hosts))
      shown.push_back(&e);

  out.listedCount = shown.size();
  out.runningCount = static_cast<std::size_t>(
      std::count_if(shown.begin(), shown.end(), [](const FleetEntry* e) { return e->running(); }));
  std::set<std::string_view> shownIds;
  std::map<std::string_view, std::vector<const FleetEntry*>> children;
  for (const auto* e : shown) shownIds.insert(e->id);
  for (const auto* e : shown)
    if (!e->parent.empty()) children[e->parent].push_back(e);

  std::set<std::string_view> done;
  const std::function<void(const FleetEntry*, int, bool)> emit = [&](const FleetEntry* e, int depth, bool subtree) {
    if (!done.insert(e->id).second) return;  // cycle guard
    FleetRow row;
    row.entry = e;
    row.depth = depth;
    row.running = e->running();
    row.heartbeat = liveness(*e, now);
    row.symbol = symbol(*e, now);
    row.showHeart =
        row.running && (row.heartbeat == HeartbeatLiveness::Alive || row.heartbeat == HeartbeatLiveness::Stale);
    if (row.running) row.uptime = uptime(*e, now);
    row.restart = restartState(*e);
    row.crashedRecently = crashedRecently(*e, now);
    if (e->kind == FleetEntryKind::Service) row.duplicate = duplicate(*e, now);
    out.rows.push_back(row);
    if (!subtree) return;
    if (const auto it = children.find(e->id); it != children.end())
      for (const auto* c : it->second) emit(c, depth + 1, true);
  };

  for (const auto* e : shown)
    if (e->parent.empty()) emit(e, 0, true);
  // Orphans: their parent is not displayed. Upstream prints them flat and drops their children.
  for (const auto* e : shown)
    if (!e->parent.empty() && !shownIds.contains(e->parent)) emit(e, 0, !rules_.dropOrphanChildren);
  // What is left sits in a parent cycle; upstream never reaches it, tcs prints it.
  if (!rules_.dropOrphanChildren)
    for (const auto* e : shown) emit(e, 0, true);
  return out;
}

}  // namespace tcs
