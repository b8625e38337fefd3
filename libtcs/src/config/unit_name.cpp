// SPDX-License-Identifier: MIT
#include "tcs/unit_name.hpp"

#include <unistd.h>

#include <algorithm>
#include <climits>

namespace tcs::unit_name {
namespace {

bool isTokenChar(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

bool isValidToken(std::string_view token) noexcept {
  return !token.empty() && token.size() <= kMaxTokenLength && std::all_of(token.begin(), token.end(), isTokenChar);
}

bool isValidType(std::string_view type) noexcept {
  while (true) {
    const auto dot = type.find('.');
    if (!isValidToken(type.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    type.remove_prefix(dot + 1);
  }
}

std::string serviceId(std::string_view type, std::string_view variant) {
  std::string id{type};
  id += '.';
  id += variant;
  return id;
}

std::string instance(std::string_view type, std::string_view variant) {
  std::string s{type};
  s += ':';
  s += variant;
  return s;
}

std::string unitName(std::string_view type, std::string_view variant) {
  std::string s{kTemplatePrefix};
  s += instance(type, variant);
  s += kUnitSuffix;
  return s;
}

std::optional<Parsed> parseUnitName(std::string_view unit) {
  if (unit.size() > kMaxUnitNameLength || !unit.starts_with(kTemplatePrefix) || !unit.ends_with(kUnitSuffix))
    return std::nullopt;
  unit.remove_prefix(kTemplatePrefix.size());
  unit.remove_suffix(kUnitSuffix.size());
  const auto colon = unit.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  Parsed p{std::string{unit.substr(0, colon)}, std::string{unit.substr(colon + 1)}};
  if (!isValidType(p.type) || !isValidToken(p.variant)) return std::nullopt;
  return p;
}

std::optional<Parsed> parseServiceId(std::string_view id) {
  const auto dot = id.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  Parsed p{std::string{id.substr(0, dot)}, std::string{id.substr(dot + 1)}};
  if (!isValidType(p.type) || !isValidToken(p.variant)) return std::nullopt;
  return p;
}

std::string launcherId(std::string_view shortHostname) {
  std::string id{shortHostname.substr(0, shortHostname.find('.'))};
  id += kLauncherSuffix;
  return id;
}

std::string hostName() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

}  // namespace tcs::unit_name
