// SPDX-License-Identifier: MIT
#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "json_io.hpp"

namespace tcs::protocol {
namespace {

constexpr std::string_view kLauncherPrefix = "launcher.";

constexpr std::array<std::string_view, 9> kEventNames{"declared", "start",      "ready",  "stopping", "stop",
                                                      "crashed",  "restarting", "failed", "duplicate"};
constexpr std::array<std::string_view, 9> kCommandNames{"health",  "stats",  "list",         "start", "stop",
                                                        "restart", "reload", "reset-failed", "logs"};
constexpr std::array<std::pair<SubjectKind, std::string_view>, 4> kKindNames{{{SubjectKind::Status, "status"},
                                                                              {SubjectKind::Heartbeat, "heartbeat"},
                                                                              {SubjectKind::Registry, "registry"},
                                                                              {SubjectKind::Rpc, "rpc"}}};

std::string_view kindName(SubjectKind kind) noexcept {
  for (const auto& [k, name] : kKindNames)
    if (k == kind) return name;
  return "status";
}

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> tokens;
  while (true) {
    const auto dot = s.find('.');
    tokens.push_back(s.substr(0, dot));
    if (dot == std::string_view::npos) return tokens;
    s.remove_prefix(dot + 1);
  }
}

std::string join(std::span<const std::string_view> tokens) {
  std::string s;
  for (const auto t : tokens) {
    if (!s.empty()) s += '.';
    s += t;
  }
  return s;
}

std::string quote(std::string_view s) {
  std::string q{"'"};
  q += s.substr(0, 200);
  if (s.size() > 200) q += "…";
  q += '\'';
  return q;
}

void requireName(std::string_view what, std::string_view name) {
  if (!isValidSubjectName(name))
    detail::fail("invalid " + std::string{what} + " " + quote(name) +
                 ": expected dot-separated NATS tokens without spaces, '*' or '>'");
}

std::string join(std::string_view prefix, std::string_view kind, std::string_view rest) {
  requireName("subject prefix", prefix);
  std::string s{prefix};
  s += '.';
  s += kind;
  s += '.';
  s += rest;
  return s;
}

}  // namespace

bool isValidSubjectToken(std::string_view token) noexcept {
  return !token.empty() && std::none_of(token.begin(), token.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f || c == '.' || c == '*' || c == '>';
  });
}

bool isValidSubjectName(std::string_view name) noexcept {
  while (true) {
    const auto dot = name.find('.');
    if (!isValidSubjectToken(name.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    name.remove_prefix(dot + 1);
  }
}

std::string runnerId(std::string_view launcherId, std::string_view type) {
  std::string id{launcherId};
  id += '.';
  id += type;
  return id;
}

std::string launcherName(std::string_view launcherId) {
  std::string name{kLauncherPrefix};
  name += launcherId;
  requireName("launcher id", launcherId);
  return name;
}

std::optional<std::string_view> launcherIdOf(std::string_view name) noexcept {
  if (!name.starts_with(kLauncherPrefix) || name.size() == kLauncherPrefix.size()) return std::nullopt;
  return name.substr(kLauncherPrefix.size());
}

std::string_view toString(RegistryEventType type) noexcept {
  const auto i = static_cast<std::size_t>(type);
  return i < kEventNames.size() ? kEventNames[i] : std::string_view{};
}

std::optional<RegistryEventType> parseRegistryEventType(std::string_view text) noexcept {
  for (std::size_t i = 0; i < kEventNames.size(); ++i)
    if (kEventNames[i] == text) return static_cast<RegistryEventType>(i);
  return std::nullopt;
}

std::string_view toString(RpcCommand command) noexcept {
  const auto i = static_cast<std::size_t>(command);
  return i < kCommandNames.size() ? kCommandNames[i] : std::string_view{};
}

std::optional<RpcCommand> parseRpcCommand(std::string_view text) noexcept {
  for (std::size_t i = 0; i < kCommandNames.size(); ++i)
    if (kCommandNames[i] == text) return static_cast<RpcCommand>(i);
  return std::nullopt;
}

bool takesServiceId(RpcCommand command) noexcept {
  switch (command) {
    case RpcCommand::Start:
    case RpcCommand::Stop:
    case RpcCommand::Restart:
    case RpcCommand::ResetFailed:
    case RpcCommand::Logs: return true;
    case RpcCommand::Health:
    case RpcCommand::Stats:
    case RpcCommand::List:
    case RpcCommand::Reload: return false;
  }
  return false;
}

std::string statusSubject(std::string_view prefix, std::string_view name) {
  requireName("name", name);
  return join(prefix, "status", name);
}

std::string heartbeatSubject(std::string_view prefix, std::string_view name) {
  requireName("name", name);
  return join(prefix, "heartbeat", name);
}

std::string registrySubject(std::string_view prefix, RegistryEventType event, std::string_view serviceId) {
  requireName("service id", serviceId);
  std::string rest{toString(event)};
  rest += '.';
  rest += serviceId;
  return join(prefix, "registry", rest);
}

std::string rpcSubject(std::string_view prefix, std::string_view name, RpcCommand command, std::string_view serviceId) {
  requireName("name", name);
  if (takesServiceId(command) != !serviceId.empty())
    detail::fail("rpc command '" + std::string{toString(command)} +
                 (serviceId.empty() ? "' needs a service id" : "' takes no service id"));
  std::string rest{name};
  rest += '.';
  rest += kRpcVersion;
  rest += '.';
  rest += toString(command);
  if (!serviceId.empty()) {
    requireName("service id", serviceId);
    rest += '.';
    rest += serviceId;
  }
  std::string subject = join(prefix, "rpc", rest);
  // A name with a `v1` token followed by a command token would be split elsewhere.
  const Subject parsed = parseSubject(prefix, subject);
  if (parsed.name != name || parsed.command != toString(command) || parsed.argument != serviceId)
    detail::fail("ambiguous rpc subject " + quote(subject) + ": the name " + quote(name) +
                 " contains a 'v1' token followed by a command");
  return subject;
}

std::string subjectFilter(std::string_view prefix, SubjectKind kind) {
  return join(prefix, kindName(kind), ">");
}

std::string registryFilter(std::string_view prefix, RegistryEventType event) {
  std::string rest{toString(event)};
  rest += ".>";
  return join(prefix, "registry", rest);
}

std::string rpcFilter(std::string_view prefix, std::string_view name) {
  requireName("name", name);
  std::string rest{name};
  rest += '.';
  rest += kRpcVersion;
  rest += ".>";
  return join(prefix, "rpc", rest);
}

Subject parseSubject(std::string_view prefix, std::string_view subject) {
  requireName("subject prefix", prefix);
  const auto fail = [&](std::string_view what) {
    detail::fail("subject " + quote(subject) + ": " + std::string{what});
  };
  if (subject.size() <= prefix.size() || !subject.starts_with(prefix) || subject[prefix.size()] != '.')
    fail("not under prefix " + quote(prefix));
  const auto tokens = split(subject.substr(prefix.size() + 1));
  for (const auto t : tokens)
    if (!isValidSubjectToken(t))
      fail(t.empty() ? "empty token" : "invalid token " + quote(t) + " (spaces, '*' and '>' are not allowed)");

  Subject s;
  const auto kind = std::find_if(kKindNames.begin(), kKindNames.end(), [&](auto& k) { return k.second == tokens[0]; });
  if (kind == kKindNames.end())
    fail("unknown kind " + quote(tokens[0]) + " (expected status, heartbeat, registry or rpc)");
  s.kind = kind->first;
  const std::span<const std::string_view> rest{tokens.begin() + 1, tokens.end()};

  switch (s.kind) {
    case SubjectKind::Status:
    case SubjectKind::Heartbeat:
      if (rest.empty()) fail("no name after the kind");
      s.name = join(rest);
      return s;
    case SubjectKind::Registry:
      if (rest.size() < 2) fail("expected <event>.<service_id> after 'registry'");
      s.event = rest[0];
      s.name = join(rest.subspan(1));
      return s;
    case SubjectKind::Rpc: break;
  }

  // <name>.v1.<command>[.<argument>]: prefer the leftmost split that makes sense.
  std::optional<std::size_t> fallback;
  for (std::size_t i = 1; i + 1 < rest.size(); ++i) {
    if (rest[i] != kRpcVersion) continue;
    if (!fallback) fallback = i;
    const auto command = parseRpcCommand(rest[i + 1]);
    if (command && takesServiceId(*command) == (i + 2 < rest.size())) {
      fallback = i;
      break;
    }
  }
  if (!fallback) fail("expected <name>.v1.<command> after 'rpc'");
  s.name = join(rest.first(*fallback));
  s.command = rest[*fallback + 1];
  s.argument = join(rest.subspan(*fallback + 2));
  return s;
}

}  // namespace tcs::protocol
