// SPDX-License-Identifier: MIT
// Fuzz harness: tcs-unitgen's render() of every services.yaml that loads, read back the way
// systemd reads a unit file (unit_file.hpp).
//
// Property: every drop-in holds exactly the directives tcs intends, in order — no value (a
// description, an environment value, a user, a path, a variant) can add, remove or split a
// directive through a newline, a carriage return, a NUL, a trailing backslash, a quote or a
// `%` specifier — and every value systemd reads back is the configured one: free text after
// unquoting and undoing `%%`/`$$` equals the config's text, time spans are systemd time spans.
// The `.wants/` links are exactly the enabled services'. A new directive in render() must be
// added to expectedDirectives() below, which is the point: the harness states what tcs writes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "check.hpp"
#include "render.hpp"
#include "tcs/config.hpp"
#include "tcs/unit_name.hpp"
#include "unit_file.hpp"
#include "user_units.hpp"

namespace {

using tcs::fuzz::check;
using tcs::fuzz::Directive;
namespace config = tcs::config;
namespace unitgen = tcs::unitgen;
namespace unit_name = tcs::unit_name;

constexpr std::string_view kConfigPath = "/etc/tcs/services.yaml";
const std::string kLauncher = "%l-systemd-launcher";  // the drop-ins' launcher id, a specifier on purpose

const config::LoadOptions& loadOptions() {
  static const config::LoadOptions options = [] {
    config::LoadOptions o;
    o.environment = {{"HOME", "/var/lib/tcs"}, {"NATS_HOST", "127.0.0.1"}};
    o.builtinServiceDir = "/usr/libexec/tcs";
    return o;
  }();
  return options;
}

std::string describe(const Directive& d) {
  return "[" + d.section + "] " + d.key + "=" + d.value;
}

std::string describe(const std::vector<Directive>& ds) {
  std::string out;
  for (const auto& d : ds) out += describe(d) + "\n  ";
  return out;
}

// The secret files the service's connection names (its own nats: or the top-level one).
// The directive a secret file gets: systemd-creds output (`*.cred`) is decrypted by systemd.
std::string credentialKey(const config::NatsCredentialFile& c) {
  const std::string name = c.path.filename().string();
  return name.size() > 5 && name.compare(name.size() - 5, 5, ".cred") == 0 ? "LoadCredentialEncrypted"
                                                                           : "LoadCredential";
}

std::vector<config::NatsCredentialFile> credentialsOf(const config::Config& cfg, const config::ServiceConfig& s) {
  return config::natsCredentialFiles(s.nats ? *s.nats : cfg.nats());
}

// The directives render() means to write for @p s, in order; values are checked apart.
std::vector<Directive> expectedDirectives(const config::Config& cfg, const config::ServiceConfig& s,
                                          unitgen::Mode mode) {
  std::vector<Directive> out;
  const auto add = [&out](const char* section, const std::string& key) { out.push_back({section, key, {}}); };
  add("Unit", "Description");
  add("Unit", "SourcePath");
  for (std::size_t i = 0; i < s.requires_.size(); ++i) add("Unit", "Requires");
  std::vector<std::string> after;
  for (const auto* list : {&s.requires_, &s.after})
    for (const auto& id : *list)
      if (std::find(after.begin(), after.end(), id) == after.end()) after.push_back(id);
  for (std::size_t i = 0; i < after.size(); ++i) add("Unit", "After");
  add("Unit", "StartLimitIntervalSec");
  if (s.restartMax > 0) add("Unit", "StartLimitBurst");
  for (std::size_t i = 0; i < 7 + s.environment.size(); ++i) add("Service", "Environment");
  add("Service", "ExecStart");
  add("Service", "ExecStart");
  add("Service", "Restart");
  add("Service", "RestartSec");
  add("Service", "WatchdogSec");
  if (s.user && mode == unitgen::Mode::System) {
    add("Service", "User");
    add("Service", "Group");
  }
  if (s.memoryMax) add("Service", "MemoryMax");
  if (s.cpuQuota) add("Service", "CPUQuota");
  if (s.tasksMax) add("Service", "TasksMax");
  if (s.nice) add("Service", "Nice");
  if (s.ioWeight) add("Service", "IOWeight");
  for (const auto& c : credentialsOf(cfg, s)) add("Service", credentialKey(c));
  return out;
}

bool sameKeys(const std::vector<Directive>& a, const std::vector<Directive>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const Directive& x, const Directive& y) { return x.section == y.section && x.key == y.key; });
}

bool isTimespan(const std::string& value) {
  static const std::regex timespan("0|[1-9][0-9]*(s|ms|us)");
  return std::regex_match(value, timespan);
}

// One Environment= value: exactly one word, which reads back as @p assignment.
void checkEnvironment(const std::string& value, const std::string& assignment, bool specifiers) {
  const auto words = tcs::fuzz::splitWords(value);
  check(words && words->size() == 1, "an Environment= line holds exactly one assignment", value);
  const auto text = specifiers ? std::optional<std::string>((*words)[0]) : tcs::fuzz::unescape((*words)[0], false);
  check(text == assignment, "an Environment= assignment reads back as configured", value + "\n  want: " + assignment);
}

// One LoadCredential= value: ID:PATH, the path taken verbatim after the first ':' with
// specifiers expanded.
void checkLoadCredential(const std::string& raw, const config::NatsCredentialFile& c) {
  std::string value;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    value += raw[i];
    if (raw[i] == '%' && i + 1 < raw.size() && raw[i + 1] == '%') ++i;
  }
  const std::string expected = std::string(c.credential) + ":" + c.path.string();
  check(value == expected, "LoadCredential= is the credential's name and absolute path", raw + "\n  want: " + expected);
  check(c.path.is_absolute(), "a credential's path is absolute", c.path.string());
}

// System mode: tcs-supervisor.service's drop-in holds exactly one LoadCredential= per secret file
// of the top-level nats: section, and nothing else; no file when there is none.
void checkSupervisorDropIn(const config::Config& cfg, const unitgen::UnitSet& set) {
  const auto files = config::natsCredentialFiles(cfg.nats());
  const auto it = set.find(std::string(unitgen::kSupervisorUnit) + ".d/" + std::string(unitgen::kDropInName));
  check((it != set.end()) == !files.empty(), "the supervisor's drop-in exists exactly when nats: names secret files");
  if (it == set.end()) return;
  check(it->second.kind == unitgen::Entry::Kind::File, "the supervisor's drop-in is a file");
  const auto file = tcs::fuzz::parseUnitFile(it->second.content);
  check(file.error.empty(), "systemd reads every line of the supervisor's drop-in", file.error);
  check(file.directives.size() == files.size(), "the supervisor's drop-in holds one directive per secret file",
        describe(file.directives));
  for (std::size_t i = 0; i < file.directives.size(); ++i) {
    const auto& d = file.directives[i];
    check(d.section == "Service" && d.key == credentialKey(files[i]),
          "the supervisor's drop-in holds only [Service] LoadCredential= (LoadCredentialEncrypted= for *.cred)",
          describe(d));
    checkLoadCredential(d.value, files[i]);
  }
}

void checkDropIn(const config::Config& cfg, const config::ServiceConfig& s, const std::string& text,
                 unitgen::Mode mode) {
  const auto file = tcs::fuzz::parseUnitFile(text);
  check(file.error.empty(), "systemd reads every line of a drop-in", file.error + "\n" + text);
  const auto want = expectedDirectives(cfg, s, mode);
  const auto credentials = credentialsOf(cfg, s);
  std::size_t credential = 0;
  check(sameKeys(file.directives, want), "a drop-in holds exactly the intended directives",
        "got:\n  " + describe(file.directives) + "\nwant:\n  " + describe(want) + "\ntext:\n" + text);

  std::size_t env = 0;
  std::size_t execStart = 0;
  for (const auto& d : file.directives) {
    const auto& k = d.key;
    if (k == "Description") {
      // systemd strips the whitespace around a value; a label's outer spaces may go.
      const auto description = s.description.value_or("tcs service " + s.id());
      const auto trimmed = tcs::fuzz::strip(description);
      check(tcs::fuzz::unescape(d.value, false) == trimmed, "Description= reads back as configured",
            d.value + "\n  want: " + std::string(trimmed));
    } else if (k == "SourcePath") {
      check(tcs::fuzz::unescape(d.value, false) == kConfigPath, "SourcePath= is the config", d.value);
    } else if (k == "Requires" || k == "After") {
      check(unit_name::parseUnitName(d.value).has_value(), "Requires=/After= name a tcs unit", d.value);
    } else if (k == "StartLimitIntervalSec" || k == "RestartSec" || k == "WatchdogSec") {
      check(isTimespan(d.value), "time spans are systemd time spans", describe(d));
    } else if (k == "StartLimitBurst") {
      check(d.value == std::to_string(static_cast<long long>(s.restartMax) + 1), "StartLimitBurst= is restart_max + 1",
            d.value);
    } else if (k == "Environment") {
      static const std::vector<std::string> fixed = {"TCS_CONFIG",     "TCS_SERVICE_TYPE", "TCS_VARIANT",
                                                     "TCS_SERVICE_ID", "TCS_PARENT_NAME",  "TCS_RUNNER_ID",
                                                     "TCS_LOG_LEVEL"};
      const std::vector<std::string> values = {std::string(kConfigPath),
                                               s.type,
                                               s.variant,
                                               s.id(),
                                               "launcher." + kLauncher,
                                               kLauncher + "." + s.type,
                                               std::string(config::toString(s.logLevel))};
      if (env < fixed.size())
        checkEnvironment(d.value, fixed[env] + "=" + values[env],
                         fixed[env] == "TCS_PARENT_NAME" || fixed[env] == "TCS_RUNNER_ID");
      else
        checkEnvironment(
            d.value, s.environment[env - fixed.size()].first + "=" + s.environment[env - fixed.size()].second, false);
      ++env;
    } else if (k == "ExecStart" && execStart++ == 0) {
      check(d.value.empty(), "the first ExecStart= resets the template's", d.value);
    } else if (k == "ExecStart") {
      const auto words = tcs::fuzz::splitWords(d.value);
      check(words && words->size() == 8, "ExecStart= is the program and seven arguments", d.value);
      const auto& w = *words;
      check(std::none_of(w.begin(), w.end(), [](const std::string& x) { return x == ";"; }),
            "no ExecStart= word is a command separator", d.value);
      check(tcs::fuzz::unescape(w[0], false) == s.executable.string(), "ExecStart='s program is the executable",
            d.value);
      check(tcs::fuzz::unescape(w[1], true) == kConfigPath, "ExecStart='s first argument is the config", d.value);
      check(tcs::fuzz::unescape(w[2], true) == s.variant, "ExecStart='s second argument is the variant", d.value);
      check(w[3] == "--runner-id" && w[4] == kLauncher + "." + s.type && w[5] == "--parent-name" &&
                w[6] == "launcher." + kLauncher && w[7] == "--no-banner",
            "ExecStart= ends with the runner id and parent options", d.value);
    } else if (k == "Restart") {
      check(d.value == config::toString(s.restart), "Restart= is the policy", d.value);
    } else if (k == "User") {
      check(d.value == s.user.value_or(""), "User= is the configured user", d.value);
    } else if (k == "Group") {
      check(d.value.empty(), "Group= is reset", d.value);
    } else if (k == "MemoryMax") {
      check(d.value == s.memoryMax.value_or(""), "MemoryMax= is the configured value", d.value);
    } else if (k == "CPUQuota") {
      check(d.value == s.cpuQuota.value_or(""), "CPUQuota= is the configured value", d.value);
    } else if (k == "TasksMax") {
      check(d.value == s.tasksMax.value_or(""), "TasksMax= is the configured value", d.value);
    } else if (k == "Nice") {
      check(s.nice && d.value == std::to_string(*s.nice), "Nice= is the configured value", d.value);
    } else if (k == "IOWeight") {
      check(s.ioWeight && d.value == std::to_string(*s.ioWeight), "IOWeight= is the configured value", d.value);
    } else if (k == "LoadCredential" || k == "LoadCredentialEncrypted") {
      check(k == credentialKey(credentials.at(credential)),
            "*.cred files, and only they, are LoadCredentialEncrypted=", describe(d));
      checkLoadCredential(d.value, credentials.at(credential++));
    }
  }
}

void checkRender(const config::Config& cfg, unitgen::Mode mode) {
  unitgen::RenderOptions options;
  options.mode = mode;
  if (mode == unitgen::Mode::User) {
    options.templateUnit = "/home/user/.config/systemd/user/tcs@.service";
    options.userTemplate = unitgen::kUserTemplateIn;
    options.userTarget = unitgen::kUserTargetIn;
  }
  const auto set = unitgen::render(cfg, options);
  std::size_t want = mode == unitgen::Mode::User ? 2 : 0;
  for (const auto& s : cfg.services()) {
    const auto dropIn = set.find(s.unitName() + ".d/" + std::string(unitgen::kDropInName));
    check(dropIn != set.end() && dropIn->second.kind == unitgen::Entry::Kind::File, "every service has its drop-in",
          s.unitName());
    checkDropIn(cfg, s, dropIn->second.content, mode);
    const auto link = set.find("tcs.target.wants/" + s.unitName());
    check((link != set.end()) == s.enabled, "exactly the enabled services are wanted by tcs.target", s.unitName());
    if (link != set.end())
      check(link->second.kind == unitgen::Entry::Kind::Symlink && link->second.content == options.templateUnit,
            "a .wants/ link points at the template", link->second.content);
    want += s.enabled ? 2 : 1;
  }
  if (mode == unitgen::Mode::System) {
    checkSupervisorDropIn(cfg, set);
    if (!config::natsCredentialFiles(cfg.nats()).empty()) ++want;
  }
  check(set.size() == want,
        "render() writes nothing but the drop-ins, the links, the supervisor's credentials (system mode) and "
        "(user mode) the template");
  if (mode == unitgen::Mode::User)
    for (const auto* name : {unitgen::kTemplateName.data(), unitgen::kTargetName.data()})
      check(tcs::fuzz::parseUnitFile(set.at(name).content).error.empty(), "systemd reads the user-mode units", name);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  config::LoadResult loaded;
  try {
    loaded = config::parse(yaml, kConfigPath, loadOptions());
  } catch (const tcs::ConfigError&) {
    return -1;  // not a config: not worth keeping in this harness's corpus
  }
  // The generator renders a partial config (errors drop their service), so every loaded service counts.
  checkRender(loaded.config, unitgen::Mode::System);
  checkRender(loaded.config, unitgen::Mode::User);
  return 0;
}
