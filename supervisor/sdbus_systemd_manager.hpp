// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "systemd_manager.hpp"

namespace sdbus {
class IConnection;
class IProxy;
class Message;
class Variant;
}  // namespace sdbus

/**
 * @file
 * ISystemdManager over sdbus-c++ 1.2 (Debian 12's libsdbus-c++, v1 API).
 */
namespace tcs::supervisor {

/**
 * @brief The unit name of a systemd unit object path (`/org/freedesktop/systemd1/unit/` + the
 *        name with every byte outside `[A-Za-z0-9]` as `_xx`), for filtering signals only.
 * @return nullopt for other paths or a malformed label
 */
std::optional<std::string> decodeUnitPath(std::string_view objectPath);

/**
 * @brief The real ISystemdManager: one D-Bus connection to systemd's manager.
 *
 * **Threads.** The constructor connects and installs the signal matches; subscribe() starts
 * one D-Bus thread owned by this object (sdbus-c++'s `enterEventLoop()` run on a std::thread,
 * so that a lost bus ends the thread with a `busLost` report instead of terminating the
 * process). All callbacks run on that thread. Methods may be called from any thread (see
 * ISystemdManager). The destructor stops and joins the thread; do not destroy the manager
 * from a callback.
 *
 * **Signals.** One match rule receives `PropertiesChanged` of every unit object
 * (`path_namespace=/org/freedesktop/systemd1/unit`); object paths are mapped to unit names from
 * UnitNew, ListUnitsByPatterns, LoadUnit and GetUnit, or, for a path not seen yet, by reading
 * the unit's `Id` once. Only units matching Options::unitPatterns are delivered. Properties a
 * signal lists as invalidated are re-read with `Get` before delivery.
 */
class SdbusSystemdManager final : public ISystemdManager {
 public:
  /** @brief Which service manager. */
  enum class Bus {
    System,  ///< the system manager on the system bus (production)
    User,    ///< the calling user's manager on the session bus (`--user`, development)
  };

  struct Options {
    Bus bus = Bus::System;
    /** @brief fnmatch(3) patterns of the units to report. */
    std::vector<std::string> unitPatterns{std::string(kTcsUnitPattern)};
    /** @brief Timeout of every call but Reload (sd-bus's default is 25 s). */
    std::chrono::microseconds callTimeout = std::chrono::seconds(25);
    /** @brief Timeout of Reload (a daemon-reload re-runs every generator). */
    std::chrono::microseconds reloadTimeout = std::chrono::seconds(120);
  };

  /**
   * @brief Connects to the bus and prepares the signal subscriptions (nothing is delivered
   *        before subscribe()).
   * @throws SystemdError when the bus cannot be reached
   */
  explicit SdbusSystemdManager(Options options);
  SdbusSystemdManager() : SdbusSystemdManager(Options{}) {}
  ~SdbusSystemdManager() override;

  SdbusSystemdManager(const SdbusSystemdManager&) = delete;
  SdbusSystemdManager& operator=(const SdbusSystemdManager&) = delete;

  void setCallbacks(SystemdCallbacks callbacks) override;
  void subscribe() override;
  std::vector<UnitListEntry> listUnitsByPatterns(const std::vector<std::string>& patterns) override;
  std::string loadUnit(const std::string& name) override;
  std::string getUnit(const std::string& name) override;
  UnitSnapshot unitProperties(const std::string& objectPath) override;
  void requestUnitProperties(const std::string& unit, const std::string& objectPath,
                             PropertyChange::Origin origin) override;
  std::string startUnit(const std::string& name) override;
  std::string stopUnit(const std::string& name) override;
  std::string restartUnit(const std::string& name) override;
  void resetFailedUnit(const std::string& name) override;
  void reload() override;
  void reconnect() override;

  /** @return whether @p unit matches one of the unit patterns */
  bool matches(const std::string& unit) const;

 private:
  void connect();
  void disconnect() noexcept;
  void startLoop();
  void runLoop();
  std::string jobCall(const char* method, const std::string& name);
  /** @brief LoadUnit/GetUnit: the unit's object path (remembered for decoding signals) */
  std::string unitPath(const char* method, const std::string& name);
  sdbus::IProxy& unitProxy(const std::string& objectPath);
  void remember(const std::string& objectPath, const std::string& unit);
  /** @return the unit name of a unit object path, empty for a unit that is not reported */
  std::string unitOfPath(const std::string& objectPath);
  void onPropertiesChanged(sdbus::Message& message);
  PropertyChange makeChange(const std::string& unit, const std::string& objectPath, const std::string& interface,
                            const std::map<std::string, sdbus::Variant>& values, PropertyChange::Origin origin);

  template <typename Callback, typename... Args>
  void deliver(const char* what, const Callback& callback, const Args&... args) noexcept;

  const Options options_;
  SystemdCallbacks callbacks_;
  /**
   * @brief Held shared by every call made from outside the D-Bus thread, exclusively by
   * reconnect() and the destructor while they replace or drop the connection (the D-Bus thread
   * has ended by then). @return the shared lock
   * @throws SystemdError NotConnected while there is no connection (a reconnect failed)
   */
  std::shared_lock<std::shared_mutex> use(const std::string& context) const;
  mutable std::shared_mutex connectionMutex_;
  std::unique_ptr<sdbus::IConnection> connection_;
  std::unique_ptr<sdbus::IProxy> manager_;
  std::unique_ptr<void, std::function<void(void*)>> propertiesMatch_;  // an sdbus::Slot: the match rule
  std::thread loop_;
  std::atomic<bool> subscribed_{false};
  std::atomic<bool> stopping_{false};

  std::mutex mutex_;                                         // guards the two maps below
  std::unordered_map<std::string, std::string> unitOfPath_;  // object path → unit name ("" = not ours)
  std::unordered_map<std::string, std::unique_ptr<sdbus::IProxy>> unitProxies_;  // never erased while connected
};

}  // namespace tcs::supervisor
