// SPDX-License-Identifier: MIT
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <random>
#include <utility>

#include "fast_codec.hpp"
#include "json_io.hpp"

namespace tcs::protocol {
namespace detail {
namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
// The deduction guide C++20 makes implicit, for clang before 17.
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

std::string str(Status s) {
  return std::string{toString(s)};
}

void putIfNotEmpty(Json& j, const char* key, const std::string& value) {
  if (!value.empty()) j[key] = value;
}

template <class I>
void putIfSet(Json& j, const char* key, const std::optional<I>& value) {
  if (value) j[key] = *value;
}

const Json& arrayAt(const Json& o, std::string_view key, const Path& path) {
  const Json& v = require(o, key, path);
  if (!v.is_array()) fail(path / key, "expected an array, got " + std::string{v.type_name()});
  return v;
}

std::vector<std::string> optStringList(const Json& o, std::string_view key, const Path& path) {
  std::vector<std::string> out;
  const Json* v = find(o, key);
  if (v == nullptr || v->is_null()) return out;
  const Path p = path / key;
  if (!v->is_array()) fail(p, "expected an array, got " + std::string{v->type_name()});
  out.reserve(v->size());
  for (std::size_t i = 0; i < v->size(); ++i) out.push_back(asString((*v)[i], p[i]));
  return out;
}

JsonObject optObject(const Json& o, std::string_view key, const Path& path) {
  const Json* v = find(o, key);
  if (v == nullptr || v->is_null()) return {};
  return asObject(*v, path / key);
}

// ---- status --------------------------------------------------------------------------------

void writeReport(Json& j, const StatusReport& r);

Json detailsJson(const StatusDetails& d) {
  Json j = Json::object();
  if (d.ownStatus) j["own_status"] = str(*d.ownStatus);
  if (!d.children.empty()) {
    Json children = Json::array();
    for (const auto& c : d.children) {
      Json cj = Json::object();
      writeReport(cj, c);
      children.push_back(std::move(cj));
    }
    j["children"] = std::move(children);
  }
  if (!d.metrics.empty()) j["metrics"] = JsonAccess::toJson(d.metrics);
  return j;
}

void writeReport(Json& j, const StatusReport& r) {
  j["name"] = r.name;
  j["status"] = str(r.status);
  j["timestamp"] = timestampJson(r.timestamp);
  putIfNotEmpty(j, "message", r.message);
  if (!r.details.empty()) j["details"] = detailsJson(r.details);
  putIfNotEmpty(j, "parent", r.parent);
}

void readReport(const Json& o, const Path& p, StatusReport& r);

StatusDetails readDetails(const Json& d, const Path& p) {
  requireObject(d, p);
  StatusDetails out;
  if (const Json* v = find(d, "own_status"); v != nullptr && !v->is_null())
    out.ownStatus = asStatus(*v, p / "own_status");
  if (const Json* v = find(d, "children"); v != nullptr && !v->is_null()) {
    const Path cp = p / "children";
    if (!v->is_array()) fail(cp, "expected an array, got " + std::string{v->type_name()});
    out.children.resize(v->size());
    for (std::size_t i = 0; i < v->size(); ++i) readReport((*v)[i], cp[i], out.children[i]);
  }
  out.metrics = optObject(d, "metrics", p);
  return out;
}

void readReport(const Json& o, const Path& p, StatusReport& r) {
  requireObject(o, p);
  r.name = getString(o, "name", p);
  r.status = getStatus(o, "status", p);
  r.timestamp = getTimestamp(o, "timestamp", p);
  r.message = optString(o, "message", p).value_or("");
  if (const Json* d = find(o, "details"); d != nullptr && !d->is_null()) r.details = readDetails(*d, p / "details");
  r.parent = optString(o, "parent", p).value_or("");
}

// ---- per-payload codecs --------------------------------------------------------------------

Json toJson(const StatusUpdate& s) {
  Json j = Json::object();
  writeReport(j, s);
  j["pid"] = s.pid;
  j["hostname"] = s.hostname;
  return j;
}

void fromJson(const Json& o, const Path& p, StatusUpdate& s) {
  readReport(o, p, s);
  s.pid = getInt<std::int64_t>(o, "pid", p);
  s.hostname = getString(o, "hostname", p);
}

Json toJson(const Heartbeat& h) {
  Json j = Json::object();
  j["service_id"] = h.serviceId;
  j["timestamp"] = timestampJson(h.timestamp);
  j["status"] = str(h.status);
  putIfSet(j, "sequence", h.sequence);
  putIfSet(j, "uptime_seconds", h.uptimeSeconds);
  if (h.nextHeartbeatExpected) j["next_heartbeat_expected"] = timestampJson(*h.nextHeartbeatExpected);
  if (!h.metrics.empty()) j["metrics"] = JsonAccess::toJson(h.metrics);
  return j;
}

void fromJson(const Json& o, const Path& p, Heartbeat& h) {
  h.serviceId = getString(o, "service_id", p);
  h.timestamp = getTimestamp(o, "timestamp", p);
  h.status = getStatus(o, "status", p);
  if (const Json* v = find(o, "sequence"); v != nullptr && !v->is_null()) h.sequence = asUint(*v, p / "sequence");
  if (const Json* v = find(o, "uptime_seconds"); v != nullptr && !v->is_null())
    h.uptimeSeconds = asDouble(*v, p / "uptime_seconds");
  if (const Json* v = find(o, "next_heartbeat_expected"); v != nullptr && !v->is_null())
    h.nextHeartbeatExpected = asTimestamp(*v, p / "next_heartbeat_expected");
  h.metrics = optObject(o, "metrics", p);
}

Json toJson(const RegistryEvent& e) {
  Json j = Json::object();
  j["event"] = std::string{toString(e.type())};
  j["service_id"] = e.serviceId;
  j["timestamp"] = timestampJson(e.timestamp);
  std::visit(Overloaded{
                 [&](const DeclaredEvent& d) { j["restart_policy"] = d.restartPolicy; },
                 [&](const StartEvent& s) {
                   j["status"] = str(s.status);
                   j["hostname"] = s.hostname;
                   j["pid"] = s.pid;
                 },
                 [&](const ReadyEvent& r) {
                   j["status"] = str(r.status);
                   j["startup_duration_seconds"] = r.startupDurationSeconds;
                 },
                 [&](const StoppingEvent& s) {
                   j["status"] = str(s.status);
                   j["reason"] = s.reason;
                 },
                 [&](const StopEvent& s) {
                   j["status"] = str(s.status);
                   j["reason"] = s.reason;
                   j["exit_code"] = s.exitCode;
                 },
                 [&](const CrashedEvent& c) {
                   j["status"] = str(c.status);
                   j["exit_code"] = c.exitCode;
                   j["restart_policy"] = c.restartPolicy;
                   j["will_restart"] = c.willRestart;
                   putIfNotEmpty(j, "result", c.result);
                 },
                 [&](const RestartingEvent& r) {
                   j["status"] = str(r.status);
                   j["restart_attempt"] = r.restartAttempt;
                   j["max_restarts"] = r.maxRestarts ? Json(*r.maxRestarts) : Json(nullptr);
                 },
                 [&](const FailedEvent& f) {
                   j["status"] = str(f.status);
                   j["reason"] = f.reason;
                   j["restart_count"] = f.restartCount;
                 },
                 [&](const DuplicateEvent& d) {
                   j["status"] = str(d.status);
                   Json hosts = Json::array();
                   for (const auto& h : d.hosts) {
                     Json o = Json::object();
                     o["hostname"] = h.hostname;
                     o["pid"] = h.pid ? Json(*h.pid) : Json(nullptr);
                     o["launcher"] = h.launcher.empty() ? Json(nullptr) : Json(h.launcher);
                     hosts.push_back(std::move(o));
                   }
                   j["hosts"] = std::move(hosts);
                 },
             },
             e.specific);
  putIfNotEmpty(j, "parent", e.parent);
  j["runner_id"] = e.runnerId;
  return j;
}

void fromJson(const Json& o, const Path& p, RegistryEvent& e) {
  const std::string event = getString(o, "event", p);
  const auto type = parseRegistryEventType(event);
  if (!type) fail(p / "event", "unknown registry event '" + event.substr(0, 64) + "'");
  e.serviceId = getString(o, "service_id", p);
  e.timestamp = getTimestamp(o, "timestamp", p);
  switch (*type) {
    case RegistryEventType::Declared: e.specific = DeclaredEvent{getString(o, "restart_policy", p)}; break;
    case RegistryEventType::Start:
      e.specific =
          StartEvent{getStatus(o, "status", p), getString(o, "hostname", p), getInt<std::int64_t>(o, "pid", p)};
      break;
    case RegistryEventType::Ready:
      e.specific = ReadyEvent{getStatus(o, "status", p),
                              asDouble(require(o, "startup_duration_seconds", p), p / "startup_duration_seconds")};
      break;
    case RegistryEventType::Stopping:
      e.specific = StoppingEvent{getStatus(o, "status", p), getString(o, "reason", p)};
      break;
    case RegistryEventType::Stop:
      e.specific = StopEvent{getStatus(o, "status", p), getString(o, "reason", p), getInt<int>(o, "exit_code", p)};
      break;
    case RegistryEventType::Crashed:
      e.specific = CrashedEvent{
          getStatus(o, "status", p), getInt<int>(o, "exit_code", p), getString(o, "restart_policy", p),
          asBool(require(o, "will_restart", p), p / "will_restart"), optString(o, "result", p).value_or("")};
      break;
    case RegistryEventType::Restarting:
      e.specific = RestartingEvent{getStatus(o, "status", p), getInt<int>(o, "restart_attempt", p),
                                   optInt<int>(o, "max_restarts", p)};
      break;
    case RegistryEventType::Failed:
      e.specific =
          FailedEvent{getStatus(o, "status", p), getString(o, "reason", p), getInt<int>(o, "restart_count", p)};
      break;
    case RegistryEventType::Duplicate: {
      DuplicateEvent d{getStatus(o, "status", p), {}};
      const Json& hosts = require(o, "hosts", p);
      const Path hp = p / "hosts";
      if (!hosts.is_array()) fail(hp, "not an array");
      for (std::size_t i = 0; i < hosts.size(); ++i) {
        const Json& h = hosts[i];
        requireObject(h, hp[i]);
        d.hosts.push_back({getString(h, "hostname", hp[i]), optInt<std::int64_t>(h, "pid", hp[i]),
                           optString(h, "launcher", hp[i]).value_or("")});
      }
      e.specific = std::move(d);
      break;
    }
  }
  e.parent = optString(o, "parent", p).value_or("");
  e.runnerId = getString(o, "runner_id", p);
}

Json toJson(const RpcRequest& r) {
  return JsonAccess::toJson(r.params);
}

void fromJson(const Json& o, const Path&, RpcRequest& r) {
  r.params = JsonAccess::fromJson(o);
}

Json toJson(const HealthReply& h) {
  Json j = Json::object();
  j["service_id"] = h.serviceId;
  j["status"] = str(h.status);
  j["timestamp"] = timestampJson(h.timestamp);
  j["checks"] = JsonAccess::toJson(h.checks);
  return j;
}

void fromJson(const Json& o, const Path& p, HealthReply& h) {
  h.serviceId = getString(o, "service_id", p);
  h.status = getStatus(o, "status", p);
  h.timestamp = getTimestamp(o, "timestamp", p);
  h.checks = asObject(require(o, "checks", p), p / "checks");
}

Json toJson(const StatsReply& s) {
  Json j = Json::object();
  j["service_id"] = s.serviceId;
  j["timestamp"] = timestampJson(s.timestamp);
  j["uptime_seconds"] = s.uptimeSeconds;
  j["stats"] = JsonAccess::toJson(s.stats);
  return j;
}

void fromJson(const Json& o, const Path& p, StatsReply& s) {
  s.serviceId = getString(o, "service_id", p);
  s.timestamp = getTimestamp(o, "timestamp", p);
  s.uptimeSeconds = asDouble(require(o, "uptime_seconds", p), p / "uptime_seconds");
  s.stats = asObject(require(o, "stats", p), p / "stats");
}

Json toJson(const LauncherListReply& l) {
  Json services = Json::array();
  for (const auto& s : l.services) {
    Json e = Json::object();
    e["service_id"] = s.serviceId;
    e["status"] = s.status;
    putIfSet(e, "pid", s.pid);
    e["unit"] = s.unit;
    e["active_state"] = s.activeState;
    e["sub_state"] = s.subState;
    e["n_restarts"] = s.nRestarts;
    services.push_back(std::move(e));
  }
  Json j = Json::object();
  j["launcher_id"] = l.launcherId;
  j["timestamp"] = timestampJson(l.timestamp);
  j["services"] = std::move(services);
  return j;
}

void fromJson(const Json& o, const Path& p, LauncherListReply& l) {
  l.launcherId = getString(o, "launcher_id", p);
  l.timestamp = getTimestamp(o, "timestamp", p);
  const Json& services = arrayAt(o, "services", p);
  const Path sp = p / "services";
  l.services.resize(services.size());
  for (std::size_t i = 0; i < services.size(); ++i) {
    const Path ep = sp[i];
    const Json& e = requireObject(services[i], ep);
    auto& s = l.services[i];
    s.serviceId = getString(e, "service_id", ep);
    s.status = getString(e, "status", ep);
    s.pid = optInt<std::int64_t>(e, "pid", ep);
    s.unit = getString(e, "unit", ep);
    s.activeState = getString(e, "active_state", ep);
    s.subState = getString(e, "sub_state", ep);
    s.nRestarts = getInt<std::int64_t>(e, "n_restarts", ep);
  }
}

Json toJson(const LauncherActionReply& a) {
  Json j = Json::object();
  j["launcher_id"] = a.launcherId;
  j["service_id"] = a.serviceId;
  j["result"] = a.result;
  putIfSet(j, "pid", a.pid);
  j["timestamp"] = timestampJson(a.timestamp);
  return j;
}

void fromJson(const Json& o, const Path& p, LauncherActionReply& a) {
  a.launcherId = getString(o, "launcher_id", p);
  a.serviceId = getString(o, "service_id", p);
  a.result = getString(o, "result", p);
  a.pid = optInt<std::int64_t>(o, "pid", p);
  a.timestamp = getTimestamp(o, "timestamp", p);
}

Json toJson(const LauncherReloadReply& r) {
  Json j = Json::object();
  j["launcher_id"] = r.launcherId;
  j["result"] = r.result;
  j["declared"] = r.declared;
  j["errors"] = r.errors;
  j["timestamp"] = timestampJson(r.timestamp);
  return j;
}

void fromJson(const Json& o, const Path& p, LauncherReloadReply& r) {
  r.launcherId = getString(o, "launcher_id", p);
  r.result = getString(o, "result", p);
  r.declared = optStringList(o, "declared", p);
  r.errors = optStringList(o, "errors", p);
  r.timestamp = getTimestamp(o, "timestamp", p);
}

constexpr std::array<std::string_view, 8> kPriorityNames{"emerg",   "alert",  "crit", "err",
                                                         "warning", "notice", "info", "debug"};

Json toJson(const LogsRequest& r) {
  Json j = Json::object();
  j["lines"] = r.lines;
  putIfSet(j, "priority", r.priority);
  putIfNotEmpty(j, "after_cursor", r.afterCursor);
  j["max_bytes"] = r.maxBytes;
  return j;
}

void fromJson(const Json& o, const Path& p, LogsRequest& r) {
  if (const Json* v = find(o, "lines"); v != nullptr && !v->is_null())
    r.lines = static_cast<int>(asInt(*v, p / "lines", 1, kLogsMaxLines));
  if (const Json* v = find(o, "priority"); v != nullptr && !v->is_null()) {
    if (v->is_string()) {
      const auto name = v->get<std::string>();
      r.priority = parseLogPriority(name);
      if (!r.priority)
        fail(p / "priority", "unknown priority '" + name.substr(0, 40) +
                                 "' (expected 0..7 or emerg, alert, crit, err, warning, notice, info, debug)");
    } else {
      r.priority = static_cast<int>(asInt(*v, p / "priority", 0, 7));
    }
  }
  if (auto cursor = optString(o, "after_cursor", p)) {
    if (cursor->empty()) fail(p / "after_cursor", "empty cursor (leave the key out to read the newest entries)");
    r.afterCursor = std::move(*cursor);
  }
  if (const Json* v = find(o, "max_bytes"); v != nullptr && !v->is_null())
    r.maxBytes = asInt(*v, p / "max_bytes", 1, kLogsMaxBytes);
}

Json toJson(const LogsReply& r) {
  Json entries = Json::array();
  for (const auto& e : r.entries) {
    Json j = Json::object();
    j["timestamp"] = timestampJson(e.timestamp);
    j["priority"] = e.priority;
    putIfNotEmpty(j, "identifier", e.identifier);
    putIfSet(j, "pid", e.pid);
    j["message"] = e.message;
    j["cursor"] = e.cursor;
    entries.push_back(std::move(j));
  }
  Json j = Json::object();
  j["launcher_id"] = r.launcherId;
  j["service_id"] = r.serviceId;
  j["unit"] = r.unit;
  j["entries"] = std::move(entries);
  j["cursor"] = r.cursor;
  j["truncated"] = r.truncated;
  j["timestamp"] = timestampJson(r.timestamp);
  return j;
}

void fromJson(const Json& o, const Path& p, LogsReply& r) {
  r.launcherId = getString(o, "launcher_id", p);
  r.serviceId = getString(o, "service_id", p);
  r.unit = getString(o, "unit", p);
  const Json& entries = arrayAt(o, "entries", p);
  const Path ep = p / "entries";
  r.entries.resize(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Path xp = ep[i];
    const Json& x = requireObject(entries[i], xp);
    auto& e = r.entries[i];
    e.timestamp = getTimestamp(x, "timestamp", xp);
    e.priority = getInt<int>(x, "priority", xp);
    e.identifier = optString(x, "identifier", xp).value_or("");
    e.pid = optInt<std::int64_t>(x, "pid", xp);
    e.message = getString(x, "message", xp);
    e.cursor = getString(x, "cursor", xp);
  }
  r.cursor = optString(o, "cursor", p).value_or("");
  if (const Json* v = find(o, "truncated"); v != nullptr && !v->is_null()) r.truncated = asBool(*v, p / "truncated");
  r.timestamp = getTimestamp(o, "timestamp", p);
}

Json toJson(const ErrorReply& e) {
  Json j = Json::object();
  j["error"] = e.error;
  j["message"] = e.message;
  return j;
}

void fromJson(const Json& o, const Path& p, ErrorReply& e) {
  e.error = getString(o, "error", p);
  e.message = getString(o, "message", p);
}

// ---- envelope ------------------------------------------------------------------------------

Json metaJson(const Meta& m) {
  Json j = Json::object();
  j["id"] = m.id;
  j["sender"] = m.sender;
  j["ts"] = timestampJson(m.ts);
  j["trace_level"] = m.traceLevel;
  j["message_type"] = m.messageType;
  j["tags"] = m.tags;
  return j;
}

Meta metaFromJson(const Json& o, const Path& p) {
  requireObject(o, p);
  Meta m;
  m.id = getString(o, "id", p);
  m.sender = getString(o, "sender", p);
  m.ts = getTimestamp(o, "ts", p);
  m.traceLevel = optInt<int>(o, "trace_level", p).value_or(kTraceLevel);
  m.messageType = optString(o, "message_type", p).value_or("");
  m.tags = optStringList(o, "tags", p);
  return m;
}

const Path kMessage{nullptr, "message"};
const Path kData{nullptr, "data"};
const Path kMeta{nullptr, "meta"};

Json parseMessage(std::string_view body) {
  Json j = parseJson(body, "message");
  if (!j.is_object()) fail(kMessage, "expected a JSON object {\"data\", \"meta\"}, got " + std::string{j.type_name()});
  return j;
}

bool isBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace
}  // namespace detail

template <Payload T>
std::string encodeData(const T& data) {
  return detail::dump(detail::toJson(data));
}

namespace detail {
namespace {
// The reference encoder: the nlohmann tree, dumped.
template <Payload T>
std::string encodeWithJson(const T& data, const Meta& meta) {
  Json j = Json::object();
  j["data"] = toJson(data);
  j["meta"] = metaJson(meta);
  return dump(j);
}
}  // namespace

std::string referenceEncode(const StatusUpdate& status, const Meta& meta) {
  return encodeWithJson(status, meta);
}

std::string referenceEncode(const Heartbeat& heartbeat, const Meta& meta) {
  return encodeWithJson(heartbeat, meta);
}
}  // namespace detail

template <Payload T>
std::string encode(const T& data, const Meta& meta) {
  // The messages a process sends all the time take the hand-written encoder (same bytes).
  if constexpr (std::same_as<T, StatusUpdate> || std::same_as<T, Heartbeat>) {
    std::string out;
    if (detail::fastEncode(out, data, meta)) return out;
  }
  return detail::encodeWithJson(data, meta);
}

template <Payload T>
Message<T> decode(std::string_view body) {
  using namespace detail;
  if constexpr (std::same_as<T, RpcRequest>)
    if (isBlank(body)) return {};
  try {
    const Json j = parseMessage(body);
    Message<T> m;
    m.meta = metaFromJson(require(j, "meta", kMessage), kMeta);
    fromJson(requireObject(require(j, "data", kMessage), kData), kData, m.data);
    return m;
  } catch (const Json::exception& e) {
    fail(kMessage, e.what());  // not reached by design; never let a library exception escape
  }
}

template <Payload T>
T decodeData(std::string_view data) {
  using namespace detail;
  try {
    const Json j = parseJson(data, "data");
    T out;
    fromJson(requireObject(j, kData), kData, out);
    return out;
  } catch (const Json::exception& e) {
    fail(kData, e.what());
  }
}

void encodeStatusInto(std::string& out, const StatusReport& report, std::string_view parent, std::int64_t pid,
                      std::string_view hostname, const Meta& meta) {
  if (detail::fastEncodeStatus(out, report, parent, pid, hostname, meta)) return;
  StatusUpdate u;  // something for the general encoder (invalid UTF-8 to replace): rare
  static_cast<StatusReport&>(u) = report;
  u.parent = std::string(parent);
  u.pid = pid;
  u.hostname = std::string(hostname);
  out = detail::referenceEncode(u, meta);  // not encode(): it would try the fast path again
}

bool isErrorReply(std::string_view body) {
  using namespace detail;
  try {
    const Json j = parseMessage(body);
    const Json& data = requireObject(require(j, "data", kMessage), kData);
    const Json* error = find(data, "error");
    return error != nullptr && error->is_string();
  } catch (const Json::exception& e) {
    fail(kMessage, e.what());
  }
}

#define TCS_PROTOCOL_INSTANTIATE(T)                      \
  template std::string encode<T>(const T&, const Meta&); \
  template std::string encodeData<T>(const T&);          \
  template Message<T> decode<T>(std::string_view);       \
  template T decodeData<T>(std::string_view);

TCS_PROTOCOL_INSTANTIATE(StatusUpdate)
TCS_PROTOCOL_INSTANTIATE(Heartbeat)
TCS_PROTOCOL_INSTANTIATE(RegistryEvent)
TCS_PROTOCOL_INSTANTIATE(RpcRequest)
TCS_PROTOCOL_INSTANTIATE(HealthReply)
TCS_PROTOCOL_INSTANTIATE(StatsReply)
TCS_PROTOCOL_INSTANTIATE(LauncherListReply)
TCS_PROTOCOL_INSTANTIATE(LauncherActionReply)
TCS_PROTOCOL_INSTANTIATE(LauncherReloadReply)
TCS_PROTOCOL_INSTANTIATE(LogsRequest)
TCS_PROTOCOL_INSTANTIATE(LogsReply)
TCS_PROTOCOL_INSTANTIATE(ErrorReply)
#undef TCS_PROTOCOL_INSTANTIATE

// ---- meta generator, registry status ---------------------------------------------------------

MetaGenerator::MetaGenerator(std::string sender) : sender_(std::move(sender)) {}

Meta MetaGenerator::next(std::string_view messageType) {
  Meta m;
  next(m, messageType);
  return m;
}

void MetaGenerator::next(Meta& meta, std::string_view messageType) {
  const auto n = count_.fetch_add(1, std::memory_order_relaxed) + 1;
  meta.id.assign("msg");
  if (n > 1) {
    char digits[24];
    const auto r = std::to_chars(digits, digits + sizeof digits, n);
    meta.id += '-';
    meta.id.append(digits, static_cast<std::size_t>(r.ptr - digits));
  }
  meta.sender = sender_;
  meta.ts = now();
  meta.traceLevel = kTraceLevel;
  meta.messageType = messageType;
  meta.tags.clear();
}

std::string MetaGenerator::randomSenderName() {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::random_device rd;
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  std::string name = "Messenger_";
  for (int i = 0; i < 10; ++i) name += kAlphabet[pick(rd)];
  return name;
}

MetaGenerator& processMetaGenerator() {
  static MetaGenerator generator;
  return generator;
}

std::optional<Status> RegistryEvent::status() const noexcept {
  if (specific.valueless_by_exception()) return std::nullopt;
  return std::visit(
      [](const auto& s) -> std::optional<Status> {
        if constexpr (std::same_as<std::decay_t<decltype(s)>, DeclaredEvent>)
          return std::nullopt;
        else
          return s.status;
      },
      specific);
}

std::optional<int> parseLogPriority(std::string_view name) noexcept {
  for (std::size_t i = 0; i < detail::kPriorityNames.size(); ++i)
    if (detail::kPriorityNames[i] == name) return static_cast<int>(i);
  return std::nullopt;
}

bool StatusDetails::empty() const noexcept {
  return !ownStatus && children.empty() && metrics.empty();
}

}  // namespace tcs::protocol
