// SPDX-License-Identifier: MIT
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "temp_dir.hpp"

/**
 * @file
 * A real nats-server for integration tests: loopback only, a free port, JetStream stored in the
 * test's directory, optional user/password, token or NKey authorization.
 *
 *     TCS_SKIP_WITHOUT_NATS_SERVER();
 *     tcs::test::NatsServer server(dir.path());
 *     server.start();            // returns once the server accepts clients
 *     server.kill();             // crash it (SIGKILL) …
 *     server.start();            // … and bring it back on the same port, same JetStream store
 *
 * The process is the test's own child: it is stopped by PID on destruction, and dies with the
 * test process if that is killed (PR_SET_PDEATHSIG). That signal follows the *thread* that called
 * start(), so call start() from a thread that outlives the server (the test's own). Its output
 * goes to `<dir>/nats-server.log`.
 */

/** @brief Skips the current test (does not fail it) when nats-server is not installed. */
#define TCS_SKIP_WITHOUT_NATS_SERVER()                                                                  \
  do {                                                                                                  \
    if (!::tcs::test::NatsServer::binary())                                                             \
      GTEST_SKIP() << "nats-server is not installed (apt install nats-server, or set TCS_NATS_SERVER)"; \
  } while (0)

namespace tcs::test {

struct NatsServerOptions {
  bool jetstream = true;
  std::optional<std::string> user;  ///< with password: `authorization { user, password }`
  std::optional<std::string> password;
  std::optional<std::string> token;    ///< `authorization { token }`
  std::vector<std::string> nkeyUsers;  ///< public user NKeys allowed in
  std::string extraConfig;             ///< appended to the config file as is
  std::string serverName;              ///< `server_name` ("" = the server's generated id)
  int monitorPort = 0;                 ///< `http` monitoring port on 127.0.0.1 (/varz, /jsz); 0 = none
  /** @brief `cluster {}`: a route port of its own and the other nodes' route URLs (nats_cluster.hpp). */
  struct Cluster {
    std::string name;
    int port = 0;
    std::vector<std::string> routes;  ///< `nats-route://127.0.0.1:<port>` of the other nodes
  };
  std::optional<Cluster> cluster;
  std::chrono::milliseconds startTimeout{std::chrono::seconds(15)};
};

class NatsServer {
 public:
  /** @return the nats-server executable: $TCS_NATS_SERVER, else the first on $PATH, /usr/sbin, /usr/local/bin. */
  static std::optional<std::filesystem::path> binary() {
    namespace fs = std::filesystem;
    auto executable = [](const fs::path& p) {
      return !p.empty() && ::access(p.c_str(), X_OK) == 0 && !fs::is_directory(p);
    };
    if (const char* env = std::getenv("TCS_NATS_SERVER"); env && *env)
      return executable(env) ? std::optional<fs::path>(env) : std::nullopt;
    std::vector<fs::path> dirs;
    if (const char* path = std::getenv("PATH")) {
      std::string_view rest(path);
      while (!rest.empty()) {
        const auto colon = rest.find(':');
        dirs.emplace_back(std::string(rest.substr(0, colon)));
        if (colon == std::string_view::npos) break;
        rest.remove_prefix(colon + 1);
      }
    }
    dirs.emplace_back("/usr/sbin");
    dirs.emplace_back("/usr/local/bin");
    for (const auto& dir : dirs)
      if (executable(dir / "nats-server")) return dir / "nats-server";
    return std::nullopt;
  }

  /** @brief Prepares a server in @p dir (created if needed) on a free loopback port; does not start it. */
  explicit NatsServer(std::filesystem::path dir, NatsServerOptions options = {})
      : dir_(std::move(dir)), options_(std::move(options)) {
    std::filesystem::create_directories(dir_);
    port_ = freePort();
  }
  ~NatsServer() { kill(); }
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  /**
   * @brief Starts the server and waits (polling, bounded) until it accepts clients and is ready.
   *
   * The first start retries on another port if the chosen one was taken in the meantime; later
   * starts always reuse the port, so clients can reconnect.
   * @throws std::runtime_error with the server's log when it does not come up
   */
  void start() {
    if (running()) return;
    const auto binaryPath = binary();
    if (!binaryPath) throw std::runtime_error("nats-server is not installed");
    for (int attempt = 0;; ++attempt) {
      const auto logOffset = logSize();
      launch(*binaryPath);
      if (waitReady(logOffset)) {
        started_ = true;
        return;
      }
      const bool portTaken = log().find("address already in use", logOffset) != std::string::npos;
      kill();
      if (!portTaken || started_ || attempt >= 4)
        throw std::runtime_error("nats-server did not start on port " + std::to_string(port_) + "; log:\n" + log());
      port_ = freePort();
    }
  }

  /** @brief Graceful stop: SIGTERM, then SIGKILL if it has not exited within 10 s. */
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (reaped()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    kill();
  }

  /** @brief Crash: SIGKILL and reap. Idempotent. */
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

  /** @brief The options; changes take effect at the next start() (e.g. another password). */
  NatsServerOptions& options() noexcept { return options_; }
  bool running() { return pid_ > 0 && !reaped(); }
  int port() const noexcept { return port_; }
  pid_t pid() const noexcept { return pid_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  const std::filesystem::path& dir() const noexcept { return dir_; }
  std::filesystem::path logPath() const { return dir_ / "nats-server.log"; }
  std::string log() const { return readFile(logPath()); }

  /**
   * @brief GET @p path on the monitoring port (NatsServerOptions::monitorPort), bounded by 2 s.
   * @return the response body; "" when the server does not answer
   */
  std::string monitor(std::string_view path) const {
    if (options_.monitorPort <= 0) return {};
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return {};
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(options_.monitorPort));
    std::string response;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      const std::string request = "GET " + std::string(path) + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
      if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        char buffer[4096];
        while (std::chrono::steady_clock::now() < deadline) {
          pollfd p{fd, POLLIN, 0};
          if (::poll(&p, 1, 200) != 1) continue;
          const auto n = ::recv(fd, buffer, sizeof buffer, 0);
          if (n <= 0) break;  // HTTP/1.0: the server closes after the body
          response.append(buffer, static_cast<std::size_t>(n));
        }
      }
    }
    ::close(fd);
    const auto body = response.find("\r\n\r\n");
    return body == std::string::npos ? std::string{} : response.substr(body + 4);
  }

  /** @return a TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released). */
  static int freePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(fd);
      throw std::runtime_error("cannot find a free port");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
  }

 private:
  static std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + '"';
  }

  std::filesystem::path writeConfig() const {
    std::string text = "listen: " + quoted("127.0.0.1:" + std::to_string(port_)) + "\n";
    if (!options_.serverName.empty()) text += "server_name: " + quoted(options_.serverName) + "\n";
    if (options_.monitorPort > 0) text += "http: " + quoted("127.0.0.1:" + std::to_string(options_.monitorPort)) + "\n";
    if (options_.cluster) {
      text += "cluster {\n  name: " + quoted(options_.cluster->name) +
              "\n  listen: " + quoted("127.0.0.1:" + std::to_string(options_.cluster->port)) + "\n  routes: [\n";
      for (const auto& r : options_.cluster->routes) text += "    " + quoted(r) + "\n";
      text += "  ]\n}\n";
    }
    if (options_.jetstream) text += "jetstream {\n  store_dir: " + quoted((dir_ / "jetstream").string()) + "\n}\n";
    if (options_.user || options_.token) {
      text += "authorization {\n";
      if (options_.user) text += "  user: " + quoted(*options_.user) + "\n";
      if (options_.password) text += "  password: " + quoted(*options_.password) + "\n";
      if (options_.token) text += "  token: " + quoted(*options_.token) + "\n";
      text += "}\n";
    } else if (!options_.nkeyUsers.empty()) {
      text += "authorization {\n  users: [\n";
      for (const auto& key : options_.nkeyUsers) text += "    { nkey: " + quoted(key) + " }\n";
      text += "  ]\n}\n";
    }
    text += options_.extraConfig;
    const auto path = dir_ / "nats-server.conf";
    std::ofstream(path) << text;
    return path;
  }

  std::size_t logSize() const {
    std::error_code ec;
    const auto size = std::filesystem::file_size(logPath(), ec);
    return ec ? 0 : static_cast<std::size_t>(size);
  }

  void launch(const std::filesystem::path& binaryPath) {
    const auto config = writeConfig();
    // Everything the child needs is prepared before fork(): after it only async-signal-safe calls.
    const std::string binaryString = binaryPath.string();
    const std::string configString = config.string();
    const std::string logString = logPath().string();
    std::vector<char*> argv{const_cast<char*>(binaryString.c_str()), const_cast<char*>("-c"),
                            const_cast<char*>(configString.c_str()), nullptr};
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork() failed");
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(126);
      const int out = ::open(logString.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (out < 0 || in < 0) ::_exit(126);
      ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    pid_ = pid;
  }

  bool reaped() {
    if (pid_ <= 0) return true;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      pid_ = -1;
      return true;
    }
    return false;
  }

  // Ready = the log of this start says "Server is ready" (after JetStream is up) and a client
  // connection gets the INFO line.
  bool waitReady(std::size_t logOffset) {
    const auto deadline = std::chrono::steady_clock::now() + options_.startTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (reaped()) return false;
      if (log().find("Server is ready", logOffset) != std::string::npos && greets()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  bool greets() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    bool ok = false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      pollfd p{fd, POLLIN, 0};
      char buffer[5] = {};
      if (::poll(&p, 1, 1000) == 1 && ::recv(fd, buffer, sizeof buffer, MSG_WAITALL) == 5)
        ok = std::string_view(buffer, 5) == "INFO ";
    }
    ::close(fd);
    return ok;
  }

  std::filesystem::path dir_;
  NatsServerOptions options_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool started_ = false;
};

}  // namespace tcs::test
