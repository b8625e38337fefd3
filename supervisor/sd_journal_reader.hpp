// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

#include "journal.hpp"

/**
 * @file
 * SdJournalReader: IJournal over sd-journal (libsystemd). The only code that reads the journal.
 */
namespace tcs::supervisor {

/**
 * @brief Reads one unit's entries as `journalctl -u` (`--user -u`) selects them: the unit's own
 *        output, systemd's messages about the unit, coredumps of it and messages of authorised
 *        daemons about it (OBJECT_SYSTEMD_UNIT).
 *
 * Opens the journal for every read (sd_journal objects are not thread-safe, and the RPC workers
 * read concurrently); a read is bounded by the query's lines and bytes. The system journal needs
 * the reader to be in group `systemd-journal` (packaging/sysusers.d/tcs.conf does so).
 */
class SdJournalReader : public IJournal {
 public:
  /** @param[in] files - read these journal files instead of the host's journal (tests) */
  explicit SdJournalReader(std::vector<std::string> files = {});

  std::vector<protocol::LogEntry> read(const JournalQuery& query) override;

 private:
  std::vector<std::string> files_;
};

}  // namespace tcs::supervisor
