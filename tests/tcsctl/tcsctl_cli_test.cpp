// SPDX-License-Identifier: MIT
// tcsctl end to end (tcs::ctl::run, the whole command line) against a real nats-server on a free
// loopback port: upstream's captured traffic replayed into JetStream (timestamps shifted to now)
// and listed as upstream listed it, --json, a server without JetStream, --follow, the verbs
// through a real Supervisor over a fake systemd, the exit codes, and the man page against --help.
// Skipped without nats-server. No blind sleeps: conditions are polled with deadlines.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <ostream>
#include <regex>
#include <set>
#include <sstream>
#include <streambuf>
#include <string>
#include <thread>
#include <vector>

#include "../supervisor/hello_supervisor.hpp"
#include "app.hpp"
#include "fleet_fixture.hpp"
#include "nats_server.hpp"
#include "render.hpp"
#include "supervisor.hpp"
#include "tcs/jetstream.hpp"
#include "tcs/nats.hpp"
#include "tcs/protocol.hpp"
#include "temp_dir.hpp"
#include "upstream_vectors.hpp"
#include "wait_until.hpp"

namespace {

using namespace std::chrono_literals;
using tcs::Status;
using tcs::test::NatsServer;
using tcs::test::NatsServerOptions;
using tcs::test::TempDir;
using tcs::test::waitUntil;
using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;
namespace p = tcs::protocol;
namespace v = tcs::test::vectors;

const std::filesystem::path kVectors = TCS_FULL_VECTORS_DIR;
const std::filesystem::path kSourceDir = TCS_SOURCE_DIR;

// ---- running tcsctl -------------------------------------------------------------------------------

struct Outcome {
  int rc = -1;
  std::string out, err;
};

/// tcs::ctl::run() with a non-terminal Terminal (no colour, UTF-8, unlimited width).
Outcome tcsctl(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  tcs::ctl::Terminal t{out, err};
  t.tty = false;
  t.utf8 = true;
  t.width = 0;
  Outcome o;
  o.rc = tcs::ctl::run(args, t);
  o.out = out.str();
  o.err = err.str();
  return o;
}

/// A stream buffer that one thread writes (tcsctl --follow) while another reads it: every write
/// and every read of the text under one mutex. No put area, so every write reaches xsputn/overflow.
class LockedText : public std::streambuf {
 public:
  std::string text() const {
    std::lock_guard lock(m_);
    return text_;
  }

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::lock_guard lock(m_);
    text_.append(s, static_cast<std::size_t>(n));
    return n;
  }
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    std::lock_guard lock(m_);
    text_.push_back(traits_type::to_char_type(c));
    return c;
  }

 private:
  mutable std::mutex m_;
  std::string text_;
};

// ---- upstream's traffic, shifted in time ----------------------------------------------------------

using Micros = std::chrono::microseconds;
using SysMicros = std::chrono::sys_time<Micros>;

/// @return whether @p j is the protocol's 7-int UTC time [Y, M, D, h, m, s, µs]
bool isWireTime(const Json& j) {
  if (!j.is_array() || j.size() != 7) return false;
  for (const auto& x : j)
    if (!x.is_number_integer()) return false;
  const int y = j[0].get<int>(), mo = j[1].get<int>(), d = j[2].get<int>();
  return y >= 1970 && y <= 2200 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31;
}

SysMicros fromWire(const Json& j) {
  using namespace std::chrono;
  const sys_days date{year{j[0].get<int>()} / month{j[1].get<unsigned>()} / day{j[2].get<unsigned>()}};
  return SysMicros{date} + hours{j[3].get<int>()} + minutes{j[4].get<int>()} + seconds{j[5].get<int>()} +
         Micros{j[6].get<std::int64_t>()};
}

Json toWire(SysMicros t) {
  using namespace std::chrono;
  const auto date = floor<days>(t);
  const year_month_day ymd{date};
  const hh_mm_ss hms{t - date};
  return Json::array({static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                      static_cast<unsigned>(ymd.day()), hms.hours().count(), hms.minutes().count(),
                      hms.seconds().count(), hms.subseconds().count()});
}

/// Moves every wire time in @p j (payload `timestamp`, `meta.ts`, the children's…) by @p shift.
void shiftTimes(Json& j, Micros shift) {
  if (isWireTime(j)) {
    j = toWire(fromWire(j) + shift);
  } else if (j.is_structured()) {
    for (auto& x : j) shiftTimes(x, shift);
  }
}

/// Lines as the capture shows them: Rich's wrapping undone, trailing blank lines dropped, and
/// what depends on the instant of the command (ages, uptimes, absolute times) replaced.
std::vector<std::string> inSubstance(std::vector<std::string> lines) {
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  static const std::regex up{R"(up:\d[^ ]*)"};
  static const std::regex when{R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \([^()]* ago\))"};
  static const std::regex uptime{R"(^(    Uptime: +)\d.*$)"};
  for (auto& l : lines) {
    l = std::regex_replace(l, up, "up:<uptime>");
    l = std::regex_replace(l, when, "<time> (<age> ago)");
    l = std::regex_replace(l, uptime, "$1<uptime>");
  }
  return lines;
}

/// An age or uptime as printed (`14s`, `9m`, `1h 2m`, `3d 4h`): its seconds and its resolution.
struct Printed {
  long long seconds = 0, resolution = 1;
};

Printed parseDuration(const std::string& s) {
  static const std::regex part{R"((\d+)([smhd]))"};
  Printed d;
  d.resolution = 86400;
  for (std::sregex_iterator it(s.begin(), s.end(), part), end; it != end; ++it) {
    const long long unit = (*it)[2] == "s" ? 1 : (*it)[2] == "m" ? 60 : (*it)[2] == "h" ? 3600 : 86400;
    d.seconds += std::stoll((*it)[1]) * unit;
    d.resolution = std::min(d.resolution, unit);
  }
  return d;
}

/// The ages and uptimes of @p lines, in order (what inSubstance() replaces).
std::vector<Printed> durationsOf(const std::vector<std::string>& lines) {
  static const std::regex any{R"(up:(\d[^ ]*)|\(([^()]*) ago\)|^    Uptime: +(\d.*)$)"};
  std::vector<Printed> out;
  for (const auto& l : lines)
    for (std::sregex_iterator it(l.begin(), l.end(), any), end; it != end; ++it)
      for (int g = 1; g <= 3; ++g)
        if ((*it)[g].matched) out.push_back(parseDuration((*it)[g]));
  return out;
}

/// @return "" when every duration of @p got is within @p slack seconds (plus the coarser
///         resolution of the two) of @p want's, else what differs
std::string durationsDiffer(const std::vector<Printed>& want, const std::vector<Printed>& got, long long slack) {
  if (want.size() != got.size())
    return "upstream printed " + std::to_string(want.size()) + " ages and uptimes, tcsctl " +
           std::to_string(got.size());
  std::string out;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const auto allowed = slack + std::max(want[i].resolution, got[i].resolution);
    if (std::llabs(want[i].seconds - got[i].seconds) > allowed)
      out += "duration #" + std::to_string(i) + ": upstream " + std::to_string(want[i].seconds) + " s, tcsctl " +
             std::to_string(got[i].seconds) + " s\n";
  }
  return out;
}

std::vector<std::string> linesOf(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

/// The command line of a block (`tcsctl --all --detailed`) without the program name.
std::vector<std::string> argsOf(const v::Block& b) {
  std::vector<std::string> out;
  std::istringstream in(b.command);
  for (std::string w; in >> w;)
    if (w != "tcsctl") out.push_back(w);
  return out;
}

/// The ids of the rows of a table listing (`● id [status] …`, `  ├─ ● id …`).
std::vector<std::string> rowIds(const std::string& table) {
  static const std::regex row{R"(^(?:  )*(?:  ├─ )?(?:●|◐|⚠|×|○) (\S+))"};
  std::vector<std::string> ids;
  for (const auto& l : linesOf(table))
    if (std::smatch m; std::regex_search(l, m, row)) ids.push_back(m[1]);
  return ids;
}

// ---- the fixture ------------------------------------------------------------------------------------

class ATcsctl : public ::testing::Test {
 protected:
  void SetUp() override { TCS_SKIP_WITHOUT_NATS_SERVER(); }

  void startServer(NatsServerOptions options = {}) {
    server_.reset();  // a fresh server (and JetStream store) each time
    server_ = std::make_unique<NatsServer>(dir_.path() / ("server-" + std::to_string(++servers_)), std::move(options));
    server_->start();
  }
  tcs::config::NatsConfig natsConfig() const {
    tcs::config::NatsConfig c;
    c.present = true;
    c.host = "127.0.0.1";
    c.port = server_->port();
    c.subjectPrefix = "svc";
    return c;
  }
  std::unique_ptr<tcs::NatsConnection> connect(const std::string& name) const {
    tcs::NatsOptions o;
    o.name = name;
    o.reconnectWaitMin = 100ms;
    o.reconnectWaitMax = 100ms;
    return std::make_unique<tcs::NatsConnection>(natsConfig(), o);
  }
  /// The protocol's three streams, as tcs-supervisor creates them.
  static void addStreams(tcs::NatsConnection& nats) {
    tcs::JetStreamAdmin admin(nats);
    admin.ensureStream({"svc_registry", "svc.registry.>", 0s, -1, 100});
    admin.ensureStream({"svc_status", "svc.status.>", 0s, -1, 1});
    admin.ensureStream({"svc_heartbeat", "svc.heartbeat.>", 0s, -1, 1});
  }
  /// @p args plus a config of the test's own (so no /etc/tcs or ./config is read) and the server.
  std::vector<std::string> with(std::vector<std::string> args) const {
    const auto config = dir_.write("tcsctl.yaml", "nats:\n  subject_prefix: svc\n");
    for (const auto& a : std::vector<std::string>{"-c", config.string(), "--host", "127.0.0.1", "--port",
                                                  std::to_string(server_->port())})
      args.push_back(a);
    return args;
  }

  static p::Meta meta() { return p::processMetaGenerator().next(); }
  static void publishStart(tcs::NatsConnection& nats, const std::string& id, bool persistent) {
    p::RegistryEvent start;
    start.serviceId = id;
    start.timestamp = p::now();
    start.specific = p::StartEvent{.status = Status::Startup, .hostname = "cli-host", .pid = 77};
    start.parent = "launcher.cli-launcher";
    start.runnerId = "r";
    const auto subject = p::registrySubject("svc", p::RegistryEventType::Start, id);
    if (persistent)
      nats.publishPersistent(subject, p::encode(start, meta()));
    else
      nats.publish(subject, p::encode(start, meta()));
  }
  static void publishHeartbeat(tcs::NatsConnection& nats, const std::string& id, bool persistent = false) {
    p::Heartbeat hb;
    hb.serviceId = id;
    hb.status = Status::Ok;
    hb.timestamp = p::now();
    if (persistent)
      nats.publishPersistent(p::heartbeatSubject("svc", id), p::encode(hb, meta()));
    else
      nats.publish(p::heartbeatSubject("svc", id), p::encode(hb, meta()));
  }

  TempDir dir_;
  int servers_ = 0;
  std::unique_ptr<NatsServer> server_;
};

// ---- 1. upstream's traffic replayed into JetStream --------------------------------------------------

/// The blocks of one captured moment (one per command), the records up to it, and the cut that
/// reproduces upstream's text offline (upstream_render_test proves one exists).
struct CapturedMoment {
  std::vector<v::Block> blocks;
  v::BlockReplay replay;
  std::size_t cut = 0;
  /// The captured moment, or the receipt of the last record fed when that is later (a block
  /// may have seen a record received just after its `t`).
  p::Timestamp moment() const {
    auto m = v::plusSeconds(replay.base, replay.moment.t);
    if (cut > 0) m = std::max(m, v::plusSeconds(replay.base, replay.feed[cut - 1]->t));
    return m;
  }
  long long slack() const { return replay.moment.timed ? 2 : 7; }
};

class ATcsctlOverUpstreamTraffic : public ATcsctl {
 protected:
  static void SetUpTestSuite() {
    records_ = new std::vector<v::Record>(v::loadRecords(kVectors / "upstream-traffic.jsonl"));
    scenarios_ = new std::map<std::string, std::vector<v::Record>>(v::byScenario(*records_));
    blocks_ = new std::vector<v::Block>(v::loadBlocks(kVectors / "upstream-tcsctl.txt"));
  }
  static void TearDownTestSuite() {
    delete blocks_;
    delete scenarios_;
    delete records_;
  }

  /// The listing blocks of @p scenario whose moment starts with @p moment.
  static CapturedMoment captured(const std::string& scenario, const std::string& moment) {
    CapturedMoment c;
    for (const auto& b : *blocks_)
      if (b.scenario == scenario && b.moment.starts_with(moment) && !b.legend) c.blocks.push_back(b);
    EXPECT_FALSE(c.blocks.empty()) << scenario << " / " << moment;
    if (c.blocks.empty()) return c;
    const auto r = v::prepare(c.blocks.front(), *scenarios_);
    EXPECT_TRUE(r) << c.blocks.front().title();
    if (!r) return c;
    c.replay = *r;
    // The first cut in the window whose view renders every block as captured (in substance, and
    // with its ages and uptimes).
    for (std::size_t cut = r->firstCut; cut <= r->feed.size(); ++cut) {
      c.cut = cut;
      const auto now = c.moment();
      const auto view = r->viewAt(cut, tcs::FleetRules::upstreamTcsctl());
      bool all = true;
      for (const auto& b : c.blocks) {
        const auto listing = view.list(now, tcs::FleetQuery{b.all, ""});
        const tcs::ctl::RenderStyle style{false, true, 0};
        const auto got = b.detailed ? tcs::ctl::renderDetailed(view, listing, now, style)
                                    : tcs::ctl::renderTable(view, listing, now, style);
        if (inSubstance(linesOf(got)) != inSubstance(v::unwrappedLines(b)) ||
            !durationsDiffer(durationsOf(v::unwrappedLines(b)), durationsOf(linesOf(got)), c.slack()).empty())
          all = false;
      }
      if (all) return c;
    }
    ADD_FAILURE() << "no cut of " << c.blocks.front().title() << " renders it offline";
    c.cut = r->firstCut;
    return c;
  }

  /// A JetStream server holding the records of @p c up to its cut, every time moved so that the
  /// captured moment is now.
  void replayIntoJetStream(const CapturedMoment& c) {
    startServer();
    auto nats = connect("replay");
    addStreams(*nats);
    const auto shift = std::chrono::duration_cast<Micros>(p::now() - c.moment());
    for (std::size_t i = 0; i < c.cut; ++i) {
      auto body = Json::parse(c.replay.feed[i]->body);
      shiftTimes(body, shift);
      nats->publishPersistent(c.replay.feed[i]->subject, body.dump());
    }
    ASSERT_TRUE(nats->flush(5s));
  }

  /// Replays @p scenario up to @p moment and expects tcsctl --upstream-rules to print each of its
  /// captured blocks in substance.
  void expectUpstreamsListing(const std::string& scenario, const std::string& moment) {
    const auto c = captured(scenario, moment);
    if (c.blocks.empty()) return;
    replayIntoJetStream(c);
    for (const auto& b : c.blocks) {
      auto args = argsOf(b);
      args.push_back("--upstream-rules");
      const auto o = tcsctl(with(args));
      EXPECT_EQ(o.rc, 0) << b.title() << "\n" << o.err;
      EXPECT_EQ(o.err, "") << b.title();
      const auto want = joined(inSubstance(v::unwrappedLines(b)));
      const auto got = joined(inSubstance(linesOf(o.out)));
      EXPECT_TRUE(want == got) << b.title() << " (- upstream, + tcsctl):\n" << tcs::test::fleet::textDiff(want, got);
      // The ages and uptimes agree within a second or two: the times were shifted so that the
      // captured moment is now (the older captures name their moment only to a few seconds).
      EXPECT_EQ(durationsDiffer(durationsOf(v::unwrappedLines(b)), durationsOf(linesOf(o.out)), c.slack()), "")
          << b.title() << "\n"
          << o.out;
    }
  }

  static std::vector<v::Record>* records_;
  static std::map<std::string, std::vector<v::Record>>* scenarios_;
  static std::vector<v::Block>* blocks_;
};

std::vector<v::Record>* ATcsctlOverUpstreamTraffic::records_ = nullptr;
std::map<std::string, std::vector<v::Record>>* ATcsctlOverUpstreamTraffic::scenarios_ = nullptr;
std::vector<v::Block>* ATcsctlOverUpstreamTraffic::blocks_ = nullptr;

TEST_F(ATcsctlOverUpstreamTraffic, ListsARestartedServiceAsUpstreamDid) {
  expectUpstreamsListing("crash_on_failure_limit", "during: instance #2 running");
}

TEST_F(ATcsctlOverUpstreamTraffic, ListsAServiceThatGaveUpAsUpstreamDid) {
  expectUpstreamsListing("crash_on_failure_limit", "after: gave up");
}

TEST_F(ATcsctlOverUpstreamTraffic, ListsAStoppedFleetWithStaleHeartbeatsAsUpstreamDid) {
  expectUpstreamsListing("crash_on_failure_limit", "after: >30 s");
}

TEST_F(ATcsctlOverUpstreamTraffic, ListsDegradedChildrenAsUpstreamDid) {
  expectUpstreamsListing("monitoring_children_metrics", "during: ~12.8 s");
}

TEST_F(ATcsctlOverUpstreamTraffic, ListsRecoveredChildrenAsUpstreamDid) {
  expectUpstreamsListing("monitoring_children_metrics", "during: ~24 s");
}

TEST_F(ATcsctlOverUpstreamTraffic, ListsAFleetWhoseLauncherStoppedAsUpstreamDid) {
  expectUpstreamsListing("monitoring_children_metrics", "after: launcher stopped by SIGTERM");
}

TEST_F(ATcsctlOverUpstreamTraffic, ListsAServiceKilledBySignalsAsUpstreamDid) {
  expectUpstreamsListing("crash_signal_on_abnormal", "during: instance #2 running");
  expectUpstreamsListing("crash_signal_on_abnormal", "after: gave up after SIGKILL #3");
}

TEST_F(ATcsctlOverUpstreamTraffic, ListsAServiceThatExitedByItselfAsUpstreamDid) {
  expectUpstreamsListing("always_exit0", "after: service exited 0");
}

TEST_F(ATcsctlOverUpstreamTraffic, ListsTheExamplesFleetAsUpstreamDid) {
  expectUpstreamsListing("examples_yaml", "during: right after examples.monitoring published status error");
}

TEST_F(ATcsctlOverUpstreamTraffic, ListsTheHelloWorldFleetAsUpstreamDid) {
  expectUpstreamsListing("hello_world_process_launcher", "during: ~14 s after launch");
}

TEST_F(ATcsctlOverUpstreamTraffic, ListsASingleShotServiceAsUpstreamDid) {
  expectUpstreamsListing("single_shot", "during: ~10 s after start");
}

TEST_F(ATcsctlOverUpstreamTraffic, ListsASingleShotServiceAfterItsLauncherStoppedAsUpstreamDid) {
  expectUpstreamsListing("single_shot", "after: launcher stopped by SIGTERM");
}

TEST_F(ATcsctlOverUpstreamTraffic, UnderTcsRulesShowsTheServiceThatGaveUpFailedWithItsRestarts) {
  const auto c = captured("crash_on_failure_limit", "after: gave up");
  ASSERT_FALSE(c.blocks.empty());
  replayIntoJetStream(c);
  const auto upstream = tcsctl(with({"--all", "--upstream-rules"}));
  ASSERT_EQ(upstream.rc, 0) << upstream.err;
  EXPECT_THAT(upstream.out, HasSubstr("● mock_crashing.onfail [ok] (♥)"));

  const auto table = tcsctl(with({"--all"}));
  ASSERT_EQ(table.rc, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("  ├─ × mock_crashing.onfail [failed] pid:22593 @vm ✗(2/2) - Crashed (exit code 1), "
                                   "not restarting\n"));
  EXPECT_THAT(table.out, Not(HasSubstr("mock_crashing.onfail [ok]")));
  const auto detailed = tcsctl(with({"--all", "--detailed"}));
  ASSERT_EQ(detailed.rc, 0) << detailed.err;
  EXPECT_THAT(detailed.out, HasSubstr("× mock_crashing.onfail [failed]\n"));
  EXPECT_THAT(detailed.out, HasSubstr("    Restart:     on-failure (max: 2)\n"));
  EXPECT_THAT(detailed.out, HasSubstr("    Restarts:    2 (failed)\n"));
  EXPECT_THAT(detailed.out, HasSubstr("(exit code: 1)"));
}

// ---- 2. --json ---------------------------------------------------------------------------------------

TEST_F(ATcsctlOverUpstreamTraffic, PrintsOneJsonObjectPerListedServiceWithoutNotesOverJetStream) {
  const auto c = captured("monitoring_children_metrics", "during: ~12.8 s");
  ASSERT_FALSE(c.blocks.empty());
  replayIntoJetStream(c);
  for (const bool all : {false, true}) {
    std::vector<std::string> args{"--json"};
    if (all) args.push_back("--all");
    const auto o = tcsctl(with(args));
    ASSERT_EQ(o.rc, 0) << o.err;
    const auto doc = Json::parse(o.out);
    EXPECT_EQ(doc.at("schema"), "tcs.fleet/1");
    EXPECT_EQ(doc.at("prefix"), "svc");
    EXPECT_EQ(doc.at("jetstream"), true);
    EXPECT_EQ(doc.at("notes"), Json::array());
    // The same entries as the text listing, in the same order.
    args.erase(args.begin());
    const auto text = tcsctl(with(args));
    ASSERT_EQ(text.rc, 0);
    std::vector<std::string> ids;
    for (const auto& s : doc.at("services")) ids.push_back(s.at("id"));
    EXPECT_EQ(ids, rowIds(text.out)) << text.out;
    EXPECT_EQ(doc.at("summary").at("listed"), ids.size());
    EXPECT_FALSE(ids.empty());
  }
  // What bash completion asks for: the service ids (not the launchers), one a line.
  const auto ids = tcsctl(with({"--complete-ids", "--timeout", "2", "--listen", "0"}));
  ASSERT_EQ(ids.rc, 0) << ids.err;
  EXPECT_THAT(linesOf(ids.out), ::testing::Contains("vec.monitored.kids")) << ids.out;
  EXPECT_THAT(ids.out, Not(HasSubstr("launcher.")));
}

// ---- 3. without JetStream --------------------------------------------------------------------------

TEST_F(ATcsctl, WithoutJetStreamListsWhatArrivesLiveAndSaysSo) {
  NatsServerOptions noJetStream;
  noJetStream.jetstream = false;
  startServer(noJetStream);
  auto nats = connect("publisher");
  std::atomic<bool> done{false};
  std::thread heartbeats([&] {  // a service heartbeating while tcsctl listens
    while (!done) {
      publishHeartbeat(*nats, "hello_world.main");
      std::this_thread::sleep_for(50ms);  // the publishing cadence, not a wait for a condition
    }
  });
  const auto text = tcsctl(with({"--all", "--listen", "1"}));
  const auto json = tcsctl(with({"--all", "--listen", "1", "--json"}));
  done = true;
  heartbeats.join();

  ASSERT_EQ(text.rc, 0) << text.err;
  EXPECT_THAT(rowIds(text.out), ::testing::Contains("hello_world.main")) << text.out;
  EXPECT_THAT(text.out, HasSubstr("JetStream is not enabled on the server"));
  EXPECT_THAT(text.out, HasSubstr("listened to live messages for 1"));

  ASSERT_EQ(json.rc, 0) << json.err;
  const auto doc = Json::parse(json.out);
  EXPECT_EQ(doc.at("jetstream"), false);
  ASSERT_FALSE(doc.at("notes").empty());
  EXPECT_THAT(doc.at("notes")[0].get<std::string>(), HasSubstr("JetStream is not enabled"));
  std::set<std::string> ids;
  for (const auto& s : doc.at("services")) ids.insert(s.at("id"));
  EXPECT_TRUE(ids.contains("hello_world.main")) << json.out;
}

TEST_F(ATcsctl, TakesServerAndPrefixFromTheConfigsNatsSection) {
  startServer();
  auto nats = connect("publisher");
  tcs::JetStreamAdmin admin(*nats);
  admin.ensureStream({"ocm_registry", "ocm.svc.registry.>", 0s, -1, 100});
  admin.ensureStream({"ocm_status", "ocm.svc.status.>", 0s, -1, 1});
  admin.ensureStream({"ocm_heartbeat", "ocm.svc.heartbeat.>", 0s, -1, 1});
  p::RegistryEvent start;
  start.serviceId = "camera.main";
  start.timestamp = p::now();
  start.specific = p::StartEvent{.status = Status::Startup, .hostname = "cli-host", .pid = 77};
  start.runnerId = "r";
  nats->publishPersistent(p::registrySubject("ocm.svc", p::RegistryEventType::Start, "camera.main"),
                          p::encode(start, meta()));
  p::Heartbeat hb;
  hb.serviceId = "camera.main";
  hb.status = Status::Ok;
  hb.timestamp = p::now();
  nats->publishPersistent(p::heartbeatSubject("ocm.svc", "camera.main"), p::encode(hb, meta()));
  ASSERT_TRUE(nats->flush(5s));
  const auto config = dir_.write("ocm.yaml", "nats:\n  host: 127.0.0.1\n  port: " + std::to_string(server_->port()) +
                                                 "\n  subject_prefix: ocm.svc\n");

  const auto o = tcsctl({"-c", config.string(), "--json", "--all"});  // no --host, --port, --prefix
  ASSERT_EQ(o.rc, 0) << o.err;
  const auto doc = Json::parse(o.out);
  EXPECT_EQ(doc.at("prefix"), "ocm.svc");
  EXPECT_EQ(doc.at("notes"), Json::array());
  ASSERT_EQ(doc.at("services").size(), 1U) << o.out;
  EXPECT_EQ(doc.at("services")[0].at("id"), "camera.main");
  // --prefix wins over the config: nothing under svc (and no stream for it either).
  const auto other = tcsctl({"-c", config.string(), "--json", "--all", "--prefix", "svc", "--listen", "0"});
  ASSERT_EQ(other.rc, 0) << other.err;
  EXPECT_EQ(Json::parse(other.out).at("services"), Json::array());
}

// ---- 4. --follow ---------------------------------------------------------------------------------------

TEST_F(ATcsctl, FollowShowsANewServiceWithinASecondOrTwoAndEndsWithZero) {
  startServer();
  auto nats = connect("publisher");
  addStreams(*nats);
  publishStart(*nats, "hello_world.main", /*persistent=*/true);
  publishHeartbeat(*nats, "hello_world.main", /*persistent=*/true);  // an ephemeral entry is listed while fresh
  ASSERT_TRUE(nats->flush(5s));

  LockedText outText, errText;
  std::ostream out(&outText), err(&errText);
  std::atomic<bool> stop{false};
  tcs::ctl::Terminal t{out, err};
  t.tty = false;
  t.utf8 = true;
  t.width = 0;
  t.stop = &stop;
  std::atomic<int> rc{-1};
  const auto args = with({"--follow", "--json", "--all"});
  std::thread follower([&] { rc = tcs::ctl::run(args, t); });

  // The first frame: the stored fleet.
  EXPECT_TRUE(waitUntil([&] { return outText.text().find("hello_world.main") != std::string::npos; }, 10s))
      << "out: " << outText.text() << "\nerr: " << errText.text();
  EXPECT_EQ(outText.text().find("guider.main"), std::string::npos);
  // A new service starts and heartbeats: a later frame has it.
  publishStart(*nats, "guider.main", /*persistent=*/false);
  publishHeartbeat(*nats, "guider.main");
  ASSERT_TRUE(nats->flush(5s));
  EXPECT_TRUE(waitUntil([&] { return outText.text().find("\"guider.main\"") != std::string::npos; }, 5s))
      << outText.text();

  const auto stopAsked = std::chrono::steady_clock::now();
  stop = true;
  follower.join();
  EXPECT_LT(std::chrono::steady_clock::now() - stopAsked, 3s) << "--follow ends soon after stop";
  EXPECT_EQ(rc.load(), 0) << errText.text();
  // On a pipe every frame is a whole document: the last one lists both services.
  const auto text = outText.text();
  const auto lastDoc = text.rfind("\n{\n");
  const auto doc = Json::parse(lastDoc == std::string::npos ? text : text.substr(lastDoc + 1));
  std::set<std::string> ids;
  for (const auto& s : doc.at("services")) ids.insert(s.at("id"));
  EXPECT_TRUE(ids.contains("guider.main"));
  EXPECT_TRUE(ids.contains("hello_world.main"));
}

TEST_F(ATcsctl, FollowCarriesOnWhenNatsRestarts) {
  startServer();
  {
    auto nats = connect("publisher");
    addStreams(*nats);
    publishStart(*nats, "hello_world.main", /*persistent=*/true);
    publishHeartbeat(*nats, "hello_world.main", /*persistent=*/true);
    ASSERT_TRUE(nats->flush(5s));
  }
  LockedText outText, errText;
  std::ostream out(&outText), err(&errText);
  std::atomic<bool> stop{false};
  tcs::ctl::Terminal t{out, err};
  t.tty = false;
  t.utf8 = true;
  t.width = 0;
  t.stop = &stop;
  std::atomic<int> rc{-1};
  const auto args = with({"--follow", "--all"});  // text, on a pipe: every changed listing once
  std::thread follower([&] { rc = tcs::ctl::run(args, t); });
  EXPECT_TRUE(waitUntil([&] { return outText.text().find("hello_world.main") != std::string::npos; }, 10s))
      << errText.text();

  server_->stop();  // same port and JetStream store when it comes back
  server_->start();
  auto nats = connect("publisher-after");
  publishStart(*nats, "guider.main", /*persistent=*/true);  // live, or read again after the reconnect
  publishHeartbeat(*nats, "guider.main", /*persistent=*/true);
  ASSERT_TRUE(nats->flush(5s));
  EXPECT_TRUE(waitUntil([&] { return outText.text().find("guider.main") != std::string::npos; }, 10s))
      << outText.text() << errText.text();

  stop = true;
  follower.join();
  EXPECT_EQ(rc.load(), 0) << errText.text();
}

TEST_F(ATcsctl, FollowOnATerminalRedrawsInPlaceAndGivesTheCursorBack) {
  startServer();
  auto nats = connect("publisher");
  addStreams(*nats);
  publishStart(*nats, "hello_world.main", /*persistent=*/true);
  publishHeartbeat(*nats, "hello_world.main", /*persistent=*/true);
  ASSERT_TRUE(nats->flush(5s));
  LockedText outText, errText;
  std::ostream out(&outText), err(&errText);
  std::atomic<bool> stop{false};
  tcs::ctl::Terminal t{out, err};
  t.tty = true;
  t.noColor = true;  // NO_COLOR: the cursor still moves, nothing is coloured
  t.utf8 = true;
  t.width = 120;
  t.stop = &stop;
  std::atomic<int> rc{-1};
  const auto args = with({"--follow", "--all"});
  std::thread follower([&] { rc = tcs::ctl::run(args, t); });
  EXPECT_TRUE(waitUntil([&] { return outText.text().find("hello_world.main") != std::string::npos; }, 10s))
      << errText.text();
  stop = true;
  follower.join();
  EXPECT_EQ(rc.load(), 0) << errText.text();
  const auto text = outText.text();
  EXPECT_TRUE(text.starts_with("\x1b[?25l\x1b[H")) << "hide the cursor, then home";
  EXPECT_TRUE(text.ends_with("\x1b[?25h")) << "the cursor is shown again at the end";
  EXPECT_THAT(text, HasSubstr("hello_world.main"));
  EXPECT_THAT(text, HasSubstr("\x1b[K\n"));
  EXPECT_THAT(text, HasSubstr("\x1b[J"));
  EXPECT_FALSE(std::regex_search(text, std::regex{"\x1b\\[[0-9;]*m"})) << "no colour under NO_COLOR";
}

// ---- 5. exit codes ---------------------------------------------------------------------------------------

TEST(ATcsctlCommandLine, ExitsWithOneForAUsageError) {
  const auto bogus = tcsctl({"--bogus"});
  EXPECT_EQ(bogus.rc, 1);
  EXPECT_THAT(bogus.err, HasSubstr("--bogus"));
  EXPECT_THAT(bogus.err, HasSubstr("tcsctl --help"));
  const auto stop = tcsctl({"stop"});
  EXPECT_EQ(stop.rc, 1);
  EXPECT_THAT(stop.err, HasSubstr("SERVICE_ID"));
  EXPECT_EQ(tcsctl({"--timeout", "0"}).rc, 1);
}

TEST(ATcsctlCommandLine, ExitsWithOneForAWordThatAVerbDoesNotTake) {
  // Options may follow a verb (`tcsctl restart x --host h`), but a second word is not a filter.
  const auto port = std::to_string(NatsServer::freePort());  // nobody listens: no verb may get that far
  for (const auto& args : std::vector<std::vector<std::string>>{{"start", "a.main", "extra"},
                                                                {"reload", "l1", "extra"},
                                                                {"hosts", "extra"},
                                                                {"extra", "restart", "a.main"}}) {
    auto full = args;
    for (const auto& a : {"--host", "127.0.0.1", "--port", port.c_str(), "--timeout", "1"}) full.push_back(a);
    const auto o = tcsctl(full);
    EXPECT_EQ(o.rc, 1) << args.front() << ": " << o.err;
    EXPECT_THAT(o.err, HasSubstr("'extra'")) << args.front();
    EXPECT_THAT(o.err, Not(HasSubstr("cannot reach NATS"))) << args.front();
  }
}

TEST(ATcsctlCommandLine, ExitsWithOneNamingAConfigThatDoesNotExist) {
  const auto o = tcsctl({"-c", "/nonexistent.yaml"});
  EXPECT_EQ(o.rc, 1);
  EXPECT_THAT(o.err, HasSubstr("/nonexistent.yaml"));
  EXPECT_EQ(o.out, "");
}

TEST(ATcsctlCommandLine, ExitsWithOneNamingTheFileAndKeyOfAnInvalidNatsSection) {
  TempDir dir;
  const auto config = dir.write("services.yaml", "nats:\n  host: 127.0.0.1\n  port: notanumber\n");
  const auto o = tcsctl({"-c", config.string()});
  EXPECT_EQ(o.rc, 1);
  EXPECT_THAT(o.err, HasSubstr("the nats: section of " + config.string()));
  EXPECT_THAT(o.err, HasSubstr(config.string() + ":3: nats.port:"));
  EXPECT_THAT(o.err, HasSubstr("'notanumber'"));
  EXPECT_EQ(o.out, "");
}

TEST(ATcsctlCommandLine, ExitsWithTwoWithinItsBoundWhenNatsIsDown) {
  TempDir dir;
  const auto config = dir.write("services.yaml", "nats:\n  subject_prefix: svc\n");
  const auto port = std::to_string(NatsServer::freePort());  // nobody listens there
  const auto started = std::chrono::steady_clock::now();
  const auto o = tcsctl({"-c", config.string(), "--host", "127.0.0.1", "--port", port, "--timeout", "1"});
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(o.rc, 2);
  EXPECT_LT(took, 1s + 2s) << "--timeout 1 bounds the connect";
  EXPECT_THAT(o.err, HasSubstr("nats://127.0.0.1:" + port));
  EXPECT_THAT(o.err, HasSubstr("tried for 1 s"));
  EXPECT_EQ(o.out, "");
}

TEST(ATcsctlCommandLine, PrintsTheLegendWithoutNatsAndTheVersion) {
  const auto port = std::to_string(NatsServer::freePort());
  const auto legend = tcsctl({"--legend", "--host", "127.0.0.1", "--port", port});
  EXPECT_EQ(legend.rc, 0) << legend.err;
  EXPECT_EQ(legend.out, tcs::ctl::renderLegend(tcs::ctl::RenderStyle{false, true, 0}));
  const auto version = tcsctl({"--version"});
  EXPECT_EQ(version.rc, 0);
  EXPECT_THAT(version.out, ::testing::StartsWith("tcsctl "));
}

// ---- the verbs, through a real Supervisor (systemd faked) answering on NATS ------------------------------

class ATcsctlWithASupervisor : public ATcsctl {
 protected:
  void SetUp() override {
    ATcsctl::SetUp();
    if (IsSkipped()) return;
    startServer();
    supervisorNats_ = connect("tcs-supervisor");
    addStreams(*supervisorNats_);
    supervisor_ =
        tcs::supervisor::test::startHelloWorldSupervisor(dir_, "cli-launcher", "cli-host", systemd_, *supervisorNats_);
    ASSERT_TRUE(supervisorNats_->flush(5s));
  }
  void TearDown() override {
    if (supervisor_) supervisor_->stop();
  }

  tcs::supervisor::test::FakeSystemd systemd_;
  std::unique_ptr<tcs::NatsConnection> supervisorNats_;
  std::unique_ptr<tcs::supervisor::Supervisor> supervisor_;
};

TEST_F(ATcsctlWithASupervisor, RestartsAServiceThroughItsSupervisorAndSaysWhere) {
  const auto o = tcsctl(with({"restart", "hello_world.main"}));
  EXPECT_EQ(o.rc, 0) << o.err;
  EXPECT_EQ(o.out, "restarted hello_world.main on launcher.cli-launcher (pid 4711)\n");
  EXPECT_EQ(o.err, "");
  EXPECT_THAT(systemd_.calls(), ::testing::Contains("restart tcs@hello_world:main.service"));
}

TEST_F(ATcsctlWithASupervisor, ResetsAFailedService) {
  const auto o = tcsctl(with({"reset-failed", "hello_world.main"}));
  EXPECT_EQ(o.rc, 0) << o.err;
  EXPECT_THAT(o.out, HasSubstr("hello_world.main on launcher.cli-launcher"));
  EXPECT_THAT(systemd_.calls(), ::testing::Contains("reset-failed tcs@hello_world:main.service"));
}

TEST_F(ATcsctlWithASupervisor, ExitsWithFourForAServiceNotInTheFleet) {
  const auto o = tcsctl(with({"stop", "nope.main"}));
  EXPECT_EQ(o.rc, 4) << o.out << o.err;
  EXPECT_THAT(o.err, HasSubstr("nope.main"));
  EXPECT_EQ(o.out, "");
}

TEST_F(ATcsctlWithASupervisor, ExitsWithThreeWithTheSupervisorsMessageWhenSystemdsJobFails) {
  systemd_.jobResult = "failed";
  const auto o = tcsctl(with({"start", "hello_world.main"}));
  EXPECT_EQ(o.rc, 3) << o.out << o.err;
  // The supervisor's error code and its message, as it sent them.
  EXPECT_EQ(o.err,
            "tcsctl: start hello_world.main: launcher.cli-launcher refused (action_failed): start "
            "tcs@hello_world:main.service: systemd job result 'failed'\n");
  EXPECT_EQ(o.out, "");
}

TEST_F(ATcsctlWithASupervisor, ExitsWithTwoWhenTheOwningSupervisorDoesNotAnswer) {
  supervisor_->stop();  // its records stay in JetStream: tcsctl knows the launcher, nobody answers
  const auto o = tcsctl(with({"restart", "hello_world.main"}));
  EXPECT_EQ(o.rc, 2) << o.out << o.err;
  EXPECT_THAT(o.err, HasSubstr("launcher.cli-launcher"));
  EXPECT_EQ(o.out, "");
}

TEST_F(ATcsctlWithASupervisor, ListsTheLauncherAliveAmongTheHosts) {
  const auto text = tcsctl(with({"hosts"}));
  EXPECT_EQ(text.rc, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("cli-launcher"));
  EXPECT_THAT(text.out, HasSubstr("alive"));
  const auto json = tcsctl(with({"hosts", "--json"}));
  ASSERT_EQ(json.rc, 0) << json.err;
  const auto doc = Json::parse(json.out);
  EXPECT_EQ(doc.at("schema"), "tcs.hosts/1");
  ASSERT_EQ(doc.at("hosts").size(), 1U) << json.out;
  EXPECT_EQ(doc.at("hosts")[0].at("launcher_id"), "cli-launcher");
  EXPECT_EQ(doc.at("hosts")[0].at("heartbeat"), "alive");
  EXPECT_EQ(doc.at("hosts")[0].at("services"), 1);
}

TEST_F(ATcsctlWithASupervisor, ReloadsANamedLauncherAndEveryLiveOne) {
  const auto named = tcsctl(with({"reload", "cli-launcher"}));
  EXPECT_EQ(named.rc, 0) << named.err;
  EXPECT_EQ(named.out, "reloaded launcher.cli-launcher: 1 service(s) declared\n");
  const auto every = tcsctl(with({"reload"}));
  EXPECT_EQ(every.rc, 0) << every.err;
  EXPECT_EQ(every.out, "reloaded launcher.cli-launcher: 1 service(s) declared\n");
  const auto nobody = tcsctl(with({"reload", "no-such-launcher"}));
  EXPECT_EQ(nobody.rc, 2) << "nobody answers for that launcher";
  EXPECT_THAT(nobody.err, HasSubstr("launcher.no-such-launcher"));
}

// ---- 6. the man page keeps up with --help ------------------------------------------------------------------

/// The long options that `tcsctl --help` prints.
std::set<std::string> helpOptions(const std::string& help) {
  std::set<std::string> options;
  static const std::regex longOption{R"(--[a-z][a-z0-9-]*)"};
  for (std::sregex_iterator it(help.begin(), help.end(), longOption), end; it != end; ++it) options.insert(it->str());
  return options;
}

/// The verbs of the `Subcommands:` section of `tcsctl --help`.
std::vector<std::string> helpVerbs(const std::string& help) {
  std::vector<std::string> verbs;
  static const std::regex verbLine{R"(^  ([a-z][a-z-]*) )"};
  for (const auto& l : linesOf(help.substr(std::min(help.size(), help.find("Subcommands:")))))
    if (std::smatch m; std::regex_search(l, m, verbLine)) verbs.push_back(m[1]);
  return verbs;
}

TEST(ATcsctlManPage, MentionsEveryLongOptionThatHelpPrints) {
  const auto help = tcsctl({"--help"});
  ASSERT_EQ(help.rc, 0);
  const auto options = helpOptions(help.out);
  EXPECT_GE(options.size(), 15U) << help.out;
  EXPECT_FALSE(options.contains("--complete-ids")) << "hidden options are not printed";

  auto man = tcs::test::readFile(kSourceDir / "tcsctl" / "tcsctl.1");
  ASSERT_FALSE(man.empty());
  man = std::regex_replace(man, std::regex{R"(\\-)"}, "-");
  for (const auto& option : options) {
    const std::regex mentioned{"(^|[^a-z0-9-])" + option + "($|[^a-z0-9-])"};
    EXPECT_TRUE(std::regex_search(man, mentioned)) << "tcsctl.1 does not mention " << option;
  }
  // And every verb of the help's `Subcommands:` section, in a bold item of the VERBS section.
  const auto from = std::min(man.size(), man.find(".SH VERBS"));
  const auto section = man.substr(from, man.find("\n.SH ", from + 1) - from);
  std::string items;
  for (const auto& l : linesOf(section))
    if (l.starts_with(".B")) items += l + "\n";
  const auto verbs = helpVerbs(help.out);
  EXPECT_EQ(verbs.size(), 7U) << help.out;  // start stop restart reset-failed reload hosts logs
  for (const auto& verb : verbs) {
    const std::regex word{"(^|[^a-z-])" + verb + "($|[^a-z-])"};
    EXPECT_TRUE(std::regex_search(items, word)) << "tcsctl.1's VERBS do not describe " << verb << ":\n" << items;
  }
}

TEST(ATcsctlBashCompletion, OffersEveryLongOptionAndVerbThatHelpPrints) {
  const auto help = tcsctl({"--help"});
  ASSERT_EQ(help.rc, 0);
  const auto script = tcs::test::readFile(kSourceDir / "tcsctl" / "tcsctl.bash");
  ASSERT_FALSE(script.empty());
  std::smatch flags, verbs;
  ASSERT_TRUE(std::regex_search(script, flags, std::regex{R"re(local flags="([^"]*)")re"}));
  ASSERT_TRUE(std::regex_search(script, verbs, std::regex{R"re(local verbs="([^"]*)")re"}));
  std::set<std::string> offered;
  std::istringstream in(flags[1].str() + " " + verbs[1].str());
  for (std::string w; in >> w;) offered.insert(w);
  for (const auto& option : helpOptions(help.out)) EXPECT_TRUE(offered.contains(option)) << option;
  for (const auto& verb : helpVerbs(help.out)) EXPECT_TRUE(offered.contains(verb)) << verb;
}

}  // namespace

// ---- two hosts with the same service: host-qualified ids, the host filter, duplicates --------------

class ATcsctlOnTwoHosts : public ATcsctl {
 protected:
  void SetUp() override {
    ATcsctl::SetUp();
    if (IsSkipped()) return;
    startServer();
    watcher_ = connect("test-watcher");
    addStreams(*watcher_);
    duplicates_ = watcher_->subscribe("svc.registry.duplicate.>", [this](const tcs::NatsMessage& m) {
      const auto e = p::decode<p::RegistryEvent>(m.data).data;
      std::lock_guard lock(mutex_);
      duplicateParents_.push_back(e.parent);
    });
    ASSERT_TRUE(watcher_->flush(5s));
    for (const std::string host : {"tel1", "tel2"}) {
      auto& h = hosts_[host];
      h.nats = connect("tcs-supervisor-" + host);
      h.supervisor =
          tcs::supervisor::test::startHelloWorldSupervisor(dir_, host + "-systemd-launcher", host, h.systemd, *h.nats);
      ASSERT_TRUE(h.nats->flush(5s));
    }
    processes_ = connect("fake-processes");
    // Both launchers heartbeat (alive) once the supervisors are up.
    ASSERT_TRUE(waitUntil([&] {
      const auto o = tcsctl(with({"hosts", "--json"}));
      if (o.rc != 0) return false;
      const auto doc = Json::parse(o.out);
      return doc.at("hosts").size() == 2 && doc.at("hosts")[0].at("heartbeat") == "alive" &&
             doc.at("hosts")[1].at("heartbeat") == "alive";
    }));
  }
  void TearDown() override {
    for (auto& [_, h] : hosts_)
      if (h.supervisor) h.supervisor->stop();
  }

  /// hello_world.main as the process @p sender on @p host publishes it: a status message or a heartbeat.
  void publish(const std::string& host, std::int64_t pid, const std::string& sender, bool heartbeat) {
    auto m = meta();
    m.sender = sender;
    if (heartbeat) {
      p::Heartbeat hb;
      hb.serviceId = "hello_world.main";
      hb.status = Status::Ok;
      hb.timestamp = p::now();
      processes_->publish(p::heartbeatSubject("svc", "hello_world.main"), p::encode(hb, m));
    } else {
      p::StatusUpdate s;
      s.name = "hello_world.main";
      s.status = Status::Ok;
      s.timestamp = p::now();
      s.message = "Running";
      s.parent = "launcher." + host + "-systemd-launcher";
      s.pid = pid;
      s.hostname = host;
      processes_->publish(p::statusSubject("svc", "hello_world.main"), p::encode(s, m));
    }
    ASSERT_TRUE(processes_->flush(5s));
  }
  std::vector<std::string> duplicateParents() {
    std::lock_guard lock(mutex_);
    return duplicateParents_;
  }

  struct Host {
    tcs::supervisor::test::FakeSystemd systemd;
    std::unique_ptr<tcs::NatsConnection> nats;
    std::unique_ptr<tcs::supervisor::Supervisor> supervisor;
  };
  std::map<std::string, Host> hosts_;
  std::unique_ptr<tcs::NatsConnection> watcher_, processes_;
  tcs::NatsSubscription duplicates_;
  std::mutex mutex_;
  std::vector<std::string> duplicateParents_;
};

TEST_F(ATcsctlOnTwoHosts, RefusesAnUnqualifiedIdOnTwoHostsAndRestartsTheOneAHostQualifiedIdNames) {
  const auto bare = tcsctl(with({"restart", "hello_world.main"}));
  EXPECT_EQ(bare.rc, 1) << bare.out << bare.err;
  EXPECT_EQ(bare.err,
            "tcsctl: restart hello_world.main: hello_world.main is on two hosts (tel1, tel2): say "
            "tel1:hello_world.main\n");
  EXPECT_EQ(bare.out, "");
  for (auto& [_, h] : hosts_) EXPECT_THAT(h.systemd.calls(), Not(::testing::Contains(HasSubstr("restart"))));

  const auto qualified = tcsctl(with({"restart", "tel2:hello_world.main"}));
  EXPECT_EQ(qualified.rc, 0) << qualified.err;
  EXPECT_EQ(qualified.out, "restarted hello_world.main on launcher.tel2-systemd-launcher (pid 4711)\n");
  EXPECT_THAT(hosts_["tel2"].systemd.calls(), ::testing::Contains("restart tcs@hello_world:main.service"));
  EXPECT_THAT(hosts_["tel1"].systemd.calls(), Not(::testing::Contains("restart tcs@hello_world:main.service")));
  // The launcher id works as HOST too; a host that is not in the fleet is "not found".
  EXPECT_EQ(tcsctl(with({"restart", "tel1-systemd-launcher:hello_world.main"})).rc, 0);
  const auto nowhere = tcsctl(with({"stop", "tel3:hello_world.main"}));
  EXPECT_EQ(nowhere.rc, 4) << nowhere.err;
  EXPECT_THAT(nowhere.err, HasSubstr("no launcher for host 'tel3'"));
}

TEST_F(ATcsctlOnTwoHosts, ListsOnlyTheLaunchersOfTheHostFilter) {
  const auto one = tcsctl(with({"--host-filter", "tel1", "-a"}));
  EXPECT_EQ(one.rc, 0) << one.err;
  EXPECT_THAT(one.out, HasSubstr("launcher.tel1-systemd-launcher"));
  EXPECT_THAT(one.out, Not(HasSubstr("launcher.tel2-systemd-launcher")));
  const auto both = tcsctl(with({"--host-filter", "tel1,tel2-systemd-launcher", "-a"}));
  EXPECT_THAT(both.out, HasSubstr("launcher.tel1-systemd-launcher"));
  EXPECT_THAT(both.out, HasSubstr("launcher.tel2-systemd-launcher"));
  const auto hosts = tcsctl(with({"hosts", "--json", "--host-filter", "tel2"}));
  ASSERT_EQ(hosts.rc, 0) << hosts.err;
  const auto doc = Json::parse(hosts.out);
  ASSERT_EQ(doc.at("hosts").size(), 1U);
  EXPECT_EQ(doc.at("hosts")[0].at("launcher_id"), "tel2-systemd-launcher");
}

TEST_F(ATcsctlOnTwoHosts, WarnsOfAServiceAliveOnBothAndEachSupervisorPublishesOneDuplicateEvent) {
  publish("tel1", 100, "Messenger_tel1", false);
  publish("tel1", 100, "Messenger_tel1", true);
  EXPECT_TRUE(duplicateParents().empty());
  publish("tel2", 200, "Messenger_tel2", false);  // the same id started on a second host
  publish("tel2", 200, "Messenger_tel2", true);
  publish("tel1", 100, "Messenger_tel1", true);  // within one heartbeat interval
  ASSERT_TRUE(waitUntil([&] { return duplicateParents().size() == 2; }, 5s)) << duplicateParents().size();
  // Not once per heartbeat: more of them change nothing.
  for (int i = 0; i < 3; ++i) {
    publish("tel2", 200, "Messenger_tel2", true);
    publish("tel1", 100, "Messenger_tel1", true);
  }
  for (auto& [_, h] : hosts_) ASSERT_TRUE(h.nats->flush(5s));
  EXPECT_FALSE(waitUntil([&] { return duplicateParents().size() > 2; }, 500ms));
  auto parents = duplicateParents();
  std::sort(parents.begin(), parents.end());
  EXPECT_EQ(parents, (std::vector<std::string>{"launcher.tel1-systemd-launcher", "launcher.tel2-systemd-launcher"}));

  const auto o = tcsctl(with({}));
  EXPECT_EQ(o.rc, 0) << o.err;
  EXPECT_THAT(o.err, HasSubstr("tcsctl: WARNING: hello_world.main is running twice at once: tel1 (pid 100), tel2 "
                               "(pid 200)"));
  EXPECT_THAT(o.out, HasSubstr("hello_world.main [ok]"));
  EXPECT_THAT(o.out, HasSubstr("‼DUPLICATE(tel1,tel2)"));
  const auto json = tcsctl(with({"--json"}));
  ASSERT_EQ(json.rc, 0) << json.err;
  for (const auto& s : Json::parse(json.out).at("services")) {
    if (s.at("id") != "hello_world.main") {
      EXPECT_TRUE(s.at("duplicate").is_null()) << s.at("id");
      continue;
    }
    ASSERT_TRUE(s.at("duplicate").is_object());
    ASSERT_EQ(s.at("duplicate").at("hosts").size(), 2U);
    EXPECT_EQ(s.at("duplicate").at("hosts")[1].at("hostname"), "tel2");
    EXPECT_EQ(s.at("duplicate").at("hosts")[1].at("pid"), 200);
  }
}
