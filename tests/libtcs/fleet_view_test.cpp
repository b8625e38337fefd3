// SPDX-License-Identifier: MIT
// The fleet view (tcs/fleet.hpp): the upstream compatibility replay (issue 4: "a test that
// replays ../shared/vectors upstream messages through the decoder and produces the same service
// view upstream produced"), then the reducer's own rules.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tcs/fleet.hpp"
#include "upstream_vectors.hpp"

namespace p = tcs::protocol;
using namespace std::chrono_literals;
using OJson = nlohmann::ordered_json;
using tcs::FleetRules;
using tcs::FleetView;
using tcs::Status;

namespace {

// =================================================================================================
// Vector files (tests/support/upstream_vectors.hpp)
// =================================================================================================

const std::filesystem::path kCommittedDir = TCS_FLEET_VECTORS_DIR;
const std::filesystem::path kSharedDir = TCS_FULL_VECTORS_DIR;

using tcs::test::vectors::Block;
using tcs::test::vectors::plusSeconds;

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

using tcs::test::vectors::isSummary;

Expected parseExpected(const Block& b) {
  // The older captures ran at 80 columns: Rich wrapped long table lines (unwrappedLines joins them).
  const std::vector<std::string> lines = tcs::test::vectors::unwrappedLines(b);
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
  const auto records = tcs::test::vectors::loadRecords(trafficFile);
  const auto blocks = tcs::test::vectors::loadBlocks(tcsctlFile);
  EXPECT_FALSE(records.empty()) << trafficFile;
  EXPECT_FALSE(blocks.empty()) << tcsctlFile;

  const auto scenarios = tcs::test::vectors::byScenario(records);

  for (const auto& b : blocks) {
    ++sum.blocks;
    if (b.legend) continue;  // a fixed text, no NATS access: nothing of the model in it
    SCOPED_TRACE(b.title());
    const auto replay = tcs::test::vectors::prepare(b, scenarios);
    if (!replay) {
      ADD_FAILURE() << "no records for the scenario, or no moment, of " << b.title();
      continue;
    }
    const auto& [moment, base, nowLo, nowHi, feed, carried, firstCut] = *replay;

    const Expected ex = parseExpected(b);
    std::vector<std::string> report;
    bool matched = false;
    for (std::size_t cut = firstCut; cut <= feed.size() && !matched; ++cut) {
      const FleetView view = replay->viewAt(cut, rules);
      EXPECT_EQ(view.counters().applied, cut) << "every record up to the cut is applied";
      EXPECT_EQ(view.counters().malformed, 0u);
      for (const auto now : {nowLo, nowHi}) {
        const auto listing = view.list(now, tcs::FleetQuery{b.all, ""});
        auto problems = Checker{listing, nowLo, nowHi, moment.timed}.run(b, ex);
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
  ASSERT_TRUE(std::filesystem::exists(traffic)) << traffic << " is committed (tests/libtcs/vectors)";
  ASSERT_TRUE(std::filesystem::exists(tcsctl)) << tcsctl << " is committed (tests/libtcs/vectors)";
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

// =================================================================================================
// The reducer's own rules
// =================================================================================================

namespace {

const p::Timestamp kT0 = p::fromFields(std::array<std::int64_t, 7>{2026, 11, 25, 12, 0, 0, 0});
constexpr std::string_view kLauncher = "launcher.L1";
const p::Timestamp kRecv = kT0;  // receivedAt is informational: the rules never use it

p::Timestamp at(double s) {
  return plusSeconds(kT0, s);
}

p::Meta meta(p::Timestamp ts) {
  p::Meta m;
  m.id = "msg";
  m.sender = "Messenger_test";
  m.ts = ts;
  return m;
}

/// Builds and applies messages; every helper returns apply()'s outcome.
struct Feed {
  FleetView& view;

  tcs::ApplyOutcome status(std::string name, Status s, double t, std::int64_t pid = 100, std::string msg = "",
                           std::string parent = std::string{kLauncher}) {
    p::StatusUpdate u;
    u.name = name;
    u.status = s;
    u.timestamp = at(t);
    u.message = std::move(msg);
    u.parent = std::move(parent);
    u.pid = pid;
    u.hostname = "host1";
    return view.apply(p::statusSubject("svc", name), p::encode(u, meta(at(t))), kRecv);
  }
  tcs::ApplyOutcome heartbeat(std::string name, double t, Status s = Status::Ok) {
    p::Heartbeat h;
    h.serviceId = name;
    h.timestamp = at(t);
    h.status = s;
    return view.apply(p::heartbeatSubject("svc", name), p::encode(h, meta(at(t))), kRecv);
  }
  tcs::ApplyOutcome event(std::string id, double t, p::RegistryEvent::Specific specific, std::string runner = "") {
    p::RegistryEvent e;
    e.serviceId = id;
    e.timestamp = at(t);
    e.specific = std::move(specific);
    e.parent = std::string{kLauncher};
    e.runnerId = runner.empty() ? "L1." + id.substr(0, id.find('.')) : std::move(runner);
    return view.apply(p::registrySubject("svc", e.type(), id), p::encode(e, meta(at(t))), kRecv);
  }
  tcs::ApplyOutcome declared(std::string id, double t, std::string policy = "on-failure") {
    return event(std::move(id), t, p::DeclaredEvent{std::move(policy)});
  }
  tcs::ApplyOutcome start(std::string id, double t, std::int64_t pid) {
    return event(std::move(id), t, p::StartEvent{Status::Startup, "host1", pid});
  }
  tcs::ApplyOutcome stop(std::string id, double t, std::string reason = "terminated") {
    return event(std::move(id), t, p::StopEvent{Status::Shutdown, std::move(reason), 0});
  }
  tcs::ApplyOutcome crashed(std::string id, double t, int code, bool willRestart) {
    return event(std::move(id), t,
                 p::CrashedEvent{willRestart ? Status::Error : Status::Failed, code, "on-failure", willRestart, ""});
  }
  tcs::ApplyOutcome restarting(std::string id, double t, int attempt, std::optional<int> max) {
    return event(std::move(id), t, p::RestartingEvent{Status::Startup, attempt, max});
  }
};

TEST(FleetView, MalformedMessagesAreCountedAndChangeNothing) {
  FleetView view;
  const std::string ok = R"({"name":"a.b","status":"ok","timestamp":[2026,11,25,12,0,0,0],"pid":1,"hostname":"h"})";
  const std::string m = R"(,"meta":{"id":"msg","sender":"s","ts":[2026,11,25,12,0,0,0]}})";
  const std::vector<std::pair<std::string, std::string>> bad{
      {"svc.status.a.b", ""},
      {"svc.status.a.b", "not json"},
      {"svc.status.a.b", "\xff\xfe\x00garbage"},
      {"svc.status.a.b", std::string(200, '[') + std::string(200, ']')},
      {"svc.status.a.b", R"({"data":)" + ok + "}"},                       // no meta
      {"svc.status.a.b", R"({"data":{"name":"a.b","status":"ok"})" + m},  // no timestamp/pid
      {"svc.status.a.b", R"({"data":{"name":"a.b","status":"completed","timestamp":[2026,11,25,12,0,0,0],"pid":1,)"
                         R"("hostname":"h"})" +
                             m},                   // unknown status
      {"svc.status.x.y", R"({"data":)" + ok + m},  // name mismatch
      {"svc.registry.stop.a.b",
       R"({"data":{"event":"start","service_id":"a.b","timestamp":[2026,11,25,12,0,0,0],"status":"startup",)"
       R"("hostname":"h","pid":1,"runner_id":"r"})" +
           m},  // event mismatch
      {"svc.heartbeat.a.b", R"({"data":{"service_id":"a.b","timestamp":[2026,13,1,0,0,0,0],"status":"ok"})" + m},
      {"other.status.a.b", R"({"data":)" + ok + m},  // another prefix
      {"svc.status", R"({"data":)" + ok + m},        // no name
      {"svc.bogus.a.b", R"({"data":)" + ok + m},     // unknown kind
  };
  for (const auto& [subject, body] : bad)
    EXPECT_EQ(view.apply(subject, body, kRecv), tcs::ApplyOutcome::Malformed) << subject << " " << body;
  EXPECT_EQ(view.counters().malformed, bad.size());
  EXPECT_EQ(view.counters().applied, 0u);
  EXPECT_TRUE(view.entries().empty());
  ASSERT_EQ(view.counters().problems.size(), bad.size());
  EXPECT_NE(view.counters().problems.back().find("bogus"), std::string::npos) << view.counters().problems.back();
  EXPECT_NE(view.counters().problems[7].find("data.name is 'a.b'"), std::string::npos) << view.counters().problems[7];
  // Only the newest problems are kept.
  for (int i = 0; i < 10; ++i) view.apply("svc.status.n" + std::to_string(i), "{", kRecv);
  EXPECT_EQ(view.counters().malformed, bad.size() + 10);
  ASSERT_EQ(view.counters().problems.size(), tcs::FleetCounters::kMaxProblems);
  EXPECT_NE(view.counters().problems.back().find("svc.status.n9"), std::string::npos)
      << view.counters().problems.back();

  // RPC traffic and registry events of a newer protocol are not fleet state, nor errors.
  EXPECT_EQ(view.apply("svc.rpc.a.b.v1.health", "{}", kRecv), tcs::ApplyOutcome::Ignored);
  EXPECT_EQ(view.apply("svc.registry.paused.a.b", "{}", kRecv), tcs::ApplyOutcome::Ignored);
  EXPECT_EQ(view.counters().ignored, 2u);
  // The view still works afterwards.
  EXPECT_EQ(view.apply("svc.status.a.b", R"({"data":)" + ok + m, kRecv), tcs::ApplyOutcome::Applied);
  ASSERT_NE(view.find("a.b"), nullptr);
  EXPECT_EQ(view.find("a.b")->status, Status::Ok);
}

TEST(FleetView, UnknownKeysAreIgnored) {
  FleetView view;
  const std::string body =
      R"({"data":{"name":"a.b","status":"busy","timestamp":[2026,11,25,12,0,0,0,9,9],"pid":7,"hostname":"h",)"
      R"("message":"m","future":{"x":[1,2]},"details":{"own_status":"idle","extra":1,"metrics":{"q":3}}},)"
      R"("meta":{"id":"msg","sender":"s","ts":[2026,11,25,12,0,0,0],"nats":{"seq":5},"new":true},"top":1})";
  EXPECT_EQ(view.apply("svc.status.a.b", body, kRecv), tcs::ApplyOutcome::Applied);
  const auto* e = view.find("a.b");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->status, Status::Busy);
  EXPECT_EQ(e->message, "m");
  EXPECT_EQ(e->pid, 7);
  ASSERT_TRUE(e->lastReport.has_value());
  EXPECT_EQ(e->lastReport->details.ownStatus, Status::Idle);
  EXPECT_EQ(e->lastReport->details.metrics.text(), R"({"q":3})");
  const std::string hb = R"({"data":{"service_id":"a.b","timestamp":[2026,11,25,12,0,1,0],"status":"ok",)"
                         R"("sequence":4,"what":"ever"},"meta":{"id":"msg","sender":"s","ts":[2026,11,25,12,0,1,0]}})";
  EXPECT_EQ(view.apply("svc.heartbeat.a.b", hb, kRecv), tcs::ApplyOutcome::Applied);
  EXPECT_EQ(view.find("a.b")->heartbeatSequence, 4u);
  EXPECT_EQ(view.find("a.b")->lastHeartbeat, at(1));
}

TEST(FleetView, OlderMessagesDoNotOverrideNewerOnes) {
  FleetView view;
  Feed f{view};
  EXPECT_EQ(f.status("a.b", Status::Warning, 10, 100, "newer"), tcs::ApplyOutcome::Applied);
  EXPECT_EQ(f.status("a.b", Status::Ok, 5, 100, "older"), tcs::ApplyOutcome::Superseded);
  EXPECT_EQ(view.find("a.b")->status, Status::Warning);
  EXPECT_EQ(view.find("a.b")->message, "newer");
  EXPECT_EQ(f.heartbeat("a.b", 20), tcs::ApplyOutcome::Applied);
  EXPECT_EQ(f.heartbeat("a.b", 15), tcs::ApplyOutcome::Superseded);
  EXPECT_EQ(view.find("a.b")->lastHeartbeat, at(20));
  // A start, then an older stop delivered late (a snapshot overlapping a live feed): the stop
  // is recorded but does not stop the newer instance.
  EXPECT_EQ(f.start("a.b", 30, 200), tcs::ApplyOutcome::Applied);
  EXPECT_EQ(f.stop("a.b", 25), tcs::ApplyOutcome::Applied);
  EXPECT_EQ(f.start("a.b", 29, 150), tcs::ApplyOutcome::Superseded);
  const auto* e = view.find("a.b");
  ASSERT_TRUE(e->lastStop.has_value());
  EXPECT_FALSE(e->stoppedAt.has_value());
  EXPECT_EQ(e->lastStart->pid, 200);
  // The newest registry status (start, t=30) is newer than the status message (t=10): tcs shows it.
  EXPECT_EQ(e->status, Status::Startup);
  EXPECT_EQ(e->statusSource, tcs::StatusSource::Registry);
  EXPECT_EQ(e->message, "Started (pid 200)");
  EXPECT_TRUE(e->running());
  // Equal timestamps: the later arrival wins.
  EXPECT_EQ(f.status("a.b", Status::Degraded, 30, 200, "same time"), tcs::ApplyOutcome::Applied);
  EXPECT_EQ(view.find("a.b")->status, Status::Degraded);
  EXPECT_EQ(view.counters().superseded, 3u);
}

TEST(FleetView, AnOlderEventDoesNotOverrideTheRunnerIdOfANewerOne) {
  FleetView view;
  Feed f{view};
  EXPECT_EQ(f.event("a.b", 30, p::StartEvent{Status::Startup, "host2", 7}, "L2.a"), tcs::ApplyOutcome::Applied);
  // An older stop from the previous host, delivered late (snapshot overlapping a live feed).
  EXPECT_EQ(f.event("a.b", 20, p::StopEvent{Status::Shutdown, "terminated", 0}, "L1.a"), tcs::ApplyOutcome::Applied);
  EXPECT_EQ(view.find("a.b")->runnerId, "L2.a");
}

TEST(FleetView, ARestartedServiceGetsItsNewPidAndStartTime) {
  for (const bool upstream : {false, true}) {
    SCOPED_TRACE(upstream ? "upstream rules" : "tcs rules");
    FleetView view{upstream ? FleetRules::upstreamTcsctl() : FleetRules::tcs()};
    Feed f{view};
    f.declared("cam.main", 0);
    f.start("cam.main", 1, 101);
    f.status("cam.main", Status::Ok, 2, 101, "Service running");
    f.heartbeat("cam.main", 2);
    f.crashed("cam.main", 5, 1, true);
    const auto* e = view.find("cam.main");
    EXPECT_EQ(e->status, upstream ? Status::Ok : Status::Error);
    EXPECT_EQ(e->message, upstream ? "Service running" : "Crashed (exit code 1), restarting");
    EXPECT_EQ(view.restartState(*e), upstream ? tcs::RestartState::None : tcs::RestartState::Restarting);
    f.restarting("cam.main", 6, 1, 2);
    f.start("cam.main", 6.01, 202);
    // Before the new instance speaks, upstream still shows the old pid from its last status.
    EXPECT_EQ(e->pid, upstream ? 101 : 202);
    EXPECT_EQ(e->startedAt(), at(6.01));
    EXPECT_EQ(view.uptime(*e, at(16.5)), 10s);
    f.status("cam.main", Status::Ok, 6.5, 202, "Service running");
    EXPECT_EQ(e->pid, 202);
    EXPECT_EQ(e->status, Status::Ok);
    EXPECT_TRUE(e->running());
    EXPECT_EQ(e->lastCrash->exitCode, 1);
    EXPECT_EQ(e->lastRestart->attempt, 1);
    EXPECT_EQ(e->lastRestart->maxRestarts, 2);
    EXPECT_EQ(e->runnerId, "L1.cam");
    EXPECT_EQ(e->restartPolicy, "on-failure");
    EXPECT_EQ(view.restartState(*e), upstream ? tcs::RestartState::None : tcs::RestartState::Recovered);
  }
}

TEST(FleetView, AGivenUpServiceIsShownFailedByTcsAndOkByUpstream) {
  for (const bool upstream : {false, true}) {
    SCOPED_TRACE(upstream ? "upstream rules" : "tcs rules");
    FleetView view{upstream ? FleetRules::upstreamTcsctl() : FleetRules::tcs()};
    Feed f{view};
    f.declared("cam.main", 0);
    f.start("cam.main", 1, 101);
    f.status("cam.main", Status::Ok, 2, 101, "Service running");
    f.heartbeat("cam.main", 2);
    f.crashed("cam.main", 5, -9, false);
    const auto* e = view.find("cam.main");
    const auto now = at(10);
    EXPECT_EQ(e->status, upstream ? Status::Ok : Status::Failed);
    EXPECT_EQ(e->running(), upstream);
    EXPECT_EQ(view.symbol(*e, now), upstream ? tcs::FleetSymbol::Healthy : tcs::FleetSymbol::Error);
    EXPECT_TRUE(view.visible(*e, now, false));  // upstream: running; tcs: fresh and failed
    EXPECT_TRUE(view.crashedRecently(*e, now));
    EXPECT_FALSE(view.crashedRecently(*e, at(305)));
    if (!upstream) {
      EXPECT_EQ(e->message, "Crashed (signal 9), not restarting");
      EXPECT_EQ(view.restartState(*e), tcs::RestartState::Failed);
      EXPECT_EQ(view.list(now).summary(), "0 loaded services (1 stopped hidden, use --all)");
    } else {
      // Upstream keeps it "running" until its heartbeat goes stale, then dead (a zombie).
      EXPECT_EQ(view.symbol(*e, at(32)), tcs::FleetSymbol::Warning);
      EXPECT_EQ(view.symbol(*e, at(122)), tcs::FleetSymbol::Problem);
      EXPECT_EQ(view.list(now).summary(), "1 loaded services");
    }
  }
}

TEST(FleetView, HeartbeatsAreAliveFor30sStaleUntil120sThenDeadAndFreshFor24h) {
  FleetView view;
  Feed f{view};
  f.status("a.b", Status::Ok, 0);
  const auto* e = view.find("a.b");
  EXPECT_EQ(view.liveness(*e, at(1)), tcs::HeartbeatLiveness::Dead);  // running, no heartbeat
  EXPECT_EQ(view.symbol(*e, at(1)), tcs::FleetSymbol::Problem);
  f.heartbeat("a.b", 100);
  EXPECT_EQ(view.liveness(*e, at(129.999)), tcs::HeartbeatLiveness::Alive);
  EXPECT_EQ(view.liveness(*e, at(130)), tcs::HeartbeatLiveness::Stale);
  EXPECT_EQ(view.liveness(*e, at(219.999)), tcs::HeartbeatLiveness::Stale);
  EXPECT_EQ(view.liveness(*e, at(220)), tcs::HeartbeatLiveness::Dead);
  EXPECT_TRUE(view.fresh(*e, at(100 + 86399)));
  EXPECT_FALSE(view.fresh(*e, at(100 + 86400)));
  f.status("a.b", Status::Shutdown, 101);
  EXPECT_EQ(view.liveness(*view.find("a.b"), at(1000)), tcs::HeartbeatLiveness::Dead);  // has a heartbeat
  f.status("c.d", Status::Shutdown, 0);
  EXPECT_EQ(view.liveness(*view.find("c.d"), at(1)), tcs::HeartbeatLiveness::None);  // stopped, none
  EXPECT_EQ(view.symbol(*view.find("c.d"), at(1)), tcs::FleetSymbol::Stopped);
}

TEST(FleetView, AStopThenALateStatusKeepsTheServiceStopped) {
  FleetView view;
  Feed f{view};
  f.declared("cam.main", 0);
  f.start("cam.main", 1, 101);
  f.status("cam.main", Status::Ok, 2, 101, "Service running");
  f.heartbeat("cam.main", 2);
  f.stop("cam.main", 10, "terminated");
  // The service's own last status (taken before it exited) arrives after the supervisor's stop.
  EXPECT_EQ(f.status("cam.main", Status::Ok, 9.5, 101, "still busy"), tcs::ApplyOutcome::Applied);
  const auto* e = view.find("cam.main");
  EXPECT_FALSE(e->running());
  EXPECT_EQ(e->status, Status::Shutdown) << "the stop is newer than the late status";
  EXPECT_EQ(view.symbol(*e, at(11)), tcs::FleetSymbol::Stopped);
  // A status stamped after the stop, without a new start, does not make it run either.
  f.status("cam.main", Status::Ok, 10.5, 101, "late");
  EXPECT_FALSE(e->running());
  f.start("cam.main", 20, 202);
  EXPECT_FALSE(e->stoppedAt) << "a new start clears the stop";
}

TEST(FleetView, AnotherProcessStatusAfterTheLastStopRunsAgainUnderTcsRules) {
  // Found by the chaos soak: the service was started again while its supervisor was down, so
  // no `start` event exists for the new process; its own status and heartbeats do.
  for (const bool upstream : {false, true}) {
    SCOPED_TRACE(upstream ? "upstream rules" : "tcs rules");
    FleetView view{upstream ? FleetRules::upstreamTcsctl() : FleetRules::tcs()};
    Feed f{view};
    f.declared("cam.main", 0);
    f.start("cam.main", 1, 101);
    f.status("cam.main", Status::Ok, 2, 101, "Service running");
    f.stop("cam.main", 10, "terminated");
    f.status("cam.main", Status::Ok, 30, 303, "Service running");
    f.heartbeat("cam.main", 30);
    const auto* e = view.find("cam.main");
    EXPECT_EQ(e->running(), !upstream);
    EXPECT_EQ(e->pid, 303);
    EXPECT_EQ(view.uptime(*e, at(40)), std::nullopt) << "its start time is not known";
    if (!upstream) {
      EXPECT_EQ(view.symbol(*e, at(31)), tcs::FleetSymbol::Healthy);
      f.status("cam.main", Status::Shutdown, 40, 303, "stopping");  // not operational: stopped
      EXPECT_TRUE(e->stoppedAt);
    }
  }
}

TEST(FleetView, ARestartLoopCountsItsAttemptsUntilTheLimitGivesUp) {
  FleetView view;
  Feed f{view};
  f.declared("cam.main", 0);
  double t = 1;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    f.start("cam.main", t, 100 + attempt);
    f.crashed("cam.main", t + 1, 3, true);
    EXPECT_EQ(view.restartState(*view.find("cam.main")), tcs::RestartState::Restarting) << attempt;
    f.restarting("cam.main", t + 1.2, attempt, 3);
    EXPECT_EQ(view.find("cam.main")->lastRestart->attempt, attempt);
    t += 2;
  }
  f.start("cam.main", t, 200);
  f.crashed("cam.main", t + 1, 3, false);
  f.event("cam.main", t + 1.1, p::FailedEvent{Status::Failed, "restart_limit_reached", 3});
  const auto* e = view.find("cam.main");
  EXPECT_EQ(view.restartState(*e), tcs::RestartState::Failed);
  EXPECT_EQ(e->status, Status::Failed);
  EXPECT_EQ(e->lastFailure->restartCount, 3);
  EXPECT_EQ(e->lastRestart->maxRestarts, 3);
  EXPECT_FALSE(e->running());
  EXPECT_EQ(view.symbol(*e, at(t + 2)), tcs::FleetSymbol::Error);
}

TEST(FleetView, ClockSkewOfAFewSecondsBetweenHostsKeepsLivenessAndAgesSane) {
  FleetView view;
  Feed f{view};
  // A service on a host whose clock runs 3 s ahead of the viewer's: its heartbeat is "in the future".
  f.start("cam.main", 3, 101);
  f.status("cam.main", Status::Ok, 3, 101, "Service running");
  f.heartbeat("cam.main", 3);
  const auto* e = view.find("cam.main");
  EXPECT_EQ(view.liveness(*e, at(0)), tcs::HeartbeatLiveness::Alive);
  EXPECT_EQ(view.uptime(*e, at(0)), 0s) << "a negative age counts as 0";
  EXPECT_EQ(tcs::formatDuration(-3s), "0s");
  // One that runs 3 s behind: it ages 3 s early, within the 30 s threshold's margin.
  f.heartbeat("other.main", -3);
  EXPECT_EQ(view.liveness(*view.find("other.main"), at(26.9)), tcs::HeartbeatLiveness::Alive);
  EXPECT_EQ(view.liveness(*view.find("other.main"), at(27)), tcs::HeartbeatLiveness::Stale);
}

TEST(FleetView, TheThreeStreamsMayArriveInAnyOrder) {
  // A snapshot reads registry, status and heartbeat one after the other; live messages
  // interleave. Every order gives the same records.
  std::vector<std::function<void(Feed&)>> messages = {
      [](Feed& f) { f.declared("cam.main", 0); },
      [](Feed& f) { f.start("cam.main", 1, 101); },
      [](Feed& f) { f.status("cam.main", Status::Ok, 2, 101, "Service running"); },
      [](Feed& f) { f.heartbeat("cam.main", 4); },
      [](Feed& f) { f.crashed("cam.main", 5, -9, true); },
      [](Feed& f) { f.restarting("cam.main", 5.2, 1, std::nullopt); },
      [](Feed& f) { f.start("cam.main", 5.3, 202); },
      [](Feed& f) { f.status("cam.main", Status::Busy, 6, 202, "working"); },
      [](Feed& f) { f.heartbeat("cam.main", 7); },
  };
  std::vector<std::size_t> order(messages.size());
  std::iota(order.begin(), order.end(), 0);
  std::optional<std::string> first;
  std::mt19937 random(42);  // 2,000 of the 362,880 orders, spread over all of them
  for (int n = 0; n < 2000; ++n) {
    if (n > 0) std::shuffle(order.begin(), order.end(), random);
    FleetView view;
    Feed f{view};
    for (auto i : order) messages[i](f);
    const auto* e = view.find("cam.main");
    const auto summary =
        fmt::format("{} {} pid {} hb {} restart {} running {}", tcs::toString(e->status), e->message,
                    e->pid.value_or(0), e->lastHeartbeat == at(7), e->lastRestart->attempt, e->running());
    if (!first) first = summary;
    EXPECT_EQ(summary, *first);
  }
  EXPECT_EQ(*first, "busy working pid 202 hb true restart 1 running true");
}

TEST(FleetView, ListingGroupsServicesUnderTheirLauncher) {
  for (const bool upstream : {false, true}) {
    SCOPED_TRACE(upstream ? "upstream rules" : "tcs rules");
    FleetView view{upstream ? FleetRules::upstreamTcsctl() : FleetRules::tcs()};
    Feed f{view};
    for (const std::string l : {"launcher.L2", "launcher.L1"}) {
      f.status(l, Status::Ok, 1, 1, "Launcher running", "");
      f.heartbeat(l, 1);
    }
    for (const auto& [id, parent] : std::vector<std::pair<std::string, std::string>>{{"zeta.main", "launcher.L1"},
                                                                                     {"alpha.main", "launcher.L1"},
                                                                                     {"cam.x", "launcher.L2"},
                                                                                     {"free.svc", ""},
                                                                                     {"orphan.one", "launcher.L9"},
                                                                                     {"kid.of_orphan", "orphan.one"}}) {
      f.status(id, Status::Ok, 2, 5, "", parent);
      f.heartbeat(id, 2);
    }
    const auto listing = view.list(at(3));
    std::vector<std::string> got;
    for (const auto& r : listing.rows) got.push_back(std::to_string(r.depth) + " " + r.entry->id);
    std::vector<std::string> want{"0 free.svc",    "0 launcher.L1", "1 alpha.main", "1 zeta.main",
                                  "0 launcher.L2", "1 cam.x",       "0 orphan.one"};
    if (!upstream) want.push_back("1 kid.of_orphan");  // upstream drops an orphan's children
    EXPECT_EQ(got, want);
    EXPECT_EQ(listing.listedCount, 8u);
    EXPECT_EQ(listing.summary(), "8 loaded services");
    EXPECT_EQ(view.find("launcher.L1")->kind, tcs::FleetEntryKind::Launcher);
    EXPECT_EQ(view.find("cam.x")->kind, tcs::FleetEntryKind::Service);
    EXPECT_FALSE(listing.rows[1].uptime.has_value());  // launcher: no start, up:N/A
  }
}

TEST(FleetView, ListingHidesStoppedAndOldEntriesUnlessAllAndFiltersByIdIgnoringCase) {
  FleetView view;
  Feed f{view};
  const double day = 86400;
  f.declared("stopped.declared", 0);
  f.start("stopped.declared", 1, 10);
  f.heartbeat("stopped.declared", 1);
  f.stop("stopped.declared", 2);
  f.status("zombie.ephemeral", Status::Ok, 0, 11, "", "");  // running, last heartbeat > 24 h ago
  f.heartbeat("zombie.ephemeral", 0);
  f.status("old.stopped", Status::Shutdown, 0, 12, "", "");  // ephemeral, stopped, old
  f.heartbeat("old.stopped", 0);
  f.status("broken.svc", Status::Error, day, 13, "boom", "");  // fresh error, not stopped
  f.heartbeat("broken.svc", day);
  f.status("Good.Svc", Status::Ok, day, 14, "", "");
  f.heartbeat("Good.Svc", day);
  const auto now = at(day + 10);

  auto ids = [](const tcs::FleetListing& l) {
    std::vector<std::string> out;
    for (const auto& r : l.rows) out.push_back(r.entry->id);
    return out;
  };
  const auto def = view.list(now);
  EXPECT_EQ(ids(def), (std::vector<std::string>{"Good.Svc", "broken.svc"}));
  EXPECT_EQ(def.summary(), "1 loaded services (1 stopped hidden, use --all)");
  const auto all = view.list(now, {true, ""});
  EXPECT_EQ(ids(all), (std::vector<std::string>{"Good.Svc", "broken.svc", "stopped.declared"}));
  EXPECT_EQ(all.summary(), "1 loaded services");
  const auto filtered = view.list(now, {true, "good"});
  EXPECT_EQ(ids(filtered), (std::vector<std::string>{"Good.Svc"}));
  EXPECT_EQ(filtered.summary(), "1 loaded services (filtered by 'good')");
  EXPECT_EQ(view.list(now, {false, "stopped"}).summary(), "No services matching 'stopped' found");
  EXPECT_EQ(FleetView{}.list(now).summary(), "No services found");
  EXPECT_EQ(view.symbol(*view.find("broken.svc"), now), tcs::FleetSymbol::Error);
  EXPECT_FALSE(def.rows[1].showHeart);
  EXPECT_TRUE(def.rows[0].showHeart);
}

TEST(FleetView, TcsOnlyEventsSetStatusAndMessageAndChildReportsAreKept) {
  FleetView view;
  Feed f{view};
  f.start("cam.main", 1, 7);
  f.event("cam.main", 2, p::ReadyEvent{Status::Ok, 1.0});
  EXPECT_EQ(view.find("cam.main")->status, Status::Ok);
  EXPECT_EQ(view.find("cam.main")->readyAt, at(2));
  f.event("cam.main", 3, p::StoppingEvent{Status::Shutdown, "requested"});
  EXPECT_EQ(view.find("cam.main")->status, Status::Shutdown);
  EXPECT_EQ(view.find("cam.main")->message, "Stopping (requested)");
  f.event("cam.main", 4, p::FailedEvent{Status::Failed, "restart_limit_reached", 3});
  EXPECT_EQ(view.find("cam.main")->message, "Failed (restart_limit_reached, 3 restarts)");
  EXPECT_EQ(view.restartState(*view.find("cam.main")), tcs::RestartState::Failed);

  p::StatusUpdate u;
  u.name = "dome.main";
  u.status = Status::Degraded;
  u.timestamp = at(5);
  u.pid = 3;
  u.hostname = "h";
  p::StatusReport child;
  child.name = "link";
  child.status = Status::Degraded;
  child.timestamp = at(5);
  child.message = "link flaky";
  u.details.ownStatus = Status::Idle;
  u.details.children.push_back(child);
  u.details.metrics.set("cycles", std::int64_t{3});
  EXPECT_EQ(view.apply("svc.status.dome.main", p::encode(u, meta(at(5))), kRecv), tcs::ApplyOutcome::Applied);
  const auto& d = view.find("dome.main")->lastReport->details;
  ASSERT_EQ(d.children.size(), 1u);
  EXPECT_EQ(d.children[0].message, "link flaky");
  EXPECT_EQ(d.metrics.text(), R"({"cycles":3})");
}

TEST(FleetView, DurationsAreFormattedAsUpstreamTcsctlDoes) {
  EXPECT_EQ(tcs::formatDuration(-5s), "0s");
  EXPECT_EQ(tcs::formatDuration(0s), "0s");
  EXPECT_EQ(tcs::formatDuration(59s), "59s");
  EXPECT_EQ(tcs::formatDuration(60s), "1m");
  EXPECT_EQ(tcs::formatDuration(3599s), "59m");
  EXPECT_EQ(tcs::formatDuration(3600s), "1h 0m");
  EXPECT_EQ(tcs::formatDuration(86399s), "23h 59m");
  EXPECT_EQ(tcs::formatDuration(86400s), "1d 0h");
  EXPECT_EQ(tcs::formatDuration(3 * 86400s + 7 * 3600s + 59s), "3d 7h");
}

// ---- processes of one id: duplicates, and the host filter ---------------------------------------

/// A process publishing for an id: its status messages and heartbeats under its own sender name.
struct Process {
  FleetView& view;
  std::string id, hostname, sender, parent;
  std::int64_t pid;

  tcs::ApplyOutcome status(double t, Status s = Status::Ok) {
    p::StatusUpdate u;
    u.name = id;
    u.status = s;
    u.timestamp = at(t);
    u.parent = parent;
    u.pid = pid;
    u.hostname = hostname;
    auto m = meta(at(t));
    m.sender = sender;
    return view.apply(p::statusSubject("svc", id), p::encode(u, m), kRecv);
  }
  tcs::ApplyOutcome heartbeat(double t) {
    p::Heartbeat h;
    h.serviceId = id;
    h.timestamp = at(t);
    h.status = Status::Ok;
    auto m = meta(at(t));
    m.sender = sender;
    return view.apply(p::heartbeatSubject("svc", id), p::encode(h, m), kRecv);
  }
};

TEST(FleetViewDuplicates, TheSameIdAliveOnTwoHostsAtOnceIsADuplicate) {
  FleetView view;
  Process a{view, "cam.main", "tel1.example.org", "Messenger_a", "launcher.tel1-systemd-launcher", 100};
  Process b{view, "cam.main", "tel2", "Messenger_b", "launcher.tel2-systemd-launcher", 200};
  Process la{view, "launcher.tel1-systemd-launcher", "tel1.example.org", "Messenger_la", "", 1};
  la.status(0);
  a.status(1);
  a.heartbeat(1);
  EXPECT_FALSE(view.duplicate(*view.find("cam.main"), at(2)));
  b.status(5);  // a second process starts elsewhere: not proven concurrent until the first speaks again
  EXPECT_FALSE(view.duplicate(*view.find("cam.main"), at(5)));
  a.heartbeat(11);  // within one heartbeat interval
  const auto d = view.duplicate(*view.find("cam.main"), at(11));
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->observed);
  ASSERT_EQ(d->hosts.size(), 2u);
  EXPECT_EQ(d->hosts[0].hostname, "tel1.example.org");
  EXPECT_EQ(d->hosts[0].pid, 100);
  EXPECT_EQ(d->hosts[0].launcher, "launcher.tel1-systemd-launcher");
  EXPECT_EQ(d->hosts[1].hostname, "tel2");
  EXPECT_EQ(d->hosts[1].pid, 200);
  // The listing carries it on the service's row only.
  const auto listing = view.list(at(11), {true, ""});
  for (const auto& r : listing.rows) EXPECT_EQ(r.duplicate.has_value(), r.entry->id == "cam.main") << r.entry->id;
  // One of them stops: 30 s after its last message it is no longer alive, and the warning ends.
  b.heartbeat(15);
  a.heartbeat(21);
  a.heartbeat(31);
  a.heartbeat(41);
  EXPECT_TRUE(view.duplicate(*view.find("cam.main"), at(44)));
  EXPECT_FALSE(view.duplicate(*view.find("cam.main"), at(46)));
}

TEST(FleetViewDuplicates, TwoPidsOnOneHostAtOnceAreADuplicateButARestartIsNot) {
  FleetView view;
  Process old{view, "cam.main", "tel1", "Messenger_old", "launcher.L1", 100};
  Process fresh{view, "cam.main", "tel1", "Messenger_new", "launcher.L1", 101};
  old.status(0);
  old.heartbeat(0);
  old.heartbeat(10);  // then killed: silent from here
  fresh.status(12);
  fresh.heartbeat(12);
  fresh.heartbeat(22);
  EXPECT_FALSE(view.duplicate(*view.find("cam.main"), at(23)));  // old is still "alive" by age, but replaced
  old.heartbeat(25);                                             // …unless it was not dead at all
  const auto d = view.duplicate(*view.find("cam.main"), at(25));
  ASSERT_TRUE(d);
  ASSERT_EQ(d->hosts.size(), 2u);
  EXPECT_EQ(d->hosts[0].pid, 100);
  EXPECT_EQ(d->hosts[1].pid, 101);
}

TEST(FleetViewDuplicates, HeartbeatsOfAProcessWhoseStatusWasNeverSeenDoNotMakeADuplicate) {
  FleetView view;
  Process a{view, "cam.main", "tel1", "Messenger_a", "launcher.L1", 100};
  Process ghost{view, "cam.main", "", "Messenger_ghost", "", 0};
  a.status(0);
  ghost.heartbeat(1);
  a.heartbeat(2);
  ghost.heartbeat(3);
  EXPECT_FALSE(view.duplicate(*view.find("cam.main"), at(4)));  // no hostname to show: not claimed
  EXPECT_EQ(view.find("cam.main")->instances.size(), 2u);
}

TEST(FleetViewDuplicates, ASupervisorsDuplicateEventIsShownUntilTheNextStartAndChangesNoStatus) {
  FleetView view;
  Feed f{view};
  f.start("cam.main", 0, 100);
  f.status("cam.main", Status::Ok, 1, 100);
  f.heartbeat("cam.main", 1);
  p::DuplicateEvent dup{Status::Warning, {{"host1", 100, "launcher.L1"}, {"host2", 200, ""}}};
  EXPECT_EQ(f.event("cam.main", 2, dup), tcs::ApplyOutcome::Applied);
  const auto* e = view.find("cam.main");
  EXPECT_EQ(e->status, Status::Ok);  // a warning about the id, not a lifecycle fact
  ASSERT_TRUE(e->lastDuplicate);
  const auto d = view.duplicate(*e, at(3));
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->observed);
  EXPECT_EQ(d->hosts, dup.hosts);
  f.start("cam.main", 4, 101);  // restarted since: the report is old news
  EXPECT_FALSE(view.duplicate(*view.find("cam.main"), at(5)));
}

TEST(FleetViewHosts, TheHostFilterMatchesShortOrFullHostnameOrLauncherIdAndKeepsTheGrouping) {
  FleetView view;
  Process l1{view, "launcher.tel1-systemd-launcher", "tel1.example.org", "s1", "", 1};
  Process l2{view, "launcher.tel2-systemd-launcher", "tel2", "s2", "", 2};
  Process a{view, "cam.main", "tel1.example.org", "s3", "launcher.tel1-systemd-launcher", 10};
  Process b{view, "dome.main", "tel2", "s4", "launcher.tel2-systemd-launcher", 20};
  for (auto* x : {&l1, &l2, &a, &b}) {
    x->status(1);
    x->heartbeat(1);
  }
  const auto ids = [&](std::vector<std::string> hosts) {
    std::vector<std::string> out;
    for (const auto& r : view.list(at(2), {false, ""}, hosts).rows)
      out.push_back(std::to_string(r.depth) + " " + r.entry->id);
    return out;
  };
  const std::vector<std::string> tel1{"0 launcher.tel1-systemd-launcher", "1 cam.main"};
  EXPECT_EQ(ids({"tel1"}), tel1);
  EXPECT_EQ(ids({"TEL1.example.org"}), tel1);
  EXPECT_EQ(ids({"tel1-systemd-launcher"}), tel1);
  EXPECT_EQ(ids({"launcher.tel1-systemd-launcher"}), tel1);
  EXPECT_EQ(ids({"tel2", "tel1"}).size(), 4u);
  EXPECT_TRUE(ids({"tel3"}).empty());
  EXPECT_EQ(ids({}).size(), 4u);
}

}  // namespace
