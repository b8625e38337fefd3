// SPDX-License-Identifier: MIT
// The control client (tcs/control.hpp): snapshots from JetStream and live messages into a
// FleetView, follow mode, and the supervisor RPC.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "tcs/control.hpp"
#include "tcs/log.hpp"

namespace tcs::control {

namespace p = protocol;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

ControlError::ControlError(Kind kind, std::string code, const std::string& message)
    : Error(message), kind_(kind), code_(std::move(code)) {}
ControlError::Kind ControlError::kind() const noexcept {
  return kind_;
}
const std::string& ControlError::code() const noexcept {
  return code_;
}

namespace {

constexpr std::string_view kLauncherPrefix = "launcher.";

/// The three subject trees a fleet view is made of, in the order a snapshot reads them
/// (registry first, as upstream does; the view does not depend on the order).
std::vector<std::string> fleetFilters(std::string_view prefix) {
  return {p::subjectFilter(prefix, p::SubjectKind::Registry), p::subjectFilter(prefix, p::SubjectKind::Status),
          p::subjectFilter(prefix, p::SubjectKind::Heartbeat)};
}

std::string seconds(milliseconds d) {
  return d.count() % 1000 == 0 ? fmt::format("{} s", d.count() / 1000) : fmt::format("{:.1f} s", d.count() / 1000.0);
}

/// What a change of one message means for follow-mode callbacks.
enum class Change { Update, Start, Stop };

Change changeOf(std::string_view prefix, std::string_view subject, std::string* id) {
  try {
    const auto s = p::parseSubject(prefix, subject);
    *id = s.name;
    if (s.kind != p::SubjectKind::Registry) return Change::Update;
    const auto event = p::parseRegistryEventType(s.event);
    if (event == p::RegistryEventType::Start) return Change::Start;
    if (event == p::RegistryEventType::Stop || event == p::RegistryEventType::Crashed ||
        event == p::RegistryEventType::Failed)
      return Change::Stop;
  } catch (const ProtocolError&) {
  }
  return Change::Update;
}

/// Live messages received while a snapshot is read, applied after the stored ones.
struct LiveBuffer {
  struct Item {
    std::string subject, body;
    p::Timestamp at;
  };
  std::mutex mutex;
  std::vector<Item> items;
  void add(const NatsMessage& m) {
    std::lock_guard lock(mutex);
    items.push_back({m.subject, m.data, p::now()});
  }
};

std::string stripLauncher(std::string_view name) {
  return std::string{name.starts_with(kLauncherPrefix) ? name.substr(kLauncherPrefix.size()) : name};
}

}  // namespace

// =================================================================================================

struct TCS_LOCAL ServiceControlClient::Impl {
  Impl(NatsConnection& n, std::string p, FleetRules r) : nats(n), prefix(std::move(p)), rules(r) {}

  /// Reads the stored messages of the three streams into @p snap (its view may hold messages
  /// already: the view keeps the newest of each fact). @p apply is called for every message.
  void readStored(Snapshot& snap, const SnapshotOptions& options,
                  const std::function<void(std::string_view, std::string_view)>& apply) const;
  Snapshot take(const SnapshotOptions& options) const;

  // Follow mode.
  void onMessage(std::string_view subject, std::string_view body, p::Timestamp at);
  void resync(const SnapshotOptions& options);
  void tickLoop();
  void notify(const std::vector<std::pair<Change, FleetEntry>>& changes);

  NatsMessage call(const std::string& launcher, const std::string& subject, milliseconds timeout,
                   const std::string& body = {}) const;
  template <class Reply>
  Reply decodeReply(const std::string& launcher, const NatsMessage& reply) const;
  p::LauncherActionReply act(std::string_view command, const std::string& launcher, std::string_view serviceId,
                             milliseconds timeout) const;

  NatsConnection& nats;
  std::string prefix;
  FleetRules rules;

  mutable std::mutex mutex;  // current, following
  std::optional<Snapshot> current;
  std::map<std::string, HeartbeatLiveness, std::less<>> liveness;  // as last reported, by id
  std::mutex callbackMutex;                                        // one callback at a time
  FollowCallbacks callbacks;
  FollowOptions followOptions;
  std::vector<NatsSubscription> subscriptions;
  std::thread ticker;
  std::condition_variable tickerWake;
  bool tickerStop = false;
  std::uint64_t reconnectsSeen = 0;
};

void ServiceControlClient::Impl::readStored(
    Snapshot& snap, const SnapshotOptions& options,
    const std::function<void(std::string_view, std::string_view)>& apply) const {
  const auto deadline = Clock::now() + options.timeout;
  const auto left = [&] {
    return std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
  };
  JetStreamReader reader(nats);
  snap.streams.clear();
  const auto violationsBefore = nats.permissionViolations();
  // A read the user's permissions forbid ends in the server's -ERR and a time-out: say which.
  const auto refused = [&]() -> std::optional<std::string> {
    if (nats.permissionViolations() == violationsBefore) return std::nullopt;
    return fmt::format(
        "not permitted to read JetStream: {} (the NATS user's permissions; a viewer needs the $JS.API requests of "
        "doc/security.md): only live messages are shown",
        nats.lastPermissionViolation());
  };
  // The whole budget: a cluster electing its JetStream meta leader answers nothing for seconds
  // (probe() asks again meanwhile); a server without JetStream says so at once.
  const auto probe = reader.probe(left());
  snap.jetstream = probe.state == JetStreamState::Available;
  if (!nats.connected()) {
    snap.notes.push_back(
        fmt::format("not connected to NATS ({}): nothing could be read", fmt::join(nats.servers(), ", ")));
    return;
  }
  if (!snap.jetstream && refused()) {
    snap.notes.push_back(*refused());
    return;
  }
  if (probe.state == JetStreamState::NoAnswer || probe.state == JetStreamState::Unavailable) {
    snap.notes.push_back(fmt::format("{}: only live messages are shown", probe.error));
    return;
  }
  if (!snap.jetstream) {
    snap.notes.push_back(
        "JetStream is not enabled on the server: only live messages are shown (a service appears at its next "
        "heartbeat; crashes and stops before now are not known)");
    return;
  }
  for (const auto& filter : fleetFilters(prefix)) {
    StreamReport report;
    report.filter = filter;
    report.read = reader.lastPerSubject(filter, left(), [&](std::string_view subject, std::string_view body) {
      apply(subject, body);
      ++snap.storedMessages;
    });
    switch (report.read.outcome) {
      case StreamReadOutcome::Read: break;
      case StreamReadOutcome::NoStream:
        snap.notes.push_back(fmt::format("no JetStream stream stores {}: only its live messages are shown", filter));
        break;
      default:
        if (const auto why = refused()) {
          snap.notes.push_back(*why);
          snap.streams.push_back(std::move(report));
          return;
        }
        snap.notes.push_back(report.read.error);
        break;
    }
    snap.streams.push_back(std::move(report));
  }
}

Snapshot ServiceControlClient::Impl::take(const SnapshotOptions& options) const {
  Snapshot snap;
  snap.view = FleetView(rules, prefix);
  LiveBuffer live;
  std::vector<NatsSubscription> subs;
  const auto started = Clock::now();
  if (nats.connected()) {
    for (const auto& filter : fleetFilters(prefix))
      subs.push_back(nats.subscribe(filter, [&live](const NatsMessage& m) { live.add(m); }));
    (void)nats.flush(std::min(options.timeout, milliseconds(std::chrono::seconds(2))));  // the server has the SUBs
  }
  const auto readAt = p::now();
  if (options.readStored) {
    readStored(snap, options,
               [&](std::string_view subject, std::string_view body) { (void)snap.view.apply(subject, body, readAt); });
  } else {
    snap.notes.push_back("stored messages not read: only live messages are shown");
  }
  const bool complete = snap.jetstream && std::all_of(snap.streams.begin(), snap.streams.end(), [](const auto& s) {
                          return s.read.outcome == StreamReadOutcome::Read;
                        });
  if (!complete && nats.connected() && options.liveWindow.count() > 0) {
    const auto until = started + options.liveWindow;
    if (Clock::now() < until) std::this_thread::sleep_until(until);  // collecting live messages: the wait is the point
    snap.notes.push_back(fmt::format("listened to live messages for {}", seconds(options.liveWindow)));
  }
  for (auto& s : subs) s.unsubscribe();
  for (const auto& m : live.items) (void)snap.view.apply(m.subject, m.body, m.at);
  snap.liveMessages = live.items.size();
  snap.takenAt = p::now();
  return snap;
}

// ---- follow --------------------------------------------------------------------------------------

void ServiceControlClient::Impl::notify(const std::vector<std::pair<Change, FleetEntry>>& changes) {
  for (const auto& [change, entry] : changes) {
    try {
      if (change == Change::Start && callbacks.start) callbacks.start(entry);
      if (change == Change::Stop && callbacks.stop) callbacks.stop(entry);
      if (callbacks.update) callbacks.update(entry);
    } catch (const std::exception& e) {
      log::warning("control client: a follow callback threw: {}", e.what());
    }
  }
}

void ServiceControlClient::Impl::onMessage(std::string_view subject, std::string_view body, p::Timestamp at) {
  std::lock_guard serial(callbackMutex);
  std::vector<std::pair<Change, FleetEntry>> changes;
  {
    std::lock_guard lock(mutex);
    if (!current) return;
    if (current->view.apply(subject, body, at) != ApplyOutcome::Applied) return;
    ++current->liveMessages;
    std::string id;
    const auto change = changeOf(prefix, subject, &id);
    if (const auto* e = current->view.find(id)) {
      liveness[e->id] = current->view.liveness(*e, p::now());
      changes.emplace_back(change, *e);
    }
  }
  notify(changes);
}

void ServiceControlClient::Impl::resync(const SnapshotOptions& options) {
  Snapshot meta;
  meta.view = FleetView(rules, prefix);
  const auto readAt = p::now();
  readStored(meta, options, [&](std::string_view subject, std::string_view body) { onMessage(subject, body, readAt); });
  {
    std::lock_guard lock(mutex);
    if (!current) return;
    current->jetstream = meta.jetstream;
    current->streams = std::move(meta.streams);
    current->storedMessages += meta.storedMessages;
    current->notes = std::move(meta.notes);
    current->takenAt = p::now();
  }
  std::lock_guard serial(callbackMutex);
  try {
    if (callbacks.resynced) callbacks.resynced();
  } catch (const std::exception& e) {
    log::warning("control client: the resynced callback threw: {}", e.what());
  }
}

void ServiceControlClient::Impl::tickLoop() {
  std::unique_lock lock(mutex);
  while (!tickerStop) {
    tickerWake.wait_for(lock, followOptions.tick, [&] { return tickerStop; });
    if (tickerStop || !current) break;
    const auto now = p::now();
    current->takenAt = now;
    std::vector<std::pair<Change, FleetEntry>> aged;
    for (const auto& [id, e] : current->view.entries()) {
      const auto l = current->view.liveness(e, now);
      auto& known = liveness[id];
      if (known != l) {
        known = l;
        aged.emplace_back(Change::Update, e);
      }
    }
    const auto reconnects = nats.stats().reconnects;
    const bool reread = reconnects != reconnectsSeen;
    reconnectsSeen = reconnects;
    lock.unlock();
    if (!aged.empty()) {
      std::lock_guard serial(callbackMutex);
      notify(aged);
    }
    if (reread) {
      log::info("control client: NATS reconnected, reading the stored messages again");
      resync(followOptions.snapshot);
    }
    lock.lock();
  }
}

// ---- control -------------------------------------------------------------------------------------

NatsMessage ServiceControlClient::Impl::call(const std::string& launcher, const std::string& subject,
                                             milliseconds timeout, const std::string& body) const {
  try {
    return nats.request(
        subject, body.empty() ? p::encode(p::RpcRequest{}, p::processMetaGenerator().next(p::kMessageTypeRpc)) : body,
        timeout);
  } catch (const NatsError& e) {
    switch (e.kind()) {
      case NatsError::Kind::NoResponders:
        throw ControlError(
            ControlError::Kind::Unreachable, "",
            fmt::format("no supervisor answers for {} ({}): is its tcs-supervisor running?", launcher, subject));
      case NatsError::Kind::NotPermitted:
        throw ControlError(ControlError::Kind::NotPermitted, "",
                           fmt::format("{} (the NATS server refused it: are these a viewer's credentials? control "
                                       "verbs need an operator's)",
                                       e.what()));
      case NatsError::Kind::Timeout:
        throw ControlError(ControlError::Kind::Unreachable, "",
                           fmt::format("{} did not answer within {} ({})", launcher, seconds(timeout), subject));
      default:
        throw ControlError(ControlError::Kind::Unreachable, "",
                           fmt::format("cannot ask {} ({}): {}", launcher, subject, e.what()));
    }
  }
}

template <class Reply>
Reply ServiceControlClient::Impl::decodeReply(const std::string& launcher, const NatsMessage& reply) const {
  try {
    if (p::isErrorReply(reply.data)) {
      auto err = p::decode<p::ErrorReply>(reply.data).data;
      throw ControlError(ControlError::Kind::Refused, err.error,
                         fmt::format("{} refused ({}): {}", launcher, err.error, err.message));
    }
    return p::decode<Reply>(reply.data).data;
  } catch (const ProtocolError& e) {
    throw ControlError(ControlError::Kind::BadReply, "",
                       fmt::format("{} sent a malformed reply: {}", launcher, e.what()));
  }
}

p::LauncherActionReply ServiceControlClient::Impl::act(std::string_view command, const std::string& launcher,
                                                       std::string_view serviceId, milliseconds timeout) const {
  // `<P>.rpc.launcher.<id>.v1.<command>.<service_id>` (doc/supervisor.md)
  const auto cmd = p::parseRpcCommand(command);
  const auto subject = p::rpcSubject(prefix, launcher, cmd.value(), serviceId);
  return decodeReply<p::LauncherActionReply>(launcher, call(launcher, subject, timeout));
}

// =================================================================================================

ServiceControlClient::ServiceControlClient(NatsConnection& nats, std::string prefix, FleetRules rules)
    : impl_(std::make_unique<Impl>(nats, std::move(prefix), rules)) {
  (void)p::subjectFilter(impl_->prefix, p::SubjectKind::Status);  // throws ProtocolError for a bad prefix
}

ServiceControlClient::~ServiceControlClient() {
  stopFollowing();
}

const std::string& ServiceControlClient::prefix() const noexcept {
  return impl_->prefix;
}

Snapshot ServiceControlClient::snapshot(const SnapshotOptions& options) const {
  return impl_->take(options);
}

std::vector<FleetEntry> ServiceControlClient::listServices(bool includeStopped, const SnapshotOptions& options) const {
  const auto snap = snapshot(options);
  std::vector<FleetEntry> out;
  for (const auto& row : snap.view.list(snap.takenAt, {.all = includeStopped, .filter = {}}).rows)
    out.push_back(*row.entry);
  return out;
}

std::optional<FleetEntry> ServiceControlClient::getService(std::string_view id, const SnapshotOptions& options) const {
  const auto snap = snapshot(options);
  if (const auto* e = snap.view.find(id)) return *e;
  return std::nullopt;
}

std::vector<HostInfo> ServiceControlClient::hosts(const Snapshot& snapshot) {
  std::vector<HostInfo> out;
  const auto& view = snapshot.view;
  for (const auto& [id, e] : view.entries()) {
    if (e.kind != FleetEntryKind::Launcher) continue;
    HostInfo h;
    h.launcherId = stripLauncher(id);
    h.entry = e;
    h.liveness = view.liveness(e, snapshot.takenAt);
    for (const auto& [_, s] : view.entries()) {
      if (s.parent != id) continue;
      ++h.services;
      if (s.running()) ++h.running;
    }
    out.push_back(std::move(h));
  }
  return out;
}

void ServiceControlClient::startFollowing(FollowCallbacks callbacks, FollowOptions options) {
  auto& d = *impl_;
  {
    std::lock_guard lock(d.mutex);
    if (d.current) throw Error("the control client is already following");
    d.current.emplace();
    d.current->view = FleetView(d.rules, d.prefix);
    d.liveness.clear();
    d.tickerStop = false;
  }
  {
    std::lock_guard serial(d.callbackMutex);
    d.callbacks = std::move(callbacks);
    d.followOptions = options;
  }
  d.reconnectsSeen = d.nats.stats().reconnects;
  try {
    for (const auto& filter : fleetFilters(d.prefix))
      d.subscriptions.push_back(
          d.nats.subscribe(filter, [&d](const NatsMessage& m) { d.onMessage(m.subject, m.data, p::now()); }));
    (void)d.nats.flush(std::min(options.snapshot.timeout, milliseconds(std::chrono::seconds(2))));
  } catch (...) {
    stopFollowing();
    throw;
  }
  d.resync(options.snapshot);
  d.ticker = std::thread([&d] { d.tickLoop(); });
}

void ServiceControlClient::stopFollowing() {
  auto& d = *impl_;
  for (auto& s : d.subscriptions) s.unsubscribe();
  d.subscriptions.clear();
  {
    std::lock_guard lock(d.mutex);
    d.tickerStop = true;
  }
  d.tickerWake.notify_all();
  if (d.ticker.joinable()) d.ticker.join();
  std::lock_guard lock(d.mutex);
  d.current.reset();
}

bool ServiceControlClient::following() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->current.has_value();
}

void ServiceControlClient::withCurrent(const std::function<void(const Snapshot&)>& fn) const {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->current) throw Error("the control client is not following (call startFollowing() first)");
  fn(*impl_->current);
}

std::vector<FleetEntry> ServiceControlClient::currentServices(bool includeStopped) const {
  std::lock_guard lock(impl_->mutex);
  std::vector<FleetEntry> out;
  if (!impl_->current) {
    log::warning("control client: currentServices() without following: nothing to list");
    return out;
  }
  const auto& view = impl_->current->view;
  for (const auto& row : view.list(p::now(), {.all = includeStopped, .filter = {}}).rows) out.push_back(*row.entry);
  return out;
}

std::optional<FleetEntry> ServiceControlClient::currentService(std::string_view id) const {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->current) return std::nullopt;
  if (const auto* e = impl_->current->view.find(id)) return *e;
  return std::nullopt;
}

std::pair<std::string, std::string> ServiceControlClient::splitQualifiedId(std::string_view serviceId) {
  const auto colon = serviceId.find(':');
  if (colon == std::string_view::npos) return {std::string{}, std::string{serviceId}};
  return {std::string{serviceId.substr(0, colon)}, std::string{serviceId.substr(colon + 1)}};
}

namespace {

std::string lowerCase(std::string_view s) {
  std::string out{s};
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// The launcher `launcher.<id>` of @p host (its id, `launcher.<id>`, or its short or full hostname).
std::optional<std::string> launcherOfHost(const FleetView& view, std::string_view host) {
  const std::string want = lowerCase(host);
  for (const auto& [id, e] : view.entries()) {
    if (e.kind != FleetEntryKind::Launcher) continue;
    const std::string h = lowerCase(e.hostname);
    if (lowerCase(id) == want || lowerCase(stripLauncher(id)) == want || (!h.empty() && h == want) ||
        (!h.empty() && h.substr(0, h.find('.')) == want))
      return id;
  }
  return std::nullopt;
}

/// What to call a launcher for people: its host's short name, else its id.
std::string hostNameOf(const FleetView& view, const std::string& launcher) {
  if (const auto* e = view.find(launcher); e != nullptr && !e->hostname.empty())
    return e->hostname.substr(0, e->hostname.find('.'));
  return stripLauncher(launcher);
}

}  // namespace

std::string ServiceControlClient::launcherOf(std::string_view serviceId) const {
  const auto [host, id] = splitQualifiedId(serviceId);
  Snapshot snap;
  if (following()) {
    std::lock_guard lock(impl_->mutex);
    if (impl_->current) snap = *impl_->current;
  } else {
    snap = snapshot();
  }
  const FleetView& view = snap.view;
  if (!host.empty()) {
    if (auto l = launcherOfHost(view, host)) return *l;
    throw ControlError(
        ControlError::Kind::NotFound, "",
        fmt::format("no launcher for host '{}' in the fleet (prefix '{}'): see tcsctl hosts", host, impl_->prefix));
  }
  const FleetEntry* e = view.find(id);
  if (e != nullptr && e->kind == FleetEntryKind::Launcher)
    throw ControlError(ControlError::Kind::NoLauncher, "",
                       fmt::format("'{}' is a launcher, not a service it manages", id));

  std::vector<std::string> candidates;
  const auto add = [&](const std::string& l) {
    if (l.starts_with(kLauncherPrefix) && std::find(candidates.begin(), candidates.end(), l) == candidates.end())
      candidates.push_back(l);
  };
  if (e != nullptr) {
    add(e->parent);
    if (const auto d = view.duplicate(*e, snap.takenAt))
      for (const auto& h : d->hosts) {
        if (!h.launcher.empty())
          add(h.launcher);
        else if (auto l = launcherOfHost(view, h.hostname))
          add(*l);
      }
  }
  // Configured elsewhere too? Each live supervisor knows its own services (`v1.list`).
  std::vector<std::string> live;
  for (const auto& h : hosts(snap))
    if (h.liveness == HeartbeatLiveness::Alive) live.push_back(h.entry.id);
  if (live.size() > 1 || (e == nullptr && !live.empty())) {
    for (const auto& l : live) {
      if (std::find(candidates.begin(), candidates.end(), l) != candidates.end()) continue;
      try {
        const auto reply =
            impl_->call(l, p::rpcSubject(impl_->prefix, l, p::RpcCommand::List), std::chrono::seconds(1));
        const auto r = impl_->decodeReply<p::LauncherListReply>(l, reply);
        if (std::any_of(r.services.begin(), r.services.end(),
                        [&](const p::LauncherServiceEntry& u) { return u.serviceId == id; }))
          add(l);
      } catch (const ControlError& err) {
        log::info("control client: {} did not list its services: {}", l, err.what());
      }
    }
  }
  if (candidates.size() > 1) {
    std::sort(candidates.begin(), candidates.end());
    std::vector<std::string> names;
    for (const auto& c : candidates) names.push_back(hostNameOf(view, c));
    const auto count = candidates.size() == 2 ? std::string{"two"} : std::to_string(candidates.size());
    throw ControlError(
        ControlError::Kind::Ambiguous, "",
        fmt::format("{} is on {} hosts ({}): say {}:{}", id, count, fmt::join(names, ", "), names.front(), id));
  }
  if (candidates.size() == 1) return candidates.front();
  if (e == nullptr)
    throw ControlError(ControlError::Kind::NotFound, "",
                       fmt::format("no service '{}' in the fleet (prefix '{}'): not declared, started or reporting", id,
                                   impl_->prefix));
  throw ControlError(ControlError::Kind::NoLauncher, "",
                     fmt::format("'{}' is not managed by a tcs supervisor (no launcher parent{}): it cannot be "
                                 "controlled remotely",
                                 id, e->parent.empty() ? "" : fmt::format(", its parent is '{}'", e->parent)));
}

p::LauncherActionReply ServiceControlClient::start(std::string_view serviceId, milliseconds timeout) {
  return impl_->act("start", launcherOf(serviceId), splitQualifiedId(serviceId).second, timeout);
}
p::LauncherActionReply ServiceControlClient::stop(std::string_view serviceId, milliseconds timeout) {
  return impl_->act("stop", launcherOf(serviceId), splitQualifiedId(serviceId).second, timeout);
}
p::LauncherActionReply ServiceControlClient::restart(std::string_view serviceId, milliseconds timeout) {
  return impl_->act("restart", launcherOf(serviceId), splitQualifiedId(serviceId).second, timeout);
}
p::LauncherActionReply ServiceControlClient::resetFailed(std::string_view serviceId, milliseconds timeout) {
  return impl_->act("reset-failed", launcherOf(serviceId), splitQualifiedId(serviceId).second, timeout);
}

p::LauncherReloadReply ServiceControlClient::reload(std::string_view launcherId, milliseconds timeout) {
  const auto launcher = fmt::format("{}{}", kLauncherPrefix, stripLauncher(launcherId));
  const auto reply = impl_->call(launcher, p::rpcSubject(impl_->prefix, launcher, p::RpcCommand::Reload), timeout);
  return impl_->decodeReply<p::LauncherReloadReply>(launcher, reply);
}

p::LogsReply ServiceControlClient::logs(std::string_view serviceId, const p::LogsRequest& request,
                                        milliseconds timeout) {
  const auto launcher = launcherOf(serviceId);
  const auto subject = p::rpcSubject(impl_->prefix, launcher, p::RpcCommand::Logs, splitQualifiedId(serviceId).second);
  const auto body = p::encode(request, p::processMetaGenerator().next(p::kMessageTypeRpc));
  return impl_->decodeReply<p::LogsReply>(launcher, impl_->call(launcher, subject, timeout, body));
}

p::LauncherListReply ServiceControlClient::units(std::string_view launcherId, milliseconds timeout) {
  const auto launcher = fmt::format("{}{}", kLauncherPrefix, stripLauncher(launcherId));
  const auto reply = impl_->call(launcher, p::rpcSubject(impl_->prefix, launcher, p::RpcCommand::List), timeout);
  return impl_->decodeReply<p::LauncherListReply>(launcher, reply);
}

}  // namespace tcs::control
