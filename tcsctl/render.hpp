// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tcs/fleet.hpp"
#include "tcs/protocol/timestamp.hpp"

/**
 * @file
 * tcsctl's text output: a FleetView listing as upstream tcsctl 0.3.3 prints it (the table, the
 * `--detailed` view and the `--legend`), `upstream-behaviour.md` §6.7–§6.8.
 *
 * Given a view with FleetRules::upstreamTcsctl(), the text is upstream's byte for byte
 * (tests/tcsctl/upstream_render_test.cpp replays the captured traffic and compares every
 * captured block). With any other rules (tcs's) it adds what upstream's client never filled or
 * got wrong: the restart indicator ` ⟳(N/M)` / ` ✗(N/M)` / ` ↻(N/M)` of the table, and the
 * detailed lines `Ready:`, `Last Status:`, `Restarts:`, systemd's result in `Last Crash:` and
 * the real maximum in `Restart:`. Pure functions: no clock, no I/O, no terminal detection.
 */
namespace tcs::ctl {

/** @brief How to print: the caller decides (a TTY, `--no-color`, `$COLUMNS`, the locale). */
struct RenderStyle {
  bool color = false;     ///< ANSI colours (§6.8): status colour, bold name, cyan uptime, dim details
  bool unicode = true;    ///< false: ASCII symbols `* ~ ! x o`, `(<3)`, `|- `, `R X r`, `inf`
  std::size_t width = 0;  ///< table lines fit this many columns; 0 = unlimited (upstream's output)
};

/** @return whether @p rules are upstream tcsctl's (FleetRules::upstreamTcsctl()): then the
 *          output is exactly upstream's, without tcs's additions */
bool upstreamCompatible(const FleetRules& rules) noexcept;

/**
 * @brief The default view: a blank line, one line per row
 *        (`<indent><symbol> <id> [<status>][ (♥)][ up:…][ pid:…][ @host][ <restart>][ - <message>]`),
 *        a blank line, the @p notes (dim), the summary and a blank line; `No services found`
 *        (or `… matching …`) alone when the listing is empty.
 * @param[in] view - the view @p listing was made from (its rules choose upstream's or tcs's text)
 * @param[in] listing - view.list(now, query)
 * @param[in] now - the time the ages are computed at (listing's `now`)
 * @param[in] notes - lines printed dim before the summary, e.g. `JetStream not available: live
 *                    messages only`; upstream has none
 */
std::string renderTable(const FleetView& view, const FleetListing& listing, protocol::Timestamp now,
                        const RenderStyle& style, std::span<const std::string> notes = {});

/**
 * @brief `--detailed`: per row a line `<symbol> <id> [<status>][ (♥)]` and 4-space-indented
 *        fields with 13-character labels, a blank line after each, then the notes and the
 *        summary as renderTable(). RenderStyle::width is not applied (fields are not cut).
 */
std::string renderDetailed(const FleetView& view, const FleetListing& listing, protocol::Timestamp now,
                           const RenderStyle& style, std::span<const std::string> notes = {});

/** @return the processes of a duplicate for people: `tel1 (pid 100), tel2 (pid 200)` (short
 *          hostnames; `?` for a pid not known) */
std::string describeDuplicate(const FleetDuplicate& d);

/** @return one warning line per listed service that runs twice (FleetView::duplicate()):
 *          `WARNING: cam.main is running twice at once: tel1 (pid 100), tel2 (pid 200)`
 *          (`… reported by launcher.L …` when a supervisor's event says so); tcsctl prints them
 *          on stderr. Empty under upstream's rules. */
std::vector<std::string> duplicateWarnings(const FleetView& view, const FleetListing& listing);

/** @brief `--legend`: what the symbols, hearts and restart indicators mean. */
std::string renderLegend(const RenderStyle& style);

/** @return `YYYY-MM-DD HH:MM:SS UTC (<age> ago)`, the detailed view's times (seconds truncated) */
std::string formatTimeAgo(protocol::Timestamp t, protocol::Timestamp now);

/** @return the columns @p text takes on a terminal: code points, ANSI escape sequences excluded
 *          (every glyph tcsctl prints is one column wide) */
std::size_t displayWidth(std::string_view text) noexcept;

}  // namespace tcs::ctl
