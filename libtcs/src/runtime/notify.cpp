// SPDX-License-Identifier: MIT
// The real INotifier (tcs/notify.hpp): libsystemd's sd_notify and sd_watchdog_enabled. Part of
// the runtime module (README.md here).
#include "tcs/notify.hpp"

#include <systemd/sd-daemon.h>

#include <string>

namespace tcs {
namespace {

class SystemdNotifier final : public INotifier {
 public:
  SystemdNotifier() {
    std::uint64_t usec = 0;
    // sd_watchdog_enabled checks WATCHDOG_PID too, so a child never pings for its parent.
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) watchdog_ = std::chrono::microseconds(usec);
  }
  void notify(std::string_view message) override {
    // A failure to notify is not fatal for the service; systemd notices missing READY itself.
    sd_notify(0, std::string(message).c_str());
  }
  std::optional<std::chrono::microseconds> watchdogInterval() const override { return watchdog_; }

 private:
  std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace

std::unique_ptr<INotifier> makeSystemdNotifier() {
  return std::make_unique<SystemdNotifier>();
}

INotifier::~INotifier() = default;

}  // namespace tcs
