// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

#include "render.hpp"
#include "tcs/control.hpp"

/**
 * @file
 * `tcsctl hosts`: the launchers of the fleet (one tcs-supervisor per host) as text and JSON.
 */
namespace tcs::ctl {

/** @return one line per launcher: symbol, id, liveness, host, running/total services, last heartbeat */
std::string renderHosts(const std::vector<control::HostInfo>& hosts, protocol::Timestamp now, const RenderStyle& style);

/** @return `{"schema": "tcs.hosts/1", "taken_at", "jetstream", "notes", "hosts": [{launcher_id,
 *          name, hostname, pid, heartbeat, last_heartbeat, heartbeat_age_seconds, status,
 *          services, running}]}` */
std::string hostsJsonText(const std::vector<control::HostInfo>& hosts, protocol::Timestamp now, bool jetstream,
                          const std::vector<std::string>& notes);

}  // namespace tcs::ctl
