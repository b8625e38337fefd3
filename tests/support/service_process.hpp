// SPDX-License-Identifier: MIT
#pragma once

// Running real service binaries in integration tests: a test-owned NOTIFY_SOCKET, a pty for
// terminal output, and spawned children that are always reaped (killed by PID only if the
// test left them running).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "notify_log.hpp"
#include "temp_dir.hpp"
#include "wait_until.hpp"

namespace tcs::test {

using namespace std::chrono_literals;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// ---- the notify socket -----------------------------------------------------------------------

/** @brief A NOTIFY_SOCKET: bound datagram socket plus a thread that records what arrives. */
class NotifySocket : public tcs::test::NotifyLog {
 public:
  explicit NotifySocket(fs::path path) : path_(std::move(path)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.string().size() >= sizeof addr.sun_path)
      throw std::runtime_error("socket path too long: " + path_.string());
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
    const int on = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);  // sender PID, like systemd
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
      throw std::system_error(errno, std::generic_category(), "bind " + path_.string());
    if (::pipe2(wakeup_, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    reader_ = std::thread([this] { readLoop(); });
  }
  ~NotifySocket() {
    [[maybe_unused]] auto n = ::write(wakeup_[1], "q", 1);
    reader_.join();
    ::close(wakeup_[0]);
    ::close(wakeup_[1]);
    ::close(fd_);
    std::error_code ec;
    fs::remove(path_, ec);
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  const fs::path& path() const { return path_; }

  /**
   * @brief Returns once every datagram queued on the socket before the call is recorded. After
   * a child has exited all it sent is queued, but the reader thread may not have taken it yet.
   */
  void sync() {
    std::unique_lock lock(mutex_);
    const auto target = flushes_ + 1;
    [[maybe_unused]] auto n = ::write(wakeup_[1], "f", 1);
    if (!flushed_.wait_for(lock, 10s, [&] { return flushes_ >= target; }))
      throw std::runtime_error("notify socket reader did not flush");
  }
  bool waitFor(std::string_view line, std::chrono::milliseconds timeout = 15s) const {
    return waitUntil([&] { return has(line); }, timeout, 5ms);
  }

 private:
  void readLoop() {
    for (;;) {
      pollfd fds[2] = {{fd_, POLLIN, 0}, {wakeup_[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents) {
        char request = 'q';
        if (::read(wakeup_[0], &request, 1) != 1 || request == 'q') return;
        while (receive()) {  // 'f': take everything queued, then report
        }
        std::lock_guard lock(mutex_);
        ++flushes_;
        flushed_.notify_all();
        continue;
      }
      receive();
    }
  }

  /** @return whether a datagram was there. */
  bool receive() {
    char buf[4096];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd_, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) return false;
    Notification note{Clock::now(), std::string(buf, static_cast<std::size_t>(n)), 0};
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
        ucred cred{};
        std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
        note.pid = cred.pid;
      }
    add(std::move(note));
    return true;
  }

  fs::path path_;
  int fd_ = -1;
  int wakeup_[2] = {-1, -1};
  std::thread reader_;
  mutable std::mutex mutex_;
  std::condition_variable flushed_;
  unsigned long flushes_ = 0;
};

// ---- child processes -------------------------------------------------------------------------

/** @brief How a child ended, from its wait status. */
struct ExitStatus {
  int raw = 0;
  bool exited() const { return WIFEXITED(raw); }
  int code() const { return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1; }
  bool signaled() const { return WIFSIGNALED(raw); }
  int signal() const { return WIFSIGNALED(raw) ? WTERMSIG(raw) : 0; }
};

inline std::ostream& operator<<(std::ostream& os, const ExitStatus& s) {
  if (s.exited()) return os << "exit status " << s.code();
  if (s.signaled()) return os << "killed by signal " << s.signal() << " (" << ::strsignal(s.signal()) << ")";
  return os << "wait status " << s.raw;
}

/** @brief Reads a pseudo-terminal master until the slave side is gone. */
class PtyCapture {
 public:
  PtyCapture() {
    master_ = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master_ < 0 || ::grantpt(master_) != 0 || ::unlockpt(master_) != 0)
      throw std::system_error(errno, std::generic_category(), "posix_openpt");
    char name[128];
    if (::ptsname_r(master_, name, sizeof name) != 0)
      throw std::system_error(errno, std::generic_category(), "ptsname");
    slave_ = name;
  }
  ~PtyCapture() {
    if (reader_.joinable()) reader_.join();
    ::close(master_);
  }
  PtyCapture(const PtyCapture&) = delete;
  PtyCapture& operator=(const PtyCapture&) = delete;
  const std::string& slave() const { return slave_; }
  /** @brief Starts reading; call after the child opened the slave. */
  void start() {
    reader_ = std::thread([this] {
      char buf[1024];
      for (;;) {
        const ssize_t n = ::read(master_, buf, sizeof buf);
        if (n <= 0) {
          if (n < 0 && errno == EINTR) continue;
          return;  // EIO: every slave descriptor is closed
        }
        std::lock_guard lock(mutex_);
        text_.append(buf, static_cast<std::size_t>(n));
      }
    });
  }
  /** @brief Everything read; joins the reader (the child must have exited). */
  std::string finish() {
    if (reader_.joinable()) reader_.join();
    std::lock_guard lock(mutex_);
    return text_;
  }

 private:
  int master_ = -1;
  std::string slave_;
  std::thread reader_;
  std::mutex mutex_;
  std::string text_;
};

/** @brief A spawned service process; killed with SIGKILL and reaped if the test did not. */
class Child {
 public:
  Child(const std::string& binary, const std::vector<std::string>& args, const std::vector<std::string>& env,
        const fs::path& stdoutPath, const fs::path& stderrPath, const std::string& stderrTty = {},
        std::function<void()> afterExit = {})
      : stdout_(stdoutPath), stderr_(stderrPath), afterExit_(std::move(afterExit)) {
    std::vector<std::string> argvStore{binary};
    argvStore.insert(argvStore.end(), args.begin(), args.end());
    std::vector<char*> argv, envp;
    for (auto& a : argvStore) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> envStore = env;
    for (auto& e : envStore) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdoutPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (stderrTty.empty())
      posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderrPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    else
      posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderrTty.c_str(), O_RDWR | O_NOCTTY, 0);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGUSR1, SIGSEGV}) sigaddset(&defaults, sig);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);  // its own process group: no terminal signals from us
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    started_ = Clock::now();
    const int rc = ::posix_spawn(&pid_, binary.c_str(), &actions, &attr, argv.data(), envp.data());
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::system_error(rc, std::generic_category(), "posix_spawn " + binary);
  }
  ~Child() {
    if (reaped_) return;
    ::kill(pid_, SIGKILL);  // only our own child, by PID
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  Clock::time_point started() const { return started_; }
  void signal(int sig) const {
    if (!reaped_) ::kill(pid_, sig);
  }
  /** @return how it ended, or nullopt if it still runs after @p timeout. */
  std::optional<ExitStatus> wait(std::chrono::milliseconds timeout = 15s) {
    if (reaped_) return status_;
    const bool ended = waitUntil(
        [&] {
          int status = 0;
          const pid_t r = ::waitpid(pid_, &status, WNOHANG);
          if (r != pid_) return false;
          reaped_ = true;
          status_ = ExitStatus{status};
          endedAt_ = Clock::now();
          return true;
        },
        timeout, 5ms);
    if (!ended) return std::nullopt;
    if (afterExit_) afterExit_();
    return status_;
  }
  bool running() {
    if (reaped_) return false;
    return !wait(0ms).has_value();
  }
  /** @brief When wait() saw it end (only after a successful wait()). */
  Clock::time_point endedAt() const { return endedAt_; }
  std::string stdoutText() const { return readFile(stdout_); }
  std::string stderrText() const { return readFile(stderr_); }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  ExitStatus status_;
  Clock::time_point started_, endedAt_;
  fs::path stdout_, stderr_;
  std::function<void()> afterExit_;
};

}  // namespace tcs::test
