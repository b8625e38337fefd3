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
//   # mode: user              render for a user manager (tcs-unitgen --user) as user `dev` with a
//                             build tree in /home/dev/tcs/build: registry `~` is
//                             build/services/bin, the tree also holds tcs@.service and tcs.target
// Without expect-fatal an .expected/ directory must exist (it may be empty); with it, none may.
// UnitgenGoldenSuite checks the directory itself: names, pairs, directives, tree contents.
// TCS_UPDATE_GOLDEN=1 rewrites the .expected/ trees from the current output (an empty tree
// gets a .gitkeep, which the comparison ignores).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "render.hpp"
#include "tcs/config.hpp"
#include "temp_dir.hpp"
#include "user_units.hpp"
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
  bool user = false;
};

// The machine a `# mode: user` case pretends to run on.
constexpr const char* kUserUnitDir = "/home/dev/.config/systemd/user";
constexpr const char* kUserBinDir = "/home/dev/tcs/build/services/bin";
constexpr const char* kUserUnitgen = "/home/dev/tcs/build/unitgen/tcs-unitgen";

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
    if (line == "# mode: user") {
      h.user = true;
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
  options.builtinServiceDir = h.user ? kUserBinDir : "/usr/libexec/tcs";

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

  tcs::unitgen::RenderOptions ro;
  if (h.user) {
    ro.mode = tcs::unitgen::Mode::User;
    ro.templateUnit = fs::path(kUserUnitDir) / tcs::unitgen::kTemplateName;
    ro.userTemplate = tcs::unitgen::kUserTemplateIn;
    ro.userTarget = tcs::unitgen::kUserTargetIn;
    ro.unitgenPath = kUserUnitgen;
    ro.docDir = "/usr/share/doc/tcs";
  }
  const auto units = tcs::unitgen::render(loaded.config, ro);
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

// ---- the case directory itself -----------------------------------------------------------------
// The per-case test compares trees; these make sure every case is found, is well formed and
// can fail: a misnamed file, a stray or orphaned .expected/, a fatal case with an unused tree or
// a misspelt directive would otherwise be skipped or ignored without a word.

const std::regex kCaseName{R"(^(\d{3})-[a-z0-9]+(-[a-z0-9]+)*$)"};

TEST(UnitgenGoldenSuite, EveryEntryIsACaseFileOrTheExpectedTreeOfOne) {
  std::set<std::string> yamls, trees;
  for (const auto& e : fs::directory_iterator(kCases)) {
    const auto name = e.path().filename().string();
    const auto stem = e.path().stem().string();
    if (e.is_regular_file() && e.path().extension() == ".yaml")
      yamls.insert(stem);
    else if (e.is_directory() && e.path().extension() == ".expected")
      trees.insert(stem);
    else
      ADD_FAILURE() << "stray entry in the case directory (neither NNN-name.yaml nor NNN-name.expected/): " << name;
    EXPECT_TRUE(std::regex_match(stem, kCaseName)) << name << " is not named NNN-lower-case-words";
  }
  for (const auto& t : trees) EXPECT_TRUE(yamls.count(t)) << t << ".expected/ has no " << t << ".yaml";
  std::map<std::string, std::string> byNumber;
  for (const auto& y : yamls) {
    const auto [it, fresh] = byNumber.emplace(y.substr(0, 3), y);
    EXPECT_TRUE(fresh) << y << " and " << it->second << " share a number";
    const Header h = readHeader(tcs::test::readFile(kCases / (y + ".yaml")));
    if (h.fatal.empty())
      EXPECT_TRUE(trees.count(y)) << y << ".yaml loads, so " << y << ".expected/ must exist (it may be empty)";
    else
      EXPECT_FALSE(trees.count(y)) << y << ".yaml expects a fatal error, so " << y << ".expected/ would never be read";
  }
}

TEST(UnitgenGoldenSuite, EveryCaseFileIsRunAsATest) {
  std::size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(kCases)) {
    const auto ext = e.path().extension();
    if (ext == ".yaml" || ext == ".yml") ++files;
  }
  const ::testing::TestSuite* suite = nullptr;
  const auto* unit = ::testing::UnitTest::GetInstance();
  for (int i = 0; i < unit->total_test_suite_count(); ++i)
    if (std::string_view(unit->GetTestSuite(i)->name()) == "Cases/UnitgenGolden") suite = unit->GetTestSuite(i);
  ASSERT_NE(suite, nullptr) << "no golden case was instantiated from " << kCases;
  EXPECT_GT(files, 0u) << kCases << " holds no case";
  EXPECT_EQ(static_cast<std::size_t>(suite->total_test_count()), files)
      << "every .yaml below " << kCases << " must be one Cases/UnitgenGolden test";
}

TEST(UnitgenGoldenSuite, EveryHeaderDirectiveIsKnown) {
  for (const auto& c : allCases()) {
    std::istringstream in(tcs::test::readFile(c.yaml));
    for (std::string line; std::getline(in, line);) {
      // Directives are "# word: …" lines whose word is env or starts with expect.
      static const std::regex directive{R"(^#\s*(env|mode|expect[a-z-]*)\s*:)"};
      std::smatch m;
      if (!std::regex_search(line, m, directive)) continue;
      const bool known = line.starts_with("# env: ") || line.starts_with("# expect-error: ") ||
                         line.starts_with("# expect-warning: ") || line.starts_with("# expect-fatal: ") ||
                         line == "# mode: user";
      EXPECT_TRUE(known) << c.name << ": unknown or misspelt directive, ignored by the runner: " << line;
    }
  }
}

TEST(UnitgenGoldenSuite, ExpectedTreesHoldOnlyWhatUnitgenWrites) {
  // The instances' drop-ins, and the supervisor's (its NATS secrets; system mode only).
  const std::regex dropIn{R"(^tcs@[^/]+\.service\.d/50-tcs\.conf$)"};
  const std::string supervisorDropIn = "tcs-supervisor.service.d/50-tcs.conf";
  const std::regex wants{R"(^tcs\.target\.wants/tcs@[^/]+\.service$)"};
  for (const auto& c : allCases()) {
    const bool user = readHeader(tcs::test::readFile(c.yaml)).user;
    const fs::path tree = kCases / (c.name + ".expected");
    if (!fs::is_directory(tree)) continue;
    bool gitkeep = false, other = false;
    for (auto it = fs::recursive_directory_iterator(tree); it != fs::recursive_directory_iterator(); ++it) {
      const auto rel = it->path().lexically_relative(tree).string();
      if (rel == ".gitkeep") {
        gitkeep = true;
        continue;
      }
      if (it->is_directory() && !it->is_symlink()) continue;
      other = true;
      if (it->is_symlink())
        EXPECT_TRUE(std::regex_match(rel, wants)) << c.name << ": unexpected link " << rel;
      else
        EXPECT_TRUE(it->is_regular_file() && (std::regex_match(rel, dropIn) || (!user && rel == supervisorDropIn) ||
                                              (user && (rel == "tcs@.service" || rel == "tcs.target"))))
            << c.name << ": unexpected file " << rel;
    }
    EXPECT_FALSE(gitkeep && other) << c.name << ": .gitkeep only keeps an otherwise empty tree";
  }
}

TEST(UnitgenGoldenSuite, CoversOutputErrorsWarningsAndFatalLoads) {
  // Every kind of expectation the runner knows is exercised by at least one case, so a runner
  // bug that ignores one kind shows up as a failing case rather than as silence.
  std::size_t output = 0, errors = 0, warnings = 0, fatal = 0, environment = 0, empty = 0, user = 0;
  for (const auto& c : allCases()) {
    const Header h = readHeader(tcs::test::readFile(c.yaml));
    errors += !h.errors.empty();
    warnings += !h.warnings.empty();
    fatal += !h.fatal.empty();
    environment += !h.env.empty();
    user += h.user;
    const auto tree = readTree(kCases / (c.name + ".expected"));
    (tree.empty() ? empty : output) += h.fatal.empty();
  }
  EXPECT_GT(output, 0u);
  EXPECT_GT(errors, 0u);
  EXPECT_GT(warnings, 0u);
  EXPECT_GT(fatal, 0u);
  EXPECT_GT(environment, 0u);
  EXPECT_GT(empty, 0u);
  EXPECT_GT(user, 0u);
}

}  // namespace
