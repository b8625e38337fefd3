// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "nats_server.hpp"

/**
 * @file
 * A cluster of real nats-servers for integration tests: N nodes on loopback, each with its own
 * client, route and monitoring port, `server_name` and JetStream store (`<dir>/node-<i>/`),
 * routes to every other node, clustered JetStream.
 *
 *     TCS_SKIP_WITHOUT_NATS_SERVER();
 *     tcs::test::NatsCluster cluster(dir.path(), 3);
 *     cluster.start();           // returns once the routes are up and JetStream has a meta leader
 *     cluster.node(1).kill();    // kill -9 one node …
 *     cluster.restart(1);        // … and bring it back (same ports, same store), rejoined
 *
 * Needs nlohmann-json (link nlohmann_json::nlohmann_json). Each node is a NatsServer: the test's
 * own child, killed by PID on destruction.
 */
namespace tcs::test {

class NatsCluster {
 public:
  /** @brief Prepares @p size nodes in @p dir (ports chosen, nothing started). */
  explicit NatsCluster(const std::filesystem::path& dir, int size = 3, NatsServerOptions base = {},
                       std::string name = "tcs-test")
      : name_(std::move(name)) {
    std::vector<int> routePorts;
    for (int i = 0; i < size; ++i) routePorts.push_back(NatsServer::freePort());
    for (int i = 0; i < size; ++i) {
      NatsServerOptions o = base;
      o.jetstream = true;
      o.serverName = nodeName(i);
      o.monitorPort = NatsServer::freePort();
      NatsServerOptions::Cluster c;
      c.name = name_;
      c.port = routePorts[static_cast<std::size_t>(i)];
      for (int j = 0; j < size; ++j)
        if (j != i)
          c.routes.push_back("nats-route://127.0.0.1:" + std::to_string(routePorts[static_cast<std::size_t>(j)]));
      o.cluster = c;
      nodes_.push_back(std::make_unique<NatsServer>(dir / nodeName(i), std::move(o)));
    }
  }

  static std::string nodeName(int i) { return "node-" + std::string(1, static_cast<char>('a' + i)); }

  /**
   * @brief Starts every node and waits (bounded) until the cluster has formed.
   * @throws std::runtime_error with the nodes' logs when it does not form within @p timeout
   */
  void start(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    for (auto& n : nodes_) n->start();
    if (!waitFormed(timeout)) throw std::runtime_error("the NATS cluster did not form; " + logs());
  }

  /** @brief Starts node @p i again after a kill() or stop() and waits until the cluster has it back. */
  void restart(int i, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    node(i).start();
    if (!waitFormed(timeout)) throw std::runtime_error("node " + nodeName(i) + " did not rejoin; " + logs());
  }

  /**
   * @brief Polls every running node's /routez and /jsz until each has a route to every other
   * running node, all name the same JetStream meta leader, and the leader sees every running
   * node as a current peer.
   */
  bool waitFormed(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (formed()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  /** @return the JetStream meta leader's node index, or -1 when none is known */
  int metaLeader() {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (!nodes_[i]->running()) continue;
      const auto jsz = json(*nodes_[i], "/jsz");
      const auto leader = jsz.value(nlohmann::json::json_pointer("/meta_cluster/leader"), std::string{});
      for (std::size_t j = 0; j < nodes_.size(); ++j)
        if (!leader.empty() && leader == nodeName(static_cast<int>(j))) return static_cast<int>(j);
    }
    return -1;
  }

  NatsServer& node(int i) { return *nodes_.at(static_cast<std::size_t>(i)); }
  int size() const noexcept { return static_cast<int>(nodes_.size()); }
  /** @return the index of the node with client port @p port (e.g. from a connected URL), or -1 */
  int indexOfPort(int port) const {
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      if (nodes_[i]->port() == port) return static_cast<int>(i);
    return -1;
  }
  /** @return every node's client URL, for `nats.servers` */
  std::vector<std::string> urls() const {
    std::vector<std::string> out;
    for (const auto& n : nodes_) out.push_back(n->url());
    return out;
  }
  std::string logs() const {
    std::string out;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const auto log = nodes_[i]->log();
      out += "--- " + nodeName(static_cast<int>(i)) + " (last 3000 bytes) ---\n" +
             (log.size() > 3000 ? log.substr(log.size() - 3000) : log);
    }
    return out;
  }

 private:
  static nlohmann::json json(const NatsServer& n, std::string_view path) {
    const auto body = n.monitor(path);
    auto j = nlohmann::json::parse(body, nullptr, false);
    return j.is_discarded() || !j.is_object() ? nlohmann::json::object() : j;
  }

  bool formed() {
    std::vector<std::size_t> up;
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      if (nodes_[i]->running()) up.push_back(i);
    std::string leader;
    for (const auto i : up) {
      const auto routez = json(*nodes_[i], "/routez");
      if (routez.value("num_routes", 0) < static_cast<int>(up.size()) - 1) return false;
      const auto jsz = json(*nodes_[i], "/jsz");
      const auto l = jsz.value(nlohmann::json::json_pointer("/meta_cluster/leader"), std::string{});
      if (l.empty() || (!leader.empty() && l != leader)) return false;
      leader = l;
    }
    // The leader's view: every other running node a current peer.
    for (const auto i : up) {
      if (nodeName(static_cast<int>(i)) != leader) continue;
      const auto jsz = json(*nodes_[i], "/jsz");
      const auto replicas = jsz.value(nlohmann::json::json_pointer("/meta_cluster/replicas"), nlohmann::json::array());
      std::size_t current = 0;
      for (const auto& r : replicas)
        if (r.value("current", false) && !r.value("offline", false)) ++current;
      return current + 1 >= up.size();
    }
    return false;
  }

  std::string name_;
  std::vector<std::unique_ptr<NatsServer>> nodes_;
};

}  // namespace tcs::test
