// SPDX-License-Identifier: MIT
#include "sd_journal_reader.hpp"

#include <fmt/format.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>

namespace tcs::supervisor {
namespace {

struct JournalCloser {
  void operator()(sd_journal* j) const noexcept { sd_journal_close(j); }
};
using JournalPtr = std::unique_ptr<sd_journal, JournalCloser>;

struct FreeDeleter {
  void operator()(char* p) const noexcept { free(p); }  // NOLINT(cppcoreguidelines-no-malloc)
};

std::string errnoText(int r) {
  return std::strerror(-r);
}

void check(int r, std::string_view what) {
  if (r < 0) throw JournalError(fmt::format("journal: {}: {}", what, errnoText(r)));
}

void match(sd_journal* j, std::string_view field, std::string_view value) {
  std::string m{field};
  m += '=';
  m += value;
  check(sd_journal_add_match(j, m.data(), m.size()), "cannot add the match " + m);
}

void disjunction(sd_journal* j) {
  check(sd_journal_add_disjunction(j), "cannot add a disjunction");
}

// The matches of journalctl -u / --user -u (systemd 252, src/journal/journalctl.c).
void addUnitMatches(sd_journal* j, const JournalQuery& q) {
  if (!q.user) {
    match(j, "_SYSTEMD_UNIT", q.unit);  // the unit's own output
    disjunction(j);
    match(j, "MESSAGE_ID", "fc2e22bc6ee647b6b90729ab34a250b1");  // its coredumps
    match(j, "_UID", "0");
    match(j, "COREDUMP_UNIT", q.unit);
    disjunction(j);
    match(j, "_PID", "1");  // systemd about it (started, stopped, failed…)
    match(j, "UNIT", q.unit);
    disjunction(j);
    match(j, "_UID", "0");  // authorised daemons about it
    match(j, "OBJECT_SYSTEMD_UNIT", q.unit);
  } else {
    const auto uid = std::to_string(getuid());
    match(j, "_SYSTEMD_USER_UNIT", q.unit);
    match(j, "_UID", uid);
    disjunction(j);
    match(j, "USER_UNIT", q.unit);  // the user's manager about it
    match(j, "_UID", uid);
    disjunction(j);
    match(j, "OBJECT_SYSTEMD_USER_UNIT", q.unit);
    match(j, "_UID", uid);
  }
  check(sd_journal_add_conjunction(j), "cannot add a conjunction");
  if (q.priority) {
    for (int p = 0; p <= std::clamp(*q.priority, 0, 7); ++p) match(j, "PRIORITY", std::to_string(p));
    check(sd_journal_add_conjunction(j), "cannot add a conjunction");
  }
}

// The value of FIELD in the current entry, nullopt when absent.
std::optional<std::string_view> field(sd_journal* j, std::string_view name) {
  const void* data = nullptr;
  std::size_t length = 0;
  const std::string key{name};
  if (sd_journal_get_data(j, key.c_str(), &data, &length) < 0) return std::nullopt;
  std::string_view v{static_cast<const char*>(data), length};
  if (v.size() <= name.size() || v[name.size()] != '=') return std::nullopt;
  return v.substr(name.size() + 1);
}

std::optional<std::int64_t> number(std::optional<std::string_view> text) {
  if (!text) return std::nullopt;
  std::int64_t n = 0;
  const auto r = std::from_chars(text->data(), text->data() + text->size(), n);
  if (r.ec != std::errc{} || r.ptr != text->data() + text->size()) return std::nullopt;
  return n;
}

protocol::LogEntry entry(sd_journal* j) {
  protocol::LogEntry e;
  std::uint64_t usec = 0;
  if (sd_journal_get_realtime_usec(j, &usec) >= 0)
    e.timestamp = protocol::Timestamp{std::chrono::microseconds{static_cast<std::int64_t>(usec)}};
  if (const auto p = number(field(j, "PRIORITY")); p && *p >= 0 && *p <= 7) e.priority = static_cast<int>(*p);
  if (auto id = field(j, "SYSLOG_IDENTIFIER"))
    e.identifier = std::string{*id};
  else if (auto comm = field(j, "_COMM"))
    e.identifier = std::string{*comm};
  e.pid = number(field(j, "_PID"));
  if (auto m = field(j, "MESSAGE")) e.message = std::string{*m};
  char* cursor = nullptr;
  if (sd_journal_get_cursor(j, &cursor) >= 0) {
    const std::unique_ptr<char, FreeDeleter> owned{cursor};
    e.cursor = cursor;
  }
  return e;
}

}  // namespace

SdJournalReader::SdJournalReader(std::vector<std::string> files) : files_(std::move(files)) {}

std::vector<protocol::LogEntry> SdJournalReader::read(const JournalQuery& q) {
  sd_journal* raw = nullptr;
  if (files_.empty()) {
    check(sd_journal_open(&raw, SD_JOURNAL_LOCAL_ONLY), "cannot open the journal");
  } else {
    std::vector<const char*> paths;
    for (const auto& f : files_) paths.push_back(f.c_str());
    paths.push_back(nullptr);
    check(sd_journal_open_files(&raw, paths.data(), 0), "cannot open the journal files");
  }
  const JournalPtr j{raw};
  if (files_.empty() && sd_journal_has_runtime_files(j.get()) <= 0 && sd_journal_has_persistent_files(j.get()) <= 0)
    throw JournalError("journal: no journal file is readable (the supervisor's user needs group systemd-journal)");
  addUnitMatches(j.get(), q);

  const auto lines = static_cast<std::size_t>(std::clamp(q.lines, 1, protocol::kLogsMaxLines));
  const auto maxBytes = static_cast<std::size_t>(std::max<std::int64_t>(q.maxBytes, 1));
  std::vector<protocol::LogEntry> out;
  std::size_t bytes = 0;
  const auto take = [&] {
    out.push_back(entry(j.get()));
    bytes += out.back().message.size();
    return out.size() < lines && bytes <= maxBytes;  // one entry beyond the cap tells the caller to cut
  };

  if (q.afterCursor.empty()) {
    check(sd_journal_seek_tail(j.get()), "cannot seek to the end");
    for (int r; (r = sd_journal_previous(j.get())) != 0;) {
      check(r, "cannot step back");
      if (!take()) break;
    }
    std::reverse(out.begin(), out.end());
    return out;
  }
  if (const int r = sd_journal_seek_cursor(j.get(), q.afterCursor.c_str()); r < 0) {
    if (r == -EINVAL) throw BadCursorError("after_cursor is not a journal cursor");
    check(r, "cannot seek to the cursor");
  }
  bool first = true;
  for (int r; (r = sd_journal_next(j.get())) != 0;) {
    check(r, "cannot step forward");
    // The cursor's own entry comes first when it still exists: the follower has it already.
    if (first) {
      first = false;
      if (sd_journal_test_cursor(j.get(), q.afterCursor.c_str()) > 0) continue;
    }
    if (!take()) break;
  }
  return out;
}

}  // namespace tcs::supervisor
