// SPDX-License-Identifier: MIT
#pragma once

// The upstream vectors (tests/libtcs/vectors, a copy of ../shared/vectors): loading the captured
// NATS traffic and the captured tcsctl output, and replaying a block's moment through a
// FleetView. Shared by fleet_view_test (the listing, compared in substance) and the tcsctl
// rendering tests (the text, compared byte for byte).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "tcs/fleet.hpp"

namespace tcs::test::vectors {

namespace p = tcs::protocol;

/// One captured NATS message: `t` is seconds from the sniffer's start to its receipt.
struct Record {
  std::string scenario;
  std::string subject;
  std::string body;  ///< `{"data", "meta"}` as published
  double t = 0;
  p::Timestamp published{};  ///< meta.ts
};

inline std::vector<Record> loadRecords(const std::filesystem::path& file) {
  using OJson = nlohmann::ordered_json;
  std::ifstream in(file);
  std::vector<Record> out;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const OJson j = OJson::parse(line);
    Record r;
    r.scenario = j.at("scenario");
    r.subject = j.at("subject");
    r.body = OJson{{"data", j.at("data")}, {"meta", j.at("meta")}}.dump();
    r.t = j.at("t");
    r.published = p::decodeTimestamp(j.at("meta").at("ts").dump());
    out.push_back(std::move(r));
  }
  return out;
}

/// One `### scenario / command / moment` block of upstream-tcsctl.txt, up to its `[rc=N]`.
struct Block {
  std::string scenario, command, moment;
  std::optional<double> t;         ///< the `(t=…s)` of the header; the older captures have none
  std::vector<std::string> lines;  ///< the lines between the header and `[rc=N]`
  std::string text;                ///< the same, exactly: every line with its "\n"
  int rc = -1;
  bool all = false, detailed = false, legend = false;
  std::string title() const { return scenario + " / " + command + " / " + moment; }
};

inline std::vector<Block> loadBlocks(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<Block> out;
  const std::regex header{R"(^### (\S+) / (.*?) / (.*)$)"};
  const std::regex tOf{R"(\(t=([0-9.]+)s\))"};
  bool open = false;  // between a header and its [rc=N]
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, header)) {
      Block b;
      b.scenario = m[1];
      b.command = m[2];
      b.moment = m[3];
      if (std::smatch tm; std::regex_search(b.moment, tm, tOf)) b.t = std::stod(tm[1]);
      b.all = b.command.find("--all") != std::string::npos;
      b.detailed = b.command.find("--detailed") != std::string::npos;
      b.legend = b.command.find("--legend") != std::string::npos;
      out.push_back(std::move(b));
      open = true;
    } else if (open && line.starts_with("[rc=")) {
      out.back().rc = std::stoi(line.substr(4));
      open = false;
    } else if (open) {
      out.back().lines.push_back(line);
      out.back().text += line + "\n";
    }
  }
  return out;
}

/// @return whether @p s starts with one of the list symbols `●`, `◐`, `⚠`, `×`, `○`
inline bool startsWithGlyph(const std::string& s) {
  for (const auto sym :
       {FleetSymbol::Healthy, FleetSymbol::Warning, FleetSymbol::Problem, FleetSymbol::Error, FleetSymbol::Stopped})
    if (s.starts_with(glyph(sym))) return true;
  return false;
}

/// @return whether @p s is a summary line (`N loaded services…`, `No services…`)
inline bool isSummary(const std::string& s) {
  static const std::regex summary{R"(^\d+ loaded services.*|^No services.*)"};
  return std::regex_match(s, summary);
}

/// The lines of @p b with Rich's wrapping undone. The older captures ran at 80 columns: Rich
/// wrapped long table lines ("… @vm - " + "Launcher running", keeping the space it broke at).
/// A line that is not blank, indented (a field, a child row), a row, a summary or the legend's
/// title continues the previous one.
inline std::vector<std::string> unwrappedLines(const Block& b) {
  std::vector<std::string> lines;
  for (const auto& l : b.lines) {
    const bool own = l.empty() || l.starts_with(" ") || startsWithGlyph(l) || isSummary(l) || l == "Legend:";
    if (!own && !lines.empty())
      lines.back() += l;
    else
      lines.push_back(l);
  }
  return lines;
}

inline p::Timestamp plusSeconds(p::Timestamp base, double s) {
  return base + std::chrono::microseconds{static_cast<std::int64_t>(std::llround(s * 1e6))};
}

/// The instant of one command, as far as the capture tells it.
///
/// The header's `t` (rounded to 0.1 s) is when the commands were started; each then needed a
/// few hundred ms (Python start-up, connect) before reading the streams, and rendered a little
/// later. So (1) the records it saw are all those received up to some cut in
/// [t − 0.05 s, t + 0.5 s] — a record inside that window is ambiguous (e.g. examples.monitoring's
/// `error` 1 ms before t=20.1, or single_shot's heartbeat 0.25 s after t=11.3, which both were
/// seen, versus a launcher status 0.49 s after t=9.0, which was not) — and (2) the "now" of its
/// ages lies in [t − 0.05 s, t + 1.5 s]. A replay tries every cut in the window (and "now"s in
/// the range), and requires one of them to reproduce the block.
struct Moment {
  double t = 0;
  bool timed = true;  ///< false for the older captures: their ages cannot be anchored
};

/// The older captures (hello_world_*) name their moment in words: "~14 s after launch" (the
/// launcher was spawned at t ≈ 1.5 s there, see the vectors' README) or "N s after launcher
/// SIGTERM / tcsd SIGINT" (N s after the scenario's last message, its final stop event).
inline std::optional<Moment> momentOf(const Block& b, const std::vector<Record>& scenario) {
  if (b.t) return Moment{*b.t, true};
  std::smatch m;
  if (std::regex_search(b.moment, m, std::regex{R"(~(\d+) s after launch)"}))
    return Moment{1.5 + std::stod(m[1]), false};
  if (std::regex_search(b.moment, m, std::regex{R"((\d+) s after (launcher SIGTERM|tcsd SIGINT))"}) &&
      !scenario.empty())
    return Moment{scenario.back().t + std::stod(m[1]), false};
  return std::nullopt;
}

/// The streams were not purged between the two older hello_world captures (vectors README), so
/// the asyncio capture's tcsctl also saw everything the process-launcher capture left behind.
inline const std::map<std::string, std::string> kCarriedOver{
    {"hello_world_tcsd_asyncio", "hello_world_process_launcher"}};

inline constexpr double kCutBefore = 0.05, kCutAfter = 0.5, kNowAfter = 1.5;

/// The records by scenario, in the order received.
inline std::map<std::string, std::vector<Record>> byScenario(const std::vector<Record>& records) {
  std::map<std::string, std::vector<Record>> out;
  for (const auto& r : records) out[r.scenario].push_back(r);
  return out;
}

/// What a block's command may have seen: the records to feed, the possible cuts and "now"s.
struct BlockReplay {
  Moment moment;
  p::Timestamp base{};  ///< the publishers' clock at t = 0
  p::Timestamp nowLo{}, nowHi{};
  std::vector<const Record*> feed;  ///< carried-over records, then the scenario's up to the window's end
  std::size_t carried = 0;          ///< how many of feed are carried over from another capture
  std::size_t firstCut = 0;         ///< the smallest cut (records applied) in the window

  /// @return a view of the first @p cut records of feed (each applied at its receipt time)
  FleetView viewAt(std::size_t cut, const FleetRules& rules) const {
    FleetView view{rules};
    for (std::size_t i = 0; i < cut && i < feed.size(); ++i)
      view.apply(feed[i]->subject, feed[i]->body, plusSeconds(base, feed[i]->t));
    return view;
  }
};

/// @return the replay of @p b, or nullopt when its scenario has no records or no moment
inline std::optional<BlockReplay> prepare(const Block& b, const std::map<std::string, std::vector<Record>>& scenarios) {
  static const std::vector<Record> kNone;
  const auto find = [&](const std::string& s) -> const std::vector<Record>& {
    const auto it = scenarios.find(s);
    return it == scenarios.end() ? kNone : it->second;
  };
  const auto& own = find(b.scenario);
  const auto moment = momentOf(b, own);
  if (own.empty() || !moment) return std::nullopt;

  BlockReplay r;
  r.moment = *moment;
  // The publishers' clock at t = 0: meta.ts <= base + t (publish before receipt), tight
  // within a few ms.
  r.base = p::Timestamp::min();
  for (const auto& rec : own) r.base = std::max(r.base, plusSeconds(rec.published, -rec.t));
  r.nowLo = plusSeconds(r.base, moment->t - kCutBefore);
  r.nowHi = plusSeconds(r.base, moment->t + kNowAfter);

  if (const auto it = kCarriedOver.find(b.scenario); it != kCarriedOver.end())
    for (const auto& rec : find(it->second)) r.feed.push_back(&rec);
  r.carried = r.feed.size();
  for (const auto& rec : own)
    if (rec.t <= moment->t + kCutAfter) r.feed.push_back(&rec);
  r.firstCut = r.carried;
  while (r.firstCut < r.feed.size() && r.feed[r.firstCut]->t <= moment->t - kCutBefore) ++r.firstCut;
  return r;
}

}  // namespace tcs::test::vectors
