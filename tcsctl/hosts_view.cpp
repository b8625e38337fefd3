// SPDX-License-Identifier: MIT
// `tcsctl hosts` as text and JSON.
#include "hosts_view.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "fleet_json.hpp"

namespace tcs::ctl {

namespace {

std::string_view symbolFor(HeartbeatLiveness l, const RenderStyle& style) {
  switch (l) {
    case HeartbeatLiveness::Alive: return style.unicode ? glyph(FleetSymbol::Healthy) : "*";
    case HeartbeatLiveness::Stale: return style.unicode ? glyph(FleetSymbol::Warning) : "~";
    default: return style.unicode ? glyph(FleetSymbol::Problem) : "!";
  }
}

std::string_view colorFor(HeartbeatLiveness l) {
  switch (l) {
    case HeartbeatLiveness::Alive: return "\x1b[32m";
    case HeartbeatLiveness::Stale: return "\x1b[33m";
    default: return "\x1b[31m";
  }
}

}  // namespace

std::string renderHosts(const std::vector<control::HostInfo>& hosts, protocol::Timestamp now,
                        const RenderStyle& style) {
  if (hosts.empty()) return "\nNo launchers found (is tcs-supervisor running and reporting to this NATS?)\n\n";
  std::size_t idWidth = 0;
  for (const auto& h : hosts) idWidth = std::max(idWidth, h.launcherId.size());
  std::string out = "\n";
  for (const auto& h : hosts) {
    const auto symbol = std::string{symbolFor(h.liveness, style)};
    const auto age =
        h.entry.lastHeartbeat
            ? fmt::format("last HB {} ago",
                          formatDuration(std::chrono::floor<std::chrono::seconds>(now - *h.entry.lastHeartbeat)))
            : std::string("no heartbeat");
    const auto line =
        fmt::format("{:<{}} {:<5} {}/{} running  {}{}", h.launcherId, idWidth, toString(h.liveness), h.running,
                    h.services, age, h.entry.hostname.empty() ? "" : fmt::format("  @{}", h.entry.hostname));
    if (style.color)
      out += fmt::format("{}{}\x1b[0m {}\n", colorFor(h.liveness), symbol, line);
    else
      out += fmt::format("{} {}\n", symbol, line);
  }
  out += fmt::format("\n{} launcher{}\n\n", hosts.size(), hosts.size() == 1 ? "" : "s");
  return out;
}

std::string hostsJsonText(const std::vector<control::HostInfo>& hosts, protocol::Timestamp now, bool jetstream,
                          const std::vector<std::string>& notes) {
  using Json = nlohmann::ordered_json;
  Json list = Json::array();
  for (const auto& h : hosts) {
    Json j;
    j["launcher_id"] = h.launcherId;
    j["name"] = h.entry.id;
    j["hostname"] = h.entry.hostname.empty() ? Json(nullptr) : Json(h.entry.hostname);
    j["pid"] = h.entry.pid ? Json(*h.entry.pid) : Json(nullptr);
    j["heartbeat"] = toString(h.liveness);
    j["last_heartbeat"] = h.entry.lastHeartbeat ? Json(isoTime(*h.entry.lastHeartbeat)) : Json(nullptr);
    j["heartbeat_age_seconds"] = h.entry.lastHeartbeat
                                     ? Json(std::chrono::duration<double>(now - *h.entry.lastHeartbeat).count())
                                     : Json(nullptr);
    j["status"] = toString(h.entry.status);
    j["services"] = h.services;
    j["running"] = h.running;
    list.push_back(std::move(j));
  }
  Json doc;
  doc["schema"] = "tcs.hosts/1";
  doc["taken_at"] = isoTime(now);
  doc["jetstream"] = jetstream;
  doc["notes"] = notes;
  doc["hosts"] = std::move(list);
  return doc.dump(2);
}

}  // namespace tcs::ctl
