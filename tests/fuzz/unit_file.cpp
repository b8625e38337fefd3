// SPDX-License-Identifier: MIT
#include "unit_file.hpp"

namespace tcs::fuzz {

namespace {

constexpr std::string_view kWhitespace = " \t\n\r";

// Whether @p line ends in a backslash that escapes nothing after it (systemd's `escaped` scan).
bool endsEscaped(std::string_view line) {
  bool escaped = false;
  for (char c : line) escaped = escaped ? false : c == '\\';
  return escaped;
}

}  // namespace

std::string_view strip(std::string_view s) {
  const auto first = s.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kWhitespace) - first + 1);
}

UnitFile parseUnitFile(std::string_view text) {
  UnitFile file;
  std::string section;
  std::string continued;
  bool continuing = false;
  std::size_t lineNo = 0;
  while (!text.empty()) {
    // systemd's read_line() ends a line at `\n`, `\r`, `\r\n` or NUL.
    const auto eol = text.find_first_of(std::string_view("\n\r\0", 3));
    std::string_view raw = text.substr(0, eol);
    if (eol == std::string_view::npos)
      text = {};
    else
      text = text.substr(text.substr(eol, 2) == "\r\n" ? eol + 2 : eol + 1);
    ++lineNo;
    const auto lead = strip(raw);
    if (!lead.empty() && (lead.front() == '#' || lead.front() == ';')) continue;  // also inside a continuation
    std::string line = continuing ? continued + std::string(raw) : std::string(raw);
    if (endsEscaped(line)) {
      line.back() = ' ';
      continued = std::move(line);
      continuing = true;
      continue;
    }
    continuing = false;
    const auto l = strip(line);
    if (l.empty()) continue;
    if (l.front() == '[') {
      if (l.back() != ']' || l.size() < 3) {
        file.error = "line " + std::to_string(lineNo) + ": malformed section header: " + std::string(l);
        return file;
      }
      section = std::string(l.substr(1, l.size() - 2));
      continue;
    }
    const auto eq = l.find('=');
    if (eq == std::string_view::npos) {
      file.error = "line " + std::to_string(lineNo) + ": no '=': " + std::string(l);
      return file;
    }
    if (section.empty()) {
      file.error = "line " + std::to_string(lineNo) + ": a directive outside any section: " + std::string(l);
      return file;
    }
    file.directives.push_back({section, std::string(strip(l.substr(0, eq))), std::string(strip(l.substr(eq + 1)))});
  }
  if (continuing) file.error = "the last line ends in a backslash";
  return file;
}

std::optional<std::vector<std::string>> splitWords(std::string_view value) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (true) {
    while (i < value.size() && kWhitespace.find(value[i]) != std::string_view::npos) ++i;
    if (i == value.size()) return words;
    std::string word;
    char quote = 0;
    for (; i < value.size(); ++i) {
      const char c = value[i];
      if (c == '\\') {
        if (++i == value.size()) return std::nullopt;
        const char e = value[i];
        if (e != '\\' && e != '"' && e != '\'') return std::nullopt;
        word += e;
      } else if (quote != 0) {
        if (c == quote)
          quote = 0;
        else
          word += c;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (kWhitespace.find(c) != std::string_view::npos) {
        break;
      } else {
        word += c;
      }
    }
    if (quote != 0) return std::nullopt;
    words.push_back(std::move(word));
  }
}

std::optional<std::string> unescape(std::string_view text, bool dollars) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' || (dollars && c == '$')) {
      if (i + 1 == text.size() || text[i + 1] != c) return std::nullopt;
      ++i;
    }
    out += c;
  }
  return out;
}

}  // namespace tcs::fuzz
