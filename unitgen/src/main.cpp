// SPDX-License-Identifier: MIT
#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv, argv + argc);
  const tcs::unitgen::Defaults defaults{TCS_DEFAULT_CONFIG, TCS_DEFAULT_OUTPUT_DIR, TCS_TEMPLATE_UNIT,
                                        TCS_SERVICE_BIN_DIR, TCS_VERSION};
  return tcs::unitgen::run(args, defaults, stdout, stderr);
}
