// SPDX-License-Identifier: MIT
// Internal to the config module: the `nats:` and `registry:` sections.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "diagnostics.hpp"
#include "tcs/config.hpp"

namespace tcs::config {

/** Reads `nats:` (@p section may be absent) over `$NATS_HOST`/`$NATS_PORT`; paths resolve beside @p file. */
void readNats(const Value* section, NatsConfig& nats, Diagnostics& diagnostics, const Environment& environment,
              const std::filesystem::path& file);

/** type → executable; nullopt marks a type whose registry entry is unusable (its services are dropped). */
using Registry = std::map<std::string, std::optional<std::filesystem::path>, std::less<>>;
/** Reads `registry:` (@p section may be absent); relative paths resolve beside @p file. */
Registry readRegistry(const Value* section, Diagnostics& diagnostics, const std::filesystem::path& file);

}  // namespace tcs::config
