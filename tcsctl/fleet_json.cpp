// SPDX-License-Identifier: MIT
#include "fleet_json.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iterator>
#include <optional>
#include <string_view>

namespace tcs::ctl {
namespace {

namespace p = protocol;
using Json = nlohmann::ordered_json;

std::string_view symbolName(FleetSymbol s) noexcept {
  switch (s) {
    case FleetSymbol::Healthy: return "healthy";
    case FleetSymbol::Warning: return "warning";
    case FleetSymbol::Problem: return "problem";
    case FleetSymbol::Error: return "error";
    case FleetSymbol::Stopped: return "stopped";
  }
  return "stopped";
}

Json time(const std::optional<p::Timestamp>& t) {
  return t ? Json(isoTime(*t)) : Json(nullptr);
}

Json text(const std::string& s) {
  return s.empty() ? Json(nullptr) : Json(s);
}

/// restart.count: restarts so far, from the newer of the last failed / restarting event.
int restartCount(const FleetEntry& e) {
  const bool failureIsNewer = e.lastFailure && (!e.lastRestart || e.lastFailure->time >= e.lastRestart->time);
  if (failureIsNewer) return e.lastFailure->restartCount;
  return e.lastRestart ? e.lastRestart->attempt : 0;
}

}  // namespace

/// A child report as upstream publishes it in `details.children`, its times as ISO strings.
Json reportJson(const p::StatusReport& r) {
  Json j{{"name", r.name},
         {"status", toString(r.status)},
         {"timestamp", isoTime(r.timestamp)},
         {"message", text(r.message)}};
  Json details = Json::object();
  if (r.details.ownStatus) details["own_status"] = toString(*r.details.ownStatus);
  if (!r.details.children.empty()) {
    Json kids = Json::array();
    for (const auto& c : r.details.children) kids.push_back(reportJson(c));
    details["children"] = std::move(kids);
  }
  if (!r.details.metrics.empty()) details["metrics"] = Json::parse(r.details.metrics.text());
  j["details"] = details.empty() ? Json(nullptr) : std::move(details);
  return j;
}

/// `duplicate`: null, or `{observed, hosts: [{hostname, pid, launcher}]}` (tcs addition).
static Json duplicateJson(const FleetRow& row) {
  if (!row.duplicate) return nullptr;
  Json hosts = Json::array();
  for (const auto& h : row.duplicate->hosts)
    hosts.push_back(Json{
        {"hostname", text(h.hostname)}, {"pid", h.pid ? Json(*h.pid) : Json(nullptr)}, {"launcher", text(h.launcher)}});
  return Json{{"observed", row.duplicate->observed}, {"hosts", std::move(hosts)}};
}

Json serviceJson(const FleetRow& row, p::Timestamp now) {
  const FleetEntry& e = *row.entry;
  Json j;
  j["id"] = e.id;
  j["kind"] = toString(e.kind);
  j["parent"] = text(e.parent);
  j["depth"] = row.depth;
  j["status"] = toString(e.status);
  j["message"] = text(e.message);
  j["symbol"] = symbolName(row.symbol);
  j["running"] = row.running;
  j["declared"] = e.declared();
  j["declared_at"] = time(e.declaredAt);
  j["heartbeat"] = toString(row.heartbeat);
  j["last_heartbeat"] = time(e.lastHeartbeat);
  if (e.lastHeartbeat) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - *e.lastHeartbeat).count();
    j["heartbeat_age_seconds"] = static_cast<double>(ms) / 1000.0;
  } else {
    j["heartbeat_age_seconds"] = nullptr;
  }
  j["started_at"] = time(e.startedAt());
  j["ready_at"] = time(e.readyAt);
  j["stopped_at"] = time(e.stoppedAt);
  j["uptime_seconds"] = row.uptime ? Json(row.uptime->count()) : Json(nullptr);
  j["last_status_update"] = e.lastReport ? Json(isoTime(e.lastReport->timestamp)) : Json(nullptr);
  j["pid"] = e.pid ? Json(*e.pid) : Json(nullptr);
  j["hostname"] = text(e.hostname);
  j["runner_id"] = text(e.runnerId);
  j["restart_policy"] = text(e.restartPolicy);
  j["restart"] = Json{
      {"state", toString(row.restart)},
      {"attempt", e.lastRestart ? Json(e.lastRestart->attempt) : Json(nullptr)},
      {"max", e.lastRestart && e.lastRestart->maxRestarts ? Json(*e.lastRestart->maxRestarts) : Json(nullptr)},
      {"count", restartCount(e)},
  };
  j["last_crash"] = e.lastCrash ? Json{{"time", isoTime(e.lastCrash->time)},
                                       {"exit_code", e.lastCrash->exitCode},
                                       {"result", text(e.lastCrash->result)},
                                       {"will_restart", e.lastCrash->willRestart}}
                                : Json(nullptr);
  j["last_failure"] = e.lastFailure ? Json{{"time", isoTime(e.lastFailure->time)},
                                           {"reason", text(e.lastFailure->reason)},
                                           {"restart_count", e.lastFailure->restartCount}}
                                    : Json(nullptr);
  j["last_stop"] = e.lastStop ? Json{{"time", isoTime(e.lastStop->time)},
                                     {"reason", text(e.lastStop->reason)},
                                     {"exit_code", e.lastStop->exitCode}}
                              : Json(nullptr);
  Json children = Json::array();
  if (e.lastReport)
    for (const auto& c : e.lastReport->details.children) children.push_back(reportJson(c));
  j["children"] = std::move(children);
  j["duplicate"] = duplicateJson(row);
  return j;
}

std::string isoTime(p::Timestamp t) {
  const auto f = p::toFields(t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", f[0], f[1], f[2], f[3], f[4], f[5], f[6] / 1000);
}

nlohmann::ordered_json fleetJson(const FleetView& view, const FleetListing& listing, p::Timestamp now,
                                 const FleetJsonMeta& meta) {
  Json services = Json::array();
  for (const auto& row : listing.rows) services.push_back(serviceJson(row, now));
  return Json{
      {"schema", kFleetSchema},
      {"taken_at", isoTime(now)},
      {"prefix", view.prefix()},
      {"jetstream", meta.jetstream},
      {"notes", meta.notes},
      {"summary", {{"listed", listing.listedCount}, {"running", listing.runningCount}}},
      {"services", std::move(services)},
  };
}

namespace {

/// Writes fleetJson()'s document as `dump(2)` does, byte for byte, without building it: the
/// tree of 10,000 services costs ~30 µs and dozens of allocations a service. Values with no
/// plain form (strings needing escapes, doubles, the children reports) go through nlohmann.
class Writer {
 public:
  /// Appends to @p out; with a @p sink, spill() moves what is written there.
  explicit Writer(std::string& out, std::ostream* sink = nullptr) : out_(out), sink_(sink) {}

  void spill() {
    if (sink_ == nullptr) return;
    sink_->write(out_.data(), static_cast<std::streamsize>(out_.size()));
    out_.clear();
  }

  void str(std::string_view s) {
    const bool plain = std::all_of(s.begin(), s.end(), [](char c) {
      const auto u = static_cast<unsigned char>(c);
      return u >= 0x20 && u < 0x7f && c != '"' && c != '\\';
    });
    if (!plain) {
      out_ += Json(std::string{s}).dump();
      return;
    }
    out_ += '"';
    out_ += s;
    out_ += '"';
  }
  void text(const std::string& s) { s.empty() ? null() : str(s); }
  /// isoTime(), quoted, formatted in place (a fleet of 10,000 has ~60,000 of them).
  void time(p::Timestamp t) {
    const auto f = p::toFields(t);
    fmt::format_to(std::back_inserter(out_), "\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\"", f[0], f[1], f[2], f[3],
                   f[4], f[5], f[6] / 1000);
  }
  void time(const std::optional<p::Timestamp>& t) { t ? time(*t) : null(); }
  void null() { out_ += "null"; }
  void boolean(bool b) { out_ += b ? "true" : "false"; }
  template <class Int>
  void integer(Int i) {
    out_ += fmt::format_int(i).c_str();
  }
  template <class Int>
  void integer(const std::optional<Int>& i) {
    i ? integer(*i) : null();
  }
  void number(double d) { out_ += Json(d).dump(); }
  /// A nested value dumped by nlohmann at the current depth.
  void json(const Json& j) {
    const auto text = j.dump(2);
    const std::string pad(2 * depth_, ' ');
    for (const char c : text) {
      out_ += c;
      if (c == '\n') out_ += pad;  // raw newlines are only the layout's (strings escape theirs)
    }
  }

  /// `{`, then key() per member, then close('}'); empty containers are written as `{}`/`[]`.
  void open(char bracket) {
    out_ += bracket;
    ++depth_;
    first_ = true;
  }
  void close(char bracket) {
    --depth_;
    if (!first_) newline();
    out_ += bracket;
    first_ = false;
  }
  Writer& key(std::string_view k) {
    item();
    out_ += '"';
    out_ += k;
    out_ += "\": ";
    return *this;
  }
  Writer& item() {
    if (!first_) out_ += ',';
    first_ = false;
    newline();
    return *this;
  }

 private:
  void newline() {
    out_ += '\n';
    out_.append(2 * depth_, ' ');
  }

  std::string& out_;
  std::ostream* sink_;
  std::size_t depth_ = 0;
  bool first_ = true;
};

void writeService(Writer& w, const FleetRow& row, p::Timestamp now) {
  const FleetEntry& e = *row.entry;
  w.open('{');
  w.key("id").str(e.id);
  w.key("kind").str(toString(e.kind));
  w.key("parent").text(e.parent);
  w.key("depth").integer(row.depth);
  w.key("status").str(toString(e.status));
  w.key("message").text(e.message);
  w.key("symbol").str(symbolName(row.symbol));
  w.key("running").boolean(row.running);
  w.key("declared").boolean(e.declared());
  w.key("declared_at").time(e.declaredAt);
  w.key("heartbeat").str(toString(row.heartbeat));
  w.key("last_heartbeat").time(e.lastHeartbeat);
  w.key("heartbeat_age_seconds");
  if (e.lastHeartbeat) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - *e.lastHeartbeat).count();
    w.number(static_cast<double>(ms) / 1000.0);
  } else {
    w.null();
  }
  w.key("started_at").time(e.startedAt());
  w.key("ready_at").time(e.readyAt);
  w.key("stopped_at").time(e.stoppedAt);
  w.key("uptime_seconds");
  row.uptime ? w.integer(row.uptime->count()) : w.null();
  w.key("last_status_update");
  e.lastReport ? w.time(e.lastReport->timestamp) : w.null();
  w.key("pid").integer(e.pid);
  w.key("hostname").text(e.hostname);
  w.key("runner_id").text(e.runnerId);
  w.key("restart_policy").text(e.restartPolicy);
  w.key("restart");
  w.open('{');
  w.key("state").str(toString(row.restart));
  w.key("attempt");
  e.lastRestart ? w.integer(e.lastRestart->attempt) : w.null();
  w.key("max");
  e.lastRestart ? w.integer(e.lastRestart->maxRestarts) : w.null();
  w.key("count").integer(restartCount(e));
  w.close('}');
  w.key("last_crash");
  if (e.lastCrash) {
    w.open('{');
    w.key("time").time(e.lastCrash->time);
    w.key("exit_code").integer(e.lastCrash->exitCode);
    w.key("result").text(e.lastCrash->result);
    w.key("will_restart").boolean(e.lastCrash->willRestart);
    w.close('}');
  } else {
    w.null();
  }
  w.key("last_failure");
  if (e.lastFailure) {
    w.open('{');
    w.key("time").time(e.lastFailure->time);
    w.key("reason").text(e.lastFailure->reason);
    w.key("restart_count").integer(e.lastFailure->restartCount);
    w.close('}');
  } else {
    w.null();
  }
  w.key("last_stop");
  if (e.lastStop) {
    w.open('{');
    w.key("time").time(e.lastStop->time);
    w.key("reason").text(e.lastStop->reason);
    w.key("exit_code").integer(e.lastStop->exitCode);
    w.close('}');
  } else {
    w.null();
  }
  w.key("children");
  if (e.lastReport && !e.lastReport->details.children.empty()) {
    Json children = Json::array();
    for (const auto& c : e.lastReport->details.children) children.push_back(reportJson(c));
    w.json(children);
  } else {
    w.open('[');
    w.close(']');
  }
  w.key("duplicate");
  row.duplicate ? w.json(duplicateJson(row)) : w.null();
  w.close('}');
}

}  // namespace

namespace {

void writeDocument(Writer& w, std::string& out, const FleetView& view, const FleetListing& listing, p::Timestamp now,
                   const FleetJsonMeta& meta) {
  w.open('{');
  w.key("schema").str(kFleetSchema);
  w.key("taken_at").time(now);
  w.key("prefix").str(view.prefix());
  w.key("jetstream").boolean(meta.jetstream);
  w.key("notes");
  w.open('[');
  for (const auto& n : meta.notes) w.item().str(n);
  w.close(']');
  w.key("summary");
  w.open('{');
  w.key("listed").integer(listing.listedCount);
  w.key("running").integer(listing.runningCount);
  w.close('}');
  w.key("services");
  w.open('[');
  for (const auto& row : listing.rows) {
    w.item();
    writeService(w, row, now);
    if (out.size() >= 64 * 1024) w.spill();
  }
  w.close(']');
  w.close('}');
  out += '\n';
  w.spill();
}

}  // namespace

std::string fleetJsonText(const FleetView& view, const FleetListing& listing, p::Timestamp now,
                          const FleetJsonMeta& meta) {
  std::string out;
  out.reserve(1024 + 1536 * listing.rows.size());  // ~1,300 bytes a service; the caller may add a line
  Writer w(out);
  writeDocument(w, out, view, listing, now, meta);
  return out;
}

void writeFleetJson(std::ostream& sink, const FleetView& view, const FleetListing& listing, p::Timestamp now,
                    const FleetJsonMeta& meta) {
  std::string out;
  out.reserve(80 * 1024);
  Writer w(out, &sink);
  writeDocument(w, out, view, listing, now, meta);
}

}  // namespace tcs::ctl
