// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tcs/error.hpp"
#include "tcs/export.hpp"
#include "tcs/log_level.hpp"
#include "tcs/settings.hpp"

/**
 * @file
 * The services.yaml model: loading, validation and typed access.
 *
 * The schema is upstream ocabox-tcs's (every config it accepts loads here with the same
 * meaning) plus tcs's additions; doc/config.md is the reference. Loading never yields a
 * half-valid model silently: file-level problems throw tcs::ConfigError, per-service
 * problems drop that service and add an error Diagnostic, so callers decide whether a
 * partial config is acceptable (the systemd generator: yes; `tcs-unitgen CONFIG`: no).
 *
 * Everything here is immutable after load and safe to share between threads.
 */
namespace tcs::config {

enum class RestartPolicy { No, OnFailure, OnAbnormal, Always };
/** @return `no`, `on-failure`, `on-abnormal` or `always` (the systemd Restart= word). */
TCS_API std::string_view toString(RestartPolicy policy) noexcept;

/** @brief tcs::LogLevel (tcs/log_level.hpp), under its old name. */
using LogLevel = tcs::LogLevel;
using tcs::parseLogLevel;
using tcs::toString;

/** @brief Default `watchdog_sec` (also the template's WatchdogSec=). */
inline constexpr double kDefaultWatchdogSec = 30.0;

/** @brief One configured service instance, validated. */
/** @brief The `nats:` section (connection only; used by the NATS layer). */
struct TCS_API NatsConfig {
  bool present = false;  ///< whether the file had a `nats:` section at all
  std::string host = "localhost";
  int port = 4222;
  std::vector<std::string> servers;  ///< `nats.servers`, overrides host/port when given
  bool required = true;              ///< default true when the section exists
  std::string subjectPrefix = "svc";
  /// `nats.stream_replicas` (1-5): the replicas of the JetStream streams tcs-supervisor creates
  int streamReplicas = 1;
  std::optional<std::string> user;
  std::optional<std::string> password;
  std::optional<std::filesystem::path> passwordFile;
  std::optional<std::string> token;
  std::optional<std::filesystem::path> tokenFile;
  std::optional<std::filesystem::path> credsFile;
  std::optional<std::filesystem::path> nkeySeedFile;
  std::optional<std::filesystem::path> tlsCa;
  std::optional<std::filesystem::path> tlsCert;
  std::optional<std::filesystem::path> tlsKey;
};

/**
 * @brief A secret file of a NATS connection and the name systemd hands it over under.
 *
 * tcs-unitgen writes `LoadCredential=<credential>:<path>` into a service's drop-in for each; the
 * NATS layer reads `$CREDENTIALS_DIRECTORY/<credential>` instead of @ref path when it is there
 * (doc/security.md, "Secrets: NATS credentials through LoadCredential=").
 */
struct TCS_API NatsCredentialFile {
  std::string_view credential;  ///< `nats.creds`, `nats.nkey`, `nats.password`, `nats.token`, `nats.tls-key`
  std::string_view key;         ///< the config key: `creds_file`, …, `tls.key`
  std::filesystem::path path;   ///< as configured (absolute once loaded)
};
/** @brief The secret files @p nats names, in a fixed order (creds, nkey, password, token, TLS key). */
TCS_API std::vector<NatsCredentialFile> natsCredentialFiles(const NatsConfig& nats);

struct TCS_API ServiceConfig {
  std::string type;
  std::string variant;
  int index = 0;  ///< position in `services:`
  Mark mark;      ///< where the entry starts

  std::string id() const;        ///< `<type>.<variant>`
  std::string unitName() const;  ///< `tcs@<type>:<variant>.service`
  std::string yamlPath() const;  ///< `services[<index>]`

  std::filesystem::path executable;  ///< resolved from `registry`
  RestartPolicy restart = RestartPolicy::No;
  double restartSec = 5.0;
  int restartMax = 0;  ///< restarts allowed within restartWindow; 0 = unlimited
  double restartWindow = 60.0;
  LogLevel logLevel = LogLevel::Info;
  bool enabled = true;
  double watchdogSec = kDefaultWatchdogSec;                      ///< WatchdogSec=; 0 = off
  std::vector<std::string> after;                                ///< service ids
  std::vector<std::string> requires_;                            ///< service ids (`requires` is a C++20 keyword)
  std::vector<std::pair<std::string, std::string>> environment;  ///< in file order
  std::optional<std::string> user;
  std::optional<std::string> memoryMax;  ///< systemd MemoryMax= syntax, validated
  std::optional<std::string> cpuQuota;   ///< systemd CPUQuota= syntax (`50%`), validated
  std::optional<std::string> tasksMax;   ///< systemd TasksMax= syntax (`64`, `10%`, `infinity`), validated
  std::optional<int> nice;               ///< Nice=, -20..19
  std::optional<int> ioWeight;           ///< IOWeight=, 1..10000
  std::optional<std::string> description;

  Settings settings;  ///< the merged entry (globals under it, env overrides under both)
  /**
   * @brief The connection this service makes when its entry has a `nats:` key of its own: the
   * top-level `nats:` section with its credentials replaced by the entry's (`user`,
   * `password_file`, `token_file`, `creds_file`, `nkey_seed_file`). nullopt: the top-level
   * section as it is.
   */
  std::optional<NatsConfig> nats;
};

/**
 * @brief One key of a service entry, as doc/config.md ("Service entry") documents it.
 *
 * The loader's own table: it names the keys that misspellings are compared with and the order
 * keys are validated in; config_test fails when doc/config.md's rows differ from it.
 */
struct TCS_API ServiceKeyInfo {
  std::string_view name;          ///< `restart_sec`
  std::string_view type;          ///< `seconds`, `boolean`, `service ids`, …
  std::string_view defaultValue;  ///< as the doc's default column shows it (`—` for none)
  std::string_view meaning;       ///< the doc's meaning column, Markdown
};
/** @brief Every key a service entry gives a meaning to (keys not listed are service settings). */
TCS_API const std::vector<ServiceKeyInfo>& serviceKeys();

/** @brief A problem found while loading, located in the file. */
struct TCS_API Diagnostic {
  enum class Severity { Warning, Error };
  Severity severity = Severity::Error;
  std::string file;
  Mark mark;
  std::string yamlPath;  ///< empty for file-level problems
  std::string message;
  /** @return `file:line:col: error: path: message` (missing parts left out). */
  std::string format() const;
  /** @brief Whether this is located at @p path or below it (`services[2]` covers `services[2].restart`). */
  bool isAt(std::string_view path) const noexcept;
};

/** @brief Environment seen by the loader (injectable for tests). */
using Environment = std::map<std::string, std::string, std::less<>>;
/** @brief The calling process's environment. */
TCS_API Environment processEnvironment();

struct TCS_API LoadOptions {
  Environment environment = processEnvironment();
  /** @brief Where `registry: {type: ~}` binaries live (`<dir>/<type>`). */
  std::filesystem::path builtinServiceDir;
};

/** @brief A loaded configuration. Only valid services are in services(). */
class TCS_API Config {
 public:
  Config() = default;

  /** @brief The config file as given (absolute when loaded through load()). */
  const std::filesystem::path& path() const noexcept { return path_; }
  const NatsConfig& nats() const noexcept { return nats_; }
  const std::vector<ServiceConfig>& services() const noexcept { return services_; }
  const ServiceConfig* find(std::string_view type, std::string_view variant) const noexcept;
  const ServiceConfig* findById(std::string_view serviceId) const noexcept;

 private:
  friend class Loader;
  std::filesystem::path path_;
  NatsConfig nats_;
  std::vector<ServiceConfig> services_;
};

/** @brief An entry whose type and variant could be read but that was dropped for errors. */
struct TCS_API RejectedService {
  std::string type;
  std::string variant;
  int index = 0;  ///< position in `services:`
};

struct TCS_API LoadResult {
  Config config;
  std::vector<Diagnostic> diagnostics;
  /** @brief Entries dropped for errors, so a service can tell "mine is broken" from "absent". */
  std::vector<RejectedService> rejected;
  /** @brief No error diagnostics (warnings allowed). */
  bool ok() const noexcept;
  std::size_t errorCount() const noexcept;
  /** @brief The entry of @p type + @p variant dropped for errors, or nullptr. */
  const RejectedService* rejectedEntry(std::string_view type, std::string_view variant) const noexcept;
  /** @brief The errors located at @p yamlPath or below it. */
  std::vector<Diagnostic> errorsAt(std::string_view yamlPath) const;
};

/**
 * @brief Loads and validates @p file.
 * @throws tcs::ConfigError when the file cannot be read, is not YAML, or its top level is
 *         not a mapping — never returns an empty config for a broken file.
 */
TCS_API LoadResult load(const std::filesystem::path& file, const LoadOptions& options = {});

/** @brief As load(), from text; @p fileName is used in messages and to resolve paths. */
TCS_API LoadResult parse(std::string_view yaml, const std::filesystem::path& fileName, const LoadOptions& options = {});

/**
 * @brief Expands `${NAME}` and `${NAME:-default}` in @p text like upstream.
 * @param[out] unresolved names referenced without a value and without a default (kept verbatim)
 */
TCS_API std::string expandEnvironment(std::string_view text, const Environment& env,
                                      std::vector<std::string>* unresolved = nullptr);

}  // namespace tcs::config
