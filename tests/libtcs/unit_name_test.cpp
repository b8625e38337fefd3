// SPDX-License-Identifier: MIT
#include "tcs/unit_name.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace un = tcs::unit_name;

namespace {

const std::string k64(64, 'a');
const std::string k65(65, 'a');

struct TokenCase {
  std::string input;
  bool valid;
};

std::ostream& operator<<(std::ostream& os, const TokenCase& c) {
  return os << '"' << c.input << '"';
}

bool operator==(const un::Parsed& a, const un::Parsed& b) {
  return a.type == b.type && a.variant == b.variant;
}

}  // namespace

TEST(UnitNameToken, AcceptsOnlyAsciiLettersDigitsAndUnderscoreUpTo64Characters) {
  const std::vector<TokenCase> cases = {
      {"main", true},  {"dev", true},     {"Main_2", true},
      {"_", true},     {"0", true},       {"hello_world", true},
      {k64, true},     {k65, false},      {"", false},
      {"a-b", false},                   // '-' is systemd's escape for '/'
      {"a/b", false},  {"a@b", false},  // '@' separates template and instance
      {"a\\b", false},                  // '\' starts systemd's \xNN escapes
      {"a.b", false},                   // '.' separates NATS tokens
      {"a:b", false},                   // ':' separates type and variant in the instance
      {"a b", false},  {"a*", false},   // NATS wildcard
      {">", false},                     // NATS wildcard
      {"a%b", false},                   // systemd specifier
      {"a$b", false},  {"zażółć", false}, {"ü", false},
      {"a\tb", false}, {"a\nb", false},   {std::string("a\0b", 3), false},
  };
  for (const auto& c : cases) EXPECT_EQ(un::isValidToken(c.input), c.valid) << c;
}

TEST(UnitNameType, AcceptsDotSeparatedTokensAndRejectsEmptyParts) {
  const std::vector<TokenCase> cases = {
      {"hello_world", true},
      {"examples.minimal", true},
      {"dome_follower_svc.dome_follower", true},
      {"a.b.c.d", true},
      {k64 + "." + k64, true},
      {k64 + "." + k65, false},
      {"", false},
      {".", false},
      {"a.", false},  // trailing dot
      {".a", false},
      {"a..b", false},
      {"a.b-c", false},
      {"a/b", false},
      {"a@b", false},
      {"a\\b", false},
      {"a:b", false},
      {"examples.ü", false},
      {"a b", false},
  };
  for (const auto& c : cases) EXPECT_EQ(un::isValidType(c.input), c.valid) << c;
}

TEST(UnitNameSpellings, JoinTypeAndVariantWithDotColonAndTheTemplate) {
  struct Case {
    std::string type, variant, id, instance, unit;
  };
  const std::vector<Case> cases = {
      {"hello_world", "main", "hello_world.main", "hello_world:main", "tcs@hello_world:main.service"},
      {"examples.minimal", "tutorial", "examples.minimal.tutorial", "examples.minimal:tutorial",
       "tcs@examples.minimal:tutorial.service"},
      {"test.crash_simple", "policy_on_failure", "test.crash_simple.policy_on_failure",
       "test.crash_simple:policy_on_failure", "tcs@test.crash_simple:policy_on_failure.service"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(un::serviceId(c.type, c.variant), c.id);
    EXPECT_EQ(un::instance(c.type, c.variant), c.instance);
    EXPECT_EQ(un::unitName(c.type, c.variant), c.unit);
  }
}

TEST(UnitNameParse, SplitsAUnitNameIntoTypeAndVariant) {
  struct Case {
    std::string unit;
    std::optional<un::Parsed> expected;
  };
  const std::vector<Case> cases = {
      {"tcs@hello_world:main.service", un::Parsed{"hello_world", "main"}},
      {"tcs@examples.minimal:tutorial.service", un::Parsed{"examples.minimal", "tutorial"}},
      {"tcs@a.b.c:d.service", un::Parsed{"a.b.c", "d"}},
      {"tcs@a:" + k64 + ".service", un::Parsed{"a", k64}},
      {"tcs@a:" + k65 + ".service", std::nullopt},
      {"tcs@hello_world.main.service", std::nullopt},  // no ':'
      {"tcs@:main.service", std::nullopt},
      {"tcs@hello_world:.service", std::nullopt},
      {"tcs@a:b:c.service", std::nullopt},  // variant 'b:c'
      {"tcs@a.:b.service", std::nullopt},   // trailing dot in the type
      {"tcs@a:b.c.service", std::nullopt},  // dotted variant
      {"tcs@a-b:c.service", std::nullopt},
      {"tcs@a\\x2db:c.service", std::nullopt},
      {"tcs@a:b@c.service", std::nullopt},
      {"tcs@a/b:c.service", std::nullopt},
      {"tcs@ü:c.service", std::nullopt},
      {"tcs@hello_world:main.socket", std::nullopt},
      {"tcs@hello_world:main", std::nullopt},
      {"foo@hello_world:main.service", std::nullopt},
      {"tcs-supervisor.service", std::nullopt},
      {"tcs@.service", std::nullopt},
      {"tcs.target", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& c : cases) {
    const auto got = un::parseUnitName(c.unit);
    ASSERT_EQ(got.has_value(), c.expected.has_value()) << c.unit;
    if (got) {
      EXPECT_EQ(got->type, c.expected->type) << c.unit;
      EXPECT_EQ(got->variant, c.expected->variant) << c.unit;
    }
  }
}

TEST(UnitNameParse, RejectsAUnitNameLongerThanSystemdsLimitEvenIfEveryTokenIsValid) {
  // 4 tokens of 60 = 243 type chars: "tcs@" + 243 + ":" + "v" + ".service" = 257 > 255.
  const std::string t(60, 't');
  const std::string longType = t + "." + t + "." + t + "." + t;
  ASSERT_TRUE(un::isValidType(longType));
  const std::string unit = un::unitName(longType, "v");
  ASSERT_GT(unit.size(), un::kMaxUnitNameLength);
  EXPECT_FALSE(un::parseUnitName(unit).has_value());

  // Shorten the last token until the name fits exactly.
  const std::string fitting = t + "." + t + "." + t + "." + std::string(58, 't');
  ASSERT_EQ(un::unitName(fitting, "v").size(), un::kMaxUnitNameLength);
  EXPECT_TRUE(un::parseUnitName(un::unitName(fitting, "v")).has_value());
}

TEST(UnitNameParse, SplitsAServiceIdAtItsLastDot) {
  struct Case {
    std::string id;
    std::optional<un::Parsed> expected;
  };
  const std::vector<Case> cases = {
      {"hello_world.main", un::Parsed{"hello_world", "main"}},
      {"examples.minimal.tutorial", un::Parsed{"examples.minimal", "tutorial"}},
      {"dome_follower_svc.dome_follower.dev", un::Parsed{"dome_follower_svc.dome_follower", "dev"}},
      {"a." + k64, un::Parsed{"a", k64}},
      {"a." + k65, std::nullopt},
      {"hello_world", std::nullopt},  // no variant
      {"hello_world.", std::nullopt},
      {".main", std::nullopt},
      {"a..main", std::nullopt},
      {"a.b-c", std::nullopt},
      {"a.b/c", std::nullopt},
      {"a.b@c", std::nullopt},
      {"a.b\\c", std::nullopt},
      {"a:b.c", std::nullopt},
      {"a.ü", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& c : cases) {
    const auto got = un::parseServiceId(c.id);
    ASSERT_EQ(got.has_value(), c.expected.has_value()) << c.id;
    if (got) {
      EXPECT_EQ(got->type, c.expected->type) << c.id;
      EXPECT_EQ(got->variant, c.expected->variant) << c.id;
    }
  }
}

TEST(UnitNameRoundTrip, EverySpellingParsesBackToTheSameTypeAndVariant) {
  const std::vector<un::Parsed> names = {
      {"hello_world", "main"},
      {"examples.minimal", "tutorial"},
      {"dome_follower_svc.dome_follower", "dev"},
      {"a.b.c", "0"},
      {k64, k64},
      {"X_1.y_2", "Z_3"},
  };
  for (const auto& n : names) {
    const auto fromUnit = un::parseUnitName(un::unitName(n.type, n.variant));
    ASSERT_TRUE(fromUnit.has_value()) << n.type << ":" << n.variant;
    EXPECT_TRUE(*fromUnit == n) << n.type << ":" << n.variant;
    const auto fromId = un::parseServiceId(un::serviceId(n.type, n.variant));
    ASSERT_TRUE(fromId.has_value()) << n.type << "." << n.variant;
    EXPECT_TRUE(*fromId == n) << n.type << "." << n.variant;
    // The instance string is the unit name without template prefix and suffix.
    EXPECT_EQ(std::string(un::kTemplatePrefix) + un::instance(n.type, n.variant) + std::string(un::kUnitSuffix),
              un::unitName(n.type, n.variant));
  }
}

TEST(UnitNameLauncherId, IsTheShortHostnameFollowedByTheSystemdLauncherSuffix) {
  struct Case {
    std::string host, expected;
  };
  const std::vector<Case> cases = {
      {"ocm", "ocm-systemd-launcher"},
      {"ocm.example.org", "ocm-systemd-launcher"},
      {"jk15-guider.oca.lan", "jk15-guider-systemd-launcher"},
      {"localhost", "localhost-systemd-launcher"},
  };
  for (const auto& c : cases) EXPECT_EQ(un::launcherId(c.host), c.expected) << c.host;
}

TEST(UnitNameLauncherId, IsDeterministicForOneHost) {
  EXPECT_EQ(un::launcherId("ocm.example.org"), un::launcherId("ocm.example.org"));
  EXPECT_NE(un::launcherId("ocm"), un::launcherId("wk06"));
}

TEST(UnitNamePattern, DescribesTheAcceptedTokensForErrorMessages) {
  EXPECT_EQ(un::kTokenPattern, "[A-Za-z0-9_]{1,64}");
  EXPECT_EQ(un::kMaxTokenLength, 64u);
}
