// SPDX-License-Identifier: MIT
// The service-key table and its validators (one function per key). Messages are part of the
// interface: config_test pins them byte for byte.
#include "service_keys.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <iterator>
#include <optional>
#include <regex>

#include "enums.hpp"
#include "scalars.hpp"
#include "tcs/unit_name.hpp"

namespace tcs::config {
namespace {

using Kind = Value::Kind;

// Seconds above a year are surely a mistake, and would overflow systemd's usec fields.
constexpr double kMaxSeconds = 365.0 * 24 * 3600;

std::optional<double> number(KeyContext& c, const Value& v, double min, bool allowMin, std::string_view what,
                             double max = kMaxSeconds) {
  std::optional<double> d;
  if (v.kind() == Kind::Int) d = static_cast<double>(v.intValue());
  if (v.kind() == Kind::Double) d = v.doubleValue();
  if (v.kind() == Kind::String) d = pythonFloat(v.stringValue());  // upstream: float(value)
  if (!d || !std::isfinite(*d) || *d < min || (!allowMin && *d == min) || *d > max) {
    c.diagnostics.error(v, fmt::format("invalid value {} (expected {})", v.describe(), what));
    return std::nullopt;
  }
  return d;
}

std::optional<std::string> unitString(KeyContext& c, const Value& v, std::string_view what) {
  std::string s;
  switch (v.kind()) {
    case Kind::String: s = v.stringValue(); break;
    case Kind::Int:
    case Kind::Double: s = v.describe(); break;
    case Kind::Bool: s = v.boolValue() ? "true" : "false"; break;
    default:
      c.diagnostics.error(v, fmt::format("expected {}, got {}", what, Value::kindName(v.kind())));
      return std::nullopt;
  }
  if (hasControlChars(s)) {
    c.diagnostics.error(
        v,
        fmt::format("value {} contains a newline or control character, which may not reach a unit file", v.describe()));
    return std::nullopt;
  }
  return s;
}

std::vector<std::string> serviceIds(KeyContext& c, const Value& v) {
  std::vector<Value> items = v.kind() == Kind::Sequence ? v.items() : std::vector<Value>{v};
  std::vector<std::string> ids;
  for (const auto& item : items) {
    if (item.kind() != Kind::String || !unit_name::parseServiceId(item.stringValue())) {
      c.diagnostics.error(item, fmt::format("expected a service id '<type>.<variant>' of a configured service, got {}",
                                            item.describe()));
      continue;
    }
    ids.push_back(item.stringValue());
    c.references.push_back({c.index, item.stringValue(), item.mark(), item.path()});
  }
  return ids;
}

void restart(KeyContext& c, const Value& v, ServiceConfig& s) {
  if (v.kind() == Kind::Bool && !v.boolValue()) {
    s.restart = RestartPolicy::No;  // unquoted YAML `no`
    return;
  }
  const std::string word = v.kind() == Kind::String ? v.stringValue() : "";
  if (auto policy = parseRestartPolicy(word))
    s.restart = *policy;
  else
    c.diagnostics.error(
        v, fmt::format("invalid value {} (expected one of: \"no\", on-failure, on-abnormal, always)", v.describe()));
}

void restartSec(KeyContext& c, const Value& v, ServiceConfig& s) {
  if (auto d = number(c, v, 0, true, "seconds from 0 to 31536000")) s.restartSec = *d;
}

void restartMax(KeyContext& c, const Value& v, ServiceConfig& s) {
  std::optional<std::int64_t> i;
  if (v.kind() == Kind::Int) i = v.intValue();
  if (v.kind() == Kind::String) i = pythonInt(v.stringValue());
  if (v.kind() == Kind::Double && v.doubleValue() == std::trunc(v.doubleValue()))
    i = static_cast<std::int64_t>(v.doubleValue());
  if (!i || *i < 0 || *i > 1000000)
    c.diagnostics.error(
        v, fmt::format("invalid value {} (expected a whole number of restarts >= 0; 0 = unlimited)", v.describe()));
  else
    s.restartMax = static_cast<int>(*i);
}

void restartWindow(KeyContext& c, const Value& v, ServiceConfig& s) {
  if (auto d = number(c, v, 0, false, "seconds > 0, at most 31536000")) s.restartWindow = *d;
}

void logLevel(KeyContext& c, const Value& v, ServiceConfig& s) {
  auto level = v.kind() == Kind::String ? parseLogLevel(v.stringValue()) : std::nullopt;
  if (!level)
    c.diagnostics.error(
        v, fmt::format("invalid value {} (expected DEBUG, INFO, WARNING, ERROR or CRITICAL)", v.describe()));
  else
    s.logLevel = *level;
}

void enabled(KeyContext& c, const Value& v, ServiceConfig& s) {
  if (v.kind() != Kind::Bool)
    c.diagnostics.error(v, fmt::format("expected true or false (unquoted), got {}", v.describe()));
  else
    s.enabled = v.boolValue();
}

void watchdogSec(KeyContext& c, const Value& v, ServiceConfig& s) {
  if (auto d = number(c, v, 0, true, "seconds from 0 to 31536000; 0 disables the watchdog")) s.watchdogSec = *d;
}

void after(KeyContext& c, const Value& v, ServiceConfig& s) {
  s.after = serviceIds(c, v);
}

void requires_(KeyContext& c, const Value& v, ServiceConfig& s) {
  s.requires_ = serviceIds(c, v);
}

void environment(KeyContext& c, const Value& v, ServiceConfig& s) {
  if (v.kind() != Kind::Mapping) {
    c.diagnostics.error(v, fmt::format("expected a mapping NAME: value, got {}", Value::kindName(v.kind())));
    return;
  }
  static const std::regex name{R"([A-Za-z_][A-Za-z0-9_]*)"};
  for (const auto& [key, value] : v.entries()) {
    if (!std::regex_match(key, name)) {
      c.diagnostics.error(value,
                          fmt::format("invalid environment variable name '{}' (expected [A-Za-z_][A-Za-z0-9_]*)", key));
      continue;
    }
    if (key.starts_with("TCS_")) {
      c.diagnostics.error(value, fmt::format("'{}' is reserved: TCS_* variables are set by tcs-unitgen", key));
      continue;
    }
    if (value.isNull()) {
      s.environment.emplace_back(key, "");
      continue;
    }
    if (auto str = unitString(c, value, "a scalar value")) s.environment.emplace_back(key, *str);
  }
}

void user(KeyContext& c, const Value& v, ServiceConfig& s) {
  static const std::regex re{R"([a-z_][a-z0-9_-]{0,31})"};
  if (v.kind() != Kind::String || !std::regex_match(v.stringValue(), re))
    c.diagnostics.error(v, fmt::format("invalid user name {} (expected [a-z_][a-z0-9_-]{{0,31}})", v.describe()));
  else
    s.user = v.stringValue();
}

void memoryMax(KeyContext& c, const Value& v, ServiceConfig& s) {
  // systemd: whole bytes, or a fraction with a K/M/G/T suffix, or a percentage with at most
  // two decimals; anything else it silently reads differently or ignores.
  static const std::regex re{R"([0-9]+|[0-9]+(\.[0-9]+)?[KMGT]|[0-9]+(\.[0-9]{1,2})?%|infinity)"};
  auto str = unitString(c, v, "a size such as 512M");
  if (!str) return;
  if (!std::regex_match(*str, re))
    c.diagnostics.error(v, fmt::format("invalid value {} (expected whole bytes, a size with a K/M/G/T suffix such as "
                                       "1.5G, a percentage with at most two decimals, or infinity)",
                                       v.describe()));
  else
    s.memoryMax = *str;
}

void cpuQuota(KeyContext& c, const Value& v, ServiceConfig& s) {
  static const std::regex re{R"([0-9]+(\.[0-9]{1,2})?%)"};  // systemd takes two decimals at most
  if (v.kind() == Kind::Int || v.kind() == Kind::Double) {
    auto d = number(c, v, 0, false, "a percentage > 0 such as 50%", 1e6);
    if (d && std::abs(*d * 100 - std::round(*d * 100)) > 1e-6)
      c.diagnostics.error(v, fmt::format("invalid value {} (at most two decimals, such as 33.33)", v.describe()));
    else if (d)
      s.cpuQuota = fmt::format("{}%", *d);
    return;
  }
  auto str = unitString(c, v, "a percentage such as 50%");
  if (!str) return;
  if (!std::regex_match(*str, re) || pythonFloat(str->substr(0, str->size() - 1)).value_or(0) <= 0)
    c.diagnostics.error(v, fmt::format("invalid value {} (expected a percentage > 0 with at most two decimals, such "
                                       "as 50% or 150%)",
                                       v.describe()));
  else
    s.cpuQuota = *str;
}

// A whole number in [min, max]: a YAML integer, or a string or float that is one.
std::optional<std::int64_t> wholeNumber(const Value& v, std::int64_t min, std::int64_t max) {
  std::optional<std::int64_t> i;
  if (v.kind() == Kind::Int) i = v.intValue();
  if (v.kind() == Kind::String) i = pythonInt(v.stringValue());
  if (v.kind() == Kind::Double && v.doubleValue() == std::trunc(v.doubleValue()) && std::abs(v.doubleValue()) < 1e15)
    i = static_cast<std::int64_t>(v.doubleValue());
  if (!i || *i < min || *i > max) return std::nullopt;
  return i;
}

void tasksMax(KeyContext& c, const Value& v, ServiceConfig& s) {
  // systemd 252: a count >= 1, a percentage of the system's limit (at most two decimals, up to
  // 100%), or infinity; 0 and anything else it refuses ("Invalid maximum tasks value").
  constexpr std::int64_t kMaxTasks = 4194304;  // the kernel's largest pid_max
  static const std::regex percent{R"([0-9]+(\.[0-9]{1,2})?%)"};
  if (v.kind() == Kind::String && (v.stringValue() == "infinity" || std::regex_match(v.stringValue(), percent))) {
    const std::string& str = v.stringValue();
    const double p = str == "infinity" ? 1 : pythonFloat(str.substr(0, str.size() - 1)).value_or(0);
    if (p > 0 && p <= 100) {
      s.tasksMax = str;
      return;
    }
  } else if (auto n = wholeNumber(v, 1, kMaxTasks)) {
    s.tasksMax = std::to_string(*n);
    return;
  }
  c.diagnostics.error(v, fmt::format("invalid value {} (expected a number of tasks from 1 to {}, a percentage > 0 and "
                                     "<= 100% with at most two decimals, or infinity)",
                                     v.describe(), kMaxTasks));
}

void nice(KeyContext& c, const Value& v, ServiceConfig& s) {
  if (auto n = wholeNumber(v, -20, 19))
    s.nice = static_cast<int>(*n);
  else
    c.diagnostics.error(v, fmt::format("invalid value {} (expected a whole number from -20 to 19)", v.describe()));
}

void ioWeight(KeyContext& c, const Value& v, ServiceConfig& s) {
  if (auto n = wholeNumber(v, 1, 10000))
    s.ioWeight = static_cast<int>(*n);
  else
    c.diagnostics.error(v, fmt::format("invalid value {} (expected a whole number from 1 to 10000)", v.describe()));
}

void description(KeyContext& c, const Value& v, ServiceConfig& s) {
  auto str = unitString(c, v, "a string");
  if (str && str->ends_with('\\'))  // systemd would join the next line to Description=
    c.diagnostics.error(v, fmt::format("description {} may not end with a backslash", v.describe()));
  else if (str)
    s.description = *str;
}

// A service's own NATS credentials: the top-level connection with them in place of its own.
void nats(KeyContext& c, const Value& v, ServiceConfig& s) {
  static constexpr std::string_view kCredentials[] = {"user", "password_file", "token_file", "creds_file",
                                                      "nkey_seed_file"};
  static constexpr std::string_view kConnection[] = {"host",           "port",           "servers", "required",
                                                     "subject_prefix", "config_subject", "tls",     "stream_replicas"};
  if (v.kind() != Kind::Mapping) {
    c.diagnostics.error(v, fmt::format("expected a mapping of credentials ({}), got {}", fmt::join(kCredentials, ", "),
                                       Value::kindName(v.kind())));
    return;
  }
  if (!c.nats.present) {
    c.diagnostics.error(v, "a service's own nats: credentials need the top-level nats: section (the connection)");
    return;
  }
  NatsConfig own = c.nats;
  own.user.reset();
  own.password.reset();
  own.passwordFile.reset();
  own.token.reset();
  own.tokenFile.reset();
  own.credsFile.reset();
  own.nkeySeedFile.reset();
  bool ok = true;
  for (const auto& [key, value] : v.entries()) {
    const auto is = [&](const auto& list) {
      return std::find(std::begin(list), std::end(list), key) != std::end(list);
    };
    if (is(kCredentials)) {
      if (value.isNull()) continue;
      if (value.kind() != Kind::String || value.stringValue().empty()) {
        c.diagnostics.error(value, fmt::format("expected a non-empty string, got {}", value.describe()));
        ok = false;
        continue;
      }
      if (key == "user") {
        own.user = value.stringValue();
        continue;
      }
      // unitgen writes the file into a LoadCredential= line, which ends at a newline and loses
      // trailing whitespace.
      if (hasControlChars(value.stringValue()) ||
          std::isspace(static_cast<unsigned char>(value.stringValue().back()))) {
        c.diagnostics.error(value, fmt::format("path {} {}", value.describe(),
                                               hasControlChars(value.stringValue()) ? "contains a control character"
                                                                                    : "ends in whitespace"));
        ok = false;
        continue;
      }
      std::filesystem::path path{value.stringValue()};
      if (path.is_relative()) path = c.file.parent_path() / path;
      path = path.lexically_normal();
      if (key == "password_file") own.passwordFile = path;
      if (key == "token_file") own.tokenFile = path;
      if (key == "creds_file") own.credsFile = path;
      if (key == "nkey_seed_file") own.nkeySeedFile = path;
    } else if (key == "password" || key == "token") {
      c.diagnostics.error(value, fmt::format("give {0}_file instead: services.yaml is readable by every user, a "
                                             "secret does not belong in it",
                                             key));
      ok = false;
    } else if (is(kConnection)) {
      c.diagnostics.error(value, fmt::format("'{}' cannot be set per service: a service's nats: holds only its "
                                             "credentials ({}); the connection is the top-level nats: section's",
                                             key, fmt::join(kCredentials, ", ")));
      ok = false;
    } else {
      c.diagnostics.error(
          value, fmt::format("unknown key '{}' (a service's nats: takes {})", key, fmt::join(kCredentials, ", ")));
      ok = false;
    }
  }
  if (own.passwordFile && !own.user) {
    c.diagnostics.error(v, "password_file needs a user");
    ok = false;
  }
  if (ok && !own.user && !own.tokenFile && !own.credsFile && !own.nkeySeedFile) {
    c.diagnostics.error(v, fmt::format("no credentials: give {} (or leave nats: out to use the top-level "
                                       "section's)",
                                       fmt::join(kCredentials, ", ")));
    ok = false;
  }
  if (ok) s.nats = std::move(own);
}

void obsoleteModule(KeyContext& c, const Value& v, ServiceConfig&) {
  c.diagnostics.warn(v.mark(), v.path(),
                     "'module' is ignored since upstream 1.0; map the type to an executable under 'registry:'");
}

using enum KeyScope;

// name, type, default, meaning (doc/config.md's row, verbatim), scope, validator.
const ServiceKey kServiceKeys[] = {
    {{"type", "service type", "required", "dot-separated tokens (`examples.minimal`)"}, Identity, nullptr},
    {{"variant", "token", "`dev`",
      "instance name, no dots. Legacy synonym `instance_context` (0.x); when both are set, `variant` wins "
      "(warning)."},
     Identity,
     nullptr},
    {{"instance_context", "token", "—", "legacy synonym of `variant` (upstream 0.x)"}, Identity, nullptr},
    {{"restart", "restart policy", "`\"no\"`",
      "`Restart=`: `no`, `on-failure`, `on-abnormal`, `always`. An unquoted YAML `no`/`false` also means no."},
     Merged,
     restart},
    {{"restart_sec", "seconds", "5", "`RestartSec=` (fractions allowed: 2.5 → `2500ms`)"}, Merged, restartSec},
    {{"restart_max", "integer", "0",
      "restarts allowed within `restart_window`; 0 = unlimited. → `StartLimitBurst=restart_max+1` (see "
      "[units.md](units.md))"},
     Merged,
     restartMax},
    {{"restart_window", "seconds", "60", "seconds → `StartLimitIntervalSec=`"}, Merged, restartWindow},
    {{"log_level", "log level", "`INFO`",
      "`DEBUG`/`INFO`/`WARNING`/`ERROR`/`CRITICAL` (case-insensitive, `WARN` accepted) → `TCS_LOG_LEVEL=`; "
      "honoured (upstream ignores it)"},
     Merged,
     logLevel},
    {{"enabled", "boolean", "true",
      "tcs: false = drop-in written but the service is not wanted by `tcs.target` (start it by hand)"},
     Merged,
     enabled},
    {{"watchdog_sec", "seconds", "30",
      "tcs: `WatchdogSec=`; 0 disables the watchdog. Services with long legitimate blocking work raise it."},
     Merged,
     watchdogSec},
    {{"after", "service ids", "—", "tcs: service id or list of ids of other configured services → `After=`"},
     Merged,
     after},
    {{"requires", "service ids", "—",
      "tcs: service id or list of ids of other configured services → `Requires=` (requires implies after)"},
     Merged,
     requires_},
    {{"environment", "mapping", "—",
      "tcs: mapping `NAME: value` → `Environment=`; names `[A-Za-z_][A-Za-z0-9_]*`, `TCS_*` reserved"},
     Merged,
     environment},
    {{"user", "user name", "`tcs`", "tcs: `User=` (and `Group=` reset to that user's primary group)"}, Merged, user},
    {{"memory_max", "size", "—", "tcs: `MemoryMax=` (`512M`, `2G`, `50%`, `infinity`)"}, Merged, memoryMax},
    {{"cpu_quota", "percentage", "—", "tcs: `CPUQuota=` (`50%`, or a number meaning percent)"}, Merged, cpuQuota},
    {{"tasks_max", "count", "—",
      "tcs: `TasksMax=`: processes and threads (`64`), a percentage of the system's limit (`10%`), or `infinity`"},
     Merged,
     tasksMax},
    {{"nice", "integer", "—", "tcs: `Nice=`, -20 (highest priority) to 19"}, Merged, nice},
    {{"io_weight", "integer", "—", "tcs: `IOWeight=`, 1 to 10000 (systemd's default 100)"}, Merged, ioWeight},
    {{"description", "string", "`tcs service <id>`", "tcs: `Description=`"}, Merged, description},
    {{"nats", "mapping", "—",
      "tcs: this service's own NATS credentials (`user` + `password_file`, `token_file`, `creds_file` or "
      "`nkey_seed_file`), used instead of the top-level `nats:` section's; the connection stays the top-level "
      "section's ([security.md](security.md#nats-permissions-per-role))"},
     Entry,
     nats},
    {{"module", "any", "—", "obsolete since upstream 1.0; ignored with a warning"}, Entry, obsoleteModule},
    {{"stop_timeout", "seconds", "20",
      "tcs, runtime: seconds the runtime gives `stop()`/`run()` to end before it gives up (exit 1); 0 < s ≤ 3600"},
     Runtime,
     nullptr},
    {{"heartbeat_interval", "seconds", "10",
      "tcs, runtime: seconds between NATS heartbeats ([monitoring.md](monitoring.md)); 0.05 ≤ s ≤ 3600"},
     Runtime,
     nullptr},
    {{"healthcheck_interval", "seconds", "30", "tcs, runtime: seconds between health-check runs; 0.05 ≤ s ≤ 3600"},
     Runtime,
     nullptr},
};

std::vector<std::string_view> suggestedNames() {
  std::vector<std::string_view> out;
  for (const auto& k : kServiceKeys)
    if (k.scope != Runtime) out.push_back(k.info.name);
  return out;
}

}  // namespace

std::span<const ServiceKey> serviceKeyTable() noexcept {
  return kServiceKeys;
}

std::span<const std::string_view> suggestedServiceKeys() noexcept {
  static const std::vector<std::string_view> names = suggestedNames();
  return names;
}

bool isIdentityKey(std::string_view key) noexcept {
  for (const auto& k : kServiceKeys)
    if (k.info.name == key) return k.scope == Identity;
  return false;
}

const std::vector<ServiceKeyInfo>& serviceKeys() {
  static const std::vector<ServiceKeyInfo> infos = [] {
    std::vector<ServiceKeyInfo> out;
    for (const auto& k : kServiceKeys) out.push_back(k.info);
    return out;
  }();
  return infos;
}

}  // namespace tcs::config
