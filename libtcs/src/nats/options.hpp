// SPDX-License-Identifier: MIT
// natsOptions from the `nats:` config section: servers, reconnect policy, auth, TLS.
#pragma once

#include <nats/nats.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "handles.hpp"
#include "tcs/config.hpp"
#include "tcs/nats.hpp"

namespace tcs::detail {

/** @brief The C callbacks a connection installs, all with the same closure. */
struct NatsCallbacks {
  natsConnectionHandler disconnected = nullptr;
  natsConnectionHandler reconnected = nullptr;
  natsConnectionHandler closed = nullptr;
  natsErrHandler asyncError = nullptr;
  natsCustomReconnectDelayHandler reconnectDelay = nullptr;
  void* closure = nullptr;
};

/**
 * @brief Builds the options (secrets read now, files checked for readability now); secret files
 * come from `$CREDENTIALS_DIRECTORY` when systemd delivered them (withSystemdCredentials()).
 * @throws NatsError Config naming the file or key at fault
 */
OptionsPtr buildNatsOptions(const config::NatsConfig& config, const NatsOptions& tuning,
                            const std::vector<std::string>& urls, const NatsCallbacks& callbacks);

/**
 * @brief @p config with each secret file (config::natsCredentialFiles()) replaced by
 * `<credentialsDirectory>/<credential>` where systemd put that credential (LoadCredential=,
 * which tcs-unitgen writes); logs at DEBUG which file each key uses. An empty directory (the
 * process has no `$CREDENTIALS_DIRECTORY`) leaves @p config as it is.
 */
config::NatsConfig withSystemdCredentials(config::NatsConfig config, const std::filesystem::path& credentialsDirectory);

/**
 * @brief The content of a secret file, without trailing whitespace.
 * @throws NatsError Config: `cannot read nats.<key> '<path>': <reason>`, or the file is empty
 */
std::string readSecretFile(const std::filesystem::path& path, std::string_view key);

/**
 * @brief nats_Open() once per process, without letting its one RAND_bytes() call initialise
 * OpenSSL (library.cpp says why). Called before any other nats.c call of libtcs.
 */
void openNatsLibrary();

}  // namespace tcs::detail
