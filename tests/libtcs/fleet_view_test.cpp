// SPDX-License-Identifier: MIT
// The fleet view (tcs/fleet.hpp): the upstream compatibility replay (issue 4: "a test that
// replays ../shared/vectors upstream messages through the decoder and produces the same service
// view upstream produced"), then the reducer's own rules.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tcs/fleet.hpp"

namespace p = tcs::protocol;
using namespace std::chrono_literals;
using OJson = nlohmann::ordered_json;
using tcs::FleetRules;
using tcs::FleetView;
using tcs::Status;

namespace {

// =================================================================================================
// Vector files
// =================================================================================================

const std::filesystem::path kCommittedDir = TCS_FLEET_VECTORS_DIR;
const std::filesystem::path kSharedDir = TCS_SHARED_VECTORS_DIR;

/// One captured NATS message: `t` is seconds from the sniffer's start to its receipt.
struct Record {
  std::string scenario;
  std::string subject;
  std::string body;  ///< `{"data", "meta"}` as published
  double t = 0;
  p::Timestamp published{};  ///< meta.ts
};

std::vector<Record> loadRecords(const std::filesystem::path& file) {
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
  std::optional<double> t;  ///< the `(t=…s)` of the header; the older captures have none
  std::vector<std::string> lines;
  bool all = false, detailed = false, legend = false;
  std::string title() const { return scenario + " / " + command + " / " + moment; }
};

std::vector<Block> loadBlocks(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<Block> out;
  const std::regex header{R"(^### (\S+) / (.*?) / (.*)$)"};
  const std::regex tOf{R"(\(t=([0-9.]+)s\))"};
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
    } else if (!out.empty() && !line.starts_with("[rc=")) {
      out.back().lines.push_back(line);
    }
  }
  return out;
}

// =================================================================================================
// What upstream printed, parsed
// =================================================================================================

struct ExpectedRow {
  std::string symbol, id, status;
  int depth = 0;
  bool heart = false;
  std::optional<std::string> up, pid, host, message;  // table view
  std::map<std::string, std::string> fields;          // detailed view: label → value
};

struct Expected {
  std::vector<ExpectedRow> rows;
  std::string summary;
};

bool startsWithGlyph(const std::string& s) {
  for (const auto sym : {tcs::FleetSymbol::Healthy, tcs::FleetSymbol::Warning, tcs::FleetSymbol::Problem,
                         tcs::FleetSymbol::Error, tcs::FleetSymbol::Stopped})
    if (s.starts_with(tcs::glyph(sym))) return true;
  return false;
}

bool isSummary(const std::string& s) {
  return std::regex_match(s, std::regex{R"(^\d+ loaded services.*|^No services.*)"});
}

Expected parseExpected(const Block& b) {
  // The older captures ran at 80 columns: Rich wrapped long table lines ("… @vm - " +
  // "Launcher running"). A line that is not a row, a field, a summary or blank continues the
  // previous one.
  std::vector<std::string> lines;
  for (const auto& l : b.lines) {
    const bool own = l.empty() || l.starts_with(" ") || startsWithGlyph(l) || isSummary(l);
    if (!own && !lines.empty())
      lines.back() += l;
    else
      lines.push_back(l);
  }
  Expected ex;
  const std::regex row{
      R"(^((?:  )*)(├─ )?(\S+) (\S+) \[(\w+)\]( \(♥\))?(?: up:(\S+))?(?: pid:(\d+))?(?: @(\S+))?(?: - (.*))?$)"};
  const std::regex field{R"(^    ([A-Za-z ]+):\s+(.*)$)"};
  for (const auto& l : lines) {
    std::smatch m;
    if (l.empty()) continue;
    if (isSummary(l)) {
      ex.summary = l;
    } else if (std::regex_match(l, m, field)) {
      if (ex.rows.empty()) throw std::runtime_error("field before a row: " + l);
      ex.rows.back().fields[m[1]] = m[2];
    } else if (std::regex_match(l, m, row)) {
      ExpectedRow r;
      // Upstream indents depth d >= 1 as "  " * (d - 1) + "  ├─ ".
      r.depth = m[2].matched ? static_cast<int>(m[1].length() / 2) : 0;
      r.symbol = m[3];
      r.id = m[4];
      r.status = m[5];
      r.heart = m[6].matched;
      if (m[7].matched) r.up = m[7];
      if (m[8].matched) r.pid = m[8];
      if (m[9].matched) r.host = m[9];
      if (m[10].matched) r.message = m[10];
      ex.rows.push_back(std::move(r));
    } else {
      throw std::runtime_error("unparsed line in '" + b.title() + "': " + l);
    }
  }
  return ex;
}

// =================================================================================================
// The replay
// =================================================================================================

/// `YYYY-MM-DD HH:MM:SS`, how upstream prints a time (seconds truncated).
std::string dateTime(p::Timestamp ts) {
  const auto f = p::toFields(ts);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld %02lld:%02lld:%02lld", static_cast<long long>(f[0]),
                static_cast<long long>(f[1]), static_cast<long long>(f[2]), static_cast<long long>(f[3]),
                static_cast<long long>(f[4]), static_cast<long long>(f[5]));
  return buf;
}

p::Timestamp plusSeconds(p::Timestamp base, double s) {
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
/// ages lies in [t − 0.05 s, t + 1.5 s]. The replay tries every cut in the window and both ends
/// of the "now" range, and requires one of them to reproduce every deterministic part of the
/// block; ages are checked against the whole range.
struct Moment {
  double t = 0;
  bool timed = true;  ///< false for the older captures: their ages cannot be anchored
};

/// The older captures (hello_world_*) name their moment in words: "~14 s after launch" (the
/// launcher was spawned at t ≈ 1.5 s there, see the vectors' README) or "N s after launcher
/// SIGTERM / tcsd SIGINT" (N s after the scenario's last message, its final stop event).
std::optional<Moment> momentOf(const Block& b, const std::vector<Record>& scenario) {
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
const std::map<std::string, std::string> kCarriedOver{{"hello_world_tcsd_asyncio", "hello_world_process_launcher"}};

constexpr double kCutBefore = 0.05, kCutAfter = 0.5, kNowAfter = 1.5;

class Checker {
 public:
  Checker(const tcs::FleetListing& listing, p::Timestamp nowLo, p::Timestamp nowHi, bool checkAges)
      : listing_(listing), nowLo_(nowLo), nowHi_(nowHi), checkAges_(checkAges) {}

  std::vector<std::string> run(const Block& b, const Expected& ex) {
    expectEq("summary", listing_.summary(), ex.summary);
    expectEq("row count", std::to_string(listing_.rows.size()), std::to_string(ex.rows.size()));
    for (std::size_t i = 0; i < std::min(listing_.rows.size(), ex.rows.size()); ++i)
      b.detailed ? detailed(listing_.rows[i], ex.rows[i]) : table(listing_.rows[i], ex.rows[i]);
    return std::move(problems_);
  }

 private:
  void expectEq(const std::string& what, const std::string& got, const std::string& want) {
    if (got != want) problems_.push_back(what + ": got '" + got + "', upstream printed '" + want + "'");
  }

  /// @return false when the rows are different entries (nothing else is compared then)
  bool common(const tcs::FleetRow& r, const ExpectedRow& x) {
    const std::string w = x.id + ": ";
    expectEq(w + "id", r.entry->id, x.id);
    if (r.entry->id != x.id) return false;
    expectEq(w + "symbol", std::string{tcs::glyph(r.symbol)}, x.symbol);
    expectEq(w + "status", std::string{tcs::toString(r.entry->status)}, x.status);
    expectEq(w + "heart", r.showHeart ? "(♥)" : "none", x.heart ? "(♥)" : "none");
    return true;
  }

  /// An age `N…` printed for @p since, with the command's "now" somewhere in [nowLo, nowHi].
  void age(const std::string& what, const std::string& printed, p::Timestamp since) {
    if (!checkAges_) return;  // the older captures' moments are only approximate
    const auto lo = std::chrono::floor<std::chrono::seconds>(nowLo_ - since);
    const auto hi = std::chrono::floor<std::chrono::seconds>(nowHi_ - since);
    for (auto s = lo; s <= hi; s += 1s)
      if (tcs::formatDuration(s) == printed) return;
    problems_.push_back(what + ": upstream printed '" + printed + "', outside " + tcs::formatDuration(lo) + " … " +
                        tcs::formatDuration(hi));
  }

  /// `2026-11-25 17:51:06 UTC (3s ago)`
  void timeField(const std::string& what, const std::string& printed, p::Timestamp t) {
    std::smatch m;
    if (!std::regex_match(printed, m, std::regex{R"(^(.*) UTC \((.*) ago\)(.*)$)"})) {
      problems_.push_back(what + ": unparsed '" + printed + "'");
      return;
    }
    expectEq(what, m[1], dateTime(t));
    age(what + " age", m[2], t);
  }

  void table(const tcs::FleetRow& r, const ExpectedRow& x) {
    const std::string w = x.id + ": ";
    const tcs::FleetEntry& e = *r.entry;
    if (!common(r, x)) return;
    expectEq(w + "depth", std::to_string(r.depth), std::to_string(x.depth));
    // `up:` only for running entries; N/A without a start (launchers).
    expectEq(w + "up: shown", r.running ? "yes" : "no", x.up ? "yes" : "no");
    if (r.running && x.up) {
      if (*x.up == "N/A")
        expectEq(w + "up:", r.uptime ? tcs::formatDuration(*r.uptime) : "N/A", "N/A");
      else if (!e.lastStart)
        problems_.push_back(w + "up: printed " + *x.up + " but no start is known");
      else
        age(w + "up:", *x.up, e.lastStart->time);
    }
    expectEq(w + "pid", e.pid ? std::to_string(*e.pid) : "", x.pid.value_or(""));
    expectEq(w + "host", e.hostname, x.host.value_or(""));
    // Upstream truncates messages longer than 60 characters to 57 + "...".
    std::string msg = e.message;
    if (msg.size() > 60) msg = msg.substr(0, 57) + "...";
    expectEq(w + "message", msg, x.message.value_or(""));
  }

  void detailed(const tcs::FleetRow& r, const ExpectedRow& x) {
    const std::string w = x.id + ": ";
    const tcs::FleetEntry& e = *r.entry;
    if (!common(r, x)) return;
    // Each label appears only when upstream has the data: compare the label sets first.
    std::set<std::string> want;
    for (const auto& [label, value] : x.fields) want.insert(label);
    std::set<std::string> got;
    if (!e.runnerId.empty()) got.insert("Runner");
    if (!e.hostname.empty()) got.insert("Host");
    if (e.pid) got.insert("PID");
    if (e.lastStart) got.insert("Started");
    if (e.declaredAt) got.insert("Declared");
    if (e.stoppedAt) got.insert("Stopped");
    if (e.lastHeartbeat) got.insert("Last HB");
    if (r.running) got.insert("Uptime");
    if (!e.message.empty()) got.insert("Message");
    if (e.lastCrash) got.insert("Last Crash");
    // Upstream takes restart_policy from crashed events only (§6.4), and prints it unless "no".
    if (e.lastCrash && e.lastCrash->restartPolicy != "no") got.insert("Restart");
    auto join = [](const std::set<std::string>& s) {
      std::string out;
      for (const auto& l : s) out += (out.empty() ? "" : ", ") + l;
      return out;
    };
    expectEq(w + "fields", join(got), join(want));

    auto field = [&](const char* label) -> const std::string* {
      const auto it = x.fields.find(label);
      return it == x.fields.end() ? nullptr : &it->second;
    };
    if (const auto* v = field("Runner")) expectEq(w + "Runner", e.runnerId, *v);
    if (const auto* v = field("Host")) expectEq(w + "Host", e.hostname, *v);
    if (const auto* v = field("PID"); v && e.pid) expectEq(w + "PID", std::to_string(*e.pid), *v);
    if (const auto* v = field("Started"); v && e.lastStart) timeField(w + "Started", *v, e.lastStart->time);
    if (const auto* v = field("Declared"); v && e.declaredAt) timeField(w + "Declared", *v, *e.declaredAt);
    if (const auto* v = field("Stopped"); v && e.stoppedAt) timeField(w + "Stopped", *v, *e.stoppedAt);
    if (const auto* v = field("Last HB"); v && e.lastHeartbeat) timeField(w + "Last HB", *v, *e.lastHeartbeat);
    if (const auto* v = field("Uptime"); v && r.running) {
      if (*v == "N/A")
        expectEq(w + "Uptime", r.uptime ? tcs::formatDuration(*r.uptime) : "N/A", "N/A");
      else if (e.lastStart)
        age(w + "Uptime", *v, e.lastStart->time);
    }
    if (const auto* v = field("Message")) expectEq(w + "Message", e.message, *v);
    if (const auto* v = field("Last Crash"); v && e.lastCrash) {
      timeField(w + "Last Crash", *v, e.lastCrash->time);
      expectEq(w + "Last Crash exit code", v->substr(v->rfind(" (exit code: ") + 1),
               "(exit code: " + std::to_string(e.lastCrash->exitCode) + ")");
    }
    // The suffix is always " (unlimited)" upstream: it reads max_restarts from crashed events,
    // which never carry it (§6.4). Only the policy comes from the model.
    if (const auto* v = field("Restart"); v && e.lastCrash)
      expectEq(w + "Restart policy", v->substr(0, v->find(' ')), e.lastCrash->restartPolicy);
  }

  const tcs::FleetListing& listing_;
  p::Timestamp nowLo_, nowHi_;
  bool checkAges_;
  std::vector<std::string> problems_;
};

struct ReplaySummary {
  std::size_t blocks = 0, compared = 0, ambiguousCutsUsed = 0;
  std::set<std::string> scenarios;
  std::map<std::string, std::string> mismatches;  ///< block title → what differed, per cut
};

/// Replays every tcsctl block of @p tcsctlFile over the records of @p trafficFile through a
/// FleetView with @p rules and compares each listing with what upstream printed.
ReplaySummary replay(const std::filesystem::path& trafficFile, const std::filesystem::path& tcsctlFile,
                     const FleetRules& rules) {
  ReplaySummary sum;
  const auto records = loadRecords(trafficFile);
  const auto blocks = loadBlocks(tcsctlFile);
  EXPECT_FALSE(records.empty()) << trafficFile;
  EXPECT_FALSE(blocks.empty()) << tcsctlFile;

  std::map<std::string, std::vector<Record>> byScenario;
  for (const auto& r : records) byScenario[r.scenario].push_back(r);

  for (const auto& b : blocks) {
    ++sum.blocks;
    if (b.legend) continue;  // a fixed text, no NATS access: nothing of the model in it
    SCOPED_TRACE(b.title());
    const auto& own = byScenario[b.scenario];
    const auto moment = momentOf(b, own);
    if (own.empty() || !moment) {
      ADD_FAILURE() << "no records for the scenario, or no moment, of " << b.title();
      continue;
    }

    // The publishers' clock at t = 0: meta.ts <= base + t (publish before receipt), tight
    // within a few ms.
    p::Timestamp base = p::Timestamp::min();
    for (const auto& r : own) base = std::max(base, plusSeconds(r.published, -r.t));
    const auto nowLo = plusSeconds(base, moment->t - kCutBefore);
    const auto nowHi = plusSeconds(base, moment->t + kNowAfter);

    std::vector<const Record*> feed;
    if (const auto it = kCarriedOver.find(b.scenario); it != kCarriedOver.end())
      for (const auto& r : byScenario[it->second]) feed.push_back(&r);
    const std::size_t carried = feed.size();
    for (const auto& r : own)
      if (r.t <= moment->t + kCutAfter) feed.push_back(&r);
    std::size_t firstCut = carried;
    while (firstCut < feed.size() && feed[firstCut]->t <= moment->t - kCutBefore) ++firstCut;

    const Expected ex = parseExpected(b);
    std::vector<std::string> report;
    bool matched = false;
    for (std::size_t cut = firstCut; cut <= feed.size() && !matched; ++cut) {
      FleetView view{rules};
      for (std::size_t i = 0; i < cut; ++i) {
        const auto* r = feed[i];
        EXPECT_EQ(view.apply(r->subject, r->body, plusSeconds(base, r->t)), tcs::ApplyOutcome::Applied) << r->subject;
      }
      EXPECT_EQ(view.counters().malformed, 0u);
      for (const auto now : {nowLo, nowHi}) {
        const auto listing = view.list(now, tcs::FleetQuery{b.all, ""});
        auto problems = Checker{listing, nowLo, nowHi, moment->timed}.run(b, ex);
        if (problems.empty()) {
          matched = true;
          if (cut != firstCut) ++sum.ambiguousCutsUsed;
          break;
        }
        report.push_back("cut after " + std::to_string(cut - carried) + " records, now " +
                         (now == nowLo ? "low" : "high") + ":");
        for (auto& pr : problems) report.push_back("  " + pr);
      }
    }
    if (!matched) {
      std::string text;
      for (const auto& l : report) text += l + "\n";
      sum.mismatches[b.title()] = text;
    }
    ++sum.compared;
    sum.scenarios.insert(b.scenario);
  }
  return sum;
}

// =================================================================================================
// Compatibility replay
// =================================================================================================

TEST(FleetViewCompat, CommittedVectorsReproduceUpstreamTcsctl) {
  const auto traffic = kCommittedDir / "upstream-traffic-sample.jsonl";
  const auto tcsctl = kCommittedDir / "upstream-tcsctl-fleet.txt";
  ASSERT_TRUE(std::filesystem::exists(traffic)) << traffic;
  ASSERT_TRUE(std::filesystem::exists(tcsctl)) << tcsctl;
  const auto sum = replay(traffic, tcsctl, FleetRules::upstreamTcsctl());
  for (const auto& [title, text] : sum.mismatches)
    ADD_FAILURE() << "no cut reproduces upstream's view of " << title << ":\n" << text;
  EXPECT_EQ(sum.compared, 73u);
  EXPECT_EQ(sum.scenarios.size(), 10u);
  // Some moments need a boundary record (see Moment): the window handling is exercised.
  EXPECT_GT(sum.ambiguousCutsUsed, 0u);
}

TEST(FleetViewCompat, SharedVectorsReproduceUpstreamTcsctl) {
  const auto traffic = kSharedDir / "upstream-traffic.jsonl";
  const auto tcsctl = kSharedDir / "upstream-tcsctl.txt";
  if (!std::filesystem::exists(traffic) || !std::filesystem::exists(tcsctl))
    GTEST_SKIP() << "the full upstream vectors are not here (" << kSharedDir
                 << "); CommittedVectorsReproduceUpstreamTcsctl checked the committed copy";
  const auto sum = replay(traffic, tcsctl, FleetRules::upstreamTcsctl());
  for (const auto& [title, text] : sum.mismatches)
    ADD_FAILURE() << "no cut reproduces upstream's view of " << title << ":\n" << text;
  EXPECT_EQ(sum.blocks, 74u);  // 73 listings + the legend
  EXPECT_EQ(sum.compared, 73u);
  EXPECT_EQ(sum.scenarios.size(), 10u);
}

// tcs's own rules show the truth where upstream's view is wrong (a given-up service shown as
// `[ok] Service running`, a cleanly stopped one as `[ok] Service stopped`), so they must not
// reproduce those blocks; where no registry event is newer than the last status message they
// must reproduce upstream; and every difference is the status/message and what follows from it
// (symbol, heart, visibility, counts), never a pid, a time or the grouping.
TEST(FleetViewCompat, TcsRulesDifferOnlyWhereARegistryEventIsNewerThanTheStatus) {
  const auto sum = replay(kCommittedDir / "upstream-traffic-sample.jsonl", kCommittedDir / "upstream-tcsctl-fleet.txt",
                          FleetRules::tcs());
  EXPECT_EQ(sum.compared, 73u);
  auto differs = [&](const std::string& prefix) {
    return std::any_of(sum.mismatches.begin(), sum.mismatches.end(),
                       [&](const auto& m) { return m.first.starts_with(prefix); });
  };
  // Upstream's bug: the service was given up (crashed, will_restart=false) but shows [ok].
  EXPECT_TRUE(differs("crash_on_failure_limit / tcsctl / after: gave up"));
  EXPECT_TRUE(differs("crash_on_failure_limit / tcsctl / after: >30 s"));
  EXPECT_TRUE(differs("crash_signal_on_abnormal / tcsctl / after: gave up"));
  // Stopped services: tcs shows the stop event ([shutdown] Stopped (…)), upstream the last status.
  EXPECT_TRUE(differs("examples_yaml_py312 / tcsctl --all / after"));
  // Running normally: the same view.
  for (const std::string same :
       {"examples_yaml / tcsctl / during: ~15 s", "examples_yaml_py312 / tcsctl --all --detailed / during: ~15 s",
        "monitoring_children_metrics / tcsctl --detailed / during: ~24 s",
        "crash_on_failure_limit / tcsctl --detailed / during: instance #2", "single_shot / tcsctl / during"})
    EXPECT_FALSE(differs(same)) << same;

  for (const auto& [title, text] : sum.mismatches) {
    std::istringstream lines(text);
    for (std::string l; std::getline(lines, l);) {
      static const std::regex allowed{
          R"(^cut after|: (id|status|message|Message|symbol|heart|up: shown|fields): |^  (summary|row count): )"};
      if (!std::regex_search(l, allowed)) ADD_FAILURE() << title << ": unexpected difference " << l << "\n" << text;
    }
  }
}

}  // namespace
