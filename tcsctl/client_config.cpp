// SPDX-License-Identifier: MIT
#include "client_config.hpp"

#include <fmt/format.h>

#include "tcs/error.hpp"

namespace tcs::ctl {
namespace fs = std::filesystem;

ClientConfig loadClientConfig(const fs::path& explicitPath, const fs::path& installedDefault) {
  ClientConfig result;
  if (!explicitPath.empty()) {
    if (!fs::exists(explicitPath))
      throw ClientConfigError(fmt::format("config file {} does not exist", explicitPath.string()));
    result.path = explicitPath;
  } else if (fs::exists(installedDefault)) {
    result.path = installedDefault;
  } else if (fs::exists(kUpstreamConfig)) {
    result.path = kUpstreamConfig;
  }
  if (result.path.empty()) return result;
  config::LoadResult loaded;
  try {
    loaded = config::load(result.path);
  } catch (const ConfigError& e) {
    throw ClientConfigError(e.what());
  }
  const auto errors = loaded.errorsAt("nats");
  if (!errors.empty()) {
    std::string text;
    for (const auto& d : errors) text += fmt::format("\n  {}:{}: {}: {}", d.file, d.mark.line, d.yamlPath, d.message);
    throw ClientConfigError(fmt::format("the nats: section of {} has errors:{}", result.path.string(), text));
  }
  result.nats = loaded.config.nats();
  return result;
}

}  // namespace tcs::ctl
