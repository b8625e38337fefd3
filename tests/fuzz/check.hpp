// SPDX-License-Identifier: MIT
// The harnesses' property check: a violated property aborts with the property and the value
// that broke it, which libFuzzer reports as a crash and saves as a reproducer.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace tcs::fuzz {

[[noreturn]] inline void fail(std::string_view property, std::string_view detail) {
  std::fprintf(stderr, "\nPROPERTY VIOLATED: %.*s\n  %.*s\n", static_cast<int>(property.size()), property.data(),
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

inline void check(bool holds, std::string_view property, std::string_view detail = {}) {
  if (!holds) fail(property, detail);
}

}  // namespace tcs::fuzz
