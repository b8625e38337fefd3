// SPDX-License-Identifier: MIT
#pragma once

// A hand-built fleet for the tcsctl rendering tests: messages built with the protocol encoder
// and applied to a FleetView, and one fleet with every case the renderer distinguishes.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tcs/fleet.hpp"

namespace tcs::test::fleet {

namespace p = tcs::protocol;

inline const p::Timestamp kT0 = p::fromFields(std::array<std::int64_t, 7>{2026, 11, 25, 12, 0, 0, 0});

inline p::Timestamp at(double s) {
  return kT0 + std::chrono::microseconds{static_cast<std::int64_t>(s * 1e6)};
}

inline p::Meta meta(p::Timestamp ts) {
  p::Meta m;
  m.id = "msg";
  m.sender = "Messenger_test";
  m.ts = ts;
  return m;
}

/// Builds messages and applies them (each at its own timestamp).
struct Feed {
  FleetView& view;
  std::string launcher = "launcher.L1";
  std::string host = "tel1";

  void status(const std::string& name, Status s, double t, std::int64_t pid, const std::string& msg,
              std::optional<std::string> parent = std::nullopt, p::StatusDetails details = {}) {
    p::StatusUpdate u;
    u.name = name;
    u.status = s;
    u.timestamp = at(t);
    u.message = msg;
    u.parent = parent.value_or(launcher);
    u.pid = pid;
    u.hostname = host;
    u.details = std::move(details);
    view.apply(p::statusSubject("svc", name), p::encode(u, meta(at(t))), at(t));
  }
  void heartbeat(const std::string& name, double t) {
    p::Heartbeat h;
    h.serviceId = name;
    h.timestamp = at(t);
    h.status = Status::Ok;
    view.apply(p::heartbeatSubject("svc", name), p::encode(h, meta(at(t))), at(t));
  }
  void event(const std::string& id, double t, p::RegistryEvent::Specific specific) {
    p::RegistryEvent e;
    e.serviceId = id;
    e.timestamp = at(t);
    e.specific = std::move(specific);
    e.parent = launcher;
    e.runnerId = launcher + "." + id.substr(0, id.find('.'));
    view.apply(p::registrySubject("svc", e.type(), id), p::encode(e, meta(at(t))), at(t));
  }
  void declared(const std::string& id, double t, const std::string& policy) { event(id, t, p::DeclaredEvent{policy}); }
  void start(const std::string& id, double t, std::int64_t pid) {
    event(id, t, p::StartEvent{Status::Startup, host, pid});
  }
  void ready(const std::string& id, double t) { event(id, t, p::ReadyEvent{Status::Ok, 0.5}); }
  void stop(const std::string& id, double t, const std::string& reason, int code) {
    event(id, t, p::StopEvent{Status::Shutdown, reason, code});
  }
  void crashed(const std::string& id, double t, int code, bool willRestart, const std::string& policy,
               const std::string& result) {
    event(id, t, p::CrashedEvent{willRestart ? Status::Error : Status::Failed, code, policy, willRestart, result});
  }
  void restarting(const std::string& id, double t, int attempt, std::optional<int> max) {
    event(id, t, p::RestartingEvent{Status::Startup, attempt, max});
  }
  void failed(const std::string& id, double t, const std::string& reason, int count) {
    event(id, t, p::FailedEvent{Status::Failed, reason, count});
  }
};

/// The moment the fleet below is looked at.
inline const p::Timestamp kNow = at(600);

/**
 * The fleet of the goldens, under @p rules (at kNow):
 * - launcher.L1 (ok) managing
 *   - cam.main: ok, then crashed (exit 1, systemd result exit-code), restarting 1 of 3: ⟳(1/3)
 *   - dome.main: degraded with two children in its report (link degraded, sensor ok with
 *     metrics) and a sub-entity dome.main.shutter (parent dome.main, depth 2)
 *   - focuser.main: a restart loop given up: crashed 3 times, failed restart_limit_reached: ✗(3/3)
 *   - filter.main: stopped cleanly (completed, exit code 0); only with --all
 *   - mount.main: restarted twice (2 of unlimited), running again: ↻(2/∞), ready, a message
 *     longer than 60 characters
 * - guider.main: an orphan (its launcher.L9 is not known) with a child guider.main.camera
 */
inline FleetView buildFleet(FleetRules rules = FleetRules::tcs()) {
  FleetView view{rules};
  Feed f{view};
  f.status("launcher.L1", Status::Ok, 1, 1000, "Launcher running", "");
  f.heartbeat("launcher.L1", 595);

  f.declared("cam.main", 2, "on-failure");
  f.start("cam.main", 3, 1101);
  f.ready("cam.main", 4);
  f.status("cam.main", Status::Ok, 4, 1101, "Service running");
  f.heartbeat("cam.main", 585);
  f.crashed("cam.main", 590, 1, true, "on-failure", "exit-code");
  f.restarting("cam.main", 591, 1, 3);

  p::StatusDetails details;
  details.ownStatus = Status::Idle;
  p::StatusReport link;
  link.name = "link";
  link.status = Status::Degraded;
  link.timestamp = at(500);
  link.message = "link flaky";
  p::StatusReport sensor;
  sensor.name = "sensor";
  sensor.status = Status::Ok;
  sensor.timestamp = at(400);
  sensor.message = "sensor nominal";
  sensor.details.metrics.set("reads", std::int64_t{42});
  details.children = {link, sensor};
  details.metrics.set("cycles", std::int64_t{17}).set("work_s", 1.5);
  f.declared("dome.main", 2, "always");
  f.start("dome.main", 3, 1201);
  f.status("dome.main", Status::Degraded, 500, 1201, "No active tasks", std::nullopt, details);
  f.heartbeat("dome.main", 592);
  f.status("dome.main.shutter", Status::Ok, 10, 1201, "Shutter closed", "dome.main");
  f.heartbeat("dome.main.shutter", 592);

  f.declared("focuser.main", 2, "on-failure");
  f.start("focuser.main", 3, 1301);
  f.status("focuser.main", Status::Ok, 4, 1301, "Service running");
  f.heartbeat("focuser.main", 100);
  for (int i = 1; i <= 3; ++i) {
    f.crashed("focuser.main", 100 + 10 * i, 2, true, "on-failure", "exit-code");
    f.restarting("focuser.main", 101 + 10 * i, i, 3);
    f.start("focuser.main", 101.01 + 10 * i, 1301 + i);
  }
  f.crashed("focuser.main", 140, 2, false, "on-failure", "exit-code");
  f.failed("focuser.main", 140.01, "restart_limit_reached", 3);

  f.declared("filter.main", 2, "no");
  f.start("filter.main", 3, 1401);
  f.status("filter.main", Status::Ok, 4, 1401, "Service running");
  f.heartbeat("filter.main", 200);
  f.status("filter.main", Status::Ok, 205, 1401, "Service stopped");
  f.stop("filter.main", 206, "completed", 0);

  f.declared("mount.main", 2, "always");
  f.start("mount.main", 3, 1501);
  f.crashed("mount.main", 50, -9, true, "always", "signal");
  f.restarting("mount.main", 51, 1, std::nullopt);
  f.start("mount.main", 51.01, 1502);
  f.crashed("mount.main", 60, -6, true, "always", "core-dump");
  f.restarting("mount.main", 61, 2, std::nullopt);
  f.start("mount.main", 61.01, 1503);
  f.ready("mount.main", 62);
  f.status("mount.main", Status::Ok, 62, 1503,
           "Tracking target NGC 7000 at sidereal rate, guiding corrections nominal, focus 12345 steps");
  f.heartbeat("mount.main", 598);

  Feed orphan{view, "launcher.L9", "tel2"};
  orphan.status("guider.main", Status::Ok, 300, 2001, "Guiding");
  orphan.heartbeat("guider.main", 599);
  orphan.status("guider.main.camera", Status::Busy, 300, 2001, "Exposing", "guider.main");
  orphan.heartbeat("guider.main.camera", 599);
  return view;
}

/// A unified-diff-like listing of @p want (-) against @p got (+), equal lines indented.
inline std::string textDiff(const std::string& want, const std::string& got) {
  auto split = [](const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) {
      for (std::size_t i; (i = l.find('\x1b')) != std::string::npos;) l.replace(i, 1, "\\e");  // visible escapes
      out.push_back(l);
    }
    if (!s.empty() && s.back() == '\n') out.push_back("<end>");
    return out;
  };
  const auto a = split(want), b = split(got);
  std::string out;
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    const std::string* x = i < a.size() ? &a[i] : nullptr;
    const std::string* y = i < b.size() ? &b[i] : nullptr;
    if (x && y && *x == *y) {
      out += "  " + *x + "\n";
      continue;
    }
    if (x) out += "- " + *x + "\n";
    if (y) out += "+ " + *y + "\n";
  }
  return out;
}

}  // namespace tcs::test::fleet
