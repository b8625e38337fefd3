// SPDX-License-Identifier: MIT
// createMonitor(): upstream's create_monitor, over a caller's transport or a connection of its own.
#include <filesystem>
#include <random>

#include "tcs/log.hpp"
#include "tcs/monitor.hpp"
#include "tcs/protocol/subject.hpp"

namespace tcs {

// ---- factories -------------------------------------------------------------------------------

namespace {
std::string defaultMonitorName() {
  // Upstream: the program's base name followed by 8 random URL-safe characters.
  std::string program = "tcs";
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) program = exe.filename().string();
  std::string name;
  for (char c : program) name += protocol::isValidSubjectToken(std::string(1, c)) && c != '.' ? c : '_';
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
  std::random_device rd;
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  for (int i = 0; i < 8; ++i) name += kAlphabet[pick(rd)];
  return name;
}
}  // namespace

std::unique_ptr<Monitor> createMonitor(std::string name, INatsTransport* nats, MonitorOptions options) {
  options.name = name.empty() ? (options.name.empty() ? defaultMonitorName() : options.name) : std::move(name);
  return std::make_unique<Monitor>(std::move(options), nats);
}

OwnedMonitor createMonitor(std::string name, const config::NatsConfig& config, std::chrono::milliseconds connectTimeout,
                           MonitorOptions options) {
  OwnedMonitor result;
  if (options.subjectPrefix == protocol::kDefaultPrefix) options.subjectPrefix = config.subjectPrefix;
  if (config.present) {
    try {
      NatsOptions no;
      no.name = name.empty() ? std::string("tcs-monitor") : name;
      no.connectDeadline = connectTimeout;
      auto required = config;
      required.required = true;  // try for connectTimeout, then give up: upstream's 2 s probe
      result.connection = std::make_unique<NatsConnection>(required, no);
    } catch (const std::exception& e) {
      log::warning("monitoring without NATS (no-op monitor): {}", e.what());
    }
  } else {
    log::info("no nats: section in the config: monitoring without NATS (no-op monitor)");
  }
  result.monitor = createMonitor(std::move(name), result.connection.get(), std::move(options));
  return result;
}

}  // namespace tcs
