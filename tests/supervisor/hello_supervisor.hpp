// SPDX-License-Identifier: MIT
// A real Supervisor for the control client's and tcsctl's tests: one configured service,
// hello_world.main, over the fake systemd (and journal) of fakes.hpp, answering on real NATS.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "fakes.hpp"
#include "supervisor.hpp"
#include "temp_dir.hpp"

namespace tcs::supervisor::test {

/** @brief Starts a Supervisor that manages hello_world.main as `launcher.<launcherId>`. */
inline std::unique_ptr<Supervisor> startHelloWorldSupervisor(const tcs::test::TempDir& dir,
                                                             const std::string& launcherId, const std::string& hostname,
                                                             ISystemdManager& systemd, INatsTransport& nats,
                                                             IJournal* journal = nullptr) {
  SupervisorOptions o;
  o.configPath = dir.write("services.yaml",
                           "registry:\n  hello_world: ~\nservices:\n"
                           "  - {type: hello_world, variant: main}\n");
  o.launcherId = launcherId;
  o.hostname = hostname;
  o.jobTimeout = std::chrono::seconds(2);
  auto s = std::make_unique<Supervisor>(o, systemd, &nats, journal);
  s->start();
  return s;
}

}  // namespace tcs::supervisor::test
