// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tcs/protocol/payloads.hpp"

/**
 * @file
 * The supervisor's view of the journal: JournalQuery, IJournal (the seam between the `logs` RPC
 * and sd-journal; SdJournalReader in sd_journal_reader.hpp is the real one) and the byte cap
 * applied to what it reads.
 */
namespace tcs::supervisor {

/** @brief What the `logs` RPC asks of the journal: one unit's entries. */
struct JournalQuery {
  std::string unit;   ///< e.g. `tcs@hello_world:main.service`
  bool user = false;  ///< the unit belongs to the calling user's service manager (`--user`)
  int lines = protocol::kLogsDefaultLines;
  std::optional<int> priority;                      ///< only entries with PRIORITY ≤ this
  std::string afterCursor;                          ///< empty: the newest entries; else the entries after this cursor
  std::int64_t maxBytes = protocol::kLogsMaxBytes;  ///< summed message text the caller keeps
};

/** @brief Reading the journal failed (it cannot be opened, or no journal file is readable). */
class JournalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/** @brief JournalQuery::afterCursor is not a journal cursor. */
class BadCursorError : public JournalError {
 public:
  using JournalError::JournalError;
};

class IJournal {
 public:
  virtual ~IJournal() = default;
  /**
   * @return the unit's entries oldest first: without afterCursor the newest `lines`, with it the
   *         first `lines` after it. Reading may stop early once the messages add up to more than
   *         `maxBytes` (so at most one entry beyond the cap is returned); keepWithinBytes() cuts.
   * @throws BadCursorError for a malformed cursor, JournalError when the journal cannot be read
   */
  virtual std::vector<protocol::LogEntry> read(const JournalQuery& query) = 0;
};

/**
 * @brief Keeps the summed message text of @p entries within @p maxBytes: drops the oldest
 *        entries (@p dropNewest false: a tail wants the newest) or the newest (true: a follower
 *        continues from the last entry kept, so nothing is lost). A single message longer than
 *        @p maxBytes is cut to it, so one entry always fits.
 * @return true when anything was dropped or cut
 */
bool keepWithinBytes(std::vector<protocol::LogEntry>& entries, std::int64_t maxBytes, bool dropNewest);

}  // namespace tcs::supervisor
