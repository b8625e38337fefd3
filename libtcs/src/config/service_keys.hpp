// SPDX-License-Identifier: MIT
// Internal to the config module: THE table of service-entry keys. One row per key drives the
// "did you mean" warnings, the validation (in table order) and config_test's check of
// doc/config.md ("Service entry"), whose rows are the public half (ServiceKeyInfo) verbatim.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "diagnostics.hpp"
#include "tcs/config.hpp"

namespace tcs::config {

/** Where the loader reads a key and who checks it. */
enum class KeyScope {
  Identity,  ///< `type`, `variant`, `instance_context`: the entry only, never a global; read by the loader itself
  Merged,    ///< the entry over the top-level globals; checked by the row's validator
  Entry,     ///< the entry only; checked by the row's validator (`module`)
  Runtime,   ///< a plain setting the service runtime reads and checks when the service starts
};

/** An `after:`/`requires:` id, resolved once every entry is loaded. */
struct Reference {
  int index;  ///< of the referring service
  std::string id;
  Mark mark;
  std::string path;
};

/** What a validator reports to and records into. */
struct KeyContext {
  Diagnostics& diagnostics;
  int index;                           ///< of the service being loaded
  std::vector<Reference>& references;  ///< ids named by `after`/`requires`
  const std::filesystem::path& file;   ///< the config file (relative paths resolve beside it)
  const NatsConfig& nats;              ///< the top-level `nats:` section, read before the services
};

/** Checks one non-null value and stores it into the service; reports problems, never throws. */
using KeyValidator = void (*)(KeyContext& context, const Value& value, ServiceConfig& service);

struct ServiceKey {
  ServiceKeyInfo info;
  KeyScope scope;
  KeyValidator validate;  ///< nullptr for Identity and Runtime keys
};

/** Every key of a service entry, in the order the loader validates them. */
std::span<const ServiceKey> serviceKeyTable() noexcept;
/** The keys misspellings are compared with (all but the Runtime ones), in table order. */
std::span<const std::string_view> suggestedServiceKeys() noexcept;
/** Whether @p key is an Identity key (ignored, with a warning, at the top level). */
bool isIdentityKey(std::string_view key) noexcept;

}  // namespace tcs::config
