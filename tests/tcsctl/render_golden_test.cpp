// SPDX-License-Identifier: MIT
// tcsctl's output for tcs's rules, against the goldens in tests/tcsctl/golden/: a hand-built
// fleet (fleet_fixture.hpp) rendered as the table (Unicode, ASCII, 80 columns, colour), the
// detailed view, the legend and the JSON document. TCS_UPDATE_GOLDEN=1 rewrites the files
// (review the diff before committing them).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fleet_fixture.hpp"
#include "fleet_json.hpp"
#include "render.hpp"
#include "upstream_vectors.hpp"

namespace {

namespace fx = tcs::test::fleet;
using tcs::ctl::RenderStyle;

const std::filesystem::path kGoldenDir = TCS_TCSCTL_GOLDEN_DIR;

bool updating() {
  const char* v = std::getenv("TCS_UPDATE_GOLDEN");
  return v && std::string{v} == "1";
}

void expectGolden(const std::string& name, const std::string& got) {
  const auto path = kGoldenDir / name;
  if (updating()) {
    std::filesystem::create_directories(kGoldenDir);
    std::ofstream(path, std::ios::binary) << got;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path << " is missing (TCS_UPDATE_GOLDEN=1 writes it)";
  std::ostringstream want;
  want << in.rdbuf();
  EXPECT_TRUE(want.str() == got) << name << " differs (- golden, + rendered; TCS_UPDATE_GOLDEN=1 rewrites it):\n"
                                 << fx::textDiff(want.str(), got);
}

const std::vector<std::string> kNotes{"JetStream not available: live messages only"};

class TheTcsGoldens : public ::testing::Test {
 protected:
  tcs::FleetView view = fx::buildFleet();
  tcs::FleetListing all = view.list(fx::kNow, {true, ""});
};

TEST_F(TheTcsGoldens, MatchTheUnicodeTable) {
  expectGolden("table.txt", tcs::ctl::renderTable(view, all, fx::kNow, RenderStyle{}));
}

TEST_F(TheTcsGoldens, MatchTheDefaultTableWithANote) {
  expectGolden("table_default_notes.txt",
               tcs::ctl::renderTable(view, view.list(fx::kNow), fx::kNow, RenderStyle{}, kNotes));
}

TEST_F(TheTcsGoldens, MatchTheAsciiTable) {
  expectGolden("table_ascii.txt", tcs::ctl::renderTable(view, all, fx::kNow, RenderStyle{false, false, 0}));
}

TEST_F(TheTcsGoldens, MatchTheTableAtEightyColumns) {
  expectGolden("table_80.txt", tcs::ctl::renderTable(view, all, fx::kNow, RenderStyle{false, true, 80}));
  expectGolden("table_80_ascii.txt", tcs::ctl::renderTable(view, all, fx::kNow, RenderStyle{false, false, 80}));
}

TEST_F(TheTcsGoldens, MatchTheColourTable) {
  expectGolden("table_color.txt", tcs::ctl::renderTable(view, all, fx::kNow, RenderStyle{true, true, 0}, kNotes));
}

TEST_F(TheTcsGoldens, MatchTheDetailedView) {
  expectGolden("detailed.txt", tcs::ctl::renderDetailed(view, all, fx::kNow, RenderStyle{}));
  expectGolden("detailed_color.txt", tcs::ctl::renderDetailed(view, all, fx::kNow, RenderStyle{true, true, 0}));
}

TEST_F(TheTcsGoldens, MatchTheLegends) {
  expectGolden("legend.txt", tcs::ctl::renderLegend(RenderStyle{}));
  expectGolden("legend_ascii.txt", tcs::ctl::renderLegend(RenderStyle{false, false, 0}));
}

TEST_F(TheTcsGoldens, MatchTheJsonDocument) {
  expectGolden("fleet.json", tcs::ctl::fleetJsonText(view, all, fx::kNow, {false, kNotes}));
}

TEST_F(TheTcsGoldens, MatchTheWarningsTableAndJsonOfAServiceRunningOnTwoHosts) {
  // mount.main started a second time on tel2 while tel1's copy still runs (its own sender name).
  fx::Feed tel2{view, "launcher.L2", "tel2"};
  auto second = [&](double t, bool heartbeat) {
    auto m = fx::meta(fx::at(t));
    m.sender = "Messenger_tel2";
    if (heartbeat) {
      tcs::protocol::Heartbeat h;
      h.serviceId = "mount.main";
      h.timestamp = fx::at(t);
      h.status = tcs::Status::Ok;
      view.apply(tcs::protocol::heartbeatSubject("svc", "mount.main"), tcs::protocol::encode(h, m), fx::at(t));
    } else {
      tcs::protocol::StatusUpdate u;
      u.name = "mount.main";
      u.status = tcs::Status::Ok;
      u.timestamp = fx::at(t);
      u.message = "Tracking";
      u.parent = "launcher.L2";
      u.pid = 2501;
      u.hostname = "tel2.example.org";
      view.apply(tcs::protocol::statusSubject("svc", "mount.main"), tcs::protocol::encode(u, m), fx::at(t));
    }
  };
  second(596, false);
  second(597, true);
  const auto listing = view.list(fx::kNow, {true, ""});
  std::string text;
  for (const auto& w : tcs::ctl::duplicateWarnings(view, listing)) text += "tcsctl: " + w + "\n";
  text += tcs::ctl::renderTable(view, listing, fx::kNow, RenderStyle{});
  text += tcs::ctl::renderTable(view, listing, fx::kNow, RenderStyle{false, false, 80});
  expectGolden("duplicate.txt", text);
  std::string json = tcs::ctl::fleetJsonText(view, listing, fx::kNow, {false, {}});
  const auto doc = nlohmann::ordered_json::parse(json);
  for (const auto& svc : doc.at("services"))
    if (svc.at("id") == "mount.main")
      EXPECT_EQ(svc.at("duplicate").dump(),
                R"({"observed":true,"hosts":[{"hostname":"tel1","pid":1503,"launcher":"launcher.L1"},)"
                R"({"hostname":"tel2.example.org","pid":2501,"launcher":"launcher.L2"}]})");
    else
      EXPECT_TRUE(svc.at("duplicate").is_null()) << svc.at("id");
}

TEST(TheUpstreamRules, GiveUpstreamsTextForTheSameFleet) {
  // The same messages under upstream's rules: no restart indicators, no tcs detail lines, the
  // given-up service still [ok], the orphan's child dropped.
  const auto view = fx::buildFleet(tcs::FleetRules::upstreamTcsctl());
  const auto all = view.list(fx::kNow, {true, ""});
  expectGolden("upstream_table.txt", tcs::ctl::renderTable(view, all, fx::kNow, RenderStyle{}));
  expectGolden("upstream_detailed.txt", tcs::ctl::renderDetailed(view, all, fx::kNow, RenderStyle{}));
}

TEST(TheUpstreamTraffic, UnderTcsRulesShowsTheRestartsUpstreamHid) {
  // crash_on_failure_limit after the restart limit: upstream printed `● … [ok] … Service
  // running`; tcs shows the failed service, its restarts and the crash (the last record of the
  // block's window, at the earliest "now" of it).
  namespace v = tcs::test::vectors;
  const std::filesystem::path dir = TCS_FULL_VECTORS_DIR;
  const auto records = v::loadRecords(dir / "upstream-traffic-sample.jsonl");
  const auto blocks = v::loadBlocks(dir / "upstream-tcsctl-fleet.txt");
  const auto scenarios = v::byScenario(records);
  std::string text;
  for (const auto& b : blocks) {
    if (b.scenario != "crash_on_failure_limit" || !b.moment.starts_with("after: gave up") || !b.all) continue;
    const auto r = v::prepare(b, scenarios);
    ASSERT_TRUE(r);
    const auto view = r->viewAt(r->firstCut, tcs::FleetRules::tcs());
    const auto listing = view.list(r->nowLo, {true, ""});
    text += "### " + b.command + "\n";
    text += b.detailed ? tcs::ctl::renderDetailed(view, listing, r->nowLo, RenderStyle{})
                       : tcs::ctl::renderTable(view, listing, r->nowLo, RenderStyle{});
  }
  expectGolden("crash_on_failure_limit_tcs.txt", text);
}

}  // namespace
