// SPDX-License-Identifier: MIT
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "tcs/config.hpp"
#include "tcs/exit_code.hpp"

namespace tcs::unitgen {

/** @brief Compile-time defaults (CMake fills them from the install layout). */
struct Defaults {
  std::string configPath;     ///< /etc/tcs/services.yaml
  std::string outputDir;      ///< /etc/systemd/system
  std::string templateUnit;   ///< <unitdir>/tcs@.service
  std::string serviceBinDir;  ///< <libexecdir>/tcs
  std::string version;
  // --user (development mode, doc/development.md); set one by one after construction.
  std::string userTemplate;  ///< packaging/systemd/user/tcs@.service.in, compiled in
  std::string userTarget;    ///< packaging/systemd/user/tcs.target.in, compiled in
  std::string docDir;        ///< <docdir>, for the user units' Documentation=
  std::string selfPath;      ///< this binary (the user template's ExecStart for unconfigured instances)
  bool root = false;         ///< running as root (--user then needs --output-dir)
  /** @brief HOME, XDG_CONFIG_HOME, XDG_RUNTIME_DIR, TCS_SERVICE_BIN_DIR (injectable for tests). */
  config::Environment environment;
};

/** @brief Exit status for a configuration error (sysexits EX_CONFIG), also used by the template. */
inline constexpr int kExitConfig = tcs::exit_code::kConfig;

/**
 * @brief The whole tcs-unitgen command: argv in, exit status out.
 *
 * Selects generator mode when invoked as `tcs-generator` (the symlink installed into systemd's
 * generator directory) or with `--generator`; messages then go to /dev/kmsg like quadlet's.
 */
int run(const std::vector<std::string>& args, const Defaults& defaults, std::FILE* out, std::FILE* err);

}  // namespace tcs::unitgen
