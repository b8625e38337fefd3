// SPDX-License-Identifier: MIT
// The plain parts of the config model: ids and names of a service, diagnostics, results.
#include <fmt/format.h>

#include <algorithm>

#include "tcs/config.hpp"
#include "tcs/unit_name.hpp"

namespace tcs::config {

std::string ServiceConfig::id() const {
  return unit_name::serviceId(type, variant);
}
std::string ServiceConfig::unitName() const {
  return unit_name::unitName(type, variant);
}
std::string ServiceConfig::yamlPath() const {
  return fmt::format("services[{}]", index);
}

std::vector<NatsCredentialFile> natsCredentialFiles(const NatsConfig& nats) {
  std::vector<NatsCredentialFile> files;
  auto add = [&](std::string_view credential, std::string_view key, const std::optional<std::filesystem::path>& path) {
    if (path) files.push_back({credential, key, *path});
  };
  add("nats.creds", "creds_file", nats.credsFile);
  add("nats.nkey", "nkey_seed_file", nats.nkeySeedFile);
  add("nats.password", "password_file", nats.passwordFile);
  add("nats.token", "token_file", nats.tokenFile);
  // The CA and the certificate are public; the key is the secret half.
  add("nats.tls-key", "tls.key", nats.tlsKey);
  return files;
}

std::string Diagnostic::format() const {
  std::string out = file;
  if (mark.line > 0) out += fmt::format(":{}:{}", mark.line, mark.column);
  out += severity == Severity::Error ? ": error: " : ": warning: ";
  if (!yamlPath.empty()) out += yamlPath + ": ";
  return out + message;
}

bool Diagnostic::isAt(std::string_view path) const noexcept {
  if (!yamlPath.starts_with(path)) return false;
  return yamlPath.size() == path.size() || yamlPath[path.size()] == '.' || yamlPath[path.size()] == '[';
}

const RejectedService* LoadResult::rejectedEntry(std::string_view type, std::string_view variant) const noexcept {
  for (const auto& r : rejected)
    if (r.type == type && r.variant == variant) return &r;
  return nullptr;
}

std::vector<Diagnostic> LoadResult::errorsAt(std::string_view yamlPath) const {
  std::vector<Diagnostic> out;
  for (const auto& d : diagnostics)
    if (d.severity == Diagnostic::Severity::Error && d.isAt(yamlPath)) out.push_back(d);
  return out;
}

bool LoadResult::ok() const noexcept {
  return errorCount() == 0;
}

std::size_t LoadResult::errorCount() const noexcept {
  return static_cast<std::size_t>(std::count_if(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::Error;
  }));
}

const ServiceConfig* Config::find(std::string_view type, std::string_view variant) const noexcept {
  for (const auto& s : services_)
    if (s.type == type && s.variant == variant) return &s;
  return nullptr;
}

const ServiceConfig* Config::findById(std::string_view serviceId) const noexcept {
  for (const auto& s : services_)
    if (s.id() == serviceId) return &s;
  return nullptr;
}

}  // namespace tcs::config
