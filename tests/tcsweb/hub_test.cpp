// SPDX-License-Identifier: MIT
// FleetHub: the rows browsers see, what a `changes` event holds, slow subscribers, the timeline
// and the SSE framing — against the goldens' fleet (tests/tcsctl/fleet_fixture.hpp).
#include "hub.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fleet_fixture.hpp"

namespace {

namespace fx = tcs::test::fleet;
namespace p = tcs::protocol;
using nlohmann::json;
using tcs::web::FleetHub;
using tcs::web::SseMessage;

std::vector<SseMessage> drain(tcs::web::Subscription& s) {
  std::vector<SseMessage> out;
  s.next(out, std::chrono::milliseconds(0));
  return out;
}

class AFleetHub : public ::testing::Test {
 protected:
  tcs::FleetView view = fx::buildFleet();
  FleetHub hub;
  void SetUp() override { hub.resync(view, {true, {}}, fx::kNow); }
};

TEST_F(AFleetHub, GivesANewSubscriberTheNatsStateAndTheWholeFleet) {
  auto s = hub.subscribe();
  ASSERT_TRUE(s);
  const auto events = drain(*s);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event, "nats");
  EXPECT_EQ(events[1].event, "fleet");
  EXPECT_LT(events[0].id, events[1].id);
  const auto doc = json::parse(events[1].data);
  EXPECT_EQ(doc["schema"], "tcs.fleet/1");
  const auto listing = view.list(fx::kNow, {true, ""});
  ASSERT_EQ(doc["services"].size(), listing.rows.size());
  for (std::size_t i = 0; i < listing.rows.size(); ++i)
    EXPECT_EQ(doc["services"][i]["id"], listing.rows[i].entry->id) << i;
}

TEST_F(AFleetHub, SendsOnlyTheRowsWhoseContentChanged) {
  auto s = hub.subscribe();
  drain(*s);
  fx::Feed f{view};
  f.status("dome.main", tcs::Status::Ok, 601, 1201, "all good now");
  hub.touch("dome.main");
  hub.touch("cam.main");  // touched, but nothing about it changed
  ASSERT_TRUE(hub.flush(view, fx::at(601.5)));
  const auto events = drain(*s);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "changes");
  const auto data = json::parse(events[0].data);
  ASSERT_EQ(data["services"].size(), 1u) << data.dump();
  EXPECT_EQ(data["services"][0]["id"], "dome.main");
  EXPECT_EQ(data["services"][0]["message"], "all good now");
  EXPECT_TRUE(data["removed"].empty());
  EXPECT_TRUE(data["order"].is_null());
}

TEST_F(AFleetHub, DoesNotSendAgesAlone) {
  auto s = hub.subscribe();
  drain(*s);
  // Half a second later nothing happened: heartbeat ages and uptimes grew, liveness did not change.
  EXPECT_FALSE(hub.flush(view, fx::at(600.5), true));
  EXPECT_TRUE(drain(*s).empty());
}

TEST_F(AFleetHub, SendsANewEntryWithTheNewOrder) {
  auto s = hub.subscribe();
  drain(*s);
  fx::Feed f{view};
  f.status("aaa.main", tcs::Status::Ok, 601, 4242, "new");
  f.heartbeat("aaa.main", 601);  // an entry that never heartbeated is not listed
  hub.touch("aaa.main");
  ASSERT_TRUE(hub.flush(view, fx::at(601)));
  const auto data = json::parse(drain(*s).at(0).data);
  ASSERT_EQ(data["services"].size(), 1u);
  EXPECT_EQ(data["services"][0]["id"], "aaa.main");
  ASSERT_TRUE(data["order"].is_array());
  EXPECT_EQ(data["summary"]["listed"].get<int>(), static_cast<int>(data["order"].size()));
  // …and the next subscriber's document has it in that order.
  auto late = hub.subscribe();
  const auto doc = json::parse(drain(*late).at(1).data);
  std::vector<std::string> ids;
  for (const auto& row : doc["services"]) ids.push_back(row["id"]);
  EXPECT_EQ(json(ids), data["order"]);
}

TEST_F(AFleetHub, ResyncsASlowSubscriberWithTheWholeFleetInsteadOfQueueingWithoutBound) {
  FleetHub small({.timeline = 10, .queue = 4, .subscribers = 2});
  small.resync(view, {true, {}}, fx::kNow);
  auto s = small.subscribe();
  for (int i = 0; i < 20; ++i) small.addTimeline({fx::at(601 + i), "cam.main", "start", "startup", "x"});
  const auto events = drain(*s);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "fleet");
  EXPECT_EQ(json::parse(small.timeline().dump())["events"].size(), 10u);
}

TEST_F(AFleetHub, RefusesSubscribersBeyondItsLimitAndEndsStreamsWhenClosed) {
  FleetHub small({.timeline = 10, .queue = 4, .subscribers = 1});
  auto first = small.subscribe();
  ASSERT_TRUE(first);
  EXPECT_FALSE(small.subscribe());
  small.unsubscribe(first);
  auto second = small.subscribe();
  ASSERT_TRUE(second);
  small.close();
  std::vector<SseMessage> out;
  EXPECT_FALSE(second->next(out, std::chrono::milliseconds(10)));
  EXPECT_FALSE(small.subscribe());
}

TEST_F(AFleetHub, SendsTheNatsStateOnlyWhenItChanges) {
  auto s = hub.subscribe();
  drain(*s);
  hub.setNats(true, true, {});
  hub.setNats(true, true, {});
  hub.setNats(false, true, {});
  const auto events = drain(*s);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(json::parse(events[1].data)["connected"], false);
}

TEST(ServerSentEvents, SplitDataLinesAndEndWithABlankLine) {
  EXPECT_EQ(tcs::web::formatSse({7, "fleet", "{\"a\":1}"}), "id: 7\nevent: fleet\ndata: {\"a\":1}\n\n");
  EXPECT_EQ(tcs::web::formatSse({8, "x", "one\ntwo"}), "id: 8\nevent: x\ndata: one\ndata: two\n\n");
  // A large one-line event (the whole fleet) is written in pieces, not copied: the same bytes.
  const std::string big(100 * 1024, 'x');
  std::vector<std::size_t> pieces;
  std::string wire;
  EXPECT_TRUE(tcs::web::writeSse({9, "fleet", big}, [&](std::string_view p) {
    pieces.push_back(p.size());
    wire += p;
    return true;
  }));
  EXPECT_EQ(wire, "id: 9\nevent: fleet\ndata: " + big + "\n\n");
  EXPECT_EQ(pieces.size(), 3u);
  // …and stops at the first refused write (the browser went away).
  int calls = 0;
  EXPECT_FALSE(tcs::web::writeSse({10, "fleet", big}, [&](std::string_view) { return ++calls > 1 && false; }));
  EXPECT_EQ(calls, 1);
}

TEST(TheTimeline, DescribesARegistryMessage) {
  p::RegistryEvent e;
  e.serviceId = "cam.main";
  e.timestamp = fx::at(10);
  e.specific = p::CrashedEvent{tcs::Status::Error, -9, "on-failure", true, "signal"};
  e.parent = "launcher.L1";
  e.runnerId = "L1.cam";
  const auto t = tcs::web::timelineEventOf(p::registrySubject("svc", e.type(), "cam.main"),
                                           p::encode(e, fx::meta(fx::at(10))), "svc");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->id, "cam.main");
  EXPECT_EQ(t->event, "crashed");
  EXPECT_EQ(t->status, "error");
  EXPECT_EQ(t->message, "crashed (signal 9, signal), restarting");
  const auto j = tcs::web::timelineJson(*t);
  EXPECT_EQ(j["time"], "2026-11-25T12:00:10.000Z");
}

TEST(TheTimeline, IgnoresWhatIsNotARegistryEvent) {
  EXPECT_FALSE(tcs::web::timelineEventOf("svc.status.cam.main", "{}", "svc"));
  EXPECT_FALSE(tcs::web::timelineEventOf("svc.registry.crashed.cam.main", "not json", "svc"));
  EXPECT_FALSE(tcs::web::timelineEventOf("svc.registry.crashed.cam.main", R"({"data":{},"meta":{}})", "svc"));
  EXPECT_FALSE(tcs::web::timelineEventOf("other.registry.start.cam.main", "{}", "svc"));
}

TEST(TheTimeline, StartsFromTheFactsTheViewHolds) {
  const auto view = fx::buildFleet();
  const auto events = tcs::web::timelineOf(view, 1000);
  ASSERT_FALSE(events.empty());
  for (std::size_t i = 1; i < events.size(); ++i) EXPECT_LE(events[i - 1].time, events[i].time);
  const auto last = tcs::web::timelineOf(view, 3);
  ASSERT_EQ(last.size(), 3u);
  EXPECT_EQ(last.back().time, events.back().time);
  const bool hasRestart = std::any_of(events.begin(), events.end(), [](const auto& e) {
    return e.id == "cam.main" && e.event == "restarting" && e.message == "restart 1 of 3";
  });
  EXPECT_TRUE(hasRestart);
}

}  // namespace

TEST(RecentMessages, RecognisesARetriedPublishByItsBytesAndForgetsTheOldest) {
  // A publish retried across a NATS failover reaches subscribers again byte for byte: on the
  // timeline once. A second event differs at least in meta.id.
  tcs::web::RecentMessages recent(2);
  const std::string subject = "svc.registry.crashed.cam.main";
  EXPECT_FALSE(recent.repeated(subject, R"({"meta":{"id":"msg-16"}})"));
  EXPECT_TRUE(recent.repeated(subject, R"({"meta":{"id":"msg-16"}})"));
  EXPECT_TRUE(recent.repeated(subject, R"({"meta":{"id":"msg-16"}})"));
  EXPECT_FALSE(recent.repeated(subject, R"({"meta":{"id":"msg-17"}})"));
  EXPECT_FALSE(recent.repeated("svc.registry.crashed.cam.spare", R"({"meta":{"id":"msg-16"}})"));  // another subject
  EXPECT_FALSE(recent.repeated(subject, R"({"meta":{"id":"msg-16"}})"));  // forgotten: capacity 2
}
