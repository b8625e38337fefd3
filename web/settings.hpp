// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

/**
 * @file
 * tcs-web's own settings: the `web:` section of services.yaml (doc/web.md). A reserved
 * top-level section, like `nats:`: the config loader does not merge it into the services.
 */
namespace tcs::web {

/** @brief A bad `web:` section or `--listen`; what() names file, line and key. */
class WebConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/** @brief Where to listen. */
struct Listen {
  std::string host = "127.0.0.1";
  int port = 8470;
};

struct WebSettings {
  Listen listen;
  bool control = false;                        ///< start/stop/restart from the page
  std::filesystem::path operatorPasswordFile;  ///< required with control (or a credential)
  std::size_t timeline = 200;                  ///< registry events kept
};

/** @return `ADDR:PORT` (`[v6]:PORT` for IPv6) taken apart; @throws WebConfigError */
Listen parseListen(std::string_view text);

/** @return the `web:` section of @p yaml (defaults when there is none); @throws WebConfigError */
WebSettings parseWebSettings(std::string_view yaml, std::string_view fileName);
/** @return the `web:` section of the file; @throws WebConfigError */
WebSettings loadWebSettings(const std::filesystem::path& file);

/**
 * @return the operator password: the file's first line (no trailing newline), from
 *         WebSettings::operatorPasswordFile, else `$CREDENTIALS_DIRECTORY/operator-password`
 *         (systemd's LoadCredential=)
 * @throws WebConfigError when control is on and there is none, or it is empty or unreadable
 */
std::string operatorPassword(const WebSettings& settings, const char* credentialsDirectory);

}  // namespace tcs::web
