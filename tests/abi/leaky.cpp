// SPDX-License-Identifier: MIT
// A shared library that leaks what libtcs must not export: a default-visible std::
// instantiation, a tcs::detail:: function and a tcs:: function. abi.CheckRejectsALeakyLibrary runs
// check_exports.sh on it (built without the version script) and expects it to fail, so the
// check itself is shown to fail when it should.
#include <string>
#include <vector>

namespace tcs {
namespace detail {
__attribute__((visibility("default"))) int internalHelper(int x) {
  return x + 1;
}
}  // namespace detail
__attribute__((visibility("default"))) std::vector<std::string> publicFunction() {
  return {"a", "b"};
}
}  // namespace tcs
