// SPDX-License-Identifier: MIT
// Test helpers: replaying recordings through UnitTracker, and one-line descriptions of
// registry events that name every event-specific field.
#pragma once

#include <fmt/format.h>

#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "recording.hpp"
#include "unit_tracker.hpp"

namespace tcs::supervisor::test {

namespace p = tcs::protocol;

/** @return e.g. `start{startup,host=h,pid=97}`, `crashed{error,exit=-9,on-failure,will_restart=1,signal}` */
inline std::string describe(const p::RegistryEvent& e) {
  const auto st = [](Status s) { return std::string(tcs::toString(s)); };
  return std::visit(
      [&](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, p::DeclaredEvent>) return fmt::format("declared{{{}}}", x.restartPolicy);
        if constexpr (std::is_same_v<T, p::StartEvent>)
          return fmt::format("start{{{},host={},pid={}}}", st(x.status), x.hostname, x.pid);
        if constexpr (std::is_same_v<T, p::ReadyEvent>)
          return fmt::format("ready{{{},startup={:.6f}}}", st(x.status), x.startupDurationSeconds);
        if constexpr (std::is_same_v<T, p::StoppingEvent>)
          return fmt::format("stopping{{{},{}}}", st(x.status), x.reason);
        if constexpr (std::is_same_v<T, p::StopEvent>)
          return fmt::format("stop{{{},{},exit={}}}", st(x.status), x.reason, x.exitCode);
        if constexpr (std::is_same_v<T, p::CrashedEvent>)
          return fmt::format("crashed{{{},exit={},{},will_restart={},{}}}", st(x.status), x.exitCode, x.restartPolicy,
                             x.willRestart ? 1 : 0, x.result);
        if constexpr (std::is_same_v<T, p::RestartingEvent>)
          return fmt::format("restarting{{{},attempt={},max={}}}", st(x.status), x.restartAttempt,
                             x.maxRestarts ? std::to_string(*x.maxRestarts) : "null");
        if constexpr (std::is_same_v<T, p::FailedEvent>)
          return fmt::format("failed{{{},{},restarts={}}}", st(x.status), x.reason, x.restartCount);
        if constexpr (std::is_same_v<T, p::DuplicateEvent>) return fmt::format("duplicate{{{}}}", x.hosts.size());
      },
      e.specific);
}

inline std::vector<std::string> describe(const std::vector<p::RegistryEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(describe(e));
  return out;
}

/** @brief The time given to UnitTracker::jobRemoved() during replays. */
inline const p::Timestamp kReplayNow = p::fromFields(std::vector<std::int64_t>{2030, 1, 1, 0, 0, 0, 0});

inline std::vector<recording::Line> load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  return recording::parse(in);
}

/**
 * @brief Feeds a recording of one unit to a UnitTracker the way the supervisor does: a unit
 *        found at start (Listed) or first seen in a signal gets an unseeded tracker, a unit
 *        loaded later (UnitNew) gets unitLoaded().
 */
class Replayer {
 public:
  explicit Replayer(TrackedService service) : service_(std::move(service)) {}

  std::vector<p::RegistryEvent> feed(const recording::Line& line) {
    std::vector<p::RegistryEvent> out;
    std::visit(
        [&](const auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, recording::Listed>) {
            tracker();
          } else if constexpr (std::is_same_v<T, recording::UnitNew>) {
            tracker().unitLoaded();
          } else if constexpr (std::is_same_v<T, PropertyChange>) {
            out = tracker().update(e);
          } else if constexpr (std::is_same_v<T, JobRemoved>) {
            out = tracker().jobRemoved(e, kReplayNow);
          }
        },
        line.entry);
    return out;
  }

  std::vector<p::RegistryEvent> feed(const std::vector<recording::Line>& lines) {
    std::vector<p::RegistryEvent> all;
    for (const auto& line : lines)
      for (auto& e : feed(line)) all.push_back(std::move(e));
    return all;
  }

  UnitTracker& tracker() {
    if (!tracker_) tracker_.emplace(service_);
    return *tracker_;
  }

 private:
  TrackedService service_;
  std::optional<UnitTracker> tracker_;
};

}  // namespace tcs::supervisor::test
