// SPDX-License-Identifier: MIT
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tcs::test {

/** @brief Splits an sd_notify message into its `KEY=value` lines. */
inline std::vector<std::string> splitLines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto end = text.find('\n', start);
    lines.emplace_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return lines;
}

/** @brief One sd_notify message, when it arrived and (for a socket) from which PID. */
struct Notification {
  std::chrono::steady_clock::time_point at;
  std::string text;
  pid_t pid = 0;
};

/**
 * @brief A thread-safe record of sd_notify messages with the queries the lifecycle tests ask:
 * shared by the fake notifier (unit tier) and the test-owned NOTIFY_SOCKET (integration tier).
 */
class NotifyLog {
 public:
  using Clock = std::chrono::steady_clock;

  void add(Notification n) {
    std::lock_guard lock(logMutex_);
    log_.push_back(std::move(n));
  }
  /** @brief Forgets what arrived so far. */
  void clear() {
    std::lock_guard lock(logMutex_);
    log_.clear();
  }
  std::vector<Notification> messages() const {
    std::lock_guard lock(logMutex_);
    return log_;
  }
  /** @brief Every message except WATCHDOG=1, in order. */
  std::vector<std::string> lifecycle() const {
    std::vector<std::string> out;
    for (const auto& m : messages())
      if (m.text != "WATCHDOG=1") out.push_back(m.text);
    return out;
  }
  /** @brief The STATUS= values of all messages, in order. */
  std::vector<std::string> statuses() const {
    std::vector<std::string> out;
    for (const auto& m : messages())
      for (const auto& line : splitLines(m.text))
        if (line.starts_with("STATUS=")) out.push_back(line.substr(7));
    return out;
  }
  std::vector<Clock::time_point> pings() const {
    std::vector<Clock::time_point> out;
    for (const auto& m : messages())
      if (m.text == "WATCHDOG=1") out.push_back(m.at);
    return out;
  }
  std::size_t pingCount() const { return pings().size(); }
  std::size_t pingsAfter(Clock::time_point t) const {
    const auto p = pings();
    return static_cast<std::size_t>(std::count_if(p.begin(), p.end(), [&](auto x) { return x > t; }));
  }
  /** @brief Index of the first message that has @p line as one of its lines. */
  std::optional<std::size_t> indexOf(std::string_view line) const {
    const auto all = messages();
    for (std::size_t i = 0; i < all.size(); ++i)
      for (const auto& l : splitLines(all[i].text))
        if (l == line) return i;
    return std::nullopt;
  }
  /** @brief The first message that has @p line as one of its lines. */
  std::optional<Notification> find(std::string_view line) const {
    const auto i = indexOf(line);
    if (!i) return std::nullopt;
    return messages()[*i];
  }
  std::optional<Clock::time_point> timeOf(std::string_view line) const {
    const auto m = find(line);
    if (!m) return std::nullopt;
    return m->at;
  }
  bool has(std::string_view line) const { return indexOf(line).has_value(); }

 private:
  mutable std::mutex logMutex_;
  std::vector<Notification> log_;
};

}  // namespace tcs::test
