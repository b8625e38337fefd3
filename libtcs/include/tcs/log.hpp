// SPDX-License-Identifier: MIT
#pragma once

#include <fmt/format.h>

#include <memory>
#include <source_location>
#include <string>
#include <string_view>

#include "tcs/export.hpp"
#include "tcs/log_level.hpp"

/**
 * @file
 * One logging API for services and the framework, fmt-style:
 *
 *     log().info("Hello {} ({} sent)", message, count);
 *
 * Under systemd (`$JOURNAL_STREAM` or `$INVOCATION_ID` set) every call becomes one structured
 * journald record (`sd_journal_send`) with MESSAGE, PRIORITY, TCS_SERVICE_ID,
 * TCS_SERVICE_TYPE, TCS_VARIANT, CODE_FILE, CODE_LINE, CODE_FUNC and SYSLOG_IDENTIFIER, so
 * `journalctl -u tcs@hello_world:main`, `journalctl TCS_SERVICE_ID=hello_world.main` and
 * `journalctl -p warning` all work. In a terminal, readable lines go to stderr (colour only on
 * a TTY, never with NO_COLOR). Records below the configured level are dropped before
 * formatting. Thread-safe.
 */
namespace tcs::log {

/** @brief tcs::LogLevel (tcs/log_level.hpp): the config's `log_level` is a log::Level as it is. */
using Level = tcs::LogLevel;

/** @return syslog priority of @p level (DEBUG 7 … CRITICAL 2). */
TCS_API int syslogPriority(Level level) noexcept;
/** @return `DEBUG` … `CRITICAL` (the same as tcs::toString(level)). */
TCS_API std::string_view levelName(Level level) noexcept;

/** @brief A format string with the caller's source location, checked at compile time. */
template <typename... Args>
struct TCS_API Format {
  template <typename S>
  consteval Format(const S& text, std::source_location loc = std::source_location::current())  // NOLINT
      : fmt(text), location(loc) {}
  fmt::format_string<Args...> fmt;
  std::source_location location;
};

/** @brief Where records go; one per process, set up by the service runtime. */
class TCS_API Sink {
 public:
  virtual ~Sink();  // defined in the library: its vtable and typeinfo live there
  virtual void write(Level level, std::string_view message, const std::source_location& where) = 0;
};

/** @brief Identity fields attached to every record. */
struct TCS_API Identity {
  std::string serviceId;  ///< `<type>.<variant>`
  std::string type;
  std::string variant;
  std::string syslogIdentifier;  ///< defaults to the service id
};

enum class Backend {
  Auto,     ///< journald under systemd, else stderr
  Journal,  ///< sd_journal_send
  Stderr    ///< human-readable lines
};

/** @brief Makes the process logger write to @p backend with @p identity, at @p minimum and up. */
TCS_API void configure(Backend backend, Identity identity, Level minimum);
/** @brief Replaces the sink (tests); returns the previous one. */
TCS_API std::shared_ptr<Sink> setSink(std::shared_ptr<Sink> sink);
TCS_API void setLevel(Level minimum) noexcept;
TCS_API Level level() noexcept;
/** @brief True when the process runs under systemd with its journal available. */
TCS_API bool underSystemd() noexcept;

TCS_API void write(Level level, std::string_view message, const std::source_location& where);

template <typename... Args>
void debug(Format<std::type_identity_t<Args>...> f, Args&&... args) {
  if (level() <= Level::Debug) write(Level::Debug, fmt::format(f.fmt, std::forward<Args>(args)...), f.location);
}
template <typename... Args>
void info(Format<std::type_identity_t<Args>...> f, Args&&... args) {
  if (level() <= Level::Info) write(Level::Info, fmt::format(f.fmt, std::forward<Args>(args)...), f.location);
}
template <typename... Args>
void warning(Format<std::type_identity_t<Args>...> f, Args&&... args) {
  if (level() <= Level::Warning) write(Level::Warning, fmt::format(f.fmt, std::forward<Args>(args)...), f.location);
}
template <typename... Args>
void error(Format<std::type_identity_t<Args>...> f, Args&&... args) {
  if (level() <= Level::Error) write(Level::Error, fmt::format(f.fmt, std::forward<Args>(args)...), f.location);
}
template <typename... Args>
void critical(Format<std::type_identity_t<Args>...> f, Args&&... args) {
  write(Level::Critical, fmt::format(f.fmt, std::forward<Args>(args)...), f.location);
}

/**
 * @brief The same calls as an object, for `log().info(…)` inside a service.
 *
 * Stateless: every Logger writes to the process logger.
 */
class TCS_API Logger {
 public:
  template <typename... Args>
  void debug(Format<std::type_identity_t<Args>...> f, Args&&... args) const {
    log::debug<Args...>(f, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void info(Format<std::type_identity_t<Args>...> f, Args&&... args) const {
    log::info<Args...>(f, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void warning(Format<std::type_identity_t<Args>...> f, Args&&... args) const {
    log::warning<Args...>(f, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void error(Format<std::type_identity_t<Args>...> f, Args&&... args) const {
    log::error<Args...>(f, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void critical(Format<std::type_identity_t<Args>...> f, Args&&... args) const {
    log::critical<Args...>(f, std::forward<Args>(args)...);
  }
};

}  // namespace tcs::log
