// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "render.hpp"

namespace tcs::unitgen {

struct WriteReport {
  std::vector<std::string> written;    ///< created or changed
  std::vector<std::string> unchanged;  ///< already identical
  std::vector<std::string> removed;    ///< stale files of services no longer configured
};

/**
 * @brief Makes @p dir hold exactly @p units among the files tcs-unitgen owns.
 *
 * Every file is first written to a temporary name beside its destination and only then
 * renamed over it, so a reader never sees a partial file; if any write fails, all temporaries
 * are removed and nothing already there has changed. Afterwards, files this program wrote
 * earlier for services that are gone (drop-ins starting with the generated header, and
 * `tcs.target.wants/tcs@….service` links to the template) are removed. Files it does not
 * own are never touched.
 *
 * @throws std::filesystem::filesystem_error naming the path that failed.
 */
WriteReport writeUnitSet(const UnitSet& units, const std::filesystem::path& dir);

/**
 * @brief Removes every file tcs-unitgen owns in @p dir: drop-ins with the generated header,
 * `tcs.target.wants/` links to the template, and (user mode) the template and tcs.target when
 * they carry the header. Files it does not own stay, and so does @p dir.
 *
 * @throws std::filesystem::filesystem_error naming the path that failed.
 */
WriteReport removeUnitSet(const std::filesystem::path& dir);

/** @brief Prints the set as `--- path ---` blocks (symlinks as `-> target`), in stable order. */
std::string formatDryRun(const UnitSet& units);

}  // namespace tcs::unitgen
