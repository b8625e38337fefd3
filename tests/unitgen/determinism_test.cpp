// SPDX-License-Identifier: MIT
// tcs-unitgen's output is a function of the config alone: the real binary, run in fresh
// processes (each with its own address-space layout and allocation history) under different
// environments, prints the committed bytes for the same config written in two orders.
// tests/unitgen/determinism/: fleet.yaml, fleet-reordered.yaml (the same config) and
// fleet.expected (`tcs-unitgen --dry-run` output with the config path written as @CONFIG@ and
// the template unit as @TEMPLATE@, which depend on where the test and the build put them).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "service_process.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using tcs::test::Child;
using tcs::test::readFile;
using tcs::test::TempDir;

namespace {

const fs::path kDir{TCS_UNITGEN_DETERMINISM_DIR};

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// Runs tcs-unitgen --dry-run on a copy of @p input in a directory of its own, with exactly @p env.
std::string dryRun(const fs::path& input, const std::vector<std::string>& env) {
  TempDir dir;
  const auto config = dir.write("etc/tcs/services.yaml", readFile(input));
  Child child(TCS_UNITGEN_BIN, {"--dry-run", config.string()}, env, dir / "stdout", dir / "stderr");
  const auto status = child.wait();
  EXPECT_TRUE(status && status->exited() && status->code() == 0)
      << input.filename() << ": " << (status ? ::testing::PrintToString(status->raw) : "did not end") << "\n"
      << child.stderrText();
  return replaceAll(replaceAll(child.stdoutText(), config.string(), "@CONFIG@"), TCS_UNITGEN_TEMPLATE_UNIT,
                    "@TEMPLATE@");
}

TEST(UnitgenDeterminism, FreshProcessesUnderDifferentEnvironmentsPrintTheCommittedBytes) {
  const std::string expected = readFile(kDir / "fleet.expected");
  ASSERT_FALSE(expected.empty()) << kDir / "fleet.expected";
  const std::vector<std::vector<std::string>> environments{
      {},
      {"TZ=Pacific/Chatham", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "HOME=/nonexistent", "USER=nobody",
       "MALLOC_PERTURB_=165"},
      {"TZ=UTC+12", "LANG=C", "HOME=/root", "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4096:glibc.malloc.perturb=90",
       "PADDING=" + std::string(5000, 'x')},  // moves the stack and the environment block
  };
  for (const char* input : {"fleet.yaml", "fleet-reordered.yaml"})
    for (std::size_t e = 0; e < environments.size(); ++e)
      EXPECT_EQ(dryRun(kDir / input, environments[e]), expected) << input << " in environment #" << e;
}

}  // namespace
