// SPDX-License-Identifier: MIT
#include "tcs/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tcs/error.hpp"
#include "tcs/log_level.hpp"
#include "tcs/unit_name.hpp"
#include "temp_dir.hpp"

namespace cfg = tcs::config;
namespace fs = std::filesystem;
using cfg::Diagnostic;
using cfg::LogLevel;
using cfg::RestartPolicy;
using cfg::Value;
using Kind = cfg::Value::Kind;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

namespace {

constexpr const char* kFile = "services.yaml";
const fs::path kBuiltinDir = "/usr/libexec/tcs/services";

cfg::LoadOptions options(cfg::Environment env = {}) {
  cfg::LoadOptions o;
  o.environment = std::move(env);
  o.builtinServiceDir = kBuiltinDir;
  return o;
}

cfg::LoadResult parseYaml(std::string_view yaml, cfg::Environment env = {}, const fs::path& file = kFile) {
  return cfg::parse(yaml, file, options(std::move(env)));
}

std::vector<std::string> formatted(const cfg::LoadResult& r, Diagnostic::Severity severity) {
  std::vector<std::string> out;
  for (const auto& d : r.diagnostics)
    if (d.severity == severity) out.push_back(d.format());
  return out;
}
std::vector<std::string> errors(const cfg::LoadResult& r) {
  return formatted(r, Diagnostic::Severity::Error);
}
std::vector<std::string> warnings(const cfg::LoadResult& r) {
  return formatted(r, Diagnostic::Severity::Warning);
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

/** Parses @p yaml, which must load without errors and hold exactly one service. */
cfg::ServiceConfig loadOne(std::string_view yaml, cfg::Environment env = {}) {
  auto r = parseYaml(yaml, std::move(env));
  EXPECT_TRUE(r.ok()) << joined(errors(r));
  if (r.config.services().size() != 1)
    throw std::runtime_error("expected exactly one service, got " + std::to_string(r.config.services().size()) + "\n" +
                             joined(errors(r)));
  return r.config.services()[0];
}

/** One hello_world/main service with @p lines (each "key: value") added; the first added line is line 4. */
std::string oneService(const std::string& lines) {
  std::string yaml = "services:\n  - type: hello_world\n    variant: main\n";
  std::string rest = lines;
  std::size_t pos = 0;
  while (pos < rest.size()) {
    auto nl = rest.find('\n', pos);
    if (nl == std::string::npos) nl = rest.size();
    yaml += "    " + rest.substr(pos, nl - pos) + "\n";
    pos = nl + 1;
  }
  return yaml;
}

/** The value of setting @p key of the only service in @p yaml. */
Value settingOf(const std::string& yaml, std::string_view key, cfg::Environment env = {}) {
  const auto s = loadOne(yaml, std::move(env));
  const Value* v = s.settings.find(key);
  if (!v) throw std::runtime_error("setting missing: " + std::string{key});
  return *v;
}

std::string describeKind(Kind k) {
  return std::string{Value::kindName(k)};
}

std::string located(int line, int column) {
  return std::string{kFile} + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
}

}  // namespace

// ================================================================================================
// Files: reading, broken YAML, the top level
// ================================================================================================

TEST(ConfigLoad, ThrowsForAMissingFileNamingIt) {
  tcs::test::TempDir dir;
  const fs::path missing = dir / "nope.yaml";
  try {
    cfg::load(missing, options());
    FAIL() << "no exception";
  } catch (const tcs::ConfigError& e) {
    EXPECT_EQ(e.file(), missing.string());
    EXPECT_EQ(e.line(), 0);
    EXPECT_THAT(e.what(), StartsWith(missing.string() + ": cannot open: "));
    EXPECT_THAT(e.what(), HasSubstr("No such file or directory"));
  }
}

TEST(ConfigLoad, ThrowsForADirectoryInsteadOfReturningAnEmptyConfig) {
  tcs::test::TempDir dir;
  try {
    cfg::load(dir.path(), options());
    FAIL() << "no exception";
  } catch (const tcs::ConfigError& e) {
    EXPECT_EQ(e.file(), dir.path().string());
    EXPECT_THAT(e.what(), HasSubstr("Is a directory"));
  }
}

TEST(ConfigLoad, RecordsTheAbsolutePathButReportsThePathAsGiven) {
  tcs::test::TempDir dir;
  const auto file = dir.write("conf/services.yaml", "services:\n  - type: hello_world\n    restrat: always\n");
  const fs::path relative = fs::relative(file);
  ASSERT_TRUE(relative.is_relative());
  const auto r = cfg::load(relative, options());
  EXPECT_EQ(r.config.path(), file.lexically_normal());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].file, relative.string());
}

TEST(ConfigLoad, ThrowsForBrokenYamlWithLineAndColumnInsteadOfAnEmptyConfig) {
  struct Case {
    std::string yaml;
    int line, column;
  };
  const std::vector<Case> cases = {
      {"services: [\n  - type: a\n", 2, 3},              // unclosed flow sequence
      {"a: 1\n b: 2\n", 2, 3},                           // bad indentation
      {"services:\n\t- type: a\n", 2, 2},                // tab indentation
      {"services:\n  - type: a\n    x: {y: 1\n", 4, 1},  // unclosed flow mapping
      {"services:\n  - type: a\n    message: [1, 2\n  - type: b\n", 4, 9},
  };
  for (const auto& c : cases) {
    try {
      parseYaml(c.yaml);
      ADD_FAILURE() << "no exception for:\n" << c.yaml;
    } catch (const tcs::ConfigError& e) {
      EXPECT_EQ(e.file(), kFile) << c.yaml;
      EXPECT_EQ(e.line(), c.line) << c.yaml;
      EXPECT_EQ(e.column(), c.column) << c.yaml;
      EXPECT_THAT(e.what(), StartsWith(located(c.line, c.column) + "invalid YAML: ")) << c.yaml;
    }
  }
}

TEST(ConfigLoad, ThrowsForAnUnterminatedQuoteInsteadOfSwallowingTheRestOfTheFile) {
  // yaml-cpp alone would read `message` as "hello - type: b" and lose the second service.
  const std::vector<std::string> cases = {
      "services:\n  - type: a\n    message: \"hello\n  - type: b\n",
      "services:\n  - type: a\n    message: 'hello\n  - type: b\n",
  };
  for (const auto& yaml : cases) {
    try {
      parseYaml(yaml);
      ADD_FAILURE() << "no exception for:\n" << yaml;
    } catch (const tcs::ConfigError& e) {
      EXPECT_EQ(e.line(), 3) << yaml;
      EXPECT_EQ(e.column(), 14) << yaml;
      EXPECT_THAT(e.what(), StartsWith(located(3, 14) + "invalid YAML: unterminated")) << yaml;
    }
  }
}

TEST(ConfigLoad, RejectsARecursiveAliasWithALineNumberInsteadOfOverflowingTheStack) {
  // Found by fuzz.config_load: each of these crashed every program that read the config.
  const std::vector<std::string> cases = {
      "a: &x\n  b: *x\n",
      "a: &x\n  <<: *x\n",
      "a: &x [1, *x]\n",
  };
  for (const auto& yaml : cases) {
    try {
      parseYaml(yaml);
      ADD_FAILURE() << "no exception for:\n" << yaml;
    } catch (const tcs::ConfigError& e) {
      EXPECT_EQ(e.line(), 1) << yaml;
      EXPECT_THAT(e.what(), HasSubstr("invalid YAML: a recursive alias")) << yaml;
    }
  }
}

TEST(ConfigLoad, RejectsAliasesThatExpandToMoreThanAHundredThousandValues) {
  // Six levels of ten aliases: a million values from eight lines ("billion laughs").
  std::string yaml = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 5; ++i) {
    const auto n = std::to_string(i);
    const auto alias = "*l" + std::to_string(i - 1);
    yaml += "l" + n + ": &l" + n + " [" + alias;
    for (int k = 1; k < 10; ++k) yaml += ", " + alias;
    yaml += "]\n";
  }
  try {
    parseYaml(yaml);
    ADD_FAILURE() << "no exception";
  } catch (const tcs::ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("invalid YAML: more than 100000 values once aliases are expanded"));
  }
}

TEST(ConfigLoad, AcceptsQuotedStringsWithEscapedQuotesAndLineBreaks) {
  const auto s = loadOne(
      "services:\n  - type: a\n    m1: \"say \\\"hi\\\"\"\n    m2: 'it''s'\n    m3: \"two\n      lines\"\n"
      "    m4: \"back\\\\\"\n");
  EXPECT_EQ(s.settings.get<std::string>("m1", ""), "say \"hi\"");
  EXPECT_EQ(s.settings.get<std::string>("m2", ""), "it's");
  EXPECT_EQ(s.settings.get<std::string>("m3", ""), "two lines");
  EXPECT_EQ(s.settings.get<std::string>("m4", ""), "back\\");
}

TEST(ConfigLoad, ReadsFilesWithCrlfLineEndsAndAByteOrderMark) {
  for (const std::string prefix : {"", "\xef\xbb\xbf"}) {
    const auto s = loadOne(prefix +
                           "services:\r\n  - type: a\r\n    m1: \"say \\\"hi\\\"\"\r\n    m2: 'it''s'\r\n"
                           "    m3: \"x\"\r\n");
    EXPECT_EQ(s.settings.get<std::string>("m1", ""), "say \"hi\"");
    EXPECT_EQ(s.settings.get<std::string>("m2", ""), "it's");
    EXPECT_EQ(s.settings.get<std::string>("m3", ""), "x");
  }
}

TEST(ConfigLoad, ThrowsWhenTheTopLevelIsNotAMapping) {
  struct Case {
    std::string yaml, kind;
  };
  const std::vector<Case> cases = {
      {"- type: hello_world\n- type: other\n", "a list"},
      {"hello\n", "a string"},
      {"42\n", "an integer"},
  };
  for (const auto& c : cases) {
    try {
      parseYaml(c.yaml);
      ADD_FAILURE() << "no exception for:\n" << c.yaml;
    } catch (const tcs::ConfigError& e) {
      EXPECT_EQ(std::string{e.what()},
                located(1, 1) + "the top level must be a mapping with a 'services:' list, got " + c.kind);
    }
  }
}

TEST(ConfigLoad, WarnsAboutAnEmptyFileButLoadsIt) {
  for (const std::string yaml : {"", "# only a comment\n", "---\n"}) {
    const auto r = parseYaml(yaml);
    EXPECT_TRUE(r.ok()) << yaml;
    EXPECT_THAT(r.config.services(), IsEmpty());
    EXPECT_THAT(warnings(r), ElementsAre("services.yaml: warning: the file is empty: no services are configured"));
  }
}

TEST(ConfigLoad, WarnsWhenNoServicesAreConfigured) {
  auto r = parseYaml("nats:\n  host: localhost\n");
  EXPECT_TRUE(r.ok());
  EXPECT_THAT(warnings(r), ElementsAre("services.yaml:1:1: warning: services: no services are configured"));

  r = parseYaml("nats:\n  host: localhost\nservices:\n");
  EXPECT_TRUE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].severity, Diagnostic::Severity::Warning);
  EXPECT_EQ(r.diagnostics[0].yamlPath, "services");
  EXPECT_EQ(r.diagnostics[0].message, "no services are configured");
}

TEST(ConfigLoad, RejectsServicesThatIsNotAList) {
  // upstream's old dict form; its launchers fail on it as well
  const auto r = parseYaml("services:\n  dumb:\n    type: dumb_permanent\n");
  EXPECT_THAT(errors(r), ElementsAre("services.yaml:2:3: error: services: must be a list of service entries "
                                     "('- type: …'), got a mapping"));
  EXPECT_THAT(r.config.services(), IsEmpty());
}

TEST(ConfigLoad, RejectsAServiceEntryThatIsNotAMapping) {
  const auto r = parseYaml("services:\n  - hello_world\n  - type: other\n");
  EXPECT_THAT(errors(r), ElementsAre("services.yaml:2:5: error: services[0]: a service entry must be a mapping "
                                     "with at least 'type:', got a string"));
  ASSERT_EQ(r.config.services().size(), 1u);
  EXPECT_EQ(r.config.services()[0].type, "other");
}

TEST(ConfigLoad, RejectsADuplicateKeyNamingTheFirstLine) {
  const auto r = parseYaml("services:\n  - type: a\n    interval: 1\n    interval: 2\n");
  EXPECT_THAT(errors(r), ElementsAre("services.yaml:4:5: error: services[0].interval: duplicate key 'interval' "
                                     "(first at line 3)"));
  EXPECT_FALSE(r.ok());
}

// ================================================================================================
// Message shapes: file:line:col: error: yaml.path: message 'value'
// ================================================================================================

TEST(ConfigMessages, NameFileLineColumnPathAndTheBadValue) {
  struct Case {
    std::string yaml;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {oneService("restart: sometimes"),
       "services.yaml:4:14: error: services[0].restart: invalid value 'sometimes' "
       "(expected one of: \"no\", on-failure, on-abnormal, always)"},
      {"services:\n  - type: a\n  - variant: x\n",
       "services.yaml:3:5: error: services[1]: missing required key 'type'"},
      {"nats:\n  port: abc\nservices:\n  - type: a\n",
       "services.yaml:2:9: error: nats.port: invalid port 'abc' (expected an integer 1-65535)"},
      {"services:\n  - type: hello_world\n    variant: main.v2\n",
       "services.yaml:3:14: error: services[0].variant: invalid variant 'main.v2': a variant may not contain dots "
       "(the service id '<type>.<variant>' is split at its last dot)"},
      {"services:\n  - type: \"hello world\"\n",
       "services.yaml:2:11: error: services[0].type: invalid service type 'hello world': dot-separated parts, each "
       "matching [A-Za-z0-9_]{1,64}"},
      {"services:\n  - type: a\n  - type: b\n    restart_sec: -1\n",
       "services.yaml:4:18: error: services[1].restart_sec: invalid value -1 (expected seconds from 0 to 31536000)"},
      {"services:\n  - type: a\n    after: b.main\n",
       "services.yaml:3:12: error: services[0].after: 'b.main' is not a configured service"},
      {"services:\n  - type: a\n    description: \"line1\\nline2\"\n",
       "services.yaml:3:18: error: services[0].description: value 'line1\\x0aline2' contains a newline or control "
       "character, which may not reach a unit file"},
      {"nats:\n  required: \"false\"\nservices:\n  - type: a\n",
       "services.yaml:2:13: error: nats.required: expected true or false (unquoted), got 'false'"},
  };
  for (const auto& c : cases) {
    const auto r = parseYaml(c.yaml);
    EXPECT_THAT(errors(r), ElementsAre(c.expected)) << c.yaml;
  }
}

TEST(ConfigMessages, WarningsUseTheSameShape) {
  const auto r = parseYaml("services:\n  - type: hello_world\n    restrat: always\n");
  EXPECT_TRUE(r.ok());
  EXPECT_THAT(warnings(r), ElementsAre("services.yaml:3:14: warning: services[0].restrat: unknown key 'restrat'; did "
                                       "you mean 'restart'? (kept as a service setting)"));
}

TEST(ConfigMessages, LeaveOutTheLocationOfAnEnvironmentValue) {
  const auto r = parseYaml("services:\n  - type: a\n", {{"NATS_PORT", "http"}});
  EXPECT_THAT(errors(r),
              ElementsAre("services.yaml: error: $NATS_PORT (environment): invalid port 'http' (expected 1-65535)"));
}

TEST(ConfigMessages, FormatADiagnosticFromItsParts) {
  struct Case {
    Diagnostic d;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{Diagnostic::Severity::Error, "s.yaml", {12, 14}, "services[2].restart", "bad"},
       "s.yaml:12:14: error: services[2].restart: bad"},
      {{Diagnostic::Severity::Warning, "s.yaml", {3, 1}, "", "odd"}, "s.yaml:3:1: warning: odd"},
      {{Diagnostic::Severity::Error, "s.yaml", {}, "$X (environment)", "bad"}, "s.yaml: error: $X (environment): bad"},
      {{Diagnostic::Severity::Warning, "s.yaml", {}, "", "empty"}, "s.yaml: warning: empty"},
  };
  for (const auto& c : cases) EXPECT_EQ(c.d.format(), c.expected);
}

TEST(ConfigMessages, ConfigErrorLeavesOutUnknownParts) {
  struct Case {
    std::string file;
    int line, column;
    std::string path, message, expected;
  };
  const std::vector<Case> cases = {
      {"s.yaml", 12, 14, "services[2].restart", "bad", "s.yaml:12:14: services[2].restart: bad"},
      {"s.yaml", 3, 0, "", "bad", "s.yaml:3: bad"},
      {"s.yaml", 0, 0, "", "cannot open: x", "s.yaml: cannot open: x"},
      {"s.yaml", 0, 0, "$X (environment)", "bad", "s.yaml: $X (environment): bad"},
      {"", 0, 0, "a.b", "bad", "a.b: bad"},
      {"", 0, 0, "", "bad", "bad"},
  };
  for (const auto& c : cases) {
    const tcs::ConfigError e(c.file, c.line, c.column, c.path, c.message);
    EXPECT_EQ(std::string{e.what()}, c.expected);
    EXPECT_EQ(e.message(), c.message);
    EXPECT_EQ(e.yamlPath(), c.path);
  }
}

TEST(ConfigMessages, AreErrorsThatDropOnlyTheBadService) {
  const auto r = parseYaml("services:\n  - type: good\n  - type: bad\n    restart: sometimes\n  - type: also_good\n");
  EXPECT_EQ(r.errorCount(), 1u);
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.config.services().size(), 2u);
  EXPECT_EQ(r.config.services()[0].id(), "good.dev");
  EXPECT_EQ(r.config.services()[1].id(), "also_good.dev");
  EXPECT_EQ(r.config.services()[1].index, 2);
  EXPECT_EQ(r.config.services()[1].yamlPath(), "services[2]");
  EXPECT_EQ(r.config.services()[1].mark.line, 5);
  EXPECT_EQ(r.config.services()[1].mark.column, 5);
}

// ================================================================================================
// Names: type and variant
// ================================================================================================

TEST(ConfigNames, RejectsInvalidTypesShowingTheAllowedPattern) {
  const std::vector<std::string> bad = {
      "\"hello world\"",    "\"a*\"",  "\"a>\"", "a-b",    "\"\"", "zażółć",
      std::string(65, 'a'), "\"a.\"",  "\".a\"", "a..b",   "a/b",  "\"a@b\"",
      "\"a\\\\b\"",         "\"a:b\"", "5",      "[a, b]",
  };
  for (const auto& type : bad) {
    const auto r = parseYaml("services:\n  - type: " + type + "\n");
    ASSERT_EQ(r.errorCount(), 1u) << type << "\n" << joined(errors(r));
    const auto& d = r.diagnostics.back();
    EXPECT_EQ(d.yamlPath, "services[0].type") << type;
    EXPECT_EQ(d.mark.line, 2) << type;
    EXPECT_EQ(d.mark.column, 11) << type;
    EXPECT_THAT(d.message, AllOf(StartsWith("invalid service type "), HasSubstr("[A-Za-z0-9_]{1,64}"))) << type;
    EXPECT_THAT(r.config.services(), IsEmpty()) << type;
  }
}

TEST(ConfigNames, QuotesTheBadTypeInTheMessage) {
  const auto r = parseYaml("services:\n  - type: examples.mini-mal\n");
  ASSERT_EQ(r.errorCount(), 1u);
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("'examples.mini-mal'"));
}

TEST(ConfigNames, RejectsInvalidVariantsShowingTheAllowedPattern) {
  struct Case {
    std::string yaml, shown;
  };
  const std::vector<Case> cases = {
      {"\"a b\"", "'a b'"},
      {"\"*\"", "'*'"},
      {"\">\"", "'>'"},
      {"a-b", "'a-b'"},
      {"ü", "'ü'"},
      {"a/b", "'a/b'"},
      {"\"a:b\"", "'a:b'"},
      {"\"a@b\"", "'a@b'"},
      {"\"a%i\"", "'a%i'"},
      {"\"a\\tb\"", "'a\\x09b'"},
      {std::string(65, 'v'), "'" + std::string(65, 'v') + "'"},
  };
  for (const auto& c : cases) {
    for (const std::string key : {"variant", "instance_context"}) {
      const auto r = parseYaml("services:\n  - type: hello_world\n    " + key + ": " + c.yaml + "\n");
      ASSERT_EQ(r.errorCount(), 1u) << c.yaml;
      const auto& d = r.diagnostics.back();
      EXPECT_EQ(d.yamlPath, "services[0]." + key) << c.yaml;
      EXPECT_EQ(d.mark.line, 3) << c.yaml;
      EXPECT_EQ(d.mark.column, static_cast<int>(key.size()) + 7) << c.yaml;
      EXPECT_EQ(d.message, "invalid variant " + c.shown + ": must match [A-Za-z0-9_]{1,64}") << c.yaml;
      EXPECT_THAT(r.config.services(), IsEmpty());
    }
  }
}

TEST(ConfigNames, RejectsADottedVariant) {
  for (const std::string v : {"main.v2", "\"a.b\"", "1.5"}) {
    const auto r = parseYaml("services:\n  - type: hello_world\n    instance_context: " + v + "\n");
    ASSERT_EQ(r.errorCount(), 1u) << v;
    EXPECT_THAT(r.diagnostics[0].message, StartsWith("invalid variant ")) << v;
    EXPECT_THAT(r.diagnostics[0].message, HasSubstr("may not contain dots")) << v;
  }
}

TEST(ConfigNames, AcceptsVariantsAtTheLimits) {
  const std::string v64(64, 'v');
  EXPECT_EQ(loadOne("services:\n  - type: a\n    variant: " + v64 + "\n").variant, v64);
  EXPECT_EQ(loadOne("services:\n  - type: a\n    variant: X_9\n").variant, "X_9");
  EXPECT_EQ(loadOne("services:\n  - type: a\n    variant: 7\n").variant, "7");
}

TEST(ConfigNames, DefaultsTheVariantToDevLikeUpstream) {
  // upstream: variant or instance_context or "dev" — an empty or null value is falsy
  for (const std::string extra : {"", "    variant: ~\n", "    variant: \"\"\n", "    instance_context: \"\"\n",
                                  "    variant:\n    instance_context:\n"}) {
    const auto s = loadOne("services:\n  - type: hello_world\n" + extra);
    EXPECT_EQ(s.variant, "dev") << extra;
    EXPECT_EQ(s.id(), "hello_world.dev");
  }
}

TEST(ConfigNames, TakesTheVariantFromLegacyInstanceContext) {
  const auto s = loadOne("services:\n  - type: test_legacy\n    instance_context: legacy_test\n");
  EXPECT_EQ(s.variant, "legacy_test");
  EXPECT_EQ(s.id(), "test_legacy.legacy_test");
  EXPECT_EQ(s.unitName(), "tcs@test_legacy:legacy_test.service");
}

TEST(ConfigNames, PrefersVariantOverInstanceContextAndWarnsWhenTheyDiffer) {
  auto r = parseYaml("services:\n  - type: a\n    variant: new\n    instance_context: old\n");
  ASSERT_EQ(r.config.services().size(), 1u);
  EXPECT_EQ(r.config.services()[0].variant, "new");
  EXPECT_THAT(warnings(r), ElementsAre("services.yaml:4:23: warning: services[0].instance_context: both variant and "
                                       "legacy instance_context are set; using variant 'new'"));

  r = parseYaml("services:\n  - type: a\n    variant: same\n    instance_context: same\n");
  EXPECT_THAT(warnings(r), IsEmpty());
}

TEST(ConfigNames, DoesNotInheritTypeOrVariantFromTopLevelKeys) {
  const auto r = parseYaml("variant: global\ntype: x\nservices:\n  - type: a\n");
  ASSERT_EQ(r.config.services().size(), 1u);
  EXPECT_EQ(r.config.services()[0].variant, "dev");
  EXPECT_THAT(warnings(r),
              ElementsAre("services.yaml:1:10: warning: variant: 'variant' is a per-service key and is ignored at the "
                          "top level",
                          "services.yaml:2:7: warning: type: 'type' is a per-service key and is ignored at the top "
                          "level"));
}

TEST(ConfigNames, RejectsAUnitNameLongerThanSystemdAllows) {
  const std::string t(60, 't');
  const auto r = parseYaml("services:\n  - type: " + t + "." + t + "." + t + "." + t + "\n    variant: v\n");
  ASSERT_EQ(r.errorCount(), 1u);
  EXPECT_EQ(r.diagnostics[0].yamlPath, "services[0]");
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("longer than systemd's limit of 255 characters"));
}

TEST(ConfigNames, ExpandsEnvironmentReferencesInTypeAndVariant) {
  const auto s = loadOne("services:\n  - type: ${T:-hello_world}\n    variant: \"${V}\"\n", {{"V", "site1"}});
  EXPECT_EQ(s.id(), "hello_world.site1");
}

// ================================================================================================
// Duplicates and references
// ================================================================================================

TEST(ConfigLoad, RejectsADuplicateServiceNamingBothLines) {
  const auto r = parseYaml(
      "services:\n"
      "  - type: hello_world\n"
      "    variant: main\n"
      "  - type: other\n"
      "  - type: hello_world\n"
      "    instance_context: main\n");
  EXPECT_THAT(errors(r), ElementsAre("services.yaml:5:5: error: services[2]: duplicate service 'hello_world.main' "
                                     "(first defined in services[0] at line 2); each type+variant may appear once"));
  // which copy was meant is unknowable: both go
  ASSERT_EQ(r.config.services().size(), 1u);
  EXPECT_EQ(r.config.services()[0].id(), "other.dev");
}

TEST(ConfigLoad, RejectsEveryFurtherCopyOfADefaultVariantService) {
  const auto r = parseYaml("services:\n  - type: a\n  - type: a\n    variant: dev\n  - type: a\n");
  EXPECT_THAT(errors(r),
              ElementsAre(HasSubstr("services.yaml:3:5: error: services[1]: duplicate service 'a.dev' (first "
                                    "defined in services[0] at line 2)"),
                          HasSubstr("services.yaml:5:5: error: services[2]: duplicate service 'a.dev' (first "
                                    "defined in services[0] at line 2)")));
  EXPECT_THAT(r.config.services(), IsEmpty());
}

TEST(ConfigLoad, AllowsTheSameTypeWithDifferentVariants) {
  const auto r = parseYaml("services:\n  - type: a\n    variant: one\n  - type: a\n    variant: two\n");
  EXPECT_TRUE(r.ok());
  ASSERT_EQ(r.config.services().size(), 2u);
  EXPECT_NE(r.config.find("a", "one"), nullptr);
  EXPECT_NE(r.config.findById("a.two"), nullptr);
  EXPECT_EQ(r.config.find("a", "three"), nullptr);
  EXPECT_EQ(r.config.findById("a"), nullptr);
}

TEST(ConfigServices, ResolvesAfterAndRequiresToConfiguredServices) {
  const auto r = parseYaml(
      "services:\n"
      "  - type: db\n"
      "    variant: main\n"
      "  - type: cache\n"
      "  - type: app\n"
      "    after: [db.main, cache.dev]\n"
      "    requires: db.main\n");
  EXPECT_TRUE(r.ok()) << joined(errors(r));
  const auto* app = r.config.find("app", "dev");
  ASSERT_NE(app, nullptr);
  EXPECT_THAT(app->after, ElementsAre("db.main", "cache.dev"));
  EXPECT_THAT(app->requires_, ElementsAre("db.main"));
}

TEST(ConfigServices, RejectsAfterAndRequiresThatNameNoConfiguredService) {
  struct Case {
    std::string line, expected;
  };
  const std::vector<Case> cases = {
      {"after: b.main", "services.yaml:3:12: error: services[0].after: 'b.main' is not a configured service"},
      {"requires: [a.dev]", "services.yaml:3:16: error: services[0].requires[0]: 'a.dev' refers to the service itself"},
      {"after: nodot",
       "services.yaml:3:12: error: services[0].after: expected a service id '<type>.<variant>' of a configured "
       "service, got 'nodot'"},
      {"requires: [5]",
       "services.yaml:3:16: error: services[0].requires[0]: expected a service id '<type>.<variant>' of a "
       "configured service, got 5"},
      {"after: \"a-b.c\"",
       "services.yaml:3:12: error: services[0].after: expected a service id '<type>.<variant>' of a configured "
       "service, got 'a-b.c'"},
  };
  for (const auto& c : cases) {
    const auto r = parseYaml("services:\n  - type: a\n    " + c.line + "\n  - type: b\n    variant: other\n");
    EXPECT_THAT(errors(r), ElementsAre(c.expected)) << c.line;
    ASSERT_EQ(r.config.services().size(), 1u) << c.line;
    EXPECT_EQ(r.config.services()[0].id(), "b.other");
  }
}

// ================================================================================================
// nats:
// ================================================================================================

TEST(ConfigNats, DefaultsToLocalhostAndNotRequiredWhenTheSectionIsAbsent) {
  const auto r = parseYaml("services:\n  - type: a\n");
  const auto& n = r.config.nats();
  EXPECT_FALSE(n.present);
  EXPECT_FALSE(n.required);
  EXPECT_EQ(n.host, "localhost");
  EXPECT_EQ(n.port, 4222);
  EXPECT_EQ(n.subjectPrefix, "svc");
  EXPECT_THAT(n.servers, IsEmpty());
  EXPECT_FALSE(n.user || n.password || n.token || n.credsFile || n.nkeySeedFile || n.tlsCa || n.tlsCert || n.tlsKey);
}

TEST(ConfigNats, IsRequiredByDefaultWhenTheSectionExists) {
  for (const std::string section : {"nats:\n  host: nats.oca.lan\n", "nats: {}\n", "nats:\n"}) {
    const auto r = parseYaml(section + "services:\n  - type: a\n");
    EXPECT_TRUE(r.ok()) << section;
    EXPECT_TRUE(r.config.nats().present) << section;
    EXPECT_TRUE(r.config.nats().required) << section;
  }
}

TEST(ConfigNats, ReadsRequiredAsAnUnquotedBoolean) {
  struct Case {
    std::string value;
    bool expected;
  };
  for (const auto& c :
       std::vector<Case>{{"true", true}, {"false", false}, {"no", false}, {"yes", true}, {"off", false}}) {
    const auto r = parseYaml("nats:\n  required: " + c.value + "\n");
    EXPECT_TRUE(r.ok()) << c.value;
    EXPECT_EQ(r.config.nats().required, c.expected) << c.value;
  }
  // upstream reads truthiness, so a quoted "false" would mean true there: refuse it
  for (const std::string bad : {"\"false\"", "0", "maybe"}) {
    const auto r = parseYaml("nats:\n  required: " + bad + "\n");
    ASSERT_EQ(r.errorCount(), 1u) << bad;
    EXPECT_THAT(errors(r)[0], HasSubstr("nats.required: expected true or false (unquoted)")) << bad;
  }
}

TEST(ConfigNats, ReadsHostAndPortIncludingANumericStringPort) {
  struct Case {
    std::string port;
    int expected;
  };
  for (const auto& c : std::vector<Case>{{"4333", 4333},
                                         {"\"4333\"", 4333},
                                         {"\" 4333 \"", 4333},
                                         {"\"${P:-4444}\"", 4444},
                                         {"1", 1},
                                         {"65535", 65535}}) {
    const auto r = parseYaml("nats:\n  host: nats.oca.lan\n  port: " + c.port + "\n");
    EXPECT_TRUE(r.ok()) << c.port << joined(errors(r));
    EXPECT_EQ(r.config.nats().host, "nats.oca.lan");
    EXPECT_EQ(r.config.nats().port, c.expected) << c.port;
  }
}

TEST(ConfigNats, RejectsInvalidPortsAndHosts) {
  struct Case {
    std::string yaml, expected;
  };
  const std::vector<Case> cases = {
      {"port: 0", "services.yaml:2:9: error: nats.port: invalid port 0 (expected an integer 1-65535)"},
      {"port: 65536", "services.yaml:2:9: error: nats.port: invalid port 65536 (expected an integer 1-65535)"},
      {"port: -1", "services.yaml:2:9: error: nats.port: invalid port -1 (expected an integer 1-65535)"},
      {"port: 4222.5", "services.yaml:2:9: error: nats.port: invalid port 4222.5 (expected an integer 1-65535)"},
      {"port: \"4222.0\"", "services.yaml:2:9: error: nats.port: invalid port '4222.0' (expected an integer 1-65535)"},
      {"port: true", "services.yaml:2:9: error: nats.port: invalid port true (expected an integer 1-65535)"},
      {"host: \"\"", "services.yaml:2:9: error: nats.host: invalid host ''"},
      {"host: \"a b\"", "services.yaml:2:9: error: nats.host: invalid host 'a b'"},
      {"host: \"a\\nb\"", "services.yaml:2:9: error: nats.host: invalid host 'a\\x0ab'"},
      {"host: 5", "services.yaml:2:9: error: nats.host: expected a string, got an integer 5"},
  };
  for (const auto& c : cases) {
    const auto r = parseYaml("nats:\n  " + c.yaml + "\n");
    EXPECT_THAT(errors(r), ElementsAre(c.expected)) << c.yaml;
  }
}

TEST(ConfigNats, TakesHostAndPortFromTheEnvironmentWhenTheFileDoesNotSetThem) {
  const cfg::Environment env = {{"NATS_HOST", "env.host"}, {"NATS_PORT", "5222"}};
  auto r = parseYaml("services:\n  - type: a\n", env);
  EXPECT_EQ(r.config.nats().host, "env.host");
  EXPECT_EQ(r.config.nats().port, 5222);
  EXPECT_FALSE(r.config.nats().required);

  r = parseYaml("nats:\n  required: false\n", env);
  EXPECT_EQ(r.config.nats().host, "env.host");
  EXPECT_EQ(r.config.nats().port, 5222);

  // the file wins over the environment
  r = parseYaml("nats:\n  host: file.host\n  port: 6222\n", env);
  EXPECT_EQ(r.config.nats().host, "file.host");
  EXPECT_EQ(r.config.nats().port, 6222);

  // empty variables count as unset
  r = parseYaml("services:\n", {{"NATS_HOST", ""}, {"NATS_PORT", ""}});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.config.nats().host, "localhost");
  EXPECT_EQ(r.config.nats().port, 4222);
}

TEST(ConfigNats, RejectsAnInvalidNatsPortVariableOnlyWhenItIsUsed) {
  auto r = parseYaml("nats:\n  host: h\n", {{"NATS_PORT", "99999"}});
  EXPECT_THAT(errors(r),
              ElementsAre("services.yaml: error: $NATS_PORT (environment): invalid port '99999' (expected 1-65535)"));
  // upstream never reads NATS_PORT when nats.port is given
  r = parseYaml("nats:\n  port: 4223\n", {{"NATS_PORT", "nonsense"}});
  EXPECT_TRUE(r.ok()) << joined(errors(r));
  EXPECT_EQ(r.config.nats().port, 4223);
}

TEST(ConfigNats, AcceptsAListOfServersOrASingleOne) {
  auto r = parseYaml("nats:\n  servers:\n    - nats://a:4222\n    - nats://b:4222\n");
  EXPECT_TRUE(r.ok());
  EXPECT_THAT(r.config.nats().servers, ElementsAre("nats://a:4222", "nats://b:4222"));

  r = parseYaml("nats:\n  servers: nats://only:4222\n");
  EXPECT_THAT(r.config.nats().servers, ElementsAre("nats://only:4222"));

  r = parseYaml("nats:\n  servers: [nats://a:4222, 5, \"\"]\n");
  EXPECT_THAT(errors(r), ElementsAre("services.yaml:2:28: error: nats.servers[1]: expected a server URL such as "
                                     "'nats://host:4222', got 5",
                                     "services.yaml:2:31: error: nats.servers[2]: expected a server URL such as "
                                     "'nats://host:4222', got ''"));
  EXPECT_THAT(r.config.nats().servers, ElementsAre("nats://a:4222"));
}

TEST(ConfigNats, ValidatesTheSubjectPrefixAsNatsTokens) {
  struct Case {
    std::string yaml;
    bool valid;
  };
  const std::vector<Case> cases = {
      {"svc", true},      {"tcs", true},       {"oca.tcs", true},    {"a-b_c", true},
      {"\"a b\"", false}, {"\"a.*\"", false},  {"\"a.>\"", false},   {"\">\"", false},
      {"\"*\"", false},   {"\"\"", false},     {"a..b", false},      {"\".a\"", false},
      {"\"a.\"", false},  {"\"$SYS\"", false}, {"\"a\\tb\"", false}, {"5", false},
  };
  for (const auto& c : cases) {
    const auto r = parseYaml("nats:\n  subject_prefix: " + c.yaml + "\n");
    EXPECT_EQ(r.ok(), c.valid) << c.yaml << joined(errors(r));
    if (c.valid) {
      EXPECT_EQ(r.config.nats().subjectPrefix, c.yaml);
    } else {
      EXPECT_EQ(r.config.nats().subjectPrefix, "svc") << c.yaml;
      ASSERT_EQ(r.errorCount(), 1u) << c.yaml;
      EXPECT_THAT(errors(r)[0], StartsWith("services.yaml:2:19: error: nats.subject_prefix: ")) << c.yaml;
    }
  }
  const auto r = parseYaml("nats:\n  subject_prefix: \"a b\"\n");
  EXPECT_THAT(errors(r), ElementsAre("services.yaml:2:19: error: nats.subject_prefix: invalid subject prefix 'a b': "
                                     "dot-separated NATS tokens without spaces, '*' or '>'"));
}

TEST(ConfigNats, ReadsStreamReplicasOneByDefault) {
  auto r = parseYaml("nats:\n  host: a\n");
  EXPECT_TRUE(r.ok()) << joined(errors(r));
  EXPECT_EQ(r.config.nats().streamReplicas, 1);
  for (int n = 1; n <= 5; ++n) {
    r = parseYaml("nats:\n  stream_replicas: " + std::to_string(n) + "\n");
    EXPECT_TRUE(r.ok()) << n << joined(errors(r));
    EXPECT_EQ(r.config.nats().streamReplicas, n);
  }
  EXPECT_EQ(parseYaml("").config.nats().streamReplicas, 1);
}

TEST(ConfigNats, RefusesStreamReplicasOutsideOneToFiveNamingFileLineAndKey) {
  for (const std::string value : {"0", "6", "-1", "3.0", "\"3\"", "three", "true"}) {
    const auto r = parseYaml("nats:\n  stream_replicas: " + value + "\n");
    ASSERT_EQ(r.errorCount(), 1u) << value;
    EXPECT_THAT(errors(r)[0], StartsWith("services.yaml:2:20: error: nats.stream_replicas: invalid stream_replicas "))
        << value;
    EXPECT_THAT(errors(r)[0], HasSubstr("(expected an integer 1-5, JetStream's range)")) << value;
    EXPECT_EQ(r.config.nats().streamReplicas, 1) << value;
  }
  EXPECT_THAT(errors(parseYaml("nats:\n  stream_replicas: 7\n")),
              ElementsAre("services.yaml:2:20: error: nats.stream_replicas: invalid stream_replicas 7 (expected an "
                          "integer 1-5, JetStream's range)"));
}

TEST(ConfigNats, ReadsAuthenticationKeysAndResolvesFilesBesideTheConfig) {
  const auto r = parseYaml(
      "nats:\n"
      "  user: tcs\n"
      "  password_file: secrets/nats.pw\n"
      "  creds_file: /etc/nats/tcs.creds\n"
      "  nkey_seed_file: ../seed.nk\n"
      "  token_file: ./token\n"
      "  tls:\n"
      "    ca: ca.pem\n"
      "    cert: /etc/tcs/client.pem\n"
      "    key: client.key\n",
      {}, "/etc/tcs/services.yaml");
  EXPECT_TRUE(r.ok()) << joined(errors(r));
  const auto& n = r.config.nats();
  EXPECT_EQ(n.user, "tcs");
  EXPECT_FALSE(n.password.has_value());
  EXPECT_EQ(n.passwordFile, fs::path("/etc/tcs/secrets/nats.pw"));
  EXPECT_EQ(n.credsFile, fs::path("/etc/nats/tcs.creds"));
  EXPECT_EQ(n.nkeySeedFile, fs::path("/etc/seed.nk"));
  EXPECT_EQ(n.tokenFile, fs::path("/etc/tcs/token"));
  EXPECT_EQ(n.tlsCa, fs::path("/etc/tcs/ca.pem"));
  EXPECT_EQ(n.tlsCert, fs::path("/etc/tcs/client.pem"));
  EXPECT_EQ(n.tlsKey, fs::path("/etc/tcs/client.key"));
}

TEST(ConfigNats, RejectsACredentialPathWithAControlCharacterOrTrailingWhitespace) {
  // unitgen writes each credential file into a LoadCredential= line: a newline would end it.
  const auto r = parseYaml(
      "nats:\n"
      "  creds_file: \"/etc/tcs/a\\nExecStartPre=/bin/evil\"\n"
      "services:\n"
      "  - type: hello_world\n"
      "    variant: main\n"
      "    nats: {nkey_seed_file: \"/etc/tcs/b\\rc.nk\"}\n",
      {}, "/etc/tcs/services.yaml");
  const auto all = joined(errors(r));
  EXPECT_NE(all.find("nats.creds_file"), std::string::npos) << all;
  EXPECT_NE(all.find("services[0].nats.nkey_seed_file"), std::string::npos) << all;
  EXPECT_NE(all.find("contains a control character"), std::string::npos) << all;
  EXPECT_FALSE(r.config.nats().credsFile.has_value());
  EXPECT_EQ(r.config.find("hello_world", "main"), nullptr);

  // …and a LoadCredential= value loses its trailing whitespace.
  const auto t = parseYaml(
      "nats:\n"
      "  token_file: \"/etc/tcs/token \"\n"
      "services:\n"
      "  - {type: hello_world, variant: main, nats: {creds_file: \"x.creds\\t\"}}\n",
      {}, "/etc/tcs/services.yaml");
  const auto trailing = joined(errors(t));
  EXPECT_NE(trailing.find("nats.token_file: path '/etc/tcs/token ' ends in whitespace"), std::string::npos) << trailing;
  EXPECT_NE(trailing.find("services[0].nats.creds_file"), std::string::npos) << trailing;
  EXPECT_EQ(t.config.find("hello_world", "main"), nullptr);

  // …and takes a backslash as an escape: at the end, the next line would continue this one
  // (found by fuzz.unitgen_render: the supervisor's drop-in lost a LoadCredential= line).
  const auto b = parseYaml("nats:\n  user: tcs\n  password_file: secrets/nats.p\\\n  creds_file: /etc/nats/tcs.creds\n",
                           {}, "/etc/tcs/services.yaml");
  const auto escaped = joined(errors(b));
  EXPECT_NE(escaped.find("nats.password_file: path 'secrets/nats.p\\' contains a backslash"), std::string::npos)
      << escaped;
  EXPECT_FALSE(b.config.nats().passwordFile.has_value());
}

TEST(ConfigNats, GivesAServiceItsOwnCredentialsOverTheTopLevelConnection) {
  const auto r = parseYaml(
      "nats:\n"
      "  servers: [nats://nats1:4222]\n"
      "  subject_prefix: obs\n"
      "  user: shared\n"
      "  password_file: secrets/shared.pw\n"
      "  tls: {ca: ca.pem}\n"
      "services:\n"
      "  - type: hello_world\n"
      "    variant: main\n"
      "    nats: {nkey_seed_file: secrets/hello_world.main.nk}\n"
      "  - {type: hello_world, variant: other}\n",
      {}, "/etc/tcs/services.yaml");
  ASSERT_TRUE(r.ok()) << joined(errors(r));
  const auto* own = r.config.find("hello_world", "main");
  ASSERT_NE(own, nullptr);
  ASSERT_TRUE(own->nats.has_value());
  EXPECT_EQ(own->nats->nkeySeedFile, fs::path("/etc/tcs/secrets/hello_world.main.nk"));
  EXPECT_FALSE(own->nats->user || own->nats->passwordFile || own->nats->credsFile || own->nats->tokenFile)
      << "the top-level credentials are replaced, not merged";
  EXPECT_EQ(own->nats->servers, std::vector<std::string>{"nats://nats1:4222"});
  EXPECT_EQ(own->nats->subjectPrefix, "obs");
  EXPECT_EQ(own->nats->tlsCa, fs::path("/etc/tcs/ca.pem"));
  EXPECT_TRUE(own->nats->required);
  const auto* other = r.config.find("hello_world", "other");
  ASSERT_NE(other, nullptr);
  EXPECT_FALSE(other->nats.has_value());
  EXPECT_EQ(r.config.nats().user, "shared");
}

TEST(ConfigNats, RejectsAServicesConnectionKeysAndInlineSecretsNamingLineAndKey) {
  const auto r = parseYaml(
      "nats: {host: n}\n"
      "services:\n"
      "  - type: a\n"
      "    nats:\n"
      "      host: elsewhere\n"
      "      password: s3cret\n"
      "      user: a\n"
      "      nkey_seed_fil: a.nk\n");
  EXPECT_THAT(joined(errors(r)),
              AllOf(HasSubstr("services.yaml:5:13: error: services[0].nats.host: 'host' cannot be set per service"),
                    HasSubstr("services.yaml:6:17: error: services[0].nats.password: give password_file instead"),
                    HasSubstr("services.yaml:8:22: error: services[0].nats.nkey_seed_fil: unknown key "
                              "'nkey_seed_fil'")));
  EXPECT_EQ(r.config.find("a", "dev"), nullptr) << "the entry is rejected";
}

TEST(ConfigNats, RejectsAServicesCredentialsWithoutATopLevelSectionOrWithoutAny) {
  EXPECT_THAT(joined(errors(parseYaml("services:\n  - type: a\n    nats: {creds_file: a.creds}\n"))),
              HasSubstr("services.yaml:3:11: error: services[0].nats: a service's own nats: credentials need the "
                        "top-level nats: section"));
  EXPECT_THAT(joined(errors(parseYaml("nats: {}\nservices:\n  - type: a\n    nats: {user: ~}\n"))),
              HasSubstr("services[0].nats: no credentials"));
  EXPECT_THAT(joined(errors(parseYaml("nats: {}\nservices:\n  - type: a\n    nats: {password_file: p}\n"))),
              HasSubstr("services[0].nats: password_file needs a user"));
  EXPECT_THAT(joined(errors(parseYaml("nats: {}\nservices:\n  - type: a\n    nats: secret.nk\n"))),
              HasSubstr("services[0].nats: expected a mapping of credentials"));
}

TEST(ConfigNats, ReadsInlineSecretsAndExpandsThemFromTheEnvironment) {
  const auto r =
      parseYaml("nats:\n  user: tcs\n  password: \"${NATS_PASSWORD}\"\n  token: abc\n", {{"NATS_PASSWORD", "s3cret"}});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.config.nats().password, "s3cret");
  EXPECT_EQ(r.config.nats().token, "abc");
}

TEST(ConfigNats, RejectsContradictoryOrIncompleteAuthentication) {
  struct Case {
    std::string yaml, expected;
  };
  const std::vector<Case> cases = {
      {"nats:\n  password: x\n", "services.yaml:2:3: error: nats: a password needs a user"},
      {"nats:\n  user: u\n  password: x\n  password_file: /p\n",
       "services.yaml:4:18: error: nats.password_file: give either password or password_file, not both"},
      {"nats:\n  token: t\n  token_file: /t\n",
       "services.yaml:3:15: error: nats.token_file: give either token or token_file, not both"},
      {"nats:\n  tls:\n    cert: /c.pem\n",
       "services.yaml:3:5: error: nats.tls: a client certificate needs both 'cert' and 'key'"},
      {"nats:\n  tls:\n    key: /c.key\n",
       "services.yaml:3:5: error: nats.tls: a client certificate needs both 'cert' and 'key'"},
      {"nats:\n  tls:\n    ca: /ca.pem\n    verify: false\n",
       "services.yaml:4:13: error: nats.tls.verify: unknown key 'verify' (allowed: ca, cert, key)"},
      {"nats:\n  tls: true\n",
       "services.yaml:2:8: error: nats.tls: expected a mapping with ca/cert/key, got a boolean"},
      {"nats:\n  user: 5\n", "services.yaml:2:9: error: nats.user: expected a string, got an integer 5"},
      {"nats: localhost\n", "services.yaml:1:7: error: nats: expected a mapping, got a string"},
  };
  for (const auto& c : cases) {
    const auto r = parseYaml(c.yaml);
    EXPECT_THAT(errors(r), ElementsAre(c.expected)) << c.yaml;
  }
}

TEST(ConfigNats, WarnsAboutUnknownAndUnimplementedKeys) {
  const auto r = parseYaml("nats:\n  hots: x\n  colour: blue\n  config_subject: tcs.config\n");
  EXPECT_TRUE(r.ok());
  EXPECT_THAT(warnings(r),
              ElementsAre("services.yaml:2:9: warning: nats.hots: unknown key 'hots'; did you mean 'host'? (ignored)",
                          "services.yaml:3:11: warning: nats.colour: unknown key 'colour' (ignored)",
                          "services.yaml:4:19: warning: nats.config_subject: config_subject is not implemented "
                          "(upstream only logs a placeholder); ignored",
                          "services.yaml:1:1: warning: services: no services are configured"));
}

TEST(ConfigNats, IsNotPassedToServicesAsAGlobalSetting) {
  const auto s = loadOne("nats:\n  host: h\nservices:\n  - type: a\n");
  EXPECT_FALSE(s.settings.contains("nats"));
  EXPECT_FALSE(s.settings.contains("registry"));
  EXPECT_FALSE(s.settings.contains("services"));
}

// ================================================================================================
// registry:
// ================================================================================================

TEST(ConfigRegistry, ResolvesExecutablesLikeTheSpecSays) {
  const auto r = parseYaml(
      "registry:\n"
      "  builtin: ~\n"
      "  nulled: null\n"
      "  absolute: /opt/observatory/bin/worker\n"
      "  beside: ./bin/beside\n"
      "  below: bin/below\n"
      "  above: ../shared/above\n"
      "  examples.basic: ~\n"
      "services:\n"
      "  - type: builtin\n"
      "  - type: nulled\n"
      "  - type: absolute\n"
      "  - type: beside\n"
      "  - type: below\n"
      "  - type: above\n"
      "  - type: unlisted\n"
      "  - type: examples.basic\n",
      {}, "/etc/tcs/services.yaml");
  EXPECT_TRUE(r.ok()) << joined(errors(r));
  struct Case {
    std::string type;
    fs::path executable;
  };
  const std::vector<Case> cases = {
      {"builtin", kBuiltinDir / "builtin"},
      {"nulled", kBuiltinDir / "nulled"},
      {"absolute", "/opt/observatory/bin/worker"},
      {"beside", "/etc/tcs/bin/beside"},
      {"below", "/etc/tcs/bin/below"},
      {"above", "/etc/shared/above"},
      {"unlisted", kBuiltinDir / "unlisted"},  // like upstream's fallback for an unlisted type
      {"examples.basic", kBuiltinDir / "examples.basic"},
  };
  for (const auto& c : cases) {
    const auto* s = r.config.find(c.type, "dev");
    ASSERT_NE(s, nullptr) << c.type;
    EXPECT_EQ(s->executable, c.executable) << c.type;
  }
}

TEST(ConfigRegistry, ResolvesRelativePathsAgainstTheLoadedFilesDirectory) {
  tcs::test::TempDir dir;
  const auto file = dir.write("etc/services.yaml", "registry:\n  w: ./bin/w\nservices:\n  - type: w\n");
  const auto r = cfg::load(fs::relative(file), options());
  ASSERT_EQ(r.config.services().size(), 1u);
  EXPECT_EQ(r.config.services()[0].executable, (dir.path() / "etc/bin/w").lexically_normal());
  EXPECT_TRUE(r.config.services()[0].executable.is_absolute());
}

TEST(ConfigRegistry, ExplainsThatAPythonModulePathIsNotAnExecutable) {
  const auto r = parseYaml(
      "registry:\n"
      "  hello_world: ocabox_tcs.services.hello_world\n"
      "services:\n"
      "  - type: hello_world\n"
      "  - type: other\n");
  EXPECT_THAT(errors(r),
              ElementsAre("services.yaml:2:16: error: registry.hello_world: 'ocabox_tcs.services.hello_world' is not "
                          "a path to an executable (upstream's Python module paths do not run under tcs): use ~ for "
                          "the built-in 'hello_world' binary, an absolute path, or "
                          "'./ocabox_tcs.services.hello_world' for a file beside the config",
                          "services.yaml:4:5: error: services[0]: type 'hello_world' has no usable executable (see "
                          "registry.hello_world)"));
  ASSERT_EQ(r.config.services().size(), 1u);
  EXPECT_EQ(r.config.services()[0].type, "other");
}

TEST(ConfigRegistry, RejectsValuesThatAreNotPaths) {
  struct Case {
    std::string yaml, expected;
  };
  const std::vector<Case> cases = {
      {"  w: 5",
       "services.yaml:2:6: error: registry.w: expected ~ (the built-in binary) or a path to an executable, got 5"},
      {"  w: \"\"",
       "services.yaml:2:6: error: registry.w: expected ~ (the built-in binary) or a path to an executable, got ''"},
      {"  w: [a/b]",
       "services.yaml:2:6: error: registry.w: expected ~ (the built-in binary) or a path to an executable, got a list"},
      {"  w: \"./a\\nb\"", "services.yaml:2:6: error: registry.w: path './a\\x0ab' contains a control character"},
      {"  bad-type: ~",
       "services.yaml:2:13: error: registry.bad-type: invalid service type 'bad-type': each dot-separated part must "
       "match [A-Za-z0-9_]{1,64}"},
  };
  for (const auto& c : cases) {
    const auto r = parseYaml("registry:\n" + c.yaml + "\n");
    EXPECT_THAT(errors(r), ElementsAre(c.expected)) << c.yaml;
  }
  const auto r = parseYaml("registry: [a]\n");
  EXPECT_THAT(errors(r), ElementsAre("services.yaml:1:11: error: registry: expected a mapping of service type to "
                                     "executable, got a list"));
}

TEST(ConfigRegistry, IgnoresTheObsoleteModuleKeyWithAWarning) {
  // upstream's config/test_external.yaml
  const auto r = parseYaml(
      "nats:\n"
      "  host: localhost\n"
      "  port: 4222\n"
      "  required: false  # For testing without NATS running\n"
      "\n"
      "services:\n"
      "  # External worker service from tests.external_example package\n"
      "  - type: external_worker\n"
      "    instance_context: demo\n"
      "    module: tests.external_example.external_worker\n");
  EXPECT_TRUE(r.ok());
  EXPECT_THAT(warnings(r), ElementsAre("services.yaml:10:13: warning: services[0].module: 'module' is ignored since "
                                       "upstream 1.0; map the type to an executable under 'registry:'"));
  ASSERT_EQ(r.config.services().size(), 1u);
  EXPECT_EQ(r.config.services()[0].id(), "external_worker.demo");
  EXPECT_EQ(r.config.services()[0].executable, kBuiltinDir / "external_worker");
}

// ================================================================================================
// Service entries
// ================================================================================================

TEST(ConfigServices, UseUpstreamDefaultsAndTcsDefaults) {
  const auto s = loadOne("services:\n  - type: hello_world\n");
  EXPECT_EQ(s.type, "hello_world");
  EXPECT_EQ(s.variant, "dev");
  EXPECT_EQ(s.index, 0);
  EXPECT_EQ(s.mark.line, 2);
  EXPECT_EQ(s.mark.column, 5);
  EXPECT_EQ(s.unitName(), "tcs@hello_world:dev.service");
  EXPECT_EQ(s.restart, RestartPolicy::No);
  EXPECT_DOUBLE_EQ(s.restartSec, 5.0);
  EXPECT_EQ(s.restartMax, 0);
  EXPECT_DOUBLE_EQ(s.restartWindow, 60.0);
  EXPECT_EQ(s.logLevel, LogLevel::Info);
  EXPECT_TRUE(s.enabled);
  EXPECT_DOUBLE_EQ(s.watchdogSec, cfg::kDefaultWatchdogSec);
  EXPECT_DOUBLE_EQ(cfg::kDefaultWatchdogSec, 30.0);
  EXPECT_THAT(s.after, IsEmpty());
  EXPECT_THAT(s.requires_, IsEmpty());
  EXPECT_THAT(s.environment, IsEmpty());
  EXPECT_FALSE(s.user || s.memoryMax || s.cpuQuota || s.tasksMax || s.nice || s.ioWeight || s.description);
  EXPECT_EQ(s.executable, kBuiltinDir / "hello_world");
}

TEST(ConfigServices, RequireAType) {
  const auto r = parseYaml("services:\n  - variant: main\n    interval: 5\n  - type: ~\n");
  EXPECT_THAT(errors(r), ElementsAre("services.yaml:2:5: error: services[0]: missing required key 'type'",
                                     "services.yaml:4:5: error: services[1]: missing required key 'type'"));
  EXPECT_THAT(r.config.services(), IsEmpty());
}

TEST(ConfigServices, ReadRestartPoliciesIncludingAnUnquotedNo) {
  struct Case {
    std::string yaml;
    RestartPolicy expected;
  };
  const std::vector<Case> cases = {
      {"\"no\"", RestartPolicy::No},
      {"no", RestartPolicy::No},  // YAML 1.1 boolean false
      {"false", RestartPolicy::No},
      {"off", RestartPolicy::No},
      {"'no'", RestartPolicy::No},
      {"on-failure", RestartPolicy::OnFailure},
      {"\"on-failure\"", RestartPolicy::OnFailure},
      {"on-abnormal", RestartPolicy::OnAbnormal},
      {"always", RestartPolicy::Always},
      {"\"always\"", RestartPolicy::Always},
      {"~", RestartPolicy::No},
  };
  for (const auto& c : cases) EXPECT_EQ(loadOne(oneService("restart: " + c.yaml)).restart, c.expected) << c.yaml;
}

TEST(ConfigServices, RejectUnknownRestartWordsQuotingThem) {
  struct Case {
    std::string yaml, shown;
  };
  const std::vector<Case> cases = {
      {"sometimes", "'sometimes'"},
      {"yes", "true"},
      {"true", "true"},
      {"\"No\"", "'No'"},
      {"on_failure", "'on_failure'"},
      {"1", "1"},
      {"\"\"", "''"},
      {"[always]", "a list"},
      {"on-success", "'on-success'"},
      {"\"always \"", "'always '"},
  };
  for (const auto& c : cases) {
    const auto r = parseYaml(oneService("restart: " + c.yaml));
    EXPECT_THAT(errors(r), ElementsAre("services.yaml:4:14: error: services[0].restart: invalid value " + c.shown +
                                       " (expected one of: \"no\", on-failure, on-abnormal, always)"))
        << c.yaml;
    EXPECT_THAT(r.config.services(), IsEmpty());
  }
}

TEST(ConfigServices, ConvertRestartSecLikeUpstreamsFloat) {
  struct Case {
    std::string yaml;
    double expected;
  };
  const std::vector<Case> cases = {
      {"2", 2.0},       {"2.5", 2.5},  {"0", 0.0},        {"\"2.5\"", 2.5}, {"\"7\"", 7.0},
      {"\" 3 \"", 3.0}, {"1_0", 10.0}, {"\"1e1\"", 10.0}, {"0.1", 0.1},     {"\"${RS:-4}\"", 4.0},
  };
  for (const auto& c : cases)
    EXPECT_DOUBLE_EQ(loadOne(oneService("restart_sec: " + c.yaml)).restartSec, c.expected) << c.yaml;
}

TEST(ConfigServices, RejectRestartSecThatIsNotANonNegativeNumber) {
  struct Case {
    std::string yaml, shown;
  };
  const std::vector<Case> cases = {
      {"-1", "-1"},         {"-0.5", "-0.5"}, {"abc", "'abc'"},  {"\"\"", "''"},     {".inf", "inf"},
      {"\"nan\"", "'nan'"}, {"true", "true"}, {"[1]", "a list"}, {"\"5s\"", "'5s'"},
  };
  for (const auto& c : cases) {
    const auto r = parseYaml(oneService("restart_sec: " + c.yaml));
    EXPECT_THAT(errors(r), ElementsAre("services.yaml:4:18: error: services[0].restart_sec: invalid value " + c.shown +
                                       " (expected seconds from 0 to 31536000)"))
        << c.yaml;
  }
}

TEST(ConfigServices, ConvertRestartMaxLikeUpstreamsInt) {
  struct Case {
    std::string yaml;
    int expected;
  };
  const std::vector<Case> cases = {{"3", 3}, {"0", 0}, {"\"3\"", 3}, {"\" 4 \"", 4}, {"2.0", 2}, {"1_000", 1000}};
  for (const auto& c : cases) EXPECT_EQ(loadOne(oneService("restart_max: " + c.yaml)).restartMax, c.expected) << c.yaml;

  for (const std::string bad : {"2.5", "-1", "\"2.0\"", "abc", "true", "2000000"}) {
    const auto r = parseYaml(oneService("restart_max: " + bad));
    ASSERT_EQ(r.errorCount(), 1u) << bad;
    EXPECT_THAT(errors(r)[0], StartsWith("services.yaml:4:18: error: services[0].restart_max: invalid value ")) << bad;
    EXPECT_THAT(errors(r)[0], HasSubstr("(expected a whole number of restarts >= 0; 0 = unlimited)")) << bad;
  }
}

TEST(ConfigServices, RequireAPositiveRestartWindow) {
  EXPECT_DOUBLE_EQ(loadOne(oneService("restart_window: 120")).restartWindow, 120.0);
  EXPECT_DOUBLE_EQ(loadOne(oneService("restart_window: \"90.5\"")).restartWindow, 90.5);
  EXPECT_DOUBLE_EQ(loadOne(oneService("restart_window: 30.0")).restartWindow, 30.0);
  for (const std::string bad : {"0", "-5", "abc"}) {
    const auto r = parseYaml(oneService("restart_window: " + bad));
    ASSERT_EQ(r.errorCount(), 1u) << bad;
    EXPECT_THAT(errors(r)[0], StartsWith("services.yaml:4:21: error: services[0].restart_window: invalid value "));
    EXPECT_THAT(errors(r)[0], HasSubstr("(expected seconds > 0, at most 31536000)"));
  }
}

TEST(ConfigServices, ReadLogLevelsCaseInsensitively) {
  struct Case {
    std::string yaml;
    LogLevel expected;
  };
  const std::vector<Case> cases = {
      {"DEBUG", LogLevel::Debug},       {"debug", LogLevel::Debug},           {"INFO", LogLevel::Info},
      {"Warning", LogLevel::Warning},   {"WARN", LogLevel::Warning},          {"ERROR", LogLevel::Error},
      {"CRITICAL", LogLevel::Critical}, {"\"critical\"", LogLevel::Critical},
  };
  for (const auto& c : cases) EXPECT_EQ(loadOne(oneService("log_level: " + c.yaml)).logLevel, c.expected) << c.yaml;

  for (const std::string bad : {"verbose", "10", "\"\"", "FATAL"}) {
    const auto r = parseYaml(oneService("log_level: " + bad));
    ASSERT_EQ(r.errorCount(), 1u) << bad;
    EXPECT_THAT(errors(r)[0], StartsWith("services.yaml:4:16: error: services[0].log_level: invalid value "));
    EXPECT_THAT(errors(r)[0], HasSubstr("(expected DEBUG, INFO, WARNING, ERROR or CRITICAL)"));
  }
}

TEST(ConfigServices, PrintAndParseLogLevelsAndRestartPolicies) {
  static_assert(std::is_same_v<LogLevel, tcs::LogLevel>, "one log-level enum (tcs/log_level.hpp)");
  EXPECT_EQ(tcs::toString(tcs::LogLevel::Info), "INFO");
  EXPECT_EQ(tcs::toString(tcs::LogLevel::Error), "ERROR");
  EXPECT_EQ(tcs::parseLogLevel("DeBuG"), tcs::LogLevel::Debug);
  EXPECT_EQ(tcs::parseLogLevel("critical"), tcs::LogLevel::Critical);
  EXPECT_EQ(tcs::parseLogLevel("WARNINGS"), std::nullopt);
  EXPECT_EQ(cfg::toString(LogLevel::Debug), "DEBUG");
  EXPECT_EQ(cfg::toString(LogLevel::Warning), "WARNING");
  EXPECT_EQ(cfg::toString(LogLevel::Critical), "CRITICAL");
  EXPECT_EQ(cfg::parseLogLevel("warn"), LogLevel::Warning);
  EXPECT_EQ(cfg::parseLogLevel("Error"), LogLevel::Error);
  EXPECT_EQ(cfg::parseLogLevel("trace"), std::nullopt);
  EXPECT_EQ(cfg::parseLogLevel(""), std::nullopt);
  EXPECT_EQ(cfg::toString(RestartPolicy::No), "no");
  EXPECT_EQ(cfg::toString(RestartPolicy::OnFailure), "on-failure");
  EXPECT_EQ(cfg::toString(RestartPolicy::OnAbnormal), "on-abnormal");
  EXPECT_EQ(cfg::toString(RestartPolicy::Always), "always");
}

TEST(ConfigServices, ReadEnabledAsAnUnquotedBoolean) {
  EXPECT_FALSE(loadOne(oneService("enabled: false")).enabled);
  EXPECT_FALSE(loadOne(oneService("enabled: no")).enabled);
  EXPECT_TRUE(loadOne(oneService("enabled: yes")).enabled);
  for (const std::string bad : {"\"false\"", "0", "1"}) {
    const auto r = parseYaml(oneService("enabled: " + bad));
    ASSERT_EQ(r.errorCount(), 1u) << bad;
    EXPECT_THAT(errors(r)[0], StartsWith("services.yaml:4:14: error: services[0].enabled: expected true or false "
                                         "(unquoted), got "));
  }
}

TEST(ConfigServices, ReadWatchdogSecWhereZeroDisablesIt) {
  EXPECT_DOUBLE_EQ(loadOne(oneService("watchdog_sec: 0")).watchdogSec, 0.0);
  EXPECT_DOUBLE_EQ(loadOne(oneService("watchdog_sec: 5")).watchdogSec, 5.0);
  EXPECT_DOUBLE_EQ(loadOne(oneService("watchdog_sec: \"2.5\"")).watchdogSec, 2.5);
  const auto r = parseYaml(oneService("watchdog_sec: -1"));
  EXPECT_THAT(errors(r), ElementsAre("services.yaml:4:19: error: services[0].watchdog_sec: invalid value -1 "
                                     "(expected seconds from 0 to 31536000; 0 disables the watchdog)"));
}

TEST(ConfigServices, ReadEnvironmentInFileOrder) {
  const auto s =
      loadOne(oneService("environment:\n"
                         "  ZED: last\n"
                         "  ALPHA: 1\n"
                         "  RATIO: 2.5\n"
                         "  FLAG: yes\n"
                         "  EMPTY: ~\n"
                         "  _UNDER: \"100% $HOME\"\n"
                         "  FROM_ENV: ${SITE:-oca}"));
  using P = std::pair<std::string, std::string>;
  EXPECT_THAT(s.environment, ElementsAre(P{"ZED", "last"}, P{"ALPHA", "1"}, P{"RATIO", "2.5"}, P{"FLAG", "true"},
                                         P{"EMPTY", ""}, P{"_UNDER", "100% $HOME"}, P{"FROM_ENV", "oca"}));
}

TEST(ConfigServices, RejectBadEnvironmentEntries) {
  struct Case {
    std::string yaml, expected;
  };
  const std::vector<Case> cases = {
      {"environment:\n  1BAD: x",
       "services.yaml:5:13: error: services[0].environment.1BAD: invalid environment variable name '1BAD' (expected "
       "[A-Za-z_][A-Za-z0-9_]*)"},
      {"environment:\n  A-B: x",
       "services.yaml:5:12: error: services[0].environment.A-B: invalid environment variable name 'A-B' (expected "
       "[A-Za-z_][A-Za-z0-9_]*)"},
      {"environment:\n  TCS_SERVICE: x",
       "services.yaml:5:20: error: services[0].environment.TCS_SERVICE: 'TCS_SERVICE' is reserved: TCS_* variables "
       "are set by tcs-unitgen"},
      {"environment:\n  A: \"x\\ny\"",
       "services.yaml:5:10: error: services[0].environment.A: value 'x\\x0ay' contains a newline or control "
       "character, which may not reach a unit file"},
      {"environment:\n  A: [1, 2]",
       "services.yaml:5:10: error: services[0].environment.A: expected a scalar value, got a list"},
      {"environment: [A=1]",
       "services.yaml:4:18: error: services[0].environment: expected a mapping NAME: value, got a list"},
  };
  for (const auto& c : cases) {
    const auto r = parseYaml(oneService(c.yaml));
    EXPECT_THAT(errors(r), ElementsAre(c.expected)) << c.yaml;
    EXPECT_THAT(r.config.services(), IsEmpty());
  }
}

TEST(ConfigServices, ValidateUserNames) {
  for (const std::string& ok : std::vector<std::string>{"tcs", "_svc", "svc-user", "a1", std::string(32, 'u')})
    EXPECT_EQ(loadOne(oneService("user: " + ok)).user, ok);
  for (const std::string& bad :
       std::vector<std::string>{"Root", "1abc", "\"a b\"", "\"\"", std::string(33, 'u'), "5", "\"-x\""}) {
    const auto r = parseYaml(oneService("user: " + bad));
    ASSERT_EQ(r.errorCount(), 1u) << bad;
    EXPECT_THAT(errors(r)[0], StartsWith("services.yaml:4:11: error: services[0].user: invalid user name ")) << bad;
    EXPECT_THAT(errors(r)[0], HasSubstr("(expected [a-z_][a-z0-9_-]{0,31})")) << bad;
  }
}

TEST(ConfigServices, ValidateMemoryMaxInSystemdSyntax) {
  struct Case {
    std::string yaml, expected;
  };
  for (const auto& c : std::vector<Case>{{"512M", "512M"},
                                         {"1G", "1G"},
                                         {"1.5G", "1.5G"},
                                         {"\"50%\"", "50%"},
                                         {"infinity", "infinity"},
                                         {"1048576", "1048576"},
                                         {"64K", "64K"}})
    EXPECT_EQ(loadOne(oneService("memory_max: " + c.yaml)).memoryMax, c.expected) << c.yaml;
  for (const std::string bad : {"512MB", "lots", "-1", "\"\"", "512m", "\"512M\\n\""}) {
    const auto r = parseYaml(oneService("memory_max: " + bad));
    ASSERT_EQ(r.errorCount(), 1u) << bad;
    EXPECT_THAT(errors(r)[0], StartsWith("services.yaml:4:17: error: services[0].memory_max: ")) << bad;
  }
}

TEST(ConfigServices, ValidateCpuQuotaAsAPositivePercentage) {
  struct Case {
    std::string yaml, expected;
  };
  for (const auto& c :
       std::vector<Case>{{"\"50%\"", "50%"}, {"150%", "150%"}, {"50", "50%"}, {"12.5", "12.5%"}, {"\"0.5%\"", "0.5%"}})
    EXPECT_EQ(loadOne(oneService("cpu_quota: " + c.yaml)).cpuQuota, c.expected) << c.yaml;
  for (const std::string bad : {"\"0%\"", "\"50\"", "0", "-5", "\"abc%\"", "\"%\"", "true"}) {
    const auto r = parseYaml(oneService("cpu_quota: " + bad));
    ASSERT_EQ(r.errorCount(), 1u) << bad;
    EXPECT_THAT(errors(r)[0], StartsWith("services.yaml:4:16: error: services[0].cpu_quota: ")) << bad;
  }
}

TEST(ConfigServices, ValidateTasksMaxAsACountAPercentageOrInfinity) {
  struct Case {
    std::string yaml, expected;
  };
  for (const auto& c : std::vector<Case>{{"64", "64"},
                                         {"\"64\"", "64"},
                                         {"1", "1"},
                                         {"4194304", "4194304"},
                                         {"10%", "10%"},
                                         {"\"12.5%\"", "12.5%"},
                                         {"100%", "100%"},
                                         {"infinity", "infinity"}})
    EXPECT_EQ(loadOne(oneService("tasks_max: " + c.yaml)).tasksMax, c.expected) << c.yaml;
  for (const std::string bad : {"0", "-1", "4194305", "1.5", "0%", "101%", "\"12.345%\"", "lots", "true", "[1]"}) {
    const auto r = parseYaml(oneService("tasks_max: " + bad));
    ASSERT_EQ(r.errorCount(), 1u) << bad;
    EXPECT_THAT(errors(r)[0], StartsWith("services.yaml:4:16: error: services[0].tasks_max: invalid value ")) << bad;
  }
  EXPECT_THAT(errors(parseYaml(oneService("tasks_max: 0"))),
              ElementsAre("services.yaml:4:16: error: services[0].tasks_max: invalid value 0 (expected a number of "
                          "tasks from 1 to 4194304, a percentage > 0 and <= 100% with at most two decimals, or "
                          "infinity)"));
}

TEST(ConfigServices, ValidateNiceFromMinus20To19) {
  for (const auto& [yaml, expected] :
       std::vector<std::pair<std::string, int>>{{"-20", -20}, {"0", 0}, {"19", 19}, {"\"5\"", 5}, {"10.0", 10}})
    EXPECT_EQ(loadOne(oneService("nice: " + yaml)).nice, expected) << yaml;
  for (const std::string bad : {"-21", "20", "1.5", "high", "true", "~x"}) {
    const auto r = parseYaml(oneService("nice: " + bad));
    ASSERT_EQ(r.errorCount(), 1u) << bad;
    EXPECT_THAT(errors(r)[0], StartsWith("services.yaml:4:11: error: services[0].nice: invalid value ")) << bad;
  }
  EXPECT_THAT(errors(parseYaml(oneService("nice: 20"))),
              ElementsAre("services.yaml:4:11: error: services[0].nice: invalid value 20 (expected a whole number "
                          "from -20 to 19)"));
}

TEST(ConfigServices, ValidateIoWeightFrom1To10000) {
  for (const auto& [yaml, expected] :
       std::vector<std::pair<std::string, int>>{{"1", 1}, {"100", 100}, {"10000", 10000}, {"\"500\"", 500}})
    EXPECT_EQ(loadOne(oneService("io_weight: " + yaml)).ioWeight, expected) << yaml;
  for (const std::string bad : {"0", "10001", "-1", "2.5", "heavy"}) {
    const auto r = parseYaml(oneService("io_weight: " + bad));
    ASSERT_EQ(r.errorCount(), 1u) << bad;
    EXPECT_THAT(errors(r)[0], StartsWith("services.yaml:4:16: error: services[0].io_weight: invalid value ")) << bad;
  }
}

TEST(ConfigServices, TakeResourceLimitsFromTheTopLevelAsDefaults) {
  const auto r = parseYaml(
      "tasks_max: 32\nnice: 5\nservices:\n  - {type: hello_world, variant: a}\n"
      "  - {type: hello_world, variant: b, tasks_max: infinity, nice: -5, io_weight: 200}\n");
  ASSERT_TRUE(r.ok());
  const auto& a = r.config.services()[0];
  const auto& b = r.config.services()[1];
  EXPECT_EQ(a.tasksMax, "32");
  EXPECT_EQ(a.nice, 5);
  EXPECT_FALSE(a.ioWeight);
  EXPECT_EQ(b.tasksMax, "infinity");
  EXPECT_EQ(b.nice, -5);
  EXPECT_EQ(b.ioWeight, 200);
}

TEST(ConfigServices, KeepDescriptionsWithSpecifierCharactersForTheWriterToEscape) {
  EXPECT_EQ(loadOne(oneService("description: \"Dome 100% $HOME \\\"q\\\"\"")).description, "Dome 100% $HOME \"q\"");
  EXPECT_EQ(loadOne(oneService("description: 42")).description, "42");
}

TEST(ConfigServices, RejectDescriptionsThatWouldBreakAUnitFile) {
  struct Case {
    std::string yaml, expected;
  };
  const std::vector<Case> cases = {
      {"description: \"a\\nb\"",
       "services.yaml:4:18: error: services[0].description: value 'a\\x0ab' contains a newline or control character, "
       "which may not reach a unit file"},
      {"description: \"a\\rb\"",
       "services.yaml:4:18: error: services[0].description: value 'a\\x0db' contains a newline or control character, "
       "which may not reach a unit file"},
      {"description: \"bell\\a\"",
       "services.yaml:4:18: error: services[0].description: value 'bell\\x07' contains a newline or control "
       "character, which may not reach a unit file"},
      {"description: |\n  two\n  lines",
       "services.yaml:4:18: error: services[0].description: value 'two\\x0alines\\x0a' contains a newline or control "
       "character, which may not reach a unit file"},
      {"description: 'ends with \\'",
       "services.yaml:4:18: error: services[0].description: description 'ends with \\' may not end with a backslash"},
      {"description: [a]", "services.yaml:4:18: error: services[0].description: expected a string, got a list"},
  };
  for (const auto& c : cases) {
    const auto r = parseYaml(oneService(c.yaml));
    EXPECT_THAT(errors(r), ElementsAre(c.expected)) << c.yaml;
  }
}

TEST(ConfigServices, WarnAboutMisspelledKeysButKeepThemAsSettings) {
  const auto r = parseYaml(oneService("restart_secs: 3\nRestart: always\nlog-level: DEBUG\ninterval: 5"));
  EXPECT_TRUE(r.ok());
  EXPECT_THAT(warnings(r),
              ElementsAre("services.yaml:4:19: warning: services[0].restart_secs: unknown key 'restart_secs'; did you "
                          "mean 'restart_sec'? (kept as a service setting)",
                          "services.yaml:5:14: warning: services[0].Restart: unknown key 'Restart'; did you mean "
                          "'restart'? (kept as a service setting)",
                          "services.yaml:6:16: warning: services[0].log-level: unknown key 'log-level'; did you mean "
                          "'log_level'? (kept as a service setting)"));
  const auto& s = r.config.services()[0];
  EXPECT_EQ(s.restart, RestartPolicy::No);
  EXPECT_DOUBLE_EQ(s.restartSec, 5.0);
  EXPECT_EQ(s.settings.get<int>("restart_secs", 0), 3);
  EXPECT_EQ(s.settings.get<int>("interval", 0), 5);
}

TEST(ConfigServices, SuggestShortKeysOnlyForOneEditOrSwap) {
  // name, note and node are two edits from nice: settings, not misspellings.
  EXPECT_THAT(warnings(parseYaml(oneService("name: a\nnote: b\nnode: c\nsize: 4"))), IsEmpty());
  EXPECT_THAT(warnings(parseYaml(oneService("nise: 5\nncie: 5"))),
              ElementsAre("services.yaml:4:11: warning: services[0].nise: unknown key 'nise'; did you mean 'nice'? "
                          "(kept as a service setting)",
                          "services.yaml:5:11: warning: services[0].ncie: unknown key 'ncie'; did you mean 'nice'? "
                          "(kept as a service setting)"));
}

TEST(ConfigServices, WarnAboutMisspelledTopLevelKeys) {
  const auto r = parseYaml("servics:\n  - type: a\nregistery: {}\n");
  EXPECT_THAT(warnings(r),
              ElementsAre("services.yaml:2:3: warning: servics: unknown top-level key 'servics'; did you mean "
                          "'services'? (kept as a global setting)",
                          "services.yaml:3:12: warning: registery: unknown top-level key 'registery'; did you mean "
                          "'registry'? (kept as a global setting)",
                          "services.yaml:1:1: warning: services: no services are configured"));
}

// ================================================================================================
// Global defaults, YAML merge keys, precedence
// ================================================================================================

TEST(ConfigMerge, AppliesTopLevelKeysAsDefaultsUnderEveryServiceEntry) {
  const auto r = parseYaml(
      "restart: on-failure\n"
      "restart_sec: 1\n"
      "telescope_id: zb08\n"
      "environment:\n"
      "  SITE: oca\n"
      "services:\n"
      "  - type: a\n"
      "  - type: b\n"
      "    restart: always\n"
      "    telescope_id: jk15\n"
      "    environment:\n"
      "      EXTRA: 1\n");
  EXPECT_TRUE(r.ok()) << joined(errors(r));
  const auto* a = r.config.find("a", "dev");
  const auto* b = r.config.find("b", "dev");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->restart, RestartPolicy::OnFailure);
  EXPECT_EQ(b->restart, RestartPolicy::Always);  // the entry wins
  EXPECT_DOUBLE_EQ(a->restartSec, 1.0);
  EXPECT_DOUBLE_EQ(b->restartSec, 1.0);
  EXPECT_EQ(a->settings.get<std::string>("telescope_id", ""), "zb08");
  EXPECT_EQ(b->settings.get<std::string>("telescope_id", ""), "jk15");
  using P = std::pair<std::string, std::string>;
  EXPECT_THAT(a->environment, ElementsAre(P{"SITE", "oca"}));
  EXPECT_THAT(b->environment, ElementsAre(P{"SITE", "oca"}, P{"EXTRA", "1"}));  // deep merge
}

TEST(ConfigMerge, MergesNestedMappingsKeyByKeyAndReplacesEverythingElse) {
  const auto s = loadOne(
      "camera:\n"
      "  gain: 1\n"
      "  binning: 2\n"
      "filters: [r, g, b]\n"
      "services:\n"
      "  - type: a\n"
      "    camera:\n"
      "      binning: 4\n"
      "    filters: [h]\n");
  const Value* camera = s.settings.find("camera");
  ASSERT_NE(camera, nullptr);
  ASSERT_EQ(camera->kind(), Kind::Mapping);
  ASSERT_NE(camera->find("gain"), nullptr);
  EXPECT_EQ(camera->find("gain")->intValue(), 1);
  EXPECT_EQ(camera->find("binning")->intValue(), 4);
  EXPECT_EQ(camera->find("binning")->path(), "services[0].camera.binning");
  EXPECT_THAT(s.settings.get<std::vector<std::string>>("filters", {}), ElementsAre("h"));
}

TEST(ConfigMerge, ReportsAnInvalidGlobalAtItsOwnLine) {
  const auto r = parseYaml("restart: sometimes\nservices:\n  - type: a\n");
  EXPECT_THAT(errors(r), ElementsAre("services.yaml:1:10: error: restart: invalid value 'sometimes' (expected one of: "
                                     "\"no\", on-failure, on-abnormal, always)"));
}

TEST(ConfigMerge, HonoursYamlMergeKeysLikePyYaml) {
  const auto r = parseYaml(
      "defaults: &defaults\n"
      "  restart: on-failure\n"
      "  restart_sec: 2\n"
      "  interval: 1\n"
      "slow: &slow\n"
      "  interval: 10\n"
      "  log_level: DEBUG\n"
      "services:\n"
      "  - <<: *defaults\n"
      "    type: a\n"
      "    restart_sec: 7\n"
      "  - <<: [*slow, *defaults]\n"
      "    type: b\n"
      "  - type: c\n"
      "    <<: *slow\n");
  EXPECT_TRUE(r.ok()) << joined(errors(r));
  const auto* a = r.config.find("a", "dev");
  const auto* b = r.config.find("b", "dev");
  const auto* c = r.config.find("c", "dev");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->restart, RestartPolicy::OnFailure);
  EXPECT_DOUBLE_EQ(a->restartSec, 7.0);  // explicit keys win over merged ones
  EXPECT_EQ(a->settings.get<int>("interval", 0), 1);
  EXPECT_FALSE(a->settings.contains("<<"));
  EXPECT_EQ(b->restart, RestartPolicy::OnFailure);
  EXPECT_EQ(b->settings.get<int>("interval", 0), 10);  // the first mapping in the list wins
  EXPECT_EQ(b->logLevel, LogLevel::Debug);
  EXPECT_EQ(c->restart, RestartPolicy::No);
  EXPECT_EQ(c->settings.get<int>("interval", 0), 10);
  // a merged value is reported where it is written, under the path where it lands
  const Value* sec = b->settings.find("restart_sec");
  ASSERT_NE(sec, nullptr);
  EXPECT_EQ(sec->path(), "services[1].restart_sec");
  EXPECT_EQ(sec->mark().line, 3);
}

TEST(ConfigMerge, RejectsAMergeKeyThatIsNotAMapping) {
  const auto r = parseYaml("services:\n  - type: a\n    <<: 5\n");
  EXPECT_THAT(errors(r), ElementsAre("services.yaml:3:9: error: services[0].<<: the merge key '<<' needs a mapping or "
                                     "a list of mappings (such as *defaults)"));
  // a quoted "<<" is an ordinary key
  const auto s = loadOne("services:\n  - type: a\n    \"<<\": 5\n");
  EXPECT_EQ(s.settings.get<int>("<<", 0), 5);
}

TEST(ConfigPrecedence, IsServiceEntryThenGlobalThenTypeEnvironmentThenDefault) {
  const cfg::Environment env = {
      {"HELLO_WORLD_INTERVAL", "7"}, {"HELLO_WORLD_MESSAGE", "from env"}, {"HELLO_WORLD_THRESHOLD", "0.5"}};
  const auto r = parseYaml(
      "threshold: 0.25\n"
      "services:\n"
      "  - type: hello_world\n"
      "    variant: a\n"
      "    interval: 5\n"
      "  - type: hello_world\n"
      "    variant: b\n",
      env);
  EXPECT_TRUE(r.ok());
  const auto* a = r.config.find("hello_world", "a");
  const auto* b = r.config.find("hello_world", "b");
  ASSERT_TRUE(a && b);
  EXPECT_DOUBLE_EQ(a->settings.get<double>("interval", 3.0), 5.0);            // entry
  EXPECT_DOUBLE_EQ(b->settings.get<double>("interval", 3.0), 7.0);            // env
  EXPECT_DOUBLE_EQ(a->settings.get<double>("threshold", 1.0), 0.25);          // global over env
  EXPECT_EQ(a->settings.get<std::string>("message", "default"), "from env");  // env over default
  EXPECT_EQ(a->settings.get<std::string>("greeting", "default"), "default");
  const auto* interval = b->settings.find("interval");
  ASSERT_NE(interval, nullptr);
  EXPECT_EQ(interval->path(), "$HELLO_WORLD_INTERVAL (environment)");
  EXPECT_EQ(interval->mark().line, 0);
  // the environment does not add a second, hidden copy of a key the file sets
  const auto& entries = a->settings.root().entries();
  EXPECT_EQ(std::count_if(entries.begin(), entries.end(), [](const auto& e) { return e.first == "interval"; }), 1);
  EXPECT_EQ(std::count_if(entries.begin(), entries.end(), [](const auto& e) { return e.first == "threshold"; }), 1);
}

TEST(ConfigPrecedence, DerivesTheEnvironmentPrefixFromTheDottedType) {
  const cfg::Environment env = {{"EXAMPLES_BASIC_MESSAGE", "hi"},
                                {"EXAMPLES_BASIC_API_KEY", "k"},
                                {"EXAMPLES_MESSAGE", "other type"},
                                {"EXAMPLES_BASIC_", "no field"},
                                {"examples_basic_lower", "wrong case"}};
  const auto s = loadOne("services:\n  - type: examples.basic\n    variant: tutorial\n", env);
  EXPECT_EQ(s.settings.get<std::string>("message", ""), "hi");
  EXPECT_EQ(s.settings.get<std::string>("api_key", ""), "k");
  EXPECT_FALSE(s.settings.contains(""));
  EXPECT_FALSE(s.settings.contains("lower"));
}

TEST(ConfigPrecedence, LeavesUnitSettingsAndIdentityToTheFile) {
  // upstream's launcher reads restart* from the YAML entry; {TYPE}_{FIELD} feeds the service config only
  const cfg::Environment env = {
      {"HELLO_WORLD_RESTART", "always"}, {"HELLO_WORLD_TYPE", "evil"}, {"HELLO_WORLD_VARIANT", "evil"}};
  const auto s = loadOne("services:\n  - type: hello_world\n    variant: main\n", env);
  EXPECT_EQ(s.restart, RestartPolicy::No);
  EXPECT_EQ(s.id(), "hello_world.main");
  EXPECT_EQ(s.settings.get<std::string>("type", ""), "hello_world");
  EXPECT_EQ(s.settings.get<std::string>("variant", ""), "main");
}

TEST(ConfigPrecedence, ConvertsTypeEnvironmentValuesButKeepsOneAndZeroNumbers) {
  struct Case {
    std::string text;
    Kind kind;
    std::string shown;
  };
  const std::vector<Case> cases = {
      {"true", Kind::Bool, "true"},
      {"YES", Kind::Bool, "true"},
      {"On", Kind::Bool, "true"},
      {"false", Kind::Bool, "false"},
      {"no", Kind::Bool, "false"},
      {"OFF", Kind::Bool, "false"},
      {"1", Kind::Int, "1"},
      {"0", Kind::Int, "0"},  // upstream: True/False — not copied
      {"42", Kind::Int, "42"},
      {"-3", Kind::Int, "-3"},
      {"007", Kind::Int, "7"},
      {"2.5", Kind::Double, "2.5"},
      {"1.", Kind::Double, "1"},
      {"hello", Kind::String, "'hello'"},
      {"1.2.3", Kind::String, "'1.2.3'"},
      {"", Kind::String, "''"},
      {"1e3", Kind::String, "'1e3'"},
  };
  for (const auto& c : cases) {
    const Value v = settingOf(oneService(""), "value", {{"HELLO_WORLD_VALUE", c.text}});
    EXPECT_EQ(describeKind(v.kind()), describeKind(c.kind)) << c.text;
    EXPECT_EQ(v.describe(), c.shown) << c.text;
  }
}

TEST(ConfigPrecedence, NamesTheVariableWhenAnEnvironmentValueHasTheWrongType) {
  const auto s = loadOne(oneService(""), {{"HELLO_WORLD_INTERVAL", "fast"}});
  try {
    s.settings.get<double>("interval", 3.0);
    FAIL() << "no exception";
  } catch (const tcs::ConfigError& e) {
    EXPECT_EQ(std::string{e.what()},
              "services.yaml: $HELLO_WORLD_INTERVAL (environment): expected a number, got a string 'fast'");
  }
}

// ================================================================================================
// ${NAME} expansion
// ================================================================================================

TEST(ConfigExpandEnvironment, SubstitutesLikeUpstream) {
  struct Case {
    std::string text, expected;
    std::vector<std::string> unresolved;
  };
  const cfg::Environment env = {{"HOST", "example.org"}, {"EMPTY", ""}, {"A", "1"}, {"B", "2"}};
  const std::vector<Case> cases = {
      {"${HOST}", "example.org", {}},
      {"${HOST:-fallback}", "example.org", {}},
      {"${MISSING:-fallback}", "fallback", {}},
      {"${MISSING:-}", "", {}},
      {"${URL:-http://localhost:8080/api}", "http://localhost:8080/api", {}},
      {"${MISSING:-a:b:c}", "a:b:c", {}},
      {"${EMPTY}", "", {}},           // set but empty: its value
      {"${EMPTY:-default}", "", {}},  // set wins over the default even when empty
      {"${MISSING}", "${MISSING}", {"MISSING"}},
      {"pre ${MISSING} post", "pre ${MISSING} post", {"MISSING"}},
      {"${MISSING} and ${OTHER}", "${MISSING} and ${OTHER}", {"MISSING", "OTHER"}},
      {"$HOST", "$HOST", {}},
      {"${HOST", "${HOST", {}},
      {"${HOST:-x", "${HOST:-x", {}},
      {"HOST}", "HOST}", {}},
      {"${}", "${}", {}},
      {"${1X}", "${1X}", {}},
      {"${HOST:default}", "${HOST:default}", {}},
      {"${host}", "${host}", {"host"}},  // names are case-sensitive
      {"${A}${B}", "12", {}},
      {"server:${HOST:-localhost}:8080", "server:example.org:8080", {}},
      {"${MISSING:-${B}}", "${B}", {}},  // the default runs to the first '}', and is not rescanned
      {"${A:-${B}}", "1}", {}},
      {"$${HOST}", "$example.org", {}},  // no escape syntax
      {"${_U9}", "${_U9}", {"_U9"}},
      {"", "", {}},
      {"no references", "no references", {}},
  };
  for (const auto& c : cases) {
    std::vector<std::string> unresolved;
    EXPECT_EQ(cfg::expandEnvironment(c.text, env, &unresolved), c.expected) << c.text;
    EXPECT_EQ(unresolved, c.unresolved) << c.text;
  }
  EXPECT_EQ(cfg::expandEnvironment("${MISSING}", env), "${MISSING}");  // unresolved may be null
}

TEST(ConfigExpandEnvironment, ConvertsAWholeValueReferenceToANumberWhereItParses) {
  struct Case {
    std::string yaml;
    cfg::Environment env;
    Kind kind;
    std::string shown;
  };
  const std::vector<Case> cases = {
      {"\"${P:-4222}\"", {}, Kind::Int, "4222"},
      {"\"${P:-4222}\"", {{"P", "5000"}}, Kind::Int, "5000"},
      {"\"${T:-2.5}\"", {}, Kind::Double, "2.5"},
      {"\"${X:-007}\"", {}, Kind::Int, "7"},
      {"\"${X:--5}\"", {}, Kind::Int, "-5"},
      {"\"${X:-1_000}\"", {}, Kind::Int, "1000"},
      {"\"${X:-1.5e3}\"", {}, Kind::Double, "1500"},
      {"\"${X:-.5}\"", {}, Kind::Double, "0.5"},
      {"\"${X:-1.2.3}\"", {}, Kind::String, "'1.2.3'"},
      {"\"${X:-true}\"", {}, Kind::String, "'true'"},  // no boolean conversion here
      {"\"${X:-1e3}\"", {}, Kind::String, "'1e3'"},    // no '.': int() only
      {"\"${X:-inf}\"", {}, Kind::String, "'inf'"},
      {"\"${X:-}\"", {}, Kind::String, "''"},
      {"\"${X}\"", {{"X", " 42 "}}, Kind::Int, "42"},
      {"${X:-42}", {}, Kind::Int, "42"},  // plain scalars too
      {"'${X:-42}'", {}, Kind::Int, "42"},
      {"\"port ${P:-4222}\"", {}, Kind::String, "'port 4222'"},  // partial: always a string
      {"\"${A}${B}\"", {{"A", "1"}, {"B", "2"}}, Kind::String, "'12'"},
      {"\"${MISSING}\"", {}, Kind::String, "'${MISSING}'"},
      {"4222", {}, Kind::Int, "4222"},
  };
  for (const auto& c : cases) {
    const Value v = settingOf(oneService("value: " + c.yaml), "value", c.env);
    EXPECT_EQ(describeKind(v.kind()), describeKind(c.kind)) << c.yaml;
    EXPECT_EQ(v.describe(), c.shown) << c.yaml;
    EXPECT_EQ(v.path(), "services[0].value") << c.yaml;
  }
}

TEST(ConfigExpandEnvironment, KeepsAnUnsetReferenceVerbatimWithAWarning) {
  const auto r = parseYaml(oneService("message: \"hi ${WHO}\"\nport: ${PORT}"));
  EXPECT_TRUE(r.ok());
  EXPECT_THAT(warnings(r),
              ElementsAre("services.yaml:4:14: warning: services[0].message: environment variable 'WHO' is not set "
                          "and has no default; keeping '${WHO}'",
                          "services.yaml:5:11: warning: services[0].port: environment variable 'PORT' is not set and "
                          "has no default; keeping '${PORT}'"));
  ASSERT_EQ(r.config.services().size(), 1u);
  EXPECT_EQ(r.config.services()[0].settings.get<std::string>("message", ""), "hi ${WHO}");
  EXPECT_EQ(r.config.services()[0].settings.get<std::string>("port", ""), "${PORT}");
}

TEST(ConfigExpandEnvironment, ReachesNestedValuesAndListItemsButNotKeys) {
  const auto s = loadOne(oneService("hosts: [\"${H1:-a}\", \"${H2:-b}\"]\n"
                                    "nested:\n"
                                    "  deeper:\n"
                                    "    port: \"${P:-1}\"\n"
                                    "${KEY}: value"),
                         {{"H1", "x"}, {"P", "9"}, {"KEY", "expanded"}});
  EXPECT_THAT(s.settings.get<std::vector<std::string>>("hosts", {}), ElementsAre("x", "b"));
  const Value* nested = s.settings.find("nested");
  ASSERT_NE(nested, nullptr);
  ASSERT_NE(nested->find("deeper"), nullptr);
  const Value* port = nested->find("deeper")->find("port");
  ASSERT_NE(port, nullptr);
  EXPECT_EQ(port->kind(), Kind::Int);
  EXPECT_EQ(port->intValue(), 9);
  EXPECT_TRUE(s.settings.contains("${KEY}"));
  EXPECT_FALSE(s.settings.contains("expanded"));
}

TEST(ConfigExpandEnvironment, AppliesToNatsAndRegistryValues) {
  const auto r = parseYaml(
      "nats:\n"
      "  host: \"${NATS_SERVER:-localhost}\"\n"
      "  port: \"${NATS_SERVER_PORT:-4222}\"\n"
      "registry:\n"
      "  w: \"${BIN:-/opt/bin}/w\"\n"
      "services:\n"
      "  - type: w\n",
      {{"NATS_SERVER", "nats.oca.lan"}, {"NATS_SERVER_PORT", "4333"}});
  EXPECT_TRUE(r.ok()) << joined(errors(r));
  EXPECT_EQ(r.config.nats().host, "nats.oca.lan");
  EXPECT_EQ(r.config.nats().port, 4333);
  ASSERT_EQ(r.config.services().size(), 1u);
  EXPECT_EQ(r.config.services()[0].executable, fs::path("/opt/bin/w"));
}

TEST(ConfigExpandEnvironment, LeavesNonStringScalarsAlone) {
  const auto s = loadOne(oneService("a: 5\nb: true\nc: ~\nd: 2.5"), {{"a", "x"}});
  EXPECT_EQ(s.settings.find("a")->kind(), Kind::Int);
  EXPECT_EQ(s.settings.find("b")->kind(), Kind::Bool);
  EXPECT_EQ(s.settings.find("c")->kind(), Kind::Null);
  EXPECT_EQ(s.settings.find("d")->kind(), Kind::Double);
}

TEST(ConfigExpandEnvironment, UsesTheProcessEnvironmentByDefault) {
  ::setenv("TCS_CONFIG_TEST_VALUE", "from-process", 1);
  const auto env = cfg::processEnvironment();
  ASSERT_TRUE(env.count("TCS_CONFIG_TEST_VALUE"));
  EXPECT_EQ(env.at("TCS_CONFIG_TEST_VALUE"), "from-process");
  EXPECT_EQ(cfg::LoadOptions{}.environment.at("TCS_CONFIG_TEST_VALUE"), "from-process");
  ::unsetenv("TCS_CONFIG_TEST_VALUE");
}

// ================================================================================================
// Settings: typed access for services
// ================================================================================================

TEST(ConfigSettings, ReturnsTheFallbackWhenAKeyIsAbsentOrNull) {
  const auto s = loadOne(oneService("nothing: ~"));
  EXPECT_DOUBLE_EQ(s.settings.get<double>("interval", 3.0), 3.0);
  EXPECT_DOUBLE_EQ(s.settings.get<double>("nothing", 3.0), 3.0);
  EXPECT_EQ(s.settings.get<std::string>("message", "dflt"), "dflt");
  EXPECT_EQ(s.settings.get<int>("count", -1), -1);
  EXPECT_TRUE(s.settings.get<bool>("flag", true));
  EXPECT_THAT(s.settings.get<std::vector<std::string>>("list", {"x"}), ElementsAre("x"));
  EXPECT_FALSE(s.settings.contains("nothing"));
  EXPECT_FALSE(s.settings.contains("interval"));
  EXPECT_TRUE(s.settings.contains("type"));
  EXPECT_EQ(s.settings.file(), kFile);
  EXPECT_EQ(s.settings.root().path(), "services[0]");
}

TEST(ConfigSettings, ReturnAStdStringForATextDefault) {
  const auto s = loadOne(oneService("message: \"Hello World!\"\ncount: 5"));
  const std::string viaLiteral = s.settings.get("message", "dflt");  // no get<std::string> needed
  EXPECT_EQ(viaLiteral, "Hello World!");
  static_assert(std::is_same_v<decltype(s.settings.get("message", "dflt")), std::string>);
  static_assert(std::is_same_v<decltype(s.settings.get("message", std::string_view{"dflt"})), std::string>);
  EXPECT_EQ(s.settings.get("absent", "dflt"), "dflt");
  EXPECT_EQ(s.settings.get("absent", std::string_view{"from a view"}), "from a view");
  EXPECT_EQ(s.settings.get("message", std::string_view{"dflt"}), "Hello World!");
  // The text default still checks the type of a present value.
  EXPECT_THROW((void)s.settings.get("count", "dflt"), tcs::ConfigError);
  EXPECT_THROW((void)s.settings.get("count", std::string_view{"dflt"}), tcs::ConfigError);
}

TEST(ConfigSettings, ConvertsPresentValuesToTheAskedType) {
  const auto s =
      loadOne(oneService("interval: 5\nratio: 2.5\nwhole: 2.0\nflag: yes\nmessage: \"Hello World!\"\nbig: 9000000000\n"
                         "tags: [a, \"b\", c]\nempty: []"));
  EXPECT_DOUBLE_EQ(s.settings.get<double>("interval", 3.0), 5.0);  // int accepted as double
  EXPECT_EQ(s.settings.get<int>("interval", 0), 5);
  EXPECT_DOUBLE_EQ(s.settings.get<double>("ratio", 0), 2.5);
  EXPECT_EQ(s.settings.get<int>("whole", 0), 2);  // a whole double is an integer
  EXPECT_TRUE(s.settings.get<bool>("flag", false));
  EXPECT_EQ(s.settings.get<std::string>("message", ""), "Hello World!");
  EXPECT_EQ(s.settings.get<std::int64_t>("big", 0), 9000000000LL);
  EXPECT_THAT(s.settings.get<std::vector<std::string>>("tags", {}), ElementsAre("a", "b", "c"));
  EXPECT_THAT(s.settings.get<std::vector<std::string>>("empty", {"x"}), IsEmpty());
  EXPECT_EQ(s.settings.require<std::string>("message"), "Hello World!");
  EXPECT_EQ(s.settings.require<int>("interval"), 5);
}

TEST(ConfigSettings, ThrowsNamingFileLineAndPathForAWrongType) {
  const auto s =
      loadOne(oneService("interval: fast\nratio: 2.5\nbig: 9000000000\nflag: \"true\"\nport: 4222\n"
                         "tags: [a, 5]\nlist: solo"));
  struct Case {
    std::function<void()> call;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {[&] { s.settings.get<double>("interval", 3.0); },
       "services.yaml:4:15: services[0].interval: expected a number, got a string 'fast'"},
      {[&] { s.settings.get<int>("ratio", 0); },
       "services.yaml:5:12: services[0].ratio: expected an integer, got a number 2.5"},
      {[&] { s.settings.get<int>("big", 0); },
       "services.yaml:6:10: services[0].big: integer 9000000000 is out of range"},
      {[&] { s.settings.get<bool>("flag", false); },
       "services.yaml:7:11: services[0].flag: expected a boolean (true/false), got a string 'true'"},
      {[&] { s.settings.get<std::string>("port", ""); },
       "services.yaml:8:11: services[0].port: expected a string, got an integer 4222"},
      {[&] { s.settings.get<std::vector<std::string>>("tags", {}); },
       "services.yaml:9:15: services[0].tags[1]: expected a string, got an integer 5"},
      {[&] { s.settings.get<std::vector<std::string>>("list", {}); },
       "services.yaml:10:11: services[0].list: expected a list of strings, got a string 'solo'"},
      {[&] { s.settings.require<std::string>("message"); },
       "services.yaml:2:5: services[0]: required setting 'message' is missing"},
      {[&] { s.settings.require<double>("interval"); },
       "services.yaml:4:15: services[0].interval: expected a number, got a string 'fast'"},
  };
  for (const auto& c : cases) {
    try {
      c.call();
      ADD_FAILURE() << "no exception, expected: " << c.expected;
    } catch (const tcs::ConfigError& e) {
      EXPECT_EQ(std::string{e.what()}, c.expected);
      EXPECT_EQ(e.file(), kFile);
    }
  }
}

TEST(ConfigSettings, ExposesTheErrorPartsSeparately) {
  const auto s = loadOne(oneService("interval: fast"));
  try {
    s.settings.get<double>("interval", 3.0);
    FAIL() << "no exception";
  } catch (const tcs::ConfigError& e) {
    EXPECT_EQ(e.line(), 4);
    EXPECT_EQ(e.column(), 15);
    EXPECT_EQ(e.yamlPath(), "services[0].interval");
    EXPECT_EQ(e.message(), "expected a number, got a string 'fast'");
  }
}

TEST(ConfigSettings, IncludeTheWholeMergedEntryLikeUpstream) {
  const auto s =
      loadOne("site: oca\nservices:\n  - type: hello_world\n    instance_context: main\n    restart: always\n");
  EXPECT_EQ(s.settings.get<std::string>("type", ""), "hello_world");
  EXPECT_EQ(s.settings.get<std::string>("instance_context", ""), "main");
  EXPECT_EQ(s.settings.get<std::string>("restart", ""), "always");
  EXPECT_EQ(s.settings.get<std::string>("site", ""), "oca");
}

// ================================================================================================
// Scalars are typed like PyYAML (YAML 1.1)
// ================================================================================================

TEST(ConfigScalars, AreTypedLikePyYaml) {
  struct Case {
    std::string yaml;
    Kind kind;
    std::string shown;
  };
  const std::vector<Case> cases = {
      {"yes", Kind::Bool, "true"},
      {"Yes", Kind::Bool, "true"},
      {"YES", Kind::Bool, "true"},
      {"no", Kind::Bool, "false"},
      {"No", Kind::Bool, "false"},
      {"on", Kind::Bool, "true"},
      {"On", Kind::Bool, "true"},
      {"off", Kind::Bool, "false"},
      {"OFF", Kind::Bool, "false"},
      {"true", Kind::Bool, "true"},
      {"True", Kind::Bool, "true"},
      {"FALSE", Kind::Bool, "false"},
      {"y", Kind::String, "'y'"},
      {"n", Kind::String, "'n'"},
      {"yES", Kind::String, "'yES'"},
      {"~", Kind::Null, "null"},
      {"null", Kind::Null, "null"},
      {"Null", Kind::Null, "null"},
      {"NULL", Kind::Null, "null"},
      {"", Kind::Null, "null"},
      {"nULL", Kind::String, "'nULL'"},
      {"\"yes\"", Kind::String, "'yes'"},
      {"'no'", Kind::String, "'no'"},
      {"\"~\"", Kind::String, "'~'"},
      {"\"5\"", Kind::String, "'5'"},
      {"!!str 5", Kind::String, "'5'"},
      {"!!int \"7\"", Kind::Int, "7"},
      {"5", Kind::Int, "5"},
      {"-5", Kind::Int, "-5"},
      {"+5", Kind::Int, "5"},
      {"0", Kind::Int, "0"},
      {"010", Kind::Int, "8"},
      {"-010", Kind::Int, "-8"},
      {"0x1F", Kind::Int, "31"},
      {"0b101", Kind::Int, "5"},
      {"1_000", Kind::Int, "1000"},
      {"08", Kind::String, "'08'"},
      {"0o10", Kind::String, "'0o10'"},
      {"0x", Kind::String, "'0x'"},
      {"2.5", Kind::Double, "2.5"},
      {"1.", Kind::Double, "1"},
      {".5", Kind::Double, "0.5"},
      {"1.0e+5", Kind::Double, "100000"},
      {"1.5E-1", Kind::Double, "0.15"},
      {"1e5", Kind::String, "'1e5'"},
      {"1.0e5", Kind::String, "'1.0e5'"},
      {"1_0.5", Kind::Double, "10.5"},
      {".inf", Kind::Double, "inf"},
      {"-.Inf", Kind::Double, "-inf"},
      {"+.INF", Kind::Double, "inf"},
      {".nan", Kind::Double, "nan"},
      {".NaN", Kind::Double, "nan"},
      {"inf", Kind::String, "'inf'"},
      {"nan", Kind::String, "'nan'"},
      {".", Kind::String, "'.'"},
      {"hello", Kind::String, "'hello'"},
      {"\"Hello World!\"", Kind::String, "'Hello World!'"},
  };
  for (const auto& c : cases) {
    const Value v = settingOf(oneService("value: " + c.yaml), "value");
    EXPECT_EQ(describeKind(v.kind()), describeKind(c.kind)) << c.yaml;
    EXPECT_EQ(v.describe(), c.shown) << c.yaml;
  }
}

TEST(ConfigScalars, RejectAValueThatDoesNotMatchItsExplicitTag) {
  const auto r = parseYaml(oneService("value: !!int abc"));
  EXPECT_THAT(errors(r), ElementsAre("services.yaml:4:12: error: services[0].value: 'abc' does not match its tag "
                                     "tag:yaml.org,2002:int"));
}

TEST(ConfigScalars, DescribeThemselvesForMessages) {
  EXPECT_EQ(Value::string("a\nb", "p", {}).describe(), "'a\\x0ab'");
  EXPECT_EQ(Value::string("tab\tdel\x7f", "p", {}).describe(), "'tab\\x09del\\x7f'");
  EXPECT_EQ(Value::integer(-3, "p", {}).describe(), "-3");
  EXPECT_EQ(Value::real(2.5, "p", {}).describe(), "2.5");
  EXPECT_EQ(Value::boolean(false, "p", {}).describe(), "false");
  EXPECT_EQ(Value::null("p", {}).describe(), "null");
  EXPECT_EQ(Value::sequence({}, "p", {}).describe(), "a list");
  EXPECT_EQ(Value::mapping({}, "p", {}).describe(), "a mapping");
  EXPECT_EQ(Value::kindName(Kind::Double), "a number");
  EXPECT_EQ(Value::kindName(Kind::Int), "an integer");
}

// ================================================================================================
// Upstream's own configs load with the same meaning
// ================================================================================================

TEST(ConfigUpstreamSamples, ServicesSampleLoads) {
  // upstream config/services.sample.yaml, verbatim
  const auto r = parseYaml(R"(# Sample configuration for ocabox-tcs services
# Copy this file to services.yaml and customize for your deployment

nats:
  host: localhost
  port: 4222
  required: true  # Block startup until NATS is available
  # required: false  # For development: continue without NATS

# Registry: maps service_type to Python module path
# - null (~) means internal service: ocabox_tcs.services.{type}
# - explicit path for external packages
registry:
  hello_world: ~                              # -> ocabox_tcs.services.hello_world
  # examples.minimal: ~                       # -> ocabox_tcs.services.examples.01_minimal

# Service instances to launch
services:
  # Hello World - canonical example service
  - type: hello_world
    variant: main
    interval: 5
    message: "Hello World!"
    log_level: INFO

  # Uncomment to run multiple instances
  # - type: hello_world
  #   variant: dev
)");
  EXPECT_TRUE(r.ok()) << joined(errors(r));
  EXPECT_THAT(r.diagnostics, IsEmpty()) << joined(warnings(r));
  const auto& n = r.config.nats();
  EXPECT_TRUE(n.present);
  EXPECT_TRUE(n.required);
  EXPECT_EQ(n.host, "localhost");
  EXPECT_EQ(n.port, 4222);
  EXPECT_EQ(n.subjectPrefix, "svc");
  ASSERT_EQ(r.config.services().size(), 1u);
  const auto& s = r.config.services()[0];
  EXPECT_EQ(s.id(), "hello_world.main");
  EXPECT_EQ(s.unitName(), "tcs@hello_world:main.service");
  EXPECT_EQ(s.executable, kBuiltinDir / "hello_world");
  EXPECT_EQ(s.mark.line, 20);
  EXPECT_EQ(s.logLevel, LogLevel::Info);
  EXPECT_EQ(s.restart, RestartPolicy::No);
  EXPECT_EQ(s.settings.get<int>("interval", 0), 5);
  EXPECT_DOUBLE_EQ(s.settings.get<double>("interval", 0), 5.0);
  EXPECT_EQ(s.settings.get<std::string>("message", ""), "Hello World!");
}

TEST(ConfigUpstreamSamples, TestCrashLoadsOneInstancePerRestartPolicy) {
  // upstream config/test-crash.yaml, verbatim
  const auto r = parseYaml(R"(# Test configuration for crash handling and restart policies
# Tests different restart policy scenarios

nats:
  host: localhost
  port: 4222
  required: false  # Optional - won't block if NATS unavailable

services:
  # Test 1: restart="no" - Should NOT restart after crash
  - type: test.crash_simple
    instance_context: policy_no
    exit_code: 1
    restart: "no"

  # Test 2: restart="on-failure" - SHOULD restart after non-zero exit
  - type: test.crash_simple
    instance_context: policy_on_failure
    exit_code: 1
    restart: "on-failure"
    restart_sec: 1.0
    restart_max: 2
    restart_window: 30.0

  # Test 3: restart="on-abnormal" - Should restart on signal (exit code > 128)
  - type: test.crash_simple
    instance_context: policy_on_abnormal
    exit_code: 137  # SIGKILL (128 + 9)
    restart: "on-abnormal"
    restart_sec: 1.0
    restart_max: 2
    restart_window: 30.0

  # Test 4: restart="always" - SHOULD always restart (even on success)
  - type: test.crash_simple
    instance_context: policy_always
    exit_code: 0  # Success exit
    restart: "always"
    restart_sec: 1.0
    restart_max: 2
    restart_window: 30.0
)");
  EXPECT_TRUE(r.ok()) << joined(errors(r));
  EXPECT_THAT(r.diagnostics, IsEmpty());
  EXPECT_TRUE(r.config.nats().present);
  EXPECT_FALSE(r.config.nats().required);
  struct Expected {
    std::string variant;
    int exitCode;
    RestartPolicy restart;
    double restartSec;
    int restartMax;
    double restartWindow;
  };
  const std::vector<Expected> expected = {
      {"policy_no", 1, RestartPolicy::No, 5.0, 0, 60.0},
      {"policy_on_failure", 1, RestartPolicy::OnFailure, 1.0, 2, 30.0},
      {"policy_on_abnormal", 137, RestartPolicy::OnAbnormal, 1.0, 2, 30.0},
      {"policy_always", 0, RestartPolicy::Always, 1.0, 2, 30.0},
  };
  ASSERT_EQ(r.config.services().size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& s = r.config.services()[i];
    const auto& e = expected[i];
    EXPECT_EQ(s.type, "test.crash_simple");
    EXPECT_EQ(s.variant, e.variant);
    EXPECT_EQ(s.unitName(), "tcs@test.crash_simple:" + e.variant + ".service");
    EXPECT_EQ(s.settings.get<int>("exit_code", -1), e.exitCode) << e.variant;
    EXPECT_EQ(s.restart, e.restart) << e.variant;
    EXPECT_DOUBLE_EQ(s.restartSec, e.restartSec) << e.variant;
    EXPECT_EQ(s.restartMax, e.restartMax) << e.variant;
    EXPECT_DOUBLE_EQ(s.restartWindow, e.restartWindow) << e.variant;
    EXPECT_EQ(s.executable, kBuiltinDir / "test.crash_simple");
  }
}

TEST(ConfigUpstreamSamples, LegacyServicesYamlLoadsWithInstanceContext) {
  // upstream config/services.yaml (committed legacy 0.x entry)
  const auto r = parseYaml(R"(nats:
  host: localhost
  port: 4222

services:
  - type: dome_follower_svc.dome_follower
    instance_context: dev
    interval: 1
)");
  EXPECT_TRUE(r.ok()) << joined(errors(r));
  EXPECT_THAT(r.diagnostics, IsEmpty());
  EXPECT_TRUE(r.config.nats().required);
  ASSERT_EQ(r.config.services().size(), 1u);
  const auto& s = r.config.services()[0];
  EXPECT_EQ(s.id(), "dome_follower_svc.dome_follower.dev");
  EXPECT_EQ(s.unitName(), "tcs@dome_follower_svc.dome_follower:dev.service");
  EXPECT_EQ(s.settings.get<int>("interval", 0), 1);
  EXPECT_DOUBLE_EQ(s.settings.get<double>("interval", 0.0), 1.0);
  EXPECT_EQ(s.executable, kBuiltinDir / "dome_follower_svc.dome_follower");
}

TEST(ConfigUpstreamSamples, ExamplesWithPythonModulePathsFailNamingEveryEntry) {
  // upstream config/examples.yaml keeps Python module paths in its registry
  const auto r = parseYaml(R"(nats:
  host: localhost
  port: 4222
  required: false
registry:
  examples.minimal: ocabox_tcs.services.examples.01_minimal
  examples.basic: ocabox_tcs.services.examples.02_basic
services:
  - type: examples.minimal
    variant: tutorial
    restart: "no"
  - type: examples.basic
    variant: tutorial
    interval: 2.0
)");
  const auto errs = errors(r);
  ASSERT_EQ(errs.size(), 4u) << joined(errs);
  EXPECT_THAT(errs[0], StartsWith("services.yaml:6:21: error: registry.examples.minimal: "
                                  "'ocabox_tcs.services.examples.01_minimal' is not a path to an executable"));
  EXPECT_THAT(errs[1], StartsWith("services.yaml:7:19: error: registry.examples.basic: "));
  EXPECT_EQ(errs[2],
            "services.yaml:9:5: error: services[0]: type 'examples.minimal' has no usable executable (see "
            "registry.examples.minimal)");
  EXPECT_EQ(errs[3],
            "services.yaml:12:5: error: services[1]: type 'examples.basic' has no usable executable (see "
            "registry.examples.basic)");
  EXPECT_THAT(r.config.services(), IsEmpty());
}

TEST(ConfigShippedFiles, ExamplesYamlLoads) {
  const fs::path file = fs::path(TCS_SOURCE_DIR) / "config/examples.yaml";
  const auto r = cfg::load(file, options());
  EXPECT_TRUE(r.ok()) << joined(errors(r));
  EXPECT_THAT(r.diagnostics, IsEmpty()) << joined(warnings(r));
  EXPECT_EQ(r.config.path(), file.lexically_normal());
  EXPECT_TRUE(r.config.nats().present);
  EXPECT_FALSE(r.config.nats().required);
  struct Expected {
    std::string type;
    RestartPolicy restart;
    int restartMax;
    double restartWindow;
  };
  const std::vector<Expected> expected = {
      {"examples.minimal", RestartPolicy::No, 0, 60.0},
      {"examples.basic", RestartPolicy::OnFailure, 3, 60.0},
      {"examples.logging", RestartPolicy::OnFailure, 5, 120.0},
      {"examples.monitoring", RestartPolicy::Always, 0, 60.0},
      {"examples.nonblocking", RestartPolicy::No, 0, 60.0},
      {"examples.watchdog", RestartPolicy::OnFailure, 0, 60.0},
  };
  ASSERT_EQ(r.config.services().size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& s = r.config.services()[i];
    EXPECT_EQ(s.type, expected[i].type);
    EXPECT_EQ(s.variant, "tutorial");
    EXPECT_EQ(s.restart, expected[i].restart) << s.type;
    EXPECT_EQ(s.restartMax, expected[i].restartMax) << s.type;
    EXPECT_DOUBLE_EQ(s.restartWindow, expected[i].restartWindow) << s.type;
    EXPECT_EQ(s.executable, kBuiltinDir / s.type);
  }
  const auto* basic = r.config.findById("examples.basic.tutorial");
  ASSERT_NE(basic, nullptr);
  EXPECT_DOUBLE_EQ(basic->settings.get<double>("interval", 0), 2.0);
  EXPECT_EQ(basic->settings.get<std::string>("message", ""), "Basic service running");
  EXPECT_TRUE(r.config.findById("examples.logging.tutorial")->settings.get<bool>("simulate_errors", false));
  EXPECT_EQ(r.config.findById("examples.nonblocking.tutorial")->settings.get<int>("worker_count", 0), 3);
  const auto* watchdog = r.config.findById("examples.watchdog.tutorial");
  ASSERT_NE(watchdog, nullptr);
  EXPECT_DOUBLE_EQ(watchdog->watchdogSec, 5.0);
  EXPECT_DOUBLE_EQ(watchdog->restartSec, 1.0);
}

TEST(ConfigShippedFiles, ServicesSampleYamlLoads) {
  const auto r = cfg::load(fs::path(TCS_SOURCE_DIR) / "config/services.sample.yaml", options());
  EXPECT_TRUE(r.ok()) << joined(errors(r));
  EXPECT_THAT(r.diagnostics, IsEmpty()) << joined(warnings(r));
  EXPECT_TRUE(r.config.nats().required);
  const auto* s = r.config.find("hello_world", "main");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->settings.get<int>("interval", 0), 5);
  EXPECT_EQ(s->settings.get<std::string>("message", ""), "Hello World!");
  EXPECT_EQ(s->restart, RestartPolicy::No);  // upstream's sample has no restart keys
}

TEST(ConfigSettings, RejectThrowsAtTheValuesLocationOrTheEntrysWhenAbsent) {
  const auto s = loadOne(oneService("worker_count: 0"));
  try {
    s.settings.reject("worker_count", "must be at least 1");
    FAIL() << "reject() returned";
  } catch (const tcs::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "services.yaml:4:19: services[0].worker_count: 0 must be at least 1");
  }
  try {
    s.settings.reject("interval", "must be > 0 seconds");
    FAIL() << "reject() returned";
  } catch (const tcs::ConfigError& e) {
    EXPECT_EQ(e.yamlPath(), "services[0].interval");
    EXPECT_NE(std::string(e.what()).find("(default) must be > 0 seconds"), std::string::npos) << e.what();
  }
}
