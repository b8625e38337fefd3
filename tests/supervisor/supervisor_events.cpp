// SPDX-License-Identifier: MIT
// tcs-supervisor-events (test driver): the supervisor's systemd half live — SdbusSystemdManager
// + one UnitTracker per configured tcs@ unit — printing every registry event as its wire `data`
// JSON, one per line. tests/system/supervisor_dbus_test.sh runs it in a container.
//
//   tcs-supervisor-events --config FILE [--output FILE] [--user]
//
// Writes {"mark":"subscribed"} once it follows every unit; exits 0 on SIGTERM/SIGINT, 1 when
// the bus is lost, 2 on errors.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>

#include "sdbus_systemd_manager.hpp"
#include "tcs/config.hpp"
#include "tcs/protocol.hpp"
#include "tcs/signals.hpp"
#include "tcs/unit_name.hpp"
#include "unit_tracker.hpp"

using namespace tcs::supervisor;

namespace {

class Driver {
 public:
  Driver(const tcs::config::Config& config, std::ostream& out) : out_(out) {
    const std::string host = tcs::unit_name::hostName();
    const std::string launcher = tcs::unit_name::launcherId(host);
    for (const auto& s : config.services())
      services_.emplace(s.unitName(), TrackedService::fromConfig(s, launcher, host));
  }

  SystemdCallbacks callbacks() {
    SystemdCallbacks c;
    c.propertiesChanged = [this](const PropertyChange& change) {
      std::lock_guard lock(mutex_);
      if (auto* t = tracker(change.unit)) print(t->update(change));
    };
    c.jobRemoved = [this](const JobRemoved& job) {
      std::lock_guard lock(mutex_);
      if (auto* t = tracker(job.unit)) print(t->jobRemoved(job, tcs::protocol::now()));
    };
    c.unitNew = [this](const UnitSignal& u) {
      std::lock_guard lock(mutex_);
      if (auto* t = tracker(u.unit)) t->unitLoaded();
    };
    c.busLost = [](const std::string& why) {
      std::cerr << "tcs-supervisor-events: bus lost: " << why << "\n";
      ::kill(::getpid(), SIGUSR2);
    };
    return c;
  }

  void follow(ISystemdManager& manager) {
    // Units already loaded: unseeded trackers, seeded by their snapshot (in order with signals).
    for (const auto& unit : manager.listUnitsByPatterns({std::string(kTcsUnitPattern)})) {
      {
        std::lock_guard lock(mutex_);
        if (!tracker(unit.name)) continue;
      }
      manager.requestUnitProperties(unit.name, unit.objectPath, PropertyChange::Origin::Snapshot);
    }
    std::lock_guard lock(mutex_);
    out_ << "{\"mark\":\"subscribed\"}" << std::endl;
  }

 private:
  UnitTracker* tracker(const std::string& unit) {
    if (auto it = trackers_.find(unit); it != trackers_.end()) return &it->second;
    auto s = services_.find(unit);
    if (s == services_.end()) return nullptr;  // not configured: never reported
    return &trackers_.emplace(unit, UnitTracker(s->second)).first->second;
  }
  void print(const std::vector<tcs::protocol::RegistryEvent>& events) {
    for (const auto& e : events) out_ << tcs::protocol::encodeData(e) << std::endl;
  }

  std::mutex mutex_;
  std::ostream& out_;
  std::map<std::string, TrackedService> services_;
  std::map<std::string, UnitTracker> trackers_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Registry events of the configured tcs@ units, live from systemd"};
  std::string configFile, output;
  bool user = false;
  app.add_option("--config", configFile, "services.yaml")->required();
  app.add_option("--output", output, "append to FILE instead of stdout");
  app.add_flag("--user", user, "the user's service manager");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  const tcs::SignalFd signals = tcs::openSignalFd({SIGINT, SIGTERM, SIGUSR2});
  try {
    const auto loaded = tcs::config::load(configFile);
    std::ofstream file;
    if (!output.empty()) {
      file.open(output, std::ios::app);
      if (!file) {
        std::cerr << "tcs-supervisor-events: cannot open " << output << " for appending\n";
        return 1;
      }
    }
    Driver driver(loaded.config, output.empty() ? std::cout : file);
    SdbusSystemdManager::Options options;
    options.bus = user ? SdbusSystemdManager::Bus::User : SdbusSystemdManager::Bus::System;
    SdbusSystemdManager manager(options);
    manager.setCallbacks(driver.callbacks());
    manager.subscribe();
    driver.follow(manager);
    const int sig = signals.wait();
    return sig == SIGUSR2 ? 1 : 0;
  } catch (const std::exception& e) {
    std::cerr << "tcs-supervisor-events: " << e.what() << "\n";
    return 2;
  }
}
