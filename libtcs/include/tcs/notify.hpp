// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tcs/export.hpp"

/**
 * @file
 * The sd_notify protocol as an interface, so the lifecycle can be tested with a fake.
 */
namespace tcs {

/** @brief Sends service-manager notifications (READY=1, STATUS=…, STOPPING=1, WATCHDOG=1). */
class TCS_API INotifier {
 public:
  virtual ~INotifier();  // defined in the library: its vtable and typeinfo live there
  /** @brief Sends one notification message, e.g. "READY=1\nSTATUS=ok: running". */
  virtual void notify(std::string_view message) = 0;
  /** @brief The watchdog interval the manager expects pings within; nullopt = no watchdog. */
  virtual std::optional<std::chrono::microseconds> watchdogInterval() const = 0;
};

/**
 * @brief The real notifier: libsystemd's sd_notify() to `$NOTIFY_SOCKET`, and
 * sd_watchdog_enabled() (which checks `$WATCHDOG_PID`). Without `$NOTIFY_SOCKET` it sends
 * nothing, so a service runs the same in a terminal.
 */
TCS_API std::unique_ptr<INotifier> makeSystemdNotifier();

}  // namespace tcs
