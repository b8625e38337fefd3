// SPDX-License-Identifier: MIT
// Unit tests of the service command line (libtcs/src/runtime/command_line.hpp): every
// precedence rule between the command line, the TCS_* environment, the config and the
// defaults, pinned down without starting a process.
#include "runtime/command_line.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <variant>
#include <vector>

namespace {

using tcs::CommandLine;
using tcs::CommandLineExit;
using tcs::Environment;
using tcs::LogLevelChoice;
using tcs::config::LogLevel;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr const char* kType = "hello_world";

std::variant<CommandLine, CommandLineExit> parse(std::vector<std::string> args, const Environment& environment = {}) {
  args.insert(args.begin(), "/usr/libexec/tcs/hello_world");
  return tcs::parseCommandLine(args, environment, kType, "1.2.3");
}

/** @brief Parses and expects the service to start (no exit). */
CommandLine resolved(std::vector<std::string> args, const Environment& environment = {}) {
  auto result = parse(std::move(args), environment);
  if (const auto* exit = std::get_if<CommandLineExit>(&result)) {
    ADD_FAILURE() << "unexpected exit " << exit->status << ": " << exit->out << exit->err;
    return {};
  }
  return std::get<CommandLine>(result);
}

/** @brief Parses and expects an exit before the start. */
CommandLineExit exited(std::vector<std::string> args, const Environment& environment = {}) {
  auto result = parse(std::move(args), environment);
  if (!std::holds_alternative<CommandLineExit>(result)) {
    ADD_FAILURE() << "expected the command line to end the program";
    return {};
  }
  return std::get<CommandLineExit>(result);
}

// ---- type ------------------------------------------------------------------------------------

TEST(CommandLineTest, TheTypeIsTheBuiltInOneWithoutTheEnvironment) {
  EXPECT_EQ(resolved({}).type, "hello_world");
}

TEST(CommandLineTest, TcsServiceTypeOverridesTheBuiltInType) {
  EXPECT_EQ(resolved({}, {{"TCS_SERVICE_TYPE", "guider"}}).type, "guider");
}

TEST(CommandLineTest, AnEmptyEnvironmentVariableCountsAsUnset) {
  const Environment empty{{"TCS_SERVICE_TYPE", ""}, {"TCS_CONFIG", ""},      {"TCS_VARIANT", ""},
                          {"TCS_RUNNER_ID", ""},    {"TCS_PARENT_NAME", ""}, {"TCS_LOG_LEVEL", ""}};
  const auto c = resolved({}, empty);
  EXPECT_EQ(c.type, "hello_world");
  EXPECT_FALSE(c.configPath.has_value());
  EXPECT_EQ(c.variant, "dev");
  EXPECT_EQ(c.runnerId, "");
  EXPECT_EQ(c.parentName, "");
  EXPECT_EQ(c.logLevelEnvironment, "");
}

TEST(CommandLineTest, VersionPrintsTheEffectiveTypeAndExitsZero) {
  const auto e = exited({"--version"}, {{"TCS_SERVICE_TYPE", "guider"}});
  EXPECT_EQ(e.status, 0);
  EXPECT_EQ(e.out, "guider (tcs 1.2.3)\n");
  EXPECT_THAT(e.err, IsEmpty());
}

TEST(CommandLineTest, HelpGoesToStdoutAndExitsZero) {
  const auto e = exited({"--help"});
  EXPECT_EQ(e.status, 0);
  EXPECT_THAT(e.out, HasSubstr("tcs service 'hello_world'"));
  EXPECT_THAT(e.out, HasSubstr("systemctl start tcs@hello_world:<variant>"));
  EXPECT_THAT(e.out, HasSubstr("--log-level"));
  EXPECT_THAT(e.out, HasSubstr("hello_world"));  // the program name, from argv[0]
  EXPECT_THAT(e.err, IsEmpty());
}

// ---- usage errors ----------------------------------------------------------------------------

TEST(CommandLineTest, UnknownOptionsMissingValuesAndThreePositionalsAreUsageErrors) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--bogus"}, {"--runner-id"}, {"--parent-name"}, {"--log-level"}, {"a.yaml", "b", "c"}}) {
    const auto e = exited(args);
    EXPECT_EQ(e.status, 2) << args.front();
    EXPECT_THAT(e.err, Not(IsEmpty())) << args.front();
    EXPECT_THAT(e.out, IsEmpty()) << args.front();
  }
}

TEST(CommandLineTest, AnInvalidLogLevelIsNotACommandLineErrorButIsKeptForLater) {
  // The exit status 2 for it comes from the bootstrap, after the config (chooseLogLevel).
  EXPECT_EQ(resolved({"--log-level", "LOUD"}).logLevelOption, "LOUD");
}

// ---- config and variant ----------------------------------------------------------------------

TEST(CommandLineTest, WithoutArgumentsOrEnvironmentThereIsNoConfigAndTheVariantIsDev) {
  const auto c = resolved({});
  EXPECT_FALSE(c.configPath.has_value());
  EXPECT_EQ(c.variant, "dev");
  EXPECT_FALSE(c.noBanner);
}

TEST(CommandLineTest, TheEnvironmentGivesConfigAndVariantWhenNoPositionalsDo) {
  const auto c = resolved({}, {{"TCS_CONFIG", "/etc/tcs/services.yaml"}, {"TCS_VARIANT", "main"}});
  EXPECT_EQ(c.configPath, "/etc/tcs/services.yaml");
  EXPECT_EQ(c.variant, "main");
}

TEST(CommandLineTest, TwoPositionalsAreConfigAndVariantAndBeatTheEnvironment) {
  const auto c = resolved({"my.conf", "jk15"}, {{"TCS_CONFIG", "/etc/tcs/services.yaml"}, {"TCS_VARIANT", "main"}});
  EXPECT_EQ(c.configPath, "my.conf");  // with two, the first is the config whatever its name
  EXPECT_EQ(c.variant, "jk15");
}

TEST(CommandLineTest, ALoneYamlPositionalIsTheConfigAndTheVariantComesFromTheEnvironment) {
  const Environment env{{"TCS_CONFIG", "/etc/tcs/services.yaml"}, {"TCS_VARIANT", "main"}};
  const auto yaml = resolved({"site.yaml"}, env);
  EXPECT_EQ(yaml.configPath, "site.yaml");
  EXPECT_EQ(yaml.variant, "main");
  const auto yml = resolved({"site.yml"});
  EXPECT_EQ(yml.configPath, "site.yml");
  EXPECT_EQ(yml.variant, "dev");
}

TEST(CommandLineTest, ALoneOtherPositionalIsTheVariantAndTheConfigComesFromTheEnvironment) {
  const auto c = resolved({"jk15"}, {{"TCS_CONFIG", "/etc/tcs/services.yaml"}, {"TCS_VARIANT", "main"}});
  EXPECT_EQ(c.configPath, "/etc/tcs/services.yaml");
  EXPECT_EQ(c.variant, "jk15");
  const auto noEnv = resolved({"site.yaml.bak"});
  EXPECT_FALSE(noEnv.configPath.has_value());
  EXPECT_EQ(noEnv.variant, "site.yaml.bak");
}

// ---- runner id, parent name, banner ----------------------------------------------------------

TEST(CommandLineTest, RunnerIdAndParentNameOptionsBeatTheEnvironment) {
  const Environment env{{"TCS_RUNNER_ID", "env-runner"}, {"TCS_PARENT_NAME", "env-parent"}};
  const auto c = resolved({"--runner-id", "r1", "--parent-name", "launcher"}, env);
  EXPECT_EQ(c.runnerId, "r1");
  EXPECT_EQ(c.parentName, "launcher");
}

TEST(CommandLineTest, RunnerIdAndParentNameComeFromTheEnvironmentWhenNotGivenOrGivenEmpty) {
  const Environment env{{"TCS_RUNNER_ID", "env-runner"}, {"TCS_PARENT_NAME", "env-parent"}};
  const auto absent = resolved({}, env);
  EXPECT_EQ(absent.runnerId, "env-runner");
  EXPECT_EQ(absent.parentName, "env-parent");
  const auto empty = resolved({"--runner-id", "", "--parent-name", ""}, env);
  EXPECT_EQ(empty.runnerId, "env-runner");
  EXPECT_EQ(empty.parentName, "env-parent");
  const auto none = resolved({});
  EXPECT_EQ(none.runnerId, "");
  EXPECT_EQ(none.parentName, "");
}

TEST(CommandLineTest, NoBannerIsAFlagAndOptionsMixWithPositionals) {
  const auto c = resolved({"site.yaml", "--no-banner", "jk15", "--log-level", "debug"});
  EXPECT_TRUE(c.noBanner);
  EXPECT_EQ(c.configPath, "site.yaml");
  EXPECT_EQ(c.variant, "jk15");
  EXPECT_EQ(c.logLevelOption, "debug");
}

// ---- log level -------------------------------------------------------------------------------

LogLevelChoice levelFor(std::vector<std::string> args, const Environment& environment,
                        std::optional<LogLevel> configLevel) {
  return tcs::chooseLogLevel(resolved(std::move(args), environment), configLevel);
}

TEST(CommandLineTest, TheLogLevelOptionBeatsTheEnvironmentAndTheConfig) {
  const auto c = levelFor({"--log-level", "debug"}, {{"TCS_LOG_LEVEL", "error"}}, LogLevel::Warning);
  EXPECT_EQ(c.level, LogLevel::Debug);
  EXPECT_EQ(c.problem, LogLevelChoice::Problem::None);
}

TEST(CommandLineTest, TheLogLevelEnvironmentBeatsTheConfig) {
  const auto c = levelFor({}, {{"TCS_LOG_LEVEL", "error"}}, LogLevel::Warning);
  EXPECT_EQ(c.level, LogLevel::Error);
  EXPECT_EQ(c.problem, LogLevelChoice::Problem::None);
}

TEST(CommandLineTest, TheConfigLogLevelAppliesWithoutOptionOrEnvironment) {
  EXPECT_EQ(levelFor({}, {}, LogLevel::Critical).level, LogLevel::Critical);
}

TEST(CommandLineTest, TheLogLevelDefaultsToInfo) {
  const auto c = levelFor({}, {}, std::nullopt);
  EXPECT_EQ(c.level, LogLevel::Info);
  EXPECT_EQ(c.problem, LogLevelChoice::Problem::None);
}

TEST(CommandLineTest, AnEmptyLogLevelOptionCountsAsNotGiven) {
  EXPECT_EQ(levelFor({"--log-level", ""}, {{"TCS_LOG_LEVEL", "warning"}}, std::nullopt).level, LogLevel::Warning);
}

TEST(CommandLineTest, AnInvalidLogLevelOptionIsAProblemEvenWithAValidEnvironment) {
  const auto c = levelFor({"--log-level", "LOUD"}, {{"TCS_LOG_LEVEL", "error"}}, LogLevel::Warning);
  EXPECT_EQ(c.problem, LogLevelChoice::Problem::InvalidOption);
}

TEST(CommandLineTest, AnInvalidLogLevelEnvironmentIsIgnoredForTheConfigOrTheDefault) {
  const auto withConfig = levelFor({}, {{"TCS_LOG_LEVEL", "LOUD"}}, LogLevel::Warning);
  EXPECT_EQ(withConfig.problem, LogLevelChoice::Problem::InvalidEnvironment);
  EXPECT_EQ(withConfig.level, LogLevel::Warning);
  const auto withoutConfig = levelFor({}, {{"TCS_LOG_LEVEL", "LOUD"}}, std::nullopt);
  EXPECT_EQ(withoutConfig.problem, LogLevelChoice::Problem::InvalidEnvironment);
  EXPECT_EQ(withoutConfig.level, LogLevel::Info);
}

TEST(CommandLineTest, LogLevelNamesAreCaseInsensitive) {
  EXPECT_EQ(levelFor({"--log-level", "WARNING"}, {}, std::nullopt).level, LogLevel::Warning);
  EXPECT_EQ(levelFor({"--log-level", "Critical"}, {}, std::nullopt).level, LogLevel::Critical);
}

// ---- the process environment -----------------------------------------------------------------

TEST(CommandLineTest, TheProcessEnvironmentHoldsTheTcsVariablesOnly) {
  ::setenv("TCS_VARIANT", "from-process", 1);
  ::setenv("TCS_COMMAND_LINE_TEST_OTHER", "x", 1);
  const auto env = tcs::processEnvironment();
  ::unsetenv("TCS_VARIANT");
  ::unsetenv("TCS_COMMAND_LINE_TEST_OTHER");
  ASSERT_TRUE(env.contains("TCS_VARIANT"));
  EXPECT_EQ(env.at("TCS_VARIANT"), "from-process");
  EXPECT_FALSE(env.contains("TCS_COMMAND_LINE_TEST_OTHER"));
  EXPECT_FALSE(env.contains("PATH"));
}

}  // namespace
