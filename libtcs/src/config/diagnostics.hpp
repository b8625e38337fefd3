// SPDX-License-Identifier: MIT
// Internal to the config module: the diagnostics one load collects, in file order.
#pragma once

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "tcs/config.hpp"

namespace tcs::config {

/** Collects the errors and warnings of one load; every message names @p fileName. */
class Diagnostics {
 public:
  explicit Diagnostics(std::string fileName) : fileName_(std::move(fileName)) {}

  const std::string& fileName() const noexcept { return fileName_; }
  void error(const Value& at, std::string message) { error(at.mark(), at.path(), std::move(message)); }
  void error(Mark mark, std::string path, std::string message) {
    add(Diagnostic::Severity::Error, mark, std::move(path), std::move(message));
  }
  void warn(Mark mark, std::string path, std::string message) {
    add(Diagnostic::Severity::Warning, mark, std::move(path), std::move(message));
  }
  /** Whether an error was reported at @p path or below it. */
  bool hasErrorBelow(const std::string& path) const {
    return std::any_of(list_.begin(), list_.end(),
                       [&](const Diagnostic& d) { return d.severity == Diagnostic::Severity::Error && d.isAt(path); });
  }
  std::size_t errorCount() const {
    return static_cast<std::size_t>(std::count_if(
        list_.begin(), list_.end(), [](const auto& d) { return d.severity == Diagnostic::Severity::Error; }));
  }
  std::vector<Diagnostic> take() { return std::move(list_); }

 private:
  void add(Diagnostic::Severity severity, Mark mark, std::string path, std::string message) {
    list_.push_back({severity, fileName_, mark, std::move(path), std::move(message)});
  }

  std::string fileName_;
  std::vector<Diagnostic> list_;
};

}  // namespace tcs::config
