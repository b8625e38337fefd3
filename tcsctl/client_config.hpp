// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <stdexcept>

#include "tcs/config.hpp"

/**
 * @file
 * Which services.yaml a fleet client (tcsctl, tcs-web) reads, and its `nats:` section: `-c PATH`
 * (must exist), else the installed default, else upstream's `./config/services.yaml`, else none
 * (NATS at localhost:4222). Only the `nats:` section must be valid: errors elsewhere (in
 * `services:`) do not matter to a client.
 */
namespace tcs::ctl {

/** @brief A missing `-c` file or an error in the `nats:` section; what() names file, line, key. */
class ClientConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/** @brief The file read (empty when none) and its `nats:` section (defaults when none). */
struct ClientConfig {
  std::filesystem::path path;
  config::NatsConfig nats;
};

/**
 * @param[in] explicitPath - `-c PATH`, or empty to search @p installedDefault, then
 *                           `config/services.yaml` in the working directory
 * @param[in] installedDefault - `/etc/tcs/services.yaml` (TCS_CONFIG_PATH)
 * @throws ClientConfigError
 */
ClientConfig loadClientConfig(const std::filesystem::path& explicitPath, const std::filesystem::path& installedDefault);

/** @brief Upstream's config location, relative to the working directory. */
inline constexpr const char* kUpstreamConfig = "config/services.yaml";

}  // namespace tcs::ctl
