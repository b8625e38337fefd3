// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcs/protocol.hpp"

/**
 * @file
 * The supervisor's duplicate-instance guard (doc/supervisor.md, "Duplicate instances"): the
 * status messages and heartbeats of this host's configured services, from whatever host they
 * come, in; a `duplicate` registry event out, once per conflict episode. Pure: no I/O, no clock
 * (every call takes `now`); the Supervisor feeds it and publishes what it returns.
 *
 * A process is known by the hostname and pid of its status messages; its heartbeats (which
 * carry neither) are matched to it by the envelope's `meta.sender`, a per-process name.
 * A process is alive while its newest message is younger than Options::alive. There is a
 * conflict for a service id when
 *  - two alive processes of it, one of them on this host, each spoke after the other's first
 *    message (their lives overlap: a restart, or a move to another host, where the old process
 *    falls silent before the new one starts, is no conflict), or
 *  - this host's unit runs (its main PID) and an alive process on another host spoke after the
 *    detector learned that main PID (the case of a supervisor started after its service, whose
 *    first status it never saw).
 * The event goes out when a conflict begins; the next one only after a message found it over.
 *
 * Not thread-safe (the Supervisor serialises the calls).
 */
namespace tcs::supervisor {

class DuplicateDetector {
 public:
  struct Options {
    std::string hostname;    ///< this host's full hostname (what its services' status messages say)
    std::string launcherId;  ///< this host's launcher id
    std::chrono::milliseconds alive{std::chrono::seconds(30)};  ///< the fleet view's "alive" (< 30 s)
  };

  explicit DuplicateDetector(Options options);

  /** @brief This host's unit of @p serviceId runs with main PID @p mainPid (0: not running). */
  void local(const std::string& serviceId, std::uint32_t mainPid, protocol::Timestamp now);
  /** @brief Forgets every id but these (after a config reload). */
  void retain(const std::vector<std::string>& serviceIds);

  /** @return the `duplicate` event to publish when this status message begins a conflict */
  std::optional<protocol::RegistryEvent> status(const protocol::StatusUpdate& s, std::string_view sender,
                                                protocol::Timestamp now);
  /** @return the `duplicate` event to publish when this heartbeat begins a conflict */
  std::optional<protocol::RegistryEvent> heartbeat(const protocol::Heartbeat& h, std::string_view sender,
                                                   protocol::Timestamp now);

  /** @return whether @p serviceId is in a conflict episode */
  bool inConflict(std::string_view serviceId) const;
  /** @return whether any service is in a conflict episode (only a message can find it over) */
  bool anyConflict() const;

 private:
  struct Process {
    std::string hostname;
    std::optional<std::int64_t> pid;
    std::string parent;
    std::string sender;
    protocol::Timestamp firstSeen{};
    protocol::Timestamp lastSeen{};
  };
  struct Service {
    std::vector<Process> processes;
    std::uint32_t mainPid = 0;
    protocol::Timestamp mainPidSince{};
    bool conflict = false;
  };

  Process& process(Service& s, std::string_view sender);
  std::optional<protocol::RegistryEvent> evaluate(const std::string& serviceId, Service& s, protocol::Timestamp now);

  Options options_;
  std::map<std::string, Service, std::less<>> services_;
};

}  // namespace tcs::supervisor
