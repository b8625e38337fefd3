// SPDX-License-Identifier: MIT
#include "soak_check.hpp"

#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>

namespace tcs::soak {
namespace {

using nlohmann::json;

// sd-messages.h (systemd 252)
constexpr const char* kStarting = "7d4958e842da4a758f6c1cdc7b36dcc5";
constexpr const char* kStarted = "39f53479d3a045ac8e11786248231fbf";
constexpr const char* kStopping = "de5b426a63be47a7b6ac3eaac82e2f6f";
constexpr const char* kStopped = "9d1aaa27d60140bd96365438aad20286";
constexpr const char* kRestartScheduled = "5eb03494b6584870a536b337290809b3";
constexpr const char* kSuccess = "7ad2d189f7e94e70a38c781354912448";
constexpr const char* kFailureResult = "d9b373ed55a64feb8242e02dbe79a49c";
constexpr const char* kProcessExit = "98e322203f7a4ed290d09fe03c09fe15";

constexpr Micros kForever = std::numeric_limits<Micros>::max();

std::string field(const json& r, const char* key) {
  const auto it = r.find(key);
  return it != r.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// When the sender logged it (PID 1 sends _SOURCE_REALTIME_TIMESTAMP), else when journald got it.
Micros timeOf(const json& r) {
  std::string t = field(r, "_SOURCE_REALTIME_TIMESTAMP");
  if (t.empty()) t = field(r, "__REALTIME_TIMESTAMP");
  try {
    return t.empty() ? 0 : std::stoll(t);
  } catch (const std::exception&) {
    return 0;
  }
}

std::optional<int> intField(const json& r, const char* key) {
  const std::string v = field(r, key);
  try {
    std::size_t used = 0;
    const int n = std::stoi(v, &used);
    if (used == v.size()) return n;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

bool startsWith(const std::string& s, std::string_view prefix) {
  return s.rfind(prefix, 0) == 0;
}
bool endsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The per-unit state while reading the journal.
struct RunState {
  bool running = false;          // a run began ("Starting") and has not ended
  bool stopRequested = false;    // "Stopping" in this run
  bool sawReady = false;         // "Started" in this run
  bool waitingRestart = false;   // ended by a crash that systemd restarts
  bool limitHit = false;         // "Start request repeated too quickly" since the last start
  bool failedSent = false;       // a `failed` is due since the last start (at most one per run)
  std::optional<int> lastExit;   // the run's main process exit
  std::optional<int> scheduled;  // "Scheduled restart job, restart counter is at N"
  Micros scheduledAt = 0;
};

}  // namespace

std::string serviceIdOfUnit(const std::string& unit) {
  if (!startsWith(unit, "tcs@") || unit.size() < 12 || unit.substr(unit.size() - 8) != ".service") return {};
  const std::string inner = unit.substr(4, unit.size() - 12);
  std::string out;
  for (std::size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] == '\\' && i + 3 < inner.size() && inner[i + 1] == 'x') {
      out.push_back(static_cast<char>(std::stoi(inner.substr(i + 2, 2), nullptr, 16)));
      i += 3;
    } else {
      out.push_back(inner[i] == ':' ? '.' : inner[i]);
    }
  }
  return out;
}

bool shallRestart(const std::string& restart, const std::string& result, std::optional<int> exitCode) {
  if (result == "exit-code" && exitCode == 78) return false;  // the template's RestartPreventExitStatus=
  if (result == "start-limit-hit") return false;
  const bool success = result == "success";
  const bool signal = result == "signal" || result == "core-dump";
  if (restart == "always") return true;
  if (restart == "on-success") return success;
  if (restart == "on-failure") return !success;
  if (restart == "on-abnormal") return signal || result == "watchdog" || result == "timeout";
  if (restart == "on-watchdog") return result == "watchdog";
  if (restart == "on-abort") return signal;
  return false;
}

std::vector<Expected> expectedFromJournal(const std::vector<json>& records,
                                          const std::map<std::string, std::string>& restartPolicy,
                                          std::vector<Problem>& notes) {
  std::vector<Expected> out;
  std::map<std::string, RunState> state;
  // The next record PID 1 wrote about the same unit after records[i] (nullptr: none).
  const auto nextOfUnit = [&records](std::size_t i) -> const json* {
    const std::string unit = field(records[i], "UNIT");
    for (std::size_t j = i + 1; j < records.size(); ++j)
      if (field(records[j], "_PID") == "1" && field(records[j], "UNIT") == unit) return &records[j];
    return nullptr;
  };
  for (std::size_t index = 0; index < records.size(); ++index) {
    const json& r = records[index];
    if (field(r, "_PID") != "1") continue;
    const std::string id = serviceIdOfUnit(field(r, "UNIT"));
    if (id.empty()) continue;
    const std::string mid = field(r, "MESSAGE_ID");
    const std::string message = field(r, "MESSAGE");
    const Micros at = timeOf(r);
    RunState& s = state[id];
    auto emit = [&](std::string event) -> Expected& {
      Expected e;
      e.serviceId = id;
      e.event = std::move(event);
      e.at = at;
      e.record = message;
      out.push_back(std::move(e));
      return out.back();
    };
    if (mid == kRestartScheduled) {
      s.scheduled = intField(r, "N_RESTARTS");
      if (!s.scheduled) notes.push_back({"model", id, "a restart record without N_RESTARTS: " + message});
      s.scheduledAt = at;
      s.waitingRestart = false;
    } else if (mid == kStarting) {
      if (s.scheduled) {
        Expected& e = emit("restarting");
        e.at = s.scheduledAt;
        e.attempt = s.scheduled;
        s.scheduled.reset();
      }
      emit("start");
      s = RunState{};
      s.running = true;
    } else if (mid == kStarted) {
      if (field(r, "JOB_RESULT") != "done") continue;
      emit("ready");
      s.sawReady = true;
    } else if (mid == kStopping) {
      if (s.running && !s.stopRequested) emit("stopping").reason = "terminated";
      s.stopRequested = true;
    } else if (mid == kProcessExit) {
      if (message.find("Main process exited") == std::string::npos) continue;  // "<unit>: Main process …"
      const std::string code = field(r, "EXIT_CODE");
      const auto status = intField(r, "EXIT_STATUS");
      if (status) s.lastExit = code == "exited" ? *status : -*status;
    } else if (mid == kSuccess) {
      if (!s.running) continue;
      // A stop or restart job that ended the run while it was still activating logs no
      // "Stopping": its own "Stopped" right after says that it was requested (SIGTERM, so the
      // exit code is 0 or -15 depending on whether the service had its handler yet).
      const json* next = nextOfUnit(index);
      const bool byJob = !s.stopRequested && next && field(*next, "MESSAGE_ID") == kStopped &&
                         (field(*next, "JOB_TYPE") == "stop" || field(*next, "JOB_TYPE") == "restart");
      if (byJob) emit("stopping").reason = "terminated";
      Expected& e = emit("stop");
      e.reason = s.stopRequested || byJob ? "terminated" : "completed";
      if (!byJob) e.exitCode = s.lastExit.value_or(0);
      s.running = false;
    } else if (mid == kFailureResult) {
      if (!s.running || s.limitHit) {
        s.running = false;
        continue;
      }
      const std::string result = field(r, "UNIT_RESULT");
      if (s.stopRequested) {
        Expected& e = emit("stop");
        e.reason = result == "timeout" || s.lastExit == -9 ? "force_killed" : "terminated";
        e.exitCode = s.lastExit;
      } else {
        const auto policy = restartPolicy.find(id);
        const bool restart = shallRestart(policy == restartPolicy.end() ? "no" : policy->second, result, s.lastExit);
        Expected& e = emit("crashed");
        e.result = result;
        e.exitCode = s.lastExit;
        e.willRestart = restart;
        s.waitingRestart = restart;
        if (!restart && !s.sawReady) {
          emit("failed").reason = "start_failed";
          s.failedSent = true;
        }
      }
      s.running = false;
    } else if (endsWith(message, "Start request repeated too quickly.")) {  // "<unit>: Start request …"
      // protocol.md: `failed` at most once per run — a manual start refused again after the
      // run's `failed` (no process in between) has none
      if (s.scheduled || !s.failedSent) {
        Expected& e = emit("failed");
        if (s.scheduled) {
          e.reason = "restart_limit_reached";
          e.restartCount = *s.scheduled - 1;
          s.scheduled.reset();
        } else {
          e.reason = "start_failed";
        }
      }
      s.failedSent = true;
      s.limitHit = true;
      s.running = false;
      s.waitingRestart = false;
    } else if (mid == kStopped) {
      // A stop job that ends a unit waiting in auto-restart: `stop` terminated, the crash's code.
      // (The restart job's own "Stopped", between the schedule and "Starting", changes nothing.)
      if (field(r, "JOB_TYPE") != "stop") continue;
      if (!s.running && (s.waitingRestart || s.scheduled)) {
        Expected& e = emit("stop");
        e.reason = "terminated";
      }
      s.waitingRestart = false;
      s.scheduled.reset();
    }
  }
  return out;
}

std::vector<Window> windowsFrom(const std::vector<json>& records, const std::vector<Fault>& faults, Micros inFlight) {
  std::vector<Micros> up, reconnected, ended;
  for (const auto& r : records) {
    const std::string message = field(r, "MESSAGE");
    if (field(r, "_SYSTEMD_UNIT") == "tcs-supervisor.service" && field(r, "_PID") != "1") {
      if (startsWith(message, "supervising ")) up.push_back(timeOf(r));
      if (startsWith(message, "reconnected to systemd")) reconnected.push_back(timeOf(r));
    } else if (field(r, "_PID") == "1" && field(r, "UNIT") == "tcs-supervisor.service") {
      const std::string mid = field(r, "MESSAGE_ID");
      if (mid == kProcessExit || mid == kStopping || mid == kSuccess || mid == kFailureResult)
        ended.push_back(timeOf(r));
    }
  }
  auto firstAfter = [](const std::vector<Micros>& times, Micros t) {
    for (Micros x : times)
      if (x >= t) return x;
    return kForever;
  };
  std::vector<Window> out;
  out.push_back({0, up.empty() ? kForever : up.front(), "before the supervisor's first start"});
  for (const auto& f : faults) {
    if (f.kind == "kill9_supervisor") out.push_back({f.at - inFlight, firstAfter(up, f.at), "supervisor killed"});
    if (f.kind == "restart_dbus")
      out.push_back(
          {f.at - inFlight, std::min(firstAfter(reconnected, f.at), firstAfter(up, f.at)), "D-Bus restarted"});
  }
  for (Micros t : ended) out.push_back({t - inFlight, firstAfter(up, t), "supervisor process ended"});
  // merge overlapping windows (keeping the first reason)
  std::sort(out.begin(), out.end(), [](const Window& a, const Window& b) { return a.from < b.from; });
  std::vector<Window> merged;
  for (auto& w : out) {
    if (!merged.empty() && w.from <= merged.back().to) {
      merged.back().to = std::max(merged.back().to, w.to);
      if (merged.back().why.find(w.why) == std::string::npos) merged.back().why += ", " + w.why;
    } else {
      merged.push_back(w);
    }
  }
  return merged;
}

Micros microsOf(const json& t) {
  if (!t.is_array() || t.size() < 6) throw std::runtime_error("a timestamp must be [Y, M, D, h, m, s, µs]");
  struct tm tm {};
  tm.tm_year = t[0].get<int>() - 1900;
  tm.tm_mon = t[1].get<int>() - 1;
  tm.tm_mday = t[2].get<int>();
  tm.tm_hour = t[3].get<int>();
  tm.tm_min = t[4].get<int>();
  tm.tm_sec = t[5].get<int>();
  const Micros us = t.size() > 6 ? t[6].get<Micros>() : 0;
  return static_cast<Micros>(timegm(&tm)) * 1000000 + us;
}

std::vector<Reported> reportedFromStream(const std::vector<json>& lines, std::size_t& declared) {
  std::vector<Reported> out;
  declared = 0;
  for (const auto& l : lines) {
    const json& data = l.at("message").at("data");
    const std::string event = data.at("event").get<std::string>();
    if (event == "declared") {
      ++declared;
      continue;
    }
    if (event == "duplicate") continue;
    Reported r;
    r.serviceId = data.at("service_id").get<std::string>();
    r.event = event;
    r.at = microsOf(data.at("timestamp"));
    r.seq = l.value("seq", std::int64_t{0});
    r.data = data;
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

std::string when(Micros us) {
  const time_t s = static_cast<time_t>(us / 1000000);
  struct tm tm {};
  gmtime_r(&s, &tm);
  return fmt::format("{:02}:{:02}:{:02}.{:03}", tm.tm_hour, tm.tm_min, tm.tm_sec, (us % 1000000) / 1000);
}

std::string describe(const Expected& e) {
  std::string s = e.event;
  if (e.result) s += " result=" + *e.result;
  if (e.reason) s += " reason=" + *e.reason;
  if (e.exitCode) s += fmt::format(" exit_code={}", *e.exitCode);
  if (e.attempt) s += fmt::format(" restart_attempt={}", *e.attempt);
  if (e.willRestart) s += fmt::format(" will_restart={}", *e.willRestart);
  return s;
}

// What differs between an expected transition and the event matched to it ("" when nothing).
std::string differences(const Expected& e, const Reported& r) {
  std::string d;
  auto str = [&](const char* key) {
    return r.data.contains(key) && r.data[key].is_string() ? r.data[key].get<std::string>() : std::string("(none)");
  };
  auto num = [&](const char* key) -> std::optional<long> {
    if (r.data.contains(key) && r.data[key].is_number_integer()) return r.data[key].get<long>();
    return std::nullopt;
  };
  if (e.result && str("result") != *e.result) d += fmt::format(" result {} (systemd: {})", str("result"), *e.result);
  if (e.reason && str("reason") != *e.reason) d += fmt::format(" reason {} (systemd: {})", str("reason"), *e.reason);
  if (e.exitCode && num("exit_code") != std::optional<long>(*e.exitCode))
    d += fmt::format(" exit_code {} (systemd: {})", num("exit_code") ? std::to_string(*num("exit_code")) : "(none)",
                     *e.exitCode);
  if (e.attempt && num("restart_attempt") != std::optional<long>(*e.attempt))
    d += fmt::format(" restart_attempt {} (systemd: {})",
                     num("restart_attempt") ? std::to_string(*num("restart_attempt")) : "(none)", *e.attempt);
  if (e.restartCount && num("restart_count") != std::optional<long>(*e.restartCount))
    d += fmt::format(" restart_count {} (systemd: {})",
                     num("restart_count") ? std::to_string(*num("restart_count")) : "(none)", *e.restartCount);
  if (e.willRestart) {
    const bool got = r.data.value("will_restart", !*e.willRestart);
    if (got != *e.willRestart) d += fmt::format(" will_restart {} (systemd's rule: {})", got, *e.willRestart);
  }
  return d;
}

// The state a unit is in after this event, as the protocol reads it.
std::string stateAfter(const Reported& r, const Reported* before) {
  if (r.event == "ready") return "active";
  if (r.event == "start" || r.event == "restarting") return "activating";
  if (r.event == "stopping") return "deactivating";
  if (r.event == "stop") {
    // stopped while waiting to restart after a crash: the crash's exit code, the unit inactive
    if (before && before->event == "crashed") return "inactive";
    // systemd leaves a stopped unit `failed` unless its Result is success: a clean exit, or one
    // of the clean signals (SIGHUP, SIGINT, SIGTERM, SIGPIPE); not after the stop timeout's SIGKILL
    const long code = r.data.value("exit_code", 0L);
    const bool clean = code == 0 || code == -1 || code == -2 || code == -13 || code == -15;
    return clean && r.data.value("reason", "") != "force_killed" ? "inactive" : "failed";
  }
  if (r.event == "failed") return "failed";
  if (r.event == "crashed") return r.data.value("will_restart", false) ? "activating" : "failed";
  return "unknown";
}

bool inAny(const std::vector<Window>& windows, Micros t, Micros slack) {
  return std::any_of(windows.begin(), windows.end(),
                     [&](const Window& w) { return t >= w.from - slack && t <= w.to + slack; });
}

}  // namespace

std::vector<std::pair<std::size_t, std::size_t>> align(const std::vector<Micros>& want, const std::vector<Micros>& got,
                                                       Micros tolerance,
                                                       const std::function<bool(std::size_t, std::size_t)>& same) {
  struct Score {
    std::int32_t pairs = 0, same = 0;
    Micros apart = 0;
    bool operator<(const Score& o) const {  // worse than
      if (pairs != o.pairs) return pairs < o.pairs;
      if (same != o.same) return same < o.same;
      return apart > o.apart;
    }
  };
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  std::size_t i0 = 0, j0 = 0;
  while (i0 < want.size() && j0 < got.size()) {
    // A part: times each within the tolerance of an earlier one in it (both lists merged).
    std::size_t i1 = i0, j1 = j0;
    Micros reach = std::min(want[i0], got[j0]);
    for (;;) {
      const bool w = i1 < want.size(), g = j1 < got.size();
      if (w && (!g || want[i1] <= got[j1]) && want[i1] <= reach + tolerance)
        reach = std::max(reach, want[i1++]);
      else if (g && got[j1] <= reach + tolerance)
        reach = std::max(reach, got[j1++]);
      else
        break;
    }
    // best[i][j]: the best alignment of want[i0 + i …] with got[j0 + j …] in the part.
    const std::size_t n = i1 - i0, m = j1 - j0;
    std::vector<Score> best((n + 1) * (m + 1));
    std::vector<std::uint8_t> step((n + 1) * (m + 1));  // 0 skip want, 1 skip got, 2 pair
    const auto at = [m](std::size_t i, std::size_t j) { return i * (m + 1) + j; };
    for (std::size_t i = n + 1; i-- > 0;) {
      for (std::size_t j = m + 1; j-- > 0;) {
        if (i == n || j == m) continue;
        Score s = best[at(i + 1, j)];
        std::uint8_t how = 0;
        if (s < best[at(i, j + 1)]) s = best[at(i, j + 1)], how = 1;
        const Micros apart = std::llabs(want[i0 + i] - got[j0 + j]);
        if (apart <= tolerance) {
          Score p = best[at(i + 1, j + 1)];
          ++p.pairs;
          p.same += same(i0 + i, j0 + j) ? 1 : 0;
          p.apart += apart;
          if (s < p) s = p, how = 2;
        }
        best[at(i, j)] = s;
        step[at(i, j)] = how;
      }
    }
    for (std::size_t i = 0, j = 0; i < n && j < m;) {
      switch (step[at(i, j)]) {
        case 0: ++i; break;
        case 1: ++j; break;
        default: pairs.emplace_back(i0 + i++, j0 + j++);
      }
    }
    i0 = i1, j0 = j1;  // a part holds one item at least: min(want[i0], got[j0])
  }
  return pairs;
}

Report check(std::vector<Expected> expected, std::vector<Reported> reported, std::vector<Window> windows,
             const std::vector<FinalState>& finals, const json* tcsctl, Micros tolerance) {
  Report rep;
  rep.windows = windows;
  rep.transitions = expected.size();
  rep.events = reported.size();
  for (auto& e : expected) e.inWindow = inAny(windows, e.at, 0);

  // Duplicates: the same transition (service, event, systemd's timestamp) more than once.
  std::sort(reported.begin(), reported.end(), [](const Reported& a, const Reported& b) { return a.seq < b.seq; });
  std::set<std::tuple<std::string, std::string, Micros>> seen;
  std::vector<Reported> unique;
  for (auto& r : reported) {
    if (!seen.insert({r.serviceId, r.event, r.at}).second) {
      ++rep.duplicated;
      rep.problems.push_back(
          {"duplicated", r.serviceId, fmt::format("{} at {} (stream seq {}) again", r.event, when(r.at), r.seq)});
      continue;
    }
    unique.push_back(r);
  }

  // Match per (service, event), both in time order, within the tolerance: the alignment with the
  // most matches, then the most without differences, then the least time apart (align()). A
  // greedy walk would pair a report with an earlier, unreported transition of the same kind
  // within the tolerance (two restarts 1.1 s apart, the first in a window) and call its own
  // transition lost.
  std::map<std::pair<std::string, std::string>, std::vector<std::size_t>> want, got;
  for (std::size_t i = 0; i < expected.size(); ++i) want[{expected[i].serviceId, expected[i].event}].push_back(i);
  for (std::size_t i = 0; i < unique.size(); ++i) got[{unique[i].serviceId, unique[i].event}].push_back(i);
  std::vector<bool> expectedMatched(expected.size()), reportedMatched(unique.size());
  for (auto& [key, ws] : want) {
    auto& gs = got[key];
    std::sort(ws.begin(), ws.end(), [&](auto a, auto b) { return expected[a].at < expected[b].at; });
    std::sort(gs.begin(), gs.end(), [&](auto a, auto b) { return unique[a].at < unique[b].at; });
    std::vector<Micros> wt, gt;
    for (auto w : ws) wt.push_back(expected[w].at);
    for (auto g : gs) gt.push_back(unique[g].at);
    const auto pairs = align(wt, gt, tolerance, [&](std::size_t i, std::size_t j) {
      return differences(expected[ws[i]], unique[gs[j]]).empty();
    });
    for (const auto& [i, j] : pairs) {
      Expected& e = expected[ws[i]];
      const Reported& r = unique[gs[j]];
      expectedMatched[ws[i]] = reportedMatched[gs[j]] = true;
      ++rep.matched;
      if (e.inWindow) ++rep.windowReported;
      const std::string d = differences(e, r);
      if (d.empty()) continue;
      if (e.inWindow) {
        ++rep.windowDiffering;
        rep.problems.push_back(
            {"window", e.serviceId, fmt::format("{} at {} (in a window):{}", e.event, when(r.at), d)});
      } else {
        ++rep.wrong;
        rep.problems.push_back(
            {"wrong", e.serviceId, fmt::format("{} at {}:{} — journal: {}", e.event, when(r.at), d, e.record)});
      }
    }
  }
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const Expected& e = expected[i];
    if (e.inWindow) ++rep.windowTransitions;
    if (expectedMatched[i]) continue;
    if (e.inWindow) {
      ++rep.windowUnreported;
      continue;
    }
    ++rep.lost;
    rep.problems.push_back(
        {"lost", e.serviceId, fmt::format("{} at {} — journal: {}", describe(e), when(e.at), e.record)});
  }
  for (std::size_t i = 0; i < unique.size(); ++i) {
    if (reportedMatched[i]) continue;
    const Reported& r = unique[i];
    if (inAny(windows, r.at, tolerance)) {
      ++rep.windowDiffering;
      rep.problems.push_back(
          {"window", r.serviceId, fmt::format("{} at {} (next to a window): {}", r.event, when(r.at), r.data.dump())});
      continue;
    }
    ++rep.invented;
    rep.problems.push_back({"invented", r.serviceId,
                            fmt::format("{} at {} (stream seq {}): {}", r.event, when(r.at), r.seq, r.data.dump())});
  }

  // The final state: the newest registry event per service vs systemd's ActiveState.
  std::map<std::string, const Reported*> last, beforeLast;  // unique is in stream order
  for (const auto& r : unique) {
    beforeLast[r.serviceId] = last.count(r.serviceId) ? last[r.serviceId] : nullptr;
    last[r.serviceId] = &r;
  }
  std::map<std::string, const Expected*> lastExpected;
  for (const auto& e : expected)
    if (!lastExpected.count(e.serviceId) || lastExpected[e.serviceId]->at <= e.at) lastExpected[e.serviceId] = &e;
  for (const auto& f : finals) {
    ++rep.finalChecked;
    const std::string onNats =
        last.count(f.serviceId) ? stateAfter(*last[f.serviceId], beforeLast[f.serviceId]) : "unknown";
    if (onNats == f.activeState) continue;
    const bool window = lastExpected.count(f.serviceId) && lastExpected[f.serviceId]->inWindow;
    (window ? rep.finalUnreconstructable : rep.finalMismatch)++;
    rep.problems.push_back({window ? "window" : "final", f.serviceId,
                            fmt::format("systemd: {}, the registry's newest event says {}{}", f.activeState, onNats,
                                        window ? " (its last transition fell in a window)" : "")});
  }

  // tcsctl's view (registry events, status and heartbeats): running and pid as systemd says.
  if (tcsctl) {
    std::map<std::string, const json*> entries;
    for (const auto& s : tcsctl->at("services"))
      if (s.value("kind", "") == "service") entries[s.value("id", "")] = &s;
    for (const auto& f : finals) {
      ++rep.tcsctlChecked;
      const auto it = entries.find(f.serviceId);
      const bool active = f.activeState == "active";
      std::string why;
      if (it == entries.end()) {
        why = "not listed";
      } else {
        const json& s = *it->second;
        const bool running = s.value("running", false);
        const long pid = s.contains("pid") && s["pid"].is_number_integer() ? s["pid"].get<long>() : 0;
        if (running != active)
          why = fmt::format("running {} (systemd: {})", running, f.activeState);
        else if (active && pid != f.mainPid)
          why = fmt::format("pid {} (systemd's MainPID {})", pid, f.mainPid);
      }
      if (why.empty()) continue;
      ++rep.tcsctlMismatch;
      rep.problems.push_back({"tcsctl", f.serviceId, why});
    }
  }
  return rep;
}

}  // namespace tcs::soak
