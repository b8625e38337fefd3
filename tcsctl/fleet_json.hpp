// SPDX-License-Identifier: MIT
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "tcs/fleet.hpp"
#include "tcs/protocol/timestamp.hpp"

/**
 * @file
 * `tcsctl --json`: a FleetView listing as the stable schema `tcs.fleet/1`, which the web view
 * will serve too. doc/tcsctl.md ("JSON schema") lists every key, its type and meaning; every key
 * is always present, absent values are null. Pure functions: no clock, no I/O.
 */
namespace tcs::ctl {

/** @brief The schema name and version of fleetJson()'s output. */
inline constexpr const char* kFleetSchema = "tcs.fleet/1";

/** @brief What the listing itself does not know: how it was collected. */
struct FleetJsonMeta {
  bool jetstream = true;           ///< false: no JetStream snapshot, live messages only
  std::vector<std::string> notes;  ///< what the text view prints dim before the summary
};

/** @return `2026-11-25T17:51:06.123Z`: ISO-8601 UTC with milliseconds (truncated) */
std::string isoTime(protocol::Timestamp t);

/** @return a status report as a `children` element of tcs.fleet/1: `{name, status, timestamp,
 *          message, details: {own_status, children, metrics} or null}` */
nlohmann::ordered_json reportJson(const protocol::StatusReport& report);

/** @return the `tcs.fleet/1` object of one row (a service or launcher; `heartbeat_age_seconds`
 *          and `uptime_seconds` computed at @p now) */
nlohmann::ordered_json serviceJson(const FleetRow& row, protocol::Timestamp now);

/**
 * @brief The `tcs.fleet/1` document of @p listing: `{"schema", "taken_at", "prefix",
 *        "jetstream", "notes", "summary", "services": [one object per row, display order]}`.
 * @param[in] view - the view @p listing was made from
 * @param[in] listing - view.list(now, query)
 * @param[in] now - the listing's time (`taken_at`, ages)
 */
nlohmann::ordered_json fleetJson(const FleetView& view, const FleetListing& listing, protocol::Timestamp now,
                                 const FleetJsonMeta& meta);

/** @return fleetJson() as text, indented by 2 spaces, with a final newline */
std::string fleetJsonText(const FleetView& view, const FleetListing& listing, protocol::Timestamp now,
                          const FleetJsonMeta& meta);

/** @brief Writes fleetJsonText() to @p out a piece at a time (no 13 MB string at 10,000 services). */
void writeFleetJson(std::ostream& out, const FleetView& view, const FleetListing& listing, protocol::Timestamp now,
                    const FleetJsonMeta& meta);

}  // namespace tcs::ctl
