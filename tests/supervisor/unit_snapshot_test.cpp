// SPDX-License-Identifier: MIT
// The plumbing under UnitTracker: UnitSnapshot::apply(), exit codes, SystemdError, and the
// recording format (tcs-dbus-record's output, the fixtures' input).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <sstream>

#include "recording.hpp"
#include "systemd_manager.hpp"

namespace tcs::supervisor {
namespace {

using ::testing::HasSubstr;

PropertyChange change(std::string_view interface, std::map<std::string, PropertyValue> values) {
  return PropertyChange{"u", "/p", std::string(interface), std::move(values), {}, PropertyChange::Origin::Signal};
}

TEST(UnitSnapshot, AppliesKnownPropertiesOfEitherIntegerKind) {
  UnitSnapshot s;
  EXPECT_EQ(s.apply(change(kServiceInterface, {{"NRestarts", std::uint64_t{3}},
                                               {"ExecMainStatus", std::int64_t{-1}},
                                               {"ExecMainCode", std::uint64_t{2}},
                                               {"Result", "signal"},
                                               {"ExecMainStartTimestamp", std::uint64_t{1'700'000'000'000'000}},
                                               {"SomethingElse", "ignored"}})),
            5u);
  EXPECT_EQ(s.nRestarts, 3u);
  EXPECT_EQ(s.execMainStatus, -1);
  EXPECT_EQ(s.execMainCode, kCldKilled);
  EXPECT_EQ(s.result, "signal");
  EXPECT_EQ(s.execMainStartTimestamp, 1'700'000'000'000'000u);
}

TEST(UnitSnapshot, IgnoresValuesOfTheWrongTypeOrRange) {
  UnitSnapshot s;
  s.nRestarts = 7;
  s.activeState = "active";
  EXPECT_EQ(s.apply(change(kUnitInterface, {{"ActiveState", std::uint64_t{1}}})), 0u);
  EXPECT_EQ(s.apply(change(kServiceInterface, {{"NRestarts", "three"}})), 0u);
  EXPECT_EQ(s.apply(change(kServiceInterface, {{"NRestarts", std::int64_t{-1}}})), 0u);
  EXPECT_EQ(s.apply(change(kServiceInterface, {{"NRestarts", std::uint64_t{1} << 40}})), 0u);
  EXPECT_EQ(s.nRestarts, 7u);
  EXPECT_EQ(s.activeState, "active");
}

TEST(UnitSnapshot, ExitCodeIsNegativeForSignals) {
  UnitSnapshot s;
  s.execMainCode = kCldExited;
  s.execMainStatus = 3;
  EXPECT_EQ(s.exitCode(), 3);
  s.execMainCode = kCldKilled;
  s.execMainStatus = 9;
  EXPECT_EQ(s.exitCode(), -9);
  s.execMainCode = kCldDumped;
  s.execMainStatus = 6;
  EXPECT_EQ(s.exitCode(), -6);
}

TEST(UnitSnapshot, TakesRestartPreventExitStatusFromAGetAllAndKnowsItsAbsence) {
  UnitSnapshot s;
  EXPECT_FALSE(s.restartPreventExitStatus.has_value()) << "not read yet: the tracker falls back to the template";
  EXPECT_EQ(s.apply(change(kServiceInterface, {{"RestartPreventExitStatus", ExitStatusSet{{3, 78}, {SIGUSR1}}}})), 1u);
  ASSERT_TRUE(s.restartPreventExitStatus.has_value());
  EXPECT_EQ(*s.restartPreventExitStatus, (ExitStatusSet{{3, 78}, {SIGUSR1}}));
  EXPECT_EQ(s.apply(change(kServiceInterface, {{"RestartPreventExitStatus", "78"}})), 0u);  // wrong type
  EXPECT_THAT(UnitSnapshot::propertyNames(kServiceInterface), ::testing::Contains("RestartPreventExitStatus"));
}

TEST(ExitStatusSet, HoldsExitStatusesForExitsAndSignalsForKills) {
  const ExitStatusSet set{{78}, {SIGUSR1}};
  EXPECT_TRUE(set.contains(kCldExited, 78));
  EXPECT_FALSE(set.contains(kCldExited, 1));
  EXPECT_FALSE(set.contains(kCldExited, SIGUSR1));
  EXPECT_TRUE(set.contains(kCldKilled, SIGUSR1));
  EXPECT_TRUE(set.contains(kCldDumped, SIGUSR1));
  EXPECT_FALSE(set.contains(kCldKilled, 78));
  EXPECT_FALSE(set.contains(0, 78)) << "still running";
}

TEST(UnitSnapshot, ListsThePropertyNamesItReadsPerInterface) {
  const auto& unit = UnitSnapshot::propertyNames(kUnitInterface);
  const auto& service = UnitSnapshot::propertyNames(kServiceInterface);
  EXPECT_THAT(unit, ::testing::Contains("ActiveState"));
  EXPECT_THAT(unit, ::testing::Not(::testing::Contains("NRestarts")));
  EXPECT_THAT(service, ::testing::Contains("NRestarts"));
  EXPECT_THAT(service, ::testing::Contains("ExecMainStatus"));
  EXPECT_TRUE(UnitSnapshot::propertyNames("org.example.Other").empty());
}

TEST(SystemdError, NamesContextErrorAndMessage) {
  const SystemdError e("org.freedesktop.systemd1.NoSuchUnit", "Unit x.service not found.", "GetUnit x.service");
  EXPECT_STREQ(e.what(), "GetUnit x.service: org.freedesktop.systemd1.NoSuchUnit: Unit x.service not found.");
  EXPECT_EQ(e.name(), "org.freedesktop.systemd1.NoSuchUnit");
  EXPECT_EQ(e.message(), "Unit x.service not found.");
}

TEST(Recording, RoundTripsEveryKind) {
  PropertyChange c = change(kServiceInterface, {{"NRestarts", std::uint64_t{2}},
                                                {"ExecMainStatus", std::int64_t{-3}},
                                                {"Result", "exit-code"},
                                                {"Flag", true},
                                                {"RestartPreventExitStatus", ExitStatusSet{{78}, {10}}}});
  c.invalidated = {"ExecStart"};
  c.origin = PropertyChange::Origin::Snapshot;
  const std::vector<recording::Line> lines{
      {1, recording::Listed{"tcs@a:b.service", "/org/freedesktop/systemd1/unit/x"}},
      {2, c},
      {3, JobRemoved{7, "/org/freedesktop/systemd1/job/7", "tcs@a:b.service", "done"}},
      {4, recording::UnitNew{{"tcs@a:b.service", "/p"}}},
      {5, recording::UnitRemoved{{"tcs@a:b.service", "/p"}}},
      {6, recording::Reloading{true}},
      {7, recording::Mark{"subscribed"}},
  };
  std::stringstream text;
  text << "# a comment\n\n";
  for (const auto& l : lines) text << recording::toJson(l) << "\n";
  const auto back = recording::parse(text);
  ASSERT_EQ(back.size(), lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(back[i].monoUs, lines[i].monoUs);
    EXPECT_EQ(back[i].entry.index(), lines[i].entry.index()) << i;
    EXPECT_EQ(recording::toJson(back[i]), recording::toJson(lines[i]));
  }
  const auto& pc = std::get<PropertyChange>(back[1].entry);
  EXPECT_EQ(pc.changed.at("ExecMainStatus"), PropertyValue{std::int64_t{-3}});
  EXPECT_EQ(pc.changed.at("NRestarts"), PropertyValue{std::uint64_t{2}});
  EXPECT_EQ(pc.changed.at("RestartPreventExitStatus"), (PropertyValue{ExitStatusSet{{78}, {10}}}));
  EXPECT_EQ(pc.origin, PropertyChange::Origin::Snapshot);
  EXPECT_EQ(std::get<JobRemoved>(back[2].entry).result, "done");
}

TEST(Recording, BadLinesNameTheirNumber) {
  std::stringstream a("{\"kind\":\"Mark\",\"text\":\"ok\"}\n{\"kind\":\"Nope\"}\n");
  try {
    recording::parse(a);
    FAIL() << "parsed an unknown kind";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("recording line 2"));
    EXPECT_THAT(e.what(), HasSubstr("unknown kind 'Nope'"));
  }
  std::stringstream b("not json\n");
  EXPECT_THROW(recording::parse(b), std::runtime_error);
  std::stringstream c(R"({"kind":"PropertiesChanged","origin":"signal","unit":"u","path":"/p","interface":"i",)"
                      R"("changed":{"X":[1]},"invalidated":[]})");
  EXPECT_THROW(recording::parse(c), std::runtime_error);
}

}  // namespace
}  // namespace tcs::supervisor
