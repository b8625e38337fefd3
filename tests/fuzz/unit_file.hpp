// SPDX-License-Identifier: MIT
// A small reader of systemd unit files for the unitgen_render harness: it reads a file back the
// way systemd's config_parse() does (src/shared/conf-parser.c), so the harness can compare the
// directives systemd would see with the ones tcs-unitgen meant to write.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tcs::fuzz {

/** @brief One `Key=value` line as systemd sees it: in its section, key and value stripped. */
struct Directive {
  std::string section;
  std::string key;
  std::string value;
};

/** @brief The result of reading a unit file; error() names the first line systemd would not take. */
struct UnitFile {
  std::vector<Directive> directives;
  std::string error;
};

/**
 * @brief Reads @p text like systemd: lines end at `\n`, `\r` or NUL, `#`/`;` comments, `[Section]` headers, a line
 * ending in an unescaped backslash continued on the next (the backslash becomes a space, comment lines inside are
 * skipped), whitespace stripped around keys and values. A line without `=`, a directive before any section or a
 * malformed header is an error (systemd ignores such lines with a warning; unitgen must never write one).
 */
UnitFile parseUnitFile(std::string_view text);

/** @brief @p s without the whitespace systemd strips around keys and values. */
std::string_view strip(std::string_view s);

/**
 * @brief Splits a value into words like systemd's extract_first_word() with EXTRACT_UNQUOTE |
 *        EXTRACT_CUNESCAPE (ExecStart=, Environment=): whitespace separates, `"…"` and `'…'`
 *        quote, a backslash escapes the next character. nullopt for an unterminated quote, a
 *        trailing backslash or an escape other than `\\`, `\"` and `\'` (unitgen writes no other).
 */
std::optional<std::vector<std::string>> splitWords(std::string_view value);

/**
 * @brief Undoes unitgen's escaping of one value: `%%` → `%` always, `$$` → `$` when @p dollars;
 *        nullopt when a lone `%` (a specifier systemd would expand) or, with @p dollars, a lone
 *        `$` (a variable ExecStart= would expand) is left.
 */
std::optional<std::string> unescape(std::string_view text, bool dollars);

}  // namespace tcs::fuzz
