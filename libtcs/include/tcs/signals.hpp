// SPDX-License-Identifier: MIT
#pragma once

#include <initializer_list>

#include "tcs/export.hpp"

/**
 * @file
 * Signals as events: a program blocks its termination signals in every thread and reads them
 * from a signalfd in its own loop (the service runtime and tcs-supervisor do; so may any
 * program using tcs::createMonitor). Call it in main() before starting any thread, so every
 * thread inherits the blocked mask.
 */
namespace tcs {

/** @brief A signalfd that owns its descriptor; -1 when none. Move-only. */
class TCS_API SignalFd {
 public:
  SignalFd() noexcept = default;
  explicit SignalFd(int fd) noexcept : fd_(fd) {}
  SignalFd(SignalFd&& other) noexcept : fd_(other.release()) {}
  SignalFd& operator=(SignalFd&& other) noexcept;
  SignalFd(const SignalFd&) = delete;
  SignalFd& operator=(const SignalFd&) = delete;
  ~SignalFd();

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  /**
   * @brief Waits for the next of the descriptor's signals.
   * @return its number
   * @throws tcs::Error when the descriptor cannot be read
   */
  int wait() const;
  /** @brief Gives up ownership: the caller closes the descriptor. */
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

/**
 * @brief Blocks @p signals in the calling thread (and every thread it starts afterwards).
 * @throws tcs::Error naming the failing call when the mask cannot be set
 */
TCS_API void blockSignals(std::initializer_list<int> signals);

/**
 * @brief Blocks @p signals and opens a non-blocking, close-on-exec signalfd for them.
 * @throws tcs::Error naming the failing call (`signalfd: …`) when it cannot be opened
 */
TCS_API SignalFd openSignalFd(std::initializer_list<int> signals);

/** @brief SIGTERM, SIGINT, SIGHUP: what stops a service or the supervisor. */
TCS_API SignalFd openTerminationSignalFd();

}  // namespace tcs
