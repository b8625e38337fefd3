// SPDX-License-Identifier: MIT
// Fuzz harness: the fleet view (tcs/fleet.hpp), the model of everything tcsctl and other
// control clients read off NATS, and tcsctl's text and JSON output of it (tcs_ctl_render).
//
// Input: one message per line, `<subject> <body>`, received one second apart; applied to a
// view with tcs's rules and one with upstream tcsctl's. A line without a space is a subject
// with an empty body.
//
// Properties: apply() never throws; every message is counted once (applied, superseded, ignored or
// malformed); a listing at any later time renders as the table, the detailed view and JSON
// that parses, without throwing.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "check.hpp"
#include "fleet_json.hpp"
#include "render.hpp"
#include "tcs/fleet.hpp"

namespace {

using tcs::fuzz::check;
namespace p = tcs::protocol;

constexpr p::Timestamp kStart{std::chrono::seconds(1'764'092'000)};  // 2025-11-25, the vectors' day

void render(const tcs::FleetView& view, p::Timestamp now, bool all) {
  tcs::FleetQuery query;
  query.all = all;
  const auto listing = view.list(now, query);
  for (const auto& row : listing.rows) check(row.entry != nullptr, "every row has its entry");
  tcs::ctl::RenderStyle style;
  style.color = all;
  style.unicode = !all;
  style.width = all ? 80 : 0;
  (void)tcs::ctl::renderTable(view, listing, now, style);
  (void)tcs::ctl::renderDetailed(view, listing, now, style);
  const auto json = tcs::ctl::fleetJsonText(view, listing, now, {});
  check(nlohmann::json::accept(json), "tcsctl --json writes JSON", json);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  tcs::FleetView ours;
  tcs::FleetView upstream(tcs::FleetRules::upstreamTcsctl());
  auto at = kStart;
  std::size_t messages = 0;
  while (!input.empty()) {
    const auto eol = input.find('\n');
    const auto line = input.substr(0, eol);
    input = eol == std::string_view::npos ? std::string_view{} : input.substr(eol + 1);
    const auto space = line.find(' ');
    const auto subject = line.substr(0, space);
    const auto body = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    (void)ours.apply(subject, body, at);
    (void)upstream.apply(subject, body, at);
    at += std::chrono::seconds(1);
    ++messages;
  }
  for (const auto* view : {&ours, &upstream}) {
    const auto& c = view->counters();
    check(c.applied + c.superseded + c.ignored + c.malformed == messages, "apply() counts every message once");
  }
  for (const auto now : {at, at + std::chrono::minutes(3), at + std::chrono::hours(49)}) {
    render(ours, now, false);
    render(upstream, now, true);
  }
  return 0;
}
