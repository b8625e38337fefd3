// SPDX-License-Identifier: MIT
#include "options.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>

#include "nkey.hpp"
#include "status.hpp"
#include "tcs/log.hpp"

namespace tcs::detail {
namespace {

NatsError configError(std::string message) {
  return NatsError(NatsError::Kind::Config, 0, std::move(message));
}

std::string readFile(const std::filesystem::path& path, std::string_view key) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    throw configError(fmt::format("cannot read nats.{} '{}': {}", key, path.string(),
                                  error ? std::strerror(error) : "cannot open the file"));
  }
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw configError(fmt::format("cannot read nats.{} '{}': read error", key, path.string()));
  return content;
}

// nats.c reads these files itself when (re)connecting; checking now names the file and the key.
void checkReadable(const std::filesystem::path& path, std::string_view key) {
  (void)readFile(path, key);
}

// An nkey seed file holds the seed (`SU…`), possibly inside other text such as a creds-style
// `-----BEGIN USER NKEY SEED-----` block, like nats.c accepts.
std::string seedPublicKey(const std::filesystem::path& path) {
  std::istringstream words(readFile(path, "nkey_seed_file"));
  std::string word;
  while (words >> word) {
    if (!word.starts_with("SU")) continue;
    std::string why;
    if (auto key = nkeyUserPublicKey(word, &why)) return *key;
    throw configError(fmt::format("nats.nkey_seed_file '{}': {}", path.string(), why));
  }
  throw configError(
      fmt::format("nats.nkey_seed_file '{}' holds no user NKey seed (a word starting with 'SU')", path.string()));
}

}  // namespace

std::string readSecretFile(const std::filesystem::path& path, std::string_view key) {
  std::string content = readFile(path, key);
  while (!content.empty() &&
         (content.back() == '\n' || content.back() == '\r' || content.back() == ' ' || content.back() == '\t'))
    content.pop_back();
  if (content.empty()) throw configError(fmt::format("nats.{} '{}' is empty", key, path.string()));
  return content;
}

config::NatsConfig withSystemdCredentials(config::NatsConfig config,
                                          const std::filesystem::path& credentialsDirectory) {
  if (credentialsDirectory.empty()) return config;
  for (const auto& file : config::natsCredentialFiles(config)) {
    std::optional<std::filesystem::path>* member = file.key == "creds_file"       ? &config.credsFile
                                                   : file.key == "nkey_seed_file" ? &config.nkeySeedFile
                                                   : file.key == "password_file"  ? &config.passwordFile
                                                   : file.key == "token_file"     ? &config.tokenFile
                                                   : file.key == "tls.key"        ? &config.tlsKey
                                                                                  : nullptr;
    if (!member) continue;
    const auto delivered = credentialsDirectory / file.credential;
    std::error_code error;
    if (std::filesystem::is_regular_file(delivered, error)) {
      log::debug("nats.{}: using the systemd credential '{}' instead of '{}'", file.key, delivered.string(),
                 file.path.string());
      *member = delivered;
    } else {
      log::debug("nats.{}: using '{}' ($CREDENTIALS_DIRECTORY holds no credential '{}')", file.key, file.path.string(),
                 file.credential);
    }
  }
  return config;
}

OptionsPtr buildNatsOptions(const config::NatsConfig& configured, const NatsOptions& tuning,
                            const std::vector<std::string>& urls, const NatsCallbacks& callbacks) {
  // systemd's LoadCredential= (written by tcs-unitgen) hands the secret files over here.
  const char* credentials = std::getenv("CREDENTIALS_DIRECTORY");
  const config::NatsConfig config = withSystemdCredentials(configured, credentials ? credentials : "");
  if (urls.empty()) throw configError("nats: no server given (nats.servers is empty)");
  if (config.credsFile && config.nkeySeedFile)
    throw configError("nats: give either creds_file or nkey_seed_file, not both");
  if (config.tlsCert.has_value() != config.tlsKey.has_value())
    throw configError("nats.tls: a client certificate needs both 'cert' and 'key'");
  if (tuning.reconnectBufferBytes > static_cast<std::size_t>(INT_MAX))
    throw configError("nats: reconnect buffer larger than 2 GiB");

  openNatsLibrary();
  natsOptions* raw = nullptr;
  throwIfFailed(natsOptions_Create(&raw), "cannot create NATS options");
  OptionsPtr opts(raw);
  auto set = [](natsStatus status, std::string_view what) { throwIfFailed(status, what); };

  std::vector<const char*> servers;
  for (const auto& url : urls) servers.push_back(url.c_str());
  set(natsOptions_SetServers(opts.get(), servers.data(), static_cast<int>(servers.size())),
      fmt::format("invalid NATS server list '{}'", fmt::join(urls, ",")));
  if (!tuning.name.empty())
    set(natsOptions_SetName(opts.get(), tuning.name.c_str()), "cannot set the NATS client name");
  set(natsOptions_SetTimeout(opts.get(), tuning.connectTimeout.count()), "invalid NATS connect timeout");
  set(natsOptions_SetAllowReconnect(opts.get(), true), "cannot enable NATS reconnect");
  set(natsOptions_SetMaxReconnect(opts.get(), -1), "cannot set NATS reconnect attempts");
  set(natsOptions_SetReconnectBufSize(opts.get(), static_cast<int>(tuning.reconnectBufferBytes)),
      "invalid NATS reconnect buffer size");
  set(natsOptions_SetSendAsap(opts.get(), tuning.sendAsap), "cannot set NATS SendAsap");
  // A request pending while the connection drops fails at once instead of running into its timeout.
  set(natsOptions_SetFailRequestsOnDisconnect(opts.get(), true), "cannot set NATS request failure on disconnect");
  if (callbacks.reconnectDelay)
    set(natsOptions_SetCustomReconnectDelay(opts.get(), callbacks.reconnectDelay, callbacks.closure),
        "cannot set the NATS reconnect delay");
  if (callbacks.disconnected)
    set(natsOptions_SetDisconnectedCB(opts.get(), callbacks.disconnected, callbacks.closure),
        "cannot set the NATS disconnected callback");
  if (callbacks.reconnected)
    set(natsOptions_SetReconnectedCB(opts.get(), callbacks.reconnected, callbacks.closure),
        "cannot set the NATS reconnected callback");
  if (callbacks.closed)
    set(natsOptions_SetClosedCB(opts.get(), callbacks.closed, callbacks.closure),
        "cannot set the NATS closed callback");
  if (callbacks.asyncError)
    set(natsOptions_SetErrorHandler(opts.get(), callbacks.asyncError, callbacks.closure),
        "cannot set the NATS error handler");

  std::optional<std::string> password = config.password;
  if (config.passwordFile) password = readSecretFile(*config.passwordFile, "password_file");
  if (config.user || password)
    set(natsOptions_SetUserInfo(opts.get(), config.user ? config.user->c_str() : nullptr,
                                password ? password->c_str() : nullptr),
        "cannot set the NATS user");
  std::optional<std::string> token = config.token;
  if (config.tokenFile) token = readSecretFile(*config.tokenFile, "token_file");
  if (token) set(natsOptions_SetToken(opts.get(), token->c_str()), "cannot set the NATS token");
  if (config.credsFile) {
    checkReadable(*config.credsFile, "creds_file");
    set(natsOptions_SetUserCredentialsFromFiles(opts.get(), config.credsFile->c_str(), nullptr),
        fmt::format("cannot use nats.creds_file '{}'", config.credsFile->string()));
  }
  if (config.nkeySeedFile) {
    const auto publicKey = seedPublicKey(*config.nkeySeedFile);
    set(natsOptions_SetNKeyFromSeed(opts.get(), publicKey.c_str(), config.nkeySeedFile->c_str()),
        fmt::format("cannot use nats.nkey_seed_file '{}'", config.nkeySeedFile->string()));
  }

  if (config.tlsCa || config.tlsCert) {
    set(natsOptions_SetSecure(opts.get(), true), "cannot enable NATS TLS");
    if (config.tlsCa) {
      checkReadable(*config.tlsCa, "tls.ca");
      set(natsOptions_LoadCATrustedCertificates(opts.get(), config.tlsCa->c_str()),
          fmt::format("cannot load nats.tls.ca '{}'", config.tlsCa->string()));
    }
    if (config.tlsCert) {
      checkReadable(*config.tlsCert, "tls.cert");
      checkReadable(*config.tlsKey, "tls.key");
      set(natsOptions_LoadCertificatesChain(opts.get(), config.tlsCert->c_str(), config.tlsKey->c_str()),
          fmt::format("cannot load nats.tls.cert '{}' / key '{}'", config.tlsCert->string(), config.tlsKey->string()));
    }
  }
  return opts;
}

}  // namespace tcs::detail
