// SPDX-License-Identifier: MIT
// tcsctl: the command line, the config's `nats:` section, the connection, and each command.
#include "app.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <langinfo.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <clocale>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "client_config.hpp"
#include "fleet_json.hpp"
#include "hosts_view.hpp"
#include "render.hpp"
#include "tcs/config.hpp"
#include "tcs/control.hpp"
#include "tcs/log.hpp"
#include "tcs/nats.hpp"

#ifndef TCS_VERSION
#define TCS_VERSION "unknown"
#endif
#ifndef TCS_CONFIG_PATH
#define TCS_CONFIG_PATH "/etc/tcs/services.yaml"
#endif

namespace tcs::ctl {

namespace {

namespace fs = std::filesystem;
namespace p = protocol;
using control::ControlError;
using control::ServiceControlClient;
using std::chrono::milliseconds;

/// Upstream's default config path (relative to the working directory), tried after ours.

/// A failure with its exit code and a message for stderr.
struct Failure {
  int code;
  std::string message;
};

struct Options {
  // Listing (upstream's interface).
  std::string filter;
  bool all = false;
  bool detailed = false;
  bool verbose = false;
  bool legend = false;
  std::string configPath;
  std::optional<std::string> host;
  std::optional<int> port;
  std::optional<std::string> prefix;
  // tcs's additions.
  std::vector<std::string> hostFilter;  ///< --host-filter, commas split
  bool json = false;
  bool follow = false;
  bool ascii = false;
  bool upstreamRules = false;
  std::optional<std::size_t> width;
  double timeout = 5.0;  ///< connect + read bound, seconds
  double listen = 3.0;   ///< live window without JetStream, seconds
  bool completeIds = false;
  // Verbs.
  std::string serviceId;
  std::string launcher;
  int lines = 50;
  std::string priority;
  bool logsFollow = false;
};

milliseconds toMs(double seconds) {
  return milliseconds(static_cast<long long>(seconds * 1000.0));
}

std::string describeSeconds(double s) {
  return s == static_cast<long long>(s) ? fmt::format("{} s", static_cast<long long>(s)) : fmt::format("{} s", s);
}

// ---- config and connection ---------------------------------------------------------------------

/// The `nats:` section of the config (only that section matters to tcsctl, as upstream), with
/// --host/--port/--prefix applied.
config::NatsConfig natsSettings(const Options& o, std::ostream& err) {
  ClientConfig client;
  try {
    client = loadClientConfig(o.configPath, TCS_CONFIG_PATH);
  } catch (const ClientConfigError& e) {
    throw Failure{exit_code::kUsage, e.what()};
  }
  config::NatsConfig nats = client.nats;
  if (o.verbose) {
    if (!client.path.empty())
      err << fmt::format("tcsctl: NATS settings from {}\n", client.path.string());
    else
      err << fmt::format("tcsctl: no config ({} nor {}): NATS at localhost:4222\n", TCS_CONFIG_PATH, kUpstreamConfig);
  }
  if (o.host || o.port) nats.servers.clear();  // an explicit host/port wins over the server list
  if (o.host) nats.host = *o.host;
  if (o.port) nats.port = *o.port;
  if (o.prefix) nats.subjectPrefix = *o.prefix;
  nats.required = true;
  return nats;
}

std::unique_ptr<NatsConnection> connect(const config::NatsConfig& cfg, const Options& o) {
  NatsOptions no;
  no.name = "tcsctl";
  no.connectDeadline = toMs(o.timeout);
  no.connectTimeout = std::min(toMs(o.timeout), milliseconds(2000));
  no.reconnectWaitMin = milliseconds(100);
  no.reconnectWaitMax = milliseconds(1000);
  try {
    return std::make_unique<NatsConnection>(cfg, no);
  } catch (const NatsError& e) {
    const auto servers = fmt::format("{}", fmt::join(natsServerUrls(cfg), ", "));
    if (e.kind() == NatsError::Kind::Config) throw Failure{exit_code::kUsage, e.what()};
    throw Failure{exit_code::kUnreachable, fmt::format("cannot reach NATS at {} (tried for {}): {}", servers,
                                                       describeSeconds(o.timeout), e.what())};
  }
}

// ---- rendering ---------------------------------------------------------------------------------

RenderStyle styleFor(const Options& o, const Terminal& t) {
  RenderStyle s;
  s.color = t.tty && !t.noColor;
  s.unicode = t.utf8 && !o.ascii;
  s.width = o.width ? *o.width : t.width;
  return s;
}

FleetRules rulesFor(const Options& o) {
  return o.upstreamRules ? FleetRules::upstreamTcsctl() : FleetRules::tcs();
}

FleetQuery queryFor(const Options& o) {
  // Upstream's help says a SERVICE filter "shows service even if stopped", but its client drops
  // stopped services first; tcs keeps the promise of the help text.
  return FleetQuery{.all = o.all || !o.filter.empty(), .filter = o.filter};
}

std::string renderFleet(const control::Snapshot& snap, const Options& o, const RenderStyle& style) {
  const auto listing = snap.view.list(snap.takenAt, queryFor(o), o.hostFilter);
  if (o.json) {
    FleetJsonMeta meta;
    meta.jetstream = snap.jetstream;
    meta.notes = snap.notes;
    auto text = fleetJsonText(snap.view, listing, snap.takenAt, meta);
    text += '\n';  // in place: at 10,000 services a copy is 13 MB
    return text;
  }
  return o.detailed ? renderDetailed(snap.view, listing, snap.takenAt, style, snap.notes)
                    : renderTable(snap.view, listing, snap.takenAt, style, snap.notes);
}

// ---- commands ----------------------------------------------------------------------------------

control::SnapshotOptions snapshotOptions(const Options& o) {
  return {.timeout = toMs(o.timeout), .liveWindow = toMs(o.listen), .readStored = true};
}

int list(const Options& o, Terminal& t) {
  const auto cfg = natsSettings(o, t.err);
  auto nats = connect(cfg, o);
  ServiceControlClient client(*nats, cfg.subjectPrefix, rulesFor(o));
  const auto began = std::chrono::steady_clock::now();
  const auto snap = client.snapshot(snapshotOptions(o));
  if (o.verbose) {
    // Upstream's README promises these "collection statistics" under -v (its logging hid them).
    for (const auto& r : snap.streams)
      t.err << fmt::format("tcsctl: {}: stream {}: {} of {} stored messages\n", r.filter,
                           r.read.stream.empty() ? "-" : r.read.stream, r.read.delivered, r.read.expected);
    t.err << fmt::format("tcsctl: {} stored + {} live messages, {} records, in {} ms\n", snap.storedMessages,
                         snap.liveMessages, snap.view.entries().size(),
                         std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - began).count());
  }
  if (o.completeIds) {
    for (const auto& [id, e] : snap.view.entries())
      if (e.kind == FleetEntryKind::Service) t.out << id << "\n";
    return exit_code::kOk;
  }
  {
    // The same id alive twice: said on stderr whatever the format (tcs addition).
    const auto listing = snap.view.list(snap.takenAt, queryFor(o), o.hostFilter);
    for (const auto& w : duplicateWarnings(snap.view, listing)) t.err << "tcsctl: " << w << "\n";
  }
  if (o.json) {  // the text of renderFleet(), written as it is made
    const auto listing = snap.view.list(snap.takenAt, queryFor(o), o.hostFilter);
    writeFleetJson(t.out, snap.view, listing, snap.takenAt, {.jetstream = snap.jetstream, .notes = snap.notes});
    t.out << "\n";
    return exit_code::kOk;
  }
  t.out << renderFleet(snap, o, styleFor(o, t));
  return exit_code::kOk;
}

std::atomic<bool> interrupted{false};
extern "C" void onInterrupt(int) {
  interrupted = true;
}

/// Installs SIGINT/SIGTERM handlers for the lifetime of a follow loop.
class InterruptGuard {
 public:
  InterruptGuard() {
    interrupted = false;
    struct sigaction sa {};
    sa.sa_handler = onInterrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &oldInt_);
    sigaction(SIGTERM, &sa, &oldTerm_);
  }
  ~InterruptGuard() {
    sigaction(SIGINT, &oldInt_, nullptr);
    sigaction(SIGTERM, &oldTerm_, nullptr);
  }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  struct sigaction oldInt_ {};
  struct sigaction oldTerm_ {};
};

int follow(const Options& o, Terminal& t) {
  const auto cfg = natsSettings(o, t.err);
  auto nats = connect(cfg, o);
  ServiceControlClient client(*nats, cfg.subjectPrefix, rulesFor(o));
  const auto style = styleFor(o, t);
  std::mutex m;
  std::condition_variable changed;
  bool dirty = true;
  control::FollowCallbacks cb;
  // Only the first change after a frame wakes the loop: a big fleet heartbeats all the time
  // (1,000 services: 100 messages a second), and a wake-up per message cost more than the frames.
  const auto markChanged = [&] {
    std::lock_guard lock(m);
    if (dirty) return;
    dirty = true;
    changed.notify_one();
  };
  cb.update = [&](const FleetEntry&) { markChanged(); };
  cb.resynced = markChanged;
  InterruptGuard guard;
  client.startFollowing(cb, {.tick = milliseconds(1000), .snapshot = snapshotOptions(o)});
  std::string last;
  const bool redraw = t.tty && !o.json;
  if (redraw) t.out << "\x1b[?25l";  // hide the cursor while redrawing
  const auto stopping = [&] { return interrupted.load() || (t.stop != nullptr && t.stop->load()); };
  // A screen is redrawn at most 0.5 s after a change and every second anyway, for ages and
  // uptimes. A pipe gets a frame only after a change, at most one a second: with a fleet that
  // heartbeats all the time every frame differs (ages, last heartbeats), and each is the whole
  // listing (1,000 services: ~1.3 MB of JSON).
  using Clock = std::chrono::steady_clock;
  const auto gap = t.tty ? milliseconds(500) : milliseconds(1000);
  auto lastDraw = Clock::time_point{};
  while (!stopping()) {
    {
      std::unique_lock lock(m);
      const auto now = Clock::now();
      const auto due = dirty ? lastDraw + gap : t.tty ? lastDraw + milliseconds(1000) : Clock::time_point::max();
      if (now < due) {
        // Woken by the first change, else at the due time; every 200 ms at most to see Ctrl-C.
        changed.wait_until(lock, std::min(due, now + milliseconds(200)));
        continue;
      }
      dirty = false;
    }
    if (stopping()) break;
    lastDraw = Clock::now();
    std::string frame;
    client.withCurrent([&](const control::Snapshot& snap) { frame = renderFleet(snap, o, style); });
    if (frame == last) continue;
    last = frame;
    if (redraw) {
      // Home, the frame with every line cleared to its end, then clear below: no flicker.
      std::string out = "\x1b[H";
      std::size_t start = 0;
      while (start < frame.size()) {
        const auto nl = frame.find('\n', start);
        out += frame.substr(start, nl - start) + "\x1b[K\n";
        if (nl == std::string::npos) break;
        start = nl + 1;
      }
      out += "\x1b[J";
      t.out << out << std::flush;
    } else {
      t.out << frame << std::flush;  // a pipe gets each changed frame once
    }
  }
  client.stopFollowing();
  if (redraw) t.out << "\x1b[?25h" << std::flush;
  return exit_code::kOk;
}

int controlFailure(const ControlError& e, std::string_view what, std::ostream& err) {
  err << fmt::format("tcsctl: {}: {}\n", what, e.what());
  switch (e.kind()) {
    case ControlError::Kind::NotFound: return exit_code::kNotFound;
    case ControlError::Kind::Unreachable: return exit_code::kUnreachable;
    case ControlError::Kind::Ambiguous: return exit_code::kUsage;
    default: return exit_code::kRefused;
  }
}

int act(const std::string& verb, const Options& o, Terminal& t) {
  const auto cfg = natsSettings(o, t.err);
  auto nats = connect(cfg, o);
  ServiceControlClient client(*nats, cfg.subjectPrefix, rulesFor(o));
  const auto what = fmt::format("{} {}", verb, o.serviceId);
  try {
    p::LauncherActionReply r;
    if (verb == "start")
      r = client.start(o.serviceId);
    else if (verb == "stop")
      r = client.stop(o.serviceId);
    else if (verb == "restart")
      r = client.restart(o.serviceId);
    else
      r = client.resetFailed(o.serviceId);
    t.out << fmt::format("{} {} on launcher.{}{}\n", r.result, r.serviceId, r.launcherId,
                         r.pid ? fmt::format(" (pid {})", *r.pid) : "");
    return exit_code::kOk;
  } catch (const ControlError& e) {
    return controlFailure(e, what, t.err);
  }
}

int hosts(const Options& o, Terminal& t) {
  const auto cfg = natsSettings(o, t.err);
  auto nats = connect(cfg, o);
  ServiceControlClient client(*nats, cfg.subjectPrefix, rulesFor(o));
  const auto snap = client.snapshot(snapshotOptions(o));
  auto list = ServiceControlClient::hosts(snap);
  std::erase_if(list, [&](const control::HostInfo& h) { return !snap.view.onHosts(h.entry, o.hostFilter); });
  if (o.json) {
    t.out << hostsJsonText(list, snap.takenAt, snap.jetstream, snap.notes) << "\n";
    return exit_code::kOk;
  }
  t.out << renderHosts(list, snap.takenAt, styleFor(o, t));
  for (const auto& n : snap.notes) t.err << "tcsctl: note: " << n << "\n";
  return exit_code::kOk;
}

int reload(const Options& o, Terminal& t) {
  const auto cfg = natsSettings(o, t.err);
  auto nats = connect(cfg, o);
  ServiceControlClient client(*nats, cfg.subjectPrefix, rulesFor(o));
  std::vector<std::string> targets;
  if (!o.launcher.empty()) {
    targets.push_back(o.launcher);
  } else {
    const auto snap = client.snapshot(snapshotOptions(o));
    for (const auto& h : ServiceControlClient::hosts(snap))
      if (h.liveness == HeartbeatLiveness::Alive || h.liveness == HeartbeatLiveness::Stale)
        targets.push_back(h.launcherId);
    if (targets.empty()) {
      t.err << "tcsctl: reload: no live launcher in the fleet (see tcsctl hosts)\n";
      return exit_code::kNotFound;
    }
  }
  int rc = exit_code::kOk;
  for (const auto& launcher : targets) {
    try {
      const auto r = client.reload(launcher);
      t.out << fmt::format("reloaded launcher.{}: {} service(s) declared{}\n", r.launcherId, r.declared.size(),
                           r.errors.empty() ? "" : fmt::format(", {} config error(s):", r.errors.size()));
      for (const auto& e : r.errors) t.out << "  " << e << "\n";
      if (!r.errors.empty()) rc = exit_code::kRefused;
    } catch (const ControlError& e) {
      rc = controlFailure(e, "reload " + launcher, t.err);
    }
  }
  return rc;
}

std::string formatLogEntry(const p::LogEntry& e, const RenderStyle& style) {
  const auto f = p::toFields(e.timestamp);
  auto line =
      fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03} {}{}: {}", f[0], f[1], f[2], f[3], f[4], f[5], f[6] / 1000,
                  e.identifier.empty() ? "?" : e.identifier, e.pid ? fmt::format("[{}]", *e.pid) : "", e.message);
  if (!style.color) return line;
  if (e.priority <= 3) return "\x1b[1;31m" + line + "\x1b[0m";  // err and worse: bold red, as journalctl
  if (e.priority == 4) return "\x1b[33m" + line + "\x1b[0m";    // warning
  if (e.priority == 7) return "\x1b[2m" + line + "\x1b[0m";     // debug: dim
  return line;
}

int logs(const Options& o, Terminal& t) {
  p::LogsRequest request;
  if (o.lines < 1 || o.lines > p::kLogsMaxLines)
    throw Failure{exit_code::kUsage, fmt::format("logs: -n must be 1 … {}, not {}", p::kLogsMaxLines, o.lines)};
  request.lines = o.lines;
  if (!o.priority.empty()) {
    request.priority = p::parseLogPriority(o.priority);
    if (!request.priority)
      throw Failure{exit_code::kUsage, fmt::format("logs: unknown priority '{}' (0-7, or emerg, alert, crit, err, "
                                                   "warning, notice, info, debug)",
                                                   o.priority)};
  }
  const auto cfg = natsSettings(o, t.err);
  auto nats = connect(cfg, o);
  ServiceControlClient client(*nats, cfg.subjectPrefix, rulesFor(o));
  const auto style = styleFor(o, t);
  const auto what = fmt::format("logs {}", o.serviceId);
  InterruptGuard guard;
  const auto stopping = [&] { return interrupted.load() || (t.stop != nullptr && t.stop->load()); };
  try {
    auto reply = client.logs(o.serviceId, request);
    for (;;) {
      if (reply.truncated)
        t.out << fmt::format("-- earlier lines left out: the reply is capped at {} KiB --\n", p::kLogsMaxBytes / 1024);
      for (const auto& e : reply.entries) t.out << formatLogEntry(e, style) << "\n";
      t.out << std::flush;
      if (!o.logsFollow) return exit_code::kOk;
      // Follow: ask for what came after the last line, once a second.
      request.lines = p::kLogsMaxLines;
      if (!reply.cursor.empty()) request.afterCursor = reply.cursor;
      const auto until = std::chrono::steady_clock::now() + milliseconds(1000);
      while (!stopping() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(milliseconds(100));
      if (stopping()) return exit_code::kOk;
      reply = client.logs(o.serviceId, request);
    }
  } catch (const ControlError& e) {
    return controlFailure(e, what, t.err);
  }
}

}  // namespace

// =================================================================================================

Terminal processTerminal() {
  Terminal t{std::cout, std::cerr};
  t.tty = ::isatty(STDOUT_FILENO) == 1;
  std::setlocale(LC_CTYPE, "");
  const std::string codeset = nl_langinfo(CODESET);
  t.utf8 = codeset == "UTF-8" || codeset == "utf8";
  const char* noColor = std::getenv("NO_COLOR");
  t.noColor = noColor != nullptr && *noColor != '\0';
  if (t.tty) {
    winsize ws{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) t.width = ws.ws_col;
  }
  if (t.width == 0) {
    if (const char* columns = std::getenv("COLUMNS")) {
      try {
        t.width = std::stoul(columns);
      } catch (const std::exception&) {
      }
    }
  }
  return t;
}

int run(const std::vector<std::string>& args, Terminal& t) {
  Options o;
  CLI::App app{
      "tcsctl: every tcs service on every host — status, heartbeat, crashes and restarts — from the NATS "
      "registry, status and heartbeat streams; and start/stop/restart/reset-failed/reload/logs through the "
      "owning host's tcs-supervisor.\n\n"
      "Without a verb it lists the fleet, grouped launcher -> services -> children (upstream tcsctl's interface). "
      "Exit codes: 0 ok, 1 usage or config error (or an id on two hosts: say HOST:SERVICE_ID), 2 NATS or the "
      "supervisor unreachable, 3 refused or failed, "
      "4 service not found."};
  app.name("tcsctl");
  app.fallthrough();
  app.require_subcommand(0, 1);
  app.add_option("SERVICE", o.filter,
                 "only services whose id contains this (case-insensitive); shows them even if stopped");
  app.add_flag("-a,--all", o.all, "include stopped services and old declared ones");
  app.add_flag("-d,--detailed", o.detailed, "several lines per service (times, crash, restart policy, counters)");
  app.add_flag("-v,--verbose", o.verbose, "say where the settings come from and log at INFO");
  app.add_flag("--legend", o.legend, "explain the symbols and colours, and exit (no NATS access)");
  app.add_option("-c,--config", o.configPath,
                 fmt::format("services.yaml whose nats: section is used (default {}, then ./{})", TCS_CONFIG_PATH,
                             kUpstreamConfig));
  app.add_option("--host", o.host, "NATS host (overrides the config's host and servers)");
  app.add_option("--port", o.port, "NATS port (overrides the config's)")->check(CLI::Range(1, 65535));
  app.add_option("--prefix", o.prefix, "subject prefix (default nats.subject_prefix, else svc)");
  app.add_option("--host-filter", o.hostFilter,
                 "only this host's launcher and services: a short or full hostname or a launcher id; repeat it or "
                 "give a comma list (--host is the NATS server)")
      ->delimiter(',')
      ->take_all();
  app.add_flag("--json", o.json, "machine-readable output (schema tcs.fleet/1, doc/tcsctl.md)");
  app.add_flag("-f,--follow", o.follow, "keep the listing on screen and current until Ctrl-C");
  app.add_flag("--ascii", o.ascii, "ASCII symbols instead of Unicode (automatic when the locale is not UTF-8)");
  app.add_flag("--upstream-rules", o.upstreamRules,
               "decide status as upstream tcsctl 0.3.3 does (the last status message wins, restarts not shown)");
  app.add_option("--width", o.width, "fit lines to this many columns (default: the terminal's, 0 = unlimited)");
  app.add_option("--timeout", o.timeout, "bound in seconds for connecting and for reading the streams")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--listen", o.listen,
                 "without JetStream: seconds to collect live messages (services appear at their next heartbeat)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--complete-ids", o.completeIds, "print the service ids of the fleet, one per line (bash completion)")
      ->group("");
  app.set_version_flag("--version", std::string("tcsctl ") + TCS_VERSION);

  std::vector<CLI::App*> actions;
  for (const auto& [verb, what] : std::vector<std::pair<std::string, std::string>>{
           {"start", "start a service (systemctl start on its host), wait for systemd's job (up to 65 s)"},
           {"stop", "stop a service and wait for systemd's job (up to 65 s)"},
           {"restart", "restart a service and wait for systemd's job (up to 65 s)"},
           {"reset-failed", "clear a service's failed state and start-limit counter (up to 10 s)"}}) {
    auto* sub = app.add_subcommand(verb, what);
    sub->add_option("SERVICE_ID", o.serviceId,
                    "the service id, e.g. hello_world.main; HOST:SERVICE_ID (tel1:hello_world.main) for the one on "
                    "that host (a short hostname or launcher id) — needed when the id is on two hosts")
        ->required();
    actions.push_back(sub);
  }
  auto* reloadCmd = app.add_subcommand(
      "reload", "make a host's supervisor re-read its config, daemon-reload and start new services (up to 10 s)");
  reloadCmd->add_option("HOST", o.launcher, "launcher id (see tcsctl hosts); default: every live launcher");
  auto* hostsCmd = app.add_subcommand("hosts", "list the launchers (one tcs-supervisor per host) and their liveness");
  auto* logsCmd = app.add_subcommand(
      "logs",
      "a service's journal lines from its host, through its supervisor (only tcs@ units it manages; up to 10 s)");
  logsCmd->add_option("SERVICE_ID", o.serviceId, "the service id, e.g. hello_world.main, or HOST:SERVICE_ID")
      ->required();
  logsCmd->add_option("-n,--lines", o.lines, "the newest N lines (1 … 1000)")->capture_default_str();
  logsCmd->add_flag("-f,--follow", o.logsFollow, "then print new lines as they come (asks once a second) until Ctrl-C");
  logsCmd->add_option(
      "-p,--priority", o.priority,
      "only this priority and more urgent: 0-7 or emerg, alert, crit, err, warning, notice, info, debug");

  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    t.out << app.help();
    return exit_code::kOk;
  } catch (const CLI::CallForVersion& e) {
    t.out << app.version() << "\n";
    return exit_code::kOk;
  } catch (const CLI::ParseError& e) {
    t.err << "tcsctl: " << e.what() << "\nRun tcsctl --help for the options.\n";
    return exit_code::kUsage;
  }
  // fallthrough() lets the options follow a verb (`tcsctl restart x --host h`), but it also
  // hands a verb's extra word to the listing's SERVICE filter, which no verb reads.
  if (const auto verbs = app.get_subcommands(); !verbs.empty() && !o.filter.empty()) {
    t.err << fmt::format("tcsctl: {}: unexpected argument '{}'\nRun tcsctl --help for the options.\n",
                         verbs.front()->get_name(), o.filter);
    return exit_code::kUsage;
  }

  log::configure(log::Backend::Stderr, {"tcsctl", "tcsctl", "", "tcsctl"},
                 o.verbose ? log::Level::Info : log::Level::Error);
  try {
    if (o.legend) {
      t.out << renderLegend(styleFor(o, t));
      return exit_code::kOk;
    }
    for (auto* sub : actions)
      if (sub->parsed()) return act(sub->get_name(), o, t);
    if (reloadCmd->parsed()) return reload(o, t);
    if (hostsCmd->parsed()) return hosts(o, t);
    if (logsCmd->parsed()) return logs(o, t);
    return o.follow ? follow(o, t) : list(o, t);
  } catch (const Failure& f) {
    t.err << "tcsctl: " << f.message << "\n";
    return f.code;
  } catch (const NatsError& e) {
    t.err << "tcsctl: NATS: " << e.what() << "\n";
    return exit_code::kUnreachable;
  } catch (const std::exception& e) {
    t.err << "tcsctl: " << e.what() << "\n";
    return exit_code::kRefused;
  }
}

}  // namespace tcs::ctl
