// SPDX-License-Identifier: MIT
#include "recording.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace tcs::supervisor::recording {

using nlohmann::ordered_json;

namespace {

template <class... F>
struct Overload : F... {
  using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;

ordered_json valueJson(const PropertyValue& v) {
  return std::visit(Overload{
                        [](const ExitStatusSet& x) {
                          ordered_json j;
                          j["statuses"] = x.statuses;
                          j["signals"] = x.signals;
                          return j;
                        },
                        [](const auto& x) { return ordered_json(x); },
                    },
                    v);
}

PropertyValue valueOf(const ordered_json& j) {
  if (j.is_boolean()) return j.get<bool>();
  if (j.is_number_unsigned()) return j.get<std::uint64_t>();
  if (j.is_number_integer()) return j.get<std::int64_t>();
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object())
    return ExitStatusSet{j.at("statuses").get<std::vector<std::int32_t>>(),
                         j.at("signals").get<std::vector<std::int32_t>>()};
  throw std::runtime_error("property value is not a string, boolean, integer or exit status set: " + j.dump());
}

}  // namespace

std::string toJson(const Line& line) {
  ordered_json j;
  std::visit(Overload{
                 [&](const Listed& e) {
                   j["kind"] = "Listed";
                   j["unit"] = e.unit;
                   j["path"] = e.objectPath;
                 },
                 [&](const PropertyChange& e) {
                   j["kind"] = "PropertiesChanged";
                   j["origin"] = e.origin == PropertyChange::Origin::Signal     ? "signal"
                                 : e.origin == PropertyChange::Origin::Snapshot ? "snapshot"
                                                                                : "refresh";
                   j["unit"] = e.unit;
                   j["path"] = e.objectPath;
                   j["interface"] = e.interface;
                   ordered_json changed = ordered_json::object();
                   for (const auto& [name, value] : e.changed) changed[name] = valueJson(value);
                   j["changed"] = std::move(changed);
                   j["invalidated"] = e.invalidated;
                 },
                 [&](const JobRemoved& e) {
                   j["kind"] = "JobRemoved";
                   j["id"] = e.id;
                   j["job"] = e.job;
                   j["unit"] = e.unit;
                   j["result"] = e.result;
                 },
                 [&](const UnitNew& e) {
                   j["kind"] = "UnitNew";
                   j["unit"] = e.signal.unit;
                   j["path"] = e.signal.objectPath;
                 },
                 [&](const UnitRemoved& e) {
                   j["kind"] = "UnitRemoved";
                   j["unit"] = e.signal.unit;
                   j["path"] = e.signal.objectPath;
                 },
                 [&](const Reloading& e) {
                   j["kind"] = "Reloading";
                   j["active"] = e.active;
                 },
                 [&](const Mark& e) {
                   j["kind"] = "Mark";
                   j["text"] = e.text;
                 },
             },
             line.entry);
  j["mono_us"] = line.monoUs;
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

std::vector<Line> parse(std::istream& in) {
  std::vector<Line> lines;
  std::string text;
  for (int number = 1; std::getline(in, text); ++number) {
    if (text.empty() || text[0] == '#') continue;
    try {
      const auto j = ordered_json::parse(text);
      const auto kind = j.at("kind").get<std::string>();
      Line line;
      line.monoUs = j.value("mono_us", std::uint64_t{0});
      if (kind == "Listed") {
        line.entry = Listed{j.at("unit").get<std::string>(), j.at("path").get<std::string>()};
      } else if (kind == "PropertiesChanged") {
        PropertyChange c;
        const auto origin = j.at("origin").get<std::string>();
        if (origin == "signal")
          c.origin = PropertyChange::Origin::Signal;
        else if (origin == "snapshot")
          c.origin = PropertyChange::Origin::Snapshot;
        else if (origin == "refresh")
          c.origin = PropertyChange::Origin::Refresh;
        else
          throw std::runtime_error("unknown origin '" + origin + "'");
        c.unit = j.at("unit").get<std::string>();
        c.objectPath = j.at("path").get<std::string>();
        c.interface = j.at("interface").get<std::string>();
        for (const auto& [name, value] : j.at("changed").items()) c.changed[name] = valueOf(value);
        c.invalidated = j.at("invalidated").get<std::vector<std::string>>();
        line.entry = std::move(c);
      } else if (kind == "JobRemoved") {
        line.entry = JobRemoved{j.at("id").get<std::uint32_t>(), j.at("job").get<std::string>(),
                                j.at("unit").get<std::string>(), j.at("result").get<std::string>()};
      } else if (kind == "UnitNew") {
        line.entry = UnitNew{{j.at("unit").get<std::string>(), j.at("path").get<std::string>()}};
      } else if (kind == "UnitRemoved") {
        line.entry = UnitRemoved{{j.at("unit").get<std::string>(), j.at("path").get<std::string>()}};
      } else if (kind == "Reloading") {
        line.entry = Reloading{j.at("active").get<bool>()};
      } else if (kind == "Mark") {
        line.entry = Mark{j.at("text").get<std::string>()};
      } else {
        throw std::runtime_error("unknown kind '" + kind + "'");
      }
      lines.push_back(std::move(line));
    } catch (const std::exception& e) {
      throw std::runtime_error("recording line " + std::to_string(number) + ": " + e.what());
    }
  }
  return lines;
}

}  // namespace tcs::supervisor::recording
