// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "hub.hpp"
#include "settings.hpp"
#include "tcs/control.hpp"

/**
 * @file
 * tcs-web's HTTP layer (cpp-httplib): the page, the JSON API of doc/web.md, the event stream,
 * sessions and control. What it knows of the fleet comes from a FleetSource (the control client
 * over NATS in tcs-web; a fed FleetView in the tests) and the FleetHub.
 */
namespace tcs::web {

/** @brief What the HTTP layer asks of the fleet. Calls come from the server's threads. */
class FleetSource {
 public:
  virtual ~FleetSource() = default;
  /** @brief Calls @p fn with the current snapshot (under the owner's lock: do not keep it). */
  virtual void withSnapshot(const std::function<void(const control::Snapshot&)>& fn) = 0;
  /** @return the `data` of the service's `v1.health` reply; @throws control::ControlError */
  virtual nlohmann::json health(std::string_view serviceId) = 0;
  /** @throws control::ControlError */
  virtual protocol::LogsReply logs(std::string_view serviceId, const protocol::LogsRequest& request) = 0;
  /** @param[in] action - `start`, `stop` or `restart`; @throws control::ControlError */
  virtual protocol::LauncherActionReply act(std::string_view action, std::string_view serviceId) = 0;
};

struct ServerOptions {
  WebSettings settings;
  std::filesystem::path staticDir;  ///< index.html, app.js, style.css
  std::string operatorPassword;     ///< required when settings.control
  std::string version;
  /** @brief Keep-alive comment interval of the event stream. */
  std::chrono::milliseconds keepAlive{std::chrono::seconds(15)};
  std::size_t threads = 24;  ///< an open event stream holds one (HubLimits::subscribers: 16)
};

class WebServer {
 public:
  /** @throws WebConfigError when control is on without a password, or the static dir lacks index.html */
  WebServer(FleetSource& source, FleetHub& hub, ServerOptions options);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  /** @return the port bound (@p port 0: any free port); @throws WebConfigError naming the address */
  int bind(const std::string& host, int port);
  /** @brief Serves until stop(); call after bind(). */
  void run();
  /** @brief Ends run() and every event stream (the hub is closed). */
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tcs::web
