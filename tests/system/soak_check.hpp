// SPDX-License-Identifier: MIT
// The chaos soak's checker (issue 17): what systemd's journal says happened to the tcs@ units,
// turned into the registry events doc/protocol.md promises for it, compared with the events
// NATS holds. Independent of the supervisor's code on purpose: the expectations come from PID 1's
// journal records (MESSAGE_IDs of sd-messages.h) and systemd's documented restart rule, not from
// the supervisor's tracker.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace tcs::soak {

using Micros = std::int64_t;  // µs since the Unix epoch (the journal's realtime clock)

// One injected fault: `<µs> <kind> <target>` in the injector's log.
struct Fault {
  Micros at = 0;
  std::string kind;
  std::string target;
};

// A registry event systemd's record calls for.
struct Expected {
  std::string serviceId;
  std::string event;                  // start, ready, stopping, stop, crashed, restarting, failed
  Micros at = 0;                      // the journal record's time
  std::optional<std::string> result;  // crashed: systemd's Result
  std::optional<std::string> reason;  // stop, failed
  std::optional<int> exitCode;        // crashed, stop: negative for a signal
  std::optional<int> attempt;         // restarting: NRestarts
  std::optional<int> restartCount;    // failed restart_limit_reached: NRestarts − 1
  std::optional<bool> willRestart;    // crashed
  std::string record;                 // the journal MESSAGE it stems from
  bool inWindow = false;
};

// A registry event as the svc_registry stream holds it.
struct Reported {
  std::string serviceId;
  std::string event;
  Micros at = 0;  // the event's timestamp (systemd's clock, UTC)
  std::int64_t seq = 0;
  nlohmann::json data;
};

// A time in which the supervisor could not see systemd: nothing there is reconstructed.
struct Window {
  Micros from = 0;
  Micros to = 0;
  std::string why;
};

// systemd's state of a unit at the end (`systemctl show`).
struct FinalState {
  std::string serviceId;
  std::string activeState;
  int nRestarts = 0;
  long mainPid = 0;
  std::string restart;  // Restart=
};

struct Problem {
  std::string kind;  // lost, duplicated, wrong, invented, final, tcsctl, window, model
  std::string serviceId;
  std::string text;
};

struct Report {
  std::size_t records = 0;      // PID 1's records about the services
  std::size_t transitions = 0;  // events expected from them
  std::size_t events = 0;       // registry events in the stream (without declared/duplicate)
  std::size_t declared = 0;
  std::size_t matched = 0;
  std::size_t lost = 0, duplicated = 0, wrong = 0, invented = 0;
  std::size_t windowTransitions = 0;  // expected transitions inside a window
  std::size_t windowReported = 0;     // … of them reported anyway
  std::size_t windowUnreported = 0;   // … not reported (the protocol's stated limit)
  std::size_t windowDiffering = 0;    // reported with other values, or unexpected, at a window
  std::size_t finalChecked = 0, finalMismatch = 0, finalUnreconstructable = 0;
  std::size_t tcsctlChecked = 0, tcsctlMismatch = 0;
  std::vector<Window> windows;
  std::vector<Problem> problems;
  bool ok() const {
    return lost == 0 && duplicated == 0 && wrong == 0 && invented == 0 && finalMismatch == 0 && tcsctlMismatch == 0;
  }
};

// "tcs@cam.ccd:north.service" → "cam.ccd.north"; "" for other units. Decodes \xNN escapes.
std::string serviceIdOfUnit(const std::string& unit);

// systemd's restart rule (service_shall_restart()) for Restart=, the run's Result and exit code
// (negative: a signal); the template's RestartPreventExitStatus=78 included.
bool shallRestart(const std::string& restart, const std::string& result, std::optional<int> exitCode);

// The registry events PID 1's records (journalctl -o json lines, in journal order) call for.
// `restartPolicy`: Restart= per service id. Notes on records the model does not expect go to
// `notes` (kind "model").
std::vector<Expected> expectedFromJournal(const std::vector<nlohmann::json>& records,
                                          const std::map<std::string, std::string>& restartPolicy,
                                          std::vector<Problem>& notes);

// The windows in which the supervisor could not follow systemd: before its first start, from a
// kill (or any end of its process PID 1 recorded) − `inFlight` to its next "supervising …" line,
// from a D-Bus restart to its "reconnected to systemd" line.
std::vector<Window> windowsFrom(const std::vector<nlohmann::json>& records, const std::vector<Fault>& faults,
                                Micros inFlight);

// The stream dump's lines ({seq, subject, message}) as events; `declared` and `duplicate` are
// counted in `declared`/left out.
std::vector<Reported> reportedFromStream(const std::vector<nlohmann::json>& lines, std::size_t& declared);

// A [Y, M, D, h, m, s, µs] UTC timestamp array → µs since the epoch.
Micros microsOf(const nlohmann::json& timestamp);

// The order-keeping pairing of expected times `want` with reported times `got` (both sorted), each
// pair at most `tolerance` apart: the most pairs, then the most for which `same(i, j)` (the
// event's values agree with systemd's), then the least time apart in all. @return (i, j) pairs
std::vector<std::pair<std::size_t, std::size_t>> align(const std::vector<Micros>& want, const std::vector<Micros>& got,
                                                       Micros tolerance,
                                                       const std::function<bool(std::size_t, std::size_t)>& same);

// Everything together. `tcsctl` may be null (not compared).
Report check(std::vector<Expected> expected, std::vector<Reported> reported, std::vector<Window> windows,
             const std::vector<FinalState>& finals, const nlohmann::json* tcsctl, Micros tolerance);

}  // namespace tcs::soak
