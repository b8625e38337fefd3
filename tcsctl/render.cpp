// SPDX-License-Identifier: MIT
#include "render.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <vector>

namespace tcs::ctl {
namespace {

namespace p = protocol;

// ---- colours (§6.8) ---------------------------------------------------------------------------

constexpr std::string_view kGreen = "\x1b[32m";
constexpr std::string_view kYellow = "\x1b[33m";
constexpr std::string_view kRed = "\x1b[31m";
constexpr std::string_view kCyan = "\x1b[36m";
constexpr std::string_view kDim = "\x1b[2m";
constexpr std::string_view kBold = "\x1b[1m";
constexpr std::string_view kReset = "\x1b[0m";

std::string paint(const RenderStyle& style, std::string_view color, std::string_view text) {
  if (!style.color || color.empty() || text.empty()) return std::string{text};
  return fmt::format("{}{}{}", color, text, kReset);
}

std::string_view symbolColor(FleetSymbol s) noexcept {
  switch (s) {
    case FleetSymbol::Healthy: return kGreen;
    case FleetSymbol::Warning: return kYellow;
    case FleetSymbol::Problem:
    case FleetSymbol::Error: return kRed;
    case FleetSymbol::Stopped: return kDim;
  }
  return {};
}

// ---- glyphs -----------------------------------------------------------------------------------

std::string_view symbolText(FleetSymbol s, const RenderStyle& style) noexcept {
  if (style.unicode) return glyph(s);
  switch (s) {
    case FleetSymbol::Healthy: return "*";
    case FleetSymbol::Warning: return "~";
    case FleetSymbol::Problem: return "!";
    case FleetSymbol::Error: return "x";
    case FleetSymbol::Stopped: return "o";
  }
  return "?";
}

std::string_view heartText(const RenderStyle& style) noexcept {
  return style.unicode ? "(♥)" : "(<3)";
}

std::string_view restartGlyph(RestartState s, const RenderStyle& style) noexcept {
  switch (s) {
    case RestartState::Restarting: return style.unicode ? "⟳" : "R";
    case RestartState::Failed: return style.unicode ? "✗" : "X";
    case RestartState::Recovered: return style.unicode ? "↻" : "r";
    case RestartState::None: break;
  }
  return {};
}

std::string_view restartColor(RestartState s) noexcept {
  switch (s) {
    case RestartState::Restarting: return kYellow;
    case RestartState::Failed: return kRed;
    case RestartState::Recovered: return kCyan;
    case RestartState::None: break;
  }
  return {};
}

std::string_view infinity(const RenderStyle& style) noexcept {
  return style.unicode ? "∞" : "inf";
}

// ---- UTF-8 --------------------------------------------------------------------------------------

bool isContinuation(unsigned char c) noexcept {
  return (c & 0xC0) == 0x80;
}

std::size_t codePoints(std::string_view s) noexcept {
  std::size_t n = 0;
  for (const char c : s) n += isContinuation(static_cast<unsigned char>(c)) ? 0 : 1;
  return n;
}

/// The first @p n code points of @p s.
std::string_view firstCodePoints(std::string_view s, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i < s.size(); ++i) {
    if (isContinuation(static_cast<unsigned char>(s[i]))) continue;
    if (n == 0) break;
    --n;
  }
  return s.substr(0, i);
}

/// Upstream's `msg[:57] + "..."` for messages longer than 60 characters (code points).
std::string upstreamTruncate(std::string_view msg) {
  if (codePoints(msg) <= 60) return std::string{msg};
  return std::string{firstCodePoints(msg, 57)} + "...";
}

// ---- the restart state (tcs's additions) --------------------------------------------------------

/// How many restarts, out of how many allowed, as far as the events tell.
struct RestartCounter {
  int count = 0;
  std::optional<int> max;  ///< nullopt: unlimited
};

std::optional<RestartCounter> restartCounter(const FleetEntry& e) {
  const bool failureIsNewer = e.lastFailure && (!e.lastRestart || e.lastFailure->time >= e.lastRestart->time);
  if (failureIsNewer) {
    // A failure after the limit: the limit is the count, unless a restarting event said more.
    RestartCounter c{e.lastFailure->restartCount, e.lastFailure->restartCount};
    if (e.lastRestart) c.max = e.lastRestart->maxRestarts;
    return c;
  }
  if (e.lastRestart) return RestartCounter{e.lastRestart->attempt, e.lastRestart->maxRestarts};
  return std::nullopt;
}

/// ` ⟳(1/2)`: the restart symbol and, when known, the counter; "" when there is nothing to say.
std::string restartIndicator(const FleetRow& row, const RenderStyle& style) {
  if (row.restart == RestartState::None) return {};
  std::string s{restartGlyph(row.restart, style)};
  if (const auto c = restartCounter(*row.entry))
    s += fmt::format("({}/{})", c->count, c->max ? std::to_string(*c->max) : std::string{infinity(style)});
  return s;
}

// ---- shared pieces ------------------------------------------------------------------------------

std::string emptyLine(const FleetListing& listing, const RenderStyle& style) {
  return paint(style, kDim, listing.summary()) + "\n";
}

std::string notesAndSummary(const FleetListing& listing, const RenderStyle& style, std::span<const std::string> notes) {
  std::string out;
  for (const auto& n : notes) out += paint(style, kDim, n) + "\n";
  out += paint(style, listing.runningCount > 0 ? kGreen : kDim, listing.summary()) + "\n\n";
  return out;
}

std::string statusText(const FleetEntry& e) {
  return fmt::format("[{}]", toString(e.status));
}

/// One piece of a table line: its text without colour, and the colour it is printed in.
struct Piece {
  std::string lead;  ///< the separator before it (never coloured)
  std::string text;
  std::string_view color;
  bool bold = false;
};

std::string shortHost(const std::string& h) {
  return h.empty() ? std::string{"?"} : h.substr(0, h.find('.'));
}

/// ` ‼DUPLICATE(tel1,tel2)` — with the pids when one host has two.
std::string duplicateMarker(const FleetDuplicate& d, const RenderStyle& style) {
  std::vector<std::string> hosts;
  for (const auto& h : d.hosts) hosts.push_back(shortHost(h.hostname));
  const bool sameHost = std::adjacent_find(hosts.begin(), hosts.end()) != hosts.end();
  std::vector<std::string> names;
  for (const auto& h : d.hosts)
    names.push_back(sameHost ? fmt::format("{}/{}", shortHost(h.hostname), h.pid ? std::to_string(*h.pid) : "?")
                             : shortHost(h.hostname));
  return fmt::format("{}DUPLICATE({})", style.unicode ? "‼" : "!!", fmt::join(names, ","));
}

std::string join(const std::vector<Piece>& pieces, const RenderStyle& style) {
  std::string out;
  for (const auto& pc : pieces) {
    out += pc.lead;
    if (pc.bold && style.color && !pc.color.empty())
      out += fmt::format("{}{}{}{}", kBold, pc.color, pc.text, kReset);
    else if (pc.bold && style.color)
      out += fmt::format("{}{}{}", kBold, pc.text, kReset);
    else
      out += paint(style, pc.color, pc.text);
  }
  return out;
}

std::size_t widthOf(const std::vector<std::optional<Piece>>& pieces) {
  std::size_t w = 0;
  for (const auto& pc : pieces)
    if (pc) w += displayWidth(pc->lead) + displayWidth(pc->text);
  return w;
}

std::string tableLine(const FleetView& view, const FleetRow& row, const RenderStyle& style) {
  const FleetEntry& e = *row.entry;
  const bool tcsAdditions = !upstreamCompatible(view.rules());

  // Upstream indents depth d >= 1 as "  " * (d - 1) + "  ├─ " (always ├─).
  std::string prefix;
  if (row.depth > 0) {
    for (int i = 1; i < row.depth; ++i) prefix += "  ";
    prefix += style.unicode ? "  ├─ " : "  |- ";
  }

  enum Slot { kPrefix, kSymbol, kId, kStatus, kHeart, kUp, kPid, kHost, kRestart, kDuplicate, kMessage, kSlots };
  std::vector<std::optional<Piece>> pieces(kSlots);
  pieces[kPrefix] = Piece{"", prefix, {}};
  pieces[kSymbol] = Piece{"", std::string{symbolText(row.symbol, style)}, symbolColor(row.symbol)};
  pieces[kId] = Piece{" ", e.id, {}, true};
  pieces[kStatus] = Piece{" ", statusText(e), symbolColor(row.symbol)};
  if (row.showHeart)
    pieces[kHeart] =
        Piece{" ", std::string{heartText(style)}, row.heartbeat == HeartbeatLiveness::Alive ? kGreen : kYellow};
  if (row.running) pieces[kUp] = Piece{" ", "up:" + (row.uptime ? formatDuration(*row.uptime) : "N/A"), kCyan};
  if (e.pid) pieces[kPid] = Piece{" ", fmt::format("pid:{}", *e.pid), kDim};
  if (!e.hostname.empty()) pieces[kHost] = Piece{" ", "@" + e.hostname, kDim};
  if (tcsAdditions)
    if (auto r = restartIndicator(row, style); !r.empty()) pieces[kRestart] = Piece{" ", r, restartColor(row.restart)};
  // Loud, and never dropped to fit the width: the same id alive twice (tcs addition).
  if (tcsAdditions && row.duplicate)
    pieces[kDuplicate] = Piece{" ", duplicateMarker(*row.duplicate, style), kRed, true};
  const std::string message = upstreamTruncate(e.message);
  if (!message.empty()) pieces[kMessage] = Piece{" ", "- " + message, kDim};

  if (style.width > 0 && widthOf(pieces) > style.width) {
    // Shorten the message, then drop the least useful pieces; never the tree, symbol or id.
    constexpr std::size_t kMinMessage = 4;  // at least one character and "..."
    const auto messageText = message;
    pieces[kMessage].reset();
    constexpr std::array<Slot, 6> kDropOrder{kHost, kPid, kUp, kHeart, kRestart, kStatus};
    for (std::size_t dropped = 0;; ++dropped) {
      const std::size_t base = widthOf(pieces);
      // The message only while nothing else is dropped: it goes before the host does.
      if (dropped == 0 && base + 3 + kMinMessage <= style.width && !messageText.empty()) {
        const std::size_t room = style.width - base - 3;
        std::string text = messageText;
        if (codePoints(text) > room) text = std::string{firstCodePoints(text, room - 3)} + "...";
        pieces[kMessage] = Piece{" ", "- " + text, kDim};
      }
      if (base <= style.width || dropped == kDropOrder.size()) break;
      pieces[kDropOrder[dropped]].reset();
    }
  }

  std::vector<Piece> present;
  for (auto& pc : pieces)
    if (pc) present.push_back(std::move(*pc));
  return join(present, style);
}

std::string field(std::string_view label, std::string_view value) {
  return fmt::format("    {:<13}{}\n", fmt::format("{}:", label), value);
}

}  // namespace

std::string describeDuplicate(const FleetDuplicate& d) {
  std::vector<std::string> parts;
  for (const auto& h : d.hosts)
    parts.push_back(fmt::format("{} (pid {})", shortHost(h.hostname), h.pid ? std::to_string(*h.pid) : "?"));
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::vector<std::string> duplicateWarnings(const FleetView& view, const FleetListing& listing) {
  std::vector<std::string> out;
  if (upstreamCompatible(view.rules())) return out;
  for (const auto& row : listing.rows) {
    if (!row.duplicate) continue;
    const auto& e = *row.entry;
    std::string by;
    if (!row.duplicate->observed && e.lastDuplicate && !e.lastDuplicate->parent.empty())
      by = " (reported by " + e.lastDuplicate->parent + ")";
    out.push_back(
        fmt::format("WARNING: {} is running twice at once: {}{}", e.id, describeDuplicate(*row.duplicate), by));
  }
  return out;
}

bool upstreamCompatible(const FleetRules& rules) noexcept {
  const FleetRules u = FleetRules::upstreamTcsctl();
  return rules.statusMessageOverridesRegistry == u.statusMessageOverridesRegistry &&
         rules.statusMessageOverridesStart == u.statusMessageOverridesStart &&
         rules.runnerIdFromStartOnly == u.runnerIdFromStartOnly && rules.trackRestarts == u.trackRestarts &&
         rules.dropOrphanChildren == u.dropOrphanChildren;
}

std::size_t displayWidth(std::string_view text) noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0x1b && i + 1 < text.size() && text[i + 1] == '[') {  // CSI: ESC [ … final byte
      i += 2;
      while (i < text.size() && !(text[i] >= 0x40 && text[i] <= 0x7e)) ++i;
      continue;
    }
    if (!isContinuation(c)) ++n;
  }
  return n;
}

std::string formatTimeAgo(p::Timestamp t, p::Timestamp now) {
  const auto f = p::toFields(t);
  const auto age = std::chrono::floor<std::chrono::seconds>(now - t);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC ({} ago)", f[0], f[1], f[2], f[3], f[4], f[5],
                     formatDuration(age));
}

std::string renderTable(const FleetView& view, const FleetListing& listing, p::Timestamp now, const RenderStyle& style,
                        std::span<const std::string> notes) {
  (void)now;  // the listing's rows carry everything derived at now
  std::string out;
  if (listing.listedCount == 0) {
    for (const auto& n : notes) out += paint(style, kDim, n) + "\n";
    return out + emptyLine(listing, style);
  }
  out += "\n";
  for (const auto& row : listing.rows) out += tableLine(view, row, style) + "\n";
  out += "\n";
  return out + notesAndSummary(listing, style, notes);
}

std::string renderDetailed(const FleetView& view, const FleetListing& listing, p::Timestamp now,
                           const RenderStyle& style, std::span<const std::string> notes) {
  std::string out;
  if (listing.listedCount == 0) {
    for (const auto& n : notes) out += paint(style, kDim, n) + "\n";
    return out + emptyLine(listing, style);
  }
  const bool tcsAdditions = !upstreamCompatible(view.rules());
  auto when = [&](p::Timestamp t) { return formatTimeAgo(t, now); };

  out += "\n";
  for (const auto& row : listing.rows) {
    const FleetEntry& e = *row.entry;
    // The name: its first dotted segment (with the dot) dim, the rest bold.
    const auto dot = e.id.find('.');
    const std::string head = dot == std::string::npos ? std::string{} : e.id.substr(0, dot + 1);
    const std::string rest = e.id.substr(head.size());
    out += paint(style, symbolColor(row.symbol), symbolText(row.symbol, style)) + " " + paint(style, kDim, head) +
           (style.color ? fmt::format("{}{}{}", kBold, rest, kReset) : rest) + " " +
           paint(style, symbolColor(row.symbol), statusText(e));
    if (row.showHeart)
      out += " " + paint(style, row.heartbeat == HeartbeatLiveness::Alive ? kGreen : kYellow, heartText(style));
    out += "\n";

    if (!e.runnerId.empty()) out += field("Runner", e.runnerId);
    if (!e.hostname.empty()) out += field("Host", e.hostname);
    if (e.pid) out += field("PID", std::to_string(*e.pid));
    if (e.lastStart) out += field("Started", when(e.lastStart->time));
    if (tcsAdditions && e.readyAt) out += field("Ready", when(*e.readyAt));
    if (e.declaredAt) out += field("Declared", when(*e.declaredAt));
    if (e.stoppedAt) out += field("Stopped", when(*e.stoppedAt));
    if (e.lastHeartbeat) out += field("Last HB", when(*e.lastHeartbeat));
    // Upstream's last_status_update is never filled (§6.4): only tcs prints it.
    if (tcsAdditions && e.lastReport) out += field("Last Status", when(e.lastReport->timestamp));
    if (row.running) out += field("Uptime", row.uptime ? formatDuration(*row.uptime) : "N/A");
    if (!e.message.empty()) out += field("Message", e.message);
    if (tcsAdditions && row.duplicate)
      out += field("Duplicate", paint(style, kRed, "running twice: " + describeDuplicate(*row.duplicate)));
    if (e.lastCrash) {
      std::string v =
          paint(style, kRed, when(e.lastCrash->time)) + fmt::format(" (exit code: {}", e.lastCrash->exitCode);
      if (tcsAdditions && !e.lastCrash->result.empty()) v += ", result: " + e.lastCrash->result;
      out += field("Last Crash", v + ")");
    }
    if (tcsAdditions) {
      // The policy of the newer of declared / crashed, and the maximum the restarting events tell.
      if (!e.restartPolicy.empty() && e.restartPolicy != "no") {
        std::string v = e.restartPolicy;
        if (e.lastRestart)
          v += e.lastRestart->maxRestarts ? fmt::format(" (max: {})", *e.lastRestart->maxRestarts) : " (unlimited)";
        out += field("Restart", v);
      }
      if (const auto c = restartCounter(e); c && c->count > 0)
        out += field("Restarts", fmt::format("{} ({})", c->count, toString(row.restart)));
    } else if (e.lastCrash && e.lastCrash->restartPolicy != "no") {
      // Upstream: the policy from crashed events only, and a maximum they never carry.
      out += field("Restart", e.lastCrash->restartPolicy + " (unlimited)");
    }
    out += "\n";
  }
  out += "\n";
  return out + notesAndSummary(listing, style, notes);
}

std::string renderLegend(const RenderStyle& s) {
  auto sym = [&](FleetSymbol f) { return paint(s, symbolColor(f), symbolText(f, s)); };
  const std::string heart{heartText(s)};
  std::string out = "\nLegend:\n\n";
  out += "  " + sym(FleetSymbol::Healthy) + " green   = healthy (ok status + alive heartbeat)\n";
  out += "  " + sym(FleetSymbol::Warning) + " yellow  = warning (degraded status or stale heartbeat)\n";
  out += "  " + sym(FleetSymbol::Problem) + " red     = problem (error/failed status or dead/missing heartbeat)\n";
  out += "  " + sym(FleetSymbol::Error) + " red     = error/failed status\n";
  out += "  " + sym(FleetSymbol::Stopped) + " dim     = stopped service\n";
  out += "\n  Heartbeat indicators:\n";
  out += "    " + paint(s, kGreen, heart) + " green  = alive (< 30s ago)\n";
  out += "    " + paint(s, kYellow, heart) + " yellow = stale (30s - 2m ago)\n";
  out += "    " + paint(s, kRed, heart) + " red    = dead (> 2m ago or missing)\n";
  out += "\n  Restart indicators:\n";
  auto restart = [&](RestartState r) { return paint(s, restartColor(r), restartGlyph(r, s)); };
  out += "    " + restart(RestartState::Restarting) + " yellow = restarting (service recovering from crash)\n";
  out += "    " + restart(RestartState::Failed) + " red    = restart failed (too many crashes or restart error)\n";
  out += "    " + restart(RestartState::Recovered) + " cyan   = recovered (service has restarted successfully)\n";
  out += "    (2/5) = restart attempt 2 of max 5\n";
  out += "    (7/" + std::string{infinity(s)} + ") = unlimited restarts allowed but show counter\n";
  return out + "\n\n";
}

}  // namespace tcs::ctl
