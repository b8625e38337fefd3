// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tcs/export.hpp"

/**
 * @file
 * Names of tcs services in their three spellings, and the host's launcher identity.
 *
 * | spelling        | example                                   |
 * |-----------------|-------------------------------------------|
 * | service id      | `examples.minimal.tutorial` (NATS tail)   |
 * | instance string | `examples.minimal:tutorial`               |
 * | unit name       | `tcs@examples.minimal:tutorial.service`   |
 *
 * Every type token and the variant match `[A-Za-z0-9_]{1,64}`: the only characters that are
 * both a valid NATS subject token and a systemd instance fragment that needs no escaping, so
 * `%i == %I`, `systemd-escape` is never needed, and all three spellings convert both ways.
 */
namespace tcs::unit_name {

/** @brief Regular-expression text of a valid token, for error messages. */
inline constexpr std::string_view kTokenPattern = "[A-Za-z0-9_]{1,64}";
inline constexpr std::size_t kMaxTokenLength = 64;
/** @brief systemd's limit on the length of a unit name. */
inline constexpr std::size_t kMaxUnitNameLength = 255;
inline constexpr std::string_view kTemplatePrefix = "tcs@";
inline constexpr std::string_view kUnitSuffix = ".service";

/** @brief True if @p token is one valid type token or variant. */
TCS_API bool isValidToken(std::string_view token) noexcept;

/** @brief True if @p type is one or more valid tokens joined by dots. */
TCS_API bool isValidType(std::string_view type) noexcept;

/** @return `<type>.<variant>` */
TCS_API std::string serviceId(std::string_view type, std::string_view variant);
/** @return `<type>:<variant>` */
TCS_API std::string instance(std::string_view type, std::string_view variant);
/** @return `tcs@<type>:<variant>.service` */
TCS_API std::string unitName(std::string_view type, std::string_view variant);

struct TCS_API Parsed {
  std::string type;
  std::string variant;
};

/** @brief Splits `tcs@<type>:<variant>.service`; nullopt when it is not a valid tcs instance. */
TCS_API std::optional<Parsed> parseUnitName(std::string_view unit);

/** @brief Splits a service id at its last dot; nullopt when invalid. */
TCS_API std::optional<Parsed> parseServiceId(std::string_view id);

/**
 * @brief The launcher id of a host's supervisor: `<short hostname>-systemd-launcher`.
 *
 * Deterministic per host. Units get it through the `%l` specifier (systemd's short
 * hostname), so unitgen needs no hostname at generation time and the value follows
 * a renamed host after the next daemon-reload. The supervisor's monitor name, and the
 * `parent` of every service, is `launcher.<launcher id>`; `runner_id` is
 * `<launcher id>.<type>` (upstream's shape).
 */
TCS_API std::string launcherId(std::string_view shortHostname);
/** @return this machine's full hostname (gethostname(); `localhost` if it fails): the
 *          `hostname` of status reports and `start` events; launcherId() takes it as is. */
TCS_API std::string hostName();
inline constexpr std::string_view kLauncherSuffix = "-systemd-launcher";

}  // namespace tcs::unit_name
