// SPDX-License-Identifier: MIT
#include "cli.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>

#include "render.hpp"
#include "tcs/config.hpp"
#include "tcs/unit_name.hpp"
#include "writer.hpp"

namespace tcs::unitgen {
namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage = R"(Usage: tcs-unitgen [OPTIONS] [CONFIG]

Turn a tcs services.yaml into systemd units: for every configured service a drop-in
tcs@<type>:<variant>.service.d/50-tcs.conf for the shipped template tcs@.service, and for
every enabled one a tcs.target.wants/ link; when the top-level nats: section names credential
files, tcs-supervisor.service.d/50-tcs.conf with their LoadCredential= lines. Output is
deterministic; files are replaced atomically and files of services removed from the config are
deleted.

Arguments:
  CONFIG                 services.yaml to read (default: {config})

Options:
  -o, --output-dir DIR   write units below DIR (default: {output}; with --user:
                         $XDG_CONFIG_HOME/systemd/user, else ~/.config/systemd/user)
      --user             units for the calling user's own manager (systemctl --user), to
                         run services from a build tree without root: also writes the
                         user-mode template tcs@.service and tcs.target there (no User=,
                         the sandboxing a user manager allows); every service binary must
                         exist. Refused as root unless --output-dir is given
      --bin-dir DIR      where 'registry: {{TYPE: ~}}' binaries are, e.g. build/services/bin
                         (default: $TCS_SERVICE_BIN_DIR, else {bindir})
      --nats-address     print the config's NATS server as HOST:PORT (the first of
                         nats.servers, else nats.host and nats.port) and exit; nothing
                         when it has no nats: section (scripts/dev.sh asks this)
      --settings         print every service's unit name and its effective settings (the
                         merged entry the service reads) on one line each, and exit;
                         scripts/dev.sh restarts only services whose line changed
      --remove           remove every file tcs-unitgen wrote in the output directory
                         (with --user: the user-mode template and target too); CONFIG unused
  -n, --dry-run          print every file that would be written, in a stable order
      --check            validate CONFIG only; exit 1 if it has any error
  -q, --quiet            print errors and warnings only
      --generator DIR [EARLY_DIR LATE_DIR]
                         run as a systemd generator (also selected when invoked as
                         'tcs-generator'): read {config}, write units for the
                         valid services into DIR, report invalid ones to the kernel log
      --not-configured INSTANCE
                         explain why tcs@INSTANCE.service has no configuration and exit
                         78 (used by the template's default ExecStart)
  -h, --help             show this help
      --version          show the version

Exit status: 0 success, 1 configuration errors (nothing written), 2 usage error,
3 writing failed (previous units left intact).
After writing to /etc/systemd/system, run 'systemctl daemon-reload' ('systemctl --user
daemon-reload' after --user). scripts/dev.sh does all of it for a build tree.
)";

struct Options {
  std::optional<std::string> config;
  std::string outputDir;
  bool dryRun = false;
  bool check = false;
  bool quiet = false;
  bool generator = false;
  std::vector<std::string> generatorDirs;
  std::optional<std::string> notConfigured;
  bool user = false;
  bool outputDirGiven = false;
  bool remove = false;
  bool natsAddress = false;
  bool settings = false;
  std::optional<std::string> binDir;
};

std::string envOr(const Defaults& d, const char* name, std::string fallback = {}) {
  const auto it = d.environment.find(name);
  return it != d.environment.end() && !it->second.empty() ? it->second : fallback;
}

bool stderrIsDevNull() {
  struct stat err {
  }, null{};
  return ::fstat(STDERR_FILENO, &err) == 0 && ::stat("/dev/null", &null) == 0 && S_ISCHR(err.st_mode) &&
         err.st_rdev == null.st_rdev;
}

class Reporter {
 public:
  Reporter(std::FILE* err, bool kmsg) : err_(err) {
    if (kmsg) {
      // Generators must not use syslog or the journal. Like systemd's own, log to the kernel
      // log, or to the console where there is none (containers have no /dev/kmsg, and
      // systemd runs generators with stderr on /dev/null).
      kmsgFd_ = ::open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
      if (kmsgFd_ < 0 && stderrIsDevNull()) {
        kmsgFd_ = ::open("/dev/console", O_WRONLY | O_CLOEXEC | O_NOCTTY);
        console_ = kmsgFd_ >= 0;
      }
    }
  }
  ~Reporter() {
    if (kmsgFd_ >= 0) ::close(kmsgFd_);
  }
  Reporter(const Reporter&) = delete;
  Reporter& operator=(const Reporter&) = delete;

  // priority: 3 error, 4 warning, 6 info (syslog levels for /dev/kmsg)
  void print(int priority, const std::string& text) {
    if (kmsgFd_ >= 0) {
      const std::string line = console_ ? fmt::format("tcs-generator: {}\n", text)
                                        : fmt::format("<{}>tcs-generator[{}]: {}\n", priority, ::getpid(), text);
      if (::write(kmsgFd_, line.data(), line.size()) == static_cast<ssize_t>(line.size())) return;
    }
    fmt::print(err_, "{}\n", text);
  }

 private:
  std::FILE* err_;
  int kmsgFd_ = -1;
  bool console_ = false;
};

std::optional<std::string> parse(const std::vector<std::string>& args, Options& o, std::FILE* out, const Defaults& d,
                                 bool& exitNow) {
  exitNow = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& dest) -> bool {
      if (i + 1 >= args.size()) return false;
      dest = args[++i];
      return true;
    };
    if (a == "-h" || a == "--help") {
      fmt::print(out, kUsage, fmt::arg("config", d.configPath), fmt::arg("output", d.outputDir),
                 fmt::arg("bindir", d.serviceBinDir));
      exitNow = true;
      return std::nullopt;
    }
    if (a == "--version") {
      fmt::print(out, "tcs-unitgen {}\n", d.version);
      exitNow = true;
      return std::nullopt;
    }
    if (a == "-o" || a == "--output-dir") {
      if (!value(o.outputDir)) return fmt::format("{} needs a directory", a);
      o.outputDirGiven = true;
    } else if (a.starts_with("--output-dir=")) {
      o.outputDir = a.substr(13);
      o.outputDirGiven = true;
    } else if (a == "--user") {
      o.user = true;
    } else if (a == "--remove") {
      o.remove = true;
    } else if (a == "--nats-address") {
      o.natsAddress = true;
    } else if (a == "--settings") {
      o.settings = true;
    } else if (a == "--bin-dir") {
      std::string dir;
      if (!value(dir)) return "--bin-dir needs a directory";
      o.binDir = dir;
    } else if (a.starts_with("--bin-dir=")) {
      o.binDir = a.substr(10);
    } else if (a == "-n" || a == "--dry-run") {
      o.dryRun = true;
    } else if (a == "--check") {
      o.check = true;
    } else if (a == "-q" || a == "--quiet") {
      o.quiet = true;
    } else if (a == "--generator") {
      o.generator = true;
      while (i + 1 < args.size() && !args[i + 1].starts_with("-")) o.generatorDirs.push_back(args[++i]);
    } else if (a == "--not-configured") {
      std::string inst;
      if (!value(inst)) return "--not-configured needs an instance name";
      o.notConfigured = inst;
    } else if (a.starts_with("-") && a != "-") {
      return fmt::format("unknown option '{}'", a);
    } else if (!o.config) {
      o.config = a;
    } else {
      return fmt::format("unexpected argument '{}' (only one CONFIG may be given)", a);
    }
  }
  if (o.generator && o.generatorDirs.size() != 1 && o.generatorDirs.size() != 3)
    return fmt::format("generator mode needs 1 or 3 directories, got {}", o.generatorDirs.size());
  if (o.dryRun && o.check) return "--dry-run and --check exclude each other";
  if (o.generator && (o.user || o.remove)) return "generator mode excludes --user and --remove";
  if (o.remove && (o.dryRun || o.check)) return "--remove excludes --dry-run and --check";
  if (o.binDir && o.binDir->empty()) return "--bin-dir needs a directory";
  return std::nullopt;
}

void report(Reporter& r, const std::vector<config::Diagnostic>& diags) {
  for (const auto& d : diags) r.print(d.severity == config::Diagnostic::Severity::Error ? 3 : 4, d.format());
}

int notConfigured(const std::string& inst, const std::string& configPath, const Defaults& d, std::FILE* err) {
  // Runs as the template's ExecStart for an instance without drop-in: say why, precisely.
  const std::string unit = fmt::format("tcs@{}.service", inst);
  const auto parsed = unit_name::parseUnitName(unit);
  if (!parsed) {
    fmt::print(err,
               "{}: '{}' is not a valid tcs instance: expected <type>:<variant>, each part matching {} "
               "(types may have dot-separated parts)\n",
               unit, inst, unit_name::kTokenPattern);
    return kExitConfig;
  }
  const std::string id = unit_name::serviceId(parsed->type, parsed->variant);
  try {
    config::LoadOptions lo;
    lo.builtinServiceDir = fs::absolute(envOr(d, "TCS_SERVICE_BIN_DIR", d.serviceBinDir)).lexically_normal();
    const auto result = config::load(configPath, lo);
    if (result.config.findById(id)) {
      fmt::print(err,
                 "{}: '{}' is configured in {} but its units are not generated yet: run 'tcs-unitgen' or "
                 "'systemctl daemon-reload'\n",
                 unit, id, configPath);
      return kExitConfig;
    }
    if (const auto* own = result.rejectedEntry(parsed->type, parsed->variant)) {
      // Configured but invalid: show exactly the errors of its entry.
      const std::string path = fmt::format("services[{}]", own->index);
      for (const auto& diag : result.errorsAt(path)) fmt::print(err, "{}: config error: {}\n", unit, diag.format());
      fmt::print(err,
                 "{}: service '{}' is configured in {} as {} but invalid (errors above); fix it, then run "
                 "'systemctl daemon-reload'\n",
                 unit, id, configPath, path);
    } else {
      fmt::print(err,
                 "{}: service '{}' is not configured in {}; add an entry with type: {} and variant: {}, then "
                 "run 'systemctl daemon-reload'\n",
                 unit, id, configPath, parsed->type, parsed->variant);
    }
  } catch (const ConfigError& e) {
    fmt::print(err, "{}: service '{}' has no units because the config cannot be loaded: {}\n", unit, id, e.what());
  }
  return kExitConfig;
}

// The user manager's unit directory: $XDG_CONFIG_HOME/systemd/user, else ~/.config/systemd/user
// (HOME, else the password database), as systemd --user reads it.
std::optional<fs::path> userUnitDir(const Defaults& d, std::string& problem) {
  const std::string xdg = envOr(d, "XDG_CONFIG_HOME");
  if (!xdg.empty() && fs::path(xdg).is_absolute()) return fs::path(xdg) / "systemd/user";
  std::string home = envOr(d, "HOME");
  if (home.empty())
    if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_dir) home = pw->pw_dir;
  if (home.empty() || !fs::path(home).is_absolute()) {
    problem =
        "--user: cannot find the user's unit directory: neither XDG_CONFIG_HOME nor HOME is an absolute path; "
        "give --output-dir";
    return std::nullopt;
  }
  return fs::path(home) / ".config/systemd/user";
}

// One line, in file order, every scalar typed: equal text = equal settings.
void appendCanonical(std::string& out, const config::Value& v) {
  using Value = config::Value;
  switch (v.kind()) {
    case Value::Kind::Null: out += "null"; break;
    case Value::Kind::Bool: out += v.boolValue() ? "true" : "false"; break;
    case Value::Kind::Int: out += std::to_string(v.intValue()); break;
    case Value::Kind::Double: out += fmt::format("{}", v.doubleValue()); break;
    case Value::Kind::String:
      out += '"';
      for (char c : v.stringValue()) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') {
          out += "\\n";
          continue;
        }
        out += c;
      }
      out += '"';
      break;
    case Value::Kind::Sequence:
      out += '[';
      for (std::size_t i = 0; i < v.items().size(); ++i) {
        if (i) out += ',';
        appendCanonical(out, v.items()[i]);
      }
      out += ']';
      break;
    case Value::Kind::Mapping:
      out += '{';
      for (std::size_t i = 0; i < v.entries().size(); ++i) {
        if (i) out += ',';
        out += fmt::format("\"{}\":", v.entries()[i].first);
        appendCanonical(out, v.entries()[i].second);
      }
      out += '}';
      break;
  }
}

// --user: every service binary must exist now (the build tree is the install); name the
// missing ones where the config configures them. Disabled services only warn.
bool checkBinaries(const config::Config& cfg, const fs::path& binDir, Reporter& r) {
  bool ok = true;
  for (const auto& s : cfg.services()) {
    if (::access(s.executable.c_str(), X_OK) == 0) continue;
    const int err = errno;
    const bool fromBinDir = s.executable.parent_path() == binDir;
    config::Diagnostic diag;
    diag.severity = s.enabled ? config::Diagnostic::Severity::Error : config::Diagnostic::Severity::Warning;
    diag.file = cfg.path().string();
    diag.mark = s.mark;
    diag.yamlPath = s.yamlPath();
    diag.message = fmt::format(
        "service {}: binary {} {}{}", s.id(), s.executable.string(),
        err == ENOENT ? "does not exist" : fmt::format("is not executable ({})", std::strerror(err)),
        fromBinDir
            ? fmt::format(" (registry '{}: ~' = the bin dir {}: build it, or pass --bin-dir)", s.type, binDir.string())
            : fmt::format(" (registry.{})", s.type));
    r.print(s.enabled ? 3 : 4, diag.format());
    ok = ok && !s.enabled;
  }
  return ok;
}

}  // namespace

int run(const std::vector<std::string>& argsIn, const Defaults& d, std::FILE* out, std::FILE* err) {
  std::vector<std::string> args(argsIn.begin() + (argsIn.empty() ? 0 : 1), argsIn.end());
  Options o;
  o.outputDir = d.outputDir;
  const std::string argv0 = argsIn.empty() ? "" : fs::path(argsIn[0]).filename().string();
  if (argv0 == "tcs-generator") {
    // systemd calls generators with exactly 1 or 3 directory arguments.
    o.generator = true;
    o.generatorDirs = args;
    args.clear();
  }
  bool exitNow = false;
  if (auto problem = parse(args, o, out, d, exitNow)) {
    fmt::print(err, "tcs-unitgen: {}\nTry 'tcs-unitgen --help'.\n", *problem);
    return 2;
  }
  if (exitNow) return 0;

  const std::string configPath = o.config.value_or(d.configPath);
  if (o.notConfigured) return notConfigured(*o.notConfigured, configPath, d, err);

  // --user: the calling user's unit directory; as root that would be root's own manager,
  // almost never what is meant (sudo keeps HOME, su does not), so an explicit directory is
  // required.
  if (o.user && !o.outputDirGiven) {
    if (d.root && !o.check && !o.dryRun) {
      fmt::print(err,
                 "tcs-unitgen: --user writes units for the calling user's own service manager, but this is root: "
                 "run it as the user who will run the services (not through sudo), or give --output-dir DIR\n");
      return 2;
    }
    std::string problem;
    const auto dir = userUnitDir(d, problem);
    if (!dir) {
      fmt::print(err, "tcs-unitgen: {}\n", problem);
      return 2;
    }
    o.outputDir = dir->string();
  }
  if (o.remove) {
    try {
      const WriteReport w = removeUnitSet(o.outputDir);
      if (!o.quiet) {
        fmt::print(out, "tcs-unitgen: {} file(s) removed from {}\n", w.removed.size(), o.outputDir);
        for (const auto& r : w.removed) fmt::print(out, "  removed {}\n", r);
        if (!w.removed.empty()) fmt::print(out, "Run 'systemctl{} daemon-reload' to apply.\n", o.user ? " --user" : "");
      }
      return 0;
    } catch (const fs::filesystem_error& e) {
      fmt::print(err, "tcs-unitgen: {}: {}\n", e.path1().string(), e.code().message());
      return 3;
    }
  }
  std::error_code absEc;
  const fs::path binDir =
      fs::absolute(o.binDir.value_or(envOr(d, "TCS_SERVICE_BIN_DIR", d.serviceBinDir)), absEc).lexically_normal();
  if (o.user && o.outputDirGiven) o.outputDir = fs::absolute(o.outputDir, absEc).string();

  Reporter reporter(err, o.generator);
  const auto started = std::chrono::steady_clock::now();
  config::LoadOptions lo;
  lo.builtinServiceDir = binDir;
  config::LoadResult loaded;
  try {
    if (o.generator && !o.config && !fs::exists(configPath)) return 0;  // nothing configured on this host
    loaded = config::load(configPath, lo);
  } catch (const ConfigError& e) {
    reporter.print(3, fmt::format("{}: error: {}", o.generator ? "tcs-generator" : "tcs-unitgen", e.what()));
    if (!o.generator) reporter.print(3, "tcs-unitgen: nothing written");
    return 1;
  }
  report(reporter, loaded.diagnostics);
  if (o.natsAddress) {
    const auto& n = loaded.config.nats();
    if (!n.present) return 0;
    if (n.servers.empty()) {
      fmt::print(out, "{}:{}\n", n.host, n.port);
    } else {
      std::string server = n.servers.front();
      if (const auto scheme = server.find("://"); scheme != std::string::npos) server = server.substr(scheme + 3);
      if (const auto at = server.rfind('@'); at != std::string::npos) server = server.substr(at + 1);  // user:pass@
      fmt::print(out, "{}{}\n", server, server.find(':') == std::string::npos ? ":4222" : "");
    }
    return 0;
  }

  const auto& services = loaded.config.services();
  if (o.settings) {
    for (const auto& s : services) {
      std::string line;
      appendCanonical(line, s.settings.root());
      fmt::print(out, "{} {}\n", s.unitName(), line);
    }
    return loaded.ok() ? 0 : 1;
  }
  bool binariesOk = true;
  if (o.user) {
    for (const auto& s : services)
      if (s.user)
        reporter.print(4,
                       fmt::format("{}:{}:{}: warning: {}.user: '{}' is ignored under --user: the user manager "
                                   "runs every service as the calling user",
                                   loaded.config.path().string(), s.mark.line, s.mark.column, s.yamlPath(), *s.user));
    binariesOk = checkBinaries(loaded.config, binDir, reporter);
  }
  if (o.check) {
    if (!binariesOk) {
      reporter.print(3, fmt::format("{}: service binaries missing (see above)", configPath));
      return 1;
    }
    if (!loaded.ok()) {
      reporter.print(3, fmt::format("{}: {} error(s); {} of the configured services are valid", configPath,
                                    loaded.errorCount(), services.size()));
      return 1;
    }
    if (!o.quiet) fmt::print(out, "{}: OK, {} service(s)\n", configPath, services.size());
    return 0;
  }

  RenderOptions ro;
  ro.templateUnit = d.templateUnit;
  if (o.user) {
    ro.mode = Mode::User;
    ro.templateUnit = fs::path(o.outputDir) / kTemplateName;
    ro.userTemplate = d.userTemplate;
    ro.userTarget = d.userTarget;
    ro.unitgenPath = d.selfPath;
    ro.docDir = d.docDir;
  }
  const UnitSet units = render(loaded.config, ro);

  if (o.dryRun) {
    fmt::print(out, "{}", formatDryRun(units));
    return loaded.ok() && binariesOk ? 0 : 1;
  }
  // Outside generator mode a config with errors changes nothing: the units of the last good
  // config stay in place rather than half of the new one.
  if (!loaded.ok() && !o.generator) {
    reporter.print(3, fmt::format("tcs-unitgen: {} error(s) in {}; nothing written", loaded.errorCount(), configPath));
    return 1;
  }
  if (!binariesOk) {
    reporter.print(3, fmt::format("tcs-unitgen: service binaries missing in {}; nothing written", binDir.string()));
    return 1;
  }
  const fs::path dir = o.generator ? fs::path(o.generatorDirs.front()) : fs::path(o.outputDir);
  try {
    const WriteReport w = writeUnitSet(units, dir);
    const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    if (!o.quiet && !o.generator) {
      std::size_t enabled = 0;
      for (const auto& s : services) enabled += s.enabled ? 1 : 0;
      fmt::print(
          out,
          "tcs-unitgen: {} service(s) ({} enabled) from {} → {}: {} written, {} unchanged, {} removed ({:.0f} ms)\n",
          services.size(), enabled, configPath, dir.string(), w.written.size(), w.unchanged.size(), w.removed.size(),
          ms);
      for (const auto& r : w.removed) fmt::print(out, "  removed {}\n", r);
      if (!w.written.empty() || !w.removed.empty())
        fmt::print(out, "Run 'systemctl{} daemon-reload' to apply.\n", o.user ? " --user" : "");
      if (o.user && envOr(d, "XDG_RUNTIME_DIR").empty())
        fmt::print(out,
                   "Note: XDG_RUNTIME_DIR is not set: this session has no user manager to load them (e.g. after "
                   "plain 'su'). Log in directly, or use 'machinectl shell USER@' (with 'loginctl enable-linger "
                   "USER' for a manager that outlives logins).\n");
    }
  } catch (const fs::filesystem_error& e) {
    reporter.print(
        3, fmt::format("tcs-unitgen: {}: {}; previous units left intact", e.path1().string(), e.code().message()));
    return 3;
  }
  if (o.generator && !loaded.ok()) return 1;
  return 0;
}

}  // namespace tcs::unitgen
