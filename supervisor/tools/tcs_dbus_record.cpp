// SPDX-License-Identifier: MIT
// tcs-dbus-record: prints what systemd tells the supervisor about tcs@ units, as JSON lines
// (supervisor/recording.hpp), through the real SdbusSystemdManager. A development tool: the
// fixtures under tests/supervisor/recordings/ were made with it (doc/supervisor.md).
//
//   tcs-dbus-record [--user] [--pattern GLOB]... [--output FILE]
//
// Runs until SIGINT or SIGTERM (exit 0); exit 1 when the bus is lost, 2 on bad usage or when
// the bus cannot be reached. After subscribing and listing the units it writes
// {"kind":"Mark","text":"subscribed"}, so a script can wait for that line before acting.
#include <signal.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>

#include "recording.hpp"
#include "sdbus_systemd_manager.hpp"
#include "tcs/signals.hpp"

namespace rec = tcs::supervisor::recording;
using tcs::supervisor::SdbusSystemdManager;

namespace {

std::uint64_t monotonicUs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

class Writer {
 public:
  explicit Writer(std::ostream& out) : out_(out) {}
  void write(rec::Entry entry) {
    const std::string line = rec::toJson(rec::Line{monotonicUs(), std::move(entry)});
    std::lock_guard lock(mutex_);
    out_ << line << '\n' << std::flush;
  }

 private:
  std::mutex mutex_;
  std::ostream& out_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Print systemd's signals about tcs@ units as JSON lines"};
  bool user = false;
  std::vector<std::string> patterns;
  std::string output;
  app.add_flag("--user", user, "the user's service manager (session bus) instead of the system one");
  app.add_option("--pattern", patterns, "unit name glob (repeatable; default tcs@*.service)");
  app.add_option("--output", output, "append to FILE instead of stdout");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (patterns.empty()) patterns.emplace_back(tcs::supervisor::kTcsUnitPattern);

  std::ofstream file;
  if (!output.empty()) {
    file.open(output, std::ios::app);
    if (!file) {
      std::cerr << "tcs-dbus-record: cannot open " << output << "\n";
      return 2;
    }
  }
  Writer writer(output.empty() ? std::cout : file);

  // Block the signals we wait for before any thread exists, so the D-Bus thread inherits the mask.
  const tcs::SignalFd signals = tcs::openSignalFd({SIGINT, SIGTERM, SIGUSR2});  // SIGUSR2: the bus was lost

  try {
    SdbusSystemdManager::Options options;
    options.bus = user ? SdbusSystemdManager::Bus::User : SdbusSystemdManager::Bus::System;
    options.unitPatterns = patterns;
    SdbusSystemdManager manager(options);
    tcs::supervisor::SystemdCallbacks callbacks;
    callbacks.propertiesChanged = [&](const tcs::supervisor::PropertyChange& c) { writer.write(c); };
    callbacks.jobRemoved = [&](const tcs::supervisor::JobRemoved& j) { writer.write(j); };
    callbacks.unitNew = [&](const tcs::supervisor::UnitSignal& s) { writer.write(rec::UnitNew{s}); };
    callbacks.unitRemoved = [&](const tcs::supervisor::UnitSignal& s) { writer.write(rec::UnitRemoved{s}); };
    callbacks.reloading = [&](bool active) { writer.write(rec::Reloading{active}); };
    callbacks.busLost = [&](const std::string& why) {
      writer.write(rec::Mark{"bus lost: " + why});
      ::kill(::getpid(), SIGUSR2);
    };
    manager.setCallbacks(std::move(callbacks));
    manager.subscribe();
    for (const auto& unit : manager.listUnitsByPatterns(patterns)) {
      writer.write(rec::Listed{unit.name, unit.objectPath});
      manager.requestUnitProperties(unit.name, unit.objectPath, tcs::supervisor::PropertyChange::Origin::Snapshot);
    }
    writer.write(rec::Mark{"subscribed"});

    const int sig = signals.wait();
    writer.write(rec::Mark{sig == SIGUSR2 ? "end: bus lost" : "end"});
    return sig == SIGUSR2 ? 1 : 0;
  } catch (const std::exception& e) {
    std::cerr << "tcs-dbus-record: " << e.what() << "\n";
    return 2;
  }
}
