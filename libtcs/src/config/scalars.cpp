// SPDX-License-Identifier: MIT
// Scalar typing like upstream's Python: PyYAML's YAML 1.1 resolver, int() and float().
#include "scalars.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <regex>
#include <set>

namespace tcs::config {
namespace {

std::string stripUnderscores(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != '_') out += c;
  return out;
}

}  // namespace

std::optional<std::int64_t> pythonInt(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  static const std::regex re{R"([-+]?[0-9]+(_[0-9]+)*)"};
  const std::string str{s};
  if (!std::regex_match(str, re)) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const std::string digits = stripUnderscores(str);
  const long long v = std::strtoll(digits.c_str(), &end, 10);
  if (errno == ERANGE || *end != '\0') return std::nullopt;
  return v;
}

std::optional<double> pythonFloat(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  static const std::regex re{R"([-+]?(([0-9]+(_[0-9]+)*)?\.?[0-9]*(_[0-9]+)*([eE][-+]?[0-9]+)?|inf|infinity|nan))",
                             std::regex::icase};
  const std::string str{s};
  if (str.empty() || !std::regex_match(str, re) || str == "." || str == "+." || str == "-.") return std::nullopt;
  const std::string digits = stripUnderscores(str);
  char* end = nullptr;
  const double v = std::strtod(digits.c_str(), &end);
  if (end == digits.c_str() || *end != '\0') return std::nullopt;
  return v;
}

Value convertWholeValue(std::string s, std::string path, Mark mark) {
  if (s.find('.') != std::string::npos) {
    if (auto d = pythonFloat(s)) return Value::real(*d, std::move(path), mark);
  } else if (auto i = pythonInt(s)) {
    return Value::integer(*i, std::move(path), mark);
  }
  return Value::string(std::move(s), std::move(path), mark);
}

Value resolvePlain(const std::string& s, std::string path, Mark mark) {
  static const std::set<std::string, std::less<>> nulls{"", "~", "null", "Null", "NULL"};
  static const std::set<std::string, std::less<>> trues{"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
  static const std::set<std::string, std::less<>> falses{"no",    "No",  "NO",  "false", "False",
                                                         "FALSE", "off", "Off", "OFF"};
  if (s.size() <= 5) {
    if (nulls.count(s)) return Value::null(std::move(path), mark);
    if (trues.count(s)) return Value::boolean(true, std::move(path), mark);
    if (falses.count(s)) return Value::boolean(false, std::move(path), mark);
  }
  // Every int and float form starts with a digit, a sign or a dot; skip the regexes otherwise.
  const char first = s.empty() ? '\0' : s.front();
  if (!std::isdigit(static_cast<unsigned char>(first)) && first != '-' && first != '+' && first != '.')
    return Value::string(s, std::move(path), mark);

  static const std::regex decInt{R"([-+]?(0|[1-9][0-9_]*))"};
  static const std::regex octInt{R"([-+]?0[0-7_]+)"};
  static const std::regex hexInt{R"([-+]?0x[0-9a-fA-F_]+)"};
  static const std::regex binInt{R"([-+]?0b[01_]+)"};
  static const std::regex flt{R"([-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?)"};
  static const std::regex inf{R"([-+]?\.(inf|Inf|INF))"};
  static const std::regex nan{R"(\.(nan|NaN|NAN))"};
  auto parseInt = [&](int base, std::size_t skip) -> std::optional<std::int64_t> {
    std::string digits = stripUnderscores(s);
    bool neg = false;
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
      neg = digits[0] == '-';
      digits.erase(0, 1);
    }
    digits.erase(0, skip);
    if (digits.empty()) return std::nullopt;
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(digits.c_str(), &end, base);
    if (errno == ERANGE || *end != '\0') return std::nullopt;
    return neg ? -v : v;
  };
  std::optional<std::int64_t> i;
  if (std::regex_match(s, decInt))
    i = parseInt(10, 0);
  else if (std::regex_match(s, hexInt))
    i = parseInt(16, 2);
  else if (std::regex_match(s, binInt))
    i = parseInt(2, 2);
  else if (std::regex_match(s, octInt))
    i = parseInt(8, 1);
  if (i) return Value::integer(*i, std::move(path), mark);
  if (std::regex_match(s, flt) && s != "." && s != "-." && s != "+.") {
    if (auto d = pythonFloat(stripUnderscores(s))) return Value::real(*d, std::move(path), mark);
  }
  if (std::regex_match(s, inf)) return Value::real(s[0] == '-' ? -HUGE_VAL : HUGE_VAL, std::move(path), mark);
  if (std::regex_match(s, nan)) return Value::real(std::nan(""), std::move(path), mark);
  return Value::string(s, std::move(path), mark);
}

bool hasControlChars(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

}  // namespace tcs::config
