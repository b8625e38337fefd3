// SPDX-License-Identifier: MIT
#include "systemd_manager.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <type_traits>

namespace tcs::supervisor {

SystemdError::SystemdError(std::string name, std::string message, const std::string& context)
    : std::runtime_error(context + ": " + name + ": " + message),
      name_(std::move(name)),
      message_(std::move(message)) {}

bool ExitStatusSet::contains(std::int32_t code, std::int32_t status) const noexcept {
  // systemd's exit_status_set_test().
  const auto in = [status](const std::vector<std::int32_t>& v) {
    return std::find(v.begin(), v.end(), status) != v.end();
  };
  if (code == kCldExited) return in(statuses);
  if (code == kCldKilled || code == kCldDumped) return in(signals);
  return false;
}

namespace {

// Setting a field from a PropertyValue of a compatible type; anything else is ignored.
bool assign(std::string& field, const PropertyValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    field = *s;
    return true;
  }
  return false;
}

template <typename Int>
bool assignInt(Int& field, const PropertyValue& value) {
  if (const auto* u = std::get_if<std::uint64_t>(&value)) {
    if (*u > static_cast<std::uint64_t>(std::numeric_limits<Int>::max())) return false;
    field = static_cast<Int>(*u);
    return true;
  }
  if (const auto* i = std::get_if<std::int64_t>(&value)) {
    if constexpr (std::is_unsigned_v<Int>) {
      if (*i < 0 || static_cast<std::uint64_t>(*i) > std::numeric_limits<Int>::max()) return false;
    } else {
      if (*i < std::numeric_limits<Int>::min() || *i > std::numeric_limits<Int>::max()) return false;
    }
    field = static_cast<Int>(*i);
    return true;
  }
  return false;
}

bool assign(std::optional<ExitStatusSet>& field, const PropertyValue& value) {
  if (const auto* set = std::get_if<ExitStatusSet>(&value)) {
    field = *set;
    return true;
  }
  return false;
}

bool assign(std::uint64_t& field, const PropertyValue& value) {
  return assignInt(field, value);
}
bool assign(std::uint32_t& field, const PropertyValue& value) {
  return assignInt(field, value);
}
bool assign(std::int32_t& field, const PropertyValue& value) {
  return assignInt(field, value);
}

using Setter = bool (*)(UnitSnapshot&, const PropertyValue&);

struct Field {
  std::string_view interface;
  std::string_view name;
  Setter set;
};

#define TCS_FIELD(iface, name, member)                                                       \
  Field {                                                                                    \
    iface, name, [](UnitSnapshot& s, const PropertyValue& v) { return assign(s.member, v); } \
  }

// clang-format off
const std::array kFields{
    TCS_FIELD(kUnitInterface, "Id", id),
    TCS_FIELD(kUnitInterface, "LoadState", loadState),
    TCS_FIELD(kUnitInterface, "ActiveState", activeState),
    TCS_FIELD(kUnitInterface, "SubState", subState),
    TCS_FIELD(kUnitInterface, "ActiveEnterTimestamp", activeEnterTimestamp),
    TCS_FIELD(kUnitInterface, "ActiveExitTimestamp", activeExitTimestamp),
    TCS_FIELD(kUnitInterface, "InactiveEnterTimestamp", inactiveEnterTimestamp),
    TCS_FIELD(kUnitInterface, "InactiveExitTimestamp", inactiveExitTimestamp),
    TCS_FIELD(kUnitInterface, "StateChangeTimestamp", stateChangeTimestamp),
    TCS_FIELD(kUnitInterface, "JobId", jobId),
    TCS_FIELD(kUnitInterface, "JobPath", jobPath),
    TCS_FIELD(kServiceInterface, "Type", type),
    TCS_FIELD(kServiceInterface, "Restart", restart),
    TCS_FIELD(kServiceInterface, "Result", result),
    TCS_FIELD(kServiceInterface, "NRestarts", nRestarts),
    TCS_FIELD(kServiceInterface, "MainPID", mainPid),
    TCS_FIELD(kServiceInterface, "ExecMainPID", execMainPid),
    TCS_FIELD(kServiceInterface, "ExecMainCode", execMainCode),
    TCS_FIELD(kServiceInterface, "ExecMainStatus", execMainStatus),
    TCS_FIELD(kServiceInterface, "ExecMainStartTimestamp", execMainStartTimestamp),
    TCS_FIELD(kServiceInterface, "ExecMainExitTimestamp", execMainExitTimestamp),
    TCS_FIELD(kServiceInterface, "StatusText", statusText),
    TCS_FIELD(kServiceInterface, "RestartPreventExitStatus", restartPreventExitStatus),
};
// clang-format on
#undef TCS_FIELD

}  // namespace

std::size_t UnitSnapshot::apply(const PropertyChange& change) {
  std::size_t n = 0;
  for (const auto& [name, value] : change.changed) {
    for (const auto& field : kFields) {
      if (field.name == name) {
        if (field.set(*this, value)) ++n;
        break;
      }
    }
  }
  return n;
}

int UnitSnapshot::exitCode() const noexcept {
  if (execMainCode == kCldKilled || execMainCode == kCldDumped) return -execMainStatus;
  return execMainStatus;
}

const std::vector<std::string>& UnitSnapshot::propertyNames(std::string_view interface) {
  static const auto collect = [](std::string_view iface) {
    std::vector<std::string> names;
    for (const auto& field : kFields)
      if (field.interface == iface) names.emplace_back(field.name);
    return names;
  };
  static const std::vector<std::string> unit = collect(kUnitInterface);
  static const std::vector<std::string> service = collect(kServiceInterface);
  static const std::vector<std::string> none;
  if (interface == kUnitInterface) return unit;
  if (interface == kServiceInterface) return service;
  return none;
}

}  // namespace tcs::supervisor
