// SPDX-License-Identifier: MIT
#include "render.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "tcs/unit_name.hpp"

namespace tcs::unitgen {

std::string formatTimespan(double seconds) {
  const auto us = static_cast<long long>(std::llround(seconds * 1e6));
  if (us == 0) return "0";
  if (us % 1000000 == 0) return fmt::format("{}s", us / 1000000);
  if (us % 1000 == 0) return fmt::format("{}ms", us / 1000);
  return fmt::format("{}us", us);
}

std::string escapeSpecifiers(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '%') out += '%';
    out += c;
  }
  return out;
}

std::string credentialDirective(const std::filesystem::path& file) {
  return file.extension() == ".cred" ? "LoadCredentialEncrypted" : "LoadCredential";
}

namespace {

// Inside double quotes systemd applies C unescaping, so `\` and `"` need a backslash.
std::string quoteWith(std::string_view text, bool escapeDollar) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '%': out += "%%"; break;
      case '$': out += escapeDollar ? "$$" : "$"; break;
      default: out += c;
    }
  }
  return out + "\"";
}

}  // namespace

std::string quoteExecArgument(std::string_view word) {
  return quoteWith(word, true);
}

std::string quoteExecPath(std::string_view path) {
  return quoteWith(path, false);
}

// Environment= expands specifiers but not $VARIABLES, so `$` stays as it is.
std::string quoteEnvironmentAssignment(std::string_view assignment) {
  return quoteWith(assignment, false);
}

namespace {

std::string dropIn(const config::Config& config, const config::ServiceConfig& s, const RenderOptions& options) {
  using config::toString;
  const std::string configPath = config.path().string();
  // %l is the manager's short hostname: the launcher id follows the host without a rerun.
  const std::string launcherId = fmt::format("%l{}", unit_name::kLauncherSuffix);
  const std::string parent = "launcher." + launcherId;
  const std::string runnerId = fmt::format("{}.{}", launcherId, s.type);

  std::string out;
  auto line = [&out](std::string_view key, std::string_view value) { out += fmt::format("{}={}\n", key, value); };

  // Named by id, not by position: removing one entry must not rewrite every later drop-in.
  out += fmt::format("{}{} from {} (service {}).\n", kHeaderPrefix, options.generator, escapeSpecifiers(configPath),
                     s.id());
  out += options.mode == Mode::User
             ? "# Do not edit: change the config and run tcs-unitgen --user (or scripts/dev.sh) again.\n"
             : "# Do not edit: change the config and run tcs-unitgen (or systemctl daemon-reload).\n";
  out += "[Unit]\n";
  line("Description", escapeSpecifiers(s.description.value_or(fmt::format("tcs service {}", s.id()))));
  line("SourcePath", escapeSpecifiers(configPath));
  for (const auto& id : s.requires_) {
    const auto ref = unit_name::parseServiceId(id);
    line("Requires", unit_name::unitName(ref->type, ref->variant));
  }
  // requires: implies ordering too (upstream has no ordering; starting a dependency later
  // than its user would be surprising).
  std::vector<std::string> after;
  for (const auto* list : {&s.requires_, &s.after})
    for (const auto& id : *list)
      if (std::find(after.begin(), after.end(), id) == after.end()) after.push_back(id);
  for (const auto& id : after) {
    const auto ref = unit_name::parseServiceId(id);
    line("After", unit_name::unitName(ref->type, ref->variant));
  }
  // restart_max counts restarts; systemd's burst counts starts (the first one included).
  if (s.restartMax > 0) {
    line("StartLimitIntervalSec", formatTimespan(s.restartWindow));
    line("StartLimitBurst", std::to_string(s.restartMax + 1));
  } else {
    line("StartLimitIntervalSec", "0");
  }

  out += "\n[Service]\n";
  line("Environment", quoteEnvironmentAssignment("TCS_CONFIG=" + configPath));
  line("Environment", quoteEnvironmentAssignment("TCS_SERVICE_TYPE=" + s.type));
  line("Environment", quoteEnvironmentAssignment("TCS_VARIANT=" + s.variant));
  line("Environment", quoteEnvironmentAssignment("TCS_SERVICE_ID=" + s.id()));
  line("Environment", fmt::format("\"TCS_PARENT_NAME={}\"", parent));
  line("Environment", fmt::format("\"TCS_RUNNER_ID={}\"", runnerId));
  line("Environment", quoteEnvironmentAssignment(fmt::format("TCS_LOG_LEVEL={}", toString(s.logLevel))));
  for (const auto& [name, value] : s.environment) line("Environment", quoteEnvironmentAssignment(name + "=" + value));
  line("ExecStart", "");  // reset the template's "not configured" command
  line("ExecStart",
       fmt::format("{} {} {} --runner-id \"{}\" --parent-name \"{}\" --no-banner", quoteExecPath(s.executable.string()),
                   quoteExecArgument(configPath), quoteExecArgument(s.variant), runnerId, parent));
  line("Restart", toString(s.restart));
  line("RestartSec", formatTimespan(s.restartSec));
  line("WatchdogSec", formatTimespan(s.watchdogSec));
  if (s.user && options.mode == Mode::System) {
    line("User", *s.user);
    line("Group", "");  // the user's own primary group, not the template's Group=tcs
  }
  if (s.memoryMax) line("MemoryMax", *s.memoryMax);
  if (s.cpuQuota) line("CPUQuota", *s.cpuQuota);  // CPUQuota= expands no specifiers
  if (s.tasksMax) line("TasksMax", *s.tasksMax);
  if (s.nice) line("Nice", std::to_string(*s.nice));
  if (s.ioWeight) line("IOWeight", std::to_string(*s.ioWeight));
  // The service's NATS secrets, read by the manager (as root) and handed to the service in
  // $CREDENTIALS_DIRECTORY: the files in /etc can stay unreadable to the service's user.
  // LoadCredential= takes the path verbatim after the first ':' (no quotes), expanding specifiers.
  // A file named *.cred is systemd-creds output: LoadCredentialEncrypted=, decrypted by systemd.
  for (const auto& file : config::natsCredentialFiles(s.nats ? *s.nats : config.nats()))
    line(credentialDirective(file.path), fmt::format("{}:{}", file.credential, escapeSpecifiers(file.path.string())));
  return out;
}

// System mode: the top-level nats: secrets for tcs-supervisor.service, which runs as its own
// unprivileged user and reads them from $CREDENTIALS_DIRECTORY like the services do — so the
// files in /etc can stay root-only. Empty when the section names no credential file.
std::string supervisorDropIn(const config::Config& config, const RenderOptions& options) {
  const auto files = config::natsCredentialFiles(config.nats());
  if (files.empty()) return {};
  std::string out = fmt::format("{}{} from {} (the supervisor's NATS credentials).\n", kHeaderPrefix, options.generator,
                                escapeSpecifiers(config.path().string()));
  out += "# Do not edit: change the config's nats: section and run tcs-unitgen (or systemctl daemon-reload).\n";
  out += "[Service]\n";
  for (const auto& file : files)
    out += fmt::format("{}={}:{}\n", credentialDirective(file.path), file.credential,
                       escapeSpecifiers(file.path.string()));
  return out;
}

std::string replaceAll(std::string text, std::string_view from, std::string_view to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// User mode: a shipped unit (template or target) with its placeholders filled, under the header
// that marks it as ours.
std::string userUnit(std::string_view text, std::string_view name, const config::Config& config,
                     const RenderOptions& options) {
  std::string out = fmt::format("{}{} --user ({} for a user manager).\n", kHeaderPrefix, options.generator, name);
  out += "# Do not edit: run tcs-unitgen --user again (scripts/dev.sh does) or tcs-unitgen --user --remove.\n";
  // ExecStart's program word: quoted like any, no specifier expansion in a path.
  const std::string filled =
      replaceAll(std::string(text), "@TCS_UNITGEN@", quoteExecPath(options.unitgenPath.string()));
  const std::string withConfig = replaceAll(filled, "@TCS_CONFIG@", quoteExecArgument(config.path().string()));
  return out + replaceAll(withConfig, "@TCS_DOC_DIR@", options.docDir.string());
}

}  // namespace

UnitSet render(const config::Config& config, const RenderOptions& options) {
  UnitSet set;
  if (options.mode == Mode::User) {
    set[std::string(kTemplateName)] = {Entry::Kind::File,
                                       userUnit(options.userTemplate, kTemplateName, config, options)};
    set[std::string(kTargetName)] = {Entry::Kind::File, userUnit(options.userTarget, kTargetName, config, options)};
  }
  for (const auto& s : config.services()) {
    const std::string unit = s.unitName();
    set[fmt::format("{}.d/{}", unit, kDropInName)] = {Entry::Kind::File, dropIn(config, s, options)};
    if (s.enabled) set["tcs.target.wants/" + unit] = {Entry::Kind::Symlink, options.templateUnit.string()};
  }
  if (options.mode == Mode::System) {
    if (std::string text = supervisorDropIn(config, options); !text.empty())
      set[fmt::format("{}.d/{}", kSupervisorUnit, kDropInName)] = {Entry::Kind::File, std::move(text)};
  }
  return set;
}

}  // namespace tcs::unitgen
