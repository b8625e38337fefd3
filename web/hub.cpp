// SPDX-License-Identifier: MIT
#include "hub.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <variant>

#include "tcs/protocol/codec.hpp"
#include "tcs/protocol/subject.hpp"

namespace tcs::web {
namespace p = protocol;
using Json = nlohmann::ordered_json;

namespace {

std::string exitText(int code) {
  return code < 0 ? fmt::format("signal {}", -code) : fmt::format("exit code {}", code);
}

// The row's text, and the hash of the row without what changes with the clock alone.
std::pair<std::uint64_t, std::string> render(const FleetRow& row, p::Timestamp now) {
  Json json = ctl::serviceJson(row, now);
  std::string text = json.dump();
  json.erase("heartbeat_age_seconds");
  json.erase("uptime_seconds");
  return {std::hash<std::string>{}(json.dump()), std::move(text)};
}

// Appends `[a,b,…]` of JSON texts to @p out (no temporary: the fleet's array is ~0.8 MB).
void appendArray(std::string& out, const std::vector<const std::string*>& items) {
  std::size_t size = out.size() + 2;
  for (const auto* i : items) size += i->size() + 1;
  out.reserve(size + 64);
  out += '[';
  for (std::size_t k = 0; k < items.size(); ++k) {
    if (k) out += ',';
    out += *items[k];
  }
  out += ']';
}

TimelineEvent fromRegistry(const p::RegistryEvent& e) {
  TimelineEvent t;
  t.time = e.timestamp;
  t.id = e.serviceId;
  t.event = std::string(p::toString(e.type()));
  if (auto s = e.status()) t.status = std::string(toString(*s));
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, p::DeclaredEvent>) {
          t.message = fmt::format("declared (restart {})", x.restartPolicy.empty() ? "no" : x.restartPolicy);
        } else if constexpr (std::is_same_v<T, p::StartEvent>) {
          t.message = fmt::format("started, pid {} on {}", x.pid, x.hostname);
        } else if constexpr (std::is_same_v<T, p::ReadyEvent>) {
          t.message = fmt::format("ready after {:.3f} s", x.startupDurationSeconds);
        } else if constexpr (std::is_same_v<T, p::StoppingEvent>) {
          t.message = x.reason.empty() ? "stopping" : fmt::format("stopping ({})", x.reason);
        } else if constexpr (std::is_same_v<T, p::StopEvent>) {
          t.message = fmt::format("stopped ({}, {})", x.reason.empty() ? "terminated" : x.reason, exitText(x.exitCode));
        } else if constexpr (std::is_same_v<T, p::CrashedEvent>) {
          t.message = fmt::format("crashed ({}{}), {}", exitText(x.exitCode), x.result.empty() ? "" : ", " + x.result,
                                  x.willRestart ? "restarting" : "not restarting");
        } else if constexpr (std::is_same_v<T, p::RestartingEvent>) {
          t.message = x.maxRestarts ? fmt::format("restart {} of {}", x.restartAttempt, *x.maxRestarts)
                                    : fmt::format("restart {}", x.restartAttempt);
        } else if constexpr (std::is_same_v<T, p::FailedEvent>) {
          t.message = fmt::format("failed ({}, {} restarts)", x.reason, x.restartCount);
        } else if constexpr (std::is_same_v<T, p::DuplicateEvent>) {
          std::vector<std::string> where;
          for (const auto& h : x.hosts)
            where.push_back(h.pid ? fmt::format("{} pid {}", h.hostname, *h.pid) : h.hostname);
          t.message = fmt::format("running twice: {}", fmt::join(where, ", "));
        }
      },
      e.specific);
  return t;
}

std::string joinedArray(const std::vector<const std::string*>& items) {
  std::string out;
  appendArray(out, items);
  return out;
}

}  // namespace

bool writeSse(const SseMessage& m, const std::function<bool(std::string_view)>& write) {
  std::string head = fmt::format("id: {}\n", m.id);
  if (!m.event.empty()) head += fmt::format("event: {}\n", m.event);
  constexpr std::size_t kInline = 16 * 1024;
  if (m.data.size() > kInline && m.data.find('\n') == std::string::npos) {
    // A large one-line event (the whole fleet): its data is written as it is, not copied.
    head += "data: ";
    return write(head) && write(m.data) && write("\n\n");
  }
  std::string out = std::move(head);
  out.reserve(out.size() + m.data.size() + 16);
  std::string_view rest = m.data;
  // Each line of the data is a data: line (the browser joins them with \n again).
  do {
    const auto nl = rest.find('\n');
    out += "data: ";
    out += rest.substr(0, nl);
    out += '\n';
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  } while (!rest.empty());
  out += '\n';
  return write(out);
}

std::string formatSse(const SseMessage& m) {
  std::string out;
  writeSse(m, [&](std::string_view piece) {
    out += piece;
    return true;
  });
  return out;
}

bool RecentMessages::repeated(std::string_view subject, std::string_view data) {
  std::string key(subject);
  key += '\n';
  key += data;
  std::lock_guard lock(mutex_);
  const auto [it, inserted] = seen_.insert(std::move(key));
  if (!inserted) return true;
  order_.push_back(&*it);
  if (order_.size() > capacity_) {
    seen_.erase(*order_.front());
    order_.pop_front();
  }
  return false;
}

Json timelineJson(const TimelineEvent& e) {
  return Json{{"time", ctl::isoTime(e.time)},
              {"id", e.id},
              {"event", e.event},
              {"status", e.status.empty() ? Json(nullptr) : Json(e.status)},
              {"message", e.message}};
}

std::optional<TimelineEvent> timelineEventOf(std::string_view subject, std::string_view body, std::string_view prefix) {
  try {
    const auto parsed = p::parseSubject(prefix, subject);
    if (parsed.kind != p::SubjectKind::Registry) return std::nullopt;
    const auto message = p::decode<p::RegistryEvent>(body);
    if (message.data.serviceId != parsed.name) return std::nullopt;
    return fromRegistry(message.data);
  } catch (const std::exception&) {
    return std::nullopt;  // malformed or an event this version does not know
  }
}

std::vector<TimelineEvent> timelineOf(const FleetView& view, std::size_t max) {
  std::vector<TimelineEvent> all;
  for (const auto& [id, e] : view.entries()) {
    if (e.kind != FleetEntryKind::Service) continue;
    auto add = [&, id = std::cref(id)](p::Timestamp time, p::RegistryEvent::Specific specific) {
      p::RegistryEvent r;
      r.serviceId = id.get();
      r.timestamp = time;
      r.specific = std::move(specific);
      all.push_back(fromRegistry(r));
    };
    if (e.lastStart) add(e.lastStart->time, p::StartEvent{.hostname = e.lastStart->hostname, .pid = e.lastStart->pid});
    if (e.readyAt) add(*e.readyAt, p::ReadyEvent{});
    if (e.lastStop) add(e.lastStop->time, p::StopEvent{.reason = e.lastStop->reason, .exitCode = e.lastStop->exitCode});
    if (e.lastCrash)
      add(e.lastCrash->time, p::CrashedEvent{.status = e.lastCrash->status,
                                             .exitCode = e.lastCrash->exitCode,
                                             .restartPolicy = e.lastCrash->restartPolicy,
                                             .willRestart = e.lastCrash->willRestart,
                                             .result = e.lastCrash->result});
    if (e.lastRestart)
      add(e.lastRestart->time,
          p::RestartingEvent{.restartAttempt = e.lastRestart->attempt, .maxRestarts = e.lastRestart->maxRestarts});
    if (e.lastFailure)
      add(e.lastFailure->time,
          p::FailedEvent{.reason = e.lastFailure->reason, .restartCount = e.lastFailure->restartCount});
  }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.time < b.time; });
  if (all.size() > max) all.erase(all.begin(), all.end() - static_cast<std::ptrdiff_t>(max));
  // The ready event's duration is not among the facts: say less rather than something wrong.
  for (auto& t : all)
    if (t.event == "ready") t.message = "ready";
  return all;
}

// ---- Subscription -----------------------------------------------------------------------------

bool Subscription::next(std::vector<SseMessage>& out, std::chrono::milliseconds timeout) {
  bool resync = false;
  {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return closed_ || overflowed_ || !queue_.empty(); });
    if (closed_) return false;
    if (overflowed_) {
      overflowed_ = false;
      queue_.clear();
      resync = true;
    } else {
      while (!queue_.empty()) {
        out.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
  }
  if (resync) {  // outside our lock: the hub locks its own, then ours
    std::lock_guard hubLock(hub_.mutex_);
    out.push_back(hub_.fleetMessageLocked());
  }
  return true;
}

// ---- FleetHub ----------------------------------------------------------------------------------

FleetHub::FleetHub(HubLimits limits) : limits_(limits) {}

FleetHub::~FleetHub() {
  close();
}

void FleetHub::renderAllLocked(const FleetView& view, p::Timestamp now) {
  const auto listing = view.list(now, FleetQuery{.all = true, .filter = {}});
  rows_.clear();
  order_.clear();
  for (const auto& row : listing.rows) {
    auto [key, text] = render(row, now);
    order_.push_back(row.entry->id);
    rows_[row.entry->id] = Row{key, std::move(text)};
  }
  summary_ = Json{{"listed", listing.listedCount}, {"running", listing.runningCount}};
  prefix_ = view.prefix();
  takenAt_ = now;
}

void FleetHub::resync(const FleetView& view, const ctl::FleetJsonMeta& meta, p::Timestamp now) {
  std::lock_guard lock(mutex_);
  meta_ = meta;
  renderAllLocked(view, now);
  touched_.clear();
  broadcastLocked(fleetMessageLocked());
}

void FleetHub::touch(std::string_view id) {
  std::lock_guard lock(mutex_);
  touched_.emplace(id);
}

bool FleetHub::flush(const FleetView& view, p::Timestamp now, bool everything) {
  std::lock_guard lock(mutex_);
  if (touched_.empty() && !everything) return false;
  const auto listing = view.list(now, FleetQuery{.all = true, .filter = {}});
  std::vector<std::string> order;
  order.reserve(listing.rows.size());
  std::vector<const std::string*> changed;
  std::set<std::string, std::less<>> seen;
  for (const auto& row : listing.rows) {
    const std::string& id = row.entry->id;
    order.push_back(id);
    seen.insert(id);
    auto it = rows_.find(id);
    if (it != rows_.end() && !everything && !touched_.contains(id)) continue;
    auto [key, text] = render(row, now);
    if (it == rows_.end()) it = rows_.emplace(id, Row{}).first;
    const bool same = it->second.key == key && !it->second.text.empty();
    it->second = Row{key, std::move(text)};  // fresh ages for the next full document
    if (!same) changed.push_back(&it->second.text);
  }
  Json removed = Json::array();
  for (auto it = rows_.begin(); it != rows_.end();) {
    if (seen.contains(it->first)) {
      ++it;
    } else {
      removed.push_back(it->first);
      it = rows_.erase(it);
    }
  }
  touched_.clear();
  const bool reordered = order != order_;
  Json summary{{"listed", listing.listedCount}, {"running", listing.runningCount}};
  const bool summaryChanged = summary != summary_;
  takenAt_ = now;
  if (changed.empty() && removed.empty() && !reordered && !summaryChanged) return false;
  summary_ = summary;
  std::string data = R"({"taken_at":)" + Json(ctl::isoTime(now)).dump() + R"(,"summary":)" + summary.dump() +
                     R"(,"services":)" + joinedArray(changed) + R"(,"removed":)" + removed.dump() + R"(,"order":)" +
                     (reordered ? Json(order).dump() : std::string("null")) + "}";
  if (reordered) order_ = std::move(order);
  broadcastLocked(SseMessage{0, "changes", std::move(data)});
  return true;
}

void FleetHub::setNats(bool connected, bool jetstream, std::vector<std::string> notes) {
  std::lock_guard lock(mutex_);
  if (connected == natsConnected_ && jetstream == natsJetstream_ && notes == natsNotes_) return;
  natsConnected_ = connected;
  natsJetstream_ = jetstream;
  natsNotes_ = std::move(notes);
  broadcastLocked(natsMessageLocked());
}

void FleetHub::addTimeline(TimelineEvent event) {
  std::lock_guard lock(mutex_);
  const std::string data = timelineJson(event).dump();
  timeline_.push_back(std::move(event));
  while (timeline_.size() > limits_.timeline) timeline_.pop_front();
  broadcastLocked(SseMessage{0, "timeline", data});
}

void FleetHub::seedTimeline(std::vector<TimelineEvent> events) {
  std::lock_guard lock(mutex_);
  timeline_.assign(std::make_move_iterator(events.begin()), std::make_move_iterator(events.end()));
  while (timeline_.size() > limits_.timeline) timeline_.pop_front();
}

Json FleetHub::timeline() const {
  std::lock_guard lock(mutex_);
  Json events = Json::array();
  for (const auto& e : timeline_) events.push_back(timelineJson(e));
  return Json{{"events", std::move(events)}};
}

std::string FleetHub::fleetDocument() const {
  std::lock_guard lock(mutex_);
  return const_cast<FleetHub*>(this)->fleetMessageLocked().data;
}

SseMessage FleetHub::fleetMessageLocked() {
  std::vector<const std::string*> services;
  services.reserve(order_.size());
  for (const auto& id : order_) {
    auto it = rows_.find(id);
    if (it != rows_.end()) services.push_back(&it->second.text);
  }
  // The document's head as tcs.fleet/1 orders it, then the rows as rendered.
  Json head{
      {"schema", ctl::kFleetSchema}, {"taken_at", ctl::isoTime(takenAt_)},
      {"prefix", prefix_},           {"jetstream", meta_.jetstream},
      {"notes", meta_.notes},        {"summary", summary_.is_null() ? Json{{"listed", 0}, {"running", 0}} : summary_}};
  std::string doc = head.dump();
  doc.pop_back();  // the closing brace
  doc += R"(,"services":)";
  appendArray(doc, services);
  doc += '}';
  return SseMessage{nextId_++, "fleet", std::move(doc)};
}

SseMessage FleetHub::natsMessageLocked() {
  Json data{{"connected", natsConnected_}, {"jetstream", natsJetstream_}, {"notes", natsNotes_}};
  return SseMessage{nextId_++, "nats", data.dump()};
}

void FleetHub::broadcastLocked(const SseMessage& message) {
  SseMessage m = message;
  if (m.id == 0) m.id = nextId_++;
  for (const auto& s : subscriptions_) {
    {
      std::lock_guard lock(s->mutex_);
      if (s->overflowed_) continue;
      if (s->queue_.size() >= limits_.queue) {
        s->overflowed_ = true;  // a slow browser: it gets the whole fleet again instead
      } else {
        s->queue_.push_back(m);
        bytesQueued_ += m.data.size();
      }
    }
    s->changed_.notify_one();
  }
}

std::shared_ptr<Subscription> FleetHub::subscribe() {
  std::lock_guard lock(mutex_);
  if (closed_ || subscriptions_.size() >= limits_.subscribers) return nullptr;
  auto s = std::shared_ptr<Subscription>(new Subscription(*this));
  s->queue_.push_back(natsMessageLocked());
  s->queue_.push_back(fleetMessageLocked());
  subscriptions_.push_back(s);
  return s;
}

void FleetHub::unsubscribe(const std::shared_ptr<Subscription>& subscription) {
  std::lock_guard lock(mutex_);
  std::erase(subscriptions_, subscription);
}

std::size_t FleetHub::subscribers() const {
  std::lock_guard lock(mutex_);
  return subscriptions_.size();
}

void FleetHub::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  for (const auto& s : subscriptions_) {
    {
      std::lock_guard sl(s->mutex_);
      s->closed_ = true;
    }
    s->changed_.notify_all();
  }
  subscriptions_.clear();
}

std::uint64_t FleetHub::bytesQueued() const {
  std::lock_guard lock(mutex_);
  return bytesQueued_;
}

}  // namespace tcs::web
