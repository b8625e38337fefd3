// SPDX-License-Identifier: MIT
// Fuzz harness: services.yaml text → tcs::config::parse(), the loader behind every program
// that reads /etc/tcs/services.yaml (tcs-unitgen at boot as a generator, the supervisor,
// services, tcsctl --config).
//
// Property: parse() returns a LoadResult or throws tcs::ConfigError — no other exception, no
// crash, no leak, no hang — and what it returns is usable: every diagnostic formats, every
// service names itself in all spellings and its settings read back.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "check.hpp"
#include "tcs/config.hpp"
#include "tcs/unit_name.hpp"

namespace {

const tcs::config::LoadOptions& loadOptions() {
  static const tcs::config::LoadOptions options = [] {
    tcs::config::LoadOptions o;
    // A fixed environment: `${HOME}`-style references and per-type overrides
    // (`HELLO_WORLD_GREETING` for type hello_world) take the same path every run.
    o.environment = {{"HOME", "/var/lib/tcs"},
                     {"NATS_HOST", "127.0.0.1"},
                     {"HELLO_WORLD_GREETING", "hi"},
                     {"HELLO_WORLD_INTERVAL", "2.5"}};
    o.builtinServiceDir = "/usr/libexec/tcs";
    return o;
  }();
  return options;
}

void describeAll(const tcs::config::Value& value) {
  (void)value.describe();
  for (const auto& item : value.items()) describeAll(item);
  for (const auto& [key, child] : value.entries()) describeAll(child);
}

// What a service does with its settings: typed reads, which throw ConfigError on a mismatch.
template <class T>
void read(const tcs::config::Settings& settings, std::string_view key) {
  try {
    (void)settings.get<T>(key, T{});
  } catch (const tcs::ConfigError& e) {
    (void)e.what();
  }
}

void readAll(const tcs::config::Settings& settings) {
  describeAll(settings.root());
  for (const auto& [key, value] : settings.root().entries()) {
    read<bool>(settings, key);
    read<int>(settings, key);
    read<std::int64_t>(settings, key);
    read<double>(settings, key);
    read<std::string>(settings, key);
    read<std::vector<std::string>>(settings, key);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  try {
    const auto result = tcs::config::parse(yaml, "/etc/tcs/services.yaml", loadOptions());
    for (const auto& d : result.diagnostics) (void)d.format();
    for (const auto& s : result.config.services()) {
      // A loaded service has a valid name in every spelling.
      const auto parsed = tcs::unit_name::parseUnitName(s.unitName());
      tcs::fuzz::check(parsed && parsed->type == s.type && parsed->variant == s.variant,
                       "a loaded service's unit name parses back to its type and variant", s.unitName());
      tcs::fuzz::check(tcs::unit_name::parseServiceId(s.id()).has_value(), "a loaded service's id parses", s.id());
      (void)s.yamlPath();
      readAll(s.settings);
    }
  } catch (const tcs::ConfigError& e) {
    (void)e.what();
  }
  return 0;
}
