// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <cstddef>
#include <iosfwd>
#include <string>
#include <vector>

/**
 * @file
 * tcsctl's command line and commands (main.cpp only calls run()): the fleet listing (upstream's
 * interface, plus --json and --follow), the verbs start/stop/restart/reset-failed/reload/hosts/
 * logs, over the control client (tcs/control.hpp) and the renderer (render.hpp).
 */
namespace tcs::ctl {

/** @brief tcsctl's exit codes (doc/tcsctl.md). */
namespace exit_code {
inline constexpr int kOk = 0;
inline constexpr int kUsage = 1;        ///< bad command line or config
inline constexpr int kUnreachable = 2;  ///< NATS (or the supervisor) cannot be reached
inline constexpr int kRefused = 3;      ///< the supervisor refused or the operation failed
inline constexpr int kNotFound = 4;     ///< no such service or launcher in the fleet
}  // namespace exit_code

/** @brief Where tcsctl writes and what it may assume about the terminal. */
struct Terminal {
  std::ostream& out;
  std::ostream& err;
  bool tty = false;       ///< stdout is a terminal: colour (unless NO_COLOR), redraw in --follow
  bool utf8 = true;       ///< the locale's charset is UTF-8 (else ASCII symbols)
  std::size_t width = 0;  ///< terminal columns (0: unknown → unlimited unless --width)
  bool noColor = false;   ///< NO_COLOR is set (https://no-color.org)
  /** @brief --follow (and logs -f) also end when this becomes true (tests); SIGINT/SIGTERM always do. */
  const std::atomic<bool>* stop = nullptr;
};

/** @brief Runs tcsctl with @p args (without the program name). @return the exit code */
int run(const std::vector<std::string>& args, Terminal& terminal);

/** @return the Terminal of this process (isatty, locale, TIOCGWINSZ/COLUMNS, NO_COLOR) */
Terminal processTerminal();

}  // namespace tcs::ctl
