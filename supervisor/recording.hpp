// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <variant>
#include <vector>

#include "systemd_manager.hpp"

/**
 * @file
 * Recordings of what systemd sent: one JSON object per line, written by `tcs-dbus-record` and
 * replayed by the tests through UnitTracker. Format (keys in this order):
 *
 *     {"kind":"Listed","unit":U,"path":P}                       (unit found at start)
 *     {"kind":"PropertiesChanged","origin":"signal"|"snapshot","unit":U,"path":P,
 *      "interface":I,"changed":{NAME:VALUE…},"invalidated":[NAME…]}
 *     {"kind":"JobRemoved","id":N,"job":P,"unit":U,"result":R}
 *     {"kind":"UnitNew","unit":U,"path":P}    {"kind":"UnitRemoved","unit":U,"path":P}
 *     {"kind":"Reloading","active":B}         {"kind":"Mark","text":T}   (a note of the recorder)
 *
 * every line also has `"mono_us"`: CLOCK_MONOTONIC µs when the recorder got it. Property values
 * are JSON strings, booleans or integers (negative ones read back as std::int64_t, others as
 * std::uint64_t); UnitSnapshot::apply() accepts either. An exit status set (`(aiai)`,
 * RestartPreventExitStatus) is `{"statuses":[…],"signals":[…]}`; recordings made before the
 * recorder read it do not have it (the tracker then falls back to the template's setting).
 */
namespace tcs::supervisor::recording {

struct Listed {
  std::string unit;
  std::string objectPath;
};
struct UnitNew {
  UnitSignal signal;
};
struct UnitRemoved {
  UnitSignal signal;
};
struct Reloading {
  bool active = false;
};
struct Mark {
  std::string text;
};

using Entry = std::variant<Listed, PropertyChange, JobRemoved, UnitNew, UnitRemoved, Reloading, Mark>;

struct Line {
  std::uint64_t monoUs = 0;
  Entry entry;
};

/** @return one compact JSON line (no newline) */
std::string toJson(const Line& line);

/**
 * @brief Reads a recording; empty lines and lines starting with `#` are skipped.
 * @throws std::runtime_error naming the line number of a malformed line
 */
std::vector<Line> parse(std::istream& in);

}  // namespace tcs::supervisor::recording
