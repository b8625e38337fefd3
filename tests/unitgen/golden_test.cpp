// SPDX-License-Identifier: MIT
// Golden tests for tcs-unitgen: every tests/unitgen/cases/NNN-name.yaml is loaded as
// /etc/tcs/services.yaml, rendered, written into a temporary directory and compared with
// NNN-name.expected/ (files by content, symlinks by target).
//
// Header comments in a case file:
//   # env: NAME=value         environment seen by the loader (repeatable; nothing else is)
//   # expect-error: TEXT      an error whose formatted message contains TEXT (repeatable);
//                             every error must be expected and every expectation met
//   # expect-warning: TEXT    likewise for warnings (unlisted warnings are allowed)
//   # expect-fatal: TEXT      loading throws ConfigError containing TEXT; no output
// Without expect-fatal an .expected/ directory must exist (it may be empty).
// TCS_UPDATE_GOLDEN=1 rewrites the .expected/ trees from the current output (an empty tree
// gets a .gitkeep, which the comparison ignores).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "render.hpp"
#include "tcs/config.hpp"
#include "temp_dir.hpp"
#include "writer.hpp"

namespace fs = std::filesystem;
using tcs::config::Diagnostic;

namespace {

const fs::path kCases{TCS_GOLDEN_CASES_DIR};

struct Case {
  fs::path yaml;
  std::string name;
};

std::vector<Case> allCases() {
  std::vector<Case> cases;
  for (const auto& e : fs::directory_iterator(kCases))
    if (e.path().extension() == ".yaml") cases.push_back({e.path(), e.path().stem().string()});
  std::sort(cases.begin(), cases.end(), [](const Case& a, const Case& b) { return a.name < b.name; });
  return cases;
}

struct Header {
  tcs::config::Environment env;
  std::vector<std::string> errors, warnings, fatal;
};

Header readHeader(const std::string& text) {
  Header h;
  std::istringstream in(text);
  std::string line;
  auto take = [&](std::string_view prefix, std::vector<std::string>& into) {
    if (line.starts_with(prefix)) {
      into.push_back(line.substr(prefix.size()));
      return true;
    }
    return false;
  };
  while (std::getline(in, line)) {
    if (line.starts_with("# env: ")) {
      const auto kv = line.substr(7);
      const auto eq = kv.find('=');
      h.env[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
      continue;
    }
    take("# expect-error: ", h.errors) || take("# expect-warning: ", h.warnings) || take("# expect-fatal: ", h.fatal);
  }
  return h;
}

// path → "file:<content>" or "link:<target>"
std::map<std::string, std::string> readTree(const fs::path& root) {
  std::map<std::string, std::string> tree;
  if (!fs::exists(root)) return tree;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    // lexically: fs::relative() would follow a link whose target exists on this machine.
    const auto rel = it->path().lexically_relative(root).string();
    if (it->path().filename() == ".gitkeep") continue;  // git cannot store an empty directory
    if (it->is_symlink())
      tree[rel] = "link:" + fs::read_symlink(it->path()).string();
    else if (it->is_regular_file())
      tree[rel] = "file:" + tcs::test::readFile(it->path());
  }
  return tree;
}

bool anyContains(const std::vector<Diagnostic>& diags, Diagnostic::Severity sev, const std::string& text) {
  return std::any_of(diags.begin(), diags.end(), [&](const Diagnostic& d) {
    return d.severity == sev && d.format().find(text) != std::string::npos;
  });
}

class UnitgenGolden : public ::testing::TestWithParam<Case> {};

TEST_P(UnitgenGolden, RendersTheExpectedTree) {
  const Case& c = GetParam();
  const std::string text = tcs::test::readFile(c.yaml);
  const Header h = readHeader(text);
  tcs::config::LoadOptions options;
  options.environment = h.env;
  options.builtinServiceDir = "/usr/libexec/tcs";

  if (!h.fatal.empty()) {
    try {
      tcs::config::parse(text, "/etc/tcs/services.yaml", options);
      FAIL() << c.name << ": expected loading to fail with: " << h.fatal.front();
    } catch (const tcs::ConfigError& e) {
      for (const auto& f : h.fatal) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
    }
    return;
  }

  const auto loaded = tcs::config::parse(text, "/etc/tcs/services.yaml", options);
  for (const auto& e : h.errors)
    EXPECT_TRUE(anyContains(loaded.diagnostics, Diagnostic::Severity::Error, e)) << "missing expected error: " << e;
  for (const auto& w : h.warnings)
    EXPECT_TRUE(anyContains(loaded.diagnostics, Diagnostic::Severity::Warning, w)) << "missing expected warning: " << w;
  for (const auto& d : loaded.diagnostics) {
    if (d.severity != Diagnostic::Severity::Error) continue;
    const bool expected = std::any_of(h.errors.begin(), h.errors.end(),
                                      [&](const std::string& e) { return d.format().find(e) != std::string::npos; });
    EXPECT_TRUE(expected) << "unexpected error: " << d.format();
  }

  const auto units = tcs::unitgen::render(loaded.config);
  tcs::test::TempDir out;
  tcs::unitgen::writeUnitSet(units, out.path() / "units");
  const fs::path expectedDir = kCases / (c.name + ".expected");

  if (std::getenv("TCS_UPDATE_GOLDEN")) {
    fs::remove_all(expectedDir);
    fs::create_directories(expectedDir);
    fs::copy(out.path() / "units", expectedDir, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    if (fs::is_empty(expectedDir)) std::ofstream(expectedDir / ".gitkeep");
    GTEST_SKIP() << "rewrote " << expectedDir;
  }
  ASSERT_TRUE(fs::is_directory(expectedDir)) << expectedDir << " is missing (run with TCS_UPDATE_GOLDEN=1)";
  const auto actual = readTree(out.path() / "units");
  const auto expected = readTree(expectedDir);
  for (const auto& [rel, content] : expected) {
    auto it = actual.find(rel);
    if (it == actual.end()) {
      ADD_FAILURE() << "not generated: " << rel;
      continue;
    }
    EXPECT_EQ(it->second, content) << "differs: " << rel;
  }
  for (const auto& [rel, content] : actual)
    EXPECT_TRUE(expected.count(rel)) << "generated but not expected: " << rel << "\n" << content;
}

INSTANTIATE_TEST_SUITE_P(Cases, UnitgenGolden, ::testing::ValuesIn(allCases()),
                         [](const ::testing::TestParamInfo<Case>& param) {
                           std::string n = param.param.name;
                           std::replace_if(
                               n.begin(), n.end(),
                               [](char ch) { return !std::isalnum(static_cast<unsigned char>(ch)); }, '_');
                           return "case_" + n;
                         });

TEST(UnitgenGoldenSuite, HasAtLeastTwentyFiveCases) {
  EXPECT_GE(allCases().size(), 25u);
}

}  // namespace
