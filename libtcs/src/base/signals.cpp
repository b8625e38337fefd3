// SPDX-License-Identifier: MIT
#include "tcs/signals.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>

#include "tcs/error.hpp"

namespace tcs {
namespace {

sigset_t maskOf(std::initializer_list<int> signals) {
  sigset_t mask;
  sigemptyset(&mask);
  for (const int s : signals) sigaddset(&mask, s);
  return mask;
}

}  // namespace

SignalFd& SignalFd::operator=(SignalFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

SignalFd::~SignalFd() {
  if (fd_ >= 0) ::close(fd_);
}

int SignalFd::wait() const {
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, -1) < 0 && errno != EINTR) throw Error(std::string("poll: ") + std::strerror(errno));
    signalfd_siginfo si{};
    const auto n = ::read(fd_, &si, sizeof si);
    if (n == static_cast<ssize_t>(sizeof si)) return static_cast<int>(si.ssi_signo);
    if (n < 0 && errno != EAGAIN && errno != EINTR) throw Error(std::string("read(signalfd): ") + std::strerror(errno));
  }
}

void blockSignals(std::initializer_list<int> signals) {
  const sigset_t mask = maskOf(signals);
  if (const int rc = pthread_sigmask(SIG_BLOCK, &mask, nullptr); rc != 0)
    throw Error(std::string("pthread_sigmask: ") + std::strerror(rc));
}

SignalFd openSignalFd(std::initializer_list<int> signals) {
  blockSignals(signals);
  const sigset_t mask = maskOf(signals);
  const int fd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) throw Error(std::string("signalfd: ") + std::strerror(errno));
  return SignalFd(fd);
}

SignalFd openTerminationSignalFd() {
  return openSignalFd({SIGTERM, SIGINT, SIGHUP});
}

}  // namespace tcs
