// SPDX-License-Identifier: MIT
#include "supervisor.hpp"

#include <algorithm>
#include <tuple>

#include "tcs/error.hpp"
#include "tcs/log.hpp"
#include "tcs/unit_name.hpp"

namespace tcs::supervisor {
namespace p = tcs::protocol;

namespace {
// The list reply's word for a unit state.
std::string stateWord(const UnitSnapshot& s) {
  if (s.activeState == "active" || s.activeState == "reloading") return "running";
  if (s.activeState == "activating") return s.subState == "auto-restart" ? "restarting" : "starting";
  if (s.activeState == "deactivating") return "stopping";
  if (s.activeState == "failed") return "failed";
  if (s.activeState.empty()) return "unknown";
  return "stopped";
}

constexpr std::size_t kJobResultsKept = 256;
constexpr std::size_t kRpcWorkers = 4;  // requests answered at the same time
// … of which at most these wait for systemd jobs: one worker is always free for `list`, `logs`
// and `reset-failed`, whatever the start/stop load (a list behind four start jobs waited
// 250–410 ms p50 under bench/rpc_load_bench.sh, 12–17 ms without them).
constexpr std::size_t kRpcJobWorkers = kRpcWorkers - 1;
constexpr std::size_t kRpcQueued = 64;  // requests waiting beyond those; more are refused
}  // namespace

std::vector<StreamSpec> protocolStreams(const SupervisorOptions& options, std::string_view prefix) {
  using namespace std::chrono;
  return {
      {options.registryStream, p::subjectFilter(prefix, p::SubjectKind::Registry), seconds(0), std::int64_t{256} << 20,
       100},
      {options.statusStream, p::subjectFilter(prefix, p::SubjectKind::Status), duration_cast<seconds>(days(30)),
       std::int64_t{500} << 20, -1},
      {options.heartbeatStream, p::subjectFilter(prefix, p::SubjectKind::Heartbeat), duration_cast<seconds>(days(1)),
       std::int64_t{100} << 20, -1},
  };
}

namespace {
// Whether two nats: sections connect the same way. `required` is left out: the supervisor
// never waits for NATS, whatever the file says.
bool sameConnection(const config::NatsConfig& a, const config::NatsConfig& b) {
  const auto fields = [](const config::NatsConfig& n) {
    return std::tie(n.present, n.host, n.port, n.servers, n.subjectPrefix, n.user, n.password, n.passwordFile, n.token,
                    n.tokenFile, n.credsFile, n.nkeySeedFile, n.tlsCa, n.tlsCert, n.tlsKey, n.streamReplicas);
  };
  return fields(a) == fields(b);
}

std::string errorReply(std::string_view code, std::string message) {
  return p::encode(p::ErrorReply{std::string(code), std::move(message)},
                   p::processMetaGenerator().next(p::kMessageTypeRpc));
}
}  // namespace

Supervisor::Supervisor(SupervisorOptions options, ISystemdManager& systemd, INatsTransport* nats, IJournal* journal)
    : options_(std::move(options)), systemd_(systemd), nats_(nats), journal_(journal) {
  if (options_.hostname.empty()) options_.hostname = unit_name::hostName();
  if (options_.launcherId.empty()) options_.launcherId = unit_name::launcherId(options_.hostname);
  applyConfig(readConfig(nullptr), /*initial=*/true);
  MonitorOptions mo;
  mo.name = p::launcherName(options_.launcherId);
  mo.subjectPrefix = prefix_;
  mo.heartbeatInterval = options_.heartbeatInterval;
  mo.serveRpc = false;              // the launcher RPC is ours
  mo.hostname = options_.hostname;  // the launcher reports the host it supervises
  monitor_ = std::make_unique<Monitor>(mo, nats_);
  monitor_->setStatus(Status::Startup, "Launcher starting");
}

Supervisor::~Supervisor() {
  stop();
}

std::string Supervisor::launcherName() const {
  return p::launcherName(options_.launcherId);
}

config::LoadResult Supervisor::readConfig(std::vector<std::string>* errors) const {
  config::LoadOptions lo;
  auto loaded = config::load(options_.configPath, lo);  // ConfigError when unreadable/unparsable
  for (const auto& d : loaded.diagnostics) {
    if (d.severity == config::Diagnostic::Severity::Error) {
      log::error("{}", d.format());
      if (errors) errors->push_back(d.format());
    } else {
      log::warning("{}", d.format());
    }
  }
  return loaded;
}

void Supervisor::applyConfig(config::LoadResult loaded, bool initial) {
  std::lock_guard lock(mutex_);
  if (initial) {
    // What the connection was really made from (the file may have changed since main read it:
    // a config written while the supervisor started, found by the chaos soak).
    natsAtStart_ = options_.natsConnectedWith.value_or(loaded.config.nats());
    prefix_ = natsAtStart_.subjectPrefix;
    streamReplicas_ = natsAtStart_.streamReplicas;
    if (!sameConnection(loaded.config.nats(), natsAtStart_))
      log::warning(
          "{}: the nats: section changed while the supervisor started; it keeps the NATS connection "
          "it made from the earlier version until it restarts: systemctl restart tcs-supervisor",
          options_.configPath.string());
  }
  for (const auto& svc : loaded.config.services()) {
    auto it = services_.find(svc.id());
    if (it == services_.end()) {
      ConfiguredService s;
      s.unit = svc.unitName();
      s.tracker =
          std::make_unique<UnitTracker>(TrackedService::fromConfig(svc, options_.launcherId, options_.hostname));
      s.enabled = svc.enabled;
      byUnit_[s.unit] = svc.id();
      services_.emplace(svc.id(), std::move(s));
    } else {
      // Known already: the tracker keeps the unit's state and takes the new restart settings.
      it->second.enabled = svc.enabled;
      it->second.tracker->setService(TrackedService::fromConfig(svc, options_.launcherId, options_.hostname));
    }
  }
  // Services removed from the config are forgotten: no longer tracked, declared or
  // controlled (their units, if still running, are systemd's business).
  for (auto it = services_.begin(); it != services_.end();) {
    if (!loaded.config.findById(it->first)) {
      log::info("{} is no longer configured: not controlled any more", it->first);
      byUnit_.erase(it->second.unit);
      it = services_.erase(it);
    } else {
      ++it;
    }
  }
  config_ = std::move(loaded.config);
}

void Supervisor::start() {
  SystemdCallbacks cb;
  cb.propertiesChanged = [this](const PropertyChange& c) { onProperties(c); };
  cb.jobRemoved = [this](const JobRemoved& j) { onJobRemoved(j); };
  cb.unitNew = [this](const UnitSignal& u) { onUnitNew(u); };
  cb.busLost = [this](const std::string& why) {
    log::error("lost the connection to systemd's bus: {}; reconnecting", why);
    {
      std::lock_guard lock(mutex_);
      busLost_ = true;
    }
    updateMonitorStatus();
    if (options_.wake) options_.wake();
  };
  systemd_.setCallbacks(std::move(cb));
  systemd_.subscribe();
  seedAll();
  declareAll();
  {
    std::lock_guard lock(mutex_);
    started_ = true;
  }
  updateMonitorStatus();
  monitor_->start();
  if (nats_) {
    // Requests are answered by a few workers, so a start waiting for its job (up to
    // jobTimeout) does not hold up another unit's stop; and since at most kRpcJobWorkers of
    // them wait for jobs, never a `list`.
    for (std::size_t i = 0; i < kRpcWorkers; ++i) rpcWorkers_.emplace_back([this] { rpcWorker(); });
    rpc_ = nats_->subscribe(p::rpcFilter(prefix_, launcherName()), [this](const NatsMessage& m) {
      if (m.reply.empty()) return;  // nobody to answer
      const bool job = waitsForJob(m.subject);
      {
        std::lock_guard lock(rpcMutex_);
        if (rpcQueue_.size() < kRpcQueued && !rpcStopping_) {
          rpcQueue_.push_back({m, job});
          rpcCv_.notify_all();  // a worker that may take it (not every one may take a job)
          return;
        }
      }
      log::warning("RPC {}: too many requests in progress; refused", m.subject);
      nats_->respond(m.reply, errorReply(p::rpc_error::kInternalError,
                                         "too many requests in progress on this launcher; try again"));
    });
  }
  watchDuplicates();
  log::info("supervising {} configured services as {} (prefix {})", serviceIds().size(), launcherName(), prefix_);
}

bool Supervisor::waitsForJob(std::string_view subject) const {
  try {
    const auto command = p::parseRpcCommand(p::parseSubject(prefix_, subject).command);
    return command && (*command == p::RpcCommand::Start || *command == p::RpcCommand::Stop ||
                       *command == p::RpcCommand::Restart || *command == p::RpcCommand::Reload);
  } catch (const std::exception&) {
    return false;  // malformed: answered at once with an error
  }
}

void Supervisor::rpcWorker() {
  for (;;) {
    QueuedRpc r;
    {
      std::unique_lock lock(rpcMutex_);
      // The oldest request this worker may take: any, unless kRpcJobWorkers already wait for
      // jobs — then the oldest that does not (the jobs keep their order among themselves).
      auto next = rpcQueue_.end();
      rpcCv_.wait(lock, [&] {
        next = std::find_if(rpcQueue_.begin(), rpcQueue_.end(),
                            [&](const QueuedRpc& q) { return !q.waitsForJob || rpcJobsInFlight_ < kRpcJobWorkers; });
        return next != rpcQueue_.end() || (rpcStopping_ && rpcQueue_.empty());
      });
      if (next == rpcQueue_.end()) return;  // stopping, nothing left
      r = std::move(*next);
      rpcQueue_.erase(next);
      if (r.waitsForJob) ++rpcJobsInFlight_;
    }
    const auto reply = handleRpc(r.message.subject, r.message.data);
    try {
      nats_->respond(r.message.reply, reply);
    } catch (const std::exception& e) {
      log::warning("RPC {}: reply not sent: {}", r.message.subject, e.what());
    }
    if (r.waitsForJob) {
      std::lock_guard lock(rpcMutex_);
      --rpcJobsInFlight_;
      rpcCv_.notify_all();  // a job request may wait for this slot
    }
  }
}

void Supervisor::watchDuplicates() {
  if (!nats_) return;
  const auto ids = serviceIds();
  // One wildcard subscription for every status, whatever the number of services: onWatched()
  // drops the subjects of services it does not supervise. (One subscription per service and kind
  // cost a nats.c delivery thread each: 415 threads with 200 services — bench/README.md.)
  // Heartbeats, ten times as many, only in windows (heartbeatWatcher()).
  NatsSubscription sub;
  bool subscribe = false;
  {
    std::lock_guard lock(duplicatesMutex_);
    subscribe = watch_.empty();
  }
  if (subscribe) {
    const auto filter = p::subjectFilter(prefix_, p::SubjectKind::Status);
    try {
      sub = nats_->subscribe(filter, [this](const NatsMessage& m) { onWatched(m); });
    } catch (const std::exception& e) {
      log::warning("cannot watch {} for duplicate instances: {}", filter, e.what());
    }
  }
  {
    std::lock_guard lock(duplicatesMutex_);
    if (!duplicates_)
      duplicates_ = std::make_unique<DuplicateDetector>(
          DuplicateDetector::Options{options_.hostname, options_.launcherId, std::chrono::seconds(30)});
    duplicates_->retain(ids);
    if (subscribe) watch_.push_back(std::move(sub));
  }
  {
    std::lock_guard lock(heartbeatMutex_);
    if (!heartbeatThread_.joinable()) heartbeatThread_ = std::thread([this] { heartbeatWatcher(); });
  }
  watchHeartbeats();  // a copy that runs already shows itself by its heartbeats only
}

void Supervisor::watchHeartbeats() {
  if (!nats_) return;
  {
    std::lock_guard lock(heartbeatMutex_);
    const auto until = std::chrono::steady_clock::now() + options_.heartbeatWatch;
    // Called for every status of a service's foreign copy: wake the thread only to open a window.
    const bool opens = heartbeatsUntil_ < std::chrono::steady_clock::now();
    heartbeatsUntil_ = std::max(heartbeatsUntil_, until);
    if (!opens) return;
  }
  heartbeatCv_.notify_all();
}

bool Supervisor::watchingHeartbeats() const {
  std::lock_guard lock(heartbeatMutex_);
  return heartbeatsHeard_;
}

void Supervisor::heartbeatWatcher() {
  const auto filter = p::subjectFilter(prefix_, p::SubjectKind::Heartbeat);
  NatsSubscription sub;
  bool heard = false;
  std::unique_lock lock(heartbeatMutex_);
  while (!heartbeatStop_) {
    const auto now = std::chrono::steady_clock::now();
    bool want = now < heartbeatsUntil_;
    if (!want) {
      lock.unlock();  // lock order: duplicatesMutex_ is never taken under heartbeatMutex_
      {
        std::lock_guard d(duplicatesMutex_);
        want = duplicates_ && duplicates_->anyConflict();  // only a message can find it over
      }
      lock.lock();
      if (heartbeatStop_) break;
    }
    if (want != heard) {
      lock.unlock();  // subscribing writes to the socket; dropping waits for a callback in flight
      bool failed = false;
      if (want) {
        try {
          sub = nats_->subscribe(filter, [this](const NatsMessage& m) { onWatched(m); });
          heard = true;
          log::debug("duplicate watch: hearing {}", filter);
        } catch (const std::exception& e) {
          log::warning("cannot watch {} for duplicate instances: {}; trying again in 5 s", filter, e.what());
          failed = true;
        }
      } else {
        sub.unsubscribe();
        heard = false;
        log::debug("duplicate watch: no longer hearing {}", filter);
      }
      lock.lock();
      heartbeatsHeard_ = heard;
      if (failed) heartbeatCv_.wait_for(lock, std::chrono::seconds(5), [&] { return heartbeatStop_; });
      continue;  // the window may have moved meanwhile
    }
    // A window: until it ends (or is extended: then woken). A conflict: look again a window later.
    const auto wakeAt = now < heartbeatsUntil_ ? heartbeatsUntil_ : now + options_.heartbeatWatch;
    heartbeatCv_.wait_until(lock, wakeAt, [&] { return heartbeatStop_ || heartbeatsUntil_ > wakeAt; });
  }
  heartbeatsHeard_ = false;
  lock.unlock();
  sub.unsubscribe();
}

void Supervisor::onWatched(const NatsMessage& m) {
  std::optional<p::RegistryEvent> event;
  bool widen = false;  // hear heartbeats: a copy that may conflict spoke, or a conflict lasts
  try {
    const auto subject = p::parseSubject(prefix_, m.subject);
    std::uint32_t mainPid = 0;
    {
      std::lock_guard lock(mutex_);
      const auto it = services_.find(subject.name);
      if (it == services_.end()) return;  // no longer configured
      mainPid = it->second.tracker->snapshot().mainPid;
    }
    const auto now = p::now();
    std::lock_guard lock(duplicatesMutex_);
    if (!duplicates_) return;
    duplicates_->local(subject.name, mainPid, now);
    if (subject.kind == p::SubjectKind::Status) {
      const auto msg = p::decode<p::StatusUpdate>(m.data);
      if (msg.data.name == subject.name) {
        event = duplicates_->status(msg.data, msg.meta.sender, now);
        // A copy here other than the unit's main process; one elsewhere while the unit runs (a
        // standby host's statuses, while its own unit is stopped, are no reason).
        widen = msg.data.hostname == options_.hostname ? msg.data.pid != std::int64_t{mainPid} : mainPid != 0;
      }
    } else if (subject.kind == p::SubjectKind::Heartbeat) {
      const auto msg = p::decode<p::Heartbeat>(m.data);
      if (msg.data.serviceId == subject.name) event = duplicates_->heartbeat(msg.data, msg.meta.sender, now);
    }
    widen = widen || duplicates_->inConflict(subject.name);
  } catch (const std::exception& e) {
    log::debug("{}: not a message to judge duplicates by: {}", m.subject, e.what());
    return;
  }
  if (widen) watchHeartbeats();
  if (!event) return;
  std::string where;
  for (const auto& h : std::get<p::DuplicateEvent>(event->specific).hosts)
    where += fmt::format("{}{} (pid {})", where.empty() ? "" : ", ", h.hostname,
                         h.pid ? std::to_string(*h.pid) : std::string{"?"});
  log::warning("{} is running twice at once: {}; a service that drives hardware must run on one host only",
               event->serviceId, where);
  publish({*event});
}

void Supervisor::stop() {
  {
    std::lock_guard lock(heartbeatMutex_);
    heartbeatStop_ = true;
  }
  heartbeatCv_.notify_all();
  if (heartbeatThread_.joinable()) heartbeatThread_.join();  // it drops its subscription
  std::vector<NatsSubscription> watched;
  {
    std::lock_guard lock(duplicatesMutex_);
    std::swap(watch_, watched);
  }
  watched.clear();  // outside the lock: a callback in flight takes it
  rpc_.unsubscribe();
  {
    std::lock_guard lock(rpcMutex_);
    rpcStopping_ = true;
  }
  rpcCv_.notify_all();
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;  // requests waiting for a job answer now
  }
  jobsDone_.notify_all();
  for (auto& t : rpcWorkers_) t.join();
  rpcWorkers_.clear();
  if (monitor_) {
    monitor_->setStatus(Status::Shutdown, "Launcher shutting down");
    monitor_->stop();
    monitor_->flush(std::chrono::seconds(2));
  }
}

void Supervisor::seedAll(bool refresh) {
  // Units already loaded: take their state silently (Origin::Snapshot seeds without events) —
  // or, for a unit already followed (refresh: after a daemon-reload), compare it with what is
  // known (Origin::Refresh): the reply may come before the signal of a change it already shows.
  std::vector<UnitListEntry> loaded;
  try {
    loaded = systemd_.listUnitsByPatterns({std::string(kTcsUnitPattern)});
  } catch (const SystemdError& e) {
    log::error("cannot list the tcs units: {}", e.what());
  }
  struct Request {
    std::string unit, path;
    PropertyChange::Origin origin;
  };
  std::vector<Request> toRequest;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, s] : services_) {
      const auto it = std::find_if(loaded.begin(), loaded.end(), [&](const auto& u) { return u.name == s.unit; });
      if (it != loaded.end())
        toRequest.push_back({it->name, it->objectPath,
                             refresh && s.tracker->runState() != UnitTracker::RunState::Unknown
                                 ? PropertyChange::Origin::Refresh
                                 : PropertyChange::Origin::Snapshot});
      else
        s.tracker->unitLoaded();  // not loaded: inactive, its first start is reported
    }
  }
  for (const auto& [unit, path, origin] : toRequest) {
    try {
      systemd_.requestUnitProperties(unit, path, origin);
    } catch (const SystemdError& e) {
      log::error("cannot read {}: {}", unit, e.what());
    }
  }
}

void Supervisor::declareAll() {
  std::vector<p::RegistryEvent> events;
  {
    std::lock_guard lock(mutex_);
    for (const auto& svc : config_.services()) {
      p::RegistryEvent e;
      e.serviceId = svc.id();
      e.timestamp = p::now();
      e.specific = p::DeclaredEvent{std::string(config::toString(svc.restart))};
      e.parent = launcherName();
      e.runnerId = p::runnerId(options_.launcherId, svc.type);
      events.push_back(std::move(e));
    }
  }
  publish(events);
}

void Supervisor::publish(const std::vector<p::RegistryEvent>& events, std::optional<p::Timestamp> received) {
  for (const auto& e : events) {
    log::info("{}: {}", e.serviceId, p::encodeData(e));
    const auto logged = p::now();
    if (nats_) {
      try {
        nats_->publishPersistent(p::registrySubject(prefix_, e.type(), e.serviceId),
                                 p::encode(e, p::processMetaGenerator().next()));
      } catch (const std::exception& ex) {
        log::error("registry event for {} not published: {}", e.serviceId, ex.what());
      }
    }
    // Where a mass start's lag goes (issue 17): the event's own timestamp (systemd's), the D-Bus
    // callback, the journal line, the hand-off to the NATS publisher; all µs since the epoch.
    if (received && log::level() <= log::Level::Debug) {
      const auto us = [](p::Timestamp t) { return t.time_since_epoch().count(); };
      log::debug("timing {} {}: ts={} received={} logged={} queued={}", p::toString(e.type()), e.serviceId,
                 us(e.timestamp), us(*received), us(logged), us(p::now()));
    }
  }
}

void Supervisor::onProperties(const PropertyChange& change) {
  const auto received = p::now();
  std::vector<p::RegistryEvent> events;
  std::string serviceId;
  std::optional<std::uint32_t> newMainPid;  // set when the unit's main PID changed
  {
    std::lock_guard lock(mutex_);
    const auto id = byUnit_.find(change.unit);
    if (id == byUnit_.end()) return;  // a tcs@ unit that is not configured: not ours
    auto& s = services_.at(id->second);
    const auto mainPid = s.tracker->snapshot().mainPid;
    events = s.tracker->update(change);
    if (s.tracker->snapshot().mainPid != mainPid) {
      serviceId = id->second;
      newMainPid = s.tracker->snapshot().mainPid;
    }
  }
  publish(events, received);  // on the D-Bus thread: in systemd's order
  if (newMainPid) {
    // The duplicate watch learns it now, not at the service's next message: a copy elsewhere
    // that speaks after this moment overlaps this unit's run.
    {
      std::lock_guard lock(duplicatesMutex_);
      if (duplicates_) duplicates_->local(serviceId, *newMainPid, received);
    }
    // A new main process: a copy elsewhere that runs already is heard by its heartbeats only.
    if (*newMainPid != 0) watchHeartbeats();
  }
  updateMonitorStatus();
}

void Supervisor::onJobRemoved(const JobRemoved& job) {
  const auto received = p::now();
  std::vector<p::RegistryEvent> events;
  {
    std::lock_guard lock(mutex_);
    // Keep the newest results (insertion order; a path-ordered eviction would drop /job/1000
    // before /job/999).
    if (jobResults_.emplace(job.job, job.result).second) jobOrder_.push_back(job.job);
    while (jobOrder_.size() > kJobResultsKept) {
      jobResults_.erase(jobOrder_.front());
      jobOrder_.pop_front();
    }
    const auto id = byUnit_.find(job.unit);
    if (id != byUnit_.end()) events = services_.at(id->second).tracker->jobRemoved(job, p::now());
  }
  jobsDone_.notify_all();
  publish(events, received);
}

void Supervisor::onUnitNew(const UnitSignal& unit) {
  std::lock_guard lock(mutex_);
  const auto id = byUnit_.find(unit.unit);
  if (id != byUnit_.end()) services_.at(id->second).tracker->unitLoaded();
}

void Supervisor::updateMonitorStatus() {
  std::size_t running = 0, failed = 0, total = 0;
  bool busLost = false;
  {
    std::lock_guard lock(mutex_);
    if (!started_) return;
    busLost = busLost_;
    for (const auto& [id, s] : services_) {
      ++total;
      const auto& snap = s.tracker->snapshot();
      if (snap.activeState == "active") ++running;
      if (snap.activeState == "failed") ++failed;
    }
  }
  if (busLost)
    monitor_->setStatus(Status::Error, "Lost the connection to systemd; reconnecting");
  else
    monitor_->setStatus(Status::Ok, fmt::format("Launcher running: {} of {} services active{}", running, total,
                                                failed ? fmt::format(", {} failed", failed) : std::string()));
}

bool Supervisor::systemdConnected() const {
  std::lock_guard lock(mutex_);
  return !busLost_;
}

void Supervisor::reconnectIfNeeded() {
  if (systemdConnected()) return;
  try {
    systemd_.reconnect();
  } catch (const SystemdError& e) {
    log::warning("systemd bus still unavailable: {}", e.what());
    return;
  }
  {
    std::lock_guard lock(mutex_);
    busLost_ = false;
  }
  log::info("reconnected to systemd; re-reading every unit");
  seedAll();
  // What happened while the bus was lost is not replayed: `declared` again marks in the registry
  // where its history resumes, as a supervisor's start does (doc/protocol.md).
  declareAll();
  updateMonitorStatus();
}

void Supervisor::redeclare() {
  declareAll();
}

std::vector<std::string> Supervisor::serviceIds() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> ids;
  for (const auto& [id, s] : services_) ids.push_back(id);
  return ids;
}

// ---- RPC -------------------------------------------------------------------------------------

std::string Supervisor::handleRpc(std::string_view subject, std::string_view body) {
  const auto meta = [] { return p::processMetaGenerator().next(p::kMessageTypeRpc); };
  try {
    const auto s = p::parseSubject(prefix_, subject);
    p::RpcRequest request;
    try {
      request = p::parseRpcRequest(body);
    } catch (const ProtocolError& e) {
      log::warning("RPC {}: malformed request: {}", subject, e.what());
      return errorReply(p::rpc_error::kBadRequest, fmt::format("malformed request: {}", e.what()));
    }
    if (s.kind != p::SubjectKind::Rpc || s.name != launcherName())
      return errorReply(p::rpc_error::kBadRequest, fmt::format("not a request for {}: {}", launcherName(), subject));
    const auto command = p::parseRpcCommand(s.command);
    const bool arity = command && (p::takesServiceId(*command) == !s.argument.empty());
    if (!command || !arity || *command == p::RpcCommand::Health || *command == p::RpcCommand::Stats) {
      log::warning("RPC {}: unknown command", subject);
      return errorReply(p::rpc_error::kUnknownCommand,
                        fmt::format("unknown command '{}{}{}' (commands: list, start.<id>, stop.<id>, "
                                    "restart.<id>, reset-failed.<id>, logs.<id>, reload)",
                                    s.command, s.argument.empty() ? "" : ".", s.argument));
    }
    switch (*command) {
      case p::RpcCommand::List: return p::encode(list(), meta());
      case p::RpcCommand::Reload: return p::encode(reload(), meta());
      case p::RpcCommand::ResetFailed: return resetFailed(s.argument);
      case p::RpcCommand::Logs: return logs(s.argument, request);
      default: return act(*command, s.argument);
    }
  } catch (const ProtocolError& e) {
    log::warning("RPC {}: {}", subject, e.what());
    return errorReply(p::rpc_error::kBadRequest, e.what());
  } catch (const ConfigError& e) {
    log::error("RPC {}: {}", subject, e.what());
    return errorReply(p::rpc_error::kActionFailed, e.what());
  } catch (const std::exception& e) {
    log::error("RPC {}: {}", subject, e.what());
    return errorReply(p::rpc_error::kInternalError, e.what());
  }
}

p::LauncherListReply Supervisor::list() {
  p::LauncherListReply r;
  r.launcherId = options_.launcherId;
  r.timestamp = p::now();
  std::lock_guard lock(mutex_);
  for (const auto& [id, s] : services_) {
    const auto& snap = s.tracker->snapshot();
    p::LauncherServiceEntry e;
    e.serviceId = id;
    e.status = stateWord(snap);
    if (snap.mainPid > 0) e.pid = snap.mainPid;
    e.unit = s.unit;
    e.activeState = snap.activeState.empty() ? "inactive" : snap.activeState;
    e.subState = snap.subState.empty() ? "dead" : snap.subState;
    e.nRestarts = snap.nRestarts;
    r.services.push_back(std::move(e));
  }
  return r;
}

std::string Supervisor::waitForJob(const std::string& job) {
  std::unique_lock lock(mutex_);
  std::string result;
  const bool done = jobsDone_.wait_for(lock, options_.jobTimeout, [&] {
    if (stopping_) {
      result = "not awaited (the supervisor is stopping)";
      return true;
    }
    const auto it = jobResults_.find(job);
    if (it == jobResults_.end()) return false;
    result = it->second;
    return true;
  });
  return done ? result : std::string("timeout (still running)");
}

std::string Supervisor::act(p::RpcCommand command, const std::string& serviceId) {
  std::string unit;
  {
    std::lock_guard lock(mutex_);
    const auto it = services_.find(serviceId);
    if (it == services_.end()) {
      log::warning("refused to {} '{}': not a configured tcs service on this host", p::toString(command), serviceId);
      return errorReply(p::rpc_error::kUnknownService,
                        fmt::format("'{}' is not a configured tcs service on {}; refused", serviceId, launcherName()));
    }
    unit = it->second.unit;
  }
  log::info("RPC: {} {}", p::toString(command), unit);
  std::string job;
  try {
    switch (command) {
      case p::RpcCommand::Start: job = systemd_.startUnit(unit); break;
      case p::RpcCommand::Stop: job = systemd_.stopUnit(unit); break;
      default: job = systemd_.restartUnit(unit); break;
    }
  } catch (const SystemdError& e) {
    log::error("{} {} failed: {}", p::toString(command), unit, e.what());
    return errorReply(p::rpc_error::kActionFailed, e.what());
  }
  const auto result = waitForJob(job);
  if (result != "done") {
    log::warning("{} {}: systemd job ended with '{}'", p::toString(command), unit, result);
    return errorReply(p::rpc_error::kActionFailed,
                      fmt::format("{} {}: systemd job result '{}'", p::toString(command), unit, result));
  }
  p::LauncherActionReply r;
  r.launcherId = options_.launcherId;
  r.serviceId = serviceId;
  r.result = command == p::RpcCommand::Start ? "started" : command == p::RpcCommand::Stop ? "stopped" : "restarted";
  if (command != p::RpcCommand::Stop) {
    try {
      const auto snap = systemd_.unitProperties(systemd_.getUnit(unit));
      if (snap.mainPid > 0) r.pid = snap.mainPid;
    } catch (const SystemdError& e) {
      log::warning("cannot read the pid of {}: {}", unit, e.what());
    }
  }
  r.timestamp = p::now();
  return p::encode(r, p::processMetaGenerator().next(p::kMessageTypeRpc));
}

std::string Supervisor::resetFailed(const std::string& serviceId) {
  std::string unit;
  {
    std::lock_guard lock(mutex_);
    const auto it = services_.find(serviceId);
    if (it == services_.end()) {
      log::warning("refused to reset-failed '{}': not a configured tcs service on this host", serviceId);
      return errorReply(p::rpc_error::kUnknownService,
                        fmt::format("'{}' is not a configured tcs service on {}; refused", serviceId, launcherName()));
    }
    unit = it->second.unit;
  }
  try {
    systemd_.resetFailedUnit(unit);
  } catch (const SystemdError& e) {
    return errorReply(p::rpc_error::kActionFailed, e.what());
  }
  p::LauncherActionReply r;
  r.launcherId = options_.launcherId;
  r.serviceId = serviceId;
  r.result = "reset";
  r.timestamp = p::now();
  return p::encode(r, p::processMetaGenerator().next(p::kMessageTypeRpc));
}

std::string Supervisor::logs(const std::string& serviceId, const p::RpcRequest& request) {
  std::string unit;
  {
    std::lock_guard lock(mutex_);
    const auto it = services_.find(serviceId);
    if (it == services_.end()) {
      log::warning("refused to read the logs of '{}': not a configured tcs service on this host", serviceId);
      return errorReply(p::rpc_error::kUnknownService,
                        fmt::format("'{}' is not a configured tcs service on {}; refused", serviceId, launcherName()));
    }
    unit = it->second.unit;
  }
  p::LogsRequest params;
  try {
    params = p::decodeData<p::LogsRequest>(request.params.text());
  } catch (const ProtocolError& e) {
    log::warning("RPC logs {}: bad parameters: {}", serviceId, e.what());
    return errorReply(p::rpc_error::kBadRequest, fmt::format("logs {}: bad parameters: {}", serviceId, e.what()));
  }
  if (journal_ == nullptr)
    return errorReply(p::rpc_error::kActionFailed,
                      fmt::format("logs {}: journal not available on {}", serviceId, launcherName()));
  JournalQuery q;
  q.unit = unit;
  q.user = options_.userManager;
  q.lines = params.lines;
  q.priority = params.priority;
  q.afterCursor = params.afterCursor;
  q.maxBytes = params.maxBytes;
  p::LogsReply r;
  try {
    r.entries = journal_->read(q);
  } catch (const BadCursorError& e) {
    return errorReply(p::rpc_error::kBadRequest, fmt::format("logs {}: {}", serviceId, e.what()));
  } catch (const JournalError& e) {
    log::error("logs {}: {}", unit, e.what());
    return errorReply(p::rpc_error::kActionFailed, fmt::format("logs {}: {}", serviceId, e.what()));
  }
  // A tail keeps the newest entries; a follower the oldest, and continues after the last one.
  const bool follow = !params.afterCursor.empty();
  if (r.entries.size() > static_cast<std::size_t>(params.lines)) {  // a journal that returned more than asked
    if (follow)
      r.entries.resize(static_cast<std::size_t>(params.lines));
    else
      r.entries.erase(r.entries.begin(), r.entries.end() - params.lines);
  }
  r.truncated = keepWithinBytes(r.entries, params.maxBytes, /*dropNewest=*/follow);
  r.launcherId = options_.launcherId;
  r.serviceId = serviceId;
  r.unit = unit;
  r.cursor = r.entries.empty() ? params.afterCursor : r.entries.back().cursor;
  r.timestamp = p::now();
  return p::encode(r, p::processMetaGenerator().next(p::kMessageTypeRpc));
}

p::LauncherReloadReply Supervisor::reload() {
  std::lock_guard serial(reloadMutex_);  // one reload at a time (RPC workers, SIGHUP)
  p::LauncherReloadReply r;
  r.launcherId = options_.launcherId;
  r.result = "reloaded";
  const auto before = serviceIds();
  // Read it first: an unreadable or unparsable file changes nothing (ConfigError → error reply).
  auto loaded = readConfig(&r.errors);
  // The NATS connection and the subject prefix are the process's (and each running service
  // read them at its start): a changed nats: section is not applied by a reload, and the
  // operator is told so (an error in the reply: tcsctl reload exits 3).
  if (!sameConnection(loaded.config.nats(), natsAtStart_)) {
    auto msg = fmt::format(
        "{}: the nats: section changed; the supervisor keeps its NATS connection and "
        "subject prefix until it restarts, and so does every running service: "
        "systemctl restart tcs-supervisor; systemctl try-restart 'tcs@*.service'",
        options_.configPath.string());
    log::warning("reload: {}", msg);
    r.errors.push_back(std::move(msg));
  }
  // The generator re-reads the same file during daemon-reload and writes the units.
  systemd_.reload();
  applyConfig(std::move(loaded), /*initial=*/false);
  seedAll(/*refresh=*/true);
  std::vector<std::string> toStart;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, s] : services_)
      if (s.enabled && std::find(before.begin(), before.end(), id) == before.end()) toStart.push_back(s.unit);
  }
  for (const auto& unit : toStart) {
    try {
      log::info("reload: starting newly configured {}", unit);
      systemd_.startUnit(unit);
    } catch (const SystemdError& e) {
      r.errors.push_back(fmt::format("cannot start {}: {}", unit, e.what()));
    }
  }
  declareAll();
  watchDuplicates();
  r.declared = serviceIds();
  r.timestamp = p::now();
  updateMonitorStatus();
  return r;
}

}  // namespace tcs::supervisor
