// SPDX-License-Identifier: MIT
// tcs-web: the fleet on a page (doc/web.md). This file is the command line and the wiring:
// config → NATS → the control client following the fleet (NatsFleetSource) → the hub → HTTP.
#include <malloc.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include "client_config.hpp"
#include "hub.hpp"
#include "nats_source.hpp"
#include "server.hpp"
#include "settings.hpp"
#include "tcs/error.hpp"
#include "tcs/exit_code.hpp"
#include "tcs/log.hpp"
#include "tcs/nats.hpp"
#include "tcs/notify.hpp"
#include "tcs/signals.hpp"

#ifndef TCS_VERSION
#define TCS_VERSION "unknown"
#endif
#ifndef TCS_CONFIG_PATH
#define TCS_CONFIG_PATH "/etc/tcs/services.yaml"
#endif
#ifndef TCS_WEB_STATIC_DIR
#define TCS_WEB_STATIC_DIR "/usr/share/tcs/web"
#endif

namespace {
namespace web = tcs::web;
using namespace std::chrono_literals;

int run(int argc, char** argv) {
  // Two malloc arenas instead of one per busy thread (the HTTP pool has 24): a daemon that
  // renders a 1 MB document now and then should give the memory back, not keep it per thread.
  mallopt(M_ARENA_MAX, 2);
  std::string configPath;
  std::string listen;
  std::string staticDir = TCS_WEB_STATIC_DIR;
  CLI::App app{
      "tcs-web: a live web view of the fleet (every host's services, their status, crashes and restarts, "
      "registry events and journal), read from NATS like tcsctl and served over HTTP with Server-Sent Events. "
      "Read-only unless the config's web.control is true. See doc/web.md."};
  app.name("tcs-web");
  app.add_option("-c,--config", configPath,
                 "services.yaml whose nats: and web: sections are used (default " TCS_CONFIG_PATH
                 ", then ./config/services.yaml; none: NATS at localhost:4222, defaults)");
  app.add_option("--listen", listen, "ADDR:PORT to listen on (default web.listen, else 127.0.0.1:8470)");
  app.add_option("--static-dir", staticDir, "the page's files (index.html, app.js, style.css)")->capture_default_str();
  app.set_version_flag("--version", std::string("tcs-web ") + TCS_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? tcs::exit_code::kOk : tcs::exit_code::kUsage;
  }
  tcs::log::configure(tcs::log::Backend::Auto, {"tcs-web", "web", "", "tcs-web"}, tcs::log::Level::Info);

  tcs::SignalFd signals;
  try {
    signals = tcs::openTerminationSignalFd();
  } catch (const tcs::Error& e) {
    tcs::log::critical("{}", e.what());
    return tcs::exit_code::kFailure;
  }

  // Config: the nats: section (as tcsctl) and the web: section.
  tcs::ctl::ClientConfig client;
  web::ServerOptions options;
  try {
    client = tcs::ctl::loadClientConfig(configPath, TCS_CONFIG_PATH);
    if (!client.path.empty()) options.settings = web::loadWebSettings(client.path);
    if (!listen.empty()) options.settings.listen = web::parseListen(listen);
    if (options.settings.control)
      options.operatorPassword = web::operatorPassword(options.settings, std::getenv("CREDENTIALS_DIRECTORY"));
  } catch (const std::exception& e) {
    std::cerr << "tcs-web: " << e.what() << '\n';
    return tcs::exit_code::kConfig;
  }
  options.staticDir = staticDir;
  options.version = TCS_VERSION;

  tcs::NatsOptions natsOptions;
  natsOptions.name = "tcs-web";
  std::unique_ptr<tcs::NatsConnection> nats;
  try {
    client.nats.required = false;
    nats = std::make_unique<tcs::NatsConnection>(client.nats, natsOptions);
  } catch (const tcs::NatsError& e) {
    std::cerr << "tcs-web: " << e.what() << '\n';
    return tcs::exit_code::kConfig;
  }

  web::HubLimits limits;
  limits.timeline = options.settings.timeline;
  web::FleetHub hub(limits);
  web::NatsFleetSource::Options sourceOptions;
  sourceOptions.timeline = options.settings.timeline;
  web::NatsFleetSource source(*nats, client.nats.subjectPrefix, hub, sourceOptions);
  std::optional<web::WebServer> server;
  int port = 0;
  try {
    server.emplace(source, hub, options);
    port = server->bind(options.settings.listen.host, options.settings.listen.port);
    source.start();
  } catch (const web::WebConfigError& e) {
    std::cerr << "tcs-web: " << e.what() << '\n';
    return tcs::exit_code::kConfig;
  } catch (const tcs::Error& e) {
    std::cerr << "tcs-web: " << e.what() << '\n';
    return tcs::exit_code::kFailure;
  }
  std::thread http([&] { server->run(); });
  tcs::log::info("serving the fleet (prefix {}) on http://{}:{}/ ({}; static files {})", client.nats.subjectPrefix,
                 options.settings.listen.host, port, options.settings.control ? "control enabled" : "read-only",
                 staticDir);
  auto notifier = tcs::makeSystemdNotifier();
  notifier->notify("READY=1\nSTATUS=serving on " + options.settings.listen.host + ":" + std::to_string(port));

  int signal = 0;
  try {
    signal = signals.wait();
  } catch (const tcs::Error& e) {
    tcs::log::error("{}", e.what());
  }
  tcs::log::info("signal {}: stopping", signal);
  notifier->notify("STOPPING=1");
  server->stop();
  http.join();
  source.stop();
  return tcs::exit_code::kOk;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "tcs-web: " << e.what() << '\n';
    return tcs::exit_code::kFailure;
  }
}
