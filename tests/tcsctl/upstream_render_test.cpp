// SPDX-License-Identifier: MIT
// tcsctl's text output against upstream's, byte for byte: every block of the captured tcsctl
// output (tests/libtcs/vectors, a copy of ../shared/vectors) is reproduced by replaying the
// captured traffic up to the block's moment through a FleetView with upstream's rules and
// rendering it (tests/support/upstream_vectors.hpp does the replay, as for fleet_view_test).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "fleet_fixture.hpp"
#include "render.hpp"
#include "tcs/fleet.hpp"
#include "upstream_vectors.hpp"

namespace p = tcs::protocol;
namespace v = tcs::test::vectors;
using namespace std::chrono_literals;

namespace {

const std::filesystem::path kVectors = TCS_FULL_VECTORS_DIR;

/// The capture whose harness kept tcsctl's stdout as it was (the trailing blank line after the
/// summary, the legend's two final blank lines). The harness of every other capture dropped
/// trailing blank lines: its blocks end at the summary line (compare the same command's
/// `2 loaded services` + blank line in hello_world_process_launcher with every other capture).
constexpr std::string_view kRawCapture = "hello_world_process_launcher";

/// The blocks captured at 80 columns: Rich wrapped the lines longer than that ("… @vm - " then
/// "Launcher running" on the next line). tcs prints at unlimited width unless told otherwise,
/// so they are compared un-wrapped.
bool wrappedAt80(const v::Block& b) {
  return b.moment.find("80 cols") != std::string::npos;
}

/// The block's text with Rich's wrapping undone (Rich kept the space it broke at, so the
/// join adds nothing).
std::string unwrap(const v::Block& b) {
  std::string out;
  for (const auto& l : v::unwrappedLines(b)) out += l + "\n";
  return out;
}

/// What the capture would show of @p stdoutText: all of it for the raw capture, else without
/// trailing blank lines.
std::string asCaptured(const v::Block& b, std::string stdoutText) {
  if (b.scenario == kRawCapture) return stdoutText;
  while (stdoutText.ends_with("\n\n")) stdoutText.pop_back();
  return stdoutText;
}

std::size_t differingLines(const std::string& want, const std::string& got) {
  std::istringstream a(want), b(got);
  std::size_t n = 0;
  std::string x, y;
  while (true) {
    const bool ha = static_cast<bool>(std::getline(a, x)), hb = static_cast<bool>(std::getline(b, y));
    if (!ha && !hb) break;
    if (!ha || !hb || x != y) ++n;
  }
  return n + (want.size() == got.size() ? 0 : 1);
}

struct Result {
  std::size_t blocks = 0, legends = 0, exact = 0, afterTrim = 0, afterUnwrap = 0, ambiguousCuts = 0;
  std::map<std::string, std::string> mismatches;  ///< title → diff of the closest attempt
  std::vector<std::string> renderedLater;         ///< blocks whose ages are later than their uptimes
};

Result replay(const std::filesystem::path& traffic, const std::filesystem::path& tcsctl) {
  Result res;
  const auto records = v::loadRecords(traffic);
  const auto blocks = v::loadBlocks(tcsctl);
  EXPECT_FALSE(records.empty()) << traffic;
  EXPECT_FALSE(blocks.empty()) << tcsctl;
  const auto scenarios = v::byScenario(records);
  const tcs::ctl::RenderStyle style{false, true, 0};

  for (const auto& b : blocks) {
    ++res.blocks;
    EXPECT_EQ(b.rc, 0) << b.title();
    const std::string want = wrappedAt80(b) ? unwrap(b) : b.text;
    auto count = [&](const std::string& got) {
      if (wrappedAt80(b))
        ++res.afterUnwrap;
      else if (b.scenario != kRawCapture && got != want)
        ++res.afterTrim;
      else
        ++res.exact;
    };
    if (b.legend) {
      ++res.legends;
      const auto got = tcs::ctl::renderLegend(style);
      if (asCaptured(b, got) == want)
        count(got);
      else
        res.mismatches[b.title()] = tcs::test::fleet::textDiff(want, asCaptured(b, got));
      continue;
    }
    const auto r = v::prepare(b, scenarios);
    if (!r) {
      ADD_FAILURE() << "no records for the scenario, or no moment, of " << b.title();
      continue;
    }
    // The "now" of the ages: the capture tells it within [nowLo, nowHi] for the timed blocks;
    // the older captures name their moment in words ("~14 s after launch"), a few seconds wide.
    const auto lo = r->moment.timed ? r->nowLo : r->nowLo - 5s;
    const auto hi = r->moment.timed ? r->nowHi : r->nowHi + 5s;
    bool matched = false;
    std::string closest;
    std::size_t closestDistance = SIZE_MAX;
    // Upstream's client computes uptime_seconds when it has read the streams (§6.4 step 3) and
    // the display computes the "… ago" ages later, each with its own datetime.now(): the listing
    // (rows' uptime) is taken at listNow, the text rendered at renderNow >= listNow. The first
    // pass uses one instant for both; the second lets the render come up to 1 s later.
    for (const bool later : {false, true}) {
      for (std::size_t cut = r->firstCut; cut <= r->feed.size() && !matched; ++cut) {
        const tcs::FleetView view = r->viewAt(cut, tcs::FleetRules::upstreamTcsctl());
        EXPECT_EQ(view.counters().applied, cut) << b.title();
        for (auto listNow = lo; listNow <= hi && !matched; listNow += 10ms) {
          const auto listing = view.list(listNow, tcs::FleetQuery{b.all, ""});
          const auto last = later ? std::min(hi, listNow + 1s) : listNow;
          for (auto now = later ? listNow + 10ms : listNow; now <= last && !matched; now += 10ms) {
            const auto got = b.detailed ? tcs::ctl::renderDetailed(view, listing, now, style)
                                        : tcs::ctl::renderTable(view, listing, now, style);
            const auto shown = asCaptured(b, got);
            if (shown == want) {
              matched = true;
              count(got);
              if (cut != r->firstCut) ++res.ambiguousCuts;
              if (later) res.renderedLater.push_back(b.title());
            } else if (const auto d = differingLines(want, shown); d < closestDistance) {
              closestDistance = d;
              closest = tcs::test::fleet::textDiff(want, shown);
            }
          }
        }
      }
      if (matched) break;
    }
    if (!matched) res.mismatches[b.title()] = closest;
  }
  return res;
}

void expectAllMatch(const Result& res) {
  for (const auto& [title, d] : res.mismatches)
    ADD_FAILURE() << "no cut and no now in the block's window renders upstream's text of '" << title
                  << "' (- upstream, + tcs, closest attempt):\n"
                  << d;
}

TEST(AnUpstreamReplay, RendersEveryCapturedBlockByteForByte) {
  const auto res = replay(kVectors / "upstream-traffic.jsonl", kVectors / "upstream-tcsctl.txt");
  expectAllMatch(res);
  EXPECT_EQ(res.blocks, 74u);  // 73 listings and the legend
  EXPECT_EQ(res.legends, 1u);
  // Exactly as captured: the 6 `No services found` blocks (no trailing blank line to trim).
  // After dropping trailing blank lines as the capture harness did: the other 60 blocks of the
  // newer captures. After un-wrapping: the 8 blocks captured at 80 columns (legend included).
  EXPECT_EQ(res.exact, 6u);
  EXPECT_EQ(res.afterTrim, 60u);
  EXPECT_EQ(res.afterUnwrap, 8u);
  EXPECT_TRUE(res.mismatches.empty());
  EXPECT_GT(res.ambiguousCuts, 0u);
  // Upstream's two clocks show in one block: `Started: … (15s ago)` but `Uptime: 14s` (the
  // uptime computed before a second boundary, the age after it).
  EXPECT_EQ(res.renderedLater,
            std::vector<std::string>{"examples_yaml_py312 / tcsctl --all --detailed / during: ~15 s after launch "
                                     "(t=16.0s)"});  // some moments need a boundary record (see Moment)
  std::cout << "byte for byte: " << res.exact << " as captured, " << res.afterTrim
            << " after the harness's trailing blank-line trim, " << res.afterUnwrap
            << " after un-wrapping 80 columns\n";
}

TEST(AnUpstreamReplay, RendersTheCommittedSubsetByteForByte) {
  const auto res = replay(kVectors / "upstream-traffic-sample.jsonl", kVectors / "upstream-tcsctl-fleet.txt");
  expectAllMatch(res);
  EXPECT_EQ(res.blocks, 73u);  // without the legend
  EXPECT_EQ(res.legends, 0u);
  EXPECT_TRUE(res.mismatches.empty());
  EXPECT_EQ(res.renderedLater.size(), 1u);
}

TEST(AnUpstreamReplay, DoesNotMatchAMinuteLater) {
  // The comparison is strict: a view a second later prints other ages.
  const auto records = v::loadRecords(kVectors / "upstream-traffic.jsonl");
  const auto blocks = v::loadBlocks(kVectors / "upstream-tcsctl.txt");
  const auto scenarios = v::byScenario(records);
  const auto it = std::find_if(blocks.begin(), blocks.end(), [](const v::Block& b) {
    return b.scenario == "crash_on_failure_limit" && b.detailed && b.t && *b.t > 43;
  });
  ASSERT_NE(it, blocks.end());
  const auto r = v::prepare(*it, scenarios);
  ASSERT_TRUE(r);
  const tcs::FleetView view = r->viewAt(r->feed.size(), tcs::FleetRules::upstreamTcsctl());
  const auto late = r->nowHi + 60s;
  const auto text = tcs::ctl::renderDetailed(view, view.list(late, {false, ""}), late, {});
  EXPECT_NE(asCaptured(*it, text), it->text);
}

}  // namespace
