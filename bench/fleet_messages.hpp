// SPDX-License-Identifier: MIT
// The messages of the bench fleets (tcsctl_bench_fleet, fleet_sim): built with libtcs's protocol
// encoders, as tcs-supervisor and a service's monitor publish them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include "tcs/protocol.hpp"

namespace bench {

namespace p = tcs::protocol;

/// A service, or a host's launcher (tcs-supervisor), of a simulated fleet.
struct Member {
  std::string name;    ///< service id or `launcher.<id>`
  std::string parent;  ///< `launcher.<id>` for services, "" for launchers
  std::string launcherId;
  std::string hostname = "bench-host.example.org";
  std::int64_t pid = 4242;
};

inline std::string heartbeat(const Member& m, std::uint64_t sequence, p::MetaGenerator& meta,
                             tcs::Status status = tcs::Status::Ok,
                             std::chrono::microseconds interval = std::chrono::seconds(10)) {
  p::Heartbeat hb;
  hb.serviceId = m.name;
  hb.timestamp = p::now();
  hb.status = status;
  hb.sequence = sequence;
  hb.uptimeSeconds = 3600.0 + static_cast<double>(sequence) * static_cast<double>(interval.count()) * 1e-6;
  hb.nextHeartbeatExpected = hb.timestamp + interval;
  return p::encode(hb, meta.next());
}

inline std::string statusOf(const Member& m, p::MetaGenerator& meta, tcs::Status status = tcs::Status::Ok,
                            std::string message = {}) {
  p::StatusUpdate s;
  s.name = m.name;
  s.status = status;
  s.timestamp = p::now();
  s.message = message.empty() ? (m.parent.empty() ? "supervising" : "running") : std::move(message);
  s.parent = m.parent;
  s.pid = m.pid;
  s.hostname = m.hostname;
  return p::encode(s, meta.next());
}

inline std::string registry(const Member& m, p::RegistryEvent::Specific specific, p::MetaGenerator& meta) {
  p::RegistryEvent e;
  e.serviceId = m.name;
  e.timestamp = p::now();
  e.specific = std::move(specific);
  e.parent = m.parent;
  const auto dot = m.name.rfind('.');
  e.runnerId = p::runnerId(m.launcherId, m.name.substr(0, dot));
  return p::encode(e, meta.next());
}

}  // namespace bench
