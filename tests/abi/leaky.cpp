// SPDX-License-Identifier: MIT
// Shared libraries that leak what libtcs must not export, for the abi.CheckRejects… tests,
// which run check_exports.sh on them (built without the version script) and expect it to fail:
//   TCS_LEAK_STD      a default-visible std:: instantiation (a name outside tcs::)
//   TCS_LEAK_DETAIL   a tcs::detail:: function (an internal name)
// Each also exports one proper tcs:: function, so only the leak can make the check fail.
#include <string>
#include <vector>

namespace tcs {
#ifdef TCS_LEAK_DETAIL
namespace detail {
__attribute__((visibility("default"))) int internalHelper(int x) {
  return x + 1;
}
}  // namespace detail
#endif
#ifdef TCS_LEAK_STD
__attribute__((visibility("default"))) std::vector<std::string> publicFunction() {
  return {"a", "b"};
}
#else
__attribute__((visibility("default"))) int publicFunction() {
  return 1;
}
#endif
}  // namespace tcs
