// SPDX-License-Identifier: MIT
#include "journal.hpp"

#include <algorithm>

namespace tcs::supervisor {

bool keepWithinBytes(std::vector<protocol::LogEntry>& entries, std::int64_t maxBytes, bool dropNewest) {
  const auto cap = static_cast<std::size_t>(std::max<std::int64_t>(maxBytes, 1));
  bool cut = false;
  for (auto& e : entries) {
    if (e.message.size() > cap) {
      e.message.resize(cap);
      cut = true;
    }
  }
  // Walk from the end that is kept; the first entry that does not fit ends the kept range.
  std::size_t total = 0;
  std::size_t kept = 0;
  for (; kept < entries.size(); ++kept) {
    const auto& e = dropNewest ? entries[kept] : entries[entries.size() - 1 - kept];
    if (total + e.message.size() > cap) break;
    total += e.message.size();
  }
  if (kept == entries.size()) return cut;
  if (dropNewest)
    entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(kept), entries.end());
  else
    entries.erase(entries.begin(), entries.end() - static_cast<std::ptrdiff_t>(kept));
  return true;
}

}  // namespace tcs::supervisor
