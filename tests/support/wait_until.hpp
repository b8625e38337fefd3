// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <thread>

namespace tcs::test {

/**
 * @brief Polls @p condition until it holds or @p timeout passes; never a blind sleep.
 * @return whether the condition held in time.
 */
template <typename Condition>
bool waitUntil(Condition&& condition, std::chrono::milliseconds timeout = std::chrono::seconds(10),
               std::chrono::milliseconds poll = std::chrono::milliseconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
  return true;
}

}  // namespace tcs::test
