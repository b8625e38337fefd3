// SPDX-License-Identifier: MIT
// tcsctl's rendering library, rule by rule: width fitting, truncation, ASCII, colour, the empty
// listing, and the JSON document's keys.
#include "render.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "fleet_fixture.hpp"
#include "fleet_json.hpp"

namespace {

namespace fx = tcs::test::fleet;
namespace p = tcs::protocol;
using tcs::ctl::displayWidth;
using tcs::ctl::RenderStyle;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

/// The fleet of the goldens plus a service with a very long id, two levels down.
tcs::FleetView wideFleet() {
  auto view = fx::buildFleet();
  fx::Feed f{view};
  f.status("dome.main.shutter.motor_controller_with_a_very_long_name_indeed_x", tcs::Status::Ok, 20, 1201, "Motor idle",
           "dome.main.shutter");
  f.heartbeat("dome.main.shutter.motor_controller_with_a_very_long_name_indeed_x", 590);
  return view;
}

/// `<indent><tree><symbol> <id>` of a row, as the unlimited table prints it.
std::vector<std::string> heads(const tcs::FleetListing& listing, bool unicode) {
  std::vector<std::string> out;
  for (const auto& row : listing.rows) {
    std::string h;
    if (row.depth > 0) h = std::string(2 * (row.depth - 1), ' ') + (unicode ? "  ├─ " : "  |- ");
    out.push_back(h + std::string{unicode ? tcs::glyph(row.symbol) : ""} + (unicode ? " " : "") + row.entry->id);
  }
  return out;
}

TEST(ATableRendering, FitsEightyColumnsWithoutBreakingTheTree) {
  const auto view = wideFleet();
  const auto listing = view.list(fx::kNow, {true, ""});
  const auto want = heads(listing, true);
  for (std::size_t width = 30; width <= 140; ++width) {
    SCOPED_TRACE("width " + std::to_string(width));
    const auto out = lines(tcs::ctl::renderTable(view, listing, fx::kNow, RenderStyle{false, true, width}));
    ASSERT_EQ(out.size(), listing.rows.size() + 4);  // blank, rows, blank, summary, blank
    for (std::size_t i = 0; i < listing.rows.size(); ++i) {
      const auto& line = out[i + 1];
      EXPECT_TRUE(line.starts_with(want[i])) << line;  // the tree, the symbol and the id, whole
      if (displayWidth(want[i]) <= width)
        EXPECT_LE(displayWidth(line), width) << line;
      else
        EXPECT_EQ(line, want[i]);  // wider than the screen alone: nothing else printed
    }
  }
}

TEST(ATableRendering, ShortensTheMessageBeforeDroppingTheHost) {
  const auto view = fx::buildFleet();
  const auto listing = view.list(fx::kNow, {true, ""});
  auto lineOf = [&](std::size_t width, const std::string& id) {
    for (const auto& l : lines(tcs::ctl::renderTable(view, listing, fx::kNow, RenderStyle{false, true, width})))
      if (l.find(" " + id + " ") != std::string::npos) return l;
    return std::string{};
  };
  const std::string full = lineOf(0, "focuser.main");
  EXPECT_EQ(full, "  ├─ × focuser.main [failed] pid:1304 @tel1 ✗(3/3) - Failed (restart_limit_reached, 3 restarts)");
  EXPECT_EQ(lineOf(displayWidth(full), "focuser.main"), full);  // fits: unchanged
  // The line without its message is 50 columns wide; " - " and one character and "..." need 7.
  EXPECT_EQ(lineOf(70, "focuser.main"), "  ├─ × focuser.main [failed] pid:1304 @tel1 ✗(3/3) - Failed (restar...");
  EXPECT_EQ(lineOf(57, "focuser.main"), "  ├─ × focuser.main [failed] pid:1304 @tel1 ✗(3/3) - F...");
  // No room for a message of at least one character and "...": the message goes, the host stays.
  EXPECT_EQ(lineOf(56, "focuser.main"), "  ├─ × focuser.main [failed] pid:1304 @tel1 ✗(3/3)");
  EXPECT_EQ(lineOf(50, "focuser.main"), "  ├─ × focuser.main [failed] pid:1304 @tel1 ✗(3/3)");
  // Then the host, then the pid; the message does not come back.
  EXPECT_EQ(lineOf(49, "focuser.main"), "  ├─ × focuser.main [failed] pid:1304 ✗(3/3)");
  EXPECT_EQ(lineOf(43, "focuser.main"), "  ├─ × focuser.main [failed] ✗(3/3)");
}

TEST(ATableRendering, TruncatesMessagesLongerThanSixtyCharactersAsUpstreamDoes) {
  tcs::FleetView view;
  fx::Feed f{view};
  const std::string sixty(60, 'a'), sixtyOne = std::string(57, 'b') + "cccc";
  // 61 code points, 70 bytes: upstream counts characters, not bytes.
  const std::string accented = std::string(52, 'd') + "ééééééééé";
  f.status("a.sixty", tcs::Status::Ok, 1, 1, sixty, "");
  f.status("b.sixty_one", tcs::Status::Ok, 1, 2, sixtyOne, "");
  f.status("c.accented", tcs::Status::Ok, 1, 3, accented, "");
  for (const auto* id : {"a.sixty", "b.sixty_one", "c.accented"}) f.heartbeat(id, 1);
  const auto out = lines(tcs::ctl::renderTable(view, view.list(fx::at(2)), fx::at(2), RenderStyle{}));
  ASSERT_EQ(out.size(), 7u);
  EXPECT_TRUE(out[1].ends_with(" - " + sixty)) << out[1];
  EXPECT_TRUE(out[2].ends_with(" - " + std::string(57, 'b') + "...")) << out[2];
  EXPECT_TRUE(out[3].ends_with(" - " + std::string(52, 'd') + "ééééé...")) << out[3];
  // The detailed view prints the whole message.
  EXPECT_NE(tcs::ctl::renderDetailed(view, view.list(fx::at(2)), fx::at(2), RenderStyle{}).find(sixtyOne),
            std::string::npos);
}

TEST(ATableRendering, FallsBackToAsciiWithoutUnicode) {
  const auto view = fx::buildFleet();
  const auto listing = view.list(fx::kNow, {true, ""});
  for (const auto& text : {tcs::ctl::renderTable(view, listing, fx::kNow, RenderStyle{false, false, 0}),
                           tcs::ctl::renderTable(view, listing, fx::kNow, RenderStyle{false, false, 80}),
                           tcs::ctl::renderDetailed(view, listing, fx::kNow, RenderStyle{false, false, 0}),
                           tcs::ctl::renderLegend(RenderStyle{false, false, 0})})
    for (const unsigned char c : text) ASSERT_LT(c, 0x80) << text;
  const auto table = tcs::ctl::renderTable(view, listing, fx::kNow, RenderStyle{false, false, 0});
  for (const auto* s : {"* launcher.L1", "|- * cam.main", "|- ~ dome.main", "    |- * dome.main.shutter",
                        "|- o filter.main", "|- x focuser.main", "(<3)", " R(1/3) ", " X(3/3) ", " r(2/inf) "})
    EXPECT_NE(table.find(s), std::string::npos) << s;
}

TEST(TheRenderers, PrintNoColourEscapesWithoutColour) {
  const auto view = fx::buildFleet();
  const auto listing = view.list(fx::kNow, {true, ""});
  const std::vector<std::string> notes{"a note"};
  for (const bool unicode : {true, false}) {
    const RenderStyle plain{false, unicode, 0}, color{true, unicode, 0};
    EXPECT_EQ(tcs::ctl::renderTable(view, listing, fx::kNow, plain, notes).find('\x1b'), std::string::npos);
    EXPECT_EQ(tcs::ctl::renderTable(view, listing, fx::kNow, RenderStyle{false, unicode, 80}).find('\x1b'),
              std::string::npos);
    EXPECT_EQ(tcs::ctl::renderDetailed(view, listing, fx::kNow, plain, notes).find('\x1b'), std::string::npos);
    EXPECT_EQ(tcs::ctl::renderLegend(plain).find('\x1b'), std::string::npos);
    EXPECT_NE(tcs::ctl::renderTable(view, listing, fx::kNow, color).find("\x1b[32m"), std::string::npos);
    EXPECT_NE(tcs::ctl::renderDetailed(view, listing, fx::kNow, color).find("\x1b[31m"), std::string::npos);
    EXPECT_NE(tcs::ctl::renderLegend(color).find("\x1b[33m"), std::string::npos);
  }
  // Colour changes nothing but the escapes: the widths are the same.
  const auto plainLines = lines(tcs::ctl::renderTable(view, listing, fx::kNow, RenderStyle{false, true, 80}));
  const auto colorLines = lines(tcs::ctl::renderTable(view, listing, fx::kNow, RenderStyle{true, true, 80}));
  ASSERT_EQ(plainLines.size(), colorLines.size());
  for (std::size_t i = 0; i < plainLines.size(); ++i)
    EXPECT_EQ(displayWidth(plainLines[i]), displayWidth(colorLines[i])) << plainLines[i];
}

TEST(TheRenderers, PrintOnlyTheSummaryAndNotesForAnEmptyListing) {
  const tcs::FleetView view;
  const std::vector<std::string> notes{"JetStream not available: live messages only"};
  EXPECT_EQ(tcs::ctl::renderTable(view, view.list(fx::kNow), fx::kNow, {}), "No services found\n");
  EXPECT_EQ(tcs::ctl::renderDetailed(view, view.list(fx::kNow, {false, "cam"}), fx::kNow, {}),
            "No services matching 'cam' found\n");
  EXPECT_EQ(tcs::ctl::renderTable(view, view.list(fx::kNow), fx::kNow, {}, notes),
            "JetStream not available: live messages only\nNo services found\n");
}

TEST(TheRenderers, PrintTimesWithTheirAgeAsUpstreamDoes) {
  EXPECT_EQ(tcs::ctl::formatTimeAgo(fx::at(1.9), fx::at(5.8)), "2026-11-25 12:00:01 UTC (3s ago)");
  EXPECT_EQ(tcs::ctl::formatTimeAgo(fx::at(0), fx::at(3 * 3600 + 125)), "2026-11-25 12:00:00 UTC (3h 2m ago)");
  EXPECT_EQ(tcs::ctl::formatTimeAgo(fx::at(10), fx::at(9)), "2026-11-25 12:00:10 UTC (0s ago)");  // clock skew
}

TEST(ADetailedRendering, AddsTcsLinesOnlyUnderTcsRules) {
  for (const bool upstream : {false, true}) {
    SCOPED_TRACE(upstream ? "upstream rules" : "tcs rules");
    const auto view = fx::buildFleet(upstream ? tcs::FleetRules::upstreamTcsctl() : tcs::FleetRules::tcs());
    EXPECT_EQ(tcs::ctl::upstreamCompatible(view.rules()), upstream);
    const auto listing = view.list(fx::kNow, {true, ""});
    const auto text = tcs::ctl::renderDetailed(view, listing, fx::kNow, {});
    for (const auto* tcsOnly : {"    Ready:       ", "    Last Status: ", "    Restarts:    ", ", result: "})
      EXPECT_EQ(text.find(tcsOnly) != std::string::npos, !upstream) << tcsOnly;
    EXPECT_EQ(text.find("(exit code: 1, result: exit-code)") != std::string::npos, !upstream);
    const auto table = tcs::ctl::renderTable(view, listing, fx::kNow, {});
    for (const auto* indicator : {"⟳", "✗", "↻"}) EXPECT_EQ(table.find(indicator) != std::string::npos, !upstream);
  }
}

TEST(DisplayWidth, CountsCodePointsAndSkipsEscapes) {
  EXPECT_EQ(displayWidth(""), 0u);
  EXPECT_EQ(displayWidth("abc"), 3u);
  EXPECT_EQ(displayWidth("  ├─ ● x (♥) ⟳(1/∞)"), 19u);
  EXPECT_EQ(displayWidth("\x1b[32m●\x1b[0m \x1b[1mname\x1b[0m"), 6u);
}

const std::vector<std::string> kServiceKeys{"id",
                                            "kind",
                                            "parent",
                                            "depth",
                                            "status",
                                            "message",
                                            "symbol",
                                            "running",
                                            "declared",
                                            "declared_at",
                                            "heartbeat",
                                            "last_heartbeat",
                                            "heartbeat_age_seconds",
                                            "started_at",
                                            "ready_at",
                                            "stopped_at",
                                            "uptime_seconds",
                                            "last_status_update",
                                            "pid",
                                            "hostname",
                                            "runner_id",
                                            "restart_policy",
                                            "restart",
                                            "last_crash",
                                            "last_failure",
                                            "last_stop",
                                            "children",
                                            "duplicate"};  // tcs addition (null unless the id runs twice)

std::vector<std::string> keysOf(const nlohmann::ordered_json& j) {
  std::vector<std::string> out;
  for (const auto& [k, v] : j.items()) out.push_back(k);
  return out;
}

TEST(TheJsonDocument, HasEveryKeyOnEveryServiceWithNullForAbsentValues) {
  const auto view = fx::buildFleet();
  const auto listing = view.list(fx::kNow, {true, ""});
  const auto j = tcs::ctl::fleetJson(view, listing, fx::kNow, {});
  EXPECT_EQ(keysOf(j),
            (std::vector<std::string>{"schema", "taken_at", "prefix", "jetstream", "notes", "summary", "services"}));
  EXPECT_EQ(j["schema"], "tcs.fleet/1");
  EXPECT_EQ(j["taken_at"], "2026-11-25T12:10:00.000Z");
  EXPECT_EQ(j["summary"], (nlohmann::ordered_json{{"listed", 9}, {"running", 7}}));
  ASSERT_EQ(j["services"].size(), listing.rows.size());
  for (std::size_t i = 0; i < listing.rows.size(); ++i) {
    const auto& s = j["services"][i];
    SCOPED_TRACE(s["id"].get<std::string>());
    EXPECT_EQ(s["id"], listing.rows[i].entry->id);  // display order
    EXPECT_EQ(keysOf(s), kServiceKeys);
    EXPECT_EQ(keysOf(s["restart"]), (std::vector<std::string>{"state", "attempt", "max", "count"}));
    if (!s["last_crash"].is_null()) {
      EXPECT_EQ(keysOf(s["last_crash"]), (std::vector<std::string>{"time", "exit_code", "result", "will_restart"}));
    }
    if (!s["last_failure"].is_null()) {
      EXPECT_EQ(keysOf(s["last_failure"]), (std::vector<std::string>{"time", "reason", "restart_count"}));
    }
    if (!s["last_stop"].is_null()) {
      EXPECT_EQ(keysOf(s["last_stop"]), (std::vector<std::string>{"time", "reason", "exit_code"}));
    }
    EXPECT_TRUE(s["children"].is_array());
  }
  // The launcher: no registry events, so no start, runner, policy, crash… — null, not missing.
  const auto& launcher = j["services"][0];
  ASSERT_EQ(launcher["id"], "launcher.L1");
  for (const auto* k : {"parent", "declared_at", "started_at", "ready_at", "stopped_at", "uptime_seconds", "runner_id",
                        "restart_policy", "last_crash", "last_failure", "last_stop"})
    EXPECT_TRUE(launcher[k].is_null()) << k;
  EXPECT_EQ(launcher["kind"], "launcher");
  EXPECT_EQ(launcher["restart"]["attempt"], nullptr);
  // Children as the status report carries them; unlimited restarts are a null max.
  const auto dome =
      std::find_if(j["services"].begin(), j["services"].end(), [](const auto& s) { return s["id"] == "dome.main"; });
  ASSERT_NE(dome, j["services"].end());
  ASSERT_EQ((*dome)["children"].size(), 2u);
  EXPECT_EQ((*dome)["children"][0]["name"], "link");
  EXPECT_EQ((*dome)["children"][0]["timestamp"], "2026-11-25T12:08:20.000Z");
  EXPECT_EQ((*dome)["children"][1]["details"]["metrics"]["reads"], 42);
  const auto mount =
      std::find_if(j["services"].begin(), j["services"].end(), [](const auto& s) { return s["id"] == "mount.main"; });
  ASSERT_NE(mount, j["services"].end());
  EXPECT_EQ((*mount)["restart"],
            (nlohmann::ordered_json{{"state", "recovered"}, {"attempt", 2}, {"max", nullptr}, {"count", 2}}));
}

TEST(TheJsonDocument, IsWrittenAsTheTreeWouldBeDumped) {
  // fleetJsonText() writes the text directly (10,000 services in milliseconds); it must be
  // fleetJson().dump(2) byte for byte: every entry kind of the fixture, notes, children with
  // metrics, strings that need escaping or are not ASCII, fractional heartbeat ages.
  auto view = wideFleet();
  fx::Feed f{view};
  f.status("quote.main", tcs::Status::Warning, 30, 77, "say \"hi\"\\ tab\there\nnew line \x01 ünïcødé ☃", "");
  f.heartbeat("quote.main", 599.1234);
  for (int i = 0; i < 100; ++i) {  // more than the 64 KiB writeFleetJson() writes at a time
    f.status("bulk.s" + std::to_string(i), tcs::Status::Ok, 40, 2000 + i, "fine");
    f.heartbeat("bulk.s" + std::to_string(i), 595);
  }
  const std::vector<std::string> notes{"a note", "another \"quoted\" one"};
  for (const bool all : {true, false}) {
    const auto listing = view.list(fx::kNow, {all, ""});
    for (const auto& meta : {tcs::ctl::FleetJsonMeta{true, notes}, tcs::ctl::FleetJsonMeta{false, {}}}) {
      const auto text = tcs::ctl::fleetJsonText(view, listing, fx::kNow, meta);
      EXPECT_EQ(text, tcs::ctl::fleetJson(view, listing, fx::kNow, meta).dump(2) + "\n");
      std::ostringstream streamed;  // written a piece at a time
      tcs::ctl::writeFleetJson(streamed, view, listing, fx::kNow, meta);
      EXPECT_EQ(streamed.str(), text);
      if (all) {
        EXPECT_GT(text.size(), 64u * 1024);
      }
    }
  }
  const tcs::FleetView empty;
  EXPECT_EQ(tcs::ctl::fleetJsonText(empty, empty.list(fx::kNow), fx::kNow, {}),
            tcs::ctl::fleetJson(empty, empty.list(fx::kNow), fx::kNow, {}).dump(2) + "\n");
}

TEST(TheJsonDocument, WritesTimesAsIsoUtcWithMilliseconds) {
  EXPECT_EQ(tcs::ctl::isoTime(fx::at(1.2346)), "2026-11-25T12:00:01.234Z");
  EXPECT_EQ(tcs::ctl::isoTime(fx::at(0)), "2026-11-25T12:00:00.000Z");
  const tcs::FleetView empty;
  const auto text = tcs::ctl::fleetJsonText(empty, empty.list(fx::kNow), fx::kNow, {true, {}});
  EXPECT_TRUE(text.ends_with("\n"));
  EXPECT_EQ(nlohmann::ordered_json::parse(text)["services"], nlohmann::ordered_json::array());
  EXPECT_NE(text.find("\n  \"schema\": \"tcs.fleet/1\""), std::string::npos);  // 2-space indent
}

}  // namespace
