// SPDX-License-Identifier: MIT
// `${NAME}` / `${NAME:-default}` expansion exactly like upstream, and the process environment.
#include <cctype>
#include <optional>

#include "tcs/config.hpp"

extern char** environ;

namespace tcs::config {

Environment processEnvironment() {
  Environment env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv{*e};
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string{kv.substr(0, eq)}, std::string{kv.substr(eq + 1)});
  }
  return env;
}

std::string expandEnvironment(std::string_view text, const Environment& env, std::vector<std::string>* unresolved) {
  // Upstream: ${NAME} / ${NAME:-default}; NAME = [A-Za-z_][A-Za-z0-9_]*; the default runs to
  // the first '}'. No escapes. Unset and no default: the placeholder stays verbatim.
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto start = text.find("${", i);
    if (start == std::string_view::npos) break;
    out.append(text.substr(i, start - i));
    std::size_t p = start + 2;
    const std::size_t nameStart = p;
    auto isAlpha = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
    auto isAlnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    if (p < text.size() && isAlpha(text[p])) {
      ++p;
      while (p < text.size() && isAlnum(text[p])) ++p;
    }
    const std::string_view name = text.substr(nameStart, p - nameStart);
    std::optional<std::string_view> fallback;
    bool ok = !name.empty();
    if (ok && text.substr(p, 2) == ":-") {
      const auto close = text.find('}', p + 2);
      if (close == std::string_view::npos) {
        ok = false;
      } else {
        fallback = text.substr(p + 2, close - p - 2);
        p = close;
      }
    }
    if (!ok || p >= text.size() || text[p] != '}') {
      out += "${";  // not a reference: keep the text and continue after "${"
      i = start + 2;
      continue;
    }
    const std::string_view whole = text.substr(start, p + 1 - start);
    if (auto it = env.find(name); it != env.end()) {
      out += it->second;
    } else if (fallback) {
      out += *fallback;
    } else {
      out += whole;
      if (unresolved) unresolved->emplace_back(name);
    }
    i = p + 1;
  }
  if (i < text.size()) out.append(text.substr(i));
  return out;
}

}  // namespace tcs::config
