// SPDX-License-Identifier: MIT
#include "fleet_json.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <optional>

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

/// A child report as upstream publishes it in `details.children`, its times as ISO strings.
Json report(const p::StatusReport& r) {
  Json j{{"name", r.name},
         {"status", toString(r.status)},
         {"timestamp", isoTime(r.timestamp)},
         {"message", text(r.message)}};
  Json details = Json::object();
  if (r.details.ownStatus) details["own_status"] = toString(*r.details.ownStatus);
  if (!r.details.children.empty()) {
    Json kids = Json::array();
    for (const auto& c : r.details.children) kids.push_back(report(c));
    details["children"] = std::move(kids);
  }
  if (!r.details.metrics.empty()) details["metrics"] = Json::parse(r.details.metrics.text());
  j["details"] = details.empty() ? Json(nullptr) : std::move(details);
  return j;
}

/// restart.count: restarts so far, from the newer of the last failed / restarting event.
int restartCount(const FleetEntry& e) {
  const bool failureIsNewer = e.lastFailure && (!e.lastRestart || e.lastFailure->time >= e.lastRestart->time);
  if (failureIsNewer) return e.lastFailure->restartCount;
  return e.lastRestart ? e.lastRestart->attempt : 0;
}

Json service(const FleetView& view, const FleetRow& row, p::Timestamp now) {
  (void)view;
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
    for (const auto& c : e.lastReport->details.children) children.push_back(report(c));
  j["children"] = std::move(children);
  return j;
}

}  // namespace

std::string isoTime(p::Timestamp t) {
  const auto f = p::toFields(t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", f[0], f[1], f[2], f[3], f[4], f[5], f[6] / 1000);
}

nlohmann::ordered_json fleetJson(const FleetView& view, const FleetListing& listing, p::Timestamp now,
                                 const FleetJsonMeta& meta) {
  Json services = Json::array();
  for (const auto& row : listing.rows) services.push_back(service(view, row, now));
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

std::string fleetJsonText(const FleetView& view, const FleetListing& listing, p::Timestamp now,
                          const FleetJsonMeta& meta) {
  return fleetJson(view, listing, now, meta).dump(2) + "\n";
}

}  // namespace tcs::ctl
