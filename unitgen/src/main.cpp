// SPDX-License-Identifier: MIT
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "cli.hpp"
#include "user_units.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv, argv + argc);
  tcs::unitgen::Defaults defaults;
  defaults.configPath = TCS_DEFAULT_CONFIG;
  defaults.outputDir = TCS_DEFAULT_OUTPUT_DIR;
  defaults.templateUnit = TCS_TEMPLATE_UNIT;
  defaults.serviceBinDir = TCS_SERVICE_BIN_DIR;
  defaults.version = TCS_VERSION;
  defaults.userTemplate = tcs::unitgen::kUserTemplateIn;
  defaults.userTarget = tcs::unitgen::kUserTargetIn;
  defaults.docDir = TCS_DOC_DIR;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  defaults.selfPath = ec ? std::string(TCS_INSTALLED_UNITGEN) : self.string();
  defaults.root = ::geteuid() == 0;
  defaults.environment = tcs::config::processEnvironment();
  return tcs::unitgen::run(args, defaults, stdout, stderr);
}
